/* SPDX-License-Identifier: MIT */
/*
 * settings_check.c - a peer whose agreed settings differ is refused, and
 * the setting named (settings_check.h says why). stage: control.
 *
 * Cost on the commit path: one 64-bit compare per received consensus
 * frame. Everything else (the SETTINGS frame, the comparison by name, the
 * log line) happens only while a peer differs, at most once a second per
 * peer, in memory sized at start (a slot per possible peer).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "common.h"
#include "control.h"
#include "settings_check.h"

int node_settings_check_init(struct node_settings_check *s, const struct node_config *cfg,
			     uint32_t wire_version)
{
	RN_ASSERT(s != NULL && cfg != NULL);
	memset(s, 0, sizeof(*s));
	s->self = cfg->self;
	int n = node_settings_text(cfg, wire_version, s->text, sizeof(s->text));
	struct dp_settings ours;
	if (n <= 0 || dp_settings_decode((const uint8_t *)s->text, (size_t)n, &ours) != 0) {
		return -EINVAL; /* a key name the SETTINGS alphabet lacks: a programming error */
	}
	s->text_bytes = (uint32_t)n;
	s->fp = node_settings_hash(s->text, (size_t)n);
	return 0;
}

/* The value of `name` in s, or NULL. */
static const struct dp_setting_pair *settings_find(const struct dp_settings *s, const char *name,
						   uint32_t name_bytes, struct dp_setting_pair *p)
{
	uint32_t at = 0;
	while (dp_settings_next(s, &at, p) == 0) {
		if (p->name_bytes == name_bytes && memcmp(p->name, name, name_bytes) == 0) {
			return p;
		}
	}
	return NULL;
}

static void settings_add(char *out, size_t out_bytes, size_t *used, uint32_t *count,
			 const struct dp_setting_pair *named, const struct dp_setting_pair *ours,
			 const struct dp_setting_pair *theirs, raft_node_id peer)
{
	if (*used < out_bytes) {
		int n = snprintf(out + *used, out_bytes - *used, "%s%.*s = %.*s here, %.*s on node %u",
				 *count > 0 ? ", " : "", (int)named->name_bytes, named->name,
				 ours ? (int)ours->value_bytes : 6, ours ? ours->value : "(none)",
				 theirs ? (int)theirs->value_bytes : 6,
				 theirs ? theirs->value : "(none)", peer);
		*used = n > 0 ? rn_min_u64(*used + (size_t)n, out_bytes) : *used;
	}
	(*count)++;
}

uint32_t node_settings_diff(const struct dp_settings *ours, const struct dp_settings *theirs,
			    raft_node_id peer, char *out, size_t out_bytes)
{
	RN_ASSERT(ours != NULL && theirs != NULL);
	RN_ASSERT(out != NULL && out_bytes > 0);
	size_t used = 0;
	uint32_t count = 0, at = 0;
	out[0] = '\0';
	struct dp_setting_pair mine, other, found;
	/* Ours in our order (the key table's), then what only the peer has. */
	while (dp_settings_next(ours, &at, &mine) == 0) {
		const struct dp_setting_pair *t = settings_find(theirs, mine.name, mine.name_bytes,
								&found);
		if (t == NULL || t->value_bytes != mine.value_bytes ||
		    memcmp(t->value, mine.value, mine.value_bytes) != 0) {
			settings_add(out, out_bytes, &used, &count, &mine, &mine, t, peer);
		}
	}
	at = 0;
	while (dp_settings_next(theirs, &at, &other) == 0) {
		if (settings_find(ours, other.name, other.name_bytes, &found) == NULL) {
			settings_add(out, out_bytes, &used, &count, &other, NULL, &other, peer);
		}
	}
	RN_ASSERT(used <= out_bytes); /* out_bytes: cut, snprintf kept the NUL inside */
	return count;
}

/* The slot of peer id (a free one the first time); NULL when all are
 * taken (more senders than a cluster has members). */
static struct node_settings_peer *settings_peer(struct node_settings_check *s, raft_node_id id)
{
	struct node_settings_peer *free_slot = NULL;
	for (uint32_t i = 0; i < RAFT_NODES_MAX; i++) {
		if (s->peers[i].id == id) {
			return &s->peers[i];
		}
		free_slot = free_slot == NULL && s->peers[i].id == 0 ? &s->peers[i] : free_slot;
	}
	if (free_slot != NULL) {
		*free_slot = (struct node_settings_peer){.id = id};
	}
	return free_slot;
}

struct settings_tell {
	const struct node_settings_check *s;
	raft_node_id to;
};

static int settings_seal(const void *arg, const struct dp_wire *w, const struct dp_endpoints *addr,
			 uint64_t msg_seq, uint8_t *buf, size_t buf_bytes)
{
	const struct settings_tell *t = arg;
	return dp_wire_encode_settings(w, addr, msg_seq, t->to, t->s->text, t->s->text_bytes, buf,
				       buf_bytes);
}

/* Our settings to peer p, at most once per NODE_SETTINGS_TELL_NS. */
static void settings_tell(struct node_control *c, struct node_settings_peer *p, uint64_t now_ns)
{
	struct node_settings_check *s = c->settings;
	if (p->told_ns != 0 && now_ns - p->told_ns < NODE_SETTINGS_TELL_NS) {
		return;
	}
	p->told_ns = now_ns;
	struct settings_tell t = {.s = s, .to = p->id};
	if (dp_transport_send_sealed(c->transport, p->id, settings_seal, &t) == 0) {
		s->told++;
	} else {
		s->tell_failed++; /* no route, or the ring full: told again in a second */
	}
}

/* The refusal in the log: loud, once per change of what differs, and
 * again every NODE_SETTINGS_RELOG_NS while it lasts. */
static void settings_log(struct node_settings_check *s, struct node_settings_peer *p,
			 bool changed, uint64_t now_ns)
{
	if (!changed && p->logged_ns != 0 && now_ns - p->logged_ns < NODE_SETTINGS_RELOG_NS) {
		return;
	}
	p->logged_ns = now_ns;
	fprintf(stderr, "raftnode %u: node %u refuses node %u: %s (settings fingerprint %016" PRIx64
		" here, %016" PRIx64 " there; its consensus frames are dropped until the cluster-wide "
		"settings agree: README, configuration)\n", s->self, s->self, p->id, p->what, s->fp,
		p->fp);
}

/* A peer's SETTINGS frame: what differs, named. */
static void settings_heard(struct node_control *c, const struct dp_rx_frame *f)
{
	struct node_settings_check *s = c->settings;
	s->heard++;
	struct node_settings_peer *p = settings_peer(s, f->settings.from);
	if (p == NULL || f->settings.from == s->self) {
		return;
	}
	if (f->settings_fp == s->fp) {
		return; /* it agrees now: its next consensus frame clears the refusal */
	}
	struct dp_settings ours;
	int rc = dp_settings_decode((const uint8_t *)s->text, s->text_bytes, &ours);
	RN_ASSERT(rc == 0); /* checked at init */
	char what[NODE_SETTINGS_WHAT_BYTES];
	uint32_t n = node_settings_diff(&ours, &f->settings, p->id, what, sizeof(what));
	if (n == 0) {
		snprintf(what, sizeof(what), "the same settings text under another fingerprint "
			 "(another build?)");
	}
	bool changed = !p->refused || p->fp != f->settings_fp || strcmp(what, p->what) != 0;
	p->refused = true;
	p->fp = f->settings_fp;
	snprintf(p->what, sizeof(p->what), "%s", what);
	uint64_t now_ns = node_now_ns();
	settings_log(s, p, changed, now_ns);
	settings_tell(c, p, now_ns); /* so that it names the setting too */
}

static raft_node_id settings_sender(const struct dp_rx_frame *f)
{
	if (f->type >= 1 && f->type < RAFT_MSG_TYPE_COUNT) {
		return f->raft.from;
	}
	if (f->type == DP_FRAME_SNAP_CHUNK) {
		return f->snap_chunk.from;
	}
	return f->type == DP_FRAME_SNAP_ACK ? f->snap_ack.from : RAFT_NODE_NONE;
}

bool node_settings_frame_in(struct node_control *c, const struct dp_rx_frame *f)
{
	struct node_settings_check *s = c->settings;
	RN_ASSERT(s != NULL);
	if (f->type == DP_FRAME_SETTINGS) {
		settings_heard(c, f);
		return true;
	}
	raft_node_id from = settings_sender(f);
	if (from == RAFT_NODE_NONE) {
		return false; /* a client's frame: not checked (settings_check.h) */
	}
	if (__builtin_expect(f->settings_fp == s->fp, 1)) {
		for (uint32_t i = 0; i < RAFT_NODES_MAX; i++) {
			struct node_settings_peer *p = &s->peers[i];
			if (p->id == from && p->refused) {
				p->refused = false;
				fprintf(stderr, "raftnode %u: node %u agrees with node %u again (settings "
					"fingerprint %016" PRIx64 ")\n", s->self, from, s->self, s->fp);
			}
		}
		return false;
	}
	s->dropped++;
	struct node_settings_peer *p = settings_peer(s, from);
	if (p == NULL) {
		return true;
	}
	p->dropped++;
	uint64_t now_ns = node_now_ns();
	if (!p->refused || p->fp != f->settings_fp) {
		/* Named once its SETTINGS frame comes (it gets ours now). */
		p->refused = true;
		p->fp = f->settings_fp;
		snprintf(p->what, sizeof(p->what), "its cluster-wide settings differ (not named yet)");
		settings_log(s, p, true, now_ns);
	}
	settings_tell(c, p, now_ns);
	return true;
}

uint32_t node_settings_refused_count(const struct node_settings_check *s)
{
	uint32_t n = 0;
	for (uint32_t i = 0; s != NULL && i < RAFT_NODES_MAX; i++) {
		n += s->peers[i].id != 0 && s->peers[i].refused;
	}
	return n;
}

/* Appends to out at *used; false once it does not fit (out is then cut). */
__attribute__((format(printf, 4, 5))) static bool settings_put(char *out, size_t out_bytes,
							      size_t *used, const char *fmt, ...)
{
	if (*used >= out_bytes) {
		return false;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out + *used, out_bytes - *used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= out_bytes - *used) {
		*used = out_bytes;
		return false;
	}
	*used += (size_t)n;
	return true;
}

int node_settings_status(const struct node_settings_check *s, char *out, size_t out_bytes)
{
	RN_ASSERT(s != NULL && out != NULL);
	size_t used = 0;
	bool ok = settings_put(out, out_bytes, &used, "\"settings\":{\"fp\":\"%016" PRIx64
			       "\",\"dropped\":%" PRIu64 ",\"refused\":{", s->fp, s->dropped);
	bool first = true;
	for (uint32_t i = 0; ok && i < RAFT_NODES_MAX; i++) {
		const struct node_settings_peer *p = &s->peers[i];
		if (p->id != 0 && p->refused) {
			/* p->what holds names and values of the SETTINGS
			 * alphabet, spaces, commas, parentheses, a '?': nothing
			 * JSON escapes. */
			ok = settings_put(out, out_bytes, &used, "%s\"%u\":\"%s\"", first ? "" : ",",
					  p->id, p->what);
			first = false;
		}
	}
	ok = ok && settings_put(out, out_bytes, &used, "}}");
	return ok ? (int)used : -1;
}
