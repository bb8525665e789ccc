/* SPDX-License-Identifier: MIT */
/*
 * kv_index.h - the key-value store's hash and its open-addressing index
 * (hash -> slot, linear probing, at most half full), used for keys and for
 * client sessions alike. stage: apply (kv.c's, header-only).
 */
#ifndef RN_NODE_KV_INDEX_H
#define RN_NODE_KV_INDEX_H

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define KV_EMPTY UINT32_MAX

/* ---- hashing ------------------------------------------------------------ */

/* Eight bytes a step (little-endian words: every node hashes alike), then
 * a finalizer: FNV-1a's multiply per byte, on each put's key and on both
 * value digests, was 8 % of a leader's CPU at 1,000 in flight. */
static inline uint64_t kv_hash(const uint8_t *bytes, size_t count)
{
	RN_ASSERT(bytes != NULL || count == 0);
	uint64_t h = 0xcbf29ce484222325ull ^ count, w;
	size_t i = 0;
	for (; i + 8 <= count; i += 8) {
		memcpy(&w, bytes + i, 8); /* a load, not a call */
		h = (h ^ le64toh(w)) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	for (w = 0; i < count; i++) {
		w = w << 8 | bytes[i];
	}
	return rn_mix64((h ^ w) * 0x9e3779b97f4a7c15ull);
}

/* ---- open-addressing index: hash -> slot ------------------------------- */

struct kv_index {
	uint32_t *cells; /* slot numbers, KV_EMPTY when free */
	uint64_t mask;
};

static inline uint64_t kv_index_cap(uint32_t entries_max)
{
	uint64_t cap = 16;
	while (cap < 2ull * entries_max) {
		cap *= 2;
	}
	RN_ASSERT(cap >= 2ull * entries_max); /* load factor at most one half */
	return cap;
}

static inline int kv_index_init(struct kv_index *ix, uint32_t entries_max)
{
	uint64_t cap = kv_index_cap(entries_max);
	ix->cells = malloc(cap * sizeof(*ix->cells));
	if (ix->cells == NULL) {
		return -ENOMEM;
	}
	memset(ix->cells, 0xff, cap * sizeof(*ix->cells));
	ix->mask = cap - 1;
	RN_ASSERT((cap & ix->mask) == 0); /* a power of two: hash & mask */
	return 0;
}

/* Removes the cell at `pos`, shifting later members of its probe run back
 * (Knuth 6.4, algorithm R). `hashes` gives each slot's hash. */
static inline void kv_index_remove(struct kv_index *ix, uint64_t pos, const uint64_t *hashes)
{
	uint64_t hole = pos;
	uint64_t j = pos;
	RN_ASSERT(pos <= ix->mask);
	RN_ASSERT(ix->cells[pos] != KV_EMPTY); /* removes a member */
	ix->cells[hole] = KV_EMPTY;
	for (;;) {
		j = (j + 1) & ix->mask;
		uint32_t slot = ix->cells[j];
		if (slot == KV_EMPTY) {
			return;
		}
		uint64_t home = hashes[slot] & ix->mask;
		/* Move it into the hole unless its home lies cyclically in
		 * (hole, j]: then it is still reachable where it is. */
		bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!stays) {
			ix->cells[hole] = slot;
			ix->cells[j] = KV_EMPTY;
			hole = j;
		}
	}
}

#endif
