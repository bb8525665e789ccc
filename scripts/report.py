#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""report.py - writes report.md from one benchmark run's results directory.

Input: RESULTS_DIR holding, per configuration <row> (e.g. dpdk+uring,
udp+uring, dpdk+pwrite, dpdk+uring+apart; the name is free, '+'-joined
transport and engine, and what else the row changes):
  <row>.closed1000.json   raftbench --concurrency 1000 --json  (throughput)
  <row>.closed1.json      raftbench --concurrency 1 --json     (latency)
  <row>.sweep.csv         raftbench sweep --csv FILE           (optional)
  <row>.timeseries.csv    raftbench --timeseries FILE          (optional)
  <row>.cdf.csv           raftbench --cdf FILE                 (optional)
  <row>.failover.json     raftbench failover --json            (optional)
  <row>.costs.json        scripts/lib/node_costs.py: what a commit costs the
                          nodes (frames, syscalls, syncs, wakeups per commit)
                          at 1 and 1000 in flight                (optional)
  <row>.read1.json, <row>.read1000.json
                          raftbench --read-ratio 1: linearizable reads
                          (optional; run.sh: the main row only)
and for the whole run:
  failover.json           raftbench failover --json (the first row's, when
                          no <row>.failover.json is there)
  baseline.json           scripts/baseline.sh: fio 4 KiB O_DSYNC write
                          p50/p99 (one job per node) and kernel UDP round
                          trip p50/p99 on this machine
  pair<k>.baseline.json, pair<k>.closed1.json
                          run.sh's paired rounds (main row): the floor
                          measured, then one request in flight right after
                          it; each round's ratios and their median (optional)
  plots/                  scripts/plot.sh output (linked when present)
Missing files give '-' cells, never an error: a partial run still reports.

Output: RESULTS_DIR/report.md (or --out): the headline table (commits_per_s
at 1000 in flight, one-in-flight p50/p99 us, failover window ms), ratios to
the baseline row (--baseline, default udp+pwrite when present, else the
last row) and of the one-in-flight p50 and p99 to the machine's floor (one
durable 4 KiB write while every node writes + two UDP round trips, from
baseline.json), then the per-row stage breakdown and the sweep's knee. Python 3 standard library only.
"""
import argparse
import csv
import glob
import json
import os
import sys

ROW_ORDER = ["udp+uring", "udp+uring+apart", "tap+uring", "dpdk+uring", "dpdk+uring+apart", "udp+pwrite",
             "dpdk+pwrite"]


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def rows_of(results):
    names = set()
    for suffix in (".closed1000.json", ".closed1.json", ".sweep.csv"):
        for p in glob.glob(os.path.join(results, "*" + suffix)):
            name = os.path.basename(p)[: -len(suffix)]
            if not name.startswith("pair"):  # run.sh's paired rounds: a section of their own
                names.add(name)
    known = [r for r in ROW_ORDER if r in names]
    return known + sorted(names - set(known))


def fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, float) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def row_data(results, row, first_row):
    d = {"row": row}
    c1000 = load_json(os.path.join(results, row + ".closed1000.json")) or {}
    c1 = load_json(os.path.join(results, row + ".closed1.json")) or {}
    fo = load_json(os.path.join(results, row + ".failover.json"))
    if fo is None and row == first_row:
        fo = load_json(os.path.join(results, "failover.json"))
    d["commits_per_s"] = c1000.get("commits_per_s")
    d["p50_us"] = c1.get("latency_us_p50")
    d["p99_us"] = c1.get("latency_us_p99")
    d["window_ms"] = (fo or {}).get("window_ms_p50")
    d["election_ms"] = (fo or {}).get("election_ms_p50")
    d["stages"] = c1.get("stages") or {}
    d["errors"] = sum(x.get(k, 0) for x in (c1, c1000) for k in ("errors", "timeouts"))
    d["sweep"] = read_sweep(os.path.join(results, row + ".sweep.csv"))
    d["costs"] = load_json(os.path.join(results, row + ".costs.json")) or {}
    d["reads"] = {n: load_json(os.path.join(results, f"{row}.read{n}.json")) for n in (1, 1000)}
    return d


def read_sweep(path):
    try:
        with open(path) as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def floors(baseline):
    """The least a commit needs on this machine: one durable 4 KiB write as
    the disk does it while every node writes (fio, one job per node) plus
    two kernel UDP round trips (client -> leader, leader -> follower).
    Percentiles do not add, so the p99 floor (sum of the p99s) is a yardstick,
    not a bound: p99 / floor99 near or under 1.0 says the tail is the
    machine's, well over 1.0 says it is ours."""
    b = baseline or {}
    def one(q):
        w, u = b.get(f"fio_dsync_4k_write_us_{q}"), b.get(f"udp_rtt_us_{q}")
        return w + 2 * u if w and u else None
    return one("p50"), one("p99")


def headline(rows, base, baseline):
    floor_us, floor99_us = floors(baseline)
    out = [
        "| config | commits_per_s (1000 in flight) | p50 us (1 in flight) | p99 us (1 in flight) "
        f"| failover window ms (p50) | throughput x {base['row']} | p50 x {base['row']} "
        "| p50 / floor | p99 / floor99 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for d in rows:
        out.append(
            f"| {d['row']} | {fmt(d['commits_per_s'], 0)} | {fmt(d['p50_us'])} | {fmt(d['p99_us'])} "
            f"| {fmt(d['window_ms'])} | {fmt(ratio(d['commits_per_s'], base['commits_per_s']), 2)} "
            f"| {fmt(ratio(d['p50_us'], base['p50_us']), 2)} | {fmt(ratio(d['p50_us'], floor_us), 2)} "
            f"| {fmt(ratio(d['p99_us'], floor99_us), 2)} |"
        )
    return out


def baseline_lines(baseline):
    if not baseline:
        return ["No baseline.json: run scripts/baseline.sh to get the floor columns."]
    floor_us, floor99_us = floors(baseline)
    jobs = baseline.get("fio_jobs")
    lines = [
        "Measured on this machine in the same run (scripts/baseline.sh):",
        "",
        f"- fio 4 KiB O_DSYNC write, queue depth 1, {jobs or '?'} job(s) writing at once "
        "(one per node) into pre-written files: p50 "
        f"{fmt(baseline.get('fio_dsync_4k_write_us_p50'))} us, "
        f"p99 {fmt(baseline.get('fio_dsync_4k_write_us_p99'))} us (over all jobs' writes)",
        f"- kernel UDP round trip ({baseline.get('udp_rtt_path') or 'n/a'}): p50 "
        f"{fmt(baseline.get('udp_rtt_us_p50'))} us, p99 {fmt(baseline.get('udp_rtt_us_p99'))} us",
        "- floor of one commit (one durable write while every node writes + two UDP round "
        f"trips, client -> leader and leader -> follower): p50 {fmt(floor_us)} us "
        f"(fio p50 + 2 x UDP p50), floor99 {fmt(floor99_us)} us (fio p99 + 2 x UDP p99)",
    ]
    for n in baseline.get("notes") or []:
        lines.append(f"- note: {n}")
    return lines


def stage_lines(rows):
    names = []
    for d in rows:
        names += [n for n in d["stages"] if n not in names]
    if not names:
        return ["No traced requests (raftbench --trace-every)."]
    out = ["| stage (p50 / p99 us) | " + " | ".join(d["row"] for d in rows) + " |",
           "|---|" + "---:|" * len(rows)]
    for n in names:
        cells = []
        for d in rows:
            s = d["stages"].get(n)
            cells.append(f"{fmt(s['p50_us'])} / {fmt(s['p99_us'])}" if s else "-")
        out.append(f"| {n} | " + " | ".join(cells) + " |")
    out += ["", "durable_to_replicated is max(0, replicated - durable): the followers' "
            "quorum can hold an entry before the leader's own write is durable, since "
            "replication runs in parallel with it; replicated_to_applied then starts at "
            "the later of the two, so the node's stages add up to rx -> reply. client_to_rx "
            "and reply_to_client appear only when client and node share a clock (one machine)."]
    return out


COSTS = [("frames", "frames/commit"), ("syscalls", "syscalls/commit"),
         ("syncs", "syncs/commit"), ("wakeups", "wakeups/commit")]


def costs_lines(rows):
    """What a commit costs, summed over all nodes, at 1 and 1000 in flight."""
    have = [d for d in rows if d["costs"]]
    if not have:
        return ["No <row>.costs.json (scripts/lib/node_costs.py)."]
    keys = [("in_flight_1", "1"), ("in_flight_1000", "1000")]
    out = ["| config | " + " | ".join(f"{label} ({n} in flight)" for _, label in COSTS
                                        for _, n in keys) + " |",
           "|---|" + "---:|" * (len(COSTS) * len(keys))]
    for d in have:
        cells = []
        for k, _ in COSTS:
            for key, _ in keys:
                v = (d["costs"].get(key) or {}).get(f"{k}_per_commit")
                cells.append(fmt(v, 2))
        out.append(f"| {d['row']} | " + " | ".join(cells) + " |")
    srcs = {(d["costs"].get(k) or {}).get("syscalls_source") for d in have for k, _ in keys}
    out += ["", "Per commit, summed over every node; commits = the cluster's commit_index "
            "advance while the counters ran (raftbench's warm-up and drain included, which its "
            "ok count leaves out). frames: every frame the nodes sent (counters.frames_tx: Raft "
            "messages and client replies). syncs: durable log writes (counters.syncs). "
            "syscalls: " + ("the node processes' raw_syscalls:sys_enter counted by perf stat "
                            "during the measurement (a counter, not a tracer: a small cost per "
                            "syscall)" if srcs - {None} else "not measured (perf not available)")
            + ". wakeups: voluntary context switches of the nodes' threads, a proxy for "
            "\"an lcore slept and was woken\" (a thread that blocked on its own and ran again)."]
    return out


def read_lines(rows):
    have = [d for d in rows if any(d["reads"].values())]
    if not have:
        return ["No read runs (<row>.read1.json, <row>.read1000.json)."]
    out = ["| config | reads_per_s (1000 in flight) | p50 us (1 in flight) | p99 us (1 in flight) "
           "| p50 us (1000 in flight) | p99 us (1000 in flight) |",
           "|---|---:|---:|---:|---:|---:|"]
    for d in have:
        r1, r1000 = d["reads"][1] or {}, d["reads"][1000] or {}
        out.append(f"| {d['row']} | {fmt(r1000.get('ops_per_s'), 0)} "
                   f"| {fmt(r1.get('latency_us_p50'))} | {fmt(r1.get('latency_us_p99'))} "
                   f"| {fmt(r1000.get('latency_us_p50'))} | {fmt(r1000.get('latency_us_p99'))} |")
    out += ["", "Linearizable reads (raftbench --read-ratio 1, closed loop, after the writes): "
            "the leader confirms it still leads (read index, a heartbeat round to a majority) "
            "before it answers; no log write."]
    return out


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def paired_lines(results, main_row):
    """run.sh's paired rounds: the floor and the one-in-flight latency taken
    side by side, round after round. On a shared, noisy machine a floor taken
    minutes apart from the latency it divides can meet a quieter or a louder
    minute; the median of the rounds' ratios is the figure the targets read."""
    rounds = []
    k = 1
    while True:
        c1 = load_json(os.path.join(results, f"pair{k}.closed1.json"))
        b = load_json(os.path.join(results, f"pair{k}.baseline.json"))
        if c1 is None and b is None:
            break
        f50, f99 = floors(b)
        p50 = (c1 or {}).get("latency_us_p50")
        p99 = (c1 or {}).get("latency_us_p99")
        rounds.append((k, p50, p99, f50, f99, ratio(p50, f50), ratio(p99, f99)))
        k += 1
    if not rounds:
        return []
    out = ["", f"## One in flight against the floor, paired rounds ({main_row})", "",
           "Each round: the floor measured (fio, one job per node, for as long as the "
           "one-in-flight run after it, and the UDP round trip, as above; the cluster idle) and "
           "right after it one request in flight. The median of "
           "the rounds' ratios is the figure the targets read (the headline's ratios divide a "
           "latency and a floor measured minutes apart).", "",
           "| round | p50 us | p99 us | floor us | floor99 us | p50 / floor | p99 / floor99 |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for k, p50, p99, f50, f99, r50, r99 in rounds:
        out.append(f"| {k} | {fmt(p50)} | {fmt(p99)} | {fmt(f50)} | {fmt(f99)} | {fmt(r50, 2)} "
                   f"| {fmt(r99, 2)} |")
    out.append(f"| median | {fmt(median(r[1] for r in rounds))} | {fmt(median(r[2] for r in rounds))} "
               f"| {fmt(median(r[3] for r in rounds))} | {fmt(median(r[4] for r in rounds))} "
               f"| {fmt(median(r[5] for r in rounds), 2)} | {fmt(median(r[6] for r in rounds), 2)} |")
    return out


def sweep_lines(rows):
    out = []
    for d in rows:
        if not d["sweep"]:
            continue
        best = max(d["sweep"], key=lambda s: float(s["ops_per_s"]))
        last = d["sweep"][-1]
        out.append(f"- {d['row']}: highest achieved {float(best['ops_per_s']):,.0f} ops/s "
                   f"(p99 {float(best['latency_us_p99']):.1f} us) over {len(d['sweep'])} steps; "
                   f"last step offered {float(last['offered_per_s']):,.0f}/s")
        # The targets' knee: the highest achieved rate whose p99 is <= 5 ms.
        ok = [s for s in d["sweep"] if float(s["latency_us_p99"]) <= 5000.0]
        if ok:
            knee = max(ok, key=lambda s: float(s["ops_per_s"]))
            out.append(f"  - knee (p99 <= 5 ms): {float(knee['ops_per_s']):,.0f} ops/s "
                       f"(offered {float(knee['offered_per_s']):,.0f}/s, p99 "
                       f"{float(knee['latency_us_p99']):.1f} us)")
        # The open loop at 1,000/s (the sweep's first step when it starts
        # there) against one in flight, same run.
        first = d["sweep"][0]
        if abs(float(first["offered_per_s"]) - 1000.0) < 1.0 and d.get("p50_us") and d.get("p99_us"):
            p50, p99 = float(first["latency_us_p50"]), float(first["latency_us_p99"])
            out.append(f"  - open loop at 1,000/s: p50 {p50:.1f} us ({p50 / d['p50_us']:.2f}x "
                       f"1 in flight), p99 {p99:.1f} us ({p99 / d['p99_us']:.2f}x)")
    return out or ["No sweep CSVs."]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--out")
    ap.add_argument("--baseline", help="the row the ratio columns divide by")
    a = ap.parse_args()
    names = rows_of(a.results)
    if not names:
        sys.exit(f"report.py: no <row>.closed1000.json / .closed1.json / .sweep.csv in {a.results}")
    rows = [row_data(a.results, r, names[0]) for r in names]
    base_name = a.baseline or ("udp+pwrite" if "udp+pwrite" in names else names[-1])
    base = next((d for d in rows if d["row"] == base_name), rows[-1])
    baseline = load_json(os.path.join(a.results, "baseline.json"))
    table = headline(rows, base, baseline)
    md = ["# raftnode benchmark report", "", f"Results: `{a.results}`. Ratios divide by "
          f"the `{base['row']}` row; absolute numbers belong to this machine.", ""]
    md += table + [""] + baseline_lines(baseline)
    md += paired_lines(a.results, names[0])
    fo = [d for d in rows if d["window_ms"] is not None]
    if fo:
        md += [""] + [f"Leader failover ({d['row']}): window p50 {fmt(d['window_ms'])} ms "
                      f"(longest gap between OK replies), election p50 {fmt(d['election_ms'])} ms "
                      "(kill -9 returned -> a status names a new leader)." for d in fo]
    md += ["", "## What a commit costs", ""] + costs_lines(rows)
    md += ["", "## Linearizable reads", ""] + read_lines(rows)
    md += ["", "## Where the time goes (one in flight, traced requests)", ""] + stage_lines(rows)
    md += ["", "## Sweep", ""] + sweep_lines(rows)
    errors = [f"{d['row']}: {d['errors']}" for d in rows if d["errors"]]
    if errors:
        md += ["", "Errors and timeouts in the closed-loop runs: " + ", ".join(errors)]
    plots = sorted(glob.glob(os.path.join(a.results, "plots", "*.png")))
    if plots:
        md += ["", "## Plots", ""] + [f"![{os.path.basename(p)}](plots/{os.path.basename(p)})"
                                      for p in plots]
    out = a.out or os.path.join(a.results, "report.md")
    with open(out, "w") as f:
        f.write("\n".join(md) + "\n")
    print(f"report.py: wrote {out}")


if __name__ == "__main__":
    main()
