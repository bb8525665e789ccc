/* SPDX-License-Identifier: MIT */
/*
 * rn_client.h - the public API of raftnode's client library: talk to a
 * cluster over kernel UDP with the cluster's own sealed frames (the
 * dataplane wire codec; requests and replies are authenticated with the
 * client key, [cluster] client_key_file: a client never holds the peer key
 * that seals consensus frames, README "Keys").
 *
 * Two ways to use it:
 *
 *  - Synchronous (raftctl, tests): rn_client_put/get/del/cas/status/transfer
 *    send one request and wait for its reply, retrying with the same
 *    (client id, sequence number) on timeout, following REDIRECT to the
 *    leader it names, and backing off on RETRY/BUSY until the call's
 *    deadline. A retried write is applied once: the node's sessions make it
 *    exactly-once.
 *
 *  - Asynchronous (raftbench): rn_client_submit() queues a request and
 *    returns at once; rn_client_poll() sends what was queued, delivers
 *    replies through a callback, retransmits the ones that time out. Many
 *    requests may be in flight; the library keeps a fixed table of them
 *    (inflight_max). Nothing is allocated after rn_client_open().
 *
 * Batching (wire version 3): the requests queued before a poll leave in
 * one datagram per target node (more when they fill frame_bytes_max), all
 * nodes' datagrams in one sendmmsg; a node answers many requests in one
 * datagram, and the client receives many datagrams per recvmmsg.
 * Retransmits and redirects are queued and packed the same way.
 *
 * Each rn_client owns one non-blocking UDP socket and is used by one thread.
 * Every request of one client carries its client id and a sequence number
 * that only grows; the node keeps one session per client id.
 */
#ifndef RN_CLIENT_H
#define RN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane.h" /* enum dp_client_op, dp_client_status, DP_TRACE_* */

#ifdef __cplusplus
extern "C" {
#endif

/* Where the nodes are: filled from a raftnode configuration file. */
struct rn_client_node {
	uint32_t id;
	uint32_t ip; /* host byte order */
	uint16_t udp_port;
};

struct rn_client_config {
	uint32_t cluster_id;
	/* The client key (issue 17): what rn_client_config_load read from
	 * [cluster] client_key_file; the first key seals, replies are checked
	 * with the key their request went out under. A client never holds the
	 * peer key: nodes drop a consensus frame it could seal. */
	struct dp_key_file client_key;
	/* [cluster] admin_key_file as the file names it ("" when not set):
	 * raftctl reload seals with that file's key instead (an admin key;
	 * read only when asked, never by rn_client_open). */
	char admin_key_file[256];
	/* Tests against a fake node only: with client_key.count 0, one plain
	 * secret (key id 0) for every frame. */
	uint8_t secret[DP_SECRET_BYTES_MAX];
	uint32_t secret_bytes;
	struct rn_client_node nodes[RAFT_NODES_MAX];
	uint32_t nodes_count;
	/* The node requests go to first; 0 = the first node. REDIRECTs move
	 * the target to the leader they name. */
	uint32_t target_id;
	uint64_t client_id;	     /* 0 = random */
	uint32_t timeout_ms;	     /* per attempt before a retransmit; 0 = 200 */
	uint32_t deadline_ms;	     /* sync calls: give up after; 0 = 5000 */
	uint32_t inflight_max;	     /* async requests in flight; 0 = 1024 */
	bool follow_redirects;	     /* default true via rn_client_config_default */
	/* Sync calls stay on target_id: no redirect followed, no other node
	 * tried after timeouts (to test what one node does, e.g. a leader cut
	 * off from its majority). */
	bool pin_target;
	/* Largest datagram sent, as a frame's bytes (Ethernet header
	 * included): 0 = 1514, what a 1500-byte MTU path and a DPDK node's
	 * port take by default. rn_client_config_load sets DP_FRAME_BYTES_MAX
	 * (9014) for a kernel-UDP cluster and mtu_bytes + 14 for a DPDK one
	 * that names its MTU. A request must fit one frame. */
	uint32_t frame_bytes_max;
	/* [cluster] client_encryption = on: requests sealed, replies must be
	 * (XChaCha20-Poly1305; a plaintext reply is dropped, and a node of a
	 * cluster with it on drops a plaintext request). Costs 40 bytes of
	 * each frame. */
	bool client_encryption;
	/* [cluster] auth = off (BENCHMARK ONLY): no tag sent or checked. */
	bool auth_off;
};

void rn_client_config_default(struct rn_client_config *cfg);
/* Wipes the keys a loaded configuration holds. */
void rn_client_config_wipe(struct rn_client_config *cfg);

/*
 * Fills cfg from a raftnode configuration file (the same INI the nodes
 * read: cluster id, client key file, members' IPs and UDP ports). 0, or a
 * negative errno with errmsg saying what is wrong ("FILE:LINE: ..." for the
 * file, or the key file's problem: unreadable, mode not 600, bad line).
 */
int rn_client_config_load(const char *path, struct rn_client_config *cfg, char *errmsg,
			  size_t errmsg_bytes);

/* The configuration file raftctl and raftbench use when none is given:
 * $RAFTNODE_CONFIG if set, else the one `scripts/cluster.sh up` wrote. */
#define RN_CLIENT_CONFIG_DEFAULT "/run/raftnode/cluster.ini"
const char *rn_client_config_default_path(void);

struct rn_client;

/* 0, or a negative errno (socket) / -DP_ERR_* (bad key or config). */
int rn_client_open(const struct rn_client_config *cfg, struct rn_client **out);
void rn_client_close(struct rn_client *c);

/* Library return codes (negative), beside -errno and -DP_ERR_*. */
enum rn_client_error {
	RN_CLIENT_E_TIMEOUT = 3001,  /* no final reply before the deadline */
	RN_CLIENT_E_FULL = 3002,     /* async: inflight_max requests in flight */
	RN_CLIENT_E_BAD_NODE = 3003, /* a node id that is not in the config */
};
const char *rn_client_strerror(int rc);
/* The name of a reply status (enum dp_client_status): "ok", "not_found",
 * "cas_failed", "redirect", "retry", "busy", "bad_request", "no_space";
 * "unknown" for any other value. */
const char *rn_client_status_name(uint8_t status);

/* The outcome of one request. value points into the client's receive
 * buffer: valid until the next call on this client. */
struct rn_client_result {
	uint8_t status;	    /* enum dp_client_status: the final one */
	uint32_t leader_id; /* as the replying node knows it (0 = none) */
	uint32_t node_id;   /* the node that sent the final reply */
	const uint8_t *value;
	uint32_t value_bytes;
	uint32_t attempts;  /* sends, retransmits and redirects included */
	uint32_t trace_count; /* DP_TRACE_STAGES when traced, else 0 */
	uint64_t trace_ns[DP_TRACE_STAGES];
};

/*
 * Synchronous calls. Return 0 when a final reply came (see res->status:
 * OK, NOT_FOUND, CAS_FAILED, BAD_REQUEST, NO_SPACE (the leader's no-space
 * alarm refused a write); REDIRECT/RETRY/BUSY are retried
 * until the deadline), -RN_CLIENT_E_TIMEOUT when none did, or another
 * negative error. `stale` reads serve from the target node's applied state
 * (DP_CLIENT_GET_STALE) instead of a linearizable ReadIndex read.
 */
int rn_client_put(struct rn_client *c, const void *key, uint32_t key_bytes, const void *value,
		  uint32_t value_bytes, struct rn_client_result *res);
int rn_client_get(struct rn_client *c, const void *key, uint32_t key_bytes, bool stale,
		  struct rn_client_result *res);
int rn_client_del(struct rn_client *c, const void *key, uint32_t key_bytes,
		  struct rn_client_result *res);
int rn_client_cas(struct rn_client *c, const void *key, uint32_t key_bytes, const void *expect,
		  uint32_t expect_bytes, const void *value, uint32_t value_bytes,
		  struct rn_client_result *res);
/* The node's status as JSON (res->value), from node_id (0 = the target). */
int rn_client_status(struct rn_client *c, uint32_t node_id, struct rn_client_result *res);
/* Asks node_id (0 = the target) to re-read its key files as SIGHUP does
 * (raftctl reload): a STATUS request whose key is "reload". OK with the
 * keys in force as JSON ({"reload":"ok",...}); REFUSED with why (the
 * reload failed and the old keys stay, or the request was not sealed with
 * an admin key). A node older than this request answers its status JSON
 * instead (no "reload" field): it did not reload. */
int rn_client_reload(struct rn_client *c, uint32_t node_id, struct rn_client_result *res);
/* Asks the cluster's leader to hand leadership to target_id. */
int rn_client_transfer(struct rn_client *c, uint32_t target_id, struct rn_client_result *res);
/* A membership change (a config entry's record, dataplane.h): to the
 * leader (redirects followed); OK once its entry is committed, REFUSED
 * with the core's error named in the value. */
int rn_client_member_change(struct rn_client *c, const uint8_t record[DP_CONF_ENTRY_BYTES],
			    struct rn_client_result *res);
/* The configuration as node_id (0: the target) sees it: the value is a
 * struct dp_member_list's encoding (dp_member_list_decode). */
int rn_client_member_list(struct rn_client *c, uint32_t node_id, struct rn_client_result *res);

/* Picks the node the next requests go to (sync and async). */
int rn_client_set_target(struct rn_client *c, uint32_t node_id);
uint32_t rn_client_target(const struct rn_client *c);

/* ---- Asynchronous use (raftbench) --------------------------------------- */

/* One request to submit. Bytes are copied into the in-flight table. */
struct rn_client_request {
	uint8_t op;    /* enum dp_client_op */
	uint8_t flags; /* enum dp_client_flags (DP_CLIENT_FLAG_TRACE) */
	const void *key;
	uint32_t key_bytes;
	const void *value;
	uint32_t value_bytes;
	const void *expect;
	uint32_t expect_bytes;
	uint64_t user; /* returned with the reply */
};

/* Called from rn_client_poll() once per request with its final reply
 * (or with status RETRY and rc -RN_CLIENT_E_TIMEOUT past deadline_ms). */
typedef void (*rn_client_reply_fn)(void *ctx, uint64_t user, int rc,
				   const struct rn_client_result *res);

/* 0 (queued: it leaves at the next rn_client_poll, packed with the other
 * requests queued meanwhile), -RN_CLIENT_E_FULL, or a negative error
 * (-DP_ERR_TOO_BIG: it does not fit one frame_bytes_max frame). Key up to
 * DP_CLIENT_KEY_BYTES_MAX bytes. */
int rn_client_submit(struct rn_client *c, const struct rn_client_request *req);
/* Sends what is queued, receives replies (waiting up to wait_us for the
 * first, 0 = never block), retransmits timed-out requests, follows
 * redirects, and sends those resends before it returns. Returns the
 * number of requests completed (callbacks made), or a negative error. A
 * result's value is valid during its callback. */
int rn_client_poll(struct rn_client *c, uint32_t wait_us, rn_client_reply_fn fn, void *ctx);
uint32_t rn_client_inflight(const struct rn_client *c);
/* The client's socket, to wait on several clients at once (epoll/poll for
 * POLLIN, then rn_client_poll with wait_us 0). */
int rn_client_fd(const struct rn_client *c);
/* When the client next needs an rn_client_poll with nothing received: the
 * earliest retransmit, backoff resend or deadline of what is in flight
 * (CLOCK_MONOTONIC ns; UINT64_MAX with nothing in flight). A caller that
 * waits on the fd sleeps until then at most, and no longer needs to wake
 * on a short timer. O(requests in flight). */
uint64_t rn_client_next_timer_ns(const struct rn_client *c);

struct rn_client_counters {
	uint64_t sent; /* requests sent: first sends, retransmits, redirects */
	uint64_t frames_sent;	  /* datagrams: each a batch of requests */
	uint64_t frames_received; /* reply datagrams accepted: each a batch */
	uint64_t retransmits;
	uint64_t redirects;
	uint64_t retries_busy; /* RETRY or BUSY replies, resent after a backoff */
	uint64_t replies;
	uint64_t replies_stale; /* a reply to a request no longer in flight */
	uint64_t timeouts;
	uint64_t rx_dropped; /* frames that failed to decode or authenticate */
	/* Of those, frames of another wire version (DP_WIRE_VERSION): the
	 * nodes run a different raftnode version, whose frames this client
	 * cannot read (and that drops this client's, in drops.bad_version). */
	uint64_t rx_bad_version;
	/* Replies larger than one frame (a status): fragments received, and
	 * messages reassembled whole from them. */
	uint64_t fragments_received;
	uint64_t messages_reassembled;
};
void rn_client_get_counters(const struct rn_client *c, struct rn_client_counters *out);

#ifdef __cplusplus
}
#endif

#endif /* RN_CLIENT_H */
