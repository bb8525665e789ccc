/* SPDX-License-Identifier: MIT */
/*
 * Goal: the io_uring engine handles what the kernel really returns: a short
 * write is continued from where it stopped, and an error on the
 * continuation is fail-stop with path, offset and errno, with nothing after
 * the last good sync reported durable; the half-written group is then cut
 * as a torn tail at the next open.
 * Method: in a child process (rlimits are per process), append and sync one
 * entry, then lower RLIMIT_FSIZE into the middle of the next group's write
 * (SIGXFSZ ignored). The kernel writes up to the limit and returns a short
 * count; the engine resubmits the rest, which fails with EFBIG. The parent
 * checks the child's verdict, then reopens the log with the pwrite engine.
 * Buffered writes stop at a limit of 4000 bytes; O_DIRECT writes are whole
 * blocks (a count the limit cuts to 4000 is refused outright), so their
 * limit is 8192: the write stops at a block end, the group's last record
 * is cut mid-way.
 * Also prints which ring flags setup got and whether files and buffers were
 * registered, and appends through that ring. Exit 77 without io_uring.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage_util.h"

#define FSIZE_LIMIT_BUFFERED_BYTES 4000u
#define FSIZE_LIMIT_DIRECT_BYTES 8192u

struct seen {
	raft_index index;
};

static void on_durable(void *user, raft_index index, raft_term term)
{
	(void)term;
	((struct seen *)user)->index = index;
}

/* Child: returns its exit code (0 = every expectation held). */
static int short_write_child(const char *dir, enum store_write_mode mode, uint32_t limit_bytes)
{
	struct seen seen = {0};
	struct store_config cfg;
	su_config(&cfg, dir, STORE_ENGINE_URING, 64u << 10);
	cfg.write_mode = mode;
	cfg.on_durable = on_durable;
	cfg.on_durable_user = &seen;
	struct store_log *log = NULL;
	char errmsg[512];
	if (store_open(&cfg, &log, errmsg, sizeof(errmsg)) != 0) {
		return 10;
	}
	static uint8_t payload[200];
	su_payload(1, 1, payload, sizeof(payload)); /* no zero runs: a tear shows */
	struct store_entry first = {.index = 1, .term = 1, .payload = payload, .payload_bytes = 100};
	if (store_append(log, &first, 1) != 0 || store_flush(log) != 0 || seen.index != 1) {
		return 11;
	}
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit rl;
	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = limit_bytes;
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0) {
		return 12;
	}
	struct store_entry batch[40];
	for (uint32_t i = 0; i < 40; i++) {
		batch[i] = (struct store_entry){.index = 2 + i, .term = 1, .payload = payload,
						.payload_bytes = 200};
	}
	if (store_append(log, batch, 40) != 0) {
		return 13;
	}
	int rc = store_flush(log);
	printf("child: flush -> %s; %s\n", store_strerror(rc), store_errmsg(log));
	if (rc != -STORE_E_FAILED || seen.index != 1 || store_durable_index(log) != 1) {
		return 14;
	}
	if (strstr(store_errmsg(log), "File too large") == NULL ||
	    strstr(store_errmsg(log), "log-00000000000000000001.seg") == NULL) {
		return 15;
	}
	store_close(log);
	return 0;
}

static void short_write_then_error_is_fail_stop(enum store_write_mode mode, uint32_t limit_bytes)
{
	char dir[SU_PATH_BYTES];
	su_tmpdir(dir, sizeof(dir));
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int code = short_write_child(dir, mode, limit_bytes);
		fflush(stdout);
		_exit(code);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* The kernel wrote up to the limit: a torn group that open cuts. */
	struct store_config cfg;
	su_config(&cfg, dir, STORE_ENGINE_PWRITE, 64u << 10);
	struct store_log *log = su_open(&cfg);
	struct store_stats st;
	store_stats(log, &st);
	printf("reopened: last index %llu, torn tail bytes cut %llu\n",
	       (unsigned long long)store_last_index(log), (unsigned long long)st.torn_tail_bytes);
	/* Record 1 is 136 bytes, then 232-byte records: at the 4000-byte
	 * limit 2..17 end at 3848 and record 18 was cut (152 torn bytes); at
	 * 8192, 2..35 end at 8024 and record 36 was cut (168). Whole records
	 * remain (written, never reported durable); the torn bytes are cut. */
	assert_int_equal(store_record_bytes(100), 136);
	assert_int_equal(store_record_bytes(200), 232);
	uint32_t whole = (limit_bytes - 136) / 232;
	assert_int_equal(store_last_index(log), 1 + whole);
	assert_int_equal(st.torn_tail_bytes, limit_bytes - (136 + whole * 232));
	su_verify(log, 1, 1, 1, 100);
	store_close(log);
	su_rmtree(dir);
}

static void test_short_write_then_error_is_fail_stop(void **state)
{
	(void)state;
	short_write_then_error_is_fail_stop(STORE_WRITE_BUFFERED, FSIZE_LIMIT_BUFFERED_BYTES);
}

static void test_short_direct_write_then_error_is_fail_stop(void **state)
{
	(void)state;
	short_write_then_error_is_fail_stop(STORE_WRITE_DIRECT, FSIZE_LIMIT_DIRECT_BYTES);
}

static void test_ring_flags_reported(void **state)
{
	(void)state;
	char dir[SU_PATH_BYTES];
	su_tmpdir(dir, sizeof(dir));
	struct store_config cfg;
	su_config(&cfg, dir, STORE_ENGINE_URING, 64u << 10);
	struct store_log *log = su_open(&cfg);
	struct store_stats st;
	store_stats(log, &st);
	printf("ring setup flags 0x%x:%s%s; %u registered file slots; %u fixed buffers; "
	       "%s writes\n",
	       st.uring_setup_flags, st.uring_setup_flags & 0x1000u ? " SINGLE_ISSUER" : "",
	       st.uring_setup_flags & 0x2000u ? " DEFER_TASKRUN" : " (fallback)",
	       st.uring_fixed_files, st.uring_fixed_buffers,
	       st.direct_writes ? "O_DIRECT" : "buffered");
	/* Whatever the ring got, the log works on it. */
	su_append(log, 1, 100, 1, 300, 9);
	su_verify(log, 1, 100, 1, 300);
	store_close(log);
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
		cmocka_unit_test(test_ring_flags_reported),
		cmocka_unit_test(test_short_write_then_error_is_fail_stop),
		cmocka_unit_test(test_short_direct_write_then_error_is_fail_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
