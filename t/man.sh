#!/bin/sh
# man.sh -- the man pages render, and say only what is so
#
# For each page of man/ (as make builds it from man/*.in):
#   - groff -ww -man -Tutf8 renders it without a single warning;
#   - every .TP tag (one line: what follows is the paragraph) and every
#     synopsis, as rendered, closes each "[" it opens, so that no
#     synopsis is cut short;
#   - it names no file of the source tree (t/, scripts/, conf/, ...),
#     and every file of bouncer's own it names under the installation
#     paths is there after "make install DESTDIR=..." (or, for a file
#     the daemon makes, its directory is);
# bouncerctl(8)'s examples name only stock rule files, bouncer-rules(5)
# lists every stock rule file under FILES; the systemd
# unit, README and the "user" default agree on the user.
#
# Run by "make check" (after make has built the pages); by hand:
# sh t/man.sh in the build tree.
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
CTL=${BOUNCERCTL:-$SRC/bouncerctl}
PY=/usr/bin/python3
. "$SRC/t/lib/sh.sh"
T=$(mktemp -d /tmp/bouncer-man.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 2' HUP INT TERM

if ! command -v groff >/dev/null 2>&1; then
	echo "man.sh: groff is missing (apt-get install groff-base)"
	exit 1
fi

PAGES="bouncerd.8 bouncerctl.8 bouncer.conf.5 bouncer-rules.5"
for p in $PAGES; do
	[ -f "$SRC/man/$p" ] && ! [ "$SRC/man/$p.in" -nt "$SRC/man/$p" ] || {
		bad "man/$p is not built from man/$p.in (run make)"; continue; }
done

# The rendered text: no bold or underline, no hyphenation of words.
render() {
	MANWIDTH=80 groff -man -Tutf8 -P-cbou -rHY=0 "$SRC/man/$1" 2>/dev/null
}

# --- groff warnings -----------------------------------------------------

for p in $PAGES; do
	groff -ww -man -Tutf8 -z "$SRC/man/$p" >"$T/warn" 2>&1
	if [ -s "$T/warn" ]; then
		bad "$p: groff warnings:"; cat "$T/warn"
	else
		ok
	fi
done

# --- brackets: .TP tags in the source, synopses as rendered ---------------

for p in $PAGES; do
	# The line after .TP (after any .PD) is the tag, whole.
	awk -v page="$p" '
	function strip(s) {
		gsub(/\\f[BIRP]/, "", s); gsub(/\\\(lq|\\\(rq/, "", s)
		gsub(/\\\[/, "", s); gsub(/\\\]/, "", s)
		return s
	}
	/^\.TP/ { tag = 1; next }
	tag && /^\.PD/ { next }
	tag {
		tag = 0
		s = strip($0)
		o = gsub(/\[/, "[", s); c = gsub(/\]/, "]", s)
		if (o != c)
			printf "%s.in:%d: .TP tag opens %d [ and closes %d: %s\n",
			    page, NR, o, c, $0
	}' "$SRC/man/$p.in" >"$T/tags"
	if [ -s "$T/tags" ]; then
		bad "$p: .TP tags cut short:"; cat "$T/tags"
	else
		ok
	fi
	# Each synopsis entry starts with the program's name (or a path, for
	# a file format) and goes on, when long, on the lines after.
	render "$p" | awk '
	/^SYNOPSIS/ { on = 1; next }
	on && /^[A-Z]/ { on = 0 }
	on && /^ +(bouncer|\/)/ { if (e != "") print e; e = $0; next }
	on && /^ +[^ ]/ { e = e " " $0; next }
	END { if (e != "") print e }' >"$T/syn"
	n=$(wc -l <"$T/syn")
	if [ "$n" -eq 0 ]; then
		bad "$p: no SYNOPSIS"
		continue
	fi
	awk '{
		s = $0
		o = gsub(/\[/, "[", s); c = gsub(/\]/, "]", s)
		if (o != c) print
	}' "$T/syn" >"$T/synbad"
	if [ -s "$T/synbad" ]; then
		bad "$p: synopsis brackets do not close:"; cat "$T/synbad"
	else
		ok
	fi
done

# --- files named ----------------------------------------------------------

for p in $PAGES; do
	render "$p" | grep -nE \
	    '(^|[ ("“])(\./)?(t|scripts|conf|daemon|bench|debian)/[A-Za-z*]' \
	    >"$T/src"
	if [ -s "$T/src" ]; then
		bad "$p: names files of the source tree:"; cat "$T/src"
	else
		ok
	fi
done

# What make install puts where; the pages were built with the same paths.
if make -s -C "$SRC" install DESTDIR="$T/root" >"$T/install.log" 2>&1; then
	ok
	for p in $PAGES; do
		render "$p" |
		    grep -oE '/[A-Za-z0-9_.+/-]*/(bouncer|bouncerd|bouncerctl)([/.][A-Za-z0-9_./-]*)?' |
		    sed 's/[.]*$//' | sort -u >"$T/paths"
		: >"$T/missing"
		while read -r f; do
			case $f in
			# Not installed by make: the operator's and the OS's.
			/etc/*|/run/*|/var/*|/lib/*|/tmp/*) continue ;;
			esac
			[ -e "$T/root$f" ] || [ -d "$T/root$(dirname "$f")" ] ||
			    echo "$f" >>"$T/missing"
		done <"$T/paths"
		if [ -s "$T/missing" ]; then
			bad "$p: names files make install does not install:"
			cat "$T/missing"
		else
			ok
		fi
	done
else
	bad "make install DESTDIR=$T/root failed:"; cat "$T/install.log"
fi

# bouncerctl(8) shows output of the stock rules: the rule files it names
# are in rules/.
render bouncerctl.8 | grep -oE '[a-z0-9-]+\.rules' | sort -u >"$T/rulefiles"
: >"$T/norules"
while read -r f; do
	[ -f "$SRC/rules/$f" ] || echo "$f" >>"$T/norules"
done <"$T/rulefiles"
if [ -s "$T/norules" ]; then
	bad "bouncerctl(8) names rule files that are not shipped:"
	cat "$T/norules"
else
	ok
fi

# bouncer-rules(5)'s FILES lists the stock rule files: every file of
# rules/ and no other, so that a new provider's file is not forgotten.
render bouncer-rules.5 | sed -n '/^FILES/,/^SEE ALSO/p' |
    grep -oE '[a-z0-9-]+\.rules' | sort -u >"$T/listed"
(cd "$SRC/rules" && ls -- *.rules) | sort -u >"$T/shipped"
if cmp -s "$T/listed" "$T/shipped"; then
	ok
else
	bad "bouncer-rules(5) FILES and rules/*.rules differ (< page, > rules/):"
	diff "$T/listed" "$T/shipped" | grep '^[<>]'
fi

# --- the user -----------------------------------------------------------

unit=$(sed -n 's/^User=//p' "$SRC/conf/bouncerd.service")
readme=$(sed -n 's/^ *useradd .* \([a-z_][a-z0-9_-]*\)$/\1/p' "$SRC/README")
conf=$("$CTL" -c /dev/null config user | sed -n 's/^user = //p')
if [ -n "$unit" ] && [ "$unit" = "$readme" ] && [ "$unit" = "$conf" ]; then
	ok
else
	bad "the user: unit file \"$unit\", README useradd \"$readme\"," \
	    "user default \"$conf\""
fi

echo "man.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
