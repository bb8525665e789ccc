/* SPDX-License-Identifier: MIT */
/*
 * planted.c - test-only: names and the switch for planted bugs. Compiled
 * only into consensus_planted (meson option planted_bugs) with
 * RAFT_PLANTED_BUGS defined; the production core has neither this file nor
 * the switch. Each bug is one known Raft mistake that raftsim must catch.
 */
#include <string.h>

#include "internal.h"

#ifndef RAFT_PLANTED_BUGS
#error "planted.c belongs to the test-only planted build"
#endif

static const char *const planted_names[RAFT_BUG_COUNT] = {
	[RAFT_BUG_NONE] = "none",
	[RAFT_BUG_DOUBLE_VOTE] = "double-vote",
	[RAFT_BUG_VOTE_IGNORES_LOG] = "vote-ignores-log",
	[RAFT_BUG_COMMIT_OLD_TERM] = "commit-old-term",
	[RAFT_BUG_NO_TRUNCATE_ON_CONFLICT] = "no-truncate-on-conflict",
	[RAFT_BUG_ACK_BEFORE_PERSIST] = "ack-before-persist",
	[RAFT_BUG_FORGET_VOTE_ON_RESTART] = "forget-vote-on-restart",
	[RAFT_BUG_QUORUM_OFF_BY_ONE] = "quorum-off-by-one",
	[RAFT_BUG_LEADER_OVERWRITES_LOG] = "leader-overwrites-log",
	[RAFT_BUG_STALE_TERM_ACCEPTED] = "stale-term-accepted",
	[RAFT_BUG_COMMIT_ONLY_UNCHECKED] = "commit-only-unchecked",
	[RAFT_BUG_SNAPSHOT_UNCOMMITTED] = "snapshot-uncommitted",
	[RAFT_BUG_COMPACT_PAST_COMMIT] = "compact-past-commit",
	[RAFT_BUG_INSTALL_KEEPS_CONFLICTING_TAIL] = "install-keeps-conflicting-tail",
	[RAFT_BUG_CONFIG_ON_COMMIT] = "config-on-commit",
	[RAFT_BUG_TWO_CHANGES_AT_ONCE] = "two-changes-at-once",
	[RAFT_BUG_LEARNER_VOTES] = "learner-votes",
	[RAFT_BUG_MATCH_FROM_REJECT] = "match-from-reject",
};

const char *raft_planted_bug_name(int bug)
{
	if (bug < 0 || bug >= RAFT_BUG_COUNT) {
		return "unknown";
	}
	return planted_names[bug];
}

int raft_planted_bug_parse(const char *name)
{
	for (int i = 0; i < RAFT_BUG_COUNT; i++) {
		if (strcmp(planted_names[i], name) == 0) {
			return i;
		}
	}
	return -1;
}

/*
 * Switches a bug on. Call right after raft_create(), before the first step.
 * forget-vote-on-restart acts here: a server that restarts with a vote
 * recorded for its current term "forgets" it, as if recovery had not read
 * the vote back from storage.
 */
void raft_plant_bug(struct raft *r, int bug)
{
	RN_ASSERT(bug >= 0);
	RN_ASSERT(bug < RAFT_BUG_COUNT);
	r->planted_bug = bug;
	if (bug == RAFT_BUG_FORGET_VOTE_ON_RESTART && r->steps == 0) {
		r->vote = RAFT_NODE_NONE;
	}
}
