#!/bin/sh
# bouncerctl.sh -- bouncerctl(8) end to end: golden files, JSON, bad input,
# exit codes, rules test/list and --maillog
#
# Run by "make check" with BOUNCERCTL, BOUNCER_RULES and BOUNCER_SRCDIR
# set; by hand: BOUNCERCTL=./bouncerctl BOUNCER_RULES=rules sh t/bouncerctl.sh
#
# Golden files are diffed Postfix style: t/data/X.in through bouncerctl
# must give t/data/X.ref. The rule column keeps its file but not its line
# ("gmail.rules", not "gmail.rules:18"), so that editing a rule file does
# not break every reference. To regenerate a reference after a deliberate
# change, run the command below by hand and review every line of the diff.
#
# Exits non-zero if anything failed, after running every check.

: "${BOUNCER_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${BOUNCERCTL:=$BOUNCER_SRCDIR/bouncerctl}"
: "${BOUNCER_RULES:=$BOUNCER_SRCDIR/rules}"
DATA=$BOUNCER_SRCDIR/t/data

failed=0
passed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bouncerctl-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

fail() {
	echo "FAIL: $*" >&2
	failed=$((failed + 1))
}

ok() {
	passed=$((passed + 1))
}

ctl() {
	"$BOUNCERCTL" "$@"
}

# Drop the line number of the rule column: "gmail.rules:18" -> "gmail.rules".
norule() {
	sed 's/\.rules:[0-9][0-9]*/.rules/'
}

# --- golden files ------------------------------------------------------

ctl classify -r "$BOUNCER_RULES" <"$DATA/classify.in" >"$tmp/classify.out" \
    2>"$tmp/classify.err"
rc=$?
norule <"$tmp/classify.out" >"$tmp/classify.cmp"
if [ $rc -ne 0 ]; then
	fail "classify: exit $rc"; cat "$tmp/classify.err" >&2
elif ! diff -u "$DATA/classify.ref" "$tmp/classify.cmp" >"$tmp/diff"; then
	fail "classify: output differs from t/data/classify.ref:"
	cat "$tmp/diff" >&2
else
	ok
fi
if [ -s "$tmp/classify.err" ]; then
	fail "classify: unexpected stderr:"; cat "$tmp/classify.err" >&2
fi

ctl classify -r "$BOUNCER_RULES" --maillog "$DATA/sample.maillog" \
    >"$tmp/maillog.out" 2>"$tmp/maillog.err"
rc=$?
norule <"$tmp/maillog.out" >"$tmp/maillog.cmp"
if [ $rc -ne 0 ]; then
	fail "classify --maillog: exit $rc"; cat "$tmp/maillog.err" >&2
elif ! diff -u "$DATA/sample.maillog.ref" "$tmp/maillog.cmp" >"$tmp/diff"
then
	fail "classify --maillog: output differs from" \
	    "t/data/sample.maillog.ref:"
	cat "$tmp/diff" >&2
else
	ok
fi

# --- --maillog: one line per deferred or bounced recipient --------------

# The recipients, in log order, that the sample defers or bounces;
# the sent ones and the non-delivery lines must not appear.
cat >"$tmp/want.rcpts" <<'EOF'
old.friend@gmail.com
typo.name@gmail.com
packrat@gmail.com
moved.away@outlook.com
subscriber@hotmail.com
closed@icloud.com
taro.y@yahoo.co.jp
info@slow.example.org
user@nonexistent.example
nobody@example.com
former@example.com
later@example.com
gone@example.org
guarded@example.org
nobody.here@example.net
busy@example.net
EOF
cut -f1 "$tmp/maillog.out" >"$tmp/got.rcpts"
if ! diff -u "$tmp/want.rcpts" "$tmp/got.rcpts" >"$tmp/diff"; then
	fail "classify --maillog: recipients differ:"; cat "$tmp/diff" >&2
else
	ok
fi

ctl classify -r "$BOUNCER_RULES" --maillog --summary "$DATA/sample.maillog" \
    >"$tmp/summary.out" 2>&1
rc=$?
total=$(awk -F '\t' '{ n += $1 } END { print n + 0 }' "$tmp/summary.out")
ngot=$(wc -l <"$tmp/want.rcpts" | tr -d ' ')
if [ $rc -ne 0 ]; then
	fail "classify --summary: exit $rc"; cat "$tmp/summary.out" >&2
elif [ "$total" -ne "$ngot" ]; then
	fail "classify --summary: counts add up to $total, want $ngot"
	cat "$tmp/summary.out" >&2
elif ! awk -F '\t' 'NF != 4 || $1 !~ /^[0-9]+$/ { exit 1 }' \
    "$tmp/summary.out"; then
	fail "classify --summary: want" \
	    "count<TAB>provider<TAB>reason<TAB>decision"
	cat "$tmp/summary.out" >&2
else
	ok
fi
# The summary agrees with the per-line output, tuple by tuple.
cut -f2,3,6 "$tmp/maillog.out" |
    awk -F '\t' '{ n[$3 "\t" $1 "\t" $2]++ }
	END { for (k in n) print n[k] "\t" k }' | sort >"$tmp/tally.want"
sort "$tmp/summary.out" >"$tmp/tally.got"
if ! diff -u "$tmp/tally.want" "$tmp/tally.got" >"$tmp/diff"; then
	fail "classify --summary: counts differ from the per-line output:"
	cat "$tmp/diff" >&2
else
	ok
fi

# Sorted by count, largest first.
if ! cut -f1 "$tmp/summary.out" | sort -rn -c 2>/dev/null; then
	fail "classify --summary: not sorted by count"
else
	ok
fi

# --- --maillog: a deferral never suppresses ---------------------------

# OpenSMTPD logs its own "No MX found for domain" as a TempFail: the
# words are those of a domain that takes no mail, the line a deferral.
cat >"$tmp/defer.log" <<'EOF'
Nov 25 10:04:01 mta smtpd[4410]: 0000000000000000 mta delivery evpid=77ed6c60e9ecbd40 from=<news@example.net> to=<ann@nomx.example> rcpt=<-> source="-" relay="nomx.example" delay=0s result="TempFail" stat="No MX found for domain"
Nov 25 10:04:02 mta smtpd[4410]: 0000000000000000 mta delivery evpid=77ed6c60e9ecbd41 from=<news@example.net> to=<bob@nomx.example> rcpt=<-> source="-" relay="nomx.example" delay=0s result="PermFail" stat="No MX found for domain"
EOF
ctl classify -r "$BOUNCER_RULES" --maillog "$tmp/defer.log" 2>&1 |
    cut -f1-4 >"$tmp/defer.out"
printf 'ann@nomx.example\tnotaccept\tretry\t4.0.932\n%s\n' \
    'bob@nomx.example	notaccept	suppress	5.0.932' >"$tmp/defer.want"
if ! diff -u "$tmp/defer.want" "$tmp/defer.out" >"$tmp/diff"; then
	fail "classify --maillog: a deferral suppressed:"; cat "$tmp/diff" >&2
else
	ok
fi

# --- --json: one valid JSON object per line ----------------------------

if command -v python3 >/dev/null 2>&1; then
	ctl classify -r "$BOUNCER_RULES" --json <"$DATA/classify.in" \
	    >"$tmp/json.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "classify --json: exit $rc"; cat "$tmp/json.out" >&2
	elif ! python3 -c '
import json, sys
want = ["recipient", "reason", "decision", "status", "code", "provider",
    "rule", "details"]
tsv = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
n = 0
for n, line in enumerate(open(sys.argv[1]), 1):
    o = json.loads(line)
    if sorted(o) != sorted(want):
        sys.exit("line %d: keys %s" % (n, sorted(o)))
    t = tsv[n - 1]
    dec = ",".join(o["decision"]) or "none"
    if [o["recipient"], o["reason"], dec] != t[0:3]:
        sys.exit("line %d: %s %s %s, TSV says %s" % (n, o["recipient"],
            o["reason"], dec, t[0:3]))
    if not isinstance(o["details"], dict):
        sys.exit("line %d: details is not an object" % n)
if n != len(tsv):
    sys.exit("%d JSON lines for %d TSV lines" % (n, len(tsv)))
' "$tmp/json.out" "$tmp/classify.out" 2>"$tmp/json.err"; then
		fail "classify --json: $(cat "$tmp/json.err")"
	else
		ok
	fi
	ctl classify -r "$BOUNCER_RULES" --json --maillog \
	    "$DATA/sample.maillog" >"$tmp/json2.out" 2>&1
	if ! python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
for l in lines:
    json.loads(l)
want = int(sys.argv[2])
if len(lines) != want:
    sys.exit("%d lines, want %d" % (len(lines), want))
' "$tmp/json2.out" "$(wc -l <"$tmp/want.rcpts")" 2>"$tmp/json.err"; then
		fail "classify --json --maillog: $(cat "$tmp/json.err")"
	else
		ok
	fi
else
	echo "SKIP: no python3, --json output not checked" >&2
fi

# --- bad input: one output line each, and a message with the line ------

{
	printf 'good@example.org\t550 5.1.1 User unknown\n'
	printf 'no tab on this line\n'
	printf 'good2@example.org\t550 5.1.1 User unknown\n'
	printf 'long@example.org\t550 '
	awk 'BEGIN { for (i = 0; i < 7000; i++) printf "0123456789" }'
	printf '\n'
	printf 'bad@example.org\t550 \377\376 not UTF-8\n'
	printf 'last@example.org\t452 4.2.2 Mailbox full\n'
} >"$tmp/bad.in"
ctl classify -r "$BOUNCER_RULES" <"$tmp/bad.in" >"$tmp/bad.out" \
    2>"$tmp/bad.err"
rc=$?
nout=$(wc -l <"$tmp/bad.out" | tr -d ' ')
if [ $rc -ne 0 ]; then
	fail "bad input: exit $rc, want 0"
fi
if [ "$nout" -ne 6 ]; then
	fail "bad input: $nout output lines, want 6"; cat "$tmp/bad.out" >&2
else
	ok
fi
check_bad() {	# line-number error-word
	line=$(sed -n "$1p" "$tmp/bad.out")
	case "$line" in
	*"error=$2"*) ok ;;
	*) fail "bad input line $1: want error=$2, got: $line" ;;
	esac
	if grep -q "stdin:$1:" "$tmp/bad.err"; then
		ok
	else
		fail "bad input line $1: no \"stdin:$1:\" on stderr:"
		cat "$tmp/bad.err" >&2
	fi
}
check_bad 2 no-tab
check_bad 4 too-long
check_bad 5 invalid-utf8
for n in 1 3 6; do
	line=$(sed -n "${n}p" "$tmp/bad.out")
	case "$line" in
	*error=*) fail "bad input: good line $n got an error: $line" ;;
	*) ok ;;
	esac
done
if [ "$(wc -l <"$tmp/bad.err" | tr -d ' ')" -ne 3 ]; then
	fail "bad input: want 3 lines on stderr:"; cat "$tmp/bad.err" >&2
else
	ok
fi
# The same in JSON: still one line each, and valid.
if command -v python3 >/dev/null 2>&1; then
	ctl classify -r "$BOUNCER_RULES" --json <"$tmp/bad.in" \
	    >"$tmp/badj.out" 2>/dev/null
	if ! python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
objs = [json.loads(l) for l in lines]
if len(objs) != 6:
    sys.exit("%d lines, want 6" % len(objs))
errs = [o["details"].get("error") for o in objs]
if errs != [None, "no-tab", None, "too-long", "invalid-utf8", None]:
    sys.exit("errors %s" % errs)
' "$tmp/badj.out" 2>"$tmp/json.err"; then
		fail "bad input --json: $(cat "$tmp/json.err")"
	else
		ok
	fi
fi

# --- exit codes ---------------------------------------------------------

expect_rc() {	# want-rc description command...
	want=$1
	what=$2
	shift 2
	"$@" </dev/null >"$tmp/rc.out" 2>"$tmp/rc.err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$what: exit $got, want $want"
		cat "$tmp/rc.err" >&2
	else
		ok
	fi
}

expect_rc 0 "classify, empty input" ctl classify -r "$BOUNCER_RULES"
expect_rc 0 "--version" ctl --version
expect_rc 1 "no command" ctl
expect_rc 1 "unknown command" ctl frobnicate
expect_rc 1 "unknown classify option" ctl classify -r "$BOUNCER_RULES" --bogus
expect_rc 1 "--summary without --maillog" \
    ctl classify -r "$BOUNCER_RULES" --summary
expect_rc 1 "rules without subcommand" ctl rules
expect_rc 1 "unknown rules subcommand" ctl rules frob -r "$BOUNCER_RULES"
expect_rc 1 "unknown rules option" ctl rules list --bogus
expect_rc 2 "missing rules dir" ctl classify -r "$tmp/nonexistent"

mkdir "$tmp/broken"
cat >"$tmp/broken/broken.rules" <<'EOF'
provider broken
domain broken.example
rule bad-pattern
	match	unclosed (group
	reason	userunknown
	decision suppress
EOF
expect_rc 2 "broken rules dir" ctl classify -r "$tmp/broken"
if grep -qF "$tmp/broken/broken.rules:4: " "$tmp/rc.err"; then
	ok
else
	fail "broken rules dir: no \"$tmp/broken/broken.rules:4:\" on stderr:"
	cat "$tmp/rc.err" >&2
fi
if [ -s "$tmp/rc.out" ]; then
	fail "broken rules dir: output on stdout"; cat "$tmp/rc.out" >&2
fi
expect_rc 2 "rules test on a broken dir" ctl rules test -r "$tmp/broken"
expect_rc 2 "rules list on a broken dir" ctl rules list -r "$tmp/broken"

# A test vector that fails: rules test exits 1 and names it.
mkdir "$tmp/failing"
cat >"$tmp/failing/f.rules" <<'EOF'
provider f
domain f.example
rule nouser
	match	no such user
	reason	userunknown
	decision suppress
	test	550 5.1.1 No such user => userunknown suppress
	test	550 5.1.1 No such user => mailboxfull retry
EOF
expect_rc 1 "rules test with a failing vector" ctl rules test -r "$tmp/failing"
if grep -qF "$tmp/failing/f.rules:8: " "$tmp/rc.out"; then
	ok
else
	fail "rules test: failing vector f.rules:8 not named:"
	cat "$tmp/rc.out" "$tmp/rc.err" >&2
fi

# --- rules test and rules list on the real rules -------------------------

expect_rc 0 "rules test on $BOUNCER_RULES" ctl rules test -r "$BOUNCER_RULES"
if [ "$got" -ne 0 ]; then
	cat "$tmp/rc.out" >&2
fi

ctl rules list -r "$BOUNCER_RULES" >"$tmp/list.out" 2>"$tmp/list.err"
rc=$?
nrules=$(cat "$BOUNCER_RULES"/*.rules | grep -c '^[[:space:]]*rule[[:space:]]')
nlist=$(wc -l <"$tmp/list.out" | tr -d ' ')
if [ $rc -ne 0 ]; then
	fail "rules list: exit $rc"; cat "$tmp/list.err" >&2
elif [ "$nlist" -ne "$nrules" ] || [ "$nlist" -eq 0 ]; then
	fail "rules list: $nlist lines for $nrules rules"
elif ! awk -F '\t' 'NF != 5 || $1 !~ /\.rules:[0-9]+$/ { print; exit 1 }' \
    "$tmp/list.out" >"$tmp/diff"; then
	fail "rules list: want file:line<TAB>provider<TAB>name<TAB>reason" \
	    "<TAB>decision, got: $(cat "$tmp/diff")"
else
	ok
fi
# Each listed rule is where the list says it is.
bad=$(awk -F '\t' '{ split($1, a, ":"); print a[1], a[2], $3 }' \
    "$tmp/list.out" | while read -r file line name; do
	got=$(sed -n "${line}p" "$BOUNCER_RULES/$file" |
	    awk '{ print $1, $2 }')
	[ "$got" = "rule $name" ] || echo "$file:$line: $got, want rule $name"
done)
if [ -n "$bad" ]; then
	fail "rules list: positions wrong: $bad"
else
	ok
fi

ctl rules list -r "$BOUNCER_RULES" --maillog "$DATA/sample.maillog" \
    >"$tmp/hits.out" 2>&1
hits=$(awk -F '\t' '{ n += $NF } END { print n + 0 }' "$tmp/hits.out")
if [ "$hits" -ne "$ngot" ]; then
	fail "rules list --maillog: $hits hits, want $ngot"
	cat "$tmp/hits.out" >&2
else
	ok
fi

# --- -x: leave a rule file or one rule out ------------------------------

# Two providers: a file owning lofo.example, and a generic file with a
# specific rule before a general one. Leaving the file out hands its
# domain to the generic rules; leaving a rule out hands its replies to
# the next rule; each left-out rule takes its test vectors with it.
mkdir "$tmp/without"
cat >"$tmp/without/own.rules" <<'EOF'
provider own
domain lofo.example
rule own-nouser
	match	no such user here
	reason	userunknown
	decision suppress
	test	550 5.1.1 No such user here => userunknown suppress
EOF
cat >"$tmp/without/zz-generic.rules" <<'EOF'
provider generic
rule vendor-full
	match	frobmail quota exhausted
	reason	mailboxfull
	decision retry
	test	<a@example.net> 552 frobmail quota exhausted => mailboxfull retry
rule code-55x
	code	55x
	reason	onhold
	decision none
	test	<a@example.net> 550 nothing said => onhold none
EOF
printf 'a@lofo.example\t550 5.1.1 No such user here\n%s\n' \
    'b@example.net	552 frobmail quota exhausted' >"$tmp/without.in"
without_case() {	# description want-output -x args...
	what=$1
	want=$2
	shift 2
	got=$(ctl classify -r "$tmp/without" "$@" <"$tmp/without.in" 2>&1 |
	    cut -f1,2,6,7 | tr '\t\n' ' ,')
	if [ "$got" = "$want" ]; then
		ok
	else
		fail "classify $what: got \"$got\", want \"$want\""
	fi
}
a_own="a@lofo.example userunknown own own.rules:3,"
a_gen="a@lofo.example onhold - zz-generic.rules:7,"
b_own="b@example.net mailboxfull - zz-generic.rules:2,"
b_gen="b@example.net onhold - zz-generic.rules:7,"
without_case "with all rules" "$a_own$b_own"
without_case "-x own.rules" "$a_gen$b_own" -x own.rules
without_case "--without=generic:vendor-full" "$a_own$b_gen" \
    --without=generic:vendor-full
without_case "-x both" "$a_gen$b_gen" -x generic:vendor-full -x own.rules
expect_rc 0 "rules test -x own.rules -x generic:vendor-full" \
    ctl rules test -r "$tmp/without" -x own.rules -x generic:vendor-full
if grep -q ' 0 of 1 test vectors' "$tmp/rc.err"; then
	ok
else
	fail "rules test -x: the left-out rules' vectors still run:"
	cat "$tmp/rc.err" >&2
fi
expect_rc 0 "rules list -x generic:vendor-full" \
    ctl rules list -r "$tmp/without" -x generic:vendor-full
got=$(cut -f3 "$tmp/rc.out" | tr '\n' ' ')
if [ "$got" = "own-nouser code-55x " ]; then
	ok
else
	fail "rules list -x generic:vendor-full: got \"$got\""
fi
# A name that matches nothing refuses the set, as a bad rule does.
for x in nosuch.rules generic:nosuch own:vendor-full own; do
	expect_rc 2 "-x $x" ctl classify -r "$tmp/without" -x "$x"
	if grep -q "^without $x: " "$tmp/rc.err"; then
		ok
	else
		fail "-x $x: no \"without $x:\" on stderr:"
		cat "$tmp/rc.err" >&2
	fi
done
expect_rc 1 "-x without its argument" ctl classify -r "$tmp/without" -x
# The real rules without generic.rules: the providers' rules only.
expect_rc 0 "rules list -x generic.rules" \
    ctl rules list -r "$BOUNCER_RULES" -x generic.rules
if [ ! -s "$tmp/rc.out" ] || cut -f2 "$tmp/rc.out" | grep -qx generic; then
	fail "rules list -x generic.rules: generic rules listed, or none"
else
	ok
fi

# --- done ---------------------------------------------------------------

echo "bouncerctl.sh: $passed passed, $failed failed"
[ $failed -eq 0 ]
