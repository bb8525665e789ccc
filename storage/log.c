/* SPDX-License-Identifier: MIT */
/*
 * log.c - the append path and group fsync.
 *
 * Two staging buffers, sized at open: groups[inflight] is being written and
 * synced by the engine; groups[gathering] collects every append that arrives
 * meanwhile. When the write in flight completes, the gathered group goes out
 * as one write per segment touched and one sync for all of it. At low load
 * the gathering group holds one batch and leaves immediately (no timer); at
 * high load it grows to whatever arrived during one sync, so the group size
 * follows the load by itself. Records are encoded straight into the staging
 * buffer: one copy from the caller, no allocation.
 *
 * O_DIRECT layout (engine write_align_bytes = A, 4 KiB): every extent
 * starts at an A-aligned place in the staging buffer and at an A-aligned
 * file offset, so a group that continues a block begins with that block's
 * head (the bytes already written there, kept in tail_block: at most A - 1
 * bytes copied per group), and its end is padded with zeros to the next
 * block, over zeros already on disk (segments are written with zeros before
 * use, and cuts truncate and re-allocate). The file receives the same bytes
 * as a buffered write would leave: the format and recovery are unchanged; a
 * torn block head is the same bytes, old or new.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "common.h"
#include "log_internal.h"

static struct store_segment *log_active(struct store_log *log)
{
	return log->segments_count > 0 ? &log->segments[log->segments_count - 1] : NULL;
}

static void log_group_reset(struct store_group *g)
{
	g->used_bytes = 0;
	g->record_bytes = 0;
	g->entries_count = 0;
	g->extents_count = 0;
	g->last_index = 0;
	g->last_term = 0;
}

static int log_append_check(const struct store_log *log, const struct store_entry *entries,
			    uint32_t count)
{
	raft_index expect = log->last_index + 1;
	raft_term term = log->last_term;
	for (uint32_t i = 0; i < count; i++) {
		if (entries[i].index != expect || entries[i].term < term ||
		    entries[i].payload_bytes > STORE_PAYLOAD_BYTES_MAX ||
		    store_record_bytes(entries[i].payload_bytes) > log->cfg.segment_bytes) {
			return -STORE_E_RANGE;
		}
		term = entries[i].term;
		expect++;
	}
	return 0;
}

/* Does a record of rec_bytes for `index` need a new segment after a
 * segment ending at seg_end whose next index is seg_next? */
static bool log_needs_roll(const struct store_log *log, bool have_seg, uint64_t seg_end,
			   raft_index seg_next, raft_index index, uint64_t rec_bytes)
{
	return !have_seg || seg_end + rec_bytes > log->cfg.segment_bytes || seg_next != index;
}

/* Is the gathering group's last extent open for appends at the active
 * segment's end? */
static bool log_extent_open(const struct store_log *log, const struct store_group *g)
{
	const struct store_segment *seg = log->segments_count > 0
						  ? &log->segments[log->segments_count - 1]
						  : NULL;
	if (seg == NULL || g->extents_count == 0) {
		return false;
	}
	const struct store_extent *ext = &g->extents[g->extents_count - 1];
	return ext->file == seg->file && ext->file_offset + ext->bytes == seg->end_offset;
}

/* Dry run: will the batch fit in the gathering group? 0 (and the segment
 * rolls it needs), -STORE_E_BUSY (retry after a poll) or -STORE_E_RANGE
 * (can never fit). */
static int log_append_plan(const struct store_log *log, const struct store_entry *entries,
			   uint32_t count, uint32_t *rolls_out)
{
	const struct store_group *g = &log->groups[log->gathering];
	const struct store_segment *seg = log->segments_count > 0
						  ? &log->segments[log->segments_count - 1]
						  : NULL;
	bool have_seg = seg != NULL;
	uint64_t seg_end = have_seg ? seg->end_offset : 0;
	raft_index seg_next = have_seg ? seg->last_index + 1 : 0;
	bool ext_open = log_extent_open(log, g);
	uint64_t bytes = g->record_bytes;
	uint32_t extents = g->extents_count;
	uint32_t rolls = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t rec_bytes = store_record_bytes(entries[i].payload_bytes);
		if (log_needs_roll(log, have_seg, seg_end, seg_next, entries[i].index, rec_bytes)) {
			have_seg = true;
			seg_end = 0;
			ext_open = false;
			rolls++;
		}
		if (!ext_open) {
			extents++;
			ext_open = true;
		}
		seg_end += rec_bytes;
		seg_next = entries[i].index + 1;
		bytes += rec_bytes;
	}
	bool empty = g->entries_count == 0;
	if (bytes > log->cfg.group_bytes_max || extents > STORE_GROUP_EXTENTS_MAX) {
		return empty ? -STORE_E_RANGE : -STORE_E_BUSY;
	}
	if (log->segments_count + rolls > log->cfg.segments_max) {
		return -EMFILE;
	}
	*rolls_out = rolls;
	return 0;
}

/* Opens a new extent at seg's end in g. With the O_DIRECT layout it starts
 * at a block boundary of the buffer and of the file, with the block's head. */
static void log_extent_start(struct store_log *log, struct store_group *g,
			     const struct store_segment *seg)
{
	RN_ASSERT(g->extents_count < STORE_GROUP_EXTENTS_MAX);
	struct store_extent *ext = &g->extents[g->extents_count];
	uint32_t head_bytes = 0;
	if (log->align_bytes != 0) {
		uint32_t a = log->align_bytes;
		g->used_bytes = (g->used_bytes + a - 1) & ~(a - 1);
		head_bytes = (uint32_t)(seg->end_offset % a);
		if (head_bytes > 0) {
			/* The block's head was written by an earlier group, or
			 * found there at open: tail_block has it. */
			RN_ASSERT(log->tail_segment_first == seg->first_index);
			RN_ASSERT(log->tail_offset == seg->end_offset - head_bytes);
			memcpy(g->buf + g->used_bytes, log->tail_block, head_bytes);
		}
	}
	ext->file = seg->file;
	ext->file_offset = seg->end_offset - head_bytes;
	ext->buf = g->buf + g->used_bytes;
	ext->bytes = head_bytes;
	g->used_bytes += head_bytes;
	g->extent_segment_first[g->extents_count] = seg->first_index;
	g->extents_count++;
}

/* O_DIRECT layout, at submit: keeps the group's last partial block for the
 * next group, then pads every extent with zeros to a whole block. */
static void log_group_seal(struct store_log *log, struct store_group *g)
{
	uint32_t a = log->align_bytes;
	RN_ASSERT(a != 0);
	RN_ASSERT(g->extents_count > 0);
	const struct store_extent *last = &g->extents[g->extents_count - 1];
	uint64_t end = last->file_offset + last->bytes;
	uint32_t tail_bytes = (uint32_t)(end % a);
	RN_ASSERT(tail_bytes <= last->bytes); /* the extent starts on a block */
	memcpy(log->tail_block, (const uint8_t *)last->buf + last->bytes - tail_bytes, tail_bytes);
	log->tail_offset = end - tail_bytes;
	log->tail_segment_first = g->extent_segment_first[g->extents_count - 1];
	for (uint32_t i = 0; i < g->extents_count; i++) {
		struct store_extent *ext = &g->extents[i];
		uint32_t padded = (ext->bytes + a - 1) & ~(a - 1);
		memset((uint8_t *)ext->buf + ext->bytes, 0, padded - ext->bytes);
		ext->bytes = padded;
		RN_ASSERT(ext->file_offset % a == 0);
		RN_ASSERT((uint64_t)((const uint8_t *)ext->buf + padded - g->buf) <= log->group_buf_bytes);
	}
}

int log_tail_load(struct store_log *log)
{
	if (log->align_bytes == 0 || log->segments_count == 0) {
		return 0;
	}
	const struct store_segment *seg = &log->segments[log->segments_count - 1];
	uint32_t tail_bytes = (uint32_t)(seg->end_offset % log->align_bytes);
	log->tail_offset = seg->end_offset - tail_bytes;
	log->tail_segment_first = seg->first_index;
	if (tail_bytes == 0) {
		return 0;
	}
	int64_t n = log->engine->ops->read(log->engine, seg->file, log->tail_offset,
					   log->tail_block, tail_bytes);
	return n == (int64_t)tail_bytes ? 0 : n < 0 ? (int)n : -EIO;
}

/* Encodes one record into the gathering group, rolling the segment first if
 * needed. The plan said it fits. */
static int log_append_one(struct store_log *log, struct store_group *g,
			  const struct store_entry *entry)
{
	uint64_t rec_bytes = store_record_bytes(entry->payload_bytes);
	struct store_segment *seg = log_active(log);
	if (log_needs_roll(log, seg != NULL, seg != NULL ? seg->end_offset : 0,
			   seg != NULL ? seg->last_index + 1 : 0, entry->index, rec_bytes)) {
		int rc = log_segment_create(log, entry->index);
		if (rc != 0) {
			return rc;
		}
		seg = log_active(log);
	}
	if (!log_extent_open(log, g)) {
		log_extent_start(log, g, seg);
	}
	int64_t n = store_record_encode(entry, g->buf + g->used_bytes,
					log->group_buf_bytes - g->used_bytes);
	RN_ASSERT(n == (int64_t)rec_bytes); /* the plan guaranteed the room */
	g->extents[g->extents_count - 1].bytes += (uint32_t)rec_bytes;
	g->used_bytes += (uint32_t)rec_bytes;
	g->record_bytes += (uint32_t)rec_bytes;
	g->entries_count++;
	g->last_index = entry->index;
	g->last_term = entry->term;
	seg->end_offset += rec_bytes;
	seg->last_index = entry->index;
	seg->last_term = entry->term;
	log->last_index = entry->index;
	log->last_term = entry->term;
	return 0;
}

int store_append(struct store_log *log, const struct store_entry *entries, uint32_t count)
{
	RN_ASSERT(log != NULL);
	RN_ASSERT(entries != NULL || count == 0);
	if (log->failed_rc != 0) {
		return -STORE_E_FAILED;
	}
	if (count == 0) {
		return 0;
	}
	uint32_t rolls = 0;
	int rc = log_append_check(log, entries, count);
	if (rc == 0) {
		rc = log_append_plan(log, entries, count, &rolls);
	}
	if (rc == 0) {
		/* The new segments are had before anything is staged: out of
		 * space, the batch is refused whole and the log goes on. */
		rc = roll_reserve(log, rolls);
		if (rc == -STORE_E_NO_SPACE) {
			log->stats.no_space_refusals_count++;
		}
	}
	if (rc != 0) {
		return rc;
	}
	struct store_group *g = &log->groups[log->gathering];
	for (uint32_t i = 0; i < count; i++) {
		rc = log_append_one(log, g, &entries[i]);
		if (rc != 0) {
			return rc; /* fail-stopped by log_segment_create */
		}
	}
	return log->in_callback ? 0 : log_submit_if_idle(log);
}

/* The planted bug ack-unsynced (test builds only, STORE_PLANTED_BUGS):
 * report a group durable when it is submitted instead of when its sync
 * completes. raftsim and test_storage_planted must catch it. */
#ifdef STORE_PLANTED_BUGS
#define LOG_ACK_AT_SUBMIT(log) ((log)->cfg.planted_ack_unsynced)
#else
#define LOG_ACK_AT_SUBMIT(log) false
#endif

/* Reports durable up to (index, term) through on_durable. */
static void log_report_durable(struct store_log *log, raft_index index, raft_term term)
{
	RN_ASSERT(index > log->durable_index);
	log->durable_index = index;
	log->durable_term = term;
	if (log->cfg.on_durable != NULL) {
		log->in_callback = true;
		log->cfg.on_durable(log->cfg.on_durable_user, index, term);
		log->in_callback = false;
	}
}

int log_submit_if_idle(struct store_log *log)
{
	if (log->failed_rc != 0) {
		return -STORE_E_FAILED;
	}
	struct store_group *g = &log->groups[log->gathering];
	if (log->inflight >= 0 || g->entries_count == 0) {
		return 0;
	}
	struct store_engine *e = log->engine;
	if (log->align_bytes != 0) {
		log_group_seal(log, g);
	}
	int rc = e->ops->submit(e, g->extents, g->extents_count, log->cfg.durability);
	if (rc != 0) {
		char name[STORE_FILE_NAME_BYTES];
		log_segment_name(g->extent_segment_first[0], name, sizeof(name));
		return log_fail(log, rc, "%s/%s: submitting a write at offset %" PRIu64 ": %s",
				log->dir_path, name, g->extents[0].file_offset, store_strerror(rc));
	}
	log->inflight = log->gathering;
	log->gathering = 1 - log->gathering;
	log_group_reset(&log->groups[log->gathering]);
	if (LOG_ACK_AT_SUBMIT(log)) {
		log_report_durable(log, g->last_index, g->last_term); /* the bug */
	}
	return 0;
}

static int log_group_failed(struct store_log *log, const struct store_group *g, int res)
{
	char name[STORE_FILE_NAME_BYTES];
	log_segment_name(g->extent_segment_first[0], name, sizeof(name));
	const struct store_extent *last = &g->extents[g->extents_count - 1];
	return log_fail(log, res,
			"%s/%s: write/%s of %u bytes at offset %" PRIu64 " (group of %u entries "
			"up to index %" PRIu64 ", %u extent(s), last ends at offset %" PRIu64
			"): %s; nothing after index %" PRIu64 " is durable",
			log->dir_path, name, store_durability_name(log->cfg.durability),
			g->record_bytes, g->extents[0].file_offset, g->entries_count, g->last_index,
			g->extents_count, last->file_offset + last->bytes, store_strerror(res),
			log->durable_index);
}

/* Reaps the group in flight: 1 if it completed (reported), 0 if not, or
 * -STORE_E_FAILED. */
static int log_group_poll(struct store_log *log, bool wait)
{
	int res = 0;
	int n = log->engine->ops->poll(log->engine, wait, &res);
	if (n < 0) {
		return log_fail(log, n, "%s: polling the %s engine: %s", log->dir_path,
				store_engine_name(log->cfg.engine), store_strerror(n));
	}
	if (n == 0) {
		return 0;
	}
	struct store_group *g = &log->groups[log->inflight];
	log->inflight = -1;
	if (res < 0) {
		return log_group_failed(log, g, res);
	}
	raft_index index = g->last_index;
	raft_term term = g->last_term;
	log->stats.groups_count++;
	log->stats.entries_count += g->entries_count;
	log->stats.bytes_count += g->record_bytes;
	log_group_reset(g);
	if (!LOG_ACK_AT_SUBMIT(log)) {
		log_report_durable(log, index, term);
	}
	return 1;
}

int store_poll(struct store_log *log, bool wait)
{
	RN_ASSERT(log != NULL);
	RN_ASSERT(!log->in_callback); /* no store_poll from on_durable / on_read */
	if (log->failed_rc != 0) {
		return -STORE_E_FAILED;
	}
	int rc = log_submit_if_idle(log);
	if (rc != 0) {
		return rc;
	}
	int done = 0;
	if (log->inflight >= 0) {
		rc = log_group_poll(log, wait);
		if (rc < 0) {
			return rc;
		}
		done += rc;
	}
	roll_poll(log);
	/* Wait for the read only when no write was there to wait for. */
	done += log_read_poll(log, wait && done == 0 && log->inflight < 0);
	rc = log_submit_if_idle(log);
	return rc != 0 ? rc : done;
}

int store_flush(struct store_log *log)
{
	RN_ASSERT(log != NULL);
	while (log->inflight >= 0 || log->groups[log->gathering].entries_count > 0 ||
	       log->read_req != NULL) {
		int rc = store_poll(log, true);
		if (rc < 0) {
			return rc;
		}
	}
	return log->failed_rc != 0 ? -STORE_E_FAILED : 0;
}
