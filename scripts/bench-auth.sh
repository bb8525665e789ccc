#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What frame authentication and client encryption cost, end to end (issue
# 17, item 5; not in CI): one 3-node kernel-UDP cluster, three settings of
# [cluster] taken in turn, ROUNDS times interleaved, the order rotated each
# round (off on enc, on enc off, enc off on, ...), so that every setting
# meets the same minutes of the shared machine's noise and none is always
# first or last:
#   off  auth = off: BENCHMARK ONLY, no tag made or checked (the nodes run
#        with --bench-allow-auth-off, through a wrapper given to cluster.sh)
#   on   the default: every frame tagged (SipHash-2-4, 128 bits)
#   enc  on, and client_encryption = on (client bodies AES-256-GCM)
# Each turn restarts the three nodes with the setting on empty data
# directories (a fresh cluster: a log grown by the turns before would slow
# the later ones) and runs raftbench's closed loop (INFLIGHT writes in flight,
# VALUE_BYTES values) for DURATION seconds. Prints each turn's commits/s,
# then each setting's median and the ratios on/off and enc/off (target:
# >= 0.9) from this one run. Under the shared network-namespace lock.
#   scripts/bench-auth.sh [BUILD_DIR]
#   env: ROUNDS (3) DURATION (8) INFLIGHT (1000) VALUE_BYTES (1024)
#        BA_PERF=DIR: also perf profiles of each turn, the nodes'
#        (DIR/SETTING.ROUND.perf) and raftbench's (DIR/SETTING.ROUND.client.perf):
#        raftbench shares the CPUs, so what it spends per request counts too
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
if [ -z "${BA_LOCKED:-}" ]; then
	BA_LOCKED=1 exec flock -o /tmp/raftnode-netns.lock "$0" "$build"
fi
rounds=${ROUNDS:-3} duration=${DURATION:-8} inflight=${INFLIGHT:-1000}
value_bytes=${VALUE_BYTES:-1024}
export IT_BUILD=$build IT_SRC=$src
. "$src/tests/integration/lib.sh"
it_setup ba 10.68.0
wrapper=$IT_WORK/raftnode-bench
printf '#!/bin/sh\nexec %q --bench-allow-auth-off "$@"\n' "$build/node/raftnode" >"$wrapper"
chmod +x "$wrapper"
it_up --nodes 3 --transport udp --no-start --daemon "$wrapper"
ini=$IT_RUN/cluster.ini

setting() { # setting off|on|enc: the [cluster] keys of that setting, nodes restarted
	local n
	for n in 1 2 3; do it_cluster kill "$n" --signal TERM >/dev/null 2>&1 || true; done
	for n in 1 2 3; do rm -rf "$IT_RUN/data/node$n" && mkdir -p "$IT_RUN/data/node$n"; done
	sed -i '/^auth = /d; /^client_encryption = /d' "$ini"
	case $1 in
	off) sed -i 's/^\[cluster\]$/[cluster]\nauth = off/' "$ini" ;;
	enc) sed -i 's/^\[cluster\]$/[cluster]\nclient_encryption = on/' "$ini" ;;
	esac
	for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "start of node $n ($1)"; done
	it_wait_leader 60 >/dev/null || it_fail "no leader ($1)"
}

node_cpu_ticks() { # the three nodes' CPU time so far (user + system, clock ticks)
	local pid sum=0
	for pid in $(pgrep -f -- "--config $ini --id"); do
		sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
	done
	echo "$sum"
}

measure() { # measure SETTING ROUND: one closed loop; prints its commits/s and the nodes' CPU µs per commit
	local out=$IT_WORK/$1.$2.json t0 t1
	t0=$(node_cpu_ticks)
	local perf_pid=
	if [ -n "${BA_PERF:-}" ]; then # BA_PERF=DIR: the nodes' profile of each turn
		mkdir -p "$BA_PERF"
		perf record -q -F 1999 -o "$BA_PERF/$1.$2.perf" \
			-p "$(pgrep -d, -f -- "--config $ini --id")" >/dev/null 2>&1 &
		perf_pid=$!
	fi
	local client_perf=()
	if [ -n "${BA_PERF:-}" ]; then
		client_perf=(perf record -q -F 1999 -o "$BA_PERF/$1.$2.client.perf" --)
	fi
	"${client_perf[@]}" "$build/bench/raftbench" --config "$ini" --concurrency "$inflight" --duration "$duration" \
		--warmup 2 --value-bytes "$value_bytes" --trace-every 0 --quiet --json >"$out" \
		2>"$out.err" || it_fail "raftbench ($1, round $2): $(tail -3 "$out.err")"
	t1=$(node_cpu_ticks)
	# The frames the leader sent in the turn.
	local n st
	rm -f "$IT_WORK/memo.last"
	for n in 1 2 3; do
		st=$("$build/client/raftctl" --config "$ini" --node "$n" --json status 2>/dev/null) || continue
		if [ "$(jq -r '.role' <<<"$st")" = leader ]; then
			jq -r '"leader: frames sent \(.counters.frames_tx)"' <<<"$st" >"$IT_WORK/memo.last"
		fi
	done
	if [ -n "$perf_pid" ]; then
		kill -INT "$perf_pid" 2>/dev/null || true
		wait "$perf_pid" 2>/dev/null || true
	fi
	# CPU per commit counts the warm-up's commits too: the whole run's
	# commits from raftbench's totals where it gives them, else rate x time.
	jq -r --argjson ticks "$((t1 - t0))" --argjson hz "$(getconf CLK_TCK)" --argjson d "$duration" \
		'"\(.commits_per_s) \(($ticks / $hz) * 1e6 / ((.commits_total // (.commits_per_s * ($d + 2))) | if . == 0 then 1 else . end) * 10 | floor / 10)"' "$out"
}

declare -A got cpu
order=(off on enc)
for r in $(seq 1 "$rounds"); do
	k=$(((r - 1) % 3))
	for s in "${order[@]:$k}" "${order[@]:0:$k}"; do
		setting "$s"
		read -r v c < <(measure "$s" "$r")
		got[$s]="${got[$s]:-} $v"
		cpu[$s]="${cpu[$s]:-} $c"
		it_log "round $r: $s $v commits/s, the nodes' CPU ${c} µs per commit (${inflight} in flight, ${value_bytes} B values; $(cat "$IT_WORK/memo.last" 2>/dev/null))"
	done
done
grep -h "WARNING: \[cluster\] auth = off" "$IT_RUN"/logs/node1.log | head -1 >&2 || true
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
m_off=$(echo "${got[off]}" | median)
m_on=$(echo "${got[on]}" | median)
m_enc=$(echo "${got[enc]}" | median)
echo
echo "| setting | commits/s per round | median | / off |"
echo "|---|---|---:|---:|"
for s in off on enc; do
	m=$(echo "${got[$s]}" | median)
	printf '| %s | %s | %.0f | %.3f |\n' "$s" "$(echo "${got[$s]}" | xargs | sed 's/ /, /g')" \
		"$m" "$(echo "$m $m_off" | awk '{print $1 / $2}')"
done
echo
printf "the nodes' CPU per commit (median µs, a figure the shared machine's other work hardly moves): off %s, on %s, enc %s\n" \
	"$(echo "${cpu[off]}" | median)" "$(echo "${cpu[on]}" | median)" "$(echo "${cpu[enc]}" | median)"
printf 'ratios from this run (median of %s rounds, %s in flight, %s B values, udp, 3 nodes): auth on / off = %.3f, encryption on / off = %.3f (target >= 0.9)\n' \
	"$rounds" "$inflight" "$value_bytes" "$(echo "$m_on $m_off" | awk '{print $1 / $2}')" \
	"$(echo "$m_enc $m_off" | awk '{print $1 / $2}')"
