/* SPDX-License-Identifier: MIT */
/*
 * engine_recv.c - the receiving half of the snapshot transfer engine (the
 * design is at the top of engine_send.c): the one transfer a follower is
 * assembling in its staging file, in order, acknowledged cumulatively.
 * Pure: no I/O, no clock, no allocation; the caller performs the actions.
 *
 * Out-of-order chunks are kept without memory: the staging file is the
 * reorder buffer. A chunk past a gap but within the window is written at
 * its offset and remembered as a range (at most SNAPXFER_RECV_RANGES_MAX,
 * 16 bytes each); when the gap fills, the staged offset moves past every
 * range it reaches, and the cumulative ack jumps with it. The sender
 * resends only the chunk at the acked offset on repeated acks (each
 * out-of-order chunk repeats the ack), so a loss costs about one chunk,
 * not the window behind it (go-back-N, which dropping them would force,
 * cost 1.9x the file at 3 % loss with a 32-chunk window; the table in
 * test_snapxfer_engine prints what it costs now). Chunks past the window
 * or past the last free range are dropped: the ack stays one number, and a
 * sender that keeps to the window never sees that.
 *
 * Which transfer wins: a chunk of a term below the receiver's is refused
 * (REFUSE_STALE: that leader is deposed). Another id replaces the one in
 * progress when its term is higher (a new leader) or equal with a snapshot
 * index at least as high (the same leader's newer snapshot); an older
 * snapshot in the same term is a late frame of a transfer its leader
 * already replaced, and is refused (REFUSE_SUPERSEDED) rather than allowed
 * to throw away the newer one's bytes. The same id from a new leader keeps
 * the bytes staged: a new leader resumes where the old one stopped.
 */
#include <errno.h>
#include <string.h>

#include "common.h"
#include "snapxfer.h"

int snapxfer_recv_init(struct snapxfer_recv *r, const struct snapxfer_recv_config *cfg)
{
	RN_ASSERT(r != NULL && cfg != NULL);
	memset(r, 0, sizeof(*r));
	if (cfg->window_bytes == 0 || cfg->staging_bytes_max == 0) {
		return -EINVAL;
	}
	r->cfg = *cfg;
	return 0;
}

static bool recv_id_equal(const struct dp_snap_id *a, const struct dp_snap_id *b)
{
	return a->index == b->index && a->term == b->term && a->total_bytes == b->total_bytes &&
	       a->crc32c == b->crc32c;
}

/* The ack to `to` at the receiver's term about `id`. */
static void recv_ack(const struct snapxfer_recv *r, struct snapxfer_action *act, raft_node_id to,
		     const struct dp_snap_id *id, uint64_t acked_bytes, uint32_t window_bytes,
		     uint8_t reason)
{
	memset(act, 0, sizeof(*act));
	act->kind = SNAPXFER_ACT_SEND_ACK;
	act->peer = to;
	act->term = r->current_term;
	act->id = *id;
	act->ack = (struct dp_snap_ack){.id = *id, .acked_bytes = acked_bytes,
					.window_bytes = window_bytes, .reason = reason};
}

/* The ack about the transfer in progress, as things stand. */
static void recv_ack_state(const struct snapxfer_recv *r, struct snapxfer_action *act,
			   raft_node_id to)
{
	switch (r->state) {
	case SNAPXFER_RECV_RECEIVING:
		recv_ack(r, act, to, &r->id, r->staged_bytes, r->cfg.window_bytes, DP_SNAP_ACK_OK);
		break;
	case SNAPXFER_RECV_VERIFYING:
		recv_ack(r, act, to, &r->id, r->staged_bytes, 0, DP_SNAP_ACK_OK);
		break;
	default:
		RN_ASSERT(r->state == SNAPXFER_RECV_COMPLETE);
		recv_ack(r, act, to, &r->id, r->staged_bytes, 0, DP_SNAP_ACK_DONE);
		break;
	}
}

/* Does a chunk of `id` at `term` take the receiver's place? */
static bool recv_replaces(const struct snapxfer_recv *r, raft_term term, const struct dp_snap_id *id)
{
	return r->state == SNAPXFER_RECV_IDLE || term > r->term || id->index >= r->id.index;
}

/* Starts transfer `id` from nothing: a fresh staging file. */
static uint32_t recv_adopt(struct snapxfer_recv *r, raft_node_id from, raft_term term,
			   const struct dp_snap_id *id, struct snapxfer_action *act)
{
	if (r->state != SNAPXFER_RECV_IDLE) {
		r->counters.replaced++;
	}
	r->state = SNAPXFER_RECV_RECEIVING;
	r->id = *id;
	r->term = term;
	r->leader = from;
	r->staged_bytes = 0;
	r->ranges_count = 0;
	memset(act, 0, sizeof(*act));
	act->kind = SNAPXFER_ACT_STAGE_RESET;
	act->id = *id;
	return 1;
}

/* Moves the staged offset past every range it reaches. */
static void recv_absorb(struct snapxfer_recv *r)
{
	uint32_t k = 0;
	while (k < r->ranges_count && r->ranges[k].begin <= r->staged_bytes) {
		r->staged_bytes = rn_max_u64(r->staged_bytes, r->ranges[k].end);
		k++;
	}
	if (k > 0) {
		memmove(r->ranges, r->ranges + k, (r->ranges_count - k) * sizeof(r->ranges[0]));
		r->ranges_count -= k;
	}
}

/* Remembers [begin, end) (past the staged offset), merged with the ranges
 * it touches. False when it would need a range more than there are. */
static bool recv_hold(struct snapxfer_recv *r, uint64_t begin, uint64_t end)
{
	uint32_t first = 0;
	while (first < r->ranges_count && r->ranges[first].end < begin) {
		first++;
	}
	uint32_t last = first; /* ranges [first, last) touch [begin, end) */
	while (last < r->ranges_count && r->ranges[last].begin <= end) {
		begin = rn_min_u64(begin, r->ranges[last].begin);
		end = rn_max_u64(end, r->ranges[last].end);
		last++;
	}
	if (last == first && r->ranges_count == SNAPXFER_RECV_RANGES_MAX) {
		return false;
	}
	uint32_t tail = r->ranges_count - last;
	uint32_t at = first + 1;
	memmove(r->ranges + at, r->ranges + last, tail * sizeof(r->ranges[0]));
	r->ranges[first] = (struct snapxfer_range){.begin = begin, .end = end};
	r->ranges_count = at + tail;
	RN_ASSERT(r->ranges_count <= SNAPXFER_RECV_RANGES_MAX);
	return true;
}

/* Is [begin, end) inside one held range already? */
static bool recv_held(const struct snapxfer_recv *r, uint64_t begin, uint64_t end)
{
	for (uint32_t k = 0; k < r->ranges_count; k++) {
		if (r->ranges[k].begin <= begin && end <= r->ranges[k].end) {
			return true;
		}
	}
	return false;
}

static void recv_write(struct snapxfer_recv *r, struct snapxfer_action *act, uint64_t offset_bytes,
		       const uint8_t *data, uint32_t bytes)
{
	memset(act, 0, sizeof(*act));
	act->kind = SNAPXFER_ACT_STAGE_WRITE;
	act->id = r->id;
	act->offset_bytes = offset_bytes;
	act->data = data;
	act->bytes = bytes;
	r->counters.data_bytes_accepted += bytes;
}

/* A chunk past the staged offset: written and held, or dropped. */
static uint32_t recv_ahead(struct snapxfer_recv *r, const struct dp_snap_chunk *c,
			   struct snapxfer_action *act)
{
	uint64_t end = c->offset_bytes + c->data_bytes;
	if (recv_held(r, c->offset_bytes, end)) {
		r->counters.duplicates++;
		return 0;
	}
	if (end > r->staged_bytes + r->cfg.window_bytes || !recv_hold(r, c->offset_bytes, end)) {
		r->counters.out_of_order_dropped++;
		return 0;
	}
	r->counters.out_of_order++;
	recv_write(r, act, c->offset_bytes, c->data, c->data_bytes);
	return 1;
}

/* A chunk of the transfer in progress (RECEIVING). */
static uint32_t recv_bytes(struct snapxfer_recv *r, raft_node_id from,
			   const struct dp_snap_chunk *c, bool fresh, struct snapxfer_action *acts)
{
	uint32_t n = 0;
	uint64_t end = c->offset_bytes + c->data_bytes;
	if (c->data_bytes == 0) {
		r->counters.probes++;
	} else if (c->offset_bytes > r->staged_bytes) {
		n += recv_ahead(r, c, &acts[n]);
	} else if (end <= r->staged_bytes) {
		r->counters.duplicates++;
	} else {
		/* New bytes from the staged offset on (a chunk that overlaps it,
		 * cut on another leader's boundaries, gives its tail). */
		uint64_t skip = r->staged_bytes - c->offset_bytes;
		recv_write(r, &acts[n++], r->staged_bytes, c->data + skip,
			   (uint32_t)(c->data_bytes - skip));
		r->staged_bytes = end;
		r->counters.chunks_accepted++;
		recv_absorb(r);
	}
	RN_ASSERT(r->staged_bytes <= r->id.total_bytes);
	if (r->staged_bytes == r->id.total_bytes) {
		RN_ASSERT(r->ranges_count == 0);
		r->state = SNAPXFER_RECV_VERIFYING;
		memset(&acts[n], 0, sizeof(acts[n]));
		acts[n].kind = SNAPXFER_ACT_STAGE_VERIFY;
		acts[n++].id = r->id;
	}
	/* Nothing of this transfer here, asked to continue past 0: say so
	 * plainly, or the sender would take the 0 for an old ack. */
	recv_ack_state(r, &acts[n], from);
	if (fresh && c->offset_bytes > 0 && r->state == SNAPXFER_RECV_RECEIVING) {
		acts[n].ack.reason = DP_SNAP_ACK_RESTART;
	}
	return n + 1;
}

uint32_t snapxfer_recv_chunk(struct snapxfer_recv *r, raft_node_id from, raft_term term,
			     const struct dp_snap_chunk *c, struct snapxfer_action *acts)
{
	RN_ASSERT(r != NULL && c != NULL && acts != NULL);
	/* The decoder checked these; a record that did not come through it
	 * is dropped all the same, never trusted. */
	if (c->id.total_bytes == 0 || c->offset_bytes > c->id.total_bytes ||
	    c->data_bytes > c->id.total_bytes - c->offset_bytes ||
	    (c->data == NULL && c->data_bytes > 0)) {
		r->counters.invalid++;
		return 0;
	}
	if (term < r->current_term) {
		r->counters.stale_dropped++;
		recv_ack(r, acts, from, &c->id, 0, 0, DP_SNAP_ACK_REFUSE_STALE);
		return 1;
	}
	r->current_term = term;
	if (r->state != SNAPXFER_RECV_IDLE && recv_id_equal(&r->id, &c->id)) {
		r->term = term; /* the same file from this leader: resume */
		r->leader = from;
		if (r->state != SNAPXFER_RECV_RECEIVING) {
			recv_ack_state(r, acts, from);
			return 1;
		}
		return recv_bytes(r, from, c, false, acts);
	}
	if (r->state == SNAPXFER_RECV_COMPLETE) {
		r->counters.busy++; /* the verified file awaits install */
		recv_ack(r, acts, from, &c->id, 0, 0, DP_SNAP_ACK_BUSY);
		return 1;
	}
	if (c->id.total_bytes > r->cfg.staging_bytes_max) {
		r->counters.too_big++;
		recv_ack(r, acts, from, &c->id, 0, 0, DP_SNAP_ACK_REFUSE_TOO_BIG);
		return 1;
	}
	if (!recv_replaces(r, term, &c->id)) {
		r->counters.superseded++;
		recv_ack(r, acts, from, &c->id, 0, 0, DP_SNAP_ACK_REFUSE_SUPERSEDED);
		return 1;
	}
	uint32_t n = recv_adopt(r, from, term, &c->id, acts);
	return n + recv_bytes(r, from, c, true, acts + n);
}

uint32_t snapxfer_recv_verified(struct snapxfer_recv *r, const struct dp_snap_id *id,
				uint64_t staged_file_bytes, uint32_t crc32c,
				struct snapxfer_action *acts)
{
	RN_ASSERT(r != NULL && id != NULL && acts != NULL);
	if (r->state != SNAPXFER_RECV_VERIFYING || !recv_id_equal(&r->id, id)) {
		return 0; /* replaced while the caller verified: its verdict is moot */
	}
	if (staged_file_bytes == id->total_bytes && crc32c == id->crc32c) {
		r->state = SNAPXFER_RECV_COMPLETE;
		r->counters.completed++;
		memset(acts, 0, sizeof(*acts));
		acts[0].kind = SNAPXFER_ACT_STAGE_COMPLETE;
		acts[0].id = *id;
		recv_ack_state(r, &acts[1], r->leader);
		return 2;
	}
	/* The staged bytes are not the file (a bad write, a bad disk): all of
	 * it again, into a fresh file. */
	r->counters.crc_mismatches++;
	r->state = SNAPXFER_RECV_RECEIVING;
	r->staged_bytes = 0;
	r->ranges_count = 0;
	memset(acts, 0, sizeof(*acts));
	acts[0].kind = SNAPXFER_ACT_STAGE_RESET;
	acts[0].id = *id;
	recv_ack(r, &acts[1], r->leader, id, 0, r->cfg.window_bytes, DP_SNAP_ACK_RESTART);
	return 2;
}

uint32_t snapxfer_recv_write_failed(struct snapxfer_recv *r, uint64_t offset_bytes, int err,
				    struct snapxfer_action *acts)
{
	RN_ASSERT(r != NULL && acts != NULL);
	RN_ASSERT(err < 0);
	if (r->state == SNAPXFER_RECV_IDLE) {
		return 0;
	}
	r->counters.write_failures++;
	if (offset_bytes < r->staged_bytes) {
		r->staged_bytes = offset_bytes;
	}
	/* A held range may be the one whose write failed: forget them all
	 * (they only save resends). */
	r->ranges_count = 0;
	r->state = SNAPXFER_RECV_RECEIVING;
	uint8_t reason = err == -ENOSPC || err == -EDQUOT ? DP_SNAP_ACK_REFUSE_NO_SPACE
							    : DP_SNAP_ACK_REFUSE_IO;
	recv_ack(r, acts, r->leader, &r->id, r->staged_bytes, 0, reason);
	return 1;
}

void snapxfer_recv_release(struct snapxfer_recv *r)
{
	RN_ASSERT(r != NULL);
	if (r->state == SNAPXFER_RECV_COMPLETE) {
		r->state = SNAPXFER_RECV_IDLE;
		r->staged_bytes = 0;
		r->ranges_count = 0;
	}
}
