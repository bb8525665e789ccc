/* SPDX-License-Identifier: MIT */
/*
 * read.c - reading a range of durable entries back (for a lagging follower
 * or a restart). One read per segment touched, straight into the caller's
 * buffer; each record is decoded again (magic, length, CRC) and its index
 * and term checked against what the log expects, so damage that appeared
 * after open is reported (with file and offset), never returned as data.
 * store_read is synchronous (one pread per segment touched);
 * store_read_async hands the I/O of one segment's range to the engine and
 * completes from store_poll.
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

/* Decodes the records in chunk (n bytes read at `offset` of seg) up to
 * index last; returns 1 if the buffer or entries_max ran out first, 0 if it
 * reached `last`. */
static int read_parse(struct store_log *log, const struct store_segment *seg, uint64_t offset,
		      const uint8_t *chunk, uint64_t n, raft_index last, struct read_state *st)
{
	uint64_t pos = 0;
	while (st->next <= last) {
		struct store_record_header h;
		bool full = st->count == st->entries_max || n - pos < sizeof(h);
		if (!full) {
			memcpy(&h, chunk + pos, sizeof(h));
			full = h.magic == STORE_RECORD_MAGIC &&
			       h.payload_bytes <= STORE_PAYLOAD_BYTES_MAX &&
			       store_record_bytes(h.payload_bytes) > n - pos;
		}
		if (full) { /* out of room: the next read starts here */
			log_find_hint(log, seg, st->next, offset + pos);
			return 1;
		}
		struct store_entry *ent = &st->entries[st->count];
		int64_t rec_bytes = store_record_decode(chunk + pos, (size_t)(n - pos), ent);
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

/* Bytes to read from `offset` of seg into the room left in st. */
static uint64_t read_want_bytes(const struct store_segment *seg, uint64_t offset,
				const struct read_state *st)
{
	RN_ASSERT(offset < seg->end_offset); /* st->next is in seg */
	return rn_min_u64(seg->end_offset - offset, st->buf_bytes - st->used_bytes);
}

/* What the entries still wanted take, guessed from the segment's mean
 * record (twice it, plus a header walk's worth): a caller's buffer is
 * sized for the largest read (4 MiB), and reading all of it for the 256
 * entries a restart or a follower's catch-up asks at a time read ~100
 * times the log (and, with O_DIRECT, from the disk each time). */
static uint64_t read_guess_bytes(const struct store_segment *seg, const struct read_state *st)
{
	RN_ASSERT(st->count < st->entries_max);
	uint64_t seg_entries = seg->last_index >= seg->first_index
				       ? seg->last_index - seg->first_index + 1
				       : 1;
	uint64_t mean_bytes = seg->end_offset / seg_entries + 1;
	return (uint64_t)(st->entries_max - st->count) * mean_bytes * 2 + STORE_SCAN_BYTES;
}

/* Reads and decodes records of one segment from `offset`: as many bytes as
 * the entries wanted are likely to take, and all the room allows only when
 * not even one record came in that (a record far above the mean). */
static int read_segment(struct store_log *log, const struct store_segment *seg, uint64_t offset,
			struct read_state *st)
{
	if (st->count == st->entries_max) {
		return 1; /* the last segment ended with the last entry wanted */
	}
	uint8_t *chunk = st->buf + st->used_bytes;
	uint64_t room = read_want_bytes(seg, offset, st);
	uint64_t want = rn_min_u64(room, read_guess_bytes(seg, st));
	raft_index last = rn_min_u64(seg->last_index, log->durable_index);
	for (;;) {
		int64_t n = log->engine->ops->read(log->engine, seg->file, offset, chunk, want);
		if (n < 0) {
			return (int)n;
		}
		uint32_t count_before = st->count;
		size_t used_before = st->used_bytes;
		int rc = read_parse(log, seg, offset, chunk, (uint64_t)n, last, st);
		if (rc != 1 || st->count > count_before || want == room) {
			return rc;
		}
		RN_ASSERT(st->used_bytes == used_before); /* nothing parsed: read again, all */
		want = room;
	}
}

/* Validates a read request; finds its segment and start offset. */
static int read_locate(struct store_log *log, raft_index first_index, uint32_t entries_max,
		       struct store_segment **seg_out, uint64_t *offset_out)
{
	if (log->failed_rc != 0) {
		return -STORE_E_FAILED;
	}
	if (first_index <= log->compacted_index) {
		return -STORE_E_COMPACTED;
	}
	if (first_index > log->durable_index || entries_max == 0) {
		return -STORE_E_RANGE;
	}
	*seg_out = log_segment_of(log, first_index);
	if (*seg_out == NULL) {
		return -STORE_E_RANGE;
	}
	return log_segment_find(log, *seg_out, first_index, offset_out);
}

int store_read(struct store_log *log, raft_index first_index, void *buf, size_t buf_bytes,
	       struct store_entry *entries, uint32_t entries_max)
{
	RN_ASSERT(log != NULL);
	RN_ASSERT(buf != NULL && entries != NULL);
	struct store_segment *seg = NULL;
	uint64_t offset = 0;
	int rc = read_locate(log, first_index, entries_max, &seg, &offset);
	struct read_state st = {
		.buf = buf,
		.buf_bytes = buf_bytes,
		.entries = entries,
		.entries_max = entries_max,
		.next = first_index,
	};
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

int store_read_async(struct store_log *log, struct store_read_req *req)
{
	RN_ASSERT(log != NULL && req != NULL);
	RN_ASSERT(req->buf != NULL && req->entries != NULL);
	if (log->read_req != NULL) {
		return -STORE_E_BUSY; /* one read at a time */
	}
	struct store_segment *seg = NULL;
	uint64_t offset = 0;
	int rc = read_locate(log, req->first_index, req->entries_max, &seg, &offset);
	if (rc != 0) {
		return rc;
	}
	/* As many bytes as the entries wanted are likely to take (as
	 * store_read does), not the whole buffer: a catch-up read of 2,048
	 * small entries in a 4 MiB buffer would read ~10 times what it uses. */
	struct read_state st = {.buf = req->buf, .buf_bytes = req->buf_bytes,
				.entries_max = req->entries_max};
	uint64_t want = rn_min_u64(read_want_bytes(seg, offset, &st), read_guess_bytes(seg, &st));
	if (want < STORE_RECORD_HEADER_BYTES) {
		return -STORE_E_BUSY; /* buf_bytes too small for any record */
	}
	struct store_engine *e = log->engine;
	rc = e->ops->read_submit(e, seg->file, offset, req->buf, want);
	if (rc != 0) {
		return rc;
	}
	req->result = 0;
	log->read_req = req;
	log->read_segment_first = seg->first_index;
	log->read_offset = offset;
	/* Bytes past the durable index may be a write in progress. */
	log->read_last_index = rn_min_u64(seg->last_index, log->durable_index);
	return 0;
}

void store_set_on_read(struct store_log *log, void (*on_read)(void *user, struct store_read_req *req),
		       void *user)
{
	RN_ASSERT(log != NULL);
	RN_ASSERT(log->read_req == NULL); /* no read in flight */
	log->cfg.on_read = on_read;
	log->cfg.on_read_user = user;
}

int log_read_poll(struct store_log *log, bool wait)
{
	if (log->read_req == NULL) {
		return 0;
	}
	int64_t res = 0;
	int n = log->engine->ops->read_poll(log->engine, wait, &res);
	if (n == 0) {
		return 0;
	}
	struct store_read_req *req = log->read_req;
	log->read_req = NULL;
	if (n < 0 || res < 0) {
		req->result = n < 0 ? n : (int)res;
	} else {
		/* Truncation drains reads and compaction keeps the segment
		 * being read, so it is still there. */
		struct store_segment *seg = log_segment_of(log, req->first_index);
		RN_ASSERT(seg != NULL && seg->first_index == log->read_segment_first);
		struct read_state st = {.buf = req->buf, .buf_bytes = req->buf_bytes,
					.entries = req->entries, .entries_max = req->entries_max,
					.next = req->first_index};
		int rc = read_parse(log, seg, log->read_offset, req->buf, (uint64_t)res,
				    log->read_last_index, &st);
		req->result = rc < 0 ? rc : st.count > 0 ? (int)st.count : -STORE_E_BUSY;
	}
	if (log->cfg.on_read != NULL) {
		log->in_callback = true;
		log->cfg.on_read(log->cfg.on_read_user, req);
		log->in_callback = false;
	}
	return 1;
}
