/* SPDX-License-Identifier: MIT */
/*
 * apply_stage.h - the apply stage: owns the key-value state machine and
 * the pending linearizable reads. stage: apply.
 *
 * Committed entries go to the state machine in index order; the node that
 * proposed an entry for a client replies once it is applied (never before:
 * the reply says the write is durable on a majority and visible). Reads
 * wait for their ReadIndex round and for the apply to reach the index it
 * confirmed. Control's end of the link is control/apply_end.c.
 */
#ifndef RN_NODE_APPLY_STAGE_H
#define RN_NODE_APPLY_STAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "conf_blob.h"
#include "node.h"
#include "payloads.h"
#include "rings.h"
#include "snap_writer.h"
#include "storage.h"

/* A linearizable read waiting for its ReadIndex round and the apply. */
struct node_read {
	bool busy;
	bool confirmed;
	uint8_t fail_status; /* confirmed: 0, or its round failed: the reply */
	uint8_t flags;
	uint64_t round; /* the ReadIndex ctx it waits on */
	raft_index read_index;
	uint64_t client_id;
	uint64_t client_seq;
	uint64_t rx_ns;
	struct dp_endpoints client;
	uint16_t key_bytes;
	uint8_t key[DP_CLIENT_KEY_BYTES_MAX];
};
_Static_assert(sizeof(struct node_read) == 336, "README: pending reads 1024 x 336");

struct node_apply_stage {
	struct node_kv *kv;
	const struct node_payloads *payloads; /* committed slots, read only */
	struct node_apply_link *link;
	uint32_t value_bytes_max; /* room kept free in the arena per reply */
	raft_index commit_index;
	raft_index applied_index;
	struct node_read *reads; /* NODE_READS_MAX */
	uint32_t reads_busy;
	uint64_t reads_expire_ns; /* the earliest waiting read's time-out (UINT64_MAX: none) */
	uint64_t arena_head; /* arena byte counter: values written up to here */
	struct node_snapshotter *snap; /* NULL: [storage] snapshot = off */
	raft_term applied_term;
	uint64_t snap_bytes; /* log record bytes applied since the snapshotter's poll */
	uint64_t installs, installs_failed; /* snapshots installed (apply_install.c) */
	/* The configuration as of applied_index (MEMBERSHIP CONTRACT, the
	 * caller's side): the snapshot's or the initial members', then each
	 * applied RAFT_ENTRY_CONFIG; snapshots carry it. */
	struct node_conf conf;
};

/* Makes the link's rings and arena; the stage owns kv from here on. */
int node_apply_stage_init(struct node_apply_stage *as, struct node_apply_link *link,
			  struct node_kv *kv, const struct node_payloads *payloads,
			  uint32_t value_bytes_max);
void node_apply_stage_fini(struct node_apply_stage *as);
/* The reply arena's size for values up to value_bytes_max (README: memory). */
uint64_t node_apply_arena_bytes(uint32_t value_bytes_max);
uint32_t node_apply_stage_poll(void *ctx); /* the apply lcore's stage */
/* When a waiting read times out (dp_stage.deadline_ns), UINT64_MAX if none. */
uint64_t node_apply_stage_deadline_ns(void *ctx);
/* Applies one committed entry read from the log (replay at start, before
 * any lcore runs). */
void node_apply_replayed(struct node_apply_stage *as, const struct store_entry *e);
/* kv, loaded from a snapshot at (index, term), replaces the stage's empty
 * state machine (start). */
void node_apply_loaded(struct node_apply_stage *as, struct node_kv *kv, raft_index index,
		       raft_term term);

/* apply_install.c: the snapshot file of index (term) in the data directory,
 * verified (every block, the stream CRC), of this cluster, within the
 * limits, loaded into a new state machine: 0 (*out and its configuration
 * *conf set) or -errno with
 * errmsg saying what. */
int node_apply_install_load(const struct node_apply_stage *as, raft_index index, raft_term term,
			    struct node_kv **out, struct node_conf *conf, char *errmsg,
			    size_t errmsg_bytes);

#endif /* RN_NODE_APPLY_STAGE_H */
