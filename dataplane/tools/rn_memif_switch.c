/* SPDX-License-Identifier: MIT */
/*
 * rn_memif_switch.c - a DPDK L2 learning switch joining raftnode nodes whose
 * only port is a memif link (scripts/cluster.sh up --transport memif).
 *
 * A memif link is point to point and a node has one DPDK port, so the
 * switch owns one net_memif *server* port per node (the node's dpdk_port is
 * the matching role=client vdev) plus one kernel-facing port, a
 * net_af_packet on a veth whose other end holds a kernel address, so kernel
 * clients (raftctl, raftbench, the tests) reach every node over UDP.
 *
 * Frames move as mbufs: rx_burst, the decision on the frame's first bytes
 * (switch_fwd.c), then tx_burst on the egress ports; a flooded frame gets
 * one reference per egress port (every segment's refcount), never a copy
 * (the memif and af_packet PMDs copy into their rings, that is theirs). What
 * tx still refuses after a few retries is freed and counted per port.
 *
 * One lcore polls every port round after round; with the adaptive idle
 * policy (dp_lcore_*) it sleeps when nothing moves, so it shares two CPUs
 * with seven nodes. Every 100 ms it reads the link states (a node that
 * restarts reconnects its memif client by itself; the server port goes down
 * and up again), reloads the rules file after SIGHUP, and every second
 * writes its counters to the stats file. SIGTERM/SIGINT stop it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "common.h"
#include "dataplane.h"
#include "switch.h"
#include "switch_ctx.h"

/* Signal-set flags, the only mutable file-scope state. */
static volatile int switch_stop;
static volatile int switch_reload;


static void switch_usage(FILE *f)
{
	fprintf(f,
		"usage: rn_memif_switch --memif PATH [--memif PATH ...] [--kernel-iface IFACE]\n"
		"                       --file-prefix P [--lcores L] [--no-huge] [--rules FILE]\n"
		"                       [--stats FILE] [--idle adaptive|busy] [--sleep-us-max US]\n"
		"                       [--mtu-bytes M]\n"
		"\n"
		"A DPDK L2 learning switch: one net_memif server port per --memif socket (port i\n"
		"is the i-th, from 1; the peer is a role=client net_memif, socket-abstract=no),\n"
		"and port 0, a net_af_packet on IFACE facing the kernel. Learns source MACs,\n"
		"forwards known unicast, floods the rest to every other port whose link is up.\n"
		"  --rules FILE   fault matrix, reloaded on SIGHUP; after a load its text is\n"
		"                 copied to FILE.applied. Lines: 'cut SRC DST', 'loss SRC DST PCT'\n"
		"                 (ports by number or '*'; '#' comments). Errors keep the old rules.\n"
		"  --stats FILE   counters, rewritten every second and at exit\n"
		"  --idle         adaptive (default: spin, then sleep up to --sleep-us-max, 200)\n"
		"                 or busy (a dedicated core)\n"
		"  --no-huge      ordinary memory even if hugepages are free\n"
		"  --mtu-bytes M  frames of M + 14 bytes on every port (576..9000, default\n"
		"                 1500; IFACE's MTU must allow it)\n"
		"Prints 'ready' once every port is started. SIGTERM/SIGINT stop it.\n");
}

static int switch_parse(int argc, char **argv, struct switch_opts *o)
{
	static const struct option opts[] = {
		{"memif", required_argument, NULL, 'm'},
		{"kernel-iface", required_argument, NULL, 'k'},
		{"file-prefix", required_argument, NULL, 'f'},
		{"lcores", required_argument, NULL, 'l'},
		{"rules", required_argument, NULL, 'r'},
		{"stats", required_argument, NULL, 's'},
		{"no-huge", no_argument, NULL, 'n'},
		{"idle", required_argument, NULL, 'i'},
		{"sleep-us-max", required_argument, NULL, 'u'},
		{"mtu-bytes", required_argument, NULL, 'M'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->lcores = "0";
	o->sleep_us_max = 200;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (o->memif_count == SWITCH_MEMIF_PORTS_MAX) {
				fprintf(stderr, "rn_memif_switch: at most %u --memif\n",
					SWITCH_MEMIF_PORTS_MAX);
				return 2;
			}
			if (strlen(optarg) >= SWITCH_PATH_BYTES) {
				fprintf(stderr, "rn_memif_switch: socket path longer than %u bytes: "
					"%s\n", SWITCH_PATH_BYTES - 1, optarg);
				return 2;
			}
			o->memif_paths[o->memif_count++] = optarg;
			break;
		case 'k': o->kernel_iface = optarg; break;
		case 'f': o->file_prefix = optarg; break;
		case 'l': o->lcores = optarg; break;
		case 'r': o->rules_path = optarg; break;
		case 's': o->stats_path = optarg; break;
		case 'n': o->no_huge = true; break;
		case 'i':
			if (strcmp(optarg, "busy") != 0 && strcmp(optarg, "adaptive") != 0) {
				fprintf(stderr, "rn_memif_switch: --idle adaptive|busy\n");
				return 2;
			}
			o->busy = strcmp(optarg, "busy") == 0;
			break;
		case 'u':
			o->sleep_us_max = (uint32_t)strtoul(optarg, NULL, 10);
			if (o->sleep_us_max < 1 || o->sleep_us_max > 100000) {
				fprintf(stderr, "rn_memif_switch: --sleep-us-max 1..100000\n");
				return 2;
			}
			break;
		case 'M': {
			unsigned long v = strtoul(optarg, NULL, 10);
			if (v < 576 || v > 9000) {
				fprintf(stderr, "rn_memif_switch: --mtu-bytes 576..9000\n");
				return 2;
			}
			o->kernel_mtu_bytes = (uint16_t)v;
			break;
		}
		case 'h': switch_usage(stdout); exit(0);
		default: return 2;
		}
	}
	if (optind != argc || o->memif_count == 0 || o->file_prefix == NULL) {
		fprintf(stderr, "rn_memif_switch: need --memif (one or more) and --file-prefix\n");
		switch_usage(stderr);
		return 2;
	}
	return 0;
}

static void switch_on_signal(int sig)
{
	if (sig == SIGHUP) {
		switch_reload = 1;
	} else {
		switch_stop = 1;
	}
}

/* A memif server binds its socket path: a socket a killed switch left there
 * would fail the bind ("Address already in use"), so it goes. Anything else
 * at that path is left alone (and the bind then fails, loudly). */
static void switch_remove_stale_socket(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		(void)unlink(path);
	}
}

/* Fills ports[] with vdev strings: port 0 kernel (if any), 1..n memif. */
static void switch_plan_ports(struct switch_ctx *s)
{
	struct switch_opts *o = &s->o;
	struct switch_port *k = &s->ports[SW_PORT_KERNEL];
	if (o->kernel_iface != NULL) {
		/* 4096 frames: a burst of client requests must not overflow it.
		 * Jumbo: ring frames of MTU + 80 bytes, blocks a multiple of
		 * them (dataplane/port_mtu.c), half as many. */
		if (o->kernel_mtu_bytes > 1500) {
			snprintf(k->vdev, sizeof(k->vdev), "net_af_packet0,iface=%s,framesz=9216,"
				 "blocksz=36864,framecnt=2048", o->kernel_iface);
		} else {
			snprintf(k->vdev, sizeof(k->vdev), "net_af_packet0,iface=%s,framecnt=4096",
				 o->kernel_iface);
		}
		snprintf(k->name, sizeof(k->name), "net_af_packet0");
		k->label = o->kernel_iface;
	}
	for (uint32_t i = 0; i < o->memif_count; i++) {
		struct switch_port *p = &s->ports[i + 1];
		switch_remove_stale_socket(o->memif_paths[i]);
		/* socket-abstract=no: the nodes run in other network namespaces,
		 * and an abstract socket is per namespace; a path is not. */
		/* Jumbo: one 9216-byte buffer per frame, never a chain of
		 * descriptors (DPDK 22.11's memif tx can leave a stale NEXT flag
		 * on a chain it rolls back: scripts/cluster-memif.sh). */
		snprintf(p->vdev, sizeof(p->vdev),
			 "net_memif%u,role=server,socket=%s,socket-abstract=no,id=0%s", i + 1,
			 o->memif_paths[i], o->kernel_mtu_bytes > 1500 ? ",bsize=9216" : "");
		snprintf(p->name, sizeof(p->name), "net_memif%u", i + 1);
		p->label = o->memif_paths[i];
	}
	s->ports_count = o->memif_count + 1;
}

static int switch_eal(struct switch_ctx *s)
{
	const char *vdevs[SW_PORTS_MAX];
	uint32_t vdevs_count = 0;
	char errmsg[256];
	for (uint32_t i = 0; i < s->ports_count; i++) {
		if (s->ports[i].vdev[0] != '\0') {
			vdevs[vdevs_count++] = s->ports[i].vdev;
		}
	}
	/* Each port's pool is ~1.2 MB (511 mbufs of 2 KiB + headers; 4.9 MB
	 * with jumbo frames); in --no-huge mode the EAL touches all of it, so
	 * it is sized, not generous. */
	struct dp_eal_config ec = {
		.lcores = s->o.lcores, .file_prefix = s->o.file_prefix,
		.vdevs = vdevs, .vdevs_count = vdevs_count,
		.hugepages = s->o.no_huge ? DP_HUGEPAGES_NEVER : DP_HUGEPAGES_AUTO,
		.memory_mb = 32u + (s->o.kernel_mtu_bytes > 1500 ? 8u : 3u) * s->ports_count,
	};
	int rc = dp_eal_start(&ec, errmsg, sizeof(errmsg));
	if (rc != 0) {
		fprintf(stderr, "rn_memif_switch: %s\n", errmsg);
	}
	return rc;
}

static int switch_ports_init(struct switch_ctx *s)
{
	sw_port_mask present = 0;
	for (uint32_t i = 0; i < s->ports_count; i++) {
		struct switch_port *p = &s->ports[i];
		if (p->vdev[0] == '\0') {
			continue;
		}
		/* Every port's mbufs hold a whole jumbo frame: net_memif's rx
		 * copies a frame into a chain of mbufs when one is too small, and
		 * when the pool runs dry in the middle of a chain it leaks the
		 * chain's head and leaves the ring in the middle of the frame
		 * (DPDK 22.11 eth_memif_rx: goto no_free_bufs). With 2 KiB mbufs
		 * (5 per frame) that collapsed a loaded cluster to ~1,000
		 * commits/s; with one mbuf per frame a dry pool takes nothing. */
		struct dp_port_config pc = {.mbufs_count = SWITCH_MBUFS_PER_PORT,
					    .rx_desc_count = 512, .tx_desc_count = 512,
					    .mtu_bytes = s->o.kernel_mtu_bytes};
		if (dp_port_find(p->name, &pc.port_id) != 0) {
			fprintf(stderr, "rn_memif_switch: port %u: %s did not probe (%s)\n", i,
				p->name, p->vdev);
			return -ENODEV;
		}
		int rc = dp_port_init(&p->port, &pc);
		if (rc != 0) {
			fprintf(stderr, "rn_memif_switch: port %u (%s): %s\n", i, p->label,
				p->port.errmsg);
			return rc;
		}
		present |= 1u << i;
		printf("port %u: %s (%s)\n", i, p->name, p->label);
	}
	sw_fwd_init(&s->fwd, s->ports_count, present, rte_get_tsc_cycles());
	return 0;
}

static void switch_ports_fini(struct switch_ctx *s)
{
	for (uint32_t i = 0; i < s->ports_count; i++) {
		if (s->ports[i].vdev[0] != '\0') {
			dp_port_fini(&s->ports[i].port);
		}
	}
}

int main(int argc, char **argv)
{
	static struct switch_ctx s; /* ~100 KiB: not on the stack */
	int rc = switch_parse(argc, argv, &s.o);
	if (rc != 0) {
		return rc;
	}
	switch_plan_ports(&s);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = switch_on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	if (switch_eal(&s) != 0) {
		return 1;
	}
	rc = switch_ports_init(&s);
	if (rc == 0) {
		rc = switch_run(&s, &switch_stop, &switch_reload);
	}
	switch_ports_fini(&s);
	dp_eal_stop();
	return rc == 0 ? 0 : 1;
}
