#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# baseline.sh - measures the two floors a commit cannot beat on this
# machine, for the ratio columns of scripts/report.py, and writes them as
# one JSON object:
#   fio_dsync_4k_write_us_p50/p99  one 4 KiB write with O_DSYNC, queue depth
#                                  1 (fio, psync engine, sync=dsync), as this
#                                  disk does it while every node of the
#                                  cluster writes: one job per node
#                                  (--nodes), each into a file of its own
#                                  that fio lays out before it measures
#                                  (overwrite=1, fallocate=none: like the
#                                  node's pre-written segments, no block
#                                  allocation on the timed path); the
#                                  percentiles are over all jobs' writes
#   udp_rtt_us_p50/p99             a kernel UDP round trip of one sealed
#                                  frame (bench/pingpong: loopback, or the
#                                  veth between namespaces when it ran)
# A missing tool gives null and a note, never a made-up number.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/baseline.sh [--out FILE] [--dir DIR] [--build DIR] [--seconds S] [--nodes N]
  --out FILE   where the JSON goes (default: stdout)
  --dir DIR    directory for fio's test file: put it on the log's disk
               (default /var/tmp)
  --build DIR  build directory with bench/pingpong (default ./build)
  --seconds S  fio runtime (default 10)
  --nodes N    fio jobs writing at once, one per node of the cluster (default 3)
USAGE
}

out=/dev/stdout dir=/var/tmp build=build seconds=10 nodes=3
while [[ $# -gt 0 ]]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--out) out=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--nodes) nodes=$2; shift 2 ;;
	*) usage >&2; exit 2 ;;
	esac
done
if ! [[ $nodes =~ ^[0-9]+$ ]] || [[ $nodes -lt 1 ]] || [[ $nodes -gt 16 ]]; then
	echo "baseline.sh: --nodes must be 1..16" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
notes=()
fio_p50=null fio_p99=null
if command -v fio >/dev/null; then
	echo "baseline.sh: fio 4 KiB O_DSYNC writes, $nodes job(s) at once, in $dir for ${seconds}s" >&2
	# One file per job ($jobnum), written through once before the timed
	# part (overwrite=1; fallocate=none so fio does not reserve the blocks
	# instead): the timed writes overwrite blocks that exist, as the node's
	# pre-written segments are. group_reporting merges the jobs' latency
	# histograms, so p50/p99 are over every job's writes.
	# shellcheck disable=SC2016 # $jobnum is fio's, not the shell's
	if fio --name=dsync4k --directory="$dir" --filename_format='raftnode-baseline.$jobnum' \
		--numjobs="$nodes" --group_reporting --rw=write --bs=4k --size=32m \
		--overwrite=1 --fallocate=none --ioengine=psync --sync=dsync --iodepth=1 \
		--time_based --runtime="$seconds" --unlink=1 --output-format=json \
		--output="$tmp/fio.json" >/dev/null 2>"$tmp/fio.err"; then
		read -r fio_p50 fio_p99 < <(python3 - "$tmp/fio.json" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))["jobs"][0]["write"]  # the group: every job's writes
p = w["clat_ns"]["percentile"]
print(f"{p['50.000000'] / 1e3:.1f} {p['99.000000'] / 1e3:.1f}")
PY
)
	else
		notes+=("fio failed: $(head -c 200 "$tmp/fio.err" | tr '\n"' '  ')")
	fi
else
	notes+=("fio not installed")
fi

udp_p50=null udp_p99=null udp_path=null
if [[ -x $build/bench/pingpong ]]; then
	echo "baseline.sh: UDP round trips with $build/bench/pingpong" >&2
	if "$build/bench/pingpong" --frames 20000 >"$tmp/pp.txt" 2>"$tmp/pp.err"; then
		# Prefer the veth between namespaces (a real link) over loopback.
		for path in "kernel UDP (veth, netns)" "kernel UDP (loopback)"; do
			line=$(grep -F "$path" "$tmp/pp.txt" | grep -v failed | head -1 || true)
			[[ -n $line ]] || continue
			set -- ${line#"$path"}
			udp_p50=$1 udp_p99=$2 udp_path="\"$path\""
			break
		done
	else
		notes+=("pingpong failed: $(head -c 200 "$tmp/pp.err" | tr '\n"' '  ')")
	fi
else
	notes+=("no $build/bench/pingpong: build first")
fi

note_json=$(printf '%s\n' "${notes[@]:-}" | python3 -c 'import json,sys; print(json.dumps([l for l in sys.stdin.read().splitlines() if l]))')
cat >"$out" <<JSON
{"fio_dsync_4k_write_us_p50":$fio_p50,"fio_dsync_4k_write_us_p99":$fio_p99,"fio_jobs":$nodes,"udp_rtt_us_p50":$udp_p50,"udp_rtt_us_p99":$udp_p99,"udp_rtt_path":$udp_path,"notes":$note_json}
JSON
echo "baseline.sh: done" >&2
