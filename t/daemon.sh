#!/bin/sh
# daemon.sh -- bouncerd as a daemon: detaching, the pid file, the user
#
# Without -f, bouncerd returns once it is ready (sockets bound, store
# open), with 0, or with the error and a non-zero status; the pid file
# names the daemon, stops a second one, and goes at SIGTERM. Alerts of
# one batch reach the hook's queue in the order they were logged.
#
# As root, also the drop to an unprivileged user: a throwaway system
# user in group adm reads a root:adm 0640 maillog, owns state_dir
# (0750) and the SQLite store it creates (0640). Skipped otherwise.
# Every wait is a bounded poll; everything started is stopped.
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/t/lib/sh.sh"
T=$(mktemp -d /tmp/bouncer-daemon.XXXXXX)
TUSER=bouncertest
made_user=
DPID=
FPID=

cleanup() {
	[ -n "$FPID" ] && kill "$FPID" 2>/dev/null && wait "$FPID" 2>/dev/null
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null
	# The detached daemon is not our child: wait for it by its pid.
	n=50; while [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null && [ $n -gt 0 ]; do
		sleep 0.1; n=$((n - 1)); done
	[ -n "$made_user" ] && userdel "$TUSER" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

healthz() { $PY -c "import urllib.request; assert urllib.request.urlopen('http://127.0.0.1:$1/healthz', timeout=5).read() == b'ok\n'"; }
stamp() { LC_ALL=C date '+%b %e %H:%M:%S'; }
GMAIL_550="host gmail-smtp-in.l.google.com[142.250.4.27] said: 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser a1si3921pgb.41 - gsmtp (in reply to RCPT TO command)"
bounce_line() {	# queue-id rcpt
	echo "$(stamp) mta postfix/smtp[2110]: $1: to=<$2>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced ($GMAIL_550)"
}

MPORT=$(free_port)
COMMON="-c /dev/null -o rules_dir=$RULES -o metrics_listen=127.0.0.1:$MPORT"

# 1. Detached: the command returns 0 once the daemon answers.
D=$T/d
mkdir "$D"
out=$(timeout 60 "$BOUNCERD" $COMMON -o user= -o state_dir=$D \
    -o store=sqlite:$D/state.db -o socket_group=$(id -gn) \
    -o policy_listen=unix:$D/policy.sock 2>&1)
rc=$?
[ $rc = 0 ] && ok || { bad "bouncerd without -f: exit $rc: $out"; exit 1; }
DPID=$(cat "$D/bouncerd.pid" 2>/dev/null)
case $DPID in
[1-9]*) kill -0 "$DPID" && ok || bad "pid file names $DPID, not running" ;;
*) bad "no pid in $D/bouncerd.pid"; DPID= ;;
esac
# Ready when the command returned: no waiting here.
healthz $MPORT && ok || bad "/healthz right after the start"
a=$($PY "$SRC/t/lib/policyq.py" "unix:$D/policy.sock" someone@gmail.com)
[ "$a" = DUNNO ] && ok || bad "policy answer from the detached daemon: $a"
st=$("$CTL" -c /dev/null -o metrics_listen=127.0.0.1:$MPORT status)
echo "$st" | grep -qx "pid=$DPID" && ok || bad "status names another pid: $st"
[ "$(ps -o sid= -p "$DPID" | tr -d ' ')" = "$DPID" ] && ok ||
    bad "the daemon does not lead a session of its own"
[ "$(readlink /proc/$DPID/cwd)" = / ] && ok || bad "the daemon's directory is not /"

# 2. A second one, same pid file: refused, clearly, and the first goes on.
out=$(timeout 60 "$BOUNCERD" $COMMON -o user= -o state_dir=$D \
    -o store=sqlite:$D/state.db -o metrics_listen= -o policy_listen= 2>&1)
rc=$?
[ $rc = 2 ] && ok || bad "a second bouncerd: exit $rc, want 2"
case $out in *"bouncerd is already running as pid $DPID"*) ok ;;
*) bad "a second bouncerd says: $out" ;; esac
kill -0 "$DPID" && ok || bad "the first daemon is gone"

# 3. SIGTERM: the daemon stops and its pid file goes.
kill -TERM "$DPID"
if wait_for 10 sh -c "! kill -0 $DPID"; then ok; else bad "still running after SIGTERM"; fi
DPID=
[ ! -e "$D/bouncerd.pid" ] && ok || bad "pid file left after SIGTERM"

# 4. A start-up failure: the error on stderr, a non-zero status.
out=$(timeout 60 "$BOUNCERD" $COMMON -o user= -o state_dir=$D \
    -o store=sqlite:$D/state.db -o policy_listen=inet:192.0.2.1:1 \
    -o metrics_listen= 2>&1)
rc=$?
[ $rc = 2 ] && ok || bad "a failing start: exit $rc, want 2"
case $out in *"policy_listen: inet:192.0.2.1:1:"*) ok ;;
*) bad "a failing start says: $out" ;; esac

# 5. Alerts logged in one batch are raised in the order logged.
F=$T/f
mkdir "$F"
cat > "$F/hook.sh" <<'HOOK'
#!/bin/sh
exit 0
HOOK
chmod +x "$F/hook.sh"
: > "$F/maillog"
t_bouncerd FPID "$F/log" 30 "healthy:$MPORT" $COMMON -o state_dir=$F \
    -o store=sqlite:$F/state.db -o policy_listen=unix:$F/policy.sock \
    -o maillog_file=$F/maillog -o maillog_poll_ms=50 \
    -o alert_command=$F/hook.sh
for ip in 192.0.2.12 192.0.2.13 192.0.2.14 192.0.2.15; do
	q=$(echo $ip | tr -d .)
	echo "$(stamp) mta postfix/smtp[2110]: 4B$q: to=<someone@outlook.com>, relay=outlook-com.olc.protection.outlook.com[52.101.8.33]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced (host outlook-com.olc.protection.outlook.com[52.101.8.33] said: 550 5.7.1 Service unavailable, Client host [$ip] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/$ip (in reply to MAIL FROM command))"
done > "$F/batch"
cat "$F/batch" >> "$F/maillog"	# one write: one read, one batch
wait_for 10 sh -c "[ \$(grep -c 'alert kind=blocklist' '$F/log') -ge 4 ]" ||
    bad "four blocklist alerts were not raised"
order=$(sed -n 's/.*alert kind=blocklist .* ip=\([0-9.]*\) .*/\1/p' "$F/log" | tr '\n' ' ')
[ "$order" = "192.0.2.12 192.0.2.13 192.0.2.14 192.0.2.15 " ] && ok ||
    bad "alerts raised in the order: $order"
kill -TERM "$FPID"; wait "$FPID"; FPID=

# 6. As root: the user, its groups, state_dir and the files in it.
if [ "$(id -u)" != 0 ]; then
	echo "daemon.sh: SKIP the privilege tests: not root"
elif ! id "$TUSER" >/dev/null 2>&1 &&
    ! { useradd --system --no-create-home --shell /usr/sbin/nologin \
    -G adm "$TUSER" && made_user=1; }; then
	bad "cannot create the user $TUSER"
else
	id -nG "$TUSER" | grep -qw adm || usermod -aG adm "$TUSER"
	chmod 755 "$T"
	R=$T/r
	mkdir -m 755 "$R"
	echo "root's" > "$R/left-by-root"
	chmod 644 "$R/left-by-root"
	bounce_line 4BCC0001 nosuchuser@gmail.com > "$T/mail.log"
	chown root:adm "$T/mail.log"
	chmod 640 "$T/mail.log"
	out=$(timeout 60 "$BOUNCERD" $COMMON -o user=$TUSER -o state_dir=$R \
	    -o store=sqlite:$R/state.db -o socket_group=$TUSER \
	    -o policy_listen=unix:$T/rpolicy.sock -o maillog_file=$T/mail.log \
	    -o maillog_poll_ms=50 2>&1)
	rc=$?
	[ $rc = 0 ] && ok || bad "bouncerd as root with user=$TUSER: exit $rc: $out"
	DPID=$(cat "$R/bouncerd.pid" 2>/dev/null)
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		ok
		uid=$(id -u "$TUSER")
		adm=$(getent group adm | cut -d: -f3)
		awk '$1 == "Uid:" { print $2, $3, $4, $5 }' /proc/$DPID/status |
		    grep -qx "$uid $uid $uid $uid" && ok ||
		    bad "Uid: $(grep ^Uid: /proc/$DPID/status), want $uid"
		grep '^Groups:' /proc/$DPID/status | tr '\t' ' ' |
		    grep -q " $adm\( \|$\)" && ok ||
		    bad "group adm ($adm) lost: $(grep ^Groups: /proc/$DPID/status)"
		if wait_for 10 sh -c "$PY $SRC/t/lib/policyq.py unix:$T/rpolicy.sock nosuchuser@gmail.com | grep -q '^550 '"; then ok
		else bad "the root:adm 0640 maillog was not read: $($PY $SRC/t/lib/policyq.py unix:$T/rpolicy.sock nosuchuser@gmail.com)"; fi
		m=$(stat -c '%U %a' "$R")
		[ "$m" = "$TUSER 750" ] && ok || bad "state_dir: $m, want $TUSER 750"
		m=$(stat -c '%U %a' "$R/state.db")
		[ "$m" = "$TUSER 640" ] && ok || bad "state.db: $m, want $TUSER 640"
		m=$(stat -c '%U %a' "$R/left-by-root")
		[ "$m" = "$TUSER 640" ] && ok || bad "a file root left: $m, want $TUSER 640"
		kill -TERM "$DPID"
		wait_for 10 sh -c "! kill -0 $DPID" && ok || bad "still running after SIGTERM"
		DPID=
		[ ! -e "$R/bouncerd.pid" ] && ok || bad "pid file left after SIGTERM"
		m=$(stat -c '%U %a' "$R/maillog.pos" 2>&1)
		[ "$m" = "$TUSER 640" ] && ok || bad "maillog.pos: $m, want $TUSER 640"
	else
		bad "no daemon running as $TUSER: $out"
		DPID=
	fi
fi

echo "daemon.sh: $pass passed, $fail failed"
[ $fail = 0 ] || { echo "--- bouncerd -f log"; tail -n 20 "$F/log" 2>/dev/null; }
[ $fail = 0 ]
