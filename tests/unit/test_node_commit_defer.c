/* SPDX-License-Identifier: MIT */
/*
 * Goal: control keeps a commit-only update until the end of its next round
 * (node/control/commit_defer.c): only commit-only updates are kept, one per
 * follower (the newer replaces the older), an append to that follower with
 * the same check and at least the commit index carries it (not sent), any
 * other append does not, and a round's flush sends only what an earlier
 * round kept, saying how many are still kept.
 * Method: messages built as the core makes them; the send function records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "control/commit_defer.h"

static struct raft_message append(raft_node_id to, raft_index prev, raft_index commit,
				  bool commit_only, uint32_t entries)
{
	static const struct raft_entry e[2] = {{.index = 11, .term = 3}, {.index = 12, .term = 3}};
	struct raft_message m;
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND;
	m.from = 1;
	m.to = to;
	m.term = 3;
	m.append.prev_index = prev;
	m.append.prev_term = 3;
	m.append.commit_index = commit;
	m.append.commit_only = commit_only;
	m.append.entries = entries > 0 ? e : NULL;
	m.append.entries_count = entries;
	return m;
}

static struct raft_message sent[8];
static uint32_t sent_count;

static void record(struct node_control *c, const struct raft_message *m)
{
	(void)c;
	assert_true(sent_count < 8);
	sent[sent_count++] = *m;
}

static void test_keep_flush_carry(void **state)
{
	(void)state;
	static struct node_commit_defer d;
	memset(&d, 0, sizeof(d));
	sent_count = 0;
	node_commit_defer_round(&d);
	/* Not commit-only, or with entries: not kept. */
	struct raft_message hb = append(2, 10, 10, false, 0);
	assert_false(node_commit_defer_keep(&d, &hb));
	struct raft_message with = append(2, 10, 10, false, 1);
	assert_false(node_commit_defer_keep(&d, &with));
	struct raft_message v = {.type = RAFT_MSG_VOTE, .to = 2, .term = 3};
	assert_false(node_commit_defer_keep(&d, &v));
	/* Commit-only to 2 and 3: kept; a newer one to 2 replaces the first. */
	struct raft_message c2 = append(2, 10, 9, true, 0);
	struct raft_message c3 = append(3, 10, 9, true, 0);
	struct raft_message c2b = append(2, 10, 10, true, 0);
	assert_true(node_commit_defer_keep(&d, &c2));
	assert_true(node_commit_defer_keep(&d, &c3));
	assert_true(node_commit_defer_keep(&d, &c2b));
	assert_int_equal(d.count, 2);
	/* The round that kept them sends nothing, and stays awake. */
	assert_int_equal(node_commit_defer_flush(&d, NULL, record), 2);
	assert_int_equal(sent_count, 0);
	/* Next round: an append to 3 with another check does not carry it;
	 * one to 2 with the same check and commit >= does. */
	node_commit_defer_round(&d);
	struct raft_message other = append(3, 11, 10, false, 1);
	node_commit_defer_carried(&d, &other);
	assert_int_equal(d.count, 2);
	struct raft_message lower = append(2, 10, 8, false, 2);
	node_commit_defer_carried(&d, &lower); /* an older commit index: kept */
	assert_int_equal(d.count, 2);
	struct raft_message carrier = append(2, 10, 10, false, 2);
	node_commit_defer_carried(&d, &carrier);
	assert_int_equal(d.count, 1);
	assert_int_equal(d.merged_total, 2); /* the replaced one and the carried one */
	/* The flush sends what the earlier round kept: the update to 3. */
	assert_int_equal(node_commit_defer_flush(&d, NULL, record), 0);
	assert_int_equal(sent_count, 1);
	assert_int_equal(sent[0].to, 3);
	assert_true(sent[0].append.commit_only);
	assert_int_equal(sent[0].append.commit_index, 9);
	assert_null(sent[0].append.entries);
	/* One kept now is sent by the next round's flush, not this one's. */
	struct raft_message c3b = append(3, 12, 12, true, 0);
	assert_true(node_commit_defer_keep(&d, &c3b));
	assert_int_equal(node_commit_defer_flush(&d, NULL, record), 1);
	assert_int_equal(sent_count, 1);
	node_commit_defer_round(&d);
	assert_int_equal(node_commit_defer_flush(&d, NULL, record), 0);
	assert_int_equal(sent_count, 2);
	assert_int_equal(sent[1].append.commit_index, 12);
	assert_int_equal(d.kept_total, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_flush_carry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
