/* SPDX-License-Identifier: MIT */
/*
 * wire_frame.c - Ethernet II / IPv4 / UDP framing, the fixed raft header and
 * the tag: everything of a frame but its body.
 *
 * Parsing goes cheapest check first, so junk costs little: framing, then
 * magic, version, cluster id, recipient and lengths, and only then the tag
 * (the one check whose cost grows with the frame). Nothing here trusts a
 * length before comparing it with the bytes actually received.
 *
 * The UDP checksum is sent as zero (legal for UDP over IPv4) and not
 * verified on receive: the tag covers the raft header and body with a MAC,
 * which catches every corruption the checksum would, and some it would not.
 * The IPv4 header checksum is built and verified, since routers and the
 * kernel check it.
 */
#include <stdint.h>

#include <sodium.h>

#include "common.h"
#include "wire_internal.h"

uint16_t wire_ip_checksum(const uint8_t *ip_hdr)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < DP_IPV4_HDR_BYTES; i += 2) {
		sum += wire_ld16_be(ip_hdr + i);
	}
	while (sum >> 16) {
		sum = (sum & 0xffffu) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

/* Ethernet + IPv4 + UDP. On success *payload_bytes is the UDP payload. */
static int frame_parse_l2_l4(const struct dp_wire *w, const uint8_t *frame, size_t frame_bytes,
			     struct dp_endpoints *addr, size_t *payload_bytes)
{
	if (frame_bytes < WIRE_RAFT_OFFSET) {
		return -DP_ERR_TRUNCATED;
	}
	if (wire_ld16_be(frame + 12) != DP_ETHERTYPE_IPV4) {
		return -DP_ERR_NOT_RAFT;
	}
	const uint8_t *ip = frame + WIRE_IP_OFFSET;
	if (ip[0] != 0x45) { /* version 4, 5 words: we send no options */
		return -DP_ERR_BAD_IP;
	}
	size_t ip_total_bytes = wire_ld16_be(ip + 2);
	if (ip_total_bytes < DP_IPV4_HDR_BYTES + DP_UDP_HDR_BYTES) {
		return -DP_ERR_BAD_IP;
	}
	if (ip_total_bytes > frame_bytes - WIRE_IP_OFFSET) {
		return -DP_ERR_TRUNCATED;
	}
	if ((wire_ld16_be(ip + 6) & 0x3fffu) != 0) { /* MF or fragment offset */
		return -DP_ERR_BAD_IP;
	}
	if (ip[9] != DP_IPPROTO_UDP) {
		return -DP_ERR_NOT_RAFT;
	}
	if (wire_ip_checksum(ip) != 0) {
		return -DP_ERR_BAD_IP;
	}
	const uint8_t *udp = frame + WIRE_UDP_OFFSET;
	if (wire_ld16_be(udp + 2) != w->udp_port) {
		return -DP_ERR_NOT_RAFT;
	}
	size_t udp_bytes = wire_ld16_be(udp + 4);
	if (udp_bytes != ip_total_bytes - DP_IPV4_HDR_BYTES) {
		return -DP_ERR_BAD_UDP;
	}
	memcpy(addr->dst_mac, frame, 6);
	memcpy(addr->src_mac, frame + 6, 6);
	addr->src_ip = wire_ld32_be(ip + 12);
	addr->dst_ip = wire_ld32_be(ip + 16);
	addr->src_port = wire_ld16_be(udp);
	addr->dst_port = wire_ld16_be(udp + 2);
	*payload_bytes = udp_bytes - DP_UDP_HDR_BYTES;
	return 0;
}

static void frame_hdr_load(const uint8_t *raft, struct wire_hdr *h)
{
	h->type = raft[offsetof(struct dp_wire_hdr, type)];
	h->flags = wire_ld16(raft + offsetof(struct dp_wire_hdr, flags));
	h->from = wire_ld32(raft + offsetof(struct dp_wire_hdr, from));
	h->to = wire_ld32(raft + offsetof(struct dp_wire_hdr, to));
	h->body_bytes = wire_ld32(raft + offsetof(struct dp_wire_hdr, body_bytes));
	h->term = wire_ld64(raft + offsetof(struct dp_wire_hdr, term));
	h->msg_seq = wire_ld64(raft + offsetof(struct dp_wire_hdr, msg_seq));
	h->msg_body_bytes = wire_ld32(raft + offsetof(struct dp_wire_hdr, msg_body_bytes));
	h->frag_offset_bytes = wire_ld32(raft + offsetof(struct dp_wire_hdr, frag_offset_bytes));
	h->boot_epoch = wire_ld32(raft + offsetof(struct dp_wire_hdr, boot_epoch));
	h->key_id = wire_ld16(raft + offsetof(struct dp_wire_hdr, key_id));
	h->settings_fp = wire_ld64(raft + offsetof(struct dp_wire_hdr, settings_fp));
}

/* The three length fields against the bytes received. */
static int frame_check_lengths(const struct wire_hdr *h, size_t payload_bytes)
{
	if ((size_t)h->body_bytes != payload_bytes - DP_RAFT_HDR_BYTES - DP_TAG_BYTES ||
	    wire_frame_bytes(h->body_bytes) > DP_FRAME_BYTES_MAX) {
		return -DP_ERR_BAD_LENGTH; /* we never send more than a jumbo frame */
	}
	/* A sealed body is the plaintext's bytes plus the mac and nonce; a
	 * fragment's offset and message size count plaintext bytes. */
	uint32_t carried = h->body_bytes;
	if ((h->flags & DP_HDR_ENCRYPTED) != 0) {
		if (h->body_bytes < DP_SEAL_OVERHEAD_BYTES) {
			return -DP_ERR_BAD_LENGTH;
		}
		carried -= DP_SEAL_OVERHEAD_BYTES;
	}
	if ((h->flags & DP_HDR_FRAGMENT) == 0) {
		if (h->msg_body_bytes != h->body_bytes || h->frag_offset_bytes != 0) {
			return -DP_ERR_BAD_LENGTH;
		}
		return 0;
	}
	if (carried == 0 || (uint64_t)h->frag_offset_bytes + carried > h->msg_body_bytes) {
		return -DP_ERR_BAD_LENGTH;
	}
	return 0;
}

/* Client encryption: the frame's sealing must be what this side expects
 * (client frames sealed exactly when it is on, consensus frames never);
 * a sealed body is then opened in place and the header's lengths become
 * the plaintext's. The frame is the receiver's own buffer (a socket's or
 * an mbuf's), written only when it is sealed, which needs client
 * encryption on: the codec's const frame stays untouched otherwise. */
static int frame_unseal(const struct dp_wire *w, const uint8_t *raft, struct wire_hdr *h)
{
	bool sealed = (h->flags & DP_HDR_ENCRYPTED) != 0;
	bool client = h->type == DP_FRAME_CLIENT_REQUEST || h->type == DP_FRAME_CLIENT_REPLY;
	if (sealed != (client && w->client_seal)) {
		return -DP_ERR_SEAL_MISMATCH;
	}
	if (!sealed) {
		return 0;
	}
	int rc = wire_seal_open(w, (uint8_t *)(uintptr_t)raft, h->body_bytes);
	if (rc != 0) {
		return rc;
	}
	h->body_bytes -= DP_SEAL_OVERHEAD_BYTES;
	if ((h->flags & DP_HDR_FRAGMENT) == 0) {
		h->msg_body_bytes = h->body_bytes;
	}
	return 0;
}

int wire_frame_parse(const struct dp_wire *w, const uint8_t *frame, size_t frame_bytes,
		     struct wire_view *v)
{
	size_t payload_bytes = 0;

	RN_ASSERT(w != NULL && v != NULL);
	RN_ASSERT(frame != NULL || frame_bytes == 0);
	int rc = frame_parse_l2_l4(w, frame, frame_bytes, &v->addr, &payload_bytes);
	if (rc != 0) {
		return rc;
	}
	return wire_payload_parse(w, frame + WIRE_RAFT_OFFSET, payload_bytes, v);
}

int wire_payload_parse(const struct dp_wire *w, const uint8_t *raft, size_t payload_bytes,
		       struct wire_view *v)
{
	RN_ASSERT(w != NULL && v != NULL);
	RN_ASSERT(raft != NULL || payload_bytes == 0);
	if (payload_bytes < DP_RAFT_HDR_BYTES + DP_TAG_BYTES) {
		return -DP_ERR_TRUNCATED;
	}
	if (wire_ld32(raft + offsetof(struct dp_wire_hdr, magic)) != DP_WIRE_MAGIC) {
		return -DP_ERR_BAD_MAGIC;
	}
	if (raft[offsetof(struct dp_wire_hdr, version)] != DP_WIRE_VERSION) {
		return -DP_ERR_BAD_VERSION;
	}
	if (wire_ld32(raft + offsetof(struct dp_wire_hdr, cluster_id)) != w->cluster_id) {
		return -DP_ERR_WRONG_CLUSTER;
	}
	frame_hdr_load(raft, &v->hdr);
	if ((v->hdr.flags & ~DP_HDR_FLAGS_KNOWN) != 0 ||
	    wire_ld16(raft + offsetof(struct dp_wire_hdr, reserved)) != 0) {
		return -DP_ERR_BAD_VERSION; /* a feature this version lacks */
	}
	if (v->hdr.to != w->self_id) {
		return -DP_ERR_WRONG_RECIPIENT;
	}
	int rc = frame_check_lengths(&v->hdr, payload_bytes);
	if (rc != 0) {
		return rc;
	}
	size_t signed_bytes = DP_RAFT_HDR_BYTES + v->hdr.body_bytes;
	if (!w->auth_off) {
		/* A sealed body's trailer (its mac, checked in turn when it is
		 * opened, its key nonce and counter) stands for the body
		 * (wire_seal.c). */
		const uint8_t *digest = NULL;
		if ((v->hdr.flags & DP_HDR_ENCRYPTED) != 0) {
			RN_ASSERT(v->hdr.body_bytes >= DP_SEAL_OVERHEAD_BYTES); /* lengths checked */
			digest = raft + signed_bytes - DP_SEAL_OVERHEAD_BYTES;
		}
		rc = wire_keys_verify(w, v->hdr.type, v->hdr.key_id, raft, signed_bytes, digest,
				      DP_SEAL_OVERHEAD_BYTES);
		if (rc != 0) {
			return rc;
		}
	}
	rc = frame_unseal(w, raft, &v->hdr);
	if (rc != 0) {
		return rc;
	}
	v->body = raft + DP_RAFT_HDR_BYTES;
	return 0;
}

static void frame_hdr_store(const struct dp_wire *w, const struct wire_hdr *h, uint8_t *raft)
{
	wire_st32(raft + offsetof(struct dp_wire_hdr, magic), DP_WIRE_MAGIC);
	raft[offsetof(struct dp_wire_hdr, version)] = DP_WIRE_VERSION;
	raft[offsetof(struct dp_wire_hdr, type)] = h->type;
	wire_st16(raft + offsetof(struct dp_wire_hdr, flags), h->flags);
	wire_st32(raft + offsetof(struct dp_wire_hdr, cluster_id), w->cluster_id);
	wire_st32(raft + offsetof(struct dp_wire_hdr, from), h->from);
	wire_st32(raft + offsetof(struct dp_wire_hdr, to), h->to);
	wire_st32(raft + offsetof(struct dp_wire_hdr, body_bytes), h->body_bytes);
	wire_st64(raft + offsetof(struct dp_wire_hdr, term), h->term);
	wire_st64(raft + offsetof(struct dp_wire_hdr, msg_seq), h->msg_seq);
	wire_st32(raft + offsetof(struct dp_wire_hdr, msg_body_bytes), h->msg_body_bytes);
	wire_st32(raft + offsetof(struct dp_wire_hdr, frag_offset_bytes), h->frag_offset_bytes);
	wire_st32(raft + offsetof(struct dp_wire_hdr, boot_epoch), w->boot_epoch);
	wire_st16(raft + offsetof(struct dp_wire_hdr, key_id), h->key_id);
	wire_st16(raft + offsetof(struct dp_wire_hdr, reserved), 0);
	wire_st64(raft + offsetof(struct dp_wire_hdr, settings_fp), w->settings_fp);
}

void wire_frame_headers(const struct dp_wire *w, const struct dp_endpoints *addr,
			const struct wire_hdr *hdr, uint8_t *buf)
{
	size_t frame_bytes = wire_frame_bytes(hdr->body_bytes);
	RN_ASSERT(frame_bytes <= DP_FRAME_BYTES_MAX);
	RN_ASSERT(hdr->body_bytes <= hdr->msg_body_bytes ||
		  (hdr->flags & DP_HDR_ENCRYPTED) != 0); /* a sealed fragment's counts plaintext */

	memcpy(buf, addr->dst_mac, 6);
	memcpy(buf + 6, addr->src_mac, 6);
	wire_st16_be(buf + 12, DP_ETHERTYPE_IPV4);

	uint8_t *ip = buf + WIRE_IP_OFFSET;
	ip[0] = 0x45;
	ip[1] = 0;
	wire_st16_be(ip + 2, (uint16_t)(frame_bytes - WIRE_IP_OFFSET));
	wire_st16_be(ip + 4, 0);       /* id: unused, DF is set */
	wire_st16_be(ip + 6, 0x4000u); /* DF */
	ip[8] = WIRE_IP_TTL;
	ip[9] = DP_IPPROTO_UDP;
	wire_st16_be(ip + 10, 0);
	wire_st32_be(ip + 12, addr->src_ip);
	wire_st32_be(ip + 16, addr->dst_ip);
	wire_st16_be(ip + 10, wire_ip_checksum(ip));

	uint8_t *udp = buf + WIRE_UDP_OFFSET;
	wire_st16_be(udp, addr->src_port);
	wire_st16_be(udp + 2, addr->dst_port);
	wire_st16_be(udp + 4, (uint16_t)(frame_bytes - WIRE_UDP_OFFSET));
	wire_st16_be(udp + 6, 0); /* no UDP checksum: the tag covers the payload */

	frame_hdr_store(w, hdr, buf + WIRE_RAFT_OFFSET);
}

size_t wire_frame_seal(const struct dp_wire *w, const struct dp_endpoints *addr,
		       const struct wire_hdr *hdr, uint8_t *buf)
{
	struct wire_hdr h = *hdr;
	uint8_t key[DP_KEY_BYTES];
	wire_keys_seal(w, h.type, addr->key_id, key, &h.key_id);
	bool sealed = wire_seal_applies(w, h.type);
	if (sealed) {
		/* The caller left room (dp_wire_client_frame_bytes_max). */
		h.flags |= DP_HDR_ENCRYPTED;
		h.body_bytes += DP_SEAL_OVERHEAD_BYTES;
		if ((h.flags & DP_HDR_FRAGMENT) == 0) {
			h.msg_body_bytes = h.body_bytes;
		}
	}
	wire_frame_headers(w, addr, &h, buf);
	uint8_t *raft = buf + WIRE_RAFT_OFFSET;
	if (sealed) {
		wire_seal_body(w, raft, hdr->body_bytes);
	}
	size_t signed_bytes = DP_RAFT_HDR_BYTES + h.body_bytes;
	if (w->auth_off) {
		memset(raft + signed_bytes, 0, DP_TAG_BYTES); /* benchmark only */
	} else if (sealed) {
		/* The trailer (mac, key nonce, counter) stands for the body:
		 * no second pass over it. */
		wire_auth_tag_parts(key, raft, raft + signed_bytes - DP_SEAL_OVERHEAD_BYTES,
				    DP_SEAL_OVERHEAD_BYTES, raft + signed_bytes);
	} else {
		wire_auth_tag(key, raft, signed_bytes, raft + signed_bytes);
	}
	sodium_memzero(key, sizeof(key));
	return wire_frame_bytes(h.body_bytes);
}
