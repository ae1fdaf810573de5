#!/usr/bin/python3
"""promtext.py -- read Prometheus text exposition, and the metric names
that dashboards and alert rules use

usage: promtext.py check FILE           the exposition is well formed
       promtext.py value FILE SAMPLE    the value of one sample, e.g.
                                        'bouncer_log_ok' or
                                        'x_bucket{le="+Inf"}'
       promtext.py uses FILE...         bouncer_* names in these files
                                        (a dashboard's JSON, rule files)
       promtext.py missing EXPO FILE... names used in FILEs that EXPO
                                        lacks, one a line

check: every sample line is NAME[{LABELS}] VALUE; a family has at most
one TYPE line, before its samples; each histogram has _bucket lines
whose le rise and end with +Inf, cumulative counts that never fall,
and _count equal to the +Inf bucket, and a _sum.
"""
import math
import re
import sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
USES = re.compile(r'\bbouncer_[a-z0-9_]+')
HSUFFIX = ("_bucket", "_sum", "_count")


def parse(path):
    """(samples, types, problems): samples is a list of (name, labels
    dict, value, raw key); types maps a family to its TYPE."""
    samples, types, problems, seen = [], {}, [], set()
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("# TYPE "):
                parts = line.split()
                if len(parts) != 4:
                    problems.append("%d: bad TYPE line" % n)
                    continue
                fam = parts[2]
                if fam in types:
                    problems.append("%d: second TYPE for %s" % (n, fam))
                if fam in seen:
                    problems.append("%d: TYPE %s after its samples"
                                    % (n, fam))
                types[fam] = parts[3]
                continue
            if line.startswith("#"):
                continue
            m = SAMPLE.match(line)
            if m is None:
                problems.append("%d: not a sample: %r" % (n, line))
                continue
            name, lab, val = m.group(1), m.group(2) or "", m.group(3)
            try:
                v = float(val)
            except ValueError:
                problems.append("%d: bad value %r" % (n, val))
                continue
            labels = dict(LABEL.findall(lab))
            samples.append((name, labels, v, name + lab))
            seen.add(name)
            for s in HSUFFIX:
                if name.endswith(s):
                    seen.add(name[:-len(s)])
    return samples, types, problems


def check(path):
    samples, types, problems = parse(path)
    keys = [s[3] for s in samples]
    dup = {k for k in keys if keys.count(k) > 1}
    problems += ["sample %s twice" % k for k in sorted(dup)]
    for fam, t in types.items():
        if t != "histogram":
            continue
        b = [(s[1].get("le"), s[2]) for s in samples
             if s[0] == fam + "_bucket"]
        if not b:
            problems.append("%s: no buckets" % fam)
            continue
        if b[-1][0] != "+Inf":
            problems.append("%s: last bucket is not +Inf" % fam)
        les = [math.inf if le == "+Inf" else float(le) for le, _ in b]
        if les != sorted(les) or len(set(les)) != len(les):
            problems.append("%s: le does not rise" % fam)
        counts = [v for _, v in b]
        if counts != sorted(counts):
            problems.append("%s: buckets not cumulative" % fam)
        cnt = [s[2] for s in samples if s[0] == fam + "_count"]
        sm = [s[2] for s in samples if s[0] == fam + "_sum"]
        if len(cnt) != 1 or cnt[0] != counts[-1]:
            problems.append("%s: _count %s, +Inf bucket %s"
                            % (fam, cnt, counts[-1]))
        if len(sm) != 1 or sm[0] < 0:
            problems.append("%s: _sum %s" % (fam, sm))
    for p in problems:
        print("%s: %s" % (path, p))
    return 1 if problems else 0


def names(path):
    """Metric names an exposition offers: each sample's name, and a
    histogram's family name too."""
    samples, types, _ = parse(path)
    out = set(types)
    for s in samples:
        out.add(s[0])
    return out


def uses(paths):
    out = set()
    for p in paths:
        with open(p) as f:
            out |= set(USES.findall(f.read()))
    return out


def main(argv):
    if len(argv) >= 2 and argv[0] == "check":
        return max(check(p) for p in argv[1:])
    if len(argv) == 3 and argv[0] == "value":
        for s in parse(argv[1])[0]:
            if s[3] == argv[2]:
                print("%.17g" % s[2])
                return 0
        return 1
    if len(argv) >= 2 and argv[0] == "uses":
        for n in sorted(uses(argv[1:])):
            print(n)
        return 0
    if len(argv) >= 3 and argv[0] == "missing":
        have = names(argv[1])
        for n in sorted(uses(argv[2:]) - have):
            print(n)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
