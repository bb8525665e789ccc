/* SPDX-License-Identifier: MIT */
/*
 * ring.c - the bounded SPSC rings between snapxfer's thread and the rest of
 * the node (frames in and out with the rx/tx stage, commands and events
 * with control), and the two conversions the rx/tx stage needs: a decoded
 * frame into a ring record, a ring record into a sealed frame.
 *
 * A ring is an array of fixed-size records filled and read in place, with
 * free-running 32-bit head (producer) and tail (consumer) indices on their
 * own cache lines: the producer publishes with a release store of head, the
 * consumer frees with a release store of tail, each reads the other's with
 * acquire. It runs on two threads, the producer's and the consumer's; the
 * wake-up callbacks run on the side that calls push or pop. Its own code
 * instead of dataplane's rte_ring: a record carries a whole chunk (~9 KB),
 * filled where it lies, and snapxfer's tests and thread run without an EAL.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "snapxfer.h"

int snapxfer_ring_init(struct snapxfer_ring *r, uint32_t elem_bytes, uint32_t slots_count)
{
	RN_ASSERT(r != NULL);
	memset(r, 0, sizeof(*r));
	if (elem_bytes == 0 || slots_count < 2 || (slots_count & (slots_count - 1)) != 0 ||
	    (uint64_t)elem_bytes * slots_count > (1ull << 32)) {
		return -EINVAL;
	}
	/* Records start on cache lines so two of them never share one. */
	uint32_t stride = (elem_bytes + RN_CACHE_LINE_BYTES - 1) & ~(RN_CACHE_LINE_BYTES - 1u);
	size_t bytes = (size_t)stride * slots_count;
	r->mem = aligned_alloc(RN_CACHE_LINE_BYTES, bytes);
	if (r->mem == NULL) {
		return -ENOMEM;
	}
	rn_prefault(r->mem, bytes); /* sized at start: resident from the start */
	r->elem_bytes = stride;
	r->slots_count = slots_count;
	return 0;
}

void snapxfer_ring_fini(struct snapxfer_ring *r)
{
	RN_ASSERT(r != NULL);
	free(r->mem);
	r->mem = NULL;
}

static void *ring_slot(const struct snapxfer_ring *r, uint32_t at)
{
	return r->mem + (size_t)(at & (r->slots_count - 1)) * r->elem_bytes;
}

uint32_t snapxfer_ring_count(const struct snapxfer_ring *r)
{
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	return head - tail;
}

uint32_t snapxfer_ring_free(const struct snapxfer_ring *r)
{
	return r->slots_count - snapxfer_ring_count(r);
}

void *snapxfer_ring_reserve(struct snapxfer_ring *r)
{
	RN_ASSERT(r != NULL && r->mem != NULL);
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_RELAXED); /* ours */
	uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	RN_ASSERT(head - tail <= r->slots_count);
	if (head - tail == r->slots_count) {
		r->pushes_refused++;
		return NULL;
	}
	return ring_slot(r, head);
}

void snapxfer_ring_push(struct snapxfer_ring *r)
{
	RN_ASSERT(r != NULL);
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	RN_ASSERT(head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) < r->slots_count);
	__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
	if (r->on_push != NULL) {
		r->on_push(r->on_push_arg);
	}
}

void *snapxfer_ring_peek(struct snapxfer_ring *r)
{
	RN_ASSERT(r != NULL && r->mem != NULL);
	uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_RELAXED); /* ours */
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	return head == tail ? NULL : ring_slot(r, tail);
}

void snapxfer_ring_pop(struct snapxfer_ring *r)
{
	RN_ASSERT(r != NULL);
	uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
	RN_ASSERT(__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) != tail); /* peeked first */
	__atomic_store_n(&r->tail, tail + 1, __ATOMIC_RELEASE);
	if (r->on_pop != NULL) {
		r->on_pop(r->on_pop_arg);
	}
}

int snapxfer_msg_from_rx(struct snapxfer_msg *m, const struct dp_rx_frame *f)
{
	RN_ASSERT(m != NULL && f != NULL);
	m->type = f->type;
	if (f->type == DP_FRAME_SNAP_ACK) {
		m->peer = f->snap_ack.from;
		m->term = f->snap_ack.term;
		m->ack = f->snap_ack;
		return 0;
	}
	if (f->type != DP_FRAME_SNAP_CHUNK || f->snap_chunk.data_bytes > sizeof(m->data)) {
		return -DP_ERR_INVALID;
	}
	m->peer = f->snap_chunk.from;
	m->term = f->snap_chunk.term;
	m->chunk = f->snap_chunk;
	if (m->chunk.data_bytes > 0) {
		memcpy(m->data, f->snap_chunk.data, m->chunk.data_bytes);
	}
	m->chunk.data = m->data;
	return 0;
}

int snapxfer_msg_seal(const struct snapxfer_msg *m, const struct dp_wire *w,
		      const struct dp_endpoints *addr, uint64_t msg_seq, uint8_t *buf,
		      size_t buf_bytes)
{
	RN_ASSERT(m != NULL && w != NULL && addr != NULL && buf != NULL);
	if (m->type == DP_FRAME_SNAP_ACK) {
		return dp_wire_encode_snap_ack(w, addr, msg_seq, m->peer, m->term, &m->ack, buf,
					       buf_bytes);
	}
	if (m->type != DP_FRAME_SNAP_CHUNK) {
		return -DP_ERR_INVALID;
	}
	struct dp_snap_chunk c = m->chunk;
	c.data = m->data; /* the record may have been copied: its own bytes */
	return dp_wire_encode_snap_chunk(w, addr, msg_seq, m->peer, m->term, &c, buf, buf_bytes);
}
