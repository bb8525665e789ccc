#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (m): membership changes live, under load, with a
# linearizability-checked history over all of them. Three nodes with tiny
# snapshot thresholds ([storage] snapshot_entries = 1000,
# compact_margin_entries = 5000: a few seconds of this load, so that a
# snapshot in transfer is still followed by the log; 1 MiB segments) are filled with 1 KiB
# writes until the leader has compacted its log's start away, so a node
# that joins empty can only catch up by InstallSnapshot. Then, while
# linload (4 clients: put/get/cas on 3 keys, every operation recorded),
# kvbulk (100 puts/s, every acknowledged one recorded) and raftbench
# (1 KiB puts, in 3 s rounds) run:
#   grow     `cluster.sh add 4`, `add 5` (plumbing, started with --join),
#            the `raftctl member add-learner` line add prints, run; both
#            catch up (at least one by snapshot: its installed counter > 0),
#            `raftctl member promote` each: 5 voters;
#   shrink   `raftctl member remove <leader>`: a new leader among the other
#            four; `member remove` of another voter: 3 voters;
#            `cluster.sh remove` of both (refused before, while a member);
#   replace  kill -9 of a follower, `member remove` of it, `cluster.sh
#            remove` of it, `cluster.sh add 6` (new id, empty disk),
#            add-learner, caught up, promoted: 3 voters, all answering.
# Then the loads stop; lincheck must find the history linearizable, every
# write kvbulk saw acknowledged must read back from the final leader, and
# the three voters' kv digests must be equal. One line per phase with its
# time. Every wait is for a condition, with a deadline that only bounds a
# hang (a loaded 2-CPU machine is slow, never this slow).
# $1 = udp runs it over kernel UDP (default: cluster.sh's DPDK af_packet).
. "$(dirname "$0")/lib.sh"
if [ "${1:-}" = udp ]; then
	it_setup mu 10.90.0
	up_args=(--transport udp)
else
	it_setup m 10.95.0
	up_args=()
fi
t_start=$(it_now_ms)
since() { local ms=$(($(it_now_ms) - $1)); echo "$((ms / 1000)).$((ms % 1000 / 100)) s"; }

it_up --nodes 3 --no-start ${up_args[@]+"${up_args[@]}"}
printf '\n[limits]\nlog_entries_max = 1024\nkv_keys_max = 65536\n[storage]\nsnapshot_entries = 1000\ncompact_margin_entries = 5000\nsegment_bytes = %d\n' \
	$((1 << 20)) >>"$IT_RUN/cluster.ini"
# The clients' file: the nodes' own plus the sections `add` will append
# for 4, 5 and 6 (the address scheme of scripts/cluster.sh: $subnet.<id>,
# port 9000), so the loads, started now, can follow a redirect to a node
# added later (a client only talks to the nodes its file names).
cp "$IT_RUN/cluster.ini" "$IT_WORK/client.ini"
for n in 4 5 6; do
	printf '\n[member.%d]\nip = %s.%d\nmac = 02:00:00:00:00:%02x\nhost = 1\nudp_port = 9000\n' \
		"$n" "$IT_SUBNET" "$n" "$n" >>"$IT_WORK/client.ini"
done
for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "start of node $n"; done

# ---- helpers -------------------------------------------------------------------

ids="1 2 3" # the nodes running now (cluster.sh's set)
ask=1       # the node raftctl asks first (the last leader seen): a removed
            # or killed node asked first would cost a timeout per call

# m_leader: the node of $ids that says it leads (the highest term if two do).
m_leader() {
	local i best="" best_term=-1 t
	for i in $ids; do
		[ "$(it_field "$i" .role)" = leader ] || continue
		t=$(it_field "$i" .term)
		if [ -n "$t" ] && [ "$t" -gt "$best_term" ]; then best=$i best_term=$t; fi
	done
	echo "$best"
}

# m_wait_leader TIMEOUT_S [EXCEPT]: a leader (not EXCEPT) the others follow.
m_wait_leader() {
	local end=$((SECONDS + $1)) l
	while [ $SECONDS -lt $end ]; do
		l=$(m_leader)
		if [ -n "$l" ] && [ "$l" != "${2:-0}" ]; then
			echo "$l"
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# m_members: `raftctl member list` as the leader answers it (a removed
# node keeps its last view: an answer counts when the node that gave it
# is the leader it names), in the text form. Retried: a leader change in
# between is not a failure.
m_members() {
	local end=$((SECONDS + 30)) out n
	while [ $SECONDS -lt $end ]; do
		for n in $ask $ids; do
			out=$(it_ctl --node "$n" --timeout-ms 3000 --json member list 2>&1) || continue
			[ "$(jq -r '.leader > 0 and .node == .leader' <<<"$out" 2>/dev/null)" = true ] || continue
			jq -r '(.members[] | "id=\(.id) role=\(.role) ip=\(.ip) udp_port=\(.udp_port) mac=\(.mac) match=\(.match)"),
				"config_index=\(.config_index) pending=\(.pending)"' <<<"$out"
			return 0
		done
		sleep 0.3
	done
	it_fail "raftctl member list: no answer from a leader in 30 s: $out"
}

# m_role_ids ROLE: the ids `member list` gives that role, space-separated.
m_role_ids() {
	m_members | sed -n "s/^id=\([0-9]*\) role=$1\( .*\)\?\$/\1/p" | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# m_done OP ID: the committed configuration shows what `member OP ID`
# asked for.
m_done() {
	local list
	list=$(m_members)
	grep -q ' pending=0$' <<<"$list" || return 1
	case "$1" in
	remove) ! grep -Eq "^id=$2 " <<<"$list" ;;
	promote) grep -Eq "^id=$2 role=voter( |$)" <<<"$list" ;;
	add-learner) grep -Eq "^id=$2 " <<<"$list" ;;
	*) return 1 ;;
	esac
}

# m_change TIMEOUT_S OP ID [ADDR]: `raftctl member OP ID`, retried while
# the core refuses it for now (learner_behind, change_pending, a leader
# change). An answer lost with a leader change (the removed leader's own
# removal, say) makes the retry fail although the change was made: so
# after every failure the configuration is asked whether it shows the
# change. The deadline fails the test.
m_change() {
	local end=$((SECONDS + $1)) out
	shift
	while :; do
		if out=$(it_ctl --node "$ask" --timeout-ms 10000 member "$@" 2>&1); then
			return 0
		fi
		! m_done "$1" "$2" || return 0
		[ $SECONDS -lt "$end" ] || it_fail "raftctl member $*: still refused after the deadline: $out; $(m_members)"
		it_log "raftctl member $*: $out (retrying)"
		sleep 0.5
	done
}

# m_caught_up TIMEOUT_S ID INDEX: node ID has applied INDEX.
m_caught_up() {
	local end=$((SECONDS + $1)) a
	while [ $SECONDS -lt $end ]; do
		a=$(it_field "$2" .applied_index)
		if [ -n "$a" ] && [ "$a" != null ] && [ "$a" -ge "$3" ]; then return 0; fi
		sleep 0.2
	done
	return 1
}

# m_add ID: cluster.sh add (started with --join), then the raftctl line it
# printed, run as printed.
m_add() {
	local out line
	out=$(it_cluster add "$1") || it_fail "cluster.sh add $1: $out"
	line=$(tail -n 1 <<<"$out")
	[[ "$line" == *" member add-learner $1 "* ]] || it_fail "cluster.sh add $1 printed no add-learner line: $out"
	local -a argv
	read -r -a argv <<<"$line"
	"${argv[@]}" >"$IT_WORK/add-learner-$1.out" 2>&1 ||
		it_fail "$line: $(cat "$IT_WORK/add-learner-$1.out")"
	ids="$ids $1"
}

# m_installed ID: snapshots node ID installed: its status's counter, or
# when its status had no room for the snapshot figures (a full frame
# under load), the installs its log reports.
m_installed() {
	local v
	v=$(it_field "$1" .snapshot.xfer.installed)
	if [ -z "$v" ] || [ "$v" = null ]; then
		v=$(grep -c "raftnode $1: installs the snapshot of index" "$IT_RUN/logs/node$1.log" || true)
		v="${v:-0} (log)"
	fi
	echo "$v"
}

m_drop_id() { ids=$(tr ' ' '\n' <<<"$ids" | grep -vx "$1" | tr '\n' ' ' | sed 's/ $//'); }

# ---- phase 0: filled past compaction, the loads started ---------------------

t0=$(it_now_ms)
leader=$(m_wait_leader 60) || it_fail "no leader in 60 s"
ask=$leader
bench() { # seconds rate: 1 KiB puts on 2,000 keys
	"$IT_BUILD/bench/raftbench" --config "$IT_WORK/client.ini" --rate "$2" --duration "$1" \
		--warmup 0 --value-bytes 1024 --keys 2000 --quiet
}
bench 5 1500 >"$IT_WORK/fill.out" 2>&1 || it_fail "raftbench fill: $(tail -3 "$IT_WORK/fill.out")"
# The leader must have compacted its log's start away: then a node that
# joins empty needs an entry it no longer has, and gets its snapshot. Its
# status on a 1500-byte port has no room for the snapshot figures (nor,
# under load, has a follower's): its data dir says it, the first segment
# (log-<first index>.seg) no longer starting at 1.
first_segment() { # id: the first index of node id's oldest segment
	local f
	f=$(find "$IT_RUN/data/node$1" -maxdepth 1 -name 'log-*.seg' -printf '%f\n' 2>/dev/null | sort | head -1)
	f=${f#log-}
	f=${f%.seg}
	echo $((10#${f:-0}))
}
end=$((SECONDS + 60))
until [ "$(first_segment "$leader")" -gt 1 ]; do
	[ $SECONDS -lt $end ] || it_fail "leader $leader did not compact in 60 s: $(ls "$IT_RUN/data/node$leader")"
	sleep 0.2
done
compacted=$(first_segment "$leader")
# --duration-s/--count bound a hung run (below meson's timeout);
# it_stop_load ends each.
"$IT_BUILD/tests/integration/linload" --config "$IT_WORK/client.ini" --clients 4 --keys 3 \
	--duration-s 170 --ops-after-stop 100 --seed $RANDOM --out "$IT_WORK/history" \
	>"$IT_WORK/linload.out" 2>&1 &
linload=$!
"$IT_BUILD/tests/integration/kvbulk" put --config "$IT_WORK/client.ini" --duration-s 170 \
	--acks-after-stop 20 --rate 100 --key-prefix m --acked "$IT_WORK/acked" >"$IT_WORK/kvbulk.out" 2>&1 &
kvbulk=$!
# raftbench has no stop signal: 3 s rounds until the flag file goes.
touch "$IT_WORK/bench-on"
(
	r=0
	while [ -e "$IT_WORK/bench-on" ]; do
		r=$((r + 1))
		rc=0
		bench 3 300 >"$IT_WORK/bench-round.out" 2>&1 || rc=$?
		echo "round $r rc=$rc $(tail -1 "$IT_WORK/bench-round.out")" >>"$IT_WORK/bench.out"
	done
) &
benchloop=$!
it_wait_lines "$IT_WORK/acked" 50 60 || it_fail "kvbulk: not 50 writes acknowledged in 60 s: $(cat "$IT_WORK/kvbulk.out")"
it_log "phase fill: leader $leader's log starts at $compacted (compacted); loads running ($(since "$t0"))"

# ---- phase 1: grow 3 -> 5 ------------------------------------------------------

t0=$(it_now_ms)
m_add 4
m_add 5
at=$(it_field "$(m_wait_leader 60)" .commit_index)
it_log "grow: 4 and 5 are learners ($(m_role_ids learner)); waiting for them to apply $at"
for n in 4 5; do
	m_caught_up 90 "$n" "$at" || it_fail "node $n did not catch up to $at in 90 s: $(it_field "$n" .); $(tail -5 "$IT_RUN/logs/node$n.log")"
done
inst4=$(m_installed 4) inst5=$(m_installed 5)
[ "$((${inst4%% *} + ${inst5%% *}))" -gt 0 ] ||
	it_fail "neither 4 nor 5 caught up by InstallSnapshot (installed 4: $inst4, 5: $inst5)"
m_change 60 promote 4
m_change 60 promote 5
voters=$(m_role_ids voter)
[ "$voters" = "1 2 3 4 5" ] || it_fail "after promoting 4 and 5 the voters are '$voters', not 1 2 3 4 5: $(m_members)"
it_log "phase grow: 5 voters ($voters); snapshots installed by 4: $inst4, by 5: $inst5 ($(since "$t0"))"

# ---- phase 2: shrink 5 -> 3, the leader first -----------------------------------

t0=$(it_now_ms)
old=$(m_wait_leader 60) || it_fail "no leader before the shrink"
if it_cluster remove "$old" >"$IT_WORK/refused.out" 2>&1; then
	it_fail "cluster.sh remove $old was not refused while it is a voter"
fi
grep -q "still in the configuration" "$IT_WORK/refused.out" || it_fail "cluster.sh remove $old: $(cat "$IT_WORK/refused.out")"
m_change 60 remove "$old"
new=$(m_wait_leader 60 "$old") || it_fail "no new leader in 60 s after removing leader $old"
ask=$new
# Another voter, a follower: the lowest of the initial nodes left.
other=""
for n in 1 2 3 4 5; do
	[ "$n" != "$old" ] && [ "$n" != "$new" ] && { other=$n; break; }
done
m_change 60 remove "$other"
voters=$(m_role_ids voter)
[ "$(wc -w <<<"$voters")" = 3 ] || it_fail "after two removals the voters are '$voters': $(m_members)"
for n in "$old" "$other"; do
	out=$(it_cluster remove "$n" 2>&1) || it_fail "cluster.sh remove $n after its removal: $out"
done
m_drop_id "$old"
m_drop_id "$other"
leader=$(m_wait_leader 60) || it_fail "no leader among $ids after the shrink"
ask=$leader
it_log "phase shrink: removed leader $old (new leader $new) and node $other; voters $voters, leader $leader ($(since "$t0"))"

# ---- phase 3: replace a killed voter by a new node ------------------------------

t0=$(it_now_ms)
dead=""
for n in $voters; do [ "$n" != "$leader" ] && { dead=$n; break; }; done
it_cluster kill "$dead" >/dev/null || it_fail "kill -9 of node $dead"
m_drop_id "$dead"
m_change 60 remove "$dead"
out=$(it_cluster remove "$dead" 2>&1) || it_fail "cluster.sh remove $dead after its removal: $out"
m_add 6
at=$(it_field "$(m_wait_leader 60)" .commit_index)
m_caught_up 90 6 "$at" || it_fail "node 6 did not catch up to $at in 90 s: $(it_field 6 .); $(tail -5 "$IT_RUN/logs/node6.log")"
inst6=$(m_installed 6)
m_change 60 promote 6
voters=$(m_role_ids voter)
learners=$(m_role_ids learner)
if [ "$(wc -w <<<"$voters")" != 3 ] || [[ " $voters " != *" 6 "* ]] || [ -n "$learners" ]; then
	it_fail "after the replacement: voters '$voters', learners '$learners': $(m_members)"
fi
leader=$(m_wait_leader 60) || it_fail "no leader after the replacement"
for n in $voters; do
	l=$(it_field "$n" .leader)
	[ "$l" = "$leader" ] || it_fail "voter $n names leader '$l', not $leader"
done
it_log "phase replace: node $dead killed -9 and removed, node 6 added (installed $inst6 snapshot(s)) and promoted; voters $voters, leader $leader ($(since "$t0"))"

# ---- phase 4: the loads stop; the checks ------------------------------------------

t0=$(it_now_ms)
rm -f "$IT_WORK/bench-on"
it_stop_load "$linload" || it_fail "linload: $(cat "$IT_WORK/linload.out")"
it_stop_load "$kvbulk" || it_fail "kvbulk: $(cat "$IT_WORK/kvbulk.out")"
wait "$benchloop" || true
leader=$(m_wait_leader 60) || it_fail "no leader at the end"
ops=$(grep -vc '^#' "$IT_WORK/history")
[ "$ops" -ge 200 ] || it_fail "only $ops operations recorded"
lin=$("$IT_BUILD/tests/lin/lincheck" "$IT_WORK/history") || {
	cp "$IT_WORK/history" "/tmp/raftnode-it-m-history.$$"
	it_fail "$lin (history kept in /tmp/raftnode-it-m-history.$$)"
}
check=$("$IT_BUILD/tests/integration/kvbulk" check --config "$IT_WORK/client.ini" --acked "$IT_WORK/acked" \
	--node "$leader" 2>&1) || it_fail "acknowledged writes lost: $check"
# shellcheck disable=SC2086 # the ids, one argument each
conv=$(it_wait_converged 60 $voters) || it_fail "voters $voters did not converge: $(for n in $voters; do it_field "$n" '"\(.applied_index) \(.kv.digest)"'; done)"
rounds=$(grep -c '^round' "$IT_WORK/bench.out" || true)
rounds_ok=$(grep -c '^round [0-9]* rc=0' "$IT_WORK/bench.out" || true)
it_log "phase check: $(cat "$IT_WORK/linload.out"); $(head -1 "$IT_WORK/kvbulk.out"); $check; voters $voters converged ($conv) ($(since "$t0"))"
it_pass "3 -> 5 -> 3 voters and a killed node replaced, under load (raftbench: $rounds_ok of $rounds 3-s rounds ended ok): $lin; snapshots installed by 4/5/6: $inst4/$inst5/$inst6; all in $(since "$t_start")"
