#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CI smoke of the main job (issue: raftbench and the main job): run
# scripts/run.sh --quick on the built tree and check that its outputs exist
# and parse: report.md with the headline table, the JSON files, the four
# plots as PNG and SVG, and no raftnode or raftbench process left behind.
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
for f in udp+uring.closed1.json udp+uring.closed1000.json udp+uring.sweep.json \
	failover.json baseline.json; do
	jq -e . "$out/$f" >/dev/null || fail "$f does not parse as JSON"
done
jq -e '.commits_per_s > 0 and .latency_us_p50 > 0 and .latency_us_p99 > 0 and (.stages | length) > 0' \
	"$out/udp+uring.closed1000.json" >/dev/null || fail "closed1000.json lacks throughput, percentiles or stages"
jq -e '.window_ms_p50 >= 0 and .election_ms_p50 >= 0' "$out/failover.json" >/dev/null \
	|| fail "failover.json lacks the window figures"
n=0
for f in "$out"/plots/*.png "$out"/plots/*.svg; do
	[ -s "$f" ] && n=$((n + 1))
done
[ "$n" -ge 8 ] || fail "expected 4 plots as PNG and SVG, found $n files: $(ls "$out/plots" 2>/dev/null | tr '\n' ' ')"
if pgrep -f "raftnode --config /tmp/raftnode-run" >/dev/null || pgrep -x raftbench >/dev/null; then
	fail "a raftnode or raftbench process was left behind"
fi
echo "PASS [main job]: report.md, JSON, $n plot files; nothing left running"
