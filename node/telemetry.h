/* SPDX-License-Identifier: MIT */
/*
 * telemetry.h - the DPDK telemetry command of a node. stage: main
 * (registered at start; the callback runs on DPDK's telemetry thread).
 */
#ifndef RN_NODE_TELEMETRY_H
#define RN_NODE_TELEMETRY_H

#include "rings.h"

/* Registers "/raftnode/status", serving what control last put in link.
 * 0, or DPDK's negative error (the node carries on without it). */
int node_telemetry_register(struct node_status_link *link);

#endif /* RN_NODE_TELEMETRY_H */
