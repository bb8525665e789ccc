#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench-restart.sh: how long a node takes to restart after C commits, with
# snapshots on, for each C of --commits (default 100000 and 1000000), and
# the ratio of the last to the first (issue 16's target: <= 1.5x: restart
# time no longer grows with history). Outside CI: the 1,000,000-commit run
# takes minutes. Uses the shared network-namespace names: run it under
# `flock /tmp/raftnode-netns.lock`.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: flock /tmp/raftnode-netns.lock scripts/bench-restart.sh [--commits "C1 C2 ..."]
           [--snapshot-entries N] [--value-bytes B] [--keys K] [--build DIR]

For each C: a fresh 3-node cluster (kernel-bypass af_packet, as CI), raftbench
(closed loop, 256 in flight) until the leader's commit index reaches C, then a
follower is stopped (SIGTERM) and started again; restart_ms is the time from
its start to its status answering with its applied index back at what it had
when stopped (snapshot load + log tail replay + start-up). Prints one row per
C and the ratio last/first.
  --commits "C..."      default "100000 1000000"
  --snapshot-entries N  [storage] snapshot_entries (default 100000)
  --value-bytes B       raftbench values (default 64)
  --keys K              raftbench distinct keys, also [limits] kv_keys_max
                        (default 100000)
USAGE
}

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
commits="100000 1000000"
snap_entries=100000
value_bytes=64
keys=100000
while [ $# -gt 0 ]; do
	case $1 in
	--commits) commits=$2; shift 2 ;;
	--snapshot-entries) snap_entries=$2; shift 2 ;;
	--value-bytes) value_bytes=$2; shift 2 ;;
	--keys) keys=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--help | -h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

run=/tmp/raftnode-bench-restart
prefix=rbr
ctl() { "$build/client/raftctl" --config "$run/cluster.ini" "$@"; }
field() { ctl --node "$1" --timeout-ms 500 --json status 2>/dev/null | jq -r "$2" 2>/dev/null || true; }
leader() {
	local l
	for _ in $(seq 600); do
		l=$(field 1 .leader)
		if [ -n "$l" ] && [ "$l" != 0 ] && [ "$l" != null ]; then echo "$l"; return 0; fi
		sleep 0.1
	done
	return 1
}
now_ms() { date +%s%3N; }

# The nodes inherit the caller's flock descriptor: the cluster goes down on
# any exit, or the lock would stay held by them.
trap '"$root/scripts/cluster.sh" down --run-dir "$run" --prefix "$prefix" >/dev/null 2>&1 || true' EXIT
echo "bench-restart: restart time after each of: $commits commits (snapshot_entries $snap_entries, $value_bytes B values, $keys keys)"
declare -a rows
first_ms=""
last_ms=""
for c in $commits; do
	"$root/scripts/cluster.sh" down --run-dir "$run" --prefix "$prefix" >/dev/null 2>&1 || true
	"$root/scripts/cluster.sh" up --nodes 3 --no-start --run-dir "$run" --prefix "$prefix" \
		--subnet 10.94.0 --build "$build" >/dev/null
	printf '\n[limits]\nkv_keys_max = %d\n[storage]\nsnapshot_entries = %d\n' "$keys" \
		"$snap_entries" >>"$run/cluster.ini"
	for n in 1 2 3; do "$root/scripts/cluster.sh" start "$n" --run-dir "$run" >/dev/null; done
	l=$(leader) || { echo "bench-restart: no leader" >&2; exit 1; }
	"$build/bench/raftbench" --config "$run/cluster.ini" --concurrency 256 --duration 100000 \
		--warmup 0 --value-bytes "$value_bytes" --keys "$keys" --quiet >"$run/bench.out" 2>&1 &
	bench=$!
	while :; do
		# Under full load a status request may time out: the snapshots'
		# log lines say how far the leader got too.
		ci=$(ctl --node "$l" --timeout-ms 3000 --json status 2>/dev/null | jq -r .commit_index 2>/dev/null || true)
		case $ci in '' | null) ci=0 ;; esac
		si=$( (grep -o "raftnode $l: snapshot at index [0-9]*" "$run/logs/node$l.log" || true) | tail -1 | awk "{print \$NF}")
		[ "${si:-0}" -gt "$ci" ] && ci=$si
		[ "$ci" -ge "$c" ] && break
		kill -0 "$bench" 2>/dev/null || { echo "bench-restart: raftbench ended: $(tail -2 "$run/bench.out")" >&2; exit 1; }
		sleep 1
	done
	kill -TERM "$bench" 2>/dev/null || true # (SIGINT: ignored by a background job)
	wait "$bench" 2>/dev/null || true
	f=$(( l % 3 + 1 ))
	sleep 2 # the follower applies what was committed
	applied=$(field "$f" .applied_index)
	"$root/scripts/cluster.sh" kill "$f" --signal TERM --run-dir "$run" >/dev/null
	t0=$(now_ms)
	"$root/scripts/cluster.sh" start "$f" --run-dir "$run" >/dev/null
	while :; do
		a=$(field "$f" .applied_index)
		[ -n "$a" ] && [ "$a" != null ] && [ "$a" -ge "$applied" ] && break
		sleep 0.02
	done
	ms=$(( $(now_ms) - t0 ))
	how=$(grep "raftnode $f: recovered" "$run/logs/node$f.log" | tail -1 | sed 's/^raftnode [0-9]*: //')
	rows+=("$(printf '%10s %10s %12s  %s' "$c" "$applied" "$ms" "$how")")
	[ -z "$first_ms" ] && first_ms=$ms
	last_ms=$ms
done
"$root/scripts/cluster.sh" down --run-dir "$run" --prefix "$prefix" >/dev/null 2>&1 || true
printf '%10s %10s %12s  %s\n' commits applied restart_ms "how it recovered"
printf '%s\n' "${rows[@]}"
awk -v a="$last_ms" -v b="$first_ms" 'BEGIN { printf "ratio last/first: %.2f (target <= 1.5)\n", a / (b > 0 ? b : 1) }'
