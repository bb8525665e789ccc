/* SPDX-License-Identifier: MIT */
/*
 * test_node_conf.c - the configuration the node tracks (node/conf.h,
 * node/conf_blob.h) and where it lives: config entries in the log, the
 * configuration in a snapshot's meta.
 *
 * Method: (1) a sequence of changes applied through node_conf_apply gives
 * the expected voters, learners and addresses (raft_membership_apply is
 * the one definition; a change that does not apply changes nothing);
 * (2) "restart": the configuration at a midpoint written as a snapshot
 * blob, read back, and the tail's changes applied again reproduces the
 * straight run's, addresses included; a version 1 blob (member ids only)
 * still reads; damaged blobs are refused; (3) config entries written to a
 * real log (the pwrite engine in a scratch directory) come back, after a
 * close and reopen, with their record: the value and the address; (4) the
 * snapshot file's meta carries the blob through store_snap_create/_open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_blob.h"
#include "storage.h"
#include "storage_util.h"

static struct dp_member_addr addr_of(raft_node_id id)
{
	struct dp_member_addr a = {.ip = 0x0a4d0000u + id, .udp_port = (uint16_t)(9000 + id),
				   .mac_auto = id % 2 == 0, .host = id};
	if (!a.mac_auto) {
		a.mac[0] = 2;
		a.mac[5] = (uint8_t)id;
	}
	return a;
}

/* The record of a change (an address for ADD_LEARNER). */
static void rec_of(uint8_t op, raft_node_id id, uint8_t out[DP_CONF_ENTRY_BYTES])
{
	struct dp_member_addr a = addr_of(id);
	dp_conf_entry_encode(RAFT_CONF_PAYLOAD(op, id), op == RAFT_CONF_ADD_LEARNER ? &a : NULL,
			     out);
}

static void assert_addr_equal(const struct dp_member_addr *x, const struct dp_member_addr *y)
{
	assert_int_equal(x->ip, y->ip);
	assert_int_equal(x->udp_port, y->udp_port);
	assert_int_equal(x->mac_auto, y->mac_auto);
	assert_memory_equal(x->mac, y->mac, 6);
	assert_int_equal(x->host, y->host);
}

static void conf_start(struct node_conf *c)
{
	memset(c, 0, sizeof(*c));
	for (raft_node_id id = 1; id <= 3; id++) {
		c->m.voters[c->m.voters_count++] = id;
		struct dp_member_addr a = addr_of(id);
		node_addr_set(&c->book, id, &a, NULL);
	}
}

static const struct {
	uint8_t op;
	raft_node_id id;
} changes[] = {
	{RAFT_CONF_ADD_LEARNER, 4}, {RAFT_CONF_PROMOTE, 4},	 {RAFT_CONF_ADD_LEARNER, 5},
	{RAFT_CONF_PROMOTE, 5},	    {RAFT_CONF_REMOVE, 1},	 {RAFT_CONF_PROMOTE, 2}, /* a voter: no-op */
	{RAFT_CONF_ADD_LEARNER, 6}, {RAFT_CONF_REMOVE, 3},	 {RAFT_CONF_REMOVE, 9}, /* unknown: no-op */
	{RAFT_CONF_ADD_LEARNER, 7},
};
#define CHANGES_COUNT (sizeof(changes) / sizeof(changes[0]))

static void apply_changes(struct node_conf *c, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		uint8_t rec[DP_CONF_ENTRY_BYTES];
		rec_of(changes[i].op, changes[i].id, rec);
		node_conf_apply(c, 100 + i, rec, sizeof(rec));
	}
}

static void assert_conf_equal(const struct node_conf *a, const struct node_conf *b)
{
	assert_int_equal(a->m.voters_count, b->m.voters_count);
	assert_int_equal(a->m.learners_count, b->m.learners_count);
	assert_memory_equal(a->m.voters, b->m.voters, a->m.voters_count * sizeof(raft_node_id));
	assert_memory_equal(a->m.learners, b->m.learners, a->m.learners_count * sizeof(raft_node_id));
	assert_int_equal(a->index, b->index);
	for (uint32_t i = 0; i < a->m.voters_count + a->m.learners_count; i++) {
		raft_node_id id = i < a->m.voters_count ? a->m.voters[i]
							: a->m.learners[i - a->m.voters_count];
		const struct dp_member_addr *x = node_addr_get(&a->book, id);
		const struct dp_member_addr *y = node_addr_get(&b->book, id);
		assert_non_null(x);
		assert_non_null(y);
		assert_addr_equal(x, y);
	}
}

static void test_sequence_tracks(void **state)
{
	(void)state;
	struct node_conf c;
	conf_start(&c);
	apply_changes(&c, 0, CHANGES_COUNT);
	/* 1..3 + 4, 5 voters; 1 and 3 removed; 6, 7 learners. */
	static const raft_node_id voters[] = {2, 4, 5};
	static const raft_node_id learners[] = {6, 7};
	assert_int_equal(c.m.voters_count, 3);
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(node_conf_role(&c.m, voters[i]), DP_MEMBER_VOTER);
	}
	assert_int_equal(c.m.learners_count, 2);
	for (uint32_t i = 0; i < 2; i++) {
		assert_int_equal(node_conf_role(&c.m, learners[i]), DP_MEMBER_LEARNER);
	}
	assert_int_equal(node_conf_role(&c.m, 1), DP_MEMBER_NONE);
	assert_int_equal(c.index, 100 + CHANGES_COUNT - 1);
	struct dp_member_addr want = addr_of(7);
	assert_addr_equal(node_addr_get(&c.book, 7), &want);
	/* A damaged record changes nothing. */
	struct node_conf before = c;
	uint8_t rec[DP_CONF_ENTRY_BYTES];
	rec_of(RAFT_CONF_REMOVE, 2, rec);
	rec[12] = 1; /* address bytes on a removal */
	node_conf_apply(&c, 999, rec, sizeof(rec));
	assert_conf_equal(&c, &before);
}

static void test_restart_from_blob_and_tail(void **state)
{
	(void)state;
	for (size_t cut = 0; cut <= CHANGES_COUNT; cut++) {
		struct node_conf straight, first, restarted;
		conf_start(&straight);
		apply_changes(&straight, 0, CHANGES_COUNT);
		conf_start(&first);
		apply_changes(&first, 0, cut);
		uint8_t blob[STORE_SNAP_CONFIG_BYTES_MAX];
		uint32_t n = node_conf_blob_encode(&first, blob, sizeof(blob));
		assert_true(n <= NODE_CONF_BLOB_BYTES_MAX);
		/* A restart knows nothing but the blob (no cluster file book). */
		memset(&restarted, 0, sizeof(restarted));
		assert_true(node_conf_blob_decode(blob, n, &restarted));
		assert_conf_equal(&restarted, &first);
		apply_changes(&restarted, cut, CHANGES_COUNT);
		assert_conf_equal(&restarted, &straight);
	}
}

static void test_blob_versions_and_damage(void **state)
{
	(void)state;
	struct node_conf c;
	/* Version 1: count, ids; the addresses stay the caller's. */
	conf_start(&c);
	uint8_t v1[16];
	uint32_t count = 3, ids[3] = {1, 2, 3};
	memcpy(v1, &count, 4);
	memcpy(v1 + 4, ids, 12);
	assert_true(node_conf_blob_decode(v1, sizeof(v1), &c));
	assert_int_equal(c.m.voters_count, 3);
	assert_int_equal(c.m.learners_count, 0);
	assert_non_null(node_addr_get(&c.book, 2));
	assert_false(node_conf_blob_decode(v1, sizeof(v1) - 1, &c));
	/* Version 2, damaged: length, a duplicate id, no voter, bad magic. */
	conf_start(&c);
	apply_changes(&c, 0, 3);
	uint8_t blob[STORE_SNAP_CONFIG_BYTES_MAX];
	uint32_t n = node_conf_blob_encode(&c, blob, sizeof(blob));
	struct node_conf d;
	assert_false(node_conf_blob_decode(blob, n - 1, &d));
	uint8_t bad[STORE_SNAP_CONFIG_BYTES_MAX];
	memcpy(bad, blob, n);
	memcpy(bad + NODE_CONF_BLOB_HDR_BYTES + NODE_CONF_BLOB_ITEM_BYTES, bad + NODE_CONF_BLOB_HDR_BYTES, 4);
	assert_false(node_conf_blob_decode(bad, n, &d));
	memcpy(bad, blob, n);
	bad[12] = 0;
	assert_false(node_conf_blob_decode(bad, n, &d));
	memcpy(bad, blob, n);
	bad[0] ^= 1;
	assert_false(node_conf_blob_decode(bad, n, &d));
	/* Every configuration fits the snapshot's blob. */
	assert_true(NODE_CONF_BLOB_BYTES_MAX <= STORE_SNAP_CONFIG_BYTES_MAX);
}

static void test_log_keeps_records(void **state)
{
	(void)state;
	char dir[SU_PATH_BYTES];
	su_tmpdir(dir, sizeof(dir));
	struct store_config cfg;
	su_config(&cfg, dir, STORE_ENGINE_PWRITE, 1u << 20);
	struct store_log *log = su_open(&cfg);
	uint8_t recs[CHANGES_COUNT][DP_CONF_ENTRY_BYTES];
	uint8_t normal[40];
	memset(normal, 7, sizeof(normal));
	struct store_entry e[CHANGES_COUNT + 1];
	e[0] = (struct store_entry){.index = 1, .term = 1, .payload = normal,
				    .payload_bytes = sizeof(normal), .type = RAFT_ENTRY_NORMAL};
	for (size_t i = 0; i < CHANGES_COUNT; i++) {
		rec_of(changes[i].op, changes[i].id, recs[i]);
		e[i + 1] = (struct store_entry){.index = i + 2, .term = 2, .payload = recs[i],
						.payload_bytes = DP_CONF_ENTRY_BYTES,
						.type = RAFT_ENTRY_CONFIG};
	}
	assert_int_equal(store_append(log, e, CHANGES_COUNT + 1), 0);
	assert_int_equal(store_flush(log), 0);
	store_close(log);
	log = su_open(&cfg);
	assert_int_equal(store_last_index(log), CHANGES_COUNT + 1);
	static uint8_t buf[1u << 16];
	struct store_entry got[CHANGES_COUNT + 1];
	int n = store_read(log, 1, buf, sizeof(buf), got, CHANGES_COUNT + 1);
	assert_int_equal(n, CHANGES_COUNT + 1);
	struct node_conf from_log, straight;
	conf_start(&from_log);
	conf_start(&straight);
	apply_changes(&straight, 0, CHANGES_COUNT);
	for (int i = 1; i < n; i++) {
		assert_int_equal(got[i].type, RAFT_ENTRY_CONFIG);
		assert_int_equal(got[i].payload_bytes, DP_CONF_ENTRY_BYTES);
		uint64_t value;
		struct dp_member_addr a;
		assert_int_equal(dp_conf_entry_decode(got[i].payload, got[i].payload_bytes, &value, &a),
				 0);
		assert_int_equal(value, RAFT_CONF_PAYLOAD(changes[i - 1].op, changes[i - 1].id));
		if (changes[i - 1].op == RAFT_CONF_ADD_LEARNER) {
			struct dp_member_addr want = addr_of(changes[i - 1].id);
			assert_addr_equal(&a, &want);
		}
		node_conf_apply(&from_log, 100 + (raft_index)i - 1, got[i].payload, got[i].payload_bytes);
	}
	assert_conf_equal(&from_log, &straight);
	store_close(log);
	su_rmtree(dir);
}

static void test_snapshot_meta_carries_blob(void **state)
{
	(void)state;
	char dir[SU_PATH_BYTES], err[512];
	su_tmpdir(dir, sizeof(dir));
	struct node_conf c;
	conf_start(&c);
	apply_changes(&c, 0, 7);
	struct store_snap_meta m = {.cluster_id = 7, .index = 50, .term = 3};
	m.config_bytes = node_conf_blob_encode(&c, m.config, sizeof(m.config));
	struct store_snap_writer *w = NULL;
	assert_int_equal(store_snap_create(dir, &m, &w, err, sizeof(err)), 0);
	assert_int_equal(store_snap_append(w, "state", 5), 0);
	assert_int_equal(store_snap_commit(w, err, sizeof(err)), 0);
	char path[512];
	store_snap_path(dir, 50, path, sizeof(path));
	struct store_snap_meta back;
	struct store_snap_reader *r = NULL;
	assert_int_equal(store_snap_open(path, &back, &r, err, sizeof(err)), 0);
	store_snap_close(r);
	assert_int_equal(back.config_bytes, m.config_bytes);
	struct node_conf d;
	memset(&d, 0, sizeof(d));
	assert_true(node_conf_blob_decode(back.config, back.config_bytes, &d));
	assert_conf_equal(&d, &c);
	su_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequence_tracks),
		cmocka_unit_test(test_restart_from_blob_and_tail),
		cmocka_unit_test(test_blob_versions_and_damage),
		cmocka_unit_test(test_log_keeps_records),
		cmocka_unit_test(test_snapshot_meta_carries_blob),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
