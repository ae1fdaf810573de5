#!/bin/sh
# metrics.sh -- /metrics of a running bouncerd, as Prometheus reads it
#
# Starts a real bouncerd with the policy server, the socketmap, the
# milter, a maillog and the blocklist monitor (asking a resolver that
# never answers), and drives each with a known number of requests.
# Checks that:
#  - the latency histograms (policy, socketmap, milter RCPT) count
#    exactly the requests made, with cumulative buckets, +Inf equal to
#    _count, and a sum that is time and not nonsense; with Redis paused
#    the answers, from the in-memory view, still land in le="0.1";
#  - bouncer_socketmap_lookups_total counts by result, and
#    bouncer_writer_queue_size is writer_queue_size;
#  - the whole exposition is well formed (t/lib/promtext.py check, and
#    promtool check metrics when promtool is installed);
#  - every bouncer_* metric the shipped Grafana dashboard and alert
#    rules name is in the exposition, except those of
#    t/data/metrics-absent-ok.
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/t/lib/sh.sh"
t_tmp bouncer-metrics PID RPID
PT="$PY $SRC/t/lib/promtext.py"

# Metrics that the dashboard or the rules use and bouncerd does not
# expose, each with the reason there.
ABSENT_OK=$(sed -e '/^#/d' -e 's/[[:space:]].*//' "$SRC/t/data/metrics-absent-ok" | tr '\n' ' ')

MPORT=$(free_port)
: > "$T/maillog"

t_bouncerd PID "$T/bouncerd.log" 10 "unix:$T/policy.sock" \
    -o store=sqlite:$T/state.db -o state_dir=$T \
    -o policy_listen=unix:$T/policy.sock \
    -o milter_listen=unix:$T/milter.sock \
    -o socketmap_listen=unix:$T/socketmap.sock \
    -o metrics_listen=127.0.0.1:$MPORT -o writer_queue_size=4321 \
    -o maillog_file=$T/maillog -o maillog_poll_ms=50 \
    -o blocklist_watch_ips=192.0.2.12 -o blocklist_zones=zen.spamhaus.org \
    -o blocklist_resolver=127.0.0.1:$(free_port) -o blocklist_timeout=1s

# scrape FILE: /metrics into FILE.
scrape() {
	$PY -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$MPORT/metrics', timeout=5).read().decode())" > "$1"
}
# val FILE SAMPLE: one sample's value, as an integer when it is one.
val() { $PT value "$1" "$2" | sed 's/\.0*$//'; }
# delta A B SAMPLE: how much SAMPLE grew from scrape A to scrape B.
delta() { echo $(( $(val "$2" "$3") - $(val "$1" "$3") )); }
policy() { $PY "$SRC/t/lib/policyq.py" "unix:$T/policy.sock" "$@"; }
stamp() { LC_ALL=C date '+%b %e %H:%M:%S'; }

scrape "$T/m0"
$PT check "$T/m0" && ok || bad "the exposition at start is not well formed"

# A suppressed recipient, so that the three edges have a 5xx to give.
GMAIL_550="host gmail-smtp-in.l.google.com[142.250.4.27] said: 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser a1si3921pgb.41 - gsmtp (in reply to RCPT TO command)"
echo "$(stamp) mta postfix/smtp[2110]: 4BAA0001: to=<nosuchuser@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced ($GMAIL_550)" >> "$T/maillog"
wait_for 10 sh -c "$PY $SRC/t/lib/policyq.py unix:$T/policy.sock nosuchuser@gmail.com | grep -q '^550 5.1.1'" &&
    ok || bad "the bounce in the log did not suppress"

# 1. Policy: five requests, five observations.
scrape "$T/m1"
a=$(policy nosuchuser@gmail.com a@example.org b@example.org \
    c@example.org d@example.org | tr '\n' ' ')
case $a in "550 5.1.1 "*" DUNNO DUNNO DUNNO DUNNO ") ok ;;
*) bad "policy answers: $a" ;; esac
scrape "$T/m2"
n=$(delta "$T/m1" "$T/m2" bouncer_policy_latency_seconds_count)
[ "$n" = 5 ] && ok || bad "policy latency _count grew by $n, want 5"
n=$(delta "$T/m1" "$T/m2" 'bouncer_policy_latency_seconds_bucket{le="+Inf"}')
[ "$n" = 5 ] && ok || bad "policy latency +Inf bucket grew by $n, want 5"
# From memory, an answer takes far less than a second (even under the
# sanitizers): the time is recorded in the right unit.
c=$(val "$T/m2" bouncer_policy_latency_seconds_count)
b=$(val "$T/m2" 'bouncer_policy_latency_seconds_bucket{le="1"}')
[ "$b" = "$c" ] && ok || bad "policy answers over 1 s: $b of $c in le=1"
# And each takes more than 10 ns (a clock read, a lock, a hash
# lookup; about 1 us under the sanitizers): the sum is not in a unit a
# thousand times too big.
s=$(val "$T/m2" bouncer_policy_latency_seconds_sum)
$PY -c "import sys; s, c = float('$s'), $c; sys.exit(0 if 1e-8 * c < s < c else 1)" &&
    ok || bad "policy latency _sum $s for $c answers"

# 2. Socketmap: one found, two not found.
socketmapq "$T/socketmap.sock" nosuchuser@gmail.com gmail.com \
    friend@gmail.com > "$T/sm"
grep -c NOTFOUND "$T/sm" | grep -qx 2 && ok || bad "socketmap: $(cat "$T/sm")"
scrape "$T/m3"
n=$(delta "$T/m2" "$T/m3" bouncer_socketmap_latency_seconds_count)
[ "$n" = 3 ] && ok || bad "socketmap latency _count grew by $n, want 3"
n=$(delta "$T/m2" "$T/m3" 'bouncer_socketmap_lookups_total{result="found"}')
[ "$n" = 1 ] && ok || bad "socketmap lookups found grew by $n, want 1"
n=$(delta "$T/m2" "$T/m3" 'bouncer_socketmap_lookups_total{result="notfound"}')
[ "$n" = 2 ] && ok || bad "socketmap lookups notfound grew by $n, want 2"
n=$(delta "$T/m2" "$T/m3" bouncer_policy_latency_seconds_count)
[ "$n" = 0 ] && ok || bad "socketmap lookups counted as policy answers ($n)"

# 3. Milter: two recipients at RCPT TO, one refused.
out=$($PY "$SRC/t/lib/miltertest.py" "unix:$T/milter.sock" \
    --from '<news@example.net>' --rcpt nosuchuser@gmail.com \
    --rcpt friend@gmail.com 2>&1)
case $out in *"rcpt <nosuchuser@gmail.com> reject 550"*) ok ;;
*) bad "milter: $out" ;; esac
scrape "$T/m4"
n=$(delta "$T/m3" "$T/m4" bouncer_milter_rcpt_latency_seconds_count)
[ "$n" = 2 ] && ok || bad "milter RCPT latency _count grew by $n, want 2"
n=$(delta "$T/m3" "$T/m4" 'bouncer_milter_rcpt_latency_seconds_bucket{le="+Inf"}')
[ "$n" = 2 ] && ok || bad "milter RCPT +Inf bucket grew by $n, want 2"

# 4. The writer queue's size is the configured one.
n=$(val "$T/m4" bouncer_writer_queue_size)
[ "$n" = 4321 ] && ok || bad "bouncer_writer_queue_size $n, want 4321"

# 5. The whole exposition, after traffic.
$PT check "$T/m4" && ok || bad "the exposition after traffic is not well formed"
if command -v promtool >/dev/null 2>&1; then
	# promtool reads the exposition as Prometheus does, and lints it
	# (a HELP for every metric, counters named _total, units).
	promtool check metrics < "$T/m4" > "$T/lint" 2>&1 && ok ||
	    bad "promtool check metrics: $(cat "$T/lint")"
else
	echo "metrics.sh: promtool not installed (prometheus): its parse skipped"
fi

# 6. Every metric the dashboard and the alert rules name is there.
files="$SRC/conf/grafana/bouncer.json $SRC/conf/prometheus/bouncer-alerts.yml"
for f in $files; do
	[ -f "$f" ] && ok || bad "$f is missing"
done
used=$($PT uses $files | wc -l)
[ "$used" -ge 15 ] && ok || bad "only $used bouncer_* names found in $files"
miss=$($PT missing "$T/m4" $files) || bad "promtext.py missing failed"
for m in $miss; do
	case " $ABSENT_OK " in
	*" $m "*) ;;
	*) bad "$m is used by the dashboard or the alert rules, not in /metrics" ;;
	esac
done
# An ABSENT_OK name that has appeared must leave the list.
for m in $ABSENT_OK; do
	echo "$miss" | grep -qx "$m" && ok ||
	    bad "$m is in /metrics now: take it out of t/data/metrics-absent-ok"
done

kill -TERM "$PID"; wait "$PID"; PID=

# 7. With Redis paused (DEBUG SLEEP), answers come from the in-memory
# view and do not wait for it: the histogram has them under 0.1 s
# (t/check_histo shows that 150 ms slept lands above that).
if ! have_redis t/metrics.sh; then
	:
elif ! command -v redis-server >/dev/null 2>&1; then
	bad "redis-server is not installed (scripts/setup-deps)"
else
	t_redis RPID "$T" --enable-debug-command local
	t_bouncerd PID "$T/bouncerd.log" 10 "unix:$T/policy.sock" \
	    -o "store=redis+unix:$T/redis.sock?db=5" -o state_dir=$T \
	    -o policy_listen=unix:$T/policy.sock \
	    -o metrics_listen=127.0.0.1:$MPORT
	policy warm@example.org > /dev/null
	redis-cli -s "$T/redis.sock" DEBUG SLEEP 2 > /dev/null &
	sleep 0.3
	a=$(policy slow@example.org)
	[ "$a" = DUNNO ] && ok || bad "Redis paused: $a, want DUNNO"
	wait $!
	scrape "$T/m5"
	c=$(val "$T/m5" bouncer_policy_latency_seconds_count)
	b=$(val "$T/m5" 'bouncer_policy_latency_seconds_bucket{le="0.1"}')
	[ "$c" = 2 ] && ok || bad "Redis: $c policy answers counted, want 2"
	[ "$b" = "$c" ] && ok ||
	    bad "an answer waited for the paused Redis: $b of $c in le=0.1"
	kill -TERM "$PID"; wait "$PID"; PID=
	kill "$RPID"; wait "$RPID" 2>/dev/null; RPID=
fi

echo "metrics.sh: $pass passed, $fail failed"
[ $fail = 0 ]
