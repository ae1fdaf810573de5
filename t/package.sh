#!/bin/bash
# package.sh -- the Debian package: build, install, run, upgrade, purge
#
# usage: BOUNCER_TEST_PACKAGE=1 sh t/package.sh
#
# Installs the bouncer package on this machine and purges it at the end,
# so make check runs it only when BOUNCER_TEST_PACKAGE=1 (scripts/test
# sets it); otherwise it prints SKIP. Needs root, a git checkout with
# ./configure (make dist), debhelper, Postfix and what t/e2e needs.
#
#  1. make dist; the tarball unpacked and built with dpkg-buildpackage
#     -us -uc -b, twice: VERSION and VERSION+pkgtest1 (the upgrade);
#     lintian reports no error on the first.
#  2. apt-get install ./bouncer_VERSION_*.deb: the user bouncer in group
#     adm, /var/lib/bouncer (bouncer, 0750), the conffiles.
#  3. The unit's ExecCondition refuses to start an unconfigured bouncerd;
#     once bouncer.conf sets maillog_file it agrees, and bouncerd runs as
#     the unit runs it (its ExecStart, as User=, Group= and
#     SupplementaryGroups=; there is no systemd here), with the installed
#     bouncer.conf, rules and store, hooked into a private Postfix with the
#     installed postfix-main.cf: an unknown user bounces, is suppressed,
#     and is refused at RCPT TO the next time.
#  4. t/e2e/run.sh, every scenario, with the installed bouncerd,
#     bouncerctl, rules and postfix-main.cf.
#  5. An edited rule file and bouncer.conf, a rule file of the operator's
#     in /etc/bouncer/rules.d, and the store (bouncerctl dump and list,
#     before and after) survive the upgrade to
#     VERSION+pkgtest1; bouncerd starts again on them.
#  6. apt-get remove keeps the state, the user and the configuration;
#     purge removes them, leaving only the operator's file in rules.d.
# Whatever fails, the package is purged and everything started is stopped.
#
# Environment: KEEP=1 keeps the temporary directory.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

if [ "${BOUNCER_TEST_PACKAGE:-0}" != 1 ]; then
	echo "package: SKIP: installs and purges the bouncer package; set BOUNCER_TEST_PACKAGE=1"
	exit 0
fi

SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
UNIT=/lib/systemd/system/bouncerd.service
SNIPPET=/usr/share/bouncer/conf/postfix-main.cf
APT="apt-get -q -y --no-install-recommends -o DPkg::Lock::Timeout=300"
export DEBIAN_FRONTEND=noninteractive

miss=
[ "$(id -u)" = 0 ] || miss="$miss root"
for c in dpkg-buildpackage dh lintian git postfix swaks setpriv; do
	command -v "$c" >/dev/null 2>&1 || miss="$miss $c"
done
[ -e "$SRC/.git" ] && [ -x "$SRC/configure" ] && [ -f "$SRC/config.mk" ] ||
    miss="$miss a-configured-git-checkout"
if [ -n "$miss" ]; then
	echo "package: SKIP: missing$miss (scripts/setup-deps; run as root)"
	exit 0
fi
# Never touch a real installation: its purge would take its state.
if dpkg-query -W -f='${Status}' bouncer 2>/dev/null | grep -qv ' not-installed$' ||
    getent passwd bouncer >/dev/null || [ -e /etc/bouncer ] ||
    [ -e /var/lib/bouncer ]; then
	echo "package: SKIP: bouncer is installed here (or its user, /etc/bouncer, /var/lib/bouncer exist)"
	exit 0
fi
# One run at a time on this machine.
exec 9>/run/lock/bouncer-package-test.lock
if ! flock -w 900 9; then
	echo "package: FAIL: another t/package.sh holds the lock"
	exit 1
fi

# The e2e library, for the private Postfix, the provider and the waits.
BOUNCERD=/usr/sbin/bouncerd
BOUNCERCTL=/usr/sbin/bouncerctl
BOUNCER_RULES=/etc/bouncer/rules
BOUNCER_POSTFIX_SNIPPET=$SNIPPET
export BOUNCERD BOUNCERCTL BOUNCER_RULES BOUNCER_POSTFIX_SNIPPET
. "$SRC/t/e2e/lib.sh"

FAILS=0
PASSES=0
ok() { echo "ok   $*"; PASSES=$((PASSES + 1)); }
no() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
# check WHAT CMD...: CMD must succeed.
check() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$what"; else no "$what"; fi
}
# fatal WHAT: nothing after this makes sense.
fatal() {
	no "$*"
	echo "package: stopped at: $*"
	exit 1
}

pkg_cleanup() {
	local pid
	pid=$(cat "$T/site/bouncerd.pid" 2>/dev/null)
	[ -n "$pid" ] && stop_pid "$pid" 2>/dev/null
	if dpkg-query -W -f='${Status}' bouncer 2>/dev/null | grep -qv ' not-installed$'; then
		e2e_say "package: purging bouncer"
		$APT purge bouncer >/dev/null 2>&1 || dpkg --purge bouncer >/dev/null 2>&1
	fi
	# Neither existed before (checked above): what is left is ours.
	rm -rf /run/bouncer /etc/bouncer
	e2e_cleanup
}
e2e_setup bouncer-package
trap pkg_cleanup EXIT
t0=$(date +%s)

# --- 1. build -------------------------------------------------------------

VERSION=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
V2=$VERSION+pkgtest1
ARCH=$(dpkg --print-architecture)
# make dist writes in the tree (only the tarball); the build runs in $T.
make -s -C "$SRC" dist >"$T/dist.log" 2>&1 || { cat "$T/dist.log"; fatal "make dist"; }
UPSTREAM=$(sed -n 's/^PACKAGE_VERSION *= *//p' "$SRC/config.mk")
TARBALL=$SRC/bouncer-$UPSTREAM.tar.gz
check "debian/changelog's version is configure.ac's ($UPSTREAM)" \
    test "$VERSION" = "$UPSTREAM"
# build DIR: the unpacked tarball in $T/DIR, built; its .deb in $T.
build() {
	( cd "$T/$1" && DEB_BUILD_OPTIONS="parallel=2 ${DEB_BUILD_OPTIONS:-}" \
	    dpkg-buildpackage -us -uc -b ) >"$T/$1.log" 2>&1
}
mkdir "$T/v1" "$T/v2"
tar -xzf "$TARBALL" -C "$T/v1" --strip-components=1
tar -xzf "$TARBALL" -C "$T/v2" --strip-components=1
{
	printf 'bouncer (%s) unstable; urgency=medium\n\n' "$V2"
	printf '  * Rebuilt, to test upgrades.\n\n'
	printf ' -- bouncer authors <test@example.org>  %s\n\n' "$(date -R)"
	cat "$T/v1/debian/changelog"
} >"$T/v2/debian/changelog"
build v1 || { tail -n 30 "$T/v1.log"; fatal "dpkg-buildpackage -us -uc -b ($VERSION)"; }
ok "dpkg-buildpackage -us -uc -b builds bouncer_${VERSION}_$ARCH.deb"
build v2 || { tail -n 30 "$T/v2.log"; fatal "dpkg-buildpackage -us -uc -b ($V2)"; }
ok "and bouncer_${V2}_$ARCH.deb"
DEB1=$T/bouncer_${VERSION}_$ARCH.deb
DEB2=$T/bouncer_${V2}_$ARCH.deb
lintian "$T/bouncer_${VERSION}_${ARCH}.changes" >"$T/lintian.out" 2>&1
if grep -q '^E:' "$T/lintian.out"; then
	grep '^E:' "$T/lintian.out"
	no "lintian: errors"
else
	ok "lintian: no error ($(grep -c '^W:' "$T/lintian.out") warnings)"
fi

# --- 2. install -----------------------------------------------------------

$APT install "$DEB1" >"$T/install1.log" 2>&1 ||
    { tail -n 20 "$T/install1.log"; fatal "apt-get install ./bouncer_${VERSION}_$ARCH.deb"; }
ok "apt-get install ./bouncer_${VERSION}_$ARCH.deb"
check "the system user bouncer, in group adm" \
    sh -c 'id -nG bouncer | tr " " "\n" | grep -qx adm && [ "$(getent passwd bouncer | cut -d: -f3)" -lt 1000 ]'
check "/var/lib/bouncer is bouncer's, mode 0750" \
    sh -c '[ "$(stat -c "%U:%G %a" /var/lib/bouncer)" = "bouncer:bouncer 750" ]'
conffiles_ok() {
	local c
	c=$(dpkg-query -W -f='${Conffiles}\n' bouncer)
	grep -q '^ /etc/bouncer/bouncer.conf ' <<<"$c" &&
	    [ "$(grep -c '^ /etc/bouncer/rules/[^/]*\.rules ' <<<"$c")" = \
	    "$(ls "$SRC"/rules/*.rules | wc -l)" ]
}
check "bouncer.conf and every rule file are conffiles" conffiles_ok
check "the installed rules pass their test vectors" \
    $BOUNCERCTL rules test -r /etc/bouncer/rules
check "bouncerd -V says $VERSION" sh -c "$BOUNCERD -V | grep -qx 'bouncerd $VERSION'"
check "bouncerctl's default store is /var/lib/bouncer/state.db" \
    sh -c "$BOUNCERCTL config store | grep -qx 'store = sqlite:/var/lib/bouncer/state.db'"
for f in /usr/share/doc/bouncer/examples/mail-postmaster \
    /usr/share/doc/bouncer/examples/postfix-main.cf $SNIPPET \
    /usr/share/man/man8/bouncerd.8.gz /usr/share/man/man5/bouncer.conf.5.gz \
    /usr/share/doc/bouncer/copyright $UNIT; do
	check "installed: $f" test -s "$f"
done

# --- 3. the service, as the unit runs it -------------------------------------

# unit_cmd KEY: the unit's KEY= command line (no systemd prefixes used).
unit_cmd() { sed -n "s/^$1=//p" "$UNIT"; }
unit_val() { unit_cmd "$1"; }
UNIT_USER=$(unit_val User)
UNIT_GROUP=$(unit_val Group)
UNIT_GROUPS=$(unit_val SupplementaryGroups | tr ' ' ,)
# "${AS_UNIT[@]}" CMD...: CMD as the unit's user, group and groups, the
# environment cleared, as systemd starts ExecCondition= and ExecStart=
# (one exec after another: the PID is CMD's).
AS_UNIT=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
    setpriv --reuid="$UNIT_USER" --regid="$UNIT_GROUP"
    --groups="$UNIT_GROUPS" --)
as_unit() { "${AS_UNIT[@]}" "$@"; }
# condition: the unit's ExecCondition status.
condition() {
	# shellcheck disable=SC2046
	as_unit $(unit_cmd ExecCondition) 2>"$T/condition.err"
}
# systemd-analyze needs no running systemd. Its man(1) lookups of the
# Documentation= pages are left out: they say how man is set up here.
if command -v systemd-analyze >/dev/null 2>&1; then
	systemd-analyze verify "$UNIT" >"$T/verify.out" 2>&1
	if grep -v "Command 'man " "$T/verify.out" | grep -q .; then
		cat "$T/verify.out"
		no "systemd-analyze verify $UNIT"
	else
		ok "systemd-analyze verify $UNIT"
	fi
fi
check "the unit runs as bouncer, group bouncer, in adm" \
    test "$UNIT_USER:$UNIT_GROUP:$UNIT_GROUPS" = bouncer:bouncer:adm
check "the unit: StateDirectory=bouncer, StateDirectoryMode=0750" \
    sh -c "[ '$(unit_val StateDirectory)' = bouncer ] && [ '$(unit_val StateDirectoryMode)' = 0750 ]"
condition
rc=$?
check "unconfigured: ExecCondition says not to start (1, got $rc)" test "$rc" = 1
check "and says what to set" grep -q 'set maillog_file' "$T/condition.err"
cp /etc/bouncer/bouncer.conf "$T/bouncer.conf.orig"
echo "no_such_parameter = 1" >>/etc/bouncer/bouncer.conf
condition
rc=$?
check "a bad bouncer.conf: ExecCondition fails the unit (255, got $rc)" test "$rc" = 255
check "and says where" grep -q 'bouncer.conf:[0-9]*: no_such_parameter' "$T/condition.err"
cp "$T/bouncer.conf.orig" /etc/bouncer/bouncer.conf

D=$T/site
site_init "$D"
. "$D/env"
cat >"$D/replies" <<'EOF'
nosuchuser@gmail.com
    550-5.1.1 The email account that you tried to reach does not exist. Please try
    550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si1 - gsmtp
full@gmail.com
    452-4.2.2 The email account that you tried to reach is over quota. Please direct
    452 4.2.2  https://support.google.com/mail/?p=OverQuotaTemp x74si3925543pgx.490 - gsmtp
busy@outlook.com
    451 4.7.500 Server busy. Please try again later from [192.0.2.12]. (S77714) [Name=Protocol Filter Agent][AGT=PFA][MxId=11BA9CD5A4E2E5B1] [DM6NAM12FT010.eop-nam12.prod.protection.outlook.com]
EOF
provider_start "$D" || fatal "the scripted provider starts"
# Postfix writes its own log, readable by group adm (README, b).
mkdir -p "$D/pf"
chmod 755 "$D/pf"
install -m 0640 -o root -g adm /dev/null "$D/pf/maillog"
cat >>/etc/bouncer/bouncer.conf <<EOF

# --- set by t/package.sh ---
maillog_file = $D/pf/maillog
maillog_poll_ms = 50
policy_listen = inet:127.0.0.1:$POLICY_PORT
milter_listen = inet:127.0.0.1:$MILTER_PORT
metrics_listen = 127.0.0.1:$METRICS_PORT
# Long enough for the throttle to outlast the e2e run below.
throttle_backoff = 1h
EOF
condition
rc=$?
check "configured: ExecCondition says start (0, got $rc)" test "$rc" = 0

# service_start: bouncerd as ExecStart= says, as the unit's user; systemd
# would make RuntimeDirectory=bouncer first.
service_start() {
	install -d -o "$UNIT_USER" -g "$UNIT_GROUP" -m 0755 /run/bouncer
	# shellcheck disable=SC2046
	spawn "$D/bouncerd.log" "${AS_UNIT[@]}" $(unit_cmd ExecStart)
	echo "$SPAWNED" >"$D/bouncerd.pid"
	wait_for 20 "bouncerd answers" bouncerd_up "$D" && alive "$SPAWNED"
}
service_stop() { stop_pid "$(cat "$D/bouncerd.pid")" 2>/dev/null; }
service_start || { tail -n 20 "$D/bouncerd.log"; fatal "bouncerd starts as the unit runs it"; }
ok "bouncerd runs as the unit runs it: $(unit_cmd ExecStart)"
pid=$(cat "$D/bouncerd.pid")
check "as user bouncer with groups bouncer and adm" \
    sh -c "[ \"\$(stat -c %U /proc/$pid)\" = bouncer ] && grep -q '^Groups:.*\b$(getent group adm | cut -d: -f3)\b' /proc/$pid/status"
pf_start "$D" || fatal "the private Postfix starts, with $SNIPPET"
ok "a private Postfix, hooked with $SNIPPET"

send "$D" "$D/m1.out" sender@example.net nosuchuser@gmail.com,friend@gmail.com
wait_for 30 "the bounce" has "$D/pf/maillog" 'to=<nosuchuser@gmail.com>, .*status=bounced' &&
    ok "nosuchuser@gmail.com bounced" || no "nosuchuser@gmail.com bounced"
# bouncerctl as the bouncer user, on the installed bouncer.conf's store.
ctl_unit() { as_unit "$BOUNCERCTL" "$@"; }
# ctl_has ERE ARGS...: bouncerctl ARGS prints a line matching ERE.
ctl_has() {
	local re=$1
	shift
	ctl_unit "$@" 2>/dev/null | grep -qE -- "$re"
}
wait_for 20 "the decision" ctl_has 'state=suppressed reason=userunknown' query nosuchuser@gmail.com &&
    ok "in /var/lib/bouncer/state.db: nosuchuser@gmail.com suppressed" ||
    no "in /var/lib/bouncer/state.db: nosuchuser@gmail.com suppressed"
check "the store is bouncer's" sh -c '[ "$(stat -c %U /var/lib/bouncer/state.db)" = bouncer ]'
send "$D" "$D/m2.out" sender@example.net nosuchuser@gmail.com,friend2@gmail.com
check "the next message: RCPT TO:<nosuchuser@gmail.com> refused (550 5.1.1)" \
    sh -c "grep -A1 -F -- '-> RCPT TO:<nosuchuser@gmail.com>' '$D/m2.out' | grep -qE '<\*\* 550 5\.1\.1 .*suppressed'"
check "RCPT TO:<friend2@gmail.com> accepted" \
    sh -c "grep -A1 -F -- '-> RCPT TO:<friend2@gmail.com>' '$D/m2.out' | grep -qE '<- +250 '"
# A back-off, a throttle and a suppression by hand: the upgrade keeps
# them too.
send "$D" "$D/m3.out" sender@example.net full@gmail.com,busy@outlook.com
wait_for 30 "the back-off" ctl_has 'state=deferred reason=mailboxfull' query full@gmail.com &&
    ok "full@gmail.com in back-off (452 4.2.2)" || no "full@gmail.com in back-off (452 4.2.2)"
wait_for 30 "the throttle" ctl_has '^outlook\.com' throttle list &&
    ok "outlook.com throttled (451 4.7.500)" || no "outlook.com throttled (451 4.7.500)"
ctl_unit suppress add --reason userunknown manual@example.com >/dev/null 2>&1
check "bouncerctl suppress add, as bouncer" \
    ctl_has state=suppressed query manual@example.com
pf_stop "$D"

# --- 4. the e2e scenarios, installed -------------------------------------

echo "package: t/e2e/run.sh with $BOUNCERD, $BOUNCERCTL, $BOUNCER_RULES, $SNIPPET"
bash "$SRC/t/e2e/run.sh" >"$T/e2e.out" 2>&1
rc=$?
sed 's/^/    /' "$T/e2e.out" | grep -E '^    (PASS|FAIL|SKIP|     -|e2e:)'
npass=$(grep -c '^PASS' "$T/e2e.out")
if [ $rc = 0 ] && [ "$npass" -ge 11 ]; then
	ok "e2e: $npass scenarios pass against the installed package"
else
	no "e2e against the installed package ($npass passed, status $rc)"
fi

# --- 5. upgrade ---------------------------------------------------------------

echo "# a local edit, kept across upgrades" >>/etc/bouncer/rules/gmail.rules
# The operator's own rules: a provider of their own in rules.d.
check "installed: /etc/bouncer/rules.d, empty" \
    sh -c '[ -d /etc/bouncer/rules.d ] && [ -z "$(ls -A /etc/bouncer/rules.d)" ]'
cat >/etc/bouncer/rules.d/corp.rules <<'EOF'
provider corp
domain mycorp.example

rule archive-only
	match	mailbox is archive-only
	reason	suspend
	decision suppress
	test	550 5.2.1 mailbox is archive-only => suspend suppress
EOF
cp /etc/bouncer/rules.d/corp.rules "$T/corp.rules"
# local_rule_used: bouncerctl classify, on the installed rule set, uses it.
local_rule_used() {
	printf 'b@mycorp.example\t550 5.2.1 mailbox is archive-only\n' |
	    $BOUNCERCTL classify | grep -q '	suspend	suppress	.*corp\.rules:'
}
check "a rule file in /etc/bouncer/rules.d is used" local_rule_used
cp /etc/bouncer/rules/gmail.rules "$T/gmail.rules.edited"
cp /etc/bouncer/bouncer.conf "$T/bouncer.conf.edited"
service_stop
# Everything the store holds (recipients, destinations, alerts, audit
# trails, events, notes), and the states as an operator lists them; but
# the note bouncerd's store health check rewrites as it runs (h:probe).
dump() {
	{ ctl_unit dump && echo "--- list" && ctl_unit list; } >"$T/dump.raw" &&
	    grep -v '^note,h:probe,' "$T/dump.raw"
}
dump >"$T/dump.before" 2>&1 || no "bouncerctl dump before the upgrade"
check "the dump holds the decisions" \
    sh -c "grep -q nosuchuser@gmail.com '$T/dump.before' &&
	grep -q manual@example.com '$T/dump.before' &&
	grep -q full@gmail.com '$T/dump.before' &&
	grep -q '^dest,outlook\.com,' '$T/dump.before' &&
	grep -q '^audit,nosuchuser@gmail\.com,' '$T/dump.before'"
$APT install "$DEB2" >"$T/install2.log" 2>&1 ||
    { tail -n 20 "$T/install2.log"; fatal "apt-get install ./bouncer_${V2}_$ARCH.deb"; }
check "upgraded to $V2" \
    sh -c "[ \"\$(dpkg-query -W -f='\${Version}' bouncer)\" = '$V2' ] && $BOUNCERD -V | grep -q ."
check "the edited gmail.rules is kept" cmp "$T/gmail.rules.edited" /etc/bouncer/rules/gmail.rules
check "the edited bouncer.conf is kept" cmp "$T/bouncer.conf.edited" /etc/bouncer/bouncer.conf
corp_kept() { cmp -s "$T/corp.rules" /etc/bouncer/rules.d/corp.rules && local_rule_used; }
check "rules.d/corp.rules is kept, and used" corp_kept
check "no conffile prompt or .dpkg-new" \
    sh -c '! ls /etc/bouncer/*.dpkg-* /etc/bouncer/rules/*.dpkg-* 2>/dev/null | grep -q .'
check "the user and /var/lib/bouncer are kept" \
    sh -c '[ "$(stat -c "%U:%G %a" /var/lib/bouncer)" = "bouncer:bouncer 750" ] && id -nG bouncer | grep -qw adm'
condition
check "ExecCondition still says start" test $? = 0
service_start || { tail -n 20 "$D/bouncerd.log"; no "bouncerd starts after the upgrade"; }
dump >"$T/dump.after" 2>&1
if diff -u "$T/dump.before" "$T/dump.after" >"$T/dump.diff"; then
	ok "every decision in the store survives the upgrade ($(wc -l <"$T/dump.before") lines of dump and list)"
else
	cat "$T/dump.diff"
	no "the store changed across the upgrade"
fi
check "and the policy server still refuses nosuchuser@gmail.com" \
    policy_is "$D" nosuchuser@gmail.com '^(REJECT|550) '
service_stop

# --- 6. purge -------------------------------------------------------------

$APT remove bouncer >"$T/remove.log" 2>&1 || no "apt-get remove bouncer"
check "remove keeps the store, the user and bouncer.conf" \
    sh -c 'test -f /var/lib/bouncer/state.db && getent passwd bouncer && test -f /etc/bouncer/bouncer.conf && ! test -e /usr/sbin/bouncerd'
$APT purge bouncer >"$T/purge.log" 2>&1 || no "apt-get purge bouncer"
check "purge removes /var/lib/bouncer" test ! -e /var/lib/bouncer
check "purge leaves the operator's rules.d/corp.rules, and nothing else in /etc/bouncer" \
    sh -c '[ "$(find /etc/bouncer ! -type d)" = /etc/bouncer/rules.d/corp.rules ]'
rm -rf /etc/bouncer
check "purge removes the user and the group bouncer" \
    sh -c '! getent passwd bouncer && ! getent group bouncer'
check "dpkg knows bouncer no more" \
    sh -c '! dpkg-query -W -f="\${Status}" bouncer 2>/dev/null | grep -qv " not-installed\$"'

echo "package: $PASSES passed, $FAILS failed, $(( $(date +%s) - t0 ))s"
[ $FAILS = 0 ]
