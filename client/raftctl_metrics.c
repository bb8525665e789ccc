/* SPDX-License-Identifier: MIT */
/*
 * raftctl_metrics.c - `raftctl [--node N] metrics`: the node's Prometheus
 * text, fetched with one HTTP GET from its [node] metrics_addr (the same
 * text a Prometheus server scrapes). Over HTTP rather than the client
 * protocol: the text is tens of KiB, and a client answer is one frame; the
 * endpoint exists anyway. The address must be reachable from where raftctl
 * runs (scripts/cluster.sh: the node's own address with the kernel UDP
 * transport; 127.0.0.1 in the node's namespace otherwise, so `ip netns exec
 * HOST raftctl ... metrics`).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "raftctl.h"

#define METRICS_RESPONSE_BYTES_MAX (4u << 20)

static int metrics_connect(const char *addr, uint32_t timeout_ms, char *errmsg, size_t bytes)
{
	char ip[32];
	const char *colon = strrchr(addr, ':');
	struct sockaddr_in sa = {.sin_family = AF_INET};
	unsigned long port = colon != NULL ? strtoul(colon + 1, NULL, 10) : 0;
	if (colon == NULL || (size_t)(colon - addr) >= sizeof(ip) || port == 0 || port > 65535) {
		snprintf(errmsg, bytes, "metrics_addr '%s' is not IPv4:PORT", addr);
		return -EINVAL;
	}
	memcpy(ip, addr, (size_t)(colon - addr));
	ip[colon - addr] = '\0';
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		snprintf(errmsg, bytes, "metrics_addr '%s' is not IPv4:PORT", addr);
		return -EINVAL;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int rc = -errno;
		snprintf(errmsg, bytes, "cannot reach the metrics endpoint %s: %s", addr,
			 strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return rc;
	}
	return fd;
}

/* GET path from addr; the whole response into *out (malloc'd). Bytes or -errno. */
static long metrics_get(const char *addr, const char *path, uint32_t timeout_ms, char **out,
			char *errmsg, size_t errmsg_bytes)
{
	int fd = metrics_connect(addr, timeout_ms, errmsg, errmsg_bytes);
	if (fd < 0) {
		return fd;
	}
	char req[256];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
			 path, addr);
	char *buf = malloc(METRICS_RESPONSE_BYTES_MAX + 1);
	long used = 0;
	if (buf == NULL || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		snprintf(errmsg, errmsg_bytes, "%s: cannot send the request", addr);
		used = -EIO;
	}
	while (used >= 0 && used < (long)METRICS_RESPONSE_BYTES_MAX) {
		ssize_t r = recv(fd, buf + used, METRICS_RESPONSE_BYTES_MAX - (size_t)used, 0);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			snprintf(errmsg, errmsg_bytes, "%s: %s", addr,
				 errno == EAGAIN ? "no answer in time" : strerror(errno));
			used = -ETIMEDOUT;
		}
		if (r <= 0) {
			break;
		}
		used += r;
	}
	close(fd);
	if (used < 0) {
		free(buf);
		return used;
	}
	buf[used] = '\0';
	*out = buf;
	return used;
}

int raftctl_metrics(const char *config_path, uint32_t node_id, uint32_t timeout_ms)
{
	struct node_config *cfg = raftctl_node_config(config_path, node_id);
	char errmsg[1024];
	if (cfg == NULL) {
		return 2;
	}
	if (cfg->metrics_addr[0] == '\0') {
		fprintf(stderr, "raftctl: node %u has no metrics endpoint: set [node] metrics_addr "
			"(or [node.%u]) in %s\n", node_id, node_id, config_path);
		free(cfg);
		return 2;
	}
	char *resp = NULL;
	long bytes = metrics_get(cfg->metrics_addr, "/metrics", timeout_ms, &resp, errmsg,
				 sizeof(errmsg));
	int code = 1;
	if (bytes < 0) {
		fprintf(stderr, "raftctl: metrics of node %u: %s\n", node_id, errmsg);
	} else {
		const char *body = strstr(resp, "\r\n\r\n");
		int status = 0;
		if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1 || body == NULL) {
			fprintf(stderr, "raftctl: metrics of node %u: not an HTTP answer from %s\n",
				node_id, cfg->metrics_addr);
		} else if (status != 200) {
			fprintf(stderr, "raftctl: metrics of node %u: HTTP %d: %s", node_id, status,
				body + 4);
		} else {
			fputs(body + 4, stdout);
			code = 0;
		}
	}
	free(resp);
	free(cfg);
	return code;
}
