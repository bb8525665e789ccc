#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Goal: `meson install` lays raftnode out as a service: raftnode in sbin,
# raftctl and raftbench in bin, the example configuration in
# sysconfdir/raftnode as cluster.ini.example (never a cluster.ini an
# operator may have), the systemd unit template raftnode@.service with
# Type=notify, the sysusers entry and the man pages; and systemd itself
# accepts the unit (systemd-analyze verify prints nothing for it).
# Method: meson install --destdir into a scratch directory of this build
# (no rebuild), the file list compared with what must be there; verify
# runs on a copy of the unit whose ExecStart paths point into the DESTDIR
# (the installed binaries exist there, not yet under the prefix), with
# --man=no (the man pages are checked as installed files instead). A
# planted mistake (Type=notfy) must make verify speak: proof that silence
# means accepted. Skips (77) without systemd-analyze.
set -euo pipefail
build=${IT_BUILD:?IT_BUILD: the build directory}
tmp=$(mktemp -d /tmp/raftnode-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "test_install: meson install -C $build --destdir $tmp"
meson install -C "$build" --no-rebuild --destdir "$tmp/root" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; echo "FAIL: meson install"; exit 1; }
prefix=$(meson introspect "$build" --buildoptions |
	python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
(cd "$tmp/root" && find . -type f -o -type l | sed 's|^\.||' | sort) >"$tmp/files"
echo "test_install: installed files:"
sed 's/^/  /' "$tmp/files"
fail=0
for want in sbin/raftnode bin/raftctl bin/raftbench lib/sysusers.d/raftnode.conf \
	share/man/man8/raftnode.8 share/man/man1/raftctl.1; do
	grep -qx "$prefix/$want" "$tmp/files" || { echo "FAIL: $prefix/$want not installed"; fail=1; }
done
grep -qE '/raftnode/cluster\.ini\.example$' "$tmp/files" ||
	{ echo "FAIL: no raftnode/cluster.ini.example"; fail=1; }
grep -qE '/raftnode/cluster\.ini$' "$tmp/files" &&
	{ echo "FAIL: install writes a cluster.ini (it must never overwrite one)"; fail=1; }
unit=$(grep -E '/systemd/system/raftnode@\.service$' "$tmp/files" || true)
[ -n "$unit" ] || { echo "FAIL: no raftnode@.service"; exit 1; }
for f in "$prefix/sbin/raftnode" "$prefix/bin/raftctl" "$prefix/bin/raftbench"; do
	[ -x "$tmp/root$f" ] || { echo "FAIL: $f is not executable"; fail=1; }
done
grep -qx 'Type=notify' "$tmp/root$unit" || { echo "FAIL: the unit is not Type=notify"; fail=1; }
grep -q "^ExecStart=$prefix/sbin/raftnode --config .*/raftnode/cluster.ini --id %i\$" "$tmp/root$unit" ||
	{ echo "FAIL: ExecStart is not $prefix/sbin/raftnode --config .../cluster.ini --id %i"; fail=1; }
"$tmp/root$prefix/sbin/raftnode" --help | grep -q -- '--metrics-addr' ||
	{ echo "FAIL: raftnode --help does not say --metrics-addr"; fail=1; }
"$tmp/root$prefix/bin/raftctl" --help | grep -q -- ' metrics ' ||
	{ echo "FAIL: raftctl --help does not say metrics"; fail=1; }
if ! command -v systemd-analyze >/dev/null; then
	echo "SKIP: no systemd-analyze (scripts/setup.sh installs systemd)"
	[ $fail -eq 0 ] || exit 1
	exit 77
fi
verify() { # DIR: systemd-analyze verify of DIR/raftnode@.service as instance 1
	(cd "$1" && systemd-analyze verify --man=no ./raftnode@1.service 2>&1) || true
}
mkdir -p "$tmp/unit" "$tmp/planted"
sed "s|$prefix/sbin/raftnode|$tmp/root$prefix/sbin/raftnode|g" "$tmp/root$unit" >"$tmp/unit/raftnode@.service"
out=$(verify "$tmp/unit")
if [ -n "$out" ]; then
	echo "FAIL: systemd-analyze verify:"
	echo "$out"
	fail=1
else
	echo "test_install: systemd-analyze verify raftnode@1.service: no complaint"
fi
sed 's/^Type=notify/Type=notfy/' "$tmp/unit/raftnode@.service" >"$tmp/planted/raftnode@.service"
[ -n "$(verify "$tmp/planted")" ] ||
	{ echo "FAIL: verify did not object to a planted Type=notfy (silence proves nothing)"; fail=1; }
[ $fail -eq 0 ] || exit 1
echo "PASS: meson install --destdir: $(wc -l <"$tmp/files") files where Debian expects them; systemd-analyze verify accepts raftnode@.service"
