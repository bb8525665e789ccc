/* SPDX-License-Identifier: MIT */
/*
 * rb_output.c - raftbench's result: one JSON object, a CSV header + row, a
 * human table, the latency CDF and the per-second time series. Every field
 * name carries its unit. Latencies are recorded in ns and printed in us.
 */
#include <string.h>

#include "common.h"
#include "rb_core.h"

void rb_result_init(struct rb_result *r)
{
	memset(r, 0, sizeof(*r));
	rb_stats_reset(&r->total);
	for (uint32_t s = 0; s < RB_STAGES_COUNT; s++) {
		bench_hist_reset(&r->stage_ns[s]);
	}
}

double rb_result_ops_per_s(const struct rb_result *r)
{
	return r->duration_s > 0 ? (double)r->ok_in_window / r->duration_s : 0;
}

double rb_result_commits_per_s(const struct rb_result *r)
{
	return r->duration_s > 0 ? (double)r->writes_ok_in_window / r->duration_s : 0;
}

void rb_result_add_stages(struct rb_result *r, const struct rb_stage_sample *s)
{
	r->traced++;
	r->replicated_first += s->replicated_first ? 1u : 0u;
	for (uint32_t i = 0; i < RB_STAGES_COUNT; i++) {
		if (s->have[i]) {
			bench_hist_record(&r->stage_ns[i], s->ns[i]);
		}
	}
}

static double rb_us(uint64_t ns)
{
	return (double)ns / 1e3;
}

static double rb_pct_us(const struct bench_hist *h, double q)
{
	return rb_us(bench_hist_percentile(h, q));
}

static void rb_json_stages(FILE *f, const struct rb_result *r)
{
	fprintf(f, "\"stages\":{");
	bool first = true;
	for (uint32_t s = 0; s < RB_STAGES_COUNT; s++) {
		const struct bench_hist *h = &r->stage_ns[s];
		if (h->total == 0) {
			continue;
		}
		fprintf(f, "%s\"%s\":{\"p50_us\":%.1f,\"p99_us\":%.1f,\"samples\":%llu}",
			first ? "" : ",", rb_stage_name((enum rb_stage)s), rb_pct_us(h, 0.5),
			rb_pct_us(h, 0.99), (unsigned long long)h->total);
		first = false;
	}
	fprintf(f, "}");
}

void rb_print_json(FILE *f, const struct rb_result *r)
{
	const struct bench_hist *h = &r->total.latency_ns;
	fprintf(f,
		"{\"mode\":\"%s\",\"rate_per_s_offered\":%.1f,\"concurrency\":%u,"
		"\"duration_s\":%.3f,\"warmup_s\":%.3f,\"seed\":%llu,\"value_bytes\":%u,"
		"\"keys\":%u,\"read_ratio\":%.3f,\"target_id\":%u,",
		r->mode, r->rate_per_s, r->concurrency, r->duration_s, r->warmup_s,
		(unsigned long long)r->seed, r->value_bytes, r->keys_count, r->read_ratio,
		r->target_id);
	fprintf(f,
		"\"ops_per_s\":%.1f,\"commits_per_s\":%.1f,\"latency_us_p50\":%.1f,"
		"\"latency_us_p90\":%.1f,\"latency_us_p99\":%.1f,\"latency_us_p999\":%.1f,"
		"\"latency_us_p9999\":%.1f,\"latency_us_max\":%.1f,\"latency_us_mean\":%.1f,",
		rb_result_ops_per_s(r), rb_result_commits_per_s(r), rb_pct_us(h, 0.5),
		rb_pct_us(h, 0.9), rb_pct_us(h, 0.99), rb_pct_us(h, 0.999), rb_pct_us(h, 0.9999),
		rb_us(h->total ? h->max : 0), bench_hist_mean(h) / 1e3);
	fprintf(f,
		"\"ok\":%llu,\"errors\":%llu,\"no_space\":%llu,\"timeouts\":%llu,\"busy\":%llu,"
		"\"sent\":%llu,\"retransmits\":%llu,\"redirects\":%llu,\"retries_busy\":%llu,"
		"\"traced\":%llu,\"replicated_before_durable\":%llu,",
		(unsigned long long)r->total.ok, (unsigned long long)r->total.errors,
		(unsigned long long)r->total.no_space,
		(unsigned long long)r->total.timeouts, (unsigned long long)r->total.busy,
		(unsigned long long)r->sent, (unsigned long long)r->retransmits,
		(unsigned long long)r->redirects, (unsigned long long)r->retries_busy,
		(unsigned long long)r->traced, (unsigned long long)r->replicated_first);
	rb_json_stages(f, r);
	fprintf(f, "}\n");
}

void rb_print_csv(FILE *f, const struct rb_result *r)
{
	const struct bench_hist *h = &r->total.latency_ns;
	fprintf(f, "mode,rate_per_s_offered,concurrency,duration_s,value_bytes,ops_per_s,"
		   "commits_per_s,latency_us_p50,latency_us_p90,latency_us_p99,latency_us_p999,"
		   "latency_us_p9999,latency_us_max,latency_us_mean,ok,errors,timeouts,busy\n");
	fprintf(f, "%s,%.1f,%u,%.3f,%u,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%llu,%llu,"
		   "%llu,%llu\n",
		r->mode, r->rate_per_s, r->concurrency, r->duration_s, r->value_bytes,
		rb_result_ops_per_s(r), rb_result_commits_per_s(r), rb_pct_us(h, 0.5),
		rb_pct_us(h, 0.9), rb_pct_us(h, 0.99), rb_pct_us(h, 0.999), rb_pct_us(h, 0.9999),
		rb_us(h->total ? h->max : 0), bench_hist_mean(h) / 1e3,
		(unsigned long long)r->total.ok, (unsigned long long)r->total.errors,
		(unsigned long long)r->total.timeouts, (unsigned long long)r->total.busy);
}

void rb_print_text(FILE *f, const struct rb_result *r)
{
	const struct bench_hist *h = &r->total.latency_ns;
	fprintf(f, "%s loop, %.1f s measured: %.0f ops_per_s (%.0f commits_per_s)\n", r->mode,
		r->duration_s, rb_result_ops_per_s(r), rb_result_commits_per_s(r));
	fprintf(f, "latency_us  p50 %.1f  p90 %.1f  p99 %.1f  p999 %.1f  p9999 %.1f  max %.1f"
		   "  mean %.1f\n",
		rb_pct_us(h, 0.5), rb_pct_us(h, 0.9), rb_pct_us(h, 0.99), rb_pct_us(h, 0.999),
		rb_pct_us(h, 0.9999), rb_us(h->total ? h->max : 0), bench_hist_mean(h) / 1e3);
	fprintf(f, "ok %llu  errors %llu  timeouts %llu  busy %llu  retransmits %llu\n",
		(unsigned long long)r->total.ok, (unsigned long long)r->total.errors,
		(unsigned long long)r->total.timeouts, (unsigned long long)r->total.busy,
		(unsigned long long)r->retransmits);
	if (r->total.no_space > 0) {
		fprintf(f, "no_space %llu  (of the errors: the leader's no-space alarm refused "
			   "those writes)\n",
			(unsigned long long)r->total.no_space);
	}
	if (r->traced == 0) {
		return;
	}
	fprintf(f, "stages of %llu traced requests (%llu replicated before the leader's write "
		   "was durable):\n",
		(unsigned long long)r->traced, (unsigned long long)r->replicated_first);
	for (uint32_t s = 0; s < RB_STAGES_COUNT; s++) {
		const struct bench_hist *sh = &r->stage_ns[s];
		if (sh->total > 0) {
			fprintf(f, "  %-22s p50_us %9.1f  p99_us %9.1f\n",
				rb_stage_name((enum rb_stage)s), rb_pct_us(sh, 0.5),
				rb_pct_us(sh, 0.99));
		}
	}
}

void rb_write_cdf(FILE *f, const struct bench_hist *h)
{
	static const double tail_q[] = {0.9995, 0.9999, 0.99995, 0.99999, 1.0};
	fprintf(f, "latency_us,fraction\n");
	if (h->total == 0) {
		return;
	}
	for (uint32_t i = 1; i < 1000; i++) {
		double q = (double)i / 1000.0;
		fprintf(f, "%.3f,%.6f\n", rb_pct_us(h, q), q);
	}
	for (size_t i = 0; i < sizeof(tail_q) / sizeof(tail_q[0]); i++) {
		fprintf(f, "%.3f,%.6f\n", rb_pct_us(h, tail_q[i]), tail_q[i]);
	}
}

void rb_ts_header(FILE *f)
{
	fprintf(f, "second,ops_per_s,latency_us_p50,latency_us_p99,latency_us_max,errors\n");
}

void rb_ts_row(FILE *f, uint32_t second, double window_s, const struct rb_stats *w)
{
	RN_ASSERT(window_s > 0);
	const struct bench_hist *h = &w->latency_ns;
	fprintf(f, "%u,%.1f,%.1f,%.1f,%.1f,%llu\n", second, (double)w->ok / window_s,
		rb_pct_us(h, 0.5), rb_pct_us(h, 0.99), rb_us(h->total ? h->max : 0),
		(unsigned long long)(w->errors + w->timeouts));
}

void rb_trace_row(FILE *f, uint64_t intended_ns, uint64_t send_ns, const uint64_t *trace_ns,
		  uint64_t recv_ns)
{
	fprintf(f, "%llu,%llu", (unsigned long long)intended_ns, (unsigned long long)send_ns);
	for (uint32_t i = 0; i < RB_TRACE_STAGES; i++) {
		fprintf(f, ",%llu", (unsigned long long)trace_ns[i]);
	}
	fprintf(f, ",%llu\n", (unsigned long long)recv_ns);
}
