# corpus-score.awk -- score `bouncerctl classify-mail -H` against the corpus
#
# The matching that t/corpus-accuracy.sh and t/corpus-lofo.sh share.
#
#   awk -F'\t' -f t/lib/corpus-score.awk [-v var=value ...] \
#       DISAGREE CLASSIFY-MAIL-OUTPUT MANIFEST
#
# Lines of the output are matched to the rows of manifest.tsv by (file,
# recipient, case-insensitive); the first line for a pair counts. A row
# scores for reason when the reasons are equal and for status when the
# statuses are (both empty counts as equal); a non-bounce row ("-")
# scores when the e-mail gives no line at all. A mismatch listed in
# DISAGREE (t/data/corpus-disagree.tsv) is "known", a deliberate
# disagreement, and still counts as wrong.
#
# Variables:
#   only=FAMILY	score only the rows of one family (see family() below)
#   rows=1	print one line per row scored and nothing else:
#		family file rcpt want-reason got-reason reason-ok status-ok
#		(tab-separated; a missing line is got "(no line)")
#   quiet=1	(without rows=1) do not print the mismatches
#   tag=NAME	(without rows=1) the prefix of the summary lines
#   floorfile=F	(without rows=1) fail when reason or status falls below
#		the "reason X" / "status Y" lines of F
#   list=1	print the e-mail files of the manifest (of family `only`,
#		if set), once each, and nothing else; give only MANIFEST

# A family is what the corpus names its e-mails by: the file name without
# its number, "maildir/bsd/lhost-postfix-07.eml" -> "lhost-postfix".
function family(path,   f) {
	f = path
	sub(/.*\//, "", f)
	sub(/-[0-9]+\.eml$/, "", f)
	return f
}

list {
	if (FNR > 1 && (only == "" || family($1) == only) && !seen[$1]++)
		print $1
	next
}
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
only != "" && family($1) != only { next }
{
	n++
	k = $1 "\t" tolower($3)
	r = 0; s = 0
	if ($6 == "-") {		# not a bounce: no line expected
		got = lines[$1] ? lines[$1] " line(s)" : "-"
		if (lines[$1] == 0) { r = 1; s = 1 }
		else miss("reason", $1, "-", "-", got)
		row($1, $3, "-", got, r, s)
		next
	}
	if (!(k in got_reason)) {
		miss("reason", $1, $3, $6, "(no line)")
		miss("status", $1, $3, $4, "(no line)")
		row($1, $3, $6, "(no line)", 0, 0)
		next
	}
	if (got_reason[k] == $6) r = 1
	else miss("reason", $1, $3, $6, got_reason[k])
	if (got_status[k] == $4) s = 1
	else miss("status", $1, $3, $4 == "" ? "-" : $4, got_status[k])
	row($1, $3, $6, got_reason[k], r, s)
}
function row(file, rcpt, want, got, r, s) {
	okr += r
	oks += s
	if (rows)
		printf "%s\t%s\t%s\t%s\t%s\t%d\t%d\n", family(file), file, rcpt,
		    want, got, r, s
}
function miss(what, file, rcpt, want, got,   kk, tag) {
	kk = file "\t" tolower(rcpt) "\t" what
	tag = (kk in known) ? "known" : "MISS"
	if (tag == "known") knownn[what]++
	if (!quiet && !rows)
		printf "%s %s\t%s\t%s\twant %s\tgot %s\n", tag, what, file,
		    rcpt, want, got
}
END {
	if (list || rows)
		exit 0
	r = n ? okr / n : 0
	s = n ? oks / n : 0
	printf "%s: rows=%d reason=%.4f (%d) status=%.4f (%d)\n",
	    tag, n, r, okr, s, oks
	printf "%s: counting deliberate disagreements as right:" \
	    " reason=%.4f status=%.4f\n", tag, n ? (okr + knownn["reason"]) / n : 0,
	    n ? (oks + knownn["status"]) / n : 0
	if (floorfile == "")
		exit 0
	fr = 0; fs = 0
	while ((getline line < floorfile) > 0) {
		split(line, f, /[ \t]+/)
		if (f[1] == "reason") fr = f[2]
		if (f[1] == "status") fs = f[2]
	}
	if (r + 1e-9 < fr || s + 1e-9 < fs) {
		printf "%s: FAIL: below the floor (reason %s," \
		    " status %s)\n", tag, fr, fs
		exit 1
	}
	printf "%s: ok (floor: reason %s, status %s)\n", tag, fr, fs
}
