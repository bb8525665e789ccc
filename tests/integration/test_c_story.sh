#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (c): the story the project grew from, live. Seven nodes on two
# hosts (1, 2, 5, 7 on host 1; 3, 4, 6 on host 2). Leadership moves to host
# 2; the link between the hosts is cut; writes to host 2's leader are not
# acknowledged, writes through host 1 commit; after the heal host 2's nodes
# roll back their uncommitted entries and all seven converge to the same
# state digest, with no acknowledged write lost.
. "$(dirname "$0")/lib.sh"
it_setup c 10.83.0
it_up --nodes 7 --hosts 2
h1="1 2 5 7"
h2="3 4 6"
leader=$(it_wait_leader 60) || it_fail "no leader in 60 s"
it_log "leader $leader; moving leadership to node 3 (host 2)"
for try in 1 2 3 4 5; do
	it_ctl --node "$leader" transfer-leader 3 >/dev/null 2>&1 || true
	sleep 1
	leader=$(it_wait_leader 5) || true
	[ "$leader" = 3 ] && break
done
[ "$leader" = 3 ] || it_fail "leadership did not move to node 3 (leader: $leader)"
"$IT_BUILD/tests/integration/kvbulk" put --count 30 --via 3 --key-prefix before \
	--acked "$IT_WORK/acked" >/dev/null || it_fail "writes before the partition"

it_cluster partition --hosts >/dev/null || it_fail "partition --hosts"
commit3=$(it_field 3 .commit_index)
it_log "inter-host link cut; node 3 commit index $commit3"
# Writes to host 2's leader, pinned to it: accepted into its log, never
# committed (it cannot reach a majority), so never acknowledged.
for k in 1 2 3; do
	if it_ctl --node 3 --pin --timeout-ms 1500 put "minority$k" lost >/dev/null 2>&1; then
		it_fail "a write to node 3 (minority side) was acknowledged"
	fi
done
last3=$(it_field 3 .last_index)
it_log "3 writes to node 3 not acknowledged; node 3 holds entries up to $last3, commit $(it_field 3 .commit_index)"
new=""
for i in $(seq 1 100); do
	for n in $h1; do
		[ "$(it_field "$n" .role)" = leader ] && new=$n && break 2
	done
	sleep 0.1
done
[ -n "$new" ] || it_fail "host 1 (4 of 7 nodes) elected no leader"
"$IT_BUILD/tests/integration/kvbulk" put --count 30 --via 1,2,5,7 --key-prefix majority \
	--acked "$IT_WORK/acked" >/dev/null || it_fail "writes through host 1"
it_log "node $new (host 1) leads; 30 writes through host 1 committed"
for n in $h2; do
	c=$(it_field "$n" .commit_index)
	[ "$c" = "$commit3" ] || it_fail "node $n (host 2) commit moved from $commit3 to $c during the partition"
done
it_cluster heal >/dev/null || it_fail "heal"
state=$(it_wait_converged 60 1 2 3 4 5 6 7) || it_fail "the seven nodes did not converge after the heal"
rolled=$(it_field 3 .rollback.entries)
[ "${rolled:-0}" -ge 1 ] || it_fail "node 3 reports no rolled-back entries"
it_log "healed; node 3 rolled back $rolled entries ($(it_field 3 '"\(.rollback.last_first_index)..\(.rollback.last_last_index) of term \(.rollback.last_term)"')); all seven at $state"
for n in 1 2 3 4 5 6 7; do
	"$IT_BUILD/tests/integration/kvbulk" check --stale --acked "$IT_WORK/acked" --node "$n" \
		|| it_fail "node $n lost an acknowledged write"
done
for k in 1 2 3; do
	if it_ctl --node 4 get "minority$k" >/dev/null 2>&1; then
		it_fail "minority$k, never acknowledged, is in the state after the heal"
	fi
done
it_pass "seed story on 7 nodes / 2 hosts: minority writes not acknowledged and rolled back ($rolled entries on node 3), majority writes kept, digests equal ($state)"
