/* SPDX-License-Identifier: MIT */
/*
 * metrics_text.c - the Prometheus text exposition of a node (format 0.0.4:
 * `# HELP`, `# TYPE`, counters ending in _total, histograms as cumulative
 * _bucket{le=...} lines with _sum and _count) and the /health verdict.
 * stage: main (the metrics thread main starts; never an lcore).
 *
 * Names follow etcd's where one fits (etcd_server_leader_changes_seen_total
 * becomes raftnode_server_leader_changes_seen_total, and so on), so that
 * dashboards and alerts written for etcd read a raftnode with a prefix
 * changed. _count is the +Inf bucket by construction (the buckets are
 * summed here, not counted apart), so the two always agree.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "ops.h"

struct text_buf {
	char *out;
	size_t bytes, used;
	bool full;
};

__attribute__((format(printf, 2, 3))) static void text_add(struct text_buf *b, const char *fmt,
							    ...)
{
	if (b->full) {
		return;
	}
	RN_ASSERT(b->used < b->bytes);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->out + b->used, b->bytes - b->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->bytes - b->used) {
		b->full = true;
		return;
	}
	b->used += (size_t)n;
}

static void text_head(struct text_buf *b, const char *name, const char *type, const char *help)
{
	text_add(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric of one sample without labels. */
static void text_one(struct text_buf *b, const char *name, const char *type, const char *help,
		     uint64_t value)
{
	text_head(b, name, type, help);
	text_add(b, "%s %" PRIu64 "\n", name, value);
}

/* The sample lines of one histogram; labels: "" or `To="2"` (no braces). */
static void text_hist_lines(struct text_buf *b, const char *name, const char *labels,
			    const struct node_hist *h)
{
	uint64_t cumulative = 0;
	const char *sep = labels[0] != '\0' ? "," : "";
	for (uint32_t i = 0; i < NODE_HIST_BOUNDS; i++) {
		cumulative += h->buckets[i];
		double le_s = (double)(NODE_HIST_FIRST_NS << i) / 1e9;
		text_add(b, "%s_bucket{%s%sle=\"%.6g\"} %" PRIu64 "\n", name, labels, sep, le_s,
			 cumulative);
	}
	cumulative += h->buckets[NODE_HIST_BOUNDS];
	text_add(b, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name, labels, sep, cumulative);
	const char *open = labels[0] != '\0' ? "{" : "";
	const char *close = labels[0] != '\0' ? "}" : "";
	text_add(b, "%s_sum%s%s%s %.9f\n", name, open, labels, close, (double)h->sum_ns / 1e9);
	text_add(b, "%s_count%s%s%s %" PRIu64 "\n", name, open, labels, close, cumulative);
}

static void text_server(struct text_buf *b, const struct node_metrics_figures *f)
{
	text_one(b, "raftnode_server_has_leader", "gauge",
		 "Whether a leader exists (1) or not (0), as this node knows.", f->leader != 0);
	text_one(b, "raftnode_server_is_leader", "gauge", "Whether this node is the leader.",
		 f->is_leader);
	text_one(b, "raftnode_server_leader_id", "gauge", "The leader's id (0: none known).",
		 f->leader);
	text_one(b, "raftnode_server_leader_changes_seen_total", "counter",
		 "Leader changes this node has seen (a new leader, not none).", f->leader_changes);
	text_one(b, "raftnode_server_term", "gauge", "The node's current Raft term.", f->term);
	text_one(b, "raftnode_server_proposals_committed_total", "counter",
		 "Entries committed: the commit index.", f->commit_index);
	text_one(b, "raftnode_server_proposals_applied_total", "counter",
		 "Entries applied to the key-value state: the applied index.", f->applied_index);
	text_one(b, "raftnode_server_proposals_pending", "gauge",
		 "Leader: entries appended, not yet committed.", f->proposals_pending);
	text_one(b, "raftnode_server_proposals_failed_total", "counter",
		 "Client writes refused: proposals the core refused and writes answered "
		 "no_space.", f->proposals_failed);
	text_one(b, "raftnode_server_last_index", "gauge", "The log's last index.", f->last_index);
	text_one(b, "raftnode_server_durable_index", "gauge", "The log's last durable index.",
		 f->durable_index);
	text_one(b, "raftnode_server_no_space_alarm", "gauge",
		 "The no-space alarm: client writes answered no_space while 1.", f->alarm_no_space);
	text_one(b, "raftnode_server_failed", "gauge", "The node fail-stopped (its log failed).",
		 f->failed);
	text_one(b, "raftnode_server_elections_started_total", "counter",
		 "Elections this node started.", f->elections);
	text_one(b, "raftnode_server_prevotes_started_total", "counter",
		 "Pre-vote rounds this node started.", f->prevotes);
	text_one(b, "raftnode_server_check_quorum_stepdowns_total", "counter",
		 "Times this leader stepped down for want of a quorum.", f->stepdowns_check_quorum);
	text_one(b, "raftnode_server_entries_truncated_total", "counter",
		 "Log entries rolled back after a conflict.", f->entries_truncated);
	text_one(b, "raftnode_server_kv_keys", "gauge", "Keys in the state machine.", f->kv_keys);
	text_one(b, "raftnode_server_client_requests_total", "counter",
		 "Client requests received.", f->client_requests);
	text_one(b, "raftnode_server_client_replies_total", "counter",
		 "Client replies sent (refusals included).", f->replies);
	text_head(b, "raftnode_server_client_refusals_total", "counter",
		  "Client requests refused, by the reply's status (the client retries busy, "
		  "redirect and retry elsewhere or later).");
	text_add(b, "raftnode_server_client_refusals_total{status=\"busy\"} %" PRIu64 "\n"
		    "raftnode_server_client_refusals_total{status=\"redirect\"} %" PRIu64 "\n"
		    "raftnode_server_client_refusals_total{status=\"retry\"} %" PRIu64 "\n"
		    "raftnode_server_client_refusals_total{status=\"bad_request\"} %" PRIu64 "\n"
		    "raftnode_server_client_refusals_total{status=\"no_space\"} %" PRIu64 "\n",
		 f->replies_busy, f->replies_redirect, f->replies_retry, f->replies_bad,
		 f->replies_no_space);
}

static void text_disk(struct text_buf *b, const struct node_metrics_view *v)
{
	const struct node_metrics_figures *f = &v->f;
	text_head(b, "raftnode_disk_wal_fsync_duration_seconds", "histogram",
		  "A log group's write and sync, handed to storage to durable (sampled: one "
		  "group timed at a time).");
	text_hist_lines(b, "raftnode_disk_wal_fsync_duration_seconds", "", &v->wal_sync);
	text_one(b, "raftnode_disk_wal_syncs_total", "counter", "Durable log groups written.",
		 f->syncs);
	text_one(b, "raftnode_disk_wal_entries_total", "counter",
		 "Entries in the durable log groups.", f->synced_entries);
	text_one(b, "raftnode_disk_free_bytes", "gauge",
		 "Free bytes of the data directory's file system (last check).",
		 f->disk_free_bytes);
}

static void text_peers(struct text_buf *b, const struct node_metrics_view *v)
{
	static const struct {
		const char *name, *help, *label;
		size_t offset;
	} per_peer[] = {
		{"raftnode_network_peer_sent_bytes_total", "Raft frame bytes sent to a peer.", "To",
		 offsetof(struct node_metrics_peer, sent_bytes)},
		{"raftnode_network_peer_received_bytes_total", "Raft frame bytes received from a peer.",
		 "From", offsetof(struct node_metrics_peer, received_bytes)},
		{"raftnode_network_peer_sent_frames_total", "Raft frames sent to a peer.", "To",
		 offsetof(struct node_metrics_peer, sent_frames)},
		{"raftnode_network_peer_received_frames_total", "Raft frames received from a peer.",
		 "From", offsetof(struct node_metrics_peer, received_frames)},
		{"raftnode_network_peer_sent_failures_total",
		 "Raft frames to a peer the transport refused (Raft resends).", "To",
		 offsetof(struct node_metrics_peer, send_failures)},
	};
	for (size_t k = 0; k < RN_ARRAY_COUNT(per_peer); k++) {
		text_head(b, per_peer[k].name, "counter", per_peer[k].help);
		for (uint32_t i = 0; i < v->peers_count; i++) {
			uint64_t x;
			memcpy(&x, (const char *)&v->peers[i] + per_peer[k].offset, sizeof(x));
			text_add(b, "%s{%s=\"%u\"} %" PRIu64 "\n", per_peer[k].name, per_peer[k].label,
				 v->peers[i].id, x);
		}
	}
	text_head(b, "raftnode_network_peer_round_trip_time_seconds", "histogram",
		  "Leader: a heartbeat sent to a peer until answered (sampled: one in flight "
		  "per peer; a follower answers heartbeats at once, no disk write).");
	for (uint32_t i = 0; i < v->peers_count; i++) {
		char labels[32];
		snprintf(labels, sizeof(labels), "To=\"%u\"", v->peers[i].id);
		text_hist_lines(b, "raftnode_network_peer_round_trip_time_seconds", labels,
				&v->peers[i].rtt);
	}
}

static void text_network(struct text_buf *b, const struct node_metrics_figures *f)
{
	text_one(b, "raftnode_network_frames_received_total", "counter",
		 "Frames received, authenticated and decoded (all senders).", f->frames_rx);
	text_one(b, "raftnode_network_frames_sent_total", "counter",
		 "Frames sent (Raft messages and client replies).", f->frames_tx);
	text_one(b, "raftnode_network_send_failures_total", "counter",
		 "Frames the transport could not send.", f->send_failed);
	text_one(b, "raftnode_network_auth_failures_total", "counter",
		 "Frames dropped for a bad authentication tag.", f->auth_failures);
	text_one(b, "raftnode_network_frames_dropped_total", "counter",
		 "Frames dropped for any reason (raftctl status: by reason).", f->drops);
	text_one(b, "raftnode_network_client_key_drops_total", "counter",
		 "Consensus frames sealed with a client key (a client forging node traffic).",
		 f->drops_client_key);
	text_one(b, "raftnode_network_unknown_key_drops_total", "counter",
		 "Frames sealed with a key this node does not hold (retired by a rotation?).",
		 f->drops_unknown_key);
	text_one(b, "raftnode_network_not_member_drops_total", "counter",
		 "Consensus frames from no member of the configuration in force.",
		 f->drops_not_member);
	text_one(b, "raftnode_network_wrong_address_drops_total", "counter",
		 "Consensus frames from another address than their member's.",
		 f->drops_wrong_address);
	text_one(b, "raftnode_network_settings_mismatch_dropped_total", "counter",
		 "Peers' consensus frames dropped: their cluster-wide settings differ from ours "
		 "(the log and raftctl status name the setting).", f->settings_dropped);
	text_one(b, "raftnode_network_peers_settings_refused", "gauge",
		 "Peers refused now because their cluster-wide settings differ.",
		 f->settings_refused_peers);
	text_one(b, "raftnode_network_frames_replayed_total", "counter",
		 "Authenticated consensus frames dropped as replays (msg_seq already seen "
		 "in the sender's boot epoch).", f->replayed);
	text_one(b, "raftnode_network_frames_too_old_total", "counter",
		 "Authenticated consensus frames dropped as too old (below the sender's "
		 "replay window, or of an older boot epoch).", f->too_old);
	text_one(b, "raftnode_admin_reloads_total", "counter",
		 "Key reloads asked with raftctl reload (an admin key's request).",
		 f->admin_reloads_asked);
	text_one(b, "raftnode_admin_reloads_answered_total", "counter",
		 "Key reloads done and answered.", f->admin_reloads_answered);
	text_one(b, "raftnode_admin_refused_key_total", "counter",
		 "Admin requests refused: sealed with a key that is not an admin key "
		 "(a client key asking for a reload).", f->admin_refused_key);
	text_one(b, "raftnode_admin_refused_busy_total", "counter",
		 "Admin requests refused: every pending reload slot taken (retry).",
		 f->admin_refused_busy);
	text_one(b, "raftnode_boot_epoch", "gauge",
		 "This start's boot epoch (rises at every start; in every frame sent).",
		 f->boot_epoch);
}

static void text_snapshot(struct text_buf *b, const struct node_metrics_view *v)
{
	const struct node_metrics_figures *f = &v->f;
	text_one(b, "raftnode_snapshot_index", "gauge", "The newest durable snapshot's index.",
		 f->snap_index);
	text_one(b, "raftnode_snapshot_taken_total", "counter", "Snapshots written.",
		 f->snap_taken);
	text_one(b, "raftnode_snapshot_failures_total", "counter",
		 "Snapshots that failed or were refused (no room).", f->snap_failures);
	text_one(b, "raftnode_snapshot_offers_total", "counter",
		 "InstallSnapshot transfers started to followers.", f->snap_offers);
	text_one(b, "raftnode_snapshot_sent_total", "counter",
		 "InstallSnapshot transfers a follower took whole.", f->snap_sent);
	text_one(b, "raftnode_snapshot_installed_total", "counter",
		 "Snapshots received and installed here.", f->snap_installed);
	text_one(b, "raftnode_snapshot_sent_bytes_total", "counter",
		 "Snapshot data bytes sent.", f->snap_bytes_sent);
	text_one(b, "raftnode_snapshot_received_bytes_total", "counter",
		 "Snapshot data bytes received and accepted.", f->snap_bytes_received);
	text_head(b, "raftnode_snapshot_save_duration_seconds", "histogram",
		  "A snapshot's write, start to durable.");
	text_hist_lines(b, "raftnode_snapshot_save_duration_seconds", "", &v->snap_save);
}

int node_metrics_text(const struct node_metrics_view *v, char *out, size_t out_bytes)
{
	RN_ASSERT(v != NULL);
	RN_ASSERT(out_bytes > 0);
	struct text_buf b = {.out = out, .bytes = out_bytes};
	text_server(&b, &v->f);
	text_disk(&b, v);
	text_network(&b, &v->f);
	text_peers(&b, v);
	text_snapshot(&b, v);
	text_one(&b, "raftnode_metrics_scrapes_total", "counter",
		 "Requests this endpoint answered (this one not counted).", v->scrapes);
	text_one(&b, "raftnode_metrics_bad_requests_total", "counter",
		 "Requests this endpoint refused (400, 405, 404, timeouts).", v->bad_requests);
	return b.full ? -1 : (int)b.used;
}

void node_metrics_view_read(struct node_ops *o, struct node_metrics_view *v)
{
	memset(v, 0, sizeof(*v));
	pthread_mutex_lock(&o->lock);
	v->f = o->figures;
	pthread_mutex_unlock(&o->lock);
	if (o->wal_sync != NULL) {
		node_hist_read(o->wal_sync, &v->wal_sync);
	}
	node_hist_read(&o->snap_save, &v->snap_save);
	for (uint32_t i = 0; i < RAFT_NODES_MAX; i++) {
		const struct node_metrics_peer *p = &o->peers[i];
		raft_node_id id = __atomic_load_n(&p->id, __ATOMIC_ACQUIRE);
		if (id == 0) {
			break; /* slots fill in order */
		}
		struct node_metrics_peer *q = &v->peers[v->peers_count++];
		q->id = id;
		q->sent_frames = __atomic_load_n(&p->sent_frames, __ATOMIC_RELAXED);
		q->sent_bytes = __atomic_load_n(&p->sent_bytes, __ATOMIC_RELAXED);
		q->send_failures = __atomic_load_n(&p->send_failures, __ATOMIC_RELAXED);
		q->received_frames = __atomic_load_n(&p->received_frames, __ATOMIC_RELAXED);
		q->received_bytes = __atomic_load_n(&p->received_bytes, __ATOMIC_RELAXED);
		node_hist_read(&p->rtt, &q->rtt);
	}
	v->scrapes = o->scrapes;
	v->bad_requests = o->bad_requests;
}

int node_metrics_health(const struct node_metrics_figures *f, bool draining, uint64_t now_ns,
			char *why, size_t why_bytes)
{
	RN_ASSERT(why_bytes > 0);
	if (f->refreshed_ns == 0 || now_ns - f->refreshed_ns > NODE_METRICS_STALE_NS) {
		snprintf(why, why_bytes, "stale: the node's control stage has not published its "
			 "figures for over %llu ms\n", NODE_METRICS_STALE_NS / 1000000ull);
	} else if (f->failed) {
		snprintf(why, why_bytes, "failed: the log failed, the node stops\n");
	} else if (draining) {
		snprintf(why, why_bytes, "draining: the node is stopping (SIGTERM)\n");
	} else if (f->alarm_no_space) {
		snprintf(why, why_bytes, "alarm: no_space (client writes refused)\n");
	} else if (f->leader == 0) {
		snprintf(why, why_bytes, "no leader: node %u knows none (term %" PRIu64 ")\n",
			 f->self, f->term);
	} else {
		snprintf(why, why_bytes, "ok\n");
		return 200;
	}
	return 503;
}
