/* SPDX-License-Identifier: MIT */
/*
 * keys.h - a node's keys (issue 17): the peer key file and the client key
 * file into the ring every frame is sealed and verified with, at start and
 * again on SIGHUP. stage: main (start), and the key watcher's own thread
 * (reloads; never an lcore: it reads files).
 */
#ifndef RN_NODE_KEYS_H
#define RN_NODE_KEYS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dataplane.h"

/* Reads [cluster] peer_key_file, client_key_file and admin_key_file (when
 * set; mode 600 each) into k: every file is read and checked before the
 * ring changes; the peer keys go in first. 0, or -errno / -DP_ERR_INVALID
 * with errmsg naming the file. At start and at every reload. */
int node_keys_load(struct dp_keyring *k, const struct node_config *cfg, char *errmsg,
		   size_t errmsg_bytes);
/* "peer key 2 seals (2 accepted), client key 10 seals (1 accepted)" (and
 * the admin keys when the ring holds some). */
void node_keys_describe(const struct dp_keyring *k, char *out, size_t out_bytes);

/* The watcher: a thread that reloads the key files when asked (SIGHUP, or
 * raftctl reload through control), looking every NODE_KEYS_POLL_MS: a
 * reload waits at most that long, and the thread costs nothing the lcores
 * feel. */
#define NODE_KEYS_POLL_MS 50u
#define NODE_KEYS_OUTCOME_BYTES 1024u
struct node_keys_watch {
	pthread_t thread;
	bool running;
	volatile int stop;
	volatile int reload_requested; /* set by the signal handler */
	struct dp_keyring *keys;
	const struct node_config *cfg;
	/* Status reads these (relaxed): reloads done and refused. */
	uint64_t reloads, reload_failures;
	/* raftctl reload (control/admin.c): control takes a ticket (asked,
	 * atomic); a reload the watcher begins afterwards answers it: once
	 * it ends, done_upto >= the ticket and outcome holds what happened
	 * (JSON: the keys in force, or the error and the keys kept), both
	 * under outcome_lock, which control only tries (it never waits on
	 * this thread's file reads). */
	uint64_t asked, done_upto;
	pthread_mutex_t outcome_lock;
	int outcome_rc; /* the last reload's: 0 or its error */
	char outcome[NODE_KEYS_OUTCOME_BYTES];
};
/* 0 or -errno (cannot start the thread). */
int node_keys_watch_start(struct node_keys_watch *w, struct dp_keyring *keys,
			  const struct node_config *cfg);
void node_keys_watch_stop(struct node_keys_watch *w);

#endif /* RN_NODE_KEYS_H */
