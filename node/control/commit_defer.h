/* SPDX-License-Identifier: MIT */
/*
 * commit_defer.h - commit-only updates sent after the round's replies.
 * stage: control.
 *
 * When the leader commits, its core tells each follower in replicate state
 * the new commit index at once with a commit-only update (no entries, not
 * acknowledged). Sent where the core emits it, that update leaves before
 * the client's reply: the apply stage applies the entry in the same round
 * and control sends its reply in the next one, so on one lcore every
 * commit's reply waited for a send per follower (on kernel UDP each send
 * also delivers the datagram to the follower's socket). Control keeps such
 * an update until the end of its next round instead - after that round's
 * replies went out - and sends it then, unless an append to the same
 * follower went first carrying the same check (prev index and term) and at
 * least that commit index: the follower learns the commit from it, and the
 * update is not sent at all. A follower applies a round later at most (a
 * few microseconds); a kept update keeps its lcore awake (counted as work)
 * so none waits through a sleep. Nothing of the core changes: a delayed or
 * dropped message is one the protocol already allows.
 */
#ifndef RN_NODE_CONTROL_COMMIT_DEFER_H
#define RN_NODE_CONTROL_COMMIT_DEFER_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus.h"

struct node_commit_defer {
	struct raft_message kept[RAFT_NODES_MAX]; /* one per follower at most */
	uint64_t kept_poll[RAFT_NODES_MAX];	  /* the round each was kept in */
	uint32_t count;
	uint64_t polls;	  /* control rounds so far */
	uint64_t kept_total, merged_total; /* kept; dropped as carried by an append */
};

struct node_control;
/* At the start of control's round. */
void node_commit_defer_round(struct node_commit_defer *d);
/* m, a commit-only update: kept (true), or not one (false: send it). */
bool node_commit_defer_keep(struct node_commit_defer *d, const struct raft_message *m);
/* An append about to be sent to m->to: a kept update it carries is dropped. */
void node_commit_defer_carried(struct node_commit_defer *d, const struct raft_message *m);
/* At the end of control's round: sends (send_fn) those kept in an earlier
 * round. Returns how many are still kept (work: the lcore stays awake). */
uint32_t node_commit_defer_flush(struct node_commit_defer *d, struct node_control *c,
				 void (*send_fn)(struct node_control *c, const struct raft_message *m));

#endif /* RN_NODE_CONTROL_COMMIT_DEFER_H */
