/*
 * check_engine.c -- events in, lasting decisions out
 *
 * Each case is a configuration, a sequence of events (times relative
 * to T0, so the test owns the clock) with what each must do, and
 * lookups afterwards at chosen times: each decision kind, expiry per
 * reason, back-off growth and its cap, escalation of soft failures,
 * success resetting them, throttle extension, the alert window, the
 * scope guard and duplicate events. Every case runs on both back
 * ends: a SQLite file in a temporary directory, and a Redis this
 * program starts on a unix socket (flushed before each case).
 *
 * See also: engine.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "conf.h"
#include "engine.h"
#include "policy.h"
#include "store.h"
#include "testlib.h"
#include "xalloc.h"

#define NCASES(a)	(sizeof(a) / sizeof(a[0]))
#define T0		1800000000LL
#define MIN		60LL
#define HOUR		3600LL
#define DAY		86400LL
#define ANY		(-99)
#define NEVER		(-T0)	/* want_until: 0 (no end) */

struct step {
	const char		*rcpt;
	const char		*reason;
	const char		*decision;	/* "suppress,alert"; "sent" */
	enum smtp_stage		 stage;
	enum event_source	 source;
	const char		*details;
	const char		*qid;
	long long		 t;		/* T0 + t */
	int			 want_rc;
	int			 want_state;	/* RS_*, or ANY */
	long long		 want_until;	/* T0 + x; NEVER; ANY */
	int			 want_soft;	/* or ANY */
	int			 want_alert;	/* or ANY */
	int			 want_dup;	/* or ANY */
	int			 want_scoped;	/* or ANY */
};

struct look {
	const char		*rcpt;
	long long		 t;
	enum answer_kind	 kind;
	long long		 until;		/* T0 + x, NEVER, or ANY */
};

struct ecase {
	const char	*name;
	const char	*conf[4];
	struct step	 steps[8];
	struct look	 looks[4];
};

#define R	STAGE_RCPT
#define LOG	SRC_LOG
/* Expectations, in order: rc, state, until, soft, alert, dup, scoped. */
#define WANT(rc, st, u, soft)	rc, st, u, soft, ANY, ANY, ANY

static const struct ecase cases[] = {
	{ "userunknown suppresses for a year", { NULL },
	  { { "a@gmail.com", "userunknown", "suppress", R, LOG, NULL, "Q1", 0,
	      WANT(1, RS_SUPPRESSED, 365 * DAY, 0) } },
	  { { "a@gmail.com", 364 * DAY, ANS_SUPPRESSED, 365 * DAY },
	    { "A@GMAIL.COM", 1, ANS_SUPPRESSED, ANY },
	    { "a@gmail.com", 366 * DAY, ANS_NONE, ANY },
	    { "b@gmail.com", 1, ANS_NONE, ANY } } },
	{ "hostunknown suppresses for days", { NULL },
	  { { "a@gone.example", "hostunknown", "suppress", R, LOG, NULL, "Q1",
	      0, WANT(1, RS_SUPPRESSED, 3 * DAY, 0) } },
	  { { "a@gone.example", 2 * DAY, ANS_SUPPRESSED, 3 * DAY },
	    { "a@gone.example", 4 * DAY, ANS_NONE, ANY } } },
	{ "feedback never expires", { NULL },
	  { { "a@x.example", "feedback", "suppress", STAGE_UNKNOWN, SRC_DSN,
	      NULL, "Q1", 0, WANT(1, RS_SUPPRESSED, NEVER, 0) } },
	  { { "a@x.example", 3000 * DAY, ANS_SUPPRESSED, NEVER } } },
	{ "expiry is configurable", { "userunknown_expiry=7d", NULL },
	  { { "a@x.example", "userunknown", "suppress", R, LOG, NULL, "Q1", 0,
	      WANT(1, RS_SUPPRESSED, 7 * DAY, 0) } },
	  { { "a@x.example", 8 * DAY, ANS_NONE, ANY } } },
	{ "retry backs off: base, factor", { NULL },
	  { { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q1", 0,
	      WANT(1, RS_DEFERRED, HOUR, 1) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q2",
	      2 * HOUR, WANT(1, RS_DEFERRED, 4 * HOUR, 2) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q3",
	      5 * HOUR, WANT(1, RS_DEFERRED, 9 * HOUR, 3) } },
	  { { "a@x.example", 6 * HOUR, ANS_DEFERRED, 9 * HOUR },
	    { "a@x.example", 10 * HOUR, ANS_NONE, ANY } } },
	{ "back-off is capped",
	  { "retry_backoff_factor=10", "retry_backoff_max=1d",
	    "mailboxfull_escalate_count=0", NULL },
	  { { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q1", 0,
	      WANT(1, RS_DEFERRED, HOUR, 1) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q2", HOUR,
	      WANT(1, RS_DEFERRED, 11 * HOUR, 2) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q3",
	      2 * HOUR, WANT(1, RS_DEFERRED, 26 * HOUR, 3) } },
	  { { NULL } } },
	{ "mailboxfull 5 times over 14 days escalates", { NULL },
	  { { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q1", 0,
	      WANT(1, RS_DEFERRED, ANY, 1) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q2",
	      4 * DAY, WANT(1, RS_DEFERRED, ANY, 2) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q3",
	      8 * DAY, WANT(1, RS_DEFERRED, ANY, 3) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q4",
	      12 * DAY, WANT(1, RS_DEFERRED, ANY, 4) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q5",
	      16 * DAY, WANT(1, RS_SUPPRESSED, 46 * DAY, 5) } },
	  { { "a@x.example", 20 * DAY, ANS_SUPPRESSED, 46 * DAY } } },
	{ "5 times in 2 days does not escalate", { NULL },
	  { { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q1", 0,
	      WANT(1, RS_DEFERRED, ANY, 1) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q2",
	      12 * HOUR, WANT(1, RS_DEFERRED, ANY, 2) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q3",
	      DAY, WANT(1, RS_DEFERRED, ANY, 3) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q4",
	      36 * HOUR, WANT(1, RS_DEFERRED, ANY, 4) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q5",
	      2 * DAY, WANT(1, RS_DEFERRED, ANY, 5) } },
	  { { NULL } } },
	{ "a success in between resets the count",
	  { "mailboxfull_escalate_count=3", "mailboxfull_escalate_period=1d",
	    NULL },
	  { { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q1", 0,
	      WANT(1, RS_DEFERRED, ANY, 1) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q2",
	      2 * DAY, WANT(1, RS_DEFERRED, ANY, 2) },
	    { "a@x.example", "delivered", "sent", R, LOG, NULL, "Q3",
	      3 * DAY, WANT(1, RS_NONE, ANY, 0) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q4",
	      4 * DAY, WANT(1, RS_DEFERRED, ANY, 1) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q5",
	      6 * DAY, WANT(1, RS_DEFERRED, ANY, 2) } },
	  { { "a@x.example", 7 * DAY, ANS_NONE, ANY } } },
	{ "a success lifts a suppression, but not feedback", { NULL },
	  { { "a@x.example", "userunknown", "suppress", R, LOG, NULL, "Q1", 0,
	      WANT(1, RS_SUPPRESSED, ANY, 0) },
	    { "a@x.example", "delivered", "sent", R, LOG, NULL, "Q2", DAY,
	      WANT(1, RS_NONE, ANY, 0) },
	    { "f@x.example", "feedback", "suppress", STAGE_UNKNOWN, SRC_DSN,
	      NULL, "Q3", 0, WANT(1, RS_SUPPRESSED, NEVER, 0) },
	    { "f@x.example", "delivered", "sent", R, LOG, NULL, "Q4", DAY,
	      WANT(0, ANY, ANY, ANY) } },
	  { { "a@x.example", 2 * DAY, ANS_NONE, ANY },
	    { "f@x.example", 2 * DAY, ANS_SUPPRESSED, ANY } } },
	{ "success_unsuppress = no keeps it", { "success_unsuppress=no", NULL },
	  { { "a@x.example", "userunknown", "suppress", R, LOG, NULL, "Q1", 0,
	      WANT(1, RS_SUPPRESSED, ANY, 0) },
	    { "a@x.example", "delivered", "sent", R, LOG, NULL, "Q2", DAY,
	      WANT(0, ANY, ANY, ANY) } },
	  { { "a@x.example", 2 * DAY, ANS_SUPPRESSED, ANY } } },
	{ "a success older than the latest event is stale", { NULL },
	  { { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q1", 100,
	      WANT(1, RS_DEFERRED, ANY, 1) },
	    { "a@x.example", "delivered", "sent", R, LOG, NULL, "Q0", 50,
	      WANT(0, ANY, ANY, ANY) } },
	  { { "a@x.example", 200, ANS_DEFERRED, ANY } } },
	{ "a success for an unknown recipient is nothing", { NULL },
	  { { "a@x.example", "delivered", "sent", R, LOG, NULL, "Q1", 0,
	      WANT(0, ANY, ANY, ANY) } },
	  { { "a@x.example", 1, ANS_NONE, ANY } } },
	{ "throttle: default back-off, repeated throttles extend it", { NULL },
	  { { "a@gmail.com", "speeding", "throttle", STAGE_MAIL, LOG, NULL,
	      "Q1", 0, WANT(1, ANY, ANY, ANY) },
	    { "b@gmail.com", "speeding", "throttle", STAGE_MAIL, LOG, NULL,
	      "Q2", 5 * MIN, WANT(1, ANY, ANY, ANY) } },
	  { { "c@gmail.com", 6 * MIN, ANS_THROTTLED, 25 * MIN },
	    { "c@gmail.com", 26 * MIN, ANS_NONE, ANY },
	    { "c@yahoo.com", 6 * MIN, ANS_NONE, ANY } } },
	{ "throttle: retry_after from the reply", { NULL },
	  { { "a@gmail.com", "toomanyconn", "throttle", STAGE_CONNECT, LOG,
	      "retry_after=7200", "Q1", 0, WANT(1, ANY, ANY, ANY) } },
	  { { "c@gmail.com", HOUR, ANS_THROTTLED, 2 * HOUR },
	    { "c@gmail.com", 2 * HOUR, ANS_NONE, ANY } } },
	{ "throttle: the provider covers its other domains", { NULL },
	  { { "a@hotmail.com", "speeding", "throttle", STAGE_MAIL, LOG, NULL,
	      "Q1", 0, WANT(1, ANY, ANY, ANY) },
	    { "a@outlook.com", "speeding", "throttle", STAGE_MAIL, LOG, NULL,
	      "Q2", 9 * MIN, WANT(1, ANY, ANY, ANY) } },
	  { { "z@hotmail.com", 15 * MIN, ANS_THROTTLED, 29 * MIN },
	    { "z@outlook.com", 15 * MIN, ANS_THROTTLED, 19 * MIN },
	    { "z@outlook.com", 20 * MIN, ANS_THROTTLED, 29 * MIN },
	    { "z@live.com", 15 * MIN, ANS_NONE, ANY } } },
	{ "scope guard: MAIL-stage replies cannot suppress", { NULL },
	  { { "a@x.example", "userunknown", "suppress", STAGE_MAIL, LOG, NULL,
	      "Q1", 0, 0, ANY, ANY, ANY, ANY, 0, 1 },
	    { "a@x.example", "userunknown", "retry", STAGE_CONNECT, LOG, NULL,
	      "Q2", 0, 0, ANY, ANY, ANY, ANY, 0, 1 } },
	  { { "a@x.example", 1, ANS_NONE, ANY } } },
	{ "scope guard: sender-side reasons only throttle", { NULL },
	  { { "a@gmail.com", "blocked", "suppress,throttle", R, LOG, NULL,
	      "Q1", 0, 1, ANY, ANY, ANY, ANY, 0, 1 },
	    { "b@gmail.com", "spamdetected", "retry", R, LOG, NULL, "Q2", 0,
	      0, ANY, ANY, ANY, ANY, 0, 1 } },
	  { { "a@gmail.com", 1, ANS_THROTTLED, ANY },
	    { "b@yahoo.com", 1, ANS_NONE, ANY } } },
	{ "scope guard: DATA-stage and bounce e-mails may suppress", { NULL },
	  { { "a@x.example", "userunknown", "suppress", STAGE_DATA, LOG, NULL,
	      "Q1", 0, WANT(1, RS_SUPPRESSED, ANY, 0) },
	    { "b@x.example", "suspend", "suppress", STAGE_UNKNOWN, SRC_DSN,
	      NULL, "Q2", 0, WANT(1, RS_SUPPRESSED, 90 * DAY, 0) } },
	  { { "b@x.example", 1, ANS_SUPPRESSED, 90 * DAY } } },
	{ "alerts: once per window per (kind, blocklist, ip)", { NULL },
	  { { "a@x.example", "blocked", "alert", STAGE_CONNECT, LOG,
	      "blocklist=spamhaus ip=192.0.2.1", "Q1", 0,
	      1, ANY, ANY, ANY, 1, 0, ANY },
	    { "b@x.example", "blocked", "alert", STAGE_CONNECT, LOG,
	      "blocklist=spamhaus ip=192.0.2.1", "Q2", 10 * MIN,
	      1, ANY, ANY, ANY, 0, 0, ANY },
	    { "c@x.example", "blocked", "alert", STAGE_CONNECT, LOG,
	      "blocklist=spamhaus ip=192.0.2.2", "Q3", 11 * MIN,
	      1, ANY, ANY, ANY, 1, 0, ANY },
	    { "d@x.example", "blocked", "alert", STAGE_CONNECT, LOG,
	      "blocklist=spamhaus ip=192.0.2.1", "Q4", 61 * MIN,
	      1, ANY, ANY, ANY, 1, 0, ANY },
	    { "e@x.example", "blocked", "alert", STAGE_CONNECT, LOG,
	      "blocklist=barracuda ip=192.0.2.1", "Q5", 62 * MIN,
	      1, ANY, ANY, ANY, 1, 0, ANY } },
	  { { "a@x.example", 1, ANS_NONE, ANY } } },
	{ "the same event twice counts once", { NULL },
	  { { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q1", 0,
	      WANT(1, RS_DEFERRED, HOUR, 1) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q1", 0,
	      0, ANY, ANY, ANY, ANY, 1, ANY },
	    { "A@X.EXAMPLE", "mailboxfull", "retry", R, LOG, NULL, "Q1", 0,
	      0, ANY, ANY, ANY, ANY, 1, ANY },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q2", 1,
	      WANT(1, RS_DEFERRED, 1 + 2 * HOUR, 2) } },
	  { { NULL } } },
	{ "Postfix retrying one queue file in its back-off counts once",
	  { NULL },
	  { { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q1", 0,
	      WANT(1, RS_DEFERRED, HOUR, 1) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q1",
	      5 * MIN, WANT(0, ANY, ANY, ANY) },
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q1",
	      40 * MIN, WANT(0, ANY, ANY, ANY) },
	    /* after the back-off, the same queue file's answer is new */
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q1",
	      HOUR + 6 * MIN, WANT(1, RS_DEFERRED, 3 * HOUR + 6 * MIN, 2) },
	    /* another message to the same recipient is an answer too */
	    { "a@x.example", "mailboxfull", "retry", R, LOG, NULL, "Q2",
	      HOUR + 7 * MIN, WANT(1, RS_DEFERRED, 5 * HOUR + 7 * MIN, 3) } },
	  { { "a@x.example", 2 * HOUR, ANS_DEFERRED, 5 * HOUR + 7 * MIN } } },
	{ "a throttle counts each queue file once", { NULL },
	  { { "a@gmail.com", "speeding", "throttle", STAGE_MAIL, LOG, NULL,
	      "Q1", 0, WANT(1, ANY, ANY, ANY) },
	    { "a@gmail.com", "speeding", "throttle", STAGE_MAIL, LOG, NULL,
	      "Q1", 5 * MIN, WANT(0, ANY, ANY, ANY) },
	    { "a@gmail.com", "speeding", "throttle", STAGE_MAIL, LOG, NULL,
	      "Q1", 8 * MIN, WANT(0, ANY, ANY, ANY) },
	    { "b@gmail.com", "speeding", "throttle", STAGE_MAIL, LOG, NULL,
	      "Q2", 9 * MIN, WANT(1, ANY, ANY, ANY) } },
	  { { "c@gmail.com", 9 * MIN + 30, ANS_THROTTLED, 29 * MIN } } },
	{ "a throttle that ended counts the same queue file anew", { NULL },
	  { { "a@gmail.com", "speeding", "throttle", STAGE_MAIL, LOG, NULL,
	      "Q1", 0, WANT(1, ANY, ANY, ANY) },
	    { "a@gmail.com", "speeding", "throttle", STAGE_MAIL, LOG, NULL,
	      "Q1", 11 * MIN, WANT(1, ANY, ANY, ANY) } },
	  { { "c@gmail.com", 12 * MIN, ANS_THROTTLED, 21 * MIN } } },
	{ "manual suppression with an end, and for ever", { NULL },
	  { { "m@x.example", "undefined", "suppress", STAGE_UNKNOWN,
	      SRC_MANUAL, NULL, NULL, 0, WANT(1, RS_SUPPRESSED, 365 * DAY,
	      0) } },
	  { { "m@x.example", 10 * DAY, ANS_SUPPRESSED, ANY } } },
};

/* Without hiredis the loops over back ends stop before Redis. */
#ifdef HAVE_HIREDIS
enum { B_SQLITE, B_REDIS, NBACKENDS };
#else
enum { B_SQLITE, NBACKENDS, B_REDIS = NBACKENDS };
#endif

static char		*redis_dir;
static char		*tmpdir;
static struct store	*st;
static struct engine	*eng;


static void
open_case(int backend, const char *const *overrides)
{
	struct conf *c = conf_new();
	char *uri, *err = NULL;
	int i;

	for (i = 0; overrides[i] != NULL; i++) {
		ck_assert_msg(conf_set(c, "test", overrides[i], NULL, &err) ==
		    0, "%s", err);
	}
	tmpdir = testlib_tmpdir("engine");
	if (backend == B_REDIS) {
		testlib_redis_flush(redis_dir);
		uri = xasprintf("redis+unix:%s/redis.sock?db=0", redis_dir);
	} else
		uri = xasprintf("sqlite:%s/state.db", tmpdir);
	st = store_open(uri, c, &err);
	ck_assert_msg(st != NULL, "%s", err ? err : "");
	eng = engine_new(c, st);
	free(uri);
	conf_unref(c);
}

static void
close_case(void)
{
	engine_free(eng);
	store_close(st);
	testlib_rmtree(tmpdir);
	free(tmpdir);
}

static void
event_of(const struct step *s, struct engine_event *ev)
{
	static struct reply_facts facts;	/* ev points to it */
	char bad[64];

	memset(ev, 0, sizeof(*ev));
	ev->rcpt = s->rcpt;
	ev->reason = reason_parse(s->reason, strlen(s->reason));
	ck_assert_int_ge(ev->reason, 0);
	if (strcmp(s->decision, "sent") == 0)
		ev->sent = 1;
	else
		ck_assert_int_eq(decision_parse(s->decision,
		    strlen(s->decision), &ev->decision, bad, sizeof(bad)), 0);
	ev->stage = s->stage;
	ev->source = s->source;
	facts_parse(&facts, s->details);
	ev->facts = &facts;
	ev->queue_id = s->qid;
	ev->time = T0 + s->t;
	ev->rule = "test.rules:1";
	ev->reply = "550 5.1.1 test";
	ev->status = "5.1.1";
	ev->provider = strstr(s->rcpt, "hotmail") || strstr(s->rcpt,
	    "outlook") ? "microsoft" : NULL;
}

static long long
want_time(long long x)
{
	return x == NEVER ? 0 : T0 + x;
}

/* What engine_batch_end() said of each provisional event. */
struct settled {
	unsigned long		 n;
	int			 rc[16];
	struct engine_result	 res[16];
};

static void
settle(unsigned long pending, int rc, const struct engine_result *res,
    void *arg)
{
	struct settled *sd = arg;

	ck_assert_uint_eq(pending, sd->n + 1);	/* each, in order */
	ck_assert_uint_lt(sd->n, 16);
	sd->rc[sd->n] = rc;
	if (res != NULL)
		sd->res[sd->n] = *res;
	else
		memset(&sd->res[sd->n], 0, sizeof(sd->res[0]));
	sd->n++;
}

/*
 * Every case twice on each back end: event by event, and as one batch
 * (engine_batch_begin(): on Redis the commits are pipelined and the
 * outcomes provisional until the end), which must come to the same.
 */
START_TEST(test_case)
{
	const struct ecase *ec = &cases[_i % NCASES(cases)];
	int backend = _i / (int)NCASES(cases) % NBACKENDS;
	int batched = _i / (int)NCASES(cases) / NBACKENDS;
	struct engine_event ev;
	struct engine_result res, prov[8];
	struct settled sd;
	struct store_answer a;
	struct store_rcpt r;
	unsigned long npend = 0;
	int rc, provrc[8];
	size_t i, n, k;

	open_case(backend, ec->conf);
	if (batched)
		ck_assert_int_eq(engine_batch_begin(eng), 0);
	for (i = 0; i < 8 && ec->steps[i].rcpt != NULL; i++) {
		const struct step *s = &ec->steps[i];

		event_of(s, &ev);
		rc = engine_record(eng, &ev, &res);
		prov[i] = res;
		provrc[i] = rc;
		if (res.pending > 0)
			ck_assert_uint_eq(res.pending, ++npend);
		ck_assert_msg(rc == s->want_rc, "%s: step %zu: rc %d, want %d",
		    ec->name, i + 1, rc, s->want_rc);
		if (s->want_dup != ANY)
			ck_assert_msg(res.duplicate == s->want_dup,
			    "%s: step %zu: duplicate %d", ec->name, i + 1,
			    res.duplicate);
		if (s->want_scoped != ANY)
			ck_assert_msg(res.scoped_out == s->want_scoped,
			    "%s: step %zu: scoped_out %d", ec->name, i + 1,
			    res.scoped_out);
		if (s->want_alert != ANY)
			ck_assert_msg(res.alert == s->want_alert,
			    "%s: step %zu: alert %d", ec->name, i + 1,
			    res.alert);
		if (s->want_state == ANY && s->want_soft == ANY &&
		    s->want_until == ANY)
			continue;
		ck_assert_int_eq(store_get_rcpt(st, s->rcpt, &r), 1);
		if (s->want_state != ANY)
			ck_assert_msg((int)r.state == s->want_state,
			    "%s: step %zu: state %s", ec->name, i + 1,
			    rcpt_state_name(r.state));
		if (s->want_soft != ANY)
			ck_assert_msg(r.soft_count == s->want_soft,
			    "%s: step %zu: soft %d", ec->name, i + 1,
			    r.soft_count);
		if (s->want_until != ANY)
			ck_assert_msg(r.until == want_time(s->want_until),
			    "%s: step %zu: until T0%+lld, want T0%+lld",
			    ec->name, i + 1, r.until - T0,
			    want_time(s->want_until) - T0);
	}
	n = i;
	memset(&sd, 0, sizeof(sd));
	if (batched) {
		ck_assert_int_eq(engine_batch_end(eng, settle, &sd), 0);
		/* Nobody else wrote: every provisional outcome stands. */
		ck_assert_uint_eq(sd.n, npend);
		for (i = 0, k = 0; i < n; i++) {
			if (prov[i].pending == 0)
				continue;
			ck_assert_int_eq(sd.rc[k], provrc[i]);
			ck_assert_int_eq(sd.res[k].duplicate,
			    prov[i].duplicate);
			ck_assert_int_eq(sd.res[k].alert, prov[i].alert);
			ck_assert_int_eq(sd.res[k].new_state,
			    prov[i].new_state);
			ck_assert_uint_eq(sd.res[k].pending, 0);
			k++;
		}
	} else
		ck_assert_uint_eq(npend, 0);
	if (backend == B_SQLITE)
		ck_assert_uint_eq(npend, 0);	/* nothing provisional */
	for (i = 0; i < 4 && ec->looks[i].rcpt != NULL; i++) {
		const struct look *l = &ec->looks[i];

		ck_assert_int_ge(store_lookup(st, l->rcpt, T0 + l->t, &a), 0);
		ck_assert_msg(a.kind == l->kind, "%s: lookup %zu (%s): kind "
		    "%d, want %d", ec->name, i + 1, l->rcpt, a.kind, l->kind);
		if (l->until != ANY)
			ck_assert_msg(a.until == want_time(l->until),
			    "%s: lookup %zu: until T0%+lld", ec->name, i + 1,
			    a.until - T0);
	}
	close_case();
}
END_TEST

static int
count_audit(const struct store_audit *a, void *arg)
{
	long long *n = arg;

	(void)a;
	(*n)++;
	return 0;
}

START_TEST(test_audit_bounded)
{
	static const char *const none[] = { "mailboxfull_escalate_count=0",
	    NULL };
	struct engine_event ev;
	char qid[16];
	long long n = 0;
	int i;

	open_case(_i, none);
	memset(&ev, 0, sizeof(ev));
	ev.rcpt = "a@x.example";
	ev.reason = R_MAILBOXFULL;
	ev.decision = D_RETRY;
	ev.stage = STAGE_RCPT;
	ev.queue_id = qid;
	for (i = 0; i < 25; i++) {
		snprintf(qid, sizeof(qid), "Q%d", i);
		ev.time = T0 + i * HOUR;
		ck_assert_int_eq(engine_record(eng, &ev, NULL), 1);
	}
	ck_assert_int_eq(store_audit_list(st, "a@x.example", count_audit, &n),
	    0);
	ck_assert_int_eq(n, 20);
	close_case();
}
END_TEST

static int
first_audit(const struct store_audit *a, void *arg)
{
	struct store_audit *out = arg;

	*out = *a;
	return 1;
}

START_TEST(test_audit_content)
{
	static const char *const none[] = { NULL };
	struct engine_event ev;
	struct store_audit a;

	open_case(_i, none);
	memset(&ev, 0, sizeof(ev));
	ev.rcpt = "a@x.example";
	ev.reason = R_USERUNKNOWN;
	ev.decision = D_SUPPRESS;
	ev.stage = STAGE_RCPT;
	ev.queue_id = "4Bc1x2";
	ev.time = T0;
	ev.rule = "gmail.rules:18";
	ev.reply = "550 5.1.1 no such user";
	ck_assert_int_eq(engine_record(eng, &ev, NULL), 1);
	ck_assert_int_eq(store_audit_list(st, "a@x.example", first_audit, &a),
	    0);
	ck_assert_int_eq(a.time, T0);
	ck_assert_str_eq(a.old, "none");
	ck_assert_str_eq(a.new, "suppressed:userunknown");
	ck_assert_str_eq(a.rule, "gmail.rules:18");
	ck_assert_str_eq(a.reply, "550 5.1.1 no such user");
	ck_assert_str_eq(a.event, "4Bc1x2|a@x.example|1800000000|-");
	/* Removing it by hand is audited too. */
	ck_assert_int_eq(engine_unsuppress(eng, "A@x.example", T0 + 5), 1);
	ck_assert_int_eq(engine_unsuppress(eng, "a@x.example", T0 + 6), 0);
	close_case();
}
END_TEST

/*
 * A deferral and the success of a retry in the same second, for the
 * same message: two events, not one seen twice.
 */
START_TEST(test_same_second_outcomes)
{
	static const char *const none[] = { NULL };
	struct engine_event ev;
	struct store_answer ans;

	open_case(_i, none);
	memset(&ev, 0, sizeof(ev));
	ev.rcpt = "full@x.example";
	ev.reason = R_MAILBOXFULL;
	ev.decision = D_RETRY;
	ev.status = "4.2.2";
	ev.stage = STAGE_RCPT;
	ev.queue_id = "4Bc1x3";
	ev.time = T0;
	ck_assert_int_eq(engine_record(eng, &ev, NULL), 1);
	ck_assert_int_eq(store_lookup(st, "full@x.example", T0, &ans), 1);
	ck_assert_int_eq(ans.kind, ANS_DEFERRED);
	memset(&ev, 0, sizeof(ev));
	ev.rcpt = "full@x.example";
	ev.sent = 1;
	ev.queue_id = "4Bc1x3";
	ev.time = T0;
	ck_assert_int_eq(engine_record(eng, &ev, NULL), 1);
	ck_assert_int_eq(store_lookup(st, "full@x.example", T0, &ans), 0);
	/* Read again, both lines change nothing. */
	ck_assert_int_eq(engine_record(eng, &ev, NULL), 0);
	close_case();
}
END_TEST

struct action_case {
	struct store_answer	 a;
	const char		*status;	/* the record's, or NULL */
	long long		 since;
	long long		 now;
	const char		*want;		/* as the policy server says it */
	enum answer_action	 action;
	enum answer_scope	 scope;
	const char		*want_status;
};

static const struct action_case actions[] = {
	{ { ANS_NONE, 0, 0 }, NULL, 0, T0, "DUNNO", ACT_DUNNO,
	  SCOPE_RECIPIENT, "" },
	{ { ANS_SUPPRESSED, R_USERUNKNOWN, 0 }, "5.1.1", 1764062044, T0,
	  "550 5.1.1 bouncer: recipient suppressed: userunknown since 2025-11-25",
	  ACT_REJECT, SCOPE_RECIPIENT, "5.1.1" },
	{ { ANS_SUPPRESSED, R_MAILBOXFULL, T0 }, "4.2.2", 0, T0 - 60,
	  "550 5.2.2 bouncer: recipient suppressed: mailboxfull",
	  ACT_REJECT, SCOPE_RECIPIENT, "5.2.2" },
	{ { ANS_SUPPRESSED, R_HOSTUNKNOWN, 0 }, NULL, 0, T0,
	  "550 5.1.2 bouncer: recipient suppressed: hostunknown",
	  ACT_REJECT, SCOPE_RECIPIENT, "5.1.2" },
	{ { ANS_DEFERRED, R_MAILBOXFULL, T0 }, "4.2.2", 0, T0 - 4800,
	  "DEFER_IF_PERMIT 4.2.2 bouncer: recipient in back-off: mailboxfull, "
	  "retry in 1h20m", ACT_DEFER, SCOPE_RECIPIENT, "4.2.2" },
	{ { ANS_DEFERRED, R_MAILBOXFULL, T0 }, "5.2.2", 0, T0 - 2 * 86400 - 7,
	  "DEFER_IF_PERMIT 4.2.2 bouncer: recipient in back-off: mailboxfull, "
	  "retry in 2d", ACT_DEFER, SCOPE_RECIPIENT, "4.2.2" },
	{ { ANS_THROTTLED, R_SPEEDING, T0 }, NULL, 0, T0 - 540,
	  "DEFER_IF_PERMIT 4.7.0 bouncer: destination throttled: speeding, "
	  "retry in 9m", ACT_DEFER, SCOPE_DESTINATION, "4.7.0" },
	{ { ANS_THROTTLED, R_BLOCKED, T0 }, NULL, 0, T0 + 5,
	  "DEFER_IF_PERMIT 4.7.0 bouncer: destination throttled: blocked, "
	  "retry in 1s", ACT_DEFER, SCOPE_DESTINATION, "4.7.0" },
};

START_TEST(test_action)
{
	const struct action_case *ac = &actions[_i];
	struct store_rcpt rec;
	struct answer ans;
	char buf[256];

	memset(&rec, 0, sizeof(rec));
	if (ac->status != NULL)
		snprintf(rec.status, sizeof(rec.status), "%s", ac->status);
	rec.since = ac->since;
	engine_answer(&ac->a, ac->status || ac->since ? &rec : NULL, ac->now,
	    &ans);
	ck_assert_int_eq(ans.action, ac->action);
	ck_assert_int_eq(ans.scope, ac->scope);
	ck_assert_int_eq(ans.reason, ac->a.reason);
	ck_assert_str_eq(ans.status, ac->want_status);
	ck_assert_uint_eq(policy_action(&ans, buf, sizeof(buf)),
	    strlen(ac->want));
	ck_assert_str_eq(buf, ac->want);
}
END_TEST

#ifdef HAVE_HIREDIS
/*
 * A batch on Redis whose transactions another MTA overtakes: they are
 * found stale at the end and run again, in order, and no count is
 * lost; each event is settled once, with its final outcome.
 */
START_TEST(test_batch_conflict)
{
	static const char *const none[] = { NULL };
	struct engine_event ev;
	struct engine_result res;
	struct store_rcpt r;
	struct settled sd;
	struct store *st2;
	struct engine *eng2;
	char *uri, *err = NULL;
	long long na = 0;

	open_case(B_REDIS, none);
	uri = xasprintf("redis+unix:%s/redis.sock?db=0", redis_dir);
	st2 = store_open(uri, NULL, &err);
	ck_assert_msg(st2 != NULL, "%s", err ? err : "");
	eng2 = engine_new(NULL, st2);
	memset(&ev, 0, sizeof(ev));
	ev.rcpt = "full@x.example";
	ev.reason = R_MAILBOXFULL;
	ev.decision = D_RETRY;
	ev.status = "4.2.2";
	ev.stage = STAGE_RCPT;

	ck_assert_int_eq(engine_batch_begin(eng), 0);
	ev.queue_id = "Q1";
	ev.time = T0;
	ck_assert_int_eq(engine_record(eng, &ev, &res), 1);
	ck_assert_uint_eq(res.pending, 1);
	ev.queue_id = "Q2";
	ev.time = T0 + 10;
	ck_assert_int_eq(engine_record(eng, &ev, &res), 1);
	ck_assert_uint_eq(res.pending, 2);
	/* Another MTA, in between: its commit lands first. */
	ev.queue_id = "Q3";
	ev.time = T0 + 5;
	ck_assert_int_eq(engine_record(eng2, &ev, &res), 1);
	ck_assert_uint_eq(res.pending, 0);
	memset(&sd, 0, sizeof(sd));
	ck_assert_int_eq(engine_batch_end(eng, settle, &sd), 0);
	ck_assert_uint_eq(sd.n, 2);
	ck_assert_int_eq(sd.rc[0], 1);
	ck_assert_int_eq(sd.rc[1], 1);
	ck_assert_int_eq(sd.res[1].new_state, RS_DEFERRED);
	ck_assert_int_eq(store_get_rcpt(st, "full@x.example", &r), 1);
	ck_assert_int_eq(r.soft_count, 3);	/* Q3, then Q1 and Q2 */
	ck_assert_int_eq(store_audit_list(st, "full@x.example", count_audit,
	    &na), 0);
	ck_assert_int_eq(na, 3);
	/*
	 * Q3 read again in a batch: this handle never saw it, so it guesses
	 * it new (provisionally recorded), the server says otherwise, and
	 * the rerun finds a duplicate. Nothing moves.
	 */
	ck_assert_int_eq(engine_batch_begin(eng), 0);
	ck_assert_int_eq(engine_record(eng, &ev, &res), 1);
	ck_assert_uint_eq(res.pending, 1);
	memset(&sd, 0, sizeof(sd));
	ck_assert_int_eq(engine_batch_end(eng, settle, &sd), 0);
	ck_assert_uint_eq(sd.n, 1);
	ck_assert_int_eq(sd.rc[0], 0);
	ck_assert_int_eq(sd.res[0].duplicate, 1);
	ck_assert_int_eq(store_get_rcpt(st2, "full@x.example", &r), 1);
	ck_assert_int_eq(r.soft_count, 3);
	engine_free(eng2);
	store_close(st2);
	free(uri);
	close_case();
}
END_TEST
#endif

static Suite *
engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("engine");

	tcase_add_loop_test(tc, test_case, 0,
	    2 * NBACKENDS * (int)NCASES(cases));
	tcase_add_loop_test(tc, test_audit_bounded, 0, NBACKENDS);
	tcase_add_loop_test(tc, test_audit_content, 0, NBACKENDS);
	tcase_add_loop_test(tc, test_same_second_outcomes, 0, NBACKENDS);
	tcase_add_loop_test(tc, test_action, 0, NCASES(actions));
#ifdef HAVE_HIREDIS
	if (redis_dir != NULL)
		tcase_add_test(tc, test_batch_conflict);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	pid_t pid;
	int rc;

	pid = 0;
	if (testlib_have_redis("check_engine")) {
		redis_dir = testlib_tmpdir("engine-redis");
		pid = testlib_redis_start(redis_dir, NULL, NULL);
	}
	rc = testlib_run(engine_suite());
	testlib_redis_stop(pid);
	if (redis_dir != NULL)
		testlib_rmtree(redis_dir);
	free(redis_dir);
	return rc;
}
