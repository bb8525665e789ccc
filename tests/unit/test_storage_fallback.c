/* SPDX-License-Identifier: MIT */
/*
 * test_storage_fallback.c - write_mode = direct on a file system that
 * refuses O_DIRECT: the log falls back to buffered writes (store_stats
 * says so), and what it writes is durable and recovers exactly as with
 * either mode taken on purpose. tmpfs takes O_DIRECT on this kernel, so
 * the test mounts a ramfs (which refuses it) on a scratch directory; where
 * it cannot mount (not root, no ramfs), it skips.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "storage_util.h"

#define SEG_BYTES (1u << 20)

struct fixture {
	char dir[SU_PATH_BYTES];
	bool mounted;
};

static int setup(void **state)
{
	static struct fixture f;
	memset(&f, 0, sizeof(f));
	su_tmpdir(f.dir, sizeof(f.dir));
	f.mounted = mount("raftnode-test", f.dir, "ramfs", 0, "mode=0700") == 0;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->mounted) {
		(void)umount2(f->dir, MNT_DETACH);
	}
	su_rmtree(f->dir);
	return 0;
}

/* The file system under the test refuses O_DIRECT, or the test says why
 * it cannot run. */
static bool refuses_direct(struct fixture *f)
{
	if (!f->mounted) {
		fprintf(stderr, "skip: cannot mount a ramfs on %s (%s): needs root\n", f->dir,
			strerror(errno));
		return false;
	}
	char path[SU_PATH_BYTES + 16];
	snprintf(path, sizeof(path), "%s/probe", f->dir);
	int fd = open(path, O_RDWR | O_CREAT | O_DIRECT, 0600);
	if (fd >= 0) {
		close(fd);
		unlink(path);
		fprintf(stderr, "skip: this kernel's ramfs takes O_DIRECT\n");
		return false;
	}
	return true;
}

static void run_engine(struct fixture *f, enum store_engine_kind engine)
{
	char dir[SU_PATH_BYTES + 16];
	snprintf(dir, sizeof(dir), "%s/log-%d", f->dir, (int)engine);
	struct store_config cfg;
	su_config(&cfg, dir, engine, SEG_BYTES);
	cfg.write_mode = STORE_WRITE_DIRECT;
	struct store_log *log = su_open(&cfg);
	struct store_stats st;
	store_stats(log, &st);
	assert_false(st.direct_writes); /* fell back, and says so */
	/* Enough entries of mixed sizes to roll segments. */
	su_append(log, 1, 3000, 1, 200, 7);
	su_append(log, 3001, 500, 2, 1500, 3);
	su_verify(log, 1, 3000, 1, 200);
	store_stats(log, &st);
	assert_true(st.segments_count > 1);
	store_close(log);
	/* Recovery reads back every entry, as written. */
	log = su_open(&cfg);
	assert_int_equal(store_last_index(log), 3500);
	su_verify(log, 1, 3000, 1, 200);
	su_verify(log, 3001, 3500, 2, 1500);
	store_close(log);
}

static void test_fallback_pwrite(void **state)
{
	struct fixture *f = *state;
	if (!refuses_direct(f)) {
		skip();
	}
	run_engine(f, STORE_ENGINE_PWRITE);
}

static void test_fallback_uring(void **state)
{
	struct fixture *f = *state;
	const char *why = NULL;
	if (!refuses_direct(f)) {
		skip();
	}
	if (!su_uring_available(&why)) {
		fprintf(stderr, "skip: io_uring: %s\n", why);
		skip();
	}
	run_engine(f, STORE_ENGINE_URING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fallback_pwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fallback_uring, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
