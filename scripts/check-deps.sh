#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Enforces the dependency rules of ../shared/DESIGN.md:
#  1. consensus/ is pure: it may not include DPDK (rte_*), liburing,
#     pthread, time or stdio headers, and it allocates only in create.c
#     (raft_create, i.e. at init);
#  2. node/ is cut along its lcores: every file says in its first comment
#     which stage runs it ("stage: NAME"), and that is its folder's (rxtx/,
#     control/, log/, apply/; files at node/'s top level run on main or
#     telemetry, and its shared headers, whose inline readers any stage
#     may use, say "any");
#  3. no object under one stage's folder has an undefined symbol that
#     another stage's folder defines (read from the built archives with
#     nm: an `extern` cannot slip past), and no call circle between node/'s
#     object files;
#  4. raftctl and raftbench depend on nothing under node/ (the build's own
#     dependency graph: ninja -t inputs);
#  5. snapxfer's transfer engine (snapxfer/engine_*.c) is pure: none of the
#     headers of rule 1 nor file or socket headers, no allocation, no clock
#     read (its thread, thread.c, does the I/O).
# Exits 1 naming each offending line, file or symbol.
#   --self-test  plants a violation of each rule in a scratch copy and
#                checks that it is caught (proves each check can fail).
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/check-deps.sh [--self-test] [--build DIR]

Checks that consensus/ includes no DPDK, liburing, pthread, time or stdio
header and calls malloc/calloc/realloc/free only in create.c; that
snapxfer's engine (snapxfer/engine_*.c) does no I/O, reads no clock and
allocates nothing; that each
node/ file names its folder's stage in its first comment; that no node/
stage folder calls into another (symbols of the built archives) and no
node/ files call each other in a circle; that raftctl and raftbench link
nothing of node/.
--build DIR  the meson build directory (default: build/); without one the
             checks on built objects are skipped (said, not passed)
--self-test  plant a violation of each rule in a scratch copy and check
             that this script rejects it.
USAGE
}

root=$(cd "$(dirname "$0")/.." && pwd)
graph="$root/scripts/lib/node_graph.py"
stages=(rxtx control log apply)

check_dir() {
	local dir=$1 bad=0 hits
	# Forbidden headers: <rte_*.h>, <liburing*.h>, <pthread.h>, <threads.h>,
	# <time.h>, <sys/time.h>, <stdio.h>, and their quoted forms.
	hits=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](rte_[^>"]*|liburing[^>"]*|pthread\.h|threads\.h|time\.h|sys/time\.h|stdio\.h)[>"]' \
		--include='*.c' --include='*.h' "$dir" || true)
	if [ -n "$hits" ]; then
		echo "check-deps: forbidden header in the consensus core:"
		echo "$hits"
		bad=1
	fi
	# Allocation after init: only create.c may call the allocator.
	hits=$(grep -rnE '\b(malloc|calloc|realloc|free|aligned_alloc|posix_memalign|strdup|mmap)[[:space:]]*\(' \
		--include='*.c' --include='*.h' "$dir" | grep -v -E '^[^:]*/create\.c:' || true)
	if [ -n "$hits" ]; then
		echo "check-deps: allocation outside create.c (the core allocates only at init):"
		echo "$hits"
		bad=1
	fi
	return $bad
}

# snapxfer's engine files under DIR: no I/O, thread, clock or allocation.
check_engine() {
	local dir=$1 bad=0 hits
	hits=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](rte_[^>"]*|liburing[^>"]*|pthread\.h|threads\.h|time\.h|sys/[^>"]*|stdio\.h|unistd\.h|fcntl\.h|poll\.h)[>"]' \
		"$dir"/engine_*.c || true)
	if [ -n "$hits" ]; then
		echo "check-deps: forbidden header in snapxfer's engine:"
		echo "$hits"
		bad=1
	fi
	hits=$(grep -nE '\b(malloc|calloc|realloc|free|aligned_alloc|posix_memalign|strdup|mmap|clock_gettime|gettimeofday|time|pread|pwrite|read|write|open|fsync)[[:space:]]*\(' \
		"$dir"/engine_*.c || true)
	if [ -n "$hits" ]; then
		echo "check-deps: allocation, clock or I/O in snapxfer's engine:"
		echo "$hits"
		bad=1
	fi
	return $bad
}

# The stage a file's first comment names: the first "stage: NAME" (a stage
# or main, telemetry, any) in the comment that opens the file (after the
# SPDX line).
file_stage() {
	awk 'NR == 1 && /SPDX/ { next }
	     !started && /^[[:space:]]*$/ { next }
	     !started { started = 1; if ($0 !~ /^\/\*/) exit }
	     { if (match($0, /stage: (rxtx|control|log|apply|main|telemetry|any)/)) {
	         print substr($0, RSTART + 7, RLENGTH - 7); exit }
	       if ($0 ~ /\*\//) exit }' "$1"
}

check_node_comments() {
	local dir=$1 bad=0 f rel folder want got
	while IFS= read -r f; do
		rel=${f#"$dir"/}
		got=$(file_stage "$f")
		case "$rel" in
		include/*) continue ;; # the module's public header: no code runs in it
		*/*) folder=${rel%%/*}; want=$folder ;;
		*) folder=.; want="main|telemetry"
		   case "$rel" in *.h) want="main|telemetry|any" ;; esac ;;
		esac
		if [ "$folder" != . ] && [[ ! " ${stages[*]} " == *" $folder "* ]]; then
			echo "check-deps: node/$rel: folder '$folder' is not a stage (${stages[*]})"
			bad=1
		elif [ -z "$got" ]; then
			echo "check-deps: node/$rel: its first comment names no stage ('stage: NAME')"
			bad=1
		elif ! [[ "$got" =~ ^($want)$ ]]; then
			echo "check-deps: node/$rel: says 'stage: $got', but its place says $want"
			bad=1
		fi
	done < <(find "$dir" -name '*.c' -o -name '*.h' | sort)
	return $bad
}

# ARCHIVE:FOLDER pairs of node/'s built stage libraries.
node_archives() {
	local b=$1/node s
	for s in "${stages[@]}"; do
		printf '%s\n' "$b/libnode_$s.a:$s"
	done
	printf '%s\n' "$b/libnode.a:apply" "$b/libnode_daemon.a:main"
}

check_node_symbols() {
	local build=$1 bad=0
	local -a pairs
	mapfile -t pairs < <(node_archives "$build")
	python3 "$graph" stages "${pairs[@]:0:5}" || bad=1
	python3 "$graph" circles "${pairs[@]}" || bad=1
	return $bad
}

# TARGET (a ninja output) depends on no file under node/.
check_tool() {
	local build=$1 target=$2 hits
	hits=$(ninja -C "$build" -t inputs "$target" | grep -E '(^|/)node/' || true)
	if [ -n "$hits" ]; then
		echo "check-deps: $target depends on the node library:"
		echo "$hits" | head -n 5
		return 1
	fi
}

check_tools() {
	local build=$1 bad=0
	check_tool "$build" client/raftctl || bad=1
	check_tool "$build" bench/raftbench || bad=1
	return $bad
}

expect_reject() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then
		echo "check-deps self-test: FAILED to reject: $what"
		exit 1
	fi
	echo "  rejected as expected: $what"
}

self_test() {
	local build=$1
	scratch=$(mktemp -d /tmp/raftnode-check-deps.XXXXXX)
	trap 'rm -rf "$scratch"' EXIT
	echo "check-deps self-test: the real tree must pass"
	check_dir "$root/consensus" >/dev/null
	check_node_comments "$root/node" >/dev/null
	for plant in '#include <stdio.h>' '#include <rte_mbuf.h>' '#include <pthread.h>' \
		'#include "liburing.h"' '#include <time.h>' 'static void *leak(void) { return malloc(8); }'; do
		rm -rf "$scratch/consensus"
		cp -r "$root/consensus" "$scratch/consensus"
		printf '%s\n' "$plant" >>"$scratch/consensus/step.c"
		expect_reject "consensus: $plant" check_dir "$scratch/consensus"
	done
	# A control file that says it runs on the log stage; a file that names
	# no stage; a top-level file that says it runs on control.
	for plant in 's/stage: control\./stage: log./' 's/stage: control\./runs somewhere./'; do
		rm -rf "$scratch/node"
		cp -r "$root/node" "$scratch/node"
		sed -i "0,/stage: control/{$plant}" "$scratch/node/control/step.c"
		expect_reject "node/control/step.c: $plant" check_node_comments "$scratch/node"
	done
	rm -rf "$scratch/node"
	cp -r "$root/node" "$scratch/node"
	sed -i '0,/stage: main/{s/stage: main/stage: control/}' "$scratch/node/daemon.c"
	expect_reject "node/daemon.c: stage: control at the top level" \
		check_node_comments "$scratch/node"
	check_engine "$root/snapxfer" >/dev/null
	for plant in '#include <unistd.h>' '#include <pthread.h>' \
		'static void *grab(void) { return malloc(8); }' \
		'static long now(void) { struct timespec ts; clock_gettime(1, &ts); return ts.tv_sec; }'; do
		rm -rf "$scratch/snapxfer"
		cp -r "$root/snapxfer" "$scratch/snapxfer"
		printf '%s\n' "$plant" >>"$scratch/snapxfer/engine_recv.c"
		expect_reject "snapxfer engine: $plant" check_engine "$scratch/snapxfer"
	done
	if [ -z "$build" ]; then
		echo "check-deps self-test: no build: the symbol and tool checks are not tested"
	else
		check_node_symbols "$build" >/dev/null
		check_tools "$build" >/dev/null
		# A control object that declares a log stage function `extern` and
		# calls it; two objects of one folder that call each other.
		cat >"$scratch/plant.c" <<'C'
extern unsigned node_log_stage_poll(void *ctx);
unsigned planted_control_call(void);
unsigned planted_control_call(void) { return node_log_stage_poll(0); }
C
		printf 'void circle_b(void);\nvoid circle_a(void);\nvoid circle_a(void) { circle_b(); }\n' \
			>"$scratch/a.c"
		printf 'void circle_a(void);\nvoid circle_b(void);\nvoid circle_b(void) { circle_a(); }\n' \
			>"$scratch/b.c"
		(cd "$scratch" && cc -c plant.c a.c b.c && ar rcs libplant.a plant.o &&
			ar rcs libcircle.a a.o b.o)
		expect_reject "an extern call from control/ into log/" python3 "$graph" stages \
			"$scratch/libplant.a:control" "$build/node/libnode_log.a:log"
		expect_reject "a call circle between two files" python3 "$graph" circles \
			"$scratch/libcircle.a:control"
		expect_reject "a tool that links the node library (raftnode)" \
			check_tool "$build" node/raftnode
	fi
	echo "check-deps self-test: ok"
}

mode=check
build=""
build_given=0
dir="$root/consensus"
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--self-test) mode=self-test ;;
	--build) shift; build=${1:?--build needs a directory}; build_given=1 ;;
	-*) echo "check-deps: unknown option '$1' (try --help)" >&2; exit 2 ;;
	*) dir=$1 ;;
	esac
	shift
done
if [ $build_given -eq 0 ] && [ -f "$root/build/build.ninja" ]; then
	build="$root/build"
fi
if [ -n "$build" ] && [ ! -f "$build/node/libnode_control.a" ]; then
	echo "check-deps: $build has no built node/ (run ninja -C $build first)" >&2
	exit 2
fi

if [ $mode = self-test ]; then
	self_test "$build"
	exit 0
fi

bad=0
if check_dir "$dir"; then
	echo "check-deps: ok ($dir is libc-only and allocates only at init)"
else
	bad=1
fi
if check_engine "$root/snapxfer"; then
	echo "check-deps: ok (snapxfer's engine does no I/O, reads no clock, allocates nothing)"
else
	bad=1
fi
if check_node_comments "$root/node"; then
	echo "check-deps: ok (every node/ file names its folder's stage)"
else
	bad=1
fi
if [ -z "$build" ]; then
	echo "check-deps: no build directory: node/'s symbols and the tools' dependencies not checked"
else
	if check_node_symbols "$build"; then
		echo "check-deps: ok (no node/ stage calls into another, no call circle in node/)"
	else
		bad=1
	fi
	if check_tools "$build"; then
		echo "check-deps: ok (raftctl and raftbench link nothing of node/)"
	else
		bad=1
	fi
fi
exit $bad
