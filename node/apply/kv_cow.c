/* SPDX-License-Identifier: MIT */
/*
 * kv_cow.c - copy-on-write of the key-value state machine's arrays while a
 * snapshot is written (kv_internal.h says how and why). stage: apply (the
 * touch, begin and end run on the apply stage's lcore; kv_cow_take runs
 * on the snapshot writer thread, and the per-chunk atomic state is what
 * keeps the two from ever reading a byte the other writes).
 *
 * Costs: nothing while no snapshot runs but a predictable branch per write;
 * while one runs, one atomic load per written chunk, and one copy of at
 * most KV_COW_CHUNK_BYTES (4 KiB, a fraction of a microsecond; an arena
 * chunk is whole slots, at least one) the first time a chunk is written. The apply stage never waits on the writer.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "kv_internal.h"

static void cow_region_set(struct kv_cow_region *c, void *live, uint64_t bytes,
			   uint64_t chunk_bytes)
{
	RN_ASSERT(chunk_bytes > 0);
	c->live = live;
	c->bytes = bytes;
	c->chunk_bytes = chunk_bytes;
	c->chunks = (bytes + chunk_bytes - 1) / chunk_bytes;
}

/* The arena's chunks are whole slots: a value write never spans two. */
static uint64_t cow_arena_chunk_bytes(uint64_t slot_bytes)
{
	uint64_t slots = rn_max_u64(1, KV_COW_CHUNK_BYTES / slot_bytes);
	return slots * slot_bytes;
}

uint64_t kv_cow_memory_bytes(const struct node_kv_config *cfg)
{
	uint64_t slot_bytes = (uint64_t)cfg->key_bytes_max + cfg->value_bytes_max;
	uint64_t per_key = slot_bytes + sizeof(uint16_t) + sizeof(uint32_t);
	uint64_t bytes = cfg->keys_max * per_key + cfg->clients_max * sizeof(struct kv_session) +
			 node_window_bytes(cfg->clients_max, cfg->session_window);
	/* The states: a byte per chunk (at most one per 4 KiB), plus the
	 * writer's one chunk. */
	return bytes + bytes / KV_COW_CHUNK_BYTES + KV_REGIONS +
	       rn_max_u64(cow_arena_chunk_bytes(slot_bytes), KV_COW_CHUNK_BYTES);
}

uint64_t kv_cow_chunk_bytes_max(const struct node_kv *kv)
{
	return rn_max_u64(kv->cow[KV_R_ARENA].chunk_bytes, KV_COW_CHUNK_BYTES);
}

int node_kv_snapshot_reserve(struct node_kv *kv)
{
	RN_ASSERT(!kv->cow_reserved);
	const struct node_kv_config *cfg = &kv->cfg;
	uint64_t win = (uint64_t)cfg->clients_max * cfg->session_window;
	cow_region_set(&kv->cow[KV_R_ARENA], kv->arena, cfg->keys_max * kv->slot_bytes,
		       cow_arena_chunk_bytes(kv->slot_bytes));
	cow_region_set(&kv->cow[KV_R_KEY_LEN], kv->key_len, cfg->keys_max * sizeof(uint16_t),
		       KV_COW_CHUNK_BYTES);
	cow_region_set(&kv->cow[KV_R_VALUE_LEN], kv->value_len, cfg->keys_max * sizeof(uint32_t),
		       KV_COW_CHUNK_BYTES);
	cow_region_set(&kv->cow[KV_R_SESSIONS], kv->sessions,
		       cfg->clients_max * sizeof(struct kv_session), KV_COW_CHUNK_BYTES);
	cow_region_set(&kv->cow[KV_R_WIN_SEQ], kv->windows.seq, win * sizeof(uint64_t),
		       KV_COW_CHUNK_BYTES);
	cow_region_set(&kv->cow[KV_R_WIN_STATUS], kv->windows.status, win, KV_COW_CHUNK_BYTES);
	for (int r = 0; r < KV_REGIONS; r++) {
		struct kv_cow_region *c = &kv->cow[r];
		c->copy = malloc(c->bytes);
		c->state = calloc(c->chunks, 1);
		if (c->copy == NULL || c->state == NULL) {
			return -ENOMEM; /* node_kv_destroy frees what was made */
		}
		/* Resident now: a page fault on the apply path would cost
		 * more than the copy, and the memory is the configuration's. */
		rn_prefault(c->copy, c->bytes);
		/* Nothing runs: every chunk counts as copied. */
		memset(c->state, KV_COW_DONE, c->chunks);
	}
	kv->cow_reserved = true;
	return 0;
}

void kv_cow_free(struct node_kv *kv)
{
	for (int r = 0; r < KV_REGIONS; r++) {
		free(kv->cow[r].copy);
		free(kv->cow[r].state);
		kv->cow[r].copy = NULL;
		kv->cow[r].state = NULL;
	}
}

void kv_cow_begin(struct node_kv *kv)
{
	RN_ASSERT(kv->cow_reserved);
	RN_ASSERT(!kv->cow_active);
	for (int r = 0; r < KV_REGIONS; r++) {
		/* Plain stores: the writer is started after this, through a
		 * semaphore post (release), and reads nothing before. */
		memset(kv->cow[r].state, KV_COW_PENDING, kv->cow[r].chunks);
	}
	kv->cow_active = true;
}

void kv_cow_end(struct node_kv *kv)
{
	RN_ASSERT(kv->cow_active);
	kv->cow_active = false;
}

void kv_cow_touch_slow(struct node_kv *kv, enum kv_region r, uint64_t offset, uint64_t count)
{
	struct kv_cow_region *c = &kv->cow[r];
	RN_ASSERT(offset + count <= c->bytes);
	if (count == 0) {
		return;
	}
	for (uint64_t k = offset / c->chunk_bytes; k <= (offset + count - 1) / c->chunk_bytes;
	     k++) {
		uint8_t expect = KV_COW_PENDING;
		if (__atomic_load_n(&c->state[k], __ATOMIC_ACQUIRE) != KV_COW_PENDING ||
		    !__atomic_compare_exchange_n(&c->state[k], &expect, KV_COW_COPYING, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			/* DONE (only this stage ever sets COPYING and finishes
			 * it before returning): the copy has the chunk. */
			RN_ASSERT(expect != KV_COW_COPYING);
			continue;
		}
		uint64_t at = k * c->chunk_bytes;
		uint64_t n = rn_min_u64(c->chunk_bytes, c->bytes - at);
		memcpy(c->copy + at, c->live + at, n);
		kv->cow_chunks_copied++;
		kv->cow_bytes_copied += n;
		__atomic_store_n(&c->state[k], KV_COW_DONE, __ATOMIC_RELEASE);
	}
}

/* The writer's side of one chunk: DONE when this returns. */
static void cow_take_chunk(struct kv_cow_region *c, uint64_t k, uint8_t *wbuf)
{
	uint64_t at = k * c->chunk_bytes;
	uint64_t n = rn_min_u64(c->chunk_bytes, c->bytes - at);
	uint8_t expect = KV_COW_PENDING;
	if (__atomic_load_n(&c->state[k], __ATOMIC_ACQUIRE) == KV_COW_PENDING) {
		/* Optimistic: the apply stage may take the chunk and write it
		 * while this copies; then the CAS fails and this copy, maybe
		 * torn, is dropped (a seqlock's read). On success the apply
		 * stage had not taken it: every byte copied is the snapshot's,
		 * and the release orders the copy before any later write. */
		memcpy(wbuf, c->live + at, n);
		if (__atomic_compare_exchange_n(&c->state[k], &expect, KV_COW_DONE, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			memcpy(c->copy + at, wbuf, n); /* only this thread touches it now */
			return;
		}
	}
	/* The apply stage is copying it (one chunk copy): wait for DONE. */
	while (__atomic_load_n(&c->state[k], __ATOMIC_ACQUIRE) != KV_COW_DONE) {
		sched_yield();
	}
}

const uint8_t *kv_cow_take(struct node_kv *kv, enum kv_region r, uint64_t offset, uint64_t count,
			   uint8_t *wbuf)
{
	struct kv_cow_region *c = &kv->cow[r];
	RN_ASSERT(offset + count <= c->bytes);
	RN_ASSERT(count > 0);
	for (uint64_t k = offset / c->chunk_bytes; k <= (offset + count - 1) / c->chunk_bytes;
	     k++) {
		cow_take_chunk(c, k, wbuf);
	}
	return c->copy + offset;
}
