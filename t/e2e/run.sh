#!/bin/bash
# run.sh -- bouncer end to end: real Postfix, scripted providers, bouncerd
#
# usage: t/e2e/run.sh [SCENARIO ...]      (numbers 1-11; default: all)
#
# Scenarios 1-8: suppression, retry, blocklist alert, throttling, bounces
# through the milter, fail open, a fleet on Redis, the Sendmail path; 9 checks
# sendmail(1) mail and the milter's RCPT check; 10, that forged bounces and
# complaints (sendmail -f '', or quoting a real Message-ID) change nothing;
# 11, that bouncer's own answers, logged back by Postfix's retry transport
# when the socketmap is in use, are never evidence.
#
# Each scenario builds its own site in a temporary directory (t/e2e/lib.sh):
# a private Postfix on 127.0.0.1 relaying to a scripted provider
# (t/e2e/provider.py) that answers as Gmail, Outlook and iCloud do, and
# bouncerd following that Postfix's log, answering its policy lookups and
# seeing its bounces through the milter. Mail goes in with swaks (or
# sendmail(1)); the checks read the SMTP replies, Postfix's log, the
# provider's log, bouncerd's log, /metrics, the alert hook's output and
# the store (bouncerctl). Each scenario prints PASS or FAIL; the exit
# status is 1 if any failed. Needs root (the Postfix master runs as
# root); without root or the packages it prints SKIP and exits 0.
#
# Environment: KEEP=1 keeps the temporary directory; VERBOSE=1 prints the
# logs of a failed scenario in full.

# make check runs t/*.sh and friends with sh; this needs bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

miss=$(e2e_requirements)
if [ -n "$miss" ]; then
	echo "e2e: SKIP: missing $miss (scripts/setup-deps; run as root)"
	exit 0
fi
e2e_setup bouncer-e2e

SENDER=sender@example.net
GMAIL_550='550-5.1.1 The email account that you tried to reach does not exist. Please try
    550-5.1.1 double-checking the recipient'"'"'s email address for typos or
    550-5.1.1 unnecessary spaces. Learn more at
    550 5.1.1  https://support.google.com/mail/?p=NoSuchUser r15-v6si2979172pgf.403 - gsmtp'
GMAIL_452='452-4.2.2 The email account that you tried to reach is over quota. Please direct
    452-4.2.2 the recipient to
    452 4.2.2  https://support.google.com/mail/?p=OverQuotaTemp x74si3925543pgx.490 - gsmtp'
GMAIL_421='421-4.7.0 [192.0.2.1      15] Our system has detected an unusual rate of
    421-4.7.0 unsolicited mail originating from your IP address. To protect our
    421-4.7.0 users from spam, mail sent from your IP address has been temporarily
    421-4.7.0 rate limited. Please visit
    421-4.7.0  https://support.google.com/mail/?p=UnsolicitedRateLimitError to
    421 4.7.0 review our Bulk Email Senders Guidelines. a1-20020a17090a3e8400si1.123 - gsmtp'
OUTLOOK_451='451 4.7.500 Server busy. Please try again later from [192.0.2.12]. (S77714) [Name=Protocol Filter Agent][AGT=PFA][MxId=11BA9CD5A4E2E5B1] [DM6NAM12FT010.eop-nam12.prod.protection.outlook.com]'
OUTLOOK_SPAMHAUS='550 5.7.1 Service unavailable, Client host [192.0.2.12] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/192.0.2.12 AS(1450) [BN8NAM11FT066.eop-nam11.prod.protection.outlook.com]'
ICLOUD_PROOFPOINT='550 5.7.0 Blocked - see https://support.proofpoint.com/dnsbl-lookup.cgi?ip=192.0.2.12'
ICLOUD_550='550 5.1.1 <rcpt>: user does not exist'

# --- the harness of checks ----------------------------------------------

FAILED=()		# scenarios that failed
PROBLEMS=()		# what went wrong in the current scenario
SITES=()		# sites of the current scenario, torn down after it

# expect WHAT CMD...: CMD must succeed.
expect() {
	local what=$1
	shift
	"$@" >/dev/null 2>&1 || PROBLEMS+=("$what")
}
# await SECONDS WHAT CMD...: CMD must come true within SECONDS.
await() {
	wait_for "$@" 2>/dev/null || PROBLEMS+=("$2 (not within $1 s)")
}
# must SECONDS WHAT CMD...: as await, but nothing after it makes sense
# without it: the scenario stops here.
must() {
	wait_for "$@" 2>/dev/null && return 0
	PROBLEMS+=("$2 (not within $1 s)")
	return 1
}

# site NAME [bouncerd -o ...]: a fresh site with its provider (replies
# from stdin), bouncerd and Postfix (POLICY, MILTER as in pf_start).
# Ports are free when chosen, but another program may take one before
# our servers bind it: then the site starts again on new ports.
site() {
	local d=$T/$1 try replies
	shift
	replies=$(cat)
	SITES+=("$d")
	for try in 1 2 3; do
		site_init "$d"
		printf '%s\n' "$replies" >"$d/replies"
		if provider_start "$d" && bouncerd_start "$d" "$@" &&
		    pf_start "$d"; then
			return 0
		fi
		pf_stop "$d"
		stop_pids "$(cat "$d/bouncerd.pid" 2>/dev/null)" \
		    "$(cat "$d/provider.pid" 2>/dev/null)"
		e2e_say "site $(basename "$d"): start $try failed; new ports"
		rm -rf "$d"
	done
	PROBLEMS+=("site $(basename "$d") did not start")
	return 1
}

# site_down D...: asks everything of these sites to stop, and goes on:
# bouncerd takes up to 5 s to leave (libmilter looks at its stop flag
# every 5 s), which the next scenario need not wait for. e2e_cleanup
# waits for them all at the end, and kills what is left.
site_down() {
	local d pid
	for d in "$@"; do
		pid=$(pf_master "$d")
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
		for pid in "$d/bouncerd.pid" "$d/provider.pid"; do
			[ -f "$pid" ] && kill -TERM "$(cat "$pid")" 2>/dev/null
		done
	done
}

# run N TITLE FUNCTION: one scenario, PASS or FAIL with what went wrong.
run() {
	local n=$1 title=$2 fn=$3 t0 dt d p
	PROBLEMS=()
	SITES=()
	t0=$(date +%s%N)
	"$fn" || [ ${#PROBLEMS[@]} -gt 0 ] || PROBLEMS+=("stopped early")
	dt=$((($(date +%s%N) - t0) / 10000000))
	dt=$(printf '%d.%02d' $((dt / 100)) $((dt % 100)))
	if [ ${#PROBLEMS[@]} = 0 ]; then
		echo "PASS $n $title (${dt}s)"
	else
		echo "FAIL $n $title (${dt}s)"
		FAILED+=("$n")
		for p in "${PROBLEMS[@]}"; do echo "     - $p"; done
		for d in "${SITES[@]}"; do report_site "$d"; done
	fi
	site_down "${SITES[@]}"
}

# report_site D: the end of each log of a failed scenario's site.
report_site() {
	local d=$1 f n=15
	[ "${VERBOSE:-0}" = 1 ] && n=1000
	for f in pf/maillog bouncerd.log provider.log alerts; do
		[ -s "$d/$f" ] || continue
		echo "     --- $(basename "$d")/$f"
		tail -n $n "$d/$f" | sed 's/^/     | /'
	done
}

# Helpers on one site.
ML() { echo "$1/pf/maillog"; }
# decided D RCPT ERE: bouncerd logged a decision for RCPT matching ERE.
decided() { has "$1/bouncerd.log" "rcpt=<$2> .*$3"; }
decisions() { count "$1/bouncerd.log" "rcpt=<$2> reason="; }
# caught_up D: bouncerd has read every line now in the site's maillog.
caught_up() {
	local n
	n=$(wc -l <"$(ML "$1")")
	[ "$(metric "$1" bouncer_log_lines_total)" -ge "$n" ]
}
# refused OUT RCPT CODE ERE: in the swaks transcript OUT, RCPT TO:<RCPT>
# got CODE (e.g. "550 5\.1\.1") with text matching ERE. Postfix puts
# "<rcpt>: Recipient address rejected: " before a policy server's text,
# not before a milter's.
refused() {
	grep -A1 -F -- "-> RCPT TO:<$2>" "$1" | grep -qE -- "^ *<\*\* $3 .*$4"
}
# reply_to OUT RCPT: what swaks got for RCPT TO:<RCPT>.
reply_to() {
	grep -A1 -F -- "-> RCPT TO:<$2>" "$1" | sed -n '2s/^ *//p'
}
# accepted OUT RCPT: swaks got 250 for RCPT TO:<RCPT>.
accepted() {
	grep -A1 -F -- "-> RCPT TO:<$2>" "$1" | grep -qE '^ *<- +250 '
}
sent() { maillog_status "$1" "$2" sent; }
# provider_rcpts D RCPT: how many times the provider saw RCPT TO for it.
provider_rcpts() { count "$1/provider.log" "RCPT <$2> "; }
answer() { policy "$1" "$2" | head -n 1; }

# --- 1 ---------------------------------------------------------------------

s1_unknown_user() {
	local d=$T/s1
	site s1 <<EOF || return 1
nosuchuser@gmail.com
    $GMAIL_550
EOF
	send "$d" "$d/m1.out" $SENDER nosuchuser@gmail.com,friend@gmail.com,ok@example.com
	must 20 "nosuchuser@gmail.com bounced with Gmail's 550-5.1.1" \
	    has "$(ML "$d")" 'to=<nosuchuser@gmail.com>, .*dsn=5\.1\.1, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550-5\.1\.1 The email account' ||
	    return 1
	must 10 "bouncerd recorded userunknown/suppress" \
	    decided "$d" nosuchuser@gmail.com 'reason=userunknown action=suppress .*state=suppressed' ||
	    return 1
	expect "the store says suppressed/userunknown" \
	    sh -c "'$BOUNCERCTL' -s sqlite:$d/state.db query nosuchuser@gmail.com | grep -q 'state=suppressed reason=userunknown'"
	expect "friend@gmail.com is untouched" \
	    sh -c "'$BOUNCERCTL' -s sqlite:$d/state.db query friend@gmail.com | grep -q '	DUNNO	'"

	# The next message: nosuchuser is refused at RCPT, the others go.
	send "$d" "$d/m2.out" $SENDER nosuchuser@gmail.com,friend2@gmail.com,ok2@example.com
	expect "RCPT TO:<nosuchuser@gmail.com> refused with 550 5.1.1 (got: $(reply_to "$d/m2.out" nosuchuser@gmail.com))" \
	    refused "$d/m2.out" nosuchuser@gmail.com '550 5\.1\.1' 'Recipient address rejected: .*suppressed'
	expect "the refusal came from the policy server (smtpd NOQUEUE reject)" \
	    has "$(ML "$d")" 'NOQUEUE: reject: RCPT from .*: 5[0-9][0-9] 5\.1\.1 <nosuchuser@gmail\.com>: Recipient address rejected: bouncer: recipient suppressed'
	expect "friend2@gmail.com accepted at RCPT" accepted "$d/m2.out" friend2@gmail.com
	await 20 "friend2@gmail.com delivered" sent "$d" friend2@gmail.com
	await 20 "ok2@example.com delivered" sent "$d" ok2@example.com
	expect "the provider saw nosuchuser@gmail.com only once" \
	    test "$(provider_rcpts "$d" nosuchuser@gmail.com)" = 1
	expect "one decision for nosuchuser@gmail.com (log and milter together)" \
	    test "$(decisions "$d" nosuchuser@gmail.com)" = 1
}

# --- 2 ---------------------------------------------------------------------

s2_mailbox_full() {
	local d=$T/s2 n i
	site s2 -o mailboxfull_escalate_count=3 -o mailboxfull_escalate_period=0 <<EOF || return 1
overquota@gmail.com
    $GMAIL_452
EOF
	send "$d" "$d/m1.out" $SENDER overquota@gmail.com,pal@example.com
	must 20 "overquota@gmail.com deferred with 452-4.2.2" \
	    has "$(ML "$d")" 'to=<overquota@gmail.com>, .*dsn=4\.2\.2, status=deferred \(host .* said: 452-4\.2\.2' ||
	    return 1
	must 10 "policy answers DEFER_IF_PERMIT 4.2.2 for overquota@gmail.com" \
	    policy_is "$d" overquota@gmail.com '^DEFER_IF_PERMIT 4\.2\.2 ' || return 1
	expect "the store says deferred/mailboxfull, not suppressed" \
	    sh -c "'$BOUNCERCTL' -s sqlite:$d/state.db query overquota@gmail.com | grep -q 'state=deferred reason=mailboxfull'"

	# A new message meets the back-off at RCPT (450), the rest goes.
	send "$d" "$d/m2.out" $SENDER overquota@gmail.com,pal2@example.com
	expect "RCPT TO:<overquota@gmail.com> deferred with 450 4.2.2" \
	    refused "$d/m2.out" overquota@gmail.com '450 4\.2\.2' 'mailboxfull'
	await 20 "pal2@example.com delivered" sent "$d" pal2@example.com

	# The provider accepts again; the queued message goes; back-off ends.
	# Postfix retries minutes later; the flush waits for the next second
	# at least, as the log's timestamps have whole seconds and bouncerd
	# tells two attempts of one message apart by them.
	replies_set "$d" </dev/null
	after_log_second "$(ML "$d")" 'to=<overquota@gmail.com>, .*status=deferred'
	pf_flush "$d"
	must 30 "queued mail to overquota@gmail.com delivered once accepted" \
	    sent "$d" overquota@gmail.com || return 1
	must 10 "the success reset overquota@gmail.com (DUNNO)" \
	    policy_is "$d" overquota@gmail.com '^DUNNO$' || return 1

	# Over quota again, for longer: a new message meets the 452, then
	# Postfix's retries of that queue file do (flushed, one a second, as
	# if minutes apart). They are the same answer to the same message
	# while its back-off runs: the back-off stays what the first set.
	replies_set "$d" <<EOF
overquota@gmail.com
    $GMAIL_452
EOF
	n=$(count "$(ML "$d")" 'to=<overquota@gmail.com>, .*status=deferred')
	send "$d" "$d/m3.out" $SENDER overquota@gmail.com
	expect "a new message to overquota@gmail.com accepted after the reset" \
	    accepted "$d/m3.out" overquota@gmail.com
	must 20 "over quota again" test_ge "count '$(ML "$d")' 'to=<overquota@gmail.com>, .*status=deferred'" $((n + 1)) ||
	    return 1
	must 10 "back-off again" policy_is "$d" overquota@gmail.com '^DEFER_IF_PERMIT 4\.2\.2 ' ||
	    return 1
	for i in 2 3; do
		after_log_second "$(ML "$d")" 'to=<overquota@gmail.com>, .*status=deferred'
		pf_flush "$d"
		must 20 "over-quota retry $i" \
		    test_ge "count '$(ML "$d")' 'to=<overquota@gmail.com>, .*status=deferred'" $((n + i)) ||
		    return 1
	done
	must 10 "bouncerd read the whole log" caught_up "$d" || return 1
	expect "Postfix's retries of one queue file did not escalate ($(answer "$d" overquota@gmail.com))" \
	    policy_is "$d" overquota@gmail.com '^DEFER_IF_PERMIT 4\.2\.2 '
	# Two more messages (sendmail(1) skips the policy check) meet the
	# 452: distinct answers. The third soft failure since the success
	# passes mailboxfull_escalate_count=3 and suppresses.
	sendmail_to "$d" $SENDER overquota@gmail.com
	sendmail_to "$d" $SENDER overquota@gmail.com
	must 20 "two new messages deferred" test_ge "count '$(ML "$d")' 'to=<overquota@gmail.com>, .*status=deferred'" $((n + 5)) ||
	    return 1
	await 10 "escalated: policy answers 550 for overquota@gmail.com" \
	    policy_is "$d" overquota@gmail.com '^550 5\.2\.2 '
	expect "the store says suppressed/mailboxfull" \
	    sh -c "'$BOUNCERCTL' -s sqlite:$d/state.db query overquota@gmail.com | grep -q 'state=suppressed reason=mailboxfull'"
}

# after_log_second LOG ERE: waits (at most 2 s) until the clock has
# passed the second of the last LOG line matching ERE.
after_log_second() {
	local stamp t
	stamp=$(grep -E -- "$2" "$1" | tail -n 1 | cut -c1-15)
	t=$(date -d "$stamp" +%s 2>/dev/null) || return 0
	wait_for 2 "clock past $stamp" clock_after "$t"
}
clock_after() { [ "$(date +%s)" -gt "$1" ]; }

# test_ge CMD N: the output of the shell command CMD is >= N.
test_ge() { [ "$(eval "$1")" -ge "$2" ]; }

# --- 3 ---------------------------------------------------------------------

s3_blocklist() {
	local d=$T/s3 r
	site s3 <<EOF || return 1
*@outlook.com
    $OUTLOOK_SPAMHAUS
*@icloud.com
    $ICLOUD_PROOFPOINT
EOF
	send "$d" "$d/m1.out" $SENDER alice@outlook.com,bob@icloud.com,ok@example.com
	must 20 "alice@outlook.com bounced (Spamhaus)" maillog_status "$d" alice@outlook.com bounced || return 1
	must 20 "bob@icloud.com bounced (Proofpoint)" maillog_status "$d" bob@icloud.com bounced || return 1
	must 10 "the alert hook ran for both listings" \
	    test_ge "count '$d/alerts' ." 2 || return 1

	# The same listings again, in another message: no new alert.
	send "$d" "$d/m2.out" $SENDER carol@outlook.com,dave@icloud.com
	must 20 "carol@outlook.com bounced" maillog_status "$d" carol@outlook.com bounced || return 1
	must 20 "dave@icloud.com bounced" maillog_status "$d" dave@icloud.com bounced || return 1
	# Postfix's two DSNs have passed the milter once delivered.
	must 20 "both DSNs delivered" \
	    test_ge "count '$(ML "$d")' 'to=<$SENDER>, .*status=sent'" 2 || return 1
	must 10 "bouncerd read the whole log" caught_up "$d" || return 1
	expect "the hook ran once per listing: spamhaus, with IP and delist URL ($(tr '\n' '|' <"$d/alerts"))" \
	    test "$(count "$d/alerts" '^blocklist spamhaus 192\.0\.2\.12 https://www\.spamhaus\.org/query/ip/192\.0\.2\.12 ')" = 1
	expect "the hook ran once per listing: proofpoint, with IP and delist URL" \
	    test "$(count "$d/alerts" '^blocklist proofpoint 192\.0\.2\.12 https://support\.proofpoint\.com/dnsbl-lookup\.cgi\?ip=192\.0\.2\.12 ')" = 1
	expect "no other alert ($(wc -l <"$d/alerts") hook runs)" test "$(wc -l <"$d/alerts")" = 2
	expect "/metrics: bouncer_alerts_total 2 (got $(metric "$d" bouncer_alerts_total))" \
	    test "$(metric "$d" bouncer_alerts_total)" = 2
	expect "/metrics: the blocked events counted" \
	    test_ge "metric '$d' 'bouncer_events_total{.*reason=\"blocked\"'" 1
	for r in alice@outlook.com bob@icloud.com carol@outlook.com dave@icloud.com; do
		expect "$r not suppressed (policy: $(answer "$d" $r))" policy_is "$d" $r '^DUNNO$'
	done
	expect "nothing suppressed in the store" \
	    sh -c "! '$BOUNCERCTL' -s sqlite:$d/state.db list --state suppressed | grep -q @"
}

# --- 4 ---------------------------------------------------------------------

s4_throttle() {
	local d=$T/s4
	site s4 <<EOF || return 1
ratelimited@gmail.com
    $GMAIL_421
busy@outlook.com
    $OUTLOOK_451
EOF
	send "$d" "$d/m1.out" $SENDER friend@gmail.com,ratelimited@gmail.com,busy@outlook.com,ok@example.com,ok@icloud.com
	must 20 "ratelimited@gmail.com deferred with 421-4.7.0" \
	    has "$(ML "$d")" 'to=<ratelimited@gmail.com>, .*status=deferred \(host .* said: 421-4\.7\.0' || return 1
	must 20 "busy@outlook.com deferred with 451 4.7.500" \
	    has "$(ML "$d")" 'to=<busy@outlook.com>, .*status=deferred \(host .* said: 451 4\.7\.500' || return 1
	must 10 "gmail.com throttled: policy defers a new gmail.com recipient" \
	    policy_is "$d" newcomer@gmail.com '^DEFER_IF_PERMIT 4\.' || return 1
	must 10 "outlook.com throttled: policy defers a new outlook.com recipient" \
	    policy_is "$d" newcomer@outlook.com '^DEFER_IF_PERMIT 4\.' || return 1
	expect "icloud.com not throttled ($(answer "$d" newcomer@icloud.com))" \
	    policy_is "$d" newcomer@icloud.com '^DUNNO$'
	expect "example.com not throttled" policy_is "$d" newcomer@example.com '^DUNNO$'
	await 20 "ok@example.com delivered" sent "$d" ok@example.com
	await 20 "ok@icloud.com delivered" sent "$d" ok@icloud.com
	# friend@gmail.com lost its connection to the 421: not its fault.
	expect "friend@gmail.com has no record of its own" \
	    sh -c "! '$BOUNCERCTL' -s sqlite:$d/state.db query friend@gmail.com | grep -q 'state='"

	send "$d" "$d/m2.out" $SENDER later@gmail.com,later@outlook.com,later@example.com,later@icloud.com
	expect "RCPT later@gmail.com deferred (4xx) at RCPT" \
	    refused "$d/m2.out" later@gmail.com '45[0-9] 4\.[0-9]\.[0-9]+' 'throttled'
	expect "RCPT later@outlook.com deferred (4xx) at RCPT" \
	    refused "$d/m2.out" later@outlook.com '45[0-9] 4\.[0-9]\.[0-9]+' 'throttled'
	await 20 "later@example.com delivered" sent "$d" later@example.com
	await 20 "later@icloud.com delivered" sent "$d" later@icloud.com
	expect "the provider never saw later@gmail.com" test "$(provider_rcpts "$d" later@gmail.com)" = 0
}

# --- 5 ---------------------------------------------------------------------

# remote_dsn MSGID RCPT: a remote MTA's bounce for a message we sent.
remote_dsn() {
	cat <<EOF
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: $SENDER
Subject: Undelivered Mail Returned to Sender
Date: $(date -R)
Message-Id: <$(date +%s%N).bounce@mx.example.org>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="B0UNCE.1/mx.example.org"

This is a MIME-encapsulated message.

--B0UNCE.1/mx.example.org
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.org.

<$2>: host mailstore.example.org[192.0.2.40] said: 550 5.1.1
    <$2>: Recipient address rejected: User unknown in virtual mailbox
    table (in reply to RCPT TO command)

--B0UNCE.1/mx.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
Arrival-Date: $(date -R)

Final-Recipient: rfc822; $2
Original-Recipient: rfc822;$2
Action: failed
Status: 5.1.1
Remote-MTA: dns; mailstore.example.org
Diagnostic-Code: smtp; 550 5.1.1 <$2>: Recipient address rejected: User
    unknown in virtual mailbox table

--B0UNCE.1/mx.example.org
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: $SENDER
To: $2
Subject: newsletter
Message-Id: <$1>

--B0UNCE.1/mx.example.org--
EOF
}

s5_milter_bounces() {
	local d=$T/s5 msgs
	site s5 <<EOF || return 1
gone@icloud.com
    $ICLOUD_550
EOF
	# Postfix's own DSN: the log line and the DSN through the milter
	# are one bounce, recorded once.
	send "$d" "$d/m1.out" $SENDER gone@icloud.com,ok@example.com
	must 20 "gone@icloud.com bounced" maillog_status "$d" gone@icloud.com bounced || return 1
	must 20 "Postfix's DSN delivered to the sender" \
	    has "$(ML "$d")" "to=<$SENDER>, .*status=sent" || return 1
	must 10 "bouncerd read the whole log" caught_up "$d" || return 1
	expect "the milter saw Postfix's DSN" test_ge "metric '$d' bouncer_milter_messages_total" 1
	expect "gone@icloud.com suppressed" policy_is "$d" gone@icloud.com '^550 5\.1\.1 '
	expect "gone@icloud.com recorded once, not twice ($(decisions "$d" gone@icloud.com) decisions)" \
	    test "$(decisions "$d" gone@icloud.com)" = 1
	expect "one event in /metrics" \
	    test "$(metric "$d" 'bouncer_events_total{source=' )" = 1

	# A remote DSN over SMTP, about a message this MTA really sent
	# (its Message-ID is in the log).
	send "$d" "$d/m2.out" $SENDER far@example.org --header 'Message-Id: <e2e-far-1@example.net>'
	must 20 "far@example.org delivered (the remote MTA accepted it)" sent "$d" far@example.org || return 1
	must 10 "bouncerd read the whole log" caught_up "$d" || return 1
	msgs=$(metric "$d" bouncer_milter_messages_total)
	remote_dsn e2e-far-1@example.net far@example.org >"$d/far.eml"
	send "$d" "$d/m3.out" '<>' $SENDER --data "@$d/far.eml"
	expect "the remote DSN was accepted over SMTP" grep -q '^ *<- *250 .*queued' "$d/m3.out"
	must 10 "the milter saw the remote DSN" \
	    test_ge "metric '$d' bouncer_milter_messages_total" $((msgs + 1)) || return 1
	await 20 "the remote DSN passed on to the sender" \
	    test_ge "count '$(ML "$d")' 'to=<$SENDER>, .*status=sent'" 2
	must 10 "bouncerd read the whole log" caught_up "$d" || return 1
	expect "the milter recorded far@example.org (userunknown, suppress) from the remote DSN$(grep -o ' unverified .*' "$d/bouncerd.log" | sed 's/^/; bouncerd:/')" \
	    decided "$d" far@example.org 'reason=userunknown action=suppress .*src=(milter|dsn)'
	expect "far@example.org suppressed" policy_is "$d" far@example.org '^550 5\.1\.1 '
	expect "far@example.org recorded once" test "$(decisions "$d" far@example.org)" = 1

	# A forged one, about a message never sent: decides nothing.
	local unv
	unv=$(metric "$d" bouncer_bounces_unverified_total)
	remote_dsn never-sent@example.net victim@example.org >"$d/forged.eml"
	send "$d" "$d/m4.out" '<>' $SENDER --data "@$d/forged.eml"
	await 10 "a forged bounce counted as unverified" \
	    test_ge "metric '$d' bouncer_bounces_unverified_total" $((unv + 1))
	expect "the forged bounce suppressed nobody" policy_is "$d" victim@example.org '^DUNNO$'
}

# --- 6 ---------------------------------------------------------------------

s6_fail_open() {
	local d=$T/s6 t0 dt
	site s6 <<EOF || return 1
nosuchuser@gmail.com
    $GMAIL_550
gone@icloud.com
    $ICLOUD_550
EOF
	send "$d" "$d/m1.out" $SENDER gone@icloud.com,ok@example.com
	must 20 "gone@icloud.com bounced" maillog_status "$d" gone@icloud.com bounced || return 1
	must 10 "gone@icloud.com suppressed" policy_is "$d" gone@icloud.com '^550 ' || return 1
	must 10 "bouncerd read the whole log" caught_up "$d" || return 1

	# bouncerd dies: no clean stop, no position saved on the way out.
	bouncerd_stop "$d" KILL
	. "$d/env"
	expect "bouncerd is gone (nothing on its policy port)" port_closed "$POLICY_PORT"

	t0=$(date +%s%N)
	send "$d" "$d/m2.out" $SENDER nosuchuser@gmail.com,pal@example.com
	send "$d" "$d/m3.out" $SENDER gone@icloud.com,pal2@example.com
	dt=$((($(date +%s%N) - t0) / 1000000))
	for r in nosuchuser@gmail.com pal@example.com; do
		expect "$r accepted at RCPT with bouncerd down" accepted "$d/m2.out" $r
	done
	for r in gone@icloud.com pal2@example.com; do
		expect "$r accepted at RCPT with bouncerd down (suppressed, but fail open)" accepted "$d/m3.out" $r
	done
	expect "both messages queued" \
	    test "$(cat "$d/m2.out" "$d/m3.out" | grep -cE '^ *<- +250 .*queued')" = 2
	expect "no slower than 5 s for two messages (took ${dt} ms)" test $dt -lt 5000
	expect "Postfix noticed the policy server down" \
	    has "$(ML "$d")" "warning: .*127\.0\.0\.1:$POLICY_PORT.*(Connection refused|problem talking)"
	expect "Postfix noticed the milter down, and accepted" \
	    has "$(ML "$d")" "warning: connect to Milter service inet:127\.0\.0\.1:$MILTER_PORT"
	await 20 "pal@example.com delivered" sent "$d" pal@example.com
	await 20 "pal2@example.com delivered" sent "$d" pal2@example.com
	must 20 "nosuchuser@gmail.com bounced meanwhile" maillog_status "$d" nosuchuser@gmail.com bounced || return 1
	must 20 "gone@icloud.com bounced again meanwhile" \
	    test_ge "count '$(ML "$d")' 'to=<gone@icloud.com>, .*status=bounced'" 2 || return 1
	must 20 "Postfix's DSNs delivered without the milter" \
	    test_ge "count '$(ML "$d")' 'to=<$SENDER>, .*status=sent'" 3 || return 1

	# Back up: it catches up on what it missed, and only that.
	bouncerd_start "$d" || return 1
	await 10 "nosuchuser@gmail.com suppressed from the missed log lines" \
	    policy_is "$d" nosuchuser@gmail.com '^550 5\.1\.1 '
	must 10 "bouncerd read the whole log" caught_up_since_restart "$d" || return 1
	# Decisions only: Postfix's own DSN reaching the milter before the
	# follower has read its log line is logged "unverified ... recorded
	# nothing" under the same queue and recipient (on a loaded box).
	expect "every (queue, recipient) decided at most once across the restart" \
	    test -z "$(grep -oE 'queue=[^ ]+ rcpt=<[^>]+> reason=' "$d/bouncerd.log" | sort | uniq -d)"
	expect "after the restart, events counted = the 2 bounces missed (got $(metric "$d" 'bouncer_events_total{source='))" \
	    test "$(metric "$d" 'bouncer_events_total{source=')" = 2
	expect "gone@icloud.com decided twice in all (two bounces), not three times" \
	    test "$(decisions "$d" gone@icloud.com)" = 2
}

port_closed() { ! port_open "$1"; }

# caught_up_since_restart D: bouncerd's log follower reports no lag.
caught_up_since_restart() {
	[ "$(metric "$1" bouncer_log_lag_bytes)" = 0 ] &&
	    [ "$(metric "$1" bouncer_log_lines_total)" -gt 0 ]
}

# --- 7 ---------------------------------------------------------------------

s7_fleet() {
	local a=$T/s7a b=$T/s7b store r
	redis_start "$T/redis" || { PROBLEMS+=("redis-server did not start"); return 1; }
	store="redis+unix:$T/redis/redis.sock?db=0"
	for r in s7a s7b; do
		site $r -o store="$store" <<EOF || return 1
nosuchuser@gmail.com
    $GMAIL_550
gone@icloud.com
    $ICLOUD_550
EOF
	done
	# Suppressed through A ...
	send "$a" "$a/m1.out" $SENDER nosuchuser@gmail.com,ok@example.com
	must 20 "A: nosuchuser@gmail.com bounced" maillog_status "$a" nosuchuser@gmail.com bounced || return 1
	must 10 "A's bouncerd suppressed it" decided "$a" nosuchuser@gmail.com 'action=suppress' || return 1
	# ... refused by B, which never saw it bounce.
	await 5 "B's policy server refuses nosuchuser@gmail.com" \
	    policy_is "$b" nosuchuser@gmail.com '^550 5\.1\.1 '
	send "$b" "$b/m1.out" $SENDER nosuchuser@gmail.com,ok2@example.com
	expect "B: RCPT TO:<nosuchuser@gmail.com> refused with 5.1.1" \
	    refused "$b/m1.out" nosuchuser@gmail.com '5[0-9][0-9] 5\.1\.1' 'suppressed'
	await 20 "B: ok2@example.com delivered" sent "$b" ok2@example.com
	expect "B's provider never saw nosuchuser@gmail.com" \
	    test "$(provider_rcpts "$b" nosuchuser@gmail.com)" = 0

	# And the other way round.
	send "$b" "$b/m2.out" $SENDER gone@icloud.com
	must 20 "B: gone@icloud.com bounced" maillog_status "$b" gone@icloud.com bounced || return 1
	must 10 "B's bouncerd suppressed it" decided "$b" gone@icloud.com 'action=suppress' || return 1
	send "$a" "$a/m2.out" $SENDER gone@icloud.com,ok3@example.com
	expect "A: RCPT TO:<gone@icloud.com> refused with 5.1.1" \
	    refused "$a/m2.out" gone@icloud.com '5[0-9][0-9] 5\.1\.1' 'suppressed'
	await 20 "A: ok3@example.com delivered" sent "$a" ok3@example.com
	expect "bouncerctl on the shared Redis lists both" \
	    sh -c "'$BOUNCERCTL' -s '$store' list --state suppressed | grep -q nosuchuser@gmail.com &&
	           '$BOUNCERCTL' -s '$store' list --state suppressed | grep -q gone@icloud.com"
}

# --- 8 ---------------------------------------------------------------------

s8_milter_rcpt() {
	local d=$T/s8
	# No check_policy_service: the milter alone, as with Sendmail.
	POLICY=0 site s8 <<EOF || return 1
gone@icloud.com
    $ICLOUD_550
overquota@gmail.com
    $GMAIL_452
EOF
	send "$d" "$d/m1.out" $SENDER gone@icloud.com,overquota@gmail.com,ok@example.com
	must 20 "gone@icloud.com bounced" maillog_status "$d" gone@icloud.com bounced || return 1
	must 20 "overquota@gmail.com deferred" maillog_status "$d" overquota@gmail.com deferred || return 1
	must 10 "gone@icloud.com suppressed" decided "$d" gone@icloud.com 'state=suppressed' || return 1
	must 10 "overquota@gmail.com in back-off" decided "$d" overquota@gmail.com 'state=deferred' || return 1

	send "$d" "$d/m2.out" $SENDER gone@icloud.com,overquota@gmail.com,ok2@example.com
	expect "the milter refused gone@icloud.com at RCPT with 550 5.1.1" \
	    refused "$d/m2.out" gone@icloud.com '550 5\.1\.1' 'suppressed'
	expect "Postfix logged a milter-reject for it" \
	    has "$(ML "$d")" 'milter-reject: RCPT from .*550 5\.1\.1 .*to=<gone@icloud\.com>'
	expect "the milter tempfailed overquota@gmail.com at RCPT with 450 4.2.2" \
	    refused "$d/m2.out" overquota@gmail.com '450 4\.2\.2' 'mailboxfull'
	await 20 "ok2@example.com delivered" sent "$d" ok2@example.com
	expect "/metrics: bouncer_milter_rejected_total >= 1" \
	    test_ge "metric '$d' bouncer_milter_rejected_total" 1
	expect "the policy server was never asked" \
	    test "$(metric "$d" bouncer_policy_answers_total)" = 0
}

# --- 9 (sendmail(1) submissions) --------------------------------------------

s9_sendmail_submission() {
	local d=$T/s9 n
	site s9 <<EOF || return 1
gone@icloud.com
    $ICLOUD_550
EOF
	send "$d" "$d/m1.out" $SENDER gone@icloud.com
	must 20 "gone@icloud.com bounced" maillog_status "$d" gone@icloud.com bounced || return 1
	must 10 "gone@icloud.com suppressed" policy_is "$d" gone@icloud.com '^550 ' || return 1

	# sendmail(1) mail never meets smtpd: the policy server does not see
	# it, and Postfix cannot honour a milter's refusal of a recipient
	# there (FINDINGS.md section 4). bouncerd(8): the milter refuses
	# recipients "of mail received over SMTP". So the message is queued
	# and goes out as usual.
	n=$(count "$(ML "$d")" 'to=<gone@icloud.com>, .*status=bounced')
	sendmail_to "$d" $SENDER gone@icloud.com
	await 10 "the sendmail(1) message was queued and delivered as usual" \
	    test_ge "count '$(ML "$d")' 'to=<gone@icloud.com>, .*status=bounced'" $((n + 1))
	expect "the milter refused no recipient of a sendmail(1) submission ($(grep -m1 -o 'milter configuration error.*' "$(ML "$d")"))" \
	    sh -c "! grep -q \"can't reject recipient in non-smtpd\" '$(ML "$d")'"
}

# --- 10 (forged bounces) ---------------------------------------------------

# postfix_dsn QID RCPT: a DSN as Postfix writes one, for RCPT of QID.
postfix_dsn() {
	cat <<EOF
From: MAILER-DAEMON@mta.example.net (Mail Delivery System)
To: $SENDER
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="F0RGED.1/mta.example.net"

--F0RGED.1/mta.example.net
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mta.example.net.

<$2>: host mx.example[192.0.2.5] said: 550 5.1.1 user unknown (in
    reply to RCPT TO command)

--F0RGED.1/mta.example.net
Content-Type: message/delivery-status

Reporting-MTA: dns; mta.example.net
X-Postfix-Queue-ID: $1
Arrival-Date: $(date -R)

Final-Recipient: rfc822; $2
Original-Recipient: rfc822;$2
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--F0RGED.1/mta.example.net--
EOF
}

# arf MSGID RCPT: a feedback-loop complaint about MSGID, naming RCPT.
arf() {
	cat <<EOF
From: feedback@fbl.example.org
To: $SENDER
Subject: FW: complaint
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
	boundary="ARF.1"

--ARF.1
Content-Type: text/plain

This is an email abuse report.

--ARF.1
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: fbl/1.0
Version: 1
Original-Rcpt-To: <$2>

--ARF.1
Content-Type: text/rfc822-headers

From: $SENDER
To: $2
Subject: newsletter
Message-Id: <$1>

--ARF.1--
EOF
}

s10_forged_bounces() {
	local d=$T/s10 qid unv
	site s10 <<EOF || return 1
gone@icloud.com
    $ICLOUD_550
EOF
	# A real bounce still suppresses.
	send "$d" "$d/m1.out" $SENDER gone@icloud.com,reader@example.org \
	    --header 'Message-Id: <e2e-news-10@example.net>'
	must 20 "gone@icloud.com bounced" maillog_status "$d" gone@icloud.com bounced || return 1
	must 20 "reader@example.org delivered" sent "$d" reader@example.org || return 1
	must 10 "gone@icloud.com suppressed" policy_is "$d" gone@icloud.com '^550 5\.1\.1 ' || return 1
	must 20 "Postfix's DSN delivered to the sender" \
	    has "$(ML "$d")" "to=<$SENDER>, .*status=sent" || return 1
	must 10 "bouncerd read the whole log" caught_up "$d" || return 1
	qid=$(grep -oE '[0-9A-F]+: to=<gone@icloud\.com>' "$(ML "$d")" | head -n 1 | cut -d: -f1)
	expect "Postfix's own DSN was a duplicate of the log line" \
	    test_ge "metric '$d' bouncer_bounces_duplicate_total" 1

	# A local user forges a Postfix DSN with sendmail -f '': the milter
	# sees it as Postfix's own (non_smtpd_milters); it names the real
	# queue id, but a victim it was never for.
	unv=$(metric "$d" bouncer_bounces_unverified_total)
	postfix_dsn "$qid" victim@customer.example >"$d/forged.eml"
	# (Any local user can; here root, as this private instance's
	# configuration directory is not among alternate_config_directories.)
	expect "the forged DSN submitted with sendmail -f ''" \
	    sh -c "sendmail -C '$d/pf/etc' -f '' -t <'$d/forged.eml'"
	await 20 "the forged DSN passed the milter, unverified" \
	    test_ge "metric '$d' bouncer_bounces_unverified_total" $((unv + 1))
	expect "the forged DSN suppressed nobody ($(answer "$d" victim@customer.example))" \
	    policy_is "$d" victim@customer.example '^DUNNO$'

	# Whoever received the newsletter quotes its real Message-ID, in a
	# bounce and in a complaint naming others: nothing changes.
	remote_dsn e2e-news-10@example.net victim2@example.org >"$d/dsn2.eml"
	send "$d" "$d/m2.out" '<>' $SENDER --data "@$d/dsn2.eml"
	arf e2e-news-10@example.net victim3@example.org >"$d/arf3.eml"
	send "$d" "$d/m3.out" '<>' $SENDER --data "@$d/arf3.eml"
	await 20 "both counted as unverified" \
	    test_ge "metric '$d' bouncer_bounces_unverified_total" $((unv + 3))
	expect "the DSN quoting a real Message-ID suppressed nobody" \
	    policy_is "$d" victim2@example.org '^DUNNO$'
	expect "the complaint quoting a real Message-ID suppressed nobody" \
	    policy_is "$d" victim3@example.org '^DUNNO$'
	expect "nothing but gone@icloud.com in the store" \
	    test "$(ctl "$d" list | grep -c @)" = 1
	# The newsletter's own recipient complaining is heard.
	arf e2e-news-10@example.net reader@example.org >"$d/arf4.eml"
	send "$d" "$d/m4.out" '<>' $SENDER --data "@$d/arf4.eml"
	await 20 "a complaint from the message's own recipient suppresses it" \
	    policy_is "$d" reader@example.org '^550 '
}

# --- 11 (bouncer's own answers) ---------------------------------------------

s11_own_answers() {
	local d=$T/s11 until0 i n
	SOCKETMAP=1 site s11 <<EOF || return 1
overquota@gmail.com
    $GMAIL_452
EOF
	send "$d" "$d/m1.out" $SENDER overquota@gmail.com
	must 20 "overquota@gmail.com deferred with 452-4.2.2" \
	    has "$(ML "$d")" 'to=<overquota@gmail.com>, .*status=deferred \(host .* said: 452-4\.2\.2' ||
	    return 1
	must 10 "in back-off" policy_is "$d" overquota@gmail.com '^DEFER_IF_PERMIT 4\.2\.2 ' ||
	    return 1
	until0=$(ctl "$d" query overquota@gmail.com | grep -o 'until=[^ 	]*')
	# Postfix retries the queue five times; the socketmap routes the
	# message to retry: each time, and Postfix logs bouncer's answer.
	# (A message to someone else first each time: qmgr keeps the last
	# address it resolved, and would not ask again for the same one.)
	for i in 1 2 3 4 5; do
		n=$(count "$(ML "$d")" 'to=<overquota@gmail.com>, .*status=deferred')
		send "$d" "$d/p$i.out" $SENDER pal$i@example.com
		must 20 "pal$i@example.com delivered" sent "$d" pal$i@example.com ||
		    return 1
		after_log_second "$(ML "$d")" 'to=<overquota@gmail.com>, .*status=deferred'
		pf_flush "$d"
		must 20 "queue run $i" test_ge "count '$(ML "$d")' 'to=<overquota@gmail.com>, .*status=deferred'" $((n + 1)) ||
		    return 1
	done
	must 10 "bouncerd read the whole log" caught_up "$d" || return 1
	expect "the retries logged bouncer's own answer (relay=none)" \
	    has "$(ML "$d")" 'to=<overquota@gmail.com>, relay=none, .*status=deferred \(bouncer: recipient in back-off: mailboxfull'
	expect "the provider saw overquota@gmail.com once" \
	    test "$(provider_rcpts "$d" overquota@gmail.com)" = 1
	expect "the back-off is still what the first reply set ($until0, now $(ctl "$d" query overquota@gmail.com | grep -o 'until=[^ 	]*'))" \
	    test "$(ctl "$d" query overquota@gmail.com | grep -o 'until=[^ 	]*')" = "$until0"
	expect "one decision for overquota@gmail.com" \
	    test "$(decisions "$d" overquota@gmail.com)" = 1
	expect "no destination throttled ($(ctl "$d" throttle list | tr '\n' '|'))" \
	    test -z "$(ctl "$d" throttle list | grep -v '^destination')"
	expect "gmail.com not throttled" policy_is "$d" newcomer@gmail.com '^DUNNO$'
	expect "bouncer's answers counted as no evidence" \
	    test_ge "metric '$d' bouncer_not_evidence_total" 5
}

# --- main ----------------------------------------------------------------

[ $# -gt 0 ] || set -- 1 2 3 4 5 6 7 8 9 10 11
t_start=$(date +%s)
for n in "$@"; do
	case $n in
	1) run 1 "nonexistent recipient is suppressed" s1_unknown_user ;;
	2) run 2 "mailbox full is retried, not suppressed" s2_mailbox_full ;;
	3) run 3 "blocklisted IP raises one alert" s3_blocklist ;;
	4) run 4 "provider throttling" s4_throttle ;;
	5) run 5 "bounce e-mails through the milter" s5_milter_bounces ;;
	6) run 6 "fail open" s6_fail_open ;;
	7) if "$BOUNCERCTL" --version | grep -q '^stores:.* redis'; then
		run 7 "fleet: two Postfix, two bouncerd, one Redis" s7_fleet
	   else
		echo "SKIP 7 fleet: built without Redis support"
	   fi ;;
	8) run 8 "sendmail path: the milter refuses at RCPT" s8_milter_rcpt ;;
	9) run 9 "(extra) sendmail(1) submissions pass the milter" s9_sendmail_submission ;;
	10) run 10 "forged bounces and complaints change nothing" s10_forged_bounces ;;
	11) run 11 "bouncer's own answers are not evidence" s11_own_answers ;;
	*) echo "e2e: no scenario $n"; FAILED+=("$n") ;;
	esac
done
echo "e2e: $(( $(date +%s) - t_start ))s; ${#FAILED[@]} failed${FAILED[*]:+: ${FAILED[*]}}"
[ ${#FAILED[@]} = 0 ]
