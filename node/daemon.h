/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - internal to node/: the raftnode daemon's state, shared by its
 * stages. One struct node_daemon per process. Control owns the consensus
 * core and the payload ring; the rx/tx stage (the port), the log stage (the
 * durable log) and the apply stage (the state machine) may each run on an
 * lcore of their own ([node] lcore_map): control reaches them only through
 * SPSC rings (struct node_rxtx, node_log_stage, node_apply_stage) and the
 * log's one synchronous call slot. Nothing else is locked except the
 * telemetry snapshot of the status numbers, which another thread reads.
 *
 *   net.c      the rx/tx stage (receive, authenticate; send sealed frames);
 *              control's side: messages -> core or client requests, the
 *              core's messages sealed, split to fit a frame
 *   control.c  the core: events in, the update's numbered steps out
 *   payload.c  the payload ring: entry bytes kept by log index
 *   apply.c    committed entries -> state machine -> client replies; reads
 *   status.c   status JSON (raftctl status) and DPDK telemetry
 *   logstage.c the log stage: appends, hard state, truncation, catch-up
 *              reads and commit hints in ring order; durable reports back
 *   daemon.c   start (config, secret, log recovery, core, transport), stop
 */
#ifndef RN_NODE_DAEMON_H
#define RN_NODE_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "consensus.h"
#include "dataplane.h"
#include "node.h"
#include "storage.h"

/* Per log index: where its payload is, and who waits for its result. */
struct node_slot {
	raft_index index; /* 0 = empty */
	raft_term term;
	uint64_t offset;  /* in the payload ring (a byte counter, not wrapped) */
	uint32_t bytes;
	uint8_t type;	  /* enum raft_entry_type */
	bool client_waits; /* this node proposed it for a client: reply on apply */
	uint8_t client_flags;
	uint8_t trace_id; /* index into node_daemon.traces + 1, 0 = untraced */
	uint64_t client_id;
	uint64_t client_seq;
	struct dp_endpoints client;
};

/* The payload ring: bytes of the entries in the core's window, in index
 * order. Allocation at the head, release at the tail as the core releases
 * log slots; a truncation moves the head back. */
struct node_payloads {
	uint8_t *bytes;
	uint64_t bytes_max;
	uint64_t head; /* byte counters; physical offset = counter % bytes_max */
	uint64_t tail;
	raft_index first_index; /* lowest index whose payload is held */
	raft_index last_index;	/* highest index held, first - 1 if none */
	struct node_slot *slots; /* log_entries_max, by index & mask */
	uint64_t mask;
};

/* Stage timestamps of a traced request (DP_CLIENT_FLAG_TRACE). */
#define NODE_TRACES_MAX 64u
struct node_trace {
	bool busy;
	uint8_t stages_set; /* bit per enum dp_trace_stage stamped */
	raft_index index;   /* 0 until proposed */
	uint64_t stamp_ns[DP_TRACE_STAGES];
};

/* A linearizable read waiting for its ReadIndex round and the apply. */
#define NODE_READS_MAX 1024u
/* Bytes read from the log at once for a lagging follower or a replay. */
#define NODE_CATCHUP_BYTES (4u << 20)
struct node_read {
	bool busy;
	bool confirmed;
	uint8_t fail_status; /* confirmed: 0, or its round failed: the reply */
	uint8_t flags;
	uint64_t round; /* the ReadIndex ctx it waits on */
	raft_index read_index;
	uint64_t client_id;
	uint64_t client_seq;
	uint64_t rx_ns;
	struct dp_endpoints client;
	uint16_t key_bytes;
	uint8_t key[DP_CLIENT_KEY_BYTES_MAX];
};

/* Client writes gathered during one rx poll, proposed as one batch. */
struct node_proposal {
	struct raft_entry entries[RAFT_BATCH_ENTRIES_MAX];
	struct node_slot slots[RAFT_BATCH_ENTRIES_MAX];
	uint64_t rx_ns[RAFT_BATCH_ENTRIES_MAX];
	uint32_t count;
	uint64_t head_before; /* payload ring head before the batch */
};

/* ---- The log stage (logstage.c): owns the durable log while the node
 * runs; control talks to it through two SPSC rings. ---- */
#define NODE_LOG_OPS_MAX 8192u	 /* ring slots control -> log (one per entry) */
#define NODE_LOG_REPORTS_MAX 64u /* ring slots log -> control */
#define NODE_LOG_BATCH_MAX 512u	 /* entries gathered into one store_append */

enum node_log_op_kind {
	NODE_LOG_OP_APPEND = 1,
	NODE_LOG_OP_HINT = 2,
	NODE_LOG_OP_CALL = 3,
	NODE_LOG_OP_READ = 4, /* the catch-up read (struct node_log_read) */
};

/* One record of the ops ring, carried by value (32 bytes). */
struct node_log_op {
	raft_index index; /* APPEND: the entry; HINT: committed index; CALL: seq */
	raft_term term;
	const void *ptr;  /* APPEND: payload bytes (payload ring); CALL: the call */
	uint32_t payload_bytes;
	uint8_t kind;	  /* enum node_log_op_kind */
	uint8_t type;	  /* APPEND: enum raft_entry_type */
	uint8_t pad[2];
};

/* "Durable up to index, whose term is term" (24 bytes). */
struct node_log_report {
	raft_index index;
	raft_term term;
	uint64_t durable_ns;
};

enum node_log_call_kind {
	NODE_LOG_CALL_HARD_STATE = 1,
	NODE_LOG_CALL_TRUNCATE = 2,
};

/* A synchronous request (node_log_save_hard_state, node_log_truncate):
 * control fills the stage's one slot, waits, reads rc. */
struct node_log_call {
	uint8_t kind;
	struct raft_hard_state hard_state;
	raft_index index;
	int rc; /* out */
};

/* The catch-up read: durable entries for a follower below the core's
 * window, read by the log stage while control goes on; control sends the
 * append it was asked for when the read is done. One at a time. */
struct node_log_read {
	struct raft_message msg; /* the from_storage append to fill */
	void *buf;
	size_t buf_bytes;
	/* Out (written by the log stage). */
	int rc; /* entries read (>= 1), or an error */
	raft_term prev_term;
	struct store_entry entries[RAFT_BATCH_ENTRIES_MAX];
};

struct node_log_stage {
	struct store_log *log;
	struct dp_ring ops;
	struct dp_ring reports;
	bool colocated;		 /* on control's lcore: waits run it inline */
	const volatile int *stop; /* the node is stopping */
	/* Written by the control side only. */
	uint64_t calls_sent;
	uint64_t ops_full_waits;
	struct node_log_call call; /* the one call in flight (control waits) */
	struct node_log_read read; /* the catch-up read; control's unless in flight */
	uint64_t reads_sent;
	uint64_t reads_taken; /* reads_sent == reads_taken: the read slot is free */
	uint64_t reads_refused_busy; /* asked while a read was in flight (it waits) */
	/* Written by the log side only (read by control with acquire). */
	uint64_t calls_done __attribute__((aligned(64)));
	uint64_t reads_done;
	int failed_rc;
	char failed_what[32];
	char failed_msg[256];
	bool draining;
	bool stopped; /* node_log_stage_stop ran: nothing staged or in flight */
	bool report_pending;
	uint64_t reports_made;
	struct node_log_report report;
	struct store_entry batch[NODE_LOG_BATCH_MAX];
	uint32_t batch_count;
	/* Figures for status and telemetry, published by the log side with
	 * each durable report (relaxed atomics: no lock on the log's path). */
	uint64_t groups_published;
	uint64_t entries_published;
	raft_index durable_published;
};

int node_log_stage_init(struct node_log_stage *ls, bool colocated, const volatile int *stop);
void node_log_stage_attach(struct node_log_stage *ls, struct store_log *log);
void node_log_stage_fini(struct node_log_stage *ls);
/* The log lcore's last step: drain the ops, flush (dp_stage.stop). */
void node_log_stage_stop(void *ctx);
void node_log_stage_on_durable(void *user, raft_index index, raft_term term);
uint32_t node_log_stage_poll(void *ctx); /* the log lcore's stage */
/* Control side. -ECANCELED when the node stops while waiting. */
/* Entries in order, payloads[i] holding entries[i]'s bytes (they stay put
 * until the log reports them durable); pushed in bursts. */
int node_log_append(struct node_log_stage *ls, const struct raft_entry *entries,
		    const void *const *payloads, uint32_t count);
void node_log_kick(struct node_log_stage *ls);
int node_log_save_hint(struct node_log_stage *ls, raft_index committed);
/* Durable when they return 0 (the hard state before any message of its
 * update leaves; a truncation after every earlier append was consumed). */
int node_log_save_hard_state(struct node_log_stage *ls, const struct raft_hard_state *hs);
int node_log_truncate(struct node_log_stage *ls, raft_index from);
/* Starts the catch-up read for from_storage append m (entries from
 * m->append.prev_index + 1) into buf: 0, or -EBUSY while one is in flight. */
int node_log_read_start(struct node_log_stage *ls, const struct raft_message *m, void *buf,
			size_t buf_bytes);
/* The finished read (its append to send), once; NULL if none. */
const struct node_log_read *node_log_read_take(struct node_log_stage *ls);
bool node_log_take_report(struct node_log_stage *ls, struct node_log_report *out);
/* 0, or the failure's code with what failed and the log's message. */
int node_log_failure(const struct node_log_stage *ls, const char **what, const char **msg);
/* Durable groups written, entries in them, and the durable index. */
struct node_log_figures {
	uint64_t groups;
	uint64_t entries;
	raft_index durable;
};
void node_log_figures(const struct node_log_stage *ls, struct node_log_figures *out);

/* ---- The apply stage (apply.c): owns the state machine and the pending
 * linearizable reads; may run on an lcore of its own. Control hands it
 * commits, reads and ReadIndex outcomes through one SPSC ring; it hands
 * back the replies to send through another (values in its reply arena),
 * and publishes how far it applied. ---- */
#define NODE_APPLY_IN_MAX 1024u	   /* ring slots control -> apply */
#define NODE_APPLY_OUT_MAX 4096u   /* ring slots apply -> control (replies) */

enum node_apply_in_kind {
	NODE_APPLY_COMMIT = 1,	  /* apply up to index */
	NODE_APPLY_READ = 2,	  /* a linearizable read waiting for its round */
	NODE_APPLY_STALE_GET = 3, /* a read of the applied state, now */
	NODE_APPLY_ROUND = 4,	  /* round's outcome: read_index, or failed */
};

/* One record of the ring to the apply stage, by value. */
struct node_apply_in {
	uint8_t kind;	       /* enum node_apply_in_kind */
	uint8_t flags;	       /* READ, STALE_GET: the request's flags */
	uint8_t fail_status;   /* ROUND: 0 = confirmed, else the reply status */
	uint8_t pad;
	uint16_t key_bytes;
	uint16_t pad2;
	raft_index index;      /* COMMIT: commit index; ROUND: the read index */
	uint64_t round;	       /* READ, ROUND: the ReadIndex ctx */
	uint64_t client_id;
	uint64_t client_seq;
	uint64_t rx_ns;
	struct dp_endpoints client;
	uint8_t key[DP_CLIENT_KEY_BYTES_MAX];
};

/* A reply for control to send (its value in the apply stage's arena). */
struct node_apply_out {
	struct dp_endpoints client;
	uint8_t status;	   /* DP_CLIENT_* */
	uint8_t trace_id;  /* a write's trace (control's traces[] + 1), 0 = none */
	uint8_t has_trace; /* trace_ns holds a read's whole trace */
	uint8_t pad;
	uint32_t value_bytes;
	uint64_t value_off; /* arena byte counter */
	uint64_t client_id;
	uint64_t client_seq;
	uint64_t applied_ns; /* a write's apply time, for its trace */
	uint64_t trace_ns[DP_TRACE_STAGES];
};

struct node_apply_stage {
	struct node_kv *kv;
	const struct node_payloads *payloads; /* committed slots, read only */
	struct dp_ring in;
	struct dp_ring out;
	uint8_t *arena;
	uint64_t arena_bytes;
	uint32_t value_bytes_max; /* room kept free in the arena per reply */
	bool colocated;		  /* on control's lcore: waits run it inline */
	const volatile int *stop;
	/* Written by the apply side only. */
	raft_index commit_index;
	raft_index applied_index;
	struct node_read *reads; /* NODE_READS_MAX */
	uint32_t reads_busy;
	uint64_t arena_head;
	/* Published by the apply side (atomics; control and status read). */
	raft_index applied_published __attribute__((aligned(64)));
	uint64_t digest_published;
	uint32_t keys_published;
	uint64_t reads_served;
	/* Written by the control side only. */
	uint64_t arena_tail __attribute__((aligned(64)));
	uint64_t in_full_waits;
};

int node_apply_stage_init(struct node_apply_stage *as, struct node_kv *kv,
			  const struct node_payloads *payloads, uint32_t value_bytes_max,
			  bool colocated, const volatile int *stop);
void node_apply_stage_fini(struct node_apply_stage *as);
/* The reply arena's size for values up to value_bytes_max (README: memory). */
uint64_t node_apply_arena_bytes(uint32_t value_bytes_max);
uint32_t node_apply_stage_poll(void *ctx); /* the apply lcore's stage */

/* ---- The rx/tx stage (net.c): owns the port. It receives and
 * authenticates frames into messages it hands control through a ring (the
 * frame stays in its mbuf: no copy), takes them back processed through
 * another, and sends the frames control sealed (DPDK: the tx ring). On
 * control's lcore the same rings are used, and control flushes the tx ring
 * itself at the end of its step. ---- */
#define NODE_RX_MSGS 128u	 /* received, not yet processed */
#define NODE_RX_RING_SLOTS 256u	 /* holds NODE_RX_MSGS (a ring holds slots - 1) */
#define NODE_TX_RING_SLOTS 2048u /* sealed frames control -> rx/tx (mbuf pool: 8191) */

struct node_rxtx {
	struct dp_transport *transport;
	struct dp_rx_msg *msgs; /* NODE_RX_MSGS */
	struct dp_ring rx;	/* rx/tx -> control: received messages */
	struct dp_ring done;	/* control -> rx/tx: processed, to reuse */
	struct dp_ring tx;	/* control -> rx/tx: sealed frames (DPDK) */
	bool colocated;		/* on control's lcore */
	const volatile int *stop;
	/* Written by the rx/tx side only. */
	struct dp_rx_msg *spare[DP_BURST_MAX];
	uint32_t spare_count;
	uint64_t rx_msgs_exhausted; /* polls with every message held by control */
	/* Written by the control side only. */
	uint64_t tx_full_waits; /* control waited for room in the tx ring */
};

int node_rxtx_init(struct node_rxtx *x, struct dp_transport *t, bool colocated,
		   const volatile int *stop);
/* After every lcore stopped: frees the frames still held, the memory. */
void node_rxtx_fini(struct node_rxtx *x);
/* The memory node_rxtx_init takes (README: memory). */
uint64_t node_rxtx_memory_bytes(uint8_t transport_kind);
uint32_t node_rxtx_poll(void *ctx); /* the rx/tx lcore's stage */

struct node_counters {
	uint64_t client_requests;
	uint64_t client_bad; /* refused requests (BAD_REQUEST replies) */
	uint64_t replies_sent;
	uint64_t replies_busy;
	uint64_t replies_redirect;
	uint64_t replies_retry;
	uint64_t reply_send_failed;
	uint64_t msgs_sent;
	uint64_t msgs_send_failed;
	uint64_t appends_split; /* AppendEntries cut to fit a frame */
	uint64_t appends_dropped_no_room; /* payload ring full: not taken */
	uint64_t entries_rolled_back;
	raft_index rollback_first; /* last rollback: entries first..last */
	raft_index rollback_last;
	raft_term rollback_term; /* term of the last entry rolled back */
	uint64_t ticks;
	uint64_t proposals;
	uint64_t proposed_entries;
};

/* The figures DPDK telemetry serves (status.c names them). */
#define NODE_STATUS_VALUES 19u
struct node_status_numbers {
	char role[16];
	uint64_t values[NODE_STATUS_VALUES];
};

struct node_daemon {
	struct node_config cfg;
	uint8_t secret[DP_SECRET_BYTES_MAX];
	uint32_t secret_bytes;
	struct raft *raft;
	struct raft_config raft_cfg;
	struct store_log *log;
	struct dp_transport transport;
	struct node_rxtx rxtx;
	struct dp_port port;
	bool port_open;
	bool eal_started;
	uint32_t frame_body_bytes_max; /* body bytes one frame can carry */

	struct node_payloads payloads;
	struct node_proposal proposal;
	struct node_trace traces[NODE_TRACES_MAX];
	uint64_t read_round;	   /* ReadIndex ctx of the reads gathered now */
	uint32_t reads_in_round;   /* reads waiting to start that round */
	struct node_apply_stage applystage;
	raft_index commit_pushed;  /* last COMMIT handed to the apply stage */

	raft_index applied_reported; /* last RAFT_EVENT_APPLIED given to the core */
	raft_index hint_saved;	     /* last commit hint given to the log */
	uint64_t hint_saved_ns;
	/* Reads of the durable log for followers below the core's window
	 * (from_storage appends) and for replays at start. */
	uint8_t *catchup_buf;
	uint64_t catchup_entries_sent;
	/* from_storage appends waiting for the catch-up read in flight (one
	 * per follower: a newer request for the same follower replaces it). */
	struct raft_message catchup_waiting[RAFT_NODES_MAX];
	uint32_t catchup_waiting_count;
	uint8_t role;
	raft_node_id leader_id;
	raft_term term;
	uint64_t next_tick_ns;
	uint64_t started_ns;
	bool failed; /* nothing more is done: the log failed, or stopping */
	bool fatal;  /* the log failed (exit 1) */
	volatile int stop; /* every lcore leaves its loop (signal or failure) */
	struct node_log_stage logstage;

	struct node_counters counters;

	/* Status for DPDK telemetry: rebuilt by the main loop, read by the
	 * telemetry thread. */
	pthread_mutex_t status_lock;
	struct node_status_numbers status;
	uint64_t status_built_ns;
};

uint64_t node_now_ns(void);

/* daemon.c */
/* What a node of this configuration allocates at start (README: memory). */
struct node_memory {
	uint64_t core_bytes;	    /* the core's window: log_entries_max x 32 */
	uint64_t ring_bytes;	    /* log_payload_bytes_max + log_entries_max x slot */
	uint64_t kv_bytes;	    /* node_kv_memory_bytes() */
	uint64_t log_staging_bytes; /* two group buffers */
	uint64_t reads_bytes;	    /* pending linearizable reads */
	uint64_t stage_rings_bytes; /* rings between stages, reply arena */
	uint64_t dpdk_bytes;	    /* EAL memory (mbuf pool inside) */
	uint64_t total_bytes;
};
uint64_t node_daemon_memory_bytes(const struct node_config *cfg, struct node_memory *out);
int node_daemon_start(struct node_daemon *d, const char *config_path, raft_node_id id,
		      char *errmsg, size_t errmsg_bytes);
void node_daemon_stop(struct node_daemon *d);
/* One round of every stage; returns the work done (0 = idle). */
uint32_t node_daemon_poll(struct node_daemon *d);

/* payload.c */
int node_payloads_init(struct node_payloads *p, uint32_t entries_max, uint64_t bytes_max);
void node_payloads_fini(struct node_payloads *p);
bool node_payloads_room(const struct node_payloads *p, uint64_t bytes, uint32_t count);
/* Reserves bytes at the head: the offset, or UINT64_MAX when full. */
uint64_t node_payloads_alloc(struct node_payloads *p, uint32_t bytes);
uint8_t *node_payloads_at(const struct node_payloads *p, uint64_t offset);
struct node_slot *node_payloads_slot(const struct node_payloads *p, raft_index index);
/* Records a slot (its payload already allocated). */
void node_payloads_set(struct node_payloads *p, const struct node_slot *slot);
/* Drops every slot >= index and moves the head back. */
void node_payloads_truncate(struct node_payloads *p, raft_index index);
/* Frees slots below `index` (the core released them). */
void node_payloads_release(struct node_payloads *p, raft_index index);
/* Empties the ring so that the next entry it takes is prev_index + 1. */
void node_payloads_reset(struct node_payloads *p, raft_index prev_index);
uint64_t node_payloads_used(const struct node_payloads *p);

/* control.c */
/* Steps the core with `ev` and carries out its update (numbered steps). */
int node_control_step(struct node_daemon *d, struct raft_event *ev);
uint32_t node_control_poll(struct node_daemon *d); /* ticks, durable reports */
void node_control_propose(struct node_daemon *d); /* the gathered writes */
/* Fail-stop after a log error: says what failed (msg: the log's own words),
 * acknowledges nothing more, stops every lcore. */
void node_control_fail(struct node_daemon *d, const char *what, int rc, const char *msg);

/* net.c */
uint32_t node_net_poll(struct node_daemon *d);
/* On control's lcore: sends the frames control sealed this step (0 apart). */
uint32_t node_net_flush(struct node_daemon *d);
/* Sends the catch-up append whose log read finished (0 = none). */
uint32_t node_net_catchup_poll(struct node_daemon *d);
void node_net_send(struct node_daemon *d, const struct raft_message *m);
void node_net_reply(struct node_daemon *d, const struct dp_endpoints *to, uint64_t client_id,
		    uint64_t seq, uint8_t status, const uint8_t *value, uint32_t value_bytes,
		    const uint64_t *trace_ns);

/* apply.c, the control side */
/* Hands the apply stage everything up to commit_index. */
void node_apply_commit(struct node_daemon *d, raft_index commit_index);
void node_apply_read_states(struct node_daemon *d, const struct raft_read_state *rs,
			    uint32_t count);
void node_apply_read(struct node_daemon *d, const struct dp_rx_frame *in, uint64_t rx_ns,
		     bool stale);
void node_apply_start_reads(struct node_daemon *d);
/* Sends the replies the apply stage made; returns how many. */
uint32_t node_apply_send_replies(struct node_daemon *d);
/* How far the apply stage applied (acquire). */
raft_index node_apply_applied(const struct node_daemon *d);
/* The commit hint follows the applied index, lazily. */
void node_apply_save_hint(struct node_daemon *d);
void node_trace_stamp(struct node_daemon *d, raft_index up_to, unsigned stage, uint64_t now_ns);
/* Applies one committed entry read from the log (replay at start, before
 * any lcore runs). */
void node_apply_replayed(struct node_daemon *d, const struct store_entry *e);

/* status.c */
int node_status_json(struct node_daemon *d, char *out, size_t out_bytes);
/* The essentials only (role, term, leader, indexes, digest), "truncated":
 * true: for a reply frame too small for the whole status. */
int node_status_json_brief(struct node_daemon *d, char *out, size_t out_bytes);
void node_status_refresh(struct node_daemon *d);
int node_telemetry_register(struct node_daemon *d);

#endif /* RN_NODE_DAEMON_H */
