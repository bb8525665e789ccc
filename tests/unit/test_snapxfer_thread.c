/* SPDX-License-Identifier: MIT */
/*
 * test_snapxfer_thread.c - two snapxfer threads in one process move a real
 * snapshot file from one temporary directory to another; the staged file
 * equals the source byte for byte.
 *
 * Method: thread A (node 1, the leader) and thread B (node 2) are joined by
 * a pump thread standing in for the rx/tx stages: it takes each frame from
 * one thread's frames-out ring, seals it with the sender's codec, decodes
 * it with the receiver's (dp_wire_decode: the tag and every field), and
 * pushes it into the other's frames-in ring (snapxfer_msg_from_rx), as the
 * integrator's rx/tx will. It drops every 97th frame, so retransmission
 * runs on the threads' own deadlines. The pump sleeps on an eventfd the
 * rings ring (never spins); the test's main thread plays control: offers
 * the file, waits for SENT on A and STAGED on B, renames the staged file,
 * releases. Run with jumbo chunks and with 1518-byte-frame chunks.
 *
 * The receiver's checks on its own thread: the node's verify callback runs
 * there before STAGED (accepting: STAGED; refusing: REFUSED with its
 * reason, the sender refused REFUSE_IO); a file system without room for
 * the offered file beside the reserve refuses the transfer up front
 * (REFUSE_NO_SPACE to the sender, not a byte written).
 *
 * The staging file's writeback is paced (storage's store_pace, as the
 * node's own snapshots): the chunks went to the disk during the transfer
 * (the pace's counters), at the configured rate (the time it slept), the
 * bytes and the CRC are the source's, and the staging file was still
 * fsynced before STAGED (this file's fsync wrapper counts the calls on a
 * descriptor of SNAPXFER_STAGING_NAME).
 */
#define _GNU_SOURCE
#define RN_ASSERT_HOOK_OVERRIDE 1 /* rn_assert_fail reports to cmocka */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "snapxfer.h"
#include "storage.h"

#define T_SECRET "snapxfer thread test secret, 32b"
#define T_FILE_BYTES (6u << 20)

void rn_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	(void)func;
	mock_assert(0, expr, file, line);
	abort();
}

/* fsync as the threads call it: counted when its descriptor is the
 * staging file's, then done (the system call itself). */
static uint32_t t_staging_fsyncs; /* atomic */

int fsync(int fd)
{
	char link[64], target[512];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		if (strstr(target, SNAPXFER_STAGING_NAME) != NULL) {
			__atomic_add_fetch(&t_staging_fsyncs, 1, __ATOMIC_RELAXED);
		}
	}
	return (int)syscall(SYS_fsync, fd);
}

struct t_pump {
	struct snapxfer_thread *a, *b; /* node 1, node 2 */
	struct dp_wire wire[3];
	int fd; /* eventfd the rings write */
	uint32_t stop;
	uint64_t frames, dropped, decode_errors;
	uint8_t frame[DP_FRAME_BYTES_MAX];
};

static void t_pump_wake(void *arg)
{
	struct t_pump *p = arg;
	uint64_t one = 1;
	ssize_t rc = write(p->fd, &one, sizeof(one));
	(void)rc;
}

/* Moves one frame from `from`'s frames out to `to`'s frames in, through
 * the codec. False when there is nothing to move or no room. */
static bool t_pump_one(struct t_pump *p, struct snapxfer_thread *from, raft_node_id from_id,
		       struct snapxfer_thread *to)
{
	struct snapxfer_ring *out = snapxfer_thread_frames_out(from);
	struct snapxfer_ring *in = snapxfer_thread_frames_in(to);
	struct snapxfer_msg *m = snapxfer_ring_peek(out);
	if (m == NULL || snapxfer_ring_free(in) == 0) {
		return false;
	}
	struct dp_endpoints addr = {.src_port = 7400, .dst_port = 7400};
	int n = snapxfer_msg_seal(m, &p->wire[from_id], &addr, p->frames, p->frame,
				  sizeof(p->frame));
	snapxfer_ring_pop(out);
	p->frames++;
	if (n <= 0) {
		p->decode_errors++;
		return true;
	}
	if (p->frames % 97 == 0) {
		p->dropped++; /* lost on the way */
		return true;
	}
	struct dp_rx_frame rx;
	raft_node_id to_id = from_id == 1 ? 2 : 1;
	if (dp_wire_decode(&p->wire[to_id], p->frame, (size_t)n, NULL, 0, &rx) != 0) {
		p->decode_errors++;
		return true;
	}
	struct snapxfer_msg *slot = snapxfer_ring_reserve(in);
	if (slot == NULL || snapxfer_msg_from_rx(slot, &rx) != 0) {
		p->decode_errors++;
		return true;
	}
	snapxfer_ring_push(in);
	return true;
}

static void *t_pump_main(void *arg)
{
	struct t_pump *p = arg;
	while (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE) == 0) {
		bool moved = false;
		for (uint32_t i = 0; i < 64; i++) {
			bool a = t_pump_one(p, p->a, 1, p->b);
			bool b = t_pump_one(p, p->b, 2, p->a);
			moved = moved || a || b;
			if (!a && !b) {
				break;
			}
		}
		if (!moved) {
			/* Every push and pop this waits on writes the eventfd, so a
			 * change after the look above ends the poll at once. */
			struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
			if (poll(&pfd, 1, 1000) > 0) {
				uint64_t count;
				ssize_t rc = read(p->fd, &count, sizeof(count));
				(void)rc;
			}
		}
	}
	return NULL;
}

static void t_tmpdir(char *out, size_t out_bytes, const char *what)
{
	const char *base = getenv("TMPDIR");
	snprintf(out, out_bytes, "%s/raftnode-snapxfer-%s-XXXXXX", base != NULL ? base : "/tmp",
		 what);
	assert_non_null(mkdtemp(out));
}

static uint8_t *t_read_file(const char *path, size_t bytes)
{
	uint8_t *buf = malloc(bytes + 1);
	assert_non_null(buf);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	size_t done = 0;
	ssize_t n;
	while ((n = read(fd, buf + done, bytes + 1 - done)) > 0) {
		done += (size_t)n;
	}
	close(fd);
	assert_int_equal(done, bytes); /* not one byte more either */
	return buf;
}

/* Waits (a test's control loop) for an event of `kind` from t. */
static void t_wait_event(struct snapxfer_thread *t, uint8_t kind, struct snapxfer_event *ev)
{
	for (uint32_t ms = 0; ms < 60000; ms++) {
		if (snapxfer_thread_next_event(t, ev)) {
			if (ev->kind != kind) {
				fail_msg("event %u (reason %u, err %d), expected %u", ev->kind,
					 ev->reason, ev->err, kind);
			}
			return;
		}
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	fail_msg("no event %u in 60 s", kind);
}

enum t_mode {
	T_OK = 0,	   /* verify accepts: STAGED, the bytes are the source's */
	T_REFUSED = 1,	   /* verify refuses: REFUSED on B, REFUSE_IO on A */
	T_NO_SPACE = 2,	   /* B's reserve exceeds any disk: REFUSE_NO_SPACE, nothing written */
	T_PACED = 3,	   /* T_OK with B's staging writeback at 8 MiB/s */
};

struct t_verify {
	enum t_mode mode;
	uint32_t calls; /* atomic: B's thread calls it */
	uint32_t crc32c;
};

/* The node's cfg.verify stand-in, on B's thread: the staged file's CRC
 * is the id's (the whole file is there, fsynced), then the mode's verdict. */
static int t_verify(void *arg, const char *path, const struct dp_snap_id *id, char *why,
		    size_t why_bytes)
{
	struct t_verify *v = arg;
	__atomic_add_fetch(&v->calls, 1, __ATOMIC_RELAXED);
	uint8_t *got = t_read_file(path, id->total_bytes);
	v->crc32c = store_crc32c(0, got, id->total_bytes);
	free(got);
	if (v->mode == T_REFUSED) {
		snprintf(why, why_bytes, "%s: refused by the test", path);
		return -EINVAL;
	}
	return 0;
}

static void t_transfer(uint32_t chunk_bytes, enum t_mode mode)
{
	char src_dir[256], a_dir[256], b_dir[256], src[300], installed[300];
	t_tmpdir(src_dir, sizeof(src_dir), "src");
	t_tmpdir(a_dir, sizeof(a_dir), "a");
	t_tmpdir(b_dir, sizeof(b_dir), "b");
	snprintf(src, sizeof(src), "%s/snap-000000001000.snap", src_dir);
	uint8_t *bytes = malloc(T_FILE_BYTES);
	assert_non_null(bytes);
	uint64_t rng = chunk_bytes;
	for (uint32_t i = 0; i < T_FILE_BYTES; i++) {
		bytes[i] = (uint8_t)rn_splitmix64(&rng);
	}
	int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, T_FILE_BYTES), (ssize_t)T_FILE_BYTES);
	close(fd);
	struct dp_snap_id id = {.index = 1000, .term = 3, .total_bytes = T_FILE_BYTES,
				.crc32c = store_crc32c(0, bytes, T_FILE_BYTES)};

	struct snapxfer_thread_config cfg = {
		.send = {.rto_ns = 5000000, .rto_ns_max = 200000000, .timeouts_max = 40},
		.recv = {.window_bytes = 32 * chunk_bytes, .staging_bytes_max = 1u << 30},
		.frames_out_slots = 64, .frames_in_slots = 64, .io_buf_bytes = 256u << 10};
	static struct snapxfer_thread a, b;
	static struct t_pump p;
	memset(&p, 0, sizeof(p));
	cfg.staging_dir = a_dir;
	assert_int_equal(snapxfer_thread_start(&a, &cfg), 0);
	cfg.staging_dir = b_dir;
	static struct t_verify v;
	memset(&v, 0, sizeof(v));
	v.mode = mode;
	cfg.verify = t_verify;
	cfg.verify_arg = &v;
	/* No file system has this much free beside a file. */
	cfg.space_reserve_bytes = mode == T_NO_SPACE ? UINT64_MAX / 4 : 0;
	cfg.stage_write_bytes_per_s = mode == T_PACED ? 8u << 20 : 0;
	__atomic_store_n(&t_staging_fsyncs, 0, __ATOMIC_RELAXED);
	assert_int_equal(snapxfer_thread_start(&b, &cfg), 0);
	p.a = &a;
	p.b = &b;
	p.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(p.fd >= 0);
	for (raft_node_id n = 1; n <= 2; n++) {
		struct dp_wire_config wc = {.cluster_id = 7, .self_id = n,
					    .secret = (const uint8_t *)T_SECRET, .secret_bytes = 32,
					    .udp_port = 7400};
		assert_int_equal(dp_wire_init(&p.wire[n], &wc), 0);
	}
	/* The pump is the producer of frames in and consumer of frames out. */
	struct snapxfer_thread *ts[2] = {&a, &b};
	for (uint32_t i = 0; i < 2; i++) {
		snapxfer_thread_frames_out(ts[i])->on_push = t_pump_wake;
		snapxfer_thread_frames_out(ts[i])->on_push_arg = &p;
		snapxfer_thread_frames_in(ts[i])->on_pop = t_pump_wake;
		snapxfer_thread_frames_in(ts[i])->on_pop_arg = &p;
	}
	pthread_t pump;
	assert_int_equal(pthread_create(&pump, NULL, t_pump_main, &p), 0);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(snapxfer_thread_offer(&a, 2, 5, &id, src, chunk_bytes), 0);
	struct snapxfer_event ev;
	char staged[300];
	snprintf(staged, sizeof(staged), "%s/%s", b_dir, SNAPXFER_STAGING_NAME);
	snprintf(installed, sizeof(installed), "%s/snap-installed", b_dir);
	if (mode == T_OK || mode == T_PACED) {
		t_wait_event(&b, SNAPXFER_EV_STAGED, &ev);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_true(__atomic_load_n(&t_staging_fsyncs, __ATOMIC_RELAXED) >= 1);
		/* The rate: 6 chunks at 8 MiB/s start 125 ms apart at least,
		 * however fast the transfer (a slow one sleeps less). */
		int64_t took_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		assert_true(mode != T_PACED || took_ms >= 600);
		assert_int_equal(ev.id.crc32c, id.crc32c);
		t_wait_event(&a, SNAPXFER_EV_SENT, &ev);
		assert_int_equal(ev.peer, 2);
		assert_int_equal(v.calls, 1); /* before STAGED, on B's thread */
		assert_int_equal(v.crc32c, id.crc32c);
		/* Control's part: the staged file is the source; rename, release. */
		uint8_t *got = t_read_file(staged, T_FILE_BYTES);
		assert_memory_equal(got, bytes, T_FILE_BYTES);
		free(got);
		assert_int_equal(rename(staged, installed), 0);
		assert_int_equal(snapxfer_thread_release(&b), 0);
	} else if (mode == T_REFUSED) {
		t_wait_event(&b, SNAPXFER_EV_REFUSED, &ev);
		assert_int_equal(ev.err, -EINVAL);
		assert_non_null(strstr(ev.why, "refused by the test"));
		t_wait_event(&a, SNAPXFER_EV_SEND_FAILED, &ev);
		assert_int_equal(ev.reason, DP_SNAP_ACK_REFUSE_IO);
		assert_int_equal(v.calls, 1);
		assert_int_equal(v.crc32c, id.crc32c); /* whole: refused for what it says */
	} else {
		t_wait_event(&a, SNAPXFER_EV_SEND_FAILED, &ev);
		assert_int_equal(ev.peer, 2);
		assert_int_equal(ev.reason, DP_SNAP_ACK_REFUSE_NO_SPACE);
		assert_int_equal(v.calls, 0);
		struct stat st;
		assert_true(stat(staged, &st) != 0 || st.st_size == 0); /* not a byte written */
		unlink(staged);
	}

	__atomic_store_n(&p.stop, 1, __ATOMIC_RELEASE);
	t_pump_wake(&p);
	pthread_join(pump, NULL);
	/* The counters are the threads' own: read once they have stopped. */
	snapxfer_thread_stop(&a);
	snapxfer_thread_stop(&b);
	printf("chunk %u: %llu frames pumped, %llu dropped; resent %llu bytes, "
	       "timeouts %llu, sleeps woken A %llu B %llu\n",
	       chunk_bytes, (unsigned long long)p.frames, (unsigned long long)p.dropped,
	       (unsigned long long)a.send.counters.data_bytes_resent,
	       (unsigned long long)a.send.counters.go_backs_timeout,
	       (unsigned long long)a.counters.wakeups, (unsigned long long)b.counters.wakeups);
	assert_int_equal(p.decode_errors, 0);
	assert_int_equal(b.recv.counters.completed, mode == T_NO_SPACE ? 0 : 1);
	assert_int_equal(b.counters.verify_refused, mode == T_REFUSED ? 1 : 0);
	assert_true(mode != T_NO_SPACE || b.counters.space_refusals >= 1);
	assert_int_equal(b.counters.write_errors > 0, mode != T_OK && mode != T_PACED);
	if (mode == T_OK || mode == T_PACED) {
		/* Written back as it came, 1 MiB at a time (the last chunks
		 * left to the fsync). */
		assert_int_equal(b.stage_pace.started_bytes, T_FILE_BYTES);
		assert_true(b.stage_pace.waited_bytes >= T_FILE_BYTES - (2u << 20));
		assert_int_equal(b.stage_pace_err, 0);
	}
	if (mode == T_REFUSED) {
		unlink(staged);
	}
	close(p.fd);
	unlink(src);
	unlink(installed);
	rmdir(src_dir);
	rmdir(a_dir);
	rmdir(b_dir);
	free(bytes);
}

static void test_transfer_jumbo(void **state)
{
	(void)state;
	t_transfer(dp_snap_data_bytes_max(DP_FRAME_BYTES_MAX), T_OK);
}

static void test_transfer_refused_by_verify(void **state)
{
	(void)state;
	t_transfer(dp_snap_data_bytes_max(DP_FRAME_BYTES_MAX), T_REFUSED);
}

static void test_transfer_no_space(void **state)
{
	(void)state;
	t_transfer(dp_snap_data_bytes_max(DP_FRAME_BYTES_MAX), T_NO_SPACE);
}

static void test_transfer_paced(void **state)
{
	(void)state;
	t_transfer(dp_snap_data_bytes_max(DP_FRAME_BYTES_MAX), T_PACED);
}

static void test_transfer_1518(void **state)
{
	(void)state;
	t_transfer(dp_snap_data_bytes_max(1518), T_OK);
}

/* An offer of a file that is not there fails with its errno, at once. */
static void test_offer_missing_file(void **state)
{
	(void)state;
	char dir[256];
	t_tmpdir(dir, sizeof(dir), "missing");
	struct snapxfer_thread_config cfg = {
		.staging_dir = dir,
		.send = {.rto_ns = 5000000, .rto_ns_max = 20000000, .timeouts_max = 3},
		.recv = {.window_bytes = 65536, .staging_bytes_max = 1u << 20},
		.frames_out_slots = 8, .frames_in_slots = 8};
	static struct snapxfer_thread t;
	assert_int_equal(snapxfer_thread_start(&t, &cfg), 0);
	struct dp_snap_id id = {.index = 1, .term = 1, .total_bytes = 10, .crc32c = 0};
	assert_int_equal(snapxfer_thread_offer(&t, 2, 1, &id, "/nonexistent/snap", 1000), 0);
	struct snapxfer_event ev;
	t_wait_event(&t, SNAPXFER_EV_SEND_FAILED, &ev);
	assert_int_equal(ev.err, -ENOENT);
	snapxfer_thread_stop(&t);
	rmdir(dir);
}

static uint64_t t_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Nobody answers and nobody drains frames out: the sender probes on its
 * backing-off deadline until the ring is full, gives up after
 * timeouts_max (SEND_FAILED, unanswered), and the thread then sleeps:
 * over 300 ms of nothing to do it burns (almost) no CPU. */
static void test_unanswered_gives_up_and_sleeps(void **state)
{
	(void)state;
	char dir[256], path[300];
	t_tmpdir(dir, sizeof(dir), "idle");
	snprintf(path, sizeof(path), "%s/snap", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	struct snapxfer_thread_config cfg = {
		.staging_dir = dir,
		.send = {.rto_ns = 1000000, .rto_ns_max = 4000000, .timeouts_max = 12},
		.recv = {.window_bytes = 65536, .staging_bytes_max = 1u << 20},
		.frames_out_slots = 8, .frames_in_slots = 8};
	static struct snapxfer_thread t;
	assert_int_equal(snapxfer_thread_start(&t, &cfg), 0);
	struct dp_snap_id id = {.index = 1, .term = 1, .total_bytes = 10,
				.crc32c = store_crc32c(0, "0123456789", 10)};
	assert_int_equal(snapxfer_thread_offer(&t, 2, 1, &id, path, 1000), 0);
	struct snapxfer_event ev;
	t_wait_event(&t, SNAPXFER_EV_SEND_FAILED, &ev);
	assert_int_equal(ev.reason, SNAPXFER_FAIL_UNANSWERED);
	assert_int_equal(snapxfer_ring_count(snapxfer_thread_frames_out(&t)), 8); /* probes */
	uint64_t cpu0 = t_cpu_ns();
	struct timespec ts = {0, 300000000};
	nanosleep(&ts, NULL);
	uint64_t cpu_ns = t_cpu_ns() - cpu0;
	printf("idle 300 ms: %llu us of CPU\n", (unsigned long long)(cpu_ns / 1000));
	assert_true(cpu_ns < 30000000); /* a spinning thread would take ~300 ms */
	snapxfer_thread_stop(&t);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transfer_jumbo),
		cmocka_unit_test(test_transfer_1518),
		cmocka_unit_test(test_transfer_paced),
		cmocka_unit_test(test_transfer_refused_by_verify),
		cmocka_unit_test(test_transfer_no_space),
		cmocka_unit_test(test_offer_missing_file),
		cmocka_unit_test(test_unanswered_gives_up_and_sleeps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
