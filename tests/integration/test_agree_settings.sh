#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (agree): nodes agree on the cluster (issue 17, acceptance 4). A
# 3-node cluster where node 3 starts from a file of its own (cluster.sh:
# DIR/node3.ini) with kv_value_bytes_max = 4096 where nodes 1 and 2 have
# 1024: each node reads only its own file, so the check must come from the
# wire (the settings fingerprint in every frame, the SETTINGS frame that
# names the setting). Nodes 1 and 2 must refuse node 3 naming
# kv_value_bytes_max in their logs and status, node 3 must refuse them too,
# the cluster must keep serving with 1 and 2 (writes acknowledged and read
# back), and node 3 must never lead nor help elect anyone: it has no
# leader, nothing committed, and its peers count its frames dropped.
. "$(dirname "$0")/lib.sh"
it_setup sa 10.66.0
it_up --nodes 3 --no-start
{ cat "$IT_RUN/cluster.ini"; printf '\n[limits]\nkv_value_bytes_max = 4096\n'; } >"$IT_RUN/node3.ini"
for i in 1 2 3; do it_cluster start "$i" >/dev/null; done
leader=$(it_wait_leader 60 3) || it_fail "no leader of nodes 1 and 2 in 60 s"
[ "$leader" = 1 ] || [ "$leader" = 2 ] || it_fail "leader $leader is not node 1 or 2"
it_log "cluster up; leader $leader; node 3 runs with kv_value_bytes_max = 4096"

# Writes commit on 1 and 2 alone, through either of them.
"$IT_BUILD/tests/integration/kvbulk" put --count 200 --via 1,2 --acked "$IT_WORK/acked" \
	|| it_fail "writes through nodes 1 and 2"
[ "$(wc -l <"$IT_WORK/acked")" -eq 200 ] || it_fail "not every write acknowledged"
for n in 1 2; do
	"$IT_BUILD/tests/integration/kvbulk" check --acked "$IT_WORK/acked" --node "$n" \
		|| it_fail "node $n does not read back every write"
done

# Both sides name the setting (a SETTINGS frame at most a second apart).
log_of() { echo "$IT_RUN/logs/node$1.log"; }
want_refusal() { # NODE PEER HERE THERE
	grep -q "raftnode $1: node $1 refuses node $2: kv_value_bytes_max = $3 here, $4 on node $2" \
		"$(log_of "$1")"
}
end=$((SECONDS + 20))
until want_refusal 1 3 1024 4096 && want_refusal 2 3 1024 4096 &&
	{ want_refusal 3 1 4096 1024 || want_refusal 3 2 4096 1024; }; do
	[ $SECONDS -lt $end ] || it_fail "a refusal naming kv_value_bytes_max is missing from a log"
	sleep 0.2
done
for n in 1 2 3; do
	it_log "$(grep -m1 -h "raftnode $n: node $n refuses node [0-9]*: kv_value" "$(log_of "$n")")"
done
for n in 1 2; do
	why=$(it_field "$n" '.settings.refused."3"')
	case "$why" in
	*"kv_value_bytes_max = 1024 here, 4096 on node 3"*) ;;
	*) it_fail "node $n's status does not name the setting: '$why'" ;;
	esac
	dropped=$(it_field "$n" '.settings.dropped')
	[ "${dropped:-0}" -gt 0 ] || it_fail "node $n counted none of node 3's frames dropped"
done

# Node 3 never led and never learnt a leader or a commit; nobody followed it.
[ "$(it_field 3 .leader)" = 0 ] || it_fail "node 3 knows a leader: $(it_field 3 .leader)"
[ "$(it_field 3 .commit_index)" = 0 ] || it_fail "node 3 committed: $(it_field 3 .commit_index)"
[ "$(it_field 3 .role)" != leader ] || it_fail "node 3 is leader"
! grep -q "raftnode 3: leader of term" "$(log_of 3)" || it_fail "node 3 was leader"
! grep -qE "raftnode [12]: .* of term [0-9]+, leader 3$" "$(log_of 1)" "$(log_of 2)" ||
	it_fail "node 1 or 2 followed node 3"
[ "$(it_field "$leader" '.settings.refused | length')" = 1 ] ||
	it_fail "the leader refuses more than node 3"
it_pass "node 3 (kv_value_bytes_max 4096) refused by nodes 1 and 2 and refusing them, the setting named in logs and status; 200 writes committed by 1 and 2 (leader $leader); node 3 never led nor learnt a leader"
