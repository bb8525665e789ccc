/* SPDX-License-Identifier: MIT */
/*
 * raftctl_print.c - raftctl's output: JSON strings escaped, the one-line
 * JSON result of put/get/del/cas, and the node's status JSON rendered as
 * indented "key: value" lines for people.
 *
 * The status renderer knows no schema: it re-indents whatever object the
 * node sends (role, term, leader, indexes, a follower table, counters), so
 * a field the node adds shows up without a raftctl change. It is a
 * streaming pass with an explicit container stack (no recursion); text it
 * cannot read as JSON is printed as it came.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftctl.h"

void raftctl_json_string(FILE *out, const uint8_t *s, uint32_t bytes)
{
	fputc('"', out);
	for (uint32_t i = 0; i < bytes; i++) {
		uint8_t ch = s[i];
		if (ch == '"' || ch == '\\') {
			fprintf(out, "\\%c", ch);
		} else if (ch == '\n') {
			fputs("\\n", out);
		} else if (ch < 0x20 || ch == 0x7f) {
			fprintf(out, "\\u%04x", ch);
		} else {
			fputc(ch, out);
		}
	}
	fputc('"', out);
}

void raftctl_print_result_json(FILE *out, const char *status_name,
			       const struct rn_client_result *res)
{
	fprintf(out, "{\"status\":\"%s\"", status_name);
	if (res->value != NULL && res->value_bytes > 0) {
		fputs(",\"value\":", out);
		raftctl_json_string(out, res->value, res->value_bytes);
	}
	fprintf(out, ",\"node\":%u,\"leader\":%u,\"attempts\":%u}\n", res->node_id,
		res->leader_id, res->attempts);
}

#define PRINT_DEPTH_MAX 32

struct print_state {
	FILE *out;
	char kind[PRINT_DEPTH_MAX]; /* '{' or '[' per open container */
	int depth;
	bool expect_key;
	bool line_open; /* "key:" or "-" printed, its value not yet */
	bool dash_open; /* "- " of an object in an array: its first key follows */
};

static void print_indent(struct print_state *p)
{
	for (int i = 1; i < p->depth; i++) {
		fputs("  ", p->out);
	}
}

/* Before a value: an array item gets its dash. */
static void print_value_start(struct print_state *p)
{
	if (p->depth > 0 && p->kind[p->depth - 1] == '[') {
		print_indent(p);
		fputc('-', p->out);
		p->line_open = true;
	}
}

/* A string starting at s[*i] == '"': writes its text, moves *i past it. */
static bool print_string(struct print_state *p, const char *s, size_t n, size_t *i)
{
	for (size_t k = *i + 1; k < n; k++) {
		if (s[k] == '\\' && k + 1 < n) {
			fputc(s[k + 1] == 'n' ? ' ' : s[k + 1], p->out);
			k++;
		} else if (s[k] == '"') {
			*i = k + 1;
			return true;
		} else {
			fputc(s[k], p->out);
		}
	}
	return false;
}

static bool print_open(struct print_state *p, char kind)
{
	if (p->depth == PRINT_DEPTH_MAX) {
		return false;
	}
	print_value_start(p);
	bool item = p->depth > 0 && p->kind[p->depth - 1] == '[';
	if (item && kind == '{') {
		p->dash_open = true; /* "- first_key: value" on one line */
	} else if (p->line_open) {
		fputc('\n', p->out);
		p->line_open = false;
	}
	p->kind[p->depth++] = kind;
	p->expect_key = kind == '{';
	return true;
}

static bool print_close(struct print_state *p, char kind)
{
	if (p->depth == 0 || p->kind[p->depth - 1] != kind) {
		return false;
	}
	if (p->line_open) {
		fputs(" (none)\n", p->out);
		p->line_open = false;
	}
	p->dash_open = false;
	p->depth--;
	p->expect_key = false;
	return true;
}

static bool print_token(struct print_state *p, const char *s, size_t n, size_t *i)
{
	char ch = s[*i];
	if (ch == '{' || ch == '[') {
		(*i)++;
		return print_open(p, ch);
	}
	if (ch == '}' || ch == ']') {
		(*i)++;
		return print_close(p, ch == '}' ? '{' : '[');
	}
	if (ch == ',') {
		(*i)++;
		p->expect_key = p->depth > 0 && p->kind[p->depth - 1] == '{';
		return true;
	}
	if (ch == ':') {
		(*i)++;
		return !p->expect_key;
	}
	if (p->depth == 0 || ch == '\0') {
		return false;
	}
	if (ch == '"' && p->expect_key) {
		if (p->dash_open) {
			fputc(' ', p->out);
			p->dash_open = false;
		} else {
			print_indent(p);
		}
		bool ok = print_string(p, s, n, i);
		fputc(':', p->out);
		p->line_open = true;
		p->expect_key = false;
		return ok;
	}
	print_value_start(p);
	fputc(' ', p->out);
	bool ok = true;
	if (ch == '"') {
		ok = print_string(p, s, n, i);
	} else {
		size_t end = *i;
		while (end < n && strchr(",}] \t\r\n", s[end]) == NULL) {
			end++;
		}
		fwrite(s + *i, 1, end - *i, p->out);
		*i = end;
	}
	fputc('\n', p->out);
	p->line_open = false;
	return ok;
}

static bool print_pretty(FILE *out, const char *s, size_t n)
{
	struct print_state p = {.out = out};
	size_t i = 0;
	while (i < n) {
		if (strchr(" \t\r\n", s[i]) != NULL && s[i] != '\0') {
			i++;
			continue;
		}
		if (!print_token(&p, s, n, &i)) {
			return false;
		}
	}
	return p.depth == 0;
}

void raftctl_print_status(FILE *out, const uint8_t *json, uint32_t bytes)
{
	char *text = NULL;
	size_t text_bytes = 0;
	FILE *mem = open_memstream(&text, &text_bytes);
	bool ok = mem != NULL && print_pretty(mem, (const char *)json, bytes);
	if (mem != NULL) {
		fclose(mem);
	}
	if (ok) {
		fwrite(text, 1, text_bytes, out);
	} else {
		/* Not JSON we can read: show it as it came. */
		fwrite(json, 1, bytes, out);
		fputc('\n', out);
	}
	free(text);
}
