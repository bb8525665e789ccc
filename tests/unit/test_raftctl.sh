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
admin_pids=()
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
	for p in "${admin_pids[@]}"; do kill "$p" 2>/dev/null || true; done
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

# raftctl reload. The fake node above (FAKE_KV) answers a STATUS whatever
# its key, as a node older than reload does: reported as not reloaded.
expect 1 --node 1 reload
grep -q "does not know .raftctl reload.*NOT reloaded" "$dir/err" || fail "reload, old node: $(cat "$dir/err")"
# Two fake nodes that know it (client_fake_node.h): node 1 reloads (FAKE_ADMIN),
# node 2's reload fails (FAKE_ADMIN_FAIL). The admin key: FAKE_ADMIN_KEY_ID 102,
# fake_admin_secret in hex.
(umask 077 && echo "102 61646d696e2d6b65792d6f662d7468652d66616b652d6e6f64652d3031323321" >"$dir/admin.key")
"$server" 1 11 >"$dir/port1" &
admin_pids+=($!)
"$server" 2 12 >"$dir/port2" &
admin_pids+=($!)
for _ in $(seq 1 50); do [ -s "$dir/port1" ] && [ -s "$dir/port2" ] && break; sleep 0.1; done
sed -e "/^\[member.1\]/,/^\[member.2\]/ s/^udp_port = .*/udp_port = $(cat "$dir/port1")/" \
	-e "/^\[member.2\]/,/^\[node\]/ s/^udp_port = .*/udp_port = $(cat "$dir/port2")/" \
	-e "s|^client_key_file = .*|&\nadmin_key_file = $dir/admin.key|" "$dir/cluster.ini" >"$dir/admin.ini"
grep -q "^admin_key_file" "$dir/admin.ini" || fail "admin.ini: $(cat "$dir/admin.ini")"
ctl_admin() { # CODE ARGS...: raftctl on the two admin fakes
	local want=$1 got=0
	shift
	"$raftctl" --config "$dir/admin.ini" "$@" >"$dir/out" 2>"$dir/err" || got=$?
	[ "$got" = "$want" ] || fail "raftctl (admin.ini) $* exited $got, want $want (stderr: $(cat "$dir/err"))"
}
ctl_admin 0 --node 1 reload
[ "$(cat "$dir/out")" = "node 1: keys reloaded: peer key 1 seals (accepted: 1), client key 101 seals (accepted: 101), admin key 102 seals (accepted: 102)" ] ||
	fail "reload: $(cat "$dir/out")"
ctl_admin 0 --json --node 1 reload
grep -q '^{"reload":"ok","node":1,' "$dir/out" || fail "reload --json: $(cat "$dir/out")"
# Sealed with the client key: refused, with what to do.
ctl_admin 1 --node 1 --admin-key "$dir/client.key" reload
grep -q "node 1 refused it: sealed with a client key.*with key 101: give it an admin key file (--admin-key FILE" "$dir/err" ||
	fail "reload with the client key: $(cat "$dir/err")"
# The node's own reload failed: the error and the keys it kept.
ctl_admin 1 --node 2 reload
grep -q "node 2: reload refused, old keys still in force: key file /x/peer.key: mode 644.*(keys: peer key 1 seals" "$dir/err" ||
	fail "reload refused: $(cat "$dir/err")"
# Every node: one line each, exit 1 as one failed.
ctl_admin 1 reload
grep -q "^node 1: keys reloaded" "$dir/out" && grep -q "node 2: reload refused" "$dir/err" ||
	fail "reload of every node: $(cat "$dir/out" "$dir/err")"
ctl_admin 2 --admin-key "$dir/absent.key" reload
grep -q "absent.key" "$dir/err" || fail "reload, no admin key file: $(cat "$dir/err")"
chmod 644 "$dir/admin.key"
ctl_admin 2 --node 1 reload
grep -q "mode 644" "$dir/err" || fail "reload, admin key mode 644: $(cat "$dir/err")"
echo "raftctl: all checks passed"
