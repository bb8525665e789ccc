/* SPDX-License-Identifier: MIT */
/*
 * engine_prepare.c - the segment preparer of the real-disk engines: one
 * helper thread per engine that writes the NEXT segment file, whole, with
 * zeros and makes it durable, while the log lcore keeps appending to the
 * current one.
 *
 * Why: an fallocate'd segment has *unwritten* extents on ext4 (and xfs), so
 * every group's fdatasync also converts the extents it touched and commits a
 * journal transaction: measured with fio, 4 KiB O_DSYNC writes p50 289 us
 * into a fallocate'd file against 169 us into a pre-written one. Into
 * written blocks a group's sync flushes data only. Writing 64 MiB of zeros
 * at roll time would put that write on the commit path, hence a thread that
 * does it ahead of need.
 *
 * Threads: the helper owns nothing but its own fd, its zero buffer (sized
 * at engine start) and the request slot below; it never touches the log,
 * the ring or the engine's files. The log lcore (prepare_submit /
 * prepare_poll) and the helper meet under one mutex, taken when a
 * preparation starts and ends - never per group: an unfinished one is seen
 * with one atomic load.
 *
 * Cost: the zeros are written in PREPARE_CHUNK_BYTES pieces, each flushed
 * with sync_file_range before the next one is dirtied, so at most one chunk
 * of zeros sits in the device queue ahead of a group's data (a whole 64 MiB
 * burst of dirty pages would make the log's fdatasyncs wait behind it).
 *
 * Pace: the zeros keep ahead of the log, not ahead of the disk. Written as
 * fast as the disk took them, a 64 MiB spare per node, and every node of a
 * cluster rolls at about the same index, saturated this VM's disk for about
 * a second after each roll: at 64,000 commits/s offered the commit p99 of
 * that second was 42 ms against 4-13 ms in the others (raftbench
 * --timeseries; the roll's time read off the segment files). So the helper
 * writes chunk k only once k's end is within PREPARE_HEAD_DIVISOR-th of the
 * segment plus PREPARE_PACE_RATIO times what the log has filled of the
 * active segment: the spare is whole when the active one is about half
 * full, and the zeros reach the disk at about twice the log's own rate
 * instead of all at once. The log thread passes its fill with every poll
 * (no lock: an atomic store) and wakes the helper (the mutex, once) only
 * when the allowance passes the point the helper waits for - at most once
 * per chunk, never per group. A poll that waits (a roll found the spare not
 * ready) lifts the pace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common.h"
#include "engine.h"

#define PREPARE_CHUNK_BYTES (256u << 10)
#define PREPARE_HEAD_DIVISOR 16u /* a 16th of the segment before the log fills any */
#define PREPARE_PACE_RATIO 2u	 /* zeros ahead at twice the log's fill */

enum prepare_state {
	PREPARE_IDLE,	   /* nothing asked, or the result was taken */
	PREPARE_REQUESTED, /* the helper has a file to write */
	PREPARE_DONE,	   /* result in rc, for prepare_poll */
};

struct posix_prepare {
	pthread_t thread;
	pthread_mutex_t mutex;
	pthread_cond_t cond; /* state or stop changed */
	enum prepare_state state;
	bool stop;
	char name[STORE_FILE_NAME_BYTES];
	uint64_t bytes;
	int rc;
	int dir_fd;	/* the engine's, borrowed (openat only) */
	uint8_t *zeros; /* PREPARE_CHUNK_BYTES */
	bool drop_cache; /* the engine writes groups with O_DIRECT */
	/* The pace (see the top): allowed_bytes, written by the log thread
	 * (atomic), how far the helper may write; need_bytes, written by the
	 * helper, the allowance it sleeps for (0: not sleeping), cleared by
	 * the log thread that wakes it. allowed_last is the log thread's own
	 * copy of what it stored. */
	uint64_t allowed_bytes;
	uint64_t need_bytes;
	uint64_t allowed_last;
};

/* Helper thread: waits until the log allows bytes [0, end) of the file (or
 * the engine stops). Returns false on stop. */
static bool prepare_pace(struct posix_prepare *p, uint64_t end)
{
	if (__atomic_load_n(&p->allowed_bytes, __ATOMIC_ACQUIRE) >= end) {
		return true;
	}
	pthread_mutex_lock(&p->mutex);
	/* need_bytes, then allowed_bytes again (sequentially consistent, as
	 * the log thread's store of allowed_bytes and then load of
	 * need_bytes): one of the two sees the other's write, so a raise of
	 * the allowance cannot pass unseen between the check and the wait. */
	while (!p->stop) {
		__atomic_store_n(&p->need_bytes, end, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&p->allowed_bytes, __ATOMIC_SEQ_CST) >= end) {
			break;
		}
		pthread_cond_wait(&p->cond, &p->mutex);
	}
	__atomic_store_n(&p->need_bytes, 0, __ATOMIC_RELAXED);
	bool go = !p->stop;
	pthread_mutex_unlock(&p->mutex);
	return go;
}

/* Log thread: the helper may write up to allowed; wakes it if it sleeps
 * for no more than that. */
static void prepare_allow(struct posix_prepare *p, uint64_t allowed)
{
	if (allowed <= p->allowed_last) {
		return;
	}
	p->allowed_last = allowed;
	__atomic_store_n(&p->allowed_bytes, allowed, __ATOMIC_SEQ_CST);
	uint64_t need = __atomic_load_n(&p->need_bytes, __ATOMIC_SEQ_CST);
	if (need != 0 && need <= allowed &&
	    __atomic_compare_exchange_n(&p->need_bytes, &need, 0, false, __ATOMIC_SEQ_CST,
					__ATOMIC_RELAXED)) {
		pthread_mutex_lock(&p->mutex);
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->mutex);
	}
}

/* Helper thread: creates name (replacing any older file of that name), writes
 * bytes of zeros and makes them and the size durable. */
static int prepare_write(struct posix_prepare *p, const char *name, uint64_t bytes)
{
	/* Where the engine writes groups with O_DIRECT, so do the zeros: no
	 * page cache to copy 64 MiB into per segment (the kernel's
	 * copy_folio_from_iter_atomic was 15-21 % of the nodes' CPU at
	 * 1,000 in flight with 1 KiB values, as many bytes of zeros as of
	 * log) and none to drop afterwards. Each chunk's pwrite returns once
	 * the device has it, so at most one chunk sits ahead of a group. */
	bool direct = p->drop_cache && bytes % STORE_DIRECT_ALIGN_BYTES == 0;
	int fd = openat(p->dir_fd, name,
			O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (direct ? O_DIRECT : 0), 0644);
	if (fd < 0) {
		return -errno;
	}
	int rc = 0;
	/* The segment's blocks claimed at once, before the paced zeros: the
	 * log checked the free space just before it asked (roll.c), and a
	 * disk that cannot hold the segment says ENOSPC now, not part-way
	 * after other files took the room (several nodes on one disk). The
	 * zeros then turn the unwritten extents into written ones (the point
	 * of the zeros: see the top). A file system without fallocate just
	 * gets the zeros. */
	if (fallocate(fd, 0, 0, (off_t)bytes) != 0 && errno != EOPNOTSUPP && errno != ENOSYS) {
		rc = -errno;
	}
	for (uint64_t off = 0; off < bytes && rc == 0;) {
		uint64_t chunk = rn_min_u64(PREPARE_CHUNK_BYTES, bytes - off);
		if (!prepare_pace(p, off + chunk)) {
			rc = -ECANCELED; /* engine closing */
			break;
		}
		rc = posix_pwrite_all(fd, p->zeros, chunk, off, 0,
				      direct ? STORE_DIRECT_ALIGN_BYTES : 0);
		if (rc == 0 && !direct && sync_file_range(fd, (off_t)off, (off_t)chunk,
					       SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
						       SYNC_FILE_RANGE_WAIT_AFTER) != 0) {
			rc = -errno;
		}
		off += chunk;
		pthread_mutex_lock(&p->mutex);
		if (p->stop) {
			rc = rc != 0 ? rc : -ECANCELED; /* engine closing */
		}
		pthread_mutex_unlock(&p->mutex);
	}
	/* fsync, not fdatasync: the size and the block map are metadata. */
	if (rc == 0 && fsync(fd) != 0) {
		rc = -errno;
	}
	/* With O_DIRECT group writes, the zeros' clean pages must leave the
	 * page cache: io_uring issues a direct write inline (IOCB_NOWAIT)
	 * only if no cached page overlaps it, else the write goes to an io-wq
	 * worker that invalidates them first, a wake-up per write. */
	if (rc == 0 && p->drop_cache && !direct) {
		rc = -posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	}
	close(fd);
	/* A preparation that failed (ENOSPC above all) must not keep the
	 * blocks it got: they are the disk's last free space, and the log
	 * prepares the file again from the start anyway. */
	if (rc != 0) {
		(void)unlinkat(p->dir_fd, name, 0);
	}
	return rc;
}

static void *prepare_main(void *arg)
{
	struct posix_prepare *p = arg;
	pthread_mutex_lock(&p->mutex);
	for (;;) {
		while (!p->stop && p->state != PREPARE_REQUESTED) {
			pthread_cond_wait(&p->cond, &p->mutex);
		}
		if (p->stop) {
			break;
		}
		char name[STORE_FILE_NAME_BYTES];
		memcpy(name, p->name, sizeof(name));
		uint64_t bytes = p->bytes;
		pthread_mutex_unlock(&p->mutex);
		int rc = prepare_write(p, name, bytes);
		pthread_mutex_lock(&p->mutex);
		p->rc = rc;
		__atomic_store_n(&p->state, PREPARE_DONE, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->mutex);
	return NULL;
}

int posix_prepare_start(struct posix_engine *pe)
{
	struct posix_prepare *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		return -ENOMEM;
	}
	/* Aligned for O_DIRECT writes (prepare_write). */
	p->zeros = aligned_alloc(STORE_DIRECT_ALIGN_BYTES, PREPARE_CHUNK_BYTES);
	if (p->zeros != NULL) {
		memset(p->zeros, 0, PREPARE_CHUNK_BYTES);
	}
	if (p->zeros == NULL) {
		free(p);
		return -ENOMEM;
	}
	p->dir_fd = pe->dir_fd;
	p->drop_cache = pe->direct;
	pthread_mutex_init(&p->mutex, NULL);
	pthread_cond_init(&p->cond, NULL);
	int rc = -pthread_create(&p->thread, NULL, prepare_main, p);
	if (rc != 0) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->mutex);
		free(p->zeros);
		free(p);
		return rc;
	}
	pe->prepare = p;
	return 0;
}

void posix_prepare_stop(struct posix_engine *pe)
{
	struct posix_prepare *p = pe->prepare;
	if (p == NULL) {
		return;
	}
	pthread_mutex_lock(&p->mutex);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mutex);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->mutex);
	free(p->zeros);
	free(p);
	pe->prepare = NULL;
}

int posix_prepare_submit(struct store_engine *e, const char *name, uint64_t bytes)
{
	struct posix_prepare *p = ((struct posix_engine *)e)->prepare;
	RN_ASSERT(p != NULL);
	RN_ASSERT(strlen(name) < sizeof(p->name));
	pthread_mutex_lock(&p->mutex);
	RN_ASSERT(p->state == PREPARE_IDLE); /* one preparation at a time */
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->bytes = bytes;
	p->rc = 0;
	/* The log is at the start of the segment this spare follows: a
	 * head start, then the pace (prepare_allow). */
	p->allowed_last = bytes / PREPARE_HEAD_DIVISOR;
	__atomic_store_n(&p->allowed_bytes, p->allowed_last, __ATOMIC_SEQ_CST);
	p->state = PREPARE_REQUESTED;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mutex);
	return 0;
}

int posix_prepare_poll(struct store_engine *e, bool wait, uint64_t active_fill_bytes,
		       int *res_out)
{
	struct posix_prepare *p = ((struct posix_engine *)e)->prepare;
	RN_ASSERT(p != NULL);
	/* A wait is a roll that needs the spare now: no pace. Else the
	 * head start plus twice the fill, saturating (a fill near 2^64
	 * cannot wrap to a small allowance). */
	uint64_t allowed = UINT64_MAX;
	if (!wait && active_fill_bytes <= (UINT64_MAX - p->bytes) / PREPARE_PACE_RATIO) {
		allowed = p->bytes / PREPARE_HEAD_DIVISOR + PREPARE_PACE_RATIO * active_fill_bytes;
	}
	prepare_allow(p, allowed);
	/* Fast path without the lock (store_poll asks every loop): the
	 * helper publishes DONE with a release store after writing rc. */
	if (!wait && __atomic_load_n(&p->state, __ATOMIC_ACQUIRE) != PREPARE_DONE) {
		return 0;
	}
	pthread_mutex_lock(&p->mutex);
	RN_ASSERT(p->state != PREPARE_IDLE); /* only with one submitted */
	while (wait && p->state != PREPARE_DONE) {
		pthread_cond_wait(&p->cond, &p->mutex);
	}
	int done = p->state == PREPARE_DONE;
	if (done) {
		*res_out = p->rc;
		p->state = PREPARE_IDLE;
	}
	pthread_mutex_unlock(&p->mutex);
	return done;
}

int posix_rename(struct store_engine *e, const char *from, const char *to)
{
	int dir_fd = ((struct posix_engine *)e)->dir_fd;
	return renameat(dir_fd, from, dir_fd, to) == 0 ? 0 : -errno;
}

int posix_space_free(struct store_engine *e, uint64_t *bytes_out)
{
	struct statvfs sv;
	if (fstatvfs(((struct posix_engine *)e)->dir_fd, &sv) != 0) {
		return -errno;
	}
	/* f_bavail, not f_bfree: ext4 keeps reserved blocks for root, which
	 * the log must not count on. A file system that counts no blocks at
	 * all (ramfs: f_blocks 0) has no limit to tell: unlimited. */
	*bytes_out = sv.f_blocks == 0 ? UINT64_MAX : (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	return 0;
}
