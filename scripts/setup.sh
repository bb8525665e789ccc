#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs every Debian 12 package raftnode needs to build, test, run and
# benchmark. Idempotent: packages already present are skipped without touching
# the network; `apt-get update` runs at most once per call. Quiet unless
# something fails, in which case the apt log is printed.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/setup.sh [--help]

Installs the Debian packages raftnode needs (build tools, DPDK 22.11,
liburing, jemalloc, libsodium, cmocka, google-benchmark, gnuplot, iproute2,
nftables (cluster.sh partitions), jq (the integration tests read status JSON),
valgrind, fio, linux-perf: run.sh counts the nodes' system calls with
perf stat; e2fsprogs, util-linux and mount: the full-disk integration test
loop-mounts a small ext4). Runs apt-get only for packages that are missing. Needs root (or
sudo) when something must be installed.
USAGE
}
case "${1:-}" in
-h | --help) usage; exit 0 ;;
"") ;;
*) echo "setup.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

packages=(
	build-essential pkg-config meson ninja-build clang llvm lld
	libclang-rt-14-dev
	libcmocka-dev libbenchmark-dev
	liburing-dev libjemalloc-dev libsodium-dev libinih-dev
	libdpdk-dev dpdk dpdk-dev
	gnuplot-nox iproute2 iputils-ping nftables valgrind python3 jq
	fio linux-perf
	e2fsprogs util-linux mount
	systemd curl
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all ${#packages[@]} packages present"
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi

echo "setup: installing ${#missing[@]} package(s): ${missing[*]}"
log=$(mktemp /tmp/raftnode-setup.XXXXXX)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get update -q >"$log" 2>&1; then
	echo "setup: apt-get update failed:" >&2
	cat "$log" >&2
	exit 1
fi
if ! $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
	echo "setup: apt-get install failed:" >&2
	cat "$log" >&2
	exit 1
fi
echo "setup: done"
