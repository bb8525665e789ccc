/* SPDX-License-Identifier: MIT */
/*
 * settings_check.h - nodes agree on the cluster: a peer whose agreed
 * settings differ is refused, and the setting named. stage: control.
 *
 * Every frame a node seals carries the fingerprint of its agreed settings
 * (config.h, node_settings_fp: the cluster-wide keys that change what a
 * node applies, the kv_* limits, the cluster id, the wire version). A
 * consensus frame (votes, appends, snapshot chunks and acks) whose
 * fingerprint is not ours is dropped and counted, so a node that differs
 * can neither vote anyone in nor be voted in, nor replicate or be
 * replicated: it stays out while the majority that agrees keeps
 * committing. The node also tells that peer why: a SETTINGS frame with
 * its settings as text (at most one a second per peer), from which the
 * peer names what differs ("kv_value_bytes_max = 1024 here, 4096 on node
 * 3") in its log, its status and its metrics. Both sides do the same, so
 * both refuse and both say so.
 *
 * Client frames are not checked: a client does not hold the cluster's
 * settings (its frames carry 0) and the leader checks each request
 * against its own limits anyway.
 */
#ifndef RN_NODE_CONTROL_SETTINGS_CHECK_H
#define RN_NODE_CONTROL_SETTINGS_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dataplane.h"

/* A SETTINGS frame to one peer at most this often; its refusal said again
 * in the log at most this often (at once when what differs changes). */
#define NODE_SETTINGS_TELL_NS (1000ull * 1000000ull)
#define NODE_SETTINGS_RELOG_NS (30000ull * 1000000ull)
#define NODE_SETTINGS_WHAT_BYTES 192u

struct node_settings_peer {
	raft_node_id id;   /* 0: a free slot */
	bool refused;	   /* its last frame carried another fingerprint */
	uint64_t fp;	   /* that fingerprint */
	uint64_t dropped;  /* its consensus frames dropped for it */
	uint64_t told_ns;  /* our SETTINGS last sent to it (0: never) */
	uint64_t logged_ns;
	/* What differs, once its SETTINGS frame came: "kv_value_bytes_max =
	 * 1024 here, 4096 on node 3[, ...]"; before: the fingerprints. */
	char what[NODE_SETTINGS_WHAT_BYTES];
};

struct node_settings_check {
	raft_node_id self;
	uint64_t fp; /* ours: every frame we seal carries it */
	char text[NODE_SETTINGS_TEXT_BYTES_MAX];
	uint32_t text_bytes;
	uint64_t dropped;	 /* consensus frames dropped: another fingerprint */
	uint64_t told, tell_failed; /* SETTINGS frames sent, and not sent */
	uint64_t heard;		 /* SETTINGS frames received */
	struct node_settings_peer peers[RAFT_NODES_MAX];
};

/* Our settings' text and fingerprint (wire_version: DP_WIRE_VERSION).
 * 0, or -EINVAL when the text does not make a valid SETTINGS body. */
int node_settings_check_init(struct node_settings_check *s, const struct node_config *cfg,
			     uint32_t wire_version);

/* What differs between our text and a peer's (both valid SETTINGS
 * bodies), as "name = OURS here, THEIRS on node PEER" joined by ", " (a
 * name one side lacks: "(none)"); cut at out_bytes. Returns how many
 * settings differ. */
uint32_t node_settings_diff(const struct dp_settings *ours, const struct dp_settings *theirs,
			    raft_node_id peer, char *out, size_t out_bytes);

struct node_control;
/* Ingress, before a frame is stepped: true when the check took it (a
 * SETTINGS frame, or a consensus frame under another fingerprint,
 * dropped); false for a frame to process as usual. */
bool node_settings_frame_in(struct node_control *c, const struct dp_rx_frame *f);
/* Peers refused now. */
uint32_t node_settings_refused_count(const struct node_settings_check *s);
/* Status JSON: `"settings":{...}` (fingerprint, drops, each refused peer
 * and why). Returns the bytes written, or -1 when out_bytes is short. */
int node_settings_status(const struct node_settings_check *s, char *out, size_t out_bytes);

#endif /* RN_NODE_CONTROL_SETTINGS_CHECK_H */
