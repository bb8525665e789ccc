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
 * with the log's writes right after each roll (engine_prepare.c paces
 * them). A roll
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

static void roll_prepare_start(struct store_log *log)
{
	RN_ASSERT(!log->spare_pending);
	RN_ASSERT(!log->spare_ready);
	struct store_engine *e = log->engine;
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
	if (e->ops->prepare_poll(e, wait, &res) == 0) {
		return 0;
	}
	log->spare_pending = false;
	if (res == 0) {
		log->spare_ready = true;
		log->stats.segment_next_ready = true;
		return 0;
	}
	/* Degraded, not failed: the next roll retries synchronously. */
	log->stats.segment_prepare_failures_count++;
	if (!log->cfg.quiet || log->cfg.engine != STORE_ENGINE_SIM) {
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
				return -EIO; /* could not even start; already logged */
			}
		}
		rc = roll_prepare_reap(log, true);
	}
	return log->spare_ready ? 0 : (rc != 0 ? rc : -EIO);
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
	if (log->spare_ready) {
		log->stats.segments_prepared_ahead_count++;
	} else {
		log->stats.segments_prepared_late_count++;
		int rc = roll_spare_wait(log);
		if (rc != 0) {
			return log_fail(log, rc, "%s/%s: preparing %" PRIu64 " bytes for %s: %s",
					log->dir_path, STORE_SPARE_FILE_NAME,
					log->cfg.segment_bytes, name, store_strerror(rc));
		}
	}
	struct store_segment *seg = &log->segments[log->segments_count];
	memset(seg, 0, sizeof(*seg));
	seg->first_index = first_index;
	seg->last_index = first_index - 1;
	/* The name is durable before any record in the file can be reported
	 * durable: one rename and one directory sync per segment. */
	log->spare_ready = false;
	int rc = e->ops->rename(e, STORE_SPARE_FILE_NAME, name);
	if (rc == 0) {
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
