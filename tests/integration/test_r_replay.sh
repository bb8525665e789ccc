#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (r): replayed frames refused (issue 17, acceptance item 2).
# Three nodes over kernel UDP (one host namespace: nodes talk over its
# `lo`), or with `af_packet` as $1 over DPDK net_af_packet (cluster.sh's
# default, CI's DPDK transport: each node's port a veth rn<i> into the
# host's bridge). replaytap captures the consensus frames the nodes
# exchange while a load runs, and after the load sends every one of them
# again, byte for byte, from the same addresses and ports (udp: IP packets
# off `lo`, sent from a raw socket; af_packet: the Ethernet frames the
# bridge delivered to each node, captured on its bridge port rn<i>b and
# sent out of it again, source MAC and all): each must be dropped and
# counted (drops.replayed or drops.too_old in status, summed over the
# nodes; over udp a datagram the kernel dropped on a full socket buffer is
# counted there instead; af_packet has no such count: every frame must be
# counted by the nodes), with nothing changed: the same commit and applied index, state
# digest, leader, term and election count on every node. Then client
# writes: a `raftctl put` captured on its way to the leader, later writes
# of the same key and others, and the captured frame sent again from the
# client's own address and port: it is answered OK from the session, the
# key keeps its later value and the state digest does not move (the log
# takes one entry that changes nothing). Last, the cluster still serves.
. "$(dirname "$0")/lib.sh"
R_TRANSPORT=${R_TRANSPORT:-${1:-udp}}
case "$R_TRANSPORT" in
udp) it_setup r 10.72.0 ;;
af_packet) it_setup r 10.73.0 ;;
*) echo "usage: test_r_replay.sh [udp|af_packet]" >&2; exit 2 ;;
esac

tap=$IT_BUILD/tests/integration/replaytap
it_up --nodes 3 --transport "$R_TRANSPORT"
ns="$IT_PREFIX-h1"
l2=""
[ "$R_TRANSPORT" = udp ] || l2=--l2
leader=$(it_wait_leader 60) || it_fail "no leader in 60 s"
it_log "leader is node $leader"

# Counters summed over the nodes: "replayed too_old".
drops_sum() {
	local i r t sr=0 st=0
	for i in 1 2 3; do
		read -r r t < <(it_field "$i" '"\(.drops.replayed) \(.drops.too_old)"')
		[ -n "$r" ] && [ "$r" != null ] || it_fail "node $i: no drops.replayed in status"
		sr=$((sr + r))
		st=$((st + t))
	done
	echo "$sr $st"
}
# Datagrams the host namespace's kernel dropped (full socket buffers; the
# DPDK nodes hold no kernel socket: 0).
kernel_drops() {
	if [ -n "$l2" ]; then echo 0; return; fi
	ip netns exec "$ns" awk '/^Udp: [0-9]/ {print $4; exit}' /proc/net/snmp
}
# What must not move: "leader term elections commit applied digest" per node.
state_of() {
	local i
	for i in 1 2 3; do
		it_field "$i" '"\(.leader) \(.term) \(.counters.elections) \(.commit_index) \(.applied_index) \(.kv.digest)"'
	done
}
epoch=$(it_field 1 .boot_epoch)
[ -n "$epoch" ] && [ "$epoch" -gt 1700000000 ] || it_fail "node 1's boot_epoch is '$epoch', not from the clock"

# --- consensus frames -------------------------------------------------------
start_ms=$(it_now_ms)
# Where the consensus frames are caught and sent again: "IFACE TO_IP" per
# capture (udp: every node on `lo`; af_packet: node i's bridge port).
if [ -n "$l2" ]; then
	points=$(for i in 1 2 3; do echo "rn${i}b $IT_SUBNET.$i"; done)
else
	points="lo -"
fi
caps=()
while read -r ifc to; do
	ip netns exec "$ns" "$tap" capture --iface "$ifc" --kind consensus --seconds 4 --max 30000 \
		$l2 ${l2:+--to "$to"} --until "$IT_WORK/consensus.stop" --out "$IT_WORK/consensus-$ifc.cap" \
		--ready "$IT_WORK/consensus-$ifc.ready" >"$IT_WORK/capture-$ifc.out" &
	caps+=($!)
	for _ in $(seq 1 50); do [ -e "$IT_WORK/consensus-$ifc.ready" ] && break; sleep 0.1; done
	[ -e "$IT_WORK/consensus-$ifc.ready" ] || it_fail "replaytap capture on $ifc did not start"
done <<<"$points"
kd_capture=$(kernel_drops)
"$IT_BUILD/tests/integration/kvbulk" put --count 300 --via 1,2,3 --acked "$IT_WORK/acked" \
	>/dev/null || it_fail "kvbulk put under capture"
sleep 0.3 # the load's last commits and heartbeats in the capture too
touch "$IT_WORK/consensus.stop" # the captures end now, not after their 4 s
for c in "${caps[@]}"; do wait "$c" || it_fail "capture: $(cat "$IT_WORK"/capture-*.out)"; done
kd_capture=$(($(kernel_drops) - kd_capture))
it_log "$(cat "$IT_WORK"/capture-*.out | tr '\n' ';') (kernel dropped $kd_capture meanwhile)"
it_wait_converged 30 1 2 3 >/dev/null || it_fail "no convergence after the load"
before_state=$(state_of)
read -r rep0 old0 < <(drops_sum)
# No genuine frame was refused under the load: heartbeats, appends and
# their retransmissions are sealed with fresh msg_seqs.
[ "$rep0" -eq 0 ] && [ "$old0" -eq 0 ] ||
	it_fail "genuine frames refused before any replay: replayed $rep0, too_old $old0"
kd0=$(kernel_drops)
sent=0
while read -r ifc _; do
	out=$(ip netns exec "$ns" "$tap" replay $l2 ${l2:+--iface "$ifc"} \
		--in "$IT_WORK/consensus-$ifc.cap") || it_fail "replay: $out"
	it_log "$out"
	sent=$((sent + $(echo "$out" | awk '{print $2}')))
done <<<"$points"
sleep 1
read -r rep1 old1 < <(drops_sum)
kd=$(($(kernel_drops) - kd0))
counted=$((rep1 - rep0 + old1 - old0))
it_log "counted at the nodes: replayed $((rep1 - rep0)), too_old $((old1 - old0)); kernel dropped $kd"
# Every replayed frame is refused (counted) or never reached the node (the
# kernel counted it). A frame the kernel dropped during the capture never
# reached its node the first time: its replay may be its first delivery.
[ $((counted + kd)) -le "$sent" ] && [ $((counted + kd + kd_capture)) -ge "$sent" ] ||
	it_fail "$sent frames replayed, $counted counted as replays, $kd dropped by the kernel"
[ $((rep1 - rep0)) -gt 0 ] && [ $((old1 - old0)) -gt 0 ] ||
	it_fail "expected both verdicts (the capture's tail inside the window, its head below)"
after_state=$(state_of)
[ "$before_state" = "$after_state" ] ||
	it_fail "state moved under the replay: before
$before_state
after
$after_state"
it_log "state unchanged on every node: $(echo "$after_state" | head -1)"

# --- client writes ----------------------------------------------------------
# udp: the node's own interface rn<i>; af_packet: its bridge port.
ip netns exec "$ns" "$tap" capture --iface "rn$leader${l2:+b}" --kind client --seconds 3 --max 1 \
	$l2 ${l2:+--to "$IT_SUBNET.$leader"} \
	--out "$IT_WORK/client.cap" --ready "$IT_WORK/client.ready" >"$IT_WORK/ccap.out" &
cap=$!
for _ in $(seq 1 50); do [ -e "$IT_WORK/client.ready" ] && break; sleep 0.1; done
it_ctl --node "$leader" put replay-key first >/dev/null || it_fail "put first"
wait "$cap" || it_fail "client capture: $(cat "$IT_WORK/ccap.out")"
it_ctl --node "$leader" put replay-key second >/dev/null || it_fail "put second"
"$IT_BUILD/tests/integration/kvbulk" put --count 50 --via "$leader" --key-prefix later- \
	--acked "$IT_WORK/acked2" >/dev/null || it_fail "later writes"
it_wait_converged 30 1 2 3 >/dev/null || it_fail "no convergence after the later writes"
digest0=$(it_field "$leader" .kv.digest)
out=$("$tap" client-replay --writes $l2 --in "$IT_WORK/client.cap" --config "$IT_RUN/cluster.ini") ||
	it_fail "client replay: $out"
it_log "$(echo "$out" | tr '\n' ';')"
echo "$out" | grep -q '^reply [0-9]* [0-9]* 0$' || it_fail "the replayed write was not answered OK: $out"
value=$(it_ctl --node "$leader" get replay-key) || it_fail "get replay-key"
[ "$value" = second ] || it_fail "replay-key is '$value' after the replay, not 'second'"
line=$(it_wait_converged 30 1 2 3) || it_fail "no convergence after the client replay"
digest1=$(echo "$line" | awk '{print $3}')
[ "$digest1" = "$digest0" ] || it_fail "the digest moved: $digest0 -> $digest1"
it_log "replayed write answered from its session; replay-key = $value; digest $digest1 unchanged"

# --- still serving ------------------------------------------------------------
"$IT_BUILD/tests/integration/kvbulk" put --count 50 --via 1,2,3 --key-prefix after- \
	--acked "$IT_WORK/acked3" >/dev/null || it_fail "writes after the replays"
"$IT_BUILD/tests/integration/kvbulk" check --acked "$IT_WORK/acked" --node "$leader" >/dev/null ||
	it_fail "the load's writes do not read back"
it_pass "$R_TRANSPORT: $sent consensus frames replayed: $counted refused and counted, $kd dropped by the kernel, no state change; a replayed client write answered from its session; still serving ($(( $(it_now_ms) - start_ms )) ms)"
