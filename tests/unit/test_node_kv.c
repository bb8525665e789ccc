/* SPDX-License-Identifier: MIT */
/*
 * Goal: the key-value state machine does what node.h promises: put, get,
 * delete and compare-and-swap; retried commands of a session are applied
 * once (exactly-once), a pipelining client's too: a retry inside the
 * session's window of recent results (after later writes of the same
 * client) gets its first status and changes nothing, a request lost and
 * retransmitted after later ones is applied once, a retry older than the
 * window is refused as stale, and a window of 1 is the old last-sequence
 * session; limits give deterministic
 * errors; malformed bytes are refused, never trusted; and the digest is a
 * function of the state alone.
 * Method: commands travel as the daemon's do: a client request body
 * encoded by the dataplane's codec (dp_wire_request_body, the bytes the log
 * keeps), decoded by dp_wire_request_body_decode and applied the way the
 * apply stage does it (node_kv_apply_request: writes through
 * node_kv_apply_command, anything else skipped and answered
 * NODE_KV_BAD_COMMAND); reads through
 * node_kv_get, the daemon's read path. A seeded random run of 200,000
 * commands against a plain reference model; two instances fed the same
 * commands must agree, and a third that only writes the final state must
 * have the same digest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane.h"
#include "node.h"

struct applier {
	struct node_kv *kv;
	raft_index index;
	uint8_t buf[4096];
};

static void applier_init(struct applier *a, const struct node_kv_config *cfg)
{
	memset(a, 0, sizeof(*a));
	assert_int_equal(node_kv_create(cfg, &a->kv), 0);
}

/* One committed entry of `bytes` (a request body), applied as the apply
 * stage applies it: node_kv_apply_request. */
static struct node_kv_result apply_body(struct applier *a, const uint8_t *bytes, size_t count)
{
	struct node_kv_result r;
	node_kv_apply_request(a->kv, ++a->index, bytes, (uint32_t)count, &r);
	return r;
}

/* A client's request as the wire carries it. */
static struct dp_client_request request(uint8_t op, uint64_t client, uint64_t seq,
					const char *key, const char *expected, const char *value)
{
	return (struct dp_client_request){
		.op = op,
		.client_id = client,
		.request_seq = seq,
		.key = (const uint8_t *)key,
		.key_bytes = (uint32_t)strlen(key),
		.expect = (const uint8_t *)expected,
		.expect_bytes = expected ? (uint32_t)strlen(expected) : 0,
		.value = (const uint8_t *)value,
		.value_bytes = value ? (uint32_t)strlen(value) : 0,
	};
}

/* A write (op: DP_CLIENT_PUT, _DELETE or _CAS), encoded, committed and
 * applied at the next index. */
static struct node_kv_result apply(struct applier *a, uint8_t op, uint64_t client, uint64_t seq,
				   const char *key, const char *expected, const char *value)
{
	struct dp_client_request req = request(op, client, seq, key, expected, value);
	int bytes = dp_wire_request_body(&req, a->buf, sizeof(a->buf));
	assert_true(bytes > 0);
	return apply_body(a, a->buf, (size_t)bytes);
}

/* A read as the daemon serves it (after ReadIndex, or stale): no index. */
static struct node_kv_result get(struct applier *a, const char *key)
{
	struct node_kv_result r = {0};
	r.status = (uint8_t)node_kv_get(a->kv, (const uint8_t *)key, (uint16_t)strlen(key),
					&r.value, &r.value_bytes);
	return r;
}

static void assert_value(struct applier *a, const char *key, const char *want)
{
	const uint8_t *v;
	uint32_t n;
	int rc = node_kv_get(a->kv, (const uint8_t *)key, (uint16_t)strlen(key), &v, &n);
	if (want == NULL) {
		assert_int_equal(rc, NODE_KV_NOT_FOUND);
		return;
	}
	assert_int_equal(rc, NODE_KV_OK);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(v, want, n);
}

static void test_put_get_del_cas(void **state)
{
	(void)state;
	struct node_kv_config cfg;
	node_kv_config_default(&cfg);
	struct applier a;
	applier_init(&a, &cfg);
	assert_int_equal(apply(&a, DP_CLIENT_PUT, 0, 0, "k", NULL, "v1").status, NODE_KV_OK);
	assert_value(&a, "k", "v1");
	struct node_kv_result r = get(&a, "k");
	assert_int_equal(r.status, NODE_KV_OK);
	assert_memory_equal(r.value, "v1", 2);
	/* A get through the log (NODE_KV_GET, read ordered with the writes):
	 * the wire sends reads around the log, so only a direct command. */
	struct node_kv_command c = {.op = NODE_KV_GET, .key = (const uint8_t *)"k",
				    .key_bytes = 1};
	r = (struct node_kv_result){0};
	node_kv_apply_command(a.kv, ++a.index, &c, &r);
	assert_int_equal(r.status, NODE_KV_OK);
	assert_int_equal(r.value_bytes, 2);
	assert_memory_equal(r.value, "v1", 2);
	assert_int_equal(apply(&a, DP_CLIENT_CAS, 0, 0, "k", "nope", "v2").status,
			 NODE_KV_CAS_MISMATCH);
	assert_value(&a, "k", "v1");
	assert_int_equal(apply(&a, DP_CLIENT_CAS, 0, 0, "k", "v1", "v2").status, NODE_KV_OK);
	assert_value(&a, "k", "v2");
	assert_int_equal(apply(&a, DP_CLIENT_CAS, 0, 0, "missing", "x", "y").status,
			 NODE_KV_NOT_FOUND);
	assert_int_equal(apply(&a, DP_CLIENT_DELETE, 0, 0, "k", NULL, NULL).status, NODE_KV_OK);
	assert_value(&a, "k", NULL);
	assert_int_equal(apply(&a, DP_CLIENT_DELETE, 0, 0, "k", NULL, NULL).status,
			 NODE_KV_NOT_FOUND);
	assert_int_equal(node_kv_keys_count(a.kv), 0);
	assert_int_equal(node_kv_digest(a.kv), 0); /* empty state, empty digest */
	assert_int_equal(node_kv_applied_index(a.kv), a.index);
	node_kv_destroy(a.kv);
}

static void test_sessions_exactly_once(void **state)
{
	(void)state;
	struct node_kv_config cfg;
	node_kv_config_default(&cfg);
	struct applier a;
	applier_init(&a, &cfg);
	apply(&a, DP_CLIENT_PUT, 0, 0, "k", NULL, "a");
	/* Client 7's cas a->b, then its retry (a lost reply): applied once,
	 * the retry answered "ok" as the first time, not "mismatch". */
	assert_int_equal(apply(&a, DP_CLIENT_CAS, 7, 1, "k", "a", "b").status, NODE_KV_OK);
	struct node_kv_result r = apply(&a, DP_CLIENT_CAS, 7, 1, "k", "a", "b");
	assert_int_equal(r.status, NODE_KV_OK);
	assert_true(r.duplicate);
	assert_value(&a, "k", "b");
	/* Another client changes it; client 7's late retry must not undo it. */
	apply(&a, DP_CLIENT_PUT, 8, 1, "k", NULL, "c");
	r = apply(&a, DP_CLIENT_CAS, 7, 1, "k", "a", "b");
	assert_true(r.duplicate);
	assert_value(&a, "k", "c");
	/* A later write of client 7, then a late retry of its first: still
	 * in the session's window, a duplicate (test_window_* below). */
	assert_int_equal(apply(&a, DP_CLIENT_PUT, 7, 2, "k", NULL, "d").status, NODE_KV_OK);
	r = apply(&a, DP_CLIENT_CAS, 7, 1, "k", "a", "b");
	assert_int_equal(r.status, NODE_KV_OK);
	assert_true(r.duplicate);
	assert_value(&a, "k", "d");
	/* Client 0 has no session: the same command twice applies twice. */
	assert_int_equal(apply(&a, DP_CLIENT_CAS, 0, 5, "k", "d", "f").status, NODE_KV_OK);
	assert_int_equal(apply(&a, DP_CLIENT_CAS, 0, 5, "k", "d", "f").status,
			 NODE_KV_CAS_MISMATCH);
	node_kv_destroy(a.kv);
}

static void test_session_eviction_least_recent(void **state)
{
	(void)state;
	struct node_kv_config cfg;
	node_kv_config_default(&cfg);
	cfg.clients_max = 2;
	struct applier a;
	applier_init(&a, &cfg);
	apply(&a, DP_CLIENT_PUT, 1, 1, "x", NULL, "1");
	apply(&a, DP_CLIENT_PUT, 2, 1, "y", NULL, "1");
	apply(&a, DP_CLIENT_PUT, 1, 2, "x", NULL, "2"); /* client 1 used last */
	apply(&a, DP_CLIENT_PUT, 3, 1, "z", NULL, "1"); /* evicts client 2 */
	assert_true(apply(&a, DP_CLIENT_PUT, 1, 2, "x", NULL, "2").duplicate);
	assert_true(apply(&a, DP_CLIENT_PUT, 3, 1, "z", NULL, "1").duplicate);
	/* Client 2 was forgotten: its retry is a new command (the limit). */
	assert_false(apply(&a, DP_CLIENT_PUT, 2, 1, "y", NULL, "1").duplicate);
	node_kv_destroy(a.kv);
}

static void test_limits_are_deterministic_errors(void **state)
{
	(void)state;
	struct node_kv_config cfg = {.keys_max = 3, .key_bytes_max = 4, .value_bytes_max = 8,
				     .clients_max = 4, .session_window = 2};
	struct applier a;
	applier_init(&a, &cfg);
	assert_int_equal(apply(&a, DP_CLIENT_PUT, 0, 0, "a", NULL, "1").status, NODE_KV_OK);
	assert_int_equal(apply(&a, DP_CLIENT_PUT, 0, 0, "b", NULL, "1").status, NODE_KV_OK);
	assert_int_equal(apply(&a, DP_CLIENT_PUT, 0, 0, "c", NULL, "1").status, NODE_KV_OK);
	assert_int_equal(apply(&a, DP_CLIENT_PUT, 0, 0, "d", NULL, "1").status, NODE_KV_FULL);
	assert_int_equal(apply(&a, DP_CLIENT_PUT, 0, 0, "a", NULL, "2").status, NODE_KV_OK);
	assert_int_equal(apply(&a, DP_CLIENT_DELETE, 0, 0, "b", NULL, NULL).status, NODE_KV_OK);
	assert_int_equal(apply(&a, DP_CLIENT_PUT, 0, 0, "d", NULL, "1").status, NODE_KV_OK);
	assert_int_equal(apply(&a, DP_CLIENT_PUT, 0, 0, "toolong", NULL, "1").status,
			 NODE_KV_TOO_BIG);
	assert_int_equal(apply(&a, DP_CLIENT_PUT, 0, 0, "a", NULL, "123456789").status,
			 NODE_KV_TOO_BIG);
	assert_value(&a, "a", "2");
	assert_true(node_kv_memory_bytes(&cfg) > 3 * (4 + 8));
	struct node_kv *bad = NULL;
	/* The windows are part of the memory: clients x window x 9 bytes. */
	struct node_kv_config wider = cfg;
	wider.session_window = 3;
	assert_int_equal(node_kv_memory_bytes(&wider) - node_kv_memory_bytes(&cfg), 4 * 9);
	/* A window of 0 (no session could answer a retry), beyond its limit,
	 * or windows beyond their total: refused, as a bad key count is. */
	wider.session_window = 0;
	assert_int_equal(node_kv_create(&wider, &bad), -EINVAL);
	wider.session_window = NODE_KV_SESSION_WINDOW_LIMIT + 1;
	assert_int_equal(node_kv_create(&wider, &bad), -EINVAL);
	wider.session_window = NODE_KV_SESSION_WINDOW_LIMIT;
	wider.clients_max = NODE_KV_CLIENTS_LIMIT;
	assert_int_equal(node_kv_create(&wider, &bad), -EINVAL);
	assert_null(bad);
	cfg.keys_max = 0;
	assert_int_equal(node_kv_create(&cfg, &bad), -EINVAL);
	node_kv_destroy(a.kv);
}

/* `bytes` does not decode, and committing it changes nothing but the
 * applied index: the answer is NODE_KV_BAD_COMMAND. */
static void expect_refused(struct applier *a, const uint8_t *bytes, size_t count)
{
	struct dp_client_request back;
	assert_int_equal(dp_wire_request_body_decode(bytes, count, &back), -DP_ERR_BAD_BODY);
	uint64_t digest = node_kv_digest(a->kv);
	uint32_t keys = node_kv_keys_count(a->kv);
	struct node_kv_result r = apply_body(a, bytes, count);
	assert_int_equal(r.status, NODE_KV_BAD_COMMAND);
	assert_int_equal(node_kv_applied_index(a->kv), a->index);
	assert_int_equal(node_kv_digest(a->kv), digest);
	assert_int_equal(node_kv_keys_count(a->kv), keys);
}

static void test_malformed_commands_refused(void **state)
{
	(void)state;
	struct node_kv_config cfg;
	node_kv_config_default(&cfg);
	struct applier a;
	applier_init(&a, &cfg);
	apply(&a, DP_CLIENT_PUT, 0, 0, "key", NULL, "old"); /* a refused command leaves it */
	uint8_t good[64];
	struct dp_client_request req = request(DP_CLIENT_PUT, 1, 1, "key", NULL, "value");
	int n = dp_wire_request_body(&req, good, sizeof(good));
	assert_int_equal(n, DP_CLIENT_REQUEST_FIXED_BYTES + 3 + 5);
	struct dp_client_request back;
	assert_int_equal(dp_wire_request_body_decode(good, (size_t)n, &back), 0);
	assert_memory_equal(back.value, "value", 5);
	/* Every truncation, every extension, and a flip of each header byte
	 * that carries a rule (op, flags, the two zero bytes, each length):
	 * refused, and applying them changes nothing. */
	uint8_t bad[80];
	for (int len = 0; len < n + 8; len++) {
		if (len == n) {
			continue;
		}
		memset(bad, 0, sizeof(bad));
		memcpy(bad, good, (size_t)(len < n ? len : n));
		expect_refused(&a, bad, (size_t)len);
	}
	static const size_t rule_bytes[] = {16, 17, 18, 19, 20, 21, 24, 28};
	for (size_t i = 0; i < sizeof(rule_bytes) / sizeof(rule_bytes[0]); i++) {
		memcpy(bad, good, (size_t)n);
		bad[rule_bytes[i]] ^= 0x40;
		expect_refused(&a, bad, (size_t)n);
	}
	/* Lengths near 2^32 must not wrap the size check. */
	memcpy(bad, good, (size_t)n);
	bad[24] = bad[25] = bad[26] = bad[27] = 0xff;
	expect_refused(&a, bad, (size_t)n);
	/* Shapes: a delete with a value, a put with an expected value. The
	 * encoder writes what it is given; the decoder refuses them. */
	struct dp_client_request shape = request(DP_CLIENT_DELETE, 1, 1, "key", NULL, "value");
	expect_refused(&a, bad, (size_t)dp_wire_request_body(&shape, bad, sizeof(bad)));
	shape = request(DP_CLIENT_PUT, 1, 1, "key", "old", "value");
	expect_refused(&a, bad, (size_t)dp_wire_request_body(&shape, bad, sizeof(bad)));
	/* Well-formed requests that are no write (reads, status and transfer
	 * never go through the log): not applied, answered the same way. */
	static const uint8_t no_writes[] = {DP_CLIENT_GET, DP_CLIENT_GET_STALE, DP_CLIENT_STATUS,
					    DP_CLIENT_TRANSFER};
	for (size_t i = 0; i < sizeof(no_writes); i++) {
		shape = request(no_writes[i], 1, 1, "key", NULL,
				no_writes[i] == DP_CLIENT_TRANSFER ? "2222" : NULL);
		int m = dp_wire_request_body(&shape, bad, sizeof(bad));
		assert_int_equal(dp_wire_request_body_decode(bad, (size_t)m, &back), 0);
		assert_int_equal(apply_body(&a, bad, (size_t)m).status, NODE_KV_BAD_COMMAND);
		assert_int_equal(node_kv_applied_index(a.kv), a.index);
	}
	assert_int_equal(node_kv_keys_count(a.kv), 1);
	assert_value(&a, "key", "old");
	/* No room: the encoder refuses. */
	assert_int_equal(dp_wire_request_body(&req, bad, 10), -DP_ERR_TOO_BIG);
	/* None of the refused ones opened client 1's session: its first
	 * command is new, not a duplicate. */
	struct node_kv_result r = apply_body(&a, good, (size_t)n);
	assert_int_equal(r.status, NODE_KV_OK);
	assert_false(r.duplicate);
	assert_value(&a, "key", "value");
	node_kv_destroy(a.kv);
}

/* ---- the window of recent results per session ------------------------- */

/* The default configuration with a window of `width` results. */
static void window_applier(struct applier *a, uint32_t width, uint32_t clients_max)
{
	struct node_kv_config cfg;
	node_kv_config_default(&cfg);
	cfg.keys_max = 64;
	cfg.clients_max = clients_max;
	cfg.session_window = width;
	applier_init(a, &cfg);
}

/* A client's sequence numbers as the client library makes them: (submit
 * counter << 20) | table slot. They only grow, with gaps. */
static uint64_t cseq(uint64_t counter, uint64_t slot)
{
	return counter << 20 | slot;
}

/* Applies a retry that must be a duplicate answered `status`, and checks
 * that it changed nothing but the applied index. */
static void expect_duplicate(struct applier *a, uint8_t op, uint64_t client, uint64_t seq,
			     const char *key, const char *expected, const char *value,
			     uint8_t status)
{
	uint64_t digest = node_kv_digest(a->kv);
	uint32_t keys = node_kv_keys_count(a->kv);
	struct node_kv_result r = apply(a, op, client, seq, key, expected, value);
	assert_int_equal(r.status, status);
	assert_true(r.duplicate);
	assert_int_equal(node_kv_digest(a->kv), digest);
	assert_int_equal(node_kv_keys_count(a->kv), keys);
	assert_int_equal(node_kv_applied_index(a->kv), a->index);
}

/* Applies a late request that must be refused as stale, changing nothing. */
static void expect_stale(struct applier *a, uint64_t client, uint64_t seq, const char *key)
{
	uint64_t digest = node_kv_digest(a->kv);
	struct node_kv_result r = apply(a, DP_CLIENT_PUT, client, seq, key, NULL, "late");
	assert_int_equal(r.status, NODE_KV_STALE);
	assert_false(r.duplicate);
	assert_int_equal(node_kv_digest(a->kv), digest);
	assert_int_equal(node_kv_applied_index(a->kv), a->index);
}

/* A pipelining client's retransmits arrive after its later writes were
 * applied: each is answered with the status it was first applied with
 * (ok, cas mismatch, not found), and the state stays as it is. */
static void test_window_retry_after_later_writes(void **state)
{
	(void)state;
	struct applier a;
	window_applier(&a, 4, 16);
	assert_int_equal(apply(&a, DP_CLIENT_PUT, 7, cseq(1, 0), "k", NULL, "a").status,
			 NODE_KV_OK);
	assert_int_equal(apply(&a, DP_CLIENT_CAS, 7, cseq(2, 1), "k", "a", "b").status,
			 NODE_KV_OK);
	assert_int_equal(apply(&a, DP_CLIENT_CAS, 7, cseq(3, 2), "k", "a", "c").status,
			 NODE_KV_CAS_MISMATCH);
	assert_int_equal(apply(&a, DP_CLIENT_DELETE, 7, cseq(4, 3), "gone", NULL, NULL).status,
			 NODE_KV_NOT_FOUND);
	apply(&a, DP_CLIENT_PUT, 8, 1, "k", NULL, "z"); /* another client's write */
	/* Oldest first, newest last, and one twice: all in the window. */
	expect_duplicate(&a, DP_CLIENT_PUT, 7, cseq(1, 0), "k", NULL, "a", NODE_KV_OK);
	expect_duplicate(&a, DP_CLIENT_CAS, 7, cseq(3, 2), "k", "a", "c", NODE_KV_CAS_MISMATCH);
	expect_duplicate(&a, DP_CLIENT_CAS, 7, cseq(2, 1), "k", "a", "b", NODE_KV_OK);
	expect_duplicate(&a, DP_CLIENT_DELETE, 7, cseq(4, 3), "gone", NULL, NULL,
			 NODE_KV_NOT_FOUND);
	expect_duplicate(&a, DP_CLIENT_CAS, 7, cseq(2, 1), "k", "a", "b", NODE_KV_OK);
	assert_value(&a, "k", "z"); /* no retry undid client 8's write */
	/* The client goes on: its next request is new. */
	assert_false(apply(&a, DP_CLIENT_PUT, 7, cseq(5, 0), "k", NULL, "y").duplicate);
	assert_value(&a, "k", "y");
	node_kv_destroy(a.kv);
}

/* A request lost on the way while later ones of the same client were
 * applied: its retransmit is inside the window's span and was never
 * applied, so it is applied, once; further retransmits are duplicates. */
static void test_window_lost_request_applied_once(void **state)
{
	(void)state;
	struct applier a;
	window_applier(&a, 4, 16);
	/* Submitted 1, 2, 3; 2 lost: 1 and 3 applied. */
	apply(&a, DP_CLIENT_PUT, 7, cseq(1, 0), "a", NULL, "1");
	apply(&a, DP_CLIENT_PUT, 7, cseq(3, 2), "c", NULL, "3");
	struct node_kv_result r = apply(&a, DP_CLIENT_PUT, 7, cseq(2, 1), "b", NULL, "2");
	assert_int_equal(r.status, NODE_KV_OK);
	assert_false(r.duplicate);
	assert_value(&a, "b", "2");
	apply(&a, DP_CLIENT_PUT, 8, 1, "b", NULL, "other"); /* another client writes b */
	expect_duplicate(&a, DP_CLIENT_PUT, 7, cseq(2, 1), "b", NULL, "2", NODE_KV_OK);
	expect_duplicate(&a, DP_CLIENT_PUT, 7, cseq(3, 2), "c", NULL, "3", NODE_KV_OK);
	assert_value(&a, "b", "other");
	/* A full window (1, 2, 3, 4 -> 5 pushes 1 out: 2, 3, 4, 5), and 4.5
	 * lost: inside the span, applied; the oldest (2) leaves for it. */
	apply(&a, DP_CLIENT_PUT, 7, cseq(4, 3), "d", NULL, "4");
	apply(&a, DP_CLIENT_PUT, 7, cseq(6, 5), "f", NULL, "6");
	expect_stale(&a, 7, cseq(1, 0), "a");
	r = apply(&a, DP_CLIENT_PUT, 7, cseq(5, 4), "e", NULL, "5");
	assert_int_equal(r.status, NODE_KV_OK);
	assert_false(r.duplicate);
	assert_value(&a, "e", "5");
	expect_stale(&a, 7, cseq(2, 1), "b"); /* pushed out by 5's record */
	expect_duplicate(&a, DP_CLIENT_PUT, 7, cseq(3, 2), "c", NULL, "3", NODE_KV_OK);
	expect_duplicate(&a, DP_CLIENT_PUT, 7, cseq(5, 4), "e", NULL, "5", NODE_KV_OK);
	expect_duplicate(&a, DP_CLIENT_PUT, 7, cseq(6, 5), "f", NULL, "6", NODE_KV_OK);
	assert_value(&a, "b", "other");
	node_kv_destroy(a.kv);
}

/* Older than the window's span: applied or not, the session can no
 * longer tell, so the retry is refused (stale), never applied twice. */
static void test_window_older_than_span_stale(void **state)
{
	(void)state;
	struct applier a;
	window_applier(&a, 4, 16);
	for (uint64_t n = 1; n <= 6; n++) {
		assert_false(apply(&a, DP_CLIENT_PUT, 7, cseq(n, 0), "k", NULL, "v").duplicate);
	}
	apply(&a, DP_CLIENT_PUT, 8, 1, "k", NULL, "x");
	expect_stale(&a, 7, cseq(2, 0), "k"); /* the window holds 3..6 */
	expect_stale(&a, 7, cseq(1, 0), "k");
	expect_stale(&a, 7, cseq(2, 9), "k"); /* any slot: below the span */
	expect_duplicate(&a, DP_CLIENT_PUT, 7, cseq(3, 0), "k", NULL, "v", NODE_KV_OK);
	assert_value(&a, "k", "x");
	/* A session's first request opens its window; an earlier one that
	 * arrives after it is below the span too. */
	apply(&a, DP_CLIENT_PUT, 9, cseq(5, 0), "m", NULL, "5");
	expect_stale(&a, 9, cseq(4, 0), "m");
	node_kv_destroy(a.kv);
}

/* Sessions still go least recently used first, and a session that takes
 * an evicted one's place starts with an empty window of its own. */
static void test_window_eviction(void **state)
{
	(void)state;
	struct applier a;
	window_applier(&a, 4, 2);
	apply(&a, DP_CLIENT_PUT, 1, 10, "x", NULL, "1");
	apply(&a, DP_CLIENT_PUT, 2, 50, "y", NULL, "1");
	apply(&a, DP_CLIENT_PUT, 1, 20, "x", NULL, "2"); /* client 1 used last */
	apply(&a, DP_CLIENT_PUT, 3, 90, "z", NULL, "1"); /* evicts client 2 */
	/* Client 3 took client 2's place: 50 is below its own window (90),
	 * not a duplicate of client 2's 50. */
	expect_stale(&a, 3, 50, "z");
	expect_duplicate(&a, DP_CLIENT_PUT, 1, 10, "x", NULL, "1", NODE_KV_OK);
	expect_duplicate(&a, DP_CLIENT_PUT, 3, 90, "z", NULL, "1", NODE_KV_OK);
	/* Client 2 was forgotten: its retry is a new command (the limit). */
	assert_false(apply(&a, DP_CLIENT_PUT, 2, 50, "y", NULL, "1").duplicate);
	node_kv_destroy(a.kv);
}

/* A window of 1 is the session of before: the last command alone. */
static void test_window_width_one(void **state)
{
	(void)state;
	struct applier a;
	window_applier(&a, 1, 16);
	assert_int_equal(apply(&a, DP_CLIENT_PUT, 7, 1, "k", NULL, "d").status, NODE_KV_OK);
	expect_duplicate(&a, DP_CLIENT_PUT, 7, 1, "k", NULL, "d", NODE_KV_OK);
	assert_int_equal(apply(&a, DP_CLIENT_PUT, 7, 2, "k", NULL, "e").status, NODE_KV_OK);
	expect_stale(&a, 7, 1, "k");
	/* 3 lost, 4 applied: 3's retransmit is refused although it never was
	 * applied (the reason for a wider window). */
	apply(&a, DP_CLIENT_PUT, 7, 4, "k", NULL, "f");
	expect_stale(&a, 7, 3, "k");
	expect_duplicate(&a, DP_CLIENT_PUT, 7, 4, "k", NULL, "f", NODE_KV_OK);
	assert_value(&a, "k", "f");
	node_kv_destroy(a.kv);
}

/* splitmix64 */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#define MODEL_KEYS 48

static void test_random_against_model(void **state)
{
	(void)state;
	struct node_kv_config cfg = {.keys_max = 32, .key_bytes_max = 8, .value_bytes_max = 16,
				     .clients_max = 8, .session_window = 1};
	struct applier a, b;
	applier_init(&a, &cfg);
	applier_init(&b, &cfg);
	char model[MODEL_KEYS][17];
	bool present[MODEL_KEYS] = {0};
	uint32_t live = 0;
	uint64_t seed = 42;
	for (int step = 0; step < 200000; step++) {
		int k = (int)(rnd(&seed) % MODEL_KEYS);
		char key[9], val[17], exp[17];
		snprintf(key, sizeof(key), "k%d", k);
		snprintf(val, sizeof(val), "v%llu", (unsigned long long)(rnd(&seed) % 1000));
		/* enum dp_client_op 1..4: put, get, delete, cas */
		uint8_t op = (uint8_t)(1 + rnd(&seed) % 4);
		bool use_current = present[k] && rnd(&seed) % 2;
		snprintf(exp, sizeof(exp), "%s", use_current ? model[k] : "v-none");
		const char *e = op == DP_CLIENT_CAS ? exp : NULL;
		const char *v = op == DP_CLIENT_PUT || op == DP_CLIENT_CAS ? val : NULL;
		struct node_kv_result r, r2;
		if (op == DP_CLIENT_GET) {
			r = get(&a, key);
			r2 = get(&b, key);
		} else {
			r = apply(&a, op, 0, 0, key, e, v);
			r2 = apply(&b, op, 0, 0, key, e, v);
		}
		assert_int_equal(r.status, r2.status);
		uint8_t want;
		switch (op) {
		case DP_CLIENT_PUT:
			want = present[k] || live < cfg.keys_max ? NODE_KV_OK : NODE_KV_FULL;
			if (want == NODE_KV_OK) {
				live += !present[k];
				present[k] = true;
				snprintf(model[k], sizeof(model[k]), "%s", val);
			}
			break;
		case DP_CLIENT_GET:
			want = present[k] ? NODE_KV_OK : NODE_KV_NOT_FOUND;
			if (present[k]) {
				assert_int_equal(r.value_bytes, strlen(model[k]));
				assert_memory_equal(r.value, model[k], r.value_bytes);
			}
			break;
		case DP_CLIENT_DELETE:
			want = present[k] ? NODE_KV_OK : NODE_KV_NOT_FOUND;
			live -= present[k];
			present[k] = false;
			break;
		default:
			want = !present[k] ? NODE_KV_NOT_FOUND
			       : strcmp(model[k], exp) == 0 ? NODE_KV_OK
							     : NODE_KV_CAS_MISMATCH;
			if (want == NODE_KV_OK) {
				snprintf(model[k], sizeof(model[k]), "%s", val);
			}
			break;
		}
		if (r.status != want) {
			fail_msg("step %d: op %u key %s: status %u, model says %u", step, op, key,
				 r.status, want);
		}
	}
	/* Final state equal to the model; digests agree, and equal those of a
	 * fresh instance that just writes the final state (in another order). */
	struct applier c;
	applier_init(&c, &cfg);
	for (int k = MODEL_KEYS - 1; k >= 0; k--) {
		char key[9];
		snprintf(key, sizeof(key), "k%d", k);
		assert_value(&a, key, present[k] ? model[k] : NULL);
		if (present[k]) {
			apply(&c, DP_CLIENT_PUT, 0, 0, key, NULL, model[k]);
		}
	}
	assert_int_equal(node_kv_keys_count(a.kv), live);
	assert_int_equal(node_kv_digest(a.kv), node_kv_digest(b.kv));
	assert_int_equal(node_kv_digest(a.kv), node_kv_digest(c.kv));
	assert_true(live == 0 || node_kv_digest(a.kv) != 0);
	node_kv_destroy(a.kv);
	node_kv_destroy(b.kv);
	node_kv_destroy(c.kv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_del_cas),
		cmocka_unit_test(test_sessions_exactly_once),
		cmocka_unit_test(test_session_eviction_least_recent),
		cmocka_unit_test(test_limits_are_deterministic_errors),
		cmocka_unit_test(test_malformed_commands_refused),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_window_retry_after_later_writes),
		cmocka_unit_test(test_window_lost_request_applied_once),
		cmocka_unit_test(test_window_older_than_span_stale),
		cmocka_unit_test(test_window_eviction),
		cmocka_unit_test(test_window_width_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
