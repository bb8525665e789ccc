/* SPDX-License-Identifier: MIT */
/*
 * sim_check.c - the properties raftsim checks after every step (Ongaro,
 * §3.6.3, Figure 3.2), plus the client-visible ones:
 *
 *  Election Safety       at most one leader per term.
 *  Leader Append-Only    a leader never overwrites or deletes its entries.
 *  Log Matching          two logs with an entry of the same index and term
 *                        hold the same entries up to it. Checked by a
 *                        registry of every (index, term) ever appended with
 *                        the term before it and its payload: by induction,
 *                        agreeing on the predecessor of every entry is
 *                        agreeing on the whole prefix.
 *  Leader Completeness   an entry committed in term T is in the log of every
 *                        leader of a term > T (checked at each election).
 *  State Machine Safety  no two servers apply different entries at an index.
 *  Committed entries   are never truncated from a log that durably held them
 *  are kept             (a follower may drop only uncommitted entries, §3.5).
 *  Commit Rule         a follower raises its commit index from an append
 *                       only within what that append checked: up to
 *                       prev_index + entries, holding prev_index/prev_term
 *                       (§3.5), even where the entries it commits are right.
 *  Acknowledgements    a follower's "match up to M" names an entry that is
 *  are true             durable on it and equal to its leader's (§3.5,
 *                       §10.2.1): a false one lets a leader commit what is
 *                       not replicated.
 *  Linearizable Read     a ReadIndex answer covers every entry known
 *                        committed when the read began.
 *  Snapshot Committed    a snapshot, taken or installed, holds committed
 *                        state only: its index was applied by some server
 *                        and its content (digest) equals the committed
 *                        prefix's.
 *  Install Forward       an install moves a node's applied index forward
 *                        only (no index applied twice; the skipped ones are
 *                        in the snapshot, which is the committed prefix).
 *  Acknowledged writes   are checked at the end of a run (sim_chaos.c).
 *
 * Each check costs O(entries touched by the step), except Leader
 * Completeness, O(committed entries) once per election.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "sim.h"

void check_violation(struct sim *s, const char *property, const char *fmt, ...)
{
	if (s->violated) {
		return; /* the first one is what matters */
	}
	s->violated = true;
	snprintf(s->violation_property, sizeof(s->violation_property), "%s", property);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->violation_detail, sizeof(s->violation_detail), fmt, ap);
	va_end(ap);
	sim_log(s, SIM_STORY, "VIOLATION of %s: %s", property, s->violation_detail);
}

static void check_election_safety(struct sim *s, struct sim_node *n, raft_term term)
{
	if (term >= s->leader_of_term_cap) {
		uint64_t cap = rn_max_u64(2 * s->leader_of_term_cap, term + 64);
		s->leader_of_term = realloc(s->leader_of_term, cap * sizeof(*s->leader_of_term));
		RN_ASSERT(s->leader_of_term != NULL);
		memset(&s->leader_of_term[s->leader_of_term_cap], 0,
		       (cap - s->leader_of_term_cap) * sizeof(*s->leader_of_term));
		s->leader_of_term_cap = cap;
	}
	raft_node_id other = s->leader_of_term[term];
	if (other != RAFT_NODE_NONE && other != n->id) {
		check_violation(s, "Election Safety", "n%u and n%u are both leaders of term %llu",
				other, n->id, (unsigned long long)term);
		return;
	}
	s->leader_of_term[term] = n->id;
}

/* Leader By Its Voters: a leader of `term` holds the votes of a majority of
 * the voters of its own configuration (§4: a candidate asks and counts
 * only those; a learner's or a stranger's vote never makes a leader). A
 * voter's vote is what the simulator saw it cast (sim_node_step). */
static void check_leader_votes(struct sim *s, struct sim_node *n, raft_term term)
{
	struct raft_membership conf;
	raft_membership(n->raft, &conf);
	uint32_t votes = 0;
	for (uint32_t i = 0; i < conf.voters_count; i++) {
		raft_node_id v = conf.voters[i];
		if (v == RAFT_NODE_NONE || v > s->nodes_total) {
			continue;
		}
		const struct sim_node *vn = &s->nodes[v];
		for (uint32_t k = 0; k < SIM_VOTES_KEPT && k < vn->votes_cast_next; k++) {
			if (vn->votes_cast[k].term == term && vn->votes_cast[k].cand == n->id) {
				votes++;
				break;
			}
		}
	}
	if (votes < conf.voters_count / 2 + 1) {
		check_violation(s, "Leader By Its Voters",
				"n%u leads term %llu with the votes of %u of its configuration's %u "
				"voters",
				n->id, (unsigned long long)term, votes, conf.voters_count);
	}
}

static void check_leader_completeness(struct sim *s, struct sim_node *n, raft_term term)
{
	raft_index last = raft_last_index(n->raft);
	for (raft_index i = 1; i <= s->committed_count; i++) {
		const struct sim_committed *c = &s->committed[i - 1];
		if (c->commit_term >= term) {
			continue;
		}
		struct raft_entry e;
		if (i > last) {
			check_violation(s, "Leader Completeness",
					"n%u leads term %llu but its log ends at %llu, before entry "
					"%llu committed in term %llu",
					n->id, (unsigned long long)term, (unsigned long long)last,
					(unsigned long long)i, (unsigned long long)c->commit_term);
			return;
		}
		if (!sim_node_entry(n, i, &e)) {
			continue; /* released after apply: it was committed here */
		}
		if (e.term != c->term || e.payload != c->payload) {
			check_violation(s, "Leader Completeness",
					"n%u leads term %llu with entry %llu of term %llu, but the "
					"entry committed there (term %llu) is of term %llu",
					n->id, (unsigned long long)term, (unsigned long long)i,
					(unsigned long long)e.term, (unsigned long long)c->commit_term,
					(unsigned long long)c->term);
			return;
		}
	}
}

/* Registers (index, term) with its predecessor's term and payload, or
 * checks them against the registration. */
static void check_log_matching_one(struct sim *s, struct sim_node *n, const struct raft_entry *e,
				   raft_term prev_term)
{
	if (e->index > s->reg_cap) {
		uint64_t cap = rn_max_u64(2 * s->reg_cap, e->index + 1024);
		s->reg = realloc(s->reg, cap * sizeof(*s->reg));
		RN_ASSERT(s->reg != NULL);
		memset(&s->reg[s->reg_cap], 0, (cap - s->reg_cap) * sizeof(*s->reg));
		s->reg_cap = cap;
	}
	if (e->term < prev_term) {
		check_violation(s, "Log Matching",
				"n%u holds entry %llu of term %llu after an entry of term %llu",
				n->id, (unsigned long long)e->index, (unsigned long long)e->term,
				(unsigned long long)prev_term);
		return;
	}
	struct sim_reg_slot *slot = &s->reg[e->index - 1];
	for (uint32_t i = 0; i < slot->count; i++) {
		const struct sim_reg *r = &slot->v[i];
		if (r->term != e->term) {
			continue;
		}
		if (r->prev_term != prev_term || r->payload != e->payload) {
			check_violation(s, "Log Matching",
					"n%u holds entry %llu/t%llu (payload %llu) after term %llu; "
					"another log has %llu/t%llu (payload %llu) after term %llu",
					n->id, (unsigned long long)e->index,
					(unsigned long long)e->term, (unsigned long long)e->payload,
					(unsigned long long)prev_term, (unsigned long long)e->index,
					(unsigned long long)r->term, (unsigned long long)r->payload,
					(unsigned long long)r->prev_term);
		}
		return;
	}
	if (slot->count == slot->cap) {
		slot->cap = slot->cap ? 2 * slot->cap : 2;
		slot->v = realloc(slot->v, slot->cap * sizeof(*slot->v));
		RN_ASSERT(slot->v != NULL);
	}
	slot->v[slot->count++] =
		(struct sim_reg){.term = e->term, .prev_term = prev_term, .payload = e->payload};
}

static void check_log_matching(struct sim *s, struct sim_node *n, const struct raft_update *u)
{
	if (u->entries_count == 0) {
		return;
	}
	raft_index first = u->entries[0].index;
	raft_index last = u->entries[u->entries_count - 1].index;
	raft_term prev_term = first > 1 ? raft_log_term(n->raft, first - 1) : 0;
	for (uint32_t i = 0; i < u->entries_count && !s->violated; i++) {
		struct raft_entry e;
		/* The log as it stands after the step (an entry written and
		 * overwritten in one step is checked in its final form). */
		if (!raft_log_entry(n->raft, u->entries[i].index, &e)) {
			continue;
		}
		check_log_matching_one(s, n, &e, prev_term);
		prev_term = e.term;
	}
	/* An entry kept after the written range must still follow on. */
	struct raft_entry next;
	if (!s->violated && raft_log_entry(n->raft, last + 1, &next)) {
		check_log_matching_one(s, n, &next, raft_log_term(n->raft, last));
	}
}

/* A truncation from `from` on may drop only uncommitted entries: one this
 * node durably held in its committed form must stay (it is in every later
 * leader's log, so no later leader can conflict with it). */
static void check_truncation(struct sim *s, struct sim_node *n, raft_index from)
{
	raft_index last = rn_min_u64(n->dlog_count, s->committed_count);
	for (raft_index j = from; j <= last; j++) {
		const struct sim_committed *c = &s->committed[j - 1];
		if (n->dlog[j - 1].term == c->term && n->dlog[j - 1].payload == c->payload) {
			check_violation(s, "Committed Entries Kept",
					"n%u truncates its log from %llu, dropping committed entry "
					"%llu/t%llu that it held durably",
					n->id, (unsigned long long)from, (unsigned long long)j,
					(unsigned long long)c->term);
			return;
		}
	}
}

void check_after_step(struct sim *s, struct sim_node *n, const struct raft_update *u,
		      uint8_t role_before, raft_term term_before, raft_index last_before)
{
	if (u->term < term_before) {
		check_violation(s, "Term Monotonic", "n%u went from term %llu back to %llu", n->id,
				(unsigned long long)term_before, (unsigned long long)u->term);
		return;
	}
	if (u->commit_index < n->applied_index) {
		check_violation(s, "State Machine Safety",
				"n%u moved its commit index back from %llu to %llu", n->id,
				(unsigned long long)n->applied_index,
				(unsigned long long)u->commit_index);
		return;
	}
	if (u->role == RAFT_LEADER) {
		if (u->flags & RAFT_UPDATE_TRUNCATE) {
			check_violation(s, "Leader Append-Only",
					"n%u, leader of term %llu, deletes its entries from %llu on",
					n->id, (unsigned long long)u->term,
					(unsigned long long)u->truncate_index);
			return;
		}
		if (role_before == RAFT_LEADER && u->entries_count > 0 &&
		    u->entries[0].index <= last_before) {
			check_violation(s, "Leader Append-Only",
					"n%u, leader of term %llu, rewrites entry %llu", n->id,
					(unsigned long long)u->term,
					(unsigned long long)u->entries[0].index);
			return;
		}
	}
	if (u->flags & RAFT_UPDATE_TRUNCATE) {
		check_truncation(s, n, u->truncate_index);
		/* A log got shorter: the committed prefix must still be out of
		 * reach of any server that could win an election without it
		 * (lacking any committed entry means lacking the last one). */
		if (!s->violated && s->committed_count > 0) {
			check_commit_safe(s, s->committed_count);
		}
		if (s->violated) {
			return;
		}
	}
	check_log_matching(s, n, u);
	if (u->role == RAFT_LEADER && role_before != RAFT_LEADER && !s->violated) {
		check_election_safety(s, n, u->term);
		if (!s->violated) {
			check_leader_votes(s, n, u->term);
		}
		if (!s->violated) {
			check_leader_completeness(s, n, u->term);
		}
	}
}

void check_applied(struct sim *s, struct sim_node *n, const struct raft_entry *e)
{
	if (e->index > s->committed_count) {
		RN_ASSERT(e->index == s->committed_count + 1); /* applied in order */
		if (e->index > s->committed_cap) {
			s->committed_cap = rn_max_u64(2 * s->committed_cap, 4096);
			s->committed = realloc(s->committed, s->committed_cap * sizeof(*s->committed));
			RN_ASSERT(s->committed != NULL);
		}
		uint64_t before = e->index > 1 ? s->committed[e->index - 2].digest : 0;
		s->committed[e->index - 1] = (struct sim_committed){
			.term = e->term,
			.payload = e->payload,
			.type = e->type,
			.commit_term = raft_current_term(n->raft),
			.digest = sim_digest_next(before, e),
		};
		s->committed_count = e->index;
	} else {
		const struct sim_committed *c = &s->committed[e->index - 1];
		if (c->term != e->term || c->payload != e->payload) {
			check_violation(s, "State Machine Safety",
					"n%u applies entry %llu/t%llu (payload %llu) where another "
					"server applied %llu/t%llu (payload %llu)",
					n->id, (unsigned long long)e->index,
					(unsigned long long)e->term, (unsigned long long)e->payload,
					(unsigned long long)e->index, (unsigned long long)c->term,
					(unsigned long long)c->payload);
			return;
		}
	}
	/* The client that proposed it here hears back once it is applied. */
	if (e->type == RAFT_ENTRY_NORMAL && e->payload >= 1 && e->payload <= s->writes_count) {
		struct sim_write *w = &s->writes[e->payload - 1];
		RN_ASSERT(w->payload == e->payload);
		if (w->acked_us == 0 && w->node == n->id && w->node_restarts == n->restarts) {
			w->acked_us = s->now_us;
			w->index = e->index;
			w->term = e->term;
			s->writes_acked++;
		}
	}
}

void check_read(struct sim *s, struct sim_node *n, const struct raft_read_state *rs)
{
	if (rs->ctx == 0 || rs->ctx > s->reads_count) {
		return; /* not ours: cannot happen, but harmless */
	}
	struct sim_read *r = &s->reads[rs->ctx - 1];
	if (r->answered) {
		return; /* a duplicated answer */
	}
	r->answered = true;
	r->read_index = rs->read_index;
	s->reads_done++;
	sim_log(s, SIM_STORY, "n%u: read %llu confirmed at index %llu (committed when it began: %llu)",
		n->id, (unsigned long long)rs->ctx, (unsigned long long)rs->read_index,
		(unsigned long long)r->min_index);
	if (rs->read_index < r->min_index) {
		check_violation(s, "Linearizable Read",
				"read %llu on n%u answered with index %llu, but %llu was already "
				"committed when it began",
				(unsigned long long)rs->ctx, n->id,
				(unsigned long long)rs->read_index, (unsigned long long)r->min_index);
	}
}

void check_snapshot(struct sim *s, const struct sim_node *n, const struct sim_snap *snap,
		    const char *what)
{
	if (snap->index == 0 || s->violated) {
		return;
	}
	if (snap->index > s->committed_count) {
		check_violation(s, "Snapshot Committed",
				"n%u %s a snapshot at %llu/t%llu, but no server has applied past "
				"%llu: it holds uncommitted state",
				n->id, what, (unsigned long long)snap->index,
				(unsigned long long)snap->term, (unsigned long long)s->committed_count);
		return;
	}
	const struct sim_committed *c = &s->committed[snap->index - 1];
	if (c->term != snap->term || c->digest != snap->digest) {
		check_violation(s, "Snapshot Committed",
				"n%u %s a snapshot at %llu/t%llu whose state differs from the "
				"committed prefix (entry %llu is of term %llu)",
				n->id, what, (unsigned long long)snap->index,
				(unsigned long long)snap->term, (unsigned long long)snap->index,
				(unsigned long long)c->term);
	}
}

void check_install(struct sim *s, const struct sim_node *n, const struct sim_snap *snap)
{
	if (snap->index <= n->applied_index) {
		check_violation(s, "Install Forward",
				"n%u installs a snapshot at %llu but has applied up to %llu: entries "
				"would be applied twice (its state rolls back)",
				n->id, (unsigned long long)snap->index,
				(unsigned long long)n->applied_index);
		return;
	}
	check_snapshot(s, n, snap, "installs");
}

void check_free(struct sim *s)
{
	for (uint64_t i = 0; i < s->reg_cap; i++) {
		free(s->reg[i].v);
	}
	free(s->reg);
	free(s->committed);
	free(s->leader_of_term);
}

/* A node's log as seen from one side: in memory (the core's) or durable
 * (what a restart would recover). */
struct check_view {
	raft_index last_index;
	raft_term last_term;
	bool holds; /* holds the committed entry being checked */
};

static uint32_t check_views(const struct sim_node *n, raft_index index,
			    const struct sim_committed *c, struct check_view v[2])
{
	uint32_t count = 0;
	if (n->failed) {
		return 0; /* down for good: neither votes nor leads */
	}
	if (n->up) {
		struct raft_entry e;
		v[count].last_index = raft_last_index(n->raft);
		v[count].last_term = raft_log_term(n->raft, v[count].last_index);
		v[count].holds = sim_node_entry(n, index, &e) && e.term == c->term &&
				 e.payload == c->payload;
		count++;
	}
	v[count].last_index = n->dlog_count;
	v[count].last_term = n->dlog_count ? n->dlog[n->dlog_count - 1].term : 0;
	v[count].holds = index <= n->dlog_count && n->dlog[index - 1].term == c->term &&
			 n->dlog[index - 1].payload == c->payload;
	return count + 1;
}

/* §3.6.1: would a voter whose log is `voter` grant a candidate `cand`? */
static bool check_up_to_date(const struct check_view *cand, const struct check_view *voter)
{
	if (cand->last_term != voter->last_term) {
		return cand->last_term > voter->last_term;
	}
	return cand->last_index >= voter->last_index;
}

/*
 * Leader Completeness, looking ahead: right after an entry commits, no
 * server whose log lacks it may be able to win an election, i.e. be at
 * least as up to date (§3.6.1) as a majority of the servers. A correct
 * commit rule guarantees it (the majority that stored the entry holds a
 * strictly more up-to-date log than any server without it); a wrong one
 * (Figure 3.7: committing an earlier term's entry by counting) is caught
 * here, when it happens, instead of only if the unlucky election follows.
 * Each server is judged by both its in-memory and its durable log.
 */
/* A node's configuration: its core's, or while down the committed one
 * (what it will find again, roughly, when it restarts). */
static void check_conf_of(const struct sim *s, raft_node_id id, struct raft_membership *out)
{
	const struct sim_node *n = &s->nodes[id];
	if (n->up && n->raft != NULL) {
		raft_membership(n->raft, out);
	} else {
		*out = s->conf_committed;
	}
}

void check_commit_safe(struct sim *s, raft_index index)
{
	const struct sim_committed *c = &s->committed[index - 1];
	uint32_t quorum = s->p.nodes_count / 2 + 1;

	for (raft_node_id cand = 1; cand <= s->nodes_total; cand++) {
		/* With membership changes: a candidate counts the voters of its
		 * own configuration, whatever each of them believes it is (a
		 * server votes without consulting its configuration, §4.1). */
		struct raft_membership cand_conf;
		if (s->p.membership) {
			check_conf_of(s, cand, &cand_conf);
			if (!sim_conf_has(&cand_conf, cand, true)) {
				continue; /* never campaigns */
			}
			quorum = cand_conf.voters_count / 2 + 1;
		}
		struct check_view cv[2];
		uint32_t cv_count = check_views(&s->nodes[cand], index, c, cv);
		for (uint32_t k = 0; k < cv_count; k++) {
			if (cv[k].holds) {
				continue;
			}
			uint32_t votes = 0;
			for (raft_node_id voter = 1; voter <= s->nodes_total; voter++) {
				if (s->p.membership && !sim_conf_has(&cand_conf, voter, true)) {
					continue;
				}
				struct check_view vv[2];
				uint32_t vv_count = check_views(&s->nodes[voter], index, c, vv);
				bool grants = false;
				for (uint32_t m = 0; m < vv_count; m++) {
					grants |= voter == cand || check_up_to_date(&cv[k], &vv[m]);
				}
				votes += grants;
			}
			if (votes >= quorum) {
				check_violation(s, "Leader Completeness",
						"entry %llu/t%llu just committed can be lost: n%u's "
						"%s log (ends %llu/t%llu) lacks it, yet %u of %u "
						"servers would elect it",
						(unsigned long long)index, (unsigned long long)c->term,
						cand, k + 1 == cv_count ? "durable" : "in-memory",
						(unsigned long long)cv[k].last_index,
						(unsigned long long)cv[k].last_term, votes,
						s->p.nodes_count);
				return;
			}
		}
	}
}

/*
 * §3.5: a follower that takes the leader's commit index from an
 * AppendEntries sets its own to min(leaderCommit, index of last new
 * entry), and only once its log holds the append's prev entry (the
 * consistency check). So a commit it raised on this message lies within
 * prev_index + entries_count, and, unless prev_index was below the commit
 * it had (committed entries are every leader's), its log holds prev_index
 * with prev_term. Checked when the rule is broken, not only when a wrong
 * entry gets applied: a commit-only update that overtakes the appends
 * repairing a stale suffix (planted bug commit-only-unchecked) is rare,
 * one that reaches a log merely short of the leader's last entry is not.
 */
void check_append_commit(struct sim *s, const struct sim_node *n, const struct raft_message *m,
			 raft_index commit_before)
{
	if (s->violated || !n->up || n->raft == NULL) {
		return;
	}
	raft_index commit = raft_commit_index(n->raft);
	if (commit <= commit_before) {
		return;
	}
	const struct raft_msg_append *a = &m->append;
	raft_index limit = a->prev_index + a->entries_count;
	struct raft_entry prev;
	bool holds_prev = a->prev_index <= commit_before ||
			  (sim_node_entry(n, a->prev_index, &prev) && prev.term == a->prev_term);
	if (commit > limit || !holds_prev) {
		check_violation(s, "Commit Rule",
				"n%u raised its commit index from %llu to %llu on an append "
				"from n%u (prev %llu/t%llu, %u entries%s) %s",
				n->id, (unsigned long long)commit_before,
				(unsigned long long)commit, m->from,
				(unsigned long long)a->prev_index, (unsigned long long)a->prev_term,
				a->entries_count, a->commit_only ? ", commit-only" : "",
				commit > limit ? "past its last entry"
					       : "whose prev entry its log does not hold");
	}
}

/* When a follower sends a successful AppendEntries response. The leader's
 * log can be compared only while it still leads the response's term (its
 * log is then append-only); otherwise the durability half is checked. */
void check_ack(struct sim *s, const struct sim_node *n, const struct raft_message *m)
{
	raft_index match = m->append_resp.match_index;
	if (match == 0 || s->violated) {
		return;
	}
	struct raft_entry mine;
	if (!sim_node_entry(n, match, &mine)) {
		return; /* released from the window: applied long ago */
	}
	if (match > n->dlog_count || n->dlog[match - 1].term != mine.term ||
	    n->dlog[match - 1].payload != mine.payload) {
		check_violation(s, "Durable Acknowledgement",
				"n%u acknowledges entries up to %llu/t%llu to n%u, but holds "
				"durably only up to %llu",
				n->id, (unsigned long long)match, (unsigned long long)mine.term,
				m->to, (unsigned long long)n->dlog_count);
		return;
	}
	const struct sim_node *l = &s->nodes[m->to];
	struct raft_entry theirs;
	if (!l->up || raft_role(l->raft) != RAFT_LEADER || raft_current_term(l->raft) != m->term ||
	    !sim_node_entry(l, match, &theirs)) {
		return;
	}
	if (theirs.term != mine.term || theirs.payload != mine.payload) {
		check_violation(s, "Log Matching",
				"n%u acknowledges a match up to %llu to leader n%u (term %llu), but "
				"its entry there is %llu/t%llu and the leader's is %llu/t%llu",
				n->id, (unsigned long long)match, l->id, (unsigned long long)m->term,
				(unsigned long long)match, (unsigned long long)mine.term,
				(unsigned long long)match, (unsigned long long)theirs.term);
	}
}
