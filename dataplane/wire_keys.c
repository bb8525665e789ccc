/* SPDX-License-Identifier: MIT */
/*
 * wire_keys.c - the key ring: which key seals a frame, which key verifies
 * it, and the live rewrite of both (issue 17: identities and rotation).
 * Readers run on the lcores (rx/tx verifies, control seals), the writer on
 * whatever thread reloads the key files.
 *
 * Each slot is a seqlock: the writer makes seq odd, writes, makes it even;
 * a reader copies the slot and retries when seq was odd or moved. The copy
 * is 32 bytes of key and a few ids: a handful of ns per frame, no lock, no
 * allocation, and a reader never waits on a writer that is not mid-write.
 * The fields are read and written with relaxed atomics, so the copy is no
 * data race in C11's sense, only possibly torn - which seq detects.
 *
 * Verification looks up the one slot whose id the header names (a scan of
 * at most DP_KEYRING_SLOTS = 6 ids: peer, client and admin keys, two
 * each), never tries every key: a frame costs one tag whatever the ring
 * holds.
 *
 * An admin key is a client key on the wire (it seals requests and their
 * replies, never consensus frames); only the node's admin requests ask
 * for it by role (dp_keyring_role).
 */
#include <stdio.h>

#include <sodium.h>

#include "common.h"
#include "wire_internal.h"

_Static_assert(DP_KEY_BYTES % 8 == 0, "the key is copied as 64-bit words");

/* A consistent copy of slot i (seqlock read). */
static void keys_read(const struct dp_keyring *k, uint32_t i, struct dp_key_slot *out)
{
	RN_ASSERT(i < DP_KEYRING_SLOTS);
	const struct dp_key_slot *s = &k->slots[i];
	for (;;) {
		uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		if ((seq & 1u) != 0) {
			continue; /* mid-write: the writer finishes in ns */
		}
		out->key_id = __atomic_load_n(&s->key_id, __ATOMIC_RELAXED);
		out->role = __atomic_load_n(&s->role, __ATOMIC_RELAXED);
		out->used = __atomic_load_n(&s->used, __ATOMIC_RELAXED);
		for (uint32_t w = 0; w < DP_KEY_BYTES / 8; w++) {
			out->key_words[w] = __atomic_load_n(&s->key_words[w], __ATOMIC_RELAXED);
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == seq) {
			out->seq = seq;
			return;
		}
	}
}

/* Slot i rewritten (the writer's side of the seqlock). */
static void keys_write(struct dp_keyring *k, uint32_t i, const struct dp_key_slot *in)
{
	RN_ASSERT(i < DP_KEYRING_SLOTS);
	struct dp_key_slot *s = &k->slots[i];
	uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
	RN_ASSERT((seq & 1u) == 0); /* one writer */
	__atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&s->key_id, in->key_id, __ATOMIC_RELAXED);
	__atomic_store_n(&s->role, in->role, __ATOMIC_RELAXED);
	__atomic_store_n(&s->used, in->used, __ATOMIC_RELAXED);
	for (uint32_t w = 0; w < DP_KEY_BYTES / 8; w++) {
		__atomic_store_n(&s->key_words[w], in->key_words[w], __ATOMIC_RELAXED);
	}
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

/* Role of the key a frame of this type must be sealed with (an admin key
 * seals client frames too: keys_client_role). */
static uint8_t keys_role_of(uint8_t type)
{
	return type == DP_FRAME_CLIENT_REQUEST || type == DP_FRAME_CLIENT_REPLY
		       ? DP_KEY_ROLE_CLIENT
		       : DP_KEY_ROLE_PEER;
}

/* Slot i's id, or -1 when it is empty (a seqlock read of two fields). */
static int32_t keys_id_at(const struct dp_keyring *k, uint32_t i)
{
	const struct dp_key_slot *s = &k->slots[i];
	for (;;) {
		uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		if ((seq & 1u) != 0) {
			continue;
		}
		uint8_t used = __atomic_load_n(&s->used, __ATOMIC_RELAXED);
		uint16_t id = __atomic_load_n(&s->key_id, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == seq) {
			return used ? (int32_t)id : -1;
		}
	}
}

/* Does a key of this role seal and verify client frames? */
static bool keys_client_role(uint8_t role)
{
	return role == DP_KEY_ROLE_CLIENT || role == DP_KEY_ROLE_ADMIN || role == DP_KEY_ROLE_ANY;
}

/* The slot holding key_id (any role) copied into out, or -1. Ids are
 * compared first and only the matching slot's key is copied: a frame
 * costs at most six id loads and one 32-byte copy. */
static int keys_find(const struct dp_keyring *k, uint16_t key_id, struct dp_key_slot *out)
{
	for (uint32_t i = 0; i < DP_KEYRING_SLOTS; i++) {
		if (keys_id_at(k, i) != (int32_t)key_id) {
			continue;
		}
		keys_read(k, i, out);
		if (out->used && out->key_id == key_id) {
			return (int)i;
		}
		i = UINT32_MAX; /* rewritten between the two reads: look again */
	}
	return -1;
}

void wire_keys_seal(const struct dp_wire *w, uint8_t type, uint16_t want_key_id,
		    uint8_t key[DP_KEY_BYTES], uint16_t *key_id)
{
	const struct dp_keyring *k = w->keys;
	uint8_t role = keys_role_of(type);
	struct dp_key_slot s;
	RN_ASSERT(k != NULL && key_id != NULL);
	/* A reply goes out under the key its request came with, while the
	 * ring still accepts it (a client mid-rotation holds only that one). */
	if (role == DP_KEY_ROLE_CLIENT && want_key_id != 0 && keys_find(k, want_key_id, &s) >= 0 &&
	    keys_client_role(s.role)) {
		memcpy(key, s.key_words, DP_KEY_BYTES);
		*key_id = s.key_id;
		return;
	}
	for (;;) {
		uint32_t i = __atomic_load_n(&k->seal_slot[role], __ATOMIC_ACQUIRE);
		keys_read(k, i, &s);
		if (s.used && (s.role == role || s.role == DP_KEY_ROLE_ANY)) {
			break;
		}
		/* The writer moves seal_slot before it clears the slot it left:
		 * a slot that does not fit while seal_slot stayed means this
		 * ring holds no key of the role (a client's ring asked to seal a
		 * consensus frame). Seal with nothing anyone accepts rather than
		 * with the other role's key. */
		if (__atomic_load_n(&k->seal_slot[role], __ATOMIC_ACQUIRE) == i) {
			memset(key, 0, DP_KEY_BYTES);
			*key_id = 0;
			return;
		}
	}
	memcpy(key, s.key_words, DP_KEY_BYTES);
	*key_id = s.key_id;
}

int wire_keys_verify(const struct dp_wire *w, uint8_t type, uint16_t key_id, const uint8_t *raft,
		     size_t signed_bytes, const uint8_t *digest, size_t digest_bytes)
{
	struct dp_key_slot s;
	if (keys_find(w->keys, key_id, &s) < 0) {
		return -DP_ERR_UNKNOWN_KEY;
	}
	uint8_t key[DP_KEY_BYTES];
	memcpy(key, s.key_words, DP_KEY_BYTES);
	if (!wire_auth_verify(key, raft, signed_bytes, digest, digest_bytes, raft + signed_bytes)) {
		return -DP_ERR_BAD_TAG;
	}
	/* Authentic, but sealed by whom? A client (or admin) key on a
	 * consensus frame is a client speaking for a node. (A peer key on a
	 * client frame is a node's own tool: allowed.) */
	if (s.role != DP_KEY_ROLE_PEER && s.role != DP_KEY_ROLE_ANY &&
	    keys_role_of(type) == DP_KEY_ROLE_PEER) {
		return -DP_ERR_CLIENT_KEY;
	}
	return 0;
}

int dp_wire_client_key(const struct dp_wire *w, uint16_t key_id, uint8_t key[DP_KEY_BYTES])
{
	struct dp_key_slot s;
	RN_ASSERT(w != NULL && key != NULL);
	if (w->keys == &w->own) {
		keys_read(w->keys, 0, &s); /* a plain secret: one key for all */
	} else if (keys_find(w->keys, key_id, &s) < 0 || !keys_client_role(s.role)) {
		return -DP_ERR_UNKNOWN_KEY;
	}
	memcpy(key, s.key_words, DP_KEY_BYTES);
	return 0;
}

/* Is key_id held by slot i with the role, and the same derived bytes? */
static int keys_same(const struct dp_key_slot *s, uint8_t role, uint16_t key_id,
		     const uint8_t key[DP_KEY_BYTES])
{
	if (!s->used || s->key_id != key_id) {
		return 0;
	}
	return s->role == role && sodium_memcmp(s->key_words, key, DP_KEY_BYTES) == 0 ? 1 : -1;
}

/* Checks f against the ring and derives its keys into derived[]. */
static int keys_check(const struct dp_keyring *k, uint32_t cluster_id, uint8_t role,
		      const struct dp_key_file *f, uint8_t derived[][DP_KEY_BYTES], char *errmsg,
		      size_t errmsg_bytes)
{
	if (f->count == 0 || f->count > DP_KEY_FILE_KEYS_MAX) {
		snprintf(errmsg, errmsg_bytes, "%u keys (1..%u)", f->count, DP_KEY_FILE_KEYS_MAX);
		return -DP_ERR_INVALID;
	}
	for (uint32_t j = 0; j < f->count; j++) {
		if (f->key_id[j] == 0 || (j == 1 && f->key_id[0] == f->key_id[1])) {
			snprintf(errmsg, errmsg_bytes, "key id %u: ids are 1..65535, each once",
				 f->key_id[j]);
			return -DP_ERR_INVALID;
		}
		int rc = wire_auth_derive_key(derived[j], cluster_id, f->secret[j],
					      f->secret_bytes[j]);
		if (rc != 0) {
			snprintf(errmsg, errmsg_bytes, "key id %u: cannot derive", f->key_id[j]);
			return rc;
		}
		for (uint32_t i = 0; i < DP_KEYRING_SLOTS; i++) {
			if (keys_same(&k->slots[i], role, f->key_id[j], derived[j]) < 0) {
				snprintf(errmsg, errmsg_bytes,
					 "key id %u is already held %s: a new key needs a new id",
					 f->key_id[j],
					 k->slots[i].role == role ? "with other bytes"
								  : "by another role");
				return -DP_ERR_INVALID;
			}
		}
	}
	return 0;
}

/* Where key j of f goes when the ring does not hold it yet: an empty
 * slot, else one of this role whose key f no longer lists (the kept keys'
 * slots are taken already). */
static int keys_place_new(const struct dp_keyring *k, uint8_t role, const bool taken[])
{
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < DP_KEYRING_SLOTS; i++) {
			const struct dp_key_slot *s = &k->slots[i];
			if (taken[i] || (pass == 0 ? s->used : s->role != role)) {
				continue;
			}
			return (int)i;
		}
	}
	return -1;
}

/* at[j]: the slot of key j; kept keys keep theirs. */
static int keys_place(const struct dp_keyring *k, uint8_t role, const struct dp_key_file *f,
		      uint8_t derived[][DP_KEY_BYTES], int at[], bool taken[])
{
	for (uint32_t j = 0; j < f->count; j++) {
		at[j] = -1;
		for (uint32_t i = 0; i < DP_KEYRING_SLOTS; i++) {
			if (keys_same(&k->slots[i], role, f->key_id[j], derived[j]) > 0) {
				at[j] = (int)i;
				taken[i] = true;
			}
		}
	}
	for (uint32_t j = 0; j < f->count; j++) {
		if (at[j] < 0) {
			at[j] = keys_place_new(k, role, taken);
			if (at[j] < 0) {
				return -DP_ERR_INVALID;
			}
			taken[at[j]] = true;
		}
	}
	return 0;
}

int dp_keyring_set(struct dp_keyring *k, uint32_t cluster_id, enum dp_key_role role,
		   const struct dp_key_file *f, char *errmsg, size_t errmsg_bytes)
{
	uint8_t derived[DP_KEY_FILE_KEYS_MAX][DP_KEY_BYTES];
	bool taken[DP_KEYRING_SLOTS] = {false};
	int at[DP_KEY_FILE_KEYS_MAX];
	RN_ASSERT(k != NULL && f != NULL);
	RN_ASSERT(role < DP_KEY_ROLES_COUNT);
	int rc = keys_check(k, cluster_id, (uint8_t)role, f, derived, errmsg, errmsg_bytes);
	if (rc == 0 && keys_place(k, (uint8_t)role, f, derived, at, taken) != 0) {
		snprintf(errmsg, errmsg_bytes, "no free key slot (%u)", DP_KEYRING_SLOTS);
		rc = -DP_ERR_INVALID;
	}
	if (rc == 0) {
		/* New keys in, then the sealing key, then the retired keys out. */
		for (uint32_t j = 0; j < f->count; j++) {
			struct dp_key_slot s = {.key_id = f->key_id[j], .role = (uint8_t)role,
						.used = 1};
			memcpy(s.key_words, derived[j], DP_KEY_BYTES);
			if (keys_same(&k->slots[at[j]], (uint8_t)role, s.key_id, derived[j]) <= 0) {
				keys_write(k, (uint32_t)at[j], &s);
			}
			sodium_memzero(&s, sizeof(s));
		}
		__atomic_store_n(&k->seal_slot[role], (uint32_t)at[0], __ATOMIC_RELEASE);
		for (uint32_t i = 0; i < DP_KEYRING_SLOTS; i++) {
			if (!taken[i] && k->slots[i].used && k->slots[i].role == role) {
				struct dp_key_slot empty = {0};
				keys_write(k, i, &empty);
			}
		}
		__atomic_store_n(&k->installs, k->installs + 1, __ATOMIC_RELAXED);
	}
	sodium_memzero(derived, sizeof(derived));
	return rc;
}

int dp_keyring_role(const struct dp_keyring *k, uint16_t key_id)
{
	struct dp_key_slot s;
	RN_ASSERT(k != NULL);
	return keys_find(k, key_id, &s) >= 0 ? (int)s.role : -DP_ERR_UNKNOWN_KEY;
}

void dp_keyring_wipe(struct dp_keyring *k)
{
	RN_ASSERT(k != NULL);
	sodium_memzero(k, sizeof(*k));
}
