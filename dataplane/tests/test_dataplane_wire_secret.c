/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_wire_secret.c - a frame sealed with another secret is never
 * accepted.
 *
 * Method: node 2 holds the cluster secret. Frames of every type, and then
 * 50,000 frames of random types and fields, are sealed by a sender that
 * holds a different secret (same cluster id, same everything else); every
 * one must be dropped as DP_ERR_BAD_TAG. As a control, the same frames
 * sealed with the right secret are all accepted, so the test fails if the
 * decoder simply rejects everything. Then 100,000 random tags are tried on
 * one valid frame: none may pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire_internal.h"
#include "wire_util.h"

static uint8_t frame[DP_FRAME_BYTES_MAX];
static struct raft_entry tx_entries[T_ENTRIES_MAX];
static struct raft_entry rx_entries[T_ENTRIES_MAX];
static const uint8_t *payloads[T_ENTRIES_MAX];

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng_next(void)
{
	/* splitmix64: deterministic, so a failure replays. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Frame i of the sequence: a random raft message or client frame. */
static int random_frame(const struct dp_wire *tx, uint64_t i)
{
	struct dp_endpoints a;
	struct raft_message m;
	t_addr(&a);
	uint8_t kind = (uint8_t)(rng_next() % 13);
	if (kind < 11) {
		uint32_t count = (uint32_t)(rng_next() % 8);
		uint32_t bytes = (uint32_t)(rng_next() % 200);
		t_raft_msg((uint8_t)(kind + 1), count, bytes, &m, tx_entries, payloads);
		m.term = 5 + rng_next() % 1000;
		return dp_wire_encode_raft(tx, &a, i, &m, payloads, frame, sizeof(frame));
	}
	uint8_t key[16];
	for (size_t k = 0; k < sizeof(key); k++) {
		key[k] = (uint8_t)rng_next();
	}
	if (kind == 11) {
		struct dp_client_request req = {.client_id = rng_next(), .request_seq = i,
						.op = DP_CLIENT_GET, .key = key, .key_bytes = 16};
		return dp_wire_encode_request(tx, &a, i, 2, &req, frame, sizeof(frame));
	}
	struct dp_client_reply rep = {.client_id = rng_next(), .request_seq = i,
				      .status = DP_CLIENT_OK, .value = key, .value_bytes = 16};
	return dp_wire_encode_reply(tx, &a, i, 2, &rep, frame, sizeof(frame));
}

/* Sends `count` random frames sealed by tx to rx; returns how many rx took. */
static uint64_t send_random(const struct dp_wire *tx, struct dp_wire *rx, uint64_t seed,
			    uint64_t count)
{
	struct dp_rx_frame out;
	uint64_t accepted = 0;
	rng_state = seed;
	for (uint64_t i = 0; i < count; i++) {
		int n = random_frame(tx, i);
		assert_true(n > 0);
		int rc = dp_wire_decode(rx, frame, (size_t)n, rx_entries, T_ENTRIES_MAX, &out);
		if (rc == 0) {
			accepted++;
		} else {
			assert_int_equal(rc, -DP_ERR_BAD_TAG);
		}
	}
	return accepted;
}

static void test_every_type_other_secret(void **state)
{
	(void)state;
	struct dp_wire good, forger, rx;
	struct dp_rx_frame out;
	t_wire(&good, 1, T_CLUSTER_ID, t_secret);
	t_wire(&forger, 1, T_CLUSTER_ID, t_other_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	for (uint8_t type = RAFT_MSG_APPEND; type <= RAFT_MSG_READ_INDEX_RESP; type++) {
		size_t n = t_frame(&forger, type, frame, sizeof(frame));
		assert_int_equal(dp_wire_decode(&rx, frame, n, rx_entries, T_ENTRIES_MAX, &out),
				 -DP_ERR_BAD_TAG);
		n = t_frame(&good, type, frame, sizeof(frame));
		assert_int_equal(dp_wire_decode(&rx, frame, n, rx_entries, T_ENTRIES_MAX, &out), 0);
	}
	assert_int_equal(dp_wire_dropped(&rx.counters, DP_ERR_BAD_TAG), 11);
	assert_int_equal(rx.counters.frames_accepted, 11);
}

static void test_random_frames_other_secret(void **state)
{
	(void)state;
	struct dp_wire good, forger, rx;
	t_wire(&good, 1, T_CLUSTER_ID, t_secret);
	t_wire(&forger, 1, T_CLUSTER_ID, t_other_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	enum { FRAMES = 50000 };
	assert_int_equal(send_random(&forger, &rx, 42, FRAMES), 0);
	assert_int_equal(dp_wire_dropped(&rx.counters, DP_ERR_BAD_TAG), FRAMES);
	/* Control: the same sequence with the cluster's secret all passes. */
	assert_int_equal(send_random(&good, &rx, 42, FRAMES), FRAMES);
	/* A secret that differs in one bit is another secret. */
	uint8_t near[32];
	memcpy(near, t_secret, sizeof(near));
	near[31] ^= 1;
	t_wire(&forger, 1, T_CLUSTER_ID, near);
	assert_int_equal(send_random(&forger, &rx, 7, 1000), 0);
}

static void test_random_tags(void **state)
{
	(void)state;
	struct dp_wire good, rx;
	struct dp_rx_frame out;
	t_wire(&good, 1, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	size_t n = t_frame(&good, RAFT_MSG_HEARTBEAT, frame, sizeof(frame));
	uint8_t *tag = frame + n - DP_TAG_BYTES;
	uint8_t real[DP_TAG_BYTES];
	memcpy(real, tag, sizeof(real));
	rng_state = 99;
	uint64_t accepted = 0;
	for (int i = 0; i < 100000; i++) {
		wire_st64(tag, rng_next());
		wire_st64(tag + 8, rng_next());
		if (memcmp(tag, real, sizeof(real)) == 0) {
			continue;
		}
		accepted += dp_wire_decode(&rx, frame, n, NULL, 0, &out) == 0;
	}
	assert_int_equal(accepted, 0);
	memcpy(tag, real, sizeof(real));
	assert_int_equal(dp_wire_decode(&rx, frame, n, NULL, 0, &out), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_type_other_secret),
		cmocka_unit_test(test_random_frames_other_secret),
		cmocka_unit_test(test_random_tags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
