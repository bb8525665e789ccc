#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration (p): the Prometheus endpoint of every node (issue 17,
# deliverable 6). 3 nodes over kernel UDP (cluster.sh gives node i
# metrics_addr A.B.C.i:9100). Each node's GET /metrics is valid exposition
# text (promcheck.py: a strict parser) before and twice during a raftbench
# run; between the two scrapes under load the commit counter rises on every
# node, the leader's log-sync histogram and its bytes to each peer grow;
# histograms are cumulative with _count equal to +Inf (promcheck). `raftctl
# metrics` prints the same text. GET /health is 200 on every node, then
# 503 ("no leader") on a follower cut off by cluster.sh partition while the
# others stay 200, and 200 again after heal. Hostile requests get 405, 404
# and 400, and a client that connects and sends nothing does not stop the
# endpoint for longer than its read timeout (2 s). The alarm's 503 is in
# the unit test (test_node_metrics: node_metrics_health), as filling a disk
# is test (j)'s work.
. "$(dirname "$0")/lib.sh"
it_setup p 10.73.0
it_up --nodes 3 --transport udp
leader=$(it_wait_leader 60) || it_fail "no leader in 60 s"
it_log "cluster up; leader $leader"
check=$IT_SRC/tests/integration/promcheck.py

url() { echo "http://$IT_SUBNET.$1:9100$2"; }
# scrape NODE TAG: the node's text into $IT_WORK/TAG.NODE, checked, and its
# samples as JSON in $IT_WORK/TAG.NODE.json.
scrape() {
	local f=$IT_WORK/$2.$1
	curl -sS -m 5 -f -o "$f" "$(url "$1" /metrics)" || it_fail "GET /metrics of node $1"
	python3 "$check" "$f" --json "$f.json" >"$f.check" || it_fail "$(cat "$f.check")"
}
# value TAG NODE SAMPLE: one sample of a scrape.
value() {
	python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))[sys.argv[2]]))' \
		"$IT_WORK/$1.$2.json" "$3" || it_fail "no sample $3 in scrape $1 of node $2"
}
health() { curl -s -m 5 -o "$IT_WORK/health.$1" -w '%{http_code}' "$(url "$1" /health)" || true; }
# wait_health NODE CODE SECONDS
wait_health() {
	local end=$((SECONDS + $3)) code
	while [ $SECONDS -lt $end ]; do
		code=$(health "$1")
		[ "$code" = "$2" ] && return 0
		sleep 0.2
	done
	it_fail "node $1: /health $code ($(cat "$IT_WORK/health.$1" 2>/dev/null)), not $2 within $3 s"
}

for n in 1 2 3; do
	scrape "$n" idle
	wait_health "$n" 200 10
done
it_log "idle: $(cat "$IT_WORK/idle.1.check"); /health 200 on 1-3"

"$IT_BUILD/bench/raftbench" run --config "$IT_RUN/cluster.ini" --concurrency 64 --duration 8 \
	--warmup 1 --json --quiet >"$IT_WORK/bench.json" 2>"$IT_WORK/bench.err" &
bench=$!
sleep 3
for n in 1 2 3; do scrape "$n" s1; done
# The second scrape after raftbench ends: what it committed after the first
# is in the counters whatever the machine's speed (no window to fit in).
wait "$bench" || it_fail "raftbench: $(cat "$IT_WORK/bench.err")"
for n in 1 2 3; do scrape "$n" s2; done
ok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$IT_WORK/bench.json")
[ "$ok" -gt 0 ] || it_fail "raftbench got no write acknowledged"

c='raftnode_server_proposals_committed_total{}'
for n in 1 2 3; do
	a=$(value s1 "$n" "$c")
	b=$(value s2 "$n" "$c")
	[ "$b" -gt "$a" ] || it_fail "node $n: committed_total did not rise under load ($a -> $b)"
done
lead=$leader
[ "$(value s2 "$lead" 'raftnode_server_is_leader{}')" = 1 ] || it_fail "node $lead: is_leader not 1"
f='raftnode_disk_wal_fsync_duration_seconds_count{}'
a=$(value s1 "$lead" "$f"); b=$(value s2 "$lead" "$f")
[ "$b" -gt "$a" ] || it_fail "leader $lead: wal fsync histogram did not grow ($a -> $b)"
for p in 1 2 3; do
	[ "$p" != "$lead" ] || continue
	k="raftnode_network_peer_sent_bytes_total{To=\"$p\"}"
	a=$(value s1 "$lead" "$k"); b=$(value s2 "$lead" "$k")
	[ "$b" -gt "$a" ] || it_fail "leader $lead: bytes to $p did not rise ($a -> $b)"
done
it_log "under load: committed $(value s1 "$lead" "$c") -> $(value s2 "$lead" "$c") on the leader;" \
	"fsyncs timed $(value s2 "$lead" "$f"); raftbench ok $ok; the leader's text" \
	"$(wc -c <"$IT_WORK/s2.$lead") bytes: $(cat "$IT_WORK/s2.$lead.check")"

# raftctl metrics: the same text, from the node's metrics_addr.
"$IT_BUILD/client/raftctl" --config "$IT_RUN/cluster.ini" --node 2 metrics >"$IT_WORK/ctl.2" ||
	it_fail "raftctl --node 2 metrics"
python3 "$check" "$IT_WORK/ctl.2" >"$IT_WORK/ctl.check" || it_fail "$(cat "$IT_WORK/ctl.check")"

# Hostile requests: a method, a path, a bare LF, a silent client.
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST "$(url 1 /metrics)")
[ "$code" = 405 ] || it_fail "POST /metrics: $code, not 405"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$(url 1 /nope)")
[ "$code" = 404 ] || it_fail "GET /nope: $code, not 404"
raw=$(timeout 5 bash -c "exec 3<>/dev/tcp/$IT_SUBNET.1/9100; printf 'GET /metrics HTTP/1.1\n\n' >&3; head -c 12 <&3") || true
[ "$raw" = "HTTP/1.1 400" ] || it_fail "a bare-LF request: '$raw', not HTTP/1.1 400"
timeout 10 bash -c "exec 3<>/dev/tcp/$IT_SUBNET.1/9100; sleep 8" &
silent=$!
sleep 0.2
t0=$(it_now_ms)
code=$(curl -s -m 6 -o /dev/null -w '%{http_code}' "$(url 1 /health)")
waited=$(( $(it_now_ms) - t0 ))
kill "$silent" 2>/dev/null || true
wait "$silent" 2>/dev/null || true
# curl gives up after 6 s and the silent client holds its connection 8 s:
# a 200 means the endpoint dropped it (its 2 s read timeout) without a
# bound on how fast this machine is.
[ "$code" = 200 ] || it_fail "/health behind a silent client: $code (the endpoint waited on it)"
it_log "hostile: 405, 404, 400; /health answered $waited ms behind a silent client"

# A follower cut off: 503 once it knows no leader; the others stay 200.
cut=$(( lead % 3 + 1 ))
it_cluster partition --node "$cut" >/dev/null || it_fail "partition --node $cut"
wait_health "$cut" 503 30
why=$(cat "$IT_WORK/health.$cut")
for n in 1 2 3; do
	[ "$n" = "$cut" ] || wait_health "$n" 200 10
done
it_cluster heal >/dev/null || it_fail "heal"
wait_health "$cut" 200 60
it_pass "valid exposition from 3 nodes idle and under raftbench (committed_total, fsync histogram, peer bytes rise; raftctl metrics too); /health 503 on cut-off node $cut ($why), 200 elsewhere and after heal; hostile requests 405/404/400, silent client bounded"
