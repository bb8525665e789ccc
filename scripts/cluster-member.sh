# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2154,SC2015 # globals are cluster.sh's
# Sourced by scripts/cluster.sh: `add ID` and `remove ID`, the plumbing of
# a membership change. Raft's configuration is not changed here: it lives
# in the log (raftctl member add-learner / promote / remove asks the
# leader); these commands make and delete what a node needs on this
# machine (veth into its host's bridge, route from root, data dir, its
# section in the cluster file, its process). `add` prints the raftctl line
# that adds the node it made, or runs it with --learner; `remove` refuses a
# node the configuration still holds (a node deleted under a live
# configuration is a voter that never answers: one failure closer to a
# lost quorum) unless --force.

# Ids go up to 99: the address is $subnet.<id> (.201.. are the root
# veths), the MAC's last byte <id>, and `down` finds DPDK's files by
# two digits.
member_id_max=99

check_new_id() { # value
	is_uint "$1" && [ "$1" -ge 1 ] && [ "$1" -le "$member_id_max" ] ||
		usage_err "ID must be a node id 1..$member_id_max, not '${1:-<none>}'"
}

# The host with the fewest nodes, the lowest on a tie: an added node
# spreads the cluster as `up` does, whatever add and remove did before.
least_loaded_host() {
	local h i best=1 n count=()
	for ((h = 1; h <= hosts; h++)); do count[h]=0; done
	for i in "${IDS[@]}"; do count[H[i]]=$((count[H[i]] + 1)); done
	n=${count[1]}
	for ((h = 2; h <= hosts; h++)); do
		if [ "${count[h]}" -lt "$n" ]; then best=$h n=${count[h]}; fi
	done
	echo "$best"
}

# Rebuilds IDS and the state's members string from H (ids in order).
members_from_h() {
	local i
	members=""
	for i in $(printf '%s\n' "${!H[@]}" | sort -n); do
		[ "$i" -ge 1 ] || continue
		members+="${members:+ }$i:${H[i]}"
	done
	index_nodes
}

# Removes node id's [member.<id>] and [node.<id>] sections from the
# cluster file (each runs to the next section header).
config_drop_sections() { # id
	local f=$run_dir/cluster.ini
	[ -f "$f" ] || return 0
	awk -v id="$1" '
		/^\[/ { skip = ($0 ~ "^\\[(member|node)\\." id "\\]") }
		!skip' "$f" >"$f.tmp"
	mv "$f.tmp" "$f"
}

# Without [cluster] initial_members every [member.N] of the file is in the
# first configuration: before a section for a joining node goes in, the
# key names the sections there now (what the nodes started with), unless
# the file has it already.
config_pin_initial() {
	local f=$run_dir/cluster.ini ids
	grep -Eq '^[[:space:]]*initial_members[[:space:]]*=' "$f" && return 0
	ids=$(sed -n 's/^\[member\.\([0-9]*\)\].*/\1/p' "$f" | sort -n | paste -sd, -)
	[ -n "$ids" ] || die "add: $f has no [member.N] section"
	grep -q '^\[cluster\]' "$f" || die "add: $f has no [cluster] section"
	sed -i "s/^\[cluster\].*/&\ninitial_members = $ids/" "$f"
	say "add: $f: [cluster] initial_members = $ids (the first configuration, now that a node that is not in it has a section)"
}

# What `raftctl member add-learner` takes for node id: IP:UDP_PORT, its
# MAC (the DPDK transports address frames by it) and its host.
member_addr() { echo "$subnet.$1:9000,mac=${MAC[$1]},host=${H[$1]}"; }

ctl_cmd_line() { echo "$(raftctl_bin) --config $run_dir/cluster.ini $*"; }

cmd_add() {
	local id=$node_arg h ns data
	need_root
	load_state
	check_new_id "$id"
	[ "$transport" != memif ] ||
		die "add: not with --transport memif (the switch's memif ports are made when it starts; 'up' with more nodes instead)"
	[ -z "${H[$id]:-}" ] ||
		die "add: node $id already exists (host ${H[$id]}$(is_added "$id" && echo ', added'); nodes: ${IDS[*]}); 'cluster.sh remove $id' first"
	[ ${#IDS[@]} -lt 16 ] || die "add: the cluster has 16 nodes already (RAFT_NODES_MAX)"
	if [ -n "$add_host" ]; then
		is_uint "$add_host" && [ "$add_host" -ge 1 ] && [ "$add_host" -le "$hosts" ] ||
			usage_err "--host must be a host 1..$hosts, not '$add_host'"
		h=$add_host
	else
		h=$(least_loaded_host)
	fi
	ns=$prefix-h$h
	ns_exists "$ns" && link_exists "" "$prefix-r$h" ||
		die "add: host $h's namespace $ns (or its root veth) is missing: is the cluster up? ('cluster.sh up' with its options again remakes it)"
	data=$run_dir/data/node$id
	if [ -d "$data" ] && [ -n "$(ls -A "$data")" ]; then
		die "add: $data is not empty (left by 'remove --keep-data'?): a new node starts empty; move it away first"
	fi
	root_check_route "$id"
	H[id]=$h
	is_added "$id" || added+="${added:+ }$id"
	members_from_h
	say "add: node $id on host $h ($ns): veth rn$id, $subnet.$id, MAC ${MAC[$id]}"
	# The node's own lines only: the running nodes' ports are left alone.
	{ link_exists "$ns" "rn$id" || node_create_line "$id"; } | run_batch "$ns"
	node_config_lines "$id" | run_batch "$ns"
	root_route_line "$id" | run_batch ""
	mkdir -p "$data"
	# Appended, not rewritten: a test or an operator may have added keys
	# ([limits], [storage]) after `up`; a half-done earlier add's sections
	# are dropped first.
	config_drop_sections "$id"
	config_pin_initial
	lcore_plan
	{
		member_section "$id"
		node_sections "$id"
	} >>"$run_dir/cluster.ini"
	save_state
	say "add: $run_dir/cluster.ini has [member.$id]; data dir $data (empty)"
	if [ "$no_start" -eq 1 ]; then
		say "add: --no-start: not started (cluster.sh start $id --run-dir $run_dir; it runs with --join)"
	else
		start_node "$id"
		wait_ready "$id" || die "add: node $id did not come up (its plumbing stays: 'cluster.sh remove $id' undoes it)"
	fi
	if [ "$add_learner" -eq 1 ]; then
		[ -x "$(raftctl_bin)" ] || die "add: --learner needs $(raftctl_bin) (build it)"
		say "add: $(ctl_cmd_line member add-learner "$id" "$(member_addr "$id")")"
		"$(raftctl_bin)" --config "$run_dir/cluster.ini" member add-learner "$id" "$(member_addr "$id")" ||
			die "add: node $id is up but was not added to the configuration (see above); retry the line above, or 'cluster.sh remove $id'"
		say "add: node $id is a learner (promote it once caught up: raftctl member promote $id)"
	else
		say "add: to put it in the configuration, run:"
		ctl_cmd_line member add-learner "$id" "$(member_addr "$id")"
	fi
}

# member_view JSON ID: from `raftctl --json member list`, "listed",
# "pending", "gone", or "stale" when the node that answered is not the
# leader it names (a removed node keeps its last view for good).
member_view() {
	python3 - "$1" "$2" <<'PY' 2>/dev/null || echo stale
import json, sys
d = json.loads(sys.argv[1])
if d.get("node") != d.get("leader") or not d.get("leader"):
    print("stale")
elif any(m.get("id") == int(sys.argv[2]) for m in d.get("members", [])):
    print("listed")
elif d.get("pending"):
    print("pending")
else:
    print("gone")
PY
}

# Exits unless the configuration no longer holds node id: asks the
# running nodes (node id too: it may be the leader) one by one for their
# `member list` (with --node, raftctl gives that node's view) until the
# leader answers. A change still pending (node id's removal appended, not
# yet committed; or another one) is waited for, as is a leader, up to 10 s.
member_check_gone() { # id
	local id=$1 ctl out i ask=() p end view last=""
	ctl=$(raftctl_bin)
	[ -x "$ctl" ] || die "remove: cannot ask the cluster whether node $id is still a member ($ctl not built); --force removes it anyway"
	for i in "${IDS[@]}"; do
		p=$(node_pid "$i")
		[ -z "$p" ] || ask+=("$i")
	done
	[ ${#ask[@]} -gt 0 ] || die "remove: no node runs to ask whether node $id is still a member; --force removes it anyway"
	end=$((SECONDS + 10))
	while :; do
		for i in "${ask[@]}"; do
			out=$(timeout 10 "$ctl" --config "$run_dir/cluster.ini" --node "$i" --timeout-ms 2000 \
				--json member list 2>&1) || { last="node $i: $out"; continue; }
			view=$(member_view "$out" "$id")
			case "$view" in
			gone) return 0 ;;
			listed) die "remove: node $id is still in the configuration (raftctl member list: $out): 'raftctl member remove $id' first, or --force" ;;
			pending) last="the leader has a configuration change pending: $out"; break ;;
			*) last="node $i is not the leader: $out" ;;
			esac
		done
		[ $SECONDS -lt $end ] ||
			die "remove: after 10 s no committed configuration without node $id ($last); retry, or --force"
		sleep 0.3
	done
}

stop_node() { # id: SIGTERM, SIGKILL after 5 s; 0 once it is gone
	local id=$1 p k
	p=$(node_pid "$id")
	[ -n "$p" ] || return 0
	say "remove: stopping node $id (pid $p)"
	kill -TERM "$p" 2>/dev/null || true
	for ((k = 0; k < 50; k++)); do
		[ -n "$(node_pid "$id")" ] || return 0
		sleep 0.1
	done
	say "remove: node $id survived SIGTERM for 5 s: SIGKILL"
	kill -KILL "$p" 2>/dev/null || true
	wait_gone "$p" || die "remove: node $id (pid $p) still there after SIGKILL"
}

cmd_remove() {
	local id=$node_arg h ns data mnt
	need_root
	load_state
	check_new_id "$id"
	[ "$transport" != memif ] ||
		die "remove: not with --transport memif (the switch's ports are fixed at its start; 'kill $id' stops the node)"
	[ -n "${H[$id]:-}" ] || die "remove: node $id is not in this cluster (nodes: ${IDS[*]})"
	[ ${#IDS[@]} -gt 1 ] || die "remove: node $id is the last node: 'cluster.sh down' instead"
	if [ "$force" -eq 1 ]; then
		say "remove: --force: not asking whether node $id is still in the configuration"
	else
		member_check_gone "$id"
	fi
	h=${H[$id]}
	ns=$prefix-h$h
	stop_node "$id"
	# Deleting one end of a veth deletes its peer (the bridge port rn<id>b).
	if link_exists "$ns" "rn$id"; then ip -n "$ns" link del "rn$id"; fi
	if ip -4 route show exact "$subnet.$id/32" 2>/dev/null | grep -q "dev $prefix-r"; then
		ip route del "$subnet.$id/32"
	fi
	rm -rf "/var/run/dpdk/$(file_prefix_of "$id")"
	while read -r mnt; do
		rm -f "$mnt/$(file_prefix_of "$id")map_"*
	done < <(awk '$3 == "hugetlbfs" {print $2}' /proc/mounts 2>/dev/null)
	say "remove: node $id's veth rn$id (host $h), route and DPDK runtime files deleted"
	data=$run_dir/data/node$id
	if [ "$keep_data" -eq 1 ]; then
		say "remove: --keep-data: $data kept"
	elif [ -d "$data" ]; then
		rm -rf -- "$data"
		say "remove: its data dir $data deleted"
	fi
	if is_added "$id"; then
		config_drop_sections "$id"
		say "remove: [member.$id] dropped from $run_dir/cluster.ini"
	else
		say "remove: [member.$id] stays in $run_dir/cluster.ini (an initial member: the file keeps those)"
	fi
	rm -f "$(pid_file "$id")"
	unset "H[$id]"
	added=$(tr ' ' '\n' <<<"$added" | grep -vx "$id" | tr '\n' ' ' | sed 's/ *$//' || true)
	members_from_h
	save_state
	say "remove: node $id removed (nodes now: ${IDS[*]}; its log $(log_file "$id") kept)"
}
