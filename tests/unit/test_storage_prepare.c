/* SPDX-License-Identifier: MIT */
/*
 * Goal: segments are written with zeros and made durable before the log
 * appends into them (roll.c), so a group never lands in unwritten extents;
 * the preparation runs ahead of need, and when it is late or fails the roll
 * still produces a correct log; recovery of a log whose last segment is
 * pre-written zeros is exactly what it was with fallocate.
 * Method: the sim engine, whose preparations can be held (finish only when
 * the log waits) or failed, checks the counters and reads everything back,
 * also after a crash at and after a roll; then the pwrite and uring engines
 * on a real directory check that the spare became ready in the background
 * and, with FIEMAP where the file system has it, that no segment has an
 * unwritten extent.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage_util.h"

#define SEG_BYTES 4096u	       /* 32 records of 96-byte payloads */
#define PAYLOAD_BYTES 96u
#define RECORDS_PER_SEG 32u
#define SPARE_NAME "segment-next.tmp" /* STORE_SPARE_FILE_NAME */

static struct store_log *open_sim(struct store_sim *sim)
{
	struct store_config cfg;
	su_config(&cfg, NULL, STORE_ENGINE_SIM, SEG_BYTES);
	cfg.sim = sim;
	return su_open(&cfg);
}

static struct store_sim *new_sim(uint32_t tear_ppm)
{
	struct store_sim *sim = NULL;
	struct store_sim_config sc = {
		.seed = 7, .latency_us_min = 50, .latency_us_max = 50, .tear_ppm = tear_ppm};
	assert_int_equal(store_sim_create(&sc, &sim), 0);
	return sim;
}

static void test_next_segment_ready_before_roll(void **state)
{
	(void)state;
	struct store_sim *sim = new_sim(0);
	struct store_log *log = open_sim(sim);
	/* A new log: the first segment was prepared at open. */
	assert_int_equal(store_sim_file_bytes(sim, SPARE_NAME), SEG_BYTES);
	su_append(log, 1, RECORDS_PER_SEG / 2 + 2, 1, PAYLOAD_BYTES, 1);
	struct store_stats st;
	store_stats(log, &st);
	assert_true(st.segment_next_ready); /* started at the first roll */
	assert_int_equal(store_sim_file_bytes(sim, SPARE_NAME), SEG_BYTES);
	su_append(log, RECORDS_PER_SEG / 2 + 3, RECORDS_PER_SEG, 1, PAYLOAD_BYTES, 1);
	store_stats(log, &st);
	assert_int_equal(st.segments_count, 2);
	assert_int_equal(st.segments_prepared_ahead_count, 2);
	assert_int_equal(st.segments_prepared_late_count, 0);
	assert_int_equal(st.segment_prepare_failures_count, 0);
	su_verify(log, 1, RECORDS_PER_SEG + RECORDS_PER_SEG / 2 + 2, 1, PAYLOAD_BYTES);
	store_close(log);
	store_sim_destroy(sim);
}

/* Held preparations finish only when the roll waits: late, counted, correct. */
static void test_roll_finds_segment_not_ready(void **state)
{
	(void)state;
	struct store_sim *sim = new_sim(0);
	struct store_log *log = open_sim(sim);
	store_sim_hold_prepare(sim, true);
	su_append(log, 1, 3 * RECORDS_PER_SEG, 1, PAYLOAD_BYTES, 5);
	struct store_stats st;
	store_stats(log, &st);
	assert_int_equal(st.segments_count, 3);
	assert_int_equal(st.segments_prepared_ahead_count, 1); /* the one from open */
	assert_int_equal(st.segments_prepared_late_count, 2);
	assert_false(store_failed(log));
	su_verify(log, 1, 3 * RECORDS_PER_SEG, 1, PAYLOAD_BYTES);
	store_close(log);
	store_sim_hold_prepare(sim, false);
	log = open_sim(sim);
	assert_int_equal(store_last_index(log), 3 * RECORDS_PER_SEG);
	su_verify(log, 1, 3 * RECORDS_PER_SEG, 1, PAYLOAD_BYTES);
	store_close(log);
	store_sim_destroy(sim);
}

/* A failed background preparation is counted, not fatal: the roll redoes it. */
static void test_failed_preparation_is_retried_at_roll(void **state)
{
	(void)state;
	for (int held = 0; held < 2; held++) {
		struct store_sim *sim = new_sim(0);
		struct store_log *log = open_sim(sim);
		store_sim_hold_prepare(sim, held != 0);
		store_sim_fail_prepare(sim);
		su_append(log, 1, RECORDS_PER_SEG + 4, 1, PAYLOAD_BYTES, 1);
		struct store_stats st;
		store_stats(log, &st);
		assert_false(store_failed(log));
		assert_int_equal(st.segment_prepare_failures_count, 1);
		assert_int_equal(st.segments_prepared_late_count, 1);
		assert_int_equal(st.segments_count, 2);
		su_verify(log, 1, RECORDS_PER_SEG + 4, 1, PAYLOAD_BYTES);
		store_close(log);
		store_sim_destroy(sim);
	}
}

/* A crash with the last segment pre-written zeros: a torn tail is cut, a
 * segment that got no record is removed, everything durable is there. */
static void test_crash_with_prewritten_last_segment(void **state)
{
	(void)state;
	for (uint32_t extra = 1; extra <= 9; extra += 4) {
		struct store_sim *sim = new_sim(1000000); /* always tear */
		struct store_log *log = open_sim(sim);
		su_append(log, 1, RECORDS_PER_SEG, 1, PAYLOAD_BYTES, 4); /* segment 1 full */
		/* Unsynced appends into the next, pre-written segment. */
		uint8_t p[PAYLOAD_BYTES];
		for (raft_index i = RECORDS_PER_SEG + 1; i <= RECORDS_PER_SEG + extra; i++) {
			su_payload(i, 2, p, PAYLOAD_BYTES);
			struct store_entry e = {
				.index = i, .term = 2, .payload = p, .payload_bytes = PAYLOAD_BYTES};
			assert_int_equal(store_append(log, &e, 1), 0);
		}
		store_sim_crash(sim);
		store_close(log);
		log = open_sim(sim);
		raft_index last = store_last_index(log);
		assert_true(last >= RECORDS_PER_SEG);
		assert_true(last < RECORDS_PER_SEG + extra);
		su_verify(log, 1, RECORDS_PER_SEG, 1, PAYLOAD_BYTES);
		if (last > RECORDS_PER_SEG) {
			su_verify(log, RECORDS_PER_SEG + 1, last, 2, PAYLOAD_BYTES);
		}
		/* The log goes on from there, through more rolls. */
		su_append(log, last + 1, 2 * RECORDS_PER_SEG, 3, PAYLOAD_BYTES, 3);
		su_verify(log, last + 1, last + 2 * RECORDS_PER_SEG, 3, PAYLOAD_BYTES);
		store_close(log);
		store_sim_destroy(sim);
	}
}

/* dir/name's extents and their bytes: total, and those unwritten (blocks
 * allocated, never written). -1 if FIEMAP is missing (or the file is). */
static int extent_bytes(const char *dir, const char *name, uint64_t *total,
			uint64_t *unwritten)
{
	char path[SU_PATH_BYTES * 2];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*total = *unwritten = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -1;
	}
	enum { EXTENTS = 256 };
	struct fiemap *fm = calloc(1, sizeof(*fm) + EXTENTS * sizeof(struct fiemap_extent));
	assert_non_null(fm);
	fm->fm_length = FIEMAP_MAX_OFFSET;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = EXTENTS;
	int rc = ioctl(fd, FS_IOC_FIEMAP, fm) == 0 ? 0 : -1;
	for (uint32_t i = 0; rc == 0 && i < fm->fm_mapped_extents; i++) {
		*total += fm->fm_extents[i].fe_length;
		if ((fm->fm_extents[i].fe_flags & FIEMAP_EXTENT_UNWRITTEN) != 0) {
			*unwritten += fm->fm_extents[i].fe_length;
		}
	}
	free(fm);
	close(fd);
	return rc;
}

/* Does any extent of dir/name read as unwritten? -1 if FIEMAP is missing. */
static int unwritten_extents(const char *dir, const char *name)
{
	char path[SU_PATH_BYTES * 2];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(access(path, F_OK), 0); /* a missing file is no FIEMAP skip */
	uint64_t total, unwritten;
	return extent_bytes(dir, name, &total, &unwritten) != 0 ? -1 : unwritten > 0;
}

/* Polls the log every 10 ms for up to polls_max polls, stopping early once
 * the spare is ready if until_ready; returns the stats after. */
static struct store_stats poll_log(struct store_log *log, int polls_max, bool until_ready)
{
	struct store_stats st;
	store_stats(log, &st);
	for (int i = 0; i < polls_max && !(until_ready && st.segment_next_ready); i++) {
		assert_true(store_poll(log, false) >= 0);
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
		store_stats(log, &st);
	}
	return st;
}

static void real_engine_prepares_ahead(enum store_engine_kind engine)
{
	const uint64_t seg_bytes = 1u << 20;
	const uint32_t per_seg = (uint32_t)(seg_bytes / 128u);
	char dir[SU_PATH_BYTES];
	su_tmpdir(dir, sizeof(dir));
	struct store_config cfg;
	su_config(&cfg, dir, engine, seg_bytes);
	struct store_log *log = su_open(&cfg);
	su_append(log, 1, per_seg / 2 + 100, 1, PAYLOAD_BYTES, 64);
	struct store_stats st = poll_log(log, 2000, true); /* up to 20 s */
	assert_true(st.segment_next_ready);
	su_append(log, per_seg / 2 + 101, per_seg, 1, PAYLOAD_BYTES, 64);
	store_stats(log, &st);
	assert_int_equal(st.segments_count, 2);
	assert_int_equal(st.segments_prepared_ahead_count, 2);
	assert_int_equal(st.segments_prepared_late_count, 0);
	char name[64];
	su_segment_name(1, name, sizeof(name));
	int first = unwritten_extents(dir, name);
	su_segment_name(per_seg + 1, name, sizeof(name));
	int second = unwritten_extents(dir, name);
	if (first >= 0) {
		assert_int_equal(first, 0);
		assert_int_equal(second, 0);
	} else {
		printf("note: no FIEMAP on %s; extent check skipped\n", dir);
	}
	su_verify(log, 1, per_seg / 2 + 100 + per_seg, 1, PAYLOAD_BYTES);
	store_close(log);
	su_rmtree(dir);
}

/* Bytes of the spare's size (fallocate'd whole at once). */
static uint64_t spare_size(const char *dir)
{
	char path[SU_PATH_BYTES * 2];
	snprintf(path, sizeof(path), "%s/%s", dir, SPARE_NAME);
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Bytes of the spare the zeros have reached: its extents that are not
 * unwritten (the blocks are claimed whole at once, the zeros follow
 * chunk by chunk). -1 without FIEMAP. */
static int64_t spare_zeros_bytes(const char *dir)
{
	uint64_t total, unwritten;
	if (extent_bytes(dir, SPARE_NAME, &total, &unwritten) != 0) {
		return spare_size(dir) == 0 ? 0 : -1; /* no spare yet: nothing written */
	}
	return (int64_t)(total - unwritten);
}

/* The zeros keep pace with the log, not with the disk (engine_prepare.c):
 * while the log has filled little of its segment the helper writes a 16th
 * of the spare and waits; once the log fills, the spare completes. With
 * the pace removed the helper writes the whole 16 MiB at disk speed and the
 * size check fails. */
static void real_engine_paces_the_zeros(enum store_engine_kind engine)
{
	const uint64_t seg_bytes = 16u << 20;
	const uint64_t head_bytes = seg_bytes / 16; /* PREPARE_HEAD_DIVISOR */
	const uint64_t chunk_bytes = 256u << 10;    /* PREPARE_CHUNK_BYTES */
	char dir[SU_PATH_BYTES];
	su_tmpdir(dir, sizeof(dir));
	struct store_config cfg;
	su_config(&cfg, dir, engine, seg_bytes);
	struct store_log *log = su_open(&cfg);
	su_append(log, 1, 8, 1, PAYLOAD_BYTES, 8); /* ~1 KiB of the segment */
	/* 400 ms: unpaced, 16 MiB of zeros at 40 MB/s. */
	struct store_stats st = poll_log(log, 40, false);
	int64_t written = spare_zeros_bytes(dir);
	printf("spare's zeros written while the log holds 8 records: %lld of %llu bytes "
	       "(its blocks claimed: %llu)\n",
	       (long long)written, (unsigned long long)seg_bytes,
	       (unsigned long long)spare_size(dir));
	assert_false(st.segment_next_ready);
	if (written >= 0) {
		assert_true((uint64_t)written <= head_bytes + chunk_bytes);
	} else {
		printf("note: no FIEMAP on %s; the pace is not checked\n", dir);
	}
	/* The whole segment's blocks are claimed at once (fallocate), so the
	 * space checked before the preparation stays this log's. */
	assert_int_equal(spare_size(dir), seg_bytes);
	/* The log fills past half its segment: the allowance covers the
	 * spare, which then completes in the background. */
	const uint32_t records = (uint32_t)(seg_bytes / 2 / (PAYLOAD_BYTES + 32)) + 64;
	su_append(log, 9, records, 1, PAYLOAD_BYTES, 64);
	st = poll_log(log, 3000, true); /* up to 30 s */
	assert_true(st.segment_next_ready);
	assert_int_equal(spare_size(dir), seg_bytes);
	assert_int_equal(st.segments_prepared_late_count, 0);
	su_verify(log, 1, 8 + records, 1, PAYLOAD_BYTES);
	store_close(log);
	su_rmtree(dir);
}

static void test_pwrite_paces_the_zeros(void **state)
{
	(void)state;
	real_engine_paces_the_zeros(STORE_ENGINE_PWRITE);
}

static void test_pwrite_prepares_ahead(void **state)
{
	(void)state;
	real_engine_prepares_ahead(STORE_ENGINE_PWRITE);
}

static void test_uring_prepares_ahead(void **state)
{
	(void)state;
	const char *why = NULL;
	if (!su_uring_available(&why)) {
		printf("uring part skipped: %s\n", why);
		skip();
	}
	real_engine_prepares_ahead(STORE_ENGINE_URING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_segment_ready_before_roll),
		cmocka_unit_test(test_roll_finds_segment_not_ready),
		cmocka_unit_test(test_failed_preparation_is_retried_at_roll),
		cmocka_unit_test(test_crash_with_prewritten_last_segment),
		cmocka_unit_test(test_pwrite_prepares_ahead),
		cmocka_unit_test(test_pwrite_paces_the_zeros),
		cmocka_unit_test(test_uring_prepares_ahead),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
