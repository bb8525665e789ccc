/* SPDX-License-Identifier: MIT */
/*
 * storebench - measures the durable log: entries appended by closed-loop
 * writers (each keeps one entry outstanding and proposes the next as soon
 * as the previous one is durable) or arriving open-loop at a fixed --rate
 * (latency counted from the intended arrival time, so a stall is not
 * hidden: no coordinated omission). Reports durable entries/s, MiB/s,
 * append-to-durable latency p50/p99/p99.9 and the mean group size (entries
 * per sync), as text or --json. One thread, one log: what one log lcore
 * does. A benchmark, not a test: compare engines in the same run
 * (scripts/bench-storage.sh).
 *
 * --baseline dsync|direct (one closed-loop writer): the floor measured in
 * the same process, interleaved with the log in slices of BASELINE_SLICE
 * writes: plain 4 KiB-block pwritev2(RWF_DSYNC) writes (as fio --sync=dsync
 * does; direct: through an O_DIRECT fd) into a pre-written file beside the
 * log. On a shared disk whose speed changes by 50x within seconds, only
 * slices that close together compare; the ratio of the two p50s is the
 * figure (fio in another run is only a reference).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "hist.h"
#include "storage.h"
#include "storebench_opts.h"

/* Append-to-durable latency in nanoseconds, in the shared histogram
 * (bench/hist.h: each percentile within 0.4 %). */
static double hist_percentile_us(const struct bench_hist *h, double q)
{
	return (double)bench_hist_percentile(h, q) / 1000.0;
}

#define BASELINE_SLICE 50u		/* writes of one side before the other's turn */
#define BASELINE_FILE_BYTES (16u << 20) /* pre-written, overwritten round and round */
#define BASELINE_BLOCK_BYTES 4096u

/* Outstanding entries in index order: (append time). Sized at start. */
struct bench {
	struct opts o;
	struct store_log *log;
	uint8_t *payload;
	struct store_entry *batch; /* [writers] */
	uint64_t *sent_ns;	   /* ring, by index % ring_count */
	uint64_t ring_count;
	raft_index next_index;	 /* next to append */
	raft_index done_index;	 /* durable so far */
	uint32_t pending_writers; /* closed loop: writers to re-propose */
	uint64_t end_ns;
	uint64_t done_count; /* durable before end_ns */
	uint64_t done_bytes;
	struct bench_hist hist;
	/* --baseline: the plain writes' file, buffer, latencies, and the time
	 * spent on them (not the log's). */
	int base_fd;
	void *base_buf;
	uint64_t base_bytes; /* per write: the log's record, in whole blocks */
	uint64_t base_offset;
	uint64_t base_ns;
	uint64_t base_count;
	uint64_t slice_done; /* log completions since the last baseline slice */
	struct bench_hist base_hist;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_durable(void *user, raft_index index, raft_term term)
{
	struct bench *b = user;
	(void)term;
	uint64_t t = now_ns();
	for (raft_index i = b->done_index + 1; i <= index; i++) {
		if (t <= b->end_ns) {
			uint64_t lat = t - b->sent_ns[i % b->ring_count];
			bench_hist_record(&b->hist, lat);
			b->done_count++;
			b->slice_done++;
			b->done_bytes += b->o.entry_bytes;
		}
		if (b->o.rate_per_s == 0) {
			b->pending_writers++;
		}
	}
	b->done_index = index;
}

/* Appends n entries stamped t_ns; returns 0 or -STORE_E_BUSY. */
static int bench_append(struct bench *b, uint32_t n, uint64_t t_ns)
{
	for (uint32_t i = 0; i < n; i++) {
		b->batch[i] = (struct store_entry){.index = b->next_index + i, .term = 1,
						   .payload = b->payload,
						   .payload_bytes = b->o.entry_bytes, .type = 1};
	}
	int rc = store_append(b->log, b->batch, n);
	if (rc != 0) {
		return rc;
	}
	for (uint32_t i = 0; i < n; i++) {
		b->sent_ns[(b->next_index + i) % b->ring_count] = t_ns;
	}
	b->next_index += n;
	return 0;
}

/* Opens and pre-writes the baseline's file (before the clock starts). */
static int baseline_open(struct bench *b)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/baseline.dat", b->o.dir);
	uint64_t rec = store_record_bytes(b->o.entry_bytes);
	b->base_bytes = (rec + BASELINE_BLOCK_BYTES - 1) / BASELINE_BLOCK_BYTES * BASELINE_BLOCK_BYTES;
	if (posix_memalign(&b->base_buf, BASELINE_BLOCK_BYTES, BASELINE_FILE_BYTES / 16) != 0 ||
	    b->base_bytes > BASELINE_FILE_BYTES / 16) {
		fprintf(stderr, "storebench: --baseline: entries too large (or out of memory)\n");
		return -1;
	}
	memset(b->base_buf, 0, BASELINE_FILE_BYTES / 16);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	for (uint64_t off = 0; fd >= 0 && off < BASELINE_FILE_BYTES; off += BASELINE_FILE_BYTES / 16) {
		if (pwrite(fd, b->base_buf, BASELINE_FILE_BYTES / 16, (off_t)off) < 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0 || fsync(fd) != 0) {
		fprintf(stderr, "storebench: --baseline: %s: %s\n", path, strerror(errno));
		return -1;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (b->o.baseline == BASELINE_DIRECT) {
		close(fd);
		fd = open(path, O_RDWR | O_CLOEXEC | O_DIRECT);
		if (fd < 0) {
			fprintf(stderr, "storebench: --baseline direct: %s: %s\n", path, strerror(errno));
			return -1;
		}
	}
	memset(b->base_buf, 0x5a, b->base_bytes);
	b->base_fd = fd;
	return 0;
}

/* One slice of plain durable writes, each timed. */
static int baseline_slice(struct bench *b)
{
	uint64_t t0 = now_ns();
	for (uint32_t i = 0; i < BASELINE_SLICE; i++) {
		struct iovec iov = {.iov_base = b->base_buf, .iov_len = b->base_bytes};
		uint64_t t = now_ns();
		if (pwritev2(b->base_fd, &iov, 1, (off_t)b->base_offset, RWF_DSYNC) !=
		    (ssize_t)b->base_bytes) {
			fprintf(stderr, "storebench: --baseline write: %s\n", strerror(errno));
			return -1;
		}
		bench_hist_record(&b->base_hist, now_ns() - t);
		b->base_count++;
		b->base_offset = (b->base_offset + b->base_bytes) % (BASELINE_FILE_BYTES - b->base_bytes);
		b->base_offset -= b->base_offset % BASELINE_BLOCK_BYTES;
	}
	b->base_ns += now_ns() - t0;
	return 0;
}

static int bench_closed_loop(struct bench *b)
{
	b->pending_writers = b->o.writers;
	while (now_ns() < b->end_ns) {
		/* --baseline: the log is idle here (its one entry durable, the
		 * next not appended): the plain writes take their turn. */
		if (b->o.baseline != BASELINE_OFF && b->pending_writers > 0 &&
		    b->slice_done >= BASELINE_SLICE) {
			if (baseline_slice(b) != 0) {
				return -EIO;
			}
			b->slice_done = 0;
		}
		if (b->pending_writers > 0) {
			int rc = bench_append(b, b->pending_writers, now_ns());
			if (rc == 0) {
				b->pending_writers = 0;
			} else if (rc != -STORE_E_BUSY) {
				return rc;
			}
		}
		int rc = store_poll(b->log, true);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

/* Sleeps until t_ns (CLOCK_MONOTONIC). */
static void sleep_until_ns(uint64_t t_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(t_ns / 1000000000ull),
			      .tv_nsec = (long)(t_ns % 1000000000ull)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
	}
}

/*
 * Open loop. Arrivals that come while a write is in flight could not leave
 * before it completes anyway (one durable write in flight), so the loop
 * blocks in store_poll while the log is busy and then appends everything
 * that arrived meanwhile, stamped with its intended arrival time. When the
 * log is idle it sleeps until the next arrival instead of spinning, which
 * matters on a machine with two shared cores.
 */
static int bench_open_loop(struct bench *b, uint64_t start_ns)
{
	uint64_t sent = 0;
	double interval_ns = 1e9 / (double)b->o.rate_per_s;
	for (uint64_t t = now_ns(); t < b->end_ns; t = now_ns()) {
		uint64_t due = (uint64_t)((double)(t - start_ns) / interval_ns) + 1;
		while (sent < due && b->next_index - b->done_index < b->ring_count - b->o.writers) {
			uint64_t intended = start_ns + (uint64_t)((double)sent * interval_ns);
			int rc = bench_append(b, 1, intended);
			if (rc == -STORE_E_BUSY) {
				break; /* back-pressure: the arrival waits, its latency grows */
			}
			if (rc != 0) {
				return rc;
			}
			sent++;
		}
		if (store_durable_index(b->log) < store_last_index(b->log)) {
			int rc = store_poll(b->log, true);
			if (rc < 0) {
				return rc;
			}
		} else {
			sleep_until_ns(start_ns + (uint64_t)((double)sent * interval_ns));
		}
	}
	return 0;
}

static void report(const struct bench *b, double elapsed_s)
{
	struct store_stats st;
	store_stats(b->log, &st);
	elapsed_s -= (double)b->base_ns / 1e9; /* the log's time alone */
	double base_p50 = b->base_count ? hist_percentile_us(&b->base_hist, 0.50) : 0;
	double base_p99 = b->base_count ? hist_percentile_us(&b->base_hist, 0.99) : 0;
	double log_p50 = hist_percentile_us(&b->hist, 0.50);
	const char *base_name = b->o.baseline == BASELINE_DSYNC    ? "dsync"
				: b->o.baseline == BASELINE_DIRECT ? "direct"
								   : "off";
	double eps = (double)b->done_count / elapsed_s;
	double mibps = (double)b->done_bytes / elapsed_s / (1024.0 * 1024.0);
	double group_mean = st.groups_count ? (double)st.entries_count / (double)st.groups_count : 0;
	const char *engine = store_engine_name(b->o.engine);
	const char *dur = store_durability_name(b->o.durability);
	/* What the log got: direct asked of a file system that refuses it
	 * falls back to buffered (said on stderr at open). */
	const char *write = st.direct_writes ? "direct" : "buffered";
	if (b->o.json) {
		printf("{\"engine\": \"%s\", \"durability\": \"%s\", \"write\": \"%s\", "
		       "\"uring_async\": %s, \"entry_bytes\": %u, "
		       "\"writers\": %u, \"rate_per_s\": %" PRIu64 ", \"duration_s\": %.3f, "
		       "\"entries_per_s\": %.0f, \"mib_per_s\": %.2f, \"latency_us_p50\": %.1f, "
		       "\"latency_us_p99\": %.1f, \"latency_us_p999\": %.1f, "
		       "\"group_entries_mean\": %.2f, \"groups\": %" PRIu64
		       ", \"uring_setup_flags\": %u, \"uring_fixed_files\": %u, "
		       "\"uring_fixed_buffers\": %u, \"segments_prepared_ahead\": %" PRIu64
		       ", \"segments_prepared_late\": %" PRIu64 ", \"baseline\": \"%s\", "
		       "\"baseline_writes\": %" PRIu64 ", \"baseline_us_p50\": %.1f, "
		       "\"baseline_us_p99\": %.1f, \"p50_over_baseline\": %.3f}\n",
		       engine, dur, write, b->o.uring_async ? "true" : "false", b->o.entry_bytes,
		       b->o.writers, b->o.rate_per_s, elapsed_s, eps,
		       mibps, hist_percentile_us(&b->hist, 0.50), hist_percentile_us(&b->hist, 0.99),
		       hist_percentile_us(&b->hist, 0.999), group_mean, st.groups_count,
		       st.uring_setup_flags, st.uring_fixed_files, st.uring_fixed_buffers,
		       st.segments_prepared_ahead_count, st.segments_prepared_late_count, base_name,
		       b->base_count, base_p50, base_p99, base_p50 > 0 ? log_p50 / base_p50 : 0);
		return;
	}
	printf("engine %s, durability %s, write %s%s, %u-byte entries, %s %" PRIu64 ", %.1f s\n",
	       engine, dur, write, b->o.uring_async ? " (IOSQE_ASYNC)" : "", b->o.entry_bytes, b->o.rate_per_s ? "rate/s" : "writers",
	       b->o.rate_per_s ? b->o.rate_per_s : b->o.writers, elapsed_s);
	printf("  durable entries/s  %.0f\n  MiB/s              %.2f\n", eps, mibps);
	printf("  latency us p50 %.1f  p99 %.1f  p99.9 %.1f\n", hist_percentile_us(&b->hist, 0.50),
	       hist_percentile_us(&b->hist, 0.99), hist_percentile_us(&b->hist, 0.999));
	printf("  group entries mean %.2f (%" PRIu64 " groups)\n", group_mean, st.groups_count);
	if (b->base_count > 0) {
		printf("  baseline %s (plain %" PRIu64 "-byte RWF_DSYNC writes, interleaved): "
		       "p50 %.1f  p99 %.1f us; log p50 / baseline p50 %.2f\n",
		       base_name, b->base_bytes, base_p50, base_p99, log_p50 / base_p50);
	}
}

static int bench_run(struct bench *b)
{
	struct store_config cfg;
	store_config_default(&cfg);
	cfg.dir_path = b->o.dir;
	cfg.engine = b->o.engine;
	cfg.durability = b->o.durability;
	cfg.write_mode = b->o.write_mode;
	cfg.uring_sqe_async = b->o.uring_async;
	cfg.segment_bytes = b->o.segment_bytes;
	cfg.quiet = b->o.json;
	cfg.on_durable = on_durable;
	cfg.on_durable_user = b;
	char errmsg[512];
	int rc = store_open(&cfg, &b->log, errmsg, sizeof(errmsg));
	if (rc != 0) {
		fprintf(stderr, "storebench: open: %s: %s\n", store_strerror(rc), errmsg);
		return rc;
	}
	if (b->o.durability == STORE_DURABILITY_NONE) {
		fprintf(stderr, "storebench: WARNING: --durability none: nothing is synced; these "
				"numbers say nothing about durable commit latency\n");
	}
	if (b->o.baseline != BASELINE_OFF && baseline_open(b) != 0) {
		store_close(b->log);
		return -EIO;
	}
	b->next_index = store_last_index(b->log) + 1;
	b->done_index = b->next_index - 1;
	uint64_t start_ns = now_ns();
	b->end_ns = start_ns + (uint64_t)(b->o.duration_s * 1e9);
	rc = b->o.rate_per_s ? bench_open_loop(b, start_ns) : bench_closed_loop(b);
	double elapsed_s = (double)(now_ns() - start_ns) / 1e9;
	if (rc == 0) {
		rc = store_flush(b->log);
	}
	if (rc != 0) {
		fprintf(stderr, "storebench: %s: %s\n", store_strerror(rc), store_errmsg(b->log));
	} else {
		report(b, elapsed_s);
	}
	store_close(b->log);
	if (b->base_fd > 0) {
		close(b->base_fd);
	}
	free(b->base_buf);
	return rc;
}

int main(int argc, char **argv)
{
	static struct bench b; /* the histogram is large: not on the stack */
	if (storebench_parse_opts(argc, argv, &b.o) != 0) {
		return 2;
	}
	bench_hist_reset(&b.hist);
	bench_hist_reset(&b.base_hist);
	char dir[256];
	bool made_dir = b.o.dir == NULL;
	if (made_dir) {
		const char *base = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/storebench-XXXXXX", base ? base : "/var/tmp");
		if (mkdtemp(dir) == NULL) {
			perror("storebench: mkdtemp");
			return 1;
		}
		b.o.dir = dir;
	}
	/* Sized at start: a ring of send times large enough for every entry
	 * that can be outstanding (writers, or open-loop backlog). */
	b.ring_count = rn_max_u64(b.o.writers, 1) * 2 + (1u << 20);
	b.sent_ns = calloc(b.ring_count, sizeof(uint64_t));
	b.batch = calloc(rn_max_u64(b.o.writers, 1), sizeof(struct store_entry));
	b.payload = calloc(1, b.o.entry_bytes + 1u);
	if (b.sent_ns == NULL || b.batch == NULL || b.payload == NULL) {
		fprintf(stderr, "storebench: out of memory\n");
		return 1;
	}
	memset(b.payload, 0x5a, b.o.entry_bytes);
	int rc = bench_run(&b);
	if (made_dir && !b.o.keep) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0) {
			fprintf(stderr, "storebench: could not remove %s\n", dir);
		}
	}
	free(b.sent_ns);
	free(b.batch);
	free(b.payload);
	return rc == 0 ? 0 : 1;
}
