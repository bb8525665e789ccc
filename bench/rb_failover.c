/* SPDX-License-Identifier: MIT */
/*
 * rb_failover.c - `raftbench failover`: under a steady open-loop load, kill
 * the leader (--kill-cmd, {id} substituted), and measure
 *   window_ms   = the longest gap between consecutive OK replies from the
 *                 kill command's start until the first OK reply after it
 *                 returned: last OK before the node stopped answering ->
 *                 first OK after (what a client sees), and
 *   election_ms = kill command returned (the node is down) -> first status
 *                 reply naming a new leader (from the command's start when
 *                 a leader was named before it returned; each
 *                 other node's status is polled every 10 ms through its
 *                 own async client, so polling never stalls the load);
 * then restart the node (--start-cmd), wait until its status answers, let
 * the cluster settle, next trial. The load follows the new leader as soon
 * as a status names it.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "raftbench.h"

#define RB_FO_PROBE_PERIOD_NS (10ull * 1000 * 1000)
#define RB_FO_SETTLE_NS (2ull * RB_NS_PER_S)
#define RB_FO_PHASE_MAX_NS (30ull * RB_NS_PER_S)

struct rb_probe {
	struct rn_client *c;
	uint32_t node_id;
	bool inflight;
	bool answered; /* a status reply came since the last reset */
	uint32_t leader_id;
};

struct rb_failover {
	struct rb_engine *e;
	struct rb_probe probes[RAFT_NODES_MAX];
	uint32_t probes_count;
	uint64_t next_probe_ns;
	uint32_t killed_id;
	uint32_t new_leader_id;
	uint64_t new_leader_ns;
};

struct rb_trial {
	uint32_t killed_id;
	uint32_t new_leader_id;
	double kill_cmd_ms; /* the kill command's own run time */
	double election_ms; /* kill command returned -> a status names a new leader */
	bool election_from_kill_start; /* named before the command returned: from its start */
	double window_ms;   /* longest gap between OK replies, kill start -> recovery */
};

static void rb_probe_reply(void *ctx, uint64_t user, int rc, const struct rn_client_result *res)
{
	struct rb_failover *fo = ctx;
	RN_ASSERT(user < fo->probes_count);
	struct rb_probe *p = &fo->probes[user];
	p->inflight = false;
	if (rc != 0 || res->status != DP_CLIENT_OK || res->value == NULL) {
		return;
	}
	p->answered = true;
	int64_t leader = rb_json_uint((const char *)res->value, res->value_bytes, "leader");
	p->leader_id = leader > 0 && leader <= UINT32_MAX ? (uint32_t)leader : 0;
	if (fo->killed_id != 0 && fo->new_leader_id == 0 && p->leader_id != 0 &&
	    p->leader_id != fo->killed_id) {
		fo->new_leader_id = p->leader_id;
		fo->new_leader_ns = rb_now_ns();
		rb_engine_set_target(fo->e, p->leader_id);
	}
}

/* Asks every probed node (all but `skip_id`) for its status every 10 ms,
 * one request in flight per node. */
static void rb_probe_step(struct rb_failover *fo, uint32_t skip_id, uint64_t now_ns)
{
	for (uint32_t i = 0; i < fo->probes_count; i++) {
		(void)rn_client_poll(fo->probes[i].c, 0, rb_probe_reply, fo);
	}
	if (now_ns < fo->next_probe_ns) {
		return;
	}
	fo->next_probe_ns = now_ns + RB_FO_PROBE_PERIOD_NS;
	for (uint32_t i = 0; i < fo->probes_count; i++) {
		struct rb_probe *p = &fo->probes[i];
		if (p->inflight || p->node_id == skip_id) {
			continue;
		}
		struct rn_client_request req = {
			.op = DP_CLIENT_STATUS, .key = "status", .key_bytes = 6, .user = i,
		};
		p->inflight = rn_client_submit(p->c, &req) == 0;
	}
}

static int rb_probes_open(struct rb_failover *fo, const struct rn_client_config *cfg)
{
	for (uint32_t i = 0; i < cfg->nodes_count; i++) {
		struct rn_client_config pc = *cfg;
		pc.target_id = cfg->nodes[i].id;
		pc.follow_redirects = false;
		pc.timeout_ms = 10;
		pc.deadline_ms = 50;
		pc.inflight_max = 4;
		int rc = rn_client_open(&pc, &fo->probes[i].c);
		if (rc != 0) {
			fprintf(stderr, "raftbench failover: status client: %s\n",
				rn_client_strerror(rc));
			return -1;
		}
		fo->probes[i].node_id = cfg->nodes[i].id;
		fo->probes_count++;
	}
	return 0;
}

/* Runs cmd with {id} replaced, in the background; the child's pid or -1. */
static pid_t rb_spawn(const char *cmd, uint32_t id)
{
	char line[1024];
	size_t at = 0;
	for (const char *s = cmd; *s != '\0' && at + 12 < sizeof(line); s++) {
		if (strncmp(s, "{id}", 4) == 0) {
			at += (size_t)snprintf(line + at, sizeof(line) - at, "%u", id);
			s += 3;
		} else {
			line[at++] = *s;
		}
	}
	line[at] = '\0';
	fprintf(stderr, "raftbench failover: running '%s'\n", line);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", line, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Keeps the load and the probes going for up to max_ns, until done(). */
static int rb_fo_run_until(struct rb_failover *fo, uint64_t max_ns, uint32_t skip_id,
			   bool (*done)(struct rb_failover *fo, pid_t child), pid_t child)
{
	uint64_t end_ns = rb_now_ns() + max_ns;
	while (rb_now_ns() < end_ns) {
		int rc = rb_engine_step(fo->e, 100);
		if (rc < 0) {
			fprintf(stderr, "raftbench failover: %s\n", rn_client_strerror(rc));
			return -1;
		}
		rb_probe_step(fo, skip_id, rb_now_ns());
		if (done != NULL && done(fo, child)) {
			return 0;
		}
	}
	return done == NULL ? 0 : 1;
}

static bool rb_fo_recovered(struct rb_failover *fo, pid_t child)
{
	(void)child;
	return fo->new_leader_id != 0 && fo->e->first_ok_after_mark_ns != 0;
}

static bool rb_fo_child_done(struct rb_failover *fo, pid_t child)
{
	(void)fo;
	int status;
	return waitpid(child, &status, WNOHANG) != 0;
}

static bool rb_fo_rejoined(struct rb_failover *fo, pid_t child)
{
	(void)child;
	for (uint32_t i = 0; i < fo->probes_count; i++) {
		if (fo->probes[i].node_id == fo->killed_id && fo->probes[i].answered) {
			return true;
		}
	}
	return false;
}

static uint32_t rb_fo_leader_now(struct rb_failover *fo)
{
	for (uint32_t i = 0; i < fo->probes_count; i++) {
		if (fo->probes[i].leader_id != 0) {
			return fo->probes[i].leader_id;
		}
	}
	return 0;
}

/* Kill command returned -> first status naming a new leader. A kill
 * command that returns late (it waited for the node's reaping: ~1.7 s under
 * an init that reaps on a timer, before cluster.sh took a zombie as gone)
 * lets the election finish before it returns; that used to read as 0 ms.
 * Then the election counts from the kill command's start, an upper bound
 * by at most the time the command took to send the signal, and says so. */
static double rb_fo_election_ms(const struct rb_failover *fo, uint64_t kill_ns, uint64_t killed_ns,
				bool *from_kill_start)
{
	RN_ASSERT(fo->new_leader_id != 0);
	RN_ASSERT(fo->new_leader_ns >= kill_ns);
	*from_kill_start = fo->new_leader_ns <= killed_ns;
	if (*from_kill_start) {
		fprintf(stderr, "raftbench failover: node %u named leader %.1f ms before the kill "
				"command returned: election_ms counts from the command's start\n",
			fo->new_leader_id, (double)(killed_ns - fo->new_leader_ns) / 1e6);
	}
	return (double)(fo->new_leader_ns - (*from_kill_start ? kill_ns : killed_ns)) / 1e6;
}

static int rb_fo_trial(struct rb_failover *fo, const struct rb_cli *cli, struct rb_trial *t)
{
	for (uint32_t i = 0; i < fo->probes_count; i++) {
		fo->probes[i].leader_id = 0; /* only what the settle phase hears */
	}
	if (rb_fo_run_until(fo, RB_FO_SETTLE_NS, 0, NULL, 0) != 0) {
		return -1;
	}
	uint32_t leader = rb_fo_leader_now(fo);
	if (leader == 0) {
		fprintf(stderr, "raftbench failover: no node names a leader\n");
		return -1;
	}
	rb_engine_set_target(fo->e, leader);
	struct rb_engine *e = fo->e;
	uint64_t kill_ns = rb_now_ns();
	e->mark_ns = kill_ns;
	e->ok_gap_max_ns = 0;
	fo->killed_id = leader;
	fo->new_leader_id = 0;
	for (uint32_t i = 0; i < fo->probes_count; i++) {
		fo->probes[i].answered = false;
	}
	/* The node is down when the kill command returns: elections count
	 * from there (the command itself may take a while: ssh, a script). */
	pid_t kill_pid = rb_spawn(cli->kill_cmd, leader);
	if (kill_pid < 0 ||
	    rb_fo_run_until(fo, RB_FO_PHASE_MAX_NS, leader, rb_fo_child_done, kill_pid) != 0) {
		fprintf(stderr, "raftbench failover: kill command failed or still running\n");
		return -1;
	}
	uint64_t killed_ns = rb_now_ns();
	e->first_ok_after_mark_ns = 0;
	if (rb_fo_run_until(fo, RB_FO_PHASE_MAX_NS, leader, rb_fo_recovered, 0) != 0) {
		fprintf(stderr, "raftbench failover: no new leader or no OK reply within 30 s\n");
		return -1;
	}
	t->killed_id = leader;
	t->new_leader_id = fo->new_leader_id;
	t->kill_cmd_ms = (double)(killed_ns - kill_ns) / 1e6;
	t->election_ms = rb_fo_election_ms(fo, kill_ns, killed_ns, &t->election_from_kill_start);
	t->window_ms = (double)e->ok_gap_max_ns / 1e6;
	e->mark_ns = 0;
	pid_t start_pid = rb_spawn(cli->start_cmd, leader);
	if (start_pid > 0 && rb_fo_run_until(fo, RB_FO_PHASE_MAX_NS, leader, rb_fo_child_done,
					     start_pid) != 0) {
		fprintf(stderr, "raftbench failover: start command still running after 30 s\n");
		kill(start_pid, SIGTERM);
		(void)waitpid(start_pid, NULL, 0);
		return -1;
	}
	if (rb_fo_run_until(fo, RB_FO_PHASE_MAX_NS, 0, rb_fo_rejoined, 0) != 0) {
		fprintf(stderr, "raftbench failover: node %u did not answer status in 30 s\n", leader);
		return -1;
	}
	fo->killed_id = 0;
	return 0;
}

static void rb_fo_report(const struct rb_cli *cli, const struct rb_trial *trials, uint32_t count,
			 const struct rb_result *r)
{
	double window_ms[RB_TRIALS_MAX];
	double election_ms[RB_TRIALS_MAX];
	for (uint32_t i = 0; i < count; i++) {
		window_ms[i] = trials[i].window_ms;
		election_ms[i] = trials[i].election_ms;
	}
	double w50 = rb_quantile(window_ms, count, 0.5), w99 = rb_quantile(window_ms, count, 0.99);
	double wmax = rb_quantile(window_ms, count, 1.0);
	double e50 = rb_quantile(election_ms, count, 0.5);
	double e99 = rb_quantile(election_ms, count, 0.99);
	double emax = rb_quantile(election_ms, count, 1.0);
	if (!cli->json) {
		printf("failover, %u trials at %.0f/s: window_ms p50 %.1f p99 %.1f max %.1f; "
		       "election_ms p50 %.1f p99 %.1f max %.1f; errors %llu timeouts %llu\n",
		       count, cli->opts.rate_per_s, w50, w99, wmax, e50, e99, emax,
		       (unsigned long long)r->total.errors, (unsigned long long)r->total.timeouts);
		return;
	}
	printf("{\"trials\":%u,\"rate_per_s_offered\":%.1f,\"seed\":%llu,\"window_ms_p50\":%.3f,"
	       "\"window_ms_p99\":%.3f,\"window_ms_max\":%.3f,\"election_ms_p50\":%.3f,"
	       "\"election_ms_p99\":%.3f,\"election_ms_max\":%.3f,\"errors\":%llu,"
	       "\"timeouts\":%llu,\"per_trial\":[",
	       count, cli->opts.rate_per_s, (unsigned long long)cli->opts.seed, w50, w99, wmax, e50,
	       e99, emax, (unsigned long long)r->total.errors, (unsigned long long)r->total.timeouts);
	for (uint32_t i = 0; i < count; i++) {
		printf("%s{\"killed_id\":%u,\"new_leader_id\":%u,\"kill_cmd_ms\":%.3f,"
		       "\"election_ms\":%.3f,\"election_from_kill_start\":%s,\"window_ms\":%.3f}",
		       i ? "," : "", trials[i].killed_id, trials[i].new_leader_id,
		       trials[i].kill_cmd_ms, trials[i].election_ms,
		       trials[i].election_from_kill_start ? "true" : "false", trials[i].window_ms);
	}
	printf("]}\n");
}

static int rb_fo_trials(struct rb_failover *fo, const struct rb_cli *cli, struct rb_trial *trials,
			uint32_t *count)
{
	for (uint32_t i = 0; i < cli->trials; i++) {
		struct rb_trial *t = &trials[i];
		if (rb_fo_trial(fo, cli, t) != 0) {
			return -1;
		}
		*count = i + 1;
		fprintf(stderr, "raftbench failover: trial %u: killed leader %u, new leader %u: "
				"kill_cmd_ms %.1f election_ms %.1f window_ms %.1f\n",
			i + 1, t->killed_id, t->new_leader_id, t->kill_cmd_ms, t->election_ms,
			t->window_ms);
	}
	return 0;
}

int rb_cmd_failover(struct rb_cli *cli)
{
	struct rn_client_config cfg;
	uint32_t target = 0;
	if (cli->opts.concurrency == 1 && cli->opts.rate_per_s == 0) {
		cli->opts.rate_per_s = 1000; /* the default load: open loop */
	}
	cli->opts.concurrency = 0;
	cli->opts.quiet = true;
	cli->opts.warmup_s = 0;
	cli->opts.duration_s = 1e6; /* the trials decide when to stop */
	if (rb_cluster_config(cli, &cfg, &target) != 0) {
		return 1;
	}
	struct rb_failover fo;
	memset(&fo, 0, sizeof(fo));
	struct rb_trial *trials = calloc(cli->trials, sizeof(*trials));
	struct rb_result *r = malloc(sizeof(*r));
	RN_ASSERT(trials != NULL && r != NULL);
	char errmsg[256];
	int rc = -1;
	uint32_t count = 0;
	if (rb_probes_open(&fo, &cfg) != 0 ||
	    rb_engine_open(&cli->opts, &cfg, &fo.e, errmsg, sizeof(errmsg)) != 0) {
		goto out;
	}
	fprintf(stderr, "raftbench failover: %u trials at %.0f/s, seed %llu\n", cli->trials,
		cli->opts.rate_per_s, (unsigned long long)cli->opts.seed);
	rb_result_init(r);
	rb_engine_start(fo.e, r, rb_now_ns());
	rc = rb_fo_trials(&fo, cli, trials, &count);
	if (count > 0) {
		rb_fo_report(cli, trials, count, r);
	}
out:
	rb_engine_close(fo.e);
	for (uint32_t i = 0; i < fo.probes_count; i++) {
		rn_client_close(fo.probes[i].c);
	}
	free(trials);
	free(r);
	return rc == 0 ? 0 : 1;
}
