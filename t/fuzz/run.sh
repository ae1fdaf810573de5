#!/bin/sh
# run.sh -- build the libFuzzer harnesses and run each for a while
#
# usage: sh t/fuzz/run.sh [target ...]    (targets: reply classify mail
#        maillog; all by default)
#
# Needs clang (libFuzzer, ASan, UBSan). Each target runs FUZZ_SECONDS
# (default 60) from a seed corpus made of rules/samples, bench/mix.tsv,
# the rules' own test vectors, t/data/sender-side.tsv and, when
# ../shared is there, the bounce corpus. Work goes to FUZZ_DIR (default /tmp/bouncer-fuzz); a crash
# leaves its input there and the script exits 1.

set -u
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
shared=${BOUNCER_SHARED:-$srcdir/../shared}
work=${FUZZ_DIR:-/tmp/bouncer-fuzz}
secs=${FUZZ_SECONDS:-60}
targets=${*:-reply classify mail maillog}

if ! command -v clang >/dev/null 2>&1; then
	echo "fuzz: SKIP: clang is not installed (apt-get install clang)"
	exit 0
fi
d=$srcdir/daemon
cflags="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
    -I$d $(pkg-config --cflags libpcre2-8)"
core="$d/xalloc.c $d/log.c $d/lineio.c $d/acmatch.c $d/prefilter.c $d/verdict.c
    $d/reply.c $d/replyapp.c $d/rules.c $d/classify.c $d/senderside.c $d/uncertain.c
    $d/phrases.c"
mkdir -p "$work" || exit 1

seeds() {	# target dir
	mkdir -p "$2"
	n=0
	case $1 in
	reply|classify)
		{ cut -f1,2 "$srcdir/rules/samples/replies.tsv"
		  grep -v '^#' "$srcdir/bench/mix.tsv" | cut -f2,3
		  sed -n 's/^[[:space:]]*test[[:space:]]\{1,\}\(.*\) => .*/\1/p' \
		      "$srcdir"/rules/*.rules
		  grep -v '^#' "$srcdir/t/data/sender-side.tsv" | cut -f2,3
		} | while IFS= read -r l; do
			n=$((n + 1))
			if [ "$1" = reply ]; then
				printf '%s' "${l#*	}" > "$2/s$n"
			else
				printf '%s' "$l" > "$2/s$n"
			fi
		done ;;
	maillog)
		grep -v '^#' "$srcdir/rules/samples/maillog" |
		    while IFS= read -r l; do
			n=$((n + 1)); printf '%s\n' "$l" > "$2/s$n"
		done ;;
	mail)
		if [ -d "$shared/corpus/maildir" ]; then
			find "$shared/corpus/maildir" -name '*.eml' \
			    -exec cp {} "$2/" \;
		else
			printf 'From: a@b\n\nx\n' > "$2/s1"
		fi ;;
	esac
}

fail=0
for t in $targets; do
	case $t in
	reply)		srcs="$d/xalloc.c $d/lineio.c $d/reply.c $d/replyapp.c"; max=70000 ;;
	classify)	srcs=$core; max=70000 ;;
	maillog)	srcs="$core $d/maillog.c"; max=70000 ;;
	mail)		srcs="$core $d/arena.c $d/mime.c $d/dsn*.c"; max=262144 ;;
	*)		echo "fuzz: unknown target $t"; exit 2 ;;
	esac
	bin=$work/fuzz_$t
	# shellcheck disable=SC2086
	clang $cflags -o "$bin" "$srcdir/t/fuzz/fuzz_$t.c" $srcs \
	    $(pkg-config --libs libpcre2-8) || exit 1
	[ -d "$work/corpus-$t" ] || seeds "$t" "$work/corpus-$t"
	mkdir -p "$work/crash-$t"
	echo "== fuzz $t: ${secs}s"
	# The harness's own resident size is mostly ASan's (shadow and a
	# 256 MB quarantine) and libFuzzer's corpus in memory: with the
	# seeds of every rule vector it starts near 1 GB, so the limit
	# that catches a real leak is 2 GB.
	if ! (cd "$srcdir" && FUZZ_RULES=$srcdir/rules "$bin" \
	    "$work/corpus-$t" -max_total_time="$secs" -max_len="$max" \
	    -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$work/crash-$t/" 2>"$work/$t.log"); then
		echo "fuzz $t: FAILED, see $work/$t.log and $work/crash-$t/"
		tail -30 "$work/$t.log"
		fail=1
	else
		grep -E '^stat::number_of_executed_units' "$work/$t.log"
	fi
done
exit $fail
