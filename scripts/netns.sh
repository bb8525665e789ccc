#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Virtual-device mode helper: network namespaces stand in for hosts, joined
# by veth pairs to a bridge that lives in its own "switch" namespace (so the
# machine's own network is never touched). Idempotent: `up` twice leaves the
# same topology, `down` twice is harmless.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/netns.sh [--help] up|down|status [--prefix P] [--hosts N] [--subnet A.B.C]

  up      create namespace P-sw with bridge br0, and for each host i in 1..N
          namespace P-hi with interface eth0 (address A.B.C.i/24, up),
          its veth peer hi in P-sw attached to br0
  down    delete the namespaces P-sw and P-h1..P-hN (their veths go with them)
  status  list the namespaces and links of this topology

  --prefix P     namespace name prefix (default rn; keep it short: <= 8 chars)
  --hosts N      number of hosts (default 3, at most 64)
  --subnet A.B.C IPv4 /24 for the hosts (default 10.77.0)

Run a command on host i with: ip netns exec P-hi COMMAND. Needs root.
Traffic stays inside these namespaces: nothing is routed to the machine.
USAGE
}

cmd=""
prefix=rn
hosts=3
subnet=10.77.0
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	up | down | status) cmd=$1 ;;
	--prefix) shift; prefix=${1:?--prefix needs a value} ;;
	--hosts) shift; hosts=${1:?--hosts needs a value} ;;
	--subnet) shift; subnet=${1:?--subnet needs a value} ;;
	*) echo "netns.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ -z "$cmd" ]; then
	usage >&2
	exit 2
fi
if ! [[ "$hosts" =~ ^[0-9]+$ ]] || [ "$hosts" -lt 1 ] || [ "$hosts" -gt 64 ]; then
	echo "netns.sh: --hosts must be 1..64" >&2
	exit 2
fi
if [ ${#prefix} -gt 8 ]; then
	echo "netns.sh: --prefix must be at most 8 characters" >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "netns.sh: needs root (ip netns)" >&2
	exit 1
fi

sw="$prefix-sw"
ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

up() {
	echo "netns: topology $prefix: switch $sw, $hosts host(s) on $subnet.0/24"
	ns_exists "$sw" || ip netns add "$sw"
	ip -n "$sw" link set lo up
	ip -n "$sw" link show br0 >/dev/null 2>&1 || ip -n "$sw" link add br0 type bridge
	ip -n "$sw" link set br0 up
	for i in $(seq 1 "$hosts"); do
		local h="$prefix-h$i"
		ns_exists "$h" || ip netns add "$h"
		ip -n "$h" link set lo up
		if ! ip -n "$h" link show eth0 >/dev/null 2>&1; then
			# Create the pair in the switch, then move one end to the host.
			ip -n "$sw" link del "h$i" >/dev/null 2>&1 || true
			ip -n "$sw" link add "h$i" type veth peer name "tmp$i"
			ip -n "$sw" link set "tmp$i" netns "$h"
			ip -n "$h" link set "tmp$i" name eth0
		fi
		ip -n "$sw" link set "h$i" master br0
		ip -n "$sw" link set "h$i" up
		ip -n "$h" addr replace "$subnet.$i/24" dev eth0
		ip -n "$h" link set eth0 up
	done
}

down() {
	echo "netns: removing topology $prefix"
	for i in $(seq 1 "$hosts"); do
		if ns_exists "$prefix-h$i"; then ip netns del "$prefix-h$i"; fi
	done
	if ns_exists "$sw"; then ip netns del "$sw"; fi
}

status() {
	for ns in "$sw" $(seq -f "$prefix-h%g" 1 "$hosts"); do
		if ns_exists "$ns"; then
			echo "== $ns"
			ip -n "$ns" -br addr
		else
			echo "== $ns: absent"
		fi
	done
}

"$cmd"
