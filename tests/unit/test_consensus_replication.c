/* SPDX-License-Identifier: MIT */
/*
 * Goal: the log-replication rules of the core: the leader counts itself
 * only once its own write is durable (§10.2.1), followers acknowledge only
 * durable entries, only current-term entries commit by counting (§3.6.2),
 * conflicting suffixes are truncated and fast backtracking finds the match
 * (§3.5), the in-flight window bounds pipelining, and the uncommitted-bytes
 * cap refuses proposals with its own error; batches keep their places
 * across the wrap of the in-memory ring.
 * Method: a manual cluster (harness.c) with writes made durable by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "harness.h"

static struct h_cluster cluster;

/* Followers here are never ticked, so they would keep their leader lease
 * (§4.2.3) forever; tests that re-elect switch the lease off. */
static void no_lease(struct raft_config *cfg)
{
	cfg->check_quorum = false;
}

static void test_leader_counts_itself_only_when_durable(void **state)
{
	(void)state;
	h_init(&cluster, 3, NULL);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	h_isolate(&cluster, 3, true);
	cluster.nodes[1].auto_persist = false;
	assert_int_equal(h_propose(&cluster, 1, 11), 0);
	h_deliver_all(&cluster);
	/* Node 2 holds it durably, the leader not yet: 1 of 3 is no majority. */
	assert_int_equal(raft_persisted_index(cluster.nodes[2].raft), 2);
	assert_int_equal(raft_commit_index(cluster.nodes[1].raft), 1);
	h_persist(&cluster, 1);
	assert_int_equal(raft_commit_index(cluster.nodes[1].raft), 2);
	h_destroy(&cluster);
}

static uint32_t count_queued(raft_node_id from, uint8_t type, bool with_entries)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < cluster.msgs_count; i++) {
		const struct raft_message *m = &cluster.msgs[i];
		if (m->from == from && m->type == type &&
		    (!with_entries || m->append.entries_count > 0)) {
			n++;
		}
	}
	return n;
}

static void test_follower_acks_only_durable_entries(void **state)
{
	(void)state;
	h_init(&cluster, 3, NULL);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	cluster.nodes[2].auto_persist = false;
	cluster.nodes[3].auto_persist = false;
	assert_int_equal(h_propose(&cluster, 1, 12), 0);
	h_deliver_all(&cluster);
	/* Written on both followers, durable on neither: no commit. */
	assert_int_equal(raft_last_index(cluster.nodes[2].raft), 2);
	assert_int_equal(raft_commit_index(cluster.nodes[1].raft), 1);
	h_persist(&cluster, 2);
	assert_int_equal(count_queued(2, RAFT_MSG_APPEND_RESP, false), 1);
	assert_int_equal(cluster.msgs[cluster.msgs_count - 1].append_resp.match_index, 2);
	h_deliver_all(&cluster);
	assert_int_equal(raft_commit_index(cluster.nodes[1].raft), 2);
	h_destroy(&cluster);
}

/*
 * Issue 15, item 3: one proposal at one request in flight in a 3-node
 * cluster costs at most 6 node-to-node frames to commit and reach every
 * follower's commit index: 2 appends, 2 acks and 2 commit-only updates that
 * are not acknowledged (8 with eager, acknowledged commit propagation).
 */
static void test_commit_costs_six_frames(void **state)
{
	(void)state;
	h_init(&cluster, 3, NULL);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	assert_int_equal(raft_commit_index(cluster.nodes[2].raft), 1);
	assert_int_equal(h_propose(&cluster, 1, 21), 0);
	uint32_t frames = h_deliver_all(&cluster);
	print_message("frames per commit: %u\n", frames);
	assert_true(frames <= 6);
	assert_int_equal(raft_commit_index(cluster.nodes[1].raft), 2);
	/* Followers learned the commit at once, not at a heartbeat. */
	assert_int_equal(raft_commit_index(cluster.nodes[2].raft), 2);
	assert_int_equal(raft_commit_index(cluster.nodes[3].raft), 2);
	/* No commit-only message took an in-flight slot. */
	for (raft_node_id id = 2; id <= 3; id++) {
		struct raft_progress_info pr;
		assert_true(raft_progress(cluster.nodes[1].raft, id, &pr));
		assert_int_equal(pr.match_index, 2);
		assert_int_equal(pr.inflight_count, 0);
	}
	/* Heartbeats are still answered (CheckQuorum, ReadIndex). */
	for (int i = 0; i < 2 && count_queued(1, RAFT_MSG_HEARTBEAT, false) == 0; i++) {
		h_tick(&cluster, 1, 1);
	}
	assert_int_equal(count_queued(1, RAFT_MSG_HEARTBEAT, false), 2);
	assert_int_equal(h_deliver_all(&cluster), 4); /* 2 heartbeats, 2 answers */
	h_destroy(&cluster);
}

/* A commit-only update is acknowledged by nobody; an empty append that is
 * not marked commit-only (a probe) is. */
static void test_commit_only_not_acknowledged(void **state)
{
	(void)state;
	h_init(&cluster, 3, NULL);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
	ev.receive = (struct raft_message){.type = RAFT_MSG_APPEND, .from = 1, .to = 2,
					   .term = raft_current_term(cluster.nodes[1].raft)};
	ev.receive.append.prev_index = 1;
	ev.receive.append.prev_term = ev.receive.term;
	ev.receive.append.commit_index = 1;
	ev.receive.append.commit_only = true;
	cluster.msgs_count = 0;
	h_step(&cluster, 2, &ev);
	assert_int_equal(cluster.msgs_count, 0);
	ev.receive.append.commit_only = false;
	h_step(&cluster, 2, &ev);
	assert_int_equal(count_queued(2, RAFT_MSG_APPEND_RESP, false), 1);
	/* Commit-only with entries is malformed: dropped, not answered. */
	struct raft_entry e = {.term = ev.receive.term, .index = 2, .type = RAFT_ENTRY_NORMAL};
	ev.receive.append.commit_only = true;
	ev.receive.append.entries = &e;
	ev.receive.append.entries_count = 1;
	cluster.msgs_count = 0;
	h_step(&cluster, 2, &ev);
	assert_int_equal(cluster.msgs_count, 0);
	assert_int_equal(raft_last_index(cluster.nodes[2].raft), 1);
	h_destroy(&cluster);
}

static void small_batches(struct raft_config *cfg)
{
	cfg->append_entries_max = 1;
	cfg->log_entries_max = 64;
	cfg->check_quorum = false;
}

/* Delivers the oldest queued message, honouring cut links. */
static void deliver_one(void)
{
	struct raft_message m = cluster.msgs[0];
	memmove(&cluster.msgs[0], &cluster.msgs[1], (cluster.msgs_count - 1) * sizeof(m));
	cluster.msgs_count--;
	if (cluster.cut[m.from][m.to]) {
		return;
	}
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
	ev.receive = m;
	h_step(&cluster, m.to, &ev);
}

/*
 * §3.6.2 / Figure 3.7: a new leader holding an entry of an earlier term
 * must not commit it when a majority stores it; only when an entry of its
 * own term is stored by a majority.
 */
static void test_previous_term_entry_not_committed_by_counting(void **state)
{
	(void)state;
	h_init(&cluster, 3, small_batches);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	h_isolate(&cluster, 1, true);
	assert_int_equal(h_propose(&cluster, 1, 77), 0); /* index 2, term 1: only on 1 */
	h_isolate(&cluster, 1, false);
	cluster.msgs_count = 0;
	/* Node 1 crashes and restarts; it wins term 2 with the longer log. */
	h_crash_restart(&cluster, 1, small_batches);
	h_isolate(&cluster, 3, true); /* so only node 2 can complete a quorum */
	/* Elect node 1, delivering one message at a time, and stop as soon as
	 * it leads so that its appends are still queued. */
	for (int i = 0; i < 100 && raft_role(cluster.nodes[1].raft) != RAFT_LEADER; i++) {
		if (cluster.msgs_count == 0) {
			h_tick(&cluster, 1, 1);
			continue;
		}
		deliver_one();
	}
	assert_int_equal(raft_current_term(cluster.nodes[1].raft), 2);
	/* Deliver one message at a time; once node 2 stores index 2 (term 1)
	 * but not the no-op at 3, index 2 must not be committed. */
	bool checked = false;
	for (int i = 0; i < 200 && cluster.msgs_count > 0; i++) {
		struct raft_progress_info pr;
		if (raft_progress(cluster.nodes[1].raft, 2, &pr) && pr.match_index == 2) {
			/* 0 after the restart: commit is not persisted */
			assert_true(raft_commit_index(cluster.nodes[1].raft) < 2);
			checked = true;
		}
		deliver_one();
	}
	assert_true(checked);
	h_deliver_all(&cluster);
	assert_int_equal(raft_commit_index(cluster.nodes[1].raft), 3);
	h_destroy(&cluster);
}

static void test_conflicting_suffix_truncated(void **state)
{
	(void)state;
	h_init(&cluster, 3, no_lease);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	/* Leader 1 appends two entries nobody else gets, then is deposed. */
	h_isolate(&cluster, 1, true);
	h_propose(&cluster, 1, 101);
	h_propose(&cluster, 1, 102);
	assert_int_equal(raft_last_index(cluster.nodes[1].raft), 3);
	cluster.msgs_count = 0;
	h_elect(&cluster, 2);
	h_propose(&cluster, 2, 201);
	h_deliver_all(&cluster);
	assert_int_equal(raft_commit_index(cluster.nodes[2].raft), 3);
	/* Heal: node 1 steps down, rolls back 2..3 and takes node 2's log. */
	h_isolate(&cluster, 1, false);
	h_tick(&cluster, 2, 2);
	h_deliver_all(&cluster);
	h_tick(&cluster, 2, 2);
	h_deliver_all(&cluster);
	struct raft *r1 = cluster.nodes[1].raft;
	struct raft_entry e;
	assert_int_equal(raft_role(r1), RAFT_FOLLOWER);
	assert_int_equal(raft_last_index(r1), 3);
	assert_true(raft_log_entry(r1, 3, &e));
	assert_int_equal(e.payload, 201);
	assert_int_equal(cluster.nodes[1].log[3].payload, 201); /* storage too */
	struct raft_counters counters;
	raft_get_counters(r1, &counters);
	assert_int_equal(counters.entries_truncated, 2);
	h_destroy(&cluster);
}

static void window_of_two(struct raft_config *cfg)
{
	cfg->inflight_appends_max = 2;
}

static void test_inflight_window_bounds_pipelining(void **state)
{
	(void)state;
	h_init(&cluster, 3, window_of_two);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	h_propose(&cluster, 1, 1); /* acks move both followers to replicate */
	h_deliver_all(&cluster);
	for (uint64_t p = 0; p < 6; p++) {
		assert_int_equal(h_propose(&cluster, 1, 100 + p), 0);
	}
	uint32_t to2 = 0;
	for (uint32_t i = 0; i < cluster.msgs_count; i++) {
		const struct raft_message *m = &cluster.msgs[i];
		to2 += m->to == 2 && m->type == RAFT_MSG_APPEND && m->append.entries_count > 0;
	}
	assert_int_equal(to2, 2);
	h_deliver_all(&cluster); /* acks open the window again */
	h_deliver_all(&cluster);
	assert_int_equal(raft_commit_index(cluster.nodes[1].raft), 8);
	assert_int_equal(raft_last_index(cluster.nodes[2].raft), 8);
	h_destroy(&cluster);
}

static void tiny_cap(struct raft_config *cfg)
{
	cfg->uncommitted_bytes_max = 16;
}

static void test_uncommitted_cap_refuses_with_distinct_error(void **state)
{
	(void)state;
	h_init(&cluster, 3, tiny_cap);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	h_isolate(&cluster, 1, true);
	assert_int_equal(h_propose(&cluster, 1, 1), 0);
	assert_int_equal(h_propose(&cluster, 1, 2), 0);
	assert_int_equal(h_propose(&cluster, 1, 3), -RAFT_ERR_UNCOMMITTED_FULL);
	h_isolate(&cluster, 1, false);
	h_deliver_all(&cluster);
	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	assert_int_equal(raft_commit_index(cluster.nodes[1].raft), 3);
	assert_int_equal(h_propose(&cluster, 1, 3), 0); /* room again */
	assert_int_equal(h_propose(&cluster, 2, 3), -RAFT_ERR_NOT_LEADER);
	h_destroy(&cluster);
}

static void test_fast_backtracking_skips_terms(void **state)
{
	(void)state;
	h_init(&cluster, 3, no_lease);
	h_elect(&cluster, 1);
	for (uint64_t p = 0; p < 4; p++) {
		h_propose(&cluster, 1, 100 + p);
	}
	h_deliver_all(&cluster); /* 1..5 everywhere */
	/* Node 1, cut off, writes 30 entries of term 1 nobody else sees. */
	h_isolate(&cluster, 1, true);
	for (uint64_t p = 0; p < 30; p++) {
		h_propose(&cluster, 1, 1000 + p);
	}
	cluster.msgs_count = 0;
	/* Node 2 leads term 2 with node 3 and writes 40 entries (6..45). */
	h_elect(&cluster, 2);
	for (uint64_t p = 0; p < 39; p++) {
		h_propose(&cluster, 2, 2000 + p);
	}
	h_deliver_all(&cluster);
	/* Node 3 takes over (term 3): its next index for node 1 is 46. */
	struct raft_event ev = {.type = RAFT_EVENT_TRANSFER};
	ev.transfer.target = 3;
	assert_int_equal(h_step(&cluster, 2, &ev), 0);
	h_deliver_all(&cluster);
	assert_int_equal(h_leader(&cluster), 3);
	h_isolate(&cluster, 1, false);
	uint32_t rejects = 0;
	for (int round = 0; round < 6; round++) {
		h_tick(&cluster, 3, 2);
		for (int hop = 0; hop < 10 && cluster.msgs_count > 0; hop++) {
			for (uint32_t i = 0; i < cluster.msgs_count; i++) {
				const struct raft_message *m = &cluster.msgs[i];
				rejects += m->type == RAFT_MSG_APPEND_RESP && m->from == 1 &&
					   m->append_resp.reject;
			}
			/* one hop at a time so every response is counted */
			uint32_t pending = cluster.msgs_count;
			for (uint32_t k = 0; k < pending; k++) {
				struct raft_message m = cluster.msgs[0];
				memmove(&cluster.msgs[0], &cluster.msgs[1],
					(cluster.msgs_count - 1) * sizeof(m));
				cluster.msgs_count--;
				struct raft_event rev = {.type = RAFT_EVENT_RECEIVE};
				rev.receive = m;
				h_step(&cluster, m.to, &rev);
			}
		}
	}
	struct raft *r1 = cluster.nodes[1].raft;
	assert_int_equal(raft_last_index(r1), 46);
	assert_int_equal(raft_log_term(r1, 46), 3);
	assert_int_equal(raft_log_term(r1, 6), 2);
	/* 40 mismatching positions, but one rejection skips a whole term. */
	assert_true(rejects >= 1);
	assert_true(rejects <= 2);
	h_destroy(&cluster);
}

static void small_window(struct raft_config *cfg)
{
	cfg->log_entries_max = 256;
	cfg->append_entries_max = 16;
}

/* The in-memory log is a ring: batches appended across its wrap point,
 * on the leader and on followers, keep every entry at its index. Method:
 * a 256-entry window, batches of 16, every node reporting what it applied
 * (so the core releases slots), 1,600 entries: the ring wraps six times. */
static void test_batches_across_ring_wrap(void **state)
{
	(void)state;
	h_init(&cluster, 3, small_window);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	uint64_t payload = 1000;
	for (int round = 0; round < 100; round++) {
		struct raft_entry batch[16];
		for (int i = 0; i < 16; i++) {
			batch[i] = (struct raft_entry){.type = RAFT_ENTRY_NORMAL,
						       .payload = payload++, .payload_bytes = 8};
		}
		struct raft_event ev = {.type = RAFT_EVENT_PROPOSE};
		ev.propose.entries = batch;
		ev.propose.entries_count = 16;
		assert_int_equal(h_step(&cluster, 1, &ev), 0);
		h_deliver_all(&cluster);
		/* Every node holds this round's batch, each entry in place. */
		for (raft_node_id id = 1; id <= 3; id++) {
			struct raft *r = cluster.nodes[id].raft;
			raft_index last = raft_last_index(r);
			assert_int_equal(last, 1 + 16 * (uint64_t)(round + 1));
			assert_int_equal(raft_commit_index(r), last);
			for (raft_index i = last - 15; i <= last; i++) {
				struct raft_entry e;
				assert_true(raft_log_entry(r, i, &e));
				assert_int_equal(e.index, i);
				assert_int_equal(e.payload, 1000 + (i - 2));
			}
		}
		for (raft_node_id id = 1; id <= 3; id++) {
			struct raft_event applied = {.type = RAFT_EVENT_APPLIED};
			applied.applied.index = cluster.nodes[id].applied_index;
			h_step(&cluster, id, &applied);
		}
		h_deliver_all(&cluster);
	}
	/* The ring wrapped: the oldest entries were released to make room. */
	for (raft_node_id id = 1; id <= 3; id++) {
		struct raft_entry e;
		assert_int_equal(raft_last_index(cluster.nodes[id].raft), 1 + 1600);
		assert_false(raft_log_entry(cluster.nodes[id].raft, 2, &e));
	}
	h_destroy(&cluster);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leader_counts_itself_only_when_durable),
		cmocka_unit_test(test_follower_acks_only_durable_entries),
		cmocka_unit_test(test_commit_costs_six_frames),
		cmocka_unit_test(test_commit_only_not_acknowledged),
		cmocka_unit_test(test_previous_term_entry_not_committed_by_counting),
		cmocka_unit_test(test_conflicting_suffix_truncated),
		cmocka_unit_test(test_inflight_window_bounds_pipelining),
		cmocka_unit_test(test_uncommitted_cap_refuses_with_distinct_error),
		cmocka_unit_test(test_fast_backtracking_skips_terms),
		cmocka_unit_test(test_batches_across_ring_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
