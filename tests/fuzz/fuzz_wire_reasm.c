/* SPDX-License-Identifier: MIT */
/*
 * fuzz_wire_reasm.c - libFuzzer target for the reassembler (dp_reasm_push)
 * and the decoders it runs on completed messages.
 *
 * Input: a sequence of fragment records, each
 *   from u8, msg_seq u8, type u8, term u8, msg_body_bytes u16 LE,
 *   frag_offset u16 LE, body_bytes u8, then body_bytes bytes,
 * shaped only as dp_wire_decode guarantees (body_bytes > 0, the fragment
 * inside its message), pushed into a 3-slot reassembler with 4 KiB slots.
 * Oracle: no crash or sanitizer report; a completed message's pointers
 * lie inside reassembly memory; the counters add up to the pushes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire_internal.h"

#define FUZZ_SLOTS 3u
#define FUZZ_MSG_BYTES_MAX 4096u
#define FUZZ_ENTRIES_MAX 32u

static struct dp_reasm fuzz_ra;
static int fuzz_ready;
static struct raft_entry fuzz_entries[FUZZ_ENTRIES_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_inside(const void *p, uint32_t bytes)
{
	const uint8_t *b = p;
	const uint8_t *lo = fuzz_ra.buffers;
	const uint8_t *hi = lo + (size_t)FUZZ_SLOTS * FUZZ_MSG_BYTES_MAX;
	if (bytes > 0 && (b < lo || b + bytes > hi)) {
		abort();
	}
}

static void fuzz_check_out(const struct dp_rx_frame *out)
{
	if (out->type == DP_FRAME_CLIENT_REQUEST) {
		fuzz_inside(out->request.key, out->request.key_bytes);
		fuzz_inside(out->request.value, out->request.value_bytes);
	} else if (out->type == RAFT_MSG_APPEND) {
		for (uint32_t i = 0; i < out->raft.append.entries_count; i++) {
			const struct raft_entry *e = &out->raft.append.entries[i];
			fuzz_inside((const void *)(uintptr_t)e->payload, e->payload_bytes);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A fresh reassembler per input, so an input replays alone. */
	if (fuzz_ready) {
		dp_reasm_fini(&fuzz_ra);
	}
	if (dp_reasm_init(&fuzz_ra, FUZZ_SLOTS, FUZZ_MSG_BYTES_MAX) != 0) {
		abort();
	}
	fuzz_ready = 1;
	uint64_t pushes = 0, outcomes = 0;
	size_t at = 0;
	while (size - at >= 9) {
		const uint8_t *h = data + at;
		struct dp_rx_frame frag;
		memset(&frag, 0, sizeof(frag));
		frag.type = h[2];
		frag.msg_seq = h[1];
		frag.fragment.from = h[0];
		frag.fragment.to = 2;
		frag.fragment.term = h[3];
		frag.fragment.msg_body_bytes = wire_ld16(h + 4);
		frag.fragment.frag_offset_bytes = wire_ld16(h + 6);
		frag.fragment.body_bytes = h[8];
		at += 9;
		if (frag.fragment.body_bytes == 0 || frag.fragment.body_bytes > size - at) {
			break;
		}
		frag.fragment.body = data + at;
		at += frag.fragment.body_bytes;
		if ((uint32_t)frag.fragment.frag_offset_bytes + frag.fragment.body_bytes >
		    frag.fragment.msg_body_bytes) {
			continue; /* dp_wire_decode never hands this on */
		}
		struct dp_rx_frame out;
		int rc = dp_reasm_push(&fuzz_ra, &frag, fuzz_entries, FUZZ_ENTRIES_MAX, &out);
		pushes++;
		if (rc == 0) {
			fuzz_check_out(&out);
		}
		if (rc != -DP_ERR_AGAIN) {
			outcomes++;
		}
	}
	const struct dp_reasm_counters *c = &fuzz_ra.counters;
	uint64_t counted = c->messages_completed + c->messages_bad + c->dropped_too_big +
			   c->dropped_orphan + c->dropped_gap + c->dropped_duplicate +
			   c->dropped_mismatch;
	if (counted != outcomes || outcomes > pushes) {
		abort();
	}
	return 0;
}
