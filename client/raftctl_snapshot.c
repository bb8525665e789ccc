/* SPDX-License-Identifier: MIT */
/*
 * raftctl_snapshot.c - `raftctl snapshot save FILE`: a backup of a node's
 * newest snapshot. The node's data directory must be on this machine (the
 * cluster file names it: [node] data_dir): the newest snapshot there is
 * verified whole (every block's and the stream's CRC32C), copied to
 * FILE.tmp, synced, renamed to FILE, and the copy verified again. It takes
 * no new snapshot: the node takes them on its own thresholds ([storage]
 * snapshot_entries, snapshot_log_bytes), so the backup is at most that far
 * behind. `raftnode --from-snapshot FILE` starts a new cluster from it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "raftctl.h"
#include "storage.h"

static int snap_copy_file(const char *from, const char *to, char *errmsg, size_t errmsg_bytes)
{
	char tmp[1100];
	snprintf(tmp, sizeof(tmp), "%s.tmp", to);
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = in < 0 ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	static uint8_t buf[1 << 20];
	int rc = in < 0 || out < 0 ? -errno : 0;
	while (rc == 0) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			rc = n < 0 ? -errno : 0;
			break;
		}
		for (ssize_t done = 0; rc == 0 && done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			rc = w < 0 ? (errno == EINTR ? 0 : -errno) : 0;
			done += w > 0 ? w : 0;
		}
	}
	if (rc == 0 && fsync(out) != 0) {
		rc = -errno;
	}
	if (out >= 0 && close(out) != 0 && rc == 0) {
		rc = -errno;
	}
	if (in >= 0) {
		close(in);
	}
	if (rc == 0 && rename(tmp, to) != 0) {
		rc = -errno;
	}
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "copying %s to %s: %s", from, to, strerror(-rc));
		unlink(tmp);
	}
	return rc;
}

/* Node node_id's configuration as the node reads it (its data_dir, its
 * metrics_addr), or NULL after saying why on stderr; free() it. */
struct node_config *raftctl_node_config(const char *config_path, uint32_t node_id)
{
	struct node_config *cfg = calloc(1, sizeof(*cfg));
	char errmsg[1024];
	if (cfg == NULL || node_config_load(config_path, node_id, cfg, errmsg, sizeof(errmsg)) != 0) {
		fprintf(stderr, "raftctl: %s\n", cfg == NULL ? "out of memory" : errmsg);
		free(cfg);
		return NULL;
	}
	return cfg;
}

int raftctl_snapshot_save(const char *config_path, uint32_t node_id, const char *file, bool json)
{
	struct node_config *cfg = raftctl_node_config(config_path, node_id);
	char errmsg[1024];
	if (cfg == NULL) {
		return 2;
	}
	raft_index idx[1];
	int n = store_snap_list(cfg->data_dir, idx, 1);
	if (n <= 0) {
		fprintf(stderr, "raftctl: node %u has no snapshot in %s%s%s (is its data directory "
			"on this machine? it takes one after [storage] snapshot_entries)\n", node_id,
			cfg->data_dir, n < 0 ? ": " : "", n < 0 ? strerror(-n) : "");
		free(cfg);
		return 1;
	}
	char path[600];
	store_snap_path(cfg->data_dir, idx[0], path, sizeof(path));
	struct store_snap_meta *m = calloc(1, sizeof(*m));
	struct store_snap_reader *r = NULL;
	int rc = m == NULL ? -ENOMEM : store_snap_open(path, m, &r, errmsg, sizeof(errmsg));
	store_snap_close(r);
	if (rc == 0) {
		rc = snap_copy_file(path, file, errmsg, sizeof(errmsg));
	}
	if (rc == 0) { /* the copy, verified too */
		rc = store_snap_open(file, m, &r, errmsg, sizeof(errmsg));
		store_snap_close(r);
	}
	if (rc != 0) {
		fprintf(stderr, "raftctl: snapshot save: %s\n", errmsg);
	} else if (json) {
		printf("{\"status\":\"ok\",\"node\":%u,\"index\":%" PRIu64 ",\"term\":%" PRIu64
		       ",\"keys\":%" PRIu64 ",\"digest\":\"%016" PRIx64 "\",\"file\":", node_id, m->index,
		       m->term, m->keys_count, m->state_digest);
		raftctl_json_string(stdout, (const uint8_t *)file, (uint32_t)strlen(file));
		printf("}\n");
	} else {
		printf("saved node %u's snapshot of index %" PRIu64 " (term %" PRIu64 ", %" PRIu64
		       " keys, %" PRIu64 " sessions) to %s\n", node_id, m->index, m->term,
		       m->keys_count, m->sessions_count, file);
	}
	free(m);
	free(cfg);
	return rc == 0 ? 0 : 1;
}
