/* SPDX-License-Identifier: MIT */
/*
 * fuzz_http_request.c - libFuzzer target for the metrics endpoint's HTTP
 * request parser (node_http_parse, node/metrics_parse.c): the bytes any
 * client that reaches the metrics port may send.
 *
 * Input: the request head as received, fed whole and then as every
 * prefix the endpoint would see while reading (it parses after each recv).
 * Oracle: no crash or sanitizer report; the answer is one of 0 (read
 * more), 1 with a known target, -400 or -405; a head the parser answered
 * is answered the same once more bytes follow it (it never reads past the
 * blank line); 0 only below NODE_HTTP_REQUEST_BYTES_MAX bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_parse(const uint8_t *data, size_t size, enum node_http_target *t)
{
	int rc = node_http_parse((const char *)data, size, t);
	if (rc != 0 && rc != 1 && rc != -400 && rc != -405) {
		abort();
	}
	if (rc == 1 && *t != NODE_HTTP_METRICS && *t != NODE_HTTP_HEALTH && *t != NODE_HTTP_OTHER) {
		abort();
	}
	if (rc == 0 && size >= NODE_HTTP_REQUEST_BYTES_MAX) {
		abort(); /* an oversized head is refused, never waited on */
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > NODE_HTTP_REQUEST_BYTES_MAX) {
		size = NODE_HTTP_REQUEST_BYTES_MAX; /* what one recv buffer holds */
	}
	enum node_http_target t = NODE_HTTP_OTHER;
	int first = 0;
	size_t first_at = 0;
	for (size_t n = 0; n <= size; n++) {
		int rc = fuzz_parse(data, n, &t);
		if (rc != 0 && first == 0) {
			first = rc;
			first_at = n;
		}
	}
	if (first != 0) {
		/* Decided at first_at: every longer prefix says the same. */
		enum node_http_target t2 = NODE_HTTP_OTHER;
		if (fuzz_parse(data, size, &t2) != first || (first == 1 && first_at == 0)) {
			abort();
		}
	}
	(void)t;
	return 0;
}
