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

#define PREPARE_CHUNK_BYTES (1u << 20)

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
};

/* Helper thread: creates name (replacing any older file of that name), writes
 * bytes of zeros and makes them and the size durable. */
static int prepare_write(struct posix_prepare *p, const char *name, uint64_t bytes)
{
	int fd = openat(p->dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		return -errno;
	}
	int rc = 0;
	for (uint64_t off = 0; off < bytes && rc == 0;) {
		uint64_t chunk = rn_min_u64(PREPARE_CHUNK_BYTES, bytes - off);
		rc = posix_pwrite_all(fd, p->zeros, chunk, off, 0, 0);
		if (rc == 0 && sync_file_range(fd, (off_t)off, (off_t)chunk,
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
	if (rc == 0 && p->drop_cache) {
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
	p->zeros = calloc(1, PREPARE_CHUNK_BYTES);
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
	p->state = PREPARE_REQUESTED;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mutex);
	return 0;
}

int posix_prepare_poll(struct store_engine *e, bool wait, int *res_out)
{
	struct posix_prepare *p = ((struct posix_engine *)e)->prepare;
	RN_ASSERT(p != NULL);
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
