/* SPDX-License-Identifier: MIT */
/*
 * barepipe_client.c - the bare pipeline's client (bench/barepipe.h): a
 * closed loop of --inflight requests. Each request is an 8-byte id (slot
 * and generation) and the value; the requests sent at one moment share
 * datagrams (packed up to BP_DGRAM_BYTES_MAX), and each reply datagram
 * carries the ids of a committed batch. A request's latency is from the
 * sendmmsg that carried it to the recvmmsg that brought its id back; it
 * counts when its reply came in the measured window (after the warm-up).
 * No retransmit: a datagram lost stalls the loop, and after 2 s without a
 * reply the client says so and fails (on loopback and the cluster's veths
 * with 8 MiB socket buffers it does not happen).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "barepipe.h"

#define BP_CLIENT_TIMEOUT_S 2

struct bp_client {
	const struct bp_config *cfg;
	struct bp_stats *st;
	int fd;
	uint32_t rec_bytes, per_dgram;
	uint64_t *sent_ns;
	uint32_t *gen;
	uint32_t *resend, resend_count;
	unsigned char *tx; /* BP_BATCH_DGRAMS_MAX x BP_DGRAM_BYTES_MAX */
	struct mmsghdr tx_msgs[BP_BATCH_DGRAMS_MAX];
	struct iovec tx_iov[BP_BATCH_DGRAMS_MAX];
};

/* Sends the requests of the slots in c->resend, packed into datagrams. */
static int bp_client_send(struct bp_client *c)
{
	unsigned d = 0;
	for (uint32_t r = 0; r < c->resend_count; d++) {
		unsigned char *dg = c->tx + (size_t)d * BP_DGRAM_BYTES_MAX;
		uint32_t k = c->resend_count - r < c->per_dgram ? c->resend_count - r : c->per_dgram;
		*(struct bp_hdr *)dg = (struct bp_hdr){.magic = BP_MAGIC, .type = BP_REQ,
						       .count = (uint16_t)k, .rec_bytes = c->rec_bytes};
		for (uint32_t j = 0; j < k; j++) {
			uint32_t slot = c->resend[r + j];
			uint64_t id = (uint64_t)c->gen[slot] << 32 | slot;
			memcpy(dg + sizeof(struct bp_hdr) + (size_t)j * c->rec_bytes, &id, 8);
		}
		c->tx_iov[d] = (struct iovec){dg, sizeof(struct bp_hdr) + (size_t)k * c->rec_bytes};
		c->tx_msgs[d].msg_hdr = (struct msghdr){.msg_name = (void *)&c->cfg->addr[0],
							.msg_namelen = sizeof(c->cfg->addr[0]),
							.msg_iov = &c->tx_iov[d],
							.msg_iovlen = 1};
		r += k;
	}
	uint64_t now_ns = bp_now_ns();
	for (uint32_t r = 0; r < c->resend_count; r++) {
		c->sent_ns[c->resend[r]] = now_ns;
	}
	c->resend_count = 0;
	return bp_send_all(c->fd, c->tx_msgs, d);
}

/* The ids of one reply datagram: recorded, and their slots sent again
 * while the run lasts. Returns how many requests it completed. */
static uint32_t bp_client_reply(struct bp_client *c, const unsigned char *dg, unsigned len_bytes,
				uint64_t now_ns, uint64_t warm_end_ns, uint64_t end_ns)
{
	const struct bp_hdr *h = (const struct bp_hdr *)dg;
	if (len_bytes < sizeof(*h) || h->magic != BP_MAGIC || h->type != BP_REPLY ||
	    len_bytes != sizeof(*h) + (size_t)h->count * 8) {
		return 0;
	}
	uint32_t done = 0;
	for (uint32_t j = 0; j < h->count; j++) {
		uint64_t id;
		memcpy(&id, dg + sizeof(*h) + (size_t)j * 8, 8);
		uint32_t slot = (uint32_t)id;
		if (slot >= c->cfg->inflight || (uint32_t)(id >> 32) != c->gen[slot]) {
			continue; /* not one in flight: ignored */
		}
		c->gen[slot]++;
		done++;
		if (now_ns >= warm_end_ns && now_ns < end_ns) {
			bench_hist_record(&c->st->latency_ns, now_ns - c->sent_ns[slot]);
			c->st->commits++;
		}
		if (now_ns < end_ns) {
			c->resend[c->resend_count++] = slot;
		}
	}
	c->st->batches++;
	return done;
}

static int bp_client_loop(struct bp_client *c, struct bp_rx *rx)
{
	uint64_t start_ns = bp_now_ns();
	uint64_t warm_end_ns = start_ns + (uint64_t)(c->cfg->warmup_s * 1e9);
	uint64_t end_ns = warm_end_ns + (uint64_t)(c->cfg->duration_s * 1e9);
	for (uint32_t s = 0; s < c->cfg->inflight; s++) {
		c->resend[c->resend_count++] = s;
	}
	uint64_t outstanding = c->cfg->inflight;
	if (bp_client_send(c) != 0) {
		return -1;
	}
	while (outstanding > 0) {
		int n = bp_rx_wait(c->fd, rx);
		if (n < 0) {
			return -1;
		}
		if (n == 0) {
			fprintf(stderr, "barepipe: client: no reply for %d s with %llu in flight (a datagram "
					"lost, or a role died)\n",
				BP_CLIENT_TIMEOUT_S, (unsigned long long)outstanding);
			return -1;
		}
		uint64_t now_ns = bp_now_ns();
		for (int i = 0; i < n; i++) {
			outstanding -= bp_client_reply(c, rx->iov[i].iov_base, rx->msgs[i].msg_len, now_ns,
						       warm_end_ns, end_ns);
		}
		outstanding += c->resend_count;
		if (c->resend_count > 0 && bp_client_send(c) != 0) {
			return -1;
		}
	}
	c->st->measured_s = c->cfg->duration_s;
	return 0;
}

int bp_client(const struct bp_config *cfg, struct bp_stats *st)
{
	static struct bp_client c; /* large (the message arrays): not on the stack */
	static struct bp_rx rx;
	c = (struct bp_client){.cfg = cfg, .st = st, .rec_bytes = 8 + cfg->value_bytes};
	c.per_dgram = bp_recs_per_dgram(c.rec_bytes);
	if ((uint64_t)cfg->inflight > (uint64_t)c.per_dgram * BP_BATCH_DGRAMS_MAX) {
		fprintf(stderr, "barepipe: --inflight %u: at most %u with %u-byte values (one batch)\n",
			cfg->inflight, c.per_dgram * BP_BATCH_DGRAMS_MAX, cfg->value_bytes);
		return -1;
	}
	c.fd = bp_socket(NULL);
	struct timeval tv = {.tv_sec = BP_CLIENT_TIMEOUT_S};
	if (c.fd >= 0) {
		(void)setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	c.sent_ns = calloc(cfg->inflight, sizeof(*c.sent_ns));
	c.gen = calloc(cfg->inflight, sizeof(*c.gen));
	c.resend = calloc(cfg->inflight, sizeof(*c.resend));
	c.tx = bp_buf_alloc((uint64_t)BP_BATCH_DGRAMS_MAX * BP_DGRAM_BYTES_MAX);
	int rc = -1;
	if (c.fd >= 0 && c.sent_ns && c.gen && c.resend && c.tx && bp_rx_init(&rx) == 0) {
		/* The value's bytes: any, the same in every request. */
		for (unsigned d = 0; d < BP_BATCH_DGRAMS_MAX; d++) {
			memset(c.tx + (size_t)d * BP_DGRAM_BYTES_MAX + sizeof(struct bp_hdr), 'v',
			       BP_DGRAM_BYTES_MAX - sizeof(struct bp_hdr));
		}
		double cpu0_s = bp_cpu_s();
		rc = bp_client_loop(&c, &rx);
		st->cpu_s = bp_cpu_s() - cpu0_s;
	}
	if (c.fd >= 0) {
		/* Stop the leader (it stops the followers), also after a failure. */
		struct bp_hdr stop = {.magic = BP_MAGIC, .type = BP_STOP};
		(void)sendto(c.fd, &stop, sizeof(stop), 0, (const struct sockaddr *)&cfg->addr[0],
			     sizeof(cfg->addr[0]));
		close(c.fd);
	}
	free(rx.bufs);
	free(c.sent_ns), free(c.gen), free(c.resend), free(c.tx);
	st->ok = rc == 0;
	return rc;
}
