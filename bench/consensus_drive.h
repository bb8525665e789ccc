/* SPDX-License-Identifier: MIT */
/*
 * consensus_drive.h - drives one consensus core through the steady state of
 * a leader or a follower, for bench/micro_consensus.cc (time per entry with
 * google-benchmark) and bench/consensus_instr.c (instructions per entry with
 * callgrind, which is repeatable on a noisy machine where time is not).
 * Only the measured core runs: peers' messages are fabricated, so the
 * figures are the core's own cost, not a network's or a peer's.
 */
#ifndef RN_BENCH_CONSENSUS_DRIVE_H
#define RN_BENCH_CONSENSUS_DRIVE_H

#include <stdint.h>

#include "consensus.h"

#ifdef __cplusplus
extern "C" {
#endif

struct drive;

/* A leader of `nodes` members, elected and in steady replicate state. */
struct drive *drive_leader_new(uint32_t nodes, uint32_t batch_entries);
/* One round: propose a batch, own write durable, every follower acks,
 * commit, apply. Returns entries committed (== batch_entries). */
uint32_t drive_leader_round(struct drive *d);

/* A follower of a 3-node cluster, receiving from leader 2. */
struct drive *drive_follower_new(uint32_t batch_entries);
/* One round: one AppendEntries of batch_entries, write durable, ack. */
uint32_t drive_follower_round(struct drive *d);

void drive_free(struct drive *d);

#ifdef __cplusplus
}
#endif

#endif
