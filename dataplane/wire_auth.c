/* SPDX-License-Identifier: MIT */
/*
 * wire_auth.c - the per-frame authentication tag and the key it uses.
 *
 * The tag is SipHash-2-4 with a 128-bit output (libsodium
 * crypto_shorthash_siphashx24) of the header and a keyed digest of the body:
 *
 *     digest = H(body)                       (below; never sent)
 *     tag    = SipHash128(key_frame, raft header (64 bytes) || digest)
 *
 * The header (which names the recipient) is authenticated together with a
 * digest of the body, so a body shared by several headers is hashed once
 * and each header (one 80-byte SipHash, ~40 ns) apart, and the body never
 * has to be copied next to each header to be tagged (dp_fanout).
 *
 * The digest only has to be an almost-universal hash under a secret key:
 * the outer SipHash is a PRF, so the tag is hash-then-PRF (a forger must
 * find a second body with the same digest without ever seeing a digest:
 * chance ~ q^2 * (blocks + 1) / 2^128 after q frames). Two such hashes, by
 * the body's size, which the authenticated header fixes, so no body can be
 * read under the other one:
 *
 *  - bodies under WIRE_AUTH_GHASH_FROM_BYTES: SipHash128(key_body, body),
 *    the faster one for a few blocks (acks, votes, heartbeats);
 *  - larger ones: GHASH_H(body, length block) xor M, H and M derived
 *    from the key's GHASH part with BLAKE2b (wire_ghash.c, written here:
 *    VPCLMULQDQ on 512-bit registers where the CPU has it, 128-bit
 *    PCLMULQDQ elsewhere, the same values). GHASH under a secret uniform
 *    H is almost-xor-universal, which is all hash-then-PRF needs
 *    (wire_ghash.c's header argues it in full). At 1 KiB values each byte
 *    is hashed five times between a client and a commit (client, leader,
 *    the leader's appends, two followers), and the tag was a fifth of a
 *    saturated node's CPU (dataplane/README.md, "The MAC").
 *
 * SipHash is a keyed PRF, so no part of this needs a nonce: encoding stays
 * stateless and a node that restarts cannot reuse a nonce by accident
 * (GMAC used as the wire's MAC would need one, unique per key).
 *
 * The 64-byte key (key_frame | key_body | key_ghash) is BLAKE2b(secret)
 * personalised with "raftnode-wire-v2" and salted with the cluster id, so
 * one secret used by two clusters yields two keys, and the secret itself
 * never sits in the per-lcore context. A CPU without AES-NI and PCLMULQDQ
 * (crypto_aead_aes256gcm_is_available; the digest needs PCLMULQDQ, client
 * encryption AES-NI) cannot derive it: the context refuses to start
 * (-DP_ERR_CRYPTO, said so), rather than speak a digest its peers do not.
 */
#include <sodium.h>

#include "common.h"
#include "wire_ghash.h"
#include "wire_internal.h"

_Static_assert(DP_KEY_BYTES == 2 * crypto_shorthash_siphashx24_KEYBYTES + WIRE_GHASH_KEY_BYTES,
	       "two siphashx24 keys and a GHASH key");
_Static_assert(DP_TAG_BYTES == WIRE_GHASH_BLOCK_BYTES, "a GHASH digest is a tag's size");

#define WIRE_AUTH_KEY_FRAME 0u
#define WIRE_AUTH_KEY_BODY crypto_shorthash_siphashx24_KEYBYTES
#define WIRE_AUTH_KEY_GHASH (2u * crypto_shorthash_siphashx24_KEYBYTES)
/* Where libsodium's GHASH overtook SipHash (bench/micro_wire.cc,
 * body_digest). Ours is faster already at 64 bytes (33 against 50 ns);
 * the split stayed, as small frames (acks, votes, replies) cost little
 * either way next to 1 KiB bodies, and moving it changes more digests. */
#define WIRE_AUTH_GHASH_FROM_BYTES 256u
_Static_assert(DP_TAG_BYTES == crypto_shorthash_siphashx24_BYTES, "siphashx24 tag");
_Static_assert(crypto_generichash_blake2b_SALTBYTES == 16, "blake2b salt");
_Static_assert(crypto_generichash_blake2b_PERSONALBYTES == 16, "blake2b personal");
_Static_assert(DP_RAFT_HDR_BYTES + DP_TAG_BYTES == 80, "header || digest: one 80-byte SipHash");

int wire_auth_derive_key(uint8_t key[DP_KEY_BYTES], uint32_t cluster_id,
			 const uint8_t *secret, size_t secret_bytes)
{
	static const uint8_t personal[16] = "raftnode-wire-v2"; /* no NUL: 16 bytes */
	uint8_t salt[16] = {0};

	RN_ASSERT(key != NULL);
	RN_ASSERT(secret != NULL);
	if (sodium_init() < 0 || crypto_aead_aes256gcm_is_available() == 0) {
		return -DP_ERR_CRYPTO;
	}
	wire_st32(salt, cluster_id);
	if (crypto_generichash_blake2b_salt_personal(key, DP_KEY_BYTES, secret, secret_bytes,
						     NULL, 0, salt, personal) != 0) {
		return -DP_ERR_CRYPTO;
	}
	return 0;
}

void wire_auth_body_digest(const uint8_t key[DP_KEY_BYTES], const uint8_t *body,
			   size_t body_bytes, uint8_t digest[DP_TAG_BYTES])
{
	if (body_bytes < WIRE_AUTH_GHASH_FROM_BYTES) {
		int rc = crypto_shorthash_siphashx24(digest, body, body_bytes,
						     key + WIRE_AUTH_KEY_BODY);
		RN_ASSERT(rc == 0);
	} else {
		wire_ghash_digest(key + WIRE_AUTH_KEY_GHASH, body, body_bytes, digest);
	}
}

void wire_auth_tag_parts(const uint8_t key[DP_KEY_BYTES], const uint8_t *hdr,
			 const uint8_t *digest, size_t digest_bytes, uint8_t tag[DP_TAG_BYTES])
{
	/* A computed digest (16 bytes), or a sealed body's whole trailer:
	 * mac | key nonce | counter (wire_seal.c). The tag covers the key
	 * nonce and the counter too, so a frame with either changed is
	 * dropped here, by the cheap check, before a receiver sets up a key
	 * for a key nonce it has not seen. */
	RN_ASSERT(digest_bytes == DP_TAG_BYTES || digest_bytes == DP_SEAL_OVERHEAD_BYTES);
	uint8_t in[DP_RAFT_HDR_BYTES + DP_SEAL_OVERHEAD_BYTES];
	memcpy(in, hdr, DP_RAFT_HDR_BYTES);
	memcpy(in + DP_RAFT_HDR_BYTES, digest, digest_bytes);
	int rc = crypto_shorthash_siphashx24(tag, in, DP_RAFT_HDR_BYTES + digest_bytes,
					     key + WIRE_AUTH_KEY_FRAME);
	RN_ASSERT(rc == 0);
}

void wire_auth_tag(const uint8_t key[DP_KEY_BYTES], const uint8_t *in, size_t in_bytes,
		   uint8_t tag[DP_TAG_BYTES])
{
	uint8_t digest[DP_TAG_BYTES];
	RN_ASSERT(in_bytes >= DP_RAFT_HDR_BYTES);
	wire_auth_body_digest(key, in + DP_RAFT_HDR_BYTES, in_bytes - DP_RAFT_HDR_BYTES, digest);
	wire_auth_tag_parts(key, in, digest, DP_TAG_BYTES, tag);
}

void wire_auth_tag_frame(const uint8_t key[DP_KEY_BYTES], uint8_t *raft, size_t signed_bytes)
{
	RN_ASSERT(signed_bytes >= DP_RAFT_HDR_BYTES);
	uint16_t flags = wire_ld16(raft + offsetof(struct dp_wire_hdr, flags));
	if ((flags & DP_HDR_ENCRYPTED) != 0 &&
	    signed_bytes >= DP_RAFT_HDR_BYTES + DP_SEAL_OVERHEAD_BYTES) {
		wire_auth_tag_parts(key, raft, raft + signed_bytes - DP_SEAL_OVERHEAD_BYTES,
				    DP_SEAL_OVERHEAD_BYTES, raft + signed_bytes);
	} else {
		wire_auth_tag(key, raft, signed_bytes, raft + signed_bytes);
	}
}

int wire_auth_verify(const uint8_t key[DP_KEY_BYTES], const uint8_t *in, size_t in_bytes,
		     const uint8_t *digest, size_t digest_bytes, const uint8_t tag[DP_TAG_BYTES])
{
	uint8_t expect[DP_TAG_BYTES];

	if (digest != NULL) {
		wire_auth_tag_parts(key, in, digest, digest_bytes, expect);
	} else {
		wire_auth_tag(key, in, in_bytes, expect);
	}
	/* Constant time, so the comparison leaks nothing about the tag.
	 * crypto_verify_16 is a few ns; sodium_memcmp cost ~40 ns per frame
	 * here. The expected tag is not wiped: it only authenticates this one
	 * frame, which the sender sent in the clear. */
	return crypto_verify_16(expect, tag) == 0;
}
