/* SPDX-License-Identifier: MIT */
/*
 * snap_spare.c - the older snapshot's file kept as the next snapshot's
 * (snap_pace.h says the API). Runs on the thread that writes snapshots.
 *
 * Why: the data file system here is ext4 without a journal, mounted with
 * `discard`: freeing a file's blocks discards them at once, in the freeing
 * thread, and a virtio disk passes each discard to the host, which punches
 * a hole in the disk's image; the log's sync writes and cache flushes
 * queue behind it. Deleting the older 90 MB snapshot after each new one,
 * even 4 MiB at a time, was that many discards per snapshot on each of the
 * nodes sharing the disk; and writing the new one into fresh blocks was
 * that much block allocation (delayed, at writeback: extent and bitmap
 * updates). Both go when the file that would be deleted is renamed to
 * SNAP_SPARE_NAME instead and the next snapshot is written over it: its
 * blocks stay allocated and written, no discard, no allocation but for the
 * growth, and the commit cuts the old tail (a small discard).
 *
 * Crash safety is the commit's, unchanged: the spare becomes the new
 * snapshot's temporary file, which is fsynced before its rename and the
 * directory after; a crash while it is written leaves a .tmp that
 * store_snap_clean removes at start. The spare itself is never read: it is
 * not a .snap (store_snap_list does not see it), and a crash that leaves it
 * leaves a spare for the next snapshot. The cost: the directory holds it
 * at rest, so three snapshot files instead of two between snapshots; the
 * peak, while the next one is written, is three, as before.
 *
 * A file someone still reads (snapxfer's sender keeps the snapshot it
 * offered open until the transfer ends) must not be written over: the
 * spare is taken only by its sole opener (the write lease of
 * store_unlink_paced, snap_pace.c); otherwise it is only unlinked, its
 * reader keeping the bytes, and the snapshot is written to a new file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "snap_pace.h"
#include "storage.h"

static void spare_path(const char *dir, char *out, size_t out_bytes)
{
	snprintf(out, out_bytes, "%s/%s", dir, SNAP_SPARE_NAME);
}

int snap_spare_take(const char *dir, const char *tmp_path, uint64_t *file_bytes)
{
	char spare[512];
	spare_path(dir, spare, sizeof(spare));
	*file_bytes = 0;
	int fd = open(spare, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	struct stat st;
	if (!snap_sole_opener(fd) || fstat(fd, &st) != 0) {
		close(fd);
		(void)unlink(spare); /* its reader keeps it; a new file instead */
		return -EBUSY;
	}
	/* Renamed over a .tmp a failed snapshot may have left: the next
	 * store_snap_clean would have removed it anyway. */
	if (rename(spare, tmp_path) != 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	*file_bytes = (uint64_t)st.st_size;
	return fd;
}

int snap_spare_keep(const char *dir, const char *path)
{
	char spare[512];
	spare_path(dir, spare, sizeof(spare));
	if (access(spare, F_OK) == 0) {
		return -EEXIST; /* one is enough: the caller deletes path */
	}
	return rename(path, spare) == 0 ? 0 : -errno;
}

uint64_t store_snap_spare_bytes(const char *dir)
{
	char spare[512];
	spare_path(dir, spare, sizeof(spare));
	struct stat st;
	return stat(spare, &st) == 0 ? (uint64_t)st.st_size : 0;
}
