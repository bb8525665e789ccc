/* SPDX-License-Identifier: MIT */
/*
 * transport_reply.c - client replies gathered per client (dp_reply_batch)
 * out of a transport: each batch sealed for its client, then on kernel
 * UDP all of them in one sendmmsg (up to DP_BURST_MAX per call), on DPDK
 * each copied into an mbuf for the tx ring or the port. Runs on the
 * thread that sends (control's lcore in a node).
 *
 * Why gather: at 1,000 requests in flight a node made one datagram and
 * one sendto per reply; one frame per client per round carries dozens of
 * replies, and one system call carries every client's frame.
 *
 * A reply too large for one frame of the path (a leader's status over a
 * 1500-byte port) leaves as fragments of one message, one frame each
 * (dp_transport_send_reply_fragment), which the client library reassembles
 * with dp_reasm in memory it sized at start.
 */
#define _GNU_SOURCE /* sendmmsg */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <rte_mbuf.h>

#include "common.h"
#include "wire_internal.h"

/* One reply frame into an mbuf, out of the tx ring or the port (DPDK). */
static int transport_reply_mbuf(struct dp_transport *t, const uint8_t *frame, size_t bytes)
{
	struct rte_mbuf *mb = rte_pktmbuf_alloc(t->port->pool);
	if (mb == NULL) {
		return -ENOMEM;
	}
	if (rte_pktmbuf_tailroom(mb) < bytes) {
		rte_pktmbuf_free(mb);
		return -DP_ERR_TOO_BIG;
	}
	memcpy(rte_pktmbuf_mtod(mb, uint8_t *), frame, bytes);
	mb->data_len = (uint16_t)bytes;
	mb->pkt_len = (uint32_t)bytes;
	if (t->tx_ring != NULL) {
		if (dp_ring_push_elems(t->tx_ring, &mb, 1) != 1) {
			rte_pktmbuf_free(mb);
			t->tx_ring_full++;
			return -ENOBUFS;
		}
		return 0;
	}
	return dp_port_tx(t->port, &mb, 1) == 1 ? 0 : -ENOBUFS;
}

/* The addresses of a frame back to `client` (a request's sender). */
static void transport_reply_addr(const struct dp_transport *t, const struct dp_endpoints *client,
				 struct dp_endpoints *a)
{
	*a = (struct dp_endpoints){.src_ip = t->self_ip, .src_port = t->self_port,
				   .dst_ip = client->src_ip, .dst_port = client->src_port,
				   .key_id = client->key_id};
	memcpy(a->src_mac, client->dst_mac, 6);
	memcpy(a->dst_mac, client->src_mac, 6);
	if (t->port != NULL) {
		memcpy(a->src_mac, t->port->mac, 6);
	}
}

/* Seals batches[i] for its client: the frame's addresses and tag. */
static size_t transport_seal_reply(struct dp_transport *t, const struct dp_reply_batch *b)
{
	/* Under the key the client's requests came with (dp_endpoints). */
	struct dp_endpoints a;
	transport_reply_addr(t, &b->client, &a);
	return dp_wire_seal_client_frame(&t->wire, &a, ++t->msg_seq, 0, &b->frame);
}

uint64_t dp_transport_next_msg_seq(struct dp_transport *t)
{
	RN_ASSERT(t != NULL);
	return ++t->msg_seq;
}

int dp_transport_send_reply_fragment(struct dp_transport *t, const struct dp_endpoints *client,
				     const struct dp_fragment_src *src, uint32_t offset,
				     size_t frame_bytes_max, uint32_t *body_bytes_out)
{
	RN_ASSERT(t != NULL && client != NULL && src != NULL);
	RN_ASSERT(body_bytes_out != NULL);
	RN_ASSERT(src->type == DP_FRAME_CLIENT_REPLY); /* requests are never cut */
	struct dp_endpoints a;
	transport_reply_addr(t, client, &a);
	int n = dp_wire_encode_fragment(&t->wire, &a, src, offset, frame_bytes_max, t->buf,
					sizeof(t->buf), body_bytes_out);
	if (n < 0) {
		return n;
	}
	int rc = 0;
	if (t->kind == DP_TRANSPORT_DPDK) {
		rc = transport_reply_mbuf(t, t->buf, (size_t)n);
	} else {
		struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(client->src_port),
					 .sin_addr.s_addr = htonl(client->src_ip)};
		size_t want = (size_t)n - DP_UDP_PAYLOAD_OFFSET;
		ssize_t k = sendto(t->fd, t->buf + DP_UDP_PAYLOAD_OFFSET, want, MSG_DONTWAIT,
				   (const struct sockaddr *)&to, sizeof(to));
		rc = k == (ssize_t)want ? 0 : (k < 0 ? -errno : -EIO);
	}
	if (rc == 0) {
		t->counters.sent++;
	} else {
		t->counters.send_failed++; /* a lost fragment: the client retries */
	}
	return rc;
}

uint32_t dp_transport_send_reply_batches(struct dp_transport *t,
					 struct dp_reply_batch *const *batches, uint32_t count)
{
	struct mmsghdr vec[DP_BURST_MAX];
	struct iovec iov[DP_BURST_MAX];
	struct sockaddr_in to[DP_BURST_MAX];
	uint32_t sent = 0;

	RN_ASSERT(t != NULL && (batches != NULL || count == 0));
	for (uint32_t at = 0; at < count;) {
		uint32_t n = (uint32_t)rn_min_u64(count - at, DP_BURST_MAX);
		for (uint32_t i = 0; i < n; i++) {
			const struct dp_reply_batch *b = batches[at + i];
			size_t bytes = transport_seal_reply(t, b);
			if (t->kind == DP_TRANSPORT_DPDK) {
				int rc = transport_reply_mbuf(t, b->frame.buf, bytes);
				sent += rc == 0 ? 1u : 0u;
				continue;
			}
			to[i] = (struct sockaddr_in){.sin_family = AF_INET,
						     .sin_port = htons(b->client.src_port),
						     .sin_addr.s_addr = htonl(b->client.src_ip)};
			iov[i] = (struct iovec){.iov_base = b->frame.buf + DP_UDP_PAYLOAD_OFFSET,
						.iov_len = bytes - DP_UDP_PAYLOAD_OFFSET};
			vec[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &to[i],
							      .msg_namelen = sizeof(to[i]),
							      .msg_iov = &iov[i], .msg_iovlen = 1}};
		}
		if (t->kind == DP_TRANSPORT_UDP) {
			/* One system call for every client's datagram. The
			 * kernel stops at a datagram it refuses (buffer full):
			 * that one is a lost reply (the client retransmits), the
			 * ones after it are offered again. At most 2n calls. */
			uint32_t done = 0;
			while (done < n) {
				int k = sendmmsg(t->fd, vec + done, n - done, MSG_DONTWAIT);
				if (k <= 0) {
					done++; /* skip the refused one */
					continue;
				}
				done += (uint32_t)k;
				sent += (uint32_t)k;
			}
		}
		at += n;
	}
	t->counters.sent += sent;
	t->counters.send_failed += count - sent;
	return sent;
}
