/* SPDX-License-Identifier: MIT */
/*
 * sim_chaos.c - one random run of one seed, as raftsim --seeds does it.
 *
 * The seed picks this run's fault intensities (delay distribution, loss,
 * duplication, reordering, clock skew, disk latency), so that 2,000 seeds
 * cover calm and hostile networks alike. Until time_ms - quiet, a fault
 * timer splits and heals the network (symmetric splits, isolations, one-way
 * cuts), crashes nodes (losing what their disks had not made durable) and
 * restarts them, fails their disks' syncs and flips bits in stopped logs,
 * moves leadership (TimeoutNow), while clients propose batches and issue ReadIndex reads at
 * random nodes. Some seeds give the core a small log window (64-256
 * entries): restarts then load a tail of the log from the commit hint, and
 * leaders feed lagging followers from their durable logs. With snapshots
 * on (the default), nodes snapshot and compact their logs as they apply,
 * and leaders offer their snapshots to followers whose next entry is
 * compacted away (sim_snap.c). Then everything heals: the cluster must elect a leader
 * within LIVENESS_LEADER_MS, commit a probe write on every node, and end
 * with identical logs that hold every acknowledged write.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "sim.h"
#include "storage.h" /* STORE_DIRECT_ALIGN_BYTES */

enum chaos_hook {
	CHAOS_HOOK_FAULT = 1,
	CHAOS_HOOK_CLIENT = 2,
	CHAOS_HOOK_HEAL = 3,
	CHAOS_HOOK_PROBE = 4,
	CHAOS_HOOK_LEADER_DEADLINE = 5,
	CHAOS_HOOK_BLIP = 6,	/* node id in bits 8.. */
	CHAOS_HOOK_ISOLATE = 7, /* node id in bits 8.. */
	CHAOS_HOOK_MEMBER = 8,	/* a membership change (sim_member.c) */
};
#define CHAOS_HOOK_KIND_MASK 0xffu
_Static_assert(CHAOS_HOOK_MEMBER <= CHAOS_HOOK_KIND_MASK, "kinds fit bits 0..7");
_Static_assert(RAFT_NODES_MAX < 32, "a node id from bits 8.. makes a uint32_t side mask");

/* After the heal: a leader within this, then the probe committed by the end. */
#define LIVENESS_LEADER_MS 3000u
/* ... and be settled (probe applied everywhere, logs identical) within
 * this of the heal, however slow the seed's configuration. */
#define LIVENESS_SETTLE_MS 60000u
/* Clients stop proposing past this log length (it bounds a run's memory
 * and time; logs longer than the window restart from a tail). */
#define CHAOS_LOG_ENTRIES_MAX 9000u

struct chaos {
	const struct chaos_opts *o;
	uint64_t heal_us;
	bool healed;
	uint64_t leader_seen_us;
	uint64_t probe_payload; /* 0 = none proposed yet */
	raft_node_id probe_node;
	raft_term probe_term;
};

uint64_t chaos_quiet_ms(uint64_t time_ms)
{
	return time_ms >= 10000 ? 5000 : time_ms / 2;
}

/* Per-seed intensities, from a PRNG of their own so that they do not shift
 * the run's stream. */
static void chaos_params(struct sim_params *p, const struct chaos_opts *o, uint64_t seed)
{
	struct sim pick = {.rng = seed ^ 0x5eed5eed5eedull};
	static const uint32_t loss[] = {0, 5, 20, 80, 200};
	static const uint32_t dup[] = {0, 20, 100};
	static const uint32_t reorder[] = {0, 10, 50, 150};
	static const uint32_t disk_max_us[] = {300, 2000, 10000, 40000};

	sim_params_default(p, o->nodes_count, seed);
	p->faults = o->faults;
	p->planted_bug = o->planted_bug;
	p->planted_ack_unsynced = o->planted_ack_unsynced;
	p->planted_snap_unsynced = o->planted_snap_unsynced;
	p->planted_install_unsynced = o->planted_install_unsynced;
	p->disk_write_align_bytes = o->disk_blocks ? STORE_DIRECT_ALIGN_BYTES : 0;
	if (o->faults & SIM_FAULT_DELAY) {
		p->delay_dist = (uint8_t)sim_rand_range(&pick, SIM_DELAY_UNIFORM, SIM_DELAY_LONGTAIL);
		p->delay_base_us = (uint32_t)sim_rand_range(&pick, 100, 3000);
	}
	if (o->faults & SIM_FAULT_LOSS) {
		p->loss_per_mille = loss[sim_rand(&pick) % RN_ARRAY_COUNT(loss)];
	}
	if (o->faults & SIM_FAULT_DUP) {
		p->dup_per_mille = dup[sim_rand(&pick) % RN_ARRAY_COUNT(dup)];
	}
	if (o->faults & SIM_FAULT_REORDER) {
		p->reorder_per_mille = reorder[sim_rand(&pick) % RN_ARRAY_COUNT(reorder)];
	}
	if (o->faults & SIM_FAULT_SKEW) {
		p->skew_ppm_max = (uint32_t)sim_rand_range(&pick, 0, 100000);
	}
	/* The core must be safe in every configuration, not only the default
	 * one: without PreVote, competing candidates are far more common. */
	p->prevote = sim_chance(&pick, 600);
	p->check_quorum = sim_chance(&pick, 700);
	/* Small batches and windows split a new leader's catch-up into many
	 * appends: the window in which a commit rule can go wrong. */
	static const uint32_t batch[] = {1, 4, 64};
	static const uint32_t window[] = {1, 8, 64};
	p->append_entries_max = batch[sim_rand(&pick) % RN_ARRAY_COUNT(batch)];
	p->inflight_appends_max = window[sim_rand(&pick) % RN_ARRAY_COUNT(window)];
	if (o->faults & SIM_FAULT_DISK) {
		p->tear_ppm = 500000; /* half the crashes tear the last write */
	}
	p->disk_latency_us_min = 50;
	p->disk_latency_us_max = disk_max_us[sim_rand(&pick) % RN_ARRAY_COUNT(disk_max_us)];
	/* A small log window (at least four batches): logs outgrow it within
	 * seconds, so restarts load a tail (raft_create_from), leaders release
	 * past followers that are down and feed them from their durable logs
	 * (from_storage appends). Some runs load tails even when all fits. */
	static const uint32_t log_window[] = {64, 128, 256};
	if (sim_chance(&pick, 300)) {
		uint32_t w = log_window[sim_rand(&pick) % RN_ARRAY_COUNT(log_window)];
		while (w < 4 * p->append_entries_max) {
			w *= 2;
		}
		p->log_entries_max = w;
	}
	p->restart_tail = sim_chance(&pick, 400);
	/* Snapshots (drawn last, so that the draws above do not move):
	 * frequent or rare, compaction right at the snapshot or far below,
	 * installs durable at once or after a slow write, and offers
	 * repeated soon or late. A small window more often, so that
	 * followers fall below leaders' windows and compaction points. */
	static const uint32_t snap_entries[] = {8, 32, 128, 512};
	static const uint32_t margin[] = {0, 8, 64, 512};
	static const uint32_t install_us[] = {200, 5000, 100000};
	p->snapshots = !o->snapshots_off;
	p->snapshot_entries = o->snapshot_entries != 0
				      ? o->snapshot_entries
				      : snap_entries[sim_rand(&pick) % RN_ARRAY_COUNT(snap_entries)];
	p->compact_margin_max = margin[sim_rand(&pick) % RN_ARRAY_COUNT(margin)];
	p->install_latency_us_max = install_us[sim_rand(&pick) % RN_ARRAY_COUNT(install_us)];
	p->snapshot_timeout_ticks = p->election_timeout_ticks * (uint32_t)sim_rand_range(&pick, 2, 8);
	/* No draw: runs with membership off replay as before. */
	p->membership = !o->membership_off;
	if (p->snapshots && p->log_entries_max > 256 && sim_chance(&pick, 300)) {
		uint32_t w = log_window[sim_rand(&pick) % RN_ARRAY_COUNT(log_window)];
		while (w < 4 * p->append_entries_max) {
			w *= 2;
		}
		p->log_entries_max = w;
	}
	/* Crashes at the steps of snapshot writes, compactions and installs
	 * (sim_steps.c), drawn after all else: half the seeds have none and
	 * replay as before; the others crash at one step of 1 % or 5 % of
	 * those operations. */
	static const uint32_t step_crash[] = {0, 0, 10, 50};
	if (p->snapshots && (o->faults & SIM_FAULT_CRASH)) {
		p->step_crash_per_mille = step_crash[sim_rand(&pick) % RN_ARRAY_COUNT(step_crash)];
		p->step_forced = o->step_forced;
	}
}

static raft_node_id chaos_random_node(struct sim *s, bool up_only)
{
	raft_node_id pick[SIM_NODES_MAX];
	uint32_t count = 0;
	for (raft_node_id id = 1; id <= s->p.nodes_count; id++) {
		if (!up_only || s->nodes[id].up) {
			pick[count++] = id;
		}
	}
	return count == 0 ? RAFT_NODE_NONE : pick[sim_rand(s) % count];
}

static void chaos_split(struct sim *s, uint32_t side_mask)
{
	char a[64] = "", b[64] = "";
	size_t la = 0, lb = 0;
	for (raft_node_id x = 1; x <= s->p.nodes_count; x++) {
		bool in_a = side_mask & (1u << x);
		if (in_a) {
			la += (size_t)snprintf(a + la, sizeof(a) - la, " n%u", x);
		} else {
			lb += (size_t)snprintf(b + lb, sizeof(b) - lb, " n%u", x);
		}
		for (raft_node_id y = 1; y <= s->p.nodes_count; y++) {
			bool y_in_a = side_mask & (1u << y);
			if (in_a != y_in_a) {
				sim_cut(s, x, y, true);
			}
		}
	}
	sim_log(s, SIM_STORY, "fault: partition {%s } | {%s }", a, b);
}

/* Bit rot in the middle of a stopped node's log: it must refuse to start.
 * At most (n - 1) / 2 nodes are damaged, so a majority can carry on. */
static void chaos_flip_bit(struct sim *s)
{
	uint32_t damaged = 0;
	raft_node_id pick[SIM_NODES_MAX];
	uint32_t count = 0;
	for (raft_node_id id = 1; id <= s->p.nodes_count; id++) {
		const struct sim_node *n = &s->nodes[id];
		damaged += n->damaged;
		if (!n->up && !n->damaged && !n->failed) {
			pick[count++] = id;
		}
	}
	if (count == 0 || damaged >= (s->p.nodes_count - 1) / 2) {
		return;
	}
	raft_node_id victim = pick[sim_rand(s) % count];
	/* With membership changes the voters may be fewer than nodes_count
	 * (a 7-node cluster shrunk to 2): a majority of the committed
	 * configuration's voters must stay undamaged, or no leader can ever
	 * be elected again (a liveness failure of the driver, not of the
	 * node). Checked after the draw: runs with membership off replay. */
	if (s->p.membership) {
		const struct raft_membership *m = &s->conf_committed;
		uint32_t healthy = 0;
		for (uint32_t i = 0; i < m->voters_count; i++) {
			const struct sim_node *v = &s->nodes[m->voters[i]];
			healthy += m->voters[i] != victim && !v->damaged && !v->failed;
		}
		if (healthy <= m->voters_count / 2) {
			return;
		}
	}
	(void)sim_disk_flip_bit(s, &s->nodes[victim]);
}

static void chaos_fault(struct sim *s)
{
	uint32_t faults = s->p.faults;
	uint64_t r = sim_rand(s) % 100;
	raft_node_id leader = sim_leader(s);
	uint32_t all = ((1u << (s->p.nodes_count + 1)) - 1) & ~1u;

	if (r < 25 && (faults & SIM_FAULT_PARTITION) && s->p.nodes_count > 1) {
		uint32_t mask;
		do {
			mask = (uint32_t)sim_rand(s) & all;
		} while (mask == 0 || mask == all);
		chaos_split(s, mask);
	} else if (r < 35 && (faults & SIM_FAULT_PARTITION) && leader != RAFT_NODE_NONE) {
		chaos_split(s, 1u << leader);
	} else if (r < 45 && (faults & SIM_FAULT_ASYM) && s->p.nodes_count > 1) {
		uint64_t cuts = sim_rand_range(s, 1, 3);
		for (uint64_t i = 0; i < cuts; i++) {
			raft_node_id from = chaos_random_node(s, false);
			raft_node_id to = chaos_random_node(s, false);
			if (from != to) {
				sim_cut(s, from, to, true);
				sim_log(s, SIM_STORY, "fault: one-way cut n%u -> n%u", from, to);
			}
		}
	} else if (r < 70 && (faults & SIM_FAULT_CRASH)) {
		raft_node_id victim = leader != RAFT_NODE_NONE && sim_chance(s, 500)
					      ? leader
					      : chaos_random_node(s, true);
		if (victim != RAFT_NODE_NONE) {
			sim_crash(s, victim);
			sim_restart_at(s, victim, s->now_us + sim_rand_range(s, 10000, 2000000));
		}
	} else if (r < 74 && (faults & SIM_FAULT_DISK)) {
		raft_node_id victim = chaos_random_node(s, true);
		if (victim != RAFT_NODE_NONE) {
			sim_log(s, SIM_STORY, "fault: n%u's disk will fail a sync", victim);
			sim_disk_fail_sync(s, &s->nodes[victim]);
		}
	} else if (r < 78 && (faults & SIM_FAULT_DISK)) {
		chaos_flip_bit(s);
	} else if (r < 83 && leader != RAFT_NODE_NONE && s->p.nodes_count > 1) {
		/* Leadership transfer under faults: TimeoutNow may be lost,
		 * late, or reach a node that is behind. */
		raft_node_id target = chaos_random_node(s, false);
		if (target != leader) {
			sim_log(s, SIM_STORY, "fault: n%u asked to hand leadership to n%u", leader,
				target);
			(void)sim_transfer(s, leader, target);
		}
	} else if (r < 92) {
		sim_heal(s);
		sim_log(s, SIM_STORY, "fault: heal the network");
	}
}

/* Any live node that believes it leads (clients with stale information
 * reach deposed leaders too), or RAFT_NODE_NONE. */
static raft_node_id chaos_some_leader(struct sim *s)
{
	raft_node_id pick[SIM_NODES_MAX];
	uint32_t count = 0;
	for (raft_node_id id = 1; id <= s->p.nodes_count; id++) {
		if (s->nodes[id].up && raft_role(s->nodes[id].raft) == RAFT_LEADER) {
			pick[count++] = id;
		}
	}
	return count == 0 ? RAFT_NODE_NONE : pick[sim_rand(s) % count];
}

/* A voter restarts in the middle of an election (its process blips): the
 * moment when forgetting a vote, or acknowledging what is not durable,
 * does the most harm. */
static void chaos_on_candidate(struct sim *s, raft_node_id candidate)
{
	struct chaos *c = s->driver;
	if (c == NULL || c->healed || (s->p.faults & SIM_FAULT_CRASH) == 0 || !sim_chance(s, 300)) {
		return;
	}
	raft_node_id victim = chaos_random_node(s, true);
	if (victim != RAFT_NODE_NONE && victim != candidate) {
		uint64_t at = s->now_us + sim_rand_range(s, 0, 3 * s->p.delay_base_us);
		sim_schedule_hook(s, at, CHAOS_HOOK_BLIP | (victim << 8));
	}
}

/* A voter's process restarts right after it granted a vote, while the
 * election may still be going on: a server that forgets its vote would
 * grant a second one in the same term. */
static void chaos_on_vote(struct sim *s, raft_node_id voter)
{
	struct chaos *c = s->driver;
	if (c == NULL || c->healed || (s->p.faults & SIM_FAULT_CRASH) == 0 || !sim_chance(s, 250)) {
		return;
	}
	sim_schedule_hook(s, s->now_us, CHAOS_HOOK_BLIP | (voter << 8));
}

/* A fresh leader is cut off right away, before its no-op or its clients'
 * writes reach anyone: this leaves higher-term entries on a minority, the
 * setting of the dissertation's Figure 3.7. */
static void chaos_on_leader(struct sim *s, raft_node_id leader)
{
	struct chaos *c = s->driver;
	if (c == NULL || c->healed || (s->p.faults & SIM_FAULT_PARTITION) == 0 ||
	    s->p.nodes_count < 3 || !sim_chance(s, 150)) {
		return;
	}
	uint64_t at = s->now_us + sim_rand_range(s, 0, 5 * s->p.delay_base_us);
	sim_schedule_hook(s, at, CHAOS_HOOK_ISOLATE | (leader << 8));
}

static void chaos_client(struct sim *s)
{
	raft_node_id leader = sim_leader(s);
	uint64_t r = sim_rand(s) % 100;
	raft_node_id target = r < 55 && leader != RAFT_NODE_NONE ? leader
			      : r < 80				 ? chaos_some_leader(s)
								 : chaos_random_node(s, true);
	if (target == RAFT_NODE_NONE) {
		return;
	}
	if (sim_chance(s, 150)) {
		(void)sim_read(s, target, NULL);
		return;
	}
	if (raft_last_index(s->nodes[target].raft) >= CHAOS_LOG_ENTRIES_MAX) {
		return;
	}
	(void)sim_propose(s, target, (uint32_t)sim_rand_range(s, 1, 4));
}

static void chaos_heal_all(struct sim *s, struct chaos *c)
{
	c->healed = true;
	c->heal_us = s->now_us;
	s->steps_off = true; /* no more crashes at snapshot steps either */
	s->p.loss_per_mille = 0;
	s->p.dup_per_mille = 0;
	s->p.reorder_per_mille = 0;
	sim_heal(s);
	sim_log(s, SIM_STORY, "heal: network whole, every node up; liveness checks begin");
	for (raft_node_id id = 1; id <= s->p.nodes_count; id++) {
		sim_restart(s, id);
	}
	sim_schedule_hook(s, s->now_us + 1000, CHAOS_HOOK_PROBE);
	sim_schedule_hook(s, s->now_us + LIVENESS_LEADER_MS * 1000ull, CHAOS_HOOK_LEADER_DEADLINE);
}

/* After the heal: propose one probe write at the leader (again if the
 * leader changes before it is acknowledged). */
static void chaos_probe(struct sim *s, struct chaos *c)
{
	raft_node_id leader = sim_leader(s);
	if (leader != RAFT_NODE_NONE && c->leader_seen_us == 0) {
		c->leader_seen_us = s->now_us;
	}
	bool acked = c->probe_payload != 0 && s->writes[c->probe_payload - 1].acked_us != 0;
	if (!acked && leader != RAFT_NODE_NONE &&
	    (c->probe_node != leader || c->probe_term != raft_current_term(s->nodes[leader].raft))) {
		/* The propose's write can fail-stop the leader (a disk fault):
		 * its core is gone then, and the next round tries again. */
		if (sim_propose(s, leader, 1) == 0 && s->nodes[leader].raft != NULL) {
			c->probe_payload = s->payload_next;
			c->probe_node = leader;
			c->probe_term = raft_current_term(s->nodes[leader].raft);
		}
	}
	sim_schedule_hook(s, s->now_us + 100000, CHAOS_HOOK_PROBE);
}

static void chaos_hook(struct sim *s, uint32_t kind)
{
	struct chaos *c = s->driver;
	uint64_t chaos_end_us = (c->o->time_ms - chaos_quiet_ms(c->o->time_ms)) * 1000;

	switch (kind & CHAOS_HOOK_KIND_MASK) {
	case CHAOS_HOOK_BLIP:
		if (!c->healed) {
			raft_node_id victim = kind >> 8;
			sim_crash(s, victim);
			sim_restart_at(s, victim,
				       s->now_us + sim_rand_range(s, 50, 2 * s->p.delay_base_us));
		}
		break;
	case CHAOS_HOOK_ISOLATE:
		if (!c->healed) {
			chaos_split(s, 1u << (kind >> 8));
		}
		break;
	case CHAOS_HOOK_FAULT:
		if (!c->healed) {
			chaos_fault(s);
			uint64_t next = s->now_us + sim_rand_range(s, 100000, 1500000);
			if (next < chaos_end_us) {
				sim_schedule_hook(s, next, CHAOS_HOOK_FAULT);
			}
		}
		break;
	case CHAOS_HOOK_CLIENT:
		if (!c->healed) {
			chaos_client(s);
			sim_schedule_hook(s, s->now_us + sim_rand_range(s, 1000, 40000),
					  CHAOS_HOOK_CLIENT);
		}
		break;
	case CHAOS_HOOK_MEMBER:
		if (!c->healed) {
			sim_member_step(s);
			uint64_t next = s->now_us + sim_rand_range(s, 50000, 600000);
			if (next < chaos_end_us) {
				sim_schedule_hook(s, next, CHAOS_HOOK_MEMBER);
			}
		}
		break;
	case CHAOS_HOOK_HEAL:
		chaos_heal_all(s, c);
		break;
	case CHAOS_HOOK_PROBE:
		chaos_probe(s, c);
		break;
	case CHAOS_HOOK_LEADER_DEADLINE:
		if (c->leader_seen_us == 0 && sim_leader(s) == RAFT_NODE_NONE) {
			check_violation(s, "Liveness", "no leader %u ms after every fault healed",
					LIVENESS_LEADER_MS);
		}
		break;
	default:
		RN_ASSERT(0 && "unknown hook");
	}
}

/* End of run: the probe is committed everywhere, logs are identical, and
 * every acknowledged write is in every log. */
static void chaos_final_checks(struct sim *s, struct chaos *c)
{
	if (c->probe_payload == 0 || s->writes[c->probe_payload - 1].acked_us == 0) {
		check_violation(s, "Liveness", "no write committed in the %llu ms after the heal",
				(unsigned long long)(s->now_us - c->heal_us) / 1000);
		return;
	}
	const struct sim_write *probe = &s->writes[c->probe_payload - 1];
	for (raft_node_id id = 1; id <= s->nodes_total; id++) {
		const struct sim_node *n = &s->nodes[id];
		if (n->failed || !sim_node_member(s, id)) {
			continue; /* refused to start: its peers carry on */
		}
		if (!n->up || n->applied_index < probe->index) {
			check_violation(s, "Liveness",
					"n%u has applied up to %llu at the end; the probe write "
					"committed at %llu",
					id, (unsigned long long)n->applied_index,
					(unsigned long long)probe->index);
			return;
		}
	}
	raft_index common = 0;
	if (!sim_logs_identical(s, &common)) {
		check_violation(s, "Liveness", "logs still differ at the end of the quiet period");
		return;
	}
	for (uint32_t i = 0; i < s->writes_count; i++) {
		const struct sim_write *w = &s->writes[i];
		if (w->acked_us == 0) {
			continue;
		}
		for (raft_node_id id = 1; id <= s->nodes_total; id++) {
			struct raft_entry e;
			if (!s->nodes[id].up || !sim_node_member(s, id)) {
				continue; /* failed for good (checked above) */
			}
			if (!sim_node_entry(&s->nodes[id], w->index, &e) ||
			    e.payload != w->payload) {
				check_violation(s, "Acknowledged Write Lost",
						"write %llu, acknowledged at %llu/t%llu, is not in "
						"n%u's log",
						(unsigned long long)w->payload,
						(unsigned long long)w->index,
						(unsigned long long)w->term, id);
				return;
			}
		}
	}
}

/* A healthy run takes a few thousand steps per simulated second; a message
 * storm (two servers answering each other without end, multiplied by
 * duplication) takes millions. Past this budget the run is a failure. */
#define CHAOS_STEPS_PER_SIM_MS_MAX 100u

/* The healed cluster has done its work: the probe write is applied on
 * every node that can run, and their logs are identical. */
static bool chaos_settled(struct sim *s, const struct chaos *c)
{
	if (c->probe_payload == 0 || s->writes[c->probe_payload - 1].acked_us == 0) {
		return false;
	}
	raft_index probe_index = s->writes[c->probe_payload - 1].index;
	for (raft_node_id id = 1; id <= s->nodes_total; id++) {
		const struct sim_node *n = &s->nodes[id];
		if (!sim_node_member(s, id)) {
			continue;
		}
		if (!n->failed && (!n->up || n->applied_index < probe_index)) {
			return false;
		}
	}
	return sim_logs_identical(s, NULL);
}

static bool chaos_over_budget(struct sim *s, void *arg);

static bool chaos_settle_stop(struct sim *s, void *arg)
{
	return chaos_over_budget(s, arg) || chaos_settled(s, arg);
}

static bool chaos_over_budget(struct sim *s, void *arg)
{
	(void)arg;
	if (s->steps <= (s->now_us / 1000 + 1000) * CHAOS_STEPS_PER_SIM_MS_MAX) {
		return false;
	}
	check_violation(s, "Liveness",
			"more than %u steps per simulated ms: a message storm (%llu messages "
			"sent)",
			CHAOS_STEPS_PER_SIM_MS_MAX, (unsigned long long)s->msgs_sent);
	return true;
}

struct sim *chaos_run(const struct chaos_opts *o, uint64_t seed, int verbosity, bool capture,
		      FILE *out)
{
	struct sim_params p;
	struct chaos *c = calloc(1, sizeof(*c));
	RN_ASSERT(c != NULL);
	c->o = o;
	chaos_params(&p, o, seed);
	struct sim *s = sim_new(&p, verbosity, out);
	s->capture = capture;
	s->driver = c;
	s->hook = chaos_hook;
	s->on_candidate = chaos_on_candidate;
	s->on_vote = chaos_on_vote;
	s->on_leader = chaos_on_leader;
	uint64_t time_us = o->time_ms * 1000;
	uint64_t chaos_end_us = time_us - chaos_quiet_ms(o->time_ms) * 1000;

	sim_schedule_hook(s, sim_rand_range(s, 100000, 1000000), CHAOS_HOOK_FAULT);
	sim_schedule_hook(s, sim_rand_range(s, 1000, 20000), CHAOS_HOOK_CLIENT);
	sim_schedule_hook(s, chaos_end_us, CHAOS_HOOK_HEAL);
	if (p.membership) {
		sim_schedule_hook(s, sim_rand_range(s, 100000, 800000), CHAOS_HOOK_MEMBER);
	}

	sim_assert_current = s;
	if (setjmp(sim_assert_jmp) == 0) {
		if (sim_run_until(s, time_us, chaos_over_budget, c) && !chaos_settled(s, c)) {
			/* A slow configuration (batches of one, a 40 ms disk)
			 * may still be working off its backlog: give it time,
			 * bounded, then judge. */
			sim_run_until(s, c->heal_us + LIVENESS_SETTLE_MS * 1000ull, chaos_settle_stop,
				      c);
		}
		if (!s->violated) {
			chaos_final_checks(s, c);
		}
	}
	sim_assert_current = NULL;
	s->driver = NULL;
	s->hook = NULL;
	s->on_candidate = NULL;
	s->on_vote = NULL;
	s->on_leader = NULL;
	free(c);
	return s;
}
