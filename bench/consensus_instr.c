/* SPDX-License-Identifier: MIT */
/*
 * consensus_instr - runs a fixed number of committed entries through the
 * core so that `valgrind --tool=callgrind --toggle-collect=raft_step`
 * counts the core's instructions per entry (repeatable, unlike time).
 *   consensus_instr leader NODES BATCH ENTRIES
 *   consensus_instr follower BATCH ENTRIES
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus_drive.h"

static int usage(void)
{
	fprintf(stderr, "usage: consensus_instr leader NODES BATCH ENTRIES\n"
			"       consensus_instr follower BATCH ENTRIES\n"
			"Runs ENTRIES committed entries through one consensus core (for callgrind).\n");
	return 2;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end = NULL;
	unsigned long v = strtoul(s, &end, 10);
	if (end == s || *end != '\0' || v == 0 || v > 100000000ul) {
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t nodes = 3, batch = 0, entries = 0;
	struct drive *d;
	bool leader;

	if (argc == 5 && strcmp(argv[1], "leader") == 0) {
		leader = true;
		if (parse_u32(argv[2], &nodes) || parse_u32(argv[3], &batch) || parse_u32(argv[4], &entries)) {
			return usage();
		}
	} else if (argc == 4 && strcmp(argv[1], "follower") == 0) {
		leader = false;
		if (parse_u32(argv[2], &batch) || parse_u32(argv[3], &entries)) {
			return usage();
		}
	} else {
		return usage();
	}
	if (batch > RAFT_BATCH_ENTRIES_MAX || nodes > RAFT_NODES_MAX || nodes < 1) {
		return usage();
	}
	d = leader ? drive_leader_new(nodes, batch) : drive_follower_new(batch);
	uint64_t done = 0;
	while (done < entries) {
		done += leader ? drive_leader_round(d) : drive_follower_round(d);
	}
	drive_free(d);
	printf("entries %llu\n", (unsigned long long)done);
	return 0;
}
