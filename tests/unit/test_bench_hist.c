/* SPDX-License-Identifier: MIT */
/*
 * Goal: the benchmarks' histogram reports every percentile within 1 % of
 * the exact one (its promise is 0.4 %), merges exactly, and is exact at the
 * ends (min, max) and for small values.
 * Method: seeded samples from several distributions (uniform over 6
 * decades, a long tail, a constant, small integers); the exact
 * nearest-rank percentiles come from sorting the samples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "hist.h"

#define SAMPLES 100000

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : (x > y);
}

static uint64_t exact(const uint64_t *sorted, size_t n, double q)
{
	size_t rank = (size_t)ceil(q * (double)n);
	return sorted[(rank == 0 ? 1 : rank) - 1];
}

static void check_distribution(int kind)
{
	static uint64_t v[SAMPLES];
	static struct bench_hist h, a, b;
	uint64_t seed = 7 + (uint64_t)kind;
	bench_hist_reset(&h);
	bench_hist_reset(&a);
	bench_hist_reset(&b);
	for (size_t i = 0; i < SAMPLES; i++) {
		switch (kind) {
		case 0: /* uniform in log scale, 1 us .. 1 s in ns */
			v[i] = (uint64_t)(1000.0 * pow(10.0, (double)(rnd(&seed) % 600000) / 100000.0));
			break;
		case 1: /* mostly ~50 us, 0.1 % around 20 ms */
			v[i] = rnd(&seed) % 1000 ? 50000 + rnd(&seed) % 5000 : 20000000 + rnd(&seed) % 1000000;
			break;
		case 2:
			v[i] = 123456789;
			break;
		default: /* small integers: exact */
			v[i] = rnd(&seed) % 100;
			break;
		}
		bench_hist_record(&h, v[i]);
		bench_hist_record(i % 2 ? &a : &b, v[i]);
	}
	bench_hist_merge(&a, &b);
	qsort(v, SAMPLES, sizeof(v[0]), cmp_u64);
	static const double qs[] = {0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t want = exact(v, SAMPLES, qs[i]);
		uint64_t got = bench_hist_percentile(&h, qs[i]);
		double err = want ? fabs((double)got - (double)want) / (double)want : (double)got;
		if (err > 0.01 || (kind == 3 && got != want)) {
			fail_msg("distribution %d, q %.4f: got %llu, exact %llu (%.3f %%)", kind, qs[i],
				 (unsigned long long)got, (unsigned long long)want, 100 * err);
		}
		assert_int_equal(bench_hist_percentile(&a, qs[i]), got); /* merge is exact */
	}
	assert_int_equal(bench_hist_percentile(&h, 0), v[0]);
	assert_int_equal(bench_hist_percentile(&h, 1), v[SAMPLES - 1]);
}

static void test_percentiles_within_one_percent(void **state)
{
	(void)state;
	for (int kind = 0; kind < 4; kind++) {
		check_distribution(kind);
	}
}

static void test_extremes(void **state)
{
	(void)state;
	static struct bench_hist h;
	bench_hist_reset(&h);
	assert_int_equal(bench_hist_percentile(&h, 0.5), 0);
	bench_hist_record(&h, 0);
	bench_hist_record(&h, UINT64_MAX);
	assert_int_equal(bench_hist_percentile(&h, 0), 0);
	assert_int_equal(bench_hist_percentile(&h, 1), UINT64_MAX);
	assert_int_equal(bench_hist_percentile(&h, 0.5), 0);
	assert_true(bench_hist_mean(&h) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentiles_within_one_percent),
		cmocka_unit_test(test_extremes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
