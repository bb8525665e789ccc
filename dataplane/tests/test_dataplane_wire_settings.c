/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_wire_settings.c - the SETTINGS frame (a node's agreed
 * settings as "name=value;..." text) survives encode and decode with the
 * header's fingerprint, its pairs come back one by one, and every body the
 * format refuses is dropped as DP_ERR_BAD_BODY and counted.
 *
 * Method: node 1's codec seals a settings text (its settings_fp set) and
 * node 2's decodes it through dp_wire_decode; the pairs are walked. Then
 * bad bodies (empty name or value, a stray byte, too many pairs, too long)
 * are written in place and resealed (t_reseal), so the body check, not
 * the tag, must drop them; the encoder refuses the same texts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"
#include "wire_internal.h"
#include "wire_util.h"

static uint8_t frame[DP_FRAME_BYTES_MAX];

static const char t_text[] = "wire_version=6;id=7;kv_value_bytes_max=4096";

static void test_settings_roundtrip(void **state)
{
	(void)state;
	struct dp_wire tx, rx;
	struct dp_endpoints a;
	struct dp_rx_frame out;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	tx.settings_fp = 0x1122334455667788ull;
	t_addr(&a);
	int n = dp_wire_encode_settings(&tx, &a, 5, 2, t_text, strlen(t_text), frame,
					sizeof(frame));
	assert_int_equal(n, (int)(DP_FRAME_OVERHEAD_BYTES + strlen(t_text)));
	assert_int_equal(dp_wire_decode(&rx, frame, (size_t)n, NULL, 0, &out), 0);
	assert_int_equal(out.type, DP_FRAME_SETTINGS);
	assert_int_equal(out.settings.from, 1);
	assert_int_equal(out.settings_fp, 0x1122334455667788ull);
	assert_int_equal(out.settings.pairs_count, 3);
	assert_int_equal(out.settings.text_bytes, strlen(t_text));
	static const char *const names[] = {"wire_version", "id", "kv_value_bytes_max"};
	static const char *const values[] = {"6", "7", "4096"};
	uint32_t at = 0;
	struct dp_setting_pair p;
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(dp_settings_next(&out.settings, &at, &p), 0);
		assert_int_equal(p.name_bytes, strlen(names[i]));
		assert_memory_equal(p.name, names[i], p.name_bytes);
		assert_int_equal(p.value_bytes, strlen(values[i]));
		assert_memory_equal(p.value, values[i], p.value_bytes);
	}
	assert_int_equal(dp_settings_next(&out.settings, &at, &p), -1);
	assert_int_equal(rx.counters.frames_accepted, 1);
	/* A frame too small for the text. */
	assert_int_equal(dp_wire_encode_settings(&tx, &a, 6, 2, t_text, strlen(t_text), frame,
						 DP_FRAME_OVERHEAD_BYTES + 4),
			 -DP_ERR_TOO_BIG);
}

/* Each bad body, in a frame resealed around it: dropped and counted. */
static void test_settings_bad_bodies(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "=", "a=", "=1", "a", "a=1;", ";a=1", "a=1;;b=2", "a==1", "a=1=2",
		"A=1", "a=1 ", "a-b=1", "a=\n", "a=1;b",
	};
	struct dp_wire tx, rx;
	struct dp_endpoints a;
	struct dp_rx_frame out;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	t_addr(&a);
	uint8_t body[DP_SETTINGS_BYTES_MAX + 8];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]);
		assert_int_equal(dp_settings_body(bad[i], len, body, sizeof(body)), -DP_ERR_INVALID);
		assert_int_equal(dp_settings_decode((const uint8_t *)bad[i], len, &out.settings),
				 -DP_ERR_BAD_BODY);
		if (len == 0) {
			continue;
		}
		/* The same length of good text, sealed, then overwritten. */
		char good[64];
		memset(good, 'x', len);
		good[0] = 'x';
		if (len >= 3) {
			good[1] = '=';
		} else {
			continue; /* too short for a good pair of that length */
		}
		int n = dp_wire_encode_settings(&tx, &a, 7, 2, good, len, frame, sizeof(frame));
		assert_true(n > 0);
		memcpy(frame + WIRE_BODY_OFFSET, bad[i], len);
		t_reseal(&tx, frame);
		uint64_t before = dp_wire_dropped(&rx.counters, DP_ERR_BAD_BODY);
		assert_int_equal(dp_wire_decode(&rx, frame, (size_t)n, NULL, 0, &out), -DP_ERR_BAD_BODY);
		assert_int_equal(dp_wire_dropped(&rx.counters, DP_ERR_BAD_BODY), before + 1);
	}
	/* A header term other than 0: no SETTINGS frame. */
	int n = dp_wire_encode_settings(&tx, &a, 8, 2, "id=7", 4, frame, sizeof(frame));
	assert_true(n > 0);
	wire_st64(frame + WIRE_RAFT_OFFSET + offsetof(struct dp_wire_hdr, term), 1);
	t_reseal(&tx, frame);
	assert_int_equal(dp_wire_decode(&rx, frame, (size_t)n, NULL, 0, &out), -DP_ERR_BAD_BODY);
	/* Bounds: DP_SETTINGS_PAIRS_MAX pairs pass, one more does not; so
	 * for DP_SETTINGS_BYTES_MAX bytes. */
	char many[DP_SETTINGS_BYTES_MAX + 2];
	size_t used = 0;
	for (uint32_t i = 0; i < DP_SETTINGS_PAIRS_MAX; i++) {
		used += (size_t)snprintf(many + used, sizeof(many) - used, "%sk%u=1", i ? ";" : "", i);
	}
	assert_int_equal(dp_settings_decode((const uint8_t *)many, used, &out.settings), 0);
	assert_int_equal(out.settings.pairs_count, DP_SETTINGS_PAIRS_MAX);
	snprintf(many + used, sizeof(many) - used, ";z=1");
	assert_int_equal(dp_settings_decode((const uint8_t *)many, used + 4, &out.settings),
			 -DP_ERR_BAD_BODY);
	memset(many, 'a', sizeof(many));
	many[1] = '=';
	assert_int_equal(dp_settings_decode((const uint8_t *)many, DP_SETTINGS_BYTES_MAX,
					    &out.settings), 0);
	assert_int_equal(dp_settings_decode((const uint8_t *)many, DP_SETTINGS_BYTES_MAX + 1,
					    &out.settings), -DP_ERR_BAD_BODY);
	assert_int_equal(dp_settings_decode(NULL, 0, &out.settings), -DP_ERR_BAD_BODY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings_roundtrip),
		cmocka_unit_test(test_settings_bad_bodies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
