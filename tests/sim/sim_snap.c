/* SPDX-License-Identifier: MIT */
/*
 * sim_snap.c - snapshots in raftsim, the caller's side of the core's
 * SNAPSHOT CONTRACT (consensus.h):
 *
 *  - each node snapshots its simulated state machine (the applied sequence,
 *    summarized by a digest) every [1, 2 * snapshot_entries] applied
 *    entries, tells its core (RAFT_EVENT_SNAPSHOT), and compacts its
 *    durable log below the snapshot with a random margin, sometimes 0
 *    (store_compact, then RAFT_EVENT_COMPACTED). A snapshot, a compaction
 *    and an install each run at one simulated instant, but with step
 *    crashes on they may crash the node at one of their steps, leaving the
 *    disk as the node's would there (sim_steps.c).
 *  - a leader's offer (RAFT_MSG_SNAPSHOT) travels as a message like any
 *    other, lost, duplicated, delayed or cut off; it carries the offered
 *    state's digest, as the file's bytes would. Its arrival stands for a
 *    completed transfer: the receiver has that snapshot staged.
 *  - an install (RAFT_UPDATE_SNAPSHOT) replaces the state machine by the
 *    staged snapshot and resets the durable log to continue after it; the
 *    install is durable after a random latency (SIM_EV_INSTALLED), and a
 *    crash before then restarts from the old snapshot and log.
 *  - a restart loads the durable snapshot, then the log tail after it
 *    (raft_create_from with a floor at or above the snapshot).
 *
 * The log reset of an install that completes: the simulator keeps the
 * log's committed prefix (up to the commit hint or the compaction point),
 * drops the rest, and writes the committed entries up to the snapshot's
 * index (from the checker's record of committed entries, which the
 * install's check just compared with the snapshot), then compacts them
 * once the install is durable. What the log holds at any crash is then a
 * committed prefix: the same states a real reset could leave, plus a
 * longer committed prefix that the restart applies again. An install that
 * crashes at one of its steps (sim_steps.c) leaves instead the disk of the
 * node's store_reset cut short there (sim_reset.c).
 */
#include <string.h>

#include "common.h"
#include "sim.h"

static void sim_snap_meta(const struct sim *s, const struct sim_snap *snap,
			  struct raft_snapshot_meta *meta)
{
	(void)s;
	*meta = (struct raft_snapshot_meta){.index = snap->index, .term = snap->term};
	meta->voters_count = snap->conf.voters_count;
	memcpy(meta->voters, snap->conf.voters, sizeof(meta->voters));
	meta->learners_count = snap->conf.learners_count;
	memcpy(meta->learners, snap->conf.learners, sizeof(meta->learners));
}

static void sim_snap_schedule_next(struct sim *s, struct sim_node *n)
{
	if (!s->p.snapshots) {
		return; /* no draw: runs without snapshots replay as before */
	}
	n->snap_next_at = n->applied_index + sim_rand_range(s, 1, 2u * s->p.snapshot_entries);
}

/* Compacts the durable log below `upto` (minus a random margin) and tells
 * the core. False: the log failed (the node must stop); true also when it
 * crashed at a step of the compaction (the node is down). */
static bool sim_snap_compact(struct sim *s, struct sim_node *n, raft_index upto)
{
	uint64_t margin = sim_chance(s, 333) ? 0 : sim_rand_range(s, 0, s->p.compact_margin_max);
	raft_index c = upto > margin ? upto - margin : 0;
	if (c <= n->compacted_index) {
		return true;
	}
	int done = sim_steps_compact(s, n, c);
	if (done <= 0) {
		return done < 0;
	}
	n->compacted_index = c;
	struct raft_event ev = {.type = RAFT_EVENT_COMPACTED};
	ev.compacted.index = c;
	sim_node_step(s, n, &ev, NULL);
	return true;
}

/* A crash at step k of the write of `snap`: what the disk keeps of it. */
static void sim_snap_crash_writing(struct sim *s, struct sim_node *n, const struct sim_snap *snap,
				   enum sim_step k)
{
	struct sim_snap older = n->snap;
	bool kept = k == SIM_STEP_SNAP_PRUNE; /* renamed and dir-synced */
	if (k == SIM_STEP_SNAP_RENAMED) {
		if (s->p.planted_snap_unsynced) {
			/* The planted bug: trusted at the rename, before the
			 * directory sync: the core hears of it and the log is
			 * compacted below it. */
			n->snap = *snap;
			struct raft_event ev = {.type = RAFT_EVENT_SNAPSHOT};
			sim_snap_meta(s, snap, &ev.snapshot);
			uint32_t epoch = n->epoch;
			sim_node_step(s, n, &ev, NULL);
			if (n->up && n->epoch == epoch && !s->violated &&
			    !sim_snap_compact(s, n, snap->index)) {
				sim_fail_stop(s, n);
			}
			if (s->violated) {
				return;
			}
		}
		kept = !sim_steps_rename_lost(s);
		if (!kept) {
			s->renames_lost++;
		}
	}
	/* A temporary file (partial: torn; or whole, not renamed) is deleted
	 * by recovery; a lost rename leaves the older snapshot the newest. */
	n->snap = kept ? *snap : older;
	sim_log(s, SIM_STORY, "n%u crashes writing snapshot %llu (%s): %s", n->id,
		(unsigned long long)snap->index, sim_step_name(k),
		kept ? "it is on disk" : "lost, the older one stays the newest");
	if (n->up) {
		sim_steps_crash(s, n, k);
	} else {
		s->step_crashes[k]++; /* the planted bug's compaction crashed it */
	}
}

void sim_snap_maybe_take(struct sim *s, struct sim_node *n)
{
	raft_index a = n->applied_index;
	struct raft_entry e;

	if (!s->p.snapshots || !n->up || s->violated || a < n->snap_next_at || a <= n->snap.index ||
	    n->installing.index != 0) {
		return;
	}
	/* Only a durable prefix: a restart continues the log after it. */
	if (a > n->dlog_count || !sim_node_entry(n, a, &e)) {
		return;
	}
	struct sim_snap snap = {.index = a, .term = e.term, .digest = n->sm_digest,
				.conf = n->sm_conf};
	check_snapshot(s, n, &snap, "takes");
	if (s->violated) {
		return;
	}
	s->snapshots_taken++;
	/* The write's steps: temp file written, fsynced, renamed, directory
	 * fsynced, older ones deleted; a crash at one of them (sim_steps.c). */
	enum sim_step k = sim_steps_plan(s, n, SIM_STEPS_SNAP_FIRST, 4);
	if (k != SIM_STEPS_COUNT) {
		sim_snap_crash_writing(s, n, &snap, k);
		return;
	}
	n->snap = snap;
	sim_snap_schedule_next(s, n);
	sim_log(s, SIM_TRACE, "n%u takes a snapshot at %llu/t%llu", n->id, (unsigned long long)a,
		(unsigned long long)e.term);
	struct raft_event ev = {.type = RAFT_EVENT_SNAPSHOT};
	sim_snap_meta(s, &snap, &ev.snapshot);
	uint32_t epoch = n->epoch;
	sim_node_step(s, n, &ev, NULL);
	if (n->up && n->epoch == epoch && !s->violated && !sim_snap_compact(s, n, a)) {
		sim_fail_stop(s, n);
	}
}

/* The state a leader's offer carries: its snapshot's, or (a core that
 * offers something else) its state machine at `index` as its log says. */
bool sim_snap_offer_digest(struct sim *s, struct sim_node *n, raft_index index, raft_term term,
			   uint64_t *digest)
{
	(void)s;
	if (n->snap.index == index && n->snap.term == term) {
		*digest = n->snap.digest;
		return true;
	}
	if (index < n->snap.index) {
		return false; /* no such state here: nothing to send */
	}
	uint64_t d = n->snap.digest;
	for (raft_index i = n->snap.index + 1; i <= index; i++) {
		struct raft_entry e;
		if (!sim_node_entry(n, i, &e)) {
			return false;
		}
		d = sim_digest_next(d, &e);
	}
	*digest = d;
	return true;
}

/* A crash at step k of the install of the staged snapshot: the node's
 * order, the file renamed into place and the directory synced before the
 * log is reset (store_reset, cut short at its steps by sim_reset.c), so
 * that recovery finishes the install from there on. With the planted bug
 * install-rename-unsynced the log is reset before that directory sync: a
 * power loss may undo the rename, and the log is compacted above the
 * newest snapshot left. True: the node crashed (down); false: the log
 * failed first. */
static bool sim_snap_crash_installing(struct sim *s, struct sim_node *n,
				      const struct raft_snapshot_meta *meta, enum sim_step k)
{
	struct sim_snap snap = n->staged;
	snap.conf = (struct raft_membership){.voters_count = meta->voters_count,
					     .learners_count = meta->learners_count};
	memcpy(snap.conf.voters, meta->voters, sizeof(snap.conf.voters));
	memcpy(snap.conf.learners, meta->learners, sizeof(snap.conf.learners));
	/* The rename first: durable before the log is touched (a log that
	 * fails in the reset leaves the snapshot on disk). */
	bool kept = k >= SIM_STEP_INSTALL_RENAMED;
	if (kept && s->p.planted_install_unsynced && k >= SIM_STEP_RESET_TRUNCATED &&
	    sim_steps_rename_lost(s)) {
		kept = false;
		s->renames_lost++;
		sim_log(s, SIM_STORY, "n%u's installed snapshot %llu: its rename is lost", n->id,
			(unsigned long long)snap.index);
	}
	if (kept) {
		n->snap = snap;
	}
	if (k >= SIM_STEP_RESET_TRUNCATED) {
		k = sim_reset_crash_at(s, n, meta->index, meta->term, k);
		if (k == SIM_STEPS_COUNT) {
			return false;
		}
	}
	if (k == SIM_STEP_INSTALL_LOADED) {
		n->applied_index = snap.index;
		n->sm_digest = snap.digest;
		n->sm_conf = snap.conf;
	}
	sim_steps_crash(s, n, k);
	return true;
}

bool sim_snap_install(struct sim *s, struct sim_node *n, const struct raft_snapshot_meta *meta)
{
	if (n->staged.index != meta->index || n->staged.term != meta->term) {
		check_violation(s, "Update Contract",
				"n%u is asked to install a snapshot at %llu/t%llu, but the one "
				"staged is %llu/t%llu",
				n->id, (unsigned long long)meta->index, (unsigned long long)meta->term,
				(unsigned long long)n->staged.index, (unsigned long long)n->staged.term);
		return false;
	}
	check_install(s, n, &n->staged);
	if (s->violated) {
		return false;
	}
	sim_log(s, SIM_STORY, "n%u installs a snapshot at %llu/t%llu (applied %llu before)", n->id,
		(unsigned long long)meta->index, (unsigned long long)meta->term,
		(unsigned long long)n->applied_index);
	enum sim_step k = sim_steps_plan(s, n, SIM_STEPS_INSTALL_FIRST, SIM_STEPS_INSTALL_COUNT);
	if (k != SIM_STEPS_COUNT) {
		return sim_snap_crash_installing(s, n, meta, k);
	}
	if (!sim_disk_reset_to(s, n, meta->index, false)) {
		return false;
	}
	n->applied_index = meta->index;
	n->sm_digest = n->staged.digest;
	n->installing = n->staged;
	/* The snapshot's configuration (the meta carries it). */
	n->sm_conf = (struct raft_membership){.voters_count = meta->voters_count,
					      .learners_count = meta->learners_count};
	memcpy(n->sm_conf.voters, meta->voters, sizeof(n->sm_conf.voters));
	memcpy(n->sm_conf.learners, meta->learners, sizeof(n->sm_conf.learners));
	n->installing.conf = n->sm_conf;
	n->conf_entry_index = 0;
	n->conf_base = meta->index;
	s->snapshots_installed++;
	struct sim_event ev = {
		.time_us = s->now_us + sim_rand_range(s, 50, s->p.install_latency_us_max),
		.kind = SIM_EV_INSTALLED,
		.node = n->id,
		.epoch = n->epoch,
	};
	ev.msg.snapshot.meta = *meta;
	sim_push(s, &ev);
	return true;
}

void sim_snap_installed(struct sim *s, struct sim_node *n, raft_index index)
{
	if (n->installing.index != index) {
		return; /* superseded by a later install */
	}
	/* The log's committed prefix must be durable before it is compacted
	 * and the snapshot counts. */
	if (!sim_disk_flush(s, n)) {
		sim_fail_stop(s, n);
		return;
	}
	n->snap = n->installing;
	n->installing = (struct sim_snap){0};
	int done = sim_steps_compact(s, n, index);
	if (done < 0) {
		return; /* crashed at a step of the compaction */
	}
	if (done == 0) {
		sim_fail_stop(s, n);
		return;
	}
	n->compacted_index = index;
	sim_snap_schedule_next(s, n);
	sim_log(s, SIM_TRACE, "n%u: snapshot %llu installed durably", n->id,
		(unsigned long long)index);
	struct raft_event ev = {.type = RAFT_EVENT_SNAPSHOT_INSTALLED};
	ev.installed.index = index;
	ev.installed.term = n->snap.term;
	sim_node_step(s, n, &ev, NULL);
}

void sim_snap_restore(struct sim *s, struct sim_node *n)
{
	n->applied_index = n->snap.index;
	n->sm_digest = n->snap.digest;
	if (n->snap.index != 0) {
		n->sm_conf = n->snap.conf;
	} else {
		sim_initial_conf(s, &n->sm_conf);
	}
	n->staged = (struct sim_snap){0};
	n->installing = (struct sim_snap){0};
	sim_snap_schedule_next(s, n);
	if (n->snap.index == 0) {
		return;
	}
	/* The contract's restart sequence (e): applied, snapshot, compaction. */
	uint32_t epoch = n->epoch;
	struct raft_event ev = {.type = RAFT_EVENT_APPLIED};
	ev.applied.index = n->snap.index;
	sim_node_step(s, n, &ev, NULL);
	if (!n->up || n->epoch != epoch || s->violated) {
		return;
	}
	ev = (struct raft_event){.type = RAFT_EVENT_SNAPSHOT};
	sim_snap_meta(s, &n->snap, &ev.snapshot);
	sim_node_step(s, n, &ev, NULL);
	if (!n->up || n->epoch != epoch || s->violated || n->compacted_index == 0) {
		return;
	}
	ev = (struct raft_event){.type = RAFT_EVENT_COMPACTED};
	ev.compacted.index = n->compacted_index;
	sim_node_step(s, n, &ev, NULL);
}
