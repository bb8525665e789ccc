/* SPDX-License-Identifier: MIT */
/*
 * snap_writer.h - snapshots of the state machine, taken in the background:
 * the apply stage decides when (node_snapshotter_poll, on its lcore) and a
 * writer thread of its own writes the file. stage: apply (the writer is a
 * plain pthread, not an lcore: it blocks in the kernel on a semaphore and
 * on its writes and fsyncs, and never spins).
 *
 * When: once the applied index reaches this node's phase of [storage]
 * snapshot_entries (every snapshot_entries, offset by the node's rank
 * among the members: nodes sharing a disk do not write at once;
 * snap_writer.c, snap_due_index), or the log record bytes applied since
 * pass snapshot_log_bytes; and only at an applied index this node's log holds
 * durably (a follower may apply an entry its own log has not synced yet; a
 * snapshot above its durable log would leave a gap at restart). Every node
 * snapshots its own applied state.
 *
 * Hand-off, without a lock on the apply side: the apply stage fills
 * `info` and `term`, marks the state machine's chunks (copy-on-write,
 * apply/kv_internal.h) and posts the semaphore; the writer streams the
 * state into storage's snapshot file (crash-safe, checksummed), publishes
 * the durable snapshot in the snap link for the log stage's compaction and
 * sets `done` (release). The apply stage's next poll sees `done` and ends
 * the copy-on-write. One snapshot at a time.
 */
#ifndef RN_NODE_APPLY_SNAP_WRITER_H
#define RN_NODE_APPLY_SNAP_WRITER_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf_blob.h"
#include "node.h"
#include "snap_link.h"
#include "storage.h"

struct node_snapshotter_config {
	const char *dir;	   /* the data directory */
	uint32_t cluster_id;
	uint64_t entries_trigger;  /* [storage] snapshot_entries */
	uint64_t bytes_trigger;	   /* [storage] snapshot_log_bytes */
	uint64_t space_reserve_bytes; /* [storage] space_reserve_bytes: kept free */
	raft_node_id self;	   /* for its messages */
	int8_t lcore_nice;	   /* the lcores' nice ([node] lcore_nice): the writer's is 10 more */
	uint64_t write_bytes_per_s; /* [storage] snapshot_write_bytes_per_s, 0: no limit */
};

struct node_snapshotter {
	struct node_kv *kv;
	struct node_snap_link *link;
	const raft_index *durable_published; /* the log's durable index, NULL: no check */
	char dir[256];
	uint32_t cluster_id;
	raft_node_id self;
	int writer_nice; /* 10 below the lcores' priority (snap_writer_main) */
	/* The configuration as of the applied index (the apply stage's, read
	 * on its lcore when a snapshot starts), its blob and membership for
	 * the writer (handed over with the semaphore). */
	const struct node_conf *conf;
	struct raft_membership membership;
	uint32_t config_bytes;
	uint8_t config[STORE_SNAP_CONFIG_BYTES_MAX];
	uint64_t entries_trigger, bytes_trigger;
	uint64_t space_reserve_bytes;
	uint64_t write_bytes_per_s; /* the file's writeback rate (storage's store_snap_pace) */
	uint64_t paced_us;	    /* the last snapshot's time asleep for that rate */
	struct store_snap_commit_times commit_times; /* the last commit's steps (its log line) */
	uint64_t commit_started_ns;
	/* The apply stage's. */
	raft_index base_index; /* the last snapshot started (or loaded) */
	uint64_t bytes_since;  /* log record bytes applied since */
	bool busy;	       /* a snapshot is being written */
	bool failed_said;
	/* Handed to the writer with the semaphore. */
	struct node_kv_snapshot_info info;
	raft_term term;
	sem_t go;
	pthread_t thread;
	bool thread_started;
	uint32_t done; /* the writer finished (release); the apply stage clears it */
	uint32_t stop;
	int last_rc;
	char errmsg[384];
};

/* Reserves the state machine's copy-on-write memory and starts the writer
 * thread. 0 or -ENOMEM / -errno. */
int node_snapshotter_init(struct node_snapshotter *sn, const struct node_snapshotter_config *cfg,
			  struct node_kv *kv, struct node_snap_link *link);
/* Stops the writer (after the snapshot in progress, if any). */
void node_snapshotter_fini(struct node_snapshotter *sn);
/* Apply stage: finishes a written snapshot, starts one when due. bytes: log
 * record bytes applied since the last call (zeroed here). */
void node_snapshotter_poll(struct node_snapshotter *sn, raft_index applied, raft_term term,
			   uint64_t *bytes);
/* Apply stage: a snapshot now, if none is running (tests, an operator's
 * save). Returns whether one started. */
bool node_snapshotter_start(struct node_snapshotter *sn, raft_index applied, raft_term term);
/* Whether the writer is done with the last snapshot started (tests). */
bool node_snapshotter_idle(struct node_snapshotter *sn);

#endif /* RN_NODE_APPLY_SNAP_WRITER_H */
