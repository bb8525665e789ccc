/* SPDX-License-Identifier: MIT */
/*
 * gen_seeds.c - writes the checked-in seed corpora of the wire fuzz targets
 * (tests/fuzz/corpus/<target>/): one valid input per frame type, made with
 * the real encoder and the fuzz targets' key, so the fuzzers start from
 * frames that pass every check and mutate from there.
 *
 * usage: fuzz_gen_seeds DIR
 * (writes DIR/frame, DIR/raft_body, DIR/client_body, DIR/snap_body,
 * DIR/settings_body, DIR/reasm, DIR/l2_answer)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wire_internal.h"

static const uint8_t gen_secret[32] = "raftnode fuzz secret, 32 bytes!";
static uint8_t gen_buf[DP_FRAME_BYTES_MAX + 16];

static void gen_write(const char *dir, const char *sub, const char *name, uint8_t prefix,
		      const uint8_t *bytes, size_t count)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(&prefix, 1, 1, f) != 1 ||
	    (count > 0 && fwrite(bytes, 1, count, f) != count) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* One message of each raft type, as a frame and as a bare body. */
static void gen_raft(const char *dir, const struct dp_wire *w, const struct dp_endpoints *a)
{
	static const uint8_t payload[64] = "payload bytes of an entry";
	struct raft_entry entries[3];
	const uint8_t *payloads[3] = {payload, payload, payload};
	for (uint8_t type = RAFT_MSG_APPEND; type <= RAFT_MSG_READ_INDEX_RESP; type++) {
		struct raft_message m;
		memset(&m, 0, sizeof(m));
		m.type = type;
		m.from = 1;
		m.to = 2;
		m.term = 5;
		if (type == RAFT_MSG_APPEND) {
			m.append = (struct raft_msg_append){10, 4, 9, entries, 3, false, false};
			for (uint32_t i = 0; i < 3; i++) {
				entries[i] = (struct raft_entry){.term = 5, .index = 11 + i,
								 .payload_bytes = 8u * i,
								 .type = RAFT_ENTRY_NORMAL};
			}
		} else if (type == RAFT_MSG_VOTE || type == RAFT_MSG_PREVOTE) {
			m.vote = (struct raft_msg_vote){12, 4, false};
		} else if (type == RAFT_MSG_HEARTBEAT) {
			m.heartbeat = (struct raft_msg_heartbeat){9, 3};
		}
		char name[32];
		snprintf(name, sizeof(name), "%s", raft_msg_type_name(type));
		int n = dp_wire_encode_raft(w, a, type, &m, payloads, gen_buf, sizeof(gen_buf));
		if (n <= 0) {
			exit(1);
		}
		gen_write(dir, "frame", name, 0, gen_buf, (size_t)n);
		/* raft_body input: type, term (8), entries_max, body */
		uint8_t body[512];
		size_t body_bytes = dp_wire_raft_body_bytes(&m);
		body[0] = type;
		wire_st64(body + 1, m.term);
		body[9] = 16;
		wire_raft_body_encode(&m, payloads, body + 10);
		gen_write(dir, "raft_body", name, type, body + 1, 9 + body_bytes);
	}
	/* An append with configuration entries (wire version 5): an added
	 * learner's record (value, address) and a removal's. */
	uint8_t add[DP_CONF_ENTRY_BYTES], rm[DP_CONF_ENTRY_BYTES];
	struct dp_member_addr addr = {.ip = 0x0a4d0004u, .udp_port = 9000, .mac_auto = true};
	dp_conf_entry_encode(RAFT_CONF_PAYLOAD(RAFT_CONF_ADD_LEARNER, 4), &addr, add);
	dp_conf_entry_encode(RAFT_CONF_PAYLOAD(RAFT_CONF_REMOVE, 2), NULL, rm);
	const uint8_t *conf_payloads[3] = {add, payload, rm};
	entries[0] = (struct raft_entry){.term = 5, .index = 11, .type = RAFT_ENTRY_CONFIG,
					 .payload = RAFT_CONF_PAYLOAD(RAFT_CONF_ADD_LEARNER, 4)};
	entries[1] = (struct raft_entry){.term = 5, .index = 12, .payload_bytes = 8,
					 .type = RAFT_ENTRY_NORMAL};
	entries[2] = (struct raft_entry){.term = 5, .index = 13, .type = RAFT_ENTRY_CONFIG,
					 .payload = RAFT_CONF_PAYLOAD(RAFT_CONF_REMOVE, 2)};
	struct raft_message m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 5,
				 .append = {10, 4, 9, entries, 3, false, false}};
	int n = dp_wire_encode_raft(w, a, 1, &m, conf_payloads, gen_buf, sizeof(gen_buf));
	if (n <= 0) {
		exit(1);
	}
	gen_write(dir, "frame", "append_config", 0, gen_buf, (size_t)n);
	uint8_t body[512];
	size_t body_bytes = dp_wire_raft_body_bytes(&m);
	wire_st64(body + 1, m.term);
	body[9] = 16;
	wire_raft_body_encode(&m, conf_payloads, body + 10);
	gen_write(dir, "raft_body", "append_config", RAFT_MSG_APPEND, body + 1, 9 + body_bytes);
}

/* Version 3 client frames: batches of requests and of replies, as frames
 * and as bare bodies (selector bit 1). */
static void gen_client_batches(const char *dir, const struct dp_wire *w,
			       const struct dp_endpoints *a, struct dp_client_request *req,
			       struct dp_client_reply *rep)
{
	struct dp_client_frame f;
	dp_client_frame_start(&f, DP_FRAME_CLIENT_REQUEST, gen_buf, sizeof(gen_buf));
	for (uint64_t i = 0; i < 3; i++) {
		req->request_seq = 10 + i;
		if (dp_client_frame_add_request(&f, req) != 0) {
			exit(1);
		}
	}
	size_t n = dp_wire_seal_client_frame(w, a, 2, 2, &f);
	gen_write(dir, "frame", "client_request_batch", 0, gen_buf, n);
	gen_write(dir, "client_body", "batch_requests", 2, gen_buf + WIRE_BODY_OFFSET,
		  f.body_bytes);
	dp_client_frame_start(&f, DP_FRAME_CLIENT_REPLY, gen_buf, sizeof(gen_buf));
	rep->trace_count = DP_TRACE_STAGES;
	for (uint64_t i = 0; i < 2; i++) {
		rep->request_seq = 10 + i;
		rep->trace_ns[i] = 1000 + i;
		if (dp_client_frame_add_reply(&f, rep) != 0) {
			exit(1);
		}
		rep->trace_count = 0;
	}
	n = dp_wire_seal_client_frame(w, a, 3, 2, &f);
	gen_write(dir, "frame", "client_reply_batch", 0, gen_buf, n);
	gen_write(dir, "client_body", "batch_replies", 3, gen_buf + WIRE_BODY_OFFSET,
		  f.body_bytes);
}

static void gen_client(const char *dir, const struct dp_wire *w, const struct dp_endpoints *a)
{
	const uint8_t *key = (const uint8_t *)"key:1";
	const uint8_t *value = (const uint8_t *)"value bytes";
	struct dp_client_request req = {.client_id = 3, .request_seq = 1, .op = DP_CLIENT_CAS,
					.key = key, .key_bytes = 5, .value = value,
					.value_bytes = 11, .expect = value, .expect_bytes = 5};
	struct dp_client_reply rep = {.client_id = 3, .request_seq = 1, .status = DP_CLIENT_OK,
				      .leader_id = 1, .value = value, .value_bytes = 11};
	uint8_t body[256];
	int n = dp_wire_encode_request(w, a, 1, 2, &req, gen_buf, sizeof(gen_buf));
	if (n <= 0) {
		exit(1);
	}
	gen_write(dir, "frame", "client_request", 0, gen_buf, (size_t)n);
	n = dp_wire_encode_reply(w, a, 1, 2, &rep, gen_buf, sizeof(gen_buf));
	if (n <= 0) {
		exit(1);
	}
	gen_write(dir, "frame", "client_reply", 0, gen_buf, (size_t)n);
	wire_request_body_encode(&req, body);
	gen_write(dir, "client_body", "request_cas", 0, body, wire_request_body_bytes(&req));
	req = (struct dp_client_request){.client_id = 4, .request_seq = 9, .op = DP_CLIENT_GET,
					 .key = key, .key_bytes = 5};
	wire_request_body_encode(&req, body);
	gen_write(dir, "client_body", "request_get", 0, body, wire_request_body_bytes(&req));
	wire_reply_body_encode(&rep, body);
	gen_write(dir, "client_body", "reply_ok", 1, body, wire_reply_body_bytes(&rep));
	gen_client_batches(dir, w, a, &req, &rep);
	/* Sealed (client_encryption = on): mode byte 2 has the target decode
	 * them with encryption on. */
	struct dp_wire sealed = *w;
	if (dp_wire_set_client_seal(&sealed, true) != 0) {
		exit(1);
	}
	n = dp_wire_encode_request(&sealed, a, 4, 2, &req, gen_buf, sizeof(gen_buf));
	if (n <= 0) {
		exit(1);
	}
	gen_write(dir, "frame", "client_request_sealed", 2, gen_buf, (size_t)n);
	n = dp_wire_encode_reply(&sealed, a, 5, 2, &rep, gen_buf, sizeof(gen_buf));
	if (n <= 0) {
		exit(1);
	}
	gen_write(dir, "frame", "client_reply_sealed", 2, gen_buf, (size_t)n);
}

/* Snapshot transfer frames (a chunk, a probe, an ack) as frames and as
 * bare bodies: snap_body input is selector (0 chunk, 1 ack), term (8),
 * body. */
static void gen_snap(const char *dir, const struct dp_wire *w, const struct dp_endpoints *a)
{
	static const uint8_t data[600] = "bytes of a snapshot file";
	struct dp_snap_id id = {.index = 1000, .term = 4, .total_bytes = 1u << 20,
				.crc32c = 0x1234abcdu};
	struct dp_snap_chunk c = {.id = id, .offset_bytes = 4096, .data = data,
				  .data_bytes = sizeof(data)};
	struct dp_snap_chunk probe = {.id = id, .offset_bytes = 8192};
	struct dp_snap_ack k = {.id = id, .acked_bytes = 4096, .window_bytes = 65536,
				.reason = DP_SNAP_ACK_OK};
	uint8_t body[9 + DP_SNAP_CHUNK_FIXED_BYTES + sizeof(data)];
	int n = dp_wire_encode_snap_chunk(w, a, 7, 2, 5, &c, gen_buf, sizeof(gen_buf));
	int m = dp_wire_encode_snap_ack(w, a, 8, 2, 5, &k, gen_buf + n, sizeof(gen_buf) - (size_t)n);
	if (n <= 0 || m <= 0) {
		exit(1);
	}
	gen_write(dir, "frame", "snap_chunk", 0, gen_buf, (size_t)n);
	gen_write(dir, "frame", "snap_ack", 0, gen_buf + n, (size_t)m);
	wire_st64(body, 5);
	n = dp_snap_chunk_body(&c, 5, body + 8, sizeof(body) - 8);
	m = n > 0 ? dp_snap_chunk_body(&probe, 5, gen_buf, sizeof(gen_buf)) : -1;
	if (n <= 0 || m <= 0) {
		exit(1);
	}
	gen_write(dir, "snap_body", "chunk", 0, body, 8 + (size_t)n);
	memcpy(body + 8, gen_buf, (size_t)m);
	gen_write(dir, "snap_body", "probe", 0, body, 8 + (size_t)m);
	n = dp_snap_ack_body(&k, 5, body + 8, sizeof(body) - 8);
	if (n <= 0) {
		exit(1);
	}
	gen_write(dir, "snap_body", "ack", 1, body, 8 + (size_t)n);
}

/* A SETTINGS frame (its header's fingerprint set, as a node seals it) and
 * bodies: settings_body input is a frame size selector (1 byte: frames of
 * the overhead + 4 x it), then the body. */
static void gen_settings(const char *dir, const struct dp_wire *w, const struct dp_endpoints *a)
{
	static const char text[] = "wire_version=7;id=7;kv_keys_max=65536;kv_key_bytes_max=64;"
				   "kv_value_bytes_max=1024;kv_clients_max=4096;kv_session_window=256";
	struct dp_wire with_fp = *w;
	with_fp.settings_fp = 0x5e77195f1a9e0001ull;
	int n = dp_wire_encode_settings(&with_fp, a, 9, 2, text, strlen(text), gen_buf,
					sizeof(gen_buf));
	if (n <= 0) {
		exit(1);
	}
	gen_write(dir, "frame", "settings", 0, gen_buf, (size_t)n);
	gen_write(dir, "settings_body", "node_settings", 255, (const uint8_t *)text, strlen(text));
	gen_write(dir, "settings_body", "one_pair_small_frame", 1, (const uint8_t *)"id=7", 4);
}

/* reasm input: records of (from, seq, type, term, msg bytes, offset,
 * bytes, body) cutting one real body into pieces of `piece` bytes. */
static void gen_reasm_one(const char *dir, const char *name, uint8_t type, const uint8_t *body,
			  uint32_t body_bytes, uint32_t piece)
{
	static uint8_t out[8192];
	size_t at = 0;
	for (uint32_t off = 0; off < body_bytes; off += piece) {
		uint32_t n = body_bytes - off < piece ? body_bytes - off : piece;
		uint8_t *h = out + at;
		h[0] = 1;
		h[1] = 7;
		h[2] = type;
		h[3] = 5;
		wire_st16(h + 4, (uint16_t)body_bytes);
		wire_st16(h + 6, (uint16_t)off);
		h[8] = (uint8_t)n;
		memcpy(h + 9, body + off, n);
		at += 9 + n;
	}
	/* The first byte goes in as the file's prefix byte. */
	gen_write(dir, "reasm", name, out[0], out + 1, at - 1);
}

static void gen_reasm(const char *dir)
{
	static const uint8_t payload[64] = "payload bytes of an entry";
	const uint8_t *payloads[2] = {payload, payload};
	struct raft_entry entries[2] = {
		{.term = 5, .index = 11, .payload_bytes = 64, .type = RAFT_ENTRY_NORMAL},
		{.term = 5, .index = 12, .payload_bytes = 10, .type = RAFT_ENTRY_NORMAL},
	};
	struct raft_message m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 5};
	m.append = (struct raft_msg_append){10, 4, 9, entries, 2, false, false};
	uint8_t body[512];
	int n = dp_wire_raft_body(&m, payloads, body, sizeof(body));
	if (n <= 0) {
		exit(1);
	}
	gen_reasm_one(dir, "append_in_50_byte_pieces", RAFT_MSG_APPEND, body, (uint32_t)n, 50);
	struct dp_client_request req = {.client_id = 3, .request_seq = 1, .op = DP_CLIENT_PUT,
					.key = payload, .key_bytes = 5, .value = payload,
					.value_bytes = 60};
	/* A client frame's body is a batch: here of one request. */
	dp_wire_client_batch_hdr(body, 1);
	n = dp_wire_request_body(&req, body + DP_CLIENT_BATCH_HDR_BYTES,
				 sizeof(body) - DP_CLIENT_BATCH_HDR_BYTES);
	if (n <= 0) {
		exit(1);
	}
	gen_reasm_one(dir, "request_in_40_byte_pieces", DP_FRAME_CLIENT_REQUEST, body,
		      (uint32_t)n + DP_CLIENT_BATCH_HDR_BYTES, 40);
}

/* A frame whose sender put a boot epoch in its header (version 6): the
 * frame target's re-encode must carry it over (fuzz_sender). */
static void gen_frame_epoch(const char *dir, const struct dp_wire *w, const struct dp_endpoints *a)
{
	struct dp_wire sender = *w;
	sender.boot_epoch = 1764979200u; /* a start on 2025-12-06 */
	struct raft_message m = {.type = RAFT_MSG_HEARTBEAT, .from = 1, .to = 2, .term = 5};
	m.heartbeat = (struct raft_msg_heartbeat){9, 3};
	int n = dp_wire_encode_raft(&sender, a, 1234, &m, NULL, gen_buf, sizeof(gen_buf));
	if (n <= 0) {
		exit(1);
	}
	gen_write(dir, "frame", "heartbeat_boot_epoch", 0, gen_buf, (size_t)n);
}

/* replay input: records (sender, epoch, msg_seq u16 LE): in order, a
 * reorder inside the window, duplicates, a restart (newer epoch) and an
 * older epoch, a jump past the window, eviction by a seventh sender. */
static void gen_replay(const char *dir)
{
	static const uint16_t rec[][3] = {
		{1, 5, 1}, {1, 5, 2}, {2, 5, 1}, {1, 5, 4}, {1, 5, 3}, {1, 5, 3}, {2, 5, 1},
		{1, 6, 1}, {1, 5, 9}, {1, 6, 2000}, {1, 6, 3}, {1, 6, 1999}, {3, 1, 7},
		{4, 1, 7}, {5, 1, 7}, {6, 1, 7}, {7, 1, 7}, {2, 5, 2}, {1, 6, 2000},
	};
	uint8_t out[sizeof(rec) / sizeof(rec[0]) * 4];
	for (size_t i = 0; i < sizeof(rec) / sizeof(rec[0]); i++) {
		out[4 * i] = (uint8_t)rec[i][0];
		out[4 * i + 1] = (uint8_t)rec[i][1];
		wire_st16(out + 4 * i + 2, rec[i][2]);
	}
	gen_write(dir, "replay", "window_story", out[0], out + 1, sizeof(out) - 1);
}

/* l2_answer input: an ARP request and an ICMP echo request for 10.0.0.2. */
static void gen_l2(const char *dir)
{
	uint8_t f[98];
	memset(f, 0, sizeof(f));
	memset(f, 0xff, 6);
	f[6] = 2;
	f[11] = 1;
	wire_st16_be(f + 12, 0x0806);
	uint8_t *a = f + 14;
	wire_st16_be(a, 1);
	wire_st16_be(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	wire_st16_be(a + 6, 1);
	memcpy(a + 8, f + 6, 6);
	wire_st32_be(a + 14, 0x0a000001);
	wire_st32_be(a + 24, 0x0a000002);
	gen_write(dir, "l2_answer", "arp_request", f[0], f + 1, 59);

	memset(f, 0, sizeof(f));
	f[0] = 2;
	f[5] = 2;
	f[6] = 2;
	f[11] = 1;
	wire_st16_be(f + 12, 0x0800);
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	wire_st16_be(ip + 2, 84);
	ip[8] = 64;
	ip[9] = 1;
	wire_st32_be(ip + 12, 0x0a000001);
	wire_st32_be(ip + 16, 0x0a000002);
	wire_st16_be(ip + 10, wire_ip_checksum(ip));
	uint8_t *icmp = ip + 20;
	icmp[0] = 8;
	wire_st16_be(icmp + 4, 1);
	wire_st16_be(icmp + 6, 1);
	uint32_t sum = 0;
	for (size_t i = 0; i < 64; i += 2) {
		sum += wire_ld16_be(icmp + i);
	}
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	wire_st16_be(icmp + 2, (uint16_t)~sum);
	gen_write(dir, "l2_answer", "icmp_echo_request", f[0], f + 1, 97);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	struct dp_wire_config cfg = {.cluster_id = 0xc1, .self_id = 1, .secret = gen_secret,
				     .secret_bytes = sizeof(gen_secret), .udp_port = 7400};
	struct dp_wire w;
	if (dp_wire_init(&w, &cfg) != 0 || (mkdir(argv[1], 0755) != 0 && errno != EEXIST)) {
		fprintf(stderr, "gen_seeds: cannot start\n");
		return 1;
	}
	struct dp_endpoints a = {.src_mac = {2, 0, 0, 0, 0, 1}, .dst_mac = {2, 0, 0, 0, 0, 2},
				 .src_ip = 0x0a000001, .dst_ip = 0x0a000002,
				 .src_port = 7400, .dst_port = 7400};
	gen_raft(argv[1], &w, &a);
	gen_client(argv[1], &w, &a);
	gen_snap(argv[1], &w, &a);
	gen_settings(argv[1], &w, &a);
	gen_reasm(argv[1]);
	gen_l2(argv[1]);
	gen_replay(argv[1]);
	gen_frame_epoch(argv[1], &w, &a);
	return 0;
}
