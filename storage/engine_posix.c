/* SPDX-License-Identifier: MIT */
/*
 * engine_posix.c - the synchronous file operations shared by the real-disk
 * engines (openat/fallocate/ftruncate/pread on a directory fd), and the
 * `pwrite` engine: a group is pwritev'd and fdatasync'd inside submit(), and
 * poll() hands back the result. It is the synchronous baseline the io_uring
 * engine has to beat; it is also the simplest correct engine, so tests use
 * it to read back what the uring engine wrote.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common.h"
#include "engine.h"

static struct posix_engine *posix_of(struct store_engine *e)
{
	return (struct posix_engine *)e;
}

#define POSIX_DIRECT_PROBE_NAME "direct-probe.tmp"

/* Can this directory's file system take O_DIRECT writes of 4 KiB blocks?
 * 0, or -errno of the open or the write that refused (tmpfs: EINVAL). */
static int posix_direct_probe(int dir_fd)
{
	void *block = NULL;
	if (posix_memalign(&block, STORE_DIRECT_ALIGN_BYTES, STORE_DIRECT_ALIGN_BYTES) != 0) {
		return -ENOMEM;
	}
	memset(block, 0, STORE_DIRECT_ALIGN_BYTES);
	int rc = 0;
	int fd = openat(dir_fd, POSIX_DIRECT_PROBE_NAME,
			O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
	} else {
		if (pwrite(fd, block, STORE_DIRECT_ALIGN_BYTES, 0) != (ssize_t)STORE_DIRECT_ALIGN_BYTES) {
			rc = errno != 0 ? -errno : -EIO;
		}
		close(fd);
		unlinkat(dir_fd, POSIX_DIRECT_PROBE_NAME, 0);
	}
	free(block);
	return rc;
}

int posix_engine_init(struct posix_engine *pe, const struct store_engine_options *opt)
{
	RN_ASSERT(pe != NULL);
	RN_ASSERT(opt != NULL);
	pe->base.wait_fd = -1; /* pwrite completes inside submit; uring sets its own */
	if (opt->dir_path == NULL || opt->dir_path[0] == '\0') {
		return -STORE_E_CONFIG;
	}
	if (mkdir(opt->dir_path, 0755) != 0 && errno != EEXIST) {
		return -errno;
	}
	pe->dir_fd = open(opt->dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pe->dir_fd < 0) {
		return -errno;
	}
	if (opt->direct) {
		int probe_rc = posix_direct_probe(pe->dir_fd);
		pe->direct = probe_rc == 0;
		if (probe_rc != 0) {
			fprintf(stderr, "storage: %s: the file system refuses O_DIRECT writes of %u "
					"bytes (%s; ramfs does, tmpfs before Linux 6.6): log "
					"writes go through the page cache instead (write_mode "
					"= buffered)\n",
				opt->dir_path, STORE_DIRECT_ALIGN_BYTES, strerror(-probe_rc));
		}
	}
	pe->base.write_align_bytes = pe->direct ? STORE_DIRECT_ALIGN_BYTES : 0;
	int rc = posix_prepare_start(pe);
	if (rc != 0) {
		close(pe->dir_fd);
		pe->dir_fd = -1;
	}
	return rc;
}

void posix_engine_fini(struct posix_engine *pe)
{
	posix_prepare_stop(pe); /* before the directory fd it borrows */
	if (pe->dir_fd >= 0) {
		close(pe->dir_fd);
		pe->dir_fd = -1;
	}
}

int posix_open(struct store_engine *e, const char *name, bool create, int *file_out)
{
	struct posix_engine *pe = posix_of(e);
	int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
	int fd = openat(pe->dir_fd, name, flags, 0644);
	if (fd < 0) {
		return -errno;
	}
	if (pe->direct && fd < POSIX_FD_MAP_MAX) {
		int twin = openat(pe->dir_fd, name, O_RDWR | O_CLOEXEC | O_DIRECT);
		if (twin < 0) {
			int rc = -errno;
			close(fd);
			return rc;
		}
		pe->direct_fd[fd] = twin + 1;
		/* The plain fd only reads records back (recovery, catch-up):
		 * no read-ahead into the blocks the twin is about to write,
		 * whose cached pages would send each write to an io-wq
		 * worker (engine_prepare.c says why). */
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	}
	*file_out = fd;
	return 0;
}

int posix_write_fd(const struct posix_engine *pe, int file)
{
	RN_ASSERT(file >= 0);
	return file < POSIX_FD_MAP_MAX && pe->direct_fd[file] != 0 ? pe->direct_fd[file] - 1 : file;
}

void posix_close(struct store_engine *e, int file)
{
	struct posix_engine *pe = posix_of(e);
	RN_ASSERT(file >= 0);
	if (file < POSIX_FD_MAP_MAX && pe->direct_fd[file] != 0) {
		close(pe->direct_fd[file] - 1);
		pe->direct_fd[file] = 0;
	}
	close(file);
}

int posix_unlink(struct store_engine *e, const char *name)
{
	if (unlinkat(posix_of(e)->dir_fd, name, 0) != 0) {
		return -errno;
	}
	return 0;
}

int posix_list(struct store_engine *e, int (*fn)(void *user, const char *name), void *user)
{
	int fd = dup(posix_of(e)->dir_fd);
	if (fd < 0) {
		return -errno;
	}
	DIR *dir = fdopendir(fd);
	if (dir == NULL) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	rewinddir(dir);
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		if (de->d_type == DT_REG || de->d_type == DT_UNKNOWN) {
			rc = fn(user, de->d_name);
		}
	}
	closedir(dir);
	return rc;
}

int posix_sync_dir(struct store_engine *e)
{
	return fsync(posix_of(e)->dir_fd) == 0 ? 0 : -errno;
}

int posix_file_bytes(struct store_engine *e, int file, uint64_t *bytes_out)
{
	(void)e;
	struct stat st;
	if (fstat(file, &st) != 0) {
		return -errno;
	}
	*bytes_out = (uint64_t)st.st_size;
	return 0;
}

int posix_allocate(struct store_engine *e, int file, uint64_t bytes)
{
	(void)e;
	/* fallocate reserves the blocks so appends never hit ENOSPC half-way
	 * through a group; the range reads as zeros. */
	if (fallocate(file, 0, 0, (off_t)bytes) == 0) {
		return 0;
	}
	int rc = -errno;
	if (rc == -EOPNOTSUPP) { /* e.g. tmpfs without fallocate: extend */
		return ftruncate(file, (off_t)bytes) == 0 ? 0 : -errno;
	}
	return rc;
}

int posix_truncate(struct store_engine *e, int file, uint64_t bytes)
{
	(void)e;
	return ftruncate(file, (off_t)bytes) == 0 ? 0 : -errno;
}

int64_t posix_read(struct store_engine *e, int file, uint64_t offset, void *buf,
			  uint64_t bytes)
{
	uint64_t done_bytes = 0;
	while (done_bytes < bytes) {
		ssize_t n = pread(file, (uint8_t *)buf + done_bytes, (size_t)(bytes - done_bytes),
				  (off_t)(offset + done_bytes));
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		if (n == 0) {
			break; /* end of file */
		}
		done_bytes += (uint64_t)n;
	}
	if (posix_of(e)->direct) {
		/* Keep no page the twin may write (see posix_open): records
		 * read back are rare (recovery, header walks). */
		(void)posix_fadvise(file, (off_t)offset, 0, POSIX_FADV_DONTNEED);
	}
	return (int64_t)done_bytes;
}

int posix_pwrite_all(int fd, const void *buf, uint64_t bytes, uint64_t offset, int rwf_flags,
		     uint32_t align_bytes)
{
	uint64_t done_bytes = 0;
	while (done_bytes < bytes) {
		uint64_t from = align_bytes != 0 ? done_bytes & ~(uint64_t)(align_bytes - 1)
						 : done_bytes;
		struct iovec iov = {
			.iov_base = (uint8_t *)buf + from,
			.iov_len = (size_t)(bytes - from),
		};
		ssize_t n = pwritev2(fd, &iov, 1, (off_t)(offset + from), rwf_flags);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		if (from + (uint64_t)n <= done_bytes) {
			return -EIO; /* no progress: treat as an I/O error, not a loop */
		}
		done_bytes = from + (uint64_t)n; /* short write: resubmit the rest */
	}
	return 0;
}

int posix_write_sync(struct store_engine *e, int file, uint64_t offset, const void *buf,
			    uint64_t bytes)
{
	(void)e;
	int rc = posix_pwrite_all(file, buf, bytes, offset, 0, 0);
	if (rc == 0 && fdatasync(file) != 0) {
		rc = -errno;
	}
	return rc;
}

int posix_sync(struct store_engine *e, int file)
{
	(void)e;
	/* Used after create, fallocate, truncate and torn-tail cuts: rare, and
	 * they change metadata (size, extents), so a full fsync rather than
	 * the fdatasync the append path uses. */
	return fsync(file) == 0 ? 0 : -errno;
}


/* ---- pwrite engine ------------------------------------------------------ */

struct pwrite_engine {
	struct posix_engine posix;
	bool done;   /* a group completed and was not polled yet */
	int done_rc; /* its result */
	bool read_done;
	int64_t read_res;
};

/* Reads happen inside read_submit; read_poll hands the result back. */
static int pwrite_read_submit(struct store_engine *e, int file, uint64_t offset, void *buf,
			      uint64_t bytes)
{
	struct pwrite_engine *pw = (struct pwrite_engine *)e;
	RN_ASSERT(!pw->read_done);
	pw->read_res = posix_read(e, file, offset, buf, bytes);
	pw->read_done = true;
	return 0;
}

static int pwrite_read_poll(struct store_engine *e, bool wait, int64_t *res_out)
{
	(void)wait;
	struct pwrite_engine *pw = (struct pwrite_engine *)e;
	if (!pw->read_done) {
		return 0;
	}
	pw->read_done = false;
	*res_out = pw->read_res;
	return 1;
}

static int pwrite_submit(struct store_engine *e, const struct store_extent *extents,
			 uint32_t count, enum store_durability durability)
{
	struct pwrite_engine *pw = (struct pwrite_engine *)e;
	RN_ASSERT(!pw->done);
	RN_ASSERT(count >= 1 && count <= STORE_GROUP_EXTENTS_MAX);
	int rwf = durability == STORE_DURABILITY_DSYNC ? RWF_DSYNC : 0;
	int rc = 0;
	for (uint32_t i = 0; i < count && rc == 0; i++) {
		int fd = posix_write_fd(&pw->posix, extents[i].file);
		rc = posix_pwrite_all(fd, extents[i].buf, extents[i].bytes, extents[i].file_offset,
				      rwf, pw->posix.base.write_align_bytes);
		/* Sync a file once, after its last extent in this group. */
		bool last_of_file = i + 1 == count || extents[i + 1].file != extents[i].file;
		if (rc == 0 && durability == STORE_DURABILITY_FSYNC && last_of_file &&
		    fdatasync(fd) != 0) {
			rc = -errno;
		}
	}
	pw->done = true;
	pw->done_rc = rc;
	return 0;
}

static int pwrite_poll(struct store_engine *e, bool wait, int *res_out)
{
	(void)wait; /* submit already waited */
	struct pwrite_engine *pw = (struct pwrite_engine *)e;
	if (!pw->done) {
		return 0;
	}
	pw->done = false;
	*res_out = pw->done_rc;
	return 1;
}

static void pwrite_destroy(struct store_engine *e)
{
	struct pwrite_engine *pw = (struct pwrite_engine *)e;
	posix_engine_fini(&pw->posix);
	free(pw);
}

static const struct store_engine_ops pwrite_ops = {
	POSIX_ENGINE_FILE_OPS,
	.submit = pwrite_submit,
	.poll = pwrite_poll,
	.destroy = pwrite_destroy,
	.read_submit = pwrite_read_submit,
	.read_poll = pwrite_read_poll,
};

int store_engine_pwrite_create(const struct store_engine_options *opt,
			       struct store_engine **out)
{
	struct pwrite_engine *pw = calloc(1, sizeof(*pw));
	if (pw == NULL) {
		return -ENOMEM;
	}
	int rc = posix_engine_init(&pw->posix, opt);
	if (rc != 0) {
		free(pw);
		return rc;
	}
	pw->posix.base.ops = &pwrite_ops;
	*out = &pw->posix.base;
	return 0;
}
