#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (q): SIGTERM drains (issue 17, deliverable 8). 3 nodes over
# kernel UDP under a raftbench open loop (3,000 writes/s); the leader gets
# SIGTERM. It hands leadership to its most up-to-date voter, waits for its
# writes to be applied and answered, and exits 0 ("stopped cleanly", its
# drain lines in its log); another node leads within three election timeouts of the
# signal; raftbench counts 0 errors and 0 timeouts (every request of the
# run acknowledged: the refused ones were retried elsewhere). Then a
# follower's SIGTERM: it exits 0 at once, and the restarted nodes converge.
. "$(dirname "$0")/lib.sh"
it_setup q 10.74.0
it_up --nodes 3 --transport udp
old=$(it_wait_leader 60) || it_fail "no leader in 60 s"
timeout_ms=$(sed -n 's/^election_timeout_ms *= *\([0-9]*\).*/\1/p' "$IT_RUN/cluster.ini")
it_log "leader $old, election timeout $timeout_ms ms"

# An open loop of 3,000 writes/s: load enough that requests are in flight
# at every instant of the hand-over, and a log that the restarted nodes
# catch up within the bound (a closed loop at full speed writes a million
# entries in 8 s here, and a node restarted behind that many is still
# catching up from the leader's log a minute later).
"$IT_BUILD/bench/raftbench" run --config "$IT_RUN/cluster.ini" --rate 3000 --duration 8 \
	--warmup 1 --json --quiet >"$IT_WORK/bench.json" 2>"$IT_WORK/bench.err" &
bench=$!
sleep 3
pid=$(cat "$IT_RUN/pids/node$old.pid")
t0=$(it_now_ms)
kill -TERM "$pid"
new=""
while [ $(( $(it_now_ms) - t0 )) -lt 20000 ]; do # a bound for a hang
	for n in 1 2 3; do
		[ "$n" != "$old" ] || continue
		if [ "$(it_field "$n" .role 2>/dev/null)" = leader ]; then new=$n; break 2; fi
	done
	sleep 0.02
done
lead_ms=$(( $(it_now_ms) - t0 ))
[ -n "$new" ] || it_fail "no new leader after SIGTERM of leader $old"
while kill -0 "$pid" 2>/dev/null && [ $(( $(it_now_ms) - t0 )) -lt 20000 ]; do sleep 0.05; done
kill -0 "$pid" 2>/dev/null && it_fail "leader $old still runs 20 s after SIGTERM"
exit_ms=$(( $(it_now_ms) - t0 ))
log=$IT_RUN/logs/node$old.log
grep -q "raftnode $old: stopped cleanly" "$log" || it_fail "node $old did not stop cleanly (exit 0)"
grep -q "drain: leader hands over to node" "$log" || it_fail "node $old did not hand over"
drain=$(grep "drain: .*stopping" "$log" | tail -n 1)
wait "$bench" || it_fail "raftbench: $(cat "$IT_WORK/bench.err")"
read -r ok errors timeouts < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["ok"], r["errors"], r["timeouts"])' "$IT_WORK/bench.json")
it_log "SIGTERM of leader $old: node $new leads after $lead_ms ms, $old exited after $exit_ms ms; raftbench ok $ok errors $errors timeouts $timeouts"
it_log "$drain"
[ "$ok" -gt 0 ] || it_fail "raftbench got no acknowledgement"
[ "$errors" -eq 0 ] || it_fail "raftbench counted $errors errors across the drain"
[ "$timeouts" -eq 0 ] || it_fail "raftbench counted $timeouts timeouts across the drain"
[ "$lead_ms" -le $((3 * timeout_ms + 2000)) ] ||
	it_fail "the new leader took $lead_ms ms (bound: 3 election timeouts + 2 s for the polls)"

# converged WHAT: the three nodes agree, or fail with their status.
converged() {
	if ! state=$(it_wait_converged 60 1 2 3); then
		for n in 1 2 3; do
			echo "--- node $n: $(it_ctl --node "$n" --timeout-ms 500 --json status 2>&1 | head -c 1500)" >&2
		done
		it_fail "the nodes did not converge after $1"
	fi
}
it_cluster start "$old" >/dev/null || it_fail "restart of node $old"
converged "the drained leader's restart"

# A follower: stops at once, exit 0.
f=$(( new % 3 + 1 ))
[ "$f" != "$new" ] || f=$(( f % 3 + 1 ))
fpid=$(cat "$IT_RUN/pids/node$f.pid")
kill -TERM "$fpid"
t1=$(it_now_ms)
while kill -0 "$fpid" 2>/dev/null && [ $(( $(it_now_ms) - t1 )) -lt 10000 ]; do sleep 0.05; done
kill -0 "$fpid" 2>/dev/null && it_fail "follower $f still runs 10 s after SIGTERM"
grep -q "raftnode $f: stopped cleanly" "$IT_RUN/logs/node$f.log" || it_fail "follower $f: no clean stop"
it_cluster start "$f" >/dev/null || it_fail "restart of node $f"
converged "follower $f's restart"
it_pass "SIGTERM of leader $old under raftbench: node $new leads after $lead_ms ms, $old exited 0 after $exit_ms ms, raftbench $ok ok / 0 errors / 0 timeouts; follower $f exited 0 at once; converged ($state)"
