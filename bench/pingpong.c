/* SPDX-License-Identifier: MIT */
/*
 * pingpong - round-trip latency and closed-loop frames/s of one
 * authenticated frame and its sealed answer, one outstanding, over:
 *   kernel UDP on loopback;                         (always)
 *   DPDK net_memif between two processes;           (always)
 *   kernel UDP between two network namespaces over veth + bridge, and
 *   DPDK net_af_packet on those same veths          (root only)
 * in one run, printed as one table with ratios. Both sides do the same codec
 * work on every path (encode + seal, decode + verify), so the difference is
 * the path. Every side runs in its own forked process (a DPDK EAL starts
 * once per process), entering its namespace with setns(); with two or more
 * CPUs the two sides poll on different cores. The namespaces come from
 * scripts/netns.sh (--netns-script) and are removed at the end.
 * Benchmarks, not tests: absolute numbers belong to this machine.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
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
#define PP_ROWS_MAX 4

static const uint8_t pp_secret[32] = "raftnode pingpong secret, 32 b!";

struct pp_result {
	double p50_us, p99_us, max_us, frames_per_s;
	uint64_t frames;
	int ok;
};

enum pp_kind { PP_UDP = 1, PP_DPDK = 2 };

/* One path to measure: who runs where, over what. */
struct pp_row {
	const char *name;
	int kind;
	const char *ns_server, *ns_client; /* NULL: this namespace */
	uint32_t server_ip;		    /* UDP: where the server binds */
	char server_vdev[200], client_vdev[200];
	const char *port_name; /* DPDK device name */
	struct pp_result res;
};

static uint64_t pp_frames = 20000;
static int pp_cpus = 1;

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

/* Frames go to the broadcast MAC: no ARP needed, and a bridge floods them
 * to the one other host. The source MAC must be a real one: a Linux bridge
 * drops frames from 00:00:00:00:00:00. */
static void pp_addr(struct dp_endpoints *a, const uint8_t src_mac[6])
{
	memset(a, 0, sizeof(*a));
	memset(a->dst_mac, 0xff, 6);
	memcpy(a->src_mac, src_mac, 6);
	a->src_port = PP_PORT;
	a->dst_port = PP_PORT;
	a->src_ip = 0x0a4e0001; /* 10.78.0.1 */
	a->dst_ip = 0x0a4e0002;
}

/* The ping: a HEARTBEAT from 1 to 2 whose read_seq is the sequence number. */
static int pp_ping(const struct dp_wire *w, const uint8_t src_mac[6], uint64_t seq, uint8_t *buf,
		   size_t buf_bytes)
{
	struct dp_endpoints a;
	pp_addr(&a, src_mac);
	struct raft_message m = {.type = RAFT_MSG_HEARTBEAT, .from = 1, .to = 2, .term = 1};
	m.heartbeat.read_seq = seq;
	return dp_wire_encode_raft(w, &a, seq, &m, NULL, buf, buf_bytes);
}

/* The pong to a decoded ping, into buf. */
static int pp_pong(const struct dp_wire *w, const uint8_t src_mac[6], const struct dp_rx_frame *in,
		   uint8_t *buf, size_t buf_bytes)
{
	struct dp_endpoints a;
	pp_addr(&a, src_mac);
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

static void pp_enter_netns(const char *ns)
{
	if (ns == NULL) {
		return;
	}
	char path[128];
	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
		perror("pingpong: setns");
		_exit(1);
	}
	close(fd);
}

static void pp_ready(int fd)
{
	if (write(fd, "r", 1) != 1) {
		_exit(1);
	}
	close(fd);
}

/* ---- kernel UDP --------------------------------------------------------- */

/* The kernel writes the real Ethernet header; ours is dropped before send. */
static const uint8_t pp_udp_mac[6] = {0x02, 0, 0, 0, 0, 1};

static void pp_udp_server(const struct pp_row *row, int ready_fd)
{
	static uint8_t in[DP_FRAME_BYTES_MAX], out[DP_FRAME_BYTES_MAX];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(PP_PORT),
				  .sin_addr.s_addr = htonl(row->server_ip)};
	if (fd < 0 || bind(fd, (struct sockaddr *)&srv, sizeof(srv)) != 0) {
		perror("pingpong: udp server");
		_exit(1);
	}
	struct dp_wire w;
	pp_wire(&w, 2);
	pp_ready(ready_fd);
	for (;;) {
		struct sockaddr_in from;
		socklen_t from_bytes = sizeof(from);
		ssize_t n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from, &from_bytes);
		struct dp_rx_frame rx;
		if (n <= 0 || dp_wire_decode_udp(&w, in, (size_t)n, NULL, 0, &rx) != 0) {
			continue;
		}
		int m = pp_pong(&w, pp_udp_mac, &rx, out, sizeof(out));
		sendto(fd, out + DP_UDP_PAYLOAD_OFFSET, (size_t)m - DP_UDP_PAYLOAD_OFFSET, 0,
		       (struct sockaddr *)&from, from_bytes);
	}
}

static void pp_udp_client(const struct pp_row *row, uint64_t *rtt_ns, struct pp_result *r)
{
	static uint8_t out[DP_FRAME_BYTES_MAX], in[DP_FRAME_BYTES_MAX];
	struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(PP_PORT),
				  .sin_addr.s_addr = htonl(row->server_ip)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct dp_wire w;
	pp_wire(&w, 1);
	uint64_t done = 0, start = pp_now_ns();
	for (uint64_t seq = 1; seq <= pp_frames; seq++) {
		int n = pp_ping(&w, pp_udp_mac, seq, out, sizeof(out));
		uint64_t t0 = pp_now_ns();
		sendto(fd, out + DP_UDP_PAYLOAD_OFFSET, (size_t)n - DP_UDP_PAYLOAD_OFFSET, 0,
		       (struct sockaddr *)&srv, sizeof(srv));
		ssize_t got = recv(fd, in, sizeof(in), 0);
		struct dp_rx_frame rx;
		if (got <= 0 || dp_wire_decode_udp(&w, in, (size_t)got, NULL, 0, &rx) != 0 ||
		    rx.raft.heartbeat_resp.read_seq != seq) {
			fprintf(stderr, "pingpong: %s: lost or bad answer to %llu\n", row->name,
				(unsigned long long)seq);
			return;
		}
		rtt_ns[done++] = pp_now_ns() - t0;
	}
	pp_summarise(r, rtt_ns, done, pp_now_ns() - start);
}

/* ---- DPDK (memif, af_packet) -------------------------------------------- */

static int pp_dpdk_start(const char *vdev, const char *port_name, const char *prefix,
			 const char *lcores, struct dp_port *port)
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
	if (dp_port_find(port_name, &pc.port_id) != 0 || dp_port_init(port, &pc) != 0) {
		fprintf(stderr, "pingpong: %s: %s\n", port_name, port->errmsg);
		return -1;
	}
	return 0;
}

/* The client waits for the link; the server does not (a memif link comes
 * up only when the client connects). */
static int pp_link_wait(struct dp_port *port, const char *port_name)
{
	uint64_t deadline = pp_now_ns() + 10ull * 1000000000ull;
	while (dp_port_link_up(port) != 1) {
		if (pp_now_ns() > deadline) {
			fprintf(stderr, "pingpong: %s: link did not come up\n", port_name);
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

static void pp_dpdk_server(const struct pp_row *row, const char *prefix, int ready_fd)
{
	static uint8_t out[DP_FRAME_BYTES_MAX];
	struct dp_port port;
	if (pp_dpdk_start(row->server_vdev, row->port_name, prefix, pp_cpus >= 2 ? "1" : "0",
			  &port) != 0) {
		_exit(77);
	}
	struct dp_wire w;
	pp_wire(&w, 2);
	pp_ready(ready_fd);
	for (;;) { /* busy polling: the DPDK way on a dedicated core */
		struct rte_mbuf *rx[DP_BURST_MAX];
		uint16_t n = dp_port_rx(&port, rx, DP_BURST_MAX);
		for (uint16_t i = 0; i < n; i++) {
			struct dp_rx_frame in;
			if (dp_wire_decode(&w, rte_pktmbuf_mtod(rx[i], uint8_t *), rx[i]->data_len,
					   NULL, 0, &in) == 0 && in.type == RAFT_MSG_HEARTBEAT) {
				int m = pp_pong(&w, port.mac, &in, out, sizeof(out));
				pp_dpdk_send(&port, out, m);
			}
			rte_pktmbuf_free(rx[i]);
		}
	}
}

static void pp_dpdk_client(const struct pp_row *row, const char *prefix, uint64_t *rtt_ns,
			   struct pp_result *r)
{
	static uint8_t out[DP_FRAME_BYTES_MAX];
	struct dp_port port;
	if (pp_dpdk_start(row->client_vdev, row->port_name, prefix, "0", &port) != 0 ||
	    pp_link_wait(&port, row->port_name) != 0) {
		return;
	}
	struct dp_wire w;
	pp_wire(&w, 1);
	uint64_t done = 0, start = pp_now_ns();
	for (uint64_t seq = 1; seq <= pp_frames; seq++) {
		int n = pp_ping(&w, port.mac, seq, out, sizeof(out));
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
				    in.type == RAFT_MSG_HEARTBEAT_RESP &&
				    in.raft.heartbeat_resp.read_seq == seq) {
					answered = 1;
				}
				rte_pktmbuf_free(rx[i]);
			}
		}
		if (!answered) {
			fprintf(stderr, "pingpong: %s: no answer to %llu\n", row->name,
				(unsigned long long)seq);
			break;
		}
		rtt_ns[done++] = pp_now_ns() - t0;
	}
	if (done == pp_frames) {
		pp_summarise(r, rtt_ns, done, pp_now_ns() - start);
	}
	dp_port_fini(&port);
	dp_eal_stop();
}

static void remove_dir(const char *dir)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "pingpong: could not remove %s\n", dir);
	}
}

/* Runs one row: server process, then client process; the client's result
 * comes back through a pipe. */
static void pp_run_row(struct pp_row *row, int index, uint64_t *rtt_ns)
{
	char sprefix[32], cprefix[32];
	snprintf(sprefix, sizeof(sprefix), "pp%d_%ds", (int)getpid(), index);
	snprintf(cprefix, sizeof(cprefix), "pp%d_%dc", (int)getpid(), index);
	int ready[2], result[2];
	if (pipe(ready) != 0 || pipe(result) != 0) {
		return;
	}
	pid_t server = fork();
	if (server == 0) {
		close(ready[0]);
		pp_enter_netns(row->ns_server);
		if (row->kind == PP_UDP) {
			pp_udp_server(row, ready[1]);
		} else {
			pp_dpdk_server(row, sprefix, ready[1]);
		}
		_exit(0);
	}
	close(ready[1]);
	struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
	char c;
	if (poll(&pfd, 1, 10000) == 1 && read(ready[0], &c, 1) == 1) {
		pid_t client = fork();
		if (client == 0) {
			struct pp_result r = {0};
			pp_enter_netns(row->ns_client);
			if (row->kind == PP_UDP) {
				pp_udp_client(row, rtt_ns, &r);
			} else {
				pp_dpdk_client(row, cprefix, rtt_ns, &r);
			}
			ssize_t w = write(result[1], &r, sizeof(r));
			_exit(w == (ssize_t)sizeof(r) ? 0 : 1);
		}
		if (read(result[0], &row->res, sizeof(row->res)) != (ssize_t)sizeof(row->res)) {
			row->res.ok = 0;
		}
		waitpid(client, NULL, 0);
	} else {
		fprintf(stderr, "pingpong: %s: server did not start\n", row->name);
	}
	close(ready[0]);
	close(result[0]);
	close(result[1]);
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	if (row->kind == PP_DPDK) {
		char dir[64];
		snprintf(dir, sizeof(dir), "/var/run/dpdk/%s", sprefix);
		remove_dir(dir); /* the killed server could not clean up */
	}
}

static void pp_usage(FILE *f)
{
	fprintf(f, "usage: pingpong [--help] [--frames N] [--netns-script PATH]\n\n"
		   "Round trip of one authenticated HEARTBEAT and its sealed answer, one\n"
		   "outstanding at a time, in one run over: kernel UDP on loopback, DPDK\n"
		   "net_memif between two processes, and (as root) kernel UDP and DPDK\n"
		   "net_af_packet between two network namespaces joined by veths and a\n"
		   "bridge. Prints p50/p99/max round trip in microseconds, closed-loop\n"
		   "frames/s, and each p50 as a ratio to kernel UDP on loopback (issue 5\n"
		   "target: memif p50 <= 0.5 x kernel UDP p50).\n"
		   "  --frames N           round trips per path (default 20000)\n"
		   "  --netns-script PATH  scripts/netns.sh (default: ./scripts/netns.sh)\n");
}

static int pp_netns(const char *script, const char *prefix, const char *action)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "bash '%s' %s --prefix %s --hosts 2 --subnet 10.78.0 "
		 ">/dev/null", script, action, prefix);
	return system(cmd);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
					     {"frames", required_argument, NULL, 'n'},
					     {"netns-script", required_argument, NULL, 's'},
					     {NULL, 0, NULL, 0}};
	const char *script = "scripts/netns.sh";
	int c;
	while ((c = getopt_long(argc, argv, "hn:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'h': pp_usage(stdout); return 0;
		case 'n': pp_frames = strtoull(optarg, NULL, 10); break;
		case 's': script = optarg; break;
		default: pp_usage(stderr); return 2;
		}
	}
	if (pp_frames < 100) {
		fprintf(stderr, "pingpong: --frames must be >= 100\n");
		return 2;
	}
	uint64_t *rtt_ns = calloc(pp_frames, sizeof(*rtt_ns));
	if (rtt_ns == NULL) {
		return 1;
	}
	pp_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	static struct pp_row rows[PP_ROWS_MAX];
	int count = 0;
	char sock[64], prefix[16], h1[32], h2[32];
	snprintf(sock, sizeof(sock), "/tmp/raftnode-pp-%d.sock", (int)getpid());
	snprintf(prefix, sizeof(prefix), "pp%d", (int)(getpid() % 100000));
	snprintf(h1, sizeof(h1), "%s-h1", prefix);
	snprintf(h2, sizeof(h2), "%s-h2", prefix);

	rows[count++] = (struct pp_row){.name = "kernel UDP (loopback)", .kind = PP_UDP,
					.server_ip = 0x7f000001};
	struct pp_row *memif = &rows[count++];
	*memif = (struct pp_row){.name = "DPDK memif", .kind = PP_DPDK, .port_name = "net_memif0"};
	snprintf(memif->server_vdev, sizeof(memif->server_vdev),
		 "net_memif0,role=server,socket=%s,id=0", sock);
	snprintf(memif->client_vdev, sizeof(memif->client_vdev),
		 "net_memif0,role=client,socket=%s,id=0", sock);
	for (int i = 0; i < count; i++) {
		pp_run_row(&rows[i], i, rtt_ns);
	}
	unlink(sock);

	bool netns = getuid() == 0 && access(script, R_OK) == 0 &&
		     pp_netns(script, prefix, "up") == 0;
	if (netns) {
		struct pp_row *udp = &rows[count++];
		*udp = (struct pp_row){.name = "kernel UDP (veth, netns)", .kind = PP_UDP,
				       .ns_server = h2, .ns_client = h1, .server_ip = 0x0a4e0002};
		pp_run_row(udp, count - 1, rtt_ns);
		/* DPDK owns the veths now: the kernels keep no address there. */
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "ip -n %s addr flush dev eth0 && ip -n %s addr flush "
			 "dev eth0", h1, h2);
		if (system(cmd) == 0) {
			struct pp_row *afp = &rows[count++];
			*afp = (struct pp_row){.name = "DPDK af_packet (veth)", .kind = PP_DPDK,
					       .ns_server = h2, .ns_client = h1,
					       .port_name = "net_af_packet0"};
			snprintf(afp->server_vdev, sizeof(afp->server_vdev),
				 "net_af_packet0,iface=eth0,qpairs=1");
			snprintf(afp->client_vdev, sizeof(afp->client_vdev),
				 "net_af_packet0,iface=eth0,qpairs=1");
			pp_run_row(afp, count - 1, rtt_ns);
		}
		pp_netns(script, prefix, "down");
	} else {
		fprintf(stderr, "pingpong: namespace rows skipped (need root and %s)\n", script);
	}

	printf("\n%-26s %12s %12s %12s %14s %12s\n", "path", "rtt_us_p50", "rtt_us_p99",
	       "rtt_us_max", "frames_per_s", "p50_vs_udp");
	for (int i = 0; i < count; i++) {
		const struct pp_result *r = &rows[i].res;
		if (!r->ok) {
			printf("%-26s %12s\n", rows[i].name, "failed");
			continue;
		}
		printf("%-26s %12.1f %12.1f %12.1f %14.0f %11.2fx\n", rows[i].name, r->p50_us,
		       r->p99_us, r->max_us, r->frames_per_s,
		       rows[0].res.ok ? r->p50_us / rows[0].res.p50_us : 0.0);
	}
	int ok = rows[0].res.ok && rows[1].res.ok;
	if (ok) {
		printf("\ntarget memif p50 <= 0.5 x kernel UDP p50: %s (%.2fx)\n",
		       rows[1].res.p50_us <= 0.5 * rows[0].res.p50_us ? "met" : "NOT met",
		       rows[1].res.p50_us / rows[0].res.p50_us);
	}
	if (count == 4 && rows[2].res.ok && rows[3].res.ok) {
		printf("af_packet p50 vs kernel UDP over the same veths: %.2fx\n",
		       rows[3].res.p50_us / rows[2].res.p50_us);
	}
	free(rtt_ns);
	return ok ? 0 : 1;
}
