/* SPDX-License-Identifier: MIT */
/*
 * l2_answer.c - the node answers ARP requests for its address and ICMP echo
 * requests to it, so `ping`, `arp` and kernel UDP sockets on other hosts
 * reach a DPDK port that has no kernel stack behind it.
 *
 * Works in place on a received frame on plain bytes (no DPDK): when the frame
 * deserves an answer it is rewritten into that answer and its new length is
 * returned, ready to be sent back from the same buffer (on DPDK: the same
 * mbuf, no allocation, no copy). Every field is validated before the first
 * byte is written, so a frame that gets no answer is left untouched.
 */
#include "common.h"
#include "wire_internal.h"

#define L2_ETHERTYPE_ARP 0x0806u
#define L2_ARP_BYTES 28u
#define L2_IPPROTO_ICMP 1u
#define L2_ICMP_ECHO_REQUEST 8u
#define L2_ICMP_ECHO_REPLY 0u
#define L2_ICMP_HDR_BYTES 8u

/* RFC 1071 ones' complement sum of `bytes` bytes (an odd tail is padded). */
static uint16_t l2_checksum(const uint8_t *p, size_t bytes)
{
	uint64_t sum = 0;
	size_t i = 0;
	for (; i + 1 < bytes; i += 2) {
		sum += wire_ld16_be(p + i);
	}
	if (i < bytes) {
		sum += (uint32_t)p[i] << 8;
	}
	while (sum >> 16) {
		sum = (sum & 0xffffu) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

static size_t l2_arp(const struct dp_host *host, uint8_t *f, size_t frame_bytes)
{
	if (frame_bytes < DP_ETH_HDR_BYTES + L2_ARP_BYTES) {
		return 0;
	}
	uint8_t *arp = f + DP_ETH_HDR_BYTES;
	if (wire_ld16_be(arp) != 1 || wire_ld16_be(arp + 2) != DP_ETHERTYPE_IPV4 ||
	    arp[4] != 6 || arp[5] != 4 || wire_ld16_be(arp + 6) != 1 /* request */) {
		return 0;
	}
	if (wire_ld32_be(arp + 24) != host->ip) {
		return 0;
	}
	uint8_t asker_mac[6];
	uint8_t asker_ip[4];
	memcpy(asker_mac, arp + 8, 6);
	memcpy(asker_ip, arp + 14, 4);
	memcpy(f, asker_mac, 6);
	memcpy(f + 6, host->mac, 6);
	wire_st16_be(arp + 6, 2); /* reply */
	memcpy(arp + 8, host->mac, 6);
	wire_st32_be(arp + 14, host->ip);
	memcpy(arp + 18, asker_mac, 6);
	memcpy(arp + 24, asker_ip, 4);
	/* The reply is as long as the request, padding included: a request
	 * padded to the 60-byte Ethernet minimum gets a padded reply. An
	 * unpadded one (42 bytes, as a veth may deliver it) gets 42 back. */
	return frame_bytes;
}

static size_t l2_icmp_echo(const struct dp_host *host, uint8_t *f, size_t frame_bytes)
{
	if (frame_bytes < DP_ETH_HDR_BYTES + DP_IPV4_HDR_BYTES + L2_ICMP_HDR_BYTES) {
		return 0;
	}
	uint8_t *ip = f + DP_ETH_HDR_BYTES;
	size_t ihl_bytes = (size_t)(ip[0] & 0x0fu) * 4;
	size_t total_bytes = wire_ld16_be(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl_bytes < DP_IPV4_HDR_BYTES ||
	    total_bytes < ihl_bytes + L2_ICMP_HDR_BYTES ||
	    total_bytes > frame_bytes - DP_ETH_HDR_BYTES) {
		return 0;
	}
	if ((wire_ld16_be(ip + 6) & 0x3fffu) != 0 || ip[9] != L2_IPPROTO_ICMP ||
	    wire_ld32_be(ip + 16) != host->ip || l2_checksum(ip, ihl_bytes) != 0) {
		return 0;
	}
	uint8_t *icmp = ip + ihl_bytes;
	size_t icmp_bytes = total_bytes - ihl_bytes;
	if (icmp[0] != L2_ICMP_ECHO_REQUEST || icmp[1] != 0 || l2_checksum(icmp, icmp_bytes) != 0) {
		return 0;
	}
	uint8_t mac[6];
	memcpy(mac, f + 6, 6);
	memcpy(f, mac, 6);
	memcpy(f + 6, host->mac, 6);
	uint32_t asker_ip = wire_ld32_be(ip + 12);
	wire_st32_be(ip + 12, host->ip);
	wire_st32_be(ip + 16, asker_ip);
	ip[8] = WIRE_IP_TTL;
	wire_st16_be(ip + 10, 0);
	wire_st16_be(ip + 10, l2_checksum(ip, ihl_bytes));
	icmp[0] = L2_ICMP_ECHO_REPLY;
	wire_st16_be(icmp + 2, 0);
	wire_st16_be(icmp + 2, l2_checksum(icmp, icmp_bytes));
	return DP_ETH_HDR_BYTES + total_bytes;
}

size_t dp_l2_answer(const struct dp_host *host, uint8_t *frame, size_t frame_bytes)
{
	RN_ASSERT(host != NULL);
	RN_ASSERT(frame != NULL || frame_bytes == 0);
	if (frame_bytes < DP_ETH_HDR_BYTES) {
		return 0;
	}
	switch (wire_ld16_be(frame + 12)) {
	case L2_ETHERTYPE_ARP: return l2_arp(host, frame, frame_bytes);
	case DP_ETHERTYPE_IPV4: return l2_icmp_echo(host, frame, frame_bytes);
	default: return 0;
	}
}
