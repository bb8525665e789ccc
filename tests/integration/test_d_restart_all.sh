#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (d): kill -9 every node (while a writer runs), restart them
# all: every acknowledged write is intact.
. "$(dirname "$0")/lib.sh"
it_setup d 10.84.0
it_up --nodes 3
it_wait_leader 10 >/dev/null || it_fail "no leader in 10 s"
"$IT_BUILD/tests/integration/kvbulk" put --count 300 --via 1,2,3 --acked "$IT_WORK/acked" \
	>/dev/null || it_fail "bulk put"
"$IT_BUILD/tests/integration/kvbulk" put --duration-s 4 --via 1,2,3 --key-prefix late \
	--acked "$IT_WORK/acked" >"$IT_WORK/load.out" 2>&1 &
load=$!
sleep 2
for n in 1 2 3; do it_cluster kill "$n" >/dev/null; done
wait "$load" || true
acked=$(wc -l <"$IT_WORK/acked")
it_log "killed all 3 nodes with kill -9; $acked writes acknowledged before"
for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "restart of node $n"; done
it_wait_leader 15 >/dev/null || it_fail "no leader after restarting every node"
for n in 1 2 3; do
	"$IT_BUILD/tests/integration/kvbulk" check --acked "$IT_WORK/acked" --node "$n" \
		|| it_fail "an acknowledged write was lost (node $n)"
done
state=$(it_wait_converged 15 1 2 3) || it_fail "nodes did not converge after the restart"
it_pass "all $acked acknowledged writes intact after kill -9 of every node ($state)"
