# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2154,SC2015 # globals are cluster.sh's
# Sourced by scripts/cluster.sh: the fault commands (partition, heal,
# netem). Host partitions take the inter-host veths down. Node partitions
# are nftables rules in the receiving node's host namespace, matching IPv4
# source and destination: the bridge forward hook sees every frame a DPDK
# node sends (they all cross the bridge, even between two nodes of one
# host), the ip input hook sees kernel UDP (--transport udp), including
# the datagrams two nodes of one host exchange over that host's loopback.
# ARP is left alone, so a partitioned node still resolves its peers and
# traffic flows again the moment `heal` removes the rules.
# (tc cannot do this here: the CI kernel has neither cls_flower nor
# act_gact, and no sch_netem either; it does have nf_tables.)
# With --transport memif every fault is a rule of the switch instead
# (memif_partition, memif_heal, memif_netem in cluster-memif.sh).

part_table=rn_part # in every host namespace, bridge and ip families

need_nft() {
	command -v nft >/dev/null ||
		die "$cmd needs nft (Debian package nftables; scripts/setup.sh installs it)"
}

part_tables_up() { # ns
	in_ns "$1" nft -f - <<EOF
table bridge $part_table {
	chain drop_fwd { type filter hook forward priority 0; policy accept; }
}
table ip $part_table {
	chain drop_in { type filter hook input priority 0; policy accept; }
}
EOF
}

# Drops IPv4 from node $1 to node $2 (in node $2's host namespace).
part_drop() {
	local s d ns rule
	s=$subnet.$1
	d=$subnet.$2
	ns=$prefix-h${H[$2]}
	rule="ip saddr $s ip daddr $d drop"
	part_tables_up "$ns"
	if ! in_ns "$ns" nft list chain bridge "$part_table" drop_fwd | grep -qF "$rule"; then
		in_ns "$ns" nft add rule bridge "$part_table" drop_fwd "$rule"
		in_ns "$ns" nft add rule ip "$part_table" drop_in "$rule"
	fi
}

hosts_links() { # up|down
	local h l
	for ((h = 1; h < hosts; h++)); do
		l=$prefix-x$h$((h + 1))
		ip -n "$prefix-h$h" link set "$l" "$1"
		ip -n "$prefix-h$((h + 1))" link set "$l" "$1"
	done
}

cmd_partition() {
	local j peers=()
	need_root
	load_state
	if [ "$part_hosts" -eq 1 ]; then
		[ -z "$node_arg" ] && [ -z "$part_from" ] && [ "$one_way" -eq 0 ] ||
			usage_err "--hosts takes no node, --from or --one-way"
		[ "$hosts" -gt 1 ] || usage_err "--hosts: this cluster has one host, no inter-host link to cut"
		if [ "$transport" = memif ]; then
			memif_partition
			return 0
		fi
		say "partition: cutting the inter-host link(s) $(for ((j = 1; j < hosts; j++)); do printf '%s ' "$prefix-x$j$((j + 1))"; done)"
		touch "$run_dir/partitioned-hosts"
		hosts_links down
		return 0
	fi
	[ -n "$node_arg" ] || usage_err "say what to cut: --hosts, or --node ID [--from ID] [--one-way]"
	check_node_id "$node_arg" "--node"
	[ "$transport" = memif ] || need_nft
	if [ -n "$part_from" ]; then
		check_node_id "$part_from" "--from"
		[ "$part_from" != "$node_arg" ] || usage_err "--from must name another node than --node"
		peers=("$part_from")
	else
		for j in "${IDS[@]}"; do [ "$j" -eq "$node_arg" ] || peers+=("$j"); done
	fi
	[ ${#peers[@]} -gt 0 ] || usage_err "node $node_arg has no peers to cut it from"
	say "partition: node $node_arg from node(s) ${peers[*]}$([ "$one_way" -eq 1 ] && echo ' (one way: only what it sends is dropped)')"
	if [ "$transport" = memif ]; then
		memif_partition "${peers[@]}"
		return 0
	fi
	for j in "${peers[@]}"; do
		part_drop "$node_arg" "$j"
		[ "$one_way" -eq 1 ] || part_drop "$j" "$node_arg"
	done
}

cmd_heal() {
	local h ns
	need_root
	load_state
	if [ "$transport" = memif ]; then
		say "heal: the switch's cut rules removed (loss rules left as they are)"
		memif_heal
		return 0
	fi
	say "heal: inter-host link(s) up, node partitions removed (netem left as it is)"
	rm -f "$run_dir/partitioned-hosts"
	hosts_links up
	for ((h = 1; h <= hosts; h++)); do
		ns=$prefix-h$h
		if command -v nft >/dev/null; then
			in_ns "$ns" nft delete table bridge "$part_table" 2>/dev/null || true
			in_ns "$ns" nft delete table ip "$part_table" 2>/dev/null || true
		fi
	done
}

# ---- netem -------------------------------------------------------------------

# "ns dev" pairs a netem target is applied to, one per line.
netem_devs() {
	local h l
	if [ "$part_hosts" -eq 1 ]; then
		for ((h = 1; h < hosts; h++)); do
			l=$prefix-x$h$((h + 1))
			echo "$prefix-h$h $l"
			echo "$prefix-h$((h + 1)) $l"
		done
	else
		# tap: the tap device itself is node's bridge port.
		if [ "$transport" = tap ]; then echo "$prefix-h${H[$node_arg]} rn$node_arg"
		else echo "$prefix-h${H[$node_arg]} rn${node_arg}b"; fi
	fi
}

netem_supported() { # ns dev
	tc -n "$1" qdisc replace dev "$2" root netem delay 0ms >/dev/null 2>&1 &&
		tc -n "$1" qdisc del dev "$2" root >/dev/null 2>&1
}

loss_table() { # target tag: nN or hosts
	if [ "$part_hosts" -eq 1 ]; then echo rn_loss_hosts; else echo "rn_loss_n$node_arg"; fi
}

netem_clear_one() { # ns dev
	local t
	t=$(loss_table)
	tc -n "$1" qdisc del dev "$2" root >/dev/null 2>&1 || true
	if command -v nft >/dev/null; then
		in_ns "$1" nft delete table bridge "$t" 2>/dev/null || true
		in_ns "$1" nft delete table ip "$t" 2>/dev/null || true
	fi
}

# Loss without sch_netem: nftables drops L % at random of what the target
# receives (bridge forward hook for frames, ip input for kernel UDP).
netem_nft_loss() { # ns dev
	local t=$1 dev=$2 ns
	ns=$1
	t=$(loss_table)
	if [ "$part_hosts" -eq 1 ]; then
		in_ns "$ns" nft -f - <<EOF
table bridge $t {
	chain drop_fwd { type filter hook forward priority 0; policy accept;
		iifname "$dev" numgen random mod 100 < $loss_pct drop; }
}
EOF
	elif [ "$transport" = udp ]; then
		in_ns "$ns" nft -f - <<EOF
table ip $t {
	chain drop_in { type filter hook input priority 0; policy accept;
		ip daddr $subnet.$node_arg numgen random mod 100 < $loss_pct drop; }
}
EOF
	else
		in_ns "$ns" nft -f - <<EOF
table bridge $t {
	chain drop_fwd { type filter hook forward priority 0; policy accept;
		oifname "$dev" numgen random mod 100 < $loss_pct drop; }
}
EOF
	fi
}

check_netem_args() {
	local v
	if [ "$part_hosts" -eq 1 ]; then
		[ -z "$node_arg" ] || usage_err "give a node ID or --hosts, not both"
		[ "$hosts" -gt 1 ] || usage_err "--hosts: this cluster has one host, no inter-host link"
	else
		[ -n "$node_arg" ] || usage_err "say where: netem ID|--hosts ..."
		check_node_id "$node_arg" "netem: ID"
	fi
	for v in "$delay_ms" "$jitter_ms" "$loss_pct" "$reorder_pct"; do
		[ -z "$v" ] || is_uint "$v" || usage_err "values are whole numbers, not '$v'"
	done
	for v in "$loss_pct" "$reorder_pct"; do
		[ -z "$v" ] || [ "$v" -le 100 ] || usage_err "percentages are 0..100, not '$v'"
	done
	if [ "$netem_clear" -eq 0 ] && [ -z "$delay_ms$jitter_ms$loss_pct$reorder_pct" ]; then
		usage_err "give --delay-ms, --jitter-ms, --loss-pct, --reorder-pct, or --clear"
	fi
	[ -z "$jitter_ms$reorder_pct" ] || [ -n "$delay_ms" ] || usage_err "--jitter-ms and --reorder-pct need --delay-ms"
}

cmd_netem() {
	local ns dev args=() what
	need_root
	load_state
	check_netem_args
	what=$([ "$part_hosts" -eq 1 ] && echo "the inter-host link(s)" || echo "traffic to node $node_arg")
	if [ "$transport" = memif ]; then
		memif_netem
		return 0
	fi
	if [ "$netem_clear" -eq 1 ]; then
		say "netem: clearing $what"
		while read -r ns dev; do netem_clear_one "$ns" "$dev"; done < <(netem_devs)
		return 0
	fi
	[ -z "$delay_ms" ] || args+=(delay "${delay_ms}ms")
	[ -z "$jitter_ms" ] || args+=("${jitter_ms}ms")
	[ -z "$loss_pct" ] || args+=(loss "${loss_pct}%")
	[ -z "$reorder_pct" ] || args+=(reorder "${reorder_pct}%")
	read -r ns dev < <(netem_devs)
	if ! netem_supported "$ns" "$dev"; then
		[ -z "$delay_ms$reorder_pct" ] ||
			die "netem: this kernel has no sch_netem (CONFIG_NET_SCH_NETEM), so no delay, jitter or reorder; only --loss-pct works here (made with nftables)"
		need_nft
		say "netem: no sch_netem in this kernel: ${loss_pct}% loss on $what with nftables"
		while read -r ns dev; do
			netem_clear_one "$ns" "$dev"
			netem_nft_loss "$ns" "$dev"
		done < <(netem_devs)
		return 0
	fi
	say "netem: ${args[*]} on $what"
	while read -r ns dev; do
		netem_clear_one "$ns" "$dev"
		tc -n "$ns" qdisc replace dev "$dev" root netem limit 100000 "${args[@]}"
	done < <(netem_devs)
}
