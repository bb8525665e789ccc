/* SPDX-License-Identifier: MIT */
/*
 * config_internal.h - what config.c and config_members.c share: the parse
 * state and the helpers that report a key's error with its file and line.
 */
#ifndef RN_CONFIG_INTERNAL_H
#define RN_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Keys read so far (duplicates are errors): a file of 16 members and 16
 * [node.N] sections takes under 400. */
#define CONFIG_KEYS_SEEN_MAX 1024u
struct config_seen {
	const struct node_config_key *key; /* its entry in the key table */
	uint64_t id;			   /* N of [member.N], [node.N]; 0 otherwise */
};

struct config_parse {
	struct node_config *cfg;
	raft_node_id self;
	const char *text; /* for line numbers */
	const char *name;
	char *errmsg;
	size_t errmsg_bytes;
	bool failed;
	uint32_t node_keys_specific; /* bits: keys set by [node.<self>] */
	struct node_config *scratch; /* another node's [node.N], checked and dropped */
	struct config_seen seen[CONFIG_KEYS_SEEN_MAX];
	uint32_t seen_count;
};

/* The first problem, as "FILE:LINE: [section] key: why" in cp->errmsg. */
void config_error(struct config_parse *cp, const char *section, const char *key,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A decimal in [min, max] (size_suffix: K, M, G allowed). */
bool config_u64(const char *v, uint64_t min, uint64_t max, bool size_suffix, uint64_t *out);

/* config_members.c: a key of [member.N]; the members' relations, once
 * everything is read. */
bool config_member(struct config_parse *cp, raft_node_id id, const char *key, const char *v);
/* [cluster] initial_members = 1,2,3 */
bool config_initial_members(struct config_parse *cp, const char *v);
void config_members_check(struct config_parse *cp);

#endif /* RN_CONFIG_INTERNAL_H */
