#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (b): kill -9 the leader under load. A new leader (the time
# it took is printed, not asserted: on a loaded machine a wall-clock bound
# fails for no fault of the code; raftbench failover measures it), writes
# acknowledged again after it (the load runs until
# 50 writes sent after the new leader was seen are acknowledged), every
# acknowledged write readable afterwards, and the restarted node catches up
# (same applied index and state digest).
. "$(dirname "$0")/lib.sh"
it_setup b 10.82.0
it_up --nodes 3
old=$(it_wait_leader 60) || it_fail "no leader in 60 s"
timeout_ms=$(sed -n 's/^election_timeout_ms *= *\([0-9]*\).*/\1/p' "$IT_RUN/cluster.ini")
it_log "leader $old, election timeout $timeout_ms ms"

# --duration-s only bounds a hung run (below meson's 150 s): it_stop_load
# ends the load once the new leader is seen.
"$IT_BUILD/tests/integration/kvbulk" put --duration-s 120 --acks-after-stop 50 --via 1,2,3 \
	--acked "$IT_WORK/acked" >"$IT_WORK/load.out" 2>&1 &
load=$!
# The kill comes under load: once writes are being acknowledged.
it_wait_lines "$IT_WORK/acked" 20 60 || it_fail "the load got no 20 writes acknowledged in 60 s"
before=$(wc -l <"$IT_WORK/acked")
# kill -9 straight from the pid file: cluster.sh kill takes a few hundred
# ms of its own on a loaded machine, which is not the cluster's time.
kill -9 "$(cat "$IT_RUN/pids/node$old.pid")"
t0=$(date +%s%N)
new=""
# Each survivor asked for its role alone (one raftctl each, no vote count
# among them): the time measured is the election's plus at most one round
# of these calls, which a loaded machine makes slow.
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 60000 ]; do # a bound for a hang
	for n in 1 2 3; do
		[ "$n" != "$old" ] || continue
		if [ "$(it_field "$n" .role)" = leader ]; then new=$n; break 2; fi
	done
	sleep 0.02
done
elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ -n "$new" ] || it_fail "no new leader after killing $old"
it_log "killed leader $old with $before writes acknowledged; node $new leads after $elapsed_ms ms"
it_stop_load "$load" || it_fail "load: $(cat "$IT_WORK/load.out")"
it_log "$(cat "$IT_WORK/load.out")"
it_cluster start "$old" >/dev/null || it_fail "restart of node $old"
state=$(it_wait_converged 60 1 2 3) || it_fail "restarted node $old did not catch up"
for n in 1 2 3; do
	"$IT_BUILD/tests/integration/kvbulk" check --acked "$IT_WORK/acked" --node "$n" \
		|| it_fail "an acknowledged write is missing on node $n"
done
"$IT_BUILD/tests/integration/kvbulk" check --stale --acked "$IT_WORK/acked" --node "$old" \
	|| it_fail "restarted node $old's state lacks an acknowledged write"
it_pass "new leader $new ${elapsed_ms} ms after kill -9 of $old (election timeout $timeout_ms ms); $(wc -l <"$IT_WORK/acked") acknowledged writes on all 3; node $old caught up ($state)"
