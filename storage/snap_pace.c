/* SPDX-License-Identifier: MIT */
/*
 * snap_pace.c - a snapshot file's writeback, a chunk at a time and paced
 * (snap_pace.h says why). Runs on the thread that writes the file (the
 * node's snapshot writer; start-up when seeding): it sleeps and blocks in
 * the kernel, never on an lcore.
 *
 * The pattern is the one of RocksDB's bytes_per_sync and etcd's
 * snapshotter, done with sync_file_range(2): each whole chunk behind the
 * write position is started (SYNC_FILE_RANGE_WRITE: asynchronous,
 * background-class writeback that the block layer's writeback throttling
 * keeps behind sync writes such as the log's), then the chunk before it is
 * waited for. So at most two chunks of this file are ever dirty or in
 * flight, whatever the file's size. A chunk's start also waits for the
 * rate (a leaky bucket without credit: a writer held up by the CPU does
 * not burst afterwards). Pages written back are dropped from the page
 * cache (POSIX_FADV_DONTNEED): a snapshot is read again only by a restart
 * or a follower's install, and 90 MB of clean cache per snapshot would
 * push out the pages the node does use.
 *
 * sync_file_range makes nothing durable (no metadata, no device cache
 * flush): the commit's fsync, rename and directory fsync stay what make a
 * snapshot durable (snapshot.c), with almost nothing left to write.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "snap_pace.h"
#include "storage.h"

uint64_t snap_pace_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void store_pace_init(struct store_pace *p, int fd, uint64_t sync_bytes, uint64_t bytes_per_s,
		     unsigned flags)
{
	RN_ASSERT(fd >= 0);
	RN_ASSERT((flags & ~STORE_PACE_KEEP_CACHE) == 0);
	*p = (struct store_pace){.fd = fd, .flags = flags, .sync_bytes = sync_bytes,
				 .bytes_per_s = bytes_per_s, .next_ns = snap_pace_now_ns()};
}

/* Sleeps until the rate lets `bytes` more start. */
static void pace_wait_rate(struct store_pace *p, uint64_t bytes)
{
	if (p->bytes_per_s == 0) {
		return;
	}
	uint64_t now_ns = snap_pace_now_ns();
	if (p->next_ns > now_ns) {
		struct timespec until = {.tv_sec = (time_t)(p->next_ns / 1000000000u),
					 .tv_nsec = (long)(p->next_ns % 1000000000u)};
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
		}
		p->slept_ns += p->next_ns - now_ns;
		now_ns = p->next_ns;
	}
	/* From now, not from the last mark: time the writer spent elsewhere
	 * is not credit for a burst. */
	p->next_ns = now_ns + bytes * 1000000000u / p->bytes_per_s;
}

/* A chunk of the file: start its writeback, or wait for it to be done. */
static int pace_range(struct store_pace *p, uint64_t from, uint64_t bytes, unsigned flags)
{
	if (sync_file_range(p->fd, (off64_t)from, (off64_t)bytes, flags) != 0) {
		return -errno;
	}
	return 0;
}

int store_pace_wrote(struct store_pace *p, uint64_t bytes)
{
	p->written_bytes += bytes;
	if (p->sync_bytes == 0) {
		return 0;
	}
	while (p->written_bytes - p->started_bytes >= p->sync_bytes) {
		pace_wait_rate(p, p->sync_bytes);
		int rc = pace_range(p, p->started_bytes, p->sync_bytes, SYNC_FILE_RANGE_WRITE);
		if (rc == -EINVAL || rc == -ENOSYS || rc == -EOPNOTSUPP) {
			/* A file system without it: the final fsync writes all,
			 * as before pacing. Not an error. */
			p->sync_bytes = 0;
			return 0;
		}
		if (rc != 0) {
			return rc;
		}
		p->started_bytes += p->sync_bytes;
		RN_ASSERT(p->started_bytes <= p->written_bytes);
		/* The chunk before this one: on the device before another is
		 * started, so at most two are in flight. */
		uint64_t wait_to = p->started_bytes - p->sync_bytes;
		if (wait_to > p->waited_bytes) {
			rc = pace_range(p, p->waited_bytes, wait_to - p->waited_bytes,
					SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
						SYNC_FILE_RANGE_WAIT_AFTER);
			if (rc != 0) {
				return rc;
			}
			/* Advice only: a failure changes nothing written. */
			if ((p->flags & STORE_PACE_KEEP_CACHE) == 0) {
				(void)posix_fadvise(p->fd, (off_t)p->waited_bytes,
						    (off_t)(wait_to - p->waited_bytes),
						    POSIX_FADV_DONTNEED);
			}
			p->waited_bytes = wait_to;
		}
	}
	return 0;
}

/* ---- deleting a large file a piece at a time ----------------------------- */

/*
 * Why: the data file system is mounted with `discard` (and a virtio disk
 * passes discards on): a file's blocks are discarded when the journal
 * commit that frees them ends, all at once. Measured under bench-snapshot-
 * p99 (block tracepoints): an 80 MB snapshot's or a segment's unlink
 * became one discard of 80 MB that took 12-37 ms, and the log's 4 KiB sync
 * writes issued meanwhile waited for it (p99 37 ms against 0.4 ms
 * otherwise). Cut from the end a step at a time, each step's blocks freed
 * by a commit of its own (fdatasync of the shrunk file), the discards are a
 * step each, with a pause between for the rate. The name goes first: a
 * crash half-way leaves no partial file under it (the kernel frees an
 * unlinked inode's blocks at close, or the file system at the next mount).
 * Errors after the unlink change nothing: the file is gone either way.
 *
 * A file someone else still has open (snapxfer's sender reads the snapshot
 * it offered from its descriptor until the transfer ends) is only
 * unlinked, as before: cutting it would fail that transfer. Whether anyone
 * has it open is asked the kernel with a write lease, which is granted
 * only to the sole opener, and given back at once (held, another open
 * would send this process a signal); a file system without leases gets the
 * plain unlink too.
 */
bool snap_sole_opener(int fd)
{
	/* An open between the two calls would break the lease with a
	 * signal, SIGIO by default, which kills: SIGURG's default ignores. */
	if (fcntl(fd, F_SETSIG, SIGURG) != 0 || fcntl(fd, F_SETLEASE, F_WRLCK) != 0) {
		return false;
	}
	(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	return true;
}

int store_unlink_paced(const char *path, uint64_t step_bytes, uint64_t bytes_per_s)
{
	RN_ASSERT(step_bytes > 0);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		return errno == ENOENT ? -ENOENT : (unlink(path) == 0 ? 0 : -errno);
	}
	struct stat st;
	uint64_t size_bytes = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	if (size_bytes > step_bytes && !snap_sole_opener(fd)) {
		size_bytes = 0; /* unlinked whole: its reader keeps it */
	}
	if (unlink(path) != 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	uint64_t pause_ns = bytes_per_s == 0 ? 0 : step_bytes * 1000000000u / bytes_per_s;
	while (size_bytes > step_bytes) {
		size_bytes = (size_bytes - 1) / step_bytes * step_bytes;
		if (ftruncate(fd, (off_t)size_bytes) != 0 || fdatasync(fd) != 0) {
			break;
		}
		struct timespec pause = {.tv_sec = (time_t)(pause_ns / 1000000000u),
					 .tv_nsec = (long)(pause_ns % 1000000000u)};
		while (pause_ns > 0 && nanosleep(&pause, &pause) != 0 && errno == EINTR) {
		}
	}
	close(fd);
	return 0;
}

/* ---- I/O priority ---------------------------------------------------------- */

/* The kernel's ioprio encoding (linux/ioprio.h, not in every libc). */
#define SNAP_IOPRIO_CLASS_SHIFT 13
#define SNAP_IOPRIO_CLASS_BE 2
#define SNAP_IOPRIO_CLASS_IDLE 3
#define SNAP_IOPRIO_WHO_PROCESS 1 /* with a thread id: that thread */

int store_thread_ioprio(enum store_ioprio prio)
{
	RN_ASSERT(prio == STORE_IOPRIO_DEFAULT || prio == STORE_IOPRIO_BE_LOW ||
		  prio == STORE_IOPRIO_IDLE);
	int value = prio == STORE_IOPRIO_IDLE	  ? SNAP_IOPRIO_CLASS_IDLE << SNAP_IOPRIO_CLASS_SHIFT
		    : prio == STORE_IOPRIO_BE_LOW ? SNAP_IOPRIO_CLASS_BE << SNAP_IOPRIO_CLASS_SHIFT | 7
						  : 0; /* class none */
	if (syscall(SYS_ioprio_set, SNAP_IOPRIO_WHO_PROCESS, (int)syscall(SYS_gettid), value) != 0) {
		return -errno;
	}
	return 0;
}
