/* SPDX-License-Identifier: MIT */
/*
 * Goal: the record codec and CRC32C are right, and any damage to an encoded
 * record is caught on read.
 * Method: published CRC32C check values; the hardware and table paths agree
 * on random data of every length 0..600 and when computed incrementally;
 * encode/decode round trips for payloads of 0..300 bytes; flipping each bit
 * of an encoded record (header, payload and padding) makes decode fail, and
 * so does cutting it short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage_util.h"

static void test_crc32c_check_values(void **state)
{
	(void)state;
	/* CRC-32C check value (RFC 3720 appendix, Castagnoli). */
	assert_int_equal(store_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(store_crc32c_table(0, "123456789", 9), 0xe3069283u);
	uint8_t zeros[32] = {0};
	assert_int_equal(store_crc32c(0, zeros, sizeof(zeros)), 0x8a9136aau);
	uint8_t ones[32];
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(store_crc32c(0, ones, sizeof(ones)), 0x62a8ab43u);
	assert_int_equal(store_crc32c(0, NULL, 0), 0);
	printf("crc32c implementation: %s\n", store_crc32c_impl());
}

static void test_crc32c_hw_matches_table(void **state)
{
	(void)state;
	uint8_t buf[600];
	srand(7);
	for (size_t i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)rand();
	}
	for (size_t n = 0; n <= sizeof(buf); n++) {
		uint32_t whole = store_crc32c(0, buf, n);
		assert_int_equal(whole, store_crc32c_table(0, buf, n));
		size_t cut = n / 3;
		uint32_t split = store_crc32c(store_crc32c(0, buf, cut), buf + cut, n - cut);
		assert_int_equal(whole, split);
		/* Unaligned start. */
		if (n > 0) {
			assert_int_equal(store_crc32c(0, buf + 1, n - 1),
					 store_crc32c_table(0, buf + 1, n - 1));
		}
	}
}

static void test_record_round_trip(void **state)
{
	(void)state;
	uint8_t payload[300];
	uint8_t rec[400];
	for (uint32_t n = 0; n <= sizeof(payload); n++) {
		su_payload(n + 1, 3, payload, n);
		struct store_entry in = {
			.index = n + 1, .term = 3, .payload = payload, .payload_bytes = n, .type = 2};
		int64_t bytes = store_record_encode(&in, rec, sizeof(rec));
		assert_int_equal(bytes, (int64_t)store_record_bytes(n));
		assert_int_equal(bytes % STORE_RECORD_ALIGN_BYTES, 0);
		struct store_entry out;
		assert_int_equal(store_record_decode(rec, (size_t)bytes, &out), bytes);
		assert_int_equal(out.index, n + 1);
		assert_int_equal(out.term, 3);
		assert_int_equal(out.type, 2);
		assert_int_equal(out.payload_bytes, n);
		assert_memory_equal(out.payload, payload, n);
		/* Cut short by any amount: refused. */
		for (int64_t cut = 1; cut <= bytes; cut += 5) {
			assert_int_equal(store_record_decode(rec, (size_t)(bytes - cut), &out),
					 -STORE_E_CORRUPT);
		}
	}
}

static void test_record_every_bit_flip_detected(void **state)
{
	(void)state;
	uint8_t payload[45]; /* 32 + 45 = 77: 3 bytes of padding */
	uint8_t rec[128];
	su_payload(9, 4, payload, sizeof(payload));
	struct store_entry in = {
		.index = 9, .term = 4, .payload = payload, .payload_bytes = sizeof(payload)};
	int64_t bytes = store_record_encode(&in, rec, sizeof(rec));
	assert_int_equal(bytes, 80);
	for (int64_t i = 0; i < bytes * 8; i++) {
		rec[i / 8] ^= (uint8_t)(1u << (i % 8));
		struct store_entry out;
		if (store_record_decode(rec, (size_t)bytes, &out) >= 0) {
			fail_msg("flip of bit %lld not detected", (long long)i);
		}
		rec[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	struct store_entry out;
	assert_int_equal(store_record_decode(rec, (size_t)bytes, &out), bytes);
}

static void test_record_encode_limits(void **state)
{
	(void)state;
	uint8_t rec[64];
	struct store_entry too_big = {.index = 1, .term = 1, .payload = rec,
				      .payload_bytes = STORE_PAYLOAD_BYTES_MAX + 1};
	assert_int_equal(store_record_encode(&too_big, rec, sizeof(rec)), -STORE_E_RANGE);
	struct store_entry no_room = {.index = 1, .term = 1, .payload = rec, .payload_bytes = 40};
	assert_int_equal(store_record_encode(&no_room, rec, sizeof(rec)), -STORE_E_BUSY);
	struct store_entry zero_index = {.index = 0, .term = 1};
	assert_int_equal(store_record_encode(&zero_index, rec, sizeof(rec)), -STORE_E_RANGE);
	/* A NULL payload with bytes is a programmer error: reaches cmocka. */
	struct store_entry bad = {.index = 1, .term = 1, .payload = NULL, .payload_bytes = 4};
	expect_assert_failure(store_record_encode(&bad, rec, sizeof(rec)));
}

static void test_strerror_names_codes(void **state)
{
	(void)state;
	for (int code = STORE_E_CORRUPT; code < STORE_E_END_; code++) {
		assert_non_null(store_strerror(-code));
		assert_true(strlen(store_strerror(-code)) > 3);
	}
	assert_string_equal(store_strerror(0), "ok");
	assert_string_equal(store_strerror(-STORE_E_CORRUPT), "damaged log record (not a torn tail)");
	assert_non_null(strstr(store_strerror(-5), "error")); /* EIO */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_check_values),
		cmocka_unit_test(test_crc32c_hw_matches_table),
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_record_every_bit_flip_detected),
		cmocka_unit_test(test_record_encode_limits),
		cmocka_unit_test(test_strerror_names_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
