/* SPDX-License-Identifier: MIT */
/*
 * wire_seal.c - optional encryption of client frames (issue 17, item 5):
 * [cluster] client_encryption = on seals the body of every client request
 * and reply frame with AES-256-GCM under a key of its own (libsodium's
 * AEAD), and a node (or client) with it on refuses a plaintext client
 * frame, and the reverse (counted as seal_mismatch). Consensus frames are
 * never sealed.
 *
 * A sealed body, in place of the plaintext one:
 *
 *     ciphertext (as many bytes as the plaintext) | mac (16) | nonce (16)
 *
 * with the raft header (64 bytes, DP_HDR_ENCRYPTED set, body_bytes the
 * sealed size) as additional data. The frame's SipHash tag then covers the
 * header and, as the body's digest, this mac (wire_auth.c: the mac is a
 * keyed hash of the ciphertext that needs no second pass over it), so a
 * forged frame is dropped by the cheap 80-byte check before any
 * decryption, and a frame whose ciphertext was changed fails the mac.
 *
 * Keys and nonces: the key the frame is authenticated with (the client key
 * its header names) is shared by every client of the cluster, and clients
 * are not coordinated (no id or epoch a node handed out), so no counter
 * could keep GCM's 96-bit nonce unique under it, and random 96-bit nonces
 * are safe only for ~2^32 frames per key. So each frame gets a key of its
 * own, as XChaCha20 does for ChaCha20 (and XAES-256-GCM for GCM):
 *
 *     base    = BLAKE2b(auth key, salt = cluster id, personal = "raftnode-seal-v2")
 *     subkey  = HChaCha20(base, nonce)      (a PRF of the frame's 16-byte nonce)
 *     sealed  = AES-256-GCM(subkey, 96-bit zero nonce, header as AD, body)
 *
 * Each subkey seals one frame, so GCM's nonce never repeats under a key;
 * the frame nonces must only differ, which they do with 2^-64 odds even
 * for 2^32 senders: each thread draws a random 128-bit start once (and
 * again after a fork) and counts up from it. Why GCM and not XChaCha20-
 * Poly1305 (which this used before): on this machine's CPU (AES-NI,
 * PCLMULQDQ) libsodium seals 1 KiB in ~0.6 us with GCM and ~3.6 us with
 * XChaCha20-Poly1305 (bench/micro_wire.cc), and encryption cost 34% of the
 * throughput at 1 KiB values (scripts/bench-auth.sh). The subkey costs an
 * HChaCha20 (~80 ns) and a key setup per frame, which carries several
 * requests at load. base is cached per thread (one BLAKE2b per key
 * change, not per frame). The AES-256-GCM is wire_gcm.c (VAES and
 * VPCLMULQDQ, 4 blocks per instruction) where the CPU runs it, else
 * libsodium's, the same bytes: 1 KiB sealed with its key setup in ~0.48 us
 * against ~0.72 us (micro_wire aead_seal_key_per_frame).
 */
#include <pthread.h>

#include <sodium.h>

#include "common.h"
#include "wire_gcm.h"
#include "wire_internal.h"

_Static_assert(DP_SEAL_MAC_BYTES == crypto_aead_aes256gcm_ABYTES, "GCM tag");
_Static_assert(DP_SEAL_NONCE_BYTES == crypto_core_hchacha20_INPUTBYTES, "HChaCha20 input");
_Static_assert(DP_SEAL_KEY_BYTES == crypto_aead_aes256gcm_KEYBYTES, "256-bit key");
_Static_assert(crypto_core_hchacha20_OUTPUTBYTES == crypto_aead_aes256gcm_KEYBYTES,
	       "HChaCha20 makes an AES-256 key");
_Static_assert(crypto_core_hchacha20_KEYBYTES == DP_SEAL_KEY_BYTES, "HChaCha20 keyed by base");
_Static_assert(DP_SEAL_OVERHEAD_BYTES == DP_SEAL_MAC_BYTES + DP_SEAL_NONCE_BYTES,
	       "mac | nonce after the ciphertext");

/* This thread's last base key and the auth key it came from. */
static _Thread_local struct {
	uint8_t auth_key[DP_KEY_BYTES];
	uint8_t base[DP_SEAL_KEY_BYTES];
	bool valid;
} seal_base_cache;

/* This thread's next frame nonce (see the top). */
static _Thread_local struct {
	uint8_t next[DP_SEAL_NONCE_BYTES];
	uint64_t fork_generation; /* 0: not drawn yet; another: drawn before a fork */
} seal_nonce;

/* Bumped in the child of every fork (pthread_atfork), so a counter copied
 * by the fork is drawn again. A file-scope mutable because a fork is a
 * process-wide event: written only in the child, single-threaded then,
 * read by every sealing thread (an atomic load). It replaced a getpid()
 * per sealed frame: a system call, ~145 ns on this VM, paid by the leader
 * per reply frame and by the client per request frame. */
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

/* The base key of frames sealed under client key key_id (the client key
 * of that id as the ring holds it, dp_wire_client_key: a rotation's old
 * and new client keys each have theirs). 0, or -DP_ERR_UNKNOWN_KEY /
 * -DP_ERR_CRYPTO. */
static int wire_seal_base(const struct dp_wire *w, uint16_t key_id,
			  uint8_t base[DP_SEAL_KEY_BYTES])
{
	static const uint8_t personal[16] = "raftnode-seal-v2"; /* no NUL: 16 bytes */
	uint8_t salt[16] = {0};
	uint8_t auth_key[DP_KEY_BYTES];

	int rc = dp_wire_client_key(w, key_id, auth_key);
	if (rc != 0) {
		return rc;
	}
	_Static_assert(DP_KEY_BYTES == 64, "crypto_verify_64");
	if (!seal_base_cache.valid || crypto_verify_64(seal_base_cache.auth_key, auth_key) != 0) {
		wire_st32(salt, w->cluster_id);
		rc = crypto_generichash_blake2b_salt_personal(seal_base_cache.base,
							      DP_SEAL_KEY_BYTES, NULL, 0, auth_key,
							      DP_KEY_BYTES, salt, personal);
		if (rc != 0) {
			seal_base_cache.valid = false;
			sodium_memzero(auth_key, sizeof(auth_key));
			return -DP_ERR_CRYPTO;
		}
		memcpy(seal_base_cache.auth_key, auth_key, DP_KEY_BYTES);
		seal_base_cache.valid = true;
	}
	memcpy(base, seal_base_cache.base, DP_SEAL_KEY_BYTES);
	sodium_memzero(auth_key, sizeof(auth_key));
	return 0;
}

/* The frame's own key: HChaCha20(base, nonce). */
static void wire_seal_subkey(const uint8_t base[DP_SEAL_KEY_BYTES],
			     const uint8_t nonce[DP_SEAL_NONCE_BYTES],
			     uint8_t subkey[DP_SEAL_KEY_BYTES])
{
	int rc = crypto_core_hchacha20(subkey, nonce, base, NULL);
	RN_ASSERT(rc == 0);
}

/* A nonce this thread never gave before (a fork since its draw: drawn
 * again, see seal_fork_generation). */
static void wire_seal_next_nonce(uint8_t nonce[DP_SEAL_NONCE_BYTES])
{
	uint64_t generation = __atomic_load_n(&seal_fork_generation, __ATOMIC_RELAXED);
	if (seal_nonce.fork_generation != generation) {
		randombytes_buf(seal_nonce.next, sizeof(seal_nonce.next));
		seal_nonce.fork_generation = generation;
	}
	memcpy(nonce, seal_nonce.next, DP_SEAL_NONCE_BYTES);
	sodium_increment(seal_nonce.next, sizeof(seal_nonce.next));
}

/* GCM's own nonce: zero, each subkey sealing one frame. */
static const uint8_t seal_gcm_nonce[crypto_aead_aes256gcm_NPUBBYTES];
_Static_assert(crypto_aead_aes256gcm_NPUBBYTES == WIRE_GCM_NONCE_BYTES, "96-bit nonce");

/* This thread's AES-256-GCM: wire_gcm.c (VAES, VPCLMULQDQ) where the CPU
 * runs it, else libsodium's; the same bytes either way. 0: not asked. */
static _Thread_local int seal_gcm_ours;

static bool wire_seal_gcm_ours(void)
{
	if (seal_gcm_ours == 0) {
		seal_gcm_ours = wire_gcm_available() ? 1 : -1;
	}
	return seal_gcm_ours > 0;
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
	/* Before the first sealed frame: wire_seal_next_nonce relies on it. */
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
	uint8_t *nonce = mac + DP_SEAL_MAC_BYTES;
	uint8_t base[DP_SEAL_KEY_BYTES], subkey[DP_SEAL_KEY_BYTES];
	/* The header (written) names the client key that seals the frame,
	 * one the ring holds (wire_keys_seal chose it). */
	int rc = wire_seal_base(w, wire_ld16(raft + offsetof(struct dp_wire_hdr, key_id)), base);
	RN_ASSERT(rc == 0);
	wire_seal_next_nonce(nonce);
	wire_seal_subkey(base, nonce, subkey);
	if (wire_seal_gcm_ours()) {
		struct wire_gcm_key k;
		wire_gcm_key_init(&k, subkey, rn_max_u64(plain_bytes, DP_RAFT_HDR_BYTES));
		wire_gcm_seal(&k, seal_gcm_nonce, raft, DP_RAFT_HDR_BYTES, body, plain_bytes, mac);
		sodium_memzero(&k, sizeof(k));
	} else {
		rc = crypto_aead_aes256gcm_encrypt_detached(body, mac, NULL, body, plain_bytes,
							    raft, DP_RAFT_HDR_BYTES, NULL,
							    seal_gcm_nonce, subkey);
	}
	sodium_memzero(base, sizeof(base));
	sodium_memzero(subkey, sizeof(subkey));
	RN_ASSERT(rc == 0);
}

int wire_seal_open(const struct dp_wire *w, uint8_t *raft, uint32_t sealed_bytes)
{
	RN_ASSERT(w->client_seal);
	RN_ASSERT(sealed_bytes >= DP_SEAL_OVERHEAD_BYTES); /* the length check came first */
	uint8_t *body = raft + DP_RAFT_HDR_BYTES;
	uint32_t plain_bytes = sealed_bytes - DP_SEAL_OVERHEAD_BYTES;
	const uint8_t *mac = body + plain_bytes;
	const uint8_t *nonce = mac + DP_SEAL_MAC_BYTES;
	uint8_t base[DP_SEAL_KEY_BYTES], subkey[DP_SEAL_KEY_BYTES];
	int rc = wire_seal_base(w, wire_ld16(raft + offsetof(struct dp_wire_hdr, key_id)), base);
	if (rc != 0) {
		return rc; /* the tag checked, so the ring held it: retired since? */
	}
	wire_seal_subkey(base, nonce, subkey);
	/* Both check the GCM tag before they decrypt; on a failure libsodium
	 * zeroes the output, wire_gcm leaves the ciphertext: the frame's body,
	 * dropped anyway, never plaintext. */
	if (wire_seal_gcm_ours()) {
		struct wire_gcm_key k;
		wire_gcm_key_init(&k, subkey, rn_max_u64(plain_bytes, DP_RAFT_HDR_BYTES));
		rc = wire_gcm_open(&k, seal_gcm_nonce, raft, DP_RAFT_HDR_BYTES, body, plain_bytes,
				   mac);
		sodium_memzero(&k, sizeof(k));
	} else {
		rc = crypto_aead_aes256gcm_decrypt_detached(body, NULL, body, plain_bytes, mac,
							    raft, DP_RAFT_HDR_BYTES,
							    seal_gcm_nonce, subkey);
	}
	sodium_memzero(base, sizeof(base));
	sodium_memzero(subkey, sizeof(subkey));
	return rc == 0 ? 0 : -DP_ERR_BAD_TAG;
}
