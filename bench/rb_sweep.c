/* SPDX-License-Identifier: MIT */
/*
 * rb_sweep.c - `raftbench sweep`: open-loop runs at rising offered rates
 * (rate_start, x rate_factor each step) until the knee (rb_sweep_knee:
 * achieved below 90 % of offered, or p99 above 10x the first step's), and
 * one row per step: the throughput-latency curve scripts/plot.sh draws.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "raftbench.h"

struct rb_sweep_row {
	struct rb_step step;
	uint64_t errors;
	uint64_t timeouts;
};

static void rb_sweep_csv(FILE *f, const struct rb_sweep_row *rows, uint32_t count)
{
	fprintf(f, "step,offered_per_s,ops_per_s,latency_us_p50,latency_us_p99,latency_us_p999,"
		   "errors,timeouts\n");
	for (uint32_t i = 0; i < count; i++) {
		const struct rb_step *s = &rows[i].step;
		fprintf(f, "%u,%.1f,%.1f,%.1f,%.1f,%.1f,%llu,%llu\n", i + 1, s->offered_per_s,
			s->achieved_per_s, (double)s->latency_ns_p50 / 1e3,
			(double)s->latency_ns_p99 / 1e3, (double)s->latency_ns_p999 / 1e3,
			(unsigned long long)rows[i].errors, (unsigned long long)rows[i].timeouts);
	}
}

static void rb_sweep_json(FILE *f, const struct rb_sweep_row *rows, uint32_t count,
			  enum rb_knee knee, uint64_t seed)
{
	fprintf(f, "{\"seed\":%llu,\"knee\":\"%s\",\"knee_step\":%u,\"steps\":[",
		(unsigned long long)seed, rb_knee_name(knee), knee == RB_KNEE_NONE ? 0 : count);
	for (uint32_t i = 0; i < count; i++) {
		const struct rb_step *s = &rows[i].step;
		fprintf(f,
			"%s{\"offered_per_s\":%.1f,\"ops_per_s\":%.1f,\"latency_us_p50\":%.1f,"
			"\"latency_us_p99\":%.1f,\"latency_us_p999\":%.1f,\"errors\":%llu,"
			"\"timeouts\":%llu}",
			i ? "," : "", s->offered_per_s, s->achieved_per_s,
			(double)s->latency_ns_p50 / 1e3, (double)s->latency_ns_p99 / 1e3,
			(double)s->latency_ns_p999 / 1e3, (unsigned long long)rows[i].errors,
			(unsigned long long)rows[i].timeouts);
	}
	fprintf(f, "]}\n");
}

static void rb_sweep_row_of(const struct rb_result *r, struct rb_sweep_row *row)
{
	const struct bench_hist *h = &r->total.latency_ns;
	row->step.offered_per_s = r->rate_per_s;
	row->step.achieved_per_s = rb_result_ops_per_s(r);
	row->step.latency_ns_p50 = bench_hist_percentile(h, 0.5);
	row->step.latency_ns_p99 = bench_hist_percentile(h, 0.99);
	row->step.latency_ns_p999 = bench_hist_percentile(h, 0.999);
	row->errors = r->total.errors;
	row->timeouts = r->total.timeouts;
}

static int rb_sweep_output(const struct rb_cli *cli, const struct rb_sweep_row *rows,
			   uint32_t count, enum rb_knee knee)
{
	if (cli->csv) {
		FILE *f = cli->csv_path ? fopen(cli->csv_path, "w") : stdout;
		if (f == NULL) {
			perror(cli->csv_path);
			return -1;
		}
		rb_sweep_csv(f, rows, count);
		if (f != stdout) {
			fclose(f);
		}
	}
	if (cli->json) {
		rb_sweep_json(stdout, rows, count, knee, cli->opts.seed);
	} else if (!cli->csv || cli->csv_path) {
		printf("%4s %14s %12s %14s %14s %15s\n", "step", "offered_per_s", "ops_per_s",
		       "latency_us_p50", "latency_us_p99", "latency_us_p999");
		for (uint32_t i = 0; i < count; i++) {
			const struct rb_step *s = &rows[i].step;
			printf("%4u %14.0f %12.0f %14.1f %14.1f %15.1f\n", i + 1, s->offered_per_s,
			       s->achieved_per_s, (double)s->latency_ns_p50 / 1e3,
			       (double)s->latency_ns_p99 / 1e3, (double)s->latency_ns_p999 / 1e3);
		}
		printf("knee: %s\n", rb_knee_name(knee));
	}
	return 0;
}

int rb_cmd_sweep(struct rb_cli *cli)
{
	struct rn_client_config cfg;
	uint32_t target = 0;
	if (rb_cluster_config(cli, &cfg, &target) != 0) {
		return 1;
	}
	fprintf(stderr, "raftbench sweep: from %.0f/s x %.2f per step, %.1f s each, node %u, "
			"seed %llu\n",
		cli->rate_start_per_s, cli->rate_factor, cli->step_duration_s, target,
		(unsigned long long)cli->opts.seed);
	struct rb_sweep_row rows[RB_SWEEP_STEPS_MAX];
	struct rb_result *r = malloc(sizeof(*r));
	RN_ASSERT(r != NULL);
	enum rb_knee knee = RB_KNEE_NONE;
	uint32_t count = 0;
	double rate_per_s = cli->rate_start_per_s;
	int rc = 0;
	while (count < cli->steps_max && knee == RB_KNEE_NONE) {
		struct rb_opts o = cli->opts;
		o.rate_per_s = rate_per_s;
		o.concurrency = 0;
		o.duration_s = cli->step_duration_s;
		o.drain_s = 2;
		o.seed = cli->opts.seed + count;
		o.timeseries = NULL;
		rc = rb_measure(cli, &o, &cfg, r);
		if (rc != 0) {
			break;
		}
		rb_sweep_row_of(r, &rows[count]);
		struct rb_step steps[RB_SWEEP_STEPS_MAX];
		for (uint32_t i = 0; i <= count; i++) {
			steps[i] = rows[i].step;
		}
		knee = rb_sweep_knee(steps, ++count);
		fprintf(stderr, "raftbench sweep: step %u offered %.0f/s achieved %.0f/s p99 %.1f us%s\n",
			count, rate_per_s, rows[count - 1].step.achieved_per_s,
			(double)rows[count - 1].step.latency_ns_p99 / 1e3,
			knee == RB_KNEE_NONE ? "" : " (knee)");
		rate_per_s *= cli->rate_factor;
	}
	free(r);
	if (count > 0 && rb_sweep_output(cli, rows, count, knee) != 0) {
		return 1;
	}
	return rc == 0 ? 0 : 1;
}
