/* SPDX-License-Identifier: MIT */
/*
 * switch_run.c - rn_memif_switch's lcore loop: one stage that polls every
 * port, and the housekeeping it does every 100 ms (link states, rules
 * reload after SIGHUP, the stats file every second).
 *
 * The stage has the house loop shape: rx_burst up to DP_BURST_MAX per port;
 * each frame goes to per-egress-port tx queues (a full queue is sent at
 * once); after each port's burst every queue is sent; a tx that still
 * refuses frames after DP_TX_RETRIES_MAX tries frees them and counts them
 * (dp_port_tx: tx_unsent_freed). Nothing is held between rounds, so an mbuf
 * lives one round and each port's pool stays small.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "common.h"
#include "dataplane.h"
#include "switch.h"
#include "switch_ctx.h"

/* One log line on stdout (cluster.sh sends it to logs/switch.log). */
__attribute__((format(printf, 1, 2))) static void run_log(const char *fmt, ...)
{
	char stamp[16];
	time_t now = time(NULL);
	struct tm tm;
	strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime_r(&now, &tm));
	printf("[%s] ", stamp);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void run_flush(struct switch_port *p)
{
	struct switch_txq *q = &p->txq;
	if (q->count > 0) {
		dp_port_tx(&p->port, q->mbufs, q->count); /* frees and counts the unsent tail */
		q->count = 0;
	}
}

/* Hands m to every port in `out`: one reference each (every segment's, so
 * freeing a chain after a send leaves the others theirs), no copy. */
static void run_forward(struct switch_ctx *s, struct rte_mbuf *m, sw_port_mask out)
{
	int16_t refs = (int16_t)__builtin_popcount(out);
	if (refs == 0) {
		rte_pktmbuf_free(m);
		return;
	}
	if (refs > 1) {
		for (struct rte_mbuf *seg = m; seg != NULL; seg = seg->next) {
			rte_mbuf_refcnt_update(seg, (int16_t)(refs - 1));
		}
	}
	while (out != 0) {
		uint32_t p = (uint32_t)__builtin_ctz(out);
		out &= out - 1;
		struct switch_port *port = &s->ports[p];
		if (port->txq.count == DP_BURST_MAX) {
			run_flush(port);
		}
		port->txq.mbufs[port->txq.count++] = m;
	}
}

static uint32_t run_port(struct switch_ctx *s, uint32_t in)
{
	struct rte_mbuf *rx[DP_BURST_MAX];
	uint16_t n = dp_port_rx(&s->ports[in].port, rx, DP_BURST_MAX);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = rx[i];
		sw_port_mask out = sw_fwd_frame(&s->fwd, in, rte_pktmbuf_mtod(m, const uint8_t *),
						m->data_len);
		run_forward(s, m, out);
	}
	return n;
}

/* ---- housekeeping ------------------------------------------------------------ */

static void run_links(struct switch_ctx *s)
{
	for (uint32_t i = 0; i < s->ports_count; i++) {
		struct switch_port *p = &s->ports[i];
		if ((s->fwd.present & (1u << i)) == 0) {
			continue;
		}
		bool up = dp_port_link_up(&p->port) == 1;
		if (up != ((s->fwd.up >> i) & 1u)) {
			run_log("port %u (%s): link %s", i, p->label, up ? "up" : "down");
		}
		if (up) {
			s->fwd.up |= 1u << i;
		} else {
			s->fwd.up &= ~(1u << i);
		}
	}
}

/* Writes path atomically (tmp + rename) from text. */
static int run_write_file(const char *path, const char *text)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL) {
		return -errno;
	}
	bool ok = fputs(text, f) >= 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		(void)remove(tmp);
		return -EIO;
	}
	return 0;
}

/* Reads the rules file; a missing file is no rules. The old rules stay
 * when the new ones do not parse. */
static void run_reload(struct switch_ctx *s)
{
	char errmsg[200], applied[4200];
	struct sw_rules next;
	size_t bytes = 0;
	FILE *f = fopen(s->o.rules_path, "r");
	if (f != NULL) {
		bytes = fread(s->rules_text, 1, SW_RULES_BYTES_MAX + 1, f);
		fclose(f);
	}
	if (bytes > SW_RULES_BYTES_MAX) {
		s->rules_errors++;
		run_log("rules %s refused (old rules kept): longer than %u bytes",
			s->o.rules_path, SW_RULES_BYTES_MAX);
		return;
	}
	s->rules_text[bytes] = '\0';
	if (sw_rules_parse(s->rules_text, s->ports_count, &next, errmsg, sizeof(errmsg)) != 0) {
		s->rules_errors++;
		run_log("rules %s refused (old rules kept): %s", s->o.rules_path, errmsg);
		return;
	}
	s->fwd.rules = next;
	s->rules_loads++;
	run_log("rules %s: %u rule(s) applied", s->o.rules_path, next.rules_count);
	snprintf(applied, sizeof(applied), "%s.applied", s->o.rules_path);
	if (run_write_file(applied, s->rules_text) != 0) {
		run_log("cannot write %s", applied);
	}
}

static void run_stats(struct switch_ctx *s)
{
	char *text = s->stats_text;
	const size_t text_bytes = sizeof(s->stats_text);
	size_t at = 0;
	const struct sw_counters *c = &s->fwd.counters;
	at += (size_t)snprintf(text + at, text_bytes - at,
			       "macs_learned %u flooded %llu unknown_unicast %llu hairpin %llu "
			       "cut %llu lost %llu link_down %llu runts %llu mac_moves %llu "
			       "table_full %llu rules_loads %llu rules_errors %llu\n",
			       s->fwd.macs.count, (unsigned long long)c->flooded,
			       (unsigned long long)c->unknown_unicast,
			       (unsigned long long)c->hairpin, (unsigned long long)c->cut,
			       (unsigned long long)c->lost, (unsigned long long)c->link_down,
			       (unsigned long long)c->runts, (unsigned long long)c->mac_moves,
			       (unsigned long long)c->table_full, (unsigned long long)s->rules_loads,
			       (unsigned long long)s->rules_errors);
	for (uint32_t i = 0; i < s->ports_count && at < text_bytes; i++) {
		const struct switch_port *p = &s->ports[i];
		if ((s->fwd.present & (1u << i)) == 0) {
			continue;
		}
		const struct dp_port_counters *pc = &p->port.counters;
		at += (size_t)snprintf(text + at, text_bytes - at,
				       "port %u %s link %s rx %llu tx %llu tx_unsent_freed %llu %s\n",
				       i, p->name, (s->fwd.up >> i) & 1u ? "up" : "down",
				       (unsigned long long)pc->rx_frames,
				       (unsigned long long)pc->tx_frames,
				       (unsigned long long)pc->tx_unsent_freed, p->label);
	}
	if (s->o.stats_path != NULL) {
		(void)run_write_file(s->o.stats_path, text);
	}
}

static void run_housekeep(struct switch_ctx *s, uint64_t now, volatile int *reload)
{
	s->housekeep_tsc = now + s->housekeep_every_tsc;
	run_links(s);
	if (*reload && s->o.rules_path != NULL) {
		*reload = 0;
		run_reload(s);
	}
	if (now >= s->stats_tsc) {
		s->stats_tsc = now + s->stats_every_tsc;
		run_stats(s);
	}
}

struct run_stage {
	struct switch_ctx *s;
	volatile int *reload;
};

static uint32_t run_poll(void *arg)
{
	struct run_stage *st = arg;
	struct switch_ctx *s = st->s;
	uint32_t work = 0;
	for (uint32_t p = 0; p < s->ports_count; p++) {
		if ((s->fwd.present & (1u << p)) != 0) {
			work += run_port(s, p);
		}
	}
	/* What this round queued goes out once every port was read: egress
	 * bursts gather frames from every ingress (a full queue went out
	 * already, in run_forward). */
	if (work > 0) {
		for (uint32_t p = 0; p < s->ports_count; p++) {
			run_flush(&s->ports[p]);
		}
	}
	uint64_t now = rte_get_tsc_cycles();
	if (now >= s->housekeep_tsc) {
		run_housekeep(s, now, st->reload);
	}
	return work;
}

int switch_run(struct switch_ctx *s, volatile int *stop, volatile int *reload)
{
	struct dp_lcore *lcore = &s->lcore;
	RN_ASSERT(s != NULL && stop != NULL && reload != NULL);
	uint64_t hz = rte_get_tsc_hz();
	s->housekeep_every_tsc = hz * SWITCH_HOUSEKEEP_MS / 1000u;
	s->stats_every_tsc = hz * SWITCH_STATS_MS / 1000u;
	run_links(s);
	if (s->o.rules_path != NULL) {
		run_reload(s);
	}
	struct run_stage st = {s, reload};
	struct dp_lcore_config lc = {
		.idle_policy = s->o.busy ? DP_IDLE_BUSY : DP_IDLE_ADAPTIVE,
		.spin_rounds_max = 256, .sleep_us_max = s->o.sleep_us_max, .timer_slack_us = 1};
	dp_lcore_init(lcore, &lc);
	int rc = dp_lcore_add_stage(lcore, &(struct dp_stage){.name = "switch", .poll = run_poll, .ctx = &st});
	RN_ASSERT(rc == 0);
	printf("ready: %u port(s), idle %s\n", s->ports_count, s->o.busy ? "busy" : "adaptive");
	fflush(stdout);
	dp_lcore_run(lcore, stop);
	run_stats(s);
	printf("stopped: %llu rounds, %llu frames in\n", (unsigned long long)lcore->stats.rounds,
	       (unsigned long long)lcore->stats.work_items);
	return 0;
}
