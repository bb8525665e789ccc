/* SPDX-License-Identifier: MIT */
/*
 * wire_gcm.h - AES-256-GCM on VAES + VPCLMULQDQ (wire_gcm.c), for the
 * sealed client bodies (wire_seal.c). The same bytes as libsodium's
 * crypto_aead_aes256gcm_* (96-bit nonce, 16-byte tag), which stays the
 * path on a CPU without these instructions. Internal: wire_seal.c, the
 * tests and bench/micro_wire include it.
 */
#ifndef RN_DATAPLANE_WIRE_GCM_H
#define RN_DATAPLANE_WIRE_GCM_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire_ghash.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WIRE_GCM_KEY_BYTES 32u
#define WIRE_GCM_NONCE_BYTES 12u
#define WIRE_GCM_TAG_BYTES 16u
#define WIRE_GCM_ROUND_KEYS 15u /* AES-256: 14 rounds */

/* One key's AES round keys and GHASH powers (wire_gcm_key_init). */
struct wire_gcm_key {
	alignas(16) uint8_t round_keys[WIRE_GCM_ROUND_KEYS][16];
	struct wire_ghash_key ghash; /* H = AES_K(0), no mask */
	bool wide; /* AVX-512 (4 blocks per register), else AVX2 (2) */
};

/* This CPU (and OS) runs wire_gcm.c: AES-NI, VAES, VPCLMULQDQ and
 * AVX-512 (F, BW) or AVX2. Else libsodium's AES-256-GCM (same bytes). */
bool wire_gcm_available(void);
/* Expands key (AES-256) into k and derives H and the powers of it that
 * messages and additional data of at most bytes_max bytes need (a frame's
 * key seals one frame). Only when wire_gcm_available(). */
void wire_gcm_key_init(struct wire_gcm_key *k, const uint8_t key[WIRE_GCM_KEY_BYTES],
		       size_t bytes_max);
/* Encrypts data (data_bytes) in place and writes the tag over ad and the
 * ciphertext. ad_bytes and data_bytes at most the key's bytes_max. */
void wire_gcm_seal(const struct wire_gcm_key *k, const uint8_t nonce[WIRE_GCM_NONCE_BYTES],
		   const uint8_t *ad, size_t ad_bytes, uint8_t *data, size_t data_bytes,
		   uint8_t tag[WIRE_GCM_TAG_BYTES]);
/* Checks tag over ad and the ciphertext (constant time), then decrypts
 * data in place: 0; or -1, data untouched. */
int wire_gcm_open(const struct wire_gcm_key *k, const uint8_t nonce[WIRE_GCM_NONCE_BYTES],
		  const uint8_t *ad, size_t ad_bytes, uint8_t *data, size_t data_bytes,
		  const uint8_t tag[WIRE_GCM_TAG_BYTES]);

#ifdef __cplusplus
}
#endif

#endif
