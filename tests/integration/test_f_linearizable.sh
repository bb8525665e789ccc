#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (f): linearizability under faults. Four clients do random
# put/get/cas on three keys for 30 s while the leader is killed and
# restarted and nodes are partitioned away and healed; the recorded history
# must be linearizable (lincheck: per-key Wing-Gong search, itself tested on
# known non-linearizable histories in tests/lin). With --stages-apart every
# node's rx/tx, log and apply stages run on lcores of their own: the rings
# between them carry the whole history.
. "$(dirname "$0")/lib.sh"
it_setup_variant "${1:-}" --stages-apart f 10.86.0 fs 10.94.0 --log-lcore --apply-lcore --rxtx-lcore
it_up --nodes 5 "${up_args[@]}"
it_wait_leader 15 >/dev/null || it_fail "no leader in 15 s"
"$IT_BUILD/tests/integration/linload" --clients 4 --keys 3 --duration-s 30 --seed $RANDOM \
	--out "$IT_WORK/history" >"$IT_WORK/linload.out" 2>&1 &
load=$!
faults=0
end=$((SECONDS + 25))
while [ $SECONDS -lt $end ]; do
	sleep 1
	l=$(it_leader) || true
	[ -n "$l" ] || continue
	case $((faults % 3)) in
	0) it_log "fault: kill -9 leader $l"; it_cluster kill "$l" >/dev/null; sleep 2
	   it_cluster start "$l" >/dev/null || it_fail "restart $l" ;;
	1) it_log "fault: partition leader $l away"; it_cluster partition --node "$l" >/dev/null
	   sleep 2.5; it_cluster heal >/dev/null ;;
	2) it_log "fault: one-way partition of leader $l"; it_cluster partition --node "$l" --one-way >/dev/null
	   sleep 2; it_cluster heal >/dev/null ;;
	esac
	faults=$((faults + 1))
done
wait "$load" || it_fail "linload: $(cat "$IT_WORK/linload.out")"
it_log "$(cat "$IT_WORK/linload.out"), $faults faults"
[ "$faults" -ge 3 ] || it_fail "only $faults faults injected"
ops=$(grep -vc '^#' "$IT_WORK/history")
[ "$ops" -ge 200 ] || it_fail "only $ops operations recorded"
out=$("$IT_BUILD/tests/lin/lincheck" "$IT_WORK/history") || {
	cp "$IT_WORK/history" "/tmp/raftnode-it-f-history.$$"
	it_fail "$out (history kept in /tmp/raftnode-it-f-history.$$)"
}
it_pass "$out; $faults faults (leader kills, partitions)"
