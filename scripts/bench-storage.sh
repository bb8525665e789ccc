#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the storage benchmarks side by side in one run on this machine:
# storebench with the uring and pwrite engines, and fio's durable writes at
# the same sizes, then prints one table with the ratios the storage issue
# sets targets for. Numbers from a shared machine are noisy; the ratios of
# one run are what we compare.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/bench-storage.sh [--help] [--duration S] [--repeat N] [--dir PATH]

Builds build/ if needed and runs, each for S seconds (default 5), N times
(default 3), every row's runs one after the other inside one repetition:
  row 1  64 B entries, 1024 closed-loop writers: uring vs pwrite entries/s
  row 2  4 KiB entries, 64 writers: MiB/s vs fio (io_uring, bs=4k, fdatasync=1)
  row 3  4 KiB records (4064 B payloads), 1 writer, --durability fsync: p50
         append-to-durable vs fio p50 of one 4 KiB write + fdatasync
  row 4  same, --durability dsync (RWF_DSYNC) vs fio 4 KiB O_DSYNC writes
  ref    fio 4 KiB O_DSYNC p50 into a fallocate'd file (unwritten extents:
         what segments were before they were written ahead)
fio writes into PRE-WRITTEN files (--overwrite=1 lays a file out with a
first write pass; --fallocate=none), as the log's segments now are. Prints
each repetition's table, then the medians of the values and of the ratios.
Needs fio (scripts/setup.sh).
  --duration S  seconds per run (default 5)
  --repeat N    repetitions (default 3)
  --dir PATH    scratch directory on the disk to measure (default /var/tmp)
USAGE
}

duration=5
repeat=3
base=/var/tmp
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--duration) shift; duration=${1:?--duration needs seconds} ;;
	--repeat) shift; repeat=${1:?--repeat needs a count} ;;
	--dir) shift; base=${1:?--dir needs a path} ;;
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
echo "bench-storage: ${duration}s per run in $scratch (storebench uring, pwrite; fio)"

sb() { # out engine entry_bytes writers [durability]
	local dir="$scratch/sb-$2-$3-$4-${5:-fsync}"
	build/bench/storebench --engine "$2" --entry-bytes "$3" --writers "$4" \
		--durability "${5:-fsync}" --duration "$duration" --dir "$dir" --json >"$1"
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
prewritten=(--overwrite=1 --fallocate=none --size=64m --bs=4k --rw=write)

results="$scratch/results"
mkdir -p "$results"
for rep in $(seq 1 "$repeat"); do
	echo "bench-storage: repetition $rep of $repeat"
	r="$results/$rep"
	mkdir -p "$r"
	sb "$r/r1u" uring 64 1024; sb "$r/r1p" pwrite 64 1024
	sb "$r/r2u" uring 4096 64; sb "$r/r2p" pwrite 4096 64
	fiojson "$r/r2f" bw4k --filename=bw4k.dat "${prewritten[@]}" --ioengine=io_uring \
		--fdatasync=1
	sb "$r/r3u" uring 4064 1; sb "$r/r3p" pwrite 4064 1
	fiojson "$r/r3f" fsync4k --filename=fsync4k.dat "${prewritten[@]}" --ioengine=psync \
		--fdatasync=1
	sb "$r/r4u" uring 4064 1 dsync; sb "$r/r4p" pwrite 4064 1 dsync
	fiojson "$r/r4f" dsync4k --filename=dsync4k.dat "${prewritten[@]}" --ioengine=psync \
		--sync=dsync
	rm -f "$scratch/falloc4k.dat"
	fiojson "$r/ref" falloc4k --filename=falloc4k.dat --fallocate=native --size=64m --bs=4k \
		--rw=write --ioengine=psync --sync=dsync
done

python3 - "$results" "$repeat" <<'PY'
import json, os, statistics, sys
results, repeat = sys.argv[1], int(sys.argv[2])
def load(rep, key):
    with open(os.path.join(results, str(rep), key)) as f:
        return json.load(f)
def fio_w(j):
    return j["jobs"][0]["write"]
def fio_p50_us(j):
    w = fio_w(j)
    lat = w["clat_ns"] if w["clat_ns"]["N"] else w["lat_ns"]
    return lat["percentile"]["50.000000"] / 1000
def fio_sync_p50_us(j):  # write + fdatasync: fio reports the sync apart
    w = fio_w(j)
    return fio_p50_us(j) + j["jobs"][0]["sync"]["lat_ns"]["percentile"]["50.000000"] / 1000
def rows(rep):
    g = lambda k: load(rep, k)
    ref = fio_p50_us(g("ref"))
    f4 = fio_p50_us(g("r4f"))
    return [
        ("64B x1024 writers, entries/s", g("r1u")["entries_per_s"], g("r1p")["entries_per_s"],
         None, "target uring >= pwrite"),
        ("4KiB x64 writers, MiB/s", g("r2u")["mib_per_s"], g("r2p")["mib_per_s"],
         fio_w(g("r2f"))["bw_bytes"] / 2**20, "target uring >= 0.8 x fio"),
        ("4KiB x1 fsync p50 us vs fio fdatasync", g("r3u")["latency_us_p50"],
         g("r3p")["latency_us_p50"], fio_sync_p50_us(g("r3f")), "lower is better"),
        ("4KiB x1 fsync p50 us vs fio O_DSYNC", g("r3u")["latency_us_p50"],
         g("r3p")["latency_us_p50"], f4, "target <= 1.1 x fio, both engines"),
        ("4KiB x1 dsync p50 us vs fio O_DSYNC", g("r4u")["latency_us_p50"],
         g("r4p")["latency_us_p50"], f4, "same, --durability dsync (RWF_DSYNC)"),
        ("fio O_DSYNC p50 us, fallocate'd file", None, None, ref,
         f"reference: pre-written/fallocate'd = {f4 / ref:.2f}"),
    ]
def show(title, table):
    print(title)
    print(f"{'row':40} {'uring':>10} {'pwrite':>10} {'fio':>10} {'u/pwrite':>9} "
          f"{'u/fio':>7} {'p/fio':>7}  note")
    num = lambda v, w=10: f"{v:{w}.1f}" if v is not None else f"{'-':>{w}}"
    rat = lambda a, b, w=7: f"{a / b:{w}.2f}" if a is not None and b else f"{'-':>{w}}"
    for name, u, p, f, note, *_ in table:
        print(f"{name:40} {num(u)} {num(p)} {num(f)} {rat(u, p, 9)} {rat(u, f)} "
              f"{rat(p, f)}  {note}")
tables = [rows(rep) for rep in range(1, repeat + 1)]
for rep, t in enumerate(tables, 1):
    show(f"repetition {rep}:", t)
    pa = [load(rep, k).get("segments_prepared_late", 0) for k in ("r1u", "r1p", "r2u", "r2p")]
    print(f"  segment rolls prepared late (r1u r1p r2u r2p): {pa}; mean group entries "
          f"64Bx1024 uring {load(rep, 'r1u')['group_entries_mean']:.1f} pwrite "
          f"{load(rep, 'r1p')['group_entries_mean']:.1f}")
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
print(f"medians of {repeat} repetitions (ratios: median of the per-repetition ratios):")
print(f"{'row':40} {'uring':>10} {'pwrite':>10} {'fio':>10} {'u/pwrite':>9} {'u/fio':>7} {'p/fio':>7}")
for i, row in enumerate(tables[0]):
    col = lambda j: med([t[i][j] for t in tables])
    ratio = lambda a, b: med([t[i][a] / t[i][b] if t[i][a] is not None and t[i][b] else None
                              for t in tables])
    cells = []
    for v in (col(1), col(2), col(3)):
        cells.append(f"{v:10.1f}" if v is not None else f"{'-':>10}")
    for v, w in ((ratio(1, 2), 9), (ratio(1, 3), 7), (ratio(2, 3), 7)):
        cells.append(f"{v:{w}.2f}" if v is not None else f"{'-':>{w}}")
    print(f"{row[0]:40} " + " ".join(cells))
PY
