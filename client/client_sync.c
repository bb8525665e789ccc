/* SPDX-License-Identifier: MIT */
/*
 * client_sync.c - the synchronous calls (put, get, del, cas, status,
 * transfer): one request through the in-flight table, then poll until it
 * completes. One request at a time per client, so a retransmitted write
 * always carries the session's last sequence number and the node answers
 * it exactly once.
 *
 * The reply's value stays in the client's receive buffer: the poll loop
 * stops receiving the moment the request completes, so nothing overwrites
 * it before the caller's next call.
 */
#include <errno.h>
#include <string.h>

#include "client_internal.h"
#include "common.h"

struct sync_wait {
	bool done;
	int rc;
	struct rn_client_result *res;
	struct rn_client *c;
};

static void sync_on_reply(void *ctx, uint64_t user, int rc, const struct rn_client_result *res)
{
	struct sync_wait *w = ctx;
	(void)user;
	RN_ASSERT(!w->done);
	w->done = true;
	w->rc = rc;
	*w->res = *res;
	w->c->rx_stop = true;
}

static int sync_call(struct rn_client *c, const struct rn_client_request *req, uint32_t node_id,
		     bool pinned, struct rn_client_result *res)
{
	RN_ASSERT(c != NULL);
	RN_ASSERT(res != NULL);
	memset(res, 0, sizeof(*res));
	if (c->active_count > 0) {
		return -EBUSY; /* async requests in flight: their replies would be lost */
	}
	int rc = client_submit(c, req, node_id, pinned);
	if (rc != 0) {
		return rc;
	}
	struct sync_wait w = {.res = res, .c = c};
	c->rx_stop = false;
	while (!w.done) {
		rc = rn_client_poll(c, c->cfg.timeout_ms * 1000u, sync_on_reply, &w);
		if (rc < 0) {
			break;
		}
	}
	c->rx_stop = false;
	RN_ASSERT(c->active_count == 0 || !w.done);
	return w.done ? w.rc : rc;
}

int rn_client_put(struct rn_client *c, const void *key, uint32_t key_bytes, const void *value,
		  uint32_t value_bytes, struct rn_client_result *res)
{
	struct rn_client_request req = {.op = DP_CLIENT_PUT, .key = key, .key_bytes = key_bytes,
					.value = value, .value_bytes = value_bytes};
	return sync_call(c, &req, 0, c->cfg.pin_target, res);
}

int rn_client_get(struct rn_client *c, const void *key, uint32_t key_bytes, bool stale,
		  struct rn_client_result *res)
{
	struct rn_client_request req = {.op = stale ? DP_CLIENT_GET_STALE : DP_CLIENT_GET,
					.key = key, .key_bytes = key_bytes};
	return sync_call(c, &req, 0, c->cfg.pin_target, res);
}

int rn_client_del(struct rn_client *c, const void *key, uint32_t key_bytes,
		  struct rn_client_result *res)
{
	struct rn_client_request req = {.op = DP_CLIENT_DELETE, .key = key,
					.key_bytes = key_bytes};
	return sync_call(c, &req, 0, c->cfg.pin_target, res);
}

int rn_client_cas(struct rn_client *c, const void *key, uint32_t key_bytes, const void *expect,
		  uint32_t expect_bytes, const void *value, uint32_t value_bytes,
		  struct rn_client_result *res)
{
	struct rn_client_request req = {.op = DP_CLIENT_CAS, .key = key, .key_bytes = key_bytes,
					.value = value, .value_bytes = value_bytes,
					.expect = expect, .expect_bytes = expect_bytes};
	return sync_call(c, &req, 0, c->cfg.pin_target, res);
}

int rn_client_status(struct rn_client *c, uint32_t node_id, struct rn_client_result *res)
{
	RN_ASSERT(c != NULL);
	uint32_t to = node_id != 0 ? node_id : c->target_id;
	if (client_node(c, to) == NULL) {
		return -RN_CLIENT_E_BAD_NODE;
	}
	struct rn_client_request req = {.op = DP_CLIENT_STATUS, .key = "status", .key_bytes = 6};
	return sync_call(c, &req, to, true, res);
}

int rn_client_reload(struct rn_client *c, uint32_t node_id, struct rn_client_result *res)
{
	RN_ASSERT(c != NULL);
	uint32_t to = node_id != 0 ? node_id : c->target_id;
	if (client_node(c, to) == NULL) {
		return -RN_CLIENT_E_BAD_NODE;
	}
	/* That node's own keys: pinned, no redirect (any node answers). */
	struct rn_client_request req = {.op = DP_CLIENT_STATUS, .key = "reload", .key_bytes = 6};
	return sync_call(c, &req, to, true, res);
}

int rn_client_transfer(struct rn_client *c, uint32_t target_id, struct rn_client_result *res)
{
	RN_ASSERT(c != NULL);
	if (client_node(c, target_id) == NULL) {
		return -RN_CLIENT_E_BAD_NODE;
	}
	uint8_t le[4] = {(uint8_t)target_id, (uint8_t)(target_id >> 8),
			 (uint8_t)(target_id >> 16), (uint8_t)(target_id >> 24)};
	struct rn_client_request req = {.op = DP_CLIENT_TRANSFER, .key = "leader", .key_bytes = 6,
					.value = le, .value_bytes = 4};
	return sync_call(c, &req, 0, c->cfg.pin_target, res);
}

int rn_client_member_change(struct rn_client *c, const uint8_t record[DP_CONF_ENTRY_BYTES],
			    struct rn_client_result *res)
{
	RN_ASSERT(c != NULL && record != NULL);
	struct rn_client_request req = {.op = DP_CLIENT_MEMBER, .key = "member", .key_bytes = 6,
					.value = record, .value_bytes = DP_CONF_ENTRY_BYTES};
	return sync_call(c, &req, 0, c->cfg.pin_target, res);
}

int rn_client_member_list(struct rn_client *c, uint32_t node_id, struct rn_client_result *res)
{
	RN_ASSERT(c != NULL);
	uint32_t to = node_id != 0 ? node_id : c->target_id;
	if (client_node(c, to) == NULL) {
		return -RN_CLIENT_E_BAD_NODE;
	}
	struct rn_client_request req = {.op = DP_CLIENT_MEMBER, .key = "member", .key_bytes = 6};
	return sync_call(c, &req, to, true, res);
}
