/* SPDX-License-Identifier: MIT */
/*
 * config_check.c - loads a cluster config (the one scripts/cluster.sh up
 * writes) with the loader the node uses, node_config_load() (config/), once
 * for every node id given, and prints what each node would run with. Exits
 * 1 naming the first id whose load fails, with the loader's message: the
 * cluster script's output is checked against the parser the daemon uses.
 * usage: cluster_config_check FILE ID...
 */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s FILE ID...\n", argv[0]);
		return 2;
	}
	static struct node_config cfg; /* large: not on the stack */
	for (int a = 2; a < argc; a++) {
		char errmsg[512];
		raft_node_id id = (raft_node_id)strtoul(argv[a], NULL, 10);
		if (node_config_load(argv[1], id, &cfg, errmsg, sizeof(errmsg)) != 0) {
			fprintf(stderr, "config_check: node %u: %s\n", id, errmsg);
			return 1;
		}
		printf("node %u: members %u, transport %s, dpdk_port '%s', lcores '%s', "
		       "data_dir %s, election %u ms, heartbeat %u ms, durability %s\n",
		       id, cfg.members_count, node_transport_name(cfg.transport), cfg.dpdk_port,
		       cfg.lcores, cfg.data_dir, cfg.election_timeout_ms, cfg.heartbeat_interval_ms,
		       node_durability_name(cfg.durability));
	}
	return 0;
}
