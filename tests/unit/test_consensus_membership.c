/* SPDX-License-Identifier: MIT */
/*
 * Goal: membership changes in the core (§4.1 single-server changes; the
 * MEMBERSHIP CONTRACT of consensus.h). A learner is added, catches up and
 * is promoted; a promotion is refused while the learner is behind; a
 * follower is removed; a leader removing itself steps down once the
 * removal commits and hands over; a second change is refused while one is
 * pending (and the other errors); a truncated config entry reverts to the
 * previous configuration; the commit quorum follows the configuration;
 * a snapshot carries the configuration to a follower that installs it; a
 * server removed by an uncommitted entry, holding the log the others need,
 * campaigns and gets elected.
 * Method: a manual cluster (harness.c) whose nodes above voters_count
 * start with the initial members and an empty log, as a joining node does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "harness.h"

static struct h_cluster cluster;

static void quiet(struct raft_config *cfg)
{
	cfg->check_quorum = false; /* followers are not always ticked here */
	cfg->promote_lag_entries_max = 4;
	cfg->log_entries_max = 256;
	cfg->append_entries_max = 8;
	cfg->snapshot_timeout_ticks = 5;
}

static int member(raft_node_id at, uint8_t op, raft_node_id id)
{
	struct raft_event ev = {.type = RAFT_EVENT_MEMBER};
	ev.member.op = op;
	ev.member.id = id;
	return h_step(&cluster, at, &ev);
}

static bool has(const raft_node_id *ids, uint32_t count, raft_node_id id)
{
	for (uint32_t i = 0; i < count; i++) {
		if (ids[i] == id) {
			return true;
		}
	}
	return false;
}

static struct raft_membership conf_of(raft_node_id id)
{
	struct raft_membership m;
	raft_membership(cluster.nodes[id].raft, &m);
	return m;
}

static void propose_committed(raft_node_id leader, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		assert_int_equal(h_propose(&cluster, leader, 100 + i), 0);
		h_deliver_all(&cluster);
	}
}

/* Three voters and node 4 outside; 1 leads with its no-op committed. */
static void start3(uint32_t nodes)
{
	h_init_voters(&cluster, nodes, 3, quiet);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
}

static void test_add_learner_then_promote(void **state)
{
	(void)state;
	start3(4);
	propose_committed(1, 3);
	assert_int_equal(member(1, RAFT_CONF_ADD_LEARNER, 4), 0);
	/* In force on the leader as soon as appended, before commit. */
	struct raft_membership m = conf_of(1);
	assert_true(has(m.learners, m.learners_count, 4));
	assert_int_equal(m.voters_count, 3);
	assert_true(raft_membership_pending(cluster.nodes[1].raft));
	for (int i = 0; i < 10; i++) {
		h_tick(&cluster, 1, 2);
		h_deliver_all(&cluster);
	}
	assert_false(raft_membership_pending(cluster.nodes[1].raft));
	/* The learner got the whole log, its configuration with it. */
	assert_int_equal(raft_last_index(cluster.nodes[4].raft),
			 raft_last_index(cluster.nodes[1].raft));
	m = conf_of(4);
	assert_true(has(m.learners, m.learners_count, 4));
	/* A learner never campaigns. */
	h_tick(&cluster, 4, 100);
	assert_int_equal(raft_role(cluster.nodes[4].raft), RAFT_FOLLOWER);
	assert_int_equal(member(1, RAFT_CONF_PROMOTE, 4), 0);
	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	m = conf_of(1);
	assert_int_equal(m.voters_count, 4);
	assert_int_equal(m.learners_count, 0);
	assert_true(has(m.voters, m.voters_count, 4));
	m = conf_of(4);
	assert_true(has(m.voters, m.voters_count, 4));
	h_destroy(&cluster);
}

static void test_promote_refused_when_behind(void **state)
{
	(void)state;
	start3(4);
	assert_int_equal(member(1, RAFT_CONF_ADD_LEARNER, 4), 0);
	h_deliver_all(&cluster);
	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	assert_false(raft_membership_pending(cluster.nodes[1].raft));
	h_isolate(&cluster, 4, true);
	for (uint32_t i = 0; i < 10; i++) {
		assert_int_equal(h_propose(&cluster, 1, 200 + i), 0);
		h_deliver_all(&cluster);
	}
	assert_int_equal(member(1, RAFT_CONF_PROMOTE, 4), -RAFT_ERR_LEARNER_BEHIND);
	h_isolate(&cluster, 4, false);
	for (int i = 0; i < 10; i++) {
		h_tick(&cluster, 1, 2);
		h_deliver_all(&cluster);
	}
	assert_int_equal(member(1, RAFT_CONF_PROMOTE, 4), 0);
	h_destroy(&cluster);
}

static void test_remove_follower(void **state)
{
	(void)state;
	start3(3);
	assert_int_equal(member(1, RAFT_CONF_REMOVE, 3), 0);
	h_deliver_all(&cluster);
	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	struct raft_membership m = conf_of(1);
	assert_int_equal(m.voters_count, 2);
	assert_false(has(m.voters, m.voters_count, 3));
	/* Two voters: both needed; 3 is out of it. */
	h_isolate(&cluster, 3, true);
	raft_index before = raft_commit_index(cluster.nodes[1].raft);
	propose_committed(1, 2);
	assert_int_equal(raft_commit_index(cluster.nodes[1].raft), before + 2);
	/* The removed server never disrupts. Cut off, it cannot learn that
	 * its removal committed, so it may ask (a server removed by an
	 * uncommitted entry can be the only one the others can elect), but
	 * only with pre-votes: its term stays, and once it is back the
	 * leader and its term stay too. */
	raft_term term = raft_current_term(cluster.nodes[1].raft);
	h_tick(&cluster, 3, 100);
	assert_int_not_equal(raft_role(cluster.nodes[3].raft), RAFT_CANDIDATE);
	assert_int_not_equal(raft_role(cluster.nodes[3].raft), RAFT_LEADER);
	assert_int_equal(raft_current_term(cluster.nodes[3].raft), term);
	h_isolate(&cluster, 3, false);
	for (int i = 0; i < 5; i++) {
		h_tick(&cluster, 3, 20);
		h_tick(&cluster, 1, 1);
		h_deliver_all(&cluster);
	}
	assert_int_equal(h_leader(&cluster), 1);
	assert_int_equal(raft_current_term(cluster.nodes[1].raft), term);
	assert_int_equal(raft_current_term(cluster.nodes[2].raft), term);
	h_destroy(&cluster);
}

static void test_remove_leader_steps_down(void **state)
{
	(void)state;
	start3(3);
	propose_committed(1, 2);
	assert_int_equal(member(1, RAFT_CONF_REMOVE, 1), 0);
	/* Still leading while the removal is uncommitted. */
	assert_int_equal(raft_role(cluster.nodes[1].raft), RAFT_LEADER);
	for (int i = 0; i < 20 && h_leader(&cluster) == 1; i++) {
		h_tick(&cluster, 1, 1);
		h_deliver_all(&cluster);
	}
	raft_node_id leader = h_leader(&cluster);
	assert_true(leader == 2 || leader == 3); /* TimeoutNow: no timeout waited */
	assert_int_equal(raft_role(cluster.nodes[1].raft), RAFT_FOLLOWER);
	struct raft_membership m = conf_of(leader);
	assert_int_equal(m.voters_count, 2);
	assert_false(has(m.voters, m.voters_count, 1));
	h_isolate(&cluster, 1, true);
	h_tick(&cluster, 1, 100);
	assert_int_equal(raft_role(cluster.nodes[1].raft), RAFT_FOLLOWER);
	h_destroy(&cluster);
}

/* The leader appends node 4's removal, and entries after it, to node 4
 * alone, then is gone for good. Nodes 2 and 3 lack the removal: they count
 * 4 as a voter and need its vote, which its newer log refuses them. Node 4
 * (removed in its own newest configuration, not known committed) campaigns,
 * with a pre-vote, wins 2 and 3, commits its removal and hands over (raftsim
 * seed 61 at 3 nodes, --snapshots off, stayed leaderless when it kept
 * silent). */
static void test_removed_by_uncommitted_entry_campaigns(void **state)
{
	(void)state;
	start3(4);
	assert_int_equal(member(1, RAFT_CONF_ADD_LEARNER, 4), 0);
	for (int i = 0; i < 5; i++) {
		h_tick(&cluster, 1, 2);
		h_deliver_all(&cluster);
	}
	assert_int_equal(member(1, RAFT_CONF_PROMOTE, 4), 0);
	for (int i = 0; i < 3; i++) {
		h_tick(&cluster, 1, 2);
		h_deliver_all(&cluster);
	}
	assert_int_equal(conf_of(2).voters_count, 4);
	/* Only 1 and 4 hear each other now. */
	for (raft_node_id a = 1; a <= 4; a++) {
		for (raft_node_id b = 1; b <= 4; b++) {
			bool side_a = a == 1 || a == 4, side_b = b == 1 || b == 4;
			cluster.cut[a][b] = side_a != side_b;
		}
	}
	assert_int_equal(member(1, RAFT_CONF_REMOVE, 4), 0);
	assert_int_equal(h_propose(&cluster, 1, 500), 0);
	h_deliver_all(&cluster);
	raft_index last = raft_last_index(cluster.nodes[1].raft);
	assert_int_equal(raft_last_index(cluster.nodes[4].raft), last);
	assert_false(has(conf_of(4).voters, conf_of(4).voters_count, 4));
	assert_true(has(conf_of(2).voters, conf_of(2).voters_count, 4));
	cluster.nodes[1].down = true; /* its log is lost */
	memset(cluster.cut, 0, sizeof(cluster.cut));
	raft_node_id leader = RAFT_NODE_NONE;
	for (int i = 0; i < 200 && (leader == RAFT_NODE_NONE || leader == 1 || leader == 4); i++) {
		for (raft_node_id id = 2; id <= 4; id++) {
			h_tick(&cluster, id, 1);
		}
		h_deliver_all(&cluster);
		leader = h_leader(&cluster);
	}
	assert_true(leader == 2 || leader == 3);
	struct raft_membership m = conf_of(leader);
	assert_int_equal(m.voters_count, 3);
	assert_false(has(m.voters, m.voters_count, 4));
	assert_true(raft_commit_index(cluster.nodes[leader].raft) >= last);
	h_destroy(&cluster);
}

static void test_second_change_refused_and_errors(void **state)
{
	(void)state;
	start3(5);
	assert_int_equal(member(2, RAFT_CONF_ADD_LEARNER, 4), -RAFT_ERR_NOT_LEADER);
	assert_int_equal(member(1, RAFT_CONF_REMOVE, 9), -RAFT_ERR_UNKNOWN_MEMBER);
	assert_int_equal(member(1, RAFT_CONF_PROMOTE, 2), -RAFT_ERR_UNKNOWN_MEMBER);
	assert_int_equal(member(1, RAFT_CONF_ADD_LEARNER, 2), -RAFT_ERR_MEMBER_EXISTS);
	assert_int_equal(member(1, 9, 4), -RAFT_ERR_INVALID);
	assert_int_equal(member(1, RAFT_CONF_ADD_LEARNER, 4), 0);
	/* Not delivered: uncommitted, so a second change is refused. */
	assert_int_equal(member(1, RAFT_CONF_ADD_LEARNER, 5), -RAFT_ERR_CHANGE_PENDING);
	h_deliver_all(&cluster);
	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	assert_int_equal(member(1, RAFT_CONF_ADD_LEARNER, 5), 0);
	h_destroy(&cluster);

	/* A new leader before its no-op commits: 3's disk never finishes
	 * the write, so it never acknowledges it (1 is cut off). */
	start3(3);
	h_isolate(&cluster, 1, true);
	cluster.nodes[3].auto_persist = false;
	h_elect(&cluster, 2);
	h_deliver_all(&cluster);
	assert_int_equal(member(2, RAFT_CONF_ADD_LEARNER, 4), -RAFT_ERR_TERM_NOT_COMMITTED);
	h_destroy(&cluster);

	/* The last voter cannot go. */
	h_init(&cluster, 1, quiet);
	h_elect(&cluster, 1);
	assert_int_equal(member(1, RAFT_CONF_REMOVE, 1), -RAFT_ERR_LAST_VOTER);
	h_destroy(&cluster);
}

static void test_truncated_config_reverts(void **state)
{
	(void)state;
	start3(4);
	h_isolate(&cluster, 1, true);
	assert_int_equal(member(1, RAFT_CONF_ADD_LEARNER, 4), 0);
	h_deliver_all(&cluster);
	struct raft_membership m = conf_of(1);
	assert_int_equal(m.learners_count, 1);
	raft_index conf_index = raft_membership_index(cluster.nodes[1].raft);
	assert_true(conf_index > 0);
	/* 2 leads without 1 and writes over the uncommitted change. */
	h_elect(&cluster, 2);
	propose_committed(2, 3);
	h_isolate(&cluster, 1, false);
	for (int i = 0; i < 10; i++) {
		h_tick(&cluster, 2, 2);
		h_deliver_all(&cluster);
	}
	assert_int_equal(raft_role(cluster.nodes[1].raft), RAFT_FOLLOWER);
	assert_int_equal(raft_last_index(cluster.nodes[1].raft),
			 raft_last_index(cluster.nodes[2].raft));
	m = conf_of(1);
	assert_int_equal(m.learners_count, 0); /* the previous configuration */
	assert_int_equal(m.voters_count, 3);
	assert_true(raft_membership_index(cluster.nodes[1].raft) < conf_index);
	h_destroy(&cluster);
}

static void test_quorum_follows_configuration(void **state)
{
	(void)state;
	start3(4);
	assert_int_equal(member(1, RAFT_CONF_ADD_LEARNER, 4), 0);
	h_deliver_all(&cluster);
	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	assert_int_equal(member(1, RAFT_CONF_PROMOTE, 4), 0);
	h_deliver_all(&cluster);
	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	assert_int_equal(conf_of(1).voters_count, 4);
	/* 4 voters: 1 and 2 alone (2 of 4) commit nothing. */
	h_isolate(&cluster, 3, true);
	h_isolate(&cluster, 4, true);
	raft_index before = raft_commit_index(cluster.nodes[1].raft);
	assert_int_equal(h_propose(&cluster, 1, 7), 0);
	h_deliver_all(&cluster);
	assert_int_equal(raft_commit_index(cluster.nodes[1].raft), before);
	/* A third voter makes the quorum of 3. */
	h_isolate(&cluster, 4, false);
	for (int i = 0; i < 5; i++) {
		h_tick(&cluster, 1, 2);
		h_deliver_all(&cluster);
	}
	assert_int_equal(raft_commit_index(cluster.nodes[1].raft), before + 1);
	h_destroy(&cluster);
}

static void small_window(struct raft_config *cfg)
{
	quiet(cfg);
	cfg->log_entries_max = 32;
	cfg->append_entries_max = 4;
}

static void test_snapshot_carries_configuration(void **state)
{
	(void)state;
	h_init_voters(&cluster, 4, 3, small_window);
	h_elect(&cluster, 1);
	h_deliver_all(&cluster);
	for (raft_node_id id = 1; id <= 4; id++) {
		cluster.nodes[id].auto_apply = true;
	}
	assert_int_equal(member(1, RAFT_CONF_ADD_LEARNER, 4), 0);
	h_isolate(&cluster, 4, true); /* it misses everything */
	h_deliver_all(&cluster);
	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	propose_committed(1, 60);
	assert_true(raft_first_index(cluster.nodes[1].raft) > 2); /* released */
	/* The caller's snapshot names the configuration at its index. */
	raft_index s = raft_commit_index(cluster.nodes[1].raft);
	struct raft_membership m = conf_of(1);
	struct raft_event ev = {.type = RAFT_EVENT_SNAPSHOT};
	ev.snapshot.index = s;
	ev.snapshot.term = cluster.nodes[1].log[s].term;
	ev.snapshot.voters_count = m.voters_count;
	memcpy(ev.snapshot.voters, m.voters, sizeof(m.voters));
	ev.snapshot.learners_count = m.learners_count;
	memcpy(ev.snapshot.learners, m.learners, sizeof(m.learners));
	h_step(&cluster, 1, &ev);
	ev = (struct raft_event){.type = RAFT_EVENT_COMPACTED};
	ev.compacted.index = s;
	h_step(&cluster, 1, &ev);
	h_isolate(&cluster, 4, false);
	for (int i = 0; i < 10 && !cluster.nodes[4].install_asked; i++) {
		h_tick(&cluster, 1, 2);
		h_deliver_all(&cluster);
	}
	assert_true(cluster.nodes[4].install_asked);
	assert_int_equal(cluster.nodes[4].install.learners_count, 1);
	assert_int_equal(cluster.nodes[4].install.learners[0], 4);
	/* Installed: its configuration is the snapshot's. */
	m = conf_of(4);
	assert_int_equal(m.voters_count, 3);
	assert_true(has(m.learners, m.learners_count, 4));
	assert_int_equal(raft_membership_index(cluster.nodes[4].raft), s);
	h_install(&cluster, 4);
	h_destroy(&cluster);
}

/* A learner is never asked and never counted, but it answers a vote like
 * any server (§4.1): promoted by an entry it has not received yet, it is a
 * voter for the candidates that hold that entry. */
static void test_learner_answers_votes_never_counted(void **state)
{
	(void)state;
	start3(4);
	assert_int_equal(member(1, RAFT_CONF_ADD_LEARNER, 4), 0);
	h_deliver_all(&cluster);
	h_tick(&cluster, 1, 2);
	h_deliver_all(&cluster);
	/* A vote request of a later term with an up-to-date log: granted. */
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
	ev.receive.type = RAFT_MSG_VOTE;
	ev.receive.from = 2;
	ev.receive.to = 4;
	ev.receive.term = raft_current_term(cluster.nodes[4].raft) + 1;
	ev.receive.vote.last_log_index = 100;
	ev.receive.vote.last_log_term = 100;
	ev.receive.vote.transfer = true; /* past any lease */
	h_step(&cluster, 4, &ev);
	assert_int_equal(raft_voted_for(cluster.nodes[4].raft), 2);
	const struct raft_update *u = &cluster.last_update;
	assert_int_equal(u->msgs_count, 1);
	assert_int_equal(u->msgs[0].type, RAFT_MSG_VOTE_RESP);
	assert_true(u->msgs[0].vote_resp.granted);
	/* A candidate counts only its configuration's voters: 2 campaigns
	 * (asked by the leader to take over), and its own vote plus the
	 * learner's grant do not make it leader of 3 voters. */
	h_isolate(&cluster, 2, true);
	struct raft_event tn = {.type = RAFT_EVENT_RECEIVE};
	tn.receive.type = RAFT_MSG_TIMEOUT_NOW;
	tn.receive.from = 1;
	tn.receive.to = 2;
	tn.receive.term = raft_current_term(cluster.nodes[2].raft);
	h_step(&cluster, 2, &tn);
	assert_int_equal(raft_role(cluster.nodes[2].raft), RAFT_CANDIDATE);
	u = &cluster.last_update;
	for (uint32_t i = 0; i < u->msgs_count; i++) {
		assert_true(u->msgs[i].to != 4); /* the learner is not asked */
	}
	struct raft_event vr = {.type = RAFT_EVENT_RECEIVE};
	vr.receive.type = RAFT_MSG_VOTE_RESP;
	vr.receive.from = 4;
	vr.receive.to = 2;
	vr.receive.term = raft_current_term(cluster.nodes[2].raft);
	vr.receive.vote_resp.granted = true;
	h_step(&cluster, 2, &vr);
	assert_int_equal(raft_role(cluster.nodes[2].raft), RAFT_CANDIDATE);
	h_destroy(&cluster);
}

static void test_force_new_cluster(void **state)
{
	(void)state;
	start3(3);
	propose_committed(1, 3);
	raft_index last = raft_last_index(cluster.nodes[1].raft);
	/* 2 and 3 are lost for good: 1 restarts forced, alone. */
	h_isolate(&cluster, 1, true);
	raft_destroy(cluster.nodes[1].raft);
	struct raft_config cfg;
	raft_config_default(&cfg);
	quiet(&cfg);
	cfg.id = 1;
	cfg.members_count = 3;
	cfg.members[0] = 1;
	cfg.members[1] = 2;
	cfg.members[2] = 3;
	cfg.force_new_cluster = true;
	struct h_node *n = &cluster.nodes[1];
	assert_int_equal(raft_create(&cfg, &n->hard_state, &n->log[1], n->log_last, &n->raft), 0);
	h_tick(&cluster, 1, 40);
	assert_int_equal(raft_role(n->raft), RAFT_LEADER);
	struct raft_membership m = conf_of(1);
	assert_int_equal(m.voters_count, 1);
	assert_true(raft_commit_index(n->raft) >= last + 2); /* no-op and the FORCE entry */
	assert_int_equal(n->log[raft_last_index(n->raft)].type, RAFT_ENTRY_CONFIG);
	assert_int_equal(h_propose(&cluster, 1, 5), 0);
	assert_int_equal(raft_commit_index(n->raft), raft_last_index(n->raft));
	h_destroy(&cluster);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_learner_then_promote),
		cmocka_unit_test(test_promote_refused_when_behind),
		cmocka_unit_test(test_remove_follower),
		cmocka_unit_test(test_remove_leader_steps_down),
		cmocka_unit_test(test_removed_by_uncommitted_entry_campaigns),
		cmocka_unit_test(test_second_change_refused_and_errors),
		cmocka_unit_test(test_truncated_config_reverts),
		cmocka_unit_test(test_quorum_follows_configuration),
		cmocka_unit_test(test_snapshot_carries_configuration),
		cmocka_unit_test(test_learner_answers_votes_never_counted),
		cmocka_unit_test(test_force_new_cluster),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
