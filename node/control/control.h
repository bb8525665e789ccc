/* SPDX-License-Identifier: MIT */
/*
 * control.h - the control stage: the only stage that steps the consensus
 * core. stage: control.
 *
 * Control owns the core, the payload ring, the proposal being gathered,
 * the traces, and its end of every link (rings.h): it pops the messages
 * rx/tx received and gives them back, pushes appends and calls to the log
 * stage and takes its durable reports, pushes commits and reads to the
 * apply stage and sends the replies it made. Its files:
 *
 *   loop.c     the stage's round: ingress, stage events, ticks, flush
 *   ingress.c  received messages: consensus messages into the core, client
 *              requests routed, writes batched into one proposal, reads
 *              started as one ReadIndex round
 *   step.c     raft_step() and its update carried out in numbered steps
 *   egress.c   the core's messages sealed (split to fit a frame), catch-up
 *              appends read from the log, client replies
 *   log_end.c  control's end of the log link
 *   apply_end.c control's end of the apply link, traces, the commit hint
 *   payload.c  the payload ring's writer side (payloads.h)
 *   status.c   status JSON and the numbers telemetry serves
 */
#ifndef RN_NODE_CONTROL_H
#define RN_NODE_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "catchup.h"
#include "commit_defer.h"
#include "config.h"
#include "consensus.h"
#include "dataplane.h"
#include "member.h"
#include "payloads.h"
#include "rings.h"
#include "snap_link.h"

struct node_admin; /* admin.h */

/* Stage timestamps of a traced request (DP_CLIENT_FLAG_TRACE). */
#define NODE_TRACES_MAX 64u
_Static_assert(NODE_TRACES_MAX < UINT8_MAX, "a slot's trace_id is traces index + 1 in a u8");
struct node_trace {
	bool busy;
	uint8_t stages_set; /* bit per enum dp_trace_stage stamped */
	raft_index index;   /* 0 until proposed */
	uint64_t stamp_ns[DP_TRACE_STAGES];
};
_Static_assert(DP_TRACE_STAGES <= 8, "stages_set has a bit per stage");

/* Client writes gathered during one rx poll, proposed as one batch. */
struct node_proposal {
	struct raft_entry entries[RAFT_BATCH_ENTRIES_MAX];
	struct node_slot slots[RAFT_BATCH_ENTRIES_MAX];
	uint32_t count;
	uint64_t head_before; /* payload ring head before the batch */
};

/* Replies gathered per client during a round (egress.c): one datagram per
 * client per round, not one per reply. A frame each, allocated at start
 * (NODE_REPLY_CLIENTS_MAX x DP_FRAME_BYTES_MAX); a full table or frame
 * goes out at once, the rest at the end of the round. */
#define NODE_REPLY_CLIENTS_MAX 64u
struct node_reply_gather {
	struct dp_reply_batch batches[NODE_REPLY_CLIENTS_MAX]; /* [0, open_count) open */
	struct dp_reply_batch *open[NODE_REPLY_CLIENTS_MAX];   /* &batches[i], to send */
	uint32_t open_count;
	uint32_t frame_bytes_max; /* the path's frame: a DPDK port's MTU + 14 */
	uint8_t *bufs, *msg_buf; /* the frames; a reply > a frame (DP_CLIENT_REPLY_MSG_BYTES_MAX) */
};

/* Control's end of the log link (log_end.c). */
struct node_log_end {
	struct node_log_link *link;
	struct node_log_op burst[NODE_LOG_BURST]; /* appends staged for one push */
	uint32_t burst_count;
	uint64_t calls_sent;
	uint64_t reads_sent;
	uint64_t reads_taken; /* reads_sent == reads_taken: the read slot is free */
	uint64_t reads_refused_busy; /* asked while a read was in flight (it waits) */
	uint64_t ops_full_waits;
};

/* Control's end of the apply link (apply_end.c). */
struct node_apply_end {
	struct node_apply_link *link;
	raft_index commit_pushed;    /* last COMMIT handed over */
	raft_index applied_reported; /* last RAFT_EVENT_APPLIED given to the core */
	uint64_t read_round;	     /* ReadIndex ctx of the reads gathered now */
	uint32_t reads_in_round;     /* reads waiting to start that round */
	uint64_t in_full_waits;
};

struct node_counters {
	uint64_t client_requests;
	uint64_t client_bad; /* refused requests (BAD_REQUEST replies) */
	uint64_t replies_sent;
	uint64_t replies_busy;
	uint64_t replies_redirect;
	uint64_t replies_retry;
	uint64_t reply_send_failed, reply_fragments; /* refused; sent (replies > a frame) */
	uint64_t msgs_sent, msgs_send_failed;
	uint64_t snapshot_offers_unsent; /* no snapshot transfer wired yet */
	uint64_t appends_split; /* AppendEntries cut to fit a frame */
	uint64_t appends_dropped_no_room; /* payload ring full: not taken */
	uint64_t entries_rolled_back;
	raft_index rollback_first; /* last rollback: entries first..last */
	raft_index rollback_last;
	raft_term rollback_term; /* term of the last entry rolled back */
	uint64_t ticks, proposals, proposed_entries;
	uint64_t catchup_entries_sent;
	uint64_t tx_full_waits; /* waited for room in the tx ring */
	uint64_t writes_refused_no_space; /* NO_SPACE replies (the alarm was up) */
};

struct node_control {
	const struct node_config *cfg;
	struct raft *raft;
	struct raft_config raft_cfg;
	struct dp_transport *transport;
	uint32_t frame_body_bytes_max; /* body bytes one frame can carry */
	volatile int *stop;	       /* set on a failure: every lcore leaves */
	struct node_status_link *status;
	const struct node_snap_link *snap; /* snapshots and compaction: status, events */
	raft_index snap_reported, compacted_reported; /* RAFT_EVENT_SNAPSHOT, _COMPACTED */
	struct node_xfer *xfer; /* InstallSnapshot (xfer.c); NULL: snapshots off */
	struct node_rxtx_link *rxtx;
	struct node_log_end log;
	struct node_apply_end apply;
	struct node_payloads payloads;
	struct node_proposal proposal;
	struct node_reply_gather replies;
	struct node_trace traces[NODE_TRACES_MAX];
	raft_index hint_saved; /* last commit hint given to the log */
	uint64_t hint_saved_ns;
	/* Reads of the durable log for followers below the core's window
	 * (from_storage appends): what each is owed, read in chunks. */
	uint8_t *catchup_buf; /* NODE_CATCHUP_BYTES */
	struct node_catchup catchup;
	/* Scratch of the send path (no function statics). */
	struct raft_entry catchup_entries[RAFT_BATCH_ENTRIES_MAX];
	const uint8_t *catchup_payloads[RAFT_BATCH_ENTRIES_MAX];
	const uint8_t *send_payloads[RAFT_BATCH_ENTRIES_MAX];
	struct node_commit_defer commit_defer; /* commit_defer.h */
	/* What the last update said, to log role changes once. */
	uint8_t role;
	raft_node_id leader_id;
	raft_term term;
	uint64_t next_tick_ns, started_ns, status_built_ns;
	/* The no-space alarm (loop.c): the log has no room for its next
	 * segment, or the data directory's file system less free than the
	 * reserve. Client writes get DP_CLIENT_NO_SPACE while it is up. */
	bool alarm_no_space;
	uint64_t space_free_bytes; /* statvfs of data_dir, at the last check */
	uint64_t space_checked_ns;
	bool space_log_short; /* the log's flag (or held appends) at the last check */
	bool failed, fatal; /* nothing more is done (stopping, or the log failed: exit 1) */
	struct node_ops *ops; /* ../metrics.h: drain, metrics (main's; NULL: neither) */
	struct node_counters counters;
	struct node_members members; /* member.c */
	struct node_settings_check *settings; /* settings_check.h (the daemon's; NULL: none) */
	struct node_admin *admin; /* admin.h: raftctl reload (the daemon's; NULL: none) */
};

/* What the daemon gives control to run (it keeps owning each of them). */
struct node_control_wiring {
	const struct node_config *cfg;
	struct dp_transport *transport;
	uint32_t frame_body_bytes_max;
	volatile int *stop;
	struct node_status_link *status;
	struct node_rxtx_link *rxtx;
	struct node_log_link *log;
	struct node_apply_link *apply;
};

/* loop.c */
/* The payload ring and the catch-up buffer. 0 or -ENOMEM. */
int node_control_init(struct node_control *c, const struct node_config *cfg);
/* The links and the transport, before the first round. */
void node_control_wire(struct node_control *c, const struct node_control_wiring *w);
void node_control_fini(struct node_control *c);
uint32_t node_control_poll(void *ctx); /* the control lcore's stage */
/* The next tick (dp_stage.deadline_ns). */
uint64_t node_control_deadline_ns(void *ctx);

/* step.c: steps the core with `ev` and carries out its update. */
int node_control_step(struct node_control *c, struct raft_event *ev);

/* status.c: rebuilds the numbers telemetry serves. */
void node_status_refresh(struct node_control *c);

/* Steps the events the other stages caused (durable reports, APPLIED,
 * a durable snapshot, the compaction point): from control's loop, and once
 * at start before anything else (SNAPSHOT CONTRACT e). Returns the work. */
uint32_t node_control_stage_events(struct node_control *c);

#endif /* RN_NODE_CONTROL_H */
