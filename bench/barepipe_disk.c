/* SPDX-License-Identifier: MIT */
/*
 * barepipe_disk.c - `barepipe disk`: what the disk gives the writes of a
 * commit. The floor's fio job runs its writers free: each starts its next
 * write when its last returns, so their writes meet the disk at whatever
 * phase they drift to. A commit at one in flight starts its three writes
 * (leader and followers) within microseconds of each other, every time.
 * Both shapes here, same writes (4 KiB, each writer its own pre-written
 * file, the pipeline's --write mode, psync at queue depth 1): free, as
 * fio, and lockstep, every writer released at once by a process-shared
 * barrier before each write. The time is taken around each pwrite only,
 * so the barrier's own wake-ups are not in it. One process per writer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "barepipe.h"

#define BP_DISK_WRITERS_MAX 16

struct bp_disk_shared {
	pthread_barrier_t round;
	volatile int stop;
	struct bp_stats st[BP_DISK_WRITERS_MAX];
};

static int bp_disk_writer(const struct bp_config *cfg, struct bp_disk_shared *sh, unsigned w,
			  int lockstep)
{
	char name[16];
	snprintf(name, sizeof(name), "disk%u", w);
	struct bp_stats *st = &sh->st[w];
	int fd = bp_file_open(cfg, name);
	void *buf = bp_buf_alloc(BP_BLOCK_BYTES);
	if (fd < 0 || buf == NULL) {
		sh->stop = 1; /* before the barrier: every writer sees it after */
	}
	/* Every writer passes this one, ready or not, so none waits forever. */
	pthread_barrier_wait(&sh->round);
	if (sh->stop) {
		if (fd >= 0) {
			close(fd);
		}
		free(buf);
		return fd < 0 || buf == NULL ? -1 : 0;
	}
	uint64_t warm_end_ns = bp_now_ns() + (uint64_t)(cfg->warmup_s * 1e9);
	uint64_t end_ns = warm_end_ns + (uint64_t)(cfg->duration_s * 1e9);
	uint64_t off = 0;
	int warm = 1, rc = 0;
	for (;;) {
		if (lockstep) {
			/* stop is set before its setter enters this barrier, so
			 * all writers see the same value after it: none is left
			 * waiting in a round the others skipped. */
			pthread_barrier_wait(&sh->round);
		}
		if (sh->stop) {
			break;
		}
		if (bp_write(cfg, fd, buf, BP_BLOCK_BYTES, &off, st) != 0) {
			rc = -1;
			sh->stop = 1;
		}
		uint64_t now_ns = bp_now_ns();
		if (warm && now_ns >= warm_end_ns) {
			bench_hist_reset(&st->write_ns);
			st->writes = 0;
			warm = 0;
		}
		if (now_ns >= end_ns) {
			sh->stop = 1;
		}
	}
	close(fd);
	free(buf);
	return rc;
}

int bp_disk(const struct bp_config *cfg)
{
	unsigned writers = cfg->disk_writers;
	int lockstep = cfg->disk_lockstep;
	if (writers < 1 || writers > BP_DISK_WRITERS_MAX) {
		fprintf(stderr, "barepipe: disk: --writers 1..%d\n", BP_DISK_WRITERS_MAX);
		return 2;
	}
	struct bp_disk_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_barrierattr_t ba;
	if (sh == MAP_FAILED || pthread_barrierattr_init(&ba) != 0 ||
	    pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_barrier_init(&sh->round, &ba, writers) != 0) {
		fprintf(stderr, "barepipe: disk: shared barrier: %s\n", strerror(errno));
		return 1;
	}
	pid_t pids[BP_DISK_WRITERS_MAX];
	int rc = 0;
	for (unsigned w = 0; w < writers; w++) {
		pids[w] = fork();
		if (pids[w] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			_exit(bp_disk_writer(cfg, sh, w, lockstep) == 0 ? 0 : 1);
		}
		if (pids[w] < 0) {
			/* The barrier counts on every writer: none can run. */
			fprintf(stderr, "barepipe: disk: fork: %s\n", strerror(errno));
			for (unsigned k = 0; k < w; k++) {
				kill(pids[k], SIGKILL);
			}
			return 1;
		}
	}
	struct bench_hist *all = calloc(1, sizeof(*all));
	for (unsigned w = 0; w < writers; w++) {
		int status;
		if (waitpid(pids[w], &status, 0) != pids[w] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			rc = 1;
		}
		if (all != NULL) {
			bench_hist_merge(all, &sh->st[w].write_ns);
		}
	}
	if (rc == 0 && all != NULL) {
		printf("{\"tool\":\"barepipe\",\"mode\":\"disk\",\"writers\":%u,\"lockstep\":%s,"
		       "\"write\":\"%s\",\"duration_s\":%.1f,\"writes\":%llu,\"write_us_p50\":%.1f,"
		       "\"write_us_p90\":%.1f,\"write_us_p99\":%.1f,\"write_us_p999\":%.1f,"
		       "\"write_us_max\":%.1f,\"sched_slice_us\":%u}\n",
		       writers, lockstep ? "true" : "false",
		       cfg->write_mode == BP_WRITE_DIRECT ? "direct" : "dsync", cfg->duration_s,
		       (unsigned long long)all->total, (double)bench_hist_percentile(all, 0.5) / 1e3,
		       (double)bench_hist_percentile(all, 0.9) / 1e3,
		       (double)bench_hist_percentile(all, 0.99) / 1e3,
		       (double)bench_hist_percentile(all, 0.999) / 1e3,
		       (double)bench_hist_percentile(all, 1.0) / 1e3, cfg->slice_us);
	}
	free(all);
	pthread_barrier_destroy(&sh->round);
	munmap(sh, sizeof(*sh));
	return rc == 0 && all != NULL ? 0 : 1;
}
