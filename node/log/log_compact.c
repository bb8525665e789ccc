/* SPDX-License-Identifier: MIT */
/*
 * log_compact.c - the log stage compacts its log behind the snapshots the
 * apply stage's writer makes durable (snap_link.h). stage: log.
 *
 * Once a snapshot at S is durable, entries up to S - [storage]
 * compact_margin_entries go (whole segments, store_compact), the margin
 * kept for followers that read from this log. Never an entry above the
 * applied index (so never one above the commit index): asserted.
 */
#include "common.h"
#include "log_stage.h"

/* After a snapshot at S is durable: the log up to S - margin goes (whole
 * segments of it, store_compact). Synchronous (a state-file write and
 * sync, unlinks, a directory sync), once per snapshot. */
int node_log_stage_compact(struct node_log_stage *ls)
{
	if (ls->snap == NULL || ls->draining) {
		return 0;
	}
	raft_index s = __atomic_load_n(&ls->snap->durable_index, __ATOMIC_ACQUIRE);
	if (s <= ls->compact_seen) {
		return 0;
	}
	ls->compact_seen = s;
	raft_index applied = __atomic_load_n(ls->applied_published, __ATOMIC_ACQUIRE);
	/* The snapshot was taken at an applied (so committed) index. */
	RN_ASSERT(s <= applied);
	raft_index up_to = s > ls->compact_margin_entries ? s - ls->compact_margin_entries : 0;
	/* store_compact takes only durable entries; the rest waits for the
	 * next snapshot. */
	up_to = rn_min_u64(up_to, store_durable_index(ls->log));
	if (up_to <= store_compacted_index(ls->log)) {
		return 0;
	}
	/* Never an entry above the commit index or not yet applied. */
	RN_ASSERT(up_to <= s);
	RN_ASSERT(up_to <= applied);
	int rc = store_compact(ls->log, up_to, store_term_at(ls->log, up_to));
	if (rc != 0) {
		return rc; /* the caller fail-stops the log */
	}
	/* Release: control, which reads it first, then sees the snapshot
	 * that covers it (RAFT_EVENT_COMPACTED after RAFT_EVENT_SNAPSHOT). */
	__atomic_store_n(&ls->snap->compacted_index, up_to, __ATOMIC_RELEASE);
	__atomic_add_fetch(&ls->snap->compactions_count, 1, __ATOMIC_RELAXED);
	return 1;
}

void node_log_stage_compact_after(struct node_log_stage *ls, struct node_snap_link *snap,
				  const raft_index *applied_published, uint64_t margin_entries)
{
	RN_ASSERT(snap != NULL);
	RN_ASSERT(applied_published != NULL);
	ls->snap = snap;
	ls->applied_published = applied_published;
	ls->compact_margin_entries = margin_entries;
	/* The snapshot loaded at start is compacted for at the first poll:
	 * a crash may have come between its rename and its compaction. */
	ls->compact_seen = 0;
}

