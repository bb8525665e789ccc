/* SPDX-License-Identifier: MIT */
/*
 * log_maint.h - the log stage's maintenance thread (log_maint.c): the
 * files of compacted segments deleted, and the directory synced, off the
 * log lcore. stage: log.
 */
#ifndef RN_NODE_LOG_MAINT_H
#define RN_NODE_LOG_MAINT_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>

#include "storage.h"

/* Segments one job deletes: more wait for the next (the log stage asks
 * store_compact_detach again for what is left below the point). */
#define NODE_LOG_MAINT_SEGMENTS_MAX 1024u

struct node_log_maint {
	char dir[256];
	raft_node_id self;
	pthread_t thread;
	bool started;
	sem_t go;
	uint32_t stop; /* atomic */
	/* The log stage's: a job handed over whose done it has not seen. */
	bool busy;
	uint32_t done; /* atomic: the thread finished the job (rc, errmsg set) */
	uint32_t count;
	raft_index firsts[NODE_LOG_MAINT_SEGMENTS_MAX]; /* the job's segments */
	int rc;
	char errmsg[400];
	uint64_t jobs_count, files_count;
	uint64_t last_job_us; /* atomic: the newest job's unlinks and sync */
};

/* Starts the thread for the log directory dir. 0 or -errno. */
int node_log_maint_start(struct node_log_maint *m, const char *dir, raft_node_id self);
/* Joins it (a job in progress finishes first). */
void node_log_maint_stop(struct node_log_maint *m);
/* Where the next job's segments go (while not busy). */
raft_index *node_log_maint_slots(struct node_log_maint *m);
/* Hands the count segments written to the slots to the thread. */
void node_log_maint_hand(struct node_log_maint *m, uint32_t count);
/* 0 when no job runs (the last one succeeded), 1 while one runs, or the
 * failed job's -errno (errmsg says which file: the log stage fail-stops,
 * as for a failed sync on its own path). */
int node_log_maint_poll(struct node_log_maint *m, char *errmsg, size_t errmsg_bytes);

#endif /* RN_NODE_LOG_MAINT_H */
