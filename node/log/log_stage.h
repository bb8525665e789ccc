/* SPDX-License-Identifier: MIT */
/*
 * log_stage.h - the log stage: the one owner of the durable log once the
 * node runs. stage: log.
 *
 * It takes the ops control pushes (rings.h: node_log_link) in ring order:
 * APPENDs gathered into one store_append (one group write and one sync
 * cover everything control produced meanwhile), HINTs, synchronous CALLs
 * (hard state, truncation) and the catch-up READ; it reports "durable up
 * to" back. Control's end of the link is control/log_end.c.
 */
#ifndef RN_NODE_LOG_STAGE_H
#define RN_NODE_LOG_STAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"
#include "log_maint.h"
#include "rings.h"
#include "snap_link.h"
#include "storage.h"

#define NODE_LOG_BATCH_MAX 512u /* entries gathered into one store_append */
/* Room for appends the log refused for want of space (-STORE_E_NO_SPACE),
 * kept in order until it takes them: the core's window (log_entries_max:
 * it holds every entry that is not durable yet, so no more can be held)
 * plus one batch and one burst on their way. Allocated at init. */
static inline uint64_t node_log_held_max(uint32_t log_entries_max)
{
	return (uint64_t)log_entries_max + NODE_LOG_BATCH_MAX + NODE_LOG_BURST;
}
#define NODE_LOG_SPACE_RETRY_NS (100ull * 1000 * 1000) /* held appends, space rechecked */

struct node_log_stage {
	struct store_log *log; /* NULL until attached (the log recovers first) */
	struct node_log_link *link;
	bool draining;	     /* the node stops: calls are refused, appends written */
	bool stopped;	     /* node_log_stage_stop ran: nothing staged or in flight */
	bool report_pending; /* `report` is newer than what the ring has */
	uint64_t reports_made;
	struct node_log_report report;
	struct store_entry batch[NODE_LOG_BATCH_MAX];
	uint32_t batch_count;
	bool space_short; /* store_stats.space_short, as last published */
	uint32_t held_count; /* held[0..held_count): consecutive indices */
	uint32_t held_max;
	uint64_t space_retry_ns;
	struct store_entry *held; /* [held_max] */
	/* Compaction (NULL snap: snapshots off): below the newest durable
	 * snapshot less the margin, never above what was applied. */
	struct node_snap_link *snap;
	const raft_index *applied_published; /* the apply stage's (atomic) */
	uint64_t compact_margin_entries;
	raft_index compact_seen; /* the snapshot index last compacted for */
	/* A group's write and sync, handed over to durable (../metrics.h;
	 * this lcore writes, the metrics thread reads). */
	struct node_hist sync_hist;
	struct node_probe sync_probe;
	/* The files of compacted segments go on this thread (log_maint.c);
	 * compact_more: a job could not take every segment below the point. */
	struct node_log_maint *maint;
	bool compact_more;
	uint64_t maint_jobs_seen; /* jobs whose time went to the status */
	/* The catch-up read in flight (log_read.c): its request and its
	 * link sequence number (0: none). */
	struct store_read_req read_req;
	uint64_t read_seq;
};

/* Makes the link's rings and the room for held appends (the core's
 * window: log_entries_max). 0 or -ENOMEM. */
int node_log_stage_init(struct node_log_stage *ls, struct node_log_link *link,
			uint32_t log_entries_max);
void node_log_stage_attach(struct node_log_stage *ls, struct store_log *log);
/* Compacts the log behind durable snapshots (before any lcore runs):
 * starts the maintenance thread for the log's directory dir. 0, or -errno
 * (said on stderr). */
int node_log_stage_compact_after(struct node_log_stage *ls, struct node_snap_link *snap,
				 const raft_index *applied_published, uint64_t margin_entries,
				 const char *dir, raft_node_id self);
/* log_compact.c, from the stage's poll: 1 compacted (the point moved, or
 * files handed to the maintenance thread), 0 nothing to do, or a store
 * or file error (the log then fail-stops). */
int node_log_stage_compact(struct node_log_stage *ls);
void node_log_stage_fini(struct node_log_stage *ls);
/* log_compact.c: stops the maintenance thread (from fini). */
void node_log_stage_compact_fini(struct node_log_stage *ls);
/* log_read.c: the READ op, started through the log's engine (published
 * at once when it cannot start, or failed: the log failed); on_read
 * (store_config.on_read) publishes its end. */
void node_log_stage_read(struct node_log_stage *ls, const struct node_log_op *op, bool failed);
void node_log_stage_on_read(void *user, struct store_read_req *req);
/* The storage's completion callback (store_config.on_durable). */
void node_log_stage_on_durable(void *user, raft_index index, raft_term term);
uint32_t node_log_stage_poll(void *ctx); /* the log lcore's stage */
/* What the log stage sleeps on (dp_stage.wait_fd): io_uring's eventfd,
 * or none (pwrite completes inside the stage's poll). */
int node_log_stage_wait_fd(void *ctx);
/* The log lcore's last step: drain the ops, flush (dp_stage.stop). */
void node_log_stage_stop(void *ctx);

#endif /* RN_NODE_LOG_STAGE_H */
