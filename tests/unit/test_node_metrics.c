/* SPDX-License-Identifier: MIT */
/*
 * Goal: the node's Prometheus text (node/metrics_text.c) is valid
 * exposition format 0.0.4 and says what the figures are; the histograms'
 * buckets are cumulative with _count equal to +Inf; /health answers 200
 * only with a leader, no alarm, no drain and fresh figures; the HTTP
 * request parser (node/metrics_http.c) takes a GET of /metrics or /health
 * and refuses hostile input: no CRLF (bare LF), NUL bytes, an oversized
 * head, a bad method, a bad request line or header, without waiting.
 * Method: a view with known figures is written and read back line by line
 * with a strict little parser (every sample's name was declared by a
 * `# TYPE` just before; names and labels well formed; values numbers);
 * the parser is fed whole, partial and hostile heads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':')) {
		return false;
	}
	for (size_t i = 1; i < n; i++) {
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':')) {
			return false;
		}
	}
	return true;
}

/* Checks the text line by line; returns the number of samples. */
static unsigned check_exposition(const char *text)
{
	char family[128] = "", type[16] = "";
	unsigned samples = 0;
	const char *line = text;
	while (*line != '\0') {
		const char *nl = strchr(line, '\n');
		assert_non_null(nl); /* every line ends in LF */
		size_t n = (size_t)(nl - line);
		if (strncmp(line, "# HELP ", 7) == 0) {
			const char *sp = memchr(line + 7, ' ', n - 7);
			assert_non_null(sp);
			assert_true(name_ok(line + 7, (size_t)(sp - line - 7)));
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			char name[128], t[16];
			assert_int_equal(sscanf(line + 7, "%127s %15s", name, t), 2);
			assert_true(strcmp(t, "counter") == 0 || strcmp(t, "gauge") == 0 ||
				    strcmp(t, "histogram") == 0);
			if (strcmp(t, "counter") == 0) {
				assert_non_null(strstr(name, "_total")); /* counters end in _total */
			}
			snprintf(family, sizeof(family), "%s", name);
			snprintf(type, sizeof(type), "%s", t);
		} else {
			size_t k = 0;
			while (k < n && line[k] != '{' && line[k] != ' ') {
				k++;
			}
			assert_true(name_ok(line, k));
			size_t fl = strlen(family);
			assert_true(fl > 0 && k >= fl && strncmp(line, family, fl) == 0);
			const char *suffix = line + fl;
			size_t sl = k - fl;
			if (strcmp(type, "histogram") == 0) {
				assert_true((sl == 7 && strncmp(suffix, "_bucket", 7) == 0) ||
					    (sl == 4 && strncmp(suffix, "_sum", 4) == 0) ||
					    (sl == 6 && strncmp(suffix, "_count", 6) == 0));
			} else {
				assert_int_equal(sl, 0);
			}
			const char *v = line + k;
			if (*v == '{') {
				const char *close = memchr(v, '}', (size_t)(nl - v));
				assert_non_null(close);
				v = close + 1;
			}
			assert_true(*v == ' ');
			char *end;
			(void)strtod(v + 1, &end);
			assert_ptr_equal(end, nl); /* one number, nothing after it */
			samples++;
		}
		line = nl + 1;
	}
	return samples;
}

/* The value of the sample whose line starts with prefix (then a space). */
static double sample(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = text; (p = strstr(p, prefix)) != NULL; p++) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ') {
			return strtod(p + n + 1, NULL);
		}
	}
	fail_msg("no sample %s", prefix);
	return 0;
}

static void test_exposition(void **state)
{
	(void)state;
	static struct node_metrics_view v;
	static char out[NODE_METRICS_BODY_BYTES];
	memset(&v, 0, sizeof(v));
	v.f = (struct node_metrics_figures){.self = 1, .leader = 1, .is_leader = true, .term = 7,
					    .commit_index = 1234, .applied_index = 1200,
					    .leader_changes = 3};
	struct node_hist h = {0};
	node_hist_observe(&h, 5000);	     /* <= 10 us */
	node_hist_observe(&h, 15000);	     /* <= 20 us */
	node_hist_observe(&h, 100000000000); /* 100 s: +Inf only */
	v.wal_sync = h;
	v.peers_count = 2;
	v.peers[0].id = 2;
	v.peers[0].sent_bytes = 999;
	v.peers[1].id = 3;
	v.peers[1].rtt = h;
	int n = node_metrics_text(&v, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(strlen(out), (size_t)n);
	assert_true(check_exposition(out) > 50);
	assert_true(sample(out, "raftnode_server_proposals_committed_total") == 1234);
	assert_true(sample(out, "raftnode_server_leader_changes_seen_total") == 3);
	assert_true(sample(out, "raftnode_server_is_leader") == 1);
	assert_true(sample(out, "raftnode_network_peer_sent_bytes_total{To=\"2\"}") == 999);
	const char *f = "raftnode_disk_wal_fsync_duration_seconds";
	char name[160];
	snprintf(name, sizeof(name), "%s_bucket{le=\"1e-05\"}", f);
	assert_true(sample(out, name) == 1);
	snprintf(name, sizeof(name), "%s_bucket{le=\"2e-05\"}", f);
	assert_true(sample(out, name) == 2); /* cumulative */
	snprintf(name, sizeof(name), "%s_bucket{le=\"5.24288\"}", f);
	assert_true(sample(out, name) == 2);
	snprintf(name, sizeof(name), "%s_bucket{le=\"+Inf\"}", f);
	assert_true(sample(out, name) == 3);
	snprintf(name, sizeof(name), "%s_count", f);
	assert_true(sample(out, name) == 3);
	snprintf(name, sizeof(name), "%s_sum", f);
	assert_true(sample(out, name) > 100.0);
	assert_true(sample(out, "raftnode_network_peer_round_trip_time_seconds_count{To=\"3\"}") == 3);
	/* Too small a buffer: -1, never a cut text. */
	assert_int_equal(node_metrics_text(&v, out, 100), -1);
}

static void test_hist_buckets(void **state)
{
	(void)state;
	assert_int_equal(node_hist_bucket(0), 0);
	assert_int_equal(node_hist_bucket(10000), 0);
	assert_int_equal(node_hist_bucket(10001), 1);
	assert_int_equal(node_hist_bucket(20000), 1);
	assert_int_equal(node_hist_bucket(40000), 2);
	assert_int_equal(node_hist_bucket(40001), 3);
	assert_int_equal(node_hist_bucket(10000ull << 19), 19);
	assert_int_equal(node_hist_bucket((10000ull << 19) + 1), NODE_HIST_BOUNDS);
	assert_int_equal(node_hist_bucket(UINT64_MAX / 2), NODE_HIST_BOUNDS);
}

static void test_health(void **state)
{
	(void)state;
	char why[160];
	uint64_t now = 10000000000ull;
	struct node_metrics_figures f = {.refreshed_ns = now - 1000, .self = 2, .leader = 1};
	assert_int_equal(node_metrics_health(&f, false, now, why, sizeof(why)), 200);
	assert_string_equal(why, "ok\n");
	assert_int_equal(node_metrics_health(&f, true, now, why, sizeof(why)), 503);
	assert_non_null(strstr(why, "draining"));
	f.alarm_no_space = true;
	assert_int_equal(node_metrics_health(&f, false, now, why, sizeof(why)), 503);
	assert_non_null(strstr(why, "no_space"));
	f.alarm_no_space = false;
	f.leader = 0;
	assert_int_equal(node_metrics_health(&f, false, now, why, sizeof(why)), 503);
	assert_non_null(strstr(why, "no leader"));
	f.leader = 1;
	f.refreshed_ns = now - NODE_METRICS_STALE_NS - 1;
	assert_int_equal(node_metrics_health(&f, false, now, why, sizeof(why)), 503);
	assert_non_null(strstr(why, "stale"));
	f.refreshed_ns = 0;
	assert_int_equal(node_metrics_health(&f, false, now, why, sizeof(why)), 503);
}

static int parse(const char *s, enum node_http_target *t)
{
	return node_http_parse(s, strlen(s), t);
}

static void test_http_parse(void **state)
{
	(void)state;
	enum node_http_target t = 0;
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", &t), 1);
	assert_int_equal(t, NODE_HTTP_METRICS);
	assert_int_equal(parse("GET /health HTTP/1.0\r\n\r\n", &t), 1);
	assert_int_equal(t, NODE_HTTP_HEALTH);
	assert_int_equal(parse("GET /metrics?x=1 HTTP/1.1\r\n\r\n", &t), 1);
	assert_int_equal(t, NODE_HTTP_METRICS);
	assert_int_equal(parse("GET /other HTTP/1.1\r\n\r\n", &t), 1);
	assert_int_equal(t, NODE_HTTP_OTHER);
	assert_int_equal(parse("GET /metricsX HTTP/1.1\r\n\r\n", &t), 1);
	assert_int_equal(t, NODE_HTTP_OTHER);
	/* Incomplete: read more. */
	assert_int_equal(parse("", &t), 0);
	assert_int_equal(parse("GET /metr", &t), 0);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\n", &t), 0);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", &t), 0);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r", &t), 0);
	/* Hostile: no CRLF, NUL, bad method, bad lines. */
	assert_int_equal(parse("GET /metrics HTTP/1.1\n\n", &t), -400);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\n", &t), -400);
	assert_int_equal(parse("\n", &t), -400);
	assert_int_equal(node_http_parse("GET /\0metrics HTTP/1.1\r\n\r\n", 27, &t), -400);
	assert_int_equal(parse("POST /metrics HTTP/1.1\r\n\r\n", &t), -405);
	assert_int_equal(parse("DELETE /health HTTP/1.1\r\n\r\n", &t), -405);
	assert_int_equal(parse("G(T /metrics HTTP/1.1\r\n\r\n", &t), -400);
	assert_int_equal(parse(" GET /metrics HTTP/1.1\r\n\r\n", &t), -400);
	assert_int_equal(parse("GET  /metrics HTTP/1.1\r\n\r\n", &t), -400);
	assert_int_equal(parse("GET metrics HTTP/1.1\r\n\r\n", &t), -400);
	assert_int_equal(parse("GET /metrics HTTP/2.0\r\n\r\n", &t), -400);
	assert_int_equal(parse("GET /metrics\r\n\r\n", &t), -400);
	assert_int_equal(parse("GET /me\x01trics HTTP/1.1\r\n\r\n", &t), -400);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n", &t), -400);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n", &t), -400);
	assert_int_equal(parse("\r\n\r\n", &t), -400);
	/* Oversized: a head that never ends within the bound. */
	static char big[NODE_HTTP_REQUEST_BYTES_MAX + 64];
	size_t used = (size_t)snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\nX-Pad: ");
	memset(big + used, 'a', sizeof(big) - used);
	assert_int_equal(node_http_parse(big, NODE_HTTP_REQUEST_BYTES_MAX - 1, &t), 0);
	assert_int_equal(node_http_parse(big, NODE_HTTP_REQUEST_BYTES_MAX, &t), -400);
	/* A request line alone longer than the bound, no CRLF at all. */
	memset(big, 'G', sizeof(big));
	assert_int_equal(node_http_parse(big, NODE_HTTP_REQUEST_BYTES_MAX, &t), -400);
}

static void test_parse_addr(void **state)
{
	(void)state;
	uint32_t ip;
	uint16_t port;
	assert_int_equal(node_metrics_parse_addr("127.0.0.1:9100", &ip, &port), 0);
	assert_int_equal(port, 9100);
	assert_int_equal(node_metrics_parse_addr("0.0.0.0:1", &ip, &port), 0);
	assert_int_equal(node_metrics_parse_addr("127.0.0.1", &ip, &port), -EINVAL);
	assert_int_equal(node_metrics_parse_addr("127.0.0.1:", &ip, &port), -EINVAL);
	assert_int_equal(node_metrics_parse_addr("127.0.0.1:0", &ip, &port), -EINVAL);
	assert_int_equal(node_metrics_parse_addr("127.0.0.1:65536", &ip, &port), -EINVAL);
	assert_int_equal(node_metrics_parse_addr("127.0.0.1:91x", &ip, &port), -EINVAL);
	assert_int_equal(node_metrics_parse_addr("localhost:9100", &ip, &port), -EINVAL);
	assert_int_equal(node_metrics_parse_addr(":9100", &ip, &port), -EINVAL);
	assert_int_equal(node_metrics_parse_addr("1.2.3.4.5.6.7.8.9.10.11:9100", &ip, &port),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exposition), cmocka_unit_test(test_hist_buckets),
		cmocka_unit_test(test_health),	   cmocka_unit_test(test_http_parse),
		cmocka_unit_test(test_parse_addr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
