/* SPDX-License-Identifier: MIT */
/*
 * xfer.h - control's side of InstallSnapshot: the snapshot transfer thread
 * (snapxfer/) and what the node does around it. stage: control.
 */
#ifndef RN_NODE_CONTROL_XFER_H
#define RN_NODE_CONTROL_XFER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h" /* struct node_kv_config */
#include "snapxfer.h"
#include "storage.h"

struct node_xfer_counters {
	uint64_t offers;	 /* RAFT_MSG_SNAPSHOT the core emitted (leader) */
	uint64_t offers_started; /* handed to the transfer thread (new or after an end) */
	uint64_t offers_waiting; /* dropped while the file's CRC was being computed */
	uint64_t offers_failed;	 /* no such file, command ring full */
	uint64_t sent;		 /* a follower holds the file staged and verified */
	uint64_t send_failed;
	uint64_t staged;	 /* follower: files staged, verified, renamed, offered to the core */
	uint64_t staged_refused; /* refused by node_xfer_verify (on the transfer thread) */
	uint64_t installs_asked; /* RAFT_UPDATE_SNAPSHOT */
	uint64_t installed;	 /* RAFT_EVENT_SNAPSHOT_INSTALLED stepped */
	uint64_t frames_in, frames_in_dropped, frames_out, frames_out_failed;
};

struct node_xfer {
	struct snapxfer_thread t;
	char dir[256];
	uint32_t chunk_bytes;
	/* The transfer each follower has (index 0: none), so a repeated offer
	 * of the same snapshot is left to the running transfer (it resumes,
	 * never restarts) and the file is not reopened under it. */
	raft_node_id peer[RAFT_NODES_MAX];
	raft_index sending[RAFT_NODES_MAX];
	/* The id of the snapshot file offered last: its whole-file CRC32C is
	 * computed by a helper thread, never on control's lcore. */
	struct dp_snap_id id;
	pthread_t crc_thread;
	bool crc_started;
	uint32_t crc_done; /* atomic: id is filled (crc_rc 0) or failed */
	int crc_rc;
	char crc_path[SNAPXFER_PATH_BYTES_MAX];
	/* Follower: an install asked for, reported once the apply stage has
	 * loaded it (its applied index reaches install.index). */
	bool staged_pending; /* staged_msg is to step */
	/* The staged file's header, filled by node_xfer_verify on the
	 * transfer thread before it reports STAGED, and what it checks it
	 * against (set at start). */
	struct store_snap_meta staged_meta;
	uint32_t cluster_id;
	struct node_kv_config kv_limits;
	struct raft_message staged_msg;
	bool install_pending;
	raft_index install_index;
	raft_term install_term;
	struct node_xfer_counters counters;
};

#endif /* RN_NODE_CONTROL_XFER_H */
