/* SPDX-License-Identifier: MIT */
/*
 * sim_steps.c - crashes at the steps of a snapshot write, a compaction and
 * an install, and recovery's side of them (issue 16, deliverable 7: the
 * simulated disk's crashes and torn writes there).
 *
 * The node takes these operations in steps (README "Snapshots", storage.h's
 * crash points): a snapshot is a temporary file written, fsynced, renamed,
 * the directory fsynced, the older ones deleted, and only then told to the
 * core and the log compacted below it; a compaction makes its point durable
 * in the state file, deletes the segments below it, fsyncs the directory; an
 * install renames the staged file into place (dir-synced), resets the log
 * (suffix cut, then written), loads the state machine, reports it. In
 * raftsim each operation still runs at one simulated instant (what it
 * leaves on disk at each step does not depend on how long the step took),
 * but with step crashes on (per seed, sim_params.step_crash_per_mille) an
 * operation may instead crash the node at one of its steps, leaving the
 * disk as the node would have left it there:
 *
 *  - a snapshot's temporary file (partial: a torn write; or whole) is
 *    deleted by recovery: the older snapshot stays the newest;
 *  - a rename not yet dir-synced survives a process crash; with `disk`
 *    faults (a power loss) it is undone half the time, and the older
 *    snapshot is the newest again;
 *  - a renamed snapshot is never torn: both writers fsync the file before
 *    they rename it (storage/snapshot.c, store_snap_commit: snap-synced
 *    comes before snap-renamed; a follower's staged file is fsynced by
 *    snapxfer/thread.c before it reports it STAGED, and node/control/xfer.c
 *    renames it only then), so a power loss after the rename leaves the
 *    whole file or the older name, nothing in between;
 *  - a compaction point is durable before any segment goes; the node's
 *    maintenance job then deletes the segments below it oldest first and
 *    syncs the directory: a crash at compact-segment leaves the first j of
 *    n deleted (1 <= j < n), at compact-unlinked all of them, and a power
 *    loss brings back any subset of those deletions (not dir-synced);
 *    store_open deletes whatever is left below the point. The real
 *    segments of the node's log go, through storage's calls
 *    (steps_compact_partly). Compactions that delete two segments or more
 *    are rare here, so they crash twenty times as often;
 *  - an install's renamed snapshot is durable before the log is reset;
 *    the reset is the node's store_reset cut short at its steps
 *    (reset-truncated: the entries above the snapshot cut; reset-state:
 *    the state file names the snapshot's point, the old segments still
 *    there; reset-segment: the last of them deleted; install-load and
 *    install-loaded: reset whole; sim_reset.c makes each disk). Recovery
 *    then continues the log after the point or finishes the install
 *    (recover_snap.c: a snapshot the log does not reach, or whose entry
 *    the log holds with another term, resets the log, store_reset).
 *
 * The log's own writes are lost or torn at these crashes as at any other
 * (store_sim_crash). Recovery then does what the node's does: the newest
 * snapshot left, a log that must continue it, the interrupted install
 * finished. A log compacted above the newest snapshot left would make the
 * node refuse to start: raftsim reports it as a violation of Recovery (a
 * correct node never leaves one; the planted bug snapshot-rename-unsynced
 * does).
 *
 * Every choice here comes from a PRNG stream of its own (rng_steps): a run
 * in which no step crash fires replays byte for byte as without them, and
 * seeds with step crashes off (half of them) replay as before. The steps
 * stop with the other faults, at the heal.
 */
#include <string.h>

#include "common.h"
#include "sim.h"
#include "storage.h"

static const char *const step_names[SIM_STEPS_COUNT] = {
	[SIM_STEP_SNAP_PARTIAL] = "snap-partial",
	[SIM_STEP_SNAP_SYNCED] = "snap-synced",
	[SIM_STEP_SNAP_RENAMED] = "snap-renamed",
	[SIM_STEP_SNAP_PRUNE] = "snap-prune",
	[SIM_STEP_COMPACT_STATE] = "compact-state",
	[SIM_STEP_COMPACT_SEGMENT] = "compact-segment",
	[SIM_STEP_COMPACT_UNLINKED] = "compact-unlinked",
	[SIM_STEP_COMPACT_DONE] = "compact-done",
	[SIM_STEP_INSTALL_STAGED] = "install-staged",
	[SIM_STEP_INSTALL_RENAMED] = "install-renamed",
	[SIM_STEP_RESET_TRUNCATED] = "reset-truncated",
	[SIM_STEP_RESET_STATE] = "reset-state",
	[SIM_STEP_RESET_SEGMENT] = "reset-segment",
	[SIM_STEP_INSTALL_LOAD] = "install-load",
	[SIM_STEP_INSTALL_LOADED] = "install-loaded",
};

const char *sim_step_name(enum sim_step step)
{
	return step < SIM_STEPS_COUNT ? step_names[step] : "none";
}

static uint64_t steps_rand(struct sim *s)
{
	return rn_splitmix64(&s->rng_steps);
}

/* sim_steps_plan with the chance multiplied by `boost` (capped at 1000). */
static enum sim_step steps_plan_boosted(struct sim *s, const struct sim_node *n,
					enum sim_step first, uint32_t count, uint32_t boost)
{
	RN_ASSERT(count > 0 && (uint32_t)first + count <= SIM_STEPS_COUNT);
	if (s->p.step_forced != 0) {
		/* --step-crash: every operation of the step's kind, no draw. */
		uint32_t f = s->p.step_forced - 1;
		bool hit = f >= (uint32_t)first && f < (uint32_t)first + count;
		return hit && !s->steps_off && !s->violated && n->up ? (enum sim_step)f
								     : SIM_STEPS_COUNT;
	}
	if (s->p.step_crash_per_mille == 0 || s->steps_off || s->violated || !n->up) {
		return SIM_STEPS_COUNT;
	}
	uint32_t per_mille = (uint32_t)rn_min_u64(1000, (uint64_t)boost * s->p.step_crash_per_mille);
	if (steps_rand(s) % 1000 >= per_mille) {
		return SIM_STEPS_COUNT;
	}
	return (enum sim_step)((uint32_t)first + (uint32_t)(steps_rand(s) % count));
}

enum sim_step sim_steps_plan(struct sim *s, const struct sim_node *n, enum sim_step first,
			     uint32_t count)
{
	/* Installs are rare (a follower far behind): five times the chance,
	 * so that 2,000 seeds crash at each of their steps many times. */
	return steps_plan_boosted(s, n, first, count, first == SIM_STEPS_INSTALL_FIRST ? 5 : 1);
}

bool sim_steps_power_loss(struct sim *s)
{
	/* A process crash leaves a rename or an unlink in the kernel's
	 * dentry cache: only a power loss (disk faults) can undo one that was
	 * not dir-synced. */
	return (s->p.faults & SIM_FAULT_DISK) && steps_rand(s) % 2 == 0;
}

bool sim_steps_rename_lost(struct sim *s)
{
	return sim_steps_power_loss(s);
}

void sim_steps_crash(struct sim *s, struct sim_node *n, enum sim_step step)
{
	RN_ASSERT(step < SIM_STEPS_COUNT);
	if (!n->up) {
		return;
	}
	s->step_crashes[step]++;
	sim_log(s, SIM_STORY, "fault: n%u crashes at step %s", n->id, sim_step_name(step));
	sim_crash(s, n->id);
	/* A supervisor restarts it, as after the driver's crashes. */
	sim_restart_at(s, n->id, s->now_us + 10000 + steps_rand(s) % 490001);
}

#define STEPS_SEGMENTS_MAX 256u

/* The segments a compaction to `index` deletes (wholly at or below it,
 * never the active one), oldest first: each one's last index and its term.
 * Past STEPS_SEGMENTS_MAX, the oldest go with the first listed. */
static uint32_t steps_segments_below(struct store_log *log, raft_index index, raft_index *ends,
				     raft_term *terms)
{
	raft_index floor = store_compacted_index(log);
	raft_index at = index;
	uint32_t count = 0;
	raft_term t;
	raft_index b;
	while (count < STEPS_SEGMENTS_MAX && at > floor &&
	       (b = store_compact_boundary(log, at, &t)) > floor) {
		ends[count] = b;
		terms[count] = t;
		count++;
		at = b - 1;
	}
	for (uint32_t i = 0; i < count / 2; i++) {
		raft_index e = ends[i];
		raft_term u = terms[i];
		ends[i] = ends[count - 1 - i];
		terms[i] = terms[count - 1 - i];
		ends[count - 1 - i] = e;
		terms[count - 1 - i] = u;
	}
	return count;
}

/* The disk of a compaction to (index, term) whose deletions reached only
 * the segments marked in gone[]: the point durable, every segment below it
 * out of the log, the files of those marked deleted, the others left for
 * recovery to delete. Made with storage's calls, oldest first: a segment
 * to go by store_compact to its end (it is then the only one there), one
 * to stay by store_compact_detach (out of the log, its file kept), then
 * the point itself. 0 or a store error. */
static int steps_compact_partly(struct store_log *log, raft_index index, raft_term term,
				const raft_index *ends, const raft_term *terms, const bool *gone,
				uint32_t count)
{
	raft_index firsts[64];
	int rc = 0;
	for (uint32_t i = 0; i < count && rc >= 0; i++) {
		rc = gone[i] ? store_compact(log, ends[i], terms[i])
			     : store_compact_detach(log, ends[i], terms[i], firsts,
						    RN_ARRAY_COUNT(firsts));
	}
	while (rc == (int)RN_ARRAY_COUNT(firsts)) {
		rc = store_compact_detach(log, ends[count - 1], terms[count - 1], firsts,
					  RN_ARRAY_COUNT(firsts));
	}
	if (rc >= 0) {
		rc = store_compact_detach(log, index, term, firsts, RN_ARRAY_COUNT(firsts));
	}
	return rc < 0 ? rc : 0;
}

int sim_steps_compact(struct sim *s, struct sim_node *n, raft_index index)
{
	raft_index ends[STEPS_SEGMENTS_MAX];
	raft_term terms[STEPS_SEGMENTS_MAX];
	uint32_t count = steps_segments_below(n->log, index, ends, terms);
	/* A compaction that deletes two segments or more is rare here (a
	 * segment holds ~400 entries, most snapshots come sooner): twenty
	 * times the chance, so that 2,000 seeds crash between two deletions
	 * many times. */
	enum sim_step k = steps_plan_boosted(s, n, SIM_STEPS_COMPACT_FIRST, 4, count >= 2 ? 20 : 1);
	if (k == SIM_STEPS_COUNT) {
		return sim_disk_compact(s, n, index) ? 1 : 0;
	}
	RN_ASSERT(index <= n->dlog_count && index <= n->snap.index);
	raft_term term = n->dlog[index - 1].term;
	bool gone[STEPS_SEGMENTS_MAX] = {false};
	int rc;
	sim_disk_clock(s, n);
	/* The node's maintenance job (node/log/log_maint.c) deletes them
	 * oldest first, then syncs the directory: compact-segment falls after
	 * the first deletion and, here, before the last (with one segment that
	 * is compact-unlinked's disk; with none the job never runs: the disk is
	 * compact-state's). A power loss undoes each deletion not dir-synced,
	 * or not (any subset of them comes back). */
	if (k == SIM_STEP_COMPACT_SEGMENT && count < 2) {
		k = count == 0 ? SIM_STEP_COMPACT_STATE : SIM_STEP_COMPACT_UNLINKED;
	}
	if (k == SIM_STEP_COMPACT_UNLINKED && count == 0) {
		k = SIM_STEP_COMPACT_STATE;
	}
	if (k == SIM_STEP_COMPACT_DONE) {
		rc = store_compact(n->log, index, term); /* compacted, the core not told */
	} else {
		uint32_t deleted = k == SIM_STEP_COMPACT_SEGMENT ? 1 + (uint32_t)(steps_rand(s) %
									(count - 1))
				   : k == SIM_STEP_COMPACT_UNLINKED ? count
								    : 0;
		bool power = deleted > 0 && sim_steps_power_loss(s);
		uint32_t back = 0;
		for (uint32_t i = 0; i < deleted; i++) {
			gone[i] = !power || steps_rand(s) % 2 == 0;
			back += !gone[i];
		}
		if (count > 0) {
			sim_log(s, SIM_STORY,
				"n%u's compaction to %llu: %u of its %u segments below deleted, %u "
				"of them brought back by a power loss",
				n->id, (unsigned long long)index, deleted, count, back);
		}
		rc = steps_compact_partly(n->log, index, term, ends, terms, gone, count);
	}
	if (rc < 0) {
		s->syncs_failed++;
		sim_log(s, SIM_STORY, "n%u's log fails and stops the node: %s (%s)", n->id,
			store_strerror(rc), store_errmsg(n->log));
		return 0;
	}
	sim_steps_crash(s, n, k);
	return -1;
}

bool sim_steps_recover(struct sim *s, struct sim_node *n)
{
	/* The node's recovery refuses a log that does not continue its newest
	 * snapshot: the entries in between exist nowhere else. */
	if (n->compacted_index > n->snap.index) {
		check_violation(s, "Recovery",
				"n%u would refuse to start: its log is compacted up to %llu but the "
				"newest snapshot left on its disk is at %llu",
				n->id, (unsigned long long)n->compacted_index,
				(unsigned long long)n->snap.index);
		return false;
	}
	/* As recover_snap.c: the term of the snapshot's entry as the log
	 * reads it (at the compaction point, the point's term). */
	raft_index i = n->snap.index;
	raft_index last = store_last_index(n->log);
	raft_term t = i != 0 && i <= last ? store_term_at(n->log, i) : 0;
	if (i == 0 || (i <= last && t == n->snap.term)) {
		return true; /* the usual case: the log holds the snapshot's entry */
	}
	if (i <= last && t == 0) {
		check_violation(s, "Recovery",
				"n%u would refuse to start: its log's entry %llu (the snapshot's) "
				"cannot be read (%s)",
				n->id, (unsigned long long)i, store_errmsg(n->log));
		return false;
	}
	/* An install a crash interrupted: its snapshot is durable, the log
	 * not (wholly) reset to it. */
	sim_log(s, SIM_STORY,
		"n%u finishes an interrupted install: its log (to %llu) does not hold the "
		"snapshot's entry %llu/t%llu, it is reset to continue after it",
		n->id, (unsigned long long)n->wlog_count, (unsigned long long)i,
		(unsigned long long)n->snap.term);
	if (!sim_disk_reset_log(s, n, i, n->snap.term)) {
		sim_disk_crash(n);
		sim_restart_at(s, n->id, s->now_us + 100000);
		return false;
	}
	s->installs_finished++;
	return true;
}
