/* SPDX-License-Identifier: MIT */
/*
 * internal.h - the Raft core's private state and the functions its files
 * share. One Raft concept per file: log.c (in-memory log window),
 * convert.c (role changes), election.c (timeouts, campaigns, vote counting),
 * recv_vote.c (RequestVote/PreVote), recv_append.c (follower side of
 * AppendEntries and heartbeats), replication.c (leader side: progress,
 * sending, commit), propose.c (client batches), snapshot.c (snapshots, compaction and InstallSnapshot,
 * both sides), read_index.c, transfer.c, step.c (the entry point and
 * term rules), create.c (the only allocation).
 */
#ifndef RAFT_INTERNAL_H
#define RAFT_INTERNAL_H

#include "common.h"
#include "consensus.h"

/* Messages one step may emit: a broadcast to every peer, a few times over
 * (append + heartbeat + timeout-now), plus read-index replies. Reaching it
 * stops further sends in that step; the next tick or ack resumes them. */
#define RAFT_MSGS_PER_STEP_MAX (4u * RAFT_NODES_MAX + RAFT_READS_PENDING_MAX)

/* In-memory window of log metadata (payloads stay with the caller). */
struct raft_log {
	struct raft_entry *ring; /* capacity = mask + 1, a power of two (asserted at create) */
	uint64_t mask;
	raft_index first_index; /* lowest index held (released below it) */
	raft_index last_index;	/* 0 when empty */
	raft_term prev_term;	/* term of first_index - 1 (0 at log start) */
};

/* Leader's view of one follower (§3.5, Figure 3.1 nextIndex/matchIndex). */
struct raft_progress {
	raft_index match_index;
	raft_index next_index;
	uint8_t state;	     /* enum raft_progress_state */
	bool probe_sent;     /* probe: an append is outstanding, wait */
	bool recent_active;  /* heard from since the last quorum check */
	uint64_t read_seq_acked; /* highest ReadIndex round it confirmed */
	/* Last index of each in-flight append, oldest first (a ring), and
	 * the prev index of the oldest (its appends are consecutive). */
	raft_index inflight[RAFT_INFLIGHT_APPENDS_MAX];
	uint32_t inflight_head;
	uint32_t inflight_count;
	raft_index inflight_prev;
	/* match_index when the current probe or window started: the follower
	 * held it before any append now outstanding reached it. */
	raft_index window_match;
	/* State SNAPSHOT: the snapshot offered, and ticks since the offer. */
	raft_index snapshot_index;
	uint32_t snapshot_elapsed_ticks;
};

/* A ReadIndex request waiting for its heartbeat round (§6.4). */
struct raft_read_pending {
	uint64_t ctx;
	raft_index read_index;
	uint64_t read_seq;
	raft_node_id from; /* requester: self, or a follower to answer */
};

struct raft {
	struct raft_config cfg;
	/* The configuration in force (membership.c): conf, set by the config
	 * entry at conf_index (0: the floor's or a snapshot's), and conf_prev,
	 * the one before it, kept until conf_index commits (a truncation of
	 * an uncommitted config entry reverts to it). The peer table is conf's
	 * voters and learners in slots (the index of every per-peer array);
	 * voter_mask has a bit per voter slot. member_slot_self is UINT32_MAX
	 * when this server is not in the configuration. */
	struct raft_membership conf;
	raft_index conf_index;
	struct raft_membership conf_prev;
	raft_index conf_prev_index;
	raft_node_id peers[RAFT_NODES_MAX];
	uint32_t peers_count;
	bool peers_leaving; /* the table holds a server conf removed (pending) */
	uint32_t voter_mask;
	uint32_t member_slot_self;
	uint32_t quorum; /* votes needed: voters / 2 + 1 */
	bool force_pending; /* force_new_cluster: append RAFT_CONF_FORCE when leading */
	raft_index bug_conf_index; /* planted config-on-commit: waiting entry */
	uint64_t bug_conf_payload;

	/* Persistent state (§3.8), mirrored to storage through updates. */
	raft_term term;
	raft_node_id vote;

	/* Volatile state. */
	uint8_t role;
	raft_node_id leader_id;
	struct raft_log log;
	raft_index commit_index;
	raft_index persisted_index; /* durable on this server (PERSISTED events) */
	raft_index applied_index;   /* reported by the caller (APPLIED events) */

	/* Snapshots (SNAPSHOT CONTRACT in consensus.h). */
	struct raft_snapshot_meta snapshot; /* latest durable one, index 0 = none */
	raft_index compacted_index;	    /* durable log holds nothing <= it */
	bool install_pending;		    /* RAFT_UPDATE_SNAPSHOT asked, not durable */
	struct raft_snapshot_meta install;  /* what install_pending waits for */

	/* Timers, in ticks (time enters only through RAFT_EVENT_TICK). */
	uint32_t election_elapsed_ticks;
	uint32_t heartbeat_elapsed_ticks;
	uint32_t election_timeout_ticks; /* randomized, [min, 2 * min) */
	uint64_t rng_state;

	/* Candidate / precandidate: votes by member slot, one bit each. */
	uint32_t votes_granted_mask;
	uint32_t votes_rejected_mask;

	/* Leader. */
	struct raft_progress progress[RAFT_NODES_MAX]; /* by member slot */
	uint64_t uncommitted_bytes;
	raft_node_id transfer_target;
	uint32_t transfer_elapsed_ticks;
	uint64_t read_seq; /* ReadIndex heartbeat round */
	struct raft_read_pending reads[RAFT_READS_PENDING_MAX];
	uint32_t reads_count;

	/* Follower: acknowledgement of durable entries (§10.2.1). */
	raft_index verified_index; /* log known to match the leader's, this term */
	raft_index acked_index;	   /* highest match_index sent this term */
	raft_node_id ack_to;	   /* leader owed an ack, RAFT_NODE_NONE if none */

	/* The update being built by the current step. */
	uint32_t update_flags;
	raft_index truncate_index;
	struct raft_entry *new_entries; /* appended this step, contiguous */
	uint32_t new_entries_count;
	struct raft_message *msgs;
	uint32_t msgs_count;
	struct raft_read_state read_states[RAFT_READS_PENDING_MAX];
	uint32_t read_states_count;
	struct raft_snapshot_meta update_snapshot; /* with RAFT_UPDATE_SNAPSHOT */
	raft_node_id prev_leader_id;
	uint8_t prev_role;

	struct raft_counters counters;
	uint64_t steps;
	int planted_bug; /* enum raft_planted_bug; always 0 in production */
};

_Static_assert(RAFT_NODES_MAX <= 8 * sizeof(((struct raft *)0)->votes_granted_mask),
	       "a vote mask has a bit for every member slot");

/*
 * membership.c - the configuration in force (MEMBERSHIP CONTRACT in
 * consensus.h): single-server changes taking effect when appended.
 */

/* Sets the configuration in force and rebuilds the peer table, keeping the
 * progress of peers that stay (a leader's new peers start in probe at
 * last_index + 1). Any role. */
void membership_set(struct raft *r, const struct raft_membership *m, raft_index index);
/* A config entry was appended at entry->index: it takes effect now. */
void membership_on_append(struct raft *r, const struct raft_entry *e);
/* Entries >= from_index were truncated: a config entry among them reverts
 * to the previous configuration. */
void membership_on_truncate(struct raft *r, raft_index from_index);
/* The commit index moved: a committed config entry is the base now. */
void membership_on_commit(struct raft *r);
/* True when this server is a voter of its configuration. */
bool membership_self_voter(const struct raft *r);
/* A voter, or a voter the newest, uncommitted configuration removed. */
bool membership_self_may_campaign(const struct raft *r);
/* Our newest configuration entry removed id (see membership.c). */
bool membership_removed_by_newest(const struct raft *r, raft_node_id id, raft_index last_index,
				  raft_term last_term);
/* True when slot `slot` is a voter. */
bool membership_slot_voter(const struct raft *r, uint32_t slot);
/* RAFT_EVENT_MEMBER: a leader proposes one change. */
int membership_propose(struct raft *r, uint8_t op, raft_node_id id, raft_index *index_out);
/* After a step, a leader whose removal committed steps down (§4.2.2). */
void membership_after_step(struct raft *r);
/* True when a config entry's payload is well formed (untrusted). */
bool membership_payload_valid(uint64_t payload);

/* Planted bugs compile away in the production core. */
#ifdef RAFT_PLANTED_BUGS
#define RAFT_BUG(r, name) ((r)->planted_bug == RAFT_BUG_##name)
#else
#define RAFT_BUG(r, name) 0
#endif

/*
 * log.c - the in-memory window of log metadata. Any role. Invariants it
 * keeps: entries first_index..last_index sit at ring[index & mask], indices
 * consecutive and terms never decreasing; first_index <= last_index + 1;
 * first_index <= commit_index + 1 (released entries are committed).
 */

/* Term of entry `index`: prev_term for first_index - 1, 0 for index 0, past
 * the end or further below the window. Callers that must tell "term 0" from
 * "not held" check log_holds first. */
raft_term log_term_at(const struct raft_log *log, raft_index index);
/* True when entry `index` is in the window (never for index 0). */
bool log_holds(const struct raft_log *log, raft_index index);
/* The entry at `index`. Precondition: log_holds(log, index). */
const struct raft_entry *log_get(const struct raft_log *log, raft_index index);
/* Slots in the ring: raft_config.log_entries_max, a power of two. */
uint64_t log_capacity(const struct raft_log *log);
/* Slots not holding an entry. 0 is back-pressure, not a bug: proposals get
 * -RAFT_ERR_LOG_FULL, a follower takes what fits. */
uint64_t log_free_slots(const struct raft_log *log);
/* Term of the last entry (prev_term when the window is empty, 0 for an
 * empty log): our side of the §3.6.1 up-to-date comparison. */
raft_term log_last_term(const struct raft_log *log);
/* Appends one entry at last_index + 1 and to this step's update.entries.
 * Preconditions: a free slot, a term >= the last term, contiguous with the
 * entries already appended in this step (one write per update). */
void log_append(struct raft *r, const struct raft_entry *entry);
/* log_append for `count` consecutive entries, checked once per batch.
 * Preconditions: `count` free slots, entries[0].index == last_index + 1. */
void log_append_batch(struct raft *r, const struct raft_entry *entries, uint32_t count);
/* §3.5: drops the conflicting suffix from from_index on, here and (through
 * RAFT_UPDATE_TRUNCATE) in storage; persisted_index falls with it.
 * Preconditions: first_index <= from_index <= last_index, nothing appended
 * yet in this step, and from_index > commit_index: a committed entry is
 * never removed (State Machine Safety, §3.6.3). */
void log_truncate(struct raft *r, raft_index from_index);
/* Frees the slots of entries <= up_to_index, clamped to persisted_index (a
 * leader reads released entries back from its durable log, so they must be
 * there); keeps the last released term in prev_term. Precondition: the
 * clamped range is applied and committed. */
void log_release(struct raft *r, raft_index up_to_index);
/* How many entries from `index` on lie contiguous in the ring (the ring
 * wraps), capped at count_max; 0 outside the window. An append points into
 * the ring for that many, copying nothing. */
uint32_t log_contiguous_from(const struct raft_log *log, raft_index index, uint32_t count_max);
/* §3.5 fast backtracking: the largest index <= `index` whose term is
 * <= `term` (in the window or at first_index - 1), and that term in
 * *term_out; 0 and 0 when there is none. Follower: the hint in a rejection;
 * leader: where to probe next. */
raft_index log_find_conflict_by_term(const struct raft_log *log, raft_index index, raft_term term,
				     raft_term *term_out);

/*
 * convert.c - the only place that changes r->role; each change is checked
 * against the transition table of §3.3 (Figure 3.3) with §9.6's
 * PreCandidate, and leaving leadership drops pending reads and a transfer.
 */

/* §3.3: becomes (or stays) follower in `term` (>= the current term; a
 * higher one clears the vote, §3.4) under leader_id (RAFT_NODE_NONE when
 * unknown). A new term, leader or role restarts the acknowledgement state
 * (§10.2.1: acks are per leader and term); the election timer always
 * restarts. Legal from every role. */
void convert_to_follower(struct raft *r, raft_term term, raft_node_id leader_id);
/* §9.6: starts asking for pre-votes for term + 1 without changing term or
 * vote. Precondition: not leader. */
void convert_to_precandidate(struct raft *r);
/* §3.4: term + 1, votes for itself, resets the election timer.
 * Precondition: not leader. */
void convert_to_candidate(struct raft *r);
/* §3.4 election won: resets every follower's progress, appends a no-op of
 * the new term (§6.4; it lets earlier terms' entries commit, §3.6.2) when
 * the window has room, and sends it to everyone. Precondition: candidate
 * that voted for itself. */
void convert_to_leader(struct raft *r);

/*
 * election.c - timeouts, campaigns and vote counting (§3.4, §9.6).
 */

/* §3.4: draws a fresh timeout from [election_timeout_ticks,
 * 2 * election_timeout_ticks) and restarts the count. Any role. */
void election_reset_timer(struct raft *r);
/* §3.4 campaign, preceded by a pre-vote round when `prevote` (§9.6). With
 * `transfer` (TimeoutNow, §3.10) there is no pre-vote and the requests ask
 * voters to set their leader lease aside (§4.2.3). A single-server cluster
 * wins at once. Preconditions: not leader; not both prevote and transfer. */
void election_start(struct raft *r, bool prevote, bool transfer);
/* Follower or (pre)candidate tick: campaigns (with a pre-vote when
 * configured) once the randomized timeout expires. Precondition: not
 * leader. */
void election_tick(struct raft *r);
/* §3.6.1 election restriction: true when a log ending at (last_index,
 * last_term) is at least as up to date as ours. Any role. */
bool election_log_up_to_date(const struct raft *r, raft_index last_index, raft_term last_term);
/* Slot of member `id` in cfg.members (the index of every per-peer array),
 * or UINT32_MAX when `id` is not a member. Any role. */
uint32_t election_member_slot(const struct raft *r, raft_node_id id);
/* Records the first answer of member `from` in this round (a repeat does
 * not count twice); true once the granted votes reach the quorum.
 * Preconditions: role precandidate or candidate; `from` is a member. */
bool election_count_vote(struct raft *r, raft_node_id from, bool granted);
/* A strict majority of the members (members_count / 2 + 1): for votes
 * (§3.4), commit (§3.6.2), CheckQuorum (§6.2) and ReadIndex rounds (§6.4).
 * Any role. */
uint32_t election_quorum(const struct raft *r);

/*
 * recv_vote.c - RequestVote and PreVote. Precondition for both: step.c's
 * term rules ran (a higher term adopted, except for pre-votes; a lower one
 * answered and dropped; votes inside a leader lease dropped, §4.2.3).
 */

/* §3.4, §9.6: answers a vote or pre-vote. Grants when free to vote in this
 * term (one vote per term; a pre-vote for a later term binds nothing) and
 * the candidate's log is up to date (§3.6.1). A granted vote is recorded
 * (the hard state is persisted before the answer leaves) and resets the
 * timer. Any role. Precondition: m->term == term for a vote, >= term for a
 * pre-vote. */
void recv_vote(struct raft *r, const struct raft_message *m);
/* Counts an answer while its round is on (a late one is ignored): winning
 * the pre-vote starts the real election (§9.6), winning the vote makes
 * leader (§3.4), a majority of refusals makes follower in the same term. */
void recv_vote_resp(struct raft *r, const struct raft_message *m);

/*
 * recv_append.c - the follower side of replication (§3.5) with durable-only
 * acknowledgements (§10.2.1).
 */

/* §3.5 AppendEntries: restarts the election timer, skips entries up to the
 * commit index (§3.6.3), checks (prev_index, prev_term), truncates at the
 * first conflict, appends what fits the window (back-pressure: the rest is
 * not acknowledged), commits up to min(leader commit, last new index), and
 * acknowledges only entries that are durable here and match the leader's,
 * now or at a later PERSISTED event. A commit-only update is checked and
 * commits the same way but its success is never acknowledged (a rejection
 * is). Preconditions: role follower, m->term == term,
 * m->from == leader_id. */
void recv_append(struct raft *r, const struct raft_message *m);
/* §3.4 heartbeat: resets the election timer, commits up to the leader's
 * commit index (which the leader capped at our match), and echoes the
 * ReadIndex round it carries (§6.4). Preconditions: as recv_append. */
void recv_heartbeat(struct raft *r, const struct raft_message *m);
/* §10.2.1: after a PERSISTED event, acknowledges to the current leader the
 * entries that just became durable. Any role; does nothing unless a
 * follower owes its leader an acknowledgement (or while a snapshot install
 * is not yet durable). */
void recv_append_persisted(struct raft *r);
/* Acknowledges to `to` now if everything up to `index` is durable and
 * matching here (§10.2.1), else owes it the acknowledgement (sent by
 * recv_append_persisted). Role follower. */
void recv_append_ack(struct raft *r, raft_node_id to, raft_index index);

/*
 * replication.c - the leader side of replication (§3.5, §3.6.2, §10.2).
 * Precondition for every function: role is leader.
 */

/* §3.5 (Figure 3.1): after winning, every follower is probed from
 * next_index = last_index + 1 with match_index 0, and counts as live for
 * the first CheckQuorum (§6.2). */
void replication_reset_progress(struct raft *r);
/* §3.5: sends the follower in `slot` one AppendEntries from its
 * next_index (at most append_entries_max entries, pointing into the
 * window), or a from_storage append for entries below the window. Sends
 * nothing while its progress is paused; with send_if_empty, sends even
 * without entries (a probe, or to carry the commit index).
 * Precondition: slot is a peer, not self. */
void replication_send_append(struct raft *r, uint32_t slot, bool send_if_empty);
/* replication_send_append to every peer. */
void replication_broadcast_append(struct raft *r, bool send_if_empty);
/* §3.4 heartbeats to every peer, each with the commit index capped at that
 * peer's match index, and the ReadIndex round `read_seq` they confirm
 * (§6.4). */
void replication_broadcast_heartbeat(struct raft *r, uint64_t read_seq);
/* §3.5: a success raises the follower's match and next index, frees its
 * in-flight appends, turns a probe into replicate, may commit (and then
 * tells every follower at once, on an append leaving anyway or in an
 * unacknowledged commit-only update), refills its window and may complete
 * a transfer (§3.10); a fresh rejection drops the
 * follower back to probing, skipping ahead with its hint (fast
 * backtracking). Stale answers are ignored. Precondition: m->from is a
 * peer. */
void replication_recv_append_resp(struct raft *r, const struct raft_message *m);
/* Marks the follower live (§6.2), records the ReadIndex round it
 * confirmed and releases reads a majority confirmed (§6.4), unpauses a
 * lost probe or a stalled window, and resends when it is behind.
 * Precondition: m->from is a peer. */
void replication_recv_heartbeat_resp(struct raft *r, const struct raft_message *m);
/* §3.6.2: commits the highest index durable on a quorum (the leader's own
 * share is its persisted_index, §10.2.1) if that entry is of the current
 * term, then lets reads waiting for it go (§6.4). True if commit moved. */
bool replication_maybe_commit(struct raft *r);
/* Leader tick: heartbeats every heartbeat_interval_ticks (§3.4), the
 * CheckQuorum test every election timeout (§6.2: no live majority, step
 * down), and the transfer timeout (§3.10). */
void replication_leader_tick(struct raft *r);
/* §10.2.1: the leader's own write became durable; it may complete a quorum
 * and the new commit index goes out at once (as after an ack). */
void replication_leader_persisted(struct raft *r);

/*
 * progress.c - the leader's view of one follower: states PROBE and
 * REPLICATE (SNAPSHOT: snapshot.c) and which answers are stale.
 * Precondition for every function: role is leader, pr is a peer's.
 */

/* True while nothing may be sent: a probe outstanding, a full window (or
 * half a log window unacknowledged), a snapshot offered. */
bool progress_paused(const struct raft *r, const struct raft_progress *pr);
/* An append of entries_count entries from next_index went out: replicate
 * moves next_index past it and tracks it in flight; probe waits for it. */
void progress_sent(const struct raft *r, struct raft_progress *pr, uint32_t entries_count);
/* Frees the in-flight appends whose last entry is <= index. */
void progress_free_to(struct raft_progress *pr, raft_index index);
/* Frees the oldest in-flight append (taken as lost). Precondition: one is. */
void progress_free_oldest(struct raft_progress *pr);
/* One append at a time from next_index (> match_index). */
void progress_become_probe(struct raft_progress *pr, raft_index next_index);
/* Pipelined from match_index + 1, nothing in flight. */
void progress_become_replicate(struct raft_progress *pr);
/* §3.5 rejection: true when it is news (it answers the probe, or an
 * append in flight, and was written after the last acknowledgement); the
 * follower then probes from where the logs can match (fast backtracking)
 * and the caller sends the probe. Stale ones are counted and change
 * nothing. */
bool progress_on_reject(struct raft *r, struct raft_progress *pr,
			const struct raft_msg_append_resp *resp);
/* §3.5 success: raises match_index (never lowers it; the only place it
 * rises) and frees the in-flight appends it covers; a probe turns to
 * replicate when the follower matches where it probes, else stays
 * outstanding. True if match rose.
 * Precondition: state is not SNAPSHOT, match_index <= last_index. */
bool progress_on_ack(struct raft *r, struct raft_progress *pr, raft_index match_index);

/*
 * propose.c - client batches at the leader (§3.5).
 */

/* §3.5 client batch: sets each entry's index and term, appends them and
 * sends them; the leader's own write runs in parallel (§10.2.1). Any role:
 * refusals are back-pressure, -RAFT_ERR_NOT_LEADER, _TRANSFERRING (§3.10),
 * _INVALID, _BATCH_TOO_BIG, _UNCOMMITTED_FULL or _LOG_FULL. */
int propose_batch(struct raft *r, struct raft_entry *entries, uint32_t entries_count);

/*
 * snapshot.c - snapshots, compaction and InstallSnapshot (§5.1, Figure
 * 5.3), under the SNAPSHOT CONTRACT of consensus.h. The core handles
 * metadata only: the caller moves the snapshot's bytes.
 */

/* RAFT_EVENT_SNAPSHOT: records a durable snapshot the caller took.
 * Preconditions (asserted): 1 <= meta->index <= applied_index (hence <=
 * commit_index), its term the log's where the window still holds it. An
 * older one than the latest is ignored. Any role. */
void snapshot_taken(struct raft *r, const struct raft_snapshot_meta *meta);
/* RAFT_EVENT_COMPACTED: the durable log holds nothing <= index. Asserted:
 * a snapshot covers it (index <= snapshot.index). Any role. */
void snapshot_compacted(struct raft *r, raft_index index);
/* RAFT_EVENT_SNAPSHOT_INSTALLED: the install asked for is durable; it
 * becomes this server's snapshot and compaction point, its entries count
 * as durable, and the leader is answered. A stale report is ignored. Any
 * role. */
void snapshot_installed(struct raft *r, raft_index index, raft_term term);
/* True when the follower in `slot` needs an entry the leader's durable log
 * no longer has (next index <= compaction point, below the window): it
 * must be offered the snapshot. Precondition: role leader. */
bool snapshot_needed(const struct raft *r, uint32_t slot);
/* §5.1 leader side: offers the latest snapshot to the follower in `slot`
 * (RAFT_MSG_SNAPSHOT) and puts it in state SNAPSHOT: no appends until it
 * acknowledges the snapshot index. Preconditions: role leader,
 * snapshot_needed(r, slot). */
void snapshot_send(struct raft *r, uint32_t slot);
/* A successful append response from a follower in state SNAPSHOT: a match
 * at or past the offered index ends the transfer (the follower is probed
 * from there; true); an older match is from before the offer (false: keep
 * waiting). Precondition: role leader, the follower's state is SNAPSHOT. */
bool snapshot_on_ack(struct raft *r, uint32_t slot, raft_index match_index);
/* Leader tick: offers again to each follower whose offer went
 * unacknowledged for snapshot_timeout_ticks (lost, or a long transfer:
 * the caller resumes it). Precondition: role leader. */
void snapshot_leader_tick(struct raft *r);
/* §5.1 follower side (Figure 5.3's receiver rules, with the transfer done
 * by the caller): an offer at or below the commit index is old news
 * (acknowledged); one whose (index, term) the log holds keeps the log from
 * there and commits it; any other asks the caller to install it
 * (RAFT_UPDATE_SNAPSHOT): the in-memory log restarts after it, commit is
 * its index, and the answer waits for the durable install. Preconditions:
 * as recv_append. */
void recv_snapshot(struct raft *r, const struct raft_message *m);

/*
 * read_index.c - linearizable reads without a log write (§6.4). Pending
 * reads are FIFO and bounded by RAFT_READS_PENDING_MAX.
 */

/* §6.4: a leader queues the read (it waits for a commit in this term, then
 * for a heartbeat round a majority answers); any other role forwards it to
 * the known leader (§6.4.1). -RAFT_ERR_NO_LEADER or -RAFT_ERR_BUSY when it
 * cannot. Any role. */
int read_index_request(struct raft *r, uint64_t ctx);
/* §6.4.1 leader side: queues a read a follower forwarded, as its own.
 * Dropped and counted when not leader or full: the follower retries. */
void read_index_recv(struct raft *r, const struct raft_message *m);
/* §6.4.1 follower side: the leader confirmed a forwarded read; it becomes
 * a read state of this update. Any role. */
void read_index_recv_resp(struct raft *r, const struct raft_message *m);
/* §6.4 step 3: releases, oldest first, the reads whose heartbeat round a
 * majority (the leader included) confirmed. Precondition: role leader. */
void read_index_confirm(struct raft *r);
/* §6.4 step 1: once the leader has committed an entry of its term, reads
 * that waited for it take the commit index and start a heartbeat round.
 * Precondition: role leader. */
void read_index_on_commit(struct raft *r);
/* Drops every pending read (a leader stepping down; clients retry on their
 * timeout). Any role. */
void read_index_reset(struct raft *r);

/*
 * transfer.c - leadership transfer (§3.10).
 */

/* §3.10: the leader stops taking proposals, brings `target` up to date and
 * sends it TimeoutNow once it holds the whole log. 0 when target is self or
 * already the target; -RAFT_ERR_NOT_LEADER, -RAFT_ERR_INVALID for a
 * non-member. Any role. */
int transfer_start(struct raft *r, raft_node_id target);
/* §3.10: the follower in `slot` acknowledged more; TimeoutNow if it is the
 * target and now holds the whole log. Precondition: role leader. */
void transfer_on_progress(struct raft *r, uint32_t slot);
/* §3.10: abandons a transfer that took an election timeout (proposals
 * resume). Precondition: role leader. */
void transfer_tick(struct raft *r);
/* §3.10 target side: campaigns at once, without a pre-vote and asking
 * voters to set their lease aside (§4.2.3). Ignored by a leader. */
void transfer_recv_timeout_now(struct raft *r, const struct raft_message *m);
/* Forgets the transfer target; proposals resume. Any role. */
void transfer_abort(struct raft *r);

/*
 * step.c - the entry point and what every file uses to build the update.
 */

/* A new message of `type` to `to` in this step's update, stamped with our
 * id and current term; NULL once RAFT_MSGS_PER_STEP_MAX are queued (the
 * next tick or acknowledgement sends it again). Any role. */
struct raft_message *step_msg_new(struct raft *r, uint8_t type, raft_node_id to);
/* Moves the commit index forward (never back, never past last_index,
 * §3.6.3) and flags RAFT_UPDATE_COMMIT; a leader returns the bytes of its
 * own term's newly committed entries to the uncommitted budget.
 * Precondition: r->commit_index < commit_index <= last_index. */
void step_set_commit(struct raft *r, raft_index commit_index);
/* A snapshot meta's configuration is well formed: >= 1 voter, no id 0,
 * voters + learners <= RAFT_NODES_MAX. */
bool meta_valid(const struct raft_snapshot_meta *meta);

#endif /* RAFT_INTERNAL_H */
