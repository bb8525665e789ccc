/* SPDX-License-Identifier: MIT */
/*
 * storage.h - the public API of raftnode's durable Raft log.
 *
 * The log lives in one directory: preallocated segment files
 * "log-<first index, 20 decimal digits>.seg" (so `ls` order is log order and
 * the name says where the segment starts) and a two-slot state file "state"
 * holding the hard state (term, vote) and the compaction point. Every record
 * carries a CRC32C over its header and payload, its index, term, type and
 * payload length; records are 8-byte aligned.
 *
 * Appends are asynchronous and grouped ("group fsync"): while one durable
 * write is in flight, later appends gather in a second buffer, and one sync
 * covers that whole group when it goes out. There is no timer: at low load a
 * group holds one batch and leaves at once. Completions come out of
 * store_poll() through the on_durable callback as "durable up to index I of
 * term T".
 *
 * Errors are int: 0 ok, negative errno, or a negative enum store_error code;
 * store_strerror() names both, store_errmsg() says which file and offset.
 * A failed write or sync is fail-stop: every later call returns
 * -STORE_E_FAILED and nothing after the failure is reported durable.
 *
 * Threading: a log is owned by one thread (the log lcore). Nothing here is
 * thread-safe; nothing here allocates after store_open() returns.
 */
#ifndef RN_STORAGE_H
#define RN_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus.h" /* raft_index, raft_term, raft_node_id, raft_hard_state */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Record format (little-endian on disk) ----------------------------- */

#define STORE_RECORD_MAGIC 0x52474f4cu /* "LOGR" */
#define STORE_RECORD_HEADER_BYTES 32u
#define STORE_RECORD_ALIGN_BYTES 8u
/* Largest payload one record may carry (also bounded by the segment size). */
#define STORE_PAYLOAD_BYTES_MAX (16u << 20)

/*
 * Bytes 0..3   crc32c: CRC32C of every byte after it (header, payload, pad)
 * Bytes 4..7   magic: STORE_RECORD_MAGIC (lets recovery tell a record from
 *              zeroed preallocated space or torn garbage)
 * Bytes 8..15  index
 * Bytes 16..23 term
 * Bytes 24..27 payload_bytes
 * Byte  28     type (enum raft_entry_type)
 * Bytes 29..31 zero
 * The payload follows, then zero padding to the next multiple of 8.
 */
struct store_record_header {
	uint32_t crc32c;
	uint32_t magic;
	raft_index index;
	raft_term term;
	uint32_t payload_bytes;
	uint8_t type;
	uint8_t reserved[3];
};
/* The table above, checked (in C only: C++ in bench/ reads this header). */
#ifndef __cplusplus
_Static_assert(offsetof(struct store_record_header, crc32c) == 0, "bytes 0..3 crc32c");
_Static_assert(offsetof(struct store_record_header, magic) == 4, "bytes 4..7 magic");
_Static_assert(offsetof(struct store_record_header, index) == 8, "bytes 8..15 index");
_Static_assert(offsetof(struct store_record_header, term) == 16, "bytes 16..23 term");
_Static_assert(offsetof(struct store_record_header, payload_bytes) == 24, "bytes 24..27 length");
_Static_assert(offsetof(struct store_record_header, type) == 28, "byte 28 type");
_Static_assert(offsetof(struct store_record_header, reserved) == 29, "bytes 29..31 zero");
_Static_assert(sizeof(struct store_record_header) == STORE_RECORD_HEADER_BYTES,
	       "record header layout");
_Static_assert(STORE_RECORD_MAGIC == ('L' | 'O' << 8 | 'G' << 16 | (uint32_t)'R' << 24),
	       "the magic reads \"LOGR\" on disk");
_Static_assert(STORE_RECORD_ALIGN_BYTES == 8, "records are 8-byte aligned");
_Static_assert((STORE_RECORD_ALIGN_BYTES & (STORE_RECORD_ALIGN_BYTES - 1)) == 0,
	       "store_record_bytes rounds up with a mask: a power of two");
_Static_assert(STORE_RECORD_HEADER_BYTES % STORE_RECORD_ALIGN_BYTES == 0, "header alignment");
#endif

/* One entry as the log sees it. On append, payload points at the caller's
 * bytes (copied before store_append returns). On read, it points into the
 * caller's read buffer. */
struct store_entry {
	raft_index index;
	raft_term term;
	const void *payload;
	uint32_t payload_bytes;
	uint8_t type;
};

/* Bytes one record of payload_bytes takes on disk (header + payload + pad). */
static inline uint64_t store_record_bytes(uint32_t payload_bytes)
{
	uint64_t raw = (uint64_t)STORE_RECORD_HEADER_BYTES + payload_bytes;
	return (raw + STORE_RECORD_ALIGN_BYTES - 1) & ~(uint64_t)(STORE_RECORD_ALIGN_BYTES - 1);
}

/* CRC32C (Castagnoli). SSE4.2 crc32 instruction when the CPU has it,
 * a slicing table otherwise; store_crc32c_impl() says which one runs. */
uint32_t store_crc32c(uint32_t crc, const void *data, size_t data_bytes);
uint32_t store_crc32c_table(uint32_t crc, const void *data, size_t data_bytes);
const char *store_crc32c_impl(void);

/* Encodes one record into out (out_bytes >= store_record_bytes()). The CRC
 * is computed, written, and checked again by decoding the result.
 * Returns the bytes written, or a negative error. */
int64_t store_record_encode(const struct store_entry *entry, void *out, size_t out_bytes);
/* Decodes and validates the record at buf: magic, length within buf_bytes,
 * CRC. On success fills *entry (payload points into buf) and returns the
 * record's bytes on disk; on failure returns -STORE_E_CORRUPT. */
int64_t store_record_decode(const void *buf, size_t buf_bytes, struct store_entry *entry);

/* ---- Errors ------------------------------------------------------------ */

enum store_error {
	STORE_E_CORRUPT = 4096,	 /* damaged record that is not a torn tail */
	STORE_E_INDEX_GAP,	 /* records or segments do not follow on */
	STORE_E_TERM_BACKWARDS,	 /* a record's term is below its predecessor's */
	STORE_E_MISSING_SEGMENT, /* a segment the log needs is not there */
	STORE_E_SEGMENT_NAME,	 /* a log-*.seg name that does not parse */
	STORE_E_STATE_CORRUPT,	 /* both state-file slots damaged */
	STORE_E_FAILED,		 /* the log is fail-stopped after an I/O error */
	STORE_E_BUSY,		 /* staging is full: poll, then retry (back-pressure) */
	STORE_E_RANGE,		 /* index outside the log, or not last + 1 */
	STORE_E_COMPACTED,	 /* the requested entries were compacted away */
	STORE_E_CONFIG,		 /* invalid store_config */
	STORE_E_UNSUPPORTED,	 /* the kernel lacks a needed feature (io_uring) */
	/* Not enough free space for what was asked (a new segment, or
	 * store_space_check's bytes) beside the configured reserve. Nothing
	 * was changed and the log is NOT failed: retry once space returns. */
	STORE_E_NO_SPACE,
	STORE_E_END_,
};

/* Name of a return code: negative errno or -enum store_error. */
const char *store_strerror(int rc);

/* ---- Configuration ----------------------------------------------------- */

enum store_engine_kind {
	STORE_ENGINE_URING = 0,	 /* io_uring: the default */
	STORE_ENGINE_PWRITE = 1, /* pwritev + fdatasync, synchronous baseline */
	STORE_ENGINE_SIM = 2,	 /* in-memory simulated disk (struct store_sim) */
};

enum store_durability {
	STORE_DURABILITY_FSYNC = 0, /* write, then fdatasync per group */
	STORE_DURABILITY_DSYNC = 1, /* RWF_DSYNC writes, no separate sync (default) */
	STORE_DURABILITY_NONE = 2,  /* no sync at all: benchmarks only, loud */
};

/* How a group's bytes reach the disk (the real engines; the sim ignores it). */
enum store_write_mode {
	STORE_WRITE_BUFFERED = 0, /* through the page cache */
	/* O_DIRECT: whole 4 KiB blocks from the staging buffer, no page
	 * cache. A write that starts inside a block rewrites the block's
	 * earlier bytes (records already written: the same bytes again) and
	 * pads its end with the zeros already on disk, so the record format
	 * is unchanged. On ext4 an overwrite with O_DIRECT is issued inline by
	 * io_uring (a buffered write or an fsync is handed to an io-wq worker).
	 * A file system that refuses O_DIRECT (tmpfs) falls back to buffered,
	 * said on stderr and in store_stats.direct_writes. */
	STORE_WRITE_DIRECT = 1,
};
#define STORE_DIRECT_ALIGN_BYTES 4096u

struct store_sim;
struct store_read_req;

struct store_config {
	const char *dir_path; /* created if missing; ignored by the sim engine */
	enum store_engine_kind engine;
	enum store_durability durability;
	uint64_t segment_bytes;	    /* preallocated size of a segment file */
	uint32_t group_bytes_max;   /* capacity of each of the two staging buffers */
	uint32_t segments_max;	    /* bound on live segment files */
	uint32_t uring_entries;	    /* SQ size of the io_uring */
	struct store_sim *sim;	    /* STORE_ENGINE_SIM: the simulated disk */
	/* STORE_WRITE_DIRECT needs segment_bytes a multiple of
	 * STORE_DIRECT_ALIGN_BYTES. */
	enum store_write_mode write_mode;
	/* Benchmarks: IOSQE_ASYNC on every SQE of a group, i.e. always an
	 * io-wq worker (to measure what that hop costs). */
	bool uring_sqe_async;
	bool quiet;		    /* no informational log lines on stderr */
	/* Free space the log leaves on its file system: the next segment is
	 * prepared only while at least segment_bytes + this is free, and
	 * store_space_check() asks for this on top of its bytes. It is room
	 * for what the node writes besides the log (a snapshot, the state
	 * file is preallocated) and for the operator to act. */
	uint64_t space_reserve_bytes;
	/* Planted bug for the simulator's self-test: report durable at submit,
	 * before the sync. Honoured only by storage_planted_dep (built with
	 * STORE_PLANTED_BUGS); the production library refuses it. */
	bool planted_ack_unsynced;
	/* Called from store_poll() (and from calls that drain): every entry up
	 * to index, whose term is term, is durable. Indices only grow, except
	 * that store_truncate_suffix() lowers the durable index. */
	void (*on_durable)(void *user, raft_index index, raft_term term);
	void *on_durable_user;
	/* Called from store_poll() when a store_read_async() completed. */
	void (*on_read)(void *user, struct store_read_req *req);
	void *on_read_user;
};

#define STORE_SEGMENT_BYTES_DEFAULT (64ull << 20)
#define STORE_GROUP_BYTES_DEFAULT (4u << 20)
#define STORE_SEGMENTS_MAX_DEFAULT 4096u
#define STORE_URING_ENTRIES_DEFAULT 256u
#define STORE_SPACE_RESERVE_BYTES_DEFAULT (128ull << 20)

void store_config_default(struct store_config *cfg);
const char *store_engine_name(enum store_engine_kind engine);
const char *store_durability_name(enum store_durability durability);
const char *store_write_mode_name(enum store_write_mode mode);

/* ---- The log ----------------------------------------------------------- */

struct store_log;

struct store_stats {
	uint64_t groups_count;	   /* durable groups completed */
	uint64_t entries_count;	   /* entries in those groups */
	uint64_t bytes_count;	   /* record bytes in those groups */
	uint64_t torn_tail_bytes;  /* bytes cut off the tail at open */
	uint32_t segments_count;   /* live segment files */
	unsigned uring_setup_flags; /* IORING_SETUP_* the ring got (uring) */
	uint32_t uring_fixed_files;   /* registered file slots, 0 = plain fds */
	uint32_t uring_fixed_buffers; /* registered staging buffers, 0 = none */
	/* Segment rolls that found the next segment prepared (written with
	 * zeros, durable) ahead of need, and those that had to wait for or
	 * redo the preparation on the commit path. */
	uint64_t segments_prepared_ahead_count;
	uint64_t segments_prepared_late_count;
	uint64_t segment_prepare_failures_count; /* background preparations that failed */
	bool segment_next_ready; /* the next segment is prepared (as of the last poll) */
	bool direct_writes; /* groups are written with O_DIRECT (write_mode direct took) */
	/* Space (roll.c): the next segment is not prepared because the file
	 * system has less than segment_bytes + space_reserve_bytes free (or
	 * its preparation hit ENOSPC/EDQUOT). Appends still fill the active
	 * segment; one that needs a new segment gets -STORE_E_NO_SPACE until
	 * store_space_retry() finds the room. Also set when a batch that
	 * rolls more than once (tiny segments) finds no room for the later
	 * segments: space_need_bytes says for how many bytes it was short. */
	bool space_short;
	uint64_t space_need_bytes;	 /* the bytes (+ the reserve) it was short of */
	uint64_t space_free_bytes;	 /* free for unprivileged use, at the last check */
	uint64_t no_space_refusals_count; /* appends answered -STORE_E_NO_SPACE */
};

/*
 * Opens (creating if needed) and recovers the log. A torn record at the tail
 * of the last segment is cut off and logged; any other damage fails with
 * -STORE_E_CORRUPT / _INDEX_GAP / _TERM_BACKWARDS / _MISSING_SEGMENT /
 * _SEGMENT_NAME / _STATE_CORRUPT, and errmsg (if not NULL) names file and
 * offset. On failure *out is NULL.
 */
int store_open(const struct store_config *cfg, struct store_log **out, char *errmsg,
	       size_t errmsg_bytes);
/* Waits for the write in flight (not for staged ones), then frees. */
void store_close(struct store_log *log);

/*
 * Appends a batch. entries[0].index must be last_index + 1 and indices
 * consecutive; terms may not go down. Copies the records into the staging
 * buffer (no allocation) and, if no write is in flight, submits them.
 * Returns 0, -STORE_E_BUSY (staging full: poll and retry), -STORE_E_RANGE,
 * -STORE_E_FAILED, or -STORE_E_NO_SPACE (the batch needs a new segment and
 * the file system has no room for one beside the reserve: nothing of it
 * was taken, the log is not failed; a smaller batch may still fit the
 * active segment, and store_space_retry() says when to try again).
 */
int store_append(struct store_log *log, const struct store_entry *entries, uint32_t count);

/*
 * Reaps completions, reports them through on_durable (and on_read), and
 * submits the group that gathered meanwhile. With wait, blocks until at
 * least one completion if a write or a read is in flight. Returns the
 * completions (>= 0) or an error (a failed write: the log is fail-stopped).
 */
int store_poll(struct store_log *log, bool wait);
/* A file descriptor that becomes readable when a write or read in flight
 * completes (io_uring's eventfd), for a caller that sleeps in the kernel
 * until then; -1 when the engine completes inside store_poll's caller
 * (pwrite) and there is nothing to wait on; STORE_WAIT_FD_POLL when
 * completions come asynchronously with no fd to sleep on (the caller must
 * poll for them). */
#define STORE_WAIT_FD_POLL (-2)
int store_wait_fd(const struct store_log *log);
/* Polls until nothing is staged or in flight (reads included). */
int store_flush(struct store_log *log);

/*
 * Space. A log write never needs new blocks: every segment is written whole
 * with zeros before the log uses it (roll.c), so an append is an overwrite
 * of allocated blocks and cannot fail with ENOSPC (verified on a full ext4
 * with O_DIRECT and buffered writes); the state file is preallocated too.
 * Running out is handled where it can be refused cleanly: creating the
 * next segment (store_append returns -STORE_E_NO_SPACE, changing nothing)
 * and, through store_space_check, before writing a snapshot. A failed
 * write or sync stays fail-stop.
 */
/* 0 if the log's file system has bytes_needed + space_reserve_bytes free,
 * -STORE_E_NO_SPACE if not, or -errno (statvfs). For a writer about to
 * create a file there (a snapshot). The sim engine has unlimited space
 * unless store_sim_set_space_bytes() said otherwise. */
int store_space_check(struct store_log *log, uint64_t bytes_needed);
/* While store_stats.space_short: looks at the free space again and, if
 * what it was short of (space_need_bytes, at least a segment) and the
 * reserve fit now, clears it and starts preparing the next
 * segment. 0 (not short, or no longer), -STORE_E_NO_SPACE (still short) or
 * -errno. One statvfs: call it off the hot path (e.g. once a second). */
int store_space_retry(struct store_log *log);

/* Removes every entry >= from_index (a conflicting suffix). Drains first.
 * from_index must be > the compaction point. */
int store_truncate_suffix(struct store_log *log, raft_index from_index);
/* Records that entries <= up_to_index (of term up_to_term) are covered by a
 * snapshot, then deletes whole segments that hold only such entries. The
 * active (last) segment is never deleted. */
int store_compact(struct store_log *log, raft_index up_to_index, raft_term up_to_term);

/*
 * store_compact's first half, for a caller that deletes the files off the
 * log's thread: records the point durably as store_compact does, then
 * closes the segments wholly at or below it (at most firsts_max of them)
 * and takes them out of the log. Their first indices go to firsts_out;
 * returns how many (>= 0) or an error. The caller then unlinks each
 * store_segment_file_name(first) in the log's directory and syncs the
 * directory, from any thread (nothing of the log is touched); until then,
 * or after a crash part-way, they are files that open deletes. With
 * up_to_index at or below the point, only what an earlier bounded call
 * left goes.
 */
int store_compact_detach(struct store_log *log, raft_index up_to_index, raft_term up_to_term,
			 raft_index *firsts_out, uint32_t firsts_max);
/* The highest compaction point at or below up_to_index that frees whole
 * segments: the last index of the newest segment (never the active one)
 * wholly at or below it, its term in *term_out (from the log's index: no
 * read); 0 when no segment is. A point there costs no disk read for its
 * term (store_term_at reads a record header, from disk under O_DIRECT). */
raft_index store_compact_boundary(const struct store_log *log, raft_index up_to_index,
				  raft_term *term_out);
/* "log-<first_index, 20 digits>.seg". */
void store_segment_file_name(raft_index first_index, char *out, size_t out_bytes);

/* An EMPTY log continues after (index, term), as after a snapshot at index
 * (a new cluster started from one): compaction point and commit hint are
 * index, the hard state's term at least term. 0, -STORE_E_RANGE when the
 * log is not empty, or a write error. */
int store_start_at(struct store_log *log, raft_index index, raft_term term);

/* Installs a snapshot's point: the log drops every entry (whatever its
 * index) and continues after (index, term); compaction point and commit
 * hint are index. Durable when it returns; a crash part-way leaves a log
 * that opens as the reset one. 0 or a store error. */
int store_reset(struct store_log *log, raft_index index, raft_term term);

/*
 * Reads durable entries first_index.. (at most entries_max of them, and as
 * many as fit in buf_bytes) into buf; entries[i].payload points into buf.
 * Every record's CRC, index and term are checked again on the way in.
 * Returns the number of entries read (>= 1), or an error.
 */
int store_read(struct store_log *log, raft_index first_index, void *buf, size_t buf_bytes,
	       struct store_entry *entries, uint32_t entries_max);

/*
 * An asynchronous read of durable entries from first_index on (for a lagging
 * follower): the I/O goes through the engine while the caller goes on, and
 * cfg.on_read gets the request back from store_poll() with result set as
 * store_read() would return it. One read of one segment at a time: a range
 * that continues in the next segment takes another request. Finding where
 * first_index starts walks record headers synchronously unless the previous
 * read stopped there (the usual catch-up pattern).
 */
struct store_read_req {
	raft_index first_index;
	void *buf;
	size_t buf_bytes;
	struct store_entry *entries;
	uint32_t entries_max;
	int result; /* out: entries read (>= 1) or a negative error */
	void *user; /* the caller's */
};
/* 0 (started), -STORE_E_BUSY (a read is in flight), or the errors of
 * store_read(). buf and entries must stay valid until on_read. */
int store_read_async(struct store_log *log, struct store_read_req *req);
/* Sets cfg.on_read (and its user) of an open log, before any read
 * (the log's owner may be wired after store_open). */
void store_set_on_read(struct store_log *log, void (*on_read)(void *user, struct store_read_req *req),
		       void *user);

/*
 * The commit hint: a durable LOWER BOUND of the commit index, which Raft
 * does not persist. It lets a node whose log outgrew the core's window
 * restart from a tail: raft_create_from() requires every entry up to its
 * prev_index to be committed, and store_commit_hint() is such an index.
 * store_save_commit_hint(log, index) records that entries <= index are
 * committed (the caller's commit or applied index); it keeps the higher of
 * the old and new values, caps the new one at the durable index (an entry
 * still in flight could be lost), and writes and syncs a state slot, so
 * call it lazily (e.g. every few thousand applied entries): a stale, lower
 * hint is safe, only a higher one is not. From then on a truncation at or
 * below the hint is refused (fail-stop): committed entries are never cut.
 */
int store_save_commit_hint(struct store_log *log, raft_index committed_index);
/* 0 when none was saved; never above the recovered last index. */
raft_index store_commit_hint(const struct store_log *log);

/* Writes the hard state to the older state slot and syncs it: durable when
 * this returns 0. */
int store_save_hard_state(struct store_log *log, const struct raft_hard_state *hs);
void store_hard_state(const struct store_log *log, struct raft_hard_state *hs_out);

raft_index store_first_index(const struct store_log *log); /* first readable */
raft_index store_last_index(const struct store_log *log);  /* last appended */
raft_term store_last_term(const struct store_log *log);
raft_index store_durable_index(const struct store_log *log);
raft_index store_compacted_index(const struct store_log *log);
/* Term of a durable entry, or 0 if it is not in the log. */
raft_term store_term_at(struct store_log *log, raft_index index);
void store_stats(const struct store_log *log, struct store_stats *out);
/* Why the log failed (path, offset, error), or "" if it has not. */
const char *store_errmsg(const struct store_log *log);
bool store_failed(const struct store_log *log);

/* ---- The simulated disk (tests and raftsim) ----------------------------- */

/*
 * An in-memory disk shared by successive store_log instances (a "node" that
 * crashes and restarts opens a new log on the same store_sim). Everything is
 * seeded and deterministic. Writes land in a volatile image; a sync copies
 * the written ranges to the durable image. store_sim_crash() throws the
 * volatile image away except that the last unsynced write may survive as a
 * prefix cut at any byte (a torn write).
 *
 * Latency: a submitted group completes once the simulated clock has moved
 * latency_us past its submission (store_sim_advance_us); with latency 0 it
 * completes at the next poll.
 */
struct store_sim_config {
	uint64_t seed;
	uint64_t latency_us_min;
	uint64_t latency_us_max;
	/* Fail the N-th sync from now (1 = the next one) with -EIO; 0 = never. */
	uint64_t fail_sync_nth;
	/* Probability in parts per million that a crash tears the last write
	 * (otherwise it is dropped whole). */
	uint32_t tear_ppm;
	/* 0, or STORE_DIRECT_ALIGN_BYTES: the log lays its writes out in whole
	 * blocks as it does for O_DIRECT (block heads written again, ends
	 * padded), so raftsim tears that layout too. */
	uint32_t write_align_bytes;
};

int store_sim_create(const struct store_sim_config *cfg, struct store_sim **out);
void store_sim_destroy(struct store_sim *sim);
void store_sim_advance_us(struct store_sim *sim, uint64_t us);
uint64_t store_sim_now_us(const struct store_sim *sim);
/* When the group in flight completes (simulated clock), 0 if none: lets a
 * simulator schedule its next poll instead of polling on a cadence. */
uint64_t store_sim_ready_us(const struct store_sim *sim);
/* Arms a sync failure: the nth sync from now returns -EIO. */
void store_sim_fail_sync(struct store_sim *sim, uint64_t nth);
/* Segment preparation (the next segment written with zeros ahead of need):
 * with hold set, a preparation finishes only when the log waits for it (a
 * roll that finds the next segment not ready); fail_prepare makes the next
 * preparation fail with -EIO. A preparation that finishes is durable at
 * once (zeros, full size). */
void store_sim_hold_prepare(struct store_sim *sim, bool hold);
void store_sim_fail_prepare(struct store_sim *sim);
/* The simulated file system's free bytes (what store_space_check and the
 * segment preparation see): a preparation larger than that fails with
 * -ENOSPC. UINT64_MAX (the default): unlimited. */
void store_sim_set_space_bytes(struct store_sim *sim, uint64_t free_bytes);
/* Crash: volatile data is lost, the last unsynced write torn (see above).
 * Every log open on this disk must then be closed; it reports nothing more. */
void store_sim_crash(struct store_sim *sim);
/* Flips one bit of a file's durable and volatile images. */
int store_sim_flip_bit(struct store_sim *sim, const char *file_name, uint64_t byte_offset,
		       unsigned bit);
/* Bytes of a file (its volatile view), or a negative error. */
int64_t store_sim_file_bytes(const struct store_sim *sim, const char *file_name);

/* ---- Snapshots of the state machine (snapshot.c) ------------------------ */

/*
 * A snapshot file "snap-<index, 20 digits>.snap" in the log's directory
 * holds the state machine at one applied index as an opaque byte stream
 * (the node's state machine encodes and decodes it), framed so that any
 * damage is found before one byte of it is used:
 *
 *   header  4096 bytes: magic "RNSNAPSH", format version, struct
 *           store_snap_meta's fields (index, term, cluster id, the state
 *           machine's digest, counts and the kv limits it was taken with,
 *           a length-prefixed configuration blob), CRC32C of the header;
 *   blocks  each: magic "SBLK", data bytes (<= STORE_SNAP_BLOCK_BYTES),
 *           stream offset of its data, CRC32C of header fields and data;
 *   trailer magic "SEND", stream bytes, blocks count, the CRC32C of the
 *           whole stream, CRC32C of the trailer.
 *
 * Written crash-safe: "snap-<index>.tmp", written, fsynced, renamed, the
 * directory fsynced. A crash leaves either the old set of snapshots or the
 * old set plus the new one, and maybe a .tmp that store_snap_clean()
 * removes. The older snapshot a commit lets go is, by default, renamed to
 * "snap-spare.tmp" and the next snapshot written over it (snap_spare.c:
 * no discard, no allocation); it is never read as a snapshot. Integers are little-endian. The writer and reader are for one
 * thread each (the node's snapshot writer thread; start-up); they allocate
 * one block buffer when they open (off any hot path).
 */
#define STORE_SNAP_FORMAT_VERSION 1u
#define STORE_SNAP_HEADER_BYTES 4096u
#define STORE_SNAP_BLOCK_BYTES (1u << 20)
#define STORE_SNAP_CONFIG_BYTES_MAX 1024u
#define STORE_SNAPS_KEPT 2u /* the newest two stay; older ones are deleted */

struct store_snap_meta {
	uint32_t format_version; /* filled by store_snap_open */
	uint32_t cluster_id;
	raft_index index; /* the last entry the state covers (applied) */
	raft_term term;	  /* its term */
	uint64_t state_digest; /* the state machine's digest at index */
	uint64_t keys_count, sessions_count;
	/* The state machine's limits when it was taken: a node with smaller
	 * ones cannot hold it. */
	uint32_t kv_keys_max, kv_key_bytes_max, kv_value_bytes_max, kv_clients_max,
		kv_session_window;
	/* The cluster configuration the state covers, length-prefixed: today
	 * the member ids (4 bytes each); a later slice fills it from the log. */
	uint32_t config_bytes;
	uint8_t config[STORE_SNAP_CONFIG_BYTES_MAX];
};

struct store_snap_writer;
struct store_snap_reader;

/* The path of the snapshot of `index` in dir. */
void store_snap_path(const char *dir, raft_index index, char *out, size_t out_bytes);
/* Starts "snap-<meta->index>.tmp" in dir. 0 or -errno (errmsg: file). */
int store_snap_create(const char *dir, const struct store_snap_meta *meta,
		      struct store_snap_writer **out, char *errmsg, size_t errmsg_bytes);
/* The file goes to the device as it is written, not all at the commit's
 * fsync (which would queue the log's durable writes behind it): the
 * writeback of each sync_bytes is started at most bytes_per_s (0: no
 * limit), and at most two such chunks are dirty or in flight. 0 sync_bytes:
 * all at the fsync and older snapshots unlinked whole (the writer before
 * pacing). Crash safety is the commit's, unchanged. Default (not
 * called): STORE_SNAP_SYNC_BYTES_DEFAULT, no limit. Before the appends. */
#define STORE_SNAP_SYNC_BYTES_DEFAULT (1u << 20)
void store_snap_pace(struct store_snap_writer *w, uint64_t sync_bytes, uint64_t bytes_per_s);
/* The same writeback for any file written with buffered writes from
 * offset 0 on, in order (a follower's staged snapshot, snapxfer): after
 * each write of `bytes` more at the end, store_pace_wrote starts the
 * writeback of each whole sync_bytes behind, at most bytes_per_s (it
 * sleeps for that: threads off the lcores only), and waits for the chunk
 * before, so at most two are dirty or in flight. Pages written back are
 * dropped from the page cache unless STORE_PACE_KEEP_CACHE (a file read
 * again at once, as a staged file is for its checksum). It makes nothing
 * durable: the writer's fsync does. Fields: storage's (slept_ns may be
 * read). */
#define STORE_PACE_KEEP_CACHE 1u
struct store_pace {
	int fd;
	unsigned flags;
	uint64_t sync_bytes;	/* chunk started at a time; 0: none (the final fsync does all) */
	uint64_t bytes_per_s;	/* chunks started at this rate at most; 0: no limit */
	uint64_t written_bytes; /* of the file so far */
	uint64_t started_bytes; /* writeback started up to here */
	uint64_t waited_bytes;	/* on the device (written back) up to here */
	uint64_t next_ns;	/* CLOCK_MONOTONIC: the next chunk may start then */
	uint64_t slept_ns;	/* time spent waiting for the rate */
};
void store_pace_init(struct store_pace *p, int fd, uint64_t sync_bytes, uint64_t bytes_per_s,
		     unsigned flags);
/* 0, or -errno of a writeback (an I/O error: the file is not to be used). */
int store_pace_wrote(struct store_pace *p, uint64_t bytes);
/* Deletes path (a snapshot, a compacted segment) without one large
 * discard on the disk: the name first, then the file cut from its end
 * step_bytes at a time, each step's blocks freed by a journal commit of
 * its own, at most bytes_per_s (0: no pause). Blocks; for threads off the
 * lcores. 0, -ENOENT, or -errno of the unlink. */
#define STORE_UNLINK_STEP_BYTES (4u << 20)
int store_unlink_paced(const char *path, uint64_t step_bytes, uint64_t bytes_per_s);
/* The calling thread's I/O priority, for the I/O it submits itself (its
 * writes' writeback started by the pacing, its fsyncs): the block layer's
 * mq-deadline and bfq schedulers serve a lower class after the others (the
 * log's writes, default best-effort 4); none and kyber ignore it, and the
 * journal's and the discards' I/O, issued by the kernel's threads, keep
 * theirs. 0 or -errno. */
enum store_ioprio {
	STORE_IOPRIO_DEFAULT = 0, /* back to the process's (none: best effort 4) */
	STORE_IOPRIO_BE_LOW = 1, /* best effort, level 7 (the lowest) */
	STORE_IOPRIO_IDLE = 2,	 /* only when the disk is otherwise idle */
};
int store_thread_ioprio(enum store_ioprio prio);
/* The time w slept for its rate so far, in microseconds. */
uint64_t store_snap_paced_us(const struct store_snap_writer *w);
/* Appends bytes of the state stream. 0 or -errno. */
int store_snap_append(struct store_snap_writer *w, const void *bytes, size_t count);
/* Whether the commit keeps the older snapshot's file, instead of deleting
 * it, for the next snapshot to be written over (storage/snap_spare.c: no
 * discard of its blocks, no allocation of new ones). Default on; a writer
 * not paced (sync_bytes 0) deletes whole, as before pacing. A new writer
 * takes a kept file, if any, whatever this says. Before the commit. */
void store_snap_recycle(struct store_snap_writer *w, bool on);
/* When each step of w's commit ended (CLOCK_MONOTONIC ns; 0: not reached),
 * for the node's log line and snapwbbench, which class the log's writes by
 * the step a snapshot was in. */
struct store_snap_commit_times {
	uint64_t synced_ns;	/* the file's fsync */
	uint64_t renamed_ns;	/* rename and the directory's fsync */
	uint64_t pruned_ns;	/* older snapshots deleted, the directory synced */
};
/* Before the commit: it fills *out (which must outlive it). */
void store_snap_commit_times_to(struct store_snap_writer *w, struct store_snap_commit_times *out);
/* Trailer, fsync, rename, directory fsync, then deletes all but the
 * STORE_SNAPS_KEPT newest snapshots; frees w either way. 0 or -errno. */
int store_snap_commit(struct store_snap_writer *w, char *errmsg, size_t errmsg_bytes);
/* Removes the temporary file; frees w. */
void store_snap_abort(struct store_snap_writer *w);

/* Opens and verifies a whole snapshot file (header, every block, trailer,
 * the stream's CRC) before returning, so that nothing of a damaged file is
 * used: -STORE_E_CORRUPT with the file and offset in errmsg, -errno. */
int store_snap_open(const char *path, struct store_snap_meta *meta,
		    struct store_snap_reader **out, char *errmsg, size_t errmsg_bytes);
/* Reads exactly count bytes of the stream: 0, or -STORE_E_CORRUPT past
 * its end, -errno. */
int store_snap_read(struct store_snap_reader *r, void *buf, size_t count);
/* Bytes of the stream not read yet. */
uint64_t store_snap_remaining(const struct store_snap_reader *r);
void store_snap_close(struct store_snap_reader *r);

/* The indices of the snapshot files in dir, newest first (at most max).
 * Returns how many, or -errno. */
int store_snap_list(const char *dir, raft_index *indices, uint32_t max);
/* Before a snapshot is written (any thread: statvfs, no log state): 0 if
 * dir's file system has bytes_needed + reserve_bytes free, -ENOSPC if not
 * (errmsg says how much is free and what was needed), -errno. */
int store_snap_space_check(const char *dir, uint64_t bytes_needed, uint64_t reserve_bytes,
			   char *errmsg, size_t errmsg_bytes);
/* The size of dir's spare (the older snapshot's file kept for the next
 * one to be written over, store_snap_recycle), 0 if none: the next
 * snapshot needs that much less free space. */
uint64_t store_snap_spare_bytes(const char *dir);
/* Removes temporary files a crash left in dir; returns how many, or -errno. */
int store_snap_clean(const char *dir);


/* ---- Crash points (tests only, crash.c) --------------------------------- */

/*
 * A named step at which a test can kill the node (SIGKILL, after the line
 * "raftnode N: crash point NAME (hit K): SIGKILL" on stderr): environment
 * RAFTNODE_CRASH_AT=NAME[:K], the K-th time (default the first) the step
 * is reached. The one list of them (tests/integration/test_o_crash_points.sh
 * drives each; README "Crash points"):
 *
 * Snapshot write (storage/snapshot.c, the snapshot writer thread):
 *   snap-partial      the temporary file partly written (a block's head
 *                     written, its data not; no trailer)
 *   snap-synced       the temporary file whole and fsynced, not renamed
 *   snap-renamed      renamed to snap-<index>.snap, the directory not synced
 *   snap-prune        the first older snapshot deleted, the rest and the
 *                     directory sync not done
 * Compaction (the log stage hands it to its maintenance thread):
 *   compact-state     the new compaction point durable in the state file,
 *                     no segment deleted yet
 *   compact-segment   the first of the segments to go deleted, the others
 *                     still there
 *   compact-unlinked  every segment deleted, the directory not synced
 * Install on a follower:
 *   install-staged    the staged file whole and verified, not renamed
 *   install-renamed   renamed and the directory synced, the log not reset
 *   reset-truncated   store_reset step 1: the log's suffix above the
 *                     snapshot cut (if there was one)
 *   reset-state       step 2: the state file names the new point, the old
 *                     segments still there
 *   reset-segment     step 3: the first old segment deleted
 *   reset-done        step 3 done, the directory synced
 *   install-load      the log reset, the apply stage not yet loaded
 *   install-loaded    the apply stage loaded the state, the install not
 *                     yet reported (RAFT_EVENT_SNAPSHOT_INSTALLED)
 * The log:
 *   segment-create    a new segment's file prepared, not yet renamed to
 *                     its log-<index>.seg name
 *   segment-renamed   renamed, the directory not synced
 */
#define STORE_CRASH_POINTS                                                                   \
	"snap-partial", "snap-synced", "snap-renamed", "snap-prune", "compact-state",       \
		"compact-segment", "compact-unlinked", "install-staged", "install-renamed", \
		"reset-truncated", "reset-state", "reset-segment", "reset-done",            \
		"install-load", "install-loaded", "segment-create", "segment-renamed"
/* Arms the point spec names ("NAME" or "NAME:K"; NULL or "" arms none),
 * self naming the node in the line. At start, before any thread. 0, or
 * -EINVAL for an unknown name or count (errmsg lists the points). */
int store_crash_arm(const char *spec, uint32_t self, char *errmsg, size_t errmsg_bytes);
bool store_crash_armed(void);
/* At step `point`: SIGKILL if it is the armed one's K-th hit. One branch
 * on a false flag when none is armed. */
void store_crash_point(const char *point);

#ifdef __cplusplus
}
#endif

#endif /* RN_STORAGE_H */
