/* SPDX-License-Identifier: MIT */
/*
 * config.c - reads a node's configuration (INI, parsed by libinih; format
 * documented in config/example.ini) and checks every value, so that a bad
 * file stops the node at once with one message that names the file, the
 * line and the key. Unknown sections and keys are errors too: a typo must
 * not silently leave a default in place. Runs at start-up only (the node's,
 * or a client tool's), on the thread that calls it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "config_internal.h"

#define CONFIG_FILE_BYTES_MAX (1u << 20)


/* The line of the nth (1-based) `key` in `section` (1-based), 0 if not
 * found. libinih built by Debian does not pass line numbers to the
 * handler. */
static unsigned config_line_nth(const char *text, const char *section, const char *key,
				unsigned nth)
{
	char current[96] = "";
	unsigned line = 1;
	for (const char *p = text; *p != '\0'; line++) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *s = p;
		while (s < p + len && (*s == ' ' || *s == '\t')) {
			s++;
		}
		if (*s == '[') {
			const char *close = memchr(s, ']', (size_t)(p + len - s));
			size_t n = close ? (size_t)(close - s - 1) : 0;
			n = n < sizeof(current) - 1 ? n : sizeof(current) - 1;
			memcpy(current, s + 1, n);
			current[n] = '\0';
		} else if (section != NULL && strcmp(current, section) == 0 && key != NULL) {
			size_t k = strlen(key);
			if ((size_t)(p + len - s) > k && strncmp(s, key, k) == 0 &&
			    (s[k] == ' ' || s[k] == '\t' || s[k] == '=' || s[k] == ':') && --nth == 0) {
				return line;
			}
		}
		if (end == NULL) {
			break;
		}
		p = end + 1;
	}
	return 0;
}

static void config_error_v(struct config_parse *cp, unsigned nth, const char *section,
			   const char *key, const char *fmt, va_list ap)
{
	if (cp->failed) {
		return; /* one message: the first problem */
	}
	cp->failed = true;
	char why[256];
	vsnprintf(why, sizeof(why), fmt, ap);
	unsigned line = config_line_nth(cp->text, section, key, nth);
	if (line > 0) {
		snprintf(cp->errmsg, cp->errmsg_bytes, "%s:%u: [%s] %s: %s", cp->name, line, section,
			 key, why);
	} else {
		snprintf(cp->errmsg, cp->errmsg_bytes, "%s: [%s] %s: %s", cp->name, section, key,
			 why);
	}
}

void config_error(struct config_parse *cp, const char *section, const char *key,
		  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	config_error_v(cp, 1, section, key, fmt, ap);
	va_end(ap);
}

/* The same, at the key's second line in its section (a duplicate). */
__attribute__((format(printf, 4, 5))) static void config_error_again(struct config_parse *cp,
	const char *section, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	config_error_v(cp, 2, section, key, fmt, ap);
	va_end(ap);
}

bool config_u64(const char *v, uint64_t min, uint64_t max, bool size_suffix, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (end == v || v[0] == '-' || errno != 0) {
		return false;
	}
	uint64_t mult = 1;
	if (size_suffix && (*end == 'K' || *end == 'M' || *end == 'G')) {
		mult = *end == 'K' ? 1ull << 10 : *end == 'M' ? 1ull << 20 : 1ull << 30;
		end++;
	}
	if (*end != '\0' || x > max / mult || x * mult < min) {
		return false;
	}
	*out = x * mult;
	return true;
}

/* Copies v into a fixed field, replacing %i by the node id. */
static bool config_str(const char *v, raft_node_id self, char *out, size_t out_bytes)
{
	size_t o = 0;
	for (const char *p = v; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'i') {
			int n = snprintf(out + o, out_bytes - o, "%u", self);
			if (n < 0 || (size_t)n >= out_bytes - o) {
				return false;
			}
			o += (size_t)n;
			p++;
			continue;
		}
		if (o + 1 >= out_bytes) {
			return false;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
	return o > 0;
}

static int config_choice(const char *v, const char *const *names, int count)
{
	for (int i = 1; i < count; i++) {
		if (names[i] != NULL && strcmp(v, names[i]) == 0) {
			return i;
		}
	}
	return -1;
}

static const char *const config_transports[] = {NULL, "dpdk", "udp"};
static const char *const config_idles[] = {NULL, "busy", "adaptive", "event"};
static const char *const config_durabilities[] = {NULL, "fsync", "dsync", "none"};
static const char *const config_engines[] = {NULL, "uring", "pwrite"};
static const char *const config_log_writes[] = {NULL, "direct", "buffered"};

static bool config_cluster(struct config_parse *cp, const char *key, const char *v)
{
	struct node_config *c = cp->cfg;
	uint64_t x;
	if (strcmp(key, "id") == 0 && config_u64(v, 1, UINT32_MAX, false, &x)) {
		c->cluster_id = (uint32_t)x;
	} else if (strcmp(key, "peer_key_file") == 0) {
		return config_str(v, cp->self, c->peer_key_file, sizeof(c->peer_key_file));
	} else if (strcmp(key, "client_key_file") == 0) {
		return config_str(v, cp->self, c->client_key_file, sizeof(c->client_key_file));
	} else if (strcmp(key, "admin_key_file") == 0) {
		return config_str(v, cp->self, c->admin_key_file, sizeof(c->admin_key_file));
	} else if (strcmp(key, "secret_file") == 0) {
		/* One secret for nodes and clients let any client forge votes. */
		config_error(cp, "cluster", "secret_file",
			     "no longer read: nodes seal consensus frames with peer_key_file, "
			     "clients and nodes client frames with client_key_file (key files "
			     "of lines \"ID HEX\", mode 600; README: Keys)");
	} else if (strcmp(key, "election_timeout_ms") == 0 && config_u64(v, 1, 600000, false, &x)) {
		c->election_timeout_ms = (uint32_t)x;
	} else if (strcmp(key, "heartbeat_interval_ms") == 0 && config_u64(v, 1, 600000, false, &x)) {
		c->heartbeat_interval_ms = (uint32_t)x;
	} else if (strcmp(key, "tick_ms") == 0 && config_u64(v, 1, 10000, false, &x)) {
		c->tick_ms = (uint32_t)x;
	} else if (strcmp(key, "initial_members") == 0) {
		return config_initial_members(cp, v);
	} else if (strcmp(key, "client_encryption") == 0 &&
		   (strcmp(v, "on") == 0 || strcmp(v, "off") == 0)) {
		c->client_encryption = strcmp(v, "on") == 0;
	} else if (strcmp(key, "auth") == 0 && (strcmp(v, "on") == 0 || strcmp(v, "off") == 0)) {
		c->auth_off = strcmp(v, "off") == 0; /* the node refuses it unless told */
	} else {
		return false;
	}
	return true;
}

static const char *const config_stage_names[NODE_STAGES] = {
	[NODE_STAGE_RXTX] = "rxtx", [NODE_STAGE_LOG] = "log",
	[NODE_STAGE_CONTROL] = "control", [NODE_STAGE_APPLY] = "apply"};

const char *node_stage_name(int stage)
{
	return stage >= 0 && stage < NODE_STAGES ? config_stage_names[stage] : "?";
}

/*
 * lcore_map: every stage once, "stage:lcore". Any stage may have an lcore
 * of its own or share one (the stages talk to control through rings).
 */
static bool config_lcore_map(struct config_parse *cp, const char *section, const char *v)
{
	struct node_config *c = cp->cfg;
	char text[sizeof(c->lcore_map)], map[sizeof(c->lcore_map)];
	int16_t at[NODE_STAGES] = {-1, -1, -1, -1};
	if (!config_str(v, cp->self, text, sizeof(text))) {
		return false;
	}
	memcpy(map, text, sizeof(map));
	for (char *save = NULL, *t = strtok_r(map, ", ", &save); t != NULL;
	     t = strtok_r(NULL, ", ", &save)) {
		char *colon = strchr(t, ':');
		uint64_t lcore;
		if (colon == NULL || !config_u64(colon + 1, 0, 1023, false, &lcore)) {
			config_error(cp, section, "lcore_map", "'%s' is not stage:lcore (lcore 0..1023)",
				     t);
			return false;
		}
		*colon = '\0';
		int stage = -1;
		for (int i = 0; i < NODE_STAGES; i++) {
			stage = strcmp(t, config_stage_names[i]) == 0 ? i : stage;
		}
		if (stage < 0 || at[stage] >= 0) {
			config_error(cp, section, "lcore_map", "stage '%s' %s (the stages: rxtx, log, "
				     "control, apply, each once)", t,
				     stage < 0 ? "does not exist" : "is placed twice");
			return false;
		}
		at[stage] = (int16_t)lcore;
	}
	for (int i = 0; i < NODE_STAGES; i++) {
		if (at[i] < 0) {
			config_error(cp, section, "lcore_map", "no lcore for stage '%s' (e.g. "
				     "rxtx:0,log:1,control:0,apply:0)", config_stage_names[i]);
			return false;
		}
	}
	memcpy(c->stage_lcore, at, sizeof(at));
	memcpy(c->lcore_map, text, sizeof(c->lcore_map));
	return true;
}

/* [node] and [node.<self>]: the latter wins whatever the order. */
static bool config_node(struct config_parse *cp, bool specific, const char *key, const char *v)
{
	static const char *const keys[] = {"data_dir", "transport", "dpdk_port", "lcores",
					   "lcore_map", "idle", "durability", "io_engine",
					   "file_prefix", "mtu_bytes", "timer_slack_us", "log_write",
					   "metrics_addr", "lcore_nice", "sched_slice_us"};
	struct node_config *c = cp->cfg;
	int k = -1;
	for (int i = 0; i < (int)RN_ARRAY_COUNT(keys); i++) {
		if (strcmp(key, keys[i]) == 0) {
			k = i;
		}
	}
	if (k < 0) {
		return false;
	}
	if (!specific && (cp->node_keys_specific & (1u << k))) {
		return true; /* [node.<self>] already set it */
	}
	if (specific) {
		cp->node_keys_specific |= 1u << k;
	}
	int choice;
	switch (k) {
	case 0:
		return config_str(v, cp->self, c->data_dir, sizeof(c->data_dir));
	case 1:
		choice = config_choice(v, config_transports, 3);
		c->transport = (uint8_t)(choice > 0 ? choice : 0);
		return choice > 0;
	case 2:
		return config_str(v, cp->self, c->dpdk_port, sizeof(c->dpdk_port));
	case 3:
		return config_str(v, cp->self, c->lcores, sizeof(c->lcores));
	case 4: {
		char section[32];
		snprintf(section, sizeof(section), specific ? "node.%u" : "node", cp->self);
		return config_lcore_map(cp, section, v);
	}
	case 5:
		choice = config_choice(v, config_idles, 4);
		c->idle = (uint8_t)(choice > 0 ? choice : 0);
		return choice > 0;
	case 6:
		choice = config_choice(v, config_durabilities, 4);
		c->durability = (uint8_t)(choice > 0 ? choice : 0);
		return choice > 0;
	case 8:
		return config_str(v, cp->self, c->file_prefix, sizeof(c->file_prefix)) &&
		       strchr(c->file_prefix, '/') == NULL;
	case 9: {
		uint64_t x;
		if (!config_u64(v, 0, 9000, false, &x) || (x > 0 && x < 576)) {
			return false;
		}
		c->mtu_bytes = (uint16_t)x;
		return true;
	}
	case 10: {
		uint64_t x;
		if (!config_u64(v, 0, 1000000, false, &x)) {
			return false;
		}
		c->timer_slack_us = (uint32_t)x;
		return true;
	}
	case 11:
		choice = config_choice(v, config_log_writes, 3);
		c->log_write = (uint8_t)(choice > 0 ? choice : 0);
		return choice > 0;
	case 12: /* checked as an address when the node starts (node/metrics_http.c) */
		return config_str(v, cp->self, c->metrics_addr, sizeof(c->metrics_addr)) &&
		       strchr(c->metrics_addr, ':') != NULL;
	case 13: {
		/* A nice value, -20..19 (setpriority's range). */
		uint64_t x;
		bool neg = v[0] == '-';
		if (!config_u64(neg ? v + 1 : v, 0, neg ? 20 : 19, false, &x)) {
			return false;
		}
		c->lcore_nice = (int8_t)(neg ? -(int64_t)x : (int64_t)x);
		return true;
	}
	case 14: {
		/* 0 (the kernel's slice), or 100 us .. 100 ms: the range the
		 * kernel accepts for a fair task's sched_runtime. */
		uint64_t x;
		if (!config_u64(v, 0, 100000, false, &x) || (x > 0 && x < 100)) {
			return false;
		}
		c->sched_slice_us = (uint32_t)x;
		return true;
	}
	default:
		choice = config_choice(v, config_engines, 3);
		c->io_engine = (uint8_t)(choice > 0 ? choice : 0);
		return choice > 0;
	}
}

_Static_assert(NODE_KV_KEY_BYTES_LIMIT <= UINT16_MAX, "node_kv_config.key_bytes_max is a u16");

static bool config_limits(struct config_parse *cp, const char *key, const char *v)
{
	struct node_config *c = cp->cfg;
	uint64_t x;
	if (strcmp(key, "batch_entries_max") == 0 &&
	    config_u64(v, 1, RAFT_BATCH_ENTRIES_MAX, false, &x)) {
		c->batch_entries_max = (uint32_t)x;
	} else if (strcmp(key, "inflight_appends_max") == 0 &&
		   config_u64(v, 1, RAFT_INFLIGHT_APPENDS_MAX, false, &x)) {
		c->inflight_appends_max = (uint32_t)x;
	} else if (strcmp(key, "uncommitted_bytes_max") == 0 &&
		   config_u64(v, 4096, 1ull << 40, true, &x)) {
		c->uncommitted_bytes_max = x;
	} else if (strcmp(key, "log_entries_max") == 0 &&
		   config_u64(v, 1024, 1u << 26, false, &x) && (x & (x - 1)) == 0) {
		c->log_entries_max = (uint32_t)x;
	} else if (strcmp(key, "log_payload_bytes_max") == 0 &&
		   config_u64(v, 1u << 20, 1ull << 38, true, &x)) {
		c->log_payload_bytes_max = x;
	} else if (strcmp(key, "kv_keys_max") == 0 &&
		   config_u64(v, 1, NODE_KV_KEYS_LIMIT, false, &x)) {
		c->kv.keys_max = (uint32_t)x;
	} else if (strcmp(key, "kv_key_bytes_max") == 0 &&
		   config_u64(v, 1, NODE_KV_KEY_BYTES_LIMIT, false, &x)) {
		c->kv.key_bytes_max = (uint16_t)x;
	} else if (strcmp(key, "kv_value_bytes_max") == 0 &&
		   config_u64(v, 0, NODE_KV_VALUE_BYTES_LIMIT, true, &x)) {
		c->kv.value_bytes_max = (uint32_t)x;
	} else if (strcmp(key, "kv_clients_max") == 0 &&
		   config_u64(v, 1, NODE_KV_CLIENTS_LIMIT, false, &x)) {
		c->kv.clients_max = (uint32_t)x;
	} else if (strcmp(key, "kv_session_window") == 0) {
		if (!config_u64(v, 1, NODE_KV_SESSION_WINDOW_LIMIT, false, &x)) {
			config_error(cp, "limits", key,
				     "bad value '%s': results kept per client session, 1..%u", v,
				     NODE_KV_SESSION_WINDOW_LIMIT);
			return false;
		}
		c->kv.session_window = (uint32_t)x;
	} else {
		return false;
	}
	return true;
}

/* [storage]: snapshots, compaction, segments (a whole number of 4 KiB
 * blocks: the O_DIRECT layout's padded writes stay inside one), the space
 * reserve. */
static bool config_storage(struct config_parse *cp, const char *key, const char *v)
{
	struct node_config *c = cp->cfg;
	uint64_t x;
	if (strcmp(key, "snapshot") == 0 && (strcmp(v, "on") == 0 || strcmp(v, "off") == 0)) {
		c->snapshot = strcmp(v, "on") == 0;
	} else if (strcmp(key, "snapshot_entries") == 0 &&
		   config_u64(v, 16, 1ull << 40, false, &x)) {
		c->snapshot_entries = x;
	} else if (strcmp(key, "snapshot_log_bytes") == 0 &&
		   config_u64(v, 64u << 10, 1ull << 44, true, &x)) {
		c->snapshot_log_bytes = x;
	} else if (strcmp(key, "compact_margin_entries") == 0 &&
		   config_u64(v, 0, 1ull << 40, false, &x)) {
		c->compact_margin_entries = x;
	} else if (strcmp(key, "segment_bytes") == 0 &&
		   config_u64(v, 1u << 20, 1ull << 32, true, &x) && x % 4096 == 0) {
		c->segment_bytes = x;
	} else if (strcmp(key, "snapshot_write_bytes_per_s") == 0 &&
		   config_u64(v, 0, 1ull << 40, true, &x) && (x == 0 || x >= 1u << 20)) {
		c->snapshot_write_bytes_per_s = x; /* 0: no limit; else at least one chunk a second */
	} else if (strcmp(key, "space_reserve_bytes") == 0 &&
		   config_u64(v, 0, 1ull << 50, true, &x)) {
		c->space_reserve_bytes = x;
	} else {
		return false;
	}
	return true;
}

/* [node.N] of another node: checked as node N would check it (its %i),
 * into a scratch copy, so that node 1 refuses a file node 3 could not
 * start with instead of leaving the fault for node 3 to find. */
static bool config_node_other(struct config_parse *cp, raft_node_id id, const char *key,
			      const char *v)
{
	struct config_parse other = *cp;
	RN_ASSERT(id != cp->self);
	other.cfg = cp->scratch;
	other.self = id;
	bool ok = config_node(&other, true, key, v);
	cp->failed = other.failed;
	return ok;
}

/* A key given twice in one section (the same [member.N] or [node.N],
 * however its number is written) is an error: the last value must not
 * win silently. id: N of [member.N] / [node.N], 0 for the others. */
static bool config_seen_twice(struct config_parse *cp, const char *section,
			      const struct node_config_key *k, uint64_t id)
{
	for (uint32_t i = 0; i < cp->seen_count; i++) {
		if (cp->seen[i].key == k && cp->seen[i].id == id) {
			config_error_again(cp, section, k->key, "given twice in [%s] (first at line "
					   "%u): remove one, the last would silently win", section,
					   config_line_nth(cp->text, section, k->key, 1));
			return true;
		}
	}
	if (cp->seen_count == CONFIG_KEYS_SEEN_MAX) {
		config_error(cp, section, k->key, "more than %u keys in the file",
			     CONFIG_KEYS_SEEN_MAX);
		return true;
	}
	cp->seen[cp->seen_count++] = (struct config_seen){.key = k, .id = id};
	return false;
}

static int config_handler(void *user, const char *section, const char *key, const char *v)
{
	struct config_parse *cp = user;
	bool ok;
	uint64_t id = 0;
	const struct node_config_key *k = node_config_key_find(section, key);
	bool numbered = strncmp(section, "member.", 7) == 0 || strncmp(section, "node.", 5) == 0;
	if (numbered && !config_u64(strchr(section, '.') + 1, 1, UINT32_MAX, false, &id)) {
		k = NULL; /* [member.x]: an unknown section, said below */
		id = 0;
	}
	if (k == NULL && (strcmp(section, "cluster") == 0 || strcmp(section, "node") == 0 ||
			  strcmp(section, "limits") == 0 || strcmp(section, "storage") == 0 ||
			  (numbered && id != 0))) {
		config_error(cp, section, key, "unknown key (config/example.ini lists them all)");
		return 0;
	}
	if (k != NULL && config_seen_twice(cp, section, k, id)) {
		return 0;
	}
	if (strcmp(section, "cluster") == 0) {
		ok = config_cluster(cp, key, v);
	} else if (strncmp(section, "member.", 7) == 0 &&
		   config_u64(section + 7, 1, UINT32_MAX, false, &id)) {
		ok = config_member(cp, (raft_node_id)id, key, v);
	} else if (strcmp(section, "node") == 0) {
		ok = config_node(cp, false, key, v);
	} else if (strncmp(section, "node.", 5) == 0 &&
		   config_u64(section + 5, 1, UINT32_MAX, false, &id)) {
		ok = id == cp->self ? config_node(cp, true, key, v)
				    : config_node_other(cp, (raft_node_id)id, key, v);
	} else if (strcmp(section, "limits") == 0) {
		ok = config_limits(cp, key, v);
	} else if (strcmp(section, "storage") == 0) {
		ok = config_storage(cp, key, v);
	} else {
		config_error(cp, section, key, "unknown section (cluster, member.N, node, node.N, "
					       "limits, storage)");
		return 0;
	}
	if (!ok) {
		config_error(cp, section, key, "bad value '%s' (or an unknown key)", v);
		return 0;
	}
	return 1;
}

void node_kv_config_default(struct node_kv_config *cfg)
{
	*cfg = (struct node_kv_config){
		.keys_max = 1u << 16,
		.key_bytes_max = 64,
		.value_bytes_max = 1024,
		.clients_max = 4096,
		/* raftbench keeps 256 requests in flight per client: a window
		 * as deep answers all of them when they are resent at once
		 * (a failover). 4096 x 256 x 9 B = 9 MiB. */
		.session_window = 256,
	};
}

void node_config_default(struct node_config *c)
{
	*c = (struct node_config){
		.election_timeout_ms = 300,
		.heartbeat_interval_ms = 50,
		.tick_ms = 10,
		.transport = NODE_TRANSPORT_DPDK,
		.idle = NODE_IDLE_EVENT, /* cores shared with other work: the safe default */
		/* A woken lcore preempts a thread in mid-slice (README: idle
		 * policies, the measured A/B); 0 restores the kernel's. */
		.sched_slice_us = 100,
		/* One RWF_DSYNC write per group, O_DIRECT: on ext4 io_uring
		 * issues it inline; a buffered write and a separate fsync each
		 * go through an io-wq worker (scripts/bench-storage.sh). */
		.durability = NODE_DURABILITY_DSYNC,
		.io_engine = NODE_ENGINE_URING,
		.log_write = NODE_LOG_WRITE_DIRECT,
		.batch_entries_max = 256,
		.inflight_appends_max = 64,
		.uncommitted_bytes_max = 64u << 20,
		.log_entries_max = 1u << 16,
		.log_payload_bytes_max = 64u << 20,
		/* A snapshot every million entries or 1 GiB of log, a margin of
		 * 100,000 entries kept for slow followers, 64 MiB segments:
		 * README, data directory. */
		.snapshot = true,
		.snapshot_entries = 1000000,
		.snapshot_log_bytes = 1ull << 30,
		/* The snapshot file's writeback rate: the log's durable writes
		 * share the disk with it (README, snapshots: the trade). */
		.snapshot_write_bytes_per_s = 64ull << 20,
		.compact_margin_entries = 100000,
		.segment_bytes = 64u << 20,
		.space_reserve_bytes = 128ull << 20, /* STORE_SPACE_RESERVE_BYTES_DEFAULT */
	};
	snprintf(c->lcores, sizeof(c->lcores), "0");
	snprintf(c->lcore_map, sizeof(c->lcore_map), "rxtx:0,log:0,control:0,apply:0");
	node_kv_config_default(&c->kv);
}

/* Relations between values, once everything is read. */
static void config_check(struct config_parse *cp)
{
	struct node_config *c = cp->cfg;
	if (c->cluster_id == 0) {
		config_error(cp, "cluster", "id", "missing: every cluster needs an id");
	} else if (c->peer_key_file[0] == '\0') {
		config_error(cp, "cluster", "peer_key_file",
			     "missing: the key nodes seal consensus frames with");
	} else if (c->client_key_file[0] == '\0') {
		config_error(cp, "cluster", "client_key_file",
			     "missing: the key client requests and replies are sealed with");
	} else if (c->heartbeat_interval_ms >= c->election_timeout_ms) {
		config_error(cp, "cluster", "heartbeat_interval_ms",
			     "must be below election_timeout_ms (%u)", c->election_timeout_ms);
	} else if (c->election_timeout_ms < 2 * c->tick_ms ||
		   c->heartbeat_interval_ms < c->tick_ms) {
		config_error(cp, "cluster", "tick_ms",
			     "too coarse for the election timeout and heartbeat interval");
	}
	config_members_check(cp);
	if (c->data_dir[0] == '\0') {
		config_error(cp, "node", "data_dir", "missing: where does the log live?");
	}
	if (c->batch_entries_max * 4u > c->log_entries_max) {
		config_error(cp, "limits", "log_entries_max",
			     "must hold at least 4 batches (4 x batch_entries_max = %u)",
			     4u * c->batch_entries_max);
	}
	if (c->uncommitted_bytes_max > c->log_payload_bytes_max) {
		config_error(cp, "limits", "uncommitted_bytes_max",
			     "must not exceed log_payload_bytes_max (%llu)",
			     (unsigned long long)c->log_payload_bytes_max);
	}
	if ((uint64_t)c->kv.clients_max * c->kv.session_window > NODE_KV_WINDOW_ENTRIES_LIMIT) {
		config_error(cp, "limits", "kv_session_window",
			     "kv_clients_max x kv_session_window = %llu results, more than %llu "
			     "(9 bytes each)",
			     (unsigned long long)c->kv.clients_max * c->kv.session_window,
			     (unsigned long long)NODE_KV_WINDOW_ENTRIES_LIMIT);
	}
	/* A segment holds at least two records of the largest request. */
	if (c->segment_bytes < 2ull * ((uint64_t)c->kv.value_bytes_max * 2 + 4096)) {
		config_error(cp, "storage", "segment_bytes",
			     "must hold two records of the largest request (2 x 2 x "
			     "kv_value_bytes_max + 8 KiB = %llu bytes)",
			     2ull * ((unsigned long long)c->kv.value_bytes_max * 2 + 4096));
	}
	if (c->transport == NODE_TRANSPORT_DPDK && c->dpdk_port[0] == '\0') {
		config_error(cp, "node", "dpdk_port",
			     "missing for transport = dpdk (a PCI address or a vdev string)");
	}
}

int node_config_parse_string(const char *text, const char *name, raft_node_id self,
			     struct node_config *out, char *errmsg, size_t errmsg_bytes)
{
	struct node_config scratch;
	node_config_default(&scratch);
	struct config_parse cp = {.cfg = out, .self = self, .text = text, .name = name,
				  .errmsg = errmsg, .errmsg_bytes = errmsg_bytes,
				  .scratch = &scratch};
	node_config_default(out);
	out->self = self;
	snprintf(out->file_prefix, sizeof(out->file_prefix), "raftnode%u", self);
	errmsg[0] = '\0';
	if (self == RAFT_NODE_NONE) {
		snprintf(errmsg, errmsg_bytes, "%s: node id 0 is not a node id", name);
		return -EINVAL;
	}
	int line = ini_parse_string(text, config_handler, &cp);
	if (line > 0 && !cp.failed) {
		snprintf(errmsg, errmsg_bytes, "%s:%d: syntax error", name, line);
		return -EINVAL;
	}
	if (!cp.failed) {
		config_check(&cp);
	}
	return cp.failed ? -EINVAL : 0;
}

int node_config_load(const char *path, raft_node_id self, struct node_config *out,
		     char *errmsg, size_t errmsg_bytes)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(errmsg, errmsg_bytes, "%s: cannot open: %s", path, strerror(errno));
		return -errno;
	}
	char *text = malloc(CONFIG_FILE_BYTES_MAX + 1);
	if (text == NULL) {
		fclose(f);
		snprintf(errmsg, errmsg_bytes, "%s: out of memory", path);
		return -ENOMEM;
	}
	size_t n = fread(text, 1, CONFIG_FILE_BYTES_MAX + 1, f);
	fclose(f);
	if (n > CONFIG_FILE_BYTES_MAX) {
		free(text);
		snprintf(errmsg, errmsg_bytes, "%s: larger than 1 MiB", path);
		return -EFBIG;
	}
	text[n] = '\0';
	int rc = node_config_parse_string(text, path, self, out, errmsg, errmsg_bytes);
	free(text);
	return rc;
}

const char *node_transport_name(int t)
{
	return t > 0 && t < 3 ? config_transports[t] : "?";
}

const char *node_durability_name(int d)
{
	return d > 0 && d < 4 ? config_durabilities[d] : "?";
}

const char *node_log_write_name(int w)
{
	return w > 0 && w < 3 ? config_log_writes[w] : "?";
}
