/* SPDX-License-Identifier: MIT */
/*
 * log_stage.c - the log stage's side of the log link. stage: log.
 *
 *   control ── ops ring ──► log: APPEND (one entry: index, term, where its
 *                                 payload sits in the payload ring),
 *                                 HINT (commit hint), CALL (see below),
 *                                 READ (the catch-up read, asynchronous)
 *   control ◄─ reports ring ── log: durable up to (index, term)
 *
 * APPENDs that arrive together become one store_append(), so one group
 * write and one sync cover everything control produced meanwhile (group
 * fsync across proposals as well as within one). The payload bytes are read
 * from the payload ring by this stage, which copies them into the log's
 * staging buffer (the copy store_append always made); they stay put until
 * that copy is done because the core releases nothing above the durable
 * index, and a truncation (which moves the ring's head back) is a CALL that
 * waits for every earlier op.
 *
 * A CALL is a synchronous request: the hard state (durable before any
 * message of its update leaves) or a truncation. Control waits for it;
 * where this stage shares control's lcore, the wait runs this stage's poll
 * itself (the link's colocated_poll), so the same code serves the CI
 * mapping (every stage on one lcore) and the bare-metal one.
 *
 * Durable reports coalesce: the last one says where the log stands (a
 * later report supersedes an earlier one, truncations included), so a full
 * reports ring only delays them. A log failure is published once, with the
 * log's own message; control fail-stops on it.
 *
 * Out of space: appends the log refuses with -STORE_E_NO_SPACE (they need
 * a segment it has no room for; nothing of them was taken) are HELD, in
 * order, and the ones after them join them; what still fits the active
 * segment goes in first, one entry at a time (that room is the reserve a
 * new leader's no-op and a configuration change use). Held entries are not
 * durable, so nothing reports them and nothing acknowledges them; their
 * payloads stay put (the core releases nothing above the durable index).
 * Every other op goes on meanwhile: hard state (a vote), hints, reads,
 * and a truncation, which drops the held entries it cuts. Every
 * NODE_LOG_SPACE_RETRY_NS the log looks at its free space again
 * (store_space_retry) and takes what it can. The stage publishes the log's
 * space_short and the held count; control raises its alarm on them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "common.h"
#include "log_stage.h"

_Static_assert(sizeof(struct node_log_op) % 4 == 0, "ring records are 4-byte multiples");
_Static_assert(sizeof(struct node_log_report) % 4 == 0, "ring records are 4-byte multiples");

static void log_stage_fail(struct node_log_stage *ls, const char *what, int rc)
{
	RN_ASSERT(rc != 0); /* only a failure is published */
	RN_ASSERT(ls->log != NULL);
	if (__atomic_load_n(&ls->link->failed_rc, __ATOMIC_RELAXED) != 0) {
		return;
	}
	snprintf(ls->link->failed_what, sizeof(ls->link->failed_what), "%s", what);
	snprintf(ls->link->failed_msg, sizeof(ls->link->failed_msg), "%s", store_errmsg(ls->log));
	__atomic_store_n(&ls->link->failed_rc, rc < 0 ? rc : -EIO, __ATOMIC_RELEASE);
	dp_doorbell_ring(ls->link->wake_control);
}

static bool log_stage_failed(const struct node_log_stage *ls)
{
	return __atomic_load_n(&ls->link->failed_rc, __ATOMIC_RELAXED) != 0;
}

static void log_stage_publish_figures(struct node_log_stage *ls)
{
	struct store_stats st;
	RN_ASSERT(ls->log != NULL);
	store_stats(ls->log, &st);
	__atomic_store_n(&ls->link->groups_published, st.groups_count, __ATOMIC_RELAXED);
	__atomic_store_n(&ls->link->entries_published, st.entries_count, __ATOMIC_RELAXED);
	__atomic_store_n(&ls->link->durable_published, store_durable_index(ls->log), __ATOMIC_RELAXED);
	ls->space_short = st.space_short;
	__atomic_store_n(&ls->link->space_short, st.space_short ? 1u : 0u, __ATOMIC_RELAXED);
	__atomic_store_n(&ls->link->held_published, ls->held_count, __ATOMIC_RELAXED);
}

/* The storage's completion callback, on the log stage's lcore. */
void node_log_stage_on_durable(void *user, raft_index index, raft_term term)
{
	struct node_log_stage *ls = user;
	ls->report = (struct node_log_report){.index = index, .term = term,
					       .durable_ns = node_now_ns()};
	ls->report_pending = true;
	ls->reports_made++;
	node_probe_end(&ls->sync_probe, index, &ls->sync_hist);
	if (ls->log != NULL) { /* NULL while the log recovers (not attached yet) */
		log_stage_publish_figures(ls);
	}
}

static void log_stage_push_report(struct node_log_stage *ls)
{
	if (!ls->report_pending) {
		return;
	}
	if (dp_ring_push_elems(&ls->link->reports, &ls->report, 1) == 1) {
		ls->report_pending = false;
		return;
	}
	/* Full: control rings this lcore's doorbell when it takes reports
	 * (the flag, then a second try, against control's pop-then-look). */
	__atomic_store_n(&ls->link->reports_blocked, 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (dp_ring_push_elems(&ls->link->reports, &ls->report, 1) == 1) {
		ls->report_pending = false;
		__atomic_store_n(&ls->link->reports_blocked, 0, __ATOMIC_RELAXED);
	}
}

/* store_append, waiting out back-pressure. */
static int log_stage_store_batch(struct node_log_stage *ls, const struct store_entry *e,
				 uint32_t count)
{
	int rc;
	while ((rc = store_append(ls->log, e, count)) == -STORE_E_BUSY) {
		rc = store_poll(ls->log, true); /* back-pressure: wait for the disk */
		if (rc < 0) {
			return rc;
		}
	}
	return rc;
}

/* Appends e[0..count): how many the log took (fewer when it has no room
 * for a new segment: the rest are for the caller to hold), or an error. */
static int64_t log_stage_store(struct node_log_stage *ls, const struct store_entry *e,
			       uint32_t count)
{
	int rc = log_stage_store_batch(ls, e, count);
	if (rc == 0) {
		node_probe_start(&ls->sync_probe, e[count - 1].index); /* one group timed at a time */
	}
	if (rc != -STORE_E_NO_SPACE) {
		return rc == 0 ? (int64_t)count : rc;
	}
	/* The batch as a whole needs a segment: what fits the active one
	 * goes in, one entry at a time (rare: only out of space). */
	uint32_t taken = 0;
	while (count > 1 && taken < count &&
	       (rc = log_stage_store_batch(ls, &e[taken], 1)) == 0) {
		taken++;
	}
	return rc == 0 || rc == -STORE_E_NO_SPACE ? (int64_t)taken : rc;
}

/* Keeps e[0..count) for later, behind what is held already. */
static void log_stage_hold(struct node_log_stage *ls, const struct store_entry *e,
			   uint32_t count)
{
	RN_ASSERT(ls->held_count == 0 ||
		  ls->held[ls->held_count - 1].index + 1 == e[0].index);
	if (ls->held_count + count > ls->held_max) {
		/* Only while the node stops (poll stops taking ops before): the
		 * rest was never durable nor acknowledged. */
		RN_ASSERT(ls->draining);
		count = ls->held_max - ls->held_count;
	}
	memcpy(&ls->held[ls->held_count], e, count * sizeof(*e));
	ls->held_count += count;
	ls->space_retry_ns = node_now_ns() + NODE_LOG_SPACE_RETRY_NS;
	log_stage_publish_figures(ls);
}

static void log_stage_flush_appends(struct node_log_stage *ls)
{
	RN_ASSERT(ls->batch_count <= NODE_LOG_BATCH_MAX);
	if (ls->batch_count == 0) {
		return;
	}
	/* One store_append takes consecutive entries only (log_stage_op). */
	RN_ASSERT(ls->batch[ls->batch_count - 1].index ==
		  ls->batch[0].index + ls->batch_count - 1);
	int64_t taken = 0;
	if (log_stage_failed(ls)) {
		taken = ls->batch_count;
	} else if (ls->held_count == 0) {
		taken = log_stage_store(ls, ls->batch, ls->batch_count);
	}
	if (taken >= 0 && (uint32_t)taken < ls->batch_count) {
		log_stage_hold(ls, &ls->batch[taken], ls->batch_count - (uint32_t)taken);
	}
	ls->batch_count = 0;
	if (taken < 0) {
		log_stage_fail(ls, "log append", (int)taken);
	}
}

/* Held appends: every NODE_LOG_SPACE_RETRY_NS (and while the log is short
 * of space even with none held) the free space is looked at again and the
 * log takes what it can. Work done, as for poll. */
static uint32_t log_stage_retry_held(struct node_log_stage *ls)
{
	if ((ls->held_count == 0 && !ls->space_short) || log_stage_failed(ls)) {
		return 0;
	}
	uint64_t now_ns = node_now_ns();
	if (now_ns < ls->space_retry_ns) {
		return 0;
	}
	ls->space_retry_ns = now_ns + NODE_LOG_SPACE_RETRY_NS;
	(void)store_space_retry(ls->log); /* still short: the appends say so again */
	uint32_t done = 0;
	while (done < ls->held_count) {
		uint32_t n = (uint32_t)rn_min_u64(ls->held_count - done, NODE_LOG_BATCH_MAX);
		int64_t taken = log_stage_store(ls, &ls->held[done], n);
		if (taken < 0) {
			log_stage_fail(ls, "log append", (int)taken);
			return 1;
		}
		done += (uint32_t)taken;
		if ((uint32_t)taken < n) {
			break;
		}
	}
	if (done > 0) {
		memmove(ls->held, &ls->held[done], (ls->held_count - done) * sizeof(ls->held[0]));
		ls->held_count -= done;
	}
	log_stage_publish_figures(ls);
	return done > 0;
}

/* A truncation from `from` drops the held entries it cuts. */
static void log_stage_held_cut(struct node_log_stage *ls, raft_index from)
{
	if (ls->held_count > 0 && ls->held[0].index + ls->held_count > from) {
		raft_index first = ls->held[0].index;
		ls->held_count = from > first ? (uint32_t)(from - first) : 0;
	}
}

static void log_stage_call(struct node_log_stage *ls, struct node_log_call *c)
{
	int rc = -STORE_E_FAILED;
	RN_ASSERT(!ls->draining); /* a draining stage refuses calls */
	RN_ASSERT(ls->batch_count == 0); /* the appends before it went first */
	if (log_stage_failed(ls)) {
		c->rc = rc;
		return;
	}
	switch (c->kind) {
	case NODE_LOG_CALL_HARD_STATE:
		rc = store_save_hard_state(ls->log, &c->hard_state);
		if (rc != 0) {
			log_stage_fail(ls, "hard state write", rc);
		}
		break;
	case NODE_LOG_CALL_TRUNCATE:
		RN_ASSERT(c->index > 0);
		log_stage_held_cut(ls, c->index);
		rc = store_truncate_suffix(ls->log, c->index);
		if (rc != 0) {
			log_stage_fail(ls, "log truncation", rc);
		} else {
			/* A report still in the ring may name a cut entry (the
			 * core ignores it: its term no longer matches); say at
			 * once what is durable now, so control need not wait for
			 * the next write to hear it. */
			raft_index durable = store_durable_index(ls->log);
			node_log_stage_on_durable(ls, durable,
						  durable > 0 ? store_term_at(ls->log, durable) : 0);
		}
		break;
	case NODE_LOG_CALL_RESET:
		/* A snapshot installed (its file durable first): the log holds
		 * no entry and continues after it; held appends are older. */
		RN_ASSERT(c->index > 0);
		ls->held_count = 0;
		rc = store_reset(ls->log, c->index, c->hard_state.term);
		if (rc != 0) {
			log_stage_fail(ls, "log reset (snapshot install)", rc);
		} else if (ls->snap != NULL) {
			ls->compact_seen = rn_max_u64(ls->compact_seen, c->index);
			__atomic_store_n(&ls->snap->compacted_index, c->index, __ATOMIC_RELEASE);
		}
		break;
	default:
		RN_ASSERT(!"unknown log call");
	}
	c->rc = rc;
}

/* One op, in ring order. */
static uint32_t log_stage_op(struct node_log_stage *ls, const struct node_log_op *op)
{
	switch (op->kind) {
	case NODE_LOG_OP_APPEND:
		RN_ASSERT(op->index > 0);
		RN_ASSERT(op->ptr != NULL || op->payload_bytes == 0);
		if (ls->batch_count == NODE_LOG_BATCH_MAX ||
		    (ls->batch_count > 0 && ls->batch[ls->batch_count - 1].index + 1 != op->index)) {
			log_stage_flush_appends(ls);
		}
		ls->batch[ls->batch_count++] = (struct store_entry){
			.index = op->index, .term = op->term, .type = op->type,
			.payload = op->ptr, .payload_bytes = op->payload_bytes};
		RN_ASSERT(ls->batch_count <= NODE_LOG_BATCH_MAX);
		return 1;
	case NODE_LOG_OP_HINT: {
		log_stage_flush_appends(ls);
		int rc = log_stage_failed(ls) ? 0 : store_save_commit_hint(ls->log, op->index);
		if (rc != 0) {
			log_stage_fail(ls, "commit hint write", rc);
		}
		return 1;
	}
	case NODE_LOG_OP_READ:
		/* Sequence numbers only grow (reads are one at a time). */
		RN_ASSERT(op->index > __atomic_load_n(&ls->link->reads_done, __ATOMIC_RELAXED));
		node_log_stage_read(ls, op, log_stage_failed(ls)); /* log_read.c */
		return 1;
	case NODE_LOG_OP_CALL: {
		log_stage_flush_appends(ls);
		struct node_log_call *c = (struct node_log_call *)(uintptr_t)op->ptr;
		RN_ASSERT(c == &ls->link->call);
		RN_ASSERT(op->index > __atomic_load_n(&ls->link->calls_done, __ATOMIC_RELAXED));
		if (!ls->draining) {
			log_stage_call(ls, c);
		} else {
			/* Not done: control may still be waiting on it, and must
			 * not take it for durable (a vote sent on it would be
			 * forgotten at the restart). */
			c->rc = -ECANCELED;
		}
		/* Everything before the call is consumed and its result is
		 * written: release both to the waiting control stage. */
		__atomic_store_n(&ls->link->calls_done, op->index, __ATOMIC_RELEASE);
		dp_doorbell_ring(ls->link->wake_control);
		return 1;
	}
	default:
		RN_ASSERT(!"unknown log op");
		return 0;
	}
}

uint32_t node_log_stage_poll(void *ctx)
{
	struct node_log_stage *ls = ctx;
	RN_ASSERT(ls->link != NULL);
	RN_ASSERT(ls->log != NULL); /* attached before any lcore runs */
	struct node_log_op ops[NODE_LOG_BURST];
	uint32_t work = 0;
	uint32_t n;
	work += log_stage_retry_held(ls);
	/* Held appends bound what is taken (unless the node stops); the
	 * core's window bounds them first, so this never waits in practice:
	 * control is never held up behind them (a vote goes through). */
	while ((ls->draining ||
		ls->held_count + ls->batch_count + NODE_LOG_BURST <= ls->held_max) &&
	       (n = dp_ring_pop_elems(&ls->link->ops, ops, NODE_LOG_BURST)) > 0) {
		RN_ASSERT(n <= NODE_LOG_BURST);
		for (uint32_t i = 0; i < n; i++) {
			work += log_stage_op(ls, &ops[i]);
		}
		if (n < NODE_LOG_BURST) {
			break;
		}
	}
	log_stage_flush_appends(ls);
	RN_ASSERT(ls->batch_count == 0);
	if (!log_stage_failed(ls)) {
		/* Work is progress: a durable report, not every completion (a
		 * group's write and its sync complete apart, and an lcore that
		 * counted both would spin through the wait for the sync, taking
		 * the CPU from the other nodes that share it). */
		uint64_t reports = ls->reports_made;
		int rc = store_poll(ls->log, false);
		if (rc < 0) {
			log_stage_fail(ls, "log write", rc);
		}
		work += ls->reports_made != reports;
		int compacted = log_stage_failed(ls) ? 0 : node_log_stage_compact(ls);
		if (compacted < 0) {
			log_stage_fail(ls, "log compaction", compacted);
		}
		work += compacted > 0;
	}
	log_stage_push_report(ls);
	return work;
}

int node_log_stage_init(struct node_log_stage *ls, struct node_log_link *link,
			uint32_t log_entries_max)
{
	RN_ASSERT(link != NULL);
	memset(ls, 0, sizeof(*ls));
	memset(link, 0, sizeof(*link));
	ls->link = link;
	uint64_t held_max = node_log_held_max(log_entries_max);
	RN_ASSERT(held_max <= UINT32_MAX);
	ls->held_max = (uint32_t)held_max;
	ls->held = calloc(held_max, sizeof(*ls->held));
	if (ls->held == NULL) {
		return -ENOMEM;
	}
	rn_prefault(ls->held, held_max * sizeof(*ls->held));
	if (dp_ring_elem_create(&ls->link->ops, sizeof(struct node_log_op), NODE_LOG_OPS_MAX) != 0 ||
	    dp_ring_elem_create(&ls->link->reports, sizeof(struct node_log_report),
				NODE_LOG_REPORTS_MAX) != 0) {
		return -ENOMEM;
	}
	return 0;
}

void node_log_stage_attach(struct node_log_stage *ls, struct store_log *log)
{
	RN_ASSERT(log != NULL);
	RN_ASSERT(ls->link != NULL); /* initialized first */
	ls->log = log;
	store_set_on_read(log, node_log_stage_on_read, ls); /* catch-up reads (log_read.c) */
	log_stage_publish_figures(ls);
}

void node_log_stage_fini(struct node_log_stage *ls)
{
	if (ls->link == NULL) {
		return; /* never initialized */
	}
	node_log_stage_compact_fini(ls);
	free(ls->held);
	ls->held = NULL;
	dp_ring_elem_destroy(&ls->link->ops);
	dp_ring_elem_destroy(&ls->link->reports);
}

/* When the node stops, on the log stage's own lcore (the io_uring ring
 * belongs to the thread that submits): what control handed over is still
 * written (nothing of it was acknowledged; writing it loses nothing),
 * except a call control gave up on; then everything staged goes out. */
void node_log_stage_stop(void *ctx)
{
	struct node_log_stage *ls = ctx;
	if (ls->link == NULL || ls->link->ops.ring == NULL || ls->log == NULL || ls->stopped) {
		return;
	}
	ls->draining = true;
	while (dp_ring_count(&ls->link->ops) > 0) {
		node_log_stage_poll(ls);
	}
	RN_ASSERT(ls->batch_count == 0); /* nothing staged is left behind */
	if (!log_stage_failed(ls)) {
		store_flush(ls->log);
	}
	ls->stopped = true;
}


int node_log_stage_wait_fd(void *ctx)
{
	const struct node_log_stage *ls = ctx;
	RN_ASSERT(ls->log != NULL); /* attached before the lcores open their events */
	int fd = store_wait_fd(ls->log);
	return fd >= 0			      ? fd
	       : fd == STORE_WAIT_FD_POLL ? DP_WAIT_FD_POLL /* naps: said DEGRADED */
					  : DP_WAIT_FD_NONE;
}
