/* SPDX-License-Identifier: MIT */
/*
 * egress.c - what goes out: the core's messages sealed, client replies.
 * stage: control.
 *
 * An AppendEntries larger than one frame is cut into consecutive
 * AppendEntries that each fit (valid Raft: each names the entry before it;
 * the follower acknowledges each, and the leader's window counts the
 * last). A from_storage append (a follower below the core's window) is
 * read from the durable log by the log stage first, while control goes on.
 *
 * Client replies are gathered: every reply control makes in a round for
 * one client (its address and port) goes into that client's frame, and
 * the frames leave at the end of the round (node_egress_replies_flush),
 * one per client - at 1,000 requests in flight, a system call and a
 * datagram for dozens of replies instead of one each.
 *
 * Why control seals, not rx/tx: the bytes a frame carries (payload ring,
 * catch-up buffer, the apply stage's reply values) are control's, and they
 * may change as soon as its step ends (a truncation, a release, the next
 * read). Sealing copies them into the frame's mbuf while they are certain;
 * what crosses to the rx/tx lcore is a finished frame (the tx ring), so no
 * lifetime outlasts the step.
 */
#include <errno.h>
#include <string.h>

#include "clock.h"
#include "common.h"
#include "internal.h"
#include "ops_hooks.h"

static uint32_t egress_tx_flush_poll(void *transport)
{
	return dp_transport_tx_flush(transport);
}

/* Room in the tx ring for one frame: a full ring is back-pressure, not a
 * drop. On control's lcore control sends what it holds itself; apart, it
 * waits for the rx/tx lcore to drain it. */
static void egress_tx_room(struct node_control *c)
{
	struct node_rxtx_link *x = c->rxtx;
	RN_ASSERT(x != NULL);
	if (c->transport->tx_ring == NULL || dp_ring_count(&x->tx) < NODE_TX_RING_SLOTS - 1) {
		return;
	}
	c->counters.tx_full_waits++;
	while (dp_ring_count(&x->tx) >= NODE_TX_RING_SLOTS - 1 &&
	       dp_stage_wait(x->colocated, egress_tx_flush_poll, c->transport, c->stop)) {
	}
}

/* On control's lcore: the frames of this step out now, not a round later. */
uint32_t node_egress_flush(struct node_control *c)
{
	uint32_t sent = 0;
	if (c->rxtx->colocated) {
		for (uint32_t n; (n = dp_transport_tx_flush(c->transport)) > 0;) {
			sent += n;
		}
	}
	return sent;
}

/* The gathered frames out: UDP, one sendmmsg for them all; DPDK, one
 * frame at a time into the tx ring, waiting for room (back-pressure). */
static uint32_t egress_replies_send(struct node_control *c, struct dp_reply_batch *const *b,
				    uint32_t count)
{
	uint32_t sent = 0;
	if (c->transport->tx_ring == NULL) {
		sent = dp_transport_send_reply_batches(c->transport, b, count);
	} else {
		for (uint32_t i = 0; i < count; i++) {
			egress_tx_room(c);
			sent += dp_transport_send_reply_batches(c->transport, b + i, 1);
		}
	}
	/* frames_tx (the transport's sent) counts the datagrams; the status
	 * JSON has no room for more counters on a 1500-byte DPDK frame. */
	c->counters.reply_send_failed += count - sent;
	return sent;
}

uint32_t node_egress_replies_flush(struct node_control *c)
{
	struct node_reply_gather *g = &c->replies;
	RN_ASSERT(g->open_count <= NODE_REPLY_CLIENTS_MAX);
	if (g->open_count == 0) {
		return 0;
	}
	uint32_t n = g->open_count;
	egress_replies_send(c, g->open, n);
	g->open_count = 0;
	return n;
}

/* The open frame of this client, or a new one (the table full: what it
 * holds goes out first). */
static struct dp_reply_batch *egress_gather_for(struct node_control *c,
						const struct dp_endpoints *to)
{
	struct node_reply_gather *g = &c->replies;
	for (uint32_t i = 0; i < g->open_count; i++) {
		struct dp_reply_batch *b = g->open[i];
		/* One frame is sealed under one key: the client's (a reply goes
		 * out under the key of its request). */
		if (b->client.src_ip == to->src_ip && b->client.src_port == to->src_port &&
		    b->client.key_id == to->key_id) {
			return b;
		}
	}
	if (g->open_count == NODE_REPLY_CLIENTS_MAX) {
		node_egress_replies_flush(c);
	}
	uint32_t i = g->open_count++;
	struct dp_reply_batch *b = &g->batches[i];
	g->open[i] = b;
	b->client = *to;
	dp_client_frame_start(&b->frame, DP_FRAME_CLIENT_REPLY,
			      g->bufs + (size_t)i * DP_FRAME_BYTES_MAX, g->frame_bytes_max);
	return b;
}

/* A reply larger than one frame, as fragments of one message: the body
 * (a batch of one) serialised once into the buffer sized at start, then cut
 * into frames of the path, each waiting for room in the tx ring like any
 * frame. Fragments of one message leave in order, as reassembly needs; a
 * lost one makes the client retry. Larger than DP_CLIENT_REPLY_MSG_BYTES_MAX
 * (what clients reassemble): dropped and counted, callers keep below it. */
static void egress_reply_fragments(struct node_control *c, const struct dp_endpoints *to,
				   const struct dp_client_reply *rep)
{
	uint8_t *body = c->replies.msg_buf;
	RN_ASSERT(body != NULL);
	int n = dp_wire_reply_body(rep, body + DP_CLIENT_BATCH_HDR_BYTES,
				   DP_CLIENT_REPLY_MSG_BYTES_MAX - DP_CLIENT_BATCH_HDR_BYTES);
	if (n < 0) {
		c->counters.reply_send_failed++;
		return;
	}
	dp_wire_client_batch_hdr(body, 1);
	struct dp_fragment_src src = {
		.type = DP_FRAME_CLIENT_REPLY, .from = c->cfg->self, .to = 0, .term = 0,
		.msg_seq = dp_transport_next_msg_seq(c->transport), .body = body,
		.body_bytes = (uint32_t)n + DP_CLIENT_BATCH_HDR_BYTES};
	for (uint32_t offset = 0; offset < src.body_bytes;) {
		uint32_t carried = 0;
		egress_tx_room(c);
		if (dp_transport_send_reply_fragment(c->transport, to, &src, offset,
						     c->replies.frame_bytes_max, &carried) != 0) {
			c->counters.reply_send_failed++; /* the rest would be a gap */
			return;
		}
		RN_ASSERT(carried > 0);
		offset += carried;
		c->counters.reply_fragments++;
	}
}

void node_egress_reply(struct node_control *c, const struct dp_endpoints *to, uint64_t client_id,
		    uint64_t seq, uint8_t status, const uint8_t *value, uint32_t value_bytes,
		    const uint64_t *trace_ns)
{
	RN_ASSERT(value != NULL || value_bytes == 0);
	RN_ASSERT(c->replies.bufs != NULL);
	struct dp_client_reply rep = {.client_id = client_id, .request_seq = seq,
				      .status = status, .leader_id = c->leader_id,
				      .value = value, .value_bytes = value_bytes};
	if (trace_ns != NULL) {
		rep.trace_count = DP_TRACE_STAGES;
		memcpy(rep.trace_ns, trace_ns, sizeof(rep.trace_ns));
		rep.trace_ns[DP_TRACE_REPLY] = node_now_ns();
	}
	switch (status) {
	case DP_CLIENT_BUSY: c->counters.replies_busy++; break;
	case DP_CLIENT_REDIRECT: c->counters.replies_redirect++; break;
	case DP_CLIENT_RETRY: c->counters.replies_retry++; break;
	case DP_CLIENT_BAD_REQUEST: c->counters.client_bad++; break;
	case DP_CLIENT_NO_SPACE: c->counters.writes_refused_no_space++; break;
	default: break;
	}
	size_t item_bytes = dp_wire_reply_item_bytes(&rep);
	if (DP_FRAME_OVERHEAD_BYTES + DP_CLIENT_BATCH_HDR_BYTES + item_bytes >
	    c->replies.frame_bytes_max) {
		/* Fits no frame of the path (a status): fragments of one
		 * message, which the client library reassembles. */
		egress_reply_fragments(c, to, &rep);
		c->counters.replies_sent++;
		return;
	}
	struct dp_reply_batch *b = egress_gather_for(c, to);
	if (dp_client_frame_add_reply(&b->frame, &rep) != 0) {
		/* This client's frame is full: it goes now, alone. */
		RN_ASSERT(b->frame.count > 0);
		egress_replies_send(c, &b, 1);
		dp_client_frame_start(&b->frame, DP_FRAME_CLIENT_REPLY, b->frame.buf,
				      c->replies.frame_bytes_max);
		int rc = dp_client_frame_add_reply(&b->frame, &rep);
		RN_ASSERT(rc == 0); /* it fits an empty frame: checked above */
	}
	c->counters.replies_sent++;
}

/* Sends entries [from, from + count) of m as one AppendEntries; payloads[i]
 * holds the bytes of m's entry i. */
static void egress_send_append_part(struct node_control *c, const struct raft_message *m,
				 const uint8_t *const *payloads, uint32_t from, uint32_t count)
{
	RN_ASSERT(count > 0);
	RN_ASSERT(from + count <= m->append.entries_count);
	struct raft_message part = *m;
	part.append.entries = m->append.entries + from;
	part.append.entries_count = count;
	if (from > 0) {
		part.append.prev_index = m->append.entries[from - 1].index;
		part.append.prev_term = m->append.entries[from - 1].term;
	}
	egress_tx_room(c);
	int rc = dp_transport_send(c->transport, &part, payloads + from);
	node_ops_sent(c, &part, rc == 0);
	if (rc == 0) {
		c->counters.msgs_sent++;
	} else {
		c->counters.msgs_send_failed++; /* Raft resends */
	}
}

/* Cuts m into AppendEntries that each fit one frame. */
static void egress_send_append(struct node_control *c, const struct raft_message *m,
			    const uint8_t *const *payloads)
{
	uint32_t from = 0;
	uint64_t body = DP_APPEND_FIXED_BYTES;
	RN_ASSERT(m->append.entries_count > 0);
	for (uint32_t i = 0; i < m->append.entries_count; i++) {
		uint64_t entry = dp_wire_entry_bytes(&m->append.entries[i]);
		if (i > from && body + entry > c->frame_body_bytes_max) {
			egress_send_append_part(c, m, payloads, from, i - from);
			c->counters.appends_split++;
			from = i;
			body = DP_APPEND_FIXED_BYTES;
		}
		body += entry;
	}
	egress_send_append_part(c, m, payloads, from, m->append.entries_count - from);
}

/*
 * A follower below the core's window: the core names the range, the
 * durable log has it (the core releases nothing above the durable index).
 * The asks of a follower merge into what it is owed (catchup.c); the log
 * stage reads it in large chunks while control goes on, one read at a
 * time, round robin between followers (node_egress_catchup_poll sends
 * each read's entries, cut into full frames, and starts the next). An
 * unreadable range is dropped: the core sends again, like any lost message.
 */
static void egress_catchup_next(struct node_control *c)
{
	struct raft_message m;
	if (c->catchup.count == 0 ||
	    !node_catchup_next(&c->catchup, node_now_ns(), NODE_CATCHUP_READ_ENTRIES_MAX, &m)) {
		return;
	}
	if (node_log_read_start(&c->log, &m, c->catchup_buf, NODE_CATCHUP_BYTES) != 0) {
		node_catchup_done(&c->catchup, node_now_ns(), -1, 0, 0, 0); /* stopping: dropped */
	}
}

static void egress_send_from_storage(struct node_control *c, const struct raft_message *m)
{
	RN_ASSERT(c->catchup_buf != NULL);
	if (c->catchup.reading != 0) {
		c->log.reads_refused_busy++; /* merged, read after the one in flight */
	}
	node_catchup_ask(&c->catchup, m);
	egress_catchup_next(c);
}

uint32_t node_egress_catchup_poll(struct node_control *c)
{
	struct raft_entry *entries = c->catchup_entries;
	const uint8_t **payloads = c->catchup_payloads;
	const struct node_log_read *r = node_log_read_take(&c->log);
	if (r == NULL) {
		egress_catchup_next(c); /* one the pace held back may start now */
		return 0;
	}
	if (r->rc <= 0) {
		c->counters.msgs_send_failed++;
		node_catchup_done(&c->catchup, node_now_ns(), r->rc, 0, 0, 0);
		egress_catchup_next(c);
		return 1;
	}
	RN_ASSERT(r->rc <= (int)RAFT_BATCH_ENTRIES_MAX);
	RN_ASSERT(r->buf == c->catchup_buf); /* the read filled our buffer */
	RN_ASSERT(r->msg.append.from_storage);
	uint64_t bytes = 0;
	for (int i = 0; i < r->rc; i++) {
		const struct store_entry *se = &r->entries[i];
		entries[i] = (struct raft_entry){.index = se->index, .term = se->term,
						 .payload_bytes = se->payload_bytes, .type = se->type};
		payloads[i] = se->payload;
		if (se->type == RAFT_ENTRY_CONFIG) {
			/* The record is the bytes; the entry holds the value. */
			uint64_t value = 0;
			if (dp_conf_entry_decode(se->payload, se->payload_bytes, &value, NULL) != 0) {
				c->counters.msgs_send_failed++; /* a record the log checked */
				node_catchup_done(&c->catchup, node_now_ns(), -1, 0, 0, 0);
				egress_catchup_next(c);
				return 1;
			}
			entries[i].payload = value;
			entries[i].payload_bytes = 0;
		}
		bytes += dp_wire_entry_bytes(&entries[i]); /* what it takes in a frame */
	}
	struct raft_message filled = r->msg;
	filled.append.from_storage = false;
	filled.append.prev_term = r->prev_term;
	filled.append.entries = entries;
	filled.append.entries_count = (uint32_t)r->rc;
	/* The leader's commit index as of now, not of the ask. */
	filled.append.commit_index = rn_max_u64(filled.append.commit_index,
						raft_commit_index(c->raft));
	c->counters.catchup_entries_sent += (uint64_t)r->rc;
	node_catchup_done(&c->catchup, node_now_ns(), r->rc, bytes, entries[r->rc - 1].index,
			  entries[r->rc - 1].term);
	egress_send_append(c, &filled, payloads);
	egress_catchup_next(c); /* after the send: the buffer held its payloads */
	return 1;
}

static void egress_send_now(struct node_control *c, const struct raft_message *m);

void node_egress_send(struct node_control *c, const struct raft_message *m)
{
	if (node_commit_defer_keep(&c->commit_defer, m)) {
		return; /* sent after the round's replies, or carried by an append */
	}
	node_commit_defer_carried(&c->commit_defer, m);
	egress_send_now(c, m);
}

uint32_t node_egress_deferred_flush(struct node_control *c)
{
	return node_commit_defer_flush(&c->commit_defer, c, egress_send_now);
}

static void egress_send_now(struct node_control *c, const struct raft_message *m)
{
	if (m->type == RAFT_MSG_SNAPSHOT) {
		/* An offer of this node's snapshot to a follower whose next
		 * entry is compacted. It is never a frame: the snapshot
		 * transfer (snapxfer, xfer.c) carries the file and the
		 * follower's node steps its core once it is staged there. */
		node_xfer_offer(c, m);
		return;
	}
	if (m->type == RAFT_MSG_APPEND && m->append.from_storage) {
		egress_send_from_storage(c, m);
		return;
	}
	if (m->type != RAFT_MSG_APPEND || m->append.entries_count == 0) {
		egress_tx_room(c);
		int rc = dp_transport_send(c->transport, m, NULL);
		node_ops_sent(c, m, rc == 0);
		if (rc == 0) {
			c->counters.msgs_sent++;
		} else {
			c->counters.msgs_send_failed++;
		}
		return;
	}
	const uint8_t **payloads = c->send_payloads;
	RN_ASSERT(m->append.entries_count <= RAFT_BATCH_ENTRIES_MAX);
	for (uint32_t i = 0; i < m->append.entries_count; i++) {
		const struct raft_entry *e = &m->append.entries[i];
		const struct node_slot *s = node_payloads_slot(&c->payloads, e->index);
		/* The core sends only entries of its window, and the ring holds
		 * every one of them. */
		RN_ASSERT(s != NULL);
		RN_ASSERT(s->term == e->term);
		RN_ASSERT(s->bytes == (e->type == RAFT_ENTRY_CONFIG ? DP_CONF_ENTRY_BYTES
								     : e->payload_bytes));
		payloads[i] = node_payloads_at(&c->payloads, s->offset);
	}
	egress_send_append(c, m, payloads);
}

