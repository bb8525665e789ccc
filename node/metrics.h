/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - what an operator sees of a node: fixed-bucket latency
 * histograms, per-peer counters, the figures control publishes for the
 * Prometheus endpoint (metrics_http.c, metrics_text.c) and the drain on
 * SIGTERM (control/ops.c). stage: any (each field says who writes it; the
 * inline writers run on their stage's lcore).
 *
 * Single writer everywhere: a histogram or a peer's counters belong to one
 * lcore, which adds with a relaxed load and a relaxed store (no locked
 * instruction, no allocation, no lock); the metrics thread reads them with
 * relaxed 64-bit loads, torn-free on the 64-bit machines the node runs
 * on. A scrape may see one bucket bumped and the sum not yet: each figure
 * is right, the set is a few nanoseconds apart, as with any scrape.
 */
#ifndef RN_NODE_METRICS_H
#define RN_NODE_METRICS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "consensus.h"

/* Buckets: upper bounds 10 us x 2^i, i = 0..NODE_HIST_BOUNDS-1 (10 us to
 * 5.24 s), and +Inf. Fixed, so that two scrapes and two nodes compare. */
#define NODE_HIST_BOUNDS 20u
#define NODE_HIST_FIRST_NS 10000ull
struct node_hist {
	uint64_t buckets[NODE_HIST_BOUNDS + 1]; /* not cumulative: [i] counts bound i only */
	uint64_t sum_ns;
};

/* The bucket of a duration: the smallest i with ns <= 10 us x 2^i. */
static inline uint32_t node_hist_bucket(uint64_t ns)
{
	uint64_t q = (ns + NODE_HIST_FIRST_NS - 1) / NODE_HIST_FIRST_NS; /* ceil */
	uint32_t i = q <= 1 ? 0 : (uint32_t)(64 - __builtin_clzll(q - 1));
	return i < NODE_HIST_BOUNDS ? i : NODE_HIST_BOUNDS;
}

static inline void node_counter_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* The owner lcore only. */
static inline void node_hist_observe(struct node_hist *h, uint64_t ns)
{
	node_counter_add(&h->buckets[node_hist_bucket(ns)], 1);
	node_counter_add(&h->sum_ns, ns);
}

/* Any thread: a torn-free copy (relaxed loads). */
static inline void node_hist_read(const struct node_hist *h, struct node_hist *out)
{
	for (uint32_t i = 0; i <= NODE_HIST_BOUNDS; i++) {
		out->buckets[i] = __atomic_load_n(&h->buckets[i], __ATOMIC_RELAXED);
	}
	out->sum_ns = __atomic_load_n(&h->sum_ns, __ATOMIC_RELAXED);
}

/* One duration at a time is timed: started when none runs, observed once
 * the index it waits for is reached (a group's write and sync, an append's
 * acknowledgement). Sampling, not every event: the clock is read at most
 * twice per sample, and under load every round still gives one. */
struct node_probe {
	uint64_t start_ns; /* 0: none running */
	raft_index index;
};

/* Starts timing up to index, unless a probe runs (the clock is read only
 * then). */
static inline void node_probe_start(struct node_probe *p, raft_index index)
{
	if (p->start_ns == 0) {
		p->start_ns = node_now_ns();
		p->index = index;
	}
}

/* index reached: the duration into h. */
static inline void node_probe_end(struct node_probe *p, raft_index index, struct node_hist *h)
{
	if (p->start_ns != 0 && index >= p->index) {
		uint64_t now_ns = node_now_ns();
		node_hist_observe(h, now_ns > p->start_ns ? now_ns - p->start_ns : 0);
		p->start_ns = 0;
	}
}

/* A peer as control sees it (control writes, the metrics thread reads). */
struct node_metrics_peer {
	raft_node_id id; /* 0: unused slot */
	uint64_t sent_frames, sent_bytes, send_failures;
	uint64_t received_frames, received_bytes;
	struct node_hist rtt;	/* a heartbeat sent -> answered (README: metrics) */
	struct node_probe rtt_probe;
};

/* What control publishes every refresh (under node_ops.lock). */
struct node_metrics_figures {
	uint64_t refreshed_ns; /* 0: never (the node has not run a round) */
	raft_node_id self, leader;
	bool is_leader, alarm_no_space, failed;
	raft_term term;
	raft_index commit_index, applied_index, last_index, durable_index;
	uint64_t proposals_failed, proposals_pending, leader_changes;
	uint64_t client_requests, replies, replies_busy, replies_redirect, replies_retry;
	uint64_t replies_bad, replies_no_space;
	uint64_t elections, prevotes, stepdowns_check_quorum, entries_truncated;
	uint64_t syncs, synced_entries, disk_free_bytes;
	uint64_t frames_rx, frames_tx, send_failed, auth_failures, drops;
	/* Issue 17: consensus frames refused for who sent them. */
	uint64_t drops_client_key, drops_unknown_key, drops_not_member, drops_wrong_address;
	uint64_t replayed, too_old; /* of drops: refused by replay windows */
	uint32_t boot_epoch;
	uint64_t snap_index, snap_taken, snap_failures, snap_offers, snap_sent, snap_installed;
	uint64_t snap_bytes_sent, snap_bytes_received;
	uint64_t kv_keys;
	uint64_t settings_dropped, settings_refused_peers; /* control/settings_check.h */
	/* raftctl reload (control/admin.h): asked, answered, refused. */
	uint64_t admin_reloads_asked, admin_reloads_answered;
	uint64_t admin_refused_key, admin_refused_busy;
};

/* The drain (SIGTERM/SIGINT, control/ops.c). */
enum node_drain_state {
	NODE_DRAIN_NONE = 0,
	NODE_DRAIN_TRANSFER,   /* leader: TimeoutNow sent, waiting to be a follower */
	NODE_DRAIN_SETTLE,     /* a follower now: its writes applied and answered */
	NODE_DRAIN_DONE,       /* the stop flag is set */
};

/* The operator's side of one node: owned by main (raftnode.c), handed to
 * control (node_control.ops) and to the metrics thread. */
struct node_ops {
	/* Set by the signal handler; read by control each round. */
	volatile int drain_requested;
	/* control only */
	uint8_t drain_state;
	uint64_t drain_deadline_ns, drain_settle_ns;
	raft_index drain_index; /* the last entry it proposed as leader */
	uint64_t refresh_ns;
	uint64_t leader_changes; /* a new leader (not "none") seen */
	uint64_t snap_seen;	 /* snapshots counted into snap_save */
	struct node_metrics_peer peers[RAFT_NODES_MAX];
	struct node_hist snap_save; /* the snapshot writer's start -> durable */
	/* The log stage's (its lcore writes): a group's write + sync. */
	const struct node_hist *wal_sync;
	/* Published by control, copied by the metrics thread. */
	pthread_mutex_t lock; /* a few times a second, never on the commit path */
	struct node_metrics_figures figures;
	/* The metrics thread (metrics_http.c). */
	int listen_fd; /* -1: no endpoint */
	pthread_t thread;
	bool thread_started;
	volatile int thread_stop;
	char addr_text[64];
	char *body;	  /* the response being built: NODE_METRICS_BODY_BYTES, at start */
	uint64_t scrapes, bad_requests;
};

#define NODE_METRICS_BODY_BYTES (256u * 1024u)
#define NODE_METRICS_STALE_NS (2000ull * 1000000ull) /* /health: control silent this long */

/* The peer slot of id (a free one the first time); NULL when all are
 * taken (never with members <= RAFT_NODES_MAX). Control only. */
static inline struct node_metrics_peer *node_metrics_peer_of(struct node_ops *o, raft_node_id id)
{
	for (uint32_t i = 0; i < RAFT_NODES_MAX; i++) {
		if (o->peers[i].id == id) {
			return &o->peers[i];
		}
		if (o->peers[i].id == 0) {
			__atomic_store_n(&o->peers[i].id, id, __ATOMIC_RELEASE);
			return &o->peers[i];
		}
	}
	return NULL;
}

#endif /* RN_NODE_METRICS_H */
