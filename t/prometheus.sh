#!/bin/sh
# prometheus.sh -- the shipped alert rules and Grafana dashboard
#
# conf/prometheus/bouncer-alerts.yml: promtool check rules passes, and
# promtool test rules passes on bouncer-alerts.test.yml, which must
# test every alert both firing and silent; renaming any one alert in a
# copy of the rules must make that test fail (it really checks each).
# conf/grafana/bouncer.json: valid JSON that Grafana can import (ids,
# grid, a query and refId per target), every query is PromQL that
# Prometheus parses (checked by promtool as a recording rule, Grafana's
# variables replaced), histogram_quantile() reads _bucket by le, and
# every bouncer_* metric named in either file is one that bouncerd's
# source writes (or listed in t/data/metrics-absent-ok). t/metrics.sh
# checks those names against a running bouncerd's /metrics.
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
PY=/usr/bin/python3
. "$SRC/t/lib/sh.sh"
T=$(mktemp -d /tmp/bouncer-prometheus.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
RULES=$SRC/conf/prometheus/bouncer-alerts.yml
TESTS=$SRC/conf/prometheus/bouncer-alerts.test.yml
DASH=$SRC/conf/grafana/bouncer.json

if ! command -v promtool >/dev/null 2>&1; then
	bad "promtool is not installed (Debian package prometheus; scripts/setup-deps)"
	echo "prometheus.sh: $pass passed, $fail failed"
	exit 1
fi

# 1. The rules load, and their unit tests pass.
promtool check rules "$RULES" > "$T/check" 2>&1 && ok ||
    bad "promtool check rules: $(cat "$T/check")"
promtool test rules "$TESTS" > "$T/test" 2>&1 && ok ||
    bad "promtool test rules: $(cat "$T/test")"

# 2. Every alert has a test where it fires and one where it must not.
alerts=$(sed -n 's/^ *- alert: *\([A-Za-z0-9_]*\).*/\1/p' "$RULES")
[ "$(echo "$alerts" | wc -w)" -ge 10 ] && ok ||
    bad "only $(echo "$alerts" | wc -w) alerts in $RULES"
$PY - "$TESTS" > "$T/cases" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
for name, rest in re.findall(r'alertname: *(\S+)\n\s*exp_alerts:(.*)', text):
    print(name, "silent" if rest.strip() == "[]" else "fires")
PYEOF
for a in $alerts; do
	grep -qx "$a fires" "$T/cases" && ok || bad "$a: no test where it fires"
	grep -qx "$a silent" "$T/cases" && ok || bad "$a: no test where it stays silent"
done

# 3. Each alert is really checked: with it renamed, the tests fail.
cp "$TESTS" "$T/"
for a in $alerts; do
	sed "s/^\( *- alert: *\)$a\$/\1${a}Renamed/" "$RULES" > "$T/bouncer-alerts.yml"
	if promtool test rules "$T/bouncer-alerts.test.yml" >/dev/null 2>&1; then
		bad "the tests pass with $a renamed: they do not check it"
	else ok; fi
done

# 4. The dashboard.
$PY - "$DASH" "$T/dash-rules.yml" > "$T/dash" 2>&1 <<'PYEOF'
import json, re, sys
problems = []
try:
    d = json.load(open(sys.argv[1]))
except ValueError as e:
    print("not JSON: %s" % e)
    sys.exit(1)
for k in ("title", "uid", "panels", "templating", "schemaVersion"):
    if k not in d:
        problems.append("no %s" % k)
var = {v["name"] for v in d.get("templating", {}).get("list", [])}
for v in ("datasource", "instance"):
    if v not in var:
        problems.append("no $%s variable" % v)
ids, cells, rules = set(), set(), []
for p in d.get("panels", []):
    pid, title = p.get("id"), p.get("title", "")
    if pid in ids:
        problems.append("panel id %s twice" % pid)
    ids.add(pid)
    g = p.get("gridPos", {})
    if g.get("x", 0) + g.get("w", 0) > 24 or not g.get("h"):
        problems.append("%s: gridPos %s" % (title, g))
    for x in range(g.get("x", 0), g.get("x", 0) + g.get("w", 0)):
        for y in range(g.get("y", 0), g.get("y", 0) + g.get("h", 0)):
            if (x, y) in cells:
                problems.append("%s overlaps another panel" % title)
                break
            cells.add((x, y))
        else:
            continue
        break
    if p.get("type") == "row":
        continue
    ts = p.get("targets", [])
    if not ts:
        problems.append("%s: no query" % title)
    if p.get("datasource", {}).get("uid") != "${datasource}":
        problems.append("%s: datasource is not $datasource" % title)
    refs = [t.get("refId") for t in ts]
    if len(set(refs)) != len(refs) or None in refs:
        problems.append("%s: refIds %s" % (title, refs))
    for t in ts:
        e = t.get("expr", "")
        if not e:
            problems.append("%s: empty expr" % title)
            continue
        for m in re.finditer(r'histogram_quantile\(([^,]*),(.*)', e):
            if "_bucket" not in m.group(2) or not re.search(
                    r'by \([^)]*\ble\b', m.group(2)):
                problems.append("%s: histogram_quantile without _bucket by le" % title)
        # Grafana's variables, as Prometheus would get them.
        q = (e.replace("$__rate_interval", "5m")
             .replace("$__interval", "1m").replace("$__range", "1h"))
        q = re.sub(r'\$\{?[a-z_]+\}?', ".*", q)
        rules.append((pid, t.get("refId"), q))
with open(sys.argv[2], "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for pid, ref, q in rules:
        f.write("      - record: dashboard:panel%s_%s\n        expr: %s\n"
                % (pid, ref, json.dumps(q)))
for p in problems:
    print(p)
print("%d queries" % len(rules), file=sys.stderr)
sys.exit(1 if problems else 0)
PYEOF
[ $? = 0 ] && ok || bad "$DASH: $(cat "$T/dash")"
n=$(sed -n 's/^\([0-9]*\) queries$/\1/p' "$T/dash")
[ "${n:-0}" -ge 30 ] && ok || bad "$DASH: only ${n:-0} queries"
promtool check rules "$T/dash-rules.yml" > "$T/dcheck" 2>&1 && ok ||
    bad "a dashboard query does not parse: $(cat "$T/dcheck")"

# 5. The names: each bouncer_* metric of the dashboard and the rules is
# one that daemon/*.c writes ("bouncer_%s_connections_total" stands for
# each listener; metrics_histogram() names give _bucket, _sum, _count).
$PY - "$SRC" "$DASH" "$RULES" > "$T/names" <<'PYEOF'
import glob, re, sys
src = sys.argv[1]
used = set()
for f in sys.argv[2:]:
    used |= set(re.findall(r'\bbouncer_[a-z0-9_]+', open(f).read()))
pats = set()
for f in glob.glob(src + "/daemon/*.c"):
    text = open(f).read()
    for n in re.findall(r'bouncer_[a-z0-9_%]+', text):
        pats.add(re.escape(n).replace("%s", "[a-z]+"))
    for n in re.findall(r'metrics_histogram\([^"]*"(bouncer_[a-z0-9_]+)"', text):
        for s in ("_bucket", "_sum", "_count"):
            pats.add(re.escape(n + s))
absent = set()
for line in open(src + "/t/data/metrics-absent-ok"):
    if line.strip() and not line.startswith("#"):
        absent.add(line.split()[0])
for n in sorted(used):
    if n in absent:
        continue
    if not any(re.fullmatch(p, n) for p in pats):
        print(n)
PYEOF
if [ -s "$T/names" ]; then
	bad "metrics bouncerd does not write: $(tr '\n' ' ' < "$T/names")"
else ok; fi

echo "prometheus.sh: $pass passed, $fail failed"
[ $fail = 0 ]
