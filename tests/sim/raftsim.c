/* SPDX-License-Identifier: MIT */
/*
 * raftsim.c - the command line of the deterministic cluster simulator.
 *
 *   raftsim --seeds 2000 --nodes 5          random runs under faults
 *   raftsim --seed 42 --trace               one run, every event printed
 *   raftsim --plant-bug double-vote --seeds 2000
 *   raftsim --scenario tests/sim/scenarios/seven_nodes_two_hosts.txt
 *
 * Seeds are independent, so --jobs N forks N workers that take every N-th
 * seed; the totals do not depend on N. The first violation stops the run:
 * raftsim names the property and the seed, replays that seed with a trace
 * buffer (the replay is deterministic) and prints the trace tail, then
 * exits 1. Exit 2 is a usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "scenario.h"
#include "sim.h"

#define RAFTSIM_JOBS_MAX 64

static const struct {
	const char *name;
	uint32_t bit;
} raftsim_fault_names[] = {
	{"delay", SIM_FAULT_DELAY},	    {"loss", SIM_FAULT_LOSS},
	{"dup", SIM_FAULT_DUP},		    {"reorder", SIM_FAULT_REORDER},
	{"partition", SIM_FAULT_PARTITION}, {"asym", SIM_FAULT_ASYM},
	{"crash", SIM_FAULT_CRASH},	    {"skew", SIM_FAULT_SKEW},
	{"disk", SIM_FAULT_DISK},
};

struct raftsim_opts {
	uint64_t seed;
	uint64_t seeds;
	struct chaos_opts chaos;
	const char *scenario;
	const char *fault_list;
	const char *bug_name;
	const char *step_name; /* --step-crash */
	bool trace;
	bool keep_going; /* count violating seeds instead of stopping */
	uint32_t jobs;
};

/* One worker's result, sent to the parent through a pipe. */
struct raftsim_result {
	uint8_t final; /* 0 = progress report, 1 = done */
	uint64_t seeds_run;
	uint64_t steps;
	uint64_t sim_us;
	uint64_t writes_acked;
	uint64_t elections;
	uint64_t crashes;
	uint64_t nodes_failed;
	uint64_t tail_restarts;
	uint64_t storage_appends;
	uint64_t appends_sent, append_entries_sent, append_rejects_sent;
	uint64_t rejects_taken, rejects_stale;
	uint64_t snapshots_taken, snapshot_offers, snapshots_installed;
	uint64_t step_crashes[SIM_STEPS_COUNT];
	uint64_t renames_lost, installs_finished, crashes_installing;
	uint64_t conf_adds, conf_promotes, conf_removes, conf_replaces, conf_refused;
	uint64_t conf_refused_behind;
	uint8_t violated;
	uint64_t violations; /* seeds with a violation (--keep-going) */
	uint64_t seed;
	char property[64];
	char detail[512];
};

static void raftsim_usage(FILE *f)
{
	fprintf(f,
		"usage: raftsim [options]\n"
		"\n"
		"Runs whole Raft clusters of raftnode's consensus core on simulated time,\n"
		"under faults, and checks after every step: Election Safety, Leader\n"
		"Append-Only, Log Matching, Leader Completeness, State Machine Safety,\n"
		"linearizable reads, snapshots of committed state only, installs that move\n"
		"forward only, no acknowledged write lost, and liveness after heal.\n"
		"\n"
		"  --seed S          first seed (default 1)\n"
		"  --seeds N         number of seeds, S .. S+N-1 (default 1)\n"
		"  --nodes N         cluster size, 1-9 (default 5)\n"
		"  --time-ms T       simulated time per seed, >= 4000 (default 30000); faults\n"
		"                    stop min(5 s, T/2) before the end, then liveness is checked\n"
		"  --faults LIST     comma-separated: delay,loss,dup,reorder,partition,asym,\n"
		"                    crash,skew,disk; or all (default) or none\n"
		"  --plant-bug NAME  switch on a known bug in the test-only core (see below)\n"
		"  --disk-blocks     the logs write whole 4 KiB blocks, as with O_DIRECT (block\n"
		"                    heads written again, ends padded with zeros)\n"
		"  --snapshots on|off  nodes snapshot, compact their logs and install leaders'\n"
		"                    snapshots (default on)\n"
		"  --membership on|off  leaders add learners, promote them, remove voters (the\n"
		"                    leader too) and replace nodes that are down (default on)\n"
		"  --snapshot-entries N  mean applied entries between two snapshots of a node\n"
		"                    (default: drawn per seed from 8, 32, 128, 512)\n"
		"  --step-crash STEP every snapshot write, compaction or install (the\n"
		"                    step's kind) crashes at STEP (sim_steps.c: snap-partial\n"
		"                    .. install-loaded), in seeds with crash faults, until\n"
		"                    the heal\n"
		"  --scenario FILE   play a scenario (tests/sim/scenarios/*.txt) instead\n"
		"  --trace           print every event (deterministic: same seed, same bytes)\n"
		"  --jobs J          worker processes (default: online CPUs)\n"
		"  --keep-going      run every seed and count the violating ones\n"
		"  --help            this text\n"
		"\n"
		"Exit status: 0 no violation, 1 a violation (property, seed and trace tail\n"
		"printed), 2 bad usage.\n");
#ifdef RAFT_PLANTED_BUGS
	fprintf(f, "\nPlanted bugs (consensus):");
	for (int i = 1; i < RAFT_BUG_COUNT; i++) {
		fprintf(f, " %s", raft_planted_bug_name(i));
	}
	fprintf(f, "\nPlanted bug (storage): ack-unsynced (durable reported before the sync)\n");
	fprintf(f, "Planted bugs (simulated node): snapshot-rename-unsynced (a snapshot trusted, "
		   "the log compacted below it, before its rename is dir-synced) "
		   "install-rename-unsynced (the log reset to an installed snapshot before its "
		   "rename is dir-synced)\n");
#endif
}

static bool raftsim_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max) {
		return false;
	}
	*out = v;
	return true;
}

static bool raftsim_parse_faults(const char *list, uint32_t *out)
{
	char buf[256];
	if (strlen(list) >= sizeof(buf)) {
		return false;
	}
	strcpy(buf, list);
	uint32_t faults = 0;
	for (char *tok = strtok(buf, ","); tok != NULL; tok = strtok(NULL, ",")) {
		if (strcmp(tok, "all") == 0) {
			faults |= SIM_FAULTS_ALL;
			continue;
		}
		if (strcmp(tok, "none") == 0) {
			continue;
		}
		bool found = false;
		for (size_t i = 0; i < RN_ARRAY_COUNT(raftsim_fault_names); i++) {
			if (strcmp(tok, raftsim_fault_names[i].name) == 0) {
				faults |= raftsim_fault_names[i].bit;
				found = true;
			}
		}
		if (!found) {
			return false;
		}
	}
	*out = faults;
	return true;
}

static void raftsim_faults_str(uint32_t faults, char *buf, size_t cap)
{
	size_t off = 0;
	buf[0] = '\0';
	if (faults == SIM_FAULTS_ALL) {
		snprintf(buf, cap, "all");
		return;
	}
	for (size_t i = 0; i < RN_ARRAY_COUNT(raftsim_fault_names); i++) {
		if (faults & raftsim_fault_names[i].bit) {
			off += (size_t)snprintf(buf + off, cap - off, "%s%s", off ? "," : "",
						raftsim_fault_names[i].name);
		}
	}
	if (off == 0) {
		snprintf(buf, cap, "none");
	}
}

static int raftsim_parse(int argc, char **argv, struct raftsim_opts *o)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	*o = (struct raftsim_opts){
		.seed = 1,
		.seeds = 1,
		.chaos = {.nodes_count = 5, .faults = SIM_FAULTS_ALL, .time_ms = 30000},
		.jobs = cpus > 0 ? (uint32_t)rn_min_u64((uint64_t)cpus, RAFTSIM_JOBS_MAX) : 1,
	};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t x = 0;
		bool ok = true;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			raftsim_usage(stdout);
			exit(0);
		} else if (strcmp(a, "--trace") == 0) {
			o->trace = true;
			continue;
		} else if (strcmp(a, "--keep-going") == 0) {
			o->keep_going = true;
			continue;
		} else if (strcmp(a, "--disk-blocks") == 0) {
			o->chaos.disk_blocks = true;
			continue;
		} else if (v == NULL) {
			fprintf(stderr, "raftsim: %s needs a value (try --help)\n", a);
			return 2;
		} else if (strcmp(a, "--seed") == 0) {
			ok = raftsim_parse_u64(v, 0, UINT64_MAX / 2, &o->seed);
		} else if (strcmp(a, "--seeds") == 0) {
			ok = raftsim_parse_u64(v, 1, 100000000, &o->seeds);
		} else if (strcmp(a, "--nodes") == 0) {
			ok = raftsim_parse_u64(v, 1, SIM_NODES_MAX, &x);
			o->chaos.nodes_count = (uint32_t)x;
		} else if (strcmp(a, "--time-ms") == 0) {
			ok = raftsim_parse_u64(v, 4000, 3600000, &o->chaos.time_ms);
		} else if (strcmp(a, "--jobs") == 0) {
			ok = raftsim_parse_u64(v, 1, RAFTSIM_JOBS_MAX, &x);
			o->jobs = (uint32_t)x;
		} else if (strcmp(a, "--faults") == 0) {
			ok = raftsim_parse_faults(v, &o->chaos.faults);
			o->fault_list = v;
		} else if (strcmp(a, "--snapshots") == 0) {
			ok = strcmp(v, "on") == 0 || strcmp(v, "off") == 0;
			o->chaos.snapshots_off = strcmp(v, "off") == 0;
		} else if (strcmp(a, "--membership") == 0) {
			ok = strcmp(v, "on") == 0 || strcmp(v, "off") == 0;
			o->chaos.membership_off = strcmp(v, "off") == 0;
		} else if (strcmp(a, "--snapshot-entries") == 0) {
			ok = raftsim_parse_u64(v, 1, 1000000, &x);
			o->chaos.snapshot_entries = (uint32_t)x;
		} else if (strcmp(a, "--step-crash") == 0) {
			ok = false;
			for (uint32_t k = 0; k < SIM_STEPS_COUNT && !ok; k++) {
				ok = strcmp(v, sim_step_name((enum sim_step)k)) == 0;
				o->chaos.step_forced = k + 1;
			}
			o->step_name = v;
		} else if (strcmp(a, "--scenario") == 0) {
			o->scenario = v;
		} else if (strcmp(a, "--plant-bug") == 0) {
			o->bug_name = v;
#ifdef RAFT_PLANTED_BUGS
			o->chaos.planted_bug = raft_planted_bug_parse(v);
			o->chaos.planted_ack_unsynced = strcmp(v, "ack-unsynced") == 0;
			o->chaos.planted_snap_unsynced = strcmp(v, "snapshot-rename-unsynced") == 0;
			o->chaos.planted_install_unsynced = strcmp(v, "install-rename-unsynced") == 0;
			ok = o->chaos.planted_bug > 0 || o->chaos.planted_ack_unsynced ||
			     o->chaos.planted_snap_unsynced || o->chaos.planted_install_unsynced;
			if (o->chaos.planted_ack_unsynced || o->chaos.planted_snap_unsynced ||
			    o->chaos.planted_install_unsynced) {
				o->chaos.planted_bug = 0; /* a storage bug, not the core's */
			}
#else
			fprintf(stderr, "raftsim: built without planted bugs "
					"(meson option planted_bugs=false)\n");
			return 2;
#endif
		} else {
			fprintf(stderr, "raftsim: unknown option '%s' (try --help)\n", a);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "raftsim: bad value '%s' for %s (try --help)\n", v, a);
			return 2;
		}
		i++;
	}
	return 0;
}

static double raftsim_wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void raftsim_result_add(struct raftsim_result *sum, const struct sim *s)
{
	sum->seeds_run++;
	sum->steps += s->steps;
	sum->sim_us += s->now_us;
	sum->writes_acked += s->writes_acked;
	sum->elections += s->elections;
	sum->crashes += s->crashes;
	sum->nodes_failed += s->nodes_failed;
	sum->tail_restarts += s->tail_restarts;
	sum->storage_appends += s->storage_appends;
	sum->appends_sent += s->appends_sent;
	sum->append_entries_sent += s->append_entries_sent;
	sum->append_rejects_sent += s->append_rejects_sent;
	uint64_t taken, stale;
	sim_core_rejects(s, &taken, &stale);
	sum->rejects_taken += taken;
	sum->rejects_stale += stale;
	sum->snapshots_taken += s->snapshots_taken;
	sum->snapshot_offers += s->snapshot_offers;
	sum->snapshots_installed += s->snapshots_installed;
	for (uint32_t k = 0; k < SIM_STEPS_COUNT; k++) {
		sum->step_crashes[k] += s->step_crashes[k];
	}
	sum->renames_lost += s->renames_lost;
	sum->installs_finished += s->installs_finished;
	sum->crashes_installing += s->crashes_installing;
	sum->conf_adds += s->conf_adds;
	sum->conf_promotes += s->conf_promotes;
	sum->conf_removes += s->conf_removes;
	sum->conf_replaces += s->conf_replaces;
	sum->conf_refused += s->conf_refused;
	sum->conf_refused_behind += s->conf_refused_behind;
}

/* Runs seeds first, first + stride, ... (< end) and reports to fd, or, with
 * fd < 0, prints as it goes (one job). */
static void raftsim_worker(const struct raftsim_opts *o, uint64_t first, uint64_t stride,
			   int fd, struct raftsim_result *res)
{
	uint64_t end = o->seed + o->seeds;
	int verbosity = o->trace ? SIM_TRACE : SIM_QUIET;

	*res = (struct raftsim_result){.final = 1};
	for (uint64_t seed = first; seed < end; seed += stride) {
		struct sim *s = chaos_run(&o->chaos, seed, verbosity, false, stdout);
		raftsim_result_add(res, s);
		if (s->violated) {
			res->violations++;
		}
		if (s->violated && !res->violated) {
			res->violated = 1;
			res->seed = seed;
			snprintf(res->property, sizeof(res->property), "%s", s->violation_property);
			snprintf(res->detail, sizeof(res->detail), "%s", s->violation_detail);
		}
		sim_free(s);
		if (res->violated && !o->keep_going) {
			break;
		}
		if (fd >= 0 && res->seeds_run % 50 == 0) {
			struct raftsim_result progress = *res;
			progress.final = 0;
			if (write(fd, &progress, sizeof(progress)) != (ssize_t)sizeof(progress)) {
				break;
			}
		}
	}
	if (fd >= 0) {
		if (write(fd, res, sizeof(*res)) != (ssize_t)sizeof(*res)) {
			_exit(3);
		}
	}
}

/* Forks the workers and gathers their results; stops them all at the
 * first violation. */
static void raftsim_fork_all(const struct raftsim_opts *o, struct raftsim_result *sum,
			     double started_s)
{
	uint32_t jobs = (uint32_t)rn_min_u64(o->jobs, o->seeds);
	pid_t pids[RAFTSIM_JOBS_MAX];
	struct pollfd fds[RAFTSIM_JOBS_MAX];
	struct raftsim_result last[RAFTSIM_JOBS_MAX];
	uint32_t open_count = jobs;
	bool stopping = false; /* workers were told to stop: no more results */
	double progress_at = started_s + 10.0;

	fflush(stdout);
	for (uint32_t j = 0; j < jobs; j++) {
		int p[2];
		RN_ASSERT(pipe(p) == 0);
		pids[j] = fork();
		RN_ASSERT(pids[j] >= 0);
		if (pids[j] == 0) {
			close(p[0]);
			struct raftsim_result res;
			raftsim_worker(o, o->seed + j, jobs, p[1], &res);
			_exit(0);
		}
		close(p[1]);
		fds[j] = (struct pollfd){.fd = p[0], .events = POLLIN};
		last[j] = (struct raftsim_result){0};
	}
	while (open_count > 0) {
		int n = poll(fds, jobs, 1000);
		if (n < 0 && errno != EINTR) {
			break;
		}
		for (uint32_t j = 0; j < jobs && n > 0; j++) {
			if (fds[j].fd < 0 || (fds[j].revents & (POLLIN | POLLHUP)) == 0) {
				continue;
			}
			struct raftsim_result r;
			ssize_t got = read(fds[j].fd, &r, sizeof(r));
			if (got == (ssize_t)sizeof(r)) {
				last[j] = r;
				if (!r.final) {
					continue;
				}
			}
			close(fds[j].fd);
			fds[j].fd = -1;
			open_count--;
			if (got != (ssize_t)sizeof(r) && !stopping) {
				last[j].violated = 1;
				last[j].final = 1;
				snprintf(last[j].property, sizeof(last[j].property), "Worker Died");
				snprintf(last[j].detail, sizeof(last[j].detail),
					 "worker %u ended without a result", j);
			}
			if (last[j].violated && !stopping && !o->keep_going) {
				stopping = true;
				for (uint32_t k = 0; k < jobs; k++) {
					if (fds[k].fd >= 0) {
						kill(pids[k], SIGTERM);
					}
				}
			}
		}
		double now = raftsim_wall_s();
		if (now >= progress_at && o->seeds > 1) {
			uint64_t done = 0;
			for (uint32_t j = 0; j < jobs; j++) {
				done += last[j].seeds_run;
			}
			fprintf(stderr, "raftsim: %" PRIu64 "/%" PRIu64 " seeds, %.0f s\n", done,
				o->seeds, now - started_s);
			progress_at = now + 10.0;
		}
	}
	for (uint32_t j = 0; j < jobs; j++) {
		if (fds[j].fd >= 0) {
			close(fds[j].fd);
		}
		waitpid(pids[j], NULL, 0);
		sum->seeds_run += last[j].seeds_run;
		sum->steps += last[j].steps;
		sum->sim_us += last[j].sim_us;
		sum->writes_acked += last[j].writes_acked;
		sum->elections += last[j].elections;
		sum->crashes += last[j].crashes;
		sum->nodes_failed += last[j].nodes_failed;
		sum->tail_restarts += last[j].tail_restarts;
		sum->storage_appends += last[j].storage_appends;
		sum->appends_sent += last[j].appends_sent;
		sum->append_entries_sent += last[j].append_entries_sent;
		sum->append_rejects_sent += last[j].append_rejects_sent;
		sum->rejects_taken += last[j].rejects_taken;
		sum->rejects_stale += last[j].rejects_stale;
		sum->snapshots_taken += last[j].snapshots_taken;
		sum->snapshot_offers += last[j].snapshot_offers;
		sum->snapshots_installed += last[j].snapshots_installed;
		for (uint32_t k = 0; k < SIM_STEPS_COUNT; k++) {
			sum->step_crashes[k] += last[j].step_crashes[k];
		}
		sum->renames_lost += last[j].renames_lost;
		sum->installs_finished += last[j].installs_finished;
		sum->crashes_installing += last[j].crashes_installing;
		sum->conf_adds += last[j].conf_adds;
		sum->conf_promotes += last[j].conf_promotes;
		sum->conf_removes += last[j].conf_removes;
		sum->conf_replaces += last[j].conf_replaces;
		sum->conf_refused += last[j].conf_refused;
		sum->conf_refused_behind += last[j].conf_refused_behind;
		sum->violations += last[j].violations;
		if (last[j].violated && last[j].final && !sum->violated) {
			sum->violated = 1;
			sum->seed = last[j].seed;
			memcpy(sum->property, last[j].property, sizeof(sum->property));
			memcpy(sum->detail, last[j].detail, sizeof(sum->detail));
		}
	}
}

/* Replays the violating seed with a trace buffer and prints its tail. */
static void raftsim_report_violation(const struct raftsim_opts *o, const struct raftsim_result *r)
{
	char faults[128];
	raftsim_faults_str(o->chaos.faults, faults, sizeof(faults));
	printf("VIOLATION: seed %" PRIu64 ": %s: %s\n", r->seed, r->property, r->detail);
	char snaps[160] = "";
	if (o->chaos.snapshots_off) {
		snprintf(snaps, sizeof(snaps), " --snapshots off");
	} else if (o->chaos.snapshot_entries != 0) {
		snprintf(snaps, sizeof(snaps), " --snapshot-entries %u", o->chaos.snapshot_entries);
	}
	if (o->chaos.membership_off) {
		size_t used = strlen(snaps);
		snprintf(snaps + used, sizeof(snaps) - used, " --membership off");
	}
	if (o->step_name != NULL) {
		size_t used = strlen(snaps);
		snprintf(snaps + used, sizeof(snaps) - used, " --step-crash %s", o->step_name);
	}
	printf("replay: raftsim --seed %" PRIu64 " --nodes %u --time-ms %" PRIu64
	       " --faults %s%s%s%s%s --trace\n",
	       r->seed, o->chaos.nodes_count, o->chaos.time_ms, faults,
	       o->bug_name ? " --plant-bug " : "", o->bug_name ? o->bug_name : "",
	       o->chaos.disk_blocks ? " --disk-blocks" : "", snaps);
	struct sim *s = chaos_run(&o->chaos, r->seed, SIM_QUIET, true, NULL);
	if (s->violated && strcmp(s->violation_property, r->property) == 0) {
		printf("trace tail (last %u events before the violation):\n", s->tail_count);
		sim_print_tail(s, stdout);
	} else {
		printf("replay did NOT reproduce the violation: the simulator is not "
		       "deterministic\n");
	}
	sim_free(s);
}

int main(int argc, char **argv)
{
	struct raftsim_opts o;
	int rc = raftsim_parse(argc, argv, &o);
	if (rc != 0) {
		return rc;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (o.scenario != NULL) {
		return scenario_run_file(o.scenario, o.chaos.planted_bug, o.trace, stdout);
	}
	double started_s = raftsim_wall_s();
	struct raftsim_result sum = {0};
	if (o.jobs <= 1 || o.seeds == 1 || o.trace) {
		raftsim_worker(&o, o.seed, 1, -1, &sum);
	} else {
		raftsim_fork_all(&o, &sum, started_s);
	}
	double wall_s = raftsim_wall_s() - started_s;
	if (sum.violated) {
		raftsim_report_violation(&o, &sum);
	}
	char faults[128];
	raftsim_faults_str(o.chaos.faults, faults, sizeof(faults));
	printf("raftsim: seeds %" PRIu64 " (from %" PRIu64 "), nodes %u, faults %s%s%s, steps %" PRIu64
	       ", simulated %.1f s, elections %" PRIu64 ", crashes %" PRIu64
	       ", nodes refusing a damaged log %" PRIu64 ", restarts from a tail %" PRIu64
	       ", appends from storage %" PRIu64 ", snapshots %s: taken %" PRIu64
	       ", offered %" PRIu64 ", installed %" PRIu64
	       ", writes acknowledged %" PRIu64 ", violations %" PRIu64,
	       sum.seeds_run, o.seed, o.chaos.nodes_count, faults, o.bug_name ? ", planted bug " : "",
	       o.bug_name ? o.bug_name : "", sum.steps, (double)sum.sim_us / 1e6, sum.elections,
	       sum.crashes, sum.nodes_failed, sum.tail_restarts, sum.storage_appends,
	       o.chaos.snapshots_off ? "off" : "on", sum.snapshots_taken, sum.snapshot_offers,
	       sum.snapshots_installed, sum.writes_acked, sum.violations);
	/* Off: the line main printed, byte for byte. */
	if (!o.chaos.membership_off) {
		printf(", membership changes: learners added %" PRIu64 ", promoted %" PRIu64
		       ", removed %" PRIu64 " (%" PRIu64 " to replace a node that is down), "
		       "refused %" PRIu64 " (%" PRIu64 " a learner behind)",
		       sum.conf_adds, sum.conf_promotes, sum.conf_removes, sum.conf_replaces,
		       sum.conf_refused, sum.conf_refused_behind);
	}
	/* Crashes at the steps of snapshot writes, compactions and installs
	 * (sim_steps.c): none without snapshots or crashes, the line as before. */
	if (!o.chaos.snapshots_off && (o.chaos.faults & SIM_FAULT_CRASH)) {
		uint64_t w = 0, c = 0, i = 0;
		for (uint32_t k = 0; k < SIM_STEPS_COUNT; k++) {
			uint64_t *kind = k < SIM_STEPS_COMPACT_FIRST ? &w
					 : k < SIM_STEPS_INSTALL_FIRST ? &c
									: &i;
			*kind += sum.step_crashes[k];
		}
		printf(", crashes at steps: snapshot write %" PRIu64 " (", w);
		for (uint32_t k = 0; k < SIM_STEPS_COUNT; k++) {
			bool first = k == SIM_STEPS_SNAP_FIRST || k == SIM_STEPS_COMPACT_FIRST ||
				     k == SIM_STEPS_INSTALL_FIRST;
			if (k == SIM_STEPS_COMPACT_FIRST) {
				printf("; renames lost %" PRIu64 "), compaction %" PRIu64 " (",
				       sum.renames_lost, c);
			} else if (k == SIM_STEPS_INSTALL_FIRST) {
				printf("), install %" PRIu64 " (", i);
			}
			printf("%s%s %" PRIu64, first ? "" : ", ", sim_step_name((enum sim_step)k),
			       sum.step_crashes[k]);
		}
		printf("; finished by recovery %" PRIu64 "), the driver's crashes during an install %" PRIu64,
		       sum.installs_finished, sum.crashes_installing);
	}
	/* Replication's cost: a reject storm (a follower rejecting reordered
	 * appends, the leader resending its window) shows here first. */
	printf(", appends sent %" PRIu64 " (%" PRIu64 " entries), rejected %" PRIu64
	       " (leaders took %" PRIu64 ", dropped %" PRIu64 " as stale)",
	       sum.appends_sent, sum.append_entries_sent, sum.append_rejects_sent,
	       sum.rejects_taken, sum.rejects_stale);
	/* Wall-clock figures would make a trace differ from run to run. */
	if (!o.trace) {
		printf(", %.0f steps/s (%.1f s wall, %u jobs)", (double)sum.steps / wall_s, wall_s,
		       o.jobs);
	}
	printf("\n");
	return sum.violated ? 1 : 0;
}
