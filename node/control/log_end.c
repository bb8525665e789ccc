/* SPDX-License-Identifier: MIT */
/*
 * log_end.c - control's end of the log link (rings.h). stage: control.
 *
 * Appends are staged into one burst of ring records (the one chunking
 * step on the way to the log) and pushed when the burst fills or when
 * control kicks; every other op pushes what was staged first, so the ring
 * keeps control's order. A full ring is back-pressure: the disk is behind,
 * control waits (running the log stage itself where it shares the lcore).
 */
#include <errno.h>
#include <string.h>

#include "common.h"
#include "internal.h"

/* One step of waiting for the log stage. */
static bool log_end_wait(struct node_log_end *le)
{
	RN_ASSERT(le->link != NULL);
	const struct node_link_wait *w = &le->link->wait;
	RN_ASSERT(w->stop != NULL);
	return dp_stage_wait(w->colocated_poll != NULL, w->colocated_poll, w->colocated_ctx,
			     w->stop);
}

/* ops[0..count) in order, every one of them. */
static int log_end_push(struct node_log_end *le, const struct node_log_op *ops, uint32_t count)
{
	RN_ASSERT(count > 0);
	uint32_t pushed = dp_ring_push_elems(&le->link->ops, ops, count);
	RN_ASSERT(pushed <= count);
	while (pushed < count) {
		le->ops_full_waits++;
		if (!log_end_wait(le)) {
			return -ECANCELED;
		}
		pushed += dp_ring_push_elems(&le->link->ops, ops + pushed, count - pushed);
	}
	RN_ASSERT(pushed == count);
	return 0;
}

/* The staged appends into the ring. */
static int log_end_push_burst(struct node_log_end *le)
{
	RN_ASSERT(le->burst_count <= NODE_LOG_BURST);
	uint32_t n = le->burst_count;
	le->burst_count = 0;
	return n > 0 ? log_end_push(le, le->burst, n) : 0;
}

/* One op other than an append, after what was staged. */
static int log_end_push_op(struct node_log_end *le, const struct node_log_op *op)
{
	RN_ASSERT(op->kind != NODE_LOG_OP_APPEND);
	int rc = log_end_push_burst(le);
	return rc != 0 ? rc : log_end_push(le, op, 1);
}

int node_log_add(struct node_log_end *le, const struct raft_entry *e, const void *payload)
{
	RN_ASSERT(e->index > 0);
	RN_ASSERT(payload != NULL || e->payload_bytes == 0);
	if (le->burst_count > 0) {
		/* Appends come in index order within a burst (a truncation is a
		 * call, which pushes the burst first). */
		RN_ASSERT(le->burst[le->burst_count - 1].index + 1 == e->index);
	}
	RN_ASSERT(le->burst_count < NODE_LOG_BURST); /* a full burst was pushed */
	le->burst[le->burst_count++] = (struct node_log_op){
		.kind = NODE_LOG_OP_APPEND, .index = e->index, .term = e->term, .type = e->type,
		.payload_bytes = e->payload_bytes, .ptr = payload};
	return le->burst_count == NODE_LOG_BURST ? log_end_push_burst(le) : 0;
}

int node_log_kick(struct node_log_end *le)
{
	int rc = log_end_push_burst(le);
	RN_ASSERT(le->burst_count == 0);
	const struct node_link_wait *w = &le->link->wait;
	if (w->colocated_poll != NULL) {
		w->colocated_poll(w->colocated_ctx); /* the write starts now (after the messages) */
	}
	return rc;
}

int node_log_save_hint(struct node_log_end *le, raft_index committed)
{
	RN_ASSERT(committed > 0);
	struct node_log_op op = {.kind = NODE_LOG_OP_HINT, .index = committed};
	return log_end_push_op(le, &op);
}

/* The call in the link's slot, synchronously. */
static int log_end_call_wait(struct node_log_end *le)
{
	RN_ASSERT(le->link->call.kind == NODE_LOG_CALL_HARD_STATE ||
		  le->link->call.kind == NODE_LOG_CALL_TRUNCATE ||
		  le->link->call.kind == NODE_LOG_CALL_RESET);
	/* One call at a time: every earlier one is done. */
	RN_ASSERT(__atomic_load_n(&le->link->calls_done, __ATOMIC_ACQUIRE) <= le->calls_sent);
	uint64_t seq = ++le->calls_sent;
	struct node_log_op op = {.kind = NODE_LOG_OP_CALL, .index = seq, .ptr = &le->link->call};
	int rc = log_end_push_op(le, &op);
	while (rc == 0 && __atomic_load_n(&le->link->calls_done, __ATOMIC_ACQUIRE) < seq) {
		if (!log_end_wait(le)) {
			rc = -ECANCELED;
		}
	}
	RN_ASSERT(rc != 0 || __atomic_load_n(&le->link->calls_done, __ATOMIC_ACQUIRE) == seq);
	return rc != 0 ? rc : le->link->call.rc;
}

int node_log_save_hard_state(struct node_log_end *le, const struct raft_hard_state *hs)
{
	le->link->call = (struct node_log_call){.kind = NODE_LOG_CALL_HARD_STATE, .hard_state = *hs};
	return log_end_call_wait(le);
}

int node_log_truncate(struct node_log_end *le, raft_index from)
{
	RN_ASSERT(from > 0);
	le->link->call = (struct node_log_call){.kind = NODE_LOG_CALL_TRUNCATE, .index = from};
	return log_end_call_wait(le);
}

int node_log_reset(struct node_log_end *le, raft_index index, raft_term term)
{
	RN_ASSERT(index > 0);
	le->link->call = (struct node_log_call){.kind = NODE_LOG_CALL_RESET, .index = index,
						.hard_state = {.term = term}};
	return log_end_call_wait(le);
}

int node_log_read_start(struct node_log_end *le, const struct raft_message *m, void *buf,
			size_t buf_bytes)
{
	RN_ASSERT(m->type == RAFT_MSG_APPEND);
	RN_ASSERT(m->append.from_storage);
	RN_ASSERT(le->reads_taken <= le->reads_sent);
	/* In flight, or done and not yet taken: the buffer is in use. */
	if (le->reads_taken != le->reads_sent) {
		le->reads_refused_busy++;
		return -EBUSY;
	}
	/* Field by field: the entries array (written by the read) is large
	 * and needs no clearing. */
	struct node_log_read *r = &le->link->read;
	r->msg = *m;
	r->msg.append.entries = NULL; /* the core's array: not ours to keep */
	r->buf = buf;
	r->buf_bytes = buf_bytes;
	r->rc = 0;
	r->prev_term = 0;
	uint64_t seq = le->reads_sent + 1;
	struct node_log_op op = {.kind = NODE_LOG_OP_READ, .index = seq, .ptr = r};
	int rc = log_end_push_op(le, &op);
	if (rc == 0) {
		/* No kick here: this runs among the update's messages, and a
		 * colocated log stage would write the staged appends before the
		 * rest of them leave. The read starts at step.c's kick or at
		 * the log stage's next round. */
		le->reads_sent = seq;
	}
	return rc;
}

const struct node_log_read *node_log_read_take(struct node_log_end *le)
{
	RN_ASSERT(le->reads_taken <= le->reads_sent);
	/* The log stage finishes only reads it was given. */
	RN_ASSERT(__atomic_load_n(&le->link->reads_done, __ATOMIC_ACQUIRE) <= le->reads_sent);
	if (le->reads_taken == le->reads_sent ||
	    __atomic_load_n(&le->link->reads_done, __ATOMIC_ACQUIRE) != le->reads_sent) {
		return NULL;
	}
	le->reads_taken = le->reads_sent; /* the caller sends it before its next start */
	RN_ASSERT(le->link->read.buf != NULL);
	return &le->link->read;
}

bool node_log_take_report(struct node_log_end *le, struct node_log_report *out)
{
	struct node_log_report got[NODE_LOG_BURST];
	bool any = false;
	uint32_t n;
	while ((n = dp_ring_pop_elems(&le->link->reports, got, NODE_LOG_BURST)) > 0) {
		RN_ASSERT(n <= NODE_LOG_BURST);
		*out = got[n - 1]; /* the latest supersedes the others */
		any = true;
	}
	if (any) {
		/* Room came: wake the log stage if a report waits for it. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&le->link->reports_blocked, __ATOMIC_RELAXED) != 0 &&
		    __atomic_exchange_n(&le->link->reports_blocked, 0, __ATOMIC_ACQ_REL) != 0) {
			dp_doorbell_ring(le->link->ops.doorbell);
		}
	}
	return any;
}

int node_log_failure(const struct node_log_end *le, const char **what, const char **msg)
{
	int rc = __atomic_load_n(&le->link->failed_rc, __ATOMIC_ACQUIRE);
	if (rc != 0) {
		RN_ASSERT(rc < 0);
		*what = le->link->failed_what;
		*msg = le->link->failed_msg;
	}
	return rc;
}

void node_log_figures(const struct node_log_end *le, struct node_log_figures *out)
{
	out->groups = __atomic_load_n(&le->link->groups_published, __ATOMIC_RELAXED);
	out->entries = __atomic_load_n(&le->link->entries_published, __ATOMIC_RELAXED);
	out->durable = __atomic_load_n(&le->link->durable_published, __ATOMIC_RELAXED);
}

bool node_log_space_short(const struct node_log_end *le, uint64_t *held)
{
	*held = __atomic_load_n(&le->link->held_published, __ATOMIC_RELAXED);
	return __atomic_load_n(&le->link->space_short, __ATOMIC_RELAXED) != 0;
}
