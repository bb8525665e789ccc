/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_wire_ghash.c - our GHASH (wire_ghash.c) gives GCM's
 * values, the same from both implementations.
 *
 * Method: a slow bit-serial GF(2^128) multiply, written from the GCM
 * specification's algorithm (one bit of X at a time, V shifted right with
 * R = 0xE1 || 0^120), is checked against the specification's GHASH
 * vectors (McGrew & Viega, test cases 2 to 6: H and GHASH(H, A, C)). Then
 * the 128-bit PCLMULQDQ update, the wide VPCLMULQDQ one and the 256-bit
 * one (each where this CPU runs it; skipped, said so, where not) must equal it on those vectors and
 * on random keys and bodies of every length 0..300, 1 KiB, 8 KiB and
 * 9000 bytes, at every alignment 0..15 and fed in pieces; a body ending
 * at a page whose next page is unmapped must not fault (the wide tail's
 * masked loads, the 256-bit one's copy, read no byte past the body). Last, the digest wire_auth
 * uses is GHASH(body, lengths) xor M with H || M from BLAKE2b, under
 * more keys than the per-thread cache holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "wire_ghash.h"
#include "common.h"
#include "wire_internal.h"
#include "wire_util.h"

#define T_BLOCK WIRE_GHASH_BLOCK_BYTES
#define T_BODY_BYTES_MAX 9000u

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint64_t rng_next(void)
{
	return rn_splitmix64(&rng_state); /* seeded: a failure replays */
}

static void rng_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		p[i] = (uint8_t)rng_next();
	}
}

static uint64_t be64_ld(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

static void be64_st(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
}

/* x = x * h, bit by bit (SP 800-38D, algorithm 1). */
static void ref_mul(uint8_t x[T_BLOCK], const uint8_t h[T_BLOCK])
{
	uint64_t z_hi = 0, z_lo = 0, v_hi = be64_ld(h), v_lo = be64_ld(h + 8);
	for (uint32_t i = 0; i < 128; i++) {
		if (((x[i / 8] >> (7 - i % 8)) & 1) != 0) {
			z_hi ^= v_hi;
			z_lo ^= v_lo;
		}
		uint64_t lsb = v_lo & 1;
		v_lo = (v_lo >> 1) | (v_hi << 63);
		v_hi >>= 1;
		v_hi ^= lsb * 0xe100000000000000ull;
	}
	be64_st(x, z_hi);
	be64_st(x + 8, z_lo);
}

static void ref_update(const uint8_t h[T_BLOCK], uint8_t y[T_BLOCK], const uint8_t *data,
		       size_t data_bytes)
{
	for (size_t at = 0; at < data_bytes; at += T_BLOCK) {
		size_t n = data_bytes - at < T_BLOCK ? data_bytes - at : T_BLOCK;
		for (size_t i = 0; i < n; i++) {
			y[i] ^= data[at + i];
		}
		ref_mul(y, h);
	}
}

static void lengths_block(uint8_t out[T_BLOCK], size_t a_bytes, size_t c_bytes)
{
	be64_st(out, (uint64_t)a_bytes * 8u);
	be64_st(out + 8, (uint64_t)c_bytes * 8u);
}

static size_t unhex(uint8_t *out, const char *hex)
{
	size_t n = strlen(hex) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;
		int rc = sscanf(hex + 2 * i, "%2x", &v);
		assert_int_equal(rc, 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* GHASH(H, A, C) of the GCM specification's test cases (AES-128 ones:
 * only H matters to GHASH). */
static const struct {
	const char *h, *a, *c, *ghash;
} t_vectors[] = {
	{"66e94bd4ef8a2c3b884cfa59ca342b2e", "", "", "00000000000000000000000000000000"},
	{"66e94bd4ef8a2c3b884cfa59ca342b2e", "", "0388dace60b6a392f328c2b971b2fe78",
	 "f38cbb1ad69223dcc3457ae5b6b0f885"},
	{"b83b533708bf535d0aa6e52980d53b78", "",
	 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	 "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
	 "7f1b32b81b820d02614f8895ac1d4eac"},
	{"b83b533708bf535d0aa6e52980d53b78", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	 "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
	 "698e57f70e6ecc7fd9463b7260a9ae5f"},
	{"b83b533708bf535d0aa6e52980d53b78", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	 "61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c7423"
	 "73806900e49f24b22b097544d4896b424989b5e1ebac0f07c23f4598",
	 "df586bb4c249b92cb6922877e444d37b"},
	{"b83b533708bf535d0aa6e52980d53b78", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	 "8ce24998625615b603a033aca13fb894be9112a5c3a211a8ba262a3cca7e2ca7"
	 "01e4a9a4fba43c90ccdcb281d48c7c6fd62875d2aca417034c34aee5",
	 "1c5afe9760d3932f3c9a878aac3dc3de"},
};

/* The updates under test: [1] only where this CPU runs it. */
static wire_ghash_update_fn *t_updates[3];
static size_t t_updates_count;
static const char *t_update_names[3] = {"pclmul"};

static int t_setup(void **state)
{
	(void)state;
	t_updates[0] = wire_ghash_update_pclmul;
	t_updates_count = 1;
	if (wire_ghash_wide_available()) {
		t_update_names[t_updates_count] = "vpclmul";
		t_updates[t_updates_count++] = wire_ghash_update_vpclmul;
	} else {
		printf("# no AVX-512 + VPCLMULQDQ here: the wide GHASH is not tested\n");
	}
	if (wire_ghash_ymm_available()) {
		t_update_names[t_updates_count] = "vpclmul256";
		t_updates[t_updates_count++] = wire_ghash_update_vpclmul256;
	} else {
		printf("# no AVX2 + VPCLMULQDQ here: the 256-bit GHASH is not tested\n");
	}
	return sodium_init() < 0 ? -1 : 0;
}

static void test_reference_vectors(void **state)
{
	(void)state;
	static uint8_t a[64], c[64];
	for (size_t v = 0; v < sizeof(t_vectors) / sizeof(t_vectors[0]); v++) {
		uint8_t h[T_BLOCK], want[T_BLOCK], lengths[T_BLOCK], zero[T_BLOCK] = {0};
		unhex(h, t_vectors[v].h);
		unhex(want, t_vectors[v].ghash);
		size_t a_bytes = unhex(a, t_vectors[v].a), c_bytes = unhex(c, t_vectors[v].c);
		lengths_block(lengths, a_bytes, c_bytes);
		uint8_t y[T_BLOCK] = {0};
		ref_update(h, y, a, a_bytes);
		ref_update(h, y, c, c_bytes);
		ref_update(h, y, lengths, T_BLOCK);
		assert_memory_equal(y, want, T_BLOCK);

		struct wire_ghash_key k;
		wire_ghash_key_init(&k, h, zero);
		for (size_t u = 0; u < t_updates_count; u++) {
			memset(y, 0, sizeof(y));
			t_updates[u](&k, y, a, a_bytes);
			t_updates[u](&k, y, c, c_bytes);
			t_updates[u](&k, y, lengths, T_BLOCK);
			if (memcmp(y, want, T_BLOCK) != 0) {
				fail_msg("%s: test vector %zu", t_update_names[u], v);
			}
		}
	}
}

static uint8_t body_buf[T_BODY_BYTES_MAX + 64];

/* Every update, whole, at offset `align` and fed in two pieces, equals the
 * reference over body_bytes of random bytes under random H and Y. */
static void check_length(size_t body_bytes, size_t align)
{
	uint8_t h[T_BLOCK], y0[T_BLOCK], want[T_BLOCK], zero[T_BLOCK] = {0};
	struct wire_ghash_key k;
	rng_fill(h, T_BLOCK);
	rng_fill(y0, T_BLOCK);
	uint8_t *body = body_buf + align;
	rng_fill(body, body_bytes);
	memcpy(want, y0, T_BLOCK);
	ref_update(h, want, body, body_bytes);
	wire_ghash_key_init(&k, h, zero);
	/* A split at a block boundary, so the pieces' padding is none. */
	size_t split = (body_bytes / 2) & ~(size_t)(T_BLOCK - 1);
	for (size_t u = 0; u < t_updates_count; u++) {
		uint8_t y[T_BLOCK];
		memcpy(y, y0, T_BLOCK);
		t_updates[u](&k, y, body, body_bytes);
		if (memcmp(y, want, T_BLOCK) != 0) {
			fail_msg("%s: %zu bytes at offset %zu", t_update_names[u], body_bytes, align);
		}
		memcpy(y, y0, T_BLOCK);
		t_updates[u](&k, y, body, split);
		t_updates[u](&k, y, body + split, body_bytes - split);
		if (memcmp(y, want, T_BLOCK) != 0) {
			fail_msg("%s: %zu bytes split at %zu", t_update_names[u], body_bytes, split);
		}
	}
}

static void test_every_length(void **state)
{
	(void)state;
	for (size_t n = 0; n <= 300; n++) {
		check_length(n, 0);
	}
	check_length(1024, 0);
	check_length(8192, 0);
	check_length(9000, 0);
}

static void test_unaligned(void **state)
{
	(void)state;
	for (size_t align = 1; align < 16; align++) {
		for (size_t n = 0; n <= 70; n++) {
			check_length(n, align);
		}
		check_length(1024 + align, align);
		check_length(9000 - 16, align);
	}
}

/* Bodies that end where an unmapped page begins: no load may cross. */
static void test_no_read_past_end(void **state)
{
	(void)state;
	size_t page_bytes = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *map = mmap(NULL, 2 * page_bytes, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + page_bytes, page_bytes, PROT_NONE), 0);
	uint8_t h[T_BLOCK] = {1, 2, 3}, zero[T_BLOCK] = {0};
	struct wire_ghash_key k;
	wire_ghash_key_init(&k, h, zero);
	rng_fill(map, page_bytes);
	for (size_t n = 0; n <= 300; n++) {
		const uint8_t *body = map + page_bytes - n;
		uint8_t want[T_BLOCK] = {0};
		ref_update(h, want, body, n);
		for (size_t u = 0; u < t_updates_count; u++) {
			uint8_t y[T_BLOCK] = {0};
			t_updates[u](&k, y, body, n);
			assert_memory_equal(y, want, T_BLOCK);
		}
	}
	munmap(map, 2 * page_bytes);
}

/* The digest wire_auth uses, under 6 keys in turn (the cache holds 4). */
static void test_digest(void **state)
{
	(void)state;
	static const uint8_t personal[16] = "raftnode-ghash-1";
	static const uint8_t salt[16];
	uint8_t keys[6][WIRE_GHASH_KEY_BYTES];
	rng_fill(&keys[0][0], sizeof(keys));
	static const size_t lengths[] = {0, 1, 255, 256, 1024, 1100, 9000};
	for (uint32_t round = 0; round < 3; round++) {
		for (size_t i = 0; i < 6; i++) {
			uint8_t h_mask[32];
			int rc = crypto_generichash_blake2b_salt_personal(
				h_mask, sizeof(h_mask), NULL, 0, keys[i], sizeof(keys[i]), salt, personal);
			assert_int_equal(rc, 0);
			for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++) {
				size_t n = lengths[l];
				uint8_t want[T_BLOCK] = {0}, len_block[T_BLOCK], got[T_BLOCK];
				rng_fill(body_buf, n);
				ref_update(h_mask, want, body_buf, n);
				lengths_block(len_block, n, 0);
				ref_update(h_mask, want, len_block, T_BLOCK);
				for (size_t b = 0; b < T_BLOCK; b++) {
					want[b] ^= h_mask[T_BLOCK + b];
				}
				wire_ghash_digest(keys[i], body_buf, n, got);
				assert_memory_equal(got, want, T_BLOCK);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_vectors),
		cmocka_unit_test(test_every_length),
		cmocka_unit_test(test_unaligned),
		cmocka_unit_test(test_no_read_past_end),
		cmocka_unit_test(test_digest),
	};
	return cmocka_run_group_tests(tests, t_setup, NULL);
}
