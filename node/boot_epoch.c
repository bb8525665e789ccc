/* SPDX-License-Identifier: MIT */
/*
 * boot_epoch.c - the boot epoch kept in the data directory. stage: main
 * (start-up only; boot_epoch.h says why the epoch must rise).
 *
 * The file is 12 bytes: magic "RNBE", the epoch (u32 LE), CRC32C of the
 * first 8. It is replaced whole (a temporary file synced, renamed over it,
 * the directory synced), so a crash leaves the old epoch or the new one,
 * never a torn one; a node that crashed after the rename but before it
 * sent anything just skips an epoch. One write per start: off every hot
 * path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "boot_epoch.h"
#include "common.h"
#include "storage.h"

#define BOOT_MAGIC 0x45424e52u /* "RNBE" little-endian */
#define BOOT_FILE_BYTES 12u

static void boot_st32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static uint32_t boot_ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The epoch kept in path: 0 when there is none; a damaged file is said on
 * stderr and read as none (the clock still makes the new epoch rise). */
static int boot_read(const char *path, uint32_t *kept, char *errmsg, size_t errmsg_bytes)
{
	*kept = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			return 0;
		}
		int e = errno;
		snprintf(errmsg, errmsg_bytes, "%s: cannot open: %s", path, strerror(e));
		return -e;
	}
	uint8_t buf[BOOT_FILE_BYTES + 1];
	ssize_t n = read(fd, buf, sizeof(buf));
	int e = errno;
	close(fd);
	if (n < 0) {
		snprintf(errmsg, errmsg_bytes, "%s: cannot read: %s", path, strerror(e));
		return -e;
	}
	if (n != (ssize_t)BOOT_FILE_BYTES || boot_ld32(buf) != BOOT_MAGIC ||
	    boot_ld32(buf + 8) != store_crc32c(0, buf, 8)) {
		fprintf(stderr, "raftnode: WARNING: %s is damaged (%zd bytes, bad magic or CRC): "
			"the boot epoch comes from the wall clock alone this time, so it rises "
			"only if the clock is right\n", path, n);
		return 0;
	}
	*kept = boot_ld32(buf + 4);
	return 0;
}

/* Writes all of buf to fd, then syncs it. 0 or -errno. */
static int boot_write_sync(int fd, const uint8_t *buf, size_t bytes)
{
	size_t done = 0;
	while (done < bytes) {
		ssize_t n = write(fd, buf + done, bytes - done);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return n < 0 ? -errno : -EIO;
		}
		done += (size_t)n;
	}
	return fsync(fd) == 0 ? 0 : -errno;
}

/* Replaces dir/boot_epoch with epoch, durably. */
static int boot_keep(const char *dir, const char *path, uint32_t epoch, char *errmsg,
		     size_t errmsg_bytes)
{
	char tmp[4096];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	RN_ASSERT(n > 0 && (size_t)n < sizeof(tmp)); /* path was shorter by 4 */
	uint8_t buf[BOOT_FILE_BYTES];
	boot_st32(buf, BOOT_MAGIC);
	boot_st32(buf + 4, epoch);
	boot_st32(buf + 8, store_crc32c(0, buf, 8));
	int rc = 0;
	const char *what = "create";
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	what = "write and sync";
	rc = boot_write_sync(fd, buf, sizeof(buf));
	close(fd);
	if (rc != 0) {
		goto fail;
	}
	what = "rename";
	if (rename(tmp, path) != 0) {
		rc = -errno;
		goto fail;
	}
	what = "sync the directory of";
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		rc = -errno;
		if (dfd >= 0) {
			close(dfd);
		}
		goto fail;
	}
	close(dfd);
	return 0;

fail:
	snprintf(errmsg, errmsg_bytes, "%s: cannot %s the boot epoch file: %s", tmp, what,
		 strerror(-rc));
	return rc;
}

int node_boot_epoch_next(const char *dir, uint64_t now_s, uint32_t *epoch_out, char *errmsg,
			 size_t errmsg_bytes)
{
	RN_ASSERT(dir != NULL && epoch_out != NULL);
	char path[4096 - 8];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, NODE_BOOT_EPOCH_FILE) >=
	    sizeof(path)) {
		snprintf(errmsg, errmsg_bytes, "data_dir '%s' is too long", dir);
		return -ENAMETOOLONG;
	}
	uint32_t kept = 0;
	int rc = boot_read(path, &kept, errmsg, errmsg_bytes);
	if (rc != 0) {
		return rc;
	}
	if (kept == UINT32_MAX || now_s >= UINT32_MAX) {
		snprintf(errmsg, errmsg_bytes, "%s: the boot epoch cannot rise past %u (kept %u, "
			 "clock %llu s)", path, UINT32_MAX, kept, (unsigned long long)now_s);
		return -ERANGE;
	}
	uint32_t epoch = (uint32_t)rn_max_u64(now_s, (uint64_t)kept + 1);
	RN_ASSERT(epoch > kept);
	rc = boot_keep(dir, path, epoch, errmsg, errmsg_bytes);
	if (rc == 0) {
		*epoch_out = epoch;
	}
	return rc;
}
