/* SPDX-License-Identifier: MIT */
/*
 * Goal: untrusted input never crashes the core. Bad configurations and bad
 * recovered logs are refused by raft_create; messages from strangers, to
 * someone else, of unknown type or with inconsistent entries are dropped
 * and counted; assertion failures (programmer errors) reach cmocka.
 * Method: direct calls with crafted inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"

static void base_config(struct raft_config *c)
{
	raft_config_default(c);
	c->id = 1;
	c->members_count = 3;
	c->members[0] = 1;
	c->members[1] = 2;
	c->members[2] = 3;
}

static void test_bad_configs_refused(void **state)
{
	(void)state;
	struct raft_config c;
	struct raft_hard_state hs = {0};
	struct raft *r = NULL;

	base_config(&c);
	assert_int_equal(raft_create(&c, &hs, NULL, 0, &r), 0);
	raft_destroy(r);

	base_config(&c);
	c.id = 9; /* not a member: accepted (a learner-to-be), never campaigns */
	assert_int_equal(raft_create(&c, &hs, NULL, 0, &r), 0);
	raft_destroy(r);
	base_config(&c);
	c.learners_count = 1;
	c.learners[0] = 3; /* a voter and a learner at once */
	assert_int_equal(raft_create(&c, &hs, NULL, 0, &r), -RAFT_ERR_INVALID);
	base_config(&c);
	c.members_count = 0; /* no voter */
	assert_int_equal(raft_create(&c, &hs, NULL, 0, &r), -RAFT_ERR_INVALID);
	base_config(&c);
	c.members[2] = 2; /* duplicate */
	assert_int_equal(raft_create(&c, &hs, NULL, 0, &r), -RAFT_ERR_INVALID);
	base_config(&c);
	c.election_timeout_ticks = c.heartbeat_interval_ticks;
	assert_int_equal(raft_create(&c, &hs, NULL, 0, &r), -RAFT_ERR_INVALID);
	base_config(&c);
	c.log_entries_max = 1000; /* not a power of two */
	assert_int_equal(raft_create(&c, &hs, NULL, 0, &r), -RAFT_ERR_INVALID);
	base_config(&c);
	c.members_count = RAFT_NODES_MAX + 1;
	assert_int_equal(raft_create(&c, &hs, NULL, 0, &r), -RAFT_ERR_INVALID);
	base_config(&c);
	hs.vote = 7; /* a vote for a server added later in the log (§4.1) */
	assert_int_equal(raft_create(&c, &hs, NULL, 0, &r), 0);
	raft_destroy(r);
}

static void test_bad_recovered_log_refused(void **state)
{
	(void)state;
	struct raft_config c;
	struct raft_hard_state hs = {.term = 3};
	struct raft *r = NULL;
	struct raft_entry log[3] = {
		{.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
		{.term = 2, .index = 2, .type = RAFT_ENTRY_NORMAL},
		{.term = 3, .index = 3, .type = RAFT_ENTRY_NORMAL},
	};
	base_config(&c);
	assert_int_equal(raft_create(&c, &hs, log, 3, &r), 0);
	assert_int_equal(raft_last_index(r), 3);
	assert_int_equal(raft_persisted_index(r), 3);
	raft_destroy(r);

	log[2].index = 4; /* gap */
	assert_int_equal(raft_create(&c, &hs, log, 3, &r), -RAFT_ERR_INVALID);
	log[2].index = 3;
	log[2].term = 1; /* term goes backwards */
	assert_int_equal(raft_create(&c, &hs, log, 3, &r), -RAFT_ERR_INVALID);
	log[2].term = 4; /* newer than the hard state's term */
	assert_int_equal(raft_create(&c, &hs, log, 3, &r), -RAFT_ERR_INVALID);
}

static void test_bad_messages_dropped_and_counted(void **state)
{
	(void)state;
	struct raft_config c;
	struct raft_hard_state hs = {0};
	struct raft *r = NULL;
	struct raft_update u;
	struct raft_counters counters;

	base_config(&c);
	assert_int_equal(raft_create(&c, &hs, NULL, 0, &r), 0);
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
	ev.receive.type = RAFT_MSG_APPEND;
	ev.receive.from = 1; /* ourselves: a stranger (unknown ids are heard, §4.1) */
	ev.receive.to = 1;
	ev.receive.term = 5;
	raft_step(r, &ev, &u);
	ev.receive.from = 2;
	ev.receive.to = 3; /* not for us */
	raft_step(r, &ev, &u);
	raft_get_counters(r, &counters);
	assert_int_equal(counters.msgs_dropped_foreign, 2);

	ev.receive.to = 1;
	ev.receive.type = 200; /* unknown type */
	raft_step(r, &ev, &u);
	struct raft_entry entries[2] = {
		{.term = 5, .index = 1, .type = RAFT_ENTRY_NORMAL},
		{.term = 5, .index = 3, .type = RAFT_ENTRY_NORMAL}, /* gap */
	};
	ev.receive.type = RAFT_MSG_APPEND;
	ev.receive.append.prev_index = 0;
	ev.receive.append.entries = entries;
	ev.receive.append.entries_count = 2;
	raft_step(r, &ev, &u);
	entries[1].index = 2;
	entries[1].term = 6; /* newer than the message's term */
	raft_step(r, &ev, &u);
	ev.receive.append.entries = NULL; /* count without entries */
	raft_step(r, &ev, &u);
	raft_get_counters(r, &counters);
	assert_int_equal(counters.msgs_dropped_invalid, 4);
	assert_int_equal(raft_last_index(r), 0);
	assert_int_equal(raft_current_term(r), 0); /* nothing was believed */

	/* A well-formed append is accepted. */
	entries[1].term = 5;
	ev.receive.append.entries = entries;
	raft_step(r, &ev, &u);
	assert_int_equal(raft_last_index(r), 2);
	assert_int_equal(raft_current_term(r), 5);
	raft_destroy(r);
}

static void test_unknown_event_refused(void **state)
{
	(void)state;
	struct raft_config c;
	struct raft_hard_state hs = {0};
	struct raft *r = NULL;
	struct raft_update u;

	base_config(&c);
	assert_int_equal(raft_create(&c, &hs, NULL, 0, &r), 0);
	struct raft_event ev = {.type = 99};
	assert_int_equal(raft_step(r, &ev, &u), -RAFT_ERR_INVALID);
	raft_destroy(r);
}

static void test_programmer_error_reaches_cmocka(void **state)
{
	(void)state;
	struct raft_update u;
	struct raft_event ev = {.type = RAFT_EVENT_TICK};
	/* raft_step asserts its arguments: a NULL core is a programmer error. */
	expect_assert_failure(raft_step(NULL, &ev, &u));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_configs_refused),
		cmocka_unit_test(test_bad_recovered_log_refused),
		cmocka_unit_test(test_bad_messages_dropped_and_counted),
		cmocka_unit_test(test_unknown_event_refused),
		cmocka_unit_test(test_programmer_error_reaches_cmocka),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
