/* SPDX-License-Identifier: MIT */
/*
 * rb_engine.h - raftbench's load engine over the client library's async API
 * (rn_client_submit / rn_client_poll): an open loop (Poisson arrivals,
 * latency from the intended send time) or a closed loop (N in flight),
 * spread over several rn_client instances when N exceeds one client's
 * in-flight table. One thread; everything sized at open.
 */
#ifndef RN_BENCH_RB_ENGINE_H
#define RN_BENCH_RB_ENGINE_H

#include <stdio.h>

#include "rb_core.h"
#include "rn_client.h"

#define RB_CLIENTS_MAX 64u
#define RB_CLIENT_INFLIGHT_MAX 256u /* what raftbench asks of one rn_client */
#define RB_VALUE_BYTES_MAX 8192u

struct rb_opts {
	const char *config_path;
	bool target_leader;
	uint32_t node_id; /* 0 = the leader (target leader) or the first node */
	double rate_per_s; /* > 0: open loop */
	uint32_t concurrency; /* open loop: 0 */
	double duration_s;
	double warmup_s;
	double drain_s; /* after the run: wait this long for stragglers */
	uint32_t value_bytes;
	uint32_t keys_count;
	double read_ratio;
	uint32_t trace_every;
	uint64_t seed;
	uint32_t clients_count; /* 0 = enough for the concurrency, at least 4 open */
	bool quiet;
	FILE *timeseries; /* per-second CSV, or NULL */
	FILE *trace_file; /* every traced request's stamps (CSV), or NULL */
};

struct rb_slot {
	uint64_t intended_ns;
	uint64_t send_ns;
	bool write;
	bool traced;
};

struct rb_engine {
	struct rb_opts opts;
	struct rn_client *clients[RB_CLIENTS_MAX];
	uint32_t clients_count;
	uint32_t client_next;
	struct rb_slot *slots;
	uint32_t *free_slots; /* stack of free slot indexes */
	uint32_t free_count;
	uint32_t slots_count;
	uint32_t inflight;
	struct rb_sched sched;
	struct rb_rng rng;
	uint64_t submitted;
	uint64_t start_ns;
	uint64_t measure_ns; /* start + warmup */
	uint64_t end_ns;     /* measure + duration: no new requests after */
	struct rb_result *result;
	struct rb_stats window; /* completions of the current second */
	uint64_t last_ok_ns;
	/* Failover: from mark_ns on, the first OK reply after it and the
	 * longest gap between consecutive OK replies (the first gap measured
	 * from the last OK before the mark). */
	uint64_t mark_ns;
	uint64_t first_ok_after_mark_ns;
	uint64_t ok_gap_max_ns;
	uint8_t value[RB_VALUE_BYTES_MAX];
};

uint64_t rb_now_ns(void);

/* Opens the clients (client ids random), sized for opts. 0 or negative. */
int rb_engine_open(const struct rb_opts *o, const struct rn_client_config *cfg,
		   struct rb_engine **out, char *errmsg, size_t errmsg_bytes);
void rb_engine_close(struct rb_engine *e);
void rb_engine_set_target(struct rb_engine *e, uint32_t node_id);
/* Starts the clock: warmup from now, then duration_s measured. */
void rb_engine_start(struct rb_engine *e, struct rb_result *result, uint64_t now_ns);
/* Submits what is due, polls the clients (waiting up to wait_us when
 * nothing happened). Negative on a library error. */
int rb_engine_step(struct rb_engine *e, uint32_t wait_us);
/* warmup + duration + drain with the progress line and the time series;
 * fills result. */
int rb_engine_run(struct rb_engine *e, struct rb_result *result);

/* The leader named by node_id's status (0 = the client's target); 0 when
 * none is known or the node did not answer. */
uint32_t rb_status_leader(struct rn_client *c, uint32_t node_id);

#endif
