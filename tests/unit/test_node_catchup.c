/* SPDX-License-Identifier: MIT */
/*
 * Goal: the catch-up read-back batching (node/control/catchup.c) turns the
 * core's pipelined from_storage appends into large reads with no hole:
 * consecutive asks of a follower merge into one range, reads take it front
 * to back in chunks of at most the read size, each read's last term is
 * the next one's prev_term, an ask below what was read restarts the range
 * (and a read of the old one in flight no longer moves it), a failed read
 * drops the range, followers take turns, and a read's bytes hold the next
 * one back (the pace).
 * Method: asks built as the core makes them; the reads "done" by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "control/catchup.h"

static struct raft_message ask(raft_node_id to, raft_index prev, uint32_t count, raft_index commit)
{
	struct raft_message m;
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND;
	m.from = 1;
	m.to = to;
	m.term = 3;
	m.append.prev_index = prev;
	m.append.entries_count = count;
	m.append.commit_index = commit;
	m.append.from_storage = true;
	return m;
}

/* The next read: its first entry and count. */
static void expect_read(struct node_catchup *k, uint32_t max, raft_node_id to, raft_index first,
			uint32_t count, raft_term prev_term)
{
	struct raft_message m;
	assert_true(node_catchup_next(k, 0, max, &m));
	assert_int_equal(m.to, to);
	assert_true(m.append.from_storage);
	assert_int_equal(m.append.prev_index + 1, first);
	assert_int_equal(m.append.entries_count, count);
	assert_int_equal(m.append.prev_term, prev_term);
}

static void test_pipeline_merges_into_large_reads(void **state)
{
	(void)state;
	struct node_catchup k;
	node_catchup_clear(&k);
	/* 64 asks of 256 entries each, as replicate state sends them. */
	for (uint32_t i = 0; i < 64; i++) {
		struct raft_message m = ask(2, 100 + (raft_index)i * 256, 256, 50000);
		node_catchup_ask(&k, &m);
	}
	assert_int_equal(k.restarts, 1); /* the first ask only */
	raft_index next = 101;
	raft_term prev = 0;
	uint32_t reads = 0;
	while (node_catchup_busy(&k)) {
		uint32_t want = (uint32_t)(100 + 64 * 256 - next + 1);
		expect_read(&k, 2048, 2, next, want < 2048 ? want : 2048, prev);
		struct raft_message none;
		assert_false(node_catchup_next(&k, 0, 2048, &none)); /* one read at a time */
		/* The log returns fewer than asked (a segment's end): a prefix. */
		uint32_t got = reads % 2 == 0 ? 2048 : 1000;
		if (got > want) {
			got = want;
		}
		node_catchup_done(&k, 0, (int)got, 0, next + got - 1, 3);
		next += got;
		prev = 3;
		reads++;
	}
	assert_int_equal(next, 100 + 64 * 256 + 1); /* every entry, no hole */
	assert_true(reads < 64);
}

static void test_ask_below_restarts(void **state)
{
	(void)state;
	struct node_catchup k;
	node_catchup_clear(&k);
	struct raft_message m = ask(2, 0, 4096, 10);
	node_catchup_ask(&k, &m);
	expect_read(&k, 2048, 2, 1, 2048, 0);
	/* An ask inside what is owed (from the read in flight on) merges. */
	m = ask(2, 500, 256, 10);
	node_catchup_ask(&k, &m);
	assert_int_equal(k.restarts, 0);
	node_catchup_done(&k, 0, 2048, 0, 2048, 1);
	expect_read(&k, 2048, 2, 2049, 2048, 1);
	/* The follower refused: the core probes again from 501 meanwhile. */
	node_catchup_ask(&k, &m);
	node_catchup_done(&k, 0, 2048, 0, 4096, 1); /* the stale read moves nothing */
	expect_read(&k, 2048, 2, 501, 256, 0);
	node_catchup_done(&k, 0, 256, 0, 756, 1);
	assert_false(node_catchup_busy(&k));
	/* The next ask continues where the range ended: prev_term known. */
	m = ask(2, 756, 256, 10);
	node_catchup_ask(&k, &m);
	expect_read(&k, 2048, 2, 757, 256, 1);
	/* A failed read drops the range: the core asks again. */
	node_catchup_done(&k, 0, -5, 0, 0, 0);
	assert_false(node_catchup_busy(&k));
	assert_int_equal(k.restarts, 1);
}

static void test_followers_take_turns(void **state)
{
	(void)state;
	struct node_catchup k;
	node_catchup_clear(&k);
	struct raft_message a = ask(2, 0, 5000, 10), b = ask(3, 1000, 5000, 10);
	node_catchup_ask(&k, &a);
	node_catchup_ask(&k, &b);
	expect_read(&k, 2048, 2, 1, 2048, 0);
	node_catchup_done(&k, 0, 2048, 0, 2048, 1);
	expect_read(&k, 2048, 3, 1001, 2048, 0);
	node_catchup_done(&k, 0, 2048, 0, 3048, 1);
	expect_read(&k, 2048, 2, 2049, 2048, 1);
	node_catchup_done(&k, 0, 2048, 0, 4096, 1);
	/* The newest ask's commit index and term travel with the reads. */
	struct raft_message b2 = ask(3, 6000, 10, 99);
	node_catchup_ask(&k, &b2);
	struct raft_message m;
	assert_true(node_catchup_next(&k, 0, 2048, &m));
	assert_int_equal(m.to, 3);
	assert_int_equal(m.append.commit_index, 99);
	assert_int_equal(m.append.prev_index, 3048);
	assert_int_equal(m.append.entries_count, 2048);
}

static void test_pace(void **state)
{
	(void)state;
	struct node_catchup k;
	node_catchup_clear(&k);
	struct raft_message a = ask(2, 0, 5000, 10), m;
	node_catchup_ask(&k, &a);
	assert_true(node_catchup_next(&k, 1000, 2048, &m));
	/* 1 MiB read: the next waits 1 MiB at NODE_CATCHUP_BYTES_PER_S. */
	node_catchup_done(&k, 1000, 2048, 1u << 20, 2048, 1);
	uint64_t gap_ns = (1ull << 20) * 1000000000ull / NODE_CATCHUP_BYTES_PER_S;
	assert_false(node_catchup_next(&k, 1000 + gap_ns - 1, 2048, &m));
	assert_true(node_catchup_next(&k, 1000 + gap_ns, 2048, &m));
	assert_int_equal(m.append.prev_index, 2048);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipeline_merges_into_large_reads),
		cmocka_unit_test(test_ask_below_restarts),
		cmocka_unit_test(test_followers_take_turns),
		cmocka_unit_test(test_pace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
