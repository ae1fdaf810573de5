#!/bin/sh
# dates.sh -- the daemon's test again, at other dates
#
# t/bouncerd.sh builds every time stamp from the clock it shares with
# bouncerd and bouncerctl (BOUNCER_NOW, clock.h). Here it runs with that
# clock moved to the next 15 March (summer time is near, a month with
# 31 days before it) and to the next 2 January at 10:00, where a syslog
# stamp of the day before yesterday, which carries no year, belongs to
# the year before. Dates are computed from today, so the test never
# expires.
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
now=$(date +%s)
year=$(date +%Y)
fail=0

# next DATE: the first "YEAR-MM-DD HH:MM" of this year or the next
# that is still ahead, as epoch seconds.
next() {
	t=$(date -d "$year-$1" +%s)
	[ "$t" -gt "$now" ] || t=$(date -d "$((year + 1))-$1" +%s)
	echo "$t"
}

for when in "03-15 12:00" "01-02 10:00"; do
	t=$(next "$when")
	echo "dates.sh: bouncerd.sh at $(date -d "@$t" '+%Y-%m-%d %H:%M %Z')"
	BOUNCER_NOW=+$((t - now)) sh "$SRC/t/bouncerd.sh" || fail=1
done
[ $fail = 0 ] && echo "dates.sh: 2 passed, 0 failed" ||
    echo "dates.sh: FAILED"
[ $fail = 0 ]
