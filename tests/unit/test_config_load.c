/* SPDX-License-Identifier: MIT */
/*
 * Goal: the configuration loader (config/config.c) accepts the documented example
 * (config/example.ini), applies per-node overrides and %i, and refuses each
 * class of bad configuration with one message naming the file, the line
 * and the key.
 * Method: the example file as shipped (its secret_file pointed at a scratch
 * file), then small INI texts with one fault each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char secret_path[64];

static int setup(void **state)
{
	(void)state;
	snprintf(secret_path, sizeof(secret_path), "/tmp/raftnode-secret-XXXXXX");
	int fd = mkstemp(secret_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789abcdef0123456789abcdef", 32), 32);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(secret_path);
	return 0;
}

/* The example file, with its secret_file line pointed at our scratch one. */
static char *example_text(void)
{
	FILE *f = fopen(RN_SOURCE_ROOT "/config/example.ini", "r");
	assert_non_null(f);
	char *text = calloc(1, 1 << 16);
	char line[512];
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "secret_file", 11) == 0) {
			snprintf(line, sizeof(line), "secret_file = %s\n", secret_path);
		}
		strcat(text, line);
	}
	fclose(f);
	return text;
}

static void test_example_parses(void **state)
{
	(void)state;
	char *text = example_text();
	struct node_config c;
	char err[512];
	int rc = node_config_parse_string(text, "example.ini", 1, &c, err, sizeof(err));
	if (rc != 0) {
		fail_msg("%s", err);
	}
	assert_int_equal(c.cluster_id, 7);
	assert_int_equal(c.members_count, 3);
	assert_string_equal(c.members[2].ip, "10.77.0.3");
	assert_false(c.members[2].mac_auto);
	assert_int_equal(c.members[2].mac[5], 3);
	assert_int_equal(c.members[2].host, 2);
	assert_string_equal(c.data_dir, "/var/lib/raftnode/node1");
	assert_string_equal(c.dpdk_port, "net_af_packet1,iface=rn1");
	assert_int_equal(c.idle, NODE_IDLE_EVENT);
	assert_int_equal(c.durability, NODE_DURABILITY_DSYNC);
	assert_int_equal(c.log_write, NODE_LOG_WRITE_DIRECT);
	assert_int_equal(c.uncommitted_bytes_max, 64u << 20);
	assert_int_equal(c.kv.value_bytes_max, 1024);
	assert_int_equal(c.kv.session_window, 256);
	/* Node 3 takes its [node.3] overrides, whatever the section order. */
	assert_int_equal(node_config_parse_string(text, "example.ini", 3, &c, err, sizeof(err)), 0);
	assert_string_equal(c.dpdk_port, "0000:03:00.0");
	assert_string_equal(c.lcore_map, "rxtx:5,log:3,control:2,apply:4");
	assert_int_equal(c.stage_lcore[NODE_STAGE_RXTX], 5);
	assert_int_equal(c.mtu_bytes, 9000);
	assert_int_equal(c.idle, NODE_IDLE_BUSY);
	assert_string_equal(c.data_dir, "/var/lib/raftnode/node3");
	/* Node 4 is not in the cluster. */
	assert_int_equal(node_config_parse_string(text, "example.ini", 4, &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "node 4 is not a member"));
	assert_non_null(strstr(err, "--join"));
	free(text);
}

/* [cluster] initial_members: the first configuration is the ids listed;
 * the other [member.N] only say where a node that joins later is. */
static void test_initial_members(void **state)
{
	(void)state;
	char *text = example_text();
	size_t with_bytes = strlen(text) + 64;
	char *with = malloc(with_bytes);
	assert_non_null(with);
	char *at = strstr(text, "[cluster]\n");
	assert_non_null(at);
	size_t head = (size_t)(at - text) + strlen("[cluster]\n");
	memcpy(with, text, head);
	snprintf(with + head, with_bytes - head, "initial_members = 1, 2\n%s", text + head);
	struct node_config c;
	char err[512];
	int rc = node_config_parse_string(with, "example.ini", 3, &c, err, sizeof(err));
	if (rc != 0) {
		fail_msg("%s", err);
	}
	assert_int_equal(c.members_count, 3);
	assert_int_equal(c.initial_count, 2);
	assert_true(c.members[0].initial);
	assert_true(c.members[1].initial);
	assert_false(c.members[2].initial);
	/* Without the key, every section is initial. */
	assert_int_equal(node_config_parse_string(text, "example.ini", 3, &c, err, sizeof(err)), 0);
	assert_int_equal(c.initial_count, 3);
	/* An initial member needs a section; ids are numbers, once each. */
	snprintf(with + head, with_bytes - head, "initial_members = 1,2,5\n%s", text + head);
	assert_int_equal(node_config_parse_string(with, "example.ini", 1, &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "initial_members"));
	snprintf(with + head, with_bytes - head, "initial_members = 1,1\n%s", text + head);
	assert_int_equal(node_config_parse_string(with, "example.ini", 1, &c, err, sizeof(err)),
			 -EINVAL);
	snprintf(with + head, with_bytes - head, "initial_members = 1,x\n%s", text + head);
	assert_int_equal(node_config_parse_string(with, "example.ini", 1, &c, err, sizeof(err)),
			 -EINVAL);
	free(with);
	free(text);
}

/* One fault per case: the message must name "cfg.ini:LINE: [SECTION] KEY". */
struct bad_case {
	const char *ini; /* %s: the secret file */
	const char *want;
};

static void test_bad_configs_name_line_and_key(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		{"[cluster]\nid = 1\nsecret_file = %s\nbogus = 3\n[member.1]\nip = 1.2.3.4\n"
		 "[node]\ndata_dir = /tmp/x\ntransport = udp\n",
		 "cfg.ini:4: [cluster] bogus: unknown key"},
		{"[cluster]\nid = 1\nsecret_file = %s\nelection_timeout_ms = soon\n[member.1]\n"
		 "ip = 1.2.3.4\n[node]\ndata_dir = /tmp/x\ntransport = udp\n",
		 "cfg.ini:4: [cluster] election_timeout_ms: bad value 'soon'"},
		{"[cluster]\nid = 1\nsecret_file = %s\nelection_timeout_ms = 100\n"
		 "heartbeat_interval_ms = 100\n[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\n"
		 "transport = udp\n",
		 "cfg.ini:5: [cluster] heartbeat_interval_ms: must be below election_timeout_ms"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[member.1]\nip = 1.2.3\n[node]\n"
		 "data_dir = /x\ntransport = udp\n",
		 "cfg.ini:5: [member.1] ip: bad value '1.2.3'"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[member.1]\nip = 1.2.3.4\nmac = 02:00:zz:00:00:01\n"
		 "[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:6: [member.1] mac: bad value"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[member.1]\nip = 1.2.3.4\n[node]\n"
		 "data_dir = /x\ntransport = carrier-pigeon\n",
		 "cfg.ini:8: [node] transport: bad value 'carrier-pigeon'"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[member.1]\nip = 1.2.3.4\n[node]\n"
		 "data_dir = /x\n",
		 "[node] dpdk_port: missing for transport = dpdk"},
		{"[cluster]\nid = 1\nsecret_file = /nonexistent/secret\n[member.1]\nip = 1.2.3.4\n"
		 "[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:3: [cluster] secret_file: cannot read '/nonexistent/secret'"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[storage]\nsnapshot_entries = 3\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:5: [storage] snapshot_entries: bad value '3'"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[storage]\nsegment_bytes = 1000000\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:5: [storage] segment_bytes: bad value '1000000'"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[storage]\nsnapshot = maybe\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:5: [storage] snapshot: bad value 'maybe'"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[storage]\nsegment_bytes = 1M\n"
		 "[limits]\nkv_value_bytes_max = 1M\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:5: [storage] segment_bytes: must hold two records"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[limits]\nuncommitted_bytes_max = 64X\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:5: [limits] uncommitted_bytes_max: bad value '64X'"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[clutser]\nid = 2\n",
		 "cfg.ini:5: [clutser] id: unknown section"},
		{"[cluster]\nid = 1\nsecret_file = %s\nthis line has no equals sign\n",
		 "cfg.ini:4: syntax error"},
		{"[cluster]\nsecret_file = %s\n[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\n"
		 "transport = udp\n",
		 "[cluster] id: missing"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[member.1]\nip = 1.2.3.4\n[node]\n"
		 "data_dir = /x\ntransport = udp\nlcore_map = rxtx:0,log:1,log:0,control:0,apply:0\n",
		 "cfg.ini:9: [node] lcore_map: stage 'log' is placed twice"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[member.1]\nip = 1.2.3.4\n[node]\n"
		 "data_dir = /x\ntransport = udp\nlcore_map = rxtx:0,log:1,control:0\n",
		 "cfg.ini:9: [node] lcore_map: no lcore for stage 'apply'"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[member.1]\nip = 1.2.3.4\n[node]\n"
		 "data_dir = /x\ntransport = udp\n[node.1]\nlcore_map = rxtx:0,disk:1\n",
		 "cfg.ini:10: [node.1] lcore_map: stage 'disk' does not exist"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[member.1]\nip = 1.2.3.4\n[node]\n"
		 "data_dir = /x\ntransport = udp\nlcore_map = rxtx:0,log:one\n",
		 "cfg.ini:9: [node] lcore_map: 'log:one' is not stage:lcore"},
		/* The session window: at least 1, at most the limit, and all
		 * sessions' windows together bounded. */
		{"[cluster]\nid = 1\nsecret_file = %s\n[limits]\nkv_session_window = 0\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:5: [limits] kv_session_window: bad value '0': results kept per client "
		 "session, 1..65536"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[limits]\nkv_session_window = 65537\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:5: [limits] kv_session_window: bad value '65537'"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[limits]\nkv_session_window = 65536\n"
		 "kv_clients_max = 16777216\n[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\n"
		 "transport = udp\n",
		 "cfg.ini:5: [limits] kv_session_window: kv_clients_max x kv_session_window = "
		 "1099511627776 results, more than 268435456"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[member.1]\nip = 1.2.3.4\n[node]\n"
		 "data_dir = /x\ntransport = udp\nlog_write = o_direct\n",
		 "cfg.ini:9: [node] log_write: bad value 'o_direct'"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[storage]\nsegment_bytes = 1000000\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:5: [storage] segment_bytes: bad value '1000000'"},
		{"[cluster]\nid = 1\nsecret_file = %s\n[storage]\nspace_reserve = 1M\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:5: [storage] space_reserve: unknown key"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char ini[1024], err[512];
		snprintf(ini, sizeof(ini), cases[i].ini, secret_path);
		struct node_config c;
		int rc = node_config_parse_string(ini, "cfg.ini", 1, &c, err, sizeof(err));
		if (rc != -EINVAL || strstr(err, cases[i].want) == NULL) {
			fail_msg("case %zu: rc %d, message '%s', want '%s'", i, rc, err,
				 cases[i].want);
		}
	}
	/* And the same texts, fixed, pass: the cases fail for their fault. */
	char ini[512], err[512];
	snprintf(ini, sizeof(ini),
		 "[cluster]\nid = 1\nsecret_file = %s\n[member.1]\nip = 1.2.3.4\n[node]\n"
		 "data_dir = /x\ntransport = udp\n",
		 secret_path);
	struct node_config c;
	int rc = node_config_parse_string(ini, "cfg.ini", 1, &c, err, sizeof(err));
	if (rc != 0) {
		fail_msg("fixed config refused: %s", err);
	}
	assert_int_equal(c.transport, NODE_TRANSPORT_UDP);
	assert_int_equal(c.members[0].udp_port, 9000);
	/* The log's defaults, chosen by scripts/bench-storage.sh. */
	assert_int_equal(c.durability, NODE_DURABILITY_DSYNC);
	assert_int_equal(c.log_write, NODE_LOG_WRITE_DIRECT);
	/* Every stage apart is taken, and parsed. */
	char ini2[1000];
	snprintf(ini2, sizeof(ini2),
		 "%slcore_map = rxtx:1, log:3, control:2, apply:4\ntimer_slack_us = 5\n"
		 "log_write = buffered\nlcore_nice = -7\n", ini);
	rc = node_config_parse_string(ini2, "cfg.ini", 1, &c, err, sizeof(err));
	if (rc != 0) {
		fail_msg("stages apart refused: %s", err);
	}
	assert_int_equal(c.stage_lcore[NODE_STAGE_LOG], 3);
	assert_int_equal(c.stage_lcore[NODE_STAGE_RXTX], 1);
	assert_int_equal(c.stage_lcore[NODE_STAGE_CONTROL], 2);
	assert_int_equal(c.stage_lcore[NODE_STAGE_APPLY], 4);
	assert_int_equal(c.timer_slack_us, 5);
	assert_int_equal(c.log_write, NODE_LOG_WRITE_BUFFERED);
	assert_int_equal(c.lcore_nice, -7);
	/* Out of setpriority's range, or not a number: refused with the key. */
	static const char *const bad_nice[] = {"-21", "20", "x", "-", "--1"};
	for (size_t i = 0; i < sizeof(bad_nice) / sizeof(bad_nice[0]); i++) {
		snprintf(ini2, sizeof(ini2), "%slcore_nice = %s\n", ini, bad_nice[i]);
		assert_int_not_equal(node_config_parse_string(ini2, "cfg.ini", 1, &c, err, sizeof(err)), 0);
		assert_non_null(strstr(err, "lcore_nice"));
	}
	/* The lcores' scheduler slice: the default, a value taken; below the kernel's
	 * 100 us, above its 100 ms, or not a number: refused with the key. */
	assert_int_equal(c.sched_slice_us, 100);
	snprintf(ini2, sizeof(ini2), "%ssched_slice_us = 250\n", ini);
	rc = node_config_parse_string(ini2, "cfg.ini", 1, &c, err, sizeof(err));
	if (rc != 0) {
		fail_msg("a slice of 250 us refused: %s", err);
	}
	assert_int_equal(c.sched_slice_us, 250);
	static const char *const bad_slice[] = {"99", "100001", "x", "-1"};
	for (size_t i = 0; i < sizeof(bad_slice) / sizeof(bad_slice[0]); i++) {
		snprintf(ini2, sizeof(ini2), "%ssched_slice_us = %s\n", ini, bad_slice[i]);
		assert_int_not_equal(node_config_parse_string(ini2, "cfg.ini", 1, &c, err, sizeof(err)), 0);
		assert_non_null(strstr(err, "sched_slice_us"));
	}
	/* The session window: the default, and a value taken. */
	assert_int_equal(c.kv.session_window, 256);
	snprintf(ini2, sizeof(ini2), "%s[limits]\nkv_session_window = 1\n", ini);
	rc = node_config_parse_string(ini2, "cfg.ini", 1, &c, err, sizeof(err));
	if (rc != 0) {
		fail_msg("a window of 1 refused: %s", err);
	}
	assert_int_equal(c.kv.session_window, 1);
	/* [storage]: the defaults, and values taken. */
	assert_true(c.snapshot);
	assert_int_equal(c.snapshot_entries, 1000000);
	assert_int_equal(c.compact_margin_entries, 100000);
	assert_int_equal(c.snapshot_write_bytes_per_s, 64u << 20);
	snprintf(ini2, sizeof(ini2), "%s[storage]\nsnapshot = off\nsnapshot_entries = 500\n"
		 "snapshot_log_bytes = 2M\ncompact_margin_entries = 0\nsegment_bytes = 1M\n"
		 "snapshot_write_bytes_per_s = 0\n", ini);
	rc = node_config_parse_string(ini2, "cfg.ini", 1, &c, err, sizeof(err));
	if (rc != 0) {
		fail_msg("[storage] refused: %s", err);
	}
	assert_false(c.snapshot);
	assert_int_equal(c.snapshot_entries, 500);
	assert_int_equal(c.snapshot_log_bytes, 2u << 20);
	assert_int_equal(c.compact_margin_entries, 0);
	assert_int_equal(c.segment_bytes, 1u << 20);
	assert_int_equal(c.snapshot_write_bytes_per_s, 0);
	/* Below one chunk a second: refused, with the key named. */
	snprintf(ini2, sizeof(ini2), "%s[storage]\nsnapshot_write_bytes_per_s = 4K\n", ini);
	rc = node_config_parse_string(ini2, "cfg.ini", 1, &c, err, sizeof(err));
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(err, "snapshot_write_bytes_per_s"));
}

/* A base text every case below extends (node 1 reads it). */
#define T_BASE "[cluster]\nid = 1\nsecret_file = %s\n[member.1]\nip = 1.2.3.4\n" \
	       "[member.3]\nip = 1.2.3.5\n[node]\ndata_dir = /x\ntransport = udp\n"

static int parse_with(const char *tail, raft_node_id self, struct node_config *c, char *err,
		      size_t err_bytes)
{
	char ini[2048];
	int n = snprintf(ini, sizeof(ini), T_BASE, secret_path);
	assert_true(n > 0 && (size_t)n < sizeof(ini));
	snprintf(ini + n, sizeof(ini) - (size_t)n, "%s", tail);
	return node_config_parse_string(ini, "cfg.ini", self, c, err, err_bytes);
}

static void expect_refused(const char *tail, const char *want)
{
	struct node_config c;
	char err[512];
	int rc = parse_with(tail, 1, &c, err, sizeof(err));
	if (rc != -EINVAL || strstr(err, want) == NULL) {
		fail_msg("'%s': rc %d, message '%s', want '%s'", tail, rc, err, want);
	}
}

/* A key given twice in one section names both lines; the same key in
 * [node] and [node.1] is an override, not a duplicate. */
static void test_duplicate_key(void **state)
{
	(void)state;
	/* T_BASE is 10 lines: the tail starts at line 11. */
	expect_refused("[limits]\nkv_keys_max = 5\nkv_keys_max = 6\n",
		       "cfg.ini:13: [limits] kv_keys_max: given twice in [limits] (first at line 12)");
	expect_refused("[limits]\nkv_keys_max = 5\n[storage]\nsnapshot = on\n[limits]\n"
		       "kv_keys_max = 5\n", "cfg.ini:16: [limits] kv_keys_max: given twice");
	expect_refused("[member.3]\nudp_port = 9001\nudp_port = 9002\n",
		       "cfg.ini:13: [member.3] udp_port: given twice");
	expect_refused("[cluster]\nid = 2\n", "cfg.ini:12: [cluster] id: given twice in [cluster] "
		       "(first at line 2)");
	expect_refused("[node]\ntransport = udp\n", "cfg.ini:12: [node] transport: given twice");
	expect_refused("[node.3]\nidle = busy\n[node.3]\nidle = event\n",
		       "cfg.ini:14: [node.3] idle: given twice");
	struct node_config c;
	char err[512];
	int rc = parse_with("[node.1]\ntransport = udp\n[node.3]\ntransport = udp\n", 1, &c, err,
			    sizeof(err));
	if (rc != 0) {
		fail_msg("overrides refused: %s", err);
	}
}

/* Another node's [node.N] is checked as that node would check it. */
static void test_other_node_section(void **state)
{
	(void)state;
	expect_refused("[node.3]\nbogus = 1\n", "cfg.ini:12: [node.3] bogus: unknown key");
	expect_refused("[node.3]\ntransport = pigeon\n",
		       "cfg.ini:12: [node.3] transport: bad value 'pigeon'");
	expect_refused("[node.3]\nlcore_map = rxtx:0\n",
		       "cfg.ini:12: [node.3] lcore_map: no lcore for stage 'log'");
	expect_refused("[node.3]\nmtu_bytes = 100\n", "cfg.ini:12: [node.3] mtu_bytes: bad value");
	expect_refused("[member.3]\nport = 9000\n", "cfg.ini:12: [member.3] port: unknown key");
	/* Its %i is its own id, and its values stay its own. */
	struct node_config c;
	char err[512];
	int rc = parse_with("[node.3]\ndata_dir = /d%i\nidle = busy\n", 1, &c, err, sizeof(err));
	if (rc != 0) {
		fail_msg("[node.3] refused by node 1: %s", err);
	}
	assert_string_equal(c.data_dir, "/x");
	assert_int_equal(c.idle, NODE_IDLE_EVENT);
	assert_int_equal(parse_with("[node.3]\ndata_dir = /d%i\n", 3, &c, err, sizeof(err)), 0);
	assert_string_equal(c.data_dir, "/d3");
}

/* Is `key` of `section` in the example file (a commented-out line counts:
 * it documents the key)? */
static bool example_has(const char *text, const char *section, const char *key)
{
	char current[64] = "";
	size_t k = strlen(key);
	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *s = p + strspn(p, " \t");
		if (*s == '[') {
			sscanf(s, "[%63[^].]", current);
		} else {
			s += *s == ';' ? 1 + strspn(s + 1, " ") : 0;
			if (strcmp(current, section) == 0 && strncmp(s, key, k) == 0 &&
			    (s[k] == ' ' || s[k] == '=')) {
				return true;
			}
		}
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	return false;
}

/* Every key of the table is classified, documented, found again; an
 * agreed key says where its value is. */
static void test_keys_classified(void **state)
{
	(void)state;
	size_t count = 0;
	const struct node_config_key *keys = node_config_keys(&count);
	assert_true(count >= 40);
	char *text = example_text();
	size_t agreed = 0;
	for (size_t i = 0; i < count; i++) {
		const struct node_config_key *k = &keys[i];
		if (k->scope != NODE_KEY_LOCAL && k->scope != NODE_KEY_CLUSTER &&
		    k->scope != NODE_KEY_AGREED) {
			fail_msg("[%s] %s: not classified (scope %u)", k->section, k->key, k->scope);
		}
		if (k->scope == NODE_KEY_AGREED) {
			agreed++;
			assert_true(k->value_bytes == 1 || k->value_bytes == 2 || k->value_bytes == 4 ||
				    k->value_bytes == 8);
			assert_true(k->value_offset + k->value_bytes <= sizeof(struct node_config));
		} else {
			assert_int_equal(k->value_bytes, 0);
		}
		for (size_t j = 0; j < i; j++) {
			assert_false(strcmp(keys[j].section, k->section) == 0 &&
				     strcmp(keys[j].key, k->key) == 0);
		}
		char section[32];
		snprintf(section, sizeof(section), "%s%s", k->section,
			 strcmp(k->section, "member") == 0 ? ".1" : "");
		assert_ptr_equal(node_config_key_find(section, k->key), k);
		if (!example_has(text, k->section, k->key)) {
			fail_msg("[%s] %s: not in config/example.ini", k->section, k->key);
		}
	}
	assert_int_equal(agreed, 6); /* id and the five kv_* limits */
	/* What the issue names: limits agreed, the node's own keys local. */
	assert_int_equal(node_config_key_find("limits", "kv_value_bytes_max")->scope,
			 NODE_KEY_AGREED);
	assert_int_equal(node_config_key_find("cluster", "id")->scope, NODE_KEY_AGREED);
	static const char *const local[] = {"data_dir", "lcores", "transport", "metrics_addr"};
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		assert_int_equal(node_config_key_find("node.2", local[i])->scope, NODE_KEY_LOCAL);
	}
	assert_null(node_config_key_find("node", "bogus"));
	assert_null(node_config_key_find("nodes", "data_dir"));
	free(text);
}

static uint64_t fp_of(const char *tail)
{
	struct node_config c;
	char err[512];
	int rc = parse_with(tail, 1, &c, err, sizeof(err));
	if (rc != 0) {
		fail_msg("'%s' refused: %s", tail, err);
	}
	return node_settings_fp(&c, 6);
}

/* The fingerprint moves with each agreed setting and with the protocol,
 * not with a node-local or unchecked one; values compare as parsed. */
static void test_settings_fingerprint(void **state)
{
	(void)state;
	uint64_t base = fp_of("");
	assert_int_not_equal(base, 0);
	assert_int_equal(fp_of("[limits]\nkv_value_bytes_max = 1K\n"), base); /* the default */
	assert_int_not_equal(fp_of("[limits]\nkv_value_bytes_max = 4096\n"), base);
	static const char *const same[] = {
		"[node]\nidle = busy\n", "[node.1]\ndata_dir = /y\n", "[node]\nlcores = 0,1\n",
		"[cluster]\nelection_timeout_ms = 1000\n", "[cluster]\ntick_ms = 5\n",
		"[limits]\nbatch_entries_max = 64\n", "[limits]\ninflight_appends_max = 8\n",
		"[storage]\nsnapshot = off\n", "[storage]\nsnapshot_entries = 5000\n",
		"[member.3]\nudp_port = 9100\n", "[node]\nmetrics_addr = 127.0.0.1:9200\n",
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		if (fp_of(same[i]) != base) {
			fail_msg("'%s' moved the fingerprint", same[i]);
		}
	}
	/* Each agreed key, walked from the table: one value changed moves it. */
	struct node_config c;
	char err[512];
	assert_int_equal(parse_with("", 1, &c, err, sizeof(err)), 0);
	size_t count = 0;
	const struct node_config_key *keys = node_config_keys(&count);
	for (size_t i = 0; i < count; i++) {
		if (keys[i].scope != NODE_KEY_AGREED) {
			continue;
		}
		struct node_config d = c;
		((uint8_t *)&d)[keys[i].value_offset] ^= 1;
		if (node_settings_fp(&d, 6) == base) {
			fail_msg("[%s] %s did not move the fingerprint", keys[i].section, keys[i].key);
		}
	}
	assert_int_not_equal(node_settings_fp(&c, 7), base);
	/* The text the SETTINGS frame carries, and room for the largest values. */
	char text[NODE_SETTINGS_TEXT_BYTES_MAX];
	int n = node_settings_text(&c, 6, text, sizeof(text));
	assert_true(n > 0);
	assert_string_equal(text, "wire_version=6;id=1;kv_keys_max=65536;kv_key_bytes_max=64;"
				  "kv_value_bytes_max=1024;kv_clients_max=4096;kv_session_window=256");
	assert_int_equal(node_settings_hash(text, (size_t)n), base);
	memset(&c, 0xff, sizeof(c));
	assert_true(node_settings_text(&c, UINT32_MAX, text, sizeof(text)) > 0);
	assert_int_equal(node_settings_text(&c, 6, text, 16), -1);
}

static void test_missing_file(void **state)
{
	(void)state;
	struct node_config c;
	char err[512];
	assert_int_equal(node_config_load("/nonexistent/raftnode.ini", 1, &c, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/raftnode.ini: cannot open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_parses),
		cmocka_unit_test(test_initial_members),
		cmocka_unit_test(test_bad_configs_name_line_and_key),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_other_node_section),
		cmocka_unit_test(test_keys_classified),
		cmocka_unit_test(test_settings_fingerprint),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
