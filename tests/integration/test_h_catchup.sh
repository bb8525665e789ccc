#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (h): a follower far behind catches up from the leader's
# durable log. Nodes with a small core window (1,024 entries) and their log,
# apply and rx/tx stages on lcores of their own; node 3 is down while 3,000 writes
# commit, so the leader has released those entries from its window and must
# read them back from its log (the log stage reads while control goes on).
# Node 3 comes back, catches up to the same state, serves every
# acknowledged write; the leader's status shows the entries it sent from
# its log, and node 3 never became a pre-candidate or candidate meanwhile.
# Then every node restarts from a log longer than its window.
. "$(dirname "$0")/lib.sh"
it_setup h 10.92.0
it_up --nodes 3 --log-lcore --apply-lcore --rxtx-lcore --no-start
printf '\n[limits]\nlog_entries_max = 1024\n' >>"$IT_RUN/cluster.ini"
for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "start of node $n"; done
it_wait_leader 60 >/dev/null || it_fail "no leader in 60 s"
pid3=$(cat "$IT_RUN/pids/node3.pid")
it_cluster kill 3 >/dev/null
leader=$(it_wait_leader 60 3) || it_fail "no leader with node 3 down"
"$IT_BUILD/tests/integration/kvbulk" put --count 3000 --via 1,2 --acked "$IT_WORK/acked" \
	>/dev/null || it_fail "bulk put with node 3 down"
acked=$(wc -l <"$IT_WORK/acked")
commit=$(it_field "$leader" .commit_index)
it_log "node 3 down; $acked writes acknowledged, leader $leader at commit $commit"
[ "$commit" -gt 2048 ] || it_fail "commit $commit: not past two windows"
for _ in $(seq 50); do
	[ -d "/proc/$pid3" ] || break
	sleep 0.1
done
lines0=$(wc -l <"$IT_RUN/logs/node3.log")
it_cluster start 3 >/dev/null || it_fail "restart of node 3"
state=$(it_wait_converged 60 1 2 3) || it_fail "node 3 did not catch up: $(it_field 3 '"\(.applied_index) \(.commit_index)"')"
# While the leader feeds it from its log, node 3 keeps hearing from it:
# no pre-vote, no election (its role changes on stderr; its status).
flaps=$(tail -n +"$((lines0 + 1))" "$IT_RUN/logs/node3.log" |
	grep -c "raftnode 3: \(precandidate\|candidate\) of term" || true)
elections=$(it_field 3 .counters.elections)
[ "$flaps" = 0 ] && [ "$elections" = 0 ] ||
	it_fail "node 3 flapped during its catch-up: $flaps pre-vote/election role changes, $elections elections"
leader=$(it_wait_leader 60) || it_fail "no leader after the catch-up"
sent=$(it_ctl --node "$leader" status --json | jq -r '.counters.catchup_entries')
it_log "converged ($state); the leader sent $sent entries from its log"
[ "$sent" -gt 0 ] || it_fail "the leader sent nothing from its log: the catch-up did not take that path"
"$IT_BUILD/tests/integration/kvbulk" check --acked "$IT_WORK/acked" --node 3 \
	|| it_fail "node 3 misses an acknowledged write after its catch-up"
# Every node restarts from a log three windows long: from its tail.
for n in 1 2 3; do it_cluster kill "$n" --signal TERM >/dev/null; done
for n in 1 2 3; do
	for _ in $(seq 50); do
		grep -q "raftnode $n: stopped cleanly" "$IT_RUN/logs/node$n.log" && break
		sleep 0.1
	done
done
for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "restart of node $n"; done
it_wait_leader 60 >/dev/null || it_fail "no leader after restarting every node"
grep -q "replayed 1\.\.[1-9]" "$IT_RUN/logs/node1.log" || it_fail "node 1 did not restart from its log's tail"
state=$(it_wait_converged 60 1 2 3) || it_fail "nodes did not converge after the restart"
for n in 1 2 3; do
	"$IT_BUILD/tests/integration/kvbulk" check --acked "$IT_WORK/acked" --node "$n" \
		|| it_fail "an acknowledged write was lost (node $n, after the restart)"
done
it_pass "node 3 caught up from the leader's log ($sent entries), all $acked acknowledged writes on every node after a restart from the tail ($state)"
