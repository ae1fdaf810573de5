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
# The matching is t/lib/corpus-score.awk, shared with t/corpus-lofo.sh.
#
# Environment (set by make check): BOUNCER_SRCDIR, BOUNCER_SHARED,
# BOUNCER_RULES, BOUNCERCTL. Set ACCURACY_QUIET=1 to hide mismatches.

NAME=corpus-accuracy
. "${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/corpus.sh"

corpus_files > "$tmp/files"
corpus_classify "$tmp/files" "$tmp/out" || exit 1
corpus_score "$tmp/out" -v quiet="${ACCURACY_QUIET:-0}" -v tag=$NAME \
    -v floorfile="$srcdir/t/data/corpus-floor"
