/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_l2_answer.c - ARP requests for our address and ICMP echo
 * requests to it are answered in place; everything else is left untouched.
 *
 * Method: build the request frames byte by byte as a kernel sends them,
 * answer them, and check the reply field by field (addresses swapped,
 * checksums valid). Then a series of near-misses (other address, ARP
 * reply, bad checksum, truncation, fragment) must return 0 and leave every
 * byte as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"
#include "wire_internal.h"
#include "wire_util.h"

static const struct dp_host host = {.mac = {0x02, 0xaa, 0, 0, 0, 2}, .ip = 0x0a000002u};
static const uint8_t peer_mac[6] = {0x02, 0xbb, 0, 0, 0, 1};
#define PEER_IP 0x0a000001u

static uint16_t csum(const uint8_t *p, size_t bytes)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < bytes; i += 2) {
		sum += wire_ld16_be(p + i);
	}
	if (bytes % 2) {
		sum += (uint32_t)p[bytes - 1] << 8;
	}
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

static size_t arp_request(uint8_t *f, uint32_t target_ip)
{
	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, peer_mac, 6);
	wire_st16_be(f + 12, 0x0806);
	uint8_t *a = f + 14;
	wire_st16_be(a, 1);
	wire_st16_be(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	wire_st16_be(a + 6, 1);
	memcpy(a + 8, peer_mac, 6);
	wire_st32_be(a + 14, PEER_IP);
	wire_st32_be(a + 24, target_ip);
	return 60; /* padded to the Ethernet minimum */
}

static size_t echo_request(uint8_t *f, uint32_t dst_ip, size_t data_bytes)
{
	memcpy(f, host.mac, 6);
	memcpy(f + 6, peer_mac, 6);
	wire_st16_be(f + 12, 0x0800);
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	wire_st16_be(ip + 2, (uint16_t)(20 + 8 + data_bytes));
	wire_st16_be(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 1;
	wire_st32_be(ip + 12, PEER_IP);
	wire_st32_be(ip + 16, dst_ip);
	wire_st16_be(ip + 10, csum(ip, 20));
	uint8_t *icmp = ip + 20;
	memset(icmp, 0, 8);
	icmp[0] = 8;
	wire_st16_be(icmp + 4, 0x1234);
	wire_st16_be(icmp + 6, 7);
	for (size_t i = 0; i < data_bytes; i++) {
		icmp[8 + i] = (uint8_t)i;
	}
	wire_st16_be(icmp + 2, csum(icmp, 8 + data_bytes));
	return 14 + 20 + 8 + data_bytes;
}

static void test_arp_reply(void **state)
{
	(void)state;
	uint8_t f[64];
	size_t n = arp_request(f, host.ip);
	assert_int_equal(dp_l2_answer(&host, f, n), n);
	assert_memory_equal(f, peer_mac, 6);
	assert_memory_equal(f + 6, host.mac, 6);
	const uint8_t *a = f + 14;
	assert_int_equal(wire_ld16_be(a + 6), 2);
	assert_memory_equal(a + 8, host.mac, 6);
	assert_int_equal(wire_ld32_be(a + 14), host.ip);
	assert_memory_equal(a + 18, peer_mac, 6);
	assert_int_equal(wire_ld32_be(a + 24), PEER_IP);
}

static void test_echo_reply(void **state)
{
	(void)state;
	uint8_t f[1600];
	for (size_t data = 0; data <= 1400; data += 1400 / 4 + 1) { /* odd sizes too */
		size_t n = echo_request(f, host.ip, data);
		assert_int_equal(dp_l2_answer(&host, f, n), n);
		const uint8_t *ip = f + 14;
		assert_memory_equal(f, peer_mac, 6);
		assert_int_equal(wire_ld32_be(ip + 12), host.ip);
		assert_int_equal(wire_ld32_be(ip + 16), PEER_IP);
		assert_int_equal(csum(ip, 20), 0);
		const uint8_t *icmp = ip + 20;
		assert_int_equal(icmp[0], 0);
		assert_int_equal(wire_ld16_be(icmp + 4), 0x1234);
		assert_int_equal(csum(icmp, 8 + data), 0);
		for (size_t i = 0; i < data; i++) {
			assert_int_equal(icmp[8 + i], (uint8_t)i);
		}
	}
}

/* Each near-miss returns 0 and leaves the frame as it was. */
static void test_not_answered(void **state)
{
	(void)state;
	uint8_t f[256], copy[256];
	for (int c = 0; c < 12; c++) {
		size_t n;
		if (c < 4) {
			n = arp_request(f, c == 0 ? host.ip + 1 : host.ip);
			if (c == 1) {
				wire_st16_be(f + 14 + 6, 2); /* an ARP reply */
			} else if (c == 2) {
				f[14 + 4] = 8; /* hardware address length */
			} else if (c == 3) {
				n = 14 + 27; /* truncated */
			}
		} else {
			n = echo_request(f, c == 4 ? host.ip + 1 : host.ip, 32);
			uint8_t *ip = f + 14;
			switch (c) {
			case 5: ip[10] ^= 1; break;		/* IP checksum */
			case 6: ip[20 + 2] ^= 1; break;		/* ICMP checksum */
			case 7: ip[20] = 13; break;		/* not an echo request */
			case 8: n -= 1; break;			/* truncated */
			case 9: wire_st16_be(ip + 6, 0x2000);	/* a fragment */
				wire_st16_be(ip + 10, 0);
				wire_st16_be(ip + 10, csum(ip, 20));
				break;
			case 10: ip[9] = 17; break;		/* UDP */
			case 11: n = 10; break;			/* shorter than Ethernet */
			default: break;
			}
		}
		memcpy(copy, f, sizeof(f));
		assert_int_equal(dp_l2_answer(&host, f, n), 0);
		assert_memory_equal(f, copy, sizeof(f));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp_reply),
		cmocka_unit_test(test_echo_reply),
		cmocka_unit_test(test_not_answered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
