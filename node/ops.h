/* SPDX-License-Identifier: MIT */
/*
 * ops.h - the operator's side of a node, started by main beside the
 * lcores: the Prometheus endpoint (metrics_http.c: a thread of its own on
 * a kernel TCP socket), its text (metrics_text.c), the systemd readiness
 * datagram and the drain on SIGTERM (ops.c). stage: main (start and stop;
 * the endpoint's functions run on the metrics thread).
 */
#ifndef RN_NODE_OPS_H
#define RN_NODE_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

struct node_daemon;

/* ---- ops.c ---- */
/* Wires o into the started daemon (control's drain and figures, the log
 * stage's sync histogram) and opens the endpoint at metrics_addr (the
 * command line's, else [node] metrics_addr; NULL or "": none). 0, or
 * -EINVAL (a bad address: exit 2) / -errno (cannot bind) with errmsg. */
int node_ops_start(struct node_ops *o, struct node_daemon *d, const char *metrics_addr,
		   char *errmsg, size_t errmsg_bytes);
/* The endpoint's thread stopped and its socket closed (after the lcores). */
void node_ops_stop(struct node_ops *o);
/* systemd's sd_notify: state ("READY=1") to $NOTIFY_SOCKET, when set
 * (read at start). Async-signal-safe (socket, sendto, close). */
void node_ops_notify(const char *state);

/* ---- metrics_text.c: one scrape's text ---- */
struct node_metrics_view {
	struct node_metrics_figures f;
	struct node_hist wal_sync, snap_save;
	uint32_t peers_count;
	struct node_metrics_peer peers[RAFT_NODES_MAX];
	uint64_t scrapes, bad_requests;
};
/* Copies what control published (under the lock) and the histograms and
 * peers the lcores write (relaxed loads). */
void node_metrics_view_read(struct node_ops *o, struct node_metrics_view *v);
/* The Prometheus text exposition (format 0.0.4) of v into out: its bytes,
 * or -1 when out is too small. */
int node_metrics_text(const struct node_metrics_view *v, char *out, size_t out_bytes);
/* /health: 200 when the node has a leader, no alarm, is not draining and
 * control published within NODE_METRICS_STALE_NS; else 503 and why. */
int node_metrics_health(const struct node_metrics_figures *f, bool draining, uint64_t now_ns,
			char *why, size_t why_bytes);

/* ---- metrics_http.c: the endpoint ---- */
#define NODE_HTTP_REQUEST_BYTES_MAX 4096u /* request line and headers */
#define NODE_HTTP_READ_TIMEOUT_MS 2000u	  /* a whole request, then the answer */
enum node_http_target { NODE_HTTP_METRICS = 1, NODE_HTTP_HEALTH = 2, NODE_HTTP_OTHER = 3 };
/* Parses buf[0, bytes) as an HTTP/1.x request head. 0: incomplete (read
 * more); 1: a GET, *target set; or the negative status to answer: -400
 * (malformed: bare LF, NUL, no CRLF within NODE_HTTP_REQUEST_BYTES_MAX, a
 * bad request line or header), -405 (a method other than GET). */
int node_http_parse(const char *buf, size_t bytes, enum node_http_target *target);
/* "IP:PORT" (IPv4) into *ip_be, *port. 0 or -EINVAL. */
int node_metrics_parse_addr(const char *text, uint32_t *ip_be, uint16_t *port);
/* Binds, listens and starts the thread. 0 or -errno with errmsg. */
int node_metrics_start(struct node_ops *o, const char *addr, char *errmsg, size_t errmsg_bytes);
void node_metrics_stop(struct node_ops *o);

#endif /* RN_NODE_OPS_H */
