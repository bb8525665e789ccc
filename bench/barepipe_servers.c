/* SPDX-License-Identifier: MIT */
/*
 * barepipe_servers.c - the bare pipeline's leader and followers
 * (bench/barepipe.h). One thread each, blocking in recvmmsg or in its
 * durable pwrite; every buffer is sized before the first datagram.
 *
 * Leader, one batch at a time: the requests that arrived since the last
 * batch left become the next batch (group commit), sent to both followers
 * first and then written, so its write and theirs overlap; it is committed
 * once the leader's write returned and one follower acknowledged its last
 * datagram (2 of 3 durable); then the client gets the batch's ids back.
 * Follower: every append datagram one recvmmsg returned is written with
 * one pwrite, then acknowledged with the highest sequence in it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "barepipe.h"

#define BP_BODY_BYTES_MAX (BP_DGRAM_BYTES_MAX - (uint32_t)sizeof(struct bp_hdr))
#define BP_BATCH_BYTES_MAX ((uint64_t)BP_BATCH_DGRAMS_MAX * BP_BODY_BYTES_MAX)
#define BP_IDS_PER_REPLY (BP_BODY_BYTES_MAX / 8u)

/* The header of datagram I when it is ours and says no more than it
 * carries; NULL (ignored) otherwise. */
static const struct bp_hdr *bp_rx_hdr(const struct bp_rx *rx, int i)
{
	const struct bp_hdr *h = rx->iov[i].iov_base;
	unsigned len_bytes = rx->msgs[i].msg_len;
	if (len_bytes < sizeof(*h) || h->magic != BP_MAGIC) {
		return NULL;
	}
	uint64_t body_bytes = len_bytes - sizeof(*h);
	switch (h->type) {
	case BP_REQ:
		return h->rec_bytes >= 8 && (uint64_t)h->count * h->rec_bytes == body_bytes ? h : NULL;
	case BP_APPEND:
		return h->body_bytes == body_bytes ? h : NULL;
	default:
		return h;
	}
}

static void bp_ready(const struct bp_config *cfg)
{
	if (cfg->ready_fd >= 0 && write(cfg->ready_fd, "r", 1) != 1) {
		fprintf(stderr, "barepipe: telling the parent: %s\n", strerror(errno));
	}
}

static uint64_t bp_round_up_block(uint64_t bytes)
{
	return (bytes + BP_BLOCK_BYTES - 1) / BP_BLOCK_BYTES * BP_BLOCK_BYTES;
}

struct bp_leader {
	const struct bp_config *cfg;
	struct bp_stats *st;
	int fd, file_fd;
	uint64_t file_off;
	unsigned char *pending, *batch; /* swapped when a batch starts */
	uint64_t pending_bytes, pending_cap_bytes;
	uint32_t rec_bytes;
	struct sockaddr_in client;
	uint64_t next_seq, last_seq, acked_seq; /* last_seq 0: no batch in flight */
	/* The appends of a batch to each follower, and its replies. */
	unsigned char *tx; /* BP_BATCH_DGRAMS_MAX x BP_DGRAM_BYTES_MAX */
	struct mmsghdr tx_msgs[2 * BP_BATCH_DGRAMS_MAX];
	struct iovec tx_iov[2 * BP_BATCH_DGRAMS_MAX];
	unsigned char *replies;
	struct mmsghdr reply_msgs[BP_BATCH_DGRAMS_MAX];
	struct iovec reply_iov[BP_BATCH_DGRAMS_MAX];
	unsigned reply_count;
};

/* Packs the batch's ids into reply datagrams, sent once it commits. */
static void bp_leader_replies(struct bp_leader *l, uint64_t bytes)
{
	uint64_t recs = bytes / l->rec_bytes;
	unsigned d = 0;
	for (uint64_t r = 0; r < recs; d++) {
		unsigned char *dg = l->replies + (size_t)d * BP_DGRAM_BYTES_MAX;
		uint64_t k = recs - r < BP_IDS_PER_REPLY ? recs - r : BP_IDS_PER_REPLY;
		struct bp_hdr *h = (struct bp_hdr *)dg;
		*h = (struct bp_hdr){.magic = BP_MAGIC, .type = BP_REPLY, .count = (uint16_t)k};
		for (uint64_t j = 0; j < k; j++) {
			memcpy(dg + sizeof(*h) + j * 8, l->batch + (r + j) * l->rec_bytes, 8);
		}
		l->reply_iov[d] = (struct iovec){dg, sizeof(*h) + k * 8};
		l->reply_msgs[d].msg_hdr = (struct msghdr){.msg_name = &l->client,
							   .msg_namelen = sizeof(l->client),
							   .msg_iov = &l->reply_iov[d],
							   .msg_iovlen = 1};
		r += k;
	}
	l->reply_count = d;
}

/* The pending requests become a batch: appends out to both followers,
 * then the leader's own durable write (overlapping theirs). */
static int bp_leader_start_batch(struct bp_leader *l)
{
	unsigned char *b = l->pending;
	uint64_t bytes = l->pending_bytes;
	l->pending = l->batch;
	l->pending_bytes = 0;
	l->batch = b;
	uint64_t per_dgram_bytes = (uint64_t)bp_recs_per_dgram(l->rec_bytes) * l->rec_bytes;
	unsigned d = 0;
	for (uint64_t off = 0; off < bytes; off += per_dgram_bytes, d++) {
		uint64_t k = bytes - off < per_dgram_bytes ? bytes - off : per_dgram_bytes;
		unsigned char *dg = l->tx + (size_t)d * BP_DGRAM_BYTES_MAX;
		*(struct bp_hdr *)dg = (struct bp_hdr){.magic = BP_MAGIC, .type = BP_APPEND,
						       .body_bytes = (uint32_t)k, .seq = l->next_seq++};
		memcpy(dg + sizeof(struct bp_hdr), b + off, k);
		for (unsigned f = 0; f < 2; f++) {
			unsigned m = f * BP_BATCH_DGRAMS_MAX + d;
			l->tx_iov[m] = (struct iovec){dg, sizeof(struct bp_hdr) + k};
			l->tx_msgs[m].msg_hdr = (struct msghdr){
				.msg_name = (void *)&l->cfg->addr[1 + f],
				.msg_namelen = sizeof(l->cfg->addr[1 + f]),
				.msg_iov = &l->tx_iov[m],
				.msg_iovlen = 1};
		}
	}
	l->last_seq = l->next_seq - 1;
	if (bp_send_all(l->fd, l->tx_msgs, d) != 0 ||
	    bp_send_all(l->fd, l->tx_msgs + BP_BATCH_DGRAMS_MAX, d) != 0) {
		return -1;
	}
	bp_leader_replies(l, bytes);
	l->st->batches++;
	l->st->records += bytes / l->rec_bytes;
	/* The padding past the records is whatever the buffer held: a
	 * block-sized write, as fio's, whatever the batch's size. */
	return bp_write(l->cfg, l->file_fd, b, bp_round_up_block(bytes), &l->file_off, l->st);
}

/* One received datagram: 1 to stop, -1 on a client error. */
static int bp_leader_take(struct bp_leader *l, const struct bp_rx *rx, int i)
{
	const struct bp_hdr *h = bp_rx_hdr(rx, i);
	if (h == NULL) {
		return 0;
	}
	if (h->type == BP_REQ) {
		uint64_t bytes = (uint64_t)h->count * h->rec_bytes;
		if (l->rec_bytes == 0) {
			l->rec_bytes = h->rec_bytes;
			l->pending_cap_bytes = (uint64_t)BP_BATCH_DGRAMS_MAX *
					       bp_recs_per_dgram(l->rec_bytes) * l->rec_bytes;
		}
		if (h->rec_bytes != l->rec_bytes || l->pending_bytes + bytes > l->pending_cap_bytes) {
			fprintf(stderr, "barepipe: leader: a request of another size or more in "
					"flight than one batch holds: refused\n");
			return -1;
		}
		memcpy(l->pending + l->pending_bytes, (const unsigned char *)h + sizeof(*h), bytes);
		l->pending_bytes += bytes;
		l->client = rx->src[i];
	} else if (h->type == BP_ACK) {
		l->acked_seq = h->seq > l->acked_seq ? h->seq : l->acked_seq;
	} else if (h->type == BP_STOP) {
		return 1;
	}
	return 0;
}

static int bp_leader_loop(struct bp_leader *l, struct bp_rx *rx)
{
	for (;;) {
		if (l->last_seq == 0 && l->pending_bytes > 0 && bp_leader_start_batch(l) != 0) {
			return -1;
		}
		/* The leader's write has returned (start_batch blocks in it):
		 * one follower's ack makes the majority. */
		if (l->last_seq != 0 && l->acked_seq >= l->last_seq) {
			if (bp_send_all(l->fd, l->reply_msgs, l->reply_count) != 0) {
				return -1;
			}
			l->st->commits++;
			l->last_seq = 0;
			continue;
		}
		int n = bp_rx_wait(l->fd, rx);
		if (n < 0) {
			return -1;
		}
		for (int i = 0; i < n; i++) {
			int rc = bp_leader_take(l, rx, i);
			if (rc != 0) {
				return rc > 0 ? 0 : -1;
			}
		}
	}
}

int bp_leader(const struct bp_config *cfg, struct bp_stats *st)
{
	static struct bp_leader l; /* large (the message arrays): not on the stack */
	static struct bp_rx rx;
	l = (struct bp_leader){.cfg = cfg, .st = st, .next_seq = 1};
	l.fd = bp_socket(&cfg->addr[0]);
	l.file_fd = l.fd < 0 ? -1 : bp_file_open(cfg, "leader");
	uint64_t buf_bytes = BP_BATCH_BYTES_MAX + BP_BLOCK_BYTES;
	l.pending = bp_buf_alloc(buf_bytes);
	l.batch = bp_buf_alloc(buf_bytes);
	l.tx = bp_buf_alloc((uint64_t)BP_BATCH_DGRAMS_MAX * BP_DGRAM_BYTES_MAX);
	l.replies = bp_buf_alloc((uint64_t)BP_BATCH_DGRAMS_MAX * BP_DGRAM_BYTES_MAX);
	int rc = -1;
	if (l.file_fd >= 0 && l.pending && l.batch && l.tx && l.replies && bp_rx_init(&rx) == 0) {
		bp_ready(cfg);
		double cpu0_s = bp_cpu_s();
		rc = bp_leader_loop(&l, &rx);
		st->cpu_s = bp_cpu_s() - cpu0_s;
		/* The followers stop with the leader. */
		struct bp_hdr stop = {.magic = BP_MAGIC, .type = BP_STOP};
		for (int f = 1; f <= 2; f++) {
			(void)sendto(l.fd, &stop, sizeof(stop), 0, (const struct sockaddr *)&cfg->addr[f],
				     sizeof(cfg->addr[f]));
		}
	}
	free(rx.bufs);
	free(l.pending), free(l.batch), free(l.tx), free(l.replies);
	if (l.file_fd >= 0) {
		close(l.file_fd);
	}
	if (l.fd >= 0) {
		close(l.fd);
	}
	st->ok = rc == 0;
	return rc;
}

/* One recvmmsg's appends: gathered into one write, then one ack. 1: stop. */
static int bp_follower_round(const struct bp_config *cfg, int fd, int file_fd, struct bp_rx *rx,
			     int n, unsigned char *wbuf, uint64_t *file_off, struct bp_stats *st)
{
	uint64_t bytes = 0, top_seq = 0;
	struct sockaddr_in leader = {0};
	int stop = 0;
	for (int i = 0; i < n; i++) {
		const struct bp_hdr *h = bp_rx_hdr(rx, i);
		if (h != NULL && h->type == BP_STOP) {
			stop = 1;
		}
		if (h == NULL || h->type != BP_APPEND) {
			continue;
		}
		memcpy(wbuf + bytes, (const unsigned char *)h + sizeof(*h), h->body_bytes);
		bytes += h->body_bytes;
		st->seq_gaps += h->seq > st->seq_top + 1 ? h->seq - st->seq_top - 1 : 0;
		st->seq_top = h->seq > st->seq_top ? h->seq : st->seq_top;
		st->records++;
		top_seq = h->seq > top_seq ? h->seq : top_seq;
		leader = rx->src[i];
	}
	if (top_seq != 0) {
		if (bp_write(cfg, file_fd, wbuf, bp_round_up_block(bytes), file_off, st) != 0) {
			return -1;
		}
		st->batches++;
		struct bp_hdr ack = {.magic = BP_MAGIC, .type = BP_ACK, .seq = top_seq};
		if (sendto(fd, &ack, sizeof(ack), 0, (const struct sockaddr *)&leader, sizeof(leader)) !=
		    (ssize_t)sizeof(ack)) {
			fprintf(stderr, "barepipe: follower: ack: %s\n", strerror(errno));
			return -1;
		}
	}
	return stop;
}

int bp_follower(const struct bp_config *cfg, int which, struct bp_stats *st)
{
	static struct bp_rx rx;
	char name[16];
	snprintf(name, sizeof(name), "follower%d", which);
	int fd = bp_socket(&cfg->addr[which]);
	int file_fd = fd < 0 ? -1 : bp_file_open(cfg, name);
	unsigned char *wbuf = bp_buf_alloc((uint64_t)BP_VLEN_MAX * BP_DGRAM_BYTES_MAX + BP_BLOCK_BYTES);
	uint64_t file_off = 0;
	int rc = -1;
	if (file_fd >= 0 && wbuf != NULL && bp_rx_init(&rx) == 0) {
		bp_ready(cfg);
		double cpu0_s = bp_cpu_s();
		for (rc = 0; rc == 0;) {
			int n = bp_rx_wait(fd, &rx);
			rc = n < 0 ? -1 : bp_follower_round(cfg, fd, file_fd, &rx, n, wbuf, &file_off, st);
		}
		rc = rc > 0 ? 0 : rc;
		st->cpu_s = bp_cpu_s() - cpu0_s;
	}
	free(rx.bufs);
	free(wbuf);
	if (file_fd >= 0) {
		close(file_fd);
	}
	if (fd >= 0) {
		close(fd);
	}
	st->ok = rc == 0;
	return rc;
}
