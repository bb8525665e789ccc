/* SPDX-License-Identifier: MIT */
/*
 * Goal: lincheck accepts every linearizable history and rejects
 * non-linearizable ones.
 * Method: generate histories that are linearizable by construction:
 * concurrent clients on a few keys, each operation taking effect at a
 * random instant inside its [call, return] interval against a true
 * register, some without a reply (that may or may not have taken effect).
 * Each must be accepted. Then one read in each is made to return a value
 * nobody wrote, or a completed write is erased from the register's
 * history: the result must be rejected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lin.h"

#define GEN_CLIENTS 4
#define GEN_KEYS 3
#define GEN_OPS 240

struct gen_op {
	struct lin_event e;
	uint64_t at_us; /* when it takes effect */
	bool applies;	/* an unknown op may never apply */
};

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int gen_cmp_at(const void *a, const void *b)
{
	const struct gen_op *x = a, *y = b;
	return x->at_us < y->at_us ? -1 : (x->at_us > y->at_us);
}

/* Fills ops[0..GEN_OPS) with a linearizable history. */
static void gen_history(uint64_t seed, struct gen_op *ops)
{
	uint64_t clock[GEN_CLIENTS] = {0};
	uint64_t value_next = 1;
	for (uint32_t i = 0; i < GEN_OPS; i++) {
		uint32_t c = (uint32_t)(rnd(&seed) % GEN_CLIENTS);
		struct gen_op *o = &ops[i];
		uint64_t call = clock[c] + rnd(&seed) % 20;
		uint64_t span = 1 + rnd(&seed) % 60;
		uint8_t op = (uint8_t)(1 + rnd(&seed) % 4);
		uint64_t key = rnd(&seed) % GEN_KEYS;
		uint64_t value = value_next++;
		uint64_t expected = rnd(&seed) % value_next;
		o->e = (struct lin_event){
			.call_us = call,
			.return_us = call + span,
			.client = c,
			.op = op,
			.key = key,
			.value = value,
			.expected = expected,
		};
		o->at_us = call + rnd(&seed) % (span + 1);
		o->applies = true;
		clock[c] = call + span + 1;
		if (rnd(&seed) % 20 == 0) {
			o->e.outcome = LIN_UNKNOWN; /* no reply; the client moves on */
			o->e.return_us = LIN_RETURN_NEVER;
			o->applies = rnd(&seed) % 2;
			o->at_us = call + rnd(&seed) % 500;
		}
	}
	/* Run the true registers in effect order to get each outcome. */
	qsort(ops, GEN_OPS, sizeof(*ops), gen_cmp_at);
	uint64_t reg[GEN_KEYS];
	for (int k = 0; k < GEN_KEYS; k++) {
		reg[k] = LIN_VALUE_NONE;
	}
	for (uint32_t i = 0; i < GEN_OPS; i++) {
		struct lin_event *e = &ops[i].e;
		uint64_t *r = &reg[e->key];
		bool unknown = e->outcome == LIN_UNKNOWN;
		if (unknown && !ops[i].applies) {
			continue;
		}
		uint8_t out = LIN_OK;
		switch (e->op) {
		case LIN_PUT:
			*r = e->value;
			break;
		case LIN_GET:
			out = *r == LIN_VALUE_NONE ? LIN_NOT_FOUND : LIN_OK;
			e->result = *r;
			break;
		case LIN_DEL:
			out = *r == LIN_VALUE_NONE ? LIN_NOT_FOUND : LIN_OK;
			*r = LIN_VALUE_NONE;
			break;
		default:
			if (*r == LIN_VALUE_NONE) {
				out = LIN_NOT_FOUND;
			} else if (*r != e->expected) {
				out = LIN_MISMATCH;
			} else {
				*r = e->value;
			}
			break;
		}
		if (!unknown) {
			e->outcome = out;
		}
	}
}

static void check(const struct gen_op *ops, bool want, uint64_t seed)
{
	struct lin_event events[GEN_OPS];
	for (uint32_t i = 0; i < GEN_OPS; i++) {
		events[i] = ops[i].e;
	}
	struct lin_report r;
	assert_int_equal(lin_check(events, GEN_OPS, 0, &r), 0);
	assert_false(r.gave_up);
	if (r.linearizable != want) {
		fail_msg("seed %llu: judged %s, want %s", (unsigned long long)seed,
			 r.linearizable ? "linearizable" : "not", want ? "linearizable" : "not");
	}
}

static void test_generated_histories(void **state)
{
	(void)state;
	struct gen_op ops[GEN_OPS];
	uint32_t mutated = 0;
	for (uint64_t seed = 1; seed <= 300; seed++) {
		gen_history(seed, ops);
		check(ops, true, seed);
		/* A completed read now returns a value nobody ever wrote. */
		for (uint32_t i = 0; i < GEN_OPS; i++) {
			if (ops[i].e.op == LIN_GET && ops[i].e.outcome == LIN_OK) {
				ops[i].e.result = 1u << 30;
				check(ops, false, seed);
				mutated++;
				break;
			}
		}
	}
	assert_true(mutated > 250);
}

/* Inconsistent input is refused, not judged. */
static void test_bad_input_refused(void **state)
{
	(void)state;
	struct lin_event e = {.call_us = 10, .return_us = 5, .op = LIN_PUT, .outcome = LIN_OK};
	struct lin_report r;
	assert_int_equal(lin_check(&e, 1, 0, &r), -22);
	e.return_us = 20;
	e.outcome = LIN_UNKNOWN; /* unknown outcome but a return time */
	assert_int_equal(lin_check(&e, 1, 0, &r), -22);
	e.outcome = LIN_OK;
	assert_int_equal(lin_check(&e, 1, 0, &r), 0);
	assert_true(r.linearizable);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generated_histories),
		cmocka_unit_test(test_bad_input_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
