/* SPDX-License-Identifier: MIT */
/*
 * log_compact.c - the log stage compacts its log behind the snapshots the
 * apply stage's writer makes durable (snap_link.h). stage: log.
 *
 * Once a snapshot at S is durable, entries up to S - [storage]
 * compact_margin_entries go (whole segments), the margin kept for
 * followers that read from this log. Never an entry above the applied
 * index (so never one above the commit index): asserted.
 *
 * Here, in order with the appends: the new compaction point written and
 * synced to the state file, the segments closed and taken out of the log
 * (store_compact_detach), the point published (RAFT_EVENT_COMPACTED may
 * come once the point is durable, before the files go: the SNAPSHOT
 * CONTRACT, consensus.h). The files' deletion and the directory sync go
 * to the maintenance thread (log_maint.c): inline they stalled the
 * appends behind them. The next compaction waits for that job to end.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "common.h"
#include "log_stage.h"

/* One more time in us into a (max, sum) pair the status reads. */
static void compact_figure(uint64_t *max, uint64_t *sum, uint64_t us)
{
	if (us > __atomic_load_n(max, __ATOMIC_RELAXED)) {
		__atomic_store_n(max, us, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(sum, us, __ATOMIC_RELAXED);
}

/* The point the newest durable snapshot allows, 0 when it is not past
 * the log's own (or only leftovers of a bounded job remain). */
static raft_index compact_point(struct node_log_stage *ls)
{
	raft_index s = __atomic_load_n(&ls->snap->durable_index, __ATOMIC_ACQUIRE);
	if (s <= ls->compact_seen && !ls->compact_more) {
		return 0;
	}
	ls->compact_seen = rn_max_u64(ls->compact_seen, s);
	raft_index applied = __atomic_load_n(ls->applied_published, __ATOMIC_ACQUIRE);
	/* The snapshot was taken at an applied (so committed) index. */
	RN_ASSERT(s <= applied);
	raft_index up_to = s > ls->compact_margin_entries ? s - ls->compact_margin_entries : 0;
	/* Only durable entries are compacted; the rest waits for the next
	 * snapshot. */
	up_to = rn_min_u64(up_to, store_durable_index(ls->log));
	if (up_to <= store_compacted_index(ls->log) && !ls->compact_more) {
		return 0;
	}
	/* Never an entry above the commit index or not yet applied. */
	RN_ASSERT(up_to <= s);
	RN_ASSERT(up_to <= applied);
	return rn_max_u64(up_to, 1);
}

int node_log_stage_compact(struct node_log_stage *ls)
{
	if (ls->snap == NULL || ls->draining) {
		return 0;
	}
	char why[400];
	int busy = node_log_maint_poll(ls->maint, why, sizeof(why));
	if (busy < 0) {
		fprintf(stderr, "raftnode %u: deleting compacted segments: %s\n", ls->maint->self,
			why);
		return busy; /* the caller fail-stops the log */
	}
	if (busy > 0) {
		return 0; /* one job at a time: the next compaction waits */
	}
	if (ls->maint->jobs_count > ls->maint_jobs_seen) {
		/* A job ended: its time, for the status. */
		ls->maint_jobs_seen = ls->maint->jobs_count;
		compact_figure(&ls->snap->compact_files_us_max, &ls->snap->compact_files_us_sum,
			       __atomic_load_n(&ls->maint->last_job_us, __ATOMIC_RELAXED));
		__atomic_add_fetch(&ls->snap->compact_files_jobs, 1, __ATOMIC_RELAXED);
	}
	raft_index up_to = compact_point(ls);
	if (up_to == 0) {
		return 0;
	}
	raft_index before = store_compacted_index(ls->log);
	uint64_t t0_ns = node_now_ns();
	/* The point at a segment's end: only whole segments go anyway, and
	 * its term is known without a read of the log on this lcore (an
	 * O_DIRECT log's records are not in the page cache: a read there
	 * took a disk round trip, most of the compaction's time here). The
	 * entries between it and up_to stay readable until the next one. */
	raft_term term = 0;
	raft_index point = store_compact_boundary(ls->log, up_to, &term);
	if (point <= before && !ls->compact_more) {
		return 0;
	}
	int n = store_compact_detach(ls->log, point, term, node_log_maint_slots(ls->maint),
				     NODE_LOG_MAINT_SEGMENTS_MAX);
	if (n < 0) {
		return n; /* the caller fail-stops the log */
	}
	compact_figure(&ls->snap->compact_lcore_us_max, &ls->snap->compact_lcore_us_sum,
		       (node_now_ns() - t0_ns) / 1000);
	__atomic_add_fetch(&ls->snap->compact_lcore_count, 1, __ATOMIC_RELAXED);
	ls->compact_more = n == (int)NODE_LOG_MAINT_SEGMENTS_MAX;
	if (n > 0) {
		node_log_maint_hand(ls->maint, (uint32_t)n);
	}
	point = store_compacted_index(ls->log);
	if (point == before) {
		return n > 0;
	}
	/* Release: control, which reads it first, then sees the snapshot
	 * that covers it (RAFT_EVENT_COMPACTED after RAFT_EVENT_SNAPSHOT). */
	__atomic_store_n(&ls->snap->compacted_index, point, __ATOMIC_RELEASE);
	__atomic_add_fetch(&ls->snap->compactions_count, 1, __ATOMIC_RELAXED);
	return 1;
}

int node_log_stage_compact_after(struct node_log_stage *ls, struct node_snap_link *snap,
				 const raft_index *applied_published, uint64_t margin_entries,
				 const char *dir, raft_node_id self)
{
	RN_ASSERT(snap != NULL);
	RN_ASSERT(applied_published != NULL);
	ls->maint = calloc(1, sizeof(*ls->maint));
	int rc = ls->maint == NULL ? -ENOMEM : node_log_maint_start(ls->maint, dir, self);
	if (rc != 0) {
		fprintf(stderr, "raftnode %u: the log's maintenance thread: %s\n", self,
			strerror(-rc));
		free(ls->maint);
		ls->maint = NULL;
		return rc;
	}
	ls->snap = snap;
	ls->applied_published = applied_published;
	ls->compact_margin_entries = margin_entries;
	/* The snapshot loaded at start is compacted for at the first poll:
	 * a crash may have come between its rename and its compaction. */
	ls->compact_seen = 0;
	return 0;
}

void node_log_stage_compact_fini(struct node_log_stage *ls)
{
	if (ls->maint == NULL) {
		return;
	}
	node_log_maint_stop(ls->maint);
	const struct node_snap_link *l = ls->snap;
	uint64_t jobs = l->compact_files_jobs, lcore = l->compact_lcore_count;
	fprintf(stderr, "raftnode %u: compactions: %" PRIu64 ", on the log lcore %" PRIu64
		" us mean, %" PRIu64 " us max; %" PRIu64 " deletion jobs on the maintenance "
		"thread, %" PRIu64 " us mean, %" PRIu64 " us max\n", ls->maint->self, lcore,
		lcore > 0 ? l->compact_lcore_us_sum / lcore : 0, l->compact_lcore_us_max, jobs,
		jobs > 0 ? l->compact_files_us_sum / jobs : 0, l->compact_files_us_max);
	free(ls->maint);
	ls->maint = NULL;
	ls->snap = NULL;
}
