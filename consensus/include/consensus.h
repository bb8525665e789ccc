/* SPDX-License-Identifier: MIT */
/*
 * consensus.h - the public API of raftnode's Raft core.
 *
 * The core is a pure, deterministic state machine (Ongaro, "Consensus:
 * Bridging Theory and Practice", 2014; section numbers below refer to it).
 * It does no I/O, reads no clock, starts no thread and allocates only in
 * raft_create(). Everything enters through one function:
 *
 *     int raft_step(struct raft *r, struct raft_event *event,
 *                   struct raft_update *update);
 *
 * and everything the caller must do in response comes back in *update,
 * under the ordering contract written on struct raft_update. Time enters
 * only as RAFT_EVENT_TICK; randomness (election timeouts) comes from a PRNG
 * seeded by raft_config.seed. Same config + same events => same updates.
 *
 * Payloads are opaque: an entry carries a 64-bit handle and a byte count,
 * and the core never looks behind the handle, so its cost per batch does not
 * depend on payload size.
 *
 * Snapshots (§5): the caller takes snapshots of its state machine and
 * compacts its durable log; it tells the core with RAFT_EVENT_SNAPSHOT and
 * RAFT_EVENT_COMPACTED (SNAPSHOT CONTRACT, below struct raft_update). A
 * follower behind the window is fed from the leader's durable log
 * (from_storage appends) while that log still holds what it needs, and is
 * offered the leader's snapshot once it does not (RAFT_MSG_SNAPSHOT,
 * InstallSnapshot: §5.1, Figure 5.3). The core deals in snapshot metadata only: the caller
 * moves the snapshot's bytes.
 *
 * Membership changes: see MEMBERSHIP CONTRACT below struct raft_config.
 * A log longer than the in-memory window restarts from its tail
 * (raft_create_from).
 */
#ifndef RAFT_CONSENSUS_H
#define RAFT_CONSENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t raft_index; /* log position, 1-based; 0 = "before the log" */
typedef uint64_t raft_term;  /* election term; 0 = never voted / empty log */
typedef uint32_t raft_node_id; /* cluster member id, 1-based */

#define RAFT_NODE_NONE 0u
/* Members per cluster. Bounds every per-peer array in the core. */
#define RAFT_NODES_MAX 16u
/* Upper bound on raft_config.inflight_appends_max (per-follower window). */
#define RAFT_INFLIGHT_APPENDS_MAX 256u
/* Upper bound on raft_config.append_entries_max (entries per message/batch). */
#define RAFT_BATCH_ENTRIES_MAX 4096u
/* Pending ReadIndex requests held by a leader or forwarded by a follower. */
#define RAFT_READS_PENDING_MAX 64u

/* Error codes, returned negative by raft_step() and raft_create(). */
enum raft_error {
	RAFT_OK = 0,
	RAFT_ERR_INVALID = 1001,	 /* bad argument or configuration */
	RAFT_ERR_NOT_LEADER = 1002,	 /* propose/transfer on a non-leader */
	RAFT_ERR_NO_LEADER = 1003,	 /* read index with no known leader */
	RAFT_ERR_UNCOMMITTED_FULL = 1004, /* uncommitted-bytes cap reached: back off */
	RAFT_ERR_LOG_FULL = 1005,	 /* in-memory log window full: back off */
	RAFT_ERR_TRANSFERRING = 1006,	 /* leadership transfer in progress */
	RAFT_ERR_BATCH_TOO_BIG = 1007,	 /* more entries than append_entries_max */
	RAFT_ERR_BUSY = 1008,		 /* a bounded queue (reads) is full */
	/* Membership changes (RAFT_EVENT_MEMBER). */
	RAFT_ERR_CHANGE_PENDING = 1009,	 /* a change is appended, not committed */
	RAFT_ERR_UNKNOWN_MEMBER = 1010,	 /* id not in the configuration (or not a learner) */
	RAFT_ERR_LAST_VOTER = 1011,	 /* would leave no voter */
	RAFT_ERR_LEARNER_BEHIND = 1012,	 /* promote: not within promote_lag_entries_max */
	RAFT_ERR_TERM_NOT_COMMITTED = 1013, /* no entry of the leader's term committed yet */
	RAFT_ERR_MEMBER_EXISTS = 1014,	 /* add: id already a voter or learner */
	RAFT_ERR_MEMBERS_FULL = 1015,	 /* add: RAFT_NODES_MAX voters + learners */
};

enum raft_role {
	RAFT_FOLLOWER = 1,
	RAFT_PRECANDIDATE = 2, /* §9.6 PreVote: asking without raising the term */
	RAFT_CANDIDATE = 3,
	RAFT_LEADER = 4,
};

enum raft_entry_type {
	RAFT_ENTRY_NORMAL = 1, /* a client batch: payload is the caller's */
	RAFT_ENTRY_NOOP = 2,   /* appended by each new leader (§6.4); payload 0 */
	/* A configuration change (MEMBERSHIP CONTRACT): payload is NOT a
	 * handle but the change itself, RAFT_CONF_PAYLOAD(op, id);
	 * payload_bytes is 0. The core reads it. */
	RAFT_ENTRY_CONFIG = 3,
};

/* One single-server change (§4.1), the payload of a RAFT_ENTRY_CONFIG. */
enum raft_conf_op {
	RAFT_CONF_ADD_LEARNER = 1, /* id joins as a learner */
	RAFT_CONF_PROMOTE = 2,	   /* learner id becomes a voter */
	RAFT_CONF_REMOVE = 3,	   /* voter or learner id leaves */
	RAFT_CONF_FORCE = 4,	   /* voters = {id}, no learners (force new cluster) */
};
#define RAFT_CONF_PAYLOAD(op, id) (((uint64_t)(uint8_t)(op) << 32) | (uint32_t)(id))
#define RAFT_CONF_OP(payload) ((uint8_t)((payload) >> 32))
#define RAFT_CONF_ID(payload) ((raft_node_id)(payload))

/* A configuration: who votes, who only receives the log. Voters and
 * learners are disjoint; voters_count + learners_count <= RAFT_NODES_MAX. */
struct raft_membership {
	raft_node_id voters[RAFT_NODES_MAX];
	uint32_t voters_count;
	raft_node_id learners[RAFT_NODES_MAX];
	uint32_t learners_count;
};

/* Metadata of one log entry. 32 bytes; the payload stays where it is. */
struct raft_entry {
	raft_term term;
	raft_index index;
	uint64_t payload;	/* opaque handle (mbuf pointer, slot, id) */
	uint32_t payload_bytes; /* counted against uncommitted_bytes_max */
	uint8_t type;		/* enum raft_entry_type */
	uint8_t reserved[3];
};
/* Layout checks in C only: C++ (bench/) reads this header too, where
 * _Static_assert is not a keyword; every C file that includes it checks. */
#ifndef __cplusplus
_Static_assert(sizeof(struct raft_entry) == 32, "struct raft_entry is 32 bytes");
_Static_assert(sizeof(uintptr_t) <= sizeof(((struct raft_entry *)0)->payload),
	       "a pointer (an mbuf) fits the 64-bit payload handle");
#endif

/* Persistent state on every server (§3.8, Figure 3.1). */
struct raft_hard_state {
	raft_term term;
	raft_node_id vote; /* RAFT_NODE_NONE when not voted in `term` */
};

enum raft_msg_type {
	RAFT_MSG_APPEND = 1,	    /* AppendEntries request (§3.5) */
	RAFT_MSG_APPEND_RESP = 2,   /* its response */
	RAFT_MSG_VOTE = 3,	    /* RequestVote (§3.4) */
	RAFT_MSG_VOTE_RESP = 4,
	RAFT_MSG_PREVOTE = 5,	    /* PreVote (§9.6), term = sender's term + 1 */
	RAFT_MSG_PREVOTE_RESP = 6,
	RAFT_MSG_HEARTBEAT = 7,	    /* empty AppendEntries carrying commit + read seq */
	RAFT_MSG_HEARTBEAT_RESP = 8,
	RAFT_MSG_TIMEOUT_NOW = 9,   /* leadership transfer (§3.10) */
	RAFT_MSG_READ_INDEX = 10,   /* follower forwards a read to the leader (§6.4) */
	RAFT_MSG_READ_INDEX_RESP = 11,
	RAFT_MSG_SNAPSHOT = 12,	    /* InstallSnapshot offer (§5.1, Fig. 5.3): metadata only */
};
#define RAFT_MSG_TYPE_COUNT 13u
#ifndef __cplusplus
_Static_assert(RAFT_MSG_TYPE_COUNT == RAFT_MSG_SNAPSHOT + 1u,
	       "types are 1..RAFT_MSG_TYPE_COUNT - 1 (tables indexed by type)");
#endif

struct raft_msg_append {
	raft_index prev_index;
	raft_term prev_term;
	raft_index commit_index;
	/* Entries are consecutive, starting at prev_index + 1. The pointer is
	 * valid until the next raft_step() on the sending core; a receiver's
	 * entries must stay valid for the duration of its raft_step(). */
	const struct raft_entry *entries;
	uint32_t entries_count;
	/* Set only on an append the core emits for a follower that needs
	 * entries below the leader's in-memory window (already released):
	 * entries is NULL, prev_term is 0, and the CALLER fills them from its
	 * durable log before sending (see step 3 of struct raft_update). Never
	 * set on the wire: a received append with it set is dropped. */
	bool from_storage;
	/* A commit-only update: no entries, sent by the leader only to tell a
	 * follower in replicate state the new commit index at once (so it
	 * applies without waiting for a heartbeat). The follower checks it
	 * like any append and commits from it, but never acknowledges its
	 * success: the appends that carried the entries are acknowledged
	 * themselves, so its answer would tell the leader nothing (a
	 * rejection is still sent). Set with entries, the append is malformed
	 * and dropped. On the wire: bit 0 of the append's flags byte. */
	bool commit_only;
};

struct raft_msg_append_resp {
	bool reject;
	/* Success: the follower's log matches the leader's and is durable up
	 * to match_index. */
	raft_index match_index;
	/* Reject: the prev_index that did not match, and a hint for fast
	 * backtracking (§3.5): the last index <= reject_index whose term is
	 * <= the leader's prev_term, and that term. */
	raft_index reject_index;
	raft_index hint_index;
	raft_term hint_term;
};

struct raft_msg_vote {
	raft_index last_log_index;
	raft_term last_log_term;
	bool transfer; /* sent after TimeoutNow: voters ignore their lease */
};

struct raft_msg_vote_resp {
	bool granted;
};

struct raft_msg_heartbeat {
	raft_index commit_index; /* already capped at the follower's match */
	uint64_t read_seq;	 /* ReadIndex round being confirmed, 0 = none */
};

struct raft_msg_heartbeat_resp {
	uint64_t read_seq;
};

struct raft_msg_read_index {
	uint64_t ctx; /* caller's request id, echoed back */
};

struct raft_msg_read_index_resp {
	uint64_t ctx;
	raft_index read_index;
};

/*
 * What a snapshot covers (§5.1): the state machine after applying entries
 * 1..index, the term of entry index, and the configuration in force at
 * index (voters and learners: the caller tracks it as it applies, see the
 * MEMBERSHIP CONTRACT).
 */
struct raft_snapshot_meta {
	raft_index index;
	raft_term term;
	raft_node_id voters[RAFT_NODES_MAX];
	uint32_t voters_count;
	raft_node_id learners[RAFT_NODES_MAX];
	uint32_t learners_count;
};

/*
 * RAFT_MSG_SNAPSHOT, leader -> follower: "my snapshot `meta` exists; take
 * it". The node layer moves the snapshot's bytes itself (chunked, verified,
 * resumable) and steps the follower's core with this message only once a
 * complete, verified copy of that snapshot is staged on the follower: the
 * message means "a snapshot at (index, term) is ready to install here".
 * The follower answers with an append response: success with match_index
 * >= meta.index once the snapshot is installed durably (or its log already
 * holds (index, term)). Wire: index, term, voters_count, voters,
 * learners_count, learners (an installed snapshot sets the follower's
 * configuration: they must travel).
 */
struct raft_msg_snapshot {
	struct raft_snapshot_meta meta;
};

struct raft_message {
	uint8_t type; /* enum raft_msg_type */
	raft_node_id from;
	raft_node_id to;
	raft_term term;
	union {
		struct raft_msg_append append;
		struct raft_msg_append_resp append_resp;
		struct raft_msg_vote vote; /* VOTE and PREVOTE */
		struct raft_msg_vote_resp vote_resp; /* VOTE_RESP and PREVOTE_RESP */
		struct raft_msg_heartbeat heartbeat;
		struct raft_msg_heartbeat_resp heartbeat_resp;
		struct raft_msg_read_index read_index;
		struct raft_msg_read_index_resp read_index_resp;
		struct raft_msg_snapshot snapshot;
	};
};

enum raft_event_type {
	RAFT_EVENT_RECEIVE = 1,	  /* a message from a peer */
	RAFT_EVENT_TICK = 2,	  /* one tick of the node's clock elapsed */
	RAFT_EVENT_PROPOSE = 3,	  /* append a batch of client entries */
	RAFT_EVENT_PERSISTED = 4, /* storage: log durable up to (index, term) */
	RAFT_EVENT_READ_INDEX = 5, /* start a linearizable read (§6.4) */
	RAFT_EVENT_TRANSFER = 6,  /* hand leadership to `target` (§3.10) */
	RAFT_EVENT_APPLIED = 7,	  /* caller applied up to `index`; frees log slots */
	RAFT_EVENT_SNAPSHOT = 8,  /* a durable snapshot `meta` exists (SNAPSHOT CONTRACT) */
	RAFT_EVENT_COMPACTED = 9, /* durable log holds nothing <= index any more */
	RAFT_EVENT_SNAPSHOT_INSTALLED = 10, /* the install asked for is durable */
	RAFT_EVENT_MEMBER = 11,	  /* leader: propose a configuration change */
};

struct raft_event {
	uint8_t type; /* enum raft_event_type */
	union {
		struct raft_message receive;
		struct {
			/* In: type, payload, payload_bytes of each entry.
			 * Out (on success): index and term, set by the core. */
			struct raft_entry *entries;
			uint32_t entries_count;
		} propose;
		struct {
			raft_index index;
			raft_term term;
		} persisted;
		struct {
			uint64_t ctx;
		} read_index;
		struct {
			raft_node_id target;
		} transfer;
		struct {
			raft_index index;
		} applied;
		struct raft_snapshot_meta snapshot;
		struct {
			raft_index index;
		} compacted;
		struct {
			raft_index index;
			raft_term term;
		} installed;
		struct {
			uint8_t op; /* enum raft_conf_op, not RAFT_CONF_FORCE */
			raft_node_id id;
			/* Out (on success): the config entry's index. */
			raft_index index;
		} member;
	};
};

/* A confirmed ReadIndex: serve the read once applied index >= read_index. */
struct raft_read_state {
	uint64_t ctx;
	raft_index read_index;
};

enum raft_update_flags {
	RAFT_UPDATE_HARD_STATE = 1u << 0, /* hard_state changed: persist it */
	RAFT_UPDATE_TRUNCATE = 1u << 1,	  /* drop stored entries >= truncate_index */
	RAFT_UPDATE_COMMIT = 1u << 2,	  /* commit_index advanced */
	RAFT_UPDATE_ROLE = 1u << 3,	  /* role or leader_id changed */
	RAFT_UPDATE_SNAPSHOT = 1u << 4,	  /* install the staged snapshot `snapshot` */
};

/*
 * What one raft_step() asks of the caller. Arrays point into memory owned
 * by the core and stay valid until the next raft_step() on the same core.
 *
 * ORDERING CONTRACT - the caller does these in this order:
 *
 * 1. hard_state: when RAFT_UPDATE_HARD_STATE is set, make it durable
 *    before ANY message of this update leaves (§3.8: persistent state is
 *    updated on stable storage before responding to RPCs; a vote or a
 *    term that could be forgotten by a crash would allow two votes).
 * 2. snapshot: when RAFT_UPDATE_SNAPSHOT is set (a follower only; never
 *    with TRUNCATE or entries in the same update), install the staged
 *    snapshot `snapshot` (the one a RAFT_MSG_SNAPSHOT announced): reset the
 *    durable log so that it holds no entry and continues after
 *    (snapshot.index, snapshot.term) - every stored entry is dropped,
 *    whatever its index -, and replace the state machine by the snapshot's
 *    (the caller's applied index becomes snapshot.index; nothing at or below
 *    it is applied again). Entries of LATER updates are written after that
 *    reset, in order. Make the snapshot durable before the reset log is:
 *    a log that continues after snapshot.index with no snapshot there
 *    cannot restart. The install may be asynchronous; once the snapshot
 *    and the reset log are durable, step RAFT_EVENT_SNAPSHOT_INSTALLED
 *    {index, term}. Until then the core acknowledges nothing to the leader
 *    (it answers the offer then). A crash before the install is durable
 *    restarts from the old state: the leader offers again. A later
 *    RAFT_UPDATE_SNAPSHOT supersedes one still in progress (its
 *    INSTALLED event is then ignored).
 *    Then entries: when RAFT_UPDATE_TRUNCATE is set, first drop every stored
 *    entry with index >= truncate_index. Then write entries[] at their
 *    indices. The write runs asynchronously and IN PARALLEL with step 3
 *    (§10.2.1: the leader writes its log while replicating). Writes become
 *    durable in submission order; when one is, step the core with
 *    RAFT_EVENT_PERSISTED naming the last entry it covered. The core never
 *    counts an entry as stored on this server (the leader's own vote toward
 *    commit, a follower's acknowledgement) before that event.
 * 3. msgs: send them (after 1; they may overtake the write of 2).
 *    An append with from_storage set names entries the core no longer
 *    holds (its window floor is above them; they are committed, applied
 *    and durable on this server): read entries prev_index + 1 ..
 *    prev_index + entries_count and the term of prev_index (0 when
 *    prev_index is 0) from the durable log, set entries, entries_count
 *    (fewer is fine: a prefix), prev_term, clear from_storage, then send.
 *    If they cannot be read (compacted, I/O error, busy), drop the
 *    message: the core treats it as lost and sends again (once it knows of
 *    the compaction, RAFT_EVENT_COMPACTED, it offers a snapshot instead).
 *    The read may be asynchronous; the core's accounting does not depend
 *    on when it goes.
 *    A RAFT_MSG_SNAPSHOT names the caller's snapshot meta.index: start
 *    (or resume) moving that snapshot's bytes to the follower, and step the
 *    follower's core with the message once it is staged there; a repeated
 *    offer of the same snapshot resumes, never restarts, a transfer.
 * 4. commit_index: entries up to commit_index are committed; apply those
 *    above the caller's applied index, in index order (those below the
 *    core's window, e.g. after raft_create_from, come from the durable
 *    log: raft_log_entry() does not hold them). Reply to clients only
 *    after applying. Then report RAFT_EVENT_APPLIED so the core can
 *    recycle log slots.
 * 5. read_states: serve each read once the applied index >= read_index.
 *
 * SNAPSHOT CONTRACT - what the caller tells the core about its snapshots
 * and its durable log's compaction (§5.1, Figure 5.3):
 *
 * a. RAFT_EVENT_SNAPSHOT {meta}: a snapshot of the state machine covering
 *    entries 1..meta.index is DURABLE and can be sent. The caller takes it
 *    only of applied entries: meta.index <= the applied index it reported
 *    (RAFT_EVENT_APPLIED) and so <= the commit index, and meta.term is the
 *    term of entry meta.index (asserted where the core still holds it);
 *    meta.voters and meta.learners are the configuration at meta.index
 *    (the caller tracks it as it applies: MEMBERSHIP CONTRACT; at least
 *    one voter, asserted). A snapshot older than the latest one reported
 *    is ignored.
 * b. RAFT_EVENT_COMPACTED {index}: the durable log no longer holds entries
 *    <= index (it still knows the term of `index` itself, as storage keeps
 *    the compaction point's term). Report it once the compaction point is
 *    durable, before or after deleting the files. Precondition: a snapshot
 *    covering `index` was reported first (index <= its meta.index), so a
 *    follower that needs a compacted entry can be offered it. A from_storage
 *    append asked for before the report and unreadable after the
 *    compaction is dropped (step 3): it counts as lost.
 * c. A leader offers its latest snapshot (RAFT_MSG_SNAPSHOT) to a follower
 *    whose next entry is compacted (next index <= the compaction point),
 *    sends it nothing else but heartbeats until the follower acknowledges
 *    meta.index (an append response with match_index >= it), and offers
 *    again every snapshot_timeout_ticks while it has not.
 * d. A follower installs through RAFT_UPDATE_SNAPSHOT (step 2 above) only
 *    a snapshot beyond its commit index whose (index, term) its log does
 *    not hold; one it holds keeps its log and is acknowledged, an older one
 *    is acknowledged as old news. A durable install
 *    (RAFT_EVENT_SNAPSHOT_INSTALLED) counts as RAFT_EVENT_SNAPSHOT of that
 *    meta and RAFT_EVENT_COMPACTED of its index: do not report them again.
 * e. Restart from a snapshot at S: raft_create_from with prev_index >= S
 *    (entries S + 1..prev_index from the durable log, re-applied by the
 *    caller), then RAFT_EVENT_APPLIED {S} (the restore applied 1..S),
 *    RAFT_EVENT_SNAPSHOT {S's meta} and RAFT_EVENT_COMPACTED {the durable
 *    log's compaction point}, before any other event.
 */
struct raft_update {
	uint32_t flags; /* enum raft_update_flags */
	struct raft_hard_state hard_state;
	raft_index truncate_index;
	const struct raft_entry *entries;
	uint32_t entries_count;
	const struct raft_message *msgs;
	uint32_t msgs_count;
	raft_index commit_index; /* always the current commit index */
	const struct raft_read_state *read_states;
	uint32_t read_states_count;
	struct raft_snapshot_meta snapshot; /* with RAFT_UPDATE_SNAPSHOT */
	/* Soft state, for the caller's information. */
	uint8_t role; /* enum raft_role */
	raft_node_id leader_id;
	raft_term term;
};

struct raft_config {
	raft_node_id id; /* this server */
	raft_node_id members[RAFT_NODES_MAX]; /* all voters, including id */
	uint32_t members_count;
	/* Election timeout is drawn uniformly from [min, 2 * min) ticks at each
	 * reset (§3.4). Must exceed heartbeat_interval_ticks. */
	uint32_t election_timeout_ticks;
	uint32_t heartbeat_interval_ticks;
	bool prevote;	   /* §9.6; default on */
	bool check_quorum; /* §6.2: a leader without a live majority steps down;
			    * followers in contact with a leader ignore votes
			    * (§4.2.3); default on */
	uint32_t inflight_appends_max; /* per-follower window, <= RAFT_INFLIGHT_APPENDS_MAX */
	uint32_t append_entries_max;   /* entries per message and per proposal */
	uint64_t uncommitted_bytes_max; /* leader refuses proposals beyond this */
	uint32_t log_entries_max;	/* in-memory log window, power of two */
	/* A leader offers its snapshot again to a follower that has not
	 * acknowledged it within this many ticks (the offer or the answer was
	 * lost, or the transfer takes long: a repeated offer resumes it). */
	uint32_t snapshot_timeout_ticks;
	uint64_t seed;			/* PRNG seed for election timeouts */
	/* The configuration in force at the log's floor (MEMBERSHIP
	 * CONTRACT): members are its voters (above), learners here. */
	raft_node_id learners[RAFT_NODES_MAX];
	uint32_t learners_count;
	/* A learner is promoted only when its match index is within this
	 * many entries of the leader's last index (default 1024). */
	uint64_t promote_lag_entries_max;
	/* UNSAFE, see raft_force_new_cluster below. */
	bool force_new_cluster;
};

/*
 * MEMBERSHIP CONTRACT (§4).
 *
 * Method: the dissertation's single-server changes (§4.1), not joint
 * consensus (§4.3). Why: one server added or removed at a time keeps every
 * majority of the old configuration overlapping every majority of the new
 * one, so no two-phase configuration is needed; a configuration is one
 * 64-bit change that fits the entry's payload word (no record the core
 * must own per entry, no variable-size wire field); and every operation an
 * operator needs (grow, shrink, replace) is a sequence of single changes.
 * Rules the core enforces:
 *  - a configuration takes effect on every server as soon as its entry is
 *    APPENDED to that server's log (not when committed); the previous one
 *    is kept until the new one commits, and a truncation of the uncommitted
 *    config entry reverts to it;
 *  - a leader proposes a change only once an entry of its own term is
 *    committed (the no-op, §4.1's fix of the single-server bug) and no
 *    earlier change is uncommitted;
 *  - quorums (commit, elections, CheckQuorum, ReadIndex, transfer targets)
 *    count the voters of the configuration in force; learners receive the
 *    log and snapshots, are never asked for a vote, never count and never
 *    campaign (a server answers a vote or pre-vote without consulting its
 *    own configuration, §4.1: a learner promoted by an entry it has not
 *    received yet must vote for the candidates that hold the entry, or a
 *    cluster grown from 1 voter to 2 can never elect again); a node not
 *    in the configuration (removed, or not yet
 *    added) never campaigns either; voters + learners <= RAFT_NODES_MAX.
 *  - a leader asked to remove ITSELF appends the removal, keeps leading
 *    without counting itself toward any quorum, and once the removal
 *    commits it steps down (§4.2.2) and sends TimeoutNow to the voter with
 *    the highest match index if that voter holds the whole log, so the
 *    cluster does not wait an election timeout (otherwise it sends that
 *    voter what it lacks and the voters elect one after a timeout). One
 *    request; no retry on a new leader. Why not transfer first: the
 *    removal then needs a second request on the new leader, and a
 *    transfer that fails half way leaves the operator to retry; this way
 *    the change is one log entry whatever happens to leadership.
 *
 * Operations: RAFT_EVENT_MEMBER {op, id} on the leader: ADD_LEARNER (new
 * id; its progress starts in probe at the leader's last index + 1, and the
 * snapshot path serves it once the log is compacted), PROMOTE (a learner
 * within promote_lag_entries_max of the leader's last index), REMOVE (a
 * voter or a learner; never the last voter). On success the update holds
 * one RAFT_ENTRY_CONFIG entry (index returned in member.index). Errors:
 * NOT_LEADER, TRANSFERRING, CHANGE_PENDING, TERM_NOT_COMMITTED,
 * UNKNOWN_MEMBER, MEMBER_EXISTS, MEMBERS_FULL, LAST_VOTER, LEARNER_BEHIND,
 * LOG_FULL, INVALID (bad op or id).
 *
 * Entry format: type RAFT_ENTRY_CONFIG, payload RAFT_CONF_PAYLOAD(op, id),
 * payload_bytes 0. The caller stores and sends the 64-bit payload VALUE as
 * the entry's bytes (e.g. 8 bytes little endian) and hands it back in the
 * entry's payload field on restart and on receive (it is not a handle).
 * A received config entry with an unknown op or id 0 is dropped as
 * invalid. raft_membership_apply() is the one definition of what a change
 * does (a total function: a change that does not apply, e.g. promoting a
 * non-learner, leaves the configuration as it is, identically everywhere).
 *
 * The caller's side:
 *  - Its state machine tracks the configuration as of its applied index:
 *    start from the snapshot's (or the initial members with no snapshot),
 *    raft_membership_apply() each applied RAFT_ENTRY_CONFIG entry. A
 *    snapshot's meta carries that configuration (voters, learners).
 *  - Restart: raft_create_from()'s c->members and c->learners are the
 *    configuration in force at its floor prev_index: the snapshot's meta,
 *    then the config entries between the snapshot and prev_index applied
 *    with raft_membership_apply() (at first start, with no snapshot: the
 *    cluster file's initial members). The core replays the config entries
 *    of the tail it is given itself. c->id need not be in it.
 *  - A new node joining with an empty log: c->members = the cluster's
 *    INITIAL members (the cluster file; the log's changes apply from
 *    there), its own id absent: it never campaigns, takes the log or a
 *    snapshot from the leader once added as a learner.
 *  - An installed snapshot (RAFT_UPDATE_SNAPSHOT) sets the follower's
 *    configuration to the meta's.
 *  - Messages from ids outside this server's configuration are accepted
 *    (a leader it has not heard of yet, a candidate of a newer
 *    configuration, §4.1); answers to a leader from non-members are dropped.
 */
struct raft; /* opaque */

/* Applies one change to *m. Returns true if it changed anything. */
bool raft_membership_apply(struct raft_membership *m, uint64_t conf_payload);
/* The configuration in force (the latest appended config entry's). */
void raft_membership(const struct raft *r, struct raft_membership *out);
/* Index of the entry that set it (0: the floor's or a snapshot's), and
 * whether that entry is committed (false while a change is pending). */
raft_index raft_membership_index(const struct raft *r);
bool raft_membership_pending(const struct raft *r);

/*
 * Force new cluster (etcd's --force-new-cluster): with
 * c->force_new_cluster set, raft_create/raft_create_from make this server
 * the ONLY voter (learners dropped), whatever the configuration given and
 * the config entries of its tail. Once it leads (at once: a single voter)
 * it appends a RAFT_CONF_FORCE entry after its no-op, so the log carries
 * the new configuration for learners added later. UNSAFE: entries that
 * were committed by the old majority but are missing from this survivor's
 * log are lost for good, and an old member that comes back must be wiped
 * first, or two clusters claim the same history. The caller decides when
 * (the majority lost for good) and logs it loudly.
 */

/* Fills *c with defaults (everything but id and members). */
void raft_config_default(struct raft_config *c);

/*
 * Creates a server from its configuration and what its storage recovered:
 * the hard state and the log entries 1..entries_count (consecutive indices
 * starting at 1, terms never decreasing). All memory the core will ever use
 * is allocated here. Returns 0 or -RAFT_ERR_INVALID (bad config or log).
 */
int raft_create(const struct raft_config *c, const struct raft_hard_state *hs,
		const struct raft_entry *entries, uint64_t entries_count, struct raft **out);
/*
 * Creates a server from a TAIL of its recovered log, for a durable log
 * longer than the window: entries are prev_index + 1 ..
 * prev_index + entries_count, prev_term is the term of entry prev_index
 * (0 iff prev_index is 0), and raft_create() is the prev_index = 0 case.
 * The tail must fit the window with room for a no-op
 * (entries_count < log_entries_max).
 *
 * PRECONDITION (the caller's promise; the core cannot check it): every
 * entry up to prev_index is COMMITTED and durable in this server's log.
 * The commit index is not part of Raft's persistent state, so the caller
 * keeps a lower bound of it durably (storage: store_save_commit_hint(),
 * saved lazily; a stale, lower value is safe, a higher one is not) and
 * passes a prev_index <= that bound. Why it matters: the core starts with
 * commit_index = prev_index and never compares entries at or below its
 * floor with a leader's (it skips them in AppendEntries, §3.5). That is
 * sound only for committed entries, which every later leader holds
 * (Leader Completeness, §3.6.3); an uncommitted entry below the floor
 * could conflict with a new leader's log and would never be truncated.
 * The caller applies 1..prev_index again from its durable log (the first
 * update's commit_index says so), as it would after a snapshot restore.
 */
int raft_create_from(const struct raft_config *c, const struct raft_hard_state *hs,
		     raft_index prev_index, raft_term prev_term, const struct raft_entry *entries,
		     uint64_t entries_count, struct raft **out);
void raft_destroy(struct raft *r);

/*
 * The single entry point. Consumes one event, fills *update (which the
 * caller must process before the next call). Returns 0, or a negative
 * enum raft_error for a refused proposal, read or transfer; *update is
 * valid either way. Untrusted message fields are validated: a malformed or
 * foreign message is dropped and counted, never asserted on.
 */
int raft_step(struct raft *r, struct raft_event *event, struct raft_update *update);

const char *raft_strerror(int rc);
const char *raft_role_name(enum raft_role role);
const char *raft_msg_type_name(enum raft_msg_type type);

/* Read-only views, for status output, tests and the simulator. */
enum raft_role raft_role(const struct raft *r);
raft_term raft_current_term(const struct raft *r);
raft_node_id raft_leader_id(const struct raft *r);
raft_node_id raft_voted_for(const struct raft *r);
raft_index raft_commit_index(const struct raft *r);
raft_index raft_last_index(const struct raft *r);
raft_index raft_persisted_index(const struct raft *r);
/* Lowest index in the in-memory window (entries below it were released or,
 * after raft_create_from, never loaded: the caller's durable log has them). */
raft_index raft_first_index(const struct raft *r);
/* Latest snapshot reported (RAFT_EVENT_SNAPSHOT, or installed), index 0
 * if none; and the durable log's compaction point (0 if none). */
void raft_snapshot(const struct raft *r, struct raft_snapshot_meta *out);
raft_index raft_compacted_index(const struct raft *r);
/* Term of entry `index`, 0 if outside the in-memory window. */
raft_term raft_log_term(const struct raft *r, raft_index index);
/* Entry `index` into *out; false if outside the in-memory window. */
bool raft_log_entry(const struct raft *r, raft_index index, struct raft_entry *out);

enum raft_progress_state {
	RAFT_PROGRESS_PROBE = 1,     /* one append at a time until a match */
	RAFT_PROGRESS_REPLICATE = 2, /* pipelined, up to the window */
	RAFT_PROGRESS_SNAPSHOT = 3,  /* offered a snapshot; nothing else until acked */
};

struct raft_progress_info {
	raft_node_id id;
	raft_index match_index;
	raft_index next_index;
	uint32_t inflight_count;
	uint8_t state; /* enum raft_progress_state */
	bool recent_active;
	raft_index snapshot_index; /* offered, while state is SNAPSHOT */
};

/* Leader only: per-follower replication state. False if not leader or
 * `id` is not a peer. */
bool raft_progress(const struct raft *r, raft_node_id id, struct raft_progress_info *out);

struct raft_counters {
	uint64_t msgs_dropped_foreign; /* unknown sender or wrong recipient */
	uint64_t msgs_dropped_invalid; /* malformed fields */
	uint64_t msgs_dropped_stale;   /* lower term */
	uint64_t elections_started;
	uint64_t prevotes_started;
	uint64_t leader_stepdowns_check_quorum;
	uint64_t proposals_refused;
	uint64_t entries_truncated; /* rolled back after a conflict */
	uint64_t snapshots_offered;   /* leader: RAFT_MSG_SNAPSHOT sent */
	uint64_t snapshots_installed; /* follower: RAFT_UPDATE_SNAPSHOT asked */
	/* Leader: AppendEntries rejections that moved a follower's progress
	 * (to probing, fast backtracking), and those dropped as stale (an
	 * answer to an append given up on: reordered, duplicated, late). */
	uint64_t append_rejects_taken;
	uint64_t append_rejects_stale;
};
void raft_get_counters(const struct raft *r, struct raft_counters *out);

#ifdef RAFT_PLANTED_BUGS
/*
 * Test-only build (meson option planted_bugs): each bug is one known
 * mistake that raftsim must catch. The production core has no such switch:
 * this declaration and its definition exist only with RAFT_PLANTED_BUGS.
 */
enum raft_planted_bug {
	RAFT_BUG_NONE = 0,
	RAFT_BUG_DOUBLE_VOTE,		 /* grant a second vote in one term */
	RAFT_BUG_VOTE_IGNORES_LOG,	 /* grant votes without the up-to-date check */
	RAFT_BUG_COMMIT_OLD_TERM,	 /* commit previous-term entries by counting */
	RAFT_BUG_NO_TRUNCATE_ON_CONFLICT, /* overwrite but keep a conflicting tail */
	RAFT_BUG_ACK_BEFORE_PERSIST,	 /* acknowledge entries not yet durable */
	RAFT_BUG_FORGET_VOTE_ON_RESTART, /* drop the persisted vote at restart */
	RAFT_BUG_QUORUM_OFF_BY_ONE,	 /* majority computed as n / 2 */
	RAFT_BUG_LEADER_OVERWRITES_LOG,	 /* new leader cuts its log to commit */
	RAFT_BUG_STALE_TERM_ACCEPTED,	 /* take an older term from an append */
	RAFT_BUG_COMMIT_ONLY_UNCHECKED,	 /* commit from a commit-only update
					  * without the log check */
	RAFT_BUG_SNAPSHOT_UNCOMMITTED,	 /* a leader offers its last entry, not
					  * its snapshot: uncommitted state */
	RAFT_BUG_COMPACT_PAST_COMMIT,	 /* a follower installs an offer older
					  * than its commit: rolls back */
	RAFT_BUG_INSTALL_KEEPS_CONFLICTING_TAIL, /* a log reaching the offered
					  * index is kept, its term unchecked */
	RAFT_BUG_CONFIG_ON_COMMIT,	 /* a configuration takes effect when
					  * committed, not when appended */
	RAFT_BUG_TWO_CHANGES_AT_ONCE,	 /* a change proposed while one is
					  * uncommitted */
	RAFT_BUG_LEARNER_VOTES,		 /* learners asked, and their votes counted */
	RAFT_BUG_MATCH_FROM_REJECT,	 /* a rejection's hint, naming an entry of
					  * ours, taken as the follower's match */
	RAFT_BUG_COUNT
};
const char *raft_planted_bug_name(int bug);
/* Returns the bug for a name, or -1. */
int raft_planted_bug_parse(const char *name);
void raft_plant_bug(struct raft *r, int bug);
#endif

#endif /* RAFT_CONSENSUS_H */
