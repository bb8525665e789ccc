/* SPDX-License-Identifier: MIT */
/*
 * commit_defer.c - commit-only updates sent after the round's replies
 * (commit_defer.h says why). stage: control.
 */
#include <string.h>

#include "commit_defer.h"
#include "common.h"

void node_commit_defer_round(struct node_commit_defer *d)
{
	d->polls++;
}

static int defer_find(const struct node_commit_defer *d, raft_node_id to)
{
	for (uint32_t i = 0; i < d->count; i++) {
		if (d->kept[i].to == to) {
			return (int)i;
		}
	}
	return -1;
}

static void defer_drop(struct node_commit_defer *d, uint32_t i)
{
	RN_ASSERT(i < d->count);
	d->count--;
	d->kept[i] = d->kept[d->count];
	d->kept_poll[i] = d->kept_poll[d->count];
}

bool node_commit_defer_keep(struct node_commit_defer *d, const struct raft_message *m)
{
	if (m->type != RAFT_MSG_APPEND || !m->append.commit_only || m->append.entries_count != 0) {
		return false;
	}
	RN_ASSERT(!m->append.from_storage);
	int i = defer_find(d, m->to);
	if (i >= 0) {
		/* A newer update for the same follower: the core's latest word
		 * (its term, check and commit index) replaces the kept one. */
		d->kept[i] = *m;
		d->kept[i].append.entries = NULL;
		d->kept_poll[i] = d->polls;
		d->kept_total++;
		d->merged_total++;
		return true;
	}
	RN_ASSERT(d->count < RAFT_NODES_MAX); /* one per follower */
	d->kept[d->count] = *m;
	d->kept[d->count].append.entries = NULL;
	d->kept_poll[d->count] = d->polls;
	d->count++;
	d->kept_total++;
	return true;
}

void node_commit_defer_carried(struct node_commit_defer *d, const struct raft_message *m)
{
	if (d->count == 0 || m->type != RAFT_MSG_APPEND || m->append.from_storage) {
		return;
	}
	int i = defer_find(d, m->to);
	if (i < 0) {
		return;
	}
	const struct raft_message *k = &d->kept[i];
	/* The same check (the follower accepts both or neither) and at least
	 * the commit index: the append tells the follower all the update
	 * would, and more. */
	if (m->term == k->term && m->append.prev_index == k->append.prev_index &&
	    m->append.prev_term == k->append.prev_term &&
	    m->append.commit_index >= k->append.commit_index) {
		defer_drop(d, (uint32_t)i);
		d->merged_total++;
	}
}

uint32_t node_commit_defer_flush(struct node_commit_defer *d, struct node_control *c,
				 void (*send_fn)(struct node_control *c, const struct raft_message *m))
{
	uint32_t i = 0;
	while (i < d->count) {
		if (d->kept_poll[i] < d->polls) {
			struct raft_message m = d->kept[i];
			defer_drop(d, i); /* before the send: it may keep nothing new */
			send_fn(c, &m);
		} else {
			i++;
		}
	}
	return d->count;
}
