/* SPDX-License-Identifier: MIT */
/*
 * test_client.c - the client library (client/, rn_client.h) against fake
 * nodes.
 *
 * Goal: every promise of rn_client.h that a node's answers drive: replies
 * matched to requests, REDIRECT followed, RETRY backed off, a lost request
 * retransmitted with the SAME sequence number (what makes it exactly-once
 * on the node), a reply sealed with another secret dropped and counted, the
 * deadline kept, the async table (100 requests in flight, E_FULL at
 * inflight_max), and batching: the requests queued before a poll leave in
 * one datagram per node (counted by the fake nodes), their replies come
 * back many per datagram, a retransmit is packed with the others.
 * Configuration loading: test_client_config.c.
 * Method: each fake node (client_fake_node.c) is a thread with a UDP socket
 * on 127.0.0.1 that decodes requests with the real wire codec and answers
 * with sealed replies by a script, recording what it received.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_fake_node.h"

#define MS_NS 1000000ull

static struct rn_client *open_client(struct fake_node *const *nodes, uint32_t count,
				     struct rn_client_config *cfg_out)
{
	struct rn_client_config cfg;
	fake_client_config(&cfg, nodes, count);
	if (cfg_out != NULL) {
		/* The caller's changes on top of the defaults. */
		cfg.timeout_ms = cfg_out->timeout_ms != 0 ? cfg_out->timeout_ms : cfg.timeout_ms;
		cfg.deadline_ms = cfg_out->deadline_ms != 0 ? cfg_out->deadline_ms : cfg.deadline_ms;
		cfg.inflight_max = cfg_out->inflight_max;
		cfg.frame_bytes_max = cfg_out->frame_bytes_max != 0 ? cfg_out->frame_bytes_max
								    : cfg.frame_bytes_max;
	}
	struct rn_client *c = NULL;
	assert_int_equal(rn_client_open(&cfg, &c), 0);
	assert_non_null(c);
	return c;
}

static void test_put_get_ok(void **state)
{
	(void)state;
	struct fake_node f;
	fake_node_start(&f, 1, FAKE_KV);
	struct fake_node *nodes[] = {&f};
	struct rn_client *c = open_client(nodes, 1, NULL);
	struct rn_client_result res;

	assert_int_equal(rn_client_put(c, "k", 1, "v1", 2, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_OK);
	assert_int_equal(res.node_id, 1);
	assert_int_equal(res.attempts, 1);
	assert_int_equal(rn_client_get(c, "k", 1, false, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_OK);
	assert_int_equal(res.value_bytes, 2);
	assert_memory_equal(res.value, "v1", 2);
	assert_int_equal(rn_client_cas(c, "k", 1, "zz", 2, "v2", 2, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_CAS_FAILED);
	assert_int_equal(rn_client_cas(c, "k", 1, "v1", 2, "v2", 2, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_OK);
	assert_int_equal(rn_client_get(c, "k", 1, true, &res), 0);
	assert_memory_equal(res.value, "v2", 2);
	assert_int_equal(rn_client_del(c, "k", 1, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_OK);

	/* Sequence numbers only grow, and the ops went out as asked. */
	assert_int_equal(fake_node_requests(&f), 6);
	for (uint32_t i = 1; i < 6; i++) {
		assert_true(fake_node_request(&f, i).seq > fake_node_request(&f, i - 1).seq);
	}
	assert_int_equal(fake_node_request(&f, 4).op, DP_CLIENT_GET_STALE);
	rn_client_close(c);
	fake_node_stop(&f);
}

static void test_not_found(void **state)
{
	(void)state;
	struct fake_node f;
	fake_node_start(&f, 1, FAKE_KV);
	struct fake_node *nodes[] = {&f};
	struct rn_client *c = open_client(nodes, 1, NULL);
	struct rn_client_result res;
	assert_int_equal(rn_client_get(c, "missing", 7, false, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_NOT_FOUND);
	assert_int_equal(rn_client_del(c, "missing", 7, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_NOT_FOUND);
	rn_client_close(c);
	fake_node_stop(&f);
}

static void test_redirect_followed(void **state)
{
	(void)state;
	struct fake_node f1, f2;
	fake_node_start(&f1, 1, FAKE_REDIRECT);
	fake_node_start(&f2, 2, FAKE_KV);
	f1.redirect_to = 2;
	struct fake_node *nodes[] = {&f1, &f2};
	struct rn_client *c = open_client(nodes, 2, NULL);
	struct rn_client_result res;
	struct rn_client_counters k;

	assert_int_equal(rn_client_target(c), 1);
	assert_int_equal(rn_client_put(c, "k", 1, "v", 1, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_OK);
	assert_int_equal(res.node_id, 2);
	assert_int_equal(res.attempts, 2);
	rn_client_get_counters(c, &k);
	assert_int_equal(k.redirects, 1);
	/* The redirected request is the same request: same sequence number. */
	assert_int_equal(fake_node_requests(&f1), 1);
	assert_int_equal(fake_node_requests(&f2), 1);
	assert_int_equal(fake_node_request(&f1, 0).seq, fake_node_request(&f2, 0).seq);
	/* Later requests go to the leader first. */
	assert_int_equal(rn_client_target(c), 2);
	assert_int_equal(rn_client_get(c, "k", 1, false, &res), 0);
	assert_int_equal(res.attempts, 1);
	assert_int_equal(fake_node_requests(&f1), 1);
	/* Status goes to exactly the node asked, never redirected. */
	assert_int_equal(rn_client_status(c, 1, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_REDIRECT);
	assert_int_equal(res.node_id, 1);
	assert_int_equal(rn_client_status(c, 2, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_OK);
	assert_memory_equal(res.value, "{\"role\"", 7);
	assert_int_equal(rn_client_status(c, 9, &res), -RN_CLIENT_E_BAD_NODE);
	rn_client_close(c);
	fake_node_stop(&f1);
	fake_node_stop(&f2);
}

static void test_retry_then_ok(void **state)
{
	(void)state;
	struct fake_node f;
	fake_node_start(&f, 1, FAKE_RETRY_FIRST);
	struct fake_node *nodes[] = {&f};
	struct rn_client *c = open_client(nodes, 1, NULL);
	struct rn_client_result res;
	struct rn_client_counters k;

	uint64_t t0 = fake_now_ns();
	assert_int_equal(rn_client_put(c, "k", 1, "v", 1, &res), 0);
	uint64_t took_ns = fake_now_ns() - t0;
	assert_int_equal(res.status, DP_CLIENT_OK);
	assert_int_equal(res.attempts, 2);
	rn_client_get_counters(c, &k);
	assert_int_equal(k.retries_busy, 1);
	assert_int_equal(k.retransmits, 0);
	assert_int_equal(fake_node_requests(&f), 2);
	struct fake_request a = fake_node_request(&f, 0), b = fake_node_request(&f, 1);
	assert_int_equal(a.seq, b.seq);
	/* Backed off at least the minimum backoff (5 ms); resent by the
	 * backoff, not by the 50 ms timeout (no retransmit counted). */
	assert_true(took_ns >= 5 * MS_NS);
	rn_client_close(c);
	fake_node_stop(&f);
}

static void test_dropped_retransmitted_same_seq(void **state)
{
	(void)state;
	struct fake_node f;
	fake_node_start(&f, 1, FAKE_DROP_FIRST);
	struct fake_node *nodes[] = {&f};
	struct rn_client *c = open_client(nodes, 1, NULL);
	struct rn_client_result res;
	struct rn_client_counters k;

	uint64_t t0 = fake_now_ns();
	assert_int_equal(rn_client_put(c, "k", 1, "v", 1, &res), 0);
	uint64_t took_ns = fake_now_ns() - t0;
	assert_int_equal(res.status, DP_CLIENT_OK);
	assert_int_equal(res.attempts, 2);
	/* Resent after the 50 ms timeout, not before (the client's clock: the
	 * fake's receive times lag by its thread's scheduling). */
	assert_true(took_ns >= 50 * MS_NS);
	rn_client_get_counters(c, &k);
	assert_int_equal(k.retransmits, 1);
	assert_int_equal(k.sent, 2);
	assert_int_equal(fake_node_requests(&f), 2);
	struct fake_request a = fake_node_request(&f, 0), b = fake_node_request(&f, 1);
	assert_int_equal(a.client_id, b.client_id);
	assert_int_equal(a.seq, b.seq);
	rn_client_close(c);
	fake_node_stop(&f);
}

static void test_bad_secret_reply_dropped(void **state)
{
	(void)state;
	struct fake_node f;
	fake_node_start(&f, 1, FAKE_BAD_SECRET_FIRST);
	struct fake_node *nodes[] = {&f};
	struct rn_client *c = open_client(nodes, 1, NULL);
	struct rn_client_result res;
	struct rn_client_counters k;

	assert_int_equal(rn_client_put(c, "k", 1, "v", 1, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_OK);
	/* Let the good reply that follows the bad one be received too. */
	assert_int_equal(rn_client_get(c, "k", 1, false, &res), 0);
	rn_client_get_counters(c, &k);
	assert_int_equal(k.rx_dropped, 1);
	assert_int_equal(k.replies, 2);
	assert_int_equal(k.retransmits, 0);
	rn_client_close(c);
	fake_node_stop(&f);
}

static void test_timeout_within_deadline(void **state)
{
	(void)state;
	struct fake_node f;
	fake_node_start(&f, 1, FAKE_SILENT);
	struct fake_node *nodes[] = {&f};
	struct rn_client_config want = {.timeout_ms = 50, .deadline_ms = 300};
	struct rn_client *c = open_client(nodes, 1, &want);
	struct rn_client_result res;
	struct rn_client_counters k;

	uint64_t t0 = fake_now_ns();
	assert_int_equal(rn_client_put(c, "k", 1, "v", 1, &res), -RN_CLIENT_E_TIMEOUT);
	uint64_t took_ns = fake_now_ns() - t0;
	assert_true(took_ns >= 300 * MS_NS);
	assert_true(took_ns < 450 * MS_NS);
	rn_client_get_counters(c, &k);
	assert_int_equal(k.timeouts, 1);
	/* Resent every 50 ms until the deadline, always the same seq. */
	uint32_t n = fake_node_requests(&f);
	assert_true(n >= 3 && n <= 7); /* 6 on time; fewer on a loaded machine */
	for (uint32_t i = 1; i < n; i++) {
		assert_int_equal(fake_node_request(&f, i).seq, fake_node_request(&f, 0).seq);
	}
	assert_string_not_equal(rn_client_strerror(-RN_CLIENT_E_TIMEOUT), "");
	rn_client_close(c);
	fake_node_stop(&f);
}

/* A node of another wire version: its frames are dropped and counted as
 * such (what raftctl names after the timeout), never taken as replies. */
static void test_other_wire_version_counted(void **state)
{
	(void)state;
	struct fake_node f;
	fake_node_start(&f, 1, FAKE_OLD_VERSION);
	struct fake_node *nodes[] = {&f};
	struct rn_client_config want = {.timeout_ms = 50, .deadline_ms = 200};
	struct rn_client *c = open_client(nodes, 1, &want);
	struct rn_client_result res;
	assert_int_equal(rn_client_put(c, "k", 1, "v", 1, &res), -RN_CLIENT_E_TIMEOUT);
	struct rn_client_counters k;
	rn_client_get_counters(c, &k);
	assert_true(k.rx_bad_version >= 1);
	assert_int_equal(k.rx_bad_version, k.rx_dropped);
	assert_int_equal(k.replies, 0);
	assert_int_equal(k.frames_received, 0);
	rn_client_close(c);
	fake_node_stop(&f);
}

struct async_seen {
	uint32_t completions[100];
	uint32_t ok_count;
	uint32_t timeout_count;
};

static void async_on_reply(void *ctx, uint64_t user, int rc, const struct rn_client_result *res)
{
	struct async_seen *seen = ctx;
	assert_true(user < 100);
	seen->completions[user]++;
	if (rc == 0 && res->status == DP_CLIENT_OK) {
		seen->ok_count++;
	} else if (rc == -RN_CLIENT_E_TIMEOUT) {
		seen->timeout_count++;
	}
}

static void test_async_100(void **state)
{
	(void)state;
	struct fake_node f;
	fake_node_start(&f, 1, FAKE_KV);
	struct fake_node *nodes[] = {&f};
	struct rn_client *c = open_client(nodes, 1, NULL);
	struct async_seen seen = {0};

	for (uint32_t i = 0; i < 100; i++) {
		char key[16];
		int key_bytes = snprintf(key, sizeof(key), "key%u", i);
		struct rn_client_request req = {.op = DP_CLIENT_PUT, .key = key,
						.key_bytes = (uint32_t)key_bytes, .value = "v",
						.value_bytes = 1, .user = i};
		assert_int_equal(rn_client_submit(c, &req), 0);
	}
	assert_int_equal(rn_client_inflight(c), 100);
	uint32_t done = 0;
	uint64_t give_up_ns = fake_now_ns() + 5000 * MS_NS;
	while (done < 100 && fake_now_ns() < give_up_ns) {
		int n = rn_client_poll(c, 10000, async_on_reply, &seen);
		assert_true(n >= 0);
		done += (uint32_t)n;
	}
	assert_int_equal(done, 100);
	assert_int_equal(seen.ok_count, 100);
	for (uint32_t i = 0; i < 100; i++) {
		assert_int_equal(seen.completions[i], 1);
	}
	assert_int_equal(rn_client_inflight(c), 0);
	/* Every key landed on the node. */
	struct rn_client_result res;
	assert_int_equal(rn_client_get(c, "key99", 5, false, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_OK);
	rn_client_close(c);
	fake_node_stop(&f);
}

static void test_async_full(void **state)
{
	(void)state;
	struct fake_node f;
	fake_node_start(&f, 1, FAKE_SILENT);
	struct fake_node *nodes[] = {&f};
	struct rn_client_config want = {.timeout_ms = 50, .deadline_ms = 200, .inflight_max = 4};
	struct rn_client *c = open_client(nodes, 1, &want);
	struct async_seen seen = {0};
	struct rn_client_request req = {.op = DP_CLIENT_GET, .key = "k", .key_bytes = 1};

	for (uint32_t i = 0; i < 4; i++) {
		req.user = i;
		assert_int_equal(rn_client_submit(c, &req), 0);
	}
	req.user = 4;
	assert_int_equal(rn_client_submit(c, &req), -RN_CLIENT_E_FULL);
	assert_int_equal(rn_client_inflight(c), 4);
	/* A sync call would lose the async replies: refused. */
	struct rn_client_result res;
	assert_int_equal(rn_client_get(c, "k", 1, false, &res), -EBUSY);
	/* Past the deadline each completes once, as a timeout. */
	uint32_t done = 0;
	uint64_t give_up_ns = fake_now_ns() + 2000 * MS_NS;
	while (done < 4 && fake_now_ns() < give_up_ns) {
		done += (uint32_t)rn_client_poll(c, 10000, async_on_reply, &seen);
	}
	assert_int_equal(done, 4);
	assert_int_equal(seen.timeout_count, 4);
	assert_int_equal(rn_client_inflight(c), 0);
	assert_int_equal(rn_client_submit(c, &req), 0); /* room again */
	/* Requests the node's decoder would drop are refused at once. */
	struct rn_client_request bad = {.op = DP_CLIENT_GET, .key = "k", .key_bytes = 1,
					.value = "v", .value_bytes = 1};
	assert_int_equal(rn_client_submit(c, &bad), -DP_ERR_INVALID);
	bad = (struct rn_client_request){.op = DP_CLIENT_GET, .key = "k", .key_bytes = 0};
	assert_int_equal(rn_client_submit(c, &bad), -DP_ERR_INVALID);
	static const uint8_t big_key[DP_CLIENT_KEY_BYTES_MAX + 1];
	bad = (struct rn_client_request){.op = DP_CLIENT_GET, .key = big_key,
					 .key_bytes = sizeof(big_key)};
	assert_int_equal(rn_client_submit(c, &bad), -DP_ERR_TOO_BIG);
	assert_int_equal(rn_client_inflight(c), 1);
	rn_client_close(c);
	fake_node_stop(&f);
}

/* Submits count PUTs of key<i> to the client's current target. */
static void submit_puts(struct rn_client *c, uint32_t first, uint32_t count)
{
	for (uint32_t i = first; i < first + count; i++) {
		char key[16];
		int key_bytes = snprintf(key, sizeof(key), "key%u", i);
		struct rn_client_request req = {.op = DP_CLIENT_PUT, .key = key,
						.key_bytes = (uint32_t)key_bytes, .value = "v",
						.value_bytes = 1, .user = i};
		assert_int_equal(rn_client_submit(c, &req), 0);
	}
}

static uint32_t poll_until(struct rn_client *c, uint32_t want, struct async_seen *seen)
{
	uint32_t done = 0;
	uint64_t give_up_ns = fake_now_ns() + 30000 * MS_NS; /* a hang bound, not a speed */
	while (done < want && fake_now_ns() < give_up_ns) {
		int n = rn_client_poll(c, 10000, async_on_reply, seen);
		assert_true(n >= 0);
		done += (uint32_t)n;
	}
	return done;
}

/* 100 requests queued before one poll leave in as few datagrams as fit
 * (a jumbo frame holds them all; a 1514-byte one about 35), and the node's
 * replies come back as few datagrams: the counts on both ends say so. */
/* Deliverable 9 (issue 17): a request larger than the path to the node
 * can carry fails at once with a size error, before anything is sent, on
 * the sync and the async path; one byte less goes through. */
static void test_too_big_at_once(void **state)
{
	(void)state;
	struct fake_node f;
	fake_node_start(&f, 1, FAKE_KV);
	struct fake_node *nodes[] = {&f};
	struct rn_client_config want = {.deadline_ms = 3000, .inflight_max = 16,
					.frame_bytes_max = 1514};
	struct rn_client *c = open_client(nodes, 1, &want);
	struct rn_client_result res;
	static uint8_t value[DP_FRAME_BYTES_MAX];
	memset(value, 'v', sizeof(value));
	/* What one 1514-byte frame carries of a put with a 1-byte key. */
	uint32_t fits = 1514 - DP_FRAME_OVERHEAD_BYTES - DP_CLIENT_BATCH_HDR_BYTES -
			DP_CLIENT_REQUEST_FIXED_BYTES - 1;
	uint64_t t0 = fake_now_ns();
	assert_int_equal(rn_client_put(c, "k", 1, value, fits + 1, &res), -DP_ERR_TOO_BIG);
	assert_int_equal(rn_client_put(c, "k", 1, value, sizeof(value), &res), -DP_ERR_TOO_BIG);
	assert_true(fake_now_ns() - t0 < 100 * MS_NS); /* at once, not after the deadline */
	assert_int_equal(fake_node_requests(&f), 0);   /* nothing was sent */
	assert_non_null(strstr(rn_client_strerror(-DP_ERR_TOO_BIG), "too large"));
	struct rn_client_request big = {.op = DP_CLIENT_PUT, .key = "k", .key_bytes = 1,
					 .value = value, .value_bytes = fits + 1};
	assert_int_equal(rn_client_submit(c, &big), -DP_ERR_TOO_BIG);
	assert_int_equal(rn_client_inflight(c), 0);
	assert_int_equal(rn_client_put(c, "k", 1, value, fits, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_OK);
	assert_int_equal(fake_node_requests(&f), 1);
	rn_client_close(c);
	fake_node_stop(&f);
}

static void test_batched_one_datagram(void **state)
{
	(void)state;
	static const uint32_t frame_sizes[] = {DP_FRAME_BYTES_MAX, 0 /* the default, 1514 */};
	for (uint32_t k = 0; k < 2; k++) {
		struct fake_node f;
		fake_node_start(&f, 1, FAKE_KV);
		struct fake_node *nodes[] = {&f};
		/* A 5 s attempt: no retransmit on a loaded machine adds a
		 * datagram the counts below do not expect. */
		struct rn_client_config want = {.timeout_ms = 5000,
						.frame_bytes_max = frame_sizes[k]};
		struct rn_client *c = open_client(nodes, 1, &want);
		struct async_seen seen = {0};
		submit_puts(c, 0, 100);
		assert_int_equal(poll_until(c, 100, &seen), 100);
		assert_int_equal(seen.ok_count, 100);
		uint32_t rx, tx, batch_max;
		fake_node_datagrams(&f, &rx, &tx, &batch_max);
		struct rn_client_counters cc;
		rn_client_get_counters(c, &cc);
		/* Each request is 32 + 4..5 (key) + 1 bytes: the 1,388 body
		 * bytes of a 1514-byte frame hold 36, then 36, then the last
		 * 28; a jumbo frame all 100. */
		uint32_t expect = k == 0 ? 1 : 3;
		assert_int_equal(cc.sent, 100);
		assert_int_equal(cc.frames_sent, expect);
		assert_int_equal(rx, expect);
		assert_int_equal(batch_max, k == 0 ? 100 : 36);
		assert_int_equal(tx, expect); /* the fake answers a datagram with one */
		assert_int_equal(cc.frames_received, expect);
		assert_int_equal(cc.replies, 100);
		rn_client_close(c);
		fake_node_stop(&f);
	}
}

/* Requests for two nodes queued before one poll: one datagram per node,
 * both from one sendmmsg; a retransmit (the first request dropped) goes
 * out packed with what else is due, under its own sequence number. */
static void test_batched_per_node_and_retransmit(void **state)
{
	(void)state;
	struct fake_node f1, f2;
	fake_node_start(&f1, 1, FAKE_KV);
	fake_node_start(&f2, 2, FAKE_DROP_FIRST);
	struct fake_node *nodes[] = {&f1, &f2};
	/* 1 s per attempt: the dropped request's retransmit comes after it,
	 * and node 1's answer is never late enough on a loaded machine to
	 * make its batch go twice (the counts below say exactly one did). */
	struct rn_client_config want = {.timeout_ms = 1000, .frame_bytes_max = DP_FRAME_BYTES_MAX};
	struct rn_client *c = open_client(nodes, 2, &want);
	struct async_seen seen = {0};
	assert_int_equal(rn_client_set_target(c, 1), 0);
	submit_puts(c, 0, 10);
	assert_int_equal(rn_client_set_target(c, 2), 0);
	submit_puts(c, 10, 10);
	assert_int_equal(poll_until(c, 20, &seen), 20);
	assert_int_equal(seen.ok_count, 20);
	uint32_t rx1, tx1, max1, rx2, tx2, max2;
	fake_node_datagrams(&f1, &rx1, &tx1, &max1);
	fake_node_datagrams(&f2, &rx2, &tx2, &max2);
	assert_int_equal(rx1, 1);
	assert_int_equal(max1, 10);
	/* Node 2 dropped the first request of its batch and answered the
	 * other 9; the lost one came back alone, same sequence number. */
	assert_int_equal(rx2, 2);
	assert_int_equal(max2, 10);
	assert_int_equal(fake_node_requests(&f2), 11);
	assert_true(fake_node_request(&f2, 0).seq == fake_node_request(&f2, 10).seq);
	struct rn_client_counters cc;
	rn_client_get_counters(c, &cc);
	assert_int_equal(cc.retransmits, 1);
	assert_int_equal(cc.frames_sent, 3);
	rn_client_close(c);
	fake_node_stop(&f1);
	fake_node_stop(&f2);
}

/* A reply larger than one frame of the path (a leader's status over a
 * 1500-byte port) comes as fragments of one message: the library
 * reassembles it, whole, in the memory it sized at open. */
static void test_status_spans_frames(void **state)
{
	(void)state;
	struct fake_node f;
	fake_node_start(&f, 1, FAKE_BIG_STATUS);
	struct fake_node *nodes[] = {&f};
	/* A timeout no loaded machine reaches: one answer, counted exactly. */
	struct rn_client_config want = {.timeout_ms = 1000, .deadline_ms = 5000};
	struct rn_client *c = open_client(nodes, 1, &want);
	struct rn_client_result res;
	struct rn_client_counters k;

	assert_int_equal(rn_client_status(c, 1, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_OK);
	assert_int_equal(res.value_bytes, FAKE_BIG_STATUS_BYTES);
	assert_memory_equal(res.value, f.big_status, FAKE_BIG_STATUS_BYTES);
	assert_int_equal(res.attempts, 1);
	rn_client_get_counters(c, &k);
	/* 5,000 bytes of JSON + 36 of item and batch header, 1,392 body
	 * bytes per 1,514-byte frame: 4 fragments. */
	assert_int_equal(k.fragments_received, 4);
	assert_int_equal(k.messages_reassembled, 1);
	assert_int_equal(k.rx_dropped, 0);
	/* Twice more: the slots are reused, the value still whole. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rn_client_status(c, 1, &res), 0);
		assert_int_equal(res.value_bytes, FAKE_BIG_STATUS_BYTES);
		assert_memory_equal(res.value, f.big_status, FAKE_BIG_STATUS_BYTES);
	}
	rn_client_get_counters(c, &k);
	assert_int_equal(k.messages_reassembled, 3);
	rn_client_close(c);
	fake_node_stop(&f);
}

/* A lost fragment is the client's normal retry: the message never
 * completes (its later fragments dropped: a gap, then orphans), the request
 * times out and is resent with the same seq, the second answer is whole. */
static void test_status_lost_fragment_retried(void **state)
{
	(void)state;
	struct fake_node f;
	fake_node_start(&f, 1, FAKE_BIG_STATUS_LOSE_FIRST);
	struct fake_node *nodes[] = {&f};
	/* Long enough that only the lost fragment makes it retry. */
	struct rn_client_config want = {.timeout_ms = 300, .deadline_ms = 5000};
	struct rn_client *c = open_client(nodes, 1, &want);
	struct rn_client_result res;
	struct rn_client_counters k;

	assert_int_equal(rn_client_status(c, 1, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_OK);
	assert_int_equal(res.value_bytes, FAKE_BIG_STATUS_BYTES);
	assert_memory_equal(res.value, f.big_status, FAKE_BIG_STATUS_BYTES);
	assert_int_equal(res.attempts, 2);
	assert_int_equal(fake_node_requests(&f), 2);
	assert_int_equal(fake_node_request(&f, 1).seq, fake_node_request(&f, 0).seq);
	rn_client_get_counters(c, &k);
	assert_int_equal(k.retransmits, 1);
	assert_int_equal(k.messages_reassembled, 1);
	assert_int_equal(k.rx_dropped, 2); /* the third (a gap) and fourth (an orphan) */
	rn_client_close(c);
	fake_node_stop(&f);
}

/* Client encryption on both sides: the normal path works (put, get,
 * status); a client with it off gets nothing from a node with it on (the
 * node drops its plaintext requests), and the reverse (the plaintext node
 * drops the sealed requests): a timeout, never a wrong answer. */
static void test_encryption_on(void **state)
{
	(void)state;
	struct fake_node f;
	fake_node_start(&f, 1, FAKE_KV_SEALED);
	struct fake_node *nodes[] = {&f};
	struct rn_client_config cfg;
	fake_client_config(&cfg, nodes, 1);
	cfg.client_encryption = true;
	struct rn_client *c = NULL;
	assert_int_equal(rn_client_open(&cfg, &c), 0);
	struct rn_client_result res;
	assert_int_equal(rn_client_put(c, "k", 1, "sealed-value", 12, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_OK);
	assert_int_equal(rn_client_get(c, "k", 1, false, &res), 0);
	assert_int_equal(res.value_bytes, 12);
	assert_memory_equal(res.value, "sealed-value", 12);
	assert_int_equal(rn_client_status(c, 1, &res), 0);
	assert_int_equal(res.status, DP_CLIENT_OK);
	rn_client_close(c);

	/* A plaintext client: the sealed node drops every request. */
	cfg.client_encryption = false;
	cfg.deadline_ms = 200;
	assert_int_equal(rn_client_open(&cfg, &c), 0);
	assert_int_equal(rn_client_put(c, "k", 1, "v", 1, &res), -RN_CLIENT_E_TIMEOUT);
	rn_client_close(c);
	fake_node_stop(&f);

	/* A sealed client and a plaintext node: no reply taken. */
	fake_node_start(&f, 1, FAKE_KV);
	fake_client_config(&cfg, nodes, 1);
	cfg.client_encryption = true;
	cfg.deadline_ms = 200;
	assert_int_equal(rn_client_open(&cfg, &c), 0);
	assert_int_equal(rn_client_put(c, "k", 1, "v", 1, &res), -RN_CLIENT_E_TIMEOUT);
	struct rn_client_counters k;
	rn_client_get_counters(c, &k);
	assert_int_equal(k.replies, 0);
	rn_client_close(c);
	fake_node_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_ok),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_redirect_followed),
		cmocka_unit_test(test_retry_then_ok),
		cmocka_unit_test(test_dropped_retransmitted_same_seq),
		cmocka_unit_test(test_bad_secret_reply_dropped),
		cmocka_unit_test(test_timeout_within_deadline),
		cmocka_unit_test(test_other_wire_version_counted),
		cmocka_unit_test(test_async_100),
		cmocka_unit_test(test_async_full),
		cmocka_unit_test(test_too_big_at_once),
		cmocka_unit_test(test_batched_one_datagram),
		cmocka_unit_test(test_batched_per_node_and_retransmit),
		cmocka_unit_test(test_status_spans_frames),
		cmocka_unit_test(test_status_lost_fragment_retried),
		cmocka_unit_test(test_encryption_on),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
