/* SPDX-License-Identifier: MIT */
/*
 * dataplane.h - the public API of raftnode's dataplane (issue 5): the
 * authenticated Raft wire format and reassembly, ARP/ICMP answers, DPDK EAL
 * start, port initialisation and rx/tx bursts, zero-copy replication
 * fan-out, and the lcore stage scheduler with its SPSC rings.
 *
 * A frame is Ethernet II / IPv4 / UDP carrying one Raft frame:
 *
 *     eth (14) | ipv4 (20, no options) | udp (8) | raft header (64) | body | tag (16)
 *
 * The raft header and every body field are little-endian at fixed offsets
 * (see struct dp_wire_hdr). The tag is a 128-bit SipHash-2-4 (libsodium
 * crypto_shorthash_siphashx24) over the raft header and a keyed digest of
 * the body (wire_auth.c), keyed by keys derived from the cluster secret and
 * the cluster id: a frame built without the secret is dropped and counted,
 * never decoded. SipHash needs no
 * nonce, so encoding is stateless and a restarted node cannot reuse one by
 * accident; what it costs against AES-GCM-as-GMAC is in dataplane/README.md.
 *
 * The codec works on plain byte buffers (no DPDK), so it is unit-tested and
 * fuzzed without a NIC. Decoders treat every byte as hostile: a bad frame
 * returns a negative dp_error and increments one counter naming the reason;
 * nothing on the receive path asserts on frame contents.
 */
#ifndef RN_DATAPLANE_H
#define RN_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Wire constants ---------------------------------------------------- */

#define DP_WIRE_MAGIC 0x5446524eu /* "NRFT" read as little-endian bytes */
/* 2: the append flags byte (commit-only); 3: client frames carry a batch
 * (many requests or replies per frame); 4: snapshot transfer frames
 * (DP_FRAME_SNAP_CHUNK, _ACK) and the client reply status no_space; 5:
 * membership changes: configuration entries (RAFT_ENTRY_CONFIG, with the
 * new member's address) in AppendEntries, and the client op MEMBER; 6
 * (issue 17, identities): the header grows to 64 bytes with the sender's
 * boot epoch (replay windows), the id of the key that sealed the frame (key
 * rotation) and the fingerprint of the cluster-wide settings. A
 * frame of another version is
 * dropped and counted (DP_ERR_BAD_VERSION, a node's drops.bad_version). */
#define DP_WIRE_VERSION 7u
#define DP_ETH_HDR_BYTES 14u
#define DP_IPV4_HDR_BYTES 20u
#define DP_UDP_HDR_BYTES 8u
#define DP_RAFT_HDR_BYTES 64u
#define DP_TAG_BYTES 16u
/* Everything in a frame that is not body. */
#define DP_FRAME_OVERHEAD_BYTES                                                          \
	(DP_ETH_HDR_BYTES + DP_IPV4_HDR_BYTES + DP_UDP_HDR_BYTES + DP_RAFT_HDR_BYTES +     \
	 DP_TAG_BYTES)
/* Largest frame we build or accept: a 9000-byte jumbo IP packet plus the
 * Ethernet header. The port's MTU decides the real limit at run time. */
#define DP_FRAME_BYTES_MAX (9000u + DP_ETH_HDR_BYTES)
#define DP_ETHERTYPE_IPV4 0x0800u
#define DP_IPPROTO_UDP 17u

#define DP_SECRET_BYTES_MIN 16u
#define DP_SECRET_BYTES_MAX 64u
#define DP_KEY_BYTES 64u /* frame key (16) | small-body key (16) | body GHASH key (32) */
/* Client encryption (wire_seal.c): a sealed body is the ciphertext, the
 * AES-256-GCM mac and the frame's nonce: the sender's key nonce (its
 * key's HChaCha20 input) and the frame's counter under that key. */
#define DP_SEAL_KEY_BYTES 32u
#define DP_SEAL_MAC_BYTES 16u
#define DP_SEAL_KEY_NONCE_BYTES 16u
#define DP_SEAL_COUNTER_BYTES 8u
#define DP_SEAL_NONCE_BYTES (DP_SEAL_KEY_NONCE_BYTES + DP_SEAL_COUNTER_BYTES)
#define DP_SEAL_OVERHEAD_BYTES (DP_SEAL_MAC_BYTES + DP_SEAL_NONCE_BYTES)

/* Body layouts: fixed part of each message type, little-endian. */
#define DP_APPEND_FIXED_BYTES 32u	/* prev_index, prev_term, commit, count, flags, 0[3] */
/* Bit of an append's flags byte: a commit-only update (no entries), which
 * the follower does not acknowledge (consensus.h, raft_msg_append). */
#define DP_APPEND_FLAG_COMMIT_ONLY 0x01u
#define DP_APPEND_ENTRY_HDR_BYTES 24u /* index, term, payload_bytes, type, 0[3] */
#define DP_APPEND_RESP_BYTES 40u
#define DP_VOTE_BYTES 24u
#define DP_VOTE_RESP_BYTES 8u
#define DP_HEARTBEAT_BYTES 16u
#define DP_HEARTBEAT_RESP_BYTES 8u
#define DP_TIMEOUT_NOW_BYTES 0u
#define DP_READ_INDEX_BYTES 8u
#define DP_READ_INDEX_RESP_BYTES 16u
#define DP_CLIENT_REQUEST_FIXED_BYTES 32u
#define DP_CLIENT_REPLY_FIXED_BYTES 32u
#define DP_CLIENT_BATCH_HDR_BYTES 4u /* count u16, 0[2]: then the items */
/* Each size is the sum of its fields as laid out in wire_raft.c and
 * wire_client.c (C only: C++ in bench/ reads this header too). */
#ifndef __cplusplus
_Static_assert(DP_FRAME_OVERHEAD_BYTES == 14 + 20 + 8 + 64 + 16,
	       "eth (14) | ipv4 (20) | udp (8) | raft header (64) | body | tag (16)");
_Static_assert(DP_APPEND_FIXED_BYTES == 8 + 8 + 8 + 4 + 1 + 3,
	       "append: 3 u64, count u32, flags u8, 0[3]");
_Static_assert(DP_APPEND_ENTRY_HDR_BYTES == 8 + 8 + 4 + 1 + 3, "entry: 2 u64, u32, u8, 0[3]");
_Static_assert(DP_APPEND_RESP_BYTES == 1 + 7 + 4 * 8, "append_resp: u8, 0[7], 4 u64");
_Static_assert(DP_VOTE_BYTES == 8 + 8 + 1 + 7, "vote: 2 u64, u8, 0[7]");
_Static_assert(DP_VOTE_RESP_BYTES == 1 + 7, "vote_resp: u8, 0[7]");
_Static_assert(DP_HEARTBEAT_BYTES == 8 + 8, "heartbeat: 2 u64");
_Static_assert(DP_HEARTBEAT_RESP_BYTES == 8, "heartbeat_resp: u64");
_Static_assert(DP_READ_INDEX_BYTES == 8, "read_index: u64");
_Static_assert(DP_READ_INDEX_RESP_BYTES == 8 + 8, "read_index_resp: 2 u64");
_Static_assert(DP_CLIENT_REQUEST_FIXED_BYTES == 8 + 8 + 1 + 1 + 2 + 4 + 4 + 4, "request layout");
_Static_assert(DP_CLIENT_REPLY_FIXED_BYTES == 8 + 8 + 1 + 3 + 4 + 4 + 4, "reply layout");
_Static_assert(DP_CLIENT_BATCH_HDR_BYTES == 2 + 2, "batch: count u16, 0[2]");
#endif

/* Client keys are short; values may fill a frame. */
#define DP_CLIENT_KEY_BYTES_MAX 256u
/* The largest client reply message (batch header and one reply) a node
 * sends as fragments when it does not fit one frame of the path (a
 * leader's status), and the largest a client reassembles: both size their
 * buffers with it at start. */
#define DP_CLIENT_REPLY_MSG_BYTES_MAX (32u * 1024u)

/* Frame types: the consensus message types keep their numbers (1..11). */
enum dp_frame_type {
	DP_FRAME_CLIENT_REQUEST = 32,
	DP_FRAME_CLIENT_REPLY = 33,
	/* Snapshot transfer (InstallSnapshot's bytes, issue 16): one chunk of a
	 * snapshot file per frame, leader to follower, and the follower's
	 * cumulative acknowledgement. See "Snapshot transfer frames" below. */
	DP_FRAME_SNAP_CHUNK = 34,
	DP_FRAME_SNAP_ACK = 35,
	/* A node's agreed settings, to a peer whose fingerprint differs (see
	 * "Settings frames" below; issue 17, wire version 6). */
	DP_FRAME_SETTINGS = 36,
};
#ifndef __cplusplus
_Static_assert(RAFT_MSG_APPEND == 1, "raft types are 1..11");
_Static_assert(RAFT_MSG_READ_INDEX_RESP == 11, "raft types are 1..11");
_Static_assert(DP_FRAME_CLIENT_REQUEST >= RAFT_MSG_TYPE_COUNT, "client types follow them");
#endif

/* Raft header flags. */
enum dp_hdr_flags {
	/* This frame is one fragment of a message larger than one frame
	 * (see dp_reasm_*); msg_body_bytes and frag_offset_bytes say where. */
	DP_HDR_FRAGMENT = 1u << 0,
	/* The body is sealed (encrypted): a client frame of a cluster with
	 * [cluster] client_encryption = on (wire_seal.c has the layout). */
	DP_HDR_ENCRYPTED = 1u << 1,
};
#define DP_HDR_FLAGS_KNOWN ((uint16_t)(DP_HDR_FRAGMENT | DP_HDR_ENCRYPTED))

/*
 * The fixed Raft header, as laid out on the wire (little-endian, naturally
 * aligned so the struct has no padding; the codec never casts a frame to it,
 * it reads each field at offsetof() with explicit byte order).
 */
struct dp_wire_hdr {
	uint32_t magic;		    /* DP_WIRE_MAGIC */
	uint8_t version;	    /* DP_WIRE_VERSION */
	uint8_t type;		    /* enum raft_msg_type or enum dp_frame_type */
	uint16_t flags;		    /* enum dp_hdr_flags; unknown bits rejected */
	uint32_t cluster_id;	    /* frames of another cluster are dropped */
	uint32_t from;		    /* sender node id (client id for clients: 0) */
	uint32_t to;		    /* recipient node id */
	uint32_t body_bytes;	    /* body bytes in this frame */
	uint64_t term;		    /* sender's term (0 for client frames) */
	uint64_t msg_seq;	    /* per-sender message number */
	uint32_t msg_body_bytes;    /* body bytes of the whole message */
	uint32_t frag_offset_bytes; /* where this frame's body starts in it */
	/* Version 6. The sender's boot epoch: rises at every start of a node
	 * (replay windows are per sender and epoch; 0 from clients). */
	uint32_t boot_epoch;
	uint16_t key_id;	  /* which key sealed the frame (rotation) */
	uint16_t reserved;	  /* 0; another value is dropped as bad_version */
	uint64_t settings_fp;	  /* fingerprint of the cluster-wide settings */
};
#ifdef __cplusplus
static_assert(sizeof(struct dp_wire_hdr) == DP_RAFT_HDR_BYTES, "raft header is 64 bytes");
#else
_Static_assert(sizeof(struct dp_wire_hdr) == DP_RAFT_HDR_BYTES, "raft header is 64 bytes");
_Static_assert(DP_RAFT_HDR_BYTES == 4 + 1 + 1 + 2 + 4 * 4 + 2 * 8 + 2 * 4 + 4 + 2 + 2 + 8,
	       "the fields add up to the struct: no padding");
#endif

/* ---- Errors and drop reasons ------------------------------------------- */

/*
 * Module error codes, returned negative. The DP_ERR_* that describe a bad
 * received frame double as drop reasons: each one has a counter.
 */
enum dp_error {
	DP_OK = 0,
	DP_ERR_TRUNCATED = 2001,	/* shorter than its headers say */
	DP_ERR_NOT_RAFT = 2002,		/* not IPv4/UDP to our port (ARP, other) */
	DP_ERR_BAD_IP = 2003,		/* version, options, fragment, checksum */
	DP_ERR_BAD_UDP = 2004,		/* length or checksum */
	DP_ERR_BAD_MAGIC = 2005,
	DP_ERR_BAD_VERSION = 2006,
	DP_ERR_WRONG_CLUSTER = 2007,
	DP_ERR_BAD_LENGTH = 2008,	/* header lengths disagree */
	DP_ERR_BAD_TAG = 2009,		/* authentication failed */
	DP_ERR_UNKNOWN_TYPE = 2010,
	DP_ERR_BAD_BODY = 2011,		/* a body field out of range */
	DP_ERR_WRONG_RECIPIENT = 2012,	/* `to` is not this node */
	DP_ERR_TOO_MANY_ENTRIES = 2013, /* more entries than the caller's array */
	/* A plaintext client frame where client encryption is on, a sealed
	 * one where it is off, or a sealed consensus frame. */
	DP_ERR_SEAL_MISMATCH = 2014,
	/* Issue 17, identities: the header's key_id names no key this
	 * context holds (a key retired after a rotation, or never given). */
	DP_ERR_UNKNOWN_KEY = 2015,
	/* A consensus or snapshot frame sealed (validly) with a client key:
	 * a client forging node traffic. */
	DP_ERR_CLIENT_KEY = 2016,
	/* Not drop reasons: local errors and outcomes. */
	DP_ERR_INVALID = 2050,	  /* bad argument */
	DP_ERR_TOO_BIG = 2051,	  /* does not fit the buffer or one frame */
	DP_ERR_CRYPTO = 2052,	  /* libsodium failed to initialise */
	DP_ERR_FRAGMENT = 2053,	  /* authenticated fragment of a larger message */
	DP_ERR_AGAIN = 2054,	  /* fragment kept: the message is not complete yet */
	/* Reassembly drops (counted in struct dp_reasm_counters). */
	DP_ERR_REASM_TOO_BIG = 2060,   /* message larger than msg_bytes_max */
	DP_ERR_REASM_ORPHAN = 2061,    /* fragment of no message in progress */
	DP_ERR_REASM_GAP = 2062,       /* a fragment is missing: message dropped */
	DP_ERR_REASM_DUPLICATE = 2063, /* already have these bytes */
	DP_ERR_REASM_MISMATCH = 2064,  /* disagrees with earlier fragments */
};
#define DP_ERR_DROP_FIRST DP_ERR_TRUNCATED
#define DP_ERR_DROP_LAST DP_ERR_CLIENT_KEY
#define DP_DROP_REASONS_COUNT (DP_ERR_DROP_LAST - DP_ERR_DROP_FIRST + 1)

const char *dp_strerror(int rc);

struct dp_wire_counters {
	uint64_t frames_accepted;
	uint64_t fragments_accepted; /* returned as -DP_ERR_FRAGMENT */
	/* dropped[rc - DP_ERR_DROP_FIRST] for each drop reason rc. */
	uint64_t dropped[DP_DROP_REASONS_COUNT];
};

/* Counter of one drop reason (rc positive or negative); 0 for others. */
uint64_t dp_wire_dropped(const struct dp_wire_counters *c, int rc);

/* ---- Keys: peer and client identities, rotation (issue 17) ------------- */

/*
 * Two roles of key. The peer key only nodes hold seals and verifies
 * consensus frames (raft types 1..11), snapshot chunks and acks, and the
 * fragments of those; client keys seal client requests and replies. A
 * frame of a consensus type that verifies with a client key is dropped as
 * DP_ERR_CLIENT_KEY: holding a client key never lets anyone speak for a
 * node. Every key has an id (1..65535, unique across roles), sent in the
 * header's key_id, so a receiver verifies with the one key it names.
 *
 * Rotation: a key file lists up to DP_KEY_FILE_KEYS_MAX keys, the first
 * seals, every one listed verifies. Stage 1 lists (old, new) everywhere,
 * stage 2 (new, old), stage 3 (new): no node ever seals with a key another
 * does not accept yet (README, "Keys").
 */
enum dp_key_role {
	DP_KEY_ROLE_ANY = 0,	/* one key for every frame (plain secret: tests, benches) */
	DP_KEY_ROLE_PEER = 1,	/* consensus and snapshot frames: nodes only */
	DP_KEY_ROLE_CLIENT = 2, /* client requests and replies */
	/* A client key that may also run admin requests (raftctl reload):
	 * sealed and checked as a client key on the wire; the node asks the
	 * role of the request's key_id (dp_keyring_role) before it obeys. */
	DP_KEY_ROLE_ADMIN = 3,
};
#define DP_KEY_ROLES_COUNT 4u
#define DP_KEY_FILE_KEYS_MAX 2u /* the sealing key and one more (a rotation's window) */
#define DP_KEYRING_SLOTS (3u * DP_KEY_FILE_KEYS_MAX) /* peer, client and admin keys */

/* A key file as read (dp_key_file_load): keys[0] seals. */
struct dp_key_file {
	uint32_t count; /* 1..DP_KEY_FILE_KEYS_MAX */
	uint16_t key_id[DP_KEY_FILE_KEYS_MAX];
	uint32_t secret_bytes[DP_KEY_FILE_KEYS_MAX];
	uint8_t secret[DP_KEY_FILE_KEYS_MAX][DP_SECRET_BYTES_MAX];
};

/*
 * Reads a key file: text, one key per line, "ID HEX" (ID 1..65535, HEX
 * 32..128 hex digits, i.e. 16..64 bytes of secret), blank lines and lines
 * starting with '#' ignored; the first key seals. The file must be a
 * regular file that neither group nor others may read or write (mode 600
 * or stricter): a key others can read is no secret, and one they can
 * write lets them choose it. 0, or -errno / -DP_ERR_INVALID with errmsg
 * naming the file (and its mode, the line).
 */
int dp_key_file_load(const char *path, struct dp_key_file *out, char *errmsg,
		     size_t errmsg_bytes);
/* Wipes the secrets. */
void dp_key_file_wipe(struct dp_key_file *f);

/* One key of a ring. A seqlock guards it: the ring is rewritten live (a
 * reload on another thread) while the lcores read it with no lock; a
 * reader copies the key and retries when seq moved under it. */
struct dp_key_slot {
	uint32_t seq;	/* even: stable; odd: being rewritten */
	uint16_t key_id; /* 0 with used == 0: empty */
	uint8_t role;	/* enum dp_key_role */
	uint8_t used;
	uint64_t key_words[DP_KEY_BYTES / 8]; /* the derived key (wire_auth.c) */
};

/* The keys a context seals and verifies with: sized at start, one writer
 * (dp_keyring_set), any number of readers on other lcores. */
struct dp_keyring {
	struct dp_key_slot slots[DP_KEYRING_SLOTS];
	uint32_t seal_slot[DP_KEY_ROLES_COUNT]; /* per role, the slot that seals */
	uint64_t installs;			/* key sets installed (status: reloads) */
};

/*
 * Installs a role's keys (f->key_id[0] seals; each secret is derived as
 * dp_wire_init does, salted with the cluster id). A key that stays keeps
 * its slot, new keys take empty or retired slots, and the sealing key
 * moves before any retired one is cleared: a key listed before and after
 * is never missing for a reader. 0, or -DP_ERR_INVALID with errmsg: an id
 * the other role uses, an id whose bytes changed (a new key needs a new
 * id), no room. Runs on one thread at a time (the writer).
 */
int dp_keyring_set(struct dp_keyring *k, uint32_t cluster_id, enum dp_key_role role,
		   const struct dp_key_file *f, char *errmsg, size_t errmsg_bytes);
/* Wipes every key. */
void dp_keyring_wipe(struct dp_keyring *k);
/* The role (enum dp_key_role) of the key the ring holds under key_id, or
 * -DP_ERR_UNKNOWN_KEY. Any thread (a seqlock read). */
int dp_keyring_role(const struct dp_keyring *k, uint16_t key_id);

struct dp_wire_config {
	uint32_t cluster_id;
	raft_node_id self_id; /* frames whose `to` differs are dropped */
	/* Either one plain secret, for every frame (key id 0, role ANY: tests
	 * and benchmarks), or keys: a ring the caller filled and keeps (a
	 * node's peer and client keys, a client's client key), which it may
	 * rewrite live with dp_keyring_set. */
	const uint8_t *secret;
	size_t secret_bytes; /* DP_SECRET_BYTES_MIN..DP_SECRET_BYTES_MAX */
	struct dp_keyring *keys;
	uint16_t udp_port; /* frames to another port are not ours */
};

/* Per-lcore codec state: the keys, the counters. No locks: one context
 * belongs to one core (the keys may be shared: they are read-only here). */
struct dp_wire {
	uint32_t cluster_id;
	raft_node_id self_id;
	uint16_t udp_port;
	/* Put in the header of every frame sealed with this context (0 after
	 * dp_wire_init; the node sets them before it sends). The key id comes
	 * from the key that seals it. */
	uint32_t boot_epoch;
	uint64_t settings_fp;
	const struct dp_keyring *keys; /* &own, or the caller's ring */
	struct dp_keyring own;	       /* a plain secret's one key */
	/* Client frames sealed (dp_wire_set_client_seal). */
	bool client_seal;
	/* Benchmark only ([cluster] auth = off): frames carry a zero tag and
	 * no tag is checked. */
	bool auth_off;
	struct dp_wire_counters counters;
};

/* Initialises libsodium (once), derives the key from the secret and the
 * cluster id (or takes the caller's ring). Returns 0, -DP_ERR_INVALID or
 * -DP_ERR_CRYPTO. */
int dp_wire_init(struct dp_wire *w, const struct dp_wire_config *cfg);
/* Client encryption on or off (after dp_wire_init, and again after the key
 * changes): derives the seal keys from the key client frames are authenticated
 * with. On: client frames are sealed (AES-256-GCM, wire_seal.c) and
 * a plaintext one is refused; off: a sealed one is refused. 0 or
 * -DP_ERR_CRYPTO. */
int dp_wire_set_client_seal(struct dp_wire *w, bool on);
/* The frame bytes a client frame may fill before it is sealed, on a path
 * of path_frame_bytes_max: less DP_SEAL_OVERHEAD_BYTES when sealing. Start
 * client frames (dp_client_frame_start) with it. */
size_t dp_wire_client_frame_bytes_max(const struct dp_wire *w, size_t path_frame_bytes_max);
/* Wipes the context's own key (a caller's ring is the caller's). */
void dp_wire_fini(struct dp_wire *w);
/* The 32-byte key material a client frame sealed with key_id is
 * authenticated with (client frame encryption derives from it): 0, or
 * -DP_ERR_UNKNOWN_KEY when the context holds no client key of that id. A
 * plain-secret context answers its one key for any id. */
int dp_wire_client_key(const struct dp_wire *w, uint16_t key_id, uint8_t key[DP_KEY_BYTES]);

/* ---- Addresses ------------------------------------------------------------ */

/* Where a frame goes (encode) or came from (decode). IPv4 addresses and
 * ports in host byte order. */
struct dp_endpoints {
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	uint32_t src_ip;
	uint32_t dst_ip;
	uint16_t src_port;
	uint16_t dst_port;
	/* Decode: the id of the key that sealed the frame (its header's
	 * key_id). Encode of a client reply: the client key to seal with (the
	 * request's, so a client that holds only the key it sent with can
	 * check the answer during a rotation); 0 or unknown: the role's
	 * sealing key. Ignored for other frames. */
	uint16_t key_id;
	uint16_t reserved; /* 0: no padding left uninitialised */
};

/* ---- Client frames -------------------------------------------------------- */

enum dp_client_op {
	DP_CLIENT_PUT = 1,
	DP_CLIENT_GET = 2,
	DP_CLIENT_DELETE = 3,
	DP_CLIENT_CAS = 4, /* compare-and-swap: `expect` then `value` */
	/* A read served from this node's applied state without ReadIndex: may
	 * be stale (lags the leader), never blocks on a quorum. */
	DP_CLIENT_GET_STALE = 5,
	/* Node status as JSON in the reply's value; the key is ignored (send
	 * "status"). Not through the log. */
	DP_CLIENT_STATUS = 6,
	/* Ask the leader to hand leadership to the node whose id is the value
	 * (4 bytes, little-endian); the key is ignored (send "leader"). */
	DP_CLIENT_TRANSFER = 7,
	/* Membership (wire version 5); the key is ignored (send "member").
	 * With a value of DP_CONF_ENTRY_BYTES (a config entry's record:
	 * ADD_LEARNER with the address, PROMOTE or REMOVE): the change, on
	 * the leader, answered once its entry is committed (or REFUSED at
	 * once, the core's error named in the reply's value). With no value:
	 * the configuration as this node sees it (struct dp_member_list in
	 * the reply's value). */
	DP_CLIENT_MEMBER = 8,
};
#ifndef __cplusplus
_Static_assert(sizeof(raft_node_id) == 4, "a TRANSFER value is one node id");
#endif
#define DP_CLIENT_OP_LAST DP_CLIENT_MEMBER

/* Request flags (byte 17 of the request body). */
enum dp_client_flags {
	/* Sampled request: the reply carries the node's stage timestamps. */
	DP_CLIENT_FLAG_TRACE = 1u << 0,
};
#define DP_CLIENT_FLAGS_KNOWN ((uint8_t)DP_CLIENT_FLAG_TRACE)

struct dp_client_request {
	uint64_t client_id;
	uint64_t request_seq; /* exactly-once: (client_id, request_seq) */
	uint8_t op;	      /* enum dp_client_op */
	uint8_t flags;	      /* enum dp_client_flags */
	const uint8_t *key;
	uint32_t key_bytes;
	const uint8_t *value;
	uint32_t value_bytes;
	const uint8_t *expect; /* CAS only */
	uint32_t expect_bytes;
};

enum dp_client_status {
	DP_CLIENT_OK = 0,
	DP_CLIENT_NOT_FOUND = 1,
	DP_CLIENT_CAS_FAILED = 2,
	DP_CLIENT_REDIRECT = 3, /* not the leader: try leader_id */
	DP_CLIENT_RETRY = 4,	/* no leader known (an election is on): retry */
	DP_CLIENT_BUSY = 5,	/* back-pressure: queue, window or cap full; retry later */
	DP_CLIENT_BAD_REQUEST = 6, /* well-formed frame, request refused (too big, bad target) */
	/* The leader's no-space alarm is up (its disk has no room for the
	 * log's next segment beside the reserve): the write was refused, not
	 * applied. Final: retry after an operator freed space. */
	DP_CLIENT_NO_SPACE = 7,
	/* A membership change the leader's core refused: the value names the
	 * error (e.g. "change_pending", "learner_behind"). Final. */
	DP_CLIENT_REFUSED = 8,
};
#define DP_CLIENT_STATUS_LAST DP_CLIENT_REFUSED

/*
 * Stages a traced request passes on the node that serves it, in order. The
 * reply to a DP_CLIENT_FLAG_TRACE request carries one CLOCK_MONOTONIC
 * timestamp (ns) per stage it reached (trace_count of them, after the value).
 * Stages a request skips (a read is never proposed) repeat the previous one.
 */
enum dp_trace_stage {
	DP_TRACE_RX = 0,	/* request decoded on the rx/tx stage */
	DP_TRACE_PROPOSED = 1,	/* its batch handed to the core, index assigned */
	DP_TRACE_DURABLE = 2,	/* the leader's own log write is durable */
	DP_TRACE_REPLICATED = 3, /* a majority holds it (commit index reached it) */
	DP_TRACE_APPLIED = 4,	/* the state machine applied it */
	DP_TRACE_REPLY = 5,	/* the reply frame was built and handed to tx */
};
#define DP_TRACE_STAGES 6u

struct dp_client_reply {
	uint64_t client_id;
	uint64_t request_seq;
	uint8_t status; /* enum dp_client_status */
	raft_node_id leader_id;
	const uint8_t *value;
	uint32_t value_bytes;
	uint32_t trace_count; /* 0, or DP_TRACE_STAGES */
	uint64_t trace_ns[DP_TRACE_STAGES];
};

/*
 * Client frames carry batches (wire version 3): a CLIENT_REQUEST frame
 * holds count >= 1 requests, a CLIENT_REPLY frame count >= 1 replies, one
 * after the other (wire_client.c has the layout). The decoder checked
 * every item; walk them with dp_client_batch_next_request/_reply, *offset
 * starting at 0. Pointers into the caller's frame, valid as long as it is.
 */
struct dp_client_batch {
	const uint8_t *items; /* the encoded items back to back */
	uint32_t items_bytes;
	uint32_t count;
};
/* The item at *offset (advanced past it): 0, or -DP_ERR_INVALID past the
 * end, -DP_ERR_BAD_BODY for bytes the decoder did not check. */
int dp_client_batch_next_request(const struct dp_client_batch *b, uint32_t *offset,
				 struct dp_client_request *out);
int dp_client_batch_next_reply(const struct dp_client_batch *b, uint32_t *offset,
			       struct dp_client_reply *out);

/*
 * A client frame being filled (the sending side of a batch): start it on
 * a buffer, add items while they fit frame_bytes_max (the path's frame:
 * DP_FRAME_BYTES_MAX on kernel UDP, the port's MTU + Ethernet header on
 * DPDK), seal it. Items are written in place, once.
 */
struct dp_client_frame {
	uint8_t *buf;		  /* the whole frame (Ethernet header first) */
	uint32_t frame_bytes_max; /* min(buffer, path, DP_FRAME_BYTES_MAX) */
	uint32_t body_bytes;	  /* batch header + items so far */
	uint32_t count;		  /* items so far */
	uint8_t type;		  /* DP_FRAME_CLIENT_REQUEST or _REPLY */
};
void dp_client_frame_start(struct dp_client_frame *f, uint8_t type, uint8_t *buf,
			   size_t frame_bytes_max);
/* Adds one item: 0, or -DP_ERR_TOO_BIG when it does not fit what is left
 * (with count 0: it fits no frame of this size). */
int dp_client_frame_add_request(struct dp_client_frame *f, const struct dp_client_request *req);
int dp_client_frame_add_reply(struct dp_client_frame *f, const struct dp_client_reply *rep);
/* Frame bytes one more item of item_bytes would make (to pick a frame). */
size_t dp_client_frame_bytes_with(const struct dp_client_frame *f, size_t item_bytes);
size_t dp_wire_request_item_bytes(const struct dp_client_request *req);
size_t dp_wire_reply_item_bytes(const struct dp_client_reply *rep);
/* Seals a frame holding count >= 1 items for addr, to `to`: returns its
 * bytes (the frame starts at f->buf; a kernel socket sends it from
 * DP_UDP_PAYLOAD_OFFSET on). The frame can then be started again. */
size_t dp_wire_seal_client_frame(const struct dp_wire *w, const struct dp_endpoints *addr,
				 uint64_t msg_seq, raft_node_id to, const struct dp_client_frame *f);

/* ---- Snapshot transfer frames ---------------------------------------------
 *
 * InstallSnapshot's bytes travel apart from the consensus core, which only
 * sees the offer (index, term, configuration) once a whole, verified file
 * is staged (snapxfer/). Each chunk is one frame, never fragmented; the
 * header's `from` is the sender and its `term` the leader's term (chunk)
 * or the receiver's current term (ack). Bodies, little-endian:
 *
 *   id     snap_index u64, snap_term u64, total_bytes u64, crc32c u32, 0[4]
 *   chunk  id, offset_bytes u64, data_bytes u32, 0[4], then data_bytes bytes
 *   ack    id, acked_bytes u64, window_bytes u32, reason u8, 0[3]
 *
 * The id (snapshot index + term + file size + whole-file CRC32C) names the
 * file, not the sender: a new leader holding the same snapshot resumes a
 * transfer the old one began. A chunk of zero data bytes is a probe (the
 * sender asks where the receiver stands). The ack is cumulative: the
 * receiver holds [0, acked_bytes) and takes window_bytes more past it.
 * Decoders check every field: the id's index, term and size are >= 1 and
 * its term is at most the header's; offset + data_bytes <= total_bytes;
 * acked_bytes <= total_bytes; reserved bytes zero; the chunk's data fills
 * the body exactly. A bad body is dropped as DP_ERR_BAD_BODY and counted.
 */
#define DP_SNAP_ID_BYTES 32u
#define DP_SNAP_CHUNK_FIXED_BYTES (DP_SNAP_ID_BYTES + 16u)
#define DP_SNAP_ACK_BYTES (DP_SNAP_ID_BYTES + 16u)
/* Most data one chunk carries: a jumbo frame's body less the fixed part.
 * A path with smaller frames (a DPDK virtual device at 1514-1518 bytes)
 * gets dp_snap_data_bytes_max(frame_bytes_max). */
#define DP_SNAP_DATA_BYTES_MAX                                                           \
	(DP_FRAME_BYTES_MAX - DP_FRAME_OVERHEAD_BYTES - DP_SNAP_CHUNK_FIXED_BYTES)
#ifndef __cplusplus
_Static_assert(DP_SNAP_ID_BYTES == 8 + 8 + 8 + 4 + 4, "id: 3 u64, u32, 0[4]");
_Static_assert(DP_SNAP_CHUNK_FIXED_BYTES == 32 + 8 + 4 + 4, "chunk: id, u64, u32, 0[4]");
_Static_assert(DP_SNAP_ACK_BYTES == 32 + 8 + 4 + 1 + 3, "ack: id, u64, u32, u8, 0[3]");
_Static_assert(DP_SNAP_DATA_BYTES_MAX == 8844, "9014 - 122 - 48");
#endif

/* Which snapshot file a transfer moves (equal ids: the same bytes). */
struct dp_snap_id {
	raft_index index;     /* the snapshot's last included index */
	raft_term term;	      /* the term of that entry */
	uint64_t total_bytes; /* the file's size */
	uint32_t crc32c;      /* CRC32C of the whole file */
};

struct dp_snap_chunk {
	raft_node_id from; /* decoded: the frame header's sender (encoders ignore it) */
	raft_term term;	   /* decoded: the frame header's term (the leader's) */
	struct dp_snap_id id;
	uint64_t offset_bytes;
	const uint8_t *data; /* data_bytes bytes (in the caller's frame once decoded) */
	uint32_t data_bytes; /* 0: a probe */
};

/* Why an ack says what it says. The REFUSE_* end the sender's attempt. */
enum dp_snap_ack_reason {
	DP_SNAP_ACK_OK = 0,	     /* progress: acked_bytes and window hold */
	DP_SNAP_ACK_DONE = 1,	     /* staged whole and verified: the sender is done */
	DP_SNAP_ACK_RESTART = 2,     /* the staged file failed its CRC: send again from 0 */
	DP_SNAP_ACK_BUSY = 3,	     /* another transfer's file awaits install: wait (window 0) */
	DP_SNAP_ACK_REFUSE_STALE = 4,	 /* the chunk's term is below the receiver's */
	DP_SNAP_ACK_REFUSE_TOO_BIG = 5,	 /* larger than the receiver stages */
	DP_SNAP_ACK_REFUSE_NO_SPACE = 6, /* the receiver cannot write (a full disk) */
	DP_SNAP_ACK_REFUSE_SUPERSEDED = 7, /* the receiver holds a newer snapshot's transfer */
	DP_SNAP_ACK_REFUSE_IO = 8,	   /* the receiver's staging write failed (not space) */
};
#define DP_SNAP_ACK_REASON_LAST DP_SNAP_ACK_REFUSE_IO

struct dp_snap_ack {
	raft_node_id from;	/* decoded: the frame header's sender (encoders ignore it) */
	raft_term term;		/* decoded: the frame header's term (the receiver's) */
	struct dp_snap_id id;	/* the transfer it answers (the chunk's id) */
	uint64_t acked_bytes;	/* the receiver holds [0, acked_bytes) of the file */
	uint32_t window_bytes;	/* and can take this many more past it */
	uint8_t reason;		/* enum dp_snap_ack_reason */
};

/* Data bytes a chunk may carry in frames of frame_bytes_max (0: none fit). */
uint32_t dp_snap_data_bytes_max(size_t frame_bytes_max);
/* One chunk or ack in one frame from this node to `to` at `term`, sealed.
 * Returns the frame's bytes, -DP_ERR_TOO_BIG when it does not fit
 * min(buf_bytes, DP_FRAME_BYTES_MAX), or -DP_ERR_INVALID (a field the
 * decoder would refuse). */
int dp_wire_encode_snap_chunk(const struct dp_wire *w, const struct dp_endpoints *addr,
			      uint64_t msg_seq, raft_node_id to, raft_term term,
			      const struct dp_snap_chunk *c, uint8_t *buf, size_t buf_bytes);
int dp_wire_encode_snap_ack(const struct dp_wire *w, const struct dp_endpoints *addr,
			    uint64_t msg_seq, raft_node_id to, raft_term term,
			    const struct dp_snap_ack *a, uint8_t *buf, size_t buf_bytes);
/* The bodies alone (a ring record, a fuzz oracle): encode returns the body
 * bytes or -DP_ERR_TOO_BIG / -DP_ERR_INVALID; decode checks the body of a
 * frame whose header says `term`: 0 or -DP_ERR_BAD_BODY. */
int dp_snap_chunk_body(const struct dp_snap_chunk *c, raft_term term, uint8_t *body,
		       size_t body_bytes_max);
int dp_snap_ack_body(const struct dp_snap_ack *a, raft_term term, uint8_t *body,
		     size_t body_bytes_max);
int dp_snap_chunk_decode(raft_term term, const uint8_t *body, size_t body_bytes,
			 struct dp_snap_chunk *out);
int dp_snap_ack_decode(raft_term term, const uint8_t *body, size_t body_bytes,
		       struct dp_snap_ack *out);

/* ---- Configuration entries (membership changes) ---------------------------
 *
 * A RAFT_ENTRY_CONFIG entry travels (and is stored in the log) as
 * DP_CONF_ENTRY_BYTES bytes: the core's 64-bit change value
 * RAFT_CONF_PAYLOAD(op, id), little-endian, then the member's address
 * record, DP_MEMBER_ADDR_BYTES:
 *
 *   value u64 | ip u32 | udp_port u16 | flags u8 (bit 0: mac auto) | 0 u8 |
 *   mac[6] | 0[2] | host u32 | 0[4]
 *
 * The address is filled for RAFT_CONF_ADD_LEARNER (ip and port non-zero;
 * mac zero when auto) and all zero for the other ops. The core's entry
 * holds the VALUE in its payload field with payload_bytes 0 (consensus.h,
 * MEMBERSHIP CONTRACT): the encoder writes the record from the caller's
 * payloads[i] (the 32 bytes, value included), the decoder hands the value
 * back in e->payload and leaves the record where it came, found again with
 * dp_wire_append_conf(). Decoders reject an unknown op, id 0, a wrong
 * length, a bad address, non-zero reserved bytes.
 */
#define DP_MEMBER_ADDR_BYTES 24u
#define DP_CONF_ENTRY_BYTES (8u + DP_MEMBER_ADDR_BYTES)
#define DP_MEMBER_ADDR_MAC_AUTO 0x01u
#ifndef __cplusplus
_Static_assert(DP_MEMBER_ADDR_BYTES == 4 + 2 + 1 + 1 + 6 + 2 + 4 + 4,
	       "address: ip u32, port u16, flags u8, 0 u8, mac[6], 0[2], host u32, 0[4]");
#endif

/* Where a member is: what its config entry carries (ports and addresses
 * in host byte order). */
struct dp_member_addr {
	uint32_t ip;
	uint16_t udp_port;
	bool mac_auto; /* learn it (ARP, first frame) */
	uint8_t mac[6];
	uint32_t host; /* the cluster file's label */
};

/* The record of a change (addr NULL: zero, for every op but ADD_LEARNER). */
void dp_conf_entry_encode(uint64_t value, const struct dp_member_addr *addr,
			  uint8_t out[DP_CONF_ENTRY_BYTES]);
/* Checks and reads a record: 0, or -DP_ERR_BAD_BODY. addr may be NULL. */
int dp_conf_entry_decode(const uint8_t *in, size_t in_bytes, uint64_t *value,
			 struct dp_member_addr *addr);
/* The address record alone (a snapshot's configuration keeps it). */
void dp_member_addr_encode(const struct dp_member_addr *addr, uint8_t out[DP_MEMBER_ADDR_BYTES]);
int dp_member_addr_decode(const uint8_t in[DP_MEMBER_ADDR_BYTES], struct dp_member_addr *out);
/* Bytes entry e takes in an AppendEntries body (header and payload). */
size_t dp_wire_entry_bytes(const struct raft_entry *e);

/*
 * The reply to a MEMBER list request (its value): the configuration in
 * force as the answering node sees it, with each member's address and
 * (on a leader) its match index. Compact so that 16 members fit one frame
 * of any path (16 x 40 + 24 bytes):
 *
 *   header  config_index u64, self u32, leader u32, pending u8, count u8,
 *           self_role u8, 0[5]
 *   member  id u32, role u8, flags u8 (bit 0: address known), 0[2],
 *           match u64, address record (DP_MEMBER_ADDR_BYTES)
 */
#define DP_MEMBER_LIST_HDR_BYTES 24u
#define DP_MEMBER_LIST_ITEM_BYTES (16u + DP_MEMBER_ADDR_BYTES)
#define DP_MEMBER_LIST_BYTES_MAX (DP_MEMBER_LIST_HDR_BYTES + RAFT_NODES_MAX * DP_MEMBER_LIST_ITEM_BYTES)
enum dp_member_role { DP_MEMBER_NONE = 0, DP_MEMBER_VOTER = 1, DP_MEMBER_LEARNER = 2 };
struct dp_member_info {
	raft_node_id id;
	uint8_t role; /* enum dp_member_role */
	bool addr_known;
	raft_index match; /* the leader's view; 0 elsewhere */
	struct dp_member_addr addr;
};
struct dp_member_list {
	raft_index config_index; /* the entry that set it (0: the start's) */
	raft_node_id self, leader;
	bool pending;	   /* that entry is not committed yet */
	uint8_t self_role; /* enum dp_member_role: this node in it */
	uint32_t count;
	struct dp_member_info members[RAFT_NODES_MAX];
};
/* Returns the bytes written (<= DP_MEMBER_LIST_BYTES_MAX). */
size_t dp_member_list_encode(const struct dp_member_list *l, uint8_t *out, size_t out_bytes);
/* 0, or -DP_ERR_BAD_BODY. */
int dp_member_list_decode(const uint8_t *in, size_t in_bytes, struct dp_member_list *out);

/* ---- Settings frames --------------------------------------------------------
 *
 * Every frame a node seals carries the fingerprint of its agreed settings
 * (header settings_fp: the cluster-wide ones that change what a node
 * applies, config.h node_settings_text). A node drops a peer's consensus
 * frame whose fingerprint differs from its own, and tells that peer why
 * with a SETTINGS frame (at most one a second per peer): its settings as
 * compact text, "name=value;name=value...", so that the peer can name the
 * setting that differs. The body is that text alone, 1 to
 * DP_SETTINGS_BYTES_MAX bytes of [a-z0-9_=;], at most DP_SETTINGS_PAIRS_MAX
 * pairs, each a non-empty name of [a-z0-9_], '=', a non-empty value of
 * [a-z0-9_]; anything else (a header term other than 0 too: it is no
 * consensus message) is dropped as DP_ERR_BAD_BODY. The header's from is
 * the sender.
 */
#define DP_SETTINGS_BYTES_MAX 512u
#define DP_SETTINGS_PAIRS_MAX 32u
struct dp_settings {
	raft_node_id from; /* decoded: the frame header's sender (encoders ignore it) */
	const char *text;  /* text_bytes bytes, not NUL-terminated (in the caller's frame) */
	uint32_t text_bytes;
	uint32_t pairs_count;
};
struct dp_setting_pair {
	const char *name, *value; /* in the text: not NUL-terminated */
	uint32_t name_bytes, value_bytes;
};
/* Checks text as a body: 0 (s filled, its pairs counted) or -DP_ERR_BAD_BODY. */
int dp_settings_decode(const uint8_t *body, size_t body_bytes, struct dp_settings *out);
/* The pair at *at (0 first), then *at moves past it: 0, or -1 after the last. */
int dp_settings_next(const struct dp_settings *s, uint32_t *at, struct dp_setting_pair *out);
/* The body alone: its bytes, -DP_ERR_INVALID (text the decoder would refuse)
 * or -DP_ERR_TOO_BIG. */
int dp_settings_body(const char *text, size_t text_bytes, uint8_t *body, size_t body_bytes_max);
/* One SETTINGS frame from this node to `to`, sealed: its bytes, or the
 * body's errors (-DP_ERR_TOO_BIG too when buf_bytes cannot hold it). */
int dp_wire_encode_settings(const struct dp_wire *w, const struct dp_endpoints *addr,
			    uint64_t msg_seq, raft_node_id to, const char *text,
			    size_t text_bytes, uint8_t *buf, size_t buf_bytes);

/* ---- Decoded frames ------------------------------------------------------- */

/* An authenticated fragment (dp_wire_decode returned -DP_ERR_FRAGMENT). */
struct dp_fragment {
	raft_node_id from;
	raft_node_id to;
	raft_term term;
	uint32_t msg_body_bytes;
	uint32_t frag_offset_bytes;
	const uint8_t *body; /* body_bytes bytes, in the caller's frame */
	uint32_t body_bytes;
};

/* One decoded frame. Pointers (entry payload handles, key, value) point into
 * the caller's frame buffer and are valid as long as it is. */
struct dp_rx_frame {
	struct dp_endpoints addr;
	uint8_t type; /* enum raft_msg_type or enum dp_frame_type */
	uint64_t msg_seq;
	/* The header's version 6 fields, as the sender sealed them. */
	uint32_t boot_epoch;
	uint16_t key_id;
	uint64_t settings_fp;
	/* A client frame: every item (request or reply has the first). */
	struct dp_client_batch batch;
	union {
		struct raft_message raft; /* types 1..11 */
		struct dp_client_request request; /* the batch's first */
		struct dp_client_reply reply;	  /* the batch's first */
		struct dp_fragment fragment; /* after -DP_ERR_FRAGMENT */
		struct dp_snap_chunk snap_chunk; /* DP_FRAME_SNAP_CHUNK */
		struct dp_snap_ack snap_ack;	 /* DP_FRAME_SNAP_ACK */
		struct dp_settings settings;	 /* DP_FRAME_SETTINGS */
	};
	/* A raft message's body as it was decoded (the caller's frame, or
	 * the reassembly buffer): where an append's config records are. */
	const uint8_t *raft_body;
	uint32_t raft_body_bytes;
};

/* The record of the config entry at `index` in a decoded append (frame f,
 * still valid): 0 (out holds DP_CONF_ENTRY_BYTES), or -DP_ERR_INVALID
 * when f holds no config entry of that index. */
int dp_wire_append_conf(const struct dp_rx_frame *f, raft_index index,
			uint8_t out[DP_CONF_ENTRY_BYTES]);

/*
 * Parses and authenticates one frame and decodes its body into *out.
 * For AppendEntries the entries go to entries[0..entries_max); each entry's
 * payload handle is the address of its payload bytes in `frame`.
 * Checks, cheapest first: Ethernet/IPv4/UDP framing, magic, version,
 * cluster id, recipient, lengths, tag, type, body. Returns 0 (counted in
 * frames_accepted) or a negative drop reason (counted in dropped[]);
 * DP_ERR_FRAGMENT frames are authenticated and should go to dp_reasm_push.
 */
int dp_wire_decode(struct dp_wire *w, const uint8_t *frame, size_t frame_bytes,
		   struct raft_entry *entries, uint32_t entries_max, struct dp_rx_frame *out);

/*
 * The same for a UDP payload received through a kernel socket (the kernel
 * transport, clients): the checks from the raft header on. out->addr is
 * zeroed; the socket knows the sender. An encoded frame's UDP payload
 * starts at DP_UDP_PAYLOAD_OFFSET, so a kernel sender encodes a frame and
 * sends frame + DP_UDP_PAYLOAD_OFFSET.
 */
#define DP_UDP_PAYLOAD_OFFSET (DP_ETH_HDR_BYTES + DP_IPV4_HDR_BYTES + DP_UDP_HDR_BYTES)
int dp_wire_decode_udp(struct dp_wire *w, const uint8_t *payload, size_t payload_bytes,
		       struct raft_entry *entries, uint32_t entries_max, struct dp_rx_frame *out);

/*
 * Encodes one consensus message in one frame and seals it. payloads[i]
 * holds entries[i].payload_bytes bytes (AppendEntries only; may be NULL when
 * there are no entries). Returns the frame's bytes (> 0), or
 * -DP_ERR_TOO_BIG when it does not fit min(buf_bytes, DP_FRAME_BYTES_MAX)
 * (then split it with dp_wire_encode_raft_fragment), or -DP_ERR_INVALID.
 */
int dp_wire_encode_raft(const struct dp_wire *w, const struct dp_endpoints *addr,
			uint64_t msg_seq, const struct raft_message *m,
			const uint8_t *const *payloads, uint8_t *buf, size_t buf_bytes);
/* A client frame of one request or one reply (a batch of one). */
int dp_wire_encode_request(const struct dp_wire *w, const struct dp_endpoints *addr,
			   uint64_t msg_seq, raft_node_id to, const struct dp_client_request *req,
			   uint8_t *buf, size_t buf_bytes);
int dp_wire_encode_reply(const struct dp_wire *w, const struct dp_endpoints *addr,
			 uint64_t msg_seq, raft_node_id to, const struct dp_client_reply *rep,
			 uint8_t *buf, size_t buf_bytes);

/* Body bytes a consensus message needs (before splitting into frames). */
size_t dp_wire_raft_body_bytes(const struct raft_message *m);

/* ---- Messages larger than one frame ----------------------------------------
 *
 * Sender: serialise the whole body once (dp_wire_raft_body / request /
 * reply), then cut it into frames of at most frame_bytes_max bytes (the
 * port's MTU + Ethernet header) with dp_wire_encode_fragment, advancing
 * `offset` by what each call reports. Receiver: dp_wire_decode returns
 * -DP_ERR_FRAGMENT for each authenticated piece; dp_reasm_push collects the
 * pieces of each (sender, boot epoch, msg_seq) in order and decodes the message when
 * the last one arrives. Memory is fixed at dp_reasm_init.
 */

/* What a fragmented message is: its header fields and serialised body. */
struct dp_fragment_src {
	uint8_t type;
	raft_node_id from;
	raft_node_id to;
	raft_term term;
	uint64_t msg_seq;
	const uint8_t *body;
	uint32_t body_bytes;
};

/* Serialise bodies into `body` (body_bytes_max bytes). Return the bytes
 * written or -DP_ERR_TOO_BIG. The request and reply bodies are one item
 * each (a request item is the form the log keeps); a client frame's body
 * is a batch header (dp_wire_client_batch_hdr) and items. */
int dp_wire_raft_body(const struct raft_message *m, const uint8_t *const *payloads,
		      uint8_t *body, size_t body_bytes_max);
int dp_wire_request_body(const struct dp_client_request *req, uint8_t *body,
			 size_t body_bytes_max);
int dp_wire_reply_body(const struct dp_client_reply *rep, uint8_t *body, size_t body_bytes_max);
/* Writes the batch header for count (1..65535) items at body
 * (DP_CLIENT_BATCH_HDR_BYTES). */
void dp_wire_client_batch_hdr(uint8_t *body, uint32_t count);
/* Decodes a request body as dp_wire_request_body wrote it (the node keeps
 * client requests in its log in this form). 0 or -DP_ERR_BAD_BODY. */
int dp_wire_request_body_decode(const uint8_t *body, size_t body_bytes,
				struct dp_client_request *out);

/*
 * Builds the fragment of src that starts at `offset` in a frame of at most
 * min(frame_bytes_max, buf_bytes) bytes. *body_bytes_out says how much of
 * the body it carries. Returns the frame's bytes, or -DP_ERR_INVALID /
 * -DP_ERR_TOO_BIG (offset past the end, or no room for one body byte).
 */
int dp_wire_encode_fragment(const struct dp_wire *w, const struct dp_endpoints *addr,
			    const struct dp_fragment_src *src, uint32_t offset,
			    size_t frame_bytes_max, uint8_t *buf, size_t buf_bytes,
			    uint32_t *body_bytes_out);

/* Messages being reassembled at once; the oldest is dropped for a new one. */
#define DP_REASM_SLOTS_MAX 64u

struct dp_reasm_counters {
	uint64_t messages_completed;
	uint64_t messages_evicted;   /* all slots busy: oldest dropped */
	uint64_t messages_bad;	     /* complete, but the body failed to decode */
	uint64_t dropped_too_big;    /* DP_ERR_REASM_TOO_BIG */
	uint64_t dropped_orphan;     /* DP_ERR_REASM_ORPHAN */
	uint64_t dropped_gap;	     /* DP_ERR_REASM_GAP */
	uint64_t dropped_duplicate;  /* DP_ERR_REASM_DUPLICATE */
	uint64_t dropped_mismatch;   /* DP_ERR_REASM_MISMATCH */
};

struct dp_reasm_slot;

struct dp_reasm {
	struct dp_reasm_slot *slots;
	uint32_t slots_count;
	uint32_t msg_bytes_max;
	uint8_t *buffers; /* slots_count * msg_bytes_max, allocated at init */
	uint64_t clock;	  /* push counter: ages slots for eviction */
	struct dp_reasm_counters counters;
};

/* Allocates slots_count (1..DP_REASM_SLOTS_MAX) buffers of msg_bytes_max.
 * Returns 0, -DP_ERR_INVALID or -ENOMEM. */
int dp_reasm_init(struct dp_reasm *r, uint32_t slots_count, uint32_t msg_bytes_max);
void dp_reasm_fini(struct dp_reasm *r);

/*
 * Adds one fragment (a frame for which dp_wire_decode returned
 * -DP_ERR_FRAGMENT). Fragments of a message must arrive in order, as one
 * sender's queue delivers them; a gap drops the message (Raft resends).
 * Returns 0 when this fragment completed the message, now decoded in *out
 * (its pointers into reassembly memory stay valid until the next push);
 * -DP_ERR_AGAIN when the fragment was kept; another negative dp_error when
 * it was dropped (counted). Body decode errors are those of dp_wire_decode.
 */
int dp_reasm_push(struct dp_reasm *r, const struct dp_rx_frame *frag,
		  struct raft_entry *entries, uint32_t entries_max, struct dp_rx_frame *out);

/* ---- Replay windows (issue 17) ---------------------------------------------
 *
 * A receiver keeps, per sender node id, the sender's newest boot epoch,
 * the highest msg_seq accepted in it and a bitmap of the msg_seqs below
 * (as IPsec ESP's anti-replay window, RFC 4303 3.4.3; the bitmap is a ring
 * of words as in RFC 6479, so advancing clears a word or two instead of
 * shifting the whole map). A consensus frame is refused when its epoch is
 * older than the sender's, or its msg_seq was accepted already (replayed)
 * or lies below the window (too old); a newer epoch (the sender restarted)
 * resets the sender's window. UDP may reorder frames: any msg_seq inside
 * the window not seen yet is accepted, not only the highest.
 *
 * Call it only for frames whose tag verified: a forged frame must never
 * move a window. One dp_replay belongs to one lcore (the one that receives;
 * a sender's frames must all reach the same one); memory is sized at init,
 * nothing is allocated per frame. The counters are written by that lcore
 * with relaxed stores, so another thread may read them (status).
 *
 * Client frames have no window: a client's session sequence numbers are
 * the deduplication (the state machine answers a retried or replayed write
 * from the session and changes nothing), and a node cannot keep state per
 * client address. A fragmented message is checked once reassembled (its
 * fragments share the message's msg_seq); dp_replay_check may drop its
 * fragments early without marking anything.
 */
#define DP_REPLAY_WINDOW_WORDS 16u /* ring bitmap words per sender */
/* msg_seqs below the highest that are still told apart: the ring less one
 * word (the word being filled may hold seqs above the highest). */
#define DP_REPLAY_WINDOW_SEQS ((DP_REPLAY_WINDOW_WORDS - 1u) * 64u)
#define DP_REPLAY_SENDERS_MAX 256u

enum dp_replay_verdict {
	DP_REPLAY_NEW = 0,	/* accept (and dp_replay_admit marked it) */
	DP_REPLAY_REPLAYED = 1, /* msg_seq already accepted in this epoch */
	DP_REPLAY_TOO_OLD = 2,	/* below the window, or an older epoch */
};

struct dp_replay_counters {
	uint64_t accepted;
	uint64_t replayed;	  /* DP_REPLAY_REPLAYED drops */
	uint64_t too_old;	  /* DP_REPLAY_TOO_OLD drops (old_epoch included) */
	uint64_t old_epoch;	  /* of too_old: an epoch older than the sender's */
	uint64_t epochs_new;	  /* a sender's newer epoch reset its window */
	uint64_t senders_evicted; /* table full: the least recently heard left */
};

struct dp_replay_sender {
	raft_node_id id;
	uint32_t epoch;
	uint64_t top_seq;   /* highest msg_seq accepted in epoch */
	uint64_t last_used; /* dp_replay.clock at its last frame */
	uint64_t bits[DP_REPLAY_WINDOW_WORDS]; /* bit seq % (64 x words) */
};

struct dp_replay {
	struct dp_replay_sender *senders; /* [0, senders_count) in use */
	uint32_t senders_max;
	uint32_t senders_count;
	uint64_t clock; /* frames admitted: ages senders for eviction */
	struct dp_replay_counters counters;
};

/* Allocates a table of senders_max (1..DP_REPLAY_SENDERS_MAX) senders.
 * 0, -DP_ERR_INVALID or -ENOMEM. */
int dp_replay_init(struct dp_replay *r, uint32_t senders_max);
void dp_replay_fini(struct dp_replay *r);
/* What dp_replay_admit would say, changing nothing. */
enum dp_replay_verdict dp_replay_check(const struct dp_replay *r, raft_node_id from,
				       uint32_t epoch, uint64_t msg_seq);
/* Checks and, when new, marks (from, epoch, msg_seq); counts the verdict. */
enum dp_replay_verdict dp_replay_admit(struct dp_replay *r, raft_node_id from, uint32_t epoch,
				       uint64_t msg_seq);
/* A decoded frame: consensus traffic (raft types, snapshot chunks and
 * acks, SETTINGS) goes through dp_replay_admit with its sender; client frames are
 * DP_REPLAY_NEW, unmarked and uncounted. */
/* The node a windowed frame comes from (raft types, snapshot chunk/ack,
 * SETTINGS), or RAFT_NODE_NONE for a client frame (not windowed). */
raft_node_id dp_replay_frame_sender(const struct dp_rx_frame *f);
enum dp_replay_verdict dp_replay_admit_frame(struct dp_replay *r, const struct dp_rx_frame *f);
/* The counters, read from any thread (relaxed loads). */
void dp_replay_read(const struct dp_replay *r, struct dp_replay_counters *out);

/* ---- ARP and ICMP echo ------------------------------------------------------ */

/* This node's address on a port (IPv4 in host byte order). */
struct dp_host {
	uint8_t mac[6];
	uint32_t ip;
};

/*
 * If `frame` is an ARP request for host->ip or an ICMP echo request to it,
 * rewrites it in place into the reply and returns the reply's bytes (send it
 * back from the same buffer). Returns 0, leaving the frame untouched, for
 * anything else, malformed frames included.
 */
size_t dp_l2_answer(const struct dp_host *host, uint8_t *frame, size_t frame_bytes);

/* ---- DPDK: EAL, ports, bursts ---------------------------------------------
 *
 * DPDK types appear only as incomplete structs, so this header builds
 * without DPDK's include path; eal.c and port.c hold the DPDK code.
 */

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

/* A node has one port; rn_memif_switch has one per node plus the kernel's. */
#define DP_EAL_DEVICES_MAX 32u

enum dp_hugepages {
	DP_HUGEPAGES_AUTO = 0,	  /* use them when free ones exist */
	DP_HUGEPAGES_NEVER = 1,	  /* always --no-huge */
	DP_HUGEPAGES_REQUIRE = 2, /* fail without them */
};

struct dp_eal_config {
	const char *lcores;	 /* EAL -l list, e.g. "0" or "2-5" */
	const char *file_prefix; /* one per process on a machine */
	const char *const *vdevs; /* e.g. "net_af_packet0,iface=veth1" */
	uint32_t vdevs_count;
	const char *const *pci;	 /* PCI addresses to allow; none => --no-pci */
	uint32_t pci_count;
	uint8_t hugepages;	 /* enum dp_hugepages */
	uint32_t memory_mb;	 /* with --no-huge; 0 = 256 */
	const char *log_level;	 /* EAL --log-level; NULL = "error" */
};

/* True when /proc/meminfo reports free hugepages and hugetlbfs is mounted. */
bool dp_hugepages_available(void);
/* Starts the EAL once per process. Returns 0 or -errno with errmsg set. */
int dp_eal_start(const struct dp_eal_config *cfg, char *errmsg, size_t errmsg_bytes);
void dp_eal_stop(void);

/* Bounds of one burst and of tx retries before the tail is freed. */
#define DP_BURST_MAX 32u
#define DP_TX_RETRIES_MAX 4u

struct dp_port_config {
	uint16_t port_id;
	uint16_t rx_desc_count; /* 0 = 1024 */
	uint16_t tx_desc_count; /* 0 = 1024 */
	uint32_t mbufs_count;	/* pool size; 0 = 8191 */
	uint16_t mtu_bytes;	/* 0 = device default; > 1500 needs jumbo support */
	/* MBUF_FAST_FREE frees sent mbufs without refcount checks. Only for
	 * queues that never send a shared (refcnt > 1) mbuf: replication
	 * fan-out shares payloads, so it is off by default. */
	bool tx_fast_free;
	/* Rx queue interrupts (intr_conf.rxq) for an lcore that sleeps on
	 * events: used where the driver gives queue 0 an interrupt fd
	 * (net_tap here); elsewhere the port polls as without. */
	bool rx_intr;
};

struct dp_port_counters {
	uint64_t rx_frames;
	uint64_t tx_frames;
	uint64_t tx_retries;	  /* tx_burst took fewer than offered */
	uint64_t tx_unsent_freed; /* still unsent after the retries: freed */
};

struct dp_port {
	uint16_t port_id;
	int socket_id;
	struct rte_mempool *pool;
	uint8_t mac[6];
	uint64_t rx_offloads; /* what the device listed and we enabled */
	uint64_t tx_offloads;
	uint16_t mtu_bytes;
	/* rx_intr: queue 0's interrupt fd, -1 when the driver has none (or
	 * it was not asked for). */
	int rx_intr_fd;
	bool rx_intr_drain;	  /* the fd is an eventfd: read its counter after a wake */
	bool rx_intr_armable;	  /* rte_eth_dev_rx_intr_enable works (not ENOTSUP) */
	struct dp_port_counters counters;
	char errmsg[160];
};

/* Finds a port by device name (e.g. "net_af_packet0"). 0 or -ENODEV. */
int dp_port_find(const char *name, uint16_t *port_id);
/* One checked sequence: info, offloads the device lists, pool on the
 * port's socket, configure, queues, MTU, start. 0 or -errno (errmsg). */
int dp_port_init(struct dp_port *p, const struct dp_port_config *cfg);
void dp_port_fini(struct dp_port *p);
/* Receives up to count_max (<= DP_BURST_MAX) frames from queue 0. */
uint16_t dp_port_rx(struct dp_port *p, struct rte_mbuf **mbufs, uint16_t count_max);
/* Sends `count` frames on queue 0; retries a short burst up to
 * DP_TX_RETRIES_MAX times, then frees the unsent tail and counts it.
 * Returns frames sent. The caller no longer owns any of the mbufs. */
uint16_t dp_port_tx(struct dp_port *p, struct rte_mbuf **mbufs, uint16_t count);
/* One tx burst on queue 0 without retry or free: returns frames sent and
 * leaves mbufs[sent..count) to the caller (back-pressure: retry later). */
uint16_t dp_port_tx_burst(struct dp_port *p, struct rte_mbuf **mbufs, uint16_t count);
/* Link state: 1 up, 0 down, negative errno. */
int dp_port_link_up(struct dp_port *p);
/* Queue 0's rx interrupt fd (dp_port_config.rx_intr), or -1: none. */
int dp_port_rx_intr_fd(const struct dp_port *p);
/* Before an lcore sleeps (on = true): enables the interrupt, so a frame
 * that arrives after the lcore's next look at the queue wakes the sleep;
 * returns true when it did (the lcore must look once more: a frame that
 * came before the enable fired nothing), false where the fd needs no
 * enabling (a tap queue's fd is the queue: readable while a frame waits).
 * After the sleep, or when that look found work (false): disables it and
 * drains the fd's counter where it is an eventfd (a tap queue's fd is
 * never read). No-op (false) without rx_intr_fd. */
bool dp_port_rx_intr_arm(struct dp_port *p, bool on);


/* ---- Replication fan-out without copies ------------------------------------ */

/* The message whose body is shared: header fields common to all targets. */
struct dp_fanout_msg {
	uint8_t type; /* usually RAFT_MSG_APPEND */
	raft_node_id from;
	raft_term term;
	uint64_t msg_seq;
};

struct dp_fanout_target {
	raft_node_id to;
	struct dp_endpoints addr;
};

/*
 * Builds one sealed frame per target around `body` (one segment holding the
 * serialised message body, e.g. written by dp_wire_raft_body): a header
 * segment, an indirect mbuf attached to body (no copy; refcount raised) and
 * a tag segment, all from `pool`. out[i] is target i's frame; sending or
 * freeing it drops its reference to body. The caller still owns its own
 * reference to body. Returns 0, -DP_ERR_INVALID or -ENOMEM (nothing built).
 */
int dp_fanout(const struct dp_wire *w, struct rte_mempool *pool, struct rte_mbuf *body,
	      const struct dp_fanout_msg *msg, const struct dp_fanout_target *targets,
	      uint32_t targets_count, struct rte_mbuf **out);

/* ---- Transport: DPDK port or kernel UDP, one interface ---------------------- */

enum dp_transport_kind {
	DP_TRANSPORT_DPDK = 1,
	DP_TRANSPORT_UDP = 2, /* --transport udp */
};

struct dp_peer {
	raft_node_id id;
	uint8_t mac[6]; /* DPDK only */
	uint32_t ip;	/* host byte order */
	uint16_t port;
};

struct dp_transport_config {
	struct dp_wire_config wire; /* its udp_port is ours */
	uint32_t self_ip;	    /* host byte order */
	const struct dp_peer *peers;
	uint32_t peers_count; /* <= RAFT_NODES_MAX */
};

/* Entries one received AppendEntries may carry through a transport. */
#define DP_TRANSPORT_RX_ENTRIES_MAX 256u

struct dp_transport_counters {
	uint64_t sent;
	uint64_t send_failed; /* socket or tx ring full: dropped, Raft resends */
	uint64_t no_route;    /* `to` not in the peer table */
	uint64_t received;    /* authenticated and decoded */
	uint64_t looked_at;   /* frames read from the port or socket, whatever became of
			       * them: a receiver that looked at any has work, and one
			       * that sleeps on a socket must have read it dry */
	/* UDP, event policy: receives not made because the socket was read
	 * dry and has not fired since (each one a recvmmsg that would have
	 * returned EAGAIN, or found a datagram a round later). */
	uint64_t rx_reads_skipped;
};

/*
 * One received, authenticated message and the memory its pointers point
 * into: the frame stays alive (DPDK: its mbuf; UDP: udp_buf) until
 * dp_transport_rx_done. This is what lets the rx/tx stage receive and
 * authenticate on one lcore while control processes on another: the
 * hand-over carries a pointer, no payload is copied (control's one copy
 * is into its payload ring).
 */
struct dp_rx_msg {
	struct dp_rx_frame frame;
	uint64_t rx_ns;	       /* the receiver's stamp (the caller's clock) */
	struct rte_mbuf *mbuf; /* DPDK: the frame, freed by rx_done; NULL for UDP */
	uint8_t *udp_buf;      /* UDP: DP_FRAME_BYTES_MAX bytes the datagram lands in */
	struct raft_entry entries[DP_TRANSPORT_RX_ENTRIES_MAX]; /* an append's */
};

struct dp_ring;

struct dp_transport {
	uint8_t kind; /* enum dp_transport_kind */
	struct dp_wire wire; /* its counters hold the drops by reason */
	struct dp_peer peers[RAFT_NODES_MAX];
	uint32_t peers_count;
	uint32_t self_ip;
	uint16_t self_port;
	uint64_t msg_seq;
	struct dp_port *port; /* DPDK */
	int fd;		      /* UDP */
	/* UDP under the event policy (dp_transport_woken): receives to skip
	 * since the last dry read, unless the socket fires meanwhile. */
	bool rx_event_driven;
	uint8_t rx_skip_left;
	struct dp_transport_counters counters;
	/* DPDK: sealed frames go here for dp_transport_tx_flush (the lcore
	 * that owns the port) when set; NULL: straight out of the port. */
	struct dp_ring *tx_ring;
	uint64_t tx_ring_full; /* tx ring full: frame dropped, Raft resends */
	/* Anti-replay windows of the receiving side (dp_transport_set_replay):
	 * an authenticated consensus frame the window refuses is dropped
	 * before it is handed over, counted in replay->counters. NULL: none. */
	struct dp_replay *replay;
	uint8_t buf[DP_FRAME_BYTES_MAX]; /* UDP: the frame to send */
	/* dp_transport_poll's own message and UDP buffer. */
	struct dp_rx_msg poll_msg;
	uint8_t poll_buf[DP_FRAME_BYTES_MAX];
};

/* A received message; pointers in it are valid during the call only. */
typedef void (*dp_transport_rx_fn)(void *user, const struct dp_rx_frame *msg);

/* UDP: binds self_ip:wire.udp_port (non-blocking). 0 or -errno/-DP_ERR_*. */
int dp_transport_open_udp(struct dp_transport *t, const struct dp_transport_config *cfg);
/* DPDK: sends and receives on an initialised port. */
int dp_transport_open_dpdk(struct dp_transport *t, const struct dp_transport_config *cfg,
			   struct dp_port *port);
void dp_transport_close(struct dp_transport *t);
/* A peer's address, added or replaced (a member added by a configuration
 * entry; the caller's thread is the one that sends): 0, or -DP_ERR_TOO_BIG
 * with RAFT_NODES_MAX peers already (remove one that left first). A MAC
 * learnt for an unchanged address is kept when p's is zero (auto). */
int dp_transport_peer_set(struct dp_transport *t, const struct dp_peer *p);
void dp_transport_peer_remove(struct dp_transport *t, raft_node_id id);
/* Seals m (to m->to, looked up in the peer table) and sends it. 0, or
 * -DP_ERR_INVALID (no route), -DP_ERR_TOO_BIG (split it first), -errno. */
int dp_transport_send(struct dp_transport *t, const struct raft_message *m,
		      const uint8_t *const *payloads);
/* Seals a frame another module encodes (snapshot chunks and acks: the
 * seal function gets the wire, peer to's endpoints, the next msg seq and a
 * buffer, and returns the frame's bytes or a negative dp_error) and sends
 * it on the path like dp_transport_send, from the same thread. */
typedef int (*dp_transport_seal_fn)(const void *arg, const struct dp_wire *w,
				    const struct dp_endpoints *addr, uint64_t msg_seq,
				    uint8_t *buf, size_t buf_bytes);
int dp_transport_send_sealed(struct dp_transport *t, raft_node_id to, dp_transport_seal_fn seal,
			     const void *arg);
/* Sends a client reply back to where the request came from: `client` is
 * the request's dp_rx_frame.addr (its src is the client). 0 or -errno /
 * -DP_ERR_TOO_BIG. */
int dp_transport_send_reply(struct dp_transport *t, const struct dp_endpoints *client,
			    const struct dp_client_reply *rep);
/* A reply message larger than one frame of the path (a status), cut into
 * fragments: src is the whole body (batch header and the reply item, type
 * DP_FRAME_CLIENT_REPLY, from this node, to 0, msg_seq from
 * dp_transport_next_msg_seq once per message); sends the fragment that
 * starts at `offset` in one frame of at most frame_bytes_max and says in
 * *body_bytes_out how much of the body it carried. 0, or -errno /
 * -DP_ERR_* (counted in send_failed: a lost fragment, the client retries).
 * Same thread as the other sends. */
uint64_t dp_transport_next_msg_seq(struct dp_transport *t);
int dp_transport_send_reply_fragment(struct dp_transport *t, const struct dp_endpoints *client,
				     const struct dp_fragment_src *src, uint32_t offset,
				     size_t frame_bytes_max, uint32_t *body_bytes_out);
/* Replies gathered for one client (the request's dp_rx_frame.addr) in a
 * frame the caller filled (dp_client_frame_add_reply). */
struct dp_reply_batch {
	struct dp_endpoints client;
	struct dp_client_frame frame; /* count >= 1 */
};
/* Seals and sends each batch to its client: UDP, one sendmmsg for up to
 * DP_BURST_MAX datagrams; DPDK, each copied into an mbuf for the tx ring
 * (or the port). Returns the frames sent; the others are counted in
 * send_failed (the clients retransmit). The frames may be started again
 * when it returns. */
uint32_t dp_transport_send_reply_batches(struct dp_transport *t,
					 struct dp_reply_batch *const *batches, uint32_t count);
/* Receives what is there (up to one burst), calls fn for each accepted
 * message, returns how many. Never blocks. For the UDP transport the
 * frame's addr holds the sender's IP and port (MACs zero); for DPDK all of
 * the frame's addresses. A peer configured with an all-zero MAC ("auto")
 * is sent broadcast frames until its first authenticated frame teaches
 * the transport its MAC. */
uint32_t dp_transport_poll(struct dp_transport *t, dp_transport_rx_fn fn, void *user);

/*
 * The same in two halves, for a receiver on one lcore and a processor on
 * another (dp_transport_poll is recv + learn + fn + rx_done on one):
 *
 * recv (the lcore that owns the port: DPDK rx, ARP/ping answers): receives
 * up to `count` accepted messages into msgs[0..), looking at no more than
 * DP_BURST_MAX frames; returns how many it filled. Never blocks.
 * learn (the lcore that sends: it owns the peer table): a peer configured
 * with mac = auto learns its MAC from its first authenticated frame.
 * rx_done (any lcore): the message's frame is released (mbuf freed).
 *
 * tx ring (DPDK): with dp_transport_set_tx_ring, send and send_reply seal
 * into an mbuf and push it to the ring (full: dropped and counted in
 * tx_ring_full, Raft resends, a client retries); dp_transport_tx_flush, on
 * the lcore that owns the port, sends what the ring holds. The UDP
 * transport sends from the caller's thread (the kernel socket is safe to
 * share: one lcore receives, another sends).
 */
size_t dp_rx_msgs_bytes(uint8_t kind, uint32_t count);
/* count messages (UDP: each with its frame buffer), touched; NULL: no memory. */
struct dp_rx_msg *dp_rx_msgs_create(uint8_t kind, uint32_t count);
void dp_rx_msgs_destroy(struct dp_rx_msg *msgs);
uint32_t dp_transport_recv(struct dp_transport *t, struct dp_rx_msg *const *msgs,
			   uint32_t count);
void dp_transport_learn(struct dp_transport *t, const struct dp_rx_frame *in);
void dp_transport_rx_done(struct dp_rx_msg *m);
void dp_transport_set_tx_ring(struct dp_transport *t, struct dp_ring *ring);
/* Windows for recv (the receiving lcore owns them from then on); NULL: none. */
void dp_transport_set_replay(struct dp_transport *t, struct dp_replay *r);
/* What the receiving lcore may sleep on (dp_stage.wait_fd): the UDP
 * socket; a DPDK port's rx interrupt fd, DP_WAIT_FD_POLL where it has
 * none (its driver gives no rx interrupt: af_packet, memif). */
int dp_transport_wait_fd(const struct dp_transport *t);
/* dp_stage.sleep_arm of the receiving stage: a DPDK port's interrupt
 * armed before the last look and disarmed after (dp_port_rx_intr_arm). */
bool dp_transport_sleep_arm(struct dp_transport *t, bool on);
/* Event policy, after each sleep of the lcore (dp_stage.woken): whether
 * the transport's wait_fd fired. */
void dp_transport_woken(struct dp_transport *t, bool input_fired);
/* Frames sent from the tx ring (up to DP_BURST_MAX per call). */
uint32_t dp_transport_tx_flush(struct dp_transport *t);
/* Frees what the tx ring holds, unsent (at stop); returns how many. */
uint32_t dp_transport_tx_discard(struct dp_transport *t);

/* ---- Stages, lcores, rings -------------------------------------------------
 *
 * A stage is a poll() step (rxtx, log, control, apply) returning the work
 * items it did. An lcore runs its stages round after round; which stage runs
 * on which lcore is configuration (dp_sched_place), the loop is the same.
 */

typedef uint32_t (*dp_stage_poll_fn)(void *ctx);

/* A stage's wait_fd: it has no file descriptor to wait on (its inputs
 * are rings and deadlines only), or it cannot sleep on one and must be
 * polled (a DPDK port whose driver has no rx interrupts). */
#define DP_WAIT_FD_NONE (-1)
#define DP_WAIT_FD_POLL (-2)

struct dp_stage {
	const char *name;
	dp_stage_poll_fn poll;
	void *ctx;
	/* Optional: run once on the stage's own lcore when its loop ends
	 * (a stage that owns a thread-bound resource finishes with it there). */
	void (*stop)(void *ctx);
	/* Optional, for the event idle policy (NULL: none): the file
	 * descriptor whose readiness means the stage has work (a socket, an
	 * eventfd), or DP_WAIT_FD_NONE / DP_WAIT_FD_POLL; asked once, when the
	 * lcore opens its event set. */
	int (*wait_fd)(void *ctx);
	/* Optional (NULL: none): the CLOCK_MONOTONIC time in ns by which the
	 * stage wants its next round (a tick, a read's time-out), UINT64_MAX
	 * for none. Asked before each sleep. */
	uint64_t (*deadline_ns)(void *ctx);
	/* Optional (NULL: none), event policy: called with true when the
	 * lcore arms for a sleep and with false when it disarms (the next
	 * round found work, or the sleep ended). An input whose wake-up must
	 * be switched on (a DPDK rx queue's interrupt) is switched on here;
	 * returning true (on only) says so, and the lcore then looks at every
	 * input once more before it sleeps - what came before the switch
	 * fired nothing - even where it would sleep at once (no producer on
	 * another lcore). False: the input's fd reports all that comes after
	 * the last look (a socket, a tap queue). */
	bool (*sleep_arm)(void *ctx, bool on);
	/* Optional (NULL: none), event policy: called after each sleep with
	 * whether the stage's wait_fd was among the events that ended it
	 * (true also when more events were ready than one wait returns). A
	 * stage that read its input dry before the sleep need not look at it
	 * again until it fires: its fd reports every arrival after the last
	 * look (edge-triggered). */
	void (*woken)(void *ctx, bool input_fired);
};

enum dp_idle_policy {
	DP_IDLE_BUSY = 1,     /* spin: bare metal, a dedicated core */
	DP_IDLE_ADAPTIVE = 2, /* spin, then sleep 1 us doubling up to a cap */
	DP_IDLE_EVENT = 3,    /* sleep in the kernel on the stages' inputs */
};

/*
 * The event idle policy's wake-up: an lcore that sleeps says so here, and
 * a producer on another lcore that pushes to a ring it consumes (or pokes
 * it with news that travels without a ring) writes its eventfd, once per
 * sleep. The lcore sets `sleeping` before its last empty round, so a push
 * that round did not see finds the flag set (both sides order with a full
 * fence: the Dekker pattern).
 */
struct dp_doorbell {
	uint32_t sleeping; /* atomic: 1 from the armed round until the wake */
	int fd;		   /* eventfd, -1 when the lcore does not sleep on events */
	/* Producers on other lcores that may ring it, counted as they are
	 * wired (before the lcores run). None: nothing another lcore does can
	 * give this lcore work, so it sleeps after its first empty round
	 * instead of arming and polling every input once more. */
	uint32_t producers;
};
/* Wakes the lcore that owns d if it sleeps (NULL: nothing to wake). */
void dp_doorbell_ring(struct dp_doorbell *d);
/* A producer on another lcore will ring d: returns d, or NULL when d
 * cannot be rung (NULL, or its lcore does not sleep on events). Called
 * while wiring, before the lcores run. */
struct dp_doorbell *dp_doorbell_wire(struct dp_doorbell *d);

#define DP_LCORE_STAGES_MAX 8u

struct dp_lcore_config {
	uint8_t idle_policy;	  /* enum dp_idle_policy */
	uint32_t spin_rounds_max; /* adaptive: empty rounds before sleeping */
	uint32_t sleep_us_max;	  /* adaptive: longest sleep */
	/* dp_lcore_run sets the thread's timer slack to this (0: leaves the
	 * kernel's, 50 us). 1 us makes a lone lcore wake sooner; where lcores
	 * outnumber CPUs it makes many more, shorter sleeps and context
	 * switches, which cost the other processes their CPU (3 nodes on 2
	 * CPUs: commit p50 +25 %): the node leaves it. */
	uint32_t timer_slack_us;
	/* event: the longest sleep without input or deadline, so that a stop
	 * is seen (0: 50 ms). */
	uint32_t event_sleep_ms_max;
	/* dp_lcore_run sets the thread's nice value to this (0: leaves it).
	 * Under `event` an lcore sleeps whenever it has nothing to do, so a
	 * better nice does not take CPU it does not need; what it changes is
	 * who runs first when a commit's next hop wakes on a CPU that other
	 * work holds (the wake-up's wait for the CPU is most of the
	 * one-in-flight tail on a shared machine). Never a real-time policy:
	 * an lcore that had work without end (busy, adaptive's spin, a
	 * saturating load) would starve the kernel's own completion workers
	 * that the log's writes wait for. */
	int8_t nice;
	/* dp_lcore_run gives the thread this EEVDF slice (0: the kernel's
	 * default, about 3 ms): a short slice lets a woken lcore preempt a
	 * thread in the middle of its slice (dp_thread_slice_set). */
	uint32_t sched_slice_us;
};

struct dp_lcore_stats {
	uint64_t rounds;
	uint64_t idle_rounds;
	uint64_t sleeps;
	uint64_t slept_us;
	uint64_t wakeups_by_event;    /* event policy: a fd or the doorbell woke it */
	uint64_t wakeups_by_deadline; /* event policy: a stage's deadline came */
	uint64_t wakeups_by_cap;      /* event policy: the longest sleep ended (no input) */
	uint64_t wait_errors;	      /* event policy: the wait failed (EINTR) */
	uint64_t sleeps_first_round;  /* event policy: slept after one empty round
				       * (no other lcore can ring it) */
	uint64_t work_items;
	uint64_t stage_busy_rounds[DP_LCORE_STAGES_MAX]; /* rounds the stage did work */
};

/* Owned by one core; cache-aligned so two lcores never share a line. */
struct dp_lcore {
	struct dp_stage stages[DP_LCORE_STAGES_MAX];
	uint32_t stages_count;
	struct dp_lcore_config cfg;
	uint32_t empty_rounds;
	uint32_t sleep_us;
	int epoll_fd;	/* event policy: the stages' fds and the doorbell */
	bool event;	/* sleeps on events (dp_lcore_event_open succeeded) */
	bool armed;	/* doorbell.sleeping set for this round */
	struct dp_doorbell doorbell __attribute__((aligned(64)));
	struct dp_lcore_stats stats __attribute__((aligned(64)));
} __attribute__((aligned(64)));
#ifndef __cplusplus
_Static_assert(_Alignof(struct dp_lcore) == 64, "a dp_lcore starts a cache line");
_Static_assert(sizeof(struct dp_lcore) % 64 == 0, "and ends one: no line shared");
#endif

void dp_lcore_init(struct dp_lcore *l, const struct dp_lcore_config *cfg);
/* -DP_ERR_TOO_BIG when the lcore already has DP_LCORE_STAGES_MAX stages. */
int dp_lcore_add_stage(struct dp_lcore *l, const struct dp_stage *s);
/*
 * Event policy, after the stages are added: the lcore's epoll set (each
 * stage's wait_fd, its doorbell's eventfd). 0, or -errno. When a stage
 * must be polled (DP_WAIT_FD_POLL) the lcore cannot sleep on events: it
 * falls back to the adaptive policy, returns 1 and names the stage in
 * why (the caller says it loudly: every hop on that lcore then waits for a
 * nap to end). Other policies: 0, nothing opened.
 */
int dp_lcore_event_open(struct dp_lcore *l, char *why, size_t why_bytes);
/* Closes what dp_lcore_event_open opened. */
void dp_lcore_fini(struct dp_lcore *l);
/* Puts stages[i] on lcores[lcore_of_stage[i]] (in order). 0 or -DP_ERR_*. */
int dp_sched_place(const struct dp_stage *stages, const uint32_t *lcore_of_stage,
		   uint32_t stages_count, struct dp_lcore *lcores, uint32_t lcores_count);
/* One round: poll each stage once; idle policy if none did work. */
uint32_t dp_lcore_round(struct dp_lcore *l);
/* Rounds until *stop (the signal-set stop flag); run it on the lcore's thread. */
void dp_lcore_run(struct dp_lcore *l, const volatile int *stop);
/* Runs lcores[0] on the calling (main) lcore and lcores[1..] on the EAL's
 * worker lcores, until *stop; returns when all have stopped. 0, or
 * -DP_ERR_INVALID when there are fewer EAL lcores than lcores_count. */
int dp_sched_run(struct dp_lcore *lcores, uint32_t lcores_count, const volatile int *stop);
/* The EAL's lcore ids in the order dp_sched_run gives lcores[] to them
 * (the main lcore first, then the workers); returns how many (<= max). */
uint32_t dp_sched_lcore_ids(unsigned *ids, uint32_t max);
/* One spin-wait step (rte_pause) for a stage waiting on another lcore. */
void dp_cpu_pause(void);
/* The calling thread's EEVDF slice (sched_setattr, SCHED_OTHER, its nice
 * kept; the kernel clamps it to 100 us .. 100 ms). 0, -EOPNOTSUPP when the
 * kernel ignores it (before Linux 6.12), -EPERM when the thread runs under
 * another policy, or the system call's -errno. sched_slice.c says why. */
int dp_thread_slice_set(uint32_t slice_us);
/* The calling thread's slice now, in us (0 before Linux 6.12). 0 or -errno. */
int dp_thread_slice_get_us(uint32_t *slice_us);
/* One step of a stage waiting on another (a full ring, a pending call):
 * when the other shares this lcore (colocated) it runs here (poll(ctx)),
 * else this one pauses. False when *stop is set and the other stage is
 * apart: its lcore may be gone, stop waiting. */
bool dp_stage_wait(bool colocated, dp_stage_poll_fn poll, void *ctx, const volatile int *stop);

/* Single-producer single-consumer ring of pointers between two stages
 * (rte_ring in memory the caller sized at init: dp_ring_mem_bytes). A full
 * ring refuses the tail, which the producer keeps: back-pressure. */
struct dp_ring {
	struct rte_ring *ring;
	uint32_t elem_bytes; /* sizeof(void *) for a ring of pointers */
	void *owned_mem;     /* dp_ring_elem_create's memory, freed by _destroy */
	uint64_t pushes_refused;
	/* The consumer's lcore, rung after each push when it sleeps on events
	 * (NULL: the consumer polls, or shares the producer's lcore). */
	struct dp_doorbell *doorbell;
};
void dp_ring_set_doorbell(struct dp_ring *r, struct dp_doorbell *d);
size_t dp_ring_mem_bytes(uint32_t slots_count); /* 0 if not a power of two */
int dp_ring_init(struct dp_ring *r, void *mem, size_t mem_bytes, uint32_t slots_count);
uint32_t dp_ring_push_burst(struct dp_ring *r, void *const *objs, uint32_t count);
uint32_t dp_ring_pop_burst(struct dp_ring *r, void **objs, uint32_t count_max);

/* The same ring carrying small fixed-size records by value (elem_bytes a
 * multiple of 4, at most 1024): a stage hands another a descriptor without
 * a pool of descriptors to manage. Holds slots_count - 1 records. Create
 * allocates its memory (cache-aligned, touched: sized at start) and
 * returns 0, -DP_ERR_INVALID or -ENOMEM; destroy frees it. */
size_t dp_ring_elem_mem_bytes(uint32_t elem_bytes, uint32_t slots_count); /* 0 if invalid */
int dp_ring_elem_create(struct dp_ring *r, uint32_t elem_bytes, uint32_t slots_count);
void dp_ring_elem_destroy(struct dp_ring *r);
uint32_t dp_ring_push_elems(struct dp_ring *r, const void *elems, uint32_t count);
uint32_t dp_ring_pop_elems(struct dp_ring *r, void *elems, uint32_t count_max);
uint32_t dp_ring_count(const struct dp_ring *r); /* records in the ring now */

#ifdef __cplusplus
}
#endif

#endif /* RN_DATAPLANE_H */
