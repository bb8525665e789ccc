/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - a node: its stages and the links between them. stage: main
 * (start-up and wiring, then the stop after every lcore left its loop).
 *
 * The daemon creates each stage, gives it its links (rings.h) and puts the
 * stages on the lcores [node] lcore_map names. Each stage owns its state:
 *
 *   rxtx/     struct node_rxtx        the port, the received messages
 *   control/  struct node_control     the core, the payload ring, traces
 *   log/      struct node_log_stage   the durable log
 *   apply/    struct node_apply_stage the state machine, pending reads
 *
 * and the daemon keeps only what they share from the start (the
 * configuration, the keys, the transport and port, the stop flag) and
 * the links, which belong to no one stage: each has a producer section and
 * a consumer section.
 */
#ifndef RN_NODE_DAEMON_H
#define RN_NODE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "apply/apply_stage.h"
#include "control/admin.h"
#include "control/control.h"
#include "control/settings_check.h"
#include "dataplane.h"
#include "keys.h"
#include "log/log_stage.h"
#include "rings.h"
#include "rxtx/rxtx.h"
#include "snap_link.h"
#include "storage.h"

struct node_daemon {
	struct node_config cfg;
	/* The peer and client keys every frame is sealed and verified with
	 * (keys.c), rewritten live by the watcher on SIGHUP. */
	struct dp_keyring keys;
	struct node_keys_watch keys_watch;
	struct store_log *log; /* the log stage's once the lcores run */
	struct dp_transport transport;
	struct dp_port port;
	bool port_open;
	bool eal_started;
	uint32_t frame_body_bytes_max; /* body bytes one frame can carry */
	uint32_t boot_epoch; /* this start's (boot_epoch.h), in every frame it seals */
	/* The replay windows of the senders (dataplane.h): the rx/tx lcore
	 * receives, so it owns them; status reads their counters. */
	struct dp_replay replay;
	volatile int stop;	       /* every lcore leaves its loop (signal or failure) */

	struct node_rxtx_link rxtx_link;
	struct node_log_link log_link;
	struct node_apply_link apply_link;
	struct node_status_link status_link;
	struct node_snap_link snap_link;
	/* The apply stage's snapshot writer ([storage] snapshot = on). */
	struct node_snapshotter snapshotter;
	struct node_settings_check settings; /* control's: peers under other settings */
	struct node_admin admin; /* control's: raftctl reload, through keys_watch */

	/* Each stage's state starts a cache line: no line written by two lcores. */
	struct node_rxtx rxtx __attribute__((aligned(NODE_CACHE_LINE_BYTES)));
	struct node_control control __attribute__((aligned(NODE_CACHE_LINE_BYTES)));
	struct node_log_stage logstage __attribute__((aligned(NODE_CACHE_LINE_BYTES)));
	struct node_apply_stage applystage __attribute__((aligned(NODE_CACHE_LINE_BYTES)));
	uint8_t tail_pad[NODE_CACHE_LINE_BYTES]; /* the last stage's line is its own */
};

/* Senders the replay windows hold: every member there can be, four times
 * over (members come and go; a full table evicts the one heard least
 * recently, a node that left). */
#define NODE_REPLAY_SENDERS (4u * RAFT_NODES_MAX)
_Static_assert(NODE_REPLAY_SENDERS <= DP_REPLAY_SENDERS_MAX, "dp_replay_init takes it");

/* What a node of this configuration allocates at start (README: memory). */
struct node_memory {
	uint64_t core_bytes;	    /* the core's window: log_entries_max x 32 */
	uint64_t ring_bytes;	    /* log_payload_bytes_max + log_entries_max x slot */
	uint64_t kv_bytes;	    /* node_kv_memory_bytes() */
	uint64_t log_staging_bytes; /* two group buffers, the catch-up buffer */
	uint64_t reads_bytes;	    /* pending linearizable reads */
	uint64_t snapshot_bytes;    /* copy-on-write images ([storage] snapshot = on) */
	uint64_t stage_rings_bytes; /* rings between stages, reply arena */
	uint64_t dpdk_bytes;	    /* EAL memory (mbuf pool inside) */
	uint64_t total_bytes;
};
uint64_t node_daemon_memory_bytes(const struct node_config *cfg, struct node_memory *out);

/* Config, secret, stages, log recovery (from_snapshot: NULL, or a new
 * cluster from that snapshot file, see seed.c), EAL, transport, wiring. 0, or
 * -EINVAL for a configuration error (exit 2), another negative errno
 * otherwise; errmsg says what failed. node_daemon_stop frees either way. */
struct node_start_opts {
	const char *from_snapshot; /* NULL, or raftnode --from-snapshot SNAP */
	bool join;		   /* --join: an empty data dir starts as a non-member */
	bool force_new_cluster;	   /* --force-new-cluster: the only voter (UNSAFE) */
	bool allow_auth_off;	   /* --bench-allow-auth-off: [cluster] auth = off taken */
};
int node_daemon_start(struct node_daemon *d, const char *config_path, raft_node_id id,
		      const struct node_start_opts *opts, char *errmsg, size_t errmsg_bytes);
/* daemon_members.c: the first configuration (apply stage) and the address
 * book (control) from the cluster file; join mode and --force-new-cluster
 * checked and said. 0, or -EINVAL with errmsg (exit 2). */
int node_daemon_members(struct node_daemon *d, const struct node_start_opts *o, char *errmsg,
			size_t errmsg_bytes);
/* The transport with a peer for each address of the book. */
int node_daemon_transport(struct node_daemon *d, char *errmsg, size_t errmsg_bytes);
/* seed.c: from_snapshot (raftnode --from-snapshot FILE) into an empty data
 * directory: the snapshot copied in as this cluster's, the log made to
 * continue after it. 0 or an error with errmsg. */
int node_daemon_seed(struct node_daemon *d, const char *path, char *errmsg, size_t errmsg_bytes);
/* The stage table for dp_sched_place, indexed by enum node_stage. */
void node_daemon_stages(struct node_daemon *d, struct dp_stage out[NODE_STAGES]);
/* The event idle policy: each ring whose ends run on two lcores rings its
 * consumer's doorbell (db[stage]: the doorbell of the stage's lcore). */
void node_daemon_wire_doorbells(struct node_daemon *d, struct dp_doorbell *const db[NODE_STAGES]);
/* After every lcore stopped (or none ran). */
void node_daemon_stop(struct node_daemon *d);
/* The node failed (a log failure: exit 1). */
bool node_daemon_failed(const struct node_daemon *d);

/* recover.c: the hard state and the log into the core, the payload ring
 * and the state machine (before any lcore runs). */
int node_daemon_recover(struct node_daemon *d, char *errmsg, size_t errmsg_bytes);
/* recover_snap.c: removes a crash's temporary snapshot files, loads the
 * newest usable snapshot the log [first, last] continues into the apply
 * stage (meta->index 0: none, the log from entry 1). 0, or an error with
 * errmsg saying why the node cannot start. */
int node_daemon_recover_snapshot(struct node_daemon *d, raft_index first, raft_index last,
				 struct store_snap_meta *meta, char *errmsg, size_t errmsg_bytes);

#endif /* RN_NODE_DAEMON_H */
