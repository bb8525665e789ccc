#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test command: installs what is needed (scripts/setup.sh), builds the
# release-like build in build/ and a sanitizer build (ASan + UBSan) in
# build-asan/, runs every test suite, and ends with one line
#   N passed, N failed[, N skipped]
# Exit status is 0 only when nothing failed.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/test.sh [--help] [--no-setup] [--no-asan] [--no-fuzz] [--suite NAME]...

Installs dependencies, builds build/ (debugoptimized, -Werror),
build-asan/ (address + undefined sanitizers) and build-fuzz/ (clang,
libFuzzer targets), runs scripts/check-deps.sh, every meson test suite and
each fuzz target for 20 s (-Dfuzz_seconds), and prints "N passed, N failed[, N skipped]".
  --no-setup    skip scripts/setup.sh (packages already installed)
  --no-asan     skip the sanitizer build
  --no-fuzz     skip the fuzz build and its runs
  --suite NAME  run only this meson suite (repeatable)
USAGE
}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
do_setup=1
do_asan=1
do_fuzz=1
suites=()
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--no-setup) do_setup=0 ;;
	--no-asan) do_asan=0 ;;
	--no-fuzz) do_fuzz=0 ;;
	--suite) shift; suites+=("--suite" "${1:?--suite needs a name}") ;;
	*) echo "test.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done

if [ $do_setup -eq 1 ]; then
	bash scripts/setup.sh
fi

# phase TEXT: a heading with the time since the start (CI has 20 minutes:
# which phase took them is the first thing to know when it runs long).
phase() { echo "== $* [$(date +%T), ${SECONDS} s in]"; }

passed=0
failed=0
skipped=0
failures=()

# One named check outside meson (shell checks): counted like a test.
record() {
	local name=$1 rc=$2
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	elif [ "$rc" -eq 77 ]; then
		skipped=$((skipped + 1))
	else
		failed=$((failed + 1))
		failures+=("$name")
	fi
}

configure() {
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

phase "build: build/ (debugoptimized, -Werror)"
configure build
ninja -C build >/dev/null

phase "check-deps: consensus/ is pure"
rc=0; bash scripts/check-deps.sh || rc=$?; record check-deps $rc
rc=0; bash scripts/check-deps.sh --self-test >/dev/null || rc=$?; record check-deps-self-test $rc

# Counts the results of one meson test run from its JSON log.
count_meson() {
	local dir=$1
	python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, sys
p = f = s = 0
names = []
with open(sys.argv[1]) as fh:
    for line in fh:
        t = json.loads(line)
        r = t["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif r == "SKIP":
            s += 1
        else:
            f += 1
            names.append(t["name"])
print(p, f, s, " ".join(names))
PY
}

run_meson_tests() {
	local dir=$1
	shift
	local rc=0
	meson test -C "$dir" --num-processes 2 --print-errorlogs "$@" || rc=$?
	read -r p f s names < <(count_meson "$dir")
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	if [ -n "${names:-}" ]; then
		for n in $names; do failures+=("$dir:$n"); done
	fi
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		failed=$((failed + 1))
		failures+=("$dir:meson-test-exit-$rc")
	fi
}

# The sanitizer and fuzz trees build while build/'s suites run: those
# suites mostly wait (nodes, timers, disk syncs), and the two builds took
# 100 s of the 20 minutes CI has when they ran after them. They build at
# SCHED_IDLE (nice 19 where chrt is missing), so a test that wants a CPU
# takes it from them at once: the tests run as loaded as on any busy
# machine, which they must pass anyway. Their output goes to a log that is
# printed if they fail.
fuzz_list=build-fuzz/.fuzz-targets
have_clang=0
command -v clang >/dev/null 2>&1 && have_clang=1
build_side_trees() {
	if [ $do_asan -eq 1 ]; then
		echo "-- build-asan/ (ASan + UBSan)"
		configure build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false
		ninja -C build-asan
	fi
	# libFuzzer targets (tests/fuzz): clang only, in their own build
	# directory. Only the fuzz targets are built there, so the rest of the
	# tree need not be clang-clean.
	if [ $do_fuzz -eq 1 ] && [ $have_clang -eq 1 ]; then
		echo "-- build-fuzz/ (clang, libFuzzer + ASan + UBSan)"
		if [ -f build-fuzz/build.ninja ]; then
			meson setup --reconfigure build-fuzz -Dfuzz=true -Dbench=false
		else
			CC=clang CXX=clang++ meson setup build-fuzz -Dfuzz=true -Dbench=false
		fi
		meson introspect --targets build-fuzz | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if t["name"].startswith("fuzz_") and t["type"] == "executable":
        print(os.path.relpath(t["filename"][0], "build-fuzz"))' >"$fuzz_list"
		if [ -s "$fuzz_list" ]; then
			mapfile -t targets <"$fuzz_list"
			ninja -C build-fuzz "${targets[@]}"
		fi
	fi
}
side_pid=
side_log=$(mktemp /tmp/raftnode-test-side-build.XXXXXX)
if [ $do_asan -eq 1 ] || { [ $do_fuzz -eq 1 ] && [ $have_clang -eq 1 ]; }; then
	phase "build: build-asan/ and build-fuzz/ at idle priority, beside build/'s tests (log $side_log)"
	(
		set -euo pipefail
		# The subshell takes the priority itself, before it starts anything:
		# every process of the builds inherits it.
		chrt --idle -p 0 $BASHPID 2>/dev/null || renice -n 19 -p $BASHPID
		build_side_trees
	) >"$side_log" 2>&1 &
	side_pid=$!
fi

phase "tests: build/"
run_meson_tests build "${suites[@]}"

if [ -n "$side_pid" ]; then
	phase "build: waiting for build-asan/ and build-fuzz/"
	rc=0
	wait "$side_pid" || rc=$?
	if [ $rc -ne 0 ]; then
		echo "test.sh: the sanitizer / fuzz build failed (exit $rc); its log:" >&2
		tail -40 "$side_log" >&2
		record side-build $rc
		do_asan=0
		do_fuzz=0
	fi
fi
rm -f "$side_log"

if [ $do_asan -eq 1 ]; then
	phase "tests: build-asan/ (suites unit and sanitize)"
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	run_meson_tests build-asan --suite unit --suite sanitize
fi

# Each fuzz target runs for fuzz_seconds (20 s) and fails on any finding.
if [ $do_fuzz -eq 1 ]; then
	if [ $have_clang -eq 1 ]; then
		if [ -s "$fuzz_list" ]; then
			phase "tests: build-fuzz/ (suite fuzz, $(wc -l <"$fuzz_list") targets)"
			run_meson_tests build-fuzz --no-rebuild --suite fuzz
		fi
	else
		phase "fuzz: skipped, clang not installed"
		record fuzz-needs-clang 77
	fi
fi

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
if [ $skipped -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ]
