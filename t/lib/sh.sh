# sh.sh -- what the shell tests in t/ share; sourced, after SRC is set
#
# It sets BOUNCERD, CTL and RULES from the environment (BOUNCERD,
# BOUNCERCTL, BOUNCER_RULES) or the build tree, and PY.
# t_tmp NAME VAR... makes $T, a fresh directory, and at exit kills and
# reaps the process whose pid each VAR holds then (empty: none), in that
# order, and removes $T.
# ok and bad count checks (pass, fail); bad says what failed. Every
# wait is a bounded poll: wait_for SECONDS CMD... runs CMD until it
# succeeds, at most SECONDS. free_port prints a loopback TCP port no
# one listens on now. have_redis NAME is true when bouncerctl has the
# Redis store, and otherwise says that NAME skips its Redis part.
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
	rm -rf "$T"
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

have_redis() {
	"${BOUNCERCTL:-${SRC:-.}/bouncerctl}" --version 2>/dev/null |
	    grep -q '^stores:.* redis' && return 0
	echo "$1: SKIP the Redis part: built without Redis support" \
	    "(configure --without-hiredis, or no hiredis)"
	return 1
}
