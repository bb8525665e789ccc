/* SPDX-License-Identifier: MIT */
/*
 * apply.c - the apply stage: committed entries go to the key-value state
 * machine in index order, and the node that proposed an entry for a client
 * replies once it is applied (never before: the reply says the write is
 * durable on a majority and visible). Linearizable reads wait for a
 * ReadIndex round (one round serves every read gathered in one rx poll) and
 * for the apply to reach the index it confirmed.
 *
 * The stage owns the state machine and the pending reads, and may run on an
 * lcore of its own. Control talks to it through two SPSC rings:
 *
 *   control ── in ring ──► apply: COMMIT up to index, READ (wait for its
 *                                 round), STALE_GET, ROUND (a ReadIndex
 *                                 round's read index, or its failure)
 *   control ◄─ out ring ── apply: replies to send; their values sit in the
 *                                 stage's reply arena until control sent
 *                                 them (control then moves arena_tail)
 *
 * and reads applied_published to tell the core (RAFT_EVENT_APPLIED, which
 * lets it release payload slots). The stage reads committed entries from
 * the payload ring in place: control writes a slot before it hands over
 * the commit that covers it, and frees it only after the core heard it was
 * applied. Every in-record makes at most one reply, so the stage takes one
 * only with room for its reply; when the out ring or the arena is full it
 * stops and resumes at its next poll (back-pressure, nothing dropped).
 * Where the stage shares control's lcore, control's waits run it inline:
 * the same code serves both mappings.
 *
 * The log holds client requests exactly as the wire carries them (the
 * request body), so there is one encoding of a command, decoded here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "daemon.h"

/* How long a read may wait for its round before the client is told to
 * retry (a leader that lost its quorum never confirms it). */
#define APPLY_READ_WAIT_NS_MAX (2000ull * 1000000ull)
#define APPLY_IN_BURST 16u

_Static_assert(sizeof(struct node_apply_in) % 4 == 0, "ring records are 4-byte multiples");
_Static_assert(sizeof(struct node_apply_out) % 4 == 0, "ring records are 4-byte multiples");

static uint8_t apply_reply_status(uint8_t kv_status)
{
	switch (kv_status) {
	case NODE_KV_OK: return DP_CLIENT_OK;
	case NODE_KV_NOT_FOUND: return DP_CLIENT_NOT_FOUND;
	case NODE_KV_CAS_MISMATCH: return DP_CLIENT_CAS_FAILED;
	default: return DP_CLIENT_BAD_REQUEST; /* full, too big, stale, malformed */
	}
}

/* ---- the apply side ------------------------------------------------------ */

static uint64_t apply_arena_tail(const struct node_apply_stage *as)
{
	return __atomic_load_n(&as->arena_tail, __ATOMIC_ACQUIRE);
}

/* Room for one more reply with a value of any allowed size. */
static bool apply_room(const struct node_apply_stage *as)
{
	uint64_t used = as->arena_head - apply_arena_tail(as);
	return dp_ring_count(&as->out) + 1 < NODE_APPLY_OUT_MAX &&
	       used + 2ull * as->value_bytes_max <= as->arena_bytes;
}

/* Queues one reply; apply_room() said there is room. */
static void apply_reply(struct node_apply_stage *as, struct node_apply_out *o,
			const uint8_t *value, uint32_t value_bytes)
{
	if (value_bytes > 0) {
		uint64_t off = as->arena_head;
		uint64_t phys = off % as->arena_bytes;
		if (phys + value_bytes > as->arena_bytes) {
			off += as->arena_bytes - phys; /* contiguous: skip the wrap */
		}
		memcpy(as->arena + off % as->arena_bytes, value, value_bytes);
		o->value_off = off;
		as->arena_head = off + value_bytes;
	}
	o->value_bytes = value_bytes;
	uint32_t pushed = dp_ring_push_elems(&as->out, o, 1);
	RN_ASSERT(pushed == 1); /* apply_room() */
}

/* Decodes and applies one committed client request (the same bytes on
 * every node: every node does the same with them). */
static void apply_bytes(struct node_kv *kv, raft_index index, const uint8_t *bytes,
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
		node_kv_apply_command(kv, index, &c, res);
	} else {
		node_kv_skip(kv, index);
	}
}

/* One committed entry: a client request, or (a leader's no-op) nothing.
 * Returns whether it carried a request. */
static bool apply_entry(struct node_kv *kv, raft_index index, uint8_t type, const uint8_t *bytes,
			uint32_t count, struct node_kv_result *res)
{
	if (type != RAFT_ENTRY_NORMAL || count == 0) {
		node_kv_skip(kv, index);
		return false;
	}
	apply_bytes(kv, index, bytes, count, res);
	return true;
}

/* One committed entry of the payload ring; the node that proposed it
 * replies. */
static void apply_one(struct node_apply_stage *as, raft_index index)
{
	const struct node_slot *s = node_payloads_slot(as->payloads, index);
	/* The core releases nothing unapplied, and the ring mirrors the core's
	 * window. */
	RN_ASSERT(s != NULL);
	struct node_kv_result res;
	if (apply_entry(as->kv, index, s->type, node_payloads_at(as->payloads, s->offset), s->bytes,
			&res) &&
	    s->client_waits) {
		struct node_apply_out o = {.client = s->client, .status = apply_reply_status(res.status),
					   .trace_id = s->trace_id, .client_id = s->client_id,
					   .client_seq = s->client_seq};
		if (s->trace_id != 0) {
			o.applied_ns = node_now_ns();
		}
		apply_reply(as, &o, res.value, res.value_bytes);
	}
}

/* A read's reply o: with key, the status and value of key in the state
 * machine now; without, o's status alone. Traced (the request's flags)
 * from rx_ns, applied and replied now. */
static void apply_read_reply(struct node_apply_stage *as, struct node_apply_out *o, uint8_t flags,
			     uint64_t rx_ns, const uint8_t *key, uint16_t key_bytes)
{
	const uint8_t *value = NULL;
	uint32_t value_bytes = 0;
	if (key != NULL) {
		int st = node_kv_get(as->kv, key, key_bytes, &value, &value_bytes);
		o->status = apply_reply_status((uint8_t)st);
	}
	if (flags & DP_CLIENT_FLAG_TRACE) {
		uint64_t now = node_now_ns();
		o->has_trace = 1;
		o->trace_ns[DP_TRACE_RX] = rx_ns;
		for (unsigned k = 1; k < DP_TRACE_STAGES; k++) {
			o->trace_ns[k] = k == DP_TRACE_APPLIED || k == DP_TRACE_REPLY ? now : rx_ns;
		}
	}
	apply_reply(as, o, value, value_bytes);
}

/* A pending read answered (status), or served (status 0: its value). */
static void apply_read_done(struct node_apply_stage *as, struct node_read *r, uint8_t status)
{
	struct node_apply_out o = {.client = r->client, .status = status,
				   .client_id = r->client_id, .client_seq = r->client_seq};
	apply_read_reply(as, &o, r->flags, r->rx_ns, status == 0 ? r->key : NULL, r->key_bytes);
	r->busy = false;
	as->reads_busy--;
}

/* Answers the reads that can be: a failed round's with its status,
 * confirmed ones the apply has reached with the value, the ones waiting
 * too long with RETRY; stops when there is no room for another reply. */
static uint32_t apply_serve_reads(struct node_apply_stage *as)
{
	if (as->reads_busy == 0) {
		return 0;
	}
	uint64_t now = node_now_ns();
	uint32_t seen = 0, served = 0;
	for (uint32_t i = 0; i < NODE_READS_MAX && seen < as->reads_busy && apply_room(as); i++) {
		struct node_read *r = &as->reads[i];
		if (!r->busy) {
			continue;
		}
		seen++;
		if (r->confirmed && r->fail_status != 0) {
			apply_read_done(as, r, r->fail_status);
			seen--;
			served++;
		} else if (r->confirmed && r->read_index <= as->applied_index) {
			__atomic_store_n(&as->reads_served, as->reads_served + 1, __ATOMIC_RELAXED);
			apply_read_done(as, r, 0);
			seen--;
			served++;
		} else if (now - r->rx_ns > APPLY_READ_WAIT_NS_MAX) {
			apply_read_done(as, r, DP_CLIENT_RETRY);
			seen--;
			served++;
		}
	}
	return served;
}

static void apply_take_read(struct node_apply_stage *as, const struct node_apply_in *in)
{
	if (as->reads_busy == NODE_READS_MAX) {
		struct node_apply_out o = {.client = in->client, .status = DP_CLIENT_BUSY,
					   .client_id = in->client_id, .client_seq = in->client_seq};
		apply_reply(as, &o, NULL, 0);
		return;
	}
	for (uint32_t i = 0; i < NODE_READS_MAX; i++) {
		struct node_read *r = &as->reads[i];
		if (!r->busy) {
			*r = (struct node_read){.busy = true, .flags = in->flags, .round = in->round,
						.client_id = in->client_id,
						.client_seq = in->client_seq, .rx_ns = in->rx_ns,
						.client = in->client, .key_bytes = in->key_bytes};
			memcpy(r->key, in->key, in->key_bytes);
			as->reads_busy++;
			return;
		}
	}
}

static void apply_stale_get(struct node_apply_stage *as, const struct node_apply_in *in)
{
	struct node_apply_out o = {.client = in->client, .client_id = in->client_id,
				   .client_seq = in->client_seq};
	apply_read_reply(as, &o, in->flags, in->rx_ns, in->key, in->key_bytes);
}

static void apply_round(struct node_apply_stage *as, const struct node_apply_in *in)
{
	for (uint32_t i = 0; i < NODE_READS_MAX; i++) {
		struct node_read *r = &as->reads[i];
		if (!r->busy || r->confirmed || r->round != in->round) {
			continue;
		}
		/* A failed round may end many reads, and there is room for
		 * one reply: they are answered as room allows
		 * (apply_serve_reads). */
		r->confirmed = true;
		r->read_index = in->index;
		r->fail_status = in->fail_status;
	}
}

static void apply_publish(struct node_apply_stage *as)
{
	__atomic_store_n(&as->digest_published, node_kv_digest(as->kv), __ATOMIC_RELAXED);
	__atomic_store_n(&as->keys_published, node_kv_keys_count(as->kv), __ATOMIC_RELAXED);
	/* Last, with release: what it covers (replies queued, slots read) is
	 * done when control sees it. */
	__atomic_store_n(&as->applied_published, as->applied_index, __ATOMIC_RELEASE);
}

uint32_t node_apply_stage_poll(void *ctx)
{
	struct node_apply_stage *as = ctx;
	uint32_t work = 0;
	struct node_apply_in in;
	/* One record at a time, each with room for the reply it may make. */
	while (apply_room(as) && dp_ring_pop_elems(&as->in, &in, 1) == 1) {
		work++;
		switch (in.kind) {
		case NODE_APPLY_COMMIT:
			as->commit_index = rn_max_u64(as->commit_index, in.index);
			break;
		case NODE_APPLY_READ:
			apply_take_read(as, &in);
			break;
		case NODE_APPLY_STALE_GET:
			apply_stale_get(as, &in);
			break;
		case NODE_APPLY_ROUND:
			apply_round(as, &in);
			break;
		default:
			RN_ASSERT(!"unknown apply record");
		}
	}
	raft_index before = as->applied_index;
	while (as->applied_index < as->commit_index && apply_room(as)) {
		apply_one(as, as->applied_index + 1);
		as->applied_index++;
	}
	if (as->applied_index != before) {
		work += (uint32_t)(as->applied_index - before);
		apply_publish(as);
	}
	work += apply_serve_reads(as);
	return work;
}

int node_apply_stage_init(struct node_apply_stage *as, struct node_kv *kv,
			  const struct node_payloads *payloads, uint32_t value_bytes_max,
			  bool colocated, const volatile int *stop)
{
	memset(as, 0, sizeof(*as));
	as->kv = kv;
	as->payloads = payloads;
	as->colocated = colocated;
	as->stop = stop;
	/* A reply carries at most one value; the arena holds many in flight. */
	as->value_bytes_max = (uint32_t)rn_max_u64(value_bytes_max, DP_CLIENT_KEY_BYTES_MAX);
	as->arena_bytes = node_apply_arena_bytes(value_bytes_max);
	as->arena = malloc(as->arena_bytes);
	as->reads = calloc(NODE_READS_MAX, sizeof(*as->reads));
	if (as->arena == NULL || as->reads == NULL ||
	    dp_ring_elem_create(&as->in, sizeof(struct node_apply_in), NODE_APPLY_IN_MAX) != 0 ||
	    dp_ring_elem_create(&as->out, sizeof(struct node_apply_out), NODE_APPLY_OUT_MAX) != 0) {
		return -ENOMEM;
	}
	rn_prefault(as->arena, as->arena_bytes);
	apply_publish(as);
	return 0;
}

uint64_t node_apply_arena_bytes(uint32_t value_bytes_max)
{
	/* A reply carries at most one value (a read's, up to a key's bytes at
	 * least); the arena holds many in flight. */
	return rn_max_u64(4ull << 20, 8ull * rn_max_u64(value_bytes_max, DP_CLIENT_KEY_BYTES_MAX));
}

void node_apply_stage_fini(struct node_apply_stage *as)
{
	dp_ring_elem_destroy(&as->in);
	dp_ring_elem_destroy(&as->out);
	free(as->arena);
	free(as->reads);
	as->arena = NULL;
	as->reads = NULL;
}

void node_apply_replayed(struct node_daemon *d, const struct store_entry *e)
{
	struct node_apply_stage *as = &d->applystage;
	struct node_kv_result res;
	RN_ASSERT(e->index == as->applied_index + 1);
	apply_entry(as->kv, e->index, e->type, e->payload, e->payload_bytes, &res);
	as->applied_index = e->index;
	as->commit_index = e->index;
	apply_publish(as);
}

/* ---- the control side ---------------------------------------------------- */

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

raft_index node_apply_applied(const struct node_daemon *d)
{
	return __atomic_load_n(&d->applystage.applied_published, __ATOMIC_ACQUIRE);
}

uint32_t node_apply_send_replies(struct node_daemon *d)
{
	struct node_apply_stage *as = &d->applystage;
	struct node_apply_out o[APPLY_IN_BURST];
	uint32_t sent = 0, n;
	while ((n = dp_ring_pop_elems(&as->out, o, APPLY_IN_BURST)) > 0) {
		for (uint32_t i = 0; i < n; i++) {
			const uint64_t *trace = o[i].has_trace ? o[i].trace_ns : NULL;
			if (o[i].trace_id != 0) {
				struct node_trace *tr = &d->traces[o[i].trace_id - 1];
				tr->stamp_ns[DP_TRACE_APPLIED] = o[i].applied_ns;
				trace = tr->stamp_ns;
				tr->busy = false;
			}
			const uint8_t *value = o[i].value_bytes > 0
						       ? as->arena + o[i].value_off % as->arena_bytes
						       : NULL;
			node_net_reply(d, &o[i].client, o[i].client_id, o[i].client_seq, o[i].status,
				       value, o[i].value_bytes, trace);
			if (o[i].value_bytes > 0) {
				/* In order: everything before this value is sent too. */
				__atomic_store_n(&as->arena_tail, o[i].value_off + o[i].value_bytes,
						 __ATOMIC_RELEASE);
			}
		}
		sent += n;
	}
	return sent;
}

/* Hands a record to the apply stage; a full ring is back-pressure: send
 * what it made meanwhile, and run it here when it shares this lcore. */
static void apply_push(struct node_daemon *d, const struct node_apply_in *in)
{
	struct node_apply_stage *as = &d->applystage;
	while (dp_ring_push_elems(&as->in, in, 1) == 0) {
		as->in_full_waits++;
		node_apply_send_replies(d);
		if (!dp_stage_wait(as->colocated, node_apply_stage_poll, as, as->stop)) {
			return; /* stopping: the apply lcore may be gone */
		}
	}
}

/* Where the apply stage shares this lcore, it runs at once and its
 * replies go in the same round. */
static void apply_kick(struct node_daemon *d)
{
	if (d->applystage.colocated) {
		node_apply_stage_poll(&d->applystage);
		node_apply_send_replies(d);
	}
}

void node_apply_commit(struct node_daemon *d, raft_index commit_index)
{
	if (commit_index <= d->commit_pushed) {
		return;
	}
	struct node_apply_in in = {.kind = NODE_APPLY_COMMIT, .index = commit_index};
	apply_push(d, &in);
	d->commit_pushed = commit_index;
	apply_kick(d);
}

void node_apply_read(struct node_daemon *d, const struct dp_rx_frame *in, uint64_t rx_ns,
		     bool stale)
{
	const struct dp_client_request *req = &in->request;
	if (req->key_bytes > DP_CLIENT_KEY_BYTES_MAX) {
		node_net_reply(d, &in->addr, req->client_id, req->request_seq, DP_CLIENT_BAD_REQUEST,
			       NULL, 0, NULL);
		return;
	}
	struct node_apply_in r = {.kind = stale ? NODE_APPLY_STALE_GET : NODE_APPLY_READ,
				  .flags = req->flags, .key_bytes = (uint16_t)req->key_bytes,
				  .round = d->read_round, .client_id = req->client_id,
				  .client_seq = req->request_seq, .rx_ns = rx_ns,
				  .client = in->addr};
	memcpy(r.key, req->key, req->key_bytes);
	apply_push(d, &r);
	if (stale) {
		apply_kick(d);
	} else {
		d->reads_in_round++;
	}
}

/* Starts one ReadIndex round for the reads gathered in this rx poll. */
void node_apply_start_reads(struct node_daemon *d)
{
	uint64_t round = d->read_round++;
	d->reads_in_round = 0;
	struct raft_event ev = {.type = RAFT_EVENT_READ_INDEX, .read_index = {.ctx = round}};
	int rc = node_control_step(d, &ev);
	if (rc != 0) {
		struct node_apply_in in = {
			.kind = NODE_APPLY_ROUND, .round = round,
			.fail_status = rc == -RAFT_ERR_BUSY ? DP_CLIENT_BUSY : DP_CLIENT_RETRY};
		apply_push(d, &in);
		apply_kick(d);
	}
}

void node_apply_read_states(struct node_daemon *d, const struct raft_read_state *rs,
			    uint32_t count)
{
	for (uint32_t k = 0; k < count; k++) {
		struct node_apply_in in = {.kind = NODE_APPLY_ROUND, .round = rs[k].ctx,
					   .index = rs[k].read_index};
		apply_push(d, &in);
	}
	apply_kick(d);
}

/* The commit hint lets a restart load only the log's tail (raft_create_from
 * needs every entry below its floor committed). Saving it syncs a state
 * slot, so it goes lazily: every eighth of a window applied, or each second
 * while anything was applied. A stale hint only means a longer tail. The
 * log stage writes it in its turn; a failure there fail-stops the node like
 * any log failure. */
void node_apply_save_hint(struct node_daemon *d)
{
	raft_index applied = node_apply_applied(d);
	if (applied <= d->hint_saved) {
		return;
	}
	uint64_t now = node_now_ns();
	if (applied - d->hint_saved < d->cfg.log_entries_max / 8u &&
	    now - d->hint_saved_ns < 1000000000ull) {
		return;
	}
	if (node_log_save_hint(&d->logstage, applied) == 0) {
		d->hint_saved = applied;
		d->hint_saved_ns = now;
	}
}
