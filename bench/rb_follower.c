/* SPDX-License-Identifier: MIT */
/*
 * rb_follower.c - `raftbench follower-reads`: how soon a follower applies
 * what the leader acknowledged. One write at a time goes to the leader (a
 * PUT of a fresh value to one key); once it is acknowledged, the follower
 * is asked for that key with stale reads (served from its applied state,
 * DP_CLIENT_GET_STALE), back to back, until it returns the new value:
 *
 *   lag_us     = acknowledgement received -> first stale read that saw
 *                the value returned (a read's round trip is the
 *                resolution: lag_us includes at most one of them)
 *   reads      = stale reads it took (1: the follower had applied the
 *                write by the time the first read reached it)
 *
 * Why: a leader that stops sending an acknowledged update for commit-only
 * appends (the quiet protocol) must not make followers apply later; this
 * measures it side by side with any other build. Synchronous client calls:
 * the numbers include one client round trip per read, as a follower read
 * by an application would.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "hist.h"
#include "raftbench.h"

/* Stale reads per write before the write counts as never seen. */
#define RB_FR_READS_MAX 100000u

struct rb_fr_result {
	uint32_t leader_id;
	uint32_t follower_id;
	uint64_t writes;
	uint64_t seen_first_read; /* the first stale read already saw the value */
	uint64_t never_seen;	  /* RB_FR_READS_MAX reads without the value */
	uint64_t errors;	  /* a write or read with no final OK reply */
	struct bench_hist lag_ns;
	struct bench_hist reads;
};

static uint32_t rb_fr_pick_follower(const struct rn_client_config *cfg, uint32_t leader,
				    uint32_t asked)
{
	if (asked != 0 && asked != leader) {
		return asked;
	}
	for (uint32_t i = 0; i < cfg->nodes_count; i++) {
		if (cfg->nodes[i].id != leader) {
			return cfg->nodes[i].id;
		}
	}
	return 0;
}

/* One write, then stale reads from the follower until it shows. */
static void rb_fr_trial(struct rn_client *w, struct rn_client *r, uint64_t n,
			struct rb_fr_result *out)
{
	static const char key[] = "raftbench-follower-reads";
	char value[32];
	int value_bytes = snprintf(value, sizeof(value), "v%llu", (unsigned long long)n);
	RN_ASSERT(value_bytes > 0 && (size_t)value_bytes < sizeof(value));
	struct rn_client_result res;
	int rc = rn_client_put(w, key, sizeof(key) - 1, value, (uint32_t)value_bytes, &res);
	uint64_t acked_ns = rb_now_ns();
	if (rc != 0 || res.status != DP_CLIENT_OK) {
		out->errors++;
		return;
	}
	out->writes++;
	for (uint32_t reads = 1; reads <= RB_FR_READS_MAX; reads++) {
		rc = rn_client_get(r, key, sizeof(key) - 1, true, &res);
		if (rc != 0 || (res.status != DP_CLIENT_OK && res.status != DP_CLIENT_NOT_FOUND)) {
			out->errors++;
			return;
		}
		if (res.status == DP_CLIENT_OK && res.value_bytes == (uint32_t)value_bytes &&
		    memcmp(res.value, value, (size_t)value_bytes) == 0) {
			bench_hist_record(&out->lag_ns, rb_now_ns() - acked_ns);
			bench_hist_record(&out->reads, reads);
			out->seen_first_read += reads == 1;
			return;
		}
	}
	out->never_seen++;
}

static void rb_fr_print(const struct rb_cli *cli, const struct rb_fr_result *fr)
{
	double p50 = (double)bench_hist_percentile(&fr->lag_ns, 0.5) / 1e3;
	double p99 = (double)bench_hist_percentile(&fr->lag_ns, 0.99) / 1e3;
	double first = fr->writes ? (double)fr->seen_first_read / (double)fr->writes : 0.0;
	if (cli->json) {
		printf("{\"leader_id\": %u, \"follower_id\": %u, \"writes\": %llu, "
		       "\"lag_us_p50\": %.1f, \"lag_us_p99\": %.1f, \"lag_us_mean\": %.1f, "
		       "\"reads_p50\": %llu, \"reads_p99\": %llu, \"seen_first_read_fraction\": %.4f, "
		       "\"never_seen\": %llu, \"errors\": %llu}\n",
		       fr->leader_id, fr->follower_id, (unsigned long long)fr->writes, p50, p99,
		       bench_hist_mean(&fr->lag_ns) / 1e3,
		       (unsigned long long)bench_hist_percentile(&fr->reads, 0.5),
		       (unsigned long long)bench_hist_percentile(&fr->reads, 0.99), first,
		       (unsigned long long)fr->never_seen, (unsigned long long)fr->errors);
		return;
	}
	printf("follower reads: leader %u, follower %u, %llu writes\n", fr->leader_id,
	       fr->follower_id, (unsigned long long)fr->writes);
	printf("  ack -> visible on the follower: p50 %.1f us, p99 %.1f us\n", p50, p99);
	printf("  stale reads until visible: p50 %llu, p99 %llu; first read saw it: %.1f %%\n",
	       (unsigned long long)bench_hist_percentile(&fr->reads, 0.5),
	       (unsigned long long)bench_hist_percentile(&fr->reads, 0.99), 100.0 * first);
	printf("  never seen: %llu, errors: %llu\n", (unsigned long long)fr->never_seen,
	       (unsigned long long)fr->errors);
}

int rb_cmd_follower_reads(struct rb_cli *cli)
{
	struct rn_client_config cfg;
	uint32_t leader = 0;
	if (rb_cluster_config(cli, &cfg, &leader) != 0) {
		return 1;
	}
	struct rb_fr_result *fr = calloc(1, sizeof(*fr));
	RN_ASSERT(fr != NULL);
	fr->leader_id = cfg.target_id;
	fr->follower_id = rb_fr_pick_follower(&cfg, cfg.target_id, cli->follower_id);
	if (fr->leader_id == 0 || fr->follower_id == 0) {
		fprintf(stderr, "raftbench: follower-reads needs a known leader and another node\n");
		free(fr);
		return 1;
	}
	struct rn_client_config rcfg = cfg;
	rcfg.target_id = fr->follower_id;
	rcfg.pin_target = true; /* a stale read must stay on the follower */
	rcfg.client_id = 0;	/* a session of its own */
	struct rn_client *w = NULL, *r = NULL;
	if (rn_client_open(&cfg, &w) != 0 || rn_client_open(&rcfg, &r) != 0) {
		fprintf(stderr, "raftbench: cannot open a client\n");
		rn_client_close(w);
		free(fr);
		return 1;
	}
	fprintf(stderr, "raftbench: follower reads: writes to node %u, stale reads from node %u\n",
		fr->leader_id, fr->follower_id);
	uint64_t start_ns = rb_now_ns();
	uint64_t warm_ns = start_ns + (uint64_t)(cli->opts.warmup_s * (double)RB_NS_PER_S);
	uint64_t end_ns = warm_ns + (uint64_t)(cli->opts.duration_s * (double)RB_NS_PER_S);
	uint64_t n = 0;
	while (rb_now_ns() < warm_ns) {
		struct rb_fr_result scratch = {0};
		rb_fr_trial(w, r, n++, &scratch);
	}
	while (rb_now_ns() < end_ns) {
		rb_fr_trial(w, r, n++, fr);
	}
	rn_client_close(w);
	rn_client_close(r);
	rb_fr_print(cli, fr);
	int rc = fr->writes > 0 ? 0 : 1;
	free(fr);
	return rc;
}
