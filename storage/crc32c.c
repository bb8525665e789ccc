/* SPDX-License-Identifier: MIT */
/*
 * crc32c.c - CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum on every log record and state slot.
 *
 * Choice: the SSE4.2 `crc32` instruction (_mm_crc32_u64, 8 bytes per
 * instruction, ~3 cycles latency) when the CPU has it, chosen at run time
 * with __builtin_cpu_supports("sse4.2") so one binary runs everywhere; a
 * slicing-by-8 table (8 KiB, about 1 byte/cycle) otherwise. Only the
 * hardware function is compiled with target("sse4.2"), so the rest of the
 * build does not assume the instruction. No external library (ISA-L) is
 * needed: for the record sizes we write (tens of bytes to a few KiB) the
 * single-stream instruction is within a small factor of ISA-L's folded
 * version and keeps the dependency list short.
 */
#include <nmmintrin.h>
#include <stdint.h>
#include <string.h>

#include "common.h"
#include "storage.h"

#define CRC32C_POLY_REFLECTED 0x82F63B78u

/* Filled once by a constructor before main() and read-only afterwards. */
static uint32_t crc32c_table8[8][256];
_Static_assert(sizeof(crc32c_table8) == 8 * 1024, "the slicing-by-8 table is 8 KiB");

__attribute__((constructor)) static void crc32c_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t crc = i;
		for (int bit = 0; bit < 8; bit++) {
			crc = (crc & 1u) ? (crc >> 1) ^ CRC32C_POLY_REFLECTED : crc >> 1;
		}
		crc32c_table8[0][i] = crc;
	}
	for (uint32_t i = 0; i < 256; i++) {
		for (int k = 1; k < 8; k++) {
			uint32_t prev = crc32c_table8[k - 1][i];
			crc32c_table8[k][i] = (prev >> 8) ^ crc32c_table8[0][prev & 0xffu];
		}
	}
}

uint32_t store_crc32c_table(uint32_t crc, const void *data, size_t data_bytes)
{
	const uint8_t *p = data;
	uint32_t c = ~crc;

	RN_ASSERT(data != NULL || data_bytes == 0);
	while (data_bytes >= 8) {
		uint64_t word;
		memcpy(&word, p, sizeof(word)); /* little-endian host */
		uint32_t lo = c ^ (uint32_t)word;
		uint32_t hi = (uint32_t)(word >> 32);
		c = crc32c_table8[7][lo & 0xffu] ^ crc32c_table8[6][(lo >> 8) & 0xffu] ^
		    crc32c_table8[5][(lo >> 16) & 0xffu] ^ crc32c_table8[4][lo >> 24] ^
		    crc32c_table8[3][hi & 0xffu] ^ crc32c_table8[2][(hi >> 8) & 0xffu] ^
		    crc32c_table8[1][(hi >> 16) & 0xffu] ^ crc32c_table8[0][hi >> 24];
		p += 8;
		data_bytes -= 8;
	}
	while (data_bytes > 0) {
		c = (c >> 8) ^ crc32c_table8[0][(c ^ *p) & 0xffu];
		p++;
		data_bytes--;
	}
	return ~c;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *data,
							     size_t data_bytes)
{
	const uint8_t *p = data;
	uint64_t c = (uint32_t)~crc;

	while (data_bytes >= 8) {
		uint64_t word;
		memcpy(&word, p, sizeof(word));
		c = _mm_crc32_u64(c, word);
		p += 8;
		data_bytes -= 8;
	}
	uint32_t c32 = (uint32_t)c;
	while (data_bytes > 0) {
		c32 = _mm_crc32_u8(c32, *p);
		p++;
		data_bytes--;
	}
	return ~c32;
}

uint32_t store_crc32c(uint32_t crc, const void *data, size_t data_bytes)
{
	RN_ASSERT(data != NULL || data_bytes == 0);
	/* __builtin_cpu_supports reads a word libgcc filled at load time. */
	if (RN_LIKELY(__builtin_cpu_supports("sse4.2"))) {
		return crc32c_hw(crc, data, data_bytes);
	}
	return store_crc32c_table(crc, data, data_bytes);
}

const char *store_crc32c_impl(void)
{
	return __builtin_cpu_supports("sse4.2") ? "sse4.2 crc32 instruction"
						: "slicing-by-8 table";
}
