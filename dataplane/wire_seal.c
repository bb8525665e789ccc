/* SPDX-License-Identifier: MIT */
/*
 * wire_seal.c - optional encryption of client frames (issue 17, item 5):
 * [cluster] client_encryption = on seals the body of every client request
 * and reply frame with AES-256-GCM (libsodium's AEAD, or ours where the
 * CPU runs it: the same bytes), and a node (or client) with it on refuses
 * a plaintext client frame, and the reverse (counted as seal_mismatch).
 * Consensus frames are never sealed.
 *
 * A sealed body (wire version 7), in place of the plaintext one:
 *
 *     ciphertext (as many bytes as the plaintext) | mac (16)
 *         | key nonce (16) | counter (8, little-endian)
 *
 * with the raft header (64 bytes, DP_HDR_ENCRYPTED set, body_bytes the
 * sealed size) as additional data. The frame's SipHash tag then covers the
 * header and, standing for the body, this trailer: the mac (a keyed hash
 * of the ciphertext that needs no second pass over it), the key nonce and
 * the counter (wire_auth.c), so a forged frame - a changed key nonce or
 * counter included - is dropped by the cheap 104-byte check before any
 * key setup or decryption, and a frame whose ciphertext was changed fails
 * the mac. (The first version 7 tagged the mac alone: whoever captured a
 * frame could change its key nonce and make a receiver expand a key for
 * it before the open failed.)
 *
 * Keys and nonces. The key the frame is authenticated with (the client key
 * its header names) is shared by every client of the cluster, and clients
 * are not coordinated (no id or epoch a node handed out), so no counter
 * could keep GCM's 96-bit nonce unique under that key, and random 96-bit
 * nonces are safe only for ~2^32 frames per key. So each sender makes a
 * key of its own, as XChaCha20 does for ChaCha20 (and XAES-256-GCM for
 * GCM), and counts frames under it:
 *
 *     base    = BLAKE2b(auth key, salt = cluster id, personal = "raftnode-seal-v2")
 *     subkey  = HChaCha20(base, key nonce)     (a PRF of a random 128-bit key nonce)
 *     sealed  = AES-256-GCM(subkey, nonce = 0^32 || counter (64-bit LE), header as AD, body)
 *
 * Why (key nonce, counter) never repeats under a subkey, by construction:
 *  - A sending thread draws its key nonce from the OS's CSPRNG
 *    (randombytes_buf) and then seals frames with counter 0, 1, 2, ...:
 *    the counter only rises (asserted) and the thread draws a new key
 *    nonce before it reaches SEAL_FRAMES_PER_KEY (2^32), so under one key
 *    nonce each counter value seals one frame. A sender's state is never
 *    restored once left: a key nonce is drawn again (never resumed) after
 *    a fork (the child has a copy of the parent's counter: a generation a
 *    pthread_atfork handler bumps, not a getpid() per frame, ~145 ns),
 *    when the thread's base for that client key changed (a rotation, or
 *    the slot reused for another key), and in a new thread (zeroed
 *    thread-local state).
 *  - Two senders (threads, processes, clients) share a subkey only if they
 *    drew the same 128-bit key nonce under the same base: with N key
 *    nonces drawn under one client key in its lifetime, chance <= N^2 /
 *    2^129, 2^-49 for N = 2^40. A subkey is HChaCha20 of it, so keys of
 *    distinct key nonces are independent (HChaCha20 is a PRF of its input
 *    under the secret base).
 * 2^32 frames per subkey of at most ~9 KB keeps each GCM key far inside
 * SP 800-38D's limits (2^32 invocations, and 2^42 blocks here, against
 * GCM's 2^64).
 *
 * What that buys: a frame's key setup (HChaCha20 ~80 ns, then the AES-256
 * key expansion and GHASH's powers of H, ~150-200 ns ours, libsodium's
 * crypto_aead_aes256gcm_beforenm) was paid per frame at the sender and at
 * the receiver. Now the sender pays it once per key nonce, and the
 * receiver keeps the expanded keys of the last SEAL_OPEN_KEYS key nonces
 * it opened (per thread, keyed by its base and the key nonce), so a
 * sender's frames after its first cost it no key setup either. The cache
 * is a pure function's memo: a hit gives the key a recompute would. Only
 * a key whose frame opened (the GCM tag checked) enters it, so frames
 * with made-up key nonces cannot push out the keys of real senders; with
 * more senders than entries it is replaced in turn (FIFO) and the frames
 * pay a key setup each, as every frame did before. The expanded keys stay
 * in thread-local memory while the thread runs (as the base keys did).
 *
 * Why GCM and not XChaCha20-Poly1305 (which this used before): on this
 * machine's CPU (AES-NI, PCLMULQDQ) libsodium seals 1 KiB in ~0.6 us with
 * GCM and ~3.6 us with XChaCha20-Poly1305 (bench/micro_wire.cc), and
 * encryption cost 34% of the throughput at 1 KiB values
 * (scripts/bench-auth.sh). The AES-256-GCM is wire_gcm.c (VAES and
 * VPCLMULQDQ: 4 blocks per instruction on AVX-512, 2 on AVX2) where the
 * CPU runs it, else libsodium's (with its precomputed state), the same
 * bytes.
 */
#include <pthread.h>

#include <sodium.h>

#include "common.h"
#include "wire_gcm.h"
#include "wire_internal.h"

_Static_assert(DP_SEAL_MAC_BYTES == crypto_aead_aes256gcm_ABYTES, "GCM tag");
_Static_assert(DP_SEAL_KEY_NONCE_BYTES == crypto_core_hchacha20_INPUTBYTES, "HChaCha20 input");
_Static_assert(DP_SEAL_KEY_BYTES == crypto_aead_aes256gcm_KEYBYTES, "256-bit key");
_Static_assert(crypto_core_hchacha20_OUTPUTBYTES == crypto_aead_aes256gcm_KEYBYTES,
	       "HChaCha20 makes an AES-256 key");
_Static_assert(crypto_core_hchacha20_KEYBYTES == DP_SEAL_KEY_BYTES, "HChaCha20 keyed by base");
_Static_assert(DP_SEAL_NONCE_BYTES == DP_SEAL_KEY_NONCE_BYTES + DP_SEAL_COUNTER_BYTES,
	       "key nonce | counter");
_Static_assert(DP_SEAL_OVERHEAD_BYTES == DP_SEAL_MAC_BYTES + DP_SEAL_NONCE_BYTES,
	       "mac | key nonce | counter after the ciphertext");
_Static_assert(crypto_aead_aes256gcm_NPUBBYTES == WIRE_GCM_NONCE_BYTES, "96-bit nonce");
_Static_assert(DP_SEAL_COUNTER_BYTES + 4 == WIRE_GCM_NONCE_BYTES, "0^32 || counter");

/* Frames a key nonce seals before its sender draws another (see the top). */
#define SEAL_FRAMES_PER_KEY WIRE_SEAL_FRAMES_PER_KEY
/* Base keys a thread keeps: a client and an admin key, each old and new
 * during a rotation (a leader seals replies under the key a request
 * named). */
#define SEAL_BASES 4u
/* Other senders' expanded keys a thread keeps for opening (see the top),
 * ~10 KB: a client opens the replies of each node thread that answers it,
 * a node the requests of every client thread that sends to it. */
#define SEAL_OPEN_KEYS WIRE_SEAL_OPEN_KEYS

/* One expanded subkey: ours (wire_gcm.c) or libsodium's precomputed
 * state, whichever this thread's AES-256-GCM is. */
union seal_key {
	struct wire_gcm_key ours;
	crypto_aead_aes256gcm_state sodium;
};

/* A base key and the auth key it came from; serial 0: empty. Serials are
 * never reused in a thread, so a cached key of a base that was replaced
 * never matches again. */
struct seal_base {
	uint8_t auth_key[DP_KEY_BYTES];
	uint8_t base[DP_SEAL_KEY_BYTES];
	uint32_t cluster_id;
	uint64_t serial;
};

/* What a thread seals with under base slot i (senders[i] pairs with
 * bases[i]); valid while serial and fork_generation are the current ones
 * and counter < SEAL_FRAMES_PER_KEY. */
struct seal_sender {
	uint64_t serial;
	uint64_t fork_generation;
	uint64_t counter; /* the next frame's */
	uint8_t key_nonce[DP_SEAL_KEY_NONCE_BYTES];
	union seal_key key;
};

/* Which key an open cache entry holds; serial 0: empty. */
struct seal_open_tag {
	uint64_t serial;
	uint8_t key_nonce[DP_SEAL_KEY_NONCE_BYTES];
};

static _Thread_local struct {
	int gcm_ours; /* 1 wire_gcm.c, -1 libsodium, 0 not asked yet */
	uint32_t base_next;  /* the base slot replaced next */
	uint32_t open_next;  /* the open entry replaced next */
	uint64_t serial_last;
	struct wire_seal_stats stats;
	struct seal_base bases[SEAL_BASES];
	struct seal_sender senders[SEAL_BASES];
	struct seal_open_tag open_tags[SEAL_OPEN_KEYS]; /* apart: a lookup scans 6 lines */
	union seal_key open_keys[SEAL_OPEN_KEYS];
	union seal_key open_spare; /* a miss's key, until its frame opened */
} seal;

/* Bumped in the child of every fork (pthread_atfork), so a sender's state
 * copied by the fork is drawn again. A file-scope mutable because a fork
 * is a process-wide event: written only in the child, single-threaded
 * then, read by every sealing thread (an atomic load). */
static uint64_t seal_fork_generation = 1;
static pthread_once_t seal_atfork_once = PTHREAD_ONCE_INIT;

static void wire_seal_on_fork_child(void)
{
	__atomic_add_fetch(&seal_fork_generation, 1, __ATOMIC_RELAXED);
}

static void wire_seal_atfork_register(void)
{
	int rc = pthread_atfork(NULL, NULL, wire_seal_on_fork_child);
	RN_ASSERT(rc == 0);
}

/* This thread's AES-256-GCM: wire_gcm.c (VAES, VPCLMULQDQ) where the CPU
 * runs it, else libsodium's; the same bytes either way. */
static bool wire_seal_gcm_ours(void)
{
	if (seal.gcm_ours == 0) {
		seal.gcm_ours = wire_gcm_available() ? 1 : -1;
	}
	return seal.gcm_ours > 0;
}

/* The base slot of frames sealed under client key key_id (the client key
 * of that id as the ring holds it, dp_wire_client_key: a rotation's old
 * and new client keys each have theirs), derived on a miss. 0, or
 * -DP_ERR_UNKNOWN_KEY / -DP_ERR_CRYPTO. */
static int wire_seal_base(const struct dp_wire *w, uint16_t key_id, uint32_t *slot)
{
	static const uint8_t personal[16] = "raftnode-seal-v2"; /* no NUL: 16 bytes */
	uint8_t salt[16] = {0};
	uint8_t auth_key[DP_KEY_BYTES];

	int rc = dp_wire_client_key(w, key_id, auth_key);
	if (rc != 0) {
		return rc;
	}
	_Static_assert(DP_KEY_BYTES == 64, "crypto_verify_64");
	for (uint32_t i = 0; i < SEAL_BASES; i++) {
		const struct seal_base *b = &seal.bases[i];
		if (b->serial != 0 && b->cluster_id == w->cluster_id &&
		    crypto_verify_64(b->auth_key, auth_key) == 0) {
			sodium_memzero(auth_key, sizeof(auth_key));
			*slot = i;
			return 0;
		}
	}
	uint32_t i = seal.base_next;
	seal.base_next = (i + 1) % SEAL_BASES;
	struct seal_base *b = &seal.bases[i];
	b->serial = 0;
	wire_st32(salt, w->cluster_id);
	rc = crypto_generichash_blake2b_salt_personal(b->base, DP_SEAL_KEY_BYTES, NULL, 0,
						      auth_key, DP_KEY_BYTES, salt, personal);
	if (rc == 0) {
		memcpy(b->auth_key, auth_key, DP_KEY_BYTES);
		b->cluster_id = w->cluster_id;
		b->serial = ++seal.serial_last;
		*slot = i;
	}
	sodium_memzero(auth_key, sizeof(auth_key));
	return rc == 0 ? 0 : -DP_ERR_CRYPTO;
}

/* k = the expanded subkey HChaCha20(base, key nonce). */
static void wire_seal_key_init(union seal_key *k, const uint8_t base[DP_SEAL_KEY_BYTES],
			       const uint8_t key_nonce[DP_SEAL_KEY_NONCE_BYTES])
{
	uint8_t subkey[DP_SEAL_KEY_BYTES];
	int rc = crypto_core_hchacha20(subkey, key_nonce, base, NULL);
	RN_ASSERT(rc == 0);
	if (wire_seal_gcm_ours()) {
		/* All powers of H: the key seals frames of any size. */
		wire_gcm_key_init(&k->ours, subkey, DP_FRAME_BYTES_MAX);
	} else {
		rc = crypto_aead_aes256gcm_beforenm(&k->sodium, subkey);
		RN_ASSERT(rc == 0);
	}
	sodium_memzero(subkey, sizeof(subkey));
}

/* This thread's sender under base slot `slot`, with a fresh key nonce
 * when its state is not the current one (see the top). */
static struct seal_sender *wire_seal_sender(uint32_t slot)
{
	RN_ASSERT(slot < SEAL_BASES);
	struct seal_sender *s = &seal.senders[slot];
	const struct seal_base *b = &seal.bases[slot];
	uint64_t generation = __atomic_load_n(&seal_fork_generation, __ATOMIC_RELAXED);
	if (s->serial != b->serial || s->fork_generation != generation ||
	    s->counter >= SEAL_FRAMES_PER_KEY) {
		randombytes_buf(s->key_nonce, sizeof(s->key_nonce));
		wire_seal_key_init(&s->key, b->base, s->key_nonce);
		s->serial = b->serial;
		s->fork_generation = generation;
		s->counter = 0;
		seal.stats.seal_key_setups++;
	}
	return s;
}

/* GCM's nonce for a frame's counter: 0^32 || counter (the wire's bytes). */
static void wire_seal_gcm_nonce(const uint8_t counter[DP_SEAL_COUNTER_BYTES],
				uint8_t nonce[WIRE_GCM_NONCE_BYTES])
{
	memset(nonce, 0, WIRE_GCM_NONCE_BYTES - DP_SEAL_COUNTER_BYTES);
	memcpy(nonce + WIRE_GCM_NONCE_BYTES - DP_SEAL_COUNTER_BYTES, counter,
	       DP_SEAL_COUNTER_BYTES);
}

int dp_wire_set_client_seal(struct dp_wire *w, bool on)
{
	RN_ASSERT(w != NULL);
	w->client_seal = false;
	if (!on) {
		return 0;
	}
	if (sodium_init() < 0 || crypto_aead_aes256gcm_is_available() == 0) {
		return -DP_ERR_CRYPTO;
	}
	/* Before the first sealed frame: wire_seal_sender relies on it. */
	int rc = pthread_once(&seal_atfork_once, wire_seal_atfork_register);
	RN_ASSERT(rc == 0);
	w->client_seal = true;
	return 0;
}

size_t dp_wire_client_frame_bytes_max(const struct dp_wire *w, size_t path_frame_bytes_max)
{
	RN_ASSERT(w != NULL);
	size_t limit = rn_min_u64(path_frame_bytes_max, DP_FRAME_BYTES_MAX);
	size_t room = w->client_seal ? DP_SEAL_OVERHEAD_BYTES : 0;
	return limit > room ? limit - room : 0;
}

bool wire_seal_applies(const struct dp_wire *w, uint8_t type)
{
	return w->client_seal && (type == DP_FRAME_CLIENT_REQUEST || type == DP_FRAME_CLIENT_REPLY);
}

void wire_seal_body(const struct dp_wire *w, uint8_t *raft, uint32_t plain_bytes)
{
	RN_ASSERT(w->client_seal);
	uint8_t *body = raft + DP_RAFT_HDR_BYTES;
	uint8_t *mac = body + plain_bytes;
	uint8_t *key_nonce = mac + DP_SEAL_MAC_BYTES;
	uint8_t *counter = key_nonce + DP_SEAL_KEY_NONCE_BYTES;
	/* The header (written) names the client key that seals the frame,
	 * one the ring holds (wire_keys_seal chose it). */
	uint32_t slot = 0;
	int rc = wire_seal_base(w, wire_ld16(raft + offsetof(struct dp_wire_hdr, key_id)), &slot);
	RN_ASSERT(rc == 0);
	struct seal_sender *s = wire_seal_sender(slot);
	RN_ASSERT(s->counter < SEAL_FRAMES_PER_KEY);
	memcpy(key_nonce, s->key_nonce, DP_SEAL_KEY_NONCE_BYTES);
	wire_st64(counter, s->counter);
	uint64_t sealed_counter = s->counter++;
	RN_ASSERT(s->counter > sealed_counter); /* each counter value seals one frame */
	uint8_t nonce[WIRE_GCM_NONCE_BYTES];
	wire_seal_gcm_nonce(counter, nonce);
	if (wire_seal_gcm_ours()) {
		wire_gcm_seal(&s->key.ours, nonce, raft, DP_RAFT_HDR_BYTES, body, plain_bytes, mac);
	} else {
		rc = crypto_aead_aes256gcm_encrypt_detached_afternm(
			body, mac, NULL, body, plain_bytes, raft, DP_RAFT_HDR_BYTES, NULL, nonce,
			&s->key.sodium);
		RN_ASSERT(rc == 0);
	}
}

/* The cached key of (base serial, key nonce), or NULL. */
static const union seal_key *wire_seal_open_find(uint64_t serial, const uint8_t *key_nonce)
{
	for (uint32_t i = 0; i < SEAL_OPEN_KEYS; i++) {
		const struct seal_open_tag *t = &seal.open_tags[i];
		if (t->serial == serial &&
		    memcmp(t->key_nonce, key_nonce, DP_SEAL_KEY_NONCE_BYTES) == 0) {
			return &seal.open_keys[i];
		}
	}
	return NULL;
}

/* Checks the mac and decrypts in place under k: 0 or -1. Both check the
 * GCM tag before they decrypt; on a failure libsodium zeroes the output,
 * wire_gcm leaves the ciphertext: the frame's body, dropped anyway, never
 * plaintext. */
static int wire_seal_open_with(const union seal_key *k, uint8_t *raft, uint32_t plain_bytes,
			       const uint8_t nonce[WIRE_GCM_NONCE_BYTES])
{
	uint8_t *body = raft + DP_RAFT_HDR_BYTES;
	const uint8_t *mac = body + plain_bytes;
	if (wire_seal_gcm_ours()) {
		return wire_gcm_open(&k->ours, nonce, raft, DP_RAFT_HDR_BYTES, body, plain_bytes,
				     mac);
	}
	return crypto_aead_aes256gcm_decrypt_detached_afternm(
		body, NULL, body, plain_bytes, mac, raft, DP_RAFT_HDR_BYTES, nonce, &k->sodium);
}

int wire_seal_open(const struct dp_wire *w, uint8_t *raft, uint32_t sealed_bytes)
{
	RN_ASSERT(w->client_seal);
	RN_ASSERT(sealed_bytes >= DP_SEAL_OVERHEAD_BYTES); /* the length check came first */
	uint32_t plain_bytes = sealed_bytes - DP_SEAL_OVERHEAD_BYTES;
	const uint8_t *key_nonce = raft + DP_RAFT_HDR_BYTES + plain_bytes + DP_SEAL_MAC_BYTES;
	uint8_t nonce[WIRE_GCM_NONCE_BYTES];
	wire_seal_gcm_nonce(key_nonce + DP_SEAL_KEY_NONCE_BYTES, nonce);
	uint32_t slot = 0;
	int rc = wire_seal_base(w, wire_ld16(raft + offsetof(struct dp_wire_hdr, key_id)), &slot);
	if (rc != 0) {
		return rc; /* the tag checked, so the ring held it: retired since? */
	}
	uint64_t serial = seal.bases[slot].serial;
	const union seal_key *hit = wire_seal_open_find(serial, key_nonce);
	if (hit != NULL) {
		seal.stats.open_hits++;
		return wire_seal_open_with(hit, raft, plain_bytes, nonce) == 0 ? 0 : -DP_ERR_BAD_TAG;
	}
	/* A miss: the key is made aside and replaces the next entry in turn
	 * only once the frame opened (a made-up key nonce evicts nothing). */
	wire_seal_key_init(&seal.open_spare, seal.bases[slot].base, key_nonce);
	seal.stats.open_key_setups++;
	if (wire_seal_open_with(&seal.open_spare, raft, plain_bytes, nonce) != 0) {
		return -DP_ERR_BAD_TAG;
	}
	uint32_t i = seal.open_next;
	seal.open_next = (i + 1) % SEAL_OPEN_KEYS;
	seal.open_keys[i] = seal.open_spare;
	seal.open_tags[i].serial = serial;
	memcpy(seal.open_tags[i].key_nonce, key_nonce, DP_SEAL_KEY_NONCE_BYTES);
	return 0;
}

void wire_seal_thread_stats(struct wire_seal_stats *out)
{
	RN_ASSERT(out != NULL);
	*out = seal.stats;
}

void wire_seal_thread_skip_frames(uint64_t frames)
{
	for (uint32_t i = 0; i < SEAL_BASES; i++) {
		struct seal_sender *s = &seal.senders[i];
		s->counter = rn_min_u64(s->counter + frames, SEAL_FRAMES_PER_KEY);
	}
}
