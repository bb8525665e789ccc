#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""promcheck.py - a strict checker of Prometheus text exposition (0.0.4).

usage: promcheck.py FILE [--json OUT]

Checks what a scraper relies on, more strictly than Prometheus itself:
every line ends in LF; `# HELP NAME TEXT` and `# TYPE NAME counter|gauge|
histogram` come before the family's samples, once each; sample names and
label names are valid, label values quoted with only \\\\, \\" and \\n
escaped; a value is a float (or +Inf, -Inf, NaN); counters' names end in
_total; a histogram's samples are NAME_bucket (with le), NAME_sum and
NAME_count, and per label set its buckets have increasing le, cumulative
(non-decreasing) counts, a +Inf bucket, and _count equal to it; no sample
appears twice. Prints one line per problem and exits 1, or prints a
summary and exits 0. --json writes {"name{labels}": value} for the test
to compare two scrapes. Written for the integration tests: no package
needed beyond python3.
"""
import json
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def parse_value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", text):
        raise ValueError(f"value '{text}' is not a number")
    return float(text)


def parse_labels(text):
    """'{a="1",b="2"}' -> (("a","1"),("b","2")); raises on bad syntax."""
    assert text[0] == "{" and text[-1] == "}"
    body, labels, at = text[1:-1], [], 0
    while at < len(body):
        m = LABEL.match(body, at)
        if m is None:
            raise ValueError(f"bad label at '{body[at:]}'")
        labels.append((m.group(1), m.group(2)))
        at = m.end()
        if at < len(body):
            if body[at] != ",":
                raise ValueError(f"labels not separated by ',' at '{body[at:]}'")
            at += 1
    names = [k for k, _ in labels]
    if len(set(names)) != len(names):
        raise ValueError("a label name twice")
    return tuple(labels)


def check(text):
    problems, families, samples = [], {}, {}
    helped, current = set(), None
    if text and not text.endswith("\n"):
        problems.append("the text does not end in LF")
    for no, line in enumerate(text.split("\n")[:-1], 1):
        where = f"line {no}"
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.fullmatch(name):
                    problems.append(f"{where}: bad metric name '{name}'")
                if parts[1] == "HELP":
                    if name in helped:
                        problems.append(f"{where}: second HELP for {name}")
                    helped.add(name)
                else:
                    kind = parts[3] if len(parts) == 4 else ""
                    if kind not in ("counter", "gauge", "histogram"):
                        problems.append(f"{where}: TYPE '{kind}' of {name}")
                    if name in families:
                        problems.append(f"{where}: second TYPE for {name}")
                    if kind == "counter" and not name.endswith("_total"):
                        problems.append(f"{where}: counter {name} does not end in _total")
                    families[name] = kind
                    current = name
            continue
        m = re.fullmatch(r"([^{ ]+)(\{[^}]*\})? (\S+)", line)
        if m is None:
            problems.append(f"{where}: not 'name{{labels}} value': {line!r}")
            continue
        name, labels_text, value_text = m.groups()
        try:
            labels = parse_labels(labels_text) if labels_text else ()
            value = parse_value(value_text)
        except ValueError as e:
            problems.append(f"{where}: {e}")
            continue
        if current is None:
            problems.append(f"{where}: sample {name} before any TYPE")
            continue
        kind = families[current]
        suffix = name[len(current):] if name.startswith(current) else None
        allowed = ("_bucket", "_sum", "_count") if kind == "histogram" else ("",)
        if suffix not in allowed:
            problems.append(f"{where}: sample {name} is not of family {current} ({kind})")
            continue
        if kind == "histogram" and (suffix == "_bucket") != any(k == "le" for k, _ in labels):
            problems.append(f"{where}: le belongs on _bucket samples only")
        if kind == "counter" and (value < 0 or math.isnan(value)):
            problems.append(f"{where}: counter {name} is {value}")
        key = name + "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"
        if key in samples:
            problems.append(f"{where}: {key} twice")
        samples[key] = (current, suffix, labels, value)
    problems += check_histograms(families, samples)
    return problems, families, samples


def check_histograms(families, samples):
    problems, series = [], {}
    for key, (fam, suffix, labels, value) in samples.items():
        if families.get(fam) != "histogram":
            continue
        rest = tuple((k, v) for k, v in labels if k != "le")
        s = series.setdefault((fam, rest), {"buckets": [], "sum": None, "count": None})
        if suffix == "_bucket":
            le = dict(labels)["le"]
            s["buckets"].append((parse_value(le), value))
        else:
            s[suffix[1:]] = value
    for (fam, rest), s in series.items():
        what = f"{fam}{dict(rest) or ''}"
        b = s["buckets"]
        if not b or b[-1][0] != math.inf:
            problems.append(f"{what}: no +Inf bucket last")
            continue
        for (le0, c0), (le1, c1) in zip(b, b[1:]):
            if le1 <= le0:
                problems.append(f"{what}: le {le1} after {le0}")
            if c1 < c0:
                problems.append(f"{what}: bucket le={le1} ({c1}) below le={le0} ({c0})")
        if s["count"] is None or s["sum"] is None:
            problems.append(f"{what}: _count or _sum missing")
        elif s["count"] != b[-1][1]:
            problems.append(f"{what}: _count {s['count']} != +Inf bucket {b[-1][1]}")
    return problems


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    problems, families, samples = check(text)
    if not samples:
        problems.append("no samples at all")
    for p in problems:
        print(f"promcheck: {argv[1]}: {p}")
    if "--json" in argv:
        out = argv[argv.index("--json") + 1]
        with open(out, "w", encoding="utf-8") as f:
            json.dump({k: v[3] for k, v in samples.items()}, f)
    if problems:
        return 1
    hist = sum(1 for k in families.values() if k == "histogram")
    print(f"promcheck: {argv[1]}: ok ({len(families)} families, {hist} histograms, "
          f"{len(samples)} samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
