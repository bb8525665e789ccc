/* SPDX-License-Identifier: MIT */
/*
 * snapbench - what a snapshot taken in the background costs the apply
 * stage: the time to apply one entry, p50/p99/p99.9/max, with no snapshot
 * running and with snapshots back to back (copy-on-write by chunks,
 * node/apply/kv_internal.h), side by side in one run, rounds alternating
 * so that a neighbour's load on a shared machine hits both. Also the stall
 * of starting a snapshot (marking the chunks) and each write's duration.
 *
 *   snapbench [--keys N] [--value-bytes B] [--entries N] [--rounds R] [--dir D]
 *
 * One thread applies (the apply stage's role), the snapshotter's writer
 * thread writes to D (default /tmp). Not a test: prints a table.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apply/snap_writer.h"
#include "common.h"
#include "node.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct load {
	uint64_t rng;
	uint32_t keys;
	uint32_t value_bytes;
	uint64_t seq[4096];
	uint8_t key[32], value[8192];
};

static void apply_one(struct node_kv *kv, struct load *l, bool fill_key, uint32_t k)
{
	uint64_t r = rn_splitmix64(&l->rng);
	uint32_t key = fill_key ? k : (uint32_t)(r % l->keys);
	int kb = snprintf((char *)l->key, sizeof(l->key), "k%010u", key);
	memcpy(l->value, &r, sizeof(r));
	uint32_t client = (uint32_t)(r >> 40) % 4096;
	struct node_kv_command c = {.op = NODE_KV_PUT, .client_id = client + 1,
				    .seq = ++l->seq[client], .key = l->key,
				    .key_bytes = (uint16_t)kb, .value = l->value,
				    .value_bytes = l->value_bytes};
	struct node_kv_result res;
	node_kv_apply_command(kv, node_kv_applied_index(kv) + 1, &c, &res);
}

static void report(const char *name, uint64_t *t, uint64_t n)
{
	qsort(t, n, sizeof(*t), cmp_u64);
	printf("%-22s %10" PRIu64 " %12.0f %12.0f %12.0f %12.0f\n", name, n,
	       (double)t[n / 2], (double)t[n * 99 / 100], (double)t[n * 999 / 1000],
	       (double)t[n - 1]);
}

int main(int argc, char **argv)
{
	uint32_t keys = 1000000, value_bytes = 100, rounds = 4;
	uint64_t entries = 200000;
	const char *dir = "/tmp";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--keys") == 0) {
			keys = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--value-bytes") == 0) {
			value_bytes = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--entries") == 0) {
			entries = strtoull(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--rounds") == 0) {
			rounds = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--dir") == 0) {
			dir = argv[i + 1];
		} else {
			fprintf(stderr, "usage: snapbench [--keys N] [--value-bytes B] [--entries N] "
				"[--rounds R] [--dir D]\n");
			return 2;
		}
	}
	if (value_bytes > 8192 || keys == 0) {
		fprintf(stderr, "snapbench: --value-bytes at most 8192, --keys at least 1\n");
		return 2;
	}
	char sdir[256];
	snprintf(sdir, sizeof(sdir), "%s/snapbench.%d", dir, getpid());
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", sdir);
	if (system(cmd) != 0) {
		return 1;
	}
	struct node_kv_config cfg = {.keys_max = keys, .key_bytes_max = 16,
				     .value_bytes_max = value_bytes, .clients_max = 4096,
				     .session_window = 256};
	struct node_kv *kv;
	struct node_snapshotter sn;
	struct node_snap_link link = {0};
	static struct node_conf conf = {.m = {.voters = {1}, .voters_count = 1}};
	struct node_snapshotter_config sc = {.dir = sdir, .cluster_id = 1,
					     .entries_trigger = UINT64_MAX,
					     .bytes_trigger = UINT64_MAX, .self = 1};
	if (node_kv_create(&cfg, &kv) != 0 || node_snapshotter_init(&sn, &sc, kv, &link) != 0) {
		fprintf(stderr, "snapbench: out of memory\n");
		return 1;
	}
	sn.conf = &conf;
	struct load *l = calloc(1, sizeof(*l));
	uint64_t *quiet = malloc(entries * rounds * sizeof(uint64_t));
	uint64_t *during = malloc(entries * rounds * sizeof(uint64_t));
	uint64_t *starts = malloc(100000 * sizeof(uint64_t));
	if (l == NULL || quiet == NULL || during == NULL || starts == NULL) {
		return 1;
	}
	l->rng = 42;
	l->keys = keys;
	l->value_bytes = value_bytes;
	fprintf(stderr, "snapbench: filling %u keys of %u-byte values...\n", keys, value_bytes);
	for (uint32_t k = 0; k < keys; k++) {
		apply_one(kv, l, true, k);
	}
	uint64_t nq = 0, nd = 0, ns = 0, snaps = 0;
	for (uint32_t r = 0; r < rounds; r++) {
		for (uint64_t i = 0; i < entries; i++) {
			uint64_t t0 = now_ns();
			apply_one(kv, l, false, 0);
			quiet[nq++] = now_ns() - t0;
		}
		/* Snapshots back to back for as many entries. */
		for (uint64_t i = 0; i < entries; i++) {
			if (node_snapshotter_idle(&sn)) {
				uint64_t t0 = now_ns();
				node_snapshotter_start(&sn, node_kv_applied_index(kv), 1);
				if (ns < 100000) {
					starts[ns++] = now_ns() - t0;
				}
				snaps++;
			}
			uint64_t t0 = now_ns();
			apply_one(kv, l, false, 0);
			during[nd++] = now_ns() - t0;
		}
		while (!node_snapshotter_idle(&sn)) {
			usleep(1000);
		}
	}
	printf("%u keys x %u-byte values, %u clients x 256 window; %" PRIu64 " snapshots, the "
	       "last written in %" PRIu64 " ms; %" PRIu64 " chunks copied by the apply side\n",
	       keys, value_bytes, cfg.clients_max, snaps, link.last_write_us / 1000,
	       node_kv_cow_chunks_copied(kv));
	printf("%-22s %10s %12s %12s %12s %12s\n", "apply_ns", "entries", "p50", "p99", "p99.9",
	       "max");
	report("no snapshot", quiet, nq);
	report("snapshot running", during, nd);
	report("snapshot start stall", starts, ns);
	printf("p99 ratio (running / none): %.2f\n",
	       (double)during[nd * 99 / 100] / (double)quiet[nq * 99 / 100]);
	node_snapshotter_fini(&sn);
	node_kv_destroy(kv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", sdir);
	return system(cmd) == 0 ? 0 : 1;
}
