#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (a): 3 nodes; 1,000 keys written through different nodes
# (followers redirect to the leader), all read back from every node, by
# linearizable reads and by stale reads once the nodes have converged. A
# pipelining client's retransmits (kvretry: its own frames, out of order)
# are answered from its session's window: a retry after later writes ok
# and not applied again, a lost request applied once, a retry older than
# the window (kv_session_window, 256 by default) bad_request.
# A 6,000-byte value goes through in one frame (af_packet at MTU 9000).
# With --busy-node node 2 polls (idle = busy) on an lcore pinned to a CPU,
# as on bare metal, beside nodes that sleep on events.
. "$(dirname "$0")/lib.sh"
it_setup_variant "${1:-}" --busy-node a 10.81.0 ab 10.97.0 --busy-node 2
it_up --nodes 3 "${up_args[@]}" --no-start
# Values of up to 7 KiB for it_put_jumbo (the default is 1 KiB), in as
# many slot bytes as the default's 65,536 keys of 1 KiB.
printf '\n[limits]\nkv_keys_max = 8192\nkv_value_bytes_max = 7168\n' >>"$IT_RUN/cluster.ini"
for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "cluster.sh start $n"; done
leader=$(it_wait_leader 60) || it_fail "no leader in 60 s"
it_log "cluster up; leader $leader"

[ "$(it_ctl --node 1 put k v)" = "" ] || true
got=$(it_ctl --node 2 get k) || it_fail "raftctl --node 2 get k failed"
[ "$got" = v ] || it_fail "raftctl --node 2 get k printed '$got', not 'v'"
it_put_jumbo "af_packet" "$leader"

"$IT_BUILD/tests/integration/kvbulk" put --count 1000 --via 1,2,3 --acked "$IT_WORK/acked" \
	|| it_fail "bulk put"
acked=$(wc -l <"$IT_WORK/acked")
[ "$acked" -eq 1000 ] || it_fail "only $acked of 1000 writes acknowledged"
for n in 1 2 3; do
	"$IT_BUILD/tests/integration/kvbulk" check --acked "$IT_WORK/acked" --node "$n" \
		|| it_fail "node $n does not read back every write"
done
state=$(it_wait_converged 60 1 2 3) || it_fail "nodes did not converge"
for n in 1 2 3; do
	"$IT_BUILD/tests/integration/kvbulk" check --stale --acked "$IT_WORK/acked" --node "$n" \
		|| it_fail "node $n's own state lacks a write"
done
if [ ${#up_args[@]} -gt 0 ]; then
	grep -q "idle = busy" "$IT_RUN/cluster.ini" || it_fail "cluster.ini has no busy node"
fi
"$IT_BUILD/tests/integration/kvretry" --node "$leader" --window 256 ||
	it_fail "a retransmit was not answered from the session's window"
it_pass "1000 keys written through nodes 1-3, read back from each (applied commit digest: $state); pipelined retransmits answered from the session window"
