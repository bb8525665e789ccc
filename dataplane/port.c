/* SPDX-License-Identifier: MIT */
/*
 * port.c - one DPDK port, initialised as one checked sequence, and its
 * rx/tx bursts.
 *
 * The sequence (each step checked, undone in reverse on failure): device
 * info; offloads, each enabled only when the device lists it (IPv4 and UDP
 * checksums, fast free on request); an mbuf pool on the port's NUMA socket
 * sized here, never on the hot path; configure one rx and one tx queue;
 * MTU when asked (port_mtu.c: what each virtual device carries, and the
 * mbuf size that takes it); queue setup on the same
 * socket; start; read the MAC address; with rx_intr, queue 0's interrupt
 * fd where the driver has one.
 *
 * tx: a burst that the device takes only in part is retried a bounded
 * number of times (the ring frees slots as the NIC sends); what is still
 * unsent then is freed and counted, never leaked or silently dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "common.h"
#include "dataplane.h"
#include "port_mtu.h"

#define PORT_DESC_COUNT_DEFAULT 1024u
#define PORT_MBUFS_COUNT_DEFAULT 8191u /* 2^n - 1: the mempool's best size */
_Static_assert((PORT_MBUFS_COUNT_DEFAULT & (PORT_MBUFS_COUNT_DEFAULT + 1)) == 0, "2^n - 1");
#define PORT_MBUFS_COUNT_JUMBO 4095u
#define PORT_MBUF_CACHE_COUNT 256u

int dp_port_find(const char *name, uint16_t *port_id)
{
	RN_ASSERT(name != NULL && port_id != NULL);
	return rte_eth_dev_get_port_by_name(name, port_id) == 0 ? 0 : -ENODEV;
}

static void port_pick_offloads(struct dp_port *p, const struct rte_eth_dev_info *info,
			       const struct dp_port_config *cfg)
{
	/* MULTI_SEGS: fan-out frames are three segments (dp_fanout). */
	uint64_t tx_want = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
			   RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	uint64_t rx_want = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
	if (cfg->tx_fast_free) {
		tx_want |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	}
	p->tx_offloads = tx_want & info->tx_offload_capa;
	p->rx_offloads = rx_want & info->rx_offload_capa;
}

static int port_fail(struct dp_port *p, int rc, const char *step)
{
	snprintf(p->errmsg, sizeof(p->errmsg), "port %u: %s failed: %s", p->port_id, step,
		 rte_strerror(rc < 0 ? -rc : rc));
	return rc < 0 ? rc : -rc;
}

static int port_pool_create(struct dp_port *p, const struct port_mtu_plan *plan,
			    const struct dp_port_config *cfg)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	/* Jumbo mbufs: half as many, so the pool stays within the node's EAL
	 * memory (4095 x ~9.4 KiB = 38 MB; 8191 x 2.3 KiB = 19 MB). */
	uint32_t mbufs_default = plan->data_room_bytes > RTE_MBUF_DEFAULT_BUF_SIZE
					 ? PORT_MBUFS_COUNT_JUMBO
					 : PORT_MBUFS_COUNT_DEFAULT;
	uint32_t mbufs = cfg->mbufs_count > 0 ? cfg->mbufs_count : mbufs_default;
	snprintf(name, sizeof(name), "dp_pool_%u", p->port_id);
	p->pool = rte_pktmbuf_pool_create(name, mbufs, PORT_MBUF_CACHE_COUNT, 0,
					  (uint16_t)plan->data_room_bytes, p->socket_id);
	if (p->pool == NULL) {
		return port_fail(p, -rte_errno, "rte_pktmbuf_pool_create");
	}
	return 0;
}

static int port_queues(struct dp_port *p, const struct dp_port_config *cfg)
{
	uint16_t rx_desc = cfg->rx_desc_count > 0 ? cfg->rx_desc_count : PORT_DESC_COUNT_DEFAULT;
	uint16_t tx_desc = cfg->tx_desc_count > 0 ? cfg->tx_desc_count : PORT_DESC_COUNT_DEFAULT;
	int rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &rx_desc, &tx_desc);
	if (rc != 0) {
		return port_fail(p, rc, "rte_eth_dev_adjust_nb_rx_tx_desc");
	}
	unsigned socket = (unsigned)(p->socket_id == SOCKET_ID_ANY ? 0 : p->socket_id);
	struct rte_eth_rxconf rxconf = {.offloads = p->rx_offloads};
	rc = rte_eth_rx_queue_setup(p->port_id, 0, rx_desc, socket, &rxconf, p->pool);
	if (rc != 0) {
		return port_fail(p, rc, "rte_eth_rx_queue_setup");
	}
	struct rte_eth_txconf txconf = {.offloads = p->tx_offloads};
	rc = rte_eth_tx_queue_setup(p->port_id, 0, tx_desc, socket, &txconf);
	if (rc != 0) {
		return port_fail(p, rc, "rte_eth_tx_queue_setup");
	}
	return 0;
}

static int port_configure(struct dp_port *p, const struct port_mtu_plan *plan,
			  const struct dp_port_config *cfg)
{
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	conf.rxmode.offloads = p->rx_offloads;
	conf.txmode.offloads = p->tx_offloads;
	/* Drivers without rx interrupts ignore it (ethdev checks only lsc
	 * and rmv against the device's flags): port_rx_intr_open finds out. */
	conf.intr_conf.rxq = cfg->rx_intr ? 1 : 0;
	int rc = rte_eth_dev_configure(p->port_id, 1, 1, &conf);
	if (rc != 0) {
		return port_fail(p, rc, "rte_eth_dev_configure");
	}
	/* Not asked of af_packet and memif beyond 1500: ethdev would refuse
	 * what they carry (port_mtu.c). */
	if (plan->set_mtu) {
		rc = rte_eth_dev_set_mtu(p->port_id, plan->mtu_bytes);
		if (rc != 0) {
			return port_fail(p, rc, "rte_eth_dev_set_mtu");
		}
	}
	return 0;
}

/* Whether fd is an eventfd: its counter must be read back after a wake
 * (virtio, vhost). A tap queue's fd is the tun queue itself: reading it
 * would take a frame from the driver. */
static bool port_fd_is_eventfd(int fd)
{
	char path[64], target[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0) {
		return false;
	}
	target[n] = '\0';
	return strstr(target, "eventfd") != NULL;
}

/*
 * After start, with rx_intr: queue 0's interrupt fd, or none. Of DPDK
 * 22.11's virtual devices only net_tap (the tun queue's fd), net_virtio
 * (virtio_user) and net_vhost fill the device's interrupt vector;
 * net_af_packet, net_memif, net_af_xdp and net_ring do not (README: "Why
 * kernel UDP ..."), and ethdev logs an error for asking: silenced for
 * this one question, the answer is ours to give.
 */
static void port_rx_intr_open(struct dp_port *p)
{
	int ethdev_log = rte_log_register("lib.ethdev");
	int level = ethdev_log >= 0 ? rte_log_get_level((uint32_t)ethdev_log) : -1;
	if (level >= 0) {
		(void)rte_log_set_level((uint32_t)ethdev_log, RTE_LOG_EMERG);
	}
	int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(p->port_id, 0);
	if (level >= 0) {
		(void)rte_log_set_level((uint32_t)ethdev_log, (uint32_t)level);
	}
	if (fd < 0) {
		return; /* the lcore polls this port */
	}
	p->rx_intr_fd = fd;
	p->rx_intr_drain = port_fd_is_eventfd(fd);
	if (p->rx_intr_drain) {
		/* The drain after a wake must never block the lcore. */
		int flags = fcntl(fd, F_GETFL);
		if (flags >= 0 && (flags & O_NONBLOCK) == 0) {
			(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
		}
	}
	/* Off until an lcore arms it for a sleep (l3fwd-power's protocol);
	 * ENOTSUP: the driver's fd needs no arming (net_tap: the queue
	 * itself is readable whenever it holds a frame). */
	p->rx_intr_armable = rte_eth_dev_rx_intr_disable(p->port_id, 0) != -ENOTSUP;
}

int dp_port_init(struct dp_port *p, const struct dp_port_config *cfg)
{
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;

	RN_ASSERT(p != NULL && cfg != NULL);
	memset(p, 0, sizeof(*p));
	p->port_id = cfg->port_id;
	p->rx_intr_fd = -1;
	if (!rte_eth_dev_is_valid_port(cfg->port_id)) {
		snprintf(p->errmsg, sizeof(p->errmsg), "port %u: no such port", cfg->port_id);
		return -ENODEV;
	}
	int rc = rte_eth_dev_info_get(p->port_id, &info);
	if (rc != 0) {
		return port_fail(p, rc, "rte_eth_dev_info_get");
	}
	p->socket_id = rte_eth_dev_socket_id(p->port_id);
	if (p->socket_id < 0) {
		p->socket_id = (int)rte_socket_id(); /* virtual device: no NUMA node */
	}
	struct port_mtu_plan plan;
	rc = port_mtu_plan(p, &info, cfg->mtu_bytes, &plan);
	if (rc != 0) {
		return rc;
	}
	p->mtu_bytes = plan.mtu_bytes;
	port_pick_offloads(p, &info, cfg);
	rc = port_pool_create(p, &plan, cfg);
	if (rc != 0) {
		goto fail_pool;
	}
	rc = port_configure(p, &plan, cfg);
	if (rc != 0) {
		goto fail_configure;
	}
	rc = port_queues(p, cfg);
	if (rc != 0) {
		goto fail_configure;
	}
	rc = rte_eth_dev_start(p->port_id);
	if (rc != 0) {
		rc = port_fail(p, rc, "rte_eth_dev_start");
		goto fail_configure;
	}
	rc = rte_eth_macaddr_get(p->port_id, &mac);
	if (rc != 0) {
		rc = port_fail(p, rc, "rte_eth_macaddr_get");
		goto fail_started;
	}
	memcpy(p->mac, mac.addr_bytes, sizeof(p->mac));
	if (cfg->rx_intr) {
		port_rx_intr_open(p);
	}
	return 0;

fail_started:
	rte_eth_dev_stop(p->port_id);
fail_configure:
	rte_mempool_free(p->pool);
	p->pool = NULL;
fail_pool:
	return rc;
}

void dp_port_fini(struct dp_port *p)
{
	RN_ASSERT(p != NULL);
	if (p->pool == NULL) {
		return;
	}
	rte_eth_dev_stop(p->port_id);
	rte_eth_dev_close(p->port_id);
	rte_mempool_free(p->pool);
	p->pool = NULL;
	p->rx_intr_fd = -1; /* the driver closed it */
}

uint16_t dp_port_rx(struct dp_port *p, struct rte_mbuf **mbufs, uint16_t count_max)
{
	RN_ASSERT(count_max <= DP_BURST_MAX);
	uint16_t n = rte_eth_rx_burst(p->port_id, 0, mbufs, count_max);
	p->counters.rx_frames += n;
	return n;
}

uint16_t dp_port_tx(struct dp_port *p, struct rte_mbuf **mbufs, uint16_t count)
{
	RN_ASSERT(count <= DP_BURST_MAX);
	uint16_t sent = rte_eth_tx_burst(p->port_id, 0, mbufs, count);
	for (uint32_t retry = 0; sent < count && retry < DP_TX_RETRIES_MAX; retry++) {
		p->counters.tx_retries++;
		sent = (uint16_t)(sent + rte_eth_tx_burst(p->port_id, 0, mbufs + sent,
							  (uint16_t)(count - sent)));
	}
	if (sent < count) {
		rte_pktmbuf_free_bulk(mbufs + sent, (unsigned)(count - sent));
		p->counters.tx_unsent_freed += (uint64_t)(count - sent);
	}
	p->counters.tx_frames += sent;
	return sent;
}

uint16_t dp_port_tx_burst(struct dp_port *p, struct rte_mbuf **mbufs, uint16_t count)
{
	RN_ASSERT(count <= DP_BURST_MAX);
	uint16_t sent = rte_eth_tx_burst(p->port_id, 0, mbufs, count);
	p->counters.tx_frames += sent;
	if (sent < count) {
		p->counters.tx_retries++; /* the caller retries the tail */
	}
	return sent;
}

int dp_port_link_up(struct dp_port *p)
{
	struct rte_eth_link link;
	memset(&link, 0, sizeof(link));
	int rc = rte_eth_link_get_nowait(p->port_id, &link);
	if (rc != 0) {
		return rc < 0 ? rc : -rc;
	}
	return link.link_status == RTE_ETH_LINK_UP ? 1 : 0;
}

int dp_port_rx_intr_fd(const struct dp_port *p)
{
	RN_ASSERT(p != NULL);
	return p->rx_intr_fd;
}

bool dp_port_rx_intr_arm(struct dp_port *p, bool on)
{
	RN_ASSERT(p != NULL);
	if (p->rx_intr_fd < 0) {
		return false;
	}
	if (p->rx_intr_armable) {
		/* Errors change nothing: the lcore's longest sleep bounds a
		 * missed interrupt, and the next round polls the queue. */
		(void)(on ? rte_eth_dev_rx_intr_enable(p->port_id, 0)
			  : rte_eth_dev_rx_intr_disable(p->port_id, 0));
	}
	if (!on && p->rx_intr_drain) {
		uint64_t count;
		ssize_t got = read(p->rx_intr_fd, &count, sizeof(count));
		(void)got; /* EAGAIN: nothing fired */
	}
	return on && p->rx_intr_armable;
}
