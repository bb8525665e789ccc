/* SPDX-License-Identifier: MIT */
/*
 * apply.c - the apply stage: committed entries go to the key-value state
 * machine in index order, and the node that proposed an entry for a client
 * replies once it is applied (never before: the reply says the write is
 * durable on a majority and visible). Linearizable reads wait for a
 * ReadIndex round (one round serves every read gathered in one rx poll) and
 * for the apply to reach the index it confirmed.
 *
 * The log holds client requests exactly as the wire carries them (the
 * request body), so there is one encoding of a command, decoded here.
 */
#include <string.h>

#include "common.h"
#include "daemon.h"

/* How long a read may wait for its round before the client is told to
 * retry (a leader that lost its quorum never confirms it). */
#define APPLY_READ_WAIT_NS_MAX (2000ull * 1000000ull)

void node_trace_stamp(struct node_daemon *d, raft_index up_to, unsigned stage, uint64_t now_ns)
{
	uint64_t now = now_ns;
	for (uint32_t t = 0; t < NODE_TRACES_MAX; t++) {
		struct node_trace *tr = &d->traces[t];
		if (tr->busy && tr->index != 0 && tr->index <= up_to &&
		    !(tr->stages_set & (1u << stage))) {
			now = now != 0 ? now : node_now_ns();
			tr->stamp_ns[stage] = now;
			tr->stages_set |= (uint8_t)(1u << stage);
		}
	}
}

static uint8_t apply_reply_status(uint8_t kv_status)
{
	switch (kv_status) {
	case NODE_KV_OK: return DP_CLIENT_OK;
	case NODE_KV_NOT_FOUND: return DP_CLIENT_NOT_FOUND;
	case NODE_KV_CAS_MISMATCH: return DP_CLIENT_CAS_FAILED;
	default: return DP_CLIENT_BAD_REQUEST; /* full, too big, stale, malformed */
	}
}

/* Decodes and applies one committed client request (the same bytes on
 * every node: every node does the same with them). */
static void apply_bytes(struct node_daemon *d, raft_index index, const uint8_t *bytes,
			uint32_t count, struct node_kv_result *res)
{
	struct dp_client_request req;
	*res = (struct node_kv_result){.status = NODE_KV_BAD_COMMAND};
	if (dp_wire_request_body_decode(bytes, count, &req) == 0 &&
	    (req.op == DP_CLIENT_PUT || req.op == DP_CLIENT_DELETE || req.op == DP_CLIENT_CAS) &&
	    req.key_bytes <= UINT16_MAX) {
		struct node_kv_command c = {
			.op = req.op == DP_CLIENT_PUT ? NODE_KV_PUT
			      : req.op == DP_CLIENT_DELETE ? NODE_KV_DEL : NODE_KV_CAS,
			.client_id = req.client_id, .seq = req.request_seq,
			.key = req.key, .key_bytes = (uint16_t)req.key_bytes,
			.value = req.value, .value_bytes = req.value_bytes,
			.expected = req.expect, .expected_bytes = req.expect_bytes};
		node_kv_apply_command(d->kv, index, &c, res);
	} else {
		node_kv_skip(d->kv, index);
	}
}

void node_apply_replayed(struct node_daemon *d, const struct store_entry *e)
{
	struct node_kv_result res;
	RN_ASSERT(e->index == d->applied_index + 1);
	if (e->type == RAFT_ENTRY_NORMAL && e->payload_bytes > 0) {
		apply_bytes(d, e->index, e->payload, e->payload_bytes, &res);
	} else {
		node_kv_skip(d->kv, e->index);
	}
	d->applied_index = e->index;
}

/* One committed entry of the ring; the node that proposed it replies. */
static void apply_request(struct node_daemon *d, raft_index index, const struct node_slot *s)
{
	struct node_kv_result res;
	apply_bytes(d, index, node_payloads_at(&d->payloads, s->offset), s->bytes, &res);
	if (!s->client_waits) {
		return;
	}
	const uint64_t *trace = NULL;
	if (s->trace_id != 0) {
		struct node_trace *tr = &d->traces[s->trace_id - 1];
		tr->stamp_ns[DP_TRACE_APPLIED] = node_now_ns();
		trace = tr->stamp_ns;
		tr->busy = false;
	}
	node_net_reply(d, &s->client, s->client_id, s->client_seq, apply_reply_status(res.status),
		       res.value, res.value_bytes, trace);
}

/* The commit hint lets a restart load only the log's tail (raft_create_from
 * needs every entry below its floor committed). Saving it syncs a state
 * slot, so it goes lazily: every eighth of a window applied, or each second
 * while anything was applied. A stale hint only means a longer tail. */
static void apply_save_hint(struct node_daemon *d)
{
	if (d->applied_index <= d->hint_saved) {
		return;
	}
	uint64_t now = node_now_ns();
	if (d->applied_index - d->hint_saved < d->cfg.log_entries_max / 8u &&
	    now - d->hint_saved_ns < 1000000000ull) {
		return;
	}
	/* Written by the log stage in its turn; a failure there fail-stops
	 * the node like any log failure. */
	if (node_log_save_hint(&d->logstage, d->applied_index) == 0) {
		d->hint_saved = d->applied_index;
		d->hint_saved_ns = now;
	}
}

void node_apply_committed(struct node_daemon *d, raft_index commit_index)
{
	while (d->applied_index < commit_index) {
		raft_index index = d->applied_index + 1;
		const struct node_slot *s = node_payloads_slot(&d->payloads, index);
		/* The core releases nothing unapplied, and the ring mirrors the
		 * core's window. */
		RN_ASSERT(s != NULL);
		if (s->type == RAFT_ENTRY_NORMAL && s->bytes > 0) {
			apply_request(d, index, s);
		} else {
			node_kv_skip(d->kv, index);
		}
		d->applied_index = index;
		d->counters.applied_entries++;
	}
	apply_save_hint(d);
	node_apply_serve_reads(d);
}

void node_apply_read(struct node_daemon *d, const struct dp_rx_frame *in, uint64_t rx_ns)
{
	const struct dp_client_request *req = &in->request;
	if (d->reads_busy == NODE_READS_MAX || req->key_bytes > DP_CLIENT_KEY_BYTES_MAX) {
		node_net_reply(d, &in->addr, req->client_id, req->request_seq,
			       d->reads_busy == NODE_READS_MAX ? DP_CLIENT_BUSY
							       : DP_CLIENT_BAD_REQUEST,
			       NULL, 0, NULL);
		return;
	}
	for (uint32_t i = 0; i < NODE_READS_MAX; i++) {
		struct node_read *r = &d->reads[i];
		if (r->busy) {
			continue;
		}
		*r = (struct node_read){.busy = true, .flags = req->flags, .round = d->read_round,
					.client_id = req->client_id,
					.client_seq = req->request_seq, .rx_ns = rx_ns,
					.client = in->addr, .key_bytes = (uint16_t)req->key_bytes};
		memcpy(r->key, req->key, req->key_bytes);
		d->reads_busy++;
		d->reads_in_round++;
		return;
	}
}

static void apply_read_done(struct node_daemon *d, struct node_read *r, uint8_t status,
			    const uint8_t *value, uint32_t value_bytes)
{
	uint64_t trace[DP_TRACE_STAGES];
	if (r->flags & DP_CLIENT_FLAG_TRACE) {
		uint64_t now = node_now_ns();
		trace[DP_TRACE_RX] = r->rx_ns;
		for (unsigned k = 1; k < DP_TRACE_STAGES; k++) {
			trace[k] = k == DP_TRACE_APPLIED || k == DP_TRACE_REPLY ? now : r->rx_ns;
		}
	}
	node_net_reply(d, &r->client, r->client_id, r->client_seq, status, value, value_bytes,
		       (r->flags & DP_CLIENT_FLAG_TRACE) ? trace : NULL);
	r->busy = false;
	d->reads_busy--;
}

/* Starts one ReadIndex round for the reads gathered in this rx poll. */
void node_apply_start_reads(struct node_daemon *d)
{
	uint64_t round = d->read_round++;
	d->reads_in_round = 0;
	struct raft_event ev = {.type = RAFT_EVENT_READ_INDEX, .read_index = {.ctx = round}};
	int rc = node_control_step(d, &ev);
	if (rc == 0) {
		return;
	}
	uint8_t status = rc == -RAFT_ERR_BUSY ? DP_CLIENT_BUSY : DP_CLIENT_RETRY;
	for (uint32_t i = 0; i < NODE_READS_MAX; i++) {
		struct node_read *r = &d->reads[i];
		if (r->busy && !r->confirmed && r->round == round) {
			apply_read_done(d, r, status, NULL, 0);
		}
	}
}

void node_apply_read_states(struct node_daemon *d, const struct raft_read_state *rs,
			    uint32_t count)
{
	for (uint32_t k = 0; k < count; k++) {
		for (uint32_t i = 0; i < NODE_READS_MAX; i++) {
			struct node_read *r = &d->reads[i];
			if (r->busy && !r->confirmed && r->round == rs[k].ctx) {
				r->confirmed = true;
				r->read_index = rs[k].read_index;
			}
		}
	}
	node_apply_serve_reads(d);
}

void node_apply_serve_reads(struct node_daemon *d)
{
	if (d->reads_busy == 0) {
		return;
	}
	uint64_t now = node_now_ns();
	uint32_t seen = 0;
	for (uint32_t i = 0; i < NODE_READS_MAX && seen < d->reads_busy; i++) {
		struct node_read *r = &d->reads[i];
		if (!r->busy) {
			continue;
		}
		seen++;
		if (r->confirmed && r->read_index <= d->applied_index) {
			const uint8_t *value = NULL;
			uint32_t value_bytes = 0;
			int st = node_kv_get(d->kv, r->key, r->key_bytes, &value, &value_bytes);
			d->counters.reads_served++;
			apply_read_done(d, r, st == NODE_KV_OK ? DP_CLIENT_OK : DP_CLIENT_NOT_FOUND,
					value, value_bytes);
			seen--;
		} else if (now - r->rx_ns > APPLY_READ_WAIT_NS_MAX && r->round != d->read_round) {
			apply_read_done(d, r, DP_CLIENT_RETRY, NULL, 0);
			seen--;
		}
	}
}
