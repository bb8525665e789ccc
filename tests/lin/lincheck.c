/* SPDX-License-Identifier: MIT */
/*
 * lincheck - checks a recorded key-value history for linearizability
 * (format and method in lin.h). Exit 0 linearizable, 1 not (or the search
 * gave up: that is not a pass), 2 bad usage or input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lin.h"

int main(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fprintf(argc == 2 ? stdout : stderr,
			"usage: lincheck HISTORY|-\n"
			"Checks a key-value history (put/get/del/cas by concurrent clients, one\n"
			"operation a line: CALL_US RETURN_US|- CLIENT OP KEY [ARGS] OUTCOME) for\n"
			"linearizability, key by key (Wing-Gong search with memoization).\n"
			"Exit: 0 linearizable, 1 not linearizable or undecided, 2 bad input.\n");
		return argc == 2 ? 0 : 2;
	}
	FILE *in = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "r");
	if (in == NULL) {
		fprintf(stderr, "lincheck: cannot open %s\n", argv[1]);
		return 2;
	}
	struct lin_event *events = NULL;
	long count = lin_parse(in, &events);
	if (in != stdin) {
		fclose(in);
	}
	if (count < 0) {
		return 2;
	}
	struct lin_report r;
	int rc = lin_check(events, (size_t)count, 0, &r);
	free(events);
	if (rc != 0) {
		fprintf(stderr, "lincheck: history is inconsistent (return before call?)\n");
		return 2;
	}
	if (r.linearizable) {
		printf("lincheck: linearizable: %llu operations on %llu keys, %llu states explored\n",
		       (unsigned long long)r.ops_checked, (unsigned long long)r.keys_checked,
		       (unsigned long long)r.states_explored);
		return 0;
	}
	printf("lincheck: %s: key #%llu (%u operations)\n",
	       r.gave_up ? "UNDECIDED (search budget exhausted)" : "NOT LINEARIZABLE",
	       (unsigned long long)r.bad_key, r.bad_key_ops);
	return 1;
}
