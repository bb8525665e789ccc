/* SPDX-License-Identifier: MIT */
/*
 * snapwbbench - what a snapshot file's writing does to the log's durable
 * writes on the same disk, per writeback mode, side by side in one run
 * (--help). Not a test: a measurement for scripts and the README.
 *
 * A probe thread stands in for the log: 4 KiB O_DIRECT RWF_DSYNC writes
 * into a pre-written file (as the log's segments are), one every
 * --probe-us, each one's service time recorded with when it was issued.
 * Writer threads (--writers, 3 as the three nodes of a cluster on one
 * disk) write snapshot files of --snap-mb through storage's own snapshot
 * writer (store_snap_*), all at once, round after round, each round in
 * the next mode of --modes, with --gap-ms of quiet in between. A probe is
 * classed by what the writers were doing when it was issued: nothing
 * (quiet), appending (write + paced writeback), or committing (the fsync,
 * rename, directory fsync and the older file's deletion). Modes: "off" (no
 * writeback before the fsync: the writer before pacing), or a rate in
 * MiB/s with --sync-kb chunks ("0": chunks, no rate limit).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "storage.h"

#define WB_MODES_MAX 16u
#define WB_WRITERS_MAX 8u
#define WB_PROBE_FILE_BYTES (64u << 20)

/* A commit's steps (store_snap_commit_times) after the appends. */
#define WB_PHASES 4
static const char *const wb_phase_names[WB_PHASES] = {"append", "fsync", "rename", "prune"};

struct wb_window {
	uint64_t start_ns, commit_ns, end_ns;
	struct store_snap_commit_times steps;
	int mode;
};

struct wb_probe {
	uint64_t at_ns;
	uint32_t took_us;
};

static struct {
	const char *dir;
	uint32_t snap_mb, writers, rounds, gap_ms, probe_us, sync_kb, stagger_ms;
	int mode_ioprio[WB_MODES_MAX];	   /* enum store_ioprio: suffix i (idle), b (BE 7) */
	int mode_stagger[WB_MODES_MAX];	   /* suffix s: writers --stagger-ms apart */
	int mode_delete[WB_MODES_MAX];	   /* suffix n: the older file deleted, not recycled */
	char mode_names[WB_MODES_MAX][16];
	int modes_count;
	int64_t modes_mib_s[WB_MODES_MAX]; /* -1: off */
	struct wb_window *windows;	   /* rounds x writers */
	struct wb_probe *probes;
	uint64_t probes_max, probes_count;
	int stop;
} g;

static uint64_t wb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *wb_probe_main(void *arg)
{
	int fd = *(int *)arg;
	void *buf = NULL;
	pthread_setname_np(pthread_self(), "wb-probe"); /* for perf and top */
	if (posix_memalign(&buf, 4096, 4096) != 0) {
		return NULL;
	}
	memset(buf, 0x5a, 4096);
	uint64_t next = wb_now_ns(), off = 0;
	while (!__atomic_load_n(&g.stop, __ATOMIC_ACQUIRE) && g.probes_count < g.probes_max) {
		uint64_t now = wb_now_ns();
		if (now < next) {
			usleep((useconds_t)((next - now) / 1000u));
			continue;
		}
		next = now + g.probe_us * 1000ull;
		struct iovec iov = {.iov_base = buf, .iov_len = 4096};
		uint64_t t0 = wb_now_ns();
		if (pwritev2(fd, &iov, 1, (off_t)off, RWF_DSYNC) != 4096) {
			perror("snapwbbench: probe write");
			exit(1);
		}
		uint64_t t1 = wb_now_ns();
		g.probes[g.probes_count++] = (struct wb_probe){t0, (uint32_t)((t1 - t0) / 1000u)};
		off = (off + 4096) % WB_PROBE_FILE_BYTES;
	}
	free(buf);
	return NULL;
}

struct wb_writer {
	uint32_t id;
	pthread_barrier_t *start;
	uint8_t *data; /* 1 MiB of pseudo-random bytes */
};

static void *wb_writer_main(void *arg)
{
	struct wb_writer *wr = arg;
	char dir[WB_MODES_MAX][512], err[512];
	raft_index base[WB_MODES_MAX];
	for (int m = 0; m < g.modes_count; m++) {
		snprintf(dir[m], sizeof(dir[m]), "%s/w%u-%s", g.dir, wr->id, g.mode_names[m]);
		if (mkdir(dir[m], 0755) != 0 && errno != EEXIST) {
			perror(dir[m]);
			exit(1);
		}
		/* Indexes on from the newest a run before left: a rename
		 * over an older file of the same name would free its blocks
		 * in the rename, which a node never does (its indexes grow). */
		raft_index newest[1] = {0};
		base[m] = store_snap_list(dir[m], newest, 1) == 1 ? newest[0] : 0;
	}
	pthread_setname_np(pthread_self(), "wb-writer");
	for (uint32_t r = 0; r < g.rounds; r++) {
		int mode = (int)(r % (uint32_t)g.modes_count);
		pthread_barrier_wait(wr->start);
		if (store_thread_ioprio((enum store_ioprio)g.mode_ioprio[mode]) != 0) {
			perror("snapwbbench: ioprio_set");
			exit(1);
		}
		/* --stagger-ms: the nodes' snapshot triggers apart, as a node-
		 * specific offset would put them. */
		if (g.mode_stagger[mode]) {
			usleep(wr->id * g.stagger_ms * 1000u);
		}
		struct wb_window *w = &g.windows[r * g.writers + wr->id];
		w->mode = mode;
		w->start_ns = wb_now_ns();
		struct store_snap_meta m = {.cluster_id = 1, .index = base[mode] + r + 1u, .term = 1};
		struct store_snap_writer *sw = NULL;
		if (store_snap_create(dir[mode], &m, &sw, err, sizeof(err)) != 0) {
			fprintf(stderr, "snapwbbench: %s\n", err);
			exit(1);
		}
		int64_t mib_s = g.modes_mib_s[mode];
		store_snap_pace(sw, mib_s < 0 ? 0 : g.sync_kb * 1024ull,
				mib_s <= 0 ? 0 : (uint64_t)mib_s << 20);
		store_snap_recycle(sw, !g.mode_delete[mode]);
		for (uint32_t i = 0; i < g.snap_mb; i++) {
			if (store_snap_append(sw, wr->data, 1u << 20) != 0) {
				fprintf(stderr, "snapwbbench: append failed\n");
				exit(1);
			}
		}
		w->commit_ns = wb_now_ns();
		store_snap_commit_times_to(sw, &w->steps);
		if (store_snap_commit(sw, err, sizeof(err)) != 0) {
			fprintf(stderr, "snapwbbench: %s\n", err);
			exit(1);
		}
		w->end_ns = wb_now_ns();
		pthread_barrier_wait(wr->start);
	}
	return NULL;
}

static int wb_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t wb_q(uint32_t *v, uint64_t n, double f)
{
	if (n == 0) {
		return 0;
	}
	qsort(v, n, sizeof(*v), wb_cmp_u32);
	uint64_t i = (uint64_t)(f * (double)n);
	return v[i < n ? i : n - 1];
}

/* The step of window w at t (0 appending .. 3 pruning). */
static int wb_phase(const struct wb_window *w, uint64_t t)
{
	if (t < w->commit_ns) {
		return 0;
	}
	if (w->steps.synced_ns == 0 || t < w->steps.synced_ns) {
		return 1;
	}
	return t < w->steps.renamed_ns ? 2 : 3;
}

/* Class of a probe issued at t: -1 quiet, else mode * WB_PHASES + the
 * latest step any writer was in. */
static int wb_class(uint64_t t)
{
	int cls = -1;
	for (uint64_t i = 0; i < (uint64_t)g.rounds * g.writers; i++) {
		const struct wb_window *w = &g.windows[i];
		if (t >= w->start_ns && t < w->end_ns) {
			int c = w->mode * WB_PHASES + wb_phase(w, t);
			cls = c > cls ? c : cls; /* any writer committing: committing */
		}
	}
	return cls;
}

/* Milliseconds window w spent in phase p. */
static uint32_t wb_phase_ms(const struct wb_window *w, int p)
{
	uint64_t b[WB_PHASES + 1] = {w->start_ns, w->commit_ns, w->steps.synced_ns,
				     w->steps.renamed_ns, w->end_ns};
	return b[p + 1] > b[p] ? (uint32_t)((b[p + 1] - b[p]) / 1000000u) : 0;
}

static void wb_report(void)
{
	uint32_t *v = malloc(g.probes_count * sizeof(*v));
	if (v == NULL) {
		return;
	}
	printf("%-22s %8s %8s %8s %8s %8s %10s\n", "class", "probes", "p50_us", "p99_us",
	       "p999_us", "max_us", "write_ms");
	for (int cls = -1; cls < g.modes_count * WB_PHASES; cls++) {
		uint64_t n = 0;
		for (uint64_t i = 0; i < g.probes_count; i++) {
			if (wb_class(g.probes[i].at_ns) == cls) {
				v[n++] = g.probes[i].took_us;
			}
		}
		/* The median time from a write's start to its end, per mode. */
		uint32_t ms[1024];
		uint64_t nm = 0;
		for (uint64_t i = 0; cls >= 0 && i < (uint64_t)g.rounds * g.writers && nm < 1024;
		     i++) {
			if (g.windows[i].mode == cls / WB_PHASES && g.windows[i].end_ns != 0) {
				ms[nm++] = wb_phase_ms(&g.windows[i], cls % WB_PHASES);
			}
		}
		char name[64];
		if (cls < 0) {
			snprintf(name, sizeof(name), "quiet");
		} else {
			snprintf(name, sizeof(name), "%s %s", g.mode_names[cls / WB_PHASES],
				 wb_phase_names[cls % WB_PHASES]);
		}
		uint32_t p50 = wb_q(v, n, 0.5), p99 = wb_q(v, n, 0.99), p999 = wb_q(v, n, 0.999);
		printf("%-22s %8" PRIu64 " %8u %8u %8u %8u %10u\n", name, n, p50, p99, p999,
		       n ? v[n - 1] : 0, wb_q(ms, nm, 0.5));
	}
	free(v);
}

static void wb_usage(FILE *f)
{
	fprintf(f, "usage: snapwbbench --dir DIR [--snap-mb 90] [--writers 3] [--rounds 12]\n"
		   "         [--gap-ms 1500] [--probe-us 1000] [--sync-kb 1024]\n"
		   "         [--modes off,0,128,64,32]  (MiB/s; off: all at the fsync)\n"
		   "         [--stagger-ms 2500]  (mode suffix s: writer i starts i x this late)\n"
		   "A mode's suffixes: i the writers at I/O priority idle, b best effort 7,\n"
		   "s staggered, n the older file deleted (not kept for the next one)\n"
		   "(e.g. --modes 64n,64,64i,64s). Each writer and mode has its own directory.\n"
		   "DIR on the disk under test (not tmpfs: O_DIRECT). Prints, per class of\n"
		   "probe (quiet; each mode appending; each mode committing), the latency of\n"
		   "4 KiB O_DIRECT RWF_DSYNC writes, and the median phase time.\n");
}

static int wb_parse(int argc, char **argv)
{
	g.snap_mb = 90, g.writers = 3, g.rounds = 12, g.gap_ms = 1500, g.probe_us = 1000;
	g.sync_kb = 1024, g.stagger_ms = 2500;
	const char *modes = "off,0,128,64,32";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0) {
			wb_usage(stdout);
			exit(0);
		}
		if (v == NULL) {
			return -1;
		}
		uint32_t x = (uint32_t)strtoul(v, NULL, 10);
		if (strcmp(a, "--dir") == 0) {
			g.dir = v;
		} else if (strcmp(a, "--snap-mb") == 0 && x > 0) {
			g.snap_mb = x;
		} else if (strcmp(a, "--writers") == 0 && x > 0 && x <= WB_WRITERS_MAX) {
			g.writers = x;
		} else if (strcmp(a, "--rounds") == 0 && x > 0) {
			g.rounds = x;
		} else if (strcmp(a, "--gap-ms") == 0) {
			g.gap_ms = x;
		} else if (strcmp(a, "--probe-us") == 0 && x >= 50) {
			g.probe_us = x;
		} else if (strcmp(a, "--sync-kb") == 0 && x >= 4) {
			g.sync_kb = x;
		} else if (strcmp(a, "--stagger-ms") == 0) {
			g.stagger_ms = x;
		} else if (strcmp(a, "--modes") == 0) {
			modes = v;
		} else {
			return -1;
		}
		i++;
	}
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", modes);
	for (char *s = strtok(buf, ","); s != NULL && g.modes_count < (int)WB_MODES_MAX;
	     s = strtok(NULL, ",")) {
		int m = g.modes_count++;
		snprintf(g.mode_names[m], sizeof(g.mode_names[m]), "%s", s);
		char *end = s;
		g.modes_mib_s[m] = strncmp(s, "off", 3) == 0 ? (end = s + 3, -1) : strtoll(s, &end, 10);
		for (; *end != '\0'; end++) {
			if (*end == 'i' || *end == 'b') {
				g.mode_ioprio[m] = *end == 'i' ? STORE_IOPRIO_IDLE : STORE_IOPRIO_BE_LOW;
			} else if (*end == 's') {
				g.mode_stagger[m] = 1;
			} else if (*end == 'n') {
				g.mode_delete[m] = 1;
			} else {
				return -1;
			}
		}
	}
	return g.dir == NULL || g.modes_count == 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (wb_parse(argc, argv) != 0) {
		wb_usage(stderr);
		return 2;
	}
	char path[512];
	/* The probe's file, written whole and synced first: the log's
	 * segments are pre-written (no extent conversion per write). */
	snprintf(path, sizeof(path), "%s/probe.seg", g.dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
	void *zeros = NULL;
	if (fd < 0 || posix_memalign(&zeros, 4096, 1u << 20) != 0) {
		perror(path);
		return 1;
	}
	memset(zeros, 0, 1u << 20);
	for (uint32_t i = 0; i < WB_PROBE_FILE_BYTES >> 20; i++) {
		if (pwrite(fd, zeros, 1u << 20, (off_t)i << 20) != 1 << 20) {
			perror(path);
			return 1;
		}
	}
	fsync(fd);
	free(zeros);
	uint8_t *data = malloc(1u << 20);
	g.windows = calloc((size_t)g.rounds * g.writers, sizeof(*g.windows));
	g.probes_max = 1u << 22;
	g.probes = malloc(g.probes_max * sizeof(*g.probes));
	if (data == NULL || g.windows == NULL || g.probes == NULL) {
		fprintf(stderr, "snapwbbench: out of memory\n");
		return 1;
	}
	uint64_t x = 88172645463325252ull;
	for (uint32_t i = 0; i < (1u << 20); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		data[i] = (uint8_t)x;
	}
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, g.writers + 1);
	struct wb_writer wr[WB_WRITERS_MAX];
	pthread_t pt, wt[WB_WRITERS_MAX];
	pthread_create(&pt, NULL, wb_probe_main, &fd);
	for (uint32_t i = 0; i < g.writers; i++) {
		wr[i] = (struct wb_writer){.id = i, .start = &start, .data = data};
		pthread_create(&wt[i], NULL, wb_writer_main, &wr[i]);
	}
	for (uint32_t r = 0; r < g.rounds; r++) {
		usleep(g.gap_ms * 1000u);
		pthread_barrier_wait(&start); /* go */
		pthread_barrier_wait(&start); /* all done */
	}
	usleep(g.gap_ms * 1000u);
	__atomic_store_n(&g.stop, 1, __ATOMIC_RELEASE);
	pthread_join(pt, NULL);
	for (uint32_t i = 0; i < g.writers; i++) {
		pthread_join(wt[i], NULL);
	}
	printf("snapwbbench: %u writers x %u MiB, %u rounds over modes, a probe every %u us, "
	       "%u KiB chunks, staggered writers %u ms apart\n", g.writers, g.snap_mb, g.rounds,
	       g.probe_us, g.sync_kb, g.stagger_ms);
	wb_report();
	close(fd);
	return 0;
}
