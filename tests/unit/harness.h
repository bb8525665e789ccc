/* SPDX-License-Identifier: MIT */
/*
 * harness.h - a tiny, fully manual cluster for the consensus unit tests:
 * N cores, a FIFO of messages that the test delivers (all, or dropping some
 * links), and per-node pending writes that the test makes durable when it
 * chooses. Unlike raftsim there is no randomness and no time: each test
 * drives exactly the interleaving it wants to examine.
 */
#ifndef RN_TEST_HARNESS_H
#define RN_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus.h"

#define H_NODES_MAX 7
#define H_MSGS_MAX 4096
#define H_ENTRIES_MAX 65536
#define H_LOG_MAX 4096

struct h_node {
	struct raft *raft;
	struct raft_hard_state hard_state; /* persisted */
	struct raft_entry log[H_LOG_MAX];  /* written (index i at log[i]) */
	raft_index log_last;
	raft_index write_pending_last; /* last index written, not yet durable */
	raft_term write_pending_term;
	raft_index applied_index;
	bool auto_persist; /* durable as soon as written */
	bool auto_apply;   /* report RAFT_EVENT_APPLIED after each commit */
	bool down;
	/* RAFT_UPDATE_SNAPSHOT: the install asked for, until h_install. */
	struct raft_snapshot_meta install;
	bool install_asked;
	struct raft_read_state reads[64];
	uint32_t reads_count;
};

struct h_cluster {
	uint32_t nodes_count;
	/* Initial voters: 1..voters_count (nodes above join later, starting
	 * with these initial members and an empty log). */
	uint32_t voters_count;
	struct h_node nodes[H_NODES_MAX + 1]; /* by id, 1-based */
	struct raft_message msgs[H_MSGS_MAX];
	uint32_t msgs_count;
	struct raft_entry entries[H_ENTRIES_MAX]; /* arena for message entries */
	uint32_t entries_used;
	bool cut[H_NODES_MAX + 1][H_NODES_MAX + 1]; /* cut[from][to] */
	/* from_storage appends: the caller's side fills them from the
	 * sender's log (contract step 3); the last one as the core made it. */
	struct raft_message from_storage_last;
	uint32_t from_storage_count;
	int last_rc;
	struct raft_update last_update; /* valid until the next step */
};

void h_init(struct h_cluster *c, uint32_t nodes_count, void (*tune)(struct raft_config *));
/* nodes_count nodes, of which 1..voters_count are the initial voters. */
void h_init_voters(struct h_cluster *c, uint32_t nodes_count, uint32_t voters_count,
		   void (*tune)(struct raft_config *));
void h_destroy(struct h_cluster *c);
/* Steps node `id` with `ev` and processes its update. Returns raft_step's rc. */
int h_step(struct h_cluster *c, raft_node_id id, struct raft_event *ev);
void h_tick(struct h_cluster *c, raft_node_id id, uint32_t ticks);
/* Delivers queued messages (and those they cause) until none are left,
 * dropping messages on cut links or to down nodes. Returns messages delivered. */
uint32_t h_deliver_all(struct h_cluster *c);
/* Makes node id's pending write durable and reports it. */
void h_persist(struct h_cluster *c, raft_node_id id);
/* The caller took a snapshot at `index` (applied) and compacted its log up
 * to `compacted_index`: RAFT_EVENT_SNAPSHOT then RAFT_EVENT_COMPACTED. */
void h_snapshot(struct h_cluster *c, raft_node_id id, raft_index index,
		raft_index compacted_index);
/* Makes node id's install asked for (install_asked) durable and reports it
 * (RAFT_EVENT_SNAPSHOT_INSTALLED). */
void h_install(struct h_cluster *c, raft_node_id id);
/* Ticks `id` until it is leader (delivering messages). */
void h_elect(struct h_cluster *c, raft_node_id id);
int h_propose(struct h_cluster *c, raft_node_id id, uint64_t payload);
raft_node_id h_leader(const struct h_cluster *c);
void h_isolate(struct h_cluster *c, raft_node_id id, bool cut);
void h_crash_restart(struct h_cluster *c, raft_node_id id, void (*tune)(struct raft_config *));
/* Same, but the core gets only entries prev_index + 1.. (raft_create_from);
 * the test promises that prev_index is committed. */
void h_crash_restart_from(struct h_cluster *c, raft_node_id id, raft_index prev_index,
			  void (*tune)(struct raft_config *));

#endif
