#!/bin/sh
# bouncerd.sh -- the daemon end to end on its own sockets
#
# Starts a real bouncerd (SQLite store in a temporary directory, policy
# and milter on unix sockets, metrics on a free loopback port, a maillog
# file it follows, an alert hook) and drives it as the MTA would: log
# lines appended, policy requests, milter conversations. Every wait is
# a bounded poll. Everything started is stopped, also on failure.
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/t/lib/sh.sh"
t_tmp bouncerd-test PID

MPORT=$(free_port)
cat > "$T/hook.sh" <<HOOK
#!/bin/sh
echo "\$BOUNCER_KIND \${BOUNCER_BLOCKLIST:-} \${BOUNCER_IP:-} \${BOUNCER_DELIST_URL:-}" >> $T/alerts
HOOK
chmod +x "$T/hook.sh"
: > "$T/maillog"

# The sockets go to the group of whoever runs the test: the default
# socket_group, postfix, may not exist here, and an unprivileged user
# can give a file only to a group of its own.
GROUP=$(id -gn)

start() {
	t_bouncerd PID "$T/bouncerd.log" 10 "unix:$T/policy.sock" \
	    -o store=sqlite:$T/state.db -o state_dir=$T \
	    -o policy_listen=unix:$T/policy.sock \
	    -o milter_listen=unix:$T/milter.sock \
	    -o socketmap_listen=unix:$T/socketmap.sock \
	    -o syslog_socket=$T/syslog.sock \
	    -o metrics_listen=127.0.0.1:$MPORT \
	    -o maillog_file=$T/maillog -o maillog_poll_ms=50 \
	    -o alert_command=$T/hook.sh "$@"
}
stop() { t_stop PID; }

policy() { $PY "$SRC/t/lib/policyq.py" "unix:$T/policy.sock" "$@"; }
metrics() { $PY -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$MPORT/metrics', timeout=5).read().decode())"; }
metric() { metrics | awk -v m="$1" '$1 == m { print $2 }'; }

# The daemon's clock and this script's are one: BOUNCER_NOW=+N or -N
# (clock.h) shifts both, so t/dates.sh can run all of this at other
# dates. Every time stamp is built from that clock, in syslog's own
# form (no year, English month, space-padded day).
case ${BOUNCER_NOW:-} in
[+-][0-9]*) SHIFT=$BOUNCER_NOW ;;
'') SHIFT=0 ;;
*) echo "bouncerd.sh: BOUNCER_NOW must be +seconds or -seconds"; exit 1 ;;
esac
now() { echo $(( $(date +%s) + SHIFT )); }
stamp() { LC_ALL=C date -d "@${1:-$(now)}" '+%b %e %H:%M:%S'; }
logpfx() { echo "$(stamp "$@") mta postfix/smtp[2110]:"; }
GMAIL_550="host gmail-smtp-in.l.google.com[142.250.4.27] said: 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser a1si3921pgb.41 - gsmtp (in reply to RCPT TO command)"
GMAIL_452="host gmail-smtp-in.l.google.com[142.250.4.27] said: 452-4.2.2 The email account that you tried to reach is over quota. Please direct 452-4.2.2 the recipient to 452 4.2.2 https://support.google.com/mail/?p=OverQuotaTemp x74si3925543pgx.490 - gsmtp (in reply to RCPT TO command)"
SPAMHAUS="host outlook-com.olc.protection.outlook.com[52.101.8.33] said: 550 5.7.1 Service unavailable, Client host [192.0.2.12] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/192.0.2.12 (in reply to MAIL FROM command)"

start

# 0. Every unix socket is 0660 and in socket_group: no other local user
# may feed bouncerd log lines or bounces.
for s in policy socketmap milter syslog; do
	m=$(stat -c '%a %G' "$T/$s.sock" 2>&1)
	[ "$m" = "660 $GROUP" ] && ok || bad "$s.sock: $m, want 660 $GROUP"
done
# A socket_group that does not exist stops the start, and says which.
out=$("$BOUNCERD" -f -c /dev/null -o user= -o store=sqlite:$T/state.db \
    -o rules_dir=$RULES -o state_dir=$T -o socket_group=no-such-group-here \
    -o policy_listen=unix:$T/other.sock -o metrics_listen= 2>&1)
rc=$?
[ $rc = 2 ] && ok || bad "a missing socket_group: exit $rc, want 2"
case $out in *"policy_listen: unix:$T/other.sock: socket_group no-such-group-here: no such group"*) ok ;;
*) bad "a missing socket_group: $out" ;; esac

# 1. A bounce in the log suppresses; the policy server refuses.
echo "$(logpfx) 4BAA0001: to=<nosuchuser@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced ($GMAIL_550)" >> "$T/maillog"
if wait_for 10 sh -c "$PY $SRC/t/lib/policyq.py unix:$T/policy.sock nosuchuser@gmail.com | grep -q '^550 5.1.1'"; then ok
else bad "no 550 for a suppressed recipient: $(policy nosuchuser@gmail.com)"; fi
a=$(policy friend@gmail.com)
[ "$a" = DUNNO ] && ok || bad "friend@gmail.com: $a, want DUNNO"

# The socketmap answers transport_maps the same way.
sm=$(socketmapq "$T/socketmap.sock" nosuchuser@gmail.com gmail.com \
    friend@gmail.com)
echo "$sm" | sed -n 1p | grep -q '^[0-9]*:OK error:5\.1\.1 ' && ok || bad "socketmap for a suppressed address: $sm"
[ "$(echo "$sm" | sed -n 2p)" = "9:NOTFOUND ," ] && ok || bad "socketmap for a domain: $sm"
[ "$(echo "$sm" | sed -n 3p)" = "9:NOTFOUND ," ] && ok || bad "socketmap for another address: $sm"

# 2. Over quota: deferred, not suppressed.
echo "$(logpfx) 4BAA0002: to=<full@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=4.2.2, status=deferred ($GMAIL_452)" >> "$T/maillog"
if wait_for 10 sh -c "$PY $SRC/t/lib/policyq.py unix:$T/policy.sock full@gmail.com | grep -q '^DEFER_IF_PERMIT 4\.'"; then ok
else bad "no DEFER_IF_PERMIT for over quota: $(policy full@gmail.com)"; fi
# ... and a success resets it.
echo "$(logpfx) 4BAA0003: to=<full@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)" >> "$T/maillog"
if wait_for 10 sh -c "[ \"\$($PY $SRC/t/lib/policyq.py unix:$T/policy.sock full@gmail.com)\" = DUNNO ]"; then ok
else bad "success did not reset full@gmail.com: $(policy full@gmail.com)"; fi

# A deferral stamped a day and a half ago: at t/dates.sh's 2 January,
# a syslog stamp of 31 December, which carries no year. It is last
# year's (explain shows its date), so its hour of back-off is over.
t36=$(( $(now) - 129600 ))
echo "$(logpfx $t36) 4BAA0008: to=<old@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=4.2.2, status=deferred ($GMAIL_452)" >> "$T/maillog"
want=$(date -u -d "@$t36" +%Y-%m-%dT%H:%M)
if wait_for 10 sh -c "'$CTL' -s sqlite:$T/state.db explain old@gmail.com | grep -q '^last event: $want'"; then ok
else bad "a stamp of $(stamp $t36) not read as $want: $("$CTL" -s sqlite:$T/state.db explain old@gmail.com | grep '^last event')"; fi
a=$(policy old@gmail.com)
[ "$a" = DUNNO ] && ok || bad "a back-off that ended a day ago is in force: $a"

# 3. A blocklist listing: one alert, no suppression.
for q in 4BAA0004 4BAA0005; do
	echo "$(logpfx) $q: to=<someone@outlook.com>, relay=outlook-com.olc.protection.outlook.com[52.101.8.33]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced ($SPAMHAUS)" >> "$T/maillog"
done
if wait_for 10 test -s "$T/alerts"; then ok; else bad "alert hook did not run"; fi
sleep 0.5
n=$(wc -l < "$T/alerts")
[ "$n" = 1 ] && ok || bad "alert hook ran $n times, want 1"
grep -q '^blocklist spamhaus 192.0.2.12 https://www.spamhaus.org/query/ip/192.0.2.12$' "$T/alerts" && ok ||
    bad "alert hook saw: $(cat "$T/alerts")"
a=$(policy someone@outlook.com)
[ "$a" = DUNNO ] && ok || bad "blocklisted send suppressed someone@outlook.com: $a"
[ "$(metric bouncer_alerts_total)" = 1 ] && ok || bad "bouncer_alerts_total: $(metric bouncer_alerts_total)"

# 4. Garbage on the policy socket closes only that connection.
$PY - "$T/policy.sock" <<'PYEOF' && ok || bad "garbage handling"
import socket, sys
g = socket.socket(socket.AF_UNIX); g.connect(sys.argv[1]); g.settimeout(5)
data = b""
try:
    g.sendall(b"GET / HTTP/1.0\r\n\r\n" + b"x" * 100000)
    while True:
        c = g.recv(4096)
        if not c: break
        data += c
except (BrokenPipeError, ConnectionResetError):
    pass                    # closed on us: what we want
except socket.timeout:
    sys.exit(1)             # left open: wrong
sys.exit(0 if data == b"" else 1)
PYEOF
a=$(policy nosuchuser@gmail.com)
case $a in 550*) ok ;; *) bad "after garbage: $a" ;; esac

# Pipelined requests, a 1 MB line and 1,000 connections at once.
$PY - "$T/policy.sock" <<'PYEOF' && ok || bad "pipelining, 1 MB line or 1,000 connections"
import socket, sys
path = sys.argv[1]
def req(r):
    return ("request=smtpd_access_policy\nprotocol_state=RCPT\n"
            "recipient=%s\n\n" % r).encode()
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(path); s.settimeout(10)
    return s
def answers(s, n):
    data = b""
    while data.count(b"\n\n") < n:
        c = s.recv(65536)
        if not c: break
        data += c
    return data.split(b"\n\n")[:n]
s = conn()
s.sendall(req("nosuchuser@gmail.com") + req("friend@gmail.com") * 3 +
          req("nosuchuser@gmail.com"))
a = answers(s, 5)
assert a[0].startswith(b"action=550 5.1.1"), a
assert a[1:4] == [b"action=DUNNO"] * 3, a
assert a[4].startswith(b"action=550 "), a
big = conn()
try:
    big.sendall(b"request=smtpd_access_policy\nrecipient=" + b"a" * (1 << 20))
    assert big.recv(10) == b""
except (BrokenPipeError, ConnectionResetError):
    pass
many = [conn() for _ in range(1000)]
for c in many:
    c.sendall(req("nosuchuser@gmail.com"))
for c in many:
    assert answers(c, 1)[0].startswith(b"action=550 "), "many"
    c.close()
s.sendall(req("friend@gmail.com"))
assert answers(s, 1) == [b"action=DUNNO"]
PYEOF

# The log follower across rotation: the old file's tail, then the new.
mv "$T/maillog" "$T/maillog.1"
echo "$(logpfx) 4BAA0006: to=<rotated1@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced ($GMAIL_550)" >> "$T/maillog.1"
echo "$(logpfx) 4BAA0007: to=<rotated2@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced ($GMAIL_550)" >> "$T/maillog"
if wait_for 10 sh -c "$PY $SRC/t/lib/policyq.py unix:$T/policy.sock rotated1@gmail.com rotated2@gmail.com | grep -c '^550 ' | grep -qx 2"; then ok
else bad "rotation: $(policy rotated1@gmail.com rotated2@gmail.com)"; fi

# 5. The milter. Postfix's own DSN repeats the log line of the failure:
# a duplicate. A forged DSN, made by anyone with sendmail -f '' (the
# milter sees it as internal) or sent from outside, changes nothing.
echo "$(logpfx) 4BAA0009: to=<gone@icloud.com>, relay=mx01.mail.icloud.com[17.57.154.6]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx01.mail.icloud.com[17.57.154.6] said: 550 5.1.1 <gone@icloud.com>: user does not exist (in reply to RCPT TO command))" >> "$T/maillog"
if wait_for 10 sh -c "$PY $SRC/t/lib/policyq.py unix:$T/policy.sock gone@icloud.com | grep -q '^550 '"; then ok
else bad "the log line did not suppress gone@icloud.com"; fi
cat > "$T/dsn.eml" <<'EML'
From: Mail Delivery System <MAILER-DAEMON@mta.example.net>
Subject: Undelivered Mail Returned to Sender
To: news@example.net
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="B1"

--B1
Content-Type: text/plain

This is the mail system at host mta.example.net.

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mta.example.net
X-Postfix-Queue-ID: 4BAA0009

Final-Recipient: rfc822; gone@icloud.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx01.mail.icloud.com
Diagnostic-Code: smtp; 550 5.1.1 <gone@icloud.com>: user does not exist

--B1--
EML
sed -e 's/gone@icloud.com/victim@icloud.com/g' -e 's/4BAA0009/FORGED01/' \
    "$T/dsn.eml" > "$T/forged.eml"
out=$($PY "$SRC/t/lib/miltertest.py" "unix:$T/milter.sock" --internal \
    --rcpt news@example.net --message "$T/dsn.eml")
echo "$out" | grep -q '^eom continue$' && ok || bad "milter on a DSN: $out"
[ "$(metric bouncer_bounces_duplicate_total)" = 1 ] && ok ||
    bad "Postfix's DSN of a logged bounce: duplicates=$(metric bouncer_bounces_duplicate_total)"
for how in --internal "--from <>"; do
	out=$($PY "$SRC/t/lib/miltertest.py" "unix:$T/milter.sock" $how \
	    --rcpt news@example.net --message "$T/forged.eml")
	echo "$out" | grep -q '^eom continue$' && ok ||
	    bad "milter on a forged DSN ($how): $out"
done
a=$(policy victim@icloud.com)
[ "$a" = DUNNO ] && ok || bad "a forged bounce suppressed victim@icloud.com: $a"
[ "$(metric bouncer_bounces_unverified_total)" = 2 ] && ok ||
    bad "unverified: $(metric bouncer_bounces_unverified_total)"
# The milter refuses a suppressed recipient at RCPT (Sendmail's path).
out=$($PY "$SRC/t/lib/miltertest.py" "unix:$T/milter.sock" \
    --from '<news@example.net>' --rcpt nosuchuser@gmail.com --rcpt friend@gmail.com)
echo "$out" | grep -q '^rcpt <nosuchuser@gmail.com> reject 550 5.1.1' && ok ||
    bad "milter RCPT for a suppressed recipient: $out"
echo "$out" | grep -q '^rcpt <friend@gmail.com> continue$' && ok ||
    bad "milter RCPT for another recipient: $out"

# 6. A broken rule set on SIGHUP is refused; the daemon goes on.
mkdir "$T/badrules"
printf 'provider x\nrule r\nmatch (\n' > "$T/badrules/x.rules"
kill -HUP "$PID"
sleep 0.3
kill -0 "$PID" && ok || bad "bouncerd died on SIGHUP"
a=$(policy nosuchuser@gmail.com)
case $a in 550*) ok ;; *) bad "after SIGHUP: $a" ;; esac

# 7. Restart: what was read is not counted again; what was missed is.
before=$(metrics | grep -c '^bouncer_events_total')
stop
echo "$(logpfx) 4BAA0010: to=<later@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced ($GMAIL_550)" >> "$T/maillog"
start
if wait_for 10 sh -c "$PY $SRC/t/lib/policyq.py unix:$T/policy.sock later@gmail.com | grep -q '^550 '"; then ok
else bad "a line written while bouncerd was down was not caught up"; fi
n=$(metrics | awk '/^bouncer_events_total/ { s += $2 } END { print s + 0 }')
[ "$n" = 1 ] && ok || bad "after restart, $n events counted, want 1 (the missed line only)"
[ "$before" -ge 1 ] || bad "no events before the restart"

# bouncerctl status asks the running daemon.
st=$("$CTL" -c /dev/null -o metrics_listen=127.0.0.1:$MPORT status)
echo "$st" | grep -q "^store=sqlite:$T/state.db$" && echo "$st" | grep -q '^pid=[0-9]' &&
    echo "$st" | grep -q '^rules=[1-9]' && ok || bad "bouncerctl status: $st"

# A remote bounce about a message the log shows is verified, within
# bounce_verify_window; once the window has passed, it decides nothing.
remote_bounce() {	# msgid rcpt file
	sed -e "s/gone@icloud.com/$2/g" -e 's/4BAA0009/REMOTE01/' \
	    -e "/^--B1--/i --B1\\nContent-Type: text/rfc822-headers\\n\\nMessage-ID: <$1>\\nSubject: hello\\n" \
	    "$T/dsn.eml" > "$3"
}
echo "$(stamp) mta postfix/cleanup[3001]: 4BAA0020: message-id=<m1@news.example.net>" >> "$T/maillog"
echo "$(logpfx) 4BAA0020: to=<far1@icloud.com>, relay=mx01.mail.icloud.com[17.57.154.6]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)" >> "$T/maillog"
wait_for 10 sh -c "$PY -c \"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$MPORT/metrics').read().decode())\" | grep -q '^bouncer_log_lines_total'"
sleep 0.3
remote_bounce m1@news.example.net far1@icloud.com "$T/remote1.eml"
$PY "$SRC/t/lib/miltertest.py" "unix:$T/milter.sock" --from '<>' \
    --rcpt news@example.net --message "$T/remote1.eml" >/dev/null
if wait_for 10 sh -c "$PY $SRC/t/lib/policyq.py unix:$T/policy.sock far1@icloud.com | grep -q '^550 '"; then ok
else bad "a remote bounce about a message in the log was not verified"; fi

# 8. Health.
$PY -c "import urllib.request; assert urllib.request.urlopen('http://127.0.0.1:$MPORT/healthz', timeout=5).read() == b'ok\n'" && ok ||
    bad "/healthz"
stop
start -o bounce_verify_window=1
echo "$(stamp) mta postfix/cleanup[3002]: 4BAA0021: message-id=<m2@news.example.net>" >> "$T/maillog"
echo "$(logpfx) 4BAA0021: to=<far2@icloud.com>, relay=mx01.mail.icloud.com[17.57.154.6]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)" >> "$T/maillog"
sleep 2.5
remote_bounce m2@news.example.net far2@icloud.com "$T/remote2.eml"
$PY "$SRC/t/lib/miltertest.py" "unix:$T/milter.sock" --from '<>' \
    --rcpt news@example.net --message "$T/remote2.eml" >/dev/null
[ "$(metric bouncer_bounces_unverified_total)" = 1 ] && ok ||
    bad "a bounce after bounce_verify_window: unverified=$(metric bouncer_bounces_unverified_total)"
a=$(policy far2@icloud.com)
[ "$a" = DUNNO ] && ok || bad "a bounce after the window suppressed far2@icloud.com: $a"
stop
"$CTL" -c /dev/null -o metrics_listen=127.0.0.1:$MPORT status >/dev/null 2>&1
[ $? = 2 ] && ok || bad "bouncerctl status with no daemon: want exit 2"

echo "bouncerd.sh: $pass passed, $fail failed"
[ $fail = 0 ] || { echo "--- bouncerd log"; tail -n 30 "$T/bouncerd.log"; }
[ $fail = 0 ]
