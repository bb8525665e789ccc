/* SPDX-License-Identifier: MIT */
/*
 * fanout.c - replication fan-out without copying the payload: one message
 * body (an AppendEntries with its entries' payloads) goes to several
 * followers as several frames that all point at the same body mbuf.
 *
 * Each follower's frame is a chain of three segments:
 *
 *     [eth | ip | udp | raft header]  ->  [indirect mbuf -> shared body]  ->  [tag]
 *
 * The header segment differs per follower (addresses, `to`), the body is
 * attached, not copied (rte_pktmbuf_attach raises the body's refcount; each
 * frame's free lowers it, so the body lives until the last frame is sent),
 * and the tag segment holds that follower's tag. The tag is nested
 * (wire_auth.c): the body's keyed digest is computed once for all
 * followers, then one 64-byte SipHash per follower - the per-follower cost
 * does not grow with the payload.
 *
 * The device must accept multi-segment frames (net_memif and net_ring do;
 * a PCI NIC lists RTE_ETH_TX_OFFLOAD_MULTI_SEGS).
 */
#include <errno.h>

#include <rte_mbuf.h>

#include "common.h"
#include "wire_internal.h"

#define FANOUT_HDR_BYTES WIRE_BODY_OFFSET
_Static_assert(FANOUT_HDR_BYTES == 106, "eth + ipv4 + udp + raft header: 106 bytes");

static int fanout_one(const struct dp_wire *w, struct rte_mempool *pool, struct rte_mbuf *body,
		      const struct wire_hdr *hdr, const uint8_t key[DP_KEY_BYTES],
		      const uint8_t digest[DP_TAG_BYTES],
		      const struct dp_fanout_target *t, struct rte_mbuf **out)
{
	struct rte_mbuf *segs[3];
	if (rte_pktmbuf_alloc_bulk(pool, segs, 3) != 0) {
		return -ENOMEM;
	}
	struct rte_mbuf *h = segs[0], *mi = segs[1], *tag = segs[2];
	struct wire_hdr mine = *hdr;
	mine.to = t->to;
	uint8_t *hbuf = (uint8_t *)rte_pktmbuf_append(h, FANOUT_HDR_BYTES);
	uint8_t *tbuf = (uint8_t *)rte_pktmbuf_append(tag, DP_TAG_BYTES);
	RN_ASSERT(hbuf != NULL && tbuf != NULL); /* a fresh mbuf has room for 90 bytes */
	wire_frame_headers(w, &t->addr, &mine, hbuf);
	wire_auth_tag_parts(key, hbuf + WIRE_RAFT_OFFSET, digest, DP_TAG_BYTES, tbuf);
	rte_pktmbuf_attach(mi, body);
	if (rte_pktmbuf_chain(h, mi) != 0 || rte_pktmbuf_chain(h, tag) != 0) {
		rte_pktmbuf_free(h); /* frees what is chained */
		return -EINVAL;
	}
	*out = h;
	return 0;
}

int dp_fanout(const struct dp_wire *w, struct rte_mempool *pool, struct rte_mbuf *body,
	      const struct dp_fanout_msg *msg, const struct dp_fanout_target *targets,
	      uint32_t targets_count, struct rte_mbuf **out)
{
	RN_ASSERT(w != NULL && pool != NULL && body != NULL && msg != NULL);
	RN_ASSERT(targets != NULL && out != NULL);
	if (body->nb_segs != 1 || targets_count == 0 || targets_count > RAFT_NODES_MAX ||
	    wire_frame_bytes(body->data_len) > DP_FRAME_BYTES_MAX) {
		return -DP_ERR_INVALID;
	}
	const uint8_t *bytes = rte_pktmbuf_mtod(body, const uint8_t *);
	uint8_t digest[DP_TAG_BYTES];
	uint8_t key[DP_KEY_BYTES];
	struct wire_hdr hdr = {
		.type = msg->type, .from = msg->from, .term = msg->term,
		.msg_seq = msg->msg_seq, .body_bytes = body->data_len,
		.msg_body_bytes = body->data_len,
	};
	wire_keys_seal(w, hdr.type, 0, key, &hdr.key_id); /* once: every copy's key */
	wire_auth_body_digest(key, bytes, body->data_len, digest);
	for (uint32_t i = 0; i < targets_count; i++) {
		int rc = fanout_one(w, pool, body, &hdr, key, digest, &targets[i], &out[i]);
		if (rc != 0) {
			for (uint32_t j = 0; j < i; j++) {
				rte_pktmbuf_free(out[j]);
			}
			return rc;
		}
	}
	return 0;
}
