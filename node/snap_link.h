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

#include "consensus.h"

struct node_snap_link {
	/* Written by the snapshot writer thread: the newest snapshot that is
	 * durable (renamed, directory synced). Term first, index last with
	 * release: a reader that sees the index sees its term. */
	raft_term durable_term;
	raft_index durable_index;
	uint64_t snapshots_count, failures_count;
	uint64_t last_write_us; /* the newest snapshot's write, start to durable */
	/* Written by the log stage: where it compacted the log to. */
	raft_index compacted_index __attribute__((aligned(64)));
	uint64_t compactions_count;
};

#endif /* RN_NODE_SNAP_LINK_H */
