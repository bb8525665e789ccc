/* SPDX-License-Identifier: MIT */
/*
 * replaytap - captures a running cluster's frames off a kernel interface
 * and sends them again, byte for byte, for integration test (r): replayed
 * consensus frames must be dropped and counted, replayed client writes
 * answered from their sessions.
 *
 *   replaytap capture --iface IF --out FILE --seconds S --kind consensus|client
 *                     [--port 9000] [--max N] [--ready FILE]
 *                     [--l2 [--to IP]] [--until FILE]
 *       In the nodes' namespace: an AF_PACKET socket on IF (with kernel
 *       UDP every node of a host talks over `lo`; a client's request
 *       reaches node i on rn<i>) keeps each IPv4/UDP datagram to PORT
 *       holding a raft header: consensus = raft types and snapshot frames
 *       from a node's port, client = client requests. Outgoing copies are
 *       skipped (one copy per packet). Writes FILE (u32 bytes + the IP
 *       packet, per record), touches --ready once the socket is open.
 *       --l2 (DPDK nodes, e.g. af_packet): IF is node i's bridge port
 *       (rn<i>b), whose outgoing frames are the ones the bridge delivers
 *       to node i; those are kept, whole Ethernet frames (a DPDK node
 *       checks the source MAC), and --to IP keeps only those addressed to
 *       node i (the bridge floods a frame whose MAC it has not learned to
 *       every port: a copy meant for another node). --until FILE: stop
 *       early, once FILE exists (the test's load is over: no need to wait
 *       out --seconds).
 *   replaytap replay --in FILE [--l2 --iface IF]
 *       In the same namespace: every captured IP packet sent again as it
 *       was (raw socket, IP_HDRINCL: same addresses, ports, payload; the
 *       UDP checksum computed anew, see rt_udp_checksum). --l2: every
 *       captured Ethernet frame sent again byte for byte out of IF (the
 *       bridge port it was captured on: the frame goes to that node).
 *   replaytap client-replay --in FILE [--config FILE] [--writes] [--l2]
 *       Where the client ran: every captured client request (--writes:
 *       PUT, DELETE, CAS only) sent again from its own address and port
 *       (the client is gone, so the port is free), the same UDP payload;
 *       each reply decoded and printed: "reply CLIENT SEQ STATUS". --l2:
 *       the file holds Ethernet frames (capture --l2).
 *
 * Prints one summary line; exits 0, 1 when something failed (no reply,
 * nothing captured), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rn_client.h"

#define RT_PACKET_BYTES_MAX 65536u
#define RT_REPLY_WAIT_MS 1000
#define RT_ATTEMPTS 3
#define RT_ETH_BYTES 14u
/* Frames sent before a pause (a burst well inside a socket's buffer or a
 * DPDK af_packet ring's 2048 frames), and the pause. */
#define RT_BURST_FRAMES 64u
#define RT_BURST_PAUSE_US 1000u

struct rt_opts {
	const char *mode, *iface, *out, *in, *kind, *ready, *config, *until;
	uint32_t seconds, max;
	uint16_t port;
	int writes_only;
	int l2;		/* Ethernet frames, not IP packets */
	uint32_t to_ip; /* --to: capture only packets to this IPv4 (network order) */
};

static uint64_t rt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t rt_ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rt_ld64(const uint8_t *p)
{
	return (uint64_t)rt_ld32(p) | (uint64_t)rt_ld32(p + 4) << 32;
}

/* The UDP payload of an IPv4 packet and its ports; NULL if it is not one. */
static const uint8_t *rt_udp(const uint8_t *ip, size_t bytes, uint16_t *sport, uint16_t *dport,
			     size_t *payload_bytes)
{
	if (bytes < 20 || (ip[0] >> 4) != 4 || ip[9] != IPPROTO_UDP) {
		return NULL;
	}
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;
	if (ihl < 20 || bytes < ihl + 8) {
		return NULL;
	}
	const uint8_t *u = ip + ihl;
	*sport = (uint16_t)(u[0] << 8 | u[1]);
	*dport = (uint16_t)(u[2] << 8 | u[3]);
	*payload_bytes = bytes - ihl - 8;
	return u + 8;
}

static bool rt_consensus_type(uint8_t type)
{
	return (type >= 1 && type < RAFT_MSG_TYPE_COUNT) || type == DP_FRAME_SNAP_CHUNK ||
	       type == DP_FRAME_SNAP_ACK || type == DP_FRAME_SETTINGS;
}

/* The IP packet of a record: past the Ethernet header with --l2 (NULL
 * when the frame is not IPv4). */
static const uint8_t *rt_ip(int l2, const uint8_t *rec, size_t *bytes)
{
	if (!l2) {
		return rec;
	}
	if (*bytes < RT_ETH_BYTES || rec[12] != 0x08 || rec[13] != 0x00) {
		return NULL;
	}
	*bytes -= RT_ETH_BYTES;
	return rec + RT_ETH_BYTES;
}

/* Is this datagram one to keep? */
static bool rt_keep(const struct rt_opts *o, const uint8_t *rec, size_t bytes)
{
	uint16_t sport, dport;
	size_t n;
	const uint8_t *ip = rt_ip(o->l2, rec, &bytes);
	if (ip == NULL || (o->to_ip != 0 && (bytes < 20 || memcmp(ip + 16, &o->to_ip, 4) != 0))) {
		return false;
	}
	const uint8_t *p = rt_udp(ip, bytes, &sport, &dport, &n);
	if (p == NULL || dport != o->port || n < DP_RAFT_HDR_BYTES || rt_ld32(p) != DP_WIRE_MAGIC) {
		return false;
	}
	if (strcmp(o->kind, "client") == 0) {
		return p[5] == DP_FRAME_CLIENT_REQUEST;
	}
	return sport == o->port && rt_consensus_type(p[5]);
}

static int rt_capture(const struct rt_opts *o)
{
	unsigned ifindex = if_nametoindex(o->iface);
	if (ifindex == 0) {
		fprintf(stderr, "replaytap: no interface %s\n", o->iface);
		return 2;
	}
	/* --l2: every frame of IF, the ones it sends out included (only an
	 * ETH_P_ALL socket sees a device's outgoing frames). */
	uint16_t proto = htons(o->l2 ? ETH_P_ALL : ETH_P_IP);
	int fd = socket(AF_PACKET, o->l2 ? SOCK_RAW : SOCK_DGRAM, proto);
	struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = proto,
				 .sll_ifindex = (int)ifindex};
	if (fd < 0 || bind(fd, (const struct sockaddr *)&ll, sizeof(ll)) != 0) {
		perror("replaytap: packet socket");
		return 2;
	}
	FILE *f = fopen(o->out, "wb");
	if (f == NULL) {
		perror(o->out);
		return 2;
	}
	if (o->ready != NULL) {
		FILE *r = fopen(o->ready, "w");
		if (r != NULL) {
			fclose(r);
		}
	}
	static uint8_t buf[RT_PACKET_BYTES_MAX];
	uint32_t kept = 0, seen = 0;
	uint64_t end = rt_now_ms() + (uint64_t)o->seconds * 1000u;
	while (rt_now_ms() < end && kept < o->max) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if ((seen % 64 == 0 || poll(&p, 1, 0) == 0) && o->until != NULL &&
		    access(o->until, F_OK) == 0) {
			break; /* told to stop (every 64 packets, or when idle) */
		}
		if (poll(&p, 1, 50) <= 0) {
			continue;
		}
		struct sockaddr_ll from;
		socklen_t from_bytes = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_bytes);
		if (n <= 0 || (from.sll_pkttype == PACKET_OUTGOING) != (o->l2 != 0)) {
			/* On lo each packet shows twice: out and in (the in copy
			 * kept). On a bridge port (--l2) the out copies are the
			 * frames delivered to its node. */
			continue;
		}
		seen++;
		if (!rt_keep(o, buf, (size_t)n)) {
			continue;
		}
		uint32_t len = (uint32_t)n;
		if (fwrite(&len, sizeof(len), 1, f) != 1 || fwrite(buf, 1, len, f) != len) {
			perror(o->out);
			return 1;
		}
		kept++;
	}
	fclose(f);
	close(fd);
	printf("captured %u of %u packets on %s\n", kept, seen, o->iface);
	return kept > 0 ? 0 : 1;
}

/* Next record of a capture file into buf: its bytes, 0 at the end. */
static size_t rt_next(FILE *f, uint8_t *buf, size_t buf_bytes)
{
	uint32_t len;
	if (fread(&len, sizeof(len), 1, f) != 1 || len == 0 || len > buf_bytes ||
	    fread(buf, 1, len, f) != len) {
		return 0;
	}
	return len;
}

/* The UDP checksum of an IPv4 packet, computed anew: a packet captured on
 * `lo` carries what checksum offload left (the pseudo-header's sum only),
 * which the receiving kernel would count as a checksum error. The raft
 * frame (the payload) is not touched. */
static void rt_udp_checksum(uint8_t *ip, size_t bytes)
{
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;
	uint8_t *u = ip + ihl;
	size_t udp_bytes = bytes - ihl;
	u[6] = u[7] = 0;
	uint32_t sum = 0;
	for (size_t i = 12; i < 20; i += 2) { /* source and destination */
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	}
	sum += IPPROTO_UDP + (uint32_t)udp_bytes;
	for (size_t i = 0; i < udp_bytes; i += 2) {
		sum += (uint32_t)(u[i] << 8 | (i + 1 < udp_bytes ? u[i + 1] : 0));
	}
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	uint16_t c = (uint16_t)~sum;
	c = c == 0 ? 0xffff : c;
	u[6] = (uint8_t)(c >> 8);
	u[7] = (uint8_t)c;
}

/* --l2: every frame of the file out of o->iface as it was. */
static int rt_replay_l2(const struct rt_opts *o)
{
	unsigned ifindex = o->iface != NULL ? if_nametoindex(o->iface) : 0;
	FILE *f = fopen(o->in, "rb");
	int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: sends only */
	if (ifindex == 0 || f == NULL || fd < 0) {
		fprintf(stderr, "replaytap: replay --l2 needs --iface and --in: %s\n",
			ifindex == 0 ? "no such interface" : strerror(errno));
		return 2;
	}
	static uint8_t buf[RT_PACKET_BYTES_MAX];
	uint32_t sent = 0, failed = 0, by_type[256] = {0};
	size_t n;
	while ((n = rt_next(f, buf, sizeof(buf))) > 0) {
		size_t ip_bytes = n, pn;
		uint16_t sport, dport;
		const uint8_t *ip = rt_ip(1, buf, &ip_bytes);
		const uint8_t *p = ip != NULL ? rt_udp(ip, ip_bytes, &sport, &dport, &pn) : NULL;
		struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = (int)ifindex,
					 .sll_halen = 6};
		memcpy(to.sll_addr, buf, 6);
		if (p == NULL ||
		    sendto(fd, buf, n, 0, (const struct sockaddr *)&to, sizeof(to)) != (ssize_t)n) {
			failed++;
			continue;
		}
		by_type[pn > 5 ? p[5] : 0]++;
		if (++sent % RT_BURST_FRAMES == 0) {
			usleep(RT_BURST_PAUSE_US);
		}
	}
	fclose(f);
	close(fd);
	printf("replayed %u frames on %s (%u failed to send):", sent, o->iface, failed);
	for (int t = 0; t < 256; t++) {
		if (by_type[t] > 0) {
			printf(" type%d=%u", t, by_type[t]);
		}
	}
	printf("\n");
	return failed == 0 && sent > 0 ? 0 : 1;
}

static int rt_replay(const struct rt_opts *o)
{
	if (o->l2) {
		return rt_replay_l2(o);
	}
	FILE *f = fopen(o->in, "rb");
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW); /* IPPROTO_RAW: IP_HDRINCL */
	if (f == NULL || fd < 0) {
		perror("replaytap: replay");
		return 2;
	}
	static uint8_t buf[RT_PACKET_BYTES_MAX];
	uint32_t sent = 0, failed = 0, by_type[256] = {0};
	size_t n;
	while ((n = rt_next(f, buf, sizeof(buf))) > 0) {
		uint16_t sport, dport;
		size_t pn;
		const uint8_t *p = rt_udp(buf, n, &sport, &dport, &pn);
		if (p == NULL) {
			failed++;
			continue;
		}
		rt_udp_checksum(buf, n);
		struct sockaddr_in to = {.sin_family = AF_INET};
		memcpy(&to.sin_addr.s_addr, buf + 16, 4);
		if (sendto(fd, buf, n, 0, (const struct sockaddr *)&to, sizeof(to)) != (ssize_t)n) {
			failed++;
			continue;
		}
		by_type[pn > 5 ? p[5] : 0]++;
		sent++;
		if (sent % RT_BURST_FRAMES == 0) {
			usleep(RT_BURST_PAUSE_US); /* a burst the size of a socket's buffer, not more */
		}
	}
	fclose(f);
	close(fd);
	printf("replayed %u packets (%u failed to send):", sent, failed);
	for (int t = 0; t < 256; t++) {
		if (by_type[t] > 0) {
			printf(" type%d=%u", t, by_type[t]);
		}
	}
	printf("\n");
	return failed == 0 && sent > 0 ? 0 : 1;
}

/* Sends one captured client request again from its own address and port;
 * prints the replies. 0 when a reply came. */
static int rt_client_one(struct dp_wire *w, const uint8_t *ip, size_t bytes)
{
	uint16_t sport, dport;
	size_t n;
	const uint8_t *p = rt_udp(ip, bytes, &sport, &dport, &n);
	if (p == NULL) {
		return 1;
	}
	struct sockaddr_in self = {.sin_family = AF_INET, .sin_port = htons(sport)};
	struct sockaddr_in node = {.sin_family = AF_INET, .sin_port = htons(dport)};
	memcpy(&self.sin_addr.s_addr, ip + 12, 4);
	memcpy(&node.sin_addr.s_addr, ip + 16, 4);
	int one = 1;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (const struct sockaddr *)&self, sizeof(self)) != 0) {
		perror("replaytap: bind the client's address");
		return 1;
	}
	static uint8_t buf[DP_FRAME_BYTES_MAX];
	static struct raft_entry entries[1];
	int rc = 1;
	for (int attempt = 0; attempt < RT_ATTEMPTS && rc != 0; attempt++) {
		/* The same bytes every time: a replay of the replay is the same. */
		if (sendto(fd, p, n, 0, (const struct sockaddr *)&node, sizeof(node)) != (ssize_t)n) {
			perror("replaytap: send");
			break;
		}
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		while (rc != 0 && poll(&pf, 1, RT_REPLY_WAIT_MS) > 0) {
			ssize_t got = recv(fd, buf, sizeof(buf), 0);
			struct dp_rx_frame fr;
			if (got <= 0 || dp_wire_decode_udp(w, buf, (size_t)got, entries, 0, &fr) != 0 ||
			    fr.type != DP_FRAME_CLIENT_REPLY) {
				continue;
			}
			uint32_t at = 0;
			struct dp_client_reply rep;
			while (dp_client_batch_next_reply(&fr.batch, &at, &rep) == 0) {
				printf("reply %" PRIu64 " %" PRIu64 " %u\n", rep.client_id,
				       rep.request_seq, rep.status);
			}
			rc = 0;
		}
	}
	close(fd);
	return rc;
}

static int rt_client_replay(const struct rt_opts *o)
{
	static struct rn_client_config cfg;
	char errmsg[512];
	rn_client_config_default(&cfg);
	if (rn_client_config_load(o->config != NULL ? o->config : rn_client_config_default_path(),
				  &cfg, errmsg, sizeof(errmsg)) != 0) {
		fprintf(stderr, "replaytap: %s\n", errmsg);
		return 2;
	}
	struct dp_wire w;
	/* Replies come sealed under the client key the request went out with
	 * (the cluster's client key file, as the client library reads it). */
	static struct dp_keyring keys;
	char why[256];
	struct dp_wire_config wc = {.cluster_id = cfg.cluster_id, .self_id = 0, .keys = &keys};
	if (cfg.client_key.count == 0 ||
	    dp_keyring_set(&keys, cfg.cluster_id, DP_KEY_ROLE_CLIENT, &cfg.client_key, why,
			   sizeof(why)) != 0) {
		fprintf(stderr, "replaytap: the cluster's client key: %s\n",
			cfg.client_key.count == 0 ? "none in the configuration" : why);
		return 2;
	}
	FILE *f = fopen(o->in, "rb");
	if (f == NULL || dp_wire_init(&w, &wc) != 0 ||
	    dp_wire_set_client_seal(&w, cfg.client_encryption) != 0) {
		perror("replaytap: client-replay");
		return 2;
	}
	static uint8_t buf[RT_PACKET_BYTES_MAX];
	uint32_t sent = 0, answered = 0;
	size_t n;
	while ((n = rt_next(f, buf, sizeof(buf))) > 0) {
		uint16_t sport, dport;
		size_t pn;
		const uint8_t *ip = rt_ip(o->l2, buf, &n);
		const uint8_t *p = ip != NULL ? rt_udp(ip, n, &sport, &dport, &pn) : NULL;
		/* The first request's op: header, batch header, client id, seq. */
		size_t op_at = DP_RAFT_HDR_BYTES + DP_CLIENT_BATCH_HDR_BYTES + 16;
		if (p == NULL || pn <= op_at) {
			continue;
		}
		uint8_t op = p[op_at];
		bool write = op == DP_CLIENT_PUT || op == DP_CLIENT_DELETE || op == DP_CLIENT_CAS;
		if (o->writes_only && !write) {
			continue;
		}
		printf("request %" PRIu64 " %" PRIu64 " op %u\n",
		       rt_ld64(p + DP_RAFT_HDR_BYTES + DP_CLIENT_BATCH_HDR_BYTES),
		       rt_ld64(p + DP_RAFT_HDR_BYTES + DP_CLIENT_BATCH_HDR_BYTES + 8), op);
		sent++;
		answered += rt_client_one(&w, ip, n) == 0 ? 1u : 0u;
	}
	fclose(f);
	dp_wire_fini(&w);
	printf("client requests replayed %u, answered %u\n", sent, answered);
	return sent > 0 && answered == sent ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"iface", required_argument, NULL, 'i'}, {"out", required_argument, NULL, 'o'},
		{"in", required_argument, NULL, 'I'},	  {"seconds", required_argument, NULL, 's'},
		{"kind", required_argument, NULL, 'k'},	  {"port", required_argument, NULL, 'p'},
		{"max", required_argument, NULL, 'm'},	  {"ready", required_argument, NULL, 'r'},
		{"config", required_argument, NULL, 'c'}, {"writes", no_argument, NULL, 'w'},
		{"l2", no_argument, NULL, 'l'},		  {"to", required_argument, NULL, 't'},
		{"until", required_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0}};
	struct rt_opts o = {.kind = "consensus", .seconds = 5, .max = 100000, .port = 9000};
	if (argc < 2) {
		goto usage;
	}
	o.mode = argv[1];
	optind = 2;
	int c;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'i': o.iface = optarg; break;
		case 'o': o.out = optarg; break;
		case 'I': o.in = optarg; break;
		case 's': o.seconds = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'k': o.kind = optarg; break;
		case 'p': o.port = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'm': o.max = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': o.ready = optarg; break;
		case 'c': o.config = optarg; break;
		case 'w': o.writes_only = 1; break;
		case 'l': o.l2 = 1; break;
		case 'u': o.until = optarg; break;
		case 't':
			if (inet_pton(AF_INET, optarg, &o.to_ip) != 1) {
				goto usage;
			}
			break;
		default: goto usage;
		}
	}
	if (strcmp(o.mode, "capture") == 0 && o.iface != NULL && o.out != NULL &&
	    (strcmp(o.kind, "consensus") == 0 || strcmp(o.kind, "client") == 0)) {
		return rt_capture(&o);
	}
	if (strcmp(o.mode, "replay") == 0 && o.in != NULL) {
		return rt_replay(&o);
	}
	if (strcmp(o.mode, "client-replay") == 0 && o.in != NULL) {
		return rt_client_replay(&o);
	}
usage:
	fprintf(stderr, "usage: replaytap capture --iface IF --out FILE --seconds S "
			"--kind consensus|client [--port P] [--max N] [--ready FILE] "
			"[--l2 [--to IP]] [--until FILE]\n"
			"       replaytap replay --in FILE [--l2 --iface IF]\n"
			"       replaytap client-replay --in FILE [--config FILE] [--writes] [--l2]\n");
	return 2;
}
