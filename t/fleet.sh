#!/bin/sh
# fleet.sh -- two bouncerd on one Redis answer as one
#
# Two daemons, A and B, share a Redis that this test starts on a free
# loopback port. A follows a maillog; B only answers policy requests,
# from its in-memory view. Checked:
#   1. a recipient A suppresses from its log is refused by B within
#      1 s of the line reaching A's log (FLEET_ROUNDS times, default
#      5, each with a new recipient), and by A;
#   2. a suppression lifted with bouncerctl shows on B within 1 s of
#      the command's return, and on A;
#   3. after FLUSHALL (the stream of changes is gone with the rest)
#      B reloads its view: the old suppressions are answered DUNNO,
#      and a new one is refused within 1 s again.
# Prints the delays seen (the slowest of each kind).
#
# Nothing here depends on today's date: the log lines carry the time
# they are written, and the suppressions are for ever.

SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
: "${FLEET_ROUNDS:=5}"
. "$SRC/t/lib/sh.sh"

have_redis t/fleet.sh || exit 0
command -v redis-server >/dev/null 2>&1 || {
	echo "FAIL: redis-server is not installed (scripts/setup-deps)"
	exit 1; }

t_tmp fleet-test APID BPID RPID

RPORT=$(free_port)
t_redis RPID "$T" --port "$RPORT" --bind 127.0.0.1
STORE=redis://127.0.0.1:$RPORT

"$CTL" -s "$STORE" suppress add --reason userunknown \
    before@fleet.example >/dev/null || bad "suppress add"

: > "$T/maillog"
t_fleet_host A APID -o maillog_file="$T/maillog" -o maillog_poll_ms=50
t_fleet_host B BPID

# ask NAME ADDR: NAME's answer for ADDR, one line, without "action=".
ask() { $PY "$SRC/t/lib/policyq.py" unix:"$T/$1/policy.sock" "$2"; }
refused() { ask "$1" "$2" | grep -q '^550 5\.1\.1'; }
passed() { [ "$(ask "$1" "$2")" = DUNNO ]; }

# Both have loaded their view.
# (wait_for counts in $n: the loops here use other names.)
for who in A B; do
	wait_for 30 refused $who before@fleet.example && ok ||
	    bad "$who does not refuse a suppression made before it started"
done

# until_seen SECONDS CHECK NAME ADDR [append FILE LINE | run CMD...]:
# connects to NAME, then does the action (the clock starts before a
# line is appended, after a command has returned: once it has written),
# then asks every 10 ms until the answer is CHECK (refused or passed);
# prints the seconds it took, or "never".
until_seen() {
	$PY - "$T/$3/policy.sock" "$4" "$2" "$1" "$@" <<'EOF'
import socket, subprocess, sys, time
path, rcpt, want, limit = sys.argv[1:5]
action = sys.argv[9:]
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(path)
if action and action[0] == "append":
    t0 = time.monotonic()
    with open(action[1], "a") as f:
        f.write(action[2] + "\n")
elif action and action[0] == "run":
    subprocess.run(action[1:], check=True, stdout=subprocess.DEVNULL)
    t0 = time.monotonic()
else:
    t0 = time.monotonic()
while True:
    s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
              b"recipient=" + rcpt.encode() + b"\n\n")
    d = b""
    while not d.endswith(b"\n\n"):
        c = s.recv(4096)
        if not c:
            sys.exit("connection closed")
        d += c
    a = d.decode().strip()
    seen = a.startswith("action=550 5.1.1") if want == "refused" \
        else a == "action=DUNNO"
    t = time.monotonic() - t0
    if seen:
        print("%.3f" % t)
        break
    if t > float(limit):
        print("never")
        break
    time.sleep(0.01)
EOF
}
stamp() { LC_ALL=C date '+%b %e %H:%M:%S'; }
bounce_line() {	# queue-id rcpt
	echo "$(stamp) mta postfix/smtp[2110]: $1: to=<$2>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host gmail-smtp-in.l.google.com[142.250.4.27] said: 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser a1si3921pgb.41 - gsmtp (in reply to RCPT TO command))"
}
# within1 WHAT SECONDS: the delay is under 1 s.
worst=0
within1() {
	case $2 in
	never) bad "$1: not seen within 5 s"; return ;;
	esac
	$PY -c "import sys; sys.exit(not $2 < 1.0)" && ok ||
	    bad "$1: seen after $2 s (want < 1 s)"
	worst=$($PY -c "print(max($worst, $2))")
}

# --- 1. A suppresses from its log; B refuses ------------------------------
i=0
while [ $i -lt "$FLEET_ROUNDS" ]; do
	rcpt=gone$i@gmail.com
	passed B "$rcpt" && ok || bad "B refuses $rcpt before the bounce"
	d=$(until_seen 5 refused B "$rcpt" append "$T/maillog" \
	    "$(bounce_line "4BF1EE7$i" "$rcpt")")
	within1 "B, bounce $i" "$d"
	refused A "$rcpt" && ok || bad "A does not refuse $rcpt"
	i=$((i + 1))
done
echo "fleet.sh: suppressed by A, refused by B after at most ${worst} s" \
    "($FLEET_ROUNDS bounces)" >&2

# --- 2. Lifted with bouncerctl ----------------------------------------------
# From the moment the command has written it.
worst=0
within1 "B, lifted" "$(until_seen 5 passed B gone0@gmail.com run \
    "$CTL" -s "$STORE" suppress remove gone0@gmail.com)"
passed A gone0@gmail.com && ok || bad "A still refuses gone0@gmail.com"
echo "fleet.sh: lifted with bouncerctl, passed by B after" \
    "${worst} s" >&2

# --- 3. FLUSHALL: the stream is gone; the views load again ---------------
[ "$(redis-cli -p "$RPORT" FLUSHALL)" = OK ] && ok || bad "FLUSHALL"
worst=0
within1 "B, after FLUSHALL" "$(until_seen 5 passed B before@fleet.example)"
within1 "B, a bounce after FLUSHALL" "$(until_seen 5 refused B \
    again@gmail.com append "$T/maillog" \
    "$(bounce_line 4BF1EE99 again@gmail.com)")"
echo "fleet.sh: after FLUSHALL, at most ${worst} s" >&2

for who in A B; do
	grep -i 'panic\|ERROR: AddressSanitizer\|runtime error' \
	    "$T/$who/bouncerd.log" && bad "$who logged a crash"
done
echo "fleet.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
