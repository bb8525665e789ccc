/* SPDX-License-Identifier: MIT */
/*
 * apply_end.c - control's end of the apply link (rings.h). stage: control.
 *
 * Control hands the apply stage commits, reads and ReadIndex outcomes and
 * sends the replies it made (their values in the link's arena, released
 * in order through arena_tail). A full in ring is back-pressure: control
 * sends what the stage made meanwhile and waits (running the stage itself
 * where it shares the lcore). The traces of sampled writes and the lazy
 * commit hint live here too: both follow what the apply stage did.
 */
#include <errno.h>
#include <string.h>

#include "clock.h"
#include "common.h"
#include "internal.h"

#define APPLY_END_BURST 16u /* replies taken per ring call */

void node_trace_stamp(struct node_control *c, raft_index up_to, unsigned stage, uint64_t now_ns)
{
	uint64_t now = now_ns;
	RN_ASSERT(stage < DP_TRACE_STAGES);
	for (uint32_t t = 0; t < NODE_TRACES_MAX; t++) {
		struct node_trace *tr = &c->traces[t];
		if (tr->busy && tr->index != 0 && tr->index <= up_to &&
		    !(tr->stages_set & (1u << stage))) {
			now = now != 0 ? now : node_now_ns();
			tr->stamp_ns[stage] = now;
			tr->stages_set |= (uint8_t)(1u << stage);
		}
	}
}

raft_index node_apply_applied(const struct node_control *c)
{
	RN_ASSERT(c->apply.link != NULL); /* wired before the first round */
	return __atomic_load_n(&c->apply.link->applied_published, __ATOMIC_ACQUIRE);
}

uint32_t node_apply_send_replies(struct node_control *c)
{
	struct node_apply_link *al = c->apply.link;
	RN_ASSERT(al != NULL);
	struct node_apply_out o[APPLY_END_BURST];
	uint32_t sent = 0, n;
	while ((n = dp_ring_pop_elems(&al->out, o, APPLY_END_BURST)) > 0) {
		RN_ASSERT(n <= APPLY_END_BURST);
		for (uint32_t i = 0; i < n; i++) {
			const uint64_t *trace = o[i].has_trace ? o[i].trace_ns : NULL;
			if (o[i].trace_id != 0) {
				RN_ASSERT(o[i].trace_id <= NODE_TRACES_MAX);
				struct node_trace *tr = &c->traces[o[i].trace_id - 1];
				tr->stamp_ns[DP_TRACE_APPLIED] = o[i].applied_ns;
				trace = tr->stamp_ns;
				tr->busy = false;
			}
			const uint8_t *value = o[i].value_bytes > 0
						       ? al->arena + o[i].value_off % al->arena_bytes
						       : NULL;
			node_egress_reply(c, &o[i].client, o[i].client_id, o[i].client_seq, o[i].status,
				       value, o[i].value_bytes, trace);
			if (o[i].value_bytes > 0) {
				/* Values come in arena order: the tail only moves on. */
				RN_ASSERT(o[i].value_off >= al->arena_tail);
				RN_ASSERT(o[i].value_bytes <= al->arena_bytes);
				/* In order: everything before this value is sent too. */
				__atomic_store_n(&al->arena_tail, o[i].value_off + o[i].value_bytes,
						 __ATOMIC_RELEASE);
			}
		}
		sent += n;
	}
	if (sent > 0) {
		/* Room came: wake the apply stage if it stopped for lack of it
		 * (apply_block; the doorbell is NULL on this lcore). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&al->out_blocked, __ATOMIC_RELAXED) != 0 &&
		    __atomic_exchange_n(&al->out_blocked, 0, __ATOMIC_ACQ_REL) != 0) {
			dp_doorbell_ring(al->in.doorbell);
		}
	}
	return sent;
}

/* Hands a record to the apply stage; a full ring is back-pressure: send
 * what it made meanwhile, and run it here when it shares this lcore. */
static void apply_push(struct node_control *c, const struct node_apply_in *in)
{
	struct node_apply_link *al = c->apply.link;
	const struct node_link_wait *w = &al->wait;
	RN_ASSERT(in->kind >= NODE_APPLY_COMMIT);
	RN_ASSERT(in->kind <= NODE_APPLY_INSTALL);
	while (dp_ring_push_elems(&al->in, in, 1) == 0) {
		c->apply.in_full_waits++;
		node_apply_send_replies(c);
		if (!dp_stage_wait(w->colocated_poll != NULL, w->colocated_poll, w->colocated_ctx,
				   w->stop)) {
			return; /* stopping: the apply lcore may be gone */
		}
	}
}

/* Where the apply stage shares this lcore, it runs at once and its
 * replies go in the same round. */
static void apply_kick(struct node_control *c)
{
	const struct node_link_wait *w = &c->apply.link->wait;
	if (w->colocated_poll != NULL) {
		w->colocated_poll(w->colocated_ctx);
		node_apply_send_replies(c);
	}
}

void node_apply_commit(struct node_control *c, raft_index commit_index)
{
	if (commit_index <= c->apply.commit_pushed) {
		return;
	}
	/* Only what the core committed, which its window still holds. */
	RN_ASSERT(commit_index <= c->payloads.last_index);
	RN_ASSERT(commit_index + 1 >= c->payloads.first_index); /* nothing unapplied freed */
	struct node_apply_in in = {.kind = NODE_APPLY_COMMIT, .index = commit_index};
	apply_push(c, &in);
	c->apply.commit_pushed = commit_index;
	apply_kick(c);
}

/* Contract step 2 (install): the apply stage replaces its state machine
 * by the snapshot at index, in ring order: before any later COMMIT. Its
 * applied index jumps to index; no COMMIT at or below it goes after. */
void node_apply_install(struct node_control *c, raft_index index, raft_term term)
{
	struct node_apply_in in = {.kind = NODE_APPLY_INSTALL, .index = index, .round = term};
	apply_push(c, &in);
	c->apply.commit_pushed = rn_max_u64(c->apply.commit_pushed, index);
	apply_kick(c);
}

void node_apply_read(struct node_control *c, const struct dp_endpoints *from,
		     const struct dp_client_request *req, uint64_t rx_ns, bool stale)
{
	if (req->key_bytes > DP_CLIENT_KEY_BYTES_MAX) {
		node_egress_reply(c, from, req->client_id, req->request_seq, DP_CLIENT_BAD_REQUEST,
				  NULL, 0, NULL);
		return;
	}
	struct node_apply_in r = {.kind = stale ? NODE_APPLY_STALE_GET : NODE_APPLY_READ,
				  .flags = req->flags, .key_bytes = (uint16_t)req->key_bytes,
				  .round = c->apply.read_round, .client_id = req->client_id,
				  .client_seq = req->request_seq, .rx_ns = rx_ns,
				  .client = *from};
	memcpy(r.key, req->key, req->key_bytes);
	apply_push(c, &r);
	if (stale) {
		apply_kick(c);
	} else {
		c->apply.reads_in_round++;
	}
}

void node_apply_round_failed(struct node_control *c, uint64_t round, uint8_t status)
{
	RN_ASSERT(status != DP_CLIENT_OK);
	struct node_apply_in in = {.kind = NODE_APPLY_ROUND, .round = round, .fail_status = status};
	apply_push(c, &in);
	apply_kick(c);
}

void node_apply_read_states(struct node_control *c, const struct raft_read_state *rs,
			    uint32_t count)
{
	RN_ASSERT(rs != NULL || count == 0);
	for (uint32_t k = 0; k < count; k++) {
		struct node_apply_in in = {.kind = NODE_APPLY_ROUND, .round = rs[k].ctx,
					   .index = rs[k].read_index};
		apply_push(c, &in);
	}
	apply_kick(c);
}

/* The commit hint lets a restart load only the log's tail (raft_create_from
 * needs every entry below its floor committed). Saving it syncs a state
 * slot, so it goes lazily: every eighth of a window applied, or each second
 * while anything was applied. A stale hint only means a longer tail. The
 * log stage writes it in its turn; a failure there fail-stops the node like
 * any log failure. */
void node_apply_save_hint(struct node_control *c)
{
	raft_index applied = node_apply_applied(c);
	if (applied <= c->hint_saved) {
		return;
	}
	uint64_t now = node_now_ns();
	if (applied - c->hint_saved < c->cfg->log_entries_max / 8u &&
	    now - c->hint_saved_ns < NODE_NS_PER_S) {
		return;
	}
	if (node_log_save_hint(&c->log, applied) == 0) {
		c->hint_saved = applied;
		c->hint_saved_ns = now;
	}
}
