/* SPDX-License-Identifier: MIT */
/*
 * state.c - the state file: hard state (term, vote), the compaction point
 * (compacted index and term, i.e. the first index metadata) and the commit
 * hint (a lower bound of the commit index, for raft_create_from), updated
 * atomically by writing two slots alternately. Each slot holds a sequence
 * number and a CRC32C; open takes the valid slot with the higher sequence,
 * so a write torn by a crash leaves the previous slot in charge. A write is
 * synced before state_write returns: the hard state is durable before any
 * message that depends on it can leave.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "log_internal.h"

#define STATE_SLOT_MAGIC 0x54534e52u /* "RNST" */

struct state_slot {
	uint32_t crc32c; /* over bytes 4..63 */
	uint32_t magic;
	uint64_t seq;
	raft_term term;
	raft_index compacted_index;
	raft_term compacted_term;
	uint32_t vote;
	uint32_t reserved;
	/* Entries up to here are committed (store_save_commit_hint). Slots
	 * written before it existed hold 0 here: "nothing known", safe. */
	raft_index commit_hint;
	uint8_t reserved_tail[8];
};
_Static_assert(sizeof(struct state_slot) == 64, "state slot layout");
_Static_assert(offsetof(struct state_slot, magic) == 4, "the CRC covers bytes 4..63");
_Static_assert(sizeof(struct state_slot) <= STORE_STATE_SLOT_BYTES, "a slot fits its 4 KiB block");
_Static_assert(STATE_SLOT_MAGIC == ('R' | 'N' << 8 | 'S' << 16 | (uint32_t)'T' << 24),
	       "the magic reads \"RNST\" on disk");

static uint32_t state_slot_crc(const struct state_slot *slot)
{
	return store_crc32c(0, (const uint8_t *)slot + 4, sizeof(*slot) - 4);
}

static bool state_slot_valid(const struct state_slot *slot)
{
	return slot->magic == STATE_SLOT_MAGIC && state_slot_crc(slot) == slot->crc32c;
}

static bool state_slot_blank(const struct state_slot *slot)
{
	static const uint8_t zero[sizeof(struct state_slot)];
	return memcmp(slot, zero, sizeof(zero)) == 0;
}

int state_create(struct store_log *log, char *errmsg, size_t errmsg_bytes)
{
	struct store_engine *e = log->engine;
	int rc = e->ops->open(e, STORE_STATE_FILE_NAME, true, &log->state_file);
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "%s/%s: create: %s", log->dir_path,
			 STORE_STATE_FILE_NAME, store_strerror(rc));
		return rc;
	}
	rc = e->ops->allocate(e, log->state_file,
			      (uint64_t)STORE_STATE_SLOT_BYTES * STORE_STATE_SLOTS_COUNT);
	if (rc == 0) {
		rc = e->ops->sync(e, log->state_file);
	}
	if (rc == 0) {
		rc = e->ops->sync_dir(e);
	}
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "%s/%s: preallocate/sync: %s", log->dir_path,
			 STORE_STATE_FILE_NAME, store_strerror(rc));
	}
	return rc;
}

int state_open(struct store_log *log, char *errmsg, size_t errmsg_bytes)
{
	struct store_engine *e = log->engine;
	int rc = e->ops->open(e, STORE_STATE_FILE_NAME, false, &log->state_file);
	if (rc == -ENOENT) {
		/* Created by store_open after recovery, and only if there is no
		 * segment: a log whose state file vanished must not restart
		 * with a blank term and vote (it could vote twice in a term). */
		log->state_file = -1;
		return 0;
	}
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "%s/%s: open: %s", log->dir_path,
			 STORE_STATE_FILE_NAME, store_strerror(rc));
		return rc;
	}
	struct state_slot slots[STORE_STATE_SLOTS_COUNT];
	memset(slots, 0, sizeof(slots));
	bool valid[STORE_STATE_SLOTS_COUNT];
	int best = -1;
	bool all_blank = true;
	for (uint32_t i = 0; i < STORE_STATE_SLOTS_COUNT; i++) {
		int64_t n = e->ops->read(e, log->state_file, (uint64_t)i * STORE_STATE_SLOT_BYTES,
					 &slots[i], sizeof(slots[i]));
		if (n < 0) {
			snprintf(errmsg, errmsg_bytes, "%s/%s: read slot %u: %s", log->dir_path,
				 STORE_STATE_FILE_NAME, i, store_strerror((int)n));
			return (int)n;
		}
		/* A short read (file cut short) leaves zeros: a blank slot. */
		valid[i] = state_slot_valid(&slots[i]);
		all_blank = all_blank && state_slot_blank(&slots[i]);
		if (valid[i] && (best < 0 || slots[i].seq > slots[best].seq)) {
			best = (int)i;
		}
	}
	if (best < 0) {
		if (all_blank) {
			return 0; /* created, never written: the initial state */
		}
		/* The first write ever (seq 1) goes to slot 1 while slot 0 is
		 * still blank; every later write leaves a valid slot behind.
		 * So a blank slot 0 beside a damaged slot 1 is that first
		 * write torn by a crash: it never returned, nothing depended
		 * on it, and the state is the initial one. */
		if (state_slot_blank(&slots[0]) && !valid[1]) {
			if (!log->cfg.quiet) {
				fprintf(stderr, "storage: %s/%s: the first state write was torn; "
						"starting from the initial state\n",
					log->dir_path, STORE_STATE_FILE_NAME);
			}
			return 0;
		}
		snprintf(errmsg, errmsg_bytes,
			 "%s/%s: both slots (offsets 0 and %u) fail their CRC check",
			 log->dir_path, STORE_STATE_FILE_NAME, STORE_STATE_SLOT_BYTES);
		return -STORE_E_STATE_CORRUPT;
	}
	const struct state_slot *s = &slots[best];
	log->state_seq = s->seq;
	log->hard_state.term = s->term;
	log->hard_state.vote = s->vote;
	log->compacted_index = s->compacted_index;
	log->compacted_term = s->compacted_term;
	log->commit_hint = s->commit_hint;
	if (!log->cfg.quiet && !valid[1 - best] && !state_slot_blank(&slots[1 - best])) {
		fprintf(stderr, "storage: %s/%s: slot %d is torn; using slot %d (seq %llu)\n",
			log->dir_path, STORE_STATE_FILE_NAME, 1 - best, best,
			(unsigned long long)s->seq);
	}
	return 0;
}

int state_write(struct store_log *log, const struct raft_hard_state *hs,
		raft_index compacted_index, raft_term compacted_term, raft_index commit_hint)
{
	RN_ASSERT(hs != NULL);
	RN_ASSERT(compacted_index >= log->compacted_index);
	RN_ASSERT(commit_hint >= log->commit_hint);
	struct state_slot slot;
	memset(&slot, 0, sizeof(slot));
	slot.magic = STATE_SLOT_MAGIC;
	slot.seq = log->state_seq + 1;
	slot.term = hs->term;
	slot.vote = hs->vote;
	slot.compacted_index = compacted_index;
	slot.compacted_term = compacted_term;
	slot.commit_hint = commit_hint;
	slot.crc32c = state_slot_crc(&slot);
	RN_ASSERT(state_slot_valid(&slot)); /* pair check before it leaves */

	/* The slot not holding the newest state: seq n lives in slot n % 2. */
	uint64_t offset = (slot.seq % STORE_STATE_SLOTS_COUNT) * STORE_STATE_SLOT_BYTES;
	struct store_engine *e = log->engine;
	int rc = e->ops->write_sync(e, log->state_file, offset, &slot, sizeof(slot));
	if (rc != 0) {
		return log_fail(log, rc, "%s/%s: write+sync at offset %llu: %s", log->dir_path,
				STORE_STATE_FILE_NAME, (unsigned long long)offset,
				store_strerror(rc));
	}
	log->state_seq = slot.seq;
	log->hard_state = *hs;
	log->compacted_index = compacted_index;
	log->compacted_term = compacted_term;
	log->commit_hint = commit_hint;
	return 0;
}
