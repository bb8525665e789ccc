/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_wire_keys.c - identities and rotation (issue 17): the
 * peer key and client keys apart, key files and their mode, a rotation's
 * three stages.
 *
 * Method: node 2 holds a ring with the peer key (id 1) and the client key
 * (id 10); a client holds only the client key; node 1 holds what node 2
 * does. Each check seals a frame on one side and says what the other does
 * with it, drop reason and counter included.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "wire_internal.h"
#include "wire_util.h"

static uint8_t frame[DP_FRAME_BYTES_MAX];
static struct raft_entry entries[T_ENTRIES_MAX];
static char dir[] = "/tmp/rn-keys-XXXXXX";

static struct dp_key_file key_of(uint16_t id, uint8_t fill)
{
	struct dp_key_file f = {.count = 1, .key_id = {id}, .secret_bytes = {32}};
	memset(f.secret[0], fill, 32);
	return f;
}

static struct dp_key_file keys_of(uint16_t id0, uint8_t fill0, uint16_t id1, uint8_t fill1)
{
	struct dp_key_file f = key_of(id0, fill0);
	f.count = 2;
	f.key_id[1] = id1;
	f.secret_bytes[1] = 32;
	memset(f.secret[1], fill1, 32);
	return f;
}

static void ring_set(struct dp_keyring *k, enum dp_key_role role, struct dp_key_file f)
{
	char why[256] = "";
	int rc = dp_keyring_set(k, T_CLUSTER_ID, role, &f, why, sizeof(why));
	if (rc != 0) {
		fail_msg("dp_keyring_set: %s", why);
	}
}

static void wire_on(struct dp_wire *w, raft_node_id self, struct dp_keyring *k)
{
	struct dp_wire_config c = {.cluster_id = T_CLUSTER_ID, .self_id = self, .keys = k,
				   .udp_port = T_PORT};
	assert_int_equal(dp_wire_init(w, &c), 0);
}

static size_t heartbeat(const struct dp_wire *w, raft_node_id from, raft_node_id to)
{
	struct raft_message m = {.type = RAFT_MSG_HEARTBEAT, .from = from, .to = to, .term = 3};
	struct dp_endpoints a;
	t_addr(&a);
	int n = dp_wire_encode_raft(w, &a, 1, &m, NULL, frame, sizeof(frame));
	assert_true(n > 0);
	return (size_t)n;
}

static size_t put(const struct dp_wire *w, raft_node_id to, uint16_t reply_key_id, uint8_t type)
{
	struct dp_client_request req = {.client_id = 7, .request_seq = 1, .op = DP_CLIENT_PUT,
					.key = (const uint8_t *)"k", .key_bytes = 1};
	struct dp_client_reply rep = {.client_id = 7, .request_seq = 1, .status = DP_CLIENT_OK};
	struct dp_endpoints a;
	t_addr(&a);
	a.key_id = reply_key_id;
	int n = type == DP_FRAME_CLIENT_REQUEST
			? dp_wire_encode_request(w, &a, 1, to, &req, frame, sizeof(frame))
			: dp_wire_encode_reply(w, &a, 1, to, &rep, frame, sizeof(frame));
	assert_true(n > 0);
	return (size_t)n;
}

static int decode(struct dp_wire *w, size_t n, uint16_t *key_id)
{
	struct dp_rx_frame out;
	int rc = dp_wire_decode(w, frame, n, entries, T_ENTRIES_MAX, &out);
	if (rc == 0 && key_id != NULL) {
		*key_id = out.key_id;
	}
	return rc;
}

/* A client key can authenticate requests, never consensus traffic. */
static void test_roles_apart(void **state)
{
	(void)state;
	static struct dp_keyring node_keys, client_keys, forger_keys;
	struct dp_wire node1, node2, client, forger;
	ring_set(&node_keys, DP_KEY_ROLE_PEER, key_of(1, 0xa1));
	ring_set(&node_keys, DP_KEY_ROLE_CLIENT, key_of(10, 0xc1));
	ring_set(&client_keys, DP_KEY_ROLE_CLIENT, key_of(10, 0xc1));
	/* A forger puts the client key it holds where a node's peer key goes. */
	ring_set(&forger_keys, DP_KEY_ROLE_PEER, key_of(10, 0xc1));
	wire_on(&node1, 1, &node_keys);
	wire_on(&node2, 2, &node_keys);
	wire_on(&client, 0, &client_keys);
	wire_on(&forger, 1, &forger_keys);

	uint16_t id = 0;
	assert_int_equal(decode(&node2, heartbeat(&node1, 1, 2), &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(decode(&node2, put(&client, 2, 0, DP_FRAME_CLIENT_REQUEST), &id), 0);
	assert_int_equal(id, 10);
	/* The node answers under the request's key; the client checks it. */
	struct dp_wire client_rx;
	wire_on(&client_rx, 7, &client_keys);
	assert_int_equal(decode(&client_rx, put(&node2, 7, 10, DP_FRAME_CLIENT_REPLY), &id), 0);
	assert_int_equal(id, 10);

	/* The client's own ring has no peer key: what it seals as consensus
	 * carries key id 0, which no node holds. */
	assert_int_equal(decode(&node2, heartbeat(&client, 1, 2), NULL), -DP_ERR_UNKNOWN_KEY);
	/* Sealed with the client key as if it were the peer key: authentic,
	 * and dropped for the key's role. */
	assert_int_equal(decode(&node2, heartbeat(&forger, 1, 2), NULL), -DP_ERR_CLIENT_KEY);
	assert_int_equal(dp_wire_dropped(&node2.counters, DP_ERR_CLIENT_KEY), 1);
	assert_int_equal(dp_wire_dropped(&node2.counters, DP_ERR_UNKNOWN_KEY), 1);

	uint8_t k10[DP_KEY_BYTES], none[DP_KEY_BYTES];
	assert_int_equal(dp_wire_client_key(&node2, 10, k10), 0);
	assert_int_equal(dp_wire_client_key(&node2, 1, none), -DP_ERR_UNKNOWN_KEY);
	assert_memory_equal(k10, client_keys.slots[client_keys.seal_slot[DP_KEY_ROLE_CLIENT]].key_words,
			    DP_KEY_BYTES);
	char why[256];
	struct dp_key_file clash = key_of(1, 0xc2); /* id 1 is the peer key's */
	assert_int_equal(dp_keyring_set(&node_keys, T_CLUSTER_ID, DP_KEY_ROLE_CLIENT, &clash, why,
					 sizeof(why)),
			 -DP_ERR_INVALID);
	assert_non_null(strstr(why, "other role"));
	clash = key_of(10, 0xc2); /* id 10 with other bytes */
	assert_int_equal(dp_keyring_set(&node_keys, T_CLUSTER_ID, DP_KEY_ROLE_CLIENT, &clash, why,
					 sizeof(why)),
			 -DP_ERR_INVALID);
	assert_non_null(strstr(why, "new id"));
}

/* An admin key is a client key on the wire: it seals requests (the node
 * tells its role by dp_keyring_role), the reply goes out under it, and it
 * never passes for a peer key. */
static void test_admin_role(void **state)
{
	(void)state;
	static struct dp_keyring node_keys, admin_keys, forger_keys;
	struct dp_wire node2, admin, admin_rx, forger;
	ring_set(&node_keys, DP_KEY_ROLE_PEER, key_of(1, 0xa1));
	ring_set(&node_keys, DP_KEY_ROLE_CLIENT, key_of(10, 0xc1));
	ring_set(&node_keys, DP_KEY_ROLE_ADMIN, key_of(20, 0xd1));
	/* raftctl reload holds the admin key file as its client key. */
	ring_set(&admin_keys, DP_KEY_ROLE_CLIENT, key_of(20, 0xd1));
	ring_set(&forger_keys, DP_KEY_ROLE_PEER, key_of(20, 0xd1));
	wire_on(&node2, 2, &node_keys);
	wire_on(&admin, 0, &admin_keys);
	wire_on(&admin_rx, 7, &admin_keys);
	wire_on(&forger, 1, &forger_keys);

	assert_int_equal(dp_keyring_role(&node_keys, 1), DP_KEY_ROLE_PEER);
	assert_int_equal(dp_keyring_role(&node_keys, 10), DP_KEY_ROLE_CLIENT);
	assert_int_equal(dp_keyring_role(&node_keys, 20), DP_KEY_ROLE_ADMIN);
	assert_int_equal(dp_keyring_role(&node_keys, 30), -DP_ERR_UNKNOWN_KEY);
	uint16_t id = 0;
	assert_int_equal(decode(&node2, put(&admin, 2, 0, DP_FRAME_CLIENT_REQUEST), &id), 0);
	assert_int_equal(id, 20);
	assert_int_equal(decode(&admin_rx, put(&node2, 7, 20, DP_FRAME_CLIENT_REPLY), &id), 0);
	assert_int_equal(id, 20);
	uint8_t k[DP_KEY_BYTES];
	assert_int_equal(dp_wire_client_key(&node2, 20, k), 0); /* client encryption too */
	assert_int_equal(decode(&node2, heartbeat(&forger, 1, 2), NULL), -DP_ERR_CLIENT_KEY);
	/* The ring holds two keys of each role (six slots). */
	ring_set(&node_keys, DP_KEY_ROLE_PEER, keys_of(1, 0xa1, 2, 0xa2));
	ring_set(&node_keys, DP_KEY_ROLE_CLIENT, keys_of(10, 0xc1, 11, 0xc2));
	ring_set(&node_keys, DP_KEY_ROLE_ADMIN, keys_of(20, 0xd1, 21, 0xd2));
	assert_int_equal(dp_keyring_role(&node_keys, 2), DP_KEY_ROLE_PEER);
	assert_int_equal(dp_keyring_role(&node_keys, 11), DP_KEY_ROLE_CLIENT);
	assert_int_equal(dp_keyring_role(&node_keys, 21), DP_KEY_ROLE_ADMIN);
	assert_int_equal(decode(&node2, put(&admin, 2, 0, DP_FRAME_CLIENT_REQUEST), &id), 0);
	char why[256];
	struct dp_key_file clash = key_of(10, 0xc1); /* the client key's id */
	assert_int_equal(dp_keyring_set(&node_keys, T_CLUSTER_ID, DP_KEY_ROLE_ADMIN, &clash, why,
					 sizeof(why)),
			 -DP_ERR_INVALID);
	assert_non_null(strstr(why, "another role"));
}

/* The three stages: (old), (old, new), (new, old), (new). At every step
 * each node accepts what every node seals. */
static void test_rotation(void **state)
{
	(void)state;
	static struct dp_keyring a_keys, b_keys;
	struct dp_wire a, b;
	ring_set(&a_keys, DP_KEY_ROLE_PEER, key_of(1, 0x11));
	ring_set(&b_keys, DP_KEY_ROLE_PEER, key_of(1, 0x11));
	wire_on(&a, 1, &a_keys);
	wire_on(&b, 2, &b_keys);
	struct dp_key_file stages[3] = {keys_of(1, 0x11, 2, 0x22), keys_of(2, 0x22, 1, 0x11),
					key_of(2, 0x22)};
	uint16_t id = 0;
	for (int s = 0; s < 3; s++) {
		/* a moves first, b follows: in between both must still talk. */
		ring_set(&a_keys, DP_KEY_ROLE_PEER, stages[s]);
		assert_int_equal(decode(&b, heartbeat(&a, 1, 2), &id), 0);
		assert_int_equal(id, s == 0 ? 1 : 2);
		assert_int_equal(decode(&a, heartbeat(&b, 2, 1), NULL), 0);
		ring_set(&b_keys, DP_KEY_ROLE_PEER, stages[s]);
		assert_int_equal(decode(&a, heartbeat(&b, 2, 1), NULL), 0);
		assert_int_equal(decode(&b, heartbeat(&a, 1, 2), NULL), 0);
	}
	/* After the window the old key is refused. */
	static struct dp_keyring old_keys;
	struct dp_wire old;
	ring_set(&old_keys, DP_KEY_ROLE_PEER, key_of(1, 0x11));
	wire_on(&old, 1, &old_keys);
	assert_int_equal(decode(&b, heartbeat(&old, 1, 2), NULL), -DP_ERR_UNKNOWN_KEY);
	assert_int_equal(a_keys.installs, 4);
	/* Key id 0 (a plain secret's) against a ring with emptied slots: no
	 * slot matches, however its empty slots read. */
	struct dp_wire plain;
	t_wire(&plain, 1, T_CLUSTER_ID, t_secret);
	assert_int_equal(decode(&b, heartbeat(&plain, 1, 2), NULL), -DP_ERR_UNKNOWN_KEY);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_key_file(void **state)
{
	(void)state;
	char path[64], why[512];
	struct dp_key_file f;
	const char *hex32 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	char text[512];
	snprintf(path, sizeof(path), "%s/k", dir);
	snprintf(text, sizeof(text), "# rotation\n\n7 %s\n3 %.32s\n", hex32, hex32);
	write_file(path, text, 0600);
	assert_int_equal(dp_key_file_load(path, &f, why, sizeof(why)), 0);
	assert_int_equal(f.count, 2);
	assert_int_equal(f.key_id[0], 7);
	assert_int_equal(f.secret_bytes[0], 32);
	assert_int_equal(f.secret[0][1], 0x11);
	assert_int_equal(f.key_id[1], 3);
	assert_int_equal(f.secret_bytes[1], 16);
	/* Readable or writable by group or others: refused, file and mode named. */
	static const mode_t bad[] = {0640, 0604, 0620, 0602, 0644};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(path, bad[i]), 0);
		assert_int_equal(dp_key_file_load(path, &f, why, sizeof(why)), -DP_ERR_INVALID);
		char mode[8];
		snprintf(mode, sizeof(mode), "%03o", (unsigned)bad[i]);
		assert_non_null(strstr(why, path));
		assert_non_null(strstr(why, mode));
		assert_int_equal(f.count, 0); /* nothing kept */
	}
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(dp_key_file_load(path, &f, why, sizeof(why)), 0);
	static const char *const wrong[] = {
		"", "# only a comment\n", "0 00112233445566778899aabbccddeeff\n",
		"65536 00112233445566778899aabbccddeeff\n", "1 0011\n", "1 zz112233445566778899aabbccddeeff\n",
		"1 00112233445566778899aabbccddeeff x\n", "x\n",
		"1 00112233445566778899aabbccddeeff\n1 00112233445566778899aabbccddeeff\n",
		"1 00112233445566778899aabbccddeeff\n2 00112233445566778899aabbccddeeff\n"
		"3 00112233445566778899aabbccddeeff\n"};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		write_file(path, wrong[i], 0600);
		assert_int_equal(dp_key_file_load(path, &f, why, sizeof(why)), -DP_ERR_INVALID);
		assert_non_null(strstr(why, path));
	}
	/* A raw secret (the old secret_file): binary, said so. */
	FILE *raw = fopen(path, "w");
	assert_non_null(raw);
	fwrite("\x01\x00\x02secret", 1, 9, raw);
	fclose(raw);
	assert_int_equal(dp_key_file_load(path, &f, why, sizeof(why)), -DP_ERR_INVALID);
	assert_non_null(strstr(why, "ID HEX"));
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(dp_key_file_load(path, &f, why, sizeof(why)), -ENOENT);
	unlink(path);
	snprintf(path, sizeof(path), "%s/k", dir);
	unlink(path);
}

int main(void)
{
	if (mkdtemp(dir) == NULL) {
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_apart),
		cmocka_unit_test(test_admin_role),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_key_file),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return rc;
}
