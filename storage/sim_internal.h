/* SPDX-License-Identifier: MIT */
/*
 * sim_internal.h - internal: the simulated disk's state (struct store_sim)
 * and the few operations on it that both sim_disk.c (the disk and its
 * public fault controls) and engine_sim.c (the engine the log runs on)
 * need. The model is described in engine_sim.c.
 */
#ifndef RN_STORAGE_SIM_INTERNAL_H
#define RN_STORAGE_SIM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

#define SIM_FILES_MAX 1024u

struct sim_file {
	char name[STORE_FILE_NAME_BYTES];
	bool exists;
	uint8_t *vol; /* volatile image */
	uint8_t *dur; /* durable image */
	uint64_t vol_bytes;
	uint64_t dur_bytes;
	uint64_t cap_bytes; /* allocation of both buffers */
};

struct store_sim {
	struct store_sim_config cfg;
	uint64_t rng_state;
	uint64_t now_us;
	uint64_t ready_us; /* completion time of the group in flight, 0 = none */
	uint64_t epoch;		   /* bumped by every crash */
	uint64_t syncs_until_fail; /* 0 = no failure armed */
	bool prepare_hold;	   /* preparations finish only when waited for */
	bool prepare_fail_next;	   /* the next preparation fails with -EIO */
	uint64_t space_free_bytes; /* store_sim_set_space_bytes; UINT64_MAX: unlimited */
	/* The last write not yet made durable, for tearing at a crash. */
	bool unsynced_valid;
	uint32_t unsynced_file;
	uint64_t unsynced_offset;
	uint64_t unsynced_bytes;
	struct sim_file files[SIM_FILES_MAX];
};

uint64_t simdisk_rand(struct store_sim *sim);
/* Grows both images of f to at least `bytes` (zero-filled). */
int simdisk_reserve(struct sim_file *f, uint64_t bytes);
struct sim_file *simdisk_find(struct store_sim *sim, const char *name);
/* Counts a sync against the armed failure; true if this one fails. */
bool simdisk_sync_fails(struct store_sim *sim);
/* Copies file's volatile image to its durable one. */
void simdisk_make_durable(struct store_sim *sim, uint32_t file);
/* Writes into the volatile image and remembers it as the last unsynced
 * write (the one a crash may tear). */
int simdisk_write(struct store_sim *sim, uint32_t file, uint64_t offset, const void *buf,
	      uint64_t bytes);

#endif /* RN_STORAGE_SIM_INTERNAL_H */
