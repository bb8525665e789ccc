/* SPDX-License-Identifier: MIT */
/*
 * Goal: the apply stage (node/apply/apply_stage.c, its side of the link) applies
 * committed entries in order and answers the client that waits for each,
 * with the value the state machine returned, and an entry it cannot take as
 * a write with a bad-request answer; serves linearizable reads only
 * once their round is confirmed and the apply reached its read index,
 * answers a failed round's reads with its status, serves stale reads at
 * once; answers a pipelining client's retransmits from its session's
 * window (the first status, exactly once; a lost request applied once; a
 * retry older than the window bad_request); and when the reply ring is
 * full it stops, keeps its place and goes on once control took the
 * replies: nothing is lost, nothing reordered.
 * Method: a payload ring and a state machine as the daemon sizes them, the
 * stage polled by the test thread, the test playing control on both rings
 * (records in, replies out, arena tail moved as a sender would).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "apply/apply_stage.h"
#include "clock.h"

struct fixture {
	struct node_payloads payloads;
	struct node_kv *kv;
	struct node_apply_link link;
	struct node_apply_stage as;
	raft_index last;
};

static struct fixture *fixture_open_window(uint32_t value_bytes_max, uint32_t session_window)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(node_payloads_init(&f->payloads, 1u << 14, 16u << 20), 0);
	node_payloads_reset(&f->payloads, 0);
	struct node_kv_config kc;
	node_kv_config_default(&kc);
	kc.value_bytes_max = value_bytes_max;
	kc.keys_max = 1024;
	kc.session_window = session_window;
	assert_int_equal(node_kv_create(&kc, &f->kv), 0);
	assert_int_equal(node_apply_stage_init(&f->as, &f->link, f->kv, &f->payloads,
					       kc.value_bytes_max),
			 0); /* the stage owns the state machine from here */
	return f;
}

static struct fixture *fixture_open(uint32_t value_bytes_max)
{
	struct node_kv_config kc;
	node_kv_config_default(&kc);
	return fixture_open_window(value_bytes_max, kc.session_window);
}

static void fixture_close(struct fixture *f)
{
	node_apply_stage_fini(&f->as); /* and its state machine */
	node_payloads_fini(&f->payloads);
	free(f);
}

/* The next entry's slot, `bytes` long, proposed by this node for client
 * `seq`; the caller fills its bytes, then node_payloads_set. */
static struct node_slot slot_next(struct fixture *f, uint32_t bytes, uint64_t seq)
{
	struct node_slot s = {.index = ++f->last, .term = 1, .bytes = bytes,
			      .type = RAFT_ENTRY_NORMAL, .client_waits = true, .client_id = 7,
			      .client_seq = seq};
	s.client.src_port = (uint16_t)seq; /* where the reply goes: checked below */
	s.offset = node_payloads_alloc(&f->payloads, bytes);
	assert_true(s.offset != UINT64_MAX);
	return s;
}

/* A client's write as control puts it in the payload ring (the request
 * body as the wire carries it), proposed by this node for client `seq`. */
static void put_write(struct fixture *f, uint8_t op, const char *key, const char *value,
		      const char *expect, uint64_t seq)
{
	struct dp_client_request req = {
		.client_id = 7, .request_seq = seq, .op = op, .key = (const uint8_t *)key,
		.key_bytes = (uint32_t)strlen(key), .value = (const uint8_t *)value,
		.value_bytes = value != NULL ? (uint32_t)strlen(value) : 0,
		.expect = (const uint8_t *)expect,
		.expect_bytes = expect != NULL ? (uint32_t)strlen(expect) : 0};
	uint32_t bytes = DP_CLIENT_REQUEST_FIXED_BYTES + req.key_bytes + req.value_bytes +
			 req.expect_bytes;
	struct node_slot s = slot_next(f, bytes, seq);
	assert_int_equal(dp_wire_request_body(&req, node_payloads_at(&f->payloads, s.offset), bytes),
			 (int)bytes);
	node_payloads_set(&f->payloads, &s);
}

/* An entry of any bytes (a body that may not decode) for client `seq`. */
static void put_raw(struct fixture *f, const uint8_t *body, uint32_t bytes, uint64_t seq)
{
	struct node_slot s = slot_next(f, bytes, seq);
	memcpy(node_payloads_at(&f->payloads, s.offset), body, bytes);
	node_payloads_set(&f->payloads, &s);
}

static void push(struct fixture *f, const struct node_apply_in *in)
{
	assert_int_equal(dp_ring_push_elems(&f->link.in, in, 1), 1);
}

static void commit(struct fixture *f, raft_index index)
{
	struct node_apply_in in = {.kind = NODE_APPLY_COMMIT, .index = index};
	push(f, &in);
}

static void read_req(struct fixture *f, uint8_t kind, const char *key, uint64_t round,
		     uint64_t seq)
{
	struct node_apply_in in = {.kind = kind, .key_bytes = (uint16_t)strlen(key),
				   .round = round, .client_id = 9, .client_seq = seq,
				   .rx_ns = node_now_ns()};
	in.client.src_port = (uint16_t)seq;
	memcpy(in.key, key, in.key_bytes);
	push(f, &in);
}

/* Takes one reply as control would (and frees its arena bytes). */
static bool take(struct fixture *f, struct node_apply_out *o, char *value, size_t value_bytes)
{
	if (dp_ring_pop_elems(&f->link.out, o, 1) != 1) {
		return false;
	}
	value[0] = '\0';
	if (o->value_bytes > 0) {
		assert_true(o->value_bytes < value_bytes);
		memcpy(value, f->link.arena + o->value_off % f->link.arena_bytes, o->value_bytes);
		value[o->value_bytes] = '\0';
		__atomic_store_n(&f->link.arena_tail, o->value_off + o->value_bytes,
				 __ATOMIC_RELEASE);
	}
	return true;
}

static void expect_reply(struct fixture *f, uint64_t seq, uint8_t status, const char *value)
{
	struct node_apply_out o;
	char got[2048];
	assert_true(take(f, &o, got, sizeof(got)));
	assert_int_equal(o.client_seq, seq);
	assert_int_equal(o.client.src_port, (uint16_t)seq);
	assert_int_equal(o.status, status);
	assert_string_equal(got, value);
}

static void expect_no_reply(struct fixture *f)
{
	struct node_apply_out o;
	char got[2048];
	assert_false(take(f, &o, got, sizeof(got)));
}

static void test_commits_apply_in_order_and_reply(void **state)
{
	(void)state;
	struct fixture *f = fixture_open(1024);
	put_write(f, DP_CLIENT_PUT, "a", "1", NULL, 1);
	put_write(f, DP_CLIENT_PUT, "b", "2", NULL, 2);
	put_write(f, DP_CLIENT_CAS, "a", "3", "9", 3); /* mismatch: the current value */
	put_write(f, DP_CLIENT_CAS, "a", "3", "1", 4);
	put_write(f, DP_CLIENT_DELETE, "b", NULL, NULL, 5);
	/* Only what is committed is applied. */
	commit(f, 2);
	node_apply_stage_poll(&f->as);
	assert_int_equal(__atomic_load_n(&f->link.applied_published, __ATOMIC_ACQUIRE), 2);
	expect_reply(f, 1, DP_CLIENT_OK, "");
	expect_reply(f, 2, DP_CLIENT_OK, "");
	expect_no_reply(f);
	commit(f, 5);
	node_apply_stage_poll(&f->as);
	assert_int_equal(__atomic_load_n(&f->link.applied_published, __ATOMIC_ACQUIRE), 5);
	expect_reply(f, 3, DP_CLIENT_CAS_FAILED, "1");
	expect_reply(f, 4, DP_CLIENT_OK, "");
	expect_reply(f, 5, DP_CLIENT_OK, "");
	assert_int_equal(__atomic_load_n(&f->link.keys_published, __ATOMIC_RELAXED), 1);
	assert_int_equal(__atomic_load_n(&f->link.digest_published, __ATOMIC_RELAXED),
			 node_kv_digest(f->kv));
	fixture_close(f);
}

static void test_reads_wait_for_round_and_apply(void **state)
{
	(void)state;
	struct fixture *f = fixture_open(1024);
	put_write(f, DP_CLIENT_PUT, "k", "old", NULL, 1);
	put_write(f, DP_CLIENT_PUT, "k", "new", NULL, 2);
	commit(f, 1);
	node_apply_stage_poll(&f->as);
	expect_reply(f, 1, DP_CLIENT_OK, "");
	/* A stale read: now, the applied state. */
	read_req(f, NODE_APPLY_STALE_GET, "k", 0, 10);
	/* Linearizable reads of round 4, and one of round 5. */
	read_req(f, NODE_APPLY_READ, "k", 4, 11);
	read_req(f, NODE_APPLY_READ, "nope", 4, 12);
	read_req(f, NODE_APPLY_READ, "k", 5, 13);
	node_apply_stage_poll(&f->as);
	expect_reply(f, 10, DP_CLIENT_OK, "old");
	expect_no_reply(f); /* no round confirmed yet */
	/* Round 4 confirmed at index 2: the reads wait for the apply. */
	struct node_apply_in r4 = {.kind = NODE_APPLY_ROUND, .round = 4, .index = 2};
	push(f, &r4);
	node_apply_stage_poll(&f->as);
	expect_no_reply(f);
	commit(f, 2);
	node_apply_stage_poll(&f->as);
	expect_reply(f, 2, DP_CLIENT_OK, "");
	expect_reply(f, 11, DP_CLIENT_OK, "new");
	expect_reply(f, 12, DP_CLIENT_NOT_FOUND, "");
	expect_no_reply(f);
	/* Round 5 failed (no quorum): its read gets the round's status. */
	struct node_apply_in r5 = {.kind = NODE_APPLY_ROUND, .round = 5,
				   .fail_status = DP_CLIENT_RETRY};
	push(f, &r5);
	node_apply_stage_poll(&f->as);
	expect_reply(f, 13, DP_CLIENT_RETRY, "");
	assert_int_equal(f->as.reads_busy, 0);
	fixture_close(f);
}

/* A pipelining client (7, window of 4) sent 1..5; 2 was lost on the way
 * and the reply to 1 too. Its retransmits reach the log after 3, 4 and 5
 * were applied: each gets the reply a client can act on, and the state
 * takes every write once. */
static void test_pipelined_retries_answered_from_window(void **state)
{
	(void)state;
	struct fixture *f = fixture_open_window(1024, 4);
	put_write(f, DP_CLIENT_PUT, "a", "1", NULL, 1);
	put_write(f, DP_CLIENT_PUT, "b", "3", NULL, 3);
	put_write(f, DP_CLIENT_CAS, "a", "9", "x", 4); /* mismatch */
	put_write(f, DP_CLIENT_PUT, "a", "5", NULL, 5);
	commit(f, 4);
	node_apply_stage_poll(&f->as);
	expect_reply(f, 1, DP_CLIENT_OK, "");
	expect_reply(f, 3, DP_CLIENT_OK, "");
	expect_reply(f, 4, DP_CLIENT_CAS_FAILED, "1");
	expect_reply(f, 5, DP_CLIENT_OK, "");
	/* The retransmits, committed after all that. */
	put_write(f, DP_CLIENT_PUT, "a", "1", NULL, 1); /* its reply was lost: ok again */
	put_write(f, DP_CLIENT_CAS, "a", "9", "x", 4);	/* the status it had */
	put_write(f, DP_CLIENT_PUT, "b", "2", NULL, 2); /* never applied: applied now */
	put_write(f, DP_CLIENT_PUT, "b", "2", NULL, 2); /* and only once */
	/* 2's record pushed 1 out of the full window (2, 3, 4, 5 now): a
	 * retry of 1 is older than the window, so it is refused. */
	put_write(f, DP_CLIENT_PUT, "a", "1", NULL, 1);
	commit(f, 9);
	node_apply_stage_poll(&f->as);
	expect_reply(f, 1, DP_CLIENT_OK, "");
	expect_reply(f, 4, DP_CLIENT_CAS_FAILED, "");
	expect_reply(f, 2, DP_CLIENT_OK, "");
	expect_reply(f, 2, DP_CLIENT_OK, "");
	expect_reply(f, 1, DP_CLIENT_BAD_REQUEST, "");
	expect_no_reply(f);
	const uint8_t *v;
	uint32_t n;
	assert_int_equal(node_kv_get(f->kv, (const uint8_t *)"a", 1, &v, &n), NODE_KV_OK);
	assert_int_equal(n, 1);
	assert_memory_equal(v, "5", 1); /* no retry of 1 undid 5 */
	assert_int_equal(node_kv_get(f->kv, (const uint8_t *)"b", 1, &v, &n), NODE_KV_OK);
	assert_memory_equal(v, "2", 1); /* 2 applied after 3, as it reached the log */
	assert_int_equal(__atomic_load_n(&f->link.applied_published, __ATOMIC_ACQUIRE), 9);
	fixture_close(f);
}

/* Committed entries the state machine cannot take as a write (a body that
 * does not decode, a read, which never goes through the log) are answered
 * DP_CLIENT_BAD_REQUEST, in order, and change nothing but the applied
 * index; the writes around them apply. The same bytes give the same
 * answer on every node. */
static void test_malformed_entries_answered_bad_request(void **state)
{
	(void)state;
	struct fixture *f = fixture_open(1024);
	put_write(f, DP_CLIENT_PUT, "k", "1", NULL, 1);
	uint8_t body[64];
	struct dp_client_request req = {.client_id = 7, .request_seq = 2, .op = DP_CLIENT_PUT,
					.key = (const uint8_t *)"k", .key_bytes = 1,
					.value = (const uint8_t *)"2", .value_bytes = 1};
	int n = dp_wire_request_body(&req, body, sizeof(body));
	assert_true(n > 0);
	put_raw(f, body, (uint32_t)n - 1, 2); /* truncated */
	body[16] = 0x41;		      /* an op that does not exist */
	put_raw(f, body, (uint32_t)n, 3);
	put_write(f, DP_CLIENT_GET, "k", NULL, NULL, 4);
	put_write(f, DP_CLIENT_CAS, "k", "3", "1", 5);
	commit(f, 5);
	node_apply_stage_poll(&f->as);
	assert_int_equal(__atomic_load_n(&f->link.applied_published, __ATOMIC_ACQUIRE), 5);
	expect_reply(f, 1, DP_CLIENT_OK, "");
	expect_reply(f, 2, DP_CLIENT_BAD_REQUEST, "");
	expect_reply(f, 3, DP_CLIENT_BAD_REQUEST, "");
	expect_reply(f, 4, DP_CLIENT_BAD_REQUEST, "");
	expect_reply(f, 5, DP_CLIENT_OK, "");
	expect_no_reply(f);
	const uint8_t *v;
	uint32_t v_bytes;
	assert_int_equal(node_kv_get(f->kv, (const uint8_t *)"k", 1, &v, &v_bytes), NODE_KV_OK);
	assert_int_equal(v_bytes, 1);
	assert_memory_equal(v, "3", 1);
	assert_int_equal(__atomic_load_n(&f->link.keys_published, __ATOMIC_RELAXED), 1);
	fixture_close(f);
}

static void value_of(uint32_t i, char *out, uint32_t bytes)
{
	for (uint32_t k = 0; k < bytes; k++) {
		out[k] = (char)('a' + (i * 7 + k) % 26);
	}
	out[bytes] = '\0';
}

/* More replies than the out ring and the reply arena hold: the stage stops
 * with its place kept and resumes when control took some; every value
 * arrives intact across the arena's wraps. */
static void test_full_reply_ring_is_back_pressure(void **state)
{
	(void)state;
	/* Values of 8000 bytes: the 4 MiB reply arena fills after about 500
	 * replies, before the ring does. */
	struct fixture *f = fixture_open(8192);
	enum { KEYS = 600, WRITES = NODE_APPLY_OUT_MAX * 2, VALUE = 8000 };
	static char value[VALUE + 1], got[8192];
	char key[16];
	for (uint32_t i = 1; i <= WRITES; i++) {
		/* Many writes (replies without a value) to fill the ring, the
		 * last KEYS of them setting distinct keys. */
		snprintf(key, sizeof(key), "k%u", i % KEYS);
		value_of(i, value, i > WRITES - KEYS ? VALUE : 8);
		put_write(f, DP_CLIENT_PUT, key, value, NULL, i);
	}
	commit(f, WRITES);
	node_apply_stage_poll(&f->as);
	raft_index applied = __atomic_load_n(&f->link.applied_published, __ATOMIC_ACQUIRE);
	assert_true(applied < WRITES); /* stopped: the out ring is full */
	uint64_t seq = 1;
	struct node_apply_out o;
	for (int rounds = 0; seq <= WRITES; rounds++) {
		assert_true(rounds < 1000);
		while (take(f, &o, got, sizeof(got))) {
			assert_int_equal(o.client_seq, seq);
			assert_int_equal(o.status, DP_CLIENT_OK);
			seq++;
		}
		node_apply_stage_poll(&f->as);
	}
	assert_int_equal(__atomic_load_n(&f->link.applied_published, __ATOMIC_ACQUIRE), WRITES);
	/* Reads whose replies carry 8000-byte values, more than the arena
	 * holds at once. */
	for (uint32_t r = 0; r < KEYS; r++) {
		snprintf(key, sizeof(key), "k%u", r);
		read_req(f, NODE_APPLY_STALE_GET, key, 0, 100000 + r);
	}
	node_apply_stage_poll(&f->as);
	assert_true(dp_ring_count(&f->link.in) > 0); /* stopped: the arena is full */
	uint32_t r = 0;
	for (int rounds = 0; r < KEYS; rounds++) {
		assert_true(rounds < 1000);
		while (take(f, &o, got, sizeof(got))) {
			assert_int_equal(o.client_seq, 100000 + r);
			uint32_t writer = r + (WRITES / KEYS) * KEYS;
			writer = writer > WRITES ? writer - KEYS : writer;
			value_of(writer, value, VALUE);
			assert_string_equal(got, value);
			r++;
		}
		node_apply_stage_poll(&f->as);
	}
	fixture_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commits_apply_in_order_and_reply),
		cmocka_unit_test(test_reads_wait_for_round_and_apply),
		cmocka_unit_test(test_malformed_entries_answered_bad_request),
		cmocka_unit_test(test_pipelined_retries_answered_from_window),
		cmocka_unit_test(test_full_reply_ring_is_back_pressure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
