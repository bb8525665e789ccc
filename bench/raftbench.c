/* SPDX-License-Identifier: MIT */
/*
 * raftbench - load generator for a running raftnode cluster, through the
 * client library's async API. Four commands:
 *   raftbench [run]   one open-loop (--rate) or closed-loop (--concurrency) run
 *   raftbench sweep   open-loop rates step by step until the knee
 *   raftbench failover  kill the leader under load, measure unavailability
 *   raftbench follower-reads  how soon a follower applies an acknowledged write
 * Latency counts from the intended send time (no coordinated omission);
 * histograms are log-linear (bench/hist.h, within 0.4 %); every output
 * field names its unit. A benchmark, not a test: absolute numbers belong
 * to the machine they were measured on.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "dataplane.h"
#include "raftbench.h"

static void rb_usage(FILE *f)
{
	fprintf(f,
		"usage: raftbench [run] [options]        one run\n"
		"       raftbench sweep [options]        open-loop rate sweep to the knee\n"
		"       raftbench failover [options]     leader kill under load\n"
		"       raftbench follower-reads [options]  ack -> visible on a follower\n\n"
		"  --config FILE        cluster configuration (default: $RAFTNODE_CONFIG or %s)\n"
		"  --target leader|any  leader: ask a node's status for the leader and send there\n"
		"                       (default); any: send to --node and let redirects move us\n"
		"  --node ID            the node asked first / sent to (default: the first)\n"
		"  --rate R             open loop: Poisson arrivals at R requests/s\n"
		"  --concurrency N      closed loop: N requests in flight (default: 1)\n"
		"  --duration S         measured seconds (default 10)\n"
		"  --warmup S           seconds before measuring (default 1)\n"
		"  --value-bytes B      value size of writes (default 64, max %u)\n"
		"  --keys K             distinct keys (default 1000)\n"
		"  --read-ratio F       fraction of linearizable reads (default 0)\n"
		"  --trace-every N      trace every Nth request's stages (default 100, 0 = off)\n"
		"  --seed N             PRNG seed (default: from the clock; always printed)\n"
		"  --clients N          rn_client instances (default: one per %u in flight;\n"
		"                       open loop: for 10 ms of latency at the rate)\n"
		"  --json               one JSON object on stdout\n"
		"  --csv [FILE]         header + row (sweep: the steps) on stdout, or to FILE\n"
		"  --timeseries FILE    per-second CSV: second,ops_per_s,latency_us_p50,\n"
		"                       latency_us_p99,latency_us_max,errors\n"
		"  --cdf FILE           latency CDF CSV: latency_us,fraction\n"
		"  --trace-file FILE    every traced request's stamps, CSV (ns, one clock with the\n"
		"                       node's only on one machine): intended,send,rx,proposed,\n"
		"                       durable,replicated,applied,reply,recv (where a tail\n"
		"                       comes from)\n"
		"  --quiet              no progress line on stderr\n"
		"  --sched-slice-us N   this thread's EEVDF slice (Linux 6.12+; default 100,\n"
		"                       as the nodes' lcores; 0 = the kernel's): a woken client\n"
		"                       preempts a thread in mid-slice instead of waiting\n"
		"sweep:\n"
		"  --rate-start R0 (default 1000)  --rate-factor F (default 1.5)\n"
		"  --step-duration S (default 5)   --max-steps K (default 20)\n"
		"  stops when achieved < 90%% of offered or p99 > 10x the first step's p99\n"
		"failover:\n"
		"  --trials N (default 5)  --rate R (default 1000)\n"
		"  --kill-cmd CMD  (default 'scripts/cluster.sh kill {id}')\n"
		"  --start-cmd CMD (default 'scripts/cluster.sh start {id}')\n"
		"  window_ms: longest gap between OK replies from the kill's start to the first\n"
		"  OK after the kill command returned (last OK before -> first OK after);\n"
		"  election_ms: kill command returned -> first status naming a new leader\n"
		"  (the other nodes' status polled every 10 ms; from the command's start\n"
		"  when a leader was named before it returned: election_from_kill_start)\n"
		"follower-reads:\n"
		"  --follower ID (default: the first node that is not the leader)\n"
		"  one PUT at a time to the leader; after its ack, stale reads of the key\n"
		"  from the follower until it shows the value: lag_us = ack -> first read\n"
		"  that saw it (one read's round trip is the resolution)\n",
		RN_CLIENT_CONFIG_DEFAULT, RB_VALUE_BYTES_MAX, RB_CLIENT_INFLIGHT_MAX);
}

enum {
	OPT_CONFIG = 256, OPT_TARGET, OPT_NODE, OPT_RATE, OPT_CONC, OPT_DURATION,
	OPT_WARMUP, OPT_VALUE, OPT_KEYS, OPT_READ, OPT_TRACE, OPT_SEED, OPT_CLIENTS,
	OPT_JSON, OPT_CSV, OPT_TS, OPT_TRACE_FILE, OPT_CDF, OPT_QUIET, OPT_R0, OPT_FACTOR, OPT_STEP,
	OPT_STEPS, OPT_TRIALS, OPT_KILL, OPT_START, OPT_FOLLOWER, OPT_SLICE,
};

static const struct option rb_long_opts[] = {
	{"help", no_argument, 0, 'h'},
	{"config", required_argument, 0, OPT_CONFIG},
	{"target", required_argument, 0, OPT_TARGET},
	{"node", required_argument, 0, OPT_NODE},
	{"rate", required_argument, 0, OPT_RATE},
	{"concurrency", required_argument, 0, OPT_CONC},
	{"duration", required_argument, 0, OPT_DURATION},
	{"warmup", required_argument, 0, OPT_WARMUP},
	{"value-bytes", required_argument, 0, OPT_VALUE},
	{"keys", required_argument, 0, OPT_KEYS},
	{"read-ratio", required_argument, 0, OPT_READ},
	{"trace-every", required_argument, 0, OPT_TRACE},
	{"seed", required_argument, 0, OPT_SEED},
	{"clients", required_argument, 0, OPT_CLIENTS},
	{"json", no_argument, 0, OPT_JSON},
	{"csv", optional_argument, 0, OPT_CSV},
	{"timeseries", required_argument, 0, OPT_TS},
	{"trace-file", required_argument, 0, OPT_TRACE_FILE},
	{"cdf", required_argument, 0, OPT_CDF},
	{"quiet", no_argument, 0, OPT_QUIET},
	{"rate-start", required_argument, 0, OPT_R0},
	{"rate-factor", required_argument, 0, OPT_FACTOR},
	{"step-duration", required_argument, 0, OPT_STEP},
	{"max-steps", required_argument, 0, OPT_STEPS},
	{"trials", required_argument, 0, OPT_TRIALS},
	{"kill-cmd", required_argument, 0, OPT_KILL},
	{"start-cmd", required_argument, 0, OPT_START},
	{"follower", required_argument, 0, OPT_FOLLOWER},
	{"sched-slice-us", required_argument, 0, OPT_SLICE},
	{0, 0, 0, 0},
};

static int rb_number(const char *name, const char *text, double min, double max, double *out)
{
	char *end = NULL;
	double v = strtod(text, &end);
	if (end == text || *end != '\0' || !(v >= min && v <= max)) {
		fprintf(stderr, "raftbench: %s: '%s' is not a number in [%g, %g]\n", name, text,
			min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static uint32_t rb_u32(double v)
{
	return (uint32_t)v;
}

static void rb_cli_default(struct rb_cli *cli)
{
	memset(cli, 0, sizeof(*cli));
	cli->opts.config_path = rn_client_config_default_path();
	cli->opts.target_leader = true;
	cli->opts.duration_s = 10;
	cli->opts.warmup_s = 1;
	cli->opts.drain_s = 5;
	cli->opts.value_bytes = 64;
	cli->opts.keys_count = 1000;
	cli->opts.trace_every = 100;
	cli->sched_slice_us = 100;
	cli->opts.seed = rn_mix64(rb_now_ns() ^ (uint64_t)time(NULL));
	cli->rate_start_per_s = 1000;
	cli->rate_factor = 1.5;
	cli->step_duration_s = 5;
	cli->steps_max = 20;
	cli->trials = 5;
	cli->kill_cmd = "scripts/cluster.sh kill {id}";
	cli->start_cmd = "scripts/cluster.sh start {id}";
}

/* One option; -1 on a bad value. */
static int rb_cli_option(struct rb_cli *cli, int opt, const char *arg)
{
	struct rb_opts *o = &cli->opts;
	double v = 0;
	int rc = 0;
	switch (opt) {
	case OPT_CONFIG: o->config_path = arg; break;
	case OPT_TARGET:
		if (strcmp(arg, "leader") != 0 && strcmp(arg, "any") != 0) {
			fprintf(stderr, "raftbench: --target: leader or any, not '%s'\n", arg);
			return -1;
		}
		o->target_leader = strcmp(arg, "leader") == 0;
		break;
	case OPT_NODE: rc = rb_number("--node", arg, 1, 1e9, &v); o->node_id = rb_u32(v); break;
	case OPT_RATE: rc = rb_number("--rate", arg, 0.001, 1e9, &o->rate_per_s); break;
	case OPT_CONC: rc = rb_number("--concurrency", arg, 1, RB_CLIENTS_MAX * RB_CLIENT_INFLIGHT_MAX, &v); o->concurrency = rb_u32(v); break;
	case OPT_DURATION: rc = rb_number("--duration", arg, 0.1, 1e6, &o->duration_s); break;
	case OPT_WARMUP: rc = rb_number("--warmup", arg, 0, 1e6, &o->warmup_s); break;
	case OPT_VALUE: rc = rb_number("--value-bytes", arg, 0, RB_VALUE_BYTES_MAX, &v); o->value_bytes = rb_u32(v); break;
	case OPT_KEYS: rc = rb_number("--keys", arg, 1, 1e9, &v); o->keys_count = rb_u32(v); break;
	case OPT_READ: rc = rb_number("--read-ratio", arg, 0, 1, &o->read_ratio); break;
	case OPT_TRACE: rc = rb_number("--trace-every", arg, 0, 1e9, &v); o->trace_every = rb_u32(v); break;
	case OPT_SEED: rc = rb_number("--seed", arg, 0, 1.8e19, &v); o->seed = (uint64_t)v; break;
	case OPT_CLIENTS: rc = rb_number("--clients", arg, 1, RB_CLIENTS_MAX, &v); o->clients_count = rb_u32(v); break;
	case OPT_JSON: cli->json = true; break;
	case OPT_CSV: cli->csv = true; cli->csv_path = arg; break;
	case OPT_TS: cli->timeseries_path = arg; break;
	case OPT_TRACE_FILE: cli->trace_file_path = arg; break;
	case OPT_CDF: cli->cdf_path = arg; break;
	case OPT_QUIET: o->quiet = true; break;
	case OPT_R0: rc = rb_number("--rate-start", arg, 0.001, 1e9, &cli->rate_start_per_s); break;
	case OPT_FACTOR: rc = rb_number("--rate-factor", arg, 1.01, 100, &cli->rate_factor); break;
	case OPT_STEP: rc = rb_number("--step-duration", arg, 0.1, 1e6, &cli->step_duration_s); break;
	case OPT_STEPS: rc = rb_number("--max-steps", arg, 1, RB_SWEEP_STEPS_MAX, &v); cli->steps_max = rb_u32(v); break;
	case OPT_TRIALS: rc = rb_number("--trials", arg, 1, RB_TRIALS_MAX, &v); cli->trials = rb_u32(v); break;
	case OPT_KILL: cli->kill_cmd = arg; break;
	case OPT_START: cli->start_cmd = arg; break;
	case OPT_FOLLOWER:
		rc = rb_number("--follower", arg, 1, 1e9, &v);
		cli->follower_id = rb_u32(v);
		break;
	case OPT_SLICE:
		rc = rb_number("--sched-slice-us", arg, 0, 100000, &v);
		cli->sched_slice_us = rb_u32(v);
		if (rc == 0 && cli->sched_slice_us != 0 && cli->sched_slice_us < 100) {
			fprintf(stderr, "raftbench: --sched-slice-us: 0 or 100..100000\n");
			rc = -1;
		}
		break;
	default: return -1;
	}
	return rc;
}

/* 0 ok, 1 --help given, -1 bad usage. */
static int rb_cli_parse(int argc, char **argv, struct rb_cli *cli)
{
	rb_cli_default(cli);
	cli->command = "run";
	if (argc > 1 && argv[1][0] != '-') {
		cli->command = argv[1];
		argv++;
		argc--;
	}
	int opt;
	while ((opt = getopt_long(argc, argv, "h", rb_long_opts, NULL)) != -1) {
		if (opt == 'h') {
			return 1;
		}
		const char *arg = optarg;
		/* --csv FILE as well as --csv=FILE: take a following non-option. */
		if (opt == OPT_CSV && arg == NULL && optind < argc && argv[optind][0] != '-') {
			arg = argv[optind++];
		}
		if (rb_cli_option(cli, opt, arg) != 0) {
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "raftbench: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (cli->opts.rate_per_s > 0 && cli->opts.concurrency > 0) {
		fprintf(stderr, "raftbench: --rate and --concurrency exclude each other\n");
		return -1;
	}
	if (cli->opts.rate_per_s == 0 && cli->opts.concurrency == 0) {
		cli->opts.concurrency = 1;
	}
	return 0;
}

/* Loads the configuration and points the target where --target says. */
int rb_cluster_config(const struct rb_cli *cli, struct rn_client_config *cfg, uint32_t *target)
{
	char errmsg[256] = "";
	rn_client_config_default(cfg);
	int rc = rn_client_config_load(cli->opts.config_path, cfg, errmsg, sizeof(errmsg));
	if (rc != 0) {
		fprintf(stderr, "raftbench: %s: %s\n", cli->opts.config_path,
			errmsg[0] ? errmsg : rn_client_strerror(rc));
		return -1;
	}
	cfg->target_id = cli->opts.node_id;
	*target = cli->opts.node_id;
	if (!cli->opts.target_leader) {
		return 0;
	}
	struct rn_client *c = NULL;
	if (rn_client_open(cfg, &c) != 0) {
		fprintf(stderr, "raftbench: cannot open a client\n");
		return -1;
	}
	/* Ask --node, or each node in turn until one names a leader. */
	uint32_t leader = 0;
	for (uint32_t i = 0; i < cfg->nodes_count && leader == 0; i++) {
		uint32_t ask = cli->opts.node_id != 0 ? cli->opts.node_id : cfg->nodes[i].id;
		leader = rb_status_leader(c, ask);
		if (cli->opts.node_id != 0) {
			break;
		}
	}
	rn_client_close(c);
	if (leader == 0) {
		/* The client starts at --node, or the configuration's first
		 * member (nodes count from 1: there is no node 0). */
		*target = cli->opts.node_id != 0 ? cli->opts.node_id : cfg->nodes[0].id;
		fprintf(stderr, "raftbench: no leader known yet: sending to node %u, redirects "
				"will move us\n", *target);
		return 0;
	}
	cfg->target_id = leader;
	*target = leader;
	return 0;
}

static FILE *rb_open_out(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
	}
	return f;
}

/* One run with opts; fills r. */
int rb_measure(const struct rb_cli *cli, const struct rb_opts *opts,
	       const struct rn_client_config *cfg, struct rb_result *r)
{
	char errmsg[256];
	struct rb_engine *e = NULL;
	if (rb_engine_open(opts, cfg, &e, errmsg, sizeof(errmsg)) != 0) {
		fprintf(stderr, "raftbench: %s\n", errmsg);
		return -1;
	}
	(void)cli;
	rb_result_init(r);
	r->mode = opts->rate_per_s > 0 ? "open" : "closed";
	r->rate_per_s = opts->rate_per_s;
	r->concurrency = opts->concurrency;
	r->seed = opts->seed;
	r->value_bytes = opts->value_bytes;
	r->keys_count = opts->keys_count;
	r->read_ratio = opts->read_ratio;
	r->target_id = cfg->target_id;
	int rc = rb_engine_run(e, r);
	if (rc < 0) {
		fprintf(stderr, "raftbench: client error: %s\n", rn_client_strerror(rc));
	}
	rb_engine_close(e);
	return rc < 0 ? -1 : 0;
}

static int rb_cmd_run(struct rb_cli *cli)
{
	struct rn_client_config cfg;
	uint32_t target = 0;
	if (rb_cluster_config(cli, &cfg, &target) != 0) {
		return 1;
	}
	fprintf(stderr, "raftbench: %s loop, target node %u, seed %llu\n",
		cli->opts.rate_per_s > 0 ? "open" : "closed", target,
		(unsigned long long)cli->opts.seed);
	if (cli->timeseries_path && !(cli->opts.timeseries = rb_open_out(cli->timeseries_path))) {
		return 1;
	}
	if (cli->trace_file_path && !(cli->opts.trace_file = rb_open_out(cli->trace_file_path))) {
		if (cli->opts.timeseries) {
			fclose(cli->opts.timeseries);
		}
		return 1;
	}
	struct rb_result *r = malloc(sizeof(*r));
	RN_ASSERT(r != NULL);
	int rc = rb_measure(cli, &cli->opts, &cfg, r);
	if (cli->opts.timeseries) {
		fclose(cli->opts.timeseries);
	}
	if (cli->opts.trace_file) {
		fclose(cli->opts.trace_file);
	}
	if (rc == 0) {
		rc = rb_emit_result(cli, r);
	}
	free(r);
	return rc == 0 ? 0 : 1;
}

int rb_emit_result(const struct rb_cli *cli, const struct rb_result *r)
{
	if (cli->cdf_path) {
		FILE *f = rb_open_out(cli->cdf_path);
		if (f == NULL) {
			return -1;
		}
		rb_write_cdf(f, &r->total.latency_ns);
		fclose(f);
	}
	if (cli->csv) {
		FILE *f = cli->csv_path ? rb_open_out(cli->csv_path) : stdout;
		if (f == NULL) {
			return -1;
		}
		rb_print_csv(f, r);
		if (f != stdout) {
			fclose(f);
		}
	}
	if (cli->json) {
		rb_print_json(stdout, r);
	} else if (!cli->csv || cli->csv_path) {
		rb_print_text(stdout, r);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rb_cli cli;
	/* The open loop's send times are kept to the microsecond: with the
	 * kernel's default 50 us timer slack a sleep until the next intended
	 * send ends up to 50 us late, and that lateness counts in the
	 * request's latency (it is measured from the intended time). */
	(void)prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	int rc = rb_cli_parse(argc, argv, &cli);
	if (rc != 0) {
		rb_usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	if (cli.sched_slice_us > 0) {
		/* The client is one of a commit's hops that waits for a CPU on
		 * a shared machine (README: idle policies). A kernel without
		 * custom slices keeps its own: said once, not fatal. */
		int src = dp_thread_slice_set(cli.sched_slice_us);
		if (src != 0 && !cli.opts.quiet) {
			fprintf(stderr, "raftbench: sched slice %u us not set (%s): the kernel's kept\n",
				cli.sched_slice_us, strerror(-src));
		}
	}
	if (strcmp(cli.command, "run") == 0) {
		return rb_cmd_run(&cli);
	}
	if (strcmp(cli.command, "sweep") == 0) {
		return rb_cmd_sweep(&cli);
	}
	if (strcmp(cli.command, "failover") == 0) {
		return rb_cmd_failover(&cli);
	}
	if (strcmp(cli.command, "follower-reads") == 0) {
		return rb_cmd_follower_reads(&cli);
	}
	fprintf(stderr, "raftbench: unknown command '%s' (run, sweep, failover, follower-reads)\n",
		cli.command);
	rb_usage(stderr);
	return 2;
}
