/* SPDX-License-Identifier: MIT */
/*
 * ops.c - the operator's side of a running node, wired by main after the
 * daemon started: the metrics endpoint, systemd's readiness datagram.
 * stage: main.
 *
 * sd_notify is written here rather than linked from libsystemd: it is one
 * datagram on an AF_UNIX socket whose name systemd puts in $NOTIFY_SOCKET
 * ('@' first: an abstract name), and a library with its own dependencies
 * for that is more to install and audit than the twenty lines below.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"
#include "daemon.h"
#include "ops.h"

/* $NOTIFY_SOCKET, read once at start (the signal handler may notify). */
static struct sockaddr_un ops_notify_addr;
static socklen_t ops_notify_addr_bytes;

static void ops_notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t n = path != NULL ? strlen(path) : 0;
	if (n < 2 || n >= sizeof(ops_notify_addr.sun_path) || (path[0] != '/' && path[0] != '@')) {
		ops_notify_addr_bytes = 0; /* not under systemd (or a name we cannot use) */
		return;
	}
	ops_notify_addr.sun_family = AF_UNIX;
	memcpy(ops_notify_addr.sun_path, path, n);
	if (path[0] == '@') {
		ops_notify_addr.sun_path[0] = '\0'; /* abstract: no NUL at the end counts */
	}
	ops_notify_addr_bytes = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
					    (path[0] == '/' ? 1 : 0));
}

void node_ops_notify(const char *state)
{
	if (ops_notify_addr_bytes == 0) {
		return;
	}
	int saved = errno; /* from a signal handler too */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL,
			     (const struct sockaddr *)&ops_notify_addr, ops_notify_addr_bytes);
		close(fd);
	}
	errno = saved;
}

int node_ops_start(struct node_ops *o, struct node_daemon *d, const char *metrics_addr,
		   char *errmsg, size_t errmsg_bytes)
{
	RN_ASSERT(o != NULL);
	RN_ASSERT(d != NULL);
	pthread_mutex_init(&o->lock, NULL);
	o->listen_fd = -1;
	o->wal_sync = &d->logstage.sync_hist;
	ops_notify_init();
	const char *addr = metrics_addr != NULL ? metrics_addr : d->cfg.metrics_addr;
	if (addr[0] != '\0') {
		int rc = node_metrics_start(o, addr, errmsg, errmsg_bytes);
		if (rc != 0) {
			node_metrics_stop(o);
			return rc;
		}
		fprintf(stderr, "raftnode %u: metrics on http://%s/metrics (and /health)\n",
			d->cfg.self, addr);
	}
	d->control.ops = o; /* before any lcore runs: control reads it from then on */
	return 0;
}

void node_ops_stop(struct node_ops *o)
{
	node_metrics_stop(o);
}
