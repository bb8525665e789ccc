/* SPDX-License-Identifier: MIT */
/*
 * Goal: the settings check (node/control/settings_check.c) takes its text
 * and fingerprint from the configuration as config.h makes them, names
 * every setting that differs from a peer's SETTINGS text (and one that
 * only one side has), and shows refused peers in the status JSON.
 * Method: a configuration built in memory (node_config_default plus the
 * fields the check reads), peers' texts as the SETTINGS decoder gives them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "control/settings_check.h"

static struct dp_settings settings_of(const char *text)
{
	struct dp_settings s;
	assert_int_equal(dp_settings_decode((const uint8_t *)text, strlen(text), &s), 0);
	return s;
}

static void test_init_matches_config(void **state)
{
	(void)state;
	struct node_config cfg;
	node_config_default(&cfg);
	cfg.self = 2;
	cfg.cluster_id = 7;
	struct node_settings_check s;
	assert_int_equal(node_settings_check_init(&s, &cfg, DP_WIRE_VERSION), 0);
	assert_int_equal(s.fp, node_settings_fp(&cfg, DP_WIRE_VERSION));
	assert_int_equal(s.text_bytes, strlen(s.text));
	assert_non_null(strstr(s.text, "kv_value_bytes_max=1024"));
	assert_int_equal(node_settings_refused_count(&s), 0);
	cfg.kv.value_bytes_max = 4096;
	struct node_settings_check t;
	assert_int_equal(node_settings_check_init(&t, &cfg, DP_WIRE_VERSION), 0);
	assert_int_not_equal(t.fp, s.fp);
	/* Status before any refusal: the fingerprint, no peer. */
	char json[512];
	int n = node_settings_status(&s, json, sizeof(json));
	assert_true(n > 0);
	char want[128];
	snprintf(want, sizeof(want), "\"settings\":{\"fp\":\"%016llx\",\"dropped\":0,\"refused\":{}}",
		 (unsigned long long)s.fp);
	assert_string_equal(json, want);
	assert_int_equal(node_settings_status(&s, json, 20), -1);
}

static void test_diff_names_the_setting(void **state)
{
	(void)state;
	struct dp_settings ours = settings_of("wire_version=6;id=7;kv_value_bytes_max=1024");
	struct dp_settings theirs = settings_of("wire_version=6;id=7;kv_value_bytes_max=4096");
	char what[NODE_SETTINGS_WHAT_BYTES];
	assert_int_equal(node_settings_diff(&ours, &theirs, 3, what, sizeof(what)), 1);
	assert_string_equal(what, "kv_value_bytes_max = 1024 here, 4096 on node 3");
	assert_int_equal(node_settings_diff(&ours, &ours, 3, what, sizeof(what)), 0);
	assert_string_equal(what, "");
	/* Two differ, one only there, one only here: all named. */
	theirs = settings_of("kv_value_bytes_max=1;id=8;wire_version=6;extra=5");
	struct dp_settings mine = settings_of("wire_version=6;id=7;kv_value_bytes_max=1024;old=1");
	assert_int_equal(node_settings_diff(&mine, &theirs, 2, what, sizeof(what)), 4);
	assert_string_equal(what, "id = 7 here, 8 on node 2, kv_value_bytes_max = 1024 here, "
				  "1 on node 2, old = 1 here, (none) on node 2, extra = (none) "
				  "here, 5 on node 2");
	/* Cut to the buffer, still terminated, still counted. */
	assert_int_equal(node_settings_diff(&mine, &theirs, 2, what, 24), 4);
	assert_int_equal(strlen(what), 23);
}

static void test_status_names_refused_peer(void **state)
{
	(void)state;
	struct node_config cfg;
	node_config_default(&cfg);
	cfg.self = 1;
	cfg.cluster_id = 7;
	struct node_settings_check s;
	assert_int_equal(node_settings_check_init(&s, &cfg, DP_WIRE_VERSION), 0);
	s.dropped = 5;
	s.peers[0] = (struct node_settings_peer){.id = 3, .refused = true, .fp = 9};
	snprintf(s.peers[0].what, sizeof(s.peers[0].what),
		 "kv_value_bytes_max = 1024 here, 4096 on node 3");
	s.peers[1] = (struct node_settings_peer){.id = 2, .refused = false};
	assert_int_equal(node_settings_refused_count(&s), 1);
	char json[512];
	assert_true(node_settings_status(&s, json, sizeof(json)) > 0);
	assert_non_null(strstr(json, "\"dropped\":5,\"refused\":{\"3\":\"kv_value_bytes_max = "
				     "1024 here, 4096 on node 3\"}}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_matches_config),
		cmocka_unit_test(test_diff_names_the_setting),
		cmocka_unit_test(test_status_names_refused_peer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
