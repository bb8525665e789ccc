/* SPDX-License-Identifier: MIT */
/*
 * hist.c - see hist.h. Bucket b < 128 holds the value b exactly; above,
 * bucket (e - 6) * 128 + s holds [2^e + s * 2^(e-7), 2^e + (s+1) * 2^(e-7))
 * for the top bit e >= 7 and the next seven bits s.
 */
#include "hist.h"

#include <string.h>

#define SUB (1u << BENCH_HIST_SUB_BITS)

static uint32_t hist_bucket(uint64_t v)
{
	if (v < SUB) {
		return (uint32_t)v;
	}
	uint32_t exp = 63u - (uint32_t)__builtin_clzll(v);
	uint32_t sub = (uint32_t)(v >> (exp - BENCH_HIST_SUB_BITS)) & (SUB - 1u);
	return ((exp - BENCH_HIST_SUB_BITS + 1u) << BENCH_HIST_SUB_BITS) + sub;
}

/* The middle of bucket b's range (its only value, below 128). */
static uint64_t hist_bucket_mid(uint32_t b)
{
	if (b < SUB) {
		return b;
	}
	uint32_t exp = (b >> BENCH_HIST_SUB_BITS) + BENCH_HIST_SUB_BITS - 1u;
	uint64_t sub = b & (SUB - 1u);
	uint64_t width = 1ull << (exp - BENCH_HIST_SUB_BITS);
	return (1ull << exp) + sub * width + width / 2;
}

void bench_hist_reset(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void bench_hist_record(struct bench_hist *h, uint64_t value)
{
	h->counts[hist_bucket(value)]++;
	h->total++;
	h->sum += (double)value;
	if (value < h->min) {
		h->min = value;
	}
	if (value > h->max) {
		h->max = value;
	}
}

void bench_hist_merge(struct bench_hist *into, const struct bench_hist *from)
{
	for (uint32_t b = 0; b < BENCH_HIST_BUCKETS; b++) {
		into->counts[b] += from->counts[b];
	}
	into->total += from->total;
	into->sum += from->sum;
	if (from->total > 0) {
		into->min = from->min < into->min ? from->min : into->min;
		into->max = from->max > into->max ? from->max : into->max;
	}
}

uint64_t bench_hist_percentile(const struct bench_hist *h, double q)
{
	if (h->total == 0) {
		return 0;
	}
	if (q <= 0) {
		return h->min;
	}
	if (q >= 1) {
		return h->max;
	}
	/* Nearest rank: the smallest sample with at least q of them at or
	 * below it. */
	uint64_t rank = (uint64_t)(q * (double)h->total);
	if ((double)rank < q * (double)h->total) {
		rank++;
	}
	rank = rank == 0 ? 1 : rank;
	uint64_t seen = 0;
	for (uint32_t b = 0; b < BENCH_HIST_BUCKETS; b++) {
		seen += h->counts[b];
		if (seen >= rank) {
			uint64_t mid = hist_bucket_mid(b);
			return mid < h->min ? h->min : mid > h->max ? h->max : mid;
		}
	}
	return h->max;
}

double bench_hist_mean(const struct bench_hist *h)
{
	return h->total ? h->sum / (double)h->total : 0.0;
}
