/* SPDX-License-Identifier: MIT */
/*
 * wire_util.h - shared fixtures of the wire codec tests: two codec contexts
 * (node 1 and node 2 of one cluster), fixed endpoints, sample messages of
 * every type, and a helper that re-seals a frame after a test has changed
 * it (new IPv4 checksum and tag), so a test can reach each check behind the
 * tag on purpose.
 */
#ifndef RN_DP_TEST_WIRE_UTIL_H
#define RN_DP_TEST_WIRE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane.h"

#define T_CLUSTER_ID 0xc1u
#define T_PORT 7400u
#define T_ENTRIES_MAX 512u

extern const uint8_t t_secret[32];
extern const uint8_t t_other_secret[32];

/* Codec of node `self` with the given secret. */
void t_wire(struct dp_wire *w, raft_node_id self, uint32_t cluster_id, const uint8_t *secret);
/* Endpoints of a frame from node 1 to node 2 (10.0.0.1 -> 10.0.0.2). */
void t_addr(struct dp_endpoints *a);
/* Sample message of a raft type from 1 to 2 at term 5. For APPEND: `count`
 * entries after index 10 with payloads of payload_bytes (pattern by index). */
void t_raft_msg(uint8_t type, uint32_t count, uint32_t payload_bytes,
		struct raft_message *m, struct raft_entry *entries, const uint8_t **payloads);
/* Recomputes the IPv4 checksum and the tag of an encoded frame. */
void t_reseal(const struct dp_wire *w, uint8_t *frame);
/* Frame of a raft message type in buf (from node 1 to node 2). */
size_t t_frame(const struct dp_wire *w, uint8_t type, uint8_t *buf, size_t buf_bytes);

#endif
