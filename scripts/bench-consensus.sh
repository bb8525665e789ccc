#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Measures the consensus core's cost per committed entry: time with
# google-benchmark (bench/micro_consensus), and instructions with callgrind
# (bench/consensus_instr, counting only inside raft_step), which stay the
# same from run to run on this shared machine where time does not.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/bench-consensus.sh [--help] [--entries N]

Builds build/ if needed, runs bench/micro_consensus (ns per entry) and, for
each configuration, bench/consensus_instr under callgrind (instructions per
entry inside raft_step). Prints one table. Needs valgrind.
  --entries N   entries per callgrind run (default 200000)
USAGE
}

entries=200000
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--entries) shift; entries=${1:?--entries needs a number} ;;
	*) echo "bench-consensus.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build bench/micro_consensus bench/consensus_instr >/dev/null
command -v valgrind >/dev/null || { echo "bench-consensus.sh: valgrind not installed (scripts/setup.sh)" >&2; exit 1; }

echo "== google-benchmark (time; noisy on a shared machine)"
json=$(mktemp /tmp/raftnode-bench.XXXXXX.json)
trap 'rm -f "$json" /tmp/raftnode-callgrind.*' EXIT
build/bench/micro_consensus --benchmark_min_time=0.3 --benchmark_format=console \
	--benchmark_out="$json" --benchmark_out_format=json

# Instructions inside raft_step per committed entry.
instr() {
	local out
	out=$(mktemp /tmp/raftnode-callgrind.XXXXXX)
	valgrind --tool=callgrind --toggle-collect=raft_step --callgrind-out-file="$out" \
		build/bench/consensus_instr "$@" >/dev/null 2>&1
	local total
	total=$(grep -E '^(summary|totals):' "$out" | head -1 | awk '{print $2}')
	python3 -c "print(f'{$total / $entries:.0f}')"
}

echo
echo "== per committed entry (instructions: callgrind, inside raft_step, $entries entries)"
printf '%-28s %14s %18s\n' "case" "ns_per_entry" "instr_per_entry"
ns_of() {
	python3 - "$json" "$1" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
for b in data["benchmarks"]:
    if b["name"] == sys.argv[2]:
        print(f'{b["ns_per_entry"] * 1e9:.1f}')  # counter is seconds per entry
        break
else:
    print("-")
PY
}
for nodes in 3 5; do
	for batch in 1 16 256; do
		name="leader_commit/nodes:$nodes/batch:$batch"
		printf '%-28s %14s %18s\n' "leader n=$nodes batch=$batch" "$(ns_of "$name")" \
			"$(instr leader "$nodes" "$batch" "$entries")"
	done
done
for batch in 1 16 256; do
	name="follower_append/batch:$batch"
	printf '%-28s %14s %18s\n' "follower batch=$batch" "$(ns_of "$name")" \
		"$(instr follower "$batch" "$entries")"
done
