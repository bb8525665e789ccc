/* SPDX-License-Identifier: MIT */
/*
 * Goal: an entry the log reported durable survives the death of the
 * process at any moment, and the log always reopens.
 * Method: a writer child appends random batches through the uring engine
 * (fsync mode, 256 KiB segments so rolls happen) and writes every durable
 * report (index, term) to a pipe. The parent SIGKILLs it at a random point
 * (after a random number of reports plus a random delay), drains the pipe,
 * reopens the log with the pwrite engine, and checks that every entry up to
 * the highest reported index is there with a payload matching its index and
 * term. The next writer continues the same log with a higher term.
 * 50 kills by default (CI); RAFTNODE_CRASH_KILLS=N for a soak; the seed is
 * printed, RAFTNODE_CRASH_SEED=S replays the same kill points.
 * A SIGKILL does not drop the page cache, so this proves the process-crash
 * half of the contract; power loss is modelled by the sim engine tests.
 * Exit 77 (skipped) with the reason where io_uring is unavailable.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "storage_util.h"

#define CRASH_SEGMENT_BYTES (256u << 10)
#define CRASH_PAYLOAD_BYTES_MAX 200u
#define CRASH_KEEP_ENTRIES 4000u /* the writer compacts older entries */

struct report {
	raft_index index;
	raft_term term;
};
_Static_assert(sizeof(struct report) == 16, "a report is 16 bytes");
_Static_assert(sizeof(struct report) <= PIPE_BUF, "one pipe write of a report is atomic");

struct writer {
	int pipe_fd;
};

static void writer_on_durable(void *user, raft_index index, raft_term term)
{
	struct writer *w = user;
	struct report r = {.index = index, .term = term};
	/* A report that cannot be written means the parent is gone. */
	if (write(w->pipe_fd, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
		_exit(4);
	}
}

/* The child: never returns. Exit codes: 2 open failed, 3 append failed. */
static void writer_run(const char *dir, raft_term term, int pipe_fd, uint64_t seed)
{
	struct writer w = {.pipe_fd = pipe_fd};
	struct store_config cfg;
	su_config(&cfg, dir, STORE_ENGINE_URING, CRASH_SEGMENT_BYTES);
	cfg.group_bytes_max = 16u << 10; /* small groups: many reports, a short test */
	cfg.on_durable = writer_on_durable;
	cfg.on_durable_user = &w;
	struct store_log *log = NULL;
	char errmsg[512];
	if (store_open(&cfg, &log, errmsg, sizeof(errmsg)) != 0) {
		fprintf(stderr, "writer: open: %s\n", errmsg);
		_exit(2);
	}
	raft_index last = store_last_index(log);
	if (last > CRASH_KEEP_ENTRIES) {
		raft_index upto = last - CRASH_KEEP_ENTRIES;
		if (store_compact(log, upto, store_term_at(log, upto)) != 0) {
			_exit(3);
		}
	}
	static uint8_t payloads[32][CRASH_PAYLOAD_BYTES_MAX];
	struct store_entry batch[32];
	uint64_t rng = seed;
	for (;;) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t n = 1 + (uint32_t)((rng >> 33) % 32);
		raft_index first = store_last_index(log) + 1;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t bytes = (uint32_t)(((rng >> 20) + i * 37) % CRASH_PAYLOAD_BYTES_MAX);
			su_payload(first + i, term, payloads[i], bytes);
			batch[i] = (struct store_entry){.index = first + i, .term = term,
							.payload = payloads[i],
							.payload_bytes = bytes};
		}
		int rc = store_append(log, batch, n);
		if (rc == -STORE_E_BUSY) {
			rc = store_poll(log, true) < 0 ? -1 : 0;
		} else if (rc == 0) {
			rc = store_poll(log, false) < 0 ? -1 : 0;
		}
		if (rc != 0) {
			fprintf(stderr, "writer: %s\n", store_errmsg(log));
			_exit(3);
		}
	}
}

/* Reads reports until `want` arrived (or EOF); returns the highest. */
static void read_reports(int fd, uint32_t want, struct report *best, uint32_t *count)
{
	struct report r;
	while (want == 0 || *count < want) {
		ssize_t n = read(fd, &r, sizeof(r));
		if (n == 0) {
			return;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		assert_int_equal(n, sizeof(r)); /* pipe writes of 16 bytes are atomic */
		assert_true(r.index >= best->index);
		*best = r;
		(*count)++;
	}
}

static void check_log(const char *dir, const struct report *best, raft_term gen_term)
{
	struct store_config cfg;
	su_config(&cfg, dir, STORE_ENGINE_PWRITE, CRASH_SEGMENT_BYTES);
	struct store_log *log = su_open(&cfg);
	if (store_last_index(log) < best->index) {
		fail_msg("reported durable up to %" PRIu64 " but the log ends at %" PRIu64,
			 best->index, store_last_index(log));
	}
	assert_true(store_term_at(log, best->index) == best->term || best->index == 0);
	static uint8_t buf[1u << 20];
	static struct store_entry ents[1024];
	uint8_t want[CRASH_PAYLOAD_BYTES_MAX];
	raft_index next = store_first_index(log);
	while (next <= best->index) {
		int n = store_read(log, next, buf, sizeof(buf), ents, 1024);
		if (n <= 0) {
			fail_msg("read %" PRIu64 ": %s: %s", next, store_strerror(n), store_errmsg(log));
		}
		for (int i = 0; i < n && next <= best->index; i++, next++) {
			assert_int_equal(ents[i].index, next);
			assert_true(ents[i].term >= 1 && ents[i].term <= gen_term);
			su_payload(next, ents[i].term, want, ents[i].payload_bytes);
			assert_memory_equal(ents[i].payload, want, ents[i].payload_bytes);
		}
	}
	store_close(log);
}

static void test_sigkill_never_loses_reported_entries(void **state)
{
	(void)state;
	const char *env = getenv("RAFTNODE_CRASH_KILLS");
	uint32_t kills = env != NULL ? (uint32_t)strtoul(env, NULL, 10) : 50;
	char dir[SU_PATH_BYTES];
	su_tmpdir(dir, sizeof(dir));
	const char *seed_env = getenv("RAFTNODE_CRASH_SEED"); /* to replay a failure */
	uint64_t seed = seed_env != NULL ? strtoull(seed_env, NULL, 10) : (uint64_t)time(NULL);
	printf("seed %" PRIu64 ", %u kills\n", seed, kills);
	struct report best = {0};
	uint64_t rng = seed;
	uint32_t reports_total = 0;
	for (uint32_t k = 0; k < kills; k++) {
		int fds[2];
		assert_int_equal(pipe(fds), 0);
		raft_term term = k + 1;
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			writer_run(dir, term, fds[1], seed + k);
		}
		close(fds[1]);
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t reports_before_kill = 1 + (uint32_t)((rng >> 33) % 64);
		uint32_t delay_us = (uint32_t)((rng >> 13) % 3000);
		uint32_t count = 0;
		read_reports(fds[0], reports_before_kill, &best, &count);
		usleep(delay_us);
		kill(pid, SIGKILL);
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status)) {
			fail_msg("writer exited with %d before the kill (round %u)",
				 WEXITSTATUS(status), k);
		}
		read_reports(fds[0], 0, &best, &count); /* whatever it sent before dying */
		close(fds[0]);
		reports_total += count;
		check_log(dir, &best, term);
	}
	printf("%u kills, %u durable reports, highest index %" PRIu64 "\n", kills, reports_total,
	       best.index);
	su_rmtree(dir);
}

int main(void)
{
	const char *why = NULL;
	if (!su_uring_available(&why)) {
		printf("skipped: %s\n", why);
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigkill_never_loses_reported_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
