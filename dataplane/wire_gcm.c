/* SPDX-License-Identifier: MIT */
/*
 * wire_gcm.c - AES-256-GCM (NIST SP 800-38D, 96-bit nonce, 128-bit tag)
 * on VAES and VPCLMULQDQ, for the sealed client bodies (wire_seal.c):
 * the same bytes as libsodium's crypto_aead_aes256gcm_*, which stays the
 * path on a CPU without these instructions (test_dataplane_wire_gcm
 * compares the two on random keys, nonces and lengths).
 *
 * Why written here: libsodium's AES-GCM encrypts and hashes one 128-bit
 * block per instruction; VAES and VPCLMULQDQ on 512-bit registers do four,
 * on 256-bit ones (a CPU without AVX-512) two. (Until wire version 7 a
 * sealed frame had a key of its own, so its key setup mattered too;
 * now a sender's key serves many frames, wire_seal.c.) bench/micro_wire.cc (aead_aes256gcm_counter_nonce,
 * client_frame_encode/decode, old and new side by side) has the figures;
 * dataplane/README.md quotes them.
 *
 * Construction, as the specification: H = AES_K(0^128); J0 = nonce ||
 * 0^31 || 1; the data is xored with AES_K(inc32^i(J0)), i = 1, 2, ...;
 * tag = GHASH_H(ad, ciphertext, lengths) xor AES_K(J0). The counter is
 * kept per 128-bit lane as a little-endian 32-bit integer in the block's
 * last word and byte-swapped into place (inc32 wraps mod 2^32, as
 * _mm512_add_epi32 does). The seal encrypts then hashes the ciphertext;
 * the open hashes, checks the tag in constant time, then decrypts, so a
 * forged body is never decrypted.
 */
#include <cpuid.h>
#include <endian.h>
#include <immintrin.h>
#include <string.h>

#include <sodium.h>

#include "common.h"
#include "wire_gcm.h"

/* The CTR loop on 512-bit registers (AVX-512) or on 256-bit ones (a CPU
 * with VAES and VPCLMULQDQ but no AVX-512: AMD Zen 3); the key setup and
 * the tag's one block with 128-bit AES-NI, which both run. */
#define GCM_TARGET                                                                               \
	__attribute__((target("aes,vaes,pclmul,ssse3,avx2,avx512f,avx512bw,vpclmulqdq")))
#define GCM_TARGET_YMM __attribute__((target("aes,vaes,pclmul,ssse3,avx,avx2,vpclmulqdq")))
#define GCM_TARGET_XMM __attribute__((target("aes,pclmul,ssse3")))

/* Blocks encrypted per loop: 8 registers of 4 (or of 2), enough
 * independent AES rounds to cover the instruction's latency (15 round keys
 * and 8 blocks fit the 32 registers of AVX-512; with AVX2's 16 the round
 * keys are memory operands). The round keys stay in registers: no copy of
 * them is wiped here, the caller wipes the key. */
#define GCM_LOOP_REGS 8u
#define GCM_LOOP_BYTES (GCM_LOOP_REGS * 64u)
#define GCM_TAIL_REGS 4u
#define GCM_TAIL_BYTES (GCM_TAIL_REGS * 64u)
#define GCM_YMM_LOOP_BYTES (GCM_LOOP_REGS * 32u)

/* VAES from CPUID (leaf 7, ECX bit 9): clang 14's __builtin_cpu_supports
 * does not know it. The AVX-512 (or AVX2) state the OS saves is checked
 * with the rest in wire_ghash_wide_available (wire_ghash_ymm_available). */
bool wire_gcm_available(void)
{
	unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
	__builtin_cpu_init();
	return __builtin_cpu_supports("aes") && __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) &&
	       (ecx & (1u << 9)) != 0 &&
	       (wire_ghash_wide_available() || wire_ghash_ymm_available());
}

/* x0 ^ (x0..x1) ^ ... : each 32-bit word xored with the ones below it. */
GCM_TARGET_XMM static inline __m128i gcm_prefix_xor(__m128i x)
{
	x = _mm_xor_si128(x, _mm_slli_si128(x, 4));
	return _mm_xor_si128(x, _mm_slli_si128(x, 8));
}

/* FIPS-197 key expansion, Nk = 8: an even round key from the one two back
 * and SubWord(RotWord(last word)) ^ rcon of the previous one, an odd one
 * with SubWord(last word). SubWord comes from AESENCLAST on a register
 * whose four columns are the same word (ShiftRows then moves nothing) with
 * rcon in every word as the round key: AESKEYGENASSIST, the usual way, is
 * microcoded and several times slower here, and a sealed frame expands a
 * key of its own. */
GCM_TARGET_XMM static inline __m128i gcm_next_key(__m128i two_back, __m128i prev, __m128i pick,
					      __m128i rcon)
{
	__m128i word = _mm_aesenclast_si128(_mm_shuffle_epi8(prev, pick), rcon);
	return _mm_xor_si128(gcm_prefix_xor(two_back), word);
}

GCM_TARGET_XMM static inline __m128i gcm_encrypt_block(const __m128i rk[WIRE_GCM_ROUND_KEYS],
						   __m128i x)
{
	x = _mm_xor_si128(x, rk[0]);
	for (uint32_t r = 1; r < WIRE_GCM_ROUND_KEYS - 1; r++) {
		x = _mm_aesenc_si128(x, rk[r]);
	}
	return _mm_aesenclast_si128(x, rk[WIRE_GCM_ROUND_KEYS - 1]);
}

GCM_TARGET_XMM void wire_gcm_key_init(struct wire_gcm_key *k, const uint8_t key[WIRE_GCM_KEY_BYTES],
				  size_t bytes_max)
{
	RN_ASSERT(k != NULL && key != NULL);
	/* Word 3 rotated (RotWord) in every column; word 3 as it is. */
	const __m128i rot_word3 = _mm_set_epi8(12, 15, 14, 13, 12, 15, 14, 13, 12, 15, 14, 13, 12,
					       15, 14, 13);
	const __m128i word3 = _mm_set_epi8(15, 14, 13, 12, 15, 14, 13, 12, 15, 14, 13, 12, 15, 14,
					   13, 12);
	__m128i rk[WIRE_GCM_ROUND_KEYS];
	rk[0] = _mm_loadu_si128((const void *)key);
	rk[1] = _mm_loadu_si128((const void *)(key + 16));
	int rcon = 1;
	for (uint32_t r = 2; r < WIRE_GCM_ROUND_KEYS; r++) {
		if (r % 2 == 0) {
			rk[r] = gcm_next_key(rk[r - 2], rk[r - 1], rot_word3, _mm_set1_epi32(rcon));
			rcon <<= 1; /* 0x01 .. 0x40: no reduction needed for AES-256 */
		} else {
			rk[r] = gcm_next_key(rk[r - 2], rk[r - 1], word3, _mm_setzero_si128());
		}
	}
	for (uint32_t r = 0; r < WIRE_GCM_ROUND_KEYS; r++) {
		_mm_store_si128((__m128i *)(void *)k->round_keys[r], rk[r]);
	}
	uint8_t h[16], zero[16] = {0};
	_mm_storeu_si128((__m128i *)(void *)h, gcm_encrypt_block(rk, _mm_setzero_si128()));
	wire_ghash_key_init_for(&k->ghash, h, zero, bytes_max);
	sodium_memzero(h, sizeof(h));
	k->wide = wire_ghash_wide_available();
}

/* data ^= AES_K(counter blocks J0 + 1, + 2, ...), in place. */
GCM_TARGET static void gcm_ctr(const struct wire_gcm_key *k,
			       const uint8_t nonce[WIRE_GCM_NONCE_BYTES], uint8_t *data,
			       size_t data_bytes)
{
	__m512i rk[WIRE_GCM_ROUND_KEYS];
	for (uint32_t r = 0; r < WIRE_GCM_ROUND_KEYS; r++) {
		rk[r] = _mm512_broadcast_i32x4(_mm_load_si128((const void *)k->round_keys[r]));
	}
	/* Per lane: the nonce, then the counter as a little-endian word. */
	uint8_t j0[16] = {0};
	memcpy(j0, nonce, WIRE_GCM_NONCE_BYTES);
	__m512i ctr = _mm512_add_epi32(_mm512_broadcast_i32x4(_mm_loadu_si128((const void *)j0)),
				       _mm512_set_epi32(5, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0));
	const __m512i step = _mm512_set_epi32(4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0);
	_Static_assert(GCM_LOOP_REGS * 64u == GCM_LOOP_BYTES, "a register is 4 blocks");
	/* Bytes 0..11 in place, the last word big-endian. */
	const __m512i to_block = _mm512_broadcast_i32x4(
		_mm_set_epi8(12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
	while (data_bytes >= GCM_LOOP_BYTES) {
		__m512i x[GCM_LOOP_REGS];
		for (uint32_t i = 0; i < GCM_LOOP_REGS; i++) {
			x[i] = _mm512_xor_si512(_mm512_shuffle_epi8(ctr, to_block), rk[0]);
			ctr = _mm512_add_epi32(ctr, step);
		}
		for (uint32_t r = 1; r < WIRE_GCM_ROUND_KEYS - 1; r++) {
			for (uint32_t i = 0; i < GCM_LOOP_REGS; i++) {
				x[i] = _mm512_aesenc_epi128(x[i], rk[r]);
			}
		}
		for (uint32_t i = 0; i < GCM_LOOP_REGS; i++) {
			x[i] = _mm512_aesenclast_epi128(x[i], rk[WIRE_GCM_ROUND_KEYS - 1]);
			__m512i d = _mm512_loadu_si512((const void *)(data + 64u * i));
			_mm512_storeu_si512((void *)(data + 64u * i), _mm512_xor_si512(d, x[i]));
		}
		data += GCM_LOOP_BYTES;
		data_bytes -= GCM_LOOP_BYTES;
	}
	/* The rest, 4 registers at a time: latency-bound there, so 4 cost
	 * about what 1 does; the loads and stores masked past the end. */
	while (data_bytes > 0) {
		size_t loop_bytes = data_bytes < GCM_TAIL_BYTES ? data_bytes : GCM_TAIL_BYTES;
		__m512i x[GCM_TAIL_REGS];
		for (uint32_t i = 0; i < GCM_TAIL_REGS; i++) {
			x[i] = _mm512_xor_si512(_mm512_shuffle_epi8(ctr, to_block), rk[0]);
			ctr = _mm512_add_epi32(ctr, step);
		}
		for (uint32_t r = 1; r < WIRE_GCM_ROUND_KEYS - 1; r++) {
			for (uint32_t i = 0; i < GCM_TAIL_REGS; i++) {
				x[i] = _mm512_aesenc_epi128(x[i], rk[r]);
			}
		}
		for (size_t at = 0, i = 0; at < loop_bytes; at += 64, i++) {
			size_t left = loop_bytes - at;
			__mmask64 keep = left >= 64 ? ~0ull : (1ull << left) - 1;
			__m512i ks = _mm512_aesenclast_epi128(x[i], rk[WIRE_GCM_ROUND_KEYS - 1]);
			__m512i d = _mm512_maskz_loadu_epi8(keep, data + at);
			_mm512_mask_storeu_epi8(data + at, keep, _mm512_xor_si512(d, ks));
		}
		data += loop_bytes;
		data_bytes -= loop_bytes;
	}
}

/* data ^= ks, bytes of them (the keystream of a last, partial loop). */
static void gcm_xor_tail(uint8_t *data, const uint8_t *ks, size_t bytes)
{
	size_t at = 0;
	for (; at + 8 <= bytes; at += 8) {
		uint64_t d, k;
		memcpy(&d, data + at, 8);
		memcpy(&k, ks + at, 8);
		d ^= k;
		memcpy(data + at, &d, 8);
	}
	for (; at < bytes; at++) {
		data[at] ^= ks[at];
	}
}

/* The same on 256-bit registers (2 blocks each); the last partial loop's
 * keystream goes through memory (AVX2 has no byte-masked load or store),
 * so no byte past the end is read or written. */
GCM_TARGET_YMM static void gcm_ctr_ymm(const struct wire_gcm_key *k,
				       const uint8_t nonce[WIRE_GCM_NONCE_BYTES], uint8_t *data,
				       size_t data_bytes)
{
	uint8_t j0[16] = {0};
	memcpy(j0, nonce, WIRE_GCM_NONCE_BYTES);
	__m256i ctr = _mm256_add_epi32(_mm256_broadcastsi128_si256(_mm_loadu_si128((const void *)j0)),
				       _mm256_set_epi32(3, 0, 0, 0, 2, 0, 0, 0));
	const __m256i step = _mm256_set_epi32(2, 0, 0, 0, 2, 0, 0, 0);
	const __m256i to_block = _mm256_broadcastsi128_si256(
		_mm_set_epi8(12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
	/* Each round's key broadcast from memory as it is used: AVX2 has 16
	 * registers, the 8 blocks and the counter take most of them. The
	 * loops are unrolled (the blocks must stay in registers: as an
	 * array indexed in a loop they went through the stack, 3x slower). */
	while (data_bytes > 0) {
		size_t loop_bytes = data_bytes < GCM_YMM_LOOP_BYTES ? data_bytes : GCM_YMM_LOOP_BYTES;
		__m256i x[GCM_LOOP_REGS];
		__m256i rk = _mm256_broadcastsi128_si256(_mm_load_si128((const void *)k->round_keys[0]));
#pragma GCC unroll 8
		for (uint32_t i = 0; i < GCM_LOOP_REGS; i++) {
			x[i] = _mm256_xor_si256(_mm256_shuffle_epi8(ctr, to_block), rk);
			ctr = _mm256_add_epi32(ctr, step);
		}
#pragma GCC unroll 16
		for (uint32_t r = 1; r < WIRE_GCM_ROUND_KEYS - 1; r++) {
			rk = _mm256_broadcastsi128_si256(_mm_load_si128((const void *)k->round_keys[r]));
#pragma GCC unroll 8
			for (uint32_t i = 0; i < GCM_LOOP_REGS; i++) {
				x[i] = _mm256_aesenc_epi128(x[i], rk);
			}
		}
		rk = _mm256_broadcastsi128_si256(
			_mm_load_si128((const void *)k->round_keys[WIRE_GCM_ROUND_KEYS - 1]));
#pragma GCC unroll 8
		for (uint32_t i = 0; i < GCM_LOOP_REGS; i++) {
			x[i] = _mm256_aesenclast_epi128(x[i], rk);
		}
		if (loop_bytes == GCM_YMM_LOOP_BYTES) {
#pragma GCC unroll 8
			for (uint32_t i = 0; i < GCM_LOOP_REGS; i++) {
				__m256i d = _mm256_loadu_si256((const void *)(data + 32u * i));
				_mm256_storeu_si256((void *)(data + 32u * i), _mm256_xor_si256(d, x[i]));
			}
		} else {
			/* The last part: its blocks' keystream stored, xored bytewise
			 * by 8, so no byte past the end is read or written. */
			uint8_t ks[GCM_YMM_LOOP_BYTES];
#pragma GCC unroll 8
			for (uint32_t i = 0; i < GCM_LOOP_REGS; i++) {
				_mm256_storeu_si256((void *)(ks + 32u * i), x[i]);
			}
			gcm_xor_tail(data, ks, loop_bytes);
			sodium_memzero(ks, sizeof(ks));
		}
		data += loop_bytes;
		data_bytes -= loop_bytes;
	}
}

/* GHASH(ad, ciphertext, lengths) xor AES_K(J0). */
GCM_TARGET_XMM static void gcm_tag(const struct wire_gcm_key *k,
			       const uint8_t nonce[WIRE_GCM_NONCE_BYTES], const uint8_t *ad,
			       size_t ad_bytes, const uint8_t *data, size_t data_bytes,
			       uint8_t tag[WIRE_GCM_TAG_BYTES])
{
	uint8_t y[16] = {0}, lengths[16];
	uint64_t ad_bits_be = htobe64((uint64_t)ad_bytes * 8u);
	uint64_t data_bits_be = htobe64((uint64_t)data_bytes * 8u);
	memcpy(lengths, &ad_bits_be, 8);
	memcpy(lengths + 8, &data_bits_be, 8);
	wire_ghash_update_fn *update = k->wide ? wire_ghash_update_vpclmul
					       : wire_ghash_update_vpclmul256;
	update(&k->ghash, y, ad, ad_bytes);
	update(&k->ghash, y, data, data_bytes);
	update(&k->ghash, y, lengths, sizeof(lengths));
	__m128i rk[WIRE_GCM_ROUND_KEYS];
	for (uint32_t r = 0; r < WIRE_GCM_ROUND_KEYS; r++) {
		rk[r] = _mm_load_si128((const void *)k->round_keys[r]);
	}
	uint8_t j0[16] = {0};
	memcpy(j0, nonce, WIRE_GCM_NONCE_BYTES);
	j0[15] = 1;
	__m128i s = gcm_encrypt_block(rk, _mm_loadu_si128((const void *)j0));
	_mm_storeu_si128((__m128i *)(void *)tag,
			 _mm_xor_si128(s, _mm_loadu_si128((const void *)y)));
}

void wire_gcm_seal(const struct wire_gcm_key *k, const uint8_t nonce[WIRE_GCM_NONCE_BYTES],
		   const uint8_t *ad, size_t ad_bytes, uint8_t *data, size_t data_bytes,
		   uint8_t tag[WIRE_GCM_TAG_BYTES])
{
	RN_ASSERT(k != NULL && nonce != NULL && tag != NULL);
	RN_ASSERT((ad != NULL || ad_bytes == 0) && (data != NULL || data_bytes == 0));
	if (k->wide) {
		gcm_ctr(k, nonce, data, data_bytes);
	} else {
		gcm_ctr_ymm(k, nonce, data, data_bytes);
	}
	gcm_tag(k, nonce, ad, ad_bytes, data, data_bytes, tag);
}

int wire_gcm_open(const struct wire_gcm_key *k, const uint8_t nonce[WIRE_GCM_NONCE_BYTES],
		  const uint8_t *ad, size_t ad_bytes, uint8_t *data, size_t data_bytes,
		  const uint8_t tag[WIRE_GCM_TAG_BYTES])
{
	RN_ASSERT(k != NULL && nonce != NULL && tag != NULL);
	RN_ASSERT((ad != NULL || ad_bytes == 0) && (data != NULL || data_bytes == 0));
	uint8_t expect[WIRE_GCM_TAG_BYTES];
	gcm_tag(k, nonce, ad, ad_bytes, data, data_bytes, expect);
	_Static_assert(WIRE_GCM_TAG_BYTES == 16, "crypto_verify_16");
	if (crypto_verify_16(expect, tag) != 0) {
		return -1;
	}
	if (k->wide) {
		gcm_ctr(k, nonce, data, data_bytes);
	} else {
		gcm_ctr_ymm(k, nonce, data, data_bytes);
	}
	return 0;
}
