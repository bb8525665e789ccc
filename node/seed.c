/* SPDX-License-Identifier: MIT */
/*
 * seed.c - a new cluster from a snapshot file (`raftnode --from-snapshot
 * FILE`). stage: main (at start, before recovery).
 *
 * Only into an empty data directory (no log entry, no snapshot): the file
 * is verified whole, copied into the directory as this cluster's snapshot
 * (its cluster id and configuration blob are this cluster's: a backup of
 * another cluster may seed a new one), and the log is made to continue
 * after it (store_start_at: compaction point and commit hint at its
 * index, the hard state's term at least its term). Recovery then loads it
 * like any snapshot. Start every member of the new cluster with the same
 * file: each begins at its index with the same state.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "daemon.h"

/* The stream of src into a new snapshot of dir with meta. */
static int seed_copy(struct store_snap_reader *src, const char *dir,
		     const struct store_snap_meta *meta, char *errmsg, size_t errmsg_bytes)
{
	struct store_snap_writer *w = NULL;
	int rc = store_snap_create(dir, meta, &w, errmsg, errmsg_bytes);
	if (rc != 0) {
		return rc;
	}
	uint8_t *buf = malloc(STORE_SNAP_BLOCK_BYTES);
	if (buf == NULL) {
		store_snap_abort(w);
		snprintf(errmsg, errmsg_bytes, "out of memory copying the snapshot");
		return -ENOMEM;
	}
	while (rc == 0 && store_snap_remaining(src) > 0) {
		size_t n = rn_min_u64(STORE_SNAP_BLOCK_BYTES, store_snap_remaining(src));
		rc = store_snap_read(src, buf, n);
		if (rc == 0) {
			rc = store_snap_append(w, buf, n);
		}
	}
	free(buf);
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "%s: copying the snapshot: %s", dir, store_strerror(rc));
		store_snap_abort(w);
		return rc;
	}
	return store_snap_commit(w, errmsg, errmsg_bytes);
}

int node_daemon_seed(struct node_daemon *d, const char *path, char *errmsg, size_t errmsg_bytes)
{
	RN_ASSERT(d->log != NULL);
	RN_ASSERT(path != NULL);
	raft_index have[1];
	if (store_last_index(d->log) != 0 || store_snap_list(d->cfg.data_dir, have, 1) != 0) {
		snprintf(errmsg, errmsg_bytes, "--from-snapshot needs an empty data directory; %s "
			 "holds a log or a snapshot already", d->cfg.data_dir);
		return -EEXIST;
	}
	struct store_snap_meta *m = calloc(1, sizeof(*m));
	struct store_snap_reader *r = NULL;
	int rc = m == NULL ? -ENOMEM : store_snap_open(path, m, &r, errmsg, errmsg_bytes);
	if (rc != 0) {
		free(m);
		return rc;
	}
	uint32_t was = m->cluster_id;
	m->cluster_id = d->cfg.cluster_id;
	/* The new cluster's first configuration: the file's initial members
	 * (a version 1 blob: ids; their addresses are the file's). */
	uint32_t n = 0;
	for (uint32_t i = 0; i < d->cfg.members_count; i++) {
		if (d->cfg.members[i].initial) {
			memcpy(m->config + 4 + 4 * n, &d->cfg.members[i].id, 4);
			n++;
		}
	}
	memcpy(m->config, &n, 4);
	m->config_bytes = 4u + 4u * n;
	rc = seed_copy(r, d->cfg.data_dir, m, errmsg, errmsg_bytes);
	store_snap_close(r);
	if (rc == 0) {
		rc = store_start_at(d->log, m->index, m->term);
		if (rc != 0) {
			snprintf(errmsg, errmsg_bytes, "%s: starting the log after entry %" PRIu64 ": %s",
				 d->cfg.data_dir, m->index, store_strerror(rc));
		}
	}
	if (rc == 0) {
		fprintf(stderr, "raftnode %u: a new cluster from %s: index %" PRIu64 ", term %" PRIu64
			", %" PRIu64 " keys (taken in cluster %u, now cluster %u)\n", d->cfg.self, path,
			m->index, m->term, m->keys_count, was, d->cfg.cluster_id);
	}
	free(m);
	return rc;
}
