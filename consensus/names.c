/* SPDX-License-Identifier: MIT */
/*
 * names.c - error strings, role and message names, and the read-only views
 * the caller uses for status output, tests and the simulator.
 */
#include "internal.h"

const char *raft_strerror(int rc)
{
	switch (rc < 0 ? -rc : rc) {
	case RAFT_OK:
		return "ok";
	case RAFT_ERR_INVALID:
		return "invalid argument or configuration";
	case RAFT_ERR_NOT_LEADER:
		return "not the leader";
	case RAFT_ERR_NO_LEADER:
		return "no known leader";
	case RAFT_ERR_UNCOMMITTED_FULL:
		return "uncommitted bytes cap reached (back off and retry)";
	case RAFT_ERR_LOG_FULL:
		return "in-memory log window full (back off and retry)";
	case RAFT_ERR_TRANSFERRING:
		return "leadership transfer in progress";
	case RAFT_ERR_BATCH_TOO_BIG:
		return "batch has more entries than append_entries_max";
	case RAFT_ERR_BUSY:
		return "bounded queue full (back off and retry)";
	case RAFT_ERR_CHANGE_PENDING:
		return "a configuration change is not committed yet";
	case RAFT_ERR_UNKNOWN_MEMBER:
		return "no such member (or not a learner)";
	case RAFT_ERR_LAST_VOTER:
		return "would remove the last voter";
	case RAFT_ERR_LEARNER_BEHIND:
		return "learner not caught up (promote_lag_entries_max)";
	case RAFT_ERR_TERM_NOT_COMMITTED:
		return "leader has not committed an entry of its term yet";
	case RAFT_ERR_MEMBER_EXISTS:
		return "already a member";
	case RAFT_ERR_MEMBERS_FULL:
		return "RAFT_NODES_MAX voters and learners already";
	default:
		return "unknown error";
	}
}

const char *raft_role_name(enum raft_role role)
{
	switch (role) {
	case RAFT_FOLLOWER:
		return "follower";
	case RAFT_PRECANDIDATE:
		return "precandidate";
	case RAFT_CANDIDATE:
		return "candidate";
	case RAFT_LEADER:
		return "leader";
	default:
		return "unknown";
	}
}

const char *raft_msg_type_name(enum raft_msg_type type)
{
	static const char *const names[RAFT_MSG_TYPE_COUNT] = {
		[RAFT_MSG_APPEND] = "append",
		[RAFT_MSG_APPEND_RESP] = "append_resp",
		[RAFT_MSG_VOTE] = "vote",
		[RAFT_MSG_VOTE_RESP] = "vote_resp",
		[RAFT_MSG_PREVOTE] = "prevote",
		[RAFT_MSG_PREVOTE_RESP] = "prevote_resp",
		[RAFT_MSG_HEARTBEAT] = "heartbeat",
		[RAFT_MSG_HEARTBEAT_RESP] = "heartbeat_resp",
		[RAFT_MSG_TIMEOUT_NOW] = "timeout_now",
		[RAFT_MSG_READ_INDEX] = "read_index",
		[RAFT_MSG_READ_INDEX_RESP] = "read_index_resp",
		[RAFT_MSG_SNAPSHOT] = "snapshot",
	};
	if ((unsigned)type >= RAFT_MSG_TYPE_COUNT || names[type] == NULL) {
		return "unknown";
	}
	return names[type];
}

enum raft_role raft_role(const struct raft *r)
{
	return (enum raft_role)r->role;
}

raft_term raft_current_term(const struct raft *r)
{
	return r->term;
}

raft_node_id raft_leader_id(const struct raft *r)
{
	return r->leader_id;
}

raft_node_id raft_voted_for(const struct raft *r)
{
	return r->vote;
}

raft_index raft_commit_index(const struct raft *r)
{
	return r->commit_index;
}

raft_index raft_last_index(const struct raft *r)
{
	return r->log.last_index;
}

raft_index raft_first_index(const struct raft *r)
{
	return r->log.first_index;
}

raft_index raft_persisted_index(const struct raft *r)
{
	return r->persisted_index;
}

void raft_snapshot(const struct raft *r, struct raft_snapshot_meta *out)
{
	*out = r->snapshot;
}

raft_index raft_compacted_index(const struct raft *r)
{
	return r->compacted_index;
}

raft_term raft_log_term(const struct raft *r, raft_index index)
{
	return log_term_at(&r->log, index);
}

bool raft_log_entry(const struct raft *r, raft_index index, struct raft_entry *out)
{
	if (!log_holds(&r->log, index)) {
		return false;
	}
	*out = *log_get(&r->log, index);
	return true;
}

bool raft_progress(const struct raft *r, raft_node_id id, struct raft_progress_info *out)
{
	uint32_t slot = election_member_slot(r, id);

	if (r->role != RAFT_LEADER || slot >= r->peers_count || slot == r->member_slot_self) {
		return false;
	}
	const struct raft_progress *pr = &r->progress[slot];
	*out = (struct raft_progress_info){
		.id = id,
		.match_index = pr->match_index,
		.next_index = pr->next_index,
		.inflight_count = pr->inflight_count,
		.state = pr->state,
		.recent_active = pr->recent_active,
		.snapshot_index = pr->state == RAFT_PROGRESS_SNAPSHOT ? pr->snapshot_index : 0,
	};
	return true;
}

void raft_get_counters(const struct raft *r, struct raft_counters *out)
{
	*out = r->counters;
}
