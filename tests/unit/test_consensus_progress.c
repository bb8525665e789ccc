/* SPDX-License-Identifier: MIT */
/*
 * Goal: the leader's per-follower progress on a link that reorders and
 * duplicates (issue 16, the reject storm): a window delivered out of order
 * draws one probe, not one per rejection; rejections of a window given up
 * on, arriving after the pipeline restarted, change nothing; and an
 * append lost with nothing else in flight is still recovered (a rejection
 * of the next append's prev entry is news).
 * Method: a manual cluster (harness.c), one entry per append, a window of
 * eight; the test takes messages off the queue and delivers them to the
 * follower and back in the order it wants, counting what the leader sends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "harness.h"

#define WINDOW 8u

static struct h_cluster cluster;

static void one_entry_per_append(struct raft_config *cfg)
{
	cfg->append_entries_max = 1;
	cfg->inflight_appends_max = WINDOW;
	cfg->check_quorum = false; /* followers are never ticked here */
}

/* Moves the queued messages from `from` to `to` of `type` (oldest first)
 * into out[], leaving the others queued; appends only with entries. */
static uint32_t take(raft_node_id from, raft_node_id to, uint8_t type, struct raft_message *out,
		     uint32_t max)
{
	uint32_t taken = 0, kept = 0;
	for (uint32_t i = 0; i < cluster.msgs_count; i++) {
		const struct raft_message *m = &cluster.msgs[i];
		bool empty = m->type == RAFT_MSG_APPEND && m->append.entries_count == 0;
		if (m->from == from && m->to == to && m->type == type && !empty && taken < max) {
			out[taken++] = *m;
		} else {
			cluster.msgs[kept++] = *m;
		}
	}
	cluster.msgs_count = kept;
	return taken;
}

static void deliver(const struct raft_message *m)
{
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
	ev.receive = *m;
	h_step(&cluster, m->to, &ev);
}

/* Appends carrying entries queued from the leader to node 2. */
static uint32_t appends_to_2(void)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < cluster.msgs_count; i++) {
		const struct raft_message *m = &cluster.msgs[i];
		n += m->from == 1 && m->to == 2 && m->type == RAFT_MSG_APPEND &&
		     m->append.entries_count > 0;
	}
	return n;
}

static struct raft_progress_info progress_of_2(void)
{
	struct raft_progress_info pi;
	assert_true(raft_progress(cluster.nodes[1].raft, 2, &pi));
	return pi;
}

/* Leader 1, node 3 cut off, node 2 replicating and matching the whole log. */
static raft_index start(void)
{
	h_init(&cluster, 3, one_entry_per_append);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	h_isolate(&cluster, 3, true);
	assert_int_equal(h_propose(&cluster, 1, 1), 0);
	h_deliver_all(&cluster);
	raft_index m0 = raft_last_index(cluster.nodes[1].raft);
	assert_int_equal(progress_of_2().state, RAFT_PROGRESS_REPLICATE);
	assert_int_equal(progress_of_2().match_index, m0);
	return m0;
}

static void test_reordered_window_draws_one_probe(void **state)
{
	(void)state;
	raft_index m0 = start();
	for (uint64_t p = 0; p < WINDOW; p++) {
		assert_int_equal(h_propose(&cluster, 1, 100 + p), 0);
	}
	struct raft_message window[WINDOW], answers[WINDOW], rejects[WINDOW], ack;
	assert_int_equal(take(1, 2, RAFT_MSG_APPEND, window, WINDOW), WINDOW);
	/* The link reverses the window: all but the first are rejected. */
	for (uint32_t i = WINDOW; i-- > 0;) {
		deliver(&window[i]);
	}
	assert_int_equal(take(2, 1, RAFT_MSG_APPEND_RESP, answers, WINDOW), WINDOW);
	uint32_t rejects_count = 0;
	for (uint32_t i = 0; i < WINDOW; i++) {
		if (answers[i].append_resp.reject) {
			assert_int_equal(answers[i].append_resp.hint_index, m0);
			rejects[rejects_count++] = answers[i];
		} else {
			ack = answers[i];
		}
	}
	assert_int_equal(rejects_count, WINDOW - 1);
	assert_int_equal(ack.append_resp.match_index, m0 + 1);

	/* The acknowledgement first, then every rejection: one probe. */
	deliver(&ack);
	for (uint32_t i = 0; i < rejects_count; i++) {
		deliver(&rejects[i]);
	}
	struct raft_progress_info pi = progress_of_2();
	assert_int_equal(pi.state, RAFT_PROGRESS_PROBE);
	assert_int_equal(pi.match_index, m0 + 1); /* rejections never move it */
	assert_int_equal(pi.next_index, m0 + 2);
	assert_int_equal(appends_to_2(), 1);
	struct raft_counters k;
	raft_get_counters(cluster.nodes[1].raft, &k);
	assert_int_equal(k.append_rejects_taken, 1);
	assert_int_equal(k.append_rejects_stale, WINDOW - 2);

	/* The probe is answered: pipelined again, the rest in one window. */
	struct raft_message probe, probe_ack;
	assert_int_equal(take(1, 2, RAFT_MSG_APPEND, &probe, 1), 1);
	assert_int_equal(probe.append.prev_index, m0 + 1);
	deliver(&probe);
	assert_int_equal(take(2, 1, RAFT_MSG_APPEND_RESP, &probe_ack, 1), 1);
	deliver(&probe_ack);
	pi = progress_of_2();
	assert_int_equal(pi.state, RAFT_PROGRESS_REPLICATE);
	assert_int_equal(pi.match_index, m0 + 2);
	assert_int_equal(appends_to_2(), WINDOW - 2);

	/* The link delivers the old rejections again, late: they answer the
	 * window given up on, and leave the new one alone. */
	for (uint32_t i = 0; i < rejects_count; i++) {
		deliver(&rejects[i]);
	}
	pi = progress_of_2();
	assert_int_equal(pi.state, RAFT_PROGRESS_REPLICATE);
	assert_int_equal(pi.inflight_count, WINDOW - 2);
	assert_int_equal(appends_to_2(), WINDOW - 2);
	raft_get_counters(cluster.nodes[1].raft, &k);
	assert_int_equal(k.append_rejects_taken, 1);
	assert_int_equal(k.append_rejects_stale, 2 * WINDOW - 3);

	/* In order now: node 2 holds and has acknowledged the whole log. */
	h_deliver_all(&cluster);
	const struct raft *leader = cluster.nodes[1].raft;
	assert_int_equal(raft_last_index(cluster.nodes[2].raft), raft_last_index(leader));
	assert_int_equal(progress_of_2().match_index, raft_last_index(leader));
	assert_int_equal(raft_commit_index(leader), raft_last_index(leader));
	h_destroy(&cluster);
}

/* A rejection of the next append's prev entry is news even with nothing in
 * flight: the append before it was lost (raftsim seed 9 at 3 nodes with
 * --snapshots off stalled when it was taken for stale). */
static void test_lost_append_recovered_at_heartbeat(void **state)
{
	(void)state;
	raft_index m0 = start();
	h_isolate(&cluster, 3, false);
	assert_int_equal(h_propose(&cluster, 1, 7), 0);
	/* The append to node 2, and the commit-only update that follows
	 * node 3's acknowledgement, are lost. */
	cluster.cut[1][2] = true;
	h_deliver_all(&cluster);
	cluster.cut[1][2] = false;
	assert_int_equal(raft_commit_index(cluster.nodes[1].raft), m0 + 1);
	assert_int_equal(raft_last_index(cluster.nodes[2].raft), m0);
	struct raft_progress_info pi = progress_of_2();
	assert_int_equal(pi.match_index, m0);
	assert_int_equal(pi.next_index, m0 + 2);
	/* The heartbeat's answer sends an empty append from next_index: its
	 * rejection turns node 2 to a probe, which brings the entry. */
	for (int i = 0; i < 3 && raft_last_index(cluster.nodes[2].raft) == m0; i++) {
		h_tick(&cluster, 1, 1);
		h_deliver_all(&cluster);
	}
	assert_int_equal(raft_last_index(cluster.nodes[2].raft), m0 + 1);
	assert_int_equal(progress_of_2().match_index, m0 + 1);
	h_destroy(&cluster);
}

/* A rejection dropped as stale for the progress is still read for its
 * term (step.c, before replication sees it): a higher one deposes the
 * leader, or it could lead on, deaf to the new term. */
static void test_stale_reject_of_higher_term_deposes(void **state)
{
	(void)state;
	raft_index m0 = start();
	raft_term term = raft_current_term(cluster.nodes[1].raft);
	struct raft_message m = {
		.type = RAFT_MSG_APPEND_RESP,
		.from = 2,
		.to = 1,
		.term = term + 3,
	};
	m.append_resp.reject = true;
	m.append_resp.reject_index = m0 - 1; /* at or below match: stale */
	m.append_resp.hint_index = m0 - 1;
	deliver(&m);
	assert_int_equal(raft_role(cluster.nodes[1].raft), RAFT_FOLLOWER);
	assert_int_equal(raft_current_term(cluster.nodes[1].raft), term + 3);
	h_destroy(&cluster);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reordered_window_draws_one_probe),
		cmocka_unit_test(test_lost_append_recovered_at_heartbeat),
		cmocka_unit_test(test_stale_reject_of_higher_term_deposes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
