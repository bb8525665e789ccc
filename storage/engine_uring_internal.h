/* SPDX-License-Identifier: MIT */
/*
 * engine_uring_internal.h - the io_uring engine's state, shared by its two
 * files: engine_uring.c (groups and reads: submit, reap, complete) and
 * engine_uring_setup.c (the ring's setup, registered files and buffers,
 * open/close, the ops table). Nothing outside the engine includes it.
 */
#ifndef RN_STORAGE_ENGINE_URING_INTERNAL_H
#define RN_STORAGE_ENGINE_URING_INTERNAL_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "engine.h"

enum { URING_OP_WRITE = 1, URING_OP_SYNC = 2, URING_OP_READ = 3 };
_Static_assert(URING_OP_READ <= 0xff, "an op fits bits 0..7 of user_data");

/* Registered file slots, and the fds that can be mapped to one (fds are
 * small integers; a larger one just stays a plain fd). */
#define URING_FILE_SLOTS 1024u
#define URING_FD_MAP_MAX 4096
#define URING_BUFFERS_MAX 2u

_Static_assert(STORE_GROUP_EXTENTS_MAX <= 256, "extent slot fits 8 bits of user_data");

struct uring_engine {
	struct posix_engine posix;
	struct io_uring ring;
	/* The group in flight. */
	bool active;
	enum store_durability durability;
	uint32_t extents_count;
	struct store_extent extents[STORE_GROUP_EXTENTS_MAX];
	uint32_t done_bytes[STORE_GROUP_EXTENTS_MAX];
	/* Where each extent's write in flight started (its CQE's res counts
	 * from there): done_bytes, or with O_DIRECT the block it is in. */
	uint32_t from_bytes[STORE_GROUP_EXTENTS_MAX];
	/* Per extent that ends a run of one file: that file's sync is done. */
	bool synced[STORE_GROUP_EXTENTS_MAX];
	uint32_t outstanding; /* SQEs submitted whose CQE has not been seen */
	int error;	      /* first real error of the group, or 0 */
	bool quiet;
	bool sqe_async; /* IOSQE_ASYNC on group SQEs (benchmarks: the io-wq hop) */
	bool enabled; /* the ring was created disabled; see uring_submit_now */
	/* fd -> registered slot + 1 (0: not registered). */
	uint16_t fd_slot[URING_FD_MAP_MAX];
	bool slot_used[URING_FILE_SLOTS];
	uint32_t buffers_count;
	struct iovec buffers[URING_BUFFERS_MAX];
	/* The read in flight (one at a time, beside the group). */
	bool read_active;
	bool read_outstanding; /* its SQE's CQE not seen yet */
	int read_file;
	uint64_t read_offset;
	uint8_t *read_buf;
	uint64_t read_bytes;
	uint64_t read_done_bytes;
	int read_error;
	bool read_eof;
};

/* engine_uring.c: the group and read paths of the ops table. */
int uring_submit(struct store_engine *e, const struct store_extent *extents,
		 uint32_t count, enum store_durability durability);
int uring_poll(struct store_engine *e, bool wait, int *res_out);
int uring_read_submit(struct store_engine *e, int file, uint64_t offset, void *buf,
		      uint64_t bytes);
int uring_read_poll(struct store_engine *e, bool wait, int64_t *res_out);

#endif /* RN_STORAGE_ENGINE_URING_INTERNAL_H */
