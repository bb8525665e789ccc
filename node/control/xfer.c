/* SPDX-License-Identifier: MIT */
/*
 * xfer.c - InstallSnapshot in the node: the leader's offers become
 * transfers of its snapshot file, the follower's staged file becomes the
 * core's RAFT_MSG_SNAPSHOT, and RAFT_UPDATE_SNAPSHOT is carried out.
 * stage: control.
 *
 * The bytes move on snapxfer's own thread (snapxfer/README.md); control
 * only passes records: received chunks and acks into its frames-in ring
 * (ingress), its frames-out ring sealed and sent on the node's transport
 * from control's lcore, the thread that owns the transport's send buffer
 * (dp_transport_send_sealed), and its events.
 *
 * The file being sent: the thread opens it when the offer reaches it and
 * keeps the descriptor until the transfer ends, so the keep-2 rule of
 * storage/snapshot.c may unlink it meanwhile without harm (the bytes stay
 * until the close). A repeated offer of the same snapshot is not passed on
 * while its transfer runs, so the file is not reopened under it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "internal.h"

/* From the transfer thread: control's lcore, through a doorbell another
 * stage's link wired for it (read when rung: wired before the lcores run;
 * none when every stage shares the lcore, which then polls each tick). */
static void xfer_wake(void *arg)
{
	const struct node_control *c = arg;
	struct dp_doorbell *d = c->log.link->wake_control;
	dp_doorbell_ring(d != NULL ? d : c->apply.link->wake_control);
}

int node_xfer_start(struct node_control *c)
{
	struct node_xfer *x = calloc(1, sizeof(*x));
	if (x == NULL) {
		return -ENOMEM;
	}
	snprintf(x->dir, sizeof(x->dir), "%s", c->cfg->data_dir);
	uint32_t frame = (uint32_t)rn_min_u64((uint64_t)c->frame_body_bytes_max +
					      DP_FRAME_OVERHEAD_BYTES, DP_FRAME_BYTES_MAX);
	x->chunk_bytes = dp_snap_data_bytes_max(frame);
	const uint32_t slots = 256;
	struct snapxfer_thread_config tc = {
		.staging_dir = x->dir,
		.send = {.rto_ns = 20ull * 1000 * 1000, .rto_ns_max = 1000ull * 1000 * 1000,
			 .timeouts_max = 20},
		.recv = {.window_bytes = slots * x->chunk_bytes, .staging_bytes_max = 1ull << 40},
		.frames_out_slots = slots, .frames_in_slots = slots,
		.space_reserve_bytes = c->cfg->space_reserve_bytes,
		.stage_write_bytes_per_s = c->cfg->snapshot_write_bytes_per_s,
		.verify = node_xfer_verify, .verify_arg = x};
	x->cluster_id = c->cfg->cluster_id;
	x->kv_limits = c->cfg->kv;
	int rc = snapxfer_thread_start(&x->t, &tc);
	if (rc != 0) {
		fprintf(stderr, "raftnode %u: the snapshot transfer thread: %s\n", c->cfg->self,
			x->t.errmsg);
		free(x);
		return rc;
	}
	/* Wake control's lcore for what the thread makes (set before any
	 * command reaches it: nothing is pushed before). */
	snapxfer_thread_frames_out(&x->t)->on_push = xfer_wake;
	snapxfer_thread_frames_out(&x->t)->on_push_arg = c;
	x->t.events.on_push = xfer_wake;
	x->t.events.on_push_arg = c;
	c->xfer = x;
	return 0;
}

void node_xfer_stop(struct node_control *c)
{
	struct node_xfer *x = c->xfer;
	if (x == NULL) {
		return;
	}
	snapxfer_thread_stop(&x->t);
	if (x->crc_started) {
		pthread_join(x->crc_thread, NULL);
	}
	free(x);
	c->xfer = NULL;
}

/* The helper: size and whole-file CRC32C of the snapshot file (the id the
 * receiver checks the staged file against). */
static void *xfer_crc_main(void *arg)
{
	struct node_xfer *x = arg;
	int fd = open(x->crc_path, O_RDONLY | O_CLOEXEC);
	int rc = fd < 0 ? -errno : 0;
	uint32_t crc = 0;
	uint64_t bytes = 0;
	uint8_t *buf = rc == 0 ? malloc(1u << 20) : NULL;
	if (rc == 0 && buf == NULL) {
		rc = -ENOMEM;
	}
	while (rc == 0) {
		ssize_t n = read(fd, buf, 1u << 20);
		if (n < 0) {
			rc = -errno;
		} else if (n == 0) {
			break;
		} else {
			crc = store_crc32c(crc, buf, (size_t)n);
			bytes += (uint64_t)n;
		}
	}
	free(buf);
	if (fd >= 0) {
		close(fd);
	}
	x->id.crc32c = crc;
	x->id.total_bytes = bytes;
	x->crc_rc = rc;
	__atomic_store_n(&x->crc_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* The id of the snapshot at (index, term): true once known; else the
 * helper is started for it (the core offers again shortly). */
static bool xfer_id(struct node_xfer *x, raft_index index, raft_term term)
{
	if (x->crc_started && !__atomic_load_n(&x->crc_done, __ATOMIC_ACQUIRE)) {
		return false; /* busy with this one or an older one */
	}
	if (x->crc_started && x->id.index == index && x->crc_rc == 0) {
		return true;
	}
	if (x->crc_started) {
		pthread_join(x->crc_thread, NULL);
		x->crc_started = false;
	}
	x->id = (struct dp_snap_id){.index = index, .term = term};
	store_snap_path(x->dir, index, x->crc_path, sizeof(x->crc_path));
	__atomic_store_n(&x->crc_done, 0, __ATOMIC_RELAXED);
	x->crc_started = pthread_create(&x->crc_thread, NULL, xfer_crc_main, x) == 0;
	return false;
}

static uint32_t xfer_slot(struct node_xfer *x, raft_node_id peer)
{
	uint32_t free_slot = RAFT_NODES_MAX;
	for (uint32_t i = 0; i < RAFT_NODES_MAX; i++) {
		if (x->sending[i] != 0 && x->peer[i] == peer) {
			return i;
		}
		if (x->sending[i] == 0 && free_slot == RAFT_NODES_MAX) {
			free_slot = i;
		}
	}
	RN_ASSERT(free_slot < RAFT_NODES_MAX); /* one per follower at most */
	x->peer[free_slot] = peer;
	return free_slot;
}

static void xfer_end(struct node_xfer *x, raft_node_id peer)
{
	for (uint32_t i = 0; i < RAFT_NODES_MAX; i++) {
		if (x->sending[i] != 0 && x->peer[i] == peer) {
			x->sending[i] = 0;
		}
	}
}

void node_xfer_offer(struct node_control *c, const struct raft_message *m)
{
	struct node_xfer *x = c->xfer;
	RN_ASSERT(m->type == RAFT_MSG_SNAPSHOT);
	if (x == NULL) {
		c->counters.snapshot_offers_unsent++;
		return;
	}
	x->counters.offers++;
	const struct raft_snapshot_meta *meta = &m->snapshot.meta;
	uint32_t i = xfer_slot(x, m->to);
	if (x->sending[i] == meta->index) {
		return; /* running: it resumes by itself */
	}
	if (!xfer_id(x, meta->index, meta->term)) {
		x->counters.offers_waiting++;
		return;
	}
	if (x->id.term != meta->term ||
	    snapxfer_thread_offer(&x->t, m->to, m->term, &x->id, x->crc_path, x->chunk_bytes) != 0) {
		x->counters.offers_failed++;
		return;
	}
	x->sending[i] = meta->index;
	x->counters.offers_started++;
}

void node_xfer_cancel_all(struct node_control *c)
{
	struct node_xfer *x = c->xfer;
	if (x == NULL) {
		return;
	}
	for (uint32_t i = 0; i < RAFT_NODES_MAX; i++) {
		if (x->sending[i] != 0 && snapxfer_thread_cancel(&x->t, x->peer[i]) == 0) {
			x->sending[i] = 0;
		}
	}
}

bool node_xfer_frame_in(struct node_control *c, const struct dp_rx_frame *f)
{
	struct node_xfer *x = c->xfer;
	if (f->type != DP_FRAME_SNAP_CHUNK && f->type != DP_FRAME_SNAP_ACK) {
		return false;
	}
	if (x == NULL) {
		return true; /* no transfer here: dropped */
	}
	struct snapxfer_ring *in = snapxfer_thread_frames_in(&x->t);
	struct snapxfer_msg *slot = snapxfer_ring_reserve(in);
	if (slot == NULL || snapxfer_msg_from_rx(slot, f) != 0) {
		x->counters.frames_in_dropped++; /* the sender's window recovers */
		return true;
	}
	snapxfer_ring_push(in);
	x->counters.frames_in++;
	return true;
}

static int xfer_seal(const void *arg, const struct dp_wire *w, const struct dp_endpoints *addr,
		     uint64_t msg_seq, uint8_t *buf, size_t buf_bytes)
{
	return snapxfer_msg_seal(arg, w, addr, msg_seq, buf, buf_bytes);
}

/* Follower: the staged file, verified whole on the transfer thread
 * (xfer_verify.c: every block, the stream CRC, this cluster, the limits),
 * renamed to its final name and the directory synced, then the core's
 * offer. Control does the rename and one directory sync, no read. */
static void xfer_staged(struct node_control *c, const struct snapxfer_event *ev)
{
	struct node_xfer *x = c->xfer;
	const struct store_snap_meta meta = x->staged_meta; /* after the event's acquire */
	RN_ASSERT(meta.index == ev->id.index);
	char err[1400];
	int rc = 0;
	char final[300];
	store_snap_path(x->dir, ev->id.index, final, sizeof(final));
	store_crash_point("install-staged"); /* tests: whole and verified, not renamed */
	if (rename(ev->path, final) != 0) {
		rc = -errno;
		snprintf(err, sizeof(err), "rename %s to %s: %s", ev->path, final, strerror(errno));
	}
	if (rc == 0) {
		int dfd = open(x->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fsync(dfd) != 0) {
			rc = -errno;
			snprintf(err, sizeof(err), "%s: sync directory: %s", x->dir, strerror(errno));
		}
		if (dfd >= 0) {
			close(dfd);
		}
	}
	if (rc == 0) {
		store_crash_point("install-renamed"); /* tests: durable, the log not reset */
	}
	/* Who sent it and in which term: the receiver's, unchanged until the
	 * release (chunks of another transfer are answered BUSY meanwhile). */
	raft_term term = __atomic_load_n(&x->t.recv.term, __ATOMIC_RELAXED);
	raft_node_id from = __atomic_load_n(&x->t.recv.leader, __ATOMIC_RELAXED);
	snapxfer_thread_release(&x->t);
	if (rc != 0) {
		fprintf(stderr, "raftnode %u: received snapshot refused: %s\n", c->cfg->self, err);
		x->counters.staged_refused++;
		return;
	}
	x->counters.staged++;
	fprintf(stderr, "raftnode %u: snapshot %" PRIu64 " (term %" PRIu64 ") received from node %u "
		"in its term %" PRIu64 ", verified and kept\n", c->cfg->self, meta.index, meta.term,
		from, term);
	/* Stepped next (node_xfer_event): not from inside this poll. */
	struct raft_message *m = &x->staged_msg;
	*m = (struct raft_message){.type = RAFT_MSG_SNAPSHOT, .from = from, .to = c->cfg->self,
				   .term = term};
	m->snapshot.meta.index = meta.index;
	m->snapshot.meta.term = meta.term;
	/* The configuration it covers (node/conf.h's blob): the core installs
	 * it; its members' addresses become peers now, before the core can
	 * address them. */
	struct node_conf conf = {.book = c->members.book};
	if (!node_conf_blob_decode(meta.config, meta.config_bytes, &conf)) {
		fprintf(stderr, "raftnode %u: received snapshot refused: its configuration "
			"(%u bytes) does not parse\n", c->cfg->self, meta.config_bytes);
		x->counters.staged_refused++;
		return;
	}
	memcpy(m->snapshot.meta.voters, conf.m.voters, sizeof(conf.m.voters));
	m->snapshot.meta.voters_count = conf.m.voters_count;
	memcpy(m->snapshot.meta.learners, conf.m.learners, sizeof(conf.m.learners));
	m->snapshot.meta.learners_count = conf.m.learners_count;
	for (uint32_t i = 0; i < conf.book.count; i++) {
		if (node_conf_role(&conf.m, conf.book.ids[i]) != DP_MEMBER_NONE) {
			node_member_learn(c, conf.book.ids[i], &conf.book.addrs[i]);
		}
	}
	x->staged_pending = true;
}

uint32_t node_xfer_poll(struct node_control *c)
{
	struct node_xfer *x = c->xfer;
	if (x == NULL) {
		return 0;
	}
	uint32_t work = 0;
	struct snapxfer_ring *out = snapxfer_thread_frames_out(&x->t);
	for (struct snapxfer_msg *m; work < 256 && (m = snapxfer_ring_peek(out)) != NULL;) {
		if (dp_transport_send_sealed(c->transport, m->peer, xfer_seal, m) == 0) {
			x->counters.frames_out++;
		} else {
			x->counters.frames_out_failed++; /* the engine's timeout resends */
		}
		snapxfer_ring_pop(out);
		work++;
	}
	struct snapxfer_event ev;
	while (!c->failed && !x->staged_pending && snapxfer_thread_next_event(&x->t, &ev)) {
		work++;
		switch (ev.kind) {
		case SNAPXFER_EV_SENT:
			x->counters.sent++; /* the core hears it from the follower */
			fprintf(stderr, "raftnode %u: snapshot %" PRIu64 " (%" PRIu64 " bytes) sent "
				"to node %u\n", c->cfg->self, ev.id.index, ev.id.total_bytes, ev.peer);
			xfer_end(x, ev.peer);
			break;
		case SNAPXFER_EV_SEND_FAILED:
			x->counters.send_failed++; /* the core offers again */
			fprintf(stderr, "raftnode %u: snapshot %" PRIu64 " to node %u failed: reason %u%s%s"
				"\n", c->cfg->self, ev.id.index, ev.peer, ev.reason, ev.err != 0 ? ", " : "",
				ev.err != 0 ? strerror(-ev.err) : "");
			xfer_end(x, ev.peer);
			break;
		case SNAPXFER_EV_STAGED:
			xfer_staged(c, &ev);
			break;
		case SNAPXFER_EV_REFUSED:
			/* The thread answered the leader (REFUSE_IO) and keeps
			 * the transfer; nothing to release. */
			x->counters.staged_refused++;
			fprintf(stderr, "raftnode %u: received snapshot %" PRIu64 " refused: %s\n",
				c->cfg->self, ev.id.index, ev.why);
			break;
		default:
			break;
		}
	}
	return work;
}

/* Contract step 2 (install), asked of step.c (which resets the log and
 * the payload ring and has the apply stage load it): reported once the
 * apply stage is there (node_xfer_event). */
void node_xfer_install_pending(struct node_control *c, const struct raft_snapshot_meta *meta)
{
	struct node_xfer *x = c->xfer;
	RN_ASSERT(x != NULL); /* the core installs only what we offered it */
	x->counters.installs_asked++;
	x->install_pending = true;
	x->install_index = meta->index;
	x->install_term = meta->term;
}

bool node_xfer_event(struct node_control *c, raft_index applied, struct raft_event *ev)
{
	struct node_xfer *x = c->xfer;
	if (x == NULL) {
		return false;
	}
	if (x->staged_pending) {
		x->staged_pending = false;
		*ev = (struct raft_event){.type = RAFT_EVENT_RECEIVE, .receive = x->staged_msg};
		return true;
	}
	if (!x->install_pending || applied < x->install_index) {
		return false;
	}
	x->install_pending = false;
	x->counters.installed++;
	/* It counts as the SNAPSHOT and COMPACTED of its index (contract d). */
	c->snap_reported = rn_max_u64(c->snap_reported, x->install_index);
	c->compacted_reported = rn_max_u64(c->compacted_reported, x->install_index);
	*ev = (struct raft_event){.type = RAFT_EVENT_SNAPSHOT_INSTALLED,
				  .installed = {.index = x->install_index, .term = x->install_term}};
	return true;
}
