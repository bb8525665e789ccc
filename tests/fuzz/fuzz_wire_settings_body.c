/* SPDX-License-Identifier: MIT */
/*
 * fuzz_wire_settings_body.c - libFuzzer target for the SETTINGS body
 * decoder (dp_settings_decode) and its pair iterator (dp_settings_next),
 * reached directly without framing or tag (fuzz_wire_frame reaches them
 * through whole frames).
 *
 * Input: a frame size selector (1 byte), then the body.
 * Oracle: a body that decodes has the pairs it counted, each a non-empty
 * name and value inside the body, and the pairs joined with '=' and ';'
 * give the body back byte for byte; the body re-encodes to the same bytes;
 * sealed in a frame of 14 + 20 + 8 + 64 + 16 + 4 x selector bytes it fits
 * exactly when the body does, and that frame decodes to the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire_internal.h"

static uint8_t fuzz_again[DP_SETTINGS_BYTES_MAX];
static uint8_t fuzz_frame[DP_FRAME_BYTES_MAX];
static const uint8_t fuzz_secret[32] = "raftnode fuzz secret, 32 bytes!";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_walk(const struct dp_settings *s, const uint8_t *body, size_t body_bytes)
{
	uint32_t at = 0, pairs = 0;
	size_t joined = 0;
	struct dp_setting_pair p;
	while (dp_settings_next(s, &at, &p) == 0) {
		const char *lo = (const char *)body, *hi = lo + body_bytes;
		if (p.name_bytes == 0 || p.value_bytes == 0 || p.name < lo ||
		    p.value + p.value_bytes > hi || ++pairs > s->pairs_count) {
			abort();
		}
		if (joined > 0) {
			fuzz_again[joined++] = ';';
		}
		memcpy(fuzz_again + joined, p.name, p.name_bytes);
		joined += p.name_bytes;
		fuzz_again[joined++] = '=';
		memcpy(fuzz_again + joined, p.value, p.value_bytes);
		joined += p.value_bytes;
	}
	if (pairs != s->pairs_count || joined != body_bytes ||
	    memcmp(fuzz_again, body, body_bytes) != 0) {
		abort();
	}
}

static void fuzz_frame_roundtrip(const uint8_t *body, size_t body_bytes, size_t frame_bytes)
{
	struct dp_wire_config cfg = {.cluster_id = 0xc1, .self_id = 1, .secret = fuzz_secret,
				     .secret_bytes = sizeof(fuzz_secret), .udp_port = 7400};
	struct dp_wire tx, rx;
	struct dp_endpoints a = {.src_ip = 0x0a000001, .dst_ip = 0x0a000002,
				 .src_port = 7400, .dst_port = 7400};
	if (dp_wire_init(&tx, &cfg) != 0) {
		abort();
	}
	cfg.self_id = 2;
	if (dp_wire_init(&rx, &cfg) != 0) {
		abort();
	}
	int n = dp_wire_encode_settings(&tx, &a, 1, 2, (const char *)body, body_bytes, fuzz_frame,
					frame_bytes);
	bool fits = DP_FRAME_OVERHEAD_BYTES + body_bytes <= frame_bytes;
	if ((n > 0) != fits || (n < 0 && n != -DP_ERR_TOO_BIG)) {
		abort();
	}
	struct dp_rx_frame out;
	if (n > 0 && (dp_wire_decode(&rx, fuzz_frame, (size_t)n, NULL, 0, &out) != 0 ||
		      out.type != DP_FRAME_SETTINGS || out.settings.text_bytes != body_bytes ||
		      memcmp(out.settings.text, body, body_bytes) != 0)) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) {
		return 0;
	}
	const uint8_t *body = data + 1;
	size_t body_bytes = size - 1;
	struct dp_settings s;
	if (dp_settings_decode(body, body_bytes, &s) != 0) {
		return 0;
	}
	if (s.text_bytes != body_bytes || s.pairs_count == 0 ||
	    s.pairs_count > DP_SETTINGS_PAIRS_MAX) {
		abort();
	}
	fuzz_walk(&s, body, body_bytes);
	int n = dp_settings_body(s.text, s.text_bytes, fuzz_again, sizeof(fuzz_again));
	if (n < 0 || (size_t)n != body_bytes || memcmp(fuzz_again, body, body_bytes) != 0) {
		abort();
	}
	fuzz_frame_roundtrip(body, body_bytes, DP_FRAME_OVERHEAD_BYTES + 4u * data[0]);
	return 0;
}
