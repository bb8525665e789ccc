/* SPDX-License-Identifier: MIT */
/*
 * lin.h - a linearizability checker for histories of key-value operations
 * (put, get, delete, compare-and-swap), as the integration tests record them
 * from concurrent clients while leaders are killed and links cut.
 *
 * Method: Wing & Gong's search with Lowe's memoization (as in porcupine),
 * one key at a time (a history of independent registers is linearizable
 * iff each key's sub-history is, Herlihy & Wing's locality). An operation
 * whose outcome is unknown (the client timed out) has no return time: it
 * may take effect at any moment after its call, or never (it can always be
 * placed after everything else).
 */
#ifndef RN_LIN_H
#define RN_LIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum lin_op { LIN_PUT = 1, LIN_GET = 2, LIN_DEL = 3, LIN_CAS = 4 };

enum lin_outcome {
	LIN_OK = 1,
	LIN_NOT_FOUND = 2,
	LIN_MISMATCH = 3, /* cas: the value was not the expected one */
	LIN_UNKNOWN = 4,  /* no reply: may or may not have taken effect */
};

#define LIN_VALUE_NONE UINT64_MAX /* "absent" */
#define LIN_RETURN_NEVER UINT64_MAX

/* One operation. Values are ids (the recorder maps each distinct value to
 * a number); a get that returned a value has it in `result`. */
struct lin_event {
	uint64_t call_us;
	uint64_t return_us; /* LIN_RETURN_NEVER for LIN_UNKNOWN */
	uint32_t client;
	uint8_t op;	    /* enum lin_op */
	uint8_t outcome;    /* enum lin_outcome */
	uint64_t key;
	uint64_t value;	    /* put, cas: the new value */
	uint64_t expected;  /* cas */
	uint64_t result;    /* get with LIN_OK: the value read */
};

struct lin_report {
	bool linearizable;
	uint64_t keys_checked;
	uint64_t ops_checked;
	uint64_t states_explored;
	uint64_t bad_key;	  /* first key found not linearizable */
	uint32_t bad_key_ops;	  /* its operations */
	bool gave_up;		  /* search budget exhausted: unknown */
};

/*
 * Checks events[0..count) (any order). `states_max` bounds the search per
 * key (0 = 10 million): past it the answer is "gave up", never a guess.
 * Returns 0, or -ENOMEM / -EINVAL (an event that makes no sense, e.g. a
 * return before its call).
 */
int lin_check(const struct lin_event *events, size_t count, uint64_t states_max,
	      struct lin_report *report);

/*
 * History text, one operation a line ('#' comments):
 *   CALL_US RETURN_US|- CLIENT put KEY VALUE            ok|?
 *   CALL_US RETURN_US|- CLIENT get KEY                  ok VALUE|not_found|?
 *   CALL_US RETURN_US|- CLIENT del KEY                  ok|not_found|?
 *   CALL_US RETURN_US|- CLIENT cas KEY EXPECTED VALUE   ok|mismatch|not_found|?
 * KEY and VALUE are words; they are mapped to ids. Returns the number of
 * events read into *out (malloc'd), or -1 with a message on stderr.
 */
long lin_parse(FILE *in, struct lin_event **out);

#endif /* RN_LIN_H */
