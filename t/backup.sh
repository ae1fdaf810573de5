#!/bin/sh
# backup.sh -- bouncerctl backup and restore against a running bouncerd
#
# A real bouncerd (SQLite store in a temporary directory, policy on a
# unix socket, following a maillog) records bounces that a writer keeps
# appending while bouncerctl backup copies the store. Each copy must
# pass PRAGMA integrity_check and hold every decision committed before
# the backup began, including those only the WAL holds (a reader kept
# open pins them there). restore must refuse while the daemon runs and
# refuse files that are not bouncer stores; with the daemon stopped it
# puts a copy back, keeping the file's mode, and the daemon answers
# from it. Every wait is a bounded poll; all that is started is stopped.
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/t/lib/sh.sh"
t_tmp backup-test WPID RPID PID

if ! command -v sqlite3 >/dev/null 2>&1; then
	echo "backup.sh: FAIL: the sqlite3 program is not installed (scripts/setup-deps)"
	exit 1
fi

DB=$T/state.db
ctl() { "$CTL" -c /dev/null -s "sqlite:$DB" "$@"; }
q() { sqlite3 -batch "$1" "$2"; }
GROUP=$(id -gn)
: > "$T/maillog"

start() {
	"$BOUNCERD" -f -c /dev/null -o user= -o store=sqlite:$DB \
	    -o rules_dir=$RULES -o state_dir=$T -o socket_group=$GROUP \
	    -o policy_listen=unix:$T/policy.sock -o metrics_listen= \
	    -o maillog_file=$T/maillog -o maillog_poll_ms=20 \
	    2>>"$T/bouncerd.log" &
	PID=$!
	wait_for 10 $PY -c "
import socket; s=socket.socket(socket.AF_UNIX); s.connect('$T/policy.sock')" ||
	    { bad "bouncerd did not start"; cat "$T/bouncerd.log"; exit 1; }
}

stop() {
	kill -TERM "$PID"
	wait "$PID"
	rc=$?
	PID=
	[ $rc = 0 ] || bad "bouncerd exited with $rc on SIGTERM"
}

policy() { $PY "$SRC/t/lib/policyq.py" "unix:$T/policy.sock" "$@"; }
# Time stamps from the daemon's clock: BOUNCER_NOW=+N or -N (clock.h)
# shifts both, as in t/bouncerd.sh.
case ${BOUNCER_NOW:-} in
[+-][0-9]*) SHIFT=$BOUNCER_NOW ;;
'') SHIFT=0 ;;
*) echo "$(basename "$0"): BOUNCER_NOW must be +seconds or -seconds"; exit 1 ;;
esac
stamp() { LC_ALL=C date -d "@$(( $(date +%s) + SHIFT ))" '+%b %e %H:%M:%S'; }
GMAIL_550="host gmail-smtp-in.l.google.com[142.250.4.27] said: 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser a1si3921pgb.41 - gsmtp (in reply to RCPT TO command)"
bounce() {	# n: a bounce for u<n>@gmail.com
	printf '%s mta postfix/smtp[2110]: 4B%06X: to=<u%d@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (%s)\n' \
	    "$(stamp)" "$1" "$1" "$GMAIL_550"
}
suppressed() { q "$1" "SELECT rcpt FROM rcpt WHERE state = 'suppressed' ORDER BY rcpt"; }

start

# 1. The daemon writes all along: a writer appends a bounce every few
# milliseconds until told to stop.
(
	i=0
	while [ ! -f "$T/stop-writer" ]; do
		i=$((i + 1))
		bounce $i >> "$T/maillog"
		[ $((i % 10)) = 0 ] && sleep 0.02
	done
) &
WPID=$!
wait_for 20 sh -c "[ \$(sqlite3 -batch $DB 'SELECT count(*) FROM rcpt') -ge 50 ]" ||
    bad "the daemon recorded nothing from the writer"

# 2. Backups while it writes: each one sound and holding every
# decision committed before it began.
for k in 1 2 3; do
	suppressed "$DB" > "$T/before$k"
	ctl backup "$T/copy$k.db" 2>"$T/err" && ok ||
	    { bad "backup $k: exit $?"; cat "$T/err"; continue; }
	r=$(q "$T/copy$k.db" 'PRAGMA integrity_check')
	[ "$r" = ok ] && ok || bad "backup $k: integrity_check says $r"
	suppressed "$T/copy$k.db" > "$T/after$k"
	missing=$(comm -23 "$T/before$k" "$T/after$k" | wc -l)
	[ "$missing" = 0 ] && ok ||
	    bad "backup $k: $missing decisions committed before it are not in it"
	[ $(wc -l < "$T/before$k") -gt 0 ] || bad "backup $k: nothing was committed before it"
	m=$(stat -c %a "$T/copy$k.db")
	[ "$m" = 600 ] && ok || bad "backup $k: mode $m, want 600 (it holds addresses)"
	[ ! -e "$T/copy$k.db-wal" ] && [ "$(q "$T/copy$k.db" 'PRAGMA journal_mode')" = delete ] &&
	    ok || bad "backup $k: not one self-contained file"
	sleep 0.2
done
touch "$T/stop-writer"
wait "$WPID"
WPID=
ls "$T"/copy*.db.* >/dev/null 2>&1 && bad "a temporary file was left beside the backups" || ok

# 3. What only the WAL holds is in the backup. A reader holding a read
# transaction stops any checkpoint from moving later commits into the
# main file, so the suppressions made now exist in the WAL alone.
$PY - "$DB" "$T/reader-ready" <<'EOF' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN")
c.execute("SELECT count(*) FROM rcpt").fetchone()
open(sys.argv[2], "w").close()
time.sleep(60)
EOF
RPID=$!
wait_for 10 test -f "$T/reader-ready" || bad "the reader did not start"
ctl suppress add wal1@example.com wal2@example.com >/dev/null 2>&1
cp "$DB" "$T/raw.db"
n=$(q "$T/raw.db" "SELECT count(*) FROM rcpt WHERE rcpt LIKE 'wal%'" 2>/dev/null)
[ "${n:-0}" = 0 ] && ok || bad "the test is void: the main file already has the WAL's rows"
ctl backup "$T/wal.db" 2>"$T/err" || { bad "backup with a pinned WAL"; cat "$T/err"; }
n=$(q "$T/wal.db" "SELECT count(*) FROM rcpt WHERE rcpt LIKE 'wal%' AND state = 'suppressed'")
[ "$n" = 2 ] && ok || bad "the backup lost what only the WAL held: $n of 2"
kill "$RPID"; wait "$RPID" 2>/dev/null; RPID=

# 4. Backup errors are clear: the store itself, a directory that is not there.
ctl backup "$DB" 2>"$T/err"
[ $? = 2 ] && grep -q 'is the store itself' "$T/err" && ok ||
    bad "backup onto the store: $(cat "$T/err")"
ctl backup "$T/no/such/dir/x.db" 2>"$T/err"
[ $? = 2 ] && grep -q 'No such file or directory' "$T/err" && ok ||
    bad "backup into a missing directory: $(cat "$T/err")"
ctl backup 2>/dev/null
[ $? = 1 ] && ok || bad "backup without a file: want exit 1"
# The copy is renamed over its file: never over a device or a directory.
mkdir "$T/adir"
mknod "$T/fifo" p 2>/dev/null || mkfifo "$T/fifo"
for f in "$T/adir" "$T/fifo"; do
	ctl backup "$f" 2>"$T/err"
	[ $? = 2 ] && grep -q 'is not a regular file' "$T/err" && [ ! -f "$f" ] && ok ||
	    bad "backup onto $f: $(cat "$T/err")"
	ctl restore "$f" 2>"$T/err"
	[ $? = 2 ] && grep -q 'not a regular file' "$T/err" && ok ||
	    bad "restore from $f: $(cat "$T/err")"
done

# 5. restore refuses while bouncerd has the store open, and says who.
ctl restore "$T/copy1.db" 2>"$T/err"
[ $? = 2 ] && grep -q "in use by process $PID" "$T/err" && ok ||
    bad "restore while bouncerd runs: $(cat "$T/err")"

stop

# 6. restore refuses what is not a bouncer store, and changes nothing.
before=$(q "$DB" 'SELECT count(*) FROM rcpt')
echo "not a database at all, just some text" > "$T/garbage.db"
ctl restore "$T/garbage.db" 2>"$T/err"
[ $? = 2 ] && grep -q 'garbage.db' "$T/err" && ok || bad "restore of garbage: $(cat "$T/err")"
q "$T/other.db" 'CREATE TABLE t (x); INSERT INTO t VALUES (1);'
ctl restore "$T/other.db" 2>"$T/err"
[ $? = 2 ] && grep -q 'not a bouncer store' "$T/err" && ok ||
    bad "restore of another database: $(cat "$T/err")"
cp "$T/copy1.db" "$T/newer.db"
q "$T/newer.db" 'PRAGMA user_version = 99'
ctl restore "$T/newer.db" 2>"$T/err"
[ $? = 2 ] && grep -q 'schema version 99 is newer' "$T/err" && ok ||
    bad "restore of a newer schema: $(cat "$T/err")"
ctl restore "$T/no-such.db" 2>"$T/err"
[ $? = 2 ] && grep -q 'no-such.db: No such file' "$T/err" && ok ||
    bad "restore of a missing file: $(cat "$T/err")"
[ "$(q "$DB" 'SELECT count(*) FROM rcpt')" = "$before" ] && ok ||
    bad "a refused restore changed the store"

# 7. restore puts the copy back: the same records, the file's mode kept.
chmod 640 "$DB"
ctl restore "$T/copy1.db" >"$T/out" 2>"$T/err" && ok ||
    { bad "restore: exit $?"; cat "$T/err"; }
grep -q "^restored sqlite:$DB from $T/copy1.db: [0-9]* recipients" "$T/out" && ok ||
    bad "restore said: $(cat "$T/out")"
suppressed "$DB" > "$T/restored"
cmp -s "$T/restored" "$T/after1" && ok || bad "the restored store differs from the copy"
q "$DB" 'SELECT count(*) FROM rcpt WHERE rcpt LIKE "wal%"' | grep -qx 0 && ok ||
    bad "what was added after the copy is still there"
m=$(stat -c %a "$DB")
[ "$m" = 640 ] && ok || bad "restore changed the store's mode to $m"
[ "$(q "$DB" 'PRAGMA integrity_check')" = ok ] && ok || bad "the restored store is not sound"

# 8. The daemon answers from the restored store.
start
first=$(head -n 1 "$T/after1")
a=$(policy "$first")
case $a in 550*) ok ;; *) bad "after restore, $first: $a" ;; esac
a=$(policy wal1@example.com)
[ "$a" = DUNNO ] && ok || bad "after restore, wal1@example.com: $a"
stop

# 9. A restore into a store that does not exist yet creates it.
"$CTL" -c /dev/null -s "sqlite:$T/fresh.db" restore "$T/copy2.db" >/dev/null 2>"$T/err" &&
    [ "$(suppressed "$T/fresh.db" | wc -l)" = "$(wc -l < "$T/after2")" ] && ok ||
    bad "restore into a new file: $(cat "$T/err")"

# 10. A store damaged beyond opening (what a restore is for) is replaced
# whole, its stale WAL dropped, its mode kept.
head -c 8192 "$T/copy2.db" > "$T/broken.db"
echo "frames of another database" > "$T/broken.db-wal"
chmod 640 "$T/broken.db"
"$CTL" -c /dev/null -s "sqlite:$T/broken.db" list >/dev/null 2>&1 &&
    bad "the test is void: the broken store opens"
"$CTL" -c /dev/null -s "sqlite:$T/broken.db" restore "$T/copy2.db" >/dev/null 2>"$T/err" &&
    [ "$(q "$T/broken.db" 'PRAGMA integrity_check')" = ok ] &&
    [ "$(suppressed "$T/broken.db" | wc -l)" = "$(wc -l < "$T/after2")" ] &&
    [ "$(stat -c %a "$T/broken.db")" = 640 ] && ok ||
    bad "restore over a damaged store: $(cat "$T/err")"

echo "backup.sh: $pass passed, $fail failed"
[ $fail = 0 ] || { echo "--- bouncerd log"; tail -n 30 "$T/bouncerd.log"; }
[ $fail = 0 ]
