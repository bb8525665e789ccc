/* SPDX-License-Identifier: MIT */
/*
 * fuzz_wire_raft_body.c - libFuzzer target for the consensus message body
 * decoders (wire_raft_body_decode), reached directly without framing or
 * tag so every input exercises them.
 *
 * Input: type (1 byte), header term (8 bytes LE), entries_max (1 byte),
 * then the body. Oracle: a body that decodes re-encodes to the same bytes
 * and needs exactly dp_wire_raft_body_bytes() of them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire_internal.h"

#define FUZZ_ENTRIES_MAX 255u
#define FUZZ_BODY_BYTES_MAX (DP_FRAME_BYTES_MAX)

static struct raft_entry fuzz_entries[FUZZ_ENTRIES_MAX];
static const uint8_t *fuzz_payloads[FUZZ_ENTRIES_MAX];
static uint8_t fuzz_conf[FUZZ_ENTRIES_MAX][DP_CONF_ENTRY_BYTES];
static uint8_t fuzz_again[FUZZ_BODY_BYTES_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 10 || size - 10 > FUZZ_BODY_BYTES_MAX) {
		return 0;
	}
	uint8_t type = data[0];
	uint64_t term = wire_ld64(data + 1);
	uint32_t entries_max = data[9];
	const uint8_t *body = data + 10;
	size_t body_bytes = size - 10;

	struct raft_message m;
	memset(&m, 0, sizeof(m));
	int rc = wire_raft_body_decode(type, term, body, body_bytes, fuzz_entries, entries_max, &m);
	if (rc != 0) {
		if (rc != -DP_ERR_BAD_BODY && rc != -DP_ERR_UNKNOWN_TYPE &&
		    rc != -DP_ERR_TOO_MANY_ENTRIES) {
			abort();
		}
		return 0;
	}
	if (m.type == RAFT_MSG_APPEND) {
		/* A config entry's payload is its value: its record is found
		 * in the body the way a node finds it. */
		struct dp_rx_frame f = {.type = type, .raft = m, .raft_body = body,
					.raft_body_bytes = (uint32_t)body_bytes};
		for (uint32_t i = 0; i < m.append.entries_count; i++) {
			const struct raft_entry *e = &m.append.entries[i];
			fuzz_payloads[i] = (const uint8_t *)(uintptr_t)e->payload;
			if (e->type == RAFT_ENTRY_CONFIG) {
				if (dp_wire_append_conf(&f, e->index, fuzz_conf[i]) != 0) {
					abort();
				}
				fuzz_payloads[i] = fuzz_conf[i];
			}
		}
	}
	if (dp_wire_raft_body_bytes(&m) != body_bytes) {
		abort();
	}
	wire_raft_body_encode(&m, fuzz_payloads, fuzz_again);
	if (memcmp(fuzz_again, body, body_bytes) != 0) {
		abort();
	}
	return 0;
}
