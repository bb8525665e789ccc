/* SPDX-License-Identifier: MIT */
/*
 * sim_assert.c - replaces the default assertion hook of common.h for
 * raftsim. An always-on RN_ASSERT that fires inside a run (in the consensus
 * core, or in the simulator's own bookkeeping) is recorded as a violation
 * of that run, "Assertion", and control returns to the runner, which then
 * reports the seed and the trace tail like any other violation. Outside a
 * run it prints and aborts, as the default does.
 */
#define RN_ASSERT_HOOK_OVERRIDE 1
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "sim.h"

struct sim *sim_assert_current;
jmp_buf sim_assert_jmp;

void rn_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	if (sim_assert_current != NULL) {
		struct sim *s = sim_assert_current;
		sim_assert_current = NULL;
		check_violation(s, "Assertion", "%s failed at %s:%d in %s()", expr, file, line,
				func);
		longjmp(sim_assert_jmp, 1);
	}
	fprintf(stderr, "%s:%d: %s: assertion `%s' failed\n", file, line, func, expr);
	abort();
}
