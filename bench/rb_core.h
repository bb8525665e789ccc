/* SPDX-License-Identifier: MIT */
/*
 * rb_core.h - the parts of raftbench that do no I/O and need no cluster:
 * the seeded Poisson schedule of the open loop, latency from the intended
 * send time (no coordinated omission), the per-stage breakdown of traced
 * requests, the knee test of the rate sweep, quantiles of small samples and
 * the "leader" field of a node's status JSON. tests/unit/test_bench_raftbench.c
 * checks them; rb_output.c prints what they compute.
 */
#ifndef RN_BENCH_RB_CORE_H
#define RN_BENCH_RB_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hist.h"

#define RB_NS_PER_S 1000000000ull
#define RB_TRACE_STAGES 6u /* = DP_TRACE_STAGES; rb_core does not need dataplane.h */

/* ---- Random numbers and the open-loop schedule ------------------------- */

struct rb_rng {
	uint64_t state;
};

void rb_rng_seed(struct rb_rng *r, uint64_t seed);
uint64_t rb_rng_next(struct rb_rng *r);
/* Uniform in (0, 1]: never 0, so -log() is finite. */
double rb_rng_unit(struct rb_rng *r);
/* One exponential inter-arrival time of a Poisson process of rate_per_s. */
uint64_t rb_exp_interval_ns(struct rb_rng *r, double rate_per_s);

/* Intended send times of an open loop: start, then exponential gaps. The
 * schedule never looks at when requests were really sent, which is what
 * keeps a slow sender from hiding its own stalls. */
struct rb_sched {
	struct rb_rng rng;
	double rate_per_s;
	uint64_t next_ns;
};

void rb_sched_init(struct rb_sched *s, uint64_t seed, double rate_per_s, uint64_t start_ns);
static inline uint64_t rb_sched_peek(const struct rb_sched *s)
{
	return s->next_ns;
}
/* Returns the next intended send time and draws the one after it. */
uint64_t rb_sched_pop(struct rb_sched *s);

/* Latency of one request: from when it should have been sent (open loop:
 * the schedule; closed loop: when its slot freed) to its reply. */
static inline uint64_t rb_latency_ns(uint64_t intended_ns, uint64_t done_ns)
{
	return done_ns > intended_ns ? done_ns - intended_ns : 0;
}

/* ---- Per-stage breakdown of traced requests ---------------------------- */

enum rb_stage {
	RB_STAGE_CLIENT_TO_RX = 0, /* same clock only (one machine) */
	RB_STAGE_RX_TO_PROPOSED,
	RB_STAGE_PROPOSED_TO_DURABLE,
	RB_STAGE_DURABLE_TO_REPLICATED, /* max(0, ...): see rb_stages_compute */
	RB_STAGE_REPLICATED_TO_APPLIED,
	RB_STAGE_APPLIED_TO_REPLY,
	RB_STAGE_REPLY_TO_CLIENT, /* same clock only */
	RB_STAGES_COUNT,
};

const char *rb_stage_name(enum rb_stage s);

struct rb_stage_sample {
	uint64_t ns[RB_STAGES_COUNT];
	bool have[RB_STAGES_COUNT];
	/* The majority held the entry before the leader's own write was
	 * durable (the followers were faster than the local disk). */
	bool replicated_first;
};

/*
 * Splits one traced request into stages. trace_ns are the node's
 * CLOCK_MONOTONIC stamps (rx, proposed, durable, replicated, applied,
 * reply); send_ns and recv_ns are the client's. The client-side stages are
 * filled only when the stamps fall inside [send_ns, recv_ns] (one machine,
 * one clock; network namespaces share it); elsewhere the clocks are
 * unrelated. Replication runs in parallel with the leader's own write, so
 * "replicated" may come before "durable": that stage is then 0 and the next
 * one starts at the later of the two, so the node's stages still add up to
 * reply - rx. Returns false (nothing filled) unless trace_count is 6.
 */
bool rb_stages_compute(uint64_t send_ns, const uint64_t *trace_ns, uint32_t trace_count,
		       uint64_t recv_ns, struct rb_stage_sample *out);

/* ---- Counters and windows ---------------------------------------------- */

struct rb_stats {
	struct bench_hist latency_ns;
	uint64_t ok;
	uint64_t errors;   /* final non-OK statuses and library errors */
	uint64_t timeouts; /* no reply before the library's deadline */
	uint64_t busy;	   /* BUSY/RETRY finals, and library back-off counts */
	uint64_t no_space; /* NO_SPACE finals (counted in errors too) */
};

void rb_stats_reset(struct rb_stats *s);

/* ---- The sweep's knee -------------------------------------------------- */

struct rb_step {
	double offered_per_s;
	double achieved_per_s;
	uint64_t latency_ns_p50;
	uint64_t latency_ns_p99;
	uint64_t latency_ns_p999;
};

enum rb_knee {
	RB_KNEE_NONE = 0,
	RB_KNEE_THROUGHPUT = 1, /* achieved < 90 % of offered */
	RB_KNEE_LATENCY = 2,	/* p99 > 10 x the first step's p99 */
};

#define RB_KNEE_ACHIEVED_FRACTION 0.9
#define RB_KNEE_P99_FACTOR 10.0

/* Whether the last of steps[0..count) is past the knee. */
enum rb_knee rb_sweep_knee(const struct rb_step *steps, uint32_t count);
const char *rb_knee_name(enum rb_knee k);

/* ---- Small helpers ------------------------------------------------------ */

/* Nearest-rank quantile of values[0..count) (sorted in place). */
double rb_quantile(double *values, uint32_t count, double q);

/* The unsigned integer of "key": N in a flat JSON object; -1 if absent. */
int64_t rb_json_uint(const char *json, size_t json_bytes, const char *key);

/* ---- One run's result and its printing (rb_output.c) ------------------- */

struct rb_result {
	const char *mode; /* "open" or "closed" */
	double rate_per_s; /* offered, open loop */
	uint32_t concurrency; /* closed loop */
	double duration_s;
	double warmup_s;
	uint64_t seed;
	uint32_t value_bytes;
	uint32_t keys_count;
	double read_ratio;
	uint32_t target_id;
	/* Requests whose intended send time fell in the measured window,
	 * whenever they completed: latency and outcome counts. */
	struct rb_stats total;
	/* Completions inside the measured window: throughput. */
	uint64_t ok_in_window;
	uint64_t writes_ok_in_window;
	struct bench_hist stage_ns[RB_STAGES_COUNT];
	uint64_t traced;
	uint64_t replicated_first;
	uint64_t sent;
	uint64_t retransmits;
	uint64_t redirects;
	uint64_t retries_busy;
};

void rb_result_init(struct rb_result *r);
double rb_result_ops_per_s(const struct rb_result *r);
double rb_result_commits_per_s(const struct rb_result *r);
void rb_result_add_stages(struct rb_result *r, const struct rb_stage_sample *s);

void rb_print_json(FILE *f, const struct rb_result *r);
void rb_print_csv(FILE *f, const struct rb_result *r);
void rb_print_text(FILE *f, const struct rb_result *r);
/* latency_us,fraction: the histogram's CDF, dense enough for a log x axis. */
void rb_write_cdf(FILE *f, const struct bench_hist *h);
/* Time series: second,ops_per_s,latency_us_p50,latency_us_p99,latency_us_max,errors */
void rb_ts_header(FILE *f);
void rb_ts_row(FILE *f, uint32_t second, double window_s, const struct rb_stats *w);
/* --trace-file: one traced request, intended_ns (open loop: when it was
 * due; closed: = send), send_ns, the node's RB_TRACE_STAGES stamps, recv_ns
 * (CLOCK_MONOTONIC ns; the node's share the client's clock only when both
 * run on one machine). */
void rb_trace_row(FILE *f, uint64_t intended_ns, uint64_t send_ns, const uint64_t *trace_ns,
		  uint64_t recv_ns);

#endif
