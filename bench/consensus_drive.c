/* SPDX-License-Identifier: MIT */
/*
 * consensus_drive.c - see consensus_drive.h. Follows the update contract
 * (persist, then send, then apply) with storage and network replaced by
 * immediate, in-memory answers.
 */
#include "consensus_drive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define DRIVE_BATCH_MAX RAFT_BATCH_ENTRIES_MAX

struct drive {
	struct raft *raft;
	uint32_t nodes;
	uint32_t batch_entries;
	raft_term term;
	raft_index last_index;	/* follower: leader's last index sent */
	raft_index commit_index;
	struct raft_entry batch[DRIVE_BATCH_MAX];
	struct raft_update update;
};

static struct drive *drive_alloc(uint32_t nodes, uint32_t id, uint32_t batch_entries, bool prevote)
{
	RN_ASSERT(batch_entries >= 1 && batch_entries <= DRIVE_BATCH_MAX);
	struct drive *d = calloc(1, sizeof(*d));
	RN_ASSERT(d != NULL);
	struct raft_config cfg;
	raft_config_default(&cfg);
	cfg.id = id;
	cfg.members_count = nodes;
	for (uint32_t i = 0; i < nodes; i++) {
		cfg.members[i] = i + 1;
	}
	cfg.prevote = prevote;
	cfg.append_entries_max = DRIVE_BATCH_MAX;
	cfg.log_entries_max = 1u << 16;
	cfg.uncommitted_bytes_max = UINT64_MAX;
	struct raft_hard_state hs = {0};
	int rc = raft_create(&cfg, &hs, NULL, 0, &d->raft);
	RN_ASSERT(rc == 0);
	d->nodes = nodes;
	d->batch_entries = batch_entries;
	return d;
}

static void drive_step(struct drive *d, struct raft_event *ev)
{
	int rc = raft_step(d->raft, ev, &d->update);
	RN_ASSERT(rc == 0);
}

static void drive_persisted(struct drive *d, raft_index index, raft_term term)
{
	struct raft_event ev = {.type = RAFT_EVENT_PERSISTED};
	ev.persisted.index = index;
	ev.persisted.term = term;
	drive_step(d, &ev);
}

static void drive_applied(struct drive *d, raft_index index)
{
	struct raft_event ev = {.type = RAFT_EVENT_APPLIED};
	ev.applied.index = index;
	drive_step(d, &ev);
}

static void drive_ack(struct drive *d, raft_node_id from, raft_index match_index)
{
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
	ev.receive.type = RAFT_MSG_APPEND_RESP;
	ev.receive.from = from;
	ev.receive.to = 1;
	ev.receive.term = d->term;
	ev.receive.append_resp.match_index = match_index;
	drive_step(d, &ev);
}

struct drive *drive_leader_new(uint32_t nodes, uint32_t batch_entries)
{
	struct drive *d = drive_alloc(nodes, 1, batch_entries, false);
	struct raft_event tick = {.type = RAFT_EVENT_TICK};
	while (raft_role(d->raft) != RAFT_CANDIDATE) {
		drive_step(d, &tick);
	}
	d->term = raft_current_term(d->raft);
	for (raft_node_id id = 2; id <= nodes && raft_role(d->raft) != RAFT_LEADER; id++) {
		struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
		ev.receive.type = RAFT_MSG_VOTE_RESP;
		ev.receive.from = id;
		ev.receive.to = 1;
		ev.receive.term = d->term;
		ev.receive.vote_resp.granted = true;
		drive_step(d, &ev);
	}
	RN_ASSERT(raft_role(d->raft) == RAFT_LEADER);
	/* Commit the no-op; followers go to replicate state. */
	raft_index noop = raft_last_index(d->raft);
	drive_persisted(d, noop, d->term);
	for (raft_node_id id = 2; id <= nodes; id++) {
		drive_ack(d, id, noop);
	}
	RN_ASSERT(raft_commit_index(d->raft) == noop);
	for (uint32_t i = 0; i < batch_entries; i++) {
		d->batch[i] = (struct raft_entry){.type = RAFT_ENTRY_NORMAL, .payload_bytes = 64};
	}
	return d;
}

uint32_t drive_leader_round(struct drive *d)
{
	struct raft_event ev = {.type = RAFT_EVENT_PROPOSE};
	ev.propose.entries = d->batch;
	ev.propose.entries_count = d->batch_entries;
	drive_step(d, &ev);
	raft_index last = d->batch[d->batch_entries - 1].index;
	drive_persisted(d, last, d->term);
	for (raft_node_id id = 2; id <= d->nodes; id++) {
		drive_ack(d, id, last);
	}
	RN_ASSERT(raft_commit_index(d->raft) == last);
	drive_applied(d, last);
	return d->batch_entries;
}

struct drive *drive_follower_new(uint32_t batch_entries)
{
	struct drive *d = drive_alloc(3, 1, batch_entries, true);
	d->term = 1;
	return d;
}

uint32_t drive_follower_round(struct drive *d)
{
	struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
	ev.receive.type = RAFT_MSG_APPEND;
	ev.receive.from = 2;
	ev.receive.to = 1;
	ev.receive.term = d->term;
	ev.receive.append.prev_index = d->last_index;
	ev.receive.append.prev_term = d->last_index == 0 ? 0 : d->term;
	ev.receive.append.commit_index = d->last_index;
	/* The leader's entries: metadata only, as the codec would hand them. */
	for (uint32_t i = 0; i < d->batch_entries; i++) {
		d->batch[i] = (struct raft_entry){
			.term = d->term,
			.index = d->last_index + 1 + i,
			.type = RAFT_ENTRY_NORMAL,
			.payload_bytes = 64,
		};
	}
	ev.receive.append.entries = d->batch;
	ev.receive.append.entries_count = d->batch_entries;
	drive_step(d, &ev);
	d->last_index += d->batch_entries;
	drive_persisted(d, d->last_index, d->term);
	RN_ASSERT(d->update.msgs_count == 1 && d->update.msgs[0].append_resp.match_index == d->last_index);
	drive_applied(d, raft_commit_index(d->raft));
	return d->batch_entries;
}

void drive_free(struct drive *d)
{
	raft_destroy(d->raft);
	free(d);
}
