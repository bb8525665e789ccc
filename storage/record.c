/* SPDX-License-Identifier: MIT */
/*
 * record.c - the on-disk record codec (layout in storage.h). Encoding
 * computes the CRC and then decodes its own output, so a bad encoder is a
 * crash at the writer, not a corrupt log found at the next restart. Decoding
 * validates every byte that came from disk and never asserts on it.
 */
#include <string.h>

#include "common.h"
#include "storage.h"

/* The header is copied to and from disk as a struct (layout asserted in
 * storage.h), so the host must be little-endian like the format. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "records are little-endian");

/* The CRC covers everything after itself, padding included, so that no
 * bit of a record on disk can change unnoticed. */
static uint32_t record_crc(const uint8_t *rec, uint32_t payload_bytes)
{
	return store_crc32c(0, rec + 4, (size_t)store_record_bytes(payload_bytes) - 4);
}

int64_t store_record_encode(const struct store_entry *entry, void *out, size_t out_bytes)
{
	RN_ASSERT(entry != NULL);
	RN_ASSERT(out != NULL);
	if (entry->payload_bytes > STORE_PAYLOAD_BYTES_MAX || entry->index == 0) {
		return -STORE_E_RANGE;
	}
	uint64_t rec_bytes = store_record_bytes(entry->payload_bytes);
	if (rec_bytes > out_bytes) {
		return -STORE_E_BUSY;
	}
	uint8_t *rec = out;
	struct store_record_header h = {
		.crc32c = 0,
		.magic = STORE_RECORD_MAGIC,
		.index = entry->index,
		.term = entry->term,
		.payload_bytes = entry->payload_bytes,
		.type = entry->type,
	};
	memcpy(rec, &h, sizeof(h));
	if (entry->payload_bytes > 0) {
		RN_ASSERT(entry->payload != NULL);
		memcpy(rec + STORE_RECORD_HEADER_BYTES, entry->payload, entry->payload_bytes);
	}
	uint64_t used = STORE_RECORD_HEADER_BYTES + (uint64_t)entry->payload_bytes;
	memset(rec + used, 0, (size_t)(rec_bytes - used));
	h.crc32c = record_crc(rec, entry->payload_bytes);
	memcpy(rec, &h.crc32c, sizeof(h.crc32c));

	/* Pair check: what we wrote must read back as the entry we were given. */
	struct store_entry back;
	int64_t back_bytes = store_record_decode(rec, (size_t)rec_bytes, &back);
	RN_ASSERT(back_bytes == (int64_t)rec_bytes);
	RN_ASSERT(back.index == entry->index);
	RN_ASSERT(back.term == entry->term);
	return (int64_t)rec_bytes;
}

int64_t store_record_decode(const void *buf, size_t buf_bytes, struct store_entry *entry)
{
	RN_ASSERT(buf != NULL);
	RN_ASSERT(entry != NULL);
	const uint8_t *rec = buf;
	struct store_record_header h;
	if (buf_bytes < STORE_RECORD_HEADER_BYTES) {
		return -STORE_E_CORRUPT;
	}
	memcpy(&h, rec, sizeof(h));
	if (h.magic != STORE_RECORD_MAGIC || h.payload_bytes > STORE_PAYLOAD_BYTES_MAX ||
	    h.index == 0) {
		return -STORE_E_CORRUPT;
	}
	uint64_t rec_bytes = store_record_bytes(h.payload_bytes);
	if (rec_bytes > buf_bytes) {
		return -STORE_E_CORRUPT;
	}
	if (record_crc(rec, h.payload_bytes) != h.crc32c) {
		return -STORE_E_CORRUPT;
	}
	entry->index = h.index;
	entry->term = h.term;
	entry->type = h.type;
	entry->payload_bytes = h.payload_bytes;
	entry->payload = rec + STORE_RECORD_HEADER_BYTES;
	return (int64_t)rec_bytes;
}
