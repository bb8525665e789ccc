/* SPDX-License-Identifier: MIT */
/*
 * rb_fakenode - a fake cluster member for testing raftbench without a
 * cluster: it speaks the client wire protocol over kernel UDP (sealed
 * frames, dp_wire_decode_udp; every request of a batch; replies gathered
 * into one frame per client per loop, as a node does), answers STATUS at
 * once with {"id":N,"leader":L,"term":1}, and every other request OK after
 * --delay-us, FIFO. Traced requests get plausible stage stamps: rx on
 * receipt, then proposed / durable / replicated / applied spread over the
 * delay (every third one replicated before durable, as a fast follower
 * quorum does), reply when sent. Not a Raft node: no log, no state.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dataplane.h"

#define FAKE_PENDING_MAX 65536u
#define FAKE_OUT_MAX 16u /* clients answered in one loop before a flush */

/* Replies gathered for one client during a loop. */
struct fake_out {
	struct sockaddr_in to;
	struct dp_client_frame frame;
	uint8_t buf[DP_FRAME_BYTES_MAX];
};

struct fake_pending {
	struct sockaddr_in from;
	uint64_t due_ns;
	uint64_t rx_ns;
	struct dp_client_reply rep;
};

struct fake {
	struct dp_wire wire;
	int fd;
	uint32_t id;
	uint32_t leader_id;
	const char *leader_path; /* -L: the leader id is read from this file */
	uint64_t delay_ns;
	uint64_t msg_seq;
	uint64_t served;
	struct fake_pending *q;
	uint32_t head, count;
	uint8_t buf[DP_FRAME_BYTES_MAX];
	struct fake_out out[FAKE_OUT_MAX];
	uint32_t out_count;
	char status[128];
};

static volatile sig_atomic_t fake_stop;

static void fake_on_signal(int sig)
{
	(void)sig;
	fake_stop = 1;
}

static uint64_t fake_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The gathered frames out, one datagram per client. */
static void fake_send_all(struct fake *f)
{
	for (uint32_t i = 0; i < f->out_count; i++) {
		struct fake_out *o = &f->out[i];
		struct dp_endpoints a = {.dst_ip = ntohl(o->to.sin_addr.s_addr),
					 .dst_port = ntohs(o->to.sin_port)};
		size_t bytes = dp_wire_seal_client_frame(&f->wire, &a, ++f->msg_seq, 0, &o->frame);
		(void)sendto(f->fd, o->buf + DP_UDP_PAYLOAD_OFFSET, bytes - DP_UDP_PAYLOAD_OFFSET, 0,
			     (const struct sockaddr *)&o->to, sizeof(o->to));
	}
	f->out_count = 0;
}

/* A reply into its client's frame of this loop (a full frame or table
 * goes out first). */
static void fake_send(struct fake *f, const struct sockaddr_in *to, struct dp_client_reply *rep)
{
	struct fake_out *o = NULL;
	for (uint32_t i = 0; i < f->out_count && o == NULL; i++) {
		if (f->out[i].to.sin_addr.s_addr == to->sin_addr.s_addr &&
		    f->out[i].to.sin_port == to->sin_port) {
			o = &f->out[i];
		}
	}
	if (o != NULL && dp_client_frame_add_reply(&o->frame, rep) == 0) {
		return;
	}
	if (o != NULL || f->out_count == FAKE_OUT_MAX) {
		fake_send_all(f);
	}
	o = &f->out[f->out_count++];
	o->to = *to;
	dp_client_frame_start(&o->frame, DP_FRAME_CLIENT_REPLY, o->buf, sizeof(o->buf));
	if (dp_client_frame_add_reply(&o->frame, rep) != 0) {
		f->out_count--; /* fits no frame: dropped */
	}
}

static void fake_stamp(struct fake *f, struct fake_pending *p, uint64_t now_ns)
{
	uint64_t span = now_ns - p->rx_ns;
	uint64_t *t = p->rep.trace_ns;
	t[DP_TRACE_RX] = p->rx_ns;
	t[DP_TRACE_PROPOSED] = p->rx_ns + span / 10;
	t[DP_TRACE_DURABLE] = p->rx_ns + span / 2;
	/* Every third request: the followers' quorum was faster than our disk. */
	t[DP_TRACE_REPLICATED] = p->rx_ns + (f->served % 3 == 0 ? span * 4 / 10 : span * 7 / 10);
	t[DP_TRACE_APPLIED] = p->rx_ns + span * 8 / 10;
	t[DP_TRACE_REPLY] = fake_now_ns();
	p->rep.trace_count = DP_TRACE_STAGES;
}

static void fake_flush(struct fake *f)
{
	uint64_t now_ns = fake_now_ns();
	while (f->count > 0 && f->q[f->head].due_ns <= now_ns) {
		struct fake_pending *p = &f->q[f->head];
		if (p->rep.trace_count != 0) {
			fake_stamp(f, p, now_ns);
		}
		fake_send(f, &p->from, &p->rep);
		f->served++;
		f->head = (f->head + 1) % FAKE_PENDING_MAX;
		f->count--;
	}
}

/* -L FILE: the leader is what the file says now (a test moves it). */
static void fake_read_leader(struct fake *f)
{
	FILE *lf = f->leader_path ? fopen(f->leader_path, "r") : NULL;
	unsigned leader = 0;
	if (lf != NULL) {
		if (fscanf(lf, "%u", &leader) == 1) {
			f->leader_id = leader;
		}
		fclose(lf);
	}
}

static void fake_on_request(struct fake *f, const struct dp_client_request *req,
			    const struct sockaddr_in *from, uint64_t rx_ns)
{
	if (req->op == DP_CLIENT_STATUS || f->leader_id != f->id) {
		fake_read_leader(f);
	}
	struct dp_client_reply rep = {.client_id = req->client_id,
				      .request_seq = req->request_seq,
				      .status = DP_CLIENT_OK,
				      .leader_id = f->leader_id};
	if (req->op == DP_CLIENT_STATUS) {
		int n = snprintf(f->status, sizeof(f->status), "{\"id\":%u,\"leader\":%u,\"term\":1}",
				 f->id, f->leader_id);
		rep.value = (const uint8_t *)f->status;
		rep.value_bytes = (uint32_t)n;
		fake_send(f, from, &rep);
		return;
	}
	if (f->leader_id != f->id) {
		rep.status = DP_CLIENT_REDIRECT;
		fake_send(f, from, &rep);
		return;
	}
	if (f->count == FAKE_PENDING_MAX) {
		rep.status = DP_CLIENT_BUSY;
		fake_send(f, from, &rep);
		return;
	}
	struct fake_pending *p = &f->q[(f->head + f->count) % FAKE_PENDING_MAX];
	f->count++;
	p->from = *from;
	p->rx_ns = rx_ns;
	p->due_ns = rx_ns + f->delay_ns;
	p->rep = rep;
	p->rep.trace_count = (req->flags & DP_CLIENT_FLAG_TRACE) ? 1u : 0u; /* mark */
}

static void fake_receive(struct fake *f)
{
	for (int burst = 0; burst < 64; burst++) {
		struct sockaddr_in from;
		socklen_t from_bytes = sizeof(from);
		ssize_t n = recvfrom(f->fd, f->buf, sizeof(f->buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &from_bytes);
		if (n <= 0) {
			return;
		}
		uint64_t rx_ns = fake_now_ns();
		struct dp_rx_frame fr;
		if (dp_wire_decode_udp(&f->wire, f->buf, (size_t)n, NULL, 0, &fr) != 0 ||
		    fr.type != DP_FRAME_CLIENT_REQUEST) {
			continue;
		}
		uint32_t at = 0;
		struct dp_client_request req;
		for (uint32_t i = 0; i < fr.batch.count; i++) {
			if (dp_client_batch_next_request(&fr.batch, &at, &req) == 0) {
				fake_on_request(f, &req, &from, rx_ns);
			}
		}
	}
}

static int fake_setup(struct fake *f, uint32_t cluster_id, const char *key_path,
		      uint16_t port)
{
	/* The client key file (a fake node answers clients only). */
	static struct dp_key_file kf;
	static struct dp_keyring keys;
	char why[512];
	struct dp_wire_config wc = {.cluster_id = cluster_id, .self_id = f->id, .keys = &keys,
				    .udp_port = port};
	if (dp_key_file_load(key_path, &kf, why, sizeof(why)) != 0 ||
	    dp_keyring_set(&keys, cluster_id, DP_KEY_ROLE_CLIENT, &kf, why, sizeof(why)) != 0 ||
	    dp_wire_init(&f->wire, &wc) != 0) {
		fprintf(stderr, "rb_fakenode: %s\n", why);
		return -1;
	}
	dp_key_file_wipe(&kf);
	f->fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("rb_fakenode: bind");
		return -1;
	}
	f->q = calloc(FAKE_PENDING_MAX, sizeof(f->q[0]));
	return f->q ? 0 : -1;
}

int main(int argc, char **argv)
{
	static struct fake f;
	uint32_t cluster_id = 7;
	const char *key_path = NULL;
	uint16_t port = 0;
	f.id = 1;
	f.leader_id = 1;
	f.delay_ns = 100000;
	int opt;
	while ((opt = getopt(argc, argv, "hc:s:p:i:l:L:d:")) != -1) {
		switch (opt) {
		case 'c': cluster_id = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': key_path = optarg; break;
		case 'p': port = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'i': f.id = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'l': f.leader_id = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'L': f.leader_path = optarg; break;
		case 'd': f.delay_ns = strtoull(optarg, NULL, 10) * 1000u; break;
		default:
			printf("usage: rb_fakenode -s CLIENT_KEY_FILE -p UDP_PORT [-c CLUSTER_ID] [-i ID]\n"
			       "                   [-l LEADER_ID | -L LEADER_FILE] [-d DELAY_US]\n"
			       "A fake node on 127.0.0.1 for testing raftbench (see the source).\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (key_path == NULL || port == 0 || fake_setup(&f, cluster_id, key_path, port)) {
		fprintf(stderr, "rb_fakenode: need -s CLIENT_KEY_FILE and -p PORT (-h)\n");
		return 2;
	}
	fake_read_leader(&f);
	signal(SIGTERM, fake_on_signal);
	signal(SIGINT, fake_on_signal);
	while (!fake_stop) {
		struct pollfd p = {.fd = f.fd, .events = POLLIN};
		(void)poll(&p, 1, f.count > 0 ? 0 : 10);
		fake_receive(&f);
		fake_flush(&f);
		fake_send_all(&f);
	}
	fprintf(stderr, "rb_fakenode %u: served %llu\n", f.id, (unsigned long long)f.served);
	return 0;
}
