/* SPDX-License-Identifier: MIT */
/*
 * metrics_parse.c - what the metrics endpoint reads from outside: an HTTP
 * request head (from any client that reaches the port) and the metrics
 * address (from the command line or the cluster file). stage: main (the
 * metrics thread, and start-up). Pure: no I/O, no allocation, no DPDK, so
 * that the fuzz target (tests/fuzz/fuzz_http_request.c) compiles it alone.
 * Untrusted bytes are validated, never asserted on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "ops.h"

int node_metrics_parse_addr(const char *text, uint32_t *ip_be, uint16_t *port)
{
	char ip[20];
	const char *colon = strrchr(text, ':');
	if (colon == NULL || colon == text || (size_t)(colon - text) >= sizeof(ip)) {
		return -EINVAL;
	}
	memcpy(ip, text, (size_t)(colon - text));
	ip[colon - text] = '\0';
	char *end;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	struct in_addr a;
	if (errno != 0 || end == colon + 1 || *end != '\0' || p == 0 || p > 65535 ||
	    inet_pton(AF_INET, ip, &a) != 1) {
		return -EINVAL;
	}
	*ip_be = a.s_addr;
	*port = (uint16_t)p;
	return 0;
}

/* A token character of RFC 9110 (methods, header names). */
static bool http_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* The request line "METHOD SP TARGET SP HTTP/1.x" of line[0, bytes). */
static int http_request_line(const char *line, size_t bytes, enum node_http_target *target)
{
	size_t m = 0;
	while (m < bytes && http_tchar(line[m])) {
		m++;
	}
	if (m == 0 || m >= bytes || line[m] != ' ') {
		return -400;
	}
	const char *t = line + m + 1;
	const char *sp = memchr(t, ' ', bytes - m - 1);
	if (sp == NULL || sp == t || *t != '/') {
		return -400;
	}
	size_t t_bytes = (size_t)(sp - t);
	size_t v_bytes = bytes - (size_t)(sp + 1 - line);
	if (v_bytes != 8 || (memcmp(sp + 1, "HTTP/1.1", 8) != 0 && memcmp(sp + 1, "HTTP/1.0", 8) != 0)) {
		return -400;
	}
	for (size_t i = 0; i < t_bytes; i++) {
		if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] >= 0x7f) {
			return -400;
		}
	}
	if (m != 3 || memcmp(line, "GET", 3) != 0) {
		return -405;
	}
	size_t path_bytes = t_bytes;
	const char *q = memchr(t, '?', t_bytes); /* a query is ignored */
	if (q != NULL) {
		path_bytes = (size_t)(q - t);
	}
	*target = path_bytes == 8 && memcmp(t, "/metrics", 8) == 0   ? NODE_HTTP_METRICS
		  : path_bytes == 7 && memcmp(t, "/health", 7) == 0 ? NODE_HTTP_HEALTH
								     : NODE_HTTP_OTHER;
	return 1;
}

int node_http_parse(const char *buf, size_t bytes, enum node_http_target *target)
{
	RN_ASSERT(buf != NULL || bytes == 0);
	RN_ASSERT(target != NULL);
	/* Line by line: each must end in CRLF; a bare LF or a NUL is refused
	 * at once rather than waited on. */
	size_t at = 0;
	int rc = 0;
	bool first = true;
	while (at < bytes) {
		const char *lf = memchr(buf + at, '\n', bytes - at);
		const char *nul = memchr(buf + at, '\0', (lf != NULL ? (size_t)(lf - buf) : bytes) - at);
		if (nul != NULL) {
			return -400;
		}
		if (lf == NULL) {
			break; /* a line not finished yet */
		}
		size_t end = (size_t)(lf - buf);
		if (end == at || buf[end - 1] != '\r') {
			return -400; /* bare LF */
		}
		size_t line_bytes = end - 1 - at;
		if (first) {
			rc = http_request_line(buf + at, line_bytes, target);
			if (rc < 0) {
				return rc;
			}
			first = false;
		} else if (line_bytes == 0) {
			return rc; /* the empty line: the head is whole */
		} else {
			size_t n = 0;
			while (n < line_bytes && http_tchar(buf[at + n])) {
				n++;
			}
			if (n == 0 || n >= line_bytes || buf[at + n] != ':') {
				return -400; /* not "name: value" */
			}
		}
		at = end + 1;
	}
	return bytes >= NODE_HTTP_REQUEST_BYTES_MAX ? -400 : 0;
}
