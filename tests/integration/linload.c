/* SPDX-License-Identifier: MIT */
/*
 * linload - concurrent clients doing random put/get/cas on a few keys of a
 * running cluster, recording every operation (call time, return time or
 * "-" when the outcome is unknown, client, operation, outcome) in the
 * history format of tests/lin/lin.h, for lincheck. Integration test (f)
 * runs it while leaders are killed and links cut.
 *
 * Each client is a thread with its own rn_client (one request at a time:
 * the node's session dedup covers its retries). Values are unique words
 * ("c<client>n<k>"), so the checker can tell every write apart.
 *
 * It runs for --duration-s, or until SIGTERM or SIGINT asks it to stop: a
 * test that injects faults stops the load when its faults are done, not
 * when a clock says so (how much fits in a time window depends on the
 * machine). A stop lets each client finish the operation it is in, so the
 * history stays complete; with --ops-after-stop N the clients first go on
 * until N operations called after the stop got a final reply (the cluster
 * serves again), and --duration-s is then only the bound on a hung run:
 * reaching it fails.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "rn_client.h"

#define LINLOAD_CLIENTS_MAX 64u
#define LINLOAD_OPS_MAX (1u << 20)

struct linload_op {
	uint64_t call_us;
	uint64_t return_us; /* 0 = unknown outcome */
	uint8_t op;
	uint8_t outcome; /* 0 ok, 1 not found, 2 mismatch, 3 unknown */
	uint32_t key;
	char value[24];
	char expected[24];
	char result[24];
};

struct linload_client {
	pthread_t thread;
	uint32_t id;
	struct rn_client_config cfg;
	uint64_t seed;
	struct linload_op *ops;
	uint32_t ops_count;
	uint32_t unknown_count;
	char last_value[8][24]; /* a value this client saw per key: cas material */
};

static uint64_t linload_t0_ns;
static uint64_t linload_end_ns;
static uint32_t linload_keys = 3;
/* Set by the main thread when SIGTERM or SIGINT arrives (the clients keep
 * those signals blocked, so no request is cut short by EINTR). */
static atomic_bool linload_stop;
/* Operations called after the stop that got a final reply, all clients;
 * the clients end once it reaches linload_after_stop_min. */
static atomic_uint_fast64_t linload_after_stop_ops;
static uint64_t linload_after_stop_min;
static atomic_uint linload_clients_done;

static uint64_t linload_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void linload_copy(char *dst, const uint8_t *src, uint32_t bytes)
{
	uint32_t n = bytes < 23 ? bytes : 23;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void linload_one(struct linload_client *lc, struct rn_client *c, uint32_t n)
{
	struct linload_op *op = &lc->ops[lc->ops_count];
	memset(op, 0, sizeof(*op));
	uint64_t r = rn_splitmix64(&lc->seed);
	op->key = (uint32_t)(r % linload_keys);
	uint32_t pick = (uint32_t)((r >> 16) % 10);
	char key[16];
	snprintf(key, sizeof(key), "k%u", op->key);
	snprintf(op->value, sizeof(op->value), "c%un%u", lc->id, n);
	struct rn_client_result res;
	int rc;
	bool after_stop = atomic_load_explicit(&linload_stop, memory_order_acquire);
	op->call_us = (linload_now_ns() - linload_t0_ns) / 1000u;
	if (pick < 4) {
		op->op = DP_CLIENT_PUT;
		rc = rn_client_put(c, key, (uint32_t)strlen(key), op->value,
				   (uint32_t)strlen(op->value), &res);
	} else if (pick < 8) {
		/* Reads go round every node, followers included: a follower must
		 * answer linearizably too (ReadIndex), not from a lagging state. */
		rn_client_set_target(c, lc->cfg.nodes[(n + lc->id) % lc->cfg.nodes_count].id);
		op->op = DP_CLIENT_GET;
		rc = rn_client_get(c, key, (uint32_t)strlen(key), false, &res);
	} else {
		op->op = DP_CLIENT_CAS;
		const char *exp = lc->last_value[op->key][0] != '\0' ? lc->last_value[op->key] : "none";
		snprintf(op->expected, sizeof(op->expected), "%s", exp);
		rc = rn_client_cas(c, key, (uint32_t)strlen(key), op->expected,
				   (uint32_t)strlen(op->expected), op->value,
				   (uint32_t)strlen(op->value), &res);
	}
	uint64_t ret_us = (linload_now_ns() - linload_t0_ns) / 1000u;
	if (rc != 0 || (res.status != DP_CLIENT_OK && res.status != DP_CLIENT_NOT_FOUND &&
			res.status != DP_CLIENT_CAS_FAILED)) {
		op->outcome = 3; /* no final reply: it may or may not have happened */
		lc->unknown_count++;
	} else {
		op->return_us = ret_us > op->call_us ? ret_us : op->call_us + 1;
		op->outcome = res.status == DP_CLIENT_OK	  ? 0
			      : res.status == DP_CLIENT_NOT_FOUND ? 1
								  : 2;
		if (op->op == DP_CLIENT_GET && op->outcome == 0) {
			linload_copy(op->result, res.value, res.value_bytes);
			snprintf(lc->last_value[op->key], sizeof(lc->last_value[0]), "%s", op->result);
		} else if (op->op != DP_CLIENT_GET && op->outcome == 0) {
			snprintf(lc->last_value[op->key], sizeof(lc->last_value[0]), "%s", op->value);
		}
		if (after_stop) {
			atomic_fetch_add_explicit(&linload_after_stop_ops, 1, memory_order_relaxed);
		}
	}
	lc->ops_count++;
}

/* True once a stop was asked for and enough operations answered after it. */
static bool linload_stopped(void)
{
	return atomic_load_explicit(&linload_stop, memory_order_acquire) &&
	       atomic_load_explicit(&linload_after_stop_ops, memory_order_relaxed) >=
		       linload_after_stop_min;
}

static void *linload_run(void *arg)
{
	struct linload_client *lc = arg;
	struct rn_client *c;
	int rc = rn_client_open(&lc->cfg, &c);
	if (rc != 0) {
		fprintf(stderr, "linload: client %u: %s\n", lc->id, rn_client_strerror(rc));
		atomic_fetch_add_explicit(&linload_clients_done, 1, memory_order_release);
		return NULL;
	}
	for (uint32_t n = 1; linload_now_ns() < linload_end_ns && lc->ops_count < LINLOAD_OPS_MAX &&
			     !linload_stopped();
	     n++) {
		linload_one(lc, c, n);
	}
	rn_client_close(c);
	atomic_fetch_add_explicit(&linload_clients_done, 1, memory_order_release);
	return NULL;
}

static void linload_write(FILE *f, const struct linload_client *lc)
{
	static const char *const outcomes[] = {"ok", "not_found", "mismatch", "?"};
	for (uint32_t i = 0; i < lc->ops_count; i++) {
		const struct linload_op *op = &lc->ops[i];
		char ret[24] = "-";
		if (op->outcome != 3) {
			snprintf(ret, sizeof(ret), "%" PRIu64, op->return_us);
		}
		fprintf(f, "%" PRIu64 " %s %u ", op->call_us, ret, lc->id);
		if (op->op == DP_CLIENT_PUT) {
			fprintf(f, "put k%u %s %s\n", op->key, op->value, outcomes[op->outcome]);
		} else if (op->op == DP_CLIENT_GET) {
			fprintf(f, "get k%u %s%s%s\n", op->key, outcomes[op->outcome],
				op->outcome == 0 ? " " : "", op->outcome == 0 ? op->result : "");
		} else {
			fprintf(f, "cas k%u %s %s %s\n", op->key, op->expected, op->value,
				outcomes[op->outcome]);
		}
	}
}

/* Waits until every client is done, turning SIGTERM or SIGINT into the stop
 * flag on the way. Returns when the stop came (CLOCK_MONOTONIC ns), 0 if
 * none came. The 100 ms poll only bounds how late "all done" is noticed. */
static uint64_t linload_wait(const sigset_t *stop_signals, uint32_t clients)
{
	uint64_t stop_ns = 0;
	const struct timespec poll_ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
	while (atomic_load_explicit(&linload_clients_done, memory_order_acquire) < clients) {
		int sig = sigtimedwait(stop_signals, NULL, &poll_ts);
		if (sig > 0 && stop_ns == 0) {
			stop_ns = linload_now_ns();
			atomic_store_explicit(&linload_stop, true, memory_order_release);
		}
	}
	return stop_ns;
}

static void linload_usage(FILE *f)
{
	fprintf(f, "usage: linload [--config FILE] [--clients N] [--keys K] [--duration-s S]\n"
		   "               [--ops-after-stop N] [--timeout-ms T] [--seed X] --out HISTORY\n"
		   "Concurrent clients doing random put/get/cas on K keys for S seconds, or\n"
		   "until SIGTERM/SIGINT (each client finishes the operation it is in);\n"
		   "writes the history for lincheck (tests/lin/lin.h format).\n"
		   "--ops-after-stop N: after the stop, go on until N operations called after\n"
		   "it got a final reply; S is then a bound: reaching it first fails.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},   {"clients", required_argument, NULL, 'n'},
		{"keys", required_argument, NULL, 'k'},	    {"duration-s", required_argument, NULL, 'd'},
		{"timeout-ms", required_argument, NULL, 't'}, {"seed", required_argument, NULL, 's'},
		{"out", required_argument, NULL, 'o'},	    {"help", no_argument, NULL, 'h'},
		{"ops-after-stop", required_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
	const char *config = NULL, *out = NULL;
	uint32_t clients = 4, duration_s = 20, timeout_ms = 1000;
	uint64_t seed = 1;
	int o;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': config = optarg; break;
		case 'n': clients = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'k': linload_keys = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'd': duration_s = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 't': timeout_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'o': out = optarg; break;
		case 'a': linload_after_stop_min = strtoull(optarg, NULL, 10); break;
		case 'h': linload_usage(stdout); return 0;
		default: linload_usage(stderr); return 2;
		}
	}
	if (out == NULL || clients == 0 || clients > LINLOAD_CLIENTS_MAX || linload_keys == 0 ||
	    linload_keys > 8 || duration_s == 0) {
		linload_usage(stderr);
		return 2;
	}
	static struct linload_client lcs[LINLOAD_CLIENTS_MAX];
	char errmsg[512];
	/* Blocked here, so in every client thread too; the main thread takes
	 * them with sigtimedwait (linload_wait). */
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	linload_t0_ns = linload_now_ns();
	linload_end_ns = linload_t0_ns + (uint64_t)duration_s * 1000000000ull;
	for (uint32_t i = 0; i < clients; i++) {
		struct linload_client *lc = &lcs[i];
		lc->id = i + 1;
		lc->seed = seed * 1000003u + i;
		rn_client_config_default(&lc->cfg);
		int rc = rn_client_config_load(config != NULL ? config : rn_client_config_default_path(),
					       &lc->cfg, errmsg, sizeof(errmsg));
		if (rc != 0) {
			fprintf(stderr, "linload: %s\n", errmsg);
			return 2;
		}
		lc->cfg.timeout_ms = 100;
		lc->cfg.deadline_ms = timeout_ms;
		lc->cfg.target_id = lc->cfg.nodes[i % lc->cfg.nodes_count].id;
		lc->ops = calloc(LINLOAD_OPS_MAX, sizeof(*lc->ops));
		if (lc->ops == NULL) {
			return 1;
		}
		pthread_create(&lc->thread, NULL, linload_run, lc);
	}
	uint64_t stop_ns = linload_wait(&stop_signals, clients);
	uint64_t total = 0, unknown = 0;
	FILE *f = fopen(out, "w");
	if (f == NULL) {
		fprintf(stderr, "linload: cannot write %s: %s\n", out, strerror(errno));
		return 1;
	}
	for (uint32_t i = 0; i < clients; i++) {
		pthread_join(lcs[i].thread, NULL);
		linload_write(f, &lcs[i]);
		total += lcs[i].ops_count;
		unknown += lcs[i].unknown_count;
	}
	fclose(f);
	uint64_t ran_ms = (linload_now_ns() - linload_t0_ns) / 1000000u;
	uint64_t after = atomic_load(&linload_after_stop_ops);
	printf("linload: %u clients, %" PRIu64 " operations on %u keys in %" PRIu64 ".%01" PRIu64
	       " s, %" PRIu64 " with unknown outcome",
	       clients, total, linload_keys, ran_ms / 1000u, ran_ms % 1000u / 100u, unknown);
	if (stop_ns != 0) {
		printf("; stopped at %" PRIu64 " s, %" PRIu64 " answered after the stop",
		       (stop_ns - linload_t0_ns) / 1000000000u, after);
	}
	printf("\n");
	if (linload_after_stop_min > 0 && after < linload_after_stop_min) {
		fprintf(stderr,
			"linload: reached --duration-s %u with %" PRIu64 " of %" PRIu64
			" operations answered after a stop (%s)\n",
			duration_s, after, linload_after_stop_min,
			stop_ns != 0 ? "the cluster did not serve again" : "no stop came");
		return 1;
	}
	return total > unknown ? 0 : 1;
}
