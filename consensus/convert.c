/* SPDX-License-Identifier: MIT */
/*
 * convert.c - every role change of the core goes through here, so the legal
 * transitions are asserted in one table (§3.3, Figure 3.3, with the
 * PreCandidate state of §9.6) and the per-role state is reset in one place.
 */
#include "internal.h"

/* legal[from][to]: true when a server may go from role `from` to `to`. */
static const bool convert_legal[5][5] = {
	[RAFT_FOLLOWER] = {
		[RAFT_FOLLOWER] = true,	    /* new term, or new leader */
		[RAFT_PRECANDIDATE] = true, /* election timeout, PreVote on */
		[RAFT_CANDIDATE] = true,    /* timeout without PreVote; TimeoutNow */
	},
	[RAFT_PRECANDIDATE] = {
		[RAFT_FOLLOWER] = true,	    /* lost the pre-vote, or saw a leader */
		[RAFT_PRECANDIDATE] = true, /* pre-vote timed out, ask again */
		[RAFT_CANDIDATE] = true,    /* won the pre-vote */
	},
	[RAFT_CANDIDATE] = {
		[RAFT_FOLLOWER] = true,	    /* lost, or saw a leader / higher term */
		[RAFT_PRECANDIDATE] = true, /* election timed out, PreVote on */
		[RAFT_CANDIDATE] = true,    /* election timed out, PreVote off */
		[RAFT_LEADER] = true,	    /* won a majority (§3.4) */
	},
	[RAFT_LEADER] = {
		[RAFT_FOLLOWER] = true, /* higher term, CheckQuorum, transfer */
	},
};
_Static_assert(RN_ARRAY_COUNT(convert_legal) == RAFT_LEADER + 1, "a row for every role");
_Static_assert(RN_ARRAY_COUNT(convert_legal[0]) == RAFT_LEADER + 1, "a column for every role");

static void convert_set_role(struct raft *r, uint8_t role)
{
	RN_ASSERT(r->role >= RAFT_FOLLOWER && r->role <= RAFT_LEADER);
	RN_ASSERT(role >= RAFT_FOLLOWER && role <= RAFT_LEADER);
	RN_ASSERT(convert_legal[r->role][role]);
	if (r->role == RAFT_LEADER && role != RAFT_LEADER) {
		/* Leaving leadership drops leader-only work: pending reads
		 * can no longer be confirmed, a transfer is moot. */
		read_index_reset(r);
		transfer_abort(r);
		r->uncommitted_bytes = 0;
	}
	r->role = role;
}

/*
 * Becomes (or stays) a follower in `term` following `leader_id` (which may
 * be RAFT_NODE_NONE). A higher term clears the vote (§3.4: one vote per
 * term); the caller's update then carries the new hard state.
 */
void convert_to_follower(struct raft *r, raft_term term, raft_node_id leader_id)
{
	RN_ASSERT(term >= r->term);
	bool new_term = term > r->term;
	if (new_term) {
		r->term = term;
		r->vote = RAFT_NODE_NONE;
	}
	if (new_term || leader_id != r->leader_id || r->role != RAFT_FOLLOWER) {
		/* Acknowledgements are per leader and term: start over. */
		r->verified_index = 0;
		r->acked_index = 0;
		r->ack_to = RAFT_NODE_NONE;
	}
	convert_set_role(r, RAFT_FOLLOWER);
	r->leader_id = leader_id;
	election_reset_timer(r);
}

/* §9.6: ask for pre-votes for term + 1 without changing term or vote, so a
 * partitioned server cannot disrupt the cluster when it returns. */
void convert_to_precandidate(struct raft *r)
{
	convert_set_role(r, RAFT_PRECANDIDATE);
	r->leader_id = RAFT_NODE_NONE;
	r->votes_granted_mask = 0;
	r->votes_rejected_mask = 0;
	election_reset_timer(r);
}

/* §3.4: increment the term, vote for self, reset the election timer. */
void convert_to_candidate(struct raft *r)
{
	convert_set_role(r, RAFT_CANDIDATE);
	r->term++;
	r->vote = r->cfg.id;
	r->leader_id = RAFT_NODE_NONE;
	r->votes_granted_mask = 0;
	r->votes_rejected_mask = 0;
	r->verified_index = 0;
	r->acked_index = 0;
	r->ack_to = RAFT_NODE_NONE;
	election_reset_timer(r);
}

/*
 * §3.4 won the election. Reset every follower's progress and append a
 * no-op entry of the new term (§6.4; it is also what lets entries of
 * earlier terms commit, §3.6.2), then announce it to everyone.
 */
void convert_to_leader(struct raft *r)
{
	RN_ASSERT(r->vote == r->cfg.id);
	convert_set_role(r, RAFT_LEADER);
	r->leader_id = r->cfg.id;
	r->heartbeat_elapsed_ticks = 0;
	r->election_elapsed_ticks = 0;
	r->uncommitted_bytes = 0;
	r->transfer_target = RAFT_NODE_NONE;
	r->reads_count = 0;

	if (RAFT_BUG(r, LEADER_OVERWRITES_LOG) && r->log.last_index > r->commit_index &&
	    r->commit_index + 1 >= r->log.first_index) {
		/* Planted: throw away uncommitted entries of earlier terms. */
		log_truncate(r, r->commit_index + 1);
	}
	replication_reset_progress(r);

	if (log_free_slots(&r->log) == 0) {
		log_release(r, rn_min_u64(r->applied_index, r->commit_index));
	}
	/* A full window with nothing releasable leaves no room for the no-op;
	 * the leader then commits nothing of its term until it is freed. */
	if (log_free_slots(&r->log) > 0) {
		struct raft_entry noop = {
			.term = r->term,
			.index = r->log.last_index + 1,
			.type = RAFT_ENTRY_NOOP,
		};
		log_append(r, &noop);
	}
	replication_broadcast_append(r, true);
}
