/* SPDX-License-Identifier: MIT */
/*
 * recover_snap.c - the newest usable snapshot into the state machine, at
 * start. stage: main (before any lcore runs; recover.c then replays the
 * log from the snapshot's index on).
 *
 * Leftover temporary files of a crash are removed first. Then the
 * snapshots, newest first: each is verified whole (storage checks every
 * block's and the stream's CRC32C before anything is used) and loaded into
 * a fresh state machine, whose digest must be the one the snapshot
 * recorded. A damaged one is reported with its file and offset and the
 * next older one is tried, but only while the log still holds every entry
 * after that older one's index; otherwise the node refuses to start and
 * says why. A snapshot taken with larger [limits] than this node's stops
 * the start too (raising them is the fix, not an older snapshot).
 *
 * An install a crash interrupted (the leader's snapshot renamed into
 * place, the log not yet reset to it: crash points install-renamed and
 * reset-truncated) is finished here: a snapshot the log does not reach,
 * or whose entry the log holds with another term, came from a leader
 * (this node's own are of entries it held durably) and covers committed
 * state; the log's entries up to it are superseded by it and those after
 * it are not on the committed history (Log Matching: a log that agreed
 * with the leader at those entries would agree at the snapshot's), so the
 * log is reset to continue after it, as the install would have left it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "daemon.h"

#define RECOVER_SNAPS_MAX 16u

static int recover_snap_read(void *user, void *bytes, size_t count)
{
	return store_snap_read(user, bytes, count);
}

/* Loads one snapshot file into a new state machine: 0 (*out set), -E2BIG
 * (limits), or another error (damaged: errmsg names file and offset). */
static int recover_snap_load(struct node_daemon *d, const char *path, struct store_snap_meta *m,
			     struct node_kv **out, char *errmsg, size_t errmsg_bytes)
{
	struct store_snap_reader *r = NULL;
	int rc = store_snap_open(path, m, &r, errmsg, errmsg_bytes);
	if (rc != 0) {
		return rc;
	}
	if (m->cluster_id != d->cfg.cluster_id) {
		snprintf(errmsg, errmsg_bytes, "%s: a snapshot of cluster %u, this is cluster %u",
			 path, m->cluster_id, d->cfg.cluster_id);
		store_snap_close(r);
		return -EINVAL;
	}
	struct node_kv_snapshot_info info = {
		.index = m->index, .digest = m->state_digest, .keys_count = m->keys_count,
		.sessions_count = m->sessions_count,
		.limits = {.keys_max = m->kv_keys_max,
			   .key_bytes_max = (uint16_t)rn_min_u64(m->kv_key_bytes_max, UINT16_MAX),
			   .value_bytes_max = m->kv_value_bytes_max,
			   .clients_max = m->kv_clients_max,
			   .session_window = m->kv_session_window}};
	struct node_kv *kv = NULL;
	rc = node_kv_create(&d->cfg.kv, &kv);
	if (rc == 0) {
		char why[384];
		rc = node_kv_snapshot_load(kv, &info, recover_snap_read, r, why, sizeof(why));
		if (rc == 0 && store_snap_remaining(r) != 0) {
			snprintf(why, sizeof(why), "%" PRIu64 " bytes left after the state",
				 store_snap_remaining(r));
			rc = -EBADMSG;
		}
		if (rc != 0) {
			snprintf(errmsg, errmsg_bytes, "%s: %s", path, why);
		}
	} else {
		snprintf(errmsg, errmsg_bytes, "out of memory for the state machine");
	}
	store_snap_close(r);
	if (rc != 0) {
		node_kv_destroy(kv);
		return rc;
	}
	*out = kv;
	return 0;
}

/* The log continues the snapshot m, or is reset to (an interrupted
 * install, above). 0, or an error that stops the start. */
static int recover_snap_finish_install(struct node_daemon *d, const struct store_snap_meta *m,
				       raft_index last, char *errmsg, size_t errmsg_bytes)
{
	raft_term t = m->index <= last ? store_term_at(d->log, m->index) : 0;
	if (m->index <= last && t == m->term) {
		return 0; /* the usual case: the log holds the snapshot's entry */
	}
	if (m->index <= last && t == 0) {
		/* Not read (a damaged header, an I/O error): never a reason to
		 * drop entries this node may have acknowledged. */
		snprintf(errmsg, errmsg_bytes, "the log's entry %" PRIu64 " (the snapshot's) cannot "
			 "be read: %s: refusing to start", m->index, store_errmsg(d->log));
		return -EIO;
	}
	fprintf(stderr, "raftnode %u: the log (to entry %" PRIu64 ", term %" PRIu64 " at %" PRIu64
		") does not hold the snapshot's entry %" PRIu64 " of term %" PRIu64 ": an install a "
		"crash interrupted; the log is reset to continue after it\n", d->cfg.self, last, t,
		m->index, m->index, m->term);
	int rc = store_reset(d->log, m->index, m->term);
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "finishing an interrupted install: log reset to %" PRIu64
			 ": %s (%s)", m->index, store_strerror(rc), store_errmsg(d->log));
	}
	return rc;
}

int node_daemon_recover_snapshot(struct node_daemon *d, raft_index first, raft_index last,
				 struct store_snap_meta *m, char *errmsg, size_t errmsg_bytes)
{
	const char *dir = d->cfg.data_dir;
	m->index = 0;
	int cleaned = store_snap_clean(dir);
	if (cleaned > 0) {
		fprintf(stderr, "raftnode %u: removed %d temporary snapshot file(s) a crash left in "
			"%s\n", d->cfg.self, cleaned, dir);
	}
	raft_index idx[RECOVER_SNAPS_MAX];
	int n = store_snap_list(dir, idx, RECOVER_SNAPS_MAX);
	if (n < 0) {
		snprintf(errmsg, errmsg_bytes, "%s: listing snapshots: %s", dir, strerror(-n));
		return n;
	}
	char why[1024] = "";
	for (int i = 0; i < n; i++) {
		/* The log must hold every entry after it (and the entry itself or
		 * a later one: it was durable when the snapshot was taken). */
		if (first > idx[i] + 1) {
			snprintf(errmsg, errmsg_bytes, "%s%sthe log (entries %" PRIu64 "..%" PRIu64
				 ") does not continue the snapshot of index %" PRIu64 ": refusing "
				 "to start", why, why[0] ? "; " : "", first, last, idx[i]);
			return -ENOENT;
		}
		char path[512];
		store_snap_path(dir, idx[i], path, sizeof(path));
		struct node_kv *kv = NULL;
		int rc = recover_snap_load(d, path, m, &kv, why, sizeof(why));
		if (rc == -E2BIG || rc == -EINVAL || rc == -ENOMEM) {
			snprintf(errmsg, errmsg_bytes, "%s", why);
			return rc;
		}
		if (rc != 0) {
			fprintf(stderr, "raftnode %u: snapshot refused: %s\n", d->cfg.self, why);
			m->index = 0;
			continue;
		}
		/* Its configuration, on top of the cluster file's addresses (a
		 * version 1 blob holds none). */
		struct node_conf conf = d->applystage.conf;
		if (!node_conf_blob_decode(m->config, m->config_bytes, &conf)) {
			snprintf(errmsg, errmsg_bytes, "%s: its configuration (%u bytes) does not "
				 "parse: refusing to start", path, m->config_bytes);
			node_kv_destroy(kv);
			return -EINVAL;
		}
		rc = recover_snap_finish_install(d, m, last, errmsg, errmsg_bytes);
		if (rc != 0) {
			node_kv_destroy(kv);
			return rc;
		}
		node_apply_loaded(&d->applystage, kv, m->index, m->term);
		d->applystage.conf = conf;
		d->snap_link.durable_term = m->term;
		d->snap_link.durable_index = m->index;
		d->snap_link.durable_conf = conf.m;
		fprintf(stderr, "raftnode %u: loaded the snapshot of index %" PRIu64 " (term %" PRIu64
			"): %" PRIu64 " keys, %" PRIu64 " sessions\n", d->cfg.self, m->index, m->term,
			m->keys_count, m->sessions_count);
		return 0;
	}
	if (first > 1) {
		snprintf(errmsg, errmsg_bytes, "%s%sthe log starts at entry %" PRIu64 " (compacted) "
			 "and no snapshot covers the entries below it: refusing to start", why,
			 why[0] ? "; " : "", first);
		return -ENOENT;
	}
	return 0; /* none: the log from its first entry */
}
