/* SPDX-License-Identifier: MIT */
/*
 * names.c - error strings, enum names and configuration defaults: the small
 * tables every other storage file and every tool printing a result needs.
 */
#include <string.h>

#include "common.h"
#include "storage.h"

static const char *const store_error_names[] = {
	[STORE_E_CORRUPT - STORE_E_CORRUPT] = "damaged log record (not a torn tail)",
	[STORE_E_INDEX_GAP - STORE_E_CORRUPT] = "log index gap",
	[STORE_E_TERM_BACKWARDS - STORE_E_CORRUPT] = "log term goes backwards",
	[STORE_E_MISSING_SEGMENT - STORE_E_CORRUPT] = "log segment missing",
	[STORE_E_SEGMENT_NAME - STORE_E_CORRUPT] = "bad segment file name",
	[STORE_E_STATE_CORRUPT - STORE_E_CORRUPT] = "both state slots damaged",
	[STORE_E_FAILED - STORE_E_CORRUPT] = "log fail-stopped after an I/O error",
	[STORE_E_BUSY - STORE_E_CORRUPT] = "staging full (back-pressure)",
	[STORE_E_RANGE - STORE_E_CORRUPT] = "index out of range",
	[STORE_E_COMPACTED - STORE_E_CORRUPT] = "entries compacted",
	[STORE_E_CONFIG - STORE_E_CORRUPT] = "invalid storage configuration",
	[STORE_E_UNSUPPORTED - STORE_E_CORRUPT] = "kernel feature unsupported",
	[STORE_E_NO_SPACE - STORE_E_CORRUPT] = "no space left for a new log segment beside the reserve",
};
_Static_assert(RN_ARRAY_COUNT(store_error_names) == STORE_E_END_ - STORE_E_CORRUPT,
	       "one name per store_error");

const char *store_strerror(int rc)
{
	if (rc == 0) {
		return "ok";
	}
	int code = rc < 0 ? -rc : rc;
	if (code >= STORE_E_CORRUPT && code < STORE_E_END_) {
		return store_error_names[code - STORE_E_CORRUPT];
	}
	return strerror(code); /* errno values */
}

void store_config_default(struct store_config *cfg)
{
	RN_ASSERT(cfg != NULL);
	memset(cfg, 0, sizeof(*cfg));
	cfg->engine = STORE_ENGINE_URING;
	/* Measured (scripts/bench-storage.sh): one O_DIRECT write with
	 * RWF_DSYNC per group is the one io_uring issues inline on ext4. */
	cfg->durability = STORE_DURABILITY_DSYNC;
	cfg->write_mode = STORE_WRITE_DIRECT;
	cfg->segment_bytes = STORE_SEGMENT_BYTES_DEFAULT;
	cfg->group_bytes_max = STORE_GROUP_BYTES_DEFAULT;
	cfg->segments_max = STORE_SEGMENTS_MAX_DEFAULT;
	cfg->uring_entries = STORE_URING_ENTRIES_DEFAULT;
	cfg->space_reserve_bytes = STORE_SPACE_RESERVE_BYTES_DEFAULT;
}

const char *store_engine_name(enum store_engine_kind engine)
{
	switch (engine) {
	case STORE_ENGINE_URING: return "uring";
	case STORE_ENGINE_PWRITE: return "pwrite";
	case STORE_ENGINE_SIM: return "sim";
	}
	return "?";
}

const char *store_durability_name(enum store_durability durability)
{
	switch (durability) {
	case STORE_DURABILITY_FSYNC: return "fsync";
	case STORE_DURABILITY_DSYNC: return "dsync";
	case STORE_DURABILITY_NONE: return "none";
	}
	return "?";
}

const char *store_write_mode_name(enum store_write_mode mode)
{
	switch (mode) {
	case STORE_WRITE_BUFFERED: return "buffered";
	case STORE_WRITE_DIRECT: return "direct";
	}
	return "?";
}
