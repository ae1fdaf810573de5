#!/bin/sh
# fleet-guide.sh -- two bouncerd, each following its own maillog, on one Redis
#
# What bouncer.conf(5) FLEET and the README say of a fleet, checked
# with two real daemons (A and B, each with its own maillog, state_dir,
# sockets and alert hook) on one real redis-server (append-only file,
# appendfsync everysec):
#  1. a bounce in A's log suppresses the recipient for B too; the log
#     position is kept in each host's own state_dir;
#  2. a throttle seen by B defers the destination for A;
#  3. the same blocklist listing in both logs runs one alert hook in
#     the fleet, not one per host (alert_window);
#  4. another Redis database number is another fleet: it sees nothing;
#  5. Redis killed (SIGKILL): answers come at once, from each daemon's
#     view of the whole fleet's decisions as they stood (550 for a
#     suppressed recipient, even on the host that never asked about
#     it; DUNNO and NOTFOUND for the rest); a bounce logged meanwhile is
#     held, and recorded once Redis is back (catch-up); what was
#     written before the kill is still there, from the append-only file.
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/t/lib/sh.sh"

if ! have_redis t/fleet-guide.sh; then
	echo "fleet-guide.sh: 0 passed, 0 failed"
	exit 0
fi
if ! command -v redis-server >/dev/null 2>&1; then
	echo "FAIL: redis-server is not installed (scripts/setup-deps)"
	exit 1
fi

t_tmp bouncer-fleet PIDA PIDB RPID

mkdir "$T/a" "$T/b" "$T/redis"
STORE="redis+unix:$T/redis/redis.sock?db=3"

redis_start() {
	t_redis RPID "$T/redis" --appendonly yes --appendfsync everysec
}

# start X: bouncerd for host X (a or b), in $T/X, with its own maillog,
# socketmap and alert hook.
start() {
	h=$1
	: > "$T/$h/maillog"
	cat > "$T/$h/hook.sh" <<HOOK
#!/bin/sh
echo "$h \$BOUNCER_KIND \${BOUNCER_BLOCKLIST:-} \${BOUNCER_IP:-}" >> $T/alerts
HOOK
	chmod +x "$T/$h/hook.sh"
	t_fleet_host "$h" "PID$(echo "$h" | tr ab AB)" \
	    -o socketmap_listen=unix:$T/$h/socketmap.sock \
	    -o maillog_file=$T/$h/maillog -o maillog_poll_ms=50 \
	    -o alert_command=$T/$h/hook.sh
}

# policy X RCPT...: host X's policy answers.
policy() { h=$1; shift; $PY "$SRC/t/lib/policyq.py" "unix:$T/$h/policy.sock" "$@"; }
# answer_is X RCPT ERE: host X answers RCPT with a match of ERE.
answer_is() { policy "$1" "$2" | grep -Eq "$3"; }
metric() {
	$PY -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$(cat "$T/$1/mport")/metrics', timeout=5).read().decode())" |
	    awk -v m="$2" '$1 == m { print $2 }'
}
# smap X KEY...: host X's socketmap replies, one a line.
smap() { h=$1; shift; socketmapq "$T/$h/socketmap.sock" "$@"; }
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }
stamp() { LC_ALL=C date '+%b %e %H:%M:%S'; }
# logline X QID RCPT RELAY DSN STATUS REPLY: one delivery line in X's log.
logline() {
	echo "$(stamp) $1 postfix/smtp[2110]: $2: to=<$3>, relay=$4:25, delay=1, delays=0/0/0/1, dsn=$5, status=$6 ($7)" >> "$T/$1/maillog"
}
GMAIL=gmail-smtp-in.l.google.com[142.250.4.27]
OUTLOOK=outlook-com.olc.protection.outlook.com[52.101.8.33]
GMAIL_550="host $GMAIL said: 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser a1si3921pgb.41 - gsmtp (in reply to RCPT TO command)"
OUTLOOK_451="host $OUTLOOK said: 451 4.7.500 Server busy. Please try again later from [192.0.2.12]. (S77714) [Name=Protocol Filter Agent][AGT=PFA][MxId=11BA9CD5A4E2E5B1] [DM6NAM12FT010.eop-nam12.prod.protection.outlook.com] (in reply to RCPT TO command)"
SPAMHAUS="host $OUTLOOK said: 550 5.7.1 Service unavailable, Client host [192.0.2.12] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/192.0.2.12 (in reply to MAIL FROM command)"

redis_start
start a
start b

# 1. Suppressed through A, refused by B, which never saw it bounce.
logline a 4BAA0001 nosuchuser@gmail.com "$GMAIL" 5.1.1 bounced "$GMAIL_550"
wait_for 10 answer_is a nosuchuser@gmail.com '^550 5\.1\.1' && ok ||
    bad "A: $(policy a nosuchuser@gmail.com) for a recipient bounced in A's log"
wait_for 5 answer_is b nosuchuser@gmail.com '^550 5\.1\.1' && ok ||
    bad "B: $(policy b nosuchuser@gmail.com) for a recipient A suppressed"
wait_for 5 test -s "$T/a/maillog.pos" && ok || bad "A: no maillog.pos in A's state_dir"
[ ! -e "$T/b/maillog.pos" ] || [ "$(cut -d' ' -f2 "$T/b/maillog.pos")" = 0 ] &&
    ok || bad "B's position moved for A's log: $(cat "$T/b/maillog.pos")"

# 2. Throttled through B, deferred by A.
logline b 4BBB0001 busy@outlook.com "$OUTLOOK" 4.7.500 deferred "$OUTLOOK_451"
wait_for 10 answer_is b newcomer@outlook.com '^DEFER_IF_PERMIT 4\.' && ok ||
    bad "B: $(policy b newcomer@outlook.com) for a throttled destination"
wait_for 5 answer_is a other@outlook.com '^DEFER_IF_PERMIT 4\.' && ok ||
    bad "A: $(policy a other@outlook.com) for a destination B throttled"
answer_is a friend@gmail.com '^DUNNO$' && ok ||
    bad "A: $(policy a friend@gmail.com) for an address nobody refused"

# 3. One listing, seen in both logs: one hook in the fleet.
logline a 4BAA0002 someone@outlook.com "$OUTLOOK" 5.7.1 bounced "$SPAMHAUS"
wait_for 10 test -s "$T/alerts" && ok || bad "no alert hook ran"
logline b 4BBB0002 another@outlook.com "$OUTLOOK" 5.7.1 bounced "$SPAMHAUS"
wait_for 10 sh -c "[ \"\$(redis-cli -s '$T/redis/redis.sock' -n 3 keys 'bouncer:e:4BBB0002*' | wc -l)\" -ge 1 ]" &&
    ok || bad "B did not record its blocklist refusal"
sleep 1
n=$(wc -l < "$T/alerts")
[ "$n" = 1 ] && ok || bad "the alert hook ran $n times in the fleet, want 1: $(cat "$T/alerts")"
grep -q '^a blocklist spamhaus 192.0.2.12$' "$T/alerts" && ok ||
    bad "alert hook output: $(cat "$T/alerts")"
ab=$(( $(metric a bouncer_alerts_total) + $(metric b bouncer_alerts_total) ))
[ "$ab" = 1 ] && ok || bad "bouncer_alerts_total, A + B: $ab, want 1"

# 4. Database 4 is another fleet: it shares nothing with database 3.
q=$("$CTL" -s "redis+unix:$T/redis/redis.sock?db=4" query nosuchuser@gmail.com 2>&1)
case $q in *DUNNO*) ok ;; *) bad "db 4 sees db 3's suppression: $q" ;; esac
q=$("$CTL" -s "$STORE" query nosuchuser@gmail.com 2>&1)
case $q in *"state=suppressed"*) ok ;; *) bad "db 3 query: $q" ;; esac

# 5. Redis dies. Both keep answering at once; B holds what it logs.
logline a 4BAA0003 unasked@gmail.com "$GMAIL" 5.1.1 bounced "$GMAIL_550"
wait_for 10 answer_is a unasked@gmail.com '^550 5\.1\.1' && ok ||
    bad "A: $(policy a unasked@gmail.com) for a recipient bounced in A's log"
sleep 1.5	# past appendfsync everysec, for what is written so far
kill -KILL "$RPID"; wait "$RPID" 2>/dev/null; RPID=
t0=$(date +%s%N)
a=$(policy a nosuchuser@gmail.com)
u=$(policy a unknown@example.org)
ms=$((($(date +%s%N) - t0) / 1000000))
case $a in "550 5.1.1 "*) ok ;; *) bad "A, Redis down: $a for a suppressed recipient" ;; esac
[ "$u" = DUNNO ] && ok || bad "A, Redis down: $u for an unknown recipient"
[ $ms -lt 2000 ] && ok || bad "A, Redis down: two answers took $ms ms"
# B never asked about unasked@gmail.com: its view has the whole
# fleet's decisions.
b=$(policy b unasked@gmail.com)
case $b in "550 5.1.1 "*) ok ;; *) bad "B, Redis down: $b for a recipient A suppressed" ;; esac
# The socketmap: from the same view.
sm=$(smap a nosuchuser@gmail.com unknown2@example.org)
echo "$sm" | sed -n 1p | grep -q '^[0-9]*:OK error:5\.1\.1 ' && ok ||
    bad "A's socketmap, Redis down, a suppressed recipient: $sm"
[ "$(echo "$sm" | sed -n 2p)" = "9:NOTFOUND ," ] && ok ||
    bad "A's socketmap, Redis down, an unknown recipient: $sm"
logline b 4BBB0003 gone@gmail.com "$GMAIL" 5.1.1 bounced "$GMAIL_550"
wait_for 10 metric_is b bouncer_log_held_lines 1 &&
    ok || bad "B, Redis down: bouncer_log_held_lines $(metric b bouncer_log_held_lines), want 1"
redis_start
q=$("$CTL" -s "$STORE" query nosuchuser@gmail.com 2>&1)
case $q in *"state=suppressed"*) ok ;;
*) bad "after SIGKILL and restart, with appendonly yes: $q" ;; esac
# The held line is offered again (back-off up to 30 s), then seen by A.
wait_for 60 answer_is a gone@gmail.com '^550 5\.1\.1' && ok ||
    bad "A: $(policy a gone@gmail.com) for a bounce B logged while Redis was down"
wait_for 10 metric_is b bouncer_log_held_lines 0 &&
    ok || bad "B, Redis back: bouncer_log_held_lines $(metric b bouncer_log_held_lines)"

t_stop PIDA
t_stop PIDB
echo "fleet-guide.sh: $pass passed, $fail failed"
[ $fail = 0 ]
