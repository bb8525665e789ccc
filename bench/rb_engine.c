/* SPDX-License-Identifier: MIT */
/*
 * rb_engine.c - see rb_engine.h. Each request occupies a slot that remembers
 * when it should have been sent (intended_ns) and when it was; the reply's
 * latency counts from intended_ns. In the open loop the intended times come
 * from the Poisson schedule alone, so when every client's table is full or
 * the loop falls behind, requests leave late and the wait shows in their
 * latency instead of silently lowering the offered rate.
 *
 * Each step submits what is due (the client library queues it), then
 * polls every client once: that sends each client's queue as one datagram
 * per node (wire version 3 batches) and takes every reply that came. With
 * nothing done it sleeps in one ppoll over all the clients' sockets, so a
 * reply to any of them wakes it at once.
 */
#define _GNU_SOURCE
#include "rb_engine.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

uint64_t rb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * RB_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint32_t rb_engine_clients_needed(const struct rb_opts *o)
{
	if (o->clients_count > 0) {
		return o->clients_count < RB_CLIENTS_MAX ? o->clients_count : RB_CLIENTS_MAX;
	}
	/* Open loop: room for 10 ms of latency at the offered rate. No more
	 * clients than needed: every client's requests are batched apart, so
	 * fewer clients make fuller datagrams. */
	double inflight = o->concurrency > 0 ? (double)o->concurrency : o->rate_per_s * 0.01;
	uint32_t n = (uint32_t)(inflight / RB_CLIENT_INFLIGHT_MAX) + 1u;
	return n < RB_CLIENTS_MAX ? n : RB_CLIENTS_MAX;
}

static int rb_engine_alloc(struct rb_engine *e)
{
	e->slots_count = e->clients_count * RB_CLIENT_INFLIGHT_MAX;
	e->slots = calloc(e->slots_count, sizeof(e->slots[0]));
	e->free_slots = calloc(e->slots_count, sizeof(e->free_slots[0]));
	if (e->slots == NULL || e->free_slots == NULL) {
		return -1;
	}
	for (uint32_t i = 0; i < e->slots_count; i++) {
		e->free_slots[i] = e->slots_count - 1 - i;
	}
	e->free_count = e->slots_count;
	return 0;
}

int rb_engine_open(const struct rb_opts *o, const struct rn_client_config *cfg,
		   struct rb_engine **out, char *errmsg, size_t errmsg_bytes)
{
	struct rb_engine *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		snprintf(errmsg, errmsg_bytes, "out of memory");
		return -1;
	}
	e->opts = *o;
	e->clients_count = rb_engine_clients_needed(o);
	if (rb_engine_alloc(e) != 0) {
		snprintf(errmsg, errmsg_bytes, "out of memory for %u slots", e->slots_count);
		goto fail;
	}
	struct rn_client_config ccfg = *cfg;
	ccfg.inflight_max = RB_CLIENT_INFLIGHT_MAX;
	ccfg.client_id = 0; /* random: one session per instance */
	for (uint32_t i = 0; i < e->clients_count; i++) {
		int rc = rn_client_open(&ccfg, &e->clients[i]);
		if (rc != 0) {
			snprintf(errmsg, errmsg_bytes, "client %u: %s", i, rn_client_strerror(rc));
			goto fail;
		}
	}
	rb_rng_seed(&e->rng, rn_mix64(o->seed ^ 0x5eedu));
	for (uint32_t i = 0; i < sizeof(e->value); i++) {
		e->value[i] = (uint8_t)rb_rng_next(&e->rng);
	}
	*out = e;
	return 0;
fail:
	rb_engine_close(e);
	return -1;
}

void rb_engine_close(struct rb_engine *e)
{
	if (e == NULL) {
		return;
	}
	for (uint32_t i = 0; i < e->clients_count; i++) {
		if (e->clients[i] != NULL) {
			rn_client_close(e->clients[i]);
		}
	}
	free(e->slots);
	free(e->free_slots);
	free(e);
}

void rb_engine_set_target(struct rb_engine *e, uint32_t node_id)
{
	for (uint32_t i = 0; i < e->clients_count; i++) {
		(void)rn_client_set_target(e->clients[i], node_id);
	}
}

void rb_engine_start(struct rb_engine *e, struct rb_result *result, uint64_t now_ns)
{
	e->result = result;
	e->start_ns = now_ns;
	e->measure_ns = now_ns + (uint64_t)(e->opts.warmup_s * (double)RB_NS_PER_S);
	e->end_ns = e->measure_ns + (uint64_t)(e->opts.duration_s * (double)RB_NS_PER_S);
	if (e->opts.rate_per_s > 0) {
		rb_sched_init(&e->sched, e->opts.seed, e->opts.rate_per_s, now_ns);
	}
	rb_stats_reset(&e->window);
}

/* ---- Replies ------------------------------------------------------------ */

static void rb_count(struct rb_stats *s, int rc, const struct rn_client_result *res)
{
	if (rc == -RN_CLIENT_E_TIMEOUT) {
		s->timeouts++;
	} else if (rc < 0) {
		s->errors++;
	} else if (res->status == DP_CLIENT_OK || res->status == DP_CLIENT_NOT_FOUND) {
		s->ok++;
	} else if (res->status == DP_CLIENT_BUSY || res->status == DP_CLIENT_RETRY) {
		s->busy++;
	} else {
		s->errors++;
		s->no_space += res->status == DP_CLIENT_NO_SPACE;
	}
}

static void rb_on_reply(void *ctx, uint64_t user, int rc, const struct rn_client_result *res)
{
	struct rb_engine *e = ctx;
	uint64_t now_ns = rb_now_ns();
	RN_ASSERT(user < e->slots_count);
	RN_ASSERT(e->inflight > 0);
	struct rb_slot *slot = &e->slots[user];
	bool ok = rc == 0 && (res->status == DP_CLIENT_OK || res->status == DP_CLIENT_NOT_FOUND);
	uint64_t latency_ns = rb_latency_ns(slot->intended_ns, now_ns);
	struct rb_result *r = e->result;
	if (slot->intended_ns >= e->measure_ns && slot->intended_ns < e->end_ns) {
		rb_count(&r->total, rc, res);
		if (ok) {
			bench_hist_record(&r->total.latency_ns, latency_ns);
		}
		struct rb_stage_sample sample;
		if (ok && slot->traced &&
		    rb_stages_compute(slot->send_ns, res->trace_ns, res->trace_count, now_ns,
				      &sample)) {
			rb_result_add_stages(r, &sample);
			if (e->opts.trace_file != NULL) {
				rb_trace_row(e->opts.trace_file, slot->intended_ns, slot->send_ns,
					     res->trace_ns, now_ns);
			}
		}
	}
	if (ok && now_ns >= e->measure_ns && now_ns < e->end_ns) {
		r->ok_in_window++;
		r->writes_ok_in_window += slot->write ? 1u : 0u;
	}
	rb_count(&e->window, rc, res);
	if (ok) {
		bench_hist_record(&e->window.latency_ns, latency_ns);
		if (e->mark_ns != 0 && now_ns >= e->mark_ns) {
			uint64_t gap_ns = now_ns - e->last_ok_ns;
			e->ok_gap_max_ns = gap_ns > e->ok_gap_max_ns ? gap_ns : e->ok_gap_max_ns;
			if (e->first_ok_after_mark_ns == 0) {
				e->first_ok_after_mark_ns = now_ns;
			}
		}
		e->last_ok_ns = now_ns;
	}
	e->free_slots[e->free_count++] = (uint32_t)user;
	e->inflight--;
}

/* ---- Requests ----------------------------------------------------------- */

static int rb_submit_one(struct rb_engine *e, uint64_t intended_ns)
{
	const struct rb_opts *o = &e->opts;
	char key[24];
	uint32_t k = (uint32_t)(rb_rng_next(&e->rng) % (o->keys_count ? o->keys_count : 1));
	int key_bytes = snprintf(key, sizeof(key), "k%010u", k);
	bool read = o->read_ratio > 0 && rb_rng_unit(&e->rng) <= o->read_ratio;
	uint32_t slot_index = e->free_slots[e->free_count - 1];
	struct rb_slot *slot = &e->slots[slot_index];
	slot->intended_ns = intended_ns;
	slot->write = !read;
	slot->traced = o->trace_every > 0 && e->submitted % o->trace_every == 0;
	struct rn_client_request req = {
		.op = read ? DP_CLIENT_GET : DP_CLIENT_PUT,
		.flags = slot->traced ? DP_CLIENT_FLAG_TRACE : 0,
		.key = key,
		.key_bytes = (uint32_t)key_bytes,
		.value = read ? NULL : e->value,
		.value_bytes = read ? 0 : o->value_bytes,
		.user = slot_index,
	};
	/* The same client until its table is full, then the next: what is
	 * due in one step goes out as one datagram, not one per client (in
	 * the open loop a step often has one or two requests due: spread
	 * round-robin over the clients, every request was a datagram of its
	 * own and a reply of its own, and the per-datagram kernel work, not
	 * the cluster, set the sweep's knee). */
	for (uint32_t tries = 0; tries < e->clients_count; tries++) {
		struct rn_client *c = e->clients[e->client_next];
		slot->send_ns = rb_now_ns();
		int rc = rn_client_submit(c, &req);
		if (rc == -RN_CLIENT_E_FULL) {
			e->client_next = (e->client_next + 1) % e->clients_count;
			continue;
		}
		if (rc == 0) {
			e->free_count--;
			e->inflight++;
			e->submitted++;
		}
		return rc;
	}
	return -RN_CLIENT_E_FULL;
}

/* Open loop: everything whose intended time has come; closed loop: refill
 * to the concurrency. Stops at the first full table (back-pressure). */
static int rb_submit_due(struct rb_engine *e, uint64_t now_ns)
{
	bool open = e->opts.rate_per_s > 0;
	while (e->free_count > 0) {
		uint64_t intended_ns;
		if (open) {
			if (rb_sched_peek(&e->sched) > now_ns || rb_sched_peek(&e->sched) >= e->end_ns) {
				return 0;
			}
			intended_ns = rb_sched_peek(&e->sched);
		} else {
			if (e->inflight >= e->opts.concurrency || now_ns >= e->end_ns) {
				return 0;
			}
			intended_ns = now_ns;
		}
		int rc = rb_submit_one(e, intended_ns);
		if (rc == -RN_CLIENT_E_FULL) {
			return 0;
		}
		if (rc != 0) {
			return rc;
		}
		if (open) {
			(void)rb_sched_pop(&e->sched);
		}
	}
	return 0;
}

int rb_engine_step(struct rb_engine *e, uint32_t wait_us)
{
	uint64_t now_ns = rb_now_ns();
	int rc = rb_submit_due(e, now_ns);
	if (rc < 0) {
		return rc;
	}
	int done = 0;
	/* Only clients with requests queued or in flight: in the open loop a
	 * step often has one request due, and a receive on every idle
	 * client's socket would be most of the step's system calls. */
	for (uint32_t i = 0; i < e->clients_count; i++) {
		if (rn_client_inflight(e->clients[i]) == 0) {
			continue;
		}
		int n = rn_client_poll(e->clients[i], 0, rb_on_reply, e);
		if (n < 0) {
			return n;
		}
		done += n;
	}
	if (done > 0 || wait_us == 0) {
		return 0;
	}
	/* Nothing came: sleep on every client's socket at once until a reply,
	 * the next intended send time, or the first client timer (a
	 * retransmit, a BUSY backoff, a deadline), whichever comes first: no
	 * wake-up on a short timer, which on shared CPUs is a context switch
	 * taken from the nodes several times per commit. */
	uint64_t until_ns = now_ns + (uint64_t)wait_us * 1000u;
	if (e->opts.rate_per_s > 0 && rb_sched_peek(&e->sched) > now_ns) {
		/* (One overdue is waiting for room in a full table: a reply.) */
		until_ns = rn_min_u64(until_ns, rb_sched_peek(&e->sched));
	}
	struct pollfd pfd[RB_CLIENTS_MAX];
	RN_ASSERT(e->clients_count <= RB_CLIENTS_MAX);
	for (uint32_t i = 0; i < e->clients_count; i++) {
		/* An idle client's socket is not waited on (fd -1: poll skips it). */
		bool busy = rn_client_inflight(e->clients[i]) > 0;
		pfd[i] = (struct pollfd){.fd = busy ? rn_client_fd(e->clients[i]) : -1,
					 .events = POLLIN};
		if (busy) {
			until_ns = rn_min_u64(until_ns, rn_client_next_timer_ns(e->clients[i]));
		}
	}
	if (until_ns <= now_ns) {
		return 0; /* a timer is due: the next step's poll runs it */
	}
	uint64_t wait_ns = until_ns - now_ns;
	struct timespec ts = {.tv_sec = (time_t)(wait_ns / RB_NS_PER_S),
			      .tv_nsec = (long)(wait_ns % RB_NS_PER_S)};
	int ready = ppoll(pfd, e->clients_count, &ts, NULL);
	for (uint32_t i = 0; ready > 0 && i < e->clients_count; i++) {
		if ((pfd[i].revents & POLLIN) != 0) {
			int n = rn_client_poll(e->clients[i], 0, rb_on_reply, e);
			if (n < 0) {
				return n;
			}
		}
	}
	return 0;
}

/* ---- A whole run -------------------------------------------------------- */

static void rb_engine_tick(struct rb_engine *e, uint32_t second)
{
	const struct bench_hist *h = &e->window.latency_ns;
	if (!e->opts.quiet) {
		fprintf(stderr,
			"raftbench: %4us  ops_per_s %9llu  latency_us_p50 %9.1f  p99 %9.1f  "
			"errors %llu  in_flight %u\n",
			second, (unsigned long long)e->window.ok,
			(double)bench_hist_percentile(h, 0.5) / 1e3,
			(double)bench_hist_percentile(h, 0.99) / 1e3,
			(unsigned long long)(e->window.errors + e->window.timeouts), e->inflight);
	}
	if (e->opts.timeseries != NULL) {
		rb_ts_row(e->opts.timeseries, second, 1.0, &e->window);
	}
	rb_stats_reset(&e->window);
}

static void rb_engine_finish(struct rb_engine *e, struct rb_result *r)
{
	struct rn_client_counters sum = {0};
	for (uint32_t i = 0; i < e->clients_count; i++) {
		struct rn_client_counters c;
		rn_client_get_counters(e->clients[i], &c);
		sum.sent += c.sent;
		sum.retransmits += c.retransmits;
		sum.redirects += c.redirects;
		sum.retries_busy += c.retries_busy;
	}
	r->sent = sum.sent;
	r->retransmits = sum.retransmits;
	r->redirects = sum.redirects;
	r->retries_busy = sum.retries_busy;
	r->total.busy += sum.retries_busy;
	/* Still in flight after the drain: counted as timeouts. */
	r->total.timeouts += e->inflight;
	r->duration_s = e->opts.duration_s;
	r->warmup_s = e->opts.warmup_s;
}

int rb_engine_run(struct rb_engine *e, struct rb_result *r)
{
	uint64_t now_ns = rb_now_ns();
	rb_engine_start(e, r, now_ns);
	uint64_t drain_end_ns = e->end_ns + (uint64_t)(e->opts.drain_s * (double)RB_NS_PER_S);
	uint64_t next_tick_ns = now_ns + RB_NS_PER_S;
	uint32_t second = 0;
	if (e->opts.trace_file != NULL) {
		fputs("intended_ns,send_ns,rx_ns,proposed_ns,durable_ns,replicated_ns,applied_ns,reply_ns,recv_ns\n",
		      e->opts.trace_file);
	}
	if (e->opts.timeseries != NULL) {
		rb_ts_header(e->opts.timeseries);
	}
	while (now_ns < e->end_ns || (e->inflight > 0 && now_ns < drain_end_ns)) {
		/* A step sleeps until an event (rb_engine_step) but no later than
		 * the next second's report or the end of the run. */
		uint64_t until_ns = rn_min_u64(next_tick_ns, now_ns < e->end_ns ? e->end_ns
										  : drain_end_ns);
		uint64_t wait_us = until_ns > now_ns ? (until_ns - now_ns + 999u) / 1000u : 0;
		int rc = rb_engine_step(e, (uint32_t)rn_max_u64(wait_us, 1));
		if (rc < 0) {
			return rc;
		}
		now_ns = rb_now_ns();
		if (now_ns >= next_tick_ns) {
			rb_engine_tick(e, ++second);
			next_tick_ns += RB_NS_PER_S;
		}
	}
	rb_engine_finish(e, r);
	return 0;
}

uint32_t rb_status_leader(struct rn_client *c, uint32_t node_id)
{
	struct rn_client_result res;
	int rc = rn_client_status(c, node_id, &res);
	if (rc != 0 || res.status != DP_CLIENT_OK || res.value == NULL) {
		return 0;
	}
	int64_t leader = rb_json_uint((const char *)res.value, res.value_bytes, "leader");
	return leader > 0 && leader <= UINT32_MAX ? (uint32_t)leader : 0;
}
