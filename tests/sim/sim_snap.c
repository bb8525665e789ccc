/* SPDX-License-Identifier: MIT */
/*
 * sim_snap.c - snapshots in raftsim, the caller's side of the core's
 * SNAPSHOT CONTRACT (consensus.h):
 *
 *  - each node snapshots its simulated state machine (the applied sequence,
 *    summarized by a digest) every [1, 2 * snapshot_entries] applied
 *    entries, tells its core (RAFT_EVENT_SNAPSHOT), and compacts its
 *    durable log below the snapshot with a random margin, sometimes 0
 *    (store_compact, then RAFT_EVENT_COMPACTED). A snapshot is durable at
 *    once (a write, a sync, a rename: atomic) and survives crashes.
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
 * The log reset: storage has no "continue after (index, term)" yet, so the
 * simulator keeps the log's committed prefix (up to the commit hint or the
 * compaction point), drops the rest, and writes the committed entries up to
 * the snapshot's index (from the checker's record of committed entries,
 * which the install's check just compared with the snapshot), then
 * compacts them once the install is durable. What the log holds at any
 * crash is then a committed prefix: the same states a real reset could
 * leave, plus a longer committed prefix that the restart applies again.
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
 * the core. False: the log failed (the node must stop). */
static bool sim_snap_compact(struct sim *s, struct sim_node *n, raft_index upto)
{
	uint64_t margin = sim_chance(s, 333) ? 0 : sim_rand_range(s, 0, s->p.compact_margin_max);
	raft_index c = upto > margin ? upto - margin : 0;
	if (c <= n->compacted_index) {
		return true;
	}
	if (!sim_disk_compact(s, n, c)) {
		return false;
	}
	n->compacted_index = c;
	struct raft_event ev = {.type = RAFT_EVENT_COMPACTED};
	ev.compacted.index = c;
	sim_node_step(s, n, &ev, NULL);
	return true;
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
	n->snap = snap;
	s->snapshots_taken++;
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
	if (!sim_disk_reset_to(s, n, meta->index)) {
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
	if (!sim_disk_compact(s, n, index)) {
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
