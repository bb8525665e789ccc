/* SPDX-License-Identifier: MIT */
/*
 * keys.c - a node's keys from its key files, at start and on SIGHUP.
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
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "keys.h"

int node_keys_load(struct dp_keyring *k, const struct node_config *cfg, char *errmsg,
		   size_t errmsg_bytes)
{
	/* Start or the watcher, one at a time: static, not on a small stack. */
	static struct dp_key_file peer, client;
	static struct dp_keyring trial;
	char why[256];
	RN_ASSERT(k != NULL && cfg != NULL);
	int rc = dp_key_file_load(cfg->peer_key_file, &peer, errmsg, errmsg_bytes);
	if (rc == 0) {
		rc = dp_key_file_load(cfg->client_key_file, &client, errmsg, errmsg_bytes);
	}
	/* Both roles tried on a copy first: the live ring changes only when
	 * both go in, so a refused reload leaves every key as it was. (The
	 * copy is read plainly: this thread is the ring's only writer.) */
	trial = *k;
	if (rc == 0 && (rc = dp_keyring_set(&trial, cfg->cluster_id, DP_KEY_ROLE_PEER, &peer, why,
					    sizeof(why))) != 0) {
		snprintf(errmsg, errmsg_bytes, "peer key file %s: %s", cfg->peer_key_file, why);
	}
	if (rc == 0 && (rc = dp_keyring_set(&trial, cfg->cluster_id, DP_KEY_ROLE_CLIENT, &client,
					    why, sizeof(why))) != 0) {
		snprintf(errmsg, errmsg_bytes, "client key file %s: %s", cfg->client_key_file, why);
	}
	if (rc == 0) {
		rc = dp_keyring_set(k, cfg->cluster_id, DP_KEY_ROLE_PEER, &peer, why, sizeof(why));
		RN_ASSERT(rc == 0); /* it went into the copy */
		rc = dp_keyring_set(k, cfg->cluster_id, DP_KEY_ROLE_CLIENT, &client, why,
				    sizeof(why));
		RN_ASSERT(rc == 0);
	}
	dp_keyring_wipe(&trial);
	dp_key_file_wipe(&peer);
	dp_key_file_wipe(&client);
	return rc;
}

void node_keys_describe(const struct dp_keyring *k, char *out, size_t out_bytes)
{
	static const char *const names[DP_KEY_ROLES_COUNT] = {"any", "peer", "client"};
	size_t at = 0;
	out[0] = '\0';
	for (uint32_t role = DP_KEY_ROLE_PEER; role < DP_KEY_ROLES_COUNT; role++) {
		uint32_t held = 0;
		for (uint32_t i = 0; i < DP_KEYRING_SLOTS; i++) {
			held += k->slots[i].used && k->slots[i].role == role;
		}
		const struct dp_key_slot *s = &k->slots[k->seal_slot[role]];
		int n = snprintf(out + at, out_bytes - at, "%s%s key %u seals (%u accepted)",
				 at == 0 ? "" : ", ", names[role],
				 s->used && s->role == role ? s->key_id : 0u, held);
		if (n < 0 || (size_t)n >= out_bytes - at) {
			return;
		}
		at += (size_t)n;
	}
}

static void *keys_watch_main(void *arg)
{
	struct node_keys_watch *w = arg;
	const struct timespec nap = {.tv_nsec = (long)NODE_KEYS_POLL_MS * 1000000L};
	while (!w->stop) {
		if (!w->reload_requested) {
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
	int rc = pthread_create(&w->thread, NULL, keys_watch_main, w);
	if (rc != 0) {
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
	w->running = false;
}
