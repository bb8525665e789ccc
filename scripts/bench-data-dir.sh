#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench-data-dir.sh: a 3-node cluster under a steady rate with small
# snapshot thresholds for --duration seconds (default 600); every 30 s, each
# node's data directory size, snapshot count, compaction point and RSS.
# The sizes must stay flat (README: the data directory's bound). Outside CI.
# Uses the shared network-namespace names: run it under
# `flock /tmp/raftnode-netns.lock`.
set -euo pipefail
usage() {
	cat <<'USAGE'
usage: flock /tmp/raftnode-netns.lock scripts/bench-data-dir.sh [--duration S] [--rate R]
           [--snapshot-entries N] [--margin N] [--segment-bytes B] [--build DIR]
defaults: 600 s at 2000/s of 1 KiB values, snapshot_entries 20000, margin 20000,
1 MiB segments.
USAGE
}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
duration=600 rate=2000 snap=20000 margin=20000 seg=1M
while [ $# -gt 0 ]; do
	case $1 in
	--duration) duration=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--snapshot-entries) snap=$2; shift 2 ;;
	--margin) margin=$2; shift 2 ;;
	--segment-bytes) seg=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--help | -h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
run=/tmp/raftnode-bench-datadir
prefix=rbd
trap '"$root/scripts/cluster.sh" down --run-dir "$run" --prefix "$prefix" >/dev/null 2>&1 || true' EXIT
echo "bench-data-dir: $duration s at $rate/s of 1 KiB values; snapshot_entries $snap, margin $margin, segments $seg"
"$root/scripts/cluster.sh" down --run-dir "$run" --prefix "$prefix" >/dev/null 2>&1 || true
"$root/scripts/cluster.sh" up --nodes 3 --no-start --run-dir "$run" --prefix "$prefix" \
	--subnet 10.96.0 --build "$build" >/dev/null
printf '\n[storage]\nsnapshot_entries = %d\ncompact_margin_entries = %d\nsegment_bytes = %s\n' \
	"$snap" "$margin" "$seg" >>"$run/cluster.ini"
for n in 1 2 3; do "$root/scripts/cluster.sh" start "$n" --run-dir "$run" >/dev/null; done
sleep 2
"$build/bench/raftbench" --config "$run/cluster.ini" --rate "$rate" --duration "$duration" \
	--warmup 0 --value-bytes 1024 --quiet >"$run/bench.out" 2>&1 &
bench=$!
printf '%6s %8s' t_s commit
for n in 1 2 3; do printf ' %12s %5s %9s' "dir$n""_bytes" snaps "rss$n""_MiB"; done
echo
t0=$SECONDS
while kill -0 "$bench" 2>/dev/null; do
	ci=$("$build/client/raftctl" --config "$run/cluster.ini" --node 2 --timeout-ms 3000 --json status 2>/dev/null | jq -r .commit_index 2>/dev/null || echo '?')
	printf '%6d %8s' $((SECONDS - t0)) "$ci"
	for n in 1 2 3; do
		# du fails when a file goes while it reads (a compacted segment, a
		# renamed snapshot): read again rather than stop the run
		d='?'
		for _ in 1 2 3 4 5; do d=$(du -sb "$run/data/node$n" 2>/dev/null | cut -f1) && break; d='?'; done
		s=$(find "$run/data/node$n" -name 'snap-*.snap' | wc -l)
		rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$(cat "$run/pids/node$n.pid")/status")
		printf ' %12s %5s %9s' "$d" "$s" "$rss"
	done
	echo
	sleep 30
done
wait "$bench" || true
grep -E "ops_per_s|latency_us" "$run/bench.out" | head -2 || true
