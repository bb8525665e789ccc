/* SPDX-License-Identifier: MIT */
/*
 * sched_slice.c - an lcore thread's EEVDF slice (sched_setattr with
 * SCHED_OTHER and sched_runtime: Linux 6.12 and later).
 *
 * Why: where threads outnumber CPUs (3 nodes and a client on 2 vCPUs) most
 * of a commit's one-in-flight tail is a woken stage waiting for a CPU that
 * another thread holds. EEVDF orders runnable tasks by virtual deadline,
 * eligible time plus the task's slice (weighted): a short slice gives a
 * thread that has just woken an earlier deadline than a thread in the middle
 * of its default 3 ms slice, so the wake-up preempts it. An lcore under the
 * `event` policy runs for microseconds and sleeps again, so it never needs
 * a long slice. It stays a fair task: its share of the CPU is its nice
 * weight's, and it cannot starve anything (unlike SCHED_FIFO, which would
 * starve the kernel's dio completion workers the log waits for).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"
#include "dataplane.h"

/* The kernel's struct sched_attr (include/uapi/linux/sched/types.h), the
 * first version's 48 bytes plus the utilization clamps: glibc before 2.41
 * has no wrapper and no declaration. */
struct slice_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
	uint32_t sched_util_min;
	uint32_t sched_util_max;
};

int dp_thread_slice_get_us(uint32_t *slice_us)
{
	struct slice_attr a;
	memset(&a, 0, sizeof(a));
	if (syscall(SYS_sched_getattr, 0, &a, (unsigned)sizeof(a), 0u) != 0) {
		return -errno;
	}
	*slice_us = (uint32_t)(a.sched_runtime / 1000u);
	return 0;
}

int dp_thread_slice_set(uint32_t slice_us)
{
	RN_ASSERT(slice_us > 0);
	struct slice_attr a;
	memset(&a, 0, sizeof(a));
	if (syscall(SYS_sched_getattr, 0, &a, (unsigned)sizeof(a), 0u) != 0) {
		return -errno;
	}
	if (a.sched_policy != SCHED_OTHER) {
		return -EPERM; /* started under another policy: not ours to change */
	}
	/* sched_setattr sets the nice value too: keep the thread's (lcore_nice
	 * was applied before). */
	struct slice_attr s;
	memset(&s, 0, sizeof(s));
	s.size = (uint32_t)sizeof(s);
	s.sched_policy = SCHED_OTHER;
	s.sched_nice = a.sched_nice;
	s.sched_runtime = (uint64_t)slice_us * 1000u;
	if (syscall(SYS_sched_setattr, 0, &s, 0u) != 0) {
		return -errno;
	}
	/* Kernels before 6.12 take sched_runtime for a fair task and ignore
	 * it: the value read back says whether it holds. The kernel clamps it
	 * to 100 us .. 100 ms. */
	uint32_t got_us = 0;
	int rc = dp_thread_slice_get_us(&got_us);
	if (rc != 0) {
		return rc;
	}
	return got_us == 0 ? -EOPNOTSUPP : 0;
}
