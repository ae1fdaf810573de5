#!/bin/sh
# bouncelab.sh -- real MTAs' bounces must say what the replies they got say
#
# The bounce lab. Postfix, Exim, Sendmail, OpenSMTPD and Courier (each a
# private instance on 127.0.0.1, its own configuration in a temporary
# directory; Courier's compiled-in paths are its own in a mount namespace)
# relay messages to a scripted provider that answers with every usable
# reply of ../shared/cases/seed-replies.tsv and of the rules' test vectors,
# at RCPT TO and at the end of DATA, for one recipient and for several per
# message, one-line and multi-line ("550-...") alike. Temporary replies
# bounce at once (no retries; Courier retries every 5 s and gives up after
# a minute). The bounces come back to the provider and
# `bouncerctl classify-mail` must give each recipient the reason and the
# decision that `bouncerctl classify` gives for that recipient and that
# reply at that stage ("... (in reply to end of DATA command)"): at the end
# of DATA one reply answers for every recipient of the message. The driver
# is t/bouncelab/lab.py, the MTAs' configurations t/bouncelab/mtas.py.
#
# Two allowances, both from ../shared/cases/REASONS.md: a temporary reply
# bounces only because the MTA gave up, so the bounce may say "expired,
# retry" instead; and "no such user" at DATA is filtered there while
# classify does not apply the stage yet, so userunknown/filtered at DATA
# is reported as known. Disagreements understood but not fixed are listed
# in t/bouncelab/known.tsv (reported, not failed). Sendmail, OpenSMTPD
# and Courier get no 421 replies: the first two take the closed connection
# as the host being down for every queued message, and Courier, which
# reuses its connection, reports the next message's failed RSET instead of
# its reply. 140 replies by default, about 240 messages per MTA, all five
# MTAs at once: 3 to 8 minutes on 2 cores (the sanitizer build is slower).
#
# First, without any MTA, the same check runs on the sample of real
# bounces in t/data/bounces/ (index.tsv: file, recipient, stage, reply).
#
# Exim, Sendmail, OpenSMTPD and Courier conflict with Postfix as Debian
# packages:
# scripts/setup-mtas (run by scripts/setup-deps) unpacks them into
# ${BOUNCER_MTA_CACHE:-/var/tmp/bouncer-mta}. An MTA that is not there is
# a SKIP, said so for each; with CI=true it is a failure. Needs root.
# BOUNCELAB_LIMIT=N uses only the first N replies; KEEP=1 keeps the
# bounces (the directory is printed).
set -u

SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
export BOUNCER_SRCDIR=$SRC
export BOUNCER_RULES=${BOUNCER_RULES:-$SRC/rules}
export BOUNCER_SHARED=${BOUNCER_SHARED:-$SRC/../shared}
export BOUNCERCTL=${BOUNCERCTL:-$SRC/bouncerctl}
PY=/usr/bin/python3
rc=0

# The sample, with no MTA.
$PY "$SRC/t/bouncelab/sample.py" "$SRC/t/data/bounces" || rc=1

if [ "$(id -u)" != 0 ]; then
	echo "bouncelab: SKIP: the MTAs need root"
	exit $rc
fi
if ! $PY -c 'import aiosmtpd' 2>/dev/null; then
	echo "bouncelab: SKIP: no python3-aiosmtpd (scripts/setup-deps)"
	[ "${CI:-}" = true ] && rc=1
	exit $rc
fi
if [ ! -f "$BOUNCER_SHARED/cases/seed-replies.tsv" ]; then
	echo "bouncelab: SKIP: no $BOUNCER_SHARED/cases/seed-replies.tsv"
	[ "${CI:-}" = true ] && rc=1
	exit $rc
fi

T=$(mktemp -d /tmp/bouncelab.XXXXXX)
chmod 755 "$T"
$PY "$SRC/t/bouncelab/lab.py" --out "$T" ${BOUNCELAB_LIMIT:+--limit "$BOUNCELAB_LIMIT"} || rc=1
if [ "${KEEP:-0}" = 1 ]; then echo "bouncelab: kept $T"; else rm -rf "$T"; fi
[ $rc = 0 ] && echo "bouncelab: PASS" || echo "bouncelab: FAIL"
exit $rc
