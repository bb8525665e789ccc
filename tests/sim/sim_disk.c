/* SPDX-License-Identifier: MIT */
/*
 * sim_disk.c - each simulated node keeps its Raft log with the real storage
 * module (storage/), running on its simulated disk (STORE_ENGINE_SIM): the
 * same record format, group fsync, recovery rules and fail-stop as in
 * production. A crash loses exactly what the disk had not synced, and may
 * tear the last write at any byte; a restart goes through store_open's
 * recovery. With disk faults on, syncs fail (the log fail-stops and the node
 * goes down) and bits flip in the middle of a stopped node's log (it must
 * then refuse to start, and the simulator counts it as failed).
 *
 * The simulator mirrors what the log reported durable (dlog) and checks at
 * every restart that recovery gave back at least that, unchanged
 * ("Durability"): the property the planted ack-unsynced bug breaks.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "sim.h"
#include "storage.h"

/* Small segments: each simulated file keeps a volatile and a durable image,
 * and a sync copies the image. */
#define SIM_SEGMENT_BYTES (16u * 1024)
#define SIM_GROUP_BYTES (256u * 1024)
#define SIM_READ_ENTRIES 256u

static void sim_disk_mirror_reserve(struct sim_node *n, uint64_t count)
{
	if (count <= n->dlog_cap) {
		return;
	}
	n->dlog_cap = rn_max_u64(2 * n->dlog_cap, count + 1024);
	n->dlog = realloc(n->dlog, n->dlog_cap * sizeof(*n->dlog));
	RN_ASSERT(n->dlog != NULL);
}

/* on_durable: every entry up to (index, term) is durable. Only the newest
 * report matters to the core, unless the index went down (a truncation). */
static void sim_disk_on_durable(void *user, raft_index index, raft_term term)
{
	struct sim_node *n = user;
	/* The drain before a truncation reports writes the node has already
	 * given up: they are no longer promised (the core ignores them too). */
	n->dlog_count = rn_min_u64(index, n->wlog_count);
	if (n->reports_count > 0) {
		struct sim_report *last =
			&n->reports[(n->reports_head + n->reports_count - 1) % SIM_REPORTS_MAX];
		if (index >= last->index) {
			*last = (struct sim_report){index, term};
			return;
		}
	}
	RN_ASSERT(n->reports_count < SIM_REPORTS_MAX);
	n->reports[(n->reports_head + n->reports_count++) % SIM_REPORTS_MAX] =
		(struct sim_report){index, term};
}

bool sim_disk_take_report(struct sim_node *n, raft_index *index, raft_term *term)
{
	if (n->reports_count == 0) {
		return false;
	}
	const struct sim_report *r = &n->reports[n->reports_head];
	*index = r->index;
	*term = r->term;
	n->reports_head = (n->reports_head + 1) % SIM_REPORTS_MAX;
	n->reports_count--;
	return true;
}

void sim_disk_init(struct sim *s, struct sim_node *n)
{
	struct store_sim_config sc = {
		.seed = s->p.seed * 31u + n->id,
		.latency_us_min = s->p.disk_latency_us_min,
		.latency_us_max = s->p.disk_latency_us_max,
		.tear_ppm = s->p.tear_ppm,
		.write_align_bytes = s->p.disk_write_align_bytes,
	};
	int rc = store_sim_create(&sc, &n->disk);
	RN_ASSERT(rc == 0);
}

/* The disk's clock follows the simulator's (it may run ahead after a wait
 * inside the log, e.g. the drain before a truncation). */
void sim_disk_clock(struct sim *s, struct sim_node *n)
{
	uint64_t disk_now = store_sim_now_us(n->disk);
	if (disk_now < s->now_us) {
		store_sim_advance_us(n->disk, s->now_us - disk_now);
	}
}

static void sim_disk_config(struct sim *s, struct sim_node *n, struct store_config *cfg)
{
	store_config_default(cfg);
	cfg->engine = STORE_ENGINE_SIM;
	cfg->sim = n->disk;
	cfg->segment_bytes = SIM_SEGMENT_BYTES;
	cfg->group_bytes_max = SIM_GROUP_BYTES;
	cfg->quiet = true;
	cfg->on_durable = sim_disk_on_durable;
	cfg->on_durable_user = n;
	cfg->planted_ack_unsynced = s->p.planted_ack_unsynced;
}

/* The mirror holds the committed entries 1..index (a log reset to index:
 * the snapshot covers them). */
static void sim_disk_fill_committed(struct sim *s, struct sim_node *n, raft_index index)
{
	RN_ASSERT(index <= s->committed_count);
	sim_disk_mirror_reserve(n, index);
	for (raft_index i = 1; i <= index; i++) {
		const struct sim_committed *c = &s->committed[i - 1];
		n->dlog[i - 1] = (struct raft_entry){.term = c->term, .index = i,
						     .payload = c->payload, .payload_bytes = 64,
						     .type = c->type};
	}
}

/* Reads the recovered log back into the mirror, checking it against what
 * was reported durable before the crash. */
static bool sim_disk_recover(struct sim *s, struct sim_node *n)
{
	raft_index last = store_last_index(n->log);
	raft_index first = store_first_index(n->log);
	struct store_entry entries[SIM_READ_ENTRIES];
	static uint8_t buf[SIM_READ_ENTRIES * 64];
	uint64_t reported = n->dlog_count;

	/* Below the compaction point the mirror keeps what was written there
	 * (committed entries: the snapshot covers them). */
	n->compacted_index = store_compacted_index(n->log);
	RN_ASSERT(first == n->compacted_index + 1);
	if (n->reset_maybe_index != 0) {
		/* A failed reset's state write reached the disk: the log
		 * continues after its point, committed up to it. */
		if (n->compacted_index >= n->reset_maybe_index) {
			sim_disk_fill_committed(s, n, n->reset_maybe_index);
		}
		n->reset_maybe_index = 0;
	}
	sim_disk_mirror_reserve(n, last);
	for (raft_index i = first; i <= last;) {
		int got = store_read(n->log, i, buf, sizeof(buf), entries, SIM_READ_ENTRIES);
		if (got <= 0) {
			check_violation(s, "Durability", "n%u cannot read back entry %llu: %s (%s)",
					n->id, (unsigned long long)i, store_strerror(got),
					store_errmsg(n->log));
			return false;
		}
		for (int k = 0; k < got; k++, i++) {
			const struct store_entry *e = &entries[k];
			RN_ASSERT(e->index == i && e->payload_bytes == sizeof(uint64_t));
			uint64_t payload;
			memcpy(&payload, e->payload, sizeof(payload));
			struct raft_entry re = {.term = e->term, .index = i, .payload = payload,
						.payload_bytes = 64, .type = e->type};
			if (i <= reported && (n->dlog[i - 1].term != re.term ||
					      n->dlog[i - 1].payload != re.payload)) {
				check_violation(s, "Durability",
						"n%u: entry %llu was reported durable as term %llu, "
						"recovery gives term %llu",
						n->id, (unsigned long long)i,
						(unsigned long long)n->dlog[i - 1].term,
						(unsigned long long)re.term);
				return false;
			}
			n->dlog[i - 1] = re;
		}
	}
	if (last < reported) {
		check_violation(s, "Durability",
				"n%u was told its log was durable up to %llu, but recovers only "
				"up to %llu after a crash",
				n->id, (unsigned long long)reported, (unsigned long long)last);
		return false;
	}
	struct raft_hard_state hs;
	store_hard_state(n->log, &hs);
	bool is_maybe = n->hard_state_uncertain && hs.term == n->hard_state_maybe.term &&
			hs.vote == n->hard_state_maybe.vote;
	n->hard_state_uncertain = false;
	if (is_maybe) {
		n->hard_state = hs;
	}
	if (hs.term != n->hard_state.term || hs.vote != n->hard_state.vote) {
		check_violation(s, "Durability",
				"n%u saved term %llu vote n%u, recovers term %llu vote n%u", n->id,
				(unsigned long long)n->hard_state.term, n->hard_state.vote,
				(unsigned long long)hs.term, hs.vote);
		return false;
	}
	n->wlog_count = last;
	n->dlog_count = last;
	/* The commit hint vouches that everything up to it is committed: a
	 * tail restart releases those entries unchecked, so check it here. */
	n->commit_hint = store_commit_hint(n->log);
	for (raft_index i = 1; i <= n->commit_hint; i++) {
		if (i > s->committed_count || s->committed[i - 1].term != n->dlog[i - 1].term ||
		    s->committed[i - 1].payload != n->dlog[i - 1].payload) {
			check_violation(s, "Commit Hint",
					"n%u's commit hint %llu covers entry %llu/t%llu, which is "
					"not the committed one",
					n->id, (unsigned long long)n->commit_hint,
					(unsigned long long)i, (unsigned long long)n->dlog[i - 1].term);
			return false;
		}
	}
	return true;
}

/* Saves the commit hint lazily, every eighth of a window applied, and at
 * once while the log reaches more than a quarter window past it: a stale
 * hint makes a restart load a longer tail, which must still fit the window.
 * False: the log failed. */
bool sim_disk_save_hint(struct sim *s, struct sim_node *n)
{
	uint32_t w = s->p.log_entries_max;
	bool behind = n->applied_index >= n->commit_hint + w / 8;
	bool tail_long = n->applied_index > n->commit_hint && n->wlog_count > n->commit_hint + w / 4;
	if (!behind && !tail_long) {
		return true;
	}
	sim_disk_clock(s, n);
	int rc = store_save_commit_hint(n->log, n->applied_index);
	if (rc != 0) {
		s->syncs_failed++;
		sim_log(s, SIM_STORY, "n%u's log fails and stops the node: %s (%s)", n->id,
			store_strerror(rc), store_errmsg(n->log));
		return false;
	}
	n->commit_hint = store_commit_hint(n->log);
	return true;
}

/*
 * The caller's side of a from_storage append (consensus.h, update step 3):
 * read the entries and the term of prev_index from the node's durable log.
 * The core promises they are durable; the read must agree with what the
 * log reported durable. False: not sent (the core treats it as lost).
 */
bool sim_disk_fill_append(struct sim *s, struct sim_node *n, struct raft_message *m,
			  struct raft_entry *entries, uint32_t entries_max)
{
	struct raft_msg_append *a = &m->append;
	struct store_entry read[SIM_READ_ENTRIES];
	static uint8_t buf[SIM_READ_ENTRIES * 64];
	uint32_t want = (uint32_t)rn_min_u64(rn_min_u64(a->entries_count, entries_max),
					     SIM_READ_ENTRIES);

	RN_ASSERT(a->entries == NULL && a->prev_term == 0 && want > 0);
	if (a->prev_index + want > n->dlog_count) {
		check_violation(s, "Update Contract",
				"n%u asks to send entries %llu..%llu from storage, durable only up "
				"to %llu",
				n->id, (unsigned long long)a->prev_index + 1,
				(unsigned long long)(a->prev_index + want),
				(unsigned long long)n->dlog_count);
		return false;
	}
	int got = store_read(n->log, a->prev_index + 1, buf, sizeof(buf), read, want);
	if (got <= 0) {
		return false;
	}
	for (int k = 0; k < got; k++) {
		raft_index i = a->prev_index + 1 + (uint32_t)k;
		uint64_t payload;
		RN_ASSERT(read[k].index == i && read[k].payload_bytes == sizeof(payload));
		memcpy(&payload, read[k].payload, sizeof(payload));
		entries[k] = (struct raft_entry){.term = read[k].term, .index = i, .payload = payload,
						 .payload_bytes = 64, .type = read[k].type};
		RN_ASSERT(n->dlog[i - 1].term == entries[k].term);
	}
	a->prev_term = a->prev_index == 0 ? 0 : store_term_at(n->log, a->prev_index);
	RN_ASSERT(a->prev_index == 0 || a->prev_term == n->dlog[a->prev_index - 1].term);
	a->entries = entries;
	a->entries_count = (uint32_t)got;
	a->from_storage = false;
	s->storage_appends++;
	if (sim_tracing(s)) {
		sim_log(s, SIM_TRACE, "n%u reads %llu..%llu from its log for n%u", n->id,
			(unsigned long long)a->prev_index + 1,
			(unsigned long long)(a->prev_index + (uint32_t)got), m->to);
	}
	return true;
}

/* Opens (recovers) the node's log. False when the node cannot start: its
 * log is damaged (counted as failed) or recovery broke a promise
 * (violation). */
bool sim_disk_open(struct sim *s, struct sim_node *n)
{
	struct store_config cfg;
	char errmsg[256];

	sim_disk_clock(s, n);
	sim_disk_config(s, n, &cfg);
	n->reports_count = 0;
	int rc = store_open(&cfg, &n->log, errmsg, sizeof(errmsg));
	if (rc < 0 && rc > -STORE_E_CORRUPT) {
		/* An I/O error while recovering (a sync armed to fail): the
		 * supervisor tries again later; nothing is lost by waiting. */
		sim_log(s, SIM_STORY, "n%u cannot open its log (%s): retries later", n->id, errmsg);
		sim_restart_at(s, n->id, s->now_us + 100000);
		return false;
	}
	if (rc != 0) {
		if (!n->damaged) {
			check_violation(s, "Recovery", "n%u's undamaged log does not open: %s (%s)",
					n->id, store_strerror(rc), errmsg);
			return false;
		}
		n->failed = true;
		s->nodes_failed++;
		sim_log(s, SIM_STORY, "n%u refuses to start, its log is damaged: %s", n->id, errmsg);
		return false;
	}
	return sim_disk_recover(s, n);
}

void sim_disk_crash(struct sim_node *n)
{
	if (n->log == NULL) {
		return;
	}
	store_sim_crash(n->disk);
	store_close(n->log);
	n->log = NULL;
	n->reports_count = 0;
	n->disk_poll_at_us = 0;
}

/* Schedules a poll for when the group in flight completes. */
void sim_disk_schedule(struct sim *s, struct sim_node *n)
{
	uint64_t ready = store_sim_ready_us(n->disk);
	if (n->log == NULL || ready == 0) {
		return;
	}
	uint64_t disk_now = store_sim_now_us(n->disk);
	uint64_t at = s->now_us + (ready > disk_now ? ready - disk_now : 0);
	if (n->disk_poll_at_us != 0 && n->disk_poll_at_us <= at) {
		return; /* an earlier poll will reschedule */
	}
	n->disk_poll_at_us = at;
	sim_schedule_disk_poll(s, n, at);
}

/* Polls the log (on the disk poll event). False: the log failed (a sync
 * failed), the node must stop. */
bool sim_disk_poll(struct sim *s, struct sim_node *n)
{
	n->disk_poll_at_us = 0;
	if (n->log == NULL) {
		return true;
	}
	sim_disk_clock(s, n);
	int rc = store_poll(n->log, false);
	if (rc < 0) {
		s->syncs_failed++;
		sim_log(s, SIM_STORY, "n%u's log fails and stops the node: %s", n->id,
			store_errmsg(n->log));
		return false;
	}
	sim_disk_schedule(s, n);
	return true;
}

/* Steps 1 and 2 of the update contract on the real log: the hard state
 * durable at once, the truncation, then the write, asynchronous. False: the
 * log failed and the node must stop before any message of this update
 * leaves. */
bool sim_disk_write(struct sim *s, struct sim_node *n, const struct raft_update *u)
{
	int rc = 0;
	sim_disk_clock(s, n);
	if (u->flags & RAFT_UPDATE_HARD_STATE) {
		rc = store_save_hard_state(n->log, &u->hard_state);
		if (rc != 0) {
			/* A write whose sync failed may still reach the disk:
			 * recovery may give either state back. */
			n->hard_state_maybe = u->hard_state;
			n->hard_state_uncertain = true;
			goto failed;
		}
		n->hard_state = u->hard_state;
	}
	if (u->flags & RAFT_UPDATE_TRUNCATE) {
		/* From here on the dropped entries are no longer promised,
		 * whether or not the truncation reaches the disk. */
		n->wlog_count = rn_min_u64(n->wlog_count, u->truncate_index - 1);
		n->dlog_count = rn_min_u64(n->dlog_count, n->wlog_count);
		rc = store_truncate_suffix(n->log, u->truncate_index);
		if (rc != 0) {
			goto failed;
		}
	}
	if (u->entries_count > 0) {
		struct store_entry batch[RAFT_BATCH_ENTRIES_MAX + 1];
		RN_ASSERT(u->entries_count <= RN_ARRAY_COUNT(batch));
		sim_disk_mirror_reserve(n, u->entries[u->entries_count - 1].index);
		for (uint32_t i = 0; i < u->entries_count; i++) {
			const struct raft_entry *e = &u->entries[i];
			batch[i] = (struct store_entry){.index = e->index, .term = e->term,
							.payload = &e->payload,
							.payload_bytes = sizeof(e->payload),
							.type = e->type};
		}
		if (u->entries[0].index != n->wlog_count + 1) {
			/* The contract: drop the conflicting suffix first, then
			 * write. A core that overwrites in place breaks it. */
			check_violation(s, "Update Contract",
					"n%u writes entry %llu after %llu without truncating",
					n->id, (unsigned long long)u->entries[0].index,
					(unsigned long long)n->wlog_count);
			return false;
		}
		/* Mirror first: the log may report them durable from inside
		 * store_append (it does with the planted ack-unsynced bug). */
		for (uint32_t i = 0; i < u->entries_count; i++) {
			n->dlog[u->entries[i].index - 1] = u->entries[i];
		}
		n->wlog_count = u->entries[u->entries_count - 1].index;
		while ((rc = store_append(n->log, batch, u->entries_count)) == -STORE_E_BUSY) {
			rc = store_poll(n->log, true); /* back-pressure: wait for the disk */
			if (rc < 0) {
				goto failed;
			}
		}
		if (rc != 0) {
			goto failed;
		}

	}
	sim_disk_schedule(s, n);
	return true;
failed:
	s->syncs_failed++;
	sim_log(s, SIM_STORY, "n%u's log fails and stops the node: %s (%s)", n->id,
		store_strerror(rc), store_errmsg(n->log));
	return false;
}

static bool sim_disk_failed(struct sim *s, struct sim_node *n, int rc)
{
	s->syncs_failed++;
	sim_log(s, SIM_STORY, "n%u's log fails and stops the node: %s (%s)", n->id,
		store_strerror(rc), store_errmsg(n->log));
	return false;
}

/* Compacts the log up to `index` (durable, covered by the node's durable
 * snapshot). False: the log failed. */
bool sim_disk_compact(struct sim *s, struct sim_node *n, raft_index index)
{
	RN_ASSERT(index <= n->dlog_count);
	RN_ASSERT(index <= n->snap.index);
	sim_disk_clock(s, n);
	int rc = store_compact(n->log, index, n->dlog[index - 1].term);
	if (rc != 0) {
		return sim_disk_failed(s, n, rc);
	}
	sim_disk_schedule(s, n);
	return true;
}

/* Waits until everything written is durable. False: the log failed. */
bool sim_disk_flush(struct sim *s, struct sim_node *n)
{
	sim_disk_clock(s, n);
	int rc = store_flush(n->log);
	if (rc != 0) {
		return sim_disk_failed(s, n, rc);
	}
	sim_disk_schedule(s, n);
	return true;
}

/*
 * The log reset of an install (see sim_snap.c): keeps the committed prefix
 * the node knows of (commit hint, compaction point, durable snapshot, an
 * earlier reset's), drops the rest, and writes the committed entries up to
 * `index` after it. fill_index remembers that the log up to `index` holds
 * committed entries only, so that a restart after a crash in the middle may
 * load its log from there (as it would from the installed snapshot).
 * Precondition: `index` was applied somewhere (check_install). False: the
 * log failed.
 */
bool sim_disk_reset_to(struct sim *s, struct sim_node *n, raft_index index, bool truncate_only)
{
	raft_index keep = rn_max_u64(rn_max_u64(n->commit_hint, n->compacted_index),
				     rn_max_u64(n->snap.index, rn_min_u64(n->fill_index, n->wlog_count)));
	int rc;

	RN_ASSERT(keep < index);
	RN_ASSERT(index <= s->committed_count);
	sim_disk_clock(s, n);
	if (keep < n->wlog_count) {
		n->wlog_count = keep;
		n->dlog_count = rn_min_u64(n->dlog_count, keep);
		rc = store_truncate_suffix(n->log, keep + 1);
		if (rc != 0) {
			return sim_disk_failed(s, n, rc);
		}
	}
	if (truncate_only) {
		return true; /* a crash at this step (sim_steps.c) */
	}
	sim_disk_mirror_reserve(n, index);
	n->fill_index = index;
	while (n->wlog_count < index) {
		struct store_entry batch[RAFT_BATCH_ENTRIES_MAX];
		uint32_t count = (uint32_t)rn_min_u64(index - n->wlog_count, RN_ARRAY_COUNT(batch));
		for (uint32_t k = 0; k < count; k++) {
			raft_index i = n->wlog_count + 1 + k;
			const struct sim_committed *c = &s->committed[i - 1];
			n->dlog[i - 1] = (struct raft_entry){.term = c->term, .index = i,
							     .payload = c->payload,
							     .payload_bytes = 64, .type = c->type};
			batch[k] = (struct store_entry){.index = i, .term = c->term,
							.payload = &n->dlog[i - 1].payload,
							.payload_bytes = sizeof(c->payload),
							.type = c->type};
		}
		n->wlog_count += count;
		while ((rc = store_append(n->log, batch, count)) == -STORE_E_BUSY) {
			rc = store_poll(n->log, true);
			if (rc < 0) {
				return sim_disk_failed(s, n, rc);
			}
		}
		if (rc != 0) {
			return sim_disk_failed(s, n, rc);
		}
	}
	sim_disk_schedule(s, n);
	return true;
}

/*
 * Recovery finishing an interrupted install (sim_steps.c): the real log
 * reset (store_reset: every entry dropped, the log continues after (index,
 * term), compaction point and commit hint index). The mirror holds the
 * committed entries up to index (the snapshot covers them). False: the log
 * failed.
 */
bool sim_disk_reset_log(struct sim *s, struct sim_node *n, raft_index index, raft_term term)
{
	RN_ASSERT(index <= s->committed_count && s->committed[index - 1].term == term);
	sim_disk_clock(s, n);
	n->reset_maybe_index = index;
	int rc = store_reset(n->log, index, term);
	if (rc != 0) {
		return sim_disk_failed(s, n, rc);
	}
	sim_disk_reset_mirror(s, n, index);
	return true;
}

void sim_disk_reset_mirror(struct sim *s, struct sim_node *n, raft_index index)
{
	sim_disk_fill_committed(s, n, index);
	n->reset_maybe_index = 0;
	n->wlog_count = index;
	n->dlog_count = index;
	n->fill_index = 0;
	n->compacted_index = store_compacted_index(n->log);
	n->commit_hint = store_commit_hint(n->log);
	store_hard_state(n->log, &n->hard_state);
	n->reports_count = 0;
}

/* Disk faults: arm a sync failure on a running node's disk. */
void sim_disk_fail_sync(struct sim *s, struct sim_node *n)
{
	store_sim_fail_sync(n->disk, sim_rand_range(s, 1, 4));
}

/* Bytes of one record of this disk: the core's payload handle is the
 * payload (sim_disk_write), 32 header + 8. */
#define SIM_DISK_RECORD_BYTES 40u
_Static_assert(SIM_DISK_RECORD_BYTES ==
		       STORE_RECORD_HEADER_BYTES + sizeof(((struct raft_entry *)0)->payload),
	       "32 header + 8 payload");
_Static_assert(SIM_DISK_RECORD_BYTES % STORE_RECORD_ALIGN_BYTES == 0, "no padding");

/* Disk faults: flip one bit in the middle of a stopped node's log (a
 * segment that is not the last one), so that it must refuse to start.
 * Returns false when the log has no such segment yet. */
bool sim_disk_flip_bit(struct sim *s, struct sim_node *n)
{
	/* The first segment the log still has: the one holding the entry
	 * after the compaction point (index 1 without compaction), named
	 * "log-" and its first index in 20 digits, at most a segment's worth
	 * of records below that entry. It is full of records, and followed by
	 * another, once the durable log holds two segments' worth past it
	 * (SIM_DISK_RECORD_BYTES each). */
	raft_index first = n->compacted_index + 1;
	char segment[64];

	RN_ASSERT(n->log == NULL);
	RN_ASSERT(n->dlog_count >= n->compacted_index);
	if ((n->dlog_count - n->compacted_index) * SIM_DISK_RECORD_BYTES < 2 * SIM_SEGMENT_BYTES) {
		return false;
	}
	bool found = false;
	for (raft_index i = first; i >= 1 && first - i <= SIM_SEGMENT_BYTES / SIM_DISK_RECORD_BYTES;
	     i--) {
		snprintf(segment, sizeof(segment), "log-%020llu.seg", (unsigned long long)i);
		if (store_sim_file_bytes(n->disk, segment) >= 0) {
			found = true;
			break;
		}
	}
	if (!found) {
		return false;
	}
	uint64_t offset = sim_rand_range(s, 0, SIM_SEGMENT_BYTES / 2);
	unsigned bit = (unsigned)sim_rand_range(s, 0, 7);
	if (store_sim_flip_bit(n->disk, segment, offset, bit) != 0) {
		return false;
	}
	n->damaged = true;
	sim_log(s, SIM_STORY, "fault: bit %u of byte %llu of n%u's %s flips", bit,
		(unsigned long long)offset, n->id, segment);
	return true;
}

void sim_disk_free(struct sim_node *n)
{
	if (n->log != NULL) {
		store_close(n->log);
		n->log = NULL;
	}
	store_sim_destroy(n->disk);
	n->disk = NULL;
}
