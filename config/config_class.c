/* SPDX-License-Identifier: MIT */
/*
 * config_class.c - every key of the cluster file, classified: node-local
 * (each node may set its own), cluster-wide (one value for the cluster,
 * but not compared between nodes), or agreed (cluster-wide AND compared:
 * a node refuses a peer whose value differs). The parser (config.c) takes
 * no key this table does not list, so a new key cannot be added without
 * being classified here (tests/unit/test_config_load.c walks the table).
 *
 * The agreed keys are those that change what a node applies: two nodes
 * that differ on one of them answer the same command differently, and
 * their states diverge silently. Their values (as parsed, so "1K" and
 * "1024" agree) make the settings text, "name=value;name=value...", and
 * its 64-bit FNV-1a hash is the fingerprint every frame a node seals
 * carries (dataplane.h, header settings_fp). Members and their addresses
 * are cluster-wide but not agreed: the committed configuration (the log,
 * snapshots) holds them, not this file. Runs at start-up only.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "config.h"

/* Where an agreed key's value lives in struct node_config, and its width. */
#define CLASS_AT(field) offsetof(struct node_config, field), sizeof(((struct node_config *)0)->field)
#define CLASS_NONE 0, 0

static const struct node_config_key class_keys[] = {
	/* [cluster] */
	/* Frames of another cluster are dropped before this check (and keyed
	 * with it), but two clusters' nodes must never count as agreeing. */
	{"cluster", "id", NODE_KEY_AGREED, CLASS_AT(cluster_id)},
	/* Paths: each node reads its own copies (the keys' bytes are checked
	 * by every frame's tag, not here; they rotate node by node). */
	{"cluster", "peer_key_file", NODE_KEY_LOCAL, CLASS_NONE},
	{"cluster", "client_key_file", NODE_KEY_LOCAL, CLASS_NONE},
	/* Optional: the keys that may run admin requests (raftctl reload). */
	{"cluster", "admin_key_file", NODE_KEY_LOCAL, CLASS_NONE},
	/* No longer read (issue 17): listed so that the parser can say what
	 * replaces it rather than "unknown key". */
	{"cluster", "secret_file", NODE_KEY_LOCAL, CLASS_NONE},
	/* Timing changes liveness, never what is applied, and a rolling
	 * change (node by node) must stay possible: one value is meant for
	 * the cluster, but a peer is not refused for another. */
	{"cluster", "election_timeout_ms", NODE_KEY_CLUSTER, CLASS_NONE},
	{"cluster", "heartbeat_interval_ms", NODE_KEY_CLUSTER, CLASS_NONE},
	/* The control loop's timer resolution on this node. */
	{"cluster", "tick_ms", NODE_KEY_LOCAL, CLASS_NONE},
	/* The first configuration only; later ones are committed entries. */
	{"cluster", "initial_members", NODE_KEY_CLUSTER, CLASS_NONE},
	/* Client frames sealed or not: one value for the cluster (a node that
	 * differs refuses the clients' frames, counted in seal_mismatch), but
	 * it changes nothing a node applies and clients carry no fingerprint. */
	{"cluster", "client_encryption", NODE_KEY_CLUSTER, CLASS_NONE},
	/* Benchmark only (raftnode refuses it without --bench-allow-auth-off);
	 * a node that differs has its frames dropped as bad_tag by the others. */
	{"cluster", "auth", NODE_KEY_CLUSTER, CLASS_NONE},
	/* [member.N]: where node N is. The committed configuration carries
	 * the addresses of members added later; not compared. */
	{"member", "ip", NODE_KEY_CLUSTER, CLASS_NONE},
	{"member", "mac", NODE_KEY_CLUSTER, CLASS_NONE},
	{"member", "host", NODE_KEY_CLUSTER, CLASS_NONE},
	{"member", "udp_port", NODE_KEY_CLUSTER, CLASS_NONE},
	/* [node] and [node.N]: how this node runs (its disk, cores, port,
	 * endpoints). Nodes of one cluster may mix transports and MTUs: they
	 * speak the same frames, and a message larger than a frame is split. */
	{"node", "data_dir", NODE_KEY_LOCAL, CLASS_NONE},
	{"node", "transport", NODE_KEY_LOCAL, CLASS_NONE},
	{"node", "dpdk_port", NODE_KEY_LOCAL, CLASS_NONE},
	{"node", "lcores", NODE_KEY_LOCAL, CLASS_NONE},
	{"node", "lcore_map", NODE_KEY_LOCAL, CLASS_NONE},
	{"node", "idle", NODE_KEY_LOCAL, CLASS_NONE},
	/* The node's own promise on its disk (none: benchmarks only). */
	{"node", "durability", NODE_KEY_LOCAL, CLASS_NONE},
	{"node", "io_engine", NODE_KEY_LOCAL, CLASS_NONE},
	{"node", "file_prefix", NODE_KEY_LOCAL, CLASS_NONE},
	{"node", "mtu_bytes", NODE_KEY_LOCAL, CLASS_NONE},
	{"node", "timer_slack_us", NODE_KEY_LOCAL, CLASS_NONE},
	{"node", "log_write", NODE_KEY_LOCAL, CLASS_NONE},
	{"node", "metrics_addr", NODE_KEY_LOCAL, CLASS_NONE},
	{"node", "lcore_nice", NODE_KEY_LOCAL, CLASS_NONE},
	{"node", "sched_slice_us", NODE_KEY_LOCAL, CLASS_NONE},
	/* [limits] */
	/* A leader's batch: a follower takes the prefix its own core fits
	 * (recv_append.c), so nodes may differ. */
	{"limits", "batch_entries_max", NODE_KEY_LOCAL, CLASS_NONE},
	/* A leader's pipeline and admission, this node's memory window:
	 * what it holds, not what it applies. */
	{"limits", "inflight_appends_max", NODE_KEY_LOCAL, CLASS_NONE},
	{"limits", "uncommitted_bytes_max", NODE_KEY_LOCAL, CLASS_NONE},
	{"limits", "log_entries_max", NODE_KEY_LOCAL, CLASS_NONE},
	{"limits", "log_payload_bytes_max", NODE_KEY_LOCAL, CLASS_NONE},
	/* The state machine's limits: a command within one node's limit and
	 * beyond another's is applied by one and refused by the other. */
	{"limits", "kv_keys_max", NODE_KEY_AGREED, CLASS_AT(kv.keys_max)},
	{"limits", "kv_key_bytes_max", NODE_KEY_AGREED, CLASS_AT(kv.key_bytes_max)},
	{"limits", "kv_value_bytes_max", NODE_KEY_AGREED, CLASS_AT(kv.value_bytes_max)},
	/* Sessions are replicated state: which one is evicted, and which
	 * retry is answered from its window, must be the same everywhere. */
	{"limits", "kv_clients_max", NODE_KEY_AGREED, CLASS_AT(kv.clients_max)},
	{"limits", "kv_session_window", NODE_KEY_AGREED, CLASS_AT(kv.session_window)},
	/* [storage]: when this node snapshots and compacts its own log, and
	 * its files. A snapshot holds the same state whenever it is taken. */
	{"storage", "snapshot", NODE_KEY_LOCAL, CLASS_NONE},
	{"storage", "snapshot_entries", NODE_KEY_LOCAL, CLASS_NONE},
	{"storage", "snapshot_log_bytes", NODE_KEY_LOCAL, CLASS_NONE},
	{"storage", "compact_margin_entries", NODE_KEY_LOCAL, CLASS_NONE},
	{"storage", "segment_bytes", NODE_KEY_LOCAL, CLASS_NONE},
	{"storage", "space_reserve_bytes", NODE_KEY_LOCAL, CLASS_NONE},
	{"storage", "snapshot_write_bytes_per_s", NODE_KEY_LOCAL, CLASS_NONE},
};

const struct node_config_key *node_config_keys(size_t *count)
{
	RN_ASSERT(count != NULL);
	*count = RN_ARRAY_COUNT(class_keys);
	return class_keys;
}

/* The table's section name of a file's section: [member.N] is "member",
 * [node.N] is "node"; NULL for a section the file may not have. */
static const char *class_section(const char *section)
{
	static const char *const plain[] = {"cluster", "node", "limits", "storage"};
	for (size_t i = 0; i < RN_ARRAY_COUNT(plain); i++) {
		if (strcmp(section, plain[i]) == 0) {
			return plain[i];
		}
	}
	if (strncmp(section, "member.", 7) == 0) {
		return "member";
	}
	return strncmp(section, "node.", 5) == 0 ? "node" : NULL;
}

const struct node_config_key *node_config_key_find(const char *section, const char *key)
{
	RN_ASSERT(section != NULL && key != NULL);
	const char *s = class_section(section);
	for (size_t i = 0; s != NULL && i < RN_ARRAY_COUNT(class_keys); i++) {
		if (strcmp(class_keys[i].section, s) == 0 && strcmp(class_keys[i].key, key) == 0) {
			return &class_keys[i];
		}
	}
	return NULL;
}

static uint64_t class_value(const struct node_config *c, const struct node_config_key *k)
{
	const uint8_t *p = (const uint8_t *)c + k->value_offset;
	switch (k->value_bytes) {
	case 1: return *p;
	case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
	default: break;
	}
	RN_ASSERT(k->value_bytes == 8); /* the table's widths: 1, 2, 4, 8 */
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

int node_settings_text(const struct node_config *c, uint32_t wire_version, char *out,
		       size_t out_bytes)
{
	RN_ASSERT(c != NULL && out != NULL);
	RN_ASSERT(out_bytes > 0);
	/* The protocol first: two versions never agree. */
	int n = snprintf(out, out_bytes, "wire_version=%u", wire_version);
	size_t used = n > 0 ? (size_t)n : 0;
	for (size_t i = 0; i < RN_ARRAY_COUNT(class_keys) && used < out_bytes; i++) {
		const struct node_config_key *k = &class_keys[i];
		if (k->scope != NODE_KEY_AGREED) {
			continue;
		}
		n = snprintf(out + used, out_bytes - used, ";%s=%llu", k->key,
			     (unsigned long long)class_value(c, k));
		used += n > 0 ? (size_t)n : 0;
	}
	if (used >= out_bytes) {
		out[0] = '\0';
		return -1; /* callers size it: NODE_SETTINGS_TEXT_BYTES_MAX */
	}
	return (int)used;
}

uint64_t node_settings_hash(const char *text, size_t text_bytes)
{
	/* FNV-1a, 64-bit: the same on every machine, no key (the frames
	 * carrying it are authenticated), and any one byte changed moves it. */
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < text_bytes; i++) {
		h ^= (uint8_t)text[i];
		h *= 0x100000001b3ull;
	}
	return h != 0 ? h : 1; /* 0 is "no settings" (a client's frames) */
}

uint64_t node_settings_fp(const struct node_config *c, uint32_t wire_version)
{
	char text[NODE_SETTINGS_TEXT_BYTES_MAX];
	int n = node_settings_text(c, wire_version, text, sizeof(text));
	RN_ASSERT(n > 0); /* the agreed keys fit: a unit test checks the largest values */
	return node_settings_hash(text, (size_t)n);
}
