/* SPDX-License-Identifier: MIT */
/*
 * engine_uring.c - the io_uring engine (the production default).
 *
 * One ring per log (the log is owned by one lcore). Setup asks for
 * IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN: only one thread
 * submits (the first that does: the ring starts disabled, see
 * uring_submit_now), and completion work runs when we ask for events
 * instead of interrupting us at random; kernels before 6.1 reject the flags with
 * -EINVAL and we fall back to a plain ring, saying so.
 *
 * A group is one chain of SQEs. durability=fsync: for each file touched,
 * its writes then one IORING_FSYNC_DATASYNC, everything linked with
 * IOSQE_IO_LINK, so the sync runs only after the writes succeeded and one
 * io_uring_enter carries the whole group. durability=dsync: linked writes
 * with RWF_DSYNC. none: plain, unlinked writes. A short write breaks the link
 * (the rest of the chain completes with -ECANCELED); once every CQE of the
 * chain is in, the unwritten remainders and the cancelled syncs are
 * resubmitted as a new chain. Any other negative res is -errno and fails the
 * group: a failed fsync is never retried (after a failed fsync the page
 * cache may have dropped the dirty data, so a retry could "succeed" without
 * the data).
 *
 * user_data layout: bits 0..7 the op (URING_OP_*), bits 8..15 the extent
 * slot.
 *
 * Registered files and fixed buffers: a sparse table of URING_FILE_SLOTS
 * file slots is registered at setup, and every file the log opens gets a
 * slot (IOSQE_FIXED_FILE skips the fd table lookup and its reference count
 * per request); the two staging buffers are registered at open
 * (WRITE_FIXED skips pinning the pages per request). Either one falling
 * back to plain fds / plain writes is logged and shown in store_stats.
 *
 * This file: groups and reads (submit, reap, complete). The ring's setup,
 * the file table, the buffers and the ops table: engine_uring_setup.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common.h"
#include "engine.h"
#include "engine_uring_internal.h"

static uint64_t uring_user_data(unsigned op, uint32_t slot)
{
	return (uint64_t)op | ((uint64_t)slot << 8);
}

static bool uring_ends_run(const struct uring_engine *ue, uint32_t i)
{
	return i + 1 == ue->extents_count || ue->extents[i + 1].file != ue->extents[i].file;
}

/*
 * The ring is created disabled (IORING_SETUP_R_DISABLED) and enabled by the
 * first submission: with SINGLE_ISSUER the kernel then takes the thread
 * that submits as the ring's one issuer. The log is opened and recovered by
 * the daemon's main thread, but written by the log stage's lcore, which may
 * be another thread; registering files and buffers before that is allowed.
 */
static int uring_submit_now(struct uring_engine *ue)
{
	if (!ue->enabled) {
		/* liburing 2.3 declares io_uring_enable_rings() but its .so
		 * does not export it: the register call it wraps. */
		if (syscall(__NR_io_uring_register, ue->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS,
			    NULL, 0) < 0) {
			return -errno;
		}
		ue->enabled = true;
	}
	return io_uring_submit(&ue->ring);
}

static struct io_uring_sqe *uring_sqe(struct uring_engine *ue, uint64_t user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ue->ring);
	RN_ASSERT(sqe != NULL); /* one chain of <= 2 * STORE_GROUP_EXTENTS_MAX SQEs */
	io_uring_sqe_set_data64(sqe, user_data);
	ue->outstanding++;
	return sqe;
}

/* Points sqe at file: its registered slot if it has one. */
static void uring_sqe_file(struct uring_engine *ue, struct io_uring_sqe *sqe, int fd)
{
	if (fd < URING_FD_MAP_MAX && ue->fd_slot[fd] != 0) {
		sqe->fd = ue->fd_slot[fd] - 1;
		sqe->flags |= IOSQE_FIXED_FILE;
	}
}

/* Index of the registered buffer holding [p, p + bytes), or -1. */
static int uring_buffer_index(const struct uring_engine *ue, const uint8_t *p, uint32_t bytes)
{
	for (uint32_t i = 0; i < ue->buffers_count; i++) {
		const uint8_t *base = ue->buffers[i].iov_base;
		if (p >= base && p + bytes <= base + ue->buffers[i].iov_len) {
			return (int)i;
		}
	}
	return -1;
}

static struct io_uring_sqe *uring_prep_write(struct uring_engine *ue, uint32_t i)
{
	const struct store_extent *ext = &ue->extents[i];
	/* O_DIRECT: a short write that stopped inside a block is continued
	 * from the block's start (the same bytes again): the rest of a direct
	 * write must be aligned too. */
	uint32_t align = ue->posix.base.write_align_bytes;
	uint32_t from = align != 0 ? ue->done_bytes[i] & ~(align - 1) : ue->done_bytes[i];
	ue->from_bytes[i] = from;
	const uint8_t *p = (const uint8_t *)ext->buf + from;
	uint32_t bytes = ext->bytes - from;
	uint64_t offset = ext->file_offset + from;
	struct io_uring_sqe *sqe = uring_sqe(ue, uring_user_data(URING_OP_WRITE, i));
	int buf_index = uring_buffer_index(ue, p, bytes);
	int fd = posix_write_fd(&ue->posix, ext->file); /* the O_DIRECT twin, if any */
	if (buf_index >= 0) {
		io_uring_prep_write_fixed(sqe, fd, p, bytes, offset, buf_index);
	} else {
		io_uring_prep_write(sqe, fd, p, bytes, offset);
	}
	uring_sqe_file(ue, sqe, fd);
	return sqe;
}

/* Queues what is left of the group and submits it. */
static int uring_submit_chain(struct uring_engine *ue)
{
	/* fsync and dsync modes link the whole chain: a group that spans two
	 * segments must not have the second one's data durable while the
	 * first one's tail is not, or a crash would leave a gap that recovery
	 * has to refuse. */
	bool link = ue->durability != STORE_DURABILITY_NONE;
	struct io_uring_sqe *last = NULL;
	for (uint32_t i = 0; i < ue->extents_count; i++) {
		const struct store_extent *ext = &ue->extents[i];
		if (ue->done_bytes[i] < ext->bytes) {
			last = uring_prep_write(ue, i);
			if (ue->durability == STORE_DURABILITY_DSYNC) {
				last->rw_flags = RWF_DSYNC;
			}
			if (link) {
				last->flags |= IOSQE_IO_LINK;
			}
			if (ue->sqe_async) {
				last->flags |= IOSQE_ASYNC;
			}
		}
		if (ue->durability == STORE_DURABILITY_FSYNC && uring_ends_run(ue, i) &&
		    !ue->synced[i]) {
			int fd = posix_write_fd(&ue->posix, ext->file);
			last = uring_sqe(ue, uring_user_data(URING_OP_SYNC, i));
			io_uring_prep_fsync(last, fd, IORING_FSYNC_DATASYNC);
			uring_sqe_file(ue, last, fd);
			last->flags |= IOSQE_IO_LINK;
			if (ue->sqe_async) {
				last->flags |= IOSQE_ASYNC;
			}
		}
	}
	RN_ASSERT(last != NULL);
	last->flags &= (uint8_t)~IOSQE_IO_LINK; /* the chain ends here */
	int rc = uring_submit_now(ue);
	return rc < 0 ? rc : 0;
}

int uring_submit(struct store_engine *e, const struct store_extent *extents,
		 uint32_t count, enum store_durability durability)
{
	struct uring_engine *ue = (struct uring_engine *)e;
	RN_ASSERT(!ue->active);
	RN_ASSERT(count >= 1 && count <= STORE_GROUP_EXTENTS_MAX);
	memcpy(ue->extents, extents, count * sizeof(*extents));
	memset(ue->done_bytes, 0, sizeof(ue->done_bytes));
	for (uint32_t i = 0; i < count; i++) {
		/* Only fsync mode syncs separately. */
		ue->synced[i] = durability != STORE_DURABILITY_FSYNC;
	}
	ue->extents_count = count;
	ue->durability = durability;
	ue->outstanding = 0;
	ue->error = 0;
	ue->active = true;
	return uring_submit_chain(ue);
}

static void uring_read_complete(struct uring_engine *ue, int res)
{
	RN_ASSERT(ue->read_active && ue->read_outstanding);
	ue->read_outstanding = false;
	if (res < 0) {
		ue->read_error = res;
	} else if (res == 0) {
		ue->read_eof = true; /* end of file: a short read is the answer */
	} else {
		ue->read_done_bytes += (uint64_t)res;
		RN_ASSERT(ue->read_done_bytes <= ue->read_bytes);
	}
}

static void uring_complete(struct uring_engine *ue, const struct io_uring_cqe *cqe)
{
	unsigned op = (unsigned)(cqe->user_data & 0xffu);
	uint32_t slot = (uint32_t)((cqe->user_data >> 8) & 0xffu);
	if (op == URING_OP_READ) {
		uring_read_complete(ue, cqe->res);
		return;
	}
	RN_ASSERT(slot < ue->extents_count);
	RN_ASSERT(ue->outstanding > 0);
	ue->outstanding--;
	if (cqe->res == -ECANCELED) {
		return; /* a short write earlier in the chain: redone later */
	}
	if (cqe->res < 0) {
		if (ue->error == 0) {
			ue->error = cqe->res;
		}
		return;
	}
	if (op == URING_OP_SYNC) {
		ue->synced[slot] = true;
		return;
	}
	RN_ASSERT(op == URING_OP_WRITE);
	uint32_t done = ue->from_bytes[slot] + (uint32_t)cqe->res;
	RN_ASSERT(done <= ue->extents[slot].bytes);
	if (done <= ue->done_bytes[slot]) {
		if (ue->error == 0) {
			ue->error = -EIO; /* no progress: an error, not a retry loop */
		}
		return;
	}
	ue->done_bytes[slot] = done;
}

static bool uring_group_done(const struct uring_engine *ue)
{
	for (uint32_t i = 0; i < ue->extents_count; i++) {
		if (ue->done_bytes[i] < ue->extents[i].bytes || !ue->synced[i]) {
			return false;
		}
	}
	return true;
}

/* Processes every CQE available (after waiting for one, if wait); returns
 * how many, or -errno. CQEs of the group and of the read are both routed. */
static int uring_reap(struct uring_engine *ue, bool wait)
{
	struct io_uring_cqe *cqe = NULL;
	if (!wait && (ue->posix.base.uring_setup_flags & IORING_SETUP_TASKRUN_FLAG) &&
	    io_uring_cq_ready(&ue->ring) == 0 &&
	    (IO_URING_READ_ONCE(*ue->ring.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) == 0) {
		/* Nothing completed: the kernel raises the flag (before it
		 * signals the eventfd an event-idle lcore sleeps on) when a
		 * completion's task work is queued for us. No system call. */
		return 0;
	}
	int rc = wait ? io_uring_wait_cqe(&ue->ring, &cqe) : io_uring_get_events(&ue->ring);
	if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -ETIME) {
		return rc;
	}
	unsigned head, seen = 0;
	io_uring_for_each_cqe(&ue->ring, head, cqe) {
		uring_complete(ue, cqe);
		seen++;
	}
	io_uring_cq_advance(&ue->ring, seen);
	return (int)seen;
}

int uring_poll(struct store_engine *e, bool wait, int *res_out)
{
	struct uring_engine *ue = (struct uring_engine *)e;
	if (!ue->active) {
		return 0;
	}
	for (;;) {
		if (ue->outstanding == 0) {
			if (ue->error != 0 || uring_group_done(ue)) {
				ue->active = false;
				*res_out = ue->error;
				return 1;
			}
			int rc = uring_submit_chain(ue); /* short write: the rest */
			if (rc < 0) {
				ue->active = false;
				*res_out = rc;
				return 1;
			}
		}
		int seen = uring_reap(ue, wait);
		if (seen < 0) {
			return seen;
		}
		if (!wait && (seen == 0 || ue->outstanding > 0)) {
			return 0;
		}
	}
}

/* Queues (the rest of) the read and submits it. */
static int uring_read_queue(struct uring_engine *ue)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ue->ring);
	RN_ASSERT(sqe != NULL); /* the group chain leaves room for one read */
	io_uring_prep_read(sqe, ue->read_file, ue->read_buf + ue->read_done_bytes,
			   (unsigned)(ue->read_bytes - ue->read_done_bytes),
			   ue->read_offset + ue->read_done_bytes);
	uring_sqe_file(ue, sqe, ue->read_file);
	io_uring_sqe_set_data64(sqe, uring_user_data(URING_OP_READ, 0));
	ue->read_outstanding = true;
	int rc = uring_submit_now(ue);
	return rc < 0 ? rc : 0;
}

int uring_read_submit(struct store_engine *e, int file, uint64_t offset, void *buf,
		      uint64_t bytes)
{
	struct uring_engine *ue = (struct uring_engine *)e;
	RN_ASSERT(!ue->read_active);
	RN_ASSERT(bytes > 0 && bytes <= UINT32_MAX);
	ue->read_active = true;
	ue->read_file = file;
	ue->read_offset = offset;
	ue->read_buf = buf;
	ue->read_bytes = bytes;
	ue->read_done_bytes = 0;
	ue->read_error = 0;
	ue->read_eof = false;
	int rc = uring_read_queue(ue);
	if (rc < 0) {
		ue->read_active = false;
		ue->read_outstanding = false;
	}
	return rc;
}

int uring_read_poll(struct store_engine *e, bool wait, int64_t *res_out)
{
	struct uring_engine *ue = (struct uring_engine *)e;
	if (!ue->read_active) {
		return 0;
	}
	for (;;) {
		if (!ue->read_outstanding) {
			if (ue->read_error != 0 || ue->read_eof ||
			    ue->read_done_bytes == ue->read_bytes) {
				ue->read_active = false;
				*res_out = ue->read_error != 0 ? ue->read_error
							       : (int64_t)ue->read_done_bytes;
				return 1;
			}
			int rc = uring_read_queue(ue); /* short read: the rest */
			if (rc < 0) {
				ue->read_active = false;
				*res_out = rc;
				return 1;
			}
		}
		int seen = uring_reap(ue, wait);
		if (seen < 0) {
			return seen;
		}
		if (!wait && (seen == 0 || ue->read_outstanding)) {
			return 0;
		}
	}
}
