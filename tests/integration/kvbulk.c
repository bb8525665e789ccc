/* SPDX-License-Identifier: MIT */
/*
 * kvbulk - bulk writes and read-backs against a running cluster, for the
 * integration tests:
 *
 *   kvbulk put   --count N | --duration-s S  [--acks-after-stop N] [--via 1,2,3]
 *                [--key-prefix P] [--rate R] --acked FILE
 *       writes P<i> = v<i> (i = 1, 2, ...), sending request i to node
 *       via[i % len] (followers redirect to the leader); every write
 *       acknowledged OK is appended to FILE ("key value" lines, flushed at
 *       once, so a kill of this process or of a node loses no record).
 *       SIGTERM or SIGINT stops it after the write it is in: a test stops
 *       its load when its faults are done, not when a clock says so. With
 *       --acks-after-stop N it first goes on until N writes sent after the
 *       stop were acknowledged (the cluster serves again); the count or
 *       duration is then only the bound on a hung run, and reaching it
 *       first fails. --rate R: at most R writes a second (a background
 *       load that leaves the machine to what the test is about);
 *   kvbulk check --acked FILE --node ID [--stale]
 *       reads every key of FILE from node ID (linearizable ReadIndex read,
 *       or the node's applied state with --stale) and fails if one is
 *       missing or differs.
 *
 * Exit 0 when every acknowledged write reads back (check) or at least one
 * write was acknowledged (put); 1 otherwise; 2 for bad usage.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rn_client.h"

static uint64_t kvbulk_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct kvbulk_args {
	const char *mode;
	const char *config;
	const char *acked;
	const char *key_prefix;
	uint32_t via[RAFT_NODES_MAX];
	uint32_t via_count;
	uint64_t count;
	uint64_t duration_s;
	uint64_t acks_after_stop;
	uint64_t rate_per_s; /* 0: as fast as the answers come */
	uint32_t node;
	bool stale;
};

/* True once SIGTERM or SIGINT came (kept blocked by main: polled here between
 * writes, so none is cut short by EINTR). */
static bool kvbulk_stop_came(const sigset_t *stop_signals)
{
	const struct timespec zero = {0, 0};
	return sigtimedwait(stop_signals, NULL, &zero) > 0;
}

static int kvbulk_put(struct rn_client *c, const struct kvbulk_args *a,
		      const sigset_t *stop_signals)
{
	FILE *f = fopen(a->acked, "a");
	if (f == NULL) {
		perror(a->acked);
		return 2;
	}
	uint64_t start_ms = kvbulk_now_ms();
	uint64_t end_ms = start_ms + a->duration_s * 1000u;
	uint64_t acked = 0, failed = 0, acked_after_stop = 0, i;
	bool stop = false;
	for (i = 1; a->duration_s > 0 ? kvbulk_now_ms() < end_ms : i <= a->count; i++) {
		stop = stop || kvbulk_stop_came(stop_signals);
		if (stop && acked_after_stop >= a->acks_after_stop) {
			break;
		}
		if (a->rate_per_s > 0) {
			/* Write i is due (i - 1) / R seconds after the start. */
			uint64_t due_ms = start_ms + (i - 1) * 1000u / a->rate_per_s;
			uint64_t now_ms = kvbulk_now_ms();
			if (due_ms > now_ms) {
				struct timespec ts = {.tv_sec = (time_t)((due_ms - now_ms) / 1000u),
						      .tv_nsec = (long)((due_ms - now_ms) % 1000u) * 1000000L};
				nanosleep(&ts, NULL);
			}
		}
		char key[64], value[64];
		snprintf(key, sizeof(key), "%s%" PRIu64, a->key_prefix, i);
		snprintf(value, sizeof(value), "v%" PRIu64 "-%s", i, a->key_prefix);
		if (a->via_count > 0) {
			rn_client_set_target(c, a->via[i % a->via_count]);
		}
		struct rn_client_result res;
		int rc = rn_client_put(c, key, (uint32_t)strlen(key), value, (uint32_t)strlen(value),
				       &res);
		if (rc == 0 && res.status == DP_CLIENT_OK) {
			fprintf(f, "%s %s\n", key, value);
			fflush(f);
			acked++;
			acked_after_stop += stop ? 1u : 0u;
		} else {
			failed++;
		}
	}
	fclose(f);
	printf("kvbulk: put %" PRIu64 " acknowledged, %" PRIu64 " not", acked, failed);
	if (stop) {
		printf("; stopped, %" PRIu64 " acknowledged after the stop", acked_after_stop);
	}
	printf("\n");
	if (a->acks_after_stop > 0 && acked_after_stop < a->acks_after_stop) {
		fprintf(stderr, "kvbulk: reached the %s with %" PRIu64 " of %" PRIu64
				" writes acknowledged after a stop (%s)\n",
			a->duration_s > 0 ? "duration" : "count", acked_after_stop, a->acks_after_stop,
			stop ? "the cluster did not serve again" : "no stop came");
		return 1;
	}
	return acked > 0 ? 0 : 1;
}

static int kvbulk_check(struct rn_client *c, const struct kvbulk_args *a)
{
	FILE *f = fopen(a->acked, "r");
	if (f == NULL) {
		perror(a->acked);
		return 2;
	}
	char key[128], value[128];
	uint64_t ok = 0, bad = 0;
	rn_client_set_target(c, a->node);
	while (fscanf(f, "%127s %127s", key, value) == 2) {
		struct rn_client_result res;
		int rc = rn_client_get(c, key, (uint32_t)strlen(key), a->stale, &res);
		if (rc == 0 && res.status == DP_CLIENT_OK && res.value_bytes == strlen(value) &&
		    memcmp(res.value, value, res.value_bytes) == 0) {
			ok++;
			continue;
		}
		if (bad++ < 5) {
			fprintf(stderr, "kvbulk: node %u: %s: expected %s, got %s (%.*s)\n", a->node, key,
				value, rc != 0 ? rn_client_strerror(rc) : "a reply",
				rc == 0 ? (int)res.value_bytes : 0, rc == 0 ? (const char *)res.value : "");
		}
	}
	fclose(f);
	printf("kvbulk: node %u: %" PRIu64 " of %" PRIu64 " acknowledged writes read back%s\n",
	       a->node, ok, ok + bad, a->stale ? " (stale reads)" : "");
	return bad == 0 ? 0 : 1;
}

static void kvbulk_usage(FILE *f)
{
	fprintf(f, "usage: kvbulk put (--count N | --duration-s S) [--acks-after-stop N]\n"
		   "                 [--via 1,2,3] [--key-prefix P] [--rate R] --acked FILE\n"
		   "                 [--config FILE]\n"
		   "       kvbulk check --acked FILE --node ID [--stale] [--config FILE]\n");
}

static int kvbulk_parse(int argc, char **argv, struct kvbulk_args *a)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},     {"acked", required_argument, NULL, 'a'},
		{"count", required_argument, NULL, 'n'},      {"duration-s", required_argument, NULL, 'd'},
		{"via", required_argument, NULL, 'v'},	      {"key-prefix", required_argument, NULL, 'p'},
		{"node", required_argument, NULL, 'N'},	      {"stale", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},	      {"acks-after-stop", required_argument, NULL, 'A'},
		{"rate", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0}};
	int o;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': a->config = optarg; break;
		case 'a': a->acked = optarg; break;
		case 'n': a->count = strtoull(optarg, NULL, 10); break;
		case 'd': a->duration_s = strtoull(optarg, NULL, 10); break;
		case 'A': a->acks_after_stop = strtoull(optarg, NULL, 10); break;
		case 'r': a->rate_per_s = strtoull(optarg, NULL, 10); break;
		case 'p': a->key_prefix = optarg; break;
		case 'N': a->node = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': a->stale = true; break;
		case 'v':
			for (char *t = strtok(optarg, ","); t != NULL && a->via_count < RAFT_NODES_MAX;
			     t = strtok(NULL, ",")) {
				a->via[a->via_count++] = (uint32_t)strtoul(t, NULL, 10);
			}
			break;
		case 'h': kvbulk_usage(stdout); exit(0);
		default: return 2;
		}
	}
	a->mode = optind < argc ? argv[optind] : "";
	bool put = strcmp(a->mode, "put") == 0, check = strcmp(a->mode, "check") == 0;
	if (a->acked == NULL || (!put && !check) || (put && a->count == 0 && a->duration_s == 0) ||
	    (check && a->node == 0)) {
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct kvbulk_args a = {.key_prefix = "key"};
	if (kvbulk_parse(argc, argv, &a) != 0) {
		kvbulk_usage(stderr);
		return 2;
	}
	/* put takes its stop signals between writes (kvbulk_stop_came); check
	 * keeps their default action. */
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	if (strcmp(a.mode, "put") == 0) {
		sigprocmask(SIG_BLOCK, &stop_signals, NULL);
	}
	struct rn_client_config cfg;
	char errmsg[512];
	rn_client_config_default(&cfg);
	if (rn_client_config_load(a.config != NULL ? a.config : rn_client_config_default_path(),
				  &cfg, errmsg, sizeof(errmsg)) != 0) {
		fprintf(stderr, "kvbulk: %s\n", errmsg);
		return 2;
	}
	cfg.deadline_ms = 2000;
	struct rn_client *c;
	int rc = rn_client_open(&cfg, &c);
	if (rc != 0) {
		fprintf(stderr, "kvbulk: %s\n", rn_client_strerror(rc));
		return 1;
	}
	rc = strcmp(a.mode, "put") == 0 ? kvbulk_put(c, &a, &stop_signals) : kvbulk_check(c, &a);
	rn_client_close(c);
	return rc;
}
