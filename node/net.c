/* SPDX-License-Identifier: MIT */
/*
 * net.c - the rx/tx stage and control's side of it. The rx/tx stage owns
 * the port: it receives and authenticates frames (DPDK port or kernel UDP
 * socket, the same calls) into messages that keep their frame, hands them
 * to control through a ring, and sends the frames control sealed. Control
 * steps consensus messages into the core and serves client requests; the
 * core's messages go out sealed, an AppendEntries larger than one frame
 * cut into consecutive AppendEntries that each fit (valid Raft: each names
 * the entry before it; the follower acknowledges each, and the leader's
 * window counts the last).
 *
 * Why control seals: the bytes a frame carries (payload ring, catch-up
 * buffer, the apply stage's reply values) are control's, and they may
 * change as soon as its step ends (a truncation, a release, the next
 * read). Sealing copies them into the frame's mbuf while they are certain;
 * what crosses to the rx/tx lcore is a finished frame, so no lifetime
 * outlasts the step. The receive side is where rx/tx saves control the
 * most: the port, ARP/ping answers, and the tag check of every frame,
 * forged ones included.
 *
 * Client writes gathered during one poll become one proposal (batching
 * adapts to load by itself: one request at low load, a burst at high load,
 * no timer). A follower answers a write with REDIRECT naming the leader;
 * every refusal gets a reply (BUSY, RETRY, REDIRECT, BAD_REQUEST), never
 * silence.
 */
#include <errno.h>
#include <string.h>

#include "common.h"
#include "daemon.h"

/* ---- The rx/tx stage ---- */

uint64_t node_rxtx_memory_bytes(uint8_t transport_kind)
{
	return dp_rx_msgs_bytes(transport_kind, NODE_RX_MSGS) +
	       2 * dp_ring_elem_mem_bytes(sizeof(void *), NODE_RX_RING_SLOTS) +
	       (transport_kind == DP_TRANSPORT_DPDK
			? dp_ring_elem_mem_bytes(sizeof(void *), NODE_TX_RING_SLOTS)
			: 0);
}

int node_rxtx_init(struct node_rxtx *x, struct dp_transport *t, bool colocated,
		   const volatile int *stop)
{
	memset(x, 0, sizeof(*x));
	x->transport = t;
	x->colocated = colocated;
	x->stop = stop;
	x->msgs = dp_rx_msgs_create(t->kind, NODE_RX_MSGS);
	if (x->msgs == NULL ||
	    dp_ring_elem_create(&x->rx, sizeof(void *), NODE_RX_RING_SLOTS) != 0 ||
	    dp_ring_elem_create(&x->done, sizeof(void *), NODE_RX_RING_SLOTS) != 0 ||
	    (t->kind == DP_TRANSPORT_DPDK &&
	     dp_ring_elem_create(&x->tx, sizeof(void *), NODE_TX_RING_SLOTS) != 0)) {
		node_rxtx_fini(x);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < NODE_RX_MSGS; i++) {
		struct dp_rx_msg *m = &x->msgs[i];
		uint32_t pushed = dp_ring_push_elems(&x->done, &m, 1);
		RN_ASSERT(pushed == 1); /* the ring holds every message */
	}
	dp_transport_set_tx_ring(t, &x->tx); /* DPDK only: UDP sends on its socket */
	return 0;
}

void node_rxtx_fini(struct node_rxtx *x)
{
	struct dp_rx_msg *m;
	while (x->rx.ring != NULL && dp_ring_pop_elems(&x->rx, &m, 1) == 1) {
		dp_transport_rx_done(m); /* received, never processed: the node stopped */
	}
	if (x->transport != NULL) {
		/* What control sealed and rx/tx did not send: freed unsent. */
		dp_transport_tx_discard(x->transport);
		dp_transport_set_tx_ring(x->transport, NULL);
	}
	dp_ring_elem_destroy(&x->rx); /* a ring never made is all zero: nothing to free */
	dp_ring_elem_destroy(&x->done);
	dp_ring_elem_destroy(&x->tx);
	dp_rx_msgs_destroy(x->msgs);
	x->msgs = NULL;
}

/*
 * One round of the rx/tx lcore: send what control sealed, then receive
 * into the messages control gave back. When control holds them all, the
 * port is left alone: frames wait in its rx queue (and past that the
 * device counts its misses) - back-pressure, visible in status.
 */
uint32_t node_rxtx_poll(void *ctx)
{
	struct node_rxtx *x = ctx;
	uint32_t work = dp_transport_tx_flush(x->transport);
	if (x->spare_count < DP_BURST_MAX) {
		x->spare_count += dp_ring_pop_elems(&x->done, x->spare + x->spare_count,
						    DP_BURST_MAX - x->spare_count);
	}
	if (x->spare_count == 0) {
		/* Status reads it from control's lcore. */
		__atomic_store_n(&x->rx_msgs_exhausted, x->rx_msgs_exhausted + 1, __ATOMIC_RELAXED);
		return work;
	}
	uint32_t n = dp_transport_recv(x->transport, x->spare, x->spare_count);
	if (n == 0) {
		return work;
	}
	uint64_t now_ns = node_now_ns();
	for (uint32_t i = 0; i < n; i++) {
		x->spare[i]->rx_ns = now_ns;
	}
	uint32_t pushed = dp_ring_push_elems(&x->rx, x->spare, n);
	RN_ASSERT(pushed == n); /* the ring holds every message there is */
	x->spare_count -= n;
	memmove(x->spare, x->spare + n, x->spare_count * sizeof(x->spare[0]));
	return work + n;
}

static uint32_t net_tx_flush_poll(void *transport)
{
	return dp_transport_tx_flush(transport);
}

/* Room in the tx ring for one frame: a full ring is back-pressure, not a
 * drop. On control's lcore control sends what it holds itself; apart, it
 * waits for the rx/tx lcore to drain it. */
static void net_tx_room(struct node_daemon *d)
{
	struct node_rxtx *x = &d->rxtx;
	if (d->transport.tx_ring == NULL || dp_ring_count(&x->tx) < NODE_TX_RING_SLOTS - 1) {
		return;
	}
	x->tx_full_waits++;
	while (dp_ring_count(&x->tx) >= NODE_TX_RING_SLOTS - 1 &&
	       dp_stage_wait(x->colocated, net_tx_flush_poll, x->transport, x->stop)) {
	}
}

/* On control's lcore: the frames of this step out now, not a round later. */
uint32_t node_net_flush(struct node_daemon *d)
{
	uint32_t sent = 0;
	if (d->rxtx.colocated) {
		for (uint32_t n; (n = dp_transport_tx_flush(&d->transport)) > 0;) {
			sent += n;
		}
	}
	return sent;
}

void node_net_reply(struct node_daemon *d, const struct dp_endpoints *to, uint64_t client_id,
		    uint64_t seq, uint8_t status, const uint8_t *value, uint32_t value_bytes,
		    const uint64_t *trace_ns)
{
	struct dp_client_reply rep = {.client_id = client_id, .request_seq = seq,
				      .status = status, .leader_id = d->leader_id,
				      .value = value, .value_bytes = value_bytes};
	if (trace_ns != NULL) {
		rep.trace_count = DP_TRACE_STAGES;
		memcpy(rep.trace_ns, trace_ns, sizeof(rep.trace_ns));
		rep.trace_ns[DP_TRACE_REPLY] = node_now_ns();
	}
	switch (status) {
	case DP_CLIENT_BUSY: d->counters.replies_busy++; break;
	case DP_CLIENT_REDIRECT: d->counters.replies_redirect++; break;
	case DP_CLIENT_RETRY: d->counters.replies_retry++; break;
	case DP_CLIENT_BAD_REQUEST: d->counters.client_bad++; break;
	default: break;
	}
	net_tx_room(d);
	if (dp_transport_send_reply(&d->transport, to, &rep) == 0) {
		d->counters.replies_sent++;
	} else {
		d->counters.reply_send_failed++;
	}
}

/* Sends entries [from, from + count) of m as one AppendEntries; payloads[i]
 * holds the bytes of m's entry i. */
static void net_send_append_part(struct node_daemon *d, const struct raft_message *m,
				 const uint8_t *const *payloads, uint32_t from, uint32_t count)
{
	struct raft_message part = *m;
	part.append.entries = m->append.entries + from;
	part.append.entries_count = count;
	if (from > 0) {
		part.append.prev_index = m->append.entries[from - 1].index;
		part.append.prev_term = m->append.entries[from - 1].term;
	}
	net_tx_room(d);
	if (dp_transport_send(&d->transport, &part, payloads + from) == 0) {
		d->counters.msgs_sent++;
	} else {
		d->counters.msgs_send_failed++; /* Raft resends */
	}
}

/* Cuts m into AppendEntries that each fit one frame. */
static void net_send_append(struct node_daemon *d, const struct raft_message *m,
			    const uint8_t *const *payloads)
{
	uint32_t from = 0;
	uint64_t body = DP_APPEND_FIXED_BYTES;
	for (uint32_t i = 0; i < m->append.entries_count; i++) {
		uint64_t entry = DP_APPEND_ENTRY_HDR_BYTES + (uint64_t)m->append.entries[i].payload_bytes;
		if (i > from && body + entry > d->frame_body_bytes_max) {
			net_send_append_part(d, m, payloads, from, i - from);
			d->counters.appends_split++;
			from = i;
			body = DP_APPEND_FIXED_BYTES;
		}
		body += entry;
	}
	net_send_append_part(d, m, payloads, from, m->append.entries_count - from);
}

/*
 * A follower below the core's window: the core names the range, the
 * durable log has it (the core releases nothing above the durable index).
 * The log stage reads it while control goes on (node_net_catchup_poll sends
 * the append when the read is done). One read at a time: a request that
 * comes meanwhile waits, the latest one per follower (the core asks again
 * as it learns more, and only its newest view matters). An unreadable range
 * is dropped: the core sends again, like any lost message.
 */
static void net_send_from_storage(struct node_daemon *d, const struct raft_message *m)
{
	if (node_log_read_start(&d->logstage, m, d->catchup_buf, NODE_CATCHUP_BYTES) == 0) {
		return;
	}
	uint32_t i = 0;
	while (i < d->catchup_waiting_count && d->catchup_waiting[i].to != m->to) {
		i++;
	}
	RN_ASSERT(i < RN_ARRAY_COUNT(d->catchup_waiting)); /* one per member at most */
	d->catchup_waiting[i] = *m;
	d->catchup_waiting[i].append.entries = NULL; /* the core's array: not ours to keep */
	if (i == d->catchup_waiting_count) {
		d->catchup_waiting_count++;
	}
}

/* The oldest waiting request, when the read slot is free. */
static void net_catchup_next(struct node_daemon *d)
{
	if (d->catchup_waiting_count == 0 ||
	    node_log_read_start(&d->logstage, &d->catchup_waiting[0], d->catchup_buf,
				NODE_CATCHUP_BYTES) != 0) {
		return;
	}
	d->catchup_waiting_count--;
	memmove(&d->catchup_waiting[0], &d->catchup_waiting[1],
		d->catchup_waiting_count * sizeof(d->catchup_waiting[0]));
}

uint32_t node_net_catchup_poll(struct node_daemon *d)
{
	static struct raft_entry entries[RAFT_BATCH_ENTRIES_MAX];
	static const uint8_t *payloads[RAFT_BATCH_ENTRIES_MAX];
	const struct node_log_read *r = node_log_read_take(&d->logstage);
	if (r == NULL) {
		return 0;
	}
	if (r->rc <= 0) {
		d->counters.msgs_send_failed++;
		net_catchup_next(d);
		return 1;
	}
	for (int i = 0; i < r->rc; i++) {
		entries[i] = (struct raft_entry){.index = r->entries[i].index,
						 .term = r->entries[i].term,
						 .payload_bytes = r->entries[i].payload_bytes,
						 .type = r->entries[i].type};
		payloads[i] = r->entries[i].payload;
	}
	struct raft_message filled = r->msg;
	filled.append.from_storage = false;
	filled.append.prev_term = r->prev_term;
	filled.append.entries = entries;
	filled.append.entries_count = (uint32_t)r->rc;
	d->catchup_entries_sent += (uint64_t)r->rc;
	net_send_append(d, &filled, payloads);
	net_catchup_next(d); /* after the send: the buffer held its payloads */
	return 1;
}

void node_net_send(struct node_daemon *d, const struct raft_message *m)
{
	if (m->type == RAFT_MSG_APPEND && m->append.from_storage) {
		net_send_from_storage(d, m);
		return;
	}
	if (m->type != RAFT_MSG_APPEND || m->append.entries_count == 0) {
		net_tx_room(d);
		if (dp_transport_send(&d->transport, m, NULL) == 0) {
			d->counters.msgs_sent++;
		} else {
			d->counters.msgs_send_failed++;
		}
		return;
	}
	static const uint8_t *payloads[RAFT_BATCH_ENTRIES_MAX];
	RN_ASSERT(m->append.entries_count <= RAFT_BATCH_ENTRIES_MAX);
	for (uint32_t i = 0; i < m->append.entries_count; i++) {
		const struct raft_entry *e = &m->append.entries[i];
		const struct node_slot *s = node_payloads_slot(&d->payloads, e->index);
		/* The core sends only entries of its window, and the ring holds
		 * every one of them. */
		RN_ASSERT(s != NULL && s->term == e->term && s->bytes == e->payload_bytes);
		payloads[i] = node_payloads_at(&d->payloads, s->offset);
	}
	net_send_append(d, m, payloads);
}

static void net_receive_raft(struct node_daemon *d, const struct dp_rx_frame *in)
{
	const struct raft_message *m = &in->raft;
	/* Writes gathered so far go first: the message may append entries
	 * (or end our leadership), and the ring's head must be theirs. */
	node_control_propose(d);
	if (m->type == RAFT_MSG_APPEND && m->append.entries_count > 0) {
		uint64_t bytes = 0;
		for (uint32_t i = 0; i < m->append.entries_count; i++) {
			bytes += m->append.entries[i].payload_bytes;
		}
		if (!node_payloads_room(&d->payloads, bytes, m->append.entries_count)) {
			d->counters.appends_dropped_no_room++; /* not acknowledged: resent */
			return;
		}
	}
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE, .receive = *m};
	node_control_step(d, &ev);
}

/* A write for the proposal of this poll: its request body goes into the
 * payload ring (the one copy), the core gets a handle. */
static void net_gather_write(struct node_daemon *d, const struct dp_rx_frame *in, uint64_t rx_ns)
{
	const struct dp_client_request *req = &in->request;
	struct node_proposal *p = &d->proposal;
	if (p->count == d->cfg.batch_entries_max) {
		node_control_propose(d);
	}
	/* The request's body as the wire carried it is the log entry. It was
	 * decoded from one frame, so it fits one; it is written once, from the
	 * decoded fields straight into the ring (the one copy). */
	uint32_t bytes = DP_CLIENT_REQUEST_FIXED_BYTES + req->key_bytes + req->value_bytes +
			 req->expect_bytes;
	if (p->count == 0) {
		p->head_before = d->payloads.head;
	}
	uint64_t head = d->payloads.head;
	uint64_t offset = node_payloads_alloc(&d->payloads, bytes);
	if (offset == UINT64_MAX || !node_payloads_room(&d->payloads, 0, p->count + 1)) {
		d->payloads.head = head; /* undo this one alone, gap included */
		node_net_reply(d, &in->addr, req->client_id, req->request_seq, DP_CLIENT_BUSY, NULL,
			       0, NULL);
		return;
	}
	int written = dp_wire_request_body(req, node_payloads_at(&d->payloads, offset), bytes);
	RN_ASSERT(written == (int)bytes);
	struct node_slot *s = &p->slots[p->count];
	*s = (struct node_slot){.offset = offset, .bytes = bytes,
				.type = RAFT_ENTRY_NORMAL, .client_waits = true,
				.client_flags = req->flags, .client_id = req->client_id,
				.client_seq = req->request_seq, .client = in->addr};
	if (req->flags & DP_CLIENT_FLAG_TRACE) {
		for (uint32_t t = 0; t < NODE_TRACES_MAX; t++) {
			if (!d->traces[t].busy) {
				d->traces[t] = (struct node_trace){.busy = true, .stages_set = 1};
				for (unsigned k = 0; k < DP_TRACE_STAGES; k++) {
					d->traces[t].stamp_ns[k] = rx_ns;
				}
				s->trace_id = (uint8_t)(t + 1);
				break;
			}
		}
	}
	p->entries[p->count] = (struct raft_entry){.type = RAFT_ENTRY_NORMAL, .payload = offset,
						   .payload_bytes = bytes};
	p->rx_ns[p->count] = rx_ns;
	p->count++;
}

static void net_transfer(struct node_daemon *d, const struct dp_rx_frame *in)
{
	const struct dp_client_request *req = &in->request;
	uint32_t target = (uint32_t)req->value[0] | (uint32_t)req->value[1] << 8 |
			  (uint32_t)req->value[2] << 16 | (uint32_t)req->value[3] << 24;
	struct raft_event ev = {.type = RAFT_EVENT_TRANSFER, .transfer = {.target = target}};
	node_control_propose(d);
	int rc = node_control_step(d, &ev);
	uint8_t status = rc == 0				 ? DP_CLIENT_OK
			 : rc == -RAFT_ERR_NOT_LEADER		 ? DP_CLIENT_REDIRECT
			 : rc == -RAFT_ERR_TRANSFERRING	 ? DP_CLIENT_RETRY
							 : DP_CLIENT_BAD_REQUEST;
	node_net_reply(d, &in->addr, req->client_id, req->request_seq, status, NULL, 0, NULL);
}

static void net_client(struct node_daemon *d, const struct dp_rx_frame *in, uint64_t rx_ns)
{
	const struct dp_client_request *req = &in->request;
	d->counters.client_requests++;
	switch (req->op) {
	case DP_CLIENT_STATUS: {
		char json[8192];
		int n = node_status_json(d, json, sizeof(json));
		/* One reply is one frame: a large cluster's full status may not
		 * fit a 1500-byte MTU; then the essentials, marked truncated. */
		if (n < 0 || (uint32_t)n + DP_CLIENT_REPLY_FIXED_BYTES > d->frame_body_bytes_max) {
			n = node_status_json_brief(d, json, sizeof(json));
		}
		node_net_reply(d, &in->addr, req->client_id, req->request_seq, DP_CLIENT_OK,
			       (const uint8_t *)json, n > 0 ? (uint32_t)n : 0, NULL);
		return;
	}
	case DP_CLIENT_GET_STALE:
	case DP_CLIENT_GET:
		node_apply_read(d, in, rx_ns, req->op == DP_CLIENT_GET_STALE);
		return;
	case DP_CLIENT_TRANSFER:
		net_transfer(d, in);
		return;
	default:
		break;
	}
	if (raft_role(d->raft) != RAFT_LEADER) {
		raft_node_id leader = raft_leader_id(d->raft);
		node_net_reply(d, &in->addr, req->client_id, req->request_seq,
			       leader != RAFT_NODE_NONE ? DP_CLIENT_REDIRECT : DP_CLIENT_RETRY, NULL, 0,
			       NULL);
		return;
	}
	if (req->key_bytes > d->cfg.kv.key_bytes_max || req->value_bytes > d->cfg.kv.value_bytes_max ||
	    req->expect_bytes > d->cfg.kv.value_bytes_max) {
		node_net_reply(d, &in->addr, req->client_id, req->request_seq, DP_CLIENT_BAD_REQUEST,
			       NULL, 0, NULL);
		return;
	}
	net_gather_write(d, in, rx_ns);
}

static void net_on_message(struct node_daemon *d, const struct dp_rx_msg *m)
{
	const struct dp_rx_frame *in = &m->frame;
	if (d->failed) {
		return;
	}
	if (in->type == DP_FRAME_CLIENT_REQUEST) {
		net_client(d, in, m->rx_ns);
	} else if (in->type >= 1 && in->type < RAFT_MSG_TYPE_COUNT) {
		net_receive_raft(d, in);
	}
	/* Replies addressed to a node are not for it: ignored. */
}

/* Control's side: the messages the rx/tx stage received, in order. Each
 * is done with (its frame released) when its step returns: the core
 * copied what it keeps into the payload ring. */
uint32_t node_net_poll(struct node_daemon *d)
{
	struct node_rxtx *x = &d->rxtx;
	struct dp_rx_msg *msgs[DP_BURST_MAX];
	uint32_t n = dp_ring_pop_elems(&x->rx, msgs, DP_BURST_MAX);
	for (uint32_t i = 0; i < n; i++) {
		dp_transport_learn(&d->transport, &msgs[i]->frame);
		net_on_message(d, msgs[i]);
		dp_transport_rx_done(msgs[i]);
	}
	if (n > 0) {
		uint32_t pushed = dp_ring_push_elems(&x->done, msgs, n);
		RN_ASSERT(pushed == n); /* the ring holds every message there is */
	}
	node_control_propose(d);
	if (d->reads_in_round > 0) {
		node_apply_start_reads(d);
	}
	return n;
}
