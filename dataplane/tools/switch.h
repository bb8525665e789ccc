/* SPDX-License-Identifier: MIT */
/*
 * switch.h - the forwarding logic of rn_memif_switch, kept free of DPDK so
 * it is unit-tested on plain bytes (tests: test_dataplane_switch.c).
 *
 * A port is a number: 0 is the kernel-facing port, 1..n the memif ports in
 * the order given on the command line (cluster.sh gives node i's socket as
 * the i-th, so port i is node i). The switch learns source MAC -> port,
 * sends known unicast to its port, floods broadcast, multicast and unknown
 * unicast to every other port whose link is up, and never sends a frame
 * back out of the port it came in by.
 *
 * Faults are a matrix by (ingress, egress) port pair: the percentage of
 * frames dropped, 100 meaning "cut". It is loaded from a rules file (one
 * rule a line, '#' starts a comment):
 *
 *     cut SRC DST          frames entering at port SRC never leave by DST
 *     loss SRC DST PCT     PCT % (0..100) of them are dropped at random
 *
 * SRC and DST are port numbers or '*' (every port). A symmetric cut is two
 * rules; a one-way cut is one. Several rules on one pair: the largest
 * percentage wins. An empty file heals everything.
 */
#ifndef RN_SWITCH_H
#define RN_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kernel port + up to 16 nodes (RAFT_NODES_MAX) fit with room to spare;
 * a port set is one uint32_t bit mask. */
#define SW_PORTS_MAX 32u
#define SW_PORT_KERNEL 0u
/* Learned MACs: open addressing, a power of two, at most 3/4 full. */
#define SW_MACS_SLOTS 256u
#define SW_MACS_MAX (SW_MACS_SLOTS / 4u * 3u)
#define SW_PCT_CUT 100u
/* Bytes of a rules file the switch reads; a longer one is refused. */
#define SW_RULES_BYTES_MAX 65536u

typedef uint32_t sw_port_mask;
_Static_assert(SW_PORTS_MAX <= 8 * sizeof(sw_port_mask), "a port set is one bit mask");
_Static_assert((SW_MACS_SLOTS & (SW_MACS_SLOTS - 1)) == 0, "MAC slots: a power of two");

struct sw_rules {
	uint8_t drop_pct[SW_PORTS_MAX][SW_PORTS_MAX]; /* [ingress][egress], 0..100 */
	uint32_t rules_count;
};

/* Parses a rules file's text for a switch of ports_count ports. 0, or
 * -EINVAL with errmsg naming the line; *out is only written on success. */
int sw_rules_parse(const char *text, uint32_t ports_count, struct sw_rules *out, char *errmsg,
		   size_t errmsg_bytes);

struct sw_mac_table {
	uint64_t key[SW_MACS_SLOTS]; /* MAC in the low 48 bits, bit 63 = used */
	uint8_t port[SW_MACS_SLOTS];
	uint32_t count;
};

struct sw_counters {
	uint64_t runts;		  /* shorter than an Ethernet header: dropped */
	uint64_t flooded;	  /* broadcast, multicast or unknown unicast */
	uint64_t unknown_unicast; /* (also counted in flooded) */
	uint64_t hairpin;	  /* unicast to the port it came from: dropped */
	uint64_t cut;		  /* (frame, egress) pairs the rules cut */
	uint64_t lost;		  /* (frame, egress) pairs dropped by a loss rule */
	uint64_t link_down;	  /* unicast to a port whose link is down */
	uint64_t mac_moves;	  /* a learned MAC seen on another port */
	uint64_t table_full;	  /* a MAC not learned: table full (it floods) */
};

/* The forwarding state: one per switch, owned by its one lcore. */
struct sw_fwd {
	uint32_t ports_count;
	sw_port_mask present; /* ports that exist (port 0 may not) */
	sw_port_mask up;      /* link up: the DPDK side updates it */
	struct sw_rules rules;
	struct sw_mac_table macs;
	uint64_t rng_state; /* loss draws: splitmix64, seeded */
	struct sw_counters counters;
};

void sw_fwd_init(struct sw_fwd *f, uint32_t ports_count, sw_port_mask present, uint64_t seed);

/* Learns the frame's source, decides where it goes. Returns the egress
 * ports (empty: drop it) after the rules; every reason a (frame, port)
 * pair is dropped is counted. */
sw_port_mask sw_fwd_frame(struct sw_fwd *f, uint32_t in_port, const uint8_t *frame,
			  size_t frame_bytes);

/* The port a MAC was learned on, or -1. */
int sw_mac_lookup(const struct sw_mac_table *t, const uint8_t mac[6]);

#endif
