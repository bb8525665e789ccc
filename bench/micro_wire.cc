// SPDX-License-Identifier: MIT
//
// micro_wire - the wire codec's cost per frame: encode (build + seal),
// decode (parse + verify + body), and the tag alone (seal, verify), for an
// AppendEntries frame carrying one entry of 64 B, 1 KiB and 8 KiB. For the
// choice of MAC, the same byte counts through the candidates libsodium
// offers side by side in one run: SipHash-2-4 with 128-bit output (ours),
// SipHash-2-4 64-bit, AES-256-GCM as GMAC (precomputed key schedule; needs
// AES-NI and a never-reused nonce), keyed BLAKE2b and HMAC-SHA-256.
// The Time column is ns per frame; items_per_second is frames/s.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <cstring>
#include <vector>

#include "wire_internal.h"

namespace {

const uint8_t bench_secret[32] = {'b', 'e', 'n', 'c', 'h'};

struct bench_codec {
	dp_wire tx{};
	dp_wire rx{};
	dp_endpoints addr{};
	std::vector<uint8_t> payload;
	raft_entry entry{};
	raft_message msg{};
	std::vector<uint8_t> frame = std::vector<uint8_t>(DP_FRAME_BYTES_MAX);
	int frame_bytes = 0;

	explicit bench_codec(uint32_t payload_bytes) : payload(payload_bytes, 0x5a)
	{
		dp_wire_config cfg{};
		cfg.cluster_id = 1;
		cfg.self_id = 1;
		cfg.secret = bench_secret;
		cfg.secret_bytes = sizeof(bench_secret);
		cfg.udp_port = 7400;
		if (dp_wire_init(&tx, &cfg) != 0) {
			abort();
		}
		cfg.self_id = 2;
		if (dp_wire_init(&rx, &cfg) != 0) {
			abort();
		}
		addr.src_ip = 0x0a000001;
		addr.dst_ip = 0x0a000002;
		addr.src_port = 7400;
		addr.dst_port = 7400;
		entry.term = 5;
		entry.index = 11;
		entry.payload_bytes = payload_bytes;
		entry.type = RAFT_ENTRY_NORMAL;
		msg.type = RAFT_MSG_APPEND;
		msg.from = 1;
		msg.to = 2;
		msg.term = 5;
		msg.append.prev_index = 10;
		msg.append.prev_term = 5;
		msg.append.commit_index = 9;
		msg.append.entries = &entry;
		msg.append.entries_count = 1;
		frame_bytes = encode(1);
	}

	int encode(uint64_t seq)
	{
		const uint8_t *payloads[1] = {payload.data()};
		int n = dp_wire_encode_raft(&tx, &addr, seq, &msg, payloads, frame.data(),
					    frame.size());
		if (n <= 0) {
			abort();
		}
		return n;
	}
};

void per_frame(benchmark::State &state, size_t bytes)
{
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void wire_encode(benchmark::State &state)
{
	bench_codec c(static_cast<uint32_t>(state.range(0)));
	uint64_t seq = 0;
	for (auto _ : state) {
		benchmark::DoNotOptimize(c.encode(++seq));
	}
	per_frame(state, static_cast<size_t>(c.frame_bytes));
}

void wire_decode(benchmark::State &state)
{
	bench_codec c(static_cast<uint32_t>(state.range(0)));
	raft_entry entries[4];
	dp_rx_frame out;
	for (auto _ : state) {
		int rc = dp_wire_decode(&c.rx, c.frame.data(), static_cast<size_t>(c.frame_bytes),
					entries, 4, &out);
		if (rc != 0) {
			state.SkipWithError("decode failed");
			break;
		}
		benchmark::DoNotOptimize(out);
	}
	per_frame(state, static_cast<size_t>(c.frame_bytes));
}

// Tag and verify alone, over what a frame of this payload signs.
void wire_tag(benchmark::State &state)
{
	bench_codec c(static_cast<uint32_t>(state.range(0)));
	size_t signed_bytes = static_cast<size_t>(c.frame_bytes) - WIRE_RAFT_OFFSET - DP_TAG_BYTES;
	uint8_t tag[DP_TAG_BYTES];
	for (auto _ : state) {
		wire_auth_tag(reinterpret_cast<const uint8_t *>(c.tx.own.slots[0].key_words), c.frame.data() + WIRE_RAFT_OFFSET, signed_bytes, tag);
		benchmark::DoNotOptimize(tag);
	}
	per_frame(state, signed_bytes);
}

void wire_verify(benchmark::State &state)
{
	bench_codec c(static_cast<uint32_t>(state.range(0)));
	size_t signed_bytes = static_cast<size_t>(c.frame_bytes) - WIRE_RAFT_OFFSET - DP_TAG_BYTES;
	const uint8_t *raft = c.frame.data() + WIRE_RAFT_OFFSET;
	for (auto _ : state) {
		int ok = wire_auth_verify(reinterpret_cast<const uint8_t *>(c.rx.own.slots[0].key_words), raft, signed_bytes, raft + signed_bytes);
		if (!ok) {
			state.SkipWithError("verify failed");
			break;
		}
		benchmark::DoNotOptimize(ok);
	}
	per_frame(state, signed_bytes);
}

// ---- MAC candidates over the same byte counts ---------------------------

void mac_siphashx24(benchmark::State &state)
{
	std::vector<uint8_t> in(static_cast<size_t>(state.range(0)), 1);
	uint8_t key[crypto_shorthash_siphashx24_KEYBYTES] = {1};
	uint8_t out[crypto_shorthash_siphashx24_BYTES];
	for (auto _ : state) {
		crypto_shorthash_siphashx24(out, in.data(), in.size(), key);
		benchmark::DoNotOptimize(out);
	}
	per_frame(state, in.size());
}

void mac_siphash24_64bit(benchmark::State &state)
{
	std::vector<uint8_t> in(static_cast<size_t>(state.range(0)), 1);
	uint8_t key[crypto_shorthash_siphash24_KEYBYTES] = {1};
	uint8_t out[crypto_shorthash_siphash24_BYTES];
	for (auto _ : state) {
		crypto_shorthash_siphash24(out, in.data(), in.size(), key);
		benchmark::DoNotOptimize(out);
	}
	per_frame(state, in.size());
}

void mac_aes256gcm_gmac(benchmark::State &state)
{
	if (sodium_init() < 0 || !crypto_aead_aes256gcm_is_available()) {
		state.SkipWithError("AES-256-GCM not available (no AES-NI/PCLMUL)");
		return;
	}
	std::vector<uint8_t> in(static_cast<size_t>(state.range(0)), 1);
	uint8_t key[crypto_aead_aes256gcm_KEYBYTES] = {1};
	uint8_t nonce[crypto_aead_aes256gcm_NPUBBYTES] = {0};
	uint8_t mac[crypto_aead_aes256gcm_ABYTES];
	uint8_t no_cipher[1];
	crypto_aead_aes256gcm_state st;
	crypto_aead_aes256gcm_beforenm(&st, key);
	uint64_t counter = 0;
	for (auto _ : state) {
		// A fresh nonce per frame: GMAC's security depends on it.
		++counter;
		std::memcpy(nonce, &counter, sizeof(counter));
		crypto_aead_aes256gcm_encrypt_detached_afternm(no_cipher, mac, nullptr, nullptr, 0,
							       in.data(), in.size(), nullptr,
							       nonce, &st);
		benchmark::DoNotOptimize(mac);
	}
	per_frame(state, in.size());
}

void mac_poly1305_onetime(benchmark::State &state)
{
	std::vector<uint8_t> in(static_cast<size_t>(state.range(0)), 1);
	uint8_t key[crypto_onetimeauth_poly1305_KEYBYTES] = {1};
	uint8_t out[crypto_onetimeauth_poly1305_BYTES];
	for (auto _ : state) {
		crypto_onetimeauth_poly1305(out, in.data(), in.size(), key);
		benchmark::DoNotOptimize(out);
	}
	per_frame(state, in.size());
}

void mac_xchacha20poly1305(benchmark::State &state)
{
	std::vector<uint8_t> in(static_cast<size_t>(state.range(0)), 1);
	uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES] = {1};
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES] = {0};
	uint8_t mac[crypto_aead_xchacha20poly1305_ietf_ABYTES];
	uint8_t no_cipher[1];
	uint64_t counter = 0;
	for (auto _ : state) {
		++counter;
		std::memcpy(nonce, &counter, sizeof(counter));
		crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
			no_cipher, mac, nullptr, nullptr, 0, in.data(), in.size(), nullptr, nonce, key);
		benchmark::DoNotOptimize(mac);
	}
	per_frame(state, in.size());
}

void mac_blake2b_keyed(benchmark::State &state)
{
	std::vector<uint8_t> in(static_cast<size_t>(state.range(0)), 1);
	uint8_t key[32] = {1};
	uint8_t out[16];
	for (auto _ : state) {
		crypto_generichash(out, sizeof(out), in.data(), in.size(), key, sizeof(key));
		benchmark::DoNotOptimize(out);
	}
	per_frame(state, in.size());
}

void mac_hmac_sha256(benchmark::State &state)
{
	std::vector<uint8_t> in(static_cast<size_t>(state.range(0)), 1);
	uint8_t key[crypto_auth_hmacsha256_KEYBYTES] = {1};
	uint8_t out[crypto_auth_hmacsha256_BYTES];
	for (auto _ : state) {
		crypto_auth_hmacsha256(out, in.data(), in.size(), key);
		benchmark::DoNotOptimize(out);
	}
	per_frame(state, in.size());
}

} // namespace

BENCHMARK(wire_encode)->Arg(64)->Arg(1024)->Arg(8192);
BENCHMARK(wire_decode)->Arg(64)->Arg(1024)->Arg(8192);
BENCHMARK(wire_tag)->Arg(64)->Arg(1024)->Arg(8192);
BENCHMARK(wire_verify)->Arg(64)->Arg(1024)->Arg(8192);
BENCHMARK(mac_siphashx24)->Arg(64)->Arg(1024)->Arg(8192);
BENCHMARK(mac_siphash24_64bit)->Arg(64)->Arg(1024)->Arg(8192);
BENCHMARK(mac_aes256gcm_gmac)->Arg(64)->Arg(1024)->Arg(8192);
BENCHMARK(mac_poly1305_onetime)->Arg(64)->Arg(1024)->Arg(8192);
BENCHMARK(mac_xchacha20poly1305)->Arg(64)->Arg(1024)->Arg(8192);
BENCHMARK(mac_blake2b_keyed)->Arg(64)->Arg(1024)->Arg(8192);
BENCHMARK(mac_hmac_sha256)->Arg(64)->Arg(1024)->Arg(8192);

BENCHMARK_MAIN();
