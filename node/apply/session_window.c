/* SPDX-License-Identifier: MIT */
/*
 * session_window.c - the window of a client session's recent results
 * (session_window.h says what it keeps and why that is enough).
 * stage: apply (start-up's replay calls it too, before any lcore runs).
 *
 * A session's window is a sorted ring: logical entry i (0 = the oldest)
 * sits at ring position (start + i) mod width. A client's requests usually
 * arrive in order, so the usual record goes at the top in O(1) and, with
 * the window full, overwrites the oldest; only a late retry inside the
 * span shifts the entries above it (O(width), rare). Everything is a
 * function of the applied commands alone: the same on every node.
 */
#include <errno.h>
#include <stdlib.h>

#include "common.h"
#include "session_window.h"

uint64_t node_window_bytes(uint32_t sessions, uint32_t width)
{
	return (uint64_t)sessions * width * (sizeof(uint64_t) + sizeof(uint8_t));
}

int node_window_init(struct node_windows *w, uint32_t sessions, uint32_t width)
{
	RN_ASSERT(width >= 1);
	RN_ASSERT(sessions >= 1);
	uint64_t entries = (uint64_t)sessions * width;
	*w = (struct node_windows){.width = width, .sessions = sessions};
	if (entries > SIZE_MAX / sizeof(uint64_t)) {
		return -ENOMEM;
	}
	w->seq = malloc((size_t)entries * sizeof(uint64_t));
	w->status = malloc((size_t)entries);
	if (w->seq == NULL || w->status == NULL) {
		return -ENOMEM;
	}
	/* Resident from the start, as the rest of the state machine: the
	 * memory line the node prints is what it uses. */
	rn_prefault(w->seq, (size_t)entries * sizeof(uint64_t));
	rn_prefault(w->status, (size_t)entries);
	return 0;
}

void node_window_fini(struct node_windows *w)
{
	free(w->seq);
	free(w->status);
	w->seq = NULL;
	w->status = NULL;
}

/* The array position of logical entry i of the session's window. */
static uint64_t window_at(const struct node_windows *w, uint32_t session,
			  const struct node_window *r, uint32_t i)
{
	RN_ASSERT(session < w->sessions);
	RN_ASSERT(i < w->width);
	uint32_t ring = r->start + i;
	if (ring >= w->width) {
		ring -= w->width; /* start < width and i < width: one wrap at most */
	}
	return (uint64_t)session * w->width + ring;
}

/* How many entries of the window are below seq (where seq goes). */
static uint32_t window_rank(const struct node_windows *w, uint32_t session,
			    const struct node_window *r, uint64_t seq)
{
	uint32_t lo = 0, hi = r->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (w->seq[window_at(w, session, r, mid)] < seq) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	RN_ASSERT(lo <= r->count);
	return lo;
}

enum node_window_verdict node_window_check(const struct node_windows *w, uint32_t session,
					   const struct node_window *r, uint64_t seq,
					   uint8_t *status)
{
	RN_ASSERT(r->count <= w->width);
	if (r->count == 0 || seq > w->seq[window_at(w, session, r, r->count - 1)]) {
		return NODE_WINDOW_NEW; /* the usual case: the client's next request */
	}
	if (seq < w->seq[window_at(w, session, r, 0)]) {
		return NODE_WINDOW_STALE; /* below the span: applied or not, unknown */
	}
	uint32_t i = window_rank(w, session, r, seq);
	RN_ASSERT(i < r->count); /* seq <= the newest */
	uint64_t at = window_at(w, session, r, i);
	if (w->seq[at] != seq) {
		return NODE_WINDOW_NEW; /* inside the span, not in it: never applied */
	}
	*status = w->status[at];
	return NODE_WINDOW_DUPLICATE;
}

void node_window_record(struct node_windows *w, uint32_t session, struct node_window *r,
			uint64_t seq, uint8_t status)
{
	RN_ASSERT(r->count <= w->width);
	RN_ASSERT(r->start < w->width);
	uint32_t rank = r->count == 0 || seq > w->seq[window_at(w, session, r, r->count - 1)]
				? r->count
				: window_rank(w, session, r, seq);
	/* NEW only: not in the window, and not below a full window's span. */
	RN_ASSERT(rank == r->count || w->seq[window_at(w, session, r, rank)] != seq);
	RN_ASSERT(rank > 0 || r->count < w->width);
	if (r->count == w->width) {
		/* Full: the oldest leaves (only ever the bottom: the invariant). */
		r->start = r->start + 1 == w->width ? 0 : r->start + 1;
		r->count--;
		rank--;
	}
	/* Shift what is above seq up by one (nothing, for the usual request). */
	for (uint32_t i = r->count; i > rank; i--) {
		uint64_t to = window_at(w, session, r, i);
		uint64_t from = window_at(w, session, r, i - 1);
		w->seq[to] = w->seq[from];
		w->status[to] = w->status[from];
	}
	uint64_t at = window_at(w, session, r, rank);
	w->seq[at] = seq;
	w->status[at] = status;
	r->count++;
	RN_ASSERT(r->count <= w->width);
}
