/* SPDX-License-Identifier: MIT */
/*
 * harness.c - see harness.h. Follows the update ordering contract of
 * consensus.h: hard state first, then the write, then the messages.
 */
#define RN_ASSERT_HOOK_OVERRIDE 1 /* rn_assert_fail reports to cmocka */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

static void h_config(struct h_cluster *c, raft_node_id id, struct raft_config *cfg,
		     void (*tune)(struct raft_config *))
{
	raft_config_default(cfg);
	cfg->id = id;
	cfg->members_count = c->voters_count;
	for (uint32_t i = 0; i < c->voters_count; i++) {
		cfg->members[i] = i + 1;
	}
	cfg->seed = 1000 + id;
	cfg->log_entries_max = 1u << 12;
	cfg->append_entries_max = 64;
	if (tune != NULL) {
		tune(cfg);
	}
}

static void h_start(struct h_cluster *c, raft_node_id id, raft_index prev_index,
		    void (*tune)(struct raft_config *))
{
	struct h_node *n = &c->nodes[id];
	struct raft_config cfg;

	h_config(c, id, &cfg, tune);
	RN_ASSERT(prev_index <= n->log_last);
	raft_term prev_term = prev_index == 0 ? 0 : n->log[prev_index].term;
	int rc = raft_create_from(&cfg, &n->hard_state, prev_index, prev_term,
				  &n->log[prev_index + 1], n->log_last - prev_index, &n->raft);
	RN_ASSERT(rc == 0);
	n->write_pending_last = 0;
	n->applied_index = 0;
	n->down = false;
}

void h_init(struct h_cluster *c, uint32_t nodes_count, void (*tune)(struct raft_config *))
{
	h_init_voters(c, nodes_count, nodes_count, tune);
}

void h_init_voters(struct h_cluster *c, uint32_t nodes_count, uint32_t voters_count,
		   void (*tune)(struct raft_config *))
{
	RN_ASSERT(nodes_count >= 1 && nodes_count <= H_NODES_MAX);
	RN_ASSERT(voters_count >= 1 && voters_count <= nodes_count);
	memset(c, 0, sizeof(*c));
	c->nodes_count = nodes_count;
	c->voters_count = voters_count;
	for (raft_node_id id = 1; id <= nodes_count; id++) {
		c->nodes[id].auto_persist = true;
		h_start(c, id, 0, tune);
	}
}

void h_destroy(struct h_cluster *c)
{
	for (raft_node_id id = 1; id <= c->nodes_count; id++) {
		raft_destroy(c->nodes[id].raft);
	}
}

static void h_queue(struct h_cluster *c, const struct raft_message *m)
{
	RN_ASSERT(c->msgs_count < H_MSGS_MAX);
	struct raft_message *q = &c->msgs[c->msgs_count++];
	*q = *m;
	if (m->type == RAFT_MSG_APPEND && m->append.from_storage) {
		/* The caller's side: read them from the sender's log. */
		const struct h_node *from = &c->nodes[m->from];
		RN_ASSERT(m->append.prev_index + m->append.entries_count <= from->log_last);
		c->from_storage_last = *m;
		c->from_storage_count++;
		q->append.prev_term =
			m->append.prev_index == 0 ? 0 : from->log[m->append.prev_index].term;
		q->append.entries = &from->log[m->append.prev_index + 1];
		q->append.from_storage = false;
		m = q;
	}
	if (m->type == RAFT_MSG_APPEND && m->append.entries_count > 0) {
		if (c->entries_used + m->append.entries_count > H_ENTRIES_MAX) {
			c->entries_used = 0; /* arena recycled: tests stay small */
		}
		struct raft_entry *copy = &c->entries[c->entries_used];
		memcpy(copy, m->append.entries, m->append.entries_count * sizeof(*copy));
		c->entries_used += m->append.entries_count;
		q->append.entries = copy;
	}
}

static void h_process(struct h_cluster *c, raft_node_id id, const struct raft_update *u)
{
	struct h_node *n = &c->nodes[id];

	if (u->flags & RAFT_UPDATE_HARD_STATE) {
		n->hard_state = u->hard_state; /* 1. durable before messages */
	}
	if (u->flags & RAFT_UPDATE_SNAPSHOT) {
		/* 2. The log continues after the snapshot; the test reports
		 * the install durable (h_install). */
		RN_ASSERT(u->snapshot.index < H_LOG_MAX);
		n->log_last = u->snapshot.index;
		n->log[u->snapshot.index] = (struct raft_entry){.index = u->snapshot.index,
								.term = u->snapshot.term};
		n->write_pending_last = 0;
		n->install = u->snapshot;
		n->install_asked = true;
	}
	if (u->flags & RAFT_UPDATE_TRUNCATE) {
		n->log_last = u->truncate_index - 1;
	}
	for (uint32_t i = 0; i < u->entries_count; i++) { /* 2. write */
		const struct raft_entry *e = &u->entries[i];
		RN_ASSERT(e->index < H_LOG_MAX && e->index <= n->log_last + 1);
		n->log[e->index] = *e;
		if (e->index > n->log_last) {
			n->log_last = e->index;
		}
	}
	if (u->entries_count > 0) {
		n->write_pending_last = u->entries[u->entries_count - 1].index;
		n->write_pending_term = u->entries[u->entries_count - 1].term;
	}
	for (uint32_t i = 0; i < u->msgs_count; i++) { /* 3. send */
		h_queue(c, &u->msgs[i]);
	}
	bool applied_more = u->commit_index > n->applied_index;
	n->applied_index = u->commit_index; /* 4. apply */
	for (uint32_t i = 0; i < u->read_states_count && n->reads_count < 64; i++) {
		n->reads[n->reads_count++] = u->read_states[i];
	}
	if (u->entries_count > 0 && n->auto_persist) {
		h_persist(c, id);
	}
	if (applied_more && n->auto_apply) {
		struct raft_event ev = {.type = RAFT_EVENT_APPLIED};
		ev.applied.index = n->applied_index;
		h_step(c, id, &ev);
	}
}

int h_step(struct h_cluster *c, raft_node_id id, struct raft_event *ev)
{
	struct raft_update u;
	int rc = raft_step(c->nodes[id].raft, ev, &u);
	c->last_update = u;
	h_process(c, id, &u);
	c->last_rc = rc;
	return rc;
}

void h_persist(struct h_cluster *c, raft_node_id id)
{
	struct h_node *n = &c->nodes[id];
	if (n->write_pending_last == 0) {
		return;
	}
	struct raft_event ev = {.type = RAFT_EVENT_PERSISTED};
	ev.persisted.index = n->write_pending_last;
	ev.persisted.term = n->write_pending_term;
	n->write_pending_last = 0;
	h_step(c, id, &ev);
}

void h_snapshot(struct h_cluster *c, raft_node_id id, raft_index index,
		raft_index compacted_index)
{
	struct h_node *n = &c->nodes[id];
	struct raft_event ev = {.type = RAFT_EVENT_SNAPSHOT};
	ev.snapshot.index = index;
	ev.snapshot.term = n->log[index].term;
	ev.snapshot.voters_count = c->voters_count;
	for (uint32_t i = 0; i < c->voters_count; i++) {
		ev.snapshot.voters[i] = i + 1;
	}
	h_step(c, id, &ev);
	ev = (struct raft_event){.type = RAFT_EVENT_COMPACTED};
	ev.compacted.index = compacted_index;
	h_step(c, id, &ev);
}

void h_install(struct h_cluster *c, raft_node_id id)
{
	struct h_node *n = &c->nodes[id];
	RN_ASSERT(n->install_asked);
	n->install_asked = false;
	struct raft_event ev = {.type = RAFT_EVENT_SNAPSHOT_INSTALLED};
	ev.installed.index = n->install.index;
	ev.installed.term = n->install.term;
	h_step(c, id, &ev);
}

void h_tick(struct h_cluster *c, raft_node_id id, uint32_t ticks)
{
	for (uint32_t i = 0; i < ticks; i++) {
		struct raft_event ev = {.type = RAFT_EVENT_TICK};
		h_step(c, id, &ev);
	}
}

uint32_t h_deliver_all(struct h_cluster *c)
{
	uint32_t delivered = 0;
	while (c->msgs_count > 0) {
		/* FIFO: take the oldest, shift the rest. */
		struct raft_message m = c->msgs[0];
		memmove(&c->msgs[0], &c->msgs[1], (c->msgs_count - 1) * sizeof(m));
		c->msgs_count--;
		if (c->cut[m.from][m.to] || c->nodes[m.to].down) {
			continue;
		}
		struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
		ev.receive = m;
		h_step(c, m.to, &ev);
		delivered++;
	}
	return delivered;
}

raft_node_id h_leader(const struct h_cluster *c)
{
	raft_node_id leader = RAFT_NODE_NONE;
	raft_term best = 0;
	for (raft_node_id id = 1; id <= c->nodes_count; id++) {
		const struct h_node *n = &c->nodes[id];
		if (!n->down && raft_role(n->raft) == RAFT_LEADER && raft_current_term(n->raft) >= best) {
			best = raft_current_term(n->raft);
			leader = id;
		}
	}
	return leader;
}

void h_elect(struct h_cluster *c, raft_node_id id)
{
	for (int i = 0; i < 100 && raft_role(c->nodes[id].raft) != RAFT_LEADER; i++) {
		h_tick(c, id, 1);
		h_deliver_all(c);
	}
	RN_ASSERT(raft_role(c->nodes[id].raft) == RAFT_LEADER);
}

int h_propose(struct h_cluster *c, raft_node_id id, uint64_t payload)
{
	struct raft_entry e = {.type = RAFT_ENTRY_NORMAL, .payload = payload, .payload_bytes = 8};
	struct raft_event ev = {.type = RAFT_EVENT_PROPOSE};
	ev.propose.entries = &e;
	ev.propose.entries_count = 1;
	return h_step(c, id, &ev);
}

void h_isolate(struct h_cluster *c, raft_node_id id, bool cut)
{
	for (raft_node_id o = 1; o <= c->nodes_count; o++) {
		if (o != id) {
			c->cut[id][o] = cut;
			c->cut[o][id] = cut;
		}
	}
}

/* Loses unsynced writes, keeps hard state and the durable log. */
void h_crash_restart(struct h_cluster *c, raft_node_id id, void (*tune)(struct raft_config *))
{
	struct h_node *n = &c->nodes[id];
	raft_index durable = raft_persisted_index(n->raft);
	raft_destroy(n->raft);
	n->log_last = durable;
	h_start(c, id, 0, tune);
}

void h_crash_restart_from(struct h_cluster *c, raft_node_id id, raft_index prev_index,
			  void (*tune)(struct raft_config *))
{
	struct h_node *n = &c->nodes[id];
	raft_index durable = raft_persisted_index(n->raft);
	raft_destroy(n->raft);
	n->log_last = durable;
	h_start(c, id, prev_index, tune);
}

/* Assertion failures inside the core are reported to cmocka, not abort(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

void rn_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	(void)func;
	mock_assert(0, expr, file, line);
	abort(); /* mock_assert does not return on failure */
}
