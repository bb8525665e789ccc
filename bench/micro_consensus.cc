// SPDX-License-Identifier: MIT
//
// micro_consensus - the consensus core's cost per committed entry, as a
// leader of 3 and 5 members at batches of 1, 16 and 256 entries, and as a
// follower per AppendEntries. Time per entry is reported by
// google-benchmark (items_per_second, and the ns_per_entry counter);
// instructions per entry, which are repeatable on a shared machine, come
// from bench/consensus_instr under callgrind (scripts/bench-consensus.sh).
#include <benchmark/benchmark.h>

#include "consensus_drive.h"

static void leader_commit(benchmark::State &state)
{
	uint32_t nodes = static_cast<uint32_t>(state.range(0));
	uint32_t batch = static_cast<uint32_t>(state.range(1));
	struct drive *d = drive_leader_new(nodes, batch);
	uint64_t entries = 0;
	for (auto _ : state) {
		entries += drive_leader_round(d);
	}
	drive_free(d);
	state.SetItemsProcessed(static_cast<int64_t>(entries));
	state.counters["ns_per_entry"] = benchmark::Counter(
		static_cast<double>(entries), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

static void follower_append(benchmark::State &state)
{
	uint32_t batch = static_cast<uint32_t>(state.range(0));
	struct drive *d = drive_follower_new(batch);
	uint64_t entries = 0;
	uint64_t appends = 0;
	for (auto _ : state) {
		entries += drive_follower_round(d);
		appends++;
	}
	drive_free(d);
	state.SetItemsProcessed(static_cast<int64_t>(entries));
	state.counters["ns_per_append"] = benchmark::Counter(
		static_cast<double>(appends), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
	state.counters["ns_per_entry"] = benchmark::Counter(
		static_cast<double>(entries), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

BENCHMARK(leader_commit)
	->ArgNames({"nodes", "batch"})
	->ArgsProduct({{3, 5}, {1, 16, 256}});
BENCHMARK(follower_append)->ArgName("batch")->Arg(1)->Arg(16)->Arg(256);

BENCHMARK_MAIN();
