/* SPDX-License-Identifier: MIT */
/*
 * propose.c - client batches at the leader (§3.5): index and term
 * assigned, appended to the log window, sent to every follower with room,
 * under the uncommitted-bytes cap and the window's limits. Refusals are
 * back-pressure the client sees at once. Split from replication.c, which
 * keeps the per-follower machinery it calls.
 */
#include "internal.h"

/*
 * Appends a client batch at the end of the leader's log (§3.5) and sends it
 * to every follower whose window has room; the leader's own write proceeds
 * in parallel (the update's entries). Refusals are back-pressure the client
 * sees at once: never a queue that grows without bound.
 */
int propose_batch(struct raft *r, struct raft_entry *entries, uint32_t entries_count)
{
	if (r->role != RAFT_LEADER) {
		return -RAFT_ERR_NOT_LEADER;
	}
	if (r->transfer_target != RAFT_NODE_NONE) {
		return -RAFT_ERR_TRANSFERRING;
	}
	if (entries_count == 0 || entries == NULL) {
		return -RAFT_ERR_INVALID;
	}
	if (entries_count > r->cfg.append_entries_max) {
		return -RAFT_ERR_BATCH_TOO_BIG;
	}
	uint64_t batch_bytes = 0;
	for (uint32_t i = 0; i < entries_count; i++) {
		if (entries[i].type != RAFT_ENTRY_NORMAL) {
			return -RAFT_ERR_INVALID;
		}
		batch_bytes += entries[i].payload_bytes;
	}
	/* One batch may always be in flight, however big, so a large entry
	 * cannot wedge the cluster. */
	if (r->uncommitted_bytes > 0 &&
	    r->uncommitted_bytes + batch_bytes > r->cfg.uncommitted_bytes_max) {
		return -RAFT_ERR_UNCOMMITTED_FULL;
	}
	if (log_free_slots(&r->log) < entries_count) {
		return -RAFT_ERR_LOG_FULL;
	}
	/* At most a quarter of the window beyond the commit index: a node
	 * restarts from a committed floor (raft_create_from), and its whole
	 * uncommitted tail must then fit the window (with room for a no-op).
	 * The margin absorbs the no-ops of elections that commit nothing and a
	 * commit hint that lags a little. */
	if (r->log.last_index + entries_count > r->commit_index + log_capacity(&r->log) / 4) {
		return -RAFT_ERR_LOG_FULL;
	}
	for (uint32_t i = 0; i < entries_count; i++) {
		entries[i].term = r->term;
		entries[i].index = r->log.last_index + 1 + i;
	}
	log_append_batch(r, entries, entries_count);
	r->uncommitted_bytes += batch_bytes;
	replication_broadcast_append(r, false);
	return 0;
}
