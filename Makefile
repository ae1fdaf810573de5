# Makefile -- bouncer, for GNU make
#
# configure writes config.mk (paths, compiler, library flags); this file
# holds the rules. Run ./autogen.sh on a fresh clone, then ./configure.
#
#   make            build bouncerctl
#   make check      build and run the tests in t/
#   make bench      measure classifier throughput (see BENCHMARKS.md)
#   make fuzz       run the libFuzzer harnesses in t/fuzz (needs clang)
#   make soak       10 minutes of traffic and faults (t/soak/soak.py)
#   make install    install programs, rules, sample config and man pages
#   make dist       bouncer-VERSION.tar.gz, which builds without autotools
#   make distcheck  build, test, install and uninstall that tarball
#   make deb        the Debian package, built from that tarball (debian/)

# clean and distclean work without it (dpkg-buildpackage cleans first).
CLEAN_ONLY = $(if $(MAKECMDGOALS),$(if $(filter-out clean distclean,$(MAKECMDGOALS)),,yes))
ifeq ($(wildcard config.mk),)
ifeq ($(CLEAN_ONLY),)
$(error config.mk is missing: run ./autogen.sh (fresh clone) and ./configure first)
endif
else
include config.mk
endif

WARN      = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	    -Wmissing-prototypes -Wno-unused-parameter
XCFLAGS   = -std=c11 -D_GNU_SOURCE $(WARN) $(SANITIZE_FLAGS) \
	    $(PCRE2_CFLAGS) $(LIBEVENT_CFLAGS) \
	    -DRULES_DIR='"$(sysconfdir)/bouncer/rules"' \
	    -DRULES_LOCAL_DIR='"$(sysconfdir)/bouncer/rules.d"' \
	    $(STORE_CFLAGS) \
	    -DPACKAGE_VERSION='"$(PACKAGE_VERSION)"'
XLDFLAGS  = $(SANITIZE_FLAGS) $(LDFLAGS)

# The store: SQLite always, Redis when configure found hiredis (and
# was not given --without-hiredis).
STORE_CFLAGS = $(SQLITE_CFLAGS) $(HIREDIS_CFLAGS) \
	    $(if $(HAVE_HIREDIS),-DHAVE_HIREDIS) \
	    -DCONF_FILE='"$(sysconfdir)/bouncer/bouncer.conf"' \
	    -DSTORE_DEFAULT='"sqlite:$(localstatedir)/lib/bouncer/state.db"' \
	    -DSTATE_DIR='"$(localstatedir)/lib/bouncer"'
STORE_SRCS = daemon/conf.c daemon/store.c daemon/view.c daemon/store_sqlite.c \
	    $(if $(HAVE_HIREDIS),daemon/store_redis.c) \
	    daemon/engine.c daemon/pipeline.c
STORE_LIBS = $(SQLITE_LIBS) $(HIREDIS_LIBS) -lm

LIB_SRCS  = daemon/xalloc.c daemon/log.c daemon/clock.c daemon/lineio.c \
	    daemon/histo.c \
	    daemon/acmatch.c daemon/prefilter.c daemon/verdict.c \
	    daemon/reply.c daemon/replyapp.c daemon/rules.c daemon/classify.c \
	    daemon/senderside.c \
	    daemon/uncertain.c daemon/phrases.c \
	    daemon/maillog.c \
	    daemon/logline.c \
	    daemon/arena.c daemon/mime.c daemon/dsn.c daemon/dsn_scan.c \
	    daemon/dsn_text.c daemon/dsn_json.c daemon/dsn_arf.c daemon/dsn_notice.c daemon/dsn_classify.c \
	    daemon/listener.c daemon/policy.c daemon/logtail.c \
	    daemon/alert.c daemon/dnsbl.c daemon/health.c daemon/metrics.c daemon/milter.c daemon/socketmap.c \
	    daemon/connlimit.c daemon/daemonize.c daemon/writer.c \
	    $(STORE_SRCS)
LIB_OBJS  = $(LIB_SRCS:.c=.o)
LIB       = daemon/libbouncer.a
LIB_LIBS  = $(PCRE2_LIBS) $(LIBEVENT_LIBS) $(MILTER_LIBS) $(STORE_LIBS)

PROGS     = bouncerctl bouncerd
TESTS     = $(patsubst %.c,%,$(wildcard t/check_*.c))
TEST_LIB  = t/lib/testlib.o
SCRIPTS   = $(wildcard t/*.sh) t/e2e/run.sh
MANS      = man/bouncerd.8 man/bouncerctl.8 man/bouncer-rules.5 \
	    man/bouncer.conf.5

all: $(PROGS) $(MANS)

daemon/%.o: daemon/%.c $(wildcard daemon/*.h) config.mk
	$(CC) $(CPPFLAGS) $(CFLAGS) $(XCFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJS)

bouncerd: daemon/bouncerd.o $(LIB)
	$(CC) $(XLDFLAGS) -o $@ daemon/bouncerd.o $(LIB) $(LIB_LIBS) $(LIBS)

# The CLI's own code: its commands on the store stay out of the library.
CTL_OBJS  = daemon/bouncerctl.o daemon/storecmd.o daemon/blocklistcmd.o

bouncerctl: $(CTL_OBJS) $(LIB)
	$(CC) $(XLDFLAGS) -o $@ $(CTL_OBJS) $(LIB) $(LIB_LIBS) $(LIBS)

man/%: man/%.in config.mk
	$(SED) -e 's|@sysconfdir@|$(sysconfdir)|g' \
	       -e 's|@localstatedir@|$(localstatedir)|g' \
	       -e 's|@datadir@|$(datadir)|g' \
	       -e 's|@libexecdir@|$(libexecdir)|g' \
	       -e 's|@VERSION@|$(PACKAGE_VERSION)|g' $< > $@

# --- tests ------------------------------------------------------------

t/lib/%.o: t/lib/%.c t/lib/testlib.h config.mk
	$(CC) $(CPPFLAGS) $(CFLAGS) $(XCFLAGS) $(CHECK_CFLAGS) -Idaemon -c -o $@ $<

t/check_%: t/check_%.c $(TEST_LIB) $(LIB)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(XCFLAGS) $(CHECK_CFLAGS) -Idaemon -It/lib \
	    -o $@ $< $(TEST_LIB) $(LIB) $(LIB_LIBS) $(CHECK_LIBS) $(XLDFLAGS) $(LIBS)

# Tests find the source tree, the rules and ../shared through these.
TEST_ENV  = BOUNCER_SRCDIR=$(CURDIR) BOUNCER_RULES=$(CURDIR)/rules \
	    BOUNCER_SHARED=$(abspath $(CURDIR)/../shared) \
	    BOUNCERCTL=$(CURDIR)/bouncerctl CK_DEFAULT_TIMEOUT=120

check: all $(TESTS)
	@fail=0; \
	for t in $(TESTS); do \
		echo "== $$t"; \
		$(TEST_ENV) ./$$t || fail=1; \
	done; \
	for s in $(SCRIPTS); do \
		echo "== $$s"; \
		$(TEST_ENV) sh $$s || fail=1; \
	done; \
	if [ $$fail = 0 ]; then echo "make check: all tests passed"; \
	else echo "make check: FAILED"; exit 1; fi

# The Check unit tests alone: what make distcheck runs on the tarball.
check-unit: all $(TESTS)
	@fail=0; \
	for t in $(TESTS); do \
		echo "== $$t"; \
		$(TEST_ENV) ./$$t || fail=1; \
	done; \
	if [ $$fail = 0 ]; then echo "make check-unit: all tests passed"; \
	else echo "make check-unit: FAILED"; exit 1; fi

# --- benchmarks -------------------------------------------------------

# Benchmarks build from source with -O2 and never with sanitizers, so
# that a sanitizer build for the tests does not skew the figures.
BENCH_CFLAGS = -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) $(PCRE2_CFLAGS) $(LIBEVENT_CFLAGS) \
	       $(STORE_CFLAGS) -Idaemon

bench/bench_classify: bench/bench_classify.c $(LIB_SRCS) $(wildcard daemon/*.h)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(LIB_SRCS) $(LIB_LIBS) $(LIBS)

bench/bench_mail: bench/bench_mail.c $(LIB_SRCS) $(wildcard daemon/*.h)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(LIB_SRCS) $(LIB_LIBS) $(LIBS)

bench/bench_store: bench/bench_store.c $(LIB_SRCS) $(wildcard daemon/*.h)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(LIB_SRCS) $(LIB_LIBS) $(LIBS)

# The daemon and CLI as the policy bench runs them: -O2, no sanitizers.
bench/bouncerd: daemon/bouncerd.c $(LIB_SRCS) $(wildcard daemon/*.h)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(LIB_SRCS) $(LIB_LIBS) $(LIBS)

bench/bouncerctl: daemon/bouncerctl.c daemon/storecmd.c \
	    daemon/blocklistcmd.c $(LIB_SRCS) $(wildcard daemon/*.h)
	$(CC) $(BENCH_CFLAGS) -o $@ $< daemon/storecmd.c \
	    daemon/blocklistcmd.c $(LIB_SRCS) $(LIB_LIBS) $(LIBS)

bench-policy: bench/bouncerd bench/bouncerctl
	sh bench/bench_policy.sh

# Policy answers (p50, p99) while a 1,000,000-row import and a paused
# Redis stall the store (t/stall.sh with the -O2 daemon).
bench-stall: bench/bouncerd bench/bouncerctl
	BOUNCERD=$(CURDIR)/bench/bouncerd BOUNCERCTL=$(CURDIR)/bench/bouncerctl \
	    BOUNCER_RULES=$(CURDIR)/rules sh t/stall.sh

bench: bench/bench_classify bench/bench_mail bench/bench_store
	@echo "== classify: one core, realistic mix (bench/mix.tsv)"
	@uname -srm; grep -m1 'model name' /proc/cpuinfo || true
	./bench/bench_classify -r rules -m bench/mix.tsv -n 2000000
	@echo "== bounce e-mails: one core, the corpus repeated"
	@if [ -d ../shared/corpus/maildir ]; then \
		./bench/bench_mail -r rules -d ../shared/corpus/maildir -n 200000; \
	else echo "bench_mail: SKIP: ../shared/corpus is absent"; fi
	@echo "== store: 1,000,000 suppressed addresses, SQLite and Redis"
	./bench/bench_store -n 1000000
	@echo "== policy server beside min-policy, 1,000,000 suppressed"
	$(MAKE) -s bench-policy

# bouncerd for SOAK_SECONDS (default 600) under policy, milter and log
# traffic with faults injected (t/soak/soak.py); not part of check.
SOAK_SECONDS = 600
soak: bench/bouncerd bench/bouncerctl
	$(TEST_ENV) BOUNCERD=$(CURDIR)/bench/bouncerd \
	    BOUNCERCTL=$(CURDIR)/bench/bouncerctl \
	    python3 t/soak/soak.py --seconds $(SOAK_SECONDS)

# The parsers under libFuzzer, FUZZ_SECONDS each (t/fuzz/run.sh).
fuzz:
	sh t/fuzz/run.sh

# --- install ----------------------------------------------------------

install: all
	$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(sysconfdir)/bouncer/rules \
	    $(DESTDIR)$(libexecdir)/bouncer \
	    $(DESTDIR)$(mandir)/man5 $(DESTDIR)$(mandir)/man8
	$(INSTALL) -m 755 bouncerd $(DESTDIR)$(sbindir)/bouncerd
	$(INSTALL) -m 755 bouncerctl $(DESTDIR)$(sbindir)/bouncerctl
	$(INSTALL) -m 755 scripts/bouncerd-configured \
	    $(DESTDIR)$(libexecdir)/bouncer/bouncerd-configured
	$(INSTALL) -m 644 rules/*.rules $(DESTDIR)$(sysconfdir)/bouncer/rules/
	@# The operator's own rules (rules_local_dir): empty, and never
	@# touched by an install.
	$(INSTALL) -d $(DESTDIR)$(sysconfdir)/bouncer/rules.d
	$(INSTALL) -d $(DESTDIR)$(datadir)/bouncer/hooks $(DESTDIR)$(datadir)/bouncer/conf
	$(INSTALL) -m 755 scripts/hooks/* $(DESTDIR)$(datadir)/bouncer/hooks/
	$(INSTALL) -m 644 conf/postfix-main.cf conf/sendmail.mc \
	    conf/bouncerd.service $(DESTDIR)$(datadir)/bouncer/conf/
	@# The Grafana dashboard and the Prometheus alerts, with their tests.
	$(INSTALL) -d $(DESTDIR)$(datadir)/bouncer/grafana \
	    $(DESTDIR)$(datadir)/bouncer/prometheus
	$(INSTALL) -m 644 conf/grafana/bouncer.json \
	    $(DESTDIR)$(datadir)/bouncer/grafana/
	$(INSTALL) -m 644 conf/prometheus/bouncer-alerts.yml \
	    conf/prometheus/bouncer-alerts.test.yml \
	    $(DESTDIR)$(datadir)/bouncer/prometheus/
	$(INSTALL) -m 644 man/bouncerd.8 $(DESTDIR)$(mandir)/man8/
	$(INSTALL) -m 644 man/bouncerctl.8 $(DESTDIR)$(mandir)/man8/
	$(INSTALL) -m 644 man/bouncer-rules.5 $(DESTDIR)$(mandir)/man5/
	$(INSTALL) -m 644 man/bouncer.conf.5 $(DESTDIR)$(mandir)/man5/
	@# Owned by root here: bouncerd gives it to its user (mode 0750)
	@# at its first start as root; install cannot know the user exists.
	$(INSTALL) -d $(DESTDIR)$(localstatedir)/lib/bouncer
	@# The sample is all comments; never overwrite a real configuration.
	if [ ! -e $(DESTDIR)$(sysconfdir)/bouncer/bouncer.conf ]; then \
		$(INSTALL) -m 644 conf/bouncer.conf \
		    $(DESTDIR)$(sysconfdir)/bouncer/bouncer.conf; \
	fi

# Removes what install put there, but not the state, nor a rule file or a
# bouncer.conf that differs from the one shipped (an operator's edit).
uninstall:
	rm -rf $(DESTDIR)$(datadir)/bouncer $(DESTDIR)$(libexecdir)/bouncer
	rm -f $(DESTDIR)$(sbindir)/bouncerctl $(DESTDIR)$(sbindir)/bouncerd \
	    $(DESTDIR)$(mandir)/man8/bouncerctl.8 \
	    $(DESTDIR)$(mandir)/man8/bouncerd.8 \
	    $(DESTDIR)$(mandir)/man5/bouncer-rules.5 \
	    $(DESTDIR)$(mandir)/man5/bouncer.conf.5
	@for f in rules/*.rules conf/bouncer.conf; do \
		case $$f in rules/*) i=rules/$${f#rules/} ;; *) i=bouncer.conf ;; esac; \
		i=$(DESTDIR)$(sysconfdir)/bouncer/$$i; \
		if [ -f "$$i" ] && ! cmp -s "$$f" "$$i"; then \
			echo "uninstall: $$i was changed: kept"; \
		else rm -f "$$i"; fi; \
	done
	-rmdir $(DESTDIR)$(sysconfdir)/bouncer/rules $(DESTDIR)$(sysconfdir)/bouncer/rules.d \
	    $(DESTDIR)$(sysconfdir)/bouncer 2>/dev/null

# --- release ----------------------------------------------------------

# The tarball holds every file git tracks, as in the working tree, and the
# generated configure with build-aux/: it builds with ./configure && make,
# without autoconf. Its files carry the time of the last commit.
DISTNAME  = bouncer-$(PACKAGE_VERSION)

dist:
	@[ -e .git ] || { echo "make dist: needs a git checkout" >&2; exit 1; }
	@[ configure -nt configure.ac ] || \
	    { echo "make dist: configure is older than configure.ac: run ./autogen.sh" >&2; exit 1; }
	rm -rf $(DISTNAME) $(DISTNAME).tar.gz
	mkdir $(DISTNAME)
	git ls-files -z | xargs -0 cp -p --parents -t $(DISTNAME)
	cp -p configure $(DISTNAME)/
	cp -pR build-aux $(DISTNAME)/
	tar --sort=name --owner=0 --group=0 --numeric-owner \
	    --mtime="@$$(git log -1 --format=%ct)" \
	    -czf $(DISTNAME).tar.gz $(DISTNAME)
	rm -rf $(DISTNAME)
	@echo "make dist: $(DISTNAME).tar.gz"

# Unpacks the tarball in a temporary directory, builds it (no sanitizers),
# runs the unit tests, installs it into a DESTDIR and uninstalls it: no
# file may be left. Then distclean must leave exactly the tarball's files.
distcheck: dist
	@set -e; d=$$(mktemp -d /tmp/bouncer-distcheck.XXXXXX); \
	trap 'chmod -R u+w "$$d"; rm -rf "$$d"' EXIT; \
	tar -xzf $(DISTNAME).tar.gz -C "$$d"; \
	(cd "$$d" && find $(DISTNAME) | sort) >"$$d/before"; \
	cd "$$d/$(DISTNAME)"; \
	./configure -q --prefix=/usr --sysconfdir=/etc --localstatedir=/var; \
	$(MAKE) -s -j2; \
	$(MAKE) -s check-unit; \
	$(MAKE) -s install DESTDIR="$$d/inst"; \
	[ -x "$$d/inst/usr/sbin/bouncerd" ] && \
	    [ -f "$$d/inst/etc/bouncer/rules/gmail.rules" ]; \
	$(MAKE) -s uninstall DESTDIR="$$d/inst"; \
	left=$$(find "$$d/inst" ! -type d); \
	if [ -n "$$left" ]; then \
		echo "make distcheck: uninstall left:"; echo "$$left"; exit 1; \
	fi; \
	$(MAKE) -s distclean; \
	(cd "$$d" && find $(DISTNAME) | sort) >"$$d/after"; \
	if ! diff -u "$$d/before" "$$d/after"; then \
		echo "make distcheck: distclean left the files above (+)"; exit 1; \
	fi; \
	echo "make distcheck: $(DISTNAME).tar.gz is ready for release"

# dpkg-buildpackage in an unpacked tarball, so that its clean step leaves
# this tree's build alone; the .deb, .buildinfo and .changes land here.
# DEB_FLAGS: more dpkg-buildpackage options (make deb DEB_FLAGS=-j2).
deb: dist
	@set -e; d=$$(mktemp -d /tmp/bouncer-deb.XXXXXX); \
	trap 'rm -rf "$$d"' EXIT; \
	tar -xzf $(DISTNAME).tar.gz -C "$$d"; \
	(cd "$$d/$(DISTNAME)" && dpkg-buildpackage -us -uc -b $(DEB_FLAGS)); \
	cp "$$d"/*.deb "$$d"/*.buildinfo "$$d"/*.changes .; \
	ls -1 "$$d"/*.deb | sed 's|.*/|make deb: |'

clean:
	rm -f $(PROGS) $(LIB) daemon/*.o t/lib/*.o $(TESTS) $(MANS) \
	    bench/bench_classify bench/bench_mail bench/bench_store \
	    bench/bouncerd bench/bouncerctl

distclean: clean
	rm -f config.mk config.log config.status

.PHONY: all check check-unit dist distcheck deb bench bench-policy bench-stall soak fuzz install uninstall clean distclean
