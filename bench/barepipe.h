/* SPDX-License-Identifier: MIT */
/*
 * barepipe.h - the bare replication pipeline (bench/barepipe.c): what its
 * roles share. A yardstick, not a Raft: client, leader and two followers,
 * each one thread blocking in the kernel (recvmmsg, or a blocking O_DSYNC
 * pwrite into a pre-written file of its own, as the floor's fio job does),
 * kernel UDP, no terms, no checksums, no recovery. A commit is the
 * leader's durable write and one follower's durable write and ack (a
 * majority of 3); the leader sends its appends before it writes, so its
 * write and the followers' overlap. What arrives while a write is running
 * goes into the next one (group commit). It measures how close to the
 * machine's floor the simplest correctly shaped pipeline gets, beside
 * raftnode (scripts/bench-barepipe.sh).
 */
#ifndef RN_BENCH_BAREPIPE_H
#define RN_BENCH_BAREPIPE_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <stdint.h>

#include "hist.h"

/* Datagram layout (host byte order: every role runs on this machine). */
#define BP_MAGIC 0x42505031u /* "BPP1" */
#define BP_DGRAM_BYTES_MAX 8192u /* fits the 9000-byte MTU of the cluster's veths */
#define BP_VLEN_MAX 256u /* datagrams per recvmmsg/sendmmsg */
/* A leader's batch: at most this many append datagrams (2 MiB of records). */
#define BP_BATCH_DGRAMS_MAX 256u
#define BP_BLOCK_BYTES 4096u /* writes are whole blocks, as fio's 4 KiB */
#define BP_INFLIGHT_MAX 65536u
#define BP_VALUE_BYTES_MAX 4096u

enum bp_type { BP_REQ = 1, BP_APPEND = 2, BP_ACK = 3, BP_REPLY = 4, BP_STOP = 5 };

struct bp_hdr {
	uint32_t magic;
	uint16_t type;
	uint16_t count;	     /* REQ, REPLY: records that follow */
	uint32_t rec_bytes;  /* REQ: bytes per record (an 8-byte id + the value) */
	uint32_t body_bytes; /* APPEND: bytes of records that follow */
	uint64_t seq;	     /* APPEND: the datagram's sequence; ACK: the highest durable */
};
_Static_assert(sizeof(struct bp_hdr) == 24, "bp_hdr is 24 bytes");

enum bp_write_mode { BP_WRITE_DSYNC = 0, BP_WRITE_DIRECT = 1 };

struct bp_config {
	struct sockaddr_in addr[3]; /* leader, follower 1, follower 2 */
	const char *netns[3];	    /* NULL: this namespace (run mode forks into them) */
	const char *dir;	    /* where each role's file is */
	uint64_t file_bytes;
	enum bp_write_mode write_mode;
	uint32_t inflight;
	uint32_t value_bytes;
	double duration_s, warmup_s;
	int json;
	uint32_t slice_us; /* each role's EEVDF slice (0: the kernel's), as raftnode's lcores */
	unsigned disk_writers; /* disk: writer processes */
	int disk_lockstep;     /* disk: every write released at once (a commit's shape) */
	int ready_fd; /* >= 0: a server role writes one byte here once it listens */
};

/* What a role counted; in run mode each child fills its own in shared
 * memory and the parent reads them after the children exit. */
struct bp_stats {
	struct bench_hist write_ns;	/* each durable pwrite, as the role saw it */
	struct bench_hist latency_ns;	/* client: request sent to reply received */
	uint64_t writes, batches, records, commits;
	uint64_t seq_top;  /* follower: the highest append sequence seen */
	uint64_t seq_gaps; /* follower: append sequences it never saw (loss) */
	double measured_s; /* client: the measured window */
	double cpu_s;	   /* the role's user + system CPU over its timed part */
	int ok;
};

int bp_leader(const struct bp_config *cfg, struct bp_stats *st);
int bp_follower(const struct bp_config *cfg, int which, struct bp_stats *st);
int bp_client(const struct bp_config *cfg, struct bp_stats *st);
/* `barepipe disk` (barepipe_disk.c): the writes alone, free as fio's jobs
 * or in lockstep as a commit's; prints JSON. 0, or an exit status. */
int bp_disk(const struct bp_config *cfg);

/* Datagrams received by one recvmmsg. */
struct bp_rx {
	struct mmsghdr msgs[BP_VLEN_MAX];
	struct iovec iov[BP_VLEN_MAX];
	struct sockaddr_in src[BP_VLEN_MAX];
	unsigned char *bufs; /* BP_VLEN_MAX x BP_DGRAM_BYTES_MAX */
};

/* Records of REC_BYTES that fit one datagram after its header; a batch
 * holds BP_BATCH_DGRAMS_MAX such datagrams, so this bounds the requests in
 * flight (all of them fit one batch: the leader never splits a backlog). */
static inline uint32_t bp_recs_per_dgram(uint32_t rec_bytes)
{
	return (uint32_t)((BP_DGRAM_BYTES_MAX - sizeof(struct bp_hdr)) / rec_bytes);
}

/* Shared by the roles (barepipe_io.c). */
uint64_t bp_now_ns(void);
int bp_socket(const struct sockaddr_in *bind_addr);
/* Opens DIR/barepipe.<name>.<pid> and writes it whole once (then fsync),
 * so the timed writes overwrite blocks that exist, as fio's overwrite=1
 * and raftnode's pre-written segments; the file is unlinked at once. */
int bp_file_open(const struct bp_config *cfg, const char *name);
/* One durable write of BYTES (a multiple of BP_BLOCK_BYTES) at *OFFSET,
 * which advances and wraps at the file's end; timed into ST. */
int bp_write(const struct bp_config *cfg, int fd, const void *buf, uint64_t bytes,
	     uint64_t *offset, struct bp_stats *st);
/* A buffer for writes, aligned for O_DIRECT, sized at start. */
void *bp_buf_alloc(uint64_t bytes);
int bp_rx_init(struct bp_rx *rx);
/* Blocks until at least one datagram is there, then takes what is there:
 * their count, 0 when the socket's SO_RCVTIMEO ran out, -1 on error. */
int bp_rx_wait(int fd, struct bp_rx *rx);
/* Gives this thread the EEVDF slice cfg->slice_us (Linux 6.12+), as
 * raftnode does to its lcores and raftbench to itself (sched_slice_us, 100
 * by default), so the bare pipeline's hops preempt a thread in mid-slice
 * just as raftnode's do. 0 when set (or slice_us is 0), -errno else. */
int bp_slice_set(const struct bp_config *cfg);
/* User + system CPU seconds of this process so far. */
double bp_cpu_s(void);
/* Sends N datagrams (sendmmsg until all left); -1 on error, said. */
int bp_send_all(int fd, struct mmsghdr *msgs, unsigned n);

#endif
