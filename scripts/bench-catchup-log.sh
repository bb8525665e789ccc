#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Log catch-up, measured (issues 15/16; not in CI): a 3-node kernel-UDP
# cluster with snapshots off, one follower stopped while a full-speed
# closed loop (raftbench, 1000 in flight, 64 B values) writes for WRITE_S
# seconds; the follower is started again and timed until its applied
# index reaches the leader's commit index at its start (entries/s), with
# or with a load going on (LOAD_RATE writes/s, open loop, 0 = none: its
# commit p99 for 8 s from the restart, beside 8 s of it before the stop).
# Its flaps are its role changes to precandidate/candidate after the
# start (its stderr), the leader's figures its status counters.
# Under the shared network-namespace lock (flock -o: started nodes do not
# hold it).
#   scripts/bench-catchup-log.sh [BUILD_DIR] [WRITE_S] [LOAD_RATE] [TIMEOUT_S]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
if [ -z "${BCL_LOCKED:-}" ]; then
	BCL_LOCKED=1 exec flock -o /tmp/raftnode-netns.lock "$0" "$build" "${@:2}"
fi
write_s=${2:-6} load_rate=${3:-0} timeout_s=${4:-180}
export IT_BUILD=$build IT_SRC=$src
. "$src/tests/integration/lib.sh"
it_setup cl 10.94.0
it_up --nodes 3 --transport udp --no-start
printf '\n[storage]\nsnapshot = off\n' >>"$IT_RUN/cluster.ini"
for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "start of node $n"; done
leader=$(it_wait_leader 60) || it_fail "no leader in 60 s"
f=$((leader % 3 + 1))
load() { # load SECONDS OUT: the open loop, its JSON in OUT
	"$IT_BUILD/bench/raftbench" --config "$IT_RUN/cluster.ini" --rate "$load_rate" \
		--duration "$1" --warmup 0 --value-bytes 64 --quiet --json >"$2" 2>"$2.err"
}
p99() { jq -r '.latency_us_p99 // .p99_us // empty' "$1" 2>/dev/null | head -1; }
if [ "$load_rate" -gt 0 ]; then
	load 8 "$IT_WORK/base.json" || it_fail "raftbench (baseline): $(tail -3 "$IT_WORK/base.json.err")"
	it_log "baseline, every node up: $load_rate writes/s for 8 s, commit p99 $(p99 "$IT_WORK/base.json") us"
fi
it_cluster kill "$f" --signal TERM >/dev/null
it_log "leader $leader; follower $f stopped; closed loop for $write_s s"
"$IT_BUILD/bench/raftbench" --config "$IT_RUN/cluster.ini" --concurrency 1000 \
	--duration "$write_s" --warmup 0 --value-bytes 64 --quiet >"$IT_WORK/write.out" 2>&1 ||
	it_fail "raftbench: $(tail -3 "$IT_WORK/write.out")"
leader=$(it_wait_leader 60 "$f") || it_fail "no leader"
target=$(it_field "$leader" .commit_index)
before=$(it_field "$leader" .counters | jq -c .)
it_log "leader $leader at commit $target"
lines0=$(wc -l <"$IT_RUN/logs/node$f.log")
t0=$(it_now_ms)
it_cluster start "$f" >/dev/null || it_fail "restart of node $f"
if [ "$load_rate" -gt 0 ]; then
	load 8 "$IT_WORK/during.json" &
	load_pid=$!
fi
got=0 caught=""
while [ $(( $(it_now_ms) - t0 )) -lt $((timeout_s * 1000)) ]; do
	a=$(it_field "$f" .applied_index)
	[ -n "$a" ] && [ "$a" != null ] && got=$a
	if [ "$got" -ge "$target" ]; then caught=$(it_now_ms); break; fi
	sleep 0.2
done
t1=${caught:-$(it_now_ms)}
ms=$((t1 - t0))
flaps=$(tail -n +"$((lines0 + 1))" "$IT_RUN/logs/node$f.log" | grep -c "raftnode $f: \(precandidate\|candidate\) of term" || true)
after=$(it_field "$leader" .counters | jq -c .)
if [ -n "${caught}" ]; then
	it_log "caught up to $target in $ms ms: $((target * 1000 / (ms > 0 ? ms : 1))) entries/s; flaps (pre-candidate/candidate) $flaps"
else
	it_log "NOT caught up in $ms ms: applied $got of $target ($((got * 1000 / ms)) entries/s); flaps $flaps"
fi
echo "leader counters before: $before"
echo "leader counters after:  $after"
echo "follower $f: $(it_field "$f" '{role, term, commit_index, applied_index, counters: {elections: .counters.elections}}' | tr -d '\n ')"
if [ "$load_rate" -gt 0 ]; then
	wait "$load_pid" || true
	it_log "during the catch-up: $load_rate writes/s for 8 s from the restart, commit p99 $(p99 "$IT_WORK/during.json") us; leader at $(it_field "$leader" .commit_index), follower applied $(it_field "$f" .applied_index)"
fi
grep "raftnode $f: .* of term" "$IT_RUN/logs/node$f.log" | tail -n 5 || true
