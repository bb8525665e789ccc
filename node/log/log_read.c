/* SPDX-License-Identifier: MIT */
/*
 * log_read.c - the catch-up READ op of the log link, asynchronous.
 * stage: log.
 *
 * A lagging follower's entries are read back through the log's engine
 * (store_read_async: io_uring, next to the group writes) while this stage
 * goes on writing: before, a synchronous store_read held the log lcore -
 * and where the stages share one lcore, control and rx/tx with it - for
 * the whole read, so the leader's own commits and its heartbeats waited
 * behind a follower's catch-up. The read completes in store_poll
 * (on_read), which publishes it to control as the synchronous read did.
 * One read of one segment at a time: a range past a segment's end comes
 * back as a prefix (control reads the rest next). A read that fits no
 * record in the bytes the log guessed for it is done again synchronously
 * with all the room (rare: a record far above the segment's mean).
 */
#include "common.h"
#include "log_stage.h"

/* The read's result to control: reads_done (release) and its doorbell. */
static void log_read_publish(struct node_log_stage *ls, uint64_t seq)
{
	RN_ASSERT(seq > __atomic_load_n(&ls->link->reads_done, __ATOMIC_RELAXED));
	__atomic_store_n(&ls->link->reads_done, seq, __ATOMIC_RELEASE);
	dp_doorbell_ring(ls->link->wake_control);
}

static int log_read_sync(struct node_log_stage *ls, struct node_log_read *r, raft_index first,
			 uint32_t want)
{
	return store_read(ls->log, first, r->buf, r->buf_bytes, r->entries, want);
}

void node_log_stage_on_read(void *user, struct store_read_req *req)
{
	struct node_log_stage *ls = user;
	struct node_log_read *r = req->user;
	RN_ASSERT(r == &ls->link->read);
	RN_ASSERT(ls->read_seq > 0); /* a read was started */
	r->rc = req->result;
	if (r->rc == -STORE_E_BUSY) {
		r->rc = log_read_sync(ls, r, req->first_index, req->entries_max);
	}
	RN_ASSERT(r->rc <= (int)req->entries_max);
	uint64_t seq = ls->read_seq;
	ls->read_seq = 0;
	log_read_publish(ls, seq);
}

void node_log_stage_read(struct node_log_stage *ls, const struct node_log_op *op,
			 bool failed)
{
	/* A read that fails is not a log failure: the caller drops what it
	 * wanted to send, and Raft asks again. */
	struct node_log_read *r = (struct node_log_read *)(uintptr_t)op->ptr;
	RN_ASSERT(r == &ls->link->read);
	RN_ASSERT(ls->read_seq == 0); /* one at a time: control waits for the last */
	if (ls->draining) {
		log_read_publish(ls, op->index);
		return;
	}
	raft_index first = r->msg.append.prev_index + 1;
	uint32_t want = (uint32_t)rn_min_u64(r->msg.append.entries_count, RAFT_BATCH_ENTRIES_MAX);
	/* A term control knows (its last read ended there) costs no record
	 * header read from disk. */
	r->prev_term = first == 1			? 0
		       : r->msg.append.prev_term != 0 ? r->msg.append.prev_term
						      : store_term_at(ls->log, first - 1);
	if (failed) {
		r->rc = -STORE_E_FAILED;
	} else if (first > 1 && r->prev_term == 0) {
		r->rc = -STORE_E_RANGE;
	} else {
		ls->read_req = (struct store_read_req){.first_index = first, .buf = r->buf,
						       .buf_bytes = r->buf_bytes,
						       .entries = r->entries,
						       .entries_max = want, .user = r};
		ls->read_seq = op->index;
		int rc = store_read_async(ls->log, &ls->read_req);
		if (rc == 0) {
			return; /* on_read publishes it */
		}
		ls->read_seq = 0;
		r->rc = rc == -STORE_E_BUSY ? log_read_sync(ls, r, first, want) : rc;
	}
	RN_ASSERT(r->rc <= (int)want); /* at most what was asked */
	log_read_publish(ls, op->index);
}
