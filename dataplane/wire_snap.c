/* SPDX-License-Identifier: MIT */
/*
 * wire_snap.c - bodies of the snapshot transfer frames (DP_FRAME_SNAP_CHUNK,
 * DP_FRAME_SNAP_ACK), little-endian at fixed offsets (layout in
 * dataplane.h, "Snapshot transfer frames"), and their one-frame encoders.
 *
 * A chunk is always one frame: the transfer engine (snapxfer/) cuts the
 * file to the path's frame size, so a lost frame costs one chunk, not a
 * reassembled message. The decoders treat every byte as hostile: each
 * length is compared with the bytes that are there, sums are taken in 64
 * bits after range checks so nothing wraps, and reserved bytes must be
 * zero (a later version can give them a meaning). Encoders refuse what the
 * decoder would refuse, so a node never sends a frame its peer drops.
 */
#include "common.h"
#include "wire_internal.h"

/* Offsets in a chunk and an ack body after the id. */
#define SNAP_OFF_OFFSET (DP_SNAP_ID_BYTES)
#define SNAP_OFF_DATA_BYTES (DP_SNAP_ID_BYTES + 8u)
#define SNAP_OFF_ACKED (DP_SNAP_ID_BYTES)
#define SNAP_OFF_WINDOW (DP_SNAP_ID_BYTES + 8u)
#define SNAP_OFF_REASON (DP_SNAP_ID_BYTES + 12u)

/* An id the decoder accepts under a header of `term`. */
static bool snap_id_ok(const struct dp_snap_id *id, raft_term term)
{
	return id->index >= 1 && id->term >= 1 && id->total_bytes >= 1 && id->term <= term;
}

static void snap_id_store(uint8_t *p, const struct dp_snap_id *id)
{
	wire_st64(p, id->index);
	wire_st64(p + 8, id->term);
	wire_st64(p + 16, id->total_bytes);
	wire_st32(p + 24, id->crc32c);
	memset(p + 28, 0, 4);
}

static int snap_id_load(const uint8_t *p, raft_term term, struct dp_snap_id *id)
{
	id->index = wire_ld64(p);
	id->term = wire_ld64(p + 8);
	id->total_bytes = wire_ld64(p + 16);
	id->crc32c = wire_ld32(p + 24);
	if (!wire_zero(p + 28, 4) || !snap_id_ok(id, term)) {
		return -DP_ERR_BAD_BODY;
	}
	return 0;
}

/* The chunk's range lies inside the file (checked without overflow). */
static bool snap_range_ok(const struct dp_snap_id *id, uint64_t offset_bytes, uint64_t bytes)
{
	return offset_bytes <= id->total_bytes && bytes <= id->total_bytes - offset_bytes;
}

static bool snap_chunk_ok(const struct dp_snap_chunk *c, raft_term term)
{
	return snap_id_ok(&c->id, term) && c->data_bytes <= DP_SNAP_DATA_BYTES_MAX &&
	       snap_range_ok(&c->id, c->offset_bytes, c->data_bytes) &&
	       (c->data != NULL || c->data_bytes == 0);
}

static bool snap_ack_ok(const struct dp_snap_ack *a, raft_term term)
{
	return snap_id_ok(&a->id, term) && a->acked_bytes <= a->id.total_bytes &&
	       a->reason <= DP_SNAP_ACK_REASON_LAST;
}

int dp_snap_chunk_body(const struct dp_snap_chunk *c, raft_term term, uint8_t *body,
		       size_t body_bytes_max)
{
	RN_ASSERT(c != NULL && body != NULL);
	if (!snap_chunk_ok(c, term)) {
		return -DP_ERR_INVALID;
	}
	size_t bytes = DP_SNAP_CHUNK_FIXED_BYTES + (size_t)c->data_bytes;
	if (bytes > body_bytes_max) {
		return -DP_ERR_TOO_BIG;
	}
	snap_id_store(body, &c->id);
	wire_st64(body + SNAP_OFF_OFFSET, c->offset_bytes);
	wire_st32(body + SNAP_OFF_DATA_BYTES, c->data_bytes);
	memset(body + SNAP_OFF_DATA_BYTES + 4, 0, 4);
	if (c->data_bytes > 0) {
		memcpy(body + DP_SNAP_CHUNK_FIXED_BYTES, c->data, c->data_bytes);
	}
	return (int)bytes;
}

int dp_snap_ack_body(const struct dp_snap_ack *a, raft_term term, uint8_t *body,
		     size_t body_bytes_max)
{
	RN_ASSERT(a != NULL && body != NULL);
	if (!snap_ack_ok(a, term)) {
		return -DP_ERR_INVALID;
	}
	if (body_bytes_max < DP_SNAP_ACK_BYTES) {
		return -DP_ERR_TOO_BIG;
	}
	snap_id_store(body, &a->id);
	wire_st64(body + SNAP_OFF_ACKED, a->acked_bytes);
	wire_st32(body + SNAP_OFF_WINDOW, a->window_bytes);
	body[SNAP_OFF_REASON] = a->reason;
	memset(body + SNAP_OFF_REASON + 1, 0, 3);
	return (int)DP_SNAP_ACK_BYTES;
}

int dp_snap_chunk_decode(raft_term term, const uint8_t *body, size_t body_bytes,
			 struct dp_snap_chunk *out)
{
	RN_ASSERT(out != NULL);
	if (body == NULL || body_bytes < DP_SNAP_CHUNK_FIXED_BYTES) {
		return -DP_ERR_BAD_BODY;
	}
	if (snap_id_load(body, term, &out->id) != 0) {
		return -DP_ERR_BAD_BODY;
	}
	out->term = term;
	out->offset_bytes = wire_ld64(body + SNAP_OFF_OFFSET);
	out->data_bytes = wire_ld32(body + SNAP_OFF_DATA_BYTES);
	if (!wire_zero(body + SNAP_OFF_DATA_BYTES + 4, 4) ||
	    (uint64_t)out->data_bytes != (uint64_t)(body_bytes - DP_SNAP_CHUNK_FIXED_BYTES) ||
	    out->data_bytes > DP_SNAP_DATA_BYTES_MAX ||
	    !snap_range_ok(&out->id, out->offset_bytes, out->data_bytes)) {
		return -DP_ERR_BAD_BODY;
	}
	out->data = body + DP_SNAP_CHUNK_FIXED_BYTES;
	return 0;
}

int dp_snap_ack_decode(raft_term term, const uint8_t *body, size_t body_bytes,
		       struct dp_snap_ack *out)
{
	RN_ASSERT(out != NULL);
	if (body == NULL || body_bytes != DP_SNAP_ACK_BYTES) {
		return -DP_ERR_BAD_BODY;
	}
	if (snap_id_load(body, term, &out->id) != 0) {
		return -DP_ERR_BAD_BODY;
	}
	out->term = term;
	out->acked_bytes = wire_ld64(body + SNAP_OFF_ACKED);
	out->window_bytes = wire_ld32(body + SNAP_OFF_WINDOW);
	out->reason = body[SNAP_OFF_REASON];
	if (!wire_zero(body + SNAP_OFF_REASON + 1, 3) || !snap_ack_ok(out, term)) {
		return -DP_ERR_BAD_BODY;
	}
	return 0;
}

uint32_t dp_snap_data_bytes_max(size_t frame_bytes_max)
{
	size_t limit = rn_min_u64(frame_bytes_max, DP_FRAME_BYTES_MAX);
	if (limit <= DP_FRAME_OVERHEAD_BYTES + DP_SNAP_CHUNK_FIXED_BYTES) {
		return 0;
	}
	return (uint32_t)(limit - DP_FRAME_OVERHEAD_BYTES - DP_SNAP_CHUNK_FIXED_BYTES);
}

/* Headers around a body already at buf + WIRE_BODY_OFFSET, then the tag. */
static int snap_seal(const struct dp_wire *w, const struct dp_endpoints *addr,
		     uint64_t msg_seq, uint8_t type, raft_node_id to, raft_term term,
		     int body_bytes, uint8_t *buf)
{
	struct wire_hdr h;
	if (body_bytes < 0) {
		return body_bytes;
	}
	memset(&h, 0, sizeof(h));
	h.type = type;
	h.from = w->self_id;
	h.to = to;
	h.term = term;
	h.msg_seq = msg_seq;
	h.body_bytes = (uint32_t)body_bytes;
	h.msg_body_bytes = (uint32_t)body_bytes;
	return (int)wire_frame_seal(w, addr, &h, buf);
}

/* Body room in a frame of at most buf_bytes (and never past a jumbo). */
static size_t snap_body_room(size_t buf_bytes)
{
	size_t limit = rn_min_u64(buf_bytes, DP_FRAME_BYTES_MAX);
	return limit > DP_FRAME_OVERHEAD_BYTES ? limit - DP_FRAME_OVERHEAD_BYTES : 0;
}

int dp_wire_encode_snap_chunk(const struct dp_wire *w, const struct dp_endpoints *addr,
			      uint64_t msg_seq, raft_node_id to, raft_term term,
			      const struct dp_snap_chunk *c, uint8_t *buf, size_t buf_bytes)
{
	RN_ASSERT(w != NULL && addr != NULL && c != NULL);
	RN_ASSERT(buf != NULL);
	if (buf_bytes <= WIRE_BODY_OFFSET) {
		return -DP_ERR_TOO_BIG;
	}
	int body_bytes = dp_snap_chunk_body(c, term, buf + WIRE_BODY_OFFSET,
					    snap_body_room(buf_bytes));
	return snap_seal(w, addr, msg_seq, DP_FRAME_SNAP_CHUNK, to, term, body_bytes, buf);
}

int dp_wire_encode_snap_ack(const struct dp_wire *w, const struct dp_endpoints *addr,
			    uint64_t msg_seq, raft_node_id to, raft_term term,
			    const struct dp_snap_ack *a, uint8_t *buf, size_t buf_bytes)
{
	RN_ASSERT(w != NULL && addr != NULL && a != NULL);
	RN_ASSERT(buf != NULL);
	if (buf_bytes <= WIRE_BODY_OFFSET) {
		return -DP_ERR_TOO_BIG;
	}
	int body_bytes = dp_snap_ack_body(a, term, buf + WIRE_BODY_OFFSET,
					  snap_body_room(buf_bytes));
	return snap_seal(w, addr, msg_seq, DP_FRAME_SNAP_ACK, to, term, body_bytes, buf);
}
