/* SPDX-License-Identifier: MIT */
/*
 * rxtx.c - the rx/tx stage's round. stage: rxtx.
 *
 * The receive side is where this stage saves control the most: the port,
 * ARP/ping answers, and the tag check of every frame, forged ones
 * included. Sealing stays with control (control/egress.c says why): what
 * crosses to this lcore is a finished frame.
 */
#include <errno.h>
#include <string.h>

#include "clock.h"
#include "common.h"
#include "rxtx.h"

uint64_t node_rxtx_memory_bytes(uint8_t transport_kind)
{
	return dp_rx_msgs_bytes(transport_kind, NODE_RX_MSGS) +
	       2 * dp_ring_elem_mem_bytes(sizeof(void *), NODE_RX_RING_SLOTS) +
	       (transport_kind == DP_TRANSPORT_DPDK
			? dp_ring_elem_mem_bytes(sizeof(void *), NODE_TX_RING_SLOTS)
			: 0);
}

int node_rxtx_init(struct node_rxtx *x, struct node_rxtx_link *link, struct dp_transport *t,
		   bool colocated)
{
	RN_ASSERT(t != NULL);
	RN_ASSERT(link != NULL);
	memset(x, 0, sizeof(*x));
	memset(link, 0, sizeof(*link));
	x->transport = t;
	x->link = link;
	link->colocated = colocated;
	x->msgs = dp_rx_msgs_create(t->kind, NODE_RX_MSGS);
	if (x->msgs == NULL ||
	    dp_ring_elem_create(&link->rx, sizeof(void *), NODE_RX_RING_SLOTS) != 0 ||
	    dp_ring_elem_create(&link->done, sizeof(void *), NODE_RX_RING_SLOTS) != 0 ||
	    (t->kind == DP_TRANSPORT_DPDK &&
	     dp_ring_elem_create(&link->tx, sizeof(void *), NODE_TX_RING_SLOTS) != 0)) {
		node_rxtx_fini(x);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < NODE_RX_MSGS; i++) {
		struct dp_rx_msg *m = &x->msgs[i];
		uint32_t pushed = dp_ring_push_elems(&link->done, &m, 1);
		RN_ASSERT(pushed == 1); /* the ring holds every message */
	}
	RN_ASSERT(dp_ring_count(&link->done) == NODE_RX_MSGS);
	dp_transport_set_tx_ring(t, &link->tx); /* DPDK only: UDP sends on its socket */
	return 0;
}

void node_rxtx_fini(struct node_rxtx *x)
{
	struct node_rxtx_link *link = x->link;
	if (link == NULL) {
		return; /* never initialized */
	}
	struct dp_rx_msg *m;
	while (link->rx.ring != NULL && dp_ring_pop_elems(&link->rx, &m, 1) == 1) {
		dp_transport_rx_done(m); /* received, never processed: the node stopped */
	}
	if (x->transport != NULL) {
		/* What control sealed and rx/tx did not send: freed unsent. */
		dp_transport_tx_discard(x->transport);
		dp_transport_set_tx_ring(x->transport, NULL);
	}
	dp_ring_elem_destroy(&link->rx); /* a ring never made is all zero: nothing to free */
	dp_ring_elem_destroy(&link->done);
	dp_ring_elem_destroy(&link->tx);
	dp_rx_msgs_destroy(x->msgs);
	x->msgs = NULL;
}

/*
 * One round of the rx/tx lcore: send what control sealed, then receive
 * into the messages control gave back. When control holds them all, the
 * port is left alone: frames wait in its rx queue (and past that the
 * device counts its misses) - back-pressure, visible in status.
 */
uint32_t node_rxtx_poll(void *ctx)
{
	struct node_rxtx *x = ctx;
	struct node_rxtx_link *link = x->link;
	RN_ASSERT(link != NULL);
	RN_ASSERT(x->spare_count <= DP_BURST_MAX);
	uint32_t work = dp_transport_tx_flush(x->transport);
	if (x->spare_count < DP_BURST_MAX) {
		x->spare_count += dp_ring_pop_elems(&link->done, x->spare + x->spare_count,
						    DP_BURST_MAX - x->spare_count);
	}
	RN_ASSERT(x->spare_count <= DP_BURST_MAX);
	/* The messages in the rx ring and the spares are distinct ones. */
	RN_ASSERT(dp_ring_count(&link->rx) + x->spare_count <= NODE_RX_MSGS);
	if (x->spare_count == 0) {
		/* Control holds them all: it rings this lcore when it gives
		 * some back (the flag, then a second look, against its
		 * push-then-look), not after every burst it processes. */
		__atomic_store_n(&link->starved, 1, __ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		x->spare_count = dp_ring_pop_elems(&link->done, x->spare, DP_BURST_MAX);
	}
	if (x->spare_count > 0) {
		if (__atomic_load_n(&link->starved, __ATOMIC_RELAXED) != 0) {
			__atomic_store_n(&link->starved, 0, __ATOMIC_RELAXED);
		}
	} else {
		/* Status reads it from control's lcore. */
		__atomic_store_n(&link->rx_msgs_exhausted, link->rx_msgs_exhausted + 1,
				 __ATOMIC_RELAXED);
		return work;
	}
	uint64_t looked_before = x->transport->counters.looked_at;
	uint32_t n = dp_transport_recv(x->transport, x->spare, x->spare_count);
	RN_ASSERT(n <= x->spare_count);
	/* Frames looked at and dropped (forged, stale version) are work too:
	 * a round that read a burst of them did not read the socket dry, and
	 * an lcore that slept on it now would miss what follows them. */
	work += x->transport->counters.looked_at != looked_before;
	if (n == 0) {
		return work;
	}
	uint64_t now_ns = node_now_ns();
	for (uint32_t i = 0; i < n; i++) {
		x->spare[i]->rx_ns = now_ns;
	}
	uint32_t pushed = dp_ring_push_elems(&link->rx, x->spare, n);
	RN_ASSERT(pushed == n); /* the ring holds every message there is */
	x->spare_count -= n;
	memmove(x->spare, x->spare + n, x->spare_count * sizeof(x->spare[0]));
	return work + n;
}

int node_rxtx_wait_fd(void *ctx)
{
	const struct node_rxtx *x = ctx;
	RN_ASSERT(x->transport != NULL);
	return dp_transport_wait_fd(x->transport);
}

void node_rxtx_woken(void *ctx, bool input_fired)
{
	struct node_rxtx *x = ctx;
	RN_ASSERT(x->transport != NULL);
	dp_transport_woken(x->transport, input_fired);
}

bool node_rxtx_sleep_arm(void *ctx, bool on)
{
	struct node_rxtx *x = ctx;
	RN_ASSERT(x->transport != NULL);
	return dp_transport_sleep_arm(x->transport, on);
}
