/* SPDX-License-Identifier: MIT */
/*
 * sim_disk.c - the simulated disk itself: files with a volatile and a
 * durable image, the seeded random stream, and the public fault controls
 * (crash with a torn last write, bit flips, armed sync failures, the
 * simulated clock). The model is described in engine_sim.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "sim_internal.h"

uint64_t simdisk_rand(struct store_sim *sim)
{
	/* splitmix64: tiny, seedable, good enough for fault dice. */
	uint64_t z = (sim->rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int simdisk_reserve(struct sim_file *f, uint64_t bytes)
{
	if (bytes <= f->cap_bytes) {
		return 0;
	}
	uint64_t cap = rn_max_u64(bytes, f->cap_bytes * 2);
	uint8_t *vol = realloc(f->vol, (size_t)cap);
	if (vol == NULL) {
		return -ENOMEM;
	}
	f->vol = vol;
	uint8_t *dur = realloc(f->dur, (size_t)cap);
	if (dur == NULL) {
		return -ENOMEM;
	}
	f->dur = dur;
	memset(f->vol + f->cap_bytes, 0, (size_t)(cap - f->cap_bytes));
	memset(f->dur + f->cap_bytes, 0, (size_t)(cap - f->cap_bytes));
	f->cap_bytes = cap;
	return 0;
}

struct sim_file *simdisk_find(struct store_sim *sim, const char *name)
{
	for (uint32_t i = 0; i < SIM_FILES_MAX; i++) {
		if (sim->files[i].exists && strcmp(sim->files[i].name, name) == 0) {
			return &sim->files[i];
		}
	}
	return NULL;
}

bool simdisk_sync_fails(struct store_sim *sim)
{
	if (sim->syncs_until_fail == 0) {
		return false;
	}
	sim->syncs_until_fail--;
	return sim->syncs_until_fail == 0;
}

void simdisk_make_durable(struct store_sim *sim, uint32_t file)
{
	struct sim_file *f = &sim->files[file];
	memcpy(f->dur, f->vol, (size_t)f->vol_bytes);
	f->dur_bytes = f->vol_bytes;
	if (sim->unsynced_valid && sim->unsynced_file == file) {
		sim->unsynced_valid = false;
	}
}

int simdisk_write(struct store_sim *sim, uint32_t file, uint64_t offset, const void *buf,
		     uint64_t bytes)
{
	struct sim_file *f = &sim->files[file];
	int rc = simdisk_reserve(f, offset + bytes);
	if (rc != 0) {
		return rc;
	}
	memcpy(f->vol + offset, buf, (size_t)bytes);
	f->vol_bytes = rn_max_u64(f->vol_bytes, offset + bytes);
	sim->unsynced_valid = true;
	sim->unsynced_file = file;
	sim->unsynced_offset = offset;
	sim->unsynced_bytes = bytes;
	return 0;
}

int store_sim_create(const struct store_sim_config *cfg, struct store_sim **out)
{
	RN_ASSERT(cfg != NULL && out != NULL);
	if (cfg->latency_us_max < cfg->latency_us_min || cfg->tear_ppm > 1000000u ||
	    (cfg->write_align_bytes != 0 && cfg->write_align_bytes != STORE_DIRECT_ALIGN_BYTES)) {
		return -STORE_E_CONFIG;
	}
	struct store_sim *sim = calloc(1, sizeof(*sim));
	if (sim == NULL) {
		return -ENOMEM;
	}
	sim->cfg = *cfg;
	sim->space_free_bytes = UINT64_MAX;
	sim->rng_state = cfg->seed;
	sim->syncs_until_fail = cfg->fail_sync_nth;
	*out = sim;
	return 0;
}

void store_sim_destroy(struct store_sim *sim)
{
	if (sim == NULL) {
		return;
	}
	for (uint32_t i = 0; i < SIM_FILES_MAX; i++) {
		free(sim->files[i].vol);
		free(sim->files[i].dur);
	}
	free(sim);
}

void store_sim_advance_us(struct store_sim *sim, uint64_t us)
{
	sim->now_us += us;
}

uint64_t store_sim_ready_us(const struct store_sim *sim)
{
	return sim->ready_us;
}

uint64_t store_sim_now_us(const struct store_sim *sim)
{
	return sim->now_us;
}

void store_sim_fail_sync(struct store_sim *sim, uint64_t nth)
{
	sim->syncs_until_fail = nth;
}

void store_sim_hold_prepare(struct store_sim *sim, bool hold)
{
	sim->prepare_hold = hold;
}

void store_sim_fail_prepare(struct store_sim *sim)
{
	sim->prepare_fail_next = true;
}

void store_sim_set_space_bytes(struct store_sim *sim, uint64_t free_bytes)
{
	sim->space_free_bytes = free_bytes;
}

void store_sim_crash(struct store_sim *sim)
{
	sim->epoch++;
	sim->ready_us = 0;
	bool tear = sim->unsynced_valid && simdisk_rand(sim) % 1000000u < sim->cfg.tear_ppm;
	/* Draw the cut before resetting, so the stream does not depend on
	 * which files exist. A prefix of [0, bytes] bytes survives. */
	uint64_t keep_bytes = sim->unsynced_valid ? simdisk_rand(sim) % (sim->unsynced_bytes + 1) : 0;
	for (uint32_t i = 0; i < SIM_FILES_MAX; i++) {
		struct sim_file *f = &sim->files[i];
		if (!f->exists) {
			continue;
		}
		if (tear && i == sim->unsynced_file) {
			/* The torn prefix reached the platter; the rest did not. */
			uint64_t end = sim->unsynced_offset + keep_bytes;
			if (end > f->dur_bytes) {
				f->dur_bytes = end;
			}
			memcpy(f->dur + sim->unsynced_offset, f->vol + sim->unsynced_offset,
			       (size_t)keep_bytes);
		}
		memcpy(f->vol, f->dur, (size_t)f->dur_bytes);
		if (f->vol_bytes > f->dur_bytes) {
			memset(f->vol + f->dur_bytes, 0, (size_t)(f->vol_bytes - f->dur_bytes));
		}
		f->vol_bytes = f->dur_bytes;
	}
	sim->unsynced_valid = false;
}

int store_sim_flip_bit(struct store_sim *sim, const char *file_name, uint64_t byte_offset,
		       unsigned bit)
{
	RN_ASSERT(bit < 8);
	for (uint32_t i = 0; i < SIM_FILES_MAX; i++) {
		struct sim_file *f = &sim->files[i];
		if (f->exists && strcmp(f->name, file_name) == 0) {
			if (byte_offset >= f->vol_bytes) {
				return -STORE_E_RANGE;
			}
			f->vol[byte_offset] ^= (uint8_t)(1u << bit);
			if (byte_offset < f->dur_bytes) {
				f->dur[byte_offset] ^= (uint8_t)(1u << bit);
			}
			return 0;
		}
	}
	return -ENOENT;
}

int64_t store_sim_file_bytes(const struct store_sim *sim, const char *file_name)
{
	for (uint32_t i = 0; i < SIM_FILES_MAX; i++) {
		if (sim->files[i].exists && strcmp(sim->files[i].name, file_name) == 0) {
			return (int64_t)sim->files[i].vol_bytes;
		}
	}
	return -ENOENT;
}
