/* SPDX-License-Identifier: MIT */
/*
 * rxtx.h - the rx/tx stage: owns the port. stage: rxtx.
 *
 * It receives and authenticates frames (DPDK port or kernel UDP socket,
 * the same calls) into messages that keep their frame (no copy), hands
 * control pointers to them through the link's rx ring, takes them back
 * processed through the done ring, and sends the frames control sealed
 * (the tx ring, DPDK). When control holds every message the port is left
 * alone: back-pressure, counted in rx_msgs_exhausted.
 */
#ifndef RN_NODE_RXTX_H
#define RN_NODE_RXTX_H

#include <stdint.h>

#include "dataplane.h"
#include "rings.h"

struct node_rxtx {
	struct dp_transport *transport;
	struct node_rxtx_link *link;
	struct dp_rx_msg *msgs; /* NODE_RX_MSGS */
	struct dp_rx_msg *spare[DP_BURST_MAX]; /* given back by control, not yet filled */
	uint32_t spare_count;
};

/* Makes the messages and the link's rings; every message starts in the
 * done ring. 0 or -ENOMEM. */
int node_rxtx_init(struct node_rxtx *x, struct node_rxtx_link *link, struct dp_transport *t,
		   bool colocated);
/* After every lcore stopped: frees the frames still held, the memory. */
void node_rxtx_fini(struct node_rxtx *x);
/* The memory node_rxtx_init takes (README: memory). */
uint64_t node_rxtx_memory_bytes(uint8_t transport_kind);
uint32_t node_rxtx_poll(void *ctx); /* the rx/tx lcore's stage */
/* What it sleeps on (dp_stage.wait_fd): the UDP socket, a DPDK port's rx
 * interrupt fd; a port whose driver has none polls. */
int node_rxtx_wait_fd(void *ctx);
/* dp_stage.sleep_arm: the port's rx interrupt on before the last look. */
bool node_rxtx_sleep_arm(void *ctx, bool on);
void node_rxtx_woken(void *ctx, bool input_fired);

#endif /* RN_NODE_RXTX_H */
