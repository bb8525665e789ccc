/* SPDX-License-Identifier: MIT */
/*
 * keys.c - a node's keys from its key files, at start and on SIGHUP or
 * raftctl reload (asked through control: control/admin.c).
 * stage: main (node_keys_load at start; reloads on the key watcher's own
 * thread, never an lcore).
 *
 * A reload is how keys rotate on a running cluster: the operator rewrites
 * the key files on every node and sends SIGHUP (scripts/cluster.sh
 * rotate-keys does it in three stages, README: Keys). The ring is
 * rewritten in place under its seqlocks while the lcores seal and verify
 * with it; a reload that fails (a file unreadable, mode too open, a key id
 * reused with other bytes) leaves the keys as they were and says why.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "keys.h"

/* The three roles' files of a reload, read before the ring changes
 * (start or the watcher, one at a time: static, not on a small stack). */
static struct dp_key_file keys_files[DP_KEY_ROLES_COUNT];

/* Role's file into keys_files[role] and onto the ring r: 0 or an error
 * with errmsg naming the file. */
static int keys_role_set(struct dp_keyring *r, const struct node_config *cfg, uint32_t role,
			 const char *path, char *errmsg, size_t errmsg_bytes)
{
	static const char *const what[DP_KEY_ROLES_COUNT] = {"", "peer", "client", "admin"};
	char why[256];
	int rc = dp_keyring_set(r, cfg->cluster_id, (enum dp_key_role)role, &keys_files[role], why,
				sizeof(why));
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "%s key file %s: %s", what[role], path, why);
	}
	return rc;
}

int node_keys_load(struct dp_keyring *k, const struct node_config *cfg, char *errmsg,
		   size_t errmsg_bytes)
{
	static struct dp_keyring trial;
	const char *paths[DP_KEY_ROLES_COUNT] = {NULL, cfg->peer_key_file, cfg->client_key_file,
						 cfg->admin_key_file[0] != '\0' ? cfg->admin_key_file
										 : NULL};
	RN_ASSERT(k != NULL && cfg != NULL);
	int rc = 0;
	for (uint32_t role = DP_KEY_ROLE_PEER; rc == 0 && role < DP_KEY_ROLES_COUNT; role++) {
		if (paths[role] != NULL) {
			rc = dp_key_file_load(paths[role], &keys_files[role], errmsg, errmsg_bytes);
		}
	}
	/* Every role tried on a copy first: the live ring changes only when
	 * all go in, so a refused reload leaves every key as it was. (The
	 * copy is read plainly: this thread is the ring's only writer.) */
	trial = *k;
	for (uint32_t role = DP_KEY_ROLE_PEER; rc == 0 && role < DP_KEY_ROLES_COUNT; role++) {
		if (paths[role] != NULL) {
			rc = keys_role_set(&trial, cfg, role, paths[role], errmsg, errmsg_bytes);
		}
	}
	for (uint32_t role = DP_KEY_ROLE_PEER; rc == 0 && role < DP_KEY_ROLES_COUNT; role++) {
		if (paths[role] != NULL) {
			int set = keys_role_set(k, cfg, role, paths[role], errmsg, errmsg_bytes);
			RN_ASSERT(set == 0); /* it went into the copy */
		}
	}
	dp_keyring_wipe(&trial);
	for (uint32_t role = 0; role < DP_KEY_ROLES_COUNT; role++) {
		dp_key_file_wipe(&keys_files[role]);
	}
	return rc;
}

static const char *const keys_role_names[DP_KEY_ROLES_COUNT] = {"any", "peer", "client",
								 "admin"};

/* Keys of the role the ring holds (slot reads: this runs on the ring's
 * writer thread, or at start before the lcores). */
static uint32_t keys_held(const struct dp_keyring *k, uint32_t role)
{
	uint32_t held = 0;
	for (uint32_t i = 0; i < DP_KEYRING_SLOTS; i++) {
		held += k->slots[i].used && k->slots[i].role == role;
	}
	return held;
}

void node_keys_describe(const struct dp_keyring *k, char *out, size_t out_bytes)
{
	size_t at = 0;
	out[0] = '\0';
	for (uint32_t role = DP_KEY_ROLE_PEER; role < DP_KEY_ROLES_COUNT; role++) {
		uint32_t held = keys_held(k, role);
		if (role == DP_KEY_ROLE_ADMIN && held == 0) {
			continue; /* optional: no admin_key_file */
		}
		const struct dp_key_slot *s = &k->slots[k->seal_slot[role]];
		int n = snprintf(out + at, out_bytes - at, "%s%s key %u seals (%u accepted)",
				 at == 0 ? "" : ", ", keys_role_names[role],
				 s->used && s->role == role ? s->key_id : 0u, held);
		if (n < 0 || (size_t)n >= out_bytes - at) {
			return;
		}
		at += (size_t)n;
	}
}

/* JSON string contents of s (quotes, backslashes and controls escaped). */
static size_t keys_json_escape(const char *s, char *out, size_t out_bytes)
{
	size_t at = 0;
	for (; *s != '\0' && at + 7 < out_bytes; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			out[at++] = '\\';
			out[at++] = (char)ch;
		} else if (ch < 0x20) {
			at += (size_t)snprintf(out + at, out_bytes - at, "\\u%04x", ch);
		} else {
			out[at++] = (char)ch;
		}
	}
	out[at] = '\0';
	return at;
}

/* Appends to out at *at; a text that does not fit is cut (the buffer is
 * sized for the longest outcome: an error of 512 bytes and six keys). */
static void keys_add(char *out, size_t out_bytes, size_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void keys_add(char *out, size_t out_bytes, size_t *at, const char *fmt, ...)
{
	if (*at >= out_bytes) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out + *at, out_bytes - *at, fmt, ap);
	va_end(ap);
	*at = n < 0 ? out_bytes : rn_min_u64(*at + (size_t)n, out_bytes);
}

/* The outcome of a reload as raftctl reload prints it: {"reload":"ok" or
 * "refused", "node", "error" (refused), "reloads", "failures", then per
 * role held the sealing key and every id accepted: the keys in force
 * (after a refusal: the ones kept). */
static void keys_outcome_json(const struct node_keys_watch *w, int rc, const char *errmsg,
			      char *out, size_t out_bytes)
{
	char esc[600];
	size_t at = 0;
	keys_add(out, out_bytes, &at, "{\"reload\":\"%s\",\"node\":%u", rc == 0 ? "ok" : "refused",
		 w->cfg->self);
	if (rc != 0) {
		keys_json_escape(errmsg, esc, sizeof(esc));
		keys_add(out, out_bytes, &at, ",\"error\":\"%s\"", esc);
	}
	keys_add(out, out_bytes, &at, ",\"reloads\":%llu,\"failures\":%llu",
		 (unsigned long long)w->reloads, (unsigned long long)w->reload_failures);
	const struct dp_keyring *k = w->keys;
	for (uint32_t role = DP_KEY_ROLE_PEER; role < DP_KEY_ROLES_COUNT; role++) {
		if (keys_held(k, role) == 0) {
			continue;
		}
		const struct dp_key_slot *seal = &k->slots[k->seal_slot[role]];
		keys_add(out, out_bytes, &at, ",\"%s\":{\"seals\":%u,\"ids\":[%u",
			 keys_role_names[role], seal->key_id, seal->key_id);
		for (uint32_t i = 0; i < DP_KEYRING_SLOTS; i++) {
			const struct dp_key_slot *s = &k->slots[i];
			if (s->used && s->role == role && s != seal) {
				keys_add(out, out_bytes, &at, ",%u", s->key_id);
			}
		}
		keys_add(out, out_bytes, &at, "]}");
	}
	keys_add(out, out_bytes, &at, "}");
	RN_ASSERT(at < out_bytes); /* sized for the longest (a cut one is no JSON) */
}

static void *keys_watch_main(void *arg)
{
	struct node_keys_watch *w = arg;
	const struct timespec nap = {.tv_nsec = (long)NODE_KEYS_POLL_MS * 1000000L};
	static char outcome[NODE_KEYS_OUTCOME_BYTES];
	while (!w->stop) {
		/* Read before the files: every ticket up to here was asked
		 * before this reload began, so its outcome answers them. */
		uint64_t asked = __atomic_load_n(&w->asked, __ATOMIC_ACQUIRE);
		if (!w->reload_requested && asked == w->done_upto) {
			nanosleep(&nap, NULL);
			continue;
		}
		w->reload_requested = 0;
		char errmsg[512], now[160];
		int rc = node_keys_load(w->keys, w->cfg, errmsg, sizeof(errmsg));
		if (rc == 0) {
			__atomic_store_n(&w->reloads, w->reloads + 1, __ATOMIC_RELAXED);
			node_keys_describe(w->keys, now, sizeof(now));
			fprintf(stderr, "raftnode %u: keys reloaded: %s\n", w->cfg->self, now);
		} else {
			__atomic_store_n(&w->reload_failures, w->reload_failures + 1,
					 __ATOMIC_RELAXED);
			fprintf(stderr, "raftnode %u: key reload refused, keys unchanged: %s\n",
				w->cfg->self, errmsg);
		}
		keys_outcome_json(w, rc, errmsg, outcome, sizeof(outcome));
		pthread_mutex_lock(&w->outcome_lock);
		memcpy(w->outcome, outcome, sizeof(outcome));
		w->outcome_rc = rc;
		w->done_upto = asked;
		pthread_mutex_unlock(&w->outcome_lock);
	}
	return NULL;
}

int node_keys_watch_start(struct node_keys_watch *w, struct dp_keyring *keys,
			  const struct node_config *cfg)
{
	RN_ASSERT(w != NULL && keys != NULL && cfg != NULL);
	RN_ASSERT(!w->running);
	w->keys = keys;
	w->cfg = cfg;
	w->stop = 0;
	int rc = pthread_mutex_init(&w->outcome_lock, NULL);
	if (rc != 0) {
		return -rc;
	}
	rc = pthread_create(&w->thread, NULL, keys_watch_main, w);
	if (rc != 0) {
		pthread_mutex_destroy(&w->outcome_lock);
		return -rc;
	}
	w->running = true;
	return 0;
}

void node_keys_watch_stop(struct node_keys_watch *w)
{
	if (!w->running) {
		return;
	}
	w->stop = 1;
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->outcome_lock);
	w->running = false;
}
