/* SPDX-License-Identifier: MIT */
/*
 * Goal: the log's operations do what storage.h says on every engine:
 * append + durable completion + reopen, segment roll, truncate a suffix,
 * compact a prefix by whole segments, read a range, hard state in two
 * alternating slots (a torn newest slot falls back to the older one), and
 * group fsync (appends made while a write is in flight share one sync),
 * the three durability modes (fsync, dsync, none) over segment rolls, and
 * reads in small pieces, sequential and random, before and after a cut,
 * and asynchronous reads (catch-up, one at a time, beside a write in
 * flight, kept segment under compaction, close while reading).
 * Method: each test runs once per engine (pwrite, uring, sim) on a fresh
 * scratch directory or simulated disk with small segments, checks results
 * through the API, reopens, and checks again. uring tests are skipped, with
 * the reason printed, where io_uring is unavailable.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "storage_util.h"

struct fixture {
	enum store_engine_kind engine;
	char dir[SU_PATH_BYTES];
	struct store_sim *sim;
	raft_index durable_seen;
	uint32_t durable_calls;
	uint32_t reads_done;
};

static enum store_engine_kind engine_pwrite = STORE_ENGINE_PWRITE;
static enum store_engine_kind engine_uring = STORE_ENGINE_URING;
static enum store_engine_kind engine_sim = STORE_ENGINE_SIM;

static int fx_setup(void **state)
{
	enum store_engine_kind engine = *(enum store_engine_kind *)*state;
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->engine = engine;
	su_tmpdir(fx->dir, sizeof(fx->dir));
	if (engine == STORE_ENGINE_SIM) {
		struct store_sim_config sc = {.seed = 42};
		assert_int_equal(store_sim_create(&sc, &fx->sim), 0);
	}
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fixture *fx = *state;
	su_rmtree(fx->dir);
	store_sim_destroy(fx->sim);
	free(fx);
	return 0;
}

static void on_durable(void *user, raft_index index, raft_term term)
{
	struct fixture *fx = user;
	(void)term;
	assert_true(index > fx->durable_seen);
	fx->durable_seen = index;
	fx->durable_calls++;
}

/* Config for the fixture's engine; skips the test if it cannot run here. */
static void fx_config(struct fixture *fx, struct store_config *cfg, uint64_t segment_bytes)
{
	const char *why = NULL;
	if (fx->engine == STORE_ENGINE_URING && !su_uring_available(&why)) {
		printf("skipped: %s\n", why);
		skip();
	}
	su_config(cfg, fx->dir, fx->engine, segment_bytes);
	cfg->sim = fx->sim;
	cfg->on_durable = on_durable;
	cfg->on_durable_user = fx;
}

/* Flips one bit of a file on the fixture's disk. */
static void fx_flip(struct fixture *fx, const char *name, uint64_t offset, unsigned bit)
{
	if (fx->sim != NULL) {
		assert_int_equal(store_sim_flip_bit(fx->sim, name, offset, bit), 0);
		return;
	}
	size_t bytes = 0;
	uint8_t *buf = su_file_read(fx->dir, name, &bytes);
	assert_true(offset < bytes);
	buf[offset] ^= (uint8_t)(1u << bit);
	su_file_write(fx->dir, name, buf, bytes);
	free(buf);
}

static void test_append_reopen(void **state)
{
	struct fixture *fx = *state;
	struct store_config cfg;
	fx_config(fx, &cfg, 1u << 20);
	struct store_log *log = su_open(&cfg);
	assert_int_equal(store_last_index(log), 0);
	if (fx->engine == STORE_ENGINE_URING) {
		struct store_stats st;
		store_stats(log, &st);
		printf("io_uring setup flags: 0x%x (SINGLE_ISSUER=0x1000, DEFER_TASKRUN=0x2000)\n",
		       st.uring_setup_flags);
	}
	su_append(log, 1, 100, 1, 100, 7);
	assert_int_equal(fx->durable_seen, 100);
	assert_int_equal(store_last_term(log), 1);
	/* Not last + 1: refused. Term going down: refused. */
	uint8_t p[8] = {0};
	struct store_entry gap = {.index = 102, .term = 1, .payload = p, .payload_bytes = 8};
	assert_int_equal(store_append(log, &gap, 1), -STORE_E_RANGE);
	struct store_entry down = {.index = 101, .term = 0, .payload = p, .payload_bytes = 8};
	assert_int_equal(store_append(log, &down, 1), -STORE_E_RANGE);
	su_verify(log, 1, 100, 1, 100);
	store_close(log);

	log = su_open(&cfg);
	assert_int_equal(store_last_index(log), 100);
	assert_int_equal(store_durable_index(log), 100);
	assert_int_equal(store_last_term(log), 1);
	su_verify(log, 1, 100, 1, 100);
	su_append(log, 101, 10, 2, 0, 3); /* empty payloads are fine */
	assert_int_equal(store_term_at(log, 50), 1);
	assert_int_equal(store_term_at(log, 105), 2);
	store_close(log);
	log = su_open(&cfg);
	assert_int_equal(store_last_index(log), 110);
	assert_int_equal(store_last_term(log), 2);
	su_verify(log, 101, 110, 2, 0);
	store_close(log);
}

static void test_segment_roll(void **state)
{
	struct fixture *fx = *state;
	struct store_config cfg;
	fx_config(fx, &cfg, 4096); /* 232-byte records: 17 per segment */
	assert_int_equal(store_record_bytes(200), 232);
	struct store_log *log = su_open(&cfg);
	su_append(log, 1, 300, 1, 200, 16);
	struct store_stats st;
	store_stats(log, &st);
	assert_int_equal(st.segments_count, (300 + 16) / 17);
	su_verify(log, 1, 300, 1, 200);
	store_close(log);
	log = su_open(&cfg);
	assert_int_equal(store_last_index(log), 300);
	store_stats(log, &st);
	assert_int_equal(st.segments_count, (300 + 16) / 17);
	su_verify(log, 1, 300, 1, 200);
	/* A record larger than a segment can never be written. */
	static uint8_t big[4096];
	struct store_entry e = {.index = 301, .term = 1, .payload = big, .payload_bytes = 4096};
	assert_int_equal(store_append(log, &e, 1), -STORE_E_RANGE);
	store_close(log);
}

static void test_truncate_suffix(void **state)
{
	struct fixture *fx = *state;
	struct store_config cfg;
	fx_config(fx, &cfg, 4096);
	struct store_log *log = su_open(&cfg);
	su_append(log, 1, 100, 1, 200, 10);
	/* Cut in the middle of a segment, dropping the later segments. */
	assert_int_equal(store_truncate_suffix(log, 37), 0);
	fx->durable_seen = 36; /* durable goes down with a truncation */
	assert_int_equal(store_last_index(log), 36);
	assert_int_equal(store_durable_index(log), 36);
	assert_int_equal(store_last_term(log), 1);
	su_append(log, 37, 20, 2, 64, 4);
	su_verify(log, 1, 36, 1, 200);
	su_verify(log, 37, 56, 2, 64);
	store_close(log);
	log = su_open(&cfg);
	assert_int_equal(store_last_index(log), 56);
	assert_int_equal(store_last_term(log), 2);
	su_verify(log, 1, 36, 1, 200);
	su_verify(log, 37, 56, 2, 64);
	/* Cut exactly at a segment start (18 = first index of segment 2). */
	assert_int_equal(store_truncate_suffix(log, 18), 0);
	fx->durable_seen = 17;
	assert_int_equal(store_last_index(log), 17);
	su_append(log, 18, 3, 3, 8, 3);
	store_close(log);
	log = su_open(&cfg);
	assert_int_equal(store_last_index(log), 20);
	assert_int_equal(store_last_term(log), 3);
	su_verify(log, 1, 17, 1, 200);
	su_verify(log, 18, 20, 3, 8);
	/* Truncating everything leaves an empty log that starts again at 1. */
	assert_int_equal(store_truncate_suffix(log, 1), 0);
	fx->durable_seen = 0;
	assert_int_equal(store_last_index(log), 0);
	su_append(log, 1, 5, 4, 8, 5);
	store_close(log);
	log = su_open(&cfg);
	assert_int_equal(store_last_index(log), 5);
	su_verify(log, 1, 5, 4, 8);
	store_close(log);
}

static void test_compact_prefix(void **state)
{
	struct fixture *fx = *state;
	struct store_config cfg;
	fx_config(fx, &cfg, 4096);
	struct store_log *log = su_open(&cfg);
	su_append(log, 1, 100, 1, 200, 10);
	struct store_stats before, after;
	store_stats(log, &before);
	assert_int_equal(store_compact(log, 101, 1), -STORE_E_RANGE); /* not durable */
	/* Segments hold 1-17, 18-34, 35-51, 52-68: compacting to 60 drops the
	 * first three whole segments and keeps 52-68 (it holds 61..68). */
	assert_int_equal(store_compact(log, 60, 1), 0);
	store_stats(log, &after);
	assert_int_equal(after.segments_count, before.segments_count - 3);
	assert_int_equal(store_first_index(log), 61);
	assert_int_equal(store_compacted_index(log), 60);
	uint8_t buf[4096];
	struct store_entry ents[4];
	assert_int_equal(store_read(log, 60, buf, sizeof(buf), ents, 4), -STORE_E_COMPACTED);
	su_verify(log, 61, 100, 1, 200);
	store_close(log);
	log = su_open(&cfg);
	assert_int_equal(store_compacted_index(log), 60);
	assert_int_equal(store_first_index(log), 61);
	assert_int_equal(store_last_index(log), 100);
	su_verify(log, 61, 100, 1, 200);
	/* Compacting into the active segment keeps it. */
	assert_int_equal(store_compact(log, 100, 1), 0);
	store_stats(log, &after);
	assert_int_equal(after.segments_count, 1);
	assert_int_equal(store_term_at(log, 100), 1);
	su_append(log, 101, 5, 2, 16, 5);
	store_close(log);
	log = su_open(&cfg);
	assert_int_equal(store_first_index(log), 101);
	assert_int_equal(store_last_index(log), 105);
	su_verify(log, 101, 105, 2, 16);
	store_close(log);
}

static void test_hard_state_slots(void **state)
{
	struct fixture *fx = *state;
	struct store_config cfg;
	fx_config(fx, &cfg, 4096);
	struct store_log *log = su_open(&cfg);
	struct raft_hard_state hs;
	store_hard_state(log, &hs);
	assert_int_equal(hs.term, 0);
	assert_int_equal(hs.vote, 0);
	struct raft_hard_state a = {.term = 3, .vote = 2}; /* seq 1: slot 1 */
	struct raft_hard_state b = {.term = 4, .vote = 0}; /* seq 2: slot 0 */
	assert_int_equal(store_save_hard_state(log, &a), 0);
	store_close(log);
	log = su_open(&cfg);
	store_hard_state(log, &hs);
	assert_int_equal(hs.term, 3);
	assert_int_equal(hs.vote, 2);
	assert_int_equal(store_save_hard_state(log, &b), 0);
	store_close(log);
	log = su_open(&cfg);
	store_hard_state(log, &hs);
	assert_int_equal(hs.term, 4);
	assert_int_equal(hs.vote, 0);
	store_close(log);

	/* Tear the newest slot (seq 2, at offset 0): the older one rules. */
	fx_flip(fx, "state", 20, 3);
	log = su_open(&cfg);
	store_hard_state(log, &hs);
	assert_int_equal(hs.term, 3);
	assert_int_equal(hs.vote, 2);
	/* The next write goes to the slot after seq 1 (the torn one). */
	struct raft_hard_state c = {.term = 5, .vote = 1};
	assert_int_equal(store_save_hard_state(log, &c), 0);
	store_close(log);
	log = su_open(&cfg);
	store_hard_state(log, &hs);
	assert_int_equal(hs.term, 5);
	assert_int_equal(hs.vote, 1);
	store_close(log);

	/* Both slots damaged: open refuses with its own code. */
	fx_flip(fx, "state", 8, 0);
	fx_flip(fx, "state", 4096 + 8, 0);
	char errmsg[512];
	assert_int_equal(store_open(&cfg, &log, errmsg, sizeof(errmsg)), -STORE_E_STATE_CORRUPT);
	assert_null(log);
	assert_non_null(strstr(errmsg, "state"));
}

static void test_group_fsync_gathers(void **state)
{
	struct fixture *fx = *state;
	struct store_config cfg;
	fx_config(fx, &cfg, 1u << 20);
	struct store_log *log = su_open(&cfg);
	uint8_t p[64];
	memset(p, 7, sizeof(p));
	/* The first append leaves at once; the next 50, made before anyone
	 * polls, gather behind it into one group. */
	for (raft_index i = 1; i <= 51; i++) {
		struct store_entry e = {.index = i, .term = 1, .payload = p, .payload_bytes = 64};
		assert_int_equal(store_append(log, &e, 1), 0);
	}
	assert_int_equal(store_flush(log), 0);
	struct store_stats st;
	store_stats(log, &st);
	assert_int_equal(st.entries_count, 51);
	/* Same on pwrite: its submit writes and syncs at once, but the
	 * completion is reaped only by a poll, and until then appends gather. */
	assert_int_equal(st.groups_count, 2);
	assert_int_equal(fx->durable_calls, 2);
	assert_int_equal(fx->durable_seen, 51);
	/* Staging full is back-pressure, not a silent drop. */
	static uint8_t big[60u << 10];
	raft_index next = 52;
	int rc = 0;
	for (int i = 0; i < 20 && rc == 0; i++) {
		struct store_entry e = {.index = next, .term = 1, .payload = big,
					.payload_bytes = sizeof(big)};
		rc = store_append(log, &e, 1);
		if (rc == 0) {
			next++;
		}
	}
	assert_int_equal(rc, -STORE_E_BUSY);
	assert_int_equal(store_flush(log), 0);
	assert_int_equal(store_durable_index(log), next - 1);
	store_close(log);
}

/* Reads [first, last] back in pieces of at most `piece` entries into a
 * buffer of buf_bytes, checking each entry's index and payload. */
static void read_in_pieces(struct store_log *log, raft_index first, raft_index last,
			   uint32_t piece, size_t buf_bytes)
{
	static uint8_t buf[8192];
	struct store_entry ents[8];
	uint8_t want[SU_PAYLOAD_BYTES_MAX];
	assert_true(piece <= 8 && buf_bytes <= sizeof(buf));
	raft_index next = first;
	while (next <= last) {
		int n = store_read(log, next, buf, buf_bytes, ents, piece);
		assert_true(n >= 1);
		for (int i = 0; i < n && next <= last; i++, next++) {
			assert_int_equal(ents[i].index, next);
			su_payload(next, ents[i].term, want, ents[i].payload_bytes);
			assert_memory_equal(ents[i].payload, want, ents[i].payload_bytes);
		}
	}
}

static void test_read_in_pieces(void **state)
{
	struct fixture *fx = *state;
	struct store_config cfg;
	fx_config(fx, &cfg, 4096);
	struct store_log *log = su_open(&cfg);
	/* Payload sizes vary by batch so records sit at irregular offsets. */
	raft_index next = 1;
	for (uint32_t b = 0; b < 30; b++) {
		su_append(log, next, 10, 1, (b * 37) % 300, 10);
		next += 10;
	}
	read_in_pieces(log, 1, 300, 1, 400);  /* one at a time, sequential */
	read_in_pieces(log, 1, 300, 7, 8192); /* several, across segments */
	read_in_pieces(log, 1, 300, 8, 700);  /* the buffer is what stops */
	uint64_t rng = 99;
	for (int i = 0; i < 100; i++) { /* random starting points */
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		raft_index from = 1 + (rng >> 33) % 300;
		read_in_pieces(log, from, rn_min_u64(300, from + 5), 3, 2000);
	}
	/* After a cut and different payload sizes, old read positions must
	 * not be reused. */
	read_in_pieces(log, 150, 160, 2, 2000);
	assert_int_equal(store_truncate_suffix(log, 140), 0);
	fx->durable_seen = 139;
	su_append(log, 140, 40, 2, 11, 5);
	read_in_pieces(log, 130, 179, 2, 2000);
	su_verify(log, 140, 179, 2, 11);
	/* Cut exactly at a segment start (no record walk happens), refill a
	 * new segment of that name with smaller records, and read where an old
	 * position pointed. With 200-byte
	 * payloads a 4 KiB segment holds 17 records: 1-17, 18-34, ... */
	assert_int_equal(store_truncate_suffix(log, 1), 0);
	fx->durable_seen = 0;
	su_append(log, 1, 40, 3, 200, 8);
	read_in_pieces(log, 20, 25, 2, 2000); /* leaves a position at 26 */
	assert_int_equal(store_truncate_suffix(log, 18), 0);
	fx->durable_seen = 17;
	su_append(log, 18, 30, 4, 150, 8); /* 184-byte records: too big for segment 1 */
	assert_int_equal(store_record_bytes(150), 184);
	assert_true(4096 - 17 * store_record_bytes(200) < 184);
	read_in_pieces(log, 26, 30, 2, 2000);
	/* Too small a buffer for the next record is back-pressure. */
	uint8_t tiny[16];
	struct store_entry e;
	assert_int_equal(store_read(log, 1, tiny, sizeof(tiny), &e, 1), -STORE_E_BUSY);
	assert_int_equal(store_read(log, 48, tiny, sizeof(tiny), &e, 1), -STORE_E_RANGE);
	store_close(log);
}

/* A read takes about what its entries need, not the whole buffer: a record
 * far above the segment's mean still comes back whole (read again with all
 * the room), and reads of a few small records next to it stay exact. */
static void test_read_bounded_and_big_record(void **state)
{
	struct fixture *fx = *state;
	struct store_config cfg;
	fx_config(fx, &cfg, 4u << 20);
	struct store_log *log = su_open(&cfg);
	su_append(log, 1, 200, 1, 16, 50);      /* small records: the mean */
	/* One of 200 KiB: more than twice the mean record plus 64 KiB. */
	uint32_t big_bytes = 200u << 10; /* under the tests' 256 KiB group */
	uint8_t *big = malloc(big_bytes);
	assert_non_null(big);
	for (uint32_t i = 0; i < big_bytes; i++) {
		big[i] = (uint8_t)(i * 7u + 3u);
	}
	struct store_entry be = {.index = 201, .term = 1, .payload = big, .payload_bytes = big_bytes,
				 .type = 1};
	int rc;
	while ((rc = store_append(log, &be, 1)) == -STORE_E_BUSY) {
		assert_true(store_poll(log, true) >= 0);
	}
	assert_int_equal(rc, 0);
	su_append(log, 202, 50, 1, 16, 50);
	while (store_durable_index(log) < 251) {
		assert_true(store_poll(log, true) >= 0);
	}
	size_t buf_bytes = 1u << 20;
	uint8_t *buf = malloc(buf_bytes);
	assert_non_null(buf);
	struct store_entry e[8];
	/* From inside the small ones: stops at or before the big one. */
	int n = store_read(log, 195, buf, buf_bytes, e, 8);
	assert_true(n >= 1 && n <= 8);
	assert_int_equal(e[0].index, 195);
	/* The big one alone, then with small ones after it. */
	n = store_read(log, 201, buf, buf_bytes, e, 1);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].index, 201);
	assert_int_equal(e[0].payload_bytes, big_bytes);
	assert_memory_equal(e[0].payload, big, big_bytes);
	n = store_read(log, 201, buf, buf_bytes, e, 8);
	assert_true(n >= 1);
	for (int i = 0; i < n; i++) {
		assert_int_equal(e[i].index, 201 + (raft_index)i);
	}
	su_verify(log, 1, 200, 1, 16);
	su_verify(log, 202, 251, 1, 16);
	free(buf);
	free(big);
	store_close(log);
}

static void on_read(void *user, struct store_read_req *req)
{
	struct fixture *fx = user;
	(void)req;
	fx->reads_done++;
}

/* Starts an async read and polls until it is reported; returns result. */
static int read_async_wait(struct fixture *fx, struct store_log *log, struct store_read_req *req)
{
	uint32_t before = fx->reads_done;
	int rc = store_read_async(log, req);
	if (rc != 0) {
		return rc;
	}
	while (fx->reads_done == before) {
		assert_true(store_poll(log, true) >= 0);
	}
	return req->result;
}

static void test_read_async(void **state)
{
	struct fixture *fx = *state;
	struct store_config cfg;
	fx_config(fx, &cfg, 4096);
	cfg.on_read = on_read;
	cfg.on_read_user = fx;
	struct store_log *log = su_open(&cfg);
	for (raft_index next = 1; next <= 300; next += 10) {
		su_append(log, next, 10, 1, (uint32_t)(next * 7) % 250, 10);
	}
	static uint8_t buf[8192];
	struct store_entry ents[64];
	uint8_t want[SU_PAYLOAD_BYTES_MAX];
	/* Catch up 1..300, one request per segment (or per full buffer). */
	raft_index next = 1;
	uint32_t requests = 0;
	while (next <= 300) {
		struct store_read_req req = {.first_index = next, .buf = buf,
					     .buf_bytes = sizeof(buf), .entries = ents,
					     .entries_max = 64};
		int n = read_async_wait(fx, log, &req);
		assert_true(n >= 1);
		for (int i = 0; i < n; i++, next++) {
			assert_int_equal(ents[i].index, next);
			su_payload(next, 1, want, ents[i].payload_bytes);
			assert_memory_equal(ents[i].payload, want, ents[i].payload_bytes);
		}
		requests++;
	}
	struct store_stats st;
	store_stats(log, &st);
	assert_true(requests >= st.segments_count); /* one segment per request */
	/* One at a time; not past the durable index; not before the log. */
	struct store_read_req a = {.first_index = 10, .buf = buf, .buf_bytes = 4096,
				   .entries = ents, .entries_max = 4};
	struct store_read_req b = {.first_index = 20, .buf = buf + 4096, .buf_bytes = 4096,
				   .entries = ents + 32, .entries_max = 4};
	assert_int_equal(store_read_async(log, &a), 0);
	assert_int_equal(store_read_async(log, &b), -STORE_E_BUSY);
	/* Compaction keeps the segment being read. */
	store_stats(log, &st);
	uint32_t segments_before = st.segments_count;
	assert_int_equal(store_compact(log, 100, 1), 0);
	store_stats(log, &st);
	assert_int_equal(st.segments_count, segments_before);
	assert_int_equal(store_flush(log), 0);
	assert_int_equal(a.result, 4);
	assert_int_equal(ents[0].index, 10);
	b.first_index = 301;
	assert_int_equal(store_read_async(log, &b), -STORE_E_RANGE);
	b.first_index = 50;
	assert_int_equal(store_read_async(log, &b), -STORE_E_COMPACTED);
	assert_int_equal(store_compact(log, 101, 1), 0); /* now it goes */
	store_stats(log, &st);
	assert_true(st.segments_count < segments_before);
	/* A read beside a write in flight: appends and a read both complete. */
	uint8_t p[40];
	su_payload(301, 2, p, sizeof(p));
	struct store_entry e = {.index = 301, .term = 2, .payload = p, .payload_bytes = 40};
	assert_int_equal(store_append(log, &e, 1), 0);
	b.first_index = 250;
	assert_int_equal(read_async_wait(fx, log, &b), 4);
	assert_int_equal(store_flush(log), 0);
	assert_int_equal(store_durable_index(log), 301);
	/* Closing with a read in flight waits for it. */
	b.first_index = 290;
	assert_int_equal(store_read_async(log, &b), 0);
	store_close(log);
}

static void test_durability_modes(void **state)
{
	struct fixture *fx = *state;
	struct store_config cfg;
	fx_config(fx, &cfg, 4096);
	raft_index next = 1;
	for (int mode = STORE_DURABILITY_FSYNC; mode <= STORE_DURABILITY_NONE; mode++) {
		cfg.durability = (enum store_durability)mode;
		struct store_log *log = su_open(&cfg);
		assert_int_equal(store_last_index(log), next - 1);
		/* Batches that cross segment rolls: multi-extent groups. */
		su_append(log, next, 40, (raft_term)mode + 1, 150, 13);
		store_close(log);
		log = su_open(&cfg);
		assert_int_equal(store_last_index(log), next + 39);
		su_verify(log, next, next + 39, (raft_term)mode + 1, 150);
		store_close(log);
		next += 40;
	}
}

#define FOR_ENGINES(fn)                                                  \
	cmocka_unit_test_prestate_setup_teardown(fn, fx_setup, fx_teardown, \
						 &engine_pwrite),          \
	cmocka_unit_test_prestate_setup_teardown(fn, fx_setup, fx_teardown, \
						 &engine_uring),           \
	cmocka_unit_test_prestate_setup_teardown(fn, fx_setup, fx_teardown, &engine_sim)

int main(void)
{
	const struct CMUnitTest tests[] = {
		FOR_ENGINES(test_append_reopen),   FOR_ENGINES(test_segment_roll),
		FOR_ENGINES(test_truncate_suffix), FOR_ENGINES(test_compact_prefix),
		FOR_ENGINES(test_hard_state_slots), FOR_ENGINES(test_group_fsync_gathers),
		FOR_ENGINES(test_durability_modes), FOR_ENGINES(test_read_in_pieces),
		FOR_ENGINES(test_read_bounded_and_big_record),
		FOR_ENGINES(test_read_async),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
