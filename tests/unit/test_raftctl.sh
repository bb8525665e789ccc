#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_raftctl.sh - raftctl end to end against a fake node process.
#
# Goal: raftctl's contract: output (value alone, one-line JSON, the status
# JSON as-is or as indented lines) and exit codes (0 ok, 1 failed, 2 usage
# or configuration). Method: start client_fake_server (a key-value fake
# node on 127.0.0.1), write a cluster INI and client key naming it, run raftctl.
# usage: test_raftctl.sh RAFTCTL FAKE_SERVER
set -euo pipefail

if [ "${1:-}" = --help ] || [ $# -ne 2 ]; then
	echo "usage: test_raftctl.sh RAFTCTL FAKE_SERVER"
	exit 0
fi
raftctl=$1
server=$2
dir=$(mktemp -d /tmp/raftnode-raftctl.XXXXXX)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	exit 1
}
# expect CODE CMD...: runs raftctl, checks the exit code, keeps stdout/stderr.
expect() {
	local want=$1 got=0
	shift
	"$raftctl" --config "$dir/cluster.ini" "$@" >"$dir/out" 2>"$dir/err" || got=$?
	[ "$got" = "$want" ] || fail "raftctl $* exited $got, want $want (stderr: $(cat "$dir/err"))"
}

echo "starting a fake node"
coproc SERVER { exec "$server" 1; }
server_pid=$SERVER_PID
read -r port <&"${SERVER[0]}"
# The client key: the fake node's (client_fake_node.c: FAKE_KEY_ID 101,
# fake_secret's bytes in hex), mode 600.
(umask 077 && echo "101 3031323334353637383961626364656630313233343536373839616263646566" >"$dir/client.key")
cat >"$dir/cluster.ini" <<INI
[cluster]
id = 7
peer_key_file = $dir/peer.key
client_key_file = $dir/client.key
[member.1]
ip = 127.0.0.1
udp_port = $port
[member.2]
ip = 127.0.0.1
udp_port = 9
[node]
data_dir = $dir/n%i
transport = udp
INI

expect 0 put k v1
expect 0 get k
[ "$(cat "$dir/out")" = v1 ] || fail "get printed '$(cat "$dir/out")'"
expect 1 get missing
grep -q "not found" "$dir/err" || fail "no 'not found' on stderr"
expect 0 --json get k
[ "$(cat "$dir/out")" = '{"status":"ok","value":"v1","node":1,"leader":1,"attempts":1}' ] ||
	fail "json: $(cat "$dir/out")"
expect 1 cas k nope v2
expect 0 cas k v1 v2
expect 0 --stale get k
[ "$(cat "$dir/out")" = v2 ] || fail "stale get printed '$(cat "$dir/out")'"
expect 0 del k
expect 1 del k
expect 0 --json status
grep -q '^{"role":"leader"' "$dir/out" || fail "status --json: $(cat "$dir/out")"
expect 0 status
grep -q '^role: leader$' "$dir/out" || fail "status: $(cat "$dir/out")"
grep -q '^  - id: 2$' "$dir/out" || fail "status followers: $(cat "$dir/out")"
grep -q '^  proposals: 5$' "$dir/out" || fail "status counters: $(cat "$dir/out")"
expect 0 --help
expect 0 put --help
expect 2 put onlykey
expect 2 frobnicate
expect 2 --node 9 status
grep -q "member.9" "$dir/err" || fail "--node 9: $(cat "$dir/err")"
expect 2 transfer-leader 9
expect 0 transfer-leader 1
grep -q "transfer to node 1" "$dir/out" || fail "transfer: $(cat "$dir/out")"
# Node 2 does not exist: status goes to it alone and times out.
t0=$(date +%s%N)
expect 1 --node 2 --timeout-ms 150 status
grep -q "no answer" "$dir/err" || fail "timeout: $(cat "$dir/err")"
[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 2000 ] || fail "timeout took too long"
expect 1 --json --node 2 --timeout-ms 100 get k
grep -q '"status":"timeout"' "$dir/out" || fail "json timeout: $(cat "$dir/out")"
# Configuration errors: one line naming the file.
expect 2 --config "$dir/absent.ini" get k
grep -q "absent.ini" "$dir/err" || fail "missing config: $(cat "$dir/err")"
RAFTNODE_CONFIG="$dir/env.ini" "$raftctl" get k 2>"$dir/err" && fail "env config"
grep -q "env.ini" "$dir/err" || fail "RAFTNODE_CONFIG not used: $(cat "$dir/err")"
echo "raftctl: all checks passed"
