/*
 * check_store.c -- one contract, every back end
 *
 * Every test runs once per back end: a SQLite file in a temporary
 * directory, and a Redis that this program starts itself
 * (redis-server --port 0 --unixsocket DIR/redis.sock, no persistence)
 * and kills by its PID when done. Redis's database is flushed before
 * each test. Covered: records round trip, lookups (recipient,
 * destination, provider; expiry; another handle's writes), the audit
 * bound, event identities, notes, iteration, batches, expiry, two
 * processes incrementing one recipient's count without losing any,
 * and four threads looking up while another handle writes.
 * SQLite alone: notes purged by store_expire, a file from a newer
 * bouncer refused and one from an older bouncer migrated, and the
 * view-only handles the daemon answers with (store_view_only()), kept
 * current by another handle's store_refresh(). Redis alone:
 * a password read from a file, and a server that goes away and comes
 * back (the store fails, logs it, reconnects), a redis:// URI over
 * TCP with an ACL user and a percent-encoded password, another MTA's
 * writes reaching a handle's local view (and the view answering while
 * the server is stopped), and commits that check what was read.
 *
 * See also: store.h.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#ifdef HAVE_HIREDIS
#include <hiredis.h>
#endif

#include "conf.h"
#include "engine.h"
#include "policy.h"
#include "store.h"
#include "store_impl.h"
#include "testlib.h"
#include "xalloc.h"

#define NCASES(a)	(sizeof(a) / sizeof(a[0]))
#define T0		1800000000LL

/* Without hiredis the loops over back ends stop before Redis. */
#ifdef HAVE_HIREDIS
enum { B_SQLITE, B_REDIS, NBACKENDS };
#else
enum { B_SQLITE, NBACKENDS, B_REDIS = NBACKENDS };
#endif
static const char *const backend_names[] = { "sqlite", "redis" };

static char	*redis_dir;	/* the shared server's */
static pid_t	 redis_pid;
static char	*tmpdir;	/* per test */

/* --- a private redis-server ---------------------------------------- */

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * Refreshes w until v's lookup of addr gives want, up to a second:
 * data_version is read at most once per ms of the coarse monotonic
 * clock, which ticks every few ms.
 */
static void
refresh_until(struct store *w, struct store *v, const char *addr, int want)
{
	struct store_answer a;
	int i;

	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(store_refresh(w), 0);
		if (store_lookup(v, addr, T0, &a) == want)
			return;
		sleep_ms(1);
	}
	ck_assert_int_eq(store_lookup(v, addr, T0, &a), want);
}


/* --- fixtures ------------------------------------------------------- */

static char *
uri_for(int backend)
{
	if (backend == B_SQLITE)
		return xasprintf("sqlite:%s/state.db", tmpdir);
	return xasprintf("redis+unix:%s/redis.sock?db=0", redis_dir);
}

static struct store *
open_backend(int backend, struct conf *c)
{
	struct store *st;
	char *uri = uri_for(backend), *err = NULL;

	st = store_open(uri, c, &err);
	ck_assert_msg(st != NULL, "%s: %s", uri, err ? err : "");
	free(uri);
	return st;
}

static struct store *
setup(int backend)
{
	tmpdir = testlib_tmpdir("store");
	if (backend == B_REDIS)
		testlib_redis_flush(redis_dir);
	return open_backend(backend, NULL);
}

static void
teardown(struct store *st)
{
	store_close(st);
	testlib_rmtree(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}

static struct store_rcpt
rcpt(const char *addr, enum rcpt_state s, enum reason r, long long until)
{
	struct store_rcpt x;

	memset(&x, 0, sizeof(x));
	snprintf(x.rcpt, sizeof(x.rcpt), "%s", addr);
	x.state = s;
	x.reason = r;
	x.since = T0;
	x.until = until;
	x.last_event = T0;
	snprintf(x.rule, sizeof(x.rule), "gmail.rules:18");
	snprintf(x.status, sizeof(x.status), "5.1.1");
	x.code = 550;
	snprintf(x.provider, sizeof(x.provider), "gmail");
	snprintf(x.source, sizeof(x.source), "log");
	snprintf(x.queue_id, sizeof(x.queue_id), "4Bc1x2");
	snprintf(x.reply, sizeof(x.reply), "550-5.1.1 a \"quoted\", tab\there");
	return x;
}

static struct store_dest
dest(const char *name, long long until, const char *provider)
{
	struct store_dest d;

	memset(&d, 0, sizeof(d));
	snprintf(d.dest, sizeof(d.dest), "%s", name);
	d.reason = R_SPEEDING;
	d.since = T0;
	d.until = until;
	d.count = 1;
	snprintf(d.provider, sizeof(d.provider), "%s", provider);
	return d;
}

/* --- records -------------------------------------------------------- */

/* A password in a URI never reaches logs or /status. */
/*
 * A packed record (Redis keeps records so) reads back whole whatever
 * its text holds; anything else at a record's key is not a record.
 */
START_TEST(test_rec_pack)
{
	const struct kind_desc *k = &store_kinds[SK_RCPT];
	struct store_rcpt r = rcpt("p@x.example", RS_DEFERRED, R_MAILBOXFULL,
	    T0 + 60), o;
	static const char *const bad[] = {
		"", "p@x.example", "\t", "p@x.example\tbogus\t",
		"p@x.example\tdeferred", "\tdeferred\t",
	};
	size_t n, n2, i;
	const char *t;
	char *v, *w;

	snprintf(r.reply, sizeof(r.reply), "550 a\tb\\t c\nd\re\\");
	r.soft_count = -3;
	v = rec_pack(k, &r, &n);
	ck_assert_uint_eq(strlen(v), n);
	ck_assert_ptr_null(strchr(v, '\n'));
	ck_assert_int_eq(rec_unpack(k, v, n, &o), 1);
	ck_assert_str_eq(o.reply, r.reply);
	ck_assert_int_eq(o.soft_count, -3);
	ck_assert_int_eq(o.until, T0 + 60);
	w = rec_pack(k, &o, &n2);	/* every field */
	ck_assert_str_eq(w, v);
	free(w);
	/* A shorter record (fields added later) and a longer one. */
	ck_assert_int_eq(rec_unpack(k, "p@x.example\tsuppressed\t", 23,
	    &o), 1);
	ck_assert_int_eq(o.state, RS_SUPPRESSED);
	ck_assert_int_eq(o.until, 0);
	free(v);
	w = rec_pack(k, &r, &n);
	v = xasprintf("%sextra\tmore\t", w);
	free(w);
	ck_assert_int_eq(rec_unpack(k, v, strlen(v), &o), 1);
	ck_assert_str_eq(o.reply, r.reply);
	free(v);
	/* A field that does not parse is left zero, the rest read. */
	t = "p@x.example\tdeferred\tnosuchreason\tsoon\t1800000060\t2\t";
	ck_assert_int_eq(rec_unpack(k, t, strlen(t), &o), 1);
	ck_assert_int_eq(o.state, RS_DEFERRED);
	ck_assert_int_eq(o.reason, R_UNDEFINED);
	ck_assert_int_eq(o.since, 0);
	ck_assert_int_eq(o.until, T0 + 60);
	ck_assert_int_eq(o.soft_count, 2);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.state = RS_SUPPRESSED;
		ck_assert_msg(rec_unpack(k, bad[i], strlen(bad[i]), &o) == 0,
		    "\"%s\" read as a record", bad[i]);
		ck_assert_int_eq(o.state, RS_NONE);
	}
}
END_TEST

START_TEST(test_uri_redact)
{
	static const char *const cases[][2] = {
		{ "redis://:s3cret@127.0.0.1:6379/0",
		    "redis://:xxx@127.0.0.1:6379/0" },
		{ "redis://bouncer:s3cret@host:6379/2",
		    "redis://bouncer:xxx@host:6379/2" },
		{ "redis://bouncer:p@ss@host:6379/2",
		    "redis://bouncer:xxx@host:6379/2" },
		{ "redis://bouncer@host:6379/2", "redis://bouncer@host:6379/2" },
		{ "redis://host:6379/0", "redis://host:6379/0" },
		{ "redis+unix:/run/redis.sock?db=3",
		    "redis+unix:/run/redis.sock?db=3" },
		{ "sqlite:/var/lib/bouncer/state.db",
		    "sqlite:/var/lib/bouncer/state.db" },
		{ "redis://host:1/0?x=a:b@c", "redis://host:1/0?x=a:b@c" },
	};
	size_t i;
	char *r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = store_uri_redact(cases[i][0]);
		ck_assert_str_eq(r, cases[i][1]);
		free(r);
	}
}
END_TEST

START_TEST(test_roundtrip)
{
	struct store *st = setup(_i);
	struct store_rcpt in = rcpt("A@Example.NET", RS_SUPPRESSED,
	    R_USERUNKNOWN, T0 + 100), out;
	struct store_dest d = dest("example.net", T0 + 5, "gmail"), d2;
	struct store_alert a, a2;

	in.soft_count = 3;
	in.soft_first = T0 - 7;
	ck_assert_int_eq(store_get_rcpt(st, "a@example.net", &out), 0);
	ck_assert_int_eq(store_put_rcpt(st, &in), 0);
	ck_assert_int_eq(store_get_rcpt(st, "a@EXAMPLE.net", &out), 1);
	ck_assert_str_eq(out.rcpt, "a@example.net");
	ck_assert_int_eq(out.state, RS_SUPPRESSED);
	ck_assert_int_eq(out.reason, R_USERUNKNOWN);
	ck_assert_int_eq(out.until, T0 + 100);
	ck_assert_int_eq(out.soft_count, 3);
	ck_assert_int_eq(out.soft_first, T0 - 7);
	ck_assert_int_eq(out.code, 550);
	ck_assert_str_eq(out.rule, in.rule);
	ck_assert_str_eq(out.reply, in.reply);
	ck_assert_str_eq(out.queue_id, "4Bc1x2");
	/* A put replaces the whole record. */
	in.soft_count = 0;
	in.state = RS_NONE;
	ck_assert_int_eq(store_put_rcpt(st, &in), 0);
	ck_assert_int_eq(store_get_rcpt(st, "a@example.net", &out), 1);
	ck_assert_int_eq(out.soft_count, 0);
	ck_assert_int_eq(out.state, RS_NONE);

	ck_assert_int_eq(store_put_dest(st, &d), 0);
	ck_assert_int_eq(store_get_dest(st, "example.net", &d2), 1);
	ck_assert_int_eq(d2.until, T0 + 5);
	ck_assert_str_eq(d2.provider, "gmail");

	memset(&a, 0, sizeof(a));
	snprintf(a.key, sizeof(a.key), "blocked|spamhaus|192.0.2.1");
	snprintf(a.blocklist, sizeof(a.blocklist), "spamhaus");
	a.count = 12345678901LL;
	ck_assert_int_eq(store_put_alert(st, &a), 0);
	ck_assert_int_eq(store_get_alert(st, a.key, &a2), 1);
	ck_assert_int_eq(a2.count, 12345678901LL);
	ck_assert_str_eq(a2.blocklist, "spamhaus");

	ck_assert_int_eq(store_del(st, SK_RCPT, "a@example.net"), 1);
	ck_assert_int_eq(store_get_rcpt(st, "a@example.net", &out), 0);
	ck_assert_int_eq(store_del(st, SK_RCPT, "a@example.net"), 0);
	ck_assert_int_eq(store_del(st, SK_DEST, "example.net"), 1);
	ck_assert_int_eq(store_del(st, SK_ALERT, a.key), 1);
	teardown(st);
}
END_TEST

/* --- lookups -------------------------------------------------------- */

struct lookup_case {
	const char		*name;
	const char		*query;
	long long		 now;
	enum answer_kind	 kind;
	enum reason		 reason;
	long long		 until;
};

/* Against the fixture loaded by load_lookups(). */
static const struct lookup_case lookups[] = {
	{ "suppressed for ever", "gone@a.example", T0 + 1000000,
	  ANS_SUPPRESSED, R_USERUNKNOWN, 0 },
	{ "normalised", " <GONE@A.Example> ", T0, ANS_SUPPRESSED,
	  R_USERUNKNOWN, 0 },
	{ "suppressed, not yet expired", "brief@a.example", T0 + 99,
	  ANS_SUPPRESSED, R_HOSTUNKNOWN, T0 + 100 },
	{ "suppressed, expired", "brief@a.example", T0 + 100, ANS_NONE, 0, 0 },
	{ "deferred", "full@a.example", T0 + 10, ANS_DEFERRED, R_MAILBOXFULL,
	  T0 + 3600 },
	{ "deferred, over", "full@a.example", T0 + 3600, ANS_NONE, 0, 0 },
	{ "known, no state", "fine@a.example", T0, ANS_NONE, 0, 0 },
	{ "unknown", "who@a.example", T0, ANS_NONE, 0, 0 },
	{ "destination throttled", "anyone@slow.example", T0 + 1,
	  ANS_THROTTLED, R_SPEEDING, T0 + 600 },
	{ "destination, over", "anyone@slow.example", T0 + 600, ANS_NONE, 0,
	  0 },
	{ "the recipient before its destination", "gone@slow.example", T0,
	  ANS_SUPPRESSED, R_USERUNKNOWN, 0 },
	{ "the provider of a known domain", "x@customer.example", T0 + 1,
	  ANS_THROTTLED, R_SPEEDING, T0 + 900 },
	{ "no domain", "nodomain", T0, ANS_NONE, 0, 0 },
};

static void
load_lookups(struct store *st)
{
	struct store_rcpt r;
	struct store_dest d;

	r = rcpt("gone@a.example", RS_SUPPRESSED, R_USERUNKNOWN, 0);
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	r = rcpt("gone@slow.example", RS_SUPPRESSED, R_USERUNKNOWN, 0);
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	r = rcpt("brief@a.example", RS_SUPPRESSED, R_HOSTUNKNOWN, T0 + 100);
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	r = rcpt("full@a.example", RS_DEFERRED, R_MAILBOXFULL, T0 + 3600);
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	r = rcpt("fine@a.example", RS_NONE, R_MAILBOXFULL, 0);
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	d = dest("slow.example", T0 + 600, "");
	ck_assert_int_eq(store_put_dest(st, &d), 0);
	/* customer.example is hosted by microsoft, which is throttled. */
	d = dest("customer.example", T0 - 5, "microsoft");
	ck_assert_int_eq(store_put_dest(st, &d), 0);
	d = dest("provider:microsoft", T0 + 900, "");
	ck_assert_int_eq(store_put_dest(st, &d), 0);
}

START_TEST(test_lookup)
{
	int backend = _i / (int)NCASES(lookups);
	const struct lookup_case *lc = &lookups[_i % NCASES(lookups)];
	struct store *st = setup(backend);
	struct store_answer a;

	load_lookups(st);
	ck_assert_int_ge(store_lookup(st, lc->query, lc->now, &a), 0);
	ck_assert_msg(a.kind == lc->kind, "%s/%s: kind %d, want %d",
	    backend_names[backend], lc->name, a.kind, lc->kind);
	if (lc->kind != ANS_NONE) {
		ck_assert_int_eq(a.reason, lc->reason);
		ck_assert_int_eq(a.until, lc->until);
	}
	teardown(st);
}
END_TEST

START_TEST(test_lookup_other_handle)
{
	struct store *st = setup(_i), *other = open_backend(_i, NULL);
	struct store_rcpt r = rcpt("late@a.example", RS_SUPPRESSED,
	    R_USERUNKNOWN, 0);
	struct store_dest d = dest("b.example", T0 + 60, "");
	struct store_answer a;
	int i;

	/* The first lookup builds SQLite's index; later writes by
	 * another handle must show within a few milliseconds. */
	ck_assert_int_eq(store_lookup(st, "late@a.example", T0, &a), 0);
	ck_assert_int_eq(store_put_rcpt(other, &r), 0);
	ck_assert_int_eq(store_put_dest(other, &d), 0);
	for (i = 0; i < 100; i++) {
		if (store_lookup(st, "late@a.example", T0, &a) == 1)
			break;
		sleep_ms(1);
	}
	ck_assert_int_eq(a.kind, ANS_SUPPRESSED);
	ck_assert_int_eq(store_lookup(st, "x@b.example", T0, &a), 1);
	ck_assert_int_eq(a.kind, ANS_THROTTLED);
	ck_assert_int_eq(store_del(other, SK_RCPT, "late@a.example"), 1);
	for (i = 0; i < 100; i++) {
		if (store_lookup(st, "late@a.example", T0, &a) == 0)
			break;
		sleep_ms(1);
	}
	ck_assert_int_eq(a.kind, ANS_NONE);
	/* This handle's own writes show at once. */
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	ck_assert_int_eq(store_lookup(st, "late@a.example", T0, &a), 1);
	r.state = RS_NONE;
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	ck_assert_int_eq(store_lookup(st, "late@a.example", T0, &a), 0);
	store_close(other);
	teardown(st);
}
END_TEST

/*
 * What store_lookup_detail() hands over words an answer exactly as the
 * record itself does, or it says to read the record.
 */
static const struct detail_case {
	const char	*status;
	long long	 since;
	enum rcpt_state	 state;
	int		 kept;		/* the index has them */
} details[] = {
	{ "5.1.1", T0, RS_SUPPRESSED, 1 },
	{ "4.2.2", T0 + 86399, RS_DEFERRED, 1 },
	{ "5.7.26", T0, RS_SUPPRESSED, 1 },
	{ "5.31.999", T0, RS_SUPPRESSED, 1 },
	{ "5.32.0", T0, RS_SUPPRESSED, 0 },
	{ "5.1.01", T0, RS_SUPPRESSED, 0 },
	{ "5.1.1.", T0, RS_SUPPRESSED, 0 },
	{ "5.1", T0, RS_SUPPRESSED, 0 },
	{ "2.0.0", T0, RS_SUPPRESSED, 1 },
	{ "", T0, RS_SUPPRESSED, 1 },
	{ "5.1.1", 0, RS_SUPPRESSED, 1 },
	{ "5.1.1", 3600, RS_SUPPRESSED, 0 },
	{ "5.1.1", 86400LL * 70000, RS_SUPPRESSED, 0 },
};

START_TEST(test_lookup_detail)
{
	const struct detail_case *dc = &details[_i];
	struct store *st = setup(0);
	struct store_rcpt r = rcpt("d@a.example", dc->state, R_USERUNKNOWN,
	    dc->state == RS_DEFERRED ? T0 + 3600 : 0), row, det;
	struct store_answer a;
	struct answer ans;
	char want[512], got[512];
	int pass;

	snprintf(r.status, sizeof(r.status), "%s", dc->status);
	r.since = dc->since;
	/* Before the index is built (a full load), then after a change. */
	for (pass = 0; pass < 2; pass++) {
		ck_assert_int_eq(store_put_rcpt(st, &r), 0);
		ck_assert_int_eq(store_lookup(st, "d@a.example", T0, &a), 1);
		memset(&det, 0, sizeof(det));
		ck_assert_int_eq(store_lookup_detail(st, &det), dc->kept);
		ck_assert_int_eq(store_get_rcpt(st, "d@a.example", &row), 1);
		engine_answer(&a, &row, T0, &ans);
		policy_action(&ans, want, sizeof(want));
		if (dc->kept) {
			engine_answer(&a, &det, T0, &ans);
			policy_action(&ans, got, sizeof(got));
			ck_assert_str_eq(got, want);
		}
		r.reason = R_MAILBOXFULL;
	}
	ck_assert_int_eq(store_lookup(st, "other@a.example", T0, &a), 0);
	ck_assert_int_eq(store_lookup_detail(st, &det), 0);
	teardown(st);
}
END_TEST

/* Many records, then changes: the index stays exact. */
START_TEST(test_lookup_many)
{
	struct store *st = setup(_i);
	struct store_rcpt r;
	struct store_answer a;
	char addr[64];
	int i, n = _i == B_SQLITE ? 20000 : 2000;

	ck_assert_int_eq(store_batch_begin(st), 0);
	for (i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "user%d@d%d.example", i, i % 97);
		r = rcpt(addr, i % 3 ? RS_SUPPRESSED : RS_NONE, R_USERUNKNOWN,
		    0);
		ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	}
	ck_assert_int_eq(store_batch_end(st), 0);
	for (i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "user%d@d%d.example", i, i % 97);
		ck_assert_int_eq(store_lookup(st, addr, T0, &a), i % 3 != 0);
		snprintf(addr, sizeof(addr), "user%d@d%d.example", i,
		    i % 97 + 1);
		ck_assert_int_eq(store_lookup(st, addr, T0, &a), 0);
	}
	/* Delete half, re-add some: every answer still right. */
	for (i = 0; i < n; i += 2) {
		snprintf(addr, sizeof(addr), "user%d@d%d.example", i, i % 97);
		store_del(st, SK_RCPT, addr);
	}
	for (i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "user%d@d%d.example", i, i % 97);
		ck_assert_int_eq(store_lookup(st, addr, T0, &a),
		    i % 2 != 0 && i % 3 != 0);
	}
	teardown(st);
}
END_TEST

/* Threads, each with its own handle, while another writes. */
#define NTHREADS	4

struct reader {
	int		 backend;
	int		 failures;
	int		 saw_final;
};

static int		 writer_done;	/* atomic */

static void *
reader_main(void *arg)
{
	struct reader *rd = arg;
	struct store *st = open_backend(rd->backend, NULL);
	struct store_answer a;
	char addr[64];
	int i, rc;

	for (i = 0; !__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE) ||
	    i < 100; i++) {
		snprintf(addr, sizeof(addr), "t%d@x.example", i % 50);
		if (store_lookup(st, addr, T0, &a) < 0)
			rd->failures++;
	}
	/* The writer's last word: t0 suppressed, t1 not. */
	for (i = 0; i < 1000; i++) {
		rc = store_lookup(st, "t0@x.example", T0, &a);
		if (rc == 1 && store_lookup(st, "t1@x.example", T0, &a) == 0) {
			rd->saw_final = 1;
			break;
		}
		sleep_ms(1);
	}
	store_close(st);
	return NULL;
}

START_TEST(test_threads)
{
	struct store *st = setup(_i);
	struct reader rd[NTHREADS];
	pthread_t tid[NTHREADS];
	struct store_rcpt r;
	char addr[64];
	int i, k;

	__atomic_store_n(&writer_done, 0, __ATOMIC_RELEASE);
	for (k = 0; k < NTHREADS; k++) {
		rd[k] = (struct reader){ _i, 0, 0 };
		ck_assert_int_eq(pthread_create(&tid[k], NULL, reader_main,
		    &rd[k]), 0);
	}
	for (i = 0; i < 300; i++) {
		snprintf(addr, sizeof(addr), "t%d@x.example", i % 50);
		r = rcpt(addr, i % 2 ? RS_SUPPRESSED : RS_NONE, R_USERUNKNOWN,
		    0);
		ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	}
	r = rcpt("t0@x.example", RS_SUPPRESSED, R_USERUNKNOWN, 0);
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	r = rcpt("t1@x.example", RS_NONE, R_USERUNKNOWN, 0);
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	__atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
	for (k = 0; k < NTHREADS; k++) {
		pthread_join(tid[k], NULL);
		ck_assert_int_eq(rd[k].failures, 0);
		ck_assert_msg(rd[k].saw_final, "thread %d never saw the "
		    "final state", k);
	}
	teardown(st);
}
END_TEST

/* --- audit, events, iteration, expiry -------------------------------- */

struct audit_seen {
	int		 n;
	long long	 first, last;
};

static int
audit_cb(const struct store_audit *a, void *arg)
{
	struct audit_seen *s = arg;

	if (s->n++ == 0)
		s->first = a->time;
	s->last = a->time;
	return 0;
}

START_TEST(test_audit)
{
	struct conf *c = conf_new();
	struct store *st;
	struct store_audit a;
	struct audit_seen seen = { 0, 0, 0 };
	char *err = NULL;
	int i;

	ck_assert_int_eq(conf_set(c, "test", "audit_max=3", NULL, &err), 0);
	tmpdir = testlib_tmpdir("store");
	if (_i == B_REDIS)
		testlib_redis_flush(redis_dir);
	st = open_backend(_i, c);
	conf_unref(c);
	memset(&a, 0, sizeof(a));
	snprintf(a.old, sizeof(a.old), "none");
	snprintf(a.new, sizeof(a.new), "suppressed:userunknown");
	snprintf(a.reply, sizeof(a.reply), "with\ttab");
	for (i = 1; i <= 5; i++) {
		a.time = T0 + i;
		ck_assert_int_eq(store_audit_add(st, "a@x.example", &a), 0);
	}
	ck_assert_int_eq(store_audit_list(st, "A@x.example", audit_cb, &seen),
	    0);
	ck_assert_int_eq(seen.n, 3);
	ck_assert_int_eq(seen.first, T0 + 3);
	ck_assert_int_eq(seen.last, T0 + 5);
	/* The same inside transactions (Redis: in the commit script). */
	for (i = 1; i <= 5; i++) {
		a.time = T0 + i;
		ck_assert_int_eq(store_begin(st, NULL, 0), 0);
		ck_assert_int_eq(store_audit_add(st, "b@x.example", &a), 0);
		if (i == 5)
			ck_assert_int_eq(store_audit_add(st, "b@x.example", &a),
			    0);
		ck_assert_int_eq(store_commit(st), 1);
	}
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(store_audit_list(st, "b@x.example", audit_cb, &seen),
	    0);
	ck_assert_int_eq(seen.n, 3);
	ck_assert_int_eq(seen.first, T0 + 4);
	ck_assert_int_eq(seen.last, T0 + 5);
	teardown(st);
}
END_TEST

START_TEST(test_events)
{
	struct store *st = setup(_i);
	struct store_expired n;

	ck_assert_int_eq(store_event_seen(st, "Q1|a@x.example|1"), 0);
	ck_assert_int_eq(store_event_mark(st, "Q1|a@x.example|1", T0), 0);
	ck_assert_int_eq(store_event_seen(st, "Q1|a@x.example|1"), 1);
	ck_assert_int_eq(store_event_seen(st, "Q1|a@x.example|2"), 0);
	ck_assert_int_eq(store_event_mark(st, "Q1|a@x.example|1", T0), 0);
	ck_assert_int_eq(store_expire(st, T0 + 31 * 86400, 3600, &n), 0);
	if (_i == B_SQLITE) {	/* Redis keys expire by themselves */
		ck_assert_int_eq(n.events, 1);
		ck_assert_int_eq(store_event_seen(st, "Q1|a@x.example|1"), 0);
	}
	teardown(st);
}
END_TEST

/* --- walking event identities and notes ----------------------------- */

static const struct id_case {
	enum store_idkind	 kind;
	const char		*id;
	long long		 time;
	const char		*value;	/* NULL: an event */
} id_cases[] = {
	{ SI_EVENT, "Q1|a@x.example|1", T0, NULL },
	{ SI_EVENT, "b:a@x.example:1:Q1", T0 + 1, NULL },
	{ SI_EVENT, "t:provider:gmail:2:Q2", T0 + 2, NULL },
	{ SI_NOTE, "i:4BAA0001", T0 + 3, "msg@news.example" },
	{ SI_NOTE, "q:4BAA0001:a@x.example", T0 + 4, "failed" },
	{ SI_NOTE, "m:with space:b@x.example", T0 + 5, "two words, a comma" },
	{ SI_NOTE, "n:empty", T0 + 6, "" },
};

struct id_seen {
	unsigned	 found[sizeof(id_cases) / sizeof(id_cases[0])];
	unsigned	 other, stop_after, calls;
};

static int
id_walk(const char *id, long long time, const char *value, void *arg)
{
	struct id_seen *seen = arg;
	size_t i;

	seen->calls++;
	for (i = 0; i < sizeof(id_cases) / sizeof(id_cases[0]); i++)
		if (strcmp(id_cases[i].id, id) == 0) {
			ck_assert_int_eq(time, id_cases[i].time);
			if (id_cases[i].value == NULL)
				ck_assert_ptr_null(value);
			else {
				ck_assert_ptr_nonnull(value);
				ck_assert_str_eq(value, id_cases[i].value);
			}
			seen->found[i]++;
			return seen->stop_after && seen->calls >=
			    seen->stop_after;
		}
	seen->other++;
	return 0;
}

START_TEST(test_iterate_ids)
{
	struct store *st = setup(_i);
	struct id_seen seen;
	const struct id_case *c;
	size_t i;
	int kind;

	for (i = 0; i < sizeof(id_cases) / sizeof(id_cases[0]); i++) {
		c = &id_cases[i];
		if (c->kind == SI_EVENT)
			ck_assert_int_eq(store_event_mark(st, c->id, c->time),
			    0);
		else
			ck_assert_int_eq(store_note_put(st, c->id, c->value,
			    c->time), 0);
	}
	/* Each kind gives its own, each once, with its time and value. */
	for (kind = SI_EVENT; kind <= SI_NOTE; kind++) {
		memset(&seen, 0, sizeof(seen));
		ck_assert_int_eq(store_iterate_ids(st, kind, id_walk, &seen),
		    0);
		ck_assert_uint_eq(seen.other, 0);
		for (i = 0; i < sizeof(id_cases) / sizeof(id_cases[0]); i++)
			ck_assert_msg(seen.found[i] ==
			    (id_cases[i].kind == (enum store_idkind)kind),
			    "%s: %s seen %u times", backend_names[_i],
			    id_cases[i].id, seen.found[i]);
	}
	/* A callback that returns non-0 stops the walk. */
	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 2;
	ck_assert_int_eq(store_iterate_ids(st, SI_NOTE, id_walk, &seen), 0);
	ck_assert_uint_eq(seen.calls, 2);
	teardown(st);
}
END_TEST

/* --- notes ------------------------------------------------------------ */

#ifdef HAVE_HIREDIS
/* The seconds to live of a note's key on the shared Redis; -2 if none. */
static long long
redis_ttl(const char *id)
{
	char *sock = xasprintf("%s/redis.sock", redis_dir);
	redisContext *c = redisConnectUnix(sock);
	redisReply *rep;
	long long ttl = -2;

	ck_assert_msg(c != NULL && !c->err, "%s: cannot connect", sock);
	rep = redisCommand(c, "TTL bouncer:n:%s", id);
	if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
		ttl = rep->integer;
	if (rep != NULL)
		freeReplyObject(rep);
	redisFree(c);
	free(sock);
	return ttl;
}
#endif

START_TEST(test_notes)
{
	struct store *st = setup(_i);
	char buf[STORE_NOTE_MAX], small[8], long_value[2 * STORE_NOTE_MAX];
	long long t = -1;

	/* None yet: 0, an empty string, the time left alone. */
	snprintf(buf, sizeof(buf), "stale");
	ck_assert_int_eq(store_note_get(st, "i:4BAA0001", buf, sizeof(buf),
	    &t), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(t, -1);

	ck_assert_int_eq(store_note_put(st, "i:4BAA0001",
	    "20261125100211.B7@news.example.com", T0), 0);
	ck_assert_int_eq(store_note_get(st, "i:4BAA0001", buf, sizeof(buf),
	    &t), 1);
	ck_assert_str_eq(buf, "20261125100211.B7@news.example.com");
	ck_assert_int_eq(t, T0);
	/* time may be NULL; ids are distinct. */
	ck_assert_int_eq(store_note_get(st, "i:4BAA0001", buf, sizeof(buf),
	    NULL), 1);
	ck_assert_int_eq(store_note_get(st, "i:4BAA0002", buf, sizeof(buf),
	    NULL), 0);

	/* put overwrites, value and time; blanks are kept. */
	ck_assert_int_eq(store_note_put(st, "i:4BAA0001", " two  words ",
	    T0 + 5), 0);
	ck_assert_int_eq(store_note_get(st, "i:4BAA0001", buf, sizeof(buf),
	    &t), 1);
	ck_assert_str_eq(buf, " two  words ");
	ck_assert_int_eq(t, T0 + 5);
	ck_assert_int_eq(store_note_put(st, "i:empty", "", T0), 0);
	ck_assert_int_eq(store_note_get(st, "i:empty", buf, sizeof(buf), &t),
	    1);
	ck_assert_str_eq(buf, "");

	/* Longer than the maximum: cut to STORE_NOTE_MAX - 1 bytes. */
	memset(long_value, 'x', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	ck_assert_int_eq(store_note_put(st, "i:long", long_value, T0), 0);
	ck_assert_int_eq(store_note_get(st, "i:long", buf, sizeof(buf), &t),
	    1);
	ck_assert_uint_eq(strlen(buf), STORE_NOTE_MAX - 1);
	ck_assert_int_eq(strspn(buf, "x"), STORE_NOTE_MAX - 1);
	/* A small buffer gets what fits, NUL-terminated. */
	ck_assert_int_eq(store_note_get(st, "i:long", small, sizeof(small),
	    &t), 1);
	ck_assert_str_eq(small, "xxxxxxx");

	/* Inside a batch: seen at once, kept at its end. */
	ck_assert_int_eq(store_batch_begin(st), 0);
	ck_assert_int_eq(store_note_put(st, "i:batch", "in a batch", T0), 0);
	ck_assert_int_eq(store_note_get(st, "i:batch", buf, sizeof(buf), &t),
	    1);
	ck_assert_str_eq(buf, "in a batch");
	ck_assert_int_eq(store_batch_end(st), 0);

	/* Kept in the store: another handle, opened later, reads them. */
	store_close(st);
	st = open_backend(_i, NULL);
	ck_assert_int_eq(store_note_get(st, "i:batch", buf, sizeof(buf), &t),
	    1);
	ck_assert_str_eq(buf, "in a batch");
	ck_assert_int_eq(store_note_get(st, "i:4BAA0001", buf, sizeof(buf),
	    &t), 1);
	ck_assert_str_eq(buf, " two  words ");

#ifdef HAVE_HIREDIS
	if (_i == B_REDIS) {
		long long ttl;

		/* The key expires by itself, after event_retention (30d). */
		ttl = redis_ttl("i:4BAA0001");
		ck_assert_msg(ttl > 30 * 86400 - 60 && ttl <= 30 * 86400,
		    "TTL %lld", ttl);
	}
#endif
	teardown(st);
}
END_TEST

/* Asserts note id holds value, written at t. */
static void
note_is(struct store *st, const char *id, const char *value, long long t)
{
	char buf[STORE_NOTE_MAX];
	long long got = 0;

	ck_assert_int_eq(store_note_get(st, id, buf, sizeof(buf), &got), 1);
	ck_assert_str_eq(buf, value);
	ck_assert_int_eq(got, t);
}

/*
 * Notes written when what is there allows, the store deciding: the
 * first word stands (NOTE_IF_NONE); a later word stands, an older one
 * does not, one of the same time replaces (NOTE_IF_LATER); alone, in
 * a batch, and in a deferred batch (Redis: pipelined, never read).
 */
START_TEST(test_notes_when)
{
	struct store *st = setup(_i);
	const signed char *out;
	size_t n;
	int pass;

	for (pass = 0; pass < 3; pass++) {
		char a[32], b[32];

		snprintf(a, sizeof(a), "i:Q%d", pass);
		snprintf(b, sizeof(b), "q:Q%d:r@x.example", pass);
		if (pass == 1)
			ck_assert_int_eq(store_batch_begin(st), 0);
		if (pass == 2)
			ck_assert_int_eq(store_defer_begin(st), 0);
		ck_assert_int_eq(store_note_put_when(st, NOTE_IF_NONE, a,
		    "<first@x>", T0), 0);
		ck_assert_int_eq(store_note_put_when(st, NOTE_IF_NONE, a,
		    "<second@x>", T0 + 60), 0);
		ck_assert_int_eq(store_note_put_when(st, NOTE_IF_LATER, b,
		    "failed", T0 + 60), 0);
		ck_assert_int_eq(store_note_put_when(st, NOTE_IF_LATER, b,
		    "sent", T0), 0);		/* older: kept out */
		if (pass == 1)
			ck_assert_int_eq(store_batch_end(st), 0);
		if (pass == 2)
			ck_assert_int_eq(store_defer_end(st, &out, &n), 0);
		note_is(st, a, "<first@x>", T0);
		note_is(st, b, "failed", T0 + 60);
		ck_assert_int_eq(store_note_put_when(st, NOTE_IF_LATER, b,
		    "sent", T0 + 60), 0);	/* the same time: replaces */
		note_is(st, b, "sent", T0 + 60);
		ck_assert_int_eq(store_note_put_when(st, NOTE_IF_LATER, b,
		    "failed", T0 + 3600), 0);
		note_is(st, b, "failed", T0 + 3600);
		ck_assert_int_eq(store_note_put_when(st, NOTE_ALWAYS, a,
		    "<third@x>", T0 - 60), 0);
		note_is(st, a, "<third@x>", T0 - 60);
	}
#ifdef HAVE_HIREDIS
	if (_i == B_REDIS) {
		long long ttl = redis_ttl("q:Q0:r@x.example");

		/* Each writing sets the expiry again. */
		ck_assert_msg(ttl > 30 * 86400 - 60 && ttl <= 30 * 86400,
		    "TTL %lld", ttl);
	}
#endif
	teardown(st);
}
END_TEST

/* On SQLite, store_expire purges notes older than event_retention. */
START_TEST(test_notes_expire)
{
	struct store *st = setup(B_SQLITE);
	struct store_expired n;
	char buf[STORE_NOTE_MAX];

	ck_assert_int_eq(store_note_put(st, "i:old", "old@x.example", T0), 0);
	ck_assert_int_eq(store_note_put(st, "i:new", "new@x.example",
	    T0 + 2 * 86400), 0);
	ck_assert_int_eq(store_event_mark(st, "Q1|a@x.example|1", T0), 0);
	ck_assert_int_eq(store_expire(st, T0 + 30 * 86400, 3600, &n), 0);
	ck_assert_int_eq(n.notes, 0);
	ck_assert_int_eq(store_expire(st, T0 + 31 * 86400, 3600, &n), 0);
	ck_assert_int_eq(n.notes, 1);
	ck_assert_int_eq(n.events, 1);
	ck_assert_int_eq(store_note_get(st, "i:old", buf, sizeof(buf), NULL),
	    0);
	ck_assert_int_eq(store_note_get(st, "i:new", buf, sizeof(buf), NULL),
	    1);
	ck_assert_int_eq(store_expire(st, T0 + 33 * 86400, 3600, &n), 0);
	ck_assert_int_eq(n.notes, 1);
	ck_assert_int_eq(store_note_get(st, "i:new", buf, sizeof(buf), NULL),
	    0);
	teardown(st);
}
END_TEST

static int
count_cb(const void *rec, void *arg)
{
	(void)rec;
	(*(int *)arg)++;
	return 0;
}

START_TEST(test_iterate_expire)
{
	struct store *st = setup(_i);
	struct store_rcpt r;
	struct store_dest d;
	struct store_alert a;
	struct store_expired n;
	char addr[64];
	int i, count = 0;

	for (i = 0; i < 250; i++) {
		snprintf(addr, sizeof(addr), "u%d@x.example", i);
		/* 100 expired at T0+10, 150 live */
		r = rcpt(addr, RS_SUPPRESSED, R_USERUNKNOWN, i < 100 ?
		    T0 + 10 : 0);
		ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	}
	/* Expired, but soft failures still count towards escalation. */
	r = rcpt("soft@x.example", RS_DEFERRED, R_MAILBOXFULL, T0 + 10);
	r.soft_count = 2;
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	d = dest("x.example", T0 + 5, "");
	ck_assert_int_eq(store_put_dest(st, &d), 0);
	d = dest("y.example", T0 + 500, "");
	ck_assert_int_eq(store_put_dest(st, &d), 0);
	memset(&a, 0, sizeof(a));
	snprintf(a.key, sizeof(a.key), "blocked||");
	a.last = T0 - 7200;
	ck_assert_int_eq(store_put_alert(st, &a), 0);
	ck_assert_int_eq(store_iterate(st, SK_RCPT, count_cb, &count), 0);
	ck_assert_int_eq(count, 251);
	ck_assert_int_eq(store_expire(st, T0 + 20, 3600, &n), 0);
	ck_assert_int_eq(n.rcpts, 100);
	ck_assert_int_eq(n.dests, 1);
	ck_assert_int_eq(n.alerts, 1);
	count = 0;
	ck_assert_int_eq(store_iterate(st, SK_RCPT, count_cb, &count), 0);
	ck_assert_int_eq(count, 151);
	ck_assert_int_eq(store_get_rcpt(st, "soft@x.example", &r), 1);
	teardown(st);
}
END_TEST

/* --- transactions ---------------------------------------------------- */

/* Adds one to soft_count of key in a transaction, retrying conflicts. */
static int
increment(struct store *st, const char *addr)
{
	struct store_rcpt r;
	char key[STORE_ADDR_MAX + 2];
	const char *keys[1];
	int rc, tries;

	snprintf(key, sizeof(key), "r:%s", addr);
	keys[0] = key;
	for (tries = 0; tries < 1000; tries++) {
		if (store_begin(st, keys, 1) < 0)
			return -1;
		if ((rc = store_get_rcpt(st, addr, &r)) < 0) {
			store_rollback(st);
			return -1;
		}
		if (rc == 0) {
			memset(&r, 0, sizeof(r));
			snprintf(r.rcpt, sizeof(r.rcpt), "%s", addr);
			r.state = RS_DEFERRED;
		}
		r.soft_count++;
		if (store_put_rcpt(st, &r) < 0) {
			store_rollback(st);
			return -1;
		}
		if ((rc = store_commit(st)) != 0)
			return rc < 0 ? -1 : 0;
	}
	return -1;
}

#define PER_CHILD	300

START_TEST(test_two_processes)
{
	struct store *st = setup(_i);
	struct store_rcpt r;
	pid_t kids[2];
	int k, status, i;

	store_close(st);	/* each process opens its own */
	for (k = 0; k < 2; k++) {
		if ((kids[k] = fork()) == 0) {
			struct store *mine = open_backend(_i, NULL);

			for (i = 0; i < PER_CHILD; i++)
				if (increment(mine, "hot@x.example") < 0)
					_exit(1);
			store_close(mine);
			_exit(0);
		}
		ck_assert_int_gt(kids[k], 0);
	}
	for (k = 0; k < 2; k++) {
		ck_assert_int_eq(waitpid(kids[k], &status, 0), kids[k]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "%s: a writer failed", backend_names[_i]);
	}
	st = open_backend(_i, NULL);
	ck_assert_int_eq(store_get_rcpt(st, "hot@x.example", &r), 1);
	ck_assert_int_eq(r.soft_count, 2 * PER_CHILD);
	teardown(st);
}
END_TEST

START_TEST(test_rollback)
{
	struct store *st = setup(_i);
	struct store_rcpt r = rcpt("a@x.example", RS_SUPPRESSED, R_USERUNKNOWN,
	    0), out;
	struct store_answer a;
	const char *keys[] = { "r:a@x.example" };

	ck_assert_int_eq(store_begin(st, keys, 1), 0);
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	store_rollback(st);
	ck_assert_int_eq(store_get_rcpt(st, "a@x.example", &out), 0);
	ck_assert_int_eq(store_lookup(st, "a@x.example", T0, &a), 0);
	ck_assert_int_eq(store_begin(st, keys, 1), 0);
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	ck_assert_int_eq(store_commit(st), 1);
	ck_assert_int_eq(store_lookup(st, "a@x.example", T0, &a), 1);
	teardown(st);
}
END_TEST

/* --- opening ---------------------------------------------------------- */

struct uri_case {
	const char	*uri;
	const char	*error;
};

static const struct uri_case bad_uris[] = {
	{ "state.db", "not a store URI" },
	{ "nosuch:/x", "unknown store type \"nosuch\"" },
	{ "sqlite:", "no file name" },
	{ "sqlite:/nonexistent/dir/state.db", "unable to open" },
#ifdef HAVE_HIREDIS
	{ "redis://127.0.0.1:99999/0", "bad port" },
	{ "redis://127.0.0.1:6379/x", "bad database number" },
	{ "redis:127.0.0.1", "expected redis://host:port/db" },
	{ "redis+unix:relative.sock", "expected redis+unix:/path?db=N" },
	{ "redis+unix:/nonexistent/redis.sock?db=0", "No such file" },
	{ "redis+unix:/tmp/x.sock?database=1", "expected ?db=N" },
#else
	{ "redis://127.0.0.1:6379/0", "built without Redis support" },
	{ "redis+unix:/tmp/x.sock?db=0", "built without Redis support" },
#endif
};

START_TEST(test_bad_uri)
{
	const struct uri_case *uc = &bad_uris[_i];
	char *err = NULL;

	ck_assert_ptr_null(store_open(uc->uri, NULL, &err));
	ck_assert_msg(err != NULL && strstr(err, uc->error) != NULL,
	    "%s: want \"%s\", got \"%s\"", uc->uri, uc->error,
	    err ? err : "(null)");
	free(err);
}
END_TEST

START_TEST(test_sqlite_schema)
{
	struct store *st = setup(B_SQLITE);
	char *cmd, *uri, *err = NULL;

	store_close(st);
	/* A file from a newer bouncer is refused, not damaged. */
	cmd = xasprintf("sqlite3 %s/state.db 'PRAGMA user_version = 99'",
	    tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	uri = xasprintf("sqlite:%s/state.db", tmpdir);
	ck_assert_ptr_null(store_open(uri, NULL, &err));
	ck_assert_ptr_nonnull(strstr(err, "schema version 99 is newer"));
	free(err);
	free(uri);
	free(cmd);
	testlib_rmtree(tmpdir);
	free(tmpdir);
}
END_TEST

/* Runs sql on the test's state.db with the sqlite3 shell; the number
 * it printed last, or -1. */
static int
sqlite_shell(const char *sql)
{
	char *cmd = xasprintf("sqlite3 %s/state.db \"%s\"", tmpdir, sql);
	FILE *fp = popen(cmd, "r");
	int v, last = -1;

	ck_assert_ptr_nonnull(fp);
	while (fscanf(fp, "%d", &v) == 1)
		last = v;
	ck_assert_int_eq(pclose(fp), 0);
	free(cmd);
	return last;
}

/*
 * A file of schema version 1 (before notes: the current schema less
 * the note table, since a shipped migration never changes) is migrated
 * when opened, and keeps its records.
 */
START_TEST(test_sqlite_migrate)
{
	struct store *st = setup(B_SQLITE);
	struct store_rcpt r = rcpt("kept@x.example", RS_SUPPRESSED,
	    R_USERUNKNOWN, 0), out;
	char buf[STORE_NOTE_MAX];

	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	store_close(st);
	ck_assert_int_eq(sqlite_shell("DROP TABLE note; "
	    "PRAGMA user_version = 1; PRAGMA user_version"), 1);
	st = open_backend(B_SQLITE, NULL);
	ck_assert_int_eq(store_get_rcpt(st, "kept@x.example", &out), 1);
	ck_assert_int_eq(out.state, RS_SUPPRESSED);
	ck_assert_int_eq(store_note_put(st, "i:4BAA0001", "x@y", T0), 0);
	ck_assert_int_eq(store_note_get(st, "i:4BAA0001", buf, sizeof(buf),
	    NULL), 1);
	store_close(st);
	ck_assert_int_eq(sqlite_shell("PRAGMA user_version"), 2);
	ck_assert_int_eq(sqlite_shell("SELECT count(*) FROM sqlite_master "
	    "WHERE name IN ('note', 'note_time')"), 2);
	testlib_rmtree(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}
END_TEST

START_TEST(test_redis_password)
{
	char *dir = testlib_tmpdir("redis-pw"), *pwfile, *uri, *err = NULL;
	struct conf *c = conf_new();
	struct store *st;
	pid_t pid;

	pid = testlib_redis_start(dir, "--requirepass", "s3cret word");
	pwfile = testlib_write(dir, "password", "s3cret word\n");
	uri = xasprintf("redis+unix:%s/redis.sock", dir);
	ck_assert_ptr_null(store_open(uri, NULL, &err));
	ck_assert_msg(strstr(err, "NOAUTH") != NULL ||
	    strstr(err, "Authentication") != NULL, "%s", err);
	free(err);
	err = NULL;
	ck_assert_int_eq(conf_set(c, "test", "store_password_file", pwfile,
	    &err), 0);
	st = store_open(uri, c, &err);
	ck_assert_msg(st != NULL, "%s", err ? err : "");
	store_close(st);
	testlib_redis_stop(pid);
	conf_unref(c);
	free(uri);
	free(pwfile);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_redis_reconnect)
{
	char *dir = testlib_tmpdir("redis-rc"), *uri, *err = NULL;
	struct store_rcpt r = rcpt("a@x.example", RS_SUPPRESSED, R_USERUNKNOWN,
	    0);
	struct store_answer a;
	struct store *st;
	pid_t pid;
	int i, rc = -1;

	pid = testlib_redis_start(dir, NULL, NULL);
	uri = xasprintf("redis+unix:%s/redis.sock?db=0", dir);
	st = store_open(uri, NULL, &err);
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	testlib_redis_stop(pid);
	testlib_log_start();
	/* The server is gone: operations fail, they do not crash. */
	ck_assert_int_eq(store_lookup(st, "a@x.example", T0, &a), -1);
	ck_assert_int_eq(store_put_rcpt(st, &r), -1);
	ck_assert_int_eq(testlib_log_count(LOG_LVL_WARN, "connection lost"),
	    1);
	pid = testlib_redis_start(dir, NULL, NULL);
	for (i = 0; i < 300 && rc < 0; i++) {
		rc = store_put_rcpt(st, &r);
		if (rc < 0)
			sleep_ms(10);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(store_lookup(st, "a@x.example", T0, &a), 1);
	ck_assert_int_eq(testlib_log_count(LOG_LVL_INFO, "reconnected"), 1);
	testlib_log_stop();
	store_close(st);
	testlib_redis_stop(pid);
	free(uri);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST

#ifdef HAVE_HIREDIS
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Another MTA's raw connection to the Redis in dir. */
static redisContext *
redis_other(const char *dir)
{
	char *sock = xasprintf("%s/redis.sock", dir);
	redisContext *c = redisConnectUnix(sock);

	ck_assert_msg(c != NULL && !c->err, "%s: cannot connect", sock);
	free(sock);
	return c;
}

/* Runs line (words split at blanks) on c; the reply's text or number. */
static char *
redis_cmd(redisContext *c, const char *line)
{
	char *copy = xstrdup(line), *argv[32], *p, *out;
	redisReply *rep;
	int argc = 0;

	for (p = strtok(copy, " "); p != NULL && argc < 32;
	    p = strtok(NULL, " "))
		argv[argc++] = p;
	rep = redisCommandArgv(c, argc, (const char **)argv, NULL);
	ck_assert_msg(rep != NULL && rep->type != REDIS_REPLY_ERROR,
	    "%s: %s", line, rep ? rep->str : c->errstr);
	if (rep->type == REDIS_REPLY_STRING ||
	    rep->type == REDIS_REPLY_STATUS)
		out = xstrdup(rep->str);
	else if (rep->type == REDIS_REPLY_INTEGER)
		out = xasprintf("%lld", rep->integer);
	else
		out = xstrdup("");
	freeReplyObject(rep);
	free(copy);
	return out;
}

static void
redis_do(redisContext *c, const char *line)
{
	free(redis_cmd(c, line));
}

/* Writes r on c as another MTA's bouncer would: the packed record. */
static void
put_raw(redisContext *c, const struct store_rcpt *r)
{
	redisReply *rep;
	size_t n;
	char *v = rec_pack(&store_kinds[SK_RCPT], r, &n);

	rep = redisCommand(c, "SET bouncer:r:%s %b", r->rcpt, v, n);
	ck_assert_msg(rep != NULL && rep->type == REDIS_REPLY_STATUS,
	    "SET: %s", rep ? rep->str : c->errstr);
	freeReplyObject(rep);
	free(v);
}

/* The recipient as the server holds it; 0 if it has none. */
static int
get_raw(redisContext *c, const char *addr, struct store_rcpt *r)
{
	redisReply *rep;
	int found;

	rep = redisCommand(c, "GET bouncer:r:%s", addr);
	ck_assert_msg(rep != NULL && rep->type != REDIS_REPLY_ERROR,
	    "GET: %s", rep ? rep->str : c->errstr);
	found = rep->type == REDIS_REPLY_STRING;
	if (found)
		ck_assert_int_eq(rec_unpack(&store_kinds[SK_RCPT], rep->str,
		    rep->len, r), 1);
	freeReplyObject(rep);
	return found;
}

static int
soft_count(redisContext *c, const char *addr)
{
	struct store_rcpt r;

	return get_raw(c, addr, &r) ? r.soft_count : 0;
}

/*
 * The view a fleet answers from: another MTA's writes (a single put, a
 * transaction, a delete) reach a view-only handle through the stream
 * of changes at the next refresh (a batch's keys at its end); until
 * the first refresh the view
 * cannot tell (-1); it answers from memory while the server is
 * stopped; when its place in the stream is gone (trimmed, flushed) a
 * refresh loads everything again, writes made around bouncer included.
 */
START_TEST(test_redis_view)
{
	char *dir = testlib_tmpdir("redis-view"), *uri, *err = NULL;
	struct store_answer a;
	struct store_rcpt r, det;
	struct store_dest d;
	struct store *w, *v, *other;
	const char *keys[1] = { "r:txn@x.example" };
	redisContext *raw;
	double t;
	pid_t pid;
	int i;

	pid = testlib_redis_start(dir, NULL, NULL);
	uri = xasprintf("redis+unix:%s/redis.sock?db=0", dir);
	w = store_open(uri, NULL, &err);
	ck_assert_msg(w != NULL, "%s", err ? err : "");
	v = store_open(uri, NULL, &err);
	ck_assert_msg(v != NULL, "%s", err ? err : "");
	other = store_open(uri, NULL, &err);
	ck_assert_msg(other != NULL, "%s", err ? err : "");
	store_view_only(v);
	raw = redis_other(dir);

	memset(&r, 0, sizeof(r));
	snprintf(r.rcpt, sizeof(r.rcpt), "far@x.example");
	r.state = RS_SUPPRESSED;
	r.reason = R_USERUNKNOWN;
	r.since = T0 - 86400;
	snprintf(r.status, sizeof(r.status), "5.1.1");
	ck_assert_int_eq(store_put_rcpt(other, &r), 0);
	/* Not loaded yet: the view cannot tell. */
	ck_assert_int_eq(store_lookup(v, "far@x.example", T0, &a), -1);
	ck_assert_int_eq(store_refresh(w), 0);
	ck_assert_int_eq(store_lookup(v, "far@x.example", T0, &a), 1);
	ck_assert_int_eq(a.kind, ANS_SUPPRESSED);
	ck_assert_int_eq(a.reason, R_USERUNKNOWN);
	memset(&det, 0, sizeof(det));
	ck_assert_int_eq(store_lookup_detail(v, &det), 1);
	ck_assert_str_eq(det.status, "5.1.1");
	ck_assert_int_eq(det.since / 86400, (T0 - 86400) / 86400);
	ck_assert_int_eq(store_lookup(v, "near@x.example", T0, &a), 0);

	/* A transaction's writes go to the stream too. */
	ck_assert_int_eq(store_begin(other, keys, 1), 0);
	ck_assert_int_eq(store_get_rcpt(other, "txn@x.example", &r), 0);
	memset(&r, 0, sizeof(r));
	snprintf(r.rcpt, sizeof(r.rcpt), "txn@x.example");
	r.state = RS_DEFERRED;
	r.reason = R_MAILBOXFULL;
	r.until = T0 + 3600;
	ck_assert_int_eq(store_put_rcpt(other, &r), 0);
	ck_assert_int_eq(store_commit(other), 1);
	ck_assert_int_eq(store_lookup(v, "txn@x.example", T0, &a), 0);
	ck_assert_int_eq(store_refresh(w), 0);
	ck_assert_int_eq(store_lookup(v, "txn@x.example", T0, &a), 1);
	ck_assert_int_eq(a.kind, ANS_DEFERRED);
	ck_assert_int_eq(a.until, T0 + 3600);

	/* A throttled provider, reached through the domain's record. */
	memset(&d, 0, sizeof(d));
	snprintf(d.dest, sizeof(d.dest), "slow.example");
	d.reason = R_SPEEDING;
	d.until = T0 - 1;
	snprintf(d.provider, sizeof(d.provider), "bigmail");
	ck_assert_int_eq(store_put_dest(other, &d), 0);
	snprintf(d.dest, sizeof(d.dest), "provider:bigmail");
	d.until = T0 + 600;
	d.provider[0] = '\0';
	ck_assert_int_eq(store_put_dest(other, &d), 0);
	ck_assert_int_eq(store_refresh(w), 0);
	ck_assert_int_eq(store_lookup(v, "x@slow.example", T0, &a), 1);
	ck_assert_int_eq(a.kind, ANS_THROTTLED);
	ck_assert_int_eq(a.until, T0 + 600);

	/*
	 * A batch (an import) names its keys in stream entries of 100,
	 * which the refresh reads 100 at a time.
	 */
	ck_assert_int_eq(store_batch_begin(other), 0);
	for (i = 0; i < 12000; i++) {
		snprintf(r.rcpt, sizeof(r.rcpt), "bulk%d@x.example", i);
		r.state = RS_SUPPRESSED;
		r.until = 0;
		ck_assert_int_eq(store_put_rcpt(other, &r), 0);
	}
	ck_assert_int_eq(store_del(other, SK_DEST, "provider:bigmail"), 1);
	ck_assert_int_eq(store_batch_end(other), 0);
	ck_assert_int_eq(store_refresh(w), 0);
	for (i = 0; i < 12000; i += 1999) {
		snprintf(r.rcpt, sizeof(r.rcpt), "bulk%d@x.example", i);
		ck_assert_int_eq(store_lookup(v, r.rcpt, T0, &a), 1);
	}
	ck_assert_int_eq(store_lookup(v, "x@slow.example", T0, &a), 0);

	/* Lifted. */
	ck_assert_int_eq(store_del(other, SK_RCPT, "far@x.example"), 1);
	ck_assert_int_eq(store_refresh(w), 0);
	ck_assert_int_eq(store_lookup(v, "far@x.example", T0, &a), 0);

	/*
	 * The stream lost our place: the next refresh loads everything,
	 * so a write made around bouncer shows as well.
	 */
	redis_do(raw, "DEL bouncer:changes");
	r = rcpt("raw@x.example", RS_SUPPRESSED, R_USERUNKNOWN, 0);
	put_raw(raw, &r);
	ck_assert_int_eq(store_refresh(w), 0);
	ck_assert_int_eq(store_lookup(v, "raw@x.example", T0, &a), 1);
	ck_assert_int_eq(store_lookup(v, "txn@x.example", T0, &a), 1);
	redis_do(raw, "FLUSHDB");
	ck_assert_int_eq(store_refresh(w), 0);
	ck_assert_int_eq(store_lookup(v, "raw@x.example", T0, &a), 0);
	ck_assert_int_eq(store_lookup(v, "x@slow.example", T0, &a), 0);

	/* From memory, at once, while the server is stopped. */
	snprintf(r.rcpt, sizeof(r.rcpt), "txn@x.example");
	r.state = RS_DEFERRED;
	r.until = T0 + 3600;
	ck_assert_int_eq(store_put_rcpt(other, &r), 0);
	ck_assert_int_eq(store_refresh(w), 0);
	ck_assert_int_eq(kill(pid, SIGSTOP), 0);
	t = now_s();
	ck_assert_int_eq(store_lookup(v, "txn@x.example", T0, &a), 1);
	ck_assert_int_eq(a.kind, ANS_DEFERRED);
	ck_assert_msg(now_s() - t < 0.05, "took %.3f s", now_s() - t);
	ck_assert_int_eq(kill(pid, SIGCONT), 0);

	redisFree(raw);
	store_close(other);
	store_close(v);
	store_close(w);
	testlib_redis_stop(pid);
	free(uri);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST

/*
 * Suppresses addr in one transaction that reads it absent, which must
 * commit at the first try, and reads it back suppressed.
 */
static void
suppress_absent(struct store *st, const char *addr)
{
	struct store_rcpt r;
	char kr[STORE_ADDR_MAX + 2];
	const char *keys[1] = { kr };

	snprintf(kr, sizeof(kr), KEY_RCPT "%s", addr);
	ck_assert_int_eq(store_begin(st, keys, 1), 0);
	ck_assert_int_eq(store_get_rcpt(st, addr, &r), 0);
	r = rcpt(addr, RS_SUPPRESSED, R_USERUNKNOWN, 0);
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	ck_assert_int_eq(store_commit(st), 1);
	ck_assert_int_eq(store_get_rcpt(st, addr, &r), 1);
	ck_assert_int_eq(r.state, RS_SUPPRESSED);
}

/*
 * Records kept as hashes, one field a member (as bouncer wrote them
 * before it packed them into strings), are rewritten as strings by the
 * first connection, all of them, with every field; later connections
 * see the format key and leave the store alone.
 */
START_TEST(test_redis_convert)
{
	redisContext *mta = redis_other(redis_dir);
	struct store *st, *v;
	struct store_rcpt r;
	struct store_dest d;
	struct store_alert al;
	struct store_answer a;
	char *x;
	int i;

	tmpdir = testlib_tmpdir("store");
	testlib_redis_flush(redis_dir);
	redis_do(mta, "HSET bouncer:r:old@x.example rcpt old@x.example "
	    "state suppressed reason userunknown since 1800000000 until 0 "
	    "soft_count 0 last_event 1800000000 source log "
	    "rule gmail.rules:18 status 5.1.1 code 550 provider gmail "
	    "queue_id 4Bc1x2 reply 550-5.1.1_gone");
	redis_do(mta, "HSET bouncer:r:soft@x.example rcpt soft@x.example "
	    "state deferred reason mailboxfull until 1800003600 "
	    "soft_count 4");
	redis_do(mta, "HSET bouncer:d:slow.example dest slow.example "
	    "reason speeding since 1800000000 until 1800000600 count 2");
	redis_do(mta, "HSET bouncer:a:blocked|spamhaus|192.0.2.1 "
	    "key blocked|spamhaus|192.0.2.1 kind blocked blocklist spamhaus "
	    "ip 192.0.2.1 count 3");
	for (i = 0; i < 1500; i++) {	/* more than one SCAN step */
		x = xasprintf("HSET bouncer:r:n%d@y.example rcpt n%d@y.example "
		    "state suppressed reason userunknown", i, i);
		redis_do(mta, x);
		free(x);
	}
	st = open_backend(B_REDIS, NULL);
	ck_assert_int_eq(store_get_rcpt(st, "old@x.example", &r), 1);
	ck_assert_int_eq(r.state, RS_SUPPRESSED);
	ck_assert_int_eq(r.reason, R_USERUNKNOWN);
	ck_assert_int_eq(r.since, T0);
	ck_assert_int_eq(r.code, 550);
	ck_assert_str_eq(r.reply, "550-5.1.1_gone");
	ck_assert_str_eq(r.queue_id, "4Bc1x2");
	ck_assert_int_eq(soft_count(mta, "soft@x.example"), 4);
	ck_assert_int_eq(store_get_dest(st, "slow.example", &d), 1);
	ck_assert_int_eq(d.count, 2);
	ck_assert_int_eq(d.until, T0 + 600);
	ck_assert_int_eq(store_get_alert(st, "blocked|spamhaus|192.0.2.1",
	    &al), 1);
	ck_assert_int_eq(al.count, 3);
	x = redis_cmd(mta, "TYPE bouncer:r:n1499@y.example");
	ck_assert_str_eq(x, "string");
	free(x);
	x = redis_cmd(mta, "GET bouncer:format");
	ck_assert_str_eq(x, "packed");
	free(x);
	/* The view loads them. */
	v = open_backend(B_REDIS, NULL);
	store_view_only(v);
	ck_assert_int_eq(store_refresh(st), 0);
	ck_assert_int_eq(store_lookup(v, "n777@y.example", T0, &a), 1);
	ck_assert_int_eq(a.kind, ANS_SUPPRESSED);
	ck_assert_int_eq(store_lookup(v, "x@slow.example", T0, &a), 1);
	ck_assert_int_eq(a.kind, ANS_THROTTLED);
	store_close(v);
	/* Done once: a hash written now is not a record. */
	redis_do(mta, "HSET bouncer:r:late@x.example rcpt late@x.example "
	    "state suppressed");
	store_close(st);
	st = open_backend(B_REDIS, NULL);
	ck_assert_int_eq(store_get_rcpt(st, "old@x.example", &r), 1);
	ck_assert_int_eq(store_get_rcpt(st, "late@x.example", &r), -1);
	x = redis_cmd(mta, "TYPE bouncer:r:late@x.example");
	ck_assert_str_eq(x, "hash");
	free(x);
	/* Its next change replaces it, at the first try. */
	suppress_absent(st, "late@x.example");
	/* A record that names another key is not read as that key's. */
	x = redis_cmd(mta, "GET bouncer:r:old@x.example");
	redis_do(mta, "DEL bouncer:r:other@x.example");
	{
		redisReply *rep = redisCommand(mta,
		    "SET bouncer:r:other@x.example %s", x);

		freeReplyObject(rep);
	}
	free(x);
	ck_assert_int_eq(store_get_rcpt(st, "other@x.example", &r), 0);
	store_close(st);

	/*
	 * A connection that cannot convert (no EVAL for its user) says so,
	 * leaves the format unset for the next one, and works on.
	 */
	testlib_redis_flush(redis_dir);
	redis_do(mta, "HSET bouncer:r:old@x.example rcpt old@x.example "
	    "state suppressed reason userunknown");
	redis_do(mta, "ACL SETUSER default -eval");
	st = open_backend(B_REDIS, NULL);
	ck_assert_int_eq(store_get_rcpt(st, "new@x.example", &r), 0);
	x = redis_cmd(mta, "EXISTS bouncer:format");
	ck_assert_str_eq(x, "0");
	free(x);
	store_close(st);
	redis_do(mta, "ACL SETUSER default +eval");
	st = open_backend(B_REDIS, NULL);
	ck_assert_int_eq(store_get_rcpt(st, "old@x.example", &r), 1);
	ck_assert_int_eq(r.state, RS_SUPPRESSED);
	x = redis_cmd(mta, "GET bouncer:format");
	ck_assert_str_eq(x, "packed");
	free(x);
	redisFree(mta);
	teardown(st);
}
END_TEST

/*
 * A commit checks what its transaction read: an answer the handle
 * guessed, or that another writer made stale, makes it write nothing
 * and return 0; the handle has learnt the value, and the next try
 * commits. A read-only transaction is checked too, and a script the
 * server forgot is loaded again.
 */
START_TEST(test_redis_commit)
{
	struct store *st = setup(B_REDIS);
	redisContext *mta = redis_other(redis_dir);
	const char *keys[] = { "r:c@x.example" };
	struct store_rcpt r, o;
	char *v;

	o = rcpt("c@x.example", RS_DEFERRED, R_MAILBOXFULL, T0 + 60);
	o.soft_count = 3;
	put_raw(mta, &o);
	ck_assert_int_eq(store_begin(st, keys, 1), 0);
	ck_assert_int_eq(store_get_rcpt(st, "c@x.example", &r), 0);
	r = rcpt("c@x.example", RS_DEFERRED, R_MAILBOXFULL, T0 + 60);
	r.soft_count = 1;
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	ck_assert_int_eq(store_commit(st), 0);
	ck_assert_int_eq(soft_count(mta, "c@x.example"), 3);

	ck_assert_int_eq(store_begin(st, keys, 1), 0);
	ck_assert_int_eq(store_get_rcpt(st, "c@x.example", &r), 1);
	ck_assert_int_eq(r.soft_count, 3);
	ck_assert_int_eq(r.state, RS_DEFERRED);
	r.soft_count++;
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	ck_assert_int_eq(store_commit(st), 1);
	ck_assert_int_eq(soft_count(mta, "c@x.example"), 4);

	/* Known from its own write; another writer comes in between. */
	ck_assert_int_eq(store_begin(st, keys, 1), 0);
	ck_assert_int_eq(store_get_rcpt(st, "c@x.example", &r), 1);
	ck_assert_int_eq(r.soft_count, 4);
	ck_assert_int_eq(get_raw(mta, "c@x.example", &o), 1);
	o.soft_count = 10;
	put_raw(mta, &o);
	r.soft_count++;
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	ck_assert_int_eq(store_commit(st), 0);
	ck_assert_int_eq(store_begin(st, keys, 1), 0);
	ck_assert_int_eq(store_get_rcpt(st, "c@x.example", &r), 1);
	ck_assert_int_eq(r.soft_count, 10);
	r.soft_count++;
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	ck_assert_int_eq(store_commit(st), 1);

	/* Read only: still checked. */
	ck_assert_int_eq(store_begin(st, keys, 1), 0);
	ck_assert_int_eq(store_get_rcpt(st, "c@x.example", &r), 1);
	redis_do(mta, "DEL bouncer:r:c@x.example");
	ck_assert_int_eq(store_commit(st), 0);
	ck_assert_int_eq(store_begin(st, keys, 1), 0);
	ck_assert_int_eq(store_get_rcpt(st, "c@x.example", &r), 0);
	ck_assert_int_eq(store_commit(st), 1);

	/* The server forgot the script. */
	redis_do(mta, "SCRIPT FLUSH");
	suppress_absent(st, "c@x.example");

	/*
	 * An event checked unseen and marked in one transaction (one SET
	 * NX on the server): another writer marks it first, and nothing
	 * of the transaction is written, the mark included; then the
	 * handle knows it seen. When another check fails, the mark is not
	 * written either.
	 */
	ck_assert_int_eq(store_begin(st, keys, 1), 0);
	ck_assert_int_eq(store_event_seen(st, "Q1|c@x.example|1|5.1.1"), 0);
	ck_assert_int_eq(store_get_rcpt(st, "c@x.example", &r), 1);
	r.soft_count = 42;
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	ck_assert_int_eq(store_event_mark(st, "Q1|c@x.example|1|5.1.1", T0),
	    0);
	redis_do(mta, "SET bouncer:e:Q1|c@x.example|1|5.1.1 other");
	ck_assert_int_eq(store_commit(st), 0);
	ck_assert_int_eq(soft_count(mta, "c@x.example"), 0);
	v = redis_cmd(mta, "GET bouncer:e:Q1|c@x.example|1|5.1.1");
	ck_assert_str_eq(v, "other");
	free(v);
	ck_assert_int_eq(store_begin(st, keys, 1), 0);
	ck_assert_int_eq(store_event_seen(st, "Q1|c@x.example|1|5.1.1"), 1);
	ck_assert_int_eq(store_commit(st), 1);

	ck_assert_int_eq(store_begin(st, keys, 1), 0);
	ck_assert_int_eq(store_event_seen(st, "Q2|c@x.example|2|5.1.1"), 0);
	ck_assert_int_eq(store_get_rcpt(st, "c@x.example", &r), 1);
	r.soft_count = 43;
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	ck_assert_int_eq(store_event_mark(st, "Q2|c@x.example|2|5.1.1", T0),
	    0);
	o = r;
	o.soft_count = 7;
	put_raw(mta, &o);		/* the record changed meanwhile */
	ck_assert_int_eq(store_commit(st), 0);
	v = redis_cmd(mta, "EXISTS bouncer:e:Q2|c@x.example|2|5.1.1");
	ck_assert_str_eq(v, "0");
	free(v);
	ck_assert_int_eq(store_begin(st, keys, 1), 0);
	ck_assert_int_eq(store_event_seen(st, "Q2|c@x.example|2|5.1.1"), 0);
	ck_assert_int_eq(store_get_rcpt(st, "c@x.example", &r), 1);
	ck_assert_int_eq(r.soft_count, 7);
	r.soft_count++;
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	ck_assert_int_eq(store_event_mark(st, "Q2|c@x.example|2|5.1.1", T0),
	    0);
	ck_assert_int_eq(store_commit(st), 1);
	ck_assert_int_eq(soft_count(mta, "c@x.example"), 8);
	v = redis_cmd(mta, "TTL bouncer:e:Q2|c@x.example|2|5.1.1");
	ck_assert_msg(atoi(v) > 0, "the mark has no expiry: %s", v);
	free(v);
	redisFree(mta);
	teardown(st);
}
END_TEST
#endif

/* One transaction on rcpt: reads it, writes soft_count + 1. */
static int
bump(struct store *st, const char *addr)
{
	const char *keys[1];
	char k[STORE_ADDR_MAX + 2];
	struct store_rcpt r;
	int have;

	snprintf(k, sizeof(k), "r:%s", addr);
	keys[0] = k;
	ck_assert_int_eq(store_begin(st, keys, 1), 0);
	ck_assert_int_ge(have = store_get_rcpt(st, addr, &r), 0);
	if (!have)
		r = rcpt(addr, RS_DEFERRED, R_MAILBOXFULL, T0 + 60);
	r.soft_count++;
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	return store_commit(st);
}


/* Ends a deferred batch; its outcomes must be want: "1" "0" "-" each. */
static void
defer_end_is(struct store *st, int rc, const char *want)
{
	const signed char *out;
	size_t n, i;

	ck_assert_int_eq(store_defer_end(st, &out, &n), rc);
	ck_assert_uint_eq(n, strlen(want));
	for (i = 0; i < n; i++)
		ck_assert_int_eq(out[i], want[i] == '-' ? -1 : want[i] - '0');
}

/*
 * Deferred commits (store_defer_begin()): sent without waiting, read
 * on as if applied, each outcome learnt at the end: applied, stale
 * (another MTA came first; the handle knows the key now), unknown
 * (the connection died). In order with the batch's plain writes; more
 * than fit in one call or one pipeline; a server that forgot the
 * script.
 */
START_TEST(test_redis_defer)
{
	struct store *st = setup(B_REDIS);
	redisContext *mta = redis_other(redis_dir);
	const signed char *out;
	char a[64];
	struct store_rcpt r;
	size_t n, i;

	ck_assert_int_eq(store_defer_begin(st), 0);
	ck_assert_int_eq(bump(st, "d1@x.example"), 2);
	ck_assert_int_eq(bump(st, "d1@x.example"), 2);	/* reads the first */
	/* Another MTA writes d2 first: this handle's guess is stale. */
	r = rcpt("d2@x.example", RS_DEFERRED, R_MAILBOXFULL, T0 + 60);
	r.soft_count = 7;
	put_raw(mta, &r);
	ck_assert_int_eq(bump(st, "d2@x.example"), 2);
	ck_assert_int_eq(bump(st, "d3@x.example"), 2);
	defer_end_is(st, 0, "1101");
	ck_assert_int_eq(soft_count(mta, "d1@x.example"), 2);
	ck_assert_int_eq(soft_count(mta, "d2@x.example"), 7);
	ck_assert_int_eq(soft_count(mta, "d3@x.example"), 1);
	/* Outside a batch, the stale one again: the handle learnt d2. */
	ck_assert_int_eq(bump(st, "d2@x.example"), 1);
	ck_assert_int_eq(soft_count(mta, "d2@x.example"), 8);

	/* Many: several calls and pipelines, a plain write among them. */
	ck_assert_int_eq(store_defer_begin(st), 0);
	for (i = 0; i < 2500; i++) {
		snprintf(a, sizeof(a), "m%zu@x.example", i % 500);
		ck_assert_int_eq(bump(st, a), 2);
		if (i == 1234)
			ck_assert_int_eq(store_note_put(st, "i:Q1", "<m@x>",
			    T0), 0);
	}
	ck_assert_int_eq(store_defer_end(st, &out, &n), 0);
	ck_assert_uint_eq(n, 2500);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(out[i], 1);
	for (i = 0; i < 500; i += 99) {
		snprintf(a, sizeof(a), "m%zu@x.example", i);
		ck_assert_int_eq(soft_count(mta, a), 5);
	}

	/* The server forgot the script: nothing applied, run again. */
	ck_assert_int_eq(store_defer_begin(st), 0);
	ck_assert_int_eq(bump(st, "d3@x.example"), 2);
	redis_do(mta, "SCRIPT FLUSH");
	ck_assert_int_eq(bump(st, "d3@x.example"), 2);
	defer_end_is(st, 0, "00");
	ck_assert_int_eq(soft_count(mta, "d3@x.example"), 1);
	/* What it had guessed was forgotten: learnt, then applied. */
	ck_assert_int_eq(bump(st, "d3@x.example"), 0);
	ck_assert_int_eq(bump(st, "d3@x.example"), 1);
	ck_assert_int_eq(soft_count(mta, "d3@x.example"), 2);

	/* The connection dies before the end: unknown, and -1. */
	ck_assert_int_eq(store_defer_begin(st), 0);
	ck_assert_int_eq(bump(st, "d4@x.example"), 2);
	redis_do(mta, "CLIENT KILL TYPE normal SKIPME yes");
	defer_end_is(st, -1, "-");
	redisFree(mta);
	teardown(st);
}
END_TEST

/* A free TCP port on 127.0.0.1, or 0. */
static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port = 0;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* redis://user:pass@host:port/db over TCP, with an ACL user. */
START_TEST(test_redis_tcp)
{
	char *dir = testlib_tmpdir("redis-tcp"), *uri, *err = NULL, p[16];
	struct store_rcpt r = rcpt("tcp@x.example", RS_SUPPRESSED,
	    R_USERUNKNOWN, 0), out;
	struct store *st;
	pid_t pid;
	int port = free_port();

	ck_assert_int_gt(port, 0);
	snprintf(p, sizeof(p), "%d", port);
	/* The unix socket is only for the start-up probe. */
	pid = testlib_redis_start(dir, "--port", p);
	uri = xasprintf("redis-cli -p %d ACL SETUSER mta on '>p@ss:w' '~*' "
	    "'+@all' >/dev/null", port);
	ck_assert_int_eq(system(uri), 0);
	free(uri);
	uri = xasprintf("redis://mta:p%%40ss%%3aw@127.0.0.1:%d/2", port);
	st = store_open(uri, NULL, &err);
	ck_assert_msg(st != NULL, "%s: %s", uri, err ? err : "");
	ck_assert_int_eq(store_put_rcpt(st, &r), 0);
	ck_assert_int_eq(store_get_rcpt(st, "tcp@x.example", &out), 1);
	store_close(st);
	free(uri);
	uri = xasprintf("redis://mta:wrong@127.0.0.1:%d/2", port);
	ck_assert_ptr_null(store_open(uri, NULL, &err));
	ck_assert_msg(strstr(err, "AUTH") != NULL, "%s", err);
	free(err);
	free(uri);
	testlib_redis_stop(pid);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST

/*
 * The view the daemon answers from (SQLite): a view-only handle reads
 * the shared index and nothing else; the writer's store_refresh()
 * brings its own commits and another connection's into it.
 */
START_TEST(test_sqlite_view)
{
	struct store *w = setup(B_SQLITE), *v, *other;
	struct store_answer a;
	struct store_rcpt r, got;
	char longaddr[300];

	/* Not loaded yet: the view-only handle fails open. */
	v = open_backend(B_SQLITE, NULL);
	store_view_only(v);
	ck_assert_int_eq(store_lookup(v, "gone@a.example", T0, &a), -1);
	ck_assert_int_eq(store_refresh(w), 0);
	ck_assert_int_eq(store_lookup(v, "gone@a.example", T0, &a), 0);

	/* The writer's commit shows after its refresh. */
	r = rcpt("gone@a.example", RS_SUPPRESSED, R_USERUNKNOWN, 0);
	ck_assert_int_eq(store_put_rcpt(w, &r), 0);
	ck_assert_int_eq(store_refresh(w), 0);
	ck_assert_int_eq(store_lookup(v, "Gone@A.example", T0, &a), 1);
	ck_assert_int_eq(a.kind, ANS_SUPPRESSED);
	ck_assert_int_eq(store_lookup_detail(v, &got), 1);
	ck_assert_str_eq(got.status, "5.1.1");

	/* Another connection (as bouncerctl would be) writes. */
	other = open_backend(B_SQLITE, NULL);
	r = rcpt("full@a.example", RS_DEFERRED, R_MAILBOXFULL, T0 + 3600);
	ck_assert_int_eq(store_put_rcpt(other, &r), 0);
	ck_assert_int_eq(store_del(other, SK_RCPT, "gone@a.example"), 1);
	store_close(other);
	refresh_until(w, v, "full@a.example", 1);
	ck_assert_int_eq(store_lookup(v, "full@a.example", T0, &a), 1);
	ck_assert_int_eq(a.kind, ANS_DEFERRED);
	ck_assert_int_eq(store_lookup(v, "gone@a.example", T0, &a), 0);

	/* Everything but lookups is refused; a key too long fails open. */
	ck_assert_int_eq(store_get_rcpt(v, "full@a.example", &got), -1);
	ck_assert_int_eq(store_put_rcpt(v, &r), -1);
	ck_assert_int_eq(store_begin(v, NULL, 0), -1);
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	longaddr[10] = '@';
	ck_assert_int_eq(store_lookup(v, longaddr, T0, &a), -1);
	store_close(v);
	teardown(w);
}
END_TEST

/*
 * A large import by another connection: the writer's refresh loads
 * everything aside and swaps it in, and the view answers for every
 * row without the view-only handle doing anything.
 */
START_TEST(test_sqlite_view_bulk)
{
	struct store *w = setup(B_SQLITE), *v, *other;
	struct store_answer a;
	struct store_rcpt r;
	char addr[64];
	int i;

	v = open_backend(B_SQLITE, NULL);
	store_view_only(v);
	ck_assert_int_eq(store_refresh(w), 0);
	other = open_backend(B_SQLITE, NULL);
	ck_assert_int_eq(store_batch_begin(other), 0);
	for (i = 0; i < 20000; i++) {
		snprintf(addr, sizeof(addr), "u%d@bulk.example", i);
		r = rcpt(addr, RS_SUPPRESSED, R_USERUNKNOWN, 0);
		ck_assert_int_eq(store_put_rcpt(other, &r), 0);
	}
	ck_assert_int_eq(store_batch_end(other), 0);
	store_close(other);
	refresh_until(w, v, "u19999@bulk.example", 1);
	for (i = 0; i < 20000; i += 997) {
		snprintf(addr, sizeof(addr), "u%d@bulk.example", i);
		ck_assert_int_eq(store_lookup(v, addr, T0, &a), 1);
	}
	ck_assert_int_eq(store_lookup(v, "u19999@bulk.example", T0, &a), 1);
	store_close(v);
	teardown(w);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_uri_redact);
	tcase_add_test(tc, test_rec_pack);
	tcase_add_loop_test(tc, test_roundtrip, 0, NBACKENDS);
	tcase_add_loop_test(tc, test_lookup, 0,
	    NBACKENDS * (int)NCASES(lookups));
	tcase_add_loop_test(tc, test_lookup_other_handle, 0, NBACKENDS);
	tcase_add_loop_test(tc, test_lookup_many, 0, NBACKENDS);
	tcase_add_loop_test(tc, test_lookup_detail, 0, NCASES(details));
	tcase_add_loop_test(tc, test_threads, 0, NBACKENDS);
	tcase_add_loop_test(tc, test_audit, 0, NBACKENDS);
	tcase_add_loop_test(tc, test_events, 0, NBACKENDS);
	tcase_add_loop_test(tc, test_iterate_ids, 0, NBACKENDS);
	tcase_add_loop_test(tc, test_notes, 0, NBACKENDS);
	tcase_add_test(tc, test_notes_expire);
	tcase_add_loop_test(tc, test_notes_when, 0, NBACKENDS);
	tcase_add_loop_test(tc, test_iterate_expire, 0, NBACKENDS);
	tcase_add_loop_test(tc, test_two_processes, 0, NBACKENDS);
	tcase_add_loop_test(tc, test_rollback, 0, NBACKENDS);
	tcase_add_loop_test(tc, test_bad_uri, 0, NCASES(bad_uris));
	tcase_add_test(tc, test_sqlite_schema);
	tcase_add_test(tc, test_sqlite_migrate);
	tcase_add_test(tc, test_sqlite_view);
	tcase_add_test(tc, test_sqlite_view_bulk);
	if (testlib_have_redis("check_store")) {
		tcase_add_test(tc, test_redis_password);
		tcase_add_test(tc, test_redis_reconnect);
		tcase_add_test(tc, test_redis_tcp);
#ifdef HAVE_HIREDIS
		tcase_add_test(tc, test_redis_view);
		tcase_add_test(tc, test_redis_commit);
		tcase_add_test(tc, test_redis_convert);
		tcase_add_test(tc, test_redis_defer);
#endif
	}
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int rc;

	if (testlib_have_redis("check_store")) {
		redis_dir = testlib_tmpdir("redis");
		redis_pid = testlib_redis_start(redis_dir, NULL, NULL);
	}
	rc = testlib_run(store_suite());
	testlib_redis_stop(redis_pid);
	if (redis_dir != NULL)
		testlib_rmtree(redis_dir);
	free(redis_dir);
	return rc;
}
