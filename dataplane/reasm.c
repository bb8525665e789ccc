/* SPDX-License-Identifier: MIT */
/*
 * reasm.c - reassembly of messages larger than one frame, in bounded memory.
 *
 * A reassembler owns slots_count slots, each with a buffer of msg_bytes_max
 * bytes, all allocated in dp_reasm_init; the receive path never allocates.
 * A slot holds one message in progress, keyed by (sender, boot epoch,
 * msg_seq), and
 * accepts its fragments in order only: one sender's frames travel one queue
 * and arrive in order, so a gap means a lost frame, and the message is
 * dropped at once instead of holding memory for a retransmission that Raft
 * makes anyway (a new AppendEntries with a new msg_seq). This keeps the
 * per-slot state to one byte count, with no bitmap or hole list.
 *
 * When every slot is busy, the first fragment of a new message takes the
 * slot pushed least recently (counted as an eviction), so a sender that
 * stops mid-message cannot pin memory.
 */
#include <errno.h>
#include <stdlib.h>

#include "common.h"
#include "wire_internal.h"

struct dp_reasm_slot {
	bool busy;
	uint8_t type;
	raft_node_id from;
	raft_node_id to;
	raft_term term;
	uint64_t msg_seq;
	uint32_t boot_epoch; /* the first fragment's header fields */
	uint16_t key_id;
	uint64_t settings_fp;
	struct dp_endpoints addr;
	uint32_t msg_body_bytes;
	uint32_t received_bytes; /* contiguous from offset 0 */
	uint64_t last_push;	 /* r->clock at the last fragment */
	uint8_t *buf;
};

int dp_reasm_init(struct dp_reasm *r, uint32_t slots_count, uint32_t msg_bytes_max)
{
	RN_ASSERT(r != NULL);
	memset(r, 0, sizeof(*r));
	if (slots_count == 0 || slots_count > DP_REASM_SLOTS_MAX || msg_bytes_max == 0) {
		return -DP_ERR_INVALID;
	}
	r->slots = calloc(slots_count, sizeof(*r->slots));
	if (r->slots == NULL) {
		goto fail_slots;
	}
	r->buffers = malloc((size_t)slots_count * msg_bytes_max);
	if (r->buffers == NULL) {
		goto fail_buffers;
	}
	for (uint32_t i = 0; i < slots_count; i++) {
		r->slots[i].buf = r->buffers + (size_t)i * msg_bytes_max;
	}
	r->slots_count = slots_count;
	r->msg_bytes_max = msg_bytes_max;
	return 0;

fail_buffers:
	free(r->slots);
	r->slots = NULL;
fail_slots:
	return -ENOMEM;
}

void dp_reasm_fini(struct dp_reasm *r)
{
	RN_ASSERT(r != NULL);
	free(r->buffers);
	free(r->slots);
	memset(r, 0, sizeof(*r));
}

/* A message is named by (sender, boot epoch, msg_seq): a sender's msg_seq
 * starts over at every start (a new epoch), so a restarted sender's message
 * must not be glued to the pieces its previous life left in a slot. */
static struct dp_reasm_slot *reasm_find(struct dp_reasm *r, raft_node_id from, uint32_t epoch,
					uint64_t msg_seq)
{
	for (uint32_t i = 0; i < r->slots_count; i++) {
		struct dp_reasm_slot *s = &r->slots[i];
		if (s->busy && s->from == from && s->boot_epoch == epoch && s->msg_seq == msg_seq) {
			return s;
		}
	}
	return NULL;
}

/* A free slot, or the least recently pushed one (evicted). */
static struct dp_reasm_slot *reasm_take(struct dp_reasm *r)
{
	struct dp_reasm_slot *oldest = &r->slots[0];
	for (uint32_t i = 0; i < r->slots_count; i++) {
		struct dp_reasm_slot *s = &r->slots[i];
		if (!s->busy) {
			return s;
		}
		if (s->last_push < oldest->last_push) {
			oldest = s;
		}
	}
	r->counters.messages_evicted++;
	return oldest;
}

static int reasm_count_drop(struct dp_reasm *r, int rc)
{
	switch (-rc) {
	case DP_ERR_REASM_TOO_BIG: r->counters.dropped_too_big++; break;
	case DP_ERR_REASM_ORPHAN: r->counters.dropped_orphan++; break;
	case DP_ERR_REASM_GAP: r->counters.dropped_gap++; break;
	case DP_ERR_REASM_DUPLICATE: r->counters.dropped_duplicate++; break;
	case DP_ERR_REASM_MISMATCH: r->counters.dropped_mismatch++; break;
	default: RN_ASSERT(0 && "not a reassembly drop");
	}
	return rc;
}

/* Finds or starts the slot for fragment f; NULL with *rc set on a drop. */
static struct dp_reasm_slot *reasm_slot_for(struct dp_reasm *r, const struct dp_rx_frame *frame,
					    int *rc)
{
	const struct dp_fragment *f = &frame->fragment;
	struct dp_reasm_slot *s = reasm_find(r, f->from, frame->boot_epoch, frame->msg_seq);
	if (s != NULL) {
		if (s->type != frame->type || s->term != f->term || s->to != f->to ||
		    s->msg_body_bytes != f->msg_body_bytes) {
			s->busy = false;
			*rc = -DP_ERR_REASM_MISMATCH;
			return NULL;
		}
		return s;
	}
	if (f->frag_offset_bytes != 0) {
		*rc = -DP_ERR_REASM_ORPHAN;
		return NULL;
	}
	s = reasm_take(r);
	*s = (struct dp_reasm_slot){
		.busy = true, .type = frame->type, .from = f->from, .to = f->to,
		.term = f->term, .msg_seq = frame->msg_seq, .addr = frame->addr,
		.boot_epoch = frame->boot_epoch, .key_id = frame->key_id,
		.settings_fp = frame->settings_fp,
		.msg_body_bytes = f->msg_body_bytes, .buf = s->buf,
	};
	return s;
}

int dp_reasm_push(struct dp_reasm *r, const struct dp_rx_frame *frame,
		  struct raft_entry *entries, uint32_t entries_max, struct dp_rx_frame *out)
{
	RN_ASSERT(r != NULL && r->slots != NULL);
	RN_ASSERT(frame != NULL && out != NULL);
	const struct dp_fragment *f = &frame->fragment;
	int rc = 0;

	r->clock++;
	if (f->msg_body_bytes > r->msg_bytes_max) {
		return reasm_count_drop(r, -DP_ERR_REASM_TOO_BIG);
	}
	/* dp_wire_decode checked these; a caller's made-up fragment is a bug. */
	RN_ASSERT(f->body_bytes > 0);
	RN_ASSERT((uint64_t)f->frag_offset_bytes + f->body_bytes <= f->msg_body_bytes);
	struct dp_reasm_slot *s = reasm_slot_for(r, frame, &rc);
	if (s == NULL) {
		return reasm_count_drop(r, rc);
	}
	if (f->frag_offset_bytes < s->received_bytes) {
		return reasm_count_drop(r, -DP_ERR_REASM_DUPLICATE);
	}
	if (f->frag_offset_bytes > s->received_bytes) {
		s->busy = false;
		return reasm_count_drop(r, -DP_ERR_REASM_GAP);
	}
	memcpy(s->buf + s->received_bytes, f->body, f->body_bytes);
	s->received_bytes += f->body_bytes;
	s->last_push = r->clock;
	if (s->received_bytes < s->msg_body_bytes) {
		return -DP_ERR_AGAIN;
	}
	/* Complete. The slot is free again, but its buffer is not touched
	 * before the next push, so *out may point into it until then. */
	s->busy = false;
	out->addr = s->addr;
	out->type = s->type;
	out->msg_seq = s->msg_seq;
	out->boot_epoch = s->boot_epoch;
	out->key_id = s->key_id;
	out->settings_fp = s->settings_fp;
	rc = wire_body_decode(s->type, s->from, s->to, s->term, s->buf, s->msg_body_bytes, entries,
			      entries_max, out);
	if (rc != 0) {
		r->counters.messages_bad++;
		return rc;
	}
	r->counters.messages_completed++;
	return 0;
}
