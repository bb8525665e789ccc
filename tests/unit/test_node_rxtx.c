/* SPDX-License-Identifier: MIT */
/*
 * Goal: the rx/tx stage (node/rxtx/rxtx.c) hands control every message it
 * received, in order, each with its frame intact for as long as control
 * holds it; when control holds all of its messages the stage stops
 * receiving (the frames wait in the socket: back-pressure, counted) and
 * loses none; what control gives back is received into again.
 * Method: two kernel UDP transports on 127.0.0.1 (no DPDK needed: the
 * stage's calls are the same for both transports). Node 1 sends an
 * AppendEntries with known payload bytes, then more one-entry appends (each its own bytes) than the stage has
 * messages. The test polls the stage and plays control on its two rings:
 * it holds every message, checks every payload after all the later frames
 * were received into the other messages, then gives them back and takes
 * the rest.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "common.h"
#include "rxtx/rxtx.h"

#define LOOPBACK 0x7f000001u
#define CLUSTER_ID 7u
#define FILLERS (NODE_RX_MSGS + 72u) /* more appends than the stage has messages */
#define APPEND_ENTRIES 3u
#define PAYLOAD_BYTES 200u

static const uint8_t secret[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static void open_node(struct dp_transport *t, raft_node_id self, uint16_t port,
		      const struct dp_peer *peer)
{
	struct dp_transport_config cfg = {
		.wire = {.cluster_id = CLUSTER_ID, .self_id = self, .secret = secret,
			 .secret_bytes = sizeof(secret), .udp_port = port},
		.self_ip = LOOPBACK, .peers = peer, .peers_count = 1,
	};
	assert_int_equal(dp_transport_open_udp(t, &cfg), 0);
}

static uint8_t payload_byte(uint32_t entry, uint32_t b)
{
	return (uint8_t)(entry * 37u + b * 5u + 3u);
}

static uint8_t filler_byte(uint32_t seq, uint32_t b)
{
	return (uint8_t)(seq * 11u + b + 0x80u);
}

/* The one entry of filler append `seq` is intact. */
static void check_filler(const struct dp_rx_msg *m, uint32_t seq)
{
	assert_int_equal(m->frame.type, RAFT_MSG_APPEND);
	assert_int_equal(m->frame.raft.append.prev_index, 1000 + seq);
	assert_int_equal(m->frame.raft.append.entries_count, 1);
	const uint8_t *p = (const uint8_t *)(uintptr_t)m->frame.raft.append.entries[0].payload;
	for (uint32_t b = 0; b < PAYLOAD_BYTES; b++) {
		if (p[b] != filler_byte(seq, b)) {
			fail_msg("filler %u byte %u changed while control held it", seq, b);
		}
	}
}

/* Polls the stage until the rx ring holds `want` messages (or 2 s pass). */
static uint32_t poll_until_held(struct node_rxtx *x, uint32_t want)
{
	for (int i = 0; i < 2000 && dp_ring_count(&x->link->rx) < want; i++) {
		node_rxtx_poll(x);
		usleep(1000);
	}
	return dp_ring_count(&x->link->rx);
}

static void test_rxtx_hands_over_and_holds_back(void **state)
{
	(void)state;
	static struct dp_transport sender, receiver;
	static struct node_rxtx x;
	static struct node_rxtx_link link;
	uint16_t port = (uint16_t)(30000 + getpid() % 20000);
	struct dp_peer to_receiver = {.id = 2, .ip = LOOPBACK, .port = (uint16_t)(port + 1)};
	struct dp_peer to_sender = {.id = 1, .ip = LOOPBACK, .port = port};
	open_node(&sender, 1, port, &to_receiver);
	open_node(&receiver, 2, (uint16_t)(port + 1), &to_sender);
	assert_int_equal(node_rxtx_init(&x, &link, &receiver, false), 0);
	assert_null(receiver.tx_ring); /* UDP: control sends on the socket itself */

	/* An append with known bytes, then more heartbeats than messages. */
	static uint8_t payload[APPEND_ENTRIES][PAYLOAD_BYTES];
	struct raft_entry entries[APPEND_ENTRIES];
	const uint8_t *payloads[APPEND_ENTRIES];
	for (uint32_t e = 0; e < APPEND_ENTRIES; e++) {
		for (uint32_t b = 0; b < PAYLOAD_BYTES; b++) {
			payload[e][b] = payload_byte(e, b);
		}
		entries[e] = (struct raft_entry){.index = 5 + e, .term = 2,
						 .payload_bytes = PAYLOAD_BYTES,
						 .type = RAFT_ENTRY_NORMAL};
		payloads[e] = payload[e];
	}
	struct raft_message app = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 2};
	app.append.prev_index = 4;
	app.append.prev_term = 2;
	app.append.entries = entries;
	app.append.entries_count = APPEND_ENTRIES;
	assert_int_equal(dp_transport_send(&sender, &app, payloads), 0);
	static uint8_t filler[PAYLOAD_BYTES];
	const uint8_t *filler_payload[1] = {filler};
	struct raft_entry fill_entry = entries[0];
	struct raft_message fill = app;
	fill.append.entries = &fill_entry;
	fill.append.entries_count = 1;
	for (uint32_t i = 0; i < FILLERS; i++) {
		for (uint32_t b = 0; b < PAYLOAD_BYTES; b++) {
			filler[b] = filler_byte(i, b);
		}
		fill.append.prev_index = 1000 + i;
		fill_entry.index = 1000 + i + 1;
		assert_int_equal(dp_transport_send(&sender, &fill, filler_payload), 0);
	}

	/* Control holds nothing yet: the stage fills every message it has,
	 * then stops receiving and says so. */
	assert_int_equal(poll_until_held(&x, NODE_RX_MSGS), NODE_RX_MSGS);
	uint64_t exhausted = link.rx_msgs_exhausted;
	for (int i = 0; i < 10; i++) {
		node_rxtx_poll(&x);
	}
	assert_int_equal(dp_ring_count(&link.rx), NODE_RX_MSGS);
	assert_true(link.rx_msgs_exhausted >= exhausted + 10);
	assert_int_equal(receiver.counters.received, NODE_RX_MSGS);

	/* Control takes them all: in order, the append's bytes intact although
	 * 127 later frames were received since, into the other messages. */
	static struct dp_rx_msg *held[NODE_RX_MSGS];
	assert_int_equal(dp_ring_pop_elems(&link.rx, held, NODE_RX_MSGS), NODE_RX_MSGS);
	assert_int_equal(held[0]->frame.type, RAFT_MSG_APPEND);
	const struct raft_message *got = &held[0]->frame.raft;
	assert_int_equal(got->append.entries_count, APPEND_ENTRIES);
	assert_int_equal(got->append.prev_index, 4);
	for (uint32_t e = 0; e < APPEND_ENTRIES; e++) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)got->append.entries[e].payload;
		assert_int_equal(got->append.entries[e].payload_bytes, PAYLOAD_BYTES);
		assert_int_equal(got->append.entries[e].index, 5 + e);
		for (uint32_t b = 0; b < PAYLOAD_BYTES; b++) {
			if (p[b] != payload_byte(e, b)) {
				fail_msg("entry %u byte %u changed while control held it", e, b);
			}
		}
	}
	for (uint32_t i = 1; i < NODE_RX_MSGS; i++) {
		check_filler(held[i], i - 1);
		assert_true(held[i]->rx_ns > 0 && held[i]->rx_ns >= held[i - 1]->rx_ns);
	}
	for (uint32_t i = 0; i < NODE_RX_MSGS; i++) {
		dp_transport_rx_done(held[i]);
	}
	assert_int_equal(dp_ring_push_elems(&link.done, held, NODE_RX_MSGS), NODE_RX_MSGS);

	/* Given back, they carry the rest: none was lost while held back. */
	uint32_t rest = FILLERS + 1 - NODE_RX_MSGS;
	assert_int_equal(poll_until_held(&x, rest), rest);
	assert_int_equal(dp_ring_pop_elems(&link.rx, held, rest), rest);
	for (uint32_t i = 0; i < rest; i++) {
		check_filler(held[i], NODE_RX_MSGS - 1 + i);
	}
	assert_int_equal(receiver.counters.received, FILLERS + 1);
	assert_int_equal(dp_wire_dropped(&receiver.wire.counters, DP_ERR_BAD_TAG), 0);
	node_rxtx_fini(&x);
	dp_transport_close(&receiver);
	dp_transport_close(&sender);
}

/* The memory the README's formula states: UDP adds a frame per message. */
static void test_rxtx_memory(void **state)
{
	(void)state;
	uint64_t dpdk = node_rxtx_memory_bytes(DP_TRANSPORT_DPDK);
	uint64_t udp = node_rxtx_memory_bytes(DP_TRANSPORT_UDP);
	assert_true(dpdk >= (uint64_t)NODE_RX_MSGS * sizeof(struct dp_rx_msg) +
				    (uint64_t)NODE_TX_RING_SLOTS * sizeof(void *));
	assert_true(udp >= (uint64_t)NODE_RX_MSGS * (sizeof(struct dp_rx_msg) + DP_FRAME_BYTES_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rxtx_hands_over_and_holds_back),
		cmocka_unit_test(test_rxtx_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
