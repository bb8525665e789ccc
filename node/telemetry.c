/* SPDX-License-Identifier: MIT */
/*
 * telemetry.c - "/raftnode/status" for DPDK telemetry (dpdk-telemetry.py).
 * stage: telemetry (DPDK's telemetry thread, under the status link's lock).
 *
 * The thread is DPDK's, not ours: it copies the numbers control refreshes
 * a few times a second (control/status.c) under a lock the commit path
 * never takes, and serves the copy.
 */
#include <pthread.h>
#include <stddef.h>

#include <rte_telemetry.h>

#include "common.h"
#include "telemetry.h"

/* DPDK 22.11's telemetry callbacks take no user argument: the one status
 * link of this process is set once at start, before the thread can call. */
static struct node_status_link *telemetry_link;

/* Names of node_status_numbers.values[], in order. */
static const char *const telemetry_names[NODE_STATUS_VALUES] = {
	"id", "term", "leader", "commit_index", "applied_index", "last_index",
	"durable_index", "frames_rx", "frames_tx", "auth_failures", "drops",
	"syncs", "group_entries_mean_x100", "entries_rolled_back", "client_requests",
	"busy_replies", "kv_keys", "kv_digest", "elections", "settings_dropped",
	"settings_refused_peers", "replayed", "too_old"};
_Static_assert(sizeof(telemetry_names) / sizeof(telemetry_names[0]) == NODE_STATUS_VALUES,
	       "a name per value");

/* The figures raftctl status shows, as of the last refresh. */
static int telemetry_status(const char *cmd, const char *params, struct rte_tel_data *info)
{
	(void)cmd;
	(void)params;
	struct node_status_link *link = telemetry_link;
	RN_ASSERT(link != NULL);
	struct node_status_numbers n;
	pthread_mutex_lock(&link->lock);
	n = link->numbers;
	pthread_mutex_unlock(&link->lock);
	rte_tel_data_start_dict(info);
	rte_tel_data_add_dict_string(info, "role", n.role);
	for (unsigned i = 0; i < NODE_STATUS_VALUES; i++) {
		rte_tel_data_add_dict_u64(info, telemetry_names[i], n.values[i]);
	}
	return 0;
}

int node_telemetry_register(struct node_status_link *link)
{
	RN_ASSERT(link != NULL);
	RN_ASSERT(telemetry_link == NULL || telemetry_link == link); /* one node per process */
	telemetry_link = link;
	return rte_telemetry_register_cmd("/raftnode/status", telemetry_status,
					  "Node status: role, term, leader, indices, frames, "
					  "drops, syncs, state digest. No parameters.");
}
