#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs one libFuzzer target for a fixed time from the checked-in seed corpus
# and fails (non-zero exit) on any crash, sanitizer report, timeout or
# out-of-memory. New corpus entries go to a scratch folder, so the
# checked-in seeds stay as they are; a crashing input is kept in
# ARTIFACT_DIR and its path printed.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: tests/fuzz/run-fuzz.sh FUZZER SEED_DIR SECONDS ARTIFACT_DIR

Runs FUZZER (a libFuzzer binary) for SECONDS from the seeds in SEED_DIR.
Exit 0 when the run ends without a finding; otherwise libFuzzer's status,
with the crashing input saved under ARTIFACT_DIR.
USAGE
}
case "${1:-}" in
-h | --help) usage; exit 0 ;;
esac
if [ $# -ne 4 ]; then
	usage >&2
	exit 2
fi
fuzzer=$1 seeds=$2 seconds=$3 artifacts=$4

scratch=$(mktemp -d "${TMPDIR:-/tmp}/raftnode-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts"
echo "run-fuzz: $(basename "$fuzzer") for ${seconds}s from $seeds"
rc=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
	-max_len=9100 -print_final_stats=1 \
	-artifact_prefix="$artifacts/$(basename "$fuzzer")-" \
	"$scratch" "$seeds" 2>&1 | tail -n 40 || rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
	echo "run-fuzz: $(basename "$fuzzer") FAILED (exit $rc); inputs in $artifacts:" >&2
	ls -l "$artifacts" >&2 || true
fi
exit "$rc"
