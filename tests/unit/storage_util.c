/* SPDX-License-Identifier: MIT */
/*
 * storage_util.c - see storage_util.h.
 */
#define _GNU_SOURCE
#define RN_ASSERT_HOOK_OVERRIDE 1 /* rn_assert_fail reports to cmocka */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "storage_util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

void rn_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	(void)func;
	mock_assert(0, expr, file, line);
	abort(); /* mock_assert does not return on failure */
}

void su_tmpdir(char *out, size_t out_bytes)
{
	const char *base = getenv("TMPDIR");
	snprintf(out, out_bytes, "%s/raftnode-storage-XXXXXX", base != NULL ? base : "/tmp");
	assert_non_null(mkdtemp(out));
}

static int su_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void su_rmtree(const char *path)
{
	nftw(path, su_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void su_config(struct store_config *cfg, const char *dir, enum store_engine_kind engine,
	       uint64_t segment_bytes)
{
	store_config_default(cfg);
	cfg->dir_path = dir;
	cfg->engine = engine;
	cfg->segment_bytes = segment_bytes;
	cfg->group_bytes_max = 256u << 10;
	cfg->segments_max = 1024;
	cfg->quiet = true;
	cfg->space_reserve_bytes = 0; /* no test depends on the machine's free space */
	/* The library's default write mode (direct), or the one the test's
	 * environment names: meson runs each storage test with both. */
	const char *mode = getenv("RAFTNODE_STORE_WRITE");
	if (mode != NULL && strcmp(mode, "buffered") == 0) {
		cfg->write_mode = STORE_WRITE_BUFFERED;
	} else if (mode != NULL && strcmp(mode, "direct") == 0) {
		cfg->write_mode = STORE_WRITE_DIRECT;
	}
}

void su_payload(raft_index index, raft_term term, uint8_t *buf, uint32_t payload_bytes)
{
	uint64_t x = index * 0x9e3779b97f4a7c15ull ^ term;
	for (uint32_t i = 0; i < payload_bytes; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
}

void su_append(struct store_log *log, raft_index first, uint32_t count, raft_term term,
	       uint32_t payload_bytes, uint32_t batch_count)
{
	static uint8_t payloads[64][SU_PAYLOAD_BYTES_MAX];
	struct store_entry entries[64];
	assert_true(batch_count >= 1 && batch_count <= 64);
	assert_true(payload_bytes <= SU_PAYLOAD_BYTES_MAX);
	raft_index next = first;
	while (next < first + count) {
		uint32_t n = (uint32_t)rn_min_u64(batch_count, first + count - next);
		for (uint32_t i = 0; i < n; i++) {
			su_payload(next + i, term, payloads[i], payload_bytes);
			entries[i] = (struct store_entry){
				.index = next + i,
				.term = term,
				.payload = payloads[i],
				.payload_bytes = payload_bytes,
				.type = 1,
			};
		}
		int rc = store_append(log, entries, n);
		if (rc == -STORE_E_BUSY) {
			assert_true(store_poll(log, true) >= 0);
			continue;
		}
		assert_int_equal(rc, 0);
		next += n;
	}
	assert_int_equal(store_flush(log), 0);
	assert_int_equal(store_durable_index(log), first + count - 1);
}

void su_verify(struct store_log *log, raft_index first, raft_index last, raft_term term,
	       uint32_t payload_bytes)
{
	static uint8_t buf[1u << 20];
	static struct store_entry entries[512];
	uint8_t want[SU_PAYLOAD_BYTES_MAX];
	raft_index next = first;
	while (next <= last) {
		int n = store_read(log, next, buf, sizeof(buf), entries, RN_ARRAY_COUNT(entries));
		if (n < 0) {
			fail_msg("store_read(%" PRIu64 "): %s: %s", next, store_strerror(n),
				 store_errmsg(log));
		}
		for (int i = 0; i < n && next <= last; i++, next++) {
			assert_int_equal(entries[i].index, next);
			if (term != 0) {
				assert_int_equal(entries[i].term, term);
			}
			assert_int_equal(entries[i].payload_bytes, payload_bytes);
			su_payload(next, entries[i].term, want, payload_bytes);
			assert_memory_equal(entries[i].payload, want, payload_bytes);
		}
	}
}

struct store_log *su_open(const struct store_config *cfg)
{
	char errmsg[512];
	struct store_log *log = NULL;
	int rc = store_open(cfg, &log, errmsg, sizeof(errmsg));
	if (rc != 0) {
		fail_msg("store_open: %s: %s", store_strerror(rc), errmsg);
	}
	return log;
}

bool su_uring_available(const char **why)
{
	struct io_uring ring;
	int rc = io_uring_queue_init(8, &ring, 0);
	if (rc < 0) {
		*why = rc == -ENOSYS ? "io_uring not in this kernel (ENOSYS)"
		       : rc == -EPERM ? "io_uring disabled (EPERM: kernel.io_uring_disabled or seccomp)"
				      : "io_uring_queue_init failed";
		return false;
	}
	io_uring_queue_exit(&ring);
	return true;
}

uint8_t *su_file_read(const char *dir, const char *name, size_t *bytes_out)
{
	char path[SU_PATH_BYTES * 2];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	off_t bytes = lseek(fd, 0, SEEK_END);
	assert_true(bytes >= 0);
	uint8_t *buf = malloc((size_t)bytes + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)bytes, 0), bytes);
	close(fd);
	*bytes_out = (size_t)bytes;
	return buf;
}

void su_file_write(const char *dir, const char *name, const void *buf, size_t bytes)
{
	char path[SU_PATH_BYTES * 2];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, bytes, 0), (ssize_t)bytes);
	close(fd);
}

void su_segment_name(raft_index first_index, char *out, size_t out_bytes)
{
	snprintf(out, out_bytes, "log-%020" PRIu64 ".seg", first_index);
}

uint64_t su_record_offset(const uint8_t *seg, size_t seg_bytes, raft_index index)
{
	uint64_t offset = 0;
	for (;;) {
		struct store_record_header h;
		assert_true(offset + sizeof(h) <= seg_bytes);
		memcpy(&h, seg + offset, sizeof(h));
		assert_int_equal(h.magic, STORE_RECORD_MAGIC);
		if (h.index == index) {
			return offset;
		}
		offset += store_record_bytes(h.payload_bytes);
	}
}
