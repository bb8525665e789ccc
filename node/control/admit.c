/* SPDX-License-Identifier: MIT */
/*
 * admit.c - who may speak for a node (issue 17): a consensus frame is
 * taken only from a member of the configuration in force, from that
 * member's address there. stage: control.
 *
 * The tag already proved the sender holds the peer key (a client key on
 * a consensus frame never gets this far: dataplane drops it as
 * client_key). This is the second half: a node's key in the wrong hands,
 * or a frame captured and sent again from elsewhere, still has to come
 * from the address the configuration gives its `from`: source IP and UDP
 * port (kernel UDP), plus the source MAC where the configuration names
 * one (DPDK). Each refusal is counted (status: drops.not_member,
 * drops.wrong_address).
 *
 * Which configuration: the latest one in the log, as the core uses it
 * (dissertation §4.1: a server uses the latest configuration in its log,
 * committed or not), so a member added is heard from as soon as its entry
 * is appended here. A node that is itself in no configuration yet (--join,
 * a learner being added that has not received its entry) takes frames from
 * any id in its address book - the cluster file's members and those of
 * every configuration entry it saw - still only from that id's address:
 * the leader that brings it in must reach it before it knows the
 * configuration. Cost: one copy of the membership (a few hundred bytes)
 * and two short scans per consensus frame, no allocation.
 */
#include <string.h>

#include "common.h"
#include "internal.h"

/* The sender id of a consensus, snapshot or settings frame;
 * RAFT_NODE_NONE for a client frame (not this file's to judge). */
static raft_node_id admit_from(const struct dp_rx_frame *in)
{
	switch (in->type) {
	case DP_FRAME_SNAP_CHUNK:
		return in->snap_chunk.from;
	case DP_FRAME_SNAP_ACK:
		return in->snap_ack.from;
	case DP_FRAME_SETTINGS: /* a peer's settings text: node traffic too */
		return in->settings.from;
	default:
		return in->type >= 1 && in->type < RAFT_MSG_TYPE_COUNT ? in->raft.from
								      : RAFT_NODE_NONE;
	}
}

bool node_member_admit(struct node_control *c, const struct dp_rx_frame *in)
{
	struct node_members *mb = &c->members;
	raft_node_id from = admit_from(in);
	if (from == RAFT_NODE_NONE) {
		return in->type == DP_FRAME_CLIENT_REQUEST || in->type == DP_FRAME_CLIENT_REPLY;
	}
	struct raft_membership m;
	raft_membership(c->raft, &m);
	bool self_member = node_conf_role(&m, c->cfg->self) != DP_MEMBER_NONE;
	const struct dp_member_addr *a = node_addr_get(&mb->book, from);
	if (from == c->cfg->self || a == NULL ||
	    (self_member && node_conf_role(&m, from) == DP_MEMBER_NONE)) {
		mb->drops_not_member++;
		return false;
	}
	RN_ASSERT(a != NULL);
	bool mac_checked = c->transport->kind == DP_TRANSPORT_DPDK && !a->mac_auto;
	if (a->ip != in->addr.src_ip || a->udp_port != in->addr.src_port ||
	    (mac_checked && memcmp(a->mac, in->addr.src_mac, 6) != 0)) {
		mb->drops_wrong_address++;
		return false;
	}
	return true;
}
