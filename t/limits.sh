#!/bin/sh
# limits.sh -- what one client can make the real daemon hold
#
# Starts bouncerd (SQLite store in a temporary directory, policy,
# socketmap and milter on unix sockets, metrics on a free loopback port)
# and runs the clients of t/lib/limits.py against it, each on a fresh
# daemon, checking the limits bouncerd(8) lists under LIMITS:
#  - pipelining up to 200 MB of policy requests, or of socketmap
#    netstrings, without reading: the daemon stops reading, and its
#    resident memory (VmRSS) grows by less than 32 MiB;
#  - a 100 MB header, a 200 MB body to /metrics: refused (400, 413),
#    and less than 32 MiB more;
#  - 30 bounces of 10 MB through the milter at once: all pass, and
#    less than 256 MiB more (milter_max_memory is 64 MiB; the rest is
#    the 30 sessions' threads, buffers and parsing, and the sanitizer's);
#  - 10,000 idle policy connections: a new client is still served, the
#    longest idle having been closed; counted and logged;
#  - a client sending a request one byte a second: closed after
#    policy_request_timeout; counted and logged.
#
# Under AddressSanitizer a freed block waits in a quarantine (256 MB by
# default) before it is reused; that memory is the sanitizer's, not the
# daemon's, so the quarantine is made small here and VmRSS shows what
# the daemon holds. Every wait is bounded; whatever is started is
# stopped, also on failure.
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/t/lib/sh.sh"
LIM="$PY $SRC/t/lib/limits.py"
t_tmp bouncer-limits PID

# The bounds, in kB of VmRSS over what the daemon had just before.
FLOOD_KB=32768
MILTER_KB=262144

ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16
export ASAN_OPTIONS
# 10,000 connections on the client's side; bouncerd raises its own.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
MPORT=$(free_port)

start() {
	rm -f "$T"/*.sock
	t_bouncerd PID "$T/bouncerd.log" 20 "unix:$T/policy.sock tcp:$MPORT" \
	    -o store=sqlite:$T/state.db -o state_dir=$T \
	    -o policy_listen=unix:$T/policy.sock \
	    -o milter_listen=unix:$T/milter.sock \
	    -o socketmap_listen=unix:$T/socketmap.sock \
	    -o metrics_listen=127.0.0.1:$MPORT "$@"
}
stop() { t_stop PID; }

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }
metric() {
	$PY -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$MPORT/metrics', timeout=5).read().decode())" |
	    awk -v m="$1" '$1 == m { print $2 }'
}
# field NAME "name=value ...": the value.
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
served() {
	$PY "$SRC/t/lib/policyq.py" "unix:$T/policy.sock" ok@example.com |
	    grep -qx DUNNO
}

# 1, 2. Pipelined requests nobody reads: the daemon stops reading.
for kind in policy socketmap; do
	start
	base=$(rss)
	out=$($LIM "$PID" $kind-flood "unix:$T/$kind.sock" 200)
	peak=$(field peak_kb "$out")
	echo "$kind flood: $out base_kb=$base"
	[ "$(field stalled "$out")" = 1 ] && ok ||
	    bad "$kind: the daemon read $(field sent "$out") bytes of requests whose answers nobody read"
	[ $((peak - base)) -lt $FLOOD_KB ] && ok ||
	    bad "$kind: VmRSS grew from $base to $peak kB, want less than $FLOOD_KB kB more"
	served && ok || bad "$kind: another policy client was not served meanwhile"
	stop
done

# 3. /metrics: a huge header, a huge body.
for kind in header body; do
	start
	base=$(rss)
	mb=100
	[ $kind = body ] && mb=200
	out=$($LIM "$PID" http-$kind "127.0.0.1:$MPORT" $mb)
	peak=$(field peak_kb "$out")
	echo "metrics $kind: $out base_kb=$base"
	want=400
	[ $kind = body ] && want=413
	[ "$(field status "$out")" = $want ] && ok ||
	    bad "metrics $kind of $mb MB: status $(field status "$out"), want $want"
	[ $((peak - base)) -lt $FLOOD_KB ] && ok ||
	    bad "metrics $kind: VmRSS grew from $base to $peak kB, want less than $FLOOD_KB kB more"
	[ -n "$(metric bouncer_alerts_total)" ] && ok ||
	    bad "metrics $kind: /metrics does not answer afterwards"
	stop
done

# 4. Thirty 10 MB bounces at once through the milter.
start
base=$(rss)
out=$($LIM "$PID" milter "unix:$T/milter.sock" 30 10)
peak=$(field peak_kb "$out")
echo "milter: $out base_kb=$base"
[ "$(field done "$out")" = 30 ] && ok ||
    bad "milter: $(field done "$out") of 30 sessions finished"
[ $((peak - base)) -lt $MILTER_KB ] && ok ||
    bad "milter: VmRSS grew from $base to $peak kB, want less than $MILTER_KB kB more"
n=$(metric bouncer_milter_over_memory_total)
[ "${n:-0}" -gt 0 ] && ok || bad "milter: bouncer_milter_over_memory_total is '$n'"
[ "$(metric bouncer_milter_buffered_bytes)" = 0 ] && ok ||
    bad "milter: bytes still held after every session ended"
grep -q "milter_max_memory (67108864 bytes) reached" "$T/bouncerd.log" && ok ||
    bad "milter: the budget running out was not logged"
stop

# 5. 10,000 idle policy connections do not lock a client out.
start
out=$($LIM "$PID" idle "unix:$T/policy.sock" 10000)
echo "idle: $out"
[ "$(field answer "$out")" = action=DUNNO ] && ok ||
    bad "with 10,000 idle connections open a new client got: $(field answer "$out")"
n=$(metric bouncer_policy_connections_evicted_total)
[ "${n:-0}" -ge 5900 ] && ok ||
    bad "bouncer_policy_connections_evicted_total is '$n', want 10,001 - 4,096 or so"
[ "$(grep -c 'policy_max_conns (4096) reached' "$T/bouncerd.log")" = 1 ] && ok ||
    bad "the evictions were not logged once: $(grep -c 'policy_max_conns' "$T/bouncerd.log") lines"
stop

# 6. A request one byte a second is cut off by the request timeout.
start -o policy_request_timeout=2
out=$($LIM "$PID" slow "unix:$T/policy.sock" 15)
echo "slow: $out"
after=$(field closed_after "$out")
case $after in
[0-5].*) ok ;;
*) bad "a request sent one byte a second: closed after '$after' s, want about 2" ;;
esac
n=$(metric bouncer_policy_connections_timed_out_total)
[ "${n:-0}" = 1 ] && ok || bad "bouncer_policy_connections_timed_out_total is '$n'"
grep -q "policy: closed a connection whose request took longer than policy_request_timeout (2s)" \
    "$T/bouncerd.log" && ok || bad "the request timeout was not logged"
stop

echo "limits.sh: $pass passed, $fail failed"
[ $fail = 0 ]
