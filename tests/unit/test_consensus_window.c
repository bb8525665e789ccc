/* SPDX-License-Identifier: MIT */
/*
 * Goal: the core with a log longer than its in-memory window. A server
 * restarts from a tail of its log (raft_create_from: the floor is committed,
 * entries below it are not loaded) and rejoins; a leader releases applied
 * entries past a follower that is down, so it keeps accepting proposals,
 * and feeds that follower from its durable log with from_storage appends
 * whose shape the caller relies on (entries NULL, prev_term 0, a range
 * below the window); such an append arriving from the network is dropped.
 * Method: a manual cluster (harness.c) with small windows; the harness
 * plays the caller and fills from_storage appends from the sender's log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "harness.h"

#define WINDOW 64u
#define BATCH 8u

static struct h_cluster cluster;

static void small_window(struct raft_config *cfg)
{
	cfg->log_entries_max = WINDOW;
	cfg->append_entries_max = BATCH;
	cfg->check_quorum = false; /* followers are never ticked here */
}

/* Every node applies as it commits and tells the core (it frees slots). */
static void start(void)
{
	h_init(&cluster, 3, small_window);
	for (raft_node_id id = 1; id <= 3; id++) {
		cluster.nodes[id].auto_apply = true;
	}
}

/* Proposes one entry at a time, each committed before the next. */
static void propose_committed(raft_node_id leader, uint32_t count, uint64_t payload_base)
{
	for (uint32_t i = 0; i < count; i++) {
		assert_int_equal(h_propose(&cluster, leader, payload_base + i), 0);
		h_deliver_all(&cluster);
	}
}

static void test_create_from_validates_the_tail(void **state)
{
	(void)state;
	struct raft_config cfg;
	raft_config_default(&cfg);
	cfg.id = 1;
	cfg.members[0] = 1;
	cfg.members_count = 1;
	small_window(&cfg);
	struct raft_hard_state hs = {.term = 3, .vote = 1};
	struct raft_entry tail[4];
	for (uint32_t i = 0; i < 4; i++) {
		tail[i] = (struct raft_entry){.term = 3, .index = 101 + i, .type = RAFT_ENTRY_NORMAL};
	}
	struct raft *r = NULL;
	/* prev_term must be 0 exactly when prev_index is 0, and <= the terms. */
	assert_int_equal(raft_create_from(&cfg, &hs, 100, 0, tail, 4, &r), -RAFT_ERR_INVALID);
	assert_int_equal(raft_create_from(&cfg, &hs, 0, 2, tail, 4, &r), -RAFT_ERR_INVALID);
	assert_int_equal(raft_create_from(&cfg, &hs, 100, 4, tail, 4, &r), -RAFT_ERR_INVALID);
	/* The entries must start right after prev_index. */
	assert_int_equal(raft_create_from(&cfg, &hs, 99, 2, tail, 4, &r), -RAFT_ERR_INVALID);
	/* And fit the window with room for a no-op. */
	struct raft_entry many[WINDOW];
	for (uint32_t i = 0; i < WINDOW; i++) {
		many[i] = (struct raft_entry){.term = 3, .index = 101 + i, .type = RAFT_ENTRY_NOOP};
	}
	assert_int_equal(raft_create_from(&cfg, &hs, 100, 2, many, WINDOW, &r), -RAFT_ERR_INVALID);
	assert_int_equal(raft_create_from(&cfg, &hs, 100, 2, many, WINDOW - 1, &r), 0);
	raft_destroy(r);

	assert_int_equal(raft_create_from(&cfg, &hs, 100, 2, tail, 4, &r), 0);
	/* The floor is committed by the caller's promise; nothing below it
	 * is held, its term is known. */
	assert_int_equal(raft_first_index(r), 101);
	assert_int_equal(raft_last_index(r), 104);
	assert_int_equal(raft_persisted_index(r), 104);
	assert_int_equal(raft_commit_index(r), 100);
	assert_int_equal(raft_log_term(r, 100), 2);
	struct raft_entry e;
	assert_false(raft_log_entry(r, 100, &e));
	assert_true(raft_log_entry(r, 101, &e));
	/* The first update tells the caller to apply up to the floor. */
	struct raft_update u;
	struct raft_event ev = {.type = RAFT_EVENT_TICK};
	assert_int_equal(raft_step(r, &ev, &u), 0);
	assert_int_equal(u.commit_index, 100);
	raft_destroy(r);
}

static void test_restart_from_tail_rejoins(void **state)
{
	(void)state;
	start();
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	propose_committed(1, 3 * WINDOW, 100);
	raft_index commit = raft_commit_index(cluster.nodes[2].raft);
	assert_true(commit > 2 * WINDOW);
	/* Its durable log no longer fits the window: restart from the tail
	 * above what it knows committed. */
	h_crash_restart_from(&cluster, 2, commit - 4, small_window);
	assert_int_equal(raft_commit_index(cluster.nodes[2].raft), commit - 4);
	assert_int_equal(raft_first_index(cluster.nodes[2].raft), commit - 3);
	propose_committed(1, WINDOW, 1000);
	assert_int_equal(raft_commit_index(cluster.nodes[2].raft),
			 raft_commit_index(cluster.nodes[1].raft));
	assert_int_equal(raft_last_index(cluster.nodes[2].raft),
			 raft_last_index(cluster.nodes[1].raft));
	/* And it can lead: the others' logs are complete, its window is not. */
	h_isolate(&cluster, 1, true);
	h_elect(&cluster, 2);
	h_deliver_all(&cluster);
	propose_committed(2, 4, 5000);
	assert_int_equal(raft_commit_index(cluster.nodes[3].raft),
			 raft_last_index(cluster.nodes[2].raft));
	h_destroy(&cluster);
}

static void test_leader_releases_past_a_dead_follower(void **state)
{
	(void)state;
	start();
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	cluster.nodes[3].down = true;
	/* Many windows' worth, one at a time: never refused as LOG_FULL. */
	propose_committed(1, 4 * WINDOW, 100);
	const struct raft *leader = cluster.nodes[1].raft;
	assert_true(raft_first_index(leader) > WINDOW);
	struct raft_progress_info pi;
	assert_true(raft_progress(leader, 3, &pi));
	assert_true(pi.match_index < raft_first_index(leader));

	/* Node 3 comes back: what it lacks below the window comes as a
	 * from_storage append that the caller fills. */
	cluster.nodes[3].down = false;
	cluster.from_storage_count = 0;
	h_tick(&cluster, 1, 2); /* heartbeat */
	h_deliver_all(&cluster);
	assert_true(cluster.from_storage_count > 0);
	const struct raft_msg_append *a = &cluster.from_storage_last.append;
	assert_int_equal(cluster.from_storage_last.type, RAFT_MSG_APPEND);
	assert_int_equal(cluster.from_storage_last.to, 3);
	assert_true(a->from_storage);
	assert_null(a->entries);
	assert_int_equal(a->prev_term, 0);
	assert_true(a->entries_count >= 1 && a->entries_count <= BATCH);
	assert_true(a->prev_index + a->entries_count < raft_first_index(leader));
	/* It caught up completely, through storage and then the window. */
	assert_int_equal(raft_last_index(cluster.nodes[3].raft), raft_last_index(leader));
	assert_int_equal(raft_commit_index(cluster.nodes[3].raft), raft_commit_index(leader));
	for (raft_index i = 1; i <= raft_last_index(leader); i++) {
		assert_int_equal(cluster.nodes[3].log[i].term, cluster.nodes[1].log[i].term);
		assert_int_equal(cluster.nodes[3].log[i].payload, cluster.nodes[1].log[i].payload);
	}
	h_destroy(&cluster);
}

static void test_from_storage_on_the_wire_is_dropped(void **state)
{
	(void)state;
	h_init(&cluster, 3, small_window);
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
	ev.receive = (struct raft_message){.type = RAFT_MSG_APPEND, .from = 2, .to = 1, .term = 1};
	ev.receive.append.from_storage = true;
	ev.receive.append.entries_count = 0;
	h_step(&cluster, 1, &ev);
	struct raft_counters k;
	raft_get_counters(cluster.nodes[1].raft, &k);
	assert_int_equal(k.msgs_dropped_invalid, 1);
	assert_int_equal(raft_current_term(cluster.nodes[1].raft), 0);
	h_destroy(&cluster);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_from_validates_the_tail),
		cmocka_unit_test(test_restart_from_tail_rejoins),
		cmocka_unit_test(test_leader_releases_past_a_dead_follower),
		cmocka_unit_test(test_from_storage_on_the_wire_is_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
