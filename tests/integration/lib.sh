# SPDX-License-Identifier: MIT
# lib.sh - shared by the integration tests (sourced): a cluster of real
# raftnode processes in network namespaces, brought up by scripts/cluster.sh
# with this test's own prefix, subnet and run directory, and always torn
# down on exit. Usage in a test:
#   . lib.sh; it_setup NAME SUBNET; it_up --nodes 3; ...; it_pass "what held"
# The tests need root and `ip netns`; without them they exit 77 (skipped).

set -euo pipefail

it_fail() {
	echo "FAIL [$IT_NAME]: $*" >&2
	if [ -n "${IT_RUN:-}" ] && [ -d "$IT_RUN/logs" ]; then
		for f in "$IT_RUN"/logs/*.log; do
			echo "--- tail of $f" >&2
			tail -n 15 "$f" >&2 || true
		done
	fi
	exit 1
}

it_log() { echo "[$IT_NAME $(date +%T)] $*"; }

# it_dir_bytes DIR: the bytes under DIR, read while a node writes it. du
# fails when a file goes between its readdir and its stat (a snapshot's
# .tmp renamed, a compacted segment deleted), and a rename can hide the file
# under both names, so a failed reading is taken again, not summed short.
it_dir_bytes() {
	local b try
	for try in 1 2 3 4 5 6 7 8 9 10; do
		if b=$(du -sb "$1" 2>/dev/null); then
			echo "${b%%[[:space:]]*}"
			return 0
		fi
	done
	it_fail "du -sb $1 failed 10 times in a row: $(du -sb "$1" 2>&1 | head -3)"
}

# it_setup NAME SUBNET: names everything after the test; BUILD and SRC
# come from the environment meson sets (IT_BUILD, IT_SRC).
it_setup() {
	IT_NAME=$1
	IT_SUBNET=$2
	if [ "$(id -u)" -ne 0 ] || ! ip netns list >/dev/null 2>&1; then
		echo "SKIP: needs root and ip netns"
		exit 77
	fi
	IT_BUILD=${IT_BUILD:?IT_BUILD: the build directory}
	IT_SRC=${IT_SRC:?IT_SRC: the source directory}
	IT_PREFIX="i$IT_NAME"
	IT_RUN=$(mktemp -d "/tmp/raftnode-it-$IT_NAME.XXXXXX")
	IT_WORK="$IT_RUN.work"
	mkdir -p "$IT_WORK"
	export RAFTNODE_RUN_DIR=$IT_RUN
	export RAFTNODE_CONFIG=$IT_RUN/cluster.ini
	# What an earlier run of this test left (killed by a timeout: no trap).
	"$IT_SRC/scripts/cluster.sh" down --prefix "$IT_PREFIX" >/dev/null 2>&1 || true
	trap it_cleanup EXIT
}

# it_setup_variant ARG FLAG NAME SUBNET VNAME VSUBNET CLUSTER_FLAGS...: a test
# with a variant. ARG is the script's first argument: when it is FLAG, the
# variant (its own name and subnet) and up_args holds CLUSTER_FLAGS (the
# stages it places apart, for it_up); else the plain test, up_args empty.
it_setup_variant() {
	local arg=$1 flag=$2
	up_args=()
	if [ "$arg" = "$flag" ]; then
		it_setup "$5" "$6"
		up_args=("${@:7}")
	else
		it_setup "$3" "$4"
	fi
}

it_cleanup() {
	local rc=$?
	# A load still running (the test failed before it_stop_load): what it
	# does no longer counts, and its bound could keep it alive for minutes.
	local job
	for job in $(jobs -p); do kill -KILL "$job" 2>/dev/null || true; done
	"$IT_SRC/scripts/cluster.sh" down --run-dir "$IT_RUN" --prefix "$IT_PREFIX" >/dev/null 2>&1 || true
	rm -rf "$IT_WORK"
	exit $rc
}

it_cluster() { "$IT_SRC/scripts/cluster.sh" "$@" --run-dir "$IT_RUN"; }

it_up() {
	"$IT_SRC/scripts/cluster.sh" up "$@" --run-dir "$IT_RUN" --prefix "$IT_PREFIX" \
		--subnet "$IT_SUBNET" --build "$IT_BUILD" || it_fail "cluster.sh up $*"
	IT_NODES=$(grep -c '^\[member\.' "$IT_RUN/cluster.ini")
}

it_ctl() { "$IT_BUILD/client/raftctl" --config "$IT_RUN/cluster.ini" "$@"; }

# it_field ID JQ_EXPR: one field of node ID's status ("" if it does not answer).
it_field() {
	it_ctl --node "$1" --timeout-ms 500 --json status 2>/dev/null | jq -r "$2" 2>/dev/null || true
}

# it_leader [EXCEPT]: the leader most live nodes agree on (not EXCEPT), or "".
it_leader() {
	local except=${1:-0} i l votes=""
	for i in $(seq 1 "$IT_NODES"); do
		[ "$i" = "$except" ] && continue
		l=$(it_field "$i" '.leader')
		if [ -n "$l" ] && [ "$l" != 0 ] && [ "$l" != null ] && [ "$l" != "$except" ]; then
			votes="$votes $l"
		fi
	done
	echo "$votes" | tr ' ' '\n' | { grep -v '^$' || true; } | sort | uniq -c | sort -rn |
		awk 'NR==1{print $2}'
}

# it_wait_leader TIMEOUT_S [EXCEPT]: prints the leader once one is agreed.
# TIMEOUT_S (and it_wait_converged's) bounds a hang, nothing more: the tests
# pass 60, which a loaded 2-CPU machine never needs and a hung node hits.
it_wait_leader() {
	local end=$((SECONDS + $1)) l
	while [ $SECONDS -lt $end ]; do
		l=$(it_leader "${2:-0}")
		if [ -n "$l" ] && [ "$(it_field "$l" '.role')" = leader ]; then
			echo "$l"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# it_wait_converged TIMEOUT_S NODES...: same applied index and digest.
it_wait_converged() {
	local end=$((SECONDS + $1)) i line first
	shift
	while [ $SECONDS -lt $end ]; do
		first=""
		local same=1
		for i in "$@"; do
			line=$(it_field "$i" '"\(.applied_index) \(.commit_index) \(.kv.digest)"')
			[ -z "$first" ] && first=$line
			if [ -z "$line" ] || [ "$line" != "$first" ]; then
				same=0
				break
			fi
		done
		if [ $same = 1 ]; then
			echo "$first"
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# it_now_ms: a clock in milliseconds, for the times a test reports.
it_now_ms() { date +%s%3N; }

# it_wait_lines FILE N TIMEOUT_S: 0 once FILE has at least N lines (a load's
# acknowledged writes), 1 after TIMEOUT_S (a bound on a hang, not a pace).
it_wait_lines() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -lt "$2" ] || return 0
		sleep 0.1
	done
	return 1
}

# it_stop_load PID: asks a load (linload, kvbulk put) to stop with SIGTERM
# and returns its exit status. The load ends when the test's faults are
# done, so what it did is never a measure of how fast the machine is.
it_stop_load() {
	kill -TERM "$1" 2>/dev/null || true # already gone: wait says how it ended
	local rc=0
	wait "$1" || rc=$?
	return $rc
}

it_pass() { echo "PASS [$IT_NAME]: $*"; }

# it_put_jumbo LABEL VIA_NODE: frames as large as the port carries (issue
# 15): a value of 6,000 bytes (a frame of more than 1,500 bytes: cluster.ini's
# mtu_bytes sizes raftctl's frames) written through node VIA_NODE and read
# back, linearizably, from every node.
it_put_jumbo() {
	local big got n
	grep -q '^mtu_bytes = 9000' "$IT_RUN/cluster.ini" || it_fail "$1: cluster.ini has no mtu_bytes = 9000"
	big=$(head -c 3000 /dev/urandom | od -An -tx1 | tr -d ' \n')
	[ ${#big} -eq 6000 ] || it_fail "$1: could not make a 6,000-byte value"
	it_ctl --node "$2" put jumbo "$big" || it_fail "$1: a put of a 6,000-byte value (one frame of > 1,500 bytes) failed"
	for n in 1 2 3; do
		got=$(it_ctl --node "$n" get jumbo) || it_fail "$1: node $n: get jumbo failed"
		[ "$got" = "$big" ] || it_fail "$1: node $n read back ${#got} bytes, not the 6,000 written"
	done
	it_log "$1: a 6,000-byte value written and read back from nodes 1-3 in 9,014-byte frames"
}
