#!/bin/sh
# bench_policy.sh -- the policy server beside min-policy, in one run
#
# Builds ../shared/bench's policy-load (the load generator) and
# min-policy (the ceiling: a one-loop server that only looks an address
# up in a list), loads 1,000,000 suppressed addresses into a fresh
# SQLite store, starts bouncerd (an -O2 build without sanitizers) and
# min-policy on loopback, and runs the same load against both at 1, 8
# and 64 connections, 10% of recipients suppressed. Prints one table
# row per run, and bouncerd's peak RSS.
#
# Two loads, each in a store of its own: "one-domain" (every address
# at example.net, metrics off) and "spread" (the suppressed and the
# other recipients over 1,000 domains, 10,000 throttled destinations
# that no recipient is at, so every lookup also probes a destination
# that is there for other domains, and metrics on and scraped once a
# second), and "redis": the one-domain load with the store in a Redis
# this script starts on a unix socket (bouncerd answers from its view,
# loaded from Redis and kept by the stream of changes; skipped when
# redis-server or Redis support is missing). BENCH_LOADS picks them
# (default: "one-domain spread redis").
set -eu
cd "$(dirname "$0")/.."
SHARED=${BOUNCER_SHARED:-../shared}
SECS=${BENCH_SECS:-10}
[ -f "$SHARED/bench/policy-load.c" ] || {
	echo "bench_policy: SKIP: $SHARED/bench is absent"; exit 0; }
W=$(mktemp -d /tmp/bench-policy.XXXXXX)
PIDS=
RPID=
cleanup() {
	# the processes may be gone already: that is no failure (set -e)
	for p in $RPID $PIDS; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

cc -O2 -o "$W/policy-load" "$SHARED/bench/policy-load.c"
cc -O2 -o "$W/min-policy" "$SHARED/bench/min-policy.c" \
    $(pkg-config --cflags --libs libevent_core)
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

LOADS=${BENCH_LOADS:-one-domain spread redis}

# make_store NAME: the suppressed list, the other recipients (spread
# only) and a store for NAME in $W/NAME.
make_store() {
	mkdir -p "$W/$1"
	python3 - "$1" "$W/$1" <<'PY'
import sqlite3, sys, time
name, d = sys.argv[1], sys.argv[2]
with open(d + "/suppressed", "w") as f:
    for i in range(1000000):
        if name == "spread":
            f.write("gone%07d@d%03d.example.net\n" % (i, i % 1000))
        else:
            f.write("gone%07d@example.net\n" % i)
if name == "spread":
    with open(d + "/recipients", "w") as f:
        for i in range(100000):
            f.write("user%06d@d%03d.example.net\n" % (i, i % 1000))
PY
	{ echo rcpt,state,reason; sed 's/$/,suppressed,userunknown/' \
	    "$W/$1/suppressed"; } > "$W/$1/import.csv"
	STORE=sqlite:$W/$1/state.db
	if [ "$1" = redis ]; then
		redis-server --port 0 --unixsocket "$W/$1/redis.sock" \
		    --save "" --appendonly no --dir "$W/$1" >/dev/null 2>&1 &
		RPID=$!
		n=0
		until redis-cli -s "$W/$1/redis.sock" ping >/dev/null 2>&1; do
			n=$((n + 1)); [ $n -lt 100 ] || {
			    echo "redis-server did not start"; exit 1; }
			sleep 0.1
		done
		STORE=redis+unix:$W/$1/redis.sock?db=0
	fi
	t0=$(date +%s.%N)
	./bench/bouncerctl -s "$STORE" import "$W/$1/import.csv" >/dev/null
	t1=$(date +%s.%N)
	echo "$1: import: 1,000,000 rows in $(echo "$t1 - $t0" | bc) s"
	rm -f "$W/$1/import.csv"
	[ "$1" = spread ] || return 0
	# 10,000 throttled destinations, written as the engine writes them
	# (a row and a change); bouncerd reads them into its index at start.
	python3 - "$W/$1/state.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time())
rows = [("t%05d.example.org" % i, "blocked", now, now + 86400, now, 1)
        for i in range(10000)]
db.executemany("INSERT INTO dest (dest, reason, since, until, last, count)"
               " VALUES (?, ?, ?, ?, ?, ?)", rows)
db.executemany("INSERT INTO changes (key) VALUES (?)",
               [("d:" + r[0],) for r in rows])
db.commit()
PY
	echo "spread: 10,000 throttled destinations"
}

wait_port() {
	n=0
	until python3 -c "import socket; socket.create_connection(('127.0.0.1', $1))" 2>/dev/null; do
		n=$((n + 1)); [ $n -lt 600 ] || { echo "server on $1 did not start"; exit 1; }
		sleep 0.1
	done
}

for load in $LOADS; do
	if [ "$load" = redis ] && { ! command -v redis-server >/dev/null ||
	    ! ./bench/bouncerctl --version | grep -q '^stores:.* redis'; }
	then
		echo "bench_policy: SKIP the redis load: no redis-server, or" \
		    "built without Redis"
		continue
	fi
	make_store "$load"
	D=$W/$load
	P1=$(free_port); P2=$(free_port); MP=
	METRICS=
	if [ "$load" = spread ]; then
		MP=$(free_port)
		METRICS=inet:127.0.0.1:$MP
	fi
	./bench/bouncerd -f -c /dev/null -o user= -o store="$STORE" \
	    -o rules_dir=rules -o state_dir=$D -o metrics_listen=$METRICS \
	    -o policy_listen=inet:127.0.0.1:$P1 2>"$D/bouncerd.log" &
	BPID=$!
	PIDS="$PIDS $BPID"
	"$W/min-policy" -s 127.0.0.1:$P2 -f "$D/suppressed" \
	    -a "550 5.1.1 recipient suppressed" 2>"$D/min.log" &
	MPID=$!
	PIDS="$PIDS $MPID"
	wait_port $P1
	wait_port $P2
	# bouncerd loads its in-memory view before it refuses anything:
	# wait for that before timing.
	t0=$(date +%s.%N)
	n=0
	until python3 t/lib/policyq.py inet:127.0.0.1:$P1 \
	    "$(head -1 "$D/suppressed")" | grep -q '^550'; do
		n=$((n + 1)); [ $n -lt 1200 ] || {
		    echo "bouncerd did not load its view"; exit 1; }
		sleep 0.1
	done
	echo "$load: view loaded in $(echo "$(date +%s.%N) - $t0" | bc) s"
	SCRAPER=
	if [ -n "$MP" ]; then
		# One scrape a second for as long as the runs take, at most.
		python3 -c "
import time, urllib.request
for _ in range(int($SECS * 6 + 30)):
    try:
        urllib.request.urlopen('http://127.0.0.1:$MP/metrics', timeout=2).read()
    except Exception:
        pass
    time.sleep(1)" &
		SCRAPER=$!
		PIDS="$PIDS $SCRAPER"
	fi
	RFILE=
	[ -f "$D/recipients" ] && RFILE="-r $D/recipients"

	echo "== load: $load"
	printf '%-10s %5s %10s %8s %8s %6s %10s %6s\n' server conns req/s \
	    p50_us p99_us errors mismatches ratio
	for c in 1 8 64; do
		b=
		for s in bouncerd:$P1 min-policy:$P2; do
			name=${s%%:*}; port=${s#*:}
			out=$("$W/policy-load" -s 127.0.0.1:$port -c $c \
			    -t "$SECS" -n 100000000 -S "$D/suppressed" $RFILE \
			    -p 0.1 -x 550 -R 7 || true)
			get() { echo "$out" | sed -n "s/^$1=//p"; }
			r=$(get rps)
			ratio=
			if [ -z "$b" ]; then b=$r; else
				ratio=$(echo "scale=2; $b / $r" | bc); fi
			printf '%-10s %5s %10s %8s %8s %6s %10s %6s\n' "$name" \
			    $c "$r" "$(get p50_us)" "$(get p99_us)" \
			    "$(get errors)" "$(get mismatches)" "$ratio"
		done
	done
	echo "bouncerd peak RSS ($load): $(awk '/VmHWM/ { print $2, $3 }' \
	    /proc/$BPID/status)"
	for p in $BPID $MPID $SCRAPER $RPID; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	RPID=
	rm -rf "$D"
done
