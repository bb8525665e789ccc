/* SPDX-License-Identifier: MIT */
/*
 * read.c - reading a range of durable entries back (for a lagging follower
 * or a restart). One read per segment touched, straight into the caller's
 * buffer; each record is decoded again (magic, length, CRC) and its index
 * and term checked against what the log expects, so damage that appeared
 * after open is reported (with file and offset), never returned as data.
 * Synchronous: the issue asks for an asynchronous read; see the report.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "log_internal.h"

struct read_state {
	uint8_t *buf;
	size_t buf_bytes;
	size_t used_bytes;
	struct store_entry *entries;
	uint32_t entries_max;
	uint32_t count;
	raft_index next;
	raft_term term;
};

static int read_corrupt(struct store_log *log, const struct store_segment *seg,
			uint64_t offset, const char *what)
{
	char name[STORE_FILE_NAME_BYTES];
	log_segment_name(seg->first_index, name, sizeof(name));
	snprintf(log->errmsg, sizeof(log->errmsg), "%s/%s: offset %" PRIu64 ": %s",
		 log->dir_path, name, offset, what);
	return -STORE_E_CORRUPT;
}

/* Reads records of one segment from `offset`; returns 1 if the buffer or
 * entries_max ran out, 0 if it reached the segment's (or durable) end. */
static int read_segment(struct store_log *log, const struct store_segment *seg, uint64_t offset,
			struct read_state *st)
{
	RN_ASSERT(offset < seg->end_offset); /* st->next is in seg */
	uint64_t avail = seg->end_offset - offset;
	uint64_t want = rn_min_u64(avail, st->buf_bytes - st->used_bytes);
	uint8_t *chunk = st->buf + st->used_bytes;
	int64_t n = log->engine->ops->read(log->engine, seg->file, offset, chunk, want);
	if (n < 0) {
		return (int)n;
	}
	uint64_t pos = 0;
	raft_index last = rn_min_u64(seg->last_index, log->durable_index);
	while (st->next <= last) {
		if (st->count == st->entries_max) {
			log_find_hint(log, seg, st->next, offset + pos); /* next read starts here */
			return 1;
		}
		struct store_record_header h;
		if ((uint64_t)n - pos < sizeof(h)) {
			log_find_hint(log, seg, st->next, offset + pos);
			return 1; /* buffer full */
		}
		memcpy(&h, chunk + pos, sizeof(h));
		if (h.magic == STORE_RECORD_MAGIC && h.payload_bytes <= STORE_PAYLOAD_BYTES_MAX &&
		    store_record_bytes(h.payload_bytes) > (uint64_t)n - pos) {
			log_find_hint(log, seg, st->next, offset + pos);
			return 1; /* the next record does not fit */
		}
		struct store_entry *ent = &st->entries[st->count];
		int64_t rec_bytes = store_record_decode(chunk + pos, (size_t)((uint64_t)n - pos), ent);
		if (rec_bytes < 0) {
			return read_corrupt(log, seg, offset + pos, "damaged record (CRC/magic/length)");
		}
		if (ent->index != st->next || ent->term < st->term) {
			return read_corrupt(log, seg, offset + pos, "unexpected index or term");
		}
		st->term = ent->term;
		st->next++;
		st->count++;
		pos += (uint64_t)rec_bytes;
	}
	st->used_bytes += (size_t)pos;
	return 0;
}

int store_read(struct store_log *log, raft_index first_index, void *buf, size_t buf_bytes,
	       struct store_entry *entries, uint32_t entries_max)
{
	RN_ASSERT(log != NULL);
	RN_ASSERT(buf != NULL && entries != NULL);
	if (log->failed_rc != 0) {
		return -STORE_E_FAILED;
	}
	if (first_index <= log->compacted_index) {
		return -STORE_E_COMPACTED;
	}
	if (first_index > log->durable_index || entries_max == 0) {
		return -STORE_E_RANGE;
	}
	struct read_state st = {
		.buf = buf,
		.buf_bytes = buf_bytes,
		.entries = entries,
		.entries_max = entries_max,
		.next = first_index,
	};
	struct store_segment *seg = log_segment_of(log, first_index);
	if (seg == NULL) {
		return -STORE_E_RANGE;
	}
	uint64_t offset = 0;
	int rc = log_segment_find(log, seg, first_index, &offset);
	while (rc == 0 && st.next <= log->durable_index) {
		rc = read_segment(log, seg, offset, &st);
		if (rc == 0 && st.next <= log->durable_index) {
			seg = log_segment_of(log, st.next);
			if (seg == NULL) {
				return -STORE_E_RANGE;
			}
			RN_ASSERT(seg->first_index == st.next);
			offset = 0;
		}
	}
	if (rc < 0) {
		return rc;
	}
	if (st.count == 0) {
		return -STORE_E_BUSY; /* buf_bytes too small for the first record */
	}
	return (int)st.count;
}
