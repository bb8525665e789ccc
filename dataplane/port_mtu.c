/* SPDX-License-Identifier: MIT */
/*
 * port_mtu.c - frames as large as each DPDK 22.11 virtual device carries.
 *
 * ethdev checks an MTU against the driver's max_rx_pktlen, and three of the
 * virtual devices report Ethernet's 1518 there whatever they can carry
 * (drivers/net/<name>/ in DPDK 22.11, measured on this machine's kernel):
 *
 * - net_af_packet: max_rx_pktlen 1518, so rte_eth_dev_set_mtu refuses
 *   anything above 1500, yet the driver copies whole frames between the
 *   kernel's TPACKET_V2 ring and the mbuf. Its real limits are the ring's
 *   frame size (devarg framesz, 2048 by default) and the interface's kernel
 *   MTU: a received frame starts 66 bytes into a ring frame (the tpacket2
 *   header and sockaddr_ll, aligned), a sent one 32 bytes in; longer frames
 *   are cut (rx) or dropped uncounted (tx). rx queue setup also wants mbufs
 *   of framesz - 32 data bytes. And the driver finds ring frame i at
 *   i x framesz from the ring's start, while the kernel starts each
 *   block (blocksz, a page multiple) afresh: blocksz must be a multiple
 *   of framesz, or every frame past the first block is misread (seen
 *   here: 7 frames of 9216 in blocks of 64 KiB, then silence). So the MTU
 *   here is the veth's (cluster.sh gives it 9000), checked, framesz must
 *   be at least MTU + 80, and blocksz a multiple of it
 *   (framesz=9216,blocksz=36864).
 * - net_memif: max_rx_pktlen 1518 and no mtu_set at all, but no limit
 *   either: a frame longer than one buffer (devarg bsize, 2048) is sent as
 *   a chain of descriptors (MEMIF_DESC_FLAG_NEXT) and received by copying
 *   into one mbuf while it has room (chained only past that), so mbufs
 *   sized for the frame get it in one segment, which is what the codec
 *   reads (a chained frame is dropped). No RX_OFFLOAD_SCATTER needed.
 * - net_tap: max_rx_pktlen 1522 and tx drops any frame longer than
 *   dev->data->mtu + 22, which only ethdev sets: MTU 1500 (1504), no
 *   further, whatever the tap's kernel MTU.
 * - net_af_xdp: max_mtu from the device is honoured as is (about 3,500 B:
 *   one umem frame of a 4 KiB page less mbuf and XDP headroom; 22.11 has
 *   no multi-buffer XDP).
 * Every other device: its own max_mtu / max_rx_pktlen, through ethdev.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "common.h"
#include "port_mtu.h"

/* net_af_packet's ring frame: the default, and where frames sit in it. */
#define AFP_FRAMESZ_DEFAULT_BYTES 2048u
#define AFP_RX_FRAME_OFFSET_BYTES 66u /* TPACKET_ALIGN(52 + 16) - 14: tp_mac */
#define AFP_TX_FRAME_OFFSET_BYTES 32u /* TPACKET2_HDRLEN - sizeof(sockaddr_ll) */

/* The value of key in a "k=v,k=v" devargs string, or dflt. */
static uint32_t port_devarg_u32(const char *args, const char *key, uint32_t dflt)
{
	size_t key_bytes = strlen(key);
	for (const char *at = args; at != NULL && *at != '\0';) {
		if (strncmp(at, key, key_bytes) == 0 && at[key_bytes] == '=') {
			char *end;
			unsigned long v = strtoul(at + key_bytes + 1, &end, 0);
			return v > 0 && v <= UINT32_MAX ? (uint32_t)v : dflt;
		}
		at = strchr(at, ',');
		at = at != NULL ? at + 1 : NULL;
	}
	return dflt;
}

/* The kernel MTU of interface if_index, or 0 when it cannot be read. */
static uint32_t port_kernel_mtu(uint32_t if_index)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	if (if_index == 0 || if_indextoname(if_index, ifr.ifr_name) == NULL) {
		return 0;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		return 0;
	}
	int rc = ioctl(fd, SIOCGIFMTU, &ifr);
	close(fd);
	return rc == 0 && ifr.ifr_mtu > 0 ? (uint32_t)ifr.ifr_mtu : 0;
}

static bool port_driver_is(const struct rte_eth_dev_info *info, const char *name)
{
	return info->driver_name != NULL && strcmp(info->driver_name, name) == 0;
}

/* Whether ethdev's own check (rte_eth_dev_set_mtu) takes mtu_bytes. */
static bool port_ethdev_takes(const struct rte_eth_dev_info *info, uint16_t mtu_bytes)
{
	uint32_t overhead = RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	if (info->max_mtu != UINT16_MAX && info->max_rx_pktlen > info->max_mtu) {
		overhead = info->max_rx_pktlen - info->max_mtu;
	}
	return mtu_bytes >= info->min_mtu && mtu_bytes <= info->max_mtu &&
	       (uint32_t)mtu_bytes + overhead <= info->max_rx_pktlen;
}

static int port_plan_af_packet(struct dp_port *p, const struct rte_eth_dev_info *info,
			       struct port_mtu_plan *plan)
{
	const struct rte_devargs *da = rte_dev_devargs(info->device);
	const char *args = da != NULL ? da->args : NULL;
	uint32_t framesz = port_devarg_u32(args, "framesz", AFP_FRAMESZ_DEFAULT_BYTES);
	uint32_t blocksz = port_devarg_u32(args, "blocksz", (uint32_t)getpagesize());
	if (blocksz % framesz != 0) {
		snprintf(p->errmsg, sizeof(p->errmsg), "port %u: net_af_packet's blocksz %u is not "
			 "a multiple of framesz %u: the driver would misplace every frame past "
			 "the first block", p->port_id, blocksz, framesz);
		return -EINVAL;
	}
	uint32_t frame_bytes = (uint32_t)plan->mtu_bytes + RTE_ETHER_HDR_LEN;
	/* rx queue setup refuses mbufs smaller than the ring's frame data. */
	if (framesz > AFP_TX_FRAME_OFFSET_BYTES &&
	    framesz - AFP_TX_FRAME_OFFSET_BYTES + RTE_PKTMBUF_HEADROOM > plan->data_room_bytes) {
		plan->data_room_bytes = framesz - AFP_TX_FRAME_OFFSET_BYTES + RTE_PKTMBUF_HEADROOM;
	}
	if (plan->mtu_bytes <= RTE_ETHER_MTU) {
		return 0; /* ethdev and the driver's mtu_set take it */
	}
	plan->set_mtu = false;
	if (framesz < frame_bytes + AFP_RX_FRAME_OFFSET_BYTES) {
		snprintf(p->errmsg, sizeof(p->errmsg), "port %u: MTU %u needs net_af_packet's "
			 "framesz >= %u (it is %u: frames of %u bytes would be cut)", p->port_id,
			 plan->mtu_bytes, frame_bytes + AFP_RX_FRAME_OFFSET_BYTES, framesz,
			 framesz - AFP_RX_FRAME_OFFSET_BYTES);
		return -EINVAL;
	}
	uint32_t kernel_mtu = port_kernel_mtu(info->if_index);
	if (kernel_mtu < plan->mtu_bytes) {
		char name[IF_NAMESIZE] = "?";
		(void)if_indextoname(info->if_index, name);
		snprintf(p->errmsg, sizeof(p->errmsg), "port %u: MTU %u: interface %s has MTU %u "
			 "(ip link set %s mtu %u)", p->port_id, plan->mtu_bytes, name, kernel_mtu,
			 name, plan->mtu_bytes);
		return -EINVAL;
	}
	return 0;
}

int port_mtu_plan(struct dp_port *p, const struct rte_eth_dev_info *info, uint16_t mtu_bytes,
		  struct port_mtu_plan *plan)
{
	RN_ASSERT(p != NULL && info != NULL && plan != NULL);
	plan->mtu_bytes = mtu_bytes > 0 ? mtu_bytes : RTE_ETHER_MTU;
	plan->set_mtu = mtu_bytes > 0;
	/* Room for the frame and its CRC after the headroom, never below
	 * DPDK's default (2 KiB of data). */
	plan->data_room_bytes = (uint32_t)plan->mtu_bytes + RTE_ETHER_HDR_LEN +
				RTE_ETHER_CRC_LEN + RTE_PKTMBUF_HEADROOM;
	if (plan->data_room_bytes < RTE_MBUF_DEFAULT_BUF_SIZE) {
		plan->data_room_bytes = RTE_MBUF_DEFAULT_BUF_SIZE;
	}
	int rc = 0;
	if (port_driver_is(info, "net_af_packet")) {
		rc = port_plan_af_packet(p, info, plan);
	} else if (port_driver_is(info, "net_memif")) {
		plan->set_mtu = false; /* no mtu_set (ENOTSUP): nothing to ask, nothing enforced */
	} else if (plan->set_mtu && !port_ethdev_takes(info, plan->mtu_bytes)) {
		snprintf(p->errmsg, sizeof(p->errmsg), "port %u: MTU %u outside what %s takes "
			 "(MTU %u..%u, frames of at most %u bytes)", p->port_id, plan->mtu_bytes,
			 info->driver_name != NULL ? info->driver_name : "the device",
			 info->min_mtu, info->max_mtu, info->max_rx_pktlen);
		rc = -EINVAL;
	}
	if (rc == 0 && plan->data_room_bytes > UINT16_MAX) {
		snprintf(p->errmsg, sizeof(p->errmsg), "port %u: MTU %u too large for one mbuf",
			 p->port_id, plan->mtu_bytes);
		rc = -EINVAL;
	}
	return rc;
}
