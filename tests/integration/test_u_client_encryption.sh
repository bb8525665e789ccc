#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (u): client encryption ([cluster] client_encryption = on) on
# a 3-node kernel-UDP cluster. While raftctl writes values carrying a
# marker and reads them back (the normal client path, answers checked), a
# raw capture on the root namespace's veth into the nodes' host records
# every frame: the client frames in it are all sealed (header flag
# DP_HDR_ENCRYPTED) and no frame holds the marker's bytes. Then a client
# whose file says nothing of encryption (plaintext frames) gets no answer,
# and the leader counts its frames in drops.seal_mismatch. ~15 s.
. "$(dirname "$0")/lib.sh"
it_setup u 10.67.0
it_up --nodes 3 --transport udp --no-start
ini=$IT_RUN/cluster.ini
sed -i 's/^\[cluster\]$/[cluster]\nclient_encryption = on/' "$ini"
for n in 1 2 3; do it_cluster start "$n" >/dev/null || it_fail "start of node $n"; done
leader=$(it_wait_leader 60) || it_fail "no leader in 60 s"
it_log "leader $leader, client_encryption = on"

cap=$IT_WORK/capture.bin
marker=CLEARTEXT-MARKER-7f3a
python3 "$IT_SRC/tests/integration/capture.py" record "$IT_PREFIX-r1" "$cap" 30 &
cap_pid=$!
for _ in $(seq 100); do [ -e "$cap.ready" ] && break; sleep 0.1; done
[ -e "$cap.ready" ] || it_fail "the capture did not start on $IT_PREFIX-r1"
for i in $(seq 1 20); do
	it_ctl put "k$i" "$marker-$i" >/dev/null || it_fail "put k$i with encryption on"
done
for i in 1 10 20; do
	got=$(it_ctl get "k$i") || it_fail "get k$i with encryption on"
	[ "$got" = "$marker-$i" ] || it_fail "get k$i: '$got', expected '$marker-$i'"
done
st=$(it_ctl --node "$leader" --json status) || it_fail "status with encryption on"
kill -TERM "$cap_pid"
wait "$cap_pid" || true
res=$(python3 "$IT_SRC/tests/integration/capture.py" check "$cap" "$marker")
it_log "capture: $res"
echo "$res" | jq -e '.client_sealed >= 40 and .client_plain == 0 and .marker_found == 0' \
	>/dev/null || it_fail "client frames on the wire not all sealed, or the value in clear: $res"
[ "$(echo "$st" | jq .drops.seal_mismatch)" = 0 ] || it_fail "seal mismatches counted: $st"

# A client that does not encrypt: refused (counted), never answered.
plain=$IT_WORK/plain.ini
sed '/^client_encryption = on$/d' "$ini" >"$plain"
if "$IT_BUILD/client/raftctl" --config "$plain" --timeout-ms 1000 put kp v >/dev/null 2>&1; then
	it_fail "a plaintext client was answered by a cluster with client_encryption = on"
fi
m=0
for n in 1 2 3; do
	v=$(it_field "$n" .drops.seal_mismatch)
	m=$((m + ${v:-0}))
done
[ "$m" -gt 0 ] || it_fail "no node counted the plaintext client's frames as seal_mismatch"
it_pass "20 values written and read with client_encryption = on; $(echo "$res" | jq .client_sealed) client frames captured, all sealed, none holding the value; a plaintext client refused ($m seal_mismatch drops)"
