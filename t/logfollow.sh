#!/bin/sh
# logfollow.sh -- the daemon following its maillog when things go wrong
#
# Starts real bouncerd processes (SQLite or Redis store in a temporary
# directory, policy on a unix socket, metrics on a free loopback port)
# and does to the maillog what happens to one: a line written in two
# parts, rotations faster than the poll, rotations while stopped, a
# long backlog, a store that fails, a FIFO, directory or symbolic link
# in its place, a NUL byte in a line, a file that cannot be read. Every
# wait is a bounded poll. Everything started is stopped, also on
# failure.
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/t/lib/sh.sh"
t_tmp logfollow-test PID RPID
T_ATEXIT='chattr -i "$T"/* 2>/dev/null'

MPORT=$(free_port)
GROUP=$(id -gn)
D=$T			# the daemon's directory: state, sockets, log
STORE=sqlite:$D/state.db
LOG=$D/maillog
T_AS=			# a command prefix to run bouncerd as another user

# start [-o name=value ...]: a bouncerd on $LOG and $STORE, logging to
# $T/bouncerd.log; waits until it answers on /healthz.
start() {
	: > "$T/bouncerd.log"
	t_bouncerd PID "$T/bouncerd.log" 20 "http:$MPORT" -o store=$STORE \
	    -o state_dir=$D -o socket_group=$GROUP \
	    -o policy_listen=unix:$D/policy.sock \
	    -o metrics_listen=127.0.0.1:$MPORT \
	    -o maillog_file=$LOG -o maillog_poll_ms=50 "$@"
}
stop() { t_stop PID; }

healthz_answers() {
	$PY -c "
import urllib.request, urllib.error
try:
    urllib.request.urlopen('http://127.0.0.1:$MPORT/healthz', timeout=2)
except urllib.error.HTTPError:
    pass"
}
policy() { $PY "$SRC/t/lib/policyq.py" "unix:$D/policy.sock" "$@"; }
metrics() { $PY -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$MPORT/metrics', timeout=5).read().decode())"; }
metric() { metrics | awk -v m="$1" '$1 == m { print $2 }'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
# reload: SIGHUP, and wait until the new snapshot is in force (the
# reload is built off the loop, and takes seconds under ASan).
reload() {
	r=$(metric bouncer_reloads_total)
	kill -HUP "$PID"
	wait_for 60 metric_is bouncer_reloads_total $((r + 1)) ||
	    bad "SIGHUP: no reload after 60 s"
}
suppressed() { $T_AS "$CTL" -s "$STORE" list 2>/dev/null | grep -c "$1"; }
suppressed_is() { [ "$(suppressed "$1")" = "$2" ]; }
saved_offset() { cut -d' ' -f2 "$D/maillog.pos"; }
size() { stat -c %s "$1"; }

stamp() { LC_ALL=C date '+%b %e %H:%M:%S'; }
GMAIL_550="host gmail-smtp-in.l.google.com[142.250.4.27] said: 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser a1si3921pgb.41 - gsmtp (in reply to RCPT TO command)"
# bounce_line QUEUEID RCPT: Postfix's log line of a 5.1.1 bounce.
bounce_line() {
	echo "$(stamp) mta postfix/smtp[2110]: $1: to=<$2>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced ($GMAIL_550)"
}
# bounces TAG N [FILE]: N bounce lines, recipients TAG-1@gmail.com ...
bounces() {
	$PY - "$1" "$2" "$(stamp)" "$GMAIL_550" <<'PYEOF' >> "${3:-$LOG}"
import sys
tag, n, stamp, reply = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
for i in range(1, n + 1):
    q = "%X" % (abs(hash(tag)) % 0xFFFFF * 1000 + i)
    print("%s mta postfix/smtp[2110]: %s: to=<%s-%d@gmail.com>, "
          "relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, "
          "delays=0/0/0/1, dsn=5.1.1, status=bounced (%s)"
          % (stamp, q, tag, i, reply))
PYEOF
}

# --- 1. A line written in two parts ------------------------------------
# The position saved covers the whole line, so a restart resumes after
# it instead of reading the file from the start again.
: > "$LOG"
start -o maillog_poll_ms=100
printf '%s mta postfix/smtp[1]: ' "$(stamp)" >> "$LOG"
sleep 0.3
printf 'X: hello\n' >> "$LOG"
wait_for 10 metric_is bouncer_log_lines_total 1 && ok ||
    bad "a line in two parts: lines=$(metric bouncer_log_lines_total)"
stop
[ "$(saved_offset)" = "$(size "$LOG")" ] && ok ||
    bad "maillog.pos saved $(saved_offset), want $(size "$LOG")"
bounce_line 4BAB0001 split@gmail.com >> "$LOG"
start
wait_for 10 suppressed_is split@gmail.com 1 && ok ||
    bad "after a restart, the next line was not read"
grep -q 'reading from the start' "$T/bouncerd.log" &&
    bad "a restart read the log from the start: $(grep 'maillog' "$T/bouncerd.log")" || ok
grep -q "resuming at byte" "$T/bouncerd.log" && ok ||
    bad "a restart did not resume: $(cat "$T/bouncerd.log")"
stop

# --- 2. Rotations faster than the poll, and while stopped ---------------
# Five rotations between two polls (maillog_poll_ms=2000), each file
# with 100 bounces: every line is read. Then two rotations while the
# daemon is down: it finishes the file it was in, then the rest.
rotate() {	# renames maillog.N-1 to maillog.N ..., maillog to maillog.1
	k=8
	while [ $k -gt 1 ]; do
		[ -e "$LOG.$((k - 1))" ] && mv "$LOG.$((k - 1))" "$LOG.$k"
		k=$((k - 1))
	done
	mv "$LOG" "$LOG.1"
}
rm -f "$LOG" "$T/maillog.pos"
bounces rot0 100
start -o maillog_poll_ms=2000
wait_for 10 metric_is bouncer_log_lines_total 100 && ok ||
    bad "rotation: first file: lines=$(metric bouncer_log_lines_total)"
sleep 0.3	# just after a poll: the next is 2 s away
for r in 1 2 3 4 5; do
	rotate
	bounces rot$r 100
	sleep 0.05
done
wait_for 15 metric_is bouncer_log_lines_total 600 && ok ||
    bad "five rotations between polls: read $(metric bouncer_log_lines_total) of 600 lines"
stop
for r in 6 7 8; do
	bounces rot$r 100
	rotate
done
bounces rot9 100
start -o maillog_poll_ms=2000
wait_for 15 metric_is bouncer_log_lines_total 400 && ok ||
    bad "rotations while stopped: read $(metric bouncer_log_lines_total) of 400 lines"
n=$(suppressed '^rot[0-9]-')
[ "$n" = 1000 ] && ok || bad "rotations: $n of 1000 recipients suppressed"
grep -q 'reading from the start' "$T/bouncerd.log" &&
    bad "rotations while stopped: read from the start" || ok
sleep 2.5
metric_is bouncer_log_lines_total 400 && ok ||
    bad "rotations: lines read twice: $(metric bouncer_log_lines_total)"
stop
rm -f "$LOG".*

# --- 3. Not a file: FIFO, directory, symbolic link ----------------------
# A FIFO neither hangs the daemon nor is read; a directory is said
# once, not at every poll; a symbolic link is not followed.
rm -f "$LOG" "$T/maillog.pos"
mkfifo "$LOG"
start
wait_for 10 sh -c "$PY $SRC/t/lib/policyq.py unix:$T/policy.sock fifo@gmail.com | grep -qx DUNNO" && ok ||
    bad "a FIFO at maillog_file: no policy answer"
healthz_answers && ok || bad "a FIFO at maillog_file: no /healthz"
wait_for 5 metric_is bouncer_log_ok 0 && ok ||
    bad "a FIFO at maillog_file: bouncer_log_ok=$(metric bouncer_log_ok)"
stop
rm -f "$LOG"
mkdir "$LOG"
start
sleep 1		# 20 polls
# One warning per change of state, not one per poll.
n=$(grep -c "warning: $LOG:" "$T/bouncerd.log")
[ "$n" = 1 ] && grep -q 'maillog: not a regular file' "$T/bouncerd.log" && ok ||
    bad "a directory: $n warnings in 20 polls, want 1: $(grep "warning: $LOG:" "$T/bouncerd.log" | head -3)"
rmdir "$LOG"
bounce_line 4BAB0002 secret@gmail.com > "$T/secret"
ln -s "$T/secret" "$LOG"
sleep 1
[ "$(metric bouncer_log_lines_total)" = 0 ] && [ "$(suppressed '^secret@gmail.com')" = 0 ] && ok ||
    bad "a symbolic link was followed: lines=$(metric bouncer_log_lines_total)"
rm -f "$LOG"
bounce_line 4BAB0003 real@gmail.com > "$LOG"
wait_for 10 suppressed_is real@gmail.com 1 && ok ||
    bad "a regular file after a link: not read"
wait_for 5 metric_is bouncer_log_ok 1 && ok || bad "bouncer_log_ok not back to 1"
grep -q 'maillog: following again' "$T/bouncerd.log" && ok ||
    bad "no line saying the log is followed again"
stop

# --- 4. A NUL byte inside a line ----------------------------------------
# Refused whole, in the file and from the syslog socket; counted.
start -o syslog_socket=$D/syslog.sock
printf '%s mta postfix/smtp[2110]: 4BAB0004: to=<nul@gmail.com\000x>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (%s)\n' "$(stamp)" "$GMAIL_550" >> "$LOG"
bounce_line 4BAB0005 afternul@gmail.com >> "$LOG"
wait_for 10 suppressed_is afternul@gmail.com 1 && ok || bad "the line after a NUL line: not read"
[ "$(suppressed '^nul@gmail')" = 0 ] && ok || bad "a line with a NUL suppressed nul@gmail"
$PY - "$D/syslog.sock" "$(stamp)" "$GMAIL_550" <<'PYEOF'
import socket, sys
path, stamp, reply = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for rcpt in (b"dgnul@gmail.com\0x", b"dgafter@gmail.com"):
    s.sendto(b"<22>" + stamp.encode() + b" mta postfix/smtp[2110]: 4BAB0006: "
             b"to=<" + rcpt + b">, relay=gmail-smtp-in.l.google.com"
             b"[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, "
             b"status=bounced (" + reply.encode() + b")", path)
PYEOF
wait_for 10 suppressed_is dgafter@gmail.com 1 && ok || bad "syslog: the line after a NUL line: not read"
[ "$(suppressed '^dgnul@gmail')" = 0 ] && ok || bad "syslog: a line with a NUL suppressed dgnul@gmail"
[ "$(metric bouncer_log_nul_lines_total)" = 2 ] && ok ||
    bad "bouncer_log_nul_lines_total=$(metric bouncer_log_nul_lines_total), want 2"
grep -c 'a line with a NUL byte' "$T/bouncerd.log" | grep -qx 2 && ok ||
    bad "NUL lines: want one warning from the file, one from syslog"
stop

# --- 5. A long backlog is read in slices --------------------------------
# 200,000 lines wait at start (half of them message-ids, which are
# written to the store: many seconds of work under the sanitizers), and
# as many more come at once while it runs. While the daemon reads them,
# policy requests are answered in time: the answers are timed only
# while /metrics still shows bytes to read, so they overlap.
backlog() {	# backlog LINES: append that many lines to the log
$PY - "$LOG" "$(stamp)" "$1" <<'PYEOF'
import sys
path, stamp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, "a") as f:
    for i in range(n):
        if i % 2 == 0:
            f.write("%s mta postfix/cleanup[%d]: %X: message-id=<%d.%d@news.example.net>\n"
                    % (stamp, 4000 + i % 97, 0x4C000000 + i, i, i * 7))
        else:
            f.write("%s mta postfix/smtpd[%d]: disconnect from unknown[192.0.2.%d] "
                    "ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5\n"
                    % (stamp, 4000 + i % 97, i % 250))
PYEOF
}
probe() {	# probe WHEN: time policy answers while the log is read
when=$1
out=$($PY - "$D/policy.sock" "$MPORT" <<'PYEOF'
import socket, sys, time, urllib.request
path, mport = sys.argv[1], sys.argv[2]
def lag():
    m = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % mport,
                               timeout=30).read().decode()
    for l in m.splitlines():
        if l.startswith("bouncer_log_lag_bytes "):
            return int(l.split()[1])
    return -1
s = socket.socket(socket.AF_UNIX)
s.connect(path)
s.settimeout(60)
req = (b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
       b"recipient=backlog@gmail.com\n\n")
times = []
last_busy = None
start = time.monotonic()
while time.monotonic() - start < 120:
    if len(times) % 10 == 0:
        if lag() <= 0:
            break
        last_busy = len(times)
    t0 = time.monotonic()
    s.sendall(req)
    data = b""
    while not data.endswith(b"\n\n"):
        c = s.recv(4096)
        if not c:
            break
        data += c
    times.append(time.monotonic() - t0)
    time.sleep(0.005)
# Only the answers given while the log was being read, for certain.
times = sorted(times[:last_busy or 0])
if not times:
    print("answered 0 p99 -")
else:
    print("answered %d p99 %.1f" % (len(times),
          1000 * times[min(len(times) - 1, int(len(times) * 0.99))]))
PYEOF
)
set -- $out
echo "backlog $when: $out ($(metric bouncer_log_lines_total) lines)" >&2
[ "${2:-0}" -ge 20 ] && ok ||
    bad "backlog $when: $out; want answers while the log is read"
[ "${2:-0}" -ge 1 ] && $PY -c "import sys; sys.exit(0 if float('$4') < 50 else 1)" && ok ||
    bad "backlog $when: policy answers p99 ${4:-?} ms, want < 50 ms"
}
lagging() { [ "$(metric bouncer_log_lag_bytes)" != 0 ]; }
rm -f "$LOG" "$D/maillog.pos"
backlog "${BACKLOG_LINES:-200000}"
start
probe "at start"
wait_for 120 metric_is bouncer_log_lag_bytes 0 && ok || bad "backlog: never read to its end"
backlog 200000
wait_for 5 lagging
probe "while running"
wait_for 120 metric_is bouncer_log_lag_bytes 0 && ok || bad "backlog: never read to its end"
stop

# --- 6. The store fails: lines are held, not lost -----------------------
# (a) Redis goes away while 200 bounces are logged, and comes back:
# all 200 are recorded, and the position was never saved past them.
redis_start() { t_redis RPID "$T" --port "$RPORT" --bind 127.0.0.1; }
redis_stop() { kill "$RPID"; wait "$RPID" 2>/dev/null; RPID=; }
# held_offset_ok BYTES: the saved position is not past BYTES.
held_offset_ok() { [ "$(saved_offset)" -le "$1" ]; }
if ! have_redis t/logfollow.sh; then
	:
elif ! command -v redis-server >/dev/null 2>&1; then
	bad "redis-server is not installed (scripts/setup-deps)"
else
	RPORT=$(free_port)
	redis_start
	STORE=redis://127.0.0.1:$RPORT
	rm -f "$LOG" "$D/maillog.pos"
	bounces rfirst 5
	start
	wait_for 10 suppressed_is '^rfirst-' 5 && ok || bad "redis: first bounces not read"
	redis_stop
	before=$(size "$LOG")
	bounces redis 200
	wait_for 10 metric_is bouncer_log_held_lines 1 && ok ||
	    bad "redis down: held lines=$(metric bouncer_log_held_lines)"
	metric_is bouncer_log_ok 0 && ok || bad "redis down: bouncer_log_ok=$(metric bouncer_log_ok)"
	sleep 1
	held_offset_ok "$before" && ok ||
	    bad "redis down: maillog.pos at $(saved_offset), past the held line at $before"
	redis_start
	wait_for 60 suppressed_is '^redis-' 200 && ok ||
	    bad "redis back: $(suppressed '^redis-') of 200 recipients suppressed"
	wait_for 10 metric_is bouncer_log_held_lines 0 && ok ||
	    bad "redis back: held lines=$(metric bouncer_log_held_lines)"
	wait_for 10 metric_is bouncer_log_ok 1 && ok || bad "redis back: not healthy"
	grep -q 'maillog: the store fails; lines held' "$T/bouncerd.log" && ok ||
	    bad "redis down: no warning of held lines"
	stop
	[ "$(saved_offset)" = "$(size "$LOG")" ] && ok ||
	    bad "redis back: maillog.pos at $(saved_offset), want $(size "$LOG")"
	redis_stop
fi

# (b) The SQLite file becomes read-only ("attempt to write a readonly
# database"): the daemon runs as nobody, since root ignores file modes;
# a SIGHUP makes it open the store again, read-only now.
D=$T/nb
mkdir "$D"
chown nobody:nogroup "$D"
chmod 711 "$T"
T_AS="setpriv --reuid=nobody --regid=nogroup --clear-groups"
GROUP=nogroup
STORE=sqlite:$D/state.db
LOG=$D/maillog
bounces rofirst 5
chmod 644 "$LOG"
start
wait_for 10 suppressed_is '^rofirst-' 5 && ok || bad "read-only: first bounces not read"
chmod 444 "$D/state.db"
reload
before=$(size "$LOG")
bounces ro 50
wait_for 10 metric_is bouncer_log_held_lines 1 && ok ||
    bad "read-only store: held lines=$(metric bouncer_log_held_lines)"
grep -qi 'readonly database' "$T/bouncerd.log" && ok ||
    bad "read-only store: no 'readonly database' error: $(tail -5 "$T/bouncerd.log")"
for i in 1 2 3 4 5; do
	held_offset_ok "$before" ||
	    bad "read-only store: maillog.pos at $(saved_offset), past the held line at $before"
	sleep 0.2
done
# SQLite made its -shm and -wal files read-only too, like the database.
chmod 644 "$D"/state.db*
reload
wait_for 60 suppressed_is '^ro-' 50 && ok ||
    bad "store writable again: $(suppressed '^ro-') of 50 recipients suppressed"
wait_for 10 metric_is bouncer_log_held_lines 0 && ok ||
    bad "store writable again: held lines=$(metric bouncer_log_held_lines)"

# --- 7. Health: a log that cannot be read -------------------------------
# Within 5 s of the file becoming unreadable, bouncer_log_ok is 0, with
# one warning; readable again, 1 and one line saying so.
chmod 000 "$LOG"
wait_for 5 metric_is bouncer_log_ok 0 && ok ||
    bad "an unreadable log: bouncer_log_ok=$(metric bouncer_log_ok)"
sleep 1
n=$(grep -v 'health: ' "$T/bouncerd.log" |
    grep -c 'maillog: cannot be read: Permission denied')
[ "$n" = 1 ] && ok || bad "an unreadable log: $n warnings, want 1"
chmod 644 "$LOG"
wait_for 5 metric_is bouncer_log_ok 1 && ok ||
    bad "a readable log again: bouncer_log_ok=$(metric bouncer_log_ok)"
n=$(grep -c 'maillog: following again' "$T/bouncerd.log")
[ "$n" -ge 1 ] && ok || bad "a readable log again: not said"
rm "$LOG"
wait_for 5 metric_is bouncer_log_ok 0 && ok ||
    bad "a missing log: bouncer_log_ok=$(metric bouncer_log_ok)"
grep -q 'maillog: does not exist' "$T/bouncerd.log" && ok ||
    bad "a missing log: not said"
stop

echo "logfollow.sh: $pass passed, $fail failed"
[ $fail = 0 ] || { echo "--- bouncerd log"; tail -n 30 "$T/bouncerd.log"; }
[ $fail = 0 ]
