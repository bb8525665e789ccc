/* SPDX-License-Identifier: MIT */
/*
 * control.c - the control stage: drives the consensus core and carries out
 * what each raft_step() asks, in the order of the contract written on
 * struct raft_update (consensus.h), one numbered step at a time:
 *
 *   1. hard state durable before any message of this update leaves
 *   2. truncate the conflicting suffix, then start the write of the new
 *      entries (asynchronous: it runs while step 3 replicates them)
 *   3. send the messages
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
#include <time.h>

#include "common.h"
#include "daemon.h"

uint64_t node_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void control_log_role(struct node_daemon *d, const struct raft_update *u)
{
	if (u->role == d->role && u->leader_id == d->leader_id && u->term == d->term) {
		return;
	}
	if (u->role != d->role || u->leader_id != d->leader_id) {
		fprintf(stderr, "raftnode %u: %s of term %" PRIu64 ", leader %u\n", d->cfg.self,
			raft_role_name((enum raft_role)u->role), u->term, u->leader_id);
	}
	d->role = u->role;
	d->leader_id = u->leader_id;
	d->term = u->term;
}

/* Fail-stop: the log cannot be trusted to have kept what we would promise. */
void node_control_fail(struct node_daemon *d, const char *what, int rc, const char *msg)
{
	if (d->failed) {
		return;
	}
	fprintf(stderr, "raftnode %u: FATAL: %s failed: %s (%s); stopping without "
		"acknowledging anything more\n", d->cfg.self, what, store_strerror(rc), msg);
	d->failed = true;
	d->fatal = true;
	d->stop = 1;
}

/* A log call that did not succeed: a log failure (fail-stop), or the node
 * stopping while it waited (nothing more of the update may happen). */
static void control_call_failed(struct node_daemon *d, const char *what, int rc)
{
	const char *failed_what, *msg;
	if (rc == -ECANCELED) {
		d->failed = true; /* stopping: leave the loop, acknowledge nothing */
		return;
	}
	if (node_log_failure(&d->logstage, &failed_what, &msg) != 0) {
		node_control_fail(d, failed_what, rc, msg);
	} else {
		node_control_fail(d, what, rc, "");
	}
}

/* Step 2a: a rolled-back suffix goes from the disk, then from the ring.
 * The log call waits until the log stage consumed every earlier append,
 * so the ring's bytes it still had to copy are not overwritten. */
static void control_truncate(struct node_daemon *d, raft_index from)
{
	raft_index last = d->payloads.last_index;
	if (from <= last) {
		struct node_slot *s = node_payloads_slot(&d->payloads, last);
		d->counters.entries_rolled_back += last - from + 1;
		d->counters.rollback_first = from;
		d->counters.rollback_last = last;
		d->counters.rollback_term = s != NULL ? s->term : 0;
		fprintf(stderr, "raftnode %u: rolls back uncommitted entries %" PRIu64 "..%" PRIu64
			" (last of term %" PRIu64 ")\n", d->cfg.self, from, last,
			d->counters.rollback_term);
	}
	int rc = node_log_truncate(&d->logstage, from);
	if (rc != 0) {
		control_call_failed(d, "log truncation", rc);
		return;
	}
	node_payloads_truncate(&d->payloads, from);
}

/* Step 2b: entries into the ring (a follower copies them out of the frame
 * they came in; the leader's are there since it proposed them), then handed
 * to the log stage, which copies them into its staging buffer and writes
 * them asynchronously. */
static void control_write(struct node_daemon *d, const struct raft_entry *entries, uint32_t count)
{
	const void *payloads[256]; /* handed over in chunks of this many */
	uint32_t from = 0;
	for (uint32_t i = 0; i < count; i++) {
		const struct raft_entry *e = &entries[i];
		struct node_slot *s = node_payloads_slot(&d->payloads, e->index);
		if (s == NULL || s->term != e->term) {
			struct node_slot fresh = {.index = e->index, .term = e->term,
						  .bytes = e->payload_bytes, .type = e->type};
			fresh.offset = node_payloads_alloc(&d->payloads, e->payload_bytes);
			/* net.c checked the room before stepping the message. */
			RN_ASSERT(fresh.offset != UINT64_MAX);
			if (e->payload_bytes > 0) {
				memcpy(node_payloads_at(&d->payloads, fresh.offset),
				       (const void *)(uintptr_t)e->payload, e->payload_bytes);
			}
			node_payloads_set(&d->payloads, &fresh);
			s = node_payloads_slot(&d->payloads, e->index);
		}
		RN_ASSERT(s->bytes == e->payload_bytes);
		payloads[i - from] = node_payloads_at(&d->payloads, s->offset);
		if (i + 1 - from == RN_ARRAY_COUNT(payloads) || i + 1 == count) {
			int rc = d->failed ? 0
					   : node_log_append(&d->logstage, entries + from, payloads,
							     i + 1 - from);
			if (rc != 0) {
				control_call_failed(d, "log append", rc);
			}
			from = i + 1;
		}
	}
	node_log_kick(&d->logstage);
}

static void control_update(struct node_daemon *d, const struct raft_update *u)
{
	control_log_role(d, u);
	/* 1. Hard state: durable before any message leaves. */
	if (u->flags & RAFT_UPDATE_HARD_STATE) {
		int rc = node_log_save_hard_state(&d->logstage, &u->hard_state);
		if (rc != 0) {
			control_call_failed(d, "hard state write", rc);
			return;
		}
	}
	/* 2. Truncate, then write (in flight while the messages go out). */
	if (u->flags & RAFT_UPDATE_TRUNCATE) {
		control_truncate(d, u->truncate_index);
	}
	if (u->entries_count > 0 && !d->failed) {
		control_write(d, u->entries, u->entries_count);
	}
	if (d->failed) {
		return; /* nothing of this update may leave */
	}
	/* 3. Messages. */
	for (uint32_t i = 0; i < u->msgs_count; i++) {
		node_net_send(d, &u->msgs[i]);
	}
	/* 4. Apply what is committed (the apply stage replies). */
	if (u->commit_index > d->commit_pushed) {
		node_trace_stamp(d, u->commit_index, DP_TRACE_REPLICATED, 0);
		node_apply_commit(d, u->commit_index);
	}
	/* 5. Reads. */
	if (u->read_states_count > 0) {
		node_apply_read_states(d, u->read_states, u->read_states_count);
	}
}

/* An event the stages caused since the core last heard: the log's durable
 * report (the sooner the core counts it, the sooner it commits), or the
 * apply stage's progress (APPLIED). */
static bool control_stage_event(struct node_daemon *d, struct raft_event *ev)
{
	struct node_log_report rep;
	if (node_log_take_report(&d->logstage, &rep)) {
		node_trace_stamp(d, rep.index, DP_TRACE_DURABLE, rep.durable_ns);
		*ev = (struct raft_event){.type = RAFT_EVENT_PERSISTED,
					  .persisted = {.index = rep.index, .term = rep.term}};
		return true;
	}
	raft_index applied = node_apply_applied(d);
	if (applied > d->applied_reported) {
		d->applied_reported = applied;
		*ev = (struct raft_event){.type = RAFT_EVENT_APPLIED, .applied = {.index = applied}};
		return true;
	}
	return false;
}

/* One step and its update; after an APPLIED, the slots the core let go of
 * free their payload bytes and the commit hint follows, lazily. */
static int control_step_one(struct node_daemon *d, struct raft_event *ev)
{
	struct raft_update u;
	int rc = raft_step(d->raft, ev, &u);
	control_update(d, &u);
	if (ev->type == RAFT_EVENT_APPLIED) {
		node_payloads_release(&d->payloads, raft_first_index(d->raft));
		node_apply_save_hint(d);
	}
	return rc;
}

int node_control_step(struct node_daemon *d, struct raft_event *ev)
{
	if (d->failed) {
		return -RAFT_ERR_INVALID;
	}
	int rc = control_step_one(d, ev);
	/* Events the update caused, each with its own update. */
	struct raft_event next;
	while (!d->failed && control_stage_event(d, &next)) {
		control_step_one(d, &next);
	}
	return rc;
}

uint32_t node_control_poll(struct node_daemon *d)
{
	uint32_t work = 0;
	const char *what, *msg;
	int rc = node_log_failure(&d->logstage, &what, &msg);
	if (rc != 0) {
		node_control_fail(d, what, rc, msg);
		return 1;
	}
	/* The apply stage's replies, a finished catch-up read's append, and
	 * what the log and apply stages did meanwhile (from their lcores). */
	work += node_apply_send_replies(d);
	work += node_net_catchup_poll(d);
	struct raft_event staged;
	if (control_stage_event(d, &staged)) {
		node_control_step(d, &staged); /* and the rest, in its loop */
		work++;
	}
	uint64_t now = node_now_ns();
	uint64_t tick_ns = (uint64_t)d->cfg.tick_ms * 1000000ull;
	/* Catch up on missed ticks, but a stalled process does not replay a
	 * burst of them (that would fire elections at once). */
	if (now >= d->next_tick_ns) {
		struct raft_event ev = {.type = RAFT_EVENT_TICK};
		node_control_step(d, &ev);
		d->counters.ticks++;
		d->next_tick_ns += tick_ns;
		if (d->next_tick_ns + 2 * tick_ns < now) {
			d->next_tick_ns = now + tick_ns;
		}
		work++;
	}
	return work;
}

static uint8_t control_refusal_status(int rc)
{
	switch (-rc) {
	case RAFT_ERR_NOT_LEADER:
		return DP_CLIENT_REDIRECT;
	case RAFT_ERR_NO_LEADER:
	case RAFT_ERR_TRANSFERRING:
		return DP_CLIENT_RETRY;
	default:
		return DP_CLIENT_BUSY;
	}
}

/* The writes gathered during this rx poll become one proposal. */
void node_control_propose(struct node_daemon *d)
{
	struct node_proposal *p = &d->proposal;
	if (p->count == 0) {
		return;
	}
	struct raft_event ev = {.type = RAFT_EVENT_PROPOSE,
				.propose = {.entries = p->entries, .entries_count = p->count}};
	uint64_t now = node_now_ns();
	/* The core asks for the batch's write and replication inside this
	 * step, so the slots must be in place before it. */
	raft_index next = raft_last_index(d->raft) + 1;
	raft_term term = raft_current_term(d->raft);
	bool leader = raft_role(d->raft) == RAFT_LEADER;
	if (leader && d->payloads.last_index + 1 == next) {
		for (uint32_t i = 0; i < p->count; i++) {
			p->slots[i].index = next + i;
			p->slots[i].term = term;
			node_payloads_set(&d->payloads, &p->slots[i]);
			if (p->slots[i].trace_id != 0) {
				/* Before the step: the write may be durable within it. */
				struct node_trace *tr = &d->traces[p->slots[i].trace_id - 1];
				tr->index = next + i;
				tr->stamp_ns[DP_TRACE_PROPOSED] = now;
				tr->stages_set |= 1u << DP_TRACE_PROPOSED;
			}
		}
	}
	int rc = leader && d->payloads.last_index + 1 == next + p->count
			 ? node_control_step(d, &ev)
			 : -RAFT_ERR_NOT_LEADER;
	if (rc == 0) {
		RN_ASSERT(p->entries[0].index == next && p->entries[0].term == term);
		d->counters.proposals++;
		d->counters.proposed_entries += p->count;
	} else {
		/* Refused: nothing was appended. Take the slots back and tell
		 * each client why (never silence). */
		if (leader && d->payloads.last_index >= next) {
			node_payloads_truncate(&d->payloads, next);
		}
		d->payloads.head = p->head_before;
		uint8_t status = control_refusal_status(rc);
		for (uint32_t i = 0; i < p->count; i++) {
			struct node_slot *s = &p->slots[i];
			if (s->trace_id != 0) {
				d->traces[s->trace_id - 1].busy = false;
			}
			node_net_reply(d, &s->client, s->client_id, s->client_seq, status, NULL, 0,
				       NULL);
		}
	}
	p->count = 0;
}
