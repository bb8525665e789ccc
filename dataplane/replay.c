/* SPDX-License-Identifier: MIT */
/*
 * replay.c - per-sender anti-replay windows for consensus frames (issue 17).
 * Runs on the lcore that receives (the rx/tx stage), after the tag check.
 *
 * A sender is a node id. For each, the newest boot epoch heard, the highest
 * msg_seq accepted in it, and a ring bitmap of DP_REPLAY_WINDOW_WORDS words
 * (RFC 6479): msg_seq s is bit s % 64 of word (s / 64) % words. Moving the
 * top forward clears only the words it passes over (a word per 64 seqs, or
 * none), so a frame costs a table scan of a few ids, one or two word
 * writes, and no shift of the whole map. The words live below the top are
 * the window; the one being filled may hold bits above the top, which is
 * why DP_REPLAY_WINDOW_SEQS is one word short of the ring.
 *
 * Why a window and not "highest only": UDP and a bridge may reorder, and a
 * sender's msg_seq counts every frame it sends (to every peer and client),
 * so one receiver sees gaps; a frame that arrives after a later one is
 * accepted as long as it is inside the window and was not seen.
 *
 * The table is sized at init (DP_REPLAY_SENDERS_MAX at most). Members are
 * at most RAFT_NODES_MAX; the node sizes it larger, so a full table means
 * many members came and went. Then the sender heard from least recently
 * leaves (counted): it is a removed node, whose replayed frames the core
 * refuses anyway as from a non-member.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "dataplane.h"

#define REPLAY_RING_SEQS ((uint64_t)DP_REPLAY_WINDOW_WORDS * 64u)
_Static_assert((DP_REPLAY_WINDOW_WORDS & (DP_REPLAY_WINDOW_WORDS - 1u)) == 0,
	       "the ring's word index is a mask");
_Static_assert(DP_REPLAY_WINDOW_WORDS >= 2, "a window needs a word below the top's");

/* Single writer (the owning lcore); status reads with relaxed loads. */
static inline void replay_count(uint64_t *c)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

int dp_replay_init(struct dp_replay *r, uint32_t senders_max)
{
	RN_ASSERT(r != NULL);
	memset(r, 0, sizeof(*r));
	if (senders_max == 0 || senders_max > DP_REPLAY_SENDERS_MAX) {
		return -DP_ERR_INVALID;
	}
	r->senders = calloc(senders_max, sizeof(*r->senders));
	if (r->senders == NULL) {
		return -ENOMEM;
	}
	r->senders_max = senders_max;
	return 0;
}

void dp_replay_fini(struct dp_replay *r)
{
	RN_ASSERT(r != NULL);
	free(r->senders);
	memset(r, 0, sizeof(*r));
}

static struct dp_replay_sender *replay_find(const struct dp_replay *r, raft_node_id from)
{
	for (uint32_t i = 0; i < r->senders_count; i++) {
		if (r->senders[i].id == from) {
			return &r->senders[i];
		}
	}
	return NULL;
}

static bool replay_bit(const struct dp_replay_sender *s, uint64_t seq)
{
	uint64_t word = s->bits[(seq / 64u) & (DP_REPLAY_WINDOW_WORDS - 1u)];
	return (word >> (seq % 64u) & 1u) != 0;
}

/* The verdict for a known sender (no change). */
static enum dp_replay_verdict replay_judge(const struct dp_replay_sender *s, uint32_t epoch,
					   uint64_t seq)
{
	if (epoch != s->epoch) {
		return epoch < s->epoch ? DP_REPLAY_TOO_OLD : DP_REPLAY_NEW;
	}
	if (seq > s->top_seq) {
		return DP_REPLAY_NEW;
	}
	if (s->top_seq - seq >= DP_REPLAY_WINDOW_SEQS) {
		return DP_REPLAY_TOO_OLD;
	}
	return replay_bit(s, seq) ? DP_REPLAY_REPLAYED : DP_REPLAY_NEW;
}

enum dp_replay_verdict dp_replay_check(const struct dp_replay *r, raft_node_id from,
				       uint32_t epoch, uint64_t msg_seq)
{
	RN_ASSERT(r != NULL && r->senders != NULL);
	const struct dp_replay_sender *s = replay_find(r, from);
	return s == NULL ? DP_REPLAY_NEW : replay_judge(s, epoch, msg_seq);
}

/* A slot for a sender never heard (or evicted): a free one, else the one
 * heard from least recently. */
static struct dp_replay_sender *replay_take(struct dp_replay *r)
{
	if (r->senders_count < r->senders_max) {
		return &r->senders[r->senders_count++];
	}
	struct dp_replay_sender *oldest = &r->senders[0];
	for (uint32_t i = 1; i < r->senders_count; i++) {
		if (r->senders[i].last_used < oldest->last_used) {
			oldest = &r->senders[i];
		}
	}
	replay_count(&r->counters.senders_evicted);
	return oldest;
}

/* Starts s's window at (epoch, seq): the first frame of a sender, or of
 * its new epoch. */
static void replay_reset(struct dp_replay_sender *s, raft_node_id from, uint32_t epoch,
			 uint64_t seq)
{
	memset(s->bits, 0, sizeof(s->bits));
	s->id = from;
	s->epoch = epoch;
	s->top_seq = seq;
}

/* Marks seq (judged new in s's epoch), moving the top up if it is above. */
static void replay_mark(struct dp_replay_sender *s, uint64_t seq)
{
	if (seq > s->top_seq) {
		uint64_t top_word = s->top_seq / 64u;
		uint64_t new_word = seq / 64u;
		if (new_word - top_word >= DP_REPLAY_WINDOW_WORDS) {
			memset(s->bits, 0, sizeof(s->bits)); /* jumped past the whole ring */
		} else {
			for (uint64_t w = top_word + 1; w <= new_word; w++) {
				s->bits[w & (DP_REPLAY_WINDOW_WORDS - 1u)] = 0;
			}
		}
		s->top_seq = seq;
	}
	RN_ASSERT(s->top_seq - seq < DP_REPLAY_WINDOW_SEQS); /* judged inside the window */
	s->bits[(seq / 64u) & (DP_REPLAY_WINDOW_WORDS - 1u)] |= 1ull << (seq % 64u);
}

enum dp_replay_verdict dp_replay_admit(struct dp_replay *r, raft_node_id from, uint32_t epoch,
				       uint64_t msg_seq)
{
	RN_ASSERT(r != NULL && r->senders != NULL);
	struct dp_replay_sender *s = replay_find(r, from);
	enum dp_replay_verdict v = DP_REPLAY_NEW;
	if (s == NULL) {
		s = replay_take(r);
		replay_reset(s, from, epoch, msg_seq);
	} else {
		v = replay_judge(s, epoch, msg_seq);
		if (v == DP_REPLAY_NEW && epoch != s->epoch) {
			RN_ASSERT(epoch > s->epoch); /* an older one is TOO_OLD */
			replay_count(&r->counters.epochs_new);
			replay_reset(s, from, epoch, msg_seq);
		}
	}
	switch (v) {
	case DP_REPLAY_NEW:
		replay_mark(s, msg_seq);
		RN_ASSERT(replay_bit(s, msg_seq));
		s->last_used = ++r->clock;
		replay_count(&r->counters.accepted);
		break;
	case DP_REPLAY_REPLAYED:
		replay_count(&r->counters.replayed);
		break;
	case DP_REPLAY_TOO_OLD:
		replay_count(&r->counters.too_old);
		if (epoch < s->epoch) {
			replay_count(&r->counters.old_epoch);
		}
		break;
	}
	return v;
}

raft_node_id dp_replay_frame_sender(const struct dp_rx_frame *f)
{
	RN_ASSERT(f != NULL);
	if (f->type >= 1 && f->type < RAFT_MSG_TYPE_COUNT) {
		return f->raft.from;
	}
	if (f->type == DP_FRAME_SNAP_CHUNK) {
		return f->snap_chunk.from;
	}
	if (f->type == DP_FRAME_SNAP_ACK) {
		return f->snap_ack.from;
	}
	if (f->type == DP_FRAME_SETTINGS) {
		return f->settings.from; /* node to node: an old one replayed would accuse a peer */
	}
	return RAFT_NODE_NONE; /* a client frame: its session is the dedup */
}

enum dp_replay_verdict dp_replay_admit_frame(struct dp_replay *r, const struct dp_rx_frame *f)
{
	raft_node_id from = dp_replay_frame_sender(f);
	if (from == RAFT_NODE_NONE) {
		return DP_REPLAY_NEW;
	}
	return dp_replay_admit(r, from, f->boot_epoch, f->msg_seq);
}

void dp_replay_read(const struct dp_replay *r, struct dp_replay_counters *out)
{
	RN_ASSERT(r != NULL && out != NULL);
	const struct dp_replay_counters *c = &r->counters;
	out->accepted = __atomic_load_n(&c->accepted, __ATOMIC_RELAXED);
	out->replayed = __atomic_load_n(&c->replayed, __ATOMIC_RELAXED);
	out->too_old = __atomic_load_n(&c->too_old, __ATOMIC_RELAXED);
	out->old_epoch = __atomic_load_n(&c->old_epoch, __ATOMIC_RELAXED);
	out->epochs_new = __atomic_load_n(&c->epochs_new, __ATOMIC_RELAXED);
	out->senders_evicted = __atomic_load_n(&c->senders_evicted, __ATOMIC_RELAXED);
}
