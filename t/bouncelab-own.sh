#!/bin/sh
# bouncelab-own.sh -- real MTAs' own failures: their bounces and log lines
#
# The second half of the bounce lab (t/bouncelab.sh): not the replies a
# remote server gives, but what Postfix, Exim, Sendmail and OpenSMTPD
# decide themselves and write in their own words (Courier too, for what
# it can be set up for here): a domain that does not
# exist (NXDOMAIN), has no MX and no address, an MX without address, a
# null MX, SERVFAIL; a host that refuses the connection, never greets or
# drops it in DATA; an MX that points back at the MTA, too many Received
# headers; the MTA's and the remote's (EHLO SIZE) size limits; a local
# user that does not exist, a full mailbox, pipe commands exiting 67,
# 69, 75 and 77; TLS required and not offered. Each runs in a network
# namespace of its own with a fake DNS server (t/lib/dnsd.py) and
# scripted hosts on port 25; temporary failures bounce once a queue
# lifetime of seconds has run out. `bouncerctl classify-mail` on each
# bounce and `bouncerctl classify --maillog` on the MTA's log lines for
# it (Postfix's maillog, Exim's mainlog, Sendmail's and OpenSMTPD's
# syslog) must give a reason and a decision that
# ../shared/cases/REASONS.md allows; where it
# says nothing (loops, pipe exit codes, an MTA whose bounce has no
# words), t/bouncelab/own.py's header says what is expected and why.
# The MTAs run side by side: about a minute and a half on 2 cores.
#
# First, without any MTA, the same check runs on the sample of these
# bounces and log lines in t/data/bounces/ (own.tsv).
#
# Needs root (namespaces, the MTAs); the MTAs other than Postfix come
# from scripts/setup-mtas. An MTA that is not there is a SKIP, said so
# for each; with CI=true it is a failure. KEEP=1 keeps the bounces (the
# directory is printed).
set -u

SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
export BOUNCER_SRCDIR=$SRC
export BOUNCER_RULES=${BOUNCER_RULES:-$SRC/rules}
export BOUNCERCTL=${BOUNCERCTL:-$SRC/bouncerctl}
PY=/usr/bin/python3
rc=0

$PY "$SRC/t/bouncelab/own.py" --sample "$SRC/t/data/bounces" || rc=1

if [ "$(id -u)" != 0 ]; then
	echo "bouncelab-own: SKIP: the MTAs need root"
	exit $rc
fi
if ! command -v ip >/dev/null || ! unshare --net true 2>/dev/null; then
	echo "bouncelab-own: SKIP: no network namespaces here (unshare, ip)"
	[ "${CI:-}" = true ] && rc=1
	exit $rc
fi

T=$(mktemp -d /tmp/bouncelab-own.XXXXXX)
chmod 755 "$T"
$PY "$SRC/t/bouncelab/own.py" --out "$T" || rc=1
if [ "${KEEP:-0}" = 1 ]; then echo "bouncelab-own: kept $T"; else rm -rf "$T"; fi
[ $rc = 0 ] && echo "bouncelab-own: PASS" || echo "bouncelab-own: FAIL"
exit $rc
