#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# raftbench-selftest.sh - runs raftbench end to end against three fake
# nodes (bench/rb_fakenode: the client wire protocol over loopback UDP,
# replies after a fixed delay, traced stamps, a leader read from a file):
# a closed-loop and an open-loop run, a short sweep, two failover trials
# (the "kill" stops the fake leader and names the next one), then the
# plots and report.md. It checks raftbench's plumbing, not a cluster:
# the numbers are the fake's delay plus this machine's noise.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/raftbench-selftest.sh [--build DIR] [--out DIR]
  --build DIR  build directory (default ./build)
  --out DIR    where the results go (default: a new temporary directory)
USAGE
}

build=build out=""
while [[ $# -gt 0 ]]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--build) build=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) usage >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")/.." && pwd)
bench=$build/bench/raftbench
fake=$build/bench/rb_fakenode
[[ -x $bench && -x $fake ]] || { echo "selftest: build $build first (no raftbench or rb_fakenode)" >&2; exit 1; }
out=${out:-$(mktemp -d /tmp/raftbench-selftest.XXXXXX)}
mkdir -p "$out"
work=$(mktemp -d)
base_port=$((20000 + RANDOM % 20000))
echo "selftest: $bench against 3 fake nodes on 127.0.0.1:$base_port+, results in $out"

# Key files (issue 17): "ID HEX", mode 600. The fake nodes answer clients
# only, so they read the client key; the peer key is named, never used.
(umask 077 && echo "1 $(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$work/peer.key")
(umask 077 && echo "101 $(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$work/client.key")
echo 1 >"$work/leader"
{
	printf '[cluster]\nid = 7\npeer_key_file = %s\nclient_key_file = %s\n' "$work/peer.key" "$work/client.key"
	for i in 1 2 3; do printf '[member.%d]\nip = 127.0.0.1\nudp_port = %d\n' "$i" $((base_port + i)); done
	printf '[node]\ndata_dir = %s/d%%i\ntransport = udp\n' "$work"
} >"$work/cluster.ini"
# fake.sh start|kill ID: what --start-cmd and --kill-cmd run.
cat >"$work/fake.sh" <<FAKE
#!/usr/bin/env bash
set -euo pipefail
case \$1 in
start) "$fake" -s "$work/client.key" -p \$(( $base_port + \$2 )) -i \$2 -L "$work/leader" -d 300 \
	2>>"$work/fake.log" & echo \$! >"$work/pid\$2" ;;
kill) kill "\$(cat "$work/pid\$2")"; echo \$(( \$2 % 3 + 1 )) >"$work/leader" ;;
esac
FAKE
chmod +x "$work/fake.sh"
cleanup() {
	for i in 1 2 3; do [[ -f $work/pid$i ]] && kill "$(cat "$work/pid$i")" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
for i in 1 2 3; do "$work/fake.sh" start $i; done
sleep 0.3
export RAFTNODE_CONFIG=$work/cluster.ini
row=fake
"$bench" --concurrency 1 --duration 2 --warmup 0.5 --quiet --json --cdf "$out/$row.cdf.csv" \
	--timeseries "$out/$row.timeseries.csv" >"$out/$row.closed1.json"
"$bench" --concurrency 1000 --duration 2 --warmup 0.5 --quiet --json >"$out/$row.closed1000.json"
"$bench" --rate 2000 --duration 2 --warmup 0.5 --quiet --json >"$out/$row.open2000.json"
"$bench" sweep --rate-start 1000 --rate-factor 2 --step-duration 1 --max-steps 4 --quiet \
	--csv "$out/$row.sweep.csv" --json >"$out/$row.sweep.json"
"$bench" failover --trials 2 --rate 500 --json --kill-cmd "$work/fake.sh kill {id}" \
	--start-cmd "$work/fake.sh start {id}" >"$out/failover.json"
bash "$here/scripts/baseline.sh" --seconds 2 --build "$build" --out "$out/baseline.json"
bash "$here/scripts/plot.sh" "$out" >/dev/null
python3 "$here/scripts/report.py" "$out"
python3 - "$out" <<'PY'
import json, sys, os
d = sys.argv[1]
c1 = json.load(open(os.path.join(d, "fake.closed1.json")))
fo = json.load(open(os.path.join(d, "failover.json")))
assert c1["ok"] > 0 and c1["errors"] == 0, c1
assert c1["latency_us_p50"] >= 300, "the fake answers after 300 us"
assert "proposed_to_durable" in c1["stages"], c1["stages"]
assert fo["trials"] == 2 and fo["window_ms_p50"] > 0, fo
print(f"selftest: ok (p50 {c1['latency_us_p50']} us, failover window p50 {fo['window_ms_p50']} ms)")
PY
