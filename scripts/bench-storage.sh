#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the storage benchmarks side by side in one run on this machine: fio's
# durable 4 KiB writes into a pre-written file (the floor), then storebench
# with both engines in every write variant, at 1 writer and at 1,024
# writers, and prints one table with the ratios the storage issue sets
# targets for. Numbers from a shared machine are noisy; the ratios of one
# run are what we compare.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/bench-storage.sh [--help] [--duration S] [--repeat N] [--dir PATH] [--quick]

Builds build/ if needed and runs, each for S seconds (default 5), N times
(default 3), every run of one repetition one after the other:
  fio, 4 KiB sequential writes, one job, into a PRE-WRITTEN file
  (--overwrite=1 lays it out first, --fallocate=none), as the log's
  segments are:
    fio-fdatasync   psync, buffered write + fdatasync
    fio-dsync       psync, buffered, O_DSYNC          (the issue's floor)
    fio-direct      psync, O_DIRECT + O_DSYNC
    fio-falloc      psync, O_DSYNC into a fallocate'd file (unwritten
                    extents: what segments were before they were written)
  storebench, 1 writer, 4064-byte payloads (one 4 KiB record per write),
  and 1,024 writers, 64-byte entries, for each engine (uring, pwrite) and
  write variant:
    durability fsync|dsync   write + fdatasync (uring: linked write->fsync
                             SQEs) | one write with RWF_DSYNC
    write buffered|direct    page cache | O_DIRECT, 4 KiB blocks
    +async                   uring with IOSQE_ASYNC (forced io-wq hop)
For each storebench row: durable p50/p99, entries/s, and io-wq hand-offs
per group (perf's io_uring:io_uring_queue_async_work tracepoint; "-" where
perf cannot count it), and p50 / fio-dsync p50. At 1 writer storebench
also runs the floor itself (--baseline dsync: plain 4 KiB RWF_DSYNC writes
into a pre-written file, what fio-dsync does), interleaved with the log in
slices of 50 writes: "base p50" and "p50/base". This disk is shared and its
speed changes by 50x within seconds, so fio minutes apart often compares
two different disks; the interleaved ratio is the one the targets use.
The table of each repetition, then the medians and the targets (issue 15):
at 1 writer each engine's default variant p50 <= 1.1 x the floor's p50,
uring p50 <= pwrite p50; at 1,024 writers uring entries/s >= pwrite.
Needs fio (scripts/setup.sh).
  --duration S  seconds per run (default 5)
  --repeat N    repetitions (default 3)
  --dir PATH    scratch directory on the disk to measure (default /var/tmp)
  --pairs P     engine pairs for the uring-vs-pwrite targets (default 8): the
                default variant on each engine, 1 s runs back to back (ABBA),
                at 1 writer and at 1,024; the median of the pairs' ratios
  --quick       only the default variants and the old default (fsync, buffered)
USAGE
}

duration=5
repeat=3
base=/var/tmp
quick=0
pairs=8
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--duration) shift; duration=${1:?--duration needs seconds} ;;
	--repeat) shift; repeat=${1:?--repeat needs a count} ;;
	--dir) shift; base=${1:?--dir needs a path} ;;
	--quick) quick=1 ;;
	--pairs) shift; pairs=${1:?--pairs needs a count} ;;
	*) echo "bench-storage.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v fio >/dev/null || { echo "bench-storage.sh: fio not installed (scripts/setup.sh)" >&2; exit 1; }
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build bench/storebench >/dev/null

scratch=$(mktemp -d "$base/raftnode-bench-storage.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
echo "bench-storage: ${duration}s per run, $repeat repetition(s), in $scratch ($(df -T "$scratch" | awk 'NR==2 {print $2}'))"

# io-wq hand-offs: perf stat on the io_uring tracepoint, when perf can.
tracepoint=io_uring:io_uring_queue_async_work
use_perf=0
if command -v perf >/dev/null && perf stat -x, -e "$tracepoint" -o /dev/null true 2>/dev/null; then
	use_perf=1
else
	echo "bench-storage: perf cannot count $tracepoint here: io-wq column shows '-'"
fi

# Variants: engine:durability:write[:async]. The first two are the
# library's default (store_config_default) on each engine. Each uring row
# runs right next to its pwrite twin, in the opposite order every other
# repetition, so a pair compares the same minute of the disk.
if [ "$quick" = 1 ]; then
	variants=(
		"uring:dsync:direct" "pwrite:dsync:direct"
		"uring:fsync:buffered" "pwrite:fsync:buffered"
	)
else
	variants=(
		"uring:dsync:direct" "pwrite:dsync:direct"
		"uring:fsync:direct" "pwrite:fsync:direct"
		"uring:dsync:buffered" "pwrite:dsync:buffered"
		"uring:fsync:buffered" "pwrite:fsync:buffered"
		"uring:dsync:direct:async" "uring:fsync:buffered:async"
	)
fi

sb() { # out variant entry_bytes writers [storebench options]
	local out=$1 v=$2 bytes=$3 writers=$4
	shift 4
	local engine durability write async
	IFS=: read -r engine durability write async <<<"$v"
	local dir="$scratch/sb"
	local args=(--engine "$engine" --durability "$durability" --write "$write"
		--entry-bytes "$bytes" --writers "$writers" --duration "$duration" --dir "$dir" --json)
	[ "$async" = async ] && args+=(--uring-async)
	args+=("$@")
	if [ "$use_perf" = 1 ]; then
		perf stat -x, -e "$tracepoint" -o "$out.perf" build/bench/storebench "${args[@]}" >"$out"
	else
		build/bench/storebench "${args[@]}" >"$out"
	fi
	rm -rf "$dir" # a fresh log each run: same segment history every time
}
fiojson() { # out name, then fio arguments
	local out=$1 name=$2
	shift 2
	fio --name="$name" --directory="$scratch" --runtime="$duration" --time_based \
		--output-format=json "$@" >"$out"
}
# Pre-written: --overwrite=1 makes fio lay the file out (write it whole)
# before the timed phase, and the file is kept between repetitions.
prewritten=(--overwrite=1 --fallocate=none --size=64m --bs=4k --rw=write --ioengine=psync)

results="$scratch/results"
mkdir -p "$results"
for rep in $(seq 1 "$repeat"); do
	echo "bench-storage: repetition $rep of $repeat"
	r="$results/$rep"
	mkdir -p "$r"
	fiojson "$r/fio-fdatasync" fdatasync --filename=fdatasync.dat "${prewritten[@]}" --fdatasync=1
	fiojson "$r/fio-dsync" dsync --filename=dsync.dat "${prewritten[@]}" --sync=dsync
	fiojson "$r/fio-direct" direct --filename=direct.dat "${prewritten[@]}" --sync=dsync --direct=1
	rm -f "$scratch/falloc.dat"
	fiojson "$r/fio-falloc" falloc --filename=falloc.dat --fallocate=native --size=64m --bs=4k \
		--rw=write --ioengine=psync --sync=dsync
	order=("${variants[@]}")
	if [ $((rep % 2)) = 0 ]; then # pwrite first in each pair
		order=()
		for ((i = 0; i < ${#variants[@]}; i += 2)); do
			[ $((i + 1)) -lt ${#variants[@]} ] && order+=("${variants[i + 1]}")
			order+=("${variants[i]}")
		done
	fi
	for v in "${order[@]}"; do
		sb "$r/w1-$v" "$v" 4064 1 --baseline dsync
	done
	for v in "${order[@]}"; do
		sb "$r/w1024-$v" "$v" 64 1024
	done
done

# uring against pwrite, each in its default variant: short runs back to
# back, the order flipped every pair, so that a pair shares the disk's
# minute (its speed drifts by 50x on this shared machine).
echo "bench-storage: $pairs uring/pwrite pairs at 1 and 1024 writers"
mkdir -p "$results/pairs"
for i in $(seq 1 "$pairs"); do
	first=${variants[0]} second=${variants[1]}
	[ $((i % 2)) = 0 ] && first=${variants[1]} second=${variants[0]}
	for w in 1 1024; do
		bytes=64
		[ "$w" = 1 ] && bytes=4064
		for v in "$first" "$second"; do
			duration=1 sb "$results/pairs/$i-w$w-${v%%:*}" "$v" "$bytes" "$w"
		done
	done
done

python3 - "$results" "$repeat" "$pairs" "${variants[@]}" <<'PY'
import json, os, statistics, sys
results, repeat, npairs, variants = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
def load(rep, key):
    with open(os.path.join(results, str(rep), key)) as f:
        return json.load(f)
def fio_lat(j, q):
    w = j["jobs"][0]["write"]
    lat = w["clat_ns"] if w["clat_ns"]["N"] else w["lat_ns"]
    v = lat["percentile"][q] / 1000
    s = j["jobs"][0].get("sync", {}).get("lat_ns", {})  # --fdatasync: the sync apart
    if s.get("N"):
        v += s["percentile"][q] / 1000
    return v
def punts(rep, key):
    path = os.path.join(results, str(rep), key + ".perf")
    if not os.path.exists(path):
        return None
    for line in open(path):
        f = line.strip().split(",")
        if len(f) > 2 and "io_uring_queue_async_work" in f[2]:
            try:
                return float(f[0])
            except ValueError:
                return None
    return None
FIOS = ["fio-fdatasync", "fio-dsync", "fio-direct", "fio-falloc"]
def table(rep):
    t = {}
    for k in FIOS:
        j = load(rep, k)
        t[k] = {"p50": fio_lat(j, "50.000000"), "p99": fio_lat(j, "99.000000"),
                "eps": j["jobs"][0]["write"]["iops"], "punt": None, "base": None, "rb": None}
    for w in ("w1", "w1024"):
        for v in variants:
            k = f"{w}-{v}"
            j = load(rep, k)
            n = punts(rep, k)
            t[k] = {"p50": j["latency_us_p50"], "p99": j["latency_us_p99"],
                    "eps": j["entries_per_s"],
                    "punt": n / j["groups"] if n is not None and j["groups"] else None,
                    "write": j["write"],
                    "base": j.get("baseline_us_p50") or None,
                    "rb": j.get("p50_over_baseline") or None}
    return t
tables = [table(rep) for rep in range(1, repeat + 1)]
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
def cell(v, w, fmt):
    return f"{v:{w}{fmt}}" if v is not None else f"{'-':>{w}}"
def name(k):
    if k.startswith("fio"):
        return k
    w, v = k.split("-", 1)
    parts = v.split(":")
    return f"{w:5} {parts[0]:6} {parts[1]:5} {parts[2]:8} {'+async' if len(parts) > 3 else ''}"
def show(title, rows):
    print(title)
    print(f"{'run':34} {'p50 us':>8} {'p99 us':>9} {'entries/s':>10} {'io-wq/grp':>9} "
          f"{'base p50':>8} {'p50/base':>8} {'p50/fio':>8} {'p50/fio-direct':>14}")
    for k, r in rows:
        print(f"{name(k):34} {cell(r['p50'], 8, '.1f')} {cell(r['p99'], 9, '.1f')} "
              f"{cell(r['eps'], 10, '.0f')} {cell(r['punt'], 9, '.2f')} "
              f"{cell(r.get('base'), 8, '.1f')} {cell(r.get('rb'), 8, '.2f')} "
              f"{cell(r.get('ratio'), 8, '.2f')} {cell(r.get('ratio_d'), 14, '.2f')}")
keys = FIOS + [f"w1-{v}" for v in variants] + [f"w1024-{v}" for v in variants]
def with_ratios(t):
    rows = []
    for k in keys:
        r = dict(t[k])
        r["ratio"] = r["p50"] / t["fio-dsync"]["p50"]
        r["ratio_d"] = r["p50"] / t["fio-direct"]["p50"]
        rows.append((k, r))
    return rows
per_rep = [with_ratios(t) for t in tables]
for rep, rows in enumerate(per_rep, 1):
    show(f"repetition {rep}:", rows)
    fell_back = [k for k, r in rows if r.get("write") == "buffered" and ":direct" in k]
    if fell_back:
        print(f"  NOTE: direct fell back to buffered (file system refuses O_DIRECT): {fell_back}")
medians = []
for i, k in enumerate(keys):
    m = {f: med([rows[i][1][f] for rows in per_rep])
         for f in ("p50", "p99", "eps", "punt", "base", "rb", "ratio", "ratio_d")}
    medians.append((k, m))
show(f"medians of {repeat} repetition(s) (ratios: median of the per-repetition ratios):", medians)
M = dict(medians)
def ratio_med(a, b, f):
    return med([dict(rows)[a][f] / dict(rows)[b][f] for rows in per_rep])
du, dp = variants[0], variants[1]
print("targets (issue 15), medians; defaults: uring " + du + ", pwrite " + dp)
def verdict(ok):
    return "MET" if ok else "NOT MET"
for v in (du, dp):
    m = M[f"w1-{v}"]
    print(f"  1 writer  {v:22} p50 / floor p50 (interleaved) = {m['rb']:.2f} "
          f"(<= 1.10: {verdict(m['rb'] <= 1.10)}); reference: / fio-dsync = {m['ratio']:.2f}, "
          f"/ fio-direct = {m['ratio_d']:.2f}")
def pair_ratios(w, field):
    out = []
    for i in range(1, npairs + 1):
        a = json.load(open(os.path.join(results, "pairs", f"{i}-w{w}-uring")))
        b = json.load(open(os.path.join(results, "pairs", f"{i}-w{w}-pwrite")))
        out.append(a[field] / b[field])
    return out
def spread(xs):
    xs = sorted(xs)
    return f"pairs: min {xs[0]:.2f}, median {statistics.median(xs):.2f}, max {xs[-1]:.2f}"
r = pair_ratios(1, "latency_us_p50")
m = statistics.median(r)
print(f"  1 writer  uring p50 / pwrite p50 = {m:.2f} (<= 1.00: {verdict(m <= 1.0)}); "
      f"{npairs} {spread(r)}")
rr = M[f"w1-{du}"]["rb"] / M[f"w1-{dp}"]["rb"]
print(f"            (each over its interleaved floor: {rr:.2f})")
r = pair_ratios(1024, "entries_per_s")
m = statistics.median(r)
print(f"  1024 writers uring entries/s / pwrite = {m:.2f} (>= 1.00: {verdict(m >= 1.0)}); "
      f"{npairs} {spread(r)}")
old = "uring:fsync:buffered"
if f"w1-{old}" in M:
    # Over each one's interleaved floor: the two runs are minutes apart.
    r = M[f"w1-{du}"]["rb"] / M[f"w1-{old}"]["rb"]
    print(f"  1 writer  uring default / uring fsync+buffered (the old default), each over its "
          f"floor = {r:.2f}")
PY
