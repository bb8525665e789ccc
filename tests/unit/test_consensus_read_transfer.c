/* SPDX-License-Identifier: MIT */
/*
 * Goal: ReadIndex (§6.4) and leadership transfer (§3.10). A read is
 * confirmed only after a majority answers a heartbeat round started after
 * the request, never by a leader cut off from its majority; a follower's
 * read is forwarded and confirmed by the leader. A transfer hands over to
 * an up-to-date target in a higher term, and refuses proposals meanwhile.
 * Method: a manual cluster (harness.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"

static struct h_cluster cluster;

static int read_via(raft_node_id id, uint64_t ctx)
{
	struct raft_event ev = {.type = RAFT_EVENT_READ_INDEX};
	ev.read_index.ctx = ctx;
	return h_step(&cluster, id, &ev);
}

static void test_read_index_needs_majority_round(void **state)
{
	(void)state;
	h_init(&cluster, 3, NULL);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	h_propose(&cluster, 1, 5);
	h_deliver_all(&cluster);
	assert_int_equal(read_via(1, 99), 0);
	assert_int_equal(cluster.nodes[1].reads_count, 0); /* not before the round */
	h_deliver_all(&cluster);
	assert_int_equal(cluster.nodes[1].reads_count, 1);
	assert_int_equal(cluster.nodes[1].reads[0].ctx, 99);
	assert_int_equal(cluster.nodes[1].reads[0].read_index, 2);
	h_destroy(&cluster);
}

static void test_read_index_not_confirmed_by_cut_off_leader(void **state)
{
	(void)state;
	h_init(&cluster, 3, NULL);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	h_isolate(&cluster, 1, true);
	assert_int_equal(read_via(1, 7), 0);
	for (int i = 0; i < 8; i++) {
		h_tick(&cluster, 1, 1);
		h_deliver_all(&cluster);
	}
	assert_int_equal(cluster.nodes[1].reads_count, 0);
	h_destroy(&cluster);
}

static void test_read_index_forwarded_by_follower(void **state)
{
	(void)state;
	h_init(&cluster, 3, NULL);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	assert_int_equal(read_via(3, 1234), 0);
	h_deliver_all(&cluster);
	assert_int_equal(cluster.nodes[3].reads_count, 1);
	assert_int_equal(cluster.nodes[3].reads[0].ctx, 1234);
	assert_int_equal(cluster.nodes[3].reads[0].read_index, 1);
	h_destroy(&cluster);
}

static void test_read_index_without_leader_refused(void **state)
{
	(void)state;
	h_init(&cluster, 3, NULL);
	assert_int_equal(read_via(2, 1), -RAFT_ERR_NO_LEADER);
	h_destroy(&cluster);
}

static void test_transfer_hands_over_to_target(void **state)
{
	(void)state;
	h_init(&cluster, 3, NULL);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	h_isolate(&cluster, 3, true);
	h_propose(&cluster, 1, 9); /* node 3 is now behind */
	h_deliver_all(&cluster);
	struct raft_event ev = {.type = RAFT_EVENT_TRANSFER};
	ev.transfer.target = 3;
	assert_int_equal(h_step(&cluster, 1, &ev), 0);
	assert_int_equal(h_propose(&cluster, 1, 10), -RAFT_ERR_TRANSFERRING);
	h_isolate(&cluster, 3, false);
	h_tick(&cluster, 1, 2); /* heartbeat: node 3 answers, catches up */
	h_deliver_all(&cluster);
	assert_int_equal(h_leader(&cluster), 3);
	assert_int_equal(raft_current_term(cluster.nodes[3].raft), 2);
	assert_int_equal(raft_role(cluster.nodes[1].raft), RAFT_FOLLOWER);
	struct raft_entry e;
	assert_true(raft_log_entry(cluster.nodes[3].raft, 2, &e));
	assert_int_equal(e.payload, 9);
	h_destroy(&cluster);
}

static void test_transfer_times_out(void **state)
{
	(void)state;
	h_init(&cluster, 3, NULL);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	h_isolate(&cluster, 3, true);
	struct raft_event ev = {.type = RAFT_EVENT_TRANSFER};
	ev.transfer.target = 3;
	assert_int_equal(h_step(&cluster, 1, &ev), 0);
	cluster.msgs_count = 0; /* the TimeoutNow is lost */
	for (int i = 0; i < 9; i++) {
		h_tick(&cluster, 1, 1);
		h_deliver_all(&cluster);
	}
	assert_int_equal(h_propose(&cluster, 1, 1), -RAFT_ERR_TRANSFERRING);
	h_tick(&cluster, 1, 1);
	h_deliver_all(&cluster);
	assert_int_equal(h_leader(&cluster), 1);
	assert_int_equal(h_propose(&cluster, 1, 1), 0);
	h_destroy(&cluster);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_index_needs_majority_round),
		cmocka_unit_test(test_read_index_not_confirmed_by_cut_off_leader),
		cmocka_unit_test(test_read_index_forwarded_by_follower),
		cmocka_unit_test(test_read_index_without_leader_refused),
		cmocka_unit_test(test_transfer_hands_over_to_target),
		cmocka_unit_test(test_transfer_times_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
