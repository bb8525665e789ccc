/* SPDX-License-Identifier: MIT */
/*
 * Goal: the configuration loader (config/config.c) accepts the documented example
 * (config/example.ini), applies per-node overrides and %i, and refuses each
 * class of bad configuration with one message naming the file, the line
 * and the key.
 * Method: the example file as shipped (its peer_key_file pointed at a
 * scratch file), then small INI texts with one fault each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
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

/* The example file, with its peer_key_file line pointed at our scratch one. */
static char *example_text(void)
{
	FILE *f = fopen(RN_SOURCE_ROOT "/config/example.ini", "r");
	assert_non_null(f);
	char *text = calloc(1, 1 << 16);
	char line[512];
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "peer_key_file", 13) == 0) {
			snprintf(line, sizeof(line), "peer_key_file = %s\n", secret_path);
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
	const char *ini; /* %s: the peer key file */
	const char *want;
};

static void test_bad_configs_name_line_and_key(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\nbogus = 3\n[member.1]\nip = 1.2.3.4\n"
		 "[node]\ndata_dir = /tmp/x\ntransport = udp\n",
		 "cfg.ini:5: [cluster] bogus: bad value '3' (or an unknown key)"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\nelection_timeout_ms = soon\n[member.1]\n"
		 "ip = 1.2.3.4\n[node]\ndata_dir = /tmp/x\ntransport = udp\n",
		 "cfg.ini:5: [cluster] election_timeout_ms: bad value 'soon'"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\nelection_timeout_ms = 100\n"
		 "heartbeat_interval_ms = 100\n[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\n"
		 "transport = udp\n",
		 "cfg.ini:6: [cluster] heartbeat_interval_ms: must be below election_timeout_ms"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[member.1]\nip = 1.2.3\n[node]\n"
		 "data_dir = /x\ntransport = udp\n",
		 "cfg.ini:6: [member.1] ip: bad value '1.2.3'"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[member.1]\nip = 1.2.3.4\nmac = 02:00:zz:00:00:01\n"
		 "[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:7: [member.1] mac: bad value"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[member.1]\nip = 1.2.3.4\n[node]\n"
		 "data_dir = /x\ntransport = carrier-pigeon\n",
		 "cfg.ini:9: [node] transport: bad value 'carrier-pigeon'"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[member.1]\nip = 1.2.3.4\n[node]\n"
		 "data_dir = /x\n",
		 "[node] dpdk_port: missing for transport = dpdk"},
		{"[cluster]\nid = 1\nsecret_file = /etc/raftnode/secret\n[member.1]\nip = 1.2.3.4\n"
		 "[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:3: [cluster] secret_file: no longer read: nodes seal consensus frames with "
		 "peer_key_file"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[storage]\nsnapshot_entries = 3\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:6: [storage] snapshot_entries: bad value '3'"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[storage]\nsegment_bytes = 1000000\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:6: [storage] segment_bytes: bad value '1000000'"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[storage]\nsnapshot = maybe\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:6: [storage] snapshot: bad value 'maybe'"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[storage]\nsegment_bytes = 1M\n"
		 "[limits]\nkv_value_bytes_max = 1M\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:6: [storage] segment_bytes: must hold two records"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[limits]\nuncommitted_bytes_max = 64X\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:6: [limits] uncommitted_bytes_max: bad value '64X'"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[clutser]\nid = 2\n",
		 "cfg.ini:6: [clutser] id: unknown section"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\nthis line has no equals sign\n",
		 "cfg.ini:5: syntax error"},
		{"[cluster]\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\n"
		 "transport = udp\n",
		 "[cluster] id: missing"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[member.1]\nip = 1.2.3.4\n[node]\n"
		 "data_dir = /x\ntransport = udp\nlcore_map = rxtx:0,log:1,log:0,control:0,apply:0\n",
		 "cfg.ini:10: [node] lcore_map: stage 'log' is placed twice"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[member.1]\nip = 1.2.3.4\n[node]\n"
		 "data_dir = /x\ntransport = udp\nlcore_map = rxtx:0,log:1,control:0\n",
		 "cfg.ini:10: [node] lcore_map: no lcore for stage 'apply'"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[member.1]\nip = 1.2.3.4\n[node]\n"
		 "data_dir = /x\ntransport = udp\n[node.1]\nlcore_map = rxtx:0,disk:1\n",
		 "cfg.ini:11: [node.1] lcore_map: stage 'disk' does not exist"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[member.1]\nip = 1.2.3.4\n[node]\n"
		 "data_dir = /x\ntransport = udp\nlcore_map = rxtx:0,log:one\n",
		 "cfg.ini:10: [node] lcore_map: 'log:one' is not stage:lcore"},
		/* The session window: at least 1, at most the limit, and all
		 * sessions' windows together bounded. */
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[limits]\nkv_session_window = 0\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:6: [limits] kv_session_window: bad value '0': results kept per client "
		 "session, 1..65536"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[limits]\nkv_session_window = 65537\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:6: [limits] kv_session_window: bad value '65537'"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[limits]\nkv_session_window = 65536\n"
		 "kv_clients_max = 16777216\n[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\n"
		 "transport = udp\n",
		 "cfg.ini:6: [limits] kv_session_window: kv_clients_max x kv_session_window = "
		 "1099511627776 results, more than 268435456"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[member.1]\nip = 1.2.3.4\n[node]\n"
		 "data_dir = /x\ntransport = udp\nlog_write = o_direct\n",
		 "cfg.ini:10: [node] log_write: bad value 'o_direct'"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[storage]\nsegment_bytes = 1000000\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:6: [storage] segment_bytes: bad value '1000000'"},
		{"[cluster]\nid = 1\npeer_key_file = %s\n"
		 "client_key_file = /k/client.key\n[storage]\nspace_reserve = 1M\n"
		 "[member.1]\nip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 "cfg.ini:6: [storage] space_reserve: bad value '1M' (or an unknown key)"},
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
		 "[cluster]\nid = 1\npeer_key_file = %s\nclient_key_file = %s\n[member.1]\n"
		 "ip = 1.2.3.4\n[node]\ndata_dir = /x\ntransport = udp\n",
		 secret_path, secret_path);
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
	snprintf(ini2, sizeof(ini2), "%s[storage]\nsnapshot = off\nsnapshot_entries = 500\n"
		 "snapshot_log_bytes = 2M\ncompact_margin_entries = 0\nsegment_bytes = 1M\n", ini);
	rc = node_config_parse_string(ini2, "cfg.ini", 1, &c, err, sizeof(err));
	if (rc != 0) {
		fail_msg("[storage] refused: %s", err);
	}
	assert_false(c.snapshot);
	assert_int_equal(c.snapshot_entries, 500);
	assert_int_equal(c.snapshot_log_bytes, 2u << 20);
	assert_int_equal(c.compact_margin_entries, 0);
	assert_int_equal(c.segment_bytes, 1u << 20);
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
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
