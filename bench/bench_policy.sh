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
set -eu
cd "$(dirname "$0")/.."
SHARED=${BOUNCER_SHARED:-../shared}
SECS=${BENCH_SECS:-10}
[ -f "$SHARED/bench/policy-load.c" ] || {
	echo "bench_policy: SKIP: $SHARED/bench is absent"; exit 0; }
W=$(mktemp -d /tmp/bench-policy.XXXXXX)
PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

cc -O2 -o "$W/policy-load" "$SHARED/bench/policy-load.c"
cc -O2 -o "$W/min-policy" "$SHARED/bench/min-policy.c" \
    $(pkg-config --cflags --libs libevent_core)
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

python3 -c '
for i in range(1000000):
    print("gone%07d@example.net" % i)' > "$W/suppressed"
{ echo rcpt,state,reason; sed 's/$/,suppressed,userunknown/' "$W/suppressed"; } \
    > "$W/import.csv"
t0=$(date +%s.%N)
./bench/bouncerctl -s "sqlite:$W/state.db" import "$W/import.csv" >/dev/null
t1=$(date +%s.%N)
echo "import: 1,000,000 rows in $(echo "$t1 - $t0" | bc) s"

P1=$(free_port); P2=$(free_port)
./bench/bouncerd -f -c /dev/null -o user= -o store=sqlite:$W/state.db \
    -o rules_dir=rules -o state_dir=$W -o metrics_listen= \
    -o policy_listen=inet:127.0.0.1:$P1 2>"$W/bouncerd.log" &
BPID=$!
PIDS="$PIDS $BPID"
"$W/min-policy" -s 127.0.0.1:$P2 -f "$W/suppressed" \
    -a "550 5.1.1 recipient suppressed" 2>"$W/min.log" &
PIDS="$PIDS $!"
for p in $P1 $P2; do
	n=0
	until python3 -c "import socket; socket.create_connection(('127.0.0.1', $p))" 2>/dev/null; do
		n=$((n + 1)); [ $n -lt 600 ] || { echo "server on $p did not start"; exit 1; }
		sleep 0.1
	done
done
# The first lookup builds bouncerd's in-memory index: do it before timing.
python3 t/lib/policyq.py inet:127.0.0.1:$P1 gone0000001@example.net >/dev/null

printf '%-10s %5s %10s %8s %8s %6s %10s\n' server conns req/s p50_us p99_us errors mismatches
for c in 1 8 64; do
	for s in bouncerd:$P1 min-policy:$P2; do
		name=${s%%:*}; port=${s#*:}
		out=$("$W/policy-load" -s 127.0.0.1:$port -c $c -t "$SECS" \
		    -n 100000000 -S "$W/suppressed" -p 0.1 -x 550 -R 7 || true)
		get() { echo "$out" | sed -n "s/^$1=//p"; }
		printf '%-10s %5s %10s %8s %8s %6s %10s\n' "$name" $c \
		    "$(get rps)" "$(get p50_us)" "$(get p99_us)" "$(get errors)" \
		    "$(get mismatches)"
	done
done
echo "bouncerd peak RSS: $(awk '/VmHWM/ { print $2, $3 }' /proc/$BPID/status)"
