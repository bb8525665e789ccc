/* SPDX-License-Identifier: MIT */
/*
 * metrics_http.c - the node's Prometheus endpoint: HTTP/1.1 on a kernel
 * TCP socket, served by a thread of its own. stage: main (the metrics
 * thread main starts: a DPDK control thread, so it runs on the CPUs DPDK
 * leaves to control threads, never as an lcore).
 *
 * GET /metrics: the exposition (metrics_text.c); GET /health: 200 "ok" or
 * 503 and why (a load balancer's probe); any other path 404; a method
 * other than GET 405; a malformed request 400. One connection at a time,
 * answered and closed (Connection: close): a scrape every few seconds
 * needs no more. A slow or hostile client cannot hold it: the request head
 * is at most NODE_HTTP_REQUEST_BYTES_MAX bytes and must arrive within
 * NODE_HTTP_READ_TIMEOUT_MS, and the answer's send times out the same way.
 * The body buffer is allocated at start; a scrape allocates nothing.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_lcore.h>

#include "clock.h"
#include "common.h"
#include "ops.h"

static const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/* Sends all of buf within the socket's send timeout; false if not. */
static bool http_send_all(int fd, const char *buf, size_t bytes)
{
	size_t done = 0;
	while (done < bytes) {
		ssize_t n = send(fd, buf + done, bytes - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return false;
		}
		done += (size_t)n;
	}
	return true;
}

static void http_answer(int fd, int status, const char *type, const char *body, size_t bytes)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
			 http_reason(status), type, bytes, status == 405 ? "Allow: GET\r\n" : "");
	RN_ASSERT(n > 0 && (size_t)n < sizeof(head));
	if (http_send_all(fd, head, (size_t)n)) {
		(void)http_send_all(fd, body, bytes);
	}
}

/* Reads one request head within the timeout: 1 (a GET, *target), or the
 * negative status, or 0 (the client went away or timed out: no answer). */
static int http_read(int fd, char *buf, enum node_http_target *target)
{
	size_t used = 0;
	uint64_t deadline_ns = node_now_ns() + (uint64_t)NODE_HTTP_READ_TIMEOUT_MS * 1000000ull;
	for (;;) {
		int rc = node_http_parse(buf, used, target);
		if (rc != 0) {
			return rc;
		}
		uint64_t now_ns = node_now_ns();
		if (now_ns >= deadline_ns) {
			return 0;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int left_ms = (int)((deadline_ns - now_ns) / 1000000ull) + 1;
		if (poll(&p, 1, left_ms) <= 0) {
			continue; /* the deadline decides */
		}
		ssize_t n = recv(fd, buf + used, NODE_HTTP_REQUEST_BYTES_MAX - used, 0);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return 0;
		}
		used += (size_t)n;
	}
}

static void http_serve(struct node_ops *o, int fd)
{
	char req[NODE_HTTP_REQUEST_BYTES_MAX];
	enum node_http_target target = NODE_HTTP_OTHER;
	struct timeval tv = {.tv_sec = NODE_HTTP_READ_TIMEOUT_MS / 1000,
			     .tv_usec = (NODE_HTTP_READ_TIMEOUT_MS % 1000) * 1000};
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int rc = http_read(fd, req, &target);
	static const char *const text = "text/plain; charset=utf-8";
	if (rc <= 0) {
		__atomic_add_fetch(&o->bad_requests, 1, __ATOMIC_RELAXED);
		if (rc < 0) {
			const char *why = rc == -405 ? "only GET is served\n" : "malformed request\n";
			http_answer(fd, -rc, text, why, strlen(why));
		}
		return;
	}
	if (target == NODE_HTTP_METRICS) {
		static struct node_metrics_view v; /* the metrics thread's only: ~5 KiB */
		node_metrics_view_read(o, &v);
		int n = node_metrics_text(&v, o->body, NODE_METRICS_BODY_BYTES);
		if (n < 0) {
			http_answer(fd, 500, text, "exposition too large\n", 21);
		} else {
			http_answer(fd, 200, "text/plain; version=0.0.4; charset=utf-8", o->body,
				    (size_t)n);
		}
	} else if (target == NODE_HTTP_HEALTH) {
		struct node_metrics_figures f;
		pthread_mutex_lock(&o->lock);
		f = o->figures;
		pthread_mutex_unlock(&o->lock);
		char why[160];
		int status = node_metrics_health(&f, o->drain_requested != 0, node_now_ns(), why,
						 sizeof(why));
		http_answer(fd, status, text, why, strlen(why));
	} else {
		__atomic_add_fetch(&o->bad_requests, 1, __ATOMIC_RELAXED);
		static const char nf[] = "not found: GET /metrics or /health\n";
		http_answer(fd, 404, text, nf, sizeof(nf) - 1);
		return;
	}
	__atomic_add_fetch(&o->scrapes, 1, __ATOMIC_RELAXED);
}

static void *http_thread(void *arg)
{
	struct node_ops *o = arg;
	while (!__atomic_load_n(&o->thread_stop, __ATOMIC_RELAXED)) {
		/* Blocking, with a short timeout so that the stop is seen. */
		struct pollfd p = {.fd = o->listen_fd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0) {
			continue;
		}
		int fd = accept4(o->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			continue; /* EAGAIN, ECONNABORTED, EMFILE: the next one */
		}
		http_serve(o, fd);
		close(fd);
	}
	return NULL;
}

int node_metrics_start(struct node_ops *o, const char *addr, char *errmsg, size_t errmsg_bytes)
{
	uint32_t ip_be;
	uint16_t port;
	RN_ASSERT(o->listen_fd < 0);
	if (node_metrics_parse_addr(addr, &ip_be, &port) != 0) {
		snprintf(errmsg, errmsg_bytes, "metrics address '%s' is not IPv4:PORT (e.g. "
			 "127.0.0.1:9101)", addr);
		return -EINVAL;
	}
	o->body = malloc(NODE_METRICS_BODY_BYTES);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr = {.s_addr = ip_be}};
	if (o->body == NULL || fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		int rc = o->body == NULL ? -ENOMEM : -errno;
		snprintf(errmsg, errmsg_bytes, "metrics endpoint %s: %s", addr, strerror(-rc));
		if (fd >= 0) {
			close(fd);
		}
		return rc;
	}
	o->listen_fd = fd;
	snprintf(o->addr_text, sizeof(o->addr_text), "%s", addr);
	/* A DPDK control thread: off the lcores' CPUs where there are others. */
	int rc = rte_ctrl_thread_create(&o->thread, "rn-metrics", NULL, http_thread, o);
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "metrics endpoint %s: no thread: %s", addr,
			 strerror(rc > 0 ? rc : -rc));
		return rc > 0 ? -rc : rc;
	}
	o->thread_started = true;
	return 0;
}

void node_metrics_stop(struct node_ops *o)
{
	if (o->thread_started) {
		__atomic_store_n(&o->thread_stop, 1, __ATOMIC_RELAXED);
		pthread_join(o->thread, NULL);
		o->thread_started = false;
	}
	if (o->listen_fd >= 0) {
		close(o->listen_fd);
		o->listen_fd = -1;
	}
	free(o->body);
	o->body = NULL;
}
