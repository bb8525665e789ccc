/* SPDX-License-Identifier: MIT */
/*
 * snapxfer.h - the public API of snapxfer, InstallSnapshot's byte mover
 * (issue 16, deliverable 3): it moves one snapshot file from the leader's
 * data directory to a follower's staging file, chunk by chunk over the
 * node's own transport, flow-controlled, resumable, verified by the
 * whole-file CRC32C. The consensus core never sees a chunk: once a whole,
 * verified file is staged (and fsync'd), the follower's node hands the core
 * the snapshot offer.
 *
 * Three layers, each usable alone:
 *  - the engine (engine_send.c, engine_recv.c): pure state machines, no
 *    I/O, no clock, no allocation, no threads. Inputs are decoded frames
 *    and `now_ns`; outputs are actions the caller performs in order ("read
 *    these bytes and send them as a chunk", "write these bytes at this
 *    offset", "send this ack", "verify the staged file"). Deterministic, so
 *    the tests drive it over a simulated lossy link for many seeds;
 *  - the rings (ring.c): bounded SPSC rings of fixed-size records, with a
 *    wake-up callback per side, between the rx/tx stage and the thread;
 *  - the thread (thread.c): a plain pthread, off the hot lcores, asleep in
 *    poll() on one eventfd between inputs, that runs the engine and does
 *    its file reads and writes with pread/pwrite.
 *
 * Why a module of its own, beside node/: the engine uses dataplane's frame
 * types and the thread storage's CRC32C, and dataplane and storage may not
 * know each other (DESIGN.md); like node/, snapxfer sits above both.
 */
#ifndef RN_SNAPXFER_H
#define RN_SNAPXFER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus.h"
#include "dataplane.h"
#include "storage.h" /* struct store_pace */

#ifdef __cplusplus
extern "C" {
#endif

/* Followers a leader sends to at once. */
#define SNAPXFER_PEERS_MAX RAFT_NODES_MAX

/* ---- Actions: what the engine asks its caller to do, in order ------------ */

enum snapxfer_action_kind {
	/* Sender: read [offset_bytes, offset_bytes + bytes) of the file of `id`
	 * and send it as a chunk to `peer` at `term` (bytes 0: a probe). */
	SNAPXFER_ACT_SEND_CHUNK = 1,
	/* Sender: `peer` holds `id` staged and verified: the transfer is done. */
	SNAPXFER_ACT_SEND_DONE = 2,
	/* Sender: gave up on `peer` (reason: a DP_SNAP_ACK_REFUSE_* or
	 * SNAPXFER_FAIL_UNANSWERED). The receiver keeps what it staged: the
	 * next offer of the same id resumes there. */
	SNAPXFER_ACT_SEND_FAILED = 3,
	/* Receiver: a new transfer `id` starts: begin a fresh, empty staging
	 * file (never truncate one already handed over). */
	SNAPXFER_ACT_STAGE_RESET = 4,
	/* Receiver: write data[0..bytes) at offset_bytes of the staging file.
	 * If the write fails, skip the rest of this batch and call
	 * snapxfer_recv_write_failed. */
	SNAPXFER_ACT_STAGE_WRITE = 5,
	/* Receiver: all of `id` is staged: CRC32C the staged file (its first
	 * id.total_bytes bytes) and call snapxfer_recv_verified. */
	SNAPXFER_ACT_STAGE_VERIFY = 6,
	/* Receiver: send an ack to `peer` at `term` (ack holds it). */
	SNAPXFER_ACT_SEND_ACK = 7,
	/* Receiver: the staged file of `id` is whole and verified: make it
	 * durable (fsync) before the ack that follows, hand it to the node,
	 * and call snapxfer_recv_release once it has been moved away. */
	SNAPXFER_ACT_STAGE_COMPLETE = 8,
};

/* A sender's own reason to give up: no answer after timeouts_max timeouts. */
#define SNAPXFER_FAIL_UNANSWERED 64u

struct snapxfer_action {
	uint8_t kind;	   /* enum snapxfer_action_kind */
	uint8_t reason;	   /* SEND_FAILED */
	raft_node_id peer; /* SEND_*: the follower / the ack's recipient */
	raft_term term;	   /* SEND_CHUNK, SEND_ACK: the frame header's term */
	struct dp_snap_id id;
	uint64_t offset_bytes; /* SEND_CHUNK, STAGE_WRITE */
	uint32_t bytes;	       /* SEND_CHUNK, STAGE_WRITE */
	const uint8_t *data;   /* STAGE_WRITE: in the caller's chunk, valid until it is released */
	struct dp_snap_ack ack; /* SEND_ACK */
};

/* ---- Sender engine ---------------------------------------------------------- */

struct snapxfer_send_config {
	uint64_t rto_ns;	/* first retransmit timeout; doubles per timeout in a row */
	uint64_t rto_ns_max;	/* the doubling's cap */
	uint32_t timeouts_max;	/* timeouts without any answer before giving up */
	uint32_t dupacks_resend; /* repeated acks that resend the chunk at acked (0: 3) */
	/* RESTARTs after the whole file went out (its CRC failed at the
	 * receiver) before giving up with reason RESTART (0: 3): a leader's
	 * file that does not match its id, or a follower's disk that corrupts
	 * it, would otherwise loop for ever. */
	uint32_t restarts_max;
};

struct snapxfer_send_counters {
	uint64_t chunks_sent;
	uint64_t data_bytes_sent;
	uint64_t data_bytes_resent; /* below the furthest offset already sent once */
	uint64_t probes_sent;
	uint64_t go_backs_timeout; /* everything from acked again */
	uint64_t fast_resends;	   /* the one chunk at acked, on repeated or partial acks */
	uint64_t restarts;	   /* the receiver said RESTART: from 0 */
	uint64_t acks_ignored;	   /* of no transfer in progress, or stale */
	uint64_t done;
	uint64_t failed;
};

enum snapxfer_send_state {
	SNAPXFER_SEND_FREE = 0,
	SNAPXFER_SEND_ACTIVE = 1, /* probing or sending */
	SNAPXFER_SEND_REPORT = 2, /* done or failed: the action is still to emit */
};

/* One follower's transfer. Invariant while active: acked_bytes <= next_bytes
 * <= id.total_bytes, and every chunk ends at or before acked_bytes +
 * window_bytes of the newest ack (flow control). */
struct snapxfer_send_peer {
	uint8_t state;	/* enum snapxfer_send_state */
	uint8_t report; /* REPORT: SNAPXFER_ACT_SEND_DONE or _FAILED */
	uint8_t reason; /* the failure's */
	bool answered;	/* an ack of this transfer came: window_bytes is known */
	bool probe_due;
	bool resend_due; /* the chunk at acked_bytes goes again (fast resend) */
	raft_node_id peer;
	raft_term term; /* the leader's */
	struct dp_snap_id id;
	uint32_t chunk_bytes;
	uint32_t window_bytes;
	uint32_t dupacks;
	uint32_t timeouts_in_row;
	uint32_t restarts; /* RESTARTs after the whole file had been sent */
	uint64_t acked_bytes;	 /* the receiver holds [0, acked) */
	uint64_t next_bytes;	 /* the next byte to send */
	uint64_t sent_max_bytes; /* the furthest byte sent in this transfer */
	uint64_t recover_bytes;	 /* in recovery until acked reaches it: a partial ack
				  * resends the next hole at once */
	uint64_t rto_ns;	 /* the current timeout */
	uint64_t deadline_ns;	 /* when to time out without progress */
};

struct snapxfer_send {
	struct snapxfer_send_config cfg;
	struct snapxfer_send_peer peers[SNAPXFER_PEERS_MAX];
	uint32_t rr; /* the peer poll starts with: fairness under a short budget */
	struct snapxfer_send_counters counters;
};

/* 0, or -EINVAL for a config that cannot work (rto 0, cap below rto). */
int snapxfer_send_init(struct snapxfer_send *s, const struct snapxfer_send_config *cfg);
/*
 * Offers `id` to `peer` as leader of `term`, in chunks of chunk_bytes
 * (<= DP_SNAP_DATA_BYTES_MAX: dp_snap_data_bytes_max of the path's frame).
 * The first frame is a probe: the receiver's ack says where it stands, so
 * an offer of an id it partly holds resumes there. The same id and term
 * again while active: nothing changes. Another id or term: replaces the
 * peer's transfer. 0, -EINVAL, or -ENOSPC (SNAPXFER_PEERS_MAX busy).
 */
int snapxfer_send_start(struct snapxfer_send *s, raft_node_id peer, raft_term term,
			const struct dp_snap_id *id, uint32_t chunk_bytes, uint64_t now_ns);
/* Forgets peer's transfer without a report (a deposed leader, a read
 * error). */
void snapxfer_send_cancel(struct snapxfer_send *s, raft_node_id peer);
/* An ack from `from` whose frame header said `term`. */
void snapxfer_send_on_ack(struct snapxfer_send *s, raft_node_id from, raft_term term,
			  const struct dp_snap_ack *a, uint64_t now_ns);
/* Times out what is due, then fills acts with up to acts_max actions
 * (reports, and chunks within each window, at most frames_max of them:
 * the caller's free frames); returns how many. Call it after every input
 * and when snapxfer_send_deadline_ns passes: what found no room waits for
 * the next call. */
uint32_t snapxfer_send_poll(struct snapxfer_send *s, uint64_t now_ns,
			    struct snapxfer_action *acts, uint32_t acts_max, uint32_t frames_max);
/* The earliest deadline of an active transfer, UINT64_MAX for none. */
uint64_t snapxfer_send_deadline_ns(const struct snapxfer_send *s);
/* The transfer to peer, NULL if none. */
const struct snapxfer_send_peer *snapxfer_send_find(const struct snapxfer_send *s,
						    raft_node_id peer);

/* ---- Receiver engine ------------------------------------------------------ */

/* Most actions one receiver call emits (reset, write, verify, ack). */
#define SNAPXFER_RECV_ACTIONS_MAX 4u
/* Runs of bytes written past a gap that one receiver remembers. */
#define SNAPXFER_RECV_RANGES_MAX 16u

/* [begin, end) of the staging file written past the staged offset. */
struct snapxfer_range {
	uint64_t begin;
	uint64_t end;
};

struct snapxfer_recv_config {
	/* What the receiver takes past its acked offset: the frames its
	 * inbound ring holds times their data, so a sender that keeps to it
	 * never overruns the ring. >= one chunk. */
	uint32_t window_bytes;
	uint64_t staging_bytes_max; /* larger snapshots are refused */
};

struct snapxfer_recv_counters {
	uint64_t chunks_accepted;
	uint64_t data_bytes_accepted;
	uint64_t duplicates;	/* below the staged offset, or held already: acked again */
	uint64_t out_of_order;	/* past a gap, within the window: written, held as a range */
	uint64_t out_of_order_dropped; /* past the window, or no range left */
	uint64_t probes;
	uint64_t stale_dropped; /* a term below the receiver's */
	uint64_t superseded;	/* an older snapshot of the same term */
	uint64_t too_big;
	uint64_t replaced;	/* a transfer dropped for a newer one */
	uint64_t busy;		/* chunks of another transfer while one awaits install */
	uint64_t crc_mismatches;
	uint64_t write_failures;
	uint64_t completed;
	uint64_t invalid; /* a chunk no decoder passed (range outside its file) */
};

enum snapxfer_recv_state {
	SNAPXFER_RECV_IDLE = 0,
	SNAPXFER_RECV_RECEIVING = 1,
	SNAPXFER_RECV_VERIFYING = 2, /* all staged, the caller checks the CRC */
	SNAPXFER_RECV_COMPLETE = 3,  /* verified, handed over until released */
};

struct snapxfer_recv {
	struct snapxfer_recv_config cfg;
	uint8_t state;		/* enum snapxfer_recv_state */
	raft_term current_term; /* the highest chunk term seen */
	struct dp_snap_id id;	/* the transfer being assembled */
	raft_term term;		/* the term its last accepted chunk came in */
	raft_node_id leader;	/* who sent it */
	uint64_t staged_bytes;	/* [0, staged) written, contiguous */
	/* Written past a gap, in order, disjoint, not touching, each past
	 * staged_bytes + 1 and ending within the window. */
	struct snapxfer_range ranges[SNAPXFER_RECV_RANGES_MAX];
	uint32_t ranges_count;
	struct snapxfer_recv_counters counters;
};

int snapxfer_recv_init(struct snapxfer_recv *r, const struct snapxfer_recv_config *cfg);
/*
 * A chunk (or probe) from `from` whose frame header said `term`. Fills
 * acts (room for SNAPXFER_RECV_ACTIONS_MAX) and returns how many. A term
 * below the receiver's: dropped, answered REFUSE_STALE. Another id at a
 * higher term, or at the same term with a snapshot index at least as
 * high: replaces the transfer (a leader change, a newer snapshot). Bytes
 * at the staged offset are written and the offset moves past them and any
 * range they join; bytes past a gap but within the window are written at
 * their offset and remembered as a range (SNAPXFER_RECV_RANGES_MAX), the
 * staging file being the reorder buffer; a duplicate is acked again.
 */
uint32_t snapxfer_recv_chunk(struct snapxfer_recv *r, raft_node_id from, raft_term term,
			     const struct dp_snap_chunk *c, struct snapxfer_action *acts);
/* The caller's verdict on SNAPXFER_ACT_STAGE_VERIFY: the staged file's size
 * and the CRC32C of its first id->total_bytes bytes. A match: COMPLETE
 * then an ack DONE; a mismatch: RESET and an ack RESTART (from 0). */
uint32_t snapxfer_recv_verified(struct snapxfer_recv *r, const struct dp_snap_id *id,
				uint64_t staged_file_bytes, uint32_t crc32c,
				struct snapxfer_action *acts);
/* The STAGE_WRITE at offset_bytes failed with -errno err: the staged
 * offset goes back to it and the sender is refused (NO_SPACE for ENOSPC
 * and EDQUOT, IO otherwise); what was staged stays for a later resume. */
uint32_t snapxfer_recv_write_failed(struct snapxfer_recv *r, uint64_t offset_bytes, int err,
				    struct snapxfer_action *acts);
/* The completed file has been moved away (installed): idle again. */
void snapxfer_recv_release(struct snapxfer_recv *r);

/* ---- SPSC rings with wake-ups ------------------------------------------------
 *
 * A bounded single-producer single-consumer ring of fixed-size records,
 * filled and read in place (reserve/push, peek/pop: no copy through the
 * ring). After a push it calls on_push (wake the consumer if it sleeps),
 * after a pop on_pop (wake a producer waiting for room); either may be
 * NULL. The integrator points the frames-out ring's on_push at the rx/tx
 * lcore's doorbell (dp_doorbell_ring) and pushes received chunks and acks
 * into the frames-in ring (snapxfer_msg_from_rx).
 */
struct snapxfer_ring {
	uint8_t *mem;
	uint32_t elem_bytes;
	uint32_t slots_count; /* a power of two */
	void (*on_push)(void *arg);
	void *on_push_arg;
	void (*on_pop)(void *arg);
	void *on_pop_arg;
	uint64_t pushes_refused; /* reserve found it full */
	uint32_t head __attribute__((aligned(64))); /* producer's (atomic) */
	uint32_t tail __attribute__((aligned(64))); /* consumer's (atomic) */
};

/* Allocates slots_count (power of two, >= 2) records of elem_bytes,
 * touched. 0, -EINVAL or -ENOMEM. */
int snapxfer_ring_init(struct snapxfer_ring *r, uint32_t elem_bytes, uint32_t slots_count);
void snapxfer_ring_fini(struct snapxfer_ring *r);
/* Producer: the next free record, or NULL when full (counted). */
void *snapxfer_ring_reserve(struct snapxfer_ring *r);
/* Producer: publishes the reserved record, then on_push. */
void snapxfer_ring_push(struct snapxfer_ring *r);
/* Consumer: the oldest record, or NULL when empty. */
void *snapxfer_ring_peek(struct snapxfer_ring *r);
/* Consumer: frees the peeked record, then on_pop. */
void snapxfer_ring_pop(struct snapxfer_ring *r);
uint32_t snapxfer_ring_count(const struct snapxfer_ring *r);
uint32_t snapxfer_ring_free(const struct snapxfer_ring *r);

/* A frame in a ring: a chunk or an ack with its data inline. */
struct snapxfer_msg {
	uint8_t type;	   /* DP_FRAME_SNAP_CHUNK or DP_FRAME_SNAP_ACK */
	raft_node_id peer; /* frames out: the recipient; frames in: the sender */
	raft_term term;	   /* the frame header's */
	union {
		struct dp_snap_chunk chunk; /* chunk.data points at data below */
		struct dp_snap_ack ack;
	};
	uint8_t data[DP_SNAP_DATA_BYTES_MAX];
};
/* rx/tx: a decoded DP_FRAME_SNAP_* frame (dp_wire_decode's out) into a
 * frames-in record (its data copied). -DP_ERR_INVALID for another type. */
int snapxfer_msg_from_rx(struct snapxfer_msg *m, const struct dp_rx_frame *f);
/* rx/tx: a frames-out record sealed into one frame for addr (the peer's
 * endpoints). Returns the frame's bytes or a negative dp_error. */
int snapxfer_msg_seal(const struct snapxfer_msg *m, const struct dp_wire *w,
		      const struct dp_endpoints *addr, uint64_t msg_seq, uint8_t *buf,
		      size_t buf_bytes);

/* ---- The thread ------------------------------------------------------------ */

#define SNAPXFER_STAGING_NAME "snap-recv.tmp"
#define SNAPXFER_PATH_BYTES_MAX 256u
#define SNAPXFER_WHY_BYTES 320u

enum snapxfer_event_kind {
	SNAPXFER_EV_SENT = 1,	     /* peer holds id staged and verified */
	SNAPXFER_EV_SEND_FAILED = 2, /* gave up on peer: reason (an offer may retry) */
	SNAPXFER_EV_STAGED = 3,	     /* id staged whole, verified and fsync'd at path:
				      * rename it, offer it to the core, then release */
	SNAPXFER_EV_REFUSED = 4,     /* id staged whole, its bytes as sent, but the
				      * config's verify refused it (why says why): the
				      * sender was refused (REFUSE_IO) */
};

struct snapxfer_event {
	uint8_t kind;
	uint8_t reason; /* SEND_FAILED: a DP_SNAP_ACK_REFUSE_*, SNAPXFER_FAIL_* */
	int err;	/* SEND_FAILED: -errno of a local read, else 0 */
	raft_node_id peer;
	struct dp_snap_id id;
	char path[SNAPXFER_PATH_BYTES_MAX]; /* STAGED */
	char why[SNAPXFER_WHY_BYTES];	    /* REFUSED */
};

struct snapxfer_thread_config {
	const char *staging_dir;   /* SNAPXFER_STAGING_NAME is created here */
	struct snapxfer_send_config send;
	struct snapxfer_recv_config recv;
	uint32_t frames_out_slots; /* powers of two */
	uint32_t frames_in_slots;
	uint32_t io_buf_bytes;	   /* the verify's read buffer (0: 1 MiB) */
	/* Room: a transfer's staging file is (re)created only while its file
	 * system has the bytes still to come plus this much free
	 * (store_snap_space_check); else the sender is answered
	 * REFUSE_NO_SPACE before a byte is written, not a write failing half
	 * way. The node passes [storage] space_reserve_bytes. */
	uint64_t space_reserve_bytes;
	/* The node's own check of a staged file, on the thread (off every
	 * lcore), once its CRC matched the id and it was fsynced, before
	 * STAGED is reported: e.g. storage's reader over every block and the
	 * stream CRC, the cluster id and the limits. 0 to report it; else
	 * -errno and why (NUL-terminated), and the sender is refused
	 * (REFUSE_IO), the event REFUSED. NULL: none. */
	int (*verify)(void *arg, const char *path, const struct dp_snap_id *id, char *why,
		      size_t why_bytes);
	void *verify_arg;
	/* The staging file goes to the disk as it is written, as a snapshot
	 * the node takes does (storage.h, store_pace: 1 MiB chunks started
	 * as the contiguous staged bytes pass them, at most this many bytes a
	 * second, 0: no limit), not all at the final fsync, which would queue
	 * the log's durable writes behind the whole file; and a staging file
	 * a new transfer replaces is deleted a step at a time
	 * (store_unlink_paced), not truncated at once (one large discard).
	 * The node passes [storage] snapshot_write_bytes_per_s. */
	uint64_t stage_write_bytes_per_s;
};

struct snapxfer_thread_counters {
	uint64_t read_errors;
	uint64_t write_errors;
	uint64_t verify_read_errors;
	uint64_t verify_refused; /* staged whole, refused by cfg.verify */
	uint64_t space_refusals; /* a staging file not created: no room for it */
	uint64_t wakeups;
	uint64_t acks_dropped;	 /* frames out full: the sender's timeout recovers */
	uint64_t frames_ignored; /* neither chunk nor ack in frames in */
};

struct snapxfer_thread_cmd;

struct snapxfer_thread {
	struct snapxfer_thread_config cfg;
	struct snapxfer_send send;
	struct snapxfer_recv recv;
	struct snapxfer_ring frames_out; /* thread -> rx/tx */
	struct snapxfer_ring frames_in;	 /* rx/tx -> thread */
	struct snapxfer_ring cmds;	 /* node -> thread */
	struct snapxfer_ring events;	 /* thread -> node */
	int wake_fd;			 /* eventfd the thread sleeps on */
	uint32_t sleeping;		 /* atomic: 1 while it may sleep */
	uint32_t stop;			 /* atomic */
	pthread_t tid;
	bool started;
	int send_fd[SNAPXFER_PEERS_MAX]; /* the file each sender slot reads */
	raft_node_id send_fd_peer[SNAPXFER_PEERS_MAX];
	int staging_fd;
	char staging_path[SNAPXFER_PATH_BYTES_MAX];
	struct store_pace stage_pace; /* the staging file's writeback (cfg) */
	uint64_t stage_paced_bytes;   /* of the staged bytes, told to stage_pace */
	int stage_pace_err;	      /* a writeback's -errno: the COMPLETE's fsync fails with it */
	uint8_t *io_buf;
	struct snapxfer_thread_counters counters;
	char errmsg[160];
};

/* Sizes every ring and buffer, then starts the thread. 0 or -errno
 * (errmsg says what). */
int snapxfer_thread_start(struct snapxfer_thread *t, const struct snapxfer_thread_config *cfg);
/* Stops and joins the thread, closes its files, frees its memory. */
void snapxfer_thread_stop(struct snapxfer_thread *t);
/* The node (one producer thread): offer the snapshot file at path, whose
 * id it knows from the file's header, to peer as leader of term, in chunks
 * of chunk_bytes. Cancel a transfer. Release a STAGED file once moved.
 * 0, or -EAGAIN when the command ring is full (try again), -EINVAL. */
int snapxfer_thread_offer(struct snapxfer_thread *t, raft_node_id peer, raft_term term,
			  const struct dp_snap_id *id, const char *path, uint32_t chunk_bytes);
int snapxfer_thread_cancel(struct snapxfer_thread *t, raft_node_id peer);
int snapxfer_thread_release(struct snapxfer_thread *t);
/* The node: the next event, true if there was one. */
bool snapxfer_thread_next_event(struct snapxfer_thread *t, struct snapxfer_event *ev);
/* rx/tx's ends: it fills frames_in (snapxfer_msg_from_rx, reserve/push)
 * and drains frames_out (peek, snapxfer_msg_seal, send, pop). */
struct snapxfer_ring *snapxfer_thread_frames_in(struct snapxfer_thread *t);
struct snapxfer_ring *snapxfer_thread_frames_out(struct snapxfer_thread *t);

#ifdef __cplusplus
}
#endif

#endif /* RN_SNAPXFER_H */
