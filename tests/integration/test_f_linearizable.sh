#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (f): linearizability under faults. Four clients do random
# put/get/cas on three keys while a fixed set of faults runs: twice each of
# kill -9 and restart of the leader, the leader partitioned away and
# healed, a one-way partition of the leader and heal. The load runs until
# the faults are done and then until 200 more operations are answered (the
# cluster serves again); the recorded history must be linearizable
# (lincheck: per-key Wing-Gong search, itself tested on known
# non-linearizable histories in tests/lin). Nothing is asserted about how
# much fits in a time: the timeouts below only bound a hang. With
# --stages-apart every node's rx/tx, log and apply stages run on lcores of
# their own: the rings between them carry the whole history; --udp-apart
# does the same over kernel UDP with idle = event, where a sleeping lcore
# hears of each record only through its ring's doorbell.
. "$(dirname "$0")/lib.sh"
if [ "${1:-}" = --udp-apart ]; then
	# Kernel UDP and idle = event (the main job's mode) with every stage
	# apart: each lcore sleeps on its own inputs and the rings' doorbells.
	it_setup fu 10.96.0
	up_args=(--transport udp --idle event --log-lcore --apply-lcore --rxtx-lcore)
else
	it_setup_variant "${1:-}" --stages-apart f 10.86.0 fs 10.94.0 --log-lcore --apply-lcore --rxtx-lcore
fi
it_up --nodes 5 "${up_args[@]}"
it_wait_leader 60 >/dev/null || it_fail "no leader in 60 s"
# --duration-s bounds a hung run (below meson's 240 s), it_stop_load ends it.
"$IT_BUILD/tests/integration/linload" --clients 4 --keys 3 --duration-s 200 --ops-after-stop 200 \
	--seed $RANDOM --out "$IT_WORK/history" >"$IT_WORK/linload.out" 2>&1 &
load=$!
faults=0
times=""
for round in 1 2; do
	for kind in kill partition one-way; do
		t0=$(it_now_ms)
		l=$(it_wait_leader 60) || it_fail "no leader within 60 s before fault $((faults + 1)) ($kind)"
		case $kind in
		kill) it_log "fault: kill -9 leader $l"
		   it_cluster kill "$l" >/dev/null || it_fail "leader $l still running after kill -9"
		   sleep 2
		   it_cluster start "$l" >/dev/null || it_fail "restart $l" ;;
		partition) it_log "fault: partition leader $l away"
		   it_cluster partition --node "$l" >/dev/null || it_fail "partition --node $l"
		   sleep 2.5
		   it_cluster heal >/dev/null || it_fail "heal" ;;
		one-way) it_log "fault: one-way partition of leader $l"
		   it_cluster partition --node "$l" --one-way >/dev/null || it_fail "partition --node $l --one-way"
		   sleep 2
		   it_cluster heal >/dev/null || it_fail "heal" ;;
		esac
		faults=$((faults + 1))
		ms=$(($(it_now_ms) - t0))
		times="$times $kind:$((ms / 1000)).$((ms % 1000 / 100))s"
		it_log "fault $faults ($kind, round $round) done in $((ms / 1000)).$((ms % 1000 / 100)) s"
	done
done
it_wait_leader 60 >/dev/null || it_fail "no leader within 60 s after the faults"
it_stop_load "$load" || it_fail "linload: $(cat "$IT_WORK/linload.out")"
it_log "$(cat "$IT_WORK/linload.out"), $faults faults"
ops=$(grep -vc '^#' "$IT_WORK/history")
[ "$ops" -ge 200 ] || it_fail "only $ops operations recorded"
out=$("$IT_BUILD/tests/lin/lincheck" "$IT_WORK/history") || {
	cp "$IT_WORK/history" "/tmp/raftnode-it-f-history.$$"
	it_fail "$out (history kept in /tmp/raftnode-it-f-history.$$)"
}
it_pass "$out; $faults faults (leader kills, partitions, one-way partitions; each with its wait for a leader:$times)"
