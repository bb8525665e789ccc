/* SPDX-License-Identifier: MIT */
/*
 * forge - sends hostile frames to a node from a kernel UDP socket, for
 * integration tests (e) and (r): client requests and consensus messages
 * sealed with a wrong key, frames of another cluster, random bytes, valid
 * frames cut short or with a flipped bit, and an old client's frame (the
 * right key and cluster, wire version 2: dropped as bad_version); and
 * (--consensus KEY_FILE) AppendEntries and votes claiming to be a member,
 * sealed with a key the test names: a client key (dropped as client_key),
 * the peer key from this socket's address (wrong_address), a retired key
 * (unknown_key). Every one must be dropped and counted by the node while
 * it keeps serving; the tests read the node's counters before and after.
 *
 *   forge --config FILE --node ID [--count N]
 *   forge --config FILE --node ID --consensus KEY_FILE [--from M] [--count N]
 *   forge --config FILE --node ID --request KEY_FILE [--count N]
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rn_client.h"

static const char forge_usage[] =
	"usage: forge --config FILE --node ID [--count N]\n"
	"         hostile frames: wrong key, other cluster, flipped bits, random, version 2\n"
	"       forge --config FILE --node ID --consensus KEY_FILE [--from M] [--count N]\n"
	"         AppendEntries and votes claiming member M, sealed with KEY_FILE's first key\n"
	"       forge --config FILE --node ID --request KEY_FILE [--count N]\n"
	"         client writes sealed with KEY_FILE's first key\n";

struct forge {
	int fd;
	struct sockaddr_in to;
	uint32_t sent;
};

static void forge_send(struct forge *f, const uint8_t *bytes, size_t count)
{
	if (sendto(f->fd, bytes, count, 0, (const struct sockaddr *)&f->to, sizeof(f->to)) ==
	    (ssize_t)count) {
		f->sent++;
	}
}

/* A wire that seals every frame with `key` (its first key, its id): as a
 * consensus frame under the role PEER, whatever the key really is - what a
 * forger holding that key would do. */
static int forge_wire(struct dp_wire *w, struct dp_keyring *ring, uint32_t cluster_id,
		      const struct dp_key_file *key, bool raft)
{
	char why[256];
	memset(ring, 0, sizeof(*ring));
	struct dp_key_file one = *key;
	one.count = 1;
	int rc = dp_keyring_set(ring, cluster_id, raft ? DP_KEY_ROLE_PEER : DP_KEY_ROLE_CLIENT,
				&one, why, sizeof(why));
	dp_key_file_wipe(&one);
	if (rc != 0) {
		fprintf(stderr, "forge: %s\n", why);
		return rc;
	}
	struct dp_wire_config wc = {.cluster_id = cluster_id, .self_id = 0, .keys = ring,
				    .udp_port = 9000};
	return dp_wire_init(w, &wc);
}

/* Consensus kinds a forger sends (--consensus). */
enum forge_msg { FORGE_HEARTBEAT, FORGE_APPEND, FORGE_VOTE };

/* A frame sealed with `key`: a client PUT, or a consensus message from
 * node `from` (a heartbeat, an AppendEntries carrying a forged write, a
 * RequestVote for a term far ahead). */
static int forge_frame(uint32_t cluster_id, const struct dp_key_file *key, uint32_t to,
		       bool raft, enum forge_msg kind, raft_node_id from, uint64_t seq, uint8_t *buf,
		       size_t buf_bytes)
{
	static struct dp_keyring ring;
	struct dp_wire w;
	if (forge_wire(&w, &ring, cluster_id, key, raft) != 0) {
		return -1;
	}
	struct dp_endpoints addr = {0};
	int n;
	if (raft) {
		static const uint8_t forged[] = "forged-append";
		const uint8_t *payloads[1] = {forged};
		struct raft_entry e = {.term = 1u << 30, .index = 1, .payload_bytes = 13,
				       .type = RAFT_ENTRY_NORMAL};
		struct raft_message m = {.from = from, .to = to, .term = 1u << 30};
		if (kind == FORGE_APPEND) {
			m.type = RAFT_MSG_APPEND;
			m.append = (struct raft_msg_append){.prev_index = 0, .prev_term = 0,
							    .commit_index = 1, .entries = &e,
							    .entries_count = 1};
		} else if (kind == FORGE_VOTE) {
			m.type = RAFT_MSG_VOTE;
			m.vote = (struct raft_msg_vote){.last_log_index = 1u << 30,
							.last_log_term = 1u << 30};
		} else {
			m.type = RAFT_MSG_HEARTBEAT;
			m.heartbeat.commit_index = 1u << 20;
		}
		n = dp_wire_encode_raft(&w, &addr, seq, &m, kind == FORGE_APPEND ? payloads : NULL,
					buf, buf_bytes);
	} else {
		static const uint8_t k[] = "forged", value[] = "forged-value";
		struct dp_client_request req = {.client_id = 666, .request_seq = seq,
						.op = DP_CLIENT_PUT, .key = k, .key_bytes = 6,
						.value = value, .value_bytes = 12};
		n = dp_wire_encode_request(&w, &addr, seq, to, &req, buf, buf_bytes);
	}
	dp_wire_fini(&w);
	dp_keyring_wipe(&ring);
	return n;
}

/* --consensus / --request: count frames sealed with the key file's first
 * key (a client key, a retired key, the peer key from the wrong address). */
static int forge_keyed(struct forge *f, const struct rn_client_config *cfg, uint32_t node,
		       const char *key_path, bool raft, raft_node_id from, uint32_t count)
{
	static struct dp_key_file key;
	uint8_t buf[DP_FRAME_BYTES_MAX];
	char errmsg[512];
	if (dp_key_file_load(key_path, &key, errmsg, sizeof(errmsg)) != 0) {
		fprintf(stderr, "forge: %s\n", errmsg);
		return 2;
	}
	uint32_t kinds[3] = {0};
	for (uint32_t i = 0; i < count; i++) {
		/* Half AppendEntries, half votes (and a heartbeat now and then). */
		enum forge_msg kind = i % 8 == 7 ? FORGE_HEARTBEAT : i % 2 ? FORGE_VOTE : FORGE_APPEND;
		int n = forge_frame(cfg->cluster_id, &key, node, raft, kind, from, i + 1, buf,
				    sizeof(buf));
		if (n <= (int)DP_UDP_PAYLOAD_OFFSET) {
			fprintf(stderr, "forge: could not build a frame\n");
			return 1;
		}
		forge_send(f, buf + DP_UDP_PAYLOAD_OFFSET, (size_t)n - DP_UDP_PAYLOAD_OFFSET);
		kinds[kind]++;
		usleep(200);
	}
	if (raft) {
		printf("forge: sent %u consensus frames claiming node %u to node %u, sealed with key "
		       "%u of %s: %u AppendEntries, %u RequestVote, %u heartbeats\n",
		       f->sent, from, node, key.key_id[0], key_path, kinds[FORGE_APPEND],
		       kinds[FORGE_VOTE], kinds[FORGE_HEARTBEAT]);
	} else {
		printf("forge: sent %u client writes to node %u sealed with key %u of %s\n", f->sent,
		       node, key.key_id[0], key_path);
	}
	dp_key_file_wipe(&key);
	return f->sent == count ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"node", required_argument, NULL, 'n'},
					     {"count", required_argument, NULL, 'k'},
					     {"consensus", required_argument, NULL, 'C'},
					     {"request", required_argument, NULL, 'R'},
					     {"from", required_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *config = NULL, *key_path = NULL;
	uint32_t node = 0, count = 100, from = 0;
	bool raft = false;
	int o;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': config = optarg; break;
		case 'n': node = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'k': count = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'C': key_path = optarg; raft = true; break;
		case 'R': key_path = optarg; raft = false; break;
		case 'f': from = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'h': printf("%s", forge_usage); return 0;
		default: return 2;
		}
	}
	struct rn_client_config cfg;
	char errmsg[512];
	rn_client_config_default(&cfg);
	if (rn_client_config_load(config != NULL ? config : rn_client_config_default_path(), &cfg,
				  errmsg, sizeof(errmsg)) != 0) {
		fprintf(stderr, "forge: %s\n", errmsg);
		return 2;
	}
	const struct rn_client_node *target = NULL;
	for (uint32_t i = 0; i < cfg.nodes_count; i++) {
		target = cfg.nodes[i].id == node ? &cfg.nodes[i] : target;
	}
	if (target == NULL) {
		fprintf(stderr, "%s(no node %u)\n", forge_usage, node);
		return 2;
	}
	struct forge f = {.fd = socket(AF_INET, SOCK_DGRAM, 0)};
	f.to = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(target->udp_port),
				    .sin_addr.s_addr = htonl(target->ip)};
	if (key_path != NULL) {
		/* Claims another member by default: the first that is not node. */
		for (uint32_t i = 0; from == 0 && i < cfg.nodes_count; i++) {
			from = cfg.nodes[i].id != node ? cfg.nodes[i].id : 0;
		}
		int rc = forge_keyed(&f, &cfg, node, key_path, raft, from, count);
		close(f.fd);
		rn_client_config_wipe(&cfg);
		return rc;
	}
	uint8_t buf[DP_FRAME_BYTES_MAX];
	/* The client key with one byte off: still wrong, same id. */
	static struct dp_key_file wrong;
	wrong = cfg.client_key;
	wrong.secret[0][0] ^= 0x5a;
	uint64_t rnd = 0x9e3779b97f4a7c15ull;
	uint32_t kinds[6] = {0};
	for (uint32_t i = 0; i < count; i++) {
		uint32_t kind = i % 6;
		int n;
		switch (kind) {
		case 0: /* a client write sealed with a wrong secret */
		case 1: /* a consensus message claiming to be a member, wrong secret */
			n = forge_frame(cfg.cluster_id, &wrong, node, kind == 1, FORGE_HEARTBEAT,
					node == 1 ? 2 : 1, i + 1, buf, sizeof(buf));
			break;
		case 2: /* the right secret but another cluster's id */
			n = forge_frame(cfg.cluster_id + 1, &cfg.client_key, node, false, FORGE_HEARTBEAT,
					0, i + 1, buf, sizeof(buf));
			break;
		case 3: /* a valid frame with one bit flipped in its body or tag */
			n = forge_frame(cfg.cluster_id, &cfg.client_key, node, false, FORGE_HEARTBEAT, 0,
					i + 1, buf, sizeof(buf));
			if (n > 0) {
				buf[n - 1 - (int)(i % 20)] ^= 0x10;
			}
			break;
		case 5: /* an old client: right secret and cluster, wire version 2 */
			n = forge_frame(cfg.cluster_id, &cfg.client_key, node, false, FORGE_HEARTBEAT, 0,
					i + 1, buf, sizeof(buf));
			if (n > 0) {
				buf[DP_UDP_PAYLOAD_OFFSET + offsetof(struct dp_wire_hdr, version)] = 2;
			}
			break;
		default: /* random bytes, random length */
			n = (int)(8 + i % 200) + (int)DP_UDP_PAYLOAD_OFFSET;
			for (int k = 0; k < n; k++) {
				rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
				buf[k] = (uint8_t)rnd;
			}
			break;
		}
		if (n <= (int)DP_UDP_PAYLOAD_OFFSET) {
			fprintf(stderr, "forge: could not build frame kind %u\n", kind);
			return 1;
		}
		forge_send(&f, buf + DP_UDP_PAYLOAD_OFFSET, (size_t)n - DP_UDP_PAYLOAD_OFFSET);
		kinds[kind]++;
		usleep(200); /* do not overrun the node's socket: every frame must arrive */
	}
	close(f.fd);
	dp_key_file_wipe(&wrong);
	rn_client_config_wipe(&cfg);
	printf("forge: sent %u frames to node %u: %u wrong-secret requests, %u wrong-secret "
	       "consensus messages, %u other-cluster, %u bit-flipped, %u random, %u of wire "
	       "version 2\n",
	       f.sent, node, kinds[0], kinds[1], kinds[2], kinds[3], kinds[4], kinds[5]);
	return f.sent == count ? 0 : 1;
}
