/* SPDX-License-Identifier: MIT */
/*
 * apply_stage.c - the apply stage's round. stage: apply.
 *
 *   control ── in ring ──► apply: COMMIT up to index, READ (wait for its
 *                                 round), STALE_GET, ROUND (a ReadIndex
 *                                 round's read index, or its failure)
 *   control ◄─ out ring ── apply: replies to send; their values sit in the
 *                                 link's reply arena until control sent
 *                                 them (control then moves arena_tail)
 *
 * and publishes applied_published for control (RAFT_EVENT_APPLIED, which
 * lets the core release payload slots). The stage reads committed entries
 * from the payload ring in place (payloads.h says why that is safe). Every
 * in-record makes at most one reply, so the stage takes one only with room
 * for its reply; when the out ring or the arena is full it stops and
 * resumes at its next poll (back-pressure, nothing dropped).
 *
 * The log holds client requests exactly as the wire carries them (the
 * request body), so there is one encoding of a command, decoded here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply_stage.h"
#include "clock.h"
#include "common.h"

/* How long a read may wait for its round before the client is told to
 * retry (a leader that lost its quorum never confirms it). */
#define APPLY_READ_WAIT_NS_MAX (2000ull * 1000000ull)

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

static uint64_t apply_arena_tail(const struct node_apply_stage *as)
{
	uint64_t tail = __atomic_load_n(&as->link->arena_tail, __ATOMIC_ACQUIRE);
	RN_ASSERT(tail <= as->arena_head); /* control frees only what it was sent */
	return tail;
}

/* Room for one more reply with a value of any allowed size. */
static bool apply_room(const struct node_apply_stage *as)
{
	uint64_t used = as->arena_head - apply_arena_tail(as);
	RN_ASSERT(used <= as->link->arena_bytes);
	return dp_ring_count(&as->link->out) + 1 < NODE_APPLY_OUT_MAX &&
	       used + 2ull * as->value_bytes_max <= as->link->arena_bytes;
}

/* Queues one reply; apply_room() said there is room. */
static void apply_reply(struct node_apply_stage *as, struct node_apply_out *o,
			const uint8_t *value, uint32_t value_bytes)
{
	/* apply_room() kept room for a value of this size, twice. */
	RN_ASSERT(value_bytes <= as->value_bytes_max);
	if (value_bytes > 0) {
		RN_ASSERT(value != NULL);
		uint64_t off = as->arena_head;
		uint64_t phys = off % as->link->arena_bytes;
		if (phys + value_bytes > as->link->arena_bytes) {
			off += as->link->arena_bytes - phys; /* contiguous: skip the wrap */
		}
		RN_ASSERT(off % as->link->arena_bytes + value_bytes <= as->link->arena_bytes);
		memcpy(as->link->arena + off % as->link->arena_bytes, value, value_bytes);
		o->value_off = off;
		as->arena_head = off + value_bytes;
	}
	o->value_bytes = value_bytes;
	uint32_t pushed = dp_ring_push_elems(&as->link->out, o, 1);
	RN_ASSERT(pushed == 1); /* apply_room() */
}

/* One committed entry: a client request, or (a leader's no-op) nothing.
 * Returns whether it carried a request. */
static bool apply_entry(struct node_kv *kv, raft_index index, uint8_t type, const uint8_t *bytes,
			uint32_t count, struct node_kv_result *res)
{
	RN_ASSERT(index > 0);
	if (type != RAFT_ENTRY_NORMAL || count == 0) {
		node_kv_skip(kv, index);
		return false;
	}
	node_kv_apply_request(kv, index, bytes, count, res);
	RN_ASSERT(node_kv_applied_index(kv) == index); /* applied or skipped, never neither */
	return true;
}

/* One committed entry of the payload ring; the node that proposed it
 * replies. */
static void apply_one(struct node_apply_stage *as, raft_index index)
{
	RN_ASSERT(index == as->applied_index + 1);
	RN_ASSERT(index <= as->commit_index); /* only what is committed */
	const struct node_slot *s = node_payloads_slot(as->payloads, index);
	/* The core releases nothing unapplied, and the ring mirrors the core's
	 * window. */
	RN_ASSERT(s != NULL);
	as->applied_term = s->term;
	as->snap_bytes += store_record_bytes(s->bytes);
	struct node_kv_result res;
	const uint8_t *bytes = node_payloads_at(as->payloads, s->offset);
	if (s->type == RAFT_ENTRY_CONFIG) {
		/* A membership change: the configuration as of this index; a
		 * change this node proposed for an operator is answered now
		 * (committed). */
		node_conf_apply(&as->conf, index, bytes, s->bytes);
		if (s->client_waits) {
			struct node_apply_out o = {.client = s->client, .status = DP_CLIENT_OK,
						   .client_id = s->client_id,
						   .client_seq = s->client_seq};
			apply_reply(as, &o, NULL, 0);
		}
	}
	if (apply_entry(as->kv, index, s->type, bytes, s->bytes, &res) && s->client_waits) {
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
	RN_ASSERT(key != NULL || o->status != DP_CLIENT_OK); /* no key: a status alone */
	RN_ASSERT(key_bytes <= DP_CLIENT_KEY_BYTES_MAX);
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
	RN_ASSERT(r->busy);
	RN_ASSERT(as->reads_busy > 0);
	apply_read_reply(as, &o, r->flags, r->rx_ns, status == 0 ? r->key : NULL, r->key_bytes);
	r->busy = false;
	as->reads_busy--;
}

/* Answers the reads that can be: a failed round's with its status,
 * confirmed ones the apply has reached with the value, the ones waiting
 * too long with RETRY; stops when there is no room for another reply. */
static uint32_t apply_serve_reads(struct node_apply_stage *as)
{
	RN_ASSERT(as->reads_busy <= NODE_READS_MAX);
	as->reads_expire_ns = UINT64_MAX;
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
			__atomic_store_n(&as->link->reads_served, as->link->reads_served + 1, __ATOMIC_RELAXED);
			apply_read_done(as, r, 0);
			seen--;
			served++;
		} else if (now - r->rx_ns > APPLY_READ_WAIT_NS_MAX) {
			apply_read_done(as, r, DP_CLIENT_RETRY);
			seen--;
			served++;
		} else {
			/* Still waiting: its time-out is the stage's deadline
			 * (reads the loop did not reach, for lack of room, are
			 * looked at once control made room and woke it). */
			as->reads_expire_ns = rn_min_u64(as->reads_expire_ns,
							 r->rx_ns + APPLY_READ_WAIT_NS_MAX);
		}
	}
	RN_ASSERT(seen <= as->reads_busy);
	return served;
}

static void apply_take_read(struct node_apply_stage *as, const struct node_apply_in *in)
{
	RN_ASSERT(as->reads_busy <= NODE_READS_MAX);
	/* Control refused longer keys (node_apply_read). */
	RN_ASSERT(in->key_bytes <= DP_CLIENT_KEY_BYTES_MAX);
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
			as->reads_expire_ns = rn_min_u64(as->reads_expire_ns,
							 in->rx_ns + APPLY_READ_WAIT_NS_MAX);
			return;
		}
	}
	RN_ASSERT(!"no free read slot though reads_busy < NODE_READS_MAX");
}

static void apply_stale_get(struct node_apply_stage *as, const struct node_apply_in *in)
{
	RN_ASSERT(in->kind == NODE_APPLY_STALE_GET);
	struct node_apply_out o = {.client = in->client, .client_id = in->client_id,
				   .client_seq = in->client_seq};
	apply_read_reply(as, &o, in->flags, in->rx_ns, in->key, in->key_bytes);
}

static void apply_round(struct node_apply_stage *as, const struct node_apply_in *in)
{
	RN_ASSERT(in->kind == NODE_APPLY_ROUND);
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
	RN_ASSERT(as->applied_index <= as->commit_index);
	/* The stage is the only writer: what it published only grows. */
	RN_ASSERT(as->applied_index >=
		  __atomic_load_n(&as->link->applied_published, __ATOMIC_RELAXED));
	__atomic_store_n(&as->link->digest_published, node_kv_digest(as->kv), __ATOMIC_RELAXED);
	__atomic_store_n(&as->link->keys_published, node_kv_keys_count(as->kv), __ATOMIC_RELAXED);
	/* Last, with release: what it covers (replies queued, slots read) is
	 * done when control sees it. */
	__atomic_store_n(&as->link->applied_published, as->applied_index, __ATOMIC_RELEASE);
	dp_doorbell_ring(as->link->wake_control); /* control steps APPLIED */
}

/* No room for a reply while work waits: say so, so that control rings
 * this lcore's doorbell once it sent replies (a pop rings nothing by
 * itself). The flag, then a second look at the room, against control's
 * free-then-look (Dekker, as the doorbell): one of the two sees the other.
 * Returns 1 when room came meanwhile (run again). */
static uint32_t apply_block(struct node_apply_stage *as)
{
	bool waiting = dp_ring_count(&as->link->in) > 0 || as->applied_index < as->commit_index ||
		       as->reads_busy > 0;
	if (!waiting || apply_room(as)) {
		return 0;
	}
	__atomic_store_n(&as->link->out_blocked, 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!apply_room(as)) {
		return 0;
	}
	__atomic_store_n(&as->link->out_blocked, 0, __ATOMIC_RELAXED);
	return 1;
}

/* A snapshot installed (contract step 2): the state machine becomes the
 * snapshot's, loaded from its file (apply_install.c). It blocks this stage
 * for the load (a follower that was too far behind to serve anyway); the
 * snapshot writer, which reads the old machine, is waited for first. A
 * file that does not load leaves the old state and applied index: control
 * then never reports the install, and the leader offers again. */
static void apply_install(struct node_apply_stage *as, raft_index index, raft_term term)
{
	/* The core installs only beyond its commit index: nothing applied
	 * here is at or above it, and nothing at or below it is applied
	 * again (the loop applies from applied_index + 1). */
	RN_ASSERT(index > as->applied_index);
	while (as->snap != NULL && !node_snapshotter_idle(as->snap)) {
		struct timespec ts = {.tv_nsec = 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	struct node_kv *kv = NULL;
	char why[512];
	struct node_conf conf;
	int rc = node_apply_install_load(as, index, term, &kv, &conf, why, sizeof(why));
	if (rc != 0) {
		fprintf(stderr, "raftnode: snapshot install at %" PRIu64 " failed: %s\n", index, why);
		as->installs_failed++;
		return;
	}
	RN_ASSERT(node_kv_applied_index(kv) == index);
	node_kv_destroy(as->kv);
	as->kv = kv;
	as->conf = conf;
	if (as->snap != NULL) {
		as->snap->kv = kv;
		as->snap->base_index = index;
		as->snap->bytes_since = 0;
	}
	as->applied_index = index;
	as->applied_term = term;
	as->commit_index = rn_max_u64(as->commit_index, index);
	as->installs++;
	apply_publish(as);
}

uint32_t node_apply_stage_poll(void *ctx)
{
	struct node_apply_stage *as = ctx;
	RN_ASSERT(as->link != NULL);
	RN_ASSERT(as->payloads != NULL);
	uint32_t work = 0;
	struct node_apply_in in;
	/* One record at a time, each with room for the reply it may make. */
	while (apply_room(as) && dp_ring_pop_elems(&as->link->in, &in, 1) == 1) {
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
		case NODE_APPLY_INSTALL:
			apply_install(as, in.index, in.round);
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
		if (as->snap != NULL) {
			node_snapshotter_poll(as->snap, as->applied_index, as->applied_term,
					      &as->snap_bytes);
		}
	}
	RN_ASSERT(as->applied_index <= as->commit_index);
	work += apply_serve_reads(as);
	work += apply_block(as);
	return work;
}

int node_apply_stage_init(struct node_apply_stage *as, struct node_apply_link *link,
			  struct node_kv *kv, const struct node_payloads *payloads,
			  uint32_t value_bytes_max)
{
	RN_ASSERT(link != NULL);
	RN_ASSERT(payloads != NULL);
	memset(as, 0, sizeof(*as));
	memset(link, 0, sizeof(*link));
	as->kv = kv;
	as->payloads = payloads;
	as->link = link;
	as->reads_expire_ns = UINT64_MAX;
	/* A reply carries at most one value; the arena holds many in flight. */
	as->value_bytes_max = (uint32_t)rn_max_u64(value_bytes_max, DP_CLIENT_KEY_BYTES_MAX);
	link->arena_bytes = node_apply_arena_bytes(value_bytes_max);
	link->arena = malloc(link->arena_bytes);
	as->reads = calloc(NODE_READS_MAX, sizeof(*as->reads));
	if (kv == NULL || link->arena == NULL || as->reads == NULL ||
	    dp_ring_elem_create(&link->in, sizeof(struct node_apply_in), NODE_APPLY_IN_MAX) != 0 ||
	    dp_ring_elem_create(&link->out, sizeof(struct node_apply_out), NODE_APPLY_OUT_MAX) != 0) {
		return -ENOMEM; /* node_apply_stage_fini frees what was made */
	}
	/* Room for one reply of the largest value, twice (apply_room). */
	RN_ASSERT(link->arena_bytes >= 2ull * as->value_bytes_max);
	rn_prefault(link->arena, link->arena_bytes);
	apply_publish(as);
	return 0;
}

uint64_t node_apply_arena_bytes(uint32_t value_bytes_max)
{
	/* A reply carries at most one value (a read's, up to a key's bytes at
	 * least); the arena holds many in flight. */
	uint64_t bytes = rn_max_u64(4ull << 20,
				    8ull * rn_max_u64(value_bytes_max, DP_CLIENT_KEY_BYTES_MAX));
	RN_ASSERT(bytes >= 2ull * rn_max_u64(value_bytes_max, DP_CLIENT_KEY_BYTES_MAX));
	return bytes;
}

void node_apply_stage_fini(struct node_apply_stage *as)
{
	if (as->link == NULL) {
		return; /* never initialized */
	}
	dp_ring_elem_destroy(&as->link->in);
	dp_ring_elem_destroy(&as->link->out);
	free(as->link->arena);
	free(as->reads);
	as->link->arena = NULL;
	as->reads = NULL;
	if (as->kv != NULL) {
		node_kv_destroy(as->kv);
		as->kv = NULL;
	}
}

void node_apply_loaded(struct node_apply_stage *as, struct node_kv *kv, raft_index index,
		       raft_term term)
{
	RN_ASSERT(as->applied_index == 0); /* a snapshot loads into a fresh stage */
	RN_ASSERT(node_kv_applied_index(kv) == index);
	RN_ASSERT(as->snap == NULL); /* the snapshotter starts on the loaded machine */
	node_kv_destroy(as->kv);
	as->kv = kv;
	as->applied_index = index;
	as->commit_index = index;
	as->applied_term = term;
	apply_publish(as);
}

void node_apply_replayed(struct node_apply_stage *as, const struct store_entry *e)
{
	struct node_kv_result res;
	RN_ASSERT(as->applied_index == as->commit_index); /* replay: nothing else pending */
	RN_ASSERT(e->index == as->applied_index + 1);
	if (e->type == RAFT_ENTRY_CONFIG) {
		node_conf_apply(&as->conf, e->index, e->payload, e->payload_bytes);
	}
	apply_entry(as->kv, e->index, e->type, e->payload, e->payload_bytes, &res);
	as->applied_index = e->index;
	as->applied_term = e->term;
	as->commit_index = e->index;
	apply_publish(as);
}


uint64_t node_apply_stage_deadline_ns(void *ctx)
{
	const struct node_apply_stage *as = ctx;
	/* Kept by the poll (apply_serve_reads, apply_take_read): no scan of
	 * the read slots before every sleep. Just past the time-out: the
	 * round answers a read only once it is over. */
	return as->reads_expire_ns == UINT64_MAX ? UINT64_MAX
						 : as->reads_expire_ns + NODE_NS_PER_MS;
}
