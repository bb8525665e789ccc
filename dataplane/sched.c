/* SPDX-License-Identifier: MIT */
/*
 * sched.c - the lcore stage scheduler: stages (rxtx, log, control, apply)
 * are functions with a poll() step, placed on lcores by configuration. All
 * stages of a node on one lcore (CI) or one stage per lcore (bare metal) is
 * only a different placement table; the loop is the same code.
 *
 * One round polls every stage of the lcore once, in placement order. When a
 * whole round did no work the lcore applies its idle policy:
 *   busy      spin (rte_pause): lowest wake-up latency, burns the core;
 *   adaptive  spin for spin_rounds_max empty rounds, then sleep, starting at
 *             1 us and doubling up to sleep_us_max while nothing happens.
 *             Any work resets it. The cost is wake-up latency: work that
 *             arrives during a sleep waits for the sleep's end plus the
 *             kernel's timer slack (50 us unless dp_lcore_config's
 *             timer_slack_us sets another). dataplane/README.md has the
 *             numbers.
 *   event     sleep in the kernel (epoll) on the stages' own inputs: each
 *             stage's wait_fd (a socket, io_uring's eventfd), the lcore's
 *             doorbell (rings from other lcores) and the earliest stage
 *             deadline (a tick). It wakes within one kernel wake-up of its
 *             input and spins not at all: where threads outnumber CPUs the
 *             next hop of a commit needs the CPU a spinner would take.
 *             One empty round arms the doorbell, the next empty round
 *             sleeps: a push between the two finds the flag set. Arming
 *             also calls each stage's sleep_arm(true) - a DPDK rx queue's
 *             interrupt is switched on there (l3fwd-power's protocol) -
 *             so the round between is the re-check of the queue: a frame
 *             that came before the switch is found by it, one that came
 *             after fires the fd (an lcore that no other lcore rings
 *             skips that round unless a stage's arming asks for it).
 *             sleep_arm(false) once the lcore wakes or that round found
 *             work. busy and adaptive never arm.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include "common.h"
#include "dataplane.h"

#define SCHED_SLEEP_US_FIRST 1u
#define SCHED_EVENTS_MAX 8
/* The longest event sleep: the stop flag (set by a signal on another
 * thread, or by a stage's fail-stop) is seen within this. Not a nap on the
 * commit path: any input wakes the lcore at once; 20 wake-ups a second of
 * an idle lcore cost nothing measurable. */
#define SCHED_EVENT_SLEEP_MS_DEFAULT 50u
/* The epoll tag of the lcore's own doorbell (stages' fds carry their index). */
#define SCHED_DOORBELL_TAG UINT64_MAX

void dp_lcore_init(struct dp_lcore *l, const struct dp_lcore_config *cfg)
{
	RN_ASSERT(l != NULL);
	RN_ASSERT(cfg != NULL);
	RN_ASSERT(cfg->idle_policy >= DP_IDLE_BUSY && cfg->idle_policy <= DP_IDLE_EVENT);
	memset(l, 0, sizeof(*l));
	l->cfg = *cfg;
	l->sleep_us = SCHED_SLEEP_US_FIRST;
	l->epoll_fd = -1;
	l->doorbell.fd = -1;
}

static int sched_epoll_add(struct dp_lcore *l, int fd, uint64_t tag)
{
	/* Edge-triggered: an lcore sleeps only after a round in which every
	 * stage found nothing (a socket read to EAGAIN), so each new input is
	 * a new edge; an eventfd's counter then need not be read back. */
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data = {.u64 = tag}};
	return epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

int dp_lcore_event_open(struct dp_lcore *l, char *why, size_t why_bytes)
{
	RN_ASSERT(l != NULL);
	RN_ASSERT(l->epoll_fd < 0); /* once */
	if (l->cfg.idle_policy != DP_IDLE_EVENT) {
		return 0;
	}
	for (uint32_t i = 0; i < l->stages_count; i++) {
		const struct dp_stage *st = &l->stages[i];
		if (st->wait_fd != NULL && st->wait_fd(st->ctx) == DP_WAIT_FD_POLL) {
			snprintf(why, why_bytes, "stage '%s' must be polled (a DPDK port whose "
				 "driver has no rx interrupt, or an io_uring without its eventfd): "
				 "the lcore naps (adaptive) instead", st->name);
			l->cfg.idle_policy = DP_IDLE_ADAPTIVE;
			return 1;
		}
	}
	l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	l->doorbell.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int rc = l->epoll_fd < 0 || l->doorbell.fd < 0 ? -errno : 0;
	if (rc == 0) {
		/* epoll_pwait2 (Linux 5.11) takes the ns time-out: probe it once
		 * rather than spin on its error every round. */
		struct epoll_event ev;
		struct timespec zero = {0, 0};
		if (epoll_pwait2(l->epoll_fd, &ev, 1, &zero, NULL) < 0 && errno != EINTR) {
			snprintf(why, why_bytes, "epoll_pwait2: %s: the lcore naps (adaptive) "
				 "instead", strerror(errno));
			dp_lcore_fini(l);
			l->cfg.idle_policy = DP_IDLE_ADAPTIVE;
			return 1;
		}
	}
	if (rc == 0) {
		rc = sched_epoll_add(l, l->doorbell.fd, SCHED_DOORBELL_TAG);
	}
	for (uint32_t i = 0; i < l->stages_count && rc == 0; i++) {
		const struct dp_stage *st = &l->stages[i];
		int fd = st->wait_fd != NULL ? st->wait_fd(st->ctx) : DP_WAIT_FD_NONE;
		if (fd >= 0) {
			rc = sched_epoll_add(l, fd, i);
		}
	}
	if (rc != 0) {
		snprintf(why, why_bytes, "cannot open the lcore's event set: %s", strerror(-rc));
		dp_lcore_fini(l);
		return rc;
	}
	l->event = true;
	return 0;
}

void dp_lcore_fini(struct dp_lcore *l)
{
	if (l->epoll_fd >= 0) {
		close(l->epoll_fd);
	}
	if (l->doorbell.fd >= 0) {
		close(l->doorbell.fd);
	}
	l->epoll_fd = -1;
	l->doorbell.fd = -1;
	l->event = false;
}

void dp_doorbell_ring(struct dp_doorbell *d)
{
	if (d == NULL) {
		return;
	}
	/* After the producer's push (its release store): the Dekker fence
	 * against the sleeper's store to `sleeping` and its ring reads. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&d->sleeping, __ATOMIC_RELAXED) == 0 ||
	    __atomic_exchange_n(&d->sleeping, 0, __ATOMIC_ACQ_REL) == 0) {
		return; /* awake, or another producer rang it for this sleep */
	}
	uint64_t one = 1;
	ssize_t n = write(d->fd, &one, sizeof(one));
	(void)n; /* EAGAIN: the counter is full of wake-ups already */
}

/* The earliest deadline among the stages (or the longest sleep), as an
 * epoll timeout; by_deadline: a stage's deadline set it. */
static void sched_timeout(const struct dp_lcore *l, struct timespec *ts, bool *by_deadline)
{
	uint64_t first = UINT64_MAX;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint64_t now_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	for (uint32_t i = 0; i < l->stages_count; i++) {
		const struct dp_stage *st = &l->stages[i];
		if (st->deadline_ns != NULL) {
			uint64_t d = st->deadline_ns(st->ctx);
			first = d < first ? d : first;
		}
	}
	uint64_t cap_ns = (uint64_t)(l->cfg.event_sleep_ms_max > 0 ? l->cfg.event_sleep_ms_max
								   : SCHED_EVENT_SLEEP_MS_DEFAULT) *
			  1000000ull;
	*by_deadline = first <= now_ns + cap_ns;
	uint64_t left_ns = !*by_deadline ? cap_ns
			   : first > now_ns ? first - now_ns
					    : 0;
	ts->tv_sec = (time_t)(left_ns / 1000000000ull);
	ts->tv_nsec = (long)(left_ns % 1000000000ull);
}

/* The stages' sleep_arm: on before the last look, off after the sleep.
 * Arming on returns true when a stage's input must be looked at once
 * more before the lcore sleeps (an interrupt switched on just now: what
 * came before it fired nothing). */
static bool sched_arm_stages(struct dp_lcore *l, bool on)
{
	bool look_again = false;
	for (uint32_t i = 0; i < l->stages_count; i++) {
		const struct dp_stage *st = &l->stages[i];
		if (st->sleep_arm != NULL) {
			look_again |= st->sleep_arm(st->ctx, on);
		}
	}
	return look_again;
}

/* Disarms: the doorbell's flag and the stages' inputs. */
static void sched_disarm(struct dp_lcore *l)
{
	__atomic_store_n(&l->doorbell.sleeping, 0, __ATOMIC_RELAXED);
	(void)sched_arm_stages(l, false);
	l->armed = false;
}

/* Event policy, an empty round: the first arms the doorbell and the
 * stages' inputs, the next sleeps until a stage's fd, the doorbell or the
 * earliest deadline. An lcore whose doorbell no other lcore can ring
 * (every stage of the node on it: the CI default) sleeps after the first:
 * its fds were just read to EAGAIN, so any later input is a new edge epoll
 * reports, and no ring it reads has a producer elsewhere - the second
 * round would only repeat each input's system call. Unless a stage's
 * arming asks for that second look (an rx interrupt just enabled). */
static void sched_idle_event(struct dp_lcore *l)
{
	if (!l->armed) {
		__atomic_store_n(&l->doorbell.sleeping, 1, __ATOMIC_SEQ_CST);
		/* The sleeper's half of the Dekker pair: the flag is visible
		 * before the next round reads the rings. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		bool look_again = sched_arm_stages(l, true);
		l->armed = true;
		if (l->doorbell.producers > 0 || look_again) {
			return;
		}
		l->stats.sleeps_first_round++;
	}
	struct timespec ts;
	bool by_deadline;
	sched_timeout(l, &ts, &by_deadline);
	struct epoll_event evs[SCHED_EVENTS_MAX];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int n = epoll_pwait2(l->epoll_fd, evs, SCHED_EVENTS_MAX, &ts, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	sched_disarm(l);
	l->stats.sleeps++;
	l->stats.slept_us += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 +
					(t1.tv_nsec - t0.tv_nsec) / 1000);
	if (n > 0) {
		l->stats.wakeups_by_event++;
	} else if (n == 0 && by_deadline) {
		l->stats.wakeups_by_deadline++;
	} else if (n == 0) {
		l->stats.wakeups_by_cap++; /* the longest sleep: no input, no deadline */
	} else {
		l->stats.wait_errors++; /* EINTR (a signal): the next round looks */
	}
	for (uint32_t s = 0; s < l->stages_count; s++) {
		const struct dp_stage *st = &l->stages[s];
		if (st->woken == NULL) {
			continue;
		}
		/* A full array may have left ready fds out; an error or a
		 * time-out looks at nothing: say fired where unsure. */
		bool fired = n == SCHED_EVENTS_MAX || n < 0;
		for (int i = 0; i < n && !fired; i++) {
			fired = evs[i].data.u64 == s;
		}
		st->woken(st->ctx, fired);
	}
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u64 == SCHED_DOORBELL_TAG) {
			uint64_t count;
			ssize_t got = read(l->doorbell.fd, &count, sizeof(count));
			(void)got; /* drained; EAGAIN if a racing read took it */
		}
	}
}

int dp_lcore_add_stage(struct dp_lcore *l, const struct dp_stage *s)
{
	RN_ASSERT(l != NULL && s != NULL && s->poll != NULL);
	if (l->stages_count == DP_LCORE_STAGES_MAX) {
		return -DP_ERR_TOO_BIG;
	}
	l->stages[l->stages_count++] = *s;
	return 0;
}

int dp_sched_place(const struct dp_stage *stages, const uint32_t *lcore_of_stage,
		   uint32_t stages_count, struct dp_lcore *lcores, uint32_t lcores_count)
{
	RN_ASSERT(stages != NULL && lcore_of_stage != NULL && lcores != NULL);
	for (uint32_t i = 0; i < stages_count; i++) {
		if (lcore_of_stage[i] >= lcores_count) {
			return -DP_ERR_INVALID;
		}
	}
	for (uint32_t i = 0; i < stages_count; i++) {
		int rc = dp_lcore_add_stage(&lcores[lcore_of_stage[i]], &stages[i]);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static void sched_idle(struct dp_lcore *l)
{
	l->stats.idle_rounds++;
	if (l->event) {
		sched_idle_event(l);
		return;
	}
	if (l->cfg.idle_policy == DP_IDLE_BUSY || ++l->empty_rounds <= l->cfg.spin_rounds_max) {
		rte_pause();
		return;
	}
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)l->sleep_us * 1000};
	nanosleep(&ts, NULL);
	l->stats.sleeps++;
	l->stats.slept_us += l->sleep_us;
	if (l->sleep_us < l->cfg.sleep_us_max) {
		l->sleep_us *= 2;
		if (l->sleep_us > l->cfg.sleep_us_max) {
			l->sleep_us = l->cfg.sleep_us_max;
		}
	}
}

uint32_t dp_lcore_round(struct dp_lcore *l)
{
	uint32_t work = 0;
	for (uint32_t i = 0; i < l->stages_count; i++) {
		uint32_t w = l->stages[i].poll(l->stages[i].ctx);
		l->stats.stage_busy_rounds[i] += w > 0;
		work += w;
	}
	l->stats.rounds++;
	if (work > 0) {
		l->stats.work_items += work;
		l->empty_rounds = 0;
		l->sleep_us = SCHED_SLEEP_US_FIRST;
		if (l->armed) {
			/* Work came: not sleeping after all. A producer may have
			 * rung meanwhile; its wake-up is one spurious round. */
			sched_disarm(l);
		}
	} else {
		sched_idle(l);
	}
	return work;
}

void dp_lcore_run(struct dp_lcore *l, const volatile int *stop)
{
	RN_ASSERT(l != NULL && stop != NULL);
	/* The default 50 us timer slack adds itself to every sleep; lowering
	 * it is the configuration's choice (see dp_lcore_config). */
	if (l->cfg.timer_slack_us > 0) {
		(void)prctl(PR_SET_TIMERSLACK, (unsigned long)l->cfg.timer_slack_us * 1000UL, 0, 0,
			    0);
	}
	if (l->cfg.nice != 0 &&
	    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), l->cfg.nice) != 0) {
		/* Not fatal: the lcore runs as started (EPERM without root or
		 * CAP_SYS_NICE for a negative value). */
		fprintf(stderr, "dataplane: lcore %u: nice %d not set (%s): runs at the "
			"process's nice\n", rte_lcore_id(), l->cfg.nice, strerror(errno));
		l->cfg.nice = 0;
	}
	if (l->cfg.sched_slice_us > 0) {
		/* Not fatal either: without it a woken lcore waits out the
		 * running thread's slice, as before. */
		int rc = dp_thread_slice_set(l->cfg.sched_slice_us);
		if (rc != 0) {
			fprintf(stderr, "dataplane: lcore %u: scheduler slice %u us not set (%s): "
				"the kernel's default slice\n", rte_lcore_id(), l->cfg.sched_slice_us,
				rc == -EOPNOTSUPP ? "the kernel has no custom slices before "
						    "Linux 6.12" : strerror(-rc));
			l->cfg.sched_slice_us = 0;
		}
	}
	while (!*stop) {
		dp_lcore_round(l);
	}
	for (uint32_t i = 0; i < l->stages_count; i++) {
		if (l->stages[i].stop != NULL) {
			l->stages[i].stop(l->stages[i].ctx);
		}
	}
}

struct sched_launch_arg {
	struct dp_lcore *lcore;
	const volatile int *stop;
};

static int sched_lcore_main(void *arg)
{
	struct sched_launch_arg *a = arg;
	dp_lcore_run(a->lcore, a->stop);
	return 0;
}

int dp_sched_run(struct dp_lcore *lcores, uint32_t lcores_count, const volatile int *stop)
{
	static struct sched_launch_arg args[RTE_MAX_LCORE];
	RN_ASSERT(lcores != NULL && stop != NULL);
	if (lcores_count == 0 || lcores_count > rte_lcore_count()) {
		return -DP_ERR_INVALID;
	}
	/* lcores[0] runs on the main lcore (this thread), the others on the
	 * EAL's worker lcores in dp_sched_lcore_ids' order. */
	static unsigned ids[RTE_MAX_LCORE];
	uint32_t n = dp_sched_lcore_ids(ids, lcores_count);
	for (uint32_t i = 1; i < n; i++) {
		args[i] = (struct sched_launch_arg){&lcores[i], stop};
		int rc = rte_eal_remote_launch(sched_lcore_main, &args[i], ids[i]);
		if (rc != 0) {
			return rc < 0 ? rc : -rc; /* earlier workers stop with *stop */
		}
	}
	dp_lcore_run(&lcores[0], stop);
	rte_eal_mp_wait_lcore();
	return 0;
}

uint32_t dp_sched_lcore_ids(unsigned *ids, uint32_t max)
{
	uint32_t n = 0;
	if (max == 0) {
		return 0;
	}
	ids[n++] = rte_get_main_lcore();
	/* RTE_LCORE_FOREACH_WORKER, spelled out: its -1 trips -Wsign-conversion. */
	for (unsigned id = rte_get_next_lcore(UINT32_MAX, 1, 0); id < RTE_MAX_LCORE && n < max;
	     id = rte_get_next_lcore(id, 1, 0)) {
		ids[n++] = id;
	}
	return n;
}

void dp_cpu_pause(void)
{
	rte_pause();
}

bool dp_stage_wait(bool colocated, dp_stage_poll_fn poll, void *ctx, const volatile int *stop)
{
	if (colocated) {
		poll(ctx);
		return true;
	}
	if (*stop) {
		return false;
	}
	rte_pause();
	return true;
}
