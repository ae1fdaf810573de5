# lib.sh -- real Postfix, scripted provider and bouncerd on loopback, for tests
#
# Sourced by t/e2e/run.sh and scripts/quickstart (bash). Everything lives
# in one temporary directory $T and talks only to 127.0.0.1; /etc/postfix
# is read (Postfix's meta_directory) but never written. Must run as root:
# the Postfix master always starts as root.
#
# A "site" is one directory D holding one MTA and what surrounds it:
#
#   D/env          its ports (sourced by the functions below)
#   D/pf/          the private Postfix: etc/main.cf, queue/, data/, maillog
#   D/replies      what the scripted provider answers (provider.py(1))
#   D/provider.log every SMTP event the provider saw
#   D/bouncerd.log bouncerd's log; D/state/ its state_dir
#   D/alerts       one line per run of the alert hook D/hook
#
# Every process is started by a function here, remembered by PID, and
# stopped on exit, interrupt or failure (e2e_cleanup). Every wait is a
# bounded poll (wait_for), never a fixed sleep.
#
# Recipe and pitfalls: ../shared/postfix-lab/FINDINGS.md.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${BOUNCER_SRCDIR:-$(cd "$E2E_DIR/../.." && pwd)}
BOUNCERD=${BOUNCERD:-$SRC/bouncerd}
BOUNCERCTL=${BOUNCERCTL:-$SRC/bouncerctl}
RULES=${BOUNCER_RULES:-$SRC/rules}
# The lines an operator adds to main.cf: the tree's, or an installed copy
# (t/package.sh gives the package's).
PF_SNIPPET=${BOUNCER_POSTFIX_SNIPPET:-$SRC/conf/postfix-main.cf}
# Debian's python3, where aiosmtpd lives (a pyenv python3 on PATH may not
# have it).
PY=/usr/bin/python3
MAIL_OWNER=${MAIL_OWNER:-postfix}
SETGID_GROUP=${SETGID_GROUP:-postdrop}

T=
E2E_PIDS=()		# every background process started here
E2E_PFDIRS=()		# every Postfix instance started here
E2E_CLEANED=0

e2e_say() { printf '%s\n' "$*" >&2; }

# e2e_requirements: prints what is missing to run a real Postfix here
# (nothing: all is there). Callers SKIP or install on a non-empty answer.
e2e_requirements() {
	local miss=
	[ "$(id -u)" = 0 ] || miss="$miss root"
	command -v postfix >/dev/null 2>&1 || miss="$miss postfix"
	command -v swaks >/dev/null 2>&1 || miss="$miss swaks"
	# redis-server only for a bouncer built with the Redis store
	"$BOUNCERCTL" --version 2>/dev/null | grep -q '^stores:.* redis' &&
	    ! command -v redis-server >/dev/null 2>&1 &&
	    miss="$miss redis-server"
	$PY -c 'import aiosmtpd' 2>/dev/null || miss="$miss python3-aiosmtpd"
	id "$MAIL_OWNER" >/dev/null 2>&1 || miss="$miss user:$MAIL_OWNER"
	getent group "$SETGID_GROUP" >/dev/null 2>&1 ||
	    miss="$miss group:$SETGID_GROUP"
	[ -x "$BOUNCERD" ] || miss="$miss $BOUNCERD"
	[ -x "$BOUNCERCTL" ] || miss="$miss $BOUNCERCTL"
	printf '%s' "${miss# }"
}

# e2e_setup NAME: makes $T and arranges for e2e_cleanup on exit and on
# INT/TERM. The Postfix user must reach every site through $T.
e2e_setup() {
	T=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$T"
	trap e2e_cleanup EXIT
	trap 'e2e_say "interrupted"; exit 130' INT
	trap 'e2e_say "terminated"; exit 143' TERM
}

# e2e_cleanup: stops every Postfix and every process started here, by
# PID, then removes $T (kept with KEEP=1). Safe to call twice.
e2e_cleanup() {
	local d pid
	[ "$E2E_CLEANED" = 1 ] && return 0
	E2E_CLEANED=1
	trap - INT TERM
	for d in "${E2E_PFDIRS[@]}"; do pf_stop "$d" >/dev/null 2>&1; done
	stop_pids "${E2E_PIDS[@]}"
	if [ -n "$T" ]; then
		if [ "${KEEP:-0}" = 1 ]; then e2e_say "kept $T"
		else rm -rf "$T"; fi
	fi
	return 0
}

# spawn LOG CMD...: starts CMD in the background, output to LOG; the PID
# is in $SPAWNED and remembered for the cleanup.
spawn() {
	local log=$1
	shift
	"$@" >>"$log" 2>&1 </dev/null &
	SPAWNED=$!
	E2E_PIDS+=("$SPAWNED")
}

# stop_pid PID [SIG]: sends SIG (TERM), waits up to 10 s, then KILLs.
# Returns the exit status of the process.
stop_pid() {
	local pid=$1 i rc=0
	[ -n "$pid" ] || return 0
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		alive "$pid" || break
		sleep 0.05
	done
	alive "$pid" && kill -KILL "$pid" 2>/dev/null
	# (braces: bash reports a killed job on the shell's own stderr)
	{ wait "$pid"; } 2>/dev/null || rc=$?
	forget_pid "$pid"
	return $rc
}

# forget_pid PID: PID was waited for; once reaped, the number may go to
# another program, which the cleanup must leave alone.
forget_pid() {
	local p keep=()
	for p in "${E2E_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	E2E_PIDS=("${keep[@]}")
}

# stop_pids PID...: stop_pid for all of them at once.
stop_pids() {
	local pid i left
	for pid in "$@"; do [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; done
	for ((i = 0; i < 200; i++)); do
		left=0
		for pid in "$@"; do alive "$pid" && left=1; done
		[ $left = 0 ] && break
		sleep 0.05
	done
	for pid in "$@"; do stop_pid "$pid" KILL 2>/dev/null; done
	return 0
}

# alive PID: PID runs. A child that exited but was not waited for is a
# zombie, which kill -0 still finds: read its state in /proc (no ps(1)
# in a minimal Debian).
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st%% *}" != Z ]
}

# wait_for SECONDS WHAT CMD...: runs CMD every 0.1 s until it succeeds;
# after SECONDS, says what was awaited and returns 1.
wait_for() {
	local secs=$1 what=$2 end
	shift 2
	end=$(($(date +%s%N) / 1000000 + secs * 1000))
	until "$@" >/dev/null 2>&1; do
		if [ $(($(date +%s%N) / 1000000)) -ge $end ]; then
			e2e_say "    timeout (${secs}s): $what"
			return 1
		fi
		sleep 0.1
	done
}

# has FILE ERE: FILE has a line matching ERE.
has() { grep -qE -- "$2" "$1" 2>/dev/null; }
# count FILE ERE: how many lines of FILE match ERE.
count() { grep -cE -- "$2" "$1" 2>/dev/null || true; }

# free_ports N: N distinct free TCP ports on 127.0.0.1, held open together
# while they are chosen so that they differ.
free_ports() {
	$PY - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# port_open PORT: something listens on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- sites --------------------------------------------------------------

# site_init D: makes the site directory and chooses its ports.
site_init() {
	local d=$1 p
	mkdir -p "$d/state"
	chmod 755 "$d"
	read -ra p <<<"$(free_ports 9)"
	cat >"$d/env" <<EOF
SMTPD_PORT=${p[0]}
POLICY_PORT=${p[1]}
MILTER_PORT=${p[2]}
METRICS_PORT=${p[3]}
PROV_DEFAULT=${p[4]}
PROV_GMAIL=${p[5]}
PROV_OUTLOOK=${p[6]}
PROV_ICLOUD=${p[7]}
SOCKETMAP_PORT=${p[8]}
EOF
	# The alert hook: one line per run, what a test checks.
	cat >"$d/hook" <<EOF
#!/bin/sh
echo "\$BOUNCER_KIND \${BOUNCER_BLOCKLIST:--} \${BOUNCER_IP:--} \${BOUNCER_DELIST_URL:--} provider=\${BOUNCER_PROVIDER:--} domain=\${BOUNCER_DOMAIN:--} count=\${BOUNCER_COUNT:--}" >>"$d/alerts"
EOF
	chmod 755 "$d/hook"
}

# provider_start D: the scripted provider on the site's four ports,
# answering from D/replies (write it first; change it with replies_set).
provider_start() {
	local d=$1
	. "$d/env"
	spawn "$d/provider.log" $PY "$E2E_DIR/provider.py" \
	    --replies "$d/replies" --spool "$d/spool" --lifetime 600 \
	    --port "$PROV_DEFAULT" --port "$PROV_GMAIL" \
	    --port "$PROV_OUTLOOK" --port "$PROV_ICLOUD"
	echo "$SPAWNED" >"$d/provider.pid"
	wait_for 10 "provider listening" provider_up "$d" && alive "$SPAWNED"
}

# provider_up D: the provider listens, or has exited (a port was taken).
provider_up() {
	alive "$(cat "$1/provider.pid")" || return 0
	has "$1/provider.log" '^provider: listening'
}

# replies_set D < TEXT: replaces the provider's replies atomically; it
# reads them again at the next MAIL FROM.
replies_set() {
	cat >"$1/replies.new" && mv -f "$1/replies.new" "$1/replies"
}

# bouncerd_start D [-o name=value ...]: bouncerd for the site, SQLite in
# D/state.db unless -o store=... says otherwise, waits until it answers.
bouncerd_start() {
	local d=$1
	shift
	. "$d/env"
	spawn "$d/bouncerd.log" "$BOUNCERD" -f -c /dev/null -o user= \
	    -o store="sqlite:$d/state.db" -o rules_dir="$RULES" \
	    -o state_dir="$d/state" \
	    -o policy_listen="inet:127.0.0.1:$POLICY_PORT" \
	    -o milter_listen="inet:127.0.0.1:$MILTER_PORT" \
	    -o socketmap_listen="$([ "${SOCKETMAP:-0}" = 1 ] &&
	    echo "inet:127.0.0.1:$SOCKETMAP_PORT")" \
	    -o metrics_listen="127.0.0.1:$METRICS_PORT" \
	    -o maillog_file="$d/pf/maillog" -o maillog_poll_ms=50 \
	    -o alert_command="$d/hook" "$@"
	echo "$SPAWNED" >"$d/bouncerd.pid"
	if ! wait_for 20 "bouncerd answers on its sockets" bouncerd_up "$d" ||
	    ! alive "$SPAWNED"; then
		tail -n 5 "$d/bouncerd.log" >&2
		return 1
	fi
}

# bouncerd_up D: bouncerd answers on its sockets; true as well when it
# has exited (a bad start), for the caller's wait to end at once.
bouncerd_up() {
	local d=$1
	alive "$(cat "$d/bouncerd.pid")" || return 0
	. "$d/env"
	port_open "$POLICY_PORT" && port_open "$MILTER_PORT" &&
	    [ "$(http_get "$METRICS_PORT" /healthz)" = ok ]
}

# bouncerd_stop D [SIG]: SIGTERM (or SIG); returns its exit status.
bouncerd_stop() {
	local pid
	pid=$(cat "$1/bouncerd.pid")
	# (stderr: bash reports a killed job there)
	stop_pid "$pid" "${2:-TERM}" 2>/dev/null
}

http_get() {
	$PY -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:%s%s" % (sys.argv[1], sys.argv[2]), timeout=5).read().decode())' "$1" "$2"
}

# metrics D: the site's /metrics. metric D ERE: the sum of the samples
# whose name and labels match ERE from the start, as "bouncer_alerts_total"
# or 'bouncer_events_total{.*reason="blocked"'; 0 if none.
metrics() { . "$1/env"; http_get "$METRICS_PORT" /metrics; }
metric() {
	metrics "$1" | awk -v want="$2" '
	    BEGIN { re = want; gsub(/[{]/, "[{]", re); re = "^" re }
	    /^#/ { next }
	    {
		name = $1; sub(/[{].*/, "", name)
		if (index(want, "{") ? $1 ~ re : name == want) s += $NF
	    }
	    END { print s + 0 }'
}

# policy D RCPT...: what the site's policy server answers for each.
policy() {
	local d=$1
	shift
	(. "$d/env"; $PY "$SRC/t/lib/policyq.py" "inet:127.0.0.1:$POLICY_PORT" "$@")
}
# policy_is D RCPT ERE: the answer for RCPT matches ERE.
policy_is() { policy "$1" "$2" | grep -qE -- "$3"; }

# ctl D ARGS...: bouncerctl on the site's store.
ctl() {
	local d=$1
	shift
	"$BOUNCERCTL" -s "${STORE:-sqlite:$d/state.db}" "$@"
}

# --- Postfix ------------------------------------------------------------

# pf_start D [name=value ...]: a private Postfix in D/pf, relaying to the
# site's provider: gmail.com, outlook.com and icloud.com each on their own
# port (their own qmgr queue), everything else to the default port.
# Environment: POLICY=0 leaves check_policy_service out, MILTER=0 the
# milters, SOCKETMAP=1 puts bouncerd's socketmap in transport_maps (and
# bouncerd_start listens for it). The name=value arguments go into main.cf last.
# pf_template FILE DIR RELAY_PORT SMTPD_PORT QMGR_WAKEUP MYHOSTNAME MYDOMAIN:
# t/lib/postfix/FILE with its @NAME@s replaced, on stdout. The bounce lab
# (t/bouncelab/mtas.py) writes its Postfix from the same files.
pf_template() {
	sed -e "s|@DIR@|$2|g" -e "s|@RELAY_PORT@|$3|g" \
	    -e "s|@SMTPD_PORT@|$4|g" -e "s|@QMGR_WAKEUP@|$5|g" \
	    -e "s|@MYHOSTNAME@|$6|g" -e "s|@MYDOMAIN@|$7|g" \
	    -e "s|@MAIL_OWNER@|$MAIL_OWNER|g" \
	    -e "s|@SETGID_GROUP@|$SETGID_GROUP|g" "$SRC/t/lib/postfix/$1"
}

pf_start() {
	local d=$1 pf conf
	shift
	pf=$d/pf
	conf=$pf/etc
	pf_stop "$d"
	mkdir -p "$conf" "$pf/queue"
	chmod 755 "$pf"
	# shellcheck disable=SC1091
	. "$d/env"
	port_open "$SMTPD_PORT" && { e2e_say "127.0.0.1:$SMTPD_PORT is busy"; return 1; }

	[ -f "$PF_SNIPPET" ] || { e2e_say "no $PF_SNIPPET"; return 1; }

	pf_template main.cf.in "$pf" "$PROV_DEFAULT" "$SMTPD_PORT" 300 \
	    mta.example.net example.net >"$conf/main.cf"
	cat >>"$conf/main.cf" <<EOF
transport_maps = inline:{ gmail.com=smtp:[127.0.0.1]:$PROV_GMAIL, outlook.com=smtp:[127.0.0.1]:$PROV_OUTLOOK, icloud.com=smtp:[127.0.0.1]:$PROV_ICLOUD }
milter_connect_timeout = 5s
milter_command_timeout = 10s
EOF
	# bouncerd's hooks exactly as an operator adds them (conf/), on the
	# site's ports. POLICY=0 and MILTER=0 take one of them out again.
	sed -e "s/127\.0\.0\.1:10040/127.0.0.1:$POLICY_PORT/g" \
	    -e "s/127\.0\.0\.1:8891/127.0.0.1:$MILTER_PORT/g" \
	    "$PF_SNIPPET" >>"$conf/main.cf"
	cat >>"$conf/main.cf" <<EOF

# --- the test site ---
# Retry within seconds; "postqueue -f" retries at once.
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 60s
EOF
	pf_template master.cf.in "$pf" "$PROV_DEFAULT" "$SMTPD_PORT" 300 \
	    mta.example.net example.net >"$conf/master.cf"
	[ "${POLICY:-1}" = 1 ] ||
	    postconf -c "$conf" -e "smtpd_recipient_restrictions ="
	# SOCKETMAP=1: bouncerd's socketmap first in transport_maps, as
	# conf/postfix-main.cf shows it.
	[ "${SOCKETMAP:-0}" = 1 ] && postconf -c "$conf" -e \
	    "transport_maps = socketmap:inet:127.0.0.1:$SOCKETMAP_PORT:transport, $(postconf -c "$conf" -h transport_maps)"
	[ "${MILTER:-1}" = 1 ] || postconf -c "$conf" -e "smtpd_milters =" \
	    "non_smtpd_milters =" "internal_mail_filter_classes ="
	[ $# -gt 0 ] && postconf -c "$conf" -e "$@"
	E2E_PFDIRS+=("$d")
	# "start" checks the configuration, then returns once the master has
	# bound its listeners (master -w). Postfix prints its errors on
	# stderr only to a terminal: on failure, run "check" again under
	# script(1), which gives it one, to show why.
	if ! postfix -c "$conf" start >/dev/null 2>&1; then
		script -qec "postfix -c '$conf' check" /dev/null >&2
		tail -n 5 "$pf/maillog" >&2 2>/dev/null
		e2e_say "postfix start failed in $conf"
		return 1
	fi
}

# pf_master D: the PID of the site's running Postfix master, if any.
# Not our child: its PID file outlives it, and the number may be another
# program's by now; the master's working directory is its queue.
pf_master() {
	local pid
	pid=$(tr -dc 0-9 2>/dev/null <"$1/pf/queue/pid/master.pid")
	[ -n "$pid" ] && [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$1/pf/queue" ] &&
	    echo "$pid"
}

# pf_stop D: stops the site's Postfix and waits until its master is gone.
# SIGTERM to the master is what "postfix stop" sends, without the script
# around it; the master takes its children down with it. SIGKILL after 10 s.
pf_stop() {
	local d=$1 pid i
	pid=$(pf_master "$d")
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	e2e_say "postfix master $pid did not stop; killed"
}

# pf_flush D: deliver the deferred mail now.
pf_flush() { postqueue -c "$1/pf/etc" -f; }
# pf_queue_empty D: nothing left in the site's queue.
pf_queue_empty() { postqueue -c "$1/pf/etc" -j 2>/dev/null | grep -q . && return 1; return 0; }

# send D OUT FROM TO[,TO...] [swaks args]: one message into the site's
# smtpd; the SMTP conversation goes to OUT. Returns swaks' status.
send() {
	local d=$1 out=$2 from=$3 to=$4
	shift 4
	(
		. "$d/env"
		swaks --server "127.0.0.1:$SMTPD_PORT" --helo client.example.net \
		    --from "$from" --to "$to" "$@" >"$out" 2>&1
	)
}

# sendmail_to D FROM TO...: one message through sendmail(1) and pickup,
# the path that never meets smtpd (nor its policy check).
sendmail_to() {
	local d=$1 from=$2
	shift 2
	printf 'From: %s\nTo: %s\nSubject: via sendmail\n\nhello\n' "$from" "$1" |
	    sendmail -C "$d/pf/etc" -f "$from" "$@"
}

# maillog_status D RCPT STATUS: the site's log has RCPT with STATUS
# (sent, deferred, bounced).
maillog_status() {
	has "$1/pf/maillog" "postfix/[a-z]+\[[0-9]+\]: [0-9A-F]+: to=<$2>, .* status=$3 "
}

# --- Redis --------------------------------------------------------------

# redis_start DIR: redis-server on the unix socket DIR/redis.sock only,
# no TCP, no persistence.
redis_start() {
	local dir=$1
	mkdir -p "$dir"
	spawn "$dir/redis.log" redis-server --port 0 \
	    --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
	    --save '' --appendonly no --dir "$dir" --daemonize no
	echo "$SPAWNED" >"$dir/redis.pid"
	wait_for 10 "redis-server answers" \
	    sh -c "redis-cli -s '$dir/redis.sock' ping | grep -q PONG"
}
