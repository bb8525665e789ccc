/* SPDX-License-Identifier: MIT */
/*
 * forge - sends hostile frames to a node from a kernel UDP socket, for
 * integration test (e): client requests and consensus messages sealed with
 * a wrong secret, frames of another cluster, random bytes, valid frames cut
 * short or with a flipped bit, and an old client's frame (the right secret
 * and cluster, wire version 2: dropped as bad_version). Every one must be dropped and counted by the
 * node while it keeps serving; the test reads the node's counters before
 * and after.
 *
 *   forge --config FILE --node ID [--count N]
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rn_client.h"

struct forge {
	int fd;
	struct sockaddr_in to;
	uint32_t sent;
};

static void forge_send(struct forge *f, const uint8_t *bytes, size_t count)
{
	if (sendto(f->fd, bytes, count, 0, (const struct sockaddr *)&f->to, sizeof(f->to)) ==
	    (ssize_t)count) {
		f->sent++;
	}
}

/* A frame sealed with `secret`: a client PUT, or a heartbeat from node 1. */
static int forge_frame(uint32_t cluster_id, const uint8_t *secret, uint32_t to, bool raft,
		       uint64_t seq, uint8_t *buf, size_t buf_bytes)
{
	struct dp_wire w;
	struct dp_wire_config wc = {.cluster_id = cluster_id, .self_id = 0, .secret = secret,
				    .secret_bytes = 32, .udp_port = 9000};
	if (dp_wire_init(&w, &wc) != 0) {
		return -1;
	}
	struct dp_endpoints addr = {0};
	int n;
	if (raft) {
		struct raft_message m = {.type = RAFT_MSG_HEARTBEAT, .from = to == 1 ? 2 : 1,
					 .to = to, .term = 1u << 30,
					 .heartbeat = {.commit_index = 1u << 20}};
		n = dp_wire_encode_raft(&w, &addr, seq, &m, NULL, buf, buf_bytes);
	} else {
		static const uint8_t key[] = "forged", value[] = "forged-value";
		struct dp_client_request req = {.client_id = 666, .request_seq = seq,
						.op = DP_CLIENT_PUT, .key = key, .key_bytes = 6,
						.value = value, .value_bytes = 12};
		n = dp_wire_encode_request(&w, &addr, seq, to, &req, buf, buf_bytes);
	}
	dp_wire_fini(&w);
	return n;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"node", required_argument, NULL, 'n'},
					     {"count", required_argument, NULL, 'k'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *config = NULL;
	uint32_t node = 0, count = 100;
	int o;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': config = optarg; break;
		case 'n': node = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'k': count = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'h': printf("usage: forge --config FILE --node ID [--count N]\n"); return 0;
		default: return 2;
		}
	}
	struct rn_client_config cfg;
	char errmsg[512];
	rn_client_config_default(&cfg);
	if (rn_client_config_load(config != NULL ? config : rn_client_config_default_path(), &cfg,
				  errmsg, sizeof(errmsg)) != 0) {
		fprintf(stderr, "forge: %s\n", errmsg);
		return 2;
	}
	const struct rn_client_node *target = NULL;
	for (uint32_t i = 0; i < cfg.nodes_count; i++) {
		target = cfg.nodes[i].id == node ? &cfg.nodes[i] : target;
	}
	if (target == NULL) {
		fprintf(stderr, "usage: forge --config FILE --node ID [--count N] (no node %u)\n", node);
		return 2;
	}
	struct forge f = {.fd = socket(AF_INET, SOCK_DGRAM, 0)};
	f.to = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(target->udp_port),
				    .sin_addr.s_addr = htonl(target->ip)};
	uint8_t wrong[32], buf[DP_FRAME_BYTES_MAX];
	memcpy(wrong, cfg.secret, 32);
	wrong[0] ^= 0x5a; /* one byte off: still wrong */
	uint64_t rnd = 0x9e3779b97f4a7c15ull;
	uint32_t kinds[6] = {0};
	for (uint32_t i = 0; i < count; i++) {
		uint32_t kind = i % 6;
		int n;
		switch (kind) {
		case 0: /* a client write sealed with a wrong secret */
		case 1: /* a consensus message claiming to be a member, wrong secret */
			n = forge_frame(cfg.cluster_id, wrong, node, kind == 1, i + 1, buf, sizeof(buf));
			break;
		case 2: /* the right secret but another cluster's id */
			n = forge_frame(cfg.cluster_id + 1, cfg.secret, node, false, i + 1, buf,
					sizeof(buf));
			break;
		case 3: /* a valid frame with one bit flipped in its body or tag */
			n = forge_frame(cfg.cluster_id, cfg.secret, node, false, i + 1, buf, sizeof(buf));
			if (n > 0) {
				buf[n - 1 - (int)(i % 20)] ^= 0x10;
			}
			break;
		case 5: /* an old client: right secret and cluster, wire version 2 */
			n = forge_frame(cfg.cluster_id, cfg.secret, node, false, i + 1, buf, sizeof(buf));
			if (n > 0) {
				buf[DP_UDP_PAYLOAD_OFFSET + offsetof(struct dp_wire_hdr, version)] = 2;
			}
			break;
		default: /* random bytes, random length */
			n = (int)(8 + i % 200) + (int)DP_UDP_PAYLOAD_OFFSET;
			for (int k = 0; k < n; k++) {
				rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
				buf[k] = (uint8_t)rnd;
			}
			break;
		}
		if (n <= (int)DP_UDP_PAYLOAD_OFFSET) {
			fprintf(stderr, "forge: could not build frame kind %u\n", kind);
			return 1;
		}
		forge_send(&f, buf + DP_UDP_PAYLOAD_OFFSET, (size_t)n - DP_UDP_PAYLOAD_OFFSET);
		kinds[kind]++;
		usleep(200); /* do not overrun the node's socket: every frame must arrive */
	}
	close(f.fd);
	printf("forge: sent %u frames to node %u: %u wrong-secret requests, %u wrong-secret "
	       "consensus messages, %u other-cluster, %u bit-flipped, %u random, %u of wire "
	       "version 2\n",
	       f.sent, node, kinds[0], kinds[1], kinds[2], kinds[3], kinds[4], kinds[5]);
	return f.sent == count ? 0 : 1;
}
