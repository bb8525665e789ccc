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

# fold_meson_counts DIR RC: adds DIR's testlog to the counts (RC: meson
# test's exit status: non-zero with no failed test is a failure too).
fold_meson_counts() {
	local dir=$1 rc=$2 p f s names
	if [ ! -f "$dir/meson-logs/testlog.json" ]; then
		failed=$((failed + 1))
		failures+=("$dir:no-testlog")
		return
	fi
	read -r p f s names < <(count_meson "$dir")
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	if [ -n "${names:-}" ]; then
		for n in $names; do failures+=("$dir:$n"); done
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		failed=$((failed + 1))
		failures+=("$dir:meson-test-exit-$rc")
	fi
}

run_meson_tests() {
	local dir=$1
	shift
	local rc=0
	meson test -C "$dir" --num-processes 2 --print-errorlogs "$@" || rc=$?
	fold_meson_counts "$dir" $rc
}

# The sanitizer and fuzz trees build, and their suites run, beside
# build/'s suites: those mostly wait (the integration tests run one at a
# time, nodes and timers and disk syncs), and the two builds, the ASan
# suites and the nine 20-s fuzz runs took 4 of the 20 minutes CI has when
# they ran after them. All of it at SCHED_IDLE (nice 19 where chrt is
# missing), so a test of build/ that wants a CPU takes it from them at once:
# those tests run as loaded as on any busy machine, which they must pass
# anyway. (A fuzz target at idle priority runs its 20 s with fewer
# executions when the CPUs are busy.) The side's output goes to a log,
# printed whole once it ends.
have_clang=0
command -v clang >/dev/null 2>&1 && have_clang=1
side_dir=$(mktemp -d /tmp/raftnode-test-side.XXXXXX)
side_log=$side_dir/log
side_run() {
	if [ $do_asan -eq 1 ]; then
		echo "== build: build-asan/ (ASan + UBSan) [$(date +%T)]"
		configure build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false
		ninja -C build-asan >/dev/null
	fi
	# libFuzzer targets (tests/fuzz): clang only, in their own build
	# directory. Only the fuzz targets are built there, so the rest of the
	# tree need not be clang-clean.
	local targets=()
	if [ $do_fuzz -eq 1 ] && [ $have_clang -eq 1 ]; then
		echo "== build: build-fuzz/ (clang, libFuzzer + ASan + UBSan) [$(date +%T)]"
		if [ -f build-fuzz/build.ninja ]; then
			meson setup --reconfigure build-fuzz -Dfuzz=true -Dbench=false >/dev/null
		else
			CC=clang CXX=clang++ meson setup build-fuzz -Dfuzz=true -Dbench=false >/dev/null
		fi
		mapfile -t targets < <(meson introspect --targets build-fuzz | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if t["name"].startswith("fuzz_") and t["type"] == "executable":
        print(os.path.relpath(t["filename"][0], "build-fuzz"))')
		if [ ${#targets[@]} -gt 0 ]; then
			ninja -C build-fuzz "${targets[@]}" >/dev/null
		fi
	fi
	local rc
	if [ $do_asan -eq 1 ]; then
		echo "== tests: build-asan/ (suites unit and sanitize) [$(date +%T)]"
		# At nice 19 rather than SCHED_IDLE: the lcore tests set their
		# threads' EEVDF slice, which the node (rightly) leaves alone
		# under any policy but SCHED_OTHER.
		if chrt --other -p 0 $BASHPID 2>/dev/null; then
			renice -n 19 -p $BASHPID >/dev/null
		fi
		rc=0
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			meson test -C build-asan --num-processes 2 --print-errorlogs \
			--suite unit --suite sanitize || rc=$?
		echo $rc >"$side_dir/asan.rc"
	fi
	if [ ${#targets[@]} -gt 0 ]; then
		# Each fuzz target runs for fuzz_seconds (20 s) and fails on any
		# finding.
		echo "== tests: build-fuzz/ (suite fuzz, ${#targets[@]} targets) [$(date +%T)]"
		rc=0
		meson test -C build-fuzz --no-rebuild --num-processes 2 --print-errorlogs \
			--suite fuzz || rc=$?
		echo $rc >"$side_dir/fuzz.rc"
	fi
	echo "== side done [$(date +%T)]"
}
side_pid=
if [ $do_asan -eq 1 ] || { [ $do_fuzz -eq 1 ] && [ $have_clang -eq 1 ]; }; then
	phase "side: build-asan/ and build-fuzz/ built and tested at idle priority, beside build/'s tests (log $side_log)"
	# In a process group of its own (job control just for this launch),
	# so that a test.sh stopped early (Ctrl-C, a CI timeout) takes the
	# side's builds and fuzzers with it rather than leaving them running.
	set -m
	(
		set -euo pipefail
		# The subshell takes the priority itself, before it starts anything:
		# every process it starts inherits it.
		chrt --idle -p 0 $BASHPID 2>/dev/null || renice -n 19 -p $BASHPID
		side_run
	) >"$side_log" 2>&1 &
	side_pid=$!
	set +m
	trap 'kill -TERM -- -"$side_pid" 2>/dev/null || true; rm -rf "$side_dir"' EXIT
fi

phase "tests: build/"
run_meson_tests build "${suites[@]}"

if [ -n "$side_pid" ]; then
	phase "side: waiting for build-asan/ and build-fuzz/"
	rc=0
	wait "$side_pid" || rc=$?
	phase "side: its log"
	cat "$side_log"
	if [ $rc -ne 0 ]; then
		echo "test.sh: the sanitizer / fuzz side failed (exit $rc) before its tests ended" >&2
		record side $rc
	fi
	[ -f "$side_dir/asan.rc" ] && fold_meson_counts build-asan "$(cat "$side_dir/asan.rc")"
	[ -f "$side_dir/fuzz.rc" ] && fold_meson_counts build-fuzz "$(cat "$side_dir/fuzz.rc")"
fi
rm -rf "$side_dir"
if [ $do_fuzz -eq 1 ] && [ $have_clang -eq 0 ]; then
	phase "fuzz: skipped, clang not installed"
	record fuzz-needs-clang 77
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
