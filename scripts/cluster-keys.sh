# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Sourced by scripts/cluster.sh: the cluster's key files (issue 17) and
# `rotate-keys`. The peer key (RUN_DIR/peer.key) only nodes read; the client
# key (RUN_DIR/client.key) nodes accept and clients seal with; the admin key
# (RUN_DIR/admin.key) is a client key that may also run raftctl reload. Key files are
# text, "ID HEX" per line, mode 600; the first line's key seals, every line's
# key is accepted (README: Keys).
#
# A rotation, for one file, in three stages, each written to the file and
# then sent to every running node as SIGHUP, waiting until each says it
# reloaded (its log: "keys reloaded"), or (--via raftctl) asked of each
# running node by `raftctl --node i reload`, which answers the outcome:
#   1. (old, new): every node accepts the new key, still seals with the old;
#   2. (new, old): nodes seal with the new key, still accept the old;
#   3. (new): the old key is refused.
# No node ever seals with a key another does not accept yet: stage 2 starts
# only once every node finished stage 1. For the client key, stage 3 waits
# until every client runs with the new file (a client reads it at start;
# until then the nodes answer it under its old key): `--stage 3` alone.

key_hex() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }

key_write() { # file lines...: atomically, mode 600
	local f=$1
	shift
	(umask 077 && printf '%s\n' "$@" >"$f.tmp")
	chmod 600 "$f.tmp"
	mv "$f.tmp" "$f"
}

key_lines() { grep -v '^[[:space:]]*\(#\|$\)' "$1"; } # file: its key lines

# The key files of a new run dir: peer key id 1, client key id 101, admin
# key id 201 (ids are unique across the files; a rotation takes the next
# free one).
keys_init() {
	[ -s "$run_dir/peer.key" ] || key_write "$run_dir/peer.key" "1 $(key_hex)"
	[ -s "$run_dir/client.key" ] || key_write "$run_dir/client.key" "101 $(key_hex)"
	[ -s "$run_dir/admin.key" ] || key_write "$run_dir/admin.key" "201 $(key_hex)"
	chmod 600 "$run_dir/peer.key" "$run_dir/client.key" "$run_dir/admin.key"
}

keys_next_id() { # the next id free in the three files
	local max
	max=$(cat "$run_dir/peer.key" "$run_dir/client.key" "$run_dir/admin.key" | grep -v '^[[:space:]]*\(#\|$\)' |
		awk '{ if ($1 > m) m = $1 } END { print m + 0 }')
	echo $((max + 1))
}

# Every running node's "keys reloaded" count (its log), one a line: "id count".
keys_reload_counts() {
	local i
	for i in "${IDS[@]}"; do
		[ -n "$(node_pid "$i")" ] || continue
		echo "$i $(grep -c 'keys reloaded\|key reload refused' "$(log_file "$i")" 2>/dev/null || true)"
	done
}

# SIGHUP to every running node, then wait (<= 10 s) until each logged its
# reload; a refused reload stops the rotation (the log line says why).
keys_reload_all() {
	local before i n p deadline
	before=$(keys_reload_counts)
	for i in "${IDS[@]}"; do
		p=$(node_pid "$i")
		[ -z "$p" ] || kill -HUP "$p"
	done
	deadline=$((SECONDS + 10))
	while read -r i n; do
		[ -n "$i" ] || continue
		while [ "$(grep -c 'keys reloaded\|key reload refused' "$(log_file "$i")" 2>/dev/null || true)" -le "$n" ]; do
			[ "$SECONDS" -lt "$deadline" ] || die "rotate-keys: node $i did not reload within 10 s"
			sleep 0.05
		done
		if tail -n 50 "$(log_file "$i")" | grep 'keys reloaded\|key reload refused' | tail -n 1 |
			grep -q 'refused'; then
			die "rotate-keys: node $i refused: $(grep 'key reload refused' "$(log_file "$i")" | tail -n 1)"
		fi
	done <<<"$before"
}

# `raftctl --node i reload` of every running node (sealed with the admin
# key cluster.ini names): each answers once its reload is done, with the
# keys in force or why it refused (old keys kept), so nothing is read from
# the logs. A refusal or no answer stops the rotation.
keys_reload_raftctl() {
	local i out ctl
	ctl=$(raftctl_bin)
	[ -x "$ctl" ] || die "rotate-keys --via raftctl: no $ctl (build first)"
	for i in "${IDS[@]}"; do
		[ -n "$(node_pid "$i")" ] || continue
		out=$("$ctl" --config "$run_dir/cluster.ini" --node "$i" --timeout-ms 10000 reload 2>&1) ||
			die "rotate-keys: node $i: $out"
	done
}

keys_stage() { # file stage: one stage of the rotation of that file
	local f=$1 stage=$2 lines
	mapfile -t lines < <(key_lines "$f")
	case "$stage" in
	1)
		[ "${#lines[@]}" -eq 1 ] || die "rotate-keys: $f holds ${#lines[@]} keys: stage 1 starts from one"
		key_write "$f" "${lines[0]}" "$(keys_next_id) $(key_hex)" ;;
	2)
		[ "${#lines[@]}" -eq 2 ] || die "rotate-keys: $f holds ${#lines[@]} keys: stage 2 needs the old and the new"
		key_write "$f" "${lines[1]}" "${lines[0]}" ;;
	3)
		[ "${#lines[@]}" -eq 2 ] || die "rotate-keys: $f holds ${#lines[@]} keys: stage 3 needs the new and the old"
		key_write "$f" "${lines[0]}" ;;
	esac
	if [ "$rotate_via" = raftctl ]; then keys_reload_raftctl; else keys_reload_all; fi
	say "rotate-keys: $(basename "$f") stage $stage: $(key_lines "$f" | awk '{ printf "%s%s", s, $1; s = "," }') on every running node"
}

# rotate-keys [--keys peer|client|admin|both] [--stage 1|2|3] [--via sighup|raftctl]
cmd_rotate_keys() {
	local files=() f s stages
	need_root
	load_state
	case "$rotate_which" in
	peer) files=("$run_dir/peer.key") ;;
	client) files=("$run_dir/client.key") ;;
	admin) files=("$run_dir/admin.key") ;;
	both) files=("$run_dir/peer.key" "$run_dir/client.key") ;;
	*) usage_err "--keys must be peer, client, admin or both, not '$rotate_which'" ;;
	esac
	case "$rotate_via" in
	sighup | raftctl) ;;
	*) usage_err "--via must be sighup or raftctl, not '$rotate_via'" ;;
	esac
	case "$rotate_stage" in
	"") stages="1 2 3" ;;
	1 | 2 | 3) stages=$rotate_stage ;;
	*) usage_err "--stage must be 1, 2 or 3, not '$rotate_stage'" ;;
	esac
	for f in "${files[@]}"; do [ -f "$f" ] || die "rotate-keys: no $f (a cluster.sh up run dir?)"; done
	# Stage by stage across the files: both files' stage 1 everywhere
	# before either's stage 2.
	for s in $stages; do
		for f in "${files[@]}"; do keys_stage "$f" "$s"; done
	done
}
