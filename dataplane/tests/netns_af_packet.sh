#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Namespace test: a DPDK endpoint on net_af_packet (or net_af_xdp, 4th
# argument "af_xdp") over a veth in network namespace h2 - or on net_tap
# (4th argument "tap"), a tap device that a bridge in h2 joins to that
# veth, the endpoint sleeping on the tap queue's rx interrupt (--event) -
# is reached from the kernel stack in namespace h1:
#   1. `ping` gets answers (ARP + ICMP echo from dp_l2_answer);
#   2. 200 UDP datagrams from a kernel socket come back echoed, intact;
#   3. 1000 authenticated heartbeats sent through a kernel UDP socket each
#      get a verified, sealed answer, and 100 frames sealed with another
#      secret get none; the endpoint's counters must say accepted=1000 and
#      bad_tag=100.
#   4. tap: the endpoint slept on the rx interrupt (idle event, an fd, and
#      wake-ups by event), not on naps.
# Method: scripts/netns.sh builds a private topology (prefix rnt<pid>),
# removed on exit. Exit 77 with a reason when not root, without `ip netns`,
# or when DPDK cannot start here.
set -euo pipefail

endpoint=$1 probe=$2 netns=$3 pmd=${4:-af_packet}
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root for network namespaces"
	exit 77
fi
if ! ip netns list >/dev/null 2>&1; then
	echo "SKIP: ip netns is not available"
	exit 77
fi
p="rnt$(( $$ % 100000 ))"
log=$(mktemp /tmp/raftnode-netns.XXXXXX)
ep_pid=""
cleanup() {
	if [ -n "$ep_pid" ] && kill -0 "$ep_pid" 2>/dev/null; then
		kill "$ep_pid" 2>/dev/null || true
		wait "$ep_pid" 2>/dev/null || true
	fi
	bash "$netns" down --prefix "$p" --hosts 2 >/dev/null 2>&1 || true
	rm -f "$log"
	rm -rf "/var/run/dpdk/$p"
}
trap cleanup EXIT

bash "$netns" up --prefix "$p" --hosts 2 --subnet 10.77.0
# h2's kernel keeps no address: the DPDK endpoint answers for 10.77.0.2.
ip -n "$p-h2" addr flush dev eth0
iface=eth0 extra=()
if [ "$pmd" = tap ]; then
	# net_tap attaches to a tap made beforehand (its flags must match:
	# multi_queue) so that the bridge can hold it before DPDK starts.
	iface=dtap0 extra=(--event)
	ip -n "$p-h2" link add br1 type bridge stp_state 0 forward_delay 0
	ip -n "$p-h2" tuntap add dev dtap0 mode tap multi_queue
	ip -n "$p-h2" link set eth0 master br1
	ip -n "$p-h2" link set dtap0 master br1 up
	ip -n "$p-h2" link set br1 up
fi

ip netns exec "$p-h2" "$endpoint" --iface "$iface" --ip 10.77.0.2 --file-prefix "$p" \
	--seconds 90 --pmd "$pmd" ${extra[@]+"${extra[@]}"} >"$log" 2>&1 &
ep_pid=$!
for _ in $(seq 1 100); do
	if grep -q '^ready' "$log"; then break; fi
	if ! kill -0 "$ep_pid" 2>/dev/null; then break; fi
	sleep 0.2
done
if ! grep -q '^ready' "$log"; then
	rc=0
	wait "$ep_pid" || rc=$?
	ep_pid=""
	cat "$log"
	if [ "$rc" -eq 77 ]; then
		echo "SKIP: DPDK cannot run net_$pmd here (see above)"
		exit 77
	fi
	echo "FAIL: endpoint did not start (exit $rc)"
	exit 1
fi
cat "$log"
if [ "$pmd" = tap ]; then
	# net_tap gave the kernel's dtap0 the endpoint's own MAC: the bridge
	# would take frames to it as its own and never forward them out of
	# dtap0. The kernel side gets another address; DPDK keeps its own.
	ip -n "$p-h2" link set dtap0 address 02:00:00:00:7a:01
fi

echo "== 1. ping from the kernel in $p-h1"
ip netns exec "$p-h1" ping -c 5 -i 0.2 -W 2 10.77.0.2

echo "== 2. UDP echo with a kernel socket"
ip netns exec "$p-h1" python3 - <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
ok = 0
for i in range(200):
    data = os.urandom(1 + (i * 37) % 1400)
    for attempt in range(3):
        s.sendto(data, ("10.77.0.2", 7401))
        try:
            got, addr = s.recvfrom(2048)
        except socket.timeout:
            continue
        if got == data and addr == ("10.77.0.2", 7401):
            ok += 1
            break
        print("corrupted echo", file=sys.stderr)
        sys.exit(1)
print(f"udp echo: {ok}/200 datagrams came back intact")
sys.exit(0 if ok == 200 else 1)
PY

echo "== 3. authenticated frames through a kernel UDP socket"
ip netns exec "$p-h1" "$probe" -t 10.77.0.2 -n 1000 -f 100

kill "$ep_pid"
wait "$ep_pid"
ep_pid=""
cat "$log"
counters=$(grep '^counters' "$log")
case "$counters" in
*" accepted=1000 "*) ;;
*) echo "FAIL: endpoint accepted a number of frames other than 1000"; exit 1 ;;
esac
case "$counters" in
*" bad_tag=100"*) ;;
*) echo "FAIL: endpoint did not count exactly 100 forged frames as bad_tag"; exit 1 ;;
esac
if [ "$pmd" = tap ]; then
	echo "== 4. the endpoint slept on the tap queue's rx interrupt"
	grep -q '^idle: event, rx_intr_fd=[0-9]' "$log" ||
		{ echo "FAIL: the endpoint did not sleep on an rx interrupt fd"; exit 1; }
	woken=$(sed -n 's/^lcore .*wakeups_by_event=\([0-9]*\).*/\1/p' "$log")
	[ "${woken:-0}" -gt 0 ] || { echo "FAIL: no wake-up by the rx interrupt"; exit 1; }
fi
echo "PASS"
