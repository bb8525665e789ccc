/* SPDX-License-Identifier: MIT */
/*
 * client_config.c - a client's configuration from the nodes' own INI file
 * (node_config_load of the config module, format in config/example.ini):
 * the cluster id, the members' addresses and the client key file's keys.
 *
 * node_config_load reads the file for one member (`self`) and refuses an id
 * that is not a member. A client is no member, so it first reads the file
 * as node 1; when the cluster has no node 1 it reads it again as its first
 * member. The members and every other check are the same either way.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client_internal.h"
#include "common.h"
#include "config.h"

const char *rn_client_config_default_path(void)
{
	const char *env = getenv("RAFTNODE_CONFIG");
	return env != NULL && env[0] != '\0' ? env : RN_CLIENT_CONFIG_DEFAULT;
}

static bool config_has_member(const struct node_config *nc, raft_node_id id)
{
	for (uint32_t i = 0; i < nc->members_count; i++) {
		if (nc->members[i].id == id) {
			return true;
		}
	}
	return false;
}

void rn_client_config_wipe(struct rn_client_config *cfg)
{
	RN_ASSERT(cfg != NULL);
	dp_key_file_wipe(&cfg->client_key);
	sodium_memzero(cfg->secret, sizeof(cfg->secret));
}

static void config_members(const struct node_config *nc, struct rn_client_config *cfg)
{
	_Static_assert(NODE_MEMBERS_MAX <= RAFT_NODES_MAX, "members fit the client's table");
	cfg->cluster_id = nc->cluster_id;
	cfg->nodes_count = nc->members_count;
	cfg->client_encryption = nc->client_encryption;
	cfg->auth_off = nc->auth_off;
	/* Kernel UDP nodes take a jumbo datagram (the kernel reassembles
	 * what the path's MTU splits); a DPDK node only what its port's frame
	 * holds: its mtu_bytes (cluster.sh writes the largest its device
	 * carries), else the default (1500-byte MTU). */
	if (nc->transport == NODE_TRANSPORT_UDP) {
		cfg->frame_bytes_max = DP_FRAME_BYTES_MAX;
	} else if (nc->mtu_bytes > 0) {
		cfg->frame_bytes_max = (uint32_t)rn_min_u64((uint64_t)nc->mtu_bytes + DP_ETH_HDR_BYTES,
							     DP_FRAME_BYTES_MAX);
	}
	for (uint32_t i = 0; i < nc->members_count; i++) {
		cfg->nodes[i] = (struct rn_client_node){.id = nc->members[i].id,
							.ip = ntohl(nc->members[i].ip_be),
							.udp_port = nc->members[i].udp_port};
	}
}

int rn_client_config_load(const char *path, struct rn_client_config *cfg, char *errmsg,
			  size_t errmsg_bytes)
{
	RN_ASSERT(path != NULL && cfg != NULL);
	RN_ASSERT(errmsg != NULL && errmsg_bytes > 0);
	struct node_config *nc = calloc(1, sizeof(*nc)); /* members_count 0 if unopened */
	if (nc == NULL) {
		snprintf(errmsg, errmsg_bytes, "%s: out of memory", path);
		return -ENOMEM;
	}
	int rc = node_config_load(path, 1, nc, errmsg, errmsg_bytes);
	if (rc != 0 && nc->members_count > 0 && !config_has_member(nc, 1)) {
		rc = node_config_load(path, nc->members[0].id, nc, errmsg, errmsg_bytes);
	}
	if (rc == 0) {
		rn_client_config_default(cfg);
		config_members(nc, cfg);
		/* The client key only: the peer key file is the nodes' (mode
		 * 600, another user's), never read here. */
		rc = dp_key_file_load(nc->client_key_file, &cfg->client_key, errmsg,
				      errmsg_bytes);
		snprintf(cfg->admin_key_file, sizeof(cfg->admin_key_file), "%s",
			 nc->admin_key_file);
	}
	free(nc);
	return rc;
}
