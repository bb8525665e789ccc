/* SPDX-License-Identifier: MIT */
/*
 * catchup.h - what each lagging follower is owed from the durable log.
 * stage: control.
 *
 * The core asks for a follower below its window with from_storage appends:
 * in replicate state up to inflight_appends_max of them at once, each of
 * append_entries_max entries, consecutive. Reading them one at a time and
 * keeping only the newest ask per follower (as before) left holes: the
 * follower refused what came after a hole, the leader went back to probe,
 * and the log was read again (measured: a third of what was read arrived
 * usefully, ~4,000 entries/s). Here the asks of a follower merge into one
 * range [next, end]; reads serve it front to back in large chunks (the
 * read's entries fill frames: egress cuts them), round robin between
 * followers, and each read's last term is the next one's prev_term (no
 * header read from disk for it). An ask below `next` restarts the range:
 * the follower refused or the core probes again, and only its view counts.
 *
 * Pure (no I/O): tests/unit/test_node_catchup.c drives it.
 */
#ifndef RN_NODE_CONTROL_CATCHUP_H
#define RN_NODE_CONTROL_CATCHUP_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus.h"

/* Entries one read takes at most: ~200 KiB of 64 B entries, 23 frames
 * of 9,014 B; more in one burst overruns a follower's socket buffer. */
#define NODE_CATCHUP_READ_ENTRIES_MAX 2048u
_Static_assert(NODE_CATCHUP_READ_ENTRIES_MAX <= RAFT_BATCH_ENTRIES_MAX, "a read fills one batch");

/* The pace of catch-up reads: bytes of entries sent per second at most
 * (a read's bytes push the next one back). Unpaced (~500,000 entries/s
 * of 64 B here) the follower's writes and the leader's sends took the
 * CPUs and the disk the other clients' commits need: their p99 was 2.3x
 * that without a catch-up, measured side by side. 24 MiB/s is ~180,000
 * such entries/s, above what the cluster commits at full speed here. */
#define NODE_CATCHUP_BYTES_PER_S (24ull << 20)

struct node_catchup_range {
	raft_index next;	 /* first entry not read yet */
	raft_index end;		 /* last entry asked; next > end: nothing owed */
	raft_term prev_term;	 /* term of next - 1 when known (a read ended there), else 0 */
	uint64_t gen;		 /* bumped at each restart: a read of an older one is stale */
	struct raft_message ask; /* the latest ask: from, to, term, commit index */
};

struct node_catchup {
	struct node_catchup_range ranges[RAFT_NODES_MAX]; /* [0, count) */
	uint32_t count;
	uint32_t turn;	    /* round robin: the range looked at first */
	uint32_t reading;   /* 1 + the range whose read is in flight; 0: none */
	uint64_t read_gen;  /* its gen when the read started */
	uint64_t restarts;  /* asks that restarted a range */
	uint64_t next_ns;   /* no read starts before (the pace) */
};

void node_catchup_clear(struct node_catchup *k);
/* A from_storage append of the core, merged into its follower's range. */
void node_catchup_ask(struct node_catchup *k, const struct raft_message *m);
/* The next read when none is in flight and the pace allows it at now_ns:
 * a from_storage append of at most entries_max entries (prev_term set
 * when known, else 0) into *out, the read marked in flight. False: a read
 * is in flight, it is too early, or nothing is owed. */
bool node_catchup_next(struct node_catchup *k, uint64_t now_ns, uint32_t entries_max,
		       struct raft_message *out);
/* The read in flight ended at now_ns: rc entries of `bytes` read (the
 * last one last_index, last_term), or an error (<= 0: the range is
 * dropped; the core asks again, as for a lost message). */
void node_catchup_done(struct node_catchup *k, uint64_t now_ns, int rc, uint64_t bytes,
		       raft_index last_index, raft_term last_term);
/* True while a follower is owed entries or a read is in flight. */
bool node_catchup_busy(const struct node_catchup *k);

#endif /* RN_NODE_CONTROL_CATCHUP_H */
