/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_wire_snap.c - the snapshot transfer frames (chunk, ack)
 * survive encode and decode, and every bad field is dropped and counted.
 *
 * Method: node 1's codec seals chunks (full jumbo, a 1518-byte DPDK frame,
 * a probe) and acks of every reason; node 2's decodes them through
 * dp_wire_decode (framing, tag, body) and the fields are compared, data
 * byte by byte. Then each body field is broken in place and the frame
 * resealed (t_reseal), so the decoder's own check, not the tag, must drop
 * it: each drop is DP_ERR_BAD_BODY and counted in dropped[]. Encoders
 * refuse what decoders refuse and what does not fit the frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"
#include "wire_internal.h"
#include "wire_util.h"

static uint8_t frame[DP_FRAME_BYTES_MAX];
static uint8_t data[DP_SNAP_DATA_BYTES_MAX];

static const struct dp_snap_id t_id = {.index = 1000, .term = 3, .total_bytes = 5u << 20,
				       .crc32c = 0xdeadbeefu};

static void fill_data(void)
{
	for (uint32_t i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)(i * 131u + 7u);
	}
}

static void check_id(const struct dp_snap_id *a, const struct dp_snap_id *b)
{
	assert_int_equal(a->index, b->index);
	assert_int_equal(a->term, b->term);
	assert_int_equal(a->total_bytes, b->total_bytes);
	assert_int_equal(a->crc32c, b->crc32c);
}

/* Seals c from 1 to 2 in frames of frame_bytes_max; decodes it on 2. */
static void roundtrip_chunk(const struct dp_snap_chunk *c, size_t frame_bytes_max)
{
	struct dp_wire tx, rx;
	struct dp_endpoints a;
	struct dp_rx_frame out;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	t_addr(&a);
	int n = dp_wire_encode_snap_chunk(&tx, &a, 9, 2, 7, c, frame, frame_bytes_max);
	assert_true(n > 0);
	assert_true((size_t)n <= frame_bytes_max);
	assert_int_equal(dp_wire_decode(&rx, frame, (size_t)n, NULL, 0, &out), 0);
	assert_int_equal(out.type, DP_FRAME_SNAP_CHUNK);
	check_id(&c->id, &out.snap_chunk.id);
	assert_int_equal(out.snap_chunk.offset_bytes, c->offset_bytes);
	assert_int_equal(out.snap_chunk.data_bytes, c->data_bytes);
	if (c->data_bytes > 0) {
		assert_memory_equal(out.snap_chunk.data, c->data, c->data_bytes);
	}
	assert_int_equal(rx.counters.frames_accepted, 1);
}

static void test_chunk_roundtrip(void **state)
{
	(void)state;
	fill_data();
	/* A jumbo frame carries DP_SNAP_DATA_BYTES_MAX exactly. */
	assert_int_equal(dp_snap_data_bytes_max(DP_FRAME_BYTES_MAX), DP_SNAP_DATA_BYTES_MAX);
	struct dp_snap_chunk c = {.id = t_id, .offset_bytes = 8844u * 3, .data = data,
				  .data_bytes = DP_SNAP_DATA_BYTES_MAX};
	roundtrip_chunk(&c, DP_FRAME_BYTES_MAX);
	/* A DPDK virtual device's 1518-byte frame. */
	c.data_bytes = dp_snap_data_bytes_max(1518);
	assert_int_equal(c.data_bytes, 1518 - DP_FRAME_OVERHEAD_BYTES - DP_SNAP_CHUNK_FIXED_BYTES);
	roundtrip_chunk(&c, 1518);
	/* The last chunk ends at the file's end; a probe carries nothing. */
	c.offset_bytes = t_id.total_bytes - 100;
	c.data_bytes = 100;
	roundtrip_chunk(&c, DP_FRAME_BYTES_MAX);
	c.offset_bytes = t_id.total_bytes;
	c.data_bytes = 0;
	c.data = NULL;
	roundtrip_chunk(&c, DP_FRAME_BYTES_MAX);
}

static void test_ack_roundtrip(void **state)
{
	(void)state;
	struct dp_wire tx, rx;
	struct dp_endpoints a;
	struct dp_rx_frame out;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	t_addr(&a);
	for (uint8_t reason = 0; reason <= DP_SNAP_ACK_REASON_LAST; reason++) {
		struct dp_snap_ack k = {.id = t_id, .acked_bytes = 4096u * reason,
					.window_bytes = 65536u + reason, .reason = reason};
		int n = dp_wire_encode_snap_ack(&tx, &a, 3, 2, 5, &k, frame, sizeof(frame));
		assert_int_equal(n, DP_FRAME_OVERHEAD_BYTES + DP_SNAP_ACK_BYTES);
		assert_int_equal(dp_wire_decode(&rx, frame, (size_t)n, NULL, 0, &out), 0);
		assert_int_equal(out.type, DP_FRAME_SNAP_ACK);
		check_id(&k.id, &out.snap_ack.id);
		assert_int_equal(out.snap_ack.acked_bytes, k.acked_bytes);
		assert_int_equal(out.snap_ack.window_bytes, k.window_bytes);
		assert_int_equal(out.snap_ack.reason, reason);
	}
}

/* Encoders refuse bodies the decoder would drop, and frames too big. */
static void test_encode_refuses(void **state)
{
	(void)state;
	struct dp_wire tx;
	struct dp_endpoints a;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_addr(&a);
	fill_data();
	struct dp_snap_chunk c = {.id = t_id, .offset_bytes = 0, .data = data,
				  .data_bytes = DP_SNAP_DATA_BYTES_MAX};
	assert_int_equal(dp_wire_encode_snap_chunk(&tx, &a, 1, 2, 7, &c, frame, 1518),
			 -DP_ERR_TOO_BIG);
	assert_int_equal(dp_wire_encode_snap_chunk(&tx, &a, 1, 2, 7, &c, frame, 40),
			 -DP_ERR_TOO_BIG);
	c.data_bytes = 10;
	c.offset_bytes = t_id.total_bytes - 9; /* past the file's end */
	assert_int_equal(dp_wire_encode_snap_chunk(&tx, &a, 1, 2, 7, &c, frame, sizeof(frame)),
			 -DP_ERR_INVALID);
	c.offset_bytes = 0;
	assert_int_equal(dp_wire_encode_snap_chunk(&tx, &a, 1, 2, 2, &c, frame, sizeof(frame)),
			 -DP_ERR_INVALID); /* the snapshot's term above the header's */
	struct dp_snap_ack k = {.id = t_id, .acked_bytes = t_id.total_bytes + 1};
	assert_int_equal(dp_wire_encode_snap_ack(&tx, &a, 1, 2, 7, &k, frame, sizeof(frame)),
			 -DP_ERR_INVALID);
	k.acked_bytes = 0;
	k.reason = DP_SNAP_ACK_REASON_LAST + 1;
	assert_int_equal(dp_wire_encode_snap_ack(&tx, &a, 1, 2, 7, &k, frame, sizeof(frame)),
			 -DP_ERR_INVALID);
}

/* A valid chunk (ack when `ack`) frame in `frame`; returns its bytes. */
static size_t good_frame(const struct dp_wire *tx, bool ack)
{
	struct dp_endpoints a;
	t_addr(&a);
	if (ack) {
		struct dp_snap_ack k = {.id = t_id, .acked_bytes = 100, .window_bytes = 1000};
		return (size_t)dp_wire_encode_snap_ack(tx, &a, 1, 2, 7, &k, frame, sizeof(frame));
	}
	struct dp_snap_chunk c = {.id = t_id, .offset_bytes = 100, .data = data, .data_bytes = 64};
	return (size_t)dp_wire_encode_snap_chunk(tx, &a, 1, 2, 7, &c, frame, sizeof(frame));
}

struct snap_break {
	const char *what;
	bool ack;
	uint32_t at;	/* body offset */
	uint8_t bytes;	/* 1, 4 or 8 */
	uint64_t value;
};

static void test_bad_fields_dropped(void **state)
{
	(void)state;
	static const struct snap_break breaks[] = {
		{"chunk index 0", false, 0, 8, 0},
		{"chunk snapshot term 0", false, 8, 8, 0},
		{"chunk snapshot term above the header's", false, 8, 8, 8},
		{"chunk total 0", false, 16, 8, 0},
		{"chunk id reserved", false, 28, 1, 1},
		{"chunk past the end", false, 32, 8, (5u << 20) - 63},
		{"chunk offset huge", false, 32, 8, UINT64_MAX - 10},
		{"chunk data_bytes short of the body", false, 40, 4, 63},
		{"chunk data_bytes past the body", false, 40, 4, 65},
		{"chunk data_bytes huge", false, 40, 4, UINT32_MAX},
		{"chunk reserved", false, 44, 1, 1},
		{"ack index 0", true, 0, 8, 0},
		{"ack total 0", true, 16, 8, 0},
		{"ack acked past the end", true, 32, 8, (5u << 20) + 1},
		{"ack unknown reason", true, 44, 1, DP_SNAP_ACK_REASON_LAST + 1},
		{"ack reserved", true, 46, 1, 1},
	};
	struct dp_wire tx, rx;
	struct dp_rx_frame out;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	fill_data();
	for (size_t i = 0; i < RN_ARRAY_COUNT(breaks); i++) {
		const struct snap_break *b = &breaks[i];
		size_t n = good_frame(&tx, b->ack);
		uint8_t *p = frame + WIRE_BODY_OFFSET + b->at;
		if (b->bytes == 8) {
			wire_st64(p, b->value);
		} else if (b->bytes == 4) {
			wire_st32(p, (uint32_t)b->value);
		} else {
			p[0] = (uint8_t)b->value;
		}
		t_reseal(&tx, frame);
		int rc = dp_wire_decode(&rx, frame, n, NULL, 0, &out);
		if (rc != -DP_ERR_BAD_BODY) {
			fail_msg("%s: rc %d", b->what, rc);
		}
		assert_int_equal(dp_wire_dropped(&rx.counters, rc), i + 1);
	}
	assert_int_equal(rx.counters.frames_accepted, 0);
	/* An ack body one byte longer: the frame's lengths agree, the body not. */
	size_t n = good_frame(&tx, true);
	struct dp_snap_ack k;
	assert_int_equal(dp_snap_ack_decode(7, frame + WIRE_BODY_OFFSET, DP_SNAP_ACK_BYTES + 1, &k),
			 -DP_ERR_BAD_BODY);
	assert_int_equal(dp_snap_ack_decode(7, frame + WIRE_BODY_OFFSET, DP_SNAP_ACK_BYTES - 1, &k),
			 -DP_ERR_BAD_BODY);
	/* A flipped data bit without the key: the tag drops it. */
	n = good_frame(&tx, false);
	frame[n - DP_TAG_BYTES - 1] ^= 1;
	assert_int_equal(dp_wire_decode(&rx, frame, n, NULL, 0, &out), -DP_ERR_BAD_TAG);
	assert_int_equal(dp_wire_dropped(&rx.counters, DP_ERR_BAD_TAG), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunk_roundtrip),
		cmocka_unit_test(test_ack_roundtrip),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_bad_fields_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
