/* SPDX-License-Identifier: MIT */
/*
 * rb_client_stub.c - a deliberately small stand-in for the client library
 * (client/, rn_client.h), built into `raftbench_stub` only while the tree
 * has no client_dep, so raftbench can be run against bench/rb_fakenode
 * before the real library is merged. Implements only what raftbench calls:
 * config, open/close, async submit/poll with retransmit, redirect and
 * BUSY/RETRY resend, status, target. Not the library: no backoff policy,
 * no fragments, config via node_config_load. Delete it once client/ lands.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "node.h"
#include "rn_client.h"

struct stub_slot {
	bool used;
	uint64_t seq;
	uint64_t user;
	uint64_t sent_ns;
	uint64_t first_ns;
	uint32_t attempts;
	struct dp_client_request req;
	uint8_t bytes[DP_CLIENT_KEY_BYTES_MAX + 9000];
};

struct rn_client {
	struct rn_client_config cfg;
	struct dp_wire wire;
	int fd;
	uint32_t target;
	uint64_t client_id;
	uint64_t seq;
	uint64_t msg_seq;
	uint32_t inflight;
	struct stub_slot *slots;
	struct rn_client_counters counters;
	uint8_t tx[DP_FRAME_BYTES_MAX];
	uint8_t rx[DP_FRAME_BYTES_MAX];
};

static uint64_t stub_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void rn_client_config_default(struct rn_client_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->follow_redirects = true;
}

const char *rn_client_config_default_path(void)
{
	const char *env = getenv("RAFTNODE_CONFIG");
	return env != NULL && env[0] != '\0' ? env : RN_CLIENT_CONFIG_DEFAULT;
}

static int stub_read_secret(const char *path, struct rn_client_config *cfg, char *errmsg,
			    size_t errmsg_bytes)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(errmsg, errmsg_bytes, "%s: %s", path, strerror(errno));
		return -errno;
	}
	size_t n = fread(cfg->secret, 1, sizeof(cfg->secret), f);
	fclose(f);
	if (n < DP_SECRET_BYTES_MIN) {
		snprintf(errmsg, errmsg_bytes, "%s: secret shorter than %u bytes", path,
			 DP_SECRET_BYTES_MIN);
		return -EINVAL;
	}
	cfg->secret_bytes = (uint32_t)n;
	return 0;
}

int rn_client_config_load(const char *path, struct rn_client_config *cfg, char *errmsg,
			  size_t errmsg_bytes)
{
	struct node_config *nc = calloc(1, sizeof(*nc));
	int rc = -EINVAL;
	/* node_config_load wants a member to read as; any member will do. */
	for (raft_node_id self = 1; self <= RAFT_NODES_MAX && rc != 0; self++) {
		rc = node_config_load(path, self, nc, errmsg, errmsg_bytes);
	}
	if (rc == 0) {
		cfg->cluster_id = nc->cluster_id;
		cfg->nodes_count = nc->members_count;
		for (uint32_t i = 0; i < nc->members_count; i++) {
			cfg->nodes[i].id = nc->members[i].id;
			cfg->nodes[i].ip = ntohl(nc->members[i].ip_be);
			cfg->nodes[i].udp_port = nc->members[i].udp_port;
		}
		rc = stub_read_secret(nc->secret_file, cfg, errmsg, errmsg_bytes);
	}
	free(nc);
	return rc;
}

const char *rn_client_strerror(int rc)
{
	switch (-rc) {
	case RN_CLIENT_E_TIMEOUT: return "timeout";
	case RN_CLIENT_E_FULL: return "too many requests in flight";
	case RN_CLIENT_E_BAD_NODE: return "no such node";
	}
	return rc <= -2000 ? dp_strerror(rc) : strerror(-rc);
}

int rn_client_open(const struct rn_client_config *cfg, struct rn_client **out)
{
	struct rn_client *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return -ENOMEM;
	}
	c->cfg = *cfg;
	c->cfg.timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 200;
	c->cfg.deadline_ms = cfg->deadline_ms ? cfg->deadline_ms : 5000;
	c->cfg.inflight_max = cfg->inflight_max ? cfg->inflight_max : 1024;
	c->slots = calloc(c->cfg.inflight_max, sizeof(c->slots[0]));
	c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	c->target = cfg->target_id ? cfg->target_id : cfg->nodes[0].id;
	c->client_id = cfg->client_id ? cfg->client_id : rn_mix64(stub_now_ns() ^ (uintptr_t)c);
	struct dp_wire_config wc = {.cluster_id = cfg->cluster_id, .self_id = 0,
				    .secret = cfg->secret, .secret_bytes = cfg->secret_bytes};
	int rc = c->slots == NULL ? -ENOMEM : c->fd < 0 ? -errno : dp_wire_init(&c->wire, &wc);
	if (rc != 0) {
		rn_client_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void rn_client_close(struct rn_client *c)
{
	if (c->fd >= 0) {
		close(c->fd);
	}
	free(c->slots);
	free(c);
}

int rn_client_set_target(struct rn_client *c, uint32_t node_id)
{
	for (uint32_t i = 0; i < c->cfg.nodes_count; i++) {
		if (c->cfg.nodes[i].id == node_id) {
			c->target = node_id;
			return 0;
		}
	}
	return -RN_CLIENT_E_BAD_NODE;
}

uint32_t rn_client_target(const struct rn_client *c)
{
	return c->target;
}

uint32_t rn_client_inflight(const struct rn_client *c)
{
	return c->inflight;
}

void rn_client_get_counters(const struct rn_client *c, struct rn_client_counters *out)
{
	*out = c->counters;
}

static int stub_send(struct rn_client *c, struct stub_slot *s, uint32_t node_id)
{
	const struct rn_client_node *n = NULL;
	for (uint32_t i = 0; i < c->cfg.nodes_count; i++) {
		n = c->cfg.nodes[i].id == node_id ? &c->cfg.nodes[i] : n;
	}
	if (n == NULL) {
		return -RN_CLIENT_E_BAD_NODE;
	}
	struct dp_endpoints a = {.dst_ip = n->ip, .dst_port = n->udp_port};
	int bytes = dp_wire_encode_request(&c->wire, &a, ++c->msg_seq, node_id, &s->req, c->tx,
					   sizeof(c->tx));
	if (bytes < 0) {
		return bytes;
	}
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(n->udp_port),
				 .sin_addr.s_addr = htonl(n->ip)};
	(void)sendto(c->fd, c->tx + DP_UDP_PAYLOAD_OFFSET,
		     (size_t)bytes - DP_UDP_PAYLOAD_OFFSET, 0, (struct sockaddr *)&to, sizeof(to));
	s->sent_ns = stub_now_ns();
	s->attempts++;
	c->counters.sent++;
	return 0;
}

static int stub_submit_to(struct rn_client *c, const struct rn_client_request *req,
			  uint32_t node_id)
{
	if (c->inflight >= c->cfg.inflight_max) {
		return -RN_CLIENT_E_FULL;
	}
	uint64_t seq = ++c->seq;
	struct stub_slot *s = &c->slots[seq % c->cfg.inflight_max];
	while (s->used) { /* an old request still holds this slot */
		seq = ++c->seq;
		s = &c->slots[seq % c->cfg.inflight_max];
	}
	uint32_t total = req->key_bytes + req->value_bytes + req->expect_bytes;
	if (total > sizeof(s->bytes)) {
		return -DP_ERR_TOO_BIG;
	}
	memcpy(s->bytes, req->key, req->key_bytes);
	if (req->value_bytes) {
		memcpy(s->bytes + req->key_bytes, req->value, req->value_bytes);
	}
	s->req = (struct dp_client_request){
		.client_id = c->client_id, .request_seq = seq, .op = req->op, .flags = req->flags,
		.key = s->bytes, .key_bytes = req->key_bytes,
		.value = s->bytes + req->key_bytes, .value_bytes = req->value_bytes};
	s->seq = seq;
	s->user = req->user;
	s->attempts = 0;
	s->first_ns = stub_now_ns();
	int rc = stub_send(c, s, node_id);
	if (rc == 0) {
		s->used = true;
		c->inflight++;
	}
	return rc;
}

int rn_client_submit(struct rn_client *c, const struct rn_client_request *req)
{
	return stub_submit_to(c, req, c->target);
}

static void stub_finish(struct rn_client *c, struct stub_slot *s, int rc,
			struct rn_client_result *res, rn_client_reply_fn fn, void *ctx)
{
	s->used = false;
	c->inflight--;
	res->attempts = s->attempts;
	fn(ctx, s->user, rc, res);
}

static int stub_on_reply(struct rn_client *c, const struct dp_client_reply *rep,
			 rn_client_reply_fn fn, void *ctx)
{
	struct stub_slot *s = &c->slots[rep->request_seq % c->cfg.inflight_max];
	if (!s->used || s->seq != rep->request_seq || rep->client_id != c->client_id) {
		c->counters.replies_stale++;
		return 0;
	}
	c->counters.replies++;
	if (rep->status == DP_CLIENT_REDIRECT && c->cfg.follow_redirects && rep->leader_id) {
		c->counters.redirects++;
		(void)rn_client_set_target(c, rep->leader_id);
		return stub_send(c, s, c->target) == 0 ? 0 : 0;
	}
	if (rep->status == DP_CLIENT_BUSY || rep->status == DP_CLIENT_RETRY) {
		c->counters.retries_busy++;
		s->sent_ns = stub_now_ns() - (uint64_t)c->cfg.timeout_ms * 1000000u + 1000000u;
		return 0; /* resent by the retransmit scan in about 1 ms */
	}
	struct rn_client_result res = {
		.status = rep->status, .leader_id = rep->leader_id, .node_id = c->target,
		.value = rep->value, .value_bytes = rep->value_bytes,
		.trace_count = rep->trace_count};
	memcpy(res.trace_ns, rep->trace_ns, sizeof(res.trace_ns));
	stub_finish(c, s, 0, &res, fn, ctx);
	return 1;
}

static int stub_scan(struct rn_client *c, rn_client_reply_fn fn, void *ctx)
{
	uint64_t now_ns = stub_now_ns();
	int done = 0;
	for (uint32_t i = 0; i < c->cfg.inflight_max && c->inflight > 0; i++) {
		struct stub_slot *s = &c->slots[i];
		if (!s->used || now_ns - s->sent_ns < (uint64_t)c->cfg.timeout_ms * 1000000u) {
			continue;
		}
		if (now_ns - s->first_ns >= (uint64_t)c->cfg.deadline_ms * 1000000u) {
			struct rn_client_result res = {.status = DP_CLIENT_RETRY};
			c->counters.timeouts++;
			stub_finish(c, s, -RN_CLIENT_E_TIMEOUT, &res, fn, ctx);
			done++;
			continue;
		}
		c->counters.retransmits++;
		(void)stub_send(c, s, c->target);
	}
	return done;
}

int rn_client_poll(struct rn_client *c, uint32_t wait_us, rn_client_reply_fn fn, void *ctx)
{
	if (wait_us > 0) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		struct timespec ts = {.tv_sec = wait_us / 1000000u,
				      .tv_nsec = (long)(wait_us % 1000000u) * 1000};
		(void)ppoll(&p, 1, &ts, NULL);
	}
	int done = 0;
	for (uint32_t burst = 0; burst < 64; burst++) {
		ssize_t n = recv(c->fd, c->rx, sizeof(c->rx), 0);
		if (n <= 0) {
			break;
		}
		struct dp_rx_frame f;
		if (dp_wire_decode_udp(&c->wire, c->rx, (size_t)n, NULL, 0, &f) != 0 ||
		    f.type != DP_FRAME_CLIENT_REPLY) {
			c->counters.rx_dropped++;
			continue;
		}
		done += stub_on_reply(c, &f.reply, fn, ctx);
	}
	return done + stub_scan(c, fn, ctx);
}

struct stub_sync {
	bool done;
	int rc;
	struct rn_client_result *res;
};

static void stub_sync_reply(void *ctx, uint64_t user, int rc, const struct rn_client_result *res)
{
	struct stub_sync *s = ctx;
	(void)user;
	s->done = true;
	s->rc = rc;
	*s->res = *res;
}

int rn_client_status(struct rn_client *c, uint32_t node_id, struct rn_client_result *res)
{
	struct rn_client_request req = {.op = DP_CLIENT_STATUS, .key = "status", .key_bytes = 6};
	int rc = stub_submit_to(c, &req, node_id ? node_id : c->target);
	struct stub_sync sync = {.res = res};
	while (rc == 0 && !sync.done) {
		rc = rn_client_poll(c, 1000, stub_sync_reply, &sync);
		rc = rc < 0 ? rc : 0;
	}
	return rc != 0 ? rc : sync.rc;
}
