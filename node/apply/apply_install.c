/* SPDX-License-Identifier: MIT */
/*
 * apply_install.c - a snapshot the leader sent, loaded to replace the state
 * machine (InstallSnapshot, contract step 2). stage: apply.
 *
 * The file was staged by the snapshot transfer, verified and renamed to
 * its final name by control before the core was told of it; it is read
 * here again through storage's reader, which verifies every block and the
 * stream's CRC before anything is used (a disk that damaged it since is
 * refused, not loaded). The load allocates a new state machine: this runs
 * once per install, off the commit path of a node that is too far behind
 * to serve.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "apply_stage.h"
#include "common.h"
#include "kv_internal.h"

static int install_read(void *user, void *bytes, size_t count)
{
	return store_snap_read(user, bytes, count);
}

int node_apply_install_load(const struct node_apply_stage *as, raft_index index, raft_term term,
			    struct node_kv **out, struct node_conf *conf, char *errmsg,
			    size_t errmsg_bytes)
{
	if (as->snap == NULL) {
		snprintf(errmsg, errmsg_bytes, "[storage] snapshot is off here: no snapshot "
			 "can be installed (turn it on, or copy the data directory)");
		return -ENOTSUP;
	}
	/* Tests: the log is reset to the snapshot, the state not loaded. */
	store_crash_point("install-load");
	char path[512];
	store_snap_path(as->snap->dir, index, path, sizeof(path));
	struct store_snap_meta m;
	struct store_snap_reader *r = NULL;
	int rc = store_snap_open(path, &m, &r, errmsg, errmsg_bytes);
	if (rc != 0) {
		return rc;
	}
	if (m.cluster_id != as->snap->cluster_id || m.index != index || m.term != term) {
		snprintf(errmsg, errmsg_bytes, "%s: cluster %u, index %" PRIu64 ", term %" PRIu64
			 " where %u, %" PRIu64 ", %" PRIu64 " were expected", path, m.cluster_id,
			 m.index, m.term, as->snap->cluster_id, index, term);
		store_snap_close(r);
		return -EINVAL;
	}
	/* Its configuration (and the addresses it holds) becomes ours. */
	*conf = as->conf;
	if (!node_conf_blob_decode(m.config, m.config_bytes, conf)) {
		snprintf(errmsg, errmsg_bytes, "%s: its configuration (%u bytes) does not parse",
			 path, m.config_bytes);
		store_snap_close(r);
		return -EINVAL;
	}
	struct node_kv_snapshot_info info = {
		.index = m.index, .digest = m.state_digest, .keys_count = m.keys_count,
		.sessions_count = m.sessions_count,
		.limits = {.keys_max = m.kv_keys_max,
			   .key_bytes_max = (uint16_t)rn_min_u64(m.kv_key_bytes_max, UINT16_MAX),
			   .value_bytes_max = m.kv_value_bytes_max,
			   .clients_max = m.kv_clients_max,
			   .session_window = m.kv_session_window}};
	struct node_kv *kv = NULL;
	rc = node_kv_create(&as->kv->cfg, &kv);
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "out of memory for the installed state machine");
		store_snap_close(r);
		return rc;
	}
	char why[384];
	rc = node_kv_snapshot_load(kv, &info, install_read, r, why, sizeof(why));
	if (rc == 0 && store_snap_remaining(r) != 0) {
		snprintf(why, sizeof(why), "%" PRIu64 " bytes left after the state",
			 store_snap_remaining(r));
		rc = -EBADMSG;
	}
	/* The copy-on-write memory of the next snapshot taken here. */
	if (rc == 0 && (rc = node_kv_snapshot_reserve(kv)) != 0) {
		snprintf(why, sizeof(why), "no memory for its copy-on-write reserve");
	}
	store_snap_close(r);
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "%s: %s", path, why);
		node_kv_destroy(kv);
		return rc;
	}
	/* Tests: loaded, the install not yet published nor reported. */
	store_crash_point("install-loaded");
	*out = kv;
	return 0;
}
