#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (n): a membership change round trip through the node. Three
# initial members ([cluster] initial_members = 1,2,3) and a fourth node
# declared in the cluster file ([member.4]: its address) whose namespace
# plumbing cluster.sh made with --nodes 4. Node 4 starts with --join and an
# empty data directory: it must not campaign. Then `raftctl member
# add-learner 4 ADDR`: it receives the log as a learner; writes go on;
# `member promote 4`: `member list` shows 4 voters; `member remove 4`:
# the list shows 3, node 4 says it was removed (with 4 voters the leader's
# whole status, larger than one af_packet frame, must come back parsed,
# every follower and the membership in it). Every acknowledged write is
# read back from the cluster. Then nodes 2 and 3 are lost for good and node
# 1 restarts with --force-new-cluster: it leads alone (said loudly), the
# list shows it the only voter, every acknowledged write is there and a
# new one commits. $1: cluster.sh's transport
# (meson runs it on af_packet, cluster.sh's default, and on udp).
. "$(dirname "$0")/lib.sh"
transport=${1:-}
if [ "$transport" = udp ]; then it_setup nu 10.79.0; else it_setup n 10.80.0; fi
it_up --nodes 4 --no-start ${transport:+--transport "$transport"}
ini=$IT_RUN/cluster.ini
sed -i 's/^\[cluster\]$/[cluster]\ninitial_members = 1,2,3/' "$ini"
for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "start of node $n"; done
leader=$(it_wait_leader 60) || it_fail "no leader in 60 s"
it_log "leader $leader of 1,2,3"

# Node 4 with --join, in its host's namespace (cluster.sh starts nodes
# without it; its pid file is where `down` looks).
host4=$(awk '/^\[member\.4\]/{f=1;next} /^\[/{f=0} f&&$1=="host"{print $3}' "$ini")
mac4=$(awk '/^\[member\.4\]/{f=1;next} /^\[/{f=0} f&&$1=="mac"{print $3}' "$ini")
ip4=$(awk '/^\[member\.4\]/{f=1;next} /^\[/{f=0} f&&$1=="ip"{print $3}' "$ini")
log4=$IT_RUN/logs/node4.log
# shellcheck disable=SC2016 # expanded by the inner shell
ip netns exec "$IT_PREFIX-h$host4" setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ \
	"$IT_RUN/pids/node4.pid" "$IT_BUILD/node/raftnode" --config "$ini" --id 4 --join \
	</dev/null >>"$log4" 2>&1 &
for _ in $(seq 100); do grep -q "raftnode 4: running" "$log4" 2>/dev/null && break; sleep 0.1; done
grep -q "raftnode 4: --join: an empty data directory" "$log4" || it_fail "node 4 did not start in join mode: $(tail -5 "$log4")"
for _ in $(seq 50); do [ -n "$(it_field 4 .role)" ] && break; sleep 0.1; done
[ "$(it_field 4 .member)" = none ] || it_fail "node 4 is a member before it was added: $(it_field 4 .)"

acked=$IT_WORK/acked
: >"$acked"
put_keys() { # FROM TO: writes k<i> = v<i>, records each acknowledged one
	local i
	for i in $(seq "$1" "$2"); do
		if it_ctl put "k$i" "v$i" >/dev/null 2>&1; then echo "k$i v$i" >>"$acked"; fi
	done
}
put_keys 1 20
list=$(it_ctl member list) || it_fail "member list"
it_log "before: $(echo "$list" | tr '\n' ';')"
[ "$(echo "$list" | grep -c 'role=voter')" = 3 ] || it_fail "3 voters expected: $list"

it_ctl member add-learner 4 "$ip4:9000,mac=$mac4,host=$host4" || it_fail "add-learner 4"
list=$(it_ctl member list) || it_fail "member list"
echo "$list" | grep -q "^id=4 role=learner ip=$ip4 udp_port=9000" || it_fail "4 is no learner: $list"
put_keys 21 120
conv=$(it_wait_converged 60 1 2 3 4) || it_fail "learner 4 did not catch up: $(it_field 4 .)"
it_log "learner 4 caught up: $conv"
[ "$(it_field 4 .member)" = learner ] || it_fail "node 4 does not say learner: $(it_field 4 .)"

ok=0
for _ in $(seq 20); do
	if out=$(it_ctl member promote 4 2>&1); then ok=1; break; fi
	echo "$out" | grep -q learner_behind || it_fail "promote 4: $out"
	sleep 0.2
done
[ $ok = 1 ] || it_fail "promote 4: still learner_behind"
list=$(it_ctl member list) || it_fail "member list"
it_log "promoted: $(echo "$list" | tr '\n' ';')"
[ "$(echo "$list" | grep -c 'role=voter')" = 4 ] || it_fail "4 voters expected: $list"
echo "$list" | grep -q 'pending=0' || it_fail "the change is not committed: $list"
[ "$(it_field 4 .member)" = voter ] || it_fail "node 4 does not say voter"
# The leader's whole status (4 voters: ~2 KiB of JSON, more than one
# 1518-byte af_packet frame) comes as fragments the client reassembles:
# it parses, has the counters, every member among the followers and the
# membership fields, and is not the brief form.
st=$(it_ctl --node "$leader" --timeout-ms 1000 --json status) || it_fail "status of leader $leader"
echo "$st" | jq -e --argjson l "$leader" '(.truncated | not) and (.followers_brief | not) and
	([.followers[].id] | sort) == ([1,2,3,4] - [$l]) and .counters.frames_rx > 0 and
	.member == "voter" and .config_index > 0 and (.pending | type) == "number"' >/dev/null ||
	it_fail "the leader's status is not whole: $st"
it_log "leader status whole: $(echo "$st" | wc -c) bytes, reply_fragments $(echo "$st" | jq .counters.reply_fragments)"
put_keys 121 200

it_ctl member remove 4 || it_fail "remove 4"
list=$(it_ctl member list) || it_fail "member list"
it_log "removed: $(echo "$list" | tr '\n' ';')"
[ "$(echo "$list" | grep -c 'role=voter')" = 3 ] || it_fail "3 voters expected: $list"
! echo "$list" | grep -q '^id=4 ' || it_fail "4 still listed: $list"
for _ in $(seq 50); do grep -q "raftnode 4: REMOVED" "$log4" && break; sleep 0.1; done
grep -q "raftnode 4: REMOVED" "$log4" || it_fail "node 4 did not say it was removed"
put_keys 201 240

# Every acknowledged write is there.
n=0
while read -r k v; do
	got=$(it_ctl get "$k" 2>/dev/null) || it_fail "get $k failed"
	[ "$got" = "$v" ] || it_fail "$k: '$got', expected '$v'"
	n=$((n + 1))
done <"$acked"
[ "$n" -ge 200 ] || it_fail "only $n writes acknowledged"

# The majority lost for good: nodes 2 and 3 gone, node 1 restarted with
# --force-new-cluster becomes the only voter, with every acknowledged write.
it_cluster kill 2 >/dev/null
it_cluster kill 3 >/dev/null
it_cluster kill 1 --signal TERM >/dev/null
log1=$IT_RUN/logs/node1.log
# shellcheck disable=SC2016 # expanded by the inner shell
ip netns exec "$IT_PREFIX-h$(awk '/^\[member\.1\]/{f=1;next} /^\[/{f=0} f&&$1=="host"{print $3}' "$ini")" \
	setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$IT_RUN/pids/node1.pid" \
	"$IT_BUILD/node/raftnode" --config "$ini" --id 1 --force-new-cluster </dev/null >>"$log1" 2>&1 &
for _ in $(seq 100); do [ "$(it_field 1 .role)" = leader ] && break; sleep 0.1; done
[ "$(it_field 1 .role)" = leader ] || it_fail "node 1 does not lead after --force-new-cluster: $(tail -5 "$log1")"
grep -q "raftnode 1: WARNING: --force-new-cluster" "$log1" || it_fail "no warning from --force-new-cluster"
for _ in $(seq 50); do
	list=$(it_ctl --node 1 member list 2>/dev/null) || true
	echo "$list" | grep -q pending=0 && break
	sleep 0.1
done
it_log "forced: $(echo "$list" | tr '\n' ';')"
[ "$(echo "$list" | grep -c 'role=voter')" = 1 ] && echo "$list" | grep -q '^id=1 role=voter' ||
	it_fail "node 1 is not the only voter: $list"
while read -r k v; do
	got=$(it_ctl --node 1 --pin get "$k" 2>/dev/null) || it_fail "get $k from the forced node failed"
	[ "$got" = "$v" ] || it_fail "$k: '$got', expected '$v' (forced node)"
done <"$acked"
it_ctl --node 1 --pin put after-force yes >/dev/null || it_fail "a write to the forced cluster"
it_pass "node 4 joined (--join), added as learner, promoted (4 voters), removed (3); $n acknowledged writes read back; --force-new-cluster made node 1 the only voter with all of them"
