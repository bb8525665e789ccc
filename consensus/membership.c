/* SPDX-License-Identifier: MIT */
/*
 * membership.c - configuration changes (§4), under the MEMBERSHIP CONTRACT
 * written in consensus.h: single-server changes (§4.1), each taking effect
 * on a server as soon as its entry is appended to that server's log, one
 * at a time, a leader first committing an entry of its own term.
 *
 * The configuration in force is r->conf (set by the entry at conf_index);
 * r->conf_prev is the one before it, kept until conf_index commits so that
 * a truncation of the uncommitted config entry can revert to it. Only one
 * config entry can be uncommitted in any log a correct leader built (it
 * proposes a change only once the previous one committed), so one
 * previous configuration is enough: the entry that set conf_prev is
 * committed and is never truncated.
 *
 * The peer table (r->peers, the slot of every per-peer array) is conf's
 * voters then learners; voter_mask marks the voters.
 */
#include <string.h>

#include "internal.h"

static bool membership_has(const raft_node_id *ids, uint32_t count, raft_node_id id)
{
	for (uint32_t i = 0; i < count; i++) {
		if (ids[i] == id) {
			return true;
		}
	}
	return false;
}

/* Removes id from ids[], keeping the order; true if it was there. */
static bool membership_drop(raft_node_id *ids, uint32_t *count, raft_node_id id)
{
	for (uint32_t i = 0; i < *count; i++) {
		if (ids[i] == id) {
			for (uint32_t j = i + 1; j < *count; j++) {
				ids[j - 1] = ids[j];
			}
			(*count)--;
			return true;
		}
	}
	return false;
}

bool membership_payload_valid(uint64_t payload)
{
	uint8_t op = RAFT_CONF_OP(payload);

	return op >= RAFT_CONF_ADD_LEARNER && op <= RAFT_CONF_FORCE &&
	       RAFT_CONF_ID(payload) != RAFT_NODE_NONE && (payload >> 40) == 0;
}

bool raft_membership_apply(struct raft_membership *m, uint64_t conf_payload)
{
	raft_node_id id = RAFT_CONF_ID(conf_payload);

	if (m == NULL || !membership_payload_valid(conf_payload)) {
		return false;
	}
	bool voter = membership_has(m->voters, m->voters_count, id);
	bool learner = membership_has(m->learners, m->learners_count, id);
	switch (RAFT_CONF_OP(conf_payload)) {
	case RAFT_CONF_ADD_LEARNER:
		if (voter || learner || m->voters_count + m->learners_count >= RAFT_NODES_MAX) {
			return false;
		}
		m->learners[m->learners_count++] = id;
		return true;
	case RAFT_CONF_PROMOTE:
		if (!learner) {
			return false;
		}
		membership_drop(m->learners, &m->learners_count, id);
		m->voters[m->voters_count++] = id;
		return true;
	case RAFT_CONF_REMOVE:
		/* Never the last voter: the leader refuses it, and a log that
		 * holds one anyway (a buggy peer) must not leave no voter. */
		if (voter && m->voters_count == 1) {
			return false;
		}
		return membership_drop(m->voters, &m->voters_count, id) ||
		       membership_drop(m->learners, &m->learners_count, id);
	case RAFT_CONF_FORCE:
		*m = (struct raft_membership){.voters = {id}, .voters_count = 1};
		return true;
	default:
		return false;
	}
}

bool membership_slot_voter(const struct raft *r, uint32_t slot)
{
	return slot < r->peers_count && (r->voter_mask & (1u << slot)) != 0;
}

bool membership_self_voter(const struct raft *r)
{
	return membership_slot_voter(r, r->member_slot_self);
}

/*
 * A voter campaigns; so does a server that the newest configuration entry
 * removed while that entry is not known committed: the servers that lack
 * the entry still count it as a voter, and its log may be the only one
 * they can elect (it took the leader's entries to the end; the removal's
 * commit needs a majority of the new voters). If it stayed silent, they
 * could wait on it for good: raftsim seed 61, 3 nodes, --snapshots off,
 * the leader's log damaged after n7's removal was appended to n7 alone.
 * Like a leader removed by an uncommitted entry (§4.2.2), it may lead the
 * new configuration without counting itself, and steps down once the
 * removal commits (membership_after_step).
 */
static bool membership_conf_has(const struct raft_membership *m, raft_node_id id)
{
	return membership_has(m->voters, m->voters_count, id) ||
	       membership_has(m->learners, m->learners_count, id);
}

/*
 * True when our newest configuration entry removed `id`: it is in the
 * previous configuration (kept until the entry commits), or the entry, in
 * our log, says so. Such a server may campaign while its removal is
 * uncommitted (membership_self_may_campaign), for the servers that lack
 * the entry; a server holding the entry never votes for it. A removal
 * commits only once a majority of the new voters hold it, so a removed
 * server then never gets elected, whether it learned of the commit or not
 * (it may not: the leader stops writing to it). The candidate's log ends
 * at (last_index, last_term).
 */
bool membership_removed_by_newest(const struct raft *r, raft_node_id id, raft_index last_index,
				  raft_term last_term)
{
	if (membership_conf_has(&r->conf, id)) {
		return false;
	}
	if (membership_conf_has(&r->conf_prev, id)) {
		return true;
	}
	if (r->conf_index < r->log.first_index) {
		/* Our configuration is committed state below the window (a
		 * snapshot's, or a restart's floor): the entry is not here to
		 * read. A server missing from it and holding exactly our log
		 * was not added by an entry we lack (it would be in): it was
		 * removed. One with a newer log may have been added by entries
		 * we lack, and may be the one to elect: not refused here. */
		return last_index == r->log.last_index && last_term == log_last_term(&r->log);
	}
	if (r->conf_index > r->log.last_index) {
		return false;
	}
	const struct raft_entry *e = log_get(&r->log, r->conf_index);
	return e->type == RAFT_ENTRY_CONFIG && RAFT_CONF_OP(e->payload) == RAFT_CONF_REMOVE &&
	       RAFT_CONF_ID(e->payload) == id;
}

bool membership_self_may_campaign(const struct raft *r)
{
	if (membership_self_voter(r)) {
		return true;
	}
	if (r->conf_index <= r->commit_index) {
		return false;
	}
	return membership_has(r->conf_prev.voters, r->conf_prev.voters_count, r->cfg.id);
}

/* The peer table: conf's voters, its learners, and while conf is not
 * committed the servers it removed (conf_prev's), so that a removed server
 * still gets the entry removing it (it then knows not to campaign) and
 * the leader keeps its progress should the removal be truncated. Only
 * voters of conf are in voter_mask. */
static void membership_rebuild(struct raft *r)
{
	struct raft_progress old_progress[RAFT_NODES_MAX];
	raft_node_id old_peers[RAFT_NODES_MAX];
	raft_node_id ids[RAFT_NODES_MAX + 1];
	uint32_t old_count = r->peers_count;
	const struct raft_membership *m = &r->conf;
	uint32_t n = 0;

	if (r->role == RAFT_LEADER) {
		memcpy(old_progress, r->progress, sizeof(old_progress));
		memcpy(old_peers, r->peers, sizeof(old_peers));
	}
	for (uint32_t i = 0; i < m->voters_count; i++) {
		ids[n++] = m->voters[i];
	}
	for (uint32_t i = 0; i < m->learners_count; i++) {
		ids[n++] = m->learners[i];
	}
	r->peers_leaving = false;
	if (r->conf_index > r->commit_index) {
		const struct raft_membership *p = &r->conf_prev;
		for (uint32_t i = 0; i < p->voters_count + p->learners_count; i++) {
			raft_node_id id = i < p->voters_count ? p->voters[i]
							      : p->learners[i - p->voters_count];
			/* A single change removes one: n stays <= RAFT_NODES_MAX. */
			if (!membership_has(ids, n, id) && n < RAFT_NODES_MAX) {
				ids[n++] = id;
				r->peers_leaving = true;
			}
		}
	}
	r->peers_count = 0;
	r->voter_mask = 0;
	r->member_slot_self = UINT32_MAX;
	for (uint32_t i = 0; i < n; i++) {
		bool voter = i < m->voters_count;
		raft_node_id id = ids[i];
		uint32_t slot = r->peers_count++;
		r->peers[slot] = id;
		if (voter) {
			r->voter_mask |= 1u << slot;
		}
		if (id == r->cfg.id) {
			r->member_slot_self = slot;
		}
		if (r->role != RAFT_LEADER) {
			continue;
		}
		/* A leader keeps what it knows of a peer that stays. */
		r->progress[slot] = (struct raft_progress){
			.next_index = r->log.last_index + 1,
			.state = RAFT_PROGRESS_PROBE,
			.recent_active = true,
		};
		for (uint32_t j = 0; j < old_count; j++) {
			if (old_peers[j] == id) {
				r->progress[slot] = old_progress[j];
				break;
			}
		}
	}
	r->quorum = m->voters_count / 2 + 1;
	/* Votes of an election in progress were counted by the old slots. */
	r->votes_granted_mask = 0;
	r->votes_rejected_mask = 0;
	if (r->transfer_target != RAFT_NODE_NONE &&
	    !membership_has(m->voters, m->voters_count, r->transfer_target)) {
		transfer_abort(r);
	}
}

void membership_set(struct raft *r, const struct raft_membership *m, raft_index index)
{
	RN_ASSERT(m->voters_count + m->learners_count <= RAFT_NODES_MAX);
	r->conf = *m;
	r->conf_index = index;
	membership_rebuild(r);
}

void membership_on_append(struct raft *r, const struct raft_entry *e)
{
	RN_ASSERT(e->type == RAFT_ENTRY_CONFIG);
	if (RAFT_BUG(r, CONFIG_ON_COMMIT)) {
		/* Planted: "a configuration is real once committed". */
		r->bug_conf_index = e->index;
		r->bug_conf_payload = e->payload;
		return;
	}
	struct raft_membership next = r->conf;
	raft_membership_apply(&next, e->payload);
	/* The previous one stays until this entry commits. */
	r->conf_prev = r->conf;
	r->conf_prev_index = r->conf_index;
	membership_set(r, &next, e->index);
}

void membership_on_truncate(struct raft *r, raft_index from_index)
{
	if (r->conf_index < from_index) {
		return;
	}
	/* The previous configuration's entry is committed: never truncated. */
	RN_ASSERT(r->conf_prev_index < from_index || r->planted_bug != 0);
	struct raft_membership prev = r->conf_prev;
	membership_set(r, &prev, r->conf_prev_index);
}

void membership_on_commit(struct raft *r)
{
	if (RAFT_BUG(r, CONFIG_ON_COMMIT) && r->bug_conf_index != 0 &&
	    r->bug_conf_index <= r->commit_index) {
		struct raft_membership next = r->conf;
		raft_membership_apply(&next, r->bug_conf_payload);
		membership_set(r, &next, r->bug_conf_index);
		r->bug_conf_index = 0;
	}
	if (r->conf_index <= r->commit_index) {
		r->conf_prev = r->conf;
		r->conf_prev_index = r->conf_index;
		if (r->peers_leaving) {
			membership_rebuild(r); /* the removed server leaves now */
		}
	}
}

/* §4.1: one change at a time, after an entry of this term committed. */
static int membership_check(const struct raft *r, uint8_t op, raft_node_id id)
{
	if (r->role != RAFT_LEADER) {
		return -RAFT_ERR_NOT_LEADER;
	}
	if (op < RAFT_CONF_ADD_LEARNER || op > RAFT_CONF_REMOVE || id == RAFT_NODE_NONE) {
		return -RAFT_ERR_INVALID;
	}
	if (r->transfer_target != RAFT_NODE_NONE) {
		return -RAFT_ERR_TRANSFERRING;
	}
	if (r->conf_index > r->commit_index && !RAFT_BUG(r, TWO_CHANGES_AT_ONCE)) {
		return -RAFT_ERR_CHANGE_PENDING;
	}
	if (log_term_at(&r->log, r->commit_index) != r->term) {
		return -RAFT_ERR_TERM_NOT_COMMITTED;
	}
	const struct raft_membership *m = &r->conf;
	bool voter = membership_has(m->voters, m->voters_count, id);
	bool learner = membership_has(m->learners, m->learners_count, id);
	if (op == RAFT_CONF_ADD_LEARNER) {
		if (voter || learner) {
			return -RAFT_ERR_MEMBER_EXISTS;
		}
		if (m->voters_count + m->learners_count >= RAFT_NODES_MAX) {
			return -RAFT_ERR_MEMBERS_FULL;
		}
		return 0;
	}
	if (op == RAFT_CONF_PROMOTE) {
		if (!learner) {
			return -RAFT_ERR_UNKNOWN_MEMBER;
		}
		uint32_t slot = election_member_slot(r, id);
		if (r->progress[slot].match_index + r->cfg.promote_lag_entries_max <
		    r->log.last_index) {
			return -RAFT_ERR_LEARNER_BEHIND;
		}
		return 0;
	}
	if (!voter && !learner) {
		return -RAFT_ERR_UNKNOWN_MEMBER;
	}
	if (voter && m->voters_count == 1) {
		return -RAFT_ERR_LAST_VOTER;
	}
	return 0;
}

static void membership_append(struct raft *r, uint64_t payload)
{
	struct raft_entry e = {
		.term = r->term,
		.index = r->log.last_index + 1,
		.payload = payload,
		.type = RAFT_ENTRY_CONFIG,
	};
	log_append(r, &e);
}

int membership_propose(struct raft *r, uint8_t op, raft_node_id id, raft_index *index_out)
{
	int rc = membership_check(r, op, id);

	if (rc != 0) {
		return rc;
	}
	if (log_free_slots(&r->log) == 0 ||
	    r->log.last_index + 1 > r->commit_index + log_capacity(&r->log) / 4) {
		return -RAFT_ERR_LOG_FULL;
	}
	membership_append(r, RAFT_CONF_PAYLOAD(op, id));
	*index_out = r->log.last_index;
	replication_broadcast_append(r, false);
	if (op == RAFT_CONF_REMOVE && id != r->cfg.id) {
		/* A removed follower no longer gets appends: tell it nothing;
		 * it stops hearing heartbeats and, not a voter, never campaigns. */
	}
	/* A configuration whose only voter is this leader commits by itself
	 * once durable (replication_leader_persisted). */
	return 0;
}

/* The voter (not self) with the highest match index, or NONE. */
static uint32_t membership_best_voter(const struct raft *r)
{
	uint32_t best = UINT32_MAX;

	for (uint32_t i = 0; i < r->peers_count; i++) {
		if (i == r->member_slot_self || !membership_slot_voter(r, i)) {
			continue;
		}
		if (best == UINT32_MAX || r->progress[i].match_index > r->progress[best].match_index) {
			best = i;
		}
	}
	return best;
}

void membership_after_step(struct raft *r)
{
	if (r->role != RAFT_LEADER) {
		return;
	}
	if (r->force_pending && r->new_entries_count > 0 && log_free_slots(&r->log) > 0) {
		/* Forced single-voter cluster: its log says so too. */
		r->force_pending = false;
		membership_append(r, RAFT_CONF_PAYLOAD(RAFT_CONF_FORCE, r->cfg.id));
		return;
	}
	if (membership_self_voter(r) || r->conf_index > r->commit_index) {
		return;
	}
	/* §4.2.2: our removal committed. Hand over at once to the most up to
	 * date voter (it campaigns without waiting a timeout), then step down;
	 * not a voter any more, we never campaign again. */
	uint32_t best = membership_best_voter(r);
	if (best != UINT32_MAX) {
		if (r->progress[best].match_index < r->log.last_index) {
			replication_send_append(r, best, true);
		} else {
			(void)step_msg_new(r, RAFT_MSG_TIMEOUT_NOW, r->peers[best]);
		}
	}
	convert_to_follower(r, r->term, RAFT_NODE_NONE);
}

void raft_membership(const struct raft *r, struct raft_membership *out)
{
	*out = r->conf;
}

raft_index raft_membership_index(const struct raft *r)
{
	return r->conf_index;
}

bool raft_membership_pending(const struct raft *r)
{
	return r->conf_index > r->commit_index;
}
