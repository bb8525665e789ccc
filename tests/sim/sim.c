/* SPDX-License-Identifier: MIT */
/*
 * sim.c - the cluster model behind raftsim: the event queue, the nodes, and
 * the processing of each consensus update in the order its contract
 * demands (hard state durable first, then the write handed to the log, then
 * messages sent, then apply). The checker (sim_check.c) looks at every
 * update before anything else happens; the network is sim_net.c, the
 * clients sim_client.c, each node's log sim_disk.c.
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

/* ---- PRNG ------------------------------------------------------------ */

uint64_t sim_rand(struct sim *s)
{
	return rn_splitmix64(&s->rng);
}

uint64_t sim_rand_range(struct sim *s, uint64_t lo, uint64_t hi)
{
	RN_ASSERT(lo <= hi);
	return lo + sim_rand(s) % (hi - lo + 1);
}

bool sim_chance(struct sim *s, uint32_t per_mille)
{
	return per_mille > 0 && sim_rand(s) % 1000 < per_mille;
}

void *sim_xrealloc(void *p, size_t bytes)
{
	void *q = realloc(p, bytes);
	RN_ASSERT(q != NULL);
	return q;
}

/* ---- output ------------------------------------------------------------ */

void sim_log(struct sim *s, int level, const char *fmt, ...)
{
	if (level > s->verbosity && !s->capture) {
		return;
	}
	char line[sizeof(s->tail[0])];
	int off = snprintf(line, sizeof(line), "%8llu.%03llu ms  ",
			   (unsigned long long)(s->now_us / 1000),
			   (unsigned long long)(s->now_us % 1000));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + off, sizeof(line) - (size_t)off, fmt, ap);
	va_end(ap);
	if (level <= s->verbosity && s->out != NULL) {
		fprintf(s->out, "%s\n", line);
	}
	if (s->capture) {
		memcpy(s->tail[s->tail_next], line, sizeof(line));
		s->tail_next = (s->tail_next + 1) % SIM_TRACE_TAIL_LINES;
		if (s->tail_count < SIM_TRACE_TAIL_LINES) {
			s->tail_count++;
		}
	}
}

void sim_print_tail(const struct sim *s, FILE *f)
{
	uint32_t first = (s->tail_next + SIM_TRACE_TAIL_LINES - s->tail_count) %
			 SIM_TRACE_TAIL_LINES;
	for (uint32_t i = 0; i < s->tail_count; i++) {
		fprintf(f, "  | %s\n", s->tail[(first + i) % SIM_TRACE_TAIL_LINES]);
	}
}

bool sim_tracing(const struct sim *s)
{
	return s->verbosity >= SIM_TRACE || s->capture;
}

/* ---- event heap, ordered by (time, seq) ------------------------------- */

static bool sim_ev_before(const struct sim_event *a, const struct sim_event *b)
{
	return a->time_us < b->time_us || (a->time_us == b->time_us && a->seq < b->seq);
}

void sim_push(struct sim *s, struct sim_event *ev)
{
	if (s->heap_count == s->heap_cap) {
		s->heap_cap = s->heap_cap ? 2 * s->heap_cap : 1024;
		s->heap = sim_xrealloc(s->heap, s->heap_cap * sizeof(*s->heap));
	}
	ev->seq = s->seq++;
	uint32_t i = s->heap_count++;
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!sim_ev_before(ev, &s->heap[parent])) {
			break;
		}
		s->heap[i] = s->heap[parent];
		i = parent;
	}
	s->heap[i] = *ev;
}

static void sim_pop(struct sim *s, struct sim_event *out)
{
	RN_ASSERT(s->heap_count > 0);
	*out = s->heap[0];
	struct sim_event last = s->heap[--s->heap_count];
	uint32_t i = 0;
	for (;;) {
		uint32_t child = 2 * i + 1;
		if (child >= s->heap_count) {
			break;
		}
		if (child + 1 < s->heap_count && sim_ev_before(&s->heap[child + 1], &s->heap[child])) {
			child++;
		}
		if (!sim_ev_before(&s->heap[child], &last)) {
			break;
		}
		s->heap[i] = s->heap[child];
		i = child;
	}
	if (s->heap_count > 0) {
		s->heap[i] = last;
	}
}

void sim_schedule_hook(struct sim *s, uint64_t at_us, uint32_t hook_kind)
{
	struct sim_event ev = {.time_us = at_us, .kind = SIM_EV_HOOK, .hook_kind = hook_kind};
	sim_push(s, &ev);
}

/* ---- nodes ---------------------------------------------------------------- */

static void sim_node_config(const struct sim *s, const struct sim_node *n, struct raft_config *c)
{
	raft_config_default(c);
	c->id = n->id;
	c->members_count = s->p.nodes_count;
	for (uint32_t i = 0; i < s->p.nodes_count; i++) {
		c->members[i] = i + 1;
	}
	c->election_timeout_ticks = s->p.election_timeout_ticks;
	c->heartbeat_interval_ticks = s->p.heartbeat_interval_ticks;
	c->prevote = s->p.prevote;
	c->check_quorum = s->p.check_quorum;
	c->append_entries_max = s->p.append_entries_max;
	c->inflight_appends_max = s->p.inflight_appends_max;
	c->log_entries_max = s->p.log_entries_max;
	c->uncommitted_bytes_max = 64u * 1024;
	c->snapshot_timeout_ticks = s->p.snapshot_timeout_ticks;
	/* A promoted learner must be nearly caught up, or a slow one joins
	 * the quorum and stalls commits (the rule under test). */
	c->promote_lag_entries_max = 16;
	c->seed = s->p.seed * 1000003u + n->id * 7919u + n->restarts;
}

static void sim_schedule_tick(struct sim *s, struct sim_node *n, uint64_t at_us)
{
	struct sim_event ev = {
		.time_us = at_us, .kind = SIM_EV_TICK, .node = n->id, .epoch = n->epoch};
	sim_push(s, &ev);
}

/*
 * Where the core's window starts after a restart: the whole log if it fits
 * (raft_create), else a tail (raft_create_from). The floor may not be above
 * the commit hint (everything below it must be committed), and the tail
 * must fit the window with room for a no-op. With restart_tail a node
 * sometimes loads a tail even when the whole log would fit. With a
 * snapshot, the floor is at or above its index (committed: it may be above
 * the lazily saved hint; the log goes on after it). Returns false when no
 * floor satisfies both: the uncommitted tail outgrew the window.
 */
static bool sim_node_floor(struct sim *s, struct sim_node *n, const struct raft_config *cfg,
			   raft_index *prev_index)
{
	uint64_t tail_max = cfg->log_entries_max - 1u;
	raft_index lo = n->wlog_count > tail_max ? n->wlog_count - tail_max : 0;
	raft_index hi = rn_min_u64(n->commit_hint, n->wlog_count);

	RN_ASSERT(n->snap.index <= n->wlog_count);
	lo = rn_max_u64(lo, n->snap.index);
	hi = rn_max_u64(hi, rn_max_u64(n->snap.index, rn_min_u64(n->fill_index, n->wlog_count)));

	if (lo > hi) {
		check_violation(s, "Recovery",
				"n%u cannot restart: its log ends at %llu, only %llu is known "
				"committed, and the window holds %llu entries",
				n->id, (unsigned long long)n->wlog_count,
				(unsigned long long)n->commit_hint, (unsigned long long)tail_max);
		return false;
	}
	/* A real node restarts at its hint: what it knows committed. A floor
	 * below it forgets commit knowledge, and a window full of entries not
	 * known committed leaves a leader no room for its no-op. */
	*prev_index = lo > 0 ? hi : 0;
	if (s->p.restart_tail && hi > lo && sim_chance(s, 500)) {
		raft_index near = hi > cfg->log_entries_max / 8 ? hi - cfg->log_entries_max / 8 : 0;
		*prev_index = sim_rand_range(s, rn_max_u64(lo, near), hi);
	}
	return true;
}

static void sim_node_start(struct sim *s, struct sim_node *n)
{
	struct raft_config cfg;
	raft_index prev_index = 0;

	sim_node_config(s, n, &cfg);
	if (!sim_disk_open(s, n) || !sim_steps_recover(s, n) ||
	    !sim_node_floor(s, n, &cfg, &prev_index)) {
		return; /* refuses to start (damaged log), or a violation */
	}
	/* The configuration at the floor (MEMBERSHIP CONTRACT): the core
	 * replays the config entries of the tail itself. */
	struct raft_membership conf;
	sim_member_floor(s, n, prev_index, &conf);
	cfg.members_count = conf.voters_count;
	memcpy(cfg.members, conf.voters, sizeof(cfg.members));
	cfg.learners_count = conf.learners_count;
	memcpy(cfg.learners, conf.learners, sizeof(cfg.learners));
	int rc;
	if (prev_index == 0) {
		rc = raft_create(&cfg, &n->hard_state, n->dlog, n->wlog_count, &n->raft);
	} else {
		s->tail_restarts++;
		sim_log(s, SIM_STORY, "n%u loads entries %llu..%llu of its log (committed below)",
			n->id, (unsigned long long)prev_index + 1,
			(unsigned long long)n->wlog_count);
		rc = raft_create_from(&cfg, &n->hard_state, prev_index, n->dlog[prev_index - 1].term,
				      &n->dlog[prev_index], n->wlog_count - prev_index, &n->raft);
	}
	if (rc != 0) {
		check_violation(s, "Recovery", "n%u cannot restart from its durable state: %s",
				n->id, raft_strerror(rc));
		return;
	}
#ifdef RAFT_PLANTED_BUGS
	if (s->p.planted_bug != 0) {
		raft_plant_bug(n->raft, s->p.planted_bug);
	}
#endif
	n->up = true;
	n->role = RAFT_FOLLOWER;
	n->leader_id = RAFT_NODE_NONE;
	n->term = raft_current_term(n->raft);
	/* Ticks start at a random phase so that nodes do not tick in step. */
	sim_schedule_tick(s, n, s->now_us + sim_rand_range(s, 1, n->tick_us));
	/* The state machine from the snapshot, then the log after it. */
	sim_snap_restore(s, n);
}


static void sim_story_role(struct sim *s, struct sim_node *n, const struct raft_update *u)
{
	if (u->role == n->role && u->leader_id == n->leader_id && u->term == n->term) {
		return;
	}
	const char *host = "";
	char host_buf[24] = "";
	if (n->host != 0) {
		snprintf(host_buf, sizeof(host_buf), " (host %u)", n->host);
		host = host_buf;
	}
	if (u->role == RAFT_LEADER && n->role != RAFT_LEADER) {
		s->elections++;
		sim_log(s, SIM_STORY, "n%u%s becomes LEADER of term %llu (log ends at %llu)", n->id,
			host, (unsigned long long)u->term,
			(unsigned long long)raft_last_index(n->raft));
		if (s->on_leader != NULL) {
			s->on_leader(s, n->id);
		}
	} else if (n->role == RAFT_LEADER && u->role != RAFT_LEADER && u->term == n->term) {
		sim_log(s, SIM_STORY,
			"n%u%s steps down in term %llu: no contact with a majority (CheckQuorum)", n->id,
			host, (unsigned long long)u->term);
	} else if (n->role == RAFT_LEADER && u->role != RAFT_LEADER) {
		sim_log(s, SIM_STORY, "n%u%s steps down: leader of term %llu -> follower in term %llu",
			n->id, host, (unsigned long long)n->term, (unsigned long long)u->term);
	} else if (u->role == RAFT_CANDIDATE && (n->role != RAFT_CANDIDATE || u->term != n->term)) {
		sim_log(s, SIM_STORY, "n%u%s starts an election for term %llu", n->id, host,
			(unsigned long long)u->term);
		if (s->on_candidate != NULL) {
			s->on_candidate(s, n->id);
		}
	} else if (sim_tracing(s)) {
		sim_log(s, SIM_TRACE, "n%u %s term %llu leader n%u", n->id,
			raft_role_name((enum raft_role)u->role), (unsigned long long)u->term,
			u->leader_id);
	}
	n->role = u->role;
	n->leader_id = u->leader_id;
	n->term = u->term;
}

static void sim_apply(struct sim *s, struct sim_node *n, raft_index commit_index)
{
	raft_index first = n->applied_index + 1;
	raft_index committed_before = s->committed_count;
	uint64_t acked_before = s->writes_acked;
	for (raft_index i = first; i <= commit_index && !s->violated; i++) {
		struct raft_entry e;
		/* Below the window (after a restart from a tail) the entries
		 * come from the durable log, as they would for a real node. */
		if (!sim_node_entry(n, i, &e)) {
			check_violation(s, "State Machine Safety",
					"n%u must apply %llu but its log does not hold it", n->id,
					(unsigned long long)i);
			return;
		}
		check_applied(s, n, &e);
		n->applied_index = i;
		n->sm_digest = sim_digest_next(n->sm_digest, &e);
		if (e.type == RAFT_ENTRY_CONFIG) {
			raft_membership_apply(&n->sm_conf, e.payload);
		}
		if (i > s->conf_committed_index) {
			s->conf_committed_index = i;
			if (e.type == RAFT_ENTRY_CONFIG &&
			    raft_membership_apply(&s->conf_committed, e.payload) &&
			    RAFT_CONF_OP(e.payload) == RAFT_CONF_REMOVE) {
				s->removed_mask |= 1u << RAFT_CONF_ID(e.payload);
			}
		}
	}
	if (s->committed_count > committed_before && !s->violated) {
		check_commit_safe(s, s->committed_count);
	}
	if (n->role == RAFT_LEADER && commit_index >= first) {
		sim_log(s, SIM_STORY, "n%u (leader, term %llu) commits %llu..%llu", n->id,
			(unsigned long long)n->term, (unsigned long long)first,
			(unsigned long long)commit_index);
	} else if (commit_index >= first) {
		sim_log(s, SIM_TRACE, "n%u applies %llu..%llu", n->id, (unsigned long long)first,
			(unsigned long long)commit_index);
	}
	if (s->writes_acked > acked_before) {
		sim_log(s, SIM_STORY, "client <- n%u: %llu write(s) acknowledged", n->id,
			(unsigned long long)(s->writes_acked - acked_before));
	}
}


/* Carries out one update in the order of the contract in consensus.h. */
static void sim_node_process(struct sim *s, struct sim_node *n, const struct raft_update *u)
{
	bool voted = (u->flags & RAFT_UPDATE_HARD_STATE) && u->hard_state.vote != RAFT_NODE_NONE &&
		     u->hard_state.vote != n->id &&
		     (u->hard_state.vote != n->hard_state.vote ||
		      u->hard_state.term != n->hard_state.term);
	/* 1. Hard state durable before any message of this update leaves;
	 * 2. truncation and write handed to the log (durable later). A log
	 * that fails stops the node here: nothing of this update is sent. */
	if (!sim_disk_write(s, n, u)) {
		sim_fail_stop(s, n);
		return;
	}
	/* 2. An install: the state machine and the log reset (sim_snap.c). */
	uint32_t epoch_before = n->epoch;
	if ((u->flags & RAFT_UPDATE_SNAPSHOT) && !sim_snap_install(s, n, &u->snapshot)) {
		if (!s->violated) {
			sim_fail_stop(s, n);
		}
		return;
	}
	if (!n->up || n->epoch != epoch_before) {
		return; /* it crashed at a step of the install (sim_steps.c) */
	}
	/* 3. Messages, in parallel with the write. An append the core could
	 * not fill (below its window) is filled from the durable log first,
	 * or dropped if that fails (the core resends). */
	for (uint32_t i = 0; i < u->msgs_count; i++) {
		const struct raft_message *m = &u->msgs[i];
		if (m->type == RAFT_MSG_APPEND && m->append.from_storage) {
			struct raft_entry entries[RAFT_BATCH_ENTRIES_MAX];
			struct raft_message filled = *m;
			if (sim_disk_fill_append(s, n, &filled, entries, RN_ARRAY_COUNT(entries))) {
				sim_send(s, n->id, &filled);
			}
			if (s->violated) {
				return;
			}
			continue;
		}
		if (m->type == RAFT_MSG_SNAPSHOT) {
			uint64_t digest;
			if (sim_snap_offer_digest(s, n, m->snapshot.meta.index,
						  m->snapshot.meta.term, &digest)) {
				s->snapshot_offers++;
				sim_send_snapshot(s, n->id, m, digest);
			}
			continue;
		}
		sim_send(s, n->id, m);
	}
	sim_story_role(s, n, u);
	if (voted && s->on_vote != NULL) {
		s->on_vote(s, n->id);
	}
	/* 5. Read states: each must be at least as new as every commit known
	 * when its read began. */
	for (uint32_t i = 0; i < u->read_states_count; i++) {
		check_read(s, n, &u->read_states[i]);
	}
	/* 4. Apply what is committed, then tell the core (it frees slots). */
	if (u->commit_index > n->applied_index) {
		sim_apply(s, n, u->commit_index);
		if (!s->violated && !sim_disk_save_hint(s, n)) {
			sim_fail_stop(s, n);
			return;
		}
		struct raft_event ev = {.type = RAFT_EVENT_APPLIED};
		ev.applied.index = n->applied_index;
		uint32_t epoch = n->epoch;
		sim_node_step(s, n, &ev, NULL);
		if (n->up && n->epoch == epoch) {
			sim_snap_maybe_take(s, n);
		}
	}
}

/* What the log reported durable goes to the core as PERSISTED events,
 * outside any other step (the log reports from inside its own calls). */
static void sim_node_drain(struct sim *s, struct sim_node *n)
{
	raft_index index;
	raft_term term;
	uint32_t epoch = n->epoch;
	while (n->up && n->epoch == epoch && !s->violated &&
	       sim_disk_take_report(n, &index, &term)) {
		if (sim_tracing(s)) {
			sim_log(s, SIM_TRACE, "n%u disk: durable up to %llu/t%llu", n->id,
				(unsigned long long)index, (unsigned long long)term);
		}
		struct raft_event ev = {.type = RAFT_EVENT_PERSISTED};
		ev.persisted.index = index;
		ev.persisted.term = term;
		sim_node_step(s, n, &ev, NULL);
	}
	/* The hint is capped at the durable index: entries applied before
	 * they were durable here raise it now. */
	if (n->up && n->epoch == epoch && !s->violated && !sim_disk_save_hint(s, n)) {
		sim_fail_stop(s, n);
	}
}

void sim_node_step(struct sim *s, struct sim_node *n, struct raft_event *ev, int *rc_out)
{
	struct raft_update u;
	uint8_t role_before = (uint8_t)raft_role(n->raft);
	raft_term term_before = raft_current_term(n->raft);
	raft_index last_before = raft_last_index(n->raft);
	raft_term last_term_before = raft_log_term(n->raft, last_before);

	int rc = raft_step(n->raft, ev, &u);
	s->steps++;
	if (rc_out != NULL) {
		*rc_out = rc;
	}
	if ((u.flags & RAFT_UPDATE_HARD_STATE) && u.hard_state.vote != RAFT_NODE_NONE) {
		/* Every vote cast, kept before the leader check reads them (a
		 * lone voter votes for itself and leads in one step). */
		struct sim_vote *last =
			n->votes_cast_next > 0
				? &n->votes_cast[(n->votes_cast_next - 1) % SIM_VOTES_KEPT]
				: NULL;
		if (last == NULL || last->term != u.hard_state.term) {
			last = &n->votes_cast[n->votes_cast_next++ % SIM_VOTES_KEPT];
		}
		*last = (struct sim_vote){.term = u.hard_state.term, .cand = u.hard_state.vote};
	}
	check_after_step(s, n, &u, role_before, term_before, last_before);
	if (s->violated) {
		return;
	}
	s->step_depth++;
	if (u.flags & RAFT_UPDATE_TRUNCATE) {
		sim_log(s, SIM_STORY,
			"n%u rolls back uncommitted entries %llu..%llu (last of term %llu) and takes "
			"n%u's log",
			n->id, (unsigned long long)u.truncate_index, (unsigned long long)last_before,
			(unsigned long long)last_term_before, u.leader_id);
	}
	/* Before the update is carried out: the steps it causes (APPLIED)
	 * must see this one's configuration tracked. */
	if (s->p.membership) {
		sim_member_after_process(s, n, &u);
		if (s->violated) {
			s->step_depth--;
			return;
		}
	}
	sim_node_process(s, n, &u);
	if (--s->step_depth == 0) {
		sim_node_drain(s, n);
	}
}

void sim_step_external(struct sim *s, raft_node_id id, struct raft_event *ev)
{
	RN_ASSERT(s->nodes[id].up);
	sim_node_step(s, &s->nodes[id], ev, NULL);
}

void sim_core_rejects(const struct sim *s, uint64_t *taken, uint64_t *stale)
{
	*taken = s->crashed_rejects_taken;
	*stale = s->crashed_rejects_stale;
	for (raft_node_id id = 1; id <= s->nodes_total; id++) {
		const struct sim_node *n = &s->nodes[id];
		if (n->up && n->raft != NULL) {
			struct raft_counters k;
			raft_get_counters(n->raft, &k);
			*taken += k.append_rejects_taken;
			*stale += k.append_rejects_stale;
		}
	}
}

void sim_crash(struct sim *s, raft_node_id id)
{
	struct sim_node *n = &s->nodes[id];
	if (!n->up) {
		return;
	}
	struct raft_counters k;
	raft_get_counters(n->raft, &k);
	s->crashed_rejects_taken += k.append_rejects_taken;
	s->crashed_rejects_stale += k.append_rejects_stale;
	raft_destroy(n->raft);
	n->raft = NULL;
	n->up = false;
	n->epoch++;
	n->role = 0;
	if (n->installing.index != 0) {
		s->crashes_installing++;
	}
	n->staged = (struct sim_snap){0};    /* a transfer in memory: gone */
	n->installing = (struct sim_snap){0}; /* not durable yet: gone */
	sim_disk_crash(n); /* not yet durable: lost, the last write maybe torn */
	s->crashes++;
	sim_log(s, SIM_STORY, "n%u CRASHES (durable log ends at %llu, term %llu)", id,
		(unsigned long long)n->dlog_count, (unsigned long long)n->hard_state.term);
}

void sim_restart(struct sim *s, raft_node_id id)
{
	struct sim_node *n = &s->nodes[id];
	if (n->up || n->failed) {
		return;
	}
	n->restarts++;
	sim_node_start(s, n);
	if (n->up) {
		sim_log(s, SIM_STORY, "n%u restarts with %llu durable entries, term %llu", id,
			(unsigned long long)n->dlog_count, (unsigned long long)n->hard_state.term);
	}
}

void sim_restart_at(struct sim *s, raft_node_id id, uint64_t at_us)
{
	struct sim_event ev = {.time_us = at_us, .kind = SIM_EV_RESTART, .node = id,
			       .epoch = s->nodes[id].epoch};
	sim_push(s, &ev);
}

/* A log failure stops the node (fail-stop): a supervisor restarts it a
 * little later, and recovery decides what it still has. */
void sim_fail_stop(struct sim *s, struct sim_node *n)
{
	sim_crash(s, n->id);
	sim_restart_at(s, n->id, s->now_us + sim_rand_range(s, 10000, 500000));
}

void sim_schedule_disk_poll(struct sim *s, struct sim_node *n, uint64_t at_us)
{
	struct sim_event ev = {.time_us = at_us, .kind = SIM_EV_DISK, .node = n->id,
			       .epoch = n->epoch};
	sim_push(s, &ev);
}

/* ---- events ----------------------------------------------------------------- */

static void sim_dispatch(struct sim *s, struct sim_event *ev)
{
	struct sim_node *n = ev->node != 0 ? &s->nodes[ev->node] : NULL;

	switch (ev->kind) {
	case SIM_EV_TICK:
		if (n->up && n->epoch == ev->epoch) {
			struct raft_event re = {.type = RAFT_EVENT_TICK};
			sim_node_step(s, n, &re, NULL);
			if (n->up && n->epoch == ev->epoch) {
				sim_schedule_tick(s, n, s->now_us + n->tick_us);
			}
		}
		break;
	case SIM_EV_DELIVER:
		/* A cut stops what is sent after it; what is already on the
		 * wire still arrives (and arrives late, if it was held back). */
		if (n->up) {
			if (sim_tracing(s)) {
				char d[160];
				sim_describe_msg(&ev->msg, d, sizeof(d));
				sim_log(s, SIM_TRACE, "n%u <- n%u %s", ev->msg.to, ev->msg.from, d);
			}
			if (ev->msg.type == RAFT_MSG_SNAPSHOT) {
				/* The transfer is done: the offered state is staged. */
				n->staged = (struct sim_snap){.index = ev->msg.snapshot.meta.index,
							      .term = ev->msg.snapshot.meta.term,
							      .digest = ev->snap_digest};
			}
			struct raft_event re = {.type = RAFT_EVENT_RECEIVE};
			re.receive = ev->msg;
			bool append = ev->msg.type == RAFT_MSG_APPEND && n->raft != NULL;
			raft_index commit_before = append ? raft_commit_index(n->raft) : 0;
			sim_node_step(s, n, &re, NULL);
			if (append) {
				check_append_commit(s, n, &ev->msg, commit_before);
			}
		} else {
			s->msgs_dropped++;
		}
		free(ev->entries);
		break;
	case SIM_EV_DISK:
		if (n->up && n->epoch == ev->epoch) {
			if (!sim_disk_poll(s, n)) {
				sim_fail_stop(s, n);
			} else {
				sim_node_drain(s, n);
			}
		}
		break;
	case SIM_EV_INSTALLED:
		if (n->up && n->epoch == ev->epoch) {
			sim_snap_installed(s, n, ev->msg.snapshot.meta.index);
		}
		break;
	case SIM_EV_RESTART:
		if (!n->up && n->epoch == ev->epoch) {
			sim_restart(s, ev->node);
		}
		break;
	case SIM_EV_HOOK:
		if (s->hook != NULL) {
			s->hook(s, ev->hook_kind);
		}
		break;
	default:
		RN_ASSERT(0 && "unknown event");
	}
}

bool sim_run_until(struct sim *s, uint64_t until_us, bool (*stop)(struct sim *s, void *arg),
		   void *arg)
{
	while (!s->violated && s->heap_count > 0 && s->heap[0].time_us <= until_us) {
		struct sim_event ev;
		sim_pop(s, &ev);
		RN_ASSERT(ev.time_us >= s->now_us);
		s->now_us = ev.time_us;
		sim_dispatch(s, &ev);
		if (stop != NULL && stop(s, arg)) {
			return !s->violated;
		}
	}
	if (!s->violated && s->now_us < until_us) {
		s->now_us = until_us;
	}
	return !s->violated;
}

/* ---- life cycle ------------------------------------------------------------ */

void sim_params_default(struct sim_params *p, uint32_t nodes_count, uint64_t seed)
{
	*p = (struct sim_params){
		.nodes_count = nodes_count,
		.seed = seed,
		.tick_us = 10000,
		.election_timeout_ticks = 10,
		.heartbeat_interval_ticks = 2,
		.prevote = true,
		.check_quorum = true,
		.append_entries_max = 64,
		.inflight_appends_max = 8,
		.log_entries_max = 1u << 14,
		.delay_dist = SIM_DELAY_FIXED,
		.delay_base_us = 500,
		.disk_latency_us_min = 100,
		.disk_latency_us_max = 1000,
		.snapshot_entries = 256,
		.compact_margin_max = 64,
		.snapshot_timeout_ticks = 30,
		.install_latency_us_max = 5000,
	};
}

struct sim *sim_new(const struct sim_params *p, int verbosity, FILE *out)
{
	RN_ASSERT(p->nodes_count >= 1 && p->nodes_count <= SIM_NODES_MAX);
	struct sim *s = calloc(1, sizeof(*s));
	RN_ASSERT(s != NULL);
	s->p = *p;
	s->rng = p->seed * 0x2545f4914f6cdd1dull + 0x1234567ull;
	/* sim_steps.c's own stream, hashed from the seed: consecutive seeds
	 * must not share a stream shifted by one draw. */
	uint64_t steps_seed = p->seed ^ 0x57e957e957e9ull;
	s->rng_steps = rn_splitmix64(&steps_seed);
	s->verbosity = verbosity;
	s->out = out;
	s->nodes_total = p->membership ? SIM_NODES_MAX : p->nodes_count;
	sim_initial_conf(s, &s->conf_committed);
	for (raft_node_id id = 1; id <= s->nodes_total; id++) {
		struct sim_node *n = &s->nodes[id];
		n->id = id;
		n->skew_ppm = 0;
		if (p->skew_ppm_max > 0) {
			n->skew_ppm = (int64_t)sim_rand_range(s, 0, 2 * p->skew_ppm_max) -
				      (int64_t)p->skew_ppm_max;
		}
		n->tick_us = (uint32_t)((int64_t)p->tick_us +
					(int64_t)p->tick_us * n->skew_ppm / 1000000);
		sim_disk_init(s, n);
		sim_node_start(s, n);
	}
	return s;
}

void sim_free(struct sim *s)
{
	if (s == NULL) {
		return;
	}
	for (raft_node_id id = 1; id <= s->nodes_total; id++) {
		struct sim_node *n = &s->nodes[id];
		raft_destroy(n->raft);
		sim_disk_free(n);
		free(n->dlog);
	}
	for (uint32_t i = 0; i < s->heap_count; i++) {
		free(s->heap[i].entries);
	}
	free(s->heap);
	free(s->writes);
	free(s->reads);
	check_free(s);
	free(s);
}
