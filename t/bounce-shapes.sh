#!/bin/sh
# bounce-shapes.sh -- bounce e-mails of shapes the public corpus lacks
#
# t/data/bounces/shapes/ holds small synthetic bounces written the way
# other MTAs and gateways write theirs (Apache James, MailMarshal,
# MDaemon, hMailServer, Mercury/32, CommuniGate Pro, IMail, Kerio,
# SmarterMail, Axigen, GroupWise, Exchange 5.5/2000, old Domino, old
# Yahoo, Hotmail and AOL, Gmail's notice in words, PowerMTA with its
# X-PowerMTA-BounceCategory), delay warnings in words and auto-replies.
# index.tsv says, for each file, every recipient `bouncerctl
# classify-mail` must find (and no other), with its reason and decision:
#   file<TAB>recipient<TAB>reason<TAB>decision
# A warning ("warning-*") or an auto-reply ("vacation-*") must never
# suppress, whatever the index says.
#
# Run by "make check" with BOUNCERCTL, BOUNCER_RULES and BOUNCER_SRCDIR
# set; by hand: BOUNCERCTL=./bouncerctl BOUNCER_RULES=rules sh
# t/bounce-shapes.sh
#
# Exits non-zero if anything failed, after checking every file.

: "${BOUNCER_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${BOUNCERCTL:=$BOUNCER_SRCDIR/bouncerctl}"
: "${BOUNCER_RULES:=$BOUNCER_SRCDIR/rules}"
DIR=$BOUNCER_SRCDIR/t/data/bounces/shapes

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bounce-shapes.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

# What the index expects, and what classify-mail says: recipient,
# reason, decision, sorted, one file at a time.
failed=0
passed=0
files=$(grep -v '^#' "$DIR/index.tsv" | cut -f1 | sort -u)
for f in $files; do
	grep -v '^#' "$DIR/index.tsv" | awk -F'\t' -v f="$f" \
	    '$1 == f { print $2 "\t" $3 "\t" $4 }' | sort >"$tmp/want"
	if ! "$BOUNCERCTL" classify-mail -r "$BOUNCER_RULES" "$DIR/$f" \
	    >"$tmp/out" 2>"$tmp/err"; then
		echo "FAIL: $f: bouncerctl exited $?" >&2
		cat "$tmp/err" >&2
		failed=$((failed + 1))
		continue
	fi
	cut -f1,3,6 "$tmp/out" | sort >"$tmp/got"
	case $f in
	warning-*|vacation-*)
		if cut -f3 "$tmp/got" | grep -q suppress; then
			echo "FAIL: $f: a warning or auto-reply suppressed" >&2
			failed=$((failed + 1))
			continue
		fi ;;
	esac
	if ! diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
		echo "FAIL: $f: recipient, reason, decision differ:" >&2
		sed 1,2d "$tmp/diff" >&2
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
done
# Every sample is in the index.
for e in "$DIR"/*.eml; do
	b=$(basename "$e")
	echo "$files" | grep -qx "$b" && continue
	echo "FAIL: $b is not in index.tsv" >&2
	failed=$((failed + 1))
done
echo "bounce-shapes: $passed passed, $failed failed"
[ $failed -eq 0 ]
