/* SPDX-License-Identifier: MIT */
/*
 * open.c - the log's life cycle: store_open (validate the configuration,
 * start the engine, read the state file, recover the segments, allocate
 * every buffer the log will ever use), store_close, segment lookup, the
 * fail-stop helper and the small getters. Segment creation is roll.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "log_internal.h"

int log_fail(struct store_log *log, int rc, const char *fmt, ...)
{
	RN_ASSERT(rc < 0);
	if (log->failed_rc == 0) {
		log->failed_rc = rc;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(log->errmsg, sizeof(log->errmsg), fmt, ap);
		va_end(ap);
		/* Loud on purpose: the node must stop, and say why. A quiet
		 * simulated disk (raftsim) leaves the telling to its caller,
		 * which has store_errmsg(). */
		if (!log->cfg.quiet || log->cfg.engine != STORE_ENGINE_SIM) {
			fprintf(stderr, "storage: FAIL-STOP: %s\n", log->errmsg);
		}
	}
	return -STORE_E_FAILED;
}

struct store_segment *log_segment_of(struct store_log *log, raft_index index)
{
	/* Binary search for the last segment with first_index <= index. */
	uint32_t lo = 0, hi = log->segments_count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (log->segments[mid].first_index <= index) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (lo == 0) {
		return NULL;
	}
	struct store_segment *seg = &log->segments[lo - 1];
	return index <= seg->last_index ? seg : NULL;
}

void log_find_hint(struct store_log *log, const struct store_segment *seg, raft_index index,
		   uint64_t offset)
{
	log->hint_segment_first = seg->first_index;
	log->hint_index = index;
	log->hint_offset = offset;
}

/* Record headers are walked through scan_buf, one read per
 * STORE_SCAN_BYTES, starting from the hint a previous find or read left in
 * the same segment (sequential catch-up reads cost O(1) finds). */
int log_segment_find(struct store_log *log, const struct store_segment *seg, raft_index index,
		     uint64_t *offset_out)
{
	RN_ASSERT(index >= seg->first_index && index <= seg->last_index);
	struct store_engine *e = log->engine;
	uint64_t offset = 0;
	raft_index at = seg->first_index;
	if (log->hint_segment_first == seg->first_index && log->hint_index >= at &&
	    log->hint_index <= index && log->hint_offset < seg->end_offset) {
		at = log->hint_index;
		offset = log->hint_offset;
	}
	uint64_t chunk_offset = 0;
	int64_t chunk_bytes = 0;
	for (; at < index; at++) {
		if (offset < chunk_offset ||
		    offset + STORE_RECORD_HEADER_BYTES > chunk_offset + (uint64_t)chunk_bytes) {
			chunk_offset = offset;
			chunk_bytes = e->ops->read(e, seg->file, offset, log->scan_buf, STORE_SCAN_BYTES);
		}
		struct store_record_header h = {0};
		bool have = chunk_bytes >= 0 &&
			    offset + sizeof(h) <= chunk_offset + (uint64_t)chunk_bytes;
		if (have) {
			memcpy(&h, log->scan_buf + (offset - chunk_offset), sizeof(h));
		}
		if (!have || h.magic != STORE_RECORD_MAGIC || h.index != at ||
		    h.payload_bytes > STORE_PAYLOAD_BYTES_MAX) {
			char name[STORE_FILE_NAME_BYTES];
			log_segment_name(seg->first_index, name, sizeof(name));
			snprintf(log->errmsg, sizeof(log->errmsg),
				 "%s/%s: offset %" PRIu64 ": bad record header while looking "
				 "for index %" PRIu64,
				 log->dir_path, name, offset, index);
			return chunk_bytes < 0 ? (int)chunk_bytes : -STORE_E_CORRUPT;
		}
		offset += store_record_bytes(h.payload_bytes);
	}
	log_find_hint(log, seg, index, offset);
	*offset_out = offset;
	return 0;
}

static int open_engine(struct store_log *log, char *errmsg, size_t errmsg_bytes)
{
	const struct store_config *cfg = &log->cfg;
	int rc = -STORE_E_CONFIG;
	struct store_engine_options opt = {
		.dir_path = cfg->dir_path,
		.direct = cfg->write_mode == STORE_WRITE_DIRECT,
		.quiet = cfg->quiet,
		.sq_entries = cfg->uring_entries,
		.sqe_async = cfg->uring_sqe_async,
	};
	switch (cfg->engine) {
	case STORE_ENGINE_PWRITE:
		rc = store_engine_pwrite_create(&opt, &log->engine);
		break;
	case STORE_ENGINE_URING:
		rc = store_engine_uring_create(&opt, &log->engine);
		break;
	case STORE_ENGINE_SIM:
		rc = cfg->sim == NULL ? -STORE_E_CONFIG
				      : store_engine_sim_create(cfg->sim, &log->engine);
		break;
	}
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "%s: starting the %s engine: %s", log->dir_path,
			 store_engine_name(cfg->engine), store_strerror(rc));
		return rc;
	}
	if (log->engine->ops->register_buffers != NULL) {
		void *bufs[2] = {log->groups[0].buf, log->groups[1].buf};
		log->engine->ops->register_buffers(log->engine, bufs, 2, log->group_buf_bytes);
	}
	log->align_bytes = log->engine->write_align_bytes;
	/* The staging buffers have the slack for it (open_buffers). */
	RN_ASSERT(log->align_bytes == 0 || log->align_bytes == STORE_DIRECT_ALIGN_BYTES);
	if (log->align_bytes != 0 && cfg->segment_bytes % log->align_bytes != 0) {
		snprintf(errmsg, errmsg_bytes, "%s: block-aligned writes need segment_bytes a "
			 "multiple of %u", log->dir_path, log->align_bytes);
		return -STORE_E_CONFIG;
	}
	log->stats.direct_writes = log->align_bytes != 0;
	log->stats.uring_setup_flags = log->engine->uring_setup_flags;
	log->stats.uring_fixed_files = log->engine->uring_fixed_files;
	log->stats.uring_fixed_buffers = log->engine->uring_fixed_buffers;
	return 0;
}

static int open_check_config(const struct store_config *cfg)
{
	if (cfg->segment_bytes < 4096 || cfg->segment_bytes % STORE_RECORD_ALIGN_BYTES != 0 ||
	    cfg->group_bytes_max < STORE_RECORD_HEADER_BYTES ||
	    cfg->group_bytes_max % STORE_RECORD_ALIGN_BYTES != 0 || cfg->segments_max < 1 ||
	    cfg->durability > STORE_DURABILITY_NONE || cfg->write_mode > STORE_WRITE_DIRECT ||
	    /* a padded block write must stay inside the segment */
	    (cfg->write_mode == STORE_WRITE_DIRECT && cfg->engine != STORE_ENGINE_SIM &&
	     cfg->segment_bytes % STORE_DIRECT_ALIGN_BYTES != 0) ||
	    cfg->uring_entries < 2 * STORE_GROUP_EXTENTS_MAX + 1 || /* a chain + a read */
	    (cfg->engine != STORE_ENGINE_SIM && cfg->dir_path == NULL)) {
		return -STORE_E_CONFIG;
	}
#ifndef STORE_PLANTED_BUGS
	if (cfg->planted_ack_unsynced) {
		return -STORE_E_CONFIG; /* the production library has no planted bugs */
	}
#endif
	return 0;
}

static int open_buffers(struct store_log *log)
{
	log->segments = calloc(log->cfg.segments_max, sizeof(*log->segments));
	if (log->segments == NULL) {
		return -ENOMEM;
	}
	/* 4 KiB-aligned and whole blocks (fixed buffers, O_DIRECT), with the
	 * slack the O_DIRECT layout needs when it is asked for. */
	uint64_t buf_bytes = (log->cfg.group_bytes_max + 4095ull) & ~4095ull;
	if (log->cfg.write_mode == STORE_WRITE_DIRECT || log->cfg.engine == STORE_ENGINE_SIM) {
		buf_bytes += LOG_ALIGN_SLACK_BYTES(STORE_DIRECT_ALIGN_BYTES);
	}
	if (buf_bytes > UINT32_MAX) {
		return -STORE_E_CONFIG;
	}
	log->group_buf_bytes = (uint32_t)buf_bytes;
	for (int i = 0; i < 2; i++) {
		log->groups[i].buf = aligned_alloc(4096, buf_bytes);
		if (log->groups[i].buf == NULL) {
			return -ENOMEM;
		}
	}
	log->tail_block = aligned_alloc(4096, STORE_DIRECT_ALIGN_BYTES);
	if (log->tail_block == NULL) {
		return -ENOMEM;
	}
	log->scan_buf = malloc(STORE_SCAN_BYTES);
	if (log->scan_buf == NULL) {
		return -ENOMEM;
	}
	log->inflight = -1;
	log->gathering = 0;
	return 0;
}

static void open_free(struct store_log *log)
{
	if (log->engine != NULL) {
		for (uint32_t i = 0; i < log->segments_count; i++) {
			log->engine->ops->close(log->engine, log->segments[i].file);
		}
		if (log->state_file >= 0) {
			log->engine->ops->close(log->engine, log->state_file);
		}
		log->engine->ops->destroy(log->engine);
	}
	free(log->scan_buf);
	free(log->tail_block);
	free(log->groups[0].buf);
	free(log->groups[1].buf);
	free(log->segments);
	free(log);
}

int store_open(const struct store_config *cfg, struct store_log **out, char *errmsg,
	       size_t errmsg_bytes)
{
	char scratch[8];
	if (errmsg == NULL) {
		errmsg = scratch;
		errmsg_bytes = sizeof(scratch);
	}
	errmsg[0] = '\0';
	RN_ASSERT(cfg != NULL);
	RN_ASSERT(out != NULL);
	*out = NULL;
	int rc = open_check_config(cfg);
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "invalid storage configuration");
		return rc;
	}
	struct store_log *log = calloc(1, sizeof(*log));
	if (log == NULL) {
		return -ENOMEM;
	}
	log->cfg = *cfg;
	log->state_file = -1;
	snprintf(log->dir_path, sizeof(log->dir_path), "%s",
		 cfg->engine == STORE_ENGINE_SIM ? "sim:" : cfg->dir_path);
	rc = open_buffers(log);
	if (rc == 0) {
		rc = open_engine(log, errmsg, errmsg_bytes);
	}
	if (rc == 0) {
		rc = state_open(log, errmsg, errmsg_bytes);
	}
	if (rc == 0) {
		rc = recover_segments(log, errmsg, errmsg_bytes);
	}
	if (rc == 0 && log->state_file < 0) {
		rc = state_create(log, errmsg, errmsg_bytes); /* a new log */
	}
	if (rc == 0) {
		rc = roll_open(log, errmsg, errmsg_bytes);
	}
	if (rc == 0) {
		rc = log_tail_load(log);
		if (rc != 0) {
			snprintf(errmsg, errmsg_bytes, "%s: reading the last segment's last block: %s",
				 log->dir_path, store_strerror(rc));
		}
	}
	if (rc != 0) {
		goto fail_log;
	}
	log->stats.segments_count = log->segments_count;
	if (cfg->durability == STORE_DURABILITY_NONE) {
		fprintf(stderr, "storage: WARNING: durability=none on %s: NOTHING IS SYNCED; "
				"\"durable\" only means written to the page cache. Benchmarks only.\n",
			log->dir_path);
	}
	*out = log;
	return 0;

fail_log:
	open_free(log);
	return rc;
}

void store_close(struct store_log *log)
{
	if (log == NULL) {
		return;
	}
	/* Wait for the write in flight so its buffer is not freed under the
	 * kernel, even on a failed log (a segment roll can fail while a write
	 * is in flight); staged appends are simply not written. */
	while (log->read_req != NULL) { /* the caller's buffer is the target */
		int64_t res = 0;
		if (log->engine->ops->read_poll(log->engine, true, &res) != 0) {
			log->read_req = NULL;
		}
	}
	while (log->inflight >= 0) {
		int res = 0;
		int n = log->engine->ops->poll(log->engine, true, &res);
		if (n < 0) {
			break;
		}
		if (n > 0) {
			log->inflight = -1;
		}
	}
	open_free(log);
}

raft_index store_first_index(const struct store_log *log)
{
	return log->compacted_index + 1;
}

raft_index store_last_index(const struct store_log *log)
{
	return log->last_index;
}

raft_term store_last_term(const struct store_log *log)
{
	return log->last_term;
}

raft_index store_durable_index(const struct store_log *log)
{
	return log->durable_index;
}

int store_wait_fd(const struct store_log *log)
{
	RN_ASSERT(log != NULL);
	return log->engine->wait_fd;
}

raft_index store_compacted_index(const struct store_log *log)
{
	return log->compacted_index;
}

void store_hard_state(const struct store_log *log, struct raft_hard_state *hs_out)
{
	*hs_out = log->hard_state;
}

void store_stats(const struct store_log *log, struct store_stats *out)
{
	*out = log->stats;
}

const char *store_errmsg(const struct store_log *log)
{
	return log->errmsg;
}

bool store_failed(const struct store_log *log)
{
	return log->failed_rc != 0;
}
