/* SPDX-License-Identifier: MIT */
/*
 * status.c - what a node says about itself. stage: control.
 *
 * One JSON object (raftctl status, cluster.sh status, the integration
 * tests), and the numbers DPDK telemetry serves ("/raftnode/status",
 * telemetry.c): the telemetry thread is DPDK's, not ours, so control
 * refreshes a copy a few times a second under a lock that the commit path
 * never takes.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "clock.h"
#include "internal.h"
#include "admin.h"
#include "settings_check.h"

struct status_buf {
	char *out;
	size_t bytes;
	size_t used;
	bool truncated;
};

__attribute__((format(printf, 2, 3))) static void status_add(struct status_buf *b,
							      const char *fmt, ...)
{
	if (b->truncated) {
		return;
	}
	RN_ASSERT(b->used < b->bytes); /* room for the terminating NUL at least */
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->out + b->used, b->bytes - b->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->bytes - b->used) {
		b->truncated = true;
		return;
	}
	b->used += (size_t)n;
}

/* The members of the configuration in force, voters then learners. */
static uint32_t status_members(const struct node_control *c, raft_node_id *ids)
{
	struct raft_membership m;
	raft_membership(c->raft, &m);
	memcpy(ids, m.voters, m.voters_count * sizeof(ids[0]));
	memcpy(ids + m.voters_count, m.learners, m.learners_count * sizeof(ids[0]));
	return m.voters_count + m.learners_count;
}

static void status_followers(struct node_control *c, struct status_buf *b)
{
	status_add(b, "\"followers\":[");
	bool first = true;
	raft_node_id ids[2 * RAFT_NODES_MAX];
	uint32_t n = status_members(c, ids);
	for (uint32_t i = 0; i < n; i++) {
		struct raft_progress_info pi;
		if (!raft_progress(c->raft, ids[i], &pi)) {
			continue;
		}
		status_add(b, "%s{\"id\":%u,\"match_index\":%" PRIu64 ",\"next_index\":%" PRIu64
			   ",\"inflight\":%u,\"state\":\"%s\",\"active\":%s}",
			   first ? "" : ",", pi.id, pi.match_index, pi.next_index, pi.inflight_count,
			   pi.state == RAFT_PROGRESS_REPLICATE ? "replicate"
			   : pi.state == RAFT_PROGRESS_SNAPSHOT ? "snapshot" : "probe",
			   pi.recent_active ? "true" : "false");
		first = false;
	}
	status_add(b, "],");
}

/* JSON names of the drop reasons DP_ERR_DROP_FIRST..DP_ERR_DROP_LAST. */
static const char *const status_drop_names[DP_DROP_REASONS_COUNT] = {
	"truncated", "not_raft", "bad_ip", "bad_udp", "bad_magic", "bad_version",
	"wrong_cluster", "bad_length", "bad_tag", "unknown_type", "bad_body",
	"wrong_recipient", "too_many_entries", "seal_mismatch", "unknown_key", "client_key"};

static void status_drops(struct node_control *c, struct status_buf *b)
{
	const struct dp_wire_counters *w = &c->transport->wire.counters;
	status_add(b, "\"drops\":{");
	for (int rc = DP_ERR_DROP_FIRST; rc <= DP_ERR_DROP_LAST; rc++) {
		RN_ASSERT(status_drop_names[rc - DP_ERR_DROP_FIRST] != NULL); /* a name each */
		uint64_t n = dp_wire_dropped(w, rc);
		status_add(b, "%s\"%s\":%" PRIu64, rc == DP_ERR_DROP_FIRST ? "" : ",",
			   status_drop_names[rc - DP_ERR_DROP_FIRST], n);
	}
	/* Control's own (admit.c), the same way: a consensus frame from no
	 * member, or from another address than its member's. */
	if (c->members.drops_not_member > 0) {
		status_add(b, ",\"not_member\":%" PRIu64, c->members.drops_not_member);
	}
	if (c->members.drops_wrong_address > 0) {
		status_add(b, ",\"wrong_address\":%" PRIu64, c->members.drops_wrong_address);
	}
	/* Authenticated consensus frames the senders' replay windows refused
	 * (dataplane.h: replay windows; too_old includes older epochs). */
	struct dp_replay_counters r = {0};
	if (c->transport->replay != NULL) {
		dp_replay_read(c->transport->replay, &r);
	}
	status_add(b, ",\"replayed\":%" PRIu64 ",\"too_old\":%" PRIu64 "},", r.replayed, r.too_old);
}

/* The state machine's figures, as the apply stage last published them. */
static uint32_t status_kv_keys(const struct node_control *c)
{
	return __atomic_load_n(&c->apply.link->keys_published, __ATOMIC_RELAXED);
}

static uint64_t status_kv_digest(const struct node_control *c)
{
	return __atomic_load_n(&c->apply.link->digest_published, __ATOMIC_RELAXED);
}

/* The snapshot figures, as ",\"snapshot\":{...}" (nothing with snapshots
 * off). */
static void status_snapshot(const struct node_control *c, struct status_buf *b)
{
	const struct node_snap_link *sl = c->snap;
	if (sl == NULL) {
		return;
	}
	raft_index index;
	raft_term term;
	node_snap_link_read(sl, &index, &term, NULL);
	status_add(b, ",\"snapshot\":{\"index\":%" PRIu64 ",\"term\":%" PRIu64 ",\"count\":%" PRIu64
		   ",\"failures\":%" PRIu64 ",\"write_ms\":%" PRIu64 ",\"compacted_index\":%" PRIu64
		   ",\"offers_unsent\":%" PRIu64, index, term,
		   __atomic_load_n(&sl->snapshots_count, __ATOMIC_RELAXED),
		   __atomic_load_n(&sl->failures_count, __ATOMIC_RELAXED),
		   __atomic_load_n(&sl->last_write_us, __ATOMIC_RELAXED) / 1000,
		   __atomic_load_n(&sl->compacted_index, __ATOMIC_RELAXED),
		   c->counters.snapshot_offers_unsent);
	const struct node_xfer *x = c->xfer;
	if (x != NULL) {
		/* InstallSnapshot: offers, files a follower holds, installs
		 * here, transfers running and the bytes they moved (the
		 * thread's counters, read as they are). */
		uint32_t active = 0;
		for (uint32_t i = 0; i < RAFT_NODES_MAX; i++) {
			active += x->sending[i] != 0;
		}
		status_add(b, ",\"xfer\":{\"offers\":%" PRIu64 ",\"sent\":%" PRIu64
			   ",\"installed\":%" PRIu64 ",\"active\":%u,\"bytes_out\":%" PRIu64
			   ",\"bytes_in\":%" PRIu64 "}",
			   x->counters.offers_started, x->counters.sent, x->counters.installed, active,
			   __atomic_load_n(&x->t.send.counters.data_bytes_sent, __ATOMIC_RELAXED),
			   __atomic_load_n(&x->t.recv.counters.data_bytes_accepted, __ATOMIC_RELAXED));
	}
	status_add(b, "}");
}

/* This node in the configuration in force (voter, learner, none; removed:
 * its removal is in force) and the entry that set it, as ",\"member\":...". */
static void status_member(const struct node_control *c, struct status_buf *b)
{
	struct raft_membership m;
	raft_membership(c->raft, &m);
	static const char *const roles[] = {"none", "voter", "learner"};
	status_add(b, ",\"member\":\"%s\",\"config_index\":%" PRIu64 ",\"pending\":%d",
		   c->members.removed ? "removed" : roles[node_conf_role(&m, c->cfg->self)],
		   raft_membership_index(c->raft), raft_membership_pending(c->raft) ? 1 : 0);
}

/* The settings check (settings_check.h) as ",\"settings\":{...}": the
 * fingerprint, the frames dropped for it, each refused peer and why. */
static void status_settings(const struct node_control *c, struct status_buf *b)
{
	char part[RAFT_NODES_MAX * (NODE_SETTINGS_WHAT_BYTES + 16) + 96];
	if (c->settings != NULL && node_settings_status(c->settings, part, sizeof(part)) > 0) {
		status_add(b, ",%s", part);
	}
}

/* What both forms start with: who the node is and where its log stands. */
static void status_head(struct node_control *c, struct status_buf *b)
{
	struct node_log_figures lf;
	node_log_figures(&c->log, &lf);
	status_add(b, "{\"id\":%u,\"role\":\"%s\",\"term\":%" PRIu64 ",\"leader\":%u,"
		   "\"commit_index\":%" PRIu64 ",\"applied_index\":%" PRIu64
		   ",\"last_index\":%" PRIu64 ",\"durable_index\":%" PRIu64 ",",
		   c->cfg->self, raft_role_name(raft_role(c->raft)), raft_current_term(c->raft),
		   raft_leader_id(c->raft), raft_commit_index(c->raft), node_apply_applied(c),
		   raft_last_index(c->raft), lf.durable);
	/* The alarm, in both forms: what an operator looks for first; its
	 * figures while there is something to say: free bytes, appends the
	 * log holds for want of room, writes answered no_space. */
	uint64_t held = 0;
	(void)node_log_space_short(&c->log, &held);
	status_add(b, "\"alarm\":\"%s\",", c->alarm_no_space ? "no_space" : "none");
	if (c->alarm_no_space || held > 0) {
		status_add(b, "\"space\":{\"free_bytes\":%" PRIu64 ",\"held\":%" PRIu64
			   ",\"refused\":%" PRIu64 "},",
			   c->space_free_bytes, held, c->counters.writes_refused_no_space);
	}
}

int node_status_json(struct node_control *c, char *out, size_t out_bytes)
{
	RN_ASSERT(out_bytes > 0);
	struct status_buf b = {.out = out, .bytes = out_bytes};
	struct raft_counters rc;
	struct node_log_figures lf;
	raft_get_counters(c->raft, &rc);
	node_log_figures(&c->log, &lf);
	const struct node_counters *cn = &c->counters;
	status_head(c, &b);
	/* "failed" only when it is true, the last rollback's range only
	 * after one. */
	status_add(&b, "\"transport\":\"%s\",\"engine\":\"%s\",\"durability\":\"%s\","
		   "\"uptime_ms\":%" PRIu64 ",\"boot_epoch\":%u,%s\"lcore_map\":\"%s\",",
		   c->transport->kind == DP_TRANSPORT_DPDK ? "dpdk" : "udp",
		   c->cfg->io_engine == NODE_ENGINE_URING ? "uring" : "pwrite",
		   node_durability_name(c->cfg->durability),
		   (uint64_t)((node_now_ns() - c->started_ns) / NODE_NS_PER_MS),
		   c->transport->wire.boot_epoch, c->failed ? "\"failed\":true," : "", c->cfg->lcore_map);
	status_followers(c, &b);
	if (cn->entries_rolled_back == 0) {
		status_add(&b, "\"rollback\":{\"entries\":0},");
	} else {
		status_add(&b, "\"rollback\":{\"entries\":%" PRIu64 ",\"last_first_index\":%" PRIu64
			   ",\"last_last_index\":%" PRIu64 ",\"last_term\":%" PRIu64 "},",
			   cn->entries_rolled_back, cn->rollback_first, cn->rollback_last,
			   cn->rollback_term);
	}
	status_add(&b, "\"kv\":{\"keys\":%u,\"digest\":\"%016" PRIx64 "\"},",
		   status_kv_keys(c), status_kv_digest(c));
	status_add(&b, "\"counters\":{\"frames_rx\":%" PRIu64 ",\"frames_tx\":%" PRIu64
		   ",\"send_failed\":%" PRIu64 ",\"auth_failures\":%" PRIu64
		   ",\"client_requests\":%" PRIu64 ",\"replies\":%" PRIu64 ",\"busy\":%" PRIu64
		   ",\"redirects\":%" PRIu64 ",\"retries\":%" PRIu64 ",\"bad_requests\":%" PRIu64
		   ",\"proposals\":%" PRIu64 ",\"proposed_entries\":%" PRIu64
		   ",\"reads\":%" PRIu64 ",\"appends_split\":%" PRIu64
		   ",\"appends_no_room\":%" PRIu64 ",\"syncs\":%" PRIu64
		   ",\"group_entries_mean\":%.2f,\"elections\":%" PRIu64
		   ",\"entries_truncated\":%" PRIu64 ",\"msgs_dropped_stale\":%" PRIu64
		   ",\"payload_bytes_used\":%" PRIu64 ",\"catchup_entries\":%" PRIu64
		   ",\"catchup_reads_waited\":%" PRIu64 ",\"log_ring_full_waits\":%" PRIu64
		   ",\"apply_ring_full_waits\":%" PRIu64 ",\"rx_msgs_exhausted\":%" PRIu64
		   ",\"tx_ring_full_waits\":%" PRIu64 ",\"reply_fragments\":%" PRIu64
		   ",\"rx_reads_skipped\":%" PRIu64 "},",
		   c->transport->counters.received +
			   c->transport->wire.counters.fragments_accepted,
		   c->transport->counters.sent, c->transport->counters.send_failed,
		   dp_wire_dropped(&c->transport->wire.counters, DP_ERR_BAD_TAG),
		   cn->client_requests, cn->replies_sent, cn->replies_busy, cn->replies_redirect,
		   cn->replies_retry, cn->client_bad, cn->proposals, cn->proposed_entries,
		   __atomic_load_n(&c->apply.link->reads_served, __ATOMIC_RELAXED), cn->appends_split, cn->appends_dropped_no_room,
		   lf.groups, lf.groups > 0 ? (double)lf.entries / (double)lf.groups : 0.0,
		   rc.elections_started, rc.entries_truncated, rc.msgs_dropped_stale,
		   node_payloads_used(&c->payloads), c->counters.catchup_entries_sent,
		   c->log.reads_refused_busy, c->log.ops_full_waits,
		   c->apply.in_full_waits,
		   __atomic_load_n(&c->rxtx->rx_msgs_exhausted, __ATOMIC_RELAXED),
		   c->counters.tx_full_waits, cn->reply_fragments,
		   __atomic_load_n(&c->transport->counters.rx_reads_skipped, __ATOMIC_RELAXED));
	status_drops(c, &b);
	status_add(&b, "\"pid\":%d", (int)getpid());
	/* A reply spans frames (egress.c), so the whole status goes, the
	 * snapshot figures, the membership and the settings check included;
	 * out_bytes is the stated maximum, past which the caller sends the
	 * brief form (which shows a refused peer's settings too). */
	status_snapshot(c, &b);
	status_member(c, &b);
	status_settings(c, &b);
	char admin[160];
	if (node_admin_status(c->admin, admin, sizeof(admin)) > 0) {
		status_add(&b, "%s", admin); /* raftctl reload: asked, refused */
	}
	status_add(&b, "}");
	return b.truncated ? -1 : (int)b.used;
}

int node_status_json_brief(struct node_control *c, char *out, size_t out_bytes)
{
	RN_ASSERT(out_bytes > 0);
	struct status_buf b = {.out = out, .bytes = out_bytes};
	status_head(c, &b);
	status_add(&b, "\"rollback\":{\"entries\":%" PRIu64 "},\"kv\":{\"keys\":%u,"
		   "\"digest\":\"%016" PRIx64 "\"},\"truncated\":true",
		   c->counters.entries_rolled_back, status_kv_keys(c), status_kv_digest(c));
	status_member(c, &b);
	status_snapshot(c, &b);
	if (node_settings_refused_count(c->settings) > 0) {
		status_settings(c, &b); /* a peer refused: what an operator must see */
	}
	status_add(&b, ",");
	/* Followers as [id, match_index, next_index, inflight]. */
	status_add(&b, "\"followers_brief\":[");
	bool first = true;
	raft_node_id ids[2 * RAFT_NODES_MAX];
	uint32_t n = status_members(c, ids);
	for (uint32_t i = 0; i < n; i++) {
		struct raft_progress_info pi;
		if (raft_progress(c->raft, ids[i], &pi)) {
			status_add(&b, "%s[%u,%" PRIu64 ",%" PRIu64 ",%u]", first ? "" : ",", pi.id,
				   pi.match_index, pi.next_index, pi.inflight_count);
			first = false;
		}
	}
	status_add(&b, "]}");
	return b.truncated ? -1 : (int)b.used;
}

void node_status_refresh(struct node_control *c)
{
	struct node_status_numbers n;
	struct raft_counters rc;
	struct node_log_figures lf;
	_Static_assert(NODE_STATUS_VALUES == 23, "values[0..22] are set below, each once");
	RN_ASSERT(c->status != NULL);
	raft_get_counters(c->raft, &rc);
	node_log_figures(&c->log, &lf);
	snprintf(n.role, sizeof(n.role), "%s", raft_role_name(raft_role(c->raft)));
	n.values[0] = c->cfg->self;
	n.values[1] = raft_current_term(c->raft);
	n.values[2] = raft_leader_id(c->raft);
	n.values[3] = raft_commit_index(c->raft);
	n.values[4] = node_apply_applied(c);
	n.values[5] = raft_last_index(c->raft);
	n.values[6] = lf.durable;
	n.values[7] = c->transport->counters.received;
	n.values[8] = c->transport->counters.sent;
	n.values[9] = dp_wire_dropped(&c->transport->wire.counters, DP_ERR_BAD_TAG);
	uint64_t drops = 0;
	for (int e = DP_ERR_DROP_FIRST; e <= DP_ERR_DROP_LAST; e++) {
		drops += dp_wire_dropped(&c->transport->wire.counters, e);
	}
	drops += c->members.drops_not_member + c->members.drops_wrong_address;
	struct dp_replay_counters r = {0};
	if (c->transport->replay != NULL) {
		dp_replay_read(c->transport->replay, &r);
	}
	n.values[10] = drops + r.replayed + r.too_old;
	n.values[11] = lf.groups;
	n.values[12] = lf.groups > 0 ? lf.entries * 100 / lf.groups : 0;
	n.values[13] = c->counters.entries_rolled_back;
	n.values[14] = c->counters.client_requests;
	n.values[15] = c->counters.replies_busy;
	n.values[16] = status_kv_keys(c);
	n.values[17] = status_kv_digest(c);
	n.values[18] = rc.elections_started;
	n.values[19] = c->settings != NULL ? c->settings->dropped : 0;
	n.values[20] = node_settings_refused_count(c->settings);
	n.values[21] = r.replayed;
	n.values[22] = r.too_old;
	pthread_mutex_lock(&c->status->lock);
	c->status->numbers = n;
	c->status_built_ns = node_now_ns();
	pthread_mutex_unlock(&c->status->lock);
}

