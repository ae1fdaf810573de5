#!/bin/sh
# status.sh -- bouncerctl status: the listeners on, and what a SIGHUP
# or only a restart would apply of the changes made to bouncer.conf
#
# A real bouncerd runs from a configuration file in a temporary
# directory (policy and socketmap on unix sockets, metrics on a free
# loopback port, a maillog). The file is edited as an operator would;
# status must name each changed parameter with "sighup" or "restart",
# and what it says must be what the daemon does: after a SIGHUP the
# new store is written (a RELOAD parameter) and the old policy socket
# still answers (a START one). Every wait is a bounded poll.
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/t/lib/sh.sh"
t_tmp status-test PID

if ! command -v sqlite3 >/dev/null 2>&1; then
	echo "status.sh: FAIL: the sqlite3 program is not installed (scripts/setup-deps)"
	exit 1
fi

MPORT=$(free_port)
GROUP=$(id -gn)
: > "$T/maillog"
cat > "$T/bouncer.conf" <<EOF
user =
store = sqlite:$T/one.db
rules_dir = $RULES
state_dir = $T
socket_group = $GROUP
policy_listen = unix:$T/policy.sock
socketmap_listen = unix:$T/socketmap.sock
milter_listen =
metrics_listen = 127.0.0.1:$MPORT
maillog_file = $T/maillog
maillog_poll_ms = 50
alert_window = 1h
throttle_backoff = 10m
EOF

start() {
	"$BOUNCERD" -f -c "$T/bouncer.conf" 2>>"$T/bouncerd.log" &
	PID=$!
	wait_for 30 "$CTL" -c "$T/bouncer.conf" status ||
	    { bad "bouncerd did not start"; cat "$T/bouncerd.log"; exit 1; }
}

stop() {
	kill -TERM "$PID"
	wait "$PID"
	PID=
}

status() { "$CTL" -c "$T/bouncer.conf" status > "$T/st" 2>"$T/st.err"; }
has() {	# what line
	grep -qx -- "$2" "$T/st" && ok ||
	    { bad "$1: no line \"$2\" in:"; cat "$T/st"; }
}
hasnt() {
	grep -q -- "$2" "$T/st" && { bad "$1: a line \"$2\" in:"; cat "$T/st"; } || ok
}
edit() { sed -i "$1" "$T/bouncer.conf"; }
reloads() { status && sed -n 's/^reloads=//p' "$T/st"; }
sighup() {	# waits until the reload count passes $1
	kill -HUP "$PID"
	wait_for 30 sh -c "'$CTL' -c '$T/bouncer.conf' status | grep -qx 'reloads=$(($1 + 1))'" ||
	    bad "the SIGHUP was not done within 30 s"
}
# Time stamps from the daemon's clock: BOUNCER_NOW=+N or -N (clock.h)
# shifts both, as in t/bouncerd.sh.
case ${BOUNCER_NOW:-} in
[+-][0-9]*) SHIFT=$BOUNCER_NOW ;;
'') SHIFT=0 ;;
*) echo "$(basename "$0"): BOUNCER_NOW must be +seconds or -seconds"; exit 1 ;;
esac
stamp() { LC_ALL=C date -d "@$(( $(date +%s) + SHIFT ))" '+%b %e %H:%M:%S'; }
GMAIL_550="host gmail-smtp-in.l.google.com[142.250.4.27] said: 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser a1si3921pgb.41 - gsmtp (in reply to RCPT TO command)"
bounce() {	# queue-id rcpt
	echo "$(stamp) mta postfix/smtp[2110]: $1: to=<$2>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced ($GMAIL_550)" >> "$T/maillog"
}
policy() { $PY "$SRC/t/lib/policyq.py" "unix:$1" "$2"; }

start

# 1. What is on, from the daemon; nothing changed yet.
status && ok || bad "status: exit $?: $(cat "$T/st.err")"
has "listeners" "listeners=policy socketmap metrics maillog"
has "policy_listen" "policy_listen=unix:$T/policy.sock"
has "milter off" "milter_listen="
has "a fresh start" "config_file=ok"
has "a fresh start" "config_changes=0"

# 2. Edits: one SIGHUP applies, two need a restart, one is the same
# value written otherwise (10m is 600 seconds), one goes back to the
# default. Each is named, with what runs and what the file says.
edit 's/^alert_window = 1h/alert_window = 2h/; s/^throttle_backoff = 10m/throttle_backoff = 600/'
edit "s|^store = .*|store = sqlite:$T/two.db|"
edit "s|^policy_listen = .*|policy_listen = unix:$T/policy2.sock|"
echo "policy_max_conns = 100" >> "$T/bouncer.conf"
status
has "4 changes" "config_changes=4"
has "RELOAD parameter" "changed.alert_window=sighup 1h -> 2h"
has "RELOAD parameter" "changed.store=sighup sqlite:$T/one.db -> sqlite:$T/two.db"
has "START parameter" "changed.policy_listen=restart unix:$T/policy.sock -> unix:$T/policy2.sock"
has "START parameter" "changed.policy_max_conns=restart 4096 -> 100"
hasnt "the same time written otherwise" "throttle_backoff"

# 3. After a SIGHUP only the restart ones are left, and the daemon did
# as status said: the new store takes the decisions, the policy socket
# is the old one still.
sighup "$(reloads)"
status
has "after SIGHUP" "config_changes=2"
hasnt "after SIGHUP" "changed.alert_window"
hasnt "after SIGHUP" "changed.store"
has "after SIGHUP" "changed.policy_listen=restart unix:$T/policy.sock -> unix:$T/policy2.sock"
has "after SIGHUP, what listens" "policy_listen=unix:$T/policy.sock"
has "after SIGHUP, the store in force" "store=sqlite:$T/two.db"
grep -q "read at start only.*policy_listen, policy_max_conns" "$T/bouncerd.log" && ok ||
    bad "the daemon's own reload warning does not name the same parameters"
bounce 4BAA0101 after.reload@gmail.com
if wait_for 10 sh -c "$PY $SRC/t/lib/policyq.py unix:$T/policy.sock after.reload@gmail.com | grep -q '^550 '"; then ok
else bad "after SIGHUP the old policy socket does not answer from the new store"; fi
n=$(sqlite3 -batch "$T/two.db" "SELECT count(*) FROM rcpt WHERE rcpt = 'after.reload@gmail.com'" 2>&1)
[ "$n" = 1 ] && ok || bad "store changed by SIGHUP: the new store has $n records, want 1"
n=$(sqlite3 -batch "$T/one.db" "SELECT count(*) FROM rcpt WHERE rcpt = 'after.reload@gmail.com'" 2>&1)
[ "$n" = 0 ] && ok || bad "store changed by SIGHUP: the old store got the decision"
[ ! -e "$T/policy2.sock" ] && ok || bad "policy_listen changed by a SIGHUP"

# 4. A file with an error: status says so (a SIGHUP would be refused)
# and still answers.
echo "no_such_parameter = 1" >> "$T/bouncer.conf"
status; rc=$?
[ $rc = 0 ] && ok || bad "status with a bad file: exit $rc"
grep -q "^config_file=error $T/bouncer.conf:[0-9]*: no_such_parameter: unknown parameter" "$T/st" && ok ||
    { bad "status with a bad file:"; cat "$T/st"; }
grep -q 'the configuration has errors' "$T/st.err" && ok || bad "no warning on stderr: $(cat "$T/st.err")"
edit '/^no_such_parameter/d'

# 5. A restart applies the rest.
stop
start
status
has "after a restart" "config_changes=0"
has "after a restart" "policy_listen=unix:$T/policy2.sock"
stop

# 6. No daemon: exit 2, and why.
status; rc=$?
[ $rc = 2 ] && grep -q 'bouncerd is not answering' "$T/st.err" && ok ||
    bad "status with no daemon: exit $rc: $(cat "$T/st.err")"

echo "status.sh: $pass passed, $fail failed"
[ $fail = 0 ] || { echo "--- bouncerd log"; tail -n 30 "$T/bouncerd.log"; }
[ $fail = 0 ]
