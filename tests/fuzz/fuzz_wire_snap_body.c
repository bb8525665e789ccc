/* SPDX-License-Identifier: MIT */
/*
 * fuzz_wire_snap_body.c - libFuzzer target for the snapshot transfer body
 * decoders (dp_snap_chunk_decode, dp_snap_ack_decode), reached directly
 * without framing or tag (fuzz_wire_frame reaches them through whole
 * frames).
 *
 * Input: selector (1 byte: bit 0 clear = chunk, set = ack), the frame
 * header's term (8 bytes, little-endian), then the body.
 * Oracle: a body that decodes re-encodes to exactly the same bytes; the
 * chunk's data lies inside the body and its range inside the file; an
 * ack's acked offset is inside the file; the id's term is at most the
 * header's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire_internal.h"

static uint8_t fuzz_again[DP_FRAME_BYTES_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_chunk(raft_term term, const uint8_t *body, size_t body_bytes)
{
	struct dp_snap_chunk c;
	if (dp_snap_chunk_decode(term, body, body_bytes, &c) != 0) {
		return;
	}
	if (c.data_bytes > 0 && (c.data < body || c.data + c.data_bytes > body + body_bytes)) {
		abort();
	}
	if (c.offset_bytes > c.id.total_bytes || c.data_bytes > c.id.total_bytes - c.offset_bytes ||
	    c.id.term > term || c.term != term) {
		abort();
	}
	int n = dp_snap_chunk_body(&c, term, fuzz_again, sizeof(fuzz_again));
	if (n < 0 || (size_t)n != body_bytes || memcmp(fuzz_again, body, body_bytes) != 0) {
		abort();
	}
}

static void fuzz_ack(raft_term term, const uint8_t *body, size_t body_bytes)
{
	struct dp_snap_ack a;
	if (dp_snap_ack_decode(term, body, body_bytes, &a) != 0) {
		return;
	}
	if (a.acked_bytes > a.id.total_bytes || a.id.term > term ||
	    a.reason > DP_SNAP_ACK_REASON_LAST) {
		abort();
	}
	int n = dp_snap_ack_body(&a, term, fuzz_again, sizeof(fuzz_again));
	if (n < 0 || (size_t)n != body_bytes || memcmp(fuzz_again, body, body_bytes) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 9 || size - 9 > sizeof(fuzz_again)) {
		return 0;
	}
	raft_term term = wire_ld64(data + 1);
	const uint8_t *body = data + 9;
	size_t body_bytes = size - 9;
	if ((data[0] & 1) == 0) {
		fuzz_chunk(term, body, body_bytes);
	} else {
		fuzz_ack(term, body, body_bytes);
	}
	return 0;
}
