/* SPDX-License-Identifier: MIT */
/*
 * raftbench.h - what raftbench's commands share: the parsed command line,
 * the cluster configuration step and one measured run (raftbench.c), the
 * sweep (rb_sweep.c) and the failover trials (rb_failover.c).
 */
#ifndef RN_BENCH_RAFTBENCH_H
#define RN_BENCH_RAFTBENCH_H

#include "rb_engine.h"

#define RB_SWEEP_STEPS_MAX 64u
#define RB_TRIALS_MAX 1000u

struct rb_cli {
	const char *command; /* run, sweep, failover, follower-reads */
	uint32_t sched_slice_us; /* the client thread's EEVDF slice; 0 = kernel's */
	struct rb_opts opts;
	bool json;
	bool csv;
	const char *csv_path; /* NULL: stdout */
	const char *timeseries_path;
	const char *trace_file_path;
	const char *cdf_path;
	double rate_start_per_s;
	double rate_factor;
	double step_duration_s;
	uint32_t steps_max;
	uint32_t trials;
	const char *kill_cmd;
	const char *start_cmd;
	uint32_t follower_id; /* follower-reads: 0 = the first non-leader */
};

int rb_cluster_config(const struct rb_cli *cli, struct rn_client_config *cfg, uint32_t *target);
int rb_measure(const struct rb_cli *cli, const struct rb_opts *opts,
	       const struct rn_client_config *cfg, struct rb_result *r);
int rb_emit_result(const struct rb_cli *cli, const struct rb_result *r);
int rb_cmd_sweep(struct rb_cli *cli);
int rb_cmd_failover(struct rb_cli *cli);
int rb_cmd_follower_reads(struct rb_cli *cli);

#endif
