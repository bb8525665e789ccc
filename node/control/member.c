/* SPDX-License-Identifier: MIT */
/*
 * member.c - membership changes, control's part. stage: control.
 *
 * The core owns the rules (single-server changes, MEMBERSHIP CONTRACT in
 * consensus.h); this file gives its configuration entries their bytes and
 * the node its peers:
 *
 *  - a config entry's bytes are its record (the change value, then the
 *    address of a member it adds): the operator's request on the leader,
 *    the AppendEntries frame on a follower (dp_wire_append_conf);
 *  - the address of an added member goes into the address book and the
 *    transport's peers as soon as its entry is appended or received, in
 *    step 2 of the update, so before the messages of that update (step 3)
 *    can address it; a removed member's address stays (nothing is sent to
 *    it any more: harmless) until the peer table needs its place;
 *  - `raftctl member list` is answered from the core's view
 *    (raft_membership, progress) and the book; a change request is
 *    ingress.c's (it steps the core, which this file never does).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "internal.h"

void node_member_learn(struct node_control *c, raft_node_id id, const struct dp_member_addr *a)
{
	struct raft_membership m;
	RN_ASSERT(id != RAFT_NODE_NONE);
	RN_ASSERT(a != NULL);
	memset(&m, 0, sizeof(m));
	if (c->raft != NULL) {
		raft_membership(c->raft, &m);
	}
	node_addr_set(&c->members.book, id, a, &m);
	if (id == c->cfg->self || c->transport == NULL) {
		return;
	}
	struct dp_peer p = {.id = id, .ip = a->ip, .port = a->udp_port};
	if (!a->mac_auto) {
		memcpy(p.mac, a->mac, 6);
	}
	if (dp_transport_peer_set(c->transport, &p) == 0) {
		return;
	}
	/* Full: the peers that are no members any more give their places. */
	c->members.peers_full++;
	for (uint32_t i = c->transport->peers_count; i-- > 0;) {
		raft_node_id old = c->transport->peers[i].id;
		if (node_conf_role(&m, old) == DP_MEMBER_NONE) {
			dp_transport_peer_remove(c->transport, old);
		}
	}
	int rc = dp_transport_peer_set(c->transport, &p);
	RN_ASSERT(rc == 0); /* members <= RAFT_NODES_MAX, self not a peer */
}

void node_member_record(struct node_control *c, const struct raft_entry *e,
			uint8_t out[DP_CONF_ENTRY_BYTES])
{
	struct node_members *mb = &c->members;
	uint64_t value = e->payload;
	uint64_t got = 0;
	RN_ASSERT(e->type == RAFT_ENTRY_CONFIG);
	if (mb->rx_frame != NULL && dp_wire_append_conf(mb->rx_frame, e->index, out) == 0 &&
	    dp_conf_entry_decode(out, DP_CONF_ENTRY_BYTES, &got, NULL) == 0 && got == value) {
		return;
	}
	/* The core's own entry (RAFT_CONF_FORCE after a forced start) or a
	 * change without an address: the value alone. An added member's
	 * address comes with its request or its frame, or the book has it. */
	const struct dp_member_addr *a = NULL;
	if (RAFT_CONF_OP(value) == RAFT_CONF_ADD_LEARNER) {
		a = node_addr_get(&mb->book, RAFT_CONF_ID(value));
		RN_ASSERT(a != NULL); /* proposed here with its slot, or received */
	}
	dp_conf_entry_encode(value, a, out);
}

/* A config entry in place in the ring: an added member becomes a peer. */
void node_member_appended(struct node_control *c, const uint8_t *rec)
{
	uint64_t value;
	struct dp_member_addr a;
	if (dp_conf_entry_decode(rec, DP_CONF_ENTRY_BYTES, &value, &a) == 0 &&
	    RAFT_CONF_OP(value) == RAFT_CONF_ADD_LEARNER) {
		node_member_learn(c, RAFT_CONF_ID(value), &a);
		fprintf(stderr, "raftnode %u: node %u joins as a learner (configuration entry "
			"appended)\n", c->cfg->self, RAFT_CONF_ID(value));
	}
}

void node_member_list(struct node_control *c, struct dp_member_list *out)
{
	struct raft_membership m;
	raft_membership(c->raft, &m);
	memset(out, 0, sizeof(*out));
	out->config_index = raft_membership_index(c->raft);
	out->pending = raft_membership_pending(c->raft);
	out->self = c->cfg->self;
	out->leader = raft_leader_id(c->raft);
	out->self_role = node_conf_role(&m, c->cfg->self);
	for (uint32_t i = 0; i < m.voters_count + m.learners_count; i++) {
		bool voter = i < m.voters_count;
		raft_node_id id = voter ? m.voters[i] : m.learners[i - m.voters_count];
		struct dp_member_info *mi = &out->members[out->count++];
		const struct dp_member_addr *a = node_addr_get(&c->members.book, id);
		struct raft_progress_info pi;
		mi->id = id;
		mi->role = voter ? DP_MEMBER_VOTER : DP_MEMBER_LEARNER;
		mi->addr_known = a != NULL;
		if (a != NULL) {
			mi->addr = *a;
		}
		if (id == c->cfg->self) {
			mi->match = raft_last_index(c->raft);
		} else if (raft_progress(c->raft, id, &pi)) {
			mi->match = pi.match_index;
		}
	}
}

void node_member_check_removed(struct node_control *c)
{
	struct raft_membership m;
	raft_membership(c->raft, &m);
	c->members.checked = true;
	c->members.checked_index = raft_membership_index(c->raft);
	if (node_conf_role(&m, c->cfg->self) != DP_MEMBER_NONE) {
		if (c->members.removed) { /* the removal was truncated, or re-added */
			fprintf(stderr, "raftnode %u: back in the configuration (entry %" PRIu64 ")\n",
				c->cfg->self, raft_membership_index(c->raft));
		}
		c->members.was_member = true;
		c->members.removed = false;
		return;
	}
	/* Not yet added (a joining node) is not removed: it was a member. */
	if (!c->members.was_member || c->members.removed) {
		return;
	}
	/* Removed: the entry is in force once appended (MEMBERSHIP CONTRACT)
	 * and the core never campaigns again. Its commit may never be heard
	 * here: the leader stops sending to a removed node once it commits.
	 * The node keeps running (an operator stops it and wipes its data). */
	c->members.removed = true;
	fprintf(stderr, "raftnode %u: REMOVED from the cluster by configuration entry %" PRIu64
		"%s: this node no longer votes or campaigns; stop it (and wipe its data "
		"directory before it may join again)\n", c->cfg->self,
		raft_membership_index(c->raft),
		raft_membership_pending(c->raft) ? " (its commit may never reach this node)" : "");
}
