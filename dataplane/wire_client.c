/* SPDX-License-Identifier: MIT */
/*
 * wire_client.c - bodies of the client frames, little-endian:
 *
 *   CLIENT_REQUEST  client_id u64, request_seq u64, op u8, flags u8, 0[2],
 *                   key_bytes u32, value_bytes u32, expect_bytes u32,
 *                   then key, value, expect bytes
 *   CLIENT_REPLY    client_id u64, request_seq u64, status u8, 0[3],
 *                   leader_id u32, value_bytes u32, trace_count u32,
 *                   then value bytes, then trace_count u64 timestamps
 *
 * A request names a key of 1..DP_CLIENT_KEY_BYTES_MAX bytes; only PUT and
 * CAS carry a value and only CAS an expected value. Lengths must add up to
 * the body exactly; they are summed in 64 bits so no u32 can wrap. The
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
	default: return 0;
	}
}

int wire_request_body_decode(const uint8_t *p, size_t body_bytes, struct dp_client_request *req)
{
	RN_ASSERT(req != NULL);
	if (p == NULL || body_bytes < DP_CLIENT_REQUEST_FIXED_BYTES) {
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
	if (total != body_bytes) {
		return -DP_ERR_BAD_BODY;
	}
	req->key = p + DP_CLIENT_REQUEST_FIXED_BYTES;
	req->value = req->key + req->key_bytes;
	req->expect = req->value + req->value_bytes;
	return 0;
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

int wire_reply_body_decode(const uint8_t *p, size_t body_bytes, struct dp_client_reply *rep)
{
	RN_ASSERT(rep != NULL);
	if (p == NULL || body_bytes < DP_CLIENT_REPLY_FIXED_BYTES) {
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
	if ((uint64_t)DP_CLIENT_REPLY_FIXED_BYTES + rep->value_bytes + 8u * rep->trace_count !=
	    body_bytes) {
		return -DP_ERR_BAD_BODY;
	}
	rep->value = p + DP_CLIENT_REPLY_FIXED_BYTES;
	for (uint32_t i = 0; i < rep->trace_count; i++) {
		rep->trace_ns[i] = wire_ld64(rep->value + rep->value_bytes + 8u * i);
	}
	return 0;
}
