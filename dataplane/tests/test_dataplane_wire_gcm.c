/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_wire_gcm.c - our AES-256-GCM (wire_gcm.c) gives
 * libsodium's bytes.
 *
 * Method: random keys, nonces, additional data of 0, 1, 16, 64 and 77
 * bytes, and messages of every length 0..300 plus 1 KiB, 8 KiB and 9000
 * bytes (at offsets 0 and 3): the ciphertext and tag of wire_gcm_seal must
 * equal crypto_aead_aes256gcm_encrypt_detached's, wire_gcm_open must give
 * the message back, and a changed ciphertext, tag or additional datum must
 * be refused with the ciphertext left as it was; a message ending at an
 * unmapped page is sealed and opened without a fault. Skipped (77, said so) on
 * a CPU without VAES and VPCLMULQDQ: libsodium is the path there.
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

#include "wire_gcm.h"
#include "common.h"
#include "wire_internal.h"
#include "wire_util.h"

#define T_MSG_BYTES_MAX 9000u

static uint64_t rng_state = 0x13198a2e03707344ull;
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

static uint8_t msg[T_MSG_BYTES_MAX + 16], ours[T_MSG_BYTES_MAX + 16],
	theirs[T_MSG_BYTES_MAX + 16], saved[T_MSG_BYTES_MAX + 16];

static void check_one(size_t ad_bytes, size_t msg_bytes, size_t offset)
{
	uint8_t key[WIRE_GCM_KEY_BYTES], nonce[WIRE_GCM_NONCE_BYTES], ad[80];
	uint8_t tag_ours[16], tag_theirs[16];
	static struct wire_gcm_key k;
	rng_fill(key, sizeof(key));
	rng_fill(nonce, sizeof(nonce));
	rng_fill(ad, ad_bytes);
	rng_fill(msg, msg_bytes);
	/* Powers for exactly these sizes, or all 16 (every other time). */
	size_t bytes_max = ad_bytes > msg_bytes ? ad_bytes : msg_bytes;
	wire_gcm_key_init(&k, key, rng_next() % 2 == 0 ? bytes_max : T_MSG_BYTES_MAX);
	memcpy(ours + offset, msg, msg_bytes);
	wire_gcm_seal(&k, nonce, ad, ad_bytes, ours + offset, msg_bytes, tag_ours);
	unsigned long long mac_bytes = 0;
	int rc = crypto_aead_aes256gcm_encrypt_detached(theirs, tag_theirs, &mac_bytes, msg,
							msg_bytes, ad, ad_bytes, NULL, nonce, key);
	assert_int_equal(rc, 0);
	if (memcmp(ours + offset, theirs, msg_bytes) != 0 ||
	    memcmp(tag_ours, tag_theirs, 16) != 0) {
		fail_msg("seal differs: ad %zu, message %zu at offset %zu", ad_bytes, msg_bytes,
			 offset);
	}
	memcpy(saved, ours + offset, msg_bytes);
	assert_int_equal(wire_gcm_open(&k, nonce, ad, ad_bytes, ours + offset, msg_bytes, tag_ours),
			 0);
	assert_memory_equal(ours + offset, msg, msg_bytes);
	/* Forgeries: the ciphertext stays as it was. */
	memcpy(ours + offset, saved, msg_bytes);
	tag_ours[rng_next() % 16] ^= 0x20;
	assert_int_equal(wire_gcm_open(&k, nonce, ad, ad_bytes, ours + offset, msg_bytes, tag_ours),
			 -1);
	assert_memory_equal(ours + offset, saved, msg_bytes);
	memcpy(tag_ours, tag_theirs, 16);
	if (msg_bytes > 0) {
		ours[offset + rng_next() % msg_bytes] ^= 0x01;
		memcpy(saved, ours + offset, msg_bytes);
		assert_int_equal(wire_gcm_open(&k, nonce, ad, ad_bytes, ours + offset, msg_bytes,
					       tag_ours),
				 -1);
		assert_memory_equal(ours + offset, saved, msg_bytes);
	} else if (ad_bytes > 0) {
		ad[0] ^= 0x80;
		assert_int_equal(wire_gcm_open(&k, nonce, ad, ad_bytes, ours + offset, 0, tag_ours),
				 -1);
	}
}

static void test_same_as_libsodium(void **state)
{
	(void)state;
	static const size_t ad_sizes[] = {0, 1, 16, 64, 77};
	for (size_t a = 0; a < sizeof(ad_sizes) / sizeof(ad_sizes[0]); a++) {
		for (size_t n = 0; n <= 300; n++) {
			check_one(ad_sizes[a], n, 0);
			check_one(ad_sizes[a], n, 3);
		}
		check_one(ad_sizes[a], 1024, 0);
		check_one(ad_sizes[a], 8192, 3);
		check_one(ad_sizes[a], 9000, 0);
	}
}

/* Random lengths up to 9000 bytes at random offsets 0..15, the frame's
 * 64-byte header as additional data. */
static void test_long_message(void **state)
{
	(void)state;
	for (uint32_t i = 0; i < 20; i++) {
		check_one(64, 1 + (size_t)(rng_next() % T_MSG_BYTES_MAX), rng_next() % 16);
	}
}

/* Messages that end where an unmapped page begins, sealed and opened in
 * place: the masked loads and stores touch no byte past the end. */
static void test_no_access_past_end(void **state)
{
	(void)state;
	size_t page_bytes = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *map = mmap(NULL, 2 * page_bytes, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + page_bytes, page_bytes, PROT_NONE), 0);
	uint8_t key[WIRE_GCM_KEY_BYTES] = {9}, nonce[WIRE_GCM_NONCE_BYTES] = {1}, ad[64] = {2};
	uint8_t tag[16], tag_theirs[16];
	static struct wire_gcm_key k;
	wire_gcm_key_init(&k, key, T_MSG_BYTES_MAX);
	for (size_t n = 0; n <= 600; n++) {
		uint8_t *m = map + page_bytes - n;
		rng_fill(m, n);
		memcpy(msg, m, n);
		wire_gcm_seal(&k, nonce, ad, sizeof(ad), m, n, tag);
		int rc = crypto_aead_aes256gcm_encrypt_detached(theirs, tag_theirs, NULL, msg, n, ad,
								sizeof(ad), NULL, nonce, key);
		assert_int_equal(rc, 0);
		assert_memory_equal(m, theirs, n);
		assert_memory_equal(tag, tag_theirs, 16);
		assert_int_equal(wire_gcm_open(&k, nonce, ad, sizeof(ad), m, n, tag), 0);
		assert_memory_equal(m, msg, n);
	}
	munmap(map, 2 * page_bytes);
}

int main(void)
{
	if (sodium_init() < 0 || !wire_gcm_available() || !crypto_aead_aes256gcm_is_available()) {
		printf("# no VAES + VPCLMULQDQ (or no AES-NI): wire_gcm.c is not used here\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_libsodium),
		cmocka_unit_test(test_long_message),
		cmocka_unit_test(test_no_access_past_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
