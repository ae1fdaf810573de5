#!/bin/sh
# rules-local.sh -- the operator's own rules (rules_local_dir, -l DIR)
#
# A local directory holds a gmail.rules that replaces the stock one (it
# retries instead of suppressing an unknown user) and a file of a new
# provider. Checked: bouncerctl classify, classify --maillog,
# classify-mail, rules list, rules test (stock vectors of the replaced
# file reported as overridden, not failed), ingest --maillog, errors
# that name the file by its full path, -x, and bouncerd: a broken local
# file stops the start, the local rules count in the set, and SIGHUP
# reads the local directory again.
#
# Run by "make check"; by hand: sh t/rules-local.sh (in the build tree).
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/t/lib/sh.sh"
t_tmp bouncer-rules-local PID
trap 'exit 2' HUP INT TERM

# The sample maillog is from 2026-11-25 10:02-10:04; the clock stands at
# 10:05 UTC that day.
TZ=UTC
BOUNCER_NOW=1795601100
export TZ BOUNCER_NOW

# run NAME WANT-EXIT COMMAND...: output in $T/out and $T/err
run() {
	name=$1 want=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -eq "$want" ] && return 0
	bad "$name: exit $rc, want $want"
	cat "$T/out" "$T/err"
	return 1
}

# has NAME FILE STRING: FILE has a line with STRING (fixed, not a regex)
has() {
	if grep -qF -- "$3" "$2"; then
		ok
	else
		bad "$1: no \"$3\" in:"
		cat "$2"
	fi
}

# hasnt NAME FILE STRING
hasnt() {
	if grep -qF -- "$3" "$2"; then
		bad "$1: \"$3\" in:"
		cat "$2"
	else
		ok
	fi
}

L=$T/local
mkdir "$L"
cat >"$L/gmail.rules" <<'EOF'
# This site retries unknown Gmail users for a while.
provider gmail
domain gmail.com googlemail.com
mx *.google.com *.googlemail.com

rule nosuchuser-retry
	match	tried to reach does not exist|p=NoSuchUser
	reason	userunknown
	decision retry
	test	550 5.1.1 The email account that you tried to reach does not exist => userunknown retry
EOF
cat >"$L/corp.rules" <<'EOF'
provider corp
domain mycorp.example

rule archive-only
	match	mailbox is archive-only
	reason	suspend
	decision suppress
	test	550 5.2.1 mailbox is archive-only => suspend suppress
EOF
GONE='550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking'
printf 'a@gmail.com\t%s\nb@mycorp.example\t550 5.2.1 mailbox is archive-only\n' \
    "$GONE" >"$T/replies"

# --- classify ---------------------------------------------------------

run "classify, stock only" 0 "$CTL" classify -r "$RULES" <"$T/replies" &&
    has "stock rules suppress" "$T/out" \
	"a@gmail.com	userunknown	suppress	"
run "classify -l" 0 "$CTL" classify -r "$RULES" -l "$L" <"$T/replies" && {
	has "local gmail.rules replaces the stock one" "$T/out" \
	    "a@gmail.com	userunknown	retry	5.1.1	550	gmail	gmail.rules:6	"
	has "local provider" "$T/out" \
	    "b@mycorp.example	suspend	suppress	5.2.1	550	corp	corp.rules:4	"
}
run "classify -l ''" 0 "$CTL" classify -r "$RULES" -l '' <"$T/replies" &&
    has "an empty -l reads no local rules" "$T/out" \
	"a@gmail.com	userunknown	suppress	"
run "config rules_local_dir" 0 "$CTL" -c /dev/null config rules_local_dir &&
    has "rules_local_dir's default" "$T/out" "rules_local_dir = /"
run "classify --maillog -l" 0 "$CTL" classify -r "$RULES" -l "$L" \
    --maillog "$SRC/t/data/sample.maillog" &&
    has "maillog through local rules" "$T/out" \
	"old.friend@gmail.com	userunknown	retry	"

# --- classify-mail ----------------------------------------------------

cat >"$T/bounce.eml" <<'EOF'
From: MAILER-DAEMON@mta.example.org (Mail Delivery System)
To: sender@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mta.example.org.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mta.example.org

Final-Recipient: rfc822; gone@gmail.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach
    does not exist. Please try 550-5.1.1 double-checking the recipient's
    email address https://support.google.com/mail/?p=NoSuchUser - gsmtp

--B--
EOF
run "classify-mail -l" 0 "$CTL" classify-mail -r "$RULES" -l "$L" \
    "$T/bounce.eml" && has "bounce through local rules" "$T/out" \
	"	retry	gmail.rules:6"

# --- rules list and rules test ----------------------------------------

run "rules list -l" 0 "$CTL" rules list -r "$RULES" -l "$L" && {
	# Local files first, in name order; no stock Gmail rule is left.
	if head -n 1 "$T/out" | grep -q '^corp.rules:4	corp	archive-only	'; then
		ok
	else
		bad "rules list: local rules not first:"; head -n 3 "$T/out"
	fi
	hasnt "rules list: the stock gmail rules are gone" "$T/out" \
	    "	gmail	disabled	"
}
run "rules test -l" 0 "$CTL" rules test -r "$RULES" -l "$L" && {
	has "stock vectors reported as overridden" "$T/out" \
	    "$RULES/gmail.rules:22: overridden by $L/gmail.rules: want userunknown suppress, got userunknown retry"
	has "rules test: none failed" "$T/err" "bouncerctl: 0 of "
	has "rules test: overridden counted" "$T/err" \
	    "test vectors of overridden stock files"
}
cp -R "$L" "$T/failing"
echo '	test	550 5.2.1 mailbox is archive-only => userunknown retry' \
    >>"$T/failing/corp.rules"
run "rules test -l, a local vector fails" 1 "$CTL" rules test -r "$RULES" \
    -l "$T/failing" &&
    has "failing local vector named by path" "$T/out" \
	"$T/failing/corp.rules:9: want userunknown retry, got suspend suppress"

# -x leaves out a file of that name in both directories.
run "classify -l -x gmail.rules" 0 "$CTL" classify -r "$RULES" -l "$L" \
    -x gmail.rules <"$T/replies" &&
    hasnt "-x leaves out the local and stock gmail.rules" "$T/out" \
	"	gmail	gmail.rules"

# --- errors -----------------------------------------------------------

mkdir "$T/broken"
printf 'provider broken\nrule r\n\tmatch\t(unclosed\n\treason\tuserunknown\n\tdecision\tsuppress\n' \
    >"$T/broken/broken.rules"
run "classify -l broken" 2 "$CTL" classify -r "$RULES" -l "$T/broken" \
    </dev/null && has "error names the full path and line" "$T/err" \
	"$T/broken/broken.rules:3: bad pattern"
run "classify -l missing" 2 "$CTL" classify -r "$RULES" -l "$T/nonexistent" \
    </dev/null && has "missing -l directory" "$T/err" \
	"-l $T/nonexistent: No such file or directory"

# --- ingest -----------------------------------------------------------

DB=sqlite:$T/state.db
run "ingest --maillog -l" 0 "$CTL" -c /dev/null -s "$DB" \
    -o rules_dir="$RULES" ingest --maillog -l "$L" \
    "$SRC/t/data/sample.maillog" &&
run "query after ingest -l" 0 "$CTL" -c /dev/null -s "$DB" \
    query old.friend@gmail.com && {
	# Retried, not suppressed: a 5xx in back-off is deferred.
	hasnt "ingest -l: not suppressed" "$T/out" "old.friend@gmail.com	550"
	has "ingest -l: in back-off" "$T/out" "recipient in back-off"
}

# --- bouncerd ---------------------------------------------------------

MPORT=$(free_port)
start() {
	"$BOUNCERD" -f -c /dev/null -o user= -o store=sqlite:$T/d.db \
	    -o rules_dir="$RULES" -o rules_local_dir="$1" -o state_dir=$T \
	    -o socket_group="$(id -gn)" -o policy_listen=unix:$T/policy.sock \
	    -o metrics_listen=127.0.0.1:$MPORT 2>>"$T/bouncerd.log" &
	PID=$!
}
# How many rules the running daemon has, from /status.
cat >"$T/nrules.py" <<'EOF'
import sys, urllib.request
s = urllib.request.urlopen("http://127.0.0.1:%s/status" % sys.argv[1],
                           timeout=5).read().decode()
print([l[6:] for l in s.splitlines() if l.startswith("rules=")][0])
EOF
nrules() { $PY "$T/nrules.py" "$MPORT"; }

start "$T/broken"
if wait_for 30 sh -c "! kill -0 $PID"; then
	wait "$PID"
	PID=
	has "bouncerd: broken local file named" "$T/bouncerd.log" \
	    "$T/broken/broken.rules:3: bad pattern"
else
	bad "bouncerd started with a broken local rule file"
fi

stock=$("$CTL" rules list -r "$RULES" | wc -l)
start "$L"
if wait_for 30 nrules; then
	n=$(nrules)
	# gmail.rules replaced by one rule, corp.rules adds one.
	want=$((stock - $(grep -c '^rule' "$RULES/gmail.rules") + 2))
	if [ "$n" -eq "$want" ]; then ok; else
		bad "bouncerd: $n rules with the local ones, want $want"; fi
	cp "$T/broken/broken.rules" "$L/"
	sed -i 's/(unclosed/unclosed/' "$L/broken.rules"
	kill -HUP "$PID"
	if wait_for 30 sh -c "[ \"\$($PY $T/nrules.py $MPORT)\" = $((want + 1)) ]"
	then
		ok
	else
		bad "bouncerd: SIGHUP did not read the new local file"
		cat "$T/bouncerd.log"
	fi
else
	bad "bouncerd did not start with local rules"
	cat "$T/bouncerd.log"
fi

echo "rules-local.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
