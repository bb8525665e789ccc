/* SPDX-License-Identifier: MIT */
/*
 * Goal: disk faults never make the log lie. A failed fsync is fail-stop:
 * nothing at or after the failed group is reported durable, every later
 * call is refused, and the message names the file, the offset and the
 * error. A crash loses only what was not acknowledged, even when the last
 * write is torn at a random byte; the log always reopens.
 * Method: the simulated disk (engine sim): armed sync failures; then 1000
 * seeded rounds of random batches, random polls and simulated latency,
 * a crash at a random moment with a torn last write half of the time,
 * reopen, and a check of every acknowledged entry against what was
 * appended.
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

#include "storage_util.h"

struct acked {
	raft_index index;
	raft_term term;
	uint32_t calls;
};

static void on_durable(void *user, raft_index index, raft_term term)
{
	struct acked *a = user;
	assert_true(index > a->index);
	a->index = index;
	a->term = term;
	a->calls++;
}

static struct store_log *open_sim(struct store_sim *sim, struct acked *acked, uint64_t seg_bytes)
{
	struct store_config cfg;
	su_config(&cfg, NULL, STORE_ENGINE_SIM, seg_bytes);
	cfg.sim = sim;
	cfg.on_durable = on_durable;
	cfg.on_durable_user = acked;
	return su_open(&cfg);
}

static void test_fsync_failure_is_fail_stop(void **state)
{
	(void)state;
	struct store_sim *sim = NULL;
	struct store_sim_config sc = {.seed = 1, .latency_us_min = 50, .latency_us_max = 50};
	assert_int_equal(store_sim_create(&sc, &sim), 0);
	struct acked acked = {0};
	struct store_log *log = open_sim(sim, &acked, 4096);
	su_append(log, 1, 10, 1, 100, 3);
	assert_int_equal(acked.index, 10);

	/* The next group's sync fails. */
	store_sim_fail_sync(sim, 1);
	uint8_t p[100];
	memset(p, 1, sizeof(p));
	for (raft_index i = 11; i <= 15; i++) {
		struct store_entry e = {.index = i, .term = 1, .payload = p, .payload_bytes = 100};
		assert_int_equal(store_append(log, &e, 1), 0);
	}
	assert_int_equal(store_flush(log), -STORE_E_FAILED);
	assert_true(store_failed(log));
	assert_int_equal(acked.index, 10); /* nothing after the failure */
	assert_int_equal(store_durable_index(log), 10);
	const char *msg = store_errmsg(log);
	printf("fail-stop message: %s\n", msg);
	assert_non_null(strstr(msg, "sim:/log-"));
	assert_non_null(strstr(msg, "offset"));
	assert_non_null(strstr(msg, "Input/output error"));
	/* Everything is refused from now on. */
	struct store_entry e = {.index = 16, .term = 1, .payload = p, .payload_bytes = 100};
	assert_int_equal(store_append(log, &e, 1), -STORE_E_FAILED);
	assert_int_equal(store_poll(log, true), -STORE_E_FAILED);
	struct raft_hard_state hs = {.term = 2, .vote = 1};
	assert_int_equal(store_save_hard_state(log, &hs), -STORE_E_FAILED);
	uint8_t buf[1024];
	struct store_entry out[4];
	assert_int_equal(store_read(log, 1, buf, sizeof(buf), out, 4), -STORE_E_FAILED);
	assert_int_equal(store_truncate_suffix(log, 5), -STORE_E_FAILED);
	assert_int_equal(store_compact(log, 5, 1), -STORE_E_FAILED);
	assert_int_equal(acked.index, 10);
	store_close(log);

	/* A restart finds what was acknowledged. */
	store_sim_crash(sim);
	acked = (struct acked){0};
	log = open_sim(sim, &acked, 4096);
	assert_true(store_last_index(log) >= 10);
	su_verify(log, 1, 10, 1, 100);
	store_close(log);
	store_sim_destroy(sim);
}

static void test_hard_state_sync_failure_is_fail_stop(void **state)
{
	(void)state;
	struct store_sim *sim = NULL;
	struct store_sim_config sc = {.seed = 2};
	assert_int_equal(store_sim_create(&sc, &sim), 0);
	struct acked acked = {0};
	struct store_log *log = open_sim(sim, &acked, 4096);
	struct raft_hard_state a = {.term = 1, .vote = 1}, b = {.term = 2, .vote = 3};
	assert_int_equal(store_save_hard_state(log, &a), 0);
	store_sim_fail_sync(sim, 1);
	assert_int_equal(store_save_hard_state(log, &b), -STORE_E_FAILED);
	assert_non_null(strstr(store_errmsg(log), "state"));
	struct raft_hard_state hs;
	store_hard_state(log, &hs);
	assert_int_equal(hs.term, 1); /* not pretended saved */
	store_close(log);
	store_sim_crash(sim);
	log = open_sim(sim, &acked, 4096);
	store_hard_state(log, &hs);
	assert_int_equal(hs.term, 1);
	assert_int_equal(hs.vote, 1);
	store_close(log);
	store_sim_destroy(sim);
}

static void test_sim_bit_flip_refused(void **state)
{
	(void)state;
	struct store_sim *sim = NULL;
	struct store_sim_config sc = {.seed = 3};
	assert_int_equal(store_sim_create(&sc, &sim), 0);
	struct acked acked = {0};
	struct store_log *log = open_sim(sim, &acked, 4096);
	su_append(log, 1, 10, 1, 24, 10); /* 56-byte records */
	assert_int_equal(store_record_bytes(24), 56);
	store_close(log);
	char name[64];
	su_segment_name(1, name, sizeof(name));
	assert_int_equal(store_sim_flip_bit(sim, name, 3 * 56 + 40, 5), 0);
	struct store_config cfg;
	su_config(&cfg, NULL, STORE_ENGINE_SIM, 4096);
	cfg.sim = sim;
	char errmsg[512];
	assert_int_equal(store_open(&cfg, &log, errmsg, sizeof(errmsg)), -STORE_E_CORRUPT);
	assert_non_null(strstr(errmsg, "offset 168:"));
	store_sim_destroy(sim);
}

/* The payload term recorded for each appended index of one round. */
#define CRASH_INDEX_MAX 20000u

struct crash_round {
	struct store_sim *sim;
	struct store_log *log;
	struct acked acked;
	raft_term terms[CRASH_INDEX_MAX + 1];
	uint64_t rng;
};

static uint64_t round_rand(struct crash_round *r)
{
	r->rng = r->rng * 6364136223846793005ull + 1442695040888963407ull;
	return r->rng >> 33;
}

/* Appends random batches and polls at random until the crash step. */
static void crash_round_run(struct crash_round *r, raft_term term)
{
	uint8_t payloads[8][300];
	uint32_t steps = 1 + (uint32_t)(round_rand(r) % 40);
	for (uint32_t s = 0; s < steps; s++) {
		uint32_t action = (uint32_t)(round_rand(r) % 4);
		if (action < 2 && store_last_index(r->log) + 8 < CRASH_INDEX_MAX) {
			struct store_entry batch[8];
			uint32_t n = 1 + (uint32_t)(round_rand(r) % 8);
			raft_index first = store_last_index(r->log) + 1;
			for (uint32_t i = 0; i < n; i++) {
				uint32_t bytes = (uint32_t)(round_rand(r) % 300);
				su_payload(first + i, term, payloads[i], bytes);
				batch[i] = (struct store_entry){.index = first + i, .term = term,
								.payload = payloads[i],
								.payload_bytes = bytes};
			}
			int rc = store_append(r->log, batch, n);
			assert_true(rc == 0 || rc == -STORE_E_BUSY);
			for (uint32_t i = 0; rc == 0 && i < n; i++) {
				r->terms[first + i] = term;
			}
		} else if (action == 2) {
			store_sim_advance_us(r->sim, round_rand(r) % 150);
		} else {
			assert_true(store_poll(r->log, false) >= 0);
		}
	}
}

/* After the restart: every acknowledged entry is there, intact. */
static void crash_round_check(struct crash_round *r, raft_index acked_index)
{
	assert_true(store_last_index(r->log) >= acked_index);
	static uint8_t buf[1u << 20];
	static struct store_entry ents[256];
	uint8_t want[300];
	raft_index next = store_first_index(r->log);
	while (next <= acked_index) {
		int n = store_read(r->log, next, buf, sizeof(buf), ents, 256);
		assert_true(n > 0);
		for (int i = 0; i < n && next <= acked_index; i++, next++) {
			assert_int_equal(ents[i].index, next);
			assert_int_equal(ents[i].term, r->terms[next]);
			su_payload(next, ents[i].term, want, ents[i].payload_bytes);
			assert_memory_equal(ents[i].payload, want, ents[i].payload_bytes);
		}
	}
}

static void test_sim_crash_loses_only_unacknowledged(void **state)
{
	(void)state;
	struct crash_round *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	uint32_t torn_cuts = 0;
	for (uint64_t seed = 1; seed <= 100; seed++) {
		struct store_sim_config sc = {.seed = seed, .latency_us_min = 20,
					      .latency_us_max = 200, .tear_ppm = 500000};
		assert_int_equal(store_sim_create(&sc, &r->sim), 0);
		r->rng = seed;
		raft_index acked_before = 0;
		for (raft_term term = 1; term <= 10; term++) {
			r->acked = (struct acked){.index = acked_before};
			r->log = open_sim(r->sim, &r->acked, 4096);
			crash_round_check(r, acked_before);
			struct store_stats st;
			store_stats(r->log, &st);
			torn_cuts += st.torn_tail_bytes > 0;
			r->acked.index = store_last_index(r->log); /* durable after open */
			crash_round_run(r, term);
			acked_before = r->acked.index;
			store_sim_crash(r->sim);
			store_close(r->log);
		}
		r->acked = (struct acked){0};
		r->log = open_sim(r->sim, &r->acked, 4096);
		crash_round_check(r, acked_before);
		store_close(r->log);
		store_sim_destroy(r->sim);
	}
	printf("1000 crashes, %u reopened after cutting a torn tail\n", torn_cuts);
	assert_true(torn_cuts > 0); /* the tears did happen */
	free(r);
}

static void test_planted_bug_refused_in_production(void **state)
{
	(void)state;
	struct store_sim *sim = NULL;
	struct store_sim_config sc = {.seed = 4};
	assert_int_equal(store_sim_create(&sc, &sim), 0);
	struct store_config cfg;
	su_config(&cfg, NULL, STORE_ENGINE_SIM, 4096);
	cfg.sim = sim;
	cfg.planted_ack_unsynced = true;
	struct store_log *log = NULL;
	assert_int_equal(store_open(&cfg, &log, NULL, 0), -STORE_E_CONFIG);
	assert_null(log);
	store_sim_destroy(sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fsync_failure_is_fail_stop),
		cmocka_unit_test(test_hard_state_sync_failure_is_fail_stop),
		cmocka_unit_test(test_sim_bit_flip_refused),
		cmocka_unit_test(test_sim_crash_loses_only_unacknowledged),
		cmocka_unit_test(test_planted_bug_refused_in_production),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
