/* SPDX-License-Identifier: MIT */
/*
 * kv.c - the replicated key-value state machine (see node.h). stage: apply
 * (the apply stage owns it once the node runs; start-up replays into it).
 *
 * Layout, all allocated at create: keys live in keys_max fixed-size data
 * slots (key bytes, then value bytes, at slot * (key_bytes_max +
 * value_bytes_max) in one arena) taken from a free stack; an open-addressing
 * index with linear probing maps a key's hash to its slot. Deletion shifts
 * the probe run back instead of leaving tombstones, so lookups stay short
 * however many deletes happen. Client sessions use the same index shape;
 * each keeps a window of its client's session_window most recent results
 * (session_window.c). Every operation is O(key + value bytes) but for the
 * rare eviction of the least recently used session, a scan of the sessions
 * (O(clients_max)), and a late retry inside a window (O(session_window)).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "node.h"
#include "kv_internal.h"

uint64_t node_kv_memory_bytes(const struct node_kv_config *cfg)
{
	uint64_t per_key = (uint64_t)cfg->key_bytes_max + cfg->value_bytes_max +
			   2 * sizeof(uint64_t) + sizeof(uint16_t) + 2 * sizeof(uint32_t);
	uint64_t per_session = sizeof(struct kv_session) + sizeof(uint64_t) + sizeof(uint32_t);
	return sizeof(struct node_kv) + cfg->keys_max * per_key +
	       kv_index_cap(cfg->keys_max) * sizeof(uint32_t) + cfg->clients_max * per_session +
	       kv_index_cap(cfg->clients_max) * sizeof(uint32_t) +
	       node_window_bytes(cfg->clients_max, cfg->session_window);
}

static bool kv_config_valid(const struct node_kv_config *c)
{
	return c->keys_max >= 1 && c->keys_max <= NODE_KV_KEYS_LIMIT && c->key_bytes_max >= 1 &&
	       c->key_bytes_max <= NODE_KV_KEY_BYTES_LIMIT &&
	       c->value_bytes_max <= NODE_KV_VALUE_BYTES_LIMIT && c->clients_max >= 1 &&
	       c->clients_max <= NODE_KV_CLIENTS_LIMIT && c->session_window >= 1 &&
	       c->session_window <= NODE_KV_SESSION_WINDOW_LIMIT &&
	       (uint64_t)c->clients_max * c->session_window <= NODE_KV_WINDOW_ENTRIES_LIMIT;
}

int node_kv_create(const struct node_kv_config *cfg, struct node_kv **out)
{
	if (cfg == NULL || out == NULL || !kv_config_valid(cfg)) {
		return -EINVAL;
	}
	struct node_kv *kv = calloc(1, sizeof(*kv));
	if (kv == NULL) {
		return -ENOMEM;
	}
	kv->cfg = *cfg;
	kv->slot_bytes = (uint64_t)cfg->key_bytes_max + cfg->value_bytes_max;
	kv->arena = malloc(cfg->keys_max * kv->slot_bytes);
	kv->key_hash = calloc(cfg->keys_max, sizeof(*kv->key_hash));
	kv->pair_digest = calloc(cfg->keys_max, sizeof(*kv->pair_digest));
	kv->key_len = calloc(cfg->keys_max, sizeof(*kv->key_len));
	kv->value_len = calloc(cfg->keys_max, sizeof(*kv->value_len));
	kv->free_slots = malloc(cfg->keys_max * sizeof(*kv->free_slots));
	kv->sessions = calloc(cfg->clients_max, sizeof(*kv->sessions));
	kv->session_hash = calloc(cfg->clients_max, sizeof(*kv->session_hash));
	kv->free_sessions = malloc(cfg->clients_max * sizeof(*kv->free_sessions));
	if (kv->arena == NULL || kv->key_hash == NULL || kv->pair_digest == NULL ||
	    kv->key_len == NULL ||
	    kv->value_len == NULL || kv->free_slots == NULL || kv->sessions == NULL ||
	    kv->session_hash == NULL || kv->free_sessions == NULL ||
	    kv_index_init(&kv->keys, cfg->keys_max) != 0 ||
	    kv_index_init(&kv->session_ix, cfg->clients_max) != 0 ||
	    node_window_init(&kv->windows, cfg->clients_max, cfg->session_window) != 0) {
		node_kv_destroy(kv);
		return -ENOMEM;
	}
	/* Touch the value arena now: the memory is the configuration's from
	 * the start, and RSS does not creep up as keys arrive. */
	rn_prefault(kv->arena, cfg->keys_max * kv->slot_bytes);
	/* Free stacks pop the lowest slot first: deterministic placement. */
	for (uint32_t i = 0; i < cfg->keys_max; i++) {
		kv->free_slots[i] = cfg->keys_max - 1 - i;
	}
	kv->free_count = cfg->keys_max;
	memset(kv->key_len, 0xff, cfg->keys_max * sizeof(*kv->key_len)); /* KV_SLOT_FREE */
	for (uint32_t i = 0; i < cfg->clients_max; i++) {
		kv->free_sessions[i] = cfg->clients_max - 1 - i;
	}
	kv->free_session_count = cfg->clients_max;
	*out = kv;
	return 0;
}

void node_kv_destroy(struct node_kv *kv)
{
	if (kv == NULL) {
		return;
	}
	free(kv->arena);
	free(kv->key_hash);
	free(kv->pair_digest);
	free(kv->key_len);
	free(kv->value_len);
	free(kv->free_slots);
	free(kv->keys.cells);
	free(kv->sessions);
	free(kv->session_hash);
	free(kv->free_sessions);
	free(kv->session_ix.cells);
	node_window_fini(&kv->windows);
	kv_cow_free(kv);
	free(kv);
}

static uint8_t *kv_key_at(const struct node_kv *kv, uint32_t slot)
{
	RN_ASSERT(slot < kv->cfg.keys_max);
	return kv->arena + (uint64_t)slot * kv->slot_bytes;
}

static uint8_t *kv_value_at(const struct node_kv *kv, uint32_t slot)
{
	return kv_key_at(kv, slot) + kv->cfg.key_bytes_max;
}

/* Index position of `key`, or of the empty cell where it would go. */
static uint64_t kv_find(const struct node_kv *kv, const uint8_t *key, uint16_t key_bytes,
			uint64_t hash, bool *found)
{
	uint64_t pos = hash & kv->keys.mask;
	for (;;) {
		uint32_t slot = kv->keys.cells[pos];
		if (slot == KV_EMPTY) {
			*found = false;
			return pos;
		}
		if (kv->key_hash[slot] == hash && kv->key_len[slot] == key_bytes &&
		    memcmp(kv_key_at(kv, slot), key, key_bytes) == 0) {
			*found = true;
			return pos;
		}
		pos = (pos + 1) & kv->keys.mask;
	}
}

/* The digest is the XOR of one 64-bit mix per live pair, so it depends on
 * the state, not on the order of the operations that led to it. */
static uint64_t kv_pair_digest(const struct node_kv *kv, uint32_t slot)
{
	RN_ASSERT(kv->value_len[slot] <= kv->cfg.value_bytes_max);
	uint64_t vh = kv_hash(kv_value_at(kv, slot), kv->value_len[slot]);
	return rn_mix64(kv->key_hash[slot] ^ (vh << 17 | vh >> 47) ^ 0x5eedull);
}

static void kv_set_value(struct node_kv *kv, uint32_t slot, const uint8_t *value,
			 uint32_t value_bytes)
{
	RN_ASSERT(value_bytes <= kv->cfg.value_bytes_max); /* kv_execute: TOO_BIG */
	kv_cow_touch(kv, KV_R_ARENA, (uint64_t)slot * kv->slot_bytes, kv->slot_bytes);
	kv_cow_touch(kv, KV_R_VALUE_LEN, (uint64_t)slot * sizeof(uint32_t), sizeof(uint32_t));
	/* The old pair's mix as it was computed when its value was set, not
	 * hashed again: a put of a 1 KiB value over another hashed both, 9-12
	 * % of the nodes' CPU at 1,000 in flight (perf, bench-auth). */
	kv->digest ^= kv->pair_digest[slot];
	memcpy(kv_value_at(kv, slot), value, value_bytes);
	kv->value_len[slot] = value_bytes;
	kv->pair_digest[slot] = kv_pair_digest(kv, slot);
	kv->digest ^= kv->pair_digest[slot];
}

static uint8_t kv_put(struct node_kv *kv, const struct node_kv_command *c, uint64_t hash)
{
	bool found;
	uint64_t pos = kv_find(kv, c->key, c->key_bytes, hash, &found);
	if (found) {
		kv_set_value(kv, kv->keys.cells[pos], c->value, c->value_bytes);
		return NODE_KV_OK;
	}
	if (kv->free_count == 0) {
		return NODE_KV_FULL;
	}
	uint32_t slot = kv->free_slots[--kv->free_count];
	RN_ASSERT(c->key_bytes <= kv->cfg.key_bytes_max); /* kv_execute: TOO_BIG */
	RN_ASSERT(kv->key_len[slot] == KV_SLOT_FREE);
	kv_cow_touch(kv, KV_R_ARENA, (uint64_t)slot * kv->slot_bytes, kv->slot_bytes);
	kv_cow_touch(kv, KV_R_KEY_LEN, (uint64_t)slot * sizeof(uint16_t), sizeof(uint16_t));
	kv_cow_touch(kv, KV_R_VALUE_LEN, (uint64_t)slot * sizeof(uint32_t), sizeof(uint32_t));
	kv->keys.cells[pos] = slot;
	kv->key_hash[slot] = hash;
	kv->key_len[slot] = c->key_bytes;
	memcpy(kv_key_at(kv, slot), c->key, c->key_bytes);
	kv->value_len[slot] = c->value_bytes;
	memcpy(kv_value_at(kv, slot), c->value, c->value_bytes);
	kv->pair_digest[slot] = kv_pair_digest(kv, slot);
	kv->digest ^= kv->pair_digest[slot];
	return NODE_KV_OK;
}

static uint8_t kv_del(struct node_kv *kv, const struct node_kv_command *c, uint64_t hash)
{
	bool found;
	uint64_t pos = kv_find(kv, c->key, c->key_bytes, hash, &found);
	if (!found) {
		return NODE_KV_NOT_FOUND;
	}
	uint32_t slot = kv->keys.cells[pos];
	RN_ASSERT(kv->pair_digest[slot] == kv_pair_digest(kv, slot)); /* the cache holds */
	kv->digest ^= kv->pair_digest[slot];
	kv_index_remove(&kv->keys, pos, kv->key_hash);
	kv_cow_touch(kv, KV_R_KEY_LEN, (uint64_t)slot * sizeof(uint16_t), sizeof(uint16_t));
	kv->key_len[slot] = KV_SLOT_FREE;
	kv->free_slots[kv->free_count++] = slot;
	RN_ASSERT(kv->free_count <= kv->cfg.keys_max);
	return NODE_KV_OK;
}

static uint8_t kv_get_or_cas(struct node_kv *kv, const struct node_kv_command *c, uint64_t hash,
			     struct node_kv_result *res)
{
	bool found;
	RN_ASSERT(c->op == NODE_KV_GET || c->op == NODE_KV_CAS);
	uint64_t pos = kv_find(kv, c->key, c->key_bytes, hash, &found);
	if (!found) {
		return NODE_KV_NOT_FOUND;
	}
	uint32_t slot = kv->keys.cells[pos];
	if (c->op == NODE_KV_CAS) {
		if (kv->value_len[slot] == c->expected_bytes &&
		    memcmp(kv_value_at(kv, slot), c->expected, c->expected_bytes) == 0) {
			kv_set_value(kv, slot, c->value, c->value_bytes);
			return NODE_KV_OK;
		}
		res->value = kv_value_at(kv, slot); /* what it is instead */
		res->value_bytes = kv->value_len[slot];
		return NODE_KV_CAS_MISMATCH;
	}
	res->value = kv_value_at(kv, slot);
	res->value_bytes = kv->value_len[slot];
	return NODE_KV_OK;
}

/* ---- sessions ------------------------------------------------------------ */

static struct kv_session *kv_session_find(struct node_kv *kv, uint64_t client_id, uint64_t *pos_out)
{
	uint64_t hash = rn_mix64(client_id);
	uint64_t pos = hash & kv->session_ix.mask;
	for (;;) {
		uint32_t slot = kv->session_ix.cells[pos];
		*pos_out = pos;
		if (slot == KV_EMPTY) {
			return NULL;
		}
		if (kv->sessions[slot].client_id == client_id) {
			return &kv->sessions[slot];
		}
		pos = (pos + 1) & kv->session_ix.mask;
	}
}

/* Frees the session used longest ago (lowest last index; ties: lowest
 * client id), so that the choice is the same on every node. */
static void kv_session_evict(struct node_kv *kv)
{
	uint32_t victim = KV_EMPTY;
	RN_ASSERT(kv->free_session_count == 0); /* only when every session is taken */
	for (uint32_t i = 0; i < kv->cfg.clients_max; i++) {
		const struct kv_session *s = &kv->sessions[i];
		if (s->used &&
		    (victim == KV_EMPTY || s->last_index < kv->sessions[victim].last_index ||
		     (s->last_index == kv->sessions[victim].last_index &&
		      s->client_id < kv->sessions[victim].client_id))) {
			victim = i;
		}
	}
	RN_ASSERT(victim != KV_EMPTY);
	uint64_t pos;
	struct kv_session *s = kv_session_find(kv, kv->sessions[victim].client_id, &pos);
	RN_ASSERT(s == &kv->sessions[victim]);
	kv_index_remove(&kv->session_ix, pos, kv->session_hash);
	kv_cow_touch(kv, KV_R_SESSIONS, victim * sizeof(*s), sizeof(*s));
	s->used = false;
	kv->free_sessions[kv->free_session_count++] = victim;
}

static void kv_session_record(struct node_kv *kv, const struct node_kv_command *c, raft_index index,
			      uint8_t status)
{
	uint64_t pos;
	RN_ASSERT(c->client_id != 0); /* 0: no session */
	struct kv_session *s = kv_session_find(kv, c->client_id, &pos);
	if (s == NULL) {
		if (kv->free_session_count == 0) {
			kv_session_evict(kv);
			s = kv_session_find(kv, c->client_id, &pos); /* the cell may have moved */
			RN_ASSERT(s == NULL);
		}
		uint32_t slot = kv->free_sessions[--kv->free_session_count];
		RN_ASSERT(slot < kv->cfg.clients_max);
		kv->session_ix.cells[pos] = slot;
		kv->session_hash[slot] = rn_mix64(c->client_id);
		s = &kv->sessions[slot];
		kv_cow_touch(kv, KV_R_SESSIONS, slot * sizeof(*s), sizeof(*s));
		/* A new session, or an evicted one's slot: an empty window. */
		*s = (struct kv_session){.client_id = c->client_id, .used = true};
	}
	uint32_t slot = (uint32_t)(s - kv->sessions);
	uint64_t width = kv->cfg.session_window;
	kv_cow_touch(kv, KV_R_SESSIONS, slot * sizeof(*s), sizeof(*s));
	kv_cow_touch(kv, KV_R_WIN_SEQ, slot * width * sizeof(uint64_t), width * sizeof(uint64_t));
	kv_cow_touch(kv, KV_R_WIN_STATUS, slot * width, width);
	node_window_record(&kv->windows, slot, &s->window, c->seq, status);
	s->last_index = index;
}

/* ---- loading a snapshot (kv_snap.c) --------------------------------------- */

int kv_load_pair(struct node_kv *kv, const uint8_t *key, uint16_t key_bytes, const uint8_t *value,
		 uint32_t value_bytes)
{
	if (key_bytes > kv->cfg.key_bytes_max || value_bytes > kv->cfg.value_bytes_max) {
		return -E2BIG;
	}
	RN_ASSERT(!kv->cow_active); /* at start, before any snapshot */
	struct node_kv_command c = {.op = NODE_KV_PUT, .key = key, .key_bytes = key_bytes,
				    .value = value, .value_bytes = value_bytes};
	uint64_t hash = kv_hash(key, key_bytes);
	bool found;
	kv_find(kv, key, key_bytes, hash, &found);
	if (found) {
		return -EBADMSG; /* a key twice: not a state this machine makes */
	}
	return kv_put(kv, &c, hash) == NODE_KV_OK ? 0 : -E2BIG;
}

int kv_load_session(struct node_kv *kv, uint64_t client_id, raft_index last_index,
		    uint32_t count, const uint64_t *seqs, const uint8_t *statuses)
{
	uint64_t pos;
	if (client_id == 0 || count > kv->cfg.session_window || kv->free_session_count == 0) {
		return -E2BIG;
	}
	if (kv_session_find(kv, client_id, &pos) != NULL) {
		return -EBADMSG;
	}
	uint32_t slot = kv->free_sessions[--kv->free_session_count];
	kv->session_ix.cells[pos] = slot;
	kv->session_hash[slot] = rn_mix64(client_id);
	struct kv_session *s = &kv->sessions[slot];
	*s = (struct kv_session){.client_id = client_id, .last_index = last_index, .used = true};
	for (uint32_t i = 0; i < count; i++) {
		if (i > 0 && seqs[i] <= seqs[i - 1]) {
			return -EBADMSG; /* a window is ascending */
		}
		node_window_record(&kv->windows, slot, &s->window, seqs[i], statuses[i]);
	}
	return 0;
}

void kv_load_done(struct node_kv *kv, raft_index index)
{
	RN_ASSERT(kv->applied_index == 0); /* loaded into an empty machine */
	kv->applied_index = index;
}

/* ---- applying --------------------------------------------------------------- */

static uint8_t kv_execute(struct node_kv *kv, const struct node_kv_command *c,
			  struct node_kv_result *res)
{
	if (c->key_bytes > kv->cfg.key_bytes_max || c->value_bytes > kv->cfg.value_bytes_max) {
		return NODE_KV_TOO_BIG;
	}
	uint64_t hash = kv_hash(c->key, c->key_bytes);
	switch (c->op) {
	case NODE_KV_PUT:
		return kv_put(kv, c, hash);
	case NODE_KV_DEL:
		return kv_del(kv, c, hash);
	default:
		return kv_get_or_cas(kv, c, hash, res);
	}
}

void node_kv_apply_command(struct node_kv *kv, raft_index index, const struct node_kv_command *c,
			   struct node_kv_result *res)
{
	RN_ASSERT(index == kv->applied_index + 1);
	/* The caller mapped a validated request's op (bytes from the network
	 * are checked by the wire decoder, not here). */
	RN_ASSERT(c->op >= NODE_KV_PUT);
	RN_ASSERT(c->op <= NODE_KV_CAS);
	kv->applied_index = index;
	*res = (struct node_kv_result){0};
	if (c->client_id != 0) {
		uint64_t pos;
		const struct kv_session *s = kv_session_find(kv, c->client_id, &pos);
		enum node_window_verdict v =
			s == NULL ? NODE_WINDOW_NEW
				  : node_window_check(&kv->windows, (uint32_t)(s - kv->sessions),
						      &s->window, c->seq, &res->status);
		if (v == NODE_WINDOW_STALE) {
			/* Older than the window's span: it may have been applied
			 * and the window no longer tells, so it is refused. */
			res->status = NODE_KV_STALE;
			return;
		}
		if (v == NODE_WINDOW_DUPLICATE) {
			/* A retry of a command already applied: answer as the
			 * first time (res->status), change nothing (exactly-once). */
			res->duplicate = true;
			return;
		}
		/* NEW: after the newest, or lost and retransmitted inside the span. */
	}
	res->status = kv_execute(kv, c, res);
	if (c->client_id != 0) {
		kv_session_record(kv, c, index, res->status);
	}
}

void node_kv_skip(struct node_kv *kv, raft_index index)
{
	RN_ASSERT(index == kv->applied_index + 1);
	kv->applied_index = index;
}

int node_kv_get(const struct node_kv *kv, const uint8_t *key, uint16_t key_bytes,
		const uint8_t **value, uint32_t *value_bytes)
{
	bool found;
	uint64_t pos = kv_find(kv, key, key_bytes, kv_hash(key, key_bytes), &found);
	if (!found) {
		return NODE_KV_NOT_FOUND;
	}
	uint32_t slot = kv->keys.cells[pos];
	*value = kv_value_at(kv, slot);
	*value_bytes = kv->value_len[slot];
	RN_ASSERT(*value_bytes <= kv->cfg.value_bytes_max);
	return NODE_KV_OK;
}

raft_index node_kv_applied_index(const struct node_kv *kv)
{
	return kv->applied_index;
}

uint32_t node_kv_keys_count(const struct node_kv *kv)
{
	RN_ASSERT(kv->free_count <= kv->cfg.keys_max);
	return kv->cfg.keys_max - kv->free_count;
}

uint64_t node_kv_digest(const struct node_kv *kv)
{
	return kv->digest;
}

const char *node_kv_status_name(int status)
{
	static const char *const names[] = {
		[NODE_KV_OK] = "ok",
		[NODE_KV_NOT_FOUND] = "not found",
		[NODE_KV_CAS_MISMATCH] = "compare-and-swap mismatch",
		[NODE_KV_FULL] = "table full",
		[NODE_KV_TOO_BIG] = "key or value too big",
		[NODE_KV_BAD_COMMAND] = "malformed command",
		[NODE_KV_STALE] = "stale retry",
	};
	if (status < 0 || (size_t)status >= RN_ARRAY_COUNT(names)) {
		return "unknown status";
	}
	return names[status];
}
