/* SPDX-License-Identifier: MIT */
/*
 * ring.c - the rings between stages (dataplane.h: struct dp_ring): DPDK's
 * rte_ring in single-producer/single-consumer mode, of pointers or of
 * fixed-size records, with the doorbell that wakes an event-idle consumer
 * lcore when a push lands (sched.c sleeps on it). Back-pressure is
 * explicit: a push that does not fit is refused and counted, never dropped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ring.h>

#include "common.h"
#include "dataplane.h"

/* Single producer, single consumer: each end belongs to one lcore.
 * rte_ring_init does not know the record size: the memory is sized for it,
 * and every call on the ring passes it (as rte_ring_create_elem). A ring
 * of pointers is a ring of sizeof(void *) records. */
static int ring_init_mem(struct dp_ring *r, void *mem, size_t mem_bytes, uint32_t elem_bytes,
			   uint32_t slots_count)
{
	RN_ASSERT(r != NULL && mem != NULL);
	ssize_t need = rte_ring_get_memsize_elem(elem_bytes, slots_count);
	if (need <= 0 || (size_t)need > mem_bytes) {
		return -DP_ERR_INVALID;
	}
	struct rte_ring *ring = mem;
	if (rte_ring_init(ring, "dp_ring", slots_count, RING_F_SP_ENQ | RING_F_SC_DEQ) != 0) {
		return -DP_ERR_INVALID;
	}
	memset(r, 0, sizeof(*r));
	r->ring = ring;
	r->elem_bytes = elem_bytes;
	return 0;
}

int dp_ring_init(struct dp_ring *r, void *mem, size_t mem_bytes, uint32_t slots_count)
{
	return ring_init_mem(r, mem, mem_bytes, sizeof(void *), slots_count);
}

static bool ring_elem_bytes_ok(uint32_t elem_bytes)
{
	return elem_bytes > 0 && elem_bytes <= 1024 && elem_bytes % 4 == 0;
}

size_t dp_ring_elem_mem_bytes(uint32_t elem_bytes, uint32_t slots_count)
{
	if (!ring_elem_bytes_ok(elem_bytes)) {
		return 0;
	}
	ssize_t bytes = rte_ring_get_memsize_elem(elem_bytes, slots_count);
	return bytes < 0 ? 0 : (size_t)bytes;
}

int dp_ring_elem_create(struct dp_ring *r, uint32_t elem_bytes, uint32_t slots_count)
{
	RN_ASSERT(r != NULL);
	memset(r, 0, sizeof(*r));
	size_t bytes = dp_ring_elem_mem_bytes(elem_bytes, slots_count);
	if (bytes == 0) {
		return -DP_ERR_INVALID;
	}
	/* aligned_alloc wants a multiple of the alignment. */
	size_t alloc_bytes = (bytes + 63) & ~(size_t)63;
	void *mem = aligned_alloc(64, alloc_bytes);
	if (mem == NULL) {
		return -ENOMEM;
	}
	rn_prefault(mem, alloc_bytes);
	int rc = ring_init_mem(r, mem, alloc_bytes, elem_bytes, slots_count);
	if (rc != 0) {
		free(mem);
		return rc;
	}
	r->owned_mem = mem;
	return 0;
}

void dp_ring_elem_destroy(struct dp_ring *r)
{
	free(r->owned_mem);
	memset(r, 0, sizeof(*r));
}

uint32_t dp_ring_push_elems(struct dp_ring *r, const void *elems, uint32_t count)
{
	uint32_t pushed = rte_ring_sp_enqueue_burst_elem(r->ring, elems, r->elem_bytes, count, NULL);
	if (pushed < count) {
		r->pushes_refused += count - pushed; /* back-pressure, not a drop */
	}
	if (pushed > 0 && r->doorbell != NULL) {
		dp_doorbell_ring(r->doorbell);
	}
	return pushed;
}

struct dp_doorbell *dp_doorbell_wire(struct dp_doorbell *d)
{
	if (d == NULL || d->fd < 0) {
		return NULL;
	}
	d->producers++;
	return d;
}

void dp_ring_set_doorbell(struct dp_ring *r, struct dp_doorbell *d)
{
	RN_ASSERT(r != NULL);
	r->doorbell = dp_doorbell_wire(d);
}

uint32_t dp_ring_pop_elems(struct dp_ring *r, void *elems, uint32_t count_max)
{
	return rte_ring_sc_dequeue_burst_elem(r->ring, elems, r->elem_bytes, count_max, NULL);
}

uint32_t dp_ring_count(const struct dp_ring *r)
{
	return rte_ring_count(r->ring);
}

size_t dp_ring_mem_bytes(uint32_t slots_count)
{
	return dp_ring_elem_mem_bytes(sizeof(void *), slots_count);
}

uint32_t dp_ring_push_burst(struct dp_ring *r, void *const *objs, uint32_t count)
{
	return dp_ring_push_elems(r, objs, count);
}

uint32_t dp_ring_pop_burst(struct dp_ring *r, void **objs, uint32_t count_max)
{
	return dp_ring_pop_elems(r, objs, count_max);
}
