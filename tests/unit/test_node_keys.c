/* SPDX-License-Identifier: MIT */
/*
 * test_node_keys.c - a node's key files and their reload (node/keys.c), as
 * raftctl reload asks for it (node/control/admin.c takes a ticket, the
 * watcher answers it).
 *
 * Goal: the optional admin key file goes into the ring under the admin role
 * (dp_keyring_role tells an admin key from a client key, which is how
 * control refuses a reload sealed with a client key); a ticket is answered
 * by a reload begun after it, whose outcome names every key in force; a
 * reload that fails (a file mode 644, an id another role holds) answers
 * the error and leaves every key as it was; a rotation's second key shows
 * in the outcome. Method: key files in a scratch directory, the watcher
 * thread started on a ring, tickets taken as control takes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "keys.h"
#include "storage_util.h"

static char dir[SU_PATH_BYTES];
static struct node_config cfg;
static struct dp_keyring ring;

static void key_file(const char *name, const char *lines, mode_t mode)
{
	char path[SU_PATH_BYTES + 32];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(lines, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

#define HEX_A "000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"
#define HEX_B "101112131415161718191a1b1c1d1e1f101112131415161718191a1b1c1d1e1f"
#define HEX_C "202122232425262728292a2b2c2d2e2f202122232425262728292a2b2c2d2e2f"
#define HEX_D "303132333435363738393a3b3c3d3e3f303132333435363738393a3b3c3d3e3f"

static void path_in(char *out, size_t out_bytes, const char *name)
{
	int n = snprintf(out, out_bytes, "%s/%s", dir, name);
	assert_true(n > 0 && (size_t)n < out_bytes);
}

static int setup(void **state)
{
	(void)state;
	su_tmpdir(dir, sizeof(dir));
	memset(&cfg, 0, sizeof(cfg));
	memset(&ring, 0, sizeof(ring));
	cfg.self = 1;
	cfg.cluster_id = 7;
	path_in(cfg.peer_key_file, sizeof(cfg.peer_key_file), "peer.key");
	path_in(cfg.client_key_file, sizeof(cfg.client_key_file), "client.key");
	path_in(cfg.admin_key_file, sizeof(cfg.admin_key_file), "admin.key");
	key_file("peer.key", "1 " HEX_A "\n", 0600);
	key_file("client.key", "101 " HEX_B "\n", 0600);
	key_file("admin.key", "201 " HEX_C "\n", 0600);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	su_rmtree(dir);
	return 0;
}

static void test_admin_keys_have_their_role(void **state)
{
	(void)state;
	char err[512] = "";
	assert_int_equal(node_keys_load(&ring, &cfg, err, sizeof(err)), 0);
	assert_int_equal(dp_keyring_role(&ring, 1), DP_KEY_ROLE_PEER);
	assert_int_equal(dp_keyring_role(&ring, 101), DP_KEY_ROLE_CLIENT);
	assert_int_equal(dp_keyring_role(&ring, 201), DP_KEY_ROLE_ADMIN);
	assert_int_equal(dp_keyring_role(&ring, 5), -DP_ERR_UNKNOWN_KEY);
	char now[200];
	node_keys_describe(&ring, now, sizeof(now));
	assert_string_equal(now, "peer key 1 seals (1 accepted), client key 101 seals (1 accepted), "
				 "admin key 201 seals (1 accepted)");
	/* Without admin_key_file: no admin key, and the description says none. */
	struct dp_keyring plain = {0};
	cfg.admin_key_file[0] = '\0';
	assert_int_equal(node_keys_load(&plain, &cfg, err, sizeof(err)), 0);
	assert_int_equal(dp_keyring_role(&plain, 201), -DP_ERR_UNKNOWN_KEY);
	node_keys_describe(&plain, now, sizeof(now));
	assert_null(strstr(now, "admin"));
}

/* A ticket as control takes one, then the outcome once the watcher is
 * past it (bounded: 5 s is a hang, the watcher polls every 50 ms). */
static int reload_ticket(struct node_keys_watch *w, char *out, size_t out_bytes)
{
	uint64_t t = __atomic_add_fetch(&w->asked, 1, __ATOMIC_ACQ_REL);
	const struct timespec nap = {.tv_nsec = 5 * 1000 * 1000};
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&w->outcome_lock);
		bool done = w->done_upto >= t;
		int rc = w->outcome_rc;
		snprintf(out, out_bytes, "%s", w->outcome);
		pthread_mutex_unlock(&w->outcome_lock);
		if (done) {
			return rc;
		}
		nanosleep(&nap, NULL);
	}
	fail_msg("ticket %llu not answered in 5 s", (unsigned long long)t);
	return -1;
}

static void test_reload_tickets(void **state)
{
	(void)state;
	char err[512] = "", out[NODE_KEYS_OUTCOME_BYTES];
	assert_int_equal(node_keys_load(&ring, &cfg, err, sizeof(err)), 0);
	static struct node_keys_watch w;
	memset(&w, 0, sizeof(w));
	assert_int_equal(node_keys_watch_start(&w, &ring, &cfg), 0);

	assert_int_equal(reload_ticket(&w, out, sizeof(out)), 0);
	assert_string_equal(out, "{\"reload\":\"ok\",\"node\":1,\"reloads\":1,\"failures\":0,"
				 "\"peer\":{\"seals\":1,\"ids\":[1]},\"client\":{\"seals\":101,"
				 "\"ids\":[101]},\"admin\":{\"seals\":201,\"ids\":[201]}}");

	/* Stage 1 of a client key rotation: the new key accepted, the old seals. */
	key_file("client.key", "101 " HEX_B "\n102 " HEX_D "\n", 0600);
	assert_int_equal(reload_ticket(&w, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"client\":{\"seals\":101,\"ids\":[101,102]}"));
	assert_int_equal(dp_keyring_role(&ring, 102), DP_KEY_ROLE_CLIENT);

	/* A file others may read: refused, the error named, every key kept. */
	key_file("peer.key", "2 " HEX_C "0a\n", 0644);
	assert_int_not_equal(reload_ticket(&w, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "{\"reload\":\"refused\",\"node\":1,\"error\":\"key file "));
	assert_non_null(strstr(out, "mode 644"));
	assert_non_null(strstr(out, "\"failures\":1"));
	assert_non_null(strstr(out, "\"peer\":{\"seals\":1,\"ids\":[1]}"));
	assert_int_equal(dp_keyring_role(&ring, 1), DP_KEY_ROLE_PEER);
	assert_int_equal(dp_keyring_role(&ring, 2), -DP_ERR_UNKNOWN_KEY);

	/* An admin key under an id the client file holds: refused whole. */
	key_file("peer.key", "1 " HEX_A "\n", 0600);
	key_file("admin.key", "102 " HEX_C "\n", 0600);
	assert_int_not_equal(reload_ticket(&w, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "admin key file "));
	assert_non_null(strstr(out, "by another role"));
	assert_int_equal(dp_keyring_role(&ring, 201), DP_KEY_ROLE_ADMIN);
	assert_int_equal(dp_keyring_role(&ring, 102), DP_KEY_ROLE_CLIENT);

	/* Two tickets before the watcher looks: one reload answers both. */
	key_file("admin.key", "202 " HEX_C "0b\n", 0600);
	uint64_t reloads = w.reloads;
	__atomic_add_fetch(&w.asked, 1, __ATOMIC_ACQ_REL);
	assert_int_equal(reload_ticket(&w, out, sizeof(out)), 0);
	assert_true(w.reloads - reloads <= 2);
	assert_non_null(strstr(out, "\"admin\":{\"seals\":202,\"ids\":[202]}"));
	assert_int_equal(dp_keyring_role(&ring, 201), -DP_ERR_UNKNOWN_KEY);
	node_keys_watch_stop(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_admin_keys_have_their_role, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_tickets, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
