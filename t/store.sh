#!/bin/sh
# store.sh -- bouncerctl(8) on the configuration and the state store, end
# to end: config, suppress, query, ingest (twice: nothing counted twice),
# explain, list, stats, throttle list/remove, export/import (with bad
# rows, and 1,000,000 rows under 60 s), expire, exit codes; then the same
# basics on a Redis this script starts itself on a unix socket and kills
# by PID when done.
#
# Run by "make check"; by hand: BOUNCERCTL=./bouncerctl sh t/store.sh
# Set STORE_SH_ROWS to change the size of the big import (default 1000000).
#
# Exits non-zero if anything failed, after running every check.

: "${BOUNCER_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${BOUNCERCTL:=$BOUNCER_SRCDIR/bouncerctl}"
: "${BOUNCER_RULES:=$BOUNCER_SRCDIR/rules}"
: "${STORE_SH_ROWS:=1000000}"
DATA=$BOUNCER_SRCDIR/t/data

failed=0
passed=0
redis_pid=
tmp=$(mktemp -d "${TMPDIR:-/tmp}/store-test.XXXXXX") || exit 1
cleanup() {
	if [ -n "$redis_pid" ]; then
		kill "$redis_pid" 2>/dev/null
		wait "$redis_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM

# The sample maillog is from 2026-11-25 10:02-10:04, local time; the
# clock stands at 10:05 UTC that day.
TZ=UTC
BOUNCER_NOW=1795601100
export TZ BOUNCER_NOW

fail() {
	echo "FAIL: $*" >&2
	failed=$((failed + 1))
}

ok() {
	passed=$((passed + 1))
}

DB="sqlite:$tmp/state.db"
ctl() {
	"$BOUNCERCTL" -s "$DB" -o "rules_dir=$BOUNCER_RULES" -o rules_local_dir= "$@"
}

# expect NAME WANT-EXIT COMMAND...: runs it, output in $tmp/out, $tmp/err
expect() {
	name=$1
	want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$name: exit $rc, want $want"
		cat "$tmp/out" "$tmp/err" >&2
		return 1
	fi
	return 0
}

# has NAME FILE REGEX: FILE must have a line matching REGEX
has() {
	if grep -q -- "$3" "$2"; then
		ok
	else
		fail "$1: no line matching /$3/ in:"
		cat "$2" >&2
	fi
}

# --- config -----------------------------------------------------------

expect "config, missing -c file" 2 "$BOUNCERCTL" -c /nonexistent/bouncer.conf \
    config && has "config: missing -c file" "$tmp/err" "/nonexistent/bouncer.conf"
expect "config defaults" 0 "$BOUNCERCTL" config && {
	for p in store rules_dir maillog_file syslog_socket policy_listen \
	    milter_listen socketmap_listen metrics_listen alert_command \
	    audit_max alert_window userunknown_expiry \
	    mailboxfull_escalate_count retry_backoff_base; do
		has "config lists $p" "$tmp/out" "^$p = "
	done
}
# With no file at the default path, built-in defaults apply.
if [ ! -e /usr/local/etc/bouncer/bouncer.conf ] &&
    [ ! -e /etc/bouncer/bouncer.conf ]; then
	expect "config -n, no file" 0 "$BOUNCERCTL" config -n &&
	    if [ -s "$tmp/out" ]; then
		fail "config -n: want nothing without a file"
	    else ok; fi
fi
cat >"$tmp/good.conf" <<'EOF'
# a comment
audit_max = 7
alert_window = 2h
EOF
expect "config -c -n" 0 "$BOUNCERCTL" -c "$tmp/good.conf" -o \
    userunknown_expiry=30d config -n &&
    printf 'audit_max = 7\nuserunknown_expiry = 30d\nalert_window = 2h\n' |
    diff -u - "$tmp/out" >"$tmp/diff" && ok ||
    { fail "config -c -n -o:"; cat "$tmp/diff" >&2; }
expect "config NAME" 0 "$BOUNCERCTL" -c "$tmp/good.conf" config audit_max \
    policy_listen &&
    has "config NAME" "$tmp/out" "^audit_max = 7$"
cat >"$tmp/bad.conf" <<'EOF'
audit_max = 7
store_timeout = soon
bogus = 1
EOF
expect "config bad file" 2 "$BOUNCERCTL" -c "$tmp/bad.conf" config && {
	has "bad value names file:line:parameter" "$tmp/err" \
	    "bad.conf:2: store_timeout: bad value \"soon\""
	has "unknown parameter names file:line" "$tmp/err" \
	    "bad.conf:3: bogus: unknown parameter"
}
expect "bad -o" 2 "$BOUNCERCTL" -o audit_max=0 config &&
    has "bad -o" "$tmp/err" "^-o: audit_max: bad value"
expect "bad store" 2 "$BOUNCERCTL" -s "nosuch:/x" query a@b.example &&
    has "bad store" "$tmp/err" "unknown store type"
expect "-s without a value" 1 "$BOUNCERCTL" -s

# Every parameter is in the sample configuration, at its default, and in
# bouncer.conf(5).
"$BOUNCERCTL" config >"$tmp/params"
while read -r name eq value; do
	case $name in
	store|rules_dir|rules_local_dir|state_dir) pat="^#$name = " ;;
	*)			pat="^#$name = *$value\$" ;;
	esac
	grep -q -- "$pat" "$BOUNCER_SRCDIR/conf/bouncer.conf" ||
	    fail "conf/bouncer.conf: no line \"#$name = $value\""
	case $name in
	*_expiry|*_escalate_count|*_escalate_period)
		word=${name%%_*}
		[ "$word" = suppress ] && word=$name ;;
	*)	word=$name ;;
	esac
	grep -q -- "^\.BR* $word \|^\.B $word\$" \
	    "$BOUNCER_SRCDIR/man/bouncer.conf.5.in" ||
	    fail "man/bouncer.conf.5.in: $name is not documented"
done <"$tmp/params"
ok

# --- suppress, query, unsuppress ---------------------------------------

expect "suppress add" 0 ctl suppress add --reason userunknown \
    Manual@Example.COM other@example.com && ok
expect "query" 0 ctl query manual@example.com nobody@else.example bad-address &&
{
	has "query suppressed" "$tmp/out" \
	    "^manual@example.com	550 5\.1\.1 bouncer: recipient suppressed: userunknown since"
	has "query unknown" "$tmp/out" "^nobody@else.example	DUNNO	"
	has "query bad address" "$tmp/out" "^bad-address	DUNNO	not an address"
	has "query bad address on stderr" "$tmp/err" "argument 3: bad address"
}
expect "suppress add --until" 0 ctl suppress add --until 2026-11-25 \
    past@example.com && ok
expect "query past --until" 0 ctl query past@example.com &&
    has "--until in the past" "$tmp/out" "	DUNNO	"
expect "suppress add --until never" 0 ctl suppress add --until never \
    forever@example.com &&
    expect "query forever" 0 ctl query forever@example.com &&
    has "--until never" "$tmp/out" "until=never"
expect "suppress add bad address" 1 ctl suppress add "a b@example.com" &&
    has "suppress add bad address" "$tmp/err" "argument 1: bad address"
expect "suppress add bad reason" 1 ctl suppress add --reason nosuch x@y.example
expect "unsuppress" 0 ctl suppress remove other@example.com &&
    expect "query after remove" 0 ctl query other@example.com &&
    has "query after remove" "$tmp/out" "	DUNNO	"
expect "unsuppress again" 0 ctl unsuppress other@example.com &&
    has "unsuppress again" "$tmp/err" "not suppressed"

# --- suppress add -f: a plain list of addresses ------------------------

# A store of its own, so that the counts further down stay as they are.
lctl() {
	"$BOUNCERCTL" -s "sqlite:$tmp/list.db" -o rules_local_dir= "$@"
}
printf '%s\n' '# unsubscribed by hand' '' 'One@Example.ORG' \
    '  two@example.org	# asked on 2026-11-02' 'not-an-address' \
    'three@example.org four@example.org' '<five@example.org>' \
    'one@example.org' >"$tmp/list.txt"
printf 'six@example.org\r\n\377@example.org\r\nseven@example.org\r\n' \
    >>"$tmp/list.txt"
expect "suppress add -f" 1 lctl suppress add --reason feedback \
    -f "$tmp/list.txt" && {
	has "-f: bad address numbered" "$tmp/err" \
	    "^bouncerctl: $tmp/list.txt:5: bad address \"not-an-address\""
	has "-f: two on a line numbered" "$tmp/err" \
	    "^bouncerctl: $tmp/list.txt:6: one address a line"
	has "-f: not UTF-8 numbered" "$tmp/err" \
	    "^bouncerctl: $tmp/list.txt:10: not UTF-8"
	has "-f: counts" "$tmp/err" \
	    "suppress add: 5 suppressed, 1 already suppressed, 3 bad, 0 failed"
}
expect "list after -f" 0 lctl list && {
	n=$(grep -c '	suppressed	feedback	' "$tmp/out")
	[ "$n" -eq 5 ] && ok || { fail "list after -f: $n, want 5"; cat "$tmp/out" >&2; }
	# CRLF, comments and brackets: the addresses themselves.
	has "-f: CRLF line" "$tmp/out" "^six@example.org	suppressed"
	has "-f: after a bad line" "$tmp/out" "^seven@example.org	suppressed"
	has "-f: commented line" "$tmp/out" "^two@example.org	suppressed"
	has "-f: angle brackets" "$tmp/out" "^five@example.org	suppressed"
}
printf 'eight@example.org\n' >"$tmp/eight.txt"
expect "suppress add -f - and an argument" 0 \
    lctl suppress add -f - nine@example.org <"$tmp/eight.txt" &&
    has "-f -: counts" "$tmp/err" "suppress add: 2 suppressed, 0 already"
expect "suppress add -f, no file" 1 lctl suppress add -f "$tmp/nosuch" &&
    has "-f, no file" "$tmp/err" "$tmp/nosuch: No such file"
expect "suppress add -f - twice" 1 lctl suppress add -f - -f -

# --- ingest --maillog, twice ------------------------------------------

expect "ingest --maillog" 0 ctl ingest --maillog "$DATA/sample.maillog" &&
    has "ingest counts" "$tmp/err" "ingest: 19 events, 12 changed the state, 0 seen before" &&
    has "ingest: Postfix's own transport failure is no evidence" "$tmp/err" \
	"; 1 failures no remote server said"
expect "ingest --maillog again" 0 ctl ingest --maillog "$DATA/sample.maillog" &&
    has "ingest again counts nothing" "$tmp/err" "0 changed the state, 12 seen before"
expect "query after ingest" 0 ctl query old.friend@gmail.com \
    packrat@gmail.com subscriber@hotmail.com info@slow.example.org && {
	has "ingested userunknown" "$tmp/out" \
	    "^old.friend@gmail.com	550 5\.1\.1 .*rule=gmail.rules:"
	has "ingested mailboxfull" "$tmp/out" \
	    "^packrat@gmail.com	DEFER_IF_PERMIT 4\.2\.2 bouncer: recipient in back-off: mailboxfull, retry in"
	has "ingested throttle" "$tmp/out" \
	    "^subscriber@hotmail.com	DEFER_IF_PERMIT 4\.7\.0 bouncer: destination throttled"
	has "scope guard: networkerror only recorded" "$tmp/out" \
	    "^info@slow.example.org	DUNNO	"
}
expect "explain" 0 ctl explain Old.Friend@gmail.com && {
	has "explain state" "$tmp/out" "^state: *suppressed (userunknown)"
	has "explain rule" "$tmp/out" "^rule: *gmail.rules:"
	has "explain reply" "$tmp/out" "^reply: .*5\.1\.1"
	has "explain history" "$tmp/out" "none -> suppressed:userunknown"
}
expect "explain bad" 1 ctl explain nonsense

# Classified lines, as `bouncerctl classify` prints them.
printf 'tsv@gmail.com\t550 5.1.1 The email account that you tried to reach does not exist\n' |
    "$BOUNCERCTL" classify -r "$BOUNCER_RULES" >"$tmp/classified"
printf 'broken line\n' >>"$tmp/classified"
expect "ingest classified" 1 ctl ingest "$tmp/classified" && {
	has "ingest classified: bad line numbered" "$tmp/err" \
	    "classified:2: expected the 8 columns"
	expect "query classified" 0 ctl query tsv@gmail.com &&
	    has "ingest classified" "$tmp/out" "550 5\.1\.1"
}

# --- list, stats --------------------------------------------------------

expect "list" 0 ctl list && has "list" "$tmp/out" \
    "^old.friend@gmail.com	suppressed	userunknown	"
expect "list --state" 0 ctl list --state deferred &&
    [ "$(cut -f1 "$tmp/out")" = "packrat@gmail.com" ] && ok ||
    fail "list --state deferred: want packrat@gmail.com only"
expect "list --reason" 0 ctl list --reason hostunknown &&
    [ "$(cut -f1 "$tmp/out")" = "user@nonexistent.example" ] && ok ||
    fail "list --reason hostunknown"
expect "list --domain" 0 ctl list --domain GMAIL.com &&
    [ "$(wc -l <"$tmp/out" | tr -d ' ')" = 4 ] && ok ||
    { fail "list --domain gmail.com: want 4 lines"; cat "$tmp/out" >&2; }
expect "list --json" 0 ctl list --json && {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import json, sys
for l in sys.stdin: json.loads(l)' <"$tmp/out" && ok ||
		    fail "list --json: not one JSON object per line"
	fi
}
expect "list bad state" 1 ctl list --state sideways
expect "stats" 0 ctl stats && {
	has "stats state" "$tmp/out" "^state	suppressed	1[0-9]$"
	has "stats reason" "$tmp/out" "^reason	userunknown	"
	has "stats provider" "$tmp/out" "^provider	gmail	"
	has "stats rule" "$tmp/out" "^rule	gmail.rules:[0-9]*	"
	has "stats destination" "$tmp/out" "^destination	throttled	"
}

# --- throttle list, throttle remove -------------------------------------

# In a store of their own, with times relative to BOUNCER_NOW: Gmail
# rate-limits us a minute ago (gmail.com and provider:gmail throttled for
# throttle_backoff, 10m), Hotmail did two hours ago (over by now).
iso() {
	date -u -d "@$1" +%Y-%m-%dT%H:%M:%S+00:00
}
TDB="sqlite:$tmp/throttle.db"
tctl() {
	"$BOUNCERCTL" -s "$TDB" -o "rules_dir=$BOUNCER_RULES" \
	    -o throttle_backoff=10m "$@"
}
t1=$((BOUNCER_NOW - 60))
until1=$(date -u -d "@$((t1 + 600))" +%Y-%m-%dT%H:%M:%SZ)
cat >"$tmp/throttle.log" <<EOF
$(iso "$t1") mta postfix/smtp[4120]: 4Bd8Aa1Bb2c3: to=<bulk@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1, delays=0.05/0.01/0.4/0.5, dsn=4.7.0, status=deferred (host gmail-smtp-in.l.google.com[142.250.4.27] said: 421-4.7.0 [198.51.100.20] Our system has detected an unusual rate of 421-4.7.0 unsolicited mail originating from your IP address. To protect our 421-4.7.0 users from spam, mail sent from your IP address has been temporarily 421-4.7.0 rate limited. Please visit 421 4.7.0 https://support.google.com/mail/?p=UnsolicitedRateLimitError a1si123pgb.12 - gsmtp (in reply to RCPT TO command))
$(iso $((BOUNCER_NOW - 7200))) mta postfix/smtp[4112]: 4Bd6Qv1Xk2z1: to=<subscriber@hotmail.com>, relay=hotmail-com.olc.protection.outlook.com[52.101.8.35]:25, delay=2, delays=0.05/0.01/1/0.9, dsn=4.7.0, status=deferred (host hotmail-com.olc.protection.outlook.com[52.101.8.35] refused to talk to me: 421 RP-001 (COL004-MC1F26) Unfortunately, some messages from 198.51.100.20 weren't sent. Please try again.)
EOF
expect "throttle: ingest" 0 tctl ingest --maillog "$tmp/throttle.log" &&
    has "throttle: ingest" "$tmp/err" "2 changed the state"
expect "throttle list" 0 tctl throttle list && {
	[ "$(cut -f1 "$tmp/out" | tr '\n' ' ')" = "gmail.com provider:gmail " ] &&
	    ok || { fail "throttle list: want gmail.com, provider:gmail:"
		cat "$tmp/out" >&2; }
	has "throttle list: a line" "$tmp/out" \
	    "^gmail\.com	blocked	$until1	1	gmail	gmail\.rules:[0-9]*	421 4\.7\.0 \[198\.51\.100\.20\] Our system .*\.\.\.$"
	has "throttle list: a provider" "$tmp/out" \
	    "^provider:gmail	blocked	$until1	1	-	gmail\.rules:"
}
expect "throttle list --all" 0 tctl throttle list --all &&
    [ "$(cut -f1 "$tmp/out" | tr '\n' ' ')" = \
    "gmail.com hotmail.com provider:gmail provider:microsoft " ] && ok ||
    { fail "throttle list --all: want the ended ones too, sorted"
      cat "$tmp/out" >&2; }
expect "throttle list --json" 0 tctl throttle list --all --json && {
	has "throttle list --json" "$tmp/out" \
	    '^{"destination":"gmail.com","reason":"blocked","since":'"$t1"',"until":'"$((t1 + 600))"','
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import json, sys
n = 0
for l in sys.stdin:
    o = json.loads(l)
    assert o["reply"].endswith(("(in reply to RCPT TO command)", "again."))
    n += 1
assert n == 4' <"$tmp/out" && ok ||
		    fail "throttle list --json: want 4 objects with whole replies"
	fi
}
expect "query throttled" 0 tctl query bulk@gmail.com &&
    has "query throttled" "$tmp/out" "destination throttled"
expect "throttle remove" 0 tctl throttle remove GMAIL.com provider:Gmail &&
    expect "throttle list after remove" 0 tctl throttle list &&
    if [ -s "$tmp/out" ]; then
	fail "throttle remove: still listed:"; cat "$tmp/out" >&2
    else ok; fi
expect "query after throttle remove" 0 tctl query bulk@gmail.com &&
    has "query after throttle remove" "$tmp/out" "^bulk@gmail.com	DUNNO	"
expect "throttle remove, an ended one" 0 tctl throttle remove hotmail.com &&
    expect "throttle list --all after remove" 0 tctl throttle list --all &&
    [ "$(cut -f1 "$tmp/out")" = "provider:microsoft" ] && ok ||
    fail "throttle remove hotmail.com: want provider:microsoft left"
expect "throttle remove, none" 0 tctl throttle remove gmail.com &&
    has "throttle remove, none" "$tmp/err" "gmail.com: not throttled"
expect "throttle remove, bad names" 1 tctl throttle remove "bad name" gmail \
    provider: && {
	has "throttle remove: blank" "$tmp/err" "argument 1: bad destination"
	has "throttle remove: no dot" "$tmp/err" "argument 2: bad destination"
	has "throttle remove: no provider" "$tmp/err" \
	    "argument 3: bad destination"
}
expect "throttle alone" 1 tctl throttle
expect "throttle remove alone" 1 tctl throttle remove
expect "throttle list extra" 1 tctl throttle list gmail.com
expect "throttle list bad option" 1 tctl throttle list --bogus

# --- export, import -----------------------------------------------------

expect "export" 0 ctl export && cp "$tmp/out" "$tmp/export.csv" &&
    has "export header" "$tmp/export.csv" "^rcpt,state,reason,since,until,"
DB2="sqlite:$tmp/copy.db"
expect "import" 0 "$BOUNCERCTL" -s "$DB2" import "$tmp/export.csv" &&
    expect "export the copy" 0 "$BOUNCERCTL" -s "$DB2" export &&
    if sort "$tmp/export.csv" | diff -u - "$(sort "$tmp/out" >"$tmp/s2";
	echo "$tmp/s2")" >"$tmp/diff"; then ok; else
	    fail "export | import | export differs:"; cat "$tmp/diff" >&2; fi
cat >"$tmp/bad.csv" <<'EOF'
rcpt,reason,until
good1@example.com,userunknown,
not an address,userunknown,
good2@example.com,nosuchreason,
"quoted,comma@example.com",userunknown,
good3@example.com,hostunknown,1900000000
too,many,fields,here
"good4@example.com","userunknown",""
EOF
expect "import bad rows" 1 "$BOUNCERCTL" -s "$DB2" import "$tmp/bad.csv" && {
	has "bad address numbered" "$tmp/err" "bad.csv:3: bad address"
	has "bad reason numbered" "$tmp/err" "bad.csv:4: bad reason"
	has "comma in address numbered" "$tmp/err" "bad.csv:5: bad address"
	has "field count numbered" "$tmp/err" "bad.csv:7: 4 fields, the header has 3"
	has "good rows imported" "$tmp/err" "import: 3 rows imported, 4 rejected"
}
expect "query imported" 0 "$BOUNCERCTL" -s "$DB2" query good1@example.com \
    good3@example.com good4@example.com && {
	has "imported row" "$tmp/out" "^good1@example.com	550 5\.1\.1"
	has "imported until" "$tmp/out" \
	    "^good3@example.com	550 5\.1\.2 .*until=2030-03-17"
}
printf 'address,state\n' >"$tmp/badhdr.csv"
expect "import bad header" 1 "$BOUNCERCTL" -s "$DB2" import "$tmp/badhdr.csv" &&
    has "bad header" "$tmp/err" "unknown column \"address\""

# 1,000,000 rows in under 60 seconds.
awk -v n="$STORE_SH_ROWS" 'BEGIN {
	print "rcpt,state,reason,since,until,rule"
	for (i = 0; i < n; i++)
		printf "user%d@d%d.example,suppressed,userunknown,1795600000,0,import:%d\n", i, i % 5000, i % 7
}' >"$tmp/big.csv"
start=$(date +%s)
expect "import $STORE_SH_ROWS rows" 0 "$BOUNCERCTL" -s "sqlite:$tmp/big.db" \
    import "$tmp/big.csv"
secs=$(($(date +%s) - start))
echo "store.sh: imported $STORE_SH_ROWS rows in ${secs}s"
if [ "$secs" -ge 60 ]; then
	fail "import of $STORE_SH_ROWS rows took ${secs}s (limit 60s)"
else
	ok
fi
last=$((STORE_SH_ROWS - 1))
expect "query big" 0 "$BOUNCERCTL" -s "sqlite:$tmp/big.db" query \
    "user$last@d$((last % 5000)).example" nobody@d1.example && {
	has "big: last row" "$tmp/out" "550 5\.1\.1"
	has "big: absent" "$tmp/out" "^nobody@d1.example	DUNNO"
}
expect "stats big" 0 "$BOUNCERCTL" -s "sqlite:$tmp/big.db" stats &&
    has "big: every row" "$tmp/out" "^state	suppressed	$STORE_SH_ROWS$"
rm -f "$tmp/big.csv" "$tmp/big.db"*

# --- expire ---------------------------------------------------------------

BOUNCER_NOW=2000000000 expect "expire" 0 ctl expire &&
    has "expire counts" "$tmp/out" "^expired: 1[0-9] recipients, 2 destinations, 0 alerts, [0-9]* events, [0-9]* notes$"
expect "list after expire" 0 ctl list --state all &&
    [ "$(cut -f1 "$tmp/out")" = "forever@example.com" ] && ok ||
    { fail "expire: want only forever@example.com left"; cat "$tmp/out" >&2; }

# --- Redis ------------------------------------------------------------------

if ! "$BOUNCERCTL" --version | grep -q '^stores:.* redis'; then
	echo "t/store.sh: SKIP the Redis part: built without Redis support" \
	    "(configure --without-hiredis, or no hiredis)"
elif ! command -v redis-server >/dev/null 2>&1; then
	fail "redis-server is not installed (scripts/setup-deps)"
else
	redis-server --port 0 --unixsocket "$tmp/redis.sock" --save '' \
	    --appendonly no --daemonize no --dir "$tmp" >/dev/null 2>&1 &
	redis_pid=$!
	i=0
	while [ ! -S "$tmp/redis.sock" ] && [ $i -lt 200 ]; do
		sleep 0.05; i=$((i + 1))
	done
	DB="redis+unix:$tmp/redis.sock?db=3"
	expect "redis: suppress add" 0 ctl suppress add r@example.com && ok
	expect "redis: ingest" 0 ctl ingest --maillog "$DATA/sample.maillog" &&
	    has "redis: ingest" "$tmp/err" "12 changed the state"
	expect "redis: ingest again" 0 ctl ingest --maillog "$DATA/sample.maillog" &&
	    has "redis: ingest again" "$tmp/err" "0 changed the state, 12 seen before"
	expect "redis: query" 0 ctl query r@example.com packrat@gmail.com &&
	{
		has "redis: query suppressed" "$tmp/out" "^r@example.com	550 "
		has "redis: query deferred" "$tmp/out" "^packrat@gmail.com	DEFER_IF_PERMIT"
	}
	expect "redis: import" 0 ctl import "$tmp/export.csv" && ok
	expect "redis: export" 0 ctl export &&
	    [ "$(wc -l <"$tmp/out")" -ge "$(wc -l <"$tmp/export.csv")" ] &&
	    ok || fail "redis: export shorter than what was imported"
	expect "redis: explain" 0 ctl explain r@example.com &&
	    has "redis: explain" "$tmp/out" "none -> suppressed:undefined"
	expect "redis: stats" 0 ctl stats && has "redis: stats" "$tmp/out" \
	    "^state	suppressed	"
	expect "redis: throttle list" 0 ctl throttle list &&
	    [ "$(cut -f1 "$tmp/out" | tr '\n' ' ')" = \
	    "hotmail.com provider:microsoft " ] && ok ||
	    { fail "redis: throttle list"; cat "$tmp/out" >&2; }
	expect "redis: throttle remove" 0 ctl throttle remove Hotmail.com &&
	    expect "redis: throttle list after remove" 0 ctl throttle list &&
	    [ "$(cut -f1 "$tmp/out")" = "provider:microsoft" ] && ok ||
	    { fail "redis: throttle remove"; cat "$tmp/out" >&2; }
	expect "redis: throttle remove, none" 0 ctl throttle remove \
	    hotmail.com && has "redis: throttle remove, none" "$tmp/err" \
	    "hotmail.com: not throttled"
	kill "$redis_pid"; wait "$redis_pid" 2>/dev/null; redis_pid=
	expect "redis: server gone" 2 ctl query r@example.com
fi

echo "store.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
