/* SPDX-License-Identifier: MIT */
/*
 * admin.c - admin requests (admin.h): raftctl reload. stage: control.
 *
 * Control never reads a file: a reload takes a ticket from the key
 * watcher (keys.h: asked), which reloads on its own thread at its next
 * poll and publishes the outcome with the tickets it answers (done_upto).
 * Each round, with reloads pending, control tries the watcher's lock
 * (never waits on it) and answers those it covers: OK with the keys in
 * force, or REFUSED with the error and the keys kept, both as the JSON
 * the watcher wrote. A retransmitted request (same client and sequence)
 * joins the pending one rather than taking a slot.
 *
 * Why a replayed reload request needs no session: it only makes the node
 * read the files its operator wrote, as a SIGHUP would; it cannot choose a
 * key. (Client frames carry no replay window: README, Keys.)
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "common.h"
#include "internal.h"

void node_admin_init(struct node_admin *a, struct node_keys_watch *watch,
		     const struct dp_keyring *keys)
{
	RN_ASSERT(a != NULL && watch != NULL && keys != NULL);
	memset(a, 0, sizeof(*a));
	a->watch = watch;
	a->keys = keys;
}

static bool admin_is_reload(const struct dp_client_request *req)
{
	return req->key_bytes == sizeof(NODE_ADMIN_RELOAD_KEY) - 1 &&
	       memcmp(req->key, NODE_ADMIN_RELOAD_KEY, req->key_bytes) == 0;
}

/* Refused at once, the value saying why (JSON, as every reload answer). */
static void admin_refuse(struct node_control *c, const struct dp_endpoints *from,
			 const struct dp_client_request *req, uint8_t status, const char *why)
{
	char json[320];
	int n = snprintf(json, sizeof(json), "{\"reload\":\"%s\",\"node\":%u,\"key_id\":%u,"
			 "\"error\":\"%s\"}", status == DP_CLIENT_BUSY ? "busy" : "refused_key",
			 c->cfg->self, from->key_id, why);
	RN_ASSERT(n > 0 && (size_t)n < sizeof(json));
	node_egress_reply(c, from, req->client_id, req->request_seq, status, (const uint8_t *)json,
			  (uint32_t)n, NULL);
}

bool node_admin_request(struct node_control *c, const struct dp_endpoints *from,
			const struct dp_client_request *req)
{
	RN_ASSERT(req->op == DP_CLIENT_STATUS);
	if (!admin_is_reload(req)) {
		return false; /* a status: any key may ask */
	}
	struct node_admin *a = c->admin;
	int role = a != NULL ? dp_keyring_role(a->keys, from->key_id) : -DP_ERR_UNKNOWN_KEY;
	if (role != DP_KEY_ROLE_ADMIN) {
		if (a != NULL) {
			a->refused_key++;
		}
		admin_refuse(c, from, req, DP_CLIENT_REFUSED,
			     a == NULL ? "this node takes no admin request"
			     : role == DP_KEY_ROLE_CLIENT
				     ? "sealed with a client key: reload needs an admin key "
				       "([cluster] admin_key_file)"
				     : "sealed with a key that is not an admin key "
				       "([cluster] admin_key_file)");
		return true;
	}
	for (uint32_t i = 0; i < NODE_ADMIN_PENDING_MAX; i++) {
		const struct node_admin_pending *p = &a->pending[i];
		if (p->used && p->client_id == req->client_id && p->request_seq == req->request_seq) {
			return true; /* a retransmission: answered with the first */
		}
	}
	for (uint32_t i = 0; i < NODE_ADMIN_PENDING_MAX; i++) {
		struct node_admin_pending *p = &a->pending[i];
		if (!p->used) {
			/* The ticket: the watcher answers it with a reload that
			 * begins after this increment (keys.c reads asked first). */
			uint64_t t = __atomic_add_fetch(&a->watch->asked, 1, __ATOMIC_ACQ_REL);
			*p = (struct node_admin_pending){.used = true, .ticket = t,
							 .client_id = req->client_id,
							 .request_seq = req->request_seq, .to = *from};
			a->pending_count++;
			a->reloads_asked++;
			return true;
		}
	}
	a->refused_busy++;
	admin_refuse(c, from, req, DP_CLIENT_BUSY, "reloads pending: retry");
	return true;
}

uint32_t node_admin_poll(struct node_control *c)
{
	struct node_admin *a = c->admin;
	if (a == NULL || a->pending_count == 0) {
		return 0;
	}
	struct node_keys_watch *w = a->watch;
	if (pthread_mutex_trylock(&w->outcome_lock) != 0) {
		return 0; /* the watcher is publishing: next round */
	}
	uint64_t done = w->done_upto;
	uint32_t answered = 0;
	for (uint32_t i = 0; i < NODE_ADMIN_PENDING_MAX; i++) {
		struct node_admin_pending *p = &a->pending[i];
		if (!p->used || p->ticket > done) {
			continue;
		}
		size_t n = strnlen(w->outcome, sizeof(w->outcome));
		node_egress_reply(c, &p->to, p->client_id, p->request_seq,
				  w->outcome_rc == 0 ? DP_CLIENT_OK : DP_CLIENT_REFUSED,
				  (const uint8_t *)w->outcome, (uint32_t)n, NULL);
		p->used = false;
		a->pending_count--;
		a->reloads_answered++;
		answered++;
	}
	pthread_mutex_unlock(&w->outcome_lock);
	return answered;
}

int node_admin_status(const struct node_admin *a, char *out, size_t out_bytes)
{
	if (a == NULL || (a->reloads_asked == 0 && a->refused_key == 0 && a->refused_busy == 0)) {
		return 0;
	}
	int n = snprintf(out, out_bytes, ",\"admin\":{\"reloads_asked\":%" PRIu64
			 ",\"reloads_answered\":%" PRIu64 ",\"refused_key\":%" PRIu64
			 ",\"refused_busy\":%" PRIu64 "}",
			 a->reloads_asked, a->reloads_answered, a->refused_key, a->refused_busy);
	return n > 0 && (size_t)n < out_bytes ? n : 0;
}
