/* SPDX-License-Identifier: MIT */
/*
 * step.c - raft_step() and its update. stage: control.
 *
 * Control drives the consensus core and carries out what each raft_step()
 * asks, in the order of the contract written on
 * struct raft_update (consensus.h), one numbered step at a time:
 *
 *   1. hard state durable before any message of this update leaves
 *   2. truncate the conflicting suffix, then hand the new entries to the
 *      log stage (asynchronous: the write runs while step 3 replicates them)
 *   3. send the messages, then start the write (where the log stage shares
 *      control's lcore it runs inline, and with the pwrite engine that is
 *      a pwritev + fdatasync: the appends must not wait for it)
 *   4. apply what is committed, reply to clients, report APPLIED
 *   5. serve reads whose ReadIndex is confirmed and applied
 *
 * Events the update itself causes (APPLIED, PERSISTED reported by the log
 * while the update was carried out) are stepped after it, never inside it:
 * the update's arrays belong to the core only until the next raft_step().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "internal.h"
#include "ops_hooks.h"

static void control_log_role(struct node_control *c, const struct raft_update *u)
{
	if (u->role == c->role && u->leader_id == c->leader_id && u->term == c->term) {
		return;
	}
	if (c->role == RAFT_LEADER && u->role != RAFT_LEADER) {
		node_xfer_cancel_all(c); /* deposed: its transfers end */
	}
	if (u->role != c->role || u->leader_id != c->leader_id) {
		fprintf(stderr, "raftnode %u: %s of term %" PRIu64 ", leader %u\n", c->cfg->self,
			raft_role_name((enum raft_role)u->role), u->term, u->leader_id);
	}
	c->role = u->role;
	node_ops_leader_seen(c, c->leader_id, u->leader_id);
	c->leader_id = u->leader_id;
	c->term = u->term;
}

/* Fail-stop: the log cannot be trusted to have kept what we would promise. */
void node_control_fail(struct node_control *c, const char *what, int rc, const char *msg)
{
	RN_ASSERT(rc != 0);
	RN_ASSERT(c->stop != NULL);
	if (c->failed) {
		return;
	}
	fprintf(stderr, "raftnode %u: FATAL: %s failed: %s (%s); stopping without "
		"acknowledging anything more\n", c->cfg->self, what, store_strerror(rc), msg);
	c->failed = true;
	c->fatal = true;
	*c->stop = 1;
}

/* A log call that did not succeed: a log failure (fail-stop), or the node
 * stopping while it waited (nothing more of the update may happen). */
static void control_call_failed(struct node_control *c, const char *what, int rc)
{
	const char *failed_what, *msg;
	RN_ASSERT(rc != 0);
	if (rc == -ECANCELED) {
		c->failed = true; /* stopping: leave the loop, acknowledge nothing */
		return;
	}
	if (node_log_failure(&c->log, &failed_what, &msg) != 0) {
		node_control_fail(c, failed_what, rc, msg);
	} else {
		node_control_fail(c, what, rc, "");
	}
}

/* Step 2a: a rolled-back suffix goes from the disk, then from the ring.
 * The log call waits until the log stage consumed every earlier append,
 * so the ring's bytes it still had to copy are not overwritten. */
static void control_truncate(struct node_control *c, raft_index from)
{
	raft_index last = c->payloads.last_index;
	RN_ASSERT(from > 0);
	if (from <= last) {
		struct node_slot *s = node_payloads_slot(&c->payloads, last);
		c->counters.entries_rolled_back += last - from + 1;
		c->counters.rollback_first = from;
		c->counters.rollback_last = last;
		c->counters.rollback_term = s != NULL ? s->term : 0;
		fprintf(stderr, "raftnode %u: rolls back uncommitted entries %" PRIu64 "..%" PRIu64
			" (last of term %" PRIu64 ")\n", c->cfg->self, from, last,
			c->counters.rollback_term);
	}
	int rc = node_log_truncate(&c->log, from);
	if (rc != 0) {
		control_call_failed(c, "log truncation", rc);
		return;
	}
	node_payloads_truncate(&c->payloads, from);
	RN_ASSERT(c->payloads.last_index < from);
}

/* Step 2b: entries into the ring (a follower copies them out of the frame
 * they came in; the leader's are there since it proposed them), then staged
 * for the log stage, which copies them into its staging buffer and writes
 * them asynchronously: pushed to its ring in bursts of NODE_LOG_BURST (a
 * log stage on its own lcore may start on a full burst before the
 * messages leave: that runs beside them, it does not delay them), the
 * rest by control_write_start's kick after the messages. */
static void control_write(struct node_control *c, const struct raft_entry *entries, uint32_t count)
{
	RN_ASSERT(count > 0);
	RN_ASSERT(entries != NULL);
	for (uint32_t i = 0; i < count && !c->failed; i++) {
		const struct raft_entry *e = &entries[i];
		/* A config entry's bytes are its record (member.c), not counted
		 * by the core (payload_bytes 0, its payload the change value). */
		bool conf = e->type == RAFT_ENTRY_CONFIG;
		uint32_t bytes = conf ? DP_CONF_ENTRY_BYTES : e->payload_bytes;
		struct node_slot *s = node_payloads_slot(&c->payloads, e->index);
		if (s == NULL || s->term != e->term) {
			struct node_slot fresh = {.index = e->index, .term = e->term,
						  .bytes = bytes, .type = e->type};
			fresh.offset = node_payloads_alloc(&c->payloads, bytes);
			/* ingress.c checked the room before stepping the message. */
			RN_ASSERT(fresh.offset != UINT64_MAX);
			uint8_t *at = node_payloads_at(&c->payloads, fresh.offset);
			if (conf) {
				node_member_record(c, e, at);
			} else if (bytes > 0) {
				memcpy(at, (const void *)(uintptr_t)e->payload, bytes);
			}
			node_payloads_set(&c->payloads, &fresh);
			s = node_payloads_slot(&c->payloads, e->index);
		}
		RN_ASSERT(s != NULL);
		RN_ASSERT(s->bytes == bytes);
		const uint8_t *at = node_payloads_at(&c->payloads, s->offset);
		if (conf) {
			node_member_appended(c, at); /* before step 3's messages */
		}
		struct raft_entry w = *e;
		w.payload_bytes = bytes;
		int rc = node_log_add(&c->log, &w, at);
		if (rc != 0) {
			control_call_failed(c, "log append", rc);
		}
	}
}

/* Step 2c, after step 3: the staged entries go to the log stage. Where it
 * shares control's lcore, the kick runs its write inline (with the pwrite
 * engine: pwritev + fdatasync before returning), so this update's frames
 * leave first, flushed now when rx/tx shares the lcore too (§10.2.1: the
 * leader writes in parallel with replicating, never before it). The hard
 * state (step 1) and a truncation (step 2a) were synchronous calls: both
 * are done before any of this. The replies gathered so far leave then too:
 * a client's answer must not wait behind an inline write. */
static void control_write_start(struct node_control *c)
{
	RN_ASSERT(c->log.link != NULL);
	if (c->log.link->wait.colocated_poll != NULL) {
		node_egress_replies_flush(c);
		node_egress_flush(c);
	}
	int rc = node_log_kick(&c->log);
	if (rc != 0) {
		control_call_failed(c, "log append", rc);
	}
}

/* Step 2 (install): the snapshot file is durable (renamed and synced
 * before the core heard of it, xfer.c); the log is reset to continue after
 * it, the payload ring too, and the apply stage loads it in ring order,
 * before any later commit; INSTALLED once it is there (xfer.c). */
static void control_install(struct node_control *c, const struct raft_snapshot_meta *meta)
{
	fprintf(stderr, "raftnode %u: installs the snapshot of index %" PRIu64 " (term %" PRIu64
		")\n", c->cfg->self, meta->index, meta->term);
	int rc = node_log_reset(&c->log, meta->index, meta->term);
	if (rc != 0) {
		control_call_failed(c, "log reset (snapshot install)", rc);
		return;
	}
	node_payloads_reset(&c->payloads, meta->index);
	node_apply_install(c, meta->index, meta->term);
	node_xfer_install_pending(c, meta);
}

static void control_update(struct node_control *c, const struct raft_update *u)
{
	control_log_role(c, u);
	/* 1. Hard state: durable before any message leaves. */
	if (u->flags & RAFT_UPDATE_HARD_STATE) {
		int rc = node_log_save_hard_state(&c->log, &u->hard_state);
		if (rc != 0) {
			control_call_failed(c, "hard state write", rc);
			return;
		}
	}
	/* 2. An install first (never with a truncation or entries). */
	if (u->flags & RAFT_UPDATE_SNAPSHOT) {
		control_install(c, &u->snapshot);
		if (c->failed) {
			return;
		}
	}
	/* 2. Truncate, then stage the write (started after the messages). */
	if (u->flags & RAFT_UPDATE_TRUNCATE) {
		control_truncate(c, u->truncate_index);
	}
	if (u->entries_count > 0 && !c->failed) {
		control_write(c, u->entries, u->entries_count);
	}
	if (c->failed) {
		return; /* nothing of this update may leave */
	}
	/* Step 2 done: the ring holds every entry of the update. */
	RN_ASSERT(u->entries_count == 0 ||
		  c->payloads.last_index >= u->entries[u->entries_count - 1].index);
	/* 3. Messages, then the write starts (2c). */
	for (uint32_t i = 0; i < u->msgs_count; i++) {
		node_egress_send(c, &u->msgs[i]);
	}
	if (u->entries_count > 0 && !c->failed) {
		control_write_start(c);
	}
	/* 4. Apply what is committed (the apply stage replies). */
	if (u->commit_index > c->apply.commit_pushed) {
		node_trace_stamp(c, u->commit_index, DP_TRACE_REPLICATED, 0);
		node_apply_commit(c, u->commit_index);
	}
	/* 5. Reads. */
	if (u->read_states_count > 0) {
		node_apply_read_states(c, u->read_states, u->read_states_count);
	}
	/* The configuration changed (an entry appended or truncated, a
	 * snapshot installed): one O(1) look per update otherwise. */
	if (!c->members.checked || raft_membership_index(c->raft) != c->members.checked_index ||
	    (u->flags & RAFT_UPDATE_SNAPSHOT) != 0) {
		node_member_check_removed(c);
	}
}

/* The snapshot writer's and the log stage's news (SNAPSHOT CONTRACT a, b):
 * a durable snapshot, then the compaction it allowed. The compaction point
 * is read first: the log stage publishes it (release) after it saw the
 * snapshot that covers it, so the snapshot read next is that one or newer,
 * and it is reported first. A snapshot is reported once the core heard
 * APPLIED up to its index (checked just before, in control_stage_event). */
static bool control_snapshot_event(struct node_control *c, struct raft_event *ev)
{
	if (c->snap == NULL) {
		return false;
	}
	raft_index compacted = __atomic_load_n(&c->snap->compacted_index, __ATOMIC_ACQUIRE);
	raft_index index;
	raft_term term;
	struct raft_membership conf;
	node_snap_link_read(c->snap, &index, &term, &conf);
	if (index > c->snap_reported && index <= c->apply.applied_reported) {
		c->snap_reported = index;
		/* The configuration at its index: the apply stage's as it took
		 * it (published with the snapshot). */
		*ev = (struct raft_event){.type = RAFT_EVENT_SNAPSHOT,
					  .snapshot = {.index = index, .term = term}};
		memcpy(ev->snapshot.voters, conf.voters, sizeof(conf.voters));
		ev->snapshot.voters_count = conf.voters_count;
		memcpy(ev->snapshot.learners, conf.learners, sizeof(conf.learners));
		ev->snapshot.learners_count = conf.learners_count;
		return true;
	}
	if (compacted > c->compacted_reported && compacted <= c->snap_reported) {
		c->compacted_reported = compacted;
		*ev = (struct raft_event){.type = RAFT_EVENT_COMPACTED,
					  .compacted = {.index = compacted}};
		return true;
	}
	return false;
}

/* An event the stages caused since the core last heard: the log's durable
 * report (the sooner the core counts it, the sooner it commits), or the
 * apply stage's progress (APPLIED). */
static bool control_stage_event(struct node_control *c, struct raft_event *ev)
{
	if (node_xfer_event(c, node_apply_applied(c), ev)) {
		return true;
	}
	struct node_log_report rep;
	if (node_log_take_report(&c->log, &rep)) {
		node_trace_stamp(c, rep.index, DP_TRACE_DURABLE, rep.durable_ns);
		*ev = (struct raft_event){.type = RAFT_EVENT_PERSISTED,
					  .persisted = {.index = rep.index, .term = rep.term}};
		return true;
	}
	raft_index applied = node_apply_applied(c);
	RN_ASSERT(applied >= c->apply.applied_reported); /* published only grows */
	if (applied > c->apply.applied_reported) {
		c->apply.applied_reported = applied;
		*ev = (struct raft_event){.type = RAFT_EVENT_APPLIED, .applied = {.index = applied}};
		return true;
	}
	return control_snapshot_event(c, ev);
}

/* One step and its update; after an APPLIED, the slots the core let go of
 * free their payload bytes and the commit hint follows, lazily. */
static int control_step_one(struct node_control *c, struct raft_event *ev)
{
	struct raft_update u;
	int rc = raft_step(c->raft, ev, &u);
	control_update(c, &u);
	if (ev->type == RAFT_EVENT_APPLIED) {
		node_payloads_release(&c->payloads, raft_first_index(c->raft));
		/* The ring frees nothing the core still holds. */
		RN_ASSERT(c->payloads.first_index <= raft_first_index(c->raft));
		node_apply_save_hint(c);
	}
	return rc;
}

int node_control_step(struct node_control *c, struct raft_event *ev)
{
	RN_ASSERT(c->raft != NULL);
	if (c->failed) {
		return -RAFT_ERR_INVALID;
	}
	int rc = control_step_one(c, ev);
	/* Events the update caused, each with its own update. */
	struct raft_event next;
	while (!c->failed && control_stage_event(c, &next)) {
		control_step_one(c, &next);
	}
	return rc;
}

uint32_t node_control_stage_events(struct node_control *c)
{
	struct raft_event staged;
	if (c->failed || !control_stage_event(c, &staged)) {
		return 0;
	}
	node_control_step(c, &staged); /* and the rest, in its loop */
	return 1;
}

