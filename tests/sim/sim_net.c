/* SPDX-License-Identifier: MIT */
/*
 * sim_net.c - raftsim's network: each message is copied (with its entries)
 * onto the event queue with a delay drawn from the seed's distribution;
 * loss, duplication (some duplicates held back long: stale messages) and
 * reordering are drawn per message; a cut link drops what is sent over it.
 * Every successful AppendEntries response is checked when it is sent
 * (check_ack): an acknowledgement is a claim about durable state.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "sim.h"

void sim_describe_msg(const struct raft_message *m, char *buf, size_t cap)
{
	const char *name = raft_msg_type_name((enum raft_msg_type)m->type);
	switch (m->type) {
	case RAFT_MSG_APPEND:
		snprintf(buf, cap, "%s t%llu prev %llu/t%llu +%u commit %llu", name,
			 (unsigned long long)m->term, (unsigned long long)m->append.prev_index,
			 (unsigned long long)m->append.prev_term, m->append.entries_count,
			 (unsigned long long)m->append.commit_index);
		break;
	case RAFT_MSG_APPEND_RESP:
		if (m->append_resp.reject) {
			snprintf(buf, cap, "%s t%llu reject %llu hint %llu/t%llu", name,
				 (unsigned long long)m->term,
				 (unsigned long long)m->append_resp.reject_index,
				 (unsigned long long)m->append_resp.hint_index,
				 (unsigned long long)m->append_resp.hint_term);
		} else {
			snprintf(buf, cap, "%s t%llu match %llu", name, (unsigned long long)m->term,
				 (unsigned long long)m->append_resp.match_index);
		}
		break;
	case RAFT_MSG_VOTE:
	case RAFT_MSG_PREVOTE:
		snprintf(buf, cap, "%s t%llu last %llu/t%llu%s", name, (unsigned long long)m->term,
			 (unsigned long long)m->vote.last_log_index,
			 (unsigned long long)m->vote.last_log_term,
			 m->vote.transfer ? " transfer" : "");
		break;
	case RAFT_MSG_VOTE_RESP:
	case RAFT_MSG_PREVOTE_RESP:
		snprintf(buf, cap, "%s t%llu %s", name, (unsigned long long)m->term,
			 m->vote_resp.granted ? "granted" : "refused");
		break;
	case RAFT_MSG_SNAPSHOT:
		snprintf(buf, cap, "%s t%llu at %llu/t%llu", name, (unsigned long long)m->term,
			 (unsigned long long)m->snapshot.meta.index,
			 (unsigned long long)m->snapshot.meta.term);
		break;
	case RAFT_MSG_HEARTBEAT:
		snprintf(buf, cap, "%s t%llu commit %llu read %llu", name,
			 (unsigned long long)m->term, (unsigned long long)m->heartbeat.commit_index,
			 (unsigned long long)m->heartbeat.read_seq);
		break;
	default:
		snprintf(buf, cap, "%s t%llu", name, (unsigned long long)m->term);
		break;
	}
}

void sim_cut(struct sim *s, raft_node_id from, raft_node_id to, bool cut)
{
	s->cut[from][to] = cut;
}

void sim_heal(struct sim *s)
{
	memset(s->cut, 0, sizeof(s->cut));
}

static uint64_t sim_net_delay(struct sim *s)
{
	uint64_t base = s->p.delay_base_us;
	switch (s->p.delay_dist) {
	case SIM_DELAY_UNIFORM:
		return sim_rand_range(s, base, 4 * base);
	case SIM_DELAY_EXP: {
		/* base plus an exponential tail of mean 2 * base, drawn by
		 * inversion from a 16-bit uniform in (0, 1). */
		double u = (double)(sim_rand(s) % 65535 + 1) / 65536.0;
		double tail = -__builtin_log(u) * 2.0 * (double)base;
		return base + (uint64_t)tail;
	}
	case SIM_DELAY_LONGTAIL:
		if (sim_chance(s, 20)) {
			return base * sim_rand_range(s, 20, 100);
		}
		return sim_rand_range(s, base, base + base / 2);
	default:
		return base;
	}
}

/* A copy of `m` on its way; `late` holds it back long (a duplicate stuck in
 * a queue arrives after the world has moved on: a stale message). */
static void sim_send_one(struct sim *s, raft_node_id from, const struct raft_message *m, bool late)
{
	uint64_t delay = sim_net_delay(s);
	if (late || sim_chance(s, s->p.reorder_per_mille)) {
		delay += s->p.delay_base_us * sim_rand_range(s, 10, 300);
	}
	struct sim_event ev = {.time_us = s->now_us + delay, .kind = SIM_EV_DELIVER, .node = m->to};
	ev.msg = *m;
	ev.msg.from = from;
	if (m->type == RAFT_MSG_APPEND && m->append.entries_count > 0) {
		size_t bytes = m->append.entries_count * sizeof(*m->append.entries);
		ev.entries = sim_xrealloc(NULL, bytes);
		memcpy(ev.entries, m->append.entries, bytes);
		ev.msg.append.entries = ev.entries;
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		ev.snap_digest = s->snap_digest_out;
	}
	sim_push(s, &ev);
}

void sim_send_snapshot(struct sim *s, raft_node_id from, const struct raft_message *m,
		       uint64_t digest)
{
	RN_ASSERT(m->type == RAFT_MSG_SNAPSHOT);
	s->snap_digest_out = digest;
	sim_send(s, from, m);
}

void sim_send(struct sim *s, raft_node_id from, const struct raft_message *m)
{
	s->msgs_sent++;
	if (m->type == RAFT_MSG_APPEND) {
		s->appends_sent++;
		s->append_entries_sent += m->append.entries_count;
	}
	if (m->type == RAFT_MSG_APPEND_RESP && m->append_resp.reject) {
		s->append_rejects_sent++;
	}
	if (m->type == RAFT_MSG_APPEND_RESP && !m->append_resp.reject) {
		check_ack(s, &s->nodes[from], m);
	}
	if (m->to == 0 || m->to > s->nodes_total || s->cut[from][m->to] ||
	    sim_chance(s, s->p.loss_per_mille)) {
		s->msgs_dropped++;
		return;
	}
	sim_send_one(s, from, m, false);
	if (sim_chance(s, s->p.dup_per_mille)) {
		s->msgs_duplicated++;
		sim_send_one(s, from, m, sim_chance(s, 500));
	}
}
