/* SPDX-License-Identifier: MIT */
/*
 * wire.c - the public face of the wire codec (dataplane.h): the codec
 * context, one-frame encoders for consensus and client messages, the
 * decoder that turns a received frame into a message or a counted drop,
 * and the error names.
 *
 * Encoders write the body in place after the headers, then seal the frame
 * (headers + tag) in wire_frame.c, so a payload is copied once, from the
 * caller's buffer into the frame.
 */
#include <sodium.h>

#include "common.h"
#include "wire_internal.h"

int dp_wire_init(struct dp_wire *w, const struct dp_wire_config *cfg)
{
	RN_ASSERT(w != NULL);
	RN_ASSERT(cfg != NULL);
	memset(w, 0, sizeof(*w));
	w->cluster_id = cfg->cluster_id;
	w->self_id = cfg->self_id;
	w->udp_port = cfg->udp_port;
	if (cfg->keys != NULL) {
		w->keys = cfg->keys; /* the caller's ring: filled, maybe rewritten live */
		return cfg->secret == NULL ? 0 : -DP_ERR_INVALID;
	}
	if (cfg->secret == NULL || cfg->secret_bytes < DP_SECRET_BYTES_MIN ||
	    cfg->secret_bytes > DP_SECRET_BYTES_MAX) {
		return -DP_ERR_INVALID;
	}
	/* One key, id 0, for every role: the ring's slot 0 seals everything. */
	w->keys = &w->own;
	w->own.slots[0].used = 1;
	w->own.slots[0].role = DP_KEY_ROLE_ANY;
	w->own.installs = 1;
	return wire_auth_derive_key((uint8_t *)w->own.slots[0].key_words, cfg->cluster_id,
				    cfg->secret, cfg->secret_bytes);
}

void dp_wire_fini(struct dp_wire *w)
{
	RN_ASSERT(w != NULL);
	sodium_memzero(&w->own, sizeof(w->own));
	w->keys = NULL;
}

uint64_t dp_wire_dropped(const struct dp_wire_counters *c, int rc)
{
	int reason = rc < 0 ? -rc : rc;
	if (reason < DP_ERR_DROP_FIRST || reason > DP_ERR_DROP_LAST) {
		return 0;
	}
	return c->dropped[reason - DP_ERR_DROP_FIRST];
}

static void wire_count(struct dp_wire *w, int rc)
{
	if (rc == 0) {
		w->counters.frames_accepted++;
	} else if (rc == -DP_ERR_FRAGMENT) {
		w->counters.fragments_accepted++;
	} else {
		RN_ASSERT(-rc >= DP_ERR_DROP_FIRST && -rc <= DP_ERR_DROP_LAST);
		w->counters.dropped[-rc - DP_ERR_DROP_FIRST]++;
	}
}

int wire_body_decode(uint8_t type, raft_node_id from, raft_node_id to, raft_term term,
		     const uint8_t *body, size_t body_bytes, struct raft_entry *entries,
		     uint32_t entries_max, struct dp_rx_frame *out)
{
	switch (type) {
	case DP_FRAME_CLIENT_REQUEST:
	case DP_FRAME_CLIENT_REPLY:
		return wire_batch_decode(type, body, body_bytes, &out->batch, &out->request,
					 &out->reply);
	case DP_FRAME_SNAP_CHUNK:
		out->snap_chunk.from = from;
		out->snap_chunk.term = term;
		return dp_snap_chunk_decode(term, body, body_bytes, &out->snap_chunk);
	case DP_FRAME_SNAP_ACK:
		out->snap_ack.from = from;
		out->snap_ack.term = term;
		return dp_snap_ack_decode(term, body, body_bytes, &out->snap_ack);
	case DP_FRAME_SETTINGS:
		out->settings.from = from;
		/* No consensus message: its header's term is 0 (dataplane.h). */
		return term == 0 ? dp_settings_decode(body, body_bytes, &out->settings)
				 : -DP_ERR_BAD_BODY;
	default:
		if (!wire_raft_type_known(type)) {
			return -DP_ERR_UNKNOWN_TYPE;
		}
		out->raft.from = from;
		out->raft.to = to;
		out->raft.term = term;
		out->raft_body = body;
		out->raft_body_bytes = (uint32_t)body_bytes;
		return wire_raft_body_decode(type, term, body, body_bytes, entries, entries_max,
					     &out->raft);
	}
}

static void wire_fragment_out(const struct wire_view *v, struct dp_fragment *f)
{
	f->from = v->hdr.from;
	f->to = v->hdr.to;
	f->term = v->hdr.term;
	f->msg_body_bytes = v->hdr.msg_body_bytes;
	f->frag_offset_bytes = v->hdr.frag_offset_bytes;
	f->body = v->body;
	f->body_bytes = v->hdr.body_bytes;
}

/* Body of a parsed frame (or fragment) into out; rc of the parse in. */
static int wire_decode_view(struct dp_wire *w, int rc, const struct wire_view *v,
			    struct raft_entry *entries, uint32_t entries_max,
			    struct dp_rx_frame *out)
{
	if (rc == 0) {
		out->addr = v->addr;
		out->addr.key_id = v->hdr.key_id; /* a reply goes out under it */
		out->addr.reserved = 0;
		out->type = v->hdr.type;
		out->msg_seq = v->hdr.msg_seq;
		out->boot_epoch = v->hdr.boot_epoch;
		out->key_id = v->hdr.key_id;
		out->settings_fp = v->hdr.settings_fp;
		if ((v->hdr.flags & DP_HDR_FRAGMENT) != 0) {
			/* The type is checked on the reassembled message. */
			wire_fragment_out(v, &out->fragment);
			rc = -DP_ERR_FRAGMENT;
		} else {
			rc = wire_body_decode(v->hdr.type, v->hdr.from, v->hdr.to, v->hdr.term,
					      v->body, v->hdr.body_bytes, entries, entries_max,
					      out);
		}
	}
	wire_count(w, rc);
	return rc;
}

int dp_wire_decode(struct dp_wire *w, const uint8_t *frame, size_t frame_bytes,
		   struct raft_entry *entries, uint32_t entries_max, struct dp_rx_frame *out)
{
	struct wire_view v;

	RN_ASSERT(w != NULL && out != NULL);
	RN_ASSERT(entries != NULL || entries_max == 0);
	int rc = wire_frame_parse(w, frame, frame_bytes, &v);
	return wire_decode_view(w, rc, &v, entries, entries_max, out);
}

int dp_wire_decode_udp(struct dp_wire *w, const uint8_t *payload, size_t payload_bytes,
		       struct raft_entry *entries, uint32_t entries_max, struct dp_rx_frame *out)
{
	struct wire_view v;

	RN_ASSERT(w != NULL && out != NULL);
	RN_ASSERT(entries != NULL || entries_max == 0);
	memset(&v.addr, 0, sizeof(v.addr));
	int rc = wire_payload_parse(w, payload, payload_bytes, &v);
	return wire_decode_view(w, rc, &v, entries, entries_max, out);
}

/* Room for a body of body_bytes in one frame of at most buf_bytes? */
static int wire_fits(size_t body_bytes, size_t buf_bytes)
{
	size_t limit = buf_bytes < DP_FRAME_BYTES_MAX ? buf_bytes : DP_FRAME_BYTES_MAX;
	return wire_frame_bytes(body_bytes) <= limit;
}

static void wire_hdr_single(struct wire_hdr *h, uint8_t type, raft_node_id from,
			    raft_node_id to, raft_term term, uint64_t msg_seq, size_t body_bytes)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->from = from;
	h->to = to;
	h->term = term;
	h->msg_seq = msg_seq;
	h->body_bytes = (uint32_t)body_bytes;
	h->msg_body_bytes = (uint32_t)body_bytes;
}

int dp_wire_encode_raft(const struct dp_wire *w, const struct dp_endpoints *addr,
			uint64_t msg_seq, const struct raft_message *m,
			const uint8_t *const *payloads, uint8_t *buf, size_t buf_bytes)
{
	struct wire_hdr h;

	RN_ASSERT(w != NULL && addr != NULL && m != NULL);
	RN_ASSERT(buf != NULL);
	/* A from_storage append is the core asking its caller to fill it in:
	 * sending it as it is would be a bug. */
	if (!wire_raft_type_known(m->type) ||
	    (m->type == RAFT_MSG_APPEND && (m->append.entries_count > RAFT_BATCH_ENTRIES_MAX ||
					    m->append.from_storage))) {
		return -DP_ERR_INVALID;
	}
	size_t body_bytes = dp_wire_raft_body_bytes(m);
	if (!wire_fits(body_bytes, buf_bytes)) {
		return -DP_ERR_TOO_BIG;
	}
	wire_raft_body_encode(m, payloads, buf + WIRE_BODY_OFFSET);
	wire_hdr_single(&h, m->type, m->from, m->to, m->term, msg_seq, body_bytes);
	return (int)wire_frame_seal(w, addr, &h, buf);
}

void dp_client_frame_start(struct dp_client_frame *f, uint8_t type, uint8_t *buf,
			   size_t frame_bytes_max)
{
	RN_ASSERT(f != NULL && buf != NULL);
	RN_ASSERT(type == DP_FRAME_CLIENT_REQUEST || type == DP_FRAME_CLIENT_REPLY);
	*f = (struct dp_client_frame){
		.buf = buf, .type = type, .body_bytes = DP_CLIENT_BATCH_HDR_BYTES,
		.frame_bytes_max = (uint32_t)rn_min_u64(frame_bytes_max, DP_FRAME_BYTES_MAX)};
}

size_t dp_wire_request_item_bytes(const struct dp_client_request *req)
{
	RN_ASSERT(req != NULL);
	return wire_request_body_bytes(req);
}

size_t dp_wire_reply_item_bytes(const struct dp_client_reply *rep)
{
	RN_ASSERT(rep != NULL);
	return wire_reply_body_bytes(rep);
}

size_t dp_client_frame_bytes_with(const struct dp_client_frame *f, size_t item_bytes)
{
	RN_ASSERT(f != NULL);
	return wire_frame_bytes((size_t)f->body_bytes + item_bytes);
}

/* Room for item_bytes more, and a count the header can hold? */
static bool frame_room(const struct dp_client_frame *f, size_t item_bytes)
{
	return f->count < UINT16_MAX && dp_client_frame_bytes_with(f, item_bytes) <= f->frame_bytes_max;
}

int dp_client_frame_add_request(struct dp_client_frame *f, const struct dp_client_request *req)
{
	RN_ASSERT(f != NULL && req != NULL);
	RN_ASSERT(f->type == DP_FRAME_CLIENT_REQUEST);
	size_t bytes = wire_request_body_bytes(req);
	if (!frame_room(f, bytes)) {
		return -DP_ERR_TOO_BIG;
	}
	wire_request_body_encode(req, f->buf + WIRE_BODY_OFFSET + f->body_bytes);
	f->body_bytes += (uint32_t)bytes;
	f->count++;
	return 0;
}

int dp_client_frame_add_reply(struct dp_client_frame *f, const struct dp_client_reply *rep)
{
	RN_ASSERT(f != NULL && rep != NULL);
	RN_ASSERT(f->type == DP_FRAME_CLIENT_REPLY);
	size_t bytes = wire_reply_body_bytes(rep);
	if (!frame_room(f, bytes)) {
		return -DP_ERR_TOO_BIG;
	}
	wire_reply_body_encode(rep, f->buf + WIRE_BODY_OFFSET + f->body_bytes);
	f->body_bytes += (uint32_t)bytes;
	f->count++;
	return 0;
}

size_t dp_wire_seal_client_frame(const struct dp_wire *w, const struct dp_endpoints *addr,
				 uint64_t msg_seq, raft_node_id to, const struct dp_client_frame *f)
{
	struct wire_hdr h;

	RN_ASSERT(w != NULL && addr != NULL && f != NULL);
	RN_ASSERT(f->count >= 1); /* an empty batch is not a frame */
	RN_ASSERT(wire_frame_bytes(f->body_bytes) <= f->frame_bytes_max);
	/* Sealing adds its overhead: the frame was started with room for it
	 * (dp_wire_client_frame_bytes_max), every buffer holds the largest. */
	RN_ASSERT(wire_frame_bytes(f->body_bytes) +
			  (wire_seal_applies(w, f->type) ? DP_SEAL_OVERHEAD_BYTES : 0) <=
		  DP_FRAME_BYTES_MAX);
	wire_batch_hdr_encode(f->buf + WIRE_BODY_OFFSET, f->count);
	wire_hdr_single(&h, f->type, w->self_id, to, 0, msg_seq, f->body_bytes);
	return wire_frame_seal(w, addr, &h, f->buf);
}

int dp_wire_encode_request(const struct dp_wire *w, const struct dp_endpoints *addr,
			   uint64_t msg_seq, raft_node_id to, const struct dp_client_request *req,
			   uint8_t *buf, size_t buf_bytes)
{
	struct dp_client_frame f;

	RN_ASSERT(w != NULL && addr != NULL && req != NULL);
	RN_ASSERT(buf != NULL);
	dp_client_frame_start(&f, DP_FRAME_CLIENT_REQUEST, buf,
			      dp_wire_client_frame_bytes_max(w, buf_bytes));
	int rc = dp_client_frame_add_request(&f, req);
	if (rc != 0) {
		return rc;
	}
	return (int)dp_wire_seal_client_frame(w, addr, msg_seq, to, &f);
}

int dp_wire_encode_reply(const struct dp_wire *w, const struct dp_endpoints *addr,
			 uint64_t msg_seq, raft_node_id to, const struct dp_client_reply *rep,
			 uint8_t *buf, size_t buf_bytes)
{
	struct dp_client_frame f;

	RN_ASSERT(w != NULL && addr != NULL && rep != NULL);
	RN_ASSERT(buf != NULL);
	dp_client_frame_start(&f, DP_FRAME_CLIENT_REPLY, buf,
			      dp_wire_client_frame_bytes_max(w, buf_bytes));
	int rc = dp_client_frame_add_reply(&f, rep);
	if (rc != 0) {
		return rc;
	}
	return (int)dp_wire_seal_client_frame(w, addr, msg_seq, to, &f);
}

int dp_wire_raft_body(const struct raft_message *m, const uint8_t *const *payloads,
		      uint8_t *body, size_t body_bytes_max)
{
	RN_ASSERT(m != NULL && body != NULL);
	/* A from_storage append is the core asking its caller to fill it in:
	 * sending it as it is would be a bug. */
	if (!wire_raft_type_known(m->type) ||
	    (m->type == RAFT_MSG_APPEND && (m->append.entries_count > RAFT_BATCH_ENTRIES_MAX ||
					    m->append.from_storage))) {
		return -DP_ERR_INVALID;
	}
	size_t bytes = dp_wire_raft_body_bytes(m);
	if (bytes > body_bytes_max || bytes > INT32_MAX) {
		return -DP_ERR_TOO_BIG;
	}
	wire_raft_body_encode(m, payloads, body);
	return (int)bytes;
}

int dp_wire_request_body(const struct dp_client_request *req, uint8_t *body,
			 size_t body_bytes_max)
{
	RN_ASSERT(req != NULL && body != NULL);
	size_t bytes = wire_request_body_bytes(req);
	if (bytes > body_bytes_max || bytes > INT32_MAX) {
		return -DP_ERR_TOO_BIG;
	}
	wire_request_body_encode(req, body);
	return (int)bytes;
}

int dp_wire_request_body_decode(const uint8_t *body, size_t body_bytes,
				struct dp_client_request *out)
{
	RN_ASSERT(out != NULL);
	return wire_request_body_decode(body, body_bytes, out);
}

int dp_wire_reply_body(const struct dp_client_reply *rep, uint8_t *body, size_t body_bytes_max)
{
	RN_ASSERT(rep != NULL && body != NULL);
	size_t bytes = wire_reply_body_bytes(rep);
	if (bytes > body_bytes_max || bytes > INT32_MAX) {
		return -DP_ERR_TOO_BIG;
	}
	wire_reply_body_encode(rep, body);
	return (int)bytes;
}

void dp_wire_client_batch_hdr(uint8_t *body, uint32_t count)
{
	RN_ASSERT(body != NULL);
	wire_batch_hdr_encode(body, count);
}

int dp_wire_encode_fragment(const struct dp_wire *w, const struct dp_endpoints *addr,
			    const struct dp_fragment_src *src, uint32_t offset,
			    size_t frame_bytes_max, uint8_t *buf, size_t buf_bytes,
			    uint32_t *body_bytes_out)
{
	struct wire_hdr h;

	RN_ASSERT(w != NULL && addr != NULL && src != NULL);
	RN_ASSERT(buf != NULL && body_bytes_out != NULL);
	size_t limit = rn_min_u64(rn_min_u64(frame_bytes_max, buf_bytes), DP_FRAME_BYTES_MAX);
	if (offset >= src->body_bytes || src->body == NULL) {
		return -DP_ERR_INVALID;
	}
	if (limit <= DP_FRAME_OVERHEAD_BYTES) {
		return -DP_ERR_TOO_BIG;
	}
	if (wire_seal_applies(w, src->type)) {
		limit -= rn_min_u64(limit, DP_SEAL_OVERHEAD_BYTES); /* each fragment sealed */
	}
	if (limit <= DP_FRAME_OVERHEAD_BYTES) {
		return -DP_ERR_TOO_BIG;
	}
	uint32_t room = (uint32_t)(limit - DP_FRAME_OVERHEAD_BYTES);
	uint32_t body_bytes = src->body_bytes - offset < room ? src->body_bytes - offset : room;
	memcpy(buf + WIRE_BODY_OFFSET, src->body + offset, body_bytes);
	wire_hdr_single(&h, src->type, src->from, src->to, src->term, src->msg_seq, body_bytes);
	h.flags = DP_HDR_FRAGMENT;
	h.msg_body_bytes = src->body_bytes;
	h.frag_offset_bytes = offset;
	*body_bytes_out = body_bytes;
	return (int)wire_frame_seal(w, addr, &h, buf);
}

const char *dp_strerror(int rc)
{
	switch (rc < 0 ? -rc : rc) {
	case DP_OK: return "ok";
	case DP_ERR_TRUNCATED: return "truncated frame";
	case DP_ERR_NOT_RAFT: return "not a raft frame (ethertype, protocol or port)";
	case DP_ERR_BAD_IP: return "bad IPv4 header";
	case DP_ERR_BAD_UDP: return "bad UDP header";
	case DP_ERR_BAD_MAGIC: return "bad magic";
	case DP_ERR_BAD_VERSION: return "unsupported version or flags";
	case DP_ERR_WRONG_CLUSTER: return "wrong cluster id";
	case DP_ERR_BAD_LENGTH: return "inconsistent lengths";
	case DP_ERR_BAD_TAG: return "bad authentication tag";
	case DP_ERR_UNKNOWN_TYPE: return "unknown frame type";
	case DP_ERR_BAD_BODY: return "bad message body";
	case DP_ERR_WRONG_RECIPIENT: return "frame for another node";
	case DP_ERR_TOO_MANY_ENTRIES: return "more entries than the receive array";
	case DP_ERR_SEAL_MISMATCH:
		return "client frame sealed where encryption is off, or plaintext where it is on";
	case DP_ERR_UNKNOWN_KEY: return "sealed with a key this node does not hold (retired?)";
	case DP_ERR_CLIENT_KEY: return "consensus frame sealed with a client key";
	case DP_ERR_INVALID: return "invalid argument";
	case DP_ERR_TOO_BIG: return "does not fit one frame or the buffer";
	case DP_ERR_CRYPTO: return "libsodium failure (or a CPU without AES-NI and PCLMULQDQ)";
	case DP_ERR_FRAGMENT: return "fragment of a larger message";
	case DP_ERR_AGAIN: return "fragment kept, message incomplete";
	case DP_ERR_REASM_TOO_BIG: return "message larger than the reassembly buffer";
	case DP_ERR_REASM_ORPHAN: return "fragment of no message in progress";
	case DP_ERR_REASM_GAP: return "fragment missing, message dropped";
	case DP_ERR_REASM_DUPLICATE: return "duplicate fragment";
	case DP_ERR_REASM_MISMATCH: return "fragment disagrees with its message";
	default: return "unknown error";
	}
}
