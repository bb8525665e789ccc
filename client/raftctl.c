/* SPDX-License-Identifier: MIT */
/*
 * raftctl.c - the command line client of a raftnode cluster: put, get,
 * del, cas, status, transfer-leader, member (raftctl_member.c) and reload
 * (raftctl_reload.c) over the client library (sync
 * calls, one request at a time, so retried writes are exactly-once).
 *
 * Exit codes: 0 done; 1 the operation failed (not found, cas failed,
 * refused, timed out: one line on stderr); 2 usage or configuration error
 * (one line on stderr naming what is wrong).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftctl.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

struct ctl {
	const char *config_path;
	uint32_t node_id; /* 0 = the configuration's first node */
	bool json;
	bool stale;
	uint32_t timeout_ms; /* 0 = the library's default deadline */
	bool pin;	     /* --pin: only --node, no redirects, no failover */
	const char *admin_key; /* --admin-key FILE: reload seals with it */
	const char *cmd;
	char **args;
	int args_count;
	struct rn_client *client;
	struct rn_client_config cfg_nodes; /* the configuration's nodes (no keys) */
};

static void ctl_usage(FILE *out)
{
	fprintf(out,
		"usage: raftctl [--config FILE] [--node ID] [--json] [--timeout-ms N] [--stale] [--pin]\n"
		"               COMMAND ARGS   (options anywhere; -- ends them)\n"
		"\n"
		"Talks to a raftnode cluster over UDP with the cluster's authenticated frames.\n"
		"\n"
		"commands:\n"
		"  put KEY VALUE          write KEY\n"
		"  get KEY                print KEY's value (exit 1 if not found)\n"
		"  del KEY                delete KEY (exit 1 if not found)\n"
		"  cas KEY EXPECTED NEW   set KEY to NEW if it is EXPECTED (exit 1 if not)\n"
		"  status                 the node's role, term, leader, indexes, followers,\n"
		"                         counters (--json: the node's JSON as it is)\n"
		"  transfer-leader ID     ask the leader to hand leadership to node ID\n"
		"  member list            the configuration in force as the leader (or --node)\n"
		"                         sees it: id=N role=voter|learner ip= udp_port= mac=\n"
		"                         match=INDEX per member, then config_index=I pending=0|1\n"
		"  member add-learner ID IP[:PORT][,mac=MAC|auto][,host=H]\n"
		"                         add node ID as a learner (it receives the log, does\n"
		"                         not vote); PORT defaults to member 1's. Start it with\n"
		"                         raftnode --join. Waits until the change is committed\n"
		"  member promote ID      make learner ID a voter (once it has caught up)\n"
		"  member remove ID       remove voter or learner ID (the leader too)\n"
		"                         (refusals name the core's error: not_leader,\n"
		"                         change_pending, term_not_committed, unknown_member,\n"
		"                         member_exists, members_full, last_voter,\n"
		"                         learner_behind)\n"
		"  snapshot save FILE     copy the node's (--node, default the first) newest\n"
		"                         snapshot, verified, from its data directory (on this\n"
		"                         machine) to FILE: a backup; raftnode --from-snapshot\n"
		"                         FILE starts a new cluster from it\n"
		"  metrics                the node's (--node) Prometheus metrics, fetched over\n"
		"                         HTTP from its [node] metrics_addr\n"
		"  reload                 the node (--node) or every node, one after the other,\n"
		"                         re-reads its key files as on SIGHUP; prints the keys\n"
		"                         in force, or the error (old keys kept; exit 1). Needs\n"
		"                         an admin key: --admin-key FILE, else [cluster]\n"
		"                         admin_key_file (a client key is refused and counted)\n"
		"\n"
		"options:\n"
		"  --config FILE     cluster configuration (default: $RAFTNODE_CONFIG, else\n"
		"                    %s)\n"
		"  --node ID         the node to ask first (status: the only one asked);\n"
		"                    redirects to the leader are followed\n"
		"  --json            one JSON object per result on stdout\n"
		"  --timeout-ms N    give up after N ms (default 5000)\n"
		"  --stale           get: read the node's applied state, no ReadIndex\n"
		"  --pin             talk to --node only: follow no redirect, try no other node\n"
		"  --admin-key FILE  reload: seal with this key file's first key (mode 600)\n"
		"  -h, --help        this text\n"
		"\n"
		"exit: 0 ok, 1 operation failed (not found, cas failed, timeout), 2 usage or\n"
		"      configuration error\n",
		RN_CLIENT_CONFIG_DEFAULT);
}

static int ctl_usage_error(const char *fmt, const char *what)
{
	fputs("raftctl: ", stderr);
	fprintf(stderr, fmt, what);
	fputs(" (raftctl --help)\n", stderr);
	return EXIT_USAGE;
}

static bool ctl_parse_u32(const char *s, uint32_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > UINT32_MAX) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* Global options up to the command. EXIT_OK to go on, -1 after --help. */
static int ctl_parse(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"node", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},	  {"timeout-ms", required_argument, NULL, 't'},
		{"stale", no_argument, NULL, 's'},	  {"help", no_argument, NULL, 'h'},
		{"pin", no_argument, NULL, 'p'},	  {"admin-key", required_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': ctl->config_path = optarg; break;
		case 'j': ctl->json = true; break;
		case 's': ctl->stale = true; break;
		case 'p': ctl->pin = true; break;
		case 'a': ctl->admin_key = optarg; break;
		case 'h': ctl_usage(stdout); return -1;
		case 'n':
			if (!ctl_parse_u32(optarg, &ctl->node_id) || ctl->node_id == 0) {
				return ctl_usage_error("--node wants a node id (1, 2, ...), not '%s'",
						       optarg);
			}
			break;
		case 't':
			if (!ctl_parse_u32(optarg, &ctl->timeout_ms) || ctl->timeout_ms == 0) {
				return ctl_usage_error("--timeout-ms wants a positive number, not '%s'",
						       optarg);
			}
			break;
		default:
			return ctl_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc) {
		return ctl_usage_error("%s", "no command given");
	}
	ctl->cmd = argv[optind];
	ctl->args = argv + optind + 1;
	ctl->args_count = argc - optind - 1;
	return EXIT_OK;
}

/* reload: the client's key replaced by the admin key file's (--admin-key,
 * else [cluster] admin_key_file); none: the client key goes, and the node
 * says no. 0 or -1 after saying why. */
static int ctl_admin_key(const struct ctl *ctl, struct rn_client_config *cfg)
{
	const char *path = ctl->admin_key != NULL ? ctl->admin_key : cfg->admin_key_file;
	char errmsg[512];
	if (strcmp(ctl->cmd, "reload") != 0 || path[0] == '\0') {
		return 0;
	}
	dp_key_file_wipe(&cfg->client_key);
	if (dp_key_file_load(path, &cfg->client_key, errmsg, sizeof(errmsg)) != 0) {
		fprintf(stderr, "raftctl: admin key: %s\n", errmsg);
		return -1;
	}
	return 0;
}

static int ctl_open(struct ctl *ctl)
{
	struct rn_client_config cfg;
	char errmsg[512];
	const char *path = ctl->config_path != NULL ? ctl->config_path
						    : rn_client_config_default_path();
	int rc = rn_client_config_load(path, &cfg, errmsg, sizeof(errmsg));
	if (rc != 0) {
		fprintf(stderr, "raftctl: %s\n", errmsg);
		return EXIT_USAGE;
	}
	cfg.inflight_max = 1; /* one request at a time */
	if (ctl->timeout_ms != 0) {
		cfg.deadline_ms = ctl->timeout_ms;
		cfg.timeout_ms = ctl->timeout_ms < 200 ? ctl->timeout_ms : 200;
	}
	cfg.target_id = ctl->node_id;
	cfg.pin_target = ctl->pin;
	if (ctl_admin_key(ctl, &cfg) != 0) {
		rn_client_config_wipe(&cfg);
		return EXIT_USAGE;
	}
	rc = rn_client_open(&cfg, &ctl->client);
	rn_client_config_wipe(&cfg);
	ctl->cfg_nodes = cfg; /* reload walks the nodes (the keys wiped) */
	if (rc == -RN_CLIENT_E_BAD_NODE) {
		fprintf(stderr, "raftctl: --node %u: no [member.%u] in %s\n", ctl->node_id,
			ctl->node_id, path);
		return EXIT_USAGE;
	}
	if (rc != 0) {
		fprintf(stderr, "raftctl: cannot start the client: %s\n", rn_client_strerror(rc));
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* After a timeout: frames of another wire version mean the nodes run
 * another raftnode version, which also drops ours (drops.bad_version);
 * say so rather than leave "no answer" unexplained. */
static void ctl_explain_silence(const struct ctl *ctl)
{
	struct rn_client_counters cc;
	rn_client_get_counters(ctl->client, &cc);
	if (cc.rx_bad_version > 0) {
		fprintf(stderr,
			"raftctl: %llu frame(s) came back in another wire version than this "
			"raftctl's (%u): the nodes run a different raftnode version and drop "
			"this client's frames (their drops.bad_version counts them)\n",
			(unsigned long long)cc.rx_bad_version, DP_WIRE_VERSION);
	} else if (cc.frames_received == 0) {
		fprintf(stderr,
			"raftctl: nothing came back: the nodes are down or unreachable, or run a "
			"raftnode whose wire version is not %u (they drop these frames and count "
			"them in drops.bad_version)\n",
			DP_WIRE_VERSION);
	}
}

/* Prints a key-value call's outcome; returns the exit code. */
static int ctl_report(const struct ctl *ctl, int rc, const struct rn_client_result *res,
		      bool print_value)
{
	if (rc != 0 && rc != -RN_CLIENT_E_TIMEOUT) {
		fprintf(stderr, "raftctl: %s: %s\n", ctl->cmd, rn_client_strerror(rc));
		return EXIT_FAILED;
	}
	const char *name = rc != 0 ? "timeout" : rn_client_status_name(res->status);
	if (ctl->json) {
		raftctl_print_result_json(stdout, name, res);
	}
	if (rc != 0) {
		fprintf(stderr, "raftctl: %s: no answer from the cluster (last node tried: %u)\n",
			ctl->cmd, res->node_id);
		ctl_explain_silence(ctl);
		return EXIT_FAILED;
	}
	if (res->status == DP_CLIENT_OK) {
		if (!ctl->json && print_value) {
			fwrite(res->value, 1, res->value_bytes, stdout);
			fputc('\n', stdout);
		}
		return EXIT_OK;
	}
	if (res->status == DP_CLIENT_NOT_FOUND) {
		fprintf(stderr, "raftctl: %s: not found\n", ctl->cmd);
	} else if (res->status == DP_CLIENT_CAS_FAILED) {
		fprintf(stderr, "raftctl: cas failed: the current value is not the expected one\n");
	} else if (res->status == DP_CLIENT_NO_SPACE) {
		fprintf(stderr, "raftctl: %s: refused by node %u (no_space): its disk has no room "
				"for the log's next segment beside the reserve; the write was not "
				"applied (`raftctl status` shows the alarm; free space there)\n",
			ctl->cmd, res->node_id);
	} else {
		fprintf(stderr, "raftctl: %s: refused by node %u (%s)\n", ctl->cmd, res->node_id,
			name);
	}
	return EXIT_FAILED;
}

static uint32_t ctl_bytes(const char *s)
{
	return (uint32_t)strlen(s);
}

static int ctl_kv(struct ctl *ctl)
{
	struct rn_client_result res;
	char **a = ctl->args;
	int rc;
	if (strcmp(ctl->cmd, "put") == 0) {
		rc = rn_client_put(ctl->client, a[0], ctl_bytes(a[0]), a[1], ctl_bytes(a[1]), &res);
	} else if (strcmp(ctl->cmd, "get") == 0) {
		rc = rn_client_get(ctl->client, a[0], ctl_bytes(a[0]), ctl->stale, &res);
	} else if (strcmp(ctl->cmd, "del") == 0) {
		rc = rn_client_del(ctl->client, a[0], ctl_bytes(a[0]), &res);
	} else {
		rc = rn_client_cas(ctl->client, a[0], ctl_bytes(a[0]), a[1], ctl_bytes(a[1]), a[2],
				   ctl_bytes(a[2]), &res);
	}
	return ctl_report(ctl, rc, &res, strcmp(ctl->cmd, "get") == 0);
}

static int ctl_status(struct ctl *ctl)
{
	struct rn_client_result res;
	int rc = rn_client_status(ctl->client, ctl->node_id, &res);
	if (rc != 0 || res.status != DP_CLIENT_OK) {
		return ctl_report(ctl, rc, &res, false);
	}
	if (ctl->json) {
		fwrite(res.value, 1, res.value_bytes, stdout);
		fputc('\n', stdout);
	} else {
		printf("node %u\n", res.node_id);
		raftctl_print_status(stdout, res.value, res.value_bytes);
	}
	return EXIT_OK;
}

static int ctl_transfer(struct ctl *ctl)
{
	uint32_t target_id;
	if (!ctl_parse_u32(ctl->args[0], &target_id) || target_id == 0) {
		return ctl_usage_error("transfer-leader wants a node id, not '%s'", ctl->args[0]);
	}
	struct rn_client_result res;
	int rc = rn_client_transfer(ctl->client, target_id, &res);
	if (rc == -RN_CLIENT_E_BAD_NODE) {
		return ctl_usage_error("transfer-leader: node %s is not in the configuration",
				       ctl->args[0]);
	}
	int code = ctl_report(ctl, rc, &res, false);
	if (code == EXIT_OK && !ctl->json) {
		printf("leadership transfer to node %s requested from node %u\n", ctl->args[0],
		       res.node_id);
	}
	return code;
}

static int ctl_snapshot(struct ctl *ctl)
{
	if (strcmp(ctl->args[0], "save") != 0) {
		return ctl_usage_error("snapshot: unknown subcommand '%s' (save FILE)", ctl->args[0]);
	}
	const char *path = ctl->config_path != NULL ? ctl->config_path
						    : rn_client_config_default_path();
	uint32_t node = ctl->node_id;
	if (node == 0) {
		struct rn_client_config cfg;
		char errmsg[512];
		if (rn_client_config_load(path, &cfg, errmsg, sizeof(errmsg)) != 0) {
			fprintf(stderr, "raftctl: %s\n", errmsg);
			return EXIT_USAGE;
		}
		node = cfg.nodes[0].id;
		rn_client_config_wipe(&cfg);
	}
	return raftctl_snapshot_save(path, node, ctl->args[1], ctl->json);
}

/* Over HTTP from the node's metrics_addr (raftctl_metrics.c): no client. */
static int ctl_metrics(struct ctl *ctl)
{
	const char *path = ctl->config_path != NULL ? ctl->config_path
						    : rn_client_config_default_path();
	struct rn_client_config cfg;
	char errmsg[512];
	if (ctl->node_id == 0 && rn_client_config_load(path, &cfg, errmsg, sizeof(errmsg)) != 0) {
		fprintf(stderr, "raftctl: %s\n", errmsg);
		return EXIT_USAGE;
	}
	return raftctl_metrics(path, ctl->node_id != 0 ? ctl->node_id : cfg.nodes[0].id,
			       ctl->timeout_ms != 0 ? ctl->timeout_ms : 5000);
}

static int ctl_member(struct ctl *ctl)
{
	struct rn_client_config cfg;
	char errmsg[512];
	const char *path = ctl->config_path != NULL ? ctl->config_path
						    : rn_client_config_default_path();
	if (rn_client_config_load(path, &cfg, errmsg, sizeof(errmsg)) != 0) {
		fprintf(stderr, "raftctl: %s\n", errmsg);
		return EXIT_USAGE;
	}
	rn_client_config_wipe(&cfg);
	return raftctl_member(ctl->client, &cfg, ctl->node_id, ctl->pin, ctl->json, ctl->args,
			      ctl->args_count);
}

static int ctl_reload(struct ctl *ctl)
{
	return raftctl_reload(ctl->client, &ctl->cfg_nodes, ctl->node_id, ctl->json);
}

struct ctl_command {
	const char *name;
	int args_count;
	const char *args_usage;
	int (*run)(struct ctl *ctl);
};

static const struct ctl_command ctl_commands[] = {
	{"put", 2, "put KEY VALUE", ctl_kv},
	{"get", 1, "get KEY", ctl_kv},
	{"del", 1, "del KEY", ctl_kv},
	{"cas", 3, "cas KEY EXPECTED NEW", ctl_kv},
	{"status", 0, "status", ctl_status},
	{"transfer-leader", 1, "transfer-leader ID", ctl_transfer},
	{"snapshot", 2, "snapshot save FILE", ctl_snapshot},
	{"metrics", 0, "metrics", ctl_metrics},
	{"reload", 0, "reload", ctl_reload},
	{"member", -1, "member list | add-learner ID ADDR | promote ID | remove ID", ctl_member},
};

int main(int argc, char **argv)
{
	struct ctl ctl = {0};
	int code = ctl_parse(&ctl, argc, argv);
	if (code != EXIT_OK) {
		return code < 0 ? EXIT_OK : code;
	}
	const struct ctl_command *cmd = NULL;
	for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++) {
		if (strcmp(ctl.cmd, ctl_commands[i].name) == 0) {
			cmd = &ctl_commands[i];
		}
	}
	if (cmd == NULL) {
		return ctl_usage_error("unknown command '%s'", ctl.cmd);
	}
	for (int i = 0; i < ctl.args_count; i++) {
		if (strcmp(ctl.args[i], "--help") == 0 || strcmp(ctl.args[i], "-h") == 0) {
			printf("usage: raftctl [OPTIONS] %s\n\n", cmd->args_usage);
			ctl_usage(stdout);
			return EXIT_OK;
		}
	}
	if (cmd->args_count >= 0 && ctl.args_count != cmd->args_count) {
		return ctl_usage_error("usage: raftctl [OPTIONS] %s", cmd->args_usage);
	}
	if (cmd->run == ctl_snapshot || cmd->run == ctl_metrics) {
		return cmd->run(&ctl); /* files or HTTP only: no client */
	}
	code = ctl_open(&ctl);
	if (code != EXIT_OK) {
		return code;
	}
	code = cmd->run(&ctl);
	rn_client_close(ctl.client);
	return code;
}
