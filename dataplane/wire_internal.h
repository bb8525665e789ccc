/* SPDX-License-Identifier: MIT */
/*
 * wire_internal.h - what the wire codec's files share and what the fuzz
 * targets and tests reach below the public API: little-endian load/store
 * helpers at byte offsets, the frame parser (framing, header, tag) and the
 * per-type body codecs. Not installed; only dataplane/, tests and fuzz
 * targets include it.
 */
#ifndef RN_DATAPLANE_WIRE_INTERNAL_H
#define RN_DATAPLANE_WIRE_INTERNAL_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dataplane.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Offsets of the frame's headers from its first byte. */
#define WIRE_IP_OFFSET DP_ETH_HDR_BYTES
#define WIRE_UDP_OFFSET (WIRE_IP_OFFSET + DP_IPV4_HDR_BYTES)
#define WIRE_RAFT_OFFSET (WIRE_UDP_OFFSET + DP_UDP_HDR_BYTES)
#define WIRE_BODY_OFFSET (WIRE_RAFT_OFFSET + DP_RAFT_HDR_BYTES)
#define WIRE_IP_TTL 64u

static inline uint16_t wire_ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}
static inline uint32_t wire_ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}
static inline uint64_t wire_ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}
static inline void wire_st16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}
static inline void wire_st32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}
static inline void wire_st64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}
/* Network byte order, for the Ethernet/IP/UDP headers only. */
static inline uint16_t wire_ld16_be(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline uint32_t wire_ld32_be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wire_st16_be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void wire_st32_be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* True when all `bytes` bytes at p are zero (reserved fields). */
static inline int wire_zero(const uint8_t *p, size_t bytes)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < bytes; i++) {
		acc |= p[i];
	}
	return acc == 0;
}

/* The raft header fields of a parsed frame, in host order. */
struct wire_hdr {
	uint8_t type;
	uint16_t flags;
	uint32_t from;
	uint32_t to;
	uint64_t term;
	uint64_t msg_seq;
	uint32_t body_bytes;
	uint32_t msg_body_bytes;
	uint32_t frag_offset_bytes;
	uint32_t boot_epoch;
	uint16_t key_id;
	uint64_t settings_fp;
};

/* A frame that passed framing, header and tag checks. */
struct wire_view {
	struct dp_endpoints addr;
	struct wire_hdr hdr;
	const uint8_t *body; /* hdr.body_bytes bytes */
};

/* wire_auth.c */
int wire_auth_derive_key(uint8_t key[DP_KEY_BYTES], uint32_t cluster_id,
			 const uint8_t *secret, size_t secret_bytes);
/* Tag of the raft header + body at `in` (in_bytes >= DP_RAFT_HDR_BYTES). */
void wire_auth_tag(const uint8_t key[DP_KEY_BYTES], const uint8_t *in, size_t in_bytes,
		   uint8_t tag[DP_TAG_BYTES]);
/* The same in two steps, for a body shared by several headers (fan-out). */
void wire_auth_body_digest(const uint8_t key[DP_KEY_BYTES], const uint8_t *body,
			   size_t body_bytes, uint8_t digest[DP_TAG_BYTES]);
/* digest: DP_TAG_BYTES of computed digest, or a sealed body's trailer
 * (mac | key nonce | counter, DP_SEAL_OVERHEAD_BYTES). */
void wire_auth_tag_parts(const uint8_t key[DP_KEY_BYTES], const uint8_t *hdr,
			 const uint8_t *digest, size_t digest_bytes, uint8_t tag[DP_TAG_BYTES]);
/* The tag a frame whose header and body are at raft carries after them,
 * written there: a sealed body's digest is its mac (wire_seal.c), any
 * other's is computed. For tools and tests that change a frame. */
void wire_auth_tag_frame(const uint8_t key[DP_KEY_BYTES], uint8_t *raft, size_t signed_bytes);
/* 1 when the tag matches (constant time), 0 when it does not. digest:
 * what stands for the body when the frame carries it (a sealed body's
 * trailer, mac | key nonce | counter, wire_seal.c; digest_bytes its
 * size), or NULL to compute it from the body. */
int wire_auth_verify(const uint8_t key[DP_KEY_BYTES], const uint8_t *in, size_t in_bytes,
		     const uint8_t *digest, size_t digest_bytes, const uint8_t tag[DP_TAG_BYTES]);

/* wire_seal.c */
/* Client encryption is on and `type` is a client frame. */
bool wire_seal_applies(const struct dp_wire *w, uint8_t type);
/* Seals the plain_bytes of body after the raft header at `raft` (written,
 * with DP_HDR_ENCRYPTED and the sealed body_bytes) in place, then writes
 * the mac, this thread's key nonce and the frame's counter after it
 * (DP_SEAL_OVERHEAD_BYTES). */
void wire_seal_body(const struct dp_wire *w, uint8_t *raft, uint32_t plain_bytes);
/* Opens a sealed body of sealed_bytes in place: 0, or -DP_ERR_BAD_TAG
 * (the frame is dropped; its body never holds plaintext then). */
int wire_seal_open(const struct dp_wire *w, uint8_t *raft, uint32_t sealed_bytes);
/* Frames a key nonce seals; other senders' keys a thread keeps to open. */
#define WIRE_SEAL_FRAMES_PER_KEY (UINT64_C(1) << 32)
#define WIRE_SEAL_OPEN_KEYS 16u
/* The calling thread's key setups and cache hits (for tests). */
struct wire_seal_stats {
	uint64_t seal_key_setups; /* key nonces drawn */
	uint64_t open_key_setups; /* open cache misses */
	uint64_t open_hits;
};
void wire_seal_thread_stats(struct wire_seal_stats *out);
/* Tests only: the calling thread's senders move `frames` counters on (at
 * most to WIRE_SEAL_FRAMES_PER_KEY), as if they had sealed that many. */
void wire_seal_thread_skip_frames(uint64_t frames);
/* wire_keys.c */
/* The key that seals a frame of `type` and its id: the role's sealing key
 * (peer for consensus and snapshot frames, client for client frames), or
 * for a client frame the client key want_key_id names while the ring
 * holds it (0: none wanted). A ring without a key of the role gives an
 * all-zero key, id 0, which no receiver accepts. */
void wire_keys_seal(const struct dp_wire *w, uint8_t type, uint16_t want_key_id,
		    uint8_t key[DP_KEY_BYTES], uint16_t *key_id);
/* The tag after the header + body at raft checked with the key key_id
 * names (digest as for wire_auth_verify): 0, -DP_ERR_UNKNOWN_KEY,
 * -DP_ERR_BAD_TAG, or -DP_ERR_CLIENT_KEY (authentic, but a client key on a
 * consensus or snapshot type). */
int wire_keys_verify(const struct dp_wire *w, uint8_t type, uint16_t key_id, const uint8_t *raft,
		     size_t signed_bytes, const uint8_t *digest, size_t digest_bytes);

/* wire_frame.c */
/* Validates framing, header and tag. Returns 0 or a negative drop reason;
 * counts nothing (dp_wire_decode counts). */
int wire_frame_parse(const struct dp_wire *w, const uint8_t *frame, size_t frame_bytes,
		     struct wire_view *v);
/* The same checks from the raft header on, for a UDP payload received
 * through a kernel socket (v->addr is left to the caller). */
int wire_payload_parse(const struct dp_wire *w, const uint8_t *payload, size_t payload_bytes,
		       struct wire_view *v);
/* Writes Ethernet, IPv4, UDP and raft headers around the body already
 * at buf + WIRE_BODY_OFFSET, then the tag. Returns the frame's bytes. The
 * caller checked that the frame fits. */
size_t wire_frame_seal(const struct dp_wire *w, const struct dp_endpoints *addr,
		       const struct wire_hdr *hdr, uint8_t *buf);
/* Only the headers (everything before the body) of that frame. */
void wire_frame_headers(const struct dp_wire *w, const struct dp_endpoints *addr,
			const struct wire_hdr *hdr, uint8_t *buf);
/* Frame bytes for a body of body_bytes. */
static inline size_t wire_frame_bytes(size_t body_bytes)
{
	return DP_FRAME_OVERHEAD_BYTES + body_bytes;
}
uint16_t wire_ip_checksum(const uint8_t *ip_hdr);

/* wire_raft.c: bodies of the consensus messages. */
int wire_raft_type_known(uint8_t type);
/* Writes the body of m (dp_wire_raft_body_bytes(m) bytes) at body. */
void wire_raft_body_encode(const struct raft_message *m, const uint8_t *const *payloads,
			   uint8_t *body);
/* Decodes a body of `type` into m (type, from, to, term are the caller's).
 * `term` is the header's: entries may not be newer. */
int wire_raft_body_decode(uint8_t type, uint64_t term, const uint8_t *body, size_t body_bytes,
			  struct raft_entry *entries, uint32_t entries_max,
			  struct raft_message *m);

/* wire.c: decodes a whole body of `type` into out (shared by single
 * frames and reassembled messages). */
int wire_body_decode(uint8_t type, raft_node_id from, raft_node_id to, raft_term term,
		     const uint8_t *body, size_t body_bytes, struct raft_entry *entries,
		     uint32_t entries_max, struct dp_rx_frame *out);

/* wire_client.c: client request and reply bodies. */
size_t wire_request_body_bytes(const struct dp_client_request *req);
void wire_request_body_encode(const struct dp_client_request *req, uint8_t *body);
int wire_request_body_decode(const uint8_t *body, size_t body_bytes,
			     struct dp_client_request *req);
size_t wire_reply_body_bytes(const struct dp_client_reply *rep);
void wire_reply_body_encode(const struct dp_client_reply *rep, uint8_t *body);
int wire_reply_body_decode(const uint8_t *body, size_t body_bytes, struct dp_client_reply *rep);
/* A client frame's body: the batch header for count items. */
void wire_batch_hdr_encode(uint8_t *body, uint32_t count);
/* Checks every item of a client frame's body of `type` (request or
 * reply); fills batch and the first item. 0 or -DP_ERR_BAD_BODY. */
int wire_batch_decode(uint8_t type, const uint8_t *body, size_t body_bytes,
		      struct dp_client_batch *batch, struct dp_client_request *first_req,
		      struct dp_client_reply *first_rep);

#ifdef __cplusplus
}
#endif

#endif /* RN_DATAPLANE_WIRE_INTERNAL_H */
