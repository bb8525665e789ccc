/* SPDX-License-Identifier: MIT */
/*
 * snap_pace.h - paced, incremental writeback of a file written with
 * buffered writes (the snapshot files, snapshot.c; implemented in
 * snap_pace.c). Internal to storage.
 *
 * Why: a snapshot of a million keys is ~90 MB of page cache that the
 * kernel, left alone, writes back all at once at the final fsync (below
 * the dirty ratios nothing goes earlier). The log's small O_DIRECT
 * RWF_DSYNC writes then queue behind hundreds of MB of writeback on the
 * same device (and the device's cache flush after each of them carries
 * it): the commit path's p99 goes up 20x for the seconds of the fsync.
 * Written out a chunk at a time, at a bounded rate, never more than two
 * chunks in flight, the final fsync has almost nothing left to do.
 */
#ifndef RN_STORAGE_SNAP_PACE_H
#define RN_STORAGE_SNAP_PACE_H

#include <stdint.h>

struct snap_pace {
	int fd;
	uint64_t sync_bytes;	/* chunk started at a time; 0: none (the final fsync does all) */
	uint64_t bytes_per_s;	/* chunks started at this rate at most; 0: no limit */
	uint64_t written_bytes; /* of the file so far */
	uint64_t started_bytes; /* writeback started up to here */
	uint64_t waited_bytes;	/* on the device (written back) up to here */
	uint64_t next_ns;	/* CLOCK_MONOTONIC: the next chunk may start then */
	uint64_t slept_ns;	/* time spent waiting for the rate (said in the node's log) */
};

/* Starts pacing fd (empty, written from offset 0 on). */
void snap_pace_init(struct snap_pace *p, int fd, uint64_t sync_bytes, uint64_t bytes_per_s);
/* After `bytes` more were written at the end of the file: starts the
 * writeback of each whole chunk behind, first sleeping as long as the rate
 * says, and waits for the one before it. 0 or -errno (a writeback error:
 * the snapshot is not taken). */
int snap_pace_wrote(struct snap_pace *p, uint64_t bytes);

#endif /* RN_STORAGE_SNAP_PACE_H */
