/* SPDX-License-Identifier: MIT */
/*
 * snap_link.h - what the snapshot writer tells the log stage, and what the
 * log stage tells the status: the newest durable snapshot and the log's
 * compaction point. stage: any (each field has one writer, named below;
 * the others read it atomically).
 *
 *   apply/ snapshot writer thread ── durable_index/term ──► log/ (compacts
 *                                                            the log below it)
 *
 * Apart from rings.h (which carries the records between lcores) because
 * the writer is a plain thread, not a stage: nothing here is a queue.
 */
#ifndef RN_NODE_SNAP_LINK_H
#define RN_NODE_SNAP_LINK_H

#include <stdint.h>
#include <string.h>

#include "consensus.h"

struct node_snap_link {
	/* Written by the snapshot writer thread: the newest snapshot that is
	 * durable (renamed, directory synced). A seqlock keeps (index, term) a
	 * pair for control (node_snap_link_read); the log stage needs the
	 * index alone (acquire). */
	uint32_t seq; /* odd while the pair changes */
	raft_term durable_term;
	raft_index durable_index;
	/* The configuration at durable_index (voters, learners), under the
	 * same seqlock: control's RAFT_EVENT_SNAPSHOT meta carries it. */
	struct raft_membership durable_conf;
	uint64_t snapshots_count, failures_count;
	uint64_t last_write_us; /* the newest snapshot's write, start to durable */
	/* Written by the log stage: where it compacted the log to. */
	raft_index compacted_index __attribute__((aligned(64)));
	uint64_t compactions_count;
	/* What a compaction costs where: on the log lcore (the point's state
	 * write and the detach, in order with the appends) and on the
	 * maintenance thread (the unlinks and the directory sync, which ran
	 * on the log lcore before): microseconds, the largest and the sum.
	 * Said on stderr when the node stops (not in the status, whose
	 * snapshot object must fit a follower's 1500-byte reply). */
	uint64_t compact_lcore_us_max, compact_lcore_us_sum, compact_lcore_count;
	uint64_t compact_files_us_max, compact_files_us_sum, compact_files_jobs;
};

/* The writer thread's publication of a durable snapshot. */
static inline void node_snap_link_publish(struct node_snap_link *l, raft_index index,
					  raft_term term, const struct raft_membership *conf)
{
	uint32_t seq = __atomic_load_n(&l->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&l->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(&l->durable_conf, conf, sizeof(*conf)); /* inside the odd seq */
	__atomic_store_n(&l->durable_term, term, __ATOMIC_RELAXED);
	__atomic_store_n(&l->durable_index, index, __ATOMIC_RELEASE);
	__atomic_store_n(&l->seq, seq + 2, __ATOMIC_RELEASE);
}

/* A consistent (index, term) of the newest durable snapshot. */
static inline void node_snap_link_read(const struct node_snap_link *l, raft_index *index,
				       raft_term *term, struct raft_membership *conf)
{
	for (;;) {
		uint32_t s1 = __atomic_load_n(&l->seq, __ATOMIC_ACQUIRE);
		*index = __atomic_load_n(&l->durable_index, __ATOMIC_RELAXED);
		*term = __atomic_load_n(&l->durable_term, __ATOMIC_RELAXED);
		if (conf != NULL) {
			memcpy(conf, &l->durable_conf, sizeof(*conf)); /* checked by seq */
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if ((s1 & 1) == 0 && s1 == __atomic_load_n(&l->seq, __ATOMIC_RELAXED)) {
			return;
		}
	}
}

#endif /* RN_NODE_SNAP_LINK_H */
