/* SPDX-License-Identifier: MIT */
/*
 * dp_udp_probe.c - the kernel side of the namespace test: through an
 * ordinary UDP socket it sends authenticated HEARTBEAT frames (the UDP
 * payload of dp_wire_encode_raft's frame) to a DPDK endpoint and checks each
 * sealed HEARTBEAT_RESP (dp_wire_decode_udp), then sends frames sealed with
 * another secret and checks that none is answered.
 *
 * usage: dp_udp_probe --to A.B.C.D [--count N] [--forged M]
 * Exit 0 when every good frame got its verified answer and no forged frame
 * got any; 1 otherwise.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "dataplane.h"

#define PROBE_PORT 7400
#define PROBE_TRIES_MAX 3

static const uint8_t probe_secret[32] = "raftnode netns test secret, 32!";
static const uint8_t probe_forged_secret[32] = "not the cluster's secret at all";

static int probe_send(int fd, const struct sockaddr_in *to, const struct dp_wire *w,
		      uint64_t seq)
{
	static uint8_t frame[DP_FRAME_BYTES_MAX];
	struct dp_endpoints a = {.src_port = PROBE_PORT, .dst_port = PROBE_PORT};
	struct raft_message m = {.type = RAFT_MSG_HEARTBEAT, .from = 1, .to = 2, .term = 3};
	m.heartbeat.commit_index = seq;
	m.heartbeat.read_seq = seq;
	int n = dp_wire_encode_raft(w, &a, seq, &m, NULL, frame, sizeof(frame));
	if (n <= 0) {
		return -1;
	}
	size_t payload_bytes = (size_t)n - DP_UDP_PAYLOAD_OFFSET;
	ssize_t sent = sendto(fd, frame + DP_UDP_PAYLOAD_OFFSET, payload_bytes, 0,
			      (const struct sockaddr *)to, sizeof(*to));
	return sent == (ssize_t)payload_bytes ? 0 : -1;
}

/* 1 = the verified answer to seq arrived, 0 = nothing before the timeout. */
static int probe_recv(int fd, struct dp_wire *w, uint64_t seq)
{
	static uint8_t payload[DP_FRAME_BYTES_MAX];
	for (;;) {
		ssize_t n = recv(fd, payload, sizeof(payload), 0);
		if (n < 0) {
			return 0;
		}
		struct dp_rx_frame out;
		if (dp_wire_decode_udp(w, payload, (size_t)n, NULL, 0, &out) != 0) {
			fprintf(stderr, "probe: an answer failed to verify\n");
			continue;
		}
		if (out.type == RAFT_MSG_HEARTBEAT_RESP && out.raft.heartbeat_resp.read_seq == seq) {
			return 1;
		}
	}
}

int main(int argc, char **argv)
{
	const char *to_ip = NULL;
	unsigned long count = 1000, forged = 100;
	int c;
	while ((c = getopt(argc, argv, "t:n:f:")) != -1) {
		switch (c) {
		case 't': to_ip = optarg; break;
		case 'n': count = strtoul(optarg, NULL, 10); break;
		case 'f': forged = strtoul(optarg, NULL, 10); break;
		default: fprintf(stderr, "usage: %s -t IP [-n COUNT] [-f FORGED]\n", argv[0]);
			return 2;
		}
	}
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(PROBE_PORT)};
	if (to_ip == NULL || inet_pton(AF_INET, to_ip, &to.sin_addr) != 1) {
		fprintf(stderr, "probe: need -t IP\n");
		return 2;
	}
	struct dp_wire w, forger;
	struct dp_wire_config cfg = {.cluster_id = 7, .self_id = 1, .secret = probe_secret,
				     .secret_bytes = 32, .udp_port = PROBE_PORT};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(PROBE_PORT)};
	struct timeval tv = {.tv_sec = 0, .tv_usec = 300 * 1000};
	if (dp_wire_init(&w, &cfg) != 0 || fd < 0 ||
	    bind(fd, (const struct sockaddr *)&me, sizeof(me)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
		perror("probe: setup");
		return 1;
	}
	cfg.secret = probe_forged_secret;
	if (dp_wire_init(&forger, &cfg) != 0) {
		return 1;
	}
	unsigned long answered = 0, retries = 0, forged_answered = 0;
	for (uint64_t seq = 1; seq <= count; seq++) {
		for (int t = 0; t < PROBE_TRIES_MAX; t++) {
			if (probe_send(fd, &to, &w, seq) != 0) {
				perror("probe: sendto");
				return 1;
			}
			if (probe_recv(fd, &w, seq)) {
				answered++;
				break;
			}
			retries++;
		}
	}
	for (uint64_t seq = count + 1; seq <= count + forged; seq++) {
		if (probe_send(fd, &to, &forger, seq) != 0) {
			return 1;
		}
	}
	/* An answer to a forged frame would carry a read_seq above count.
	 * Collect everything that arrives until the socket stays quiet. */
	static uint8_t payload[DP_FRAME_BYTES_MAX];
	for (;;) {
		ssize_t n = recv(fd, payload, sizeof(payload), 0);
		if (n < 0) {
			break;
		}
		struct dp_rx_frame out;
		if (dp_wire_decode_udp(&w, payload, (size_t)n, NULL, 0, &out) == 0 &&
		    out.type == RAFT_MSG_HEARTBEAT_RESP && out.raft.heartbeat_resp.read_seq > count) {
			forged_answered++;
		}
	}
	printf("probe: sent %lu good (answered %lu, retries %lu), %lu forged (answered %lu)\n",
	       count, answered, retries, forged, forged_answered);
	close(fd);
	return answered == count && forged_answered == 0 ? 0 : 1;
}
