/* SPDX-License-Identifier: MIT */
/*
 * storage_util.h - helpers shared by the storage unit tests: scratch
 * directories, configurations with small segments, deterministic payloads,
 * append-and-flush and read-back-and-compare, and raw file editing for
 * planting damage. Each test binary compiles storage_util.c in, which also
 * routes RN_ASSERT failures to cmocka.
 */
#ifndef RN_TEST_STORAGE_UTIL_H
#define RN_TEST_STORAGE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage.h"

#define SU_PATH_BYTES 256u
#define SU_PAYLOAD_BYTES_MAX 4096u

/* A scratch directory under $TMPDIR (or /tmp), removed by su_rmtree. */
void su_tmpdir(char *out, size_t out_bytes);
void su_rmtree(const char *path);
/* Quiet config on `dir`, segment_bytes as given, small staging buffers. */
void su_config(struct store_config *cfg, const char *dir, enum store_engine_kind engine,
	       uint64_t segment_bytes);
/* Fills buf with bytes derived from (index, term). */
void su_payload(raft_index index, raft_term term, uint8_t *buf, uint32_t payload_bytes);
/* Appends [first, first + count) of `term` with payload_bytes each, batch
 * by batch, polling on back-pressure; then flushes. Asserts success. */
void su_append(struct store_log *log, raft_index first, uint32_t count, raft_term term,
	       uint32_t payload_bytes, uint32_t batch_count);
/* Reads [first, last] back and checks index, term (if term != 0) and
 * payload bytes; payload_bytes as appended. */
void su_verify(struct store_log *log, raft_index first, raft_index last, raft_term term,
	       uint32_t payload_bytes);
/* Opens or fails the test with the message. */
struct store_log *su_open(const struct store_config *cfg);
/* Is io_uring usable here? If not, *why says so. */
bool su_uring_available(const char **why);

/* Raw file helpers (whole-file read/write; path = dir + "/" + name). */
uint8_t *su_file_read(const char *dir, const char *name, size_t *bytes_out);
void su_file_write(const char *dir, const char *name, const void *buf, size_t bytes);
void su_segment_name(raft_index first_index, char *out, size_t out_bytes);
/* Byte offset of record `index` in a segment image (walks headers). */
uint64_t su_record_offset(const uint8_t *seg, size_t seg_bytes, raft_index index);

#endif
