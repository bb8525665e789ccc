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
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "common.h"
#include "dataplane.h"

#define SCHED_SLEEP_US_FIRST 1u

void dp_lcore_init(struct dp_lcore *l, const struct dp_lcore_config *cfg)
{
	RN_ASSERT(l != NULL && cfg != NULL);
	RN_ASSERT(cfg->idle_policy == DP_IDLE_BUSY || cfg->idle_policy == DP_IDLE_ADAPTIVE);
	memset(l, 0, sizeof(*l));
	l->cfg = *cfg;
	l->sleep_us = SCHED_SLEEP_US_FIRST;
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
	while (!*stop) {
		dp_lcore_round(l);
	}
	for (uint32_t i = 0; i < l->stages_count; i++) {
		if (l->stages[i].stop != NULL) {
			l->stages[i].stop(l->stages[i].ctx);
		}
	}
}

/* Single producer, single consumer: each end belongs to one lcore.
 * rte_ring_init does not know the record size: the memory is sized for it,
 * and every call on the ring passes it (as rte_ring_create_elem). A ring
 * of pointers is a ring of sizeof(void *) records. */
static int sched_ring_init(struct dp_ring *r, void *mem, size_t mem_bytes, uint32_t elem_bytes,
			   uint32_t slots_count)
{
	RN_ASSERT(r != NULL && mem != NULL);
	ssize_t need = rte_ring_get_memsize_elem(elem_bytes, slots_count);
	if (need <= 0 || (size_t)need > mem_bytes) {
		return -DP_ERR_INVALID;
	}
	struct rte_ring *ring = mem;
	if (rte_ring_init(ring, "dp_ring", slots_count, RING_F_SP_ENQ | RING_F_SC_DEQ) != 0) {
		return -DP_ERR_INVALID;
	}
	memset(r, 0, sizeof(*r));
	r->ring = ring;
	r->elem_bytes = elem_bytes;
	return 0;
}

int dp_ring_init(struct dp_ring *r, void *mem, size_t mem_bytes, uint32_t slots_count)
{
	return sched_ring_init(r, mem, mem_bytes, sizeof(void *), slots_count);
}

static bool sched_elem_bytes_ok(uint32_t elem_bytes)
{
	return elem_bytes > 0 && elem_bytes <= 1024 && elem_bytes % 4 == 0;
}

size_t dp_ring_elem_mem_bytes(uint32_t elem_bytes, uint32_t slots_count)
{
	if (!sched_elem_bytes_ok(elem_bytes)) {
		return 0;
	}
	ssize_t bytes = rte_ring_get_memsize_elem(elem_bytes, slots_count);
	return bytes < 0 ? 0 : (size_t)bytes;
}

int dp_ring_elem_create(struct dp_ring *r, uint32_t elem_bytes, uint32_t slots_count)
{
	RN_ASSERT(r != NULL);
	memset(r, 0, sizeof(*r));
	size_t bytes = dp_ring_elem_mem_bytes(elem_bytes, slots_count);
	if (bytes == 0) {
		return -DP_ERR_INVALID;
	}
	/* aligned_alloc wants a multiple of the alignment. */
	size_t alloc_bytes = (bytes + 63) & ~(size_t)63;
	void *mem = aligned_alloc(64, alloc_bytes);
	if (mem == NULL) {
		return -ENOMEM;
	}
	rn_prefault(mem, alloc_bytes);
	int rc = sched_ring_init(r, mem, alloc_bytes, elem_bytes, slots_count);
	if (rc != 0) {
		free(mem);
		return rc;
	}
	r->owned_mem = mem;
	return 0;
}

void dp_ring_elem_destroy(struct dp_ring *r)
{
	free(r->owned_mem);
	memset(r, 0, sizeof(*r));
}

uint32_t dp_ring_push_elems(struct dp_ring *r, const void *elems, uint32_t count)
{
	uint32_t pushed = rte_ring_sp_enqueue_burst_elem(r->ring, elems, r->elem_bytes, count, NULL);
	if (pushed < count) {
		r->pushes_refused += count - pushed; /* back-pressure, not a drop */
	}
	return pushed;
}

uint32_t dp_ring_pop_elems(struct dp_ring *r, void *elems, uint32_t count_max)
{
	return rte_ring_sc_dequeue_burst_elem(r->ring, elems, r->elem_bytes, count_max, NULL);
}

uint32_t dp_ring_count(const struct dp_ring *r)
{
	return rte_ring_count(r->ring);
}

size_t dp_ring_mem_bytes(uint32_t slots_count)
{
	return dp_ring_elem_mem_bytes(sizeof(void *), slots_count);
}

uint32_t dp_ring_push_burst(struct dp_ring *r, void *const *objs, uint32_t count)
{
	return dp_ring_push_elems(r, objs, count);
}

uint32_t dp_ring_pop_burst(struct dp_ring *r, void **objs, uint32_t count_max)
{
	return dp_ring_pop_elems(r, objs, count_max);
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
