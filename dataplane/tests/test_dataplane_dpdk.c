/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_dpdk.c - DPDK in one process. First: one AppendEntries body goes to several
 * followers without being copied, and each follower's frame authenticates.
 *
 * Method: start DPDK (--no-huge, own file prefix) with a net_ring0 port,
 * whose tx ring is its rx ring (a loopback). Serialise an AppendEntries of
 * 6 entries x 256 B into one body mbuf (one standard mbuf: jumbo bodies need
 * a pool with a larger data room), fan it out to 4 followers, and
 * check before sending that every frame's body segment is the body's own
 * buffer (no copy) and the body's refcount is 1 + 4. Send all frames,
 * receive them back, flatten each (test-side copy) and decode it with that
 * follower's codec: every one must decode to the original message, and no
 * follower may accept another's frame (the tag covers `to`). After the
 * frames are freed the body's refcount is back to 1. The same port also
 * carries the DPDK transport (dp_transport_*) through the loopback: a node
 * addressed as its own peer sends a heartbeat and receives it, then the
 * same in two halves through a tx ring and held messages. Last,
 * dp_sched_run runs a producer stage on the main lcore and a consumer on an
 * EAL worker lcore through an SPSC ring: 100,000 items, in order.
 * Exit 77 when DPDK cannot start here.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_mbuf.h>

#include "dataplane.h"
#include "wire_internal.h"
#include "wire_util.h"

#define FOLLOWERS 4u
#define ENTRIES 6u
#define PAYLOAD_BYTES 256u

static struct dp_port port;

static void test_fanout_shares_body(void **state)
{
	(void)state;
	struct dp_wire leader, followers[FOLLOWERS];
	struct raft_entry entries[ENTRIES], rx_entries[ENTRIES];
	const uint8_t *payloads[ENTRIES];
	struct raft_message m;
	t_wire(&leader, 1, T_CLUSTER_ID, t_secret);
	for (uint32_t i = 0; i < FOLLOWERS; i++) {
		t_wire(&followers[i], 2 + i, T_CLUSTER_ID, t_secret);
	}
	t_raft_msg(RAFT_MSG_APPEND, ENTRIES, PAYLOAD_BYTES, &m, entries, payloads);

	struct rte_mbuf *body = rte_pktmbuf_alloc(port.pool);
	assert_non_null(body);
	int n = dp_wire_raft_body(&m, payloads, rte_pktmbuf_mtod(body, uint8_t *),
				  rte_pktmbuf_tailroom(body));
	assert_true(n > 0);
	body->data_len = (uint16_t)n;
	body->pkt_len = (uint32_t)n;

	struct dp_fanout_target targets[FOLLOWERS];
	for (uint32_t i = 0; i < FOLLOWERS; i++) {
		targets[i].to = 2 + i;
		t_addr(&targets[i].addr);
	}
	struct dp_fanout_msg msg = {.type = RAFT_MSG_APPEND, .from = 1, .term = 5, .msg_seq = 42};
	struct rte_mbuf *frames[FOLLOWERS];
	assert_int_equal(dp_fanout(&leader, port.pool, body, &msg, targets, FOLLOWERS, frames), 0);
	assert_int_equal(rte_mbuf_refcnt_read(body), 1 + FOLLOWERS);
	for (uint32_t i = 0; i < FOLLOWERS; i++) {
		assert_int_equal(frames[i]->nb_segs, 3);
		assert_int_equal(frames[i]->pkt_len, wire_frame_bytes((size_t)n));
		/* The body segment is the body's own buffer: zero copy. */
		assert_ptr_equal(frames[i]->next->buf_addr, body->buf_addr);
		assert_true(RTE_MBUF_CLONED(frames[i]->next));
	}

	uint16_t sent = dp_port_tx_burst(&port, frames, FOLLOWERS);
	assert_int_equal(sent, FOLLOWERS);
	struct rte_mbuf *rx[DP_BURST_MAX];
	uint16_t got = 0;
	for (int tries = 0; tries < 1000 && got < FOLLOWERS; tries++) {
		got = (uint16_t)(got + dp_port_rx(&port, rx + got, (uint16_t)(DP_BURST_MAX - got)));
	}
	assert_int_equal(got, FOLLOWERS);
	static uint8_t flat[DP_FRAME_BYTES_MAX];
	for (uint32_t i = 0; i < got; i++) {
		const uint8_t *f = rte_pktmbuf_read(rx[i], 0, rx[i]->pkt_len, flat);
		assert_non_null(f);
		raft_node_id to = wire_ld32(f + WIRE_RAFT_OFFSET + offsetof(struct dp_wire_hdr, to));
		assert_true(to >= 2 && to < 2 + FOLLOWERS);
		for (uint32_t k = 0; k < FOLLOWERS; k++) {
			struct dp_rx_frame out;
			int rc = dp_wire_decode(&followers[k], f, rx[i]->pkt_len, rx_entries, ENTRIES,
						&out);
			if (k + 2 != to) {
				assert_int_equal(rc, -DP_ERR_WRONG_RECIPIENT);
				continue;
			}
			assert_int_equal(rc, 0);
			assert_int_equal(out.msg_seq, 42);
			assert_int_equal(out.raft.append.entries_count, ENTRIES);
			for (uint32_t e = 0; e < ENTRIES; e++) {
				assert_memory_equal((const void *)(uintptr_t)rx_entries[e].payload,
						    payloads[e], PAYLOAD_BYTES);
			}
		}
		/* Re-addressed to another follower, the tag no longer holds. */
		if (f != flat) {
			memcpy(flat, f, rx[i]->pkt_len);
		}
		raft_node_id other = to == 2 ? 3 : 2;
		wire_st32(flat + WIRE_RAFT_OFFSET + offsetof(struct dp_wire_hdr, to), other);
		struct dp_rx_frame out;
		assert_int_equal(dp_wire_decode(&followers[other - 2], flat, rx[i]->pkt_len,
						rx_entries, ENTRIES, &out),
				 -DP_ERR_BAD_TAG);
	}
	rte_pktmbuf_free_bulk(rx, got);
	assert_int_equal(rte_mbuf_refcnt_read(body), 1);
	rte_pktmbuf_free(body);
}

static void test_fanout_refuses(void **state)
{
	(void)state;
	struct dp_wire leader;
	t_wire(&leader, 1, T_CLUSTER_ID, t_secret);
	struct rte_mbuf *body = rte_pktmbuf_alloc(port.pool);
	assert_non_null(body);
	struct dp_fanout_target target = {.to = 2};
	struct dp_fanout_msg msg = {.type = RAFT_MSG_APPEND, .from = 1, .term = 5};
	struct rte_mbuf *out[RAFT_NODES_MAX + 1];
	assert_int_equal(dp_fanout(&leader, port.pool, body, &msg, &target, 0, out),
			 -DP_ERR_INVALID);
	assert_int_equal(rte_mbuf_refcnt_read(body), 1);
	rte_pktmbuf_free(body);
}

/* dp_sched_run: a producer stage on the main lcore and a consumer stage on
 * a worker lcore, joined by an SPSC ring; the consumer stops both. */
#define SCHED_ITEMS 100000u
static volatile int sched_stop;
struct sched_pipe {
	struct dp_ring ring;
	uintptr_t next_produce, next_expect;
	uint64_t errors;
};

static uint32_t sched_produce(void *ctx)
{
	struct sched_pipe *p = ctx;
	void *burst[DP_BURST_MAX];
	uint32_t n = 0;
	while (n < DP_BURST_MAX && p->next_produce + n <= SCHED_ITEMS) {
		burst[n] = (void *)(p->next_produce + n);
		n++;
	}
	uint32_t pushed = n > 0 ? dp_ring_push_burst(&p->ring, burst, n) : 0;
	p->next_produce += pushed;
	return pushed;
}

static uint32_t sched_consume(void *ctx)
{
	struct sched_pipe *p = ctx;
	void *burst[DP_BURST_MAX];
	uint32_t n = dp_ring_pop_burst(&p->ring, burst, DP_BURST_MAX);
	for (uint32_t i = 0; i < n; i++) {
		p->errors += (uintptr_t)burst[i] != p->next_expect;
		p->next_expect = (uintptr_t)burst[i] + 1;
	}
	if (p->next_expect > SCHED_ITEMS) {
		sched_stop = 1;
	}
	return n;
}

static void test_sched_run_on_eal_lcores(void **state)
{
	(void)state;
	static struct dp_lcore lcores[2];
	static struct sched_pipe p;
	static uint8_t mem[1 << 16] __attribute__((aligned(64)));
	memset(&p, 0, sizeof(p));
	assert_true(dp_ring_mem_bytes(1024) <= sizeof(mem));
	assert_int_equal(dp_ring_init(&p.ring, mem, sizeof(mem), 1024), 0);
	p.next_produce = 1;
	p.next_expect = 1;
	const struct dp_lcore_config cfg = {.idle_policy = DP_IDLE_ADAPTIVE,
					    .spin_rounds_max = 100, .sleep_us_max = 50};
	const struct dp_stage stages[2] = {{.name = "produce", .poll = sched_produce, .ctx = &p},
					   {.name = "consume", .poll = sched_consume, .ctx = &p}};
	const uint32_t place[2] = {0, 1};
	dp_lcore_init(&lcores[0], &cfg);
	dp_lcore_init(&lcores[1], &cfg);
	assert_int_equal(dp_sched_place(stages, place, 2, lcores, 2), 0);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		assert_int_equal(dp_sched_run(lcores, 2, &sched_stop), -DP_ERR_INVALID);
		skip();
	}
	sched_stop = 0;
	assert_int_equal(dp_sched_run(lcores, 2, &sched_stop), 0);
	assert_int_equal(p.next_expect, SCHED_ITEMS + 1);
	assert_int_equal(p.errors, 0);
	assert_int_equal(lcores[1].stats.work_items, SCHED_ITEMS);
}

static void on_rx(void *user, const struct dp_rx_frame *msg)
{
	uint64_t *seen = user;
	if (msg->type == RAFT_MSG_HEARTBEAT && msg->raft.heartbeat.read_seq == 77) {
		(*seen)++;
	}
}

/* Node 2 on the loopback port, its own only peer. */
static void open_loopback_transport(struct dp_transport *t)
{
	struct dp_peer self = {.id = 2, .ip = 0x0a000002u, .port = T_PORT};
	memcpy(self.mac, port.mac, 6);
	struct dp_transport_config cfg = {
		.wire = {.cluster_id = T_CLUSTER_ID, .self_id = 2, .secret = t_secret,
			 .secret_bytes = 32, .udp_port = T_PORT},
		.self_ip = 0x0a000002u, .peers = &self, .peers_count = 1,
	};
	assert_int_equal(dp_transport_open_dpdk(t, &cfg, &port), 0);
}

static void test_dpdk_transport_loopback(void **state)
{
	(void)state;
	static struct dp_transport t;
	open_loopback_transport(&t);
	struct raft_message m = {.type = RAFT_MSG_HEARTBEAT, .from = 1, .to = 2, .term = 3};
	m.heartbeat.read_seq = 77;
	assert_int_equal(dp_transport_send(&t, &m, NULL), 0);
	uint64_t seen = 0;
	for (int i = 0; i < 1000 && seen == 0; i++) {
		dp_transport_poll(&t, on_rx, &seen);
	}
	assert_int_equal(seen, 1);
	assert_int_equal(t.counters.sent, 1);
	assert_int_equal(t.counters.received, 1);
	dp_transport_close(&t);
}

/*
 * The transport in two halves (the rx/tx stage apart from control): sealed
 * frames wait in the tx ring until flushed (a full ring refuses and counts,
 * frees the mbuf); received messages keep their mbuf, still intact while
 * later ones are received, until rx_done; nothing leaks from the pool.
 */
static void test_dpdk_transport_halves(void **state)
{
	(void)state;
	static struct dp_transport t;
	static struct dp_ring tx;
	unsigned pool_before = rte_mempool_avail_count(port.pool);
	open_loopback_transport(&t);
	assert_int_equal(dp_ring_elem_create(&tx, sizeof(void *), 16), 0); /* holds 15 */
	dp_transport_set_tx_ring(&t, &tx);
	struct raft_message m = {.type = RAFT_MSG_HEARTBEAT, .from = 1, .to = 2, .term = 3};
	for (uint64_t i = 0; i < 20; i++) {
		m.heartbeat.read_seq = 100 + i;
		assert_int_equal(dp_transport_send(&t, &m, NULL), i < 15 ? 0 : -ENOBUFS);
	}
	assert_int_equal(t.tx_ring_full, 5);
	assert_int_equal(t.counters.sent, 15);
	struct dp_rx_msg *msgs = dp_rx_msgs_create(DP_TRANSPORT_DPDK, 8);
	assert_non_null(msgs);
	struct dp_rx_msg *held[8];
	for (uint32_t i = 0; i < 8; i++) {
		held[i] = &msgs[i];
	}
	/* Nothing is on the wire before the flush. */
	assert_int_equal(dp_transport_recv(&t, held, 8), 0);
	assert_int_equal(dp_transport_tx_flush(&t), 15);
	assert_int_equal(dp_transport_tx_flush(&t), 0);
	/* Four held, then four more into the other messages: the first four
	 * still read as they were received. */
	uint32_t got = 0;
	for (int tries = 0; tries < 1000 && got < 4; tries++) {
		got += dp_transport_recv(&t, held + got, 4 - got);
	}
	assert_int_equal(got, 4);
	for (int tries = 0; tries < 1000 && got < 8; tries++) {
		got += dp_transport_recv(&t, held + got, 8 - got);
	}
	assert_int_equal(got, 8);
	for (uint32_t i = 0; i < 8; i++) {
		assert_non_null(held[i]->mbuf);
		assert_int_equal(held[i]->frame.type, RAFT_MSG_HEARTBEAT);
		assert_int_equal(held[i]->frame.raft.heartbeat.read_seq, 100 + i);
		dp_transport_rx_done(held[i]);
		assert_null(held[i]->mbuf);
	}
	/* The other seven, one call. */
	got = 0;
	for (int tries = 0; tries < 1000 && got < 7; tries++) {
		got += dp_transport_recv(&t, held + got, 7 - got);
	}
	assert_int_equal(got, 7);
	assert_int_equal(held[6]->frame.raft.heartbeat.read_seq, 114);
	for (uint32_t i = 0; i < 7; i++) {
		dp_transport_rx_done(held[i]);
	}
	assert_int_equal(t.counters.received, 15);
	/* Sealed and never flushed: discarded at stop. */
	assert_int_equal(dp_transport_send(&t, &m, NULL), 0);
	assert_int_equal(dp_transport_send(&t, &m, NULL), 0);
	assert_int_equal(dp_transport_tx_discard(&t), 2);
	assert_int_equal(rte_mempool_avail_count(port.pool), pool_before);
	dp_rx_msgs_destroy(msgs);
	dp_ring_elem_destroy(&tx);
	dp_transport_close(&t);
}

int main(void)
{
	char err[200], prefix[32];
	snprintf(prefix, sizeof(prefix), "rnfan%d", (int)getpid());
	const char *vdevs[] = {"net_ring0"};
	/* Two lcores where there are two CPUs, for dp_sched_run. */
	const char *lcores = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? "0-1" : "0";
	struct dp_eal_config eal = {.lcores = lcores, .file_prefix = prefix, .vdevs = vdevs,
				    .vdevs_count = 1, .hugepages = DP_HUGEPAGES_AUTO,
				    .memory_mb = 128};
	if (dp_eal_start(&eal, err, sizeof(err)) != 0) {
		printf("SKIP: %s\n", err);
		return 77;
	}
	struct dp_port_config pc = {.mbufs_count = 1023, .rx_desc_count = 64,
				    .tx_desc_count = 64};
	if (dp_port_find("net_ring0", &pc.port_id) != 0 || dp_port_init(&port, &pc) != 0) {
		printf("SKIP: net_ring0 unavailable: %s\n", port.errmsg);
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fanout_shares_body),
		cmocka_unit_test(test_fanout_refuses),
		cmocka_unit_test(test_dpdk_transport_loopback),
		cmocka_unit_test(test_dpdk_transport_halves),
		cmocka_unit_test(test_sched_run_on_eal_lcores),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dp_port_fini(&port);
	dp_eal_stop();
	return rc;
}
