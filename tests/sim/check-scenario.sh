#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Plays one scenario and diffs its story against the recorded one.
#   check-scenario.sh RAFTSIM SCENARIO.txt            (test)
#   check-scenario.sh RAFTSIM SCENARIO.txt --record   (rewrite SCENARIO.out)
# A scenario passes when raftsim exits 0 (every expectation held, no
# property violated) and its output is byte-identical to SCENARIO.out, so a
# change in the core's behaviour shows up as a readable diff of the story.
set -euo pipefail
raftsim=$1
scenario=$2
expected=${scenario%.txt}.out
actual=$(mktemp /tmp/raftsim-scenario.XXXXXX)
trap 'rm -f "$actual"' EXIT
rc=0
"$raftsim" --scenario "$scenario" >"$actual" 2>&1 || rc=$?
if [ "${3:-}" = "--record" ]; then
	cp "$actual" "$expected"
	echo "recorded $expected (raftsim exit $rc)"
	exit "$rc"
fi
cat "$actual"
if [ $rc -ne 0 ]; then
	echo "check-scenario: raftsim exited $rc for $scenario" >&2
	exit 1
fi
if ! diff -u "$expected" "$actual"; then
	echo "check-scenario: the story of $scenario differs from $expected (diff above)" >&2
	exit 1
fi
