# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2154,SC2015 # globals are cluster.sh's
# Sourced by scripts/cluster.sh: --transport memif. A memif link is point to
# point and a node has one DPDK port, so one switch process per cluster,
# rn_memif_switch (dataplane/tools), owns a net_memif *server* port per node
# (node i's dpdk_port is the role=client end, socket DIR/memif/node<i>.sock)
# and one kernel-facing port: a net_af_packet on veth k0 in the switch's own
# namespace <prefix>-sw, whose root end <prefix>-r0 holds A.B.C.200 and the
# /32 routes to every node, so raftctl and raftbench reach them over UDP.
# The host namespaces <prefix>-h<h> hold only the node processes (no kernel
# interfaces: memif is a file-system socket plus shared memory); a host is a
# label the switch's fault rules use (partition --hosts cuts the port pairs
# of different hosts). One switch, not one per host: one polling thread
# instead of H on a 2-CPU machine, and the host boundary is still a rule.
#
# Faults are the switch's rules file (grammar: dataplane/tools/switch.h),
# composed from DIR/faults/*: cut (partitions), loss-n<i> and loss-hosts
# (netem --loss-pct); after SIGHUP the switch copies what it applied to
# switch.rules.applied, which cluster.sh waits for. Delay and reordering
# are refused: the switch drops, it does not hold frames.
#
# A memif client connects once, when its port starts (DPDK 22.11 does not
# retry), so nodes start after the switch listens, and a switch that `up`
# has to restart takes the running nodes with it (they are restarted).

sw_ns() { echo "$prefix-sw"; }
sw_bin() { echo "$build/dataplane/tools/rn_memif_switch"; }
sw_pid_file() { echo "$run_dir/pids/switch.pid"; }
sw_log() { echo "$run_dir/logs/switch.log"; }
sw_rules() { echo "$run_dir/switch.rules"; }
memif_sock() { echo "$run_dir/memif/node$1.sock"; }
sw_pid() { pidfile_pid "$(sw_pid_file)"; }

# Node i's dpdk_port: the client end of its switch port, with its MAC (a
# memif port's default MAC is the same for every port, and a group address).
# Jumbo: buffers of 9216 bytes, so that a frame is one descriptor (DPDK
# 22.11's memif tx, out of slots in the middle of a chained frame, rolls
# back but leaves the NEXT flag on its first descriptor, and the receiver
# then reads stale descriptors as frames: a loaded cluster collapsed).
memif_vdev() {
	local bs=""
	[ "$(port_mtu)" -le 1500 ] || bs=",bsize=9216"
	echo "net_memif0,role=client,socket=$(memif_sock "$1"),socket-abstract=no,mac=${MAC[$1]}$bs"
}

memif_check_paths() {
	# sun_path holds 107 bytes; libinih reads lines of up to 200.
	local s
	s=$(memif_sock 16)
	[ ${#s} -le 100 ] || usage_err "--run-dir is too long for memif sockets ($s: ${#s} bytes, at most 100)"
	[ -x "$(sw_bin)" ] || die "no switch binary at $(sw_bin) (build it: ninja -C $build)"
}

memif_topology_up() {
	local h ns sw have
	sw=$(sw_ns)
	say "topology $prefix (memif): switch namespace $sw, $hosts host namespace(s) $prefix-h1..$prefix-h$hosts, $nodes node(s) on $subnet.0/24"
	root_check_routes
	for ((h = 1; h <= hosts; h++)); do
		ns=$prefix-h$h
		ns_exists "$ns" || ip netns add "$ns"
	done
	ns_exists "$sw" || ip netns add "$sw"
	in_ns "$sw" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	# A root veth whose switch end is gone (half-made before) is remade.
	if link_exists "" "$prefix-r0" && ! link_exists "$sw" k0; then ip link del "$prefix-r0"; fi
	have=$(links_of "")
	{
		has_link "$have" "$prefix-r0" || echo "link add $prefix-r0 type veth peer name k0 netns $sw"
		echo "link set $prefix-r0 mtu $(port_mtu) up"
		echo "addr replace $subnet.200/32 dev $prefix-r0"
		for ((i = 1; i <= nodes; i++)); do
			echo "route replace $subnet.$i/32 dev $prefix-r0 src $subnet.200"
		done
	} | run_batch ""
	printf 'link set lo up\nlink set k0 mtu %s up\n' "$(port_mtu)" | run_batch "$sw"
	root_guard "$prefix-r0"
	mkdir -p "$run_dir/memif" "$run_dir/faults"
	[ -e "$(sw_rules)" ] || : >"$(sw_rules)"
}

# Starts the switch unless it runs; waits (<= 10 s) for its 'ready' line.
# Sets sw_started=1 when this call started it.
sw_started=0
memif_switch_up() {
	local pidf log from i args=() cpus
	if [ -n "$(sw_pid)" ]; then
		say "switch already running (pid $(sw_pid))"
		return 0
	fi
	pidf=$(sw_pid_file)
	log=$(sw_log)
	cpus=$(ncpus)
	for ((i = 1; i <= nodes; i++)); do args+=(--memif "$(memif_sock "$i")"); done
	args+=(--kernel-iface k0 --file-prefix "$prefix-sw" --lcores "0@(0-$((cpus - 1)))"
		--rules "$(sw_rules)" --stats "$run_dir/switch.stats" --mtu-bytes "$(port_mtu)")
	touch "$log"
	from=$(($(stat -c %s "$log") + 1))
	echo "== cluster.sh: start switch in $(sw_ns) at $(date '+%F %T')" >>"$log"
	spawn_in_ns "$(sw_ns)" "$pidf" "$log" "$(sw_bin)" "${args[@]}"
	for _ in $(seq 1 100); do
		tail -c "+$from" "$log" | grep -q '^ready:' && break
		if [ -s "$pidf" ] && [ -z "$(sw_pid)" ]; then break; fi
		sleep 0.1
	done
	if ! tail -c "+$from" "$log" | grep -q '^ready:'; then
		echo "cluster.sh: switch did not start; last lines of $log:" >&2
		tail -n 20 "$log" >&2 || true
		exit 1
	fi
	say "switch: started in $(sw_ns) (pid $(sw_pid), log $log), $nodes memif port(s) + kernel port k0"
	# shellcheck disable=SC2034 # read by cmd_up
	sw_started=1
}

# After a switch (re)start: running nodes hold a memif link to the old
# switch and will not reconnect, so they are stopped (the caller starts
# them again, unless --no-start); each is gone when this returns.
memif_restart_orphans() {
	local i p
	for ((i = 1; i <= nodes; i++)); do
		p=$(node_pid "$i")
		[ -n "$p" ] || continue
		say "node $i (pid $p) was linked to the old switch (memif clients do not reconnect): stopping it"
		kill -TERM "$p" 2>/dev/null || true
		wait_gone "$p" || { kill -KILL "$p" 2>/dev/null || true; wait_gone "$p" || true; }
	done
}

memif_status() {
	local p
	p=$(sw_pid)
	echo "switch: pid ${p:--} alive $([ -n "$p" ] && echo yes || echo no), namespace $(sw_ns), log $(sw_log)"
	if [ -s "$run_dir/switch.stats" ]; then sed 's/^/  /' "$run_dir/switch.stats"; fi
	if [ -s "$(sw_rules)" ]; then
		echo "switch rules ($(grep -c '^cut' "$(sw_rules)" || true) cut, $(grep -c '^loss' "$(sw_rules)" || true) loss):"
		grep -E '^(cut|loss)' "$(sw_rules)" | sed 's/^/  /' | head -n 40
	fi
}

# ---- faults --------------------------------------------------------------------

# Composes switch.rules from DIR/faults/*, signals the switch and waits
# (<= 3 s) until it reports the same text applied.
memif_apply_rules() {
	local f p parts
	f=$(sw_rules)
	mkdir -p "$run_dir/faults"
	mapfile -t parts < <(find "$run_dir/faults" -maxdepth 1 -type f)
	{
		echo "# written by scripts/cluster.sh (memif); ports: 0 kernel, i node i"
		[ ${#parts[@]} -eq 0 ] || sort -u "${parts[@]}"
	} >"$f.tmp"
	mv "$f.tmp" "$f"
	p=$(sw_pid)
	if [ -z "$p" ]; then
		say "switch not running: rules saved in $f, applied when it starts"
		return 0
	fi
	kill -HUP "$p"
	for _ in $(seq 1 30); do
		cmp -s "$f" "$f.applied" && return 0
		sleep 0.1
	done
	echo "cluster.sh: the switch did not apply $f within 3 s; last lines of $(sw_log):" >&2
	tail -n 5 "$(sw_log)" >&2 || true
	exit 1
}

# Rules between the ports of different hosts: "VERB i j [ARG]" both ways.
memif_cross_host_pairs() { # verb [arg]
	local i j
	for ((i = 1; i <= nodes; i++)); do
		for ((j = 1; j <= nodes; j++)); do
			[ "${H[$i]}" = "${H[$j]}" ] || echo "$1 $i $j${2:+ $2}"
		done
	done
}

memif_partition() { # peers...
	local j cut=$run_dir/faults/cut
	mkdir -p "$run_dir/faults"
	if [ "$part_hosts" -eq 1 ]; then
		say "partition: cutting every port pair of different hosts in the switch"
		touch "$run_dir/partitioned-hosts"
		memif_cross_host_pairs cut >>"$cut"
	else
		for j in "$@"; do
			echo "cut $node_arg $j" >>"$cut"
			[ "$one_way" -eq 1 ] || echo "cut $j $node_arg" >>"$cut"
		done
	fi
	memif_apply_rules
}

memif_heal() {
	rm -f "$run_dir/partitioned-hosts" "$run_dir/faults/cut"
	memif_apply_rules
}

memif_netem() {
	local f
	if [ "$part_hosts" -eq 1 ]; then f=$run_dir/faults/loss-hosts; else f=$run_dir/faults/loss-n$node_arg; fi
	if [ "$netem_clear" -eq 1 ]; then
		say "netem: clearing the switch's loss rule(s) for $what"
		rm -f "$f"
		memif_apply_rules
		return 0
	fi
	[ -z "$delay_ms$jitter_ms$reorder_pct" ] ||
		die "netem: with --transport memif only --loss-pct works (the switch drops frames; it does not delay or reorder them)"
	say "netem: ${loss_pct}% loss on $what, in the switch"
	mkdir -p "$run_dir/faults"
	if [ "$part_hosts" -eq 1 ]; then
		memif_cross_host_pairs loss "$loss_pct" >"$f"
	else
		echo "loss * $node_arg $loss_pct" >"$f"
	fi
	memif_apply_rules
}
