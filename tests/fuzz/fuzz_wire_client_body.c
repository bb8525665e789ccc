/* SPDX-License-Identifier: MIT */
/*
 * fuzz_wire_client_body.c - libFuzzer target for the client request and
 * reply body decoders, reached directly without framing or tag.
 *
 * Input: selector (1 byte: even = request, odd = reply), then the body.
 * Oracle: a body that decodes re-encodes to the same bytes, and the byte
 * strings it names lie inside the input.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size - 1 > sizeof(fuzz_again)) {
		return 0;
	}
	const uint8_t *body = data + 1;
	size_t body_bytes = size - 1;
	if ((data[0] & 1) == 0) {
		struct dp_client_request req;
		if (wire_request_body_decode(body, body_bytes, &req) != 0) {
			return 0;
		}
		fuzz_inside(req.key, req.key_bytes, body, body_bytes);
		fuzz_inside(req.value, req.value_bytes, body, body_bytes);
		fuzz_inside(req.expect, req.expect_bytes, body, body_bytes);
		if (wire_request_body_bytes(&req) != body_bytes) {
			abort();
		}
		wire_request_body_encode(&req, fuzz_again);
	} else {
		struct dp_client_reply rep;
		if (wire_reply_body_decode(body, body_bytes, &rep) != 0) {
			return 0;
		}
		fuzz_inside(rep.value, rep.value_bytes, body, body_bytes);
		if (wire_reply_body_bytes(&rep) != body_bytes) {
			abort();
		}
		wire_reply_body_encode(&rep, fuzz_again);
	}
	if (memcmp(fuzz_again, body, body_bytes) != 0) {
		abort();
	}
	return 0;
}
