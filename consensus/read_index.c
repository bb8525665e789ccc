/* SPDX-License-Identifier: MIT */
/*
 * read_index.c - linearizable reads without writing the log (§6.4).
 *
 * The leader (1) must have committed an entry of its own term, so its
 * commit index is at least that of any earlier leader; (2) records the
 * commit index as the read index; (3) confirms it is still the leader by a
 * heartbeat round that a majority answers (read_seq numbers the rounds);
 * (4) hands the read back, to be served once applied >= read index.
 * A follower forwards the request to the leader and returns the index the
 * leader confirmed (§6.4.1). Requests are bounded (RAFT_READS_PENDING_MAX):
 * a full queue is -RAFT_ERR_BUSY, never silent growth; a leader that steps
 * down drops its pending reads and the caller retries on its timeout.
 */
#include "internal.h"

static bool read_index_committed_in_term(const struct raft *r)
{
	return log_term_at(&r->log, r->commit_index) == r->term;
}

static void read_index_deliver(struct raft *r, const struct raft_read_pending *p)
{
	if (p->from == r->cfg.id) {
		RN_ASSERT(r->read_states_count < RAFT_READS_PENDING_MAX);
		r->read_states[r->read_states_count++] = (struct raft_read_state){
			.ctx = p->ctx,
			.read_index = p->read_index,
		};
		return;
	}
	struct raft_message *m = step_msg_new(r, RAFT_MSG_READ_INDEX_RESP, p->from);
	if (m != NULL) {
		m->read_index_resp.ctx = p->ctx;
		m->read_index_resp.read_index = p->read_index;
	}
}

/* Leader: queue a read from `from` (self or a follower). */
static int read_index_enqueue(struct raft *r, uint64_t ctx, raft_node_id from)
{
	RN_ASSERT(r->role == RAFT_LEADER);
	if (r->reads_count >= RAFT_READS_PENDING_MAX) {
		return -RAFT_ERR_BUSY;
	}
	struct raft_read_pending p = {.ctx = ctx, .from = from};
	if (!read_index_committed_in_term(r)) {
		/* Waits for the no-op to commit; read_index_on_commit goes on. */
		r->reads[r->reads_count++] = p;
		return 0;
	}
	p.read_index = r->commit_index;
	if (membership_self_voter(r) && r->conf.voters_count == 1) {
		read_index_deliver(r, &p); /* we are the majority */
		return 0;
	}
	p.read_seq = ++r->read_seq;
	r->reads[r->reads_count++] = p;
	replication_broadcast_heartbeat(r, r->read_seq);
	return 0;
}

int read_index_request(struct raft *r, uint64_t ctx)
{
	if (r->role == RAFT_LEADER) {
		return read_index_enqueue(r, ctx, r->cfg.id);
	}
	if (r->leader_id == RAFT_NODE_NONE) {
		return -RAFT_ERR_NO_LEADER;
	}
	struct raft_message *m = step_msg_new(r, RAFT_MSG_READ_INDEX, r->leader_id);
	if (m == NULL) {
		return -RAFT_ERR_BUSY;
	}
	m->read_index.ctx = ctx;
	return 0;
}

/* Leader: a follower forwarded a read. */
void read_index_recv(struct raft *r, const struct raft_message *m)
{
	if (r->role != RAFT_LEADER) {
		return; /* the follower times out and asks the new leader */
	}
	if (read_index_enqueue(r, m->read_index.ctx, m->from) != 0) {
		r->counters.msgs_dropped_invalid++; /* queue full: follower retries */
	}
}

/* Follower: the leader confirmed our forwarded read. */
void read_index_recv_resp(struct raft *r, const struct raft_message *m)
{
	RN_ASSERT(r->read_states_count < RAFT_READS_PENDING_MAX);
	r->read_states[r->read_states_count++] = (struct raft_read_state){
		.ctx = m->read_index_resp.ctx,
		.read_index = m->read_index_resp.read_index,
	};
}

/* Leader: after heartbeat answers, release every read whose round a
 * majority (counting the leader) has confirmed. Rounds are FIFO. */
void read_index_confirm(struct raft *r)
{
	uint32_t done = 0;

	RN_ASSERT(r->role == RAFT_LEADER);

	for (; done < r->reads_count; done++) {
		const struct raft_read_pending *p = &r->reads[done];
		if (p->read_seq == 0) {
			break; /* still waiting for a commit in this term */
		}
		/* Voters only; the leader counts unless it is being removed. */
		uint32_t acks = membership_self_voter(r) ? 1 : 0;
		for (uint32_t i = 0; i < r->peers_count; i++) {
			if (i != r->member_slot_self && membership_slot_voter(r, i) &&
			    r->progress[i].read_seq_acked >= p->read_seq) {
				acks++;
			}
		}
		if (acks < election_quorum(r)) {
			break;
		}
		read_index_deliver(r, p);
	}
	for (uint32_t i = done; i < r->reads_count; i++) {
		r->reads[i - done] = r->reads[i];
	}
	r->reads_count -= done;
}

/* Leader: the first commit of this term lets waiting reads proceed. */
void read_index_on_commit(struct raft *r)
{
	bool started = false;

	RN_ASSERT(r->role == RAFT_LEADER);
	if (!read_index_committed_in_term(r)) {
		return;
	}
	for (uint32_t i = 0; i < r->reads_count; i++) {
		if (r->reads[i].read_seq == 0) {
			if (!started) {
				r->read_seq++;
				started = true;
			}
			r->reads[i].read_index = r->commit_index;
			r->reads[i].read_seq = r->read_seq;
		}
	}
	if (started) {
		if (membership_self_voter(r) && r->conf.voters_count == 1) {
			read_index_confirm(r);
		} else {
			replication_broadcast_heartbeat(r, r->read_seq);
		}
	}
}

void read_index_reset(struct raft *r)
{
	r->reads_count = 0;
}
