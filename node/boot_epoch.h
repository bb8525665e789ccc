/* SPDX-License-Identifier: MIT */
/*
 * boot_epoch.h - the node's boot epoch: a number that rises at every start
 * of the process (issue 17, replay windows). stage: main (start-up, before
 * the transport sends anything).
 *
 * Peers keep a replay window per sender and epoch (dataplane.h, "Replay
 * windows"); a frame of an older epoch than the sender's newest is refused.
 * So a restarted node must never reuse an epoch, or its new frames (msg_seq
 * from 1 again) would be refused as replays of its previous life, and its
 * previous life's frames could be replayed into its new one.
 *
 * epoch = max(wall-clock seconds, the last epoch kept in the data
 * directory + 1), kept there durably (written, synced, renamed, directory
 * synced) before the node sends: the clock makes it rise for a node that
 * comes back with an empty disk under its old id, the counter for one
 * whose clock went back. What neither covers: a wiped node restarted
 * within the wall-clock second of its previous start (same epoch: its
 * frames are refused as replays until its msg_seq passes the old one's,
 * counted at the peers - liveness, not safety), and a clock set back with
 * the disk wiped.
 */
#ifndef RN_NODE_BOOT_EPOCH_H
#define RN_NODE_BOOT_EPOCH_H

#include <stddef.h>
#include <stdint.h>

#define NODE_BOOT_EPOCH_FILE "boot_epoch"

/* Reads DIR/boot_epoch (missing: 0; damaged: 0 with a warning on stderr,
 * the clock still makes the epoch rise), picks max(now_s, kept + 1) and
 * keeps it durably. 0 with *epoch_out set, or -errno / -ERANGE (the u32
 * is used up, or the clock is past 2106) with errmsg saying what failed. */
int node_boot_epoch_next(const char *dir, uint64_t now_s, uint32_t *epoch_out, char *errmsg,
			 size_t errmsg_bytes);

#endif /* RN_NODE_BOOT_EPOCH_H */
