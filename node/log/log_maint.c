/* SPDX-License-Identifier: MIT */
/*
 * log_maint.c - the log stage's maintenance thread: the segment files a
 * compaction took out of the log are deleted and the directory synced
 * here, off the log lcore. stage: log (node_log_maint_hand and _poll run
 * on the log stage's lcore; maint_main on its own pthread).
 *
 * Why: an unlink of a 64 MiB preallocated segment frees its extents in
 * the kernel (milliseconds on ext4), and the directory sync after it waits
 * for the journal; inline, both stalled every append behind them, on the
 * commit path, once per snapshot. The log stage keeps what must be in
 * order with its appends: the compaction point written durably to the
 * state file and the segments closed and taken out of the log
 * (store_compact_detach). From then on the files are nobody's: recovery
 * deletes any that a crash leaves (wholly below the durable point), so the
 * deletions may come any time later, in any order.
 *
 * One job at a time: the log stage hands over a list of segments and looks
 * at one atomic flag per poll while it runs; the next compaction waits for
 * it. Niced below the lcores, as the snapshot writer is (a CPU shared with
 * them is theirs first; a late deletion only keeps disk space a while).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "log_maint.h"

static uint64_t maint_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A segment's blocks are freed a step at a time (store_unlink_paced: one
 * 64 MiB discard held the log's own sync writes up to 37 ms), at this rate:
 * a 64 MiB segment in half a second, on this niced thread. */
#define MAINT_DELETE_BYTES_PER_S (128u << 20)

/* One job: unlink each segment, then sync the directory. 0 or -errno
 * (errmsg: which file). A file already gone (ENOENT) changes nothing for
 * the log: it is not counted as a failure. */
static int maint_job(struct node_log_maint *m)
{
	for (uint32_t i = 0; i < m->count; i++) {
		char name[64];
		char path[sizeof(m->dir) + sizeof(name) + 1];
		store_segment_file_name(m->firsts[i], name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", m->dir, name);
		int rc = store_unlink_paced(path, STORE_UNLINK_STEP_BYTES, MAINT_DELETE_BYTES_PER_S);
		if (rc != 0 && rc != -ENOENT) {
			snprintf(m->errmsg, sizeof(m->errmsg), "%s: unlink: %s", path, strerror(-rc));
			return rc;
		}
		if (i == 0) {
			store_crash_point("compact-segment");
		}
	}
	store_crash_point("compact-unlinked");
	int dfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = dfd < 0 || fsync(dfd) != 0 ? -errno : 0;
	if (dfd >= 0) {
		close(dfd);
	}
	if (rc != 0) {
		snprintf(m->errmsg, sizeof(m->errmsg), "%s: sync directory: %s", m->dir,
			 strerror(-rc));
	}
	return rc;
}

static void *maint_main(void *arg)
{
	struct node_log_maint *m = arg;
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0) {
		fprintf(stderr, "raftnode %u: the log's maintenance thread runs at the lcores' "
			"priority (setpriority: %s)\n", m->self, strerror(errno));
	}
	for (;;) {
		while (sem_wait(&m->go) != 0) {
			RN_ASSERT(errno == EINTR);
		}
		if (__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE)) {
			break;
		}
		uint64_t t0 = maint_now_us();
		m->rc = maint_job(m);
		__atomic_store_n(&m->last_job_us, maint_now_us() - t0, __ATOMIC_RELAXED);
		__atomic_store_n(&m->done, 1, __ATOMIC_RELEASE); /* after rc and errmsg */
	}
	return NULL;
}

int node_log_maint_start(struct node_log_maint *m, const char *dir, raft_node_id self)
{
	memset(m, 0, sizeof(*m));
	if ((size_t)snprintf(m->dir, sizeof(m->dir), "%s", dir) >= sizeof(m->dir)) {
		return -ENAMETOOLONG;
	}
	m->self = self;
	if (sem_init(&m->go, 0, 0) != 0) {
		return -errno;
	}
	int rc = pthread_create(&m->thread, NULL, maint_main, m);
	if (rc != 0) {
		sem_destroy(&m->go);
		return -rc;
	}
	m->started = true;
	return 0;
}

void node_log_maint_stop(struct node_log_maint *m)
{
	if (!m->started) {
		return;
	}
	/* A job in progress finishes (the thread looks at stop between
	 * jobs); one never run leaves files that the next open deletes. */
	__atomic_store_n(&m->stop, 1, __ATOMIC_RELEASE);
	sem_post(&m->go);
	pthread_join(m->thread, NULL);
	sem_destroy(&m->go);
	m->started = false;
}

raft_index *node_log_maint_slots(struct node_log_maint *m)
{
	RN_ASSERT(!m->busy); /* the thread reads them while busy */
	return m->firsts;
}

void node_log_maint_hand(struct node_log_maint *m, uint32_t count)
{
	RN_ASSERT(m->started);
	RN_ASSERT(!m->busy);
	RN_ASSERT(count > 0 && count <= NODE_LOG_MAINT_SEGMENTS_MAX);
	m->count = count;
	m->busy = true;
	__atomic_store_n(&m->done, 0, __ATOMIC_RELAXED);
	m->jobs_count++;
	m->files_count += count;
	sem_post(&m->go); /* release: the thread sees firsts and count */
}

int node_log_maint_poll(struct node_log_maint *m, char *errmsg, size_t errmsg_bytes)
{
	if (!m->busy) {
		return 0;
	}
	if (!__atomic_load_n(&m->done, __ATOMIC_ACQUIRE)) {
		return 1;
	}
	m->busy = false;
	if (m->rc != 0) {
		snprintf(errmsg, errmsg_bytes, "%s", m->errmsg);
		return m->rc;
	}
	return 0;
}
