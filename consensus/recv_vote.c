/* SPDX-License-Identifier: MIT */
/*
 * recv_vote.c - RequestVote and PreVote requests and their responses
 * (§3.4, §3.6.1, §9.6). The term rules (stepping down on a higher term,
 * ignoring votes while in contact with a leader, §4.2.3) are applied in
 * step.c before these run; here m->term == r->term for RequestVote, and
 * m->term >= r->term for PreVote.
 */
#include "internal.h"

static bool recv_vote_can_grant(const struct raft *r, const struct raft_message *m)
{
	bool prevote = m->type == RAFT_MSG_PREVOTE;

	/* §3.4: at most one vote per term, first come first served; repeat a
	 * vote already given (the response may have been lost). A pre-vote
	 * for a later term does not bind us to anything. */
	bool free_to_vote = r->vote == m->from ||
			    (r->vote == RAFT_NODE_NONE && r->leader_id == RAFT_NODE_NONE) ||
			    (prevote && m->term > r->term);
	if (RAFT_BUG(r, DOUBLE_VOTE) && r->role == RAFT_FOLLOWER) {
		free_to_vote = true; /* planted: forgets it already voted */
	}
	if (!free_to_vote) {
		return false;
	}
	/* Whether this server is a voter of its OWN configuration is not
	 * asked (§4.1: a server grants its vote without consulting its
	 * configuration). A learner promoted by an entry it has not received
	 * yet is a voter for every candidate that holds the entry, and those
	 * may be unable to win without it: refusing would deadlock the
	 * cluster for good (1 voter grown to 2, the new one behind). What
	 * keeps learners from voting is the candidate's side: it asks, and
	 * counts, only the voters of its own configuration (election.c). */
	/* The one exception: a server our newest configuration entry removed
	 * (membership_removed_by_newest), so that a removed server never
	 * leads once its removal is committed. */
	if (membership_removed_by_newest(r, m->from, m->vote.last_log_index, m->vote.last_log_term)) {
		return false;
	}
	/* §3.6.1 election restriction: only for a log at least as up to date. */
	if (RAFT_BUG(r, VOTE_IGNORES_LOG)) {
		return true;
	}
	return election_log_up_to_date(r, m->vote.last_log_index, m->vote.last_log_term);
}

void recv_vote(struct raft *r, const struct raft_message *m)
{
	bool prevote = m->type == RAFT_MSG_PREVOTE;
	bool granted = recv_vote_can_grant(r, m);

	RN_ASSERT(m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE);
	RN_ASSERT(prevote || m->term == r->term);
	if (granted && !prevote) {
		/* Persisted before the response leaves (hard-state contract). */
		r->vote = m->from;
		election_reset_timer(r);
	}
	struct raft_message *resp =
		step_msg_new(r, prevote ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP, m->from);
	if (resp == NULL) {
		return;
	}
	/* A granted pre-vote echoes the asked-for term so the pre-candidate
	 * counts it; a refusal carries ours so a stale asker catches up. */
	resp->term = granted && prevote ? m->term : r->term;
	resp->vote_resp.granted = granted;
}

void recv_vote_resp(struct raft *r, const struct raft_message *m)
{
	bool prevote = m->type == RAFT_MSG_PREVOTE_RESP;

	RN_ASSERT(m->type == RAFT_MSG_VOTE_RESP || m->type == RAFT_MSG_PREVOTE_RESP);
	if ((prevote && r->role != RAFT_PRECANDIDATE) || (!prevote && r->role != RAFT_CANDIDATE)) {
		return; /* a late answer to an election that is over */
	}
	if (election_count_vote(r, m->from, m->vote_resp.granted)) {
		if (prevote) {
			election_start(r, false, false);
		} else {
			convert_to_leader(r);
		}
		return;
	}
	uint32_t rejected = (uint32_t)__builtin_popcount(r->votes_rejected_mask & r->voter_mask);
	if (rejected >= election_quorum(r)) {
		/* Lost: wait for a leader or for the next timeout. */
		convert_to_follower(r, r->term, RAFT_NODE_NONE);
	}
}
