/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c - snapshots, log compaction and InstallSnapshot (§5.1, Figure
 * 5.3), under the SNAPSHOT CONTRACT written in consensus.h.
 *
 * The caller snapshots its state machine and compacts its durable log; the
 * core only records what exists (the latest durable snapshot's metadata and
 * the compaction point) and decides who needs what:
 *
 *  - leader: a follower whose next entry is compacted away cannot be fed by
 *    from_storage appends any more. It is offered the snapshot
 *    (RAFT_MSG_SNAPSHOT, metadata only: the node layer moves the bytes) and
 *    kept in progress state SNAPSHOT - no appends - until it acknowledges
 *    the snapshot's index, or offered again after snapshot_timeout_ticks
 *    (an offer or its answer lost, or a slow transfer that the repeated
 *    offer resumes). Commit counting is unchanged: acknowledgements are
 *    match indices as always.
 *  - follower: the offer is checked like an append (term rules, leader
 *    contact, election timer: step.c and below). Old news (at or below the
 *    commit index) is acknowledged; a log that already holds (index, term)
 *    is kept and committed to there (Log Matching makes the prefix the
 *    leader's); anything else is installed: the in-memory log restarts
 *    after (index, term), the commit index becomes index, and the caller
 *    installs the staged snapshot durably before the follower answers.
 *
 * Never an install at or below the commit index: it would roll committed
 * state back (State Machine Safety, §3.6.3).
 */
#include <string.h>

#include "internal.h"

void snapshot_taken(struct raft *r, const struct raft_snapshot_meta *meta)
{
	RN_ASSERT(meta->index >= 1);
	RN_ASSERT(meta->term >= 1);
	/* Only applied, hence committed, state may be snapshotted (§5.1). */
	RN_ASSERT(meta->index <= r->applied_index);
	RN_ASSERT(meta->index <= r->commit_index);
	RN_ASSERT(meta_valid(meta)); /* the caller's configuration at meta->index */
	if (log_holds(&r->log, meta->index) || meta->index + 1 == r->log.first_index) {
		RN_ASSERT(log_term_at(&r->log, meta->index) == meta->term);
	}
	if (meta->index <= r->snapshot.index) {
		return; /* an older one: the latest stays what we offer */
	}
	r->snapshot = *meta;
}

void snapshot_compacted(struct raft *r, raft_index index)
{
	/* A compacted entry must be offerable: a snapshot covers it. */
	RN_ASSERT(index <= r->snapshot.index);
	RN_ASSERT(index <= r->commit_index);
	r->compacted_index = rn_max_u64(r->compacted_index, index);
}

void snapshot_installed(struct raft *r, raft_index index, raft_term term)
{
	if (!r->install_pending || r->install.index != index || r->install.term != term) {
		return; /* superseded by a later install, or not ours */
	}
	RN_ASSERT(index <= r->commit_index);
	RN_ASSERT(index <= r->log.last_index);
	r->install_pending = false;
	/* The snapshot covers 1..index durably, and the reset log holds
	 * nothing at or below it (contract, d). */
	r->persisted_index = rn_max_u64(r->persisted_index, index);
	r->applied_index = rn_max_u64(r->applied_index, index);
	if (index > r->snapshot.index) {
		r->snapshot = r->install;
	}
	r->compacted_index = rn_max_u64(r->compacted_index, index);
	if (r->role == RAFT_LEADER) {
		replication_leader_persisted(r);
	} else {
		recv_append_persisted(r); /* the answer the offer waited for */
	}
}

bool snapshot_needed(const struct raft *r, uint32_t slot)
{
	const struct raft_progress *pr = &r->progress[slot];

	return pr->next_index <= r->compacted_index && pr->next_index < r->log.first_index;
}

void snapshot_send(struct raft *r, uint32_t slot)
{
	struct raft_progress *pr = &r->progress[slot];

	RN_ASSERT(r->role == RAFT_LEADER);
	RN_ASSERT(snapshot_needed(r, slot));
	RN_ASSERT(r->snapshot.index >= r->compacted_index); /* contract, b */
	struct raft_snapshot_meta meta = r->snapshot;
	if (RAFT_BUG(r, SNAPSHOT_UNCOMMITTED)) {
		/* Planted: "the newest state is the best one to send". */
		meta.index = r->log.last_index;
		meta.term = log_last_term(&r->log);
	}
	pr->state = RAFT_PROGRESS_SNAPSHOT;
	pr->snapshot_index = meta.index;
	pr->snapshot_elapsed_ticks = 0;
	pr->probe_sent = false;
	pr->inflight_head = 0;
	pr->inflight_count = 0;
	struct raft_message *m = step_msg_new(r, RAFT_MSG_SNAPSHOT, r->peers[slot]);
	if (m == NULL) {
		return; /* the timeout offers again */
	}
	m->snapshot.meta = meta;
	r->counters.snapshots_offered++;
}

bool snapshot_on_ack(struct raft *r, uint32_t slot, raft_index match_index)
{
	struct raft_progress *pr = &r->progress[slot];

	RN_ASSERT(r->role == RAFT_LEADER);
	RN_ASSERT(pr->state == RAFT_PROGRESS_SNAPSHOT);
	if (match_index < pr->snapshot_index) {
		return false; /* from before the offer: still transferring */
	}
	/* Installed (or already held): probe from there. A match past the
	 * next index turns the probe into replicate at once. */
	pr->state = RAFT_PROGRESS_PROBE;
	pr->probe_sent = false;
	pr->snapshot_elapsed_ticks = 0;
	return true;
}

void snapshot_leader_tick(struct raft *r)
{
	RN_ASSERT(r->role == RAFT_LEADER);
	for (uint32_t i = 0; i < r->peers_count; i++) {
		struct raft_progress *pr = &r->progress[i];
		if (i == r->member_slot_self || pr->state != RAFT_PROGRESS_SNAPSHOT) {
			continue;
		}
		if (++pr->snapshot_elapsed_ticks < r->cfg.snapshot_timeout_ticks) {
			continue;
		}
		/* Offer again: the latest snapshot if the follower still needs
		 * one, else what it lacks by appends (compaction may not have
		 * passed it, or a newer snapshot moved the point). */
		pr->state = RAFT_PROGRESS_PROBE;
		pr->probe_sent = false;
		replication_send_append(r, i, true);
	}
}

/* Installs the offered snapshot: the in-memory log restarts after
 * (index, term), the caller installs durably (RAFT_UPDATE_SNAPSHOT), and
 * the leader is answered once that is reported (snapshot_installed). */
static void recv_snapshot_install(struct raft *r, const struct raft_message *m)
{
	const struct raft_snapshot_meta *meta = &m->snapshot.meta;

	RN_ASSERT(r->new_entries_count == 0);
	RN_ASSERT((r->update_flags & RAFT_UPDATE_TRUNCATE) == 0);
	if (!RAFT_BUG(r, COMPACT_PAST_COMMIT)) {
		RN_ASSERT(meta->index > r->commit_index); /* never roll back */
	}
	r->log.first_index = meta->index + 1;
	r->log.last_index = meta->index;
	r->log.prev_term = meta->term;
	r->commit_index = meta->index;
	/* Nothing of the old log is promised durable any more; the install
	 * itself is, once reported. */
	r->persisted_index = 0;
	r->applied_index = rn_min_u64(r->applied_index, meta->index);
	r->verified_index = meta->index;
	r->install_pending = true;
	r->install = *meta;
	/* The snapshot's configuration is the follower's now: committed. */
	struct raft_membership conf = {.voters_count = meta->voters_count,
				       .learners_count = meta->learners_count};
	memcpy(conf.voters, meta->voters, sizeof(conf.voters));
	memcpy(conf.learners, meta->learners, sizeof(conf.learners));
	membership_set(r, &conf, meta->index);
	r->conf_prev = conf;
	r->conf_prev_index = meta->index;
	r->update_snapshot = *meta;
	r->update_flags |= RAFT_UPDATE_SNAPSHOT | RAFT_UPDATE_COMMIT;
	r->ack_to = m->from;
	r->counters.snapshots_installed++;
}

void recv_snapshot(struct raft *r, const struct raft_message *m)
{
	const struct raft_snapshot_meta *meta = &m->snapshot.meta;

	RN_ASSERT(r->role == RAFT_FOLLOWER);
	RN_ASSERT(m->term == r->term);
	RN_ASSERT(m->from == r->leader_id);
	r->election_elapsed_ticks = 0;
	if (meta->index <= r->commit_index) {
		if (RAFT_BUG(r, COMPACT_PAST_COMMIT) && meta->index < r->commit_index) {
			/* Planted: "the leader's snapshot is authoritative". */
			recv_snapshot_install(r, m);
			return;
		}
		recv_append_ack(r, m->from, r->commit_index); /* old news */
		return;
	}
	bool holds = log_holds(&r->log, meta->index) &&
		     (log_term_at(&r->log, meta->index) == meta->term ||
		      RAFT_BUG(r, INSTALL_KEEPS_CONFLICTING_TAIL));
	if (holds) {
		/* Figure 5.3 receiver rule 6: the prefix is the leader's (Log
		 * Matching), keep the entries after it. */
		r->verified_index = rn_max_u64(r->verified_index, meta->index);
		step_set_commit(r, meta->index);
		recv_append_ack(r, m->from, meta->index);
		return;
	}
	recv_snapshot_install(r, m);
}
