#!/bin/sh
# corpus-perturb.sh -- the corpus written by other senders of the same
# bounces must classify the same
#
# Rules and parsers written from the corpus must not key on its
# incidental details. For every e-mail of ../shared/corpus,
# t/lib/perturb.py writes variants that another MTA or another sender of
# the same bounce would produce (deterministic, seeded):
#
#   addr   other local parts and domains of the redacted addresses,
#          consistently through the whole mail; other IPs, queue ids,
#          dates
#   wrapN  long lines of text folded at N columns (40, 52 and 64), with an
#          indented continuation, and Diagnostic-Code at N - 8
#   lower  header and DSN field names, their type keywords (rfc822;,
#          smtp;) and MIME types in lower case
#   upper  the same in upper case
#   eol    CRLF for LF line ends and the reverse
#
# classify-mail runs on the originals and on every variant, and each
# recipient must keep its reason and decision ("a flip" otherwise, and
# also when the recipient is lost). Prints the flips per kind and the
# first PERTURB_SHOW (default 10) of each. Fails when a kind has more
# flips than its line in t/data/corpus-perturb-floor, or when
# classify-mail fails. PERTURB_SEED picks another set of variants.
#
# Environment (set by make check): BOUNCER_SRCDIR, BOUNCER_SHARED,
# BOUNCER_RULES, BOUNCERCTL.

NAME=corpus-perturb
. "${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/t/lib/corpus.sh"
floor=$srcdir/t/data/corpus-perturb-floor
py=$srcdir/t/lib/perturb.py

if ! command -v python3 >/dev/null 2>&1; then
	echo "$NAME: SKIP: no python3"
	exit 0
fi

python3 "$py" make "$corpus" "$tmp/v" "${PERTURB_SEED:-1}" || exit 1
corpus_files > "$tmp/files"
corpus_classify "$tmp/files" "$tmp/orig.out" || exit 1
for kind in $(python3 "$py" kinds); do
	corpus_dir=$tmp/v/$kind
	corpus_classify "$tmp/files" "$tmp/v/$kind.out" || exit 1
done
corpus_dir=

python3 "$py" compare "$tmp/v" "$tmp/orig.out" "${PERTURB_SHOW:-10}" \
    2> "$tmp/flips" || exit 1

awk -v tag=$NAME '
FILENAME == ARGV[1] {
	if ($1 !~ /^#/ && NF >= 2) max[$1] = $2
	next
}
$1 == "flips" {
	total += $3
	if (!($2 in max)) {
		printf "%s: FAIL: no floor for %s\n", tag, $2
		bad = 1
	} else if ($3 > max[$2]) {
		printf "%s: FAIL: %s: %d flips, more than the floor (%d)\n",
		    tag, $2, $3, max[$2]
		bad = 1
	}
	line = line sprintf(" %s=%d", $2, $3)
}
END {
	printf "%s: flips%s total=%d\n", tag, line, total
	if (bad) exit 1
	printf "%s: ok (floor: t/data/corpus-perturb-floor)\n", tag
}' "$floor" "$tmp/flips"
