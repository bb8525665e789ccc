#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (e): bad input. Frames forged from a kernel socket (wrong
# key, another cluster, flipped bits, random bytes, an old client's
# wire version 2) are dropped and counted while the node keeps serving,
# and none of them is accepted; bad
# client requests get error replies; each class of bad configuration makes
# raftnode exit 2 with one message naming the line and key (a key file
# readable by others: the file and its mode; the old secret_file: what
# replaces it). With
# --rxtx-apart the frames and requests only, every node's rx/tx stage (the
# port, the tag check) on an lcore of its own.
. "$(dirname "$0")/lib.sh"
it_setup_variant "${1:-}" --rxtx-apart e 10.85.0 er 10.93.0 --rxtx-lcore

# --- bad configurations: no cluster needed -------------------------------
configs=0
if [ ${#up_args[@]} -eq 0 ]; then
raftnode=$IT_BUILD/node/raftnode
good=$IT_WORK/good.ini
key_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
(umask 077 && echo "1 $(key_hex 32)" >"$IT_WORK/peer.key" && echo "101 $(key_hex 32)" >"$IT_WORK/client.key")
(umask 077 && echo "1 $(key_hex 8)" >"$IT_WORK/short.key")
(umask 022 && echo "1 $(key_hex 32)" >"$IT_WORK/open.key") # mode 644: refused
cat >"$good" <<INI
[cluster]
id = 5
peer_key_file = $IT_WORK/peer.key
client_key_file = $IT_WORK/client.key
election_timeout_ms = 300
heartbeat_interval_ms = 50
[member.1]
ip = 10.85.0.1
udp_port = 9000
[member.2]
ip = 10.85.0.2
udp_port = 9000
[node]
data_dir = $IT_WORK/data%i
transport = udp
INI
"$raftnode" --config "$good" --id 1 --check >/dev/null || it_fail "the good config is refused"
# class % sed expression making the good file bad % text the message must hold
bad_cases=(
	"unknown key%s/^transport = udp/transprot = udp/%transprot"
	"bad number%s/^election_timeout_ms = 300/election_timeout_ms = 3OO/%election_timeout_ms"
	"heartbeat not below timeout%s/^heartbeat_interval_ms = 50/heartbeat_interval_ms = 400/%heartbeat_interval_ms"
	"unknown section%s/^\\[node\\]/[nodes]/%nodes"
	"bad transport%s/^transport = udp/transport = tcp/%transport"
	"bad address%s/^ip = 10.85.0.2/ip = 10.85.0.256/%ip"
	"missing peer key file%s|^peer_key_file = .*|peer_key_file = $IT_WORK/nope|%$IT_WORK/nope"
	"key file readable by others%s|^peer_key_file = .*|peer_key_file = $IT_WORK/open.key|%open.key: mode 644"
	"the old secret_file%s|^peer_key_file = .*|secret_file = $IT_WORK/peer.key|%secret_file: no longer read"
	"syntax error%s/^udp_port = 9000/udp_port 9000/%syntax"
	"window not a power of two%\$a [limits]\\nlog_entries_max = 100000%log_entries_max"
	"session window of 0%\$a [limits]\\nkv_session_window = 0%kv_session_window"
	"stage placed twice%/^transport = udp/a lcore_map = rxtx:0,log:1,log:0,control:0,apply:0%lcore_map"
)
for c in "${bad_cases[@]}"; do
	IFS='%' read -r what expr needle <<<"$c"
	sed -e "$expr" "$good" >"$IT_WORK/bad.ini"
	set +e
	msg=$("$raftnode" --config "$IT_WORK/bad.ini" --id 1 2>&1)
	rc=$?
	set -e
	[ $rc -eq 2 ] || it_fail "config with $what: exit $rc, not 2 ($msg)"
	echo "$msg" | grep -q "$needle" || it_fail "config with $what: message does not name '$needle': $msg"
	[ "$(echo "$msg" | wc -l)" -eq 1 ] || it_fail "config with $what: more than one line: $msg"
	it_log "bad config ($what): exit 2: $msg"
done
sed -e "s|^client_key_file = .*|client_key_file = $IT_WORK/short.key|" "$good" >"$IT_WORK/bad.ini"
set +e; msg=$("$raftnode" --config "$IT_WORK/bad.ini" --id 1 2>&1); rc=$?; set -e
[ $rc -eq 2 ] && echo "$msg" | grep -q short.key || it_fail "short key: exit $rc: $msg"
set +e; msg=$("$raftnode" --config "$good" --id 9 2>&1); rc=$?; set -e
[ $rc -eq 2 ] && echo "$msg" | grep -q "member.9" || it_fail "id not a member: exit $rc: $msg"
set +e; msg=$("$raftnode" --config "$IT_WORK/none.ini" --id 1 2>&1); rc=$?; set -e
[ $rc -eq 2 ] && echo "$msg" | grep -q "none.ini" || it_fail "missing file: exit $rc: $msg"
it_log "every bad configuration class exits 2 with its message"
configs=$(( ${#bad_cases[@]} + 3 ))
fi

# --- forged frames ---------------------------------------------------------
it_up --nodes 3 "${up_args[@]}"
leader=$(it_wait_leader 60) || it_fail "no leader in 60 s"
if [ ${#up_args[@]} -gt 0 ]; then
	[ "$(it_field 1 .lcore_map)" = "rxtx:1,log:0,control:0,apply:0" ] ||
		it_fail "node 1 does not run rx/tx apart: lcore_map $(it_field 1 .lcore_map)"
fi
it_ctl --node 1 put real value >/dev/null || it_fail "put before forging"
term0=$(it_field 1 .term)
tag0=$(it_field 1 .drops.bad_tag)
cluster0=$(it_field 1 .drops.wrong_cluster)
version0=$(it_field 1 .drops.bad_version)
drops0=$(it_field 1 '[.drops[]] | add')
"$IT_BUILD/tests/integration/forge" --node 1 --count 600 || it_fail "forge"
# The counters are read once they show the frames (however long node 1
# takes on this machine); the 30 s only bound a hang.
end=$((SECONDS + 30))
while :; do
	tag1=$(it_field 1 .drops.bad_tag)
	cluster1=$(it_field 1 .drops.wrong_cluster)
	version1=$(it_field 1 .drops.bad_version)
	drops1=$(it_field 1 '[.drops[]] | add')
	[ $((tag1 - tag0)) -ge 200 ] && [ $((cluster1 - cluster0)) -ge 100 ] &&
		[ $((version1 - version0)) -ge 100 ] && [ $((drops1 - drops0)) -ge 550 ] && break
	[ $SECONDS -lt $end ] || break
	sleep 0.2
done
it_log "node 1 drops: bad_tag $tag0 -> $tag1, wrong_cluster $cluster0 -> $cluster1, bad_version $version0 -> $version1, all reasons $drops0 -> $drops1"
# 600 frames: 100 each of wrong-key request, wrong-key consensus
# message, other cluster, flipped bit, random bytes, wire version 2.
[ $((tag1 - tag0)) -ge 200 ] || it_fail "bad_tag rose by $((tag1 - tag0)), expected >= 200"
[ $((cluster1 - cluster0)) -ge 100 ] || it_fail "wrong_cluster rose by $((cluster1 - cluster0)), expected >= 100"
[ $((version1 - version0)) -ge 100 ] || it_fail "bad_version rose by $((version1 - version0)), expected >= 100"
[ $((drops1 - drops0)) -ge 550 ] || it_fail "drops rose by $((drops1 - drops0)) for 600 forged frames"
[ "$(it_field 1 .term)" = "$term0" ] || it_fail "a forged message changed node 1's term"
if it_ctl --node 1 get forged >/dev/null 2>&1; then it_fail "a forged write was applied"; fi
it_ctl --node 1 put after forged-frames >/dev/null || it_fail "node 1 stopped serving"
[ "$(it_ctl --node 3 get after)" = forged-frames ] || it_fail "read after forging"

# --- bad client requests ------------------------------------------------------
big=$(head -c 1100 /dev/zero | tr '\0' x)
set +e; out=$(it_ctl --node "$leader" put toobig "$big" 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && echo "$out" | grep -qi "bad.request\|bad_request" \
	|| it_fail "a value over kv_value_bytes_max: exit $rc: $out"
# raftctl checks ids against its configuration: give it one that names a
# node 42 the cluster does not have, so the node itself must refuse.
cp "$IT_RUN/cluster.ini" "$IT_WORK/plus42.ini"
printf '\n[member.42]\nip = 10.85.0.42\nudp_port = 9000\n' >>"$IT_WORK/plus42.ini"
set +e
out=$("$IT_BUILD/client/raftctl" --config "$IT_WORK/plus42.ini" --node "$leader" transfer-leader 42 2>&1)
rc=$?
set -e
[ $rc -eq 1 ] && echo "$out" | grep -qi "bad.request\|bad_request" \
	|| it_fail "transfer to a non-member: exit $rc: $out"
configs_said=""
[ "$configs" -eq 0 ] || configs_said="; $configs bad-config classes exit 2"
bad=$(it_field "$leader" .counters.bad_requests)
[ "${bad:-0}" -ge 2 ] || it_fail "bad_requests counter is $bad"
it_pass "600 forged frames dropped and counted (bad_tag +$((tag1 - tag0)), wrong_cluster +$((cluster1 - cluster0)), bad_version +$((version1 - version0))), none accepted, node serving; bad requests answered BAD_REQUEST${configs_said}"
