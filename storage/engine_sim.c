/* SPDX-License-Identifier: MIT */
/*
 * engine_sim.c - the simulated disk (struct store_sim) and the engine that
 * runs the log on it. Used by unit tests and, later, by raftsim: a node's
 * log is the same store_log code on this engine, so a simulated crash loses
 * exactly what a real one would.
 *
 * Model. Each file has a volatile image (what reads see) and a durable image
 * (what survives a crash). Writes go to the volatile image when submitted; a
 * successful sync copies the file's volatile image to its durable one.
 * Directory operations, allocate and truncate are durable at once (the log
 * always syncs right after them anyway). A crash resets every volatile image
 * to its durable one, except that the last write not yet synced may survive
 * as a prefix cut at any byte (a torn write), with probability tear_ppm.
 * Faults: the N-th sync fails with -EIO (and makes nothing durable); bits
 * can be flipped in both images; groups complete after a seeded latency on a
 * simulated clock. All randomness comes from one seeded splitmix64 stream.
 *
 * After store_sim_crash() every engine opened before it is dead: its calls
 * return -ECANCELED and its group in flight completes with -ECANCELED, so
 * the log of a crashed node can never report anything durable again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "sim_internal.h"

struct sim_engine {
	struct store_engine base;
	struct store_sim *sim;
	uint64_t epoch;
	bool active;
	uint64_t ready_us;
	int result;	   /* of the runs done at submit */
	int last_run_file; /* the file the group's last run wrote */
	enum store_durability durability;
	bool prepare_active; /* a preparation was submitted, not yet polled */
	char prepare_name[STORE_FILE_NAME_BYTES];
	uint64_t prepare_bytes;
	bool read_active; /* the read is done at submit; poll hands it over */
	int64_t read_res;
};

static struct sim_engine *sim_of(struct store_engine *e)
{
	return (struct sim_engine *)e;
}

static bool sim_dead(const struct sim_engine *se)
{
	return se->epoch != se->sim->epoch;
}

static struct sim_file *sim_file(struct sim_engine *se, int file)
{
	RN_ASSERT(file >= 0 && (uint32_t)file < SIM_FILES_MAX);
	struct sim_file *f = &se->sim->files[file];
	RN_ASSERT(f->exists); /* the log closes handles before unlinking */
	return f;
}

/* Counts a sync against the armed failure; true if this one fails. */
static int sim_open(struct store_engine *e, const char *name, bool create, int *file_out)
{
	struct sim_engine *se = sim_of(e);
	if (sim_dead(se)) {
		return -ECANCELED;
	}
	struct sim_file *f = simdisk_find(se->sim, name);
	if (f == NULL && !create) {
		return -ENOENT;
	}
	for (uint32_t i = 0; f == NULL && i < SIM_FILES_MAX; i++) {
		if (!se->sim->files[i].exists) {
			f = &se->sim->files[i];
			memset(f, 0, sizeof(*f));
			f->exists = true;
			strncpy(f->name, name, sizeof(f->name) - 1);
		}
	}
	if (f == NULL) {
		return -ENOSPC;
	}
	*file_out = (int)(f - se->sim->files);
	return 0;
}

static void sim_close(struct store_engine *e, int file)
{
	(void)e;
	(void)file; /* handles are slots; nothing to release */
}

static int sim_unlink(struct store_engine *e, const char *name)
{
	struct sim_engine *se = sim_of(e);
	if (sim_dead(se)) {
		return -ECANCELED;
	}
	struct sim_file *f = simdisk_find(se->sim, name);
	if (f == NULL) {
		return -ENOENT;
	}
	if (se->sim->unsynced_valid && se->sim->unsynced_file == (uint32_t)(f - se->sim->files)) {
		se->sim->unsynced_valid = false;
	}
	free(f->vol);
	free(f->dur);
	memset(f, 0, sizeof(*f));
	return 0;
}

static int sim_list(struct store_engine *e, int (*fn)(void *user, const char *name), void *user)
{
	struct sim_engine *se = sim_of(e);
	if (sim_dead(se)) {
		return -ECANCELED;
	}
	for (uint32_t i = 0; i < SIM_FILES_MAX; i++) {
		if (se->sim->files[i].exists) {
			int rc = fn(user, se->sim->files[i].name);
			if (rc != 0) {
				return rc;
			}
		}
	}
	return 0;
}

static int sim_sync_dir(struct store_engine *e)
{
	return sim_dead(sim_of(e)) ? -ECANCELED : 0;
}

static int sim_file_bytes(struct store_engine *e, int file, uint64_t *bytes_out)
{
	struct sim_engine *se = sim_of(e);
	if (sim_dead(se)) {
		return -ECANCELED;
	}
	*bytes_out = sim_file(se, file)->vol_bytes;
	return 0;
}

/* Sets both images' length (metadata is durable at once in this model). */
static int sim_resize(struct sim_engine *se, int file, uint64_t bytes, bool grow_only)
{
	if (sim_dead(se)) {
		return -ECANCELED;
	}
	struct sim_file *f = sim_file(se, file);
	if (grow_only && bytes <= f->vol_bytes) {
		return 0;
	}
	int rc = simdisk_reserve(f, bytes);
	if (rc != 0) {
		return rc;
	}
	if (bytes < f->vol_bytes) {
		memset(f->vol + bytes, 0, (size_t)(f->vol_bytes - bytes));
	}
	if (bytes < f->dur_bytes) {
		memset(f->dur + bytes, 0, (size_t)(f->dur_bytes - bytes));
	}
	f->vol_bytes = bytes;
	f->dur_bytes = bytes;
	return 0;
}

static int sim_allocate(struct store_engine *e, int file, uint64_t bytes)
{
	return sim_resize(sim_of(e), file, bytes, true);
}

static int sim_truncate(struct store_engine *e, int file, uint64_t bytes)
{
	return sim_resize(sim_of(e), file, bytes, false);
}

static int64_t sim_read(struct store_engine *e, int file, uint64_t offset, void *buf,
			uint64_t bytes)
{
	struct sim_engine *se = sim_of(e);
	if (sim_dead(se)) {
		return -ECANCELED;
	}
	struct sim_file *f = sim_file(se, file);
	if (offset >= f->vol_bytes) {
		return 0;
	}
	uint64_t n = rn_min_u64(bytes, f->vol_bytes - offset);
	memcpy(buf, f->vol + offset, (size_t)n);
	return (int64_t)n;
}

static int sim_sync(struct store_engine *e, int file)
{
	struct sim_engine *se = sim_of(e);
	if (sim_dead(se)) {
		return -ECANCELED;
	}
	(void)sim_file(se, file);
	if (simdisk_sync_fails(se->sim)) {
		return -EIO;
	}
	simdisk_make_durable(se->sim, (uint32_t)file);
	return 0;
}

static int sim_write_sync(struct store_engine *e, int file, uint64_t offset, const void *buf,
			  uint64_t bytes)
{
	struct sim_engine *se = sim_of(e);
	if (sim_dead(se)) {
		return -ECANCELED;
	}
	(void)sim_file(se, file);
	int rc = simdisk_write(se->sim, (uint32_t)file, offset, buf, bytes);
	return rc != 0 ? rc : sim_sync(e, file);
}

static bool sim_ends_run(const struct store_extent *extents, uint32_t count, uint32_t i)
{
	return i + 1 == count || extents[i + 1].file != extents[i].file;
}

/*
 * Starts a group. The real engines order a group that spans files: uring
 * links write A -> sync A -> write B -> sync B, pwrite does the same in
 * sequence. So B's data can only reach the disk after A is durable. The sim
 * models one such interleaving: every file run but the last is written and
 * synced here (an armed sync failure can hit it, and then nothing later is
 * written); the last run is written to the volatile image and synced when
 * the group completes, so it is the write a crash may tear.
 */
static int sim_submit(struct store_engine *e, const struct store_extent *extents, uint32_t count,
		      enum store_durability durability)
{
	struct sim_engine *se = sim_of(e);
	RN_ASSERT(!se->active);
	RN_ASSERT(count >= 1 && count <= STORE_GROUP_EXTENTS_MAX);
	if (sim_dead(se)) {
		return -ECANCELED;
	}
	uint32_t last_run = 0; /* first extent of the last file run */
	for (uint32_t i = 0; i + 1 < count; i++) {
		if (sim_ends_run(extents, count, i)) {
			last_run = i + 1;
		}
	}
	se->result = 0;
	for (uint32_t i = 0; i < count && se->result == 0; i++) {
		(void)sim_file(se, extents[i].file);
		se->result = simdisk_write(se->sim, (uint32_t)extents[i].file, extents[i].file_offset,
				       extents[i].buf, extents[i].bytes);
		if (se->result == 0 && i < last_run && durability != STORE_DURABILITY_NONE &&
		    sim_ends_run(extents, count, i)) {
			if (simdisk_sync_fails(se->sim)) {
				se->result = -EIO;
			} else {
				simdisk_make_durable(se->sim, (uint32_t)extents[i].file);
			}
		}
	}
	se->last_run_file = extents[count - 1].file;
	se->durability = durability;
	const struct store_sim_config *cfg = &se->sim->cfg;
	uint64_t spread = cfg->latency_us_max - cfg->latency_us_min;
	uint64_t latency_us = cfg->latency_us_min + (spread ? simdisk_rand(se->sim) % (spread + 1) : 0);
	se->ready_us = se->sim->now_us + latency_us;
	se->sim->ready_us = se->ready_us;
	se->active = true;
	return 0;
}

/* Completes the group in flight: syncs the last file run, honouring an
 * armed sync failure. */
static int sim_complete(struct sim_engine *se)
{
	if (se->result != 0 || se->durability == STORE_DURABILITY_NONE) {
		return se->result;
	}
	if (simdisk_sync_fails(se->sim)) {
		return -EIO;
	}
	simdisk_make_durable(se->sim, (uint32_t)se->last_run_file);
	return 0;
}

static int sim_poll(struct store_engine *e, bool wait, int *res_out)
{
	struct sim_engine *se = sim_of(e);
	if (!se->active) {
		return 0;
	}
	if (sim_dead(se)) {
		se->active = false;
		*res_out = -ECANCELED;
		return 1;
	}
	if (se->sim->now_us < se->ready_us) {
		if (!wait) {
			return 0;
		}
		se->sim->now_us = se->ready_us; /* waiting moves simulated time */
	}
	se->active = false;
	se->sim->ready_us = 0;
	*res_out = sim_complete(se);
	return 1;
}

static int sim_read_submit(struct store_engine *e, int file, uint64_t offset, void *buf,
			   uint64_t bytes)
{
	struct sim_engine *se = sim_of(e);
	RN_ASSERT(!se->read_active);
	if (sim_dead(se)) {
		return -ECANCELED;
	}
	se->read_res = sim_read(e, file, offset, buf, bytes);
	se->read_active = true;
	return 0;
}

static int sim_read_poll(struct store_engine *e, bool wait, int64_t *res_out)
{
	(void)wait;
	struct sim_engine *se = sim_of(e);
	if (!se->read_active) {
		return 0;
	}
	se->read_active = false;
	*res_out = sim_dead(se) ? -ECANCELED : se->read_res;
	return 1;
}

static int sim_rename(struct store_engine *e, const char *from, const char *to)
{
	struct sim_engine *se = sim_of(e);
	if (sim_dead(se)) {
		return -ECANCELED;
	}
	struct sim_file *f = simdisk_find(se->sim, from);
	if (f == NULL) {
		return -ENOENT;
	}
	if (simdisk_find(se->sim, to) != NULL) {
		int rc = sim_unlink(e, to);
		if (rc != 0) {
			return rc;
		}
	}
	memset(f->name, 0, sizeof(f->name));
	strncpy(f->name, to, sizeof(f->name) - 1);
	return 0;
}

/* A preparation is done at poll (durable at once, like allocate in this
 * model): a held one only when waited for, so tests can make a roll find
 * its segment not ready. */
static int sim_prepare_submit(struct store_engine *e, const char *name, uint64_t bytes)
{
	struct sim_engine *se = sim_of(e);
	RN_ASSERT(!se->prepare_active);
	RN_ASSERT(strlen(name) < sizeof(se->prepare_name));
	memcpy(se->prepare_name, name, strlen(name) + 1);
	se->prepare_bytes = bytes;
	se->prepare_active = true;
	return 0;
}

static int sim_prepare_poll(struct store_engine *e, bool wait, uint64_t active_fill_bytes,
			    int *res_out)
{
	(void)active_fill_bytes; /* done at poll: nothing to pace */
	struct sim_engine *se = sim_of(e);
	RN_ASSERT(se->prepare_active);
	if (se->sim->prepare_hold && !wait) {
		return 0;
	}
	se->prepare_active = false;
	if (se->prepare_bytes > se->sim->space_free_bytes) {
		*res_out = -ENOSPC; /* no file left behind, as the real preparer */
		return 1;
	}
	int file = -1;
	int rc = sim_open(e, se->prepare_name, true, &file);
	if (rc == 0 && se->sim->prepare_fail_next) {
		se->sim->prepare_fail_next = false;
		rc = -EIO;
	}
	if (rc == 0) {
		rc = sim_resize(se, file, 0, false);
	}
	if (rc == 0) {
		rc = sim_resize(se, file, se->prepare_bytes, false);
	}
	*res_out = rc;
	return 1;
}

static int sim_space_free(struct store_engine *e, uint64_t *bytes_out)
{
	*bytes_out = sim_of(e)->sim->space_free_bytes;
	return 0;
}

static void sim_destroy(struct store_engine *e)
{
	free(e);
}

static const struct store_engine_ops sim_ops = {
	.open = sim_open,
	.close = sim_close,
	.unlink = sim_unlink,
	.list = sim_list,
	.sync_dir = sim_sync_dir,
	.file_bytes = sim_file_bytes,
	.allocate = sim_allocate,
	.truncate = sim_truncate,
	.read = sim_read,
	.write_sync = sim_write_sync,
	.sync = sim_sync,
	.submit = sim_submit,
	.poll = sim_poll,
	.destroy = sim_destroy,
	.read_submit = sim_read_submit,
	.read_poll = sim_read_poll,
	.rename = sim_rename,
	.prepare_submit = sim_prepare_submit,
	.prepare_poll = sim_prepare_poll,
	.space_free = sim_space_free,
};

int store_engine_sim_create(struct store_sim *sim, struct store_engine **out)
{
	RN_ASSERT(sim != NULL);
	struct sim_engine *se = calloc(1, sizeof(*se));
	if (se == NULL) {
		return -ENOMEM;
	}
	se->base.ops = &sim_ops;
	se->base.wait_fd = -1; /* simulated time: nothing to sleep on */
	se->base.write_align_bytes = sim->cfg.write_align_bytes;
	se->sim = sim;
	se->epoch = sim->epoch;
	*out = &se->base;
	return 0;
}
