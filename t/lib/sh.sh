# sh.sh -- what the shell tests in t/ share; sourced, after SRC is set
#
# It sets BOUNCERD, CTL and RULES from the environment (BOUNCERD,
# BOUNCERCTL, BOUNCER_RULES) or the build tree, and PY.
# t_tmp NAME VAR... makes $T, a fresh directory, and at exit kills and
# reaps the process whose pid each VAR holds then (empty: none), in that
# order, runs $T_ATEXIT (a command, when a test sets one) and removes $T.
# t_bouncerd starts a bouncerd and waits until it is ready, t_stop
# stops one; t_redis starts a redis-server. t_fleet_host starts one
# bouncerd of a fleet sharing $STORE, in $T/NAME.
# ok and bad count checks (pass, fail); bad says what failed. Every
# wait is a bounded poll: wait_for SECONDS CMD... runs CMD until it
# succeeds, at most SECONDS. free_port prints a loopback TCP port no
# one listens on now. socketmapq SOCKET KEY... asks the socketmap
# server on the unix SOCKET for "transport KEY", each KEY in turn on one
# connection, and prints each reply netstring, one a line. have_redis
# NAME is true when bouncerctl has the Redis store, and otherwise says
# that NAME skips its Redis part.
BOUNCERD=${BOUNCERD:-$SRC/bouncerd}
CTL=${BOUNCERCTL:-$SRC/bouncerctl}
RULES=${BOUNCER_RULES:-$SRC/rules}
PY=${PY:-/usr/bin/python3}
pass=0
fail=0

t_tmp() {
	T=$(mktemp -d "/tmp/$1.XXXXXX") || exit 1
	shift
	T_PIDVARS="$*"
	for v in $T_PIDVARS; do eval "$v="; done
	trap t_cleanup EXIT INT TERM
}

t_cleanup() {
	for v in $T_PIDVARS; do
		eval "p=\${$v:-}"
		[ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ -n "${T_ATEXIT:-}" ] && eval "$T_ATEXIT"
	rm -rf "$T"
}

# t_bouncerd VAR LOG SECONDS READY [OPTION...]: starts
#	$T_AS $BOUNCERD -f -c /dev/null -o user= -o rules_dir=$RULES
#	    -o socket_group=(this user's group) OPTION...
# in the background, its stderr appended to LOG and its pid in VAR (so
# that t_tmp's cleanup stops it), and waits at most SECONDS until every
# word of READY holds:
#	unix:PATH	the unix socket PATH takes a connection
#	tcp:PORT	127.0.0.1:PORT takes a connection
#	http:PORT	/healthz on 127.0.0.1:PORT answers (200 or 503)
#	healthy:PORT	/healthz on 127.0.0.1:PORT answers 200 "ok"
# T_AS, when set, is a command prefix (setpriv ... to run it as another
# user). A later OPTION overrides an earlier one of the same name. If
# the daemon exits first, or is not ready in time, says so (bad), shows
# LOG and exits 1.
t_bouncerd() {
	tb_var=$1 tb_log=$2 tb_s=$3 tb_ready=$4 tb_n=$(($3 * 10))
	shift 4
	for w in $tb_ready; do
		case $w in
		unix:?* | tcp:[0-9]* | http:[0-9]* | healthy:[0-9]*) ;;
		*) bad "t_bouncerd: unknown readiness '$w'"; exit 1 ;;
		esac
	done
	${T_AS:-} "$BOUNCERD" -f -c /dev/null -o user= -o rules_dir="$RULES" \
	    -o socket_group="$(id -gn)" "$@" 2>>"$tb_log" &
	tb_pid=$!
	eval "$tb_var=\$tb_pid"
	# shellcheck disable=SC2086
	while ! $PY - $tb_ready <<'PYEOF' 2>/dev/null
import socket, sys, urllib.error, urllib.request
for w in sys.argv[1:]:
    kind, arg = w.split(":", 1)
    if kind == "unix":
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(2)
        s.connect(arg)
        s.close()
    elif kind == "tcp":
        socket.create_connection(("127.0.0.1", int(arg)), 2).close()
    else:
        try:
            r = urllib.request.urlopen("http://127.0.0.1:%s/healthz" % arg,
                                       timeout=2)
            code, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            code, body = e.code, b""
        if code not in (200, 503) or \
                kind == "healthy" and (code, body) != (200, b"ok\n"):
            sys.exit(1)
PYEOF
	do
		if ! kill -0 "$tb_pid" 2>/dev/null; then
			wait "$tb_pid"
			bad "bouncerd exited with status $? before it was ready" \
			    "($tb_ready); its log, $tb_log:"
			cat "$tb_log"
			exit 1
		fi
		if [ $tb_n -le 0 ]; then
			bad "bouncerd was not ready within $tb_s s" \
			    "($tb_ready); its log, $tb_log:"
			cat "$tb_log"
			exit 1
		fi
		sleep 0.1
		tb_n=$((tb_n - 1))
	done
}

# t_fleet_host NAME VAR [OPTION...]: t_bouncerd for host NAME of a
# fleet on the store $STORE, in $T/NAME: its state_dir, its policy
# socket (policy.sock) and its log (bouncerd.log); its metrics port is
# a free one, written to $T/NAME/mport. Ready once policy.sock takes a
# connection and /healthz says ok, within 60 s.
t_fleet_host() {
	mkdir -p "$T/$1"
	tf_port=$(free_port)
	echo "$tf_port" > "$T/$1/mport"
	tf_dir=$T/$1 tf_var=$2
	shift 2
	t_bouncerd "$tf_var" "$tf_dir/bouncerd.log" 60 \
	    "unix:$tf_dir/policy.sock healthy:$tf_port" -o "store=$STORE" \
	    -o "state_dir=$tf_dir" -o "policy_listen=unix:$tf_dir/policy.sock" \
	    -o "metrics_listen=127.0.0.1:$tf_port" "$@"
}

# t_redis VAR DIR [OPTION...]: a redis-server in the background, its pid
# in VAR, listening on DIR/redis.sock (and on no TCP port unless OPTION
# says --port N), with DIR its directory, no snapshots and no
# append-only file unless OPTION says otherwise; its output is appended
# to DIR/redis.log. Waits at most 10 s for its PONG; if it exits first
# or does not answer, says so (bad), shows the log and exits 1.
t_redis() {
	tr_var=$1 tr_dir=$2
	shift 2
	redis-server --port 0 --unixsocket "$tr_dir/redis.sock" \
	    --dir "$tr_dir" --save '' --appendonly no "$@" \
	    >>"$tr_dir/redis.log" 2>&1 &
	tr_pid=$!
	eval "$tr_var=\$tr_pid"
	tr_ping="redis-cli -s '$tr_dir/redis.sock' ping 2>/dev/null | grep -qx PONG"
	wait_for 10 sh -c "$tr_ping || ! kill -0 $tr_pid"
	kill -0 "$tr_pid" 2>/dev/null && sh -c "$tr_ping" && return 0
	bad "redis-server did not start; its log, $tr_dir/redis.log:"
	cat "$tr_dir/redis.log"
	exit 1
}

# t_stop VAR: SIGTERM to the bouncerd whose pid VAR holds, waits for
# it and empties VAR. Not 0 (and bad) when it did not exit with 0.
t_stop() {
	eval "ts_pid=\$$1"
	eval "$1="
	kill -TERM "$ts_pid"
	wait "$ts_pid"
	ts_rc=$?
	[ $ts_rc = 0 ] && return 0
	bad "bouncerd exited with $ts_rc on SIGTERM"
	return 1
}

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

wait_for() {
	n=$(($1 * 10)); shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

socketmapq() {
	$PY - "$@" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
for key in sys.argv[2:]:
    q = ("transport " + key).encode()
    s.sendall(str(len(q)).encode() + b":" + q + b",")
    data = b""
    while not data.endswith(b","):
        data += s.recv(4096)
    print(data.decode())
PYEOF
}

have_redis() {
	"${BOUNCERCTL:-${SRC:-.}/bouncerctl}" --version 2>/dev/null |
	    grep -q '^stores:.* redis' && return 0
	echo "$1: SKIP the Redis part: built without Redis support" \
	    "(configure --without-hiredis, or no hiredis)"
	return 1
}
