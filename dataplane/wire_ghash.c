/* SPDX-License-Identifier: MIT */
/*
 * wire_ghash.c - GHASH written here, the digest of frame bodies of 256
 * bytes and more (wire_auth.c): digest = GHASH_H(body, length block) xor M.
 *
 * Why this is a secure inner hash. The frame tag is
 * SipHash128(key_frame, header || digest): hash-then-PRF. GHASH under a
 * uniform secret H is (l/2^128)-almost-xor-universal for inputs of at
 * most l blocks (two distinct inputs give distinct polynomials in H of
 * degree <= l, with at most l roots); the length block makes the zero
 * padding unambiguous (a body and the same body with a zero byte more
 * differ in it). Xoring the constant M keeps that. The digest never
 * leaves the node and only reaches the wire through the PRF, so a forger
 * sees nothing that depends on H and must find a second body with the
 * same digest blindly: after q frames, chance <= q^2 * l / 2^128 (plus
 * SipHash's PRF advantage), l ~ 570 for a 9000-byte frame. H and M must
 * be secret and uniform: they are BLAKE2b (a PRF) of the 32-byte GHASH
 * part of the wire key, personalised "raftnode-ghash-1", so they are
 * independent of the SipHash keys beside them. H = 0 has chance 2^-128.
 * No AES: GCM derives H as AES_K(0), but any PRF output does here.
 *
 * Why written here rather than libsodium's. Before, the digest was
 * libsodium's AES-256-GCM tag of an empty message with the body as
 * additional data: its GHASH is a loop of 128-bit PCLMULQDQ (~0.37 us per
 * KiB here), and each call paid a table lookup of a 1 KiB key schedule.
 * This CPU has VPCLMULQDQ on 512-bit registers: 4 blocks per instruction
 * and 16 blocks folded per reduction. bench/micro_wire.cc, body_digest,
 * libsodium (key schedule precomputed) / ours wide / ours 128-bit, side by
 * side in one run (two runs, 2-vCPU VM at 2.1 GHz, loaded): 256 B 88-96 /
 * 36-50 / 54-55 ns, 1 KiB 238-274 / 77-82 / 150-171 ns, 8 KiB 1.7-1.9 /
 * 0.54-0.60 / 1.3-1.8 us (dataplane/README.md, "The MAC"). libsodium
 * offers no bare GHASH (nor GMAC with a chosen H) and no wider one, so
 * this is the only way to that speed; the 128-bit one is ours too so that
 * both give the same values from the same H (and libsodium's needs AES).
 *
 * Two implementations that give identical values (tests/unit/
 * test_wire_ghash.c checks both against a bit-serial reference and the
 * GCM specification's vectors): a wide one (AVX-512 + VPCLMULQDQ) and a
 * 128-bit PCLMULQDQ one, chosen at run time by CPU feature. Each is
 * compiled for its instructions with a function target attribute, so the
 * build needs no -march flag and a binary runs on any x86-64 CPU with
 * PCLMULQDQ (the wire context refuses to start without it:
 * wire_auth_derive_key).
 *
 * The arithmetic. A block's bytes reversed, as a 128-bit integer, hold
 * the coefficient of x^(127 - k) in bit k (GCM's bit order is reflected).
 * The carry-less product of two such integers holds the coefficient of
 * x^(254 - k) in bit k: one position off, which storing the powers of H
 * premultiplied by x^-1 absorbs. The product's low half is then the part
 * of degree 128..255 and is folded down twice by 64 bits: in this order,
 * V * x^64 = swap64(V) xor clmul(V_lo, 0xC200000000000000), the constant
 * being x^128 = x^7 + x^2 + x + 1 less its x^0 term (which the swap
 * moves), reflected. Products of several blocks are summed unreduced
 * and reduced once (reduction is linear): Horner's rule over n blocks is
 * sum X_i * H^(n + 1 - i), Y xored into X_1.
 */
#include <endian.h>
#include <immintrin.h>
#include <string.h>
#include <sodium.h>

#include "common.h"
#include "wire_ghash.h"

#if !defined(__x86_64__)
#error "wire_ghash.c: x86-64 only (PCLMULQDQ)"
#endif

#define GH_NARROW __attribute__((target("pclmul,ssse3")))
#define GH_WIDE __attribute__((target("pclmul,ssse3,avx2,avx512f,avx512bw,vpclmulqdq")))
#define GH_YMM __attribute__((target("pclmul,ssse3,avx,avx2,vpclmulqdq")))

/* x^128 reduced, without its x^0 term, reflected (see the top). */
#define GH_FOLD_CONSTANT 0xC200000000000000ull
/* Blocks per reduction in the 128-bit implementation. */
#define GH_NARROW_BLOCKS 8u
/* Bytes per reduction in the wide one: 4 registers of 4 blocks. */
#define GH_WIDE_BYTES (WIRE_GHASH_POWERS * WIRE_GHASH_BLOCK_BYTES)

_Static_assert(GH_NARROW_BLOCKS <= WIRE_GHASH_POWERS, "powers for a narrow round");
_Static_assert(GH_WIDE_BYTES == 256, "4 registers of 64 bytes");

/* The unreduced sum of products: bits 0..127, 64..191, 128..255. */
struct gh_acc128 {
	__m128i lo, mid, hi;
};

GH_NARROW static inline __m128i gh_bswap(__m128i v)
{
	const __m128i rev = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	return _mm_shuffle_epi8(v, rev);
}

GH_NARROW static inline void gh_mul_acc(struct gh_acc128 *a, __m128i x, __m128i h_pow)
{
	a->lo = _mm_xor_si128(a->lo, _mm_clmulepi64_si128(x, h_pow, 0x00));
	a->hi = _mm_xor_si128(a->hi, _mm_clmulepi64_si128(x, h_pow, 0x11));
	a->mid = _mm_xor_si128(a->mid, _mm_xor_si128(_mm_clmulepi64_si128(x, h_pow, 0x01),
						     _mm_clmulepi64_si128(x, h_pow, 0x10)));
}

/* lo ^ mid << 64 ^ hi << 128, reduced (see the top). */
GH_NARROW static inline __m128i gh_reduce(__m128i lo, __m128i mid, __m128i hi)
{
	const __m128i fold = _mm_set_epi64x(0, (long long)GH_FOLD_CONSTANT);
	__m128i d_lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
	__m128i d_hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
	d_lo = _mm_xor_si128(_mm_shuffle_epi32(d_lo, 0x4e), _mm_clmulepi64_si128(d_lo, fold, 0x00));
	d_lo = _mm_xor_si128(_mm_shuffle_epi32(d_lo, 0x4e), _mm_clmulepi64_si128(d_lo, fold, 0x00));
	return _mm_xor_si128(d_hi, d_lo);
}

/* a * b, b given premultiplied by x^-1. */
GH_NARROW static inline __m128i gh_mul(__m128i a, __m128i b_prime)
{
	struct gh_acc128 acc = {_mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128()};
	gh_mul_acc(&acc, a, b_prime);
	return gh_reduce(acc.lo, acc.mid, acc.hi);
}

/* r * x^-1 in registers (a round trip through memory, 16-byte store to
 * two 8-byte loads and back, failed store forwarding: it tripled the
 * key setup). Shift left one across the halves; the bit shifted out of
 * 127 brings x^-1's constant in. */
GH_NARROW static inline __m128i gh_prime(__m128i r)
{
	const __m128i x_inverse = _mm_set_epi64x((long long)GH_FOLD_CONSTANT, 1);
	__m128i carries = _mm_srli_epi64(r, 63);
	__m128i shifted = _mm_or_si128(_mm_slli_epi64(r, 1), _mm_slli_si128(carries, 8));
	__m128i top = _mm_shuffle_epi32(_mm_srai_epi32(r, 31), 0xff); /* bit 127, everywhere */
	return _mm_xor_si128(shifted, _mm_and_si128(top, x_inverse));
}

/* The powers by doubling (H^1..H^2, then times H^2, H^4, H^8), so the
 * 15 products form chains of 4 rather than one chain of 15: a sealed
 * frame's key (wire_gcm.c) pays this per frame. */
GH_NARROW void wire_ghash_key_init_for(struct wire_ghash_key *k,
				       const uint8_t h[WIRE_GHASH_BLOCK_BYTES],
				       const uint8_t mask[WIRE_GHASH_BLOCK_BYTES],
				       size_t data_bytes_max)
{
	RN_ASSERT(k != NULL && h != NULL && mask != NULL);
	size_t blocks = (data_bytes_max + WIRE_GHASH_BLOCK_BYTES - 1) / WIRE_GHASH_BLOCK_BYTES;
	uint32_t powers = (uint32_t)(blocks < 1 ? 1 : blocks < WIRE_GHASH_POWERS ? blocks
										 : WIRE_GHASH_POWERS);
	__m128i r[WIRE_GHASH_POWERS + 1], p[WIRE_GHASH_POWERS + 1]; /* H^i, H^i * x^-1 */
	r[1] = gh_bswap(_mm_loadu_si128((const void *)h));
	p[1] = gh_prime(r[1]);
	for (uint32_t have = 1; have < powers; have *= 2) {
		for (uint32_t i = 1; i <= have && have + i <= powers; i++) {
			r[have + i] = gh_mul(r[i], p[have]);
			p[have + i] = gh_prime(r[have + i]);
		}
	}
	memset(k, 0, sizeof(*k));
	for (uint32_t i = 1; i <= powers; i++) {
		_mm_store_si128((__m128i *)(void *)k->h_pow[WIRE_GHASH_POWERS - i], p[i]);
	}
	memcpy(k->mask, mask, WIRE_GHASH_BLOCK_BYTES);
	k->powers = powers;
	sodium_memzero(r, sizeof(r));
	sodium_memzero(p, sizeof(p));
}

void wire_ghash_key_init(struct wire_ghash_key *k, const uint8_t h[WIRE_GHASH_BLOCK_BYTES],
			 const uint8_t mask[WIRE_GHASH_BLOCK_BYTES])
{
	wire_ghash_key_init_for(k, h, mask, WIRE_GHASH_POWERS * WIRE_GHASH_BLOCK_BYTES);
}

/* Block j of m blocks at data (data_bytes of them real, the rest zeros). */
GH_NARROW static inline __m128i gh_load_block(const uint8_t *data, size_t data_bytes, size_t j)
{
	size_t at = j * WIRE_GHASH_BLOCK_BYTES;
	if (data_bytes - at >= WIRE_GHASH_BLOCK_BYTES) {
		return gh_bswap(_mm_loadu_si128((const void *)(data + at)));
	}
	uint8_t last[WIRE_GHASH_BLOCK_BYTES] = {0};
	memcpy(last, data + at, data_bytes - at);
	return gh_bswap(_mm_loadu_si128((const void *)last));
}

GH_NARROW void wire_ghash_update_pclmul(const struct wire_ghash_key *k,
					uint8_t y_bytes[WIRE_GHASH_BLOCK_BYTES],
					const uint8_t *data, size_t data_bytes)
{
	RN_ASSERT(k != NULL && y_bytes != NULL);
	__m128i y = gh_bswap(_mm_loadu_si128((const void *)y_bytes));
	while (data_bytes > 0) {
		/* This round's m blocks take H^m .. H^1. */
		size_t m = (data_bytes + WIRE_GHASH_BLOCK_BYTES - 1) / WIRE_GHASH_BLOCK_BYTES;
		m = m < GH_NARROW_BLOCKS ? m : GH_NARROW_BLOCKS;
		RN_ASSERT(m <= k->powers);
		size_t round_bytes = rn_min_u64(data_bytes, m * WIRE_GHASH_BLOCK_BYTES);
		const uint8_t(*pw)[WIRE_GHASH_BLOCK_BYTES] = &k->h_pow[WIRE_GHASH_POWERS - m];
		struct gh_acc128 a = {_mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128()};
		for (size_t j = 0; j < m; j++) {
			__m128i x = gh_load_block(data, round_bytes, j);
			if (j == 0) {
				x = _mm_xor_si128(x, y);
			}
			gh_mul_acc(&a, x, _mm_load_si128((const void *)pw[j]));
		}
		y = gh_reduce(a.lo, a.mid, a.hi);
		data += round_bytes;
		data_bytes -= round_bytes;
	}
	_mm_storeu_si128((__m128i *)(void *)y_bytes, gh_bswap(y));
}

/* The four 128-bit lanes of v xored together. */
GH_WIDE static inline __m128i gh_lanes_xor(__m512i v)
{
	__m256i t = _mm256_xor_si256(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
	return _mm_xor_si128(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
}

GH_WIDE void wire_ghash_update_vpclmul(const struct wire_ghash_key *k,
				       uint8_t y_bytes[WIRE_GHASH_BLOCK_BYTES],
				       const uint8_t *data, size_t data_bytes)
{
	RN_ASSERT(k != NULL && y_bytes != NULL);
	const __m512i rev = _mm512_broadcast_i32x4(
		_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
	__m128i y = gh_bswap(_mm_loadu_si128((const void *)y_bytes));
	while (data_bytes > 0) {
		/* A full round takes H^16 .. H^1; the last one's m blocks
		 * H^m .. H^1, its loads masked (zeros past the end, never a
		 * read of a byte past data + data_bytes). */
		size_t round_bytes = rn_min_u64(data_bytes, GH_WIDE_BYTES);
		size_t m = (round_bytes + WIRE_GHASH_BLOCK_BYTES - 1) / WIRE_GHASH_BLOCK_BYTES;
		RN_ASSERT(m <= k->powers);
		const uint8_t(*pw)[WIRE_GHASH_BLOCK_BYTES] = &k->h_pow[WIRE_GHASH_POWERS - m];
		__m512i lo = _mm512_setzero_si512(), mid = lo, hi = lo;
		for (size_t at = 0; at < round_bytes; at += 64) {
			size_t left = round_bytes - at;
			__mmask64 keep = left >= 64 ? ~0ull : (1ull << left) - 1;
			__m512i x = _mm512_shuffle_epi8(_mm512_maskz_loadu_epi8(keep, data + at), rev);
			if (at == 0) {
				x = _mm512_xor_si512(x, _mm512_inserti32x4(_mm512_setzero_si512(), y, 0));
			}
			__m512i p = _mm512_loadu_si512((const void *)pw[at / WIRE_GHASH_BLOCK_BYTES]);
			lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128(x, p, 0x00));
			hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128(x, p, 0x11));
			mid = _mm512_ternarylogic_epi64(mid, _mm512_clmulepi64_epi128(x, p, 0x01),
							_mm512_clmulepi64_epi128(x, p, 0x10), 0x96);
		}
		y = gh_reduce(gh_lanes_xor(lo), gh_lanes_xor(mid), gh_lanes_xor(hi));
		data += round_bytes;
		data_bytes -= round_bytes;
	}
	_mm_storeu_si128((__m128i *)(void *)y_bytes, gh_bswap(y));
}

/* The two 128-bit lanes of v xored together. */
GH_YMM static inline __m128i gh_lanes_xor256(__m256i v)
{
	return _mm_xor_si128(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}

/* Each 128-bit lane's two halves xored, in both halves. */
GH_YMM static inline __m256i gh_halves_xor256(__m256i v)
{
	return _mm256_xor_si256(v, _mm256_shuffle_epi32(v, 0x4e));
}

/* One register of 2 blocks times its 2 powers into the sums: the low and
 * high products, and Karatsuba's middle one, (x_lo ^ x_hi)(p_lo ^ p_hi):
 * three multiplies a block instead of four (the multiplier is what this
 * loop waits for; the halves' xors go to other ports). The reduction
 * takes the low and high sums out of the middle one (gh_reduce_kara256). */
GH_YMM static inline void gh_acc256(__m256i *lo, __m256i *mid, __m256i *hi, __m256i x, __m256i p)
{
	*lo = _mm256_xor_si256(*lo, _mm256_clmulepi64_epi128(x, p, 0x00));
	*hi = _mm256_xor_si256(*hi, _mm256_clmulepi64_epi128(x, p, 0x11));
	*mid = _mm256_xor_si256(
		*mid, _mm256_clmulepi64_epi128(gh_halves_xor256(x), gh_halves_xor256(p), 0x00));
}

GH_YMM static inline __m128i gh_reduce_kara256(__m256i lo, __m256i mid, __m256i hi)
{
	__m128i l = gh_lanes_xor256(lo), h = gh_lanes_xor256(hi);
	return gh_reduce(l, _mm_xor_si128(gh_lanes_xor256(mid), _mm_xor_si128(l, h)), h);
}

/* As the wide one on 256-bit registers (2 blocks each): a CPU with
 * VPCLMULQDQ and no AVX-512 (AMD Zen 3). 16 blocks per reduction; the
 * last partial register is copied into zeros (AVX2 has no byte-masked
 * load), so no byte past data + data_bytes is read. */
GH_YMM void wire_ghash_update_vpclmul256(const struct wire_ghash_key *k,
					 uint8_t y_bytes[WIRE_GHASH_BLOCK_BYTES],
					 const uint8_t *data, size_t data_bytes)
{
	RN_ASSERT(k != NULL && y_bytes != NULL);
	const __m256i rev = _mm256_broadcastsi128_si256(
		_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
	__m128i y = gh_bswap(_mm_loadu_si128((const void *)y_bytes));
	while (data_bytes > 0) {
		/* m blocks take H^m .. H^1; an odd m's last register pairs a
		 * zero block with row 16 (zero). */
		size_t round_bytes = rn_min_u64(data_bytes, GH_WIDE_BYTES);
		size_t m = (round_bytes + WIRE_GHASH_BLOCK_BYTES - 1) / WIRE_GHASH_BLOCK_BYTES;
		RN_ASSERT(m <= k->powers);
		const uint8_t(*pw)[WIRE_GHASH_BLOCK_BYTES] = &k->h_pow[WIRE_GHASH_POWERS - m];
		__m256i lo = _mm256_setzero_si256(), mid = lo, hi = lo;
		if (round_bytes == GH_WIDE_BYTES) {
			/* A whole round: no partial register, no branch in the
			 * loop, so the compiler unrolls it and the 8 registers'
			 * loads and multiplies overlap. */
#pragma GCC unroll 8
			for (size_t at = 0; at < GH_WIDE_BYTES; at += 32) {
				__m256i x = _mm256_shuffle_epi8(
					_mm256_loadu_si256((const void *)(data + at)), rev);
				if (at == 0) {
					x = _mm256_xor_si256(x, _mm256_set_m128i(_mm_setzero_si128(), y));
				}
				gh_acc256(&lo, &mid, &hi, x,
					  _mm256_load_si256((const void *)k->h_pow[at / 16u]));
			}
			y = gh_reduce_kara256(lo, mid, hi);
			data += GH_WIDE_BYTES;
			data_bytes -= GH_WIDE_BYTES;
			continue;
		}
		for (size_t at = 0; at < round_bytes; at += 32) {
			__m256i x;
			if (round_bytes - at >= 32) {
				x = _mm256_loadu_si256((const void *)(data + at));
			} else {
				uint8_t last[32] = {0};
				memcpy(last, data + at, round_bytes - at);
				x = _mm256_loadu_si256((const void *)last);
			}
			x = _mm256_shuffle_epi8(x, rev);
			if (at == 0) {
				x = _mm256_xor_si256(x, _mm256_set_m128i(_mm_setzero_si128(), y));
			}
			gh_acc256(&lo, &mid, &hi, x,
				  _mm256_loadu_si256((const void *)pw[at / WIRE_GHASH_BLOCK_BYTES]));
		}
		y = gh_reduce_kara256(lo, mid, hi);
		data += round_bytes;
		data_bytes -= round_bytes;
	}
	_mm_storeu_si128((__m128i *)(void *)y_bytes, gh_bswap(y));
}

bool wire_ghash_ymm_available(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("avx2") &&
	       __builtin_cpu_supports("vpclmulqdq");
}

bool wire_ghash_wide_available(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("avx2") &&
	       __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("vpclmulqdq");
}

wire_ghash_update_fn *wire_ghash_update_best(void)
{
	return wire_ghash_wide_available()  ? wire_ghash_update_vpclmul
	       : wire_ghash_ymm_available() ? wire_ghash_update_vpclmul256
					    : wire_ghash_update_pclmul;
}

/* The powers of the last keys this thread digested with: deriving H and
 * M (a BLAKE2b) and 16 powers costs ~1 us, and a thread sees one or two
 * keys (peer and client; two more during a rotation) for millions of
 * frames. Per thread, so no lcore shares or locks it; the key compared in
 * constant time. The update chosen once per thread. */
#define GH_CACHE_KEYS 4u
static _Thread_local struct {
	struct {
		struct wire_ghash_key key;
		uint8_t ghash_key[WIRE_GHASH_KEY_BYTES];
		bool valid;
	} slot[GH_CACHE_KEYS];
	uint32_t next; /* the slot the next new key takes */
	wire_ghash_update_fn *update;
} gh_cache;

static const struct wire_ghash_key *gh_cached_key(const uint8_t ghash_key[WIRE_GHASH_KEY_BYTES])
{
	static const uint8_t personal[16] = "raftnode-ghash-1"; /* no NUL: 16 bytes */
	static const uint8_t salt[16];
	_Static_assert(WIRE_GHASH_KEY_BYTES == 32, "crypto_verify_32");
	_Static_assert(crypto_generichash_blake2b_KEYBYTES_MAX >= WIRE_GHASH_KEY_BYTES, "key");
	for (uint32_t i = 0; i < GH_CACHE_KEYS; i++) {
		if (gh_cache.slot[i].valid &&
		    crypto_verify_32(gh_cache.slot[i].ghash_key, ghash_key) == 0) {
			return &gh_cache.slot[i].key;
		}
	}
	uint8_t h_mask[2 * WIRE_GHASH_BLOCK_BYTES];
	int rc = crypto_generichash_blake2b_salt_personal(h_mask, sizeof(h_mask), NULL, 0,
							  ghash_key, WIRE_GHASH_KEY_BYTES, salt,
							  personal);
	RN_ASSERT(rc == 0);
	uint32_t i = gh_cache.next;
	gh_cache.next = (i + 1) % GH_CACHE_KEYS;
	wire_ghash_key_init(&gh_cache.slot[i].key, h_mask, h_mask + WIRE_GHASH_BLOCK_BYTES);
	memcpy(gh_cache.slot[i].ghash_key, ghash_key, WIRE_GHASH_KEY_BYTES);
	gh_cache.slot[i].valid = true;
	sodium_memzero(h_mask, sizeof(h_mask));
	return &gh_cache.slot[i].key;
}

void wire_ghash_digest(const uint8_t ghash_key[WIRE_GHASH_KEY_BYTES], const uint8_t *body,
		       size_t body_bytes, uint8_t digest[WIRE_GHASH_BLOCK_BYTES])
{
	RN_ASSERT(ghash_key != NULL && digest != NULL);
	RN_ASSERT(body != NULL || body_bytes == 0);
	if (gh_cache.update == NULL) {
		gh_cache.update = wire_ghash_update_best();
	}
	const struct wire_ghash_key *k = gh_cached_key(ghash_key);
	uint8_t y[WIRE_GHASH_BLOCK_BYTES] = {0};
	uint8_t lengths[WIRE_GHASH_BLOCK_BYTES] = {0}; /* len(A) in bits | len(C) = 0 */
	uint64_t body_bits_be = htobe64((uint64_t)body_bytes * 8u);
	memcpy(lengths, &body_bits_be, sizeof(body_bits_be));
	gh_cache.update(k, y, body, body_bytes);
	gh_cache.update(k, y, lengths, sizeof(lengths));
	for (uint32_t i = 0; i < WIRE_GHASH_BLOCK_BYTES; i++) {
		digest[i] = y[i] ^ k->mask[i];
	}
}
