/* SPDX-License-Identifier: MIT */
/*
 * admin.h - admin requests: `raftctl reload` asks a node to re-read its
 * key files exactly as SIGHUP does and answers with the outcome.
 * stage: control (the files are read on the key watcher's thread, keys.h).
 *
 * On the wire an admin request is a STATUS request (dataplane.h,
 * DP_CLIENT_STATUS) whose key names the command ("reload"): no new frame
 * type, op or body field, so the wire version stays. A node that predates
 * it ignores the key and answers its status JSON, which raftctl tells
 * apart from a reload's answer ({"reload":...}) and reports as "this node
 * does not know reload". Only a request sealed with an admin key
 * ([cluster] admin_key_file, DP_KEY_ROLE_ADMIN) is obeyed; one sealed with
 * a plain client key (or a peer key) is refused (DP_CLIENT_REFUSED, the
 * value saying why) and counted.
 */
#ifndef RN_NODE_CONTROL_ADMIN_H
#define RN_NODE_CONTROL_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane.h"
#include "keys.h"

#define NODE_ADMIN_RELOAD_KEY "reload"
/* Reload requests waiting for the watcher at once; more are answered
 * BUSY (the client retries). A reload takes one watcher poll (<= 50 ms)
 * and three small file reads: an operator's tool, never a flood. */
#define NODE_ADMIN_PENDING_MAX 8u

struct node_admin_pending {
	bool used;
	uint64_t ticket; /* node_keys_watch.asked when it came */
	uint64_t client_id, request_seq;
	struct dp_endpoints to; /* its sender: the reply goes there, under its key */
};

struct node_admin {
	struct node_keys_watch *watch;	/* the daemon's: reads the files */
	const struct dp_keyring *keys;	/* the role of a request's key */
	struct node_admin_pending pending[NODE_ADMIN_PENDING_MAX];
	uint32_t pending_count;
	/* Status (control's own: plain counters). */
	uint64_t reloads_asked, reloads_answered;
	uint64_t refused_key;  /* sealed with a key that is not an admin key */
	uint64_t refused_busy; /* every pending slot taken */
};

/* Before the lcores run: the watcher (started) and the ring it rewrites. */
void node_admin_init(struct node_admin *a, struct node_keys_watch *watch,
		     const struct dp_keyring *keys);

struct node_control;
/* A STATUS request whose key names an admin command: taken (answered now
 * or once the watcher is done) and true; false for a plain status. */
bool node_admin_request(struct node_control *c, const struct dp_endpoints *from,
			const struct dp_client_request *req);
/* Once a round: answers the reloads the watcher finished. Returns them. */
uint32_t node_admin_poll(struct node_control *c);
/* ",\"admin\":{...}" into out once anything was asked: its bytes, or 0. */
int node_admin_status(const struct node_admin *a, char *out, size_t out_bytes);

#endif /* RN_NODE_CONTROL_ADMIN_H */
