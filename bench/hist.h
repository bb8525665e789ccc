/* SPDX-License-Identifier: MIT */
/*
 * hist.h - a log-linear latency histogram for the benchmarks (storebench,
 * raftbench): 128 sub-buckets per power of two, so any percentile it
 * reports is within 0.4 % of the true sample value (the bucket's middle,
 * and a bucket spans 1/128 of its lower bound). Fixed size (58 KiB),
 * O(1) to record, mergeable across threads or runs. Values are unitless
 * (the benchmarks record nanoseconds); 0 .. UINT64_MAX all fit.
 */
#ifndef RN_BENCH_HIST_H
#define RN_BENCH_HIST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_HIST_SUB_BITS 7u
#define BENCH_HIST_BUCKETS ((64u - BENCH_HIST_SUB_BITS + 1u) << BENCH_HIST_SUB_BITS)

struct bench_hist {
	uint64_t counts[BENCH_HIST_BUCKETS];
	uint64_t total;
	uint64_t min;
	uint64_t max;
	double sum;
};
#ifndef __cplusplus
_Static_assert((1u << BENCH_HIST_SUB_BITS) == 128, "128 sub-buckets per power of two");
_Static_assert(sizeof(struct bench_hist) / 1024 == 58, "58 KiB");
#endif

void bench_hist_reset(struct bench_hist *h);
void bench_hist_record(struct bench_hist *h, uint64_t value);
void bench_hist_merge(struct bench_hist *into, const struct bench_hist *from);
/* Nearest-rank percentile, q in [0, 1]: q = 0 gives the minimum and q = 1
 * the maximum exactly; 0 when empty. */
uint64_t bench_hist_percentile(const struct bench_hist *h, double q);
double bench_hist_mean(const struct bench_hist *h);

#ifdef __cplusplus
}
#endif

#endif
