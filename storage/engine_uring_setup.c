/* SPDX-License-Identifier: MIT */
/*
 * engine_uring_setup.c - the io_uring engine's setup and file table (see
 * engine_uring.c for how groups and reads go): the ring (SINGLE_ISSUER |
 * DEFER_TASKRUN where the kernel has them), the sparse table of registered
 * files every opened file gets a slot of, the registered staging buffers,
 * the completion eventfd an event-idle log stage sleeps on, and the ops
 * table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common.h"
#include "engine.h"
#include "engine_uring_internal.h"

/* Gives fd a registered slot if one is free; a failed update leaves it a
 * plain fd. */
static void uring_register_fd(struct uring_engine *ue, int fd)
{
	if (ue->posix.base.uring_fixed_files == 0 || fd >= URING_FD_MAP_MAX) {
		return;
	}
	for (uint32_t slot = 0; slot < URING_FILE_SLOTS; slot++) {
		if (!ue->slot_used[slot]) {
			if (io_uring_register_files_update(&ue->ring, slot, &fd, 1) == 1) {
				ue->slot_used[slot] = true;
				ue->fd_slot[fd] = (uint16_t)(slot + 1);
			}
			return;
		}
	}
}

static void uring_unregister_fd(struct uring_engine *ue, int fd)
{
	if (fd < URING_FD_MAP_MAX && ue->fd_slot[fd] != 0) {
		uint32_t slot = ue->fd_slot[fd] - 1u;
		int none = -1;
		/* Nothing is in flight on a file the log closes. */
		if (io_uring_register_files_update(&ue->ring, slot, &none, 1) == 1) {
			ue->slot_used[slot] = false;
		}
		ue->fd_slot[fd] = 0;
	}
}

/* Opens like the posix engine, then gives the file (and its O_DIRECT twin,
 * which the group writes use) a registered slot. */
static int uring_open(struct store_engine *e, const char *name, bool create, int *file_out)
{
	struct uring_engine *ue = (struct uring_engine *)e;
	int rc = posix_open(e, name, create, file_out);
	if (rc != 0) {
		return rc;
	}
	int fd = *file_out;
	uring_register_fd(ue, fd);
	int twin = posix_write_fd(&ue->posix, fd);
	if (twin != fd) {
		uring_register_fd(ue, twin);
	}
	return 0;
}

static void uring_close(struct store_engine *e, int file)
{
	struct uring_engine *ue = (struct uring_engine *)e;
	int twin = posix_write_fd(&ue->posix, file);
	if (twin != file) {
		uring_unregister_fd(ue, twin);
	}
	uring_unregister_fd(ue, file);
	posix_close(e, file);
}

static void uring_register_buffers(struct store_engine *e, void *const *bufs, uint32_t count,
				   uint32_t buf_bytes)
{
	struct uring_engine *ue = (struct uring_engine *)e;
	RN_ASSERT(count <= URING_BUFFERS_MAX);
	for (uint32_t i = 0; i < count; i++) {
		ue->buffers[i] = (struct iovec){.iov_base = bufs[i], .iov_len = buf_bytes};
	}
	int rc = io_uring_register_buffers(&ue->ring, ue->buffers, count);
	if (rc != 0) {
		fprintf(stderr, "storage: io_uring: registering %u staging buffers of %u bytes "
				"failed (%s); using plain writes (pages pinned per request)\n",
			count, buf_bytes, strerror(-rc));
		return;
	}
	ue->buffers_count = count;
	ue->posix.base.uring_fixed_buffers = count;
}

static void uring_destroy(struct store_engine *e)
{
	struct uring_engine *ue = (struct uring_engine *)e;
	io_uring_queue_exit(&ue->ring);
	if (e->wait_fd >= 0) {
		close(e->wait_fd);
	}
	posix_engine_fini(&ue->posix);
	free(ue);
}

static const struct store_engine_ops uring_ops = {
	/* The posix file operations, except open and close, which also
	 * register and unregister the file. */
	.open = uring_open,
	.close = uring_close,
	.unlink = posix_unlink,
	.list = posix_list,
	.sync_dir = posix_sync_dir,
	.file_bytes = posix_file_bytes,
	.allocate = posix_allocate,
	.truncate = posix_truncate,
	.read = posix_read,
	.write_sync = posix_write_sync,
	.sync = posix_sync,
	.rename = posix_rename,
	.prepare_submit = posix_prepare_submit,
	.prepare_poll = posix_prepare_poll,
	.space_free = posix_space_free,
	.register_buffers = uring_register_buffers,
	.read_submit = uring_read_submit,
	.read_poll = uring_read_poll,
	.submit = uring_submit,
	.poll = uring_poll,
	.destroy = uring_destroy,
};

static int uring_setup(struct uring_engine *ue, uint32_t sq_entries, bool quiet)
{
	/* TASKRUN_FLAG (with DEFER_TASKRUN): the kernel raises
	 * IORING_SQ_TASKRUN in the shared ring when a completion waits for
	 * us, so a round with nothing completed looks at memory instead of
	 * entering the kernel (uring_reap). */
	static const unsigned tries[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_SINGLE_ISSUER,
		0,
	};
	int rc = -EINVAL;
	for (size_t i = 0; i < RN_ARRAY_COUNT(tries) && rc == -EINVAL; i++) {
		struct io_uring_params params;
		memset(&params, 0, sizeof(params)); /* only what we rely on */
		/* A single-issuer ring starts disabled (uring_submit_now); the
		 * plain fallback needs neither, and R_DISABLED (5.10) would
		 * make it fail where a plain ring works. */
		params.flags = tries[i];
		if (tries[i] & IORING_SETUP_SINGLE_ISSUER) {
			params.flags |= IORING_SETUP_R_DISABLED;
		}
		rc = io_uring_queue_init_params(sq_entries, &ue->ring, &params);
		if (rc == 0) {
			ue->enabled = !(params.flags & IORING_SETUP_R_DISABLED);
			ue->posix.base.uring_setup_flags = tries[i];
			if (!quiet || i > 0) {
				fprintf(stderr, "storage: io_uring ring: %s%s%s%s\n",
					tries[i] & IORING_SETUP_SINGLE_ISSUER ? "SINGLE_ISSUER" : "",
					tries[i] & IORING_SETUP_DEFER_TASKRUN ? "|DEFER_TASKRUN" : "",
					tries[i] & IORING_SETUP_TASKRUN_FLAG ? "|TASKRUN_FLAG" : "",
					i > 1 ? " (fallback: the kernel rejected DEFER_TASKRUN; "
						"completions run as task work at any syscall)"
					      : "");
			}
		}
	}
	if (rc == -ENOSYS || rc == -EPERM || rc == -EACCES) {
		return -STORE_E_UNSUPPORTED;
	}
	return rc;
}

int store_engine_uring_create(const struct store_engine_options *opt, struct store_engine **out)
{
	struct uring_engine *ue = calloc(1, sizeof(*ue));
	if (ue == NULL) {
		return -ENOMEM;
	}
	int rc = posix_engine_init(&ue->posix, opt);
	if (rc != 0) {
		goto fail_alloc;
	}
	rc = uring_setup(ue, opt->sq_entries, opt->quiet);
	if (rc != 0) {
		goto fail_posix;
	}
	ue->quiet = opt->quiet;
	ue->sqe_async = opt->sqe_async;
	rc = io_uring_register_files_sparse(&ue->ring, URING_FILE_SLOTS);
	if (rc == 0) {
		ue->posix.base.uring_fixed_files = URING_FILE_SLOTS;
	} else {
		fprintf(stderr, "storage: io_uring: no sparse file table (%s); using plain fds\n",
			strerror(-rc));
	}
	ue->posix.base.ops = &uring_ops;
	/* Completions signal an eventfd, so a log stage that has nothing
	 * else to do can sleep in the kernel until its write is done (the
	 * event idle policy). With DEFER_TASKRUN the kernel signals it when
	 * the completion's task work is queued (Linux 6.2+): the stage's
	 * next poll runs it. Without it the stage only polls. */
	ue->posix.base.wait_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int efd_rc = ue->posix.base.wait_fd < 0
			     ? -errno
			     : io_uring_register_eventfd(&ue->ring, ue->posix.base.wait_fd);
	if (efd_rc != 0) {
		fprintf(stderr, "storage: DEGRADED: io_uring: no completion eventfd (%s): a log "
			"stage that sleeps on events must poll its completions instead\n",
			strerror(-efd_rc));
		if (ue->posix.base.wait_fd >= 0) {
			close(ue->posix.base.wait_fd);
		}
		ue->posix.base.wait_fd = STORE_WAIT_FD_POLL;
	}
	*out = &ue->posix.base;
	return 0;

fail_posix:
	posix_engine_fini(&ue->posix);
fail_alloc:
	free(ue);
	return rc;
}
