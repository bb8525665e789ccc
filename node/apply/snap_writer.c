/* SPDX-License-Identifier: MIT */
/*
 * snap_writer.c - the snapshot writer thread and the apply stage's side of
 * it (snap_writer.h says when and how they meet). stage: apply (poll and
 * start on the apply stage's lcore, writer_main on its own pthread).
 *
 * The apply stage's side never blocks: a semaphore post (a futex wake at
 * most) and atomic loads. The writer's failures (no space, an I/O error)
 * are a snapshot not taken: said on stderr, counted, and tried again once
 * the next threshold passes; the log is then simply not compacted.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "snap_writer.h"

static uint64_t snap_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Milliseconds from one commit step's end to the next's (0: not reached). */
static uint64_t snap_step_ms(uint64_t from_ns, uint64_t to_ns)
{
	return to_ns > from_ns && from_ns != 0 ? (to_ns - from_ns) / 1000000u : 0;
}

static int snap_emit(void *user, const void *bytes, size_t count)
{
	return store_snap_append(user, bytes, count);
}

/* One snapshot, on the writer thread. */
static int snap_write_one(struct node_snapshotter *sn, uint8_t *wbuf)
{
	const struct node_kv_snapshot_info *in = &sn->info;
	struct store_snap_meta m = {
		.cluster_id = sn->cluster_id, .index = in->index, .term = sn->term,
		.state_digest = in->digest, .keys_count = in->keys_count,
		.sessions_count = in->sessions_count, .kv_keys_max = in->limits.keys_max,
		.kv_key_bytes_max = in->limits.key_bytes_max,
		.kv_value_bytes_max = in->limits.value_bytes_max,
		.kv_clients_max = in->limits.clients_max,
		.kv_session_window = in->limits.session_window, .config_bytes = sn->config_bytes};
	memcpy(m.config, sn->config, sn->config_bytes);
	/* Room first, as for a log segment: a full disk refuses the snapshot
	 * cleanly (not taken, said, counted) before a byte is written; the
	 * node's no-space alarm is the log's. The bound is the state at its
	 * limits' slot sizes, above what the stream takes. */
	uint64_t bytes_max = STORE_SNAP_HEADER_BYTES +
			     in->keys_count * ((uint64_t)in->limits.key_bytes_max +
					       in->limits.value_bytes_max + 16u) +
			     in->sessions_count * (32u + 9u * (uint64_t)in->limits.session_window);
	bytes_max += bytes_max / STORE_SNAP_BLOCK_BYTES * 64u + 64u; /* block headers, trailer */
	/* Written over the older snapshot's file if one was kept: its
	 * blocks are this one's already. */
	uint64_t spare_bytes = store_snap_spare_bytes(sn->dir);
	bytes_max -= spare_bytes < bytes_max ? spare_bytes : bytes_max;
	int rc = store_snap_space_check(sn->dir, bytes_max, sn->space_reserve_bytes, sn->errmsg,
					sizeof(sn->errmsg));
	if (rc != 0) {
		return rc;
	}
	struct store_snap_writer *w = NULL;
	rc = store_snap_create(sn->dir, &m, &w, sn->errmsg, sizeof(sn->errmsg));
	if (rc != 0) {
		return rc;
	}
	/* Written out as it goes, at a bounded rate: the log's durable
	 * writes share the disk (storage.h, store_snap_pace). */
	store_snap_pace(w, STORE_SNAP_SYNC_BYTES_DEFAULT, sn->write_bytes_per_s);
	rc = node_kv_snapshot_write(sn->kv, wbuf, snap_emit, w);
	sn->paced_us = store_snap_paced_us(w);
	if (rc != 0) {
		snprintf(sn->errmsg, sizeof(sn->errmsg), "%s: writing the snapshot of index %" PRIu64
			 ": %s", sn->dir, in->index, strerror(-rc));
		store_snap_abort(w);
		return rc;
	}
	uint64_t commit_ns = snap_now_us() * 1000u;
	store_snap_commit_times_to(w, &sn->commit_times);
	sn->commit_started_ns = commit_ns;
	return store_snap_commit(w, sn->errmsg, sizeof(sn->errmsg));
}

static void *snap_writer_main(void *arg)
{
	struct node_snapshotter *sn = arg;
	uint8_t *wbuf = malloc(node_kv_snapshot_wbuf_bytes(sn->kv));
	/* Below the lcores: where they share CPUs with it (CI, this 2-CPU
	 * machine), a post that woke it at equal priority let it take the
	 * apply stage's CPU at once (snapbench: a 6-8 ms stall at the start
	 * of every snapshot). Niced, it runs in the gaps; a snapshot takes
	 * longer under full load, which only delays compaction. 10 below the
	 * lcores' nice, whatever that is: its share beside a busy lcore stays
	 * what it was when the lcores ran at 0. */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), sn->writer_nice) != 0) {
		fprintf(stderr, "raftnode %u: the snapshot writer runs at the lcores' priority "
			"(setpriority: %s)\n", sn->self, strerror(errno));
	}
	for (;;) {
		while (sem_wait(&sn->go) != 0) {
			RN_ASSERT(errno == EINTR);
		}
		if (__atomic_load_n(&sn->stop, __ATOMIC_ACQUIRE)) {
			break;
		}
		uint64_t t0 = snap_now_us();
		int rc = wbuf == NULL ? -ENOMEM : snap_write_one(sn, wbuf);
		uint64_t took_us = snap_now_us() - t0;
		sn->last_rc = rc;
		if (rc == 0) {
			struct node_snap_link *l = sn->link;
			__atomic_store_n(&l->last_write_us, took_us, __ATOMIC_RELAXED);
			node_snap_link_publish(l, sn->info.index, sn->term, &sn->membership);
			__atomic_add_fetch(&l->snapshots_count, 1, __ATOMIC_RELAXED);
			/* The wall clock's start lets a benchmark line its
			 * latency seconds up with the writes. */
			struct timespec wall;
			clock_gettime(CLOCK_REALTIME, &wall);
			uint64_t wall_ms = (uint64_t)wall.tv_sec * 1000u +
					   (uint64_t)wall.tv_nsec / 1000000u - took_us / 1000;
			fprintf(stderr, "raftnode %u: snapshot at index %" PRIu64 " (term %" PRIu64
				"): %" PRIu64 " keys, %" PRIu64 " sessions, written in %" PRIu64
				" ms from unix ms %" PRIu64 " (%" PRIu64 " ms of it paced; commit: "
				"fsync %" PRIu64 ", rename %" PRIu64 ", older file %" PRIu64 " ms)\n",
				sn->self, sn->info.index, sn->term, sn->info.keys_count,
				sn->info.sessions_count, took_us / 1000, wall_ms, sn->paced_us / 1000,
				snap_step_ms(sn->commit_started_ns, sn->commit_times.synced_ns),
				snap_step_ms(sn->commit_times.synced_ns, sn->commit_times.renamed_ns),
				snap_step_ms(sn->commit_times.renamed_ns, sn->commit_times.pruned_ns));
		} else {
			__atomic_add_fetch(&sn->link->failures_count, 1, __ATOMIC_RELAXED);
			fprintf(stderr, "raftnode %u: snapshot at index %" PRIu64 " NOT taken (%s); "
				"the log is not compacted until one is: %s\n", sn->self,
				sn->info.index, strerror(-rc), sn->errmsg);
		}
		/* Last: the apply stage ends the copy-on-write only once the
		 * writer reads the state no more. */
		__atomic_store_n(&sn->done, 1, __ATOMIC_RELEASE);
	}
	free(wbuf);
	return NULL;
}

int node_snapshotter_init(struct node_snapshotter *sn, const struct node_snapshotter_config *cfg,
			  struct node_kv *kv, struct node_snap_link *link)
{
	RN_ASSERT(kv != NULL);
	RN_ASSERT(link != NULL);
	memset(sn, 0, sizeof(*sn));
	sn->kv = kv;
	sn->link = link;
	snprintf(sn->dir, sizeof(sn->dir), "%s", cfg->dir);
	sn->cluster_id = cfg->cluster_id;
	sn->self = cfg->self;
	sn->writer_nice = cfg->lcore_nice + 10 < 19 ? cfg->lcore_nice + 10 : 19;
	sn->entries_trigger = cfg->entries_trigger;
	sn->bytes_trigger = cfg->bytes_trigger;
	sn->space_reserve_bytes = cfg->space_reserve_bytes;
	sn->write_bytes_per_s = cfg->write_bytes_per_s;
	_Static_assert(NODE_CONF_BLOB_BYTES_MAX <= STORE_SNAP_CONFIG_BYTES_MAX,
		       "a configuration fits the snapshot's blob");
	int rc = node_kv_snapshot_reserve(kv);
	if (rc != 0) {
		return rc;
	}
	if (sem_init(&sn->go, 0, 0) != 0) {
		return -errno;
	}
	rc = pthread_create(&sn->thread, NULL, snap_writer_main, sn);
	if (rc != 0) {
		sem_destroy(&sn->go);
		return -rc;
	}
	sn->thread_started = true;
	return 0;
}

void node_snapshotter_fini(struct node_snapshotter *sn)
{
	if (!sn->thread_started) {
		return;
	}
	__atomic_store_n(&sn->stop, 1, __ATOMIC_RELEASE);
	sem_post(&sn->go);
	pthread_join(sn->thread, NULL);
	sem_destroy(&sn->go);
	sn->thread_started = false;
}

bool node_snapshotter_idle(struct node_snapshotter *sn)
{
	if (sn->busy && __atomic_load_n(&sn->done, __ATOMIC_ACQUIRE)) {
		node_kv_snapshot_end(sn->kv);
		__atomic_store_n(&sn->done, 0, __ATOMIC_RELAXED);
		sn->busy = false;
	}
	return !sn->busy;
}

bool node_snapshotter_start(struct node_snapshotter *sn, raft_index applied, raft_term term)
{
	RN_ASSERT(sn->thread_started);
	if (!node_snapshotter_idle(sn) || applied == 0) {
		return false;
	}
	RN_ASSERT(node_kv_applied_index(sn->kv) == applied);
	/* Only state this node's own log holds durably (snap_writer.h). */
	if (sn->durable_published != NULL &&
	    applied > __atomic_load_n(sn->durable_published, __ATOMIC_RELAXED)) {
		return false;
	}
	node_kv_snapshot_begin(sn->kv, &sn->info);
	RN_ASSERT(sn->info.index == applied);
	RN_ASSERT(sn->conf != NULL); /* wired by the daemon */
	RN_ASSERT(sn->conf->m.voters_count > 0);
	/* The configuration as of `applied`: the apply stage's, on its lcore. */
	sn->config_bytes = node_conf_blob_encode(sn->conf, sn->config, sizeof(sn->config));
	sn->membership = sn->conf->m;
	sn->term = term;
	sn->base_index = applied;
	sn->bytes_since = 0;
	sn->busy = true;
	sem_post(&sn->go); /* release: the writer sees info, term and the marks */
	return true;
}

/*
 * The index at which the snapshot after `base` is due: the first at or past
 * base + trigger / 2 that is this node's phase modulo the trigger, the
 * phase being its rank among the members times trigger / members. Why:
 * every node applies the same entries at about the same time, so with a
 * plain "trigger entries since the last one" all of them snapshot at once,
 * and where they share a disk (a test cluster on one machine: three 90 MB
 * files written, synced and the older ones let go in the same seconds) the
 * log's sync writes queued behind three times the work. Phased, one node
 * writes at a time; on separate machines it changes nothing. Snapshots
 * still come every `trigger` entries (after the first one, half to one and
 * a half triggers after a load or an install).
 */
static raft_index snap_due_index(const struct node_snapshotter *sn, raft_index base)
{
	uint64_t trigger = sn->entries_trigger;
	RN_ASSERT(trigger > 0);
	uint64_t rank = 0, members = 1;
	if (sn->conf != NULL && trigger < UINT64_MAX / RAFT_NODES_MAX / 2) {
		const struct raft_membership *m = &sn->conf->m;
		members = m->voters_count + m->learners_count;
		for (uint32_t i = 0; i < m->voters_count + m->learners_count; i++) {
			raft_node_id id = i < m->voters_count ? m->voters[i]
							      : m->learners[i - m->voters_count];
			rank += id < sn->self; /* the ranks differ: ids are unique */
		}
		members = members > 0 ? members : 1;
	}
	uint64_t phase = trigger * (rank % members) / members;
	uint64_t from = base + trigger / 2;
	if (from < base) {
		return UINT64_MAX; /* never: past the index space */
	}
	uint64_t ahead = (phase + trigger - from % trigger) % trigger;
	return from + ahead < from ? UINT64_MAX : from + ahead;
}

void node_snapshotter_poll(struct node_snapshotter *sn, raft_index applied, raft_term term,
			   uint64_t *bytes)
{
	sn->bytes_since += *bytes;
	*bytes = 0;
	RN_ASSERT(applied >= sn->base_index);
	if (!node_snapshotter_idle(sn)) {
		return;
	}
	bool due = applied - sn->base_index >= sn->entries_trigger / 2 &&
		   applied >= snap_due_index(sn, sn->base_index);
	if (due || sn->bytes_since >= sn->bytes_trigger) {
		node_snapshotter_start(sn, applied, term);
	}
}
