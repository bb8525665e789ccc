/* SPDX-License-Identifier: MIT */
/*
 * request.c - a committed client request applied to the state machine.
 * stage: apply (start-up's replay calls it too, before any lcore runs).
 *
 * The log holds each client request exactly as the wire carried it (the
 * request body), so there is one encoding of a command: the wire's,
 * decoded here by the dataplane's codec, which validates every field (the
 * bytes came from a client: never asserted on). Every node decodes the
 * same bytes and so does the same with them.
 */
#include <stdint.h>

#include "common.h"
#include "dataplane.h"
#include "node.h"

void node_kv_apply_request(struct node_kv *kv, raft_index index, const uint8_t *body,
			   uint32_t body_bytes, struct node_kv_result *res)
{
	struct dp_client_request req;
	RN_ASSERT(kv != NULL);
	RN_ASSERT(body != NULL || body_bytes == 0);
	*res = (struct node_kv_result){.status = NODE_KV_BAD_COMMAND};
	/* Only writes go through the log; anything else that decodes (or does
	 * not) is skipped: the index is applied, the state unchanged. */
	if (dp_wire_request_body_decode(body, body_bytes, &req) == 0 &&
	    (req.op == DP_CLIENT_PUT || req.op == DP_CLIENT_DELETE || req.op == DP_CLIENT_CAS) &&
	    req.key_bytes <= UINT16_MAX) {
		struct node_kv_command c = {
			.op = req.op == DP_CLIENT_PUT ? NODE_KV_PUT
			      : req.op == DP_CLIENT_DELETE ? NODE_KV_DEL : NODE_KV_CAS,
			.client_id = req.client_id, .seq = req.request_seq,
			.key = req.key, .key_bytes = (uint16_t)req.key_bytes,
			.value = req.value, .value_bytes = req.value_bytes,
			.expected = req.expect, .expected_bytes = req.expect_bytes};
		node_kv_apply_command(kv, index, &c, res);
	} else {
		node_kv_skip(kv, index);
	}
	RN_ASSERT(node_kv_applied_index(kv) == index); /* applied or skipped, never neither */
}
