/* SPDX-License-Identifier: MIT */
/*
 * Goal: the election rules of the core (§3.4, §3.6.1, §4.2.3, §6.2, §9.6).
 * Method: drive a manual cluster (harness.c) through exact interleavings and
 * check roles, terms, votes and what the updates asked to persist.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"

static struct h_cluster cluster;

static void no_prevote(struct raft_config *cfg)
{
	cfg->prevote = false;
}

static void no_prevote_no_lease(struct raft_config *cfg)
{
	cfg->prevote = false;
	cfg->check_quorum = false;
}

static void test_single_node_elects_itself_and_commits(void **state)
{
	(void)state;
	h_init(&cluster, 1, NULL);
	h_elect(&cluster, 1);
	struct raft *r = cluster.nodes[1].raft;
	assert_int_equal(raft_current_term(r), 1);
	assert_int_equal(raft_last_index(r), 1); /* the no-op */
	assert_int_equal(raft_commit_index(r), 1); /* durable on the only node */
	assert_int_equal(h_propose(&cluster, 1, 42), 0);
	assert_int_equal(raft_commit_index(r), 2);
	h_destroy(&cluster);
}

static void test_three_nodes_elect_one_leader(void **state)
{
	(void)state;
	h_init(&cluster, 3, NULL);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	assert_int_equal(h_leader(&cluster), 1);
	for (raft_node_id id = 1; id <= 3; id++) {
		struct raft *r = cluster.nodes[id].raft;
		assert_int_equal(raft_current_term(r), 1);
		assert_int_equal(raft_leader_id(r), 1);
		assert_int_equal(raft_commit_index(r), 1);
		/* The vote reached durable hard state. */
		assert_int_equal(cluster.nodes[id].hard_state.vote, 1);
		assert_int_equal(cluster.nodes[id].hard_state.term, 1);
	}
	assert_int_equal(raft_role(cluster.nodes[2].raft), RAFT_FOLLOWER);
	h_destroy(&cluster);
}

static struct raft_update vote_request(raft_node_id to, raft_node_id from, raft_term term,
				       raft_index last_index, raft_term last_term)
{
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
	ev.receive.type = RAFT_MSG_VOTE;
	ev.receive.from = from;
	ev.receive.to = to;
	ev.receive.term = term;
	ev.receive.vote.last_log_index = last_index;
	ev.receive.vote.last_log_term = last_term;
	h_step(&cluster, to, &ev);
	cluster.msgs_count = 0; /* the test reads the response from the update */
	return cluster.last_update;
}

static void test_one_vote_per_term_and_persisted_first(void **state)
{
	(void)state;
	h_init(&cluster, 3, no_prevote);
	struct raft_update u = vote_request(2, 1, 5, 0, 0);
	assert_true(u.flags & RAFT_UPDATE_HARD_STATE);
	assert_int_equal(u.hard_state.term, 5);
	assert_int_equal(u.hard_state.vote, 1);
	assert_int_equal(u.msgs_count, 1);
	assert_int_equal(u.msgs[0].type, RAFT_MSG_VOTE_RESP);
	assert_true(u.msgs[0].vote_resp.granted);
	/* Same term, another candidate: refused. */
	u = vote_request(2, 3, 5, 0, 0);
	assert_int_equal(u.msgs_count, 1);
	assert_false(u.msgs[0].vote_resp.granted);
	assert_int_equal(raft_voted_for(cluster.nodes[2].raft), 1);
	/* The same candidate again (lost response): granted again. */
	u = vote_request(2, 1, 5, 0, 0);
	assert_true(u.msgs[0].vote_resp.granted);
	h_destroy(&cluster);
}

static void test_vote_refused_to_stale_log(void **state)
{
	(void)state;
	h_init(&cluster, 3, no_prevote_no_lease);
	h_elect(&cluster, 1);
	assert_int_equal(h_propose(&cluster, 1, 7), 0);
	h_deliver_all(&cluster);
	/* Node 2 holds indices 1..2 of term 1; node 3 asks with an empty log. */
	struct raft_update u = vote_request(2, 3, 9, 0, 0);
	assert_false(u.msgs[0].vote_resp.granted);
	/* Same last term and a longer log: granted. */
	u = vote_request(2, 3, 10, 5, 1);
	assert_true(u.msgs[0].vote_resp.granted);
	h_destroy(&cluster);
}

/* §3.4: a RequestVote of a lower term is refused with our term, which the
 * candidate adopts. Dropped, a candidate whose only reachable voter is a
 * server behind (whose configuration may not even name it, so it never
 * writes to the candidate) stayed at its old term for good: raftsim seed
 * 1742 at 3 nodes, --snapshots off, PreVote off. */
static void test_stale_candidate_learns_term_from_refusal(void **state)
{
	(void)state;
	h_init(&cluster, 3, no_prevote_no_lease);
	vote_request(2, 1, 9, 0, 0); /* node 2 at term 9, node 1 unaware */
	h_isolate(&cluster, 1, true);
	h_tick(&cluster, 3, 25);
	assert_int_equal(raft_role(cluster.nodes[3].raft), RAFT_CANDIDATE);
	raft_term asked = raft_current_term(cluster.nodes[3].raft);
	assert_true(asked < 9);
	h_deliver_all(&cluster);
	assert_int_equal(raft_current_term(cluster.nodes[3].raft), 9);
	assert_int_equal(raft_role(cluster.nodes[3].raft), RAFT_FOLLOWER);
	assert_int_equal(raft_current_term(cluster.nodes[2].raft), 9); /* unchanged */
	assert_int_equal(raft_voted_for(cluster.nodes[2].raft), 1);
	/* Its next election, at term 10, wins node 2's vote. */
	h_tick(&cluster, 3, 25);
	h_deliver_all(&cluster);
	assert_int_equal(raft_role(cluster.nodes[3].raft), RAFT_LEADER);
	assert_int_equal(raft_current_term(cluster.nodes[3].raft), 10);
	h_destroy(&cluster);
}

static void test_prevote_keeps_partitioned_node_from_disrupting(void **state)
{
	(void)state;
	h_init(&cluster, 3, NULL);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	h_isolate(&cluster, 3, true);
	for (int i = 0; i < 10; i++) {
		h_tick(&cluster, 3, 25);
		h_deliver_all(&cluster);
	}
	/* Pre-votes never raised its term. */
	assert_int_equal(raft_current_term(cluster.nodes[3].raft), 1);
	h_isolate(&cluster, 3, false);
	h_tick(&cluster, 3, 25);
	h_deliver_all(&cluster);
	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	assert_int_equal(h_leader(&cluster), 1);
	assert_int_equal(raft_current_term(cluster.nodes[1].raft), 1);
	h_destroy(&cluster);
}

static void test_check_quorum_steps_down_isolated_leader(void **state)
{
	(void)state;
	h_init(&cluster, 3, NULL);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	h_isolate(&cluster, 1, true);
	for (int i = 0; i < 25; i++) {
		h_tick(&cluster, 1, 1);
		h_deliver_all(&cluster);
	}
	assert_int_equal(raft_role(cluster.nodes[1].raft), RAFT_FOLLOWER);
	struct raft_counters counters;
	raft_get_counters(cluster.nodes[1].raft, &counters);
	assert_int_equal(counters.leader_stepdowns_check_quorum, 1);
	h_destroy(&cluster);
}

static void test_leader_lease_ignores_disruptive_vote(void **state)
{
	(void)state;
	h_init(&cluster, 3, NULL);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	/* Node 2 just heard from the leader: a vote for term 7 is ignored. */
	struct raft_update u = vote_request(2, 3, 7, 100, 1);
	assert_int_equal(u.msgs_count, 0);
	assert_int_equal(raft_current_term(cluster.nodes[2].raft), 1);
	h_destroy(&cluster);
}

static void test_restart_keeps_vote(void **state)
{
	(void)state;
	h_init(&cluster, 3, no_prevote);
	vote_request(2, 1, 4, 0, 0);
	h_crash_restart(&cluster, 2, no_prevote);
	assert_int_equal(raft_current_term(cluster.nodes[2].raft), 4);
	assert_int_equal(raft_voted_for(cluster.nodes[2].raft), 1);
	struct raft_update u = vote_request(2, 3, 4, 0, 0);
	assert_false(u.msgs[0].vote_resp.granted);
	h_destroy(&cluster);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_node_elects_itself_and_commits),
		cmocka_unit_test(test_three_nodes_elect_one_leader),
		cmocka_unit_test(test_one_vote_per_term_and_persisted_first),
		cmocka_unit_test(test_vote_refused_to_stale_log),
		cmocka_unit_test(test_stale_candidate_learns_term_from_refusal),
		cmocka_unit_test(test_prevote_keeps_partitioned_node_from_disrupting),
		cmocka_unit_test(test_check_quorum_steps_down_isolated_leader),
		cmocka_unit_test(test_leader_lease_ignores_disruptive_vote),
		cmocka_unit_test(test_restart_keeps_vote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
