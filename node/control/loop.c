/* SPDX-License-Identifier: MIT */
/*
 * loop.c - the control stage's round. stage: control.
 *
 * One round: a log failure fail-stops the node; the messages rx/tx
 * received are stepped or served (ingress); the apply stage's replies and
 * a finished catch-up read go out; the events the log and apply stages
 * caused meanwhile (durable reports, APPLIED) are stepped; a due tick is
 * stepped; the replies gathered for each client leave as one frame per
 * client; with rx/tx on this lcore the round's frames leave now; a few
 * times a second the status numbers are rebuilt for telemetry.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "admin.h"
#include "clock.h"
#include "common.h"
#include "internal.h"
#include "ops_hooks.h"

#define LOOP_STATUS_REFRESH_NS (200ull * NODE_NS_PER_MS)
/* The no-space alarm's free-space check (one statvfs), off the hot path. */
#define LOOP_SPACE_CHECK_NS (1000ull * NODE_NS_PER_MS)

int node_control_init(struct node_control *c, const struct node_config *cfg)
{
	RN_ASSERT(cfg != NULL);
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->started_ns = node_now_ns();
	c->role = RAFT_FOLLOWER;
	c->catchup_buf = malloc(NODE_CATCHUP_BYTES);
	c->replies.bufs = malloc((size_t)NODE_REPLY_CLIENTS_MAX * DP_FRAME_BYTES_MAX);
	c->replies.msg_buf = malloc(DP_CLIENT_REPLY_MSG_BYTES_MAX);
	if (c->catchup_buf == NULL || c->replies.bufs == NULL || c->replies.msg_buf == NULL ||
	    node_payloads_init(&c->payloads, cfg->log_entries_max, cfg->log_payload_bytes_max) != 0) {
		return -ENOMEM; /* node_control_fini frees what was made */
	}
	rn_prefault(c->catchup_buf, NODE_CATCHUP_BYTES);
	rn_prefault(c->replies.bufs, (size_t)NODE_REPLY_CLIENTS_MAX * DP_FRAME_BYTES_MAX);
	rn_prefault(c->replies.msg_buf, DP_CLIENT_REPLY_MSG_BYTES_MAX);
	c->replies.frame_bytes_max = DP_FRAME_BYTES_MAX;
	return 0;
}

void node_control_wire(struct node_control *c, const struct node_control_wiring *w)
{
	RN_ASSERT(w->transport != NULL);
	RN_ASSERT(w->stop != NULL);
	RN_ASSERT(w->status != NULL);
	RN_ASSERT(w->rxtx != NULL);
	RN_ASSERT(w->log != NULL);
	RN_ASSERT(w->apply != NULL);
	RN_ASSERT(w->frame_body_bytes_max > 0);
	c->transport = w->transport;
	c->frame_body_bytes_max = w->frame_body_bytes_max;
	/* A reply frame fits the path like any other frame (a DPDK port's
	 * MTU: 1518 bytes on af_packet; kernel UDP 9014), with room for the
	 * seal when client encryption is on (set on the transport before). */
	c->replies.frame_bytes_max = (uint32_t)dp_wire_client_frame_bytes_max(
		&w->transport->wire, (uint64_t)w->frame_body_bytes_max + DP_FRAME_OVERHEAD_BYTES);
	c->stop = w->stop;
	c->status = w->status;
	c->rxtx = w->rxtx;
	c->log.link = w->log;
	c->apply.link = w->apply;
	c->next_tick_ns = node_now_ns() + (uint64_t)c->cfg->tick_ms * NODE_NS_PER_MS;
	if (c->cfg->snapshot && node_xfer_start(c) != 0) {
		fprintf(stderr, "raftnode %u: no snapshot transfer: a follower behind the "
			"compaction point will not catch up\n", c->cfg->self);
	}
}

void node_control_fini(struct node_control *c)
{
	node_xfer_stop(c);
	if (c->raft != NULL) {
		raft_destroy(c->raft);
		c->raft = NULL;
	}
	node_payloads_fini(&c->payloads);
	free(c->catchup_buf);
	c->catchup_buf = NULL;
	free(c->replies.bufs);
	c->replies.bufs = NULL;
	free(c->replies.msg_buf);
	c->replies.msg_buf = NULL;
}

/* A due tick; a stalled process catches up on missed ticks but does not
 * replay a burst of them (that would fire elections at once). */
static uint32_t loop_tick(struct node_control *c, uint64_t now_ns)
{
	if (now_ns < c->next_tick_ns) {
		return 0;
	}
	uint64_t tick_ns = (uint64_t)c->cfg->tick_ms * NODE_NS_PER_MS;
	RN_ASSERT(tick_ns > 0);
	struct raft_event ev = {.type = RAFT_EVENT_TICK};
	node_control_step(c, &ev);
	c->counters.ticks++;
	c->next_tick_ns += tick_ns;
	if (c->next_tick_ns + 2 * tick_ns < now_ns) {
		c->next_tick_ns = now_ns + tick_ns;
	}
	return 1;
}

/*
 * The no-space alarm: up when the log has no room for its next segment
 * (the log stage's flag, looked at every round: two loads), or holds
 * appends it could not store, or the data directory's file system has less
 * free than the reserve (statvfs once a second); down by itself when none
 * of these holds any more (the log stage retries the segment itself). One
 * line each way on stderr.
 */
static void loop_space(struct node_control *c, uint64_t now_ns)
{
	uint64_t held = 0;
	bool log_short = node_log_space_short(&c->log, &held) || held > 0;
	if (log_short == c->space_log_short && now_ns - c->space_checked_ns < LOOP_SPACE_CHECK_NS) {
		return; /* no news from the log, and checked less than a second ago */
	}
	c->space_log_short = log_short;
	c->space_checked_ns = now_ns;
	struct statvfs sv;
	if (statvfs(c->cfg->data_dir, &sv) == 0) {
		/* ramfs counts no blocks (f_blocks 0): no limit to tell. */
		c->space_free_bytes = sv.f_blocks == 0 ? UINT64_MAX
						       : (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	}
	bool alarm = log_short || c->space_free_bytes < c->cfg->space_reserve_bytes;
	if (alarm == c->alarm_no_space) {
		return;
	}
	c->alarm_no_space = alarm;
	if (alarm) {
		/* Which of the three raised it: the log's own line (storage:
		 * NO SPACE ...) comes only with the first; with the last, the
		 * other files of the disk (other nodes', a snapshot, anything)
		 * took the room before this log needed its next segment. */
		const char *why = held > 0	? "appends are held, not acknowledged"
				  : log_short ? "the log has no room for its next segment"
					      : "the file system has less free than the reserve";
		fprintf(stderr, "raftnode %u: ALARM no_space: %s: %" PRIu64 " bytes free in %s, the "
				"log needs a segment (%" PRIu64 ") + the reserve (%" PRIu64 "); client "
				"writes are answered no_space until space returns; reads are served "
				"and the node stays in the cluster\n",
			c->cfg->self, why, c->space_free_bytes, c->cfg->data_dir,
			c->cfg->segment_bytes, c->cfg->space_reserve_bytes);
	} else {
		fprintf(stderr, "raftnode %u: alarm no_space cleared: %" PRIu64 " bytes free in %s; "
				"client writes are accepted again (%" PRIu64 " were refused)\n",
			c->cfg->self, c->space_free_bytes, c->cfg->data_dir,
			c->counters.writes_refused_no_space);
	}
}

uint32_t node_control_poll(void *ctx)
{
	struct node_control *c = ctx;
	RN_ASSERT(c->raft != NULL);
	RN_ASSERT(c->transport != NULL);
	/* Every link wired (node_control_wire) before the first round. */
	RN_ASSERT(c->rxtx != NULL);
	RN_ASSERT(c->log.link != NULL);
	RN_ASSERT(c->apply.link != NULL);
	if (c->failed) {
		return 0;
	}
	const char *what, *msg;
	int rc = node_log_failure(&c->log, &what, &msg);
	if (rc != 0) {
		node_control_fail(c, what, rc, msg);
		return 1;
	}
	uint32_t work = node_ingress_poll(c);
	/* The apply stage's replies, a finished catch-up read's append, and
	 * what the log and apply stages did meanwhile (from their lcores). */
	work += node_apply_send_replies(c);
	work += node_egress_catchup_poll(c);
	work += node_xfer_poll(c);
	work += node_admin_poll(c); /* reloads the key watcher finished */
	work += node_control_stage_events(c);
	uint64_t now_ns = node_now_ns();
	loop_space(c, now_ns);
	work += node_ops_poll(c, now_ns); /* the drain, the metrics figures (ops.c) */
	work += loop_tick(c, now_ns);
	/* The round's replies, one frame per client, then (rx/tx here) the
	 * sealed frames out of the port. */
	node_egress_replies_flush(c);
	work += node_egress_flush(c);
	if (now_ns - c->status_built_ns > LOOP_STATUS_REFRESH_NS) {
		node_status_refresh(c);
	}
	return work;
}

uint64_t node_control_deadline_ns(void *ctx)
{
	const struct node_control *c = ctx;
	return c->failed ? UINT64_MAX : c->next_tick_ns;
}
