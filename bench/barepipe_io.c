/* SPDX-License-Identifier: MIT */
/*
 * barepipe_io.c - the bare pipeline's sockets, files and durable writes
 * (bench/barepipe.h). Everything is sized and opened before the timed part.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "barepipe.h"

uint64_t bp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int bp_socket(const struct sockaddr_in *bind_addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "barepipe: socket: %s\n", strerror(errno));
		return -1;
	}
	/* Large buffers: at thousands in flight a burst of requests or
	 * replies must not overflow a socket (a lost datagram stalls the
	 * pipeline, which has no retransmit; the client then says so). */
	int buf_bytes = 8 << 20;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf_bytes, sizeof(buf_bytes));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf_bytes, sizeof(buf_bytes));
	if (bind_addr != NULL &&
	    bind(fd, (const struct sockaddr *)bind_addr, sizeof(*bind_addr)) != 0) {
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &bind_addr->sin_addr, ip, sizeof(ip));
		fprintf(stderr, "barepipe: bind %s:%u: %s\n", ip, ntohs(bind_addr->sin_port),
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void *bp_buf_alloc(uint64_t bytes)
{
	void *p = NULL;
	if (posix_memalign(&p, BP_BLOCK_BYTES, (size_t)bytes) != 0) {
		fprintf(stderr, "barepipe: out of memory (%llu bytes)\n", (unsigned long long)bytes);
		return NULL;
	}
	memset(p, 0, (size_t)bytes);
	return p;
}

static int bp_file_fill(int fd, uint64_t file_bytes, const char *path)
{
	enum { chunk_bytes = 1 << 20 };
	char *zero = bp_buf_alloc(chunk_bytes);
	if (zero == NULL) {
		return -1;
	}
	for (uint64_t off = 0; off < file_bytes; off += chunk_bytes) {
		ssize_t n = pwrite(fd, zero, chunk_bytes, (off_t)off);
		if (n != chunk_bytes) {
			fprintf(stderr, "barepipe: pre-writing %s at %llu: %s\n", path,
				(unsigned long long)off, n < 0 ? strerror(errno) : "short write");
			free(zero);
			return -1;
		}
	}
	free(zero);
	if (fsync(fd) != 0) {
		fprintf(stderr, "barepipe: fsync %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int bp_file_open(const struct bp_config *cfg, const char *name)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/barepipe.%s.%ld", cfg->dir, name, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(path)) {
		fprintf(stderr, "barepipe: --dir is too long\n");
		return -1;
	}
	/* Laid out with plain buffered writes first, then reopened for the
	 * timed ones: O_DIRECT needs no alignment for the fill this way. */
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "barepipe: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	int rc = bp_file_fill(fd, cfg->file_bytes, path);
	close(fd);
	int flags = O_RDWR | O_DSYNC | O_CLOEXEC;
	if (cfg->write_mode == BP_WRITE_DIRECT) {
		flags |= O_DIRECT;
	}
	fd = rc == 0 ? open(path, flags) : -1;
	if (rc == 0 && fd < 0) {
		fprintf(stderr, "barepipe: open %s%s: %s\n", path,
			cfg->write_mode == BP_WRITE_DIRECT ? " (O_DIRECT)" : "", strerror(errno));
	}
	unlink(path); /* gone when the role exits, however it exits */
	return fd;
}

int bp_write(const struct bp_config *cfg, int fd, const void *buf, uint64_t bytes,
	     uint64_t *offset, struct bp_stats *st)
{
	if (*offset + bytes > cfg->file_bytes) {
		*offset = 0; /* wrap: the file is a ring of pre-written blocks */
	}
	uint64_t t0_ns = bp_now_ns();
	ssize_t n = pwrite(fd, buf, (size_t)bytes, (off_t)*offset);
	if (n < 0 || (uint64_t)n != bytes) {
		/* Fail-stop, as a node's failed durable write. */
		fprintf(stderr, "barepipe: durable write of %llu bytes at %llu: %s\n",
			(unsigned long long)bytes, (unsigned long long)*offset,
			n < 0 ? strerror(errno) : "short write");
		return -1;
	}
	bench_hist_record(&st->write_ns, bp_now_ns() - t0_ns);
	st->writes++;
	*offset += bytes;
	return 0;
}

double bp_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int bp_send_all(int fd, struct mmsghdr *msgs, unsigned n)
{
	unsigned done = 0;
	while (done < n) {
		int k = sendmmsg(fd, msgs + done, n - done, 0);
		if (k < 0 && errno == EINTR) {
			continue;
		}
		if (k <= 0) {
			fprintf(stderr, "barepipe: sendmmsg: %s\n", k < 0 ? strerror(errno) : "sent none");
			return -1;
		}
		done += (unsigned)k;
	}
	return 0;
}

int bp_rx_init(struct bp_rx *rx)
{
	rx->bufs = bp_buf_alloc((uint64_t)BP_VLEN_MAX * BP_DGRAM_BYTES_MAX);
	return rx->bufs == NULL ? -1 : 0;
}

int bp_rx_wait(int fd, struct bp_rx *rx)
{
	for (unsigned i = 0; i < BP_VLEN_MAX; i++) {
		rx->iov[i] = (struct iovec){rx->bufs + (size_t)i * BP_DGRAM_BYTES_MAX, BP_DGRAM_BYTES_MAX};
		rx->msgs[i].msg_hdr = (struct msghdr){.msg_name = &rx->src[i],
						      .msg_namelen = sizeof(rx->src[i]),
						      .msg_iov = &rx->iov[i],
						      .msg_iovlen = 1};
	}
	for (;;) {
		int n = recvmmsg(fd, rx->msgs, BP_VLEN_MAX, MSG_WAITFORONE, NULL);
		if (n > 0) {
			return n;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return 0; /* SO_RCVTIMEO ran out (the client sets one) */
		}
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "barepipe: recvmmsg: %s\n", strerror(errno));
			return -1;
		}
	}
}

/* The kernel's struct sched_attr (glibc before 2.41 declares none). The
 * same call as dataplane/sched_slice.c makes for raftnode's lcores, done
 * here without linking the dataplane (and DPDK) into a bench that has no
 * use for it. */
struct bp_sched_attr {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

int bp_slice_set(const struct bp_config *cfg)
{
	if (cfg->slice_us == 0) {
		return 0;
	}
	struct bp_sched_attr a;
	memset(&a, 0, sizeof(a));
	if (syscall(SYS_sched_getattr, 0, &a, (unsigned)sizeof(a), 0u) != 0) {
		return -errno;
	}
	a.size = (uint32_t)sizeof(a);
	a.sched_flags = 0;
	a.sched_runtime = (uint64_t)cfg->slice_us * 1000u; /* nice kept: sched_nice as read */
	if (a.sched_policy != SCHED_OTHER || syscall(SYS_sched_setattr, 0, &a, 0u) != 0) {
		return a.sched_policy != SCHED_OTHER ? -EPERM : -errno;
	}
	memset(&a, 0, sizeof(a));
	if (syscall(SYS_sched_getattr, 0, &a, (unsigned)sizeof(a), 0u) != 0) {
		return -errno;
	}
	return a.sched_runtime == 0 ? -EOPNOTSUPP : 0; /* before 6.12: ignored */
}
