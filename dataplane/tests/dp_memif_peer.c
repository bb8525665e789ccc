/* SPDX-License-Identifier: MIT */
/*
 * dp_memif_peer.c - one side of the two-process memif test.
 *
 * --role client sends --frames authenticated AppendEntries frames over a
 * net_memif link: frame i has msg_seq i, one entry of index i whose payload
 * (16..1040 bytes, size and bytes derived from i) the receiver can check.
 * A full ring is back-pressure: the unsent tail is retried, never dropped.
 * --role server receives them and checks each one: it must decode and
 * authenticate, come in order (msg_seq = previous + 1: no loss, no
 * reordering) and carry exactly the expected payload (no corruption). When
 * all have arrived it answers with a sealed HEARTBEAT_RESP whose read_seq is
 * the count, which the client waits for before it exits (so no frame is
 * still in flight when a process leaves).
 *
 * Prints one "result ..." line. Exit 0 on success, 77 when DPDK or memif
 * cannot start here, 1 on any loss, reordering, corruption or timeout.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "common.h"
#include "dataplane.h"

#define PEER_ENTRIES_MAX 4u

static const uint8_t peer_secret[32] = "raftnode memif test secret, 32!";

struct peer {
	bool server;
	const char *socket_path;
	const char *file_prefix;
	const char *lcores;
	uint64_t frames;
	uint32_t seconds;
	struct dp_port port;
	struct dp_wire wire;
	struct dp_endpoints addr;
	uint64_t deadline_tsc;
	/* server */
	uint64_t received, lost, reordered, corrupted, rejected;
};

static uint32_t peer_payload_bytes(uint64_t seq)
{
	return 16u + (uint32_t)((seq * 2654435761u) % 1025u);
}

static uint8_t peer_payload_byte(uint64_t seq, uint32_t i)
{
	return (uint8_t)(seq * 31u + i * 7u + (seq >> 8));
}

static bool peer_time_left(const struct peer *p)
{
	return rte_get_tsc_cycles() < p->deadline_tsc;
}

static void peer_idle(void)
{
	struct timespec idle = {.tv_sec = 0, .tv_nsec = 20 * 1000};
	nanosleep(&idle, NULL);
}

/* Encodes frame seq into a fresh mbuf. */
static struct rte_mbuf *peer_frame(struct peer *p, uint64_t seq)
{
	static uint8_t payload[1100];
	struct rte_mbuf *m = rte_pktmbuf_alloc(p->port.pool);
	if (m == NULL) {
		return NULL;
	}
	uint32_t bytes = peer_payload_bytes(seq);
	for (uint32_t i = 0; i < bytes; i++) {
		payload[i] = peer_payload_byte(seq, i);
	}
	struct raft_entry e = {.term = 2, .index = seq, .payload_bytes = bytes,
			       .type = RAFT_ENTRY_NORMAL};
	const uint8_t *payloads[1] = {payload};
	struct raft_message msg = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 2};
	msg.append = (struct raft_msg_append){seq - 1, seq == 1 ? 0 : 2, seq - 1, &e, 1, false, false};
	uint8_t *buf = rte_pktmbuf_mtod(m, uint8_t *);
	int n = dp_wire_encode_raft(&p->wire, &p->addr, seq, &msg, payloads, buf,
				    rte_pktmbuf_tailroom(m));
	RN_ASSERT(n > 0);
	m->data_len = (uint16_t)n;
	m->pkt_len = (uint32_t)n;
	return m;
}

static int peer_client(struct peer *p)
{
	struct rte_mbuf *burst[DP_BURST_MAX];
	uint16_t pending = 0, at = 0;
	uint64_t next = 1;
	while ((next <= p->frames || at < pending) && peer_time_left(p)) {
		if (at == pending) { /* refill the burst */
			pending = 0;
			at = 0;
			while (pending < DP_BURST_MAX && next <= p->frames) {
				struct rte_mbuf *m = peer_frame(p, next);
				if (m == NULL) {
					break; /* pool empty: the ring still holds mbufs */
				}
				burst[pending++] = m;
				next++;
			}
		}
		uint16_t sent = dp_port_tx_burst(&p->port, burst + at, (uint16_t)(pending - at));
		at = (uint16_t)(at + sent);
		if (sent == 0) {
			peer_idle(); /* ring full: let the server drain it */
		}
	}
	if (at < pending) {
		rte_pktmbuf_free_bulk(burst + at, (unsigned)(pending - at));
	}
	/* Wait for the server's sealed count. */
	struct raft_entry entries[PEER_ENTRIES_MAX];
	while (peer_time_left(p)) {
		struct rte_mbuf *rx[DP_BURST_MAX];
		uint16_t n = dp_port_rx(&p->port, rx, DP_BURST_MAX);
		for (uint16_t i = 0; i < n; i++) {
			struct dp_rx_frame in;
			int rc = dp_wire_decode(&p->wire, rte_pktmbuf_mtod(rx[i], uint8_t *),
						rx[i]->data_len, entries, PEER_ENTRIES_MAX, &in);
			rte_pktmbuf_free(rx[i]);
			if (rc == 0 && in.type == RAFT_MSG_HEARTBEAT_RESP) {
				uint64_t count = in.raft.heartbeat_resp.read_seq;
				printf("result client sent=%llu server_received=%llu\n",
				       (unsigned long long)(next - 1), (unsigned long long)count);
				return count == p->frames ? 0 : 1;
			}
		}
		if (n == 0) {
			peer_idle();
		}
	}
	printf("result client sent=%llu timeout waiting for the server\n",
	       (unsigned long long)(next - 1));
	return 1;
}

/* Checks one received frame against what frame `expect` must be. */
static void peer_check(struct peer *p, struct rte_mbuf *m, uint64_t *expect)
{
	struct raft_entry entries[PEER_ENTRIES_MAX];
	struct dp_rx_frame in;
	int rc = dp_wire_decode(&p->wire, rte_pktmbuf_mtod(m, uint8_t *), m->data_len, entries,
				PEER_ENTRIES_MAX, &in);
	if (rc != 0 || in.type != RAFT_MSG_APPEND || in.raft.append.entries_count != 1) {
		p->rejected++;
		return;
	}
	uint64_t seq = in.msg_seq;
	if (seq < *expect) {
		p->reordered++;
		return;
	}
	if (seq > *expect) {
		p->lost += seq - *expect;
	}
	*expect = seq + 1;
	p->received++;
	const struct raft_entry *e = &entries[0];
	const uint8_t *payload = (const uint8_t *)(uintptr_t)e->payload;
	bool ok = e->index == seq && e->payload_bytes == peer_payload_bytes(seq);
	for (uint32_t i = 0; ok && i < e->payload_bytes; i++) {
		ok = payload[i] == peer_payload_byte(seq, i);
	}
	if (!ok) {
		p->corrupted++;
	}
}

static int peer_server(struct peer *p)
{
	uint64_t expect = 1;
	while (expect <= p->frames && peer_time_left(p)) {
		struct rte_mbuf *rx[DP_BURST_MAX];
		uint16_t n = dp_port_rx(&p->port, rx, DP_BURST_MAX);
		for (uint16_t i = 0; i < n; i++) {
			peer_check(p, rx[i], &expect);
		}
		if (n > 0) {
			rte_pktmbuf_free_bulk(rx, n);
		} else {
			peer_idle();
		}
	}
	/* Tell the client how many arrived (sealed, so it cannot be faked). */
	struct rte_mbuf *m = rte_pktmbuf_alloc(p->port.pool);
	if (m != NULL) {
		struct raft_message done = {.type = RAFT_MSG_HEARTBEAT_RESP, .from = 2, .to = 1,
					    .term = 2};
		done.heartbeat_resp.read_seq = p->received;
		int n = dp_wire_encode_raft(&p->wire, &p->addr, 0, &done, NULL,
					    rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m));
		RN_ASSERT(n > 0);
		m->data_len = (uint16_t)n;
		m->pkt_len = (uint32_t)n;
		dp_port_tx(&p->port, &m, 1);
	}
	printf("result server received=%llu lost=%llu reordered=%llu corrupted=%llu "
	       "rejected=%llu bad_tag=%llu\n", (unsigned long long)p->received,
	       (unsigned long long)p->lost, (unsigned long long)p->reordered,
	       (unsigned long long)p->corrupted, (unsigned long long)p->rejected,
	       (unsigned long long)dp_wire_dropped(&p->wire.counters, DP_ERR_BAD_TAG));
	bool ok = p->received == p->frames && p->lost == 0 && p->reordered == 0 &&
		  p->corrupted == 0 && p->rejected == 0;
	/* Give the client time to read the count before the link goes. */
	uint64_t linger = rte_get_tsc_cycles() + rte_get_tsc_hz();
	while (rte_get_tsc_cycles() < linger) {
		peer_idle();
	}
	return ok ? 0 : 1;
}

static int peer_parse(int argc, char **argv, struct peer *p)
{
	static const struct option opts[] = {
		{"role", required_argument, NULL, 'r'}, {"socket", required_argument, NULL, 's'},
		{"file-prefix", required_argument, NULL, 'f'},
		{"lcores", required_argument, NULL, 'l'}, {"frames", required_argument, NULL, 'n'},
		{"seconds", required_argument, NULL, 't'}, {NULL, 0, NULL, 0},
	};
	p->frames = 100000;
	p->seconds = 60;
	p->lcores = "0";
	const char *role = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': role = optarg; break;
		case 's': p->socket_path = optarg; break;
		case 'f': p->file_prefix = optarg; break;
		case 'l': p->lcores = optarg; break;
		case 'n': p->frames = strtoull(optarg, NULL, 10); break;
		case 't': p->seconds = (uint32_t)strtoul(optarg, NULL, 10); break;
		default: return -1;
		}
	}
	if (role == NULL || p->socket_path == NULL || p->file_prefix == NULL || p->frames == 0) {
		return -1;
	}
	p->server = strcmp(role, "server") == 0;
	return p->server || strcmp(role, "client") == 0 ? 0 : -1;
}

static int peer_start(struct peer *p)
{
	char vdev[256], err[200];
	snprintf(vdev, sizeof(vdev), "net_memif0,role=%s,socket=%s,id=0",
		 p->server ? "server" : "client", p->socket_path);
	const char *vdevs[] = {vdev};
	struct dp_eal_config eal = {.lcores = p->lcores, .file_prefix = p->file_prefix,
				    .vdevs = vdevs, .vdevs_count = 1, .memory_mb = 256};
	if (dp_eal_start(&eal, err, sizeof(err)) != 0) {
		fprintf(stderr, "dp_memif_peer: %s\n", err);
		return 77;
	}
	struct dp_port_config pc = {.mbufs_count = 8191};
	if (dp_port_find("net_memif0", &pc.port_id) != 0) {
		fprintf(stderr, "dp_memif_peer: net_memif0 did not probe\n");
		return 77;
	}
	if (dp_port_init(&p->port, &pc) != 0) {
		fprintf(stderr, "dp_memif_peer: %s\n", p->port.errmsg);
		return 1;
	}
	struct dp_wire_config wc = {.cluster_id = 9, .self_id = p->server ? 2 : 1,
				    .secret = peer_secret, .secret_bytes = sizeof(peer_secret),
				    .udp_port = 7400};
	if (dp_wire_init(&p->wire, &wc) != 0) {
		return 1;
	}
	p->addr = (struct dp_endpoints){.src_port = 7400, .dst_port = 7400,
					.src_ip = p->server ? 0x0a000002u : 0x0a000001u,
					.dst_ip = p->server ? 0x0a000001u : 0x0a000002u};
	memcpy(p->addr.src_mac, p->port.mac, 6);
	p->deadline_tsc = rte_get_tsc_cycles() + (uint64_t)p->seconds * rte_get_tsc_hz();
	return 0;
}

int main(int argc, char **argv)
{
	static struct peer p;
	if (peer_parse(argc, argv, &p) != 0) {
		fprintf(stderr, "usage: dp_memif_peer --role server|client --socket PATH "
			"--file-prefix P [--lcores L] [--frames N] [--seconds S]\n");
		return 2;
	}
	int rc = peer_start(&p);
	if (rc != 0) {
		return rc;
	}
	printf("ready %s\n", p.server ? "server" : "client");
	fflush(stdout);
	/* Both sides wait for the link before the clock matters. */
	while (dp_port_link_up(&p.port) != 1 && peer_time_left(&p)) {
		peer_idle();
	}
	rc = p.server ? peer_server(&p) : peer_client(&p);
	fflush(stdout);
	dp_port_fini(&p.port);
	dp_eal_stop();
	return rc;
}
