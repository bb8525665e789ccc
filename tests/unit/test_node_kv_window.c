/* SPDX-License-Identifier: MIT */
/*
 * Goal: the sessions' windows of recent results (node/apply/session_window.c,
 * through the state machine) answer every write of pipelining clients as
 * their definition says, whatever the order of arrival: a sequence number
 * among the session's `window` largest applied ones is a duplicate with its
 * first status; one above the smallest of them (or a session's first) is
 * applied; one below is stale; sessions go least recently used first and
 * a new one starts empty. Two state machines fed the same commands answer
 * the same (the windows are replicated state).
 * Method: a seeded random run per window width (1, 2, 3, 8) of clients
 * that submit with gaps in their sequence numbers, lose some requests,
 * retransmit old ones (lost or not) in any order, against a plain model
 * that keeps every applied sequence number of a session and takes the
 * largest `window` of them; more clients than sessions, so that eviction
 * happens. Statuses vary (compare-and-swap), so a wrong recorded status
 * shows, and the model's key-value state must equal the state machine's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane.h"
#include "node.h"

#define CLIENTS 4
#define SESSIONS 3 /* fewer than clients: eviction */
#define KEYS 4
#define STEPS 20000
#define SENT_MAX STEPS /* a client's commands, sent or lost */

/* splitmix64 */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* One command a client made (to resend it as it was). */
struct cmd {
	uint64_t seq;
	uint8_t op; /* DP_CLIENT_PUT or DP_CLIENT_CAS */
	char key[4];
	char expected[8];
	char value[8];
};

/* The model's session: every applied sequence number since it opened,
 * ascending, with its status. */
struct model_session {
	bool used;
	uint64_t client_id;
	uint64_t last_index;
	uint32_t count;
	uint64_t *seq;
	uint8_t *status;
};

struct model {
	uint32_t window;
	struct model_session s[SESSIONS];
	bool present[KEYS];
	char value[KEYS][8];
};

static struct model_session *model_find(struct model *m, uint64_t client_id)
{
	for (int i = 0; i < SESSIONS; i++) {
		if (m->s[i].used && m->s[i].client_id == client_id) {
			return &m->s[i];
		}
	}
	return NULL;
}

/* The definition: among the window largest applied, a duplicate; above
 * the smallest of them, new; below, stale. */
static int model_verdict(const struct model *m, const struct model_session *s, uint64_t seq,
			 uint8_t *status)
{
	if (s == NULL || s->count == 0) {
		return 0;
	}
	uint32_t first = s->count > m->window ? s->count - m->window : 0;
	for (uint32_t i = first; i < s->count; i++) {
		if (s->seq[i] == seq) {
			*status = s->status[i];
			return 1;
		}
	}
	return seq > s->seq[first] ? 0 : 2;
}

static uint8_t model_execute(struct model *m, const struct cmd *c)
{
	int k = c->key[1] - '0';
	if (c->op == DP_CLIENT_PUT) {
		m->present[k] = true;
		snprintf(m->value[k], sizeof(m->value[k]), "%s", c->value);
		return NODE_KV_OK;
	}
	if (!m->present[k]) {
		return NODE_KV_NOT_FOUND;
	}
	if (strcmp(m->value[k], c->expected) != 0) {
		return NODE_KV_CAS_MISMATCH;
	}
	snprintf(m->value[k], sizeof(m->value[k]), "%s", c->value);
	return NODE_KV_OK;
}

/* Records an applied command: opens the session (evicting the least
 * recently used, ties: the lowest client id) if it has none. */
static void model_record(struct model *m, uint64_t client_id, uint64_t index, uint64_t seq,
			 uint8_t status)
{
	struct model_session *s = model_find(m, client_id);
	if (s == NULL) {
		for (int i = 0; i < SESSIONS && s == NULL; i++) {
			s = m->s[i].used ? NULL : &m->s[i];
		}
		for (int i = 0; i < SESSIONS && s == NULL; i++) {
			struct model_session *v = &m->s[i];
			bool older = true;
			for (int j = 0; j < SESSIONS; j++) {
				const struct model_session *o = &m->s[j];
				older &= v->last_index < o->last_index ||
					 (v->last_index == o->last_index &&
					  v->client_id <= o->client_id);
			}
			s = older ? v : NULL;
		}
		assert_non_null(s);
		s->used = true;
		s->client_id = client_id;
		s->count = 0;
	}
	uint32_t at = s->count;
	while (at > 0 && s->seq[at - 1] > seq) {
		s->seq[at] = s->seq[at - 1];
		s->status[at] = s->status[at - 1];
		at--;
	}
	assert_true(at == 0 || s->seq[at - 1] != seq);
	s->seq[at] = seq;
	s->status[at] = status;
	s->count++;
	s->last_index = index;
}

static struct node_kv_result kv_send(struct node_kv *kv, uint64_t index, uint64_t client_id,
				     const struct cmd *c)
{
	struct dp_client_request req = {
		.op = c->op, .client_id = client_id, .request_seq = c->seq,
		.key = (const uint8_t *)c->key, .key_bytes = (uint32_t)strlen(c->key),
		.value = (const uint8_t *)c->value, .value_bytes = (uint32_t)strlen(c->value),
		.expect = (const uint8_t *)c->expected,
		.expect_bytes = c->op == DP_CLIENT_CAS ? (uint32_t)strlen(c->expected) : 0};
	uint8_t buf[256];
	int bytes = dp_wire_request_body(&req, buf, sizeof(buf));
	assert_true(bytes > 0);
	struct node_kv_result r;
	node_kv_apply_request(kv, index, buf, (uint32_t)bytes, &r);
	return r;
}

static void run_width(uint32_t window, uint64_t seed)
{
	struct node_kv_config cfg;
	node_kv_config_default(&cfg);
	cfg.keys_max = KEYS;
	cfg.clients_max = SESSIONS;
	cfg.session_window = window;
	struct node_kv *a, *b;
	assert_int_equal(node_kv_create(&cfg, &a), 0);
	assert_int_equal(node_kv_create(&cfg, &b), 0);
	struct model *m = calloc(1, sizeof(*m));
	struct cmd *sent = calloc((size_t)CLIENTS * SENT_MAX, sizeof(*sent));
	uint32_t sent_count[CLIENTS] = {0};
	uint64_t next_seq[CLIENTS] = {0};
	assert_non_null(m);
	assert_non_null(sent);
	m->window = window;
	for (int i = 0; i < SESSIONS; i++) {
		m->s[i].seq = calloc(STEPS, sizeof(uint64_t));
		m->s[i].status = calloc(STEPS, 1);
		assert_non_null(m->s[i].seq);
		assert_non_null(m->s[i].status);
	}
	uint32_t counts[5] = {0}; /* applied, duplicate, stale, lost, applied late */
	for (uint64_t index = 1; index <= STEPS; index++) {
		/* The last client comes rarely: its session is the one evicted,
		 * now and then, and others are evicted for it. */
		uint32_t client = (uint32_t)(rnd(&seed) % (4 * CLIENTS - 3));
		client = client < 4 * (CLIENTS - 1) ? client / 4 : CLIENTS - 1;
		struct cmd *hist = &sent[(size_t)client * SENT_MAX];
		const struct cmd *c;
		uint64_t r = rnd(&seed) % 10;
		if (r < 6 || sent_count[client] == 0) {
			/* A new command: the client's next sequence number, with
			 * a gap of up to 3 (slots), a quarter of them lost. */
			next_seq[client] += 1 + rnd(&seed) % 3;
			struct cmd *n = &hist[sent_count[client]++];
			*n = (struct cmd){.seq = next_seq[client],
					  .op = rnd(&seed) % 2 ? DP_CLIENT_PUT : DP_CLIENT_CAS};
			snprintf(n->key, sizeof(n->key), "k%u", (unsigned)(rnd(&seed) % KEYS));
			unsigned e = (unsigned)(rnd(&seed) % 4), v = (unsigned)(rnd(&seed) % 4);
			snprintf(n->expected, sizeof(n->expected), "v%u", e);
			snprintf(n->value, sizeof(n->value), "v%u", v);
			if (rnd(&seed) % 4 == 0) {
				counts[3]++;
				index--; /* lost: never reached the log */
				continue;
			}
			c = n;
		} else {
			/* A retransmit of one of its last 12 commands, lost or not. */
			uint32_t back = (uint32_t)(rnd(&seed) % 12);
			back = back < sent_count[client] ? back : sent_count[client] - 1;
			c = &hist[sent_count[client] - 1 - back];
		}
		uint64_t client_id = 100 + client;
		struct node_kv_result ra = kv_send(a, index, client_id, c);
		struct node_kv_result rb = kv_send(b, index, client_id, c);
		assert_int_equal(ra.status, rb.status);
		assert_int_equal(ra.duplicate, rb.duplicate);
		uint8_t want = 0;
		int v = model_verdict(m, model_find(m, client_id), c->seq, &want);
		if (v == 0) {
			const struct model_session *s = model_find(m, client_id);
			counts[4] += s != NULL && s->count > 0 && c->seq < s->seq[s->count - 1];
			want = model_execute(m, c);
			model_record(m, client_id, index, c->seq, want);
		} else if (v == 2) {
			want = NODE_KV_STALE;
		}
		counts[v]++;
		if (ra.status != want || ra.duplicate != (v == 1)) {
			fail_msg("window %u, index %llu: client %u seq %llu: status %u%s, model %u%s",
				 window, (unsigned long long)index, client,
				 (unsigned long long)c->seq, ra.status,
				 ra.duplicate ? " (dup)" : "", want, v == 1 ? " (dup)" : "");
		}
	}
	for (int k = 0; k < KEYS; k++) {
		char key[4];
		const uint8_t *value;
		uint32_t value_bytes;
		snprintf(key, sizeof(key), "k%d", k);
		int st = node_kv_get(a, (const uint8_t *)key, 2, &value, &value_bytes);
		assert_int_equal(st, m->present[k] ? NODE_KV_OK : NODE_KV_NOT_FOUND);
		if (m->present[k]) {
			assert_int_equal(value_bytes, strlen(m->value[k]));
			assert_memory_equal(value, m->value[k], value_bytes);
		}
	}
	assert_int_equal(node_kv_digest(a), node_kv_digest(b));
	/* Every outcome happened, so each branch was checked. */
	print_message("window %u: %u applied (%u of them late: lost, then retransmitted after "
		      "later ones), %u duplicates, %u stale, %u lost\n",
		      window, counts[0], counts[4], counts[1], counts[2], counts[3]);
	assert_true(counts[0] > 0 && counts[1] > 0 && counts[2] > 0 && counts[3] > 0);
	assert_true(window == 1 || counts[4] > 0); /* a window of 1 has no span */
	for (int i = 0; i < SESSIONS; i++) {
		free(m->s[i].seq);
		free(m->s[i].status);
	}
	free(m);
	free(sent);
	node_kv_destroy(a);
	node_kv_destroy(b);
}

static void test_windows_against_model(void **state)
{
	(void)state;
	static const uint32_t widths[] = {1, 2, 3, 8};
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		run_width(widths[i], 7 + i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_windows_against_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
