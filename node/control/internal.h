/* SPDX-License-Identifier: MIT */
/*
 * internal.h - the calls between control's files. stage: control.
 *
 * They form no circle (scripts/check-deps.sh checks it on the objects):
 * loop calls ingress, step, egress, apply_end, log_end and status; ingress
 * calls step, egress, apply_end, status and payload; step calls egress,
 * apply_end, log_end and payload; apply_end calls egress and log_end;
 * egress and status call log_end (status apply_end's figures too); nothing
 * calls loop.
 * Each declaration says which rule of the update contract (consensus.h,
 * struct raft_update) or which invariant it keeps.
 */
#ifndef RN_NODE_CONTROL_INTERNAL_H
#define RN_NODE_CONTROL_INTERNAL_H

#include "control.h"
#include "xfer.h"

/* ---- ingress.c ---- */
/* Control's side of the rx ring: every message rx/tx received, in order,
 * stepped or served, its frame released and the message given back; then
 * the writes gathered become one proposal and the reads one round. */
uint32_t node_ingress_poll(struct node_control *c);
/* The gathered writes as one RAFT_EVENT_PROPOSE (the leader's batch);
 * refused ones each get a reply (never silence). */
void node_ingress_propose(struct node_control *c);

/* ---- step.c ---- */
/* Fail-stop after a log error (the log cannot be trusted to have kept
 * what we would promise): says what failed, acknowledges nothing more,
 * stops every lcore. */
void node_control_fail(struct node_control *c, const char *what, int rc, const char *msg);
/* node_control_stage_events: control.h. */

/* ---- egress.c ---- */
/* Contract step 3: a message of the update, sealed; an AppendEntries cut
 * into frames that fit, a from_storage one read from the log first. */
void node_egress_send(struct node_control *c, const struct raft_message *m);
/* A reply to a client (every refusal is one too), gathered with the
 * round's other replies to the same client into one frame (its bytes
 * copied: value may change once this returns). */
void node_egress_reply(struct node_control *c, const struct dp_endpoints *to,
		       uint64_t client_id, uint64_t seq, uint8_t status, const uint8_t *value,
		       uint32_t value_bytes, const uint64_t *trace_ns);
/* The gathered replies out, one frame per client (UDP: one sendmmsg);
 * at the end of every round. Returns the frames. */
uint32_t node_egress_replies_flush(struct node_control *c);
/* Sends the catch-up append whose log read finished (0 = none). */
uint32_t node_egress_catchup_poll(struct node_control *c);
/* rx/tx on control's lcore: the frames of this round out now (0 apart). */
uint32_t node_egress_flush(struct node_control *c);
/* Commit-only updates kept in an earlier round out now (commit_defer.h);
 * at the end of every round, after the replies. Returns those still kept. */
uint32_t node_egress_deferred_flush(struct node_control *c);

/* ---- log_end.c: control's end of the log link. -ECANCELED when the node
 * stops while waiting. ---- */
/* Contract step 2: stages one entry's append (payload: its bytes in the
 * payload ring, which stay put until the log reports them durable). */
int node_log_add(struct node_log_end *le, const struct raft_entry *e, const void *payload);
/* Pushes what was staged; on control's lcore the log stage runs at once
 * (with the pwrite engine the write is then synchronous), so step.c kicks
 * after the update's messages went (§10.2.1). */
int node_log_kick(struct node_log_end *le);
int node_log_save_hint(struct node_log_end *le, raft_index committed);
/* Contract step 1: durable when it returns 0, before any message leaves. */
int node_log_save_hard_state(struct node_log_end *le, const struct raft_hard_state *hs);
/* Contract step 2: a truncation, after every earlier append was consumed. */
int node_log_truncate(struct node_log_end *le, raft_index from);
int node_log_reset(struct node_log_end *le, raft_index index, raft_term term);
/* Starts the catch-up read for from_storage append m into buf: 0, or
 * -EBUSY while one is in flight or not yet taken. */
int node_log_read_start(struct node_log_end *le, const struct raft_message *m, void *buf,
			size_t buf_bytes);
/* The finished read (its append to send), once; NULL if none. */
const struct node_log_read *node_log_read_take(struct node_log_end *le);
/* The latest durable report (it supersedes earlier ones); false if none. */
bool node_log_take_report(struct node_log_end *le, struct node_log_report *out);
/* 0, or the failure's code with what failed and the log's message. */
int node_log_failure(const struct node_log_end *le, const char **what, const char **msg);
struct node_log_figures {
	uint64_t groups; /* durable groups written */
	uint64_t entries;
	raft_index durable;
};
void node_log_figures(const struct node_log_end *le, struct node_log_figures *out);
/* The log's no-space state as the log stage last published it: true when
 * it has no next segment for want of space; *held: appends it holds. */
bool node_log_space_short(const struct node_log_end *le, uint64_t *held);

/* ---- apply_end.c: control's end of the apply link ---- */
/* Contract step 4: everything up to commit_index to the apply stage
 * (which replies once applied, never before). */
void node_apply_commit(struct node_control *c, raft_index commit_index);
void node_apply_install(struct node_control *c, raft_index index, raft_term term);
/* Contract step 5: the outcome of ReadIndex rounds (§6.4). */
void node_apply_read_states(struct node_control *c, const struct raft_read_state *rs,
			    uint32_t count);
/* A read to wait for this poll's round (or a stale read, served now);
 * `from` is the client's address (the reply goes there). */
void node_apply_read(struct node_control *c, const struct dp_endpoints *from,
		     const struct dp_client_request *req, uint64_t rx_ns, bool stale);
/* The round failed to start: its reads answered with status. */
void node_apply_round_failed(struct node_control *c, uint64_t round, uint8_t status);
/* Sends the replies the apply stage made; returns how many. */
uint32_t node_apply_send_replies(struct node_control *c);
/* How far the apply stage applied (acquire). */
raft_index node_apply_applied(const struct node_control *c);
/* The commit hint follows the applied index, lazily. */
void node_apply_save_hint(struct node_control *c);
/* Stamps `stage` on every trace of an entry up to up_to (now_ns, or the
 * clock when 0). */
void node_trace_stamp(struct node_control *c, raft_index up_to, unsigned stage, uint64_t now_ns);

/* ---- xfer.c: InstallSnapshot (xfer.h) ---- */
int node_xfer_start(struct node_control *c);
/* xfer_verify.c, on the transfer thread: snapxfer's cfg.verify. */
int node_xfer_verify(void *arg, const char *path, const struct dp_snap_id *id, char *why,
		     size_t why_bytes);
void node_xfer_stop(struct node_control *c);
void node_xfer_offer(struct node_control *c, const struct raft_message *m);
void node_xfer_cancel_all(struct node_control *c);
/* A snapshot chunk or ack for the transfer thread: true (taken or
 * dropped), false for another frame. */
bool node_xfer_frame_in(struct node_control *c, const struct dp_rx_frame *f);
uint32_t node_xfer_poll(struct node_control *c);
void node_xfer_install_pending(struct node_control *c, const struct raft_snapshot_meta *meta);
/* The next event of the transfer: a staged snapshot's RAFT_MSG_SNAPSHOT,
 * or SNAPSHOT_INSTALLED once applied reaches the install. */
bool node_xfer_event(struct node_control *c, raft_index applied, struct raft_event *ev);

/* ---- status.c ---- */
/* The stated maximum of a status reply: the whole status up to this (a
 * reply spans frames, and a 16-member leader's is ~4 KiB); past it, the
 * brief form. Within what a client reassembles. */
#define NODE_STATUS_JSON_BYTES_MAX 16384u
_Static_assert(NODE_STATUS_JSON_BYTES_MAX + DP_CLIENT_BATCH_HDR_BYTES +
		       DP_CLIENT_REPLY_FIXED_BYTES <= DP_CLIENT_REPLY_MSG_BYTES_MAX,
	       "a whole status is one reply message a client can reassemble");
int node_status_json(struct node_control *c, char *out, size_t out_bytes);
/* The essentials only, "truncated": true: for a status larger than
 * NODE_STATUS_JSON_BYTES_MAX. */
int node_status_json_brief(struct node_control *c, char *out, size_t out_bytes);

#endif /* RN_NODE_CONTROL_INTERNAL_H */
