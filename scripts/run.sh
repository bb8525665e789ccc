#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job. Installs what is needed (scripts/setup.sh), builds build/,
# and - until the node itself lands - plays the seed's partition story in
# the deterministic simulator: 7 nodes on 2 hosts, leadership moved to
# host 2, the inter-host link cut, writes on both sides, only the majority
# side commits, and on heal the minority rolls back and takes the majority's
# log. Prints the story and exits non-zero if any check of it fails.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/run.sh [--help] [--no-setup] [--scenario FILE]

Installs dependencies, builds build/ and runs the main job: the seed's
7-node / 2-host partition story in raftsim (tests/sim/scenarios/
seven_nodes_two_hosts.txt), printed as a story.
  --no-setup       skip scripts/setup.sh
  --scenario FILE  play another scenario instead
USAGE
}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
do_setup=1
scenario=tests/sim/scenarios/seven_nodes_two_hosts.txt
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--no-setup) do_setup=0 ;;
	--scenario) shift; scenario=${1:?--scenario needs a file} ;;
	*) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done
[ -f "$scenario" ] || { echo "run.sh: no such scenario: $scenario" >&2; exit 2; }

if [ $do_setup -eq 1 ]; then
	bash scripts/setup.sh
fi
echo "== build: build/"
if [ -f build/build.ninja ]; then
	meson setup --reconfigure build >/dev/null
else
	meson setup build >/dev/null
fi
ninja -C build tests/sim/raftsim >/dev/null

echo "== the seed's story, in the deterministic simulator ($scenario)"
echo
build/tests/sim/raftsim --scenario "$scenario"
