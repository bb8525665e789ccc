/* SPDX-License-Identifier: MIT */
/*
 * storebench_opts.c - storebench's command line (storebench_opts.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storebench_opts.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: storebench [options]\n"
		"Appends entries to a fresh durable log and reports durable entries/s, MiB/s,\n"
		"append-to-durable latency percentiles and the mean group size.\n"
		"  --engine uring|pwrite        I/O engine (default uring)\n"
		"  --durability fsync|dsync|none  (default: the library's; none is benchmarks-only)\n"
		"  --write buffered|direct      page cache or O_DIRECT (default: the library's)\n"
		"  --uring-async                IOSQE_ASYNC on the group's SQEs (an io-wq hop\n"
		"                               every write: to measure what it costs)\n"
		"  --baseline dsync|direct      (1 closed-loop writer) plain 4 KiB-block\n"
		"                               RWF_DSYNC writes (direct: O_DIRECT) into a\n"
		"                               pre-written file, interleaved with the log in\n"
		"                               slices of 50: p50/p99 and the log's ratio\n"
		"  --entry-bytes N              payload bytes per entry (default 64)\n"
		"  --writers N                  closed-loop writers, one entry each in flight\n"
		"                               (default 1)\n"
		"  --rate N                     open loop instead: N entries/s arrivals\n"
		"  --duration S                 seconds (default 5)\n"
		"  --dir PATH                   log directory (default: a new one under\n"
		"                               $TMPDIR or /var/tmp, removed at the end)\n"
		"  --segment-mib N              segment size (default 64)\n"
		"  --keep                       keep the log directory\n"
		"  --json                       one JSON object on stdout\n"
		"  --help                       this text\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0') {
		return -1;
	}
	*out = v;
	return 0;
}

int storebench_parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"engine", required_argument, NULL, 'e'},
		{"durability", required_argument, NULL, 'D'},
		{"write", required_argument, NULL, 'W'},
		{"uring-async", no_argument, NULL, 'A'},
		{"baseline", required_argument, NULL, 'B'},
		{"entry-bytes", required_argument, NULL, 'b'},
		{"writers", required_argument, NULL, 'w'},
		{"rate", required_argument, NULL, 'r'},
		{"duration", required_argument, NULL, 't'},
		{"dir", required_argument, NULL, 'd'},
		{"segment-mib", required_argument, NULL, 's'},
		{"keep", no_argument, NULL, 'k'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct store_config defaults;
	store_config_default(&defaults);
	*o = (struct opts){.engine = STORE_ENGINE_URING, .durability = defaults.durability,
			   .write_mode = defaults.write_mode, .entry_bytes = 64, .writers = 1,
			   .duration_s = 5, .segment_bytes = STORE_SEGMENT_BYTES_DEFAULT};
	int c;
	uint64_t v = 0;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'e':
			bad = strcmp(optarg, "uring") == 0 ? (o->engine = STORE_ENGINE_URING, 0)
			      : strcmp(optarg, "pwrite") == 0 ? (o->engine = STORE_ENGINE_PWRITE, 0)
							      : 1;
			break;
		case 'D':
			bad = strcmp(optarg, "fsync") == 0   ? (o->durability = STORE_DURABILITY_FSYNC, 0)
			      : strcmp(optarg, "dsync") == 0 ? (o->durability = STORE_DURABILITY_DSYNC, 0)
			      : strcmp(optarg, "none") == 0  ? (o->durability = STORE_DURABILITY_NONE, 0)
							     : 1;
			break;
		case 'W':
			bad = strcmp(optarg, "buffered") == 0 ? (o->write_mode = STORE_WRITE_BUFFERED, 0)
			      : strcmp(optarg, "direct") == 0 ? (o->write_mode = STORE_WRITE_DIRECT, 0)
								: 1;
			break;
		case 'A': o->uring_async = true; break;
		case 'B':
			bad = strcmp(optarg, "dsync") == 0    ? (o->baseline = BASELINE_DSYNC, 0)
			      : strcmp(optarg, "direct") == 0 ? (o->baseline = BASELINE_DIRECT, 0)
							      : 1;
			break;
		case 'b':
			bad = parse_u64(optarg, &v) || v > STORE_PAYLOAD_BYTES_MAX;
			o->entry_bytes = (uint32_t)v;
			break;
		case 'w':
			bad = parse_u64(optarg, &v) || v == 0 || v > 1000000;
			o->writers = (uint32_t)v;
			break;
		case 'r':
			bad = parse_u64(optarg, &v) || v == 0;
			o->rate_per_s = v;
			break;
		case 't':
			o->duration_s = strtod(optarg, NULL);
			bad = !(o->duration_s > 0);
			break;
		case 'd': o->dir = optarg; break;
		case 's':
			bad = parse_u64(optarg, &v) || v == 0 || v > 4096;
			o->segment_bytes = v << 20;
			break;
		case 'k': o->keep = true; break;
		case 'j': o->json = true; break;
		case 'h': usage(stdout); exit(0);
		default: bad = 1; break;
		}
		if (bad) {
			fprintf(stderr, "storebench: bad value for an option (try --help)\n");
			return -1;
		}
	}
	if (o->baseline != BASELINE_OFF && (o->writers != 1 || o->rate_per_s != 0)) {
		fprintf(stderr, "storebench: --baseline needs one closed-loop writer\n");
		return -1;
	}
	if (optind != argc) {
		fprintf(stderr, "storebench: unexpected argument '%s' (try --help)\n", argv[optind]);
		return -1;
	}
	return 0;
}
