/* SPDX-License-Identifier: MIT */
/*
 * raftctl.h - what raftctl.c (commands) uses from raftctl_print.c (output).
 */
#ifndef RN_RAFTCTL_H
#define RN_RAFTCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "rn_client.h"

void raftctl_json_string(FILE *out, const uint8_t *s, uint32_t bytes);
/* {"status":"ok","value":"v","node":2,"leader":1,"attempts":1} and a newline. */
void raftctl_print_result_json(FILE *out, const char *status_name,
			       const struct rn_client_result *res);
/* The node's status JSON as indented "key: value" lines (as-is if it is
 * not JSON raftctl can read). */
void raftctl_print_status(FILE *out, const uint8_t *json, uint32_t bytes);

/* raftctl_member.c: `member list | add-learner ID ADDR | promote ID |
 * remove ID` (exit code); cfg: the cluster file's nodes (default port). */
int raftctl_member(struct rn_client *c, const struct rn_client_config *cfg, uint32_t node,
		   bool pinned, bool json, char **args, int count);

/* raftctl_snapshot.c: node node_id's configuration as the node reads it,
 * or NULL after saying why on stderr (free() it); `snapshot save FILE`
 * (exit code). */
struct node_config;
struct node_config *raftctl_node_config(const char *config_path, uint32_t node_id);
int raftctl_snapshot_save(const char *config_path, uint32_t node_id, const char *file, bool json);

/* raftctl_reload.c: `reload`: node (0: every node of cfg, one after the
 * other) re-reads its key files; prints each outcome (exit code). */
int raftctl_reload(struct rn_client *c, const struct rn_client_config *cfg, uint32_t node,
		   bool json);

/* raftctl_metrics.c: `metrics`: the node's Prometheus text (exit code). */
int raftctl_metrics(const char *config_path, uint32_t node_id, uint32_t timeout_ms);

#endif /* RN_RAFTCTL_H */
