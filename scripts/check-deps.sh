#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Enforces the dependency rules of ../shared/DESIGN.md on consensus/: the
# Raft core is pure, so it may not include DPDK (rte_*), liburing, pthread,
# time or stdio headers, and it may allocate only in create.c (raft_create,
# i.e. at init). Exits 1 naming each offending line.
#   --self-test  plants a forbidden include and a malloc in a scratch copy and
#                checks that both are caught (proves the check can fail).
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/check-deps.sh [--self-test] [DIR]

Checks that DIR (default: consensus/) includes no DPDK, liburing, pthread,
time or stdio header and calls malloc/calloc/realloc/free only in create.c.
--self-test  copy consensus/ to a scratch folder, add violations, and check
             that this script rejects them.
USAGE
}

root=$(cd "$(dirname "$0")/.." && pwd)

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

case "${1:-}" in
-h | --help)
	usage
	exit 0
	;;
--self-test)
	scratch=$(mktemp -d /tmp/raftnode-check-deps.XXXXXX)
	trap 'rm -rf "$scratch"' EXIT
	echo "check-deps self-test: the real tree must pass"
	check_dir "$root/consensus" >/dev/null
	for plant in '#include <stdio.h>' '#include <rte_mbuf.h>' '#include <pthread.h>' \
		'#include "liburing.h"' '#include <time.h>' 'static void *leak(void) { return malloc(8); }'; do
		rm -rf "$scratch/consensus"
		cp -r "$root/consensus" "$scratch/consensus"
		printf '%s\n' "$plant" >>"$scratch/consensus/step.c"
		if check_dir "$scratch/consensus" >/dev/null; then
			echo "check-deps self-test: FAILED to reject: $plant"
			exit 1
		fi
		echo "  rejected as expected: $plant"
	done
	echo "check-deps self-test: ok"
	exit 0
	;;
"")
	dir="$root/consensus"
	;;
*)
	dir=$1
	;;
esac

if check_dir "$dir"; then
	echo "check-deps: ok ($dir is libc-only and allocates only at init)"
else
	exit 1
fi
