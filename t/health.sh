#!/bin/sh
# health.sh -- /healthz and bouncer_health say when decisions stop
#
# The daemon fails open, so a store that cannot be written or a rule
# set that is empty never shows in mail flow: /healthz must. Starts a
# real bouncerd over a real Redis (killed and started again) and over
# a SQLite file that cannot be written, and checks that /healthz turns
# 503 with the reason within 5 seconds, says so once in the log, and
# is 200 again once the store is back.
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/t/lib/sh.sh"
t_tmp bouncer-health PID RPID
T_ATEXIT='chattr -i "$T/state.db" 2>/dev/null'

MPORT=$(free_port)

# healthz CODE [TEXT]: /healthz answers CODE, its body containing TEXT.
healthz() {
	$PY - "$MPORT" "$1" "${2:-}" <<'PYEOF'
import sys, urllib.request, urllib.error
port, want, text = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    r = urllib.request.urlopen('http://127.0.0.1:%s/healthz' % port, timeout=3)
    code, body = r.status, r.read().decode()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read().decode()
sys.exit(0 if code == want and text in body else 1)
PYEOF
}
metric() {
	$PY -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$MPORT/metrics', timeout=5).read().decode())" |
	    awk -v m="$1" '$1 == m { print $2 }'
}

# start [OPTION...]: once /healthz answers, up to 10 s more for a 200
# (some parts below start it unhealthy on purpose).
start() {
	t_bouncerd PID "$T/bouncerd.log" 11 "http:$MPORT" -o state_dir=$T \
	    -o policy_listen= -o milter_listen=unix:$T/milter.sock \
	    -o metrics_listen=127.0.0.1:$MPORT "$@"
	wait_for 10 healthz 200
}

stop() {
	kill -TERM "$PID"
	wait "$PID"
	PID=
}

# dsn: a remote DSN through the milter; prints the milter's replies.
dsn() {
	cat > "$T/dsn.eml" <<MSG
From: MAILER-DAEMON@mx.remote.example
To: news@example.net
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.remote.example

Final-Recipient: rfc822; gone@remote.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--B--
MSG
	$PY "$SRC/t/lib/miltertest.py" "unix:$T/milter.sock" --from '<>' \
	    --rcpt news@example.net --message "$T/dsn.eml"
}

# 1. Redis goes away and comes back.
if ! have_redis t/health.sh; then
	:
elif ! command -v redis-server >/dev/null 2>&1; then
	bad "redis-server is not installed (scripts/setup-deps)"
else
	t_redis RPID "$T"
	start -o "store=redis+unix:$T/redis.sock?db=2"
	healthz 200 "ok" && ok || bad "healthy at start over Redis"
	[ "$(metric 'bouncer_health{check="store"}')" = 1 ] && ok ||
	    bad "bouncer_health{check=store} is not 1 at start"
	kill "$RPID"; wait "$RPID" 2>/dev/null; RPID=
	wait_for 5 healthz 503 "store: failing since" && ok ||
	    bad "/healthz not 503 within 5 s of Redis going away"
	[ "$(metric 'bouncer_health{check="store"}')" = 0 ] && ok ||
	    bad "bouncer_health{check=store} is not 0 with Redis down"
	[ "$(metric bouncer_healthy)" = 0 ] && ok || bad "bouncer_healthy not 0"
	# More evaluations say nothing new: a warning per change only
	# (the reason may change: writing fails, then opening fails).
	sleep 5
	n=$(grep -c 'health: store failing' "$T/bouncerd.log")
	[ "$n" = 1 ] && ok ||
	    { bad "store failing logged $n times"; grep health "$T/bouncerd.log"; }
	# A bounce from a remote MTA cannot be recorded now: refused for
	# now (451), so that it is sent again, not lost.
	out=$(dsn)
	case $out in *"eom tempfail 451 4.3.0 bouncer: "*) ok ;;
	*) bad "a remote bounce with the store down: $out" ;; esac
	t_redis RPID "$T"
	wait_for 10 healthz 200 "ok" && ok ||
	    bad "/healthz not 200 again with Redis back"
	grep -q 'health: store ok again' "$T/bouncerd.log" && ok ||
	    bad "recovery not logged"
	# (a handle that failed is opened again within 2 seconds)
	dsn_passes() { dsn | grep -q 'eom continue'; }
	wait_for 5 dsn_passes && ok ||
	    bad "a remote bounce with the store back: $(dsn)"
	stop
fi

# 2. A SQLite file that cannot be written (immutable: even root cannot),
# then mended: the daemon opens it again and is healthy.
: > "$T/bouncerd.log"
start -o "store=sqlite:$T/state.db"
healthz 200 && ok || bad "healthy at start over SQLite"
stop
if chattr +i "$T/state.db" 2>/dev/null; then
	start -o "store=sqlite:$T/state.db"
	wait_for 5 healthz 503 "store: failing" && ok ||
	    bad "/healthz not 503 over a SQLite file that cannot be written"
	chattr -i "$T/state.db"
	wait_for 10 healthz 200 && ok ||
	    bad "/healthz not 200 again once the SQLite file is writable"
	stop
else
	echo "health.sh: chattr +i not supported here; read-only SQLite part skipped"
fi

# 3. The maillog goes away (moved, no new one made), and comes back.
: > "$T/bouncerd.log"
: > "$T/maillog"
start -o "store=sqlite:$T/state.db" -o maillog_file=$T/maillog \
    -o maillog_poll_ms=250
wait_for 5 healthz 200 && ok || bad "healthy while following the log"
mv "$T/maillog" "$T/maillog.old"
wait_for 5 healthz 503 "log: failing since" && ok ||
    bad "/healthz not 503 within 5 s of the maillog going away"
healthz 503 "does not exist" && ok || bad "/healthz does not say why"
: > "$T/maillog"
wait_for 5 healthz 200 && ok || bad "/healthz not 200 with the log back"
stop

# 4. A rule set with no rules in it is refused at start, with the file.
mkdir "$T/rules"
printf '# nothing yet\n' > "$T/rules/local.rules"
out=$("$BOUNCERD" -f -c /dev/null -o user= -o rules_dir=$T/rules \
    -o state_dir=$T -o policy_listen= -o metrics_listen= \
    -o "store=sqlite:$T/state.db" 2>&1)
rc=$?
[ $rc = 2 ] && case $out in *local.rules*"not loaded"*) true ;; *) false ;; esac &&
    ok || bad "an empty rule set: exit $rc, $out"

echo "health.sh: $pass passed, $fail failed"
[ $fail = 0 ]
