/* SPDX-License-Identifier: MIT */
/*
 * maint.c - the operations off the append path: truncate a conflicting
 * suffix, compact a prefix (whole segments), read a range back (lagging
 * followers, restart), save the hard state, look up a term. They are rare,
 * synchronous, and each is durable when it returns.
 *
 * Ordering on disk, so a crash at any point leaves a log that opens:
 *  - truncate removes the later segment files first (directory synced), then
 *    cuts the segment holding from_index; a crash in between leaves a prefix
 *    of the old log, never a gap;
 *  - compact writes the new compaction point to the state file first, then
 *    unlinks segments; open deletes segments left wholly below the point.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "log_internal.h"

/* Reads the header of `index` (a durable entry in seg). */
static int maint_header_at(struct store_log *log, const struct store_segment *seg,
			   raft_index index, struct store_record_header *h)
{
	uint64_t offset = 0;
	int rc = log_segment_find(log, seg, index, &offset);
	if (rc != 0) {
		return rc;
	}
	int64_t n = log->engine->ops->read(log->engine, seg->file, offset, h, sizeof(*h));
	if (n != (int64_t)sizeof(*h) || h->magic != STORE_RECORD_MAGIC || h->index != index) {
		return n < 0 ? (int)n : -STORE_E_CORRUPT;
	}
	return 0;
}

raft_term store_term_at(struct store_log *log, raft_index index)
{
	if (index == log->last_index) {
		return log->last_term;
	}
	if (index == log->compacted_index) {
		return log->compacted_term;
	}
	if (index <= log->compacted_index || index > log->last_index) {
		return 0;
	}
	struct store_segment *seg = log_segment_of(log, index);
	if (seg == NULL) {
		return 0;
	}
	if (index == seg->last_index) {
		return seg->last_term;
	}
	struct store_record_header h;
	return maint_header_at(log, seg, index, &h) == 0 ? h.term : 0;
}

/* Closes and unlinks the last segment file. */
static int maint_drop_last(struct store_log *log)
{
	struct store_engine *e = log->engine;
	struct store_segment *seg = &log->segments[log->segments_count - 1];
	char name[STORE_FILE_NAME_BYTES];
	log_segment_name(seg->first_index, name, sizeof(name));
	e->ops->close(e, seg->file);
	log->segments_count--;
	int rc = e->ops->unlink(e, name);
	if (rc != 0) {
		return log_fail(log, rc, "%s/%s: unlink: %s", log->dir_path, name,
				store_strerror(rc));
	}
	return 0;
}


/* Drops the segments that start at or after from_index (0: every one),
 * last first, then syncs the directory if any went. crash_point: the
 * test-only point after the first one goes (NULL: none). */
static int maint_drop_from(struct store_log *log, raft_index from_index, const char *crash_point)
{
	bool dropped = false;
	while (log->segments_count > 0 &&
	       log->segments[log->segments_count - 1].first_index >= from_index) {
		int rc = maint_drop_last(log);
		if (rc != 0) {
			return rc;
		}
		if (!dropped && crash_point != NULL) {
			store_crash_point(crash_point);
		}
		dropped = true;
	}
	int rc = dropped ? log->engine->ops->sync_dir(log->engine) : 0;
	if (rc != 0) {
		return log_fail(log, rc, "%s: sync directory: %s", log->dir_path,
				store_strerror(rc));
	}
	return 0;
}
/* Cuts segment seg (the last) so that from_index and later are gone. */
static int maint_cut_segment(struct store_log *log, struct store_segment *seg,
			     raft_index from_index)
{
	struct store_engine *e = log->engine;
	char name[STORE_FILE_NAME_BYTES];
	log_segment_name(seg->first_index, name, sizeof(name));
	raft_term term_before = store_term_at(log, from_index - 1);
	uint64_t offset = 0;
	int rc = log_segment_find(log, seg, from_index, &offset);
	if (rc != 0) {
		return rc;
	}
	/* truncate + fallocate, not zeros written over the cut: a truncation
	 * is one atomic metadata change, so a crash leaves the old records
	 * whole or gone; zeros written forward could be torn by a crash into a
	 * zeroed gap followed by old valid records, which recovery must take
	 * for damage (raftsim seed 189, 3 nodes, found it). The cut's blocks
	 * are unwritten extents again until the log reaches them: a
	 * truncation is rare. */
	rc = e->ops->truncate(e, seg->file, offset);
	if (rc == 0) {
		rc = e->ops->allocate(e, seg->file, log->cfg.segment_bytes);
	}
	if (rc == 0) {
		rc = e->ops->sync(e, seg->file);
	}
	if (rc != 0) {
		return log_fail(log, rc, "%s/%s: truncate at offset %" PRIu64 ": %s",
				log->dir_path, name, offset, store_strerror(rc));
	}
	seg->last_index = from_index - 1;
	seg->last_term = term_before;
	seg->end_offset = offset;
	return 0;
}

int store_truncate_suffix(struct store_log *log, raft_index from_index)
{
	RN_ASSERT(log != NULL);
	RN_ASSERT(!log->in_callback);
	int rc = store_flush(log); /* nothing in flight while files change */
	if (rc != 0) {
		return rc;
	}
	if (from_index <= log->compacted_index) {
		return -STORE_E_COMPACTED;
	}
	if (from_index <= log->commit_hint) {
		/* Pair check with the core: committed entries are never cut. */
		return log_fail(log, -STORE_E_RANGE,
				"%s: truncation from %llu would cut committed entries (hint %llu)",
				log->dir_path, (unsigned long long)from_index,
				(unsigned long long)log->commit_hint);
	}
	if (from_index > log->last_index) {
		return 0;
	}
	raft_term new_last_term = store_term_at(log, from_index - 1);
	log->hint_segment_first = 0; /* records after the cut may move */
	rc = maint_drop_from(log, from_index, NULL);
	if (rc != 0) {
		return rc;
	}
	if (log->segments_count > 0) {
		struct store_segment *seg = &log->segments[log->segments_count - 1];
		if (seg->last_index >= from_index) {
			rc = maint_cut_segment(log, seg, from_index);
			if (rc != 0) {
				return rc;
			}
		}
	}
	log->last_index = from_index - 1;
	log->last_term = new_last_term;
	log->durable_index = log->last_index;
	log->durable_term = log->last_term;
	log->stats.segments_count = log->segments_count;
	rc = log_tail_load(log); /* the O_DIRECT layout's head block moved */
	if (rc != 0) {
		return log_fail(log, rc, "%s: reading the last block after a truncation: %s",
				log->dir_path, store_strerror(rc));
	}
	return 0;
}

int store_compact_detach(struct store_log *log, raft_index up_to_index, raft_term up_to_term,
			 raft_index *firsts_out, uint32_t firsts_max)
{
	RN_ASSERT(log != NULL);
	RN_ASSERT(firsts_out != NULL);
	if (log->failed_rc != 0) {
		return -STORE_E_FAILED;
	}
	if (up_to_index > log->compacted_index) {
		if (up_to_index > log->durable_index) {
			return -STORE_E_RANGE;
		}
		/* The point is durable before any file goes: open deletes
		 * segments wholly below it (recover.c), so a crash from here
		 * on, with some or all of them still there, leaves a log that
		 * opens. */
		int rc = state_write(log, &log->hard_state, up_to_index, up_to_term,
				     log->commit_hint);
		if (rc != 0) {
			return rc;
		}
		store_crash_point("compact-state");
	} else {
		/* The point is there already: what a bounded call (firsts_max)
		 * or a read in flight left below it goes now. */
		up_to_index = log->compacted_index;
	}
	struct store_engine *e = log->engine;
	uint32_t drop = 0;
	/* Whole segments only, never the active one. All their entries are
	 * durable (<= up_to_index <= durable_index), so no write targets them;
	 * the segment an asynchronous read is reading (and those after it)
	 * waits for the next compaction. */
	while (drop < firsts_max && drop + 1 < log->segments_count &&
	       log->segments[drop].last_index <= up_to_index &&
	       !(log->read_req != NULL &&
		 log->segments[drop].first_index == log->read_segment_first)) {
		struct store_segment *seg = &log->segments[drop];
		e->ops->close(e, seg->file);
		firsts_out[drop] = seg->first_index;
		drop++;
	}
	memmove(log->segments, log->segments + drop,
		(log->segments_count - drop) * sizeof(*log->segments));
	log->segments_count -= drop;
	log->stats.segments_count = log->segments_count;
	return (int)drop;
}

raft_index store_compact_boundary(const struct store_log *log, raft_index up_to_index,
				  raft_term *term_out)
{
	RN_ASSERT(log != NULL);
	RN_ASSERT(term_out != NULL);
	raft_index at = 0;
	*term_out = 0;
	/* Never the active (last) segment; all before it are durable. */
	for (uint32_t i = 0; i + 1 < log->segments_count; i++) {
		const struct store_segment *seg = &log->segments[i];
		if (seg->last_index > up_to_index || seg->last_index > log->durable_index) {
			break;
		}
		at = seg->last_index;
		*term_out = seg->last_term;
	}
	return at;
}

void store_segment_file_name(raft_index first_index, char *out, size_t out_bytes)
{
	log_segment_name(first_index, out, out_bytes);
}

int store_compact(struct store_log *log, raft_index up_to_index, raft_term up_to_term)
{
	RN_ASSERT(log != NULL);
	raft_index firsts[64];
	struct store_engine *e = log->engine;
	/* Rounds of at most 64 segments: the point is written again (the
	 * same one) by each, a rare cost of a rare call. */
	for (;;) {
		int n = store_compact_detach(log, up_to_index, up_to_term, firsts, 64);
		if (n <= 0) {
			return n;
		}
		for (int i = 0; i < n; i++) {
			char name[STORE_FILE_NAME_BYTES];
			log_segment_name(firsts[i], name, sizeof(name));
			int rc = e->ops->unlink(e, name);
			if (rc != 0) {
				return log_fail(log, rc, "%s/%s: unlink: %s", log->dir_path, name,
						store_strerror(rc));
			}
			if (i == 0) {
				store_crash_point("compact-segment");
			}
		}
		store_crash_point("compact-unlinked");
		int rc = e->ops->sync_dir(e);
		if (rc != 0) {
			return log_fail(log, rc, "%s: sync directory: %s", log->dir_path,
					store_strerror(rc));
		}
		if (n < 64) {
			return 0;
		}
	}
}

/*
 * An installed snapshot at (index, term): the log holds no entry and
 * continues after it. Crash-safe at every step (numbered below): a crash
 * leaves either the old log without its entries above index, or the new
 * point with old segments that recovery ignores (the log ends at or below
 * the compaction point: it continues after it, recover.c).
 */
int store_reset(struct store_log *log, raft_index index, raft_term term)
{
	RN_ASSERT(log != NULL);
	RN_ASSERT(index > 0);
	int rc = store_flush(log);
	if (rc != 0) {
		return rc;
	}
	/* 1. What lies above index goes first (uncommitted here: a follower
	 * installs only a snapshot beyond its commit index). A crash after it
	 * restarts from the old state without them, like a truncation. */
	if (log->last_index > index) {
		rc = store_truncate_suffix(log, index + 1);
		if (rc != 0) {
			return rc;
		}
	}
	store_crash_point("reset-truncated");
	/* 2. The state file names the new point: from here a restart keeps no
	 * entry of the old log (all <= index; recovery continues after the
	 * compaction point when the log ends at or before it). */
	struct raft_hard_state hs = log->hard_state;
	if (hs.term < term) {
		hs = (struct raft_hard_state){.term = term};
	}
	rc = state_write(log, &hs, index, term, index);
	if (rc != 0) {
		return rc;
	}
	store_crash_point("reset-state");
	/* 3. The segments, all of them. */
	log->hint_segment_first = 0;
	rc = maint_drop_from(log, 0, "reset-segment");
	if (rc != 0) {
		return rc;
	}
	store_crash_point("reset-done");
	log->stats.segments_count = 0;
	log->last_index = log->durable_index = index;
	log->last_term = log->durable_term = term;
	return 0;
}

int store_start_at(struct store_log *log, raft_index index, raft_term term)
{
	RN_ASSERT(log != NULL);
	RN_ASSERT(index > 0);
	if (log->failed_rc != 0) {
		return -STORE_E_FAILED;
	}
	if (log->last_index != 0 || log->compacted_index != 0) {
		return -STORE_E_RANGE; /* only an empty log starts somewhere else */
	}
	/* The term is at least the snapshot's (a term below its last entry's
	 * would be a state no server reaches), no vote; the point is both the
	 * compaction point and the commit hint: all of it is committed. */
	struct raft_hard_state hs = log->hard_state;
	if (hs.term < term) {
		hs = (struct raft_hard_state){.term = term};
	}
	int rc = state_write(log, &hs, index, term, index);
	if (rc != 0) {
		return rc;
	}
	/* An append at index + 1 rolls to a segment named for it (the empty
	 * first one does not follow on); open drops the empty one as wholly
	 * below the compaction point. */
	log->last_index = log->durable_index = index;
	log->last_term = log->durable_term = term;
	return 0;
}

int store_save_hard_state(struct store_log *log, const struct raft_hard_state *hs)
{
	RN_ASSERT(log != NULL);
	RN_ASSERT(hs != NULL);
	if (log->failed_rc != 0) {
		return -STORE_E_FAILED;
	}
	return state_write(log, hs, log->compacted_index, log->compacted_term, log->commit_hint);
}

int store_save_commit_hint(struct store_log *log, raft_index committed_index)
{
	RN_ASSERT(log != NULL);
	if (log->failed_rc != 0) {
		return -STORE_E_FAILED;
	}
	/* Only durable entries: an entry committed but still in flight here
	 * could be lost (or, after a truncation that did not reach the disk,
	 * come back as the old entry) and the hint would then vouch for it. */
	raft_index hint = rn_min_u64(committed_index, log->durable_index);
	if (hint <= log->commit_hint) {
		return 0;
	}
	return state_write(log, &log->hard_state, log->compacted_index, log->compacted_term,
			   hint);
}

raft_index store_commit_hint(const struct store_log *log)
{
	/* Never above the recovered log (recovery checks durable data; a
	 * lower value is always safe). */
	return rn_min_u64(log->commit_hint, log->last_index);
}
