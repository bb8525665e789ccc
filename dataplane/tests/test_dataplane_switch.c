/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_switch.c - rn_memif_switch's forwarding decision
 * (dataplane/tools/switch_fwd.c): MAC learning, unicast, flooding that
 * never returns to the ingress port nor goes to a port whose link is down,
 * and the fault rules (parse errors, one-way cuts, wildcards, loss rates).
 *
 * Method: a 4-port switch (port 0 the kernel's, 1..3 memif) fed frames
 * built byte by byte; each test checks the egress set and the counter that
 * names each drop. Loss is checked statistically over 20,000 frames with
 * a seeded PRNG, so the test is deterministic.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "switch.h"

#define T_PORTS 4u
#define T_ALL ((sw_port_mask)0xf)

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x01}; /* behind port 1 */
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x02}; /* behind port 2 */
static const uint8_t mac_k[6] = {0x02, 0xee, 0, 0, 0, 0x10}; /* the kernel, port 0 */
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static struct sw_fwd fwd;

static sw_port_mask send(uint32_t in, const uint8_t *dst, const uint8_t *src)
{
	uint8_t frame[60] = {0};
	memcpy(frame, dst, 6);
	memcpy(frame + 6, src, 6);
	frame[12] = 0x08; /* IPv4: the switch does not care */
	return sw_fwd_frame(&fwd, in, frame, sizeof(frame));
}

static int setup(void **state)
{
	(void)state;
	sw_fwd_init(&fwd, T_PORTS, T_ALL, 42);
	fwd.up = T_ALL;
	return 0;
}

static void test_learn_and_forward(void **state)
{
	(void)state;
	/* Broadcast from A floods every other port and teaches A's port. */
	assert_int_equal(send(1, bcast, mac_a), 0xd);
	assert_int_equal(sw_mac_lookup(&fwd.macs, mac_a), 1);
	/* Unknown unicast (B not yet seen) floods too, but not back to 1. */
	assert_int_equal(send(1, mac_b, mac_a), 0xd);
	assert_int_equal(fwd.counters.unknown_unicast, 1);
	/* B answers: known unicast to port 1 only. */
	assert_int_equal(send(2, mac_a, mac_b), 1u << 1);
	assert_int_equal(send(1, mac_b, mac_a), 1u << 2);
	/* A frame for a MAC behind its own ingress port is dropped. */
	assert_int_equal(send(1, mac_a, mac_k), 0);
	assert_int_equal(fwd.counters.hairpin, 1);
	/* A moves to port 3 (a node restarted elsewhere): newest wins. */
	assert_int_equal(send(3, bcast, mac_a), 0x7);
	assert_int_equal(sw_mac_lookup(&fwd.macs, mac_a), 3);
	assert_int_equal(fwd.counters.mac_moves, 1);
}

static void test_link_down_and_runts(void **state)
{
	(void)state;
	send(2, bcast, mac_b);
	fwd.up = T_ALL & ~(1u << 2); /* node 2's client went away */
	assert_int_equal(send(0, bcast, mac_k), 0x2 | 0x8);
	assert_int_equal(send(0, mac_b, mac_k), 0);
	assert_int_equal(fwd.counters.link_down, 1);
	uint8_t runt[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	assert_int_equal(sw_fwd_frame(&fwd, 1, runt, sizeof(runt)), 0);
	assert_int_equal(fwd.counters.runts, 1);
	/* Group or zero sources are never learned. */
	uint8_t zero[6] = {0};
	send(1, bcast, zero);
	send(1, bcast, bcast);
	assert_int_equal(fwd.macs.count, 2); /* B and K */
}

static void test_rules_parse(void **state)
{
	(void)state;
	struct sw_rules r;
	char err[160];
	const char *text = "# partition\ncut 1 2\n\n  loss * 3 50   # towards node 3\n"
			   "loss 2 1 10\nloss 2 1 30\n";
	assert_int_equal(sw_rules_parse(text, T_PORTS, &r, err, sizeof(err)), 0);
	assert_int_equal(r.rules_count, 4);
	assert_int_equal(r.drop_pct[1][2], SW_PCT_CUT);
	assert_int_equal(r.drop_pct[2][1], 30); /* the largest wins */
	assert_int_equal(r.drop_pct[0][3], 50);
	assert_int_equal(r.drop_pct[1][3], 50);
	assert_int_equal(r.drop_pct[3][3], 0); /* never a pair with itself */
	assert_int_equal(r.drop_pct[0][1], 0);
	assert_int_equal(sw_rules_parse("", T_PORTS, &r, err, sizeof(err)), 0);
	assert_int_equal(r.rules_count, 0);

	static const struct {
		const char *text;
		const char *want;
	} bad[] = {
		{"cut 1\n", "line 1"},
		{"cut 1 2\ncut 1 4\n", "line 2"}, /* 4 ports: 0..3 */
		{"loss 1 2 101\n", "0..100"},
		{"loss 1 2\n", "loss SRC DST PCT"},
		{"cut 1 2 3\n", "cut SRC DST"},
		{"drop 1 2\n", "unknown rule"},
		{"cut x 2\n", "a port"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sw_rules keep = {.rules_count = 77};
		assert_int_equal(sw_rules_parse(bad[i].text, T_PORTS, &keep, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, bad[i].want));
		assert_int_equal(keep.rules_count, 77); /* untouched on error */
	}
}

static void test_cut_one_way(void **state)
{
	(void)state;
	char err[160];
	send(1, bcast, mac_a);
	send(2, bcast, mac_b);
	assert_int_equal(sw_rules_parse("cut 1 2\n", T_PORTS, &fwd.rules, err, sizeof(err)), 0);
	assert_int_equal(send(1, mac_b, mac_a), 0);
	assert_int_equal(fwd.counters.cut, 1);
	assert_int_equal(send(2, mac_a, mac_b), 1u << 1); /* the other way still goes */
	assert_int_equal(send(1, bcast, mac_a), 0x9);	  /* floods skip the cut pair */
	assert_int_equal(send(0, mac_b, mac_k), 1u << 2); /* clients still reach 2 */
}

static void test_loss_rate(void **state)
{
	(void)state;
	char err[160];
	send(2, bcast, mac_b);
	assert_int_equal(sw_rules_parse("loss * 2 25\n", T_PORTS, &fwd.rules, err, sizeof(err)),
			 0);
	uint32_t passed = 0;
	for (int i = 0; i < 20000; i++) {
		passed += send(0, mac_b, mac_k) == (1u << 2) ? 1u : 0u;
	}
	assert_in_range(passed, 14500, 15500);
	assert_int_equal(fwd.counters.lost, 20000 - passed);
}

static void test_table_full(void **state)
{
	(void)state;
	uint8_t mac[6] = {0x02, 0x11, 0, 0, 0, 0};
	for (uint32_t i = 0; i < SW_MACS_MAX + 10; i++) {
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		send(1 + i % 3, bcast, mac);
	}
	assert_int_equal(fwd.macs.count, SW_MACS_MAX);
	assert_int_equal(fwd.counters.table_full, 10);
	/* A MAC not learned still gets its frames, by flooding. */
	assert_int_equal(send(0, mac, mac_k), 0xe);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_learn_and_forward, setup),
		cmocka_unit_test_setup(test_link_down_and_runts, setup),
		cmocka_unit_test_setup(test_rules_parse, setup),
		cmocka_unit_test_setup(test_cut_one_way, setup),
		cmocka_unit_test_setup(test_loss_rate, setup),
		cmocka_unit_test_setup(test_table_full, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
