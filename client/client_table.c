/* SPDX-License-Identifier: MIT */
/*
 * client_table.c - the in-flight table: submit a request into a free slot
 * (queued for the next flush), and poll: send what is queued, receive
 * reply datagrams (recvmmsg) and every reply in each, match each to its
 * slot by request_seq, follow REDIRECT, back off on RETRY/BUSY, retransmit
 * on timeout with the same (client id, request_seq), give up at the
 * deadline, complete requests through the caller's callback, and send the
 * resends this poll queued before returning. A reply that came as
 * fragments (larger than one frame) is reassembled first (dp_reasm, memory
 * sized at open); a lost fragment leaves its request to time out and retry.
 *
 * Exactly-once and many requests in flight: the node keeps the results of
 * each client session's most recent writes (kv_session_window, README), so
 * a retransmit inside that window, packed in a batch with newer requests
 * or not, is answered with its first outcome; one older than the window
 * is answered as stale (bad_request), never applied twice. The library
 * reports whatever final status arrives.
 *
 * Cost: a poll scans the active slots once for due timers, O(in flight).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "client_internal.h"
#include "common.h"

static void table_release(struct rn_client *c, struct client_slot *s)
{
	RN_ASSERT(s->used);
	RN_ASSERT(c->active_count > 0);
	uint32_t last = c->active[--c->active_count];
	c->active[s->active_index] = last;
	c->slots[last].active_index = s->active_index;
	/* Never while queued: a queued slot is sent by the poll that queued
	 * it before any reply or deadline can complete it. */
	RN_ASSERT(!s->queued);
	s->used = false;
}

static uint32_t table_free_slot(const struct rn_client *c)
{
	/* The next counter value's natural slot first: sequential submits
	 * cycle through the table, so this usually hits at once. */
	uint32_t n = c->cfg.inflight_max;
	uint32_t start = (uint32_t)(c->submits % n);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = (start + k) % n;
		if (!c->slots[i].used) {
			return i;
		}
	}
	RN_ASSERT(0 && "no free slot although active_count < inflight_max");
	return 0;
}

/* The byte strings each operation carries, as the node's decoder checks
 * them (wire_client.c): a request it would drop is refused here instead of
 * timing out. 0, -DP_ERR_INVALID or -DP_ERR_TOO_BIG. */
static int table_request_check(const struct rn_client *c, const struct rn_client_request *req)
{
	uint64_t data_bytes = (uint64_t)req->key_bytes + req->value_bytes + req->expect_bytes;
	if (req->op < DP_CLIENT_PUT || req->op > DP_CLIENT_OP_LAST ||
	    (req->flags & ~DP_CLIENT_FLAGS_KNOWN) != 0 || req->key_bytes == 0) {
		return -DP_ERR_INVALID;
	}
	bool has_value = req->op == DP_CLIENT_PUT || req->op == DP_CLIENT_CAS ||
			 req->op == DP_CLIENT_TRANSFER || req->op == DP_CLIENT_MEMBER;
	if ((!has_value && req->value_bytes != 0) ||
	    (req->op != DP_CLIENT_CAS && req->expect_bytes != 0) ||
	    (req->op == DP_CLIENT_TRANSFER && req->value_bytes != 4) ||
	    (req->op == DP_CLIENT_MEMBER && req->value_bytes != 0 &&
	     req->value_bytes != DP_CONF_ENTRY_BYTES)) {
		return -DP_ERR_INVALID;
	}
	/* It must fit one frame of this client's size, alone. */
	uint64_t frame_bytes = DP_FRAME_OVERHEAD_BYTES + DP_CLIENT_BATCH_HDR_BYTES +
			       DP_CLIENT_REQUEST_FIXED_BYTES + data_bytes;
	if (req->key_bytes > DP_CLIENT_KEY_BYTES_MAX || data_bytes > CLIENT_REQUEST_DATA_BYTES_MAX ||
	    frame_bytes > c->cfg.frame_bytes_max) {
		return -DP_ERR_TOO_BIG;
	}
	return 0;
}

static void table_copy(uint8_t *dst, const void *src, uint32_t bytes)
{
	if (bytes > 0) {
		RN_ASSERT(src != NULL);
		memcpy(dst, src, bytes);
	}
}

int client_submit(struct rn_client *c, const struct rn_client_request *req, uint32_t target_id,
		  bool pinned)
{
	RN_ASSERT(c != NULL);
	RN_ASSERT(req != NULL);
	int rc = table_request_check(c, req);
	if (rc != 0) {
		return rc;
	}
	if (target_id != 0 && client_node(c, target_id) == NULL) {
		return -RN_CLIENT_E_BAD_NODE;
	}
	if (c->active_count >= c->cfg.inflight_max) {
		return -RN_CLIENT_E_FULL;
	}
	uint32_t i = table_free_slot(c);
	struct client_slot *s = &c->slots[i];
	uint64_t now_ns = client_now_ns();
	uint8_t *data = s->data;
	*s = (struct client_slot){
		.used = true, .pinned = pinned, .op = req->op, .flags = req->flags,
		.target_id = target_id != 0 ? target_id : c->target_id,
		.key_bytes = req->key_bytes, .value_bytes = req->value_bytes,
		.expect_bytes = req->expect_bytes, .active_index = c->active_count,
		.seq = (++c->submits << CLIENT_SLOT_BITS) | i, .user = req->user,
		.resend_at_ns = now_ns + (uint64_t)c->cfg.timeout_ms * 1000000ull,
		.deadline_ns = now_ns + (uint64_t)c->cfg.deadline_ms * 1000000ull, .data = data,
	};
	table_copy(data, req->key, req->key_bytes);
	table_copy(data + req->key_bytes, req->value, req->value_bytes);
	table_copy(data + req->key_bytes + req->value_bytes, req->expect, req->expect_bytes);
	c->active[c->active_count++] = i;
	client_slot_queue(c, s);
	return 0;
}

int rn_client_submit(struct rn_client *c, const struct rn_client_request *req)
{
	return client_submit(c, req, 0, false);
}

/* Finishes a request: its callback, then its slot is free. */
static void table_complete(struct rn_client *c, struct client_slot *s, int rc,
			   struct rn_client_result *res, rn_client_reply_fn fn, void *ctx)
{
	res->attempts = s->attempts;
	uint64_t user = s->user;
	table_release(c, s);
	fn(ctx, user, rc, res);
}

static uint64_t table_backoff_ns(struct rn_client *c, uint32_t busy_count)
{
	uint32_t shift = busy_count > 6 ? 6 : busy_count;
	uint64_t ns = rn_min_u64(CLIENT_BACKOFF_NS_MIN << shift, CLIENT_BACKOFF_NS_MAX);
	/* Up to +25 % jitter, so clients refused together do not return
	 * together. */
	return ns + rn_splitmix64(&c->rng) % (ns / 4 + 1);
}

/* REDIRECT, RETRY and BUSY are not final while time is left: true when the
 * slot was rescheduled. */
static bool table_not_final(struct rn_client *c, struct client_slot *s,
			    const struct dp_client_reply *rep, uint64_t now_ns)
{
	bool redirect = rep->status == DP_CLIENT_REDIRECT;
	bool known_leader = client_node(c, rep->leader_id) != NULL;
	if (redirect && c->cfg.follow_redirects && !s->pinned && known_leader) {
		c->counters.redirects++;
		s->target_id = rep->leader_id;
		s->node_timeouts = 0;
		c->target_id = rep->leader_id; /* later requests go there first */
		s->backoff = true;	       /* not a timeout */
		s->resend_at_ns = now_ns;      /* at once, by the timers below */
		return true;
	}
	/* A redirect to a leader we cannot reach is a wait for another one. */
	bool again = rep->status == DP_CLIENT_RETRY || rep->status == DP_CLIENT_BUSY ||
		     (redirect && c->cfg.follow_redirects && !s->pinned);
	if (again) {
		/* Past the deadline the timer gives up with a timeout. */
		c->counters.retries_busy++;
		s->backoff = true;
		s->resend_at_ns = now_ns + table_backoff_ns(c, s->busy_count++);
		s->resend_at_ns = rn_min_u64(s->resend_at_ns, s->deadline_ns);
		return true;
	}
	return false;
}

static uint32_t table_sender_id(const struct rn_client *c, const struct sockaddr_in *sa,
				const struct client_slot *s)
{
	uint32_t ip = ntohl(sa->sin_addr.s_addr);
	uint16_t port = ntohs(sa->sin_port);
	for (uint32_t i = 0; i < c->cfg.nodes_count; i++) {
		if (c->cfg.nodes[i].ip == ip && c->cfg.nodes[i].udp_port == port) {
			return c->cfg.nodes[i].id;
		}
	}
	return s->target_id;
}

/* One reply of a received datagram from sa. Returns the callbacks made
 * (0 or 1). */
static int table_on_reply(struct rn_client *c, const struct dp_client_reply *rep,
			  const struct sockaddr_in *sa, rn_client_reply_fn fn, void *ctx)
{
	struct client_slot *s = &c->slots[rep->request_seq & CLIENT_SLOT_MASK];
	bool ours = rep->client_id == c->cfg.client_id &&
		    (rep->request_seq & CLIENT_SLOT_MASK) < c->cfg.inflight_max;
	if (!ours || !s->used || s->seq != rep->request_seq) {
		c->counters.replies_stale++; /* e.g. the answer to a retransmit */
		return 0;
	}
	c->counters.replies++;
	uint64_t now_ns = client_now_ns();
	if (table_not_final(c, s, rep, now_ns)) {
		return 0;
	}
	struct rn_client_result res = {
		.status = rep->status, .leader_id = rep->leader_id,
		.node_id = table_sender_id(c, sa, s), .value = rep->value,
		.value_bytes = rep->value_bytes, .trace_count = rep->trace_count,
	};
	memcpy(res.trace_ns, rep->trace_ns, sizeof(res.trace_ns));
	table_complete(c, s, 0, &res, fn, ctx);
	return 1;
}

/* One received datagram: every reply it carries. Returns the callbacks
 * made. A sync call's callback stops the walk (rx_stop): its one request
 * is done, and its value must stay where it is. */
static int table_on_datagram(struct rn_client *c, const uint8_t *buf, size_t bytes,
			     const struct sockaddr_in *sa, rn_client_reply_fn fn, void *ctx)
{
	struct dp_rx_frame f;
	int rc = dp_wire_decode_udp(&c->wire, buf, bytes, NULL, 0, &f);
	if (rc == -DP_ERR_FRAGMENT && f.type == DP_FRAME_CLIENT_REPLY) {
		/* A reply larger than one frame of the path: kept until its
		 * last fragment, then walked like any frame (its replies point
		 * into the reassembly slot, valid until the next push). */
		struct dp_rx_frame frag = f;
		c->counters.fragments_received++;
		rc = dp_reasm_push(&c->reasm, &frag, NULL, 0, &f);
		if (rc == -DP_ERR_AGAIN) {
			return 0;
		}
		c->counters.messages_reassembled += rc == 0 ? 1u : 0u;
	}
	if (rc != 0 || f.type != DP_FRAME_CLIENT_REPLY) {
		c->counters.rx_dropped++;
		c->counters.rx_bad_version += rc == -DP_ERR_BAD_VERSION ? 1u : 0u;
		return 0;
	}
	c->counters.frames_received++;
	int done = 0;
	uint32_t at = 0;
	struct dp_client_reply rep;
	for (uint32_t i = 0; i < f.batch.count && !c->rx_stop; i++) {
		if (dp_client_batch_next_reply(&f.batch, &at, &rep) != 0) {
			break; /* the decoder checked every reply: not reached */
		}
		done += table_on_reply(c, &rep, sa, fn, ctx);
	}
	return done;
}

/* Receives up to CLIENT_RX_CALLS_MAX bursts of datagrams (recvmmsg). */
static int table_receive(struct rn_client *c, rn_client_reply_fn fn, void *ctx)
{
	struct mmsghdr vec[CLIENT_RX_BURST_MAX];
	struct iovec iov[CLIENT_RX_BURST_MAX];
	struct sockaddr_in from[CLIENT_RX_BURST_MAX];
	int done = 0;
	for (uint32_t k = 0; k < CLIENT_RX_CALLS_MAX && !c->rx_stop; k++) {
		for (uint32_t i = 0; i < CLIENT_RX_BURST_MAX; i++) {
			iov[i] = (struct iovec){.iov_base = c->rx_bufs + (size_t)i * DP_FRAME_BYTES_MAX,
						.iov_len = DP_FRAME_BYTES_MAX};
			vec[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i],
							      .msg_namelen = sizeof(from[i]),
							      .msg_iov = &iov[i], .msg_iovlen = 1}};
		}
		int n = recvmmsg(c->fd, vec, CLIENT_RX_BURST_MAX, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			/* EAGAIN: nothing more now. An ICMP error reported on
			 * the socket: the request it concerns is resent by its
			 * timer; the next poll reads on. */
			break;
		}
		for (uint32_t i = 0; i < (uint32_t)n && !c->rx_stop; i++) {
			done += table_on_datagram(c, iov[i].iov_base, vec[i].msg_len, &from[i], fn,
						  ctx);
		}
		if ((uint32_t)n < CLIENT_RX_BURST_MAX) {
			break; /* read dry */
		}
	}
	return done;
}

/* A due slot: give up at the deadline, else resend (a retransmit when the
 * timer was a timeout, moving on to the next node after a few). */
static int table_on_timer(struct rn_client *c, struct client_slot *s, uint64_t now_ns,
			  rn_client_reply_fn fn, void *ctx)
{
	bool timed_out = !s->backoff;
	s->backoff = false;
	if (now_ns >= s->deadline_ns) {
		c->counters.timeouts++;
		struct rn_client_result res = {.status = DP_CLIENT_RETRY, .node_id = s->target_id};
		table_complete(c, s, -RN_CLIENT_E_TIMEOUT, &res, fn, ctx);
		return 1;
	}
	if (timed_out) {
		c->counters.retransmits++;
		if (++s->node_timeouts >= CLIENT_TIMEOUTS_PER_NODE && !s->pinned) {
			s->target_id = client_next_node(c, s->target_id);
			s->node_timeouts = 0;
		}
	}
	s->resend_at_ns = now_ns + (uint64_t)c->cfg.timeout_ms * 1000000ull;
	s->resend_at_ns = rn_min_u64(s->resend_at_ns, s->deadline_ns);
	client_slot_queue(c, s); /* packed with the others at the poll's end */
	return 0;
}

static int table_timers(struct rn_client *c, rn_client_reply_fn fn, void *ctx)
{
	uint64_t now_ns = client_now_ns();
	int done = 0;
	/* Backwards: completing a slot moves the last active one into its
	 * place, which this loop has then already visited. */
	for (uint32_t k = c->active_count; k-- > 0;) {
		struct client_slot *s = &c->slots[c->active[k]];
		if (s->resend_at_ns <= now_ns) {
			done += table_on_timer(c, s, now_ns, fn, ctx);
		}
	}
	return done;
}

uint64_t rn_client_next_timer_ns(const struct rn_client *c)
{
	uint64_t next_ns = UINT64_MAX;
	for (uint32_t k = 0; k < c->active_count; k++) {
		next_ns = rn_min_u64(next_ns, c->slots[c->active[k]].resend_at_ns);
	}
	return next_ns;
}

/* Sleeps on the socket until a datagram, the next timer or wait_us. */
static void table_wait(struct rn_client *c, uint32_t wait_us)
{
	uint64_t now_ns = client_now_ns();
	uint64_t until_ns = rn_min_u64(now_ns + (uint64_t)wait_us * 1000, rn_client_next_timer_ns(c));
	if (until_ns <= now_ns) {
		return;
	}
	/* poll() counts milliseconds: round up so we never spin short. */
	uint64_t wait_ms = (until_ns - now_ns + 999999) / 1000000;
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	(void)poll(&pfd, 1, (int)rn_min_u64(wait_ms, 1000));
}

int rn_client_poll(struct rn_client *c, uint32_t wait_us, rn_client_reply_fn fn, void *ctx)
{
	RN_ASSERT(c != NULL);
	RN_ASSERT(fn != NULL);
	client_flush(c); /* what was submitted since the last poll */
	int done = table_receive(c, fn, ctx);
	if (done == 0 && wait_us > 0 && !c->rx_stop) {
		table_wait(c, wait_us);
		done += table_receive(c, fn, ctx);
	}
	if (!c->rx_stop) {
		done += table_timers(c, fn, ctx);
	}
	client_flush(c); /* retransmits and redirects this poll queued */
	return done;
}
