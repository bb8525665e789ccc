/* SPDX-License-Identifier: MIT */
/*
 * Goal: raftbench's pure parts do what its numbers rely on: the open loop's
 * Poisson schedule has the asked rate, latency counts from the intended
 * send time so a stalled sender's stall shows up (no coordinated omission),
 * the sweep stops at the knee and not before, the stage breakdown adds up
 * (also when replication beats the leader's own write, and not across
 * machines' clocks), and the outputs carry their unit-named fields.
 * Method: a fixed seed and 100k draws for the schedule; a simulated sender
 * with a 500 ms stall over a 100 us server; synthetic sweep steps and
 * trace stamps with known answers; JSON printed into a memory stream.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb_core.h"

#define DRAWS 100000u

static void test_poisson_mean_and_spread(void **state)
{
	(void)state;
	struct rb_rng r;
	rb_rng_seed(&r, 42);
	double rate_per_s = 10000; /* mean gap 100 us */
	double sum = 0, sum_sq = 0;
	for (uint32_t i = 0; i < DRAWS; i++) {
		double gap_ns = (double)rb_exp_interval_ns(&r, rate_per_s);
		sum += gap_ns;
		sum_sq += gap_ns * gap_ns;
	}
	double mean_ns = sum / DRAWS;
	double sd_ns = sqrt(sum_sq / DRAWS - mean_ns * mean_ns);
	assert_true(fabs(mean_ns - 100000.0) < 0.02 * 100000.0);
	/* Exponential: the standard deviation equals the mean. */
	assert_true(fabs(sd_ns - mean_ns) < 0.05 * mean_ns);
}

static void test_schedule_rate_and_replay(void **state)
{
	(void)state;
	struct rb_sched a, b;
	rb_sched_init(&a, 7, 50000, 1000);
	rb_sched_init(&b, 7, 50000, 1000);
	uint64_t prev_ns = 1000, last_ns = 0;
	for (uint32_t i = 0; i < DRAWS; i++) {
		last_ns = rb_sched_pop(&a);
		assert_true(last_ns >= prev_ns);
		assert_int_equal(last_ns, rb_sched_pop(&b)); /* same seed, same times */
		prev_ns = last_ns;
	}
	double achieved_per_s = DRAWS / ((double)(last_ns - 1000) / 1e9);
	assert_true(fabs(achieved_per_s - 50000) < 0.02 * 50000);
}

/* An open loop at 1000/s for 10 s over a server answering in 100 us; the
 * sender cannot send between 2.0 s and 2.5 s. */
static void test_stall_counts_from_intended_time(void **state)
{
	(void)state;
	static struct bench_hist intended, actual;
	bench_hist_reset(&intended);
	bench_hist_reset(&actual);
	struct rb_sched s;
	rb_sched_init(&s, 1, 1000, 0);
	const uint64_t stall_from_ns = 2000000000ull, stall_to_ns = 2500000000ull;
	const uint64_t service_ns = 100000;
	uint64_t stalled = 0;
	while (rb_sched_peek(&s) < 10ull * RB_NS_PER_S) {
		uint64_t intended_ns = rb_sched_pop(&s);
		uint64_t send_ns = intended_ns;
		if (send_ns >= stall_from_ns && send_ns < stall_to_ns) {
			send_ns = stall_to_ns;
			stalled++;
		}
		uint64_t done_ns = send_ns + service_ns;
		bench_hist_record(&intended, rb_latency_ns(intended_ns, done_ns));
		bench_hist_record(&actual, rb_latency_ns(send_ns, done_ns));
	}
	/* ~500 requests were due in the stall: their wait is in the latency. */
	assert_true(stalled > 400 && stalled < 600);
	assert_true(intended.max > 400000000ull && intended.max <= 500000000ull + service_ns);
	/* 5 % of the requests waited; p99 must show it, p50 must not. */
	assert_true(bench_hist_percentile(&intended, 0.99) > 100000000ull);
	assert_true(bench_hist_percentile(&intended, 0.5) < 2 * service_ns);
	/* Measured from the real send, the stall vanishes: the omission. */
	assert_true(actual.max < 2 * service_ns);
	assert_int_equal(rb_latency_ns(500, 400), 0); /* never negative */
}

static struct rb_step step(double offered, double achieved, uint64_t p99_us)
{
	struct rb_step s = {.offered_per_s = offered, .achieved_per_s = achieved,
			    .latency_ns_p50 = p99_us * 500, .latency_ns_p99 = p99_us * 1000,
			    .latency_ns_p999 = p99_us * 2000};
	return s;
}

static void test_sweep_knee(void **state)
{
	(void)state;
	struct rb_step steps[8];
	steps[0] = step(1000, 1000, 100);
	assert_int_equal(rb_sweep_knee(steps, 1), RB_KNEE_NONE);
	steps[1] = step(1500, 1490, 110);
	steps[2] = step(2250, 2025, 1000); /* exactly 90 % and exactly 10x: not yet */
	assert_int_equal(rb_sweep_knee(steps, 2), RB_KNEE_NONE);
	assert_int_equal(rb_sweep_knee(steps, 3), RB_KNEE_NONE);
	steps[3] = step(3375, 3000, 300); /* 88.9 % of offered */
	assert_int_equal(rb_sweep_knee(steps, 4), RB_KNEE_THROUGHPUT);
	steps[3] = step(3375, 3370, 1001); /* p99 > 10x the first step's */
	assert_int_equal(rb_sweep_knee(steps, 4), RB_KNEE_LATENCY);
	/* A first step already below 90 % is a knee by itself. */
	steps[0] = step(1000, 500, 100);
	assert_int_equal(rb_sweep_knee(steps, 1), RB_KNEE_THROUGHPUT);
}

static uint64_t node_sum(const struct rb_stage_sample *s)
{
	uint64_t sum = 0;
	for (uint32_t i = RB_STAGE_RX_TO_PROPOSED; i <= RB_STAGE_APPLIED_TO_REPLY; i++) {
		sum += s->ns[i];
	}
	return sum;
}

static void test_stage_breakdown(void **state)
{
	(void)state;
	struct rb_stage_sample s;
	const uint64_t t[6] = {1000, 1100, 1500, 1700, 1800, 1900};
	assert_true(rb_stages_compute(900, t, 6, 2000, &s));
	const uint64_t want[RB_STAGES_COUNT] = {100, 100, 400, 200, 100, 100, 100};
	for (uint32_t i = 0; i < RB_STAGES_COUNT; i++) {
		assert_true(s.have[i]);
		assert_int_equal(s.ns[i], want[i]);
	}
	assert_false(s.replicated_first);
	assert_int_equal(node_sum(&s) + s.ns[0] + s.ns[6], 2000 - 900);

	/* The followers' quorum before the leader's disk: 0, and applied
	 * waits from durable, so the stages still add up. */
	const uint64_t early[6] = {1000, 1100, 1500, 1300, 1800, 1900};
	assert_true(rb_stages_compute(900, early, 6, 2000, &s));
	assert_true(s.replicated_first);
	assert_int_equal(s.ns[RB_STAGE_DURABLE_TO_REPLICATED], 0);
	assert_int_equal(s.ns[RB_STAGE_REPLICATED_TO_APPLIED], 300);
	assert_int_equal(node_sum(&s), 1900 - 1000);

	/* Another machine's clock: the client-side stages are left out. */
	assert_true(rb_stages_compute(5000000, t, 6, 5100000, &s));
	assert_false(s.have[RB_STAGE_CLIENT_TO_RX]);
	assert_false(s.have[RB_STAGE_REPLY_TO_CLIENT]);
	assert_true(s.have[RB_STAGE_PROPOSED_TO_DURABLE]);
	/* No stamps: nothing. */
	assert_false(rb_stages_compute(900, t, 0, 2000, &s));
}

static void test_helpers(void **state)
{
	(void)state;
	const char *st = "{\"id\":2,\"leader_hint\":9,\"leader\": 3,\"term\":5}";
	assert_int_equal(rb_json_uint(st, strlen(st), "leader"), 3);
	assert_int_equal(rb_json_uint(st, strlen(st), "term"), 5);
	assert_int_equal(rb_json_uint(st, strlen(st), "missing"), -1);
	/* A leader's status names its role "leader" before its "leader"
	 * key: the value is not the key (raftbench took the leader's status
	 * for "no leader" and asked the next node, 5 s when it was down). */
	const char *lead = "{\"id\":1,\"role\":\"leader\",\"term\":1,\"leader\" : 1}";
	assert_int_equal(rb_json_uint(lead, strlen(lead), "leader"), 1);
	assert_int_equal(rb_json_uint(lead, strlen(lead), "role"), -1);
	const char *none = "{\"leader\":null}";
	assert_int_equal(rb_json_uint(none, strlen(none), "leader"), -1);
	double v[5] = {5, 1, 3, 2, 4};
	assert_true(rb_quantile(v, 5, 0.5) == 3);
	assert_true(rb_quantile(v, 5, 0.99) == 5);
	assert_true(rb_quantile(v, 5, 0) == 1);
}

static void test_json_fields(void **state)
{
	(void)state;
	struct rb_result *r = malloc(sizeof(*r));
	assert_non_null(r);
	rb_result_init(r);
	r->mode = "closed";
	r->concurrency = 1;
	r->duration_s = 2;
	r->ok_in_window = 2000;
	r->writes_ok_in_window = 1000;
	for (uint64_t i = 1; i <= 1000; i++) {
		bench_hist_record(&r->total.latency_ns, i * 1000); /* 1..1000 us */
	}
	struct rb_stage_sample s;
	const uint64_t t[6] = {1000, 1100, 1500, 1700, 1800, 1900};
	assert_true(rb_stages_compute(900, t, 6, 2000, &s));
	rb_result_add_stages(r, &s);
	char *text = NULL;
	size_t text_bytes = 0;
	FILE *f = open_memstream(&text, &text_bytes);
	rb_print_json(f, r);
	fclose(f);
	assert_non_null(strstr(text, "\"ops_per_s\":1000.0"));
	assert_non_null(strstr(text, "\"commits_per_s\":500.0"));
	assert_non_null(strstr(text, "\"latency_us_p50\":500."));
	assert_non_null(strstr(text, "\"latency_us_p9999\":"));
	assert_non_null(strstr(text, "\"stages\":{\"client_to_rx\":{\"p50_us\":0.1,\"p99_us\":0.1"));
	free(text);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poisson_mean_and_spread),
		cmocka_unit_test(test_schedule_rate_and_replay),
		cmocka_unit_test(test_stall_counts_from_intended_time),
		cmocka_unit_test(test_sweep_knee),
		cmocka_unit_test(test_stage_breakdown),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_json_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
