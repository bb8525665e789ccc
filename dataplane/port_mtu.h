/* SPDX-License-Identifier: MIT */
/*
 * port_mtu.h - internal to dataplane: how large a frame a DPDK port is asked
 * to carry, and what that asks of its mbuf pool (port.c, port_mtu.c).
 */
#ifndef DATAPLANE_PORT_MTU_H
#define DATAPLANE_PORT_MTU_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>

#include "dataplane.h"

/* What port_mtu_plan decided for one port. */
struct port_mtu_plan {
	uint16_t mtu_bytes;	   /* the frames' MTU the node will fill */
	uint32_t data_room_bytes;  /* per mbuf, headroom included */
	bool set_mtu;		   /* rte_eth_dev_set_mtu(mtu_bytes) after configure */
};

/* Decides how port p (its device info in info) carries mtu_bytes (0: the
 * device's default, 1500). 0, or -EINVAL with p->errmsg saying which
 * device limit (devarg, interface MTU, driver) stands in the way. */
int port_mtu_plan(struct dp_port *p, const struct rte_eth_dev_info *info, uint16_t mtu_bytes,
		  struct port_mtu_plan *plan);

#endif
