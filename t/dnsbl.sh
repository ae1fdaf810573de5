#!/bin/sh
# dnsbl.sh -- the blocklist monitor against a real DNS server
#
# t/lib/dnsd.py serves test zones on a free 127.0.0.1 UDP port, and the
# test changes them while bouncerd runs. Checked: an IP a zone lists
# raises exactly one alert (hook and syslog) with the code's meaning and
# the delisting URL, and a cleared alert once the zone drops it; a
# domain on the DBL; Spamhaus's "query refused" code is a monitor error
# and no alert; SERVFAIL and timeouts are counted; the answer's TTL is
# respected; a bounce for a listed IP raises nothing more, and an IP a
# bounce names is discovered and not alerted twice; "bouncerctl
# blocklist" checks and lists. Last, a resolver that never answers
# leaves the policy server's p99 where it was.
# Every wait is a bounded poll; everything started is stopped.
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/t/lib/sh.sh"
t_tmp bouncer-dnsbl BPID DNSD DNSD2

healthz() { $PY -c "import urllib.request; assert urllib.request.urlopen('http://127.0.0.1:$1/healthz', timeout=5).read() == b'ok\n'"; }
metrics() { $PY -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$1/metrics', timeout=5).read().decode())"; }
# metric PORT NAME{labels}: its value, or nothing.
metric() { metrics "$1" | awk -v n="$2" '$1 == n { print $2 }'; }
metric_ge() { v=$(metric "$1" "$2"); [ -n "$v" ] && [ "${v%.*}" -ge "$3" ]; }
stamp() { LC_ALL=C date '+%b %e %H:%M:%S'; }
blocked_line() {	# queue-id ip
	echo "$(stamp) mta postfix/smtp[2110]: $1: to=<someone@outlook.com>, relay=outlook-com.olc.protection.outlook.com[52.101.8.33]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced (host outlook-com.olc.protection.outlook.com[52.101.8.33] said: 550 5.7.1 Service unavailable, Client host [$2] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/$2 (in reply to MAIL FROM command))"
}
# zone TEXT: the zone file replaced in one step.
zone() { printf '%s\n' "$1" > "$T/zone.new" && mv "$T/zone.new" "$T/zone"; }
# start_dnsd ZONEFILE PORTFILE QUERYLOG: its pid in $started.
start_dnsd() {
	rm -f "$2"
	$PY "$SRC/t/lib/dnsd.py" "$1" "$2" "$3" &
	started=$!
	wait_for 30 test -s "$2" || bad "dnsd.py did not start"
}
# Hook lines for a target and zone ("-" for a bounce's alert).
hook_lines() { awk -F'|' -v t="$1" -v z="$2" '($6 == t || $7 == t) && $5 == z' "$T/alerts"; }
hook_count() { hook_lines "$1" "$2" | wc -l | tr -d ' '; }

ZEN1=$(cat <<'EOF'
# 192.0.2.1 on the SBL; .2 refused; .3 SERVFAIL; .4 never answered
1.2.0.192.zen.spamhaus.org A 127.0.0.2 ttl=1
2.2.0.192.zen.spamhaus.org A 127.255.255.254 ttl=1
3.2.0.192.zen.spamhaus.org SERVFAIL
4.2.0.192.zen.spamhaus.org DROP
# .5 on SpamCop with a TTL of 4 s
5.2.0.192.bl.spamcop.net A 127.0.0.2 ttl=4
# .6 on the SBL too, but only a bounce names it
6.2.0.192.zen.spamhaus.org A 127.0.0.2 ttl=1
example.net.dbl.spamhaus.org A 127.0.1.2 ttl=1
# 2001:db8::1, its 32 nibbles reversed
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org A 127.0.0.3
EOF
)
zone "$ZEN1"
start_dnsd "$T/zone" "$T/port" "$T/queries"
DNSD=$started
DPORT=$(cat "$T/port")

cat > "$T/hook.sh" <<HOOK
#!/bin/sh
echo "\$1|\$BOUNCER_KIND|\$BOUNCER_SOURCE|\$BOUNCER_BLOCKLIST|\${BOUNCER_ZONE:--}|\$BOUNCER_TARGET|\$BOUNCER_IP|\$BOUNCER_MEANING|\$BOUNCER_DELIST_URL" >> "$T/alerts"
HOOK
chmod +x "$T/hook.sh"
: > "$T/alerts"
: > "$T/maillog"

MPORT=$(free_port)
BL="-o blocklist_resolver=127.0.0.1:$DPORT -o blocklist_interval=1s \
    -o blocklist_timeout=1s -o blocklist_discover=yes \
    -o blocklist_zones=zen.spamhaus.org,dbl.spamhaus.org,bl.spamcop.net"
# shellcheck disable=SC2086
"$BOUNCERD" -f -c /dev/null -o rules_dir="$RULES" \
    -o metrics_listen=127.0.0.1:$MPORT -o user= -o state_dir="$T" \
    -o store=sqlite:"$T/state.db" -o socket_group="$(id -gn)" \
    -o policy_listen=unix:"$T/policy.sock" -o maillog_file="$T/maillog" \
    -o maillog_poll_ms=50 -o alert_command="$T/hook.sh" $BL \
    -o "blocklist_watch_ips=192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5 2001:DB8:0::1" \
    -o blocklist_watch_domains=example.net,example.com 2>"$T/log" &
BPID=$!
wait_for 120 healthz $MPORT || { bad "bouncerd did not start"; cat "$T/log"; exit 1; }

# 1. Listed: one alert, with the meaning and the URL, and only one.
wait_for 30 sh -c "grep -q '|192.0.2.1|' '$T/alerts'" ||
    bad "no alert for 192.0.2.1 on zen.spamhaus.org"
sleep 4		# four intervals: four checks that find it listed again
[ "$(hook_count 192.0.2.1 zen.spamhaus.org)" = 1 ] && ok ||
    bad "alerts for 192.0.2.1: $(hook_lines 192.0.2.1 zen.spamhaus.org)"
want="blocklist|blocklist|dnsbl|spamhaus|zen.spamhaus.org|192.0.2.1|192.0.2.1|127.0.0.2 SBL: a known spam source or spam operation (Spamhaus Block List)|https://check.spamhaus.org/results/?query=192.0.2.1"
[ "$(hook_lines 192.0.2.1 zen.spamhaus.org)" = "$want" ] && ok ||
    bad "the alert's hook got: $(hook_lines 192.0.2.1 zen.spamhaus.org)"
grep -q 'alert kind=blocklist source=dnsbl list=spamhaus zone=zen.spamhaus.org target=192.0.2.1 url=https://check.spamhaus.org/results/?query=192.0.2.1 meaning="127.0.0.2 SBL: ' "$T/log" &&
    ok || bad "no syslog line for the alert"
[ "$(metric $MPORT 'bouncer_blocklist_listed{list="spamhaus",zone="zen.spamhaus.org",target="192.0.2.1"}')" = 1 ] &&
    ok || bad "bouncer_blocklist_listed is not 1 for 192.0.2.1"

# 2. A domain on the DBL.
wait_for 30 sh -c "grep -q '|example.net|' '$T/alerts'" &&
    [ "$(hook_count example.net dbl.spamhaus.org)" = 1 ] &&
    hook_lines example.net dbl.spamhaus.org | grep -q '|127.0.1.2 DBL: a spam domain|' &&
    ok || bad "the DBL alert for example.net: $(hook_lines example.net dbl.spamhaus.org)"
[ "$(hook_count example.com dbl.spamhaus.org)" = 0 ] && ok ||
    bad "an alert for example.com, which no zone lists"

# 2b. An IPv6 address, asked by its nibbles.
wait_for 30 sh -c "grep -q '|2001:db8::1|' '$T/alerts'" &&
    [ "$(hook_count 2001:db8::1 zen.spamhaus.org)" = 1 ] &&
    hook_lines 2001:db8::1 zen.spamhaus.org | grep -q '|127.0.0.3 CSS: ' &&
    ok || bad "the alert for 2001:db8::1: $(hook_lines 2001:db8::1 zen.spamhaus.org)"

# 3. Refused: a monitor error that says what to do, never an alert.
wait_for 30 metric_ge $MPORT 'bouncer_blocklist_errors_total{kind="refused"}' 1 &&
    ok || bad "the refusal was not counted"
grep -q 'zen.spamhaus.org, asking about 192.0.2.2: 127.255.255.254 query refused: .*set blocklist_resolver' "$T/log" &&
    ok || bad "the refusal was not logged with what to do"
# Logged when it starts (and again only if another error came between),
# not at every check.
wait_for 30 metric_ge $MPORT 'bouncer_blocklist_errors_total{kind="refused"}' 4 ||
    bad "the refusal was not counted at each check"
n=$(grep -c 'asking about 192.0.2.2: 127.255.255.254' "$T/log")
[ "$n" -ge 1 ] && [ "$n" -le 2 ] && ok ||
    bad "the refusal was logged $n times"
[ "$(hook_count 192.0.2.2 zen.spamhaus.org)" = 0 ] && ok ||
    bad "the refusal raised an alert"

# 4. SERVFAIL and timeouts: counted, logged, no alert.
wait_for 30 metric_ge $MPORT 'bouncer_blocklist_errors_total{kind="servfail"}' 1 &&
    ok || bad "SERVFAIL was not counted"
grep -q 'asking about 192.0.2.3: the resolver failed (SERVFAIL)' "$T/log" &&
    ok || bad "SERVFAIL was not logged"
wait_for 30 metric_ge $MPORT 'bouncer_blocklist_errors_total{kind="timeout"}' 1 &&
    ok || bad "the timeout was not counted"
grep -q 'asking about 192.0.2.4: no answer in' "$T/log" && ok ||
    bad "the timeout was not logged"
[ "$(hook_count 192.0.2.3 zen.spamhaus.org)$(hook_count 192.0.2.4 zen.spamhaus.org)" = 00 ] &&
    ok || bad "an error raised an alert"

# 4b. bouncerctl blocklist list: the listing from the store, with since
# and the last check; bouncerctl blocklist check: a table, exit 3.
out=$("$CTL" -c /dev/null -o store=sqlite:"$T/state.db" blocklist list)
rc=$?
echo "$out" | grep -q '^192\.0\.2\.1  *spamhaus  *zen\.spamhaus\.org  *dnsbl  *20[0-9-]*T[0-9:]*Z  *20[0-9-]*T[0-9:]*Z  *127\.0\.0\.2 SBL: ' &&
    [ $rc = 0 ] && ok || bad "blocklist list (exit $rc): $out"
echo "$out" | grep -q '192\.0\.2\.2' && bad "blocklist list shows the refused 192.0.2.2" || ok
out=$("$CTL" -c /dev/null -o blocklist_resolver=127.0.0.1:$DPORT \
    -o blocklist_timeout=1s -o blocklist_zones=zen.spamhaus.org \
    blocklist check 192.0.2.1 192.0.2.2 192.0.2.9 2>&1)
rc=$?
[ $rc = 3 ] && ok || bad "blocklist check of a listed IP: exit $rc"
echo "$out" | grep -q '^192\.0\.2\.1  *spamhaus  *zen\.spamhaus\.org  *listed  *127\.0\.0\.2 SBL: ' &&
    echo "$out" | grep -q '^  *delisting: https://check\.spamhaus\.org/results/?query=192\.0\.2\.1$' &&
    echo "$out" | grep -q '^192\.0\.2\.2  *spamhaus  *zen\.spamhaus\.org  *refused  *127\.255\.255\.254 query refused' &&
    echo "$out" | grep -q '^192\.0\.2\.9  *spamhaus  *zen\.spamhaus\.org  *clean  *-$' &&
    ok || bad "blocklist check printed: $out"
out=$("$CTL" -c /dev/null -o blocklist_resolver=127.0.0.1:$DPORT \
    -o blocklist_zones=zen.spamhaus.org blocklist check 192.0.2.9 2>&1)
rc=$?
[ $rc = 0 ] && ok || bad "blocklist check of a clean IP: exit $rc: $out"
"$CTL" -c /dev/null blocklist check 192.0.2 >/dev/null 2>&1
rc=$?
[ $rc = 1 ] && ok || bad "blocklist check of a bad IP: exit $rc"
# Bad settings: a clear error, exit 2.
out=$("$CTL" -c /dev/null -o blocklist_watch_ips=mail.example.com blocklist check 2>&1)
rc=$?
[ $rc = 2 ] && [ "$out" = 'bouncerctl: blocklist_watch_ips: "mail.example.com" is not an IP address' ] &&
    ok || bad "a domain in blocklist_watch_ips: exit $rc: $out"
out=$("$CTL" -c /dev/null -o blocklist_zones=zen.dq.spamhaus.net blocklist check 192.0.2.1 2>&1)
rc=$?
[ $rc = 2 ] && [ "$out" = 'bouncerctl: blocklist_zones: zen.dq.spamhaus.net needs blocklist_dqs_key' ] &&
    ok || bad "a DQS zone without a key: exit $rc: $out"
out=$("$CTL" -c /dev/null -o blocklist_resolver=not-an-ip blocklist check 192.0.2.1 2>&1)
rc=$?
[ $rc = 2 ] && echo "$out" | grep -q 'blocklist_resolver: "not-an-ip" is not an address' &&
    ok || bad "a bad resolver: exit $rc: $out"

# 5. The TTL: 4 s for .5 on SpamCop, none for its NXDOMAIN neighbours.
q1=$(grep -c '^5.2.0.192.bl.spamcop.net$' "$T/queries")
c1=$(grep -c '^1.2.0.192.bl.spamcop.net$' "$T/queries")
sleep 8
q2=$(grep -c '^5.2.0.192.bl.spamcop.net$' "$T/queries")
c2=$(grep -c '^1.2.0.192.bl.spamcop.net$' "$T/queries")
[ $((q2 - q1)) -le 3 ] && [ $((c2 - c1)) -ge 5 ] && ok ||
    bad "in 8 s: $((q2 - q1)) queries for a 4 s TTL, $((c2 - c1)) for none"

# 6. A bounce for the listed IP: already known, no second alert.
blocked_line 4BDD0001 192.0.2.1 >> "$T/maillog"
wait_for 30 grep -q 'blocklist=spamhaus ip=192.0.2.1: known to the blocklist monitor already' "$T/log" &&
    ok || bad "the bounce for 192.0.2.1 was not matched with the listing"
[ "$(awk -F'|' '$7 == "192.0.2.1"' "$T/alerts" | wc -l)" = 1 ] && ok ||
    bad "a second alert for 192.0.2.1: $(cat "$T/alerts")"

# 7. A bounce names 192.0.2.6: its alert, then the IP is discovered,
# found listed, and not alerted again.
blocked_line 4BDD0002 192.0.2.6 >> "$T/maillog"
wait_for 30 grep -q 'discovered sending IP 192.0.2.6' "$T/log" && ok ||
    bad "192.0.2.6 was not discovered"
wait_for 30 grep -q 'list=spamhaus zone=zen.spamhaus.org target=192.0.2.6: raised from a bounce already' "$T/log" &&
    ok || bad "the listing of 192.0.2.6 was not matched with its bounce"
[ "$(awk -F'|' '$7 == "192.0.2.6"' "$T/alerts" | wc -l)" = 1 ] && ok ||
    bad "alerts for 192.0.2.6: $(grep 192.0.2.6 "$T/alerts")"
[ "$(grep -c 'discovered sending IP' "$T/log")" = 1 ] && ok ||
    bad "discoveries logged: $(grep 'discovered sending IP' "$T/log")"

# 8. Delisted: a cleared alert, the gauge at 0.
zone "$(echo "$ZEN1" | grep -v '^1.2.0.192.zen')"
wait_for 30 sh -c "grep -q '^blocklist-cleared|blocklist-cleared|dnsbl|spamhaus|zen.spamhaus.org|192.0.2.1|' '$T/alerts'" &&
    ok || bad "no cleared alert for 192.0.2.1: $(cat "$T/alerts")"
[ "$(hook_count 192.0.2.1 zen.spamhaus.org)" = 2 ] && ok ||
    bad "alerts for 192.0.2.1 after the clear: $(hook_lines 192.0.2.1 zen.spamhaus.org)"
[ "$(metric $MPORT 'bouncer_blocklist_listed{list="spamhaus",zone="zen.spamhaus.org",target="192.0.2.1"}')" = 0 ] &&
    ok || bad "bouncer_blocklist_listed is not 0 after the clear"
metric_ge $MPORT bouncer_blocklist_checks_total 20 && ok ||
    bad "bouncer_blocklist_checks_total: $(metric $MPORT bouncer_blocklist_checks_total)"
# The exposition with the monitor's families stays well formed.
metrics $MPORT > "$T/metrics"
$PY "$SRC/t/lib/promtext.py" check "$T/metrics" > "$T/lint" 2>&1 && ok ||
    bad "promtext.py check: $(cat "$T/lint")"
if command -v promtool >/dev/null 2>&1; then
	promtool check metrics < "$T/metrics" > "$T/lint" 2>&1 && ok ||
	    bad "promtool check metrics: $(cat "$T/lint")"
fi

kill -TERM $BPID; wait $BPID; BPID=

# 8b. A restart: a listing recorded before it raises nothing again; one
# that ended while the daemon was down is cleared at the first answer.
zone "$(echo "$ZEN1" | grep -v '^1.2.0.192.zen' | grep -v '^5.2.0.192.bl.spamcop')"
lines=$(wc -l < "$T/alerts")
# shellcheck disable=SC2086
"$BOUNCERD" -f -c /dev/null -o rules_dir="$RULES" \
    -o metrics_listen=127.0.0.1:$MPORT -o user= -o state_dir="$T" \
    -o store=sqlite:"$T/state.db" -o socket_group="$(id -gn)" \
    -o policy_listen=unix:"$T/policy.sock" -o alert_command="$T/hook.sh" $BL \
    -o "blocklist_watch_ips=192.0.2.1 192.0.2.5" \
    -o blocklist_watch_domains=example.net 2>>"$T/log" &
BPID=$!
wait_for 120 healthz $MPORT || bad "bouncerd did not start again"
wait_for 30 grep -q 'dnsbl: 192.0.2.5 is no longer listed on bl.spamcop.net (spamcop), as recorded before the start' "$T/log" &&
    ok || bad "the listing that ended during the restart was not cleared"
wait_for 30 sh -c "grep -q '^blocklist-cleared|.*|bl.spamcop.net|192.0.2.5|' '$T/alerts'" &&
    ok || bad "no cleared alert for 192.0.2.5 after the restart"
wait_for 30 metric_ge $MPORT 'bouncer_blocklist_listed{list="spamhaus",zone="dbl.spamhaus.org",target="example.net"}' 1 ||
    bad "example.net is not listed after the restart"
sleep 2
[ "$(tail -n +$((lines + 1)) "$T/alerts" | grep -c .)" = 1 ] && ok ||
    bad "alerts after the restart: $(tail -n +$((lines + 1)) "$T/alerts")"
kill -TERM $BPID; wait $BPID; BPID=
if grep -q 'runtime error\|AddressSanitizer' "$T/log"; then
	bad "sanitizer report: $(grep -A5 'runtime error\|AddressSanitizer' "$T/log")"
else
	ok
fi

# 9. A resolver that never answers, 280 pairs in flight every second:
# policy answers' p99 stays within 10 times (plus 100 ms) of a daemon
# without the monitor.
printf '* DROP\n' > "$T/silent"
start_dnsd "$T/silent" "$T/port2" "$T/queries2"
DNSD2=$started
SPORT=$(cat "$T/port2")
ips=
for i in $(seq 1 40); do ips="$ips 198.51.100.$i"; done
p99() {	# socket requests: the p99 in microseconds
	$PY - "$1" "$2" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(30)
f = s.makefile("rwb")
lat = []
for i in range(int(sys.argv[2])):
    t = time.monotonic()
    f.write(("request=smtpd_access_policy\nprotocol_state=RCPT\n"
             "sender=a@example.net\nrecipient=r%d@example.org\n"
             "client_address=127.0.0.1\n\n" % i).encode())
    f.flush()
    if not f.readline().startswith(b"action=") or f.readline() != b"\n":
        sys.exit("bad answer")
    lat.append(time.monotonic() - t)
lat.sort()
print(int(lat[int(len(lat) * 0.99)] * 1e6))
EOF
}
run_policy() {	# name extra-options...: the p99 in $p99us
	name=$1; shift
	MP=$(free_port)
	# shellcheck disable=SC2068
	"$BOUNCERD" -f -c /dev/null -o rules_dir="$RULES" \
	    -o metrics_listen=127.0.0.1:$MP -o user= -o state_dir="$T" \
	    -o store=sqlite:"$T/$name.db" -o socket_group="$(id -gn)" \
	    -o policy_listen=unix:"$T/$name.sock" "$@" 2>"$T/$name.log" &
	BPID=$!
	wait_for 120 healthz $MP || bad "bouncerd ($name) did not start"
	sleep 3		# the monitor's first round is out
	p99us=$(p99 "$T/$name.sock" 3000)
	if [ "$name" = silent ]; then
		metric_ge $MP bouncer_blocklist_queries_total 280 &&
		    metric_ge $MP 'bouncer_blocklist_errors_total{kind="timeout"}' 1 &&
		    ok || bad "the monitor was not busy: $(metrics $MP | grep '^bouncer_blocklist_[eq]')"
	fi
	kill -TERM $BPID; wait $BPID; BPID=
}
run_policy plain
base=$p99us
run_policy silent -o "blocklist_watch_ips=$ips" \
    -o blocklist_resolver=127.0.0.1:$SPORT -o blocklist_interval=1s \
    -o blocklist_timeout=1s
echo "dnsbl.sh: policy p99 ${base} us without the monitor, ${p99us} us with a silent resolver"
[ -n "$base" ] && [ -n "$p99us" ] && [ "$p99us" -le $((base * 10 + 100000)) ] &&
    ok || bad "policy p99 ${p99us} us with a silent resolver, ${base} us without"

echo "dnsbl.sh: $pass passed, $fail failed"
[ $fail = 0 ]
