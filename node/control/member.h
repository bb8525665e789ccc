/* SPDX-License-Identifier: MIT */
/*
 * member.h - control's side of membership changes (member.c).
 * stage: control.
 *
 * The core decides (RAFT_EVENT_MEMBER, the MEMBERSHIP CONTRACT); control
 * carries what the core cannot: each configuration entry's bytes (its
 * record: the change and the added member's address, dataplane.h), the
 * address book of every id it heard of, registered with the transport
 * before the core can address a message to a new member, the operator's
 * requests (`raftctl member ...`) and their answers.
 */
#ifndef RN_NODE_CONTROL_MEMBER_H
#define RN_NODE_CONTROL_MEMBER_H

#include <stdbool.h>
#include <stdint.h>

#include "conf_blob.h"
#include "dataplane.h"

struct node_members {
	/* Every id heard of: the cluster file's [member.N], the recovered
	 * configuration, each config entry appended or received since. */
	struct node_addr_book book;
	/* While an append is stepped: its frame (the records of its config
	 * entries); while a change is proposed: its record. */
	const struct dp_rx_frame *rx_frame;
	uint8_t record[DP_CONF_ENTRY_BYTES];
	bool record_set;
	bool checked;		    /* node_member_check_removed ran once */
	raft_index checked_index;   /* the configuration's index it saw */
	bool was_member; /* this node was in the configuration in force */
	bool removed;	 /* its removal is committed: said once */
	uint64_t changes_proposed, changes_refused, peers_full, drops_not_member, drops_wrong_address;
};

struct node_control;

/* The bytes of config entry e being written (control_write): its record
 * from the proposal or the frame it came in; then the address of a member
 * it adds goes to the book and the transport. */
void node_member_record(struct node_control *c, const struct raft_entry *e,
			uint8_t out[DP_CONF_ENTRY_BYTES]);
/* A config entry's record in place in the payload ring: a member it adds
 * becomes a peer. */
void node_member_appended(struct node_control *c, const uint8_t *rec);
/* id's address into the book and the transport's peers. */
void node_member_learn(struct node_control *c, raft_node_id id, const struct dp_member_addr *a);
/* The configuration in force as this node sees it. */
void node_member_list(struct node_control *c, struct dp_member_list *out);
/* admit.c: may this frame be stepped? Client frames yes; a consensus or
 * snapshot frame only from a member of the configuration in force (any id
 * of the address book while this node is in none), from that member's
 * address; a refusal is counted (drops_not_member, drops_wrong_address). */
bool node_member_admit(struct node_control *c, const struct dp_rx_frame *in);
/* After an update that changed the configuration: this node's removal
 * (in force once appended) is said, once. */
void node_member_check_removed(struct node_control *c);

#endif /* RN_NODE_CONTROL_MEMBER_H */
