/* SPDX-License-Identifier: MIT */
/*
 * engine.h - internal: the I/O engine interface under the log. One struct of
 * function pointers, so the log's logic (records, segments, recovery, group
 * fsync) is the same code on io_uring, on plain pwrite and on the simulated
 * disk. An engine owns one directory; files are small integer handles.
 *
 * Two kinds of operation:
 *  - synchronous file operations (open, list, allocate, truncate, read,
 *    write_sync, sync), used at open, on roll, truncate, compact and for the
 *    hard state - rare, and each must be durable before the caller goes on;
 *  - one asynchronous "group": a list of extents written and then made
 *    durable as the durability mode says, completing as one unit through
 *    poll(). The log keeps at most one group in flight (that is what makes
 *    the next one gather), so an engine needs no queue of groups;
 *  - one asynchronous read (read_submit / read_poll), for a lagging
 *    follower, which may be in flight at the same time as the group.
 */
#ifndef RN_STORAGE_ENGINE_H
#define RN_STORAGE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "storage.h"

/* Extents one group may touch: a group spans a segment roll at most a few
 * times (tiny segments in tests); reaching it is back-pressure. */
#define STORE_GROUP_EXTENTS_MAX 16u
#define STORE_FILE_NAME_BYTES 64u

struct store_extent {
	int file;
	uint64_t file_offset;
	const void *buf;
	uint32_t bytes;
};

struct store_engine;

struct store_engine_ops {
	/* Opens name in the engine's directory; create makes it if missing
	 * (not yet durable: callers sync_dir). -ENOENT if missing. */
	int (*open)(struct store_engine *e, const char *name, bool create, int *file_out);
	void (*close)(struct store_engine *e, int file);
	int (*unlink)(struct store_engine *e, const char *name);
	/* Calls fn for each regular file name; stops at fn's first error. */
	int (*list)(struct store_engine *e, int (*fn)(void *user, const char *name), void *user);
	int (*sync_dir)(struct store_engine *e);
	int (*file_bytes)(struct store_engine *e, int file, uint64_t *bytes_out);
	/* Makes the file at least `bytes` long, zero-filled and allocated. */
	int (*allocate)(struct store_engine *e, int file, uint64_t bytes);
	int (*truncate)(struct store_engine *e, int file, uint64_t bytes);
	/* Reads up to `bytes`; returns bytes read (short only at end of file). */
	int64_t (*read)(struct store_engine *e, int file, uint64_t offset, void *buf,
			uint64_t bytes);
	/* Writes all bytes and makes them durable before returning. */
	int (*write_sync)(struct store_engine *e, int file, uint64_t offset, const void *buf,
			  uint64_t bytes);
	/* Makes data and metadata (size, allocation) durable. */
	int (*sync)(struct store_engine *e, int file);
	/* Starts one group. Extents to the same file are in file order. */
	int (*submit)(struct store_engine *e, const struct store_extent *extents, uint32_t count,
		      enum store_durability durability);
	/* Returns 1 and the group's result (0 or -errno) when the group in
	 * flight completed, 0 if it has not (after waiting, if wait). */
	int (*poll)(struct store_engine *e, bool wait, int *res_out);
	void (*destroy)(struct store_engine *e);
	/* Optional (NULL when the engine has no use for it): the staging
	 * buffers every extent will point into, registered once at open.
	 * Failure is not an error: the engine logs it and goes on without. */
	void (*register_buffers)(struct store_engine *e, void *const *bufs, uint32_t count,
				 uint32_t buf_bytes);
	/* One asynchronous read at a time, next to the group: starts reading
	 * `bytes` at `offset` (short only at end of file). */
	int (*read_submit)(struct store_engine *e, int file, uint64_t offset, void *buf,
			   uint64_t bytes);
	/* Returns 1 and the bytes read (or -errno) when the read completed, 0
	 * if it has not (after waiting, if wait). */
	int (*read_poll)(struct store_engine *e, bool wait, int64_t *res_out);
	/* Renames a file in the directory (replacing `to`); durable after
	 * sync_dir. */
	int (*rename)(struct store_engine *e, const char *from, const char *to);
	/* One segment preparation at a time, off the log's thread or
	 * simulated: (re)creates `name` as `bytes` of zeros, written (not
	 * fallocate'd: no unwritten extents left to convert) and durable
	 * (data and size; the directory entry is the caller's sync_dir). */
	int (*prepare_submit)(struct store_engine *e, const char *name, uint64_t bytes);
	/* Returns 1 and the result (0 or -errno) when the preparation
	 * submitted finished, 0 if not yet (after waiting, if wait).
	 * active_fill_bytes: how far the log has filled the segment in use,
	 * which paces the zeros (engine_prepare.c); a wait lifts the pace. */
	int (*prepare_poll)(struct store_engine *e, bool wait, uint64_t active_fill_bytes,
			    int *res_out);
	/* Bytes free for unprivileged use on the directory's file system
	 * (statvfs f_bavail x f_frsize). 0 or -errno. */
	int (*space_free)(struct store_engine *e, uint64_t *bytes_out);
};

struct store_engine {
	const struct store_engine_ops *ops;
	/* An eventfd the engine's completions signal (io_uring's registered
	 * eventfd), -1 when completions need no waiting on (pwrite: done
	 * inside submit; sim: simulated time), STORE_WAIT_FD_POLL when they
	 * come asynchronously with no fd (uring without its eventfd). */
	int wait_fd;
	unsigned uring_setup_flags;  /* what the ring got; 0 for other engines */
	uint32_t uring_fixed_files;  /* registered file slots (0: plain fds) */
	uint32_t uring_fixed_buffers; /* registered buffers (0: plain writes) */
	/* 0: a group's extents may start and end anywhere; else (O_DIRECT)
	 * every extent's file offset, length and buffer address are multiples
	 * of it, which the log's staging layout provides (log.c). */
	uint32_t write_align_bytes;
};

/* What store_open asks of a real engine. */
struct store_engine_options {
	const char *dir_path;
	bool direct;	    /* O_DIRECT group writes, if the file system takes them */
	bool quiet;	    /* no informational lines on stderr */
	uint32_t sq_entries; /* uring: SQ size */
	bool sqe_async;	    /* uring: IOSQE_ASYNC on group SQEs (benchmarks) */
};

int store_engine_pwrite_create(const struct store_engine_options *opt,
			       struct store_engine **out);
int store_engine_uring_create(const struct store_engine_options *opt, struct store_engine **out);
int store_engine_sim_create(struct store_sim *sim, struct store_engine **out);

/* Shared by the pwrite and uring engines (engine_posix.c). */
struct posix_prepare; /* engine_prepare.c */
/* Files whose O_DIRECT twin can be found by fd (fds are small integers;
 * a file with a larger fd is opened without a twin: buffered writes). */
#define POSIX_FD_MAP_MAX 4096
struct posix_engine {
	struct store_engine base;
	int dir_fd;
	struct posix_prepare *prepare; /* the helper thread writing segments */
	bool direct;		       /* the probe at init took O_DIRECT */
	/* fd -> its O_DIRECT twin + 1 (0: none). A file is opened twice in
	 * direct mode: group writes go through the twin, everything else
	 * (reads at any offset, write_sync, truncate) through the plain fd. */
	int direct_fd[POSIX_FD_MAP_MAX];
};
/* Opens the directory; with opt->direct, probes O_DIRECT there (a 4 KiB
 * write to a scratch file) and falls back to buffered, saying so. */
int posix_engine_init(struct posix_engine *pe, const struct store_engine_options *opt);
/* The fd group writes to `file` go through: its O_DIRECT twin, or itself. */
int posix_write_fd(const struct posix_engine *pe, int file);
void posix_engine_fini(struct posix_engine *pe);
int posix_open(struct store_engine *e, const char *name, bool create, int *file_out);
void posix_close(struct store_engine *e, int file);
int posix_unlink(struct store_engine *e, const char *name);
int posix_list(struct store_engine *e, int (*fn)(void *user, const char *name), void *user);
int posix_sync_dir(struct store_engine *e);
int posix_file_bytes(struct store_engine *e, int file, uint64_t *bytes_out);
int posix_allocate(struct store_engine *e, int file, uint64_t bytes);
int posix_truncate(struct store_engine *e, int file, uint64_t bytes);
int64_t posix_read(struct store_engine *e, int file, uint64_t offset, void *buf, uint64_t bytes);
int posix_write_sync(struct store_engine *e, int file, uint64_t offset, const void *buf,
		     uint64_t bytes);
int posix_sync(struct store_engine *e, int file);
/* engine_prepare.c: the helper thread, started and stopped with the engine. */
int posix_prepare_start(struct posix_engine *pe);
void posix_prepare_stop(struct posix_engine *pe);
int posix_prepare_submit(struct store_engine *e, const char *name, uint64_t bytes);
int posix_prepare_poll(struct store_engine *e, bool wait, uint64_t active_fill_bytes,
		       int *res_out);
int posix_rename(struct store_engine *e, const char *from, const char *to);
int posix_space_free(struct store_engine *e, uint64_t *bytes_out);
#define POSIX_ENGINE_FILE_OPS                                                                \
	.open = posix_open, .close = posix_close, .unlink = posix_unlink, .list = posix_list, \
	.sync_dir = posix_sync_dir, .file_bytes = posix_file_bytes,                          \
	.allocate = posix_allocate, .truncate = posix_truncate, .read = posix_read,          \
	.write_sync = posix_write_sync, .sync = posix_sync, .rename = posix_rename,         \
	.prepare_submit = posix_prepare_submit, .prepare_poll = posix_prepare_poll,         \
	.space_free = posix_space_free
/* pwrite-all at offset (retries short writes; with align_bytes, an O_DIRECT
 * fd, from the start of the block a short write stopped in); 0 or -errno. */
int posix_pwrite_all(int fd, const void *buf, uint64_t bytes, uint64_t offset, int rwf_flags,
		     uint32_t align_bytes);

#endif /* RN_STORAGE_ENGINE_H */
