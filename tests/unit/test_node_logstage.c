/* SPDX-License-Identifier: MIT */
/*
 * Goal: the log stage (node/log/log_stage.c) and control's end of its
 * link (node/control/log_end.c) keep the storage contract across
 * the rings between control and the log, on one lcore and on two threads:
 * entries reach the disk in order with their bytes, a durable report comes
 * only after the bytes were taken (control may then reuse them), calls
 * (hard state, truncation, reads) are synchronous and ordered after every
 * earlier append, a full ops ring is back-pressure, and a log failure is
 * published once, with the log's message, and refuses what follows.
 * Method: a real io_uring log in a scratch directory, the stage colocated
 * (the test thread polls it) and on a thread of its own (the test thread
 * plays control: random batches, random truncations, payload slots reused
 * as soon as they are reported durable, as the payload ring does); then
 * every entry is read back and compared. The failure case runs on the
 * simulated disk with an armed sync failure, the no-space case on one with
 * no free space for a second segment.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "control/internal.h"
#include "log/log_stage.h"
#include "storage_util.h"

#define PAYLOAD_BYTES 200u
/* Payload slots of the test's "payload ring": entry i uses slot
 * i % slots, reusable once entry i - slots is reported durable. */
#define SLOTS_MAX (NODE_LOG_OPS_MAX * 2u)

struct fixture {
	char dir[SU_PATH_BYTES];
	struct store_log *log;
	struct node_log_link link;
	struct node_log_stage ls; /* the log's side */
	struct node_log_end le;	  /* control's side */
	volatile int stop;
	struct store_sim *sim;
	uint32_t slots;
	uint8_t payloads[SLOTS_MAX][PAYLOAD_BYTES];
	raft_term terms[1u << 16]; /* expected term of each index */
	raft_index last;
	raft_index appended_max;
	struct node_log_report durable;
};

static struct fixture *fixture_open(bool colocated, enum store_engine_kind engine,
				    struct store_sim *sim, uint32_t slots)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->sim = sim;
	f->slots = slots;
	su_tmpdir(f->dir, sizeof(f->dir));
	assert_int_equal(node_log_stage_init(&f->ls, &f->link, 1u << 16), 0);
	/* As the daemon wires it: colocated, control's waits run the stage. */
	f->link.wait = (struct node_link_wait){.colocated_poll = colocated ? node_log_stage_poll : NULL,
					       .colocated_ctx = colocated ? &f->ls : NULL,
					       .stop = &f->stop};
	f->le.link = &f->link;
	struct store_config cfg;
	su_config(&cfg, f->dir, engine, 1u << 20);
	cfg.sim = sim;
	cfg.on_durable = node_log_stage_on_durable;
	cfg.on_durable_user = &f->ls;
	f->log = su_open(&cfg);
	node_log_stage_attach(&f->ls, f->log);
	return f;
}

static void fixture_close(struct fixture *f)
{
	node_log_stage_stop(&f->ls);
	node_log_stage_fini(&f->ls);
	store_close(f->log);
	su_rmtree(f->dir);
	free(f);
}

/* Control's side of one entry: its bytes into its slot, handed over. */
static void put_entry(struct fixture *f, raft_index index, raft_term term)
{
	uint8_t *slot = f->payloads[index % f->slots];
	su_payload(index, term, slot, PAYLOAD_BYTES);
	struct raft_entry e = {.index = index, .term = term, .type = RAFT_ENTRY_NORMAL,
			       .payload_bytes = PAYLOAD_BYTES};
	/* Staged; pushed by the burst (64) or a kick, as control does. */
	assert_int_equal(node_log_add(&f->le, &e, slot), 0);
	f->terms[index] = term;
	f->last = index;
	f->appended_max = rn_max_u64(f->appended_max, index);
}

/* Takes reports (running the stage when it shares this thread) until one
 * says `index` of `term` is durable. */
static void wait_durable(struct fixture *f, raft_index index, raft_term term)
{
	assert_int_equal(node_log_kick(&f->le), 0); /* what was staged */
	for (uint64_t spins = 0;; spins++) {
		if (f->sim != NULL) {
			store_sim_advance_us(f->sim, 10);
		}
		if (f->link.wait.colocated_poll != NULL) {
			node_log_stage_poll(&f->ls);
		}
		struct node_log_report r;
		if (node_log_take_report(&f->le, &r)) {
			/* A report may be stale (its entry truncated since), but
			 * never about an index nobody appended; like the core,
			 * take only those that match the log as it is. */
			assert_true(r.index <= f->appended_max);
			if (f->terms[r.index] == r.term) {
				f->durable = r;
			}
		}
		if (f->durable.index >= index && f->terms[index] == term) {
			return;
		}
		if (spins >= 200000000ull) {
			printf("stuck: waiting for %llu/%llu; last report %llu/%llu; last %llu; "
			       "store durable %llu last %llu; ring %u\n", (unsigned long long)index,
			       (unsigned long long)term, (unsigned long long)f->durable.index,
			       (unsigned long long)f->durable.term, (unsigned long long)f->last,
			       (unsigned long long)store_durable_index(f->log),
			       (unsigned long long)store_last_index(f->log), dp_ring_count(&f->link.ops));
			fail();
		}
	}
}

static void verify_all(struct fixture *f)
{
	static uint8_t buf[1u << 20];
	static struct store_entry got[256];
	uint8_t want[PAYLOAD_BYTES];
	for (raft_index i = 1; i <= f->last;) {
		int n = store_read(f->log, i, buf, sizeof(buf), got, RN_ARRAY_COUNT(got));
		assert_true(n > 0);
		for (int k = 0; k < n; k++, i++) {
			assert_int_equal(got[k].index, i);
			assert_int_equal(got[k].term, f->terms[i]);
			assert_int_equal(got[k].payload_bytes, PAYLOAD_BYTES);
			su_payload(i, f->terms[i], want, PAYLOAD_BYTES);
			assert_memory_equal(got[k].payload, want, PAYLOAD_BYTES);
		}
	}
	assert_int_equal(store_last_index(f->log), f->last);
}

static void test_colocated_append_calls(void **state)
{
	(void)state;
	struct fixture *f = fixture_open(true, STORE_ENGINE_URING, NULL, 256);
	for (raft_index i = 1; i <= 100; i++) {
		put_entry(f, i, 1);
	}
	node_log_kick(&f->le);
	wait_durable(f, 100, 1);

	/* Hard state: durable when the call returns. */
	struct raft_hard_state hs = {.term = 2, .vote = 3};
	assert_int_equal(node_log_save_hard_state(&f->le, &hs), 0);
	hs = (struct raft_hard_state){0};
	store_hard_state(f->log, &hs);
	assert_int_equal(hs.term, 2);
	assert_int_equal(hs.vote, 3);

	/* The catch-up read: the term before the range, then the entries,
	 * while control goes on; one at a time. */
	static uint8_t buf[64 << 10];
	struct raft_message m = {.type = RAFT_MSG_APPEND, .to = 2,
				 .append = {.prev_index = 40, .entries_count = 16,
					    .from_storage = true}};
	assert_int_equal(node_log_read_start(&f->le, &m, buf, sizeof(buf)), 0);
	assert_int_equal(node_log_read_start(&f->le, &m, buf, sizeof(buf)), -EBUSY);
	const struct node_log_read *r = NULL;
	/* The read completes when the kernel gets to it: poll until it has,
	 * bounded by time (30 s), not by a count of rounds that a loaded
	 * machine can use up before the completion arrives. */
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		node_log_stage_poll(&f->ls);
		r = node_log_read_take(&f->le);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (r == NULL && now.tv_sec - t0.tv_sec < 30);
	assert_non_null(r);
	assert_null(node_log_read_take(&f->le)); /* handed out once */
	assert_int_equal(r->rc, 16);
	assert_int_equal(r->prev_term, 1);
	assert_int_equal(r->msg.to, 2);
	assert_int_equal(r->entries[0].index, 41);
	assert_int_equal(r->entries[15].index, 56);
	uint8_t want[PAYLOAD_BYTES];
	su_payload(41, 1, want, PAYLOAD_BYTES);
	assert_memory_equal(r->entries[0].payload, want, PAYLOAD_BYTES);
	/* Past the end: an error for the caller, not a log failure. */
	m.append.prev_index = 499;
	assert_int_equal(node_log_read_start(&f->le, &m, buf, sizeof(buf)), 0);
	r = NULL;
	for (int k = 0; k < 1000 && r == NULL; k++) {
		node_log_stage_poll(&f->ls);
		r = node_log_read_take(&f->le);
	}
	assert_non_null(r);
	assert_true(r->rc < 0);
	const char *what, *msg;
	assert_int_equal(node_log_failure(&f->le, &what, &msg), 0);

	/* Truncate 51.., and a new term takes its place. */
	assert_int_equal(node_log_truncate(&f->le, 51), 0);
	memset(&f->terms[51], 0, 50 * sizeof(f->terms[0]));
	f->last = 50;
	for (raft_index i = 51; i <= 60; i++) {
		put_entry(f, i, 2);
	}
	node_log_kick(&f->le);
	wait_durable(f, 60, 2);
	assert_int_equal(f->durable.index, 60);
	assert_int_equal(f->durable.term, 2);

	/* The commit hint goes in its turn, capped at what is durable. */
	assert_int_equal(node_log_save_hint(&f->le, 55), 0);
	node_log_stage_poll(&f->ls);
	assert_int_equal(store_commit_hint(f->log), 55);
	node_log_stage_stop(&f->ls);
	verify_all(f);
	fixture_close(f);
}

static void *log_lcore(void *arg)
{
	struct fixture *f = arg;
	while (!f->stop) {
		node_log_stage_poll(&f->ls);
	}
	node_log_stage_stop(&f->ls); /* on this thread: the ring is its */
	return NULL;
}

static void test_threaded_random(void **state)
{
	(void)state;
	struct fixture *f = fixture_open(false, STORE_ENGINE_URING, NULL, 256);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, log_lcore, f), 0);
	uint64_t rng = 12345;
	raft_term term = 1;
	uint32_t truncations = 0;
	for (uint32_t batch = 0; batch < 600; batch++) {
		uint64_t r = rn_splitmix64(&rng);
		if (r % 23 == 0 && f->last > f->durable.index + 1) {
			/* Conflict: cut back to somewhere above what is durable
			 * (an uncommitted suffix), the next leader's term after. */
			raft_index from = f->durable.index + 1 + (r >> 8) % (f->last - f->durable.index);
			assert_int_equal(node_log_truncate(&f->le, from), 0);
			memset(&f->terms[from], 0, (f->last - from + 1) * sizeof(f->terms[0]));
			f->last = from - 1;
			term++;
			/* What was durable below the cut still is (the core keeps
			 * min(persisted, from - 1), no report needed). */
			if (f->durable.index >= from) {
				f->durable = (struct node_log_report){.index = from - 1,
								       .term = f->terms[from - 1]};
			}
			truncations++;
		}
		uint32_t count = 1 + (uint32_t)((r >> 16) % 64);
		for (uint32_t k = 0; k < count; k++) {
			raft_index i = f->last + 1;
			if (i > f->slots) {
				/* The slot's previous entry must be durable first:
				 * the core releases nothing above the durable index. */
				wait_durable(f, i - f->slots, f->terms[i - f->slots]);
			}
			put_entry(f, i, term);
		}
		assert_int_equal(node_log_kick(&f->le), 0);
		struct node_log_report rep;
		if (node_log_take_report(&f->le, &rep) && f->terms[rep.index] == rep.term) {
			f->durable = rep;
		}
	}
	wait_durable(f, f->last, term);
	f->stop = 1;
	pthread_join(t, NULL);
	printf("threaded: %llu entries, %u truncations, %llu waits on a full ops ring, "
	       "durable %llu of term %llu\n", (unsigned long long)f->last, truncations,
	       (unsigned long long)f->le.ops_full_waits, (unsigned long long)f->durable.index,
	       (unsigned long long)f->durable.term);
	assert_true(truncations > 0);
	verify_all(f);
	fixture_close(f);
}

/* A full ops ring: control waits (running the stage inline when it shares
 * the lcore), nothing is dropped. */
static void test_colocated_ring_full(void **state)
{
	(void)state;
	struct fixture *f = fixture_open(true, STORE_ENGINE_URING, NULL, SLOTS_MAX);
	/* More entries than the ring holds, without a poll between: the
	 * pushes that find it full run the stage inline. */
	for (raft_index i = 1; i <= NODE_LOG_OPS_MAX + 500; i++) {
		put_entry(f, i, 1);
	}
	assert_true(f->le.ops_full_waits > 0);
	wait_durable(f, f->last, 1);
	node_log_stage_stop(&f->ls);
	verify_all(f);
	fixture_close(f);
}

static void test_failure_is_published(void **state)
{
	(void)state;
	struct store_sim *sim = NULL;
	struct store_sim_config sc = {.seed = 7};
	assert_int_equal(store_sim_create(&sc, &sim), 0);
	struct fixture *f = fixture_open(true, STORE_ENGINE_SIM, sim, 256);
	for (raft_index i = 1; i <= 10; i++) {
		put_entry(f, i, 1);
	}
	wait_durable(f, 10, 1);
	store_sim_fail_sync(sim, 1);
	for (raft_index i = 11; i <= 20; i++) {
		put_entry(f, i, 1);
	}
	assert_int_equal(node_log_kick(&f->le), 0);
	const char *what = NULL, *msg = NULL;
	for (int k = 0; k < 1000 && node_log_failure(&f->le, &what, &msg) == 0; k++) {
		store_sim_advance_us(sim, 100);
		node_log_stage_poll(&f->ls);
	}
	assert_int_not_equal(node_log_failure(&f->le, &what, &msg), 0);
	printf("published: %s: %s\n", what, msg);
	assert_string_equal(what, "log write");
	assert_non_null(strstr(msg, "Input/output error"));
	/* Nothing after the failure is reported durable. */
	struct node_log_report r;
	while (node_log_take_report(&f->le, &r)) {
		f->durable = r;
	}
	assert_int_equal(f->durable.index, 10);
	/* Every later call is refused. */
	struct raft_hard_state hs = {.term = 2, .vote = 1};
	assert_int_equal(node_log_save_hard_state(&f->le, &hs), -STORE_E_FAILED);
	fixture_close(f);
	store_sim_destroy(sim);
}

/* The stage's stop step writes what control handed over and flushes it. */
/* Out of space: the appends the log refuses are held, not reported and
 * not failed; calls go on (a vote, a truncation that cuts held entries);
 * the stage publishes it; when space returns the held entries go in. */
static void test_no_space_holds_appends(void **state)
{
	(void)state;
	struct store_sim *sim = NULL;
	struct store_sim_config sc = {.seed = 9};
	assert_int_equal(store_sim_create(&sc, &sim), 0);
	struct fixture *f = fixture_open(true, STORE_ENGINE_SIM, sim, SLOTS_MAX);
	/* The first segment was prepared at open; no room for a second. */
	store_sim_set_space_bytes(sim, 0);
	const raft_index per_seg = (1u << 20) / store_record_bytes(PAYLOAD_BYTES);
	for (raft_index i = 1; i <= per_seg + 81; i++) {
		put_entry(f, i, 1);
	}
	wait_durable(f, per_seg, 1);
	for (int k = 0; k < 100; k++) { /* nothing more comes */
		store_sim_advance_us(sim, 10);
		node_log_stage_poll(&f->ls);
	}
	assert_int_equal(store_durable_index(f->log), per_seg);
	assert_int_equal(store_last_index(f->log), per_seg);
	assert_false(store_failed(f->log));
	uint64_t held = 0;
	assert_true(node_log_space_short(&f->le, &held));
	assert_int_equal(held, 81);
	const char *what, *msg;
	assert_int_equal(node_log_failure(&f->le, &what, &msg), 0);
	/* A vote is still durable at once. */
	struct raft_hard_state hs = {.term = 2, .vote = 2};
	assert_int_equal(node_log_save_hard_state(&f->le, &hs), 0);
	/* A truncation cuts held entries; new ones join the held. */
	assert_int_equal(node_log_truncate(&f->le, per_seg + 71), 0);
	f->last = per_seg + 70;
	for (raft_index i = per_seg + 71; i <= per_seg + 76; i++) {
		put_entry(f, i, 2);
	}
	assert_int_equal(node_log_kick(&f->le), 0);
	node_log_stage_poll(&f->ls);
	assert_true(node_log_space_short(&f->le, &held));
	assert_int_equal(held, 76);
	/* Space returns: the stage's retry (every 100 ms) takes them. */
	store_sim_set_space_bytes(sim, UINT64_MAX);
	wait_durable(f, per_seg + 76, 2);
	assert_false(node_log_space_short(&f->le, &held));
	assert_int_equal(held, 0);
	verify_all(f);
	fixture_close(f);
	store_sim_destroy(sim);
}

static void test_stop_drains(void **state)
{
	(void)state;
	struct fixture *f = fixture_open(false, STORE_ENGINE_URING, NULL, 256);
	for (raft_index i = 1; i <= 200; i++) {
		put_entry(f, i, 1);
	}
	assert_int_equal(node_log_kick(&f->le), 0); /* apart: pushes, runs nothing */
	/* Nobody polled: everything is still in the ring. */
	assert_int_equal(store_last_index(f->log), 0);
	node_log_stage_stop(&f->ls);
	assert_int_equal(store_durable_index(f->log), 200);
	verify_all(f);
	fixture_close(f);
}

int main(void)
{
	const char *why = NULL;
	if (!su_uring_available(&why)) {
		printf("SKIP: io_uring unavailable: %s\n", why);
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_colocated_append_calls),
		cmocka_unit_test(test_threaded_random),
		cmocka_unit_test(test_colocated_ring_full),
		cmocka_unit_test(test_failure_is_published),
		cmocka_unit_test(test_no_space_holds_appends),
		cmocka_unit_test(test_stop_drains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
