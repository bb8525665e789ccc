#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Goal: scripts/cluster.sh lays out the seed's deployment (7 nodes on 2
# hosts: 1,2,5,7 | 3,4,6) as documented, partitions and heals it, writes a
# config the node's own loader accepts, and `down` leaves nothing behind.
# Method: `up --no-start --transport udp` (the kernel veths then hold the
# node addresses, so ping can see the topology without a node), checks
# names, placement, MACs, MTUs and reachability (host to host, root to
# both hosts, also while the inter-host link is cut), loads the config for
# every id with cluster_config_check (node_config_load), starts
# tests/integration/fake_raftnode.py as the nodes (UDP echo) to check a
# node partition (also between two nodes of one host) and kill/start, adds
# a node (`add`: veth, route, [member.8], started with --join, reachable,
# partitionable) and removes it (`remove --force`: nothing left), then an
# af_packet config, then `down` twice.
# A private prefix and subnet keep it apart from any other cluster here.
# usage: test_cluster_topology.sh REPO_ROOT [CONFIG_CHECK_BINARY]
# Exit 77 (skip) when not root or without `ip netns`.
set -euo pipefail

repo=$1
config_check=${2:-}
cluster="$repo/scripts/cluster.sh"
fake="$repo/tests/integration/fake_raftnode.py"
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces)"
	exit 77
fi
if ! ip netns list >/dev/null 2>&1; then
	echo "SKIP: 'ip netns' does not work here"
	exit 77
fi

p="rc$(($$ % 100000))"
net="10.78.$(($$ % 200))"
net_af="10.76.$(($$ % 200))"
rd=$(mktemp -d /tmp/raftnode-cluster-test.XXXXXX)
rd_af=$(mktemp -d /tmp/raftnode-cluster-test-af.XXXXXX)
failures=0
cleanup() {
	bash "$cluster" down --run-dir "$rd" >/dev/null 2>&1 || true
	bash "$cluster" down --run-dir "$rd_af" >/dev/null 2>&1 || true
	rm -rf "$rd" "$rd_af"
}
trap cleanup EXIT

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() { # description, command...
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}
check_not() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then bad "$what"; else ok "$what"; fi
}
pingable() { # ns|"" ip
	if [ -n "$1" ]; then ip netns exec "$1" ping -c 1 -W 1 "$2"
	else ping -c 1 -W 1 "$2"; fi
}
udp_echo() { # ns|"" src|- dst: one datagram to dst:9000 comes back
	local py='import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
if sys.argv[1]!="-": s.bind((sys.argv[1],0))
s.settimeout(0.5)
for _ in range(4):
    try:
        s.sendto(b"x",(sys.argv[2],9000))
        if s.recvfrom(16)[0]==b"x": sys.exit(0)
    except OSError: pass
sys.exit(1)'
	if [ -n "$1" ]; then ip netns exec "$1" python3 -c "$py" "$2" "$3"
	else python3 -c "$py" "$2" "$3"; fi
}
up_args=(--nodes 7 --hosts 2 --transport udp --prefix "$p" --subnet "$net" --run-dir "$rd")

echo "== up (prefix $p, subnet $net.0/24, run dir $rd)"
start=$SECONDS
bash "$cluster" up "${up_args[@]}" --no-start
echo "   up took $((SECONDS - start)) s"

echo "== namespaces, placement, links"
check "namespace $p-h1 exists" ip netns exec "$p-h1" true
check "namespace $p-h2 exists" ip netns exec "$p-h2" true
for i in 1 2 5 7; do check "node $i on host 1 (veth rn$i in $p-h1)" ip -n "$p-h1" link show dev "rn$i"; done
for i in 3 4 6; do check "node $i on host 2 (veth rn$i in $p-h2)" ip -n "$p-h2" link show dev "rn$i"; done
for i in 1 2 5 7; do check_not "node $i not on host 2" ip -n "$p-h2" link show dev "rn$i"; done
check "config: member.5 on host 1" grep -Pzq '\[member\.5\]\nip = [0-9.]+\nmac = [0-9a-f:]+\nhost = 1\n' "$rd/cluster.ini"
check "config: member.6 on host 2" grep -Pzq '\[member\.6\]\nip = [0-9.]+\nmac = [0-9a-f:]+\nhost = 2\n' "$rd/cluster.ini"
check "rn6 has MAC 02:00:00:00:00:06" bash -c "ip -n $p-h2 link show dev rn6 | grep -q 'link/ether 02:00:00:00:00:06'"
for dev in rn3 rn3b br0 r0 "$p-x12"; do
	check "$dev has MTU 9000" bash -c "ip -n $p-h2 link show dev $dev | grep -q 'mtu 9000'"
done
check "root veth $p-r2 has MTU 9000" bash -c "ip link show dev $p-r2 | grep -q 'mtu 9000'"
check "peer key file: one key of 32 bytes, mode 600" bash -c "[ \"\$(stat -c %a $rd/peer.key)\" = 600 ] && grep -Eqx '1 [0-9a-f]{64}' $rd/peer.key"
check "client key file: one key of 32 bytes, mode 600" bash -c "[ \"\$(stat -c %a $rd/client.key)\" = 600 ] && grep -Eqx '101 [0-9a-f]{64}' $rd/client.key"
for s in cluster member.1 member.7 node; do check "config has [$s]" grep -qx "\[$s\]" "$rd/cluster.ini"; done

echo "== reachability"
check "$p-h1 pings node 3 ($net.3, host 2)" pingable "$p-h1" "$net.3"
check "root pings node 1 ($net.1, host 1)" pingable "" "$net.1"
check "root pings node 6 ($net.6, host 2)" pingable "" "$net.6"
bash "$cluster" partition --hosts --run-dir "$rd"
check_not "cut: $p-h1 no longer reaches node 3" pingable "$p-h1" "$net.3"
check_not "cut: $p-h2 no longer reaches node 7" pingable "$p-h2" "$net.7"
check "cut: root still reaches node 1 (host 1)" pingable "" "$net.1"
check "cut: root still reaches node 3 (host 2)" pingable "" "$net.3"
# Root must not route around the cut: point host 1 at root for node 3.
ip -n "$p-h1" route add "$net.3/32" via "$net.201" dev rn1 onlink
check_not "cut: no way around through root" pingable "$p-h1" "$net.3"
ip -n "$p-h1" route del "$net.3/32"
bash "$cluster" status --run-dir "$rd" | grep 'inter-host'
bash "$cluster" heal --run-dir "$rd"
check "healed: $p-h1 reaches node 3 again" pingable "$p-h1" "$net.3"

echo "== config loads with node_config_load"
if [ -n "$config_check" ]; then
	check "cluster.ini (udp) loads for nodes 1..7" "$config_check" "$rd/cluster.ini" 1 2 3 4 5 6 7
	"$config_check" "$rd/cluster.ini" 3 || true
else
	echo "(no config checker given: skipped)"
fi

echo "== up again is the same cluster"
sum=$(cat "$rd/peer.key" "$rd/client.key" | md5sum)
check "second up succeeds" bash "$cluster" up "${up_args[@]}" --no-start
check "keys unchanged" test "$(cat "$rd/peer.key" "$rd/client.key" | md5sum)" = "$sum"
check_not "up with other options is refused" bash "$cluster" up "${up_args[@]}" --hosts 3 --no-start
check "usage error exits 2" bash -c "bash $cluster up --nodes 0 --run-dir $rd; [ \$? -eq 2 ]"

echo "== nodes (stand-in: UDP echo), node partition, kill/start"
# A build dir without raftctl: the stand-in nodes do not answer status.
bash "$cluster" up "${up_args[@]}" --daemon "$fake" --build "$rd/no-build"
check "node 4 -> node 3 (same host)" udp_echo "$p-h2" "$net.4" "$net.3"
check "node 1 -> node 3 (other host)" udp_echo "$p-h1" "$net.1" "$net.3"
bash "$cluster" partition --node 3 --run-dir "$rd"
check_not "partitioned: node 4 -> node 3 (same host) dropped" udp_echo "$p-h2" "$net.4" "$net.3"
check_not "partitioned: node 1 -> node 3 dropped" udp_echo "$p-h1" "$net.1" "$net.3"
check "partitioned: node 1 -> node 5 still fine" udp_echo "$p-h1" "$net.1" "$net.5"
check "partitioned: root client -> node 3 still fine" udp_echo "" - "$net.3"
bash "$cluster" heal --run-dir "$rd"
check "healed: node 4 -> node 3" udp_echo "$p-h2" "$net.4" "$net.3"
bash "$cluster" kill 3 --run-dir "$rd"
sleep 0.2
check "killed node 3 shows as not alive" bash -c "bash $cluster status --run-dir $rd | grep -Eq '^3 +2 +- +no'"
bash "$cluster" start 3 --run-dir "$rd"
check "restarted node 3 echoes" udp_echo "" - "$net.3"

echo "== add and remove a node (the plumbing of a membership change)"
bash "$cluster" add 8 --host 2 --run-dir "$rd" | tail -1 >"$rd/add.out"
check "add 8: veth rn8 in $p-h2" ip -n "$p-h2" link show dev rn8
check "add 8: rn8 has MAC 02:00:00:00:00:08" bash -c "ip -n $p-h2 link show dev rn8 | grep -q 'link/ether 02:00:00:00:00:08'"
check "add 8: config has [member.8] on host 2" grep -Pzq '\[member\.8\]\nip = [0-9.]+\nmac = [0-9a-f:]+\nhost = 2\n' "$rd/cluster.ini"
check "add 8: prints the raftctl line" grep -q "member add-learner 8 $net.8:9000,mac=02:00:00:00:00:08,host=2" "$rd/add.out"
check "add 8: started with --join" pgrep -f "fake_raftnode.py --config $rd/cluster.ini --id 8 --join"
check "add 8: root client -> node 8" udp_echo "" - "$net.8"
check "add 8: node 1 -> node 8 (other host)" udp_echo "$p-h1" "$net.1" "$net.8"
check_not "add 8 again is refused" bash "$cluster" add 8 --run-dir "$rd"
check "add 99 --no-start: hosts tie at 4 nodes, so host 1" bash -c "bash $cluster add 99 --no-start --run-dir $rd && ip -n $p-h1 link show dev rn99"
check "status lists node 8" bash -c "bash $cluster status --run-dir $rd | grep -Eq '^8 +2 +[0-9]+ +yes'"
bash "$cluster" partition --node 8 --run-dir "$rd"
check_not "partitioned: node 1 -> node 8 dropped" udp_echo "$p-h1" "$net.1" "$net.8"
bash "$cluster" heal --run-dir "$rd"
bash "$cluster" kill 8 --run-dir "$rd"
check "kill 8, start 8: echoes again" bash -c "bash $cluster start 8 --run-dir $rd && sleep 0.3"
check "started node 8 echoes" udp_echo "" - "$net.8"
if [ -n "$config_check" ]; then
	check "cluster.ini with [member.8] loads for nodes 1 and 8" "$config_check" "$rd/cluster.ini" 1 8
fi
check_not "remove 8 without raftctl to ask is refused" bash "$cluster" remove 8 --run-dir "$rd"
check "remove 8 --force" bash "$cluster" remove 8 --force --run-dir "$rd"
check_not "removed: no rn8" ip -n "$p-h2" link show dev rn8
check_not "removed: no route to $net.8" bash -c "ip route | grep -q '^$net.8 '"
check_not "removed: no data dir" test -e "$rd/data/node8"
check_not "removed: no [member.8]" grep -q 'member\.8' "$rd/cluster.ini"
check_not "removed: stand-in node 8 stopped" pgrep -f "fake_raftnode.py --config $rd/cluster.ini --id 8 "
check_not "remove 8 again: not in the cluster" bash "$cluster" remove 8 --force --run-dir "$rd"
check "remove 99 --force" bash "$cluster" remove 99 --force --run-dir "$rd"

echo "== af_packet config"
bash "$cluster" up --nodes 3 --prefix "${p}a" --subnet "$net_af" --run-dir "$rd_af" --no-start \
	--election-timeout-ms 400 >/dev/null 2>&1 ||
	bad "up --transport af_packet failed"
check "af_packet: dpdk_port names rn%i" grep -q '^dpdk_port = net_af_packet0,iface=rn%i\(,\|$\)' "$rd_af/cluster.ini"
check "af_packet: no kernel address on rn2" bash -c "! ip -n ${p}a-h1 -4 addr show dev rn2 | grep -q inet"
if [ -n "$config_check" ]; then
	check "cluster.ini (af_packet) loads for nodes 1..3" "$config_check" "$rd_af/cluster.ini" 1 2 3
	"$config_check" "$rd_af/cluster.ini" 2 || true
fi
bash "$cluster" down --run-dir "$rd_af" >/dev/null

echo "== down leaves nothing"
bash "$cluster" down --run-dir "$rd"
check "down twice is harmless" bash "$cluster" down --run-dir "$rd"
check_not "no namespace $p-h1" bash -c "ip netns list | grep -q '^$p-h'"
check_not "no root veth $p-r1" ip link show dev "$p-r1"
check_not "no route to $net.3" bash -c "ip route | grep -q '^$net.3 '"
check_not "no run dir" test -e "$rd"
check_not "no stand-in node left" pgrep -f "fake_raftnode.py --config $rd/"
check_not "no guard table" nft list table inet "${p}_guard"

echo "$((SECONDS - start)) s"
if [ "$failures" -gt 0 ]; then
	echo "test_cluster_topology: $failures check(s) FAILED"
	exit 1
fi
echo "test_cluster_topology: all checks passed"
