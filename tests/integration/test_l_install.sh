#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (l): a follower stopped while the others commit and compact
# past its log's end comes back by InstallSnapshot. Tiny thresholds
# ([storage] snapshot_entries = 2000, compact_margin_entries = 1000, 1 MiB
# segments); raftbench writes 1 KiB values at 2,500/s for 8 s with one
# follower stopped; the follower restarted is offered the leader's
# snapshot (its next entry is compacted), receives it over the node's own
# transport, installs it and catches up to the leader's digest. Its
# installed counter and the leader's sent counter must be > 0; the time
# from its restart to the digest is printed. Then, with the follower up,
# kill -9 it mid-install (SIGKILL after the first chunks) a few times: it
# must start again each time and converge.
# scripts/bench-catchup-snapshot.sh runs it with more entries (L_RATE x
# L_SECONDS written while the follower is down) and no kill rounds.
# L_TRANSPORT (cluster.sh --transport; default cluster.sh's own) picks the
# transport: meson runs it on af_packet (DPDK) and on kernel UDP.
. "$(dirname "$0")/lib.sh"
it_setup l 10.99.0
rate=${L_RATE:-2500} secs=${L_SECONDS:-8} kills=${L_KILLS:-2}
L_TRANSPORT=${L_TRANSPORT:-${1:-}} # meson passes udp as $1 for its kernel-UDP case
[ "${1:-}" = udp ] && kills=${L_KILLS:-0} # the kill rounds run once, on af_packet
it_up --nodes 3 --no-start ${L_TRANSPORT:+--transport "$L_TRANSPORT"}
printf '\n[limits]\nlog_entries_max = 1024\nkv_keys_max = 20000\n[storage]\nsnapshot_entries = 2000\ncompact_margin_entries = 1000\nsegment_bytes = %d\n' \
	$((1 << 20)) >>"$IT_RUN/cluster.ini"
for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "start of node $n"; done
leader=$(it_wait_leader 60) || it_fail "no leader in 60 s"
f=$((leader % 3 + 1))
it_log "leader $leader; stopping follower $f"
it_cluster kill "$f" --signal TERM >/dev/null
bench() {
	"$IT_BUILD/bench/raftbench" --config "$IT_RUN/cluster.ini" --rate "$rate" --duration "$1" \
		--warmup 0 --value-bytes 1024 --keys 20000 --quiet >"$IT_WORK/bench.out" 2>&1 ||
		it_fail "raftbench: $(tail -3 "$IT_WORK/bench.out")"
}
bench "$secs"
other=$((f % 3 + 1)); [ "$other" = "$leader" ] && other=$((other % 3 + 1))
compacted=$(it_field "$other" '.snapshot.compacted_index')
it_log "node $other compacted to $compacted"
[ "${compacted:-0}" != null ] && [ "${compacted:-0}" -gt 0 ] || it_fail "node $other did not compact: $(it_field "$other" .)"
t0=$(it_now_ms)
it_cluster start "$f" >/dev/null || it_fail "restart of node $f"
after=$(it_wait_converged 600 1 2 3) || it_fail "node $f did not catch up: $(tail -8 "$IT_RUN/logs/node$f.log"; tail -5 "$IT_RUN/logs/node$leader.log"; it_field "$f" .; it_field "$leader" .followers)"
t1=$(it_now_ms)
inst=$(it_field "$f" '.snapshot.xfer.installed')
# The leader's full status on a 1500-byte port has no room for the
# snapshot object: its log line says what it sent.
sent=$(grep -c "raftnode $leader: snapshot [0-9]* ([0-9]* bytes) sent to node $f" "$IT_RUN/logs/node$leader.log" || true)
it_log "$(it_field "$leader" .commit_index) entries committed; follower $f back by InstallSnapshot in $((t1 - t0)) ms (installed $inst, leader sent $sent): $after"
[ "${inst:-0}" != null ] && [ "${inst:-0}" -gt 0 ] || it_fail "node $f installed no snapshot: $(grep -i snapshot "$IT_RUN/logs/node$f.log" | tail -5)"
grep -q "raftnode $f: installs the snapshot of index" "$IT_RUN/logs/node$f.log" || it_fail "node $f did not say it installed"
[ "$sent" -gt 0 ] || it_fail "the leader did not say it sent a snapshot to node $f"
# A kill -9 during the install: stopped again, more commits, restarted and
# killed as soon as it starts receiving; then started for good.
again="not run"
for round in $(seq 1 "$kills"); do
	it_cluster kill "$f" --signal TERM >/dev/null
	bench 4
	it_cluster start "$f" >/dev/null || it_fail "restart of node $f (round $round)"
	for _ in $(seq 100); do
		b=$(it_field "$f" '.snapshot.xfer.bytes_in')
		[ -n "$b" ] && [ "$b" != null ] && [ "$b" -gt 0 ] && break
		sleep 0.05
	done
	it_cluster kill "$f" --signal KILL >/dev/null
	it_log "round $round: node $f killed -9 after $b bytes received"
	it_cluster start "$f" >/dev/null || it_fail "node $f did not start after a kill -9 mid-install"
	again=$(it_wait_converged 60 1 2 3) || it_fail "node $f did not converge after a kill -9 mid-install (round $round): $(tail -5 "$IT_RUN/logs/node$f.log")"
done
# A kill -9 while the nodes snapshot and compact (every 2,000 entries, a
# snapshot about every 0.8 s at this rate, the compaction right after):
# node $other killed three times under load, each time restarted; it must
# start and converge with the others.
if [ "$kills" -gt 0 ]; then
	bench 6 &
	load=$!
	for k in 1 2 3; do
		sleep 1.3
		it_cluster kill "$other" --signal KILL >/dev/null
		it_cluster start "$other" >/dev/null || it_fail "node $other did not start after kill -9 $k under compaction"
	done
	wait "$load" || it_fail "raftbench during the compaction kills"
	comp=$(it_wait_converged 60 1 2 3) || it_fail "node $other did not converge after kill -9 under compaction: $(tail -5 "$IT_RUN/logs/node$other.log")"
	it_log "node $other killed -9 three times while snapshotting and compacting: converged ($comp)"
fi
it_pass "follower $f came back by InstallSnapshot in $((t1 - t0)) ms ($after); after kill -9 mid-transfer $kills times it started and converged ($again)"
