#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Virtual-device mode: brings a raftnode cluster up on this machine. Every
# "host" is a network namespace with a bridge; every node has its own veth
# into its host's bridge (DPDK net_af_packet owns it, or the kernel holds
# the node's address with --transport udp); the hosts' bridges are joined by
# one veth per neighbouring pair, which `partition --hosts` cuts. The root
# namespace gets one veth into each host, so raftctl reaches every node, on
# both sides of a cut. Writes the cluster's config, key files, data and logs
# under a run directory and starts the nodes. With --transport memif the
# nodes' ports are memif links to one switch process instead
# (scripts/cluster-memif.sh). Idempotent: `up` twice is the same cluster,
# `down` twice is harmless. `cluster.sh --help` for the rest.
# shellcheck disable=SC2015 # `test && test || usage_err` is meant: any failing test errs
set -euo pipefail
# CLUSTER_SH_TRACE=1: trace every command with a timestamp (to find slow steps).
[ -z "${CLUSTER_SH_TRACE:-}" ] || { PS4='+ $EPOCHREALTIME '; set -x; }

root=$(cd "$(dirname "$0")/.." && pwd)
cmd=""

say() { echo "cluster.sh: $*"; }
die() { echo "cluster.sh: $*" >&2; exit 1; }
usage_err() {
	echo "cluster.sh: ${cmd:+$cmd: }$*" >&2
	echo "cluster.sh: try 'scripts/cluster.sh --help'" >&2
	exit 2
}

usage() {
	cat <<'USAGE'
usage: scripts/cluster.sh COMMAND [options]      (needs root)

  up --nodes N [--hosts H] [--transport af_packet|tap|memif|udp]
     [--engine uring|pwrite] [--durability fsync|dsync|none]
     [--log-write direct|buffered] [--mtu-bytes M]
     [--idle event|adaptive|busy] [--busy-node ID]
     [--election-timeout-ms T] [--lcores float|spread|LIST]
     [--log-lcore] [--apply-lcore] [--rxtx-lcore]
     [--placement H1,H2,...] [--subnet A.B.C] [--prefix P]
     [--run-dir DIR] [--build DIR] [--daemon PATH] [--no-start]
        Builds the topology, writes DIR/cluster.ini, DIR/peer.key,
        DIR/client.key and DIR/admin.key (key files, mode 600: "ID HEX", 32
        random bytes; kept if present; admin.key seals raftctl reload), DIR/data/node<i>, DIR/logs/node<i>.log,
        DIR/pids/node<i>.pid, and starts every node
          ip netns exec P-h<h> <daemon> --config DIR/cluster.ini --id <i>
        then waits (<= 30 s) until each is alive and, if BUILD/client/raftctl
        exists, answers `raftctl --config DIR/cluster.ini --node i status`.
        Running `up` again with the same options changes nothing and starts
        only nodes that are not running; other options are refused (down
        first).
  down [--run-dir DIR] [--prefix P]
        SIGTERM every node (and the memif switch; SIGKILL after 5 s),
        deletes the namespaces, the root veths and routes, DPDK runtime
        dirs and the run dir (memif sockets included). With no run dir
        left, removes whatever topology --prefix names.
  status [--run-dir DIR]
        Per node: host, pid, alive, and role/term/leader from raftctl when
        it exists; the inter-host links, partitions and netem (memif: the
        switch's pid, ports, counters and rules).
  start ID | kill ID [--signal KILL|TERM]     (kill: default KILL; returns
        once the process has exited, a zombie not yet reaped included)
        A node whose run dir holds DIR/node<ID>.ini (written by hand or by a
        test, never by up) starts with that file instead of DIR/cluster.ini:
        its own settings, e.g. a cluster-wide one that differs (refused by
        its peers, README: configuration).
  partition --hosts
        cuts every inter-host link (link down on both ends).
  partition --node ID [--from ID2] [--one-way]
        drops IPv4 between node ID and every other node (or only ID2);
        --one-way drops only what ID sends. Clients in the root namespace
        still reach ID. Made with nftables in the hosts' namespaces (bridge
        forward hook for frames DPDK sends; ip input hook for kernel UDP);
        with memif, rules of the switch (by port pair; --hosts cuts every
        pair of ports on different hosts).
  heal  undoes every partition; leaves netem alone (netem ... --clear).
  netem ID|--hosts [--delay-ms D] [--jitter-ms J] [--loss-pct L]
        [--reorder-pct R] | --clear
        impairs traffic towards node ID (on its bridge port), or both ways on
        the inter-host links. Uses tc netem; on a kernel without sch_netem
        (CONFIG_NET_SCH_NETEM unset, as on the CI VM) loss alone is made with
        nftables and delay/jitter/reorder are refused. memif: loss only,
        dropped by the switch; delay/jitter/reorder are refused.
  logs ID [-f]
  rotate-keys [--keys peer|client|admin|both] [--stage 1|2|3]
              [--via sighup|raftctl]
        Rotates the key files live (default: both = peer and client, all
        three stages). Each stage rewrites the file, has every running node
        reload its key files and waits for each one's outcome: 1 adds a new
        key (the old still seals), 2 makes the new one seal (the old still
        accepted), 3 drops the old (refused from then on). No node seals
        with a key another does not accept yet. Clients read the client key
        at start: retire the old one (--keys client --stage 3) once they
        restarted. --via sighup (default): SIGHUP, then the node's log
        ("keys reloaded"); --via raftctl: `raftctl --node i reload` with
        DIR/admin.key, which answers each node's outcome itself (no log
        read; a refusal names the file and the keys kept).
  add ID [--host H] [--learner] [--no-start]
        A new node ID (1..99, not in the cluster) with an empty data dir:
        its veth rn<ID> into host H's bridge (default: the host with the
        fewest nodes, the lowest on a tie), its address and MAC by the
        scheme below, its route from root, its [member.ID] section (and
        [node.ID] if the transport needs one) appended to DIR/cluster.ini,
        the state file updated; then starts it with --join (it waits to be
        added, never starts a cluster of its own) and waits until it
        answers raftctl status. It is not yet in the cluster's
        configuration: add prints the command that puts it there,
          raftctl --config DIR/cluster.ini member add-learner ID ADDR
        or, with --learner, runs it (and waits for the change to commit).
        --no-start: the plumbing and config only (`start ID` later).
        Refused with memif (the switch's ports are fixed at its start).
  remove ID [--force] [--keep-data]
        Stops node ID (SIGTERM, SIGKILL after 5 s), deletes its veth (or
        tap), its route and DPDK runtime files, its data dir DIR/data/node<ID>
        (--keep-data keeps it), its [member.ID]/[node.ID] sections when add
        made them, and drops it from the state file; its log stays. Refused
        while the node is in the cluster's configuration (`raftctl member
        list`, asked of another running node, lists it or has a change
        pending): `raftctl member remove ID` first; --force removes it
        anyway (and when no node answers).

--mtu-bytes M: the DPDK ports' MTU (576..9000). Default: the largest each
device carries end to end on this kernel (measured; dataplane/port_mtu.c
says why): af_packet and memif 9000 (frames of 9014 B: af_packet with
framesz=9216,blocksz=36864,framecnt=2048 on the veth's MTU 9000; memif
with bsize=9216, one buffer per frame, on the nodes and the switch, whose
kernel port is an af_packet of the same shape), tap 1500 (DPDK 22.11's net_tap stops at
1522-byte frames). 1500 on af_packet and memif writes the 1500-byte setup
of before (framecnt=4096, no mtu_bytes). Not with udp (the kernel's MTU
9000). cluster.ini gets mtu_bytes, which raftctl and raftbench read as
their frame size (the client's frame_bytes_max).

--busy-node ID: that node alone polls (idle = busy) on its one lcore,
pinned to the last CPU, as a bare-metal node on a dedicated core would
(not with stages apart).

Defaults: --hosts 1, --transport af_packet, --engine uring, --durability
dsync, --log-write direct (the node's defaults: one O_DIRECT RWF_DSYNC write
per group, scripts/bench-storage.sh), --idle event (each lcore sleeps in the
kernel on its inputs; an lcore with a DPDK port sleeps on its rx interrupt
with tap, and naps instead with af_packet and memif: their drivers have
none), --prefix rn (namespaces rn-h1..), --subnet 10.77.0, --run-dir
$RAFTNODE_RUN_DIR or /run/raftnode, --build <repo>/build, --daemon
BUILD/node/raftnode. --election-timeout-ms: 300, or 500 when there are more
nodes than CPUs (seven nodes sharing two cores under the adaptive idle
policy see scheduling stalls of tens of ms); heartbeat = timeout / 6.

Placement: node i runs on host placement[i]. By default the first 2*H nodes
go two per host in order, the rest round-robin from host 1 (N < 2*H: plain
round-robin). --nodes 7 --hosts 2 puts 1,2,5,7 on host 1 and 3,4,6 on host
2. --placement 1,1,2,... gives it explicitly (one host per node).

Addresses: node i is A.B.C.i (udp port 9000) with MAC 02:00:00:00:00:<i hex>
on veth rn<i> in its host namespace (its bridge port is rn<i>b). The root
namespace has veth P-r<h> (A.B.C.<200+h>/32) into host h's bridge and a /32
route to each node via its host; it does not forward between hosts.
Transports: af_packet = DPDK net_af_packet on rn<i>, no kernel address;
tap = DPDK net_tap on rn<i>, a (multi_queue, persistent) tap device that is
itself node i's bridge port; its kernel side has MAC 02:00:00:00:01:<i hex>
(net_tap gives it the node's own at every start, which would make the
bridge keep node i's frames for itself: `up` and `start` set it back);
udp = kernel sockets, rn<i> holds A.B.C.i/24; memif = DPDK net_memif, node
i a client of socket DIR/memif/node<i>.sock, whose server is one switch
process per cluster (BUILD/dataplane/tools/rn_memif_switch, namespace P-sw,
DIR/pids/switch.pid, DIR/logs/switch.log): an L2 learning switch with one
memif port per node and a net_af_packet port on veth k0, whose root end
P-r0 (A.B.C.200/32, MTU of --mtu-bytes) carries the /32 routes to the nodes. The
host namespaces then hold only the node processes; hosts are labels the
switch's partition rules use. A memif client does not reconnect, so a
switch that `up` restarts also restarts the running nodes.
--lcores: float (default) writes `lcores = 0@(0-<cpus-1>)` (EAL --lcores
syntax: lcore 0 floats over every CPU), spread gives node i CPU (i-1) mod
cpus, LIST is written as is. --log-lcore gives each node's log stage an lcore
of its own (lcore 1), --apply-lcore its apply stage (the next lcore), and
--rxtx-lcore its rx/tx stage (the port: receive, authenticate, send; the
next lcore); control stays on lcore 0. float floats every lcore over every CPU
(`0@(0-<cpus-1>),1@(0-<cpus-1>),...`), spread pins them on the next CPUs.
Limits: 1..16 nodes, 1..9 hosts; ids 1..99 (add). up, down, status, start,
kill, partition and logs take the added nodes as any other; `up` again
keeps the set add and remove left (and starts added nodes with --join).
USAGE
}

# ---- options -----------------------------------------------------------------

run_dir=${RAFTNODE_RUN_DIR:-/run/raftnode}
prefix=rn
prefix_set=0
nodes=""
hosts=1
transport=af_packet
engine=uring
durability=dsync
log_write=direct
idle=event
busy_node=""
election_ms=""
mtu=""
lcores_opt=float
log_lcore=0
apply_lcore=0
rxtx_lcore=0
placement_opt=""
subnet=10.77.0
build=""
daemon=""
no_start=0
node_arg=""
signal=KILL
part_hosts=0
part_from=""
one_way=0
follow=0
netem_clear=0
delay_ms="" jitter_ms="" loss_pct="" reorder_pct=""
add_host=""
add_learner=0
keep_data=0
force=0
rotate_which=both
rotate_stage=""
rotate_via=sighup

need_val() { [ $# -ge 2 ] && [ -n "$2" ] && [[ "$2" != --* ]] || usage_err "$1 needs a value"; }
is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

parse_args() {
	[ $# -gt 0 ] || { usage >&2; exit 2; }
	case "$1" in
	-h | --help | help) usage; exit 0 ;;
	up | down | status | start | kill | partition | heal | netem | logs | add | remove) cmd=$1 ;;
	rotate-keys) cmd=$1 ;;
	*) cmd=""; usage_err "unknown command '$1'" ;;
	esac
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		-h | --help) usage; exit 0 ;;
		--nodes) need_val "$@"; nodes=$2; shift ;;
		--hosts)
			if [ "$cmd" = partition ] || [ "$cmd" = netem ]; then part_hosts=1
			else need_val "$@"; hosts=$2; shift; fi ;;
		--transport) need_val "$@"; transport=$2; shift ;;
		--engine) need_val "$@"; engine=$2; shift ;;
		--durability) need_val "$@"; durability=$2; shift ;;
		--log-write) need_val "$@"; log_write=$2; shift ;;
		--idle) need_val "$@"; idle=$2; shift ;;
		--busy-node) need_val "$@"; busy_node=$2; shift ;;
		--election-timeout-ms) need_val "$@"; election_ms=$2; shift ;;
		--mtu-bytes) need_val "$@"; mtu=$2; shift ;;
		--lcores) need_val "$@"; lcores_opt=$2; shift ;;
		--log-lcore) log_lcore=1 ;;
		--apply-lcore) apply_lcore=1 ;;
		--rxtx-lcore) rxtx_lcore=1 ;;
		--placement) need_val "$@"; placement_opt=$2; shift ;;
		--subnet) need_val "$@"; subnet=$2; shift ;;
		--prefix) need_val "$@"; prefix=$2; prefix_set=1; shift ;;
		--run-dir) need_val "$@"; run_dir=$2; shift ;;
		--build) need_val "$@"; build=$2; shift ;;
		--daemon) need_val "$@"; daemon=$2; shift ;;
		--no-start) no_start=1 ;;
		--host) need_val "$@"; add_host=$2; shift ;;
		--learner) add_learner=1 ;;
		--keep-data) keep_data=1 ;;
		--force) force=1 ;;
		--signal) need_val "$@"; signal=$2; shift ;;
		--node) need_val "$@"; node_arg=$2; shift ;;
		--from) need_val "$@"; part_from=$2; shift ;;
		--one-way) one_way=1 ;;
		-f | --follow) follow=1 ;;
		--clear) netem_clear=1 ;;
		--delay-ms) need_val "$@"; delay_ms=$2; shift ;;
		--jitter-ms) need_val "$@"; jitter_ms=$2; shift ;;
		--loss-pct) need_val "$@"; loss_pct=$2; shift ;;
		--reorder-pct) need_val "$@"; reorder_pct=$2; shift ;;
		--keys) need_val "$@"; rotate_which=$2; shift ;;
		--stage) need_val "$@"; rotate_stage=$2; shift ;;
		--via) need_val "$@"; rotate_via=$2; shift ;;
		-*) usage_err "unknown option '$1'" ;;
		*)
			[ -z "$node_arg" ] || usage_err "unexpected argument '$1'"
			node_arg=$1 ;;
		esac
		shift
	done
	run_dir=$(realpath -m -- "$run_dir")
}

check_up_args() {
	[ -n "$nodes" ] || usage_err "--nodes N is required"
	is_uint "$nodes" && [ "$nodes" -ge 1 ] && [ "$nodes" -le 16 ] ||
		usage_err "--nodes must be 1..16 (RAFT_NODES_MAX), not '$nodes'"
	is_uint "$hosts" && [ "$hosts" -ge 1 ] && [ "$hosts" -le 9 ] ||
		usage_err "--hosts must be 1..9, not '$hosts'"
	[ "$hosts" -le "$nodes" ] || usage_err "--hosts $hosts is more than --nodes $nodes"
	case "$transport" in
	af_packet | tap | udp | memif) ;;
	*) usage_err "--transport must be af_packet, tap, memif or udp, not '$transport'" ;;
	esac
	case "$engine" in uring | pwrite) ;; *) usage_err "--engine must be uring or pwrite, not '$engine'" ;; esac
	case "$durability" in fsync | dsync | none) ;; *) usage_err "--durability must be fsync, dsync or none, not '$durability'" ;; esac
	case "$log_write" in direct | buffered) ;; *) usage_err "--log-write must be direct or buffered, not '$log_write'" ;; esac
	case "$idle" in event | adaptive | busy) ;; *) usage_err "--idle must be event, adaptive or busy, not '$idle'" ;; esac
	if [ -n "$busy_node" ]; then
		is_uint "$busy_node" && [ "$busy_node" -ge 1 ] && [ "$busy_node" -le "$nodes" ] ||
			usage_err "--busy-node must be a node id 1..$nodes, not '$busy_node'"
		[ "$log_lcore$apply_lcore$rxtx_lcore" = 000 ] && [ "$lcores_opt" = float ] ||
			usage_err "--busy-node runs one node on one pinned lcore: not with stages apart or --lcores"
	fi
	if [ -n "$election_ms" ]; then
		is_uint "$election_ms" && [ "$election_ms" -ge 20 ] && [ "$election_ms" -le 600000 ] ||
			usage_err "--election-timeout-ms must be 20..600000, not '$election_ms'"
	fi
	if [ -n "$mtu" ]; then
		[ "$transport" != udp ] || usage_err "--mtu-bytes is for the DPDK transports (udp: the veths' kernel MTU, 9000)"
		is_uint "$mtu" && [ "$mtu" -ge 576 ] && [ "$mtu" -le 9000 ] ||
			usage_err "--mtu-bytes must be 576..9000, not '$mtu'"
		[ "$transport" != tap ] || [ "$mtu" -le 1500 ] ||
			usage_err "--mtu-bytes: net_tap in DPDK 22.11 carries frames of at most 1522 bytes (MTU 1500)"
	fi
	[[ "$subnet" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || usage_err "--subnet must look like 10.77.0, not '$subnet'"
	case "$lcores_opt" in float | spread) ;; *[!0-9@\(\),-]* | "") usage_err "--lcores must be float, spread or an EAL lcore list, not '$lcores_opt'" ;; esac
}

check_prefix() {
	[[ "$prefix" =~ ^[a-z][a-z0-9]{0,7}$ ]] ||
		usage_err "--prefix must be 1-8 lowercase letters/digits starting with a letter, not '$prefix'"
}

check_node_id() { # value, what: one of the cluster's nodes (added ones too)
	is_uint "$1" && [ -n "${H[$1]:-}" ] ||
		usage_err "$2 must be a node id of this cluster (${IDS[*]}), not '${1:-<none>}'"
}

# ---- state -------------------------------------------------------------------

state_file() { echo "$run_dir/cluster.env"; }

# Every setting the other commands need, so `down`, `status`, `start` ...
# take only --run-dir.
save_state() {
	mkdir -p "$run_dir"
	cat >"$(state_file).tmp" <<EOF
# written by scripts/cluster.sh up; read by its other commands
prefix=$prefix
nodes=$nodes
hosts=$hosts
transport=$transport
engine=$engine
durability=$durability
log_write=$log_write
idle=$idle
busy_node=$busy_node
election_ms=$election_ms
mtu=$mtu
lcores_opt=$lcores_opt
log_lcore=$log_lcore
apply_lcore=$apply_lcore
rxtx_lcore=$rxtx_lcore
placement=${placement[*]}
members=$members
added=$added
subnet=$subnet
build=$build
daemon=$daemon
EOF
	mv "$(state_file).tmp" "$(state_file)"
}

load_state() {
	local f key val
	f=$(state_file)
	[ -f "$f" ] || die "no cluster in $run_dir (no cluster.env): run 'cluster.sh up' first, or pass --run-dir"
	while IFS='=' read -r key val; do
		case "$key" in
		prefix | nodes | hosts | transport | engine | durability | log_write | idle | busy_node | election_ms | mtu | lcores_opt | log_lcore | apply_lcore | rxtx_lcore | subnet | build | daemon | members | added)
			printf -v "$key" '%s' "$val" ;;
		placement) read -r -a placement <<<"$val" ;;
		esac
	done <"$f"
	index_nodes
}

# ---- placement, names, addresses -----------------------------------------------

placement=()
compute_placement() {
	local i h
	placement=()
	if [ -n "$placement_opt" ]; then
		IFS=',' read -r -a placement <<<"$placement_opt"
		[ ${#placement[@]} -eq "$nodes" ] ||
			usage_err "--placement names ${#placement[@]} hosts, need one per node ($nodes)"
		for h in "${placement[@]}"; do
			is_uint "$h" && [ "$h" -ge 1 ] && [ "$h" -le "$hosts" ] ||
				usage_err "--placement: '$h' is not a host 1..$hosts"
		done
		return
	fi
	for ((i = 1; i <= nodes; i++)); do
		if [ "$nodes" -ge $((2 * hosts)) ] && [ "$i" -le $((2 * hosts)) ]; then
			h=$(((i - 1) / 2 + 1))
		elif [ "$nodes" -ge $((2 * hosts)) ]; then
			h=$(((i - 2 * hosts - 1) % hosts + 1))
		else
			h=$(((i - 1) % hosts + 1))
		fi
		placement+=("$h")
	done
}

# Names and addresses, computed once (a $(...) is a fork, and forks are slow
# on a loaded 2-core VM): IDS the cluster's node ids in order, H[i] node i's
# host, MAC[i] its MAC. `up` makes nodes 1..N on the hosts of its placement;
# `add` and `remove` (cluster-member.sh) change the set: the state file's
# `members` lists id:host for every node there now (empty: 1..N as placed),
# `added` the ids `add` made (they start with --join). Host h is
# namespace $prefix-h$h; node i is $subnet.i; root reaches host h through
# veth $prefix-r$h at $subnet.(200+h); hosts h and h+1 are joined by the
# veth $prefix-x$h$((h+1)) (the same name at both ends).
H=()
MAC=()
IDS=()
members=""
added=""
index_nodes() {
	local i m
	if [ -z "$members" ]; then
		for ((i = 1; i <= nodes; i++)); do members+="${members:+ }$i:${placement[i - 1]}"; done
	fi
	H=() MAC=() IDS=()
	for m in $members; do
		i=${m%%:*}
		H[i]=${m#*:}
		IDS+=("$i")
		printf -v "MAC[$i]" '02:00:00:00:00:%02x' "$i"
	done
}
is_added() { [[ " $added " == *" $1 "* ]]; } # id: made by `add` (a joiner)
file_prefix_of() { echo "$prefix-n$1"; }
ncpus() { nproc 2>/dev/null || echo 1; }

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$1"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
link_exists() { # ns|"" name
	if [ -n "$1" ]; then ip -n "$1" link show dev "$2" >/dev/null 2>&1
	else ip link show dev "$2" >/dev/null 2>&1; fi
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, veths, routes)"
	ip netns list >/dev/null 2>&1 || die "'ip netns' does not work here (iproute2 with netns support needed)"
}

# ---- topology ------------------------------------------------------------------

# One `ip -batch` per namespace: an ip call costs 50-100 ms on the shared CI
# VM, so one call per setting would make `up` take ~10 s.
links_of() { # ns|"": names of its links, one a line
	if [ -n "$1" ]; then ip -n "$1" -o link show 2>/dev/null
	else ip -o link show 2>/dev/null; fi | awk -F': ' '{print $2}' | sed 's/@.*//'
}
has_link() { [[ $'\n'"$1"$'\n' == *$'\n'"$2"$'\n'* ]]; } # list name (no fork)

host_sysctls() { # ns
	# No IPv6 (its ND/MLD chatter would reach the DPDK ports); no reverse-path
	# filter and no ARP flux (--transport udp puts every node's address on
	# the same /24 in one namespace: only rn<i> may answer for node i).
	in_ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
}

# Creates what is missing in host h: bridge, node veths, the link to h+1.
host_create_batch() { # h
	local h=$1 ns have i l
	ns=$prefix-h$h
	have=$(links_of "$ns")
	has_link "$have" br0 ||
		echo "link add br0 address $(printf '02:00:00:00:02:%02x' "$h") type bridge stp_state 0 forward_delay 0 mcast_snooping 0"
	# rn<i> gets ifindex 4096 i + 96. DPDK 22.11's net_af_packet names its
	# PACKET_FANOUT group (pid ^ ifindex) & 0xffff, and fanout groups are per
	# namespace: two nodes of one host whose pid ^ ifindex agree (pids a few
	# apart, ifindexes 3, 5, 7 ...) collide and the second fails its start
	# with "could not set PACKET_FANOUT ... Invalid argument". With
	# ifindexes that differ in bits 12-15, their pids would have to be
	# thousands apart with the same low 12 bits.
	for i in "${IDS[@]}"; do
		[ "${H[$i]}" = "$h" ] || continue
		has_link "$have" "rn$i" || node_create_line "$i"
	done
	if [ "$h" -lt "$hosts" ]; then
		l=$prefix-x$h$((h + 1))
		has_link "$have" "$l" || echo "link add $l type veth peer name $l netns $prefix-h$((h + 1))"
	fi
}

# Node i's port (an `ip -batch` line): its veth, or with tap its tap device.
node_create_line() { # id
	local i=$1
	if [ "$transport" = tap ]; then
		# net_tap attaches to it (flags must match: multi_queue).
		echo "tuntap add dev rn$i mode tap multi_queue"
	else
		echo "link add rn$i index $((4096 * i + 96)) address ${MAC[$i]} type veth peer name rn${i}b"
	fi
}

# Node i's port into its host's bridge: MTU, MAC, address, state.
node_config_lines() { # id
	local i=$1
	if [ "$transport" = tap ]; then
		echo "link set rn$i address $(tap_kernel_mac "$i") mtu 9000 master br0"
		echo "addr flush dev rn$i" # DPDK owns the address
		echo "link set rn$i up"
		return 0
	fi
	echo "link set rn$i address ${MAC[$i]} mtu 9000"
	echo "link set rn${i}b mtu 9000 master br0 up"
	if [ "$transport" = udp ]; then
		echo "addr replace $subnet.$i/24 dev rn$i"
	else
		echo "addr flush dev rn$i" # DPDK owns the address
	fi
	echo "link set rn$i up"
}

# Sets MTU, MAC, bridge ports, addresses and states in host h.
host_config_batch() { # h
	local h=$1 i l
	echo "link set lo up"
	echo "link set br0 mtu 9000 up"
	for i in "${IDS[@]}"; do
		[ "${H[$i]}" = "$h" ] || continue
		node_config_lines "$i"
	done
	echo "link set r0 mtu 9000 master br0 up"
	local ls=()
	((h == 1)) || ls+=("$prefix-x$((h - 1))$h")
	((h == hosts)) || ls+=("$prefix-x$h$((h + 1))")
	for l in ${ls[@]+"${ls[@]}"}; do
		echo "link set $l mtu 9000 master br0"
		[ -e "$run_dir/partitioned-hosts" ] || echo "link set $l up"
	done
}

# Root namespace: one veth into each host's bridge, an address per host and
# a /32 route to each node via its host, so clients in root reach every
# node whatever state the inter-host links are in.
root_batch() {
	local h i have rl
	have=$(links_of "")
	for ((h = 1; h <= hosts; h++)); do
		rl=$prefix-r$h
		has_link "$have" "$rl" || echo "link add $rl type veth peer name r0 netns $prefix-h$h"
		echo "link set $rl mtu 9000 up"
		echo "addr replace $subnet.$((200 + h))/32 dev $rl"
	done
	for i in "${IDS[@]}"; do root_route_line "$i"; done
}
root_route_line() { echo "route replace $subnet.$1/32 dev $prefix-r${H[$1]} src $subnet.$((200 + H[$1]))"; }

root_check_routes() {
	local i have
	for i in "${IDS[@]}"; do root_check_route "$i"; done
}
root_check_route() { # id
	local have
	have=$(ip -4 route show exact "$subnet.$1/32" 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -1)
	if [ -n "$have" ] && [[ "$have" != "$prefix"-r[0-9]* ]]; then
		die "route to $subnet.$1 already goes via $have (another cluster on subnet $subnet? use --subnet)"
	fi
}

# Packets that come in from a host are never forwarded to another one, so
# a partition cannot be bypassed through root: forwarding=0 on each root
# veth, and since a later write to net.ipv4.ip_forward (dockerd does one)
# resets that, also an nftables table dropping anything forwarded from or
# to them. Arguments: the root veths (all of them).
root_guard() {
	local rl keys=()
	for rl in "$@"; do
		keys+=("net.ipv6.conf.$rl.disable_ipv6=1" "net.ipv4.conf.$rl.forwarding=0"
			"net.ipv4.conf.$rl.arp_ignore=1" "net.ipv4.conf.$rl.rp_filter=0")
	done
	sysctl -qw "${keys[@]}"
	command -v nft >/dev/null || return 0
	nft -f - <<EOT
table inet ${prefix}_guard
delete table inet ${prefix}_guard
table inet ${prefix}_guard {
	chain guard_fwd {
		type filter hook forward priority -10; policy accept;
		iifname "$prefix-r*" drop
		oifname "$prefix-r*" drop
	}
}
EOT
}

run_batch() { # ns|"" (commands on stdin)
	local f
	f=$(mktemp /tmp/cluster-batch.XXXXXX)
	cat >"$f"
	if [ -s "$f" ]; then
		if [ -n "$1" ]; then ip -n "$1" -batch "$f" || { rm -f "$f"; die "ip -n $1 -batch failed (see above)"; }
		else ip -batch "$f" || { rm -f "$f"; die "ip -batch failed (see above)"; }; fi
	fi
	rm -f "$f"
}

topology_up() {
	local h ns rl
	say "topology $prefix: $hosts host(s) $prefix-h1..$prefix-h$hosts, $nodes node(s) on $subnet.0/24, transport $transport"
	root_check_routes
	for ((h = 1; h <= hosts; h++)); do
		ns=$prefix-h$h
		ns_exists "$ns" || ip netns add "$ns"
		host_sysctls "$ns"
	done
	for ((h = 1; h <= hosts; h++)); do
		# A root veth whose host end is gone (half-made before) is remade.
		rl=$prefix-r$h
		if link_exists "" "$rl" && ! link_exists "$prefix-h$h" r0; then ip link del "$rl"; fi
	done
	for ((h = 1; h <= hosts; h++)); do host_create_batch "$h" | run_batch "$prefix-h$h"; done
	root_batch | run_batch ""
	for ((h = 1; h <= hosts; h++)); do host_config_batch "$h" | run_batch "$prefix-h$h"; done
	local rls=()
	for ((h = 1; h <= hosts; h++)); do rls+=("$prefix-r$h"); done
	root_guard "${rls[@]}"
}

# ---- configuration -----------------------------------------------------------

cluster_id() { echo $(($(printf '%s' "$prefix" | cksum | cut -d' ' -f1) % 2000000000 + 1)); }

# The lcore layout every node's [node] (or with spread, [node.<i>]) gets:
# sets LC (the lcores list; empty with spread), LC_MAP and LC_EXTRA (the
# stages apart, beside control on lcore 0).
lcore_plan() {
	local k cpus
	cpus=$(ncpus)
	case "$lcores_opt" in
	float) LC="0@(0-$((cpus - 1)))" ;;
	spread) LC="" ;;
	*) LC=$lcores_opt ;;
	esac
	# Stages apart: control on lcore 0, then the log, apply and rx/tx
	# stages asked for on lcores 1, 2, 3 in that order.
	LC_EXTRA=0
	local at_log=0 at_apply=0 at_rxtx=0
	if [ "$log_lcore" = 1 ]; then LC_EXTRA=$((LC_EXTRA + 1)); at_log=$LC_EXTRA; fi
	if [ "$apply_lcore" = 1 ]; then LC_EXTRA=$((LC_EXTRA + 1)); at_apply=$LC_EXTRA; fi
	if [ "$rxtx_lcore" = 1 ]; then LC_EXTRA=$((LC_EXTRA + 1)); at_rxtx=$LC_EXTRA; fi
	LC_MAP="rxtx:$at_rxtx,log:$at_log,control:0,apply:$at_apply"
	if [ "$lcores_opt" = float ]; then
		for ((k = 1; k <= LC_EXTRA; k++)); do LC+=",$k@(0-$((cpus - 1)))"; done
	fi
}

member_section() { # id: node id's [member.<id>] (its address, host)
	local mac h
	# An initial member `remove` took out keeps its section: its address
	# is the scheme's, its host the one `up` placed it on.
	printf -v mac '02:00:00:00:00:%02x' "$1"
	h=${H[$1]:-${placement[$1 - 1]}}
	echo
	echo "[member.$1]"
	echo "ip = $subnet.$1"
	echo "mac = $mac"
	echo "host = $h"
	echo "udp_port = 9000"
}

# Node id's own [node.<id>] keys, if it has any: its lcores with spread,
# the busy node's pinning, its DPDK port with memif and tap. Needs
# lcore_plan's LC_EXTRA and LC_MAP.
node_sections() { # id
	local i=$1 cpus lc k l
	cpus=$(ncpus)
	if [ "$lcores_opt" = spread ]; then
		lc=$(((i - 1) % cpus))
		echo
		echo "[node.$i]"
		# The busy node's lcores come below (a key given twice in a
		# section is an error: it would silently take the last).
		if [ "$LC_EXTRA" -gt 0 ]; then
			l="0@$lc"
			for ((k = 1; k <= LC_EXTRA; k++)); do l+=",$k@$(((i - 1 + k) % cpus))"; done
			[ "$i" = "$busy_node" ] || echo "lcores = $l"
			echo "lcore_map = $LC_MAP"
		else
			[ "$i" = "$busy_node" ] || echo "lcores = $lc"
			echo "lcore_map = rxtx:$lc,log:$lc,control:$lc,apply:$lc"
		fi
	fi
	if [ "$i" = "$busy_node" ]; then
		echo
		echo "[node.$busy_node]               ; polls on a pinned lcore (--busy-node)"
		echo "lcores = 0@$((cpus - 1))"
		echo "idle = busy"
	fi
	# memif, tap: a section of its own per node (with spread, a node's keys
	# come in two [node.<i>] sections; the parser takes both).
	if [ "$transport" = memif ] || [ "$transport" = tap ]; then
		echo
		echo "[node.$i]"
		if [ "$transport" = tap ]; then
			echo "dpdk_port = net_tap0,iface=rn$i,persist,mac=${MAC[$i]}"
		else
			echo "dpdk_port = $(memif_vdev "$i")"
		fi
	fi
	# The Prometheus endpoint of each node (raftctl --node i metrics): on
	# its own address with the kernel's UDP (reachable as the client port
	# is), else on 127.0.0.1 in its host's namespace.
	echo
	echo "[node.$i]"
	if [ "$transport" = udp ]; then
		echo "metrics_addr = $subnet.$i:9100"
	else
		echo "metrics_addr = 127.0.0.1:$((9100 + i))"
	fi
}

# The DPDK ports' MTU: --mtu-bytes, else the largest the transport carries.
port_mtu() {
	if [ -n "$mtu" ]; then echo "$mtu"
	elif [ "$transport" = af_packet ] || [ "$transport" = memif ]; then echo 9000
	else echo 1500; fi
}

write_config() {
	local i et hb f
	et=${election_ms:-300}
	if [ -z "$election_ms" ] && [ "$nodes" -gt "$(ncpus)" ]; then et=500; fi
	hb=$((et / 6 / 10 * 10))
	[ "$hb" -ge 10 ] || hb=10
	lcore_plan
	f="$run_dir/cluster.ini"
	{
		echo "; SPDX-License-Identifier: MIT"
		echo "; written by scripts/cluster.sh up (prefix $prefix, $nodes nodes on $hosts hosts,"
		echo "; transport $transport); rewritten by the next up. Format: config/example.ini."
		echo
		echo "[cluster]"
		echo "id = $(cluster_id)"
		echo "peer_key_file = $run_dir/peer.key     ; nodes only: consensus frames"
		echo "client_key_file = $run_dir/client.key ; clients and nodes: requests, replies"
		echo "admin_key_file = $run_dir/admin.key   ; raftctl reload (admin requests)"
		echo "election_timeout_ms = $et"
		echo "heartbeat_interval_ms = $hb"
		echo "tick_ms = 10"
		# The first configuration: nodes 1..N. Without the key every
		# [member.N] is initial, so it is written once `add` made a node
		# (whose section only says where it is: the configuration in
		# force lives in the log and the snapshots).
		[ -z "$added" ] || echo "initial_members = $(seq -s, 1 "$nodes")"
		# The initial members (removed ones too: the file keeps them),
		# then the nodes `add` made.
		for ((i = 1; i <= nodes; i++)); do member_section "$i"; done
		for i in $added; do [ "$i" -le "$nodes" ] || member_section "$i"; done
		echo
		echo "[node]"
		echo "data_dir = $run_dir/data/node%i"
		if [ "$transport" = udp ]; then
			echo "transport = udp"
		elif [ "$transport" = memif ]; then
			echo "transport = dpdk"
			echo "; dpdk_port: in [node.<i>] (the memif client of switch port i, node i's MAC)"
		elif [ "$transport" = tap ]; then
			echo "transport = dpdk"
			echo "; dpdk_port: in [node.<i>] (net_tap on rn<i>, node i's MAC)"
		else
			echo "transport = dpdk"
			if [ "$(port_mtu)" -gt 1500 ]; then
				# The ring's frames hold MTU + 80 bytes; 4 to a block with no
				# gap (the driver addresses frame i at i x framesz: port_mtu.c).
				echo "dpdk_port = net_af_packet0,iface=rn%i,framesz=9216,blocksz=36864,framecnt=2048"
			else
				echo "dpdk_port = net_af_packet0,iface=rn%i,framecnt=4096"
			fi
		fi
		if [ "$transport" != udp ] && [ "$(port_mtu)" -gt 1500 ]; then
			echo "mtu_bytes = $(port_mtu)             ; frames of MTU + 14 bytes (raftctl, raftbench too)"
		elif [ -n "$mtu" ] && [ "$mtu" -lt 1500 ]; then
			echo "mtu_bytes = $mtu"
		fi
		echo "file_prefix = $prefix-n%i        ; EAL --file-prefix (down removes /var/run/dpdk/$prefix-n<i>)"
		if [ -n "$LC" ]; then
			echo "lcores = $LC"
			echo "lcore_map = $LC_MAP"
		fi
		echo "idle = $idle"
		echo "durability = $durability"
		echo "log_write = $log_write"
		echo "io_engine = $engine"
		for i in "${IDS[@]}"; do node_sections "$i"; done
	} >"$f.tmp"
	mv "$f.tmp" "$f"
}

write_files() {
	local i
	mkdir -p "$run_dir/data" "$run_dir/logs" "$run_dir/pids"
	touch "$run_dir/.raftnode-cluster" # marks a directory `down` may remove
	keys_init
	for i in "${IDS[@]}"; do mkdir -p "$run_dir/data/node$i"; done
	write_config
}

# ---- processes -----------------------------------------------------------------

pid_file() { echo "$run_dir/pids/node$1.pid"; }
log_file() { echo "$run_dir/logs/node$1.log"; }
raftctl_bin() { echo "$build/client/raftctl"; }

node_pid() { pidfile_pid "$(pid_file "$1")"; } # the pid if node $1 runs

pidfile_pid() { # prints the pid in file $1 if that process runs, else nothing
	local f=$1 pid
	[ -s "$f" ] || return 0
	pid=$(cat "$f")
	is_uint "$pid" && [ -r "/proc/$pid/stat" ] || return 0
	# A killed node may stay a zombie until its reaper gets to it: not alive.
	local stat
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	[ "${stat%% *}" = Z ] || echo "$pid"
}

# spawn_in_ns NS PIDFILE LOG CMD...: starts CMD in namespace NS, in the
# background, output appended to LOG. The inner shell writes its own pid and
# then execs CMD, so PIDFILE names CMD itself; setsid puts it in a session
# of its own so it outlives this script and a terminal hang-up.
spawn_in_ns() {
	local ns=$1 pidf=$2 log=$3
	shift 3
	rm -f "$pidf"
	# The inner shell closes every descriptor past stderr before the exec:
	# a node lives on after this script, and one that inherited, say, the
	# fd of `flock LOCK cluster.sh up` would hold that lock as long as it
	# runs (a node left up by one user then blocks everyone's tests).
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$ns" setsid nohup bash -c 'echo $$ >"$1"; shift
		for f in /proc/$$/fd/*; do f=${f##*/}; [ "$f" -le 2 ] || eval "exec $f>&-"; done
		exec "$@"' _ \
		"$pidf" "$@" </dev/null >>"$log" 2>&1 &
}

# wait_gone PID: 0 once the process is gone (<= 30 s, a bound for a hang),
# else 1. Gone means exited: a zombie counts. The exit has closed the
# node's files and sockets by then; what is left is the reaping, which is
# up to the node's parent, init once cluster.sh that started it has
# exited, and an init that reaps on a timer (some containers' PID 1 does)
# kept a SIGKILLed node in /proc for ~1.7 s after its exit at ~20 ms:
# waiting for /proc/PID to vanish made every `kill` take that long.
wait_gone() {
	local i stat
	for ((i = 0; i < 3000; i++)); do
		stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
		stat=${stat##*) }
		[ "${stat%% *}" != Z ] || return 0
		sleep 0.01
	done
	return 1
}

start_node() {
	local i=$1 ns log pidf
	if [ -n "$(node_pid "$i")" ]; then
		say "node $i already running (pid $(node_pid "$i"))"
		return 0
	fi
	[ -x "$daemon" ] || die "no node binary at $daemon (build it: ninja -C $build; or up --no-start)"
	[ "$transport" != memif ] || [ -n "$(sw_pid)" ] ||
		die "node $i: the memif switch is not running (its port would not connect): run 'cluster.sh up' again"
	ns=$prefix-h${H[$i]}
	log=$(log_file "$i")
	pidf=$(pid_file "$i")
	echo "== cluster.sh: start node $i in $ns at $(date '+%F %T')" >>"$log"
	# A node `add` made joins: it never starts a cluster of its own.
	local join=()
	! is_added "$i" || join=(--join)
	# A file of its own (DIR/node<i>.ini) when there is one: each node
	# reads its own configuration, as on separate machines.
	local conf="$run_dir/cluster.ini"
	[ ! -f "$run_dir/node$i.ini" ] || conf="$run_dir/node$i.ini"
	spawn_in_ns "$ns" "$pidf" "$log" "$daemon" --config "$conf" --id "$i" ${join[@]+"${join[@]}"}
	for _ in $(seq 1 50); do
		[ -s "$pidf" ] && break
		sleep 0.02
	done
	say "node $i: started in $ns (pid $(cat "$pidf" 2>/dev/null || echo '?'), log $log)"
}

# The kernel side of node i's tap: not the node's MAC (a bridge port's
# own address is delivered to the bridge, never forwarded out of it).
tap_kernel_mac() { printf '02:00:00:00:01:%02x' "$1"; }

# net_tap sets the kernel side's MAC to the node's when it starts: set it
# back (one ip call; nothing when it is already right).
tap_fix_mac() { # id
	local ns=$prefix-h${H[$1]} now
	now=$(ip -n "$ns" -o link show "rn$1" 2>/dev/null | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	[ "$now" = "${MAC[$1]}" ] || return 0
	ip -n "$ns" link set "rn$1" address "$(tap_kernel_mac "$1")"
}

node_failed() { # id why
	echo "cluster.sh: node $1 $2; last lines of $(log_file "$1"):" >&2
	tail -n 20 "$(log_file "$1")" >&2 || true
}

# Waits (<= 30 s: a bound for a hang, not a speed claim) until every node in "$@" runs and, when raftctl exists,
# answers a status request. Returns 1 naming the first failure.
wait_ready() {
	local deadline i pending=("$@") left ctl
	ctl=$(raftctl_bin)
	deadline=$((SECONDS + 30))
	sleep 0.5 # a node that refuses its config exits at once
	while [ ${#pending[@]} -gt 0 ]; do
		left=()
		for i in "${pending[@]}"; do
			if [ -z "$(node_pid "$i")" ]; then
				node_failed "$i" "is not running (exited)"
				return 1
			fi
			# Before the status request, which needs the bridge to
			# forward to the node: its answer then proves the fix held.
			[ "$transport" != tap ] || tap_fix_mac "$i"
			if [ -x "$ctl" ] && ! timeout 3 "$ctl" --config "$run_dir/cluster.ini" --node "$i" \
				status --json >/dev/null 2>&1; then
				left+=("$i")
			fi
		done
		pending=(${left[@]+"${left[@]}"})
		[ ${#pending[@]} -gt 0 ] || break
		if [ $SECONDS -ge $deadline ]; then
			node_failed "${pending[0]}" "did not answer 'raftctl status' within 30 s${pending[1]:+ (nor did: ${pending[*]:1})}"
			return 1
		fi
		sleep 0.3
	done
	if [ -x "$ctl" ]; then say "all $# node(s) answer raftctl status"
	else say "all $# node(s) running ($ctl not built: not asked for status)"; fi
}

# ---- commands --------------------------------------------------------------------

cmd_up() {
	check_up_args
	check_prefix
	need_root
	build=$(realpath -m -- "${build:-$root/build}")
	daemon=$(realpath -m -- "${daemon:-$build/node/raftnode}")
	compute_placement
	index_nodes
	local want have h i line=""
	want="$prefix $nodes $hosts $transport $engine $durability $log_write $idle $busy_node $election_ms $mtu $lcores_opt $log_lcore $apply_lcore $rxtx_lcore ${placement[*]} $subnet"
	if [ -f "$(state_file)" ]; then
		have=$(
			load_state
			echo "$prefix $nodes $hosts $transport $engine $durability $log_write $idle $busy_node $election_ms $mtu $lcores_opt $log_lcore $apply_lcore $rxtx_lcore ${placement[*]} $subnet"
		)
		[ "$have" = "$want" ] ||
			die "a different cluster is up in $run_dir (prefix nodes hosts ...: $have); run 'cluster.sh down --run-dir $run_dir' first"
		# The same cluster as `add` and `remove` left it: its nodes now.
		members=$(load_state && echo "$members")
		added=$(load_state && echo "$added")
		index_nodes
	fi
	for ((h = 1; h <= hosts; h++)); do
		line+=" h$h:"
		for i in "${IDS[@]}"; do
			[ "${H[$i]}" != "$h" ] || line+=" $i"
		done
	done
	say "placement:$line"
	[ "$transport" != memif ] || memif_check_paths
	save_state
	write_files
	if [ "$transport" = memif ]; then
		memif_topology_up
		memif_switch_up
		[ "$sw_started" -eq 0 ] || memif_restart_orphans
	else
		topology_up
	fi
	say "config $run_dir/cluster.ini (cluster id $(cluster_id)), keys $run_dir/peer.key $run_dir/client.key $run_dir/admin.key"
	if [ "$no_start" -eq 1 ]; then
		say "--no-start: nodes not started (start one with: cluster.sh start ID --run-dir $run_dir)"
		return 0
	fi
	local ids=()
	for i in "${IDS[@]}"; do
		start_node "$i"
		ids+=("$i")
	done
	wait_ready "${ids[@]}"
}

# Every process in our namespaces is ours: TERM, wait <= 5 s, KILL.
stop_all() {
	local pids=() h ns i p deadline
	for i in "${IDS[@]}"; do
		p=$(node_pid "$i")
		[ -z "$p" ] || pids+=("$p")
	done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$prefix-(h[0-9]+|sw)$" || true); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$p"); done
	done
	[ ${#pids[@]} -gt 0 ] || return 0
	mapfile -t pids < <(printf '%s\n' "${pids[@]}" | sort -un)
	say "stopping ${#pids[@]} process(es): SIGTERM, SIGKILL after 5 s"
	kill -TERM "${pids[@]}" 2>/dev/null || true
	deadline=$((SECONDS + 5))
	while [ $SECONDS -lt $deadline ]; do
		local alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive -eq 1 ] || return 0
		sleep 0.1
	done
	for p in "${pids[@]}"; do
		if kill -0 "$p" 2>/dev/null; then
			say "pid $p survived SIGTERM: SIGKILL"
			kill -KILL "$p" 2>/dev/null || true
		fi
	done
}

cmd_down() {
	local have_state=0 h ns l i
	need_root
	if [ -f "$(state_file)" ]; then
		local p_cli=$prefix
		load_state
		have_state=1
		if [ "$prefix_set" -eq 1 ] && [ "$p_cli" != "$prefix" ]; then
			usage_err "--prefix $p_cli does not match the cluster in $run_dir (prefix $prefix)"
		fi
	elif [ "$prefix_set" -eq 0 ]; then
		# Guessing the prefix could take down someone else's cluster.
		say "down: no cluster in $run_dir (no cluster.env): nothing to do (to remove a topology left without its run dir: down --prefix P)"
		return 0
	else
		check_prefix
	fi
	say "down: cluster $prefix (run dir $run_dir)"
	stop_all
	for ((h = 1; h <= 64; h++)); do
		ns=$prefix-h$h
		if ns_exists "$ns"; then ip netns del "$ns"; fi
	done
	if ns_exists "$prefix-sw"; then ip netns del "$prefix-sw"; fi # memif: the switch's
	# Deleting a namespace deletes its veth ends and so their root peers, and
	# a link's routes go with it; this catches a root veth left half-made.
	for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^$prefix-r[0-9]+$" || true); do
		ip link del "$l" 2>/dev/null || true
	done
	if command -v nft >/dev/null; then nft delete table inet "${prefix}_guard" 2>/dev/null || true; fi
	# Every node id, added ones too (ids up to 99): <prefix>-n<digits>.
	rm -rf "/var/run/dpdk/$prefix-n"[0-9] "/var/run/dpdk/$prefix-n"[0-9][0-9]
	rm -rf "/var/run/dpdk/$prefix-sw"
	# A node killed with SIGKILL leaves its hugepage files (<prefix>map_N)
	# in every hugetlbfs mount: they would hold the pages until removed.
	local mnt
	for mnt in $(awk '$3 == "hugetlbfs" {print $2}' /proc/mounts 2>/dev/null); do
		rm -f "$mnt/$prefix-n"[0-9]map_* "$mnt/$prefix-n"[0-9][0-9]map_*
		rm -f "$mnt/$prefix-swmap_"*
	done
	if [ -d "$run_dir" ]; then
		if [ -e "$run_dir/.raftnode-cluster" ] || [ $have_state -eq 1 ]; then
			rm -rf -- "$run_dir"
		elif [ -z "$(ls -A "$run_dir")" ]; then
			rmdir -- "$run_dir"
		else
			say "left $run_dir alone: not made by cluster.sh (no .raftnode-cluster marker)"
		fi
	fi
	say "down: done"
}

status_json_field() { # json key...: the first key present
	python3 - "$@" <<'PY' 2>/dev/null || echo "-"
import json, sys
try:
    d = json.loads(sys.argv[1])
except Exception:
    print("-"); sys.exit(0)
for k in sys.argv[2:]:
    if isinstance(d, dict) and k in d:
        print(d[k]); break
else:
    print("-")
PY
}

cmd_status() {
	local i h ns p alive role term leader out ctl l state q
	need_root
	load_state
	ctl=$(raftctl_bin)
	echo "cluster $prefix: $nodes node(s) on $hosts host(s), transport $transport, run dir $run_dir"
	printf '%-5s %-5s %-8s %-6s %-10s %-6s %-6s\n' node host pid alive role term leader
	for i in "${IDS[@]}"; do
		h=${H[$i]}
		p=$(node_pid "$i")
		alive=no role=- term=- leader=-
		[ -z "$p" ] || alive=yes
		if [ -n "$p" ] && [ -x "$ctl" ]; then
			if out=$(timeout 3 "$ctl" --config "$run_dir/cluster.ini" --node "$i" status --json 2>/dev/null); then
				role=$(status_json_field "$out" role state)
				term=$(status_json_field "$out" term current_term)
				leader=$(status_json_field "$out" leader leader_id)
			else
				role="(no answer)"
			fi
		fi
		printf '%-5s %-5s %-8s %-6s %-10s %-6s %-6s\n' "$i" "$h" "${p:--}" "$alive" "$role" "$term" "$leader"
	done
	if [ "$transport" = memif ]; then
		memif_status
		return 0
	fi
	for ((h = 1; h < hosts; h++)); do
		l=$prefix-x$h$((h + 1))
		state=$(ip -n "$prefix-h$h" -o link show dev "$l" 2>/dev/null | grep -q '[<,]UP[,>]' && echo up || echo DOWN)
		echo "inter-host link $l (h$h-h$((h + 1))): $state"
	done
	for ((h = 1; h <= hosts; h++)); do
		ns=$prefix-h$h
		q=$(tc -n "$ns" qdisc show 2>/dev/null | grep netem || true)
		[ -z "$q" ] || echo "netem in $ns: $q"
		if command -v nft >/dev/null; then
			in_ns "$ns" nft list ruleset 2>/dev/null | grep -E '[[:space:]]drop$' | sed "s/^[[:space:]]*/$ns: /" || true
		fi
	done
}

cmd_start() {
	need_root
	load_state
	check_node_id "$node_arg" "start: ID"
	start_node "$node_arg"
	wait_ready "$node_arg"
}

cmd_kill() {
	local p sig
	need_root
	load_state
	check_node_id "$node_arg" "kill: ID"
	case "$signal" in KILL | TERM) sig=$signal ;; *) usage_err "--signal must be KILL or TERM, not '$signal'" ;; esac
	p=$(node_pid "$node_arg")
	if [ -z "$p" ]; then
		say "node $node_arg is not running"
		return 0
	fi
	say "node $node_arg: SIG$sig to pid $p"
	kill "-$sig" "$p"
	echo "== cluster.sh: SIG$sig sent at $(date '+%F %T')" >>"$(log_file "$node_arg")"
	# Returns once the process has exited (wait_gone), so a `start` right after finds
	# the node stopped (SIGTERM: after its clean stop, the log flushed).
	wait_gone "$p" && return 0
	say "node $node_arg: pid $p still there after 30 s"
	return 1
}

cmd_logs() {
	load_state
	check_node_id "$node_arg" "logs: ID"
	[ -f "$(log_file "$node_arg")" ] || die "no log yet for node $node_arg ($(log_file "$node_arg"))"
	if [ "$follow" -eq 1 ]; then exec tail -n +1 -f "$(log_file "$node_arg")"; fi
	cat "$(log_file "$node_arg")"
}

# shellcheck source=scripts/cluster-faults.sh
. "$root/scripts/cluster-faults.sh"
# shellcheck source=scripts/cluster-memif.sh
. "$root/scripts/cluster-memif.sh"
# shellcheck source=scripts/cluster-member.sh
. "$root/scripts/cluster-member.sh"
# shellcheck source=scripts/cluster-keys.sh
. "$root/scripts/cluster-keys.sh"

main() {
	parse_args "$@"
	case "$cmd" in
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	start) cmd_start ;;
	kill) cmd_kill ;;
	partition) cmd_partition ;;
	heal) cmd_heal ;;
	netem) cmd_netem ;;
	logs) cmd_logs ;;
	add) cmd_add ;;
	remove) cmd_remove ;;
	rotate-keys) cmd_rotate_keys ;;
	esac
}

main "$@"
