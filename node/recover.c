/* SPDX-License-Identifier: MIT */
/*
 * recover.c - a node's state from its log at start. stage: main (before
 * any lcore runs: it fills control's core and payload ring and the apply
 * stage's state machine, which own them from then on).
 *
 * The hard state, the newest usable snapshot, then the log (see
 * node_daemon_recover). A log that cannot be proven intact, or that does
 * not continue the snapshot, stops the start with the reason.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "daemon.h"

/* Reads entries from..to of the log, calling fn(d, entry) for each. */
static int recover_read_log(struct node_daemon *d, raft_index from, raft_index to,
			   int (*fn)(struct node_daemon *d, struct raft_entry *tail,
				     const struct store_entry *e),
			   struct raft_entry *tail, char *errmsg, size_t errmsg_bytes)
{
	struct store_entry got[256]; /* on the stack: at start only */
	RN_ASSERT(from > 0);
	RN_ASSERT(from <= to);
	for (raft_index i = from; i <= to;) {
		int n = store_read(d->log, i, d->control.catchup_buf, NODE_CATCHUP_BYTES, got,
				   (uint32_t)rn_min_u64(RN_ARRAY_COUNT(got), to - i + 1));
		if (n <= 0) {
			snprintf(errmsg, errmsg_bytes, "reading the log at entry %" PRIu64 ": %s (%s)",
				 i, store_strerror(n), store_errmsg(d->log));
			return n < 0 ? n : -EIO;
		}
		RN_ASSERT((uint64_t)n <= rn_min_u64(RN_ARRAY_COUNT(got), to - i + 1));
		for (int k = 0; k < n; k++, i++) {
			int rc = fn(d, tail, &got[k]);
			if (rc == -EBADMSG) {
				snprintf(errmsg, errmsg_bytes, "the log's configuration entry %" PRIu64
					 " does not parse (%u bytes): refusing to start", got[k].index,
					 got[k].payload_bytes);
				return rc;
			}
			if (rc != 0) {
				snprintf(errmsg, errmsg_bytes, "the log's payloads exceed [limits] "
					 "log_payload_bytes_max = %" PRIu64 "; raise it",
					 d->cfg.log_payload_bytes_max);
				return rc;
			}
		}
	}
	return 0;
}

static int recover_replay_one(struct node_daemon *d, struct raft_entry *tail,
			     const struct store_entry *e)
{
	RN_ASSERT(tail == NULL); /* the replayed prefix goes to the state machine only */
	if (e->type == RAFT_ENTRY_CONFIG &&
	    dp_conf_entry_decode(e->payload, e->payload_bytes, &(uint64_t){0}, NULL) != 0) {
		return -EBADMSG;
	}
	node_apply_replayed(&d->applystage, e); /* and the configuration as of it */
	return 0;
}

/* An entry of the tail the core gets: into the ring, and into tail[]. */
static int recover_load_one(struct node_daemon *d, struct raft_entry *tail,
			   const struct store_entry *e)
{
	RN_ASSERT(tail != NULL);
	struct node_slot s = {.index = e->index, .term = e->term, .bytes = e->payload_bytes,
			      .type = e->type};
	struct raft_entry *t = &tail[e->index - d->control.payloads.first_index];
	uint64_t value = 0;
	struct dp_member_addr a;
	/* A config entry: the core gets the change's value (payload_bytes
	 * 0), the ring its record, the book the address of a member it adds. */
	if (e->type == RAFT_ENTRY_CONFIG &&
	    dp_conf_entry_decode(e->payload, e->payload_bytes, &value, &a) != 0) {
		return -EBADMSG;
	}
	s.offset = node_payloads_alloc(&d->control.payloads, s.bytes);
	if (s.offset == UINT64_MAX) {
		return -EFBIG;
	}
	memcpy(node_payloads_at(&d->control.payloads, s.offset), e->payload, s.bytes);
	node_payloads_set(&d->control.payloads, &s);
	*t = (struct raft_entry){.index = s.index, .term = s.term, .payload = s.offset,
				 .payload_bytes = s.bytes, .type = s.type};
	if (e->type == RAFT_ENTRY_CONFIG) {
		t->payload = value;
		t->payload_bytes = 0;
		if (RAFT_CONF_OP(value) == RAFT_CONF_ADD_LEARNER) {
			node_addr_set(&d->control.members.book, RAFT_CONF_ID(value), &a, NULL);
		}
	}
	return 0;
}

/* The core's configuration at its floor (MEMBERSHIP CONTRACT, Restart):
 * the apply stage's, which applied the snapshot's and every config entry
 * replayed up to the floor; the core replays the tail's itself. Every
 * address the apply stage knows (the snapshot's) goes to the book. */
static void recover_floor_config(struct node_daemon *d)
{
	const struct node_conf *conf = &d->applystage.conf;
	struct raft_config *rc = &d->control.raft_cfg;
	RN_ASSERT(conf->m.voters_count > 0);
	memcpy(rc->members, conf->m.voters, sizeof(conf->m.voters));
	rc->members_count = conf->m.voters_count;
	memcpy(rc->learners, conf->m.learners, sizeof(conf->m.learners));
	rc->learners_count = conf->m.learners_count;
	for (uint32_t i = 0; i < conf->book.count; i++) {
		node_addr_set(&d->control.members.book, conf->book.ids[i], &conf->book.addrs[i],
			      &conf->m);
	}
}

/*
 * Recovery: the hard state, the newest usable snapshot (recover_snap.c),
 * then the log. The core's floor `prev` is the snapshot's index S, or the
 * commit hint when that is higher and the tail after S does not fit the
 * core's window: entries S+1..prev (committed: the same on every node) are
 * replayed into the state machine from the log, the core gets the rest
 * (raft_create_from's precondition: its floor is committed; S is, having
 * been applied). With no snapshot, S is 0 and this is the old path.
 */
int node_daemon_recover(struct node_daemon *d, char *errmsg, size_t errmsg_bytes)
{
	struct raft_hard_state hs;
	RN_ASSERT(d->log != NULL);
	RN_ASSERT(d->control.raft == NULL); /* the core is made here */
	store_hard_state(d->log, &hs);
	raft_index first = store_first_index(d->log);
	raft_index last = store_last_index(d->log);
	raft_index hint = store_commit_hint(d->log);
	uint64_t window = d->cfg.log_entries_max;
	struct store_snap_meta *snap = calloc(1, sizeof(*snap));
	if (snap == NULL) {
		snprintf(errmsg, errmsg_bytes, "out of memory");
		return -ENOMEM;
	}
	int rc = node_daemon_recover_snapshot(d, first, last, snap, errmsg, errmsg_bytes);
	raft_index s = snap->index;
	raft_term s_term = snap->term;
	free(snap);
	if (rc != 0) {
		return rc;
	}
	/* An interrupted install finished there resets the log. */
	first = store_first_index(d->log);
	last = store_last_index(d->log);
	hint = store_commit_hint(d->log);
	RN_ASSERT(s == 0 || (first <= s + 1 && s <= last)); /* checked there */
	raft_index prev = s;
	if (last - s + 1 >= window) {
		prev = rn_max_u64(hint, s);
		if (last - prev + 1 >= window) {
			snprintf(errmsg, errmsg_bytes, "the log's entries %" PRIu64 "..%" PRIu64
				 " after the last known commit (%" PRIu64 ") do not fit [limits] "
				 "log_entries_max = %" PRIu64 "; raise it", prev + 1, last, prev, window);
			return -EFBIG;
		}
	}
	if (first > prev + 1) {
		snprintf(errmsg, errmsg_bytes, "log starts at entry %" PRIu64 " (compacted) above "
			 "the restart point %" PRIu64, first, prev);
		return -ENOTSUP;
	}
	raft_term prev_term = prev == 0 ? 0 : prev == s ? s_term : store_term_at(d->log, prev);
	rc = prev > s ? recover_read_log(d, s + 1, prev, recover_replay_one, NULL, errmsg,
					 errmsg_bytes)
		      : 0;
	uint64_t count = last > prev ? last - prev : 0;
	struct raft_entry *tail = calloc(count > 0 ? count : 1, sizeof(*tail));
	if (rc == 0 && tail == NULL) {
		rc = -ENOMEM;
	}
	node_payloads_reset(&d->control.payloads, prev);
	RN_ASSERT(rc != 0 || d->applystage.applied_index == prev); /* replayed 1..prev */
	if (rc == 0 && count > 0) {
		rc = recover_read_log(d, prev + 1, last, recover_load_one, tail, errmsg, errmsg_bytes);
	}
	if (rc == 0) {
		recover_floor_config(d);
		rc = raft_create_from(&d->control.raft_cfg, &hs, prev, prev_term, tail, count,
				      &d->control.raft);
		if (rc != 0) {
			snprintf(errmsg, errmsg_bytes, "the recovered log (entries %" PRIu64 "..%" PRIu64
				 ", term %" PRIu64 ") is not one this node could have written: "
				 "refusing to start", prev + 1, last, hs.term);
		}
	}
	free(tail);
	if (rc == 0) {
		/* The core starts with nothing applied: the first stage event
		 * reports APPLIED up to prev (the restore and the replay), then
		 * the snapshot and the compaction point (SNAPSHOT CONTRACT e;
		 * node_daemon_start steps them before anything else). */
		d->control.apply.applied_reported = 0;
		d->control.apply.commit_pushed = d->applystage.applied_index;
		d->control.hint_saved = hint;
		fprintf(stderr, "raftnode %u: recovered term %" PRIu64 ", vote %u, snapshot at %" PRIu64
			", entries %" PRIu64 "..%" PRIu64 " (replayed %" PRIu64 "..%" PRIu64 " up to "
			"the commit hint, core window from %" PRIu64 ")\n", d->cfg.self, hs.term,
			hs.vote, s, first, last, s + 1, prev, prev + 1);
	}
	return rc;
}

