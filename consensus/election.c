/* SPDX-License-Identifier: MIT */
/*
 * election.c - election timing and campaigns (§3.4), PreVote (§9.6) and
 * vote counting. Precondition for every function here: the server is not
 * the leader, except election_member_slot and election_quorum.
 */
#include "internal.h"

/* The core's only source of chance, seeded by raft_config.seed. */
static uint64_t election_rand(struct raft *r)
{
	return rn_splitmix64(&r->rng_state);
}

/* §3.4: a fresh timeout drawn uniformly from [min, 2 * min) ticks, so that
 * split votes are rare and resolve quickly. */
void election_reset_timer(struct raft *r)
{
	uint32_t min_ticks = r->cfg.election_timeout_ticks;

	RN_ASSERT(min_ticks > 0); /* create_config_valid: > heartbeat >= 1 */
	r->election_elapsed_ticks = 0;
	r->election_timeout_ticks = min_ticks + (uint32_t)(election_rand(r) % min_ticks);
	RN_ASSERT(r->election_timeout_ticks >= min_ticks);
	RN_ASSERT(r->election_timeout_ticks < 2 * min_ticks);
}

uint32_t election_member_slot(const struct raft *r, raft_node_id id)
{
	for (uint32_t i = 0; i < r->peers_count; i++) {
		if (r->peers[i] == id) {
			return i;
		}
	}
	return UINT32_MAX;
}

/* Votes (and matching replicas) needed: a strict majority. */
uint32_t election_quorum(const struct raft *r)
{
	if (RAFT_BUG(r, QUORUM_OFF_BY_ONE)) {
		return r->conf.voters_count / 2 > 0 ? r->conf.voters_count / 2 : 1;
	}
	return r->quorum;
}

/* §3.6.1: a candidate's log is at least as up to date as ours if its last
 * term is higher, or equal with an index at least as high. */
bool election_log_up_to_date(const struct raft *r, raft_index last_index, raft_term last_term)
{
	raft_term our_term = log_last_term(&r->log);

	if (last_term != our_term) {
		return last_term > our_term;
	}
	return last_index >= r->log.last_index;
}

static void election_send_requests(struct raft *r, bool prevote, bool transfer)
{
	uint8_t type = prevote ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE;

	for (uint32_t i = 0; i < r->peers_count; i++) {
		/* Only voters are asked (§4: learners never vote). */
		if (i == r->member_slot_self ||
		    (!membership_slot_voter(r, i) && !RAFT_BUG(r, LEARNER_VOTES))) {
			continue;
		}
		struct raft_message *m = step_msg_new(r, type, r->peers[i]);
		if (m == NULL) {
			return;
		}
		/* A pre-vote asks about the term we would campaign in. */
		m->term = prevote ? r->term + 1 : r->term;
		m->vote.last_log_index = r->log.last_index;
		m->vote.last_log_term = log_last_term(&r->log);
		m->vote.transfer = transfer;
	}
}

/*
 * Starts a pre-vote or a real election. A transfer (TimeoutNow) skips the
 * pre-vote: the leader itself asked for it (§3.10). A single-server cluster
 * wins each round at once and goes straight on to the next.
 */
void election_start(struct raft *r, bool prevote, bool transfer)
{
	RN_ASSERT(r->role != RAFT_LEADER);
	RN_ASSERT(!(prevote && transfer));
	RN_ASSERT(membership_self_may_campaign(r)); /* learners and strangers never do */
	if (prevote) {
		convert_to_precandidate(r);
		r->counters.prevotes_started++;
		if (!election_count_vote(r, r->cfg.id, true)) {
			election_send_requests(r, true, false);
			return;
		}
	}
	convert_to_candidate(r);
	r->counters.elections_started++;
	if (election_count_vote(r, r->cfg.id, true)) {
		convert_to_leader(r);
		return;
	}
	election_send_requests(r, false, transfer);
}

/* Records a (pre-)vote; true when the granted votes reach the quorum. */
bool election_count_vote(struct raft *r, raft_node_id from, bool granted)
{
	uint32_t slot = election_member_slot(r, from);

	if (slot >= r->peers_count) {
		return false; /* not in our configuration: does not count */
	}
	RN_ASSERT(r->role == RAFT_PRECANDIDATE || r->role == RAFT_CANDIDATE);
	uint32_t bit = 1u << slot;
	if (((r->votes_granted_mask | r->votes_rejected_mask) & bit) == 0) {
		if (granted) {
			r->votes_granted_mask |= bit;
		} else {
			r->votes_rejected_mask |= bit;
		}
	}
	/* Only voters of our configuration count (§4). */
	uint32_t counted = RAFT_BUG(r, LEARNER_VOTES) ? r->votes_granted_mask
						      : r->votes_granted_mask & r->voter_mask;
	return (uint32_t)__builtin_popcount(counted) >= election_quorum(r);
}

/* Follower / candidate tick: campaign when the randomized timeout expires. */
void election_tick(struct raft *r)
{
	RN_ASSERT(r->role != RAFT_LEADER);
	r->election_elapsed_ticks++;
	if (!membership_self_may_campaign(r)) {
		/* A learner, a removed server or one not yet added never
		 * campaigns (§4.2.3 keeps it from disrupting with votes). */
		if (r->role != RAFT_FOLLOWER) {
			convert_to_follower(r, r->term, RAFT_NODE_NONE);
		}
		return;
	}
	if (r->election_elapsed_ticks >= r->election_timeout_ticks) {
		/* One removed by an uncommitted entry always asks first with a
		 * pre-vote: it may never learn that its removal committed,
		 * and must not depose the new configuration's leader. */
		election_start(r, r->cfg.prevote || !membership_self_voter(r), false);
	}
}
