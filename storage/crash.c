/* SPDX-License-Identifier: MIT */
/*
 * crash.c - test-only crash points: the node killed with SIGKILL at a named
 * step of a snapshot write, a compaction, an install or a segment
 * creation, so an integration test can prove that a crash there loses
 * nothing acknowledged and leaves a node that starts (storage.h lists the
 * points; tests/integration/test_o_crash_points.sh drives them).
 *
 * Armed once at start (store_crash_arm, from the environment's
 * RAFTNODE_CRASH_AT, before any thread runs); each point is then one
 * branch on a flag that is false in every production run. The points sit
 * only on paths that run once per snapshot, compaction, install or
 * segment, never per entry. The armed point is the one mutable file-scope
 * state besides the stop flag: a crash point has no context to hang from
 * (store_snap_commit, a thread's loop) and it is written only before the
 * threads start.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "storage.h"

static const char *const crash_points[] = {STORE_CRASH_POINTS};
#define CRASH_POINTS_COUNT (sizeof(crash_points) / sizeof(crash_points[0]))

static struct {
	bool armed;
	uint32_t self;
	uint32_t nth;
	uint32_t hits; /* atomic: points run on several threads */
	char point[32];
} crash;

int store_crash_arm(const char *spec, uint32_t self, char *errmsg, size_t errmsg_bytes)
{
	crash.armed = false;
	if (spec == NULL || spec[0] == '\0') {
		return 0;
	}
	const char *colon = strchr(spec, ':');
	size_t name_bytes = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	unsigned long nth = 1;
	if (colon != NULL) {
		char *end;
		errno = 0;
		nth = strtoul(colon + 1, &end, 10);
		if (errno != 0 || *end != '\0' || nth == 0 || nth > UINT32_MAX) {
			snprintf(errmsg, errmsg_bytes, "RAFTNODE_CRASH_AT=%s: the count after ':' must "
				 "be 1 or more", spec);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < CRASH_POINTS_COUNT; i++) {
		if (strlen(crash_points[i]) == name_bytes &&
		    strncmp(crash_points[i], spec, name_bytes) == 0) {
			snprintf(crash.point, sizeof(crash.point), "%s", crash_points[i]);
			crash.nth = (uint32_t)nth;
			crash.self = self;
			crash.hits = 0;
			crash.armed = true;
			return 0;
		}
	}
	int at = snprintf(errmsg, errmsg_bytes, "RAFTNODE_CRASH_AT=%s: no such crash point; "
			  "they are:", spec);
	for (size_t i = 0; i < CRASH_POINTS_COUNT && at > 0 && (size_t)at < errmsg_bytes; i++) {
		at += snprintf(errmsg + at, errmsg_bytes - (size_t)at, " %s", crash_points[i]);
	}
	return -EINVAL;
}

bool store_crash_armed(void)
{
	return crash.armed;
}

void store_crash_point(const char *point)
{
	if (__builtin_expect(!crash.armed, 1)) {
		return;
	}
	if (strcmp(point, crash.point) != 0) {
		return;
	}
	uint32_t hit = __atomic_add_fetch(&crash.hits, 1, __ATOMIC_RELAXED);
	if (hit != crash.nth) {
		return;
	}
	/* One write(2) of the whole line: what the test waits for, and it is
	 * out before the signal (stderr is unbuffered, but be sure). */
	char line[128];
	int n = snprintf(line, sizeof(line), "raftnode %u: crash point %s (hit %u): SIGKILL\n",
			 crash.self, point, hit);
	if (n > 0) {
		ssize_t w = write(STDERR_FILENO, line, (size_t)n);
		(void)w;
	}
	raise(SIGKILL);
	RN_ASSERT(!"SIGKILL returned");
}
