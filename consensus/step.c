/* SPDX-License-Identifier: MIT */
/*
 * step.c - raft_step(), the core's single entry point: it validates the
 * event, applies the term rules common to every message (§3.3: a higher term
 * makes any server a follower; a lower term is stale), dispatches on the
 * role, and fills the caller's update under the ordering contract written
 * in consensus.h.
 */
#include "internal.h"

struct raft_message *step_msg_new(struct raft *r, uint8_t type, raft_node_id to)
{
	RN_ASSERT(type > 0);
	RN_ASSERT(type < RAFT_MSG_TYPE_COUNT);
	RN_ASSERT(to != RAFT_NODE_NONE);
	RN_ASSERT(to != r->cfg.id); /* every recipient is a peer */
	if (r->msgs_count >= RAFT_MSGS_PER_STEP_MAX) {
		return NULL; /* bounded: the next tick or ack sends it */
	}
	struct raft_message *m = &r->msgs[r->msgs_count++];
	*m = (struct raft_message){
		.type = type,
		.from = r->cfg.id,
		.to = to,
		.term = r->term,
	};
	return m;
}

/* Commit only moves forward (§3.6.3) and never past the log's end. */
void step_set_commit(struct raft *r, raft_index commit_index)
{
	RN_ASSERT(commit_index > r->commit_index);
	RN_ASSERT(commit_index <= r->log.last_index);
	if (r->role == RAFT_LEADER) {
		/* Bytes of this leader's entries leave the uncommitted budget. */
		for (raft_index i = r->commit_index + 1; i <= commit_index; i++) {
			const struct raft_entry *e = log_get(&r->log, i);
			if (e->term == r->term) {
				r->uncommitted_bytes -= rn_min_u64(r->uncommitted_bytes, e->payload_bytes);
			}
		}
	}
	r->commit_index = commit_index;
	r->update_flags |= RAFT_UPDATE_COMMIT;
	membership_on_commit(r);
}

/* A configuration a snapshot meta carries: at least one voter, ids
 * nonzero, the whole within RAFT_NODES_MAX (untrusted on the wire). */
bool meta_valid(const struct raft_snapshot_meta *meta)
{
	if (meta->voters_count == 0 || meta->voters_count > RAFT_NODES_MAX ||
	    meta->learners_count > RAFT_NODES_MAX - meta->voters_count) {
		return false;
	}
	for (uint32_t i = 0; i < meta->voters_count; i++) {
		if (meta->voters[i] == RAFT_NODE_NONE) {
			return false;
		}
	}
	for (uint32_t i = 0; i < meta->learners_count; i++) {
		if (meta->learners[i] == RAFT_NODE_NONE) {
			return false;
		}
	}
	return true;
}

/* Untrusted: a message from the network is checked before any use. */
static bool step_msg_valid(struct raft *r, const struct raft_message *m)
{
	/* Any sender but ourselves: a leader or a candidate of a configuration
	 * we have not seen yet is heard (§4.1); answers from non-members are
	 * dropped where they are handled. */
	if (m->from == RAFT_NODE_NONE || m->from == r->cfg.id || m->to != r->cfg.id) {
		r->counters.msgs_dropped_foreign++;
		return false;
	}
	if (m->type == 0 || m->type >= RAFT_MSG_TYPE_COUNT) {
		r->counters.msgs_dropped_invalid++;
		return false;
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		const struct raft_snapshot_meta *meta = &m->snapshot.meta;
		bool ok = meta->index >= 1 && meta->term >= 1 && meta->term <= m->term &&
			  meta->index <= UINT64_MAX / 2 && meta_valid(meta);
		if (!ok) {
			r->counters.msgs_dropped_invalid++;
		}
		return ok;
	}
	if (m->type != RAFT_MSG_APPEND) {
		return true;
	}
	const struct raft_msg_append *a = &m->append;
	if (a->entries_count > RAFT_BATCH_ENTRIES_MAX || (a->entries_count > 0 && a->entries == NULL) ||
	    a->from_storage || (a->commit_only && a->entries_count > 0)) {
		r->counters.msgs_dropped_invalid++;
		return false;
	}
	raft_term prev_term = a->prev_term;
	for (uint32_t i = 0; i < a->entries_count; i++) {
		const struct raft_entry *e = &a->entries[i];
		if (e->index != a->prev_index + 1 + i || e->term < prev_term || e->term > m->term ||
		    (e->type != RAFT_ENTRY_NORMAL && e->type != RAFT_ENTRY_NOOP &&
		     e->type != RAFT_ENTRY_CONFIG) ||
		    (e->type == RAFT_ENTRY_CONFIG && !membership_payload_valid(e->payload))) {
			r->counters.msgs_dropped_invalid++;
			return false;
		}
		prev_term = e->term;
	}
	return true;
}

/* §4.2.3: a server that heard from a leader within the minimum election
 * timeout ignores vote requests, so a removed or partitioned server cannot
 * depose a working leader. */
static bool step_in_leader_lease(const struct raft *r)
{
	return r->cfg.check_quorum && r->leader_id != RAFT_NODE_NONE &&
	       r->election_elapsed_ticks < r->cfg.election_timeout_ticks;
}

/* Term rules; returns false when the message is consumed or dropped. */
static bool step_term(struct raft *r, const struct raft_message *m)
{
	bool vote_req = m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE;

	if (m->term > r->term) {
		if (vote_req && !m->vote.transfer && step_in_leader_lease(r)) {
			r->counters.msgs_dropped_stale++;
			return false;
		}
		if (m->type == RAFT_MSG_PREVOTE ||
		    (m->type == RAFT_MSG_PREVOTE_RESP && m->vote_resp.granted)) {
			return true; /* a pre-vote never changes our term (§9.6) */
		}
		bool from_leader = m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
				   m->type == RAFT_MSG_SNAPSHOT;
		convert_to_follower(r, m->term, from_leader ? m->from : RAFT_NODE_NONE);
		return true;
	}
	if (m->term < r->term) {
		r->counters.msgs_dropped_stale++;
		if (RAFT_BUG(r, STALE_TERM_ACCEPTED) && m->type == RAFT_MSG_APPEND &&
		    r->role == RAFT_FOLLOWER) {
			/* Planted: "term = message term" without the comparison,
			 * so a deposed leader's append drags the term back. */
			r->term = m->term;
			r->vote = RAFT_NODE_NONE;
			r->leader_id = m->from;
			recv_append(r, m);
			return false;
		}
		bool from_leader = m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
				   m->type == RAFT_MSG_SNAPSHOT;
		if (from_leader && (r->cfg.check_quorum || r->cfg.prevote ||
				    !membership_slot_voter(r, election_member_slot(r, m->from)))) {
			/* Tell a deposed leader the new term so it steps down;
			 * with PreVote it might otherwise never hear of it, nor
			 * a leader we do not count as a voter (our configuration
			 * is behind: our votes never reach it, §4.1), which must
			 * step down for us to get its log. */
			struct raft_message *resp = step_msg_new(r, RAFT_MSG_APPEND_RESP, m->from);
			if (resp != NULL) {
				resp->append_resp.reject = true;
			}
		} else if (vote_req) {
			/* §3.4 (Figure 3.1: "reply false if term < currentTerm"):
			 * the refusal carries our term, and the candidate adopts
			 * it. Dropped instead, a candidate whose votes all come
			 * from a behind server never learns its term: that
			 * server, its configuration behind, never writes to the
			 * candidate (not a voter there), and its own elections
			 * fail for its log; neither ever wins (raftsim seed 1742,
			 * 3 nodes, --snapshots off: the third voter's log
			 * damaged, PreVote off, no leader for good). */
			uint8_t type = m->type == RAFT_MSG_PREVOTE ? RAFT_MSG_PREVOTE_RESP
								   : RAFT_MSG_VOTE_RESP;
			struct raft_message *resp = step_msg_new(r, type, m->from);
			if (resp != NULL) {
				resp->vote_resp.granted = false;
			}
		}
		return false;
	}
	return true;
}

/* AppendEntries, heartbeat or snapshot offer in our term: from this term's
 * only leader. */
static void step_from_leader(struct raft *r, const struct raft_message *m)
{
	if (r->role == RAFT_LEADER) {
		/* Two leaders in one term: impossible unless a peer is broken. */
		r->counters.msgs_dropped_invalid++;
		return;
	}
	if (r->role != RAFT_FOLLOWER || r->leader_id != m->from) {
		convert_to_follower(r, r->term, m->from);
	}
	if (m->type == RAFT_MSG_APPEND) {
		recv_append(r, m);
	} else if (m->type == RAFT_MSG_SNAPSHOT) {
		recv_snapshot(r, m);
	} else {
		recv_heartbeat(r, m);
	}
}

static void step_receive(struct raft *r, const struct raft_message *m)
{
	if (!step_msg_valid(r, m) || !step_term(r, m)) {
		return;
	}
	switch (m->type) {
	case RAFT_MSG_APPEND:
	case RAFT_MSG_HEARTBEAT:
	case RAFT_MSG_SNAPSHOT:
		step_from_leader(r, m);
		break;
	case RAFT_MSG_APPEND_RESP:
		if (r->role == RAFT_LEADER) {
			replication_recv_append_resp(r, m);
		}
		break;
	case RAFT_MSG_HEARTBEAT_RESP:
		if (r->role == RAFT_LEADER) {
			replication_recv_heartbeat_resp(r, m);
		}
		break;
	case RAFT_MSG_VOTE:
	case RAFT_MSG_PREVOTE:
		recv_vote(r, m);
		break;
	case RAFT_MSG_VOTE_RESP:
	case RAFT_MSG_PREVOTE_RESP:
		recv_vote_resp(r, m);
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		transfer_recv_timeout_now(r, m);
		break;
	case RAFT_MSG_READ_INDEX:
		read_index_recv(r, m);
		break;
	case RAFT_MSG_READ_INDEX_RESP:
		read_index_recv_resp(r, m);
		break;
	default:
		RN_ASSERT(0 && "validated above");
	}
}

/* Storage says: durable up to (index, term). Stale reports (the entry was
 * truncated since) do not match a term and are ignored. */
static void step_persisted(struct raft *r, raft_index index, raft_term term)
{
	if (index == 0 || index > r->log.last_index || index < r->log.first_index ||
	    log_term_at(&r->log, index) != term) {
		return;
	}
	if (index > r->persisted_index) {
		r->persisted_index = index;
	}
	if (r->role == RAFT_LEADER) {
		replication_leader_persisted(r);
	} else {
		recv_append_persisted(r);
	}
}

/*
 * Release lazily, only when the window is three-quarters full. A leader
 * keeps what its followers still need, but never more than half a window
 * of applied entries for them: a follower further behind (down, cut off,
 * slow) is fed from the leader's durable log instead (from_storage
 * appends), so it cannot pin the window and stop every proposal.
 */
static void step_applied(struct raft *r, raft_index index)
{
	r->applied_index = rn_max_u64(r->applied_index, rn_min_u64(index, r->commit_index));
	if (log_free_slots(&r->log) > log_capacity(&r->log) / 4) {
		return;
	}
	raft_index release = r->applied_index;
	if (r->role == RAFT_LEADER) {
		raft_index needed = release;
		for (uint32_t i = 0; i < r->peers_count; i++) {
			if (i != r->member_slot_self) {
				needed = rn_min_u64(needed, r->progress[i].match_index);
			}
		}
		uint64_t keep_max = log_capacity(&r->log) / 2;
		raft_index floor = r->log.last_index > keep_max ? r->log.last_index - keep_max : 0;
		release = rn_max_u64(needed, rn_min_u64(release, floor));
	}
	log_release(r, release);
}

static void step_begin(struct raft *r, struct raft_update *u, raft_term *term, raft_node_id *vote)
{
	*u = (struct raft_update){0};
	r->update_flags = 0;
	r->truncate_index = 0;
	r->new_entries_count = 0;
	r->msgs_count = 0;
	r->read_states_count = 0;
	r->update_snapshot = (struct raft_snapshot_meta){0};
	r->prev_role = r->role;
	r->prev_leader_id = r->leader_id;
	*term = r->term;
	*vote = r->vote;
	r->steps++;
}

/* Invariants that hold between steps, whatever the event was. */
static void step_check(const struct raft *r)
{
	RN_ASSERT(r->commit_index <= r->log.last_index);
	RN_ASSERT(r->persisted_index <= r->log.last_index);
	RN_ASSERT(r->applied_index <= r->commit_index);
	RN_ASSERT(r->log.first_index <= r->log.last_index + 1);
	/* Below the window is committed (released, or promised at create). */
	RN_ASSERT(r->log.first_index <= r->commit_index + 1);
	/* Compacted entries are covered by a snapshot (of committed state). */
	RN_ASSERT(r->compacted_index <= r->snapshot.index);
	RN_ASSERT(r->snapshot.index <= r->commit_index || RAFT_BUG(r, COMPACT_PAST_COMMIT));
	RN_ASSERT(r->role != RAFT_LEADER || r->leader_id == r->cfg.id);
	RN_ASSERT(r->role != RAFT_LEADER || r->vote == r->cfg.id);
	RN_ASSERT(r->role != RAFT_CANDIDATE || r->vote == r->cfg.id);
}

static void step_finish(struct raft *r, struct raft_update *u, raft_term term, raft_node_id vote)
{
	step_check(r);
	RN_ASSERT(r->term >= term || RAFT_BUG(r, STALE_TERM_ACCEPTED));
	if (r->term != term || r->vote != vote) {
		r->update_flags |= RAFT_UPDATE_HARD_STATE;
	}
	if (r->role != r->prev_role || r->leader_id != r->prev_leader_id) {
		r->update_flags |= RAFT_UPDATE_ROLE;
	}
	u->flags = r->update_flags;
	u->hard_state = (struct raft_hard_state){.term = r->term, .vote = r->vote};
	u->truncate_index = r->truncate_index;
	u->entries = r->new_entries;
	u->entries_count = r->new_entries_count;
	u->msgs = r->msgs;
	u->msgs_count = r->msgs_count;
	u->commit_index = r->commit_index;
	u->read_states = r->read_states;
	u->read_states_count = r->read_states_count;
	u->snapshot = r->update_snapshot;
	u->role = r->role;
	u->leader_id = r->leader_id;
	u->term = r->term;
}

int raft_step(struct raft *r, struct raft_event *event, struct raft_update *update)
{
	raft_term term_before;
	raft_node_id vote_before;
	int rc = 0;

	RN_ASSERT(r != NULL);
	RN_ASSERT(event != NULL);
	RN_ASSERT(update != NULL);
	step_begin(r, update, &term_before, &vote_before);
	switch (event->type) {
	case RAFT_EVENT_RECEIVE:
		step_receive(r, &event->receive);
		break;
	case RAFT_EVENT_TICK:
		if (r->role == RAFT_LEADER) {
			replication_leader_tick(r);
		} else {
			election_tick(r);
		}
		break;
	case RAFT_EVENT_PROPOSE:
		rc = propose_batch(r, event->propose.entries, event->propose.entries_count);
		if (rc != 0) {
			r->counters.proposals_refused++;
		}
		break;
	case RAFT_EVENT_PERSISTED:
		step_persisted(r, event->persisted.index, event->persisted.term);
		break;
	case RAFT_EVENT_READ_INDEX:
		rc = read_index_request(r, event->read_index.ctx);
		break;
	case RAFT_EVENT_TRANSFER:
		rc = transfer_start(r, event->transfer.target);
		break;
	case RAFT_EVENT_APPLIED:
		step_applied(r, event->applied.index);
		break;
	case RAFT_EVENT_SNAPSHOT:
		snapshot_taken(r, &event->snapshot);
		break;
	case RAFT_EVENT_COMPACTED:
		snapshot_compacted(r, event->compacted.index);
		break;
	case RAFT_EVENT_SNAPSHOT_INSTALLED:
		snapshot_installed(r, event->installed.index, event->installed.term);
		break;
	case RAFT_EVENT_MEMBER:
		rc = membership_propose(r, event->member.op, event->member.id,
					&event->member.index);
		if (rc != 0) {
			r->counters.proposals_refused++;
		}
		break;
	default:
		rc = -RAFT_ERR_INVALID;
		break;
	}
	membership_after_step(r);
	step_finish(r, update, term_before, vote_before);
	return rc;
}
