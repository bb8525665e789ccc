#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# node_costs.py - what a commit costs the cluster, from the nodes' own
# counters read before and after one raftbench measurement (scripts/run.sh).
#
#   node_costs.py snap --config INI --raftctl BIN --nodes N --out FILE
#       per node: `raftctl --node i status --json` (frames_tx, syncs,
#       commit_index, pid) and the sum of voluntary_ctxt_switches over
#       /proc/<pid>/task/*/status; prints the pids, comma-separated
#   node_costs.py diff BEFORE AFTER --bench R.json [--perf FILE] --key K --out FILE
#       deltas summed over all nodes, divided by the commits in between,
#       stored as FILE's member K (the file's other members stay)
#
# Commits are the largest commit_index delta over the nodes (the entries
# the cluster committed while the counters ran), not raftbench's ok count:
# the counters also run through raftbench's warm-up and drain, which ok
# leaves out, so dividing by ok would charge those commits' costs to the
# measured ones (~10 % at 1 s warm-up and 10 s measured). ok is kept in
# the output beside it. The counters:
#   frames     counters.frames_tx: every frame a node sent, Raft messages
#              and client replies (the UDP transport counts each sendto)
#   syncs      counters.syncs: durable log writes (one fsync'd group each)
#   syscalls   raw_syscalls:sys_enter of the node processes (perf stat -p,
#              all threads), when perf ran; else null
#   wakeups    voluntary context switches of the nodes' threads: a proxy
#              for "an lcore slept and was woken" (a thread blocks on its
#              own, e.g. in epoll_wait or io_uring_enter, then runs again);
#              a thread that exited in between is not counted
import argparse
import glob
import json
import subprocess
import sys


def node_status(raftctl, config, node_id):
    out = subprocess.run([raftctl, "--config", config, "--node", str(node_id), "status", "--json"],
                         capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        return None
    try:
        return json.loads(out.stdout)
    except ValueError:
        return None


def voluntary_switches(pid):
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/status"):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
        except OSError:
            pass  # the thread exited between glob and open
    return total


def snap(a):
    nodes = {}
    for i in range(1, a.nodes + 1):
        s = node_status(a.raftctl, a.config, i)
        if s is None:
            nodes[str(i)] = None
            continue
        c = s.get("counters") or {}
        pid = s.get("pid")
        nodes[str(i)] = {"pid": pid, "frames_tx": c.get("frames_tx"), "syncs": c.get("syncs"),
                         "commit_index": s.get("commit_index"),
                         "voluntary_ctxt_switches": voluntary_switches(pid) if pid else None}
    with open(a.out, "w") as f:
        json.dump({"nodes": nodes}, f)
    print(",".join(str(n["pid"]) for n in nodes.values() if n and n.get("pid")))


def perf_syscalls(path):
    """The count in a `perf stat -x,` file, or None (not run, not counted)."""
    try:
        with open(path) as f:
            for line in f:
                fields = line.strip().split(",")
                if len(fields) > 2 and fields[2] == "raw_syscalls:sys_enter":
                    return int(fields[0]) if fields[0].isdigit() else None
    except OSError:
        pass
    return None


def delta(before, after, key):
    total = 0
    for i, b in before.items():
        x = after.get(i)
        if not b or not x or b.get(key) is None or x.get(key) is None or b["pid"] != x["pid"]:
            return None  # a node was down or restarted: its counters started over
        total += x[key] - b[key]
    return total


def diff(a):
    with open(a.before) as f:
        before = json.load(f)["nodes"]
    with open(a.after) as f:
        after = json.load(f)["nodes"]
    try:
        with open(a.bench) as f:
            ok = json.load(f).get("ok")
    except (OSError, ValueError):
        ok = None
    commits = max((after[i]["commit_index"] - b["commit_index"] for i, b in before.items()
                   if b and after.get(i) and b.get("commit_index") is not None
                   and after[i].get("commit_index") is not None), default=None)
    d = {"frames": delta(before, after, "frames_tx"), "syncs": delta(before, after, "syncs"),
         "wakeups": delta(before, after, "voluntary_ctxt_switches"),
         "syscalls": perf_syscalls(a.perf) if a.perf else None}
    out = {"commits": commits, "ok": ok, "totals": d,
           "syscalls_source": "perf stat -e raw_syscalls:sys_enter -p <node pids>"
           if d["syscalls"] is not None else None,
           "wakeups_source": "voluntary_ctxt_switches of the node threads (proxy)"}
    for k, v in d.items():
        out[f"{k}_per_commit"] = v / commits if v is not None and commits else None
    try:
        with open(a.out) as f:
            whole = json.load(f)
    except (OSError, ValueError):
        whole = {}
    whole[a.key] = out
    with open(a.out, "w") as f:
        json.dump(whole, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description="per-commit costs from node counters")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snap")
    s.add_argument("--config", required=True)
    s.add_argument("--raftctl", required=True)
    s.add_argument("--nodes", type=int, required=True)
    s.add_argument("--out", required=True)
    d = sub.add_parser("diff")
    d.add_argument("before")
    d.add_argument("after")
    d.add_argument("--bench", required=True)
    d.add_argument("--perf")
    d.add_argument("--key", required=True)
    d.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.cmd == "snap":
        snap(a)
    else:
        diff(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
