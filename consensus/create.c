/* SPDX-License-Identifier: MIT */
/*
 * create.c - configuration checks, and the only allocation in the core:
 * raft_create() sizes everything the server will ever need (log window,
 * update buffers) so that raft_step() never allocates. scripts/check-deps.sh
 * rejects allocator calls in any other file of consensus/.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void raft_config_default(struct raft_config *c)
{
	*c = (struct raft_config){
		.election_timeout_ticks = 10,
		.heartbeat_interval_ticks = 2,
		.prevote = true,
		.check_quorum = true,
		.inflight_appends_max = 64,
		.append_entries_max = 256,
		.uncommitted_bytes_max = 64u << 20,
		.log_entries_max = 1u << 16,
		/* Ten election timeouts: a transfer of a large snapshot takes a
		 * while, and a repeated offer only resumes it. */
		.snapshot_timeout_ticks = 100,
		.seed = 1,
		.promote_lag_entries_max = 1024,
	};
}

/* The configuration at the floor: members (voters) and learners, at least
 * one voter, no id twice, at most RAFT_NODES_MAX in all. This server need
 * not be in it (a learner-to-be, a removed server: it never campaigns). */
static bool create_membership_valid(const struct raft_config *c)
{
	if (c->members_count == 0 || c->members_count > RAFT_NODES_MAX ||
	    c->learners_count > RAFT_NODES_MAX - c->members_count) {
		return false;
	}
	raft_node_id all[2 * RAFT_NODES_MAX];
	uint32_t n = 0;
	for (uint32_t i = 0; i < c->members_count; i++) {
		all[n++] = c->members[i];
	}
	for (uint32_t i = 0; i < c->learners_count; i++) {
		all[n++] = c->learners[i];
	}
	for (uint32_t i = 0; i < n; i++) {
		if (all[i] == RAFT_NODE_NONE) {
			return false;
		}
		for (uint32_t j = 0; j < i; j++) {
			if (all[j] == all[i]) {
				return false;
			}
		}
	}
	return true;
}

static bool create_config_valid(const struct raft_config *c)
{
	if (c->id == RAFT_NODE_NONE || !create_membership_valid(c)) {
		return false;
	}
	if (c->heartbeat_interval_ticks == 0 ||
	    c->election_timeout_ticks <= c->heartbeat_interval_ticks) {
		return false;
	}
	if (c->inflight_appends_max == 0 || c->inflight_appends_max > RAFT_INFLIGHT_APPENDS_MAX ||
	    c->append_entries_max == 0 || c->append_entries_max > RAFT_BATCH_ENTRIES_MAX ||
	    c->snapshot_timeout_ticks == 0) {
		return false;
	}
	/* The window must be a power of two and hold a few full batches. */
	uint32_t w = c->log_entries_max;
	return w >= 4 * c->append_entries_max && (w & (w - 1)) == 0;
}

/* Recovered state must be a log that storage could have written: entries
 * prev_index + 1 .. prev_index + entries_count, terms never decreasing from
 * prev_term, none above the persisted term. */
static bool create_state_valid(const struct raft_config *c, const struct raft_hard_state *hs,
			       raft_index prev_index, raft_term prev_term,
			       const struct raft_entry *entries, uint64_t entries_count)
{
	/* The vote may name a server outside the configuration at the floor
	 * (one added later in the log, §4.1). */
	(void)c;
	if (entries_count > 0 && entries == NULL) {
		return false;
	}
	/* Every entry has a term >= 1, and the term before the log is 0. */
	if ((prev_index == 0) != (prev_term == 0) || prev_term > hs->term ||
	    prev_index > UINT64_MAX / 2) {
		return false;
	}
	/* Leave room for at least a leader's no-op (§6.4). A follower takes
	 * what fits of each append and frees slots as it applies; a tail that
	 * nearly fills the window is the uncommitted tail of a restarted node,
	 * so it must be accepted (raft_create_from). */
	if (entries_count + 1 > c->log_entries_max) {
		return false;
	}
	raft_term last_term = prev_term;
	for (uint64_t i = 0; i < entries_count; i++) {
		const struct raft_entry *e = &entries[i];
		if (e->index != prev_index + i + 1 || e->term < last_term || e->term > hs->term ||
		    (e->type != RAFT_ENTRY_NORMAL && e->type != RAFT_ENTRY_NOOP &&
		     e->type != RAFT_ENTRY_CONFIG) ||
		    (e->type == RAFT_ENTRY_CONFIG && !membership_payload_valid(e->payload))) {
			return false;
		}
		last_term = e->term;
	}
	return true;
}

/*
 * The configuration in force: the one at the floor (c->members, learners),
 * then the config entries of the tail in order (each in force once
 * appended, §4.1). The one before the last tail entry is kept as the
 * previous configuration: that entry may be uncommitted and truncated.
 * Forced (force_new_cluster): this server alone, whatever the log says.
 */
static void create_membership(struct raft *r, const struct raft_config *c,
			      const struct raft_entry *entries, uint64_t entries_count)
{
	struct raft_membership m = {.voters_count = c->members_count,
				    .learners_count = c->learners_count};
	raft_index index = r->log.first_index - 1;

	memcpy(m.voters, c->members, sizeof(m.voters));
	memcpy(m.learners, c->learners, sizeof(m.learners));
	if (c->force_new_cluster) {
		m = (struct raft_membership){.voters = {c->id}, .voters_count = 1};
		r->force_pending = true;
	}
	r->conf_prev = m;
	r->conf_prev_index = index;
	for (uint64_t i = 0; i < entries_count && !c->force_new_cluster; i++) {
		if (entries[i].type == RAFT_ENTRY_CONFIG) {
			r->conf_prev = m;
			r->conf_prev_index = index;
			raft_membership_apply(&m, entries[i].payload);
			index = entries[i].index;
		}
	}
	membership_set(r, &m, index);
}

int raft_create(const struct raft_config *c, const struct raft_hard_state *hs,
		const struct raft_entry *entries, uint64_t entries_count, struct raft **out)
{
	return raft_create_from(c, hs, 0, 0, entries, entries_count, out);
}

int raft_create_from(const struct raft_config *c, const struct raft_hard_state *hs,
		     raft_index prev_index, raft_term prev_term, const struct raft_entry *entries,
		     uint64_t entries_count, struct raft **out)
{
	if (c == NULL || hs == NULL || out == NULL || !create_config_valid(c) ||
	    !create_state_valid(c, hs, prev_index, prev_term, entries, entries_count)) {
		return -RAFT_ERR_INVALID;
	}
	struct raft *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		goto fail_raft;
	}
	r->log.ring = calloc(c->log_entries_max, sizeof(*r->log.ring));
	if (r->log.ring == NULL) {
		goto fail_ring;
	}
	/* A step appends at most one batch (or a no-op). */
	r->new_entries = calloc(c->append_entries_max + 1u, sizeof(*r->new_entries));
	if (r->new_entries == NULL) {
		goto fail_new_entries;
	}
	r->msgs = calloc(RAFT_MSGS_PER_STEP_MAX, sizeof(*r->msgs));
	if (r->msgs == NULL) {
		goto fail_msgs;
	}
	r->cfg = *c;
	r->transfer_target = RAFT_NODE_NONE;
	r->log.mask = c->log_entries_max - 1u;
	RN_ASSERT((r->log.mask & (r->log.mask + 1)) == 0); /* a power of two: index & mask */
	/* Everything up to prev_index is released: durable, and committed by
	 * the caller's promise (see raft_create_from in consensus.h), so the
	 * window's floor never sits above the commit index. */
	r->log.first_index = prev_index + 1;
	r->log.prev_term = prev_term;
	r->log.last_index = prev_index;
	r->commit_index = prev_index;
	r->term = hs->term;
	r->vote = hs->vote;
	r->role = RAFT_FOLLOWER;
	r->rng_state = c->seed ^ ((uint64_t)c->id << 32);
	for (uint64_t i = 0; i < entries_count; i++) {
		r->log.ring[entries[i].index & r->log.mask] = entries[i];
	}
	r->log.last_index = prev_index + entries_count;
	create_membership(r, c, entries, entries_count);
	/* What storage recovered is durable by definition. */
	r->persisted_index = r->log.last_index;
	RN_ASSERT(r->log.first_index <= r->log.last_index + 1);
	RN_ASSERT(r->commit_index + 1 >= r->log.first_index);
	election_reset_timer(r);
	*out = r;
	return 0;

fail_msgs:
	free(r->new_entries);
fail_new_entries:
	free(r->log.ring);
fail_ring:
	free(r);
fail_raft:
	return -RAFT_ERR_INVALID;
}

void raft_destroy(struct raft *r)
{
	if (r == NULL) {
		return;
	}
	free(r->msgs);
	free(r->new_entries);
	free(r->log.ring);
	free(r);
}
