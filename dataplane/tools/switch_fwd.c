/* SPDX-License-Identifier: MIT */
/*
 * switch_fwd.c - rn_memif_switch's forwarding decision on plain bytes: MAC
 * learning, the flood set, and the fault matrix read from a rules file
 * (grammar in switch.h). No DPDK here: the per-frame cost is two hash
 * probes and, only for pairs with a loss rule, one PRNG draw.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "switch.h"

#define SW_MAC_USED (1ull << 63)
_Static_assert((SW_MAC_USED & 0xffffffffffffull) == 0, "the used bit is above the 48 MAC bits");
#define SW_ETH_HDR_BYTES 14u

/* ---- rules ---------------------------------------------------------------- */

/* A port number below ports_count, or '*' (all: *all = true). */
static bool rules_port(const char *tok, uint32_t ports_count, uint32_t *port, bool *all)
{
	*all = strcmp(tok, "*") == 0;
	if (*all) {
		return true;
	}
	char *end;
	unsigned long v = strtoul(tok, &end, 10);
	if (end == tok || *end != '\0' || v >= ports_count) {
		return false;
	}
	*port = (uint32_t)v;
	return true;
}

static void rules_set(struct sw_rules *r, uint32_t ports_count, uint32_t src, bool src_all,
		      uint32_t dst, bool dst_all, uint8_t pct)
{
	for (uint32_t s = 0; s < ports_count; s++) {
		for (uint32_t d = 0; d < ports_count; d++) {
			bool hit = (src_all || s == src) && (dst_all || d == dst) && s != d;
			if (hit && r->drop_pct[s][d] < pct) {
				r->drop_pct[s][d] = pct;
			}
		}
	}
}

/* One rule line (comment already cut). 0, 1 for an empty line, or -EINVAL. */
static int rules_line(char *line, uint32_t ports_count, struct sw_rules *r, const char **why)
{
	char *save = NULL;
	char *verb = strtok_r(line, " \t\r", &save);
	if (verb == NULL) {
		return 1;
	}
	char *src_s = strtok_r(NULL, " \t\r", &save);
	char *dst_s = strtok_r(NULL, " \t\r", &save);
	char *pct_s = strtok_r(NULL, " \t\r", &save);
	char *extra = strtok_r(NULL, " \t\r", &save);
	bool cut = strcmp(verb, "cut") == 0;
	if (!cut && strcmp(verb, "loss") != 0) {
		*why = "unknown rule (cut SRC DST | loss SRC DST PCT)";
		return -EINVAL;
	}
	if (src_s == NULL || dst_s == NULL || extra != NULL || (cut != (pct_s == NULL))) {
		*why = cut ? "want: cut SRC DST" : "want: loss SRC DST PCT";
		return -EINVAL;
	}
	uint32_t src = 0, dst = 0;
	bool src_all, dst_all;
	if (!rules_port(src_s, ports_count, &src, &src_all) ||
	    !rules_port(dst_s, ports_count, &dst, &dst_all)) {
		*why = "a port is a number below the switch's port count, or '*'";
		return -EINVAL;
	}
	unsigned long pct = SW_PCT_CUT;
	if (!cut) {
		char *end;
		pct = strtoul(pct_s, &end, 10);
		if (end == pct_s || *end != '\0' || pct > SW_PCT_CUT) {
			*why = "PCT is a whole number 0..100";
			return -EINVAL;
		}
	}
	rules_set(r, ports_count, src, src_all, dst, dst_all, (uint8_t)pct);
	return 0;
}

int sw_rules_parse(const char *text, uint32_t ports_count, struct sw_rules *out, char *errmsg,
		   size_t errmsg_bytes)
{
	struct sw_rules next; /* 1 KiB */
	char line[256];

	RN_ASSERT(text != NULL && out != NULL && errmsg != NULL);
	RN_ASSERT(ports_count <= SW_PORTS_MAX);
	memset(&next, 0, sizeof(next));
	errmsg[0] = '\0';
	uint32_t line_no = 0;
	for (const char *p = text; *p != '\0';) {
		const char *eol = strchr(p, '\n');
		size_t bytes = eol != NULL ? (size_t)(eol - p) : strlen(p);
		line_no++;
		if (bytes >= sizeof(line)) {
			snprintf(errmsg, errmsg_bytes, "line %u: longer than %zu bytes", line_no,
				 sizeof(line) - 1);
			return -EINVAL;
		}
		memcpy(line, p, bytes);
		line[bytes] = '\0';
		line[strcspn(line, "#")] = '\0';
		const char *why = NULL;
		int rc = rules_line(line, ports_count, &next, &why);
		if (rc < 0) {
			snprintf(errmsg, errmsg_bytes, "line %u: %s", line_no, why);
			return rc;
		}
		next.rules_count += rc == 0 ? 1u : 0u;
		p += bytes + (eol != NULL ? 1 : 0);
	}
	*out = next;
	return 0;
}

/* ---- MAC table ------------------------------------------------------------------ */

static uint64_t mac_key(const uint8_t mac[6])
{
	uint64_t k = 0;
	for (int i = 0; i < 6; i++) {
		k = k << 8 | mac[i];
	}
	return k | SW_MAC_USED;
}

/* The slot holding key, or the empty slot where it would go. */
static uint32_t mac_slot(const struct sw_mac_table *t, uint64_t key)
{
	uint32_t i = (uint32_t)(rn_mix64(key) & (SW_MACS_SLOTS - 1));
	/* The table is never more than 3/4 full, so an empty slot ends the probe. */
	while (t->key[i] != 0 && t->key[i] != key) {
		i = (i + 1) & (SW_MACS_SLOTS - 1);
	}
	return i;
}

int sw_mac_lookup(const struct sw_mac_table *t, const uint8_t mac[6])
{
	uint32_t i = mac_slot(t, mac_key(mac));
	return t->key[i] != 0 ? (int)t->port[i] : -1;
}

static void mac_learn(struct sw_fwd *f, const uint8_t mac[6], uint32_t port)
{
	struct sw_mac_table *t = &f->macs;
	uint64_t key = mac_key(mac);
	uint32_t i = mac_slot(t, key);
	if (t->key[i] == key) {
		if (t->port[i] != port) {
			t->port[i] = (uint8_t)port; /* a node moved, or a loop: newest wins */
			f->counters.mac_moves++;
		}
		return;
	}
	if (t->count >= SW_MACS_MAX) {
		f->counters.table_full++; /* frames to it keep flooding: correct, slower */
		return;
	}
	t->key[i] = key;
	t->port[i] = (uint8_t)port;
	t->count++;
}

/* ---- the decision ------------------------------------------------------------------ */

void sw_fwd_init(struct sw_fwd *f, uint32_t ports_count, sw_port_mask present, uint64_t seed)
{
	RN_ASSERT(f != NULL);
	RN_ASSERT(ports_count >= 1 && ports_count <= SW_PORTS_MAX);
	memset(f, 0, sizeof(*f));
	f->ports_count = ports_count;
	f->present = present;
	f->rng_state = seed;
}

/* Drops from `out` what the rules say for frames entering at in_port. */
static sw_port_mask fwd_apply_rules(struct sw_fwd *f, uint32_t in_port, sw_port_mask out)
{
	const uint8_t *pct = f->rules.drop_pct[in_port];
	for (uint32_t p = 0; p < f->ports_count; p++) {
		if ((out & (1u << p)) == 0 || pct[p] == 0) {
			continue;
		}
		if (pct[p] >= SW_PCT_CUT) {
			out &= ~(1u << p);
			f->counters.cut++;
		} else if (rn_splitmix64(&f->rng_state) % 100u < pct[p]) {
			out &= ~(1u << p);
			f->counters.lost++;
		}
	}
	return out;
}

sw_port_mask sw_fwd_frame(struct sw_fwd *f, uint32_t in_port, const uint8_t *frame,
			  size_t frame_bytes)
{
	RN_ASSERT(in_port < f->ports_count);
	RN_ASSERT((f->present & (1u << in_port)) != 0);
	if (frame_bytes < SW_ETH_HDR_BYTES) {
		f->counters.runts++;
		return 0;
	}
	const uint8_t *dst = frame, *src = frame + 6;
	bool src_zero = (src[0] | src[1] | src[2] | src[3] | src[4] | src[5]) == 0;
	if ((src[0] & 1u) == 0 && !src_zero) { /* a group or zero source is never learned */
		mac_learn(f, src, in_port);
	}
	sw_port_mask out;
	int known = (dst[0] & 1u) != 0 ? -1 : sw_mac_lookup(&f->macs, dst);
	if (known >= 0) {
		if ((uint32_t)known == in_port) {
			f->counters.hairpin++;
			return 0;
		}
		out = 1u << known;
		if ((f->up & out) == 0) {
			f->counters.link_down++;
			return 0;
		}
	} else {
		f->counters.flooded++;
		f->counters.unknown_unicast += (dst[0] & 1u) == 0 ? 1u : 0u;
		out = f->present & f->up & ~(1u << in_port);
	}
	return fwd_apply_rules(f, in_port, out);
}
