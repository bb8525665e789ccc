/* SPDX-License-Identifier: MIT */
/*
 * client_fake_node.c - see client_fake_node.h. The thread never calls
 * cmocka (its assertions belong to the test's thread): it only records.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client_fake_node.h"

const uint8_t fake_secret[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t fake_other_secret[32] = "not-the-cluster-secret-at-all!!!";
static const uint8_t fake_admin_secret[32] = "admin-key-of-the-fake-node-0123!";

uint64_t fake_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct fake_entry *fake_find(struct fake_node *f, const struct dp_client_request *r,
				    bool create)
{
	struct fake_entry *free_entry = NULL;
	for (uint32_t i = 0; i < FAKE_KEYS_MAX; i++) {
		struct fake_entry *e = &f->kv[i];
		if (e->used && e->key_bytes == r->key_bytes &&
		    memcmp(e->key, r->key, r->key_bytes) == 0) {
			return e;
		}
		if (!e->used && free_entry == NULL) {
			free_entry = e;
		}
	}
	if (!create || free_entry == NULL || r->key_bytes > FAKE_KEY_BYTES_MAX) {
		return NULL;
	}
	free_entry->used = true;
	free_entry->key_bytes = (uint8_t)r->key_bytes;
	memcpy(free_entry->key, r->key, r->key_bytes);
	return free_entry;
}

static void fake_set(struct fake_entry *e, const uint8_t *v, uint32_t bytes)
{
	e->value_bytes = (uint8_t)(bytes < FAKE_VALUE_BYTES_MAX ? bytes : FAKE_VALUE_BYTES_MAX);
	memcpy(e->value, v, e->value_bytes);
}

/* The key-value answer to one request. */
static void fake_kv(struct fake_node *f, const struct dp_client_request *r,
		    struct dp_client_reply *rep)
{
	static const char status_json[] =
		"{\"role\":\"leader\",\"term\":3,\"leader\":1,\"commit_index\":10,"
		"\"followers\":[{\"id\":2,\"match\":10,\"next\":11,\"inflight\":0}],"
		"\"counters\":{\"proposals\":5,\"note\":\"a \\\"quoted\\\" word\"}}";
	struct fake_entry *e = fake_find(f, r, r->op == DP_CLIENT_PUT);
	rep->status = DP_CLIENT_OK;
	switch (r->op) {
	case DP_CLIENT_PUT:
		if (e == NULL) {
			rep->status = DP_CLIENT_BUSY; /* the fake's table is full */
		} else {
			fake_set(e, r->value, r->value_bytes);
		}
		break;
	case DP_CLIENT_DELETE:
		if (e == NULL) {
			rep->status = DP_CLIENT_NOT_FOUND;
		} else {
			e->used = false;
		}
		break;
	case DP_CLIENT_CAS:
		if (e == NULL) {
			rep->status = DP_CLIENT_NOT_FOUND;
		} else if (e->value_bytes != r->expect_bytes ||
			   memcmp(e->value, r->expect, r->expect_bytes) != 0) {
			rep->status = DP_CLIENT_CAS_FAILED;
		} else {
			fake_set(e, r->value, r->value_bytes);
		}
		break;
	case DP_CLIENT_TRANSFER: break; /* accepted */
	case DP_CLIENT_STATUS:
		rep->value = (const uint8_t *)status_json;
		rep->value_bytes = sizeof(status_json) - 1;
		break;
	default: /* GET, GET_STALE */
		if (e == NULL) {
			rep->status = DP_CLIENT_NOT_FOUND;
		} else {
			rep->value = e->value;
			rep->value_bytes = e->value_bytes;
		}
	}
}

/* Sends one frame of replies to `to`. */
static void fake_send_frame(struct fake_node *f, const struct dp_wire *w,
			    const struct dp_client_frame *frame, const struct sockaddr_in *to)
{
	struct dp_endpoints addr = {.src_port = f->port, .dst_port = ntohs(to->sin_port),
				    .key_id = f->rx_key_id}; /* under the request's key */
	size_t n = dp_wire_seal_client_frame(w, &addr, ++f->msg_seq, 0, frame);
	if (f->mode == FAKE_OLD_VERSION) {
		frame->buf[DP_UDP_PAYLOAD_OFFSET + offsetof(struct dp_wire_hdr, version)] = 2;
	}
	(void)sendto(f->fd, frame->buf + DP_UDP_PAYLOAD_OFFSET, n - DP_UDP_PAYLOAD_OFFSET, 0,
		     (const struct sockaddr *)to, sizeof(*to));
}

/* Counts a reply datagram before it is sent: the client may see the reply
 * and read the count before this thread runs again, so counting after the
 * send raced (the count came one short on a loaded CI machine). */
static void fake_count_tx(struct fake_node *f)
{
	pthread_mutex_lock(&f->mu);
	f->datagrams_tx++;
	pthread_mutex_unlock(&f->mu);
}

/* A reply: into this datagram's reply frame (sent after its last request),
 * or at once, alone, when sealed with another secret (w != &f->wire). */
static void fake_send(struct fake_node *f, const struct dp_wire *w,
		      const struct dp_client_reply *rep, const struct sockaddr_in *to)
{
	if (w != &f->wire) {
		uint8_t out[DP_FRAME_BYTES_MAX];
		struct dp_client_frame one;
		dp_client_frame_start(&one, DP_FRAME_CLIENT_REPLY, out, sizeof(out));
		if (dp_client_frame_add_reply(&one, rep) == 0) {
			fake_send_frame(f, w, &one, to);
		}
		return;
	}
	if (dp_client_frame_add_reply(&f->reply, rep) != 0 && f->reply.count > 0) {
		fake_count_tx(f); /* full: this one goes now */
		fake_send_frame(f, &f->wire, &f->reply, to);
		dp_client_frame_start(&f->reply, DP_FRAME_CLIENT_REPLY, f->out,
				      dp_wire_client_frame_bytes_max(&f->wire, sizeof(f->out)));
		(void)dp_client_frame_add_reply(&f->reply, rep);
	}
}

/* A JSON status of exactly FAKE_BIG_STATUS_BYTES: many followers. */
static void fake_big_status_fill(struct fake_node *f)
{
	size_t at = (size_t)snprintf(f->big_status, sizeof(f->big_status),
				     "{\"role\":\"leader\",\"followers\":[");
	for (uint32_t i = 0; at + 80 < FAKE_BIG_STATUS_BYTES; i++) {
		at += (size_t)snprintf(f->big_status + at, sizeof(f->big_status) - at,
				       "%s{\"id\":%u,\"match_index\":%u}", i == 0 ? "" : ",",
				       i + 2, 1000 + i);
	}
	at += (size_t)snprintf(f->big_status + at, sizeof(f->big_status) - at, "],\"pad\":\"");
	while (at < FAKE_BIG_STATUS_BYTES - 2) {
		f->big_status[at++] = 'x';
	}
	memcpy(f->big_status + at, "\"}", 3);
}

/* A status reply larger than one frame, as fragments of one message sent
 * at once (the second one skipped when `lose`). */
static void fake_send_fragments(struct fake_node *f, const struct dp_client_reply *rep,
				const struct sockaddr_in *to, bool lose)
{
	dp_wire_client_batch_hdr(f->big_body, 1);
	int n = dp_wire_reply_body(rep, f->big_body + DP_CLIENT_BATCH_HDR_BYTES,
				   sizeof(f->big_body) - DP_CLIENT_BATCH_HDR_BYTES);
	if (n < 0) {
		return;
	}
	struct dp_fragment_src src = {.type = DP_FRAME_CLIENT_REPLY, .from = f->id, .to = 0,
				      .msg_seq = ++f->msg_seq, .body = f->big_body,
				      .body_bytes = (uint32_t)n + DP_CLIENT_BATCH_HDR_BYTES};
	struct dp_endpoints addr = {.src_port = f->port, .dst_port = ntohs(to->sin_port)};
	uint32_t k = 0;
	for (uint32_t offset = 0; offset < src.body_bytes; k++) {
		uint32_t carried = 0;
		int bytes = dp_wire_encode_fragment(&f->wire, &addr, &src, offset,
						    FAKE_FRAGMENT_FRAME_BYTES, f->out, sizeof(f->out),
						    &carried);
		if (bytes < 0 || carried == 0) {
			return;
		}
		offset += carried;
		pthread_mutex_lock(&f->mu);
		f->fragments_tx++;
		pthread_mutex_unlock(&f->mu);
		if (lose && k == 1) {
			continue;
		}
		(void)sendto(f->fd, f->out + DP_UDP_PAYLOAD_OFFSET,
			     (size_t)bytes - DP_UDP_PAYLOAD_OFFSET, 0, (const struct sockaddr *)to,
			     sizeof(*to));
	}
}

/* Records the request; returns its number (0 = the first). */
static uint32_t fake_log(struct fake_node *f, const struct dp_client_request *r)
{
	pthread_mutex_lock(&f->mu);
	uint32_t n = f->requests_count++;
	if (n < FAKE_LOG_MAX) {
		f->log[n] = (struct fake_request){.client_id = r->client_id,
						  .seq = r->request_seq, .op = r->op,
						  .rx_ns = fake_now_ns()};
	}
	pthread_mutex_unlock(&f->mu);
	return n;
}

/* raftctl reload as a node answers it (FAKE_ADMIN, FAKE_ADMIN_FAIL): true
 * when r was one (rep filled). */
static bool fake_reload(struct fake_node *f, const struct dp_client_request *r,
			struct dp_client_reply *rep)
{
	static char json[400];
	if ((f->mode != FAKE_ADMIN && f->mode != FAKE_ADMIN_FAIL) || r->op != DP_CLIENT_STATUS ||
	    r->key_bytes != 6 || memcmp(r->key, "reload", 6) != 0) {
		return false;
	}
	const char *keys = "\"peer\":{\"seals\":1,\"ids\":[1]},\"client\":{\"seals\":101,"
			   "\"ids\":[101]},\"admin\":{\"seals\":102,\"ids\":[102]}";
	if (f->rx_key_id != FAKE_ADMIN_KEY_ID) {
		rep->status = DP_CLIENT_REFUSED;
		snprintf(json, sizeof(json), "{\"reload\":\"refused_key\",\"node\":%u,\"key_id\":%u,"
			 "\"error\":\"sealed with a client key: reload needs an admin key\"}",
			 f->id, f->rx_key_id);
	} else if (f->mode == FAKE_ADMIN_FAIL) {
		rep->status = DP_CLIENT_REFUSED;
		snprintf(json, sizeof(json), "{\"reload\":\"refused\",\"node\":%u,\"error\":\"key "
			 "file /x/peer.key: mode 644 lets group or others read or write it\","
			 "\"reloads\":0,\"failures\":1,%s}", f->id, keys);
	} else {
		rep->status = DP_CLIENT_OK;
		snprintf(json, sizeof(json), "{\"reload\":\"ok\",\"node\":%u,\"reloads\":1,"
			 "\"failures\":0,%s}", f->id, keys);
	}
	rep->value = (const uint8_t *)json;
	rep->value_bytes = (uint32_t)strlen(json);
	return true;
}

static void fake_on_request(struct fake_node *f, const struct dp_client_request *r,
			    const struct sockaddr_in *from)
{
	uint32_t n = fake_log(f, r);
	struct dp_client_reply rep = {.client_id = r->client_id, .request_seq = r->request_seq,
				      .leader_id = f->id};
	bool first = n == 0;
	switch (f->mode) {
	case FAKE_SILENT: return;
	case FAKE_DROP_FIRST:
		if (first) {
			return;
		}
		break;
	case FAKE_REDIRECT:
		rep.status = DP_CLIENT_REDIRECT;
		rep.leader_id = f->redirect_to;
		fake_send(f, &f->wire, &rep, from);
		return;
	case FAKE_RETRY_FIRST:
		if (first) {
			rep.status = DP_CLIENT_RETRY;
			rep.leader_id = 0;
			fake_send(f, &f->wire, &rep, from);
			return;
		}
		break;
	default: break;
	}
	if (fake_reload(f, r, &rep)) {
		fake_send(f, &f->wire, &rep, from);
		return;
	}
	fake_kv(f, r, &rep);
	if ((f->mode == FAKE_BIG_STATUS || f->mode == FAKE_BIG_STATUS_LOSE_FIRST) &&
	    r->op == DP_CLIENT_STATUS) {
		rep.value = (const uint8_t *)f->big_status;
		rep.value_bytes = FAKE_BIG_STATUS_BYTES;
		fake_send_fragments(f, &rep, from, f->mode == FAKE_BIG_STATUS_LOSE_FIRST && first);
		return;
	}
	if (f->mode == FAKE_BAD_SECRET_FIRST && first) {
		fake_send(f, &f->bad_wire, &rep, from); /* the client must drop this one */
	}
	fake_send(f, &f->wire, &rep, from);
}

static void *fake_main(void *arg)
{
	struct fake_node *f = arg;
	while (!atomic_load(&f->stop)) {
		struct pollfd pfd = {.fd = f->fd, .events = POLLIN};
		if (poll(&pfd, 1, 10) <= 0) {
			continue;
		}
		struct sockaddr_in from;
		socklen_t from_bytes = sizeof(from);
		ssize_t n = recvfrom(f->fd, f->buf, sizeof(f->buf), 0, (struct sockaddr *)&from,
				     &from_bytes);
		struct dp_rx_frame rx;
		if (n <= 0 || dp_wire_decode_udp(&f->wire, f->buf, (size_t)n, NULL, 0, &rx) != 0 ||
		    rx.type != DP_FRAME_CLIENT_REQUEST) {
			continue;
		}
		f->rx_key_id = rx.addr.key_id;
		pthread_mutex_lock(&f->mu);
		f->datagrams_rx++;
		f->batch_max = rx.batch.count > f->batch_max ? rx.batch.count : f->batch_max;
		pthread_mutex_unlock(&f->mu);
		dp_client_frame_start(&f->reply, DP_FRAME_CLIENT_REPLY, f->out,
				      dp_wire_client_frame_bytes_max(&f->wire, sizeof(f->out)));
		uint32_t at = 0;
		struct dp_client_request req;
		for (uint32_t i = 0; i < rx.batch.count; i++) {
			if (dp_client_batch_next_request(&rx.batch, &at, &req) == 0) {
				fake_on_request(f, &req, &from);
			}
		}
		if (f->reply.count > 0) {
			fake_count_tx(f);
			fake_send_frame(f, &f->wire, &f->reply, &from);
		}
	}
	return NULL;
}

void fake_node_start(struct fake_node *f, uint32_t id, int mode)
{
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->mode = mode;
	atomic_init(&f->stop, false);
	pthread_mutex_init(&f->mu, NULL);
	f->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(f->fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sa_bytes = sizeof(sa);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(f->fd, (struct sockaddr *)&sa, &sa_bytes), 0);
	f->port = ntohs(sa.sin_port);
	/* A node's client key: what the clients seal with, by its id. */
	struct dp_key_file kf = {.count = 1, .key_id = {FAKE_KEY_ID},
				 .secret_bytes = {sizeof(fake_secret)}};
	char why[256];
	memcpy(kf.secret[0], fake_secret, sizeof(fake_secret));
	assert_int_equal(dp_keyring_set(&f->keys, FAKE_CLUSTER_ID, DP_KEY_ROLE_CLIENT, &kf, why,
					sizeof(why)),
			 0);
	struct dp_key_file admin = {.count = 1, .key_id = {FAKE_ADMIN_KEY_ID},
				    .secret_bytes = {sizeof(fake_admin_secret)}};
	memcpy(admin.secret[0], fake_admin_secret, sizeof(fake_admin_secret));
	assert_int_equal(dp_keyring_set(&f->keys, FAKE_CLUSTER_ID, DP_KEY_ROLE_ADMIN, &admin, why,
					sizeof(why)),
			 0);
	memcpy(kf.secret[0], fake_other_secret, sizeof(fake_other_secret));
	assert_int_equal(dp_keyring_set(&f->bad_keys, FAKE_CLUSTER_ID, DP_KEY_ROLE_CLIENT, &kf,
					why, sizeof(why)),
			 0);
	struct dp_wire_config wc = {.cluster_id = FAKE_CLUSTER_ID, .self_id = id, .keys = &f->keys,
				    .udp_port = f->port};
	assert_int_equal(dp_wire_init(&f->wire, &wc), 0);
	assert_int_equal(dp_wire_set_client_seal(&f->wire, mode == FAKE_KV_SEALED), 0);
	wc.keys = &f->bad_keys;
	assert_int_equal(dp_wire_init(&f->bad_wire, &wc), 0);
	fake_big_status_fill(f);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

void fake_node_stop(struct fake_node *f)
{
	atomic_store(&f->stop, true);
	assert_int_equal(pthread_join(f->thread, NULL), 0);
	close(f->fd);
	dp_wire_fini(&f->wire);
	dp_wire_fini(&f->bad_wire);
	pthread_mutex_destroy(&f->mu);
}

void fake_node_datagrams(struct fake_node *f, uint32_t *rx, uint32_t *tx, uint32_t *batch_max)
{
	pthread_mutex_lock(&f->mu);
	*rx = f->datagrams_rx;
	*tx = f->datagrams_tx;
	*batch_max = f->batch_max;
	pthread_mutex_unlock(&f->mu);
}

uint32_t fake_node_requests(struct fake_node *f)
{
	pthread_mutex_lock(&f->mu);
	uint32_t n = f->requests_count;
	pthread_mutex_unlock(&f->mu);
	return n;
}

struct fake_request fake_node_request(struct fake_node *f, uint32_t i)
{
	assert_true(i < FAKE_LOG_MAX);
	pthread_mutex_lock(&f->mu);
	struct fake_request r = f->log[i];
	pthread_mutex_unlock(&f->mu);
	return r;
}

void fake_client_config(struct rn_client_config *cfg, struct fake_node *const *nodes,
			uint32_t nodes_count)
{
	rn_client_config_default(cfg);
	cfg->cluster_id = FAKE_CLUSTER_ID;
	cfg->client_key = (struct dp_key_file){.count = 1, .key_id = {FAKE_KEY_ID},
					       .secret_bytes = {sizeof(fake_secret)}};
	memcpy(cfg->client_key.secret[0], fake_secret, sizeof(fake_secret));
	for (uint32_t i = 0; i < nodes_count; i++) {
		cfg->nodes[i] = (struct rn_client_node){.id = nodes[i]->id, .ip = INADDR_LOOPBACK,
							.udp_port = nodes[i]->port};
	}
	cfg->nodes_count = nodes_count;
	cfg->timeout_ms = 50;
	cfg->deadline_ms = 2000;
}
