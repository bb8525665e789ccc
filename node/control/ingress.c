/* SPDX-License-Identifier: MIT */
/*
 * ingress.c - what comes in: control's end of the rx ring. stage: control.
 *
 * Every message the rx/tx stage received is taken in order: a consensus
 * message is stepped into the core (its entries copied into the payload
 * ring, the one copy), a client request is routed, and the message goes
 * back to rx/tx with its frame released. Client writes gathered during
 * one poll become one proposal (batching adapts to load by itself: one
 * request at low load, a burst at high load, no timer); the linearizable
 * reads gathered become one ReadIndex round (§6.4). A follower answers a
 * write with REDIRECT naming the leader; every refusal gets a reply (BUSY,
 * RETRY, REDIRECT, BAD_REQUEST), never silence. A client frame carries a
 * batch (wire version 3): each request in it is taken on its own, as if
 * it had come alone, so each write becomes its own log entry. A MEMBER
 * request (raftctl member ...) is a list answered now, or a change stepped
 * on the leader like a write (its slot placed first, answered once applied)
 * or refused at once with the core's error named.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "clock.h"
#include "common.h"
#include "internal.h"
#include "ops_hooks.h"
#include "settings_check.h"

static uint8_t ingress_refusal_status(int rc)
{
	RN_ASSERT(rc < 0);
	switch (-rc) {
	case RAFT_ERR_NOT_LEADER:
		return DP_CLIENT_REDIRECT;
	case RAFT_ERR_NO_LEADER:
	case RAFT_ERR_TRANSFERRING:
		return DP_CLIENT_RETRY;
	default:
		return DP_CLIENT_BUSY;
	}
}

/* The writes gathered during this rx poll become one proposal. */
void node_ingress_propose(struct node_control *c)
{
	struct node_proposal *p = &c->proposal;
	if (p->count == 0) {
		return;
	}
	RN_ASSERT(p->count <= c->cfg->batch_entries_max);
	struct raft_event ev = {.type = RAFT_EVENT_PROPOSE,
				.propose = {.entries = p->entries, .entries_count = p->count}};
	uint64_t now = node_now_ns();
	/* The core asks for the batch's write and replication inside this
	 * step, so the slots must be in place before it. */
	raft_index next = raft_last_index(c->raft) + 1;
	raft_term term = raft_current_term(c->raft);
	bool leader = raft_role(c->raft) == RAFT_LEADER;
	if (leader && c->payloads.last_index + 1 == next) {
		for (uint32_t i = 0; i < p->count; i++) {
			p->slots[i].index = next + i;
			p->slots[i].term = term;
			node_payloads_set(&c->payloads, &p->slots[i]);
			if (p->slots[i].trace_id != 0) {
				/* Before the step: the write may be durable within it. */
				struct node_trace *tr = &c->traces[p->slots[i].trace_id - 1];
				tr->index = next + i;
				tr->stamp_ns[DP_TRACE_PROPOSED] = now;
				tr->stages_set |= 1u << DP_TRACE_PROPOSED;
			}
		}
	}
	int rc = leader && c->payloads.last_index + 1 == next + p->count
			 ? node_control_step(c, &ev)
			 : -RAFT_ERR_NOT_LEADER;
	if (rc == 0) {
		RN_ASSERT(p->entries[0].index == next);
		RN_ASSERT(p->entries[0].term == term);
		RN_ASSERT(c->payloads.last_index >= next + p->count - 1); /* its slots stay */
		c->counters.proposals++;
		c->counters.proposed_entries += p->count;
	} else {
		/* Refused: nothing was appended. Take the slots back and tell
		 * each client why (never silence). */
		if (leader && c->payloads.last_index >= next) {
			node_payloads_truncate(&c->payloads, next);
		}
		/* The batch's bytes go back, but never below the tail: the
		 * refusing step may have released everything below the batch
		 * (an APPLIED stepped in its wake), moving the tail to the
		 * batch's first record or, with the ring empty, past it. A head
		 * below the tail would read as a full ring for good. */
		c->payloads.head = rn_max_u64(p->head_before, c->payloads.tail);
		RN_ASSERT(c->payloads.tail <= c->payloads.head);
		uint8_t status = ingress_refusal_status(rc);
		for (uint32_t i = 0; i < p->count; i++) {
			struct node_slot *s = &p->slots[i];
			if (s->trace_id != 0) {
				c->traces[s->trace_id - 1].busy = false;
			}
			node_egress_reply(c, &s->client, s->client_id, s->client_seq, status, NULL, 0,
				       NULL);
		}
	}
	p->count = 0;
}

/* Starts one ReadIndex round for the reads gathered in this rx poll. */
static void ingress_start_reads(struct node_control *c)
{
	RN_ASSERT(c->apply.reads_in_round > 0);
	uint64_t round = c->apply.read_round++;
	c->apply.reads_in_round = 0;
	struct raft_event ev = {.type = RAFT_EVENT_READ_INDEX, .read_index = {.ctx = round}};
	int rc = node_control_step(c, &ev);
	if (rc != 0) {
		node_apply_round_failed(c, round,
					rc == -RAFT_ERR_BUSY ? DP_CLIENT_BUSY : DP_CLIENT_RETRY);
	}
}

static void ingress_receive_raft(struct node_control *c, const struct dp_rx_frame *in)
{
	const struct raft_message *m = &in->raft;
	node_ops_received(c, m);
	/* Writes gathered so far go first: the message may append entries
	 * (or end our leadership), and the ring's head must be theirs. */
	node_ingress_propose(c);
	RN_ASSERT(c->proposal.count == 0);
	if (m->type == RAFT_MSG_APPEND && m->append.entries_count > 0) {
		uint64_t bytes = 0;
		for (uint32_t i = 0; i < m->append.entries_count; i++) {
			const struct raft_entry *e = &m->append.entries[i];
			bytes += e->type == RAFT_ENTRY_CONFIG ? DP_CONF_ENTRY_BYTES : e->payload_bytes;
		}
		if (!node_payloads_room(&c->payloads, bytes, m->append.entries_count)) {
			c->counters.appends_dropped_no_room++; /* not acknowledged: resent */
			return;
		}
	}
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE, .receive = *m};
	c->members.rx_frame = in; /* its config entries' records (member.c) */
	node_control_step(c, &ev);
	c->members.rx_frame = NULL;
}

/* A write for the proposal of this poll: its request body goes into the
 * payload ring (the one copy), the core gets a handle. */
static void ingress_gather_write(struct node_control *c, const struct dp_endpoints *from,
				 const struct dp_client_request *req, uint64_t rx_ns)
{
	struct node_proposal *p = &c->proposal;
	if (p->count == c->cfg->batch_entries_max) {
		node_ingress_propose(c);
	}
	RN_ASSERT(p->count < c->cfg->batch_entries_max);
	RN_ASSERT(p->count < RN_ARRAY_COUNT(p->slots));
	/* The request's body as the wire carried it is the log entry. It was
	 * decoded from one frame, so it fits one; it is written once, from the
	 * decoded fields straight into the ring (the one copy). */
	uint32_t bytes = DP_CLIENT_REQUEST_FIXED_BYTES + req->key_bytes + req->value_bytes +
			 req->expect_bytes;
	if (p->count == 0) {
		p->head_before = c->payloads.head;
	}
	uint64_t head = c->payloads.head;
	uint64_t offset = node_payloads_alloc(&c->payloads, bytes);
	if (offset == UINT64_MAX || !node_payloads_room(&c->payloads, 0, p->count + 1)) {
		c->payloads.head = head; /* undo this one alone, gap included */
		node_egress_reply(c, from, req->client_id, req->request_seq, DP_CLIENT_BUSY, NULL, 0,
				  NULL);
		return;
	}
	int written = dp_wire_request_body(req, node_payloads_at(&c->payloads, offset), bytes);
	RN_ASSERT(written == (int)bytes);
	struct node_slot *s = &p->slots[p->count];
	*s = (struct node_slot){.offset = offset, .bytes = bytes,
				.type = RAFT_ENTRY_NORMAL, .client_waits = true,
				.client_flags = req->flags, .client_id = req->client_id,
				.client_seq = req->request_seq, .client = *from};
	if (req->flags & DP_CLIENT_FLAG_TRACE) {
		for (uint32_t t = 0; t < NODE_TRACES_MAX; t++) {
			if (!c->traces[t].busy) {
				c->traces[t] = (struct node_trace){.busy = true, .stages_set = 1};
				for (unsigned k = 0; k < DP_TRACE_STAGES; k++) {
					c->traces[t].stamp_ns[k] = rx_ns;
				}
				s->trace_id = (uint8_t)(t + 1);
				break;
			}
		}
	}
	p->entries[p->count] = (struct raft_entry){.type = RAFT_ENTRY_NORMAL, .payload = offset,
						   .payload_bytes = bytes};
	p->count++;
}

static void ingress_transfer(struct node_control *c, const struct dp_endpoints *from,
			     const struct dp_client_request *req)
{
	uint32_t target = (uint32_t)req->value[0] | (uint32_t)req->value[1] << 8 |
			  (uint32_t)req->value[2] << 16 | (uint32_t)req->value[3] << 24;
	struct raft_event ev = {.type = RAFT_EVENT_TRANSFER, .transfer = {.target = target}};
	node_ingress_propose(c);
	int rc = node_control_step(c, &ev);
	uint8_t status = rc == 0				 ? DP_CLIENT_OK
			 : rc == -RAFT_ERR_NOT_LEADER		 ? DP_CLIENT_REDIRECT
			 : rc == -RAFT_ERR_TRANSFERRING	 ? DP_CLIENT_RETRY
							 : DP_CLIENT_BAD_REQUEST;
	node_egress_reply(c, from, req->client_id, req->request_seq, status, NULL, 0, NULL);
}

/* The core's errors as raftctl names them (the interface's words). */
static const char *ingress_member_error(int rc)
{
	switch (-rc) {
	case RAFT_ERR_NOT_LEADER: return "not_leader";
	case RAFT_ERR_CHANGE_PENDING: return "change_pending";
	case RAFT_ERR_TERM_NOT_COMMITTED: return "term_not_committed";
	case RAFT_ERR_UNKNOWN_MEMBER: return "unknown_member";
	case RAFT_ERR_MEMBER_EXISTS: return "member_exists";
	case RAFT_ERR_MEMBERS_FULL: return "members_full";
	case RAFT_ERR_LAST_VOTER: return "last_voter";
	case RAFT_ERR_LEARNER_BEHIND: return "learner_behind";
	case RAFT_ERR_TRANSFERRING: return "transferring";
	case RAFT_ERR_LOG_FULL: return "log_full";
	case RAFT_ERR_INVALID: return "invalid";
	default: return "refused";
	}
}

/* A change on the leader: its slot (record, the client to answer) goes in
 * place first, as a write's does (ingress.c): the core appends the entry
 * within the step and may commit it before the step returns. */
static void ingress_member_change(struct node_control *c, const struct dp_endpoints *from,
			  const struct dp_client_request *req)
{
	uint64_t value = 0;
	int rc = dp_conf_entry_decode(req->value, req->value_bytes, &value, NULL);
	RN_ASSERT(rc == 0); /* the decoder checked the record */
	node_ingress_propose(c); /* the writes gathered so far go first */
	raft_index next = raft_last_index(c->raft) + 1;
	bool placed = false;
	if (raft_role(c->raft) == RAFT_LEADER && c->payloads.last_index + 1 == next &&
	    node_payloads_room(&c->payloads, DP_CONF_ENTRY_BYTES, 1)) {
		uint64_t off = node_payloads_alloc(&c->payloads, DP_CONF_ENTRY_BYTES);
		if (off != UINT64_MAX) {
			memcpy(node_payloads_at(&c->payloads, off), req->value, DP_CONF_ENTRY_BYTES);
			struct node_slot s = {.index = next, .term = raft_current_term(c->raft),
					      .offset = off, .bytes = DP_CONF_ENTRY_BYTES,
					      .type = RAFT_ENTRY_CONFIG, .client_waits = true,
					      .client_id = req->client_id,
					      .client_seq = req->request_seq, .client = *from};
			node_payloads_set(&c->payloads, &s);
			placed = true;
		}
	}
	struct raft_event ev = {.type = RAFT_EVENT_MEMBER,
				.member = {.op = RAFT_CONF_OP(value), .id = RAFT_CONF_ID(value)}};
	uint64_t head = c->payloads.head;
	rc = placed ? node_control_step(c, &ev) : -RAFT_ERR_NOT_LEADER;
	if (rc == 0) {
		RN_ASSERT(ev.member.index == next);
		c->members.changes_proposed++;
		fprintf(stderr, "raftnode %u: membership change %u of node %u proposed at index %" PRIu64
			"\n", c->cfg->self, RAFT_CONF_OP(value), RAFT_CONF_ID(value), next);
		return;
	}
	if (placed && c->payloads.last_index >= next) {
		node_payloads_truncate(&c->payloads, next);
		c->payloads.head = rn_max_u64(rn_min_u64(head, c->payloads.head), c->payloads.tail);
	}
	c->members.changes_refused++;
	if (rc == -RAFT_ERR_NOT_LEADER && raft_role(c->raft) != RAFT_LEADER) {
		raft_node_id leader = raft_leader_id(c->raft);
		node_egress_reply(c, from, req->client_id, req->request_seq,
				  leader != RAFT_NODE_NONE ? DP_CLIENT_REDIRECT : DP_CLIENT_RETRY, NULL,
				  0, NULL);
		return;
	}
	const char *why = placed ? ingress_member_error(rc) : "busy";
	node_egress_reply(c, from, req->client_id, req->request_seq,
			  placed ? DP_CLIENT_REFUSED : DP_CLIENT_BUSY, (const uint8_t *)why,
			  (uint32_t)strlen(why), NULL);
}

static void ingress_member(struct node_control *c, const struct dp_endpoints *from,
			 const struct dp_client_request *req)
{
	if (req->value_bytes > 0) {
		ingress_member_change(c, from, req);
		return;
	}
	struct dp_member_list l;
	uint8_t buf[DP_MEMBER_LIST_BYTES_MAX];
	node_member_list(c, &l);
	size_t n = dp_member_list_encode(&l, buf, sizeof(buf));
	node_egress_reply(c, from, req->client_id, req->request_seq, DP_CLIENT_OK, buf,
			  (uint32_t)n, NULL);
}

/* One request of a client frame; `from` is its sender (replies go there). */
static void ingress_client(struct node_control *c, const struct dp_endpoints *from,
			   const struct dp_client_request *req, uint64_t rx_ns)
{
	c->counters.client_requests++;
	switch (req->op) {
	case DP_CLIENT_STATUS: {
		if (node_admin_request(c, from, req)) {
			return; /* raftctl reload (admin.c) */
		}
		/* The whole status, however many frames of the path it takes
		 * (a reply larger than one leaves as fragments, egress.c); the
		 * brief form only past NODE_STATUS_JSON_BYTES_MAX. */
		char json[NODE_STATUS_JSON_BYTES_MAX];
		int n = node_status_json(c, json, sizeof(json));
		if (n < 0) {
			n = node_status_json_brief(c, json, sizeof(json));
		}
		node_egress_reply(c, from, req->client_id, req->request_seq, DP_CLIENT_OK,
				  (const uint8_t *)json, n > 0 ? (uint32_t)n : 0, NULL);
		return;
	}
	case DP_CLIENT_GET_STALE:
	case DP_CLIENT_GET:
		node_apply_read(c, from, req, rx_ns, req->op == DP_CLIENT_GET_STALE);
		return;
	case DP_CLIENT_TRANSFER:
		ingress_transfer(c, from, req);
		return;
	case DP_CLIENT_MEMBER:
		ingress_member(c, from, req);
		return;
	default:
		break;
	}
	if (raft_role(c->raft) != RAFT_LEADER) {
		raft_node_id leader = raft_leader_id(c->raft);
		node_egress_reply(c, from, req->client_id, req->request_seq,
				  leader != RAFT_NODE_NONE ? DP_CLIENT_REDIRECT : DP_CLIENT_RETRY, NULL, 0,
				  NULL);
		return;
	}
	if (req->key_bytes > c->cfg->kv.key_bytes_max || req->value_bytes > c->cfg->kv.value_bytes_max ||
	    req->expect_bytes > c->cfg->kv.value_bytes_max) {
		node_egress_reply(c, from, req->client_id, req->request_seq, DP_CLIENT_BAD_REQUEST,
				  NULL, 0, NULL);
		return;
	}
	if (c->alarm_no_space) {
		/* Refused before it takes any room: what is left of the log's
		 * active segment is kept for a new leader's no-op, for
		 * configuration changes, and for the writes already taken. */
		node_egress_reply(c, from, req->client_id, req->request_seq, DP_CLIENT_NO_SPACE,
				  NULL, 0, NULL);
		return;
	}
	ingress_gather_write(c, from, req, rx_ns);
}

static void ingress_on_message(struct node_control *c, const struct dp_rx_msg *m)
{
	const struct dp_rx_frame *in = &m->frame;
	if (c->failed) {
		return;
	}
	if (in->type == DP_FRAME_CLIENT_REQUEST) {
		/* Every request of the frame, in order (the decoder checked
		 * them all; the walk is bounded by the frame's bytes). */
		uint32_t at = 0;
		struct dp_client_request req;
		for (uint32_t i = 0; i < in->batch.count; i++) {
			if (dp_client_batch_next_request(&in->batch, &at, &req) != 0) {
				break;
			}
			ingress_client(c, &in->addr, &req, m->rx_ns);
		}
	} else if (c->settings != NULL && node_settings_frame_in(c, in)) {
		/* a SETTINGS frame, or a peer's under other settings: dropped */
	} else if (node_xfer_frame_in(c, in)) {
		/* a snapshot chunk or ack: the transfer thread's */
	} else if (in->type >= 1 && in->type < RAFT_MSG_TYPE_COUNT) {
		ingress_receive_raft(c, in);
	}
	/* Replies addressed to a node are not for it: ignored. */
}

/* Control's side: the messages the rx/tx stage received, in order. Each
 * is done with (its frame released) when its step returns: the core
 * copied what it keeps into the payload ring. */
uint32_t node_ingress_poll(struct node_control *c)
{
	struct node_rxtx_link *x = c->rxtx;
	RN_ASSERT(x != NULL); /* wired before the first round */
	struct dp_rx_msg *msgs[DP_BURST_MAX];
	uint32_t n = dp_ring_pop_elems(&x->rx, msgs, DP_BURST_MAX);
	RN_ASSERT(n <= DP_BURST_MAX);
	for (uint32_t i = 0; i < n; i++) {
		/* Only an admitted frame may teach the transport a MAC. */
		if (node_member_admit(c, &msgs[i]->frame)) {
			dp_transport_learn(c->transport, &msgs[i]->frame);
			ingress_on_message(c, msgs[i]);
		}
		dp_transport_rx_done(msgs[i]);
	}
	if (n > 0) {
		uint32_t pushed = dp_ring_push_elems(&x->done, msgs, n);
		RN_ASSERT(pushed == n); /* the ring holds every message there is */
		/* Wake rx/tx only if it starves for messages (rxtx.c). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&x->starved, __ATOMIC_RELAXED) != 0 &&
		    __atomic_exchange_n(&x->starved, 0, __ATOMIC_ACQ_REL) != 0) {
			dp_doorbell_ring(x->wake_rxtx);
		}
	}
	node_ingress_propose(c);
	RN_ASSERT(c->proposal.count == 0);
	if (c->apply.reads_in_round > 0) {
		ingress_start_reads(c);
	}
	return n;
}
