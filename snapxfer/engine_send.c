/* SPDX-License-Identifier: MIT */
/*
 * engine_send.c - the sending half of the snapshot transfer engine: one
 * transfer per follower, chunks within the follower's window, retransmit on
 * a timeout or on repeated acks, resume from what the follower holds. Pure:
 * no I/O, no clock (now_ns is an input), no allocation, no threads; it runs
 * on whichever thread owns the struct (snapxfer's thread).
 *
 * Design. Chunks ride the node's own transport, one authenticated frame
 * each (DP_FRAME_SNAP_CHUNK / _ACK), rather than a side TCP connection:
 * one path that works the same on bare-metal DPDK ports and on CI's kernel
 * UDP and virtual devices, with the cluster's key, addresses and MTU, and
 * no second port to open, secure or fail over. The price is that the
 * engine must do what TCP would: flow control and loss recovery.
 *
 * Flow control: each ack is cumulative (the receiver holds [0, acked)) and
 * carries a window, the bytes the receiver can take past it (its inbound
 * ring's frames times their data); the sender never sends a byte past
 * acked + window of the newest ack, so the receiver's ring, not the
 * network, is the bound, and a receiver that cannot take more (a file to
 * verify, one awaiting install) says window 0 and is probed on a backing-
 * off timer. Loss: the receiver writes a chunk past a gap at its offset
 * (the staging file is its reorder buffer, engine_recv.c) and repeats its
 * ack; after dupacks_resend repeats the sender resends the one chunk at
 * the acked offset, and while the acks that follow stop short of what had
 * been sent it resends each next hole at once (NewReno's partial acks). A
 * timeout without progress sends everything from the acked offset again
 * (go-back-N: what the receiver holds past its gap is unknown) with the
 * timeout doubled up to rto_ns_max; timeouts_max timeouts without any answer
 * give up. Resumption: a transfer is named by its file (snapshot index,
 * term, size, whole-file CRC32C), not by its sender, and starts with a
 * zero-byte probe; the receiver answers with what it holds of that id, so
 * an offer after a loss, a give-up or a leader change with the same file
 * sends only the missing tail. An ack RESTART (the staged file failed its
 * CRC, or the receiver has nothing of a transfer it is asked to continue)
 * sends the sender back to 0, up to restarts_max times after the whole
 * file went out (then it gives up: the file does not match its id); an
 * ordinary ack below the acked offset is an old one overtaken and ignored.
 *
 * Memory: a fixed array of SNAPXFER_PEERS_MAX transfers of ~150 bytes on
 * the sender, one transfer's state on the receiver; bytes in flight are
 * bounded by each window, and the data itself lives in the caller's frames
 * and files, never here; the receiver keeps at most SNAPXFER_RECV_RANGES_MAX
 * ranges of out-of-order bytes (their data is in the staging file).
 */
#include <errno.h>
#include <string.h>

#include "common.h"
#include "snapxfer.h"

#define SEND_DUPACKS_DEFAULT 3u
#define SEND_RESTARTS_DEFAULT 3u

int snapxfer_send_init(struct snapxfer_send *s, const struct snapxfer_send_config *cfg)
{
	RN_ASSERT(s != NULL && cfg != NULL);
	memset(s, 0, sizeof(*s));
	if (cfg->rto_ns == 0 || cfg->rto_ns_max < cfg->rto_ns || cfg->timeouts_max == 0) {
		return -EINVAL;
	}
	s->cfg = *cfg;
	if (s->cfg.dupacks_resend == 0) {
		s->cfg.dupacks_resend = SEND_DUPACKS_DEFAULT;
	}
	if (s->cfg.restarts_max == 0) {
		s->cfg.restarts_max = SEND_RESTARTS_DEFAULT;
	}
	return 0;
}

static struct snapxfer_send_peer *send_find(struct snapxfer_send *s, raft_node_id peer)
{
	for (uint32_t i = 0; i < SNAPXFER_PEERS_MAX; i++) {
		if (s->peers[i].state != SNAPXFER_SEND_FREE && s->peers[i].peer == peer) {
			return &s->peers[i];
		}
	}
	return NULL;
}

const struct snapxfer_send_peer *snapxfer_send_find(const struct snapxfer_send *s,
						    raft_node_id peer)
{
	RN_ASSERT(s != NULL);
	return send_find((struct snapxfer_send *)(uintptr_t)s, peer);
}

static bool send_id_equal(const struct dp_snap_id *a, const struct dp_snap_id *b)
{
	return a->index == b->index && a->term == b->term && a->total_bytes == b->total_bytes &&
	       a->crc32c == b->crc32c;
}

int snapxfer_send_start(struct snapxfer_send *s, raft_node_id peer, raft_term term,
			const struct dp_snap_id *id, uint32_t chunk_bytes, uint64_t now_ns)
{
	RN_ASSERT(s != NULL && id != NULL);
	if (peer == RAFT_NODE_NONE || chunk_bytes == 0 || chunk_bytes > DP_SNAP_DATA_BYTES_MAX ||
	    id->index == 0 || id->term == 0 || id->total_bytes == 0 || id->term > term) {
		return -EINVAL;
	}
	struct snapxfer_send_peer *p = send_find(s, peer);
	if (p != NULL && p->state == SNAPXFER_SEND_ACTIVE && p->term == term &&
	    send_id_equal(&p->id, id)) {
		return 0; /* already on it */
	}
	for (uint32_t i = 0; p == NULL && i < SNAPXFER_PEERS_MAX; i++) {
		if (s->peers[i].state == SNAPXFER_SEND_FREE) {
			p = &s->peers[i];
		}
	}
	if (p == NULL) {
		return -ENOSPC;
	}
	*p = (struct snapxfer_send_peer){
		.state = SNAPXFER_SEND_ACTIVE, .probe_due = true, .peer = peer, .term = term,
		.id = *id, .chunk_bytes = chunk_bytes, .rto_ns = s->cfg.rto_ns,
		.deadline_ns = now_ns + s->cfg.rto_ns};
	return 0;
}

void snapxfer_send_cancel(struct snapxfer_send *s, raft_node_id peer)
{
	RN_ASSERT(s != NULL);
	struct snapxfer_send_peer *p = send_find(s, peer);
	if (p != NULL) {
		memset(p, 0, sizeof(*p));
	}
}

static void send_finish(struct snapxfer_send_peer *p, uint8_t report, uint8_t reason)
{
	p->state = SNAPXFER_SEND_REPORT;
	p->report = report;
	p->reason = reason;
}

/* Sends everything from the acked offset again (go-back-N): a timeout,
 * when what the receiver holds past its gap is not known. */
static void send_go_back(struct snapxfer_send_peer *p)
{
	p->next_bytes = p->acked_bytes;
	p->recover_bytes = p->sent_max_bytes;
	p->resend_due = false;
	p->dupacks = 0;
}

/* An ack whose acked offset is at the sender's: while bytes are in flight
 * the receiver is holding chunks past a gap at acked. After
 * dupacks_resend of them, the chunk at acked goes again, once per
 * recovery (until acked passes what had been sent then). */
static void send_on_same_ack(struct snapxfer_send *s, struct snapxfer_send_peer *p)
{
	if (p->next_bytes == p->acked_bytes) {
		return;
	}
	p->dupacks++;
	if (p->dupacks == s->cfg.dupacks_resend && p->acked_bytes >= p->recover_bytes) {
		p->resend_due = true;
		p->recover_bytes = p->sent_max_bytes;
	}
}

void snapxfer_send_on_ack(struct snapxfer_send *s, raft_node_id from, raft_term term,
			  const struct dp_snap_ack *a, uint64_t now_ns)
{
	RN_ASSERT(s != NULL && a != NULL);
	struct snapxfer_send_peer *p = send_find(s, from);
	if (p == NULL || p->state != SNAPXFER_SEND_ACTIVE || !send_id_equal(&p->id, &a->id) ||
	    term < p->term || a->acked_bytes > a->id.total_bytes) {
		/* No such transfer, an older attempt's, or a record no decoder
		 * passed (the decoder refuses acked past the file). */
		s->counters.acks_ignored++;
		return;
	}
	if (term > p->term || a->reason == DP_SNAP_ACK_REFUSE_STALE) {
		send_finish(p, SNAPXFER_ACT_SEND_FAILED, DP_SNAP_ACK_REFUSE_STALE);
		return; /* a newer leader is about: this one is deposed */
	}
	if (a->reason >= DP_SNAP_ACK_REFUSE_STALE) {
		send_finish(p, SNAPXFER_ACT_SEND_FAILED, a->reason);
		return;
	}
	if (a->reason == DP_SNAP_ACK_DONE) {
		send_finish(p, SNAPXFER_ACT_SEND_DONE, DP_SNAP_ACK_DONE);
		return;
	}
	p->timeouts_in_row = 0; /* it answers */
	if (a->reason != DP_SNAP_ACK_RESTART && p->answered && a->acked_bytes < p->acked_bytes) {
		return; /* an old ack overtaken by newer ones: its window is old too */
	}
	p->answered = true;
	p->window_bytes = a->window_bytes;
	if (a->reason == DP_SNAP_ACK_RESTART && p->sent_max_bytes == p->id.total_bytes &&
	    ++p->restarts >= s->cfg.restarts_max) {
		send_finish(p, SNAPXFER_ACT_SEND_FAILED, DP_SNAP_ACK_RESTART);
		s->counters.restarts++;
		return;
	}
	if (a->reason == DP_SNAP_ACK_RESTART) {
		p->acked_bytes = a->acked_bytes;
		p->recover_bytes = a->acked_bytes;
		p->next_bytes = a->acked_bytes;
		p->resend_due = false;
		p->dupacks = 0;
		s->counters.restarts++;
	} else if (a->acked_bytes > p->acked_bytes) {
		p->acked_bytes = a->acked_bytes; /* progress */
		p->next_bytes = rn_max_u64(p->next_bytes, p->acked_bytes);
		p->dupacks = 0;
		/* A partial ack in recovery: the receiver filled one gap and
		 * stops at the next; resend that one now (NewReno). */
		p->resend_due = p->acked_bytes < p->recover_bytes &&
				p->acked_bytes < p->next_bytes;
	} else {
		RN_ASSERT(a->acked_bytes == p->acked_bytes);
		send_on_same_ack(s, p);
		return; /* no progress: the deadline stays */
	}
	p->rto_ns = s->cfg.rto_ns;
	p->deadline_ns = now_ns + p->rto_ns;
	RN_ASSERT(p->acked_bytes <= p->next_bytes);
	RN_ASSERT(p->next_bytes <= p->id.total_bytes);
}

/* A timeout without progress: go back (bytes in flight) or probe (none,
 * or no answer yet), with the timeout doubled. */
static void send_timeout(struct snapxfer_send *s, struct snapxfer_send_peer *p, uint64_t now_ns)
{
	p->timeouts_in_row++;
	if (p->timeouts_in_row > s->cfg.timeouts_max) {
		send_finish(p, SNAPXFER_ACT_SEND_FAILED, SNAPXFER_FAIL_UNANSWERED);
		return;
	}
	if (p->answered && p->next_bytes > p->acked_bytes) {
		send_go_back(p);
		s->counters.go_backs_timeout++;
	} else {
		p->probe_due = true;
	}
	p->rto_ns = rn_min_u64(p->rto_ns * 2, s->cfg.rto_ns_max);
	p->deadline_ns = now_ns + p->rto_ns;
}

static void send_action(struct snapxfer_action *act, const struct snapxfer_send_peer *p,
			uint8_t kind)
{
	memset(act, 0, sizeof(*act));
	act->kind = kind;
	act->peer = p->peer;
	act->term = p->term;
	act->id = p->id;
}

/* The bytes the next chunk may carry: its size, the file's end and the
 * window all bound it (0: nothing may go now). */
static uint32_t send_next_bytes(const struct snapxfer_send_peer *p)
{
	if (!p->answered || p->next_bytes >= p->id.total_bytes) {
		return 0;
	}
	uint64_t limit = p->acked_bytes + p->window_bytes;
	if (p->next_bytes >= limit) {
		return 0;
	}
	uint64_t bytes = rn_min_u64(p->chunk_bytes, p->id.total_bytes - p->next_bytes);
	return (uint32_t)rn_min_u64(bytes, limit - p->next_bytes);
}

/* The actions of one peer while room lasts (room actions, of which
 * *frames_left chunks); returns how many. */
static uint32_t send_peer_poll(struct snapxfer_send *s, struct snapxfer_send_peer *p,
			       struct snapxfer_action *acts, uint32_t room, uint32_t *frames_left)
{
	uint32_t n = 0;
	if (p->state == SNAPXFER_SEND_REPORT) {
		send_action(&acts[n], p, p->report);
		acts[n++].reason = p->reason;
		if (p->report == SNAPXFER_ACT_SEND_DONE) {
			s->counters.done++;
		} else {
			s->counters.failed++;
		}
		memset(p, 0, sizeof(*p));
		return n;
	}
	if (room > *frames_left) {
		room = *frames_left; /* from here on every action is a frame */
	}
	if (p->probe_due && n < room) {
		send_action(&acts[n], p, SNAPXFER_ACT_SEND_CHUNK);
		acts[n++].offset_bytes = p->acked_bytes;
		p->probe_due = false;
		s->counters.probes_sent++;
	}
	if (p->resend_due && n < room) {
		/* The chunk at acked, within the window as any other. */
		uint64_t bytes = rn_min_u64(p->chunk_bytes, p->id.total_bytes - p->acked_bytes);
		bytes = rn_min_u64(bytes, p->window_bytes);
		if (bytes > 0) {
			send_action(&acts[n], p, SNAPXFER_ACT_SEND_CHUNK);
			acts[n].offset_bytes = p->acked_bytes;
			acts[n++].bytes = (uint32_t)bytes;
			s->counters.chunks_sent++;
			s->counters.data_bytes_sent += bytes;
			s->counters.data_bytes_resent += bytes;
			s->counters.fast_resends++;
		}
		p->resend_due = false;
	}
	uint32_t bytes;
	while (n < room && (bytes = send_next_bytes(p)) > 0) {
		send_action(&acts[n], p, SNAPXFER_ACT_SEND_CHUNK);
		acts[n].offset_bytes = p->next_bytes;
		acts[n++].bytes = bytes;
		if (p->next_bytes < p->sent_max_bytes) {
			s->counters.data_bytes_resent +=
				rn_min_u64(bytes, p->sent_max_bytes - p->next_bytes);
		}
		p->next_bytes += bytes;
		p->sent_max_bytes = rn_max_u64(p->sent_max_bytes, p->next_bytes);
		s->counters.chunks_sent++;
		s->counters.data_bytes_sent += bytes;
	}
	/* No assert that next stays within acked + window: a peer may shrink
	 * its window below what is already in flight (acks are input). Each
	 * chunk was within the window when it went (send_next_bytes). */
	RN_ASSERT(n <= *frames_left);
	*frames_left -= n;
	return n;
}

uint32_t snapxfer_send_poll(struct snapxfer_send *s, uint64_t now_ns,
			    struct snapxfer_action *acts, uint32_t acts_max, uint32_t frames_max)
{
	RN_ASSERT(s != NULL);
	RN_ASSERT(acts != NULL || acts_max == 0);
	for (uint32_t i = 0; i < SNAPXFER_PEERS_MAX; i++) {
		struct snapxfer_send_peer *p = &s->peers[i];
		if (p->state == SNAPXFER_SEND_ACTIVE && now_ns >= p->deadline_ns) {
			send_timeout(s, p, now_ns);
		}
	}
	uint32_t n = 0;
	for (uint32_t k = 0; k < SNAPXFER_PEERS_MAX && n < acts_max; k++) {
		struct snapxfer_send_peer *p = &s->peers[(s->rr + k) % SNAPXFER_PEERS_MAX];
		if (p->state != SNAPXFER_SEND_FREE) {
			n += send_peer_poll(s, p, acts + n, acts_max - n, &frames_max);
		}
	}
	s->rr = (s->rr + 1) % SNAPXFER_PEERS_MAX;
	RN_ASSERT(n <= acts_max);
	return n;
}

uint64_t snapxfer_send_deadline_ns(const struct snapxfer_send *s)
{
	RN_ASSERT(s != NULL);
	uint64_t deadline_ns = UINT64_MAX;
	for (uint32_t i = 0; i < SNAPXFER_PEERS_MAX; i++) {
		const struct snapxfer_send_peer *p = &s->peers[i];
		if (p->state == SNAPXFER_SEND_REPORT) {
			return 0; /* a report to emit now */
		}
		if (p->state == SNAPXFER_SEND_ACTIVE) {
			deadline_ns = rn_min_u64(deadline_ns, p->deadline_ns);
		}
	}
	return deadline_ns;
}
