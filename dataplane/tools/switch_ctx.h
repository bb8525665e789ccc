/* SPDX-License-Identifier: MIT */
/*
 * switch_ctx.h - rn_memif_switch's state (internal): its options, its ports
 * with their tx queues, the forwarding state, and the loop (switch_run.c).
 */
#ifndef RN_SWITCH_CTX_H
#define RN_SWITCH_CTX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "dataplane.h"
#include "switch.h"

#define SWITCH_MEMIF_PORTS_MAX (SW_PORTS_MAX - 1u)
#define SWITCH_VDEV_BYTES 256u
#define SWITCH_PATH_BYTES 108u /* sun_path */
#define SWITCH_MBUFS_PER_PORT 511u /* 2^n - 1; an mbuf lives one round */
#define SWITCH_HOUSEKEEP_MS 100u
#define SWITCH_STATS_MS 1000u
#define SWITCH_STATS_BYTES 8192u /* a header line + ~150 bytes a port */
_Static_assert((SWITCH_MBUFS_PER_PORT & (SWITCH_MBUFS_PER_PORT + 1)) == 0, "2^n - 1");
_Static_assert(1024 + 150 * SW_PORTS_MAX <= SWITCH_STATS_BYTES, "header + 150 bytes a port");
_Static_assert(sizeof(((struct sockaddr_un *)0)->sun_path) == SWITCH_PATH_BYTES, "sun_path");
_Static_assert(1 + RAFT_NODES_MAX <= SW_PORTS_MAX, "the kernel port and every node fit");

struct switch_txq {
	struct rte_mbuf *mbufs[DP_BURST_MAX];
	uint16_t count;
};

struct switch_port {
	struct dp_port port;
	char vdev[SWITCH_VDEV_BYTES];
	char name[32]; /* DPDK device name: net_memif<i>, net_af_packet0 */
	const char *label; /* socket path or interface, for the log and stats */
	struct switch_txq txq;
};

struct switch_opts {
	const char *memif_paths[SWITCH_MEMIF_PORTS_MAX];
	uint32_t memif_count;
	const char *kernel_iface; /* NULL: no kernel port (port 0 absent) */
	const char *file_prefix;
	const char *lcores;
	const char *rules_path;
	const char *stats_path;
	bool no_huge;
	bool busy;
	uint32_t sleep_us_max;
	uint16_t kernel_mtu_bytes; /* 0: 1500; above: every port takes jumbo frames */
};

struct switch_ctx {
	struct switch_opts o;
	struct switch_port ports[SW_PORTS_MAX];
	uint32_t ports_count;
	struct sw_fwd fwd;
	uint64_t housekeep_tsc, stats_tsc, housekeep_every_tsc, stats_every_tsc;
	uint64_t rules_loads, rules_errors;
	struct dp_lcore lcore; /* the one lcore's loop and idle policy */
	char rules_text[SW_RULES_BYTES_MAX + 1];
	char stats_text[SWITCH_STATS_BYTES];
};

/* Polls every port until *stop; reloads the rules when *reload is set.
 * 0, or a negative errno. */
int switch_run(struct switch_ctx *s, volatile int *stop, volatile int *reload);

#endif
