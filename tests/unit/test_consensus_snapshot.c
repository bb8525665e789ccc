/* SPDX-License-Identifier: MIT */
/*
 * Goal: snapshots and InstallSnapshot in the core (§5.1, Figure 5.3; the
 * SNAPSHOT CONTRACT of consensus.h). A leader offers its snapshot to a
 * follower whose next entry is compacted away and sends it no appends
 * until it acknowledges; the follower installs it (its log restarts after
 * the snapshot, commit = its index) and answers only once the install is
 * durable; a follower whose log already holds (index, term) keeps its
 * suffix; an offer of an older term is refused; an unanswered offer is
 * made again after snapshot_timeout_ticks; a leader change in the middle
 * of a transfer ends with the new leader's snapshot installed.
 * Method: a manual cluster (harness.c) with small windows; the harness
 * plays the caller: it reports snapshots and compaction, and installs
 * when the test says so (h_install).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "harness.h"

#define WINDOW 64u
#define BATCH 8u
#define SNAPSHOT_TIMEOUT_TICKS 5u

static struct h_cluster cluster;

static void small_window(struct raft_config *cfg)
{
	cfg->log_entries_max = WINDOW;
	cfg->append_entries_max = BATCH;
	cfg->check_quorum = false; /* followers are never ticked here */
	cfg->snapshot_timeout_ticks = SNAPSHOT_TIMEOUT_TICKS;
}

static void propose_committed(raft_node_id leader, uint32_t count, uint64_t payload_base)
{
	for (uint32_t i = 0; i < count; i++) {
		assert_int_equal(h_propose(&cluster, leader, payload_base + i), 0);
		h_deliver_all(&cluster);
	}
}

static uint32_t count_queued(raft_node_id to, uint8_t type)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < cluster.msgs_count; i++) {
		n += cluster.msgs[i].to == to && cluster.msgs[i].type == type;
	}
	return n;
}

static uint64_t offers(raft_node_id id)
{
	struct raft_counters k;
	raft_get_counters(cluster.nodes[id].raft, &k);
	return k.snapshots_offered;
}

/*
 * Node 3 is down while the leader (1) commits four windows, snapshots at
 * its commit index S and compacts up to S - 10; node 3 comes back with
 * only the first entry. Returns S.
 */
static raft_index lag_node3(void)
{
	h_init(&cluster, 3, small_window);
	for (raft_node_id id = 1; id <= 3; id++) {
		cluster.nodes[id].auto_apply = true;
	}
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	cluster.nodes[3].down = true;
	propose_committed(1, 4 * WINDOW, 100);
	raft_index s = raft_commit_index(cluster.nodes[1].raft);
	h_snapshot(&cluster, 1, s, s - 10);
	assert_int_equal(raft_compacted_index(cluster.nodes[1].raft), s - 10);
	cluster.nodes[3].down = false;
	return s;
}

static void test_offer_when_next_is_compacted(void **state)
{
	(void)state;
	raft_index s = lag_node3();
	const struct raft *leader = cluster.nodes[1].raft;
	raft_term s_term = cluster.nodes[1].log[s].term;

	h_tick(&cluster, 1, 2); /* a heartbeat: node 3 answers, is found behind */
	h_deliver_all(&cluster);
	assert_int_equal(offers(1), 1);
	struct raft_progress_info pi;
	assert_true(raft_progress(leader, 3, &pi));
	assert_int_equal(pi.state, RAFT_PROGRESS_SNAPSHOT);
	assert_int_equal(pi.snapshot_index, s);
	/* The follower was asked to install exactly the leader's snapshot. */
	const struct h_node *f = &cluster.nodes[3];
	assert_true(f->install_asked);
	assert_int_equal(f->install.index, s);
	assert_int_equal(f->install.term, s_term);
	assert_int_equal(f->install.voters_count, 3);
	/* While the transfer runs, no appends go to node 3. */
	assert_int_equal(h_propose(&cluster, 1, 999), 0);
	assert_int_equal(count_queued(3, RAFT_MSG_APPEND), 0);
	assert_int_equal(count_queued(2, RAFT_MSG_APPEND), 1);
	h_deliver_all(&cluster);
	h_destroy(&cluster);
}

static void test_install_resets_log_and_answers_when_durable(void **state)
{
	(void)state;
	raft_index s = lag_node3();
	const struct raft *leader = cluster.nodes[1].raft;
	const struct raft *f = cluster.nodes[3].raft;

	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	assert_true(cluster.nodes[3].install_asked);
	/* The in-memory log restarts after the snapshot. */
	assert_int_equal(raft_first_index(f), s + 1);
	assert_int_equal(raft_last_index(f), s);
	assert_int_equal(raft_commit_index(f), s);
	assert_int_equal(raft_log_term(f, s), cluster.nodes[1].log[s].term);
	struct raft_counters k;
	raft_get_counters(f, &k);
	assert_int_equal(k.snapshots_installed, 1);
	/* Not durable yet: no acknowledgement, the leader still waits. */
	struct raft_progress_info pi;
	assert_true(raft_progress(leader, 3, &pi));
	assert_int_equal(pi.state, RAFT_PROGRESS_SNAPSHOT);
	assert_true(pi.match_index < s);

	h_install(&cluster, 3);
	struct raft_snapshot_meta meta;
	raft_snapshot(f, &meta);
	assert_int_equal(meta.index, s);
	assert_int_equal(raft_compacted_index(f), s);
	h_deliver_all(&cluster);
	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	assert_true(raft_progress(leader, 3, &pi));
	assert_int_equal(pi.state, RAFT_PROGRESS_REPLICATE);
	assert_int_equal(pi.match_index, raft_last_index(leader));
	assert_int_equal(raft_last_index(f), raft_last_index(leader));
	assert_int_equal(raft_commit_index(f), raft_commit_index(leader));
	for (raft_index i = s + 1; i <= raft_last_index(leader); i++) {
		assert_int_equal(cluster.nodes[3].log[i].term, cluster.nodes[1].log[i].term);
		assert_int_equal(cluster.nodes[3].log[i].payload, cluster.nodes[1].log[i].payload);
	}
	h_destroy(&cluster);
}

static struct raft_message offer(raft_node_id from, raft_node_id to, raft_term term,
				 raft_index index, raft_term index_term)
{
	struct raft_message m = {.type = RAFT_MSG_SNAPSHOT, .from = from, .to = to, .term = term};
	m.snapshot.meta.index = index;
	m.snapshot.meta.term = index_term;
	m.snapshot.meta.voters_count = 3;
	for (uint32_t i = 0; i < 3; i++) {
		m.snapshot.meta.voters[i] = i + 1;
	}
	return m;
}

static void test_matching_log_keeps_its_suffix(void **state)
{
	(void)state;
	h_init(&cluster, 3, small_window);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	/* Node 2 gets entries 2..6 but the leader never hears back: node 2's
	 * commit stays below its log's end. */
	cluster.cut[2][1] = true;
	h_isolate(&cluster, 3, true);
	for (uint64_t p = 1; p <= 5; p++) {
		assert_int_equal(h_propose(&cluster, 1, p), 0);
		h_deliver_all(&cluster);
	}
	const struct raft *f = cluster.nodes[2].raft;
	raft_term t = raft_current_term(cluster.nodes[1].raft);
	assert_int_equal(raft_last_index(f), 6);
	assert_true(raft_commit_index(f) < 4);

	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
	ev.receive = offer(1, 2, t, 4, t);
	h_step(&cluster, 2, &ev);
	assert_false(cluster.last_update.flags & RAFT_UPDATE_SNAPSHOT);
	assert_false(cluster.nodes[2].install_asked);
	assert_int_equal(raft_first_index(f), 1);
	assert_int_equal(raft_last_index(f), 6);
	assert_int_equal(raft_commit_index(f), 4);
	assert_int_equal(raft_log_term(f, 6), t);
	/* Acknowledged at once: all of it was durable and matches. */
	const struct raft_message *resp = &cluster.msgs[cluster.msgs_count - 1];
	assert_int_equal(resp->type, RAFT_MSG_APPEND_RESP);
	assert_false(resp->append_resp.reject);
	assert_true(resp->append_resp.match_index >= 4);
	h_destroy(&cluster);
}

static void test_stale_term_offer_refused(void **state)
{
	(void)state;
	h_init(&cluster, 3, small_window);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	h_elect(&cluster, 2);
	h_deliver_all(&cluster);
	const struct raft *f = cluster.nodes[3].raft;
	raft_term t = raft_current_term(f);
	raft_index last = raft_last_index(f);
	assert_true(t >= 2);

	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
	ev.receive = offer(1, 3, t - 1, last + 50, t - 1);
	h_step(&cluster, 3, &ev);
	assert_false(cluster.last_update.flags & RAFT_UPDATE_SNAPSHOT);
	assert_false(cluster.nodes[3].install_asked);
	assert_int_equal(raft_last_index(f), last);
	assert_int_equal(raft_current_term(f), t);
	assert_int_equal(raft_leader_id(f), 2);
	struct raft_counters k;
	raft_get_counters(f, &k);
	assert_int_equal(k.msgs_dropped_stale, 1);
	/* The deposed leader is told the new term. */
	const struct raft_message *resp = &cluster.msgs[cluster.msgs_count - 1];
	assert_int_equal(resp->type, RAFT_MSG_APPEND_RESP);
	assert_int_equal(resp->to, 1);
	assert_true(resp->append_resp.reject);
	assert_int_equal(resp->term, t);

	/* A malformed one (index 0) is dropped as invalid. */
	ev.receive = offer(2, 3, t, 0, t);
	h_step(&cluster, 3, &ev);
	raft_get_counters(f, &k);
	assert_int_equal(k.msgs_dropped_invalid, 1);
	h_destroy(&cluster);
}

static void test_offer_again_after_timeout(void **state)
{
	(void)state;
	raft_index s = lag_node3();

	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	assert_int_equal(offers(1), 1);
	/* Node 3 crashes before its install is durable: the transfer and the
	 * install are lost with it. */
	h_crash_restart(&cluster, 3, small_window);
	cluster.nodes[3].install_asked = false;
	assert_int_equal(raft_last_index(cluster.nodes[3].raft), 0);
	h_tick(&cluster, 1, SNAPSHOT_TIMEOUT_TICKS - 1);
	h_deliver_all(&cluster);
	assert_int_equal(offers(1), 1); /* not yet */
	h_tick(&cluster, 1, 1);
	h_deliver_all(&cluster);
	assert_int_equal(offers(1), 2);
	assert_true(cluster.nodes[3].install_asked);
	assert_int_equal(cluster.nodes[3].install.index, s);
	/* Once installed, the follower catches up. */
	h_install(&cluster, 3);
	h_deliver_all(&cluster);
	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	assert_int_equal(raft_last_index(cluster.nodes[3].raft),
			 raft_last_index(cluster.nodes[1].raft));
	assert_int_equal(offers(1), 2);
	h_destroy(&cluster);
}

static void test_leader_change_mid_transfer(void **state)
{
	(void)state;
	raft_index s = lag_node3();

	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	assert_true(cluster.nodes[3].install_asked);
	assert_int_equal(cluster.nodes[3].install.index, s);
	/* Node 2 takes over (with a snapshot of its own) before node 3's
	 * install is durable. */
	propose_committed(1, 10, 5000);
	raft_index s2 = raft_commit_index(cluster.nodes[2].raft);
	h_snapshot(&cluster, 2, s2, s);
	h_elect(&cluster, 2);
	h_deliver_all(&cluster);
	h_tick(&cluster, 2, 2);
	h_deliver_all(&cluster);
	const struct raft *leader = cluster.nodes[2].raft;
	const struct raft *f = cluster.nodes[3].raft;
	assert_int_equal(raft_leader_id(f), 2);
	/* Node 3 takes the new leader's entries after the snapshot but
	 * acknowledges nothing until its install is durable. */
	struct raft_progress_info pi;
	assert_true(raft_progress(leader, 3, &pi));
	assert_true(pi.match_index < s);
	assert_true(cluster.nodes[3].install_asked);
	h_install(&cluster, 3);
	h_deliver_all(&cluster);
	h_tick(&cluster, 2, 2);
	h_deliver_all(&cluster);
	assert_true(raft_progress(leader, 3, &pi));
	assert_int_equal(pi.state, RAFT_PROGRESS_REPLICATE);
	assert_int_equal(pi.match_index, raft_last_index(leader));
	assert_int_equal(raft_last_index(f), raft_last_index(leader));
	assert_int_equal(raft_commit_index(f), raft_commit_index(leader));
	for (raft_index i = s + 1; i <= raft_last_index(leader); i++) {
		assert_int_equal(cluster.nodes[3].log[i].term, cluster.nodes[2].log[i].term);
		assert_int_equal(cluster.nodes[3].log[i].payload, cluster.nodes[2].log[i].payload);
	}
	h_destroy(&cluster);
}

/* A newer offer (from a new leader) supersedes an install in progress: the
 * report of the older one is ignored, the newer one answers. */
static void test_newer_offer_supersedes_install(void **state)
{
	(void)state;
	raft_index s = lag_node3();

	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	struct h_node *f = &cluster.nodes[3];
	assert_true(f->install_asked);
	struct raft_snapshot_meta old = f->install;
	propose_committed(1, 10, 5000);
	raft_index s2 = raft_commit_index(cluster.nodes[2].raft);
	assert_true(s2 > s);
	raft_term t2 = raft_current_term(cluster.nodes[1].raft) + 1;
	/* Node 2, leader of the next term, offers its snapshot at s2. */
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
	ev.receive = (struct raft_message){.type = RAFT_MSG_SNAPSHOT, .from = 2, .to = 3, .term = t2};
	ev.receive.snapshot.meta = (struct raft_snapshot_meta){
		.index = s2, .term = cluster.nodes[2].log[s2].term, .voters_count = 3,
		.voters = {1, 2, 3}};
	cluster.msgs_count = 0;
	f->install_asked = false;
	h_step(&cluster, 3, &ev);
	assert_true(f->install_asked);
	assert_int_equal(f->install.index, s2);
	assert_int_equal(raft_commit_index(f->raft), s2);
	/* The old install's report changes nothing and answers nobody. */
	ev = (struct raft_event){.type = RAFT_EVENT_SNAPSHOT_INSTALLED};
	ev.installed.index = old.index;
	ev.installed.term = old.term;
	h_step(&cluster, 3, &ev);
	assert_int_equal(cluster.msgs_count, 0);
	h_install(&cluster, 3);
	assert_int_equal(cluster.msgs_count, 1);
	assert_int_equal(cluster.msgs[0].type, RAFT_MSG_APPEND_RESP);
	assert_int_equal(cluster.msgs[0].to, 2);
	assert_int_equal(cluster.msgs[0].append_resp.match_index, s2);
	h_destroy(&cluster);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offer_when_next_is_compacted),
		cmocka_unit_test(test_install_resets_log_and_answers_when_durable),
		cmocka_unit_test(test_matching_log_keeps_its_suffix),
		cmocka_unit_test(test_stale_term_offer_refused),
		cmocka_unit_test(test_offer_again_after_timeout),
		cmocka_unit_test(test_leader_change_mid_transfer),
		cmocka_unit_test(test_newer_offer_supersedes_install),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
