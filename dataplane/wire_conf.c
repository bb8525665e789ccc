/* SPDX-License-Identifier: MIT */
/*
 * wire_conf.c - configuration entries (membership changes, wire version
 * 5): the 32-byte record a RAFT_ENTRY_CONFIG entry carries on the wire and
 * in the log (layout in dataplane.h, "Configuration entries"), and finding
 * the record of a decoded append's config entry again.
 *
 * Why the address travels in the entry: a learner being added must be
 * reachable by every server that may lead later, and a follower that
 * restarts (or installs a snapshot) must know where its peers are without
 * a second source of truth. The entry that adds the member is that source:
 * it is replicated, committed and snapshotted with the configuration.
 */
#include "common.h"
#include "wire_internal.h"

void dp_member_addr_encode(const struct dp_member_addr *addr, uint8_t out[DP_MEMBER_ADDR_BYTES])
{
	RN_ASSERT(addr != NULL && out != NULL);
	memset(out, 0, DP_MEMBER_ADDR_BYTES);
	wire_st32(out, addr->ip);
	wire_st16(out + 4, addr->udp_port);
	out[6] = addr->mac_auto ? DP_MEMBER_ADDR_MAC_AUTO : 0;
	if (!addr->mac_auto) {
		memcpy(out + 8, addr->mac, 6);
	}
	wire_st32(out + 16, addr->host);
}

int dp_member_addr_decode(const uint8_t in[DP_MEMBER_ADDR_BYTES], struct dp_member_addr *out)
{
	RN_ASSERT(in != NULL && out != NULL);
	memset(out, 0, sizeof(*out)); /* padding too: records compare whole */
	out->ip = wire_ld32(in);
	out->udp_port = wire_ld16(in + 4);
	uint8_t flags = in[6];
	out->mac_auto = (flags & DP_MEMBER_ADDR_MAC_AUTO) != 0;
	memcpy(out->mac, in + 8, 6);
	out->host = wire_ld32(in + 16);
	if (out->ip == 0 || out->udp_port == 0 || (flags & ~DP_MEMBER_ADDR_MAC_AUTO) != 0 ||
	    in[7] != 0 || !wire_zero(in + 14, 2) || !wire_zero(in + 20, 4)) {
		return -DP_ERR_BAD_BODY;
	}
	if (out->mac_auto && !wire_zero(in + 8, 6)) {
		return -DP_ERR_BAD_BODY; /* one meaning per record */
	}
	return 0;
}

void dp_conf_entry_encode(uint64_t value, const struct dp_member_addr *addr,
			  uint8_t out[DP_CONF_ENTRY_BYTES])
{
	RN_ASSERT(out != NULL);
	RN_ASSERT((addr != NULL) == (RAFT_CONF_OP(value) == RAFT_CONF_ADD_LEARNER));
	wire_st64(out, value);
	if (addr != NULL) {
		dp_member_addr_encode(addr, out + 8);
	} else {
		memset(out + 8, 0, DP_MEMBER_ADDR_BYTES);
	}
}

int dp_conf_entry_decode(const uint8_t *in, size_t in_bytes, uint64_t *value,
			 struct dp_member_addr *addr)
{
	RN_ASSERT(in != NULL || in_bytes == 0);
	RN_ASSERT(value != NULL);
	if (in_bytes != DP_CONF_ENTRY_BYTES) {
		return -DP_ERR_BAD_BODY;
	}
	uint64_t v = wire_ld64(in);
	uint8_t op = RAFT_CONF_OP(v);
	/* Bits above the op are not part of any change. */
	if ((v >> 40) != 0 || RAFT_CONF_ID(v) == RAFT_NODE_NONE || op < RAFT_CONF_ADD_LEARNER ||
	    op > RAFT_CONF_FORCE) {
		return -DP_ERR_BAD_BODY;
	}
	struct dp_member_addr a;
	if (op == RAFT_CONF_ADD_LEARNER) {
		if (dp_member_addr_decode(in + 8, &a) != 0) {
			return -DP_ERR_BAD_BODY;
		}
	} else {
		if (!wire_zero(in + 8, DP_MEMBER_ADDR_BYTES)) {
			return -DP_ERR_BAD_BODY;
		}
		memset(&a, 0, sizeof(a));
	}
	*value = v;
	if (addr != NULL) {
		*addr = a;
	}
	return 0;
}

size_t dp_wire_entry_bytes(const struct raft_entry *e)
{
	RN_ASSERT(e != NULL);
	/* A config entry's payload is its value, not counted bytes. */
	return DP_APPEND_ENTRY_HDR_BYTES +
	       (e->type == RAFT_ENTRY_CONFIG ? DP_CONF_ENTRY_BYTES : e->payload_bytes);
}

int dp_wire_append_conf(const struct dp_rx_frame *f, raft_index index,
			uint8_t out[DP_CONF_ENTRY_BYTES])
{
	RN_ASSERT(f != NULL && out != NULL);
	if (f->type != RAFT_MSG_APPEND || f->raft_body == NULL ||
	    f->raft_body_bytes < DP_APPEND_FIXED_BYTES) {
		return -DP_ERR_INVALID;
	}
	const struct raft_msg_append *a = &f->raft.append;
	if (index <= a->prev_index || index - a->prev_index > a->entries_count) {
		return -DP_ERR_INVALID;
	}
	/* The decoder checked every entry of this body: the walk only skips
	 * them (a config entry is rare, so the walk is off the common path). */
	const uint8_t *p = f->raft_body + DP_APPEND_FIXED_BYTES;
	const uint8_t *end = f->raft_body + f->raft_body_bytes;
	for (uint32_t i = 0; i < a->entries_count && p + DP_APPEND_ENTRY_HDR_BYTES <= end; i++) {
		uint32_t bytes = wire_ld32(p + 16);
		if (wire_ld64(p) == index) {
			if (p[20] != RAFT_ENTRY_CONFIG || bytes != DP_CONF_ENTRY_BYTES) {
				return -DP_ERR_INVALID;
			}
			memcpy(out, p + DP_APPEND_ENTRY_HDR_BYTES, DP_CONF_ENTRY_BYTES);
			return 0;
		}
		p += DP_APPEND_ENTRY_HDR_BYTES + bytes;
	}
	return -DP_ERR_INVALID;
}

size_t dp_member_list_encode(const struct dp_member_list *l, uint8_t *out, size_t out_bytes)
{
	RN_ASSERT(l != NULL && out != NULL);
	RN_ASSERT(l->count <= RAFT_NODES_MAX);
	size_t bytes = DP_MEMBER_LIST_HDR_BYTES + (size_t)l->count * DP_MEMBER_LIST_ITEM_BYTES;
	RN_ASSERT(bytes <= out_bytes);
	memset(out, 0, bytes);
	wire_st64(out, l->config_index);
	wire_st32(out + 8, l->self);
	wire_st32(out + 12, l->leader);
	out[16] = l->pending ? 1 : 0;
	out[17] = (uint8_t)l->count;
	out[18] = l->self_role;
	uint8_t *p = out + DP_MEMBER_LIST_HDR_BYTES;
	for (uint32_t i = 0; i < l->count; i++, p += DP_MEMBER_LIST_ITEM_BYTES) {
		const struct dp_member_info *m = &l->members[i];
		wire_st32(p, m->id);
		p[4] = m->role;
		p[5] = m->addr_known ? 1 : 0;
		wire_st64(p + 8, m->match);
		if (m->addr_known) {
			dp_member_addr_encode(&m->addr, p + 16);
		}
	}
	return bytes;
}

int dp_member_list_decode(const uint8_t *in, size_t in_bytes, struct dp_member_list *out)
{
	RN_ASSERT(out != NULL);
	if (in == NULL || in_bytes < DP_MEMBER_LIST_HDR_BYTES) {
		return -DP_ERR_BAD_BODY;
	}
	memset(out, 0, sizeof(*out));
	out->config_index = wire_ld64(in);
	out->self = wire_ld32(in + 8);
	out->leader = wire_ld32(in + 12);
	out->count = in[17];
	out->self_role = in[18];
	if (in[16] > 1 || out->count > RAFT_NODES_MAX || out->self_role > DP_MEMBER_LEARNER ||
	    !wire_zero(in + 19, 5) ||
	    in_bytes != DP_MEMBER_LIST_HDR_BYTES + (size_t)out->count * DP_MEMBER_LIST_ITEM_BYTES) {
		return -DP_ERR_BAD_BODY;
	}
	out->pending = in[16] == 1;
	const uint8_t *p = in + DP_MEMBER_LIST_HDR_BYTES;
	for (uint32_t i = 0; i < out->count; i++, p += DP_MEMBER_LIST_ITEM_BYTES) {
		struct dp_member_info *m = &out->members[i];
		m->id = wire_ld32(p);
		m->role = p[4];
		m->addr_known = p[5] == 1;
		m->match = wire_ld64(p + 8);
		if (m->id == RAFT_NODE_NONE || m->role < DP_MEMBER_VOTER || m->role > DP_MEMBER_LEARNER ||
		    p[5] > 1 || !wire_zero(p + 6, 2)) {
			return -DP_ERR_BAD_BODY;
		}
		if (m->addr_known ? dp_member_addr_decode(p + 16, &m->addr) != 0
				  : !wire_zero(p + 16, DP_MEMBER_ADDR_BYTES)) {
			return -DP_ERR_BAD_BODY;
		}
	}
	return 0;
}
