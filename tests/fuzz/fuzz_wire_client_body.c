/* SPDX-License-Identifier: MIT */
/*
 * fuzz_wire_client_body.c - libFuzzer target for the client request and
 * reply decoders, reached directly without framing or tag: one item (the
 * form the log keeps a request in) and a whole batch (a client frame's
 * body, wire version 3: count, then the items back to back).
 *
 * Input: selector (1 byte: bit 0 clear = request, set = reply; bit 1 set
 * = a batch body, clear = one item), then the body.
 * Oracle: a body that decodes re-encodes to the same bytes, and the byte
 * strings it names lie inside the input; a batch's walk meets exactly
 * `count` items that fill it, and each item decodes again alone.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire_internal.h"

static uint8_t fuzz_again[DP_FRAME_BYTES_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_inside(const uint8_t *p, uint32_t bytes, const uint8_t *body, size_t body_bytes)
{
	if (bytes > 0 && (p < body || p + bytes > body + body_bytes)) {
		abort();
	}
}

/* One item at body (body_bytes exactly): decoded, checked, re-encoded
 * into fuzz_again + at. Returns 0, or -1 when it does not decode. */
static int fuzz_item(int reply, const uint8_t *body, size_t body_bytes, size_t at)
{
	if (!reply) {
		struct dp_client_request req;
		if (wire_request_body_decode(body, body_bytes, &req) != 0) {
			return -1;
		}
		fuzz_inside(req.key, req.key_bytes, body, body_bytes);
		fuzz_inside(req.value, req.value_bytes, body, body_bytes);
		fuzz_inside(req.expect, req.expect_bytes, body, body_bytes);
		if (wire_request_body_bytes(&req) != body_bytes) {
			abort();
		}
		wire_request_body_encode(&req, fuzz_again + at);
		return 0;
	}
	struct dp_client_reply rep;
	if (wire_reply_body_decode(body, body_bytes, &rep) != 0) {
		return -1;
	}
	fuzz_inside(rep.value, rep.value_bytes, body, body_bytes);
	if (wire_reply_body_bytes(&rep) != body_bytes) {
		abort();
	}
	wire_reply_body_encode(&rep, fuzz_again + at);
	return 0;
}

/* A batch body: walk every item the decoder accepted, re-encoding them
 * into fuzz_again. Returns 0, or -1 when it does not decode. */
static int fuzz_batch(int reply, const uint8_t *body, size_t body_bytes)
{
	struct dp_client_batch b;
	struct dp_client_request first_req;
	struct dp_client_reply first_rep;
	uint8_t type = reply ? DP_FRAME_CLIENT_REPLY : DP_FRAME_CLIENT_REQUEST;
	if (wire_batch_decode(type, body, body_bytes, &b, &first_req, &first_rep) != 0) {
		return -1;
	}
	if (b.count == 0 || b.items != body + DP_CLIENT_BATCH_HDR_BYTES ||
	    (size_t)b.items_bytes + DP_CLIENT_BATCH_HDR_BYTES != body_bytes) {
		abort();
	}
	wire_batch_hdr_encode(fuzz_again, b.count);
	uint32_t at = 0;
	for (uint32_t i = 0; i < b.count; i++) {
		uint32_t before = at;
		struct dp_client_request req;
		struct dp_client_reply rep;
		int rc = reply ? dp_client_batch_next_reply(&b, &at, &rep)
			       : dp_client_batch_next_request(&b, &at, &req);
		if (rc != 0 || at <= before || at > b.items_bytes) {
			abort(); /* the decoder accepted every item */
		}
		if (fuzz_item(reply, b.items + before, at - before,
			      DP_CLIENT_BATCH_HDR_BYTES + before) != 0) {
			abort();
		}
	}
	if (at != b.items_bytes) {
		abort(); /* count items fill the body */
	}
	struct dp_client_request req;
	struct dp_client_reply rep;
	if ((reply ? dp_client_batch_next_reply(&b, &at, &rep)
		   : dp_client_batch_next_request(&b, &at, &req)) != -DP_ERR_INVALID) {
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size - 1 > sizeof(fuzz_again)) {
		return 0;
	}
	const uint8_t *body = data + 1;
	size_t body_bytes = size - 1;
	int reply = data[0] & 1;
	int rc = (data[0] & 2) != 0 ? fuzz_batch(reply, body, body_bytes)
				    : fuzz_item(reply, body, body_bytes, 0);
	if (rc != 0) {
		return 0;
	}
	if (memcmp(fuzz_again, body, body_bytes) != 0) {
		abort();
	}
	return 0;
}
