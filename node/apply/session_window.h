/* SPDX-License-Identifier: MIT */
/*
 * session_window.h - the window of a client session's recent results, for
 * the key-value state machine's sessions (kv.c). stage: apply.
 *
 * Each session keeps the (sequence number, status) of the `width` most
 * recent commands of its client that were applied, ordered by sequence
 * number, so that a pipelining client's retransmit is answered exactly
 * once even when later requests of the same client were applied before
 * it arrived (node.h, enum node_kv_status). The windows of all sessions
 * are two arrays allocated at start: sessions x width x 9 bytes.
 *
 * Invariant (what makes the answers right): entries leave a session's
 * window only from its bottom (the smallest sequence number), so every
 * command of the session applied with a sequence number at or above the
 * window's oldest is in the window. A sequence number inside the span
 * that is not in the window was therefore never applied; one below it
 * may have been, and the window can no longer tell.
 */
#ifndef RN_NODE_APPLY_SESSION_WINDOW_H
#define RN_NODE_APPLY_SESSION_WINDOW_H

#include <stdint.h>

/* One session's window: a ring of `width` positions in the shared
 * arrays, ascending by sequence number from `start`. */
struct node_window {
	uint32_t start; /* ring position of the oldest entry */
	uint32_t count; /* entries, <= width */
};

/* Every session's window, `width` positions each, session i's at
 * [i x width, (i + 1) x width). Two arrays, not an array of (seq, status)
 * pairs: 9 bytes an entry instead of 16. */
struct node_windows {
	uint64_t *seq;
	uint8_t *status;
	uint32_t width;
	uint32_t sessions;
};

enum node_window_verdict {
	NODE_WINDOW_NEW = 0,	   /* never applied: apply it, then record it */
	NODE_WINDOW_DUPLICATE = 1, /* in the window: its status is the answer */
	NODE_WINDOW_STALE = 2,	   /* below the window's span: cannot tell */
};

/* Bytes node_window_init() allocates. */
uint64_t node_window_bytes(uint32_t sessions, uint32_t width);
/* Allocates and touches the arrays: 0 or -ENOMEM (node_window_fini frees
 * what was made). width >= 1. */
int node_window_init(struct node_windows *w, uint32_t sessions, uint32_t width);
void node_window_fini(struct node_windows *w);
/* What to do with the command `seq` of the session in slot `session`
 * whose window is `r`; on NODE_WINDOW_DUPLICATE, *status is the status it
 * was applied with. O(1) for a sequence number above the newest (a client's
 * next request), O(log width) otherwise. */
enum node_window_verdict node_window_check(const struct node_windows *w, uint32_t session,
					   const struct node_window *r, uint64_t seq,
					   uint8_t *status);
/* Records the applied command `seq` (node_window_check said NEW): when the
 * window is full its oldest entry leaves. O(1) for a sequence number above
 * the newest, O(width) for one inside the span (a late retry). */
void node_window_record(struct node_windows *w, uint32_t session, struct node_window *r,
			uint64_t seq, uint8_t status);

#endif /* RN_NODE_APPLY_SESSION_WINDOW_H */
