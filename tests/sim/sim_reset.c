/* SPDX-License-Identifier: MIT */
/*
 * sim_reset.c - an install's log reset cut short by a crash (issue 16,
 * deliverable 7): the disk the node's store_reset (storage/maint.c) leaves
 * at each of its steps, made with storage's public calls on the node's
 * simulated disk, for the install crashes of sim_snap.c. The node's
 * install (node/control/step.c, after xfer.c renamed the staged file and
 * synced the directory) calls store_reset(index, term), which:
 *
 *   1. cuts the log's entries above index (crash point reset-truncated);
 *   2. writes the state file: compaction point and commit hint index, the
 *      hard state's term at least term (reset-state). From here a restart
 *      keeps no entry of the old log: recovery continues after the point
 *      when the segments left end at or below it (storage/recover.c);
 *   3. deletes every segment, the last first, then syncs the directory
 *      (reset-segment: after the first deletion, the directory not synced;
 *      reset-done);
 *
 * then the apply stage loads the snapshot (install-load, install-loaded).
 * How each disk is made here:
 *
 *  - reset-truncated: store_truncate_suffix(index + 1), step 1 itself.
 *  - reset-state, the log reaching index: step 1, then the point written
 *    over the old segments (store_compact_detach to (index, term) taking
 *    no segment out) and the commit hint index. The old entry at index
 *    stays in its segment, whatever its term, as with store_reset. Exact.
 *  - reset-segment: every segment but the last taken out of the log with
 *    its file left on disk (store_compact_detach to the end of the last
 *    one's predecessor), then the real store_reset, whose step 3 finds
 *    only the last in its table and deletes it. Exact. A power loss (disk
 *    faults, half the time) may undo that deletion: the disk is then
 *    reset-state's. With no segment at all (the log reset before and not
 *    written since) step 3 deletes nothing: the crash is reset-state's.
 *  - reset-state, the log short of index: as reset-segment without the
 *    power loss: the last (active) segment's file goes too, since storage
 *    cannot keep the active segment out of store_reset's step 3. Recovery
 *    sees what it would: a state file above every segment left, the last
 *    one left ending below index (an append after index rolls to a new
 *    segment either way).
 *  - install-load, install-loaded: the whole store_reset.
 *
 * The mirror (dlog) then holds the committed entries up to index, as after
 * recovery's own reset (sim_disk_reset_mirror).
 */
#include <stdint.h>

#include "common.h"
#include "sim.h"
#include "storage.h"

static bool reset_failed(struct sim *s, struct sim_node *n, int rc)
{
	s->syncs_failed++;
	sim_log(s, SIM_STORY, "n%u's log fails and stops the node: %s (%s)", n->id,
		store_strerror(rc), store_errmsg(n->log));
	return false;
}

/* Takes every segment but the last out of n's log, leaving their files on
 * disk: store_reset's step 3 then deletes only the last. Everything is
 * durable (flushed). False: the log failed. */
static bool reset_detach_all_but_last(struct sim *s, struct sim_node *n)
{
	raft_index firsts[64];
	raft_term term = 0;
	raft_index point = store_compact_boundary(n->log, UINT64_MAX, &term);
	if (point <= store_compacted_index(n->log)) {
		return true; /* the last segment is the only one */
	}
	int rc;
	do {
		rc = store_compact_detach(n->log, point, term, firsts, RN_ARRAY_COUNT(firsts));
	} while (rc == (int)RN_ARRAY_COUNT(firsts));
	return rc >= 0 || reset_failed(s, n, rc);
}

/* reset-state over a log that reaches index (cut to it): the point and the
 * hint written, no segment touched. False: the log failed. */
static bool reset_state_only(struct sim *s, struct sim_node *n, raft_index index, raft_term term)
{
	raft_term old = store_term_at(n->log, index);
	if (old != term) {
		sim_log(s, SIM_STORY,
			"n%u's log keeps its entry %llu of term %llu under the point %llu/t%llu", n->id,
			(unsigned long long)index, (unsigned long long)old, (unsigned long long)index,
			(unsigned long long)term);
	}
	struct raft_hard_state hs;
	store_hard_state(n->log, &hs);
	int rc = 0;
	if (hs.term < term) {
		hs = (struct raft_hard_state){.term = term};
		rc = store_save_hard_state(n->log, &hs);
	}
	raft_index none[1];
	if (rc == 0) {
		rc = store_compact_detach(n->log, index, term, none, 0);
		rc = rc > 0 ? 0 : rc;
	}
	if (rc == 0) {
		rc = store_save_commit_hint(n->log, index);
	}
	if (rc == 0 && (store_compacted_index(n->log) != index ||
			store_commit_hint(n->log) != index)) {
		rc = -STORE_E_RANGE; /* a storage that changed under the model */
	}
	return rc == 0 || reset_failed(s, n, rc);
}

enum sim_step sim_reset_crash_at(struct sim *s, struct sim_node *n, raft_index index,
				 raft_term term, enum sim_step k)
{
	RN_ASSERT(k >= SIM_STEP_RESET_TRUNCATED && k <= SIM_STEP_INSTALL_LOADED);
	RN_ASSERT(index > n->compacted_index && index <= s->committed_count);
	int rc;
	sim_disk_clock(s, n);
	/* Step 1: above index, nothing is committed (a follower installs only
	 * beyond its commit index): no longer promised, as at a truncation. */
	if (store_last_index(n->log) > index) {
		n->wlog_count = rn_min_u64(n->wlog_count, index);
		n->dlog_count = rn_min_u64(n->dlog_count, index);
		rc = store_truncate_suffix(n->log, index + 1);
		if (rc != 0) {
			reset_failed(s, n, rc);
			return SIM_STEPS_COUNT;
		}
	}
	if (k == SIM_STEP_RESET_TRUNCATED) {
		return k;
	}
	/* From here a state write that fails may still reach the disk. */
	n->reset_maybe_index = index;
	if (!sim_disk_flush(s, n)) {
		return SIM_STEPS_COUNT;
	}
	struct store_stats st;
	store_stats(n->log, &st);
	if (k == SIM_STEP_RESET_SEGMENT && st.segments_count == 0) {
		k = SIM_STEP_RESET_STATE; /* step 3 had nothing to delete */
	}
	bool ok;
	if ((k == SIM_STEP_RESET_STATE ||
	     (k == SIM_STEP_RESET_SEGMENT && sim_steps_power_loss(s))) &&
	    store_last_index(n->log) >= index) {
		ok = reset_state_only(s, n, index, term);
	} else {
		ok = k >= SIM_STEP_INSTALL_LOAD || reset_detach_all_but_last(s, n);
		rc = ok ? store_reset(n->log, index, term) : 0;
		ok = ok && (rc == 0 || reset_failed(s, n, rc));
	}
	if (!ok) {
		return SIM_STEPS_COUNT;
	}
	sim_disk_reset_mirror(s, n, index);
	return k;
}
