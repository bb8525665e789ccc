/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the node's one clock. stage: any (a pure read of the kernel's
 * monotonic clock: every stage stamps with it, none owns it).
 *
 * Header-only so that no stage links another stage's object for the time:
 * the stage folders must not call into each other (scripts/check-deps.sh).
 * CLOCK_MONOTONIC is read through the vDSO: no system call on this path.
 */
#ifndef RN_NODE_CLOCK_H
#define RN_NODE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NODE_NS_PER_MS 1000000ull
#define NODE_NS_PER_S 1000000000ull

static inline uint64_t node_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NODE_NS_PER_S + (uint64_t)ts.tv_nsec;
}

#endif /* RN_NODE_CLOCK_H */
