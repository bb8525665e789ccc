/* SPDX-License-Identifier: MIT */
/*
 * conf_blob.h - the configuration a snapshot covers, as its blob
 * (store_snap_meta.config). stage: any (the apply stage writes it as a
 * snapshot starts; start-up and control's install read it).
 *
 * Version 2:
 *
 *   magic u32 NODE_CONF_BLOB_MAGIC, config_index u64, voters_count u8,
 *   learners_count u8, 0[2], then per member (voters, then learners):
 *   id u32, flags u8 (bit 0: address known), 0[3], address record (24)
 *
 * Version 1 (snapshots before membership changes): count u32 (at most
 * RAFT_NODES_MAX), then count voter ids; the addresses are the cluster
 * file's. Both are read; version 2 is written.
 */
#ifndef RN_NODE_CONF_BLOB_H
#define RN_NODE_CONF_BLOB_H

#include "conf.h"

#define NODE_CONF_BLOB_MAGIC 0x32434e52u /* "RNC2" little-endian */
#define NODE_CONF_BLOB_HDR_BYTES 16u
#define NODE_CONF_BLOB_ITEM_BYTES (8u + DP_MEMBER_ADDR_BYTES)
#define NODE_CONF_BLOB_BYTES_MAX (NODE_CONF_BLOB_HDR_BYTES + RAFT_NODES_MAX * NODE_CONF_BLOB_ITEM_BYTES)
static inline uint8_t *node_conf_blob_item(uint8_t *p, raft_node_id id, const struct dp_member_addr *a)
{
	memset(p, 0, NODE_CONF_BLOB_ITEM_BYTES);
	memcpy(p, &id, 4);
	if (a != NULL) {
		p[4] = 1;
		dp_member_addr_encode(a, p + 8);
	}
	return p + NODE_CONF_BLOB_ITEM_BYTES;
}

/* The blob of c (version 2) into out: its bytes. */
static inline uint32_t node_conf_blob_encode(const struct node_conf *c, uint8_t *out,
					     uint32_t out_bytes)
{
	RN_ASSERT(out_bytes >= NODE_CONF_BLOB_BYTES_MAX);
	RN_ASSERT(c->m.voters_count + c->m.learners_count <= RAFT_NODES_MAX);
	uint32_t magic = NODE_CONF_BLOB_MAGIC;
	memset(out, 0, NODE_CONF_BLOB_HDR_BYTES);
	memcpy(out, &magic, 4);
	memcpy(out + 4, &c->index, 8);
	out[12] = (uint8_t)c->m.voters_count;
	out[13] = (uint8_t)c->m.learners_count;
	uint8_t *p = out + NODE_CONF_BLOB_HDR_BYTES;
	for (uint32_t i = 0; i < c->m.voters_count; i++) {
		p = node_conf_blob_item(p, c->m.voters[i], node_addr_get(&c->book, c->m.voters[i]));
	}
	for (uint32_t i = 0; i < c->m.learners_count; i++) {
		p = node_conf_blob_item(p, c->m.learners[i], node_addr_get(&c->book, c->m.learners[i]));
	}
	return (uint32_t)(p - out);
}

/* A blob (version 1 or 2) into *c: true, or false for bytes that are
 * neither. Addresses it does not hold keep what c's book had. */
static inline bool node_conf_blob_decode(const uint8_t *in, uint32_t bytes, struct node_conf *c)
{
	uint32_t first = 0;
	if (bytes < 4) {
		return false;
	}
	memcpy(&first, in, 4);
	memset(&c->m, 0, sizeof(c->m));
	c->index = 0;
	if (first <= RAFT_NODES_MAX) { /* version 1: voter ids */
		if (first == 0 || bytes != 4u + 4u * first) {
			return false;
		}
		memcpy(c->m.voters, in + 4, 4u * first);
		c->m.voters_count = first;
		return true;
	}
	uint32_t nv = bytes >= NODE_CONF_BLOB_HDR_BYTES ? in[12] : 0;
	uint32_t nl = bytes >= NODE_CONF_BLOB_HDR_BYTES ? in[13] : 0;
	if (first != NODE_CONF_BLOB_MAGIC || nv == 0 || nv + nl > RAFT_NODES_MAX ||
	    bytes != NODE_CONF_BLOB_HDR_BYTES + (nv + nl) * NODE_CONF_BLOB_ITEM_BYTES) {
		return false;
	}
	memcpy(&c->index, in + 4, 8);
	const uint8_t *p = in + NODE_CONF_BLOB_HDR_BYTES;
	for (uint32_t i = 0; i < nv + nl; i++, p += NODE_CONF_BLOB_ITEM_BYTES) {
		raft_node_id id;
		struct dp_member_addr a;
		memcpy(&id, p, 4);
		if (id == RAFT_NODE_NONE || node_conf_role(&c->m, id) != DP_MEMBER_NONE) {
			return false;
		}
		if (i < nv) {
			c->m.voters[c->m.voters_count++] = id;
		} else {
			c->m.learners[c->m.learners_count++] = id;
		}
		if (p[4] == 1 && dp_member_addr_decode(p + 8, &a) == 0) {
			node_addr_set(&c->book, id, &a, &c->m);
		}
	}
	return true;
}

#endif /* RN_NODE_CONF_BLOB_H */
