/* SPDX-License-Identifier: MIT */
/*
 * fuzz_replay.c - libFuzzer target for the anti-replay windows (replay.c).
 *
 * Input: records of 4 bytes, each a frame's (sender u8, boot epoch u8,
 * msg_seq u16 LE) - any order, any jumps, epochs up and down - admitted
 * into a table of 6 senders while the ids span 8 (so senders get evicted).
 * Oracle: a plain model kept beside it, with a whole bitmap of the 65536
 * possible seqs per sender instead of a ring, the same rules (an older
 * epoch is too old, a newer one resets, above the top is new, W or more
 * below is too old, else seen or not) and the same eviction (the sender
 * heard least recently); every verdict must agree, dp_replay_check must
 * agree with dp_replay_admit, and the counters must add up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane.h"

#define FUZZ_SENDERS 6u
#define FUZZ_IDS 8u

struct fuzz_model {
	bool known;
	uint32_t epoch;
	uint64_t top;
	uint64_t last_used;
	uint8_t seen[65536 / 8];
};

static struct fuzz_model fuzz_m[FUZZ_IDS + 1];
static struct dp_replay fuzz_r;
static int fuzz_ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum dp_replay_verdict fuzz_model_admit(raft_node_id id, uint32_t epoch, uint64_t seq,
					       uint64_t *clock)
{
	struct fuzz_model *m = &fuzz_m[id];
	if (!m->known) {
		uint32_t known = 0;
		raft_node_id oldest = 0;
		for (raft_node_id i = 1; i <= FUZZ_IDS; i++) {
			if (fuzz_m[i].known) {
				known++;
				if (oldest == 0 || fuzz_m[i].last_used < fuzz_m[oldest].last_used) {
					oldest = i;
				}
			}
		}
		if (known == FUZZ_SENDERS) {
			fuzz_m[oldest].known = false;
		}
	} else if (epoch < m->epoch) {
		return DP_REPLAY_TOO_OLD;
	} else if (epoch == m->epoch) {
		if (seq <= m->top && m->top - seq >= DP_REPLAY_WINDOW_SEQS) {
			return DP_REPLAY_TOO_OLD;
		}
		if (seq <= m->top && (m->seen[seq / 8] >> (seq % 8) & 1) != 0) {
			return DP_REPLAY_REPLAYED;
		}
		m->top = seq > m->top ? seq : m->top;
		m->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
		m->last_used = ++*clock;
		return DP_REPLAY_NEW;
	}
	/* A new sender, or its newer epoch: a window from here. */
	memset(m, 0, sizeof(*m));
	m->known = true;
	m->epoch = epoch;
	m->top = seq;
	m->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
	m->last_used = ++*clock;
	return DP_REPLAY_NEW;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fuzz_ready) {
		if (dp_replay_init(&fuzz_r, FUZZ_SENDERS) != 0) {
			abort();
		}
		fuzz_ready = 1;
	}
	dp_replay_fini(&fuzz_r);
	if (dp_replay_init(&fuzz_r, FUZZ_SENDERS) != 0) {
		abort();
	}
	memset(fuzz_m, 0, sizeof(fuzz_m));
	uint64_t clock = 0, calls = 0;
	for (size_t at = 0; at + 4 <= size; at += 4) {
		raft_node_id id = (raft_node_id)(data[at] % FUZZ_IDS) + 1;
		uint32_t epoch = data[at + 1];
		uint64_t seq = (uint64_t)data[at + 2] | (uint64_t)data[at + 3] << 8;
		enum dp_replay_verdict want = dp_replay_check(&fuzz_r, id, epoch, seq);
		enum dp_replay_verdict got = dp_replay_admit(&fuzz_r, id, epoch, seq);
		enum dp_replay_verdict model = fuzz_model_admit(id, epoch, seq, &clock);
		if (got != want || got != model) {
			abort();
		}
		calls++;
	}
	const struct dp_replay_counters *c = &fuzz_r.counters;
	if (c->accepted + c->replayed + c->too_old != calls || c->old_epoch > c->too_old ||
	    fuzz_r.senders_count > FUZZ_SENDERS) {
		abort();
	}
	return 0;
}
