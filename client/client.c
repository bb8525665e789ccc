/* SPDX-License-Identifier: MIT */
/*
 * client.c - the client's life cycle and its sending half: defaults, open
 * (socket, codec key, the in-flight table sized once), close, the target
 * node, counters, error names, and sealing one request into a frame for
 * the node it goes to.
 *
 * The client's codec context has self_id 0: nodes address replies to 0,
 * and dp_wire_decode_udp drops a frame whose `to` is anything else. The
 * UDP port in the codec only matters for full Ethernet frames, which a
 * kernel socket never hands us, so it is the socket's own port for the
 * record.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client_internal.h"
#include "common.h"

/* The socket buffers a benchmark's burst of replies needs; best effort. */
#define CLIENT_SOCKET_BUF_BYTES (4u << 20)

void rn_client_config_default(struct rn_client_config *cfg)
{
	RN_ASSERT(cfg != NULL);
	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_ms = 200;
	cfg->deadline_ms = 5000;
	cfg->inflight_max = 1024;
	cfg->follow_redirects = true;
}

const char *rn_client_strerror(int rc)
{
	int e = rc < 0 ? -rc : rc;
	switch (e) {
	case 0: return "ok";
	case RN_CLIENT_E_TIMEOUT: return "timed out: no final reply before the deadline";
	case RN_CLIENT_E_FULL: return "too many requests in flight";
	case RN_CLIENT_E_BAD_NODE: return "no such node in the configuration";
	default: break;
	}
	if (e >= DP_ERR_TRUNCATED && e < RN_CLIENT_E_TIMEOUT) {
		return dp_strerror(-e);
	}
	return strerror(e);
}

uint64_t client_now_ns(void)
{
	struct timespec ts;
	int rc = clock_gettime(CLOCK_MONOTONIC, &ts);
	RN_ASSERT(rc == 0);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const struct rn_client_node *client_node(const struct rn_client *c, uint32_t node_id)
{
	for (uint32_t i = 0; i < c->cfg.nodes_count; i++) {
		if (c->cfg.nodes[i].id == node_id) {
			return &c->cfg.nodes[i];
		}
	}
	return NULL;
}

uint32_t client_next_node(const struct rn_client *c, uint32_t node_id)
{
	RN_ASSERT(c->cfg.nodes_count > 0);
	for (uint32_t i = 0; i < c->cfg.nodes_count; i++) {
		if (c->cfg.nodes[i].id == node_id) {
			return c->cfg.nodes[(i + 1) % c->cfg.nodes_count].id;
		}
	}
	return c->cfg.nodes[0].id;
}

static int client_config_check(const struct rn_client_config *cfg)
{
	if (cfg->nodes_count == 0 || cfg->nodes_count > RAFT_NODES_MAX ||
	    cfg->inflight_max > CLIENT_INFLIGHT_MAX) {
		return -DP_ERR_INVALID;
	}
	for (uint32_t i = 0; i < cfg->nodes_count; i++) {
		if (cfg->nodes[i].id == RAFT_NODE_NONE) {
			return -DP_ERR_INVALID;
		}
	}
	return 0;
}

/* Zero fields of the configuration take their documented defaults. */
static void client_config_fill(struct rn_client *c, const struct rn_client_config *cfg)
{
	c->cfg = *cfg;
	c->cfg.timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : 200;
	c->cfg.deadline_ms = cfg->deadline_ms != 0 ? cfg->deadline_ms : 5000;
	c->cfg.inflight_max = cfg->inflight_max != 0 ? cfg->inflight_max : 1024;
	c->target_id = cfg->target_id != 0 ? cfg->target_id : cfg->nodes[0].id;
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
		seed = client_now_ns() ^ (uint64_t)getpid();
	}
	c->rng = seed;
	if (c->cfg.client_id == 0) {
		/* 0 means "no session" to the node: never pick it. */
		do {
			c->cfg.client_id = rn_splitmix64(&seed);
		} while (c->cfg.client_id == 0);
	}
}

static int client_socket_open(uint16_t *port_out)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	int buf_bytes = (int)CLIENT_SOCKET_BUF_BYTES;
	/* The *FORCE variants pass net.core.rmem_max (root only); a burst of
	 * replies to 1000 requests overflows the default buffer. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf_bytes, sizeof(buf_bytes)) != 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf_bytes, sizeof(buf_bytes));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf_bytes, sizeof(buf_bytes)) != 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf_bytes, sizeof(buf_bytes));
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
	socklen_t sa_bytes = sizeof(sa);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sa_bytes) != 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	*port_out = ntohs(sa.sin_port);
	return fd;
}

static int client_table_alloc(struct rn_client *c)
{
	uint32_t n = c->cfg.inflight_max;
	c->slots = calloc(n, sizeof(*c->slots));
	c->active = calloc(n, sizeof(*c->active));
	c->slot_data = malloc((size_t)n * CLIENT_REQUEST_DATA_BYTES_MAX);
	if (c->slots == NULL || c->active == NULL || c->slot_data == NULL) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		c->slots[i].data = c->slot_data + (size_t)i * CLIENT_REQUEST_DATA_BYTES_MAX;
	}
	return 0;
}

int rn_client_open(const struct rn_client_config *cfg, struct rn_client **out)
{
	RN_ASSERT(cfg != NULL);
	RN_ASSERT(out != NULL);
	*out = NULL;
	int rc = client_config_check(cfg);
	if (rc != 0) {
		return rc;
	}
	struct rn_client *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return -ENOMEM;
	}
	c->fd = -1;
	client_config_fill(c, cfg);
	if (client_node(c, c->target_id) == NULL) {
		rc = -RN_CLIENT_E_BAD_NODE;
		goto fail;
	}
	rc = client_table_alloc(c);
	if (rc != 0) {
		goto fail;
	}
	uint16_t port = 0;
	c->fd = client_socket_open(&port);
	if (c->fd < 0) {
		rc = c->fd;
		goto fail;
	}
	struct dp_wire_config wc = {.cluster_id = cfg->cluster_id, .self_id = 0,
				    .secret = cfg->secret, .secret_bytes = cfg->secret_bytes,
				    .udp_port = port};
	rc = dp_wire_init(&c->wire, &wc);
	if (rc != 0) {
		goto fail;
	}
	*out = c;
	return 0;
fail:
	rn_client_close(c);
	return rc;
}

void rn_client_close(struct rn_client *c)
{
	if (c == NULL) {
		return;
	}
	if (c->fd >= 0) {
		close(c->fd);
	}
	dp_wire_fini(&c->wire);
	free(c->slot_data);
	free(c->active);
	free(c->slots);
	memset(c->cfg.secret, 0, sizeof(c->cfg.secret));
	free(c);
}

int rn_client_set_target(struct rn_client *c, uint32_t node_id)
{
	RN_ASSERT(c != NULL);
	if (client_node(c, node_id) == NULL) {
		return -RN_CLIENT_E_BAD_NODE;
	}
	c->target_id = node_id;
	return 0;
}

uint32_t rn_client_target(const struct rn_client *c)
{
	RN_ASSERT(c != NULL);
	return c->target_id;
}

uint32_t rn_client_inflight(const struct rn_client *c)
{
	RN_ASSERT(c != NULL);
	return c->active_count;
}

void rn_client_get_counters(const struct rn_client *c, struct rn_client_counters *out)
{
	RN_ASSERT(c != NULL);
	RN_ASSERT(out != NULL);
	*out = c->counters;
}

int client_slot_send(struct rn_client *c, struct client_slot *s)
{
	const struct rn_client_node *node = client_node(c, s->target_id);
	RN_ASSERT(node != NULL);
	struct dp_client_request req = {
		.client_id = c->cfg.client_id, .request_seq = s->seq, .op = s->op,
		.flags = s->flags, .key = s->data, .key_bytes = s->key_bytes,
		.value = s->data + s->key_bytes, .value_bytes = s->value_bytes,
		.expect = s->data + s->key_bytes + s->value_bytes, .expect_bytes = s->expect_bytes,
	};
	struct dp_endpoints addr = {.dst_ip = node->ip, .dst_port = node->udp_port,
				    .src_port = c->wire.udp_port};
	int n = dp_wire_encode_request(&c->wire, &addr, ++c->msg_seq, node->id, &req, c->tx_buf,
				       sizeof(c->tx_buf));
	if (n < 0) {
		return n;
	}
	RN_ASSERT((size_t)n > DP_UDP_PAYLOAD_OFFSET);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(node->udp_port),
				 .sin_addr.s_addr = htonl(node->ip)};
	s->attempts++;
	c->counters.sent++;
	/* A refused datagram (buffer full, no route yet) is a lost packet:
	 * the retransmit timer covers it like any other loss. */
	(void)sendto(c->fd, c->tx_buf + DP_UDP_PAYLOAD_OFFSET, (size_t)n - DP_UDP_PAYLOAD_OFFSET,
		     0, (struct sockaddr *)&sa, sizeof(sa));
	return 0;
}
