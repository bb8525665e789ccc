/* SPDX-License-Identifier: MIT */
/*
 * test_client_config.c - rn_client_config_load and its default path.
 *
 * Goal: a client reads the nodes' own INI file (members, cluster id, the
 * client key file's key; never the peer key file, which is the nodes')
 * even when the cluster has no node 1, and every error names the file at
 * fault: the key path that cannot be read, a key of the wrong size, a key
 * file others may read. Method: write small INI and key files to a scratch
 * directory and load them.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rn_client.h"

struct scratch {
	char dir[256];
	char ini[300];
	char secret[300];
};

static void scratch_make(struct scratch *s)
{
	const char *base = getenv("TMPDIR");
	snprintf(s->dir, sizeof(s->dir), "%s/raftnode-client-XXXXXX", base != NULL ? base : "/tmp");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->ini, sizeof(s->ini), "%s/cluster.ini", s->dir);
	snprintf(s->secret, sizeof(s->secret), "%s/secret", s->dir);
}

static void scratch_remove(struct scratch *s)
{
	unlink(s->ini);
	unlink(s->secret);
	assert_int_equal(rmdir(s->dir), 0);
}

static void write_file(const char *path, const char *text, size_t bytes)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, bytes, f), bytes);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0600), 0); /* key files must be */
}

/* A two-node cluster, members 2 and 3 (no node 1), kernel UDP transport. */
static void write_ini(const struct scratch *s, const char *secret_path)
{
	char text[1024];
	int n = snprintf(text, sizeof(text),
			 "[cluster]\nid = 42\npeer_key_file = /nonexistent/peer.key\n"
			 "client_key_file = %s\n"
			 "[member.2]\nip = 10.77.0.2\nudp_port = 9002\n"
			 "[member.3]\nip = 10.77.0.3\nudp_port = 9003\n"
			 "[node]\ndata_dir = /tmp/n%%i\ntransport = udp\n",
			 secret_path);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	write_file(s->ini, text, (size_t)n);
}

static void test_config_load(void **state)
{
	(void)state;
	struct scratch s;
	scratch_make(&s);
	static const char key[] =
		"101 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	write_file(s.secret, key, sizeof(key) - 1);
	write_ini(&s, s.secret);
	struct rn_client_config cfg;
	char errmsg[512];
	int rc = rn_client_config_load(s.ini, &cfg, errmsg, sizeof(errmsg));
	if (rc != 0) {
		fail_msg("load failed: %s", errmsg);
	}
	assert_int_equal(cfg.cluster_id, 42);
	assert_int_equal(cfg.nodes_count, 2);
	assert_int_equal(cfg.nodes[0].id, 2);
	assert_int_equal(cfg.nodes[0].ip, 0x0a4d0002u); /* host byte order */
	assert_int_equal(cfg.nodes[0].udp_port, 9002);
	assert_int_equal(cfg.nodes[1].id, 3);
	assert_int_equal(cfg.client_key.count, 1);
	assert_int_equal(cfg.client_key.key_id[0], 101);
	assert_int_equal(cfg.client_key.secret_bytes[0], 32);
	assert_int_equal(cfg.client_key.secret[0][31], 0x1f);
	assert_true(cfg.follow_redirects);
	/* The loaded configuration opens a client. */
	struct rn_client *c = NULL;
	assert_int_equal(rn_client_open(&cfg, &c), 0);
	assert_int_equal(rn_client_target(c), 2);
	assert_int_equal(rn_client_set_target(c, 1), -RN_CLIENT_E_BAD_NODE);
	assert_int_equal(rn_client_set_target(c, 3), 0);
	rn_client_close(c);
	scratch_remove(&s);
}

static void test_config_bad_secret_path(void **state)
{
	(void)state;
	struct scratch s;
	scratch_make(&s);
	char missing[400];
	snprintf(missing, sizeof(missing), "%s/no-such-secret", s.dir);
	write_ini(&s, missing);
	struct rn_client_config cfg;
	char errmsg[512];
	assert_true(rn_client_config_load(s.ini, &cfg, errmsg, sizeof(errmsg)) < 0);
	if (strstr(errmsg, missing) == NULL) {
		fail_msg("message does not name %s: %s", missing, errmsg);
	}
	scratch_remove(&s);
}

static void test_config_short_secret(void **state)
{
	(void)state;
	struct scratch s;
	scratch_make(&s);
	write_file(s.secret, "101 0011\n", 9);
	write_ini(&s, s.secret);
	struct rn_client_config cfg;
	char errmsg[512];
	assert_int_equal(rn_client_config_load(s.ini, &cfg, errmsg, sizeof(errmsg)),
			 -DP_ERR_INVALID);
	if (strstr(errmsg, s.secret) == NULL) {
		fail_msg("message does not name %s: %s", s.secret, errmsg);
	}
	/* A key file group or others may read: refused, file and mode named. */
	static const char key[] = "101 000102030405060708090a0b0c0d0e0f\n";
	write_file(s.secret, key, sizeof(key) - 1);
	assert_int_equal(chmod(s.secret, 0644), 0);
	assert_int_equal(rn_client_config_load(s.ini, &cfg, errmsg, sizeof(errmsg)),
			 -DP_ERR_INVALID);
	if (strstr(errmsg, s.secret) == NULL || strstr(errmsg, "644") == NULL) {
		fail_msg("message does not name %s and 644: %s", s.secret, errmsg);
	}
	/* A missing configuration file names itself too. */
	char missing[400];
	snprintf(missing, sizeof(missing), "%s/absent.ini", s.dir);
	assert_true(rn_client_config_load(missing, &cfg, errmsg, sizeof(errmsg)) < 0);
	assert_non_null(strstr(errmsg, missing));
	scratch_remove(&s);
}

static void test_config_default_path(void **state)
{
	(void)state;
	assert_int_equal(unsetenv("RAFTNODE_CONFIG"), 0);
	assert_string_equal(rn_client_config_default_path(), RN_CLIENT_CONFIG_DEFAULT);
	assert_int_equal(setenv("RAFTNODE_CONFIG", "/x/y.ini", 1), 0);
	assert_string_equal(rn_client_config_default_path(), "/x/y.ini");
	assert_int_equal(unsetenv("RAFTNODE_CONFIG"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_load),
		cmocka_unit_test(test_config_bad_secret_path),
		cmocka_unit_test(test_config_short_secret),
		cmocka_unit_test(test_config_default_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
