/* SPDX-License-Identifier: MIT */
/*
 * lin_parse.c - reads the history text of lin.h: one operation a line,
 * keys and values as words mapped to ids in order of first appearance.
 */
#include <stdlib.h>
#include <string.h>

#include "lin.h"

struct lin_names {
	char **words;
	size_t count, cap;
	uint64_t *table; /* open addressing over word indices + 1, 0 = empty */
	size_t table_cap;
};

static uint64_t lin_name_hash(const char *w)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *w; w++) {
		h = (h ^ (uint8_t)*w) * 0x100000001b3ull;
	}
	return h;
}

static int lin_names_grow(struct lin_names *n)
{
	size_t cap = n->table_cap ? 2 * n->table_cap : 256;
	uint64_t *t = calloc(cap, sizeof(*t));
	if (t == NULL) {
		return -1;
	}
	for (size_t i = 0; i < n->count; i++) {
		size_t j = lin_name_hash(n->words[i]) & (cap - 1);
		while (t[j] != 0) {
			j = (j + 1) & (cap - 1);
		}
		t[j] = i + 1;
	}
	free(n->table);
	n->table = t;
	n->table_cap = cap;
	return 0;
}

/* The id of `w` (0, 1, 2, ... by first appearance), or UINT64_MAX. */
static uint64_t lin_name_id(struct lin_names *n, const char *w)
{
	if (2 * (n->count + 1) > n->table_cap && lin_names_grow(n) != 0) {
		return UINT64_MAX;
	}
	size_t j = lin_name_hash(w) & (n->table_cap - 1);
	while (n->table[j] != 0) {
		if (strcmp(n->words[n->table[j] - 1], w) == 0) {
			return n->table[j] - 1;
		}
		j = (j + 1) & (n->table_cap - 1);
	}
	if (n->count == n->cap) {
		size_t cap = n->cap ? 2 * n->cap : 256;
		char **words = realloc(n->words, cap * sizeof(*words));
		if (words == NULL) {
			return UINT64_MAX;
		}
		n->words = words;
		n->cap = cap;
	}
	n->words[n->count] = strdup(w);
	if (n->words[n->count] == NULL) {
		return UINT64_MAX;
	}
	n->table[j] = ++n->count;
	return n->count - 1;
}

static void lin_names_free(struct lin_names *n)
{
	for (size_t i = 0; i < n->count; i++) {
		free(n->words[i]);
	}
	free(n->words);
	free(n->table);
}

static bool lin_parse_u64(const char *t, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v = strtoull(t, &end, 10);
	if (end == t || *end != '\0' || t[0] == '-') {
		return false;
	}
	*out = v;
	return true;
}

/* Parses one line's tokens into *e; false when malformed. */
static bool lin_parse_line(struct lin_names *keys, struct lin_names *vals, char **tok, int n,
			   struct lin_event *e)
{
	static const char *const ops[] = {NULL, "put", "get", "del", "cas"};
	static const int args[] = {0, 1, 0, 0, 2}; /* words after the key */
	uint64_t client = 0;
	*e = (struct lin_event){0};
	if (n < 6 || !lin_parse_u64(tok[0], &e->call_us) || !lin_parse_u64(tok[2], &client)) {
		return false;
	}
	e->client = (uint32_t)client;
	for (uint8_t i = 1; i <= LIN_CAS; i++) {
		if (strcmp(tok[3], ops[i]) == 0) {
			e->op = i;
		}
	}
	if (e->op == 0 || n < 5 + args[e->op] + 1) {
		return false;
	}
	e->key = lin_name_id(keys, tok[4]);
	int at = 5;
	if (e->op == LIN_CAS) {
		e->expected = lin_name_id(vals, tok[at++]);
	}
	if (e->op == LIN_PUT || e->op == LIN_CAS) {
		e->value = lin_name_id(vals, tok[at++]);
	}
	const char *out = tok[at++];
	if (strcmp(out, "?") == 0) {
		e->outcome = LIN_UNKNOWN;
	} else if (strcmp(out, "ok") == 0) {
		e->outcome = LIN_OK;
	} else if (strcmp(out, "not_found") == 0) {
		e->outcome = LIN_NOT_FOUND;
	} else if (strcmp(out, "mismatch") == 0) {
		e->outcome = LIN_MISMATCH;
	} else {
		return false;
	}
	if (e->op == LIN_GET && e->outcome == LIN_OK) {
		if (at >= n) {
			return false;
		}
		e->result = lin_name_id(vals, tok[at++]);
	}
	if (strcmp(tok[1], "-") == 0) {
		e->return_us = LIN_RETURN_NEVER;
	} else if (!lin_parse_u64(tok[1], &e->return_us)) {
		return false;
	}
	return at == n;
}

long lin_parse(FILE *in, struct lin_event **out)
{
	struct lin_names keys = {0}, vals = {0};
	struct lin_event *events = NULL;
	size_t count = 0, cap = 0;
	char line[1024];
	long line_no = 0;
	long rc = -1;

	while (fgets(line, sizeof(line), in) != NULL) {
		line_no++;
		char *hash = strchr(line, '#');
		if (hash != NULL) {
			*hash = '\0';
		}
		char *tok[12];
		int n = 0;
		for (char *t = strtok(line, " \t\r\n"); t != NULL && n < 12; t = strtok(NULL, " \t\r\n")) {
			tok[n++] = t;
		}
		if (n == 0) {
			continue;
		}
		if (count == cap) {
			cap = cap ? 2 * cap : 1024;
			struct lin_event *grown = realloc(events, cap * sizeof(*events));
			if (grown == NULL) {
				fprintf(stderr, "lincheck: out of memory\n");
				goto done;
			}
			events = grown;
		}
		if (!lin_parse_line(&keys, &vals, tok, n, &events[count])) {
			fprintf(stderr, "lincheck: line %ld: malformed operation\n", line_no);
			goto done;
		}
		count++;
	}
	*out = events;
	events = NULL;
	rc = (long)count;
done:
	free(events);
	lin_names_free(&keys);
	lin_names_free(&vals);
	return rc;
}
