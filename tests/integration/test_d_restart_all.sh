#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (d): kill -9 every node (while a writer runs), restart them
# all: every acknowledged write is intact. With --stages-apart the same with
# every node's log and apply stages each on an lcore (a thread) of its own:
# what crosses the rings between control and the log is durable before it
# is acknowledged, replies come from the apply stage through its ring, and
# a SIGTERM drains and flushes the log on its own lcore.
. "$(dirname "$0")/lib.sh"
it_setup_variant "${1:-}" --stages-apart d 10.84.0 ds 10.91.0 --log-lcore --apply-lcore --rxtx-lcore
it_up --nodes 3 "${up_args[@]}"
it_wait_leader 60 >/dev/null || it_fail "no leader in 60 s"
if [ ${#up_args[@]} -gt 0 ]; then
	for n in 1 2 3; do
		grep -q "lcores: rx/tx on 3, control on 0, log on 1, apply on 2" \
			"$IT_RUN/logs/node$n.log" || it_fail "node $n does not run its stages apart"
	done
fi
"$IT_BUILD/tests/integration/kvbulk" put --count 300 --via 1,2,3 --acked "$IT_WORK/acked" \
	>/dev/null || it_fail "bulk put"
# The writer runs until the nodes are dead (--duration-s only bounds a hung
# run, below meson's 150 s); the kills come once it has late writes
# acknowledged, however long that takes on this machine.
base=$(wc -l <"$IT_WORK/acked")
"$IT_BUILD/tests/integration/kvbulk" put --duration-s 120 --via 1,2,3 --key-prefix late \
	--acked "$IT_WORK/acked" >"$IT_WORK/load.out" 2>&1 &
load=$!
it_wait_lines "$IT_WORK/acked" $((base + 20)) 60 || it_fail "the writer got no 20 writes acknowledged in 60 s"
for n in 1 2 3; do it_cluster kill "$n" >/dev/null || it_fail "node $n still running after kill -9"; done
it_stop_load "$load" || it_fail "writer: $(cat "$IT_WORK/load.out")"
acked=$(wc -l <"$IT_WORK/acked")
it_log "killed all 3 nodes with kill -9; $acked writes acknowledged before"
for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "restart of node $n"; done
it_wait_leader 60 >/dev/null || it_fail "no leader after restarting every node"
for n in 1 2 3; do
	"$IT_BUILD/tests/integration/kvbulk" check --acked "$IT_WORK/acked" --node "$n" \
		|| it_fail "an acknowledged write was lost (node $n)"
done
state=$(it_wait_converged 60 1 2 3) || it_fail "nodes did not converge after the restart"
# A clean stop while writes go on: the node says so, and comes back intact
# with the 20 writes acknowledged while it was down.
base=$(wc -l <"$IT_WORK/acked")
"$IT_BUILD/tests/integration/kvbulk" put --duration-s 120 --acks-after-stop 20 --via 1,2,3 \
	--key-prefix term --acked "$IT_WORK/acked" >"$IT_WORK/load2.out" 2>&1 &
load=$!
it_wait_lines "$IT_WORK/acked" $((base + 20)) 60 || it_fail "the writer got no 20 writes acknowledged in 60 s"
it_cluster kill 2 --signal TERM >/dev/null || it_fail "node 2 still running 10 s after SIGTERM"
for _ in $(seq 50); do
	grep -q "raftnode 2: stopped cleanly" "$IT_RUN/logs/node2.log" && break
	sleep 0.1
done
grep -q "raftnode 2: stopped cleanly" "$IT_RUN/logs/node2.log" ||
	it_fail "node 2 did not stop cleanly on SIGTERM: $(tail -3 "$IT_RUN/logs/node2.log")"
it_stop_load "$load" || it_fail "writer with node 2 down: $(cat "$IT_WORK/load2.out")"
if [ ${#up_args[@]} -gt 0 ]; then
	# Its lcores' last words: rx/tx did its work on lcore 3, control on 0.
	grep -Eq "raftnode 2: lcore 3: .*; rxtx busy [1-9][0-9]*$" "$IT_RUN/logs/node2.log" ||
		it_fail "node 2's rx/tx stage did no work on its lcore 3: $(grep 'lcore 3:' "$IT_RUN/logs/node2.log")"
	grep -E "raftnode 2: lcore 0: " "$IT_RUN/logs/node2.log" | grep -v rxtx |
		grep -Eq "; control busy [1-9][0-9]*$" ||
		it_fail "node 2's control stage did not run alone on lcore 0: $(grep 'lcore 0:' "$IT_RUN/logs/node2.log")"
fi
it_cluster start 2 >/dev/null || it_fail "restart of node 2 after SIGTERM"
state=$(it_wait_converged 60 1 2 3) || it_fail "nodes did not converge after the SIGTERM restart"
"$IT_BUILD/tests/integration/kvbulk" check --acked "$IT_WORK/acked" --node 2 \
	|| it_fail "an acknowledged write was lost (node 2 after SIGTERM)"
acked=$(wc -l <"$IT_WORK/acked")
it_pass "all $acked acknowledged writes intact after kill -9 of every node and a SIGTERM ($state)"
