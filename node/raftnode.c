/* SPDX-License-Identifier: MIT */
/*
 * raftnode.c - the daemon's command line: `raftnode --config FILE --id N`.
 * stage: main (it starts the node, runs the lcores, stops the node).
 * Exit status: 0 after a clean stop (SIGTERM/SIGINT: a leader hands over
 * first, control/ops.c), 1 when the node
 * cannot start or fails (a log it cannot prove intact, a failed fsync, a
 * port that does not open), 2 for a bad command line or configuration.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "daemon.h"
#include "ops.h"

static volatile int raftnode_stop;
static volatile sig_atomic_t raftnode_signals;
static struct node_daemon *volatile raftnode_daemon;
static struct node_ops raftnode_ops;
static volatile sig_atomic_t raftnode_hup;
static struct node_keys_watch *volatile raftnode_keys_watch;

/* SIGHUP: the key files again (keys.c), on the watcher's thread. One that
 * comes during the start is kept for when the watcher runs. */
static void raftnode_on_hup(int sig)
{
	(void)sig;
	raftnode_hup = 1;
	if (raftnode_keys_watch != NULL) {
		raftnode_keys_watch->reload_requested = 1;
	}
}

/* The first SIGTERM/SIGINT of a running node asks for the drain (control
 * hands leadership over, then stops: control/ops.c); a second one, or one
 * during the start, stops at once. */
static void raftnode_on_signal(int sig)
{
	(void)sig;
	if (raftnode_daemon != NULL && raftnode_signals++ == 0) {
		raftnode_ops.drain_requested = 1;
		node_ops_notify("STOPPING=1");
		return;
	}
	raftnode_stop = 1;
	if (raftnode_daemon != NULL) {
		raftnode_daemon->stop = 1; /* every lcore's loop watches it */
	}
}

static void raftnode_usage(FILE *f)
{
	fprintf(f,
		"usage: raftnode --config FILE --id N [--check] [--from-snapshot SNAP] [--join]\n"
		"                [--force-new-cluster] [--metrics-addr IP:PORT]\n"
		"                [--bench-allow-auth-off]\n"
		"\n"
		"Runs Raft node N of the cluster described in FILE (INI; see\n"
		"config/example.ini): its log in [node] data_dir, its frames over\n"
		"[node] transport (dpdk: a DPDK port, PCI address or vdev string;\n"
		"udp: a kernel socket), a replicated key-value store served to\n"
		"clients (raftctl, raftbench) on its member address and UDP port.\n"
		"\n"
		"  --config FILE  the cluster's configuration file\n"
		"  --id N         which [member.N] this node is\n"
		"  --check        read and check the configuration, then exit\n"
		"  --from-snapshot SNAP  a new cluster from a snapshot file (raftctl snapshot\n"
		"                 save): into an empty data_dir, the state at its index;\n"
		"                 start every member with the same file\n"
		"  --join         join a running cluster: node N has a [member.N] section (its\n"
		"                 address) but is not among [cluster] initial_members (or is,\n"
		"                 replacing a lost node); with an empty data_dir it starts as a\n"
		"                 non-member, never campaigns, and waits until the leader adds it\n"
		"                 (raftctl member add-learner N ADDR), then takes the log or a\n"
		"                 snapshot; with a non-empty data_dir it restarts from it\n"
		"  --force-new-cluster  UNSAFE, after losing a majority for good: restart from\n"
		"                 this node's data_dir as the ONLY voter (etcd's option of that\n"
		"                 name). Entries the old majority committed but this log lacks are\n"
		"                 lost; wipe every other old member before it rejoins\n"
		"  --metrics-addr IP:PORT  serve Prometheus metrics (GET /metrics) and a\n"
		"                 health check (GET /health: 200 ok, or 503 and why) over\n"
		"                 HTTP on this address; overrides [node] metrics_addr. Off\n"
		"                 when neither is given; give 127.0.0.1:PORT to keep it local\n"
		"  --bench-allow-auth-off  BENCHMARK ONLY: accept [cluster] auth = off (frames\n"
		"                 neither tagged nor checked: anyone on the path can forge\n"
		"                 votes and entries); refused without this flag\n"
		"  --help         this text\n"
		"\n"
		"SIGTERM or SIGINT drains the node: a leader hands leadership to its most\n"
		"up-to-date voter (bounded: two election timeouts), waits for its writes to\n"
		"be applied and answered, and exits 0; a follower finishes its log writes\n"
		"and exits 0. A second signal stops at once. After SIGKILL it recovers\n"
		"everything it acknowledged from its log (tests kill it at a named step\n"
		"with RAFTNODE_CRASH_AT=POINT[:K]; storage.h lists the points). Under\n"
		"systemd (Type=notify) it sends READY=1 once it serves. Status: `raftctl\n"
		"--node N status`, `raftctl --node N metrics`, or DPDK telemetry command\n"
		"/raftnode/status.\n"
		"SIGHUP (or `raftctl reload`, sealed with an admin key) reloads [cluster]\n"
		"peer_key_file, client_key_file and admin_key_file (mode 600): the first\n"
		"key of a file seals, every key listed is accepted; keys rotate live in\n"
		"three steps (scripts/cluster.sh rotate-keys; README: Keys).\n"
		"Exit status: 0 clean stop, 1 start or run failure, 2 bad usage or config.\n");
}

static const char *raftnode_metrics_addr; /* --metrics-addr, NULL: the config's */

static int raftnode_parse(int argc, char **argv, const char **config, raft_node_id *id,
			  bool *check, struct node_start_opts *start)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"id", required_argument, NULL, 'i'},
		{"check", no_argument, NULL, 'k'},	  {"help", no_argument, NULL, 'h'},
		{"from-snapshot", required_argument, NULL, 's'},
		{"metrics-addr", required_argument, NULL, 'm'},
		{"join", no_argument, NULL, 'j'},
		{"force-new-cluster", no_argument, NULL, 'f'},
		{"bench-allow-auth-off", no_argument, NULL, 'A'},
		{NULL, 0, NULL, 0}};
	int o;
	char *end;
	while ((o = getopt_long(argc, argv, "c:i:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			*config = optarg;
			break;
		case 'i': {
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v == 0 || v > UINT32_MAX) {
				fprintf(stderr, "raftnode: --id: '%s' is not a node id (1, 2, ...)\n",
					optarg);
				return 2;
			}
			*id = (raft_node_id)v;
			break;
		}
		case 'k':
			*check = true;
			break;
		case 's':
			start->from_snapshot = optarg;
			break;
		case 'j':
			start->join = true;
			break;
		case 'f':
			start->force_new_cluster = true;
			break;
		case 'A':
			start->allow_auth_off = true;
			break;
		case 'm':
			raftnode_metrics_addr = optarg;
			break;
		case 'h':
			raftnode_usage(stdout);
			exit(0);
		default:
			raftnode_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "raftnode: unexpected argument '%s' (try --help)\n", argv[optind]);
		return 2;
	}
	if (*config == NULL || *id == RAFT_NODE_NONE) {
		fprintf(stderr, "raftnode: need --config FILE and --id N (try --help)\n");
		return 2;
	}
	if (start->join && (start->force_new_cluster || start->from_snapshot != NULL)) {
		fprintf(stderr, "raftnode: --join joins a running cluster: not with "
			"--force-new-cluster or --from-snapshot, which start one\n");
		return 2;
	}
	uint32_t ip_be;
	uint16_t port;
	if (raftnode_metrics_addr != NULL && raftnode_metrics_addr[0] != '\0' &&
	    node_metrics_parse_addr(raftnode_metrics_addr, &ip_be, &port) != 0) {
		fprintf(stderr, "raftnode: --metrics-addr: '%s' is not IPv4:PORT (e.g. "
			"127.0.0.1:9101)\n", raftnode_metrics_addr);
		return 2;
	}
	return 0;
}

/*
 * The event idle policy: each lcore's epoll set of its stages' inputs, and
 * the doorbells of rings that cross lcores. An lcore whose port cannot
 * sleep on an event naps instead, said loudly: every hop there then waits
 * for a nap to end. 0, or -errno (the node does not start).
 */
static int raftnode_events(struct node_daemon *d, struct dp_lcore *lcores, const unsigned *ids,
			   uint32_t lcores_count)
{
	struct dp_doorbell *db[NODE_STAGES] = {0};
	for (uint32_t k = 0; k < lcores_count; k++) {
		char why[256];
		int rc = dp_lcore_event_open(&lcores[k], why, sizeof(why));
		if (rc < 0) {
			fprintf(stderr, "raftnode %u: lcore %u: %s\n", d->cfg.self, ids[k], why);
			for (uint32_t j = 0; j < k; j++) {
				dp_lcore_fini(&lcores[j]); /* the ones opened before */
			}
			return rc;
		}
		if (rc > 0) {
			fprintf(stderr, "raftnode %u: DEGRADED: idle = event: lcore %u: %s\n",
				d->cfg.self, ids[k], why);
		}
		for (int st = 0; st < NODE_STAGES; st++) {
			if (d->cfg.stage_lcore[st] == (int)ids[k]) {
				db[st] = &lcores[k].doorbell;
			}
		}
	}
	node_daemon_wire_doorbells(d, db);
	int intr_fd = d->transport.kind == DP_TRANSPORT_DPDK ? dp_transport_wait_fd(&d->transport)
							       : DP_WAIT_FD_POLL;
	for (uint32_t k = 0; k < lcores_count && intr_fd >= 0; k++) {
		if (lcores[k].event && d->cfg.stage_lcore[NODE_STAGE_RXTX] == (int)ids[k]) {
			/* What the integration tests look for: no nap on this port. */
			fprintf(stderr, "raftnode %u: idle = event: lcore %u sleeps on the port's "
				"rx interrupt (fd %d)\n", d->cfg.self, ids[k], intr_fd);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *config = NULL;
	raft_node_id id = RAFT_NODE_NONE;
	bool check = false;
	struct node_start_opts start = {0};
	int rc = raftnode_parse(argc, argv, &config, &id, &check, &start);
	if (rc != 0) {
		return rc;
	}
	char errmsg[1024];
	if (check) {
		struct node_config cfg;
		if (node_config_load(config, id, &cfg, errmsg, sizeof(errmsg)) != 0) {
			fprintf(stderr, "raftnode: %s\n", errmsg);
			return 2;
		}
		uint32_t ip_be;
		uint16_t port;
		if (cfg.metrics_addr[0] != '\0' &&
		    node_metrics_parse_addr(cfg.metrics_addr, &ip_be, &port) != 0) {
			fprintf(stderr, "raftnode: %s: [node] metrics_addr '%s' is not IPv4:PORT\n",
				config, cfg.metrics_addr);
			return 2;
		}
		printf("raftnode: %s: node %u of %u members (%u initial): ok\n", config, id,
		       cfg.members_count, cfg.initial_count);
		return 0;
	}
	/* Tests only: a crash point (storage.h lists them), armed before any
	 * thread starts. */
	if (store_crash_arm(getenv("RAFTNODE_CRASH_AT"), id, errmsg, sizeof(errmsg)) != 0) {
		fprintf(stderr, "raftnode %u: %s\n", id, errmsg);
		return 2;
	}
	if (store_crash_armed()) {
		fprintf(stderr, "raftnode %u: TEST ONLY: armed crash point RAFTNODE_CRASH_AT=%s\n", id,
			getenv("RAFTNODE_CRASH_AT"));
	}
	static struct node_daemon d;
	struct sigaction sa = {.sa_handler = raftnode_on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	struct sigaction hup = {.sa_handler = raftnode_on_hup};
	sigaction(SIGHUP, &hup, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = node_daemon_start(&d, config, id, &start, errmsg, sizeof(errmsg));
	if (rc != 0) {
		fprintf(stderr, "raftnode: %s\n", errmsg);
		node_daemon_stop(&d);
		return rc == -EINVAL ? 2 : 1;
	}
	rc = node_keys_watch_start(&d.keys_watch, &d.keys, &d.cfg);
	if (rc != 0) {
		fprintf(stderr, "raftnode %u: cannot start the key watcher: %s\n", id, strerror(-rc));
		node_daemon_stop(&d);
		return 1;
	}
	raftnode_keys_watch = &d.keys_watch;
	/* raftctl reload: control asks the watcher (control/admin.c). */
	node_admin_init(&d.admin, &d.keys_watch, &d.keys);
	d.control.admin = &d.admin;
	if (raftnode_hup) {
		d.keys_watch.reload_requested = 1;
	}
	char keys_now[160];
	node_keys_describe(&d.keys, keys_now, sizeof(keys_now));
	fprintf(stderr, "raftnode %u: keys: %s (SIGHUP reloads the key files)\n", id, keys_now);
	fprintf(stderr, "raftnode %u: running (%s transport, %s log, %s, %s writes, %u members)\n",
		id, d.cfg.transport == NODE_TRANSPORT_UDP ? "udp" : "dpdk",
		d.cfg.io_engine == NODE_ENGINE_PWRITE ? "pwrite" : "uring",
		node_durability_name(d.cfg.durability), node_log_write_name(d.cfg.log_write),
		d.cfg.members_count);
	/* The stages onto the lcores lcore_map names, in the order the EAL
	 * runs them (this thread is the main lcore). On a shared lcore the log
	 * stage goes first (its completions are stepped in the same round),
	 * rx/tx before control (what it received is stepped in the same
	 * round). */
	static struct dp_lcore lcores[NODE_STAGES];
	unsigned ids[NODE_STAGES];
	uint32_t lcores_count = dp_sched_lcore_ids(ids, NODE_STAGES);
	RN_ASSERT(lcores_count <= NODE_STAGES);
	struct dp_lcore_config lc = {.idle_policy = d.cfg.idle == NODE_IDLE_BUSY    ? DP_IDLE_BUSY
						    : d.cfg.idle == NODE_IDLE_EVENT ? DP_IDLE_EVENT
										    : DP_IDLE_ADAPTIVE,
				     .spin_rounds_max = 256, .sleep_us_max = 200,
				     .timer_slack_us = d.cfg.timer_slack_us,
				     .nice = d.cfg.lcore_nice,
				     .sched_slice_us = d.cfg.sched_slice_us};
	struct dp_stage stages[NODE_STAGES];
	node_daemon_stages(&d, stages);
	static const int order[NODE_STAGES] = {NODE_STAGE_LOG, NODE_STAGE_RXTX, NODE_STAGE_CONTROL,
						NODE_STAGE_APPLY};
	const int16_t *at = d.cfg.stage_lcore;
	for (uint32_t k = 0; k < lcores_count; k++) {
		dp_lcore_init(&lcores[k], &lc);
		for (uint32_t i = 0; i < NODE_STAGES; i++) {
			if (at[order[i]] == (int)ids[k]) {
				dp_lcore_add_stage(&lcores[k], &stages[order[i]]);
			}
		}
	}
	fprintf(stderr, "raftnode %u: lcores: rx/tx on %d, control on %d, log on %d, apply on %d\n",
		id, at[NODE_STAGE_RXTX], at[NODE_STAGE_CONTROL], at[NODE_STAGE_LOG],
		at[NODE_STAGE_APPLY]);
	if (raftnode_events(&d, lcores, ids, lcores_count) != 0) {
		node_daemon_stop(&d);
		return 1;
	}
	rc = node_ops_start(&raftnode_ops, &d, raftnode_metrics_addr, errmsg, sizeof(errmsg));
	if (rc != 0) {
		fprintf(stderr, "raftnode: %s\n", errmsg);
		for (uint32_t k = 0; k < lcores_count; k++) {
			dp_lcore_fini(&lcores[k]);
		}
		node_daemon_stop(&d);
		return rc == -EINVAL ? 2 : 1;
	}
	raftnode_daemon = &d;
	d.stop |= raftnode_stop; /* a signal during the start */
	node_ops_notify("READY=1"); /* systemd: the lcores start serving now */
	rc = dp_sched_run(lcores, lcores_count, &d.stop);
	if (rc != 0) {
		fprintf(stderr, "raftnode %u: cannot launch the lcores: %d\n", id, rc);
		d.stop = 1;
	}
	bool failed = node_daemon_failed(&d) || rc != 0;
	/* What each lcore did: how often it slept, and which stage kept it busy. */
	for (uint32_t k = 0; k < lcores_count; k++) {
		const struct dp_lcore_stats *st = &lcores[k].stats;
		fprintf(stderr, "raftnode %u: lcore %u: %" PRIu64 " rounds, %" PRIu64 " idle, %" PRIu64
			" sleeps (%" PRIu64 " ms, %" PRIu64 " after one empty round), wakeups %" PRIu64
			" by event, %" PRIu64 " by deadline, %" PRIu64 " by the 50 ms cap", id, ids[k],
			st->rounds, st->idle_rounds, st->sleeps, st->slept_us / 1000,
			st->sleeps_first_round, st->wakeups_by_event, st->wakeups_by_deadline,
			st->wakeups_by_cap);
		for (uint32_t i = 0; i < lcores[k].stages_count; i++) {
			fprintf(stderr, "; %s busy %" PRIu64, lcores[k].stages[i].name,
				st->stage_busy_rounds[i]);
		}
		fprintf(stderr, "\n");
	}
	for (uint32_t k = 0; k < lcores_count; k++) {
		dp_lcore_fini(&lcores[k]);
	}
	node_ops_stop(&raftnode_ops);
	node_daemon_stop(&d);
	fprintf(stderr, "raftnode %u: %s\n", id, failed ? "stopped after a log failure"
						       : "stopped cleanly");
	return failed ? 1 : 0;
}
