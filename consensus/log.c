/* SPDX-License-Identifier: MIT */
/*
 * log.c - the core's in-memory window of log metadata.
 *
 * The window is a power-of-two ring of struct raft_entry (32 bytes each,
 * sized at create), so appending, reading a term and truncating are O(1)
 * and never allocate. Payloads are opaque handles: the core never touches
 * payload bytes. Entries below first_index have been released (committed,
 * applied and durable; a leader feeds followers that still need them from
 * its durable log) or, after raft_create_from, never loaded (committed and
 * durable by the caller's promise). So first_index <= commit_index + 1
 * always. The term of the entry just below the window is kept in prev_term
 * so AppendEntries can still name it.
 */
#include "internal.h"

uint64_t log_capacity(const struct raft_log *log)
{
	return log->mask + 1;
}

/* Slots still free in the ring. */
uint64_t log_free_slots(const struct raft_log *log)
{
	uint64_t held = log->last_index + 1 - log->first_index;

	RN_ASSERT(held <= log_capacity(log));
	return log_capacity(log) - held;
}

bool log_holds(const struct raft_log *log, raft_index index)
{
	return index >= log->first_index && index <= log->last_index && index > 0;
}

const struct raft_entry *log_get(const struct raft_log *log, raft_index index)
{
	RN_ASSERT(log_holds(log, index));
	const struct raft_entry *e = &log->ring[index & log->mask];
	RN_ASSERT(e->index == index);
	return e;
}

/* Term at `index`; 0 for index 0, for indices past the end, and for
 * released indices other than first_index - 1 (callers check log_holds). */
raft_term log_term_at(const struct raft_log *log, raft_index index)
{
	if (index == 0 || index > log->last_index) {
		return 0;
	}
	if (index + 1 == log->first_index) {
		return log->prev_term;
	}
	if (index < log->first_index) {
		return 0;
	}
	return log_get(log, index)->term;
}

raft_term log_last_term(const struct raft_log *log)
{
	return log_term_at(log, log->last_index);
}

/*
 * Appends one entry at last_index + 1 and records it in this step's update
 * (entries to write). Precondition: a free slot (callers check first, since
 * a full window is back-pressure, not a bug) and a non-decreasing term.
 */
void log_append(struct raft *r, const struct raft_entry *entry)
{
	struct raft_log *log = &r->log;

	RN_ASSERT(entry->index == log->last_index + 1);
	RN_ASSERT(entry->term >= log_last_term(log) || RAFT_BUG(r, NO_TRUNCATE_ON_CONFLICT));
	RN_ASSERT(log_free_slots(log) > 0);
	RN_ASSERT(r->new_entries_count < r->cfg.append_entries_max + 1);
	if (r->new_entries_count > 0) {
		/* One contiguous write per update (the ordering contract). */
		RN_ASSERT(r->new_entries[r->new_entries_count - 1].index + 1 == entry->index);
	}
	log->ring[entry->index & log->mask] = *entry;
	log->last_index = entry->index;
	r->new_entries[r->new_entries_count++] = *entry;
	if (entry->type == RAFT_ENTRY_CONFIG) {
		membership_on_append(r, entry); /* in force once appended (§4.1) */
	}
}

/*
 * Appends entries[0..count) at last_index + 1 as one batch: the same checks
 * as log_append once per batch, then one pass that copies each entry into
 * the ring and into this step's update. Per entry this is a 32-byte copy
 * twice and two comparisons, which is what makes large batches
 * cheap (bench/micro_consensus). Precondition: `count` free slots.
 */
void log_append_batch(struct raft *r, const struct raft_entry *entries, uint32_t count)
{
	struct raft_log *log = &r->log;

	if (count == 0) {
		return;
	}
	RN_ASSERT(entries[0].index == log->last_index + 1);
	RN_ASSERT(log_free_slots(log) >= count);
	RN_ASSERT(r->new_entries_count + count <= r->cfg.append_entries_max + 1);
	if (r->new_entries_count > 0) {
		/* One contiguous write per update (the ordering contract). */
		RN_ASSERT(r->new_entries[r->new_entries_count - 1].index + 1 == entries[0].index);
	}
	raft_term prev_term = log_last_term(log);
	struct raft_entry *out = &r->new_entries[r->new_entries_count];
	for (uint32_t i = 0; i < count; i++) {
		const struct raft_entry *e = &entries[i];
		RN_ASSERT(e->index == entries[0].index + i);
		RN_ASSERT(e->term >= prev_term);
		prev_term = e->term;
		log->ring[e->index & log->mask] = *e;
		out[i] = *e;
	}
	r->new_entries_count += count;
	log->last_index = entries[count - 1].index;
	/* In force once appended (§4.1), in log order. */
	for (uint32_t i = 0; i < count; i++) {
		if (entries[i].type == RAFT_ENTRY_CONFIG) {
			membership_on_append(r, &entries[i]);
		}
	}
}

/*
 * Drops entries >= from_index (a conflicting suffix, §3.5). Never a committed
 * entry: that would break State Machine Safety (§3.6.3). The update asks
 * storage to drop them too, and durability of the dropped range is
 * forgotten: a later PERSISTED event for it no longer matches a term.
 */
void log_truncate(struct raft *r, raft_index from_index)
{
	struct raft_log *log = &r->log;

	RN_ASSERT(from_index >= log->first_index);
	RN_ASSERT(from_index <= log->last_index);
	RN_ASSERT(r->new_entries_count == 0);
	if (r->planted_bug == 0) {
		RN_ASSERT(from_index > r->commit_index);
	}
	r->counters.entries_truncated += log->last_index - from_index + 1;
	log->last_index = from_index - 1;
	r->persisted_index = rn_min_u64(r->persisted_index, log->last_index);
	if ((r->update_flags & RAFT_UPDATE_TRUNCATE) == 0 || from_index < r->truncate_index) {
		r->truncate_index = from_index;
	}
	r->update_flags |= RAFT_UPDATE_TRUNCATE;
	membership_on_truncate(r, from_index);
}

/* Forgets entries <= up_to_index (already applied). Keeps the term of the
 * last one released. Never above the durable index: a leader reads
 * released entries back from its durable log for a lagging follower
 * (from_storage appends), so they must be there. */
void log_release(struct raft *r, raft_index up_to_index)
{
	struct raft_log *log = &r->log;

	up_to_index = rn_min_u64(up_to_index, r->persisted_index);
	if (up_to_index < log->first_index) {
		return;
	}
	RN_ASSERT(up_to_index <= log->last_index);
	RN_ASSERT(up_to_index <= r->applied_index);
	RN_ASSERT(up_to_index <= r->commit_index);
	log->prev_term = log_term_at(log, up_to_index);
	log->first_index = up_to_index + 1;
}

/* How many entries from `index` on can be sent as one contiguous array
 * (the ring wraps), capped at count_max; 0 when index is past the end. */
uint32_t log_contiguous_from(const struct raft_log *log, raft_index index, uint32_t count_max)
{
	if (index > log->last_index || index < log->first_index) {
		return 0;
	}
	uint64_t count = log->last_index - index + 1;
	uint64_t to_wrap = log_capacity(log) - (index & log->mask);

	count = rn_min_u64(count, to_wrap);
	count = rn_min_u64(count, count_max);
	return (uint32_t)count;
}

/*
 * Fast backtracking (§3.5): the largest index <= `index` whose term is
 * <= `term`, and that term. A follower uses it to tell the leader where its
 * log could still match; the leader uses it to skip a whole term at once.
 */
raft_index log_find_conflict_by_term(const struct raft_log *log, raft_index index, raft_term term,
				     raft_term *term_out)
{
	index = rn_min_u64(index, log->last_index);
	while (index >= log->first_index && index > 0) {
		raft_term t = log_get(log, index)->term;
		if (t <= term) {
			*term_out = t;
			return index;
		}
		index--;
	}
	/* Reached the window's floor: the entry just below it, if any. */
	if (index > 0 && index + 1 == log->first_index && log->prev_term <= term) {
		*term_out = log->prev_term;
		return index;
	}
	*term_out = 0;
	return 0;
}
