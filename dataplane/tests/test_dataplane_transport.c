/* SPDX-License-Identifier: MIT */
/*
 * test_dataplane_transport.c - the kernel UDP transport carries every
 * consensus message between two nodes and drops forged ones.
 *
 * Method: nodes 1 and 2 open UDP transports on loopback (127.0.0.1, two
 * ports picked from the pid). Node 1 sends every message type (an
 * AppendEntries with payloads among them) to node 2, which polls until all
 * have arrived and compares them. A third sender with node 1's id and
 * address book but another secret sends the same; node 2 must accept none
 * and count each as bad_tag. A message to a node outside the peer table is
 * refused and counted. Replays: node 1 sends to a forwarding tap (a plain
 * socket) that keeps each datagram and passes it to node 2, whose
 * transport has replay windows; the same datagrams again are dropped and
 * counted (replayed), and after node 1 restarts with a newer boot epoch
 * its old datagrams are too old while its new ones (msg_seq from 1 again)
 * get through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "dataplane.h"
#include "wire_util.h"

#define LOOPBACK 0x7f000001u

struct inbox {
	uint32_t count;
	uint8_t types[64];
	uint32_t append_entries;
	int append_payload_ok;
};

static void on_rx(void *user, const struct dp_rx_frame *msg)
{
	struct inbox *in = user;
	if (in->count < sizeof(in->types)) {
		in->types[in->count] = msg->type;
	}
	in->count++;
	if (msg->type == RAFT_MSG_APPEND) {
		in->append_entries = msg->raft.append.entries_count;
		in->append_payload_ok = 1;
		for (uint32_t i = 0; i < msg->raft.append.entries_count; i++) {
			const uint8_t *p = (const uint8_t *)(uintptr_t)msg->raft.append.entries[i].payload;
			for (uint32_t b = 0; b < msg->raft.append.entries[i].payload_bytes; b++) {
				if (p[b] != (uint8_t)(i * 31u + b * 7u + 1u)) {
					in->append_payload_ok = 0;
				}
			}
		}
	}
}

static uint16_t base_port(void)
{
	return (uint16_t)(20000 + (getpid() % 20000));
}

static void open_node(struct dp_transport *t, raft_node_id self, uint16_t port,
		      const uint8_t *secret, const struct dp_peer *peers, uint32_t peers_count)
{
	struct dp_transport_config cfg = {
		.wire = {.cluster_id = T_CLUSTER_ID, .self_id = self, .secret = secret,
			 .secret_bytes = 32, .udp_port = port},
		.self_ip = LOOPBACK, .peers = peers, .peers_count = peers_count,
	};
	assert_int_equal(dp_transport_open_udp(t, &cfg), 0);
	assert_int_equal(t->kind, DP_TRANSPORT_UDP);
}

static uint32_t poll_until(struct dp_transport *t, struct inbox *in, uint32_t want)
{
	struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
	for (int i = 0; i < 2000 && in->count < want; i++) {
		if (dp_transport_poll(t, on_rx, in) == 0) {
			nanosleep(&ms, NULL);
		}
	}
	return in->count;
}

static void test_udp_transport(void **state)
{
	(void)state;
	static struct dp_transport n1, n2, forger;
	uint16_t p1 = base_port(), p2 = (uint16_t)(p1 + 1), p3 = (uint16_t)(p1 + 2);
	const struct dp_peer peers[] = {
		{.id = 1, .ip = LOOPBACK, .port = p1},
		{.id = 2, .ip = LOOPBACK, .port = p2},
	};
	open_node(&n1, 1, p1, t_secret, peers, 2);
	open_node(&n2, 2, p2, t_secret, peers, 2);
	open_node(&forger, 1, p3, t_other_secret, peers, 2);

	static struct raft_entry entries[8];
	static const uint8_t *payloads[8];
	struct raft_message m;
	for (uint8_t type = RAFT_MSG_APPEND; type <= RAFT_MSG_READ_INDEX_RESP; type++) {
		t_raft_msg(type, 5, 300, &m, entries, payloads);
		assert_int_equal(dp_transport_send(&n1, &m, payloads), 0);
	}
	struct inbox in = {0};
	assert_int_equal(poll_until(&n2, &in, 11), 11);
	for (uint8_t i = 0; i < 11; i++) {
		assert_int_equal(in.types[i], RAFT_MSG_APPEND + i); /* loopback keeps order */
	}
	assert_int_equal(in.append_entries, 5);
	assert_true(in.append_payload_ok);
	assert_int_equal(n1.counters.sent, 11);
	assert_int_equal(n2.counters.received, 11);

	/* Forged: same id, other secret. Nothing gets through. */
	for (uint8_t type = RAFT_MSG_APPEND; type <= RAFT_MSG_READ_INDEX_RESP; type++) {
		t_raft_msg(type, 2, 16, &m, entries, payloads);
		assert_int_equal(dp_transport_send(&forger, &m, payloads), 0);
	}
	struct inbox none = {0};
	struct timespec settle = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000};
	nanosleep(&settle, NULL);
	while (dp_transport_poll(&n2, on_rx, &none) > 0) {
	}
	assert_int_equal(none.count, 0);
	assert_int_equal(dp_wire_dropped(&n2.wire.counters, DP_ERR_BAD_TAG), 11);

	/* No route to node 9. */
	t_raft_msg(RAFT_MSG_HEARTBEAT, 0, 0, &m, entries, payloads);
	m.to = 9;
	assert_int_equal(dp_transport_send(&n1, &m, payloads), -DP_ERR_INVALID);
	assert_int_equal(n1.counters.no_route, 1);
	dp_transport_close(&n1);
	dp_transport_close(&n2);
	dp_transport_close(&forger);
}

/* A plain UDP socket on 127.0.0.1:port. */
static int tap_open(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(LOOPBACK)};
	assert_int_equal(bind(fd, (const struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Waits for one datagram on the tap into buf: its bytes. */
static size_t tap_take(int fd, uint8_t *buf, size_t buf_bytes)
{
	for (int i = 0; i < 2000; i++) {
		ssize_t n = recv(fd, buf, buf_bytes, MSG_DONTWAIT);
		if (n > 0) {
			return (size_t)n;
		}
		struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
		nanosleep(&ms, NULL);
	}
	fail_msg("nothing reached the tap");
	return 0;
}

static void tap_send(int fd, uint16_t to_port, const uint8_t *buf, size_t bytes)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(to_port),
				.sin_addr.s_addr = htonl(LOOPBACK)};
	assert_int_equal(sendto(fd, buf, bytes, 0, (const struct sockaddr *)&a, sizeof(a)),
			 (ssize_t)bytes);
}

/* Drains n2 after a settle; the messages handed over. */
static uint32_t drain(struct dp_transport *n2)
{
	struct inbox in = {0};
	struct timespec settle = {.tv_sec = 0, .tv_nsec = 30 * 1000 * 1000};
	nanosleep(&settle, NULL);
	while (dp_transport_poll(n2, on_rx, &in) > 0) {
	}
	return in.count;
}

/* Until a datagram waits in t's socket (poll() does not take it): an
 * event, not a sleep, so a loaded machine only makes it slower. */
static void wait_readable(const struct dp_transport *t)
{
	struct pollfd pfd = {.fd = t->fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 10000), 1);
}

/* Event policy: a socket read dry is not read again until it fires, or
 * for at most a few receives (an lcore that stays busy never sleeps). */
static void test_udp_dry_skip(void **state)
{
	(void)state;
	static struct dp_transport n1, n2;
	uint16_t p1 = (uint16_t)(base_port() + 5), p2 = (uint16_t)(p1 + 1);
	const struct dp_peer peers[] = {
		{.id = 1, .ip = LOOPBACK, .port = p1},
		{.id = 2, .ip = LOOPBACK, .port = p2},
	};
	open_node(&n1, 1, p1, t_secret, peers, 2);
	open_node(&n2, 2, p2, t_secret, peers, 2);
	static struct raft_entry entries[8];
	static const uint8_t *payloads[8];
	struct raft_message m;
	struct inbox in = {0};

	/* Not event-driven (busy, adaptive): every poll reads. */
	assert_int_equal(dp_transport_poll(&n2, on_rx, &in), 0);
	assert_int_equal(dp_transport_poll(&n2, on_rx, &in), 0);
	assert_int_equal(n2.counters.rx_reads_skipped, 0);

	dp_transport_woken(&n2, false); /* as after an lcore's first sleep */
	assert_int_equal(dp_transport_poll(&n2, on_rx, &in), 0); /* reads dry */
	t_raft_msg(RAFT_MSG_APPEND_RESP, 0, 0, &m, entries, payloads);
	assert_int_equal(dp_transport_send(&n1, &m, payloads), 0);
	wait_readable(&n2);
	/* Dry and not fired: skipped, the datagram waits in the socket. */
	assert_int_equal(dp_transport_poll(&n2, on_rx, &in), 0);
	assert_int_equal(n2.counters.rx_reads_skipped, 1);
	assert_int_equal(in.count, 0);
	/* The lcore's sleep ends on the socket: read at once. */
	dp_transport_woken(&n2, true);
	assert_int_equal(dp_transport_poll(&n2, on_rx, &in), 1);
	assert_int_equal(in.count, 1);
	assert_int_equal(n2.counters.rx_reads_skipped, 1);

	/* Bounded: with no sleep in between, a datagram that came after a
	 * dry read is read within DP_UDP_DRY_SKIP_ROUNDS + 1 polls. */
	assert_int_equal(dp_transport_poll(&n2, on_rx, &in), 0); /* dry */
	assert_int_equal(dp_transport_send(&n1, &m, payloads), 0);
	wait_readable(&n2);
	uint32_t polls = 0;
	while (in.count < 2 && polls < 16) {
		(void)dp_transport_poll(&n2, on_rx, &in);
		polls++;
	}
	assert_int_equal(in.count, 2);
	assert_true(polls >= 2 && polls <= 5);
	dp_transport_close(&n1);
	dp_transport_close(&n2);
}

static void test_udp_replay_refused(void **state)
{
	(void)state;
	enum { SENT = 5 };
	static struct dp_transport n1, n2;
	static uint8_t captured[SENT][DP_FRAME_BYTES_MAX];
	size_t captured_bytes[SENT];
	uint16_t p1 = (uint16_t)(base_port() + 10), p2 = (uint16_t)(p1 + 1), ptap = (uint16_t)(p1 + 2);
	/* Node 1 believes node 2 is at the tap, and node 2 node 1 (a frame
	 * moves its sender's window only from the sender's address: the tap
	 * forwards from its own). */
	const struct dp_peer peers1[] = {{.id = 2, .ip = LOOPBACK, .port = ptap}};
	const struct dp_peer peers2[] = {{.id = 1, .ip = LOOPBACK, .port = ptap}};
	int tap = tap_open(ptap);
	open_node(&n1, 1, p1, t_secret, peers1, 1);
	open_node(&n2, 2, p2, t_secret, peers2, 1);
	struct dp_replay windows;
	assert_int_equal(dp_replay_init(&windows, 8), 0);
	dp_transport_set_replay(&n2, &windows);
	n1.wire.boot_epoch = 1000;

	static struct raft_entry entries[8];
	static const uint8_t *payloads[8];
	struct raft_message m;
	for (uint32_t i = 0; i < SENT; i++) {
		t_raft_msg(i % 2 ? RAFT_MSG_HEARTBEAT : RAFT_MSG_APPEND, 2, 40, &m, entries, payloads);
		assert_int_equal(dp_transport_send(&n1, &m, payloads), 0);
		captured_bytes[i] = tap_take(tap, captured[i], sizeof(captured[i]));
	}
	/* Forwarded once, out of order (4 first): all get through. */
	tap_send(tap, p2, captured[4], captured_bytes[4]);
	for (uint32_t i = 0; i < 4; i++) {
		tap_send(tap, p2, captured[i], captured_bytes[i]);
	}
	assert_int_equal(drain(&n2), SENT);
	/* The same bytes again: every one authenticates, none is handed on. */
	for (uint32_t i = 0; i < SENT; i++) {
		tap_send(tap, p2, captured[i], captured_bytes[i]);
	}
	assert_int_equal(drain(&n2), 0);
	assert_int_equal(windows.counters.replayed, SENT);
	assert_int_equal(n2.wire.counters.frames_accepted, 2 * SENT);

	/* Node 1 restarts: a newer epoch, msg_seq from 1 again. */
	dp_transport_close(&n1);
	open_node(&n1, 1, p1, t_secret, peers1, 1);
	n1.wire.boot_epoch = 1001;
	t_raft_msg(RAFT_MSG_HEARTBEAT, 0, 0, &m, entries, payloads);
	assert_int_equal(dp_transport_send(&n1, &m, payloads), 0);
	uint8_t fresh[DP_FRAME_BYTES_MAX];
	size_t fresh_bytes = tap_take(tap, fresh, sizeof(fresh));
	tap_send(tap, p2, fresh, fresh_bytes);
	assert_int_equal(drain(&n2), 1);
	assert_int_equal(windows.counters.epochs_new, 1);
	/* Its previous life's frames are too old now, whatever their seq. */
	for (uint32_t i = 0; i < SENT; i++) {
		tap_send(tap, p2, captured[i], captured_bytes[i]);
	}
	assert_int_equal(drain(&n2), 0);
	assert_int_equal(windows.counters.too_old, SENT);
	assert_int_equal(windows.counters.old_epoch, SENT);
	assert_int_equal(windows.counters.accepted, SENT + 1);
	dp_transport_close(&n1);
	dp_transport_close(&n2);
	dp_replay_fini(&windows);
	close(tap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_transport),
		cmocka_unit_test(test_udp_replay_refused),
		cmocka_unit_test(test_udp_dry_skip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
