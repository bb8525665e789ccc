/* SPDX-License-Identifier: MIT */
/*
 * wire_settings.c - the SETTINGS frame's body (DP_FRAME_SETTINGS, layout in
 * dataplane.h, "Settings frames"): a node's agreed settings as compact
 * text, "name=value;name=value...", sent to a peer whose fingerprint
 * differs so that the peer can name the setting.
 *
 * The body is read by a node that is refusing its sender, so it is
 * treated as hostile: one pass checks every byte against a small alphabet
 * and the pairs' shape, and counts them against a bound; after it, the
 * iterator walks a text known good and needs no checks of its own beyond
 * staying inside it. The encoder refuses what the decoder refuses.
 */
#include "common.h"
#include "wire_internal.h"

static bool settings_name_char(uint8_t ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* One pass: the shape "n=v(;n=v)*" with non-empty names and values. */
static int settings_check(const uint8_t *p, size_t bytes, uint32_t *pairs)
{
	if (p == NULL || bytes == 0 || bytes > DP_SETTINGS_BYTES_MAX) {
		return -DP_ERR_BAD_BODY;
	}
	uint32_t count = 0;
	size_t name_bytes = 0, value_bytes = 0;
	bool in_value = false;
	for (size_t i = 0; i <= bytes; i++) {
		uint8_t ch = i < bytes ? p[i] : ';'; /* the end closes the last pair */
		if (ch == ';') {
			if (!in_value || value_bytes == 0 || ++count > DP_SETTINGS_PAIRS_MAX) {
				return -DP_ERR_BAD_BODY;
			}
			in_value = false;
			name_bytes = 0;
			value_bytes = 0;
		} else if (ch == '=') {
			if (in_value || name_bytes == 0) {
				return -DP_ERR_BAD_BODY;
			}
			in_value = true;
		} else if (!settings_name_char(ch)) {
			return -DP_ERR_BAD_BODY;
		} else if (in_value) {
			value_bytes++;
		} else {
			name_bytes++;
		}
	}
	*pairs = count;
	return 0;
}

int dp_settings_decode(const uint8_t *body, size_t body_bytes, struct dp_settings *out)
{
	RN_ASSERT(out != NULL);
	uint32_t pairs = 0;
	int rc = settings_check(body, body_bytes, &pairs);
	if (rc != 0) {
		return rc;
	}
	RN_ASSERT(pairs >= 1 && pairs <= DP_SETTINGS_PAIRS_MAX);
	out->text = (const char *)body;
	out->text_bytes = (uint32_t)body_bytes;
	out->pairs_count = pairs;
	return 0;
}

int dp_settings_next(const struct dp_settings *s, uint32_t *at, struct dp_setting_pair *out)
{
	RN_ASSERT(s != NULL && at != NULL && out != NULL);
	if (*at >= s->text_bytes) {
		return -1;
	}
	const char *p = s->text + *at;
	uint32_t left = s->text_bytes - *at;
	uint32_t eq = 0;
	while (eq < left && p[eq] != '=') {
		eq++;
	}
	uint32_t end = eq;
	while (end < left && p[end] != ';') {
		end++;
	}
	/* The decoder checked the shape: a name, '=', a value. */
	RN_ASSERT(eq > 0 && eq < end);
	*out = (struct dp_setting_pair){.name = p, .name_bytes = eq, .value = p + eq + 1,
					.value_bytes = end - eq - 1};
	*at += end + (end < left ? 1u : 0u);
	return 0;
}

int dp_settings_body(const char *text, size_t text_bytes, uint8_t *body, size_t body_bytes_max)
{
	RN_ASSERT(body != NULL);
	uint32_t pairs = 0;
	if (settings_check((const uint8_t *)text, text_bytes, &pairs) != 0) {
		return -DP_ERR_INVALID;
	}
	if (text_bytes > body_bytes_max) {
		return -DP_ERR_TOO_BIG;
	}
	memcpy(body, text, text_bytes);
	return (int)text_bytes;
}

int dp_wire_encode_settings(const struct dp_wire *w, const struct dp_endpoints *addr,
			    uint64_t msg_seq, raft_node_id to, const char *text,
			    size_t text_bytes, uint8_t *buf, size_t buf_bytes)
{
	RN_ASSERT(w != NULL && addr != NULL);
	RN_ASSERT(buf != NULL);
	size_t limit = rn_min_u64(buf_bytes, DP_FRAME_BYTES_MAX);
	if (limit <= DP_FRAME_OVERHEAD_BYTES) {
		return -DP_ERR_TOO_BIG;
	}
	int body_bytes = dp_settings_body(text, text_bytes, buf + WIRE_BODY_OFFSET,
					  limit - DP_FRAME_OVERHEAD_BYTES);
	if (body_bytes < 0) {
		return body_bytes;
	}
	struct wire_hdr h;
	memset(&h, 0, sizeof(h));
	h.type = DP_FRAME_SETTINGS;
	h.from = w->self_id;
	h.to = to;
	h.msg_seq = msg_seq;
	h.body_bytes = (uint32_t)body_bytes;
	h.msg_body_bytes = (uint32_t)body_bytes;
	return (int)wire_frame_seal(w, addr, &h, buf);
}
