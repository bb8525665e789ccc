/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_wire_reject.c - every class of bad frame is dropped with
 * its own reason and counted once, and nothing else is counted.
 *
 * Method: start from a valid frame, break one thing, and when the broken
 * field sits behind the tag, re-seal the frame (t_reseal) or build it with
 * the internal sealer (raw_frame), so that the check under test - not the
 * tag - is what rejects it. Each case checks the return code, that exactly
 * the counter of that reason moved by one, and that the codec accepted
 * nothing.
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

static uint8_t frame[DP_FRAME_BYTES_MAX + 64];
static struct raft_entry entries[T_ENTRIES_MAX];
static struct dp_wire tx, rx;

static int setup(void **state)
{
	(void)state;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	memset(frame, 0, sizeof(frame));
	return 0;
}

/* Decodes and checks that exactly reason's counter moved. */
static void expect_drop(size_t frame_bytes, int reason, uint32_t entries_max)
{
	struct dp_wire_counters before = rx.counters;
	struct dp_rx_frame out;
	int rc = dp_wire_decode(&rx, frame, frame_bytes, entries, entries_max, &out);
	assert_int_equal(rc, -reason);
	assert_int_equal(rx.counters.frames_accepted, before.frames_accepted);
	assert_int_equal(rx.counters.fragments_accepted, before.fragments_accepted);
	for (int r = DP_ERR_DROP_FIRST; r <= DP_ERR_DROP_LAST; r++) {
		uint64_t expect = dp_wire_dropped(&before, r) + (r == reason ? 1 : 0);
		if (dp_wire_dropped(&rx.counters, r) != expect) {
			fail_msg("reason %d (%s): counter %llu, expected %llu", r, dp_strerror(r),
				 (unsigned long long)dp_wire_dropped(&rx.counters, r),
				 (unsigned long long)expect);
		}
	}
}

/* A frame of `type` with a hand-made body, correctly sealed by tx. */
static size_t raw_frame(uint8_t type, uint64_t term, const uint8_t *body, size_t body_bytes)
{
	struct wire_hdr h = {
		.type = type, .from = 1, .to = 2, .term = term, .msg_seq = 1,
		.body_bytes = (uint32_t)body_bytes, .msg_body_bytes = (uint32_t)body_bytes,
	};
	struct dp_endpoints a;
	t_addr(&a);
	memcpy(frame + WIRE_BODY_OFFSET, body, body_bytes);
	return wire_frame_seal(&tx, &a, &h, frame);
}

static void fix_ip(void)
{
	uint8_t *ip = frame + WIRE_IP_OFFSET;
	wire_st16_be(ip + 10, 0);
	wire_st16_be(ip + 10, wire_ip_checksum(ip));
}

static void test_truncated(void **state)
{
	(void)state;
	size_t n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
	expect_drop(0, DP_ERR_TRUNCATED, 0);
	expect_drop(WIRE_RAFT_OFFSET - 1, DP_ERR_TRUNCATED, 0);
	expect_drop(n - 1, DP_ERR_TRUNCATED, 0); /* IP total length beyond the frame */
	/* Consistent IP/UDP lengths, but no room for raft header + tag. */
	size_t small = DP_IPV4_HDR_BYTES + DP_UDP_HDR_BYTES + DP_RAFT_HDR_BYTES;
	wire_st16_be(frame + WIRE_IP_OFFSET + 2, (uint16_t)small);
	wire_st16_be(frame + WIRE_UDP_OFFSET + 4, (uint16_t)(small - DP_IPV4_HDR_BYTES));
	fix_ip();
	expect_drop(n, DP_ERR_TRUNCATED, 0);
}

static void test_not_raft(void **state)
{
	(void)state;
	size_t n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
	wire_st16_be(frame + 12, 0x0806); /* ARP */
	expect_drop(n, DP_ERR_NOT_RAFT, 0);
	n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
	frame[WIRE_IP_OFFSET + 9] = 6; /* TCP */
	fix_ip();
	expect_drop(n, DP_ERR_NOT_RAFT, 0);
	n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
	wire_st16_be(frame + WIRE_UDP_OFFSET + 2, T_PORT + 1);
	expect_drop(n, DP_ERR_NOT_RAFT, 0);
}

static void test_bad_ip(void **state)
{
	(void)state;
	static const struct {
		size_t at;
		uint8_t value;
	} cases[] = {
		{0, 0x65},    /* version 6 */
		{0, 0x46},    /* IP options */
		{0, 0x44},    /* header shorter than 20 bytes */
		{6, 0x20},    /* more fragments */
		{7, 0x01},    /* fragment offset */
		{2, 0x00},    /* total length high byte 0 -> < 28 */
	};
	for (size_t i = 0; i < RN_ARRAY_COUNT(cases); i++) {
		size_t n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
		frame[WIRE_IP_OFFSET + cases[i].at] = cases[i].value;
		if (cases[i].at == 2) {
			frame[WIRE_IP_OFFSET + 3] = 27;
		}
		fix_ip();
		expect_drop(n, DP_ERR_BAD_IP, 0);
	}
	size_t n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
	frame[WIRE_IP_OFFSET + 10] ^= 1; /* checksum */
	expect_drop(n, DP_ERR_BAD_IP, 0);
}

static void test_bad_udp(void **state)
{
	(void)state;
	for (int delta = -1; delta <= 1; delta += 2) {
		size_t n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
		uint16_t udp_bytes = wire_ld16_be(frame + WIRE_UDP_OFFSET + 4);
		wire_st16_be(frame + WIRE_UDP_OFFSET + 4, (uint16_t)(udp_bytes + delta));
		expect_drop(n, DP_ERR_BAD_UDP, 0);
	}
}

static void test_bad_magic_version_flags(void **state)
{
	(void)state;
	size_t n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
	frame[WIRE_RAFT_OFFSET] ^= 0x20;
	t_reseal(&tx, frame);
	expect_drop(n, DP_ERR_BAD_MAGIC, 0);
	n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
	frame[WIRE_RAFT_OFFSET + offsetof(struct dp_wire_hdr, version)] = DP_WIRE_VERSION + 1;
	t_reseal(&tx, frame);
	expect_drop(n, DP_ERR_BAD_VERSION, 0);
	n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
	wire_st16(frame + WIRE_RAFT_OFFSET + offsetof(struct dp_wire_hdr, flags), 0x8000);
	t_reseal(&tx, frame);
	expect_drop(n, DP_ERR_BAD_VERSION, 0);
}

static void test_wrong_cluster_and_recipient(void **state)
{
	(void)state;
	struct dp_wire other;
	t_wire(&other, 1, T_CLUSTER_ID + 1, t_secret); /* same secret, other cluster */
	size_t n = t_frame(&other, RAFT_MSG_VOTE, frame, sizeof(frame));
	expect_drop(n, DP_ERR_WRONG_CLUSTER, 0);
	/* Its cluster id rewritten to ours: the key differs, so the tag fails. */
	wire_st32(frame + WIRE_RAFT_OFFSET + offsetof(struct dp_wire_hdr, cluster_id),
		  T_CLUSTER_ID);
	expect_drop(n, DP_ERR_BAD_TAG, 0);
	n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
	wire_st32(frame + WIRE_RAFT_OFFSET + offsetof(struct dp_wire_hdr, to), 3);
	t_reseal(&tx, frame);
	expect_drop(n, DP_ERR_WRONG_RECIPIENT, 0);
}

static void set_hdr32(size_t field, uint32_t v)
{
	wire_st32(frame + WIRE_RAFT_OFFSET + field, v);
}

static void test_bad_length(void **state)
{
	(void)state;
	size_t n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
	uint32_t body = DP_VOTE_BYTES;
	set_hdr32(offsetof(struct dp_wire_hdr, body_bytes), body - 1);
	expect_drop(n, DP_ERR_BAD_LENGTH, 0);
	set_hdr32(offsetof(struct dp_wire_hdr, body_bytes), body + 1);
	expect_drop(n, DP_ERR_BAD_LENGTH, 0);
	set_hdr32(offsetof(struct dp_wire_hdr, body_bytes), UINT32_MAX);
	expect_drop(n, DP_ERR_BAD_LENGTH, 0);
	n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
	set_hdr32(offsetof(struct dp_wire_hdr, msg_body_bytes), body + 1);
	t_reseal(&tx, frame);
	expect_drop(n, DP_ERR_BAD_LENGTH, 0);
	n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
	set_hdr32(offsetof(struct dp_wire_hdr, frag_offset_bytes), 1);
	t_reseal(&tx, frame);
	expect_drop(n, DP_ERR_BAD_LENGTH, 0);
	/* A fragment that would end past its message. */
	n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
	wire_st16(frame + WIRE_RAFT_OFFSET + offsetof(struct dp_wire_hdr, flags), DP_HDR_FRAGMENT);
	set_hdr32(offsetof(struct dp_wire_hdr, msg_body_bytes), 100);
	set_hdr32(offsetof(struct dp_wire_hdr, frag_offset_bytes), UINT32_MAX - 5);
	t_reseal(&tx, frame);
	expect_drop(n, DP_ERR_BAD_LENGTH, 0);
	/* The same fragment in range is authenticated and handed on. */
	set_hdr32(offsetof(struct dp_wire_hdr, frag_offset_bytes), 100 - body);
	t_reseal(&tx, frame);
	struct dp_rx_frame out;
	assert_int_equal(dp_wire_decode(&rx, frame, n, NULL, 0, &out), -DP_ERR_FRAGMENT);
	assert_int_equal(rx.counters.fragments_accepted, 1);
}

static void test_bad_tag(void **state)
{
	(void)state;
	/* One flipped bit anywhere in the signed bytes or the tag. */
	size_t n = t_frame(&tx, RAFT_MSG_APPEND, frame, sizeof(frame));
	size_t flipped = 0;
	for (size_t at = WIRE_RAFT_OFFSET + 4; at < n; at++) {
		size_t r = at - WIRE_RAFT_OFFSET;
		if (r == 4 || (r >= 6 && r < 12) || (r >= 16 && r < 24) || (r >= 40 && r < 48) ||
		    (r >= 54 && r < 56)) {
			continue; /* version, flags, cluster, to, lengths, reserved: checked first */
		}
		flipped++;
		frame[at] ^= 0x10;
		expect_drop(n, DP_ERR_BAD_TAG, 0);
		frame[at] ^= 0x10;
	}
	assert_int_equal(flipped, n - WIRE_RAFT_OFFSET - 4 - 1 - 6 - 8 - 8 - 2);
	struct dp_rx_frame out;
	assert_int_equal(dp_wire_decode(&rx, frame, n, entries, T_ENTRIES_MAX, &out), 0);
}

static void test_unknown_type(void **state)
{
	(void)state;
	static const uint8_t types[] = {0, 12, 31, 37, 255}; /* 34, 35: snapshot, 36: settings */
	for (size_t i = 0; i < sizeof(types); i++) {
		size_t n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
		frame[WIRE_RAFT_OFFSET + offsetof(struct dp_wire_hdr, type)] = types[i];
		t_reseal(&tx, frame);
		expect_drop(n, DP_ERR_UNKNOWN_TYPE, 0);
	}
}

/* APPEND body with `count` entries of 4 payload bytes at prev_index 10. */
static size_t append_body(uint8_t *b, uint32_t count)
{
	wire_st64(b, 10);
	wire_st64(b + 8, 4);
	wire_st64(b + 16, 9);
	wire_st32(b + 24, count);
	wire_st32(b + 28, 0);
	size_t at = DP_APPEND_FIXED_BYTES;
	for (uint32_t i = 0; i < count; i++) {
		memset(b + at, 0, DP_APPEND_ENTRY_HDR_BYTES + 4);
		wire_st64(b + at, 11 + i);
		wire_st64(b + at + 8, 5);
		wire_st32(b + at + 16, 4);
		b[at + 20] = RAFT_ENTRY_NORMAL;
		at += DP_APPEND_ENTRY_HDR_BYTES + 4;
	}
	return at;
}

#define E(i, field) (DP_APPEND_FIXED_BYTES + (i) * (DP_APPEND_ENTRY_HDR_BYTES + 4) + (field))

static void test_bad_append_body(void **state)
{
	(void)state;
	uint8_t b[512];
	size_t good = append_body(b, 3);
	assert_true(raw_frame(RAFT_MSG_APPEND, 5, b, good) > 0);
	struct dp_rx_frame out;
	assert_int_equal(dp_wire_decode(&rx, frame, wire_frame_bytes(good), entries, 8, &out), 0);

	struct {
		size_t at;
		uint8_t value;
		int delta_bytes;
	} cases[] = {
		{28, 1, 0},                       /* commit-only flag with entries */
		{28, 2, 0},                       /* unknown append flag */
		{29, 1, 0},                       /* reserved after the flags */
		{31, 1, 0},                       /* reserved after the flags */
		{24, 4, 0},                       /* count says 4, body holds 3 */
		{24, 2, 0},                       /* count says 2: trailing bytes */
		{E(1, 0), 13, 0},                 /* index not consecutive */
		{E(0, 8), 6, 0},                  /* entry term above message term */
		{E(1, 8), 3, 0},                  /* entry term below prev_term */
		{E(2, 8), 4, 0},                  /* term decreases (5, 5, 4) */
		{E(0, 20), 9, 0},                 /* unknown entry type */
		{E(0, 20), RAFT_ENTRY_NOOP, 0},   /* NOOP with payload */
		{E(1, 21), 1, 0},                 /* entry reserved byte */
		{E(2, 16), 5, 0},                 /* payload past the end */
		{E(2, 19), 0x80, 0},              /* payload length huge */
		{8, 6, 0},                        /* prev_term above message term */
		{0, 0, -1},                       /* body one byte short */
		{0, 10, 1},                       /* one trailing byte */
	};
	for (size_t i = 0; i < RN_ARRAY_COUNT(cases); i++) {
		size_t bytes = append_body(b, 3);
		b[cases[i].at] = cases[i].value;
		bytes = (size_t)((int)bytes + cases[i].delta_bytes);
		raw_frame(RAFT_MSG_APPEND, 5, b, bytes);
		expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 8);
	}
	/* Too many entries for any batch, and an index that would wrap. */
	size_t bytes = append_body(b, 0);
	wire_st32(b + 24, RAFT_BATCH_ENTRIES_MAX + 1);
	raw_frame(RAFT_MSG_APPEND, 5, b, bytes);
	expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, T_ENTRIES_MAX);
	bytes = append_body(b, 1);
	wire_st64(b, UINT64_MAX);
	raw_frame(RAFT_MSG_APPEND, 5, b, bytes);
	expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 8);
	/* A first entry of term 0 (no entry has term 0). */
	bytes = append_body(b, 1);
	wire_st64(b, 0);
	wire_st64(b + 8, 0);
	wire_st64(b + E(0, 0), 1);
	wire_st64(b + E(0, 8), 0);
	raw_frame(RAFT_MSG_APPEND, 5, b, bytes);
	expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 8);
	/* More entries than the receiver's array: its own reason. */
	bytes = append_body(b, 3);
	raw_frame(RAFT_MSG_APPEND, 5, b, bytes);
	expect_drop(wire_frame_bytes(bytes), DP_ERR_TOO_MANY_ENTRIES, 2);
}

/* An APPEND of one config entry (8 + 24 bytes of record) at index 11. */
static size_t conf_body(uint8_t *b, uint64_t value, const struct dp_member_addr *addr)
{
	wire_st64(b, 10);
	wire_st64(b + 8, 4);
	wire_st64(b + 16, 9);
	wire_st32(b + 24, 1);
	wire_st32(b + 28, 0);
	size_t at = DP_APPEND_FIXED_BYTES;
	memset(b + at, 0, DP_APPEND_ENTRY_HDR_BYTES);
	wire_st64(b + at, 11);
	wire_st64(b + at + 8, 5);
	wire_st32(b + at + 16, DP_CONF_ENTRY_BYTES);
	b[at + 20] = RAFT_ENTRY_CONFIG;
	at += DP_APPEND_ENTRY_HDR_BYTES;
	wire_st64(b + at, value);
	memset(b + at + 8, 0, DP_MEMBER_ADDR_BYTES);
	if (addr != NULL) {
		dp_member_addr_encode(addr, b + at + 8);
	}
	return at + DP_CONF_ENTRY_BYTES;
}

#define C(field) (DP_APPEND_FIXED_BYTES + DP_APPEND_ENTRY_HDR_BYTES + (field))

static void test_bad_config_entry(void **state)
{
	(void)state;
	uint8_t b[512];
	struct dp_member_addr addr = {.ip = 0x0a4d0004, .udp_port = 9000, .mac_auto = true, .host = 1};
	uint64_t add = RAFT_CONF_PAYLOAD(RAFT_CONF_ADD_LEARNER, 4);
	struct dp_rx_frame out;
	size_t good = conf_body(b, add, &addr);
	raw_frame(RAFT_MSG_APPEND, 5, b, good);
	assert_int_equal(dp_wire_decode(&rx, frame, wire_frame_bytes(good), entries, 8, &out), 0);
	assert_int_equal(entries[0].payload, add);
	assert_int_equal(entries[0].payload_bytes, 0);
	good = conf_body(b, RAFT_CONF_PAYLOAD(RAFT_CONF_REMOVE, 2), NULL);
	raw_frame(RAFT_MSG_APPEND, 5, b, good);
	assert_int_equal(dp_wire_decode(&rx, frame, wire_frame_bytes(good), entries, 8, &out), 0);

	struct {
		uint64_t value;
		bool with_addr;
		size_t at; /* a byte to set (0: none) */
		uint8_t byte;
	} cases[] = {
		{RAFT_CONF_PAYLOAD(0, 4), true, 0, 0},		   /* op 0 */
		{RAFT_CONF_PAYLOAD(5, 4), false, 0, 0},		   /* unknown op */
		{RAFT_CONF_PAYLOAD(RAFT_CONF_ADD_LEARNER, 0), true, 0, 0}, /* id 0 */
		{RAFT_CONF_PAYLOAD(RAFT_CONF_REMOVE, 0), false, 0, 0},	   /* id 0 */
		{add | (1ull << 40), true, 0, 0},		   /* bits above the op */
		{add, false, 0, 0},				   /* add without an address */
		{RAFT_CONF_PAYLOAD(RAFT_CONF_PROMOTE, 4), true, 0, 0},	   /* promote with one */
		{add, true, C(8 + 6), 2},			   /* unknown address flag */
		{add, true, C(8 + 7), 1},			   /* reserved byte */
		{add, true, C(8 + 8), 2},			   /* mac with mac auto */
		{add, true, C(8 + 20), 1},			   /* trailing reserved */
	};
	for (size_t i = 0; i < RN_ARRAY_COUNT(cases); i++) {
		size_t bytes = conf_body(b, cases[i].value, cases[i].with_addr ? &addr : NULL);
		if (cases[i].at != 0) {
			b[cases[i].at] = cases[i].byte;
		}
		raw_frame(RAFT_MSG_APPEND, 5, b, bytes);
		expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 8);
	}
	/* Port 0 and ip 0. */
	size_t bytes = conf_body(b, add, &addr);
	b[C(8 + 4)] = 0;
	b[C(8 + 5)] = 0;
	raw_frame(RAFT_MSG_APPEND, 5, b, bytes);
	expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 8);
	bytes = conf_body(b, add, &addr);
	memset(b + C(8), 0, 4);
	raw_frame(RAFT_MSG_APPEND, 5, b, bytes);
	expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 8);
	/* A record of the wrong length: one byte short, one byte more. */
	for (int delta = -1; delta <= 1; delta += 2) {
		bytes = conf_body(b, add, &addr);
		wire_st32(b + C(0) - DP_APPEND_ENTRY_HDR_BYTES + 16,
			  (uint32_t)((int)DP_CONF_ENTRY_BYTES + delta));
		bytes = (size_t)((int)bytes + delta);
		raw_frame(RAFT_MSG_APPEND, 5, b, bytes);
		expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 8);
	}
}

static void test_bad_fixed_bodies(void **state)
{
	(void)state;
	static const struct {
		uint8_t type;
		size_t bytes;
		size_t at; /* byte set to `value`, or SIZE_MAX for none */
		uint8_t value;
	} cases[] = {
		{RAFT_MSG_APPEND_RESP, DP_APPEND_RESP_BYTES, 0, 2},
		{RAFT_MSG_APPEND_RESP, DP_APPEND_RESP_BYTES, 3, 1},
		{RAFT_MSG_APPEND_RESP, DP_APPEND_RESP_BYTES - 1, SIZE_MAX, 0},
		{RAFT_MSG_VOTE, DP_VOTE_BYTES, 16, 2},
		{RAFT_MSG_VOTE, DP_VOTE_BYTES, 23, 1},
		{RAFT_MSG_PREVOTE, DP_VOTE_BYTES + 1, SIZE_MAX, 0},
		{RAFT_MSG_VOTE_RESP, DP_VOTE_RESP_BYTES, 0, 0xff},
		{RAFT_MSG_PREVOTE_RESP, DP_VOTE_RESP_BYTES, 7, 1},
		{RAFT_MSG_HEARTBEAT, DP_HEARTBEAT_BYTES - 8, SIZE_MAX, 0},
		{RAFT_MSG_HEARTBEAT_RESP, DP_HEARTBEAT_RESP_BYTES + 8, SIZE_MAX, 0},
		{RAFT_MSG_TIMEOUT_NOW, 1, SIZE_MAX, 0},
		{RAFT_MSG_READ_INDEX, 0, SIZE_MAX, 0},
		{RAFT_MSG_READ_INDEX_RESP, DP_READ_INDEX_RESP_BYTES - 1, SIZE_MAX, 0},
		{RAFT_MSG_APPEND, DP_APPEND_FIXED_BYTES - 1, SIZE_MAX, 0},
	};
	uint8_t b[64];
	for (size_t i = 0; i < RN_ARRAY_COUNT(cases); i++) {
		memset(b, 0, sizeof(b));
		if (cases[i].at != SIZE_MAX) {
			b[cases[i].at] = cases[i].value;
		}
		raw_frame(cases[i].type, 5, b, cases[i].bytes);
		expect_drop(wire_frame_bytes(cases[i].bytes), DP_ERR_BAD_BODY, 8);
	}
}

/* Client request item at b: op, key/value/expect lengths; bytes follow. */
static size_t request_item(uint8_t *b, uint8_t op, uint32_t key, uint32_t value, uint32_t expect)
{
	memset(b, 0, DP_CLIENT_REQUEST_FIXED_BYTES);
	wire_st64(b, 1);
	wire_st64(b + 8, 1);
	b[16] = op;
	wire_st32(b + 20, key);
	wire_st32(b + 24, value);
	wire_st32(b + 28, expect);
	return DP_CLIENT_REQUEST_FIXED_BYTES + (size_t)(uint32_t)(key + value + expect);
}

/* A client frame's body of one request: batch header (count 1), item. */
#define HDR DP_CLIENT_BATCH_HDR_BYTES
static size_t request_body(uint8_t *b, uint8_t op, uint32_t key, uint32_t value, uint32_t expect)
{
	wire_batch_hdr_encode(b, 1);
	return HDR + request_item(b + HDR, op, key, value, expect);
}

static void test_bad_client_bodies(void **state)
{
	(void)state;
	static uint8_t b[1024];
	struct dp_rx_frame out;
	size_t bytes = request_body(b, DP_CLIENT_PUT, 4, 8, 0);
	raw_frame(DP_FRAME_CLIENT_REQUEST, 0, b, bytes);
	assert_int_equal(dp_wire_decode(&rx, frame, wire_frame_bytes(bytes), NULL, 0, &out), 0);

	static const struct {
		uint8_t op;
		uint32_t key, value, expect;
	} cases[] = {
		{0, 4, 0, 0},
		{DP_CLIENT_OP_LAST + 1, 4, 0, 0},
		{DP_CLIENT_GET, 0, 0, 0},
		{DP_CLIENT_GET, DP_CLIENT_KEY_BYTES_MAX + 1, 0, 0},
		{DP_CLIENT_GET, 4, 1, 0},
		{DP_CLIENT_DELETE, 4, 0, 1},
		{DP_CLIENT_PUT, 4, 8, 2},
		{DP_CLIENT_TRANSFER, 6, 3, 0},
		{DP_CLIENT_STATUS, 6, 1, 0},
	};
	for (size_t i = 0; i < RN_ARRAY_COUNT(cases); i++) {
		bytes = request_body(b, cases[i].op, cases[i].key, cases[i].value, cases[i].expect);
		raw_frame(DP_FRAME_CLIENT_REQUEST, 0, b, bytes);
		expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 0);
	}
	/* Lengths that only add up modulo 2^32. */
	bytes = request_body(b, DP_CLIENT_CAS, 4, 0xfffffff0u, 0x20u);
	assert_int_equal(bytes, HDR + DP_CLIENT_REQUEST_FIXED_BYTES + 0x14);
	raw_frame(DP_FRAME_CLIENT_REQUEST, 0, b, bytes);
	expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 0);
	/* Reserved byte, and a body longer than its lengths. */
	bytes = request_body(b, DP_CLIENT_GET, 4, 0, 0);
	b[HDR + 18] = 1;
	raw_frame(DP_FRAME_CLIENT_REQUEST, 0, b, bytes);
	expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 0);
	/* An unknown request flag. */
	bytes = request_body(b, DP_CLIENT_GET, 4, 0, 0);
	b[HDR + 17] = 0x80;
	raw_frame(DP_FRAME_CLIENT_REQUEST, 0, b, bytes);
	expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 0);
	bytes = request_body(b, DP_CLIENT_GET, 4, 0, 0);
	raw_frame(DP_FRAME_CLIENT_REQUEST, 0, b, bytes + 1);
	expect_drop(wire_frame_bytes(bytes + 1), DP_ERR_BAD_BODY, 0);
	raw_frame(DP_FRAME_CLIENT_REQUEST, 0, b, HDR + DP_CLIENT_REQUEST_FIXED_BYTES - 1);
	expect_drop(wire_frame_bytes(HDR + DP_CLIENT_REQUEST_FIXED_BYTES - 1), DP_ERR_BAD_BODY, 0);

	/* Replies: unknown status, reserved bytes, value length. */
	for (int c = 0; c < 4; c++) {
		wire_batch_hdr_encode(b, 1);
		uint8_t *it = b + HDR;
		memset(it, 0, DP_CLIENT_REPLY_FIXED_BYTES + 8);
		wire_st32(it + 24, 8);
		bytes = HDR + DP_CLIENT_REPLY_FIXED_BYTES + 8;
		if (c == 0) {
			it[16] = DP_CLIENT_STATUS_LAST + 1;
		} else if (c == 1) {
			it[29] = 1;
		} else if (c == 2) {
			it[17] = 1;
		} else {
			wire_st32(it + 24, 9);
		}
		raw_frame(DP_FRAME_CLIENT_REPLY, 0, b, bytes);
		expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 0);
	}
}

/* Batches: the header's count and reserved bytes, and every item's
 * lengths against what is left of the body. */
static void test_bad_client_batches(void **state)
{
	(void)state;
	static uint8_t b[1024];
	struct dp_rx_frame out;
	/* Three good requests: accepted, all three walked. */
	size_t bytes = HDR;
	for (int i = 0; i < 3; i++) {
		bytes += request_item(b + bytes, DP_CLIENT_PUT, 4, (uint32_t)i, 0);
	}
	wire_batch_hdr_encode(b, 3);
	raw_frame(DP_FRAME_CLIENT_REQUEST, 0, b, bytes);
	assert_int_equal(dp_wire_decode(&rx, frame, wire_frame_bytes(bytes), NULL, 0, &out), 0);
	assert_int_equal(out.batch.count, 3);
	uint32_t at = 0;
	struct dp_client_request req;
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(dp_client_batch_next_request(&out.batch, &at, &req), 0);
		assert_int_equal(req.value_bytes, i);
	}
	assert_int_equal(at, out.batch.items_bytes);
	assert_int_equal(dp_client_batch_next_request(&out.batch, &at, &req), -DP_ERR_INVALID);
	/* The count says more items than there are, or fewer. */
	wire_batch_hdr_encode(b, 4);
	raw_frame(DP_FRAME_CLIENT_REQUEST, 0, b, bytes);
	expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 0);
	wire_batch_hdr_encode(b, 2);
	raw_frame(DP_FRAME_CLIENT_REQUEST, 0, b, bytes);
	expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 0);
	/* Count 0 (an empty batch is no frame), reserved header bytes. */
	wire_st16(b, 0);
	raw_frame(DP_FRAME_CLIENT_REQUEST, 0, b, HDR);
	expect_drop(wire_frame_bytes(HDR), DP_ERR_BAD_BODY, 0);
	wire_batch_hdr_encode(b, 3);
	b[3] = 1;
	raw_frame(DP_FRAME_CLIENT_REQUEST, 0, b, bytes);
	expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 0);
	b[3] = 0;
	/* The last item's value runs past the body by one byte. */
	wire_st32(b + bytes - (DP_CLIENT_REQUEST_FIXED_BYTES + 4 + 2) + 24, 3);
	raw_frame(DP_FRAME_CLIENT_REQUEST, 0, b, bytes);
	expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 0);
	/* The second item is bad, the others good. */
	bytes = HDR;
	for (int i = 0; i < 3; i++) {
		bytes += request_item(b + bytes, i == 1 ? 0 : DP_CLIENT_GET, 4, 0, 0);
	}
	raw_frame(DP_FRAME_CLIENT_REQUEST, 0, b, bytes);
	expect_drop(wire_frame_bytes(bytes), DP_ERR_BAD_BODY, 0);
	/* A body shorter than the batch header. */
	raw_frame(DP_FRAME_CLIENT_REPLY, 0, b, HDR - 1);
	expect_drop(wire_frame_bytes(HDR - 1), DP_ERR_BAD_BODY, 0);
}

/* Each reason has its own counter and name. */
static void test_reasons_named(void **state)
{
	(void)state;
	for (int r = DP_ERR_DROP_FIRST; r <= DP_ERR_DROP_LAST; r++) {
		assert_string_not_equal(dp_strerror(-r), "unknown error");
		for (int q = DP_ERR_DROP_FIRST; q < r; q++) {
			assert_string_not_equal(dp_strerror(-r), dp_strerror(-q));
		}
	}
	assert_int_equal(dp_wire_dropped(&rx.counters, DP_ERR_INVALID), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_truncated, setup),
		cmocka_unit_test_setup(test_not_raft, setup),
		cmocka_unit_test_setup(test_bad_ip, setup),
		cmocka_unit_test_setup(test_bad_udp, setup),
		cmocka_unit_test_setup(test_bad_magic_version_flags, setup),
		cmocka_unit_test_setup(test_wrong_cluster_and_recipient, setup),
		cmocka_unit_test_setup(test_bad_length, setup),
		cmocka_unit_test_setup(test_bad_tag, setup),
		cmocka_unit_test_setup(test_unknown_type, setup),
		cmocka_unit_test_setup(test_bad_append_body, setup),
		cmocka_unit_test_setup(test_bad_config_entry, setup),
		cmocka_unit_test_setup(test_bad_fixed_bodies, setup),
		cmocka_unit_test_setup(test_bad_client_bodies, setup),
		cmocka_unit_test_setup(test_bad_client_batches, setup),
		cmocka_unit_test_setup(test_reasons_named, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
