/* SPDX-License-Identifier: MIT */
/*
 * dp_endpoint.c - a DPDK endpoint for the namespace test: it brings up one
 * port (net_af_packet, or net_af_xdp with --pmd af_xdp, on a veth inside a
 * namespace; net_tap with --pmd tap on a tap device bridged to it) with the
 * dataplane's own EAL and port code, then, until --seconds pass or SIGTERM:
 *   - answers ARP for --ip and ICMP echo (dp_l2_answer), so `ping` works;
 *   - echoes UDP datagrams sent to --echo-port back to their sender;
 *   - decodes authenticated raft frames on --port and answers each
 *     HEARTBEAT with a sealed HEARTBEAT_RESP echoing its read_seq.
 * Everything is answered from the received mbuf (no allocation). The loop
 * is one dp_stage on a dp_lcore: adaptive idle, or with --event the event
 * policy sleeping on the port's rx interrupt (dp_port_config.rx_intr; the
 * lcore naps where the driver has none). At exit it prints its counters
 * and the lcore's sleeps, which the test checks.
 *
 * Exit status: 0 ok, 77 when DPDK cannot start here (the test skips), 1 on
 * any other failure.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "common.h"
#include "dataplane.h"
#include "wire_internal.h"

#define EP_ENTRIES_MAX 64u

static volatile sig_atomic_t ep_stop; /* the signal-set stop flag */

static void ep_on_signal(int sig)
{
	(void)sig;
	ep_stop = 1;
}

struct ep_config {
	const char *iface;
	uint32_t ip;
	const char *file_prefix;
	uint32_t seconds;
	uint16_t port;
	uint16_t echo_port;
	const char *pmd; /* "af_packet" (default), "af_xdp" or "tap" */
	bool event;	 /* idle: sleep on the port's rx interrupt */
};

struct ep {
	struct ep_config cfg;
	struct dp_port port;
	struct dp_host host;
	struct dp_wire wire;
	struct raft_entry entries[EP_ENTRIES_MAX];
	uint64_t arp_icmp_answered;
	uint64_t udp_echoed;
	uint64_t heartbeats_answered;
	uint64_t ignored;
	uint64_t deadline_tsc;
	int stop; /* the lcore's stop flag: a signal or --seconds */
};

/* Swaps MACs, IPs and ports of a UDP frame and sends it back. */
static int ep_udp_echo(struct ep *e, uint8_t *f, size_t bytes)
{
	if (bytes < DP_UDP_PAYLOAD_OFFSET || wire_ld16_be(f + 12) != DP_ETHERTYPE_IPV4) {
		return 0;
	}
	uint8_t *ip = f + DP_ETH_HDR_BYTES;
	uint8_t *udp = ip + DP_IPV4_HDR_BYTES;
	if (ip[0] != 0x45 || ip[9] != DP_IPPROTO_UDP || wire_ld32_be(ip + 16) != e->host.ip ||
	    wire_ld16_be(udp + 2) != e->cfg.echo_port) {
		return 0;
	}
	uint8_t mac[6];
	memcpy(mac, f + 6, 6);
	memcpy(f, mac, 6);
	memcpy(f + 6, e->host.mac, 6);
	uint32_t src = wire_ld32_be(ip + 12);
	wire_st32_be(ip + 12, e->host.ip);
	wire_st32_be(ip + 16, src);
	wire_st16_be(ip + 10, 0);
	wire_st16_be(ip + 10, wire_ip_checksum(ip));
	uint16_t sport = wire_ld16_be(udp);
	wire_st16_be(udp, wire_ld16_be(udp + 2));
	wire_st16_be(udp + 2, sport);
	wire_st16_be(udp + 6, 0); /* no checksum: legal for UDP over IPv4 */
	return 1;
}

/* A sealed HEARTBEAT_RESP in place of the HEARTBEAT in m. Returns its bytes. */
static int ep_heartbeat(struct ep *e, struct rte_mbuf *m, const struct dp_rx_frame *in)
{
	struct raft_message resp = {.type = RAFT_MSG_HEARTBEAT_RESP, .from = e->wire.self_id,
				    .to = in->raft.from, .term = in->raft.term};
	resp.heartbeat_resp.read_seq = in->raft.heartbeat.read_seq;
	struct dp_endpoints a = {.src_ip = e->host.ip, .dst_ip = in->addr.src_ip,
				 .src_port = in->addr.dst_port, .dst_port = in->addr.src_port};
	memcpy(a.src_mac, e->host.mac, 6);
	memcpy(a.dst_mac, in->addr.src_mac, 6);
	uint8_t *buf = rte_pktmbuf_mtod(m, uint8_t *);
	size_t room = (size_t)m->data_len + rte_pktmbuf_tailroom(m);
	return dp_wire_encode_raft(&e->wire, &a, in->msg_seq, &resp, NULL, buf, room);
}

/* Decides what to do with one received frame: 1 = send m back, 0 = free. */
static int ep_handle(struct ep *e, struct rte_mbuf *m)
{
	if (m->nb_segs != 1) {
		return 0; /* our frames fit one segment */
	}
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	size_t bytes = m->data_len;
	size_t answer = dp_l2_answer(&e->host, f, bytes);
	if (answer > 0) {
		e->arp_icmp_answered++;
		m->data_len = (uint16_t)answer;
		m->pkt_len = (uint32_t)answer;
		return 1;
	}
	if (ep_udp_echo(e, f, bytes)) {
		e->udp_echoed++;
		return 1;
	}
	struct dp_rx_frame in;
	int rc = dp_wire_decode(&e->wire, f, bytes, e->entries, EP_ENTRIES_MAX, &in);
	if (rc == 0 && in.type == RAFT_MSG_HEARTBEAT) {
		int n = ep_heartbeat(e, m, &in);
		if (n > 0) {
			e->heartbeats_answered++;
			m->data_len = (uint16_t)n;
			m->pkt_len = (uint32_t)n;
			return 1;
		}
	}
	e->ignored++;
	return 0;
}

/* One round of the endpoint's stage: a burst received and answered. */
static uint32_t ep_poll(void *ctx)
{
	struct ep *e = ctx;
	struct rte_mbuf *rx[DP_BURST_MAX];
	struct rte_mbuf *tx[DP_BURST_MAX];
	if (ep_stop || rte_get_tsc_cycles() >= e->deadline_tsc) {
		e->stop = 1;
	}
	uint16_t n = dp_port_rx(&e->port, rx, DP_BURST_MAX);
	uint16_t out = 0;
	for (uint16_t i = 0; i < n; i++) {
		if (ep_handle(e, rx[i])) {
			rx[i]->ol_flags = 0; /* no rx flags leak into tx */
			tx[out++] = rx[i];
		} else {
			rte_pktmbuf_free(rx[i]);
		}
	}
	if (out > 0) {
		dp_port_tx(&e->port, tx, out);
	}
	return n;
}

static int ep_wait_fd(void *ctx)
{
	int fd = dp_port_rx_intr_fd(&((struct ep *)ctx)->port);
	return fd >= 0 ? fd : DP_WAIT_FD_POLL;
}

static bool ep_sleep_arm(void *ctx, bool on)
{
	return dp_port_rx_intr_arm(&((struct ep *)ctx)->port, on);
}

static void ep_loop(struct ep *e, struct dp_lcore *l)
{
	e->deadline_tsc = rte_get_tsc_cycles() + (uint64_t)e->cfg.seconds * rte_get_tsc_hz();
	/* Adaptive naps of 50 us at most: the machine is shared. The event
	 * policy's longest sleep (50 ms) bounds how late a signal is seen. */
	struct dp_lcore_config lc = {.idle_policy = e->cfg.event ? DP_IDLE_EVENT
								 : DP_IDLE_ADAPTIVE,
				     .spin_rounds_max = 16, .sleep_us_max = 50};
	struct dp_stage st = {.name = "endpoint", .poll = ep_poll, .ctx = e,
			      .wait_fd = ep_wait_fd, .sleep_arm = ep_sleep_arm};
	dp_lcore_init(l, &lc);
	RN_ASSERT(dp_lcore_add_stage(l, &st) == 0);
	char why[200];
	int rc = dp_lcore_event_open(l, why, sizeof(why));
	if (rc != 0) {
		printf("idle: %s\n", why);
	}
	printf("idle: %s, rx_intr_fd=%d\n", l->event ? "event" : "adaptive",
	       dp_port_rx_intr_fd(&e->port));
	fflush(stdout);
	dp_lcore_run(l, &e->stop);
	dp_lcore_fini(l);
}

static void ep_print(const struct ep *e, const struct dp_lcore *l)
{
	const struct dp_wire_counters *c = &e->wire.counters;
	printf("counters rx=%llu tx=%llu tx_unsent_freed=%llu arp_icmp=%llu udp_echo=%llu "
	       "heartbeats=%llu ignored=%llu accepted=%llu bad_tag=%llu\n",
	       (unsigned long long)e->port.counters.rx_frames,
	       (unsigned long long)e->port.counters.tx_frames,
	       (unsigned long long)e->port.counters.tx_unsent_freed,
	       (unsigned long long)e->arp_icmp_answered, (unsigned long long)e->udp_echoed,
	       (unsigned long long)e->heartbeats_answered, (unsigned long long)e->ignored,
	       (unsigned long long)c->frames_accepted,
	       (unsigned long long)dp_wire_dropped(c, DP_ERR_BAD_TAG));
	printf("lcore sleeps=%llu wakeups_by_event=%llu wakeups_by_cap=%llu\n",
	       (unsigned long long)l->stats.sleeps,
	       (unsigned long long)l->stats.wakeups_by_event,
	       (unsigned long long)l->stats.wakeups_by_cap);
	fflush(stdout);
}

static int ep_parse(int argc, char **argv, struct ep_config *cfg)
{
	static const struct option opts[] = {
		{"iface", required_argument, NULL, 'i'}, {"ip", required_argument, NULL, 'a'},
		{"file-prefix", required_argument, NULL, 'f'},
		{"seconds", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'},
		{"pmd", required_argument, NULL, 'p'}, {"event", no_argument, NULL, 'e'},
		{NULL, 0, NULL, 0},
	};
	struct in_addr addr = {0};
	*cfg = (struct ep_config){.seconds = 30, .port = 7400, .echo_port = 7401,
				  .pmd = "af_packet"};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': cfg->iface = optarg; break;
		case 'a': if (inet_pton(AF_INET, optarg, &addr) != 1) return -1; break;
		case 'f': cfg->file_prefix = optarg; break;
		case 's': cfg->seconds = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'p': cfg->pmd = optarg; break;
		case 'e': cfg->event = true; break;
		default: return -1;
		}
	}
	cfg->ip = ntohl(addr.s_addr);
	return cfg->iface != NULL && cfg->file_prefix != NULL && cfg->ip != 0 ? 0 : -1;
}

extern const uint8_t ep_secret[32];
const uint8_t ep_secret[32] = "raftnode netns test secret, 32!";

static int ep_start(struct ep *e, char *err, size_t err_bytes)
{
	char vdev[96], name[32];
	bool xdp = strcmp(e->cfg.pmd, "af_xdp") == 0;
	bool tap = strcmp(e->cfg.pmd, "tap") == 0;
	snprintf(name, sizeof(name), "net_%s0", xdp ? "af_xdp" : tap ? "tap" : "af_packet");
	if (tap) {
		/* The test made the tap (multi_queue) and bridged it: persist
		 * leaves it there when we exit. */
		snprintf(vdev, sizeof(vdev), "%s,iface=%s,persist", name, e->cfg.iface);
	} else if (xdp) {
		snprintf(vdev, sizeof(vdev), "%s,iface=%s,start_queue=0,queue_count=1", name,
			 e->cfg.iface);
	} else {
		snprintf(vdev, sizeof(vdev), "%s,iface=%s,qpairs=1", name, e->cfg.iface);
	}
	const char *vdevs[] = {vdev};
	struct dp_eal_config eal = {.lcores = "0", .file_prefix = e->cfg.file_prefix,
				    .vdevs = vdevs, .vdevs_count = 1,
				    .hugepages = DP_HUGEPAGES_AUTO, .memory_mb = 256};
	int rc = dp_eal_start(&eal, err, err_bytes);
	if (rc != 0) {
		return 77;
	}
	struct dp_port_config pc = {.mbufs_count = 4095, .rx_intr = e->cfg.event};
	if (dp_port_find(name, &pc.port_id) != 0) {
		snprintf(err, err_bytes, "%s did not probe on %s", name, e->cfg.iface);
		return 77;
	}
	rc = dp_port_init(&e->port, &pc);
	if (rc != 0) {
		snprintf(err, err_bytes, "%s", e->port.errmsg);
		return xdp ? 77 : 1; /* af_xdp depends on the kernel: report, skip */
	}
	struct dp_wire_config wc = {.cluster_id = 7, .self_id = 2, .secret = ep_secret,
				    .secret_bytes = sizeof(ep_secret), .udp_port = e->cfg.port};
	if (dp_wire_init(&e->wire, &wc) != 0) {
		snprintf(err, err_bytes, "dp_wire_init failed");
		return 1;
	}
	memcpy(e->host.mac, e->port.mac, 6);
	e->host.ip = e->cfg.ip;
	return 0;
}

int main(int argc, char **argv)
{
	static struct ep e;
	char err[200] = "";
	if (ep_parse(argc, argv, &e.cfg) != 0) {
		fprintf(stderr, "usage: dp_endpoint --iface IF --ip A.B.C.D --file-prefix P "
			"[--seconds S] [--pmd af_packet|af_xdp|tap] [--event]\n");
		return 2;
	}
	signal(SIGTERM, ep_on_signal);
	signal(SIGINT, ep_on_signal);
	int rc = ep_start(&e, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "dp_endpoint: %s\n", err);
		return rc;
	}
	printf("ready mac=%02x:%02x:%02x:%02x:%02x:%02x tx_offloads=0x%llx\n", e.host.mac[0],
	       e.host.mac[1], e.host.mac[2], e.host.mac[3], e.host.mac[4], e.host.mac[5],
	       (unsigned long long)e.port.tx_offloads);
	fflush(stdout);
	static struct dp_lcore l;
	ep_loop(&e, &l);
	ep_print(&e, &l);
	dp_port_fini(&e.port);
	dp_wire_fini(&e.wire);
	dp_eal_stop();
	return 0;
}
