#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The checker on known histories: ok_*.txt must be judged linearizable
# (exit 0) and bad_*.txt not (exit 1). A checker that accepts everything,
# or rejects everything, fails here.
set -euo pipefail
lincheck=$1
dir=$2
fail=0
for f in "$dir"/ok_*.txt "$dir"/bad_*.txt; do
	rc=0
	out=$("$lincheck" "$f") || rc=$?
	case "$(basename "$f")" in
	ok_*) want=0 ;;
	*) want=1 ;;
	esac
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $(basename "$f"): exit $rc, want $want: $out"
		fail=1
	else
		echo "ok   $(basename "$f"): $out"
	fi
done
exit $fail
