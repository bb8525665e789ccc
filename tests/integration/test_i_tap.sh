#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (i): --transport tap with idle = event. Three nodes whose
# ports are DPDK net_tap on tap devices bridged together; each lcore
# sleeps on its port's rx interrupt (the tap queue's fd), not on naps.
# Method: every node's log must say its rx/tx lcore sleeps on the rx
# interrupt and none may say DEGRADED about idle = event; 300 writes
# through every node read back from every node; a follower killed with -9
# and restarted (net_tap gives its tap the node's MAC again: cluster.sh
# sets it back) catches up; at the stop every lcore counted wake-ups by
# event. Skips (77) only where DPDK has no net_tap driver or no /dev/net/tun.
. "$(dirname "$0")/lib.sh"
it_setup i 10.98.0
kv="$IT_BUILD/tests/integration/kvbulk"
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }

out=$("$IT_SRC/scripts/cluster.sh" up --nodes 3 --transport tap --idle event --run-dir "$IT_RUN" \
	--prefix "$IT_PREFIX" --subnet "$IT_SUBNET" --build "$IT_BUILD" 2>&1) || {
	echo "$out"
	if grep -q "net_tap0.*no such DPDK port" "$IT_RUN"/logs/node*.log 2>/dev/null; then
		echo "SKIP: this DPDK has no net_tap driver"
		exit 77
	fi
	it_fail "cluster.sh up --transport tap"
}
# shellcheck disable=SC2034 # read by lib.sh (it_leader)
IT_NODES=3
grep -q '^dpdk_port = net_tap0,iface=rn2,persist,mac=02:00:00:00:00:02' "$IT_RUN/cluster.ini" ||
	it_fail "cluster.ini does not give node 2 its tap port"
for n in 1 2 3; do
	grep -q "raftnode $n: idle = event: lcore [0-9]* sleeps on the port's rx interrupt" \
		"$IT_RUN/logs/node$n.log" || it_fail "node $n does not sleep on its port's rx interrupt"
	! grep -q "DEGRADED: idle = event" "$IT_RUN/logs/node$n.log" ||
		it_fail "node $n fell back to naps: $(grep 'DEGRADED: idle' "$IT_RUN/logs/node$n.log")"
done
leader=$(it_wait_leader 60) || it_fail "no leader in 60 s"
it_log "tap cluster up, every rx/tx lcore asleep on its rx interrupt; leader $leader"

"$kv" put --count 300 --via 1,2,3 --acked "$IT_WORK/acked" >/dev/null || it_fail "bulk put through nodes 1-3"
[ "$(wc -l <"$IT_WORK/acked")" -eq 300 ] || it_fail "not all 300 writes acknowledged"
for n in 1 2 3; do
	"$kv" check --acked "$IT_WORK/acked" --node "$n" || it_fail "node $n does not read back every write"
done

# A follower restarted: its tap is attached again and its MAC fixed again.
victim=$((leader % 3 + 1))
it_cluster kill "$victim" >/dev/null
it_cluster start "$victim" >/dev/null || it_fail "node $victim did not come back on its tap"
"$kv" put --count 50 --via 1,2,3 --key-prefix after --acked "$IT_WORK/after" >/dev/null ||
	it_fail "writes after node $victim's restart"
cat "$IT_WORK/after" >>"$IT_WORK/acked"
state=$(it_wait_converged 60 1 2 3) || it_fail "node $victim did not catch up after its restart"
"$kv" check --acked "$IT_WORK/acked" --node "$victim" || it_fail "restarted node $victim lacks a write"

# A clean stop prints each lcore's wake-ups: inputs woke them (the tap
# queue's fd among them), not the 50 ms cap alone.
for n in 1 2 3; do
	it_cluster kill "$n" --signal TERM >/dev/null
	line=$(grep "raftnode $n: lcore .* wakeups" "$IT_RUN/logs/node$n.log" | tail -1)
	woken=$(sed -n 's/.*wakeups \([0-9]*\) by event.*/\1/p' <<<"$line")
	[ "${woken:-0}" -gt 0 ] || it_fail "node $n: no wake-up by an event ($line)"
	it_log "node $n at its stop: ${line#*: }"
done
it_cluster down >/dev/null || it_fail "cluster.sh down"
it_pass "tap: every node's rx/tx lcore sleeps on its rx interrupt (no DEGRADED); 350 writes through every node read back everywhere; node $victim restarted on its tap ($state)"
