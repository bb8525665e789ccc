/* SPDX-License-Identifier: MIT */
/*
 * wire_auth.c - the per-frame authentication tag and the key it uses.
 *
 * The tag is SipHash-2-4 with a 128-bit output (libsodium
 * crypto_shorthash_siphashx24), nested so the body is hashed apart from the
 * header:
 *
 *     digest = SipHash128(key_body, body)
 *     tag    = SipHash128(key_frame, raft header (64 bytes) || digest)
 *
 * The header (which names the recipient) is authenticated together with a
 * keyed digest of the body, so replication fan-out hashes one shared body
 * once and each follower's header (one 80-byte SipHash, ~40 ns) apart, and
 * the body never has to be copied next to each header to be tagged
 * (dp_fanout). The two keys are independent, so the inner digest is a PRF
 * output no outsider can steer.
 *
 * SipHash is a keyed PRF, so it is a MAC without a nonce: encoding stays
 * stateless and a node that restarts cannot reuse a nonce by accident, which
 * is the failure that makes AES-GCM used as GMAC forgeable. The price is
 * speed at 1 KiB and more (numbers in dataplane/README.md).
 *
 * The 32-byte key (key_frame | key_body) is BLAKE2b(secret) personalised
 * with "raftnode-wire-v1" and salted with the cluster id, so one secret used
 * by two clusters yields two keys, and the secret itself never sits in the
 * per-lcore context.
 */
#include <sodium.h>

#include "common.h"
#include "wire_internal.h"

_Static_assert(DP_KEY_BYTES == 2 * crypto_shorthash_siphashx24_KEYBYTES, "two siphashx24 keys");
_Static_assert(DP_TAG_BYTES == crypto_shorthash_siphashx24_BYTES, "siphashx24 tag");
_Static_assert(crypto_generichash_blake2b_SALTBYTES == 16, "blake2b salt");
_Static_assert(crypto_generichash_blake2b_PERSONALBYTES == 16, "blake2b personal");
_Static_assert(DP_RAFT_HDR_BYTES + DP_TAG_BYTES == 80, "header || digest: one 80-byte SipHash");

int wire_auth_derive_key(uint8_t key[DP_KEY_BYTES], uint32_t cluster_id,
			 const uint8_t *secret, size_t secret_bytes)
{
	static const uint8_t personal[16] = "raftnode-wire-v1"; /* no NUL: 16 bytes */
	uint8_t salt[16] = {0};

	RN_ASSERT(key != NULL);
	RN_ASSERT(secret != NULL);
	if (sodium_init() < 0) {
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
	int rc = crypto_shorthash_siphashx24(digest, body, body_bytes,
					     key + crypto_shorthash_siphashx24_KEYBYTES);
	RN_ASSERT(rc == 0);
}

void wire_auth_tag_parts(const uint8_t key[DP_KEY_BYTES], const uint8_t *hdr,
			 const uint8_t digest[DP_TAG_BYTES], uint8_t tag[DP_TAG_BYTES])
{
	uint8_t in[DP_RAFT_HDR_BYTES + DP_TAG_BYTES];
	memcpy(in, hdr, DP_RAFT_HDR_BYTES);
	memcpy(in + DP_RAFT_HDR_BYTES, digest, DP_TAG_BYTES);
	int rc = crypto_shorthash_siphashx24(tag, in, sizeof(in), key);
	RN_ASSERT(rc == 0);
}

void wire_auth_tag(const uint8_t key[DP_KEY_BYTES], const uint8_t *in, size_t in_bytes,
		   uint8_t tag[DP_TAG_BYTES])
{
	uint8_t digest[DP_TAG_BYTES];
	RN_ASSERT(in_bytes >= DP_RAFT_HDR_BYTES);
	wire_auth_body_digest(key, in + DP_RAFT_HDR_BYTES, in_bytes - DP_RAFT_HDR_BYTES, digest);
	wire_auth_tag_parts(key, in, digest, tag);
}

int wire_auth_verify(const uint8_t key[DP_KEY_BYTES], const uint8_t *in, size_t in_bytes,
		     const uint8_t tag[DP_TAG_BYTES])
{
	uint8_t expect[DP_TAG_BYTES];

	wire_auth_tag(key, in, in_bytes, expect);
	/* Constant time, so the comparison leaks nothing about the tag.
	 * crypto_verify_16 is a few ns; sodium_memcmp cost ~40 ns per frame
	 * here. The expected tag is not wiped: it only authenticates this one
	 * frame, which the sender sent in the clear. */
	return crypto_verify_16(expect, tag) == 0;
}
