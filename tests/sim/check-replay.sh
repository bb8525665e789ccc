#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Replay determinism: the same seed gives a byte-identical trace, and the
# totals of a multi-seed run do not depend on how many worker processes
# ran it (wall-clock figures cut off).
set -euo pipefail
raftsim=$1
a=$(mktemp /tmp/raftsim-replay.XXXXXX)
b=$(mktemp /tmp/raftsim-replay.XXXXXX)
c=$(mktemp /tmp/raftsim-replay.XXXXXX)
trap 'rm -f "$a" "$b" "$c"' EXIT
"$raftsim" --seed 42 --trace >"$a"
"$raftsim" --seed 42 --trace >"$b"
lines=$(wc -l <"$a")
if [ "$lines" -lt 1000 ]; then
	echo "check-replay: the trace of seed 42 is suspiciously short ($lines lines)" >&2
	exit 1
fi
cmp "$a" "$b" || { echo "check-replay: two traces of seed 42 differ" >&2; exit 1; }
echo "check-replay: seed 42 traced twice, $lines identical lines"
cp "$a" "$c"
"$raftsim" --seed 7 --seeds 40 --jobs 1 | sed 's/, [0-9]* steps\/s.*//' >"$a"
"$raftsim" --seed 7 --seeds 40 --jobs 2 | sed 's/, [0-9]* steps\/s.*//' >"$b"
diff "$a" "$b" || { echo "check-replay: totals depend on --jobs" >&2; exit 1; }
cat "$a"
# A different seed must give a different run (the seed is really used).
"$raftsim" --seed 43 --trace >"$b"
if cmp -s "$c" "$b"; then
	echo "check-replay: seeds 42 and 43 gave the same trace" >&2
	exit 1
fi
echo "check-replay: ok"
