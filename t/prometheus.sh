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
# Then a real Prometheus scrapes a real bouncerd with the rules loaded:
# every dashboard query runs and returns data, a blocklist refusal in
# the log fires BouncerBlocklistRefusals and nothing else, and the
# blocklist monitor's listing (a local DNS server) makes
# BouncerBlocklistListed pending.
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
PY=/usr/bin/python3
. "$SRC/t/lib/sh.sh"
T=$(mktemp -d /tmp/bouncer-prometheus.XXXXXX)
BPID= PPID_= DPID=
cleanup() {
	for p in $BPID $PPID_ $DPID; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
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
ids, cells, rules, title_of = set(), set(), [], {}
for p in d.get("panels", []):
    pid, title = p.get("id"), p.get("title", "")
    title_of[pid] = title
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
with open(sys.argv[2] + ".json", "w") as f:
    json.dump([{"panel": t, "ref": r, "expr": q} for t, r, q in
               [(title_of[pid], ref, q) for pid, ref, q in rules]], f)
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


# 6. A real Prometheus scraping a real bouncerd, with the rules loaded:
# every dashboard query runs without error, and those on metrics
# bouncerd has now return data; a blocklist refusal in the log fires
# BouncerBlocklistRefusals, and nothing else fires.
if ! command -v prometheus >/dev/null 2>&1; then
	bad "prometheus is not installed (scripts/setup-deps)"
else
	BOUNCERD=${BOUNCERD:-$SRC/bouncerd}
	MPORT=$(free_port)
	PPORT=$(free_port)
	: > "$T/maillog"
	# A DNS server that lists 192.0.2.12 on zen.spamhaus.org, for the
	# blocklist monitor.
	echo "12.2.0.192.zen.spamhaus.org A 127.0.0.2 ttl=1" > "$T/zone"
	$PY "$SRC/t/lib/dnsd.py" "$T/zone" "$T/dport" "$T/dq" &
	DPID=$!
	wait_for 10 test -s "$T/dport" || bad "dnsd.py did not start"
	"$BOUNCERD" -f -c /dev/null -o user= -o store=sqlite:$T/state.db \
	    -o rules_dir=${BOUNCER_RULES:-$SRC/rules} -o state_dir=$T \
	    -o socket_group=$(id -gn) -o policy_listen=unix:$T/policy.sock \
	    -o milter_listen=unix:$T/milter.sock \
	    -o socketmap_listen=unix:$T/socketmap.sock \
	    -o metrics_listen=127.0.0.1:$MPORT -o maillog_file=$T/maillog \
	    -o maillog_poll_ms=50 -o blocklist_watch_ips=192.0.2.12 \
	    -o blocklist_zones=zen.spamhaus.org -o blocklist_interval=1s \
	    -o "blocklist_resolver=127.0.0.1:$(cat "$T/dport")" \
	    2>>"$T/bouncerd.log" &
	BPID=$!
	wait_for 10 $PY -c "
import socket; s=socket.socket(socket.AF_UNIX); s.connect('$T/policy.sock')" ||
	    bad "bouncerd did not start: $(cat "$T/bouncerd.log")"
	stamp=$(LC_ALL=C date '+%b %e %H:%M:%S')
	cat >> "$T/maillog" <<LOG
$stamp mx postfix/smtp[2110]: 4BAA0001: to=<nosuchuser@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host gmail-smtp-in.l.google.com[142.250.4.27] said: 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser a1si3921pgb.41 - gsmtp (in reply to RCPT TO command))
LOG
	cat > "$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $RULES
scrape_configs:
  - job_name: bouncer
    static_configs:
      - targets: ["127.0.0.1:$MPORT"]
YML
	prometheus --config.file="$T/prometheus.yml" \
	    --storage.tsdb.path="$T/tsdb" \
	    --web.listen-address=127.0.0.1:$PPORT \
	    --log.level=warn >"$T/prometheus.log" 2>&1 &
	PPID_=$!
	# Traffic while Prometheus scrapes, so that rates are not zero.
	for i in 1 2 3 4 5 6; do
		$PY "$SRC/t/lib/policyq.py" "unix:$T/policy.sock" \
		    nosuchuser@gmail.com friend$i@example.org >/dev/null 2>&1
		$PY "$SRC/t/lib/miltertest.py" "unix:$T/milter.sock" \
		    --from '<news@example.net>' --rcpt friend$i@example.org \
		    >/dev/null 2>&1
		sleep 1
	done
	echo "$stamp mx postfix/smtp[2110]: 4BAA0002: to=<someone@outlook.com>, relay=outlook-com.olc.protection.outlook.com[52.101.8.33]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced (host outlook-com.olc.protection.outlook.com[52.101.8.33] said: 550 5.7.1 Service unavailable, Client host [192.0.2.12] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/192.0.2.12 (in reply to MAIL FROM command))" >> "$T/maillog"
	sleep 4
	$PY - "$PPORT" "$T/dash-rules.yml.json" "$SRC/t/data/metrics-absent-ok" \
	    > "$T/live" 2>&1 <<'PYEOF'
import json, re, sys, time, urllib.parse, urllib.request
port, queries, absent_file = sys.argv[1], sys.argv[2], sys.argv[3]
def query(q):
    u = "http://127.0.0.1:%s/api/v1/query?%s" % (
        port, urllib.parse.urlencode({"query": q}))
    return json.load(urllib.request.urlopen(u, timeout=10))
absent = [l.split()[0] for l in open(absent_file)
          if l.strip() and not l.startswith("#")]
for _ in range(100):            # Prometheus up and bouncerd scraped
    try:
        r = query('up{job="bouncer"} == 1')
        if r["data"]["result"]:
            break
    except Exception:
        pass
    time.sleep(0.2)
else:
    print("Prometheus never scraped bouncerd")
    sys.exit(1)
bad = 0
for q in json.load(open(queries)):
    e = q["expr"].replace('job=~".*"', 'job=~"bouncer"')
    try:
        r = query(e)
    except Exception as x:
        print("%s/%s: %s: %s" % (q["panel"], q["ref"], e, x))
        bad += 1
        continue
    if r.get("status") != "success":
        print("%s/%s: %s: %s" % (q["panel"], q["ref"], e, r))
        bad += 1
        continue
    # Empty is right for what does not exist here: a blocklist
    # monitor's metric, the ALERTS of other alerts, a "> 0" filter.
    may_be_empty = any(a in e for a in absent) or "ALERTS" in e
    if not r["data"]["result"] and not may_be_empty:
        print("%s/%s: no data: %s" % (q["panel"], q["ref"], e))
        bad += 1
for _ in range(50):
    r = query('ALERTS{alertstate="firing"}')["data"]["result"]
    names = sorted({a["metric"]["alertname"] for a in r})
    if names == ["BouncerBlocklistRefusals"]:
        break
    time.sleep(0.2)
else:
    print("firing alerts: %s, want BouncerBlocklistRefusals alone" % names)
    bad += 1
r = query('ALERTS{alertname="BouncerBlocklistRefusals"}')["data"]["result"]
if r and r[0]["metric"].get("provider") != "microsoft":
    print("BouncerBlocklistRefusals: %s" % r[0]["metric"])
    bad += 1
# The monitor's listing: pending (for: 5m), with its labels.
r = query('ALERTS{alertname="BouncerBlocklistListed",alertstate="pending"}')
r = r["data"]["result"]
if [(a["metric"].get("list"), a["metric"].get("target")) for a in r] != [
        ("spamhaus", "192.0.2.12")]:
    print("BouncerBlocklistListed pending: %s" % [a["metric"] for a in r])
    bad += 1
sys.exit(1 if bad else 0)
PYEOF
	[ $? = 0 ] && ok || bad "live Prometheus: $(cat "$T/live")"
	kill "$PPID_" "$BPID" "$DPID"
	wait "$PPID_" "$BPID" "$DPID" 2>/dev/null
	PPID_= BPID= DPID=
fi

echo "prometheus.sh: $pass passed, $fail failed"
[ $fail = 0 ]
