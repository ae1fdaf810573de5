#!/bin/sh
# stall.sh -- the policy server keeps answering while the store stalls
#
# bouncerd answers from its in-memory view and writes on a thread of
# its own, so a store that holds its writers answers no policy lookup
# late. Two stalls:
#   1. a `bouncerctl import` of STALL_ROWS rows (default 1,000,000)
#      into the SQLite file bouncerd uses, which holds SQLite's write
#      lock for many seconds;
#   2. Redis paused with DEBUG SLEEP 3.
# During each, a client asks without pause, for a recipient suppressed
# before (the answer must be a 550) and for unknown ones (DUNNO), and
# every answer must come within 1 s (the old loop waited up to the
# 5 s busy timeout, or 2 s for Redis). The rows imported must then be
# answered from the view, without a restart. Timing targets (p50, p99)
# are the business of `make bench-stall` (this script, run with the -O2
# daemon, which prints them), not of this test.
#
# Nothing here depends on today's date: the suppressions are for ever.

: "${BOUNCER_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
SRC=$BOUNCER_SRCDIR
: "${BOUNCERD:=$SRC/bouncerd}"
: "${BOUNCERCTL:=$SRC/bouncerctl}"
: "${BOUNCER_RULES:=$SRC/rules}"
: "${STALL_ROWS:=1000000}"
PY=/usr/bin/python3
. "$SRC/t/lib/sh.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/stall-test.XXXXXX") || exit 1
PID=
RPID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	[ -n "$RPID" ] && kill "$RPID" 2>/dev/null && wait "$RPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM

MPORT=$(free_port)
healthz() { $PY -c "
import urllib.request
urllib.request.urlopen('http://127.0.0.1:$MPORT/healthz', timeout=2)"; }

start() {	# start STORE
	: > "$T/bouncerd.log"
	"$BOUNCERD" -f -c /dev/null -o user= -o store="$1" \
	    -o rules_dir="$BOUNCER_RULES" -o state_dir="$T" \
	    -o policy_listen=unix:"$T/policy.sock" \
	    -o metrics_listen=127.0.0.1:"$MPORT" 2>>"$T/bouncerd.log" &
	PID=$!
	wait_for 60 healthz ||
	    { bad "bouncerd did not start"; cat "$T/bouncerd.log"; exit 1; }
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null; PID=; }

# ask ADDR: bouncerd's answer for ADDR, one line.
ask() {
	$PY - "$T/policy.sock" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
          b"recipient=" + sys.argv[2].encode() + b"\n\n")
d = b""
while not d.endswith(b"\n\n"):
    c = s.recv(4096)
    if not c:
        break
    d += c
print(d.decode().strip())
EOF
}

# probe STOPFILE: asks until STOPFILE exists; prints "answers N slowest
# MS wrong W" (and the first wrong answer).
probe() {
	$PY - "$T/policy.sock" "$1" <<'EOF'
import os, socket, sys, time
path, stopfile = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(path)
n = wrong = 0
slowest = 0.0
times = []
first = ""
start = time.monotonic()
while not os.path.exists(stopfile) and time.monotonic() - start < 300:
    known = n % 2 == 0
    rcpt = b"known@stall.example" if known else \
        b"nobody%d@stall.example" % n
    t0 = time.monotonic()
    s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
              b"recipient=" + rcpt + b"\n\n")
    d = b""
    while not d.endswith(b"\n\n"):
        c = s.recv(4096)
        if not c:
            break
        d += c
    times.append(time.monotonic() - t0)
    slowest = max(slowest, times[-1])
    a = d.decode().strip()
    if (known and not a.startswith("action=550 5.1.1")) or \
       (not known and a != "action=DUNNO"):
        wrong += 1
        first = first or a
    n += 1
    time.sleep(0.002)
times.sort()
pct = lambda q: 1000 * times[min(len(times) - 1, int(len(times) * q))] \
    if times else 0
print("answers %d slowest %.1f wrong %d %s p50 %.2f p99 %.2f" % (n,
      1000 * slowest, wrong, first.replace(" ", "_") or "-", pct(0.5),
      pct(0.99)))
EOF
}

# check WHAT OUT: the probe's output says every answer was right and
# within 1 s.
check() {
	set -- "$1" $2
	echo "stall.sh: $1: $2 $3, p50 ${10} ms, p99 ${12} ms, slowest $5 ms," \
	    "$7 wrong" >&2
	[ "${3:-0}" -ge 20 ] && ok || bad "$1: only ${3:-0} answers"
	[ "${7:-1}" = 0 ] && ok || bad "$1: ${7:-?} wrong answers, as: $8"
	$PY -c "import sys; sys.exit(not float('${5:-9999}') < 1000)" && ok ||
	    bad "$1: an answer took ${5:-?} ms (want < 1000)"
}

# refused WHAT: the suppressed recipient is refused now.
refused() {
	case $(ask known@stall.example) in
	"action=550 5.1.1"*) ok ;;
	*) bad "$1: the suppressed recipient is not refused" ;;
	esac
}

# probe_start; (the stall); probe_end WHAT: the probe asks in the
# background meanwhile, and check WHAT reads what it saw.
probe_start() {
	rm -f "$T/stop"
	probe "$T/stop" > "$T/probe.out" &
	PROBE=$!
}
probe_end() {
	touch "$T/stop"
	wait "$PROBE"
	check "$1" "$(cat "$T/probe.out")"
}

# --- 1. SQLite: a large import into the daemon's file ---------------------
DB=sqlite:$T/state.db
"$BOUNCERCTL" -s "$DB" suppress add --reason userunknown \
    known@stall.example >/dev/null || bad "suppress add"
awk -v n="$STALL_ROWS" 'BEGIN {
	print "rcpt,state,reason,since,until,rule"
	for (i = 0; i < n; i++)
		printf "user%d@d%d.stall.example,suppressed,userunknown,1795600000,0,import\n", i, i % 5000
}' > "$T/big.csv"
start "$DB"
refused "sqlite, before the import"
probe_start
t0=$(date +%s)
"$BOUNCERCTL" -s "$DB" import "$T/big.csv" > "$T/import.out" 2>&1 ||
    bad "import: $(cat "$T/import.out")"
echo "stall.sh: imported $STALL_ROWS rows in $(($(date +%s) - t0)) s" >&2
probe_end "sqlite import"
# The rows imported by another process show without a restart.
last=$((STALL_ROWS - 1))
imported() { ask "user$last@d$((last % 5000)).stall.example" |
    grep -q '^action=550 5\.1\.1'; }
wait_for 60 imported && ok || bad "sqlite: an imported row is not answered"
stop

# --- 2. Redis paused ------------------------------------------------------
if ! have_redis t/stall.sh; then
	:
elif ! command -v redis-server >/dev/null 2>&1; then
	bad "redis-server is not installed (scripts/setup-deps)"
else
	RPORT=$(free_port)
	redis-server --port "$RPORT" --bind 127.0.0.1 --save "" \
	    --appendonly no --daemonize no --dir "$T" \
	    --enable-debug-command local >/dev/null 2>&1 &
	RPID=$!
	redis_up() { [ "$(redis-cli -p "$RPORT" ping)" = PONG ]; }
	wait_for 10 redis_up || bad "redis-server did not start"
	STORE=redis://127.0.0.1:$RPORT
	"$BOUNCERCTL" -s "$STORE" suppress add --reason userunknown \
	    known@stall.example >/dev/null || bad "redis: suppress add"
	start "$STORE"
	refused "redis, before the pause"
	probe_start
	sleep 0.5
	t0=$(date +%s)
	[ "$(redis-cli -p "$RPORT" DEBUG SLEEP 3)" = OK ] && ok ||
	    bad "redis: DEBUG SLEEP refused"
	[ $(($(date +%s) - t0)) -ge 2 ] && ok || bad "redis: did not sleep"
	sleep 0.5
	probe_end "redis paused"
	stop
	kill "$RPID"
	wait "$RPID" 2>/dev/null
	RPID=
fi

echo "stall.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
