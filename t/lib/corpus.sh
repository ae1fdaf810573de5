# corpus.sh -- what the corpus tests in t/ share; sourced after NAME is set
#
# The environment is the one make check sets: BOUNCER_SRCDIR,
# BOUNCER_SHARED, BOUNCER_RULES, BOUNCERCTL. Sourcing this file sets
# srcdir, rules, ctl, corpus (../shared/corpus), manifest and disagree,
# exits 0 with a SKIP line when the corpus is absent, and makes $tmp, a
# directory removed on exit.
#
# corpus_files [FAMILY] prints the e-mail files of the manifest, or of
# one family, once each (paths relative to $corpus).
#
# corpus_classify LIST OUT [-x NAME ...] runs classify-mail -H once over
# the files named in LIST, with the rules of $rules less those of -x,
# into OUT; on failure it says so, with classify-mail's errors, and
# returns 1.
#
# corpus_score OUT [-v VAR=VALUE ...] scores OUT against the manifest
# with t/lib/corpus-score.awk (see there for the variables).

srcdir=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
shared=${BOUNCER_SHARED:-$srcdir/../shared}
rules=${BOUNCER_RULES:-$srcdir/rules}
ctl=${BOUNCERCTL:-$srcdir/bouncerctl}
corpus=$shared/corpus
manifest=$corpus/manifest.tsv
disagree=$srcdir/t/data/corpus-disagree.tsv
scorer=$srcdir/t/lib/corpus-score.awk

if [ ! -f "$manifest" ]; then
	echo "$NAME: SKIP: $manifest not found (../shared is absent)"
	exit 0
fi

tmp=${TMPDIR:-/tmp}/$NAME.$$
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM
touch "$disagree"

corpus_files() {
	awk -F'\t' -v list=1 -v only="${1:-}" -f "$scorer" "$manifest" | sort
}

# corpus_classify LIST OUT [ARG...]: classify-mail on the files LIST names,
# relative to $corpus_dir (default: the corpus itself), into OUT.
corpus_classify() {
	_list=$1
	_out=$2
	shift 2
	(cd "${corpus_dir:-$corpus}" && xargs "$ctl" classify-mail -r "$rules" "$@" -H \
	    < "$_list") > "$_out" 2> "$_out.err"
	_rc=$?
	if [ $_rc -ne 0 ]; then
		echo "$NAME: FAIL: classify-mail${*:+ $*} exited $_rc"
		cat "$_out.err"
		return 1
	fi
	return 0
}

corpus_score() {
	_out=$1
	shift
	awk -F'\t' "$@" -f "$scorer" "$disagree" "$_out" "$manifest"
}
