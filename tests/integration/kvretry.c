/* SPDX-License-Identifier: MIT */
/*
 * kvretry - a pipelining client's retransmits, sent as frames of its own
 * from a kernel UDP socket (the client library picks its sequence numbers;
 * this picks them as the library does, (counter << 20) | slot, and sends
 * them out of order), for integration test (a): each is answered from the
 * session's window of recent results, through a real cluster.
 *
 *   1. client A writes 1, 3, 4; 2 is "lost" (held back);
 *   2. 1 retransmitted after 3 and 4 were applied: ok (a duplicate: the
 *      value stays 4's);
 *   3. the lost 2 arrives: ok, applied; client B overwrites its key; 2
 *      retransmitted again: ok, not applied twice (B's value stays);
 *   4. `window` more writes of A, B overwrites 3's key; 3 retransmitted:
 *      older than the window, so bad_request (stale), not applied.
 *
 *   kvretry --node ID [--window N] [--config FILE]
 * Exits 0 when every answer and value is as expected, 1 naming the first
 * that is not, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rn_client.h"

#define KR_ATTEMPT_MS 300
#define KR_DEADLINE_MS 10000

struct kr {
	int fd;
	struct dp_wire wire;
	struct rn_client_config cfg;
	uint32_t target;
	uint64_t msg_seq;
	uint8_t buf[DP_FRAME_BYTES_MAX];
	char value[DP_FRAME_BYTES_MAX];
};

static uint64_t kr_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool kr_send(struct kr *k, const struct dp_client_request *req)
{
	const struct rn_client_node *n = NULL;
	for (uint32_t i = 0; i < k->cfg.nodes_count; i++) {
		n = k->cfg.nodes[i].id == k->target ? &k->cfg.nodes[i] : n;
	}
	if (n == NULL) {
		return false;
	}
	struct dp_endpoints addr = {0};
	int bytes = dp_wire_encode_request(&k->wire, &addr, ++k->msg_seq, k->target, req, k->buf,
					   sizeof(k->buf));
	if (bytes <= (int)DP_UDP_PAYLOAD_OFFSET) {
		return false;
	}
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(n->udp_port),
				 .sin_addr.s_addr = htonl(n->ip)};
	size_t count = (size_t)bytes - DP_UDP_PAYLOAD_OFFSET;
	return sendto(k->fd, k->buf + DP_UDP_PAYLOAD_OFFSET, count, 0,
		      (const struct sockaddr *)&to, sizeof(to)) == (ssize_t)count;
}

/* Sends one request and waits for its final answer: the same frame body
 * again after a time-out (a retransmit, as the library does), to the
 * leader a REDIRECT names, later after RETRY or BUSY. Returns the status
 * (the value in k->value), or -1 at the deadline. */
static int kr_call(struct kr *k, uint8_t op, uint64_t client_id, uint64_t seq, const char *key,
		   const char *value)
{
	struct dp_client_request req = {
		.op = op, .client_id = client_id, .request_seq = seq, .key = (const uint8_t *)key,
		.key_bytes = (uint32_t)strlen(key), .value = (const uint8_t *)value,
		.value_bytes = value != NULL ? (uint32_t)strlen(value) : 0};
	uint64_t deadline_ms = kr_now_ms() + KR_DEADLINE_MS;
	while (kr_now_ms() < deadline_ms) {
		if (!kr_send(k, &req)) {
			return -1;
		}
		uint64_t attempt_end_ms = kr_now_ms() + KR_ATTEMPT_MS;
		for (uint64_t now = kr_now_ms(); now < attempt_end_ms; now = kr_now_ms()) {
			struct pollfd p = {.fd = k->fd, .events = POLLIN};
			if (poll(&p, 1, (int)(attempt_end_ms - now)) <= 0) {
				continue;
			}
			ssize_t n = recv(k->fd, k->buf, sizeof(k->buf), 0);
			struct dp_rx_frame f;
			if (n <= 0 ||
			    dp_wire_decode_udp(&k->wire, k->buf, (size_t)n, NULL, 0, &f) != 0 ||
			    f.type != DP_FRAME_CLIENT_REPLY) {
				continue;
			}
			/* A datagram carries the replies of one node round (wire
			 * version 3): this request's may follow an earlier one's. */
			struct dp_client_reply item;
			const struct dp_client_reply *rep = NULL;
			uint32_t at = 0;
			for (uint32_t i = 0; i < f.batch.count && rep == NULL; i++) {
				if (dp_client_batch_next_reply(&f.batch, &at, &item) != 0) {
					break;
				}
				if (item.client_id == client_id && item.request_seq == seq) {
					rep = &item;
				}
			}
			if (rep == NULL) {
				continue; /* not this request's answer (an earlier copy's) */
			}
			if (rep->status == DP_CLIENT_REDIRECT && rep->leader_id != 0) {
				k->target = rep->leader_id;
				break;
			}
			if (rep->status == DP_CLIENT_RETRY || rep->status == DP_CLIENT_BUSY ||
			    rep->status == DP_CLIENT_REDIRECT) {
				usleep(50 * 1000);
				break;
			}
			memcpy(k->value, rep->value, rep->value_bytes);
			k->value[rep->value_bytes] = '\0';
			return rep->status;
		}
	}
	return -1;
}

static int kr_fail(const char *step, int got, int want)
{
	fprintf(stderr, "kvretry: %s: status %d, want %d\n", step, got, want);
	return 1;
}

/* A linearizable read by client b: the value, or exits. */
static int kr_expect_value(struct kr *k, uint64_t b, const char *key, const char *want)
{
	int st = kr_call(k, DP_CLIENT_GET, b, 0, key, NULL);
	if (st != DP_CLIENT_OK || strcmp(k->value, want) != 0) {
		fprintf(stderr, "kvretry: get %s: status %d value '%s', want ok '%s'\n", key, st,
			st == DP_CLIENT_OK ? k->value : "", want);
		return 1;
	}
	return 0;
}

/* The client library's sequence numbers: (submit counter << 20) | slot. */
static uint64_t kr_seq(uint64_t counter)
{
	return counter << 20 | (counter % 7);
}

static int kr_run(struct kr *k, uint32_t window)
{
	uint64_t a = ((uint64_t)getpid() << 32 | (uint64_t)time(NULL)) | 1u;
	uint64_t b = a + 2;
	int st;
	if ((st = kr_call(k, DP_CLIENT_PUT, a, kr_seq(1), "kr-a", "1")) != DP_CLIENT_OK ||
	    (st = kr_call(k, DP_CLIENT_PUT, a, kr_seq(3), "kr-b", "3")) != DP_CLIENT_OK ||
	    (st = kr_call(k, DP_CLIENT_PUT, a, kr_seq(4), "kr-a", "4")) != DP_CLIENT_OK) {
		return kr_fail("writes 1, 3, 4", st, DP_CLIENT_OK);
	}
	st = kr_call(k, DP_CLIENT_PUT, a, kr_seq(1), "kr-a", "1");
	if (st != DP_CLIENT_OK) {
		return kr_fail("1 retransmitted after 3 and 4", st, DP_CLIENT_OK);
	}
	if (kr_expect_value(k, b, "kr-a", "4") != 0) {
		return 1;
	}
	printf("kvretry: 1 retransmitted after 3 and 4 were applied: ok, not applied again\n");
	if ((st = kr_call(k, DP_CLIENT_PUT, a, kr_seq(2), "kr-c", "2")) != DP_CLIENT_OK) {
		return kr_fail("2 (lost) arriving after 4", st, DP_CLIENT_OK);
	}
	if (kr_expect_value(k, b, "kr-c", "2") != 0) {
		return 1;
	}
	if ((st = kr_call(k, DP_CLIENT_PUT, b, kr_seq(1), "kr-c", "other")) != DP_CLIENT_OK ||
	    (st = kr_call(k, DP_CLIENT_PUT, a, kr_seq(2), "kr-c", "2")) != DP_CLIENT_OK) {
		return kr_fail("2 retransmitted once more", st, DP_CLIENT_OK);
	}
	if (kr_expect_value(k, b, "kr-c", "other") != 0) {
		return 1;
	}
	printf("kvretry: 2, lost, then sent after 4: applied once (its second retransmit: ok, "
	       "not applied)\n");
	for (uint64_t i = 0; i < window; i++) {
		if ((st = kr_call(k, DP_CLIENT_PUT, a, kr_seq(5 + i), "kr-fill", "x")) !=
		    DP_CLIENT_OK) {
			return kr_fail("a write filling the window", st, DP_CLIENT_OK);
		}
	}
	if ((st = kr_call(k, DP_CLIENT_PUT, b, kr_seq(2), "kr-b", "other")) != DP_CLIENT_OK) {
		return kr_fail("client b's write", st, DP_CLIENT_OK);
	}
	st = kr_call(k, DP_CLIENT_PUT, a, kr_seq(3), "kr-b", "3");
	if (st != DP_CLIENT_BAD_REQUEST) {
		return kr_fail("3 retransmitted after a window of later writes", st,
			       DP_CLIENT_BAD_REQUEST);
	}
	if (kr_expect_value(k, b, "kr-b", "other") != 0) {
		return 1;
	}
	printf("kvretry: 3 retransmitted after %u later writes (older than the window): "
	       "bad_request, not applied\n", window);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"node", required_argument, NULL, 'n'},
					     {"window", required_argument, NULL, 'w'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *config = NULL;
	uint32_t node = 0, window = 256;
	int o;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': config = optarg; break;
		case 'n': node = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'w': window = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'h':
			printf("usage: kvretry --node ID [--window N] [--config FILE]\n");
			return 0;
		default: return 2;
		}
	}
	static struct kr k;
	char errmsg[512];
	rn_client_config_default(&k.cfg);
	if (rn_client_config_load(config != NULL ? config : rn_client_config_default_path(), &k.cfg,
				  errmsg, sizeof(errmsg)) != 0) {
		fprintf(stderr, "kvretry: %s\n", errmsg);
		return 2;
	}
	/* A port of its own, named in the frames as the library does. */
	struct sockaddr_in self = {.sin_family = AF_INET};
	socklen_t self_bytes = sizeof(self);
	k.fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (k.fd < 0 || bind(k.fd, (const struct sockaddr *)&self, sizeof(self)) != 0 ||
	    getsockname(k.fd, (struct sockaddr *)&self, &self_bytes) != 0) {
		perror("kvretry: socket");
		return 2;
	}
	/* The client key, as the library holds it: a client, not a node. */
	static struct dp_keyring keys;
	char why[256];
	struct dp_wire_config wc = {.cluster_id = k.cfg.cluster_id, .self_id = 0, .keys = &keys,
				    .udp_port = ntohs(self.sin_port)};
	if (node == 0 || window == 0 ||
	    dp_keyring_set(&keys, k.cfg.cluster_id, DP_KEY_ROLE_CLIENT, &k.cfg.client_key, why,
			   sizeof(why)) != 0 ||
	    dp_wire_init(&k.wire, &wc) != 0) {
		fprintf(stderr, "usage: kvretry --node ID [--window N] [--config FILE]\n");
		return 2;
	}
	k.target = node;
	int rc = kr_run(&k, window);
	dp_wire_fini(&k.wire);
	close(k.fd);
	return rc;
}
