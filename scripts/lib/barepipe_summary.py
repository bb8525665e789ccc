#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# barepipe_summary.py - the table of scripts/bench-barepipe.sh from its
# results directory: r<k>.floor.json (scripts/baseline.sh), r<k>.<row>.json
# (barepipe or raftbench --json, latency_us_p50/p99) for each round k.
#
#   barepipe_summary.py DIR [--rounds R]
#
# Per row: the median over rounds of p50 and p99, and the median of each
# round's ratios to that round's floor (fio p50 + 2 UDP round trips p50;
# floor99 the same with p99s: a yardstick, percentiles do not add), and of
# raftnode / bare-ns (the same path) per round. The writes alone
# (r<k>.disk-free.json, r<k>.disk-lock.json: barepipe disk) get a table of
# their own: p50, p99 and each round's p99 over fio's p99. A ratio comes only from
# figures of one round, measured minutes apart at most. Prints markdown;
# also writes DIR/summary.json. Missing files leave '-' (a failed row
# of one round drops that round's ratio, not the run). Standard library only.
import argparse
import json
import os
import statistics

ROWS = ["floor", "bare-lo", "bare-ns", "raftnode"]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def floor_of(b):
    """(floor50, floor99) of one baseline.json, or (None, None)."""
    if not b:
        return None, None
    out = []
    for q in ("p50", "p99"):
        w, u = b.get(f"fio_dsync_4k_write_us_{q}"), b.get(f"udp_rtt_us_{q}")
        out.append(w + 2 * u if w is not None and u is not None else None)
    return tuple(out)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def div(a, b):
    return a / b if a is not None and b else None


def fmt(v, digits=1):
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def summarize(d, rounds):
    per = {r: {"p50": [], "p99": [], "r50": [], "r99": [], "r99s": [], "vs_bare50": [], "vs_bare99": []}
           for r in ROWS}
    for k in range(1, rounds + 1):
        b = load(os.path.join(d, f"r{k}.floor.json"))
        f50, f99 = floor_of(b)
        per["floor"]["p50"].append(f50)
        per["floor"]["p99"].append(f99)
        per["floor"]["r50"].append(1.0 if f50 else None)
        per["floor"]["r99"].append(1.0 if f99 else None)
        # floor99s: the same yardstick with the writes measured as the
        # pipelines run them (barepipe disk, free-running as fio, each
        # writer with the pipelines' EEVDF slice): fio runs at the kernel's
        # slice, so under load its p99 is the scheduler's tick.
        free = load(os.path.join(d, f"r{k}.disk-free.json")) or {}
        u99 = (b or {}).get("udp_rtt_us_p99")
        f99s = free.get("write_us_p99") + 2 * u99 if free.get("write_us_p99") and u99 else None
        per["floor"]["r99s"].append(div(f99, f99s))
        got = {r: load(os.path.join(d, f"r{k}.{r}.json")) for r in ROWS[1:]}
        for r, j in got.items():
            p50 = (j or {}).get("latency_us_p50")
            p99 = (j or {}).get("latency_us_p99")
            per[r]["p50"].append(p50)
            per[r]["p99"].append(p99)
            per[r]["r50"].append(div(p50, f50))
            per[r]["r99"].append(div(p99, f99))
            per[r]["r99s"].append(div(p99, f99s))
            bare = got.get("bare-ns") or {}
            per[r]["vs_bare50"].append(div(p50, bare.get("latency_us_p50")))
            per[r]["vs_bare99"].append(div(p99, bare.get("latency_us_p99")))
    return per


def disk_table(d, rounds):
    """The writes alone: fio's (the floor's job) and barepipe disk's."""
    rows = {"fio (floor's job)": [], "disk-free": [], "disk-lock": []}
    for k in range(1, rounds + 1):
        b = load(os.path.join(d, f"r{k}.floor.json")) or {}
        fio = (b.get("fio_dsync_4k_write_us_p50"), b.get("fio_dsync_4k_write_us_p99"))
        rows["fio (floor's job)"].append(fio)
        for r in ("disk-free", "disk-lock"):
            j = load(os.path.join(d, f"r{k}.{r}.json")) or {}
            rows[r].append((j.get("write_us_p50"), j.get("write_us_p99"), div(j.get("write_us_p99"), fio[1])))
    if not any(v[0] is not None for v in rows["disk-free"]):
        return []
    out = ["the writes alone (3 writers, 4 KiB O_DSYNC, pre-written files): medians",
           "", "| writes | p50 us | p99 us | p99 / fio p99 |", "|---|---:|---:|---:|"]
    for r, vs in rows.items():
        rr = " ".join(fmt(v[2], 2) for v in vs) if r != "fio (floor's job)" else ""
        ratio = fmt(med([v[2] for v in vs]), 2) if rr else "1.00"
        out.append(f"| {r} | {fmt(med([v[0] for v in vs]))} | {fmt(med([v[1] for v in vs]))} "
                   f"| {ratio}{' [' + rr + ']' if rr else ''} |")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dir")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    per = summarize(a.dir, a.rounds)
    summary = {r: {k: v for k, v in x.items()} for r, x in per.items()}
    for r, x in per.items():
        for k in list(x):
            summary[r]["median_" + k] = med(x[k])
    with open(os.path.join(a.dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    lines = []
    for name in ("uptime.start", "uptime.end"):
        try:
            with open(os.path.join(a.dir, name)) as f:
                lines.append(f"{name}: {f.read().strip()}")
        except OSError:
            pass
    lines += [
        "",
        f"one request in flight, {a.rounds} interleaved rounds, medians "
        "(per-round values in brackets)",
        "",
        "| row | p50 us | p99 us | p50 / floor | p99 / floor99 | p99 / floor99s | p50 / bare-ns "
        "| p99 / bare-ns |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in ROWS:
        x = per[r]
        if not any(v is not None for v in x["p50"]):
            continue
        rr = " ".join(fmt(v, 2) for v in x["r99"])
        lines.append(
            f"| {r} | {fmt(med(x['p50']))} | {fmt(med(x['p99']))} | {fmt(med(x['r50']), 2)} "
            f"| {fmt(med(x['r99']), 2)} [{rr}] | {fmt(med(x['r99s']), 2)} "
            f"| {fmt(med(x['vs_bare50']), 2)} "
            f"| {fmt(med(x['vs_bare99']), 2)} |")
    disk = disk_table(a.dir, a.rounds)
    if disk:
        lines += [""] + disk
    lines += ["", "floor = fio 4 KiB O_DSYNC p50 (3 jobs, pre-written files) + 2 kernel UDP round "
              "trips p50; floor99 the same with p99s (same round); floor99s = disk-free p99 (the "
              "same writes with the pipelines' 100 us EEVDF slice) + 2 round trips p99."]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
