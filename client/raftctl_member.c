/* SPDX-License-Identifier: MIT */
/*
 * raftctl_member.c - `raftctl member list | add-learner ID ADDR | promote
 * ID | remove ID`: the cluster's membership changes (wire version 5's
 * MEMBER requests).
 *
 * A change goes to the leader (redirects followed, as for writes) and is
 * answered once its configuration entry is committed, or refused at once
 * with the core's error named (change_pending, learner_behind, ...). The
 * client retransmits a request that got no answer in time; a change
 * appended by the first copy then makes the second refused
 * (change_pending, member_exists, unknown_member) although the operator's
 * change happened: in those cases raftctl reads the configuration and
 * calls it done when the change is in force and committed.
 *
 * ADDR is IP[:UDP_PORT][,mac=MAC|auto][,host=H]; the port defaults to the
 * cluster file's port of member 1 (9000 without one).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "raftctl.h"

enum { MEMBER_OK = 0, MEMBER_FAILED = 1, MEMBER_USAGE = 2 };

static int member_usage(const char *what)
{
	fprintf(stderr, "raftctl: member: %s (raftctl member list | add-learner ID "
		"IP[:PORT][,mac=MAC|auto][,host=H] | promote ID | remove ID)\n", what);
	return MEMBER_USAGE;
}

static bool member_u32(const char *s, uint32_t *out)
{
	char *end = NULL;
	unsigned long v = strtoul(s, &end, 10);
	if (end == s || *end != '\0' || s[0] == '-' || v == 0 || v > UINT32_MAX) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* IP[:PORT][,mac=MAC|auto][,host=H] into a; false with why set. */
static bool member_parse_addr(const char *s, uint16_t port_default, struct dp_member_addr *a,
			      const char **why)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", s);
	memset(a, 0, sizeof(*a));
	a->mac_auto = true;
	a->udp_port = port_default;
	char *save = NULL;
	char *ip = strtok_r(buf, ",", &save);
	char *colon = ip != NULL ? strchr(ip, ':') : NULL;
	struct in_addr in;
	uint32_t x;
	if (colon != NULL) {
		*colon = '\0';
		if (!member_u32(colon + 1, &x) || x > 65535) {
			*why = "the UDP port is not 1..65535";
			return false;
		}
		a->udp_port = (uint16_t)x;
	}
	if (ip == NULL || inet_pton(AF_INET, ip, &in) != 1 || in.s_addr == 0) {
		*why = "not an IPv4 address";
		return false;
	}
	a->ip = ntohl(in.s_addr);
	for (char *kv = strtok_r(NULL, ",", &save); kv != NULL; kv = strtok_r(NULL, ",", &save)) {
		unsigned b[6];
		char tail;
		if (strcmp(kv, "mac=auto") == 0) {
			a->mac_auto = true;
		} else if (strncmp(kv, "mac=", 4) == 0 &&
			   sscanf(kv + 4, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
				  &b[4], &b[5], &tail) == 6) {
			for (int i = 0; i < 6; i++) {
				a->mac[i] = (uint8_t)b[i];
			}
			a->mac_auto = false;
		} else if (strncmp(kv, "host=", 5) == 0) {
			char *end = NULL;
			unsigned long h = strtoul(kv + 5, &end, 10);
			if (end == kv + 5 || *end != '\0' || h > UINT32_MAX) {
				*why = "host= wants a number";
				return false;
			}
			a->host = (uint32_t)h;
		} else {
			*why = "unknown part (mac=MAC|auto, host=H)";
			return false;
		}
	}
	return true;
}

static void member_mac(const struct dp_member_info *m, char *out, size_t bytes)
{
	if (!m->addr_known) {
		snprintf(out, bytes, "unknown");
	} else if (m->addr.mac_auto) {
		snprintf(out, bytes, "auto");
	} else {
		const uint8_t *x = m->addr.mac;
		snprintf(out, bytes, "%02x:%02x:%02x:%02x:%02x:%02x", x[0], x[1], x[2], x[3], x[4],
			 x[5]);
	}
}

static const char *member_role(uint8_t role)
{
	return role == DP_MEMBER_VOTER ? "voter" : role == DP_MEMBER_LEARNER ? "learner" : "none";
}

static void member_print(const struct dp_member_list *l, uint32_t node, bool json)
{
	if (json) {
		printf("{\"node\":%u,\"leader\":%u,\"config_index\":%llu,\"pending\":%d,\"members\":[",
		       node, l->leader, (unsigned long long)l->config_index, l->pending ? 1 : 0);
	}
	for (uint32_t i = 0; i < l->count; i++) {
		const struct dp_member_info *m = &l->members[i];
		char ip[INET_ADDRSTRLEN] = "unknown", mac[32];
		struct in_addr in = {.s_addr = htonl(m->addr.ip)};
		if (m->addr_known) {
			inet_ntop(AF_INET, &in, ip, sizeof(ip));
		}
		member_mac(m, mac, sizeof(mac));
		if (json) {
			printf("%s{\"id\":%u,\"role\":\"%s\",\"ip\":\"%s\",\"udp_port\":%u,\"mac\":\"%s\","
			       "\"host\":%u,\"match\":%llu}", i > 0 ? "," : "", m->id,
			       member_role(m->role), ip, m->addr.udp_port, mac, m->addr.host,
			       (unsigned long long)m->match);
		} else {
			printf("id=%u role=%s ip=%s udp_port=%u mac=%s match=%llu\n", m->id,
			       member_role(m->role), ip, m->addr.udp_port, mac,
			       (unsigned long long)m->match);
		}
	}
	if (json) {
		printf("]}\n");
	} else {
		printf("config_index=%llu pending=%d\n", (unsigned long long)l->config_index,
		       l->pending ? 1 : 0);
	}
}

/* The configuration as the leader sees it (or the node asked with
 * --node): the asked node first, then the leader it names. */
static int member_fetch(struct rn_client *c, uint32_t node, bool pinned,
			struct dp_member_list *l, uint32_t *from)
{
	for (int hop = 0; hop < 2; hop++) {
		struct rn_client_result res;
		int rc = rn_client_member_list(c, node, &res);
		if (rc != 0 || res.status != DP_CLIENT_OK ||
		    dp_member_list_decode(res.value, res.value_bytes, l) != 0) {
			fprintf(stderr, "raftctl: member list: %s from node %u\n",
				rc != 0 ? rn_client_strerror(rc)
				: res.status != DP_CLIENT_OK ? rn_client_status_name(res.status)
							     : "an answer that does not parse",
				node != 0 ? node : rn_client_target(c));
			return MEMBER_FAILED;
		}
		*from = res.node_id;
		if (pinned || l->leader == RAFT_NODE_NONE || l->leader == res.node_id ||
		    rn_client_set_target(c, l->leader) != 0) {
			return MEMBER_OK;
		}
		node = l->leader;
	}
	return MEMBER_OK;
}

/* Whether l shows the change `value` done (and committed). */
static bool member_done(const struct dp_member_list *l, uint64_t value)
{
	uint8_t role = DP_MEMBER_NONE;
	for (uint32_t i = 0; i < l->count; i++) {
		if (l->members[i].id == RAFT_CONF_ID(value)) {
			role = l->members[i].role;
		}
	}
	switch (RAFT_CONF_OP(value)) {
	case RAFT_CONF_ADD_LEARNER: return !l->pending && role != DP_MEMBER_NONE;
	case RAFT_CONF_PROMOTE: return !l->pending && role == DP_MEMBER_VOTER;
	default: return !l->pending && role == DP_MEMBER_NONE;
	}
}

/* A refusal that a retransmitted copy of our own change may have caused:
 * wait (a few seconds at most) for the configuration to settle, then
 * check whether the change is in force. */
static bool member_settled_done(struct rn_client *c, uint64_t value)
{
	for (int i = 0; i < 50; i++) {
		struct dp_member_list l;
		uint32_t from;
		if (member_fetch(c, 0, false, &l, &from) == MEMBER_OK && !l.pending) {
			return member_done(&l, value);
		}
		struct timespec ts = {.tv_nsec = 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return false;
}

static int member_change(struct rn_client *c, uint64_t value, const struct dp_member_addr *a,
			 bool json, const char *what)
{
	uint8_t rec[DP_CONF_ENTRY_BYTES];
	dp_conf_entry_encode(value, a, rec);
	struct rn_client_result res;
	int rc = rn_client_member_change(c, rec, &res);
	if (rc != 0) {
		fprintf(stderr, "raftctl: member %s: %s (last node tried: %u)\n", what,
			rn_client_strerror(rc), res.node_id);
		return MEMBER_FAILED;
	}
	char why[64] = "";
	if (res.status == DP_CLIENT_REFUSED) {
		snprintf(why, sizeof(why), "%.*s", (int)(res.value_bytes < 63 ? res.value_bytes : 63),
			 (const char *)res.value);
		bool maybe_ours = strcmp(why, "change_pending") == 0 ||
				  strcmp(why, "member_exists") == 0 ||
				  strcmp(why, "unknown_member") == 0;
		if (maybe_ours && res.attempts > 1 && member_settled_done(c, value)) {
			res.status = DP_CLIENT_OK; /* our first copy did it */
		}
	}
	if (json) {
		printf("{\"status\":\"%s\",\"error\":\"%s\",\"node\":%u,\"leader\":%u}\n",
		       rn_client_status_name(res.status), why, res.node_id, res.leader_id);
	}
	if (res.status == DP_CLIENT_OK) {
		if (!json) {
			printf("member %s: node %u: committed (leader %u)\n", what, RAFT_CONF_ID(value),
			       res.node_id);
		}
		return MEMBER_OK;
	}
	fprintf(stderr, "raftctl: member %s: node %u: refused by node %u: %s\n", what,
		RAFT_CONF_ID(value), res.node_id,
		why[0] != '\0' ? why : rn_client_status_name(res.status));
	return MEMBER_FAILED;
}

int raftctl_member(struct rn_client *c, const struct rn_client_config *cfg, uint32_t node,
		   bool pinned, bool json, char **args, int count)
{
	if (count < 1) {
		return member_usage("no subcommand");
	}
	const char *sub = args[0];
	if (strcmp(sub, "list") == 0) {
		if (count != 1) {
			return member_usage("list takes no argument");
		}
		struct dp_member_list l;
		uint32_t from = 0;
		int code = member_fetch(c, node, pinned || node != 0, &l, &from);
		if (code == MEMBER_OK) {
			member_print(&l, from, json);
		}
		return code;
	}
	uint32_t id;
	if (count < 2 || !member_u32(args[1], &id)) {
		return member_usage("wants a node id (1, 2, ...)");
	}
	if (strcmp(sub, "add-learner") == 0) {
		if (count != 3) {
			return member_usage("add-learner ID ADDR");
		}
		uint16_t port = 9000;
		for (uint32_t i = 0; i < cfg->nodes_count; i++) {
			if (cfg->nodes[i].id == 1 || i == 0) {
				port = cfg->nodes[i].udp_port;
			}
		}
		struct dp_member_addr a;
		const char *why = "";
		if (!member_parse_addr(args[2], port, &a, &why)) {
			fprintf(stderr, "raftctl: member add-learner: '%s': %s\n", args[2], why);
			return MEMBER_USAGE;
		}
		return member_change(c, RAFT_CONF_PAYLOAD(RAFT_CONF_ADD_LEARNER, id), &a, json, sub);
	}
	if (count != 2) {
		return member_usage("promote ID | remove ID");
	}
	if (strcmp(sub, "promote") == 0) {
		return member_change(c, RAFT_CONF_PAYLOAD(RAFT_CONF_PROMOTE, id), NULL, json, sub);
	}
	if (strcmp(sub, "remove") == 0) {
		return member_change(c, RAFT_CONF_PAYLOAD(RAFT_CONF_REMOVE, id), NULL, json, sub);
	}
	return member_usage("unknown subcommand");
}
