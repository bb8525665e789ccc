/* SPDX-License-Identifier: MIT */
/*
 * replication.c - the leader side of log replication (§3.5, §10.2):
 * sending appends as each follower's progress allows (progress.c: probe
 * one at a time until the logs match, replicate pipelined up to
 * inflight_appends_max appends, stale answers dropped), commit by counting
 * durable replicas of current-term entries (§3.6.2), heartbeats and
 * CheckQuorum (§6.2).
 * Client batches enter through propose.c; followers that need a snapshot
 * are handed to snapshot.c.
 *
 * Precondition for every function here: role is leader.
 */
#include "internal.h"

void replication_reset_progress(struct raft *r)
{
	RN_ASSERT(r->role == RAFT_LEADER);
	for (uint32_t i = 0; i < r->peers_count; i++) {
		struct raft_progress *pr = &r->progress[i];
		*pr = (struct raft_progress){
			.match_index = 0,
			.next_index = r->log.last_index + 1,
			.state = RAFT_PROGRESS_PROBE,
			/* Count everyone as live for the first quorum check. */
			.recent_active = true,
		};
	}
}

/*
 * Sends the follower in `slot` what it lacks, from next_index on, as one
 * AppendEntries of up to append_entries_max entries. The entries array
 * points into the log window: no payload is copied. With send_if_empty an
 * append goes out even with no entries (to probe, or to carry the commit).
 *
 * A follower that needs entries below the window (released: committed,
 * applied and durable here) gets a from_storage append instead: the range
 * up to the floor, with entries and prev_term left for the caller to read
 * from its durable log (contract, step 3). It counts as sent exactly like
 * any other append; if the caller cannot read it, it is a lost message.
 * One that needs an entry the durable log no longer has (compacted) is
 * offered the snapshot instead (snapshot.c).
 */
void replication_send_append(struct raft *r, uint32_t slot, bool send_if_empty)
{
	struct raft_progress *pr = &r->progress[slot];

	RN_ASSERT(r->role == RAFT_LEADER);
	RN_ASSERT(slot != r->member_slot_self);
	if (progress_paused(r, pr)) {
		return;
	}
	if (snapshot_needed(r, slot)) {
		snapshot_send(r, slot);
		return;
	}
	if (r->install_pending && pr->next_index <= r->install.index) {
		/* A leader whose own install is not durable yet has neither
		 * those entries nor a snapshot to send: wait for it. */
		return;
	}
	RN_ASSERT(pr->next_index >= 1);
	raft_index prev_index = pr->next_index - 1;
	bool from_storage = pr->next_index < r->log.first_index;
	uint32_t count;
	if (from_storage) {
		count = (uint32_t)rn_min_u64(r->log.first_index - pr->next_index,
					     r->cfg.append_entries_max);
		RN_ASSERT(count > 0);
	} else {
		count = log_contiguous_from(&r->log, pr->next_index, r->cfg.append_entries_max);
	}
	if (count == 0 && !send_if_empty) {
		return;
	}
	struct raft_message *m = step_msg_new(r, RAFT_MSG_APPEND, r->peers[slot]);
	if (m == NULL) {
		return;
	}
	m->append.prev_index = prev_index;
	m->append.commit_index = r->commit_index;
	m->append.entries_count = count;
	m->append.from_storage = from_storage;
	m->append.commit_only = false; /* acknowledged: see replication_send_commit */
	if (from_storage) {
		m->append.prev_term = 0;
		m->append.entries = NULL;
	} else {
		m->append.prev_term = log_term_at(&r->log, prev_index);
		m->append.entries = count > 0 ? log_get(&r->log, pr->next_index) : NULL;
	}
	progress_sent(r, pr, count);
}

/* True when a message to `to` already queued in this step tells it the
 * current commit index (an append or a heartbeat leaving anyway). */
static bool replication_commit_queued(const struct raft *r, raft_node_id to)
{
	for (uint32_t i = 0; i < r->msgs_count; i++) {
		const struct raft_message *m = &r->msgs[i];
		if (m->to != to) {
			continue;
		}
		if (m->type == RAFT_MSG_APPEND && m->append.commit_index >= r->commit_index) {
			return true;
		}
		if (m->type == RAFT_MSG_HEARTBEAT && m->heartbeat.commit_index >= r->commit_index) {
			return true;
		}
	}
	return false;
}

/*
 * Tells the follower in `slot` that the commit index moved, so it applies
 * now rather than at the next heartbeat (eager commit propagation), at the
 * least cost: nothing when a message of this step already carries it;
 * entries when it lacks some (they carry the commit); an ordinary append
 * when it is probing (acknowledged: the probe is how its match is found);
 * else a commit-only update, which the follower does not acknowledge.
 *
 * Why a commit-only update needs no answer: in replicate state every entry
 * up to next_index - 1 is matched (match_index) or travels in an in-flight
 * append whose own acknowledgement (or, if lost, the heartbeat answer that
 * unpauses and resends) tells the leader; the update adds no entry, so its
 * answer would say nothing new. It takes no in-flight slot, and is not sent
 * while the follower is paused (as before: the next ack or heartbeat
 * answer carries the commit then).
 */
static void replication_send_commit(struct raft *r, uint32_t slot)
{
	struct raft_progress *pr = &r->progress[slot];

	RN_ASSERT(slot != r->member_slot_self);
	if (replication_commit_queued(r, r->peers[slot])) {
		return;
	}
	if (pr->state != RAFT_PROGRESS_REPLICATE || pr->next_index <= r->log.last_index) {
		replication_send_append(r, slot, true);
		return;
	}
	if (progress_paused(r, pr)) {
		return;
	}
	RN_ASSERT(pr->next_index == r->log.last_index + 1);
	RN_ASSERT(pr->next_index >= r->log.first_index); /* never from storage */
	struct raft_message *m = step_msg_new(r, RAFT_MSG_APPEND, r->peers[slot]);
	if (m == NULL) {
		return;
	}
	m->append.prev_index = pr->next_index - 1;
	m->append.prev_term = log_term_at(&r->log, pr->next_index - 1);
	m->append.commit_index = r->commit_index;
	m->append.entries = NULL;
	m->append.entries_count = 0;
	m->append.from_storage = false;
	m->append.commit_only = true;
}

/* replication_send_commit to every peer: the commit index just moved. */
static void replication_broadcast_commit(struct raft *r)
{
	for (uint32_t i = 0; i < r->peers_count; i++) {
		if (i != r->member_slot_self) {
			replication_send_commit(r, i);
		}
	}
}

void replication_broadcast_append(struct raft *r, bool send_if_empty)
{
	for (uint32_t i = 0; i < r->peers_count; i++) {
		if (i != r->member_slot_self) {
			replication_send_append(r, i, send_if_empty);
		}
	}
}

void replication_broadcast_heartbeat(struct raft *r, uint64_t read_seq)
{
	RN_ASSERT(r->role == RAFT_LEADER);
	for (uint32_t i = 0; i < r->peers_count; i++) {
		if (i == r->member_slot_self) {
			continue;
		}
		struct raft_message *m = step_msg_new(r, RAFT_MSG_HEARTBEAT, r->peers[i]);
		if (m == NULL) {
			return;
		}
		/* Never tell a follower to commit past what it matches. */
		m->heartbeat.commit_index = rn_min_u64(r->progress[i].match_index, r->commit_index);
		m->heartbeat.read_seq = read_seq;
	}
}

/* Insertion sort, descending: at most RAFT_NODES_MAX values. */
static void replication_sort_desc(raft_index *v, uint32_t count)
{
	for (uint32_t i = 1; i < count; i++) {
		raft_index x = v[i];
		uint32_t j = i;
		while (j > 0 && v[j - 1] < x) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/*
 * §3.6.2: commit the highest index stored durably on a quorum, but only if
 * that entry is of the current term (earlier-term entries then commit with
 * it). The leader's own vote is its durable index, not its last index
 * (§10.2.1: it writes in parallel with replication).
 */
bool replication_maybe_commit(struct raft *r)
{
	raft_index match[RAFT_NODES_MAX];
	uint32_t quorum = election_quorum(r);

	RN_ASSERT(r->role == RAFT_LEADER);
	RN_ASSERT(quorum >= 1);
	RN_ASSERT(quorum <= r->conf.voters_count);
	/* Voters of the configuration in force only (§4.1): learners never
	 * count, nor a leader that is removing itself. */
	uint32_t voters = 0;
	for (uint32_t i = 0; i < r->peers_count; i++) {
		if (membership_slot_voter(r, i)) {
			match[voters++] = i == r->member_slot_self ? r->persisted_index
								   : r->progress[i].match_index;
		}
	}
	RN_ASSERT(voters == r->conf.voters_count);
	replication_sort_desc(match, voters);
	raft_index candidate = match[quorum - 1];
	if (candidate <= r->commit_index) {
		return false;
	}
	if (log_term_at(&r->log, candidate) != r->term && !RAFT_BUG(r, COMMIT_OLD_TERM)) {
		return false;
	}
	step_set_commit(r, candidate);
	read_index_on_commit(r);
	return true;
}

/* Keeps a follower in replicate state busy up to its window. */
static void replication_fill_window(struct raft *r, uint32_t slot)
{
	struct raft_progress *pr = &r->progress[slot];

	for (uint32_t n = 0; n < r->cfg.inflight_appends_max; n++) {
		if (pr->next_index > r->log.last_index || progress_paused(r, pr)) {
			return;
		}
		uint32_t msgs_before = r->msgs_count;
		replication_send_append(r, slot, false);
		if (r->msgs_count == msgs_before) {
			return;
		}
	}
}

void replication_recv_append_resp(struct raft *r, const struct raft_message *m)
{
	uint32_t slot = election_member_slot(r, m->from);

	RN_ASSERT(r->role == RAFT_LEADER);
	if (slot >= r->peers_count) {
		r->counters.msgs_dropped_foreign++; /* removed, or never added */
		return;
	}
	struct raft_progress *pr = &r->progress[slot];
	RN_ASSERT(slot != r->member_slot_self);
	pr->recent_active = true;
	if (m->append_resp.reject) {
		if (progress_on_reject(r, pr, &m->append_resp)) {
			replication_send_append(r, slot, true);
			if (RAFT_BUG(r, MATCH_FROM_REJECT) && replication_maybe_commit(r)) {
				replication_broadcast_commit(r);
			}
		}
		return;
	}
	raft_index match = m->append_resp.match_index;
	if (match > r->log.last_index) {
		r->counters.msgs_dropped_invalid++; /* claims entries we never had */
		return;
	}
	if (pr->state == RAFT_PROGRESS_SNAPSHOT && !snapshot_on_ack(r, slot, match)) {
		return;
	}
	bool was_paused = progress_paused(r, pr);
	bool updated = progress_on_ack(r, pr, match);
	if (updated && replication_maybe_commit(r)) {
		/* Eager commit propagation: tell everyone now, not at the next
		 * heartbeat, so followers apply (and answer reads) sooner; the
		 * entries this follower gets carry it to it. A server whose
		 * removal this ack committed has left the table (its slot was
		 * the last: membership.c). */
		if (slot >= r->peers_count) {
			replication_broadcast_commit(r);
			return;
		}
		replication_fill_window(r, slot);
		replication_broadcast_commit(r);
	} else {
		if (was_paused) {
			/* It could not be told of the commit while paused. */
			replication_send_append(r, slot, true);
		}
		replication_fill_window(r, slot);
	}
	if (updated) {
		transfer_on_progress(r, slot);
	}
}

void replication_recv_heartbeat_resp(struct raft *r, const struct raft_message *m)
{
	uint32_t slot = election_member_slot(r, m->from);

	RN_ASSERT(r->role == RAFT_LEADER);
	if (slot >= r->peers_count) {
		r->counters.msgs_dropped_foreign++; /* removed, or never added */
		return;
	}
	struct raft_progress *pr = &r->progress[slot];
	RN_ASSERT(slot != r->member_slot_self);
	pr->recent_active = true;
	pr->read_seq_acked = rn_max_u64(pr->read_seq_acked, m->heartbeat_resp.read_seq);
	/* The follower is alive: un-pause a lost probe, and make room in a
	 * full window whose oldest append may have been lost. */
	if (pr->state == RAFT_PROGRESS_PROBE) {
		pr->probe_sent = false;
	} else if (pr->state == RAFT_PROGRESS_SNAPSHOT) {
		/* A transfer in progress: its timeout offers again. */
	} else if (pr->next_index > pr->match_index + log_capacity(&r->log) / 2) {
		/* Half a window unacknowledged: appends were lost, or its
		 * window was full. Probe from what it matched. */
		progress_become_probe(pr, pr->match_index + 1);
	} else if (pr->inflight_count >= r->cfg.inflight_appends_max) {
		progress_free_oldest(pr);
	}
	if (pr->match_index < r->log.last_index) {
		replication_send_append(r, slot, true);
	}
	read_index_confirm(r);
}

/* The leader's own write became durable: it may complete a quorum. */
void replication_leader_persisted(struct raft *r)
{
	RN_ASSERT(r->role == RAFT_LEADER);
	if (replication_maybe_commit(r)) {
		replication_broadcast_commit(r);
	}
}

/*
 * Leader tick: heartbeats every heartbeat_interval_ticks (§3.4), and every
 * election timeout the CheckQuorum test (§6.2): a leader that has not heard
 * from a majority steps down, so clients go find the real one.
 */
void replication_leader_tick(struct raft *r)
{
	RN_ASSERT(r->role == RAFT_LEADER);
	r->heartbeat_elapsed_ticks++;
	r->election_elapsed_ticks++;
	if (r->election_elapsed_ticks >= r->cfg.election_timeout_ticks) {
		r->election_elapsed_ticks = 0;
		if (r->cfg.check_quorum) {
			uint32_t active = membership_self_voter(r) ? 1 : 0;
			for (uint32_t i = 0; i < r->peers_count; i++) {
				if (i != r->member_slot_self && membership_slot_voter(r, i) &&
				    r->progress[i].recent_active) {
					active++;
				}
				r->progress[i].recent_active = false;
			}
			if (active < election_quorum(r)) {
				r->counters.leader_stepdowns_check_quorum++;
				convert_to_follower(r, r->term, RAFT_NODE_NONE);
				return;
			}
		}
	}
	transfer_tick(r);
	snapshot_leader_tick(r);
	if (r->heartbeat_elapsed_ticks >= r->cfg.heartbeat_interval_ticks) {
		r->heartbeat_elapsed_ticks = 0;
		replication_broadcast_heartbeat(r, r->read_seq);
	}
}
