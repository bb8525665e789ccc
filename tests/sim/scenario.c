/* SPDX-License-Identifier: MIT */
/*
 * scenario.c - plays a scenario file on the simulator. One command a line;
 * '#' starts a comment. A NODE is a number, a name bound by `let`, or
 * `leader` (the live leader of the highest term). A GROUP is a list of
 * NODEs and `host H` terms, or `all`; after '|', `others` means every node
 * not on the left.
 *
 *   seed N                      PRNG seed (before `nodes`; default 1)
 *   delay D                     network delay, fixed (before `nodes`)
 *   disk D                      disk write latency, fixed (before `nodes`)
 *   nodes N                     create the cluster (1-9 nodes)
 *   host H = GROUP              label nodes with a host number
 *   let NAME = NODE             bind a name (e.g. let old = leader)
 *   say TEXT                    print a line of narration
 *   run D                       advance simulated time (D: 250ms, 2s, 800us)
 *   run until leader [in GROUP] run until such a leader exists (10 s max)
 *   run until identical         run until all live logs are identical (10 s max)
 *   partition GROUP | GROUP     cut every link between the two sides
 *   cut NODE -> NODE            cut one direction of one link
 *   heal                        restore every link
 *   propose NODE [COUNT]        a client writes COUNT entries through NODE
 *   read NODE                   a client starts a ReadIndex read at NODE
 *   crash NODE / restart NODE   crash (unsynced writes lost) / restart
 *   transfer NODE               the leader hands leadership to NODE
 *   timeout NODE                NODE's election timer fires now
 *   mark                        remember every node's commit index
 *   expect leader in GROUP      the live leader is in GROUP
 *   expect no leader in GROUP   no live node of GROUP is a leader
 *   expect commit unchanged on GROUP / expect commit advanced on GROUP
 *                               compared with the last `mark`
 *   expect read N pending / expect read N answered
 *   expect identical            all live logs are identical
 *   expect committed kept       every committed entry is in every log
 *
 * The simulator's checker runs after every step as in random runs: a
 * violated property fails the scenario like a failed expectation.
 */
#include "scenario.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "sim.h"

#define SCENARIO_TOKENS_MAX 32
#define SCENARIO_NAMES_MAX 16
#define SCENARIO_WAIT_US (10ull * 1000 * 1000)

struct scenario {
	const char *path;
	unsigned line_no;
	FILE *out;
	int verbosity;
	int planted_bug;
	struct sim_params p;
	struct sim *s;
	char *tok[SCENARIO_TOKENS_MAX];
	uint32_t tok_count;
	char names[SCENARIO_NAMES_MAX][32];
	raft_node_id name_ids[SCENARIO_NAMES_MAX];
	uint32_t names_count;
	raft_index mark[SIM_NODES_MAX + 1];
	bool failed;
};

static void scenario_error(struct scenario *sc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void scenario_error(struct scenario *sc, const char *fmt, ...)
{
	va_list ap;
	fprintf(sc->out, "%s:%u: error: ", sc->path, sc->line_no);
	va_start(ap, fmt);
	vfprintf(sc->out, fmt, ap);
	va_end(ap);
	fprintf(sc->out, "\n");
}

static void scenario_fail(struct scenario *sc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void scenario_fail(struct scenario *sc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sim_log(sc->s, SIM_QUIET, "EXPECTATION FAILED (line %u): %s", sc->line_no, msg);
	sc->failed = true;
}

static bool scenario_parse_duration(const char *t, uint64_t *us)
{
	char *end = NULL;
	unsigned long long v = strtoull(t, &end, 10);
	if (end == t) {
		return false;
	}
	if (strcmp(end, "us") == 0) {
		*us = v;
	} else if (strcmp(end, "ms") == 0) {
		*us = v * 1000;
	} else if (strcmp(end, "s") == 0) {
		*us = v * 1000000;
	} else {
		return false;
	}
	return true;
}

/* A NODE token: a number, a `let` name, or `leader`. 0 on error. */
static raft_node_id scenario_node(struct scenario *sc, const char *t)
{
	if (strcmp(t, "leader") == 0) {
		raft_node_id l = sim_leader(sc->s);
		if (l == RAFT_NODE_NONE) {
			scenario_error(sc, "'leader' used while there is no leader");
		}
		return l;
	}
	for (uint32_t i = 0; i < sc->names_count; i++) {
		if (strcmp(sc->names[i], t) == 0) {
			return sc->name_ids[i];
		}
	}
	char *end = NULL;
	unsigned long v = strtoul(t, &end, 10);
	if (end == t || *end != '\0' || v < 1 || v > sc->p.nodes_count) {
		scenario_error(sc, "'%s' is not a node (1..%u, a name, or leader)", t,
			       sc->p.nodes_count);
		return RAFT_NODE_NONE;
	}
	return (raft_node_id)v;
}

/* Parses a GROUP from tok[*i] up to `stop` (or the end) into a bit mask
 * of node ids. `left` is the other side, for `others`. */
static bool scenario_group(struct scenario *sc, uint32_t *i, const char *stop, uint32_t left,
			   uint32_t *mask)
{
	*mask = 0;
	while (*i < sc->tok_count && (stop == NULL || strcmp(sc->tok[*i], stop) != 0)) {
		const char *t = sc->tok[*i];
		if (strcmp(t, "all") == 0) {
			for (raft_node_id id = 1; id <= sc->p.nodes_count; id++) {
				*mask |= 1u << id;
			}
		} else if (strcmp(t, "others") == 0) {
			for (raft_node_id id = 1; id <= sc->p.nodes_count; id++) {
				if ((left & (1u << id)) == 0) {
					*mask |= 1u << id;
				}
			}
		} else if (strcmp(t, "host") == 0) {
			if (*i + 1 >= sc->tok_count) {
				scenario_error(sc, "'host' needs a number");
				return false;
			}
			unsigned long h = strtoul(sc->tok[++*i], NULL, 10);
			for (raft_node_id id = 1; id <= sc->p.nodes_count; id++) {
				if (sc->s->nodes[id].host == h) {
					*mask |= 1u << id;
				}
			}
		} else {
			raft_node_id id = scenario_node(sc, t);
			if (id == RAFT_NODE_NONE) {
				return false;
			}
			*mask |= 1u << id;
		}
		(*i)++;
	}
	if (*mask == 0) {
		scenario_error(sc, "empty group");
		return false;
	}
	return true;
}

static void scenario_group_str(const struct scenario *sc, uint32_t mask, char *buf, size_t cap)
{
	size_t off = 0;
	buf[0] = '\0';
	for (raft_node_id id = 1; id <= sc->p.nodes_count && off < cap; id++) {
		if (mask & (1u << id)) {
			off += (size_t)snprintf(buf + off, cap - off, "%sn%u", off ? " " : "", id);
		}
	}
}

static bool scenario_has_leader_in(struct sim *s, void *arg)
{
	uint32_t mask = *(uint32_t *)arg;
	raft_node_id l = sim_leader(s);
	return l != RAFT_NODE_NONE && (mask & (1u << l)) != 0;
}

static bool scenario_identical(struct sim *s, void *arg)
{
	(void)arg;
	raft_index common = 0;
	if (!sim_logs_identical(s, &common)) {
		return false;
	}
	for (raft_node_id id = 1; id <= s->p.nodes_count; id++) {
		if (s->nodes[id].up && s->nodes[id].applied_index != s->committed_count) {
			return false;
		}
	}
	return true;
}

static bool scenario_cmd_run(struct scenario *sc)
{
	uint64_t us = 0;
	if (sc->tok_count == 2 && scenario_parse_duration(sc->tok[1], &us)) {
		sim_run_until(sc->s, sc->s->now_us + us, NULL, NULL);
		return true;
	}
	if (sc->tok_count >= 3 && strcmp(sc->tok[1], "until") == 0) {
		uint64_t deadline = sc->s->now_us + SCENARIO_WAIT_US;
		if (strcmp(sc->tok[2], "leader") == 0) {
			uint32_t mask = ((1u << (sc->p.nodes_count + 1)) - 1) & ~1u;
			uint32_t i = 4;
			if (sc->tok_count > 3 &&
			    (strcmp(sc->tok[3], "in") != 0 ||
			     !scenario_group(sc, &i, NULL, 0, &mask))) {
				scenario_error(sc, "expected: run until leader [in GROUP]");
				return false;
			}
			if (!scenario_has_leader_in(sc->s, &mask)) {
				sim_run_until(sc->s, deadline, scenario_has_leader_in, &mask);
			}
			if (!sc->s->violated && !scenario_has_leader_in(sc->s, &mask)) {
				scenario_fail(sc, "no such leader within 10 s");
			}
			return true;
		}
		if (strcmp(sc->tok[2], "identical") == 0 && sc->tok_count == 3) {
			if (!scenario_identical(sc->s, NULL)) {
				sim_run_until(sc->s, deadline, scenario_identical, NULL);
			}
			if (!sc->s->violated && !scenario_identical(sc->s, NULL)) {
				scenario_fail(sc, "logs not identical within 10 s");
			}
			return true;
		}
	}
	scenario_error(sc, "expected: run DURATION | run until leader [in GROUP] | run until "
			   "identical");
	return false;
}

static bool scenario_cmd_partition(struct scenario *sc)
{
	uint32_t i = 1, a = 0, b = 0;
	if (!scenario_group(sc, &i, "|", 0, &a) || i >= sc->tok_count) {
		scenario_error(sc, "expected: partition GROUP | GROUP");
		return false;
	}
	i++;
	if (!scenario_group(sc, &i, NULL, a, &b)) {
		return false;
	}
	for (raft_node_id x = 1; x <= sc->p.nodes_count; x++) {
		for (raft_node_id y = 1; y <= sc->p.nodes_count; y++) {
			if (((a >> x) & 1) && ((b >> y) & 1)) {
				sim_cut(sc->s, x, y, true);
				sim_cut(sc->s, y, x, true);
			}
		}
	}
	char sa[64], sb[64];
	scenario_group_str(sc, a, sa, sizeof(sa));
	scenario_group_str(sc, b, sb, sizeof(sb));
	sim_log(sc->s, SIM_STORY, "network: partition {%s} | {%s}", sa, sb);
	return true;
}

static bool scenario_cmd_propose(struct scenario *sc)
{
	if (sc->tok_count < 2 || sc->tok_count > 3) {
		scenario_error(sc, "expected: propose NODE [COUNT]");
		return false;
	}
	raft_node_id id = scenario_node(sc, sc->tok[1]);
	unsigned long count = sc->tok_count == 3 ? strtoul(sc->tok[2], NULL, 10) : 1;
	if (id == RAFT_NODE_NONE || count < 1 || count > 16) {
		scenario_error(sc, "expected: propose NODE [COUNT 1-16]");
		return false;
	}
	struct sim_node *n = &sc->s->nodes[id];
	raft_index first = n->up ? raft_last_index(n->raft) + 1 : 0;
	int rc = sim_propose(sc->s, id, (uint32_t)count);
	if (rc == 0) {
		sim_log(sc->s, SIM_STORY,
			"client -> n%u: %lu write(s) accepted as entries %llu..%llu of term %llu", id,
			count, (unsigned long long)first, (unsigned long long)(first + count - 1),
			(unsigned long long)raft_current_term(n->raft));
	} else {
		sim_log(sc->s, SIM_STORY, "client -> n%u: %lu write(s) refused: %s", id, count,
			raft_strerror(rc));
	}
	return true;
}

static bool scenario_cmd_node_action(struct scenario *sc, const char *verb)
{
	if (sc->tok_count != 2) {
		scenario_error(sc, "expected: %s NODE", verb);
		return false;
	}
	raft_node_id id = scenario_node(sc, sc->tok[1]);
	if (id == RAFT_NODE_NONE) {
		return false;
	}
	struct sim *s = sc->s;
	if (strcmp(verb, "crash") == 0) {
		sim_crash(s, id);
	} else if (strcmp(verb, "restart") == 0) {
		sim_restart(s, id);
	} else if (strcmp(verb, "read") == 0) {
		uint64_t ctx = 0;
		int rc = sim_read(s, id, &ctx);
		sim_log(s, SIM_STORY, "client -> n%u: read %llu started (committed so far: %llu)%s%s",
			id, (unsigned long long)ctx, (unsigned long long)s->committed_count,
			rc ? ", refused: " : "", rc ? raft_strerror(rc) : "");
	} else if (strcmp(verb, "transfer") == 0) {
		raft_node_id l = sim_leader(s);
		int rc = l ? sim_transfer(s, l, id) : -RAFT_ERR_NO_LEADER;
		sim_log(s, SIM_STORY, "leader n%u asked to hand leadership to n%u%s%s", l, id,
			rc ? ": " : "", rc ? raft_strerror(rc) : "");
	} else if (strcmp(verb, "timeout") == 0) {
		struct sim_node *n = &s->nodes[id];
		if (!n->up) {
			scenario_error(sc, "n%u is down", id);
			return false;
		}
		/* The election timer fires now: a TimeoutNow from a peer
		 * starts the same campaign, without waiting for ticks. */
		raft_node_id from = id == 1 ? 2 : 1;
		struct raft_event ev = {.type = RAFT_EVENT_RECEIVE};
		ev.receive = (struct raft_message){.type = RAFT_MSG_TIMEOUT_NOW,
						   .from = from,
						   .to = id,
						   .term = raft_current_term(n->raft)};
		sim_log(s, SIM_STORY, "n%u's election timer fires", id);
		sim_step_external(s, id, &ev);
	}
	return true;
}

static raft_index scenario_node_commit(const struct sim *s, raft_node_id id)
{
	return s->nodes[id].up ? raft_commit_index(s->nodes[id].raft) : s->nodes[id].applied_index;
}

static bool scenario_expect_committed_kept(struct scenario *sc)
{
	struct sim *s = sc->s;
	for (raft_node_id id = 1; id <= s->p.nodes_count; id++) {
		if (!s->nodes[id].up) {
			continue;
		}
		for (raft_index i = 1; i <= s->committed_count; i++) {
			struct raft_entry e;
			if (!sim_node_entry(&s->nodes[id], i, &e) ||
			    e.term != s->committed[i - 1].term ||
			    e.payload != s->committed[i - 1].payload) {
				scenario_fail(sc, "committed entry %llu is missing from n%u's log",
					      (unsigned long long)i, id);
				return true;
			}
		}
	}
	sim_log(s, SIM_STORY, "expect committed kept: ok (%llu committed entries, %llu client "
			      "writes acknowledged, all in every log)",
		(unsigned long long)s->committed_count, (unsigned long long)s->writes_acked);
	return true;
}

static bool scenario_cmd_expect(struct scenario *sc)
{
	struct sim *s = sc->s;
	const char *what = sc->tok_count > 1 ? sc->tok[1] : "";
	uint32_t mask = 0, i;
	char g[64];

	if (strcmp(what, "leader") == 0 && sc->tok_count > 3 && strcmp(sc->tok[2], "in") == 0) {
		i = 3;
		if (!scenario_group(sc, &i, NULL, 0, &mask)) {
			return false;
		}
		raft_node_id l = sim_leader(s);
		scenario_group_str(sc, mask, g, sizeof(g));
		if (l == RAFT_NODE_NONE || (mask & (1u << l)) == 0) {
			scenario_fail(sc, "leader in {%s}, but the leader is n%u", g, l);
		} else {
			sim_log(s, SIM_STORY, "expect leader in {%s}: ok, n%u leads term %llu", g, l,
				(unsigned long long)raft_current_term(s->nodes[l].raft));
		}
		return true;
	}
	if (strcmp(what, "no") == 0 && sc->tok_count > 4 && strcmp(sc->tok[2], "leader") == 0 &&
	    strcmp(sc->tok[3], "in") == 0) {
		i = 4;
		if (!scenario_group(sc, &i, NULL, 0, &mask)) {
			return false;
		}
		scenario_group_str(sc, mask, g, sizeof(g));
		for (raft_node_id id = 1; id <= s->p.nodes_count; id++) {
			if ((mask & (1u << id)) && s->nodes[id].up &&
			    raft_role(s->nodes[id].raft) == RAFT_LEADER) {
				scenario_fail(sc, "no leader in {%s}, but n%u leads term %llu", g,
					      id,
					      (unsigned long long)raft_current_term(s->nodes[id].raft));
				return true;
			}
		}
		sim_log(s, SIM_STORY, "expect no leader in {%s}: ok", g);
		return true;
	}
	if (strcmp(what, "commit") == 0 && sc->tok_count > 4 &&
	    (strcmp(sc->tok[2], "unchanged") == 0 || strcmp(sc->tok[2], "advanced") == 0) &&
	    strcmp(sc->tok[3], "on") == 0) {
		bool advanced = strcmp(sc->tok[2], "advanced") == 0;
		i = 4;
		if (!scenario_group(sc, &i, NULL, 0, &mask)) {
			return false;
		}
		scenario_group_str(sc, mask, g, sizeof(g));
		for (raft_node_id id = 1; id <= s->p.nodes_count; id++) {
			if ((mask & (1u << id)) == 0) {
				continue;
			}
			raft_index c = scenario_node_commit(s, id);
			if (advanced != (c > sc->mark[id])) {
				scenario_fail(sc, "commit %s on n%u: it went from %llu to %llu",
					      sc->tok[2], id, (unsigned long long)sc->mark[id],
					      (unsigned long long)c);
				return true;
			}
		}
		sim_log(s, SIM_STORY, "expect commit %s on {%s}: ok", sc->tok[2], g);
		return true;
	}
	if (strcmp(what, "read") == 0 && sc->tok_count == 4) {
		unsigned long ctx = strtoul(sc->tok[2], NULL, 10);
		bool want_answered = strcmp(sc->tok[3], "answered") == 0;
		if (ctx < 1 || ctx > s->reads_count ||
		    (!want_answered && strcmp(sc->tok[3], "pending") != 0)) {
			scenario_error(sc, "expected: expect read N pending|answered");
			return false;
		}
		const struct sim_read *r = &s->reads[ctx - 1];
		if (r->answered != want_answered) {
			scenario_fail(sc, "read %lu %s, but it is %s", ctx, sc->tok[3],
				      r->answered ? "answered" : "pending");
		} else {
			sim_log(s, SIM_STORY, "expect read %lu %s: ok", ctx, sc->tok[3]);
		}
		return true;
	}
	if (strcmp(what, "identical") == 0 && sc->tok_count == 2) {
		raft_index common = 0;
		if (!sim_logs_identical(s, &common)) {
			scenario_fail(sc, "logs differ");
		} else {
			sim_log(s, SIM_STORY, "expect identical: ok, every live log holds the same "
					      "%llu entries",
				(unsigned long long)common);
		}
		return true;
	}
	if (strcmp(what, "committed") == 0 && sc->tok_count == 3 &&
	    strcmp(sc->tok[2], "kept") == 0) {
		return scenario_expect_committed_kept(sc);
	}
	scenario_error(sc, "unknown expectation (see the list at the top of scenario.c)");
	return false;
}

static bool scenario_cmd_setup(struct scenario *sc, const char *cmd)
{
	uint64_t v = 0;
	if (sc->s != NULL) {
		scenario_error(sc, "'%s' must come before 'nodes'", cmd);
		return false;
	}
	if (sc->tok_count != 2) {
		scenario_error(sc, "expected: %s VALUE", cmd);
		return false;
	}
	if (strcmp(cmd, "seed") == 0) {
		sc->p.seed = strtoull(sc->tok[1], NULL, 10);
	} else if (scenario_parse_duration(sc->tok[1], &v) && v > 0 && v < 1000000) {
		if (strcmp(cmd, "delay") == 0) {
			sc->p.delay_base_us = (uint32_t)v;
		} else {
			sc->p.disk_latency_us_min = (uint32_t)v;
			sc->p.disk_latency_us_max = (uint32_t)v;
		}
	} else {
		scenario_error(sc, "bad duration '%s' (e.g. 500us, 2ms)", sc->tok[1]);
		return false;
	}
	return true;
}

static bool scenario_cmd_nodes(struct scenario *sc)
{
	char *end = NULL;
	unsigned long n = sc->tok_count == 2 ? strtoul(sc->tok[1], &end, 10) : 0;
	if (sc->s != NULL || n < 1 || n > SIM_NODES_MAX || *end != '\0') {
		scenario_error(sc, "expected once: nodes N (1-%u)", SIM_NODES_MAX);
		return false;
	}
	sc->p.nodes_count = (uint32_t)n;
	sc->p.planted_bug = sc->planted_bug;
	sc->s = sim_new(&sc->p, sc->verbosity, sc->out);
	sim_assert_current = sc->s;
	sim_log(sc->s, SIM_STORY, "cluster of %lu nodes, all followers in term 0", n);
	return true;
}

static bool scenario_cmd_host(struct scenario *sc)
{
	uint32_t i = 3, mask = 0;
	unsigned long h = sc->tok_count > 3 ? strtoul(sc->tok[1], NULL, 10) : 0;
	if (h == 0 || strcmp(sc->tok[2], "=") != 0 || !scenario_group(sc, &i, NULL, 0, &mask)) {
		scenario_error(sc, "expected: host H = GROUP");
		return false;
	}
	for (raft_node_id id = 1; id <= sc->p.nodes_count; id++) {
		if (mask & (1u << id)) {
			sc->s->nodes[id].host = (uint32_t)h;
		}
	}
	char g[64];
	scenario_group_str(sc, mask, g, sizeof(g));
	sim_log(sc->s, SIM_STORY, "host %lu: {%s}", h, g);
	return true;
}

static bool scenario_cmd_let(struct scenario *sc)
{
	if (sc->tok_count != 4 || strcmp(sc->tok[2], "=") != 0 ||
	    sc->names_count == SCENARIO_NAMES_MAX || strlen(sc->tok[1]) >= sizeof(sc->names[0])) {
		scenario_error(sc, "expected: let NAME = NODE");
		return false;
	}
	raft_node_id id = scenario_node(sc, sc->tok[3]);
	if (id == RAFT_NODE_NONE) {
		return false;
	}
	strcpy(sc->names[sc->names_count], sc->tok[1]);
	sc->name_ids[sc->names_count++] = id;
	return true;
}

static bool scenario_cmd(struct scenario *sc, char *text)
{
	const char *cmd = sc->tok[0];
	if (strcmp(cmd, "seed") == 0 || strcmp(cmd, "delay") == 0 || strcmp(cmd, "disk") == 0) {
		return scenario_cmd_setup(sc, cmd);
	}
	if (strcmp(cmd, "nodes") == 0) {
		return scenario_cmd_nodes(sc);
	}
	if (sc->s == NULL) {
		scenario_error(sc, "'nodes N' must come first");
		return false;
	}
	if (strcmp(cmd, "say") == 0) {
		sim_log(sc->s, SIM_QUIET, "-- %s", text + 4);
		return true;
	}
	if (strcmp(cmd, "host") == 0) {
		return scenario_cmd_host(sc);
	}
	if (strcmp(cmd, "let") == 0) {
		return scenario_cmd_let(sc);
	}
	if (strcmp(cmd, "run") == 0) {
		return scenario_cmd_run(sc);
	}
	if (strcmp(cmd, "partition") == 0) {
		return scenario_cmd_partition(sc);
	}
	if (strcmp(cmd, "cut") == 0 && sc->tok_count == 4 && strcmp(sc->tok[2], "->") == 0) {
		raft_node_id a = scenario_node(sc, sc->tok[1]), b = scenario_node(sc, sc->tok[3]);
		if (a == RAFT_NODE_NONE || b == RAFT_NODE_NONE) {
			return false;
		}
		sim_cut(sc->s, a, b, true);
		sim_log(sc->s, SIM_STORY, "network: one-way cut n%u -> n%u", a, b);
		return true;
	}
	if (strcmp(cmd, "heal") == 0 && sc->tok_count == 1) {
		sim_heal(sc->s);
		sim_log(sc->s, SIM_STORY, "network: healed, every link restored");
		return true;
	}
	if (strcmp(cmd, "propose") == 0) {
		return scenario_cmd_propose(sc);
	}
	if (strcmp(cmd, "crash") == 0 || strcmp(cmd, "restart") == 0 ||
	    strcmp(cmd, "read") == 0 || strcmp(cmd, "transfer") == 0 ||
	    strcmp(cmd, "timeout") == 0) {
		return scenario_cmd_node_action(sc, cmd);
	}
	if (strcmp(cmd, "mark") == 0 && sc->tok_count == 1) {
		for (raft_node_id id = 1; id <= sc->p.nodes_count; id++) {
			sc->mark[id] = scenario_node_commit(sc->s, id);
		}
		return true;
	}
	if (strcmp(cmd, "expect") == 0) {
		return scenario_cmd_expect(sc);
	}
	scenario_error(sc, "unknown command '%s'", cmd);
	return false;
}

/* Splits a line into tokens in place; returns false for a blank line. */
static bool scenario_tokenize(struct scenario *sc, char *line)
{
	char *hash = strchr(line, '#');
	if (hash != NULL) {
		*hash = '\0';
	}
	sc->tok_count = 0;
	for (char *t = strtok(line, " \t\r\n"); t != NULL && sc->tok_count < SCENARIO_TOKENS_MAX;
	     t = strtok(NULL, " \t\r\n")) {
		sc->tok[sc->tok_count++] = t;
	}
	return sc->tok_count > 0;
}

int scenario_run_file(const char *path, int planted_bug, bool trace, FILE *out)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "raftsim: cannot open scenario '%s'\n", path);
		return 2;
	}
	struct scenario *sc = calloc(1, sizeof(*sc));
	RN_ASSERT(sc != NULL);
	sc->path = path;
	sc->out = out;
	sc->verbosity = trace ? SIM_TRACE : SIM_STORY;
	sc->planted_bug = planted_bug;
	sim_params_default(&sc->p, 1, 1);
	int rc = 0;
	char line[512], text[512];

	if (setjmp(sim_assert_jmp) != 0) {
		rc = 1; /* an assertion inside a step: reported as a violation */
		goto done;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		sc->line_no++;
		/* `say` keeps its text as written. */
		snprintf(text, sizeof(text), "%s", line);
		text[strcspn(text, "\r\n")] = '\0';
		if (!scenario_tokenize(sc, line)) {
			continue;
		}
		if (!scenario_cmd(sc, text)) {
			rc = 2;
			goto done;
		}
		if (sc->s != NULL && sc->s->violated) {
			rc = 1;
			goto done;
		}
	}
	if (sc->s == NULL) {
		scenario_error(sc, "no 'nodes' command");
		rc = 2;
	}
done:
	sim_assert_current = NULL;
	if (rc == 0 && sc->failed) {
		rc = 1;
	}
	if (sc->s != NULL) {
		const char *base = strrchr(path, '/');
		fprintf(out, "scenario %s: %s after %llu.%03llu s simulated, %llu steps\n",
			base != NULL ? base + 1 : path,
			rc == 0 ? "PASSED" : "FAILED", (unsigned long long)(sc->s->now_us / 1000000),
			(unsigned long long)(sc->s->now_us / 1000 % 1000),
			(unsigned long long)sc->s->steps);
	}
	sim_free(sc->s);
	free(sc);
	fclose(f);
	return rc;
}
