#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench-snapshot-p99.sh: commit latency while snapshots are being written
# against while none is, in one run, with a store of >= --min-keys keys
# (issue 16's target: p99 during <= 1.5x without). Outside CI (minutes).
# Uses the shared network-namespace names: run it under
# `flock /tmp/raftnode-netns.lock`.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: flock /tmp/raftnode-netns.lock scripts/bench-snapshot-p99.sh [--min-keys N]
           [--rate R] [--duration S] [--snapshot-entries N] [--write-rate B]
           [--nice N] [--build DIR]

A 3-node cluster (af_packet, as CI); raftbench (closed loop) fills the store
with random keys until it holds --min-keys (default 1000000) keys; then
raftbench runs open loop at --rate (default 3000/s) for --duration (default
60 s) with a per-second time series, while every node snapshots each
--snapshot-entries (default 30000) entries. Each second is classed by
whether any node's snapshot writer was writing during it (the nodes' log
lines give each start and duration: the nodes share this machine's disk,
and since their snapshots are phased apart a follower's writes while the
leader's is idle count too); the table gives the per-second p99's median
and 90th percentile in each class, and their ratio, which the last line
compares with the target (ACCEPTANCE). Two more rows: the seconds in
which a snapshot ended (its fsync, rename, directory sync and the older
snapshot's release), a subset of the writing ones, and the classes by
the leader's snapshots only (as before the phasing). --write-rate B
sets [storage] snapshot_write_bytes_per_s (e.g. 64M, 0: no limit; not
given: the build's default; a build before the key refuses it). --nice N
(e.g. -10) runs the nodes' lcores ([node] lcore_nice) and raftbench at
that nice value: on a machine shared with builds, so that the disk's part
is not buried under CPU scheduling (the snapshot writer stays 10 above).
USAGE
}

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
min_keys=1000000 rate=3000 duration=60 snap_entries=30000 write_rate= nice=
while [ $# -gt 0 ]; do
	case $1 in
	--min-keys) min_keys=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--snapshot-entries) snap_entries=$2; shift 2 ;;
	--write-rate) write_rate=$2; shift 2 ;;
	--nice) nice=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--help | -h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
run=/tmp/raftnode-bench-snapp99
prefix=rbp
keys=$((min_keys * 3 / 2))
ctl() { "$build/client/raftctl" --config "$run/cluster.ini" "$@"; }
field() { ctl --node "$1" --timeout-ms 3000 --json status 2>/dev/null | jq -r "$2" 2>/dev/null || true; }
trap '"$root/scripts/cluster.sh" down --run-dir "$run" --prefix "$prefix" >/dev/null 2>&1 || true' EXIT
echo "bench-snapshot-p99: >= $min_keys keys, $rate/s for $duration s, a snapshot every $snap_entries entries"
"$root/scripts/cluster.sh" down --run-dir "$run" --prefix "$prefix" >/dev/null 2>&1 || true
"$root/scripts/cluster.sh" up --nodes 3 --no-start --run-dir "$run" --prefix "$prefix" \
	--subnet 10.95.0 --build "$build" >/dev/null
printf '\n[limits]\nkv_keys_max = %d\nkv_key_bytes_max = 32\nkv_value_bytes_max = 128\n[storage]\nsnapshot_entries = %d\n' \
	"$((keys + 1000))" "$snap_entries" >>"$run/cluster.ini"
[ -z "$write_rate" ] || echo "snapshot_write_bytes_per_s = $write_rate" >>"$run/cluster.ini"
[ -z "$nice" ] || printf '[node]\nlcore_nice = %d\n' "$nice" >>"$run/cluster.ini"
rb_nice=(); [ -z "$nice" ] || rb_nice=(nice -n "$nice")
for n in 1 2 3; do "$root/scripts/cluster.sh" start "$n" --run-dir "$run" >/dev/null; done
for _ in $(seq 300); do
	l=$(field 1 .leader)
	[ -n "$l" ] && [ "$l" != 0 ] && [ "$l" != null ] && break
	sleep 0.1
done
"$build/bench/raftbench" --config "$run/cluster.ini" --concurrency 256 --duration 100000 \
	--warmup 0 --value-bytes 64 --keys "$keys" --quiet >"$run/fill.out" 2>&1 &
fill=$!
while :; do
	k=$(field "$l" .kv.keys)
	case $k in '' | null) k=0 ;; esac
	[ "$k" -ge "$min_keys" ] && break
	kill -0 "$fill" 2>/dev/null || { echo "bench-snapshot-p99: the fill ended: $(tail -2 "$run/fill.out")" >&2; exit 1; }
	sleep 2
done
kill -TERM "$fill" 2>/dev/null || true
wait "$fill" 2>/dev/null || true
echo "bench-snapshot-p99: the store holds $k keys; measuring"
sleep 3
t0=$(date +%s%3N)
"${rb_nice[@]}" "$build/bench/raftbench" --config "$run/cluster.ini" --rate "$rate" --duration "$duration" \
	--warmup 0 --value-bytes 64 --keys "$keys" --timeseries "$run/ts.csv" --quiet \
	>"$run/bench.out" 2>&1 || { echo "raftbench: $(tail -3 "$run/bench.out")" >&2; exit 1; }
l=$(field 1 .leader)
for n in 1 2 3; do
	grep -o "snapshot at index .* written in [0-9]* ms from unix ms [0-9]*" "$run/logs/node$n.log" |
		awk -v n="$n" -v l="$l" '{print $(NF-5), $NF, n, (n == l)}'
done >"$run/snaps.txt"
echo "$t0" >"$run/t0.txt"
for f in ts.csv snaps.txt bench.out t0.txt logs/node1.log logs/node2.log logs/node3.log; do
	cp "$run/$f" "/tmp/bench-snapshot-p99.${f#logs/}" 2>/dev/null
done || true # kept: the run dir goes with the cluster
python3 - "$run/ts.csv" "$run/snaps.txt" "$t0" <<'PY'
import sys
ts, snaps, t0 = sys.argv[1], sys.argv[2], int(sys.argv[3])
writes = []  # (start ms, end ms, node, is the leader)
for line in open(snaps):
    ms, start, node, leader = line.split()
    writes.append((int(start), int(start) + int(ms), int(node), leader == '1'))
rows = [l.strip().split(',') for l in open(ts) if l[0].isdigit()]
def q(v, f):
    v = sorted(v)
    return v[min(len(v) - 1, int(f * len(v)))] if v else float('nan')
def classes(ws):
    during, outside, ends = [], [], []
    for r in rows:
        sec, p99 = int(r[0]), float(r[3])
        a, b = t0 + sec * 1000, t0 + (sec + 1) * 1000
        (during if any(s < b and e > a for s, e, *_ in ws) else outside).append(p99)
        if any(a <= e < b for s, e, *_ in ws):
            ends.append(p99)  # a snapshot's last moments: fsync, rename, directory sync, prune
    return during, outside, ends
during, outside, ends = classes(writes)
l_during, l_outside, _ = classes([w for w in writes if w[3]])
n_w = sum(1 for s, e, *_ in writes if e > t0)
print(f"{'seconds':>26} {'count':>6} {'p99_us median':>14} {'p99_us p90':>11}")
print(f"{'any node writing':>26} {len(during):6d} {q(during, .5):14.0f} {q(during, .9):11.0f}")
print(f"{'no node writing':>26} {len(outside):6d} {q(outside, .5):14.0f} {q(outside, .9):11.0f}")
print(f"{'(of writing: one ends)':>26} {len(ends):6d} {q(ends, .5):14.0f} {q(ends, .9):11.0f}")
print(f"{'(leader writing)':>26} {len(l_during):6d} {q(l_during, .5):14.0f} {q(l_during, .9):11.0f}")
print(f"{'(leader not writing)':>26} {len(l_outside):6d} {q(l_outside, .5):14.0f} {q(l_outside, .9):11.0f}")
print(f"{n_w} snapshots written during the run by the three nodes "
      f"({sum(1 for s, e, n, ld in writes if e > t0 and ld)} by the leader)")
if during and outside:
    ratio = q(during, .5) / q(outside, .5)
    print(f"ratio of the median per-second p99 (writing / none): {ratio:.2f} "
          f"(p90: {q(during, .9) / q(outside, .9):.2f}); leader only: "
          f"{q(l_during, .5) / q(l_outside, .5):.2f}")
    print(f"ACCEPTANCE (issue 16: median per-second commit p99 with any snapshot being "
          f"written <= 1.5x without, same run): {ratio:.2f}x -> {'PASS' if ratio <= 1.5 else 'FAIL'}")
else:
    print("ACCEPTANCE: not measured (no second in one of the classes: run longer)")
PY
grep -E "latency|p99|ops" "$run/bench.out" | head -5 || true
