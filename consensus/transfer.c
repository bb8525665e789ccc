/* SPDX-License-Identifier: MIT */
/*
 * transfer.c - leadership transfer (§3.10). The leader stops taking
 * proposals, brings the target's log up to date, then sends TimeoutNow so
 * the target campaigns at once (skipping PreVote, and voters ignore their
 * leader lease because the leader itself asked). If the target has not
 * taken over within an election timeout, the transfer is abandoned and the
 * leader takes proposals again.
 */
#include "internal.h"

static void transfer_send_timeout_now(struct raft *r, raft_node_id target)
{
	struct raft_message *m = step_msg_new(r, RAFT_MSG_TIMEOUT_NOW, target);
	(void)m; /* no body; if the step's message buffer is full the next
		  * acknowledgement from the target retries */
}

int transfer_start(struct raft *r, raft_node_id target)
{
	if (r->role != RAFT_LEADER) {
		return -RAFT_ERR_NOT_LEADER;
	}
	uint32_t slot = election_member_slot(r, target);
	if (slot >= r->peers_count || !membership_slot_voter(r, slot)) {
		return -RAFT_ERR_INVALID; /* only a voter can lead */
	}
	if (target == r->cfg.id || target == r->transfer_target) {
		return 0; /* already leader, or already under way */
	}
	r->transfer_target = target;
	r->transfer_elapsed_ticks = 0;
	if (r->progress[slot].match_index == r->log.last_index) {
		transfer_send_timeout_now(r, target);
	} else {
		replication_send_append(r, slot, true);
	}
	return 0;
}

/* The target acknowledged more of the log: hand over once it has it all. */
void transfer_on_progress(struct raft *r, uint32_t slot)
{
	RN_ASSERT(r->role == RAFT_LEADER);
	RN_ASSERT(slot < r->peers_count);
	if (r->transfer_target == RAFT_NODE_NONE || r->peers[slot] != r->transfer_target) {
		return;
	}
	if (r->progress[slot].match_index == r->log.last_index) {
		transfer_send_timeout_now(r, r->transfer_target);
	}
}

void transfer_tick(struct raft *r)
{
	RN_ASSERT(r->role == RAFT_LEADER);
	if (r->transfer_target == RAFT_NODE_NONE) {
		return;
	}
	r->transfer_elapsed_ticks++;
	if (r->transfer_elapsed_ticks >= r->cfg.election_timeout_ticks) {
		transfer_abort(r);
	}
}

void transfer_abort(struct raft *r)
{
	r->transfer_target = RAFT_NODE_NONE;
	r->transfer_elapsed_ticks = 0;
}

/* Follower: the leader asks us to campaign now. */
void transfer_recv_timeout_now(struct raft *r, const struct raft_message *m)
{
	(void)m;
	if (r->role == RAFT_LEADER || !membership_self_voter(r)) {
		return;
	}
	election_start(r, false, true);
}
