/* SPDX-License-Identifier: MIT */
/*
 * pingpong - round-trip latency and closed-loop frames/s of one
 * authenticated frame and its sealed answer, over kernel UDP (loopback) and
 * DPDK net_memif between two processes, in one run, printed as one table
 * with ratios to kernel UDP. Both sides do the same codec work on every
 * transport (encode + seal, decode + verify), so the difference is the path.
 *
 * The server side runs in a forked child (a DPDK EAL starts once per
 * process); with two or more CPUs client and server poll on different
 * cores. Benchmarks, not tests: absolute numbers belong to this machine.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_mbuf.h>

#include "dataplane.h"

#define PP_PORT 7460
#define PP_ENTRIES_MAX 4u

static const uint8_t pp_secret[32] = "raftnode pingpong secret, 32 b!";

struct pp_result {
	const char *name;
	double p50_us, p99_us, max_us, frames_per_s;
	uint64_t frames;
	int ok;
};

static uint64_t pp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pp_wire(struct dp_wire *w, raft_node_id self)
{
	struct dp_wire_config cfg = {.cluster_id = 11, .self_id = self, .secret = pp_secret,
				     .secret_bytes = sizeof(pp_secret), .udp_port = PP_PORT};
	if (dp_wire_init(w, &cfg) != 0) {
		exit(1);
	}
}

/* The ping: a HEARTBEAT from 1 to 2 whose read_seq is the sequence number. */
static int pp_ping(const struct dp_wire *w, uint64_t seq, uint8_t *buf, size_t buf_bytes)
{
	struct dp_endpoints a = {.src_port = PP_PORT, .dst_port = PP_PORT,
				 .src_ip = 0x7f000001, .dst_ip = 0x7f000001};
	struct raft_message m = {.type = RAFT_MSG_HEARTBEAT, .from = 1, .to = 2, .term = 1};
	m.heartbeat.read_seq = seq;
	return dp_wire_encode_raft(w, &a, seq, &m, NULL, buf, buf_bytes);
}

/* The pong to a decoded ping, into buf. */
static int pp_pong(const struct dp_wire *w, const struct dp_rx_frame *in, uint8_t *buf,
		   size_t buf_bytes)
{
	struct dp_endpoints a = {.src_port = PP_PORT, .dst_port = PP_PORT,
				 .src_ip = 0x7f000001, .dst_ip = 0x7f000001};
	struct raft_message m = {.type = RAFT_MSG_HEARTBEAT_RESP, .from = 2, .to = 1, .term = 1};
	m.heartbeat_resp.read_seq = in->raft.heartbeat.read_seq;
	return dp_wire_encode_raft(w, &a, in->msg_seq, &m, NULL, buf, buf_bytes);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void pp_summarise(struct pp_result *r, uint64_t *rtt_ns, uint64_t count,
			 uint64_t elapsed_ns)
{
	qsort(rtt_ns, count, sizeof(rtt_ns[0]), cmp_u64);
	r->frames = count;
	r->p50_us = (double)rtt_ns[count / 2] / 1e3;
	r->p99_us = (double)rtt_ns[count * 99 / 100] / 1e3;
	r->max_us = (double)rtt_ns[count - 1] / 1e3;
	r->frames_per_s = (double)count * 1e9 / (double)elapsed_ns;
	r->ok = 1;
}

/* ---- kernel UDP --------------------------------------------------------- */

static void pp_udp_server(int fd)
{
	static uint8_t in[DP_FRAME_BYTES_MAX], out[DP_FRAME_BYTES_MAX];
	struct dp_wire w;
	pp_wire(&w, 2);
	for (;;) {
		struct sockaddr_in from;
		socklen_t from_bytes = sizeof(from);
		ssize_t n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from, &from_bytes);
		struct dp_rx_frame rx;
		if (n <= 0 || dp_wire_decode_udp(&w, in, (size_t)n, NULL, 0, &rx) != 0) {
			continue;
		}
		int m = pp_pong(&w, &rx, out, sizeof(out));
		sendto(fd, out + DP_UDP_PAYLOAD_OFFSET, (size_t)m - DP_UDP_PAYLOAD_OFFSET, 0,
		       (struct sockaddr *)&from, from_bytes);
	}
}

static void pp_udp(uint64_t frames, uint64_t *rtt_ns, struct pp_result *r)
{
	static uint8_t out[DP_FRAME_BYTES_MAX], in[DP_FRAME_BYTES_MAX];
	r->name = "kernel UDP (loopback)";
	int sfd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(PP_PORT),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (sfd < 0 || bind(sfd, (struct sockaddr *)&srv, sizeof(srv)) != 0) {
		perror("pingpong: udp server socket");
		return;
	}
	pid_t child = fork();
	if (child == 0) {
		pp_udp_server(sfd);
		_exit(0);
	}
	close(sfd);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct dp_wire w;
	pp_wire(&w, 1);
	uint64_t done = 0, start = pp_now_ns();
	for (uint64_t seq = 1; seq <= frames; seq++) {
		int n = pp_ping(&w, seq, out, sizeof(out));
		uint64_t t0 = pp_now_ns();
		sendto(fd, out + DP_UDP_PAYLOAD_OFFSET, (size_t)n - DP_UDP_PAYLOAD_OFFSET, 0,
		       (struct sockaddr *)&srv, sizeof(srv));
		ssize_t got = recv(fd, in, sizeof(in), 0);
		struct dp_rx_frame rx;
		if (got <= 0 || dp_wire_decode_udp(&w, in, (size_t)got, NULL, 0, &rx) != 0 ||
		    rx.raft.heartbeat_resp.read_seq != seq) {
			fprintf(stderr, "pingpong: udp: lost or bad answer to %llu\n",
				(unsigned long long)seq);
			break;
		}
		rtt_ns[done++] = pp_now_ns() - t0;
	}
	uint64_t elapsed = pp_now_ns() - start;
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);
	close(fd);
	if (done == frames) {
		pp_summarise(r, rtt_ns, done, elapsed);
	}
}

/* ---- DPDK memif --------------------------------------------------------- */

static int pp_dpdk_start(const char *vdev, const char *prefix, const char *lcores,
			 struct dp_port *port)
{
	char err[200];
	const char *vdevs[] = {vdev};
	struct dp_eal_config eal = {.lcores = lcores, .file_prefix = prefix, .vdevs = vdevs,
				    .vdevs_count = 1, .memory_mb = 256};
	if (dp_eal_start(&eal, err, sizeof(err)) != 0) {
		fprintf(stderr, "pingpong: %s\n", err);
		return -1;
	}
	struct dp_port_config pc = {.mbufs_count = 4095};
	if (dp_port_find("net_memif0", &pc.port_id) != 0 || dp_port_init(port, &pc) != 0) {
		fprintf(stderr, "pingpong: memif port: %s\n", port->errmsg);
		return -1;
	}
	uint64_t deadline = pp_now_ns() + 10ull * 1000000000ull;
	while (dp_port_link_up(port) != 1) {
		if (pp_now_ns() > deadline) {
			fprintf(stderr, "pingpong: memif link did not come up\n");
			return -1;
		}
		usleep(1000);
	}
	return 0;
}

/* Sends the frame in buf (n bytes) as one mbuf; busy until it is taken. */
static int pp_dpdk_send(struct dp_port *port, const uint8_t *buf, int n)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(port->pool);
	if (m == NULL) {
		return -1;
	}
	memcpy(rte_pktmbuf_mtod(m, uint8_t *), buf, (size_t)n);
	m->data_len = (uint16_t)n;
	m->pkt_len = (uint32_t)n;
	while (dp_port_tx_burst(port, &m, 1) == 0) {
	}
	return 0;
}

static void pp_memif_server(const char *sock, const char *prefix, const char *lcores)
{
	static uint8_t out[DP_FRAME_BYTES_MAX];
	struct dp_port port;
	char vdev[200];
	snprintf(vdev, sizeof(vdev), "net_memif0,role=server,socket=%s,id=0", sock);
	if (pp_dpdk_start(vdev, prefix, lcores, &port) != 0) {
		_exit(77);
	}
	struct dp_wire w;
	pp_wire(&w, 2);
	for (;;) { /* busy polling: the DPDK way on a dedicated core */
		struct rte_mbuf *rx[DP_BURST_MAX];
		uint16_t n = dp_port_rx(&port, rx, DP_BURST_MAX);
		for (uint16_t i = 0; i < n; i++) {
			struct dp_rx_frame in;
			if (dp_wire_decode(&w, rte_pktmbuf_mtod(rx[i], uint8_t *), rx[i]->data_len,
					   NULL, 0, &in) == 0) {
				int m = pp_pong(&w, &in, out, sizeof(out));
				pp_dpdk_send(&port, out, m);
			}
			rte_pktmbuf_free(rx[i]);
		}
	}
}

static void remove_dir(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "pingpong: could not remove %s\n", dir);
	}
}

static void pp_memif(uint64_t frames, uint64_t *rtt_ns, struct pp_result *r, int cpus)
{
	static uint8_t out[DP_FRAME_BYTES_MAX];
	char sock[64], sprefix[32], cprefix[32], vdev[200];
	r->name = "DPDK memif (2 processes)";
	snprintf(sock, sizeof(sock), "/tmp/raftnode-pp-%d.sock", (int)getpid());
	snprintf(sprefix, sizeof(sprefix), "pp%ds", (int)getpid());
	snprintf(cprefix, sizeof(cprefix), "pp%dc", (int)getpid());
	pid_t child = fork();
	if (child == 0) {
		pp_memif_server(sock, sprefix, cpus >= 2 ? "1" : "0");
		_exit(0);
	}
	usleep(300 * 1000); /* the server creates the socket */
	struct dp_port port;
	snprintf(vdev, sizeof(vdev), "net_memif0,role=client,socket=%s,id=0", sock);
	if (pp_dpdk_start(vdev, cprefix, "0", &port) != 0) {
		kill(child, SIGTERM);
		waitpid(child, NULL, 0);
		return;
	}
	struct dp_wire w;
	pp_wire(&w, 1);
	uint64_t done = 0, start = pp_now_ns();
	for (uint64_t seq = 1; seq <= frames; seq++) {
		int n = pp_ping(&w, seq, out, sizeof(out));
		uint64_t t0 = pp_now_ns();
		if (pp_dpdk_send(&port, out, n) != 0) {
			break;
		}
		int answered = 0;
		while (!answered && pp_now_ns() - t0 < 1000000000ull) {
			struct rte_mbuf *rx[DP_BURST_MAX];
			uint16_t got = dp_port_rx(&port, rx, DP_BURST_MAX);
			for (uint16_t i = 0; i < got; i++) {
				struct dp_rx_frame in;
				if (dp_wire_decode(&w, rte_pktmbuf_mtod(rx[i], uint8_t *),
						   rx[i]->data_len, NULL, 0, &in) == 0 &&
				    in.raft.heartbeat_resp.read_seq == seq) {
					answered = 1;
				}
				rte_pktmbuf_free(rx[i]);
			}
		}
		if (!answered) {
			fprintf(stderr, "pingpong: memif: no answer to %llu\n",
				(unsigned long long)seq);
			break;
		}
		rtt_ns[done++] = pp_now_ns() - t0;
	}
	uint64_t elapsed = pp_now_ns() - start;
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);
	char sdir[64];
	snprintf(sdir, sizeof(sdir), "/var/run/dpdk/%s", sprefix);
	remove_dir(sdir); /* the killed server could not clean up */
	dp_port_fini(&port);
	dp_eal_stop();
	unlink(sock);
	if (done == frames) {
		pp_summarise(r, rtt_ns, done, elapsed);
	}
}

static void pp_usage(FILE *f)
{
	fprintf(f, "usage: pingpong [--help] [--frames N]\n\n"
		   "Round trip of one authenticated HEARTBEAT and its sealed answer, one\n"
		   "outstanding at a time, over kernel UDP on loopback and over DPDK\n"
		   "net_memif between two processes, in one run. Prints p50/p99/max round\n"
		   "trip in microseconds, closed-loop frames/s, and each p50 as a ratio to\n"
		   "kernel UDP (issue 5 target: memif p50 <= 0.5 x kernel UDP p50).\n"
		   "  --frames N  round trips per transport (default 20000)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
					     {"frames", required_argument, NULL, 'n'},
					     {NULL, 0, NULL, 0}};
	uint64_t frames = 20000;
	int c;
	while ((c = getopt_long(argc, argv, "hn:", opts, NULL)) != -1) {
		switch (c) {
		case 'h': pp_usage(stdout); return 0;
		case 'n': frames = strtoull(optarg, NULL, 10); break;
		default: pp_usage(stderr); return 2;
		}
	}
	if (frames < 100) {
		fprintf(stderr, "pingpong: --frames must be >= 100\n");
		return 2;
	}
	uint64_t *rtt_ns = calloc(frames, sizeof(*rtt_ns));
	if (rtt_ns == NULL) {
		return 1;
	}
	int cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	struct pp_result res[2] = {{0}, {0}};
	pp_udp(frames, rtt_ns, &res[0]);
	pp_memif(frames, rtt_ns, &res[1], cpus);
	printf("\n%-26s %12s %12s %12s %14s %16s\n", "transport", "rtt_us_p50", "rtt_us_p99",
	       "rtt_us_max", "frames_per_s", "p50_vs_udp");
	for (int i = 0; i < 2; i++) {
		if (!res[i].ok) {
			printf("%-26s %12s\n", res[i].name, "failed");
			continue;
		}
		printf("%-26s %12.1f %12.1f %12.1f %14.0f %15.2fx\n", res[i].name, res[i].p50_us,
		       res[i].p99_us, res[i].max_us, res[i].frames_per_s,
		       res[0].ok ? res[i].p50_us / res[0].p50_us : 0.0);
	}
	if (res[0].ok && res[1].ok) {
		printf("\ntarget memif p50 <= 0.5 x kernel UDP p50: %s (%.2fx)\n",
		       res[1].p50_us <= 0.5 * res[0].p50_us ? "met" : "NOT met",
		       res[1].p50_us / res[0].p50_us);
	}
	free(rtt_ns);
	return res[0].ok && res[1].ok ? 0 : 1;
}
