/* SPDX-License-Identifier: MIT */
/*
 * lin.c - see lin.h. The search, per key:
 *
 * The key's calls and returns are sorted by time into a doubly linked list
 * (a call before a return at the same instant: those overlap). Walking it,
 * a call may be linearized now if the model accepts its recorded outcome
 * from the current state; then it and its return are lifted out of the
 * list and the walk restarts at the head. Reaching a return means the
 * operation it ends should have been linearized already: backtrack to the
 * last choice. A set of (linearized operations, state) pairs already tried
 * keeps the search from repeating itself (Lowe). Returns at "never" sort
 * last: reaching one means every operation that did return is placed, and
 * the rest may never have happened.
 */
#include "lin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

struct lin_entry {
	uint64_t time_us;
	bool is_call;
	uint32_t op; /* index into the key's ops */
	struct lin_entry *match; /* call <-> return */
	struct lin_entry *prev, *next;
};

struct lin_seen {
	uint64_t *hashes; /* 0 = empty */
	uint64_t *words;  /* the bitset and state behind each hash, for exactness */
	uint64_t cap, count;
	uint32_t bit_words;
};

/* Model: a register holding a value id or "absent". Returns whether the
 * recorded outcome is possible from `state`, and the state after. */
static bool lin_step(uint64_t state, const struct lin_event *e, uint64_t *next)
{
	bool present = state != LIN_VALUE_NONE;
	bool unknown = e->outcome == LIN_UNKNOWN;
	*next = state;
	switch (e->op) {
	case LIN_PUT:
		*next = e->value;
		return unknown || e->outcome == LIN_OK;
	case LIN_GET:
		if (unknown) {
			return true;
		}
		return present ? e->outcome == LIN_OK && e->result == state
			       : e->outcome == LIN_NOT_FOUND;
	case LIN_DEL:
		*next = LIN_VALUE_NONE;
		return unknown || e->outcome == (present ? LIN_OK : LIN_NOT_FOUND);
	case LIN_CAS:
		if (present && state == e->expected) {
			*next = e->value;
			return unknown || e->outcome == LIN_OK;
		}
		return unknown || e->outcome == (present ? LIN_MISMATCH : LIN_NOT_FOUND);
	default:
		return false;
	}
}

static uint64_t lin_seen_hash(const uint64_t *bits, uint32_t words, uint64_t state)
{
	uint64_t h = rn_mix64(state ^ 0x1234567ull);
	for (uint32_t i = 0; i < words; i++) {
		h = rn_mix64(h ^ bits[i]);
	}
	return h | 1; /* never 0, the empty mark */
}

/* Adds (bits, state); false if it was there already. -1 on no memory. */
static int lin_seen_add(struct lin_seen *s, const uint64_t *bits, uint64_t state)
{
	uint32_t w = s->bit_words + 1;
	if (2 * (s->count + 1) > s->cap) {
		uint64_t cap = s->cap ? 2 * s->cap : 1024;
		uint64_t *hashes = calloc(cap, sizeof(*hashes));
		uint64_t *words = malloc(cap * w * sizeof(*words));
		if (hashes == NULL || words == NULL) {
			free(hashes);
			free(words);
			return -1;
		}
		for (uint64_t i = 0; i < s->cap; i++) {
			if (s->hashes[i] == 0) {
				continue;
			}
			uint64_t j = s->hashes[i] & (cap - 1);
			while (hashes[j] != 0) {
				j = (j + 1) & (cap - 1);
			}
			hashes[j] = s->hashes[i];
			memcpy(&words[j * w], &s->words[i * w], w * sizeof(*words));
		}
		free(s->hashes);
		free(s->words);
		s->hashes = hashes;
		s->words = words;
		s->cap = cap;
	}
	uint64_t h = lin_seen_hash(bits, s->bit_words, state);
	uint64_t j = h & (s->cap - 1);
	while (s->hashes[j] != 0) {
		const uint64_t *k = &s->words[j * w];
		if (s->hashes[j] == h && k[0] == state &&
		    memcmp(k + 1, bits, s->bit_words * sizeof(*bits)) == 0) {
			return 0;
		}
		j = (j + 1) & (s->cap - 1);
	}
	s->hashes[j] = h;
	s->words[j * w] = state;
	memcpy(&s->words[j * w + 1], bits, s->bit_words * sizeof(*bits));
	s->count++;
	return 1;
}

static int lin_entry_cmp(const void *a, const void *b)
{
	const struct lin_entry *x = a, *y = b;
	if (x->time_us != y->time_us) {
		return x->time_us < y->time_us ? -1 : 1;
	}
	if (x->is_call != y->is_call) {
		return x->is_call ? -1 : 1; /* overlap at equal times */
	}
	return x->op < y->op ? -1 : (x->op > y->op);
}

static void lin_lift(struct lin_entry *call)
{
	call->prev->next = call->next;
	if (call->next != NULL) {
		call->next->prev = call->prev;
	}
	struct lin_entry *ret = call->match;
	ret->prev->next = ret->next;
	if (ret->next != NULL) {
		ret->next->prev = ret->prev;
	}
}

static void lin_unlift(struct lin_entry *call)
{
	struct lin_entry *ret = call->match;
	ret->prev->next = ret;
	if (ret->next != NULL) {
		ret->next->prev = ret;
	}
	call->prev->next = call;
	if (call->next != NULL) {
		call->next->prev = call;
	}
}

struct lin_frame {
	struct lin_entry *call;
	uint64_t state;
};

/* One key's operations: 1 linearizable, 0 not, -2 gave up, -1 no memory. */
static int lin_check_key(const struct lin_event **ops, uint32_t n, uint64_t states_max,
			 uint64_t *explored)
{
	int rc = -1;
	uint32_t words = (n + 63) / 64;
	struct lin_entry *entries = calloc(2 * (size_t)n + 1, sizeof(*entries));
	struct lin_frame *stack = calloc(n + 1, sizeof(*stack));
	uint64_t *bits = calloc(words + 1, sizeof(*bits));
	struct lin_seen seen = {.bit_words = words};
	if (entries == NULL || stack == NULL || bits == NULL) {
		goto out;
	}
	struct lin_entry *sorted = entries + 1;
	for (uint32_t i = 0; i < n; i++) {
		sorted[2 * i] = (struct lin_entry){.time_us = ops[i]->call_us, .is_call = true, .op = i};
		sorted[2 * i + 1] = (struct lin_entry){.time_us = ops[i]->return_us, .op = i};
	}
	qsort(sorted, 2 * (size_t)n, sizeof(*sorted), lin_entry_cmp);
	/* Link the list (entries[0] is the head) and pair calls and returns. */
	uint32_t *call_pos = calloc(n, sizeof(*call_pos));
	uint32_t *ret_pos = calloc(n, sizeof(*ret_pos));
	if (call_pos == NULL || ret_pos == NULL) {
		free(call_pos);
		free(ret_pos);
		goto out;
	}
	for (uint32_t i = 0; i < 2 * n; i++) {
		(sorted[i].is_call ? call_pos : ret_pos)[sorted[i].op] = i;
	}
	for (uint32_t i = 0; i < n; i++) {
		sorted[call_pos[i]].match = &sorted[ret_pos[i]];
		sorted[ret_pos[i]].match = &sorted[call_pos[i]];
	}
	free(call_pos);
	free(ret_pos);
	for (uint32_t i = 0; i <= 2 * n; i++) {
		entries[i].prev = i > 0 ? &entries[i - 1] : NULL;
		entries[i].next = i < 2 * n ? &entries[i + 1] : NULL;
	}
	struct lin_entry *head = &entries[0];
	uint64_t state = LIN_VALUE_NONE;
	uint32_t depth = 0;
	struct lin_entry *e = head->next;
	uint64_t steps = 0;
	while (e != NULL) {
		++*explored;
		if (++steps > states_max) {
			rc = -2;
			goto out;
		}
		if (e->is_call) {
			uint64_t next;
			if (lin_step(state, ops[e->op], &next)) {
				bits[e->op / 64] |= 1ull << (e->op % 64);
				int added = lin_seen_add(&seen, bits, next);
				if (added < 0) {
					goto out;
				}
				if (added) {
					stack[depth++] = (struct lin_frame){e, state};
					state = next;
					lin_lift(e);
					e = head->next;
					continue;
				}
				bits[e->op / 64] &= ~(1ull << (e->op % 64));
			}
			e = e->next;
			continue;
		}
		if (e->time_us == LIN_RETURN_NEVER) {
			break; /* only ops that may never have happened are left */
		}
		if (depth == 0) {
			rc = 0; /* this return cannot be preceded by its operation */
			goto out;
		}
		struct lin_frame f = stack[--depth];
		bits[f.call->op / 64] &= ~(1ull << (f.call->op % 64));
		state = f.state;
		lin_unlift(f.call);
		e = f.call->next;
	}
	rc = 1;
out:
	free(entries);
	free(stack);
	free(bits);
	free(seen.hashes);
	free(seen.words);
	return rc;
}

static int lin_cmp_key(const void *a, const void *b)
{
	const struct lin_event *x = *(const struct lin_event *const *)a;
	const struct lin_event *y = *(const struct lin_event *const *)b;
	if (x->key != y->key) {
		return x->key < y->key ? -1 : 1;
	}
	return x->call_us < y->call_us ? -1 : (x->call_us > y->call_us);
}

int lin_check(const struct lin_event *events, size_t count, uint64_t states_max,
	      struct lin_report *report)
{
	*report = (struct lin_report){.linearizable = true};
	if (states_max == 0) {
		states_max = 10000000;
	}
	for (size_t i = 0; i < count; i++) {
		const struct lin_event *e = &events[i];
		bool never = e->return_us == LIN_RETURN_NEVER;
		if (e->op < LIN_PUT || e->op > LIN_CAS || e->outcome < LIN_OK ||
		    e->outcome > LIN_UNKNOWN || never != (e->outcome == LIN_UNKNOWN) ||
		    (!never && e->return_us < e->call_us)) {
			return -EINVAL;
		}
	}
	const struct lin_event **by_key = malloc((count + 1) * sizeof(*by_key));
	if (by_key == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		by_key[i] = &events[i];
	}
	qsort(by_key, count, sizeof(*by_key), lin_cmp_key);
	int rc = 0;
	for (size_t first = 0; first < count;) {
		size_t last = first;
		while (last < count && by_key[last]->key == by_key[first]->key) {
			last++;
		}
		int ok = lin_check_key(&by_key[first], (uint32_t)(last - first), states_max,
				       &report->states_explored);
		report->keys_checked++;
		report->ops_checked += last - first;
		if (ok == -1) {
			rc = -ENOMEM;
			break;
		}
		if (ok != 1) {
			report->linearizable = false;
			report->gave_up = ok == -2;
			report->bad_key = by_key[first]->key;
			report->bad_key_ops = (uint32_t)(last - first);
			break;
		}
		first = last;
	}
	free(by_key);
	return rc;
}
