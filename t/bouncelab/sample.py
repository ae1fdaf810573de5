#!/usr/bin/python3
"""sample.py -- the kept real bounces of the lab agree with their replies

usage: sample.py DIR

DIR/index.tsv lists, one a line, "file TAB recipient TAB stage TAB reply"
(stage rcpt or data; reply joined into one line as Postfix logs it) for
the bounces DIR/MTA/*.eml that real MTAs wrote in the bounce lab. Each
recipient's reason and decision from `bouncerctl classify-mail` must equal
those of `bouncerctl classify` on the reply, as lab.py checks them.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402


def main():
    d = sys.argv[1]
    src = os.environ.get("BOUNCER_SRCDIR", ".")
    rules = os.environ.get("BOUNCER_RULES", os.path.join(src, "rules"))
    ctl = os.environ.get("BOUNCERCTL", os.path.join(src, "bouncerctl"))
    rows = []
    with open(os.path.join(d, "index.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            file, rcpt, stage, reply = line.rstrip("\n").split("\t", 3)
            rows.append((os.path.join(d, file), rcpt, stage, reply))
    # Each kept bounce is of one transaction, and lists all of it.
    size = {}
    for f, _, _, _ in rows:
        size[f] = size.get(f, 0) + 1
    want = lab.classify(ctl, rules, [(r, reply, st, size[f])
                                     for f, r, st, reply in rows])
    got = lab.classify_mail(ctl, rules, sorted({f for f, _, _, _ in rows}))
    bad = 0
    for (f, rcpt, stage, reply), w in zip(rows, want):
        lines = [(x[1], x[2]) for x in got.get(f, [])
                 if lab.norm(x[0]) == lab.norm(rcpt)]
        if not lines or any(x != w for x in lines):
            bad += 1
            print(f"bouncelab sample: FAIL {f} <{rcpt}> {stage}: reply "
                  f"{w[0]} {w[1]}, bounce {lines[0] if lines else 'no line'}")
    print(f"bouncelab sample: {len(rows)} recipients in "
          f"{len({r[0] for r in rows})} bounces, {len(rows) - bad} agree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
