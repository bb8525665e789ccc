/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_replay.c - the per-sender anti-replay window (replay.c).
 *
 * Goal: a consensus frame is accepted once per (sender, epoch, msg_seq),
 * in any order inside the window; a duplicate is refused as replayed,
 * one below the window or of an older epoch as too old; a newer epoch
 * resets the sender's window; senders are apart; a full table evicts the
 * sender heard least recently; the ring bitmap survives jumps and wraps.
 * Method: drive dp_replay_admit directly and check every verdict and
 * counter, then compare a long random sequence with a plain model (a set
 * of seen seqs and the highest), and finally run real sealed frames
 * through the decoder into dp_replay_admit_frame (client frames pass
 * unmarked).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane.h"
#include "wire_util.h"

#define W DP_REPLAY_WINDOW_SEQS

static struct dp_replay r;

static int setup(void **state)
{
	(void)state;
	assert_int_equal(dp_replay_init(&r, 4), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dp_replay_fini(&r);
	return 0;
}

static void test_init_bounds(void **state)
{
	(void)state;
	struct dp_replay x;
	assert_int_equal(dp_replay_init(&x, 0), -DP_ERR_INVALID);
	assert_int_equal(dp_replay_init(&x, DP_REPLAY_SENDERS_MAX + 1), -DP_ERR_INVALID);
	assert_int_equal(dp_replay_init(&x, DP_REPLAY_SENDERS_MAX), 0);
	dp_replay_fini(&x);
}

static void test_in_order(void **state)
{
	(void)state;
	for (uint64_t s = 1; s <= 3 * W; s++) {
		assert_int_equal(dp_replay_admit(&r, 1, 100, s), DP_REPLAY_NEW);
	}
	assert_int_equal(r.counters.accepted, 3 * W);
	assert_int_equal(r.counters.replayed + r.counters.too_old, 0);
}

static void test_duplicate(void **state)
{
	(void)state;
	assert_int_equal(dp_replay_admit(&r, 1, 100, 7), DP_REPLAY_NEW);
	assert_int_equal(dp_replay_check(&r, 1, 100, 7), DP_REPLAY_REPLAYED);
	assert_int_equal(dp_replay_admit(&r, 1, 100, 7), DP_REPLAY_REPLAYED);
	assert_int_equal(dp_replay_admit(&r, 1, 100, 8), DP_REPLAY_NEW);
	assert_int_equal(dp_replay_admit(&r, 1, 100, 7), DP_REPLAY_REPLAYED);
	assert_int_equal(dp_replay_admit(&r, 1, 100, 8), DP_REPLAY_REPLAYED);
	assert_int_equal(r.counters.replayed, 3);
	assert_int_equal(r.counters.accepted, 2);
}

/* Reordered inside the window: each accepted once, whatever the order. */
static void test_reordered_inside_window(void **state)
{
	(void)state;
	assert_int_equal(dp_replay_admit(&r, 2, 5, 1000), DP_REPLAY_NEW);
	/* Seqs below the first one heard, down to the window's edge. */
	assert_int_equal(dp_replay_admit(&r, 2, 5, 1000 - 1), DP_REPLAY_NEW);
	assert_int_equal(dp_replay_admit(&r, 2, 5, 1000 - (W - 1)), DP_REPLAY_NEW);
	assert_int_equal(dp_replay_admit(&r, 2, 5, 1000 - W), DP_REPLAY_TOO_OLD);
	/* A gap above, filled late. */
	assert_int_equal(dp_replay_admit(&r, 2, 5, 1010), DP_REPLAY_NEW);
	assert_int_equal(dp_replay_admit(&r, 2, 5, 1005), DP_REPLAY_NEW);
	assert_int_equal(dp_replay_admit(&r, 2, 5, 1003), DP_REPLAY_NEW);
	assert_int_equal(dp_replay_admit(&r, 2, 5, 1005), DP_REPLAY_REPLAYED);
	assert_int_equal(dp_replay_admit(&r, 2, 5, 1010), DP_REPLAY_REPLAYED);
	assert_int_equal(dp_replay_admit(&r, 2, 5, 1000), DP_REPLAY_REPLAYED);
	assert_int_equal(r.counters.accepted, 6);
	assert_int_equal(r.counters.replayed, 3);
	assert_int_equal(r.counters.too_old, 1);
}

static void test_too_old(void **state)
{
	(void)state;
	assert_int_equal(dp_replay_admit(&r, 3, 9, 1), DP_REPLAY_NEW);
	assert_int_equal(dp_replay_admit(&r, 3, 9, 1 + W), DP_REPLAY_NEW);
	/* 1 is exactly W below the top now: out of the window (too old, not
	 * replayed); 2, never seen, is inside (W - 1 below). */
	assert_int_equal(dp_replay_admit(&r, 3, 9, 1), DP_REPLAY_TOO_OLD);
	assert_int_equal(dp_replay_admit(&r, 3, 9, 2), DP_REPLAY_NEW);
	assert_int_equal(dp_replay_admit(&r, 3, 9, 2), DP_REPLAY_REPLAYED);
	assert_int_equal(dp_replay_admit(&r, 3, 9, 0), DP_REPLAY_TOO_OLD);
	assert_int_equal(r.counters.too_old, 2);
	assert_int_equal(r.counters.old_epoch, 0);
}

/* A restart: the newer epoch resets the window (its seqs start low
 * again); the older epoch's frames are refused from then on, even seqs
 * it never sent. */
static void test_new_epoch_resets(void **state)
{
	(void)state;
	for (uint64_t s = 1; s <= 500; s++) {
		assert_int_equal(dp_replay_admit(&r, 1, 100, s), DP_REPLAY_NEW);
	}
	assert_int_equal(dp_replay_admit(&r, 1, 101, 1), DP_REPLAY_NEW);
	assert_int_equal(r.counters.epochs_new, 1);
	assert_int_equal(dp_replay_admit(&r, 1, 101, 2), DP_REPLAY_NEW);
	assert_int_equal(dp_replay_admit(&r, 1, 101, 1), DP_REPLAY_REPLAYED);
	assert_int_equal(dp_replay_admit(&r, 1, 100, 500), DP_REPLAY_TOO_OLD);
	assert_int_equal(dp_replay_admit(&r, 1, 100, 501), DP_REPLAY_TOO_OLD);
	assert_int_equal(dp_replay_check(&r, 1, 99, 1u << 30), DP_REPLAY_TOO_OLD);
	assert_int_equal(r.counters.old_epoch, 2);
	assert_int_equal(r.counters.too_old, 2);
	/* The old epoch's 3..500 do not linger in the new window. */
	assert_int_equal(dp_replay_admit(&r, 1, 101, 300), DP_REPLAY_NEW);
	/* A jump of epochs (a node down for a while) resets as well. */
	assert_int_equal(dp_replay_admit(&r, 1, 5000, 1), DP_REPLAY_NEW);
	assert_int_equal(r.counters.epochs_new, 2);
}

static void test_senders_apart(void **state)
{
	(void)state;
	assert_int_equal(dp_replay_admit(&r, 1, 7, 10), DP_REPLAY_NEW);
	assert_int_equal(dp_replay_admit(&r, 2, 7, 10), DP_REPLAY_NEW);
	assert_int_equal(dp_replay_admit(&r, 2, 3, 11), DP_REPLAY_TOO_OLD);
	assert_int_equal(dp_replay_admit(&r, 1, 7, 11), DP_REPLAY_NEW); /* 2's epoch is 2's */
	assert_int_equal(dp_replay_admit(&r, 1, 7, 10), DP_REPLAY_REPLAYED);
	assert_int_equal(dp_replay_admit(&r, 2, 7, 10), DP_REPLAY_REPLAYED);
}

/* Four slots: a fifth sender evicts the one heard least recently. */
static void test_eviction(void **state)
{
	(void)state;
	for (raft_node_id id = 1; id <= 4; id++) {
		assert_int_equal(dp_replay_admit(&r, id, 1, 1), DP_REPLAY_NEW);
	}
	assert_int_equal(dp_replay_admit(&r, 1, 1, 2), DP_REPLAY_NEW); /* 2 is the oldest now */
	assert_int_equal(dp_replay_admit(&r, 9, 1, 1), DP_REPLAY_NEW);
	assert_int_equal(r.counters.senders_evicted, 1);
	assert_int_equal(r.senders_count, 4);
	assert_int_equal(dp_replay_check(&r, 1, 1, 2), DP_REPLAY_REPLAYED);
	assert_int_equal(dp_replay_check(&r, 3, 1, 1), DP_REPLAY_REPLAYED);
	assert_int_equal(dp_replay_check(&r, 2, 1, 1), DP_REPLAY_NEW); /* forgotten */
}

/* The ring wraps: jumps of less than, exactly and more than a ring, and
 * seqs near UINT64_MAX. */
static void test_wrap(void **state)
{
	(void)state;
	const uint64_t ring = (uint64_t)DP_REPLAY_WINDOW_WORDS * 64u;
	uint64_t top = 63;
	uint64_t marked[16];
	size_t marked_count = 0;
	assert_int_equal(dp_replay_admit(&r, 4, 1, top), DP_REPLAY_NEW);
	marked[marked_count++] = top;
	uint64_t jumps[] = {1, 64, 65, ring - 64, ring, ring + 1, 5 * ring + 17, W, W - 1};
	for (size_t i = 0; i < sizeof(jumps) / sizeof(jumps[0]); i++) {
		top += jumps[i];
		assert_int_equal(dp_replay_admit(&r, 4, 1, top), DP_REPLAY_NEW);
		marked[marked_count++] = top;
		/* Every seq accepted before is remembered while inside the
		 * window, too old below it; nothing else below the top is
		 * marked (a word the ring reuses was cleared). */
		for (size_t j = 0; j < marked_count; j++) {
			assert_int_equal(dp_replay_check(&r, 4, 1, marked[j]),
					 top - marked[j] < W ? DP_REPLAY_REPLAYED : DP_REPLAY_TOO_OLD);
		}
		for (uint64_t s = top > W - 1 ? top - (W - 1) : 0; s < top; s++) {
			bool was = false;
			for (size_t j = 0; j < marked_count; j++) {
				was = was || marked[j] == s;
			}
			assert_int_equal(dp_replay_check(&r, 4, 1, s),
					 was ? DP_REPLAY_REPLAYED : DP_REPLAY_NEW);
		}
	}
	uint64_t big = UINT64_MAX - 3;
	assert_int_equal(dp_replay_admit(&r, 4, 2, big), DP_REPLAY_NEW);
	assert_int_equal(dp_replay_admit(&r, 4, 2, UINT64_MAX), DP_REPLAY_NEW);
	assert_int_equal(dp_replay_admit(&r, 4, 2, big + 1), DP_REPLAY_NEW);
	assert_int_equal(dp_replay_admit(&r, 4, 2, big), DP_REPLAY_REPLAYED);
	assert_int_equal(dp_replay_admit(&r, 4, 2, UINT64_MAX), DP_REPLAY_REPLAYED);
}

/* A random walk (forward steps, reorders back into and below the window,
 * duplicates) against a model that remembers every seq ever accepted. */
static void test_model(void **state)
{
	(void)state;
	enum { SEQS = 1u << 16 };
	static uint8_t seen[SEQS];
	memset(seen, 0, sizeof(seen));
	uint64_t top = 0;
	bool any = false;
	srand(17);
	for (int i = 0; i < 200000; i++) {
		int k = rand() % 8;
		uint64_t s;
		if (k < 4) {
			s = top + (uint64_t)(rand() % 70); /* forward, often by a little */
		} else if (k < 7) {
			uint64_t back = (uint64_t)(rand() % (int)(W + 40));
			s = top > back ? top - back : 0;
		} else {
			s = top; /* a duplicate of the newest */
		}
		if (s >= SEQS) {
			break;
		}
		enum dp_replay_verdict want;
		if (!any || s > top) {
			want = DP_REPLAY_NEW;
		} else if (top - s >= W) {
			want = DP_REPLAY_TOO_OLD;
		} else {
			want = seen[s] ? DP_REPLAY_REPLAYED : DP_REPLAY_NEW;
		}
		assert_int_equal(dp_replay_admit(&r, 6, 1, s), want);
		if (want == DP_REPLAY_NEW) {
			seen[s] = 1;
			top = !any || s > top ? s : top;
			any = true;
		}
	}
	assert_true(top > 10000); /* the walk went far past several rings */
}

/* Sealed frames through the decoder: a consensus frame is admitted once,
 * a client request is never marked (its session deduplicates). */
static void test_frames(void **state)
{
	(void)state;
	struct dp_wire tx, rx;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	tx.boot_epoch = 1234;
	static uint8_t buf[DP_FRAME_BYTES_MAX];
	static struct raft_entry entries[T_ENTRIES_MAX];
	size_t n = t_frame(&tx, RAFT_MSG_HEARTBEAT, buf, sizeof(buf));
	assert_true(n > 0);
	struct dp_rx_frame f;
	assert_int_equal(dp_wire_decode(&rx, buf, n, entries, T_ENTRIES_MAX, &f), 0);
	assert_int_equal(f.boot_epoch, 1234);
	assert_int_equal(dp_replay_admit_frame(&r, &f), DP_REPLAY_NEW);
	assert_int_equal(dp_wire_decode(&rx, buf, n, entries, T_ENTRIES_MAX, &f), 0);
	assert_int_equal(dp_replay_admit_frame(&r, &f), DP_REPLAY_REPLAYED);

	struct dp_endpoints a;
	t_addr(&a);
	struct dp_client_request req = {.op = DP_CLIENT_PUT, .client_id = 5, .request_seq = 1,
					.key = (const uint8_t *)"k", .key_bytes = 1,
					.value = (const uint8_t *)"v", .value_bytes = 1};
	int m = dp_wire_encode_request(&tx, &a, 77, 2, &req, buf, sizeof(buf));
	assert_true(m > 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(dp_wire_decode(&rx, buf, (size_t)m, entries, T_ENTRIES_MAX, &f), 0);
		assert_int_equal(dp_replay_admit_frame(&r, &f), DP_REPLAY_NEW);
	}
	/* A SETTINGS frame is node to node: windowed like consensus. */
	m = dp_wire_encode_settings(&tx, &a, 78, 2, "a=1", 3, buf, sizeof(buf));
	assert_true(m > 0);
	assert_int_equal(dp_wire_decode(&rx, buf, (size_t)m, entries, T_ENTRIES_MAX, &f), 0);
	assert_int_equal(dp_replay_admit_frame(&r, &f), DP_REPLAY_NEW);
	assert_int_equal(dp_wire_decode(&rx, buf, (size_t)m, entries, T_ENTRIES_MAX, &f), 0);
	assert_int_equal(dp_replay_admit_frame(&r, &f), DP_REPLAY_REPLAYED);
	assert_int_equal(r.counters.accepted, 2);
	assert_int_equal(r.counters.replayed, 2);
	struct dp_replay_counters c;
	dp_replay_read(&r, &c);
	assert_int_equal(c.replayed, 2);
	dp_wire_fini(&tx);
	dp_wire_fini(&rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_bounds),
		cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reordered_inside_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_epoch_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_senders_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eviction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frames, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
