/* SPDX-License-Identifier: MIT */
/*
 * fuzz_wire_frame.c - libFuzzer target for dp_wire_decode, the whole receive
 * path: framing, header, tag, and every body decoder behind it.
 *
 * Random bytes almost never carry a valid tag, so unless the first input
 * byte says otherwise the target "fixes up" the frame first: it rewrites
 * the IPv4 checksum and the tag where the frame's own (fuzzed) lengths put
 * them, with the key the decoder uses. That lets the fuzzer reach the body
 * decoders; the un-fixed inputs keep the tag check itself under fuzz. Bit
 * 1 of that byte decodes with client encryption on (sealed client frames
 * opened in place, the AEAD's refusals and the seal_mismatch path).
 *
 * Oracle beyond "no crash, no sanitizer report": a raft frame (or a
 * snapshot chunk or ack, or a SETTINGS frame) that decodes must re-encode
 * to exactly the same raft header, body and tag bytes, the version 6
 * header fields (boot epoch, key id, settings fingerprint) as decoded. The
 * decoder accepting something the encoder would never produce (or losing a
 * field) shows up as a mismatch and aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire_internal.h"

#define FUZZ_ENTRIES_MAX 64u

static struct dp_wire fuzz_rx;
/* The same node with client encryption on (mode bit 1): sealed client
 * frames are opened in place (wire_seal.c), plaintext ones refused. */
static struct dp_wire fuzz_rx_sealed;
static int fuzz_ready;
static uint8_t fuzz_frame[DP_FRAME_BYTES_MAX + 64];
static uint8_t fuzz_again[DP_FRAME_BYTES_MAX + 64];
static struct raft_entry fuzz_entries[FUZZ_ENTRIES_MAX];
static const uint8_t *fuzz_payloads[FUZZ_ENTRIES_MAX];
static uint8_t fuzz_conf[FUZZ_ENTRIES_MAX][DP_CONF_ENTRY_BYTES];

static const uint8_t fuzz_secret[32] = "raftnode fuzz secret, 32 bytes!";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_init(void)
{
	struct dp_wire_config cfg = {
		.cluster_id = 0xc1,
		.self_id = 2,
		.secret = fuzz_secret,
		.secret_bytes = sizeof(fuzz_secret),
		.udp_port = 7400,
	};
	if (dp_wire_init(&fuzz_rx, &cfg) != 0 || dp_wire_init(&fuzz_rx_sealed, &cfg) != 0 ||
	    dp_wire_set_client_seal(&fuzz_rx_sealed, true) != 0) {
		abort();
	}
	fuzz_ready = 1;
}

static void fuzz_fixup(uint8_t *f, size_t bytes)
{
	if (bytes >= WIRE_UDP_OFFSET) {
		uint8_t *ip = f + WIRE_IP_OFFSET;
		wire_st16_be(ip + 10, 0);
		wire_st16_be(ip + 10, wire_ip_checksum(ip));
	}
	if (bytes < WIRE_BODY_OFFSET) {
		return;
	}
	uint8_t *raft = f + WIRE_RAFT_OFFSET;
	uint64_t body_bytes = wire_ld32(raft + offsetof(struct dp_wire_hdr, body_bytes));
	if (WIRE_BODY_OFFSET + body_bytes + DP_TAG_BYTES <= bytes) {
		size_t signed_bytes = DP_RAFT_HDR_BYTES + (size_t)body_bytes;
		/* The one key a plain secret gives has id 0: name it, or
		 * every input stops at unknown_key before the body. */
		wire_st16(raft + offsetof(struct dp_wire_hdr, key_id), 0);
		wire_auth_tag_frame((const uint8_t *)fuzz_rx.own.slots[0].key_words, raft, signed_bytes);
	}
}

/* A codec that seals as the decoded frame's sender did: its header's
 * version 6 fields as the frame carried them. */
static struct dp_wire fuzz_sender(const struct dp_rx_frame *out, raft_node_id from)
{
	struct dp_wire sender = fuzz_rx;
	sender.self_id = from;
	sender.boot_epoch = out->boot_epoch;
	sender.settings_fp = out->settings_fp;
	return sender;
}

/* A decoded raft message re-encodes to the same raft bytes. */
static void fuzz_check_reencode(const struct dp_rx_frame *out, const uint8_t *f)
{
	const struct raft_message *m = &out->raft;
	if (m->type == RAFT_MSG_APPEND) {
		for (uint32_t i = 0; i < m->append.entries_count; i++) {
			const struct raft_entry *e = &m->append.entries[i];
			fuzz_payloads[i] = (const uint8_t *)(uintptr_t)e->payload;
			/* A config entry's payload is its value: its record
			 * stays in the frame. */
			if (e->type == RAFT_ENTRY_CONFIG &&
			    dp_wire_append_conf(out, e->index, fuzz_conf[i]) != 0) {
				abort();
			}
			if (e->type == RAFT_ENTRY_CONFIG) {
				fuzz_payloads[i] = fuzz_conf[i];
			}
		}
	}
	struct dp_wire sender = fuzz_sender(out, m->from);
	int n = dp_wire_encode_raft(&sender, &out->addr, out->msg_seq, m, fuzz_payloads,
				    fuzz_again, sizeof(fuzz_again));
	if (n <= 0) {
		abort(); /* a decoded frame always fits again */
	}
	size_t raft_bytes = (size_t)n - WIRE_RAFT_OFFSET;
	if (memcmp(fuzz_again + WIRE_RAFT_OFFSET, f + WIRE_RAFT_OFFSET, raft_bytes) != 0) {
		abort();
	}
}

/* A decoded snapshot chunk or ack, or SETTINGS frame, re-encodes to the
 * same raft bytes (the encoder signs as its own node: a codec copy that is
 * the sender). */
static void fuzz_check_snap(const struct dp_rx_frame *out, const uint8_t *f)
{
	struct dp_wire sender;
	int n;
	if (out->type == DP_FRAME_SETTINGS) {
		sender = fuzz_sender(out, out->settings.from);
		n = dp_wire_encode_settings(&sender, &out->addr, out->msg_seq, fuzz_rx.self_id,
					    out->settings.text, out->settings.text_bytes, fuzz_again,
					    sizeof(fuzz_again));
	} else if (out->type == DP_FRAME_SNAP_CHUNK) {
		sender = fuzz_sender(out, out->snap_chunk.from);
		n = dp_wire_encode_snap_chunk(&sender, &out->addr, out->msg_seq, fuzz_rx.self_id,
					      out->snap_chunk.term, &out->snap_chunk, fuzz_again,
					      sizeof(fuzz_again));
	} else {
		sender = fuzz_sender(out, out->snap_ack.from);
		n = dp_wire_encode_snap_ack(&sender, &out->addr, out->msg_seq, fuzz_rx.self_id,
					    out->snap_ack.term, &out->snap_ack, fuzz_again,
					    sizeof(fuzz_again));
	}
	if (n <= 0) {
		abort(); /* a decoded frame always fits again */
	}
	size_t raft_bytes = (size_t)n - WIRE_RAFT_OFFSET;
	if (memcmp(fuzz_again + WIRE_RAFT_OFFSET, f + WIRE_RAFT_OFFSET, raft_bytes) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fuzz_ready) {
		fuzz_init();
	}
	if (size < 1 || size - 1 > sizeof(fuzz_frame)) {
		return 0;
	}
	uint8_t mode = data[0];
	size_t bytes = size - 1;
	memcpy(fuzz_frame, data + 1, bytes);
	if ((mode & 1) == 0) {
		fuzz_fixup(fuzz_frame, bytes);
	}
	struct dp_rx_frame out;
	struct dp_wire *rx = (mode & 2) != 0 ? &fuzz_rx_sealed : &fuzz_rx;
	int rc = dp_wire_decode(rx, fuzz_frame, bytes, fuzz_entries, FUZZ_ENTRIES_MAX, &out);
	if (rc == 0 && wire_raft_type_known(out.type)) {
		fuzz_check_reencode(&out, fuzz_frame);
	} else if (rc == 0 && (out.type == DP_FRAME_SNAP_CHUNK || out.type == DP_FRAME_SNAP_ACK ||
			       out.type == DP_FRAME_SETTINGS)) {
		fuzz_check_snap(&out, fuzz_frame);
	}
	return 0;
}
