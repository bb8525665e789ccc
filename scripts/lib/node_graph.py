#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# node_graph.py - the call graph of node/'s objects, read from the symbols
# the build produced (nm), not from includes: an `extern` declaration
# cannot hide a call. Used by scripts/check-deps.sh.
#
#   node_graph.py stages  ARCHIVE:FOLDER ...   no object of one stage folder
#                                              has an undefined symbol that
#                                              another folder's objects define
#   node_graph.py circles ARCHIVE:FOLDER ...   no circle of calls between
#                                              node/'s object files
# Exit 1 naming each violation, 0 when clean.
import subprocess
import sys


def symbols(archive):
    """{member: (defined set, undefined set)} of a static library."""
    out = subprocess.run(["nm", "-A", "--no-sort", archive], check=True,
                         capture_output=True, text=True).stdout
    objs = {}
    for line in out.splitlines():
        # "lib.a:member.o:0000000000000000 T name" or "lib.a:member.o:  U name"
        head, _, rest = line.rpartition(":")
        member = head.split(":", 1)[1] if ":" in head else head
        parts = rest.split()
        if len(parts) < 2:
            continue
        kind, name = parts[-2], parts[-1]
        d, u = objs.setdefault(member, (set(), set()))
        if kind == "U":
            u.add(name)
        elif kind.isupper():  # global definitions only (T, D, B, R, ...)
            d.add(name)
    return objs


def load(pairs):
    """[(folder, member, defined, undefined)] for ARCHIVE:FOLDER pairs."""
    objects = []
    for pair in pairs:
        archive, _, folder = pair.rpartition(":")
        # Meson's archives are thin, and one that takes others whole lists
        # their objects (and its dependencies') too: keep the archive's own.
        own = "/" + archive.rsplit("/", 1)[-1] + ".p/"
        for member, (d, u) in symbols(archive).items():
            if "/" not in member or own in "/" + member:
                objects.append((folder, member.rsplit("/", 1)[-1], d, u))
    return objects


def check_stages(objects):
    owner = {}
    for folder, member, d, _ in objects:
        for name in d:
            owner[name] = (folder, member)
    bad = 0
    for folder, member, _, u in objects:
        for name in sorted(u):
            if name in owner and owner[name][0] != folder:
                print(f"check-deps: {folder}/{member} calls {name}, defined in "
                      f"{owner[name][0]}/{owner[name][1]}: stages exchange records "
                      f"through rings, they do not call each other")
                bad = 1
    return bad


def check_circles(objects):
    owner = {}
    for folder, member, d, _ in objects:
        for name in d:
            owner[name] = f"{folder}/{member}"
    edges = {}
    for folder, member, _, u in objects:
        me = f"{folder}/{member}"
        edges[me] = sorted({owner[n] for n in u if n in owner and owner[n] != me})
    # Tarjan's strongly connected components, iteratively (no recursion).
    index, low, on, stack, sccs, counter = {}, {}, set(), [], [], [0]
    for root in edges:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter[0]
                counter[0] += 1
                stack.append(v)
                on.add(v)
            if i < len(edges[v]):
                work.append((v, i + 1))
                w = edges[v][i]
                if w not in index:
                    work.append((w, 0))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            for w in edges[v]:
                if w in on:
                    low[v] = min(low[v], low[w])
            if low[v] == index[v]:
                scc = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    scc.append(w)
                    if w == v:
                        break
                if len(scc) > 1:
                    sccs.append(sorted(scc))
    for scc in sccs:
        print("check-deps: a call circle in node/: " + " <-> ".join(scc))
    return 1 if sccs else 0


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("stages", "circles"):
        print(__doc__ or "usage: node_graph.py stages|circles ARCHIVE:FOLDER ...")
        return 2
    objects = load(sys.argv[2:])
    if not objects:
        print("check-deps: no objects to check")
        return 1
    return check_stages(objects) if sys.argv[1] == "stages" else check_circles(objects)


if __name__ == "__main__":
    sys.exit(main())
