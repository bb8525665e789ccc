/* SPDX-License-Identifier: MIT */
/*
 * wire_ghash.h - our GHASH (wire_ghash.c), the body digest of the frame
 * tag for bodies of 256 bytes and more (wire_auth.c). Internal: only
 * wire_auth.c, the tests and bench/micro_wire include it.
 *
 * GHASH is the polynomial hash of GCM (McGrew & Viega; NIST SP 800-38D):
 * Y_0 = 0, Y_i = (Y_(i-1) xor X_i) * H in GF(2^128) modulo
 * x^128 + x^7 + x^2 + x + 1, over 16-byte blocks X_i (the last one padded
 * with zeros), in GCM's bit order. Byte strings here are in that order,
 * as the specification prints them, so its test vectors apply as they are.
 */
#ifndef RN_DATAPLANE_WIRE_GHASH_H
#define RN_DATAPLANE_WIRE_GHASH_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WIRE_GHASH_BLOCK_BYTES 16u
/* Blocks folded into one reduction: the powers H^1..H^16 are kept. */
#define WIRE_GHASH_POWERS 16u
/* GHASH's key part of the 64-byte wire key (wire_auth.c). */
#define WIRE_GHASH_KEY_BYTES 32u

/* One key's precomputed powers and output mask (wire_ghash_key_init). */
struct wire_ghash_key {
	/* h_pow[i] = H^(16 - i) * x^-1, i = 0..15, each as a 128-bit
	 * little-endian integer of the byte-reversed block (the form the
	 * carry-less multiply takes; the x^-1 saves a shift per product).
	 * Rows 16..19 are zero: the wide tail loads 4 rows from
	 * h_pow[16 - m] for m left-over blocks and may read 3 rows past 15,
	 * against blocks that its masked load zeroed. */
	alignas(64) uint8_t h_pow[WIRE_GHASH_POWERS + 4][WIRE_GHASH_BLOCK_BYTES];
	uint8_t mask[WIRE_GHASH_BLOCK_BYTES]; /* M, xored into the digest */
	/* H^1..H^powers are set (the rest zero): an update's rounds of m
	 * blocks need m <= powers, which it asserts. */
	uint32_t powers;
};

/* Y = GHASH_H continued over data (bytes, the last block padded with
 * zeros): y holds Y_(i-1) on entry and the new Y on return. */
typedef void wire_ghash_update_fn(const struct wire_ghash_key *k,
				  uint8_t y[WIRE_GHASH_BLOCK_BYTES], const uint8_t *data,
				  size_t data_bytes);

/* Fills k for the hash key h (GCM byte order) and mask, all 16 powers.
 * Needs PCLMULQDQ. */
void wire_ghash_key_init(struct wire_ghash_key *k, const uint8_t h[WIRE_GHASH_BLOCK_BYTES],
			 const uint8_t mask[WIRE_GHASH_BLOCK_BYTES]);
/* The same with only the powers updates of at most data_bytes_max bytes
 * per call use (min(16, its blocks)): a key that hashes one short frame
 * (wire_gcm.c) computes fewer. */
void wire_ghash_key_init_for(struct wire_ghash_key *k, const uint8_t h[WIRE_GHASH_BLOCK_BYTES],
			     const uint8_t mask[WIRE_GHASH_BLOCK_BYTES], size_t data_bytes_max);
/* 128-bit PCLMULQDQ, 8 blocks per reduction. Any x86-64 CPU with PCLMULQDQ. */
wire_ghash_update_fn wire_ghash_update_pclmul;
/* VPCLMULQDQ on 512-bit registers (4 blocks each), 16 blocks per
 * reduction. Only when wire_ghash_wide_available(). */
wire_ghash_update_fn wire_ghash_update_vpclmul;
/* This CPU (and OS: the AVX-512 state) runs wire_ghash_update_vpclmul. */
bool wire_ghash_wide_available(void);
/* VPCLMULQDQ on 256-bit registers (2 blocks each), 16 blocks per
 * reduction: a CPU with VPCLMULQDQ and AVX2 but no AVX-512 (AMD Zen 3).
 * Only when wire_ghash_ymm_available(). */
wire_ghash_update_fn wire_ghash_update_vpclmul256;
bool wire_ghash_ymm_available(void);
/* The update this thread uses: the widest this CPU runs (512-bit, 256-bit
 * VPCLMULQDQ, else 128-bit PCLMULQDQ). */
wire_ghash_update_fn *wire_ghash_update_best(void);

/*
 * The body digest: GHASH_H(body, length block) xor M, where the length
 * block is GCM's for the body as additional data and no ciphertext
 * (bit length, 64-bit big-endian, then 64 zero bits), and H || M =
 * BLAKE2b(key = ghash_key, personal "raftnode-ghash-1"). The powers of
 * the last few keys are cached per thread (wire_ghash.c).
 */
void wire_ghash_digest(const uint8_t ghash_key[WIRE_GHASH_KEY_BYTES], const uint8_t *body,
		       size_t body_bytes, uint8_t digest[WIRE_GHASH_BLOCK_BYTES]);

#ifdef __cplusplus
}
#endif

#endif
