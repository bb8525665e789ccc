/* SPDX-License-Identifier: MIT */
/*
 * raftctl_reload.c - `raftctl reload`: a node (--node) or every node of
 * the cluster file, one after the other, re-reads its key files exactly
 * as SIGHUP does (node/keys.c) and answers with the outcome: the keys in
 * force (each role's sealing key and every id accepted), or the error and
 * the keys it kept. The request must be sealed with an admin key
 * (--admin-key FILE, else [cluster] admin_key_file): a node refuses one
 * sealed with the plain client key and counts it (status admin.refused_key).
 * A node that predates reload answers its status instead (admin.h says
 * why); that is reported as "not reloaded", never as success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftctl.h"

/* The value's text after "name": in a small flat JSON, or NULL. */
static const char *reload_find(const char *json, const char *name)
{
	char pat[40];
	snprintf(pat, sizeof(pat), "\"%s\":", name);
	const char *at = strstr(json, pat);
	return at != NULL ? at + strlen(pat) : NULL;
}

/* A JSON string value (after its opening quote) unescaped into out. */
static void reload_string(const char *p, char *out, size_t out_bytes)
{
	size_t at = 0;
	for (; *p != '\0' && *p != '"' && at + 1 < out_bytes; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
		}
		out[at++] = *p;
	}
	out[at] = '\0';
}

/* "peer key 102 seals (102, 101), client key 10 seals (10)" from the
 * answer's per-role objects {"seals":N,"ids":[...]}. */
static void reload_keys_line(const char *json, char *out, size_t out_bytes)
{
	static const char *const roles[] = {"peer", "client", "admin"};
	size_t at = 0;
	out[0] = '\0';
	for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
		const char *p = reload_find(json, roles[r]);
		unsigned seals = 0;
		if (p == NULL || sscanf(p, "{\"seals\":%u", &seals) != 1 ||
		    (p = strstr(p, "\"ids\":[")) == NULL) {
			continue;
		}
		p += 7;
		int n = snprintf(out + at, out_bytes - at, "%s%s key %u seals (accepted: ",
				 at == 0 ? "" : ", ", roles[r], seals);
		at += n > 0 ? (size_t)n : 0;
		size_t ids = strcspn(p, "]");
		n = snprintf(out + at, at < out_bytes ? out_bytes - at : 0, "%.*s)", (int)ids, p);
		at += n > 0 ? (size_t)n : 0;
		if (at >= out_bytes) {
			out[out_bytes - 1] = '\0';
			return;
		}
	}
}

/* One node's answer printed; 0 when it reloaded. */
static int reload_report(uint32_t node, int rc, const struct rn_client_result *res, bool json)
{
	if (rc != 0) {
		fprintf(stderr, "raftctl: reload: node %u: %s\n", node,
			rc == -RN_CLIENT_E_TIMEOUT ? "no answer (down or unreachable?)"
						   : rn_client_strerror(rc));
		return 1;
	}
	char text[1200], line[600], why[600];
	snprintf(text, sizeof(text), "%.*s", (int)res->value_bytes, (const char *)res->value);
	const char *kind = reload_find(text, "reload");
	if (kind == NULL) {
		/* An older node: STATUS with any key is its status. */
		fprintf(stderr, "raftctl: reload: node %u answered with its status, not a reload: "
				"it runs a raftnode that does not know `raftctl reload` (older "
				"than this raftctl): its keys were NOT reloaded (send it SIGHUP)\n",
			node);
		return 1;
	}
	if (json) {
		printf("%s\n", text);
	}
	const char *err = reload_find(text, "error");
	reload_string(err != NULL && err[0] == '"' ? err + 1 : "", why, sizeof(why));
	reload_keys_line(text, line, sizeof(line));
	if (res->status == DP_CLIENT_OK && strncmp(kind, "\"ok\"", 4) == 0) {
		if (!json) {
			printf("node %u: keys reloaded: %s\n", node, line);
		}
		return 0;
	}
	if (strncmp(kind, "\"refused_key\"", 13) == 0) {
		const char *id = reload_find(text, "key_id");
		fprintf(stderr, "raftctl: reload: node %u refused it: %s; this raftctl sealed it "
				"with key %u: give it an admin key file (--admin-key FILE, or "
				"[cluster] admin_key_file; the node counts these refusals in its "
				"status, admin.refused_key)\n",
			node, why, id != NULL ? (unsigned)strtoul(id, NULL, 10) : 0u);
	} else if (strncmp(kind, "\"refused\"", 9) == 0) {
		fprintf(stderr, "raftctl: reload: node %u: reload refused, old keys still in "
				"force: %s (keys: %s)\n", node, why, line);
	} else {
		fprintf(stderr, "raftctl: reload: node %u: %s (%s)\n", node,
			rn_client_status_name(res->status), why[0] != '\0' ? why : text);
	}
	return 1;
}

int raftctl_reload(struct rn_client *c, const struct rn_client_config *cfg, uint32_t node,
		   bool json)
{
	int failed = 0;
	for (uint32_t i = 0; i < cfg->nodes_count; i++) {
		uint32_t id = node != 0 ? node : cfg->nodes[i].id;
		struct rn_client_result res;
		int rc = rn_client_reload(c, id, &res);
		failed += reload_report(id, rc, &res, json);
		if (node != 0) {
			break;
		}
	}
	return failed == 0 ? 0 : 1;
}
