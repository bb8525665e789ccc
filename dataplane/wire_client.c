/* SPDX-License-Identifier: MIT */
/*
 * wire_client.c - bodies of the client frames, little-endian. A frame
 * (wire version 3) carries a batch: count u16 (>= 1), 0[2], then `count`
 * items back to back, each one of:
 *
 *   request         client_id u64, request_seq u64, op u8, flags u8, 0[2],
 *                   key_bytes u32, value_bytes u32, expect_bytes u32,
 *                   then key, value, expect bytes
 *   reply           client_id u64, request_seq u64, status u8, 0[3],
 *                   leader_id u32, value_bytes u32, trace_count u32,
 *                   then value bytes, then trace_count u64 timestamps
 *
 * One request item is also the form the log keeps (dp_wire_request_body):
 * a batch becomes one log entry per request, each as the wire carried it.
 *
 * A request names a key of 1..DP_CLIENT_KEY_BYTES_MAX bytes; only PUT and
 * CAS carry a value and only CAS an expected value (TRANSFER: a node id;
 * MEMBER: none, or a config entry's record, wire_conf.c). Each item's lengths
 * must fit what is left of the body, and the items must fill the body
 * exactly; lengths are summed in 64 bits so no u32 can wrap. Every item
 * of a batch is checked when the frame is decoded, so a consumer walking
 * the batch later (dp_client_batch_next_*) meets only valid ones. The
 * fixed sizes are asserted against these layouts in dataplane.h.
 */
#include "common.h"
#include "wire_internal.h"

size_t wire_request_body_bytes(const struct dp_client_request *req)
{
	return DP_CLIENT_REQUEST_FIXED_BYTES + (size_t)req->key_bytes + req->value_bytes +
	       req->expect_bytes;
}

static void client_put_bytes(uint8_t **p, const uint8_t *src, uint32_t bytes)
{
	if (bytes > 0) {
		RN_ASSERT(src != NULL);
		memcpy(*p, src, bytes);
		*p += bytes;
	}
}

void wire_request_body_encode(const struct dp_client_request *req, uint8_t *p)
{
	wire_st64(p, req->client_id);
	wire_st64(p + 8, req->request_seq);
	p[16] = req->op;
	p[17] = req->flags;
	memset(p + 18, 0, 2);
	wire_st32(p + 20, req->key_bytes);
	wire_st32(p + 24, req->value_bytes);
	wire_st32(p + 28, req->expect_bytes);
	p += DP_CLIENT_REQUEST_FIXED_BYTES;
	client_put_bytes(&p, req->key, req->key_bytes);
	client_put_bytes(&p, req->value, req->value_bytes);
	client_put_bytes(&p, req->expect, req->expect_bytes);
}

/* Which byte strings an operation carries. */
static int request_shape_ok(const struct dp_client_request *req)
{
	if (req->key_bytes == 0 || req->key_bytes > DP_CLIENT_KEY_BYTES_MAX) {
		return 0;
	}
	switch (req->op) {
	case DP_CLIENT_PUT: return req->expect_bytes == 0;
	case DP_CLIENT_GET:
	case DP_CLIENT_GET_STALE:
	case DP_CLIENT_STATUS:
	case DP_CLIENT_DELETE: return req->value_bytes == 0 && req->expect_bytes == 0;
	case DP_CLIENT_CAS: return 1;
	case DP_CLIENT_TRANSFER: return req->value_bytes == 4 && req->expect_bytes == 0;
	case DP_CLIENT_MEMBER:
		/* A list (no value) or one change; checked whole below. */
		return (req->value_bytes == 0 || req->value_bytes == DP_CONF_ENTRY_BYTES) &&
		       req->expect_bytes == 0;
	default: return 0;
	}
}

/* One request item at p, within the avail bytes left of its body; its
 * bytes in *item_bytes. */
static int request_item_decode(const uint8_t *p, size_t avail, struct dp_client_request *req,
			       size_t *item_bytes)
{
	if (p == NULL || avail < DP_CLIENT_REQUEST_FIXED_BYTES) {
		return -DP_ERR_BAD_BODY;
	}
	req->client_id = wire_ld64(p);
	req->request_seq = wire_ld64(p + 8);
	req->op = p[16];
	req->flags = p[17];
	req->key_bytes = wire_ld32(p + 20);
	req->value_bytes = wire_ld32(p + 24);
	req->expect_bytes = wire_ld32(p + 28);
	if ((req->flags & ~DP_CLIENT_FLAGS_KNOWN) != 0 || !wire_zero(p + 18, 2) ||
	    !request_shape_ok(req)) {
		return -DP_ERR_BAD_BODY;
	}
	uint64_t total = (uint64_t)DP_CLIENT_REQUEST_FIXED_BYTES + req->key_bytes +
			 req->value_bytes + req->expect_bytes;
	if (total > avail) {
		return -DP_ERR_BAD_BODY;
	}
	req->key = p + DP_CLIENT_REQUEST_FIXED_BYTES;
	req->value = req->key + req->key_bytes;
	req->expect = req->value + req->value_bytes;
	if (req->op == DP_CLIENT_MEMBER && req->value_bytes > 0) {
		/* A change: a valid config record, and never a forced one (that
		 * is the --force-new-cluster start's, not a request's). */
		uint64_t v;
		if (dp_conf_entry_decode(req->value, req->value_bytes, &v, NULL) != 0 ||
		    RAFT_CONF_OP(v) == RAFT_CONF_FORCE) {
			return -DP_ERR_BAD_BODY;
		}
	}
	*item_bytes = (size_t)total;
	return 0;
}

int wire_request_body_decode(const uint8_t *p, size_t body_bytes, struct dp_client_request *req)
{
	size_t item_bytes = 0;
	RN_ASSERT(req != NULL);
	int rc = request_item_decode(p, body_bytes, req, &item_bytes);
	return rc == 0 && item_bytes != body_bytes ? -DP_ERR_BAD_BODY : rc;
}

size_t wire_reply_body_bytes(const struct dp_client_reply *rep)
{
	return DP_CLIENT_REPLY_FIXED_BYTES + (size_t)rep->value_bytes + 8u * rep->trace_count;
}

void wire_reply_body_encode(const struct dp_client_reply *rep, uint8_t *p)
{
	wire_st64(p, rep->client_id);
	wire_st64(p + 8, rep->request_seq);
	p[16] = rep->status;
	memset(p + 17, 0, 3);
	wire_st32(p + 20, rep->leader_id);
	wire_st32(p + 24, rep->value_bytes);
	RN_ASSERT(rep->trace_count == 0 || rep->trace_count == DP_TRACE_STAGES);
	wire_st32(p + 28, rep->trace_count);
	p += DP_CLIENT_REPLY_FIXED_BYTES;
	client_put_bytes(&p, rep->value, rep->value_bytes);
	for (uint32_t i = 0; i < rep->trace_count; i++) {
		wire_st64(p + 8u * i, rep->trace_ns[i]);
	}
}

static int reply_item_decode(const uint8_t *p, size_t avail, struct dp_client_reply *rep,
			     size_t *item_bytes)
{
	if (p == NULL || avail < DP_CLIENT_REPLY_FIXED_BYTES) {
		return -DP_ERR_BAD_BODY;
	}
	rep->client_id = wire_ld64(p);
	rep->request_seq = wire_ld64(p + 8);
	rep->status = p[16];
	rep->leader_id = wire_ld32(p + 20);
	rep->value_bytes = wire_ld32(p + 24);
	rep->trace_count = wire_ld32(p + 28);
	if (!wire_zero(p + 17, 3) || rep->status > DP_CLIENT_STATUS_LAST ||
	    (rep->trace_count != 0 && rep->trace_count != DP_TRACE_STAGES)) {
		return -DP_ERR_BAD_BODY;
	}
	uint64_t total = (uint64_t)DP_CLIENT_REPLY_FIXED_BYTES + rep->value_bytes +
			 8u * rep->trace_count;
	if (total > avail) {
		return -DP_ERR_BAD_BODY;
	}
	rep->value = p + DP_CLIENT_REPLY_FIXED_BYTES;
	for (uint32_t i = 0; i < rep->trace_count; i++) {
		rep->trace_ns[i] = wire_ld64(rep->value + rep->value_bytes + 8u * i);
	}
	*item_bytes = (size_t)total;
	return 0;
}

int wire_reply_body_decode(const uint8_t *p, size_t body_bytes, struct dp_client_reply *rep)
{
	size_t item_bytes = 0;
	RN_ASSERT(rep != NULL);
	int rc = reply_item_decode(p, body_bytes, rep, &item_bytes);
	return rc == 0 && item_bytes != body_bytes ? -DP_ERR_BAD_BODY : rc;
}

/* ---- Batches ---------------------------------------------------------- */

void wire_batch_hdr_encode(uint8_t *p, uint32_t count)
{
	RN_ASSERT(count >= 1 && count <= UINT16_MAX);
	wire_st16(p, (uint16_t)count);
	memset(p + 2, 0, 2);
}

/* One item of `type` at p within avail bytes: 0 or -DP_ERR_BAD_BODY. */
static int batch_item_decode(uint8_t type, const uint8_t *p, size_t avail,
			     struct dp_client_request *req, struct dp_client_reply *rep,
			     size_t *item_bytes)
{
	return type == DP_FRAME_CLIENT_REQUEST ? request_item_decode(p, avail, req, item_bytes)
					       : reply_item_decode(p, avail, rep, item_bytes);
}

int wire_batch_decode(uint8_t type, const uint8_t *body, size_t body_bytes,
		      struct dp_client_batch *batch, struct dp_client_request *first_req,
		      struct dp_client_reply *first_rep)
{
	RN_ASSERT(type == DP_FRAME_CLIENT_REQUEST || type == DP_FRAME_CLIENT_REPLY);
	RN_ASSERT(batch != NULL && first_req != NULL && first_rep != NULL);
	if (body == NULL || body_bytes < DP_CLIENT_BATCH_HDR_BYTES || body_bytes > UINT32_MAX) {
		return -DP_ERR_BAD_BODY;
	}
	uint32_t count = wire_ld16(body);
	if (count == 0 || !wire_zero(body + 2, 2)) {
		return -DP_ERR_BAD_BODY;
	}
	const uint8_t *items = body + DP_CLIENT_BATCH_HDR_BYTES;
	size_t items_bytes = body_bytes - DP_CLIENT_BATCH_HDR_BYTES;
	size_t at = 0;
	struct dp_client_request req;
	struct dp_client_reply rep;
	/* Bounded by count (u16) and by the body: each item is at least its
	 * fixed part, so a short body ends the walk early. */
	for (uint32_t i = 0; i < count; i++) {
		size_t item_bytes = 0;
		int rc = batch_item_decode(type, items + at, items_bytes - at,
					   i == 0 ? first_req : &req, i == 0 ? first_rep : &rep,
					   &item_bytes);
		if (rc != 0) {
			return rc;
		}
		RN_ASSERT(item_bytes > 0 && item_bytes <= items_bytes - at);
		at += item_bytes;
	}
	if (at != items_bytes) {
		return -DP_ERR_BAD_BODY; /* bytes after the last item */
	}
	*batch = (struct dp_client_batch){.items = items, .items_bytes = (uint32_t)items_bytes,
					  .count = count};
	return 0;
}

int dp_client_batch_next_request(const struct dp_client_batch *b, uint32_t *offset,
				 struct dp_client_request *out)
{
	size_t item_bytes = 0;
	RN_ASSERT(b != NULL && offset != NULL && out != NULL);
	if (*offset >= b->items_bytes) {
		return -DP_ERR_INVALID; /* walked past the last item */
	}
	int rc = request_item_decode(b->items + *offset, b->items_bytes - *offset, out,
				     &item_bytes);
	if (rc == 0) {
		*offset += (uint32_t)item_bytes;
	}
	return rc;
}

int dp_client_batch_next_reply(const struct dp_client_batch *b, uint32_t *offset,
			       struct dp_client_reply *out)
{
	size_t item_bytes = 0;
	RN_ASSERT(b != NULL && offset != NULL && out != NULL);
	if (*offset >= b->items_bytes) {
		return -DP_ERR_INVALID;
	}
	int rc = reply_item_decode(b->items + *offset, b->items_bytes - *offset, out, &item_bytes);
	if (rc == 0) {
		*offset += (uint32_t)item_bytes;
	}
	return rc;
}
