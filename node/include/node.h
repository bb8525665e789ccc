/* SPDX-License-Identifier: MIT */
/*
 * node.h - the public API of raftnode's node module. This first part is the
 * replicated key-value state machine (kv.c): put, get, delete and
 * compare-and-swap, with client sessions (client id + sequence number) that
 * make retried writes exactly-once. The daemon's wiring (config, stages,
 * telemetry) joins it here as issue "raftnode end to end" lands; its
 * configuration is read by node_config_load().
 *
 * The state machine is deterministic: every node applies the same committed
 * commands in the same order and reaches the same state, which
 * node_kv_digest() summarizes in 64 bits (order-independent: a function of
 * the live keys and values only). All memory is sized by node_kv_config at
 * node_kv_create(); applying never allocates. A command that does not fit
 * (table full, value too big) gets a deterministic error result, the same
 * on every node. Command bytes come from clients through the log: they are
 * validated, never asserted on.
 */
#ifndef RN_NODE_H
#define RN_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus.h" /* raft_index */

#ifdef __cplusplus
extern "C" {
#endif

enum node_kv_op {
	NODE_KV_PUT = 1,
	NODE_KV_GET = 2, /* through the log: a read ordered with the writes */
	NODE_KV_DEL = 3,
	NODE_KV_CAS = 4, /* set value if the current value equals `expected` */
};

enum node_kv_status {
	NODE_KV_OK = 0,
	NODE_KV_NOT_FOUND = 1,	   /* get/del/cas of a missing key */
	NODE_KV_CAS_MISMATCH = 2,  /* cas: current value differs from expected */
	NODE_KV_FULL = 3,	   /* put of a new key with keys_max keys live */
	NODE_KV_TOO_BIG = 4,	   /* key or value over the configured limits */
	NODE_KV_BAD_COMMAND = 5,   /* malformed command bytes */
	NODE_KV_STALE = 6,	   /* seq older than the session's last: a late retry */
};

/* A command, decoded: the pointers point into the encoded bytes. */
struct node_kv_command {
	uint8_t op; /* enum node_kv_op */
	uint64_t client_id; /* 0 = no session (no exactly-once) */
	uint64_t seq;	    /* per client, increasing */
	const uint8_t *key;
	uint16_t key_bytes;
	const uint8_t *value; /* put, cas: the new value */
	uint32_t value_bytes;
	const uint8_t *expected; /* cas */
	uint32_t expected_bytes;
};

/*
 * Encoding (little-endian): u8 op, u8 0, u16 key_bytes, u32 value_bytes,
 * u32 expected_bytes, u32 0, u64 client_id, u64 seq, then key, expected,
 * value. 32 bytes of header.
 */
#define NODE_KV_COMMAND_HEADER_BYTES 32u
size_t node_kv_command_bytes(const struct node_kv_command *c);
/* Returns the bytes written, or -EMSGSIZE if out is too small, -EINVAL for
 * an op that does not exist. */
int64_t node_kv_encode(const struct node_kv_command *c, uint8_t *out, size_t out_bytes);
/* 0, or -EINVAL for malformed bytes (any field, any length). */
int node_kv_decode(const uint8_t *buf, size_t buf_bytes, struct node_kv_command *out);

struct node_kv_config {
	uint32_t keys_max;	   /* live keys */
	uint16_t key_bytes_max;	   /* <= 1024 */
	uint32_t value_bytes_max;  /* <= 1 MiB */
	uint32_t clients_max;	   /* sessions kept; the least recently used goes */
};
void node_kv_config_default(struct node_kv_config *cfg);
/* The memory a state machine of this configuration takes, in bytes: the
 * formula the README states. */
uint64_t node_kv_memory_bytes(const struct node_kv_config *cfg);

struct node_kv;

/* The outcome of one applied command. `value` (get, and cas on mismatch:
 * the current value) stays valid until the next apply. */
struct node_kv_result {
	uint8_t status;	 /* enum node_kv_status */
	bool duplicate;	 /* a retry of the session's last command: not applied
			  * again, its first status returned */
	const uint8_t *value;
	uint32_t value_bytes;
};

/* 0, -EINVAL (bad config) or -ENOMEM. */
int node_kv_create(const struct node_kv_config *cfg, struct node_kv **out);
void node_kv_destroy(struct node_kv *kv);

/* Applies the committed command at `index` (applied index + 1). */
void node_kv_apply(struct node_kv *kv, raft_index index, const uint8_t *cmd, size_t cmd_bytes,
		   struct node_kv_result *res);
/* The same for a command already decoded (the daemon decodes the client
 * request as it came off the wire and kept in the log). The key, value and
 * expected bytes are validated against the limits here, like encoded ones. */
void node_kv_apply_command(struct node_kv *kv, raft_index index, const struct node_kv_command *c,
			   struct node_kv_result *res);
/* A committed entry that carries no command (a leader's no-op). */
void node_kv_skip(struct node_kv *kv, raft_index index);

/* Reads the current value (after a ReadIndex, or a stale read). Returns
 * NODE_KV_OK or NODE_KV_NOT_FOUND. */
int node_kv_get(const struct node_kv *kv, const uint8_t *key, uint16_t key_bytes,
		const uint8_t **value, uint32_t *value_bytes);

raft_index node_kv_applied_index(const struct node_kv *kv);
uint32_t node_kv_keys_count(const struct node_kv *kv);
uint64_t node_kv_digest(const struct node_kv *kv);
const char *node_kv_status_name(int status);

/* ---- Configuration (config.c; the format: config/example.ini) ---------- */

#define NODE_MEMBERS_MAX RAFT_NODES_MAX

struct node_member {
	raft_node_id id;
	char ip[16];	/* dotted quad */
	uint32_t ip_be; /* network order */
	uint8_t mac[6];
	bool mac_auto;	/* learn it by ARP */
	uint32_t host;	/* label: the machine (namespace) it runs on */
	uint16_t udp_port;
};

enum node_transport { NODE_TRANSPORT_DPDK = 1, NODE_TRANSPORT_UDP = 2 };
enum node_idle { NODE_IDLE_BUSY = 1, NODE_IDLE_ADAPTIVE = 2 };
enum node_durability {
	NODE_DURABILITY_FSYNC = 1,
	NODE_DURABILITY_DSYNC = 2,
	NODE_DURABILITY_NONE = 3,
};
enum node_engine { NODE_ENGINE_URING = 1, NODE_ENGINE_PWRITE = 2 };

/* The daemon's stages, as [node] lcore_map names them ("rxtx:3,log:1,
 * control:0,apply:2"): each on an lcore of its own, or any sharing one. */
enum node_stage { NODE_STAGE_RXTX = 0, NODE_STAGE_LOG, NODE_STAGE_CONTROL, NODE_STAGE_APPLY,
		  NODE_STAGES };
const char *node_stage_name(int stage);

struct node_config {
	raft_node_id self;
	uint32_t cluster_id;
	char secret_file[256];
	uint32_t election_timeout_ms;
	uint32_t heartbeat_interval_ms;
	uint32_t tick_ms;
	struct node_member members[NODE_MEMBERS_MAX];
	uint32_t members_count;
	char data_dir[256];
	uint8_t transport;  /* enum node_transport */
	char dpdk_port[256]; /* PCI address or vdev string */
	char lcores[64];
	char lcore_map[128];
	int16_t stage_lcore[NODE_STAGES]; /* lcore_map parsed: EAL lcore id per stage */
	uint8_t idle;	     /* enum node_idle */
	uint32_t timer_slack_us; /* adaptive idle: lcore threads' timer slack, 0 = kernel's */
	uint8_t durability;  /* enum node_durability */
	uint8_t io_engine;   /* enum node_engine */
	uint32_t batch_entries_max;
	uint32_t inflight_appends_max;
	uint64_t uncommitted_bytes_max;
	uint32_t log_entries_max;	/* in-memory window of log entries (power of two) */
	uint64_t log_payload_bytes_max; /* payload bytes of the entries in that window */
	char file_prefix[64];		/* DPDK --file-prefix (one per process) */
	uint16_t mtu_bytes;		/* DPDK port MTU; 0 = the device's default */
	struct node_kv_config kv;
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

#ifdef __cplusplus
}
#endif

#endif /* RN_NODE_H */
