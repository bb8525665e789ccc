#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (k): snapshots and compaction keep the data directory bounded,
# and every node restarts from its newest snapshot plus the log's tail.
# Tiny thresholds ([storage] snapshot_entries = 2000, compact_margin_entries
# = 5000, 1 MiB segments, a 1,024-entry core window); raftbench writes 1 KiB
# values at 2,500/s for 15 s (a rate every follower keeps up with: one that
# falls more than the margin behind needs InstallSnapshot, which the
# consensus slice brings) while each node's data directory is measured twice a
# second: its largest size must stay under the README's bound
#   (ceil((3 x snapshot_entries + margin + log_entries_max) x R / S) + 3) x S
#   + 2 snapshots (at most kv_keys_max x (key + value + 6) + 4 KiB each)
# with R = 1,200 B a record (a 1 KiB put), S = segment_bytes. Without
# compaction the log would pass it several times over. Then every node is
# stopped and restarted: each loads a snapshot, replays the tail, and the
# nodes converge to the state they had; node 1, whose newest snapshot was
# damaged meanwhile, refuses it (file and offset named) and falls back to
# the older one.
. "$(dirname "$0")/lib.sh"
it_setup k 10.97.0
# The nodes run through a wrapper that adds --from-snapshot FILE while
# $IT_WORK/from-snapshot names one (the new cluster at the end).
cat >"$IT_WORK/raftnode-wrap" <<WRAP
#!/bin/sh
f="$IT_WORK/from-snapshot"
if [ -s "\$f" ]; then exec "$IT_BUILD/node/raftnode" "\$@" --from-snapshot "\$(cat "\$f")"; fi
exec "$IT_BUILD/node/raftnode" "\$@"
WRAP
chmod +x "$IT_WORK/raftnode-wrap"
it_up --nodes 3 --no-start --daemon "$IT_WORK/raftnode-wrap"
snap_entries=2000 margin=5000 window=1024 seg=$((1 << 20)) rec=1200 keys=1000
printf '\n[limits]\nlog_entries_max = %d\nkv_keys_max = %d\n[storage]\nsnapshot_entries = %d\ncompact_margin_entries = %d\nsegment_bytes = %d\n' \
	"$window" "$keys" "$snap_entries" "$margin" "$seg" >>"$IT_RUN/cluster.ini"
for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "start of node $n"; done
it_wait_leader 60 >/dev/null || it_fail "no leader in 60 s"
entries=$((3 * snap_entries + margin + window))
segs=$(((entries * rec + seg - 1) / seg + 3))
snap_max=$((keys * (64 + 1024 + 6) + 4096 + 65536))
bound=$((segs * seg + 3 * snap_max + 65536)) # newest, older, spare (README)
it_log "bound: $segs segments of $seg B + 3 snapshot files of <= $snap_max B = $bound B"
"$IT_BUILD/bench/raftbench" --config "$IT_RUN/cluster.ini" --rate 2500 --duration 15 \
	--warmup 0 --value-bytes 1024 --keys "$keys" --quiet >"$IT_WORK/bench.out" 2>&1 &
bench=$!
max=0
while kill -0 "$bench" 2>/dev/null; do
	for n in 1 2 3; do
		b=$(it_dir_bytes "$IT_RUN/data/node$n")
		[ "$b" -gt "$max" ] && max=$b
	done
	sleep 0.5
done
wait "$bench" || it_fail "raftbench: $(tail -3 "$IT_WORK/bench.out")"
snaps=$(grep -c "snapshot at index" "$IT_RUN/logs/node1.log" || true)
it_log "node 1 took $snaps snapshots; largest data directory $max B (bound $bound B)"
[ "$snaps" -ge 3 ] || it_fail "node 1 took $snaps snapshots (want >= 3): $(tail -3 "$IT_RUN/logs/node1.log")"
[ "$max" -le "$bound" ] || it_fail "a data directory reached $max B, over the bound $bound B: $(ls -l "$IT_RUN/data/node1")"
for n in 1 2 3; do
	k=$(find "$IT_RUN/data/node$n" -name 'snap-*.snap' | wc -l)
	[ "$k" -le 2 ] || it_fail "node $n keeps $k snapshots (want <= 2)"
	[ -e "$IT_RUN/data/node$n/log-00000000000000000001.seg" ] &&
		it_fail "node $n's first segment is still there: the log was not compacted"
done
# The status says so too (a follower's: a leader's full status on a
# 1500-byte port may have no room left for it).
for n in 1 2 3; do
	st=$(it_field "$n" '"\(.snapshot.count) \(.snapshot.compacted_index)"')
	[ "$st" != "null null" ] && break
done
[ "${st%% *}" -ge 3 ] && [ "${st##* }" -gt 0 ] ||
	it_fail "node $n's status: snapshots and compacted index '$st'"
# Every node restarts from its snapshot plus the tail.
state=$(it_wait_converged 60 1 2 3) || it_fail "nodes did not converge under load"
for n in 1 2 3; do it_cluster kill "$n" --signal TERM >/dev/null; done
for n in 1 2 3; do
	for _ in $(seq 50); do
		grep -q "raftnode $n: stopped cleanly" "$IT_RUN/logs/node$n.log" && break
		sleep 0.1
	done
done
# Node 1's newest snapshot is damaged (a byte flipped in its first block):
# it is refused with its file and offset, and the older one is loaded (the
# log, compacted to the newest less the margin, covers the gap).
newest=$(find "$IT_RUN/data/node1" -name 'snap-*.snap' | sort | tail -1)
older=$(find "$IT_RUN/data/node1" -name 'snap-*.snap' | sort | head -1)
[ "$newest" != "$older" ] || it_fail "node 1 keeps one snapshot only"
printf '\xff' | dd of="$newest" bs=1 seek=5000 conv=notrunc status=none
for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "restart of node $n"; done
it_wait_leader 60 >/dev/null || it_fail "no leader after restarting every node"
grep -q "raftnode 1: snapshot refused: $newest: offset 4096: damaged snapshot block" \
	"$IT_RUN/logs/node1.log" || it_fail "node 1 did not refuse its damaged snapshot: $(grep 'raftnode 1: snapshot' "$IT_RUN/logs/node1.log" | tail -2)"
older_index=$(basename "$older" .snap | sed 's/^snap-0*//')
grep -q "raftnode 1: loaded the snapshot of index $older_index " "$IT_RUN/logs/node1.log" ||
	it_fail "node 1 did not fall back to its older snapshot ($older_index)"
for n in 1 2 3; do
	grep -q "raftnode $n: loaded the snapshot of index" "$IT_RUN/logs/node$n.log" ||
		it_fail "node $n did not restart from a snapshot: $(grep "raftnode $n: recovered" "$IT_RUN/logs/node$n.log" | tail -1)"
done
after=$(it_wait_converged 60 1 2 3) || it_fail "nodes did not converge after the restart"
[ "${after##* }" = "${state##* }" ] ||
	it_fail "the state's digest changed across the restart: before $state, after $after"
# A backup of node 1's newest snapshot, and a new cluster from it: every
# data directory emptied, every node started with --from-snapshot.
it_ctl --node 1 --json snapshot save "$IT_WORK/backup.snap" >"$IT_WORK/save.json" ||
	it_fail "raftctl snapshot save: $(cat "$IT_WORK/save.json")"
b_index=$(jq -r .index "$IT_WORK/save.json") b_digest=$(jq -r .digest "$IT_WORK/save.json")
for n in 1 2 3; do it_cluster kill "$n" --signal TERM >/dev/null; done
for n in 1 2 3; do rm -rf "${IT_RUN:?}/data/node$n"/*; done
echo "$IT_WORK/backup.snap" >"$IT_WORK/from-snapshot"
for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "start of node $n from the backup"; done
: >"$IT_WORK/from-snapshot"
it_wait_leader 60 >/dev/null || it_fail "no leader in the cluster started from the backup"
seeded=$(it_wait_converged 60 1 2 3) || it_fail "the cluster from the backup did not converge"
[ "${seeded##* }" = "$b_digest" ] ||
	it_fail "the cluster from the backup (index $b_index, digest $b_digest) has state $seeded"
grep -q "raftnode 2: a new cluster from $IT_WORK/backup.snap: index $b_index" "$IT_RUN/logs/node2.log" ||
	it_fail "node 2 did not say it started from the backup"
it_pass "data directory <= $max B under a bound of $bound B ($snaps snapshots on node 1); every node restarted from its snapshot (node 1 from its older one, the newest damaged) and converged ($after); a backup (index $b_index) started a new cluster with its state ($seeded)"
