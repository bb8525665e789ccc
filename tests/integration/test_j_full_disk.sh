#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (j): a full disk handled cleanly. All three nodes keep their
# data directories on ONE small loop-mounted ext4 (tmpfs refuses O_DIRECT),
# with 1 MiB segments and a 4 MiB reserve, so they see the same free space
# and the disk fills in seconds: a filler file leaves less than a segment +
# the reserve free; writes go on until the next segment cannot be prepared;
# then the no-space alarm: writes answer no_space (raftctl says so, the
# status shows the alarm and the free bytes, the node's log one line),
# linearizable and stale reads are served, the nodes stay in the cluster (a
# leadership transfer works: the new leader's no-op fits the room kept in
# the active segment), a node restarted under the alarm starts with its log
# intact; the filler deleted, the alarm clears by itself and writes succeed.
# Then one follower alone on a small disk of its own, filled: it holds what
# it cannot store, stays a follower of the same leader and term while the
# others commit, and catches up once its disk has room.
# Every write acknowledged before, during and after is read back.
. "$(dirname "$0")/lib.sh"
it_setup j 10.89.0
for tool in mkfs.ext4 losetup mount umount fallocate df; do
	command -v "$tool" >/dev/null || { echo "SKIP: no $tool (scripts/setup.sh installs e2fsprogs, util-linux)"; exit 77; }
done
SEG=$((1 << 20))
RESERVE=$((4 << 20))
IMG=$IT_WORK/disk.img
MNT=$IT_WORK/disk
# The mount goes even when the test fails: the cluster first (its nodes hold
# files there), then the file system, then the image.
fd_cleanup() {
	local rc=$? job
	for job in $(jobs -p); do kill -KILL "$job" 2>/dev/null || true; done
	"$IT_SRC/scripts/cluster.sh" down --run-dir "$IT_RUN" --prefix "$IT_PREFIX" >/dev/null 2>&1 || true
	local m
	# Innermost first: a follower's own disk is mounted inside the first.
	for m in $(awk -v w="$IT_WORK/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	rm -rf "$IT_WORK"
	exit $rc
}
trap fd_cleanup EXIT
truncate -s 128M "$IMG"
mkfs.ext4 -q -F "$IMG" || it_fail "mkfs.ext4 $IMG"
mkdir -p "$MNT"
mount -o loop "$IMG" "$MNT" || { echo "SKIP: cannot loop-mount an ext4 image here"; exit 77; }
# cluster.sh puts data_dir at $IT_RUN/data/node<i>: a link to the small disk
# (down removes the link, not the disk's files; the trap unmounts it).
mkdir -p "$IT_RUN"
ln -s "$MNT" "$IT_RUN/data"
it_up --nodes 3 --no-start
printf '\n[storage]\nsegment_bytes = %s\nspace_reserve_bytes = %s\n' "$SEG" "$RESERVE" \
	>>"$IT_RUN/cluster.ini"
for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "start of node $n"; done
leader=$(it_wait_leader 60) || it_fail "no leader in 60 s"
"$IT_BUILD/tests/integration/kvbulk" put --count 100 --via 1,2,3 --key-prefix before \
	--acked "$IT_WORK/acked" >/dev/null || it_fail "writes before the disk filled"

free_bytes() { df -B1 --output=avail "$MNT" | tail -1 | tr -d ' '; }
# Leave half a segment above the reserve: no alarm yet (free >= reserve),
# but no node can prepare its next segment once it rolls into the spare it
# has ready.
avail=$(free_bytes)
fallocate -l $((avail - RESERVE - SEG / 2)) "$MNT/filler" || it_fail "fallocate the filler"
it_log "disk: $(free_bytes) bytes free after the filler (reserve $RESERVE, segment $SEG)"
[ "$(it_field "$leader" .alarm)" = none ] || it_fail "alarm up before the disk filled"

# Writes until no_space comes back.
"$IT_BUILD/bench/raftbench" --config "$IT_RUN/cluster.ini" --duration 8 --warmup 0 \
	--concurrency 8 --value-bytes 1000 --keys 100000 --json --quiet \
	>"$IT_WORK/bench.json" 2>"$IT_WORK/bench.err" &
bench=$!
end=$((SECONDS + 60))
while [ "$(it_field "$leader" .alarm)" != no_space ]; do
	[ $SECONDS -lt $end ] || it_fail "no alarm after 60 s of writes (free $(free_bytes))"
	sleep 0.2
done
wait "$bench" || it_fail "raftbench: $(cat "$IT_WORK/bench.err")"
ok=$(jq -r .ok "$IT_WORK/bench.json")
refused=$(jq -r .no_space "$IT_WORK/bench.json")
[ "$refused" -gt 0 ] || it_fail "raftbench saw no no_space reply: $(cat "$IT_WORK/bench.json")"
it_log "raftbench: $ok writes acknowledged, then $refused answered no_space"

# What the status, the error and the log say.
status=$(it_ctl --node "$leader" --json status) || it_fail "status of the leader"
it_log "leader $leader status: $(echo "$status" | jq -c '{alarm, space}')"
[ "$(echo "$status" | jq -r .alarm)" = no_space ] || it_fail "status: no alarm"
[ "$(echo "$status" | jq -r .space.free_bytes)" -lt $((RESERVE + SEG)) ] ||
	it_fail "status: free_bytes not below a segment + the reserve"
[ "$(echo "$status" | jq -r .space.refused)" -gt 0 ] ||
	it_fail "status: no refused write counted"
[ "$(echo "$status" | jq -r .role)" = leader ] || it_fail "the leader lost its role under the alarm"
rc=0
err=$(it_ctl put fullkey fullvalue 2>&1) || rc=$?
[ $rc -ne 0 ] && echo "$err" | grep -q "no_space" || it_fail "put under the alarm: rc $rc, '$err'"
it_log "raftctl put: $err"
grep -q "raftnode $leader: ALARM no_space" "$IT_RUN/logs/node$leader.log" ||
	it_fail "no ALARM line in node $leader's log"
# The alarm names its cause; the log's own line comes with the log's. On
# one disk for three nodes the others' segments may take the room first
# (the next segment is written as the active one fills): then the free
# space is under the reserve before this log needs its next segment.
alarm_line=$(grep "raftnode $leader: ALARM no_space" "$IT_RUN/logs/node$leader.log" | head -1)
case "$alarm_line" in
*"the log has no room for its next segment"*)
	grep -q "NO SPACE for the next segment" "$IT_RUN/logs/node$leader.log" ||
		it_fail "the alarm names the log, and no storage line in node $leader's log" ;;
*"the file system has less free than the reserve"*) ;;
*) it_fail "the alarm line names no cause the test knows: $alarm_line" ;;
esac
it_log "node $leader's alarm: ${alarm_line#*ALARM no_space: }"

# Reads are served: linearizable from the leader, stale from every node.
"$IT_BUILD/tests/integration/kvbulk" check --acked "$IT_WORK/acked" --node "$leader" ||
	it_fail "a linearizable read failed under the alarm"
for n in 1 2 3; do
	"$IT_BUILD/tests/integration/kvbulk" check --acked "$IT_WORK/acked" --node "$n" --stale ||
		it_fail "a stale read from node $n failed under the alarm"
done
# The nodes stay in the cluster: a new leader's no-op goes into the room
# the alarm kept, and it serves linearizable reads.
for n in 1 2 3; do [ "$n" = "$leader" ] || other=$n; done
it_ctl transfer-leader "$other" >/dev/null || it_fail "transfer-leader $other under the alarm"
end=$((SECONDS + 60))
while [ "$(it_field "$other" .role)" != leader ]; do
	[ $SECONDS -lt $end ] || it_fail "node $other did not become leader"
	sleep 0.1
done
leader=$other
"$IT_BUILD/tests/integration/kvbulk" check --acked "$IT_WORK/acked" --node "$leader" ||
	it_fail "the new leader $leader serves no linearizable read under the alarm"
it_log "leadership moved to node $leader under the alarm; reads served"

# A node restarted under the alarm starts, its log intact.
killed=$leader
it_cluster kill "$killed" >/dev/null || it_fail "kill -9 of node $killed"
it_cluster start "$killed" >/dev/null || it_fail "node $killed did not start under the alarm"
leader=$(it_wait_leader 60) || it_fail "no leader after the restart"
it_wait_converged 60 1 2 3 >/dev/null || it_fail "nodes did not converge after the restart"
sed -n '/SIGKILL sent/,$p' "$IT_RUN/logs/node$killed.log" | grep -q "NO SPACE for the next segment" ||
	it_fail "node $killed, restarted, does not say it is short of space"
[ "$(it_field "$killed" .alarm)" = no_space ] || it_fail "node $killed restarted without its alarm"
it_log "node $killed killed -9 and restarted under the alarm: started, log intact, alarm up again"
for n in 1 2 3; do
	"$IT_BUILD/tests/integration/kvbulk" check --acked "$IT_WORK/acked" --node "$n" --stale ||
		it_fail "an acknowledged write was lost on node $n"
done

# Space returns: the alarm clears by itself, writes succeed again.
rm -f "$MNT/filler"
end=$((SECONDS + 30))
for n in 1 2 3; do
	while [ "$(it_field "$n" .alarm)" != none ]; do
		[ $SECONDS -lt $end ] || it_fail "node $n's alarm did not clear in 30 s"
		sleep 0.2
	done
done
it_ctl put fullkey fullvalue >/dev/null || it_fail "put after space returned"
"$IT_BUILD/tests/integration/kvbulk" put --count 100 --via 1,2,3 --key-prefix after \
	--acked "$IT_WORK/acked" >/dev/null || it_fail "writes after space returned"
grep -q "alarm no_space cleared" "$IT_RUN/logs/node$leader.log" ||
	it_fail "no 'cleared' line in node $leader's log"
state=$(it_wait_converged 60 1 2 3) || it_fail "nodes did not converge after space returned"

# A follower alone out of space: its data moved to a small disk of its own
# and filled, it holds the appends it cannot store (not acknowledged), keeps
# voting and following while the leader and the other follower commit; its
# disk freed, it stores them and catches up.
leader=$(it_wait_leader 60) || it_fail "no leader before the follower's turn"
for n in 1 2 3; do [ "$n" = "$leader" ] || f=$n; done
it_cluster kill "$f" --signal TERM >/dev/null || it_fail "stop of node $f"
truncate -s 64M "$IT_WORK/disk2.img"
mkfs.ext4 -q -F "$IT_WORK/disk2.img" || it_fail "mkfs.ext4 disk2"
mv "$MNT/node$f" "$MNT/node$f.moved"
mkdir "$MNT/node$f"
mount -o loop "$IT_WORK/disk2.img" "$MNT/node$f" || it_fail "mount of node $f's own disk"
cp -a "$MNT/node$f.moved/." "$MNT/node$f/" && rm -rf "$MNT/node$f.moved" || it_fail "copy of node $f's data"
it_cluster start "$f" >/dev/null || it_fail "start of node $f on its own disk"
avail=$(df -B1 --output=avail "$MNT/node$f" | tail -1 | tr -d ' ')
fallocate -l $((avail - RESERVE - SEG / 2)) "$MNT/node$f/filler" || it_fail "fallocate node $f's filler"
"$IT_BUILD/bench/raftbench" --config "$IT_RUN/cluster.ini" --duration 60 --warmup 0 \
	--concurrency 8 --value-bytes 1000 --keys 100000 --quiet >/dev/null 2>&1 &
bench=$!
end=$((SECONDS + 60))
until [ "$(it_field "$f" '.space.held // 0')" -ge 1 ] 2>/dev/null; do
	[ $SECONDS -lt $end ] || it_fail "node $f holds no append after 60 s of writes"
	sleep 0.2
done
sleep 1 # the leader and the other follower go on committing meanwhile
kill -KILL "$bench" 2>/dev/null || true
wait "$bench" 2>/dev/null || true
fs=$(it_ctl --node "$f" --json status) || it_fail "status of node $f"
ls_=$(it_ctl --node "$leader" --json status) || it_fail "status of the leader"
it_log "follower $f: $(echo "$fs" | jq -c '{role, term, leader, durable_index, alarm, space}')"
it_log "leader $leader: $(echo "$ls_" | jq -c '{role, term, commit_index, alarm}')"
[ "$(echo "$fs" | jq -r .alarm)" = no_space ] || it_fail "node $f: no alarm"
[ "$(echo "$fs" | jq -r .role)" = follower ] && [ "$(echo "$fs" | jq -r .leader)" = "$leader" ] ||
	it_fail "node $f left the cluster under the alarm"
[ "$(echo "$fs" | jq -r .term)" = "$(echo "$ls_" | jq -r .term)" ] || it_fail "node $f: another term"
[ "$(echo "$ls_" | jq -r .alarm)" = none ] || it_fail "the leader raised an alarm"
[ "$(echo "$fs" | jq -r .durable_index)" -lt "$(echo "$ls_" | jq -r .commit_index)" ] ||
	it_fail "node $f stored everything: nothing was held"
it_ctl put heldkey heldvalue >/dev/null || it_fail "a write with one follower short of space"
rm -f "$MNT/node$f/filler"
state=$(it_wait_converged 60 1 2 3) || it_fail "node $f did not catch up once its disk had room"
end=$((SECONDS + 30))
while [ "$(it_field "$f" .alarm)" != none ]; do
	[ $SECONDS -lt $end ] || it_fail "node $f's alarm did not clear in 30 s: $(it_field "$f" .space)"
	sleep 0.2
done
[ "$(it_field "$f" '.space.held // 0')" = 0 ] || it_fail "node $f still holds appends"
sed -n '/start node '"$f"' in/,$p' "$IT_RUN/logs/node$f.log" | tail -n +2 | grep -v "^raftnode $f: lcore" |
	sed 's/^/  node '"$f"': /' | tail -12
"$IT_BUILD/tests/integration/kvbulk" check --acked "$IT_WORK/acked" --node "$f" --stale ||
	it_fail "node $f lost an acknowledged write"
it_log "follower $f stored its held appends and caught up ($state)"
grep -h "no_space\|NO SPACE\|space is back" "$IT_RUN"/logs/node*.log | sed 's/^/  log: /' | head -20
for n in 1 2 3; do
	"$IT_BUILD/tests/integration/kvbulk" check --acked "$IT_WORK/acked" --node "$n" ||
		it_fail "an acknowledged write was lost (node $n)"
done
acked=$(wc -l <"$IT_WORK/acked")
it_pass "no_space alarm raised and cleared on a full ext4; $refused writes refused; all $acked acknowledged writes intact ($state)"
