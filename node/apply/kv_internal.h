/* SPDX-License-Identifier: MIT */
/*
 * kv_internal.h - the key-value state machine's layout, shared by kv.c
 * (applying), kv_cow.c (copy-on-write for snapshots) and kv_snap.c (the
 * snapshot stream: written by the snapshot writer thread, loaded at
 * start). stage: apply.
 *
 * Copy-on-write, and why this design: a snapshot must be consistent at one
 * applied index while apply goes on, in memory sized at start, without
 * fork() (DPDK's hugepage and shared mappings and its lcore threads do not
 * survive a fork: the child would share the NIC's rings and the parent's
 * pages would be copied by the kernel on the commit path, unbounded). A
 * versioned store would need per-key version chains, i.e. allocation per
 * write. So the state's arrays (the key arena, the key and value lengths,
 * the sessions and their windows) are cut into chunks of 4 KiB (the
 * arena's: whole slots), each with a one-byte atomic state, and each array has a second copy of
 * the same size reserved at start (`copy`: worst case, every chunk written
 * during one snapshot). At a snapshot's start every chunk is PENDING. The
 * apply stage, before it writes a byte of a PENDING chunk, takes the chunk
 * (CAS PENDING -> COPYING), copies it to `copy` and marks it DONE: one
 * chunk copy, at most once per chunk per snapshot, and it never waits for
 * anyone. The writer thread reads a PENDING chunk optimistically (a copy
 * of the live bytes into its own buffer, then CAS PENDING -> DONE); if the
 * apply stage took the chunk meanwhile its CAS fails, it throws its copy
 * away and waits for the apply stage's DONE. Either way, once a chunk is
 * DONE, `copy` holds its bytes as they were at the snapshot's index, and
 * the writer reads only `copy`.
 */
#ifndef RN_NODE_APPLY_KV_INTERNAL_H
#define RN_NODE_APPLY_KV_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "kv_index.h"
#include "node.h"
#include "session_window.h"

#define KV_SLOT_FREE UINT16_MAX /* key_len of a slot holding no key */
_Static_assert(NODE_KV_KEY_BYTES_LIMIT < KV_SLOT_FREE, "a key length is never the free mark");
/* A page. snapbench, 1,000,000 keys of 100 B, apply time per entry while
 * snapshots run back to back against none, p99: 64 KiB chunks 8.3x (a
 * first write copies 64 KiB), 16 KiB 3.0x, 4 KiB 1.9x (p50 +0.1 us); the
 * states cost a byte per chunk and the marking at the start ~12 us. */
#define KV_COW_CHUNK_BYTES (4u << 10)

enum kv_cow_state { KV_COW_PENDING = 0, KV_COW_COPYING = 1, KV_COW_DONE = 2 };

/* One array under copy-on-write. */
struct kv_cow_region {
	uint8_t *live;	 /* the state machine's array */
	uint8_t *copy;	 /* its image at the snapshot's index, chunk by chunk */
	uint64_t bytes;
	uint64_t chunk_bytes;
	uint64_t chunks;
	uint8_t *state; /* enum kv_cow_state per chunk (atomic) */
};

enum kv_region { KV_R_ARENA, KV_R_KEY_LEN, KV_R_VALUE_LEN, KV_R_SESSIONS, KV_R_WIN_SEQ,
		 KV_R_WIN_STATUS, KV_REGIONS };

struct kv_session {
	uint64_t client_id;
	raft_index last_index; /* for least-recently-used eviction */
	struct node_window window; /* its recent results, in kv->windows */
	bool used;
};

struct node_kv {
	struct node_kv_config cfg;
	uint64_t slot_bytes; /* key_bytes_max + value_bytes_max */
	/* Keys. */
	uint8_t *arena;
	uint64_t *key_hash;
	uint64_t *pair_digest; /* kv_pair_digest of each live slot, as last set */
	uint16_t *key_len; /* KV_SLOT_FREE: no key */
	uint32_t *value_len;
	uint32_t *free_slots;
	uint32_t free_count;
	struct kv_index keys;
	/* Sessions. */
	struct kv_session *sessions;
	uint64_t *session_hash;
	uint32_t *free_sessions;
	uint32_t free_session_count;
	struct kv_index session_ix;
	struct node_windows windows; /* clients_max x session_window results */
	raft_index applied_index;
	uint64_t digest;
	/* Snapshots (kv_cow.c): regions exist when cow_reserved. */
	bool cow_reserved;
	bool cow_active; /* a snapshot is being written: writes copy first */
	struct kv_cow_region cow[KV_REGIONS];
	uint64_t cow_chunks_copied; /* by the apply stage, all snapshots */
	uint64_t cow_bytes_copied;
};

/* kv.c, for kv_snap.c's load into an empty machine at start: 0, -E2BIG
 * (beyond this machine's limits), -EBADMSG (a state no apply makes). */
int kv_load_pair(struct node_kv *kv, const uint8_t *key, uint16_t key_bytes, const uint8_t *value,
		 uint32_t value_bytes);
int kv_load_session(struct node_kv *kv, uint64_t client_id, raft_index last_index,
		    uint32_t count, const uint64_t *seqs, const uint8_t *statuses);
void kv_load_done(struct node_kv *kv, raft_index index);

/* kv_cow.c. Before the apply stage writes live bytes [offset, offset +
 * count) of region r while a snapshot runs (cheap when none does). */
void kv_cow_touch_slow(struct node_kv *kv, enum kv_region r, uint64_t offset, uint64_t count);
static inline void kv_cow_touch(struct node_kv *kv, enum kv_region r, uint64_t offset,
				uint64_t count)
{
	if (RN_UNLIKELY(kv->cow_active)) {
		kv_cow_touch_slow(kv, r, offset, count);
	}
}
/* The writer thread: makes [offset, offset + count) of region r's copy
 * hold the snapshot's bytes and returns a pointer to them. wbuf: one
 * chunk's room (KV_COW_CHUNK_BYTES rounded up to a slot). */
const uint8_t *kv_cow_take(struct node_kv *kv, enum kv_region r, uint64_t offset, uint64_t count,
			   uint8_t *wbuf);
/* Every chunk PENDING, writes copy first (apply stage, snapshot start). */
void kv_cow_begin(struct node_kv *kv);
/* The writer is done reading: writes go straight on again. */
void kv_cow_end(struct node_kv *kv);
void kv_cow_free(struct node_kv *kv);
/* The largest chunk of any region (the writer's buffer). */
uint64_t kv_cow_chunk_bytes_max(const struct node_kv *kv);
/* Bytes kv_cow_reserve allocates for this configuration. */
uint64_t kv_cow_memory_bytes(const struct node_kv_config *cfg);

#endif /* RN_NODE_APPLY_KV_INTERNAL_H */
