/* SPDX-License-Identifier: MIT */
/*
 * internal.h - the Raft core's private state and the functions its files
 * share. One Raft concept per file: log.c (in-memory log window),
 * convert.c (role changes), election.c (timeouts, campaigns, vote counting),
 * recv_vote.c (RequestVote/PreVote), recv_append.c (follower side of
 * AppendEntries and heartbeats), replication.c (leader side: progress,
 * sending, commit), read_index.c, transfer.c, step.c (the entry point and
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
	struct raft_entry *ring; /* capacity = mask + 1, a power of two */
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
	/* Last index of each in-flight append, oldest first (a ring). */
	raft_index inflight[RAFT_INFLIGHT_APPENDS_MAX];
	uint32_t inflight_head;
	uint32_t inflight_count;
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
	uint32_t member_slot_self;
	uint32_t quorum; /* votes needed: members_count / 2 + 1 */

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

	/* Timers, in ticks (time enters only through RAFT_EVENT_TICK). */
	uint32_t election_elapsed_ticks;
	uint32_t heartbeat_elapsed_ticks;
	uint32_t election_timeout_ticks; /* randomized, [min, 2 * min) */
	uint64_t rng_state;

	/* Candidate / precandidate: votes by member slot. */
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
	raft_node_id prev_leader_id;
	uint8_t prev_role;

	struct raft_counters counters;
	uint64_t steps;
	int planted_bug; /* enum raft_planted_bug; always 0 in production */
};

/* Planted bugs compile away in the production core. */
#ifdef RAFT_PLANTED_BUGS
#define RAFT_BUG(r, name) ((r)->planted_bug == RAFT_BUG_##name)
#else
#define RAFT_BUG(r, name) 0
#endif

/* log.c */
raft_term log_term_at(const struct raft_log *log, raft_index index);
bool log_holds(const struct raft_log *log, raft_index index);
const struct raft_entry *log_get(const struct raft_log *log, raft_index index);
uint64_t log_capacity(const struct raft_log *log);
uint64_t log_free_slots(const struct raft_log *log);
raft_term log_last_term(const struct raft_log *log);
void log_append(struct raft *r, const struct raft_entry *entry);
void log_append_batch(struct raft *r, const struct raft_entry *entries, uint32_t count);
void log_truncate(struct raft *r, raft_index from_index);
void log_release(struct raft *r, raft_index up_to_index);
uint32_t log_contiguous_from(const struct raft_log *log, raft_index index, uint32_t count_max);
raft_index log_find_conflict_by_term(const struct raft_log *log, raft_index index, raft_term term,
				     raft_term *term_out);

/* convert.c: the only place that changes r->role. */
void convert_to_follower(struct raft *r, raft_term term, raft_node_id leader_id);
void convert_to_precandidate(struct raft *r);
void convert_to_candidate(struct raft *r);
void convert_to_leader(struct raft *r);

/* election.c */
void election_reset_timer(struct raft *r);
void election_start(struct raft *r, bool prevote, bool transfer);
void election_tick(struct raft *r);
bool election_log_up_to_date(const struct raft *r, raft_index last_index, raft_term last_term);
uint32_t election_member_slot(const struct raft *r, raft_node_id id);
bool election_count_vote(struct raft *r, raft_node_id from, bool granted);
uint32_t election_quorum(const struct raft *r);

/* recv_vote.c */
void recv_vote(struct raft *r, const struct raft_message *m);
void recv_vote_resp(struct raft *r, const struct raft_message *m);

/* recv_append.c */
void recv_append(struct raft *r, const struct raft_message *m);
void recv_heartbeat(struct raft *r, const struct raft_message *m);
void recv_append_persisted(struct raft *r);

/* replication.c */
void replication_reset_progress(struct raft *r);
void replication_send_append(struct raft *r, uint32_t slot, bool send_if_empty);
void replication_broadcast_append(struct raft *r, bool send_if_empty);
void replication_broadcast_heartbeat(struct raft *r, uint64_t read_seq);
void replication_recv_append_resp(struct raft *r, const struct raft_message *m);
void replication_recv_heartbeat_resp(struct raft *r, const struct raft_message *m);
bool replication_maybe_commit(struct raft *r);
void replication_leader_tick(struct raft *r);
int replication_propose(struct raft *r, struct raft_entry *entries, uint32_t entries_count);
void replication_leader_persisted(struct raft *r);

/* read_index.c */
int read_index_request(struct raft *r, uint64_t ctx);
void read_index_recv(struct raft *r, const struct raft_message *m);
void read_index_recv_resp(struct raft *r, const struct raft_message *m);
void read_index_confirm(struct raft *r);
void read_index_on_commit(struct raft *r);
void read_index_reset(struct raft *r);

/* transfer.c */
int transfer_start(struct raft *r, raft_node_id target);
void transfer_on_progress(struct raft *r, uint32_t slot);
void transfer_tick(struct raft *r);
void transfer_recv_timeout_now(struct raft *r, const struct raft_message *m);
void transfer_abort(struct raft *r);

/* step.c */
struct raft_message *step_msg_new(struct raft *r, uint8_t type, raft_node_id to);
void step_set_commit(struct raft *r, raft_index commit_index);

#endif /* RAFT_INTERNAL_H */
