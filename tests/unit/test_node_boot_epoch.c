/* SPDX-License-Identifier: MIT */
/*
 * test_node_boot_epoch.c - the boot epoch rises at every start (boot_epoch.c).
 *
 * Goal: the epoch a start picks is above every epoch picked before from the
 * same data directory, whatever the clock says, and at least the clock for
 * an empty directory (a node back with an empty disk under its old id);
 * it is kept durably and read back; a damaged file falls back to the clock
 * with a warning; a used-up counter is a clear error, not a wrap.
 * Method: node_boot_epoch_next on a scratch directory with the clock given
 * as an argument (ahead, equal, behind), and the file edited by hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot_epoch.h"
#include "storage_util.h"

static char dir[SU_PATH_BYTES];

static int setup(void **state)
{
	(void)state;
	su_tmpdir(dir, sizeof(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	su_rmtree(dir);
	return 0;
}

static uint32_t next(uint64_t now_s)
{
	char err[512] = "";
	uint32_t e = 0;
	int rc = node_boot_epoch_next(dir, now_s, &e, err, sizeof(err));
	if (rc != 0) {
		fail_msg("node_boot_epoch_next: %d %s", rc, err);
	}
	return e;
}

static void test_rises_with_the_clock_and_without(void **state)
{
	(void)state;
	assert_int_equal(next(1000), 1000); /* empty directory: the clock */
	assert_int_equal(next(1000), 1001); /* same second: the counter */
	assert_int_equal(next(5000), 5000); /* clock ahead */
	assert_int_equal(next(10), 5001);   /* clock set back */
	assert_int_equal(next(10), 5002);
	/* An empty disk again (the node wiped, same id): the clock alone,
	 * above every epoch it gave before as long as it moved on. */
	char path[SU_PATH_BYTES + 32];
	snprintf(path, sizeof(path), "%s/%s", dir, NODE_BOOT_EPOCH_FILE);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(next(6000), 6000);
	/* Kept with mode 600, no temporary left. */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 12);
	assert_int_equal(st.st_mode & 0777, 0600);
	char tmp[SU_PATH_BYTES + 40];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);
}

static void test_damaged_file_falls_back_to_the_clock(void **state)
{
	(void)state;
	assert_int_equal(next(2000), 2000);
	char path[SU_PATH_BYTES + 32];
	snprintf(path, sizeof(path), "%s/%s", dir, NODE_BOOT_EPOCH_FILE);
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\xff", 1, 5), 1); /* the epoch's bytes: CRC fails */
	close(fd);
	assert_int_equal(next(3000), 3000);
	assert_int_equal(next(3000), 3001); /* and kept whole again */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(next(4000), 4000); /* empty file: damaged too */
}

static void test_used_up_is_an_error(void **state)
{
	(void)state;
	char err[512] = "";
	uint32_t e = 7;
	assert_int_equal(node_boot_epoch_next(dir, UINT32_MAX, &e, err, sizeof(err)), -ERANGE);
	assert_non_null(strstr(err, "cannot rise"));
	assert_int_equal(e, 7);
	assert_int_equal(next(UINT32_MAX - 1), UINT32_MAX - 1);
	assert_int_equal(next(5), UINT32_MAX); /* the last one */
	assert_int_equal(node_boot_epoch_next(dir, 5, &e, err, sizeof(err)), -ERANGE);
	char missing[SU_PATH_BYTES + 16];
	snprintf(missing, sizeof(missing), "%s/no/such", dir);
	assert_true(node_boot_epoch_next(missing, 5, &e, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "boot epoch"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rises_with_the_clock_and_without, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_damaged_file_falls_back_to_the_clock, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_used_up_is_an_error, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
