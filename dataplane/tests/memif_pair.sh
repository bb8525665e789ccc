#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two-process memif test: dp_memif_peer --role server and --role client,
# each its own DPDK process (own --file-prefix, --no-huge when no
# hugepages), joined by one net_memif link on a private socket. The client
# sends FRAMES authenticated AppendEntries frames; the server checks that
# every one arrives, in order, intact, and returns the sealed count.
# Exit 77 with a reason when DPDK or memif cannot start here.
set -euo pipefail

peer=$1
frames=${2:-100000}
tag="rnm$(( $$ % 100000 ))"
sock="/tmp/$tag.sock"
slog=$(mktemp /tmp/raftnode-memif-s.XXXXXX)
clog=$(mktemp /tmp/raftnode-memif-c.XXXXXX)
spid=""
cleanup() {
	if [ -n "$spid" ] && kill -0 "$spid" 2>/dev/null; then
		kill "$spid" 2>/dev/null || true
		wait "$spid" 2>/dev/null || true
	fi
	rm -f "$sock" "$slog" "$clog"
	rm -rf "/var/run/dpdk/${tag}s" "/var/run/dpdk/${tag}c"
}
trap cleanup EXIT

# On two or more CPUs the peers poll on different cores.
server_lcore=0
if [ "$(nproc)" -ge 2 ]; then server_lcore=1; fi

"$peer" --role server --socket "$sock" --file-prefix "${tag}s" --lcores "$server_lcore" \
	--frames "$frames" --seconds 100 >"$slog" 2>&1 &
spid=$!
for _ in $(seq 1 100); do
	if grep -q '^ready' "$slog" || ! kill -0 "$spid" 2>/dev/null; then break; fi
	sleep 0.1
done
if ! grep -q '^ready' "$slog"; then
	rc=0
	wait "$spid" || rc=$?
	spid=""
	cat "$slog"
	if [ "$rc" -eq 77 ]; then
		echo "SKIP: DPDK/memif cannot start here (see above)"
		exit 77
	fi
	echo "FAIL: memif server did not start (exit $rc)"
	exit 1
fi

crc=0
"$peer" --role client --socket "$sock" --file-prefix "${tag}c" --lcores 0 \
	--frames "$frames" --seconds 90 >"$clog" 2>&1 || crc=$?
src=0
wait "$spid" || src=$?
spid=""
cat "$slog" "$clog"
if [ "$crc" -eq 77 ]; then
	echo "SKIP: DPDK/memif client cannot start here"
	exit 77
fi
if [ "$src" -ne 0 ] || [ "$crc" -ne 0 ]; then
	echo "FAIL: server exit $src, client exit $crc"
	exit 1
fi
grep -q "^result server received=$frames lost=0 reordered=0 corrupted=0 rejected=0" "$slog"
echo "PASS: $frames authenticated frames over memif, none lost, reordered or corrupted"
