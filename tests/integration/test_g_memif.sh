#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (g): --transport memif. Three nodes on two hosts whose only
# ports are memif links to rn_memif_switch, which also faces the kernel.
# Method: writes through every node, read back from every node (a
# 6,000-byte value too: 9,014-byte frames through the switch); the leader
# cut off by the switch's rules (partition --node) while the others elect
# a leader and take writes the cut node must not see, then heal and every
# node reads everything; the two hosts cut apart (partition --hosts); a
# follower killed with -9 and restarted must reconnect its memif port by
# itself; `cluster.sh down` must leave no process, socket, namespace,
# veth, route or DPDK runtime directory; each node says its lcore naps
# (DEGRADED: net_memif has no rx interrupt; --transport tap sleeps on
# one: test_i_tap.sh). Skips (77) only where DPDK has no net_memif driver.
. "$(dirname "$0")/lib.sh"
it_setup g 10.87.0
kv="$IT_BUILD/tests/integration/kvbulk"

out=$("$IT_SRC/scripts/cluster.sh" up --nodes 3 --hosts 2 --transport memif --run-dir "$IT_RUN" \
	--prefix "$IT_PREFIX" --subnet "$IT_SUBNET" --build "$IT_BUILD" --no-start 2>&1) || {
	echo "$out"
	if grep -q 'net_memif.* did not probe' "$IT_RUN/logs/switch.log" 2>/dev/null; then
		echo "SKIP: this DPDK has no net_memif driver (the switch's memif ports did not probe)"
		exit 77
	fi
	it_fail "cluster.sh up --transport memif"
}
# shellcheck disable=SC2034 # read by lib.sh (it_leader)
IT_NODES=3
grep -q '^dpdk_port = net_memif0,role=client,socket=.*/memif/node2.sock' "$IT_RUN/cluster.ini" ||
	it_fail "cluster.ini does not give node 2 its memif client port"
# Values of up to 7 KiB for it_put_jumbo (test_a_kv.sh says why these two).
printf '\n[limits]\nkv_keys_max = 8192\nkv_value_bytes_max = 7168\n' >>"$IT_RUN/cluster.ini"
for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "cluster.sh start $n"; done
# DPDK 22.11's net_memif has no rx interrupt (README: "Why kernel UDP
# ..."): under idle = event each node must say so and nap, not hang.
for n in 1 2 3; do
	grep -q "DEGRADED: idle = event: lcore [0-9]*: stage 'rxtx' .* no rx interrupt" \
		"$IT_RUN/logs/node$n.log" || it_fail "node $n does not say why its lcore naps"
done
leader=$(it_wait_leader 60) || it_fail "no leader in 60 s"
it_log "memif cluster up (switch pid $(cat "$IT_RUN/pids/switch.pid")); leader $leader"

"$kv" put --count 300 --via 1,2,3 --acked "$IT_WORK/acked" >/dev/null || it_fail "bulk put through nodes 1-3"
[ "$(wc -l <"$IT_WORK/acked")" -eq 300 ] || it_fail "not all 300 writes acknowledged"
for n in 1 2 3; do
	"$kv" check --acked "$IT_WORK/acked" --node "$n" || it_fail "node $n does not read back every write"
done
it_put_jumbo "memif" "$leader"

# The leader cut off from its peers (clients still reach it).
it_cluster partition --node "$leader" >/dev/null || it_fail "partition --node $leader"
others=$(for n in 1 2 3; do [ "$n" = "$leader" ] || printf '%s,' "$n"; done)
others=${others%,}
new=$(it_wait_leader 60 "$leader") || it_fail "no new leader among $others in 60 s"
"$kv" put --count 50 --via "$others" --key-prefix cut --acked "$IT_WORK/cut" >/dev/null ||
	it_fail "writes through $others while $leader is cut off"
if "$kv" check --stale --acked "$IT_WORK/cut" --node "$leader" >/dev/null 2>&1; then
	it_fail "node $leader applied writes made while the switch cut it off"
fi
cuts=$(awk '/^macs_learned/ {for (i = 1; i < NF; i++) if ($i == "cut") print $(i + 1)}' "$IT_RUN/switch.stats")
it_log "node $leader cut off: new leader $new took 50 writes it did not see (switch stats, a second old at most: ${cuts:-?} frames cut)"
it_cluster heal >/dev/null || it_fail "heal"
cat "$IT_WORK/cut" >>"$IT_WORK/acked"
it_wait_converged 60 1 2 3 >/dev/null || it_fail "nodes did not converge after heal"
for n in 1 2 3; do
	"$kv" check --acked "$IT_WORK/acked" --node "$n" || it_fail "node $n lacks a write after heal"
done

# Host 1 (nodes 1, 3) keeps a majority when the hosts are cut apart.
it_cluster partition --hosts >/dev/null || it_fail "partition --hosts"
"$kv" put --count 20 --via 1,3 --key-prefix hosts --acked "$IT_WORK/hosts" >/dev/null ||
	it_fail "writes on host 1 while the hosts are cut apart"
it_cluster heal >/dev/null || it_fail "heal after partition --hosts"

# A node restart: its new memif client connects to the same switch port.
victim=$(it_wait_leader 60) || it_fail "no leader after heal"
victim=$((victim % 3 + 1))
it_cluster kill "$victim" >/dev/null # returns once the node is gone
it_cluster start "$victim" >/dev/null || it_fail "node $victim did not come back on its memif port"
cat "$IT_WORK/hosts" >>"$IT_WORK/acked"
state=$(it_wait_converged 60 1 2 3) || it_fail "node $victim did not catch up after its restart"
"$kv" check --acked "$IT_WORK/acked" --node "$victim" || it_fail "restarted node $victim lacks a write"
grep -q "port $victim (.*): link up" "$IT_RUN/logs/switch.log" || it_fail "the switch never saw port $victim up"

# down leaves nothing.
it_cluster down >/dev/null || it_fail "cluster.sh down"
left=""
pgrep -f -- "$IT_RUN" >/dev/null && left+=" processes"
[ ! -e "$IT_RUN" ] || left+=" run-dir"
ip netns list | grep -q "^$IT_PREFIX-" && left+=" namespaces"
ip link show "$IT_PREFIX-r0" >/dev/null 2>&1 && left+=" root-veth"
ip route | grep -q "^$IT_SUBNET\." && left+=" routes"
ls -d /var/run/dpdk/"$IT_PREFIX"-* >/dev/null 2>&1 && left+=" dpdk-runtime-dirs"
[ -z "$left" ] || it_fail "cluster.sh down left:$left"
it_pass "memif: 370 writes through every node read back everywhere; a cut leader missed 50 and caught up after heal; hosts cut apart; node $victim restarted on its port ($state); down left nothing"
