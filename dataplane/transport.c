/* SPDX-License-Identifier: MIT */
/*
 * transport.c - one interface, two paths for a node's consensus messages:
 * a DPDK port (whole Ethernet frames, kernel bypass) or a kernel UDP socket
 * (`--transport udp`: for clients, for machines without DPDK, and to show
 * side by side what the bypass buys). Both seal with the same codec and
 * drop the same bad frames under the same counters; the caller sees the
 * same send() and poll().
 *
 * Peers are a fixed table (node id -> MAC, IPv4, UDP port) set at open; a
 * message to a node not in the table is refused and counted. A message
 * that does not fit one frame is refused with -DP_ERR_TOO_BIG (the caller
 * splits it with dp_wire_encode_fragment); the transport does not split.
 * On DPDK, ARP requests and pings to our address are answered inside poll().
 */
#define _GNU_SOURCE /* recvmmsg */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_mbuf.h>
#include <sodium.h>

#include "common.h"
#include "wire_internal.h"

static int transport_common(struct dp_transport *t, const struct dp_transport_config *cfg)
{
	if (cfg->peers_count > RAFT_NODES_MAX) {
		return -DP_ERR_INVALID;
	}
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	int rc = dp_wire_init(&t->wire, &cfg->wire);
	if (rc != 0) {
		return rc;
	}
	memcpy(t->peers, cfg->peers, cfg->peers_count * sizeof(cfg->peers[0]));
	t->peers_count = cfg->peers_count;
	t->self_ip = cfg->self_ip;
	t->self_port = cfg->wire.udp_port;
	t->poll_msg.udp_buf = t->poll_buf;
	return 0;
}

int dp_transport_open_udp(struct dp_transport *t, const struct dp_transport_config *cfg)
{
	RN_ASSERT(t != NULL && cfg != NULL);
	int rc = transport_common(t, cfg);
	if (rc != 0) {
		return rc;
	}
	t->kind = DP_TRANSPORT_UDP;
	t->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		return -errno;
	}
	/* Bursts from many clients and peers must not overflow the default
	 * buffer (~200 KiB): a drop costs a client a retransmit timeout. The
	 * FORCE variants go past net.core.rmem_max when we are root. */
	int buf_bytes = 16 << 20;
	if (setsockopt(t->fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf_bytes, sizeof(buf_bytes)) != 0) {
		(void)setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &buf_bytes, sizeof(buf_bytes));
	}
	if (setsockopt(t->fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf_bytes, sizeof(buf_bytes)) != 0) {
		(void)setsockopt(t->fd, SOL_SOCKET, SO_SNDBUF, &buf_bytes, sizeof(buf_bytes));
	}
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(t->self_port),
				 .sin_addr.s_addr = htonl(cfg->self_ip)};
	if (bind(t->fd, (const struct sockaddr *)&me, sizeof(me)) != 0) {
		rc = -errno;
		goto fail_bind;
	}
	return 0;

fail_bind:
	close(t->fd);
	t->fd = -1;
	return rc;
}

int dp_transport_open_dpdk(struct dp_transport *t, const struct dp_transport_config *cfg,
			   struct dp_port *port)
{
	RN_ASSERT(t != NULL && cfg != NULL && port != NULL);
	int rc = transport_common(t, cfg);
	if (rc != 0) {
		return rc;
	}
	t->kind = DP_TRANSPORT_DPDK;
	t->port = port;
	return 0;
}

void dp_transport_close(struct dp_transport *t)
{
	RN_ASSERT(t != NULL);
	if (t->fd >= 0) {
		close(t->fd);
		t->fd = -1;
	}
	dp_wire_fini(&t->wire);
}

static const struct dp_peer *transport_peer(const struct dp_transport *t, raft_node_id id)
{
	for (uint32_t i = 0; i < t->peers_count; i++) {
		if (t->peers[i].id == id) {
			return &t->peers[i];
		}
	}
	return NULL;
}

int dp_transport_peer_set(struct dp_transport *t, const struct dp_peer *p)
{
	static const uint8_t zero[6];
	RN_ASSERT(t != NULL && p != NULL);
	RN_ASSERT(p->id != RAFT_NODE_NONE);
	for (uint32_t i = 0; i < t->peers_count; i++) {
		struct dp_peer *q = &t->peers[i];
		if (q->id != p->id) {
			continue;
		}
		/* A MAC learnt for the same address stays (mac = auto). */
		bool keep_mac = memcmp(p->mac, zero, 6) == 0 && q->ip == p->ip && q->port == p->port;
		uint8_t mac[6];
		memcpy(mac, q->mac, 6);
		*q = *p;
		if (keep_mac) {
			memcpy(q->mac, mac, 6);
		}
		return 0;
	}
	if (t->peers_count == RAFT_NODES_MAX) {
		return -DP_ERR_TOO_BIG;
	}
	t->peers[t->peers_count++] = *p;
	return 0;
}

void dp_transport_peer_remove(struct dp_transport *t, raft_node_id id)
{
	RN_ASSERT(t != NULL);
	for (uint32_t i = 0; i < t->peers_count; i++) {
		if (t->peers[i].id == id) {
			t->peers[i] = t->peers[--t->peers_count];
			return;
		}
	}
}

static void transport_addr(const struct dp_transport *t, const struct dp_peer *p,
			   struct dp_endpoints *a)
{
	memset(a, 0, sizeof(*a));
	if (t->port != NULL) {
		memcpy(a->src_mac, t->port->mac, 6);
	}
	static const uint8_t zero[6], broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	/* A peer whose MAC is not configured ("auto") and not learnt yet gets a
	 * broadcast frame: its bridge delivers it, the others drop it as not
	 * theirs (wrong recipient), and its first reply teaches us the MAC. */
	memcpy(a->dst_mac, memcmp(p->mac, zero, 6) == 0 ? broadcast : p->mac, 6);
	a->src_ip = t->self_ip;
	a->dst_ip = p->ip;
	a->src_port = t->self_port;
	a->dst_port = p->port;
}

static int transport_send_udp(struct dp_transport *t, const struct dp_peer *p, int frame_bytes)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(p->port),
				 .sin_addr.s_addr = htonl(p->ip)};
	size_t payload_bytes = (size_t)frame_bytes - DP_UDP_PAYLOAD_OFFSET;
	ssize_t n = sendto(t->fd, t->buf + DP_UDP_PAYLOAD_OFFSET, payload_bytes, 0,
			   (const struct sockaddr *)&to, sizeof(to));
	if (n != (ssize_t)payload_bytes) {
		t->counters.send_failed++; /* socket buffer full: Raft resends */
		return n < 0 ? -errno : -EIO;
	}
	return 0;
}

/* Where the next frame is encoded: a fresh mbuf (DPDK; *mb set, counted as
 * a failed send when the pool is empty) or the UDP send buffer. */
static int transport_frame_buf(struct dp_transport *t, struct rte_mbuf **mb, uint8_t **buf,
			       size_t *buf_bytes)
{
	*mb = NULL;
	*buf = t->buf;
	*buf_bytes = sizeof(t->buf);
	if (t->kind != DP_TRANSPORT_DPDK) {
		return 0;
	}
	*mb = rte_pktmbuf_alloc(t->port->pool);
	if (*mb == NULL) {
		t->counters.send_failed++;
		return -ENOMEM;
	}
	*buf = rte_pktmbuf_mtod(*mb, uint8_t *);
	*buf_bytes = rte_pktmbuf_tailroom(*mb);
	return 0;
}

/* Encodes one frame for address a - a consensus message, or a client reply
 * when rep is set - and sends it on the transport's path: into an mbuf and
 * out of the port (DPDK), or out of the socket (UDP: the UDP payload only). */
static int transport_emit(struct dp_transport *t, struct dp_endpoints *a,
			  const struct raft_message *m, const uint8_t *const *payloads,
			  const struct dp_client_reply *rep)
{
	struct rte_mbuf *mb = NULL;
	uint8_t *buf = NULL;
	size_t buf_bytes = 0;
	if (transport_frame_buf(t, &mb, &buf, &buf_bytes) != 0) {
		return -ENOMEM;
	}
	if (mb != NULL) {
		memcpy(a->src_mac, t->port->mac, 6);
	}
	int n = rep != NULL
			? dp_wire_encode_reply(&t->wire, a, ++t->msg_seq, 0, rep, buf, buf_bytes)
			: dp_wire_encode_raft(&t->wire, a, ++t->msg_seq, m, payloads, buf, buf_bytes);
	if (n < 0) {
		if (mb != NULL) {
			rte_pktmbuf_free(mb);
		}
		return n;
	}
	if (mb == NULL) {
		struct dp_peer to = {.ip = a->dst_ip, .port = a->dst_port};
		return transport_send_udp(t, &to, n);
	}
	mb->data_len = (uint16_t)n;
	mb->pkt_len = (uint32_t)n;
	if (t->tx_ring != NULL) {
		if (dp_ring_push_elems(t->tx_ring, &mb, 1) != 1) {
			rte_pktmbuf_free(mb);
			t->tx_ring_full++;
			t->counters.send_failed++;
			return -ENOBUFS;
		}
		return 0;
	}
	if (dp_port_tx(t->port, &mb, 1) != 1) {
		t->counters.send_failed++; /* dp_port_tx freed and counted it */
		return -ENOBUFS;
	}
	return 0;
}

/* A frame another module encodes (the snapshot transfer's chunks and acks)
 * sealed for peer `to` and sent on the path, like transport_emit: the UDP
 * path's buffer is t->buf, so the caller is the thread that sends. */
int dp_transport_send_sealed(struct dp_transport *t, raft_node_id to, dp_transport_seal_fn seal,
			     const void *arg)
{
	RN_ASSERT(t != NULL && seal != NULL);
	const struct dp_peer *p = transport_peer(t, to);
	if (p == NULL) {
		t->counters.no_route++;
		return -DP_ERR_INVALID;
	}
	struct dp_endpoints a;
	transport_addr(t, p, &a);
	struct rte_mbuf *mb = NULL;
	uint8_t *buf = NULL;
	size_t buf_bytes = 0;
	if (transport_frame_buf(t, &mb, &buf, &buf_bytes) != 0) {
		return -ENOMEM;
	}
	int n = seal(arg, &t->wire, &a, ++t->msg_seq, buf, buf_bytes);
	if (n < 0) {
		if (mb != NULL) {
			rte_pktmbuf_free(mb);
		}
		return n;
	}
	int rc;
	if (mb == NULL) {
		rc = transport_send_udp(t, p, n);
	} else {
		mb->data_len = (uint16_t)n;
		mb->pkt_len = (uint32_t)n;
		if (t->tx_ring != NULL) {
			rc = dp_ring_push_elems(t->tx_ring, &mb, 1) == 1 ? 0 : -ENOBUFS;
			if (rc != 0) {
				rte_pktmbuf_free(mb);
				t->tx_ring_full++;
				t->counters.send_failed++;
			}
		} else {
			rc = dp_port_tx(t->port, &mb, 1) == 1 ? 0 : -ENOBUFS;
			if (rc != 0) {
				t->counters.send_failed++;
			}
		}
	}
	if (rc == 0) {
		t->counters.sent++;
	}
	return rc;
}

int dp_transport_send(struct dp_transport *t, const struct raft_message *m,
		      const uint8_t *const *payloads)
{
	RN_ASSERT(t != NULL && m != NULL);
	const struct dp_peer *p = transport_peer(t, m->to);
	if (p == NULL) {
		t->counters.no_route++;
		return -DP_ERR_INVALID;
	}
	struct dp_endpoints a;
	transport_addr(t, p, &a);
	int rc = transport_emit(t, &a, m, payloads, NULL);
	if (rc == 0) {
		t->counters.sent++;
	}
	return rc;
}

/* After the tag verified (a forged frame never moves a window): false for
 * a consensus frame the sender's window refuses (replayed, too old). */
static bool transport_fresh(struct dp_transport *t, const struct dp_rx_frame *f)
{
	if (t->replay == NULL) {
		return true;
	}
	/* Only a frame from the sender's own address moves its window: a
	 * peer-keyed frame from elsewhere (or from no peer of ours) goes on
	 * to control's admission, which drops and counts it (not_member,
	 * wrong_address), and must not push the real sender's window past
	 * its genuine frames. */
	raft_node_id from = dp_replay_frame_sender(f);
	if (from != RAFT_NODE_NONE) {
		const struct dp_peer *p = transport_peer(t, from);
		if (p == NULL || p->ip != f->addr.src_ip || p->port != f->addr.src_port) {
			return true;
		}
	}
	return dp_replay_admit_frame(t->replay, f) == DP_REPLAY_NEW;
}

/* One received datagram (in m's buffer) decoded into m. True if accepted. */
static bool transport_accept_udp(struct dp_transport *t, struct dp_rx_msg *m, size_t bytes,
				 const struct sockaddr_in *from)
{
	t->counters.looked_at++;
	if (dp_wire_decode_udp(&t->wire, m->udp_buf, bytes, m->entries,
			       DP_TRANSPORT_RX_ENTRIES_MAX, &m->frame) != 0) {
		return false;
	}
	/* The socket knows the sender: a client reply goes back there (and
	 * the replay window asks whether it is the sender's address). */
	m->frame.addr.src_ip = ntohl(from->sin_addr.s_addr);
	m->frame.addr.src_port = ntohs(from->sin_port);
	m->frame.addr.dst_ip = t->self_ip;
	m->frame.addr.dst_port = t->self_port;
	if (!transport_fresh(t, &m->frame)) {
		return false;
	}
	m->mbuf = NULL;
	return true;
}

/* Event policy: after a receive read the socket dry, this many receives
 * are skipped unless the socket fires first (dp_transport_woken). A wake-up
 * runs two or three rounds, and each used to end in a recvmmsg returning
 * EAGAIN (4 per commit on a follower at one in flight). Bounded, not
 * "until it fires": an lcore that stays busy never calls epoll, and a
 * datagram that came meanwhile waits at most this many rounds. */
#define DP_UDP_DRY_SKIP_ROUNDS 4u

/*
 * Up to count accepted datagrams into msgs, each in its own buffer, with
 * recvmmsg: one system call for a burst instead of a recvfrom per
 * datagram plus the EAGAIN that ends the burst. A call that returns fewer
 * datagrams than it had room for read the socket dry (it stops at the
 * first EAGAIN), which is what an lcore that then sleeps on the socket
 * (edge-triggered) needs. A datagram that fails to decode leaves its
 * buffer to the next one (a copy, only on that rare path).
 */
static uint32_t transport_recv_udp(struct dp_transport *t, struct dp_rx_msg *const *msgs,
				   uint32_t count)
{
	if (t->rx_skip_left > 0) {
		/* Read dry since, and the socket has not fired: every
		 * datagram that came after that read fired it (EPOLLET), so
		 * a receive now would return EAGAIN. */
		t->rx_skip_left--;
		t->counters.rx_reads_skipped++;
		return 0;
	}
	struct mmsghdr vec[DP_BURST_MAX];
	struct iovec iov[DP_BURST_MAX];
	struct sockaddr_in from[DP_BURST_MAX];
	uint32_t filled = 0;
	uint32_t looked = 0;
	while (filled < count && looked < DP_BURST_MAX) {
		uint32_t want = (uint32_t)rn_min_u64(count - filled, DP_BURST_MAX - looked);
		for (uint32_t i = 0; i < want; i++) {
			iov[i] = (struct iovec){.iov_base = msgs[filled + i]->udp_buf,
						.iov_len = DP_FRAME_BYTES_MAX};
			vec[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i],
							      .msg_namelen = sizeof(from[i]),
							      .msg_iov = &iov[i], .msg_iovlen = 1}};
		}
		int n = recvmmsg(t->fd, vec, want, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			t->rx_skip_left = t->rx_event_driven ? DP_UDP_DRY_SKIP_ROUNDS : 0;
			break; /* EAGAIN: nothing more now */
		}
		looked += (uint32_t)n;
		uint32_t base = filled;
		for (uint32_t i = 0; i < (uint32_t)n; i++) {
			struct dp_rx_msg *m = msgs[filled];
			if (filled != base + i) {
				memcpy(m->udp_buf, msgs[base + i]->udp_buf, vec[i].msg_len);
			}
			filled += transport_accept_udp(t, m, vec[i].msg_len, &from[i]) ? 1u : 0u;
		}
		if ((uint32_t)n < want) {
			t->rx_skip_left = t->rx_event_driven ? DP_UDP_DRY_SKIP_ROUNDS : 0;
			break; /* read dry */
		}
	}
	return filled;
}

void dp_transport_learn(struct dp_transport *t, const struct dp_rx_frame *in)
{
	/* A peer configured with mac = auto: take its MAC from its first
	 * authenticated frame (the tag proves the sender holds the secret). */
	static const uint8_t zero[6];
	RN_ASSERT(t != NULL && in != NULL);
	if (t->kind != DP_TRANSPORT_DPDK || in->type == 0 || in->type >= RAFT_MSG_TYPE_COUNT ||
	    in->raft.from == RAFT_NODE_NONE) {
		return;
	}
	for (uint32_t i = 0; i < t->peers_count; i++) {
		struct dp_peer *p = &t->peers[i];
		if (p->id == in->raft.from && memcmp(p->mac, zero, 6) == 0 &&
		    p->ip == in->addr.src_ip) {
			memcpy(p->mac, in->addr.src_mac, 6);
		}
	}
}

/* Up to count accepted frames into msgs; each keeps its mbuf. ARP requests
 * and pings to us are answered here, out of the port. */
static uint32_t transport_recv_dpdk(struct dp_transport *t, struct dp_rx_msg *const *msgs,
				    uint32_t count)
{
	struct rte_mbuf *rx[DP_BURST_MAX];
	struct dp_host host = {.ip = t->self_ip};
	memcpy(host.mac, t->port->mac, 6);
	uint32_t filled = 0;
	uint32_t looked = 0;
	while (filled < count && looked < DP_BURST_MAX) {
		uint32_t want = (uint32_t)rn_min_u64(count - filled, DP_BURST_MAX - looked);
		uint16_t n = dp_port_rx(t->port, rx, (uint16_t)want);
		if (n == 0) {
			break;
		}
		looked += n;
		t->counters.looked_at += n;
		for (uint16_t i = 0; i < n; i++) {
			uint8_t *f = rte_pktmbuf_mtod(rx[i], uint8_t *);
			size_t answer = rx[i]->nb_segs == 1 ? dp_l2_answer(&host, f, rx[i]->data_len)
							    : 0;
			if (answer > 0) {
				rx[i]->data_len = (uint16_t)answer;
				rx[i]->pkt_len = (uint32_t)answer;
				rx[i]->ol_flags = 0;
				dp_port_tx(t->port, &rx[i], 1);
				continue;
			}
			struct dp_rx_msg *m = msgs[filled];
			if (rx[i]->nb_segs == 1 &&
			    dp_wire_decode(&t->wire, f, rx[i]->data_len, m->entries,
					   DP_TRANSPORT_RX_ENTRIES_MAX, &m->frame) == 0 &&
			    transport_fresh(t, &m->frame)) {
				m->mbuf = rx[i]; /* valid until dp_transport_rx_done */
				filled++;
			} else {
				rte_pktmbuf_free(rx[i]);
			}
		}
	}
	return filled;
}

uint32_t dp_transport_recv(struct dp_transport *t, struct dp_rx_msg *const *msgs,
			   uint32_t count)
{
	RN_ASSERT(t != NULL && (msgs != NULL || count == 0));
	uint32_t n = t->kind == DP_TRANSPORT_DPDK ? transport_recv_dpdk(t, msgs, count)
						   : transport_recv_udp(t, msgs, count);
	t->counters.received += n;
	return n;
}

void dp_transport_rx_done(struct dp_rx_msg *m)
{
	RN_ASSERT(m != NULL);
	if (m->mbuf != NULL) {
		rte_pktmbuf_free(m->mbuf);
		m->mbuf = NULL;
	}
}

uint32_t dp_transport_tx_discard(struct dp_transport *t)
{
	RN_ASSERT(t != NULL);
	uint32_t n = 0;
	struct rte_mbuf *mb;
	while (t->tx_ring != NULL && dp_ring_pop_elems(t->tx_ring, &mb, 1) == 1) {
		rte_pktmbuf_free(mb);
		n++;
	}
	return n;
}

size_t dp_rx_msgs_bytes(uint8_t kind, uint32_t count)
{
	size_t one = sizeof(struct dp_rx_msg) + (kind == DP_TRANSPORT_UDP ? DP_FRAME_BYTES_MAX : 0);
	return ((one * count) + 63) & ~(size_t)63;
}

struct dp_rx_msg *dp_rx_msgs_create(uint8_t kind, uint32_t count)
{
	size_t bytes = dp_rx_msgs_bytes(kind, count);
	struct dp_rx_msg *msgs = count == 0 ? NULL : aligned_alloc(64, bytes);
	if (msgs == NULL) {
		return NULL;
	}
	memset(msgs, 0, bytes); /* touched now: sized at start */
	if (kind == DP_TRANSPORT_UDP) {
		uint8_t *bufs = (uint8_t *)(msgs + count);
		for (uint32_t i = 0; i < count; i++) {
			msgs[i].udp_buf = bufs + (size_t)i * DP_FRAME_BYTES_MAX;
		}
	}
	return msgs;
}

void dp_rx_msgs_destroy(struct dp_rx_msg *msgs)
{
	free(msgs);
}

int dp_transport_wait_fd(const struct dp_transport *t)
{
	RN_ASSERT(t != NULL);
	if (t->kind == DP_TRANSPORT_UDP) {
		return t->fd;
	}
	/* A port whose driver has no rx interrupt (DPDK 22.11's af_packet,
	 * memif) is polled: its lcore naps. */
	int fd = dp_port_rx_intr_fd(t->port);
	return fd >= 0 ? fd : DP_WAIT_FD_POLL;
}

bool dp_transport_sleep_arm(struct dp_transport *t, bool on)
{
	RN_ASSERT(t != NULL);
	return t->kind == DP_TRANSPORT_DPDK && dp_port_rx_intr_arm(t->port, on);
}

void dp_transport_woken(struct dp_transport *t, bool input_fired)
{
	RN_ASSERT(t != NULL);
	if (t->kind != DP_TRANSPORT_UDP) {
		return;
	}
	t->rx_event_driven = true; /* only the event policy calls this */
	if (input_fired) {
		t->rx_skip_left = 0;
	}
}

void dp_transport_set_replay(struct dp_transport *t, struct dp_replay *r)
{
	RN_ASSERT(t != NULL);
	t->replay = r;
}

void dp_transport_set_tx_ring(struct dp_transport *t, struct dp_ring *ring)
{
	RN_ASSERT(t != NULL);
	t->tx_ring = t->kind == DP_TRANSPORT_DPDK ? ring : NULL;
}

uint32_t dp_transport_tx_flush(struct dp_transport *t)
{
	RN_ASSERT(t != NULL);
	if (t->tx_ring == NULL) {
		return 0;
	}
	struct rte_mbuf *mbufs[DP_BURST_MAX];
	uint32_t n = dp_ring_pop_elems(t->tx_ring, mbufs, DP_BURST_MAX);
	if (n > 0) {
		dp_port_tx(t->port, mbufs, (uint16_t)n); /* frees and counts what it cannot send */
	}
	return n;
}

int dp_transport_send_reply(struct dp_transport *t, const struct dp_endpoints *client,
			    const struct dp_client_reply *rep)
{
	RN_ASSERT(t != NULL && client != NULL && rep != NULL);
	/* Under the key the request came with: a client mid-rotation holds
	 * only that one. */
	struct dp_endpoints a = {.src_ip = t->self_ip, .src_port = t->self_port,
				 .dst_ip = client->src_ip, .dst_port = client->src_port,
				 .key_id = client->key_id};
	memcpy(a.src_mac, client->dst_mac, 6);
	memcpy(a.dst_mac, client->src_mac, 6);
	int rc = transport_emit(t, &a, NULL, NULL, rep);
	if (rc == 0) {
		t->counters.sent++;
	}
	return rc;
}

uint32_t dp_transport_poll(struct dp_transport *t, dp_transport_rx_fn fn, void *user)
{
	RN_ASSERT(t != NULL && fn != NULL);
	struct dp_rx_msg *m = &t->poll_msg;
	uint32_t n = 0;
	while (n < DP_BURST_MAX && dp_transport_recv(t, &m, 1) == 1) {
		dp_transport_learn(t, &m->frame);
		fn(user, &m->frame); /* valid until rx_done */
		dp_transport_rx_done(m);
		n++;
	}
	return n;
}
