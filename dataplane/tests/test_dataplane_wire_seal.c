/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_wire_seal.c - client encryption (wire_seal.c) and the
 * benchmark-only auth = off.
 *
 * Goal: with client encryption on, a client frame's bytes on the wire do
 * not hold its key or value, the frame decodes back to the same request
 * (one frame, a batch, and a reply cut into sealed fragments and
 * reassembled); every mismatch is refused and counted as seal_mismatch (a
 * plaintext client frame where encryption is on, a sealed one where it is
 * off); a sealed body changed under a valid SipHash tag fails the AEAD
 * (bad_tag) and yields no plaintext; a nonce never repeats between two
 * frames of the same bytes, nor across a fork; consensus frames stay
 * plaintext. auth = off:
 * zero tags, accepted only by a receiver that is off too.
 * Wire version 7's key per sender: a thread's frames share its key nonce
 * and count up under it (one key setup for all), a new key nonce is drawn
 * before the counter's limit; the receiver's cache of expanded keys hits
 * for a sender's later frames, evicts in turn when more senders than it
 * holds (an evicted sender's frame still opens), takes no key of a frame
 * that failed, and keeps a rotation's old and new client keys apart.
 *
 * Method: frames sealed and opened in this one thread (the sealing and
 * opening state is per thread), the thread's key setup and cache counts
 * (wire_seal_thread_stats) before and after, and the key nonce and
 * counter read from the frame's last bytes before its tag.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wire_internal.h"
#include "wire_util.h"

static struct dp_wire tx, rx;
static struct dp_endpoints addr;
static uint8_t frame[DP_FRAME_BYTES_MAX];
static uint8_t other[DP_FRAME_BYTES_MAX];
static const char secret_value[] = "the-secret-value-0123456789-abcdefghij";

static int setup(void **state)
{
	(void)state;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	assert_int_equal(dp_wire_set_client_seal(&tx, true), 0);
	assert_int_equal(dp_wire_set_client_seal(&rx, true), 0);
	t_addr(&addr);
	return 0;
}

static struct dp_client_request put_request(void)
{
	struct dp_client_request req = {
		.client_id = 9, .request_seq = 77, .op = DP_CLIENT_PUT,
		.key = (const uint8_t *)"key-in-clear?", .key_bytes = 13,
		.value = (const uint8_t *)secret_value, .value_bytes = sizeof(secret_value) - 1};
	return req;
}

/* A sealed frame's key nonce and counter: the last bytes before its tag. */
static const uint8_t *key_nonce_of(const uint8_t *f, size_t frame_bytes)
{
	return f + frame_bytes - DP_TAG_BYTES - DP_SEAL_NONCE_BYTES;
}

static uint64_t counter_of(const uint8_t *f, size_t frame_bytes)
{
	return wire_ld64(key_nonce_of(f, frame_bytes) + DP_SEAL_KEY_NONCE_BYTES);
}

/* A request sealed by tx into buf; its bytes. */
static size_t seal_put(uint8_t *buf, size_t buf_bytes)
{
	struct dp_client_request req = put_request();
	int n = dp_wire_encode_request(&tx, &addr, 1, 2, &req, buf, buf_bytes);
	assert_true(n > 0);
	return (size_t)n;
}

/* rx decodes a copy of f (opening works in place): 0 or the drop reason;
 * on 0 the value must be the request's. */
static int open_copy(const uint8_t *f, size_t frame_bytes)
{
	static uint8_t work[DP_FRAME_BYTES_MAX];
	memcpy(work, f, frame_bytes);
	struct dp_rx_frame out;
	int rc = dp_wire_decode(&rx, work, frame_bytes, NULL, 0, &out);
	if (rc == 0) {
		assert_int_equal(out.request.value_bytes, sizeof(secret_value) - 1);
		assert_memory_equal(out.request.value, secret_value, sizeof(secret_value) - 1);
	}
	return rc;
}

static bool holds(const uint8_t *buf, size_t bytes, const void *needle, size_t needle_bytes)
{
	return memmem(buf, bytes, needle, needle_bytes) != NULL;
}

static void test_sealed_request_roundtrip(void **state)
{
	(void)state;
	struct dp_client_request req = put_request();
	int n = dp_wire_encode_request(&tx, &addr, 1, 2, &req, frame, sizeof(frame));
	assert_true(n > 0);
	/* Sealed: the flag, 40 bytes more than the plaintext, no key or value
	 * bytes anywhere in the frame. */
	uint16_t flags = wire_ld16(frame + WIRE_RAFT_OFFSET + offsetof(struct dp_wire_hdr, flags));
	assert_true((flags & DP_HDR_ENCRYPTED) != 0);
	size_t plain_body = DP_CLIENT_BATCH_HDR_BYTES + dp_wire_request_item_bytes(&req);
	assert_int_equal((size_t)n, wire_frame_bytes(plain_body + DP_SEAL_OVERHEAD_BYTES));
	assert_false(holds(frame, (size_t)n, secret_value, sizeof(secret_value) - 1));
	assert_false(holds(frame, (size_t)n, "key-in-clear?", 13));

	struct dp_rx_frame out;
	assert_int_equal(dp_wire_decode(&rx, frame, (size_t)n, NULL, 0, &out), 0);
	assert_int_equal(out.type, DP_FRAME_CLIENT_REQUEST);
	assert_int_equal(out.batch.count, 1);
	assert_int_equal(out.request.request_seq, 77);
	assert_int_equal(out.request.value_bytes, sizeof(secret_value) - 1);
	assert_memory_equal(out.request.value, secret_value, sizeof(secret_value) - 1);
	assert_memory_equal(out.request.key, "key-in-clear?", 13);
}

/* Two frames of the same bytes: fresh nonces, different ciphertexts. */
static void test_nonce_fresh(void **state)
{
	(void)state;
	struct dp_client_request req = put_request();
	int n = dp_wire_encode_request(&tx, &addr, 1, 2, &req, frame, sizeof(frame));
	int m = dp_wire_encode_request(&tx, &addr, 1, 2, &req, other, sizeof(other));
	assert_int_equal(n, m);
	const uint8_t *nonce_a = frame + (size_t)n - DP_TAG_BYTES - DP_SEAL_NONCE_BYTES;
	const uint8_t *nonce_b = other + (size_t)m - DP_TAG_BYTES - DP_SEAL_NONCE_BYTES;
	assert_memory_not_equal(nonce_a, nonce_b, DP_SEAL_NONCE_BYTES);
	assert_memory_not_equal(frame + WIRE_BODY_OFFSET, other + WIRE_BODY_OFFSET, 32);
}

/* A fork copies the sealing thread's nonce counter: the child must draw
 * a fresh start, not give the nonce the parent gives next. */
static void test_nonce_fresh_after_fork(void **state)
{
	(void)state;
	struct dp_client_request req = put_request();
	int n = dp_wire_encode_request(&tx, &addr, 1, 2, &req, frame, sizeof(frame));
	assert_true(n > 0);
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int k = dp_wire_encode_request(&tx, &addr, 1, 2, &req, other, sizeof(other));
		ssize_t w = k == n ? write(fds[1], other + k - DP_TAG_BYTES - DP_SEAL_NONCE_BYTES,
					   DP_SEAL_NONCE_BYTES)
				   : -1;
		_exit(w == DP_SEAL_NONCE_BYTES ? 0 : 1);
	}
	close(fds[1]);
	uint8_t child_nonce[DP_SEAL_NONCE_BYTES];
	assert_int_equal(read(fds[0], child_nonce, sizeof(child_nonce)), DP_SEAL_NONCE_BYTES);
	close(fds[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	int m = dp_wire_encode_request(&tx, &addr, 1, 2, &req, other, sizeof(other));
	assert_int_equal(m, n);
	assert_memory_not_equal(child_nonce, other + m - DP_TAG_BYTES - DP_SEAL_NONCE_BYTES,
				DP_SEAL_NONCE_BYTES);
}

/* Two frames of one thread: the same key nonce (no key setup for the
 * second), counters one apart; both open. */
static void test_counter_under_one_key_nonce(void **state)
{
	(void)state;
	struct wire_seal_stats before, after;
	size_t n = seal_put(frame, sizeof(frame));
	wire_seal_thread_stats(&before);
	size_t m = seal_put(other, sizeof(other));
	wire_seal_thread_stats(&after);
	assert_int_equal(m, n);
	assert_memory_equal(key_nonce_of(frame, n), key_nonce_of(other, m),
			    DP_SEAL_KEY_NONCE_BYTES);
	assert_int_equal(counter_of(other, m), counter_of(frame, n) + 1);
	assert_int_equal(after.seal_key_setups, before.seal_key_setups);
	assert_int_equal(open_copy(frame, n), 0);
	assert_int_equal(open_copy(other, m), 0);
}

/* The counter's last value under a key nonce seals one frame; the next
 * frame has a new key nonce and counts from 0. */
static void test_key_nonce_renewed_at_limit(void **state)
{
	(void)state;
	size_t n = seal_put(frame, sizeof(frame));
	uint64_t next = counter_of(frame, n) + 1;
	wire_seal_thread_skip_frames(WIRE_SEAL_FRAMES_PER_KEY - 1 - next);
	struct wire_seal_stats before, after;
	wire_seal_thread_stats(&before);
	size_t m = seal_put(other, sizeof(other));
	assert_memory_equal(key_nonce_of(frame, n), key_nonce_of(other, m),
			    DP_SEAL_KEY_NONCE_BYTES);
	assert_true(counter_of(other, m) == WIRE_SEAL_FRAMES_PER_KEY - 1);
	assert_int_equal(open_copy(other, m), 0);
	static uint8_t third[DP_FRAME_BYTES_MAX];
	size_t k = seal_put(third, sizeof(third));
	wire_seal_thread_stats(&after);
	assert_memory_not_equal(key_nonce_of(other, m), key_nonce_of(third, k),
				DP_SEAL_KEY_NONCE_BYTES);
	assert_int_equal(counter_of(third, k), 0);
	assert_int_equal(after.seal_key_setups, before.seal_key_setups + 1);
	assert_int_equal(open_copy(third, k), 0);
}

/* A sender's first frame costs the receiver a key setup, the rest hit. */
static void test_open_cache_hits(void **state)
{
	(void)state;
	wire_seal_thread_skip_frames(WIRE_SEAL_FRAMES_PER_KEY); /* a new key nonce next */
	struct wire_seal_stats before, after;
	wire_seal_thread_stats(&before);
	for (int i = 0; i < 3; i++) {
		size_t n = seal_put(frame, sizeof(frame));
		assert_int_equal(open_copy(frame, n), 0);
	}
	wire_seal_thread_stats(&after);
	assert_int_equal(after.seal_key_setups, before.seal_key_setups + 1);
	assert_int_equal(after.open_key_setups, before.open_key_setups + 1);
	assert_int_equal(after.open_hits, before.open_hits + 2);
}

/* One sender more than the cache holds: each first frame misses, the
 * oldest sender's key is gone (its frame pays a key setup and still
 * opens), the newest is still there. */
static void test_open_cache_eviction(void **state)
{
	(void)state;
	enum { senders = WIRE_SEAL_OPEN_KEYS + 1 };
	static uint8_t frames[senders][512];
	size_t bytes[senders];
	for (int i = 0; i < senders; i++) {
		wire_seal_thread_skip_frames(WIRE_SEAL_FRAMES_PER_KEY); /* another sender */
		bytes[i] = seal_put(frames[i], sizeof(frames[i]));
	}
	struct wire_seal_stats before, mid, after;
	wire_seal_thread_stats(&before);
	for (int i = 0; i < senders; i++) {
		assert_int_equal(open_copy(frames[i], bytes[i]), 0);
	}
	wire_seal_thread_stats(&mid);
	assert_int_equal(mid.open_key_setups, before.open_key_setups + senders);
	assert_int_equal(mid.open_hits, before.open_hits);
	assert_int_equal(open_copy(frames[0], bytes[0]), 0); /* evicted: a setup */
	assert_int_equal(open_copy(frames[senders - 1], bytes[senders - 1]), 0); /* a hit */
	wire_seal_thread_stats(&after);
	assert_int_equal(after.open_key_setups, mid.open_key_setups + 1);
	assert_int_equal(after.open_hits, mid.open_hits + 1);
}

/* The SipHash tag covers the mac, not the key nonce: anyone who captured
 * a frame can change its key nonce. Such frames fail the GCM tag and push
 * no real sender's key out of the cache. */
static void test_made_up_key_nonces_evict_nothing(void **state)
{
	(void)state;
	wire_seal_thread_skip_frames(WIRE_SEAL_FRAMES_PER_KEY);
	size_t n = seal_put(frame, sizeof(frame));
	assert_int_equal(open_copy(frame, n), 0);
	uint64_t bad_before = dp_wire_dropped(&rx.counters, DP_ERR_BAD_TAG);
	struct wire_seal_stats before, after;
	wire_seal_thread_stats(&before);
	/* A changed counter under the real key nonce fails. */
	memcpy(other, frame, n);
	other[n - DP_TAG_BYTES - 1] ^= 0x80;
	assert_int_equal(open_copy(other, n), -DP_ERR_BAD_TAG);
	for (uint32_t i = 0; i < WIRE_SEAL_OPEN_KEYS; i++) {
		memcpy(other, frame, n);
		uint8_t *key_nonce = other + (key_nonce_of(frame, n) - frame);
		key_nonce[i % DP_SEAL_KEY_NONCE_BYTES] ^= (uint8_t)(1u + i);
		assert_int_equal(open_copy(other, n), -DP_ERR_BAD_TAG);
	}
	assert_int_equal(dp_wire_dropped(&rx.counters, DP_ERR_BAD_TAG),
			 bad_before + WIRE_SEAL_OPEN_KEYS + 1);
	/* The frame's tag covers the key nonce and the counter: the forged
	 * frames were dropped before any key was set up for them. */
	wire_seal_thread_stats(&after);
	assert_int_equal(after.open_key_setups, before.open_key_setups);
	wire_seal_thread_stats(&before);
	size_t m = seal_put(other, sizeof(other));
	assert_int_equal(open_copy(other, m), 0);
	wire_seal_thread_stats(&after);
	assert_int_equal(after.open_key_setups, before.open_key_setups);
	assert_int_equal(after.open_hits, before.open_hits + 1);
}

static void ring_client_keys(struct dp_keyring *k, uint32_t count, uint16_t id0, uint16_t id1)
{
	struct dp_key_file f = {.count = count, .key_id = {id0, id1}, .secret_bytes = {32, 32}};
	memset(f.secret[0], (int)id0, 32);
	memset(f.secret[1], (int)id1, 32);
	char why[256] = "";
	if (dp_keyring_set(k, T_CLUSTER_ID, DP_KEY_ROLE_CLIENT, &f, why, sizeof(why)) != 0) {
		fail_msg("dp_keyring_set: %s", why);
	}
}

static void wire_ring(struct dp_wire *w, raft_node_id self, struct dp_keyring *k)
{
	struct dp_wire_config c = {.cluster_id = T_CLUSTER_ID, .self_id = self, .keys = k,
				   .udp_port = T_PORT};
	assert_int_equal(dp_wire_init(w, &c), 0);
	assert_int_equal(dp_wire_set_client_seal(w, true), 0);
}

/* Client key 10 rotated to 11: the node opens requests under both and
 * answers each under its key, interleaved, with no key setup after the
 * first round (a base and a cached key each); once 10 is retired its
 * frames are refused. */
static void test_sealed_rotation(void **state)
{
	(void)state;
	static struct dp_keyring node_keys, old_keys, new_keys;
	ring_client_keys(&node_keys, 2, 11, 10);
	ring_client_keys(&old_keys, 1, 10, 0);
	ring_client_keys(&new_keys, 1, 11, 0);
	struct dp_wire node, old_client, new_client;
	wire_ring(&node, 2, &node_keys);
	wire_ring(&old_client, 7, &old_keys);
	wire_ring(&new_client, 7, &new_keys);
	struct dp_client_request req = put_request();
	struct dp_client_reply rep = {.client_id = 9, .request_seq = 77, .status = DP_CLIENT_OK};
	struct dp_rx_frame out;
	struct wire_seal_stats first = {0}, last;
	for (int round = 0; round < 4; round++) {
		if (round == 1) {
			wire_seal_thread_stats(&first);
		}
		struct dp_wire *clients[2] = {&old_client, &new_client};
		for (uint16_t c = 0; c < 2; c++) {
			uint16_t key_id = (uint16_t)(10 + c);
			int n = dp_wire_encode_request(clients[c], &addr, 1, 2, &req, frame,
						       sizeof(frame));
			assert_true(n > 0);
			assert_int_equal(dp_wire_decode(&node, frame, (size_t)n, NULL, 0, &out), 0);
			assert_int_equal(out.key_id, key_id);
			assert_memory_equal(out.request.value, secret_value, sizeof(secret_value) - 1);
			struct dp_endpoints a = addr;
			a.key_id = key_id;
			n = dp_wire_encode_reply(&node, &a, 1, 7, &rep, frame, sizeof(frame));
			assert_true(n > 0);
			assert_int_equal(dp_wire_decode(clients[c], frame, (size_t)n, NULL, 0, &out), 0);
			assert_int_equal(out.key_id, key_id);
			assert_int_equal(out.reply.request_seq, 77);
		}
	}
	wire_seal_thread_stats(&last);
	assert_int_equal(last.seal_key_setups, first.seal_key_setups);
	assert_int_equal(last.open_key_setups, first.open_key_setups);
	assert_int_equal(last.open_hits, first.open_hits + 3 * 4);
	ring_client_keys(&node_keys, 1, 11, 0); /* 10 retired */
	int n = dp_wire_encode_request(&old_client, &addr, 1, 2, &req, frame, sizeof(frame));
	assert_int_equal(dp_wire_decode(&node, frame, (size_t)n, NULL, 0, &out),
			 -DP_ERR_UNKNOWN_KEY);
	dp_wire_fini(&node);
	dp_wire_fini(&old_client);
	dp_wire_fini(&new_client);
}

static void test_mismatch_counted(void **state)
{
	(void)state;
	struct dp_client_request req = put_request();
	struct dp_wire plain_tx, plain_rx;
	t_wire(&plain_tx, 1, T_CLUSTER_ID, t_secret);
	t_wire(&plain_rx, 2, T_CLUSTER_ID, t_secret);
	struct dp_rx_frame out;

	/* Plaintext into a receiver with encryption on: refused, counted. */
	int n = dp_wire_encode_request(&plain_tx, &addr, 1, 2, &req, frame, sizeof(frame));
	assert_true(holds(frame, (size_t)n, secret_value, sizeof(secret_value) - 1));
	uint64_t before = dp_wire_dropped(&rx.counters, DP_ERR_SEAL_MISMATCH);
	assert_int_equal(dp_wire_decode(&rx, frame, (size_t)n, NULL, 0, &out),
			 -DP_ERR_SEAL_MISMATCH);
	assert_int_equal(dp_wire_dropped(&rx.counters, DP_ERR_SEAL_MISMATCH), before + 1);

	/* Sealed into a receiver with it off: refused, counted, untouched. */
	n = dp_wire_encode_request(&tx, &addr, 1, 2, &req, frame, sizeof(frame));
	memcpy(other, frame, (size_t)n);
	assert_int_equal(dp_wire_decode(&plain_rx, frame, (size_t)n, NULL, 0, &out),
			 -DP_ERR_SEAL_MISMATCH);
	assert_int_equal(dp_wire_dropped(&plain_rx.counters, DP_ERR_SEAL_MISMATCH), 1);
	assert_memory_equal(frame, other, (size_t)n);

	/* Consensus frames are never sealed, and a sealed one is refused. */
	size_t k = t_frame(&tx, RAFT_MSG_APPEND, frame, sizeof(frame)); /* a body > 40 bytes */
	uint8_t *flags = frame + WIRE_RAFT_OFFSET + offsetof(struct dp_wire_hdr, flags);
	assert_int_equal(wire_ld16(flags) & DP_HDR_ENCRYPTED, 0);
	struct raft_entry entries[4];
	assert_int_equal(dp_wire_decode(&rx, frame, k, entries, 4, &out), 0);
	wire_st16(flags, DP_HDR_ENCRYPTED);
	t_reseal(&tx, frame);
	assert_int_equal(dp_wire_decode(&rx, frame, k, entries, 4, &out), -DP_ERR_SEAL_MISMATCH);
	dp_wire_fini(&plain_tx);
	dp_wire_fini(&plain_rx);
}

/* A ciphertext byte changed by someone holding the MAC key (tag fixed up):
 * the AEAD refuses it (libsodium then zeroes what it would have written:
 * the frame's body, dropped anyway; no plaintext comes out). */
static void test_tampered_ciphertext(void **state)
{
	(void)state;
	struct dp_client_request req = put_request();
	int n = dp_wire_encode_request(&tx, &addr, 1, 2, &req, frame, sizeof(frame));
	frame[WIRE_BODY_OFFSET + 40] ^= 0x01;
	t_reseal(&tx, frame);
	memcpy(other, frame, (size_t)n);
	struct dp_rx_frame out;
	uint64_t before = dp_wire_dropped(&rx.counters, DP_ERR_BAD_TAG);
	assert_int_equal(dp_wire_decode(&rx, frame, (size_t)n, NULL, 0, &out), -DP_ERR_BAD_TAG);
	assert_int_equal(dp_wire_dropped(&rx.counters, DP_ERR_BAD_TAG), before + 1);
	assert_memory_equal(frame, other, WIRE_BODY_OFFSET); /* headers untouched */
	assert_false(holds(frame, (size_t)n, secret_value, sizeof(secret_value) - 1));
	/* A sealed body shorter than the seal's overhead: a length error. */
	wire_st32(frame + WIRE_RAFT_OFFSET + offsetof(struct dp_wire_hdr, body_bytes), 8);
	assert_true(dp_wire_decode(&rx, frame, (size_t)n, NULL, 0, &out) < 0);
}

/* A reply too large for one frame: each fragment sealed on its own (none
 * holds the value), reassembled into the plaintext reply. */
static void test_sealed_fragments(void **state)
{
	(void)state;
	static uint8_t value[4000], body[4096];
	for (size_t i = 0; i < sizeof(value); i++) {
		value[i] = (uint8_t)('a' + i % 26);
	}
	struct dp_client_reply rep = {.client_id = 9, .request_seq = 5, .status = DP_CLIENT_OK,
				      .value = value, .value_bytes = sizeof(value)};
	int n = dp_wire_reply_body(&rep, body + DP_CLIENT_BATCH_HDR_BYTES,
				   sizeof(body) - DP_CLIENT_BATCH_HDR_BYTES);
	assert_true(n > 0);
	dp_wire_client_batch_hdr(body, 1);
	struct dp_fragment_src src = {.type = DP_FRAME_CLIENT_REPLY, .from = 1, .to = 2,
				      .msg_seq = 3, .body = body,
				      .body_bytes = (uint32_t)n + DP_CLIENT_BATCH_HDR_BYTES};
	struct dp_reasm reasm;
	assert_int_equal(dp_reasm_init(&reasm, 2, 8192), 0);
	struct dp_rx_frame frag, out;
	uint32_t offset = 0, frames = 0;
	int rc = -DP_ERR_AGAIN;
	while (offset < src.body_bytes) {
		uint32_t carried = 0;
		int bytes = dp_wire_encode_fragment(&tx, &addr, &src, offset, 1514, frame,
						    sizeof(frame), &carried);
		assert_true(bytes > 0 && bytes <= 1514);
		assert_false(holds(frame, (size_t)bytes, "abcdefghijklmnop", 16));
		offset += carried;
		frames++;
		assert_int_equal(dp_wire_decode(&rx, frame, (size_t)bytes, NULL, 0, &frag),
				 -DP_ERR_FRAGMENT);
		rc = dp_reasm_push(&reasm, &frag, NULL, 0, &out);
	}
	assert_int_equal(frames, 3);
	assert_int_equal(rc, 0);
	assert_int_equal(out.reply.value_bytes, sizeof(value));
	assert_memory_equal(out.reply.value, value, sizeof(value));
	dp_reasm_fini(&reasm);
}

/* auth = off (benchmark only): a zero tag, taken only by a receiver that
 * is off too; a normal receiver drops it as bad_tag. */
static void test_auth_off(void **state)
{
	(void)state;
	struct dp_wire off_tx, off_rx;
	t_wire(&off_tx, 1, T_CLUSTER_ID, t_secret);
	t_wire(&off_rx, 2, T_CLUSTER_ID, t_other_secret); /* no key would verify */
	off_tx.auth_off = true;
	off_rx.auth_off = true;
	size_t k = t_frame(&off_tx, RAFT_MSG_HEARTBEAT, frame, sizeof(frame));
	static const uint8_t zero[DP_TAG_BYTES];
	assert_memory_equal(frame + k - DP_TAG_BYTES, zero, DP_TAG_BYTES);
	struct raft_entry entries[4];
	struct dp_rx_frame out;
	assert_int_equal(dp_wire_decode(&off_rx, frame, k, entries, 4, &out), 0);
	struct dp_wire on_rx;
	t_wire(&on_rx, 2, T_CLUSTER_ID, t_secret);
	assert_int_equal(dp_wire_decode(&on_rx, frame, k, entries, 4, &out), -DP_ERR_BAD_TAG);
	dp_wire_fini(&off_tx);
	dp_wire_fini(&off_rx);
	dp_wire_fini(&on_rx);
}

/* Room for the seal: a client frame's usable bytes shrink by
 * DP_SEAL_OVERHEAD_BYTES (40) only when encryption is on. */
static void test_frame_room(void **state)
{
	(void)state;
	struct dp_wire plain;
	t_wire(&plain, 1, T_CLUSTER_ID, t_secret);
	assert_int_equal(dp_wire_client_frame_bytes_max(&plain, 1514), 1514);
	assert_int_equal(dp_wire_client_frame_bytes_max(&tx, 1514), 1514 - DP_SEAL_OVERHEAD_BYTES);
	assert_int_equal(dp_wire_client_frame_bytes_max(&tx, 100000),
			 DP_FRAME_BYTES_MAX - DP_SEAL_OVERHEAD_BYTES);
	/* The largest request that fits a sealed 1514-byte frame. */
	struct dp_client_request req = put_request();
	static uint8_t big[1514];
	req.value = big;
	req.value_bytes = (uint32_t)(1514 - DP_FRAME_OVERHEAD_BYTES - DP_CLIENT_BATCH_HDR_BYTES -
				     DP_CLIENT_REQUEST_FIXED_BYTES - req.key_bytes -
				     DP_SEAL_OVERHEAD_BYTES);
	assert_int_equal(dp_wire_encode_request(&tx, &addr, 1, 2, &req, frame, 1514), 1514);
	req.value_bytes++;
	assert_int_equal(dp_wire_encode_request(&tx, &addr, 1, 2, &req, frame, 1514),
			 -DP_ERR_TOO_BIG);
	dp_wire_fini(&plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_sealed_request_roundtrip, setup),
		cmocka_unit_test_setup(test_nonce_fresh, setup),
		cmocka_unit_test_setup(test_nonce_fresh_after_fork, setup),
		cmocka_unit_test_setup(test_counter_under_one_key_nonce, setup),
		cmocka_unit_test_setup(test_key_nonce_renewed_at_limit, setup),
		cmocka_unit_test_setup(test_open_cache_hits, setup),
		cmocka_unit_test_setup(test_open_cache_eviction, setup),
		cmocka_unit_test_setup(test_made_up_key_nonces_evict_nothing, setup),
		cmocka_unit_test_setup(test_sealed_rotation, setup),
		cmocka_unit_test_setup(test_mismatch_counted, setup),
		cmocka_unit_test_setup(test_tampered_ciphertext, setup),
		cmocka_unit_test_setup(test_sealed_fragments, setup),
		cmocka_unit_test_setup(test_auth_off, setup),
		cmocka_unit_test_setup(test_frame_room, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
