// SPDX-License-Identifier: MIT
//
// micro_storage - the CPU cost of the storage hot path that is not I/O:
// CRC32C (SSE4.2 instruction vs the slicing-by-8 table fallback) and
// encoding one record (header + payload copy + CRC + the read-back check)
// into a staging buffer, at payload sizes 64 B, 512 B and 4 KiB.
// bytes_per_second is reported by google-benchmark; compare rows of one
// run, not runs on a shared machine.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

// consensus.h (included by storage.h) nests anonymous structs in an
// anonymous union, a C11 feature clang++ flags as an extension.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wnested-anon-types"
#endif
#include "storage.h"
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

static void crc32c_hw(benchmark::State &state)
{
	std::vector<uint8_t> buf(static_cast<size_t>(state.range(0)), 0x5a);
	uint32_t crc = 0;
	for (auto _ : state) {
		crc = store_crc32c(crc, buf.data(), buf.size());
		benchmark::DoNotOptimize(crc);
	}
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
	state.SetLabel(store_crc32c_impl());
}

static void crc32c_table(benchmark::State &state)
{
	std::vector<uint8_t> buf(static_cast<size_t>(state.range(0)), 0x5a);
	uint32_t crc = 0;
	for (auto _ : state) {
		crc = store_crc32c_table(crc, buf.data(), buf.size());
		benchmark::DoNotOptimize(crc);
	}
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

static void record_encode(benchmark::State &state)
{
	uint32_t payload_bytes = static_cast<uint32_t>(state.range(0));
	std::vector<uint8_t> payload(payload_bytes, 0xa5);
	std::vector<uint8_t> out(store_record_bytes(payload_bytes));
	store_entry e{};
	e.index = 1;
	e.term = 1;
	e.payload = payload.data();
	e.payload_bytes = payload_bytes;
	for (auto _ : state) {
		int64_t n = store_record_encode(&e, out.data(), out.size());
		benchmark::DoNotOptimize(n);
		e.index++;
	}
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
				static_cast<int64_t>(out.size()));
}

BENCHMARK(crc32c_hw)->Arg(64)->Arg(512)->Arg(4096);
BENCHMARK(crc32c_table)->Arg(64)->Arg(512)->Arg(4096);
BENCHMARK(record_encode)->Arg(64)->Arg(512)->Arg(4096);
BENCHMARK_MAIN();
