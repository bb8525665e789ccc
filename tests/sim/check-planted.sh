#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A planted bug must be caught: raftsim --plant-bug NAME over 2,000 seeds
# with the default faults exits 1 and names the violated property and the
# seed. Exit 0 from raftsim (the bug went unnoticed) fails this test.
set -euo pipefail
raftsim=$1
bug=$2
nodes=${3:-5}
out=$(mktemp /tmp/raftsim-planted.XXXXXX)
trap 'rm -f "$out"' EXIT
rc=0
"$raftsim" --plant-bug "$bug" --seeds 2000 --nodes "$nodes" >"$out" 2>&1 || rc=$?
head -n 3 "$out"
tail -n 1 "$out"
if [ $rc -ne 1 ]; then
	echo "check-planted: '$bug' NOT caught in 2000 seeds (raftsim exit $rc)" >&2
	exit 1
fi
if ! grep -qE '^VIOLATION: seed [0-9]+: [A-Z][A-Za-z -]+: ' "$out"; then
	echo "check-planted: raftsim failed without naming a property and a seed" >&2
	exit 1
fi
if grep -q 'did NOT reproduce' "$out"; then
	echo "check-planted: the violating seed did not replay deterministically" >&2
	exit 1
fi
echo "check-planted: '$bug' caught"
