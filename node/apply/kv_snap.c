/* SPDX-License-Identifier: MIT */
/*
 * kv_snap.c - the key-value state machine as a snapshot stream: begin and
 * end on the apply stage, the walk on the snapshot writer thread (reading
 * only the copy-on-write images, kv_cow.c), the load at start-up.
 * stage: apply.
 *
 * The stream (little-endian, no padding), in slot order then session
 * order, exactly info.keys_count pairs then info.sessions_count sessions:
 *   pair:    u16 key bytes, u32 value bytes, the key, the value
 *   session: u64 client id, u64 last index, u32 results n,
 *            n x u64 seq (ascending), n x u8 status
 * The load rebuilds the indexes and recomputes the digest, which must be
 * the header's: an end-to-end check of everything between the apply stage
 * that took the snapshot and the one that loads it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "kv_internal.h"

uint64_t node_kv_snapshot_memory_bytes(const struct node_kv_config *cfg)
{
	return kv_cow_memory_bytes(cfg);
}

uint64_t node_kv_cow_chunks_copied(const struct node_kv *kv)
{
	return kv->cow_chunks_copied;
}

uint64_t node_kv_snapshot_wbuf_bytes(const struct node_kv *kv)
{
	/* One chunk, and one session's results in stream form. */
	return rn_max_u64(kv_cow_chunk_bytes_max(kv), 20 + 9ull * kv->cfg.session_window);
}

void node_kv_snapshot_begin(struct node_kv *kv, struct node_kv_snapshot_info *info)
{
	RN_ASSERT(kv->cow_reserved);
	RN_ASSERT(kv->free_count <= kv->cfg.keys_max);
	*info = (struct node_kv_snapshot_info){
		.index = kv->applied_index, .digest = kv->digest,
		.keys_count = kv->cfg.keys_max - kv->free_count,
		.sessions_count = kv->cfg.clients_max - kv->free_session_count,
		.limits = kv->cfg};
	kv_cow_begin(kv);
}

void node_kv_snapshot_end(struct node_kv *kv)
{
	kv_cow_end(kv);
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static uint64_t get_le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = bytes; i > 0; i--) {
		v = v << 8 | p[i - 1];
	}
	return v;
}

static int snap_write_keys(struct node_kv *kv, uint8_t *wbuf, node_kv_emit_fn emit, void *user,
			   uint64_t *count)
{
	const struct kv_cow_region *arena = &kv->cow[KV_R_ARENA];
	uint32_t per = (uint32_t)(arena->chunk_bytes / kv->slot_bytes);
	RN_ASSERT(per >= 1);
	for (uint32_t s0 = 0; s0 < kv->cfg.keys_max; s0 += per) {
		uint32_t n = (uint32_t)rn_min_u64(per, kv->cfg.keys_max - s0);
		const uint16_t *klen = (const uint16_t *)(const void *)kv_cow_take(
			kv, KV_R_KEY_LEN, s0 * sizeof(uint16_t), n * sizeof(uint16_t), wbuf);
		const uint32_t *vlen = (const uint32_t *)(const void *)kv_cow_take(
			kv, KV_R_VALUE_LEN, s0 * sizeof(uint32_t), n * sizeof(uint32_t), wbuf);
		const uint8_t *slots = kv_cow_take(kv, KV_R_ARENA, s0 * kv->slot_bytes,
						   n * kv->slot_bytes, wbuf);
		for (uint32_t i = 0; i < n; i++) {
			if (klen[i] == KV_SLOT_FREE) {
				continue;
			}
			RN_ASSERT(klen[i] <= kv->cfg.key_bytes_max);
			RN_ASSERT(vlen[i] <= kv->cfg.value_bytes_max);
			uint8_t head[6];
			put_le(head, klen[i], 2);
			put_le(head + 2, vlen[i], 4);
			const uint8_t *slot = slots + (uint64_t)i * kv->slot_bytes;
			int rc = emit(user, head, sizeof(head));
			if (rc == 0) {
				rc = emit(user, slot, klen[i]);
			}
			if (rc == 0) {
				rc = emit(user, slot + kv->cfg.key_bytes_max, vlen[i]);
			}
			if (rc != 0) {
				return rc;
			}
			(*count)++;
		}
	}
	return 0;
}

static int snap_write_sessions(struct node_kv *kv, uint8_t *wbuf, node_kv_emit_fn emit,
			       void *user, uint64_t *count)
{
	uint64_t width = kv->cfg.session_window;
	for (uint32_t i = 0; i < kv->cfg.clients_max; i++) {
		struct kv_session s;
		memcpy(&s, kv_cow_take(kv, KV_R_SESSIONS, i * sizeof(s), sizeof(s), wbuf), sizeof(s));
		if (!s.used) {
			continue;
		}
		RN_ASSERT(s.window.count <= width);
		RN_ASSERT(s.window.start < width);
		const uint64_t *seq = (const uint64_t *)(const void *)kv_cow_take(
			kv, KV_R_WIN_SEQ, i * width * sizeof(uint64_t), width * sizeof(uint64_t), wbuf);
		const uint8_t *st = kv_cow_take(kv, KV_R_WIN_STATUS, i * width, width, wbuf);
		/* wbuf was only a staging area for the takes: reuse it. */
		uint8_t *out = wbuf;
		put_le(out, s.client_id, 8);
		put_le(out + 8, s.last_index, 8);
		put_le(out + 16, s.window.count, 4);
		for (uint32_t k = 0; k < s.window.count; k++) {
			uint64_t ring = (s.window.start + k) % width;
			put_le(out + 20 + 8ull * k, seq[ring], 8);
			out[20 + 8ull * s.window.count + k] = st[ring];
		}
		int rc = emit(user, out, 20 + 9ull * s.window.count);
		if (rc != 0) {
			return rc;
		}
		(*count)++;
	}
	return 0;
}

int node_kv_snapshot_write(struct node_kv *kv, uint8_t *wbuf, node_kv_emit_fn emit, void *user)
{
	RN_ASSERT(kv->cow_reserved);
	RN_ASSERT(wbuf != NULL);
	uint64_t keys = 0, sessions = 0;
	int rc = snap_write_keys(kv, wbuf, emit, user, &keys);
	if (rc == 0) {
		rc = snap_write_sessions(kv, wbuf, emit, user, &sessions);
	}
	/* What begin counted is what the images hold (pair check). */
	RN_ASSERT(rc != 0 || keys + sessions <= (uint64_t)kv->cfg.keys_max + kv->cfg.clients_max);
	return rc;
}

static bool snap_limits_fit(const struct node_kv_config *have, const struct node_kv_config *need)
{
	return need->keys_max <= have->keys_max && need->key_bytes_max <= have->key_bytes_max &&
	       need->value_bytes_max <= have->value_bytes_max &&
	       need->clients_max <= have->clients_max &&
	       need->session_window <= have->session_window;
}

static int snap_load_keys(struct node_kv *kv, uint64_t n, node_kv_read_fn read, void *user,
			  uint8_t *buf)
{
	for (uint64_t i = 0; i < n; i++) {
		uint8_t head[6];
		int rc = read(user, head, sizeof(head));
		uint16_t kb = (uint16_t)get_le(head, 2);
		uint32_t vb = (uint32_t)get_le(head + 2, 4);
		if (rc == 0 && (kb > kv->cfg.key_bytes_max || vb > kv->cfg.value_bytes_max)) {
			rc = -EBADMSG;
		}
		if (rc == 0) {
			rc = read(user, buf, (size_t)kb + vb);
		}
		if (rc == 0) {
			rc = kv_load_pair(kv, buf, kb, buf + kb, vb);
		}
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static int snap_load_sessions(struct node_kv *kv, uint64_t n, node_kv_read_fn read, void *user,
			      uint8_t *buf)
{
	uint64_t *seqs = (uint64_t *)(void *)buf; /* 8-aligned: the caller's */
	for (uint64_t i = 0; i < n; i++) {
		uint8_t head[20];
		int rc = read(user, head, sizeof(head));
		uint32_t count = (uint32_t)get_le(head + 16, 4);
		if (rc == 0 && count > kv->cfg.session_window) {
			rc = -EBADMSG;
		}
		uint8_t *raw = buf + 8ull * count;
		uint8_t *status = raw + 8ull * count;
		if (rc == 0) {
			rc = read(user, raw, 9ull * count);
		}
		for (uint32_t k = 0; rc == 0 && k < count; k++) {
			seqs[k] = get_le(raw + 8ull * k, 8);
		}
		if (rc == 0) {
			rc = kv_load_session(kv, get_le(head, 8), get_le(head + 8, 8), count, seqs,
					     status);
		}
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

int node_kv_snapshot_load(struct node_kv *kv, const struct node_kv_snapshot_info *info,
			  node_kv_read_fn read, void *user, char *errmsg, size_t errmsg_bytes)
{
	RN_ASSERT(kv->applied_index == 0);
	RN_ASSERT(info->index > 0);
	const struct node_kv_config *need = &info->limits;
	if (!snap_limits_fit(&kv->cfg, need)) {
		snprintf(errmsg, errmsg_bytes, "the snapshot was taken with larger [limits] (kv_keys_max "
			 "%u, kv_key_bytes_max %u, kv_value_bytes_max %u, kv_clients_max %u, "
			 "kv_session_window %u) than this node's (%u, %u, %u, %u, %u): raise them",
			 need->keys_max, need->key_bytes_max, need->value_bytes_max,
			 need->clients_max, need->session_window, kv->cfg.keys_max,
			 kv->cfg.key_bytes_max, kv->cfg.value_bytes_max, kv->cfg.clients_max,
			 kv->cfg.session_window);
		return -E2BIG;
	}
	/* The largest record: a pair, or a session's results (seqs decoded
	 * beside the raw bytes: 17 bytes a result). The machine's free
	 * windows are untouched memory at start; a separate buffer is
	 * simpler: the load runs once, at start. */
	size_t buf_bytes = rn_max_u64((uint64_t)kv->cfg.key_bytes_max + kv->cfg.value_bytes_max,
				      17ull * kv->cfg.session_window) + 8;
	uint8_t *buf = aligned_alloc(8, (buf_bytes + 7) / 8 * 8);
	if (buf == NULL) {
		snprintf(errmsg, errmsg_bytes, "out of memory loading a snapshot");
		return -ENOMEM;
	}
	int rc = info->keys_count > kv->cfg.keys_max || info->sessions_count > kv->cfg.clients_max
			 ? -EBADMSG
			 : snap_load_keys(kv, info->keys_count, read, user, buf);
	if (rc == 0) {
		rc = snap_load_sessions(kv, info->sessions_count, read, user, buf);
	}
	free(buf);
	if (rc == 0 && kv->digest != info->digest) {
		snprintf(errmsg, errmsg_bytes, "the loaded state's digest %016" PRIx64 " is not the "
			 "snapshot's %016" PRIx64, kv->digest, info->digest);
		return -EBADMSG;
	}
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "the snapshot's state does not decode (%s)",
			 strerror(-rc));
		return rc == -E2BIG ? -EBADMSG : rc;
	}
	kv_load_done(kv, info->index);
	return 0;
}
