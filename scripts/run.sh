#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job: install, build, start a 3-node raftnode cluster in
# virtual-device mode, benchmark commit latency (one in flight, 1000 in
# flight, an open-loop sweep to the knee, leader failover), and write
# results/<timestamp>/ with report.md, the JSON/CSV and the plots; print the
# headline table. --compare runs the same cluster again with the kernel UDP
# transport and with the pwrite engine, side by side in the same run. The
# cluster is torn down on exit, Ctrl-C or failure.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/run.sh [--help] [--no-setup | --no-build] [--compare] [--stages-apart]
                      [--full | --quick] [--nodes N] [--out DIR] [--story]

Installs what is needed (scripts/setup.sh), builds build/, then for each
configuration ("row"; the main one, udp+uring: kernel UDP transport, io_uring
log, idle = event): scripts/cluster.sh up --nodes N, raftbench with 1 and
with 1000 requests in flight (64-byte values; the log: one O_DIRECT
RWF_DSYNC write per group), an open-loop sweep until latency knees or throughput saturates, and (first row) leader
failover trials, and (main row) 5 paired rounds (--full 5, --quick 1), each
the floor measured for as long as the latency after it (fio 10 s) and right
after it one request in flight again (report: each round's ratio to the
floor and their median); then scripts/baseline.sh (fio 4 KiB O_DSYNC write p50/p99
with one writer per node, kernel UDP round trip p50/p99 on this machine: a
commit's floor is one such write plus two round trips), scripts/plot.sh and
scripts/report.py. Results: results/<timestamp>/report.md, *.json, *.csv,
plots/*.png and *.svg.

  --compare   add the rows tap+uring (DPDK net_tap: its lcore sleeps on the
              tap queue's rx interrupt), dpdk+uring (DPDK net_af_packet: no
              rx interrupt, so its lcore naps) and udp+pwrite (the pwrite+fdatasync
              engine): the report shows, as ratios, what the transport and
              io_uring buy or cost on this machine
  --stages-apart  add the row udp+uring+apart: the same cluster with every
              node's rx/tx, log and apply stages on lcores of their own
              (cluster.sh --log-lcore --apply-lcore --rxtx-lcore); what that costs or
              buys depends on free cores (on 2 CPUs shared by 3 nodes it
              costs)
  --full      longer runs (30 s per measurement, 20 failover trials)
  --quick     a smoke run of well under a minute per row (CI): outputs exist
              and parse, the figures mean little
  --nodes N   cluster size (default 3)
  --out DIR   results directory (default results/<timestamp>)
  --no-setup  skip scripts/setup.sh
  --no-build  skip setup and build: use build/ as it is (the CI smoke)
  --story     instead of the benchmark: the seed's 7-node / 2-host partition
              story in the deterministic simulator (raftsim), as before
Needs root (network namespaces). Default run: about 3 minutes per row, 5 for the main one.
USAGE
}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
do_setup=1 do_build=1 compare=0 apart=0 mode=default nodes=3 out="" story=0
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--no-setup) do_setup=0 ;;
	--no-build) do_setup=0 do_build=0 ;;
	--compare) compare=1 ;;
	--stages-apart) apart=1 ;;
	--full) mode=full ;;
	--quick) mode=quick ;;
	--story) story=1 ;;
	--nodes) shift; nodes=${1:?--nodes needs a number} ;;
	--out) shift; out=${1:?--out needs a directory} ;;
	*) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done
if ! [[ "$nodes" =~ ^[0-9]+$ ]] || [ "$nodes" -lt 1 ] || [ "$nodes" -gt 16 ]; then
	echo "run.sh: --nodes must be 1..16" >&2
	exit 2
fi

if [ $do_setup -eq 1 ]; then
	bash scripts/setup.sh
fi
if [ $do_build -eq 1 ]; then
	echo "== build: build/"
	if [ -f build/build.ninja ]; then
		meson setup --reconfigure build >/dev/null
	else
		meson setup build >/dev/null
	fi
	ninja -C build >/dev/null
fi

if [ $story -eq 1 ]; then
	echo "== the seed's story, in the deterministic simulator"
	exec build/tests/sim/raftsim --scenario tests/sim/scenarios/seven_nodes_two_hosts.txt
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: the cluster needs root (network namespaces); try sudo" >&2
	exit 1
fi

case $mode in
quick) d1=1 d1000=2 warm=0.3 step=1 steps=2 trials=1 base_s=1 dread=0.5 pairs=1 ;;
full) d1=30 d1000=30 warm=2 step=5 steps=20 trials=20 base_s=10 dread=10 pairs=5 ;;
*) d1=10 d1000=10 warm=1 step=3 steps=8 trials=5 base_s=3 dread=3 pairs=5 ;;
esac
out=${out:-results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
run_dir=$(mktemp -d /tmp/raftnode-run.XXXXXX)
prefix=rbench
subnet=10.79.0
bench=build/bench/raftbench

teardown() {
	scripts/cluster.sh down --run-dir "$run_dir" --prefix "$prefix" >/dev/null 2>&1 || true
	rm -rf "$run_dir"
}
on_exit() {
	local rc=$?
	teardown
	[ $rc -eq 0 ] || echo "run.sh: failed (exit $rc); partial results in $out" >&2
	exit $rc
}
trap on_exit EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT TERM

t_start=$SECONDS
say() { printf '[%4ds] %s\n' $((SECONDS - t_start)) "$*"; }

# perf counts the nodes' system calls (raw_syscalls:sys_enter) when it
# works here; it is a counter, not a tracer: each syscall pays a tracepoint
# hit, far less than strace's two stops per syscall.
have_perf=0
if command -v perf >/dev/null && perf stat -e raw_syscalls:sys_enter -x, -o /dev/null true 2>/dev/null; then
	have_perf=1
fi

# costed ROW KEY JSON CMD...: runs CMD (a raftbench) with stdout to JSON, and
# stores what its commits cost the nodes in ROW.costs.json as member KEY:
# node counters (raftctl status) and thread context switches read before
# and after, the nodes' syscalls counted by perf meanwhile
# (scripts/lib/node_costs.py).
costed() {
	local row=$1 key=$2 json=$3 pids perf_pid=""
	shift 3
	pids=$(python3 scripts/lib/node_costs.py snap --config "$run_dir/cluster.ini" \
		--raftctl build/client/raftctl --nodes "$nodes" --out "$run_dir/costs.before.json")
	rm -f "$run_dir/perf.csv"
	if [ $have_perf -eq 1 ] && [ -n "$pids" ]; then
		perf stat -e raw_syscalls:sys_enter -x, -o "$run_dir/perf.csv" -p "$pids" 2>/dev/null &
		perf_pid=$!
		sleep 0.2 # attached before the load starts
	fi
	"$@" >"$json"
	if [ -n "$perf_pid" ]; then
		kill -INT "$perf_pid" 2>/dev/null || true
		wait "$perf_pid" || true
	fi
	python3 scripts/lib/node_costs.py snap --config "$run_dir/cluster.ini" \
		--raftctl build/client/raftctl --nodes "$nodes" --out "$run_dir/costs.after.json" >/dev/null
	python3 scripts/lib/node_costs.py diff "$run_dir/costs.before.json" "$run_dir/costs.after.json" \
		--bench "$json" --perf "$run_dir/perf.csv" --key "$key" --out "$out/$row.costs.json"
}

# one_row NAME TRANSPORT ENGINE MAIN(0|1) [cluster.sh up options...]
# MAIN: the main row, which also measures reads and leader failover.
one_row() {
	local row=$1 transport=$2 engine=$3 main=$4
	shift 4
	say "== $row: $nodes nodes, transport $transport, engine $engine, dsync+direct${*:+, $*}"
	teardown
	mkdir -p "$run_dir"
	scripts/cluster.sh up --nodes "$nodes" --transport "$transport" --engine "$engine" \
		--durability dsync --log-write direct --prefix "$prefix" --subnet "$subnet" --run-dir "$run_dir" "$@" \
		>"$out/$row.cluster.log" 2>&1 || {
		tail -n 20 "$out/$row.cluster.log" >&2
		return 1
	}
	say "   cluster up"
	export RAFTNODE_CONFIG=$run_dir/cluster.ini RAFTNODE_RUN_DIR=$run_dir
	rm -f "$out/$row.costs.json"
	say "   one request in flight, ${d1} s"
	costed "$row" in_flight_1 "$out/$row.closed1.json" \
		"$bench" --concurrency 1 --duration "$d1" --warmup "$warm" --value-bytes 64 --quiet --json \
		--cdf "$out/$row.cdf.csv" --timeseries "$out/$row.timeseries.csv"
	if [ "$main" -eq 1 ] && [ "$pairs" -gt 0 ]; then
		# The floor and the one-in-flight latency, side by side: this
		# machine is shared and noisy, and a floor measured minutes
		# apart from the latency it divides (baseline.sh at the end)
		# can catch a quiet or a loud minute the latency did not. Each
		# round measures the floor (fio, pingpong; the cluster idle,
		# its lcores asleep) and right after it one request in flight;
		# report.py gives each round's ratios and their median. fio
		# runs as long as the latency it pairs with: this disk's and
		# CPUs' stalls come in bursts seconds apart, and a p99 over
		# 3 s can miss the burst a p99 over 10 s catches.
		local k
		for k in $(seq 1 "$pairs"); do
			say "   paired round $k/$pairs: floor (fio, UDP round trip), then one in flight ${d1} s"
			bash scripts/baseline.sh --seconds "$d1" --nodes "$nodes" --build build \
				--dir "$root/build" --out "$out/pair$k.baseline.json" >/dev/null 2>&1 ||
				say "   (baseline.sh failed in round $k: that round has no ratio)"
			"$bench" --concurrency 1 --duration "$d1" --warmup "$warm" --value-bytes 64 \
				--quiet --json >"$out/pair$k.closed1.json"
		done
	fi
	say "   1000 requests in flight, ${d1000} s"
	costed "$row" in_flight_1000 "$out/$row.closed1000.json" \
		"$bench" --concurrency 1000 --duration "$d1000" --warmup "$warm" --value-bytes 64 --quiet \
		--json
	if [ "$main" -eq 1 ]; then
		# Reads after the writes: the keys exist. Linearizable (read
		# index, §6.4): the leader confirms its lead with a heartbeat
		# round to a majority, then answers once applied; no log write.
		say "   linearizable reads: 1 and 1000 in flight, ${dread} s each"
		"$bench" --concurrency 1 --read-ratio 1 --duration "$dread" --warmup "$warm" --quiet \
			--json >"$out/$row.read1.json"
		"$bench" --concurrency 1000 --read-ratio 1 --duration "$dread" --warmup "$warm" --quiet \
			--json >"$out/$row.read1000.json"
	fi
	say "   open-loop sweep: ${step} s steps, at most $steps"
	"$bench" sweep --rate-start 1000 --rate-factor 2 --step-duration "$step" --max-steps "$steps" \
		--value-bytes 64 --quiet --csv "$out/$row.sweep.csv" --json >"$out/$row.sweep.json"
	if [ "$main" -eq 1 ]; then
		say "   leader failover: $trials trial(s)"
		"$bench" failover --trials "$trials" --rate 500 --json \
			--kill-cmd "scripts/cluster.sh kill {id} --run-dir $run_dir >/dev/null 2>&1" \
			--start-cmd "scripts/cluster.sh start {id} --run-dir $run_dir >/dev/null 2>&1" \
			>"$out/$row.failover.json"
		cp "$out/$row.failover.json" "$out/failover.json"
	fi
	say "   cluster down"
	teardown
}

# The main row: kernel UDP with idle = event. On this machine kind (2
# vCPUs shared by 3 nodes and raftbench) it beats DPDK's net_af_packet:
# af_packet has no rx interrupt, so its lcore must poll or nap, and every
# hop of a commit lands on a napping or spinning lcore; a UDP socket lets
# every lcore sleep in the kernel until its input comes (README: idle).
one_row udp+uring udp uring 1
if [ $apart -eq 1 ]; then
	one_row udp+uring+apart udp uring 0 --log-lcore --apply-lcore --rxtx-lcore
fi
if [ $compare -eq 1 ]; then
	# Right after the main row: the two event-driven transports side by side.
	one_row tap+uring tap uring 0
	one_row dpdk+uring af_packet uring 0
	one_row udp+pwrite udp pwrite 0
fi
say "== baseline: fio 4 KiB O_DSYNC write ($nodes writers), kernel UDP round trip"
bash scripts/baseline.sh --seconds "$base_s" --nodes "$nodes" --build build --dir "$root/build" \
	--out "$out/baseline.json" >/dev/null
say "== plots and report"
bash scripts/plot.sh "$out" >/dev/null
python3 scripts/report.py "$out" >/dev/null
echo
sed -n '1,/^## /p' "$out/report.md" | sed '$d'
echo "report: $out/report.md (plots in $out/plots)"
