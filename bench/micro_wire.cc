// SPDX-License-Identifier: MIT
//
// micro_wire - the wire codec's cost per frame: encode (build + seal),
// decode (parse + verify + body), and the tag alone (seal, verify), for an
// AppendEntries frame carrying one entry of 64 B, 1 KiB and 8 KiB. For the
// choice of MAC, the same byte counts through the candidates libsodium
// offers side by side in one run: SipHash-2-4 with 128-bit output (ours),
// SipHash-2-4 64-bit, AES-256-GCM as GMAC (precomputed key schedule; needs
// AES-NI and a never-reused nonce), keyed BLAKE2b and HMAC-SHA-256. For
// client encryption: the AEAD candidates (XChaCha20-Poly1305 with a random
// nonce, AES-256-GCM with a counter) and whole client frames, plaintext
// and sealed.
// The Time column is ns per frame; items_per_second is frames/s.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <cstring>
#include <vector>

#include "wire_gcm.h"
#include "wire_ghash.h"
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
		int ok = wire_auth_verify(reinterpret_cast<const uint8_t *>(c.rx.own.slots[0].key_words), raft, signed_bytes, nullptr, 0, raft + signed_bytes);
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

// The body digest of wire_auth.c: SipHash below WIRE_AUTH_GHASH_FROM_BYTES,
// GHASH (AES-256-GCM's tag of an empty message, the body as additional
// data) from there, with the key schedule it pays on every call. Arg 1
// picks: 0 SipHash, 1 GHASH; the crossover sets the threshold.
// The body digest's candidates over the same bytes, in one run (second
// argument): 0 SipHash-2-4 128-bit (bodies under 256 B), 1 libsodium's
// AES-256-GCM tag of an empty message with the body as additional data,
// key schedule precomputed (the digest before wire_ghash.c), 2 ours as
// wire_auth calls it (wire_ghash_digest: the per-thread key cache and the
// widest update this CPU runs), 3 ours forced to the 128-bit PCLMULQDQ
// update (what a CPU without AVX-512 + VPCLMULQDQ runs).
void body_digest(benchmark::State &state)
{
	if (sodium_init() < 0 || !crypto_aead_aes256gcm_is_available()) {
		state.SkipWithError("AES-256-GCM not available (no AES-NI/PCLMUL)");
		return;
	}
	std::vector<uint8_t> in(static_cast<size_t>(state.range(0)), 1);
	uint8_t key[crypto_aead_aes256gcm_KEYBYTES] = {1};
	const uint8_t nonce[crypto_aead_aes256gcm_NPUBBYTES] = {0};
	uint8_t digest[16];
	uint8_t no_cipher[1];
	alignas(16) crypto_aead_aes256gcm_state gcm;
	crypto_aead_aes256gcm_beforenm(&gcm, key);
	static wire_ghash_key narrow_key;
	const uint8_t h[16] = {7}, mask[16] = {9};
	wire_ghash_key_init(&narrow_key, h, mask);
	const int64_t mode = state.range(1);
	for (auto _ : state) {
		switch (mode) {
		case 0:
			crypto_shorthash_siphashx24(digest, in.data(), in.size(), key);
			break;
		case 1:
			crypto_aead_aes256gcm_encrypt_detached_afternm(no_cipher, digest, nullptr,
								       nullptr, 0, in.data(),
								       in.size(), nullptr, nonce, &gcm);
			break;
		case 2:
			wire_ghash_digest(key, in.data(), in.size(), digest);
			break;
		default: {
			uint8_t lengths[16] = {0};
			uint64_t bits = htobe64(in.size() * 8u);
			std::memcpy(lengths, &bits, sizeof(bits));
			std::memset(digest, 0, sizeof(digest));
			wire_ghash_update_pclmul(&narrow_key, digest, in.data(), in.size());
			wire_ghash_update_pclmul(&narrow_key, digest, lengths, sizeof(lengths));
			for (size_t i = 0; i < sizeof(digest); i++) {
				digest[i] ^= narrow_key.mask[i];
			}
		}
		}
		benchmark::DoNotOptimize(digest);
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

// ---- AEAD candidates for client encryption (encrypt in place + tag) ------
//
// What sealing a client frame's body costs, nonce included: XChaCha20-
// Poly1305-IETF with a random 24-byte nonce per frame (randombytes_buf),
// and AES-256-GCM (precomputed key schedule, AES-NI) with a counter nonce
// (which a real sender must pair with its boot epoch). The 64-byte header
// is the additional data, as in wire_seal.c.

void aead_xchacha20poly1305_random_nonce(benchmark::State &state)
{
	std::vector<uint8_t> in(static_cast<size_t>(state.range(0)), 1);
	uint8_t ad[DP_RAFT_HDR_BYTES] = {2};
	uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES] = {1};
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	uint8_t mac[crypto_aead_xchacha20poly1305_ietf_ABYTES];
	for (auto _ : state) {
		randombytes_buf(nonce, sizeof(nonce));
		crypto_aead_xchacha20poly1305_ietf_encrypt_detached(in.data(), mac, nullptr,
								    in.data(), in.size(), ad,
								    sizeof(ad), nullptr, nonce, key);
		benchmark::DoNotOptimize(mac);
	}
	per_frame(state, in.size());
}

void aead_xchacha20poly1305_open(benchmark::State &state)
{
	std::vector<uint8_t> plain(static_cast<size_t>(state.range(0)), 1);
	std::vector<uint8_t> sealed(plain.size());
	std::vector<uint8_t> work(plain.size());
	uint8_t ad[DP_RAFT_HDR_BYTES] = {2};
	uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES] = {1};
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES] = {3};
	uint8_t mac[crypto_aead_xchacha20poly1305_ietf_ABYTES];
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(sealed.data(), mac, nullptr,
							    plain.data(), plain.size(), ad,
							    sizeof(ad), nullptr, nonce, key);
	for (auto _ : state) {
		// Out of place from an intact copy: each round opens the same frame.
		int rc = crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
			work.data(), nullptr, sealed.data(), sealed.size(), mac, ad, sizeof(ad), nonce,
			key);
		benchmark::DoNotOptimize(rc);
	}
	per_frame(state, plain.size());
}

// Second argument: 0 libsodium (its precomputed state), 1 ours
// (wire_gcm.c, key expanded once): a sealed frame's cost under a sender's
// key (wire_seal.c, version 7), no key setup.
void aead_aes256gcm_counter_nonce(benchmark::State &state)
{
	const bool ours = state.range(1) != 0;
	if (sodium_init() < 0 || !crypto_aead_aes256gcm_is_available() ||
	    (ours && !wire_gcm_available())) {
		state.SkipWithError("no AES-NI/PCLMUL (or no VAES/VPCLMULQDQ for ours)");
		return;
	}
	std::vector<uint8_t> in(static_cast<size_t>(state.range(0)), 1);
	uint8_t ad[DP_RAFT_HDR_BYTES] = {2};
	uint8_t key[crypto_aead_aes256gcm_KEYBYTES] = {1};
	uint8_t nonce[crypto_aead_aes256gcm_NPUBBYTES] = {0};
	uint8_t mac[crypto_aead_aes256gcm_ABYTES];
	crypto_aead_aes256gcm_state st;
	crypto_aead_aes256gcm_beforenm(&st, key);
	static wire_gcm_key k;
	if (ours) {
		wire_gcm_key_init(&k, key, DP_FRAME_BYTES_MAX);
	}
	uint64_t counter = 0;
	for (auto _ : state) {
		++counter;
		std::memcpy(nonce, &counter, sizeof(counter));
		if (ours) {
			wire_gcm_seal(&k, nonce, ad, sizeof(ad), in.data(), in.size(), mac);
		} else {
			crypto_aead_aes256gcm_encrypt_detached_afternm(in.data(), mac, nullptr,
								       in.data(), in.size(), ad,
								       sizeof(ad), nullptr, nonce, &st);
		}
		benchmark::DoNotOptimize(mac);
	}
	per_frame(state, in.size());
}

// A sealed frame's AEAD as wire_seal.c runs it, a key of its own per
// frame (second argument): 0 libsodium (key schedule and H powers inside
// crypto_aead_aes256gcm_encrypt_detached, the path before wire_gcm.c and
// still on a CPU without VAES), 1 ours (wire_gcm_key_init + wire_gcm_seal).
// The frame's 64-byte raft header as additional data.
void aead_seal_key_per_frame(benchmark::State &state)
{
	const bool ours = state.range(1) != 0;
	if (sodium_init() < 0 || !crypto_aead_aes256gcm_is_available() ||
	    (ours && !wire_gcm_available())) {
		state.SkipWithError("no AES-NI/PCLMUL (or no VAES/VPCLMULQDQ for ours)");
		return;
	}
	std::vector<uint8_t> in(static_cast<size_t>(state.range(0)), 1);
	uint8_t ad[DP_RAFT_HDR_BYTES] = {2};
	uint8_t key[crypto_aead_aes256gcm_KEYBYTES] = {1};
	const uint8_t nonce[crypto_aead_aes256gcm_NPUBBYTES] = {0};
	uint8_t mac[crypto_aead_aes256gcm_ABYTES];
	static wire_gcm_key k;
	for (auto _ : state) {
		key[0]++; /* a new key each frame, as the subkeys are */
		if (ours) {
			wire_gcm_key_init(&k, key, in.size() > sizeof(ad) ? in.size() : sizeof(ad));
			wire_gcm_seal(&k, nonce, ad, sizeof(ad), in.data(), in.size(), mac);
		} else {
			crypto_aead_aes256gcm_encrypt_detached(in.data(), mac, nullptr, in.data(),
							       in.size(), ad, sizeof(ad), nullptr,
							       nonce, key);
		}
		benchmark::DoNotOptimize(mac);
	}
	per_frame(state, in.size());
}

// A client request frame (one PUT of range(0) value bytes), plaintext
// (range(1) = 0) or sealed (1): encode + seal + tag, and decode (the frame
// copied in first each time, as opening works in place; the copy is in
// both rows).
struct client_codec {
	dp_wire tx{};
	dp_wire rx{};
	dp_endpoints addr{};
	std::vector<uint8_t> value;
	dp_client_request req{};
	std::vector<uint8_t> frame = std::vector<uint8_t>(DP_FRAME_BYTES_MAX);
	std::vector<uint8_t> work = std::vector<uint8_t>(DP_FRAME_BYTES_MAX);
	int frame_bytes = 0;

	client_codec(uint32_t value_bytes, bool sealed) : value(value_bytes, 0x5a)
	{
		dp_wire_config cfg{};
		cfg.cluster_id = 1;
		cfg.self_id = 0;
		cfg.secret = bench_secret;
		cfg.secret_bytes = sizeof(bench_secret);
		cfg.udp_port = 7400;
		if (dp_wire_init(&tx, &cfg) != 0 || dp_wire_set_client_seal(&tx, sealed) != 0) {
			abort();
		}
		cfg.self_id = 2;
		if (dp_wire_init(&rx, &cfg) != 0 || dp_wire_set_client_seal(&rx, sealed) != 0) {
			abort();
		}
		addr.src_ip = 0x0a000001;
		addr.dst_ip = 0x0a000002;
		addr.src_port = 7400;
		addr.dst_port = 7400;
		req.client_id = 7;
		req.request_seq = 1;
		req.op = DP_CLIENT_PUT;
		req.key = reinterpret_cast<const uint8_t *>("bench-key");
		req.key_bytes = 9;
		req.value = value.data();
		req.value_bytes = value_bytes;
		frame_bytes = dp_wire_encode_request(&tx, &addr, 1, 2, &req, frame.data(), frame.size());
		if (frame_bytes <= 0) {
			abort();
		}
	}
};

void client_frame_encode(benchmark::State &state)
{
	client_codec c(static_cast<uint32_t>(state.range(0)), state.range(1) != 0);
	for (auto _ : state) {
		int n = dp_wire_encode_request(&c.tx, &c.addr, 1, 2, &c.req, c.frame.data(),
					       c.frame.size());
		benchmark::DoNotOptimize(n);
	}
	per_frame(state, static_cast<size_t>(c.frame_bytes));
}

void client_frame_decode(benchmark::State &state)
{
	client_codec c(static_cast<uint32_t>(state.range(0)), state.range(1) != 0);
	dp_rx_frame out;
	for (auto _ : state) {
		std::memcpy(c.work.data(), c.frame.data(), static_cast<size_t>(c.frame_bytes));
		int rc = dp_wire_decode(&c.rx, c.work.data(), static_cast<size_t>(c.frame_bytes),
					nullptr, 0, &out);
		if (rc != 0) {
			state.SkipWithError("decode failed");
			return;
		}
		benchmark::DoNotOptimize(out);
	}
	per_frame(state, static_cast<size_t>(c.frame_bytes));
}

void nonce_randombytes_24(benchmark::State &state)
{
	uint8_t nonce[24];
	for (auto _ : state) {
		randombytes_buf(nonce, sizeof(nonce));
		benchmark::DoNotOptimize(nonce);
	}
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
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
BENCHMARK(body_digest)->ArgsProduct({{64, 128, 256, 512, 1024, 8192}, {0, 1, 2, 3}});
BENCHMARK(mac_poly1305_onetime)->Arg(64)->Arg(1024)->Arg(8192);
BENCHMARK(mac_xchacha20poly1305)->Arg(64)->Arg(1024)->Arg(8192);
BENCHMARK(mac_blake2b_keyed)->Arg(64)->Arg(1024)->Arg(8192);
BENCHMARK(aead_xchacha20poly1305_random_nonce)->Arg(64)->Arg(1024)->Arg(8192);
BENCHMARK(aead_xchacha20poly1305_open)->Arg(64)->Arg(1024)->Arg(8192);
BENCHMARK(aead_aes256gcm_counter_nonce)->ArgsProduct({{64, 1024, 8192}, {0, 1}});
BENCHMARK(nonce_randombytes_24);
BENCHMARK(aead_seal_key_per_frame)->ArgsProduct({{64, 1024, 8192}, {0, 1}});
BENCHMARK(client_frame_encode)->ArgsProduct({{64, 1024, 8192}, {0, 1}});
BENCHMARK(client_frame_decode)->ArgsProduct({{64, 1024, 8192}, {0, 1}});
BENCHMARK(mac_hmac_sha256)->Arg(64)->Arg(1024)->Arg(8192);

BENCHMARK_MAIN();
