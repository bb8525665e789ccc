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
 *  - a compaction point is durable before any segment goes: the segments
 *    still there below it (none, some or all deleted; deletions not
 *    dir-synced may come back after a power loss) are deleted again by
 *    store_open;
 *  - an install's renamed snapshot is durable before the log is reset:
 *    recovery finishes the install (the node's recover_snap.c: a snapshot
 *    the log does not reach, or whose entry the log holds with another
 *    term, resets the log to continue after it, store_reset).
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

enum sim_step sim_steps_plan(struct sim *s, const struct sim_node *n, enum sim_step first,
			     uint32_t count)
{
	RN_ASSERT(count > 0 && (uint32_t)first + count <= SIM_STEPS_COUNT);
	if (s->p.step_crash_per_mille == 0 || s->steps_off || s->violated || !n->up) {
		return SIM_STEPS_COUNT;
	}
	/* Installs are rare (a follower far behind): five times the chance,
	 * so that 2,000 seeds crash at each of their steps many times. */
	uint32_t per_mille = s->p.step_crash_per_mille;
	if (first == SIM_STEPS_INSTALL_FIRST) {
		per_mille = (uint32_t)rn_min_u64(1000, 5ull * per_mille);
	}
	if (steps_rand(s) % 1000 >= per_mille) {
		return SIM_STEPS_COUNT;
	}
	return (enum sim_step)((uint32_t)first + (uint32_t)(steps_rand(s) % count));
}

bool sim_steps_rename_lost(struct sim *s)
{
	/* A process crash leaves a rename in the kernel's dentry cache: only a
	 * power loss (disk faults) can undo one that was not dir-synced. */
	return (s->p.faults & SIM_FAULT_DISK) && steps_rand(s) % 2 == 0;
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

int sim_steps_compact(struct sim *s, struct sim_node *n, raft_index index)
{
	enum sim_step k = sim_steps_plan(s, n, SIM_STEPS_COMPACT_FIRST, 4);
	if (k == SIM_STEPS_COUNT) {
		return sim_disk_compact(s, n, index) ? 1 : 0;
	}
	RN_ASSERT(index <= n->dlog_count && index <= n->snap.index);
	raft_term term = n->dlog[index - 1].term;
	raft_index firsts[64];
	int rc = 0;
	sim_disk_clock(s, n);
	switch (k) {
	case SIM_STEP_COMPACT_STATE:
		/* The point durable, the segments out of the log, none deleted. */
		rc = store_compact_detach(n->log, index, term, firsts, RN_ARRAY_COUNT(firsts));
		break;
	case SIM_STEP_COMPACT_SEGMENT:
		/* The first segment below the point left, the others deleted
		 * (a bounded detach, then the rest: every subset is a state the
		 * unlinks can leave, not dir-synced, after a power loss). */
		rc = store_compact_detach(n->log, index, term, firsts, 1);
		if (rc >= 0) {
			rc = store_compact(n->log, index, term);
		}
		break;
	case SIM_STEP_COMPACT_UNLINKED:
		/* All deleted, the directory not synced: a power loss may bring
		 * the files back (they are then as at compact-state). */
		if (sim_steps_rename_lost(s)) {
			rc = store_compact_detach(n->log, index, term, firsts,
						  RN_ARRAY_COUNT(firsts));
		} else {
			rc = store_compact(n->log, index, term);
		}
		break;
	default: /* SIM_STEP_COMPACT_DONE: compacted, the core not told */
		rc = store_compact(n->log, index, term);
		break;
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
	raft_index i = n->snap.index;
	if (i == 0 || (i <= n->wlog_count && n->dlog[i - 1].term == n->snap.term)) {
		return true; /* the usual case: the log holds the snapshot's entry */
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
