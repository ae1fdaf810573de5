#!/bin/sh
# corpus-accuracy.sh -- score `bouncerctl classify-mail` against Sisimai
#
# Runs classify-mail once over every e-mail of ../shared/corpus and
# matches its lines to the rows of manifest.tsv by (file, recipient,
# case-insensitive). A row scores for reason when the reasons are equal
# and for status when the statuses are (both empty counts as equal); a
# non-bounce row ("-") scores when the e-mail gives no line at all.
# Prints both figures, every mismatch (marked "known" when it is listed
# in t/data/corpus-disagree.tsv as a deliberate disagreement), and fails
# when a figure falls below the floor in t/data/corpus-floor.
#
# Environment (set by make check): BOUNCER_SRCDIR, BOUNCER_SHARED,
# BOUNCER_RULES, BOUNCERCTL. Set ACCURACY_QUIET=1 to hide mismatches.

srcdir=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
shared=${BOUNCER_SHARED:-$srcdir/../shared}
rules=${BOUNCER_RULES:-$srcdir/rules}
ctl=${BOUNCERCTL:-$srcdir/bouncerctl}
corpus=$shared/corpus
floor=$srcdir/t/data/corpus-floor
disagree=$srcdir/t/data/corpus-disagree.tsv

if [ ! -f "$corpus/manifest.tsv" ]; then
	echo "corpus-accuracy: SKIP: $corpus/manifest.tsv not found" \
	    "(../shared is absent)"
	exit 0
fi

tmp=${TMPDIR:-/tmp}/corpus-accuracy.$$
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

tail -n +2 "$corpus/manifest.tsv" | cut -f1 | sort -u > "$tmp/files"
(cd "$corpus" && xargs "$ctl" classify-mail -r "$rules" -H \
    < "$tmp/files") > "$tmp/out" 2> "$tmp/err"
rc=$?
if [ $rc -ne 0 ]; then
	echo "corpus-accuracy: FAIL: classify-mail exited $rc"
	cat "$tmp/err"
	exit 1
fi

touch "$disagree"
awk -F'\t' -v quiet="${ACCURACY_QUIET:-0}" -v floorfile="$floor" '
FILENAME == ARGV[1] {			# deliberate disagreements
	if ($0 ~ /^#/ || NF < 3) next
	known[$1 "\t" tolower($2) "\t" $3] = $4
	next
}
FILENAME == ARGV[2] {			# classify-mail output
	k = $1 "\t" tolower($2)
	if (!(k in got_reason)) {
		got_status[k] = $3 == "-" ? "" : $3
		got_reason[k] = $4
	}
	lines[$1]++
	next
}
FNR == 1 { next }			# the manifest header
{
	n++
	k = $1 "\t" tolower($3)
	if ($6 == "-") {		# not a bounce: no line expected
		if (lines[$1] == 0) { okr++; oks++ }
		else miss("reason", $1, "-", "-", lines[$1] " line(s)")
		next
	}
	if (!(k in got_reason)) {
		miss("reason", $1, $3, $6, "(no line)")
		miss("status", $1, $3, $4, "(no line)")
		next
	}
	if (got_reason[k] == $6) okr++
	else miss("reason", $1, $3, $6, got_reason[k])
	if (got_status[k] == $4) oks++
	else miss("status", $1, $3, $4 == "" ? "-" : $4, got_status[k])
}
function miss(what, file, rcpt, want, got,   kk, tag) {
	kk = file "\t" tolower(rcpt) "\t" what
	tag = (kk in known) ? "known" : "MISS"
	if (tag == "known") knownn[what]++
	if (!quiet)
		printf "%s %s\t%s\t%s\twant %s\tgot %s\n", tag, what, file,
		    rcpt, want, got
}
END {
	r = n ? okr / n : 0
	s = n ? oks / n : 0
	printf "corpus-accuracy: rows=%d reason=%.4f (%d) status=%.4f (%d)\n",
	    n, r, okr, s, oks
	printf "corpus-accuracy: counting deliberate disagreements as right:" \
	    " reason=%.4f status=%.4f\n", n ? (okr + knownn["reason"]) / n : 0,
	    n ? (oks + knownn["status"]) / n : 0
	fr = 0; fs = 0
	while ((getline line < floorfile) > 0) {
		split(line, f, /[ \t]+/)
		if (f[1] == "reason") fr = f[2]
		if (f[1] == "status") fs = f[2]
	}
	if (r + 1e-9 < fr || s + 1e-9 < fs) {
		printf "corpus-accuracy: FAIL: below the floor (reason %s," \
		    " status %s)\n", fr, fs
		exit 1
	}
	printf "corpus-accuracy: ok (floor: reason %s, status %s)\n", fr, fs
}' "$disagree" "$tmp/out" "$corpus/manifest.tsv"
