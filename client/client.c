/* SPDX-License-Identifier: MIT */
/*
 * client.c - the client's life cycle and its sending half: defaults, open
 * (socket, codec key, the in-flight table and the frames sized once),
 * close, the target node, counters, error names, and the flush that packs
 * the queued requests into one frame per node and sends them all with one
 * sendmmsg.
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
	cfg->frame_bytes_max = CLIENT_FRAME_BYTES_DEFAULT;
}

const char *rn_client_strerror(int rc)
{
	int e = rc < 0 ? -rc : rc;
	switch (e) {
	case 0: return "ok";
	case RN_CLIENT_E_TIMEOUT: return "timed out: no final reply before the deadline";
	case RN_CLIENT_E_FULL: return "too many requests in flight";
	case RN_CLIENT_E_BAD_NODE: return "no such node in the configuration";
	case DP_ERR_TOO_BIG:
		/* Refused before it is sent (client_table.c): a request must
		 * fit one frame of the path to the node, the sealed frame's
		 * headers included; a timeout would tell the caller nothing. */
		return "request too large: key and value do not fit one frame of the path to the "
		       "node (frame_bytes_max less the frame's headers)";
	default: break;
	}
	if (e >= DP_ERR_TRUNCATED && e < RN_CLIENT_E_TIMEOUT) {
		return dp_strerror(-e);
	}
	return strerror(e);
}

const char *rn_client_status_name(uint8_t status)
{
	static const char *const names[] = {
		[DP_CLIENT_OK] = "ok",		 [DP_CLIENT_NOT_FOUND] = "not_found",
		[DP_CLIENT_CAS_FAILED] = "cas_failed", [DP_CLIENT_REDIRECT] = "redirect",
		[DP_CLIENT_RETRY] = "retry",	 [DP_CLIENT_BUSY] = "busy",
		[DP_CLIENT_BAD_REQUEST] = "bad_request", [DP_CLIENT_NO_SPACE] = "no_space",
		[DP_CLIENT_REFUSED] = "refused"};
	_Static_assert(sizeof(names) / sizeof(names[0]) == DP_CLIENT_STATUS_LAST + 1,
		       "a name for every status");
	return status <= DP_CLIENT_STATUS_LAST ? names[status] : "unknown";
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
	uint32_t smallest = DP_FRAME_OVERHEAD_BYTES + DP_CLIENT_BATCH_HDR_BYTES +
			    DP_CLIENT_REQUEST_FIXED_BYTES + DP_CLIENT_KEY_BYTES_MAX;
	if (cfg->nodes_count == 0 || cfg->nodes_count > RAFT_NODES_MAX ||
	    cfg->inflight_max > CLIENT_INFLIGHT_MAX ||
	    (cfg->frame_bytes_max != 0 &&
	     (cfg->frame_bytes_max < smallest || cfg->frame_bytes_max > DP_FRAME_BYTES_MAX))) {
		return -DP_ERR_INVALID; /* a frame must hold a GET of the longest key */
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
	c->cfg.frame_bytes_max =
		cfg->frame_bytes_max != 0 ? cfg->frame_bytes_max : CLIENT_FRAME_BYTES_DEFAULT;
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
	c->pending = calloc(n, sizeof(*c->pending));
	c->slot_data = malloc((size_t)n * CLIENT_REQUEST_DATA_BYTES_MAX);
	c->tx_bufs = malloc((size_t)CLIENT_TX_FRAMES_MAX * DP_FRAME_BYTES_MAX);
	c->rx_bufs = malloc((size_t)CLIENT_RX_BURST_MAX * DP_FRAME_BYTES_MAX);
	if (c->slots == NULL || c->active == NULL || c->pending == NULL || c->slot_data == NULL ||
	    c->tx_bufs == NULL || c->rx_bufs == NULL) {
		return -ENOMEM;
	}
	int rc = dp_reasm_init(&c->reasm, CLIENT_REASM_SLOTS, DP_CLIENT_REPLY_MSG_BYTES_MAX);
	if (rc != 0) {
		return rc;
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
	struct dp_wire_config wc = {.cluster_id = cfg->cluster_id, .self_id = 0, .udp_port = port};
	if (cfg->client_key.count > 0) {
		char why[256];
		rc = dp_keyring_set(&c->keys, cfg->cluster_id, DP_KEY_ROLE_CLIENT, &cfg->client_key,
				    why, sizeof(why));
		if (rc != 0) {
			goto fail;
		}
		wc.keys = &c->keys;
	} else {
		wc.secret = cfg->secret;
		wc.secret_bytes = cfg->secret_bytes;
	}
	rc = dp_wire_init(&c->wire, &wc);
	if (rc == 0) {
		rc = dp_wire_set_client_seal(&c->wire, cfg->client_encryption);
	}
	if (rc != 0) {
		goto fail;
	}
	c->wire.auth_off = cfg->auth_off;
	/* What a request frame may fill before it is sealed. */
	c->cfg.frame_bytes_max =
		(uint32_t)dp_wire_client_frame_bytes_max(&c->wire, c->cfg.frame_bytes_max);
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
	if (c->reasm.slots != NULL) {
		dp_reasm_fini(&c->reasm);
	}
	free(c->slot_data);
	free(c->tx_bufs);
	free(c->rx_bufs);
	free(c->pending);
	free(c->active);
	free(c->slots);
	rn_client_config_wipe(&c->cfg);
	dp_keyring_wipe(&c->keys);
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

int rn_client_fd(const struct rn_client *c)
{
	RN_ASSERT(c != NULL);
	return c->fd;
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

void client_slot_queue(struct rn_client *c, struct client_slot *s)
{
	RN_ASSERT(s->used);
	if (s->queued) {
		return;
	}
	RN_ASSERT(c->pending_count < c->cfg.inflight_max); /* one entry per used slot */
	s->queued = true;
	c->pending[c->pending_count++] = (uint32_t)(s - c->slots);
}

/* The frames of one flush: which node each goes to. */
struct flush_frames {
	struct dp_client_frame frames[CLIENT_TX_FRAMES_MAX];
	uint32_t node_ids[CLIENT_TX_FRAMES_MAX];
	uint32_t count;
	/* The frame each node's requests go into now (index + 1; 0 = none). */
	uint32_t open[RAFT_NODES_MAX];
};

/* Seals the frames and sends them all: one sendmmsg (a datagram the kernel
 * refuses is skipped: its requests are resent by their timers). */
static uint32_t flush_send(struct rn_client *c, struct flush_frames *ff)
{
	struct mmsghdr vec[CLIENT_TX_FRAMES_MAX];
	struct iovec iov[CLIENT_TX_FRAMES_MAX];
	struct sockaddr_in to[CLIENT_TX_FRAMES_MAX];
	for (uint32_t i = 0; i < ff->count; i++) {
		const struct rn_client_node *node = client_node(c, ff->node_ids[i]);
		RN_ASSERT(node != NULL);
		struct dp_endpoints addr = {.dst_ip = node->ip, .dst_port = node->udp_port,
					    .src_port = c->wire.udp_port};
		size_t n = dp_wire_seal_client_frame(&c->wire, &addr, ++c->msg_seq, node->id,
						     &ff->frames[i]);
		RN_ASSERT(n > DP_UDP_PAYLOAD_OFFSET);
		to[i] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(node->udp_port),
					     .sin_addr.s_addr = htonl(node->ip)};
		iov[i] = (struct iovec){.iov_base = ff->frames[i].buf + DP_UDP_PAYLOAD_OFFSET,
					.iov_len = n - DP_UDP_PAYLOAD_OFFSET};
		vec[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &to[i], .msg_namelen = sizeof(to[i]),
						      .msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	uint32_t done = 0, sent = 0;
	while (done < ff->count) { /* at most 2 x count calls */
		int k = sendmmsg(c->fd, vec + done, ff->count - done, 0);
		if (k <= 0) {
			done++; /* refused (buffer full, no route yet): a lost packet */
			continue;
		}
		done += (uint32_t)k;
		sent += (uint32_t)k;
	}
	c->counters.frames_sent += sent;
	ff->count = 0;
	memset(ff->open, 0, sizeof(ff->open));
	return sent;
}

/* The frame the node's next request goes into (a new one when its frame
 * has no room for item_bytes, or it has none yet). */
static struct dp_client_frame *flush_frame_for(struct rn_client *c, struct flush_frames *ff,
					       uint32_t node_id, size_t item_bytes,
					       uint32_t *sent)
{
	uint32_t k = 0;
	while (k < c->cfg.nodes_count && c->cfg.nodes[k].id != node_id) {
		k++;
	}
	RN_ASSERT(k < c->cfg.nodes_count); /* targets are configured nodes */
	uint32_t open = ff->open[k];
	if (open != 0 &&
	    dp_client_frame_bytes_with(&ff->frames[open - 1], item_bytes) <= c->cfg.frame_bytes_max) {
		return &ff->frames[open - 1];
	}
	if (ff->count == CLIENT_TX_FRAMES_MAX) {
		*sent += flush_send(c, ff);
	}
	uint32_t i = ff->count++;
	dp_client_frame_start(&ff->frames[i], DP_FRAME_CLIENT_REQUEST,
			      c->tx_bufs + (size_t)i * DP_FRAME_BYTES_MAX, c->cfg.frame_bytes_max);
	ff->node_ids[i] = node_id;
	ff->open[k] = i + 1;
	return &ff->frames[i];
}

uint32_t client_flush(struct rn_client *c)
{
	struct flush_frames ff = {.count = 0};
	uint32_t sent = 0;
	for (uint32_t p = 0; p < c->pending_count; p++) {
		struct client_slot *s = &c->slots[c->pending[p]];
		if (!s->used || !s->queued) {
			continue; /* completed meanwhile */
		}
		s->queued = false;
		struct dp_client_request req = {
			.client_id = c->cfg.client_id, .request_seq = s->seq, .op = s->op,
			.flags = s->flags, .key = s->data, .key_bytes = s->key_bytes,
			.value = s->data + s->key_bytes, .value_bytes = s->value_bytes,
			.expect = s->data + s->key_bytes + s->value_bytes,
			.expect_bytes = s->expect_bytes,
		};
		size_t item_bytes = dp_wire_request_item_bytes(&req);
		struct dp_client_frame *f = flush_frame_for(c, &ff, s->target_id, item_bytes, &sent);
		int rc = dp_client_frame_add_request(f, &req);
		RN_ASSERT(rc == 0); /* submit checked that it fits an empty frame */
		s->attempts++;
		c->counters.sent++;
	}
	c->pending_count = 0;
	if (ff.count > 0) {
		sent += flush_send(c, &ff);
	}
	return sent;
}
