#!/usr/bin/env python3
"""A strict check of Prometheus's text exposition format (0.0.4) on stdin: every sample
belongs to a family declared by # HELP and # TYPE before it, names and labels are well
formed, label values are properly escaped, values are numbers, counters end in _total,
histograms have cumulative _bucket{le} series ending in +Inf equal to _count, plus _sum.
Prints the samples as JSON ({"name{k=v,...}": value}, labels sorted); exits 1 naming the first error."""
import json
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def fail(n, line, why):
    sys.exit(f"promcheck: line {n}: {why}: {line!r}")


def parse_labels(n, line, text):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            fail(n, line, "bad label")
        if m.group(1) in labels:
            fail(n, line, "repeated label")
        labels[m.group(1)] = m.group(2)
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                fail(n, line, "labels not separated by ','")
            pos += 1
    return labels


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count", ""):
        base = name[: -len(suffix)] if suffix and name.endswith(suffix) else name
        if base in types and (suffix == "" or types[base] in ("histogram", "summary")):
            return base
    return None


def main():
    helps, types, samples, seen_families = {}, {}, {}, []
    buckets = {}
    for n, line in enumerate(sys.stdin.read().split("\n"), 1):
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) < 3 or parts[1] not in ("HELP", "TYPE"):
                continue  # a plain comment
            name = parts[2]
            if not NAME.match(name):
                fail(n, line, "bad metric name")
            if parts[1] == "HELP":
                if name in helps:
                    fail(n, line, "second HELP")
                helps[name] = parts[3] if len(parts) > 3 else ""
            else:
                if name in types or len(parts) != 4 or parts[3] not in TYPES:
                    fail(n, line, "bad or second TYPE")
                if parts[3] == "counter" and not name.endswith("_total"):
                    fail(n, line, "a counter's name ends in _total")
                types[name] = parts[3]
                seen_families.append(name)
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", line)
        if not m:
            fail(n, line, "not a sample line")
        name, labels = m.group(1), parse_labels(n, line, m.group(2) or "")
        try:
            value = float(m.group(3))
        except ValueError:
            fail(n, line, "value is not a number")
        fam = family_of(name, types)
        if fam is None or fam not in helps:
            fail(n, line, "sample before its # HELP and # TYPE")
        if fam != seen_families[-1]:
            fail(n, line, "sample away from its family's block")
        key = name + ("{" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"
                      if labels else "")
        if key in samples:
            fail(n, line, "duplicate sample")
        samples[key] = value
        if types[fam] == "histogram" and name.endswith("_bucket"):
            if "le" not in labels:
                fail(n, line, "bucket without le")
            buckets.setdefault(fam, []).append((labels["le"], value))
    for fam, typ in types.items():
        if typ != "histogram":
            continue
        b = buckets.get(fam, [])
        if not b or b[-1][0] != "+Inf":
            sys.exit(f"promcheck: histogram {fam} does not end with le=\"+Inf\"")
        les = [float(le) for le, _ in b]
        if les != sorted(les) or any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            sys.exit(f"promcheck: histogram {fam} buckets are not cumulative in le order")
        count = samples.get(fam + "_count")
        if count is None or (fam + "_sum") not in samples or count != b[-1][1]:
            sys.exit(f"promcheck: histogram {fam}: _count missing or not the +Inf bucket")
    json.dump(samples, sys.stdout, indent=1)


main()
