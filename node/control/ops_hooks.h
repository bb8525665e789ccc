/* SPDX-License-Identifier: MIT */
/*
 * ops_hooks.h - control's side of the operator's view (../metrics.h): the
 * per-peer counters and round-trip probes, counted where a Raft message
 * leaves or arrives, and the drain and the figures (ops.c). stage: control.
 *
 * The hooks are inline so that egress and ingress call nothing of ops.c
 * (ops.c steps the core, which sends: a call circle otherwise). Each is a
 * test of c->ops and a few relaxed stores: no lock, no allocation.
 */
#ifndef RN_NODE_CONTROL_OPS_HOOKS_H
#define RN_NODE_CONTROL_OPS_HOOKS_H

#include "control.h"
#include "metrics.h"

/* A Raft message m went out (sent) or the transport refused it. */
static inline void node_ops_sent(struct node_control *c, const struct raft_message *m, bool sent)
{
	struct node_metrics_peer *p = c->ops != NULL ? node_metrics_peer_of(c->ops, m->to) : NULL;
	if (p == NULL) {
		return;
	}
	if (!sent) {
		node_counter_add(&p->send_failures, 1);
		return;
	}
	node_counter_add(&p->sent_frames, 1);
	node_counter_add(&p->sent_bytes, DP_FRAME_OVERHEAD_BYTES + dp_wire_raft_body_bytes(m));
	if (m->type == RAFT_MSG_HEARTBEAT) {
		node_probe_start(&p->rtt_probe, 0);
	}
}

/* A Raft message m arrived (before it is stepped). */
static inline void node_ops_received(struct node_control *c, const struct raft_message *m)
{
	struct node_metrics_peer *p = c->ops != NULL ? node_metrics_peer_of(c->ops, m->from) : NULL;
	if (p == NULL) {
		return;
	}
	node_counter_add(&p->received_frames, 1);
	node_counter_add(&p->received_bytes, DP_FRAME_OVERHEAD_BYTES + dp_wire_raft_body_bytes(m));
	if (m->type == RAFT_MSG_HEARTBEAT_RESP) {
		node_probe_end(&p->rtt_probe, 0, &p->rtt);
	}
}

/* The core named a leader other than the last one (not "none"). */
static inline void node_ops_leader_seen(struct node_control *c, raft_node_id old_leader,
					raft_node_id new_leader)
{
	if (c->ops != NULL && new_leader != RAFT_NODE_NONE && new_leader != old_leader) {
		c->ops->leader_changes++;
	}
}

/* ---- ops.c ---- */
/* Once a round: the drain (a signal asked for it: a leader hands over
 * to its most up-to-date voter, waits, bounded, to be a follower and for
 * its own writes to be applied and answered, then sets the stop flag; a
 * follower stops at once), and the figures for the metrics thread every
 * refresh. Returns the work done. */
uint32_t node_ops_poll(struct node_control *c, uint64_t now_ns);

#endif /* RN_NODE_CONTROL_OPS_HOOKS_H */
