#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 16's acceptance figure: a follower stopped while >= 200,000 entries
# commit and are compacted comes back by InstallSnapshot; prints the time
# from its restart to the leader's digest. Integration (l) with more
# entries (RATE x SECONDS, default 5,000/s x 45 s = 225,000) and no kill
# rounds; under the shared network-namespace lock.
#   scripts/bench-catchup-snapshot.sh [BUILD_DIR] [RATE] [SECONDS]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
export IT_BUILD=$build IT_SRC=$src L_RATE=${2:-5000} L_SECONDS=${3:-45} L_KILLS=0
exec flock /tmp/raftnode-netns.lock bash "$src/tests/integration/test_l_install.sh"
