/* SPDX-License-Identifier: MIT */
/*
 * log_internal.h - internal: the log object shared by open/recovery
 * (recover.c), the append path (log.c), the state file (state.c) and the
 * maintenance operations (maint.c). All memory it points to is allocated in
 * store_open().
 */
#ifndef RN_STORAGE_LOG_INTERNAL_H
#define RN_STORAGE_LOG_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "storage.h"

#define STORE_STATE_FILE_NAME "state"
/* The next segment, prepared ahead of need (roll.c); renamed to
 * log-<first index>.seg by the roll that uses it. Not a log-*.seg name, so
 * recovery never reads it; open deletes a leftover one. */
#define STORE_SPARE_FILE_NAME "segment-next.tmp"
/* Each state slot sits in its own 4 KiB block so that a torn write of one
 * slot cannot touch the other. */
#define STORE_STATE_SLOT_BYTES 4096u
#define STORE_STATE_SLOTS_COUNT 2u
#define STORE_ERRMSG_BYTES 512u
/* Bytes read at a time when walking record headers to find an index. */
#define STORE_SCAN_BYTES (64u << 10)

/* A segment file "log-<first_index>.seg". Empty when last_index ==
 * first_index - 1. */
struct store_segment {
	raft_index first_index;
	raft_index last_index;
	raft_term last_term;  /* term of last_index (meaningless when empty) */
	uint64_t end_offset;  /* bytes of valid records; the next append goes here */
	int file;
};

/* One staging buffer: a group of records waiting for, or in, one write. */
struct store_group {
	uint8_t *buf;
	uint32_t used_bytes;   /* of buf: records, and with O_DIRECT block heads and gaps */
	uint32_t record_bytes; /* of the records alone (what group_bytes_max bounds) */
	uint32_t entries_count;
	uint32_t extents_count;
	struct store_extent extents[STORE_GROUP_EXTENTS_MAX];
	raft_index extent_segment_first[STORE_GROUP_EXTENTS_MAX]; /* for messages */
	raft_index last_index;
	raft_term last_term;
};

struct store_log {
	struct store_config cfg;
	char dir_path[256];
	struct store_engine *engine;

	struct store_segment *segments; /* [segments_max], oldest first */
	uint32_t segments_count;

	/* Group fsync: groups[inflight] is being written (if inflight >= 0),
	 * groups[gathering] collects new appends. */
	struct store_group groups[2];
	uint32_t group_buf_bytes; /* allocated bytes of each staging buffer */
	int inflight;
	int gathering;
	bool in_callback; /* appends from on_durable wait to be submitted together */

	/* O_DIRECT layout (log.c): 0, or the engine's write_align_bytes. Then
	 * tail_block holds the active segment's bytes from tail_offset (a
	 * block start) to its end_offset, as written: a group that starts
	 * inside that block writes them again ahead of its records. */
	uint32_t align_bytes;
	uint8_t *tail_block;
	uint64_t tail_offset;
	raft_index tail_segment_first;

	raft_index last_index; /* appended (staged or written) */
	raft_term last_term;
	raft_index durable_index;
	raft_term durable_term;
	raft_index compacted_index;
	raft_term compacted_term;
	raft_index commit_hint; /* entries <= it are committed (state file) */

	struct raft_hard_state hard_state;
	uint64_t state_seq; /* sequence number of the newest valid slot */
	int state_file;

	/* Where the last find or read stopped: index hint_index starts at
	 * hint_offset in the segment whose first index is hint_segment_first.
	 * Cleared by truncation (records after it may move). */
	raft_index hint_segment_first;
	raft_index hint_index;
	uint64_t hint_offset;
	uint8_t *scan_buf; /* STORE_SCAN_BYTES, for header walks */

	/* The asynchronous read in flight, if any. */
	struct store_read_req *read_req;
	raft_index read_segment_first;
	uint64_t read_offset;
	raft_index read_last_index; /* decode no further: durable at submit */

	/* The next segment (roll.c): a preparation is in flight, or done
	 * and durable under STORE_SPARE_FILE_NAME. */
	bool spare_pending;
	bool spare_ready;
	bool roll_waited; /* roll_reserve waited for the spare: the roll is late */

	int failed_rc; /* 0, or the I/O error that fail-stopped the log */
	char errmsg[STORE_ERRMSG_BYTES];
	struct store_stats stats;
};

void log_segment_name(raft_index first_index, char *out, size_t out_bytes);
/* Records the first failure (fail-stop) and its message; returns
 * -STORE_E_FAILED. */
int log_fail(struct store_log *log, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* roll.c: creates the segment starting at first_index from the prepared
 * spare (preparing it now if it is not ready, counted) and makes its name
 * durable; appends it to segments[]; starts preparing the one after.
 * Fail-stop on error. */
int log_segment_create(struct store_log *log, raft_index first_index);
/* roll.c, before a batch is staged: the segments its `rolls` need can be
 * had (the spare waited for if it is being prepared), or
 * -STORE_E_NO_SPACE with nothing changed. */
int roll_reserve(struct store_log *log, uint32_t rolls);
/* roll.c: starts preparing the next segment if there is an active one and
 * no next one is prepared or in preparation. At a roll and at open only: a
 * failed background preparation is retried by the next roll, not in a loop. */
void roll_prepare_if_due(struct store_log *log);
/* roll.c: takes a finished preparation's result, without waiting (one
 * atomic load while it runs). From store_poll. */
void roll_poll(struct store_log *log);
/* roll.c, at open: removes a leftover spare; for a log with no segment,
 * prepares the first one synchronously. */
int roll_open(struct store_log *log, char *errmsg, size_t errmsg_bytes);
/* Finds the byte offset of `index` in segment seg by walking its headers. */
int log_segment_find(struct store_log *log, const struct store_segment *seg, raft_index index,
		     uint64_t *offset_out);
/* Remembers that index starts at offset in seg. */
void log_find_hint(struct store_log *log, const struct store_segment *seg, raft_index index,
		   uint64_t offset);
/* Segment holding index, or NULL. */
struct store_segment *log_segment_of(struct store_log *log, raft_index index);

/* Completes the read in flight if its I/O is done (waiting if wait):
 * decodes, checks, calls on_read. Returns 1 if it completed, else 0. */
int log_read_poll(struct store_log *log, bool wait);
/* Submits the gathering group if nothing is in flight. */
int log_submit_if_idle(struct store_log *log);
/* O_DIRECT layout: reads the active segment's last partial block into
 * tail_block (after recovery and after a truncation moved the end). */
int log_tail_load(struct store_log *log);
/* Slack each staging buffer has beyond group_bytes_max for the O_DIRECT
 * layout: per extent, the gap to a block start, the block's head and the
 * end's padding. */
#define LOG_ALIGN_SLACK_BYTES(align) (3u * STORE_GROUP_EXTENTS_MAX * (align))

/* Reads the state file; leaves state_file -1 if there is none. */
int state_open(struct store_log *log, char *errmsg, size_t errmsg_bytes);
/* Creates, preallocates and syncs a blank state file. */
int state_create(struct store_log *log, char *errmsg, size_t errmsg_bytes);
int state_write(struct store_log *log, const struct raft_hard_state *hs,
		raft_index compacted_index, raft_term compacted_term, raft_index commit_hint);

int recover_segments(struct store_log *log, char *errmsg, size_t errmsg_bytes);

#endif /* RN_STORAGE_LOG_INTERNAL_H */
