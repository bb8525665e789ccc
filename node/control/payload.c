/* SPDX-License-Identifier: MIT */
/*
 * payload.c - the payload ring's writer side. stage: control.
 *
 * (Before any lcore runs, start-up fills it from the log for control.)
 * The payload ring holds the bytes of every entry in the core's in-memory
 * log window, kept by log index (payloads.h). The core handles metadata
 * only (its entries carry a handle); the bytes live here from the moment they
 * arrive (a client request on the leader, an AppendEntries on a follower)
 * until the core releases the entry: they are what the leader replicates
 * and what the state machine applies. One copy in, none on the way out
 * (AppendEntries frames are built straight from here).
 *
 * Entries are appended in index order and released in index order, so the
 * bytes form a FIFO in one buffer sized at start (log_payload_bytes_max). A
 * record never wraps: when it does not fit before the end of the buffer,
 * the gap is skipped. A truncation (a rolled-back suffix) moves the head back
 * to where the first dropped entry began.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "payloads.h"

int node_payloads_init(struct node_payloads *p, uint32_t entries_max, uint64_t bytes_max)
{
	RN_ASSERT(entries_max > 0);
	RN_ASSERT((entries_max & (entries_max - 1)) == 0);
	memset(p, 0, sizeof(*p));
	p->bytes = malloc(bytes_max);
	p->slots = calloc(entries_max, sizeof(*p->slots));
	if (p->bytes == NULL || p->slots == NULL) {
		node_payloads_fini(p);
		return -ENOMEM;
	}
	/* Touch the ring once so the memory the node will use is resident
	 * from the start (RSS is then flat under load). */
	rn_prefault(p->bytes, bytes_max);
	rn_prefault(p->slots, (size_t)entries_max * sizeof(*p->slots));
	p->bytes_max = bytes_max;
	p->mask = entries_max - 1u;
	p->first_index = 1;
	p->last_index = 0;
	return 0;
}

void node_payloads_fini(struct node_payloads *p)
{
	free(p->bytes);
	free(p->slots);
	p->bytes = NULL;
	p->slots = NULL;
}

uint64_t node_payloads_used(const struct node_payloads *p)
{
	RN_ASSERT(p->tail <= p->head);
	RN_ASSERT(p->head - p->tail <= p->bytes_max);
	return p->head - p->tail;
}

/* Room for `count` more records of `bytes` in all, allowing one skipped gap
 * at the end of the buffer per record at worst is too pessimistic: records
 * are small next to the ring, so allow for one gap of the largest kind. */
bool node_payloads_room(const struct node_payloads *p, uint64_t bytes, uint32_t count)
{
	RN_ASSERT(p->first_index <= p->last_index + 1);
	uint64_t gap = count > 0 ? rn_min_u64(bytes, p->bytes_max) : 0;
	return node_payloads_used(p) + bytes + gap <= p->bytes_max &&
	       p->last_index + 1 - p->first_index + count <= p->mask + 1;
}

uint64_t node_payloads_alloc(struct node_payloads *p, uint32_t bytes)
{
	RN_ASSERT(p->bytes_max > 0);
	RN_ASSERT(p->tail <= p->head);
	uint64_t phys = p->head % p->bytes_max;
	uint64_t pad = phys + bytes > p->bytes_max ? p->bytes_max - phys : 0;
	if (bytes > p->bytes_max || p->head + pad + bytes - p->tail > p->bytes_max) {
		return UINT64_MAX;
	}
	uint64_t offset = p->head + pad;
	p->head = offset + bytes;
	RN_ASSERT(offset % p->bytes_max + bytes <= p->bytes_max); /* a record never wraps */
	return offset;
}

void node_payloads_set(struct node_payloads *p, const struct node_slot *slot)
{
	/* Entries arrive in order: the next one, or the first after a gap that
	 * a restart or release left (then everything below is gone). */
	RN_ASSERT(slot->index == p->last_index + 1);
	RN_ASSERT(slot->index - p->first_index <= p->mask);
	RN_ASSERT(slot->offset + slot->bytes <= p->head); /* its payload is allocated */
	p->slots[slot->index & p->mask] = *slot;
	p->last_index = slot->index;
}

void node_payloads_truncate(struct node_payloads *p, raft_index index)
{
	if (index > p->last_index) {
		return;
	}
	RN_ASSERT(index >= p->first_index);
	const struct node_slot *first_dropped = node_payloads_slot(p, index);
	RN_ASSERT(first_dropped != NULL);
	p->head = first_dropped->offset;
	for (raft_index i = index; i <= p->last_index; i++) {
		p->slots[i & p->mask].index = 0;
	}
	p->last_index = index - 1;
	RN_ASSERT(p->first_index <= p->last_index + 1);
}

void node_payloads_release(struct node_payloads *p, raft_index index)
{
	while (p->first_index < index && p->first_index <= p->last_index) {
		p->slots[p->first_index & p->mask].index = 0;
		p->first_index++;
	}
	if (p->first_index > p->last_index) {
		p->first_index = p->last_index + 1;
		p->tail = p->head;
	} else {
		p->tail = p->slots[p->first_index & p->mask].offset;
	}
	RN_ASSERT(p->first_index <= p->last_index + 1);
	RN_ASSERT(p->tail <= p->head);
}

void node_payloads_reset(struct node_payloads *p, raft_index prev_index)
{
	for (raft_index i = p->first_index; i <= p->last_index; i++) {
		p->slots[i & p->mask].index = 0;
	}
	p->first_index = prev_index + 1;
	p->last_index = prev_index;
	p->tail = p->head;
}
