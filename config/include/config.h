/* SPDX-License-Identifier: MIT */
/*
 * config.h - the public API of raftnode's config module: the cluster file
 * (INI, read by libinih; the format is documented in config/example.ini),
 * parsed and checked once by config.c. The node daemon and the client
 * tools (raftctl, raftbench) read the same file through it, so a client
 * links the parser and these types, not the node.
 *
 * The names keep their `node_` prefix (node_config, node_config_load,
 * node_kv_config, ...) because they describe a node's configuration: the
 * cluster, its members, and what one member runs with. Only the module that
 * holds them is config.
 *
 * Bad values never crash: every one is refused with a message that names
 * the file, the line and the key, and the caller decides what to do.
 */
#ifndef RN_CONFIG_H
#define RN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus.h" /* raft_node_id, RAFT_NODES_MAX */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The key-value state machine's sizes ([limits] kv_*) ----------------- */

/* What a configuration may ask of the state machine at most; the state
 * machine (node/apply/kv.c) refuses a configuration beyond them too. */
#define NODE_KV_KEYS_LIMIT (1u << 28)
#define NODE_KV_KEY_BYTES_LIMIT 1024u
#define NODE_KV_VALUE_BYTES_LIMIT (1u << 20)
#define NODE_KV_CLIENTS_LIMIT (1u << 24)
/* Results kept per session, and all sessions' together (9 bytes each):
 * beyond 2^28 the windows alone would take over 2 GiB. */
#define NODE_KV_SESSION_WINDOW_LIMIT (1u << 16)
#define NODE_KV_WINDOW_ENTRIES_LIMIT (1ull << 28)

struct node_kv_config {
	uint32_t keys_max;	   /* live keys, <= NODE_KV_KEYS_LIMIT */
	uint16_t key_bytes_max;	   /* <= NODE_KV_KEY_BYTES_LIMIT */
	uint32_t value_bytes_max;  /* <= NODE_KV_VALUE_BYTES_LIMIT */
	uint32_t clients_max;	   /* sessions kept; the least recently used goes */
	/* Results (seq, status) kept per session: a retry of one of the
	 * session_window most recent applied commands of its client is
	 * answered from them, exactly once; an older one is refused (stale).
	 * 1 ..= NODE_KV_SESSION_WINDOW_LIMIT. Replicated state: every node of
	 * a cluster must use the same value (as every kv_* limit). */
	uint32_t session_window;
};
void node_kv_config_default(struct node_kv_config *cfg);

/* ---- The cluster and one member's configuration --------------------------- */

#define NODE_MEMBERS_MAX RAFT_NODES_MAX

struct node_member {
	raft_node_id id;
	char ip[16];	/* dotted quad */
	uint32_t ip_be; /* network order */
	uint8_t mac[6];
	bool mac_auto;	/* learn it by ARP */
	uint32_t host;	/* label: the machine (namespace) it runs on */
	uint16_t udp_port;
	/* In the cluster's first configuration ([cluster] initial_members,
	 * or every [member.N] without that key). A member that is not joins
	 * later (raftnode --join, raftctl member add-learner): its section
	 * only says where it is. */
	bool initial;
};

enum node_transport { NODE_TRANSPORT_DPDK = 1, NODE_TRANSPORT_UDP = 2 };
/* busy: spin (dedicated cores); adaptive: spin, then nap; event: sleep in
 * the kernel on the stages' inputs (cores shared with other work). */
enum node_idle { NODE_IDLE_BUSY = 1, NODE_IDLE_ADAPTIVE = 2, NODE_IDLE_EVENT = 3 };
enum node_durability {
	NODE_DURABILITY_FSYNC = 1,
	NODE_DURABILITY_DSYNC = 2,
	NODE_DURABILITY_NONE = 3,
};
enum node_engine { NODE_ENGINE_URING = 1, NODE_ENGINE_PWRITE = 2 };
/* How log writes reach the disk: O_DIRECT blocks (io_uring issues them
 * inline, no io-wq worker) or through the page cache. */
enum node_log_write { NODE_LOG_WRITE_DIRECT = 1, NODE_LOG_WRITE_BUFFERED = 2 };

/* The daemon's stages, as [node] lcore_map names them ("rxtx:3,log:1,
 * control:0,apply:2"): each on an lcore of its own, or any sharing one. */
enum node_stage { NODE_STAGE_RXTX = 0, NODE_STAGE_LOG, NODE_STAGE_CONTROL, NODE_STAGE_APPLY,
		  NODE_STAGES };
const char *node_stage_name(int stage);

struct node_config {
	raft_node_id self;
	uint32_t cluster_id;
	/* Issue 17: the peer key only nodes hold (consensus frames) and the
	 * client key (requests and replies; nodes accept it, clients seal
	 * with it). Key files: dp_key_file_load. */
	char peer_key_file[256];
	char client_key_file[256];
	char admin_key_file[256]; /* optional: admin client keys (raftctl reload) */
	/* [cluster] client_encryption = on: client request and reply bodies
	 * sealed (XChaCha20-Poly1305, dataplane/wire_seal.c); plaintext client
	 * frames refused. Every node and client of the cluster must agree. */
	bool client_encryption;
	/* [cluster] auth = off: BENCHMARK ONLY, frames are neither tagged nor
	 * checked (anyone on the path may forge consensus traffic); raftnode
	 * refuses it unless started with --bench-allow-auth-off. */
	bool auth_off;
	uint32_t election_timeout_ms;
	uint32_t heartbeat_interval_ms;
	uint32_t tick_ms;
	struct node_member members[NODE_MEMBERS_MAX]; /* every [member.N] */
	uint32_t members_count;
	uint32_t initial_count; /* members with .initial set (>= 1) */
	raft_node_id initial_ids[NODE_MEMBERS_MAX]; /* [cluster] initial_members, as given */
	uint32_t initial_ids_count;
	char data_dir[256];
	uint8_t transport;  /* enum node_transport */
	char dpdk_port[256]; /* PCI address or vdev string */
	char lcores[64];
	char lcore_map[128];
	int16_t stage_lcore[NODE_STAGES]; /* lcore_map parsed: EAL lcore id per stage */
	uint8_t idle;	     /* enum node_idle */
	uint32_t timer_slack_us; /* adaptive idle: lcore threads' timer slack, 0 = kernel's */
	int8_t lcore_nice;	 /* the lcore threads' nice value (0: left as started) */
	uint32_t sched_slice_us; /* the lcore threads' EEVDF slice (0: the kernel's) */
	uint8_t durability;  /* enum node_durability */
	uint8_t io_engine;   /* enum node_engine */
	uint8_t log_write;   /* enum node_log_write */
	uint32_t batch_entries_max;
	uint32_t inflight_appends_max;
	uint64_t uncommitted_bytes_max;
	uint32_t log_entries_max;	/* in-memory window of log entries (power of two) */
	uint64_t log_payload_bytes_max; /* payload bytes of the entries in that window */
	char file_prefix[64];		/* DPDK --file-prefix (one per process) */
	uint16_t mtu_bytes;		/* DPDK port MTU; 0 = the device's default */
	struct node_kv_config kv;
	/* [storage]: snapshots and the log's compaction (README: data directory). */
	bool snapshot;			 /* off: no snapshot, no copy-on-write memory */
	uint64_t snapshot_entries;	 /* a snapshot once this many entries applied since */
	uint64_t snapshot_log_bytes;	 /* ... or their log records take this many bytes */
	uint64_t compact_margin_entries; /* entries kept below a snapshot, for slow followers */
	uint64_t snapshot_write_bytes_per_s; /* snapshot file writeback rate, 0: no limit */
	uint64_t segment_bytes;		 /* log segment files' preallocated size */
	/* [storage]: the free space the log leaves on its file system (below a
	 * segment + this: the no-space alarm). */
	uint64_t space_reserve_bytes;
	/* [node] metrics_addr: the Prometheus endpoint, IPv4:PORT ("": none). */
	char metrics_addr[64];
};

void node_config_default(struct node_config *cfg);
/* Reads and checks the configuration of node `self`. 0, or a negative
 * errno with errmsg naming the file, the line and the key ("FILE:LINE:
 * [section] key: why"). Unknown sections and keys are errors. */
int node_config_load(const char *path, raft_node_id self, struct node_config *out,
		     char *errmsg, size_t errmsg_bytes);
int node_config_parse_string(const char *text, const char *name, raft_node_id self,
			     struct node_config *out, char *errmsg, size_t errmsg_bytes);
const char *node_transport_name(int transport);
const char *node_durability_name(int durability);
const char *node_log_write_name(int log_write);

/* ---- Which keys the nodes of a cluster must agree on (config_class.c) ----- */

enum node_key_scope {
	NODE_KEY_LOCAL = 1,   /* node-local: each node sets its own */
	NODE_KEY_CLUSTER = 2, /* one value for the cluster, not compared between nodes */
	NODE_KEY_AGREED = 3,  /* cluster-wide and fingerprinted: a peer that differs is refused */
};
struct node_config_key {
	const char *section; /* "cluster", "member" ([member.N]), "node" ([node.N] too), ... */
	const char *key;
	uint8_t scope;	     /* enum node_key_scope */
	size_t value_offset; /* NODE_KEY_AGREED: the value in struct node_config */
	size_t value_bytes;  /* ... and its width (1, 2, 4, 8); 0 otherwise */
};
/* The table of every key the parser takes (a key not in it is unknown). */
const struct node_config_key *node_config_keys(size_t *count);
/* A file section's key ("member.3", "ip"): its entry, or NULL. */
const struct node_config_key *node_config_key_find(const char *section, const char *key);

/* The agreed settings as compact text, "wire_version=7;id=7;kv_keys_max=..."
 * (the values as parsed, in the table's order): the text's bytes, or -1 when
 * out_bytes is too small. The fingerprint is its hash (never 0). */
#define NODE_SETTINGS_TEXT_BYTES_MAX 512u
int node_settings_text(const struct node_config *c, uint32_t wire_version, char *out,
		       size_t out_bytes);
uint64_t node_settings_hash(const char *text, size_t text_bytes);
uint64_t node_settings_fp(const struct node_config *c, uint32_t wire_version);

#ifdef __cplusplus
}
#endif

#endif /* RN_CONFIG_H */
