#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# plot.sh - draws raftbench's results with gnuplot, each as PNG and SVG:
#   latency_cdf        every <row>.cdf.csv        (raftbench --cdf)
#   throughput_latency every <row>.sweep.csv      (raftbench sweep --csv FILE)
#   timeseries_<row>   each <row>.timeseries.csv  (raftbench --timeseries)
#   stages_<row>       each <row>.*.json with a "stages" object (raftbench --json)
# Input and output are directories; the plot scripts are bench/plot/*.gp.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/plot.sh RESULTS_DIR [OUT_DIR]
Draws the latency CDF, throughput-latency curve, latency over time and
stage breakdown from raftbench's CSV/JSON files in RESULTS_DIR into
OUT_DIR (default RESULTS_DIR/plots), as PNG and SVG. Needs gnuplot
(scripts/setup.sh installs gnuplot-nox) and python3 for the JSON.
USAGE
}

[[ ${1:-} == -h || ${1:-} == --help ]] && { usage; exit 0; }
[[ $# -ge 1 ]] || { usage >&2; exit 2; }
results=$1
out=${2:-$results/plots}
here=$(cd "$(dirname "$0")/.." && pwd)
gp=$here/bench/plot
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot not found (scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$out"
echo "plot.sh: plotting $results into $out"

# draw SCRIPT NAME FILES TITLES: one PNG and one SVG.
draw() {
	local script=$1 name=$2 files=$3 titles=$4 fmt
	for fmt in png svg; do
		gnuplot -e "dir='$gp'; fmt='$fmt'; out='$out/$name.$fmt'; files='$files'; titles='$titles'" \
			"$gp/$script.gp"
	done
	echo "  $out/$name.png, .svg"
}

# rows SUFFIX: "files" and "titles" of every <row>SUFFIX in the results.
rows() {
	local suffix=$1 f
	files="" titles=""
	for f in "$results"/*"$suffix"; do
		[[ -e $f ]] || continue
		files+="${files:+ }$f"
		titles+="${titles:+ }$(basename "$f" "$suffix")"
	done
}

rows .cdf.csv
[[ -n $files ]] && draw cdf latency_cdf "$files" "$titles"
rows .sweep.csv
[[ -n $files ]] && draw sweep throughput_latency "$files" "$titles"
for f in "$results"/*.timeseries.csv; do
	[[ -e $f ]] || continue
	row=$(basename "$f" .timeseries.csv)
	draw timeseries "timeseries_$row" "$f" "$row"
done
for f in "$results"/*.json; do
	[[ -e $f ]] || continue
	name=$(basename "$f" .json)
	csv=$out/stages_$name.csv
	python3 - "$f" "$csv" <<'PY' || continue
import json, sys
doc = json.load(open(sys.argv[1]))
stages = doc.get("stages") if isinstance(doc, dict) else None
if not stages:
    sys.exit(1)
with open(sys.argv[2], "w") as out:
    out.write("stage,p50_us,p99_us\n")
    for name, v in stages.items():
        out.write(f"{name},{v['p50_us']},{v['p99_us']}\n")
PY
	draw stages "stages_$name" "$csv" "$name"
done
echo "plot.sh: done"
