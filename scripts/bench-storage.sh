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
usage: scripts/bench-storage.sh [--help] [--duration S] [--dir PATH]

Builds build/ if needed and runs, each for S seconds (default 5):
  row 1  64 B entries, 1024 closed-loop writers: uring vs pwrite entries/s
  row 2  4 KiB entries, 64 writers: MiB/s vs fio (io_uring, bs=4k, fdatasync=1)
  row 3  64 B entries, 1 writer: p50 append-to-durable vs fio's p50 for one
         O_DSYNC write of the same record size (psync, bs=96)
  row 4  row 3 with --durability dsync
Prints "uring/pwrite" and "uring/fio" ratios. Needs fio (scripts/setup.sh).
  --duration S  seconds per run (default 5)
  --dir PATH    scratch directory on the disk to measure (default /var/tmp)
USAGE
}

duration=5
base=/var/tmp
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--duration) shift; duration=${1:?--duration needs seconds} ;;
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

sb() { # engine entry_bytes writers [durability]
	build/bench/storebench --engine "$1" --entry-bytes "$2" --writers "$3" \
		--durability "${4:-fsync}" --duration "$duration" \
		--dir "$scratch/sb-$1-$2-$3-${4:-fsync}" --json
}
fiojson() { # name, then fio arguments
	local name=$1
	shift
	fio --name="$name" --directory="$scratch" --runtime="$duration" --time_based \
		--output-format=json "$@"
}

r1u=$(sb uring 64 1024); r1p=$(sb pwrite 64 1024)
r2u=$(sb uring 4096 64); r2p=$(sb pwrite 4096 64)
r2f=$(fiojson bw4k --rw=write --bs=4k --size=256m --ioengine=io_uring --fdatasync=1)
r3u=$(sb uring 64 1); r3p=$(sb pwrite 64 1)
r4u=$(sb uring 64 1 dsync); r4p=$(sb pwrite 64 1 dsync)
r3f=$(fiojson dsync96 --rw=write --bs=96 --size=16m --ioengine=psync --sync=dsync)

python3 - "$r1u" "$r1p" "$r2u" "$r2p" "$r2f" "$r3u" "$r3p" "$r3f" "$r4u" "$r4p" <<'PY'
import json, sys
r1u, r1p, r2u, r2p, r2f, r3u, r3p, r3f, r4u, r4p = (json.loads(a) for a in sys.argv[1:])
def fio_write(j):
    return j["jobs"][0]["write"]
f2_mib = fio_write(r2f)["bw_bytes"] / 2**20
f3_p50_us = fio_write(r3f)["clat_ns"]["percentile"]["50.000000"] / 1000
rows = [
    ("64B x1024 writers, entries/s", r1u["entries_per_s"], r1p["entries_per_s"], None,
     "target uring >= 1,000,000/s; uring >= pwrite"),
    ("4KiB x64 writers, MiB/s", r2u["mib_per_s"], r2p["mib_per_s"], f2_mib,
     "target uring >= 0.8 x fio"),
    ("64B x1 writer, p50 us", r3u["latency_us_p50"], r3p["latency_us_p50"], f3_p50_us,
     "target uring <= 1.2 x fio (lower is better)"),
    ("64B x1 writer dsync, p50 us", r4u["latency_us_p50"], r4p["latency_us_p50"], f3_p50_us,
     "same, --durability dsync (RWF_DSYNC)"),
]
print(f"{'row':34} {'uring':>12} {'pwrite':>12} {'fio':>12} {'uring/pwrite':>13} {'uring/fio':>10}  note")
for name, u, p, f, note in rows:
    fs = f"{f:12.1f}" if f is not None else f"{'-':>12}"
    rf = f"{u / f:10.2f}" if f else f"{'-':>10}"
    print(f"{name:34} {u:12.1f} {p:12.1f} {fs} {u / p:13.2f} {rf}  {note}")
print(f"mean group entries: 64Bx1024 uring {r1u['group_entries_mean']:.1f}, "
      f"pwrite {r1p['group_entries_mean']:.1f}; p99 us row 3: uring {r3u['latency_us_p99']:.0f}, "
      f"pwrite {r3p['latency_us_p99']:.0f}")
PY
