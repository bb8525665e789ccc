/* SPDX-License-Identifier: MIT */
/*
 * node.h - the public API of raftnode's node module: the replicated
 * key-value state machine (apply/kv.c): put, get, delete and compare-and-swap,
 * with client sessions (client id + sequence number) that make retried
 * writes exactly-once, a pipelining client's included: each session keeps
 * the results of its client's session_window most recent applied commands
 * (apply/session_window.h). That is all it holds. The daemon that runs it (its
 * stages, rings and telemetry) has no public API: its internals are
 * node/daemon.h, for raftnode.c and the stages' unit tests. The node's
 * configuration, struct node_kv_config included, is config.h's (config/).
 *
 * The state machine is deterministic: every node applies the same committed
 * commands in the same order and reaches the same state, which
 * node_kv_digest() summarizes in 64 bits (order-independent: a function of
 * the live keys and values only). All memory is sized by node_kv_config at
 * node_kv_create(); applying never allocates. A command that does not fit
 * (table full, value too big) gets a deterministic error result, the same
 * on every node. Command bytes come from clients through the log: the wire
 * decoder validates them (never asserts) before they become a command.
 */
#ifndef RN_NODE_H
#define RN_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"    /* struct node_kv_config */
#include "consensus.h" /* raft_index */

#ifdef __cplusplus
extern "C" {
#endif

enum node_kv_op {
	NODE_KV_PUT = 1,
	NODE_KV_GET = 2, /* through the log: a read ordered with the writes */
	NODE_KV_DEL = 3,
	NODE_KV_CAS = 4, /* set value if the current value equals `expected` */
};

enum node_kv_status {
	NODE_KV_OK = 0,
	NODE_KV_NOT_FOUND = 1,	   /* get/del/cas of a missing key */
	NODE_KV_CAS_MISMATCH = 2,  /* cas: current value differs from expected */
	NODE_KV_FULL = 3,	   /* put of a new key with keys_max keys live */
	NODE_KV_TOO_BIG = 4,	   /* key or value over the configured limits */
	NODE_KV_BAD_COMMAND = 5,   /* malformed command bytes */
	NODE_KV_STALE = 6,	   /* seq below the session's window: a late retry */
};

/* A command, decoded: the pointers point into the bytes it came in. The
 * daemon keeps a client's request in its log as it came off the wire
 * (dataplane's request body: dp_wire_request_body) and builds this from
 * dp_wire_request_body_decode() when the entry is committed (apply stage). */
struct node_kv_command {
	uint8_t op; /* enum node_kv_op */
	uint64_t client_id; /* 0 = no session (no exactly-once) */
	uint64_t seq;	    /* per client, increasing (gaps allowed) */
	const uint8_t *key;
	uint16_t key_bytes;
	const uint8_t *value; /* put, cas: the new value */
	uint32_t value_bytes;
	const uint8_t *expected; /* cas */
	uint32_t expected_bytes;
};

/* struct node_kv_config and node_kv_config_default() are in config.h: the
 * cluster file's [limits] kv_* set them. */
/* The memory a state machine of this configuration takes, in bytes: the
 * formula the README states. */
uint64_t node_kv_memory_bytes(const struct node_kv_config *cfg);

struct node_kv;

/* The outcome of one applied command. `value` (get, and cas on mismatch:
 * the current value) stays valid until the next apply. */
struct node_kv_result {
	uint8_t status;	 /* enum node_kv_status */
	bool duplicate;	 /* a retry of a command in the session's window: not
			  * applied again, its first status returned */
	const uint8_t *value;
	uint32_t value_bytes;
};

/* 0, -EINVAL (bad config) or -ENOMEM. */
int node_kv_create(const struct node_kv_config *cfg, struct node_kv **out);
void node_kv_destroy(struct node_kv *kv);

/* Applies the committed command at `index` (applied index + 1), decoded by
 * the caller from the request kept in the log; its op is one of enum
 * node_kv_op. With a client id, the session decides first: a seq in its
 * window (the session_window most recent applied ones) is a duplicate,
 * answered with its recorded status, nothing changed; a seq below the
 * window's oldest is NODE_KV_STALE, nothing changed (it may have been
 * applied: the window no longer tells); any other seq (above the newest,
 * or inside the window's span but never applied: a lost request
 * retransmitted after later ones) is applied and recorded. Key and value
 * lengths are checked against the configured limits here: beyond them,
 * NODE_KV_TOO_BIG, the same on every node. A committed entry whose bytes
 * do not decode is the caller's to skip (node_kv_skip) and answer
 * NODE_KV_BAD_COMMAND. */
void node_kv_apply_command(struct node_kv *kv, raft_index index, const struct node_kv_command *c,
			   struct node_kv_result *res);
/* A committed client request as the log keeps it: the request body the
 * wire carried (dataplane.h's client codec, which validates it). A write
 * (put, delete, cas) is applied; anything else, or bytes that do not
 * decode, leave the state as it is with NODE_KV_BAD_COMMAND (apply/request.c). */
void node_kv_apply_request(struct node_kv *kv, raft_index index, const uint8_t *body,
			   uint32_t body_bytes, struct node_kv_result *res);
/* A committed entry that carries no command (a leader's no-op). */
void node_kv_skip(struct node_kv *kv, raft_index index);

/* Reads the current value (after a ReadIndex, or a stale read). Returns
 * NODE_KV_OK or NODE_KV_NOT_FOUND. */
int node_kv_get(const struct node_kv *kv, const uint8_t *key, uint16_t key_bytes,
		const uint8_t **value, uint32_t *value_bytes);

raft_index node_kv_applied_index(const struct node_kv *kv);
uint32_t node_kv_keys_count(const struct node_kv *kv);
uint64_t node_kv_digest(const struct node_kv *kv);
const char *node_kv_status_name(int status);

/* ---- Snapshots (apply/kv_cow.c, apply/kv_snap.c) ------------------------
 * The state at one applied index, streamed by a writer thread while the
 * apply stage goes on (copy-on-write by chunks: apply/kv_internal.h). */
struct node_kv_snapshot_info {
	raft_index index;      /* the applied index the state is at */
	uint64_t digest;       /* node_kv_digest() there */
	uint64_t keys_count, sessions_count;
	struct node_kv_config limits; /* the machine's it was taken with */
};
/* Memory node_kv_snapshot_reserve() takes: a second copy of the arena,
 * the key and value lengths, the sessions and windows (README: memory). */
uint64_t node_kv_snapshot_memory_bytes(const struct node_kv_config *cfg);
/* Reserves the copy-on-write memory (at start). 0 or -ENOMEM. */
int node_kv_snapshot_reserve(struct node_kv *kv);
/* Apply stage: the state as it is now is the snapshot's (info); from here
 * on a write copies its chunk first, until node_kv_snapshot_end(). */
void node_kv_snapshot_begin(struct node_kv *kv, struct node_kv_snapshot_info *info);
void node_kv_snapshot_end(struct node_kv *kv);
typedef int (*node_kv_emit_fn)(void *user, const void *bytes, size_t count);
typedef int (*node_kv_read_fn)(void *user, void *bytes, size_t count);
/* The writer thread, between begin and end: streams the state as of
 * begin through emit (its first error is returned). wbuf holds
 * node_kv_snapshot_wbuf_bytes() (allocated by the thread at its start). */
int node_kv_snapshot_write(struct node_kv *kv, uint8_t *wbuf, node_kv_emit_fn emit, void *user);
uint64_t node_kv_snapshot_wbuf_bytes(const struct node_kv *kv);
/* At start, into a machine nothing was applied to: 0; -E2BIG when the
 * snapshot's limits exceed this machine's; -EBADMSG when the stream does
 * not decode or the digest differs (errmsg says which). */
int node_kv_snapshot_load(struct node_kv *kv, const struct node_kv_snapshot_info *info,
			  node_kv_read_fn read, void *user, char *errmsg, size_t errmsg_bytes);
/* Chunks the apply stage copied before writing them, all snapshots. */
uint64_t node_kv_cow_chunks_copied(const struct node_kv *kv);

#ifdef __cplusplus
}
#endif

#endif /* RN_NODE_H */
