/* SPDX-License-Identifier: MIT */
/*
 * catchup.c - what each lagging follower is owed from the durable log
 * (catchup.h). stage: control.
 */
#include <string.h>

#include "catchup.h"
#include "common.h"

void node_catchup_clear(struct node_catchup *k)
{
	memset(k, 0, sizeof(*k));
}

static struct node_catchup_range *catchup_range_of(struct node_catchup *k, raft_node_id to)
{
	RN_ASSERT(k->count <= RAFT_NODES_MAX);
	for (uint32_t i = 0; i < k->count; i++) {
		if (k->ranges[i].ask.to == to) {
			return &k->ranges[i];
		}
	}
	RN_ASSERT(k->count < RAFT_NODES_MAX); /* one range per member at most */
	struct node_catchup_range *r = &k->ranges[k->count++];
	memset(r, 0, sizeof(*r));
	r->next = 1; /* end 0: nothing owed yet */
	return r;
}

void node_catchup_ask(struct node_catchup *k, const struct raft_message *m)
{
	RN_ASSERT(m->type == RAFT_MSG_APPEND && m->append.from_storage);
	RN_ASSERT(m->append.entries_count > 0);
	struct node_catchup_range *r = catchup_range_of(k, m->to);
	raft_index first = m->append.prev_index + 1;
	raft_index last = m->append.prev_index + m->append.entries_count;
	if (first >= r->next && first <= r->end + 1) {
		/* The next ask of a pipeline (or one inside what is owed). */
		r->end = rn_max_u64(r->end, last);
	} else {
		/* Below what was read (the follower refused, or the core
		 * probes again), or past a hole: start over where it asks. */
		r->next = first;
		r->end = last;
		r->prev_term = 0;
		r->gen++;
		k->restarts++;
	}
	r->ask = *m;
	r->ask.append.entries = NULL; /* the core's array: not ours to keep */
}

bool node_catchup_next(struct node_catchup *k, uint64_t now_ns, uint32_t entries_max,
		       struct raft_message *out)
{
	RN_ASSERT(entries_max > 0);
	if (k->reading != 0 || now_ns < k->next_ns) {
		return false;
	}
	for (uint32_t n = 0; n < k->count; n++) {
		uint32_t i = (k->turn + n) % k->count;
		struct node_catchup_range *r = &k->ranges[i];
		if (r->next > r->end) {
			continue;
		}
		*out = r->ask;
		out->append.from_storage = true;
		out->append.entries = NULL;
		out->append.prev_index = r->next - 1;
		out->append.prev_term = r->prev_term;
		out->append.entries_count = (uint32_t)rn_min_u64(r->end - r->next + 1, entries_max);
		k->reading = i + 1;
		k->read_gen = r->gen;
		k->turn = (i + 1) % k->count;
		return true;
	}
	return false;
}

void node_catchup_done(struct node_catchup *k, uint64_t now_ns, int rc, uint64_t bytes,
		       raft_index last_index, raft_term last_term)
{
	RN_ASSERT(k->reading > 0 && k->reading <= k->count);
	k->next_ns = now_ns + bytes * 1000000000ull / NODE_CATCHUP_BYTES_PER_S;
	struct node_catchup_range *r = &k->ranges[k->reading - 1];
	k->reading = 0;
	if (r->gen != k->read_gen) {
		return; /* restarted meanwhile: the new range stands */
	}
	if (rc <= 0) {
		r->next = r->end + 1; /* dropped: the core asks again */
		r->prev_term = 0;
		return;
	}
	RN_ASSERT(last_index >= r->next && last_index <= r->end);
	r->next = last_index + 1;
	r->prev_term = last_term;
}

bool node_catchup_busy(const struct node_catchup *k)
{
	if (k->reading != 0) {
		return true;
	}
	for (uint32_t i = 0; i < k->count; i++) {
		if (k->ranges[i].next <= k->ranges[i].end) {
			return true;
		}
	}
	return false;
}
