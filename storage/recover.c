/* SPDX-License-Identifier: MIT */
/*
 * recover.c - rebuilds the segment table at open and enforces the recovery
 * rules of DESIGN.md:
 *  - a damaged record after which nothing valid follows, in the tail segment
 *    (the last one holding any record), is a torn write: it is cut off (the
 *    bytes are zeroed so they can never come back), logged and counted;
 *  - any other damage fails open with a distinct code and a message naming
 *    the file and the byte offset: a damaged record followed by a valid one
 *    (bad CRC mid-log, flipped bit), damage in a non-tail segment, an index
 *    that does not follow on, a term going backwards, a segment missing.
 * Possibly acknowledged entries are never dropped silently.
 *
 * Each segment is read whole into a buffer allocated here (open may
 * allocate; the append path may not) and freed before open returns.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "log_internal.h"

#define SEGMENT_NAME_PREFIX "log-"
#define SEGMENT_NAME_SUFFIX ".seg"
#define SEGMENT_NAME_DIGITS 20u

struct recover_list {
	raft_index *firsts;
	uint32_t count;
	uint32_t max_count;
	int name_rc;
	char bad_name[STORE_FILE_NAME_BYTES];
};

void log_segment_name(raft_index first_index, char *out, size_t out_bytes)
{
	snprintf(out, out_bytes, SEGMENT_NAME_PREFIX "%020" PRIu64 SEGMENT_NAME_SUFFIX,
		 first_index);
}

/* Collects the first index of every log-*.seg file. */
static int recover_list_one(void *user, const char *name)
{
	struct recover_list *list = user;
	size_t name_bytes = strlen(name);
	size_t prefix_bytes = strlen(SEGMENT_NAME_PREFIX);
	size_t suffix_bytes = strlen(SEGMENT_NAME_SUFFIX);
	if (strncmp(name, SEGMENT_NAME_PREFIX, prefix_bytes) != 0 ||
	    name_bytes < prefix_bytes + suffix_bytes ||
	    strcmp(name + name_bytes - suffix_bytes, SEGMENT_NAME_SUFFIX) != 0) {
		return 0; /* not a segment */
	}
	raft_index first = 0;
	bool ok = name_bytes == prefix_bytes + SEGMENT_NAME_DIGITS + suffix_bytes;
	for (size_t i = prefix_bytes; ok && i < prefix_bytes + SEGMENT_NAME_DIGITS; i++) {
		ok = name[i] >= '0' && name[i] <= '9' && first <= (UINT64_MAX - 9) / 10;
		first = first * 10 + (raft_index)(name[i] - '0');
	}
	if (!ok || first == 0) {
		snprintf(list->bad_name, sizeof(list->bad_name), "%s", name);
		return -STORE_E_SEGMENT_NAME;
	}
	if (list->count == list->max_count) {
		return -EMFILE;
	}
	list->firsts[list->count++] = first;
	return 0;
}

static int recover_cmp_index(const void *a, const void *b)
{
	raft_index x = *(const raft_index *)a, y = *(const raft_index *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

/* Offset of the first valid record at or after `from`, or bytes if none. */
static uint64_t recover_find_valid(const uint8_t *buf, uint64_t bytes, uint64_t from)
{
	for (uint64_t pos = from; pos + STORE_RECORD_HEADER_BYTES <= bytes;
	     pos += STORE_RECORD_ALIGN_BYTES) {
		uint32_t magic;
		memcpy(&magic, buf + pos + 4, sizeof(magic));
		if (magic != STORE_RECORD_MAGIC) {
			continue;
		}
		struct store_entry e;
		if (store_record_decode(buf + pos, (size_t)(bytes - pos), &e) > 0) {
			return pos;
		}
	}
	return bytes;
}

/* One past the last non-zero byte at or after `from`. */
static uint64_t recover_nonzero_end(const uint8_t *buf, uint64_t bytes, uint64_t from)
{
	uint64_t end = bytes;
	while (end > from && buf[end - 1] == 0) {
		end--;
	}
	return end;
}

struct recover_ctx {
	struct store_log *log;
	char *errmsg;
	size_t errmsg_bytes;
	uint8_t *buf;
	uint64_t buf_bytes;
};

/* Reads segment seg whole into ctx->buf; returns its bytes or an error. */
static int64_t recover_read(struct recover_ctx *ctx, struct store_segment *seg, const char *name)
{
	struct store_engine *e = ctx->log->engine;
	uint64_t file_bytes = 0;
	int rc = e->ops->file_bytes(e, seg->file, &file_bytes);
	if (rc == 0 && file_bytes > ctx->buf_bytes) {
		uint8_t *bigger = realloc(ctx->buf, (size_t)file_bytes);
		if (bigger == NULL) {
			rc = -ENOMEM;
		} else {
			ctx->buf = bigger;
			ctx->buf_bytes = file_bytes;
		}
	}
	int64_t n = rc;
	if (rc == 0) {
		n = e->ops->read(e, seg->file, 0, ctx->buf, file_bytes);
	}
	if (n < 0) {
		snprintf(ctx->errmsg, ctx->errmsg_bytes, "%s/%s: read: %s", ctx->log->dir_path,
			 name, store_strerror((int)n));
	}
	return n;
}

/* Cuts a torn tail: zeroes [offset, end) durably by truncating and
 * re-allocating the file. */
static int recover_cut(struct recover_ctx *ctx, struct store_segment *seg, const char *name,
		       uint64_t offset, uint64_t garbage_end, uint64_t file_bytes)
{
	struct store_log *log = ctx->log;
	struct store_engine *e = log->engine;
	if (!log->cfg.quiet) {
		fprintf(stderr,
			"storage: %s/%s: torn record at offset %" PRIu64 " (tail of the last "
			"segment): cutting %" PRIu64 " bytes; last index is now %" PRIu64 "\n",
			log->dir_path, name, offset, garbage_end - offset, seg->last_index);
	}
	log->stats.torn_tail_bytes += garbage_end - offset;
	/* truncate + re-allocate, as maint.c cuts a suffix: atomic under a
	 * crash, where zeros written over the garbage could be torn. */
	int rc = e->ops->truncate(e, seg->file, offset);
	if (rc == 0) {
		rc = e->ops->allocate(e, seg->file, rn_max_u64(file_bytes, log->cfg.segment_bytes));
	}
	if (rc == 0) {
		rc = e->ops->sync(e, seg->file);
	}
	if (rc != 0) {
		snprintf(ctx->errmsg, ctx->errmsg_bytes, "%s/%s: cutting torn tail at %" PRIu64 ": %s",
			 log->dir_path, name, offset, store_strerror(rc));
	}
	return rc;
}

/*
 * Scans one segment already in ctx->buf. prev_term is the term of the entry
 * before the segment's first (0 for none). Fills seg's last index, term and
 * end offset.
 */
static int recover_scan(struct recover_ctx *ctx, struct store_segment *seg, uint64_t bytes,
			bool is_tail, raft_term prev_term)
{
	struct store_log *log = ctx->log;
	char name[STORE_FILE_NAME_BYTES];
	log_segment_name(seg->first_index, name, sizeof(name));
	uint64_t offset = 0;
	raft_index expect = seg->first_index;
	raft_term term = prev_term;
	while (offset + STORE_RECORD_HEADER_BYTES <= bytes) {
		struct store_entry ent;
		int64_t rec_bytes = store_record_decode(ctx->buf + offset, (size_t)(bytes - offset),
							&ent);
		if (rec_bytes < 0) {
			break;
		}
		if (ent.index != expect) {
			snprintf(ctx->errmsg, ctx->errmsg_bytes,
				 "%s/%s: offset %" PRIu64 ": index %" PRIu64 ", expected %" PRIu64,
				 log->dir_path, name, offset, ent.index, expect);
			return -STORE_E_INDEX_GAP;
		}
		if (ent.term < term) {
			snprintf(ctx->errmsg, ctx->errmsg_bytes,
				 "%s/%s: offset %" PRIu64 ": index %" PRIu64 " has term %" PRIu64
				 " below the previous entry's %" PRIu64,
				 log->dir_path, name, offset, ent.index, ent.term, term);
			return -STORE_E_TERM_BACKWARDS;
		}
		term = ent.term;
		expect++;
		offset += (uint64_t)rec_bytes;
	}
	seg->last_index = expect - 1;
	seg->last_term = term;
	seg->end_offset = offset;
	uint64_t next_valid = recover_find_valid(ctx->buf, bytes, offset + STORE_RECORD_ALIGN_BYTES);
	uint64_t garbage_end = recover_nonzero_end(ctx->buf, bytes, offset);
	if (next_valid < bytes) {
		snprintf(ctx->errmsg, ctx->errmsg_bytes,
			 "%s/%s: offset %" PRIu64 ": damaged record (bad CRC, magic or length) "
			 "followed by a valid record at offset %" PRIu64,
			 log->dir_path, name, offset, next_valid);
		return -STORE_E_CORRUPT;
	}
	if (garbage_end == offset) {
		return 0; /* clean end: zeros only */
	}
	if (!is_tail) {
		snprintf(ctx->errmsg, ctx->errmsg_bytes,
			 "%s/%s: offset %" PRIu64 ": damaged record in a segment that is not "
			 "the last one",
			 log->dir_path, name, offset);
		return -STORE_E_CORRUPT;
	}
	return recover_cut(ctx, seg, name, offset, garbage_end, bytes);
}

/* Opens the segment files listed and fills log->segments (unscanned). */
static int recover_open_files(struct recover_ctx *ctx, const struct recover_list *list)
{
	struct store_log *log = ctx->log;
	struct store_engine *e = log->engine;
	for (uint32_t i = 0; i < list->count; i++) {
		struct store_segment *seg = &log->segments[log->segments_count];
		char name[STORE_FILE_NAME_BYTES];
		log_segment_name(list->firsts[i], name, sizeof(name));
		memset(seg, 0, sizeof(*seg));
		seg->first_index = list->firsts[i];
		int rc = e->ops->open(e, name, false, &seg->file);
		if (rc != 0) {
			snprintf(ctx->errmsg, ctx->errmsg_bytes, "%s/%s: open: %s", log->dir_path,
				 name, store_strerror(rc));
			return rc;
		}
		log->segments_count++;
	}
	return 0;
}

/* Removes the last segment from the table and the directory. */
static int recover_drop_last(struct recover_ctx *ctx, const char *why)
{
	struct store_log *log = ctx->log;
	struct store_engine *e = log->engine;
	RN_ASSERT(log->segments_count > 0);
	struct store_segment *seg = &log->segments[log->segments_count - 1];
	char name[STORE_FILE_NAME_BYTES];
	log_segment_name(seg->first_index, name, sizeof(name));
	if (!log->cfg.quiet) {
		fprintf(stderr, "storage: %s/%s: %s; removing it\n", log->dir_path, name, why);
	}
	e->ops->close(e, seg->file);
	log->segments_count--;
	int rc = e->ops->unlink(e, name);
	if (rc == 0) {
		rc = e->ops->sync_dir(e);
	}
	if (rc != 0) {
		snprintf(ctx->errmsg, ctx->errmsg_bytes, "%s/%s: unlink: %s", log->dir_path, name,
			 store_strerror(rc));
	}
	return rc;
}

/* Drops segments wholly below the compaction point (a crash between the
 * state write and the unlink of store_compact leaves them). */
static int recover_drop_compacted(struct recover_ctx *ctx, struct recover_list *list)
{
	struct store_log *log = ctx->log;
	uint32_t drop = 0;
	while (drop + 1 < list->count && list->firsts[drop + 1] <= log->compacted_index + 1) {
		char name[STORE_FILE_NAME_BYTES];
		log_segment_name(list->firsts[drop], name, sizeof(name));
		int rc = log->engine->ops->unlink(log->engine, name);
		if (rc != 0) {
			snprintf(ctx->errmsg, ctx->errmsg_bytes, "%s/%s: unlink: %s",
				 log->dir_path, name, store_strerror(rc));
			return rc;
		}
		drop++;
	}
	memmove(list->firsts, list->firsts + drop, (list->count - drop) * sizeof(raft_index));
	list->count -= drop;
	if (drop > 0) {
		return log->engine->ops->sync_dir(log->engine);
	}
	return 0;
}

/* Drops trailing segments with no valid record at all (created by a roll
 * whose first write never landed, or truncated to empty). */
static int recover_drop_blank_tail(struct recover_ctx *ctx)
{
	struct store_log *log = ctx->log;
	while (log->segments_count > 0) {
		struct store_segment *seg = &log->segments[log->segments_count - 1];
		char name[STORE_FILE_NAME_BYTES];
		log_segment_name(seg->first_index, name, sizeof(name));
		int64_t bytes = recover_read(ctx, seg, name);
		if (bytes < 0) {
			return (int)bytes;
		}
		if (recover_find_valid(ctx->buf, (uint64_t)bytes, 0) < (uint64_t)bytes) {
			return 0;
		}
		int rc = recover_drop_last(ctx, "no valid record (blank tail segment)");
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static int recover_scan_all(struct recover_ctx *ctx)
{
	struct store_log *log = ctx->log;
	raft_index expect = log->compacted_index + 1;
	raft_term term = 0;
	for (uint32_t i = 0; i < log->segments_count; i++) {
		struct store_segment *seg = &log->segments[i];
		char name[STORE_FILE_NAME_BYTES];
		log_segment_name(seg->first_index, name, sizeof(name));
		bool first_ok = i == 0 ? seg->first_index <= expect : seg->first_index == expect;
		if (!first_ok) {
			snprintf(ctx->errmsg, ctx->errmsg_bytes,
				 "%s/%s: offset 0: segment starts at index %" PRIu64
				 " but the log needs index %" PRIu64 " next (a segment is missing)",
				 log->dir_path, name, seg->first_index, expect);
			return -STORE_E_MISSING_SEGMENT;
		}
		int64_t bytes = recover_read(ctx, seg, name);
		if (bytes < 0) {
			return (int)bytes;
		}
		bool is_tail = i + 1 == log->segments_count;
		int rc = recover_scan(ctx, seg, (uint64_t)bytes, is_tail, term);
		if (rc != 0) {
			return rc;
		}
		if (seg->last_index >= seg->first_index) {
			term = seg->last_term;
		}
		expect = seg->last_index + 1;
	}
	return 0;
}

int recover_segments(struct store_log *log, char *errmsg, size_t errmsg_bytes)
{
	struct recover_ctx ctx = {.log = log, .errmsg = errmsg, .errmsg_bytes = errmsg_bytes};
	struct recover_list list = {.max_count = log->cfg.segments_max};
	list.firsts = calloc(list.max_count, sizeof(raft_index));
	if (list.firsts == NULL) {
		return -ENOMEM;
	}
	int rc = log->engine->ops->list(log->engine, recover_list_one, &list);
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "%s: listing segments: %s%s%s", log->dir_path,
			 store_strerror(rc), list.bad_name[0] ? ": " : "", list.bad_name);
		goto fail_list;
	}
	if (log->state_file < 0 && list.count > 0) {
		snprintf(errmsg, errmsg_bytes,
			 "%s/%s: missing, but %u segment file(s) exist: the term and vote "
			 "are lost; refusing to start with a blank hard state",
			 log->dir_path, STORE_STATE_FILE_NAME, list.count);
		rc = -STORE_E_STATE_CORRUPT;
		goto fail_list;
	}
	qsort(list.firsts, list.count, sizeof(raft_index), recover_cmp_index);
	rc = recover_drop_compacted(&ctx, &list);
	if (rc == 0) {
		rc = recover_open_files(&ctx, &list);
	}
	if (rc == 0) {
		rc = recover_drop_blank_tail(&ctx);
	}
	if (rc == 0) {
		rc = recover_scan_all(&ctx);
	}
	if (rc == 0 && log->segments_count > 0) {
		const struct store_segment *last = &log->segments[log->segments_count - 1];
		log->last_index = last->last_index;
		log->last_term = last->last_term;
	}
	if (rc == 0 && log->last_index <= log->compacted_index) {
		/* Everything kept is older than the snapshot point: the log
		 * continues right after it. At it too: a store_reset the crash
		 * cut short may have left an entry at the point of another
		 * term (the snapshot's term is the compaction point's). Those
		 * segments hold nothing the snapshot does not, and an append
		 * after the point must not land behind such an entry in the
		 * same file (a term above the next entry's would make the next
		 * start refuse an intact log): they go, as store_reset's last
		 * step would have removed them, and the next append starts a
		 * segment of its own. */
		while (rc == 0 && log->segments_count > 0) {
			rc = recover_drop_last(&ctx, "wholly at or below the snapshot point "
						     "(an install or compaction cut short)");
		}
		log->last_index = log->compacted_index;
		log->last_term = log->compacted_term;
	}
	log->durable_index = log->last_index;
	log->durable_term = log->last_term;
	free(ctx.buf);
fail_list:
	free(list.firsts);
	return rc;
}
