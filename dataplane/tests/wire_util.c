/* SPDX-License-Identifier: MIT */
/*
 * wire_util.c - see wire_util.h. Also the test binaries' assertion hook:
 * RN_ASSERT failures are reported to cmocka (mock_assert) instead of
 * aborting, so a test can check that a programmer error is caught.
 */
#define RN_ASSERT_HOOK_OVERRIDE 1
#include "wire_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"
#include "wire_internal.h"

void rn_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	(void)func;
	mock_assert(0, expr, file, line);
	abort(); /* mock_assert does not return on failure */
}

const uint8_t t_secret[32] = "raftnode test secret, 32 bytes!";
const uint8_t t_other_secret[32] = "another cluster secret, 32 byte";

void t_wire(struct dp_wire *w, raft_node_id self, uint32_t cluster_id, const uint8_t *secret)
{
	struct dp_wire_config cfg = {
		.cluster_id = cluster_id,
		.self_id = self,
		.secret = secret,
		.secret_bytes = 32,
		.udp_port = T_PORT,
	};
	int rc = dp_wire_init(w, &cfg);
	RN_ASSERT(rc == 0);
}

void t_addr(struct dp_endpoints *a)
{
	static const uint8_t mac1[6] = {0x02, 0, 0, 0, 0, 1};
	static const uint8_t mac2[6] = {0x02, 0, 0, 0, 0, 2};
	memset(a, 0, sizeof(*a)); /* key_id 0: the plain secret's one key */
	memcpy(a->src_mac, mac1, 6);
	memcpy(a->dst_mac, mac2, 6);
	a->src_ip = 0x0a000001u;
	a->dst_ip = 0x0a000002u;
	a->src_port = T_PORT;
	a->dst_port = T_PORT;
}

/* Payload bytes of entry `index`: a pattern a decoder cannot fake. */
static uint8_t t_payload_pool[T_ENTRIES_MAX][1100];

void t_raft_msg(uint8_t type, uint32_t count, uint32_t payload_bytes,
		struct raft_message *m, struct raft_entry *entries, const uint8_t **payloads)
{
	RN_ASSERT(count <= T_ENTRIES_MAX && payload_bytes <= sizeof(t_payload_pool[0]));
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = 1;
	m->to = 2;
	m->term = 5;
	switch (type) {
	case RAFT_MSG_APPEND:
		m->append.prev_index = 10;
		m->append.prev_term = 4;
		m->append.commit_index = 9;
		m->append.entries = entries;
		m->append.entries_count = count;
		for (uint32_t i = 0; i < count; i++) {
			entries[i] = (struct raft_entry){
				.term = i == 0 ? 4 : 5,
				.index = 11 + i,
				.payload_bytes = payload_bytes,
				.type = RAFT_ENTRY_NORMAL,
			};
			for (uint32_t b = 0; b < payload_bytes; b++) {
				t_payload_pool[i][b] = (uint8_t)(i * 31u + b * 7u + 1u);
			}
			payloads[i] = t_payload_pool[i];
		}
		break;
	case RAFT_MSG_APPEND_RESP:
		m->append_resp = (struct raft_msg_append_resp){true, 7, 12, 8, 3};
		break;
	case RAFT_MSG_VOTE:
	case RAFT_MSG_PREVOTE: m->vote = (struct raft_msg_vote){44, 4, true}; break;
	case RAFT_MSG_VOTE_RESP:
	case RAFT_MSG_PREVOTE_RESP: m->vote_resp.granted = true; break;
	case RAFT_MSG_HEARTBEAT: m->heartbeat = (struct raft_msg_heartbeat){99, 17}; break;
	case RAFT_MSG_HEARTBEAT_RESP: m->heartbeat_resp.read_seq = 17; break;
	case RAFT_MSG_TIMEOUT_NOW: break;
	case RAFT_MSG_READ_INDEX: m->read_index.ctx = 0xabcdef; break;
	case RAFT_MSG_READ_INDEX_RESP:
		m->read_index_resp = (struct raft_msg_read_index_resp){0xabcdef, 77};
		break;
	default: RN_ASSERT(0 && "not a raft type");
	}
}

void t_reseal(const struct dp_wire *w, uint8_t *frame)
{
	uint8_t *ip = frame + WIRE_IP_OFFSET;
	wire_st16_be(ip + 10, 0);
	wire_st16_be(ip + 10, wire_ip_checksum(ip));
	uint8_t *raft = frame + WIRE_RAFT_OFFSET;
	uint32_t body_bytes = wire_ld32(raft + offsetof(struct dp_wire_hdr, body_bytes));
	size_t signed_bytes = DP_RAFT_HDR_BYTES + body_bytes;
	wire_auth_tag_frame((const uint8_t *)w->own.slots[0].key_words, raft, signed_bytes);
}

size_t t_frame(const struct dp_wire *w, uint8_t type, uint8_t *buf, size_t buf_bytes)
{
	static struct raft_entry entries[4];
	const uint8_t *payloads[4];
	struct raft_message m;
	struct dp_endpoints a;

	t_addr(&a);
	t_raft_msg(type, 3, 20, &m, entries, payloads);
	int n = dp_wire_encode_raft(w, &a, 1, &m, payloads, buf, buf_bytes);
	RN_ASSERT(n > 0);
	return (size_t)n;
}
