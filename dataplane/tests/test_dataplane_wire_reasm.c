/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_wire_reasm.c - messages larger than one frame are split,
 * authenticated per fragment and reassembled in bounded memory.
 *
 * Method: serialise a large AppendEntries (and a large client request),
 * cut it into standard 1514-byte frames with dp_wire_encode_fragment,
 * decode every frame (each must come back as an authenticated fragment),
 * push the fragments into a reassembler and compare the decoded message
 * with the original. Then break the stream the ways a network does - lose,
 * duplicate, interleave, abandon, oversize - and check each outcome and
 * counter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire_internal.h"
#include "wire_util.h"

#define FRAME_MTU_BYTES 1514u
#define FRAGS_MAX 256u

static uint8_t body[1u << 18];
static uint8_t frames[FRAGS_MAX][FRAME_MTU_BYTES];
static size_t frame_bytes[FRAGS_MAX];
static struct raft_entry tx_entries[T_ENTRIES_MAX];
static struct raft_entry rx_entries[T_ENTRIES_MAX];
static const uint8_t *payloads[T_ENTRIES_MAX];
static struct dp_wire tx, rx;
static struct dp_reasm ra;

static int setup(void **state)
{
	(void)state;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	assert_int_equal(dp_reasm_init(&ra, 4, sizeof(body)), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dp_reasm_fini(&ra);
	return 0;
}

/* Splits src into frames[]; returns the fragment count. */
static uint32_t split(struct dp_fragment_src *src)
{
	struct dp_endpoints a;
	t_addr(&a);
	uint32_t count = 0;
	for (uint32_t off = 0; off < src->body_bytes; count++) {
		uint32_t used = 0;
		assert_true(count < FRAGS_MAX);
		int n = dp_wire_encode_fragment(&tx, &a, src, off, FRAME_MTU_BYTES, frames[count],
						sizeof(frames[count]), &used);
		assert_true(n > 0 && (size_t)n <= FRAME_MTU_BYTES);
		frame_bytes[count] = (size_t)n;
		off += used;
	}
	return count;
}

/* Decodes fragment i and pushes it. Returns dp_reasm_push's rc. */
static int push(uint32_t i, struct dp_rx_frame *out)
{
	struct dp_rx_frame frag;
	int rc = dp_wire_decode(&rx, frames[i], frame_bytes[i], NULL, 0, &frag);
	assert_int_equal(rc, -DP_ERR_FRAGMENT);
	return dp_reasm_push(&ra, &frag, rx_entries, T_ENTRIES_MAX, out);
}

static uint32_t split_append(uint32_t count, uint32_t payload_bytes, uint64_t msg_seq,
			     struct raft_message *m)
{
	t_raft_msg(RAFT_MSG_APPEND, count, payload_bytes, m, tx_entries, payloads);
	int n = dp_wire_raft_body(m, payloads, body, sizeof(body));
	assert_true(n > 0);
	struct dp_fragment_src src = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 5,
				      .msg_seq = msg_seq, .body = body, .body_bytes = (uint32_t)n};
	return split(&src);
}

static void check_append(const struct raft_message *m, const struct dp_rx_frame *out)
{
	assert_int_equal(out->type, RAFT_MSG_APPEND);
	assert_int_equal(out->raft.term, 5);
	assert_int_equal(out->raft.from, 1);
	assert_int_equal(out->raft.append.entries_count, m->append.entries_count);
	for (uint32_t i = 0; i < m->append.entries_count; i++) {
		const struct raft_entry *e = &out->raft.append.entries[i];
		assert_int_equal(e->index, tx_entries[i].index);
		assert_int_equal(e->payload_bytes, tx_entries[i].payload_bytes);
		assert_memory_equal((const void *)(uintptr_t)e->payload, payloads[i],
				    e->payload_bytes);
	}
}

static void test_large_append(void **state)
{
	(void)state;
	struct raft_message m;
	struct dp_rx_frame out;
	/* 100 entries of 1 KiB: ~105 KiB, about 75 standard frames. */
	uint32_t frags = split_append(100, 1024, 77, &m);
	assert_true(frags > 70);
	for (uint32_t i = 0; i + 1 < frags; i++) {
		assert_int_equal(push(i, &out), -DP_ERR_AGAIN);
	}
	assert_int_equal(push(frags - 1, &out), 0);
	assert_int_equal(out.msg_seq, 77);
	check_append(&m, &out);
	assert_int_equal(ra.counters.messages_completed, 1);
	assert_int_equal(rx.counters.fragments_accepted, frags);
	assert_int_equal(rx.counters.frames_accepted, 0);
}

static void test_large_client_request(void **state)
{
	(void)state;
	static uint8_t value[20000];
	for (size_t i = 0; i < sizeof(value); i++) {
		value[i] = (uint8_t)(i ^ (i >> 8));
	}
	struct dp_client_request req = {.client_id = 5, .request_seq = 6, .op = DP_CLIENT_PUT,
					 .key = (const uint8_t *)"big", .key_bytes = 3,
					 .value = value, .value_bytes = sizeof(value)};
	/* A client frame's body: a batch of this one request. */
	dp_wire_client_batch_hdr(body, 1);
	int n = dp_wire_request_body(&req, body + DP_CLIENT_BATCH_HDR_BYTES,
				     sizeof(body) - DP_CLIENT_BATCH_HDR_BYTES);
	assert_true(n > 0);
	n += (int)DP_CLIENT_BATCH_HDR_BYTES;
	struct dp_fragment_src src = {.type = DP_FRAME_CLIENT_REQUEST, .from = 0, .to = 2,
				      .msg_seq = 1, .body = body, .body_bytes = (uint32_t)n};
	uint32_t frags = split(&src);
	struct dp_rx_frame out;
	for (uint32_t i = 0; i + 1 < frags; i++) {
		assert_int_equal(push(i, &out), -DP_ERR_AGAIN);
	}
	assert_int_equal(push(frags - 1, &out), 0);
	assert_int_equal(out.type, DP_FRAME_CLIENT_REQUEST);
	assert_int_equal(out.request.value_bytes, sizeof(value));
	assert_memory_equal(out.request.value, value, sizeof(value));
}

static void test_lost_fragment_drops_message(void **state)
{
	(void)state;
	struct raft_message m;
	struct dp_rx_frame out;
	uint32_t frags = split_append(20, 1024, 1, &m);
	assert_int_equal(push(0, &out), -DP_ERR_AGAIN);
	assert_int_equal(push(2, &out), -DP_ERR_REASM_GAP); /* 1 was lost */
	for (uint32_t i = 3; i < frags; i++) {
		assert_int_equal(push(i, &out), -DP_ERR_REASM_ORPHAN);
	}
	assert_int_equal(ra.counters.dropped_gap, 1);
	assert_int_equal(ra.counters.dropped_orphan, frags - 3);
	assert_int_equal(ra.counters.messages_completed, 0);
	/* The resent message (new msg_seq) goes through. */
	frags = split_append(20, 1024, 2, &m);
	for (uint32_t i = 0; i < frags; i++) {
		int rc = push(i, &out);
		assert_int_equal(rc, i + 1 < frags ? -DP_ERR_AGAIN : 0);
	}
	check_append(&m, &out);
}

static void test_duplicate_fragment_ignored(void **state)
{
	(void)state;
	struct raft_message m;
	struct dp_rx_frame out;
	uint32_t frags = split_append(10, 1024, 3, &m);
	assert_int_equal(push(0, &out), -DP_ERR_AGAIN);
	assert_int_equal(push(1, &out), -DP_ERR_AGAIN);
	assert_int_equal(push(1, &out), -DP_ERR_REASM_DUPLICATE);
	assert_int_equal(push(0, &out), -DP_ERR_REASM_DUPLICATE);
	for (uint32_t i = 2; i < frags; i++) {
		assert_int_equal(push(i, &out), i + 1 < frags ? -DP_ERR_AGAIN : 0);
	}
	check_append(&m, &out);
	assert_int_equal(ra.counters.dropped_duplicate, 2);
}

/* A sender that restarts mid-message starts msg_seq over in a new boot
 * epoch: its new message of the same msg_seq is another message (the key
 * is (from, epoch, msg_seq)), never glued to its old life's pieces. */
static void test_new_epoch_same_seq_apart(void **state)
{
	(void)state;
	struct raft_message m;
	struct dp_rx_frame out;
	tx.boot_epoch = 100;
	uint32_t frags = split_append(10, 1024, 4, &m);
	assert_true(frags > 3);
	assert_int_equal(push(0, &out), -DP_ERR_AGAIN);
	assert_int_equal(push(1, &out), -DP_ERR_AGAIN);
	tx.boot_epoch = 101; /* restarted: msg_seq 4 again, other entries */
	frags = split_append(12, 1000, 4, &m);
	for (uint32_t i = 0; i < frags; i++) {
		assert_int_equal(push(i, &out), i + 1 < frags ? -DP_ERR_AGAIN : 0);
	}
	check_append(&m, &out);
	assert_int_equal(out.boot_epoch, 101);
	assert_int_equal(ra.counters.dropped_duplicate, 0);
	assert_int_equal(ra.counters.dropped_mismatch, 0);
	tx.boot_epoch = 0;
}

static void test_interleaved_and_evicted(void **state)
{
	(void)state;
	struct raft_message m;
	struct dp_rx_frame out;
	/* Four abandoned messages fill the four slots... */
	for (uint64_t seq = 10; seq < 14; seq++) {
		split_append(4, 1024, seq, &m);
		assert_int_equal(push(0, &out), -DP_ERR_AGAIN);
	}
	assert_int_equal(ra.counters.messages_evicted, 0);
	/* ...a fifth evicts the oldest (seq 10), and completes. */
	uint32_t frags = split_append(4, 1024, 14, &m);
	for (uint32_t i = 0; i < frags; i++) {
		assert_int_equal(push(i, &out), i + 1 < frags ? -DP_ERR_AGAIN : 0);
	}
	assert_int_equal(ra.counters.messages_evicted, 1);
	/* seq 10 lost its slot: its next fragment is an orphan; seq 11 lives. */
	split_append(4, 1024, 10, &m);
	assert_int_equal(push(1, &out), -DP_ERR_REASM_ORPHAN);
	frags = split_append(4, 1024, 11, &m);
	for (uint32_t i = 1; i < frags; i++) {
		assert_int_equal(push(i, &out), i + 1 < frags ? -DP_ERR_AGAIN : 0);
	}
	check_append(&m, &out);
}

static void test_too_big_and_mismatch(void **state)
{
	(void)state;
	struct dp_reasm small;
	struct dp_rx_frame out, frag;
	struct raft_message m;
	assert_int_equal(dp_reasm_init(&small, 2, 4096), 0);
	split_append(10, 1024, 1, &m);
	assert_int_equal(dp_wire_decode(&rx, frames[0], frame_bytes[0], NULL, 0, &frag),
			 -DP_ERR_FRAGMENT);
	assert_int_equal(dp_reasm_push(&small, &frag, rx_entries, T_ENTRIES_MAX, &out),
			 -DP_ERR_REASM_TOO_BIG);
	assert_int_equal(small.counters.dropped_too_big, 1);
	dp_reasm_fini(&small);

	/* A second fragment claiming another term drops the message. */
	split_append(10, 1024, 2, &m);
	assert_int_equal(push(0, &out), -DP_ERR_AGAIN);
	wire_st64(frames[1] + WIRE_RAFT_OFFSET + offsetof(struct dp_wire_hdr, term), 6);
	t_reseal(&tx, frames[1]);
	assert_int_equal(push(1, &out), -DP_ERR_REASM_MISMATCH);
	assert_int_equal(ra.counters.dropped_mismatch, 1);
	assert_int_equal(dp_reasm_init(&small, 0, 4096), -DP_ERR_INVALID);
	assert_int_equal(dp_reasm_init(&small, DP_REASM_SLOTS_MAX + 1, 4096), -DP_ERR_INVALID);
}

static void test_reassembled_body_still_validated(void **state)
{
	(void)state;
	struct raft_message m;
	struct dp_rx_frame out;
	t_raft_msg(RAFT_MSG_APPEND, 30, 1024, &m, tx_entries, payloads);
	int n = dp_wire_raft_body(&m, payloads, body, sizeof(body));
	assert_true(n > 0);
	/* Second entry's index off by one, deep inside the message. */
	wire_st64(body + DP_APPEND_FIXED_BYTES + DP_APPEND_ENTRY_HDR_BYTES + 1024, 99);
	struct dp_fragment_src src = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 5,
				      .msg_seq = 9, .body = body, .body_bytes = (uint32_t)n};
	uint32_t frags = split(&src);
	for (uint32_t i = 0; i + 1 < frags; i++) {
		assert_int_equal(push(i, &out), -DP_ERR_AGAIN);
	}
	assert_int_equal(push(frags - 1, &out), -DP_ERR_BAD_BODY);
	assert_int_equal(ra.counters.messages_bad, 1);
	/* Splitting refuses nonsense offsets and tiny frames. */
	struct dp_endpoints a;
	uint32_t used = 0;
	t_addr(&a);
	assert_int_equal(dp_wire_encode_fragment(&tx, &a, &src, src.body_bytes, FRAME_MTU_BYTES,
						 frames[0], FRAME_MTU_BYTES, &used),
			 -DP_ERR_INVALID);
	assert_int_equal(dp_wire_encode_fragment(&tx, &a, &src, 0, DP_FRAME_OVERHEAD_BYTES,
						 frames[0], FRAME_MTU_BYTES, &used),
			 -DP_ERR_TOO_BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_large_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_client_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_fragment_drops_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_fragment_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_epoch_same_seq_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interleaved_and_evicted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_big_and_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reassembled_body_still_validated, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
