/* SPDX-License-Identifier: MIT */
/*
 * sim_member.c - membership changes in the random runs (the MEMBERSHIP
 * CONTRACT of consensus.h) and the properties that go with them.
 *
 * The driver, every 50-600 ms of the chaos period, asks the leader for one
 * change: promote a learner (refused while it is behind), add a spare id as
 * a learner (a new node with an empty log, started with the initial
 * members, outside the configuration), remove a voter (the leader
 * included: it steps down once the removal commits) when there are more
 * than the initial count or a member is down (a crashed node replaced by a
 * spare), or remove a learner; and now and then a second change right
 * after the first (a correct core refuses it: one change at a time).
 * Spare ids are never reused.
 *
 * Properties, after every step of a node:
 *  Config On Append      the configuration in force is the one of the
 *                        latest config entry in the node's log (§4.1).
 *  One Change At A Time  a leader's log never holds two uncommitted config
 *                        entries.
 *  Removed Never Leads   a server whose removal committed never leads.
 *  Leader By Its Voters  a leader holds the votes of a majority of its own
 *                        configuration's voters: a learner's vote never
 *                        counts (sim_check.c; a server itself votes
 *                        without consulting its configuration, §4.1).
 * Election Safety (one leader per term, whatever configuration each voter
 * had) is the existing check; Leader Completeness at commit counts each
 * candidate's own configuration's voters (sim_check.c).
 */
#include <string.h>

#include "common.h"
#include "sim.h"

void sim_initial_conf(const struct sim *s, struct raft_membership *m)
{
	*m = (struct raft_membership){.voters_count = s->p.nodes_count};
	for (uint32_t i = 0; i < s->p.nodes_count; i++) {
		m->voters[i] = i + 1;
	}
}

bool sim_conf_has(const struct raft_membership *m, raft_node_id id, bool voters_only)
{
	for (uint32_t i = 0; i < m->voters_count; i++) {
		if (m->voters[i] == id) {
			return true;
		}
	}
	for (uint32_t i = 0; i < m->learners_count && !voters_only; i++) {
		if (m->learners[i] == id) {
			return true;
		}
	}
	return false;
}

bool sim_node_member(const struct sim *s, raft_node_id id)
{
	return !s->p.membership || sim_conf_has(&s->conf_committed, id, false);
}

/* The latest config entry of n's written log in (floor, upto], 0 if none. */
static raft_index sim_member_scan(const struct sim_node *n, raft_index floor, raft_index upto)
{
	for (raft_index i = rn_min_u64(upto, n->wlog_count); i > floor; i--) {
		if (n->dlog[i - 1].type == RAFT_ENTRY_CONFIG) {
			return i;
		}
	}
	return 0;
}

void sim_member_floor(struct sim *s, struct sim_node *n, raft_index prev_index,
		      struct raft_membership *m)
{
	if (n->snap.index != 0) {
		*m = n->snap.conf;
	} else {
		sim_initial_conf(s, m);
	}
	for (raft_index i = n->snap.index + 1; i <= prev_index && i <= n->wlog_count; i++) {
		if (n->dlog[i - 1].type == RAFT_ENTRY_CONFIG) {
			raft_membership_apply(m, n->dlog[i - 1].payload);
		}
	}
	n->conf_base = prev_index;
	n->conf_entry_index = sim_member_scan(n, prev_index, n->wlog_count);
}

void sim_member_after_process(struct sim *s, struct sim_node *n, const struct raft_update *u)
{
	if (u->flags & RAFT_UPDATE_SNAPSHOT) {
		n->conf_entry_index = 0;
		n->conf_base = u->snapshot.index;
	}
	if ((u->flags & RAFT_UPDATE_TRUNCATE) && n->conf_entry_index >= u->truncate_index) {
		n->conf_entry_index = sim_member_scan(n, n->conf_base, u->truncate_index - 1);
	}
	raft_index commit = raft_commit_index(n->raft);
	for (uint32_t i = 0; i < u->entries_count; i++) {
		const struct raft_entry *e = &u->entries[i];
		if (e->type != RAFT_ENTRY_CONFIG) {
			continue;
		}
		if (u->role == RAFT_LEADER && e->term == u->term) {
			/* A leader appends a change: none other uncommitted. */
			for (raft_index j = commit + 1; j < e->index; j++) {
				struct raft_entry x;
				if (raft_log_entry(n->raft, j, &x) && x.type == RAFT_ENTRY_CONFIG) {
					check_violation(s, "One Change At A Time",
							"leader n%u appends a change at %llu while the "
							"one at %llu is uncommitted (commit %llu)",
							n->id, (unsigned long long)e->index,
							(unsigned long long)j, (unsigned long long)commit);
					return;
				}
			}
		}
		n->conf_entry_index = rn_max_u64(n->conf_entry_index, e->index);
	}
	if (n->conf_entry_index > n->conf_base &&
	    raft_membership_index(n->raft) < n->conf_entry_index) {
		check_violation(s, "Config On Append",
				"n%u's log holds a config entry at %llu, but its configuration "
				"in force is the one of %llu",
				n->id, (unsigned long long)n->conf_entry_index,
				(unsigned long long)raft_membership_index(n->raft));
		return;
	}
	/* n->role is still the role before this update (sim.c). */
	if (u->role == RAFT_LEADER && n->role != RAFT_LEADER &&
	    (s->removed_mask & (1u << n->id)) != 0) {
		check_violation(s, "Removed Never Leads",
				"n%u leads term %llu after its removal committed", n->id,
				(unsigned long long)u->term);
	}
}

static raft_node_id sim_member_leader(struct sim *s)
{
	raft_node_id best = RAFT_NODE_NONE;
	raft_term best_term = 0;
	for (raft_node_id id = 1; id <= s->nodes_total; id++) {
		const struct sim_node *n = &s->nodes[id];
		if (n->up && n->raft != NULL && raft_role(n->raft) == RAFT_LEADER &&
		    raft_current_term(n->raft) >= best_term) {
			best = id;
			best_term = raft_current_term(n->raft);
		}
	}
	return best;
}

/* A spare id never added yet (ids are not reused), or NONE. */
static raft_node_id sim_member_spare(struct sim *s, const struct raft_membership *m)
{
	for (raft_node_id id = s->p.nodes_count + 1; id <= s->nodes_total; id++) {
		const struct sim_node *n = &s->nodes[id];
		if (!sim_conf_has(m, id, false) && (s->removed_mask & (1u << id)) == 0 && n->up &&
		    raft_last_index(n->raft) == 0 && n->hard_state.term == 0) {
			return id;
		}
	}
	return RAFT_NODE_NONE;
}

static bool sim_member_ask(struct sim *s, raft_node_id leader, uint8_t op, raft_node_id id)
{
	static const char *const names[] = {"?", "add learner", "promote", "remove", "force"};
	struct raft_event ev = {.type = RAFT_EVENT_MEMBER};
	int rc = 0;

	ev.member.op = op;
	ev.member.id = id;
	sim_node_step(s, &s->nodes[leader], &ev, &rc);
	if (rc != 0) {
		s->conf_refused++;
		s->conf_refused_behind += rc == -RAFT_ERR_LEARNER_BEHIND;
		sim_log(s, SIM_TRACE, "n%u refuses to %s n%u: %s", leader, names[op], id,
			raft_strerror(rc));
		return false;
	}
	sim_log(s, SIM_STORY, "n%u (leader) appends a change: %s n%u at %llu", leader, names[op],
		id, (unsigned long long)ev.member.index);
	s->conf_adds += op == RAFT_CONF_ADD_LEARNER;
	s->conf_promotes += op == RAFT_CONF_PROMOTE;
	s->conf_removes += op == RAFT_CONF_REMOVE;
	return true;
}

void sim_member_step(struct sim *s)
{
	raft_node_id leader = sim_member_leader(s);
	if (leader == RAFT_NODE_NONE) {
		return;
	}
	struct raft_membership m;
	raft_membership(s->nodes[leader].raft, &m);
	uint32_t floor = s->p.nodes_count < 3 ? s->p.nodes_count : 3;
	raft_node_id down = RAFT_NODE_NONE;
	for (uint32_t i = 0; i < m.voters_count; i++) {
		if (!s->nodes[m.voters[i]].up) {
			down = m.voters[i];
		}
	}
	raft_node_id spare = sim_member_spare(s, &m);
	uint8_t op = 0;
	raft_node_id id = RAFT_NODE_NONE;
	uint64_t r = sim_rand_range(s, 0, 99);
	if (m.learners_count > 0 && r < 70) {
		op = RAFT_CONF_PROMOTE;
		id = m.learners[sim_rand_range(s, 0, m.learners_count - 1)];
	} else if (m.learners_count > 0 && r < 80) {
		op = RAFT_CONF_REMOVE;
		id = m.learners[sim_rand_range(s, 0, m.learners_count - 1)];
	} else if (down != RAFT_NODE_NONE && spare != RAFT_NODE_NONE && m.voters_count > 1 &&
		   r < 90) {
		op = RAFT_CONF_REMOVE; /* replaced by the spare next */
		id = down;
		s->conf_replaces++;
	} else if (m.voters_count > floor && r < 60) {
		op = RAFT_CONF_REMOVE; /* the leader too */
		id = m.voters[sim_rand_range(s, 0, m.voters_count - 1)];
	} else if (spare != RAFT_NODE_NONE && m.learners_count == 0) {
		op = RAFT_CONF_ADD_LEARNER;
		id = spare;
	}
	/* A learner may be promoted while it is down: the promotion takes
	 * effect when appended, the learner learns it later, and until then
	 * it votes for a candidate that counts it (the core asks no server
	 * whether it is a voter of its own configuration; seed 1797 at 3
	 * nodes deadlocked for good when it did). */
	if (op == 0) {
		return;
	}
	if (!sim_member_ask(s, leader, op, id) || s->violated || !sim_chance(s, 300)) {
		return;
	}
	/* At once a second one: refused while the first is uncommitted. */
	if (s->nodes[leader].up && s->nodes[leader].raft != NULL &&
	    raft_role(s->nodes[leader].raft) == RAFT_LEADER) {
		raft_membership(s->nodes[leader].raft, &m);
		spare = sim_member_spare(s, &m);
		if (spare != RAFT_NODE_NONE) {
			sim_member_ask(s, leader, RAFT_CONF_ADD_LEARNER, spare);
		} else if (m.learners_count > 0) {
			sim_member_ask(s, leader, RAFT_CONF_REMOVE, m.learners[0]);
		}
	}
}
