/* SPDX-License-Identifier: MIT */
/*
 * Goal: every recovery rule of DESIGN.md holds. A torn last record is cut
 * and the log reopens at the record before it, whatever byte the tear hit;
 * any other damage (a flipped bit in any non-tail record, an index gap, a
 * term going backwards, a missing segment, a bad segment name) makes open
 * fail with its own code and a message naming the file and the offset;
 * blank segments left by a roll are removed; a missing state file next to
 * segments (a lost term and vote) is refused; the very first state write,
 * torn by a crash, opens as the initial state, while two damaged slots are
 * refused.
 * Method: build a small log of three segments with the pwrite engine, keep a
 * pristine copy of its files, plant one kind of damage with plain file
 * writes, reopen, check the result, and restore the copy. The bit flips use
 * a fixed seed and cover header, payload and padding bytes.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage_util.h"

/* 32 + 197 = 229 bytes of record, 3 of padding: 232 bytes, 17 per 4 KiB
 * segment. 40 entries: segments start at 1, 18 and 35. */
#define RC_PAYLOAD_BYTES 197u
#define RC_RECORD_BYTES 232u
#define RC_ENTRIES 40u
#define RC_SEGMENT_BYTES 4096u
_Static_assert(RC_RECORD_BYTES == (STORE_RECORD_HEADER_BYTES + RC_PAYLOAD_BYTES + 3),
	       "229 bytes of record and 3 of padding");
_Static_assert(RC_RECORD_BYTES % STORE_RECORD_ALIGN_BYTES == 0, "a whole record is aligned");
_Static_assert(RC_SEGMENT_BYTES / RC_RECORD_BYTES == 17, "17 records per segment");

struct fixture {
	char dir[SU_PATH_BYTES];
	struct store_config cfg;
	raft_index seg_first[3];
	uint8_t *pristine[3];
	size_t pristine_bytes[3];
	uint8_t *pristine_state;
	size_t pristine_state_bytes;
};

static void fx_restore(struct fixture *fx)
{
	char name[64];
	for (int i = 0; i < 3; i++) {
		su_segment_name(fx->seg_first[i], name, sizeof(name));
		su_file_write(fx->dir, name, fx->pristine[i], fx->pristine_bytes[i]);
	}
	su_file_write(fx->dir, "state", fx->pristine_state, fx->pristine_state_bytes);
}

static int fx_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	su_tmpdir(fx->dir, sizeof(fx->dir));
	su_config(&fx->cfg, fx->dir, STORE_ENGINE_PWRITE, RC_SEGMENT_BYTES);
	struct store_log *log = su_open(&fx->cfg);
	su_append(log, 1, 20, 1, RC_PAYLOAD_BYTES, 5);
	su_append(log, 21, RC_ENTRIES - 20, 2, RC_PAYLOAD_BYTES, 5);
	struct store_stats st;
	store_stats(log, &st);
	assert_int_equal(st.segments_count, 3);
	store_close(log);
	fx->seg_first[0] = 1;
	fx->seg_first[1] = 18;
	fx->seg_first[2] = 35;
	char name[64];
	for (int i = 0; i < 3; i++) {
		su_segment_name(fx->seg_first[i], name, sizeof(name));
		fx->pristine[i] = su_file_read(fx->dir, name, &fx->pristine_bytes[i]);
	}
	fx->pristine_state = su_file_read(fx->dir, "state", &fx->pristine_state_bytes);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fixture *fx = *state;
	su_rmtree(fx->dir);
	for (int i = 0; i < 3; i++) {
		free(fx->pristine[i]);
	}
	free(fx->pristine_state);
	free(fx);
	return 0;
}

/* Opens, expecting failure rc with a message naming `file` and `offset`. */
static void expect_open_fails(struct fixture *fx, int rc_want, const char *file, uint64_t offset)
{
	char errmsg[512];
	struct store_log *log = NULL;
	int rc = store_open(&fx->cfg, &log, errmsg, sizeof(errmsg));
	if (rc != rc_want) {
		fail_msg("open returned %d (%s), want %d (%s); message: %s", rc, store_strerror(rc),
			 rc_want, store_strerror(rc_want), errmsg);
	}
	assert_null(log);
	char want[96];
	snprintf(want, sizeof(want), "offset %" PRIu64 ":", offset);
	if (strstr(errmsg, file) == NULL || strstr(errmsg, want) == NULL) {
		fail_msg("message does not name %s and '%s': %s", file, want, errmsg);
	}
}

/* Writes a modified copy of segment i (first index seg_first[i]). */
static void put_segment(struct fixture *fx, int i, const uint8_t *buf, size_t bytes)
{
	char name[64];
	su_segment_name(fx->seg_first[i], name, sizeof(name));
	su_file_write(fx->dir, name, buf, bytes);
}

enum tear_mode { TEAR_ZEROS, TEAR_GARBAGE, TEAR_SHORT_FILE };

static void test_torn_tail_every_byte(void **state)
{
	struct fixture *fx = *state;
	size_t seg_bytes = fx->pristine_bytes[2];
	uint64_t last_off = su_record_offset(fx->pristine[2], seg_bytes, RC_ENTRIES);
	uint8_t *buf = malloc(seg_bytes);
	assert_non_null(buf);
	for (int mode = TEAR_ZEROS; mode <= TEAR_SHORT_FILE; mode++) {
		for (uint64_t k = 0; k < RC_RECORD_BYTES; k++) {
			/* The first k bytes of the last record reached the disk. */
			memcpy(buf, fx->pristine[2], seg_bytes);
			size_t bytes = seg_bytes;
			if (mode == TEAR_SHORT_FILE) {
				bytes = (size_t)(last_off + k);
			} else {
				memset(buf + last_off + k, mode == TEAR_ZEROS ? 0 : 0xa5,
				       (size_t)(RC_RECORD_BYTES - k));
			}
			put_segment(fx, 2, buf, bytes);
			/* Tearing off only zero padding leaves the record whole. */
			bool whole = mode == TEAR_ZEROS &&
				     memcmp(buf + last_off, fx->pristine[2] + last_off,
					    RC_RECORD_BYTES) == 0;
			raft_index want = whole ? RC_ENTRIES : RC_ENTRIES - 1;
			struct store_log *log = su_open(&fx->cfg);
			if (store_last_index(log) != want) {
				fail_msg("mode %d, torn after %" PRIu64 " bytes: last index %" PRIu64,
					 mode, k, store_last_index(log));
			}
			assert_int_equal(store_last_term(log), 2);
			if (whole) {
				assert_true(k >= RC_PAYLOAD_BYTES + STORE_RECORD_HEADER_BYTES);
			} else if (k % 29 == 0) {
				/* The cut bytes are gone for good: rewrite and reopen. */
				su_verify(log, 30, RC_ENTRIES - 1, 2, RC_PAYLOAD_BYTES);
				su_append(log, RC_ENTRIES, 1, 3, RC_PAYLOAD_BYTES, 1);
				store_close(log);
				log = su_open(&fx->cfg);
				assert_int_equal(store_last_index(log), RC_ENTRIES);
				su_verify(log, RC_ENTRIES, RC_ENTRIES, 3, RC_PAYLOAD_BYTES);
			}
			store_close(log);
			fx_restore(fx);
		}
	}
	free(buf);
}

static void test_bit_flips_refused(void **state)
{
	struct fixture *fx = *state;
	uint64_t rng = 12345;
	uint32_t flips = 0;
	uint8_t *buf = malloc(fx->pristine_bytes[0]);
	assert_non_null(buf);
	for (flips = 0; flips < 64; flips++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		raft_index index = 1 + (rng >> 33) % (RC_ENTRIES - 1); /* never the tail */
		/* First 3 flips: the first and last byte of a record, a pad byte. */
		uint64_t byte = flips == 0 ? 0 : flips == 1 ? RC_RECORD_BYTES - 1
					   : flips == 2 ? RC_RECORD_BYTES - 2
							: (rng >> 13) % RC_RECORD_BYTES;
		unsigned bit = (unsigned)((rng >> 7) % 8);
		int seg = index >= 35 ? 2 : index >= 18 ? 1 : 0;
		memcpy(buf, fx->pristine[seg], fx->pristine_bytes[seg]);
		uint64_t rec_off = su_record_offset(buf, fx->pristine_bytes[seg], index);
		buf[rec_off + byte] ^= (uint8_t)(1u << bit);
		put_segment(fx, seg, buf, fx->pristine_bytes[seg]);
		char name[64];
		su_segment_name(fx->seg_first[seg], name, sizeof(name));
		expect_open_fails(fx, -STORE_E_CORRUPT, name, rec_off);
		fx_restore(fx);
	}
	assert_true(flips >= 50);
	free(buf);
	/* Restored: it opens again. */
	struct store_log *log = su_open(&fx->cfg);
	assert_int_equal(store_last_index(log), RC_ENTRIES);
	store_close(log);
}

/* Re-encodes record `index` of segment seg with another index or term (a
 * valid CRC: the damage is in the sequence, not the bytes). */
static void rewrite_record(struct fixture *fx, int seg, raft_index index, raft_index new_index,
			   raft_term new_term, uint64_t *offset_out)
{
	uint8_t *buf = malloc(fx->pristine_bytes[seg]);
	assert_non_null(buf);
	memcpy(buf, fx->pristine[seg], fx->pristine_bytes[seg]);
	uint64_t off = su_record_offset(buf, fx->pristine_bytes[seg], index);
	uint8_t payload[RC_PAYLOAD_BYTES];
	su_payload(new_index, new_term, payload, RC_PAYLOAD_BYTES);
	struct store_entry e = {.index = new_index, .term = new_term, .payload = payload,
				.payload_bytes = RC_PAYLOAD_BYTES};
	assert_int_equal(store_record_encode(&e, buf + off, RC_RECORD_BYTES), RC_RECORD_BYTES);
	put_segment(fx, seg, buf, fx->pristine_bytes[seg]);
	free(buf);
	*offset_out = off;
}

static void test_index_gap_refused(void **state)
{
	struct fixture *fx = *state;
	uint64_t off = 0;
	char name[64];
	su_segment_name(18, name, sizeof(name));
	rewrite_record(fx, 1, 25, 26, 2, &off);
	expect_open_fails(fx, -STORE_E_INDEX_GAP, name, off);
	fx_restore(fx);
	/* Also at the tail: a whole, valid record is never "torn". */
	su_segment_name(35, name, sizeof(name));
	rewrite_record(fx, 2, 40, 41, 2, &off);
	expect_open_fails(fx, -STORE_E_INDEX_GAP, name, off);
	fx_restore(fx);
}

static void test_term_backwards_refused(void **state)
{
	struct fixture *fx = *state;
	uint64_t off = 0;
	char name[64];
	su_segment_name(18, name, sizeof(name));
	rewrite_record(fx, 1, 30, 30, 1, &off); /* 29 has term 2 */
	expect_open_fails(fx, -STORE_E_TERM_BACKWARDS, name, off);
	fx_restore(fx);
}

static void test_missing_segment_refused(void **state)
{
	struct fixture *fx = *state;
	char name[64], path[SU_PATH_BYTES * 2];
	su_segment_name(18, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	assert_int_equal(unlink(path), 0);
	su_segment_name(35, name, sizeof(name));
	expect_open_fails(fx, -STORE_E_MISSING_SEGMENT, name, 0);
	fx_restore(fx);
	su_segment_name(1, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	assert_int_equal(unlink(path), 0);
	su_segment_name(18, name, sizeof(name));
	expect_open_fails(fx, -STORE_E_MISSING_SEGMENT, name, 0);
	fx_restore(fx);
}

static void test_bad_segment_name_refused(void **state)
{
	struct fixture *fx = *state;
	char path[SU_PATH_BYTES * 2];
	snprintf(path, sizeof(path), "%s/log-0000000000000000001x.seg", fx->dir);
	su_file_write(fx->dir, "log-0000000000000000001x.seg", "x", 1);
	char errmsg[512];
	struct store_log *log = NULL;
	assert_int_equal(store_open(&fx->cfg, &log, errmsg, sizeof(errmsg)),
			 -STORE_E_SEGMENT_NAME);
	assert_non_null(strstr(errmsg, "log-0000000000000000001x.seg"));
	assert_int_equal(unlink(path), 0);
}

static void test_blank_tail_segment_removed(void **state)
{
	struct fixture *fx = *state;
	char name[64];
	static uint8_t zeros[RC_SEGMENT_BYTES];
	su_segment_name(RC_ENTRIES + 1, name, sizeof(name));
	su_file_write(fx->dir, name, zeros, sizeof(zeros));
	struct store_log *log = su_open(&fx->cfg);
	assert_int_equal(store_last_index(log), RC_ENTRIES);
	store_close(log);
	char path[SU_PATH_BYTES * 2];
	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	assert_int_equal(access(path, F_OK), -1);

	/* A group that spanned a roll and was torn: the old segment's last
	 * record half written, the new segment blank. Cut, not refused. */
	uint8_t *buf = malloc(fx->pristine_bytes[2]);
	assert_non_null(buf);
	memcpy(buf, fx->pristine[2], fx->pristine_bytes[2]);
	uint64_t off = su_record_offset(buf, fx->pristine_bytes[2], RC_ENTRIES);
	memset(buf + off + 100, 0, RC_RECORD_BYTES - 100);
	put_segment(fx, 2, buf, fx->pristine_bytes[2]);
	su_file_write(fx->dir, name, zeros, sizeof(zeros));
	log = su_open(&fx->cfg);
	assert_int_equal(store_last_index(log), RC_ENTRIES - 1);
	struct store_stats st;
	store_stats(log, &st);
	assert_true(st.torn_tail_bytes > 0);
	store_close(log);
	free(buf);
	fx_restore(fx);
}

static void test_damage_in_tail_segment_not_last_record_refused(void **state)
{
	struct fixture *fx = *state;
	/* A zeroed (not flipped) record mid-segment with valid records after
	 * it: a hole, not a tear. */
	uint8_t *buf = malloc(fx->pristine_bytes[2]);
	assert_non_null(buf);
	memcpy(buf, fx->pristine[2], fx->pristine_bytes[2]);
	uint64_t off = su_record_offset(buf, fx->pristine_bytes[2], 37);
	memset(buf + off, 0, RC_RECORD_BYTES);
	put_segment(fx, 2, buf, fx->pristine_bytes[2]);
	char name[64];
	su_segment_name(35, name, sizeof(name));
	expect_open_fails(fx, -STORE_E_CORRUPT, name, off);
	free(buf);
	fx_restore(fx);
}

static void test_missing_state_file_refused(void **state)
{
	struct fixture *fx = *state;
	char path[SU_PATH_BYTES * 2];
	snprintf(path, sizeof(path), "%s/state", fx->dir);
	assert_int_equal(unlink(path), 0);
	char errmsg[512];
	struct store_log *log = NULL;
	for (int attempt = 0; attempt < 2; attempt++) { /* and it stays refused */
		assert_int_equal(store_open(&fx->cfg, &log, errmsg, sizeof(errmsg)),
				 -STORE_E_STATE_CORRUPT);
		assert_non_null(strstr(errmsg, "state: missing"));
		assert_int_equal(access(path, F_OK), -1);
	}
	fx_restore(fx);
}

/* The first hard-state write goes to slot 1 while slot 0 is blank: torn at
 * any byte, the log opens in the initial state (that write never returned,
 * so nothing depended on it). With slot 0 damaged too it is refused. */
static void test_torn_first_state_write(void **state)
{
	(void)state;
	char dir[SU_PATH_BYTES];
	struct store_config cfg;
	su_tmpdir(dir, sizeof(dir));
	su_config(&cfg, dir, STORE_ENGINE_PWRITE, RC_SEGMENT_BYTES);
	struct store_log *log = su_open(&cfg);
	struct raft_hard_state hs = {.term = 7, .vote = 3};
	assert_int_equal(store_save_hard_state(log, &hs), 0);
	store_close(log);
	size_t bytes = 0;
	uint8_t *written = su_file_read(dir, "state", &bytes);
	assert_true(bytes >= 2 * 4096);
	/* Slot 0 blank, slot 1 holds the write: cut it at every byte before
	 * its last non-zero one (a cut after it leaves the slot whole). */
	size_t last_nonzero = 0;
	for (size_t i = 0; i < 64; i++) {
		if (written[4096 + i] != 0) {
			last_nonzero = i;
		}
	}
	assert_true(last_nonzero >= 16);
	for (size_t keep = 0; keep <= last_nonzero; keep++) {
		uint8_t *torn = calloc(1, bytes);
		assert_non_null(torn);
		memcpy(torn + 4096, written + 4096, keep);
		su_file_write(dir, "state", torn, bytes);
		char errmsg[512];
		log = NULL;
		int rc = store_open(&cfg, &log, errmsg, sizeof(errmsg));
		if (rc != 0) {
			fail_msg("torn at byte %zu: open fails: %s", keep, errmsg);
		}
		struct raft_hard_state got;
		store_hard_state(log, &got);
		assert_int_equal(got.term, 0);
		assert_int_equal(got.vote, 0);
		store_close(log);
		/* Garbage in slot 0 as well: no slot can be trusted. */
		memset(torn, 0xa5, 64);
		memcpy(torn + 4096, written + 4096, keep);
		su_file_write(dir, "state", torn, bytes);
		log = NULL;
		assert_int_equal(store_open(&cfg, &log, errmsg, sizeof(errmsg)),
				 -STORE_E_STATE_CORRUPT);
		assert_null(log);
		free(torn);
	}
	/* And whole, it opens with the state it holds. */
	su_file_write(dir, "state", written, bytes);
	log = su_open(&cfg);
	struct raft_hard_state got;
	store_hard_state(log, &got);
	assert_int_equal(got.term, 7);
	assert_int_equal(got.vote, 3);
	store_close(log);
	free(written);
	su_rmtree(dir);
}

static void on_read_done(void *user, struct store_read_req *req)
{
	(void)req;
	*(int *)user = 1;
}

/* Damage that appears after open is caught by reads, sync and async. */
static void test_damage_found_by_reads(void **state)
{
	struct fixture *fx = *state;
	int read_done = 0;
	struct store_config cfg = fx->cfg;
	cfg.on_read = on_read_done;
	cfg.on_read_user = &read_done;
	struct store_log *log = su_open(&cfg);
	uint8_t *buf = malloc(fx->pristine_bytes[1]);
	assert_non_null(buf);
	memcpy(buf, fx->pristine[1], fx->pristine_bytes[1]);
	uint64_t off = su_record_offset(buf, fx->pristine_bytes[1], 20);
	buf[off + 100] ^= 0x10;
	put_segment(fx, 1, buf, fx->pristine_bytes[1]);
	static uint8_t data[8192];
	struct store_entry ents[16];
	char want[64];
	snprintf(want, sizeof(want), "offset %" PRIu64 ":", off);
	assert_int_equal(store_read(log, 18, data, sizeof(data), ents, 16), -STORE_E_CORRUPT);
	assert_non_null(strstr(store_errmsg(log), want));
	assert_int_equal(store_read(log, 18, data, sizeof(data), ents, 2), 2); /* before it: fine */
	struct store_read_req req = {.first_index = 19, .buf = data, .buf_bytes = sizeof(data),
				     .entries = ents, .entries_max = 16};
	assert_int_equal(store_read_async(log, &req), 0);
	while (!read_done) {
		assert_true(store_poll(log, true) >= 0);
	}
	assert_int_equal(req.result, -STORE_E_CORRUPT);
	assert_non_null(strstr(store_errmsg(log), want));
	assert_false(store_failed(log)); /* a read error is reported, not fail-stop */
	store_close(log);
	free(buf);
	fx_restore(fx);
}

/* The commit hint (for raft_create_from) survives a reopen, never goes
 * down, never exceeds the durable index, and forbids cutting below it. */
static void test_commit_hint(void **state)
{
	(void)state;
	char dir[SU_PATH_BYTES];
	su_tmpdir(dir, sizeof(dir));
	struct store_config cfg;
	su_config(&cfg, dir, STORE_ENGINE_PWRITE, 64u << 10);
	struct store_log *log = su_open(&cfg);
	assert_int_equal(store_commit_hint(log), 0);
	su_append(log, 1, 100, 1, 16, 10);
	assert_int_equal(store_flush(log), 0);
	assert_int_equal(store_save_commit_hint(log, 50), 0);
	assert_int_equal(store_commit_hint(log), 50);
	assert_int_equal(store_save_commit_hint(log, 200), 0); /* capped: durable 100 */
	assert_int_equal(store_commit_hint(log), 100);
	assert_int_equal(store_save_commit_hint(log, 30), 0); /* never lowered */
	assert_int_equal(store_commit_hint(log), 100);
	struct raft_hard_state hs = {.term = 2, .vote = 1};
	assert_int_equal(store_save_hard_state(log, &hs), 0); /* keeps the hint */
	store_close(log);
	log = su_open(&cfg);
	assert_int_equal(store_commit_hint(log), 100);
	assert_true(store_truncate_suffix(log, 100) < 0); /* fail-stop, errmsg names it */
	assert_true(store_failed(log));
	store_close(log);
	su_rmtree(dir);
}

/* A store_reset cut short after its state write (crash point reset-state)
 * leaves the old segments under the new point, the log's entry at the point
 * of another term (here (6, 3) under a snapshot at (6, 2)). Recovery
 * continues after the point, and an entry appended after it (7, term 2,
 * below the stale entry's term) must not land behind the stale entry in
 * its file: the next start would refuse an intact log (term backwards).
 * Found by raftsim's reset-state crashes (simsteps). */
static void test_reset_cut_short_then_append(void **state)
{
	(void)state;
	char dir[SU_PATH_BYTES];
	su_tmpdir(dir, sizeof(dir));
	struct store_config cfg;
	su_config(&cfg, dir, STORE_ENGINE_PWRITE, 64u << 10);
	struct store_log *log = su_open(&cfg);
	struct raft_hard_state hs = {.term = 3, .vote = 0};
	assert_int_equal(store_save_hard_state(log, &hs), 0);
	su_append(log, 1, 5, 1, 16, 5);
	su_append(log, 6, 1, 3, 16, 1);
	/* store_reset(log, 6, 2) up to its step 2: the state names (6, 2),
	 * no segment removed yet. */
	raft_index firsts[1];
	assert_int_equal(store_compact_detach(log, 6, 2, firsts, 0), 0);
	store_close(log);

	log = su_open(&cfg);
	assert_int_equal(store_last_index(log), 6);
	assert_int_equal(store_last_term(log), 2);
	su_append(log, 7, 1, 2, 16, 1);
	store_close(log);

	log = su_open(&cfg); /* refused before the fix: index 7 term 2 after term 3 */
	assert_int_equal(store_last_index(log), 7);
	assert_int_equal(store_last_term(log), 2);
	su_verify(log, 7, 7, 2, 16);
	store_close(log);
	su_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_torn_tail_every_byte),
		cmocka_unit_test(test_bit_flips_refused),
		cmocka_unit_test(test_index_gap_refused),
		cmocka_unit_test(test_term_backwards_refused),
		cmocka_unit_test(test_missing_segment_refused),
		cmocka_unit_test(test_bad_segment_name_refused),
		cmocka_unit_test(test_blank_tail_segment_removed),
		cmocka_unit_test(test_damage_in_tail_segment_not_last_record_refused),
		cmocka_unit_test(test_missing_state_file_refused),
		cmocka_unit_test(test_torn_first_state_write),
		cmocka_unit_test(test_damage_found_by_reads),
		cmocka_unit_test(test_commit_hint),
		cmocka_unit_test(test_reset_cut_short_then_append),
	};
	return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
