/* SPDX-License-Identifier: MIT */
/*
 * conf.h - the cluster configuration as the node tracks it: who votes,
 * who learns (the core's struct raft_membership) and where each member is
 * (the address its RAFT_ENTRY_CONFIG entry carried, or the cluster file's
 * [member.N]). stage: any (plain values and inline functions: the apply
 * stage tracks the configuration as of its applied index and writes it
 * into snapshots; control keeps the addresses of every member it heard
 * of; start-up rebuilds both from the snapshot and the log).
 *
 * A config entry's bytes (payload ring, log) are its wire record
 * (dataplane.h): the change value, then the address. In snapshots:
 * conf_blob.h.
 */
#ifndef RN_NODE_CONF_H
#define RN_NODE_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common.h"
#include "consensus.h"
#include "dataplane.h"

/* Addresses remembered: the members, and ids removed or added meanwhile. */
#define NODE_ADDR_BOOK_MAX (2u * RAFT_NODES_MAX)

/* Where each id is (small: looked up off the commit path). */
struct node_addr_book {
	raft_node_id ids[NODE_ADDR_BOOK_MAX];
	struct dp_member_addr addrs[NODE_ADDR_BOOK_MAX];
	uint32_t count;
};

struct node_conf {
	struct raft_membership m;
	raft_index index; /* the entry that set it (0: the start's or a snapshot's) */
	struct node_addr_book book;
};

/* The role of id in m (enum dp_member_role). */
static inline uint8_t node_conf_role(const struct raft_membership *m, raft_node_id id)
{
	for (uint32_t i = 0; i < m->voters_count; i++) {
		if (m->voters[i] == id) {
			return DP_MEMBER_VOTER;
		}
	}
	for (uint32_t i = 0; i < m->learners_count; i++) {
		if (m->learners[i] == id) {
			return DP_MEMBER_LEARNER;
		}
	}
	return DP_MEMBER_NONE;
}

static inline const struct dp_member_addr *node_addr_get(const struct node_addr_book *b,
							 raft_node_id id)
{
	for (uint32_t i = 0; i < b->count; i++) {
		if (b->ids[i] == id) {
			return &b->addrs[i];
		}
	}
	return NULL;
}

/* Sets id's address. When the book is full, the oldest entry of an id in
 * none of `keep` goes (a removed member: nothing is sent to it any more). */
static inline void node_addr_set(struct node_addr_book *b, raft_node_id id,
				 const struct dp_member_addr *a, const struct raft_membership *keep)
{
	RN_ASSERT(id != RAFT_NODE_NONE);
	for (uint32_t i = 0; i < b->count; i++) {
		if (b->ids[i] == id) {
			b->addrs[i] = *a;
			return;
		}
	}
	if (b->count == NODE_ADDR_BOOK_MAX) {
		uint32_t drop = 0;
		while (keep != NULL && drop < b->count &&
		       node_conf_role(keep, b->ids[drop]) != DP_MEMBER_NONE) {
			drop++;
		}
		RN_ASSERT(drop < b->count); /* members <= RAFT_NODES_MAX < the book */
		memmove(&b->ids[drop], &b->ids[drop + 1], (b->count - drop - 1) * sizeof(b->ids[0]));
		memmove(&b->addrs[drop], &b->addrs[drop + 1],
			(b->count - drop - 1) * sizeof(b->addrs[0]));
		b->count--;
	}
	b->ids[b->count] = id;
	b->addrs[b->count] = *a;
	b->count++;
}

/* Applies one configuration entry (index, its record): the change through
 * raft_membership_apply (the one definition), the address of an added
 * learner into the book. A record that does not decode changes nothing
 * (the log and the wire checked it: a damaged one is a bug elsewhere). */
static inline void node_conf_apply(struct node_conf *c, raft_index index, const uint8_t *rec,
				   uint32_t rec_bytes)
{
	uint64_t value;
	struct dp_member_addr a;
	if (dp_conf_entry_decode(rec, rec_bytes, &value, &a) != 0) {
		return;
	}
	raft_membership_apply(&c->m, value);
	c->index = index;
	if (RAFT_CONF_OP(value) == RAFT_CONF_ADD_LEARNER) {
		node_addr_set(&c->book, RAFT_CONF_ID(value), &a, &c->m);
	}
}

#endif /* RN_NODE_CONF_H */
