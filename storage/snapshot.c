/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c - snapshot files of the state machine: the framing, the
 * crash-safe write, the verified read, and the directory's housekeeping
 * (storage.h gives the layout). The stream inside is the state machine's
 * own encoding; this file only guarantees that what is read back is
 * exactly what was written at one index, or is refused with the file and
 * the offset.
 *
 * Runs on the node's snapshot writer thread (writing) and at start-up
 * (reading, listing, cleaning): plain blocking system calls, off every
 * lcore. Each writer or reader allocates one block buffer when it opens:
 * once per snapshot, never on the commit path; a failed allocation is a
 * snapshot not taken (said, and retried), not a crash.
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common.h"
#include "snap_pace.h"
#include "storage.h"

#define SNAP_MAGIC "RNSNAPSH"
#define SNAP_BLOCK_MAGIC 0x4b4c4253u   /* "SBLK" */
#define SNAP_TRAILER_MAGIC 0x444e4553u /* "SEND" */
#define SNAP_BLOCK_HEAD_BYTES 20u      /* magic, data bytes, offset, crc */
#define SNAP_TRAILER_BYTES 28u	       /* magic, stream bytes, blocks, stream crc, crc */
#define SNAP_LIST_MAX 4096u	       /* snapshot files looked at in one directory */

struct store_snap_writer {
	int fd;
	int dir_fd;
	char tmp_path[512];
	char path[512];
	char dir[256];
	uint8_t *block; /* data of the block being filled */
	uint32_t block_used;
	uint64_t stream_bytes;
	uint64_t blocks_count;
	uint32_t stream_crc;
	struct store_pace pace; /* the file's writeback as it is written (snap_pace.h) */
	struct store_snap_commit_times *times; /* NULL: not asked */
	bool recycle;		/* the older file kept as the spare (snap_spare.c) */
	uint64_t reused_bytes;	/* the spare's size when it became this file; 0: a new file */
};

struct store_snap_reader {
	int fd;
	char path[512];
	uint8_t *block;
	uint32_t block_bytes, block_pos;
	uint64_t file_offset; /* of the next block head */
	uint64_t stream_bytes, stream_read;
};

/* ---- little-endian fields ------------------------------------------------ */

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--) {
		v = v << 8 | p[i];
	}
	return v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--) {
		v = v << 8 | p[i];
	}
	return v;
}

/* The header: magic at 0, then the fields from 8, the config blob at 128,
 * the CRC32C of bytes 0..4091 in the last 4 bytes. */
#define SNAP_HDR_CONFIG_AT 128u
_Static_assert(SNAP_HDR_CONFIG_AT + STORE_SNAP_CONFIG_BYTES_MAX + 4 <= STORE_SNAP_HEADER_BYTES,
	       "the configuration blob fits the header");

static void snap_header_encode(const struct store_snap_meta *m, uint8_t *h)
{
	memset(h, 0, STORE_SNAP_HEADER_BYTES);
	memcpy(h, SNAP_MAGIC, 8);
	put_u32(h + 8, STORE_SNAP_FORMAT_VERSION);
	put_u32(h + 12, m->cluster_id);
	put_u64(h + 16, m->index);
	put_u64(h + 24, m->term);
	put_u64(h + 32, m->state_digest);
	put_u64(h + 40, m->keys_count);
	put_u64(h + 48, m->sessions_count);
	put_u32(h + 56, m->kv_keys_max);
	put_u32(h + 60, m->kv_key_bytes_max);
	put_u32(h + 64, m->kv_value_bytes_max);
	put_u32(h + 68, m->kv_clients_max);
	put_u32(h + 72, m->kv_session_window);
	put_u32(h + 76, m->config_bytes);
	RN_ASSERT(m->config_bytes <= STORE_SNAP_CONFIG_BYTES_MAX);
	memcpy(h + SNAP_HDR_CONFIG_AT, m->config, m->config_bytes);
	put_u32(h + STORE_SNAP_HEADER_BYTES - 4, store_crc32c(0, h, STORE_SNAP_HEADER_BYTES - 4));
}

/* Validates (untrusted bytes: never asserted). */
static int snap_header_decode(const uint8_t *h, struct store_snap_meta *m, const char *path,
			      char *errmsg, size_t errmsg_bytes)
{
	if (memcmp(h, SNAP_MAGIC, 8) != 0) {
		snprintf(errmsg, errmsg_bytes, "%s: offset 0: not a snapshot file (bad magic)", path);
		return -STORE_E_CORRUPT;
	}
	if (get_u32(h + STORE_SNAP_HEADER_BYTES - 4) !=
	    store_crc32c(0, h, STORE_SNAP_HEADER_BYTES - 4)) {
		snprintf(errmsg, errmsg_bytes, "%s: offset 0: header checksum mismatch", path);
		return -STORE_E_CORRUPT;
	}
	memset(m, 0, sizeof(*m));
	m->format_version = get_u32(h + 8);
	if (m->format_version != STORE_SNAP_FORMAT_VERSION) {
		snprintf(errmsg, errmsg_bytes, "%s: offset 8: format version %u, this build reads %u",
			 path, m->format_version, STORE_SNAP_FORMAT_VERSION);
		return -STORE_E_CORRUPT;
	}
	m->cluster_id = get_u32(h + 12);
	m->index = get_u64(h + 16);
	m->term = get_u64(h + 24);
	m->state_digest = get_u64(h + 32);
	m->keys_count = get_u64(h + 40);
	m->sessions_count = get_u64(h + 48);
	m->kv_keys_max = get_u32(h + 56);
	m->kv_key_bytes_max = get_u32(h + 60);
	m->kv_value_bytes_max = get_u32(h + 64);
	m->kv_clients_max = get_u32(h + 68);
	m->kv_session_window = get_u32(h + 72);
	m->config_bytes = get_u32(h + 76);
	if (m->config_bytes > STORE_SNAP_CONFIG_BYTES_MAX || m->index == 0) {
		snprintf(errmsg, errmsg_bytes, "%s: offset 16: index %" PRIu64 " or configuration "
			 "of %u bytes out of range", path, m->index, m->config_bytes);
		return -STORE_E_CORRUPT;
	}
	memcpy(m->config, h + SNAP_HDR_CONFIG_AT, m->config_bytes);
	return 0;
}

/* ---- names ------------------------------------------------------------------ */

void store_snap_path(const char *dir, raft_index index, char *out, size_t out_bytes)
{
	snprintf(out, out_bytes, "%s/snap-%020" PRIu64 ".snap", dir, index);
}

/* The index of a "snap-<20 digits><suffix>" name, 0 if it is not one. */
static raft_index snap_name_index(const char *name, const char *suffix)
{
	size_t n = strlen(name), sn = strlen(suffix);
	if (n != 5 + 20 + sn || strncmp(name, "snap-", 5) != 0 || strcmp(name + 25, suffix) != 0) {
		return 0;
	}
	raft_index v = 0;
	for (size_t i = 5; i < 25; i++) {
		if (name[i] < '0' || name[i] > '9') {
			return 0;
		}
		v = v * 10 + (raft_index)(name[i] - '0');
	}
	return v;
}

/* ---- writing ---------------------------------------------------------------- */

static int snap_write_all(int fd, const void *buf, size_t count)
{
	const uint8_t *p = buf;
	while (count > 0) {
		ssize_t n = write(fd, p, count);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return n < 0 ? -errno : -EIO;
		}
		p += n;
		count -= (size_t)n;
	}
	return 0;
}

int store_snap_create(const char *dir, const struct store_snap_meta *meta,
		      struct store_snap_writer **out, char *errmsg, size_t errmsg_bytes)
{
	RN_ASSERT(meta->index > 0);
	RN_ASSERT(meta->config_bytes <= STORE_SNAP_CONFIG_BYTES_MAX);
	struct store_snap_writer *w = calloc(1, sizeof(*w));
	uint8_t *hdr = malloc(STORE_SNAP_HEADER_BYTES);
	if (w == NULL || hdr == NULL || (w->block = malloc(STORE_SNAP_BLOCK_BYTES)) == NULL) {
		free(w != NULL ? w->block : NULL);
		free(w);
		free(hdr);
		snprintf(errmsg, errmsg_bytes, "%s: out of memory for a snapshot block", dir);
		return -ENOMEM;
	}
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	store_snap_path(dir, meta->index, w->path, sizeof(w->path));
	snprintf(w->tmp_path, sizeof(w->tmp_path), "%s/snap-%020" PRIu64 ".tmp", dir, meta->index);
	w->recycle = true;
	w->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* Over the older snapshot's blocks if one was kept (snap_spare.c). */
	w->fd = w->dir_fd < 0 ? -1 : snap_spare_take(dir, w->tmp_path, &w->reused_bytes);
	if (w->fd < 0 && w->dir_fd >= 0) {
		w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	}
	int rc = w->fd < 0 || w->dir_fd < 0 ? -errno : 0;
	if (rc == 0) {
		store_pace_init(&w->pace, w->fd, STORE_SNAP_SYNC_BYTES_DEFAULT, 0, 0);
		snap_header_encode(meta, hdr);
		rc = snap_write_all(w->fd, hdr, STORE_SNAP_HEADER_BYTES);
	}
	if (rc == 0) {
		rc = store_pace_wrote(&w->pace, STORE_SNAP_HEADER_BYTES);
	}
	free(hdr);
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "%s: create: %s", w->tmp_path, strerror(-rc));
		store_snap_abort(w);
		return rc;
	}
	*out = w;
	return 0;
}

static int snap_flush_block(struct store_snap_writer *w)
{
	if (w->block_used == 0) {
		return 0;
	}
	uint8_t head[SNAP_BLOCK_HEAD_BYTES];
	put_u32(head, SNAP_BLOCK_MAGIC);
	put_u32(head + 4, w->block_used);
	put_u64(head + 8, w->stream_bytes - w->block_used);
	uint32_t crc = store_crc32c(0, head, 16);
	put_u32(head + 16, store_crc32c(crc, w->block, w->block_used));
	int rc = snap_write_all(w->fd, head, sizeof(head));
	store_crash_point("snap-partial"); /* tests: a head without its data */
	if (rc == 0) {
		rc = snap_write_all(w->fd, w->block, w->block_used);
	}
	if (rc == 0) {
		rc = store_pace_wrote(&w->pace, sizeof(head) + w->block_used);
	}
	w->blocks_count++;
	w->block_used = 0;
	return rc;
}

void store_snap_pace(struct store_snap_writer *w, uint64_t sync_bytes, uint64_t bytes_per_s)
{
	w->pace.sync_bytes = sync_bytes;
	w->pace.bytes_per_s = bytes_per_s;
}

void store_snap_recycle(struct store_snap_writer *w, bool on)
{
	w->recycle = on;
}

void store_snap_commit_times_to(struct store_snap_writer *w, struct store_snap_commit_times *out)
{
	*out = (struct store_snap_commit_times){0};
	w->times = out;
}

/* The end of a commit step, if asked (store_snap_commit_times_to). */
#define SNAP_MARK(w, step)                                        \
	do {                                                      \
		if ((w)->times != NULL) {                         \
			(w)->times->step = snap_pace_now_ns();    \
		}                                                 \
	} while (0)

uint64_t store_snap_paced_us(const struct store_snap_writer *w)
{
	return w->pace.slept_ns / 1000u;
}

int store_snap_append(struct store_snap_writer *w, const void *bytes, size_t count)
{
	const uint8_t *p = bytes;
	w->stream_crc = store_crc32c(w->stream_crc, bytes, count);
	while (count > 0) {
		size_t room = STORE_SNAP_BLOCK_BYTES - w->block_used;
		size_t take = count < room ? count : room;
		memcpy(w->block + w->block_used, p, take);
		w->block_used += (uint32_t)take;
		w->stream_bytes += take;
		p += take;
		count -= take;
		if (w->block_used == STORE_SNAP_BLOCK_BYTES) {
			int rc = snap_flush_block(w);
			if (rc != 0) {
				return rc;
			}
		}
	}
	return 0;
}

/* Deletes all but the STORE_SNAPS_KEPT newest snapshots of w's dir: the
 * first kept as the next snapshot's file if w recycles (snap_spare.c), the
 * others a step at a time at the writer's rate (store_unlink_paced); a
 * writer not paced (sync_bytes 0) unlinks them whole, as before pacing. */
static int snap_prune(const struct store_snap_writer *w)
{
	raft_index idx[SNAP_LIST_MAX];
	uint64_t sync_bytes = w->pace.sync_bytes;
	int n = store_snap_list(w->dir, idx, SNAP_LIST_MAX);
	for (int i = (int)STORE_SNAPS_KEPT; i < n; i++) {
		char path[512];
		store_snap_path(w->dir, idx[i], path, sizeof(path));
		int rc = -EEXIST;
		if (w->recycle && sync_bytes != 0 && i == (int)STORE_SNAPS_KEPT) {
			rc = snap_spare_keep(w->dir, path);
		}
		if (rc != 0) {
			rc = store_unlink_paced(path, sync_bytes == 0 ? UINT64_MAX
								  : STORE_UNLINK_STEP_BYTES,
						w->pace.bytes_per_s);
		}
		if (rc != 0 && rc != -ENOENT) {
			return rc;
		}
		store_crash_point("snap-prune");
	}
	return n < 0 ? n : 0;
}

int store_snap_commit(struct store_snap_writer *w, char *errmsg, size_t errmsg_bytes)
{
	int rc = snap_flush_block(w);
	if (rc == 0) {
		uint8_t t[SNAP_TRAILER_BYTES];
		put_u32(t, SNAP_TRAILER_MAGIC);
		put_u64(t + 4, w->stream_bytes);
		put_u64(t + 12, w->blocks_count);
		put_u32(t + 20, w->stream_crc);
		put_u32(t + 24, store_crc32c(0, t, 24));
		rc = snap_write_all(w->fd, t, sizeof(t));
	}
	/* Over a longer spare: its old tail goes, so the file is exactly the
	 * snapshot (a follower is sent the whole file). */
	if (rc == 0 && w->reused_bytes > 0) {
		off_t end = lseek(w->fd, 0, SEEK_CUR);
		if (end < 0 || ((uint64_t)end < w->reused_bytes && ftruncate(w->fd, end) != 0)) {
			rc = -errno;
		}
	}
	/* The data is durable before the name says it is a snapshot, and the
	 * name is durable before older snapshots (and the log compacted on
	 * the strength of this one) go. */
	if (rc == 0 && fsync(w->fd) != 0) {
		rc = -errno;
	}
	if (rc == 0) {
		SNAP_MARK(w, synced_ns);
		store_crash_point("snap-synced");
	}
	if (rc == 0 && rename(w->tmp_path, w->path) != 0) {
		rc = -errno;
	}
	if (rc == 0) {
		store_crash_point("snap-renamed");
	}
	if (rc == 0 && fsync(w->dir_fd) != 0) {
		rc = -errno;
	}
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "%s: write, sync or rename: %s", w->tmp_path,
			 strerror(-rc));
		store_snap_abort(w);
		return rc;
	}
	SNAP_MARK(w, renamed_ns);
	close(w->fd);
	w->fd = -1;
	rc = snap_prune(w);
	if (rc == 0 && fsync(w->dir_fd) != 0) {
		rc = -errno;
	}
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "%s: deleting older snapshots: %s", w->dir,
			 strerror(-rc));
	}
	SNAP_MARK(w, pruned_ns);
	close(w->dir_fd);
	free(w->block);
	free(w);
	return rc;
}

void store_snap_abort(struct store_snap_writer *w)
{
	if (w == NULL) {
		return;
	}
	if (w->fd >= 0) {
		close(w->fd);
		unlink(w->tmp_path);
	}
	if (w->dir_fd >= 0) {
		close(w->dir_fd);
	}
	free(w->block);
	free(w);
}

/* ---- reading ---------------------------------------------------------------- */

static int snap_read_at(int fd, uint64_t offset, void *buf, size_t count)
{
	uint8_t *p = buf;
	while (count > 0) {
		ssize_t n = pread(fd, p, count, (off_t)offset);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return n < 0 ? -errno : -STORE_E_CORRUPT; /* 0: the file ends early */
		}
		p += n;
		offset += (uint64_t)n;
		count -= (size_t)n;
	}
	return 0;
}

/* Reads and checks the block at r->file_offset into r->block, or, when
 * the trailer is there, returns 1. stream_crc: the running CRC. */
static int snap_next_block(struct store_snap_reader *r, uint64_t stream_at, char *errmsg,
			   size_t errmsg_bytes)
{
	uint8_t head[SNAP_BLOCK_HEAD_BYTES];
	int rc = snap_read_at(r->fd, r->file_offset, head, 4);
	if (rc == 0 && get_u32(head) == SNAP_TRAILER_MAGIC) {
		return 1;
	}
	if (rc == 0) {
		rc = snap_read_at(r->fd, r->file_offset, head, sizeof(head));
	}
	uint32_t bytes = rc == 0 ? get_u32(head + 4) : 0;
	if (rc == 0 && (get_u32(head) != SNAP_BLOCK_MAGIC || bytes == 0 ||
			bytes > STORE_SNAP_BLOCK_BYTES || get_u64(head + 8) != stream_at)) {
		rc = -STORE_E_CORRUPT;
	}
	if (rc == 0) {
		rc = snap_read_at(r->fd, r->file_offset + SNAP_BLOCK_HEAD_BYTES, r->block, bytes);
	}
	if (rc == 0 && store_crc32c(store_crc32c(0, head, 16), r->block, bytes) !=
			       get_u32(head + 16)) {
		rc = -STORE_E_CORRUPT;
	}
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "%s: offset %" PRIu64 ": damaged snapshot block (%s)",
			 r->path, r->file_offset, store_strerror(rc));
		return rc;
	}
	r->block_bytes = bytes;
	r->block_pos = 0;
	r->file_offset += SNAP_BLOCK_HEAD_BYTES + bytes;
	return 0;
}

/* Walks every block and the trailer: the whole file is checked. */
static int snap_verify(struct store_snap_reader *r, char *errmsg, size_t errmsg_bytes)
{
	uint64_t at = 0, blocks = 0;
	uint32_t crc = 0;
	int rc;
	while ((rc = snap_next_block(r, at, errmsg, errmsg_bytes)) == 0) {
		crc = store_crc32c(crc, r->block, r->block_bytes);
		at += r->block_bytes;
		blocks++;
	}
	if (rc < 0) {
		return rc;
	}
	uint8_t t[SNAP_TRAILER_BYTES];
	rc = snap_read_at(r->fd, r->file_offset, t, sizeof(t));
	if (rc != 0 || get_u32(t + 24) != store_crc32c(0, t, 24) || get_u64(t + 4) != at ||
	    get_u64(t + 12) != blocks || get_u32(t + 20) != crc) {
		snprintf(errmsg, errmsg_bytes, "%s: offset %" PRIu64 ": damaged or torn snapshot "
			 "trailer (stream of %" PRIu64 " bytes in %" PRIu64 " blocks read)", r->path,
			 r->file_offset, at, blocks);
		return rc < 0 && rc != -STORE_E_CORRUPT ? rc : -STORE_E_CORRUPT;
	}
	r->stream_bytes = at;
	r->file_offset = STORE_SNAP_HEADER_BYTES; /* from the start again, for the reads */
	r->block_bytes = r->block_pos = 0;
	return 0;
}

int store_snap_open(const char *path, struct store_snap_meta *meta,
		    struct store_snap_reader **out, char *errmsg, size_t errmsg_bytes)
{
	struct store_snap_reader *r = calloc(1, sizeof(*r));
	uint8_t *hdr = malloc(STORE_SNAP_HEADER_BYTES);
	if (r == NULL || hdr == NULL || (r->block = malloc(STORE_SNAP_BLOCK_BYTES)) == NULL) {
		free(r != NULL ? r->block : NULL);
		free(r);
		free(hdr);
		snprintf(errmsg, errmsg_bytes, "%s: out of memory reading a snapshot", path);
		return -ENOMEM;
	}
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = r->fd < 0 ? -errno : snap_read_at(r->fd, 0, hdr, STORE_SNAP_HEADER_BYTES);
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "%s: offset 0: %s", path,
			 rc == -STORE_E_CORRUPT ? "shorter than a snapshot header" : strerror(-rc));
	} else {
		rc = snap_header_decode(hdr, meta, path, errmsg, errmsg_bytes);
	}
	free(hdr);
	r->file_offset = STORE_SNAP_HEADER_BYTES;
	if (rc == 0) {
		rc = snap_verify(r, errmsg, errmsg_bytes);
	}
	if (rc != 0) {
		store_snap_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

int store_snap_read(struct store_snap_reader *r, void *buf, size_t count)
{
	uint8_t *p = buf;
	char why[256];
	while (count > 0) {
		if (r->block_pos == r->block_bytes) {
			int rc = snap_next_block(r, r->stream_read, why, sizeof(why));
			if (rc != 0) {
				return rc < 0 ? rc : -STORE_E_CORRUPT; /* 1: past the end */
			}
		}
		size_t take = rn_min_u64(count, r->block_bytes - r->block_pos);
		memcpy(p, r->block + r->block_pos, take);
		r->block_pos += (uint32_t)take;
		r->stream_read += take;
		p += take;
		count -= take;
	}
	return 0;
}

uint64_t store_snap_remaining(const struct store_snap_reader *r)
{
	RN_ASSERT(r->stream_read <= r->stream_bytes);
	return r->stream_bytes - r->stream_read;
}

void store_snap_close(struct store_snap_reader *r)
{
	if (r == NULL) {
		return;
	}
	if (r->fd >= 0) {
		close(r->fd);
	}
	free(r->block);
	free(r);
}

/* ---- the directory ------------------------------------------------------ */

int store_snap_list(const char *dir, raft_index *indices, uint32_t max)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		return errno == ENOENT ? 0 : -errno;
	}
	uint32_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		raft_index idx = snap_name_index(de->d_name, ".snap");
		if (idx == 0) {
			continue;
		}
		/* Insertion, newest first; beyond max, the oldest drop out. */
		uint32_t at = n;
		while (at > 0 && indices[at - 1] < idx) {
			at--;
		}
		if (at >= max) {
			continue;
		}
		uint32_t last = n < max ? n : max - 1;
		memmove(indices + at + 1, indices + at, (last - at) * sizeof(*indices));
		indices[at] = idx;
		n = n < max ? n + 1 : max;
	}
	closedir(d);
	return (int)n;
}

int store_snap_clean(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		return errno == ENOENT ? 0 : -errno;
	}
	int removed = 0, rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (snap_name_index(de->d_name, ".tmp") == 0) {
			continue;
		}
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) != 0) {
			rc = -errno;
			break;
		}
		removed++;
	}
	closedir(d);
	return rc != 0 ? rc : removed;
}

int store_snap_space_check(const char *dir, uint64_t bytes_needed, uint64_t reserve_bytes,
			   char *errmsg, size_t errmsg_bytes)
{
	struct statvfs vfs;
	if (statvfs(dir, &vfs) != 0) {
		int rc = -errno;
		snprintf(errmsg, errmsg_bytes, "%s: statvfs: %s", dir, strerror(-rc));
		return rc;
	}
	uint64_t free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	uint64_t need = bytes_needed + reserve_bytes;
	if (need < bytes_needed) {
		need = UINT64_MAX;
	}
	if (free_bytes >= need) {
		return 0;
	}
	snprintf(errmsg, errmsg_bytes, "%s: %" PRIu64 " bytes free, a snapshot of up to %" PRIu64
		 " bytes needs them beside the %" PRIu64 "-byte reserve ([storage] "
		 "space_reserve_bytes)", dir, free_bytes, bytes_needed, reserve_bytes);
	return -ENOSPC;
}
