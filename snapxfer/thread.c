/* SPDX-License-Identifier: MIT */
/*
 * thread.c - snapxfer's thread: a plain pthread, off the hot lcores, that
 * runs the transfer engine and does its file I/O, so a leader's commit
 * path never waits on a snapshot read and a follower's never on a staging
 * write or a CRC over megabytes.
 *
 * It talks to the rest of the node through four SPSC rings (ring.c):
 * frames in and out with the rx/tx stage, commands in from control and
 * events out to it. Between inputs it sleeps in ppoll() on one eventfd,
 * until a producer rings it or the sender's next retransmit deadline: the
 * Dekker pattern of dp_doorbell (it says it may sleep, looks at every input
 * once more, then sleeps; a producer that pushes after that look sees the
 * flag and writes the eventfd). It never spins and never naps on a period.
 * A push on a full ring never happens: it takes input only while the rings
 * it answers into have room (back-pressure reaches rx/tx, which counts its
 * drops; the sender's window and timeouts recover).
 *
 * Files: a sender slot reads its snapshot with pread from a descriptor
 * opened on the offer; the receiver writes SNAPXFER_STAGING_NAME in the
 * staging directory with pwrite at the engine's offsets, reads it back for
 * the CRC32C, fsyncs it before it acks DONE and reports STAGED; the node
 * renames it and releases. A new transfer opens a fresh file (the old one
 * deleted first, a step at a time), never the descriptor of one already
 * handed over. The staging file's writeback is paced as the node's own
 * snapshots are (storage's store_pace, cfg.stage_write_bytes_per_s): as
 * the contiguous staged bytes pass each 1 MiB it is started, the one
 * before waited for, so the final fsync has little left and the log's
 * durable writes on the same disk do not queue behind a whole file. The
 * pages stay cached (STORE_PACE_KEEP_CACHE): the checksum and the node's
 * verify read the whole file back at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "snapxfer.h"
#include "storage.h"
#include "thread_internal.h"

#define THREAD_IN_BURST_MAX 32u  /* frames in per round: sends interleave */
#define THREAD_SEND_BURST_MAX 64u /* chunks per round */
#define THREAD_QUEUE_MAX 8u	  /* a chunk's actions plus a verdict's */

static uint64_t thread_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void thread_event_why(struct snapxfer_thread *t, uint8_t kind, uint8_t reason, int err,
			     raft_node_id peer, const struct dp_snap_id *id, const char *why)
{
	struct snapxfer_event *ev = snapxfer_ring_reserve(&t->events);
	RN_ASSERT(ev != NULL); /* input is taken only while events have room */
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->reason = reason;
	ev->err = err;
	ev->peer = peer;
	ev->id = *id;
	if (kind == SNAPXFER_EV_STAGED || kind == SNAPXFER_EV_REFUSED) {
		snprintf(ev->path, sizeof(ev->path), "%s", t->staging_path);
	}
	if (why != NULL) {
		snprintf(ev->why, sizeof(ev->why), "%s", why);
	}
	snapxfer_ring_push(&t->events);
}

static void thread_event(struct snapxfer_thread *t, uint8_t kind, uint8_t reason, int err,
			 raft_node_id peer, const struct dp_snap_id *id)
{
	thread_event_why(t, kind, reason, err, peer, id, NULL);
}

/* ---- Sending --------------------------------------------------------------- */

static int *thread_send_fd(struct snapxfer_thread *t, raft_node_id peer, bool add)
{
	for (uint32_t i = 0; i < SNAPXFER_PEERS_MAX; i++) {
		if (t->send_fd_peer[i] == peer) {
			return &t->send_fd[i];
		}
	}
	for (uint32_t i = 0; add && i < SNAPXFER_PEERS_MAX; i++) {
		if (t->send_fd_peer[i] == RAFT_NODE_NONE) {
			t->send_fd_peer[i] = peer;
			return &t->send_fd[i];
		}
	}
	return NULL;
}

static void thread_send_close(struct snapxfer_thread *t, raft_node_id peer)
{
	int *fd = thread_send_fd(t, peer, false);
	if (fd != NULL) {
		close(*fd);
		*fd = -1;
		t->send_fd_peer[fd - t->send_fd] = RAFT_NODE_NONE;
	}
}

static void thread_offer(struct snapxfer_thread *t, const struct snapxfer_thread_cmd *c,
			 uint64_t now_ns)
{
	thread_send_close(t, c->peer);
	int fd = open(c->path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int err = fd < 0 || fstat(fd, &st) != 0 ? -errno : 0;
	if (err == 0 && (uint64_t)st.st_size != c->id.total_bytes) {
		err = -EINVAL; /* not the file the id names */
	}
	if (err == 0) {
		err = snapxfer_send_start(&t->send, c->peer, c->term, &c->id, c->chunk_bytes, now_ns);
	}
	if (err != 0) {
		if (fd >= 0) {
			close(fd);
		}
		t->counters.read_errors++;
		thread_event(t, SNAPXFER_EV_SEND_FAILED, 0, err, c->peer, &c->id);
		return;
	}
	int *slot = thread_send_fd(t, c->peer, true);
	RN_ASSERT(slot != NULL); /* as many slots as the engine has peers */
	*slot = fd;
}

/* One SEND_CHUNK: the bytes read straight into the frames-out record. */
static void thread_send_chunk(struct snapxfer_thread *t, const struct snapxfer_action *a)
{
	struct snapxfer_msg *m = snapxfer_ring_reserve(&t->frames_out);
	RN_ASSERT(m != NULL); /* the engine was given the ring's room */
	int *fd = thread_send_fd(t, a->peer, false);
	RN_ASSERT(fd != NULL);
	size_t done = 0;
	while (done < a->bytes) {
		ssize_t n = pread(*fd, m->data + done, a->bytes - done, (off_t)(a->offset_bytes + done));
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO; /* short: the file shrank */
			t->counters.read_errors++;
			snapxfer_send_cancel(&t->send, a->peer);
			thread_send_close(t, a->peer);
			thread_event(t, SNAPXFER_EV_SEND_FAILED, 0, err, a->peer, &a->id);
			return;
		}
		done += (size_t)n;
	}
	m->type = DP_FRAME_SNAP_CHUNK;
	m->peer = a->peer;
	m->term = a->term;
	m->chunk = (struct dp_snap_chunk){.id = a->id, .offset_bytes = a->offset_bytes,
					  .data = m->data, .data_bytes = a->bytes};
	snapxfer_ring_push(&t->frames_out);
}

static uint32_t thread_send_pump(struct snapxfer_thread *t, uint64_t now_ns)
{
	struct snapxfer_action acts[THREAD_SEND_BURST_MAX];
	/* Every action may be a report (an event), every chunk needs a frame. */
	uint32_t room = (uint32_t)rn_min_u64(snapxfer_ring_free(&t->events), THREAD_SEND_BURST_MAX);
	uint32_t frames = snapxfer_ring_free(&t->frames_out);
	uint32_t n = snapxfer_send_poll(&t->send, now_ns, acts, room, frames);
	for (uint32_t i = 0; i < n; i++) {
		const struct snapxfer_action *a = &acts[i];
		if (a->kind == SNAPXFER_ACT_SEND_CHUNK) {
			/* A read error cancels the peer: its later chunks go. */
			if (snapxfer_send_find(&t->send, a->peer) != NULL) {
				thread_send_chunk(t, a);
			}
		} else {
			bool done = a->kind == SNAPXFER_ACT_SEND_DONE;
			thread_send_close(t, a->peer);
			thread_event(t, done ? SNAPXFER_EV_SENT : SNAPXFER_EV_SEND_FAILED,
				     done ? 0 : a->reason, 0, a->peer, &a->id);
		}
	}
	return n;
}

/* ---- Receiving ------------------------------------------------------------- */

/* Room for bytes_needed more in the staging file's file system beside
 * the reserve: 0, or -ENOSPC (counted) or -errno. One statvfs, once per
 * transfer (and per resume after a failure): never per chunk. */
static int thread_space_check(struct snapxfer_thread *t, uint64_t bytes_needed)
{
	char dir[SNAPXFER_PATH_BYTES_MAX];
	char why[SNAPXFER_WHY_BYTES];
	snprintf(dir, sizeof(dir), "%s", t->staging_path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
	}
	int rc = store_snap_space_check(dir, bytes_needed, t->cfg.space_reserve_bytes, why,
					sizeof(why));
	if (rc == -ENOSPC) {
		t->counters.space_refusals++;
	}
	return rc;
}

/* The staging file's pacing from its start (a new descriptor): the bytes
 * already staged are told again, their writeback started if not done. */
static void thread_stage_pace_init(struct snapxfer_thread *t)
{
	RN_ASSERT(t->staging_fd >= 0);
	store_pace_init(&t->stage_pace, t->staging_fd, STORE_SNAP_SYNC_BYTES_DEFAULT,
			t->cfg.stage_write_bytes_per_s, STORE_PACE_KEEP_CACHE);
	t->stage_paced_bytes = 0;
	t->stage_pace_err = 0;
}

/* After a write: the staged bytes' writeback, paced (thread.c's top). A
 * writeback error is kept for the COMPLETE's fsync to report: seen here,
 * that fsync would no longer see it on this descriptor. */
static void thread_stage_pace(struct snapxfer_thread *t)
{
	uint64_t staged = t->recv.staged_bytes; /* the engine's, on this thread */
	if (t->staging_fd >= 0 && staged > t->stage_paced_bytes) {
		int rc = store_pace_wrote(&t->stage_pace, staged - t->stage_paced_bytes);
		t->stage_paced_bytes = staged;
		t->stage_pace_err = t->stage_pace_err != 0 ? t->stage_pace_err : rc;
	}
}

static int thread_stage_reset(struct snapxfer_thread *t, const struct snapxfer_action *a)
{
	if (t->staging_fd >= 0) {
		close(t->staging_fd);
	}
	/* Deleted first (what it held goes either way: a fresh transfer), so
	 * its blocks count as free; then the whole file must fit. A step at
	 * a time: a truncation at once was one discard of the whole file. */
	(void)store_unlink_paced(t->staging_path, STORE_UNLINK_STEP_BYTES,
				 t->cfg.stage_write_bytes_per_s);
	t->staging_fd = open(t->staging_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (t->staging_fd >= 0) {
		thread_stage_pace_init(t);
	}
	int rc = t->staging_fd < 0 ? -errno : thread_space_check(t, a->id.total_bytes);
	if (rc != 0 && t->staging_fd >= 0) {
		close(t->staging_fd);
		t->staging_fd = -1; /* the next write checks again */
	}
	return rc;
}

static int thread_stage_write(struct snapxfer_thread *t, const struct snapxfer_action *a)
{
	size_t done = 0;
	if (t->staging_fd < 0) {
		/* The open or the space check at the transfer's start failed
		 * (no space, no inode): try again, keeping whatever it holds,
		 * once what is still to come fits. */
		int rc = thread_space_check(t, a->id.total_bytes - rn_min_u64(a->offset_bytes,
									      a->id.total_bytes));
		if (rc != 0) {
			return rc;
		}
		t->staging_fd = open(t->staging_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (t->staging_fd < 0) {
			return -errno;
		}
		thread_stage_pace_init(t);
	}
	while (done < a->bytes) {
		ssize_t n = pwrite(t->staging_fd, a->data + done, a->bytes - done,
				   (off_t)(a->offset_bytes + done));
		if (n < 0) {
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

/* CRC32C of the staged file's first total_bytes; its size in *file_bytes. */
static uint32_t thread_stage_crc(struct snapxfer_thread *t, uint64_t total_bytes,
				 uint64_t *file_bytes)
{
	struct stat st;
	uint32_t crc = 0;
	*file_bytes = 0;
	if (t->staging_fd < 0 || fstat(t->staging_fd, &st) != 0) {
		t->counters.verify_read_errors++;
		return 0;
	}
	*file_bytes = (uint64_t)st.st_size;
	for (uint64_t at = 0; at < total_bytes;) {
		size_t want = (size_t)rn_min_u64(t->cfg.io_buf_bytes, total_bytes - at);
		ssize_t n = pread(t->staging_fd, t->io_buf, want, (off_t)at);
		if (n <= 0) {
			t->counters.verify_read_errors++;
			*file_bytes = at; /* reads as a size mismatch: a restart */
			return 0;
		}
		crc = store_crc32c(crc, t->io_buf, (size_t)n);
		at += (uint64_t)n;
	}
	return crc;
}

/* The node's check of the whole staged file (cfg.verify): 0, or its
 * error after the REFUSED event that says why. Here, on this thread, so
 * that a read of the whole file never runs on control's lcore. */
static int thread_stage_verify(struct snapxfer_thread *t, const struct dp_snap_id *id)
{
	if (t->cfg.verify == NULL) {
		return 0;
	}
	char why[SNAPXFER_WHY_BYTES] = "";
	int rc = t->cfg.verify(t->cfg.verify_arg, t->staging_path, id, why, sizeof(why));
	if (rc == 0) {
		return 0;
	}
	RN_ASSERT(rc < 0);
	t->counters.verify_refused++;
	thread_event_why(t, SNAPXFER_EV_REFUSED, 0, rc, RAFT_NODE_NONE, id, why);
	return rc == -ENOSPC || rc == -EDQUOT ? -EIO : rc; /* answered REFUSE_IO */
}

/* Performs a chunk's actions in order, and those a verdict adds (a queue:
 * a verify's result, a failed write's refusal). */
static void thread_recv_actions(struct snapxfer_thread *t, struct snapxfer_action *q, uint32_t qn)
{
	for (uint32_t i = 0; i < qn; i++) {
		const struct snapxfer_action *a = &q[i];
		int err = 0;
		switch (a->kind) {
		case SNAPXFER_ACT_STAGE_RESET: err = thread_stage_reset(t, a); break;
		case SNAPXFER_ACT_STAGE_WRITE:
			/* A chunk is one write: after it, all of [0, staged). */
			err = thread_stage_write(t, a);
			if (err == 0) {
				thread_stage_pace(t);
			}
			break;
		case SNAPXFER_ACT_STAGE_VERIFY: {
			uint64_t file_bytes = 0;
			uint32_t crc = thread_stage_crc(t, a->id.total_bytes, &file_bytes);
			RN_ASSERT(qn + 2 <= THREAD_QUEUE_MAX); /* a verdict is two actions */
			qn += snapxfer_recv_verified(&t->recv, &a->id, file_bytes, crc, q + qn);
			break;
		}
		case SNAPXFER_ACT_STAGE_COMPLETE:
			err = t->stage_pace_err != 0 ? t->stage_pace_err : 0;
			err = err == 0 && fsync(t->staging_fd) != 0 ? -errno : err;
			if (err == 0) {
				err = thread_stage_verify(t, &a->id);
			}
			if (err == 0) {
				thread_event(t, SNAPXFER_EV_STAGED, 0, 0, RAFT_NODE_NONE, &a->id);
			}
			break;
		case SNAPXFER_ACT_SEND_ACK: {
			struct snapxfer_msg *m = snapxfer_ring_reserve(&t->frames_out);
			if (m == NULL) {
				t->counters.acks_dropped++; /* acks repeat: the sender recovers */
				break;
			}
			m->type = DP_FRAME_SNAP_ACK;
			m->peer = a->peer;
			m->term = a->term;
			m->ack = a->ack;
			snapxfer_ring_push(&t->frames_out);
			break;
		}
		default: RN_ASSERT(0 && "not a receiver action");
		}
		if (err != 0) {
			/* The rest of the batch is void; the engine says what to answer. */
			t->counters.write_errors++;
			uint64_t offset = a->kind == SNAPXFER_ACT_STAGE_WRITE ? a->offset_bytes : 0;
			qn = i + 1;
			qn += snapxfer_recv_write_failed(&t->recv, offset, err, q + qn);
		}
		RN_ASSERT(qn <= THREAD_QUEUE_MAX);
	}
}

static uint32_t thread_frames_in(struct snapxfer_thread *t, uint64_t now_ns)
{
	uint32_t n = 0;
	struct snapxfer_msg *m;
	/* A chunk may answer with two acks (progress, then DONE) and one event. */
	while (n < THREAD_IN_BURST_MAX && snapxfer_ring_free(&t->frames_out) >= 2 &&
	       snapxfer_ring_free(&t->events) >= 1 && (m = snapxfer_ring_peek(&t->frames_in)) != NULL) {
		if (m->type == DP_FRAME_SNAP_CHUNK) {
			struct snapxfer_action q[THREAD_QUEUE_MAX];
			m->chunk.data = m->data;
			uint32_t qn = snapxfer_recv_chunk(&t->recv, m->peer, m->term, &m->chunk, q);
			thread_recv_actions(t, q, qn);
		} else if (m->type == DP_FRAME_SNAP_ACK) {
			snapxfer_send_on_ack(&t->send, m->peer, m->term, &m->ack, now_ns);
		} else {
			t->counters.frames_ignored++;
		}
		snapxfer_ring_pop(&t->frames_in);
		n++;
	}
	return n;
}

static uint32_t thread_commands(struct snapxfer_thread *t, uint64_t now_ns)
{
	uint32_t n = 0;
	struct snapxfer_thread_cmd *c;
	while (snapxfer_ring_free(&t->events) >= 1 && (c = snapxfer_ring_peek(&t->cmds)) != NULL) {
		if (c->kind == SNAPXFER_CMD_OFFER) {
			thread_offer(t, c, now_ns);
		} else if (c->kind == SNAPXFER_CMD_CANCEL) {
			snapxfer_send_cancel(&t->send, c->peer);
			thread_send_close(t, c->peer);
		} else {
			RN_ASSERT(c->kind == SNAPXFER_CMD_RELEASE);
			snapxfer_recv_release(&t->recv);
			if (t->recv.state == SNAPXFER_RECV_IDLE && t->staging_fd >= 0) {
				close(t->staging_fd);
				t->staging_fd = -1;
			}
		}
		snapxfer_ring_pop(&t->cmds);
		n++;
	}
	return n;
}

/* ---- The loop ---------------------------------------------------------------- */

static void thread_sleep(struct snapxfer_thread *t, uint64_t now_ns)
{
	uint64_t deadline_ns = snapxfer_send_deadline_ns(&t->send);
	if (deadline_ns <= now_ns &&
	    (snapxfer_ring_free(&t->frames_out) == 0 || snapxfer_ring_free(&t->events) == 0)) {
		/* Due now (a report) and no room to say it: a timeout of 0
		 * would spin; the pop that makes room wakes the thread. (A
		 * future deadline still runs: timeouts, and a give-up, go on
		 * while rx/tx does not drain frames out.) */
		deadline_ns = UINT64_MAX;
	}
	struct timespec ts;
	struct timespec *timeout = NULL;
	if (deadline_ns != UINT64_MAX) {
		uint64_t wait_ns = deadline_ns > now_ns ? deadline_ns - now_ns : 0;
		ts.tv_sec = (time_t)(wait_ns / 1000000000ull);
		ts.tv_nsec = (long)(wait_ns % 1000000000ull);
		timeout = &ts;
	}
	struct pollfd pfd = {.fd = t->wake_fd, .events = POLLIN};
	if (ppoll(&pfd, 1, timeout, NULL) > 0) {
		uint64_t count;
		ssize_t rc = read(t->wake_fd, &count, sizeof(count));
		(void)rc; /* EAGAIN: a racing read took it */
		t->counters.wakeups++;
	}
}

void *snapxfer_thread_main(void *arg)
{
	struct snapxfer_thread *t = arg;
	bool armed = false;
	while (__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE) == 0) {
		uint64_t now_ns = thread_now_ns();
		uint32_t work = thread_commands(t, now_ns);
		work += thread_frames_in(t, now_ns);
		work += thread_send_pump(t, now_ns);
		if (work > 0) {
			if (armed) {
				__atomic_store_n(&t->sleeping, 0, __ATOMIC_RELEASE);
				armed = false;
			}
			continue;
		}
		if (!armed) {
			/* Say it may sleep, then look at every input once more. */
			__atomic_store_n(&t->sleeping, 1, __ATOMIC_RELAXED);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			armed = true;
			continue;
		}
		thread_sleep(t, now_ns);
		__atomic_store_n(&t->sleeping, 0, __ATOMIC_RELEASE);
		armed = false;
	}
	return NULL;
}
