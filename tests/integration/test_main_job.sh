#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CI smoke of the main job (issue: raftbench and the main job): run
# scripts/run.sh --quick on the built tree and check that its outputs exist
# and parse: report.md with the headline table (floor columns included),
# the costs and reads tables, the JSON files, the four plots as PNG and
# SVG, and no raftnode or raftbench process left behind.
# No timing is asserted: the figures of a short run on a shared machine
# mean little.
set -euo pipefail
src=${IT_SRC:?}
if [ "$(id -u)" -ne 0 ] || ! ip netns list >/dev/null 2>&1; then
	echo "SKIP: needs root and ip netns"
	exit 77
fi
out=$(mktemp -d /tmp/raftnode-mainjob.XXXXXX)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL [main job]: $*" >&2; exit 1; }
cd "$src"
start=$SECONDS
bash scripts/run.sh --no-build --quick --out "$out" || fail "scripts/run.sh --quick exited $?"
echo "main job smoke: $((SECONDS - start)) s"
[ -s "$out/report.md" ] || fail "no report.md"
grep -q '^| config |' "$out/report.md" || fail "report.md has no headline table"
grep -q '^| udp+uring |' "$out/report.md" || fail "report.md has no udp+uring row"
grep -q '^| config |.*| p50 / floor | p99 / floor99 |$' "$out/report.md" \
	|| fail "the headline table lacks the p50 / floor and p99 / floor99 columns"
grep -q '^| config | frames/commit (1 in flight) |' "$out/report.md" \
	|| fail "report.md has no 'What a commit costs' table"
grep -q '^| config | reads_per_s (1000 in flight) |' "$out/report.md" \
	|| fail "report.md has no linearizable reads table"
grep -q '^| median | ' "$out/report.md" \
	|| fail "report.md has no paired floor rounds (their median row)"
! grep -q '^| pair[0-9]' "$out/report.md" \
	|| fail "report.md shows a paired round as a configuration row"
for f in udp+uring.closed1.json udp+uring.closed1000.json udp+uring.sweep.json \
	udp+uring.costs.json udp+uring.read1.json udp+uring.read1000.json \
	failover.json baseline.json; do
	jq -e . "$out/$f" >/dev/null || fail "$f does not parse as JSON"
done
jq -e '.commits_per_s > 0 and .latency_us_p50 > 0 and .latency_us_p99 > 0 and (.stages | length) > 0' \
	"$out/udp+uring.closed1000.json" >/dev/null || fail "closed1000.json lacks throughput, percentiles or stages"
jq -e '.window_ms_p50 >= 0 and .election_ms_p50 >= 0' "$out/failover.json" >/dev/null \
	|| fail "failover.json lacks the window figures"
jq -e '.in_flight_1.commits > 0 and .in_flight_1.frames_per_commit > 0 and
	.in_flight_1.syncs_per_commit > 0 and .in_flight_1000.commits > 0' \
	"$out/udp+uring.costs.json" >/dev/null || fail "costs.json lacks commits, frames or syncs per commit"
jq -e '.read_ratio == 1 and .ok > 0' "$out/udp+uring.read1.json" >/dev/null \
	|| fail "read1.json: no linearizable read answered"
jq -e '.fio_jobs == 3 and .fio_dsync_4k_write_us_p99 > 0' "$out/baseline.json" >/dev/null \
	|| fail "baseline.json lacks fio's p99 over one job per node"
n=0
for f in "$out"/plots/*.png "$out"/plots/*.svg; do
	[ -s "$f" ] && n=$((n + 1))
done
[ "$n" -ge 8 ] || fail "expected 4 plots as PNG and SVG, found $n files: $(ls "$out/plots" 2>/dev/null | tr '\n' ' ')"
if pgrep -f "raftnode --config /tmp/raftnode-run" >/dev/null || pgrep -x raftbench >/dev/null; then
	fail "a raftnode or raftbench process was left behind"
fi
echo "PASS [main job]: report.md, JSON, $n plot files; nothing left running"
