/* SPDX-License-Identifier: MIT */
/*
 * storebench_opts.h - storebench's command line: its options and their
 * parsing (storebench_opts.c), apart from the measuring (storebench.c).
 */
#ifndef RN_STOREBENCH_OPTS_H
#define RN_STOREBENCH_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "storage.h"

enum baseline { BASELINE_OFF = 0, BASELINE_DSYNC, BASELINE_DIRECT };

struct opts {
	enum store_engine_kind engine;
	enum store_durability durability;
	enum store_write_mode write_mode;
	bool uring_async;
	enum baseline baseline;
	uint32_t entry_bytes;
	uint32_t writers;
	uint64_t rate_per_s; /* 0 = closed loop */
	double duration_s;
	const char *dir;
	uint64_t segment_bytes;
	bool json;
	bool keep;
};

/* Fills *o from the command line: 0, or -1 after saying what was wrong
 * (--help prints the usage and exits 0). */
int storebench_parse_opts(int argc, char **argv, struct opts *o);

#endif /* RN_STOREBENCH_OPTS_H */
