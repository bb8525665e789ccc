/* SPDX-License-Identifier: MIT */
/*
 * progress.c - the leader's view of one follower (§3.5, Figure 3.1
 * nextIndex/matchIndex) as a small state machine, after etcd raft's
 * Progress: PROBE sends one append at a time until the follower's log is
 * known to match; REPLICATE pipelines appends up to a window; SNAPSHOT
 * waits on an offered snapshot (snapshot.c). And the rules that decide
 * whether an answer is still news: on a link that reorders or duplicates,
 * most rejections answer appends the leader has already given up on.
 *
 * Why stale answers must be dropped, not merely tolerated: a follower
 * that gets a pipelined window out of order rejects every append whose
 * previous entry has not arrived yet. If each of those rejections (or a
 * duplicate of an old acknowledgement) restarted the window, each restart
 * would put another window on the link, whose appends arrive out of order
 * again: a catch-up over such a link spent its capacity on resent windows
 * (raftsim seed 1020, 3 nodes, --snapshots off: 700,000 messages in 6.6 s
 * and a message-storm violation). Here a rejection moves the leader only
 * when it answers the append it is waiting on; match_index rises on
 * acknowledgements alone, so none of this touches safety: a wrongly
 * dropped answer costs at most a heartbeat interval (the heartbeat answer
 * un-pauses a probe and frees a full window's oldest slot).
 *
 * Precondition for every function here: role is leader, and the progress
 * is a peer's (never our own slot).
 */
#include "internal.h"

/* Probe: one append at a time. Replicate: up to inflight_appends_max
 * appends, and no more than half a log window past what the follower
 * matched: its window is as large as ours, and entries it has no room for
 * would only come back as rejections (a storm with small windows). */
bool progress_paused(const struct raft *r, const struct raft_progress *pr)
{
	if (pr->state == RAFT_PROGRESS_SNAPSHOT) {
		return true; /* until it acknowledges the snapshot, or a re-offer */
	}
	if (pr->state == RAFT_PROGRESS_PROBE) {
		return pr->probe_sent;
	}
	if (pr->next_index > pr->match_index + log_capacity(&r->log) / 2) {
		return true;
	}
	return pr->inflight_count >= r->cfg.inflight_appends_max;
}

void progress_sent(const struct raft *r, struct raft_progress *pr, uint32_t entries_count)
{
	RN_ASSERT(pr->state != RAFT_PROGRESS_SNAPSHOT);
	if (pr->state != RAFT_PROGRESS_REPLICATE) {
		pr->probe_sent = true;
		return;
	}
	if (entries_count == 0) {
		return; /* nothing to track: its answer repeats the last one */
	}
	RN_ASSERT(pr->inflight_count < r->cfg.inflight_appends_max);
	if (pr->inflight_count == 0) {
		pr->inflight_prev = pr->next_index - 1;
	}
	/* Optimistic: assume it arrives, send the next right after. */
	pr->next_index += entries_count;
	uint32_t tail = (pr->inflight_head + pr->inflight_count) % RAFT_INFLIGHT_APPENDS_MAX;
	pr->inflight[tail] = pr->next_index - 1;
	pr->inflight_count++;
}

/* Frees the oldest in-flight append; the next one's prev entry is its last. */
static void progress_inflight_pop(struct raft_progress *pr)
{
	RN_ASSERT(pr->inflight_count > 0);
	pr->inflight_prev = pr->inflight[pr->inflight_head];
	pr->inflight_head = (pr->inflight_head + 1) % RAFT_INFLIGHT_APPENDS_MAX;
	pr->inflight_count--;
}

void progress_free_to(struct raft_progress *pr, raft_index index)
{
	while (pr->inflight_count > 0 && pr->inflight[pr->inflight_head] <= index) {
		progress_inflight_pop(pr);
	}
}

void progress_free_oldest(struct raft_progress *pr)
{
	progress_inflight_pop(pr);
}

/* True when `index` is the prev index of an append in flight or of the
 * next one (next_index - 1: also an empty append's, a commit-only update's,
 * and the one after appends freed as lost). The window's appends are
 * consecutive: the oldest follows inflight_prev, each later one the
 * previous one's last entry. */
static bool progress_sent_prev(const struct raft_progress *pr, raft_index index)
{
	if (index + 1 == pr->next_index) {
		return true;
	}
	if (pr->inflight_count == 0) {
		return false;
	}
	if (index == pr->inflight_prev) {
		return true;
	}
	for (uint32_t i = 0; i < pr->inflight_count; i++) {
		if (pr->inflight[(pr->inflight_head + i) % RAFT_INFLIGHT_APPENDS_MAX] == index) {
			return true;
		}
	}
	return false;
}

void progress_become_probe(struct raft_progress *pr, raft_index next_index)
{
	RN_ASSERT(next_index > pr->match_index);
	pr->state = RAFT_PROGRESS_PROBE;
	pr->probe_sent = false;
	pr->inflight_head = 0;
	pr->inflight_count = 0;
	pr->next_index = next_index;
	pr->window_match = pr->match_index;
}

void progress_become_replicate(struct raft_progress *pr)
{
	pr->state = RAFT_PROGRESS_REPLICATE;
	pr->probe_sent = false;
	pr->inflight_head = 0;
	pr->inflight_count = 0;
	pr->next_index = pr->match_index + 1;
	pr->window_match = pr->match_index;
}

/*
 * A rejection is stale - it answers an append the leader no longer waits
 * on, and says nothing about the follower's log now - when:
 * - it rejects an entry at or below match_index (the follower holds it
 *   durably now);
 * - its hint shows a log shorter than window_match, the match when the
 *   current probe or window started: the follower had acknowledged that
 *   prefix as durable and matching before any append now outstanding
 *   reached it, and holds it for the rest of the term (a crash keeps
 *   durable entries; only a conflicting suffix is ever truncated), so this
 *   answer was written before, to an append given up on. (A hint is the
 *   last index <= min(prev, its last) whose term is <= our prev term: the
 *   matched entry's own qualifies, so a later hint is never below it.)
 * - probing: it rejects another prev_index than the probe's (next - 1);
 * - replicating: neither an append in flight nor the next one has that
 *   prev_index (it answers an append of a window given up on, with other
 *   boundaries).
 * An older window with the same boundaries is indistinguishable from the
 * current one (the wire has no sequence number); such a rejection still
 * turns the follower to probing, once, and every later one is dropped.
 */
static bool progress_reject_stale(const struct raft_progress *pr,
				  const struct raft_msg_append_resp *resp)
{
	RN_ASSERT(pr->window_match <= pr->match_index);
	if (resp->reject_index <= pr->match_index || resp->hint_index < pr->window_match) {
		return true;
	}
	if (pr->state == RAFT_PROGRESS_PROBE) {
		return resp->reject_index + 1 != pr->next_index;
	}
	return !progress_sent_prev(pr, resp->reject_index);
}

/* §3.5 fast backtracking: where the logs can match, from the follower's
 * hint (the last index <= its reject whose term is <= our prev term).
 * Below our window we cannot compare terms: probe at the hint; the
 * follower rejects again if that misses. Never at or below match_index,
 * never past the rejected prev entry. */
static raft_index progress_backtrack(const struct raft *r, const struct raft_progress *pr,
				     const struct raft_msg_append_resp *resp)
{
	raft_index probe_index = resp->hint_index;
	bool comparable = resp->hint_index + 1 >= r->log.first_index;
	if (comparable && resp->hint_term > 0) {
		raft_term t;
		probe_index = log_find_conflict_by_term(&r->log, resp->hint_index, resp->hint_term,
						       &t);
	}
	raft_index next = rn_min_u64(resp->reject_index, probe_index + 1);
	next = rn_max_u64(next, pr->match_index + 1);
	RN_ASSERT(next <= resp->reject_index);
	return next;
}

/* Probing, a rejection (of any append, even one given up on) whose hint is
 * an entry of ours at or past the probe's next entry: the follower's log
 * matches ours up to there (Log Matching; this term's leader is the only
 * writer, and it truncates only a conflicting suffix), so the probe
 * outstanding repeats entries it holds. On a link that reorders, a window
 * given up on keeps arriving after the probe left and lengthens the
 * follower's log; its rejections say how far, and probing from there
 * uses that window instead of resending it one probe per round trip
 * (issue 16: learners caught up slower than before the stale rules).
 * Each such move raises next_index, so they are bounded by the log. */
static bool progress_probe_overtaken(const struct raft *r, const struct raft_progress *pr,
				     const struct raft_msg_append_resp *resp)
{
	return pr->state == RAFT_PROGRESS_PROBE && resp->hint_term != 0 &&
	       resp->hint_index >= pr->next_index && resp->hint_index >= r->log.first_index &&
	       resp->hint_index <= r->log.last_index &&
	       log_term_at(&r->log, resp->hint_index) == resp->hint_term;
}

bool progress_on_reject(struct raft *r, struct raft_progress *pr,
			const struct raft_msg_append_resp *resp)
{
	RN_ASSERT(resp->reject);
	if (pr->state == RAFT_PROGRESS_SNAPSHOT) {
		return false; /* answers appends sent before the offer */
	}
	if (progress_probe_overtaken(r, pr, resp)) {
		/* The probe outstanding sends what the follower holds already:
		 * probe past it (next_index only; match waits for an ack). */
		r->counters.append_rejects_taken++;
		progress_become_probe(pr, resp->hint_index + 1);
		return true;
	}
	if (progress_reject_stale(pr, resp)) {
		r->counters.append_rejects_stale++;
		return false;
	}
	r->counters.append_rejects_taken++;
	if (RAFT_BUG(r, MATCH_FROM_REJECT) && resp->hint_term != 0 &&
	    resp->hint_index > pr->match_index && resp->hint_index <= r->log.last_index &&
	    log_term_at(&r->log, resp->hint_index) == resp->hint_term) {
		/* Planted: "its hint names an entry of ours, so by Log Matching
		 * it holds our log up to there: count it and skip a round trip".
		 * The hint is not a promise of durability (§10.2.1). */
		pr->match_index = resp->hint_index;
	}
	/* One probe at a time from where the logs can match: the rest of a
	 * window in flight is given up on (its answers are stale now). */
	progress_become_probe(pr, progress_backtrack(r, pr, resp));
	return true;
}

bool progress_on_ack(struct raft *r, struct raft_progress *pr, raft_index match_index)
{
	RN_ASSERT(pr->state != RAFT_PROGRESS_SNAPSHOT);
	RN_ASSERT(match_index <= r->log.last_index);
	bool updated = match_index > pr->match_index;
	if (updated) {
		pr->match_index = match_index; /* the only place it rises */
	}
	pr->next_index = rn_max_u64(pr->next_index, match_index + 1);
	progress_free_to(pr, match_index);
	if (pr->state != RAFT_PROGRESS_PROBE) {
		return updated;
	}
	/* Probing: pipeline again once the follower's log is known to match
	 * where we probe (a higher match, or one at the probe's prev entry).
	 * Any other acknowledgement leaves the probe outstanding (the
	 * heartbeat answer un-pauses it): sending it again at once turned a
	 * follower that acknowledges an older durable index into a ping-pong
	 * at network speed, and each duplicate into another chain (raftsim
	 * seed 1144 at 3 and 5 nodes: a message-storm violation). Turning to
	 * replicate only on news was measured and dropped: it slowed catch-up
	 * (the driver's refusals to promote a learner not caught up, seeds
	 * 1-300 at 3 nodes: main 435, only-news 708, this rule 589). */
	if (updated || match_index + 1 >= pr->next_index) {
		progress_become_replicate(pr);
	}
	return updated;
}
