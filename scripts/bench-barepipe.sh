#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench-barepipe.sh - one request in flight, side by side in one run: the
# machine's floor (scripts/baseline.sh: fio 4 KiB O_DSYNC, one job per
# node, pre-written files; kernel UDP round trips), the bare replication
# pipeline (bench/barepipe: client, leader, 2 followers, no Raft) on
# loopback and on the cluster's own veths, and raftnode (3 nodes, the main
# job's transport and log: kernel UDP, io_uring, dsync + O_DIRECT), and
# the floor's writes alone, free-running as fio's jobs and in lockstep as
# a commit's three writes are (barepipe disk).
# Interleaved rounds (each row once per round, the order rotated from round
# to round), then medians: p50 and p99 per row, each round's p50 / floor
# and p99 / floor99 and their medians, and raftnode / bare. The machine is
# shared and noisy: only what was measured in the same minutes is compared.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/bench-barepipe.sh [--rounds R] [--seconds S] [--build DIR] [--out DIR]
                                 [--write dsync|direct] [--no-raftnode]
  --rounds R     interleaved rounds (default 5, at least 3 for a median)
  --seconds S    measured seconds per row and round (default 10; fio: S/3)
  --build DIR    build directory (default build/)
  --out DIR      results (default results/barepipe-<timestamp>)
  --write M      the bare pipeline's writes: dsync (O_DSYNC, as the floor's
                 fio job; default) or direct (O_DIRECT|O_DSYNC, as the log)
  --no-raftnode  floor and the bare pipeline on loopback only (no root,
                 no cluster)
Rows: floor (fio p50/p99 + 2 UDP round trips), disk-free and disk-lock
(barepipe disk: the floor's writes alone, 3 writers free-running as fio's
jobs, and in lockstep as a commit's three writes), bare-lo (loopback), bare-ns
(the leader and followers in the cluster's namespaces, on the nodes'
addresses, the client in the root namespace as raftbench), raftnode
(raftbench --concurrency 1). Needs root for the cluster; the cluster's
namespaces are shared by everyone on the machine: run it under
  flock -o /tmp/raftnode-netns.lock bash scripts/bench-barepipe.sh
USAGE
}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rounds=5 seconds=10 build=build out="" write=dsync raftnode=1
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--rounds) shift; rounds=${1:?--rounds needs a number} ;;
	--seconds) shift; seconds=${1:?--seconds needs a number} ;;
	--build) shift; build=${1:?--build needs a directory} ;;
	--out) shift; out=${1:?--out needs a directory} ;;
	--write) shift; write=${1:?--write needs dsync or direct} ;;
	--no-raftnode) raftnode=0 ;;
	*) echo "bench-barepipe.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done
if ! [[ $rounds =~ ^[0-9]+$ ]] || [ "$rounds" -lt 1 ]; then
	echo "bench-barepipe.sh: --rounds must be a whole number >= 1" >&2
	exit 2
fi
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
	echo "bench-barepipe.sh: --seconds must be a whole number >= 1" >&2
	exit 2
fi
[[ $write == dsync || $write == direct ]] ||
	{ echo "bench-barepipe.sh: --write must be dsync or direct" >&2; exit 2; }
for tool in bench/barepipe bench/pingpong bench/raftbench; do
	[ -x "$build/$tool" ] || { echo "bench-barepipe.sh: no $build/$tool: build first (ninja -C $build)" >&2; exit 1; }
done
if [ $raftnode -eq 1 ] && [ "$(id -u)" -ne 0 ]; then
	echo "bench-barepipe.sh: the cluster needs root (network namespaces); try sudo, or --no-raftnode" >&2
	exit 1
fi

out=${out:-results/barepipe-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
run_dir=$(mktemp -d /tmp/raftnode-barepipe.XXXXXX)
prefix=rbench subnet=10.79.0
fio_s=$(( seconds / 3 > 1 ? seconds / 3 : 1 ))

teardown() {
	[ $raftnode -eq 0 ] || scripts/cluster.sh down --run-dir "$run_dir" --prefix "$prefix" >/dev/null 2>&1 || true
	rm -rf "$run_dir"
}
trap teardown EXIT
trap 'echo "bench-barepipe.sh: interrupted" >&2; exit 130' INT TERM
t_start=$SECONDS
say() { printf '[%4ds] %s\n' $((SECONDS - t_start)) "$*" >&2; }

uptime >"$out/uptime.start"
rows=(floor disk-free disk-lock bare-lo)
netns="" addrs=""
if [ $raftnode -eq 1 ]; then
	say "cluster up: 3 nodes, udp, uring, dsync + direct (as run.sh's main row)"
	mkdir -p "$run_dir"
	scripts/cluster.sh up --nodes 3 --transport udp --engine uring --durability dsync \
		--log-write direct --prefix "$prefix" --subnet "$subnet" --run-dir "$run_dir" \
		--build "$build" >"$out/cluster.log" 2>&1 || { tail -n 20 "$out/cluster.log" >&2; exit 1; }
	# The bare pipeline's leader and followers run where nodes 1..3 run,
	# on their addresses (another port), so its datagrams take the
	# nodes' veths and bridges.
	ns=() ad=()
	for i in 1 2 3; do
		ns+=("$(ip netns identify "$(cat "$run_dir/pids/node$i.pid")")")
		ad+=("$subnet.$i:$((7469 + i))")
	done
	netns=$(IFS=,; echo "${ns[*]}") addrs=$(IFS=,; echo "${ad[*]}")
	rows+=(bare-ns raftnode)
	export RAFTNODE_CONFIG=$run_dir/cluster.ini RAFTNODE_RUN_DIR=$run_dir
	"$build/bench/raftbench" --concurrency 1 --duration 1 --warmup 0.5 --quiet --json >/dev/null # a leader exists
fi
mkdir -p "$run_dir/bare"

one() { # ROW ROUND: measure ROW into $out/r<ROUND>.<ROW>.json
	local row=$1 k=$2 f="$out/r$2.$1.json"
	case $row in
	floor) bash scripts/baseline.sh --seconds "$fio_s" --nodes 3 --build "$build" --dir "$root/$build" \
		--out "$f" 2>/dev/null ;;
	disk-free) "$build/bench/barepipe" disk --writers 3 --duration "$fio_s" --warmup 0.5 \
		--write "$write" --dir "$run_dir/bare" >"$f" ;;
	disk-lock) "$build/bench/barepipe" disk --writers 3 --duration "$fio_s" --warmup 0.5 \
		--write "$write" --dir "$run_dir/bare" --lockstep >"$f" ;;
	bare-lo) "$build/bench/barepipe" run --inflight 1 --duration "$seconds" --warmup 1 --write "$write" \
		--dir "$run_dir/bare" --json >"$f" ;;
	bare-ns) "$build/bench/barepipe" run --inflight 1 --duration "$seconds" --warmup 1 --write "$write" \
		--dir "$run_dir/bare" --netns "$netns" --addrs "$addrs" --json >"$f" ;;
	raftnode) "$build/bench/raftbench" --concurrency 1 --duration "$seconds" --warmup 1 --value-bytes 64 \
		--quiet --json >"$f" ;;
	esac || { say "   $row failed in round $k (no figure)"; rm -f "$f"; }
}

n=${#rows[@]}
for k in $(seq 1 "$rounds"); do
	for j in $(seq 0 $((n - 1))); do
		row=${rows[$(((j + k - 1) % n))]} # rotated: no row always first
		say "round $k/$rounds: $row"
		one "$row" "$k"
	done
done
uptime >"$out/uptime.end"
python3 scripts/lib/barepipe_summary.py "$out" --rounds "$rounds" | tee "$out/summary.md"
echo "results: $out"
