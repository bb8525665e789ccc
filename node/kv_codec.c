/* SPDX-License-Identifier: MIT */
/*
 * kv_codec.c - the bytes of a key-value command as clients send them and
 * the log stores them (layout in node.h). Decoding validates every field
 * and every length against the buffer: these bytes come from the network.
 */
#include <errno.h>
#include <string.h>

#include "common.h"
#include "node.h"

static void kv_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void kv_put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static void kv_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static uint16_t kv_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t kv_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t kv_get_u64(const uint8_t *p)
{
	return (uint64_t)kv_get_u32(p) | (uint64_t)kv_get_u32(p + 4) << 32;
}

size_t node_kv_command_bytes(const struct node_kv_command *c)
{
	return NODE_KV_COMMAND_HEADER_BYTES + (size_t)c->key_bytes + c->expected_bytes +
	       c->value_bytes;
}

/* Which bodies an op carries: get and del a key only, put a value, cas
 * both the expected and the new value. */
static bool kv_shape_valid(uint8_t op, uint32_t value_bytes, uint32_t expected_bytes)
{
	switch (op) {
	case NODE_KV_PUT:
		return expected_bytes == 0;
	case NODE_KV_GET:
	case NODE_KV_DEL:
		return value_bytes == 0 && expected_bytes == 0;
	case NODE_KV_CAS:
		return true;
	default:
		return false;
	}
}

int64_t node_kv_encode(const struct node_kv_command *c, uint8_t *out, size_t out_bytes)
{
	if (!kv_shape_valid(c->op, c->value_bytes, c->expected_bytes) || c->key_bytes == 0) {
		return -EINVAL;
	}
	size_t bytes = node_kv_command_bytes(c);
	if (bytes > out_bytes) {
		return -EMSGSIZE;
	}
	memset(out, 0, NODE_KV_COMMAND_HEADER_BYTES);
	out[0] = c->op;
	kv_put_u16(out + 2, c->key_bytes);
	kv_put_u32(out + 4, c->value_bytes);
	kv_put_u32(out + 8, c->expected_bytes);
	kv_put_u64(out + 16, c->client_id);
	kv_put_u64(out + 24, c->seq);
	uint8_t *p = out + NODE_KV_COMMAND_HEADER_BYTES;
	memcpy(p, c->key, c->key_bytes);
	p += c->key_bytes;
	if (c->expected_bytes > 0) {
		memcpy(p, c->expected, c->expected_bytes);
		p += c->expected_bytes;
	}
	if (c->value_bytes > 0) {
		memcpy(p, c->value, c->value_bytes);
	}
	/* Pair check: what leaves must decode to what was asked. */
	struct node_kv_command back;
	RN_ASSERT(node_kv_decode(out, bytes, &back) == 0);
	RN_ASSERT(back.key_bytes == c->key_bytes && back.seq == c->seq);
	return (int64_t)bytes;
}

int node_kv_decode(const uint8_t *buf, size_t buf_bytes, struct node_kv_command *out)
{
	if (buf == NULL || buf_bytes < NODE_KV_COMMAND_HEADER_BYTES) {
		return -EINVAL;
	}
	uint8_t op = buf[0];
	uint16_t key_bytes = kv_get_u16(buf + 2);
	uint32_t value_bytes = kv_get_u32(buf + 4);
	uint32_t expected_bytes = kv_get_u32(buf + 8);
	if (buf[1] != 0 || kv_get_u32(buf + 12) != 0 || key_bytes == 0 ||
	    !kv_shape_valid(op, value_bytes, expected_bytes)) {
		return -EINVAL;
	}
	/* 64-bit sum: no overflow from lengths near UINT32_MAX. */
	uint64_t total = (uint64_t)NODE_KV_COMMAND_HEADER_BYTES + key_bytes + value_bytes +
			 expected_bytes;
	if (total != buf_bytes) {
		return -EINVAL;
	}
	const uint8_t *p = buf + NODE_KV_COMMAND_HEADER_BYTES;
	*out = (struct node_kv_command){
		.op = op,
		.client_id = kv_get_u64(buf + 16),
		.seq = kv_get_u64(buf + 24),
		.key = p,
		.key_bytes = key_bytes,
		.expected = expected_bytes ? p + key_bytes : NULL,
		.expected_bytes = expected_bytes,
		.value = value_bytes ? p + key_bytes + expected_bytes : NULL,
		.value_bytes = value_bytes,
	};
	return 0;
}

const char *node_kv_status_name(int status)
{
	static const char *const names[] = {
		[NODE_KV_OK] = "ok",
		[NODE_KV_NOT_FOUND] = "not found",
		[NODE_KV_CAS_MISMATCH] = "compare-and-swap mismatch",
		[NODE_KV_FULL] = "table full",
		[NODE_KV_TOO_BIG] = "key or value too big",
		[NODE_KV_BAD_COMMAND] = "malformed command",
		[NODE_KV_STALE] = "stale retry",
	};
	if (status < 0 || (size_t)status >= RN_ARRAY_COUNT(names)) {
		return "unknown status";
	}
	return names[status];
}
