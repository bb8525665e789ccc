/* SPDX-License-Identifier: MIT */
/*
 * thread_api.c - the callers' side of snapxfer's thread: start and stop
 * (the node's main thread, at start-up and shutdown), the commands and
 * events (control: offer, cancel, release, next event), and the wake-up the
 * rings call on the producers' threads (rx/tx pushing frames in, control
 * pushing commands, either popping what the thread produced). Nothing here
 * runs on the thread itself (thread.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common.h"
#include "snapxfer.h"
#include "thread_internal.h"

/* Wakes the thread if it said it may sleep (full fences on both sides, the
 * Dekker pattern of dp_doorbell): one eventfd write per sleep at most. */
static void api_wake(void *arg)
{
	struct snapxfer_thread *t = arg;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&t->sleeping, __ATOMIC_RELAXED) != 0 &&
	    __atomic_exchange_n(&t->sleeping, 0, __ATOMIC_ACQ_REL) != 0) {
		uint64_t one = 1;
		ssize_t rc = write(t->wake_fd, &one, sizeof(one));
		(void)rc; /* EAGAIN: the counter is already non-zero, it wakes anyway */
	}
}

static void api_free(struct snapxfer_thread *t)
{
	snapxfer_ring_fini(&t->frames_out);
	snapxfer_ring_fini(&t->frames_in);
	snapxfer_ring_fini(&t->cmds);
	snapxfer_ring_fini(&t->events);
	free(t->io_buf);
	t->io_buf = NULL;
	if (t->wake_fd >= 0) {
		close(t->wake_fd);
		t->wake_fd = -1;
	}
}

/* Rings, buffer, eventfd and engines; 0 or -errno with errmsg. */
static int api_alloc(struct snapxfer_thread *t)
{
	int rc = snapxfer_ring_init(&t->frames_out, sizeof(struct snapxfer_msg),
				    t->cfg.frames_out_slots);
	if (rc == 0) {
		rc = snapxfer_ring_init(&t->frames_in, sizeof(struct snapxfer_msg),
					t->cfg.frames_in_slots);
	}
	if (rc == 0) {
		rc = snapxfer_ring_init(&t->cmds, sizeof(struct snapxfer_thread_cmd),
					THREAD_CMDS_SLOTS);
	}
	if (rc == 0) {
		rc = snapxfer_ring_init(&t->events, sizeof(struct snapxfer_event),
					THREAD_EVENTS_SLOTS);
	}
	if (rc != 0) {
		snprintf(t->errmsg, sizeof(t->errmsg), "snapxfer: rings of %u and %u frames: %s",
			 t->cfg.frames_out_slots, t->cfg.frames_in_slots, strerror(-rc));
		return rc;
	}
	t->io_buf = malloc(t->cfg.io_buf_bytes);
	t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->io_buf == NULL || t->wake_fd < 0) {
		rc = t->io_buf == NULL ? -ENOMEM : -errno;
		snprintf(t->errmsg, sizeof(t->errmsg), "snapxfer: buffer or eventfd: %s",
			 strerror(-rc));
		return rc;
	}
	rn_prefault(t->io_buf, t->cfg.io_buf_bytes);
	rc = snapxfer_send_init(&t->send, &t->cfg.send);
	if (rc == 0) {
		rc = snapxfer_recv_init(&t->recv, &t->cfg.recv);
	}
	if (rc != 0) {
		snprintf(t->errmsg, sizeof(t->errmsg), "snapxfer: bad send or receive config");
	}
	return rc;
}

int snapxfer_thread_start(struct snapxfer_thread *t, const struct snapxfer_thread_config *cfg)
{
	RN_ASSERT(t != NULL && cfg != NULL);
	memset(t, 0, sizeof(*t));
	t->wake_fd = -1;
	t->staging_fd = -1;
	for (uint32_t i = 0; i < SNAPXFER_PEERS_MAX; i++) {
		t->send_fd[i] = -1;
	}
	t->cfg = *cfg;
	if (t->cfg.io_buf_bytes == 0) {
		t->cfg.io_buf_bytes = THREAD_IO_BUF_BYTES_DEFAULT;
	}
	if (cfg->staging_dir == NULL ||
	    (size_t)snprintf(t->staging_path, sizeof(t->staging_path), "%s/%s", cfg->staging_dir,
			     SNAPXFER_STAGING_NAME) >= sizeof(t->staging_path)) {
		snprintf(t->errmsg, sizeof(t->errmsg), "snapxfer: no staging directory, or too long");
		return -EINVAL;
	}
	t->cfg.staging_dir = NULL; /* the path above is what is kept */
	int rc = api_alloc(t);
	if (rc != 0) {
		api_free(t);
		return rc;
	}
	t->frames_in.on_push = api_wake;
	t->frames_in.on_push_arg = t;
	t->cmds.on_push = api_wake;
	t->cmds.on_push_arg = t;
	t->frames_out.on_pop = api_wake; /* room for the thread's next frames */
	t->frames_out.on_pop_arg = t;
	t->events.on_pop = api_wake;
	t->events.on_pop_arg = t;
	rc = pthread_create(&t->tid, NULL, snapxfer_thread_main, t);
	if (rc != 0) {
		snprintf(t->errmsg, sizeof(t->errmsg), "snapxfer: pthread_create: %s", strerror(rc));
		api_free(t);
		return -rc;
	}
	t->started = true;
	return 0;
}

void snapxfer_thread_stop(struct snapxfer_thread *t)
{
	RN_ASSERT(t != NULL);
	if (t->started) {
		__atomic_store_n(&t->stop, 1, __ATOMIC_RELEASE);
		uint64_t one = 1;
		ssize_t rc = write(t->wake_fd, &one, sizeof(one));
		(void)rc;
		pthread_join(t->tid, NULL);
		t->started = false;
	}
	for (uint32_t i = 0; i < SNAPXFER_PEERS_MAX; i++) {
		if (t->send_fd[i] >= 0) {
			close(t->send_fd[i]);
			t->send_fd[i] = -1;
		}
	}
	if (t->staging_fd >= 0) {
		close(t->staging_fd);
		t->staging_fd = -1;
	}
	api_free(t);
}

static int api_command(struct snapxfer_thread *t, const struct snapxfer_thread_cmd *c)
{
	struct snapxfer_thread_cmd *slot = snapxfer_ring_reserve(&t->cmds);
	if (slot == NULL) {
		return -EAGAIN;
	}
	*slot = *c;
	snapxfer_ring_push(&t->cmds);
	return 0;
}

int snapxfer_thread_offer(struct snapxfer_thread *t, raft_node_id peer, raft_term term,
			  const struct dp_snap_id *id, const char *path, uint32_t chunk_bytes)
{
	RN_ASSERT(t != NULL && id != NULL);
	struct snapxfer_thread_cmd c = {.kind = SNAPXFER_CMD_OFFER, .peer = peer, .term = term,
					.id = *id, .chunk_bytes = chunk_bytes};
	if (path == NULL || strlen(path) >= sizeof(c.path)) {
		return -EINVAL;
	}
	memcpy(c.path, path, strlen(path) + 1);
	return api_command(t, &c);
}

int snapxfer_thread_cancel(struct snapxfer_thread *t, raft_node_id peer)
{
	RN_ASSERT(t != NULL);
	struct snapxfer_thread_cmd c = {.kind = SNAPXFER_CMD_CANCEL, .peer = peer};
	return api_command(t, &c);
}

int snapxfer_thread_release(struct snapxfer_thread *t)
{
	RN_ASSERT(t != NULL);
	struct snapxfer_thread_cmd c = {.kind = SNAPXFER_CMD_RELEASE};
	return api_command(t, &c);
}

bool snapxfer_thread_next_event(struct snapxfer_thread *t, struct snapxfer_event *ev)
{
	RN_ASSERT(t != NULL && ev != NULL);
	struct snapxfer_event *slot = snapxfer_ring_peek(&t->events);
	if (slot == NULL) {
		return false;
	}
	*ev = *slot;
	snapxfer_ring_pop(&t->events);
	return true;
}

struct snapxfer_ring *snapxfer_thread_frames_in(struct snapxfer_thread *t)
{
	RN_ASSERT(t != NULL);
	return &t->frames_in;
}

struct snapxfer_ring *snapxfer_thread_frames_out(struct snapxfer_thread *t)
{
	RN_ASSERT(t != NULL);
	return &t->frames_out;
}
