/* SPDX-License-Identifier: MIT */
/*
 * xfer_verify.c - the follower's check of a staged snapshot file, before
 * the core hears of it. stage: control (control's snapshot transfer
 * thread runs it, snapxfer's cfg.verify: never on an lcore).
 *
 * The transfer's CRC says the bytes are the leader's file; this says the
 * file is one this node can install: storage's reader walks the header,
 * every block and the trailer with the stream's CRC (store_snap_open), the
 * header names this cluster and the offered index and term, and the state
 * machine's limits it was taken with fit this node's [limits]. A read of
 * the whole file: on control's lcore it stalled everything control does
 * for as long as the file took to read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "common.h"
#include "internal.h"

int node_xfer_verify(void *arg, const char *path, const struct dp_snap_id *id, char *why,
		     size_t why_bytes)
{
	struct node_xfer *x = arg;
	/* Filled here, read by control after the STAGED event's push (the
	 * ring's release); not written again before control's release. */
	struct store_snap_meta *m = &x->staged_meta;
	struct store_snap_reader *r = NULL;
	int rc = store_snap_open(path, m, &r, why, why_bytes);
	if (rc != 0) {
		return rc;
	}
	store_snap_close(r);
	if (m->cluster_id != x->cluster_id || m->index != id->index || m->term != id->term) {
		snprintf(why, why_bytes, "%s: cluster %u, snapshot %" PRIu64 "/%" PRIu64
			 " (this cluster %u, offered %" PRIu64 "/%" PRIu64 ")", path, m->cluster_id,
			 m->index, m->term, x->cluster_id, id->index, id->term);
		return -EINVAL;
	}
	const struct node_kv_config *have = &x->kv_limits;
	if (m->kv_keys_max > have->keys_max || m->kv_key_bytes_max > have->key_bytes_max ||
	    m->kv_value_bytes_max > have->value_bytes_max ||
	    m->kv_clients_max > have->clients_max || m->kv_session_window > have->session_window) {
		snprintf(why, why_bytes, "%s: taken with larger [limits] (kv_keys_max %u, "
			 "kv_key_bytes_max %u, kv_value_bytes_max %u, kv_clients_max %u, "
			 "kv_session_window %u) than this node's", path, m->kv_keys_max,
			 m->kv_key_bytes_max, m->kv_value_bytes_max, m->kv_clients_max,
			 m->kv_session_window);
		return -EINVAL;
	}
	return 0;
}
