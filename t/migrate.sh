#!/bin/sh
# migrate.sh -- bouncerctl migrate between SQLite and a real Redis, and dump
#
# A SQLite store is filled from a maillog (suppressions, a deferral,
# throttles, a blocklist alert, their audit trails, the event
# identities and the notes bounce verification needs) and by hand.
# migrate copies it into a Redis started here on a unix socket; the
# dumps of both must be equal, line for line. Then: a second run
# changes nothing, a newer record at the destination is kept, the
# copy back to SQLite equals the original, and the Redis store answers
# queries as the SQLite one did. The clock stands still (BOUNCER_NOW),
# so the log's times are the same distance from now on any date.
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/t/lib/sh.sh"
t_tmp migrate-test RPID

# The sample log is of Nov 25 10:02-10:05, 2026; a day later.
export BOUNCER_NOW=2026-11-26T10:00:00Z
ctl() { "$CTL" -c /dev/null -o rules_dir=$RULES "$@"; }
dump() { ctl -s "$1" dump > "$2.unsorted" && sort "$2.unsorted" > "$2"; }
SQ=sqlite:$T/a.db

# 1. A SQLite store with every kind of state.
cp "$SRC/t/data/sample.maillog" "$T/maillog"
echo "Nov 25 10:06:00 mta postfix/smtp[4120]: 4Bd7Qv1Xk2z9: to=<someone@outlook.com>, relay=outlook-com.olc.protection.outlook.com[52.101.8.33]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced (host outlook-com.olc.protection.outlook.com[52.101.8.33] said: 550 5.7.1 Service unavailable, Client host [192.0.2.12] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/192.0.2.12 (in reply to MAIL FROM command))" >> "$T/maillog"
ctl -s "$SQ" ingest --maillog "$T/maillog" 2>"$T/err" && ok ||
    { bad "ingest: $(cat "$T/err")"; }
ctl -s "$SQ" suppress add --reason userunknown by.hand@example.com >/dev/null 2>&1
ctl -s "$SQ" unsuppress former@example.com >/dev/null 2>&1
dump "$SQ" "$T/a.dump" && ok || bad "dump of the SQLite store: exit $?"
for kind in rcpt dest alert audit event note; do
	grep -q "^$kind," "$T/a.dump" && ok ||
	    bad "the test store has no $kind: the comparison would prove nothing"
done
# former@example.com's trail has its suppression and its lifting.
[ "$(grep -c '^audit,former@example.com,' "$T/a.dump")" = 2 ] && ok ||
    bad "former@example.com should have two audit entries"

# 2. Errors are clear before anything is written.
ctl migrate "$SQ" "$SQ" 2>"$T/err"
[ $? = 1 ] && grep -q 'the same store twice' "$T/err" && ok ||
    bad "migrate onto itself: $(cat "$T/err")"
ctl migrate "$SQ" 2>/dev/null
[ $? = 1 ] && ok || bad "migrate with one store: want exit 1"
ctl migrate "sqlite:$T/misspelt.db" "sqlite:$T/x.db" 2>"$T/err"
[ $? = 2 ] && grep -q 'misspelt.db: No such file' "$T/err" && [ ! -e "$T/misspelt.db" ] &&
    ok || bad "migrate from a missing SQLite file: $(cat "$T/err")"
ctl migrate "$SQ" "nosuch:x" 2>"$T/err"
[ $? = 2 ] && grep -q 'unknown store type' "$T/err" && ok ||
    bad "migrate to a bad URI: $(cat "$T/err")"

if ! have_redis migrate.sh; then
	echo "migrate.sh: $pass passed, $fail failed"
	[ $fail = 0 ]
	exit
fi
if ! command -v redis-server >/dev/null 2>&1; then
	echo "migrate.sh: FAIL: redis-server is not installed (scripts/setup-deps)"
	exit 1
fi
redis-server --port 0 --unixsocket "$T/redis.sock" --save '' \
    --appendonly no --daemonize no --dir "$T" >/dev/null 2>&1 &
RPID=$!
wait_for 10 test -S "$T/redis.sock" || { bad "redis-server did not start"; exit 1; }
RD="redis+unix:$T/redis.sock?db=5"

# 3. SQLite to Redis: every kind arrives, the dumps are equal.
ctl migrate "$SQ" "$RD" >"$T/out" 2>"$T/err" && ok ||
    bad "migrate to Redis: exit $?: $(cat "$T/err")"
n=$(grep -c '^rcpt,' "$T/a.dump")
grep -q "^migrated $SQ to $RD: $n recipients" "$T/out" && ok ||
    bad "migrate said: $(cat "$T/out")"
dump "$RD" "$T/r.dump" && ok || bad "dump of the Redis store"
diff "$T/a.dump" "$T/r.dump" > "$T/diff" && ok ||
    { bad "Redis differs from SQLite after migrate"; head -n 20 "$T/diff"; }

# 4. It answers as the SQLite store did.
ctl -s "$SQ" query old.friend@gmail.com packrat@gmail.com subscriber@hotmail.com \
    former@example.com > "$T/q.sqlite"
ctl -s "$RD" query old.friend@gmail.com packrat@gmail.com subscriber@hotmail.com \
    former@example.com > "$T/q.redis"
cmp -s "$T/q.sqlite" "$T/q.redis" && ok ||
    { bad "query answers differ"; diff "$T/q.sqlite" "$T/q.redis"; }
grep -q '^old.friend@gmail.com	550 ' "$T/q.redis" && ok || bad "no suppression in Redis"
ctl -s "$RD" explain former@example.com > "$T/x.redis"
ctl -s "$SQ" explain former@example.com > "$T/x.sqlite"
cmp -s "$T/x.sqlite" "$T/x.redis" && ok || bad "explain (the audit trail) differs"
ctl -s "$RD" stats > "$T/s.redis"; ctl -s "$SQ" stats > "$T/s.sqlite"
cmp -s "$T/s.sqlite" "$T/s.redis" && ok || bad "stats differ (alerts, throttles)"

# 5. Running it again changes nothing, and duplicates no audit entry.
ctl migrate "$SQ" "$RD" >/dev/null 2>&1 && dump "$RD" "$T/r2.dump" &&
    cmp -s "$T/a.dump" "$T/r2.dump" && ok || bad "a second migrate changed Redis"

# 6. A record the destination holds newer is kept (stores merge).
BOUNCER_NOW=2026-11-27T10:00:00Z ctl -s "$RD" suppress add --reason rejected \
    typo.name@gmail.com >/dev/null 2>&1
ctl migrate "$SQ" "$RD" >"$T/out" 2>&1
grep -q "kept as newer at the destination: 1 recipients" "$T/out" && ok ||
    bad "the newer record at the destination: $(cat "$T/out")"
ctl -s "$RD" list --reason rejected | grep -q '^typo.name@gmail.com	' && ok ||
    bad "migrate overwrote a newer record"

# 7. Redis back to SQLite: the copy equals Redis, and all that came
# from the first SQLite store but the record replaced in 6 is there.
dump "$RD" "$T/r3.dump"
ctl migrate "$RD" "sqlite:$T/b.db" >"$T/out" 2>"$T/err" && ok ||
    bad "migrate to SQLite: $(cat "$T/err")"
dump "sqlite:$T/b.db" "$T/b.dump"
cmp -s "$T/r3.dump" "$T/b.dump" && ok ||
    { bad "Redis to SQLite differs"; diff "$T/r3.dump" "$T/b.dump" | head; }
grep -v 'typo.name@gmail.com' "$T/a.dump" > "$T/a.rest"
grep -v 'typo.name@gmail.com' "$T/b.dump" > "$T/b.rest"
cmp -s "$T/a.rest" "$T/b.rest" && ok ||
    { bad "SQLite to Redis to SQLite lost something"; diff "$T/a.rest" "$T/b.rest" | head; }

# 8. Event identities older than event_retention are not carried.
BOUNCER_NOW=2027-06-01T00:00:00Z ctl migrate "$SQ" "sqlite:$T/c.db" >"$T/out" 2>&1
grep -q ", 0 events, 0 notes;" "$T/out" && grep -q "past event_retention: [1-9]" "$T/out" &&
    ok || bad "old events were carried: $(cat "$T/out")"

# 9. backup and restore of a Redis store say what to use instead.
ctl -s "$RD" backup "$T/x.db" 2>"$T/err"
[ $? = 2 ] && grep -q 'BGSAVE' "$T/err" && grep -q 'bouncerctl migrate' "$T/err" &&
    [ ! -e "$T/x.db" ] && ok || bad "backup of Redis: $(cat "$T/err")"
ctl -s "$RD" restore "$T/b.db" 2>"$T/err"
[ $? = 2 ] && grep -q 'RDB or AOF' "$T/err" && ok || bad "restore of Redis: $(cat "$T/err")"

# 10. A server that goes away: a clear failure, not a crash.
kill "$RPID"; wait "$RPID" 2>/dev/null; RPID=
ctl migrate "$SQ" "$RD" >/dev/null 2>"$T/err"
[ $? = 2 ] && ok || bad "migrate to a Redis that is down: want exit 2"

echo "migrate.sh: $pass passed, $fail failed"
[ $fail = 0 ]
