/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_sched.c - stages placed on lcores by configuration, SPSC
 * rings with back-pressure between them, and the cost of the idle policy.
 *
 * Method: a three-stage pipeline (producer -> ring -> relay -> ring ->
 * consumer) moves 200,000 numbered items; the consumer checks each arrives
 * once and in order. The same stage functions run (a) all on one lcore, as
 * in CI, and (b) one per lcore on three threads, as on bare metal, with
 * small rings so back-pressure happens. Then the wake-up latency of the
 * adaptive and event policies is measured against busy polling: a
 * producer thread stamps an item every 2 ms, so the consumer lcore is
 * asleep when it comes, and the delay to its processing is recorded
 * (printed: p50/p99/max). The event policy runs with a 20 s longest
 * sleep and no stage deadline: each item must reach it through the ring's
 * doorbell, or it waits 20 s and the test's bound (items processed within
 * a few seconds) fails; the stop wakes it by the doorbell too. Then the
 * event policy's other inputs, each alone on an lcore: a stage's file
 * descriptor (an eventfd written by another thread), a stage's deadline,
 * and the fallback to naps when a stage must be polled. Last, an input
 * whose wake-up must be armed (as a DPDK rx interrupt): every item must
 * reach the lcore, each arm must be undone, and busy/adaptive never arm.
 * And the lcore's scheduler slice: dp_lcore_run gives its thread the
 * configured EEVDF slice and keeps the nice value it set (skipped, saying
 * so, on a kernel before Linux 6.12).
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dataplane.h"
#include "wire_util.h"

#define ITEMS_COUNT 200000u
#define RING_SLOTS 64u

struct pipe {
	struct dp_ring a, b;
	void *mem_a, *mem_b;
	uintptr_t next_produce; /* 1..ITEMS_COUNT; items are never NULL */
	uintptr_t next_expect;
	uint64_t errors;
};

static uint32_t produce(void *ctx)
{
	struct pipe *p = ctx;
	void *burst[DP_BURST_MAX];
	uint32_t n = 0;
	while (n < DP_BURST_MAX && p->next_produce + n <= ITEMS_COUNT) {
		burst[n] = (void *)(p->next_produce + n);
		n++;
	}
	uint32_t pushed = n > 0 ? dp_ring_push_burst(&p->a, burst, n) : 0;
	p->next_produce += pushed; /* the refused tail is produced again later */
	return pushed;
}

static uint32_t relay(void *ctx)
{
	struct pipe *p = ctx;
	void *burst[DP_BURST_MAX];
	/* Take only what the next ring can hold: nothing is dropped. */
	uint32_t n = dp_ring_pop_burst(&p->a, burst, DP_BURST_MAX / 2);
	uint32_t at = 0;
	while (at < n) {
		at += dp_ring_push_burst(&p->b, burst + at, n - at); /* spins: test only */
	}
	return n;
}

static uint32_t consume(void *ctx)
{
	struct pipe *p = ctx;
	void *burst[DP_BURST_MAX];
	uint32_t n = dp_ring_pop_burst(&p->b, burst, DP_BURST_MAX);
	for (uint32_t i = 0; i < n; i++) {
		if ((uintptr_t)burst[i] != p->next_expect) {
			p->errors++;
		}
		p->next_expect = (uintptr_t)burst[i] + 1;
	}
	return n;
}

static void pipe_init(struct pipe *p)
{
	memset(p, 0, sizeof(*p));
	size_t bytes = dp_ring_mem_bytes(RING_SLOTS);
	assert_true(bytes > 0);
	p->mem_a = aligned_alloc(64, (bytes + 63) / 64 * 64);
	p->mem_b = aligned_alloc(64, (bytes + 63) / 64 * 64);
	assert_int_equal(dp_ring_init(&p->a, p->mem_a, bytes, RING_SLOTS), 0);
	assert_int_equal(dp_ring_init(&p->b, p->mem_b, bytes, RING_SLOTS), 0);
	p->next_produce = 1;
	p->next_expect = 1;
}

static void pipe_fini(struct pipe *p)
{
	free(p->mem_a);
	free(p->mem_b);
}

static const struct dp_lcore_config adaptive = {
	.idle_policy = DP_IDLE_ADAPTIVE, .spin_rounds_max = 200, .sleep_us_max = 100};

static void stages_of(struct pipe *p, struct dp_stage st[3])
{
	st[0] = (struct dp_stage){.name = "produce", .poll = produce, .ctx = p};
	st[1] = (struct dp_stage){.name = "relay", .poll = relay, .ctx = p};
	st[2] = (struct dp_stage){.name = "consume", .poll = consume, .ctx = p};
}

static void test_all_stages_one_lcore(void **state)
{
	(void)state;
	static struct pipe p;
	struct dp_stage st[3];
	struct dp_lcore l;
	const uint32_t place[3] = {0, 0, 0};
	pipe_init(&p);
	stages_of(&p, st);
	dp_lcore_init(&l, &adaptive);
	assert_int_equal(dp_sched_place(st, place, 3, &l, 1), 0);
	for (uint32_t round = 0; p.next_expect <= ITEMS_COUNT && round < 10 * ITEMS_COUNT; round++) {
		dp_lcore_round(&l);
	}
	assert_int_equal(p.next_expect, ITEMS_COUNT + 1);
	assert_int_equal(p.errors, 0);
	assert_true(p.a.pushes_refused > 0); /* back-pressure happened */
	assert_int_equal(l.stats.work_items, 3ull * ITEMS_COUNT);
	pipe_fini(&p);
}

static volatile int stop_flag;

static void *lcore_thread(void *arg)
{
	dp_lcore_run(arg, &stop_flag);
	return NULL;
}

static void test_one_stage_per_lcore(void **state)
{
	(void)state;
	static struct pipe p;
	struct dp_stage st[3];
	static struct dp_lcore lcores[3];
	const uint32_t place[3] = {0, 1, 2};
	pthread_t th[3];
	pipe_init(&p);
	stages_of(&p, st);
	for (int i = 0; i < 3; i++) {
		dp_lcore_init(&lcores[i], &adaptive);
	}
	assert_int_equal(dp_sched_place(st, place, 3, lcores, 3), 0);
	stop_flag = 0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pthread_create(&th[i], NULL, lcore_thread, &lcores[i]), 0);
	}
	struct timespec tick = {.tv_sec = 0, .tv_nsec = 1000000};
	for (int ms = 0; ms < 30000 && __atomic_load_n(&p.next_expect, __ATOMIC_ACQUIRE) <=
					     ITEMS_COUNT; ms++) {
		nanosleep(&tick, NULL);
	}
	stop_flag = 1;
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
	}
	assert_int_equal(p.next_expect, ITEMS_COUNT + 1);
	assert_int_equal(p.errors, 0);
	pipe_fini(&p);
}

static void test_placement_errors(void **state)
{
	(void)state;
	struct pipe p;
	struct dp_stage st[3];
	struct dp_lcore l[2];
	stages_of(&p, st);
	dp_lcore_init(&l[0], &adaptive);
	dp_lcore_init(&l[1], &adaptive);
	const uint32_t bad[3] = {0, 2, 1};
	assert_int_equal(dp_sched_place(st, bad, 3, l, 2), -DP_ERR_INVALID);
	assert_int_equal(l[0].stages_count, 0); /* nothing placed on error */
	for (uint32_t i = 0; i < DP_LCORE_STAGES_MAX; i++) {
		assert_int_equal(dp_lcore_add_stage(&l[0], &st[0]), 0);
	}
	assert_int_equal(dp_lcore_add_stage(&l[0], &st[0]), -DP_ERR_TOO_BIG);
	struct dp_ring r;
	uint8_t mem[64];
	assert_int_equal(dp_ring_init(&r, mem, sizeof(mem), 1024), -DP_ERR_INVALID);
	assert_int_equal(dp_ring_mem_bytes(100), 0);
}

/* ---- wake-up latency ---------------------------------------------------- */

#define WAKE_SAMPLES 300u

struct wake {
	struct dp_ring ring;
	void *mem;
	uint64_t latency_ns[WAKE_SAMPLES];
	uint32_t count;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t wake_consume(void *ctx)
{
	struct wake *w = ctx;
	void *item;
	if (dp_ring_pop_burst(&w->ring, &item, 1) == 0) {
		return 0;
	}
	uint64_t sent_ns = (uint64_t)(uintptr_t)item;
	if (w->count < WAKE_SAMPLES) {
		w->latency_ns[w->count++] = now_ns() - sent_ns;
	}
	return 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Measures one policy; returns p99 in ns. */
static uint64_t wake_measure(const char *name, const struct dp_lcore_config *cfg)
{
	static struct wake w;
	static struct dp_lcore l;
	memset(&w, 0, sizeof(w));
	size_t bytes = dp_ring_mem_bytes(16);
	w.mem = aligned_alloc(64, (bytes + 63) / 64 * 64);
	assert_int_equal(dp_ring_init(&w.ring, w.mem, bytes, 16), 0);
	dp_lcore_init(&l, cfg);
	struct dp_stage st = {.name = "wake", .poll = wake_consume, .ctx = &w};
	assert_int_equal(dp_lcore_add_stage(&l, &st), 0);
	char why[128];
	assert_int_equal(dp_lcore_event_open(&l, why, sizeof(why)), 0);
	dp_ring_set_doorbell(&w.ring, &l.doorbell); /* no-op unless event */
	stop_flag = 0;
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, lcore_thread, &l), 0);
	struct timespec gap = {.tv_sec = 0, .tv_nsec = 2 * 1000 * 1000};
	for (uint32_t i = 0; i < WAKE_SAMPLES; i++) {
		nanosleep(&gap, NULL); /* long enough for the lcore to fall asleep */
		void *item = (void *)(uintptr_t)now_ns();
		while (dp_ring_push_burst(&w.ring, &item, 1) == 0) {
		}
	}
	for (int ms = 0; ms < 2000 && __atomic_load_n(&w.count, __ATOMIC_ACQUIRE) < WAKE_SAMPLES;
	     ms++) {
		nanosleep(&gap, NULL);
	}
	stop_flag = 1;
	dp_doorbell_ring(&l.doorbell); /* event: wake it to see the stop */
	pthread_join(th, NULL);
	assert_int_equal(w.count, WAKE_SAMPLES);
	/* A ring producer on another thread: every sleep armed first, then
	 * looked at the ring once more (the Dekker round). */
	assert_int_equal(l.stats.sleeps_first_round, 0);
	qsort(w.latency_ns, WAKE_SAMPLES, sizeof(w.latency_ns[0]), cmp_u64);
	uint64_t p50 = w.latency_ns[WAKE_SAMPLES / 2];
	uint64_t p99 = w.latency_ns[WAKE_SAMPLES * 99 / 100];
	printf("wake-up latency %-28s p50 %7.1f us  p99 %7.1f us  max %7.1f us  "
	       "(sleeps %llu, rounds %llu)\n", name, (double)p50 / 1e3, (double)p99 / 1e3,
	       (double)w.latency_ns[WAKE_SAMPLES - 1] / 1e3,
	       (unsigned long long)l.stats.sleeps, (unsigned long long)l.stats.rounds);
	if (cfg->idle_policy == DP_IDLE_EVENT) {
		/* Every item came through the doorbell (the 20 s longest sleep
		 * never ended one), and nothing spun: a few rounds per wake-up. */
		assert_true(l.stats.wakeups_by_event > 0);
		assert_int_equal(l.stats.wakeups_by_cap, 0);
		assert_int_equal(l.stats.wakeups_by_deadline, 0);
		assert_true(l.stats.rounds <= 4ull * (l.stats.sleeps + 1));
	}
	dp_lcore_fini(&l);
	free(w.mem);
	return p99;
}

static void test_idle_wakeup_latency(void **state)
{
	(void)state;
	const struct dp_lcore_config busy = {.idle_policy = DP_IDLE_BUSY};
	const struct dp_lcore_config adaptive_10 = {.idle_policy = DP_IDLE_ADAPTIVE,
						    .spin_rounds_max = 200, .sleep_us_max = 10,
						    .timer_slack_us = 1};
	const struct dp_lcore_config adaptive_100 = {.idle_policy = DP_IDLE_ADAPTIVE,
						     .spin_rounds_max = 200, .sleep_us_max = 100,
						     .timer_slack_us = 1};
	const struct dp_lcore_config event = {.idle_policy = DP_IDLE_EVENT,
					      .event_sleep_ms_max = 20000};
	uint64_t busy_p99 = wake_measure("busy", &busy);
	uint64_t event_p99 = wake_measure("event (doorbell)", &event);
	uint64_t a10_p99 = wake_measure("adaptive (sleep <= 10 us)", &adaptive_10);
	uint64_t a100_p99 = wake_measure("adaptive (sleep <= 100 us)", &adaptive_100);
	/* Every stamped item was processed (wake_measure checks the count).
	 * The bound only catches an lcore that sleeps without limit: on this
	 * shared 2-CPU machine even busy polling loses the CPU for ms at p99,
	 * so the printed numbers are the measurement, not this bound. */
	const uint64_t bound_ns = 200ull * 1000 * 1000;
	assert_true(busy_p99 < bound_ns);
	assert_true(event_p99 < bound_ns);
	assert_true(a10_p99 < bound_ns);
	assert_true(a100_p99 < bound_ns);
}

/* ---- the event policy's other inputs ----------------------------------- */

#define EVENT_COUNT 50u

struct fd_stage {
	int fd;		    /* an eventfd another thread writes */
	uint64_t seen;	    /* counter values read */
	uint64_t due_ns;    /* deadline stage: the next due time */
	uint64_t fired;	    /* deadline stage: rounds it was due */
};

static uint32_t fd_poll(void *ctx)
{
	struct fd_stage *f = ctx;
	uint64_t v;
	if (read(f->fd, &v, sizeof(v)) != (ssize_t)sizeof(v)) {
		return 0; /* EAGAIN: nothing */
	}
	__atomic_fetch_add(&f->seen, v, __ATOMIC_RELEASE);
	return 1;
}

static int fd_wait(void *ctx)
{
	return ((struct fd_stage *)ctx)->fd;
}

static uint32_t deadline_poll(void *ctx)
{
	struct fd_stage *f = ctx;
	if (now_ns() < f->due_ns) {
		return 0;
	}
	f->due_ns = now_ns() + 2ull * 1000 * 1000; /* every 2 ms */
	__atomic_fetch_add(&f->fired, 1, __ATOMIC_RELEASE);
	return 1;
}

static uint64_t deadline_of(void *ctx)
{
	return ((struct fd_stage *)ctx)->due_ns;
}

static int must_poll(void *ctx)
{
	(void)ctx;
	return DP_WAIT_FD_POLL;
}

/* Runs lcore l on a thread until done(ctx) or about 5 s, then stops it. */
static void event_run(struct dp_lcore *l, bool (*done)(void *), void *ctx,
		      void (*feed)(void *), void *feed_ctx)
{
	stop_flag = 0;
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, lcore_thread, l), 0);
	struct timespec gap = {.tv_sec = 0, .tv_nsec = 3 * 1000 * 1000};
	if (feed != NULL) {
		feed(feed_ctx);
	}
	for (int k = 0; k < 1700 && !done(ctx); k++) {
		nanosleep(&gap, NULL);
	}
	stop_flag = 1;
	dp_doorbell_ring(&l->doorbell);
	pthread_join(th, NULL);
}

static bool fd_done(void *ctx)
{
	return __atomic_load_n(&((struct fd_stage *)ctx)->seen, __ATOMIC_ACQUIRE) >= EVENT_COUNT;
}

static void fd_feed(void *ctx)
{
	struct fd_stage *f = ctx;
	struct timespec gap = {.tv_sec = 0, .tv_nsec = 3 * 1000 * 1000};
	for (uint32_t i = 0; i < EVENT_COUNT; i++) {
		nanosleep(&gap, NULL);
		uint64_t one = 1;
		assert_int_equal(write(f->fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	}
}

static bool deadline_done(void *ctx)
{
	return __atomic_load_n(&((struct fd_stage *)ctx)->fired, __ATOMIC_ACQUIRE) >= 20;
}

static void test_event_fd_and_deadline(void **state)
{
	(void)state;
	static struct dp_lcore l;
	static struct fd_stage f, d;
	/* A 20 s longest sleep: only the input under test can end a sleep. */
	const struct dp_lcore_config event = {.idle_policy = DP_IDLE_EVENT,
					      .event_sleep_ms_max = 20000};
	char why[128];

	/* A stage's fd alone: every write wakes the lcore. */
	memset(&f, 0, sizeof(f));
	f.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(f.fd >= 0);
	dp_lcore_init(&l, &event);
	struct dp_stage fs = {.name = "fd", .poll = fd_poll, .ctx = &f, .wait_fd = fd_wait};
	assert_int_equal(dp_lcore_add_stage(&l, &fs), 0);
	assert_int_equal(dp_lcore_event_open(&l, why, sizeof(why)), 0);
	event_run(&l, fd_done, &f, fd_feed, &f);
	printf("event fd: items %llu of %u, sleeps %llu, rounds %llu, wakeups by event %llu, "
	       "by cap %llu\n", (unsigned long long)f.seen, EVENT_COUNT,
	       (unsigned long long)l.stats.sleeps, (unsigned long long)l.stats.rounds,
	       (unsigned long long)l.stats.wakeups_by_event,
	       (unsigned long long)l.stats.wakeups_by_cap);
	assert_int_equal(f.seen, EVENT_COUNT);
	assert_true(l.stats.wakeups_by_event > 0);
	assert_int_equal(l.stats.wakeups_by_cap, 0);
	assert_true(l.stats.rounds <= 4 * (l.stats.sleeps + 1)); /* no spinning */
	/* No other lcore can ring it: every sleep came after one empty round. */
	assert_int_equal(l.stats.sleeps_first_round, l.stats.sleeps);
	dp_lcore_fini(&l);
	close(f.fd);

	/* A stage's deadline alone: it ends sleeps, every 2 ms. */
	memset(&d, 0, sizeof(d));
	d.due_ns = now_ns() + 2ull * 1000 * 1000;
	dp_lcore_init(&l, &event);
	struct dp_stage ds = {.name = "tick", .poll = deadline_poll, .ctx = &d,
			      .deadline_ns = deadline_of};
	assert_int_equal(dp_lcore_add_stage(&l, &ds), 0);
	assert_int_equal(dp_lcore_event_open(&l, why, sizeof(why)), 0);
	event_run(&l, deadline_done, &d, NULL, NULL);
	printf("event deadline: rounds due %llu, sleeps %llu, wakeups by deadline %llu, by cap "
	       "%llu\n", (unsigned long long)d.fired, (unsigned long long)l.stats.sleeps,
	       (unsigned long long)l.stats.wakeups_by_deadline,
	       (unsigned long long)l.stats.wakeups_by_cap);
	assert_true(d.fired >= 20);
	assert_true(l.stats.wakeups_by_deadline > 0);
	assert_int_equal(l.stats.wakeups_by_cap, 0);
	dp_lcore_fini(&l);

	/* A stage that must be polled: the lcore naps (adaptive) instead. */
	dp_lcore_init(&l, &event);
	struct dp_stage ps = {.name = "port", .poll = fd_poll, .ctx = &f, .wait_fd = must_poll};
	assert_int_equal(dp_lcore_add_stage(&l, &ps), 0);
	assert_int_equal(dp_lcore_event_open(&l, why, sizeof(why)), 1);
	printf("fallback: %s\n", why);
	assert_int_equal(l.cfg.idle_policy, DP_IDLE_ADAPTIVE);
	assert_false(l.event);
	dp_lcore_fini(&l);
}

/* ---- an input whose wake-up must be armed (a DPDK rx interrupt) --------- */

/* Like a queue whose driver notifies only while its interrupt is enabled:
 * the feeder adds an item, then writes the fd only if the stage is armed.
 * An lcore that slept without looking again after arming would miss an
 * item that came between its last look and the arming (20 s sleep). */
struct armed_stage {
	int fd;
	uint64_t pending; /* atomic: fed, not yet taken */
	uint64_t taken;	  /* atomic */
	uint32_t armed;	  /* atomic */
	uint64_t arms, disarms;
};

static uint32_t armed_poll(void *ctx)
{
	struct armed_stage *a = ctx;
	uint64_t n = __atomic_exchange_n(&a->pending, 0, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&a->taken, n, __ATOMIC_RELEASE);
	return n > 0;
}

static int armed_wait(void *ctx)
{
	return ((struct armed_stage *)ctx)->fd;
}

static bool armed_arm(void *ctx, bool on)
{
	struct armed_stage *a = ctx;
	__atomic_store_n(&a->armed, on ? 1u : 0u, __ATOMIC_SEQ_CST);
	if (on) {
		a->arms++;
		return true; /* switched on now: the lcore must look once more */
	}
	a->disarms++;
	uint64_t v;
	ssize_t got = read(a->fd, &v, sizeof(v)); /* drained, as an eventfd PMD wants */
	(void)got;
	return false;
}

static bool armed_done(void *ctx)
{
	return __atomic_load_n(&((struct armed_stage *)ctx)->taken, __ATOMIC_ACQUIRE) >= EVENT_COUNT;
}

static void armed_feed(void *ctx)
{
	struct armed_stage *a = ctx;
	struct timespec gap = {.tv_sec = 0, .tv_nsec = 2 * 1000 * 1000};
	for (uint32_t i = 0; i < EVENT_COUNT; i++) {
		nanosleep(&gap, NULL);
		__atomic_fetch_add(&a->pending, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&a->armed, __ATOMIC_SEQ_CST) != 0) {
			uint64_t one = 1;
			assert_int_equal(write(a->fd, &one, sizeof(one)), (ssize_t)sizeof(one));
		}
	}
}

static void test_event_sleep_arm(void **state)
{
	(void)state;
	static struct dp_lcore l;
	static struct armed_stage a;
	const struct dp_lcore_config event = {.idle_policy = DP_IDLE_EVENT,
					      .event_sleep_ms_max = 20000};
	char why[128];
	memset(&a, 0, sizeof(a));
	a.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(a.fd >= 0);
	dp_lcore_init(&l, &event);
	struct dp_stage st = {.name = "armed", .poll = armed_poll, .ctx = &a,
			      .wait_fd = armed_wait, .sleep_arm = armed_arm};
	assert_int_equal(dp_lcore_add_stage(&l, &st), 0);
	assert_int_equal(dp_lcore_event_open(&l, why, sizeof(why)), 0);
	event_run(&l, armed_done, &a, armed_feed, &a);
	printf("armed input: items %llu of %u, arms %llu, disarms %llu, sleeps %llu, wakeups by "
	       "event %llu, by cap %llu\n", (unsigned long long)a.taken, EVENT_COUNT,
	       (unsigned long long)a.arms, (unsigned long long)a.disarms,
	       (unsigned long long)l.stats.sleeps, (unsigned long long)l.stats.wakeups_by_event,
	       (unsigned long long)l.stats.wakeups_by_cap);
	assert_int_equal(a.taken, EVENT_COUNT);
	assert_true(l.stats.wakeups_by_event > 0);
	assert_int_equal(l.stats.wakeups_by_cap, 0);
	/* Every arm is undone: by the sleep's end or by work in the last look. */
	assert_true(a.arms >= l.stats.sleeps);
	assert_true(a.arms - a.disarms <= 1); /* the stop may leave the last one */
	/* No other lcore can ring this one, yet it never slept after its
	 * first empty round: the arming asked for the second look. */
	assert_int_equal(l.stats.sleeps_first_round, 0);
	dp_lcore_fini(&l);

	/* busy and adaptive never arm: the same stage, polled. */
	static const struct dp_lcore_config others[] = {
		{.idle_policy = DP_IDLE_BUSY},
		{.idle_policy = DP_IDLE_ADAPTIVE, .spin_rounds_max = 4, .sleep_us_max = 100}};
	for (size_t k = 0; k < sizeof(others) / sizeof(others[0]); k++) {
		a.arms = a.disarms = 0;
		dp_lcore_init(&l, &others[k]);
		assert_int_equal(dp_lcore_add_stage(&l, &st), 0);
		assert_int_equal(dp_lcore_event_open(&l, why, sizeof(why)), 0);
		for (int r = 0; r < 1000; r++) {
			dp_lcore_round(&l);
		}
		assert_int_equal(a.arms + a.disarms, 0);
		dp_lcore_fini(&l);
	}
	close(a.fd);
}

/* dp_stage.woken: after each sleep, whether the stage's own fd ended it. */
struct woken_stage {
	int fd;
	uint32_t calls;
	uint32_t fired;
	bool fired_last;
};

static uint32_t woken_poll(void *ctx)
{
	(void)ctx;
	return 0; /* never any work: every round sleeps */
}

static int woken_wait(void *ctx)
{
	return ((struct woken_stage *)ctx)->fd;
}

static void woken_record(void *ctx, bool input_fired)
{
	struct woken_stage *w = ctx;
	w->calls++;
	w->fired += input_fired;
	w->fired_last = input_fired;
}

static void test_event_woken(void **state)
{
	(void)state;
	static struct dp_lcore l;
	struct woken_stage w = {.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
	assert_true(w.fd >= 0);
	const struct dp_lcore_config event = {.idle_policy = DP_IDLE_EVENT,
					      .event_sleep_ms_max = 2};
	char why[128];
	dp_lcore_init(&l, &event);
	struct dp_stage st = {.name = "woken", .poll = woken_poll, .ctx = &w,
			      .wait_fd = woken_wait, .woken = woken_record};
	assert_int_equal(dp_lcore_add_stage(&l, &st), 0);
	assert_int_equal(dp_lcore_event_open(&l, why, sizeof(why)), 0);
	/* No other lcore rings this one: an empty round sleeps at once. */
	dp_lcore_round(&l); /* the 2 ms cap ends it: not fired */
	assert_int_equal(w.calls, 1);
	assert_false(w.fired_last);
	uint64_t one = 1;
	assert_int_equal(write(w.fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	dp_lcore_round(&l); /* the fd ends it */
	assert_int_equal(w.calls, 2);
	assert_true(w.fired_last);
	dp_lcore_round(&l); /* edge-triggered: no new input, not fired */
	assert_int_equal(w.calls, 3);
	assert_false(w.fired_last);
	assert_int_equal(w.fired, 1);
	dp_lcore_fini(&l);

	/* busy and adaptive never sleep on fds: never called. */
	const struct dp_lcore_config busy = {.idle_policy = DP_IDLE_BUSY};
	dp_lcore_init(&l, &busy);
	assert_int_equal(dp_lcore_add_stage(&l, &st), 0);
	assert_int_equal(dp_lcore_event_open(&l, why, sizeof(why)), 0);
	for (int r = 0; r < 100; r++) {
		dp_lcore_round(&l);
	}
	assert_int_equal(w.calls, 3);
	dp_lcore_fini(&l);
	close(w.fd);
}

/* What an lcore's thread sees of its own scheduling, from inside a round. */
struct slice_seen {
	volatile int stop;
	int rc;
	uint32_t slice_us;
	int nice;
};

static uint32_t slice_look(void *ctx)
{
	struct slice_seen *s = ctx;
	s->rc = dp_thread_slice_get_us(&s->slice_us);
	errno = 0;
	s->nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
	s->stop = 1;
	return 1;
}

static void *slice_lcore(void *arg)
{
	static struct dp_lcore l;
	struct slice_seen *s = arg;
	const struct dp_lcore_config cfg = {.idle_policy = DP_IDLE_BUSY, .nice = 3,
					    .sched_slice_us = 200};
	dp_lcore_init(&l, &cfg);
	struct dp_stage st = {.name = "look", .poll = slice_look, .ctx = s};
	assert_int_equal(dp_lcore_add_stage(&l, &st), 0);
	dp_lcore_run(&l, &s->stop);
	return NULL;
}

static void test_thread_slice(void **state)
{
	(void)state;
	uint32_t before_us = 0;
	assert_int_equal(dp_thread_slice_get_us(&before_us), 0);
	if (before_us == 0) {
		printf("kernel before Linux 6.12 (no fair slice in sched_getattr): skipped\n");
		skip();
	}
	if (sched_getscheduler(0) != SCHED_OTHER) {
		/* dp_thread_slice_set leaves another policy alone (-EPERM):
		 * a test run under SCHED_IDLE or a real-time class. */
		printf("this process runs under scheduling policy %d, not SCHED_OTHER: skipped\n",
		       sched_getscheduler(0));
		skip();
	}
	/* On a thread of its own: the slice and the nice stay with it. */
	struct slice_seen s = {0};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, slice_lcore, &s), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	printf("lcore thread: slice %u us (the kernel's default here %u us), nice %d\n",
	       s.slice_us, before_us, s.nice);
	assert_int_equal(s.rc, 0);
	assert_int_equal(s.slice_us, 200);
	assert_int_equal(s.nice, 3); /* sched_setattr did not reset the lcore's nice */
	/* This thread was left alone. */
	uint32_t after_us = 0;
	assert_int_equal(dp_thread_slice_get_us(&after_us), 0);
	assert_int_equal(after_us, before_us);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_stages_one_lcore),
		cmocka_unit_test(test_one_stage_per_lcore),
		cmocka_unit_test(test_placement_errors),
		cmocka_unit_test(test_event_fd_and_deadline),
		cmocka_unit_test(test_event_sleep_arm),
		cmocka_unit_test(test_event_woken),
		cmocka_unit_test(test_idle_wakeup_latency),
		cmocka_unit_test(test_thread_slice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
