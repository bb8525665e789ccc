/* SPDX-License-Identifier: MIT */
/*
 * client_fake_node.h - a scripted stand-in for a raftnode in the client's
 * unit tests: a UDP socket on 127.0.0.1 served by a thread that decodes
 * requests with the real wire codec and answers with sealed replies,
 * following one behaviour (a tiny key-value store, always redirect, retry
 * or drop the first request, a wrongly sealed reply first, silence). It
 * records every request it decoded so tests can check what was sent. Like
 * a node, it answers all the requests of one datagram (a batch) in one
 * reply datagram, and counts datagrams both ways.
 */
#ifndef RN_CLIENT_FAKE_NODE_H
#define RN_CLIENT_FAKE_NODE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "rn_client.h"

#define FAKE_CLUSTER_ID 7u
#define FAKE_KEY_ID 101u /* the client key's id (tests/unit/test_raftctl.sh too) */
#define FAKE_LOG_MAX 256u
#define FAKE_KEYS_MAX 256u
#define FAKE_KEY_BYTES_MAX 32u
#define FAKE_VALUE_BYTES_MAX 64u

enum fake_mode {
	FAKE_KV = 1,		 /* answer put/get/del/cas/status from a small map */
	FAKE_REDIRECT = 2,	 /* REDIRECT to redirect_to, every time */
	FAKE_RETRY_FIRST = 3,	 /* RETRY the first request, then FAKE_KV */
	FAKE_DROP_FIRST = 4,	 /* ignore the first request, then FAKE_KV */
	FAKE_BAD_SECRET_FIRST = 5, /* a reply sealed with another secret first */
	FAKE_SILENT = 6,	 /* never answer */
	FAKE_OLD_VERSION = 7,	 /* answer as FAKE_KV, in frames of wire version 2 */
	/* As FAKE_KV, but a status is FAKE_BIG_STATUS_BYTES of JSON, sent as
	 * fragments of one message in frames of FAKE_FRAGMENT_FRAME_BYTES (a
	 * leader's status over a 1500-byte port). */
	FAKE_BIG_STATUS = 8,
	/* The same, the first status reply's second fragment lost: the client
	 * must retry (same seq) and take the second answer whole. */
	FAKE_BIG_STATUS_LOSE_FIRST = 9,
	/* FAKE_KV with client encryption on ([cluster] client_encryption). */
	FAKE_KV_SEALED = 10,
	/* FAKE_KV, and `raftctl reload` (a STATUS whose key is "reload") as a
	 * node answers it (node/control/admin.c): sealed with the admin key
	 * FAKE_ADMIN_KEY_ID, OK with the keys in force; with another key,
	 * REFUSED as refused_key. (FAKE_KV answers it with its status: a node
	 * older than reload.) */
	FAKE_ADMIN = 11,
	/* As FAKE_ADMIN, but the reload itself fails (a key file mode 644):
	 * REFUSED with the error and the keys kept. */
	FAKE_ADMIN_FAIL = 12,
};
#define FAKE_ADMIN_KEY_ID 102u /* fake_admin_secret (test_raftctl.sh too) */
#define FAKE_BIG_STATUS_BYTES 5000u
#define FAKE_FRAGMENT_FRAME_BYTES (1500u + 14u)

struct fake_request {
	uint64_t client_id;
	uint64_t seq;
	uint8_t op;
	uint64_t rx_ns;
};

struct fake_entry {
	bool used;
	uint8_t key_bytes;
	uint8_t value_bytes;
	uint8_t key[FAKE_KEY_BYTES_MAX];
	uint8_t value[FAKE_VALUE_BYTES_MAX];
};

struct fake_node {
	uint32_t id;
	uint16_t port;
	int fd;
	int mode; /* enum fake_mode */
	uint32_t redirect_to;
	pthread_t thread;
	atomic_bool stop;
	struct dp_wire wire;
	struct dp_wire bad_wire;
	/* The client key FAKE_KEY_ID (fake_secret), and the same id with
	 * other bytes (bad_wire: a reply the client must drop). */
	struct dp_keyring keys, bad_keys;
	uint64_t msg_seq;
	uint16_t rx_key_id; /* the key the datagram being answered came with */
	pthread_mutex_t mu; /* guards the log: the test thread reads it */
	struct fake_request log[FAKE_LOG_MAX];
	uint32_t requests_count;
	uint32_t datagrams_rx; /* request datagrams decoded */
	uint32_t datagrams_tx; /* reply datagrams sent (sealed right) */
	uint32_t batch_max;    /* most requests seen in one datagram */
	struct dp_client_frame reply; /* this datagram's replies */
	struct fake_entry kv[FAKE_KEYS_MAX];
	uint8_t buf[DP_FRAME_BYTES_MAX];
	uint8_t out[DP_FRAME_BYTES_MAX];
	char big_status[FAKE_BIG_STATUS_BYTES + 1];
	uint8_t big_body[FAKE_BIG_STATUS_BYTES + 64]; /* batch header + reply item */
	uint32_t fragments_tx;			     /* fragment frames sent */
};

extern const uint8_t fake_secret[32];

/* Binds 127.0.0.1:0 and starts the thread. Asserts (cmocka) on failure. */
void fake_node_start(struct fake_node *f, uint32_t id, int mode);
void fake_node_stop(struct fake_node *f);
uint32_t fake_node_requests(struct fake_node *f);
/* Datagrams received (requests) and sent (replies), most requests in one. */
void fake_node_datagrams(struct fake_node *f, uint32_t *rx, uint32_t *tx, uint32_t *batch_max);
struct fake_request fake_node_request(struct fake_node *f, uint32_t i);
/* A client configuration naming these nodes, with the test secret. */
void fake_client_config(struct rn_client_config *cfg, struct fake_node *const *nodes,
			uint32_t nodes_count);
uint64_t fake_now_ns(void);

#endif /* RN_CLIENT_FAKE_NODE_H */
