/* SPDX-License-Identifier: MIT */
/*
 * client_internal.h - the client library's private state, shared by its
 * files: client.c (open, close, sending), client_table.c (the in-flight
 * table, submit and poll), client_sync.c (the synchronous calls) and
 * client_config.c (configuration loading).
 *
 * Batching (wire version 3): a submit, a retransmit or a redirect only
 * queues its slot (pending); every poll ends by packing the queue into one
 * frame per target node - more when a node's requests fill a frame - and
 * sending them all with one sendmmsg. Replies arrive many per datagram,
 * datagrams many per recvmmsg.
 *
 * Sequence numbers carry their slot: request_seq = (submit counter <<
 * CLIENT_SLOT_BITS) | slot. The counter only grows, so every request of a
 * client has a larger sequence number than the one before (what the node's
 * sessions need), and a reply finds its slot in O(1) without a map.
 */
#ifndef RN_CLIENT_INTERNAL_H
#define RN_CLIENT_INTERNAL_H

#include <netinet/in.h>

#include "rn_client.h"

#define CLIENT_SLOT_BITS 20u
#define CLIENT_INFLIGHT_MAX (1u << CLIENT_SLOT_BITS)
#define CLIENT_SLOT_MASK ((uint64_t)CLIENT_INFLIGHT_MAX - 1)
_Static_assert(CLIENT_SLOT_BITS <= 32, "a slot index (uint32_t) fits the low bits of request_seq");
/* Bytes of key + value + expect one request may carry: what is left of a
 * frame once the headers, the tag, the batch header and the request's
 * fixed part are in (the client's frame_bytes_max may lower it). */
#define CLIENT_REQUEST_DATA_BYTES_MAX                                                    \
	(DP_FRAME_BYTES_MAX - DP_FRAME_OVERHEAD_BYTES - DP_CLIENT_BATCH_HDR_BYTES -          \
	 DP_CLIENT_REQUEST_FIXED_BYTES)
/* Datagrams received per recvmmsg, and calls per poll before timers are
 * looked at again: a flood of replies cannot starve retransmits. */
#define CLIENT_RX_BURST_MAX 32u
#define CLIENT_RX_CALLS_MAX 2u
/* Frames one flush builds before it sends them (one sendmmsg each time
 * this many are full). */
#define CLIENT_TX_FRAMES_MAX 32u
/* A client's frame when the configuration does not say: what a standard
 * Ethernet path carries (1500-byte MTU), so a DPDK node's port takes it.
 * A kernel-UDP cluster's INI file raises it to DP_FRAME_BYTES_MAX. */
#define CLIENT_FRAME_BYTES_DEFAULT (1500u + DP_ETH_HDR_BYTES)
/* RETRY/BUSY backoff: starts here, doubles per busy reply, capped. */
#define CLIENT_BACKOFF_NS_MIN (5ull * 1000 * 1000)
#define CLIENT_BACKOFF_NS_MAX (200ull * 1000 * 1000)
/* Timeouts on one node before a request moves on to the next node. */
#define CLIENT_TIMEOUTS_PER_NODE 2u
/* Reply messages larger than one frame (a leader's status over a
 * 1500-byte port) reassembled at once, each in DP_CLIENT_REPLY_MSG_BYTES_MAX
 * allocated at open; one more in progress evicts the oldest (its request
 * retries). */
#define CLIENT_REASM_SLOTS 4u

struct client_slot {
	bool used;
	bool pinned;	      /* stays on its node (status: that node's answer) */
	bool backoff;	      /* resend_at_ns is a backoff or redirect, not a timeout */
	bool queued;	      /* in client.pending: goes out at the next flush */
	uint8_t op;
	uint8_t flags;
	uint32_t target_id;
	uint32_t key_bytes;
	uint32_t value_bytes;
	uint32_t expect_bytes;
	uint32_t attempts;
	uint32_t busy_count;  /* RETRY/BUSY replies so far: the backoff exponent */
	uint32_t node_timeouts; /* timeouts on target_id since it was chosen */
	uint32_t active_index; /* where it sits in client.active */
	uint64_t seq;
	uint64_t user;
	uint64_t resend_at_ns; /* retransmit (timeout) or resend (backoff) time */
	uint64_t deadline_ns;
	uint8_t *data;	/* key | value | expect, CLIENT_REQUEST_DATA_BYTES_MAX */
};

struct rn_client {
	struct rn_client_config cfg;
	struct dp_wire wire;
	struct dp_keyring keys; /* the client key (cfg.client_key) */
	int fd;
	uint32_t target_id;
	uint64_t submits; /* the counter in request_seq */
	uint64_t msg_seq; /* frame header numbers */
	uint64_t rng;	  /* backoff jitter */
	struct client_slot *slots;  /* cfg.inflight_max */
	uint32_t *active;	    /* indexes of used slots, dense */
	uint32_t active_count;
	uint8_t *slot_data;	    /* the slots' data, allocated once */
	uint32_t *pending;	    /* slots to send at the next flush, in order */
	uint32_t pending_count;
	bool rx_stop;		    /* set by a sync call's callback */
	struct rn_client_counters counters;
	uint8_t *tx_bufs; /* CLIENT_TX_FRAMES_MAX frames of DP_FRAME_BYTES_MAX */
	uint8_t *rx_bufs; /* CLIENT_RX_BURST_MAX datagrams of DP_FRAME_BYTES_MAX */
	struct dp_reasm reasm; /* replies that came as fragments */
};

uint64_t client_now_ns(void);
const struct rn_client_node *client_node(const struct rn_client *c, uint32_t node_id);
/* The node after node_id in the configuration (wrapping). */
uint32_t client_next_node(const struct rn_client *c, uint32_t node_id);
/* Queues the slot's request for the next flush (once: a queued slot stays
 * queued). */
void client_slot_queue(struct rn_client *c, struct client_slot *s);
/* Packs every queued request into frames, one or more per target node,
 * and sends them with sendmmsg. A socket that refuses a datagram is a
 * lost packet: the retransmit timer resends. Returns the frames sent. */
uint32_t client_flush(struct rn_client *c);
/* Submits with explicit target (0 = the client's) and pinning. */
int client_submit(struct rn_client *c, const struct rn_client_request *req, uint32_t target_id,
		  bool pinned);

#endif /* RN_CLIENT_INTERNAL_H */
