/* SPDX-License-Identifier: MIT */
/*
 * barepipe - the bare replication pipeline: how close to this machine's
 * floor the simplest correctly shaped commit path gets, to measure beside
 * raftnode (scripts/bench-barepipe.sh). Four processes, as many as a
 * raftnode commit's critical path has: client, leader and two followers,
 * each one thread blocking in the kernel (recvmmsg, or a blocking O_DSYNC
 * pwrite into a pre-written file of its own, as the floor's fio job).
 * Kernel UDP on loopback, or in the cluster's network namespaces (--netns:
 * the same veths raftnode's nodes use). No Raft, no checksums, no
 * recovery: a yardstick, not a replacement (bench/barepipe.h). `run` (the
 * default) forks the leader and followers and is the client; `leader`,
 * `follower`, `client` run one role each. Prints JSON like raftbench's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "barepipe.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: barepipe [run|leader|follower|client|disk] [options]\n"
		"The bare replication pipeline: client, leader, 2 followers, kernel UDP, each\n"
		"blocking in recvmmsg or an O_DSYNC pwrite into its own pre-written file; a\n"
		"commit = the leader's write and one follower's write and ack (2 of 3).\n"
		"  run       (default) fork the leader and followers, be the client, print all\n"
		"  leader | follower | client   one role (the others started apart)\n"
		"  disk      the writes alone: --writers N (default 3) processes, each 4 KiB\n"
		"            O_DSYNC writes into its own file, free-running as fio's jobs, or\n"
		"            --lockstep: all released at once before each write, as a commit's\n"
		"  --inflight N        requests in flight (default 1)\n"
		"  --duration S        measured seconds (default 10)\n"
		"  --warmup S          seconds before (default 1)\n"
		"  --value-bytes B     value size (default 64)\n"
		"  --write dsync|direct  O_DSYNC buffered (default: as the floor's fio job) or\n"
		"                      O_DIRECT|O_DSYNC (as raftnode's log)\n"
		"  --dir DIR           where the roles' files go (default /var/tmp)\n"
		"  --file-bytes B      each role's pre-written file (default 33554432)\n"
		"  --addrs L,F1,F2     IP:PORT of leader, follower 1, follower 2\n"
		"                      (default 127.0.0.1:7470,127.0.0.1:7471,127.0.0.1:7472)\n"
		"  --netns NL,N1,N2    run: the network namespaces the leader and followers run\n"
		"                      in (the client stays here); needs root\n"
		"  --sched-slice-us N  each role's EEVDF slice, as raftnode's lcores and\n"
		"                      raftbench (Linux 6.12+; default 100, 0: the kernel's)\n"
		"  --index 1|2         follower: which one (default 1)\n"
		"  --json              JSON on stdout (else a summary)\n");
}

static int parse_addr(const char *s, struct sockaddr_in *a)
{
	char ip[64];
	const char *colon = strrchr(s, ':');
	if (colon == NULL || (size_t)(colon - s) >= sizeof(ip)) {
		return -1;
	}
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	*a = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (*end != '\0' || port < 1 || port > 65535 || inet_pton(AF_INET, ip, &a->sin_addr) != 1) {
		return -1;
	}
	return 0;
}

/* Splits "a,b,c" into exactly three parts (S is modified). */
static int split3(char *s, char *out[3])
{
	for (int i = 0; i < 3; i++) {
		out[i] = strsep(&s, ",");
		if (out[i] == NULL || out[i][0] == '\0') {
			return -1;
		}
	}
	return s == NULL ? 0 : -1;
}

static int parse_num(const char *s, double lo, double hi, double *v)
{
	char *end;
	errno = 0;
	*v = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && *v >= lo && *v <= hi ? 0 : -1;
}

static int bad(const char *opt, const char *why)
{
	fprintf(stderr, "barepipe: %s: %s (try --help)\n", opt, why);
	return 2;
}

static int parse(int argc, char **argv, struct bp_config *cfg, int *index)
{
	static const struct option opts[] = {
		{"inflight", 1, 0, 'n'}, {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'w'},
		{"value-bytes", 1, 0, 'v'}, {"write", 1, 0, 'W'}, {"dir", 1, 0, 'D'},
		{"file-bytes", 1, 0, 'f'}, {"addrs", 1, 0, 'a'}, {"netns", 1, 0, 'N'},
		{"index", 1, 0, 'i'}, {"sched-slice-us", 1, 0, 's'}, {"writers", 1, 0, 'r'},
		{"lockstep", 0, 0, 'l'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
	static const char *const addrs_default[3] = {"127.0.0.1:7470", "127.0.0.1:7471",
						     "127.0.0.1:7472"};
	static char addrs[256];
	int c;
	double v;
	char *parts[3];
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_num(optarg, 1, BP_INFLIGHT_MAX, &v) != 0 || v != (uint32_t)v) {
				return bad("--inflight", "a whole number 1..65536");
			}
			cfg->inflight = (uint32_t)v;
			break;
		case 'd':
			if (parse_num(optarg, 0.1, 3600, &cfg->duration_s) != 0) {
				return bad("--duration", "seconds, 0.1..3600");
			}
			break;
		case 'w':
			if (parse_num(optarg, 0, 600, &cfg->warmup_s) != 0) {
				return bad("--warmup", "seconds, 0..600");
			}
			break;
		case 'v':
			if (parse_num(optarg, 0, BP_VALUE_BYTES_MAX, &v) != 0 || v != (uint32_t)v) {
				return bad("--value-bytes", "a whole number 0..4096");
			}
			cfg->value_bytes = (uint32_t)v;
			break;
		case 'W':
			if (strcmp(optarg, "dsync") != 0 && strcmp(optarg, "direct") != 0) {
				return bad("--write", "dsync or direct");
			}
			cfg->write_mode = optarg[0] == 'd' && optarg[1] == 'i' ? BP_WRITE_DIRECT : BP_WRITE_DSYNC;
			break;
		case 'D':
			cfg->dir = optarg;
			break;
		case 'f':
			if (parse_num(optarg, 1 << 20, 1ull << 40, &v) != 0) {
				return bad("--file-bytes", "1 MiB .. 1 TiB");
			}
			/* Whole MiB: the file is laid out in 1 MiB writes. */
			cfg->file_bytes = (uint64_t)v / (1 << 20) * (1 << 20);
			break;
		case 'a':
			if (strlen(optarg) >= sizeof(addrs) || split3(strcpy(addrs, optarg), parts) != 0) {
				return bad("--addrs", "three IP:PORT, comma-separated");
			}
			for (int i = 0; i < 3; i++) {
				if (parse_addr(parts[i], &cfg->addr[i]) != 0) {
					return bad("--addrs", "three IP:PORT, comma-separated");
				}
			}
			break;
		case 'N':
			if (split3(optarg, parts) != 0) {
				return bad("--netns", "three namespace names, comma-separated");
			}
			for (int i = 0; i < 3; i++) {
				cfg->netns[i] = parts[i];
			}
			break;
		case 'i':
			if (strcmp(optarg, "1") != 0 && strcmp(optarg, "2") != 0) {
				return bad("--index", "1 or 2");
			}
			*index = optarg[0] - '0';
			break;
		case 's':
			if (parse_num(optarg, 0, 100000, &v) != 0 || v != (uint32_t)v ||
			    (v > 0 && v < 100)) {
				return bad("--sched-slice-us", "0 or 100..100000");
			}
			cfg->slice_us = (uint32_t)v;
			break;
		case 'r':
			if (parse_num(optarg, 1, 16, &v) != 0 || v != (unsigned)v) {
				return bad("--writers", "1..16");
			}
			cfg->disk_writers = (unsigned)v;
			break;
		case 'l':
			cfg->disk_lockstep = 1;
			break;
		case 'j':
			cfg->json = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return 2;
		}
	}
	if (cfg->addr[0].sin_family == 0) {
		for (int i = 0; i < 3; i++) {
			(void)parse_addr(addrs_default[i], &cfg->addr[i]);
		}
	}
	return 0;
}

static double pct_us(const struct bench_hist *h, double q)
{
	return (double)bench_hist_percentile(h, q) / 1e3;
}

static void print_writer(FILE *f, const char *name, const struct bp_stats *s, int last)
{
	fprintf(f,
		"\"%s\":{\"ok\":%s,\"writes\":%llu,\"write_us_p50\":%.1f,\"write_us_p99\":%.1f,"
		"\"write_us_max\":%.1f,\"batches\":%llu,\"records\":%llu,\"seq_gaps\":%llu,"
		"\"cpu_s\":%.3f}%s",
		name, s->ok ? "true" : "false", (unsigned long long)s->writes, pct_us(&s->write_ns, 0.5),
		pct_us(&s->write_ns, 0.99), pct_us(&s->write_ns, 1.0), (unsigned long long)s->batches,
		(unsigned long long)s->records, (unsigned long long)s->seq_gaps, s->cpu_s, last ? "" : ",");
}

/* st[0] client, st[1] leader, st[2], st[3] followers (run mode). */
static void report(const struct bp_config *cfg, const struct bp_stats *st, int roles)
{
	const struct bp_stats *c = &st[0];
	const struct bench_hist *h = &c->latency_ns;
	double per_s = c->measured_s > 0 ? (double)c->commits / c->measured_s : 0;
	double cpu_s = 0;
	for (int i = 0; i < roles; i++) {
		cpu_s += st[i].cpu_s;
	}
	const char *transport = cfg->netns[0] != NULL ? "netns" : "loopback";
	const char *mode = cfg->write_mode == BP_WRITE_DIRECT ? "direct" : "dsync";
	if (!cfg->json) {
		printf("barepipe %s, %s, %u in flight, %u B values: %.0f commits/s, latency p50 %.1f us, "
		       "p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
		       transport, mode, cfg->inflight, cfg->value_bytes, per_s, pct_us(h, 0.5),
		       pct_us(h, 0.99), pct_us(h, 0.999), pct_us(h, 1.0));
		for (int i = 1; i < roles; i++) {
			printf("  %s: durable write p50 %.1f us p99 %.1f us, %llu writes, cpu %.2f s\n",
			       i == 1 ? "leader" : "follower", pct_us(&st[i].write_ns, 0.5),
			       pct_us(&st[i].write_ns, 0.99), (unsigned long long)st[i].writes, st[i].cpu_s);
		}
		return;
	}
	printf("{\"tool\":\"barepipe\",\"mode\":\"closed\",\"transport\":\"%s\",\"write\":\"%s\","
	       "\"concurrency\":%u,\"duration_s\":%.1f,\"warmup_s\":%.1f,\"value_bytes\":%u,"
	       "\"commits\":%llu,\"commits_per_s\":%.1f,\"latency_us_p50\":%.1f,"
	       "\"latency_us_p90\":%.1f,\"latency_us_p99\":%.1f,\"latency_us_p999\":%.1f,"
	       "\"latency_us_max\":%.1f,\"latency_us_mean\":%.1f,\"reply_datagrams\":%llu,"
	       "\"cpu_s\":%.3f,\"cpu_us_per_commit\":%.1f,\"sched_slice_us\":%u",
	       transport, mode, cfg->inflight, cfg->duration_s, cfg->warmup_s, cfg->value_bytes,
	       (unsigned long long)c->commits, per_s, pct_us(h, 0.5), pct_us(h, 0.9), pct_us(h, 0.99),
	       pct_us(h, 0.999), pct_us(h, 1.0), bench_hist_mean(h) / 1e3,
	       (unsigned long long)c->batches, cpu_s, c->commits ? cpu_s * 1e6 / (double)c->commits : 0,
	       cfg->slice_us);
	if (roles == 4) {
		printf(",\"mean_batch_requests\":%.2f,",
		       st[1].batches ? (double)st[1].records / (double)st[1].batches : 0);
		print_writer(stdout, "leader", &st[1], 0);
		print_writer(stdout, "follower1", &st[2], 0);
		print_writer(stdout, "follower2", &st[3], 1);
	}
	printf("}\n");
}

static void enter_netns(const char *ns)
{
	char path[300];
	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
		fprintf(stderr, "barepipe: entering network namespace %s: %s\n", ns, strerror(errno));
		_exit(1);
	}
	close(fd);
}

/* Forks the leader and the followers, waits until all three listen, runs
 * the client here, then collects the roles' figures. */
static int run_all(struct bp_config *cfg)
{
	struct bp_stats *st = mmap(NULL, 4 * sizeof(*st), PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int ready[2];
	if (st == MAP_FAILED || pipe(ready) != 0) {
		fprintf(stderr, "barepipe: mmap/pipe: %s\n", strerror(errno));
		return 1;
	}
	memset(st, 0, 4 * sizeof(*st));
	pid_t pids[3];
	for (int r = 0; r < 3; r++) {
		pids[r] = fork();
		if (pids[r] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the run */
			close(ready[0]);
			cfg->ready_fd = ready[1];
			if (cfg->netns[r] != NULL) {
				enter_netns(cfg->netns[r]);
			}
			int rc = r == 0 ? bp_leader(cfg, &st[1]) : bp_follower(cfg, r, &st[1 + r]);
			_exit(rc == 0 ? 0 : 1);
		}
		if (pids[r] < 0) {
			fprintf(stderr, "barepipe: fork: %s\n", strerror(errno));
			return 1;
		}
	}
	close(ready[1]);
	int got = 0;
	char b[3];
	struct pollfd p = {.fd = ready[0], .events = POLLIN};
	while (got < 3 && poll(&p, 1, 120 * 1000) == 1) {
		ssize_t n = read(ready[0], b, sizeof(b));
		if (n <= 0) {
			break; /* a role died before it listened: it said why */
		}
		got += (int)n;
	}
	int rc = 1;
	if (got == 3) {
		rc = bp_client(cfg, &st[0]) == 0 ? 0 : 1;
	} else {
		fprintf(stderr, "barepipe: the leader and followers did not all start\n");
	}
	for (int r = 0; r < 3; r++) {
		if (rc != 0) {
			kill(pids[r], SIGTERM);
		}
		int status;
		if (waitpid(pids[r], &status, 0) != pids[r] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			rc = 1;
		}
	}
	if (rc == 0) {
		report(cfg, st, 4);
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct bp_config cfg = {.dir = "/var/tmp", .file_bytes = 32u << 20, .inflight = 1,
				.value_bytes = 64, .duration_s = 10, .warmup_s = 1, .slice_us = 100,
				.disk_writers = 3, .ready_fd = -1};
	const char *role = "run";
	if (argc > 1 && argv[1][0] != '-') {
		role = argv[1];
		argv++, argc--;
	}
	int index = 1;
	int rc = parse(argc, argv, &cfg, &index);
	if (rc != 0) {
		return rc;
	}
	if (optind < argc) {
		return bad(argv[optind], "unexpected argument");
	}
	static struct bp_stats st;
	signal(SIGPIPE, SIG_IGN);
	/* Before the fork: the roles inherit it (sched_setattr is per thread,
	 * and a child's one thread takes its parent's attributes). */
	rc = bp_slice_set(&cfg);
	if (rc != 0) {
		fprintf(stderr, "barepipe: --sched-slice-us %u not set (%s): the kernel's slice\n",
			cfg.slice_us, strerror(-rc));
		cfg.slice_us = 0;
	}
	if (strcmp(role, "run") == 0) {
		return run_all(&cfg);
	}
	if (strcmp(role, "disk") == 0) {
		return bp_disk(&cfg);
	}
	if (cfg.netns[0] != NULL) {
		return bad("--netns", "only with run (start a single role with ip netns exec)");
	}
	if (strcmp(role, "client") == 0) {
		rc = bp_client(&cfg, &st);
		if (rc == 0) {
			report(&cfg, &st, 1);
		}
	} else if (strcmp(role, "leader") == 0 || strcmp(role, "follower") == 0) {
		int is_leader = role[0] == 'l';
		rc = is_leader ? bp_leader(&cfg, &st) : bp_follower(&cfg, index, &st);
		fprintf(stderr, "barepipe %s: %llu durable writes, p50 %.1f us, p99 %.1f us\n", role,
			(unsigned long long)st.writes, pct_us(&st.write_ns, 0.5),
			pct_us(&st.write_ns, 0.99));
	} else {
		return bad(role, "not a role: run, leader, follower, client or disk");
	}
	return rc == 0 ? 0 : 1;
}
