/* SPDX-License-Identifier: MIT */
/*
 * roll.c - segment creation: the next segment is prepared ahead of need
 * (written whole with zeros and made durable under STORE_SPARE_FILE_NAME)
 * and a roll only renames it. Runs on the log's thread; the writing itself
 * is the engine's (a helper thread for the real disks, engine_prepare.c).
 *
 * Why written zeros, not fallocate: fallocate leaves *unwritten* extents, so
 * on ext4 every group's fdatasync into a fresh segment also converted
 * extents and committed a journal transaction (fio, 4 KiB O_DSYNC: p50 289
 * us into a fallocate'd file against 169 us into a written one). Into
 * written blocks a group is an overwrite and its sync flushes data only.
 *
 * Why zero a new file rather than recycle an old segment: zeros are what
 * recovery already reads as "end of the log" (a torn or empty tail of the
 * last segment is cut, zeros followed by a valid record are damage), so
 * recovery is unchanged. A recycled segment would still hold old valid
 * records after the new tail and recovery would need a generation in every
 * record to tell them apart - a format change and a new way to be wrong.
 * Zeroing costs one segment's worth of sequential writes per roll, off the
 * commit path.
 *
 * When: preparation of the next segment starts as soon as the active one
 * exists (after each roll, and at open), so the zeros have a whole
 * segment's worth of appends to land; for a log with no segment at all it
 * is done at open, synchronously. (Starting at half full, the first
 * version, left a 64 MiB preparation only half a segment of time: at 4 KiB
 * x 64 writers on a busy disk 7 of the rolls of a 5 s run were late.) The
 * cost is a spare's worth of disk space always, and the zeros competing
 * with the log's writes; engine_prepare.c paces them by the active
 * segment's fill (a 16th of the segment, then twice the fill: the spare is
 * whole at about half full), which roll_prepare_reap passes with every
 * poll, so they do not saturate the disk right after each roll. A roll
 * that finds the spare not ready waits for the preparation in flight or
 * prepares synchronously (counted in segments_prepared_late_count): correct,
 * only slow. A failed background preparation is logged and counted, not
 * fatal: the log fail-stops only when a roll needs the segment and the
 * synchronous retry fails too.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "log_internal.h"

/* 0 if bytes + the reserve are free on the log's file system (and the
 * figure in stats), -STORE_E_NO_SPACE if not, -errno if statvfs failed. */
static int roll_space_fits(struct store_log *log, uint64_t bytes)
{
	struct store_engine *e = log->engine;
	if (e->ops->space_free == NULL) {
		return 0;
	}
	uint64_t free_bytes = 0;
	int rc = e->ops->space_free(e, &free_bytes);
	if (rc != 0) {
		return rc;
	}
	log->stats.space_free_bytes = free_bytes;
	uint64_t need = bytes + log->cfg.space_reserve_bytes;
	if (need < bytes) {
		need = UINT64_MAX; /* an absurd reserve: never fits */
	}
	return free_bytes >= need ? 0 : -STORE_E_NO_SPACE;
}

/* need_bytes: what was short (beside the reserve), when short_now. */
static void roll_space_short(struct store_log *log, bool short_now, uint64_t need_bytes)
{
	if (short_now) {
		log->stats.space_need_bytes = rn_max_u64(need_bytes, log->cfg.segment_bytes);
	}
	if (log->stats.space_short == short_now) {
		return;
	}
	log->stats.space_short = short_now;
	if (log->cfg.quiet && log->cfg.engine == STORE_ENGINE_SIM) {
		return;
	}
	/* One line each way: the operator's clue (the node raises its alarm
	 * from the same flag). */
	if (short_now) {
		fprintf(stderr, "storage: %s: NO SPACE for the next segment: %" PRIu64 " bytes "
				"free, %" PRIu64 " of segments (%" PRIu64 " each) and the reserve "
				"(%" PRIu64 ") need more; appends fill the active segment, then "
				"get no_space until space returns\n",
			log->dir_path, log->stats.space_free_bytes, log->stats.space_need_bytes,
			log->cfg.segment_bytes, log->cfg.space_reserve_bytes);
	} else {
		fprintf(stderr, "storage: %s: space is back (%" PRIu64 " bytes free): the next "
				"segment is being prepared\n",
			log->dir_path, log->stats.space_free_bytes);
	}
}

static bool roll_space_errno(int rc)
{
	return rc == -ENOSPC || rc == -EDQUOT;
}

static void roll_prepare_start(struct store_log *log)
{
	RN_ASSERT(!log->spare_pending);
	RN_ASSERT(!log->spare_ready);
	struct store_engine *e = log->engine;
	/* Checked before the zeros are written, not found by ENOSPC after:
	 * the space stays for the reserve, and the alarm comes while the
	 * active segment still has its room (for a new leader's no-op, a
	 * configuration change, the entries already accepted). A failed
	 * statvfs is not a verdict: the preparation goes ahead. */
	if (roll_space_fits(log, log->cfg.segment_bytes) == -STORE_E_NO_SPACE) {
		roll_space_short(log, true, log->cfg.segment_bytes);
		return;
	}
	int rc = e->ops->prepare_submit(e, STORE_SPARE_FILE_NAME, log->cfg.segment_bytes);
	if (rc != 0) {
		log->stats.segment_prepare_failures_count++;
		fprintf(stderr, "storage: %s/%s: starting to prepare the next segment: %s; "
				"the next roll will prepare it synchronously\n",
			log->dir_path, STORE_SPARE_FILE_NAME, store_strerror(rc));
		return;
	}
	log->spare_pending = true;
}

/* Takes the preparation's result if it finished (waiting if wait); returns
 * its error, if any, or 0. */
static int roll_prepare_reap(struct store_log *log, bool wait)
{
	if (!log->spare_pending) {
		return 0;
	}
	int res = 0;
	struct store_engine *e = log->engine;
	uint64_t fill_bytes = log->segments_count > 0
				      ? log->segments[log->segments_count - 1].end_offset
				      : 0;
	if (e->ops->prepare_poll(e, wait, fill_bytes, &res) == 0) {
		return 0;
	}
	log->spare_pending = false;
	if (res == 0) {
		log->spare_ready = true;
		log->stats.segment_next_ready = true;
		roll_space_short(log, false, 0);
		return 0;
	}
	/* Degraded, not failed: the next roll retries synchronously, or,
	 * out of space, store_space_retry does once there is room. */
	log->stats.segment_prepare_failures_count++;
	if (roll_space_errno(res)) {
		(void)roll_space_fits(log, 0); /* the figure the message gives */
		roll_space_short(log, true, log->cfg.segment_bytes);
	} else if (!log->cfg.quiet || log->cfg.engine != STORE_ENGINE_SIM) {
		fprintf(stderr, "storage: %s/%s: preparing the next segment (%" PRIu64
				" bytes of zeros) failed: %s; the roll will retry it synchronously\n",
			log->dir_path, STORE_SPARE_FILE_NAME, log->cfg.segment_bytes,
			store_strerror(res));
	}
	return res;
}

void roll_poll(struct store_log *log)
{
	(void)roll_prepare_reap(log, false);
}

void roll_prepare_if_due(struct store_log *log)
{
	if (log->spare_pending || log->spare_ready || log->segments_count == 0) {
		return;
	}
	roll_prepare_start(log);
}

/* Makes the spare ready, waiting or preparing it now; at most two tries
 * (the one in flight, then a fresh one). 0 or the last error. */
static int roll_spare_wait(struct store_log *log)
{
	int rc = 0;
	for (int attempt = 0; attempt < 2 && !log->spare_ready; attempt++) {
		if (!log->spare_pending) {
			roll_prepare_start(log);
			if (!log->spare_pending) {
				/* could not even start; already logged */
				return log->stats.space_short ? -STORE_E_NO_SPACE : -EIO;
			}
		}
		rc = roll_prepare_reap(log, true);
	}
	if (log->spare_ready) {
		return 0;
	}
	return log->stats.space_short ? -STORE_E_NO_SPACE : (rc != 0 ? rc : -EIO);
}

int roll_reserve(struct store_log *log, uint32_t rolls)
{
	if (rolls == 0) {
		return 0;
	}
	(void)roll_prepare_reap(log, false);
	if (!log->spare_ready && !log->stats.space_short) {
		/* Late: wait (or prepare) here, where an ENOSPC can still
		 * refuse the batch whole, not in the roll, half-way through it.
		 * Another error is left to the roll, which retries, then
		 * fail-stops, as before. */
		log->roll_waited = true;
		(void)roll_spare_wait(log);
	}
	if (!log->spare_ready && log->stats.space_short) {
		log->roll_waited = false;
		return -STORE_E_NO_SPACE;
	}
	/* Tiny segments only: a batch that rolls more than once prepares the
	 * later segments synchronously; check that they fit. */
	uint64_t more_bytes = (uint64_t)(rolls - 1) * log->cfg.segment_bytes;
	if (rolls > 1 && roll_space_fits(log, more_bytes) == -STORE_E_NO_SPACE) {
		/* Short like a segment that cannot be prepared: the operator's
		 * line and the node's alarm (which a refusal without it raised
		 * with no line to say why), cleared when these bytes fit. */
		roll_space_short(log, true, more_bytes);
		log->roll_waited = false;
		return -STORE_E_NO_SPACE;
	}
	return 0;
}

int store_space_check(struct store_log *log, uint64_t bytes_needed)
{
	RN_ASSERT(log != NULL);
	return roll_space_fits(log, bytes_needed);
}

int store_space_retry(struct store_log *log)
{
	RN_ASSERT(log != NULL);
	if (log->failed_rc != 0) {
		return -STORE_E_FAILED;
	}
	if (!log->stats.space_short) {
		return 0;
	}
	int rc = roll_space_fits(log, rn_max_u64(log->stats.space_need_bytes,
						 log->cfg.segment_bytes));
	if (rc != 0) {
		return rc;
	}
	roll_space_short(log, false, 0);
	roll_prepare_if_due(log); /* checks again, and may find it short again */
	return log->stats.space_short ? -STORE_E_NO_SPACE : 0;
}

int log_segment_create(struct store_log *log, raft_index first_index)
{
	struct store_engine *e = log->engine;
	char name[STORE_FILE_NAME_BYTES];
	log_segment_name(first_index, name, sizeof(name));
	if (log->segments_count == log->cfg.segments_max) {
		return -EMFILE; /* a configured bound: compact, or raise segments_max */
	}
	(void)roll_prepare_reap(log, false);
	if (log->spare_ready && !log->roll_waited) {
		log->stats.segments_prepared_ahead_count++;
	} else if (log->spare_ready) {
		log->stats.segments_prepared_late_count++; /* roll_reserve waited */
	} else {
		log->stats.segments_prepared_late_count++;
		int rc = roll_spare_wait(log);
		if (rc != 0) {
			return log_fail(log, rc, "%s/%s: preparing %" PRIu64 " bytes for %s: %s",
					log->dir_path, STORE_SPARE_FILE_NAME,
					log->cfg.segment_bytes, name, store_strerror(rc));
		}
	}
	log->roll_waited = false;
	struct store_segment *seg = &log->segments[log->segments_count];
	memset(seg, 0, sizeof(*seg));
	seg->first_index = first_index;
	seg->last_index = first_index - 1;
	/* The name is durable before any record in the file can be reported
	 * durable: one rename and one directory sync per segment. */
	log->spare_ready = false;
	store_crash_point("segment-create");
	int rc = e->ops->rename(e, STORE_SPARE_FILE_NAME, name);
	if (rc == 0) {
		store_crash_point("segment-renamed");
		rc = e->ops->sync_dir(e);
	}
	if (rc == 0) {
		rc = e->ops->open(e, name, false, &seg->file);
	}
	if (rc != 0) {
		return log_fail(log, rc, "%s/%s: renaming the prepared segment to %s: %s",
				log->dir_path, STORE_SPARE_FILE_NAME, name, store_strerror(rc));
	}
	log->segments_count++;
	log->stats.segments_count = log->segments_count;
	log->stats.segment_next_ready = false;
	roll_prepare_if_due(log); /* the one after, from now on */
	return 0;
}

int roll_open(struct store_log *log, char *errmsg, size_t errmsg_bytes)
{
	struct store_engine *e = log->engine;
	/* A spare left by the previous run may be half written: redo it. */
	int rc = e->ops->unlink(e, STORE_SPARE_FILE_NAME);
	if (rc != 0 && rc != -ENOENT) {
		snprintf(errmsg, errmsg_bytes, "%s/%s: unlink: %s", log->dir_path,
			 STORE_SPARE_FILE_NAME, store_strerror(rc));
		return rc;
	}
	if (log->segments_count > 0) {
		roll_prepare_if_due(log);
		return 0;
	}
	/* No segment yet: the first append would roll at once, so prepare the
	 * first segment here, at start, rather than on its commit path. */
	rc = roll_spare_wait(log);
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "%s/%s: preparing the first segment (%" PRIu64
					       " bytes): %s",
			 log->dir_path, STORE_SPARE_FILE_NAME, log->cfg.segment_bytes,
			 store_strerror(rc));
	}
	return rc;
}
