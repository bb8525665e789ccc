/* SPDX-License-Identifier: MIT */
/*
 * rings.h - the records that cross lcores, and nothing else. stage: any
 * (each link has a producer section and a consumer section, each written
 * by one stage only; the comments say which).
 *
 *               rx ring (dp_rx_msg *) ──►
 *   rxtx/  ◄── done ring (dp_rx_msg *) ──   control/
 *          ◄── tx ring (sealed mbufs) ───
 *
 *              ── ops ring (node_log_op: APPEND, HINT, CALL, READ) ──►
 *   control/  ◄── reports ring (node_log_report: durable up to) ─────   log/
 *
 *              ── in ring (node_apply_in: COMMIT, READ, STALE_GET, ROUND) ──►
 *   control/  ◄── out ring (node_apply_out: replies; values in the arena) ─   apply/
 *
 *   control/ ── status numbers (under node_status_link.lock) ──► telemetry.c
 *
 * Every ring is single-producer single-consumer (dp_ring), sized at start;
 * a full ring is back-pressure on its producer, never a drop. A stage that
 * shares control's lcore is run inline by control's waits through the
 * link's `colocated_poll` (wired by the daemon), so no stage names another
 * stage's functions. The payload ring (payloads.h) is the one memory read
 * across lcores without a ring; it says why that is safe.
 */
#ifndef RN_NODE_RINGS_H
#define RN_NODE_RINGS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "consensus.h"
#include "dataplane.h"
#include "storage.h"

#define NODE_CACHE_LINE_BYTES 64
/* What a link needs to run its far stage inline when it shares control's
 * lcore (NULL poll: the stage has an lcore of its own). */
struct node_link_wait {
	dp_stage_poll_fn colocated_poll;
	void *colocated_ctx;
	const volatile int *stop; /* the node is stopping: waits give up */
};

/* ---- rx/tx <-> control ---- */
#define NODE_RX_MSGS 128u	 /* received, not yet processed */
#define NODE_RX_RING_SLOTS 256u	 /* holds NODE_RX_MSGS (a ring holds slots - 1) */
#define NODE_TX_RING_SLOTS 2048u /* sealed frames control -> rx/tx (mbuf pool: 8191) */
_Static_assert(NODE_RX_RING_SLOTS - 1 >= NODE_RX_MSGS, "the rx ring holds every message");

struct node_rxtx_link {
	struct dp_ring rx;   /* rx/tx -> control: received messages */
	struct dp_ring done; /* control -> rx/tx: processed, to reuse */
	struct dp_ring tx;   /* control -> rx/tx: sealed frames (DPDK only) */
	bool colocated;	     /* rx/tx runs on control's lcore: control flushes tx */
	struct dp_doorbell *wake_rxtx; /* rung when rx/tx starves, not on every done */
	/* Written by rx/tx only. */
	uint64_t rx_msgs_exhausted __attribute__((aligned(NODE_CACHE_LINE_BYTES)));
	uint32_t starved; /* control holds every message: ring wake_rxtx on done */
};

/* ---- control <-> log ---- */
#define NODE_LOG_OPS_MAX 8192u	 /* ring slots control -> log (one per entry) */
#define NODE_LOG_REPORTS_MAX 64u /* ring slots log -> control */
#define NODE_LOG_BURST 64u	 /* records moved per ring call, either way */
/* Bytes read from the log at once for a lagging follower or a replay. */
#define NODE_CATCHUP_BYTES (4u << 20)
enum node_log_op_kind { NODE_LOG_OP_APPEND = 1, NODE_LOG_OP_HINT, NODE_LOG_OP_CALL, NODE_LOG_OP_READ };

/* One record of the ops ring, carried by value. */
struct node_log_op {
	raft_index index; /* APPEND: the entry; HINT: committed index; CALL, READ: seq */
	raft_term term;
	const void *ptr;  /* APPEND: payload bytes (payload ring); CALL, READ: the slot */
	uint32_t payload_bytes;
	uint8_t kind;	  /* enum node_log_op_kind */
	uint8_t type;	  /* APPEND: enum raft_entry_type */
	uint8_t pad[2];
};
_Static_assert(sizeof(struct node_log_op) == 32, "README: ops ring 8192 x 32");

/* "Durable up to index, whose term is term". */
struct node_log_report {
	raft_index index;
	raft_term term;
	uint64_t durable_ns;
};
_Static_assert(sizeof(struct node_log_report) == 24, "README: reports ring 64 x 24");
enum node_log_call_kind { NODE_LOG_CALL_HARD_STATE = 1, NODE_LOG_CALL_TRUNCATE, NODE_LOG_CALL_RESET };

/* A synchronous request: control fills the slot, pushes a CALL, waits for
 * calls_done to reach its seq, reads rc. */
struct node_log_call {
	uint8_t kind; /* enum node_log_call_kind; RESET: index, hard_state.term */
	struct raft_hard_state hard_state;
	raft_index index;
	int rc; /* out: 0, -STORE_E_*, or -ECANCELED (the log stage was draining) */
};

/* The catch-up read: durable entries for a follower below the core's
 * window, read by the log stage while control goes on. One at a time. */
struct node_log_read {
	struct raft_message msg; /* the from_storage append to fill */
	void *buf;
	size_t buf_bytes;
	/* Out (written by the log stage). */
	int rc; /* entries read (>= 1), or an error */
	raft_term prev_term;
	struct store_entry entries[RAFT_BATCH_ENTRIES_MAX];
};

struct node_log_link {
	struct dp_ring ops, reports;
	struct node_link_wait wait;
	struct dp_doorbell *wake_control; /* news without a ring: reads_done, a failure */
	/* Owned by whoever the last op handed them to: control fills them
	 * before its push, the log stage writes their results before it
	 * publishes calls_done / reads_done (release). */
	struct node_log_call call;
	struct node_log_read read;
	/* Written by the log stage only (read with acquire / relaxed). */
	uint64_t calls_done __attribute__((aligned(NODE_CACHE_LINE_BYTES))), reads_done;
	int failed_rc; /* 0, or the failure (published once, with release) */
	char failed_what[32];
	char failed_msg[256];
	uint64_t groups_published, entries_published; /* durable groups, their entries */
	raft_index durable_published, held_published; /* held: appends waiting for space */
	uint32_t reports_blocked, space_short; /* report waits: ring ops' doorbell; no segment */
};

/* ---- control <-> apply ---- */
#define NODE_APPLY_IN_MAX 1024u	 /* ring slots control -> apply */
#define NODE_APPLY_OUT_MAX 4096u /* ring slots apply -> control (replies) */
#define NODE_READS_MAX 1024u	 /* linearizable reads waiting in the apply stage */

enum node_apply_in_kind {
	NODE_APPLY_COMMIT = 1,	  /* apply up to index */
	NODE_APPLY_READ = 2,	  /* a linearizable read waiting for its round */
	NODE_APPLY_STALE_GET = 3, /* a read of the applied state, now */
	NODE_APPLY_ROUND = 4, NODE_APPLY_INSTALL = 5, /* outcome; INSTALL: snapshot index, round=term */
};

struct node_apply_in {
	uint8_t kind;	     /* enum node_apply_in_kind */
	uint8_t flags;	     /* READ, STALE_GET: the request's flags */
	uint8_t fail_status; /* ROUND: 0 = confirmed, else the reply status */
	uint8_t pad;
	uint16_t key_bytes, pad2;
	raft_index index; /* COMMIT: commit index; ROUND: the read index */
	uint64_t round;	  /* READ, ROUND: the ReadIndex ctx */
	uint64_t client_id, client_seq, rx_ns;
	struct dp_endpoints client;
	uint8_t key[DP_CLIENT_KEY_BYTES_MAX];
};
_Static_assert(sizeof(struct node_apply_in) == 336, "README: apply in ring 1024 x 336");

/* A reply for control to send (its value in the apply stage's arena). */
struct node_apply_out {
	struct dp_endpoints client;
	uint8_t status;	   /* DP_CLIENT_* */
	uint8_t trace_id;  /* a write's trace (control's traces + 1), 0 = none */
	uint8_t has_trace; /* trace_ns holds a read's whole trace */
	uint8_t pad;
	uint32_t value_bytes;
	uint64_t value_off; /* arena byte counter */
	uint64_t client_id, client_seq;
	uint64_t applied_ns; /* a write's apply time, for its trace */
	uint64_t trace_ns[DP_TRACE_STAGES];
};
_Static_assert(sizeof(struct node_apply_out) == 120, "README: apply out ring 4096 x 120");

struct node_apply_link {
	struct dp_ring in, out;
	struct node_link_wait wait;
	struct dp_doorbell *wake_control; /* news without a ring: applied_published */
	uint8_t *arena; /* reply values: the apply stage writes, control sends */
	uint64_t arena_bytes;
	/* Written by the apply stage only (atomics: control and status read). */
	raft_index applied_published __attribute__((aligned(NODE_CACHE_LINE_BYTES)));
	uint64_t digest_published, reads_served;
	uint32_t keys_published, out_blocked; /* out_blocked 1: no room for a reply:
					       * control rings in's doorbell */
	/* Written by control only: values up to here are sent (release). */
	uint64_t arena_tail __attribute__((aligned(NODE_CACHE_LINE_BYTES)));
};

/* ---- control -> telemetry (DPDK's thread) ---- */
#define NODE_STATUS_VALUES 23u
struct node_status_numbers {
	char role[16];
	uint64_t values[NODE_STATUS_VALUES];
};
struct node_status_link {
	pthread_mutex_t lock; /* never taken on the commit path: a few times a second */
	struct node_status_numbers numbers;
};

#endif /* RN_NODE_RINGS_H */
