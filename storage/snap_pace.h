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

#include <stdbool.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in ns. */
uint64_t snap_pace_now_ns(void);
/* The pacing itself is storage.h's store_pace_init / store_pace_wrote:
 * snapshot.c's writer and snapxfer's staging file use the same. */

/* Whether fd is the file's only open descriptor (a write lease, given
 * back at once; false where leases are not supported). snap_pace.c. */
bool snap_sole_opener(int fd);

/* ---- the spare: the older snapshot's file reused (snap_spare.c) ---- */

#define SNAP_SPARE_NAME "snap-spare.tmp"
/* The spare in dir, if there is one that nobody else has open, renamed to
 * tmp_path and opened for writing from offset 0: its descriptor, and its
 * size in *file_bytes; else a negative errno (-ENOENT: none) and the
 * caller creates the file. */
int snap_spare_take(const char *dir, const char *tmp_path, uint64_t *file_bytes);
/* The snapshot at path (to be deleted) renamed to the spare, if dir has
 * none: 0; else -EEXIST or -errno and the caller deletes it. The caller
 * syncs the directory. */
int snap_spare_keep(const char *dir, const char *path);

#endif /* RN_STORAGE_SNAP_PACE_H */
