/* SPDX-License-Identifier: MIT */
/*
 * sim.h - raftsim's model of a whole Raft cluster in one process, on
 * simulated time: N consensus cores, a network (delay distributions, loss,
 * duplication, reordering, symmetric and one-way partitions), a disk per
 * node (writes become durable in order after a latency; a crash loses what
 * was not yet durable), clocks that tick at slightly different rates,
 * clients that propose and read, and snapshots: each node snapshots its
 * state machine, compacts its log and installs its leader's snapshot
 * (sim_snap.c). A checker (sim_check.c) tests the Raft
 * safety properties after every step.
 *
 * Everything is driven by one event queue ordered by (time, sequence), and
 * every random choice comes from the simulator's own seeded PRNG, so one
 * seed always replays the same run, byte for byte.
 *
 * Used by the random-seed runner (sim_chaos.c), the scenario language
 * (scenario.c) and the CLI (raftsim.c). Test code: it may allocate freely.
 */
#ifndef RN_SIM_H
#define RN_SIM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "consensus.h"

#define SIM_NODES_MAX 9u
#define SIM_TRACE_TAIL_LINES 60u

/* Output levels: what sim_log prints. */
enum sim_verbosity {
	SIM_QUIET = 0, /* nothing but violations */
	SIM_STORY = 1, /* leaders, commits, rollbacks, faults: the story */
	SIM_TRACE = 2, /* every delivered message and storage completion */
};

/* Fault kinds, a bit each; --faults takes their names. */
enum sim_fault {
	SIM_FAULT_DELAY = 1u << 0,     /* per-seed delay distribution, jitter */
	SIM_FAULT_LOSS = 1u << 1,      /* messages dropped at random */
	SIM_FAULT_DUP = 1u << 2,       /* messages delivered twice */
	SIM_FAULT_REORDER = 1u << 3,   /* some messages held back long */
	SIM_FAULT_PARTITION = 1u << 4, /* symmetric splits and isolations */
	SIM_FAULT_ASYM = 1u << 5,      /* one-way link cuts */
	SIM_FAULT_CRASH = 1u << 6,     /* crash and restart; unsynced writes lost */
	SIM_FAULT_SKEW = 1u << 7,      /* clocks tick at different rates */
	SIM_FAULT_DISK = 1u << 8,      /* torn writes, failed syncs, bit flips */
};
#define SIM_FAULTS_ALL 0x1ffu

enum sim_delay_dist {
	SIM_DELAY_FIXED = 0,   /* scenarios: base delay, no jitter */
	SIM_DELAY_UNIFORM = 1, /* uniform in [base, 4 * base] */
	SIM_DELAY_EXP = 2,     /* base + exponential tail */
	SIM_DELAY_LONGTAIL = 3, /* mostly base, 2 % take 20-100x longer */
};

struct sim_params {
	uint32_t nodes_count;
	uint64_t seed;
	uint32_t faults; /* enum sim_fault bits */
	int planted_bug; /* 0 = none */
	/* Consensus timing, in ticks, and the tick's length. */
	uint32_t tick_us;
	uint32_t election_timeout_ticks;
	uint32_t heartbeat_interval_ticks;
	bool prevote;	   /* the core's defaults are on; random runs vary them */
	bool check_quorum;
	uint32_t append_entries_max; /* entries per AppendEntries */
	uint32_t inflight_appends_max; /* per-follower window */
	/* The core's in-memory log window (a power of two). A node whose
	 * durable log does not fit restarts from a tail (raft_create_from);
	 * with restart_tail it sometimes does so even when the log fits. */
	uint32_t log_entries_max;
	bool restart_tail;
	/* Network. */
	uint8_t delay_dist;
	uint32_t delay_base_us;
	uint32_t loss_per_mille;
	uint32_t dup_per_mille;
	uint32_t reorder_per_mille;
	/* Disk: each write's latency in [min, max]. */
	uint32_t disk_latency_us_min;
	uint32_t disk_latency_us_max;
	uint32_t disk_write_align_bytes; /* 0, or the O_DIRECT block layout (--disk-blocks) */
	uint32_t tear_ppm; /* chance a crash tears the last unsynced write */
	bool planted_ack_unsynced; /* storage's planted bug (test builds) */
	/* Crashes at the steps of a snapshot write, a compaction and an
	 * install (sim_steps.c): the chance, per such operation, that the
	 * node crashes at one of its steps (0 = never: the operation runs
	 * whole between two events, as before). Drawn from their own stream. */
	uint32_t step_crash_per_mille;
	/* 1 + the step at which every operation of its kind crashes (one
	 * snapshot write, compaction or install at a time), 0 = none: a
	 * replay knob for one step (raftsim --step-crash). */
	uint32_t step_forced;
	/* The simulated node's planted bug: a snapshot trusted (told to the
	 * core, the log compacted below it) once renamed, before the
	 * directory sync that makes the rename durable. */
	bool planted_snap_unsynced;
	/* Its install twin: the log reset to an installed snapshot before
	 * the directory sync that makes the staged file's rename durable. */
	bool planted_install_unsynced;
	/* Clock skew: each node's tick is tick_us * (1 +- skew_ppm / 1e6). */
	uint32_t skew_ppm_max;
	/* Snapshots: each node snapshots its state machine every
	 * [1, 2 * snapshot_entries] applied entries (drawn each time) and
	 * compacts its log below the snapshot, keeping [0, compact_margin_max]
	 * entries (0 one time in three). Off: no snapshot, no compaction. */
	bool snapshots;
	uint32_t snapshot_entries;
	uint32_t compact_margin_max;
	uint32_t snapshot_timeout_ticks;
	uint32_t install_latency_us_max; /* writing an installed snapshot */
	/* Membership changes (sim_member.c): nodes 1..nodes_count are the
	 * initial voters; with membership on, spare ids up to SIM_NODES_MAX
	 * (at least nodes_count + 2... as many as fit) start empty, outside
	 * the configuration, and join when added. Off: nodes_count nodes,
	 * the configuration never changes, runs replay as before. */
	bool membership;
};

/* A snapshot of a node's simulated state machine: the applied sequence
 * 1..index, summarized by a digest chained over (index, term, payload). */
struct sim_snap {
	raft_index index;
	raft_term term;
	uint64_t digest;
	struct raft_membership conf; /* the configuration at index */
};

/* The state machine's digest after applying `e` on top of `digest`. */
static inline uint64_t sim_digest_next(uint64_t digest, const struct raft_entry *e)
{
	uint64_t x = digest ^ (e->index * 0x9e3779b97f4a7c15ull) ^ (e->term * 0xc2b2ae3d27d4eb4full) ^
		     (e->payload * 0x165667b19e3779f9ull);
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return x;
}

/* "Durable up to (index, term)", from the node's log to its core. */
struct sim_report {
	raft_index index;
	raft_term term;
};
#define SIM_REPORTS_MAX 16u

struct store_sim;
struct store_log;

/* A vote a node cast (its hard state's vote in a term), kept by the
 * simulator for the check that a leader won a majority of its own
 * configuration's voters (sim_check.c). */
#define SIM_VOTES_KEPT 8u
struct sim_vote {
	raft_term term;
	raft_node_id cand;
};

struct sim_node {
	raft_node_id id;
	struct raft *raft; /* NULL while crashed */
	bool up;
	uint32_t epoch; /* bumped at each crash: stale events are dropped */
	uint32_t restarts;
	uint32_t host; /* scenario host label, 0 = none */
	int64_t skew_ppm;
	uint32_t tick_us;
	/* The node's log: the real storage module on a simulated disk
	 * (sim_disk.c). dlog mirrors what was written to it, by index
	 * (dlog[i - 1]); the first dlog_count entries were reported durable.
	 * The hard state is saved synchronously, before any message leaves. */
	struct store_sim *disk;
	struct store_log *log; /* NULL while down */
	struct raft_hard_state hard_state;
	raft_index commit_hint; /* saved (store_save_commit_hint) */
	struct raft_hard_state hard_state_maybe; /* a save that failed */
	bool hard_state_uncertain;
	struct raft_entry *dlog;
	uint64_t wlog_count;
	uint64_t dlog_count;
	uint64_t dlog_cap;
	struct sim_report reports[SIM_REPORTS_MAX]; /* not yet given to the core */
	uint32_t reports_head, reports_count;
	uint64_t disk_poll_at_us; /* a poll is scheduled then; 0 = none */
	bool damaged; /* a bit was flipped in its log */
	struct sim_vote votes_cast[SIM_VOTES_KEPT]; /* ring, the latest terms */
	uint32_t votes_cast_next;
	bool failed;  /* refused to start (damaged log): down for good */
	/* Applied state machine (the apply order is checked globally), and
	 * its digest (sim_digest_next over the applied entries). */
	raft_index applied_index;
	uint64_t sm_digest;
	struct raft_membership sm_conf; /* the configuration as of applied_index */
	/* The latest config entry written to its log (0: none above conf_base,
	 * the floor it restarted from or the snapshot it installed). */
	raft_index conf_entry_index;
	raft_index conf_base;
	/* Snapshots: the durable one (survives crashes), the one staged by
	 * the last offer received (the transfer, done), the install waiting
	 * to be durable, and the log's compaction point. */
	struct sim_snap snap;
	struct sim_snap staged;
	struct sim_snap installing; /* index 0 = none */
	raft_index compacted_index;
	raft_index fill_index; /* an install's log reset wrote committed entries to here */
	/* A log reset to this index (store_reset or a crash step's part of
	 * it) failed: its state write may have reached the disk, and then
	 * recovery finds the log continuing after it. 0 = none. */
	raft_index reset_maybe_index;
	raft_index snap_next_at; /* applied index that triggers the next snapshot */
	uint8_t role;
	raft_node_id leader_id;
	raft_term term;
};

/* One pending event. Messages own a copy of their entries. */
enum sim_ev_kind {
	SIM_EV_TICK = 1,
	SIM_EV_DELIVER = 2,
	SIM_EV_DISK = 3,
	SIM_EV_RESTART = 4,
	SIM_EV_HOOK = 5, /* the driver's own timer (faults, clients) */
	SIM_EV_INSTALLED = 6, /* an installed snapshot became durable */
};

struct sim_event {
	uint64_t time_us;
	uint64_t seq;
	uint8_t kind;
	raft_node_id node;
	uint32_t epoch;
	uint32_t hook_kind;
	struct raft_message msg;
	struct raft_entry *entries; /* owned, for SIM_EV_DELIVER appends */
	uint64_t snap_digest; /* RAFT_MSG_SNAPSHOT: the offered state's digest */
};

/* A client write, from proposal to acknowledgement. */
struct sim_write {
	uint64_t payload; /* unique id */
	raft_node_id node; /* where it was proposed */
	uint32_t node_restarts; /* its incarnation: a restart drops the client */
	raft_index index;
	raft_term term;
	uint64_t proposed_us;
	uint64_t acked_us; /* 0 = not acknowledged */
};

/* A client read by ReadIndex: it must see everything committed before it
 * began. */
struct sim_read {
	uint64_t ctx;
	raft_node_id node;
	uint64_t started_us;
	raft_index min_index; /* highest index known committed at the start */
	raft_index read_index; /* 0 = not yet answered */
	bool answered;
};

struct sim_committed {
	raft_term term;
	uint64_t payload;
	uint8_t type;
	raft_term commit_term; /* term of the first server seen committing it */
	uint64_t digest;       /* state machine digest after applying 1..it */
};

/* Log Matching registry: every (index, term) ever appended, with the term
 * of the entry before it and the payload. */
struct sim_reg {
	raft_term term;
	raft_term prev_term;
	uint64_t payload;
};
struct sim_reg_slot {
	struct sim_reg *v;
	uint32_t count, cap;
};

/* The steps of a snapshot write, a compaction and an install, as the node
 * takes them (storage.h's crash points), at which sim_steps.c crashes a
 * node. The names are the crash points' where one matches. */
enum sim_step {
	SIM_STEP_SNAP_PARTIAL = 0, /* temp file partly written */
	SIM_STEP_SNAP_SYNCED,      /* temp file whole and fsynced, not renamed */
	SIM_STEP_SNAP_RENAMED,     /* renamed, the directory not synced */
	SIM_STEP_SNAP_PRUNE,       /* durable, older ones being deleted */
	SIM_STEP_COMPACT_STATE,    /* the point durable, no segment deleted */
	SIM_STEP_COMPACT_SEGMENT,  /* some segments deleted, some left */
	SIM_STEP_COMPACT_UNLINKED, /* all deleted, the directory not synced */
	SIM_STEP_COMPACT_DONE,     /* compacted, the core not yet told */
	SIM_STEP_INSTALL_STAGED,   /* the staged file whole, not renamed */
	SIM_STEP_INSTALL_RENAMED,  /* renamed and dir-synced, log not reset */
	SIM_STEP_RESET_TRUNCATED,  /* store_reset 1: the log's suffix above it cut */
	SIM_STEP_RESET_STATE,      /* 2: the state file names it, old segments there */
	SIM_STEP_RESET_SEGMENT,    /* 3: the last old segment deleted, not dir-synced */
	SIM_STEP_INSTALL_LOAD,     /* the log reset done, the state not loaded */
	SIM_STEP_INSTALL_LOADED,   /* state machine loaded, not reported */
	SIM_STEPS_COUNT,
};
#define SIM_STEPS_SNAP_FIRST SIM_STEP_SNAP_PARTIAL
#define SIM_STEPS_COMPACT_FIRST SIM_STEP_COMPACT_STATE
#define SIM_STEPS_INSTALL_FIRST SIM_STEP_INSTALL_STAGED
#define SIM_STEPS_INSTALL_COUNT (SIM_STEPS_COUNT - SIM_STEPS_INSTALL_FIRST)

struct sim;
typedef void (*sim_hook_fn)(struct sim *s, uint32_t hook_kind);

struct sim {
	struct sim_params p;
	uint64_t now_us;
	uint64_t rng;
	uint64_t steps;
	uint64_t seq;
	uint32_t step_depth; /* nesting of sim_node_step (APPLIED inside a step) */
	struct sim_node nodes[SIM_NODES_MAX + 1]; /* by id, 1-based */
	uint32_t nodes_total; /* nodes_count, plus the spares with membership on */
	/* The committed configuration (applied in log order), and the ids a
	 * committed entry removed (never re-added: ids are not reused). */
	struct raft_membership conf_committed;
	raft_index conf_committed_index;
	uint32_t removed_mask;
	uint64_t conf_adds, conf_promotes, conf_removes, conf_replaces, conf_refused;
	/* Of those refused, promotions of a learner not caught up yet: how
	 * fast leaders bring a new node's log up (replication's catch-up). */
	uint64_t conf_refused_behind;
	bool cut[SIM_NODES_MAX + 1][SIM_NODES_MAX + 1]; /* cut[from][to] */
	/* Event heap. */
	struct sim_event *heap;
	uint32_t heap_count, heap_cap;
	sim_hook_fn hook;
	/* Optional: called when a node becomes a candidate (fault drivers
	 * use it to strike in the middle of an election). */
	void (*on_candidate)(struct sim *s, raft_node_id id);
	/* Optional: called when a node has just granted (and persisted) its
	 * vote to another node. */
	void (*on_vote)(struct sim *s, raft_node_id id);
	/* Optional: called when a node has just become leader. */
	void (*on_leader)(struct sim *s, raft_node_id id);
	void *driver; /* the driver's own state */
	/* Clients. */
	struct sim_write *writes;
	uint32_t writes_count, writes_cap;
	struct sim_read *reads;
	uint32_t reads_count, reads_cap;
	uint64_t payload_next;
	/* Checker state. */
	raft_node_id *leader_of_term; /* by term */
	uint64_t leader_of_term_cap;
	struct sim_committed *committed; /* committed[i - 1] */
	uint64_t committed_count, committed_cap;
	struct sim_reg_slot *reg; /* reg[i - 1] */
	uint64_t reg_cap;
	/* Violation: the first one ends the run. */
	bool violated;
	char violation_property[64];
	char violation_detail[512];
	/* Output. */
	int verbosity;
	FILE *out;
	bool capture; /* keep the last lines in tail[] */
	char tail[SIM_TRACE_TAIL_LINES][200];
	uint32_t tail_next, tail_count;
	/* The steps' crashes (sim_steps.c): their own PRNG stream, so that a
	 * run in which none fires replays as without them; off after heal. */
	uint64_t rng_steps;
	bool steps_off;
	/* Counters for the summary. */
	uint64_t msgs_sent, msgs_dropped, msgs_duplicated;
	/* Replication's cost (sim_net.c, counted when sent, before loss):
	 * AppendEntries and the entries they carry (resends included), and
	 * the rejections followers answered. A reject storm shows as many
	 * appends and rejects per entry written. */
	uint64_t appends_sent, append_entries_sent, append_rejects_sent;
	/* The leaders' side (their cores' counters, kept across crashes):
	 * rejections that moved a follower's progress, and stale ones. */
	uint64_t crashed_rejects_taken, crashed_rejects_stale;
	uint64_t crashes, elections;
	uint64_t nodes_failed, syncs_failed;
	uint64_t writes_acked, reads_done;
	uint64_t tail_restarts;	 /* restarts through raft_create_from */
	uint64_t storage_appends; /* from_storage appends filled from the log */
	uint64_t snapshots_taken, snapshot_offers, snapshots_installed;
	uint64_t snap_digest_out; /* passes a snapshot's digest to sim_send */
	/* Crashes at each step (enum sim_step), snapshot renames a power
	 * loss undid, installs finished by recovery, and the driver's
	 * crashes that fell while an install was not yet durable. */
	uint64_t step_crashes[SIM_STEPS_COUNT];
	uint64_t renames_lost, installs_finished, crashes_installing;
};

void sim_params_default(struct sim_params *p, uint32_t nodes_count, uint64_t seed);

/* sim_member.c */
void sim_initial_conf(const struct sim *s, struct raft_membership *m);
bool sim_conf_has(const struct raft_membership *m, raft_node_id id, bool voters_only);
/* A node that the final checks expect to be live: with membership on,
 * a voter or learner of the committed configuration. */
bool sim_node_member(const struct sim *s, raft_node_id id);
/* The driver: one random change (or none) now. */
void sim_member_step(struct sim *s);
/* After a node's update is processed: the configuration properties. */
void sim_member_after_process(struct sim *s, struct sim_node *n, const struct raft_update *u);
/* The configuration at the floor prev_index of a restart. */
void sim_member_floor(struct sim *s, struct sim_node *n, raft_index prev_index,
		      struct raft_membership *m);

/* The leaders' rejections taken and dropped as stale, over every core of
 * the run (those of cores crashed since included). */
void sim_core_rejects(const struct sim *s, uint64_t *taken, uint64_t *stale);

/* Creates the cluster (every node up, empty logs) and schedules ticks. */
struct sim *sim_new(const struct sim_params *p, int verbosity, FILE *out);
void sim_free(struct sim *s);

/* Runs events until simulated time `until_us`, a violation, or `stop`
 * returns true (checked after each event; may be NULL). Returns false on
 * a violation. */
bool sim_run_until(struct sim *s, uint64_t until_us, bool (*stop)(struct sim *s, void *arg),
		   void *arg);

/* The driver's timer: calls s->hook(s, hook_kind) at time `at_us`. */
void sim_schedule_hook(struct sim *s, uint64_t at_us, uint32_t hook_kind);

/* Shared inside the simulator (sim.c, sim_net.c, sim_client.c). */
void *sim_xrealloc(void *p, size_t bytes);
bool sim_tracing(const struct sim *s);
void sim_push(struct sim *s, struct sim_event *ev);
void sim_node_step(struct sim *s, struct sim_node *n, struct raft_event *ev, int *rc_out);
void sim_send(struct sim *s, raft_node_id from, const struct raft_message *m);
/* sim_send of a RAFT_MSG_SNAPSHOT whose offered state has `digest`. */
void sim_send_snapshot(struct sim *s, raft_node_id from, const struct raft_message *m,
		       uint64_t digest);
void sim_describe_msg(const struct raft_message *m, char *buf, size_t cap);

/* sim_disk.c: the node's log on the real storage module. */
void sim_disk_init(struct sim *s, struct sim_node *n);
bool sim_disk_open(struct sim *s, struct sim_node *n);
void sim_disk_crash(struct sim_node *n);
bool sim_disk_write(struct sim *s, struct sim_node *n, const struct raft_update *u);
bool sim_disk_poll(struct sim *s, struct sim_node *n);
void sim_disk_schedule(struct sim *s, struct sim_node *n);
bool sim_disk_take_report(struct sim_node *n, raft_index *index, raft_term *term);
bool sim_disk_save_hint(struct sim *s, struct sim_node *n);
bool sim_disk_fill_append(struct sim *s, struct sim_node *n, struct raft_message *m,
			  struct raft_entry *entries, uint32_t entries_max);
void sim_disk_fail_sync(struct sim *s, struct sim_node *n);
bool sim_disk_flip_bit(struct sim *s, struct sim_node *n);
void sim_disk_free(struct sim_node *n);
/* Snapshots (sim_snap.c). */
void sim_snap_maybe_take(struct sim *s, struct sim_node *n);
bool sim_snap_offer_digest(struct sim *s, struct sim_node *n, raft_index index, raft_term term,
			   uint64_t *digest);
bool sim_snap_install(struct sim *s, struct sim_node *n, const struct raft_snapshot_meta *meta);
void sim_snap_installed(struct sim *s, struct sim_node *n, raft_index index);
void sim_snap_restore(struct sim *s, struct sim_node *n);
bool sim_disk_compact(struct sim *s, struct sim_node *n, raft_index index);
bool sim_disk_reset_to(struct sim *s, struct sim_node *n, raft_index index, bool truncate_only);
bool sim_disk_flush(struct sim *s, struct sim_node *n);
bool sim_disk_reset_log(struct sim *s, struct sim_node *n, raft_index index, raft_term term);
/* The mirror after the log was reset to continue after `index` (by
 * store_reset or a crash inside it, sim_reset.c): the committed entries up
 * to it, the log's compaction point, commit hint and hard state. */
void sim_disk_reset_mirror(struct sim *s, struct sim_node *n, raft_index index);
/* The disk's clock catches up with the simulator's. */
void sim_disk_clock(struct sim *s, struct sim_node *n);
void sim_schedule_disk_poll(struct sim *s, struct sim_node *n, uint64_t at_us);

/* sim_steps.c: crashes at the steps of a snapshot write, a compaction, an
 * install, and recovery's side of them. */
const char *sim_step_name(enum sim_step step);
/* At the start of an operation whose steps are [first, first + count): the
 * step at which this one crashes, or SIM_STEPS_COUNT (none). */
enum sim_step sim_steps_plan(struct sim *s, const struct sim_node *n, enum sim_step first,
			     uint32_t count);
/* With disk faults, a crash is a power loss half the time: it may undo a
 * rename or an unlink not yet dir-synced. */
bool sim_steps_power_loss(struct sim *s);
bool sim_steps_rename_lost(struct sim *s);
/* Crashes n at `step` (counted, logged); a supervisor restarts it later. */
void sim_steps_crash(struct sim *s, struct sim_node *n, enum sim_step step);
/* The compaction of n's log to `index` in steps, maybe crashing at one:
 * 1 compacted, 0 the log failed (the caller stops the node), -1 crashed. */
int sim_steps_compact(struct sim *s, struct sim_node *n, raft_index index);
/* Recovery after sim_disk_open, as the node's (node/recover_snap.c): a
 * log compacted above the newest snapshot refuses to start (a violation
 * here: a correct node never leaves one), a snapshot the log does not
 * reach or holds with another term finishes its install (store_reset).
 * False: a violation, or the log failed (the node stays down). */
bool sim_steps_recover(struct sim *s, struct sim_node *n);
/* sim_reset.c: the disk an install leaves when its node crashes at step k
 * (reset-truncated .. install-loaded) of the log reset to (index, term),
 * the mirror updated. Returns the step whose disk it really left (k, or
 * reset-state for a reset-segment with no segment to delete), or
 * SIM_STEPS_COUNT when the log failed (the caller stops the node). */
enum sim_step sim_reset_crash_at(struct sim *s, struct sim_node *n, raft_index index,
				 raft_term term, enum sim_step k);

/* Steps node `id` with an event made by the driver (scenarios). */
void sim_step_external(struct sim *s, raft_node_id id, struct raft_event *ev);

/* Faults and actions. */
void sim_crash(struct sim *s, raft_node_id id);
void sim_restart(struct sim *s, raft_node_id id);
void sim_restart_at(struct sim *s, raft_node_id id, uint64_t at_us);
/* A log failure: the node stops, a supervisor restarts it a little later. */
void sim_fail_stop(struct sim *s, struct sim_node *n);
void sim_cut(struct sim *s, raft_node_id from, raft_node_id to, bool cut);
void sim_heal(struct sim *s);

/* Client operations. Return raft_step's rc (0 = accepted). */
int sim_propose(struct sim *s, raft_node_id id, uint32_t entries_count);
int sim_read(struct sim *s, raft_node_id id, uint64_t *ctx_out);
int sim_transfer(struct sim *s, raft_node_id from, raft_node_id to);

/* Views. */
raft_node_id sim_leader(const struct sim *s); /* highest-term live leader, 0 none */
raft_index sim_commit_max(const struct sim *s);
bool sim_logs_identical(const struct sim *s, raft_index *common_out);
/* Entry `index` of a live node's log: from the core's window, or, below
 * it, from the node's durable log (released or never loaded). */
bool sim_node_entry(const struct sim_node *n, raft_index index, struct raft_entry *out);

/* PRNG (splitmix64) and helpers. */
uint64_t sim_rand(struct sim *s);
uint64_t sim_rand_range(struct sim *s, uint64_t lo, uint64_t hi); /* [lo, hi] */
bool sim_chance(struct sim *s, uint32_t per_mille);

/* Output: printed when level <= verbosity; captured for the trace tail. */
void sim_log(struct sim *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sim_print_tail(const struct sim *s, FILE *f);

/* sim_check.c: the checker. sim.c calls these; each may set a violation. */
void check_violation(struct sim *s, const char *property, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void check_after_step(struct sim *s, struct sim_node *n, const struct raft_update *u,
		      uint8_t role_before, raft_term term_before, raft_index last_before);
void check_applied(struct sim *s, struct sim_node *n, const struct raft_entry *e);
void check_commit_safe(struct sim *s, raft_index index);
void check_ack(struct sim *s, const struct sim_node *n, const struct raft_message *m);
/* After node n stepped on the AppendEntries m (its commit index was
 * commit_before): a commit it raised is one it checked (§3.5). */
void check_append_commit(struct sim *s, const struct sim_node *n, const struct raft_message *m,
			 raft_index commit_before);
void check_read(struct sim *s, struct sim_node *n, const struct raft_read_state *rs);
/* A snapshot `what` ("takes", "installs") of node n holds committed state
 * only: its index was applied somewhere, with the same content. */
void check_snapshot(struct sim *s, const struct sim_node *n, const struct sim_snap *snap,
		    const char *what);
/* An install moves n's applied index forward only, to committed state. */
void check_install(struct sim *s, const struct sim_node *n, const struct sim_snap *snap);
void check_free(struct sim *s);

/* sim_chaos.c: one random run of one seed. Faults (per-seed intensities)
 * until time_ms - quiet, then everything heals and the cluster must elect a
 * leader, commit a write everywhere and converge. Returns the finished
 * simulator (check s->violated); the caller frees it. */
struct chaos_opts {
	uint32_t nodes_count;
	uint32_t faults;
	int planted_bug;
	bool planted_ack_unsynced;
	bool planted_snap_unsynced;
	bool planted_install_unsynced;
	uint32_t step_forced; /* sim_params.step_forced */
	uint64_t time_ms;
	bool disk_blocks; /* the logs write whole blocks (the O_DIRECT layout) */
	bool snapshots_off; /* snapshots and compaction off (on by default) */
	bool membership_off; /* membership changes off (on by default) */
	uint32_t snapshot_entries; /* mean entries between snapshots; 0 = per seed */
};
struct sim *chaos_run(const struct chaos_opts *o, uint64_t seed, int verbosity, bool capture,
		      FILE *out);
uint64_t chaos_quiet_ms(uint64_t time_ms);

/* sim_assert.c: an assertion (core or simulator) inside a run becomes a
 * violation of that run instead of an abort, so raftsim can still name the
 * seed and print the trace tail. */
#include <setjmp.h>
extern struct sim *sim_assert_current;
extern jmp_buf sim_assert_jmp;

#endif /* RN_SIM_H */
