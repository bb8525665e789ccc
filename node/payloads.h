/* SPDX-License-Identifier: MIT */
/*
 * payloads.h - the payload ring: the bytes of every entry in the core's
 * in-memory log window, kept by log index. stage: any (control writes it,
 * control/payload.c; the apply stage reads committed slots through these
 * inline readers, the log stage the bytes of appends through the pointers
 * control put in their ring records).
 *
 * The core handles metadata only (its entries carry a handle); the bytes
 * live here from the moment they arrive (a client request on the leader,
 * an AppendEntries on a follower) until the core releases the entry. Who
 * may read what, without a lock: control fills a slot before it hands the
 * log an append or the apply stage a commit that covers it, and frees it
 * only after the core heard it was applied (and durable: the core releases
 * nothing above the durable index). A truncation waits for the log stage
 * to have consumed every earlier append (a synchronous log call).
 */
#ifndef RN_NODE_PAYLOADS_H
#define RN_NODE_PAYLOADS_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "consensus.h"
#include "dataplane.h"

/* Per log index: where its payload is, and who waits for its result. */
struct node_slot {
	raft_index index; /* 0 = empty */
	raft_term term;
	uint64_t offset;  /* in the payload ring (a byte counter, not wrapped) */
	uint32_t bytes;
	uint8_t type;	  /* enum raft_entry_type */
	bool client_waits; /* this node proposed it for a client: reply on apply */
	uint8_t client_flags;
	uint8_t trace_id; /* index into control's traces + 1, 0 = untraced */
	uint64_t client_id;
	uint64_t client_seq;
	struct dp_endpoints client;
};
/* README's memory formula counts 80 bytes per slot. */
_Static_assert(sizeof(struct node_slot) == 80, "README: log_entries_max x 80");

/* Entries are appended and released in index order, so the bytes form a
 * FIFO in one buffer sized at start (log_payload_bytes_max). A record
 * never wraps: when it does not fit before the end, the gap is skipped. */
struct node_payloads {
	uint8_t *bytes;
	uint64_t bytes_max;
	uint64_t head; /* byte counters; physical offset = counter % bytes_max */
	uint64_t tail;
	raft_index first_index; /* lowest index whose payload is held */
	raft_index last_index;	/* highest index held, first - 1 if none */
	struct node_slot *slots; /* log_entries_max, by index & mask */
	uint64_t mask;
};

static inline uint8_t *node_payloads_at(const struct node_payloads *p, uint64_t offset)
{
	RN_ASSERT(p->bytes != NULL);
	RN_ASSERT(p->bytes_max > 0);
	return p->bytes + offset % p->bytes_max;
}

/* The slot of index, or NULL when the ring does not hold it. */
static inline struct node_slot *node_payloads_slot(const struct node_payloads *p,
						   raft_index index)
{
	RN_ASSERT(p->slots != NULL);
	RN_ASSERT(index > 0); /* index 0 marks an empty slot */
	struct node_slot *s = &p->slots[index & p->mask];
	return s->index == index ? s : NULL;
}

/* control/payload.c: the writer's side (control, and main before the
 * lcores start). */
int node_payloads_init(struct node_payloads *p, uint32_t entries_max, uint64_t bytes_max);
void node_payloads_fini(struct node_payloads *p);
bool node_payloads_room(const struct node_payloads *p, uint64_t bytes, uint32_t count);
/* Reserves bytes at the head: the offset, or UINT64_MAX when full. */
uint64_t node_payloads_alloc(struct node_payloads *p, uint32_t bytes);
/* Records a slot (its payload already allocated): index = last + 1. */
void node_payloads_set(struct node_payloads *p, const struct node_slot *slot);
/* Drops every slot >= index and moves the head back. */
void node_payloads_truncate(struct node_payloads *p, raft_index index);
/* Frees slots below `index` (the core released them). */
void node_payloads_release(struct node_payloads *p, raft_index index);
/* Empties the ring so that the next entry it takes is prev_index + 1. */
void node_payloads_reset(struct node_payloads *p, raft_index prev_index);
uint64_t node_payloads_used(const struct node_payloads *p);

#endif /* RN_NODE_PAYLOADS_H */
