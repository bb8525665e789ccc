/* SPDX-License-Identifier: MIT */
/*
 * recv_append.c - the follower side of log replication (§3.5): the
 * consistency check, conflict truncation, commit from the leader, heartbeat
 * handling, and acknowledgements that name only DURABLE entries (§10.2.1:
 * the leader may count a follower only for entries on its stable storage).
 *
 * Precondition for the handlers: role is follower, m->term == r->term and
 * m->from is this term's leader (step.c enforces it).
 */
#include "internal.h"

/*
 * The highest index this server may acknowledge: stored durably here and
 * known to match the leader's log. Entries up to verified_index matched in
 * this term; entries up to commit_index are committed, hence in every
 * later leader's log (§3.6.3 Leader Completeness).
 */
static raft_index recv_append_ackable(const struct raft *r)
{
	raft_index matching = rn_max_u64(r->verified_index, r->commit_index);

	if (RAFT_BUG(r, ACK_BEFORE_PERSIST)) {
		return rn_min_u64(matching, r->log.last_index);
	}
	return rn_min_u64(matching, r->persisted_index);
}

static void recv_append_send_ack(struct raft *r, raft_node_id to)
{
	if (r->install_pending) {
		/* A snapshot install is not durable yet: nothing here may be
		 * counted until it is (answered at SNAPSHOT_INSTALLED). */
		r->ack_to = to;
		return;
	}
	struct raft_message *resp = step_msg_new(r, RAFT_MSG_APPEND_RESP, to);
	if (resp == NULL) {
		return;
	}
	resp->append_resp.reject = false;
	resp->append_resp.match_index = recv_append_ackable(r);
	r->acked_index = rn_max_u64(r->acked_index, resp->append_resp.match_index);
}

static void recv_append_reject(struct raft *r, const struct raft_message *m)
{
	struct raft_message *resp = step_msg_new(r, RAFT_MSG_APPEND_RESP, m->from);
	if (resp == NULL) {
		return;
	}
	raft_term hint_term = 0;
	raft_index hint_index = rn_min_u64(m->append.prev_index, r->log.last_index);

	hint_index = log_find_conflict_by_term(&r->log, hint_index, m->append.prev_term, &hint_term);
	resp->append_resp.reject = true;
	resp->append_resp.reject_index = m->append.prev_index;
	resp->append_resp.hint_index = hint_index;
	resp->append_resp.hint_term = hint_term;
}

/* Planted: overwrite a conflicting entry in place, keeping the tail. */
static void recv_append_overwrite(struct raft *r, const struct raft_entry *e)
{
	r->log.ring[e->index & r->log.mask] = *e;
	if (r->new_entries_count > 0) {
		RN_ASSERT(r->new_entries[r->new_entries_count - 1].index + 1 == e->index);
	}
	r->new_entries[r->new_entries_count++] = *e;
}

/*
 * Stores entries[0..count) (consecutive, after a matching prev entry):
 * skips those already present, truncates at the first conflict, appends
 * the rest while the window has room. Returns how many of them the log now
 * holds, in order from the first.
 */
static uint32_t recv_append_store(struct raft *r, const struct raft_entry *entries, uint32_t count)
{
	uint32_t i = 0;

	for (; i < count; i++) {
		const struct raft_entry *e = &entries[i];
		if (e->index > r->log.last_index) {
			break;
		}
		if (log_term_at(&r->log, e->index) == e->term) {
			continue;
		}
		if (RAFT_BUG(r, NO_TRUNCATE_ON_CONFLICT)) {
			recv_append_overwrite(r, e);
			continue;
		}
		log_truncate(r, e->index); /* §3.5: delete the conflict and all after */
		break;
	}
	while (i < count && entries[i].index <= r->log.last_index) {
		i++; /* planted overwrite path only */
	}
	if (i < count && log_free_slots(&r->log) < count - i) {
		log_release(r, rn_min_u64(r->applied_index, r->commit_index));
	}
	/* Back-pressure: take what fits, acknowledge only that. */
	uint32_t fits = (uint32_t)rn_min_u64(count - i, log_free_slots(&r->log));
	log_append_batch(r, &entries[i], fits);
	return i + fits;
}

void recv_append(struct raft *r, const struct raft_message *m)
{
	const struct raft_entry *entries = m->append.entries;
	uint32_t count = (uint32_t)rn_min_u64(m->append.entries_count, r->cfg.append_entries_max);
	raft_index prev_index = m->append.prev_index;
	raft_term prev_term = m->append.prev_term;

	RN_ASSERT(r->role == RAFT_FOLLOWER);
	RN_ASSERT(m->term == r->term);
	RN_ASSERT(m->from == r->leader_id);
	r->election_elapsed_ticks = 0;
	if (RAFT_BUG(r, COMMIT_ONLY_UNCHECKED) && m->append.commit_only) {
		/* Planted: "it only carries the commit index, nothing to check". */
		raft_index commit = rn_min_u64(m->append.commit_index, r->log.last_index);
		if (commit > r->commit_index) {
			step_set_commit(r, commit);
		}
		return;
	}

	/* Entries up to our commit index are committed and therefore already
	 * ours (§3.6.3); skip them so the check below stays inside the window. */
	while (count > 0 && prev_index < r->commit_index) {
		prev_index = entries[0].index;
		prev_term = entries[0].term;
		entries++;
		count--;
	}
	if (prev_index < r->commit_index) {
		if (!m->append.commit_only) {
			recv_append_send_ack(r, m->from); /* wholly old news */
		}
		return;
	}
	/* §3.5 consistency check: our log must hold prev_index with prev_term. */
	if (prev_index > r->log.last_index || log_term_at(&r->log, prev_index) != prev_term) {
		recv_append_reject(r, m);
		return;
	}
	uint32_t stored = recv_append_store(r, entries, count);
	raft_index last_new_index = prev_index + stored;

	r->verified_index = rn_max_u64(r->verified_index, last_new_index);
	/* §3.5: commit up to the leader's commit, but not past what we know
	 * matches the leader. */
	raft_index commit = rn_min_u64(m->append.commit_index, last_new_index);
	if (commit > r->commit_index) {
		step_set_commit(r, commit);
	}
	/* Acknowledge now if all of it is durable, or when it becomes so. A
	 * commit-only update is never acknowledged: it brought no entry, and
	 * the appends that did are acknowledged themselves. */
	if (recv_append_ackable(r) >= last_new_index) {
		if (!m->append.commit_only) {
			recv_append_send_ack(r, m->from);
		}
	} else {
		r->ack_to = m->from;
	}
}

void recv_append_ack(struct raft *r, raft_node_id to, raft_index index)
{
	if (recv_append_ackable(r) >= index) {
		recv_append_send_ack(r, to);
	} else {
		r->ack_to = to;
	}
}

/* After a PERSISTED event: acknowledge what just became durable. */
void recv_append_persisted(struct raft *r)
{
	if (r->role != RAFT_FOLLOWER || r->ack_to == RAFT_NODE_NONE ||
	    r->ack_to != r->leader_id || r->install_pending) {
		return;
	}
	raft_index ackable = recv_append_ackable(r);
	if (ackable > r->acked_index) {
		recv_append_send_ack(r, r->ack_to);
	}
	if (ackable >= r->verified_index) {
		r->ack_to = RAFT_NODE_NONE;
	}
}

/*
 * A heartbeat resets the election timer and carries the leader's commit
 * index, already capped by the leader at what it knows we match.
 */
void recv_heartbeat(struct raft *r, const struct raft_message *m)
{
	RN_ASSERT(r->role == RAFT_FOLLOWER);
	RN_ASSERT(m->term == r->term);
	RN_ASSERT(m->from == r->leader_id);
	r->election_elapsed_ticks = 0;
	raft_index commit = rn_min_u64(m->heartbeat.commit_index, r->log.last_index);
	if (commit > r->commit_index) {
		step_set_commit(r, commit);
	}
	struct raft_message *resp = step_msg_new(r, RAFT_MSG_HEARTBEAT_RESP, m->from);
	if (resp == NULL) {
		return;
	}
	resp->heartbeat_resp.read_seq = m->heartbeat.read_seq;
}
