/* SPDX-License-Identifier: MIT */
/*
 * daemon_members.c - who the node starts with, and where they are.
 * stage: main (before any lcore runs).
 *
 * The cluster file holds the FIRST configuration (its initial members) and
 * the addresses of the [member.N] it lists; the configuration in force
 * lives in the log and the snapshots (recover.c, recover_snap.c take it
 * from there). Here:
 *  - the first configuration goes to the apply stage (which tracks it as
 *    it applies) and every listed address to control's address book;
 *  - join mode (--join): a node with an empty data directory starts as a
 *    non-member (the initial members without itself: MEMBERSHIP CONTRACT),
 *    never campaigns, and waits to be added as a learner; with a log it
 *    restarts from it, as any node;
 *  - --force-new-cluster: the core's force_new_cluster, said loudly;
 *  - the transport opens with a peer for every address the book holds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "daemon.h"

static struct dp_member_addr members_addr(const struct node_member *m)
{
	struct dp_member_addr a = {.ip = ntohl(m->ip_be), .udp_port = m->udp_port,
				   .mac_auto = m->mac_auto, .host = m->host};
	if (!m->mac_auto) {
		memcpy(a.mac, m->mac, 6);
	}
	return a;
}

static const struct node_member *members_self(const struct node_config *cfg)
{
	for (uint32_t i = 0; i < cfg->members_count; i++) {
		if (cfg->members[i].id == cfg->self) {
			return &cfg->members[i];
		}
	}
	return NULL;
}

int node_daemon_members(struct node_daemon *d, const struct node_start_opts *o, char *errmsg,
			size_t errmsg_bytes)
{
	const struct node_member *self = members_self(&d->cfg);
	struct node_conf *conf = &d->applystage.conf;
	RN_ASSERT(self != NULL); /* the configuration's check */
	RN_ASSERT(d->log != NULL);
	raft_index idx[1];
	bool fresh = store_last_index(d->log) == 0 && store_snap_list(d->cfg.data_dir, idx, 1) <= 0;
	memset(conf, 0, sizeof(*conf));
	for (uint32_t i = 0; i < d->cfg.members_count; i++) {
		const struct node_member *m = &d->cfg.members[i];
		struct dp_member_addr a = members_addr(m);
		node_addr_set(&d->control.members.book, m->id, &a, NULL);
		node_addr_set(&conf->book, m->id, &a, NULL);
		/* A joining node is no member of the first configuration, even
		 * one the file lists (a replacement of a lost node). */
		if (m->initial && !(o->join && fresh && m->id == d->cfg.self)) {
			conf->m.voters[conf->m.voters_count++] = m->id;
		}
	}
	if (conf->m.voters_count == 0) {
		snprintf(errmsg, errmsg_bytes, "--join: node %u is the cluster's only initial member: "
			 "there is no cluster to join", d->cfg.self);
		return -EINVAL;
	}
	if (!self->initial && !o->join && fresh) {
		snprintf(errmsg, errmsg_bytes, "node %u is not one of the cluster's initial members "
			 "([cluster] initial_members) and its data directory %s is empty: start it "
			 "with --join to join the running cluster (then `raftctl member add-learner "
			 "%u ADDR`)", d->cfg.self, d->cfg.data_dir, d->cfg.self);
		return -EINVAL;
	}
	if (o->join && fresh) {
		fprintf(stderr, "raftnode %u: --join: an empty data directory: starting as a "
			"non-member; this node never campaigns and waits to be added as a learner "
			"(raftctl member add-learner %u %s:%u), then takes the log or a snapshot\n",
			d->cfg.self, d->cfg.self, self->ip, self->udp_port);
	} else if (o->join) {
		fprintf(stderr, "raftnode %u: --join with a non-empty data directory (%s): "
			"restarting from it as any node does (its log and snapshots hold the "
			"configuration)\n", d->cfg.self, d->cfg.data_dir);
	}
	if (o->force_new_cluster) {
		d->control.raft_cfg.force_new_cluster = true;
		fprintf(stderr, "raftnode %u: WARNING: --force-new-cluster: this node restarts from its "
			"own data directory as the ONLY voter of the cluster, whatever the configuration "
			"its log and snapshots hold. Entries the old majority committed that this log "
			"lacks are LOST for good, and every other old member must be wiped (or never "
			"started again) before it rejoins, or two clusters claim the same history. "
			"Add the others back with raftctl member add-learner / promote.\n", d->cfg.self);
	}
	return 0;
}

/* [cluster] client_encryption and the benchmark-only auth = off on the
 * transport's codec (node_daemon_start refused auth = off without
 * --bench-allow-auth-off). */
static int daemon_wire_options(struct node_daemon *d, char *errmsg, size_t errmsg_bytes)
{
	int rc = dp_wire_set_client_seal(&d->transport.wire, d->cfg.client_encryption);
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "client_encryption: %s", dp_strerror(rc));
		return rc;
	}
	d->transport.wire.auth_off = d->cfg.auth_off;
	return 0;
}

int node_daemon_transport(struct node_daemon *d, char *errmsg, size_t errmsg_bytes)
{
	struct dp_peer peers[RAFT_NODES_MAX];
	uint32_t peers_count = 0;
	const struct node_member *self = members_self(&d->cfg);
	const struct node_addr_book *b = &d->control.members.book;
	RN_ASSERT(self != NULL);
	/* Every address the book holds but this node's: the members of the
	 * configuration first (the book may hold more ids than peers fit). */
	struct raft_membership m = d->applystage.conf.m;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < b->count && peers_count < RAFT_NODES_MAX; i++) {
			bool member = node_conf_role(&m, b->ids[i]) != DP_MEMBER_NONE;
			if (b->ids[i] == d->cfg.self || member != (pass == 0)) {
				continue;
			}
			const struct dp_member_addr *a = &b->addrs[i];
			peers[peers_count] = (struct dp_peer){.id = b->ids[i], .ip = a->ip,
							      .port = a->udp_port};
			if (!a->mac_auto) {
				memcpy(peers[peers_count].mac, a->mac, 6);
			}
			peers_count++;
		}
	}
	uint16_t self_port = self->udp_port;
	struct dp_transport_config tc = {
		.wire = {.cluster_id = d->cfg.cluster_id, .self_id = d->cfg.self,
			 .keys = &d->keys,
			 .udp_port = self_port},
		.self_ip = ntohl(self->ip_be), .peers = peers, .peers_count = peers_count};
	if (d->cfg.transport == NODE_TRANSPORT_UDP) {
		d->frame_body_bytes_max = DP_FRAME_BYTES_MAX - DP_FRAME_OVERHEAD_BYTES;
		int rc = dp_transport_open_udp(&d->transport, &tc);
		if (rc != 0) {
			snprintf(errmsg, errmsg_bytes, "udp transport: cannot bind %s:%u: %s", self->ip,
				 self_port, rc < 0 && rc > -4096 ? strerror(-rc) : dp_strerror(rc));
			return rc;
		}
		return daemon_wire_options(d, errmsg, errmsg_bytes);
	}
	char name[256];
	snprintf(name, sizeof(name), "%s", d->cfg.dpdk_port);
	name[strcspn(name, ",")] = '\0';
	uint16_t port_id;
	int rc = dp_port_find(name, &port_id);
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "dpdk_port '%s': no such DPDK port (%s)", name,
			 strerror(-rc));
		return rc;
	}
	/* Jumbo frames when the device takes them (cluster.sh gives every veth
	 * MTU 9000): whole batches per AppendEntries, large values. */
	struct dp_port_config pc = {.port_id = port_id, .mtu_bytes = d->cfg.mtu_bytes,
				    .rx_intr = d->cfg.idle == NODE_IDLE_EVENT};
	rc = dp_port_init(&d->port, &pc);
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "dpdk_port '%s': %s", name, d->port.errmsg);
		return rc;
	}
	d->port_open = true;
	uint32_t frame_bytes = (uint32_t)rn_min_u64((uint64_t)d->port.mtu_bytes + DP_ETH_HDR_BYTES,
					  DP_FRAME_BYTES_MAX);
	d->frame_body_bytes_max = frame_bytes - DP_FRAME_OVERHEAD_BYTES;
	rc = dp_transport_open_dpdk(&d->transport, &tc, &d->port);
	return rc != 0 ? rc : daemon_wire_options(d, errmsg, errmsg_bytes);
}
