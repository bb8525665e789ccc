/* SPDX-License-Identifier: MIT */
/*
 * wire_raft.c - bodies of the consensus messages (consensus.h), one fixed
 * little-endian layout per type:
 *
 *   APPEND            prev_index u64, prev_term u64, commit_index u64,
 *                     entries_count u32, flags u8 (bit 0: commit-only,
 *                     only with entries_count 0), 0[3], then per entry:
 *                     index u64, term u64, payload_bytes u32, type u8,
 *                     0[3], payload bytes; a config entry (type 3, wire
 *                     version 5) has exactly DP_CONF_ENTRY_BYTES: its
 *                     change value u64 then the member's address record
 *                     (dataplane.h, "Configuration entries"; wire_conf.c)
 *   APPEND_RESP       reject u8, 0[7], match_index, reject_index,
 *                     hint_index, hint_term (u64 each)
 *   VOTE, PREVOTE     last_log_index u64, last_log_term u64, transfer u8, 0[7]
 *   *_VOTE_RESP       granted u8, 0[7]
 *   HEARTBEAT         commit_index u64, read_seq u64
 *   HEARTBEAT_RESP    read_seq u64
 *   TIMEOUT_NOW       (empty)
 *   READ_INDEX        ctx u64
 *   READ_INDEX_RESP   ctx u64, read_index u64
 *
 * (Each fixed size is asserted against its layout in dataplane.h.)
 *
 * Decoding checks lengths exactly (no trailing bytes), booleans are 0 or 1,
 * reserved bytes are 0, entries are consecutive from prev_index + 1 with
 * terms that never decrease and never exceed the message's term. The
 * consensus core validates again what only it can judge (senders, terms
 * against its own state).
 */
#include "common.h"
#include "wire_internal.h"

/* RAFT_MSG_SNAPSHOT is not a frame: it tells a follower's core that a
 * complete, verified snapshot is staged there, so only that node's own
 * snapshot transfer may step it (the chunks travel as their own frames).
 * A frame of its type is unknown: dropped and counted, never stepped. */
int wire_raft_type_known(uint8_t type)
{
	return type >= RAFT_MSG_APPEND && type <= RAFT_MSG_READ_INDEX_RESP;
}

/* Fixed body bytes of a type; the APPEND entries come on top. */
static size_t raft_fixed_bytes(uint8_t type)
{
	switch (type) {
	case RAFT_MSG_APPEND: return DP_APPEND_FIXED_BYTES;
	case RAFT_MSG_APPEND_RESP: return DP_APPEND_RESP_BYTES;
	case RAFT_MSG_VOTE:
	case RAFT_MSG_PREVOTE: return DP_VOTE_BYTES;
	case RAFT_MSG_VOTE_RESP:
	case RAFT_MSG_PREVOTE_RESP: return DP_VOTE_RESP_BYTES;
	case RAFT_MSG_HEARTBEAT: return DP_HEARTBEAT_BYTES;
	case RAFT_MSG_HEARTBEAT_RESP: return DP_HEARTBEAT_RESP_BYTES;
	case RAFT_MSG_TIMEOUT_NOW: return DP_TIMEOUT_NOW_BYTES;
	case RAFT_MSG_READ_INDEX: return DP_READ_INDEX_BYTES;
	case RAFT_MSG_READ_INDEX_RESP: return DP_READ_INDEX_RESP_BYTES;
	default: RN_ASSERT(0 && "unknown raft message type"); return 0;
	}
}

size_t dp_wire_raft_body_bytes(const struct raft_message *m)
{
	RN_ASSERT(m != NULL);
	size_t bytes = raft_fixed_bytes(m->type);
	if (m->type == RAFT_MSG_APPEND) {
		for (uint32_t i = 0; i < m->append.entries_count; i++) {
			bytes += dp_wire_entry_bytes(&m->append.entries[i]);
		}
	}
	return bytes;
}

static void raft_append_encode(const struct raft_msg_append *a, const uint8_t *const *payloads,
			       uint8_t *p)
{
	wire_st64(p, a->prev_index);
	wire_st64(p + 8, a->prev_term);
	wire_st64(p + 16, a->commit_index);
	wire_st32(p + 24, a->entries_count);
	RN_ASSERT(!a->commit_only || a->entries_count == 0);
	p[28] = a->commit_only ? DP_APPEND_FLAG_COMMIT_ONLY : 0;
	memset(p + 29, 0, 3);
	p += DP_APPEND_FIXED_BYTES;
	for (uint32_t i = 0; i < a->entries_count; i++) {
		const struct raft_entry *e = &a->entries[i];
		/* A config entry's bytes are its record (value, address) in
		 * payloads[i]; the core's payload_bytes is 0 for it. */
		uint32_t bytes = e->type == RAFT_ENTRY_CONFIG ? DP_CONF_ENTRY_BYTES : e->payload_bytes;
		wire_st64(p, e->index);
		wire_st64(p + 8, e->term);
		wire_st32(p + 16, bytes);
		p[20] = e->type;
		memset(p + 21, 0, 3);
		p += DP_APPEND_ENTRY_HDR_BYTES;
		if (e->type == RAFT_ENTRY_CONFIG) {
			RN_ASSERT(payloads != NULL && payloads[i] != NULL);
			memcpy(p, payloads[i], bytes);
			p += bytes;
		} else if (e->payload_bytes > 0) {
			RN_ASSERT(payloads != NULL && payloads[i] != NULL);
			memcpy(p, payloads[i], e->payload_bytes);
			p += e->payload_bytes;
		}
	}
}

void wire_raft_body_encode(const struct raft_message *m, const uint8_t *const *payloads,
			   uint8_t *p)
{
	switch (m->type) {
	case RAFT_MSG_APPEND: raft_append_encode(&m->append, payloads, p); break;
	case RAFT_MSG_APPEND_RESP:
		memset(p, 0, 8);
		p[0] = m->append_resp.reject ? 1 : 0;
		wire_st64(p + 8, m->append_resp.match_index);
		wire_st64(p + 16, m->append_resp.reject_index);
		wire_st64(p + 24, m->append_resp.hint_index);
		wire_st64(p + 32, m->append_resp.hint_term);
		break;
	case RAFT_MSG_VOTE:
	case RAFT_MSG_PREVOTE:
		wire_st64(p, m->vote.last_log_index);
		wire_st64(p + 8, m->vote.last_log_term);
		memset(p + 16, 0, 8);
		p[16] = m->vote.transfer ? 1 : 0;
		break;
	case RAFT_MSG_VOTE_RESP:
	case RAFT_MSG_PREVOTE_RESP:
		memset(p, 0, 8);
		p[0] = m->vote_resp.granted ? 1 : 0;
		break;
	case RAFT_MSG_HEARTBEAT:
		wire_st64(p, m->heartbeat.commit_index);
		wire_st64(p + 8, m->heartbeat.read_seq);
		break;
	case RAFT_MSG_HEARTBEAT_RESP: wire_st64(p, m->heartbeat_resp.read_seq); break;
	case RAFT_MSG_TIMEOUT_NOW: break;
	case RAFT_MSG_READ_INDEX: wire_st64(p, m->read_index.ctx); break;
	case RAFT_MSG_READ_INDEX_RESP:
		wire_st64(p, m->read_index_resp.ctx);
		wire_st64(p + 8, m->read_index_resp.read_index);
		break;
	default: RN_ASSERT(0 && "unknown raft message type");
	}
}

/* One entry at p (avail bytes left). Returns bytes consumed or a negative
 * error. `expect_index` and `term_min..term_max` come from the message. */
static int64_t raft_entry_decode(const uint8_t *p, size_t avail, uint64_t expect_index,
				 uint64_t term_min, uint64_t term_max, struct raft_entry *e)
{
	if (avail < DP_APPEND_ENTRY_HDR_BYTES) {
		return -DP_ERR_BAD_BODY;
	}
	e->index = wire_ld64(p);
	e->term = wire_ld64(p + 8);
	e->payload_bytes = wire_ld32(p + 16);
	e->type = p[20];
	memset(e->reserved, 0, sizeof(e->reserved));
	if (e->index != expect_index || e->term < term_min || e->term > term_max) {
		return -DP_ERR_BAD_BODY;
	}
	if (!wire_zero(p + 21, 3)) {
		return -DP_ERR_BAD_BODY;
	}
	if (e->type != RAFT_ENTRY_NORMAL && e->type != RAFT_ENTRY_NOOP &&
	    e->type != RAFT_ENTRY_CONFIG) {
		return -DP_ERR_BAD_BODY;
	}
	if (e->type == RAFT_ENTRY_NOOP && e->payload_bytes != 0) {
		return -DP_ERR_BAD_BODY;
	}
	if (e->payload_bytes > avail - DP_APPEND_ENTRY_HDR_BYTES) {
		return -DP_ERR_BAD_BODY;
	}
	if (e->type == RAFT_ENTRY_CONFIG) {
		/* The core gets the change's value, payload_bytes 0 (consensus.h);
		 * the record stays in the frame (dp_wire_append_conf). */
		uint64_t value;
		if (dp_conf_entry_decode(p + DP_APPEND_ENTRY_HDR_BYTES, e->payload_bytes, &value,
					 NULL) != 0) {
			return -DP_ERR_BAD_BODY;
		}
		e->payload = value;
		e->payload_bytes = 0;
		return (int64_t)(DP_APPEND_ENTRY_HDR_BYTES + DP_CONF_ENTRY_BYTES);
	}
	/* The handle is where the payload sits in the caller's frame. */
	e->payload = (uint64_t)(uintptr_t)(p + DP_APPEND_ENTRY_HDR_BYTES);
	return (int64_t)(DP_APPEND_ENTRY_HDR_BYTES + e->payload_bytes);
}

static int raft_append_decode(uint64_t term, const uint8_t *p, size_t body_bytes,
			      struct raft_entry *entries, uint32_t entries_max,
			      struct raft_msg_append *a)
{
	a->prev_index = wire_ld64(p);
	a->prev_term = wire_ld64(p + 8);
	a->commit_index = wire_ld64(p + 16);
	a->entries_count = wire_ld32(p + 24);
	a->entries = entries;
	a->from_storage = false; /* a local request of the core, never on the wire */
	uint8_t flags = p[28];
	a->commit_only = (flags & DP_APPEND_FLAG_COMMIT_ONLY) != 0;
	if ((flags & ~DP_APPEND_FLAG_COMMIT_ONLY) != 0 || !wire_zero(p + 29, 3) ||
	    a->prev_term > term) {
		return -DP_ERR_BAD_BODY;
	}
	if (a->commit_only && a->entries_count > 0) {
		return -DP_ERR_BAD_BODY;
	}
	if (a->entries_count > RAFT_BATCH_ENTRIES_MAX ||
	    a->prev_index > UINT64_MAX - a->entries_count) {
		return -DP_ERR_BAD_BODY;
	}
	if (a->entries_count > entries_max) {
		return -DP_ERR_TOO_MANY_ENTRIES;
	}
	size_t at = DP_APPEND_FIXED_BYTES;
	/* An entry's term is at least 1 and at least the previous one's. */
	uint64_t term_min = a->prev_term > 0 ? a->prev_term : 1;
	for (uint32_t i = 0; i < a->entries_count; i++) {
		int64_t used = raft_entry_decode(p + at, body_bytes - at, a->prev_index + 1 + i,
						 term_min, term, &entries[i]);
		if (used < 0) {
			return (int)used;
		}
		term_min = entries[i].term;
		at += (size_t)used;
	}
	return at == body_bytes ? 0 : -DP_ERR_BAD_BODY;
}

static int raft_bool(uint8_t byte, bool *out)
{
	if (byte > 1) {
		return -DP_ERR_BAD_BODY;
	}
	*out = byte == 1;
	return 0;
}

int wire_raft_body_decode(uint8_t type, uint64_t term, const uint8_t *p, size_t body_bytes,
			  struct raft_entry *entries, uint32_t entries_max,
			  struct raft_message *m)
{
	RN_ASSERT(m != NULL);
	RN_ASSERT(p != NULL || body_bytes == 0);
	if (!wire_raft_type_known(type)) {
		return -DP_ERR_UNKNOWN_TYPE;
	}
	size_t fixed_bytes = raft_fixed_bytes(type);
	if (body_bytes < fixed_bytes || (type != RAFT_MSG_APPEND && body_bytes != fixed_bytes)) {
		return -DP_ERR_BAD_BODY;
	}
	m->type = type;
	switch (type) {
	case RAFT_MSG_APPEND:
		return raft_append_decode(term, p, body_bytes, entries, entries_max, &m->append);
	case RAFT_MSG_APPEND_RESP:
		m->append_resp.match_index = wire_ld64(p + 8);
		m->append_resp.reject_index = wire_ld64(p + 16);
		m->append_resp.hint_index = wire_ld64(p + 24);
		m->append_resp.hint_term = wire_ld64(p + 32);
		if (!wire_zero(p + 1, 7)) {
			return -DP_ERR_BAD_BODY;
		}
		return raft_bool(p[0], &m->append_resp.reject);
	case RAFT_MSG_VOTE:
	case RAFT_MSG_PREVOTE:
		m->vote.last_log_index = wire_ld64(p);
		m->vote.last_log_term = wire_ld64(p + 8);
		if (!wire_zero(p + 17, 7)) {
			return -DP_ERR_BAD_BODY;
		}
		return raft_bool(p[16], &m->vote.transfer);
	case RAFT_MSG_VOTE_RESP:
	case RAFT_MSG_PREVOTE_RESP:
		if (!wire_zero(p + 1, 7)) {
			return -DP_ERR_BAD_BODY;
		}
		return raft_bool(p[0], &m->vote_resp.granted);
	case RAFT_MSG_HEARTBEAT:
		m->heartbeat.commit_index = wire_ld64(p);
		m->heartbeat.read_seq = wire_ld64(p + 8);
		return 0;
	case RAFT_MSG_HEARTBEAT_RESP: m->heartbeat_resp.read_seq = wire_ld64(p); return 0;
	case RAFT_MSG_TIMEOUT_NOW: return 0;
	case RAFT_MSG_READ_INDEX: m->read_index.ctx = wire_ld64(p); return 0;
	case RAFT_MSG_READ_INDEX_RESP:
		m->read_index_resp.ctx = wire_ld64(p);
		m->read_index_resp.read_index = wire_ld64(p + 8);
		return 0;
	default: return -DP_ERR_UNKNOWN_TYPE;
	}
}
