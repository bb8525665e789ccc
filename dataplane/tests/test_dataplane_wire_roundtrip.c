/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_wire_roundtrip.c - every frame type survives encode and
 * decode unchanged.
 *
 * Method: build each consensus message (all eleven types), client requests
 * of every operation and client replies, encode each into one frame with
 * node 1's codec, decode it with node 2's, and compare field by field,
 * entry payloads byte by byte. Also: the framing is what tcpdump expects
 * (valid IPv4 checksum, UDP length), AppendEntries with many entries fills
 * a jumbo frame, and a message that does not fit is refused, not cut.
 * Batches (wire version 3): a client frame filled with requests until the
 * next one does not fit (jumbo and 1518-byte frames) decodes to the same
 * requests in order; replies with and without traces likewise; a frame
 * of version 2 is dropped as bad_version.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wire_internal.h"
#include "wire_util.h"

static uint8_t frame[DP_FRAME_BYTES_MAX];
static struct raft_entry tx_entries[T_ENTRIES_MAX];
static struct raft_entry rx_entries[T_ENTRIES_MAX];
static const uint8_t *payloads[T_ENTRIES_MAX];

static void check_raft_equal(const struct raft_message *a, const struct raft_message *b,
			     const uint8_t *const *pl)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->from, b->from);
	assert_int_equal(a->to, b->to);
	assert_int_equal(a->term, b->term);
	switch (a->type) {
	case RAFT_MSG_APPEND:
		assert_int_equal(a->append.prev_index, b->append.prev_index);
		assert_int_equal(a->append.prev_term, b->append.prev_term);
		assert_int_equal(a->append.commit_index, b->append.commit_index);
		assert_int_equal(a->append.entries_count, b->append.entries_count);
		assert_int_equal(a->append.commit_only, b->append.commit_only);
		for (uint32_t i = 0; i < a->append.entries_count; i++) {
			const struct raft_entry *x = &a->append.entries[i];
			const struct raft_entry *y = &b->append.entries[i];
			assert_int_equal(x->index, y->index);
			assert_int_equal(x->term, y->term);
			assert_int_equal(x->type, y->type);
			assert_int_equal(x->payload_bytes, y->payload_bytes);
			if (x->payload_bytes > 0) {
				assert_memory_equal(pl[i], (const void *)(uintptr_t)y->payload,
						    x->payload_bytes);
			}
		}
		break;
	case RAFT_MSG_APPEND_RESP:
		assert_int_equal(a->append_resp.reject, b->append_resp.reject);
		assert_int_equal(a->append_resp.match_index, b->append_resp.match_index);
		assert_int_equal(a->append_resp.reject_index, b->append_resp.reject_index);
		assert_int_equal(a->append_resp.hint_index, b->append_resp.hint_index);
		assert_int_equal(a->append_resp.hint_term, b->append_resp.hint_term);
		break;
	case RAFT_MSG_VOTE:
	case RAFT_MSG_PREVOTE:
		assert_int_equal(a->vote.last_log_index, b->vote.last_log_index);
		assert_int_equal(a->vote.last_log_term, b->vote.last_log_term);
		assert_int_equal(a->vote.transfer, b->vote.transfer);
		break;
	case RAFT_MSG_VOTE_RESP:
	case RAFT_MSG_PREVOTE_RESP:
		assert_int_equal(a->vote_resp.granted, b->vote_resp.granted);
		break;
	case RAFT_MSG_HEARTBEAT:
		assert_int_equal(a->heartbeat.commit_index, b->heartbeat.commit_index);
		assert_int_equal(a->heartbeat.read_seq, b->heartbeat.read_seq);
		break;
	case RAFT_MSG_HEARTBEAT_RESP:
		assert_int_equal(a->heartbeat_resp.read_seq, b->heartbeat_resp.read_seq);
		break;
	case RAFT_MSG_TIMEOUT_NOW: break;
	case RAFT_MSG_READ_INDEX: assert_int_equal(a->read_index.ctx, b->read_index.ctx); break;
	case RAFT_MSG_READ_INDEX_RESP:
		assert_int_equal(a->read_index_resp.ctx, b->read_index_resp.ctx);
		assert_int_equal(a->read_index_resp.read_index, b->read_index_resp.read_index);
		break;
	default: fail_msg("type %u", a->type);
	}
}

/* Encodes m on node 1, decodes on node 2, compares. */
static void roundtrip_raft(const struct raft_message *m, uint64_t msg_seq)
{
	struct dp_wire tx, rx;
	struct dp_endpoints a;
	struct dp_rx_frame out;

	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	t_addr(&a);
	int n = dp_wire_encode_raft(&tx, &a, msg_seq, m, payloads, frame, sizeof(frame));
	assert_true(n > 0);
	assert_int_equal((size_t)n, wire_frame_bytes(dp_wire_raft_body_bytes(m)));
	memset(&out, 0xee, sizeof(out));
	int rc = dp_wire_decode(&rx, frame, (size_t)n, rx_entries, T_ENTRIES_MAX, &out);
	assert_int_equal(rc, 0);
	assert_int_equal(rx.counters.frames_accepted, 1);
	assert_int_equal(out.type, m->type);
	assert_int_equal(out.msg_seq, msg_seq);
	assert_memory_equal(&out.addr, &a, sizeof(a));
	check_raft_equal(m, &out.raft, payloads);
	if (m->type == RAFT_MSG_APPEND) {
		/* Decoded over 0xee bytes: the field must be written, false. */
		assert_false(out.raft.append.from_storage);
	}
}

static void test_every_raft_type(void **state)
{
	(void)state;
	struct raft_message m;
	for (uint8_t type = RAFT_MSG_APPEND; type <= RAFT_MSG_READ_INDEX_RESP; type++) {
		t_raft_msg(type, 3, 100, &m, tx_entries, payloads);
		roundtrip_raft(&m, 1000u + type);
	}
}

static void test_raft_fields_extremes(void **state)
{
	(void)state;
	struct raft_message m;
	t_raft_msg(RAFT_MSG_HEARTBEAT, 0, 0, &m, tx_entries, payloads);
	m.from = UINT32_MAX;
	m.term = UINT64_MAX;
	m.heartbeat.commit_index = UINT64_MAX;
	m.heartbeat.read_seq = 0;
	roundtrip_raft(&m, UINT64_MAX);
	t_raft_msg(RAFT_MSG_APPEND_RESP, 0, 0, &m, tx_entries, payloads);
	m.append_resp.reject = false;
	m.append_resp.match_index = UINT64_MAX;
	roundtrip_raft(&m, 0);
	t_raft_msg(RAFT_MSG_VOTE, 0, 0, &m, tx_entries, payloads);
	m.vote.transfer = false;
	roundtrip_raft(&m, 1);
	t_raft_msg(RAFT_MSG_PREVOTE_RESP, 0, 0, &m, tx_entries, payloads);
	m.vote_resp.granted = false;
	roundtrip_raft(&m, 2);
}

static void test_append_shapes(void **state)
{
	(void)state;
	struct raft_message m;
	/* Empty append (a probe), one entry, a NOOP, a batch of small ones. */
	t_raft_msg(RAFT_MSG_APPEND, 0, 0, &m, tx_entries, payloads);
	roundtrip_raft(&m, 1);
	t_raft_msg(RAFT_MSG_APPEND, 1, 1024, &m, tx_entries, payloads);
	roundtrip_raft(&m, 2);
	t_raft_msg(RAFT_MSG_APPEND, 1, 0, &m, tx_entries, payloads);
	tx_entries[0].type = RAFT_ENTRY_NOOP;
	roundtrip_raft(&m, 3);
	t_raft_msg(RAFT_MSG_APPEND, 200, 16, &m, tx_entries, payloads);
	roundtrip_raft(&m, 4);
	/* prev_index 0: the first entry of the log, term 1. */
	t_raft_msg(RAFT_MSG_APPEND, 2, 8, &m, tx_entries, payloads);
	m.append.prev_index = 0;
	m.append.prev_term = 0;
	tx_entries[0].index = 1;
	tx_entries[0].term = 1;
	tx_entries[1].index = 2;
	roundtrip_raft(&m, 5);
	/* A commit-only update: no entries, the flag set. */
	t_raft_msg(RAFT_MSG_APPEND, 0, 0, &m, tx_entries, payloads);
	m.append.commit_only = true;
	roundtrip_raft(&m, 6);
	m.append.commit_only = false;
	/* A from_storage append is for the caller to fill: never encoded. */
	struct dp_wire tx;
	struct dp_endpoints a;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_addr(&a);
	m.append.from_storage = true;
	assert_int_equal(dp_wire_encode_raft(&tx, &a, 6, &m, payloads, frame, sizeof(frame)),
			 -DP_ERR_INVALID);
}

static void test_append_fills_jumbo_frame(void **state)
{
	(void)state;
	struct raft_message m;
	/* 8 KiB entries: the largest count that fits one frame, then one more. */
	uint32_t per_entry = DP_APPEND_ENTRY_HDR_BYTES + 1024;
	uint32_t fit = (uint32_t)((DP_FRAME_BYTES_MAX - DP_FRAME_OVERHEAD_BYTES -
				   DP_APPEND_FIXED_BYTES) / per_entry);
	assert_true(fit >= 8);
	t_raft_msg(RAFT_MSG_APPEND, fit, 1024, &m, tx_entries, payloads);
	roundtrip_raft(&m, 9);

	struct dp_wire tx;
	struct dp_endpoints a;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_addr(&a);
	t_raft_msg(RAFT_MSG_APPEND, fit + 1, 1024, &m, tx_entries, payloads);
	assert_int_equal(dp_wire_encode_raft(&tx, &a, 1, &m, payloads, frame, sizeof(frame)),
			 -DP_ERR_TOO_BIG);
	/* A small buffer refuses even a small message, never writes past it. */
	t_raft_msg(RAFT_MSG_HEARTBEAT, 0, 0, &m, tx_entries, payloads);
	size_t need = wire_frame_bytes(DP_HEARTBEAT_BYTES);
	assert_int_equal(dp_wire_encode_raft(&tx, &a, 1, &m, payloads, frame, need - 1),
			 -DP_ERR_TOO_BIG);
	assert_int_equal(dp_wire_encode_raft(&tx, &a, 1, &m, payloads, frame, need), (int)need);
}

/* Configuration entries (wire version 5): the core's value goes out with
 * the member's address record and comes back as the value, payload_bytes
 * 0, the record found again in the frame (dp_wire_append_conf). */
static void test_config_entries(void **state)
{
	(void)state;
	struct dp_wire tx, rx;
	struct dp_endpoints a;
	struct dp_rx_frame out;
	static uint8_t normal[5] = {1, 2, 3, 4, 5};
	uint8_t rec_add[DP_CONF_ENTRY_BYTES], rec_promote[DP_CONF_ENTRY_BYTES];
	struct dp_member_addr addr = {.ip = 0x0a4d0004, .udp_port = 9000, .mac_auto = false,
				      .mac = {2, 0, 0, 0, 0, 4}, .host = 4};
	uint64_t v_add = RAFT_CONF_PAYLOAD(RAFT_CONF_ADD_LEARNER, 4);
	uint64_t v_promote = RAFT_CONF_PAYLOAD(RAFT_CONF_PROMOTE, 4);
	dp_conf_entry_encode(v_add, &addr, rec_add);
	dp_conf_entry_encode(v_promote, NULL, rec_promote);
	struct raft_entry e[3] = {
		{.index = 8, .term = 3, .type = RAFT_ENTRY_CONFIG, .payload = v_add},
		{.index = 9, .term = 3, .type = RAFT_ENTRY_NORMAL, .payload_bytes = sizeof(normal)},
		{.index = 10, .term = 3, .type = RAFT_ENTRY_CONFIG, .payload = v_promote},
	};
	const uint8_t *pl[3] = {rec_add, normal, rec_promote};
	struct raft_message m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 3,
				 .append = {.prev_index = 7, .prev_term = 2, .commit_index = 7,
					    .entries = e, .entries_count = 3}};
	assert_int_equal(dp_wire_raft_body_bytes(&m),
			 DP_APPEND_FIXED_BYTES + 3 * DP_APPEND_ENTRY_HDR_BYTES +
				 2 * DP_CONF_ENTRY_BYTES + sizeof(normal));
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	t_addr(&a);
	int n = dp_wire_encode_raft(&tx, &a, 1, &m, pl, frame, sizeof(frame));
	assert_true(n > 0);
	assert_int_equal(dp_wire_decode(&rx, frame, (size_t)n, rx_entries, T_ENTRIES_MAX, &out), 0);
	const struct raft_entry *r = out.raft.append.entries;
	assert_int_equal(out.raft.append.entries_count, 3);
	assert_int_equal(r[0].type, RAFT_ENTRY_CONFIG);
	assert_int_equal(r[0].payload, v_add);
	assert_int_equal(r[0].payload_bytes, 0);
	assert_int_equal(r[1].payload_bytes, sizeof(normal));
	assert_memory_equal((const void *)(uintptr_t)r[1].payload, normal, sizeof(normal));
	assert_int_equal(r[2].payload, v_promote);
	assert_int_equal(r[2].payload_bytes, 0);
	uint8_t got[DP_CONF_ENTRY_BYTES];
	assert_int_equal(dp_wire_append_conf(&out, 8, got), 0);
	assert_memory_equal(got, rec_add, sizeof(got));
	uint64_t value;
	struct dp_member_addr back;
	assert_int_equal(dp_conf_entry_decode(got, sizeof(got), &value, &back), 0);
	assert_int_equal(value, v_add);
	assert_int_equal(back.ip, addr.ip);
	assert_int_equal(back.udp_port, addr.udp_port);
	assert_false(back.mac_auto);
	assert_memory_equal(back.mac, addr.mac, 6);
	assert_int_equal(back.host, 4);
	assert_int_equal(dp_wire_append_conf(&out, 10, got), 0);
	assert_memory_equal(got, rec_promote, sizeof(got));
	/* Not a config entry, or not in this append. */
	assert_int_equal(dp_wire_append_conf(&out, 9, got), -DP_ERR_INVALID);
	assert_int_equal(dp_wire_append_conf(&out, 11, got), -DP_ERR_INVALID);
	assert_int_equal(dp_wire_append_conf(&out, 7, got), -DP_ERR_INVALID);
}

/* The MEMBER list reply's value: 16 members fit, every field comes back;
 * bad bytes are refused. A MEMBER request carries a change's record, never
 * a forced one. */
static void test_member_list(void **state)
{
	(void)state;
	struct dp_member_list l = {.config_index = 77, .self = 2, .leader = 1, .pending = true,
				   .self_role = DP_MEMBER_VOTER, .count = RAFT_NODES_MAX};
	for (uint32_t i = 0; i < RAFT_NODES_MAX; i++) {
		l.members[i] = (struct dp_member_info){
			.id = i + 1, .role = i < 5 ? DP_MEMBER_VOTER : DP_MEMBER_LEARNER,
			.addr_known = i != 3, .match = 1000 + i,
			.addr = {.ip = i != 3 ? 0x0a000001 + i : 0, .udp_port = i != 3 ? 9000 : 0,
				 .mac_auto = i % 2 == 0, .mac = {2, 0, 0, 0, 0, (uint8_t)(i % 2 ? i : 0)},
				 .host = i}};
		if (i % 2 == 0) {
			memset(l.members[i].addr.mac, 0, 6);
		}
	}
	memset(&l.members[3].addr, 0, sizeof(l.members[3].addr));
	uint8_t buf[DP_MEMBER_LIST_BYTES_MAX];
	size_t n = dp_member_list_encode(&l, buf, sizeof(buf));
	assert_int_equal(n, DP_MEMBER_LIST_BYTES_MAX);
	assert_true(n + DP_FRAME_OVERHEAD_BYTES + DP_CLIENT_BATCH_HDR_BYTES +
			    DP_CLIENT_REPLY_FIXED_BYTES <= 1514);
	struct dp_member_list back;
	assert_int_equal(dp_member_list_decode(buf, n, &back), 0);
	assert_int_equal(back.config_index, 77);
	assert_true(back.pending);
	assert_int_equal(back.count, RAFT_NODES_MAX);
	for (uint32_t i = 0; i < RAFT_NODES_MAX; i++) {
		assert_memory_equal(&back.members[i], &l.members[i], sizeof(l.members[i]));
	}
	assert_int_equal(dp_member_list_decode(buf, n - 1, &back), -DP_ERR_BAD_BODY);
	buf[DP_MEMBER_LIST_HDR_BYTES + 4] = 3; /* no such role */
	assert_int_equal(dp_member_list_decode(buf, n, &back), -DP_ERR_BAD_BODY);

	uint8_t rec[DP_CONF_ENTRY_BYTES];
	dp_conf_entry_encode(RAFT_CONF_PAYLOAD(RAFT_CONF_REMOVE, 3), NULL, rec);
	struct dp_client_request req = {.client_id = 9, .request_seq = 1, .op = DP_CLIENT_MEMBER,
					.key = (const uint8_t *)"member", .key_bytes = 6,
					.value = rec, .value_bytes = sizeof(rec)};
	uint8_t body[256];
	struct dp_client_request got;
	int bytes = dp_wire_request_body(&req, body, sizeof(body));
	assert_true(bytes > 0);
	assert_int_equal(wire_request_body_decode(body, (size_t)bytes, &got), 0);
	assert_int_equal(got.value_bytes, DP_CONF_ENTRY_BYTES);
	dp_conf_entry_encode(RAFT_CONF_PAYLOAD(RAFT_CONF_FORCE, 3), NULL, rec);
	bytes = dp_wire_request_body(&req, body, sizeof(body));
	assert_int_equal(wire_request_body_decode(body, (size_t)bytes, &got), -DP_ERR_BAD_BODY);
	req.value_bytes = 7;
	bytes = dp_wire_request_body(&req, body, sizeof(body));
	assert_int_equal(wire_request_body_decode(body, (size_t)bytes, &got), -DP_ERR_BAD_BODY);
}

static void test_framing_is_standard(void **state)
{
	(void)state;
	struct dp_wire tx;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	size_t n = t_frame(&tx, RAFT_MSG_VOTE, frame, sizeof(frame));
	assert_int_equal(wire_ld16_be(frame + 12), 0x0800);
	assert_int_equal(frame[WIRE_IP_OFFSET], 0x45);
	assert_int_equal(wire_ip_checksum(frame + WIRE_IP_OFFSET), 0);
	assert_int_equal(wire_ld16_be(frame + WIRE_IP_OFFSET + 2), n - DP_ETH_HDR_BYTES);
	assert_int_equal(frame[WIRE_IP_OFFSET + 9], 17);
	assert_int_equal(wire_ld16_be(frame + WIRE_UDP_OFFSET + 4), n - WIRE_UDP_OFFSET);
	assert_int_equal(wire_ld32(frame + WIRE_RAFT_OFFSET), DP_WIRE_MAGIC);
	assert_memory_equal(frame + WIRE_RAFT_OFFSET, "NRFT", 4);
}

static void roundtrip_request(const struct dp_client_request *req)
{
	struct dp_wire tx, rx;
	struct dp_endpoints a;
	struct dp_rx_frame out;

	t_wire(&tx, 0, T_CLUSTER_ID, t_secret); /* a client has no node id */
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	t_addr(&a);
	int n = dp_wire_encode_request(&tx, &a, 5, 2, req, frame, sizeof(frame));
	assert_true(n > 0);
	int rc = dp_wire_decode(&rx, frame, (size_t)n, NULL, 0, &out);
	assert_int_equal(rc, 0);
	assert_int_equal(out.type, DP_FRAME_CLIENT_REQUEST);
	const struct dp_client_request *got = &out.request;
	assert_int_equal(got->client_id, req->client_id);
	assert_int_equal(got->request_seq, req->request_seq);
	assert_int_equal(got->op, req->op);
	assert_int_equal(got->flags, req->flags);
	assert_int_equal(got->key_bytes, req->key_bytes);
	assert_int_equal(got->value_bytes, req->value_bytes);
	assert_int_equal(got->expect_bytes, req->expect_bytes);
	assert_memory_equal(got->key, req->key, req->key_bytes);
	if (req->value_bytes > 0) {
		assert_memory_equal(got->value, req->value, req->value_bytes);
	}
	if (req->expect_bytes > 0) {
		assert_memory_equal(got->expect, req->expect, req->expect_bytes);
	}
}

static void test_client_requests(void **state)
{
	(void)state;
	static uint8_t value[4096];
	for (size_t i = 0; i < sizeof(value); i++) {
		value[i] = (uint8_t)(i * 13u);
	}
	const uint8_t *key = (const uint8_t *)"user:42";
	struct dp_client_request req = {
		.client_id = 77, .request_seq = 1, .op = DP_CLIENT_PUT,
		.key = key, .key_bytes = 7, .value = value, .value_bytes = 4096,
	};
	roundtrip_request(&req);
	req = (struct dp_client_request){.client_id = 77, .request_seq = 2, .op = DP_CLIENT_GET,
					 .key = key, .key_bytes = 7};
	roundtrip_request(&req);
	req.op = DP_CLIENT_DELETE;
	req.request_seq = 3;
	roundtrip_request(&req);
	req.op = DP_CLIENT_GET_STALE;
	req.flags = DP_CLIENT_FLAG_TRACE;
	roundtrip_request(&req);
	req.op = DP_CLIENT_STATUS;
	req.flags = 0;
	roundtrip_request(&req);
	uint8_t target[4] = {3, 0, 0, 0};
	req = (struct dp_client_request){.client_id = 77, .request_seq = 5,
					 .op = DP_CLIENT_TRANSFER, .key = key, .key_bytes = 6,
					 .value = target, .value_bytes = 4};
	roundtrip_request(&req);
	req = (struct dp_client_request){.client_id = UINT64_MAX, .request_seq = 4,
					 .op = DP_CLIENT_CAS, .key = value,
					 .key_bytes = DP_CLIENT_KEY_BYTES_MAX, .value = value + 1,
					 .value_bytes = 100, .expect = value + 2, .expect_bytes = 50};
	roundtrip_request(&req);
}

static void test_client_replies(void **state)
{
	(void)state;
	struct dp_wire tx, rx;
	struct dp_endpoints a;
	struct dp_rx_frame out;
	t_wire(&tx, 2, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 0, T_CLUSTER_ID, t_secret);
	t_addr(&a);
	const uint8_t *value = (const uint8_t *)"the value";
	for (uint8_t status = DP_CLIENT_OK; status <= DP_CLIENT_STATUS_LAST; status++) {
		struct dp_client_reply rep = {
			.client_id = 9, .request_seq = 100u + status, .status = status,
			.leader_id = status == DP_CLIENT_REDIRECT ? 3 : 0,
			.value = status == DP_CLIENT_OK ? value : NULL,
			.value_bytes = status == DP_CLIENT_OK ? 9 : 0,
			.trace_count = status == DP_CLIENT_OK ? DP_TRACE_STAGES : 0,
		};
		for (uint32_t i = 0; i < rep.trace_count; i++) {
			rep.trace_ns[i] = 1000000007ull * (i + 1);
		}
		int n = dp_wire_encode_reply(&tx, &a, 7, 0, &rep, frame, sizeof(frame));
		assert_true(n > 0);
		assert_int_equal(dp_wire_decode(&rx, frame, (size_t)n, NULL, 0, &out), 0);
		assert_int_equal(out.type, DP_FRAME_CLIENT_REPLY);
		assert_int_equal(out.reply.client_id, 9);
		assert_int_equal(out.reply.request_seq, rep.request_seq);
		assert_int_equal(out.reply.status, status);
		assert_int_equal(out.reply.leader_id, rep.leader_id);
		assert_int_equal(out.reply.value_bytes, rep.value_bytes);
		if (rep.value_bytes > 0) {
			assert_memory_equal(out.reply.value, value, 9);
		}
		assert_int_equal(out.reply.trace_count, rep.trace_count);
		for (uint32_t i = 0; i < rep.trace_count; i++) {
			assert_true(out.reply.trace_ns[i] == rep.trace_ns[i]);
		}
	}
	assert_int_equal(rx.counters.frames_accepted, DP_CLIENT_STATUS_LAST + 1);
}

/* Ethernet minimum-size padding after the IP packet is tolerated. */
static void test_ethernet_padding(void **state)
{
	(void)state;
	struct dp_wire tx, rx;
	struct dp_rx_frame out;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	size_t n = t_frame(&tx, RAFT_MSG_TIMEOUT_NOW, frame, sizeof(frame));
	memset(frame + n, 0, 64);
	assert_int_equal(dp_wire_decode(&rx, frame, n + 64, NULL, 0, &out), 0);
	assert_int_equal(out.raft.type, RAFT_MSG_TIMEOUT_NOW);
}

/* Kernel UDP transport: the UDP payload alone decodes the same way. */
static void test_udp_payload(void **state)
{
	(void)state;
	struct dp_wire tx, rx, forger;
	struct dp_rx_frame out;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	t_wire(&forger, 1, T_CLUSTER_ID, t_other_secret);
	for (uint8_t type = RAFT_MSG_APPEND; type <= RAFT_MSG_READ_INDEX_RESP; type++) {
		size_t n = t_frame(&tx, type, frame, sizeof(frame));
		assert_int_equal(dp_wire_decode_udp(&rx, frame + DP_UDP_PAYLOAD_OFFSET,
						    n - DP_UDP_PAYLOAD_OFFSET, rx_entries,
						    T_ENTRIES_MAX, &out), 0);
		assert_int_equal(out.raft.type, type);
		assert_int_equal(out.raft.from, 1);
		n = t_frame(&forger, type, frame, sizeof(frame));
		assert_int_equal(dp_wire_decode_udp(&rx, frame + DP_UDP_PAYLOAD_OFFSET,
						    n - DP_UDP_PAYLOAD_OFFSET, rx_entries,
						    T_ENTRIES_MAX, &out), -DP_ERR_BAD_TAG);
		assert_int_equal(dp_wire_decode_udp(&rx, frame + DP_UDP_PAYLOAD_OFFSET, 10,
						    rx_entries, T_ENTRIES_MAX, &out),
				 -DP_ERR_TRUNCATED);
	}
	assert_int_equal(rx.counters.frames_accepted, 11);
	assert_int_equal(dp_wire_dropped(&rx.counters, DP_ERR_BAD_TAG), 11);
}

static void test_encode_programmer_errors(void **state)
{
	(void)state;
	struct dp_wire tx;
	struct dp_endpoints a;
	struct raft_message m;
	t_wire(&tx, 1, T_CLUSTER_ID, t_secret);
	t_addr(&a);
	t_raft_msg(RAFT_MSG_HEARTBEAT, 0, 0, &m, tx_entries, payloads);
	m.type = 0;
	assert_int_equal(dp_wire_encode_raft(&tx, &a, 1, &m, NULL, frame, sizeof(frame)),
			 -DP_ERR_INVALID);
	m.type = 12;
	assert_int_equal(dp_wire_encode_raft(&tx, &a, 1, &m, NULL, frame, sizeof(frame)),
			 -DP_ERR_INVALID);
	/* Entries with payload bytes but no payload pointer: a caller bug. */
	t_raft_msg(RAFT_MSG_APPEND, 1, 8, &m, tx_entries, payloads);
	expect_assert_failure(dp_wire_encode_raft(&tx, &a, 1, &m, NULL, frame, sizeof(frame)));
	/* A short secret is refused. */
	struct dp_wire_config cfg = {.cluster_id = 1, .secret = t_secret, .secret_bytes = 15};
	assert_int_equal(dp_wire_init(&tx, &cfg), -DP_ERR_INVALID);
	assert_string_equal(dp_strerror(-DP_ERR_BAD_TAG), "bad authentication tag");
}

/* Fills a request frame of frame_bytes_max until the next request does
 * not fit; every one comes back, in order, and the frame is as full as the
 * rule says (the next request would not have fit). */
static void batch_requests_fill(size_t frame_bytes_max)
{
	struct dp_wire tx, rx;
	struct dp_endpoints a;
	struct dp_rx_frame out;
	static const uint8_t value[64] = "a 64-byte value";
	t_wire(&tx, 0, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 2, T_CLUSTER_ID, t_secret);
	t_addr(&a);
	struct dp_client_frame f;
	dp_client_frame_start(&f, DP_FRAME_CLIENT_REQUEST, frame, frame_bytes_max);
	char key[24];
	uint32_t count = 0;
	for (;;) {
		int key_bytes = snprintf(key, sizeof(key), "k%010u", count);
		struct dp_client_request req = {.client_id = 9, .request_seq = 100 + count,
						.op = DP_CLIENT_PUT, .key = (const uint8_t *)key,
						.key_bytes = (uint32_t)key_bytes, .value = value,
						.value_bytes = (uint32_t)(count % 65)};
		size_t before = f.body_bytes;
		if (dp_client_frame_add_request(&f, &req) != 0) {
			assert_int_equal(f.body_bytes, before); /* nothing written */
			assert_true(dp_client_frame_bytes_with(&f, dp_wire_request_item_bytes(&req)) >
				    frame_bytes_max);
			break;
		}
		count++;
	}
	assert_int_equal(f.count, count);
	assert_true(count > 1);
	size_t n = dp_wire_seal_client_frame(&tx, &a, 5, 2, &f);
	assert_true(n <= frame_bytes_max);
	assert_int_equal(dp_wire_decode(&rx, frame, n, NULL, 0, &out), 0);
	assert_int_equal(out.type, DP_FRAME_CLIENT_REQUEST);
	assert_int_equal(out.batch.count, count);
	assert_int_equal(out.request.request_seq, 100); /* the first, decoded too */
	uint32_t at = 0;
	for (uint32_t i = 0; i < count; i++) {
		struct dp_client_request got;
		assert_int_equal(dp_client_batch_next_request(&out.batch, &at, &got), 0);
		int key_bytes = snprintf(key, sizeof(key), "k%010u", i);
		assert_int_equal(got.request_seq, 100 + i);
		assert_int_equal(got.key_bytes, (uint32_t)key_bytes);
		assert_memory_equal(got.key, key, (size_t)key_bytes);
		assert_int_equal(got.value_bytes, i % 65);
		if (got.value_bytes > 0) {
			assert_memory_equal(got.value, value, got.value_bytes);
		}
		/* The item is the log's form of the request, unchanged. */
		uint8_t one[512];
		assert_int_equal(dp_wire_request_body(&got, one, sizeof(one)),
				 (int)dp_wire_request_item_bytes(&got));
	}
	assert_int_equal(at, out.batch.items_bytes);
}

static void test_batch_requests(void **state)
{
	(void)state;
	batch_requests_fill(DP_FRAME_BYTES_MAX);
	batch_requests_fill(1518); /* af_packet's frame */
	batch_requests_fill(1514);
}

static void test_batch_replies(void **state)
{
	(void)state;
	struct dp_wire tx, rx;
	struct dp_endpoints a;
	struct dp_rx_frame out;
	t_wire(&tx, 2, T_CLUSTER_ID, t_secret);
	t_wire(&rx, 0, T_CLUSTER_ID, t_secret);
	t_addr(&a);
	struct dp_client_frame f;
	dp_client_frame_start(&f, DP_FRAME_CLIENT_REPLY, frame, sizeof(frame));
	for (uint32_t i = 0; i < 50; i++) {
		struct dp_client_reply rep = {.client_id = 9, .request_seq = i, .leader_id = 2,
					      .status = (uint8_t)(i % (DP_CLIENT_STATUS_LAST + 1)),
					      .value = (const uint8_t *)"value", .value_bytes = i % 6};
		if (i % 7 == 0) {
			rep.trace_count = DP_TRACE_STAGES;
			for (uint32_t k = 0; k < DP_TRACE_STAGES; k++) {
				rep.trace_ns[k] = 1000 * i + k;
			}
		}
		assert_int_equal(dp_client_frame_add_reply(&f, &rep), 0);
	}
	size_t n = dp_wire_seal_client_frame(&tx, &a, 6, 0, &f);
	assert_int_equal(dp_wire_decode(&rx, frame, n, NULL, 0, &out), 0);
	assert_int_equal(out.type, DP_FRAME_CLIENT_REPLY);
	assert_int_equal(out.batch.count, 50);
	uint32_t at = 0;
	for (uint32_t i = 0; i < 50; i++) {
		struct dp_client_reply got;
		assert_int_equal(dp_client_batch_next_reply(&out.batch, &at, &got), 0);
		assert_int_equal(got.request_seq, i);
		assert_int_equal(got.status, i % (DP_CLIENT_STATUS_LAST + 1));
		assert_int_equal(got.value_bytes, i % 6);
		assert_memory_equal(got.value, "value", got.value_bytes);
		assert_int_equal(got.trace_count, i % 7 == 0 ? DP_TRACE_STAGES : 0);
		if (got.trace_count > 0) {
			assert_true(got.trace_ns[DP_TRACE_REPLY] == 1000 * i + DP_TRACE_REPLY);
		}
	}
	struct dp_client_reply past;
	assert_int_equal(dp_client_batch_next_reply(&out.batch, &at, &past), -DP_ERR_INVALID);
	/* The same frame claiming version 4 or 6 is dropped as bad_version:
	 * the version is checked before the tag (an older peer's frame,
	 * whatever its body, never reaches the body decoder; version 6 sealed
	 * client bodies with a key per frame, wire_seal.c). */
	static const uint8_t older[] = {4, 6};
	for (size_t i = 0; i < sizeof(older); i++) {
		frame[WIRE_RAFT_OFFSET + offsetof(struct dp_wire_hdr, version)] = older[i];
		uint64_t before = dp_wire_dropped(&rx.counters, DP_ERR_BAD_VERSION);
		assert_int_equal(dp_wire_decode(&rx, frame, n, NULL, 0, &out),
				 -DP_ERR_BAD_VERSION);
		assert_int_equal(dp_wire_dropped(&rx.counters, DP_ERR_BAD_VERSION), before + 1);
	}
	assert_int_equal(DP_WIRE_VERSION, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_raft_type),
		cmocka_unit_test(test_raft_fields_extremes),
		cmocka_unit_test(test_append_shapes),
		cmocka_unit_test(test_append_fills_jumbo_frame),
		cmocka_unit_test(test_config_entries),
		cmocka_unit_test(test_member_list),
		cmocka_unit_test(test_framing_is_standard),
		cmocka_unit_test(test_client_requests),
		cmocka_unit_test(test_client_replies),
		cmocka_unit_test(test_ethernet_padding),
		cmocka_unit_test(test_udp_payload),
		cmocka_unit_test(test_encode_programmer_errors),
		cmocka_unit_test(test_batch_requests),
		cmocka_unit_test(test_batch_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
