/* SPDX-License-Identifier: MIT */
/*
 * wire_seal.c - optional encryption of client frames (issue 17, item 5):
 * [cluster] client_encryption = on seals the body of every client request
 * and reply frame with XChaCha20-Poly1305-IETF (libsodium's AEAD), and a
 * node (or client) with it on refuses a plaintext client frame, and the
 * reverse (counted as seal_mismatch). Consensus frames are never sealed.
 *
 * A sealed body, in place of the plaintext one:
 *
 *     ciphertext (as many bytes as the plaintext) | mac (16) | nonce (24)
 *
 * with the raft header (64 bytes, DP_HDR_ENCRYPTED set, body_bytes the
 * sealed size) as additional data; the frame's SipHash tag then covers
 * header and sealed body as for any frame (wire_auth.c), so a forged or
 * damaged frame is dropped by the cheap check before any decryption.
 * Encryption and decryption run in place: the plaintext is written where
 * the ciphertext was, no copy and no buffer per frame.
 *
 * Why XChaCha20 and not AES-256-GCM, although GCM with AES-NI is ~5x
 * faster here (bench/micro_wire: 1 KiB sealed in ~0.7 us against ~3.5 us,
 * README): the key is shared by every node and every client of the
 * cluster, and clients are not coordinated (no id or epoch a node handed
 * out). GCM's 96-bit nonce must never repeat under one key, which takes a
 * unique sender prefix and a counter per sender; random 96-bit nonces are
 * safe only for ~2^32 frames per key. XChaCha's 192-bit nonce can be drawn
 * at random for every frame (randombytes_buf: libsodium's ChaCha20-based
 * generator, no system call per frame), collisions being negligible for
 * any number of frames a cluster sends, so nothing can go wrong across
 * restarts, forks or clients that share a configuration.
 *
 * Key: BLAKE2b(the key client frames are authenticated with, salt = the
 * cluster id, personal = "raftnode-seal-v1"): never the MAC key itself.
 * That key is the client key the frame's header names (key_id), as the
 * key ring holds it (wire_keys.c): never the peer key.
 */
#include <sodium.h>

#include "common.h"
#include "wire_internal.h"

_Static_assert(DP_SEAL_MAC_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "poly1305 tag");
_Static_assert(DP_SEAL_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	       "xchacha20 nonce");
_Static_assert(DP_SEAL_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "256-bit key");
_Static_assert(DP_SEAL_OVERHEAD_BYTES == DP_SEAL_MAC_BYTES + DP_SEAL_NONCE_BYTES,
	       "mac | nonce after the ciphertext");

/* The seal key of a frame sealed under client key key_id: derived from the
 * key the frame is authenticated with (dp_wire_client_key: the client key
 * of that id, so a rotation's old and new client keys each have their
 * own). Derived per frame (one BLAKE2b of 32 bytes, a tenth of sealing 1
 * KiB) rather than cached: a key ring reloaded by SIGHUP needs nothing
 * told. 0, or -DP_ERR_UNKNOWN_KEY / -DP_ERR_CRYPTO. */
static int wire_seal_key(const struct dp_wire *w, uint16_t key_id,
			 uint8_t seal_key[DP_SEAL_KEY_BYTES])
{
	static const uint8_t personal[16] = "raftnode-seal-v1"; /* no NUL: 16 bytes */
	uint8_t salt[16] = {0};
	uint8_t auth_key[DP_KEY_BYTES];

	int rc = dp_wire_client_key(w, key_id, auth_key);
	if (rc != 0) {
		return rc;
	}
	wire_st32(salt, w->cluster_id);
	rc = crypto_generichash_blake2b_salt_personal(seal_key, DP_SEAL_KEY_BYTES, NULL, 0,
						      auth_key, DP_KEY_BYTES, salt, personal);
	sodium_memzero(auth_key, sizeof(auth_key));
	return rc == 0 ? 0 : -DP_ERR_CRYPTO;
}

int dp_wire_set_client_seal(struct dp_wire *w, bool on)
{
	RN_ASSERT(w != NULL);
	w->client_seal = false;
	if (!on) {
		return 0;
	}
	if (sodium_init() < 0) {
		return -DP_ERR_CRYPTO;
	}
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
	uint8_t seal_key[DP_SEAL_KEY_BYTES];
	/* The header (written) names the client key that seals the frame,
	 * one the ring holds (wire_keys_seal chose it). */
	int rc = wire_seal_key(w, wire_ld16(raft + offsetof(struct dp_wire_hdr, key_id)), seal_key);
	RN_ASSERT(rc == 0);
	randombytes_buf(nonce, DP_SEAL_NONCE_BYTES);
	rc = crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
		body, mac, NULL, body, plain_bytes, raft, DP_RAFT_HDR_BYTES, NULL, nonce, seal_key);
	sodium_memzero(seal_key, sizeof(seal_key));
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
	/* Checks the Poly1305 tag before it decrypts; on a failure libsodium
	 * zeroes the output, i.e. the frame's body (dropped anyway). */
	uint8_t seal_key[DP_SEAL_KEY_BYTES];
	int rc = wire_seal_key(w, wire_ld16(raft + offsetof(struct dp_wire_hdr, key_id)), seal_key);
	if (rc != 0) {
		return rc; /* the tag checked, so the ring held it: retired since? */
	}
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt_detached(body, NULL, body, plain_bytes, mac,
								 raft, DP_RAFT_HDR_BYTES, nonce, seal_key);
	sodium_memzero(seal_key, sizeof(seal_key));
	return rc == 0 ? 0 : -DP_ERR_BAD_TAG;
}
