/* SPDX-License-Identifier: MIT */
/*
 * ops.c - control's part of the operator's side (../metrics.h): the drain
 * a SIGTERM or SIGINT asks for, and the figures the metrics thread serves.
 * stage: control.
 *
 * The drain, so that stopping a node costs its clients nothing: a leader
 * hands leadership to its most up-to-date voter (RAFT_EVENT_TRANSFER, the
 * core's TimeoutNow, §3.10); meanwhile the core refuses new proposals
 * (RAFT_ERR_TRANSFERRING: clients get RETRY) and, once it is a follower,
 * writes are answered REDIRECT naming the new leader. It then waits until
 * the writes it proposed are applied (their replies go out from this
 * round's flush) and stops; the log stage writes and syncs what it holds
 * as every lcore leaves (node_log_stage_stop), so the node exits 0 with
 * nothing it acknowledged lost. Bounded: two election timeouts for the
 * hand-over, one more to settle; past them it stops anyway (clients retry
 * elsewhere: the sessions make a retried write exactly-once). A follower
 * stops at once. A second signal stops at once (raftnode.c).
 */
#include <inttypes.h>
#include <stdio.h>

#include "common.h"
#include "admin.h"
#include "internal.h"
#include "ops_hooks.h"
#include "settings_check.h"

#define OPS_REFRESH_NS (200ull * NODE_NS_PER_MS) /* a scrape every few seconds at most */
#define OPS_SETTLE_NS (100ull * NODE_NS_PER_MS)	 /* replies of the last round out */

/* The voter with the highest match index among those heard from lately. */
static raft_node_id ops_best_voter(const struct node_control *c)
{
	raft_node_id best = RAFT_NODE_NONE;
	raft_index best_match = 0;
	for (uint32_t i = 0; i < c->raft_cfg.members_count; i++) {
		struct raft_progress_info pi;
		raft_node_id id = c->raft_cfg.members[i];
		if (id == c->cfg->self || !raft_progress(c->raft, id, &pi) || !pi.recent_active) {
			continue;
		}
		if (best == RAFT_NODE_NONE || pi.match_index > best_match) {
			best = id;
			best_match = pi.match_index;
		}
	}
	return best;
}

static uint32_t ops_drain_stop(struct node_control *c, const char *why)
{
	fprintf(stderr, "raftnode %u: drain: %s; stopping (term %" PRIu64 ", leader %u, commit %"
		PRIu64 ", applied %" PRIu64 ")\n", c->cfg->self, why, raft_current_term(c->raft),
		raft_leader_id(c->raft), raft_commit_index(c->raft), node_apply_applied(c));
	c->ops->drain_state = NODE_DRAIN_DONE;
	*c->stop = 1;
	return 1;
}

static uint32_t ops_drain_begin(struct node_control *c, uint64_t now_ns)
{
	struct node_ops *o = c->ops;
	uint64_t election_ns = (uint64_t)c->cfg->election_timeout_ms * NODE_NS_PER_MS;
	if (raft_role(c->raft) != RAFT_LEADER) {
		return ops_drain_stop(c, "not the leader: nothing to hand over");
	}
	raft_node_id target = ops_best_voter(c);
	if (target == RAFT_NODE_NONE) {
		return ops_drain_stop(c, "leader with no voter heard from lately to hand over to");
	}
	node_ingress_propose(c); /* the writes gathered so far go first */
	o->drain_index = raft_last_index(c->raft);
	struct raft_event ev = {.type = RAFT_EVENT_TRANSFER, .transfer = {.target = target}};
	int rc = node_control_step(c, &ev);
	if (rc != 0) {
		fprintf(stderr, "raftnode %u: drain: leadership transfer to %u refused (%d)\n",
			c->cfg->self, target, rc);
		return ops_drain_stop(c, "no hand-over");
	}
	fprintf(stderr, "raftnode %u: drain: leader hands over to node %u (commit %" PRIu64
		", last %" PRIu64 "); new writes are answered retry, then redirect\n",
		c->cfg->self, target, raft_commit_index(c->raft), o->drain_index);
	o->drain_state = NODE_DRAIN_TRANSFER;
	o->drain_deadline_ns = now_ns + 2 * election_ns;
	return 1;
}

static uint32_t ops_drain(struct node_control *c, uint64_t now_ns)
{
	struct node_ops *o = c->ops;
	uint64_t election_ns = (uint64_t)c->cfg->election_timeout_ms * NODE_NS_PER_MS;
	switch (o->drain_state) {
	case NODE_DRAIN_NONE:
		return o->drain_requested ? ops_drain_begin(c, now_ns) : 0;
	case NODE_DRAIN_TRANSFER:
		if (raft_role(c->raft) != RAFT_LEADER) {
			fprintf(stderr, "raftnode %u: drain: a follower now (leader %u)\n",
				c->cfg->self, raft_leader_id(c->raft));
			o->drain_state = NODE_DRAIN_SETTLE;
			o->drain_settle_ns = now_ns + OPS_SETTLE_NS;
			o->drain_deadline_ns = now_ns + election_ns;
			return 1;
		}
		return now_ns > o->drain_deadline_ns
			       ? ops_drain_stop(c, "the hand-over did not finish in two election "
						   "timeouts")
			       : 0;
	case NODE_DRAIN_SETTLE:
		if (node_apply_applied(c) >= o->drain_index && now_ns >= o->drain_settle_ns) {
			return ops_drain_stop(c, "handed over, its writes applied and answered");
		}
		return now_ns > o->drain_deadline_ns
			       ? ops_drain_stop(c, "handed over; its last writes not applied within "
						   "an election timeout (clients retry them)")
			       : 0;
	default:
		return 0;
	}
}

static void ops_snapshot_figures(struct node_control *c, struct node_metrics_figures *f)
{
	struct node_ops *o = c->ops;
	const struct node_snap_link *sl = c->snap;
	if (sl != NULL) {
		raft_term term;
		node_snap_link_read(sl, &f->snap_index, &term, NULL);
		f->snap_taken = __atomic_load_n(&sl->snapshots_count, __ATOMIC_RELAXED);
		f->snap_failures = __atomic_load_n(&sl->failures_count, __ATOMIC_RELAXED);
		if (f->snap_taken > o->snap_seen) {
			/* The newest one's write time (several between two
			 * refreshes, 200 ms apart, count as one: sampled). */
			node_hist_observe(&o->snap_save,
					  __atomic_load_n(&sl->last_write_us, __ATOMIC_RELAXED) * 1000);
			o->snap_seen = f->snap_taken;
		}
	}
	const struct node_xfer *x = c->xfer;
	if (x != NULL) {
		f->snap_offers = x->counters.offers_started;
		f->snap_sent = x->counters.sent;
		f->snap_installed = x->counters.installed;
		f->snap_bytes_sent = __atomic_load_n(&x->t.send.counters.data_bytes_sent,
						     __ATOMIC_RELAXED);
		f->snap_bytes_received = __atomic_load_n(&x->t.recv.counters.data_bytes_accepted,
							 __ATOMIC_RELAXED);
	}
}

static void ops_refresh(struct node_control *c, uint64_t now_ns)
{
	struct raft_counters rc;
	struct node_log_figures lf;
	raft_get_counters(c->raft, &rc);
	node_log_figures(&c->log, &lf);
	const struct node_counters *n = &c->counters;
	const struct dp_wire_counters *w = &c->transport->wire.counters;
	struct node_metrics_figures f = {
		.refreshed_ns = now_ns, .self = c->cfg->self, .leader = raft_leader_id(c->raft),
		.is_leader = raft_role(c->raft) == RAFT_LEADER,
		.alarm_no_space = c->alarm_no_space, .failed = c->failed,
		.term = raft_current_term(c->raft), .commit_index = raft_commit_index(c->raft),
		.applied_index = node_apply_applied(c), .last_index = raft_last_index(c->raft),
		.durable_index = lf.durable,
		.proposals_failed = rc.proposals_refused + n->writes_refused_no_space,
		.leader_changes = c->ops->leader_changes, .client_requests = n->client_requests,
		.replies = n->replies_sent, .replies_busy = n->replies_busy,
		.replies_redirect = n->replies_redirect, .replies_retry = n->replies_retry,
		.replies_bad = n->client_bad, .replies_no_space = n->writes_refused_no_space,
		.elections = rc.elections_started, .prevotes = rc.prevotes_started,
		.stepdowns_check_quorum = rc.leader_stepdowns_check_quorum,
		.entries_truncated = rc.entries_truncated, .syncs = lf.groups,
		.synced_entries = lf.entries, .disk_free_bytes = c->space_free_bytes,
		.frames_rx = c->transport->counters.received + w->fragments_accepted,
		.frames_tx = c->transport->counters.sent,
		.send_failed = c->transport->counters.send_failed,
		.auth_failures = dp_wire_dropped(w, DP_ERR_BAD_TAG),
		.kv_keys = __atomic_load_n(&c->apply.link->keys_published, __ATOMIC_RELAXED)};
	f.proposals_pending = f.is_leader && f.last_index > f.commit_index
				      ? f.last_index - f.commit_index : 0;
	for (int e = DP_ERR_DROP_FIRST; e <= DP_ERR_DROP_LAST; e++) {
		f.drops += dp_wire_dropped(w, e);
	}
	f.drops += c->members.drops_not_member + c->members.drops_wrong_address;
	f.drops_client_key = dp_wire_dropped(w, DP_ERR_CLIENT_KEY);
	f.drops_unknown_key = dp_wire_dropped(w, DP_ERR_UNKNOWN_KEY);
	f.drops_not_member = c->members.drops_not_member;
	f.drops_wrong_address = c->members.drops_wrong_address;
	if (c->transport->replay != NULL) {
		struct dp_replay_counters r;
		dp_replay_read(c->transport->replay, &r);
		f.replayed = r.replayed;
		f.too_old = r.too_old;
		f.drops += r.replayed + r.too_old;
	}
	f.boot_epoch = c->transport->wire.boot_epoch;
	ops_snapshot_figures(c, &f);
	if (c->settings != NULL) {
		f.settings_dropped = c->settings->dropped;
		f.settings_refused_peers = node_settings_refused_count(c->settings);
	}
	if (c->admin != NULL) {
		f.admin_reloads_asked = c->admin->reloads_asked;
		f.admin_reloads_answered = c->admin->reloads_answered;
		f.admin_refused_key = c->admin->refused_key;
		f.admin_refused_busy = c->admin->refused_busy;
	}
	pthread_mutex_lock(&c->ops->lock);
	c->ops->figures = f;
	pthread_mutex_unlock(&c->ops->lock);
}

uint32_t node_ops_poll(struct node_control *c, uint64_t now_ns)
{
	struct node_ops *o = c->ops;
	if (o == NULL) {
		return 0; /* unit tests and tools run control without it */
	}
	uint32_t work = ops_drain(c, now_ns);
	if (now_ns - o->refresh_ns > OPS_REFRESH_NS) {
		o->refresh_ns = now_ns;
		ops_refresh(c, now_ns);
	}
	return work;
}
