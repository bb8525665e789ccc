/* SPDX-License-Identifier: MIT */
/*
 * Goal: running out of space is refused cleanly where it can be, never
 * fail-stop and never a changed log: the next segment is prepared only
 * while a segment and the reserve fit (else store_stats.space_short), the
 * active segment keeps taking appends, an append that needs a new segment
 * is refused whole with -STORE_E_NO_SPACE (log unchanged, not failed), and
 * store_space_retry() ends it once space returns; a log reopened while
 * short starts, intact; store_space_check() answers for a snapshot writer.
 * Method: the sim engine with a set amount of free space (its preparation
 * fails with -ENOSPC beyond it), then the pwrite engine on a real
 * directory with a reserve no disk has (statvfs path).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "storage_util.h"

#define SEG_BYTES 4096u	 /* 32 records of 96-byte payloads */
#define PAYLOAD_BYTES 96u
#define PER_SEG 32u
#define RESERVE_BYTES 1024u

static struct store_log *open_sim(struct store_sim *sim)
{
	struct store_config cfg;
	su_config(&cfg, NULL, STORE_ENGINE_SIM, SEG_BYTES);
	cfg.sim = sim;
	cfg.space_reserve_bytes = RESERVE_BYTES;
	return su_open(&cfg);
}

static int append_one(struct store_log *log, raft_index index)
{
	uint8_t p[PAYLOAD_BYTES];
	su_payload(index, 1, p, PAYLOAD_BYTES);
	struct store_entry e = {.index = index, .term = 1, .payload = p,
				.payload_bytes = PAYLOAD_BYTES};
	return store_append(log, &e, 1);
}

static void test_no_space_refuses_the_roll_cleanly(void **state)
{
	(void)state;
	struct store_sim *sim = NULL;
	struct store_sim_config sc = {.seed = 3, .latency_us_min = 10, .latency_us_max = 10};
	assert_int_equal(store_sim_create(&sc, &sim), 0);
	struct store_log *log = open_sim(sim); /* first segment prepared: space unlimited */
	/* Less than a segment + the reserve: the roll into segment 1 takes the
	 * spare prepared at open, but the one after is not started. */
	store_sim_set_space_bytes(sim, SEG_BYTES - 1);
	su_append(log, 1, PER_SEG / 2, 1, PAYLOAD_BYTES, 4);
	struct store_stats st;
	store_stats(log, &st);
	assert_true(st.space_short);
	assert_false(st.segment_next_ready);
	assert_int_equal(st.space_free_bytes, SEG_BYTES - 1);
	/* The active segment's room is still there. */
	su_append(log, PER_SEG / 2 + 1, PER_SEG / 2, 1, PAYLOAD_BYTES, 1);
	assert_int_equal(store_last_index(log), PER_SEG);
	/* One more needs a segment: refused, nothing changed, not failed. */
	assert_int_equal(append_one(log, PER_SEG + 1), -STORE_E_NO_SPACE);
	uint8_t p[3][PAYLOAD_BYTES];
	struct store_entry batch[3];
	for (uint32_t i = 0; i < 3; i++) {
		su_payload(PER_SEG + 1 + i, 1, p[i], PAYLOAD_BYTES);
		batch[i] = (struct store_entry){.index = PER_SEG + 1 + i, .term = 1,
						.payload = p[i], .payload_bytes = PAYLOAD_BYTES};
	}
	assert_int_equal(store_append(log, batch, 3), -STORE_E_NO_SPACE);
	assert_false(store_failed(log));
	assert_int_equal(store_last_index(log), PER_SEG);
	assert_int_equal(store_flush(log), 0);
	assert_int_equal(store_durable_index(log), PER_SEG);
	store_stats(log, &st);
	assert_int_equal(st.no_space_refusals_count, 2);
	assert_int_equal(st.segments_count, 1);
	/* The hard state still goes to its preallocated file. */
	struct raft_hard_state hs = {.term = 2, .vote = 1};
	assert_int_equal(store_save_hard_state(log, &hs), 0);
	/* A snapshot writer's question. */
	assert_int_equal(store_space_check(log, 0), 0);
	assert_int_equal(store_space_check(log, SEG_BYTES), -STORE_E_NO_SPACE);
	assert_int_equal(store_space_retry(log), -STORE_E_NO_SPACE);
	su_verify(log, 1, PER_SEG, 1, PAYLOAD_BYTES);

	/* Reopened while short: it starts, intact, still short. */
	store_close(log);
	log = open_sim(sim);
	assert_int_equal(store_last_index(log), PER_SEG);
	su_verify(log, 1, PER_SEG, 1, PAYLOAD_BYTES);
	store_stats(log, &st);
	assert_true(st.space_short);
	assert_int_equal(append_one(log, PER_SEG + 1), -STORE_E_NO_SPACE);
	struct raft_hard_state got;
	store_hard_state(log, &got);
	assert_int_equal(got.term, 2);

	/* Space returns: the retry ends it, the batch goes in, rolls go on. */
	store_sim_set_space_bytes(sim, UINT64_MAX);
	assert_int_equal(store_space_retry(log), 0);
	store_stats(log, &st);
	assert_false(st.space_short);
	assert_int_equal(store_append(log, batch, 3), 0);
	su_append(log, PER_SEG + 4, 2 * PER_SEG, 1, PAYLOAD_BYTES, 8);
	su_verify(log, 1, 3 * PER_SEG + 3, 1, PAYLOAD_BYTES);
	assert_false(store_failed(log));
	store_close(log);
	store_sim_destroy(sim);
}

/* The preparation itself hits ENOSPC (the space went between the check and
 * the zeros): counted, short, and the roll is refused, not fail-stopped. */
static void test_preparation_enospc_is_no_space(void **state)
{
	(void)state;
	struct store_sim *sim = NULL;
	struct store_sim_config sc = {.seed = 4};
	assert_int_equal(store_sim_create(&sc, &sim), 0);
	struct store_config cfg;
	su_config(&cfg, NULL, STORE_ENGINE_SIM, SEG_BYTES);
	cfg.sim = sim;
	store_sim_hold_prepare(sim, true); /* finishes when the roll waits */
	struct store_log *log = su_open(&cfg);
	su_append(log, 1, PER_SEG, 1, PAYLOAD_BYTES, 4);
	store_sim_set_space_bytes(sim, SEG_BYTES / 2); /* after the check passed */
	assert_int_equal(append_one(log, PER_SEG + 1), -STORE_E_NO_SPACE);
	struct store_stats st;
	store_stats(log, &st);
	assert_true(st.space_short);
	assert_false(store_failed(log));
	assert_int_equal(store_last_index(log), PER_SEG);
	store_sim_set_space_bytes(sim, UINT64_MAX);
	assert_int_equal(store_space_retry(log), 0);
	su_append(log, PER_SEG + 1, PER_SEG, 1, PAYLOAD_BYTES, 4);
	su_verify(log, 1, 2 * PER_SEG, 1, PAYLOAD_BYTES);
	store_close(log);
	store_sim_destroy(sim);
}

/* A batch that rolls twice (tiny segments) with room for the spare but not
 * the segment after it: refused whole, and the log says it is short (the
 * node's alarm and its operator line come from that flag; the refusal once
 * came without it, so the alarm had no line to say why), until the bytes
 * the batch needs fit. */
static void test_two_rolls_short_is_space_short(void **state)
{
	(void)state;
	struct store_sim *sim = NULL;
	struct store_sim_config sc = {.seed = 5};
	assert_int_equal(store_sim_create(&sc, &sim), 0);
	struct store_log *log = open_sim(sim); /* the spare prepared: space unlimited */
	enum { N = PER_SEG + 2 }; /* the first segment (the spare), then one more */
	static uint8_t p[N][PAYLOAD_BYTES];
	struct store_entry batch[N];
	for (uint32_t i = 0; i < N; i++) {
		su_payload(1 + i, 1, p[i], PAYLOAD_BYTES);
		batch[i] = (struct store_entry){.index = 1 + i, .term = 1, .payload = p[i],
						.payload_bytes = PAYLOAD_BYTES};
	}
	store_sim_set_space_bytes(sim, SEG_BYTES + RESERVE_BYTES - 1);
	assert_int_equal(store_append(log, batch, N), -STORE_E_NO_SPACE);
	struct store_stats st;
	store_stats(log, &st);
	assert_true(st.space_short);
	assert_int_equal(st.space_need_bytes, SEG_BYTES);
	assert_false(store_failed(log));
	assert_int_equal(store_last_index(log), 0);
	assert_int_equal(store_space_retry(log), -STORE_E_NO_SPACE);
	/* Room for exactly the segment after the spare: the retry ends it. */
	store_sim_set_space_bytes(sim, SEG_BYTES + RESERVE_BYTES);
	assert_int_equal(store_space_retry(log), 0);
	store_stats(log, &st);
	assert_false(st.space_short);
	store_sim_set_space_bytes(sim, UINT64_MAX);
	assert_int_equal(store_append(log, batch, N), 0);
	assert_int_equal(store_flush(log), 0);
	su_verify(log, 1, N, 1, PAYLOAD_BYTES);
	store_close(log);
	store_sim_destroy(sim);
}

/* statvfs on a real directory: a reserve no disk has refuses a new log's
 * first segment (open says why) and store_space_check answers. */
static void test_real_directory_statvfs(void **state)
{
	(void)state;
	char dir[SU_PATH_BYTES];
	su_tmpdir(dir, sizeof(dir));
	struct store_config cfg;
	su_config(&cfg, dir, STORE_ENGINE_PWRITE, 1u << 20);
	cfg.space_reserve_bytes = 1ull << 62;
	struct store_log *log = NULL;
	char why[512];
	assert_int_equal(store_open(&cfg, &log, why, sizeof(why)), -STORE_E_NO_SPACE);
	assert_null(log);
	assert_non_null(strstr(why, "no space"));
	cfg.space_reserve_bytes = 0;
	log = su_open(&cfg);
	assert_int_equal(store_space_check(log, 4096), 0);
	struct store_stats st;
	store_stats(log, &st);
	assert_true(st.space_free_bytes > 4096);
	assert_int_equal(store_space_check(log, UINT64_MAX / 2), -STORE_E_NO_SPACE);
	assert_false(st.space_short);
	store_close(log);
	su_rmtree(dir);
}

/* The snapshot writer's check (any thread, statvfs): what fits passes, a
 * reserve above the free space refuses with ENOSPC and says the figures. */
static void test_snapshot_space_check(void **state)
{
	(void)state;
	char dir[SU_PATH_BYTES];
	su_tmpdir(dir, sizeof(dir));
	char why[256] = "";
	assert_int_equal(store_snap_space_check(dir, 4096, 0, why, sizeof(why)), 0);
	assert_int_equal(store_snap_space_check(dir, 4096, UINT64_MAX / 2, why, sizeof(why)),
			 -ENOSPC);
	assert_non_null(strstr(why, "space_reserve_bytes"));
	assert_int_equal(store_snap_space_check(dir, UINT64_MAX, 1, why, sizeof(why)), -ENOSPC);
	char gone[SU_PATH_BYTES + 8];
	snprintf(gone, sizeof(gone), "%s/none", dir);
	assert_int_equal(store_snap_space_check(gone, 1, 0, why, sizeof(why)), -ENOENT);
	su_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_space_refuses_the_roll_cleanly),
		cmocka_unit_test(test_preparation_enospc_is_no_space),
		cmocka_unit_test(test_two_rolls_short_is_space_short),
		cmocka_unit_test(test_real_directory_statvfs),
		cmocka_unit_test(test_snapshot_space_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
