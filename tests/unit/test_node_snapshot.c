/* SPDX-License-Identifier: MIT */
/*
 * Goal: snapshots of the state machine are exact and their files safe.
 *  - The file format round-trips (header fields, configuration blob, a
 *    stream over many blocks); a torn or bit-flipped file is refused with
 *    the file and the offset named; a temporary file a crash left is
 *    removed; only the two newest snapshots are kept. Paced writeback
 *    (a rate, small chunks, or none) keeps its rate and changes no byte;
 *    the older file kept and written over changes none either.
 *  - Copy-on-write consistency: a writer thread snapshots while this
 *    thread (the apply stage's role) keeps mutating many keys and sessions;
 *    the snapshot loaded into a fresh machine equals, digest and behaviour,
 *    a reference machine that applied exactly the commands up to the
 *    snapshot's index. Many iterations, each with a different seed.
 * Method: seeded random commands (puts, deletes, cas, with and without
 * sessions, retries inside and below the windows) applied with
 * node_kv_apply_command; files in a scratch directory under /tmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply/snap_writer.h"
#include "common.h"
#include "node.h"
#include "storage.h"

static char dir[128];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_node_snapshot.%d", getpid());
	char cmd[320];
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", dir, dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	char cmd[320];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- the file format ----------------------------------------------------- */

static void make_meta(struct store_snap_meta *m, raft_index index)
{
	memset(m, 0, sizeof(*m));
	m->cluster_id = 7;
	m->index = index;
	m->term = 3;
	m->state_digest = 0x1234;
	m->kv_keys_max = 100;
	m->config_bytes = 12;
	memcpy(m->config, "\x02\0\0\0\x01\0\0\0\x02\0\0\0", 12);
}

/* Writes a snapshot of `bytes` stream bytes (a known pattern), paced
 * (store_snap_pace) unless sync_bytes is ~0; returns the time it slept for
 * the rate, in microseconds. */
static uint64_t write_snap_paced(raft_index index, uint64_t bytes, uint64_t sync_bytes,
				 uint64_t bytes_per_s)
{
	struct store_snap_meta m;
	make_meta(&m, index);
	struct store_snap_writer *w;
	char err[512];
	assert_int_equal(store_snap_create(dir, &m, &w, err, sizeof(err)), 0);
	if (sync_bytes != UINT64_MAX) {
		store_snap_pace(w, sync_bytes, bytes_per_s);
	}
	uint8_t buf[4096];
	for (uint64_t at = 0; at < bytes; at += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			buf[i] = (uint8_t)((at + i) * 31 + index);
		}
		assert_int_equal(store_snap_append(w, buf, rn_min_u64(sizeof(buf), bytes - at)), 0);
	}
	uint64_t paced_us = store_snap_paced_us(w);
	assert_int_equal(store_snap_commit(w, err, sizeof(err)), 0);
	return paced_us;
}

static void write_snap(raft_index index, uint64_t bytes)
{
	(void)write_snap_paced(index, bytes, UINT64_MAX, 0);
}

/* Reads snapshot `index` of `bytes` back and checks every field and byte. */
static void read_back(raft_index index, uint64_t bytes)
{
	char path[512], err[512];
	store_snap_path(dir, index, path, sizeof(path));
	struct store_snap_meta m;
	struct store_snap_reader *r;
	assert_int_equal(store_snap_open(path, &m, &r, err, sizeof(err)), 0);
	assert_int_equal(m.index, index);
	assert_int_equal(m.term, 3);
	assert_int_equal(m.cluster_id, 7);
	assert_int_equal(m.state_digest, 0x1234);
	assert_int_equal(m.config_bytes, 12);
	assert_int_equal(store_snap_remaining(r), bytes);
	uint8_t buf[1000];
	for (uint64_t at = 0; at < bytes; at += sizeof(buf)) {
		size_t n = rn_min_u64(sizeof(buf), bytes - at);
		assert_int_equal(store_snap_read(r, buf, n), 0);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(buf[i], (uint8_t)((at + i) * 31 + index));
		}
	}
	assert_int_equal(store_snap_read(r, buf, 1), -STORE_E_CORRUPT); /* past the end */
	store_snap_close(r);
}

static void test_file_round_trip(void **state)
{
	(void)state;
	uint64_t bytes = 3 * STORE_SNAP_BLOCK_BYTES + 12345;
	write_snap(10, bytes);
	read_back(10, bytes);
}

/* The writeback's pacing (storage/snap_pace.c) changes when bytes reach
 * the disk, never which: a file written at a rate, in small chunks, or
 * all at the fsync, reads back the same. The rate is kept: 6 MiB at
 * 16 MiB/s in 1 MiB chunks starts a chunk every 62.5 ms, so the sixth
 * starts >= 312 ms after the first, however loaded the machine (a slow
 * writer sleeps less, never bursts), and the sleeps add up to no more
 * than those 312 ms. */
static void test_file_paced(void **state)
{
	(void)state;
	uint64_t bytes = 6 * STORE_SNAP_BLOCK_BYTES;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t paced_us = write_snap_paced(10, bytes, 1u << 20, 16u << 20);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t took_us = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000u +
			   (uint64_t)((t1.tv_nsec - t0.tv_nsec) / 1000);
	assert_true(took_us >= 312000);
	assert_true(paced_us <= 312500);
	read_back(10, bytes);
	assert_int_equal(write_snap_paced(11, bytes, 64u << 10, 0), 0); /* chunks, no limit */
	assert_int_equal(write_snap_paced(12, bytes, 0, 16u << 20), 0); /* all at the fsync */
	char path[512];
	store_snap_path(dir, 10, path, sizeof(path));
	assert_int_not_equal(access(path, F_OK), 0); /* the newest two kept */
	read_back(11, bytes);
	read_back(12, bytes);
	/* A large file deleted a step at a time: gone, and its name at once. */
	char big[512];
	snprintf(big, sizeof(big), "%s/big", dir);
	int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(10u << 20) + 5), 0);
	close(fd);
	assert_int_equal(store_unlink_paced(big, 1u << 20, 0), 0);
	assert_int_not_equal(access(big, F_OK), 0);
	assert_int_equal(store_unlink_paced(big, 1u << 20, 0), -ENOENT);
	/* One still open elsewhere (a snapshot being sent) is unlinked whole:
	 * its reader reads every byte to the end. */
	fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(10u << 20)), 0);
	close(fd);
	int reader = open(big, O_RDONLY);
	assert_true(reader >= 0);
	assert_int_equal(store_unlink_paced(big, 1u << 20, 0), 0);
	assert_int_not_equal(access(big, F_OK), 0);
	uint8_t last;
	assert_int_equal(pread(reader, &last, 1, (off_t)(10u << 20) - 1), 1);
	close(reader);
}

static ino_t inode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static uint64_t file_bytes_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The header, each block's head and data, the trailer (storage.h). */
static uint64_t snap_file_bytes(uint64_t stream_bytes)
{
	uint64_t blocks = (stream_bytes + STORE_SNAP_BLOCK_BYTES - 1) / STORE_SNAP_BLOCK_BYTES;
	return STORE_SNAP_HEADER_BYTES + blocks * 20 + stream_bytes + 28;
}

/* The older snapshot's file is kept (renamed to the spare) instead of
 * deleted, and the next snapshot is written over it (storage/
 * snap_spare.c): the same inode, the bytes and checksums of the new one
 * exactly, its old tail cut; the newest two stay snapshots. A spare that
 * someone still reads is not written over: unlinked (its reader keeps its
 * bytes) and the snapshot written to a new file. A writer told not to
 * recycle deletes, as before. */
static void test_file_recycled(void **state)
{
	(void)state;
	char spare[512], path[512];
	snprintf(spare, sizeof(spare), "%s/snap-spare.tmp", dir);
	uint64_t big = 3 * STORE_SNAP_BLOCK_BYTES + 999, small = STORE_SNAP_BLOCK_BYTES + 5;
	write_snap_paced(30, big, 1u << 20, 0);
	write_snap_paced(31, big, 1u << 20, 0);
	store_snap_path(dir, 30, path, sizeof(path));
	ino_t ino30 = inode_of(path);
	assert_int_not_equal(access(spare, F_OK), 0); /* none yet */
	write_snap_paced(32, big, 1u << 20, 0);
	assert_int_not_equal(access(path, F_OK), 0); /* 30 is not a snapshot any more */
	assert_int_equal(inode_of(spare), ino30);     /* but its file is the spare */
	assert_int_equal(store_snap_spare_bytes(dir), snap_file_bytes(big));
	raft_index idx[8];
	assert_int_equal(store_snap_list(dir, idx, 8), 2);
	/* 33, smaller, written over the spare: 30's inode, the exact size. */
	write_snap_paced(33, small, 1u << 20, 0);
	store_snap_path(dir, 33, path, sizeof(path));
	assert_int_equal(inode_of(path), ino30);
	assert_int_equal(file_bytes_of(path), snap_file_bytes(small));
	read_back(33, small);
	read_back(32, big);
	assert_int_equal(store_snap_list(dir, idx, 8), 2);
	/* 31 became the spare at 33's commit; a reader holds it. */
	assert_int_equal(access(spare, F_OK), 0);
	int reader = open(spare, O_RDONLY);
	assert_true(reader >= 0);
	ino_t ino31 = inode_of(spare);
	write_snap_paced(34, big, 1u << 20, 0);
	store_snap_path(dir, 34, path, sizeof(path));
	assert_int_not_equal(inode_of(path), ino31); /* a new file */
	read_back(34, big);
	struct stat st;
	assert_int_equal(fstat(reader, &st), 0);
	assert_int_equal((uint64_t)st.st_size, snap_file_bytes(big)); /* 31's bytes, whole */
	close(reader);
	/* 32 is the spare now; 35 deletes instead of keeping 33. */
	struct store_snap_meta m;
	make_meta(&m, 35);
	struct store_snap_writer *w;
	char err[512];
	assert_int_equal(store_snap_create(dir, &m, &w, err, sizeof(err)), 0);
	store_snap_recycle(w, false);
	assert_int_equal(store_snap_append(w, "abc", 3), 0);
	assert_int_equal(store_snap_commit(w, err, sizeof(err)), 0);
	assert_int_not_equal(access(spare, F_OK), 0); /* 32's taken by 35, 33 deleted */
	assert_int_equal(store_snap_spare_bytes(dir), 0);
	store_snap_path(dir, 33, path, sizeof(path));
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(store_snap_list(dir, idx, 8), 2);
	assert_int_equal(idx[0], 35);
	assert_int_equal(idx[1], 34);
}

static void flip_byte(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, at), 1);
	b ^= 0x10;
	assert_int_equal(pwrite(fd, &b, 1, at), 1);
	close(fd);
}

static void test_file_damage_refused(void **state)
{
	(void)state;
	write_snap(20, 2 * STORE_SNAP_BLOCK_BYTES);
	char path[512], err[512];
	store_snap_path(dir, 20, path, sizeof(path));
	struct store_snap_meta m;
	struct store_snap_reader *r;
	/* A bit flipped in the second block's data. */
	off_t second = STORE_SNAP_HEADER_BYTES + 20 + STORE_SNAP_BLOCK_BYTES;
	flip_byte(path, second + 20 + 77);
	assert_int_equal(store_snap_open(path, &m, &r, err, sizeof(err)), -STORE_E_CORRUPT);
	char want[64];
	snprintf(want, sizeof(want), "offset %lld", (long long)second);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, want));
	flip_byte(path, second + 20 + 77); /* back: it opens again */
	assert_int_equal(store_snap_open(path, &m, &r, err, sizeof(err)), 0);
	store_snap_close(r);
	/* The header. */
	flip_byte(path, 17);
	assert_int_equal(store_snap_open(path, &m, &r, err, sizeof(err)), -STORE_E_CORRUPT);
	assert_non_null(strstr(err, "offset 0"));
	flip_byte(path, 17);
	/* Torn: the trailer or a block cut off. */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 5), 0);
	assert_int_equal(store_snap_open(path, &m, &r, err, sizeof(err)), -STORE_E_CORRUPT);
	assert_int_equal(truncate(path, st.st_size - 100000), 0);
	assert_int_equal(store_snap_open(path, &m, &r, err, sizeof(err)), -STORE_E_CORRUPT);
	assert_int_equal(unlink(path), 0);
}

static void test_dir_keeps_two_and_cleans(void **state)
{
	(void)state;
	for (raft_index i = 100; i <= 500; i += 100) {
		write_snap(i, 1000);
	}
	raft_index idx[8];
	assert_int_equal(store_snap_list(dir, idx, 8), 2);
	assert_int_equal(idx[0], 500);
	assert_int_equal(idx[1], 400);
	/* A crash mid-write leaves a temporary file; it is not a snapshot. */
	struct store_snap_meta m;
	make_meta(&m, 600);
	struct store_snap_writer *w;
	char err[512];
	assert_int_equal(store_snap_create(dir, &m, &w, err, sizeof(err)), 0);
	assert_int_equal(store_snap_append(w, "abc", 3), 0);
	/* Leak w's fd as a crash would: the file stays. */
	assert_int_equal(store_snap_list(dir, idx, 8), 2);
	assert_int_equal(store_snap_clean(dir), 1);
	assert_int_equal(store_snap_clean(dir), 0);
	store_snap_abort(w); /* its file is gone already: nothing to remove */
}

/* ---- copy-on-write consistency ------------------------------------------- */

static const struct node_kv_config kv_cfg = {
	.keys_max = 20000, .key_bytes_max = 24, .value_bytes_max = 200,
	.clients_max = 64, .session_window = 8};

struct gen {
	uint64_t rng;
	uint64_t seq[64];
	uint8_t key[24], value[200], expected[200];
};

/* One random command; the same seed makes the same sequence. */
static void gen_next(struct gen *g, struct node_kv_command *c)
{
	uint64_t r = rn_splitmix64(&g->rng);
	uint32_t k = (uint32_t)(r % 15000); /* most keys get rewritten */
	int kb = snprintf((char *)g->key, sizeof(g->key), "key%u", k);
	uint32_t vb = (uint32_t)((r >> 20) % 200);
	for (uint32_t i = 0; i < vb; i++) {
		g->value[i] = (uint8_t)(r >> (i % 50));
	}
	*c = (struct node_kv_command){.key = g->key, .key_bytes = (uint16_t)kb, .value = g->value,
				      .value_bytes = vb};
	uint32_t op = (uint32_t)((r >> 40) % 10);
	c->op = op < 6 ? NODE_KV_PUT : op < 8 ? NODE_KV_DEL : NODE_KV_CAS;
	if (c->op == NODE_KV_CAS) {
		c->expected = g->value;
		c->expected_bytes = vb;
	}
	if ((r >> 50) % 4 != 0) {
		uint32_t client = (uint32_t)((r >> 52) % 80); /* > clients_max: evictions */
		c->client_id = client + 1;
		/* Mostly the next seq; now and then a retry inside or below
		 * the window. */
		uint64_t *s = &g->seq[client % 64];
		uint32_t back = (uint32_t)((r >> 58) % 16);
		c->seq = back < 12 ? ++*s : *s > back ? *s - back : 1;
	}
}

static uint64_t apply_n(struct node_kv *kv, struct gen *g, uint64_t n)
{
	struct node_kv_command c;
	struct node_kv_result res;
	uint64_t h = 0;
	for (uint64_t i = 0; i < n; i++) {
		gen_next(g, &c);
		node_kv_apply_command(kv, node_kv_applied_index(kv) + 1, &c, &res);
		h = rn_mix64(h ^ res.status ^ (uint64_t)res.duplicate << 8);
	}
	return h;
}

struct reader_ctx {
	struct store_snap_reader *r;
};

static int read_snap(void *user, void *bytes, size_t count)
{
	return store_snap_read(((struct reader_ctx *)user)->r, bytes, count);
}

/* Loads the newest snapshot of dir into a fresh machine. */
static struct node_kv *load_newest(raft_index want_index)
{
	raft_index idx[2];
	assert_true(store_snap_list(dir, idx, 2) >= 1);
	assert_int_equal(idx[0], want_index);
	char path[512], err[512];
	store_snap_path(dir, idx[0], path, sizeof(path));
	struct store_snap_meta m;
	struct reader_ctx rc;
	assert_int_equal(store_snap_open(path, &m, &rc.r, err, sizeof(err)), 0);
	struct node_kv_snapshot_info info = {
		.index = m.index, .digest = m.state_digest, .keys_count = m.keys_count,
		.sessions_count = m.sessions_count,
		.limits = {.keys_max = m.kv_keys_max, .key_bytes_max = (uint16_t)m.kv_key_bytes_max,
			   .value_bytes_max = m.kv_value_bytes_max, .clients_max = m.kv_clients_max,
			   .session_window = m.kv_session_window}};
	struct node_kv *kv;
	assert_int_equal(node_kv_create(&kv_cfg, &kv), 0);
	int rc2 = node_kv_snapshot_load(kv, &info, read_snap, &rc, err, sizeof(err));
	if (rc2 != 0) {
		fprintf(stderr, "load: %s\n", err);
	}
	assert_int_equal(rc2, 0);
	assert_int_equal(store_snap_remaining(rc.r), 0);
	store_snap_close(rc.r);
	assert_int_equal(node_kv_applied_index(kv), want_index);
	return kv;
}

static void test_cow_consistency(void **state)
{
	(void)state;
	struct node_snap_link link = {0};
	static struct node_conf conf = {.m = {.voters = {1, 2, 3}, .voters_count = 3}};
	struct node_snapshotter_config sc = {.dir = dir, .cluster_id = 7,
					     .entries_trigger = UINT64_MAX,
					     .bytes_trigger = UINT64_MAX, .self = 1};
	int iterations = getenv("SNAP_ITERATIONS") ? atoi(getenv("SNAP_ITERATIONS")) : 30;
	uint64_t copied = 0, during_total = 0;
	for (int it = 0; it < iterations; it++) {
		struct node_kv *live, *ref;
		struct node_snapshotter sn;
		assert_int_equal(node_kv_create(&kv_cfg, &live), 0);
		assert_int_equal(node_snapshotter_init(&sn, &sc, live, &link), 0);
		sn.conf = &conf;
		struct gen g = {.rng = 1000 + (uint64_t)it};
		uint64_t before = 20000 + (uint64_t)it * 997;
		apply_n(live, &g, before);
		raft_index s_index = node_kv_applied_index(live);
		assert_true(node_snapshotter_start(&sn, s_index, 1));
		/* Mutate while the writer runs: every pass checks the writer. */
		uint64_t during = 0;
		while (!node_snapshotter_idle(&sn)) {
			apply_n(live, &g, 50);
			during += 50;
		}
		assert_int_equal(sn.last_rc, 0);
		copied += node_kv_cow_chunks_copied(live);
		during_total += during;
		apply_n(live, &g, 2000);
		/* The reference: the same commands up to the snapshot only. */
		assert_int_equal(node_kv_create(&kv_cfg, &ref), 0);
		struct gen g2 = {.rng = 1000 + (uint64_t)it};
		apply_n(ref, &g2, before);
		struct node_kv *loaded = load_newest(s_index);
		assert_int_equal(node_kv_digest(loaded), node_kv_digest(ref));
		assert_int_equal(node_kv_keys_count(loaded), node_kv_keys_count(ref));
		/* Sessions and windows too: the same commands from here give
		 * the same answers (duplicates, stale retries, evictions). */
		struct gen g3 = g2;
		uint64_t h_ref = apply_n(ref, &g2, during + 2000);
		uint64_t h_loaded = apply_n(loaded, &g3, during + 2000);
		assert_int_equal(h_ref, h_loaded);
		assert_int_equal(node_kv_digest(loaded), node_kv_digest(live));
		assert_int_equal(node_kv_digest(ref), node_kv_digest(live));
		node_snapshotter_fini(&sn);
		node_kv_destroy(live);
		node_kv_destroy(ref);
		node_kv_destroy(loaded);
	}
	/* The test means something only if the apply side did copy chunks
	 * while the writer ran. */
	fprintf(stderr, "%d snapshots: %" PRIu64 " commands applied while writing, %" PRIu64
		" chunks copied by the apply side\n", iterations, during_total, copied);
	assert_true(copied > 0);
}

static void test_load_refuses_smaller_limits(void **state)
{
	(void)state;
	struct node_kv *kv;
	assert_int_equal(node_kv_create(&kv_cfg, &kv), 0);
	struct node_kv_snapshot_info info = {.index = 5, .limits = kv_cfg};
	info.limits.keys_max = kv_cfg.keys_max + 1;
	char err[512];
	assert_int_equal(node_kv_snapshot_load(kv, &info, NULL, NULL, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "kv_keys_max"));
	node_kv_destroy(kv);
}

/* A new cluster from a snapshot: an empty log continues after its index. */
static void test_log_start_at(void **state)
{
	(void)state;
	struct store_config sc;
	store_config_default(&sc);
	sc.dir_path = dir;
	sc.segment_bytes = 1u << 20;
	sc.quiet = true;
	struct store_log *log;
	char err[512];
	assert_int_equal(store_open(&sc, &log, err, sizeof(err)), 0);
	assert_int_equal(store_start_at(log, 1000, 3), 0);
	assert_int_equal(store_start_at(log, 2000, 3), -STORE_E_RANGE); /* not empty now */
	store_close(log);
	assert_int_equal(store_open(&sc, &log, err, sizeof(err)), 0);
	assert_int_equal(store_first_index(log), 1001);
	assert_int_equal(store_last_index(log), 1000);
	assert_int_equal(store_commit_hint(log), 1000);
	struct raft_hard_state hs;
	store_hard_state(log, &hs);
	assert_int_equal(hs.term, 3);
	struct store_entry e = {.index = 1001, .term = 4, .payload = "abc", .payload_bytes = 3,
				.type = RAFT_ENTRY_NORMAL};
	assert_int_equal(store_append(log, &e, 1), 0);
	assert_int_equal(store_flush(log), 0);
	store_close(log);
	assert_int_equal(store_open(&sc, &log, err, sizeof(err)), 0);
	assert_int_equal(store_first_index(log), 1001);
	assert_int_equal(store_last_index(log), 1001);
	uint8_t buf[4096];
	struct store_entry got;
	assert_int_equal(store_read(log, 1001, buf, sizeof(buf), &got, 1), 1);
	assert_int_equal(got.term, 4);
	assert_memory_equal(got.payload, "abc", 3);
	store_close(log);
}

/* An installed snapshot: the log drops every entry, those above the point
 * too, and continues after it, across a reopen. */
static void test_log_reset(void **state)
{
	(void)state;
	struct store_config sc;
	store_config_default(&sc);
	sc.dir_path = dir;
	sc.segment_bytes = 64u << 10;
	sc.quiet = true;
	struct store_log *log;
	char err[512];
	assert_int_equal(store_open(&sc, &log, err, sizeof(err)), 0);
	char payload[512];
	memset(payload, 'x', sizeof(payload));
	for (raft_index i = 1; i <= 600; i++) {
		struct store_entry e = {.index = i, .term = 1, .payload = payload,
					.payload_bytes = sizeof(payload), .type = RAFT_ENTRY_NORMAL};
		assert_int_equal(store_append(log, &e, 1), 0);
	}
	assert_int_equal(store_flush(log), 0);
	assert_true(store_last_index(log) == 600);
	/* A point inside the log whose term differs (entries above it go). */
	assert_int_equal(store_reset(log, 400, 3), 0);
	assert_int_equal(store_last_index(log), 400);
	assert_int_equal(store_first_index(log), 401);
	struct store_entry e = {.index = 401, .term = 4, .payload = "abc", .payload_bytes = 3,
				.type = RAFT_ENTRY_NORMAL};
	assert_int_equal(store_append(log, &e, 1), 0);
	assert_int_equal(store_flush(log), 0);
	store_close(log);
	assert_int_equal(store_open(&sc, &log, err, sizeof(err)), 0);
	assert_int_equal(store_first_index(log), 401);
	assert_int_equal(store_last_index(log), 401);
	assert_int_equal(store_commit_hint(log), 400);
	uint8_t buf[4096];
	struct store_entry got;
	assert_int_equal(store_read(log, 401, buf, sizeof(buf), &got, 1), 1);
	assert_int_equal(got.term, 4);
	/* A point past the log's end. */
	assert_int_equal(store_reset(log, 5000, 5), 0);
	store_close(log);
	assert_int_equal(store_open(&sc, &log, err, sizeof(err)), 0);
	assert_int_equal(store_first_index(log), 5001);
	assert_int_equal(store_last_index(log), 5000);
	store_close(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_round_trip, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_file_paced, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_file_recycled, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_log_reset, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_file_damage_refused, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_dir_keeps_two_and_cleans, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_cow_consistency, setup_dir, teardown_dir),
		cmocka_unit_test(test_load_refuses_smaller_limits),
		cmocka_unit_test_setup_teardown(test_log_start_at, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
