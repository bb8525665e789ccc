/* SPDX-License-Identifier: MIT */
/*
 * sim_client.c - raftsim's clients and views: proposals (each write gets a
 * unique payload id, acknowledged when the node it was proposed at applies
 * it), ReadIndex reads (each remembers the highest commit known when it
 * began), leadership transfers, and the god's-eye views drivers use (the
 * live leader, whether all logs are identical).
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "sim.h"

int sim_propose(struct sim *s, raft_node_id id, uint32_t entries_count)
{
	struct sim_node *n = &s->nodes[id];
	struct raft_entry batch[16];

	RN_ASSERT(entries_count >= 1 && entries_count <= RN_ARRAY_COUNT(batch));
	if (!n->up) {
		return -RAFT_ERR_NOT_LEADER;
	}
	for (uint32_t i = 0; i < entries_count; i++) {
		batch[i] = (struct raft_entry){
			.payload = s->payload_next + 1 + i,
			.payload_bytes = 64,
			.type = RAFT_ENTRY_NORMAL,
		};
	}
	struct raft_event ev = {.type = RAFT_EVENT_PROPOSE};
	ev.propose.entries = batch;
	ev.propose.entries_count = entries_count;
	int rc = 0;
	/* Record the writes first: the step may commit them at once (one node). */
	if (s->writes_count + entries_count > s->writes_cap) {
		s->writes_cap = s->writes_cap ? 2 * s->writes_cap : 4096;
		s->writes = sim_xrealloc(s->writes, s->writes_cap * sizeof(*s->writes));
	}
	for (uint32_t i = 0; i < entries_count; i++) {
		s->writes[s->writes_count + i] = (struct sim_write){
			.payload = batch[i].payload,
			.node = id,
			.node_restarts = n->restarts,
			.index = raft_last_index(n->raft) + 1 + i,
			.term = raft_current_term(n->raft),
			.proposed_us = s->now_us,
		};
	}
	s->writes_count += entries_count;
	s->payload_next += entries_count;
	sim_node_step(s, n, &ev, &rc);
	if (rc != 0) {
		/* Refused: these writes never existed. */
		s->writes_count -= entries_count;
		s->payload_next -= entries_count;
		return rc;
	}
	return 0;
}

int sim_read(struct sim *s, raft_node_id id, uint64_t *ctx_out)
{
	struct sim_node *n = &s->nodes[id];
	if (!n->up) {
		return -RAFT_ERR_NO_LEADER;
	}
	if (s->reads_count == s->reads_cap) {
		s->reads_cap = s->reads_cap ? 2 * s->reads_cap : 1024;
		s->reads = sim_xrealloc(s->reads, s->reads_cap * sizeof(*s->reads));
	}
	uint64_t ctx = s->reads_count + 1;
	s->reads[s->reads_count++] = (struct sim_read){
		.ctx = ctx,
		.node = id,
		.started_us = s->now_us,
		.min_index = s->committed_count,
	};
	struct raft_event ev = {.type = RAFT_EVENT_READ_INDEX};
	ev.read_index.ctx = ctx;
	int rc = 0;
	sim_node_step(s, n, &ev, &rc);
	if (ctx_out != NULL) {
		*ctx_out = ctx;
	}
	return rc;
}

int sim_transfer(struct sim *s, raft_node_id from, raft_node_id to)
{
	struct sim_node *n = &s->nodes[from];
	if (!n->up) {
		return -RAFT_ERR_NOT_LEADER;
	}
	struct raft_event ev = {.type = RAFT_EVENT_TRANSFER};
	ev.transfer.target = to;
	int rc = 0;
	sim_node_step(s, n, &ev, &rc);
	return rc;
}

/* ---- views ------------------------------------------------------------------ */

raft_node_id sim_leader(const struct sim *s)
{
	raft_node_id best = RAFT_NODE_NONE;
	raft_term best_term = 0;
	for (raft_node_id id = 1; id <= s->nodes_total; id++) {
		const struct sim_node *n = &s->nodes[id];
		if (n->up && raft_role(n->raft) == RAFT_LEADER &&
		    raft_current_term(n->raft) > best_term) {
			best = id;
			best_term = raft_current_term(n->raft);
		}
	}
	return best;
}

raft_index sim_commit_max(const struct sim *s)
{
	return s->committed_count;
}

bool sim_node_entry(const struct sim_node *n, raft_index index, struct raft_entry *out)
{
	if (raft_log_entry(n->raft, index, out)) {
		return true;
	}
	if (index == 0 || index >= raft_first_index(n->raft) || index > n->wlog_count) {
		return false;
	}
	*out = n->dlog[index - 1];
	return true;
}

/* True when every live node holds the same log (same length, same entries). */
bool sim_logs_identical(const struct sim *s, raft_index *common_out)
{
	const struct sim_node *ref = NULL;
	for (raft_node_id id = 1; id <= s->nodes_total; id++) {
		const struct sim_node *n = &s->nodes[id];
		if (!n->up || !sim_node_member(s, id)) {
			continue; /* removed, or a spare never added: idle */
		}
		if (ref == NULL) {
			ref = n;
			continue;
		}
		raft_index last = raft_last_index(ref->raft);
		if (raft_last_index(n->raft) != last) {
			return false;
		}
		for (raft_index i = 1; i <= last; i++) {
			struct raft_entry a, b;
			bool ha = sim_node_entry(ref, i, &a);
			bool hb = sim_node_entry(n, i, &b);
			if (ha != hb || (ha && (a.term != b.term || a.payload != b.payload))) {
				return false;
			}
		}
	}
	if (common_out != NULL) {
		*common_out = ref != NULL ? raft_last_index(ref->raft) : 0;
	}
	return true;
}
