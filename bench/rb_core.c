/* SPDX-License-Identifier: MIT */
/*
 * rb_core.c - see rb_core.h: raftbench's pure parts (schedule, stage
 * breakdown, knee, quantiles, status JSON). No I/O, no clock.
 */
#include "rb_core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

void rb_rng_seed(struct rb_rng *r, uint64_t seed)
{
	r->state = seed;
}

uint64_t rb_rng_next(struct rb_rng *r)
{
	return rn_splitmix64(&r->state);
}

double rb_rng_unit(struct rb_rng *r)
{
	/* 53 random bits, shifted by one so 0 cannot come out. */
	return ((double)(rb_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

uint64_t rb_exp_interval_ns(struct rb_rng *r, double rate_per_s)
{
	RN_ASSERT(rate_per_s > 0);
	double gap_s = -log(rb_rng_unit(r)) / rate_per_s;
	return (uint64_t)(gap_s * (double)RB_NS_PER_S + 0.5);
}

void rb_sched_init(struct rb_sched *s, uint64_t seed, double rate_per_s, uint64_t start_ns)
{
	RN_ASSERT(rate_per_s > 0);
	rb_rng_seed(&s->rng, seed);
	s->rate_per_s = rate_per_s;
	s->next_ns = start_ns + rb_exp_interval_ns(&s->rng, rate_per_s);
}

uint64_t rb_sched_pop(struct rb_sched *s)
{
	uint64_t at_ns = s->next_ns;
	s->next_ns += rb_exp_interval_ns(&s->rng, s->rate_per_s);
	RN_ASSERT(s->next_ns >= at_ns);
	return at_ns;
}

static const char *const rb_stage_names[RB_STAGES_COUNT] = {
	"client_to_rx",		 "rx_to_proposed",	   "proposed_to_durable",
	"durable_to_replicated", "replicated_to_applied", "applied_to_reply",
	"reply_to_client",
};

const char *rb_stage_name(enum rb_stage s)
{
	RN_ASSERT((unsigned)s < RB_STAGES_COUNT);
	return rb_stage_names[s];
}

static uint64_t rb_diff_ns(uint64_t from_ns, uint64_t to_ns)
{
	return to_ns > from_ns ? to_ns - from_ns : 0;
}

bool rb_stages_compute(uint64_t send_ns, const uint64_t *trace_ns, uint32_t trace_count,
		       uint64_t recv_ns, struct rb_stage_sample *out)
{
	memset(out, 0, sizeof(*out));
	if (trace_count != RB_TRACE_STAGES) {
		return false;
	}
	const uint64_t *t = trace_ns;
	/* The later of durable and replicated: where "applied" waits from. */
	uint64_t both_ns = t[2] > t[3] ? t[2] : t[3];
	out->ns[RB_STAGE_RX_TO_PROPOSED] = rb_diff_ns(t[0], t[1]);
	out->ns[RB_STAGE_PROPOSED_TO_DURABLE] = rb_diff_ns(t[1], t[2]);
	out->ns[RB_STAGE_DURABLE_TO_REPLICATED] = rb_diff_ns(t[2], t[3]);
	out->ns[RB_STAGE_REPLICATED_TO_APPLIED] = rb_diff_ns(both_ns, t[4]);
	out->ns[RB_STAGE_APPLIED_TO_REPLY] = rb_diff_ns(t[4], t[5]);
	for (uint32_t s = RB_STAGE_RX_TO_PROPOSED; s <= RB_STAGE_APPLIED_TO_REPLY; s++) {
		out->have[s] = true;
	}
	out->replicated_first = t[3] < t[2];
	/* One clock on both sides exactly when the node's stamps fall inside
	 * the client's interval; across machines they never plausibly do. */
	bool same_clock = send_ns <= t[0] && t[0] <= t[5] && t[5] <= recv_ns;
	if (same_clock) {
		out->ns[RB_STAGE_CLIENT_TO_RX] = t[0] - send_ns;
		out->ns[RB_STAGE_REPLY_TO_CLIENT] = recv_ns - t[5];
		out->have[RB_STAGE_CLIENT_TO_RX] = true;
		out->have[RB_STAGE_REPLY_TO_CLIENT] = true;
	}
	return true;
}

void rb_stats_reset(struct rb_stats *s)
{
	bench_hist_reset(&s->latency_ns);
	s->ok = 0;
	s->errors = 0;
	s->timeouts = 0;
	s->busy = 0;
	s->no_space = 0;
}

enum rb_knee rb_sweep_knee(const struct rb_step *steps, uint32_t count)
{
	RN_ASSERT(count > 0);
	const struct rb_step *last = &steps[count - 1];
	if (last->achieved_per_s < RB_KNEE_ACHIEVED_FRACTION * last->offered_per_s) {
		return RB_KNEE_THROUGHPUT;
	}
	double first_p99 = (double)steps[0].latency_ns_p99;
	if (count > 1 && (double)last->latency_ns_p99 > RB_KNEE_P99_FACTOR * first_p99) {
		return RB_KNEE_LATENCY;
	}
	return RB_KNEE_NONE;
}

const char *rb_knee_name(enum rb_knee k)
{
	switch (k) {
	case RB_KNEE_NONE: return "none";
	case RB_KNEE_THROUGHPUT: return "throughput_below_90pct_of_offered";
	case RB_KNEE_LATENCY: return "p99_above_10x_first_step";
	}
	return "?";
}

static int rb_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;
	return (x > y) - (x < y);
}

double rb_quantile(double *values, uint32_t count, double q)
{
	if (count == 0) {
		return 0;
	}
	qsort(values, count, sizeof(values[0]), rb_cmp_double);
	double rank = ceil(q * (double)count);
	uint32_t i = rank < 1 ? 0 : (uint32_t)rank - 1;
	return values[i < count ? i : count - 1];
}

int64_t rb_json_uint(const char *json, size_t json_bytes, const char *key)
{
	char pattern[64];
	size_t key_bytes = strlen(key);
	RN_ASSERT(key_bytes + 2 < sizeof(pattern));
	pattern[0] = '"';
	memcpy(pattern + 1, key, key_bytes);
	pattern[key_bytes + 1] = '"';
	size_t pattern_bytes = key_bytes + 2;
	for (size_t i = 0; i + pattern_bytes <= json_bytes; i++) {
		if (memcmp(json + i, pattern, pattern_bytes) != 0) {
			continue;
		}
		size_t j = i + pattern_bytes;
		while (j < json_bytes && json[j] == ' ') {
			j++;
		}
		if (j >= json_bytes || json[j] != ':') {
			/* A string value equal to the name ("role":"leader" in a
			 * leader's status), not the key: look further. */
			continue;
		}
		j++;
		while (j < json_bytes && json[j] == ' ') {
			j++;
		}
		if (j >= json_bytes || json[j] < '0' || json[j] > '9') {
			return -1;
		}
		int64_t v = 0;
		while (j < json_bytes && json[j] >= '0' && json[j] <= '9' && v < INT64_MAX / 10) {
			v = v * 10 + (json[j++] - '0');
		}
		return v;
	}
	return -1;
}
