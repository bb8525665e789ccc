/* SPDX-License-Identifier: MIT */
/*
 * config_members.c - the cluster file's members: each [member.N] section
 * (where node N is: ip, mac, host, udp_port), [cluster] initial_members,
 * and their checks.
 *
 * The file holds the cluster's FIRST configuration: initial_members (all
 * [member.N] without that key). Later changes live in the log and the
 * snapshots (raftctl member ...), never here: a [member.N] of a node that
 * is not initial only says where that node is, so that it can start with
 * --join and the operator can name its address once.
 */
#include <stdlib.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "config_internal.h"

bool config_member(struct config_parse *cp, raft_node_id id, const char *key, const char *v)
{
	struct node_config *c = cp->cfg;
	struct node_member *m = NULL;
	for (uint32_t i = 0; i < c->members_count; i++) {
		if (c->members[i].id == id) {
			m = &c->members[i];
		}
	}
	if (m == NULL) {
		if (c->members_count == NODE_MEMBERS_MAX) {
			return false;
		}
		m = &c->members[c->members_count++];
		*m = (struct node_member){.id = id, .udp_port = 9000, .mac_auto = true};
	}
	uint64_t x;
	if (strcmp(key, "ip") == 0) {
		struct in_addr a;
		if (inet_pton(AF_INET, v, &a) != 1) {
			return false;
		}
		snprintf(m->ip, sizeof(m->ip), "%s", v);
		m->ip_be = a.s_addr;
	} else if (strcmp(key, "mac") == 0) {
		unsigned b[6];
		char tail;
		if (strcmp(v, "auto") == 0) {
			m->mac_auto = true;
		} else if (sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
				  &b[5], &tail) == 6) {
			for (int i = 0; i < 6; i++) {
				m->mac[i] = (uint8_t)b[i];
			}
			m->mac_auto = false;
		} else {
			return false;
		}
	} else if (strcmp(key, "host") == 0 && config_u64(v, 0, UINT32_MAX, false, &x)) {
		m->host = (uint32_t)x;
	} else if (strcmp(key, "udp_port") == 0 && config_u64(v, 1, 65535, false, &x)) {
		m->udp_port = (uint16_t)x;
	} else {
		return false;
	}
	return true;
}

bool config_initial_members(struct config_parse *cp, const char *v)
{
	struct node_config *c = cp->cfg;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", v);
	c->initial_ids_count = 0;
	for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t != NULL;
	     t = strtok_r(NULL, ", ", &save)) {
		uint64_t id;
		if (c->initial_ids_count == NODE_MEMBERS_MAX || !config_u64(t, 1, UINT32_MAX, false, &id)) {
			return false;
		}
		for (uint32_t i = 0; i < c->initial_ids_count; i++) {
			if (c->initial_ids[i] == id) {
				return false;
			}
		}
		c->initial_ids[c->initial_ids_count++] = (raft_node_id)id;
	}
	return c->initial_ids_count > 0;
}

/* Relations between the members, once everything is read. */
void config_members_check(struct config_parse *cp)
{
	struct node_config *c = cp->cfg;
	if (cp->failed) {
		return;
	}
	if (c->members_count == 0) {
		config_error(cp, "member.1", "ip", "no [member.N] section: who is in the cluster?");
	}
	for (uint32_t i = 0; i < c->members_count && !cp->failed; i++) {
		char section[32];
		snprintf(section, sizeof(section), "member.%u", c->members[i].id);
		if (c->members[i].ip[0] == '\0') {
			config_error(cp, section, "ip", "missing");
		}
	}
	bool self_found = false;
	for (uint32_t i = 0; i < c->members_count; i++) {
		self_found |= c->members[i].id == cp->self;
	}
	if (!self_found && !cp->failed) {
		char section[32];
		snprintf(section, sizeof(section), "member.%u", cp->self);
		config_error(cp, section, "ip", "node %u is not a member of the cluster file: no "
			     "[member.%u] section (every node, one that joins with --join too, "
			     "needs one: its address)", cp->self, cp->self);
	}
	/* The first configuration: the listed ids, or every section. */
	c->initial_count = 0;
	for (uint32_t i = 0; i < c->members_count; i++) {
		bool listed = c->initial_ids_count == 0;
		for (uint32_t k = 0; k < c->initial_ids_count; k++) {
			listed |= c->initial_ids[k] == c->members[i].id;
		}
		c->members[i].initial = listed;
		c->initial_count += listed ? 1u : 0u;
	}
	for (uint32_t k = 0; k < c->initial_ids_count && !cp->failed; k++) {
		bool found = false;
		for (uint32_t i = 0; i < c->members_count; i++) {
			found |= c->members[i].id == c->initial_ids[k];
		}
		if (!found) {
			config_error(cp, "cluster", "initial_members", "node %u has no [member.%u] "
				     "section (where is it?)", c->initial_ids[k], c->initial_ids[k]);
		}
	}
}
