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

/* Room for the seal: a client frame's usable bytes shrink by 40 only when
 * encryption is on. */
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
		cmocka_unit_test_setup(test_mismatch_counted, setup),
		cmocka_unit_test_setup(test_tampered_ciphertext, setup),
		cmocka_unit_test_setup(test_sealed_fragments, setup),
		cmocka_unit_test_setup(test_auth_off, setup),
		cmocka_unit_test_setup(test_frame_room, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
