/*
 * check_pipeline.c -- log lines and bounce e-mails to decisions, and
 * what may not decide anything
 *
 * Drives pipeline_log_line() and pipeline_mail() with real text over a
 * real store (a SQLite file, and a Redis this program starts, flushed
 * before each test), as bouncerd and bouncerctl ingest do:
 *  - a forged DSN, internal or remote, suppresses nobody; a DSN or an
 *    ARF report quoting a real Message-ID changes only the recipients
 *    that message was delivered to; Postfix's own DSN of a failure the
 *    log had is a duplicate;
 *  - bouncer's own answers, logged back by Postfix's error and retry
 *    transports, count for nothing, and Postfix retrying one queue file
 *    neither stretches a back-off nor a throttle;
 *  - syslog stamps without a year across New Year.
 * Times are built from a fixed T0 or from a date, never from the clock.
 *
 * See also: pipeline.h, logline.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <sqlite3.h>

#include "conf.h"
#include "pipeline.h"
#include "rules.h"
#include "store.h"
#include "testlib.h"
#include "xalloc.h"

#define T0	1800000000LL	/* 2027-01-15T08:00:00Z */
#define MIN	60LL
#define HOUR	3600LL

/* Without hiredis the loops over back ends stop before Redis. */
#ifdef HAVE_HIREDIS
enum { B_SQLITE, B_REDIS, NBACKENDS };
#else
enum { B_SQLITE, NBACKENDS, B_REDIS = NBACKENDS };
#endif

static char		*redis_dir;
static char		*tmpdir;
static struct ruleset	*rs;
static struct conf	*conf;
static struct store	*st;
static struct pipeline	*pipe_;

/* What the pipeline reported, per outcome, since open_case(). */
static unsigned		 seen[PO_FAILED + 1];
static char		 last_why[128];
/* The recorded ones, in the order reported. */
static struct {
	char		 rcpt[64];
	enum reason	 reason;
	int		 changed, duplicate;
	enum rcpt_state	 state;
}			 rec[256];
static size_t		 nrec;

static void
on_report(const struct pipeline_report *r, void *arg)
{
	(void)arg;
	seen[r->outcome]++;
	snprintf(last_why, sizeof(last_why), "%s", r->why ? r->why : "");
	if (r->outcome != PO_RECORDED || r->res == NULL || nrec == 256)
		return;
	snprintf(rec[nrec].rcpt, sizeof(rec[0].rcpt), "%s", r->rcpt);
	rec[nrec].reason = r->cl != NULL ? r->cl->reason : R_UNDEFINED;
	rec[nrec].changed = r->res->changed;
	rec[nrec].duplicate = r->res->duplicate;
	rec[nrec].state = r->res->new_state;
	ck_assert_uint_eq(r->res->pending, 0);	/* final, always */
	nrec++;
}

static void
open_case(int backend, const char *const *opts)
{
	char *uri, *err = NULL;

	conf = conf_new();
	for (; opts != NULL && *opts != NULL; opts++)
		ck_assert_int_eq(conf_set(conf, "-o", *opts, NULL, &err), 0);
	tmpdir = testlib_tmpdir("pipeline");
	if (backend == B_REDIS) {
		testlib_redis_flush(redis_dir);
		uri = xasprintf("redis+unix:%s/redis.sock", redis_dir);
	} else
		uri = xasprintf("sqlite:%s/state.db", tmpdir);
	st = store_open(uri, conf, &err);
	ck_assert_msg(st != NULL, "%s: %s", uri, err ? err : "");
	free(uri);
	pipe_ = pipeline_new(conf, rs, st, on_report, NULL);
	memset(seen, 0, sizeof(seen));
	nrec = 0;
}

static void
close_case(void)
{
	pipeline_free(pipe_);
	store_close(st);
	conf_unref(conf);
	testlib_rmtree(tmpdir);
	free(tmpdir);
}

/* "2027-01-15T08:00:00Z" for T0 + dt. */
static const char *
stamp(long long t, char *buf, size_t bufsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* Feeds "STAMP mta PROGRAM[1]: REST" to the pipeline, at t. */
static void
log_at(long long t, const char *program, const char *rest)
{
	char line[2048], sb[32];

	snprintf(line, sizeof(line), "%s mta %s[4242]: %s",
	    stamp(t, sb, sizeof(sb)), program, rest);
	ck_assert_int_eq(pipeline_log_line(pipe_, line, strlen(line), t), 0);
}

static void
delivery(long long t, const char *qid, const char *rcpt, const char *status,
    const char *text)
{
	char rest[1536];

	snprintf(rest, sizeof(rest), "%s: to=<%s>, relay=mx.example[192.0.2."
	    "5]:25, delay=1, delays=0/0/0/1, dsn=%s, status=%s (%s)", qid, rcpt,
	    strcmp(status, "sent") == 0 ? "2.0.0" : strcmp(status,
	    "deferred") == 0 ? "4.2.2" : "5.1.1", status, text);
	log_at(t, "postfix/smtp", rest);
}

static void
msgid_line(long long t, const char *qid, const char *msgid)
{
	char rest[512];

	snprintf(rest, sizeof(rest), "%s: message-id=<%s>", qid, msgid);
	log_at(t, "postfix/cleanup", rest);
}

/* A Postfix DSN; qid and msgid may be NULL; rcpts end with NULL. */
static char *
dsn_mail(const char *qid, const char *msgid, const char *const *rcpts)
{
	char *m = xasprintf("From: MAILER-DAEMON@mta.example.net\nSubject: "
	    "Undelivered Mail Returned to Sender\nTo: news@example.net\n"
	    "MIME-Version: 1.0\nContent-Type: multipart/report; report-type="
	    "delivery-status; boundary=\"B1\"\n\n--B1\nContent-Type: text/"
	    "plain\n\nThis is the mail system at host mta.example.net.\n\n"
	    "--B1\nContent-Type: message/delivery-status\n\nReporting-MTA: "
	    "dns; mta.example.net\n%s%s%s\n", qid ? "X-Postfix-Queue-ID: " :
	    "", qid ? qid : "", qid ? "\n" : ""), *n;

	for (; *rcpts != NULL; rcpts++) {
		n = xasprintf("%sFinal-Recipient: rfc822; %s\nAction: failed\n"
		    "Status: 5.1.1\nRemote-MTA: dns; mx.example\n"
		    "Diagnostic-Code: smtp; 550 5.1.1 <%s>: user does not "
		    "exist\n\n", m, *rcpts, *rcpts);
		free(m);
		m = n;
	}
	n = xasprintf("%s--B1\nContent-Type: text/rfc822-headers\n\n%s%s%s"
	    "Subject: news\n\n--B1--\n", m, msgid ? "Message-ID: <" : "",
	    msgid ? msgid : "", msgid ? ">\n" : "");
	free(m);
	return n;
}

/* raw with its first `from` replaced by `to`; frees raw. */
static char *
swap(char *raw, const char *from, const char *to)
{
	char *p = strstr(raw, from), *n;

	ck_assert_msg(p != NULL, "no \"%s\" in the bounce", from);
	n = xasprintf("%.*s%s%s", (int)(p - raw), raw, to, p + strlen(from));
	free(raw);
	return n;
}

static char *
arf_mail(const char *msgid, const char *rcpt)
{
	return xasprintf("From: feedback@fbl.example\nSubject: FW: spam\n"
	    "Content-Type: multipart/report; report-type=feedback-report; "
	    "boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nA complaint."
	    "\n--b\nContent-Type: message/feedback-report\n\nFeedback-Type: "
	    "abuse\nUser-Agent: x/1.0\nVersion: 1\nOriginal-Rcpt-To: <%s>\n\n"
	    "--b\nContent-Type: message/rfc822\n\nFrom: news@example.net\n"
	    "To: %s\nMessage-ID: <%s>\n\nbuy\n--b--\n", rcpt, rcpt, msgid);
}

static int
mail(char *raw, int internal, long long now)
{
	struct pipeline_mail m;
	int rc;

	memset(&m, 0, sizeof(m));
	m.raw = raw;
	m.len = strlen(raw);
	m.internal = internal;
	m.queue_id = "BOUNCE01";
	rc = pipeline_mail(pipe_, &m, now);
	free(raw);
	return rc;
}

static enum answer_kind
look(const char *rcpt, long long now, long long *until)
{
	struct store_answer a;

	memset(&a, 0, sizeof(a));
	ck_assert_int_ge(store_lookup(st, rcpt, now, &a), 0);
	if (until != NULL)
		*until = a.until;
	return a.kind;
}

#define USER_UNKNOWN	"host mx.example[192.0.2.5] said: 550 5.1.1 " \
	"<gone@icloud.com>: user does not exist (in reply to RCPT TO command)"
#define GMAIL_452	"host gmail-smtp-in.l.google.com[142.250.4.27] said: " \
	"452-4.2.2 The email account that you tried to reach is over quota. " \
	"Please direct 452-4.2.2 the recipient to 452 4.2.2 https://support" \
	".google.com/mail/?p=OverQuotaTemp x74si3925543pgx.490 - gsmtp " \
	"(in reply to RCPT TO command)"
#define GMAIL_421	"host gmail-smtp-in.l.google.com[142.250.4.27] said: " \
	"421-4.7.0 [192.0.2.1      15] Our system has detected an unusual " \
	"rate of 421-4.7.0 unsolicited mail originating from your IP " \
	"address. To protect our users from spam, mail sent from your IP " \
	"address has been temporarily rate limited. (in reply to end of " \
	"DATA command)"

START_TEST(forged_internal_dsn)
{
	static const char *const victim[] = { "victim@customer.example",
	    NULL };

	open_case(_i, NULL);
	/* sendmail -f '' by anyone: no delivery of that queue id logged */
	ck_assert_int_eq(mail(dsn_mail("4BAA0009", NULL, victim), 1, T0), 1);
	ck_assert_uint_eq(seen[PO_UNVERIFIED], 1);
	ck_assert_uint_eq(seen[PO_RECORDED], 0);
	ck_assert_int_eq(look("victim@customer.example", T0 + 1, NULL),
	    ANS_NONE);
	close_case();
}
END_TEST

START_TEST(real_internal_dsn_is_a_duplicate)
{
	static const char *const gone[] = { "gone@icloud.com", NULL };
	static const char *const both[] = { "gone@icloud.com",
	    "victim@icloud.com", NULL };

	open_case(_i, NULL);
	delivery(T0, "4BAA0009", "gone@icloud.com", "bounced", USER_UNKNOWN);
	ck_assert_uint_eq(seen[PO_RECORDED], 1);
	ck_assert_int_eq(look("gone@icloud.com", T0 + 1, NULL), ANS_SUPPRESSED);
	ck_assert_int_eq(mail(dsn_mail("4BAA0009", NULL, gone), 1, T0 + 1), 1);
	ck_assert_uint_eq(seen[PO_DUPLICATE], 1);
	/* The same queue id with a recipient it was never for. */
	ck_assert_int_eq(mail(dsn_mail("4BAA0009", NULL, both), 1, T0 + 2), 2);
	ck_assert_uint_eq(seen[PO_DUPLICATE], 2);
	ck_assert_uint_eq(seen[PO_UNVERIFIED], 1);
	ck_assert_int_eq(look("victim@icloud.com", T0 + 3, NULL), ANS_NONE);
	close_case();
}
END_TEST

START_TEST(remote_dsn_per_recipient)
{
	static const char *const a[] = { "a@remote.example", NULL };
	static const char *const many[] = { "b@remote.example",
	    "victim@remote.example", "victim@gmail.com", NULL };

	open_case(_i, NULL);
	msgid_line(T0, "4BAA0020", "m1@news.example.net");
	delivery(T0 + 1, "4BAA0020", "a@remote.example", "sent", "250 ok");
	delivery(T0 + 1, "4BAA0020", "b@remote.example", "sent", "250 ok");
	/* Later, the remote server bounces what it had accepted. */
	ck_assert_int_eq(mail(dsn_mail(NULL, "m1@news.example.net", a), 0,
	    T0 + HOUR), 1);
	ck_assert_int_eq(look("a@remote.example", T0 + HOUR, NULL),
	    ANS_SUPPRESSED);
	/* Whoever got the newsletter can quote its Message-ID ... */
	memset(seen, 0, sizeof(seen));
	ck_assert_int_eq(mail(dsn_mail("FORGED01", "m1@news.example.net",
	    many), 0, T0 + HOUR), 3);
	ck_assert_uint_eq(seen[PO_RECORDED], 1);
	ck_assert_uint_eq(seen[PO_UNVERIFIED], 2);
	/* ... but only the message's own recipients are touched. */
	ck_assert_int_eq(look("b@remote.example", T0 + HOUR, NULL),
	    ANS_SUPPRESSED);
	ck_assert_int_eq(look("victim@remote.example", T0 + HOUR, NULL),
	    ANS_NONE);
	ck_assert_int_eq(look("victim@gmail.com", T0 + HOUR, NULL), ANS_NONE);
	/* A bounce naming nothing of ours. */
	ck_assert_int_eq(mail(dsn_mail(NULL, NULL, a), 0, T0 + HOUR), 1);
	ck_assert_str_eq(last_why, "names no queue id or Message-ID of ours");
	close_case();
}
END_TEST

START_TEST(verify_window)
{
	static const char *const opts[] = { "bounce_verify_window=1h", NULL };
	static const char *const a[] = { "a@remote.example", NULL };

	open_case(_i, opts);
	msgid_line(T0, "4BAA0021", "m2@news.example.net");
	delivery(T0, "4BAA0021", "a@remote.example", "sent", "250 ok");
	ck_assert_int_eq(mail(dsn_mail(NULL, "m2@news.example.net", a), 0,
	    T0 + 2 * HOUR), 1);
	ck_assert_uint_eq(seen[PO_UNVERIFIED], 1);
	ck_assert_int_eq(look("a@remote.example", T0 + 2 * HOUR, NULL),
	    ANS_NONE);
	close_case();
}
END_TEST

START_TEST(arf_per_recipient)
{
	open_case(_i, NULL);
	msgid_line(T0, "4BAA0030", "m3@news.example.net");
	delivery(T0, "4BAA0030", "reader@mail.example", "sent", "250 ok");
	ck_assert_int_eq(mail(arf_mail("m3@news.example.net",
	    "victim@mail.example"), 0, T0 + HOUR), 1);
	ck_assert_uint_eq(seen[PO_UNVERIFIED], 1);
	ck_assert_int_eq(look("victim@mail.example", T0 + HOUR, NULL),
	    ANS_NONE);
	ck_assert_int_eq(mail(arf_mail("m3@news.example.net",
	    "reader@mail.example"), 0, T0 + HOUR), 1);
	ck_assert_uint_eq(seen[PO_RECORDED], 2);	/* sent, feedback */
	ck_assert_int_eq(look("reader@mail.example", T0 + HOUR, NULL),
	    ANS_SUPPRESSED);
	close_case();
}
END_TEST

START_TEST(own_answers_count_for_nothing)
{
	long long until, until2;
	int i;

	open_case(_i, NULL);
	delivery(T0, "4BAA0040", "full@gmail.com", "deferred", GMAIL_452);
	ck_assert_int_eq(look("full@gmail.com", T0 + 1, &until),
	    ANS_DEFERRED);
	ck_assert_int_eq(until, T0 + HOUR);
	/*
	 * The socketmap routes the queued message to retry:, five queue
	 * runs in a row; and a fleet peer refuses a new one at RCPT.
	 */
	for (i = 1; i <= 5; i++)
		log_at(T0 + i * 5 * MIN, "postfix/retry", "4BAA0040: to=<full@"
		    "gmail.com>, relay=none, delay=300, delays=300/0/0/0, "
		    "dsn=4.2.2, status=deferred (bouncer: recipient in "
		    "back-off: mailboxfull, retry in 55m)");
	log_at(T0 + 30 * MIN, "postfix/smtp", "4BAA0041: to=<full@gmail.com>, "
	    "relay=relay2.example.net[10.0.0.2]:25, delay=1, delays=0/0/0/1, "
	    "dsn=4.2.2, status=deferred (host relay2.example.net[10.0.0.2] "
	    "said: 450 4.2.2 <full@gmail.com>: Recipient address rejected: "
	    "bouncer: recipient in back-off: mailboxfull, retry in 30m (in "
	    "reply to RCPT TO command))");
	log_at(T0 + 31 * MIN, "postfix/error", "4BAA0042: to=<other@yahoo.com>, "
	    "relay=none, delay=0, delays=0/0/0/0, dsn=4.7.0, status=deferred "
	    "(bouncer: destination throttled: blocked, retry in 9m)");
	ck_assert_uint_eq(seen[PO_NOT_EVIDENCE], 7);
	ck_assert_int_eq(look("full@gmail.com", T0 + 31 * MIN, &until2),
	    ANS_DEFERRED);
	ck_assert_int_eq(until2, until);
	ck_assert_int_eq(look("x@yahoo.com", T0 + 31 * MIN, NULL), ANS_NONE);
	close_case();
}
END_TEST

START_TEST(postfix_retries_do_not_stretch)
{
	long long until;
	int i;

	open_case(_i, NULL);
	/* Postfix retrying one queue file without a socketmap. */
	for (i = 0; i < 6; i++) {
		delivery(T0 + i * 5 * MIN, "4BAA0050", "full@gmail.com",
		    "deferred", GMAIL_452);
		delivery(T0 + i * 5 * MIN, "4BAA0051", "a@gmail.com",
		    "deferred", GMAIL_421);
	}
	ck_assert_int_eq(look("full@gmail.com", T0 + 26 * MIN, &until),
	    ANS_DEFERRED);
	ck_assert_int_eq(until, T0 + HOUR);
	ck_assert_int_eq(look("z@gmail.com", T0 + 26 * MIN, &until),
	    ANS_THROTTLED);
	ck_assert_int_le(until, T0 + 25 * MIN + 10 * MIN);
	close_case();
}
END_TEST

START_TEST(syslog_new_year)
{
	static const char *const a[] = { "a@remote.example", NULL };
	char line[1024];
	struct tm tm;
	time_t jan2;
	long long until;

	open_case(_i, NULL);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 2031 - 1900;
	tm.tm_mday = 2;
	tm.tm_hour = 10;
	tm.tm_isdst = -1;
	jan2 = mktime(&tm);
	/* A deferral of 31 December, 23:30, read on 2 January. */
	snprintf(line, sizeof(line), "Dec 31 23:30:00 mta postfix/smtp[1]: "
	    "4BAA0060: to=<full@gmail.com>, relay=gmail-smtp-in.l.google.com"
	    "[142.250.4.27]:25, delay=1, delays=0/0/0/1, dsn=4.2.2, "
	    "status=deferred (%s)", GMAIL_452);
	ck_assert_int_eq(pipeline_log_line(pipe_, line, strlen(line),
	    (long long)jan2), 0);
	/* Last year's: its back-off ended long ago. */
	ck_assert_int_eq(look("full@gmail.com", (long long)jan2, &until),
	    ANS_NONE);
	/* And a message sent on 31 December is bounced on 2 January. */
	snprintf(line, sizeof(line), "Dec 31 23:31:00 mta postfix/cleanup[1]: "
	    "4BAA0061: message-id=<ny@news.example.net>");
	pipeline_log_line(pipe_, line, strlen(line), (long long)jan2);
	snprintf(line, sizeof(line), "Dec 31 23:31:01 mta postfix/smtp[1]: "
	    "4BAA0061: to=<a@remote.example>, relay=mx.example[192.0.2.5]:25, "
	    "delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)");
	pipeline_log_line(pipe_, line, strlen(line), (long long)jan2);
	ck_assert_int_eq(mail(dsn_mail(NULL, "ny@news.example.net", a), 0,
	    (long long)jan2), 1);
	ck_assert_int_eq(look("a@remote.example", (long long)jan2, NULL),
	    ANS_SUPPRESSED);
	close_case();
}
END_TEST

START_TEST(bad_time_stamp)
{
	const char *line = "yesterday mta postfix/smtp[1]: 4BAA0070: to=<gone"
	    "@icloud.com>, relay=mx.example[192.0.2.5]:25, delay=1, "
	    "delays=0/0/0/1, dsn=5.1.1, status=bounced (" USER_UNKNOWN ")";

	open_case(_i, NULL);
	ck_assert_int_eq(pipeline_log_line(pipe_, line, strlen(line), T0), 0);
	ck_assert_uint_eq(seen[PO_BADTIME], 1);
	ck_assert_int_eq(look("gone@icloud.com", T0, NULL), ANS_NONE);
	close_case();
}
END_TEST

/* The sender of a message forges a DSN for it with sendmail -f ''. */
START_TEST(internal_dsn_never_decides)
{
	static const char *const v[] = { "victim@gmail.com", NULL };

	open_case(_i, NULL);
	msgid_line(T0, "4BAA0080", "chosen-by-sender@local");
	delivery(T0 + 1, "4BAA0080", "victim@gmail.com", "sent", "250 ok");
	ck_assert_int_eq(mail(dsn_mail("4BAA0080", "chosen-by-sender@local",
	    v), 1, T0 + HOUR), 1);
	ck_assert_int_eq(mail(dsn_mail(NULL, "chosen-by-sender@local", v), 1,
	    T0 + HOUR), 1);
	ck_assert_uint_eq(seen[PO_UNVERIFIED], 2);
	ck_assert_int_eq(look("victim@gmail.com", T0 + HOUR, NULL), ANS_NONE);
	close_case();
}
END_TEST

/* A recipient of one message bounces a rate limit back: no throttle. */
START_TEST(bounce_never_throttles)
{
	char *raw;
	int i;

	open_case(_i, NULL);
	msgid_line(T0, "4BAA0090", "news-1@relay.example");
	delivery(T0 + 1, "4BAA0090", "attacker@gmail.com", "sent", "250 ok");
	for (i = 0; i < 6; i++) {
		static const char *const a[] = { "attacker@gmail.com", NULL };
		char q[16];

		snprintf(q, sizeof(q), "FAKE%04d", i);
		/* Gmail's rate limit as the diagnostic */
		raw = swap(dsn_mail(q, "news-1@relay.example", a),
		    "Status: 5.1.1", "Status: 4.7.0");
		raw = swap(raw, "550 5.1.1 <attacker@gmail.com>: user does not "
		    "exist", "421-4.7.0 [192.0.2.1      15] Our system has "
		    "detected an unusual rate of 421-4.7.0 unsolicited mail "
		    "originating from your IP address.");
		ck_assert_int_eq(mail(raw, 0, T0 + HOUR + i * 60), 1);
	}
	ck_assert_int_eq(look("anyone@gmail.com", T0 + HOUR + 6 * 60, NULL),
	    ANS_NONE);
	close_case();
}
END_TEST

/* Reading the same log twice changes nothing the first did not. */
START_TEST(log_read_twice)
{
	long long until, until2;
	int pass;

	open_case(_i, NULL);
	for (pass = 0; pass < 3; pass++) {
		delivery(T0, "4BAA00A0", "full@gmail.com", "deferred",
		    GMAIL_452);
		delivery(T0 + 5 * MIN, "4BAA00A0", "full@gmail.com",
		    "deferred", GMAIL_452);
		delivery(T0 + 10 * MIN, "4BAA00A1", "full@gmail.com",
		    "deferred", GMAIL_452);
		/* two queue files retrying in turn */
		delivery(T0 + 15 * MIN, "4BAA00A0", "full@gmail.com",
		    "deferred", GMAIL_452);
		delivery(T0 + 20 * MIN, "4BAA00A1", "full@gmail.com",
		    "deferred", GMAIL_452);
		ck_assert_int_eq(look("full@gmail.com", T0 + 21 * MIN,
		    pass ? &until2 : &until), ANS_DEFERRED);
	}
	/* Two queue files, two soft failures: 2 h from the second. */
	ck_assert_int_eq(until, T0 + 10 * MIN + 2 * HOUR);
	ck_assert_int_eq(until2, until);
	close_case();
}
END_TEST

static int
count_entry(const struct store_audit *au, void *arg)
{
	(void)au;
	++*(long long *)arg;
	return 0;
}

#define GMAIL_550	"host gmail-smtp-in.l.google.com[142.250.4.27] said: " \
	"550-5.1.1 The email account that you tried to reach does not " \
	"exist. (in reply to RCPT TO command)"

/*
 * A batch (bouncerd's writer): reports are held to its end, then made
 * in order, each with its final outcome, also for an event another MTA
 * overtook (Redis: found stale at the end and run again).
 */
START_TEST(batch_reports)
{
	char a[64], qid[16];
	struct store *st2 = NULL;
	struct engine *eng2 = NULL;
	struct engine_event ev;
	long long n = 0;
	size_t i;

	open_case(_i, NULL);
	ck_assert_int_eq(pipeline_batch_begin(pipe_), 0);
	for (i = 0; i < 150; i++) {
		snprintf(a, sizeof(a), "u%03zu@gmail.com", i);
		snprintf(qid, sizeof(qid), "4BAB%04zX", i);
		delivery(T0 + (long long)i, qid, a, "bounced", GMAIL_550);
	}
	delivery(T0, "4BAB0000", "u000@gmail.com", "bounced", GMAIL_550);
	ck_assert_uint_eq(seen[PO_RECORDED], 0);	/* held */
	if (_i == B_REDIS) {
		char *err = NULL, *uri = xasprintf("redis+unix:%s/redis.sock",
		    redis_dir);

		st2 = store_open(uri, conf, &err);
		ck_assert_msg(st2 != NULL, "%s", err ? err : "");
		free(uri);
		eng2 = engine_new(conf, st2);
		memset(&ev, 0, sizeof(ev));
		ev.rcpt = "u010@gmail.com";
		ev.reason = R_MAILBOXFULL;
		ev.decision = D_RETRY;
		ev.stage = STAGE_RCPT;
		ev.status = "4.2.2";
		ev.queue_id = "4BAC0001";
		ev.time = T0 - MIN;
		ck_assert_int_eq(engine_record(eng2, &ev, NULL), 1);
	}
	ck_assert_int_eq(pipeline_batch_end(pipe_), 0);
	ck_assert_uint_eq(seen[PO_RECORDED], 151);
	ck_assert_uint_eq(nrec, 151);
	for (i = 0; i < 150; i++) {
		snprintf(a, sizeof(a), "u%03zu@gmail.com", i);
		ck_assert_str_eq(rec[i].rcpt, a);
		ck_assert_int_eq(rec[i].reason, R_USERUNKNOWN);
		ck_assert_int_eq(rec[i].changed, 1);
		ck_assert_int_eq(rec[i].state, RS_SUPPRESSED);
		ck_assert_int_eq(look(a, T0 + 200, NULL), ANS_SUPPRESSED);
	}
	ck_assert_int_eq(rec[150].duplicate, 1);
	if (eng2 != NULL) {
		/* The other MTA's deferral, then the suppression. */
		ck_assert_int_eq(store_audit_list(st2, "u010@gmail.com",
		    count_entry, &n), 0);
		ck_assert_int_eq(n, 2);
		engine_free(eng2);
		store_close(st2);
	}
	close_case();
}
END_TEST

/* A client's envelope sender written as a delivery line or a msgid. */
START_TEST(injected_lines)
{
	static const char *const real[] = { "a@remote.example", NULL };

	open_case(_i, NULL);
	log_at(T0, "postfix/qmgr", "4BAA00B0: from=<\"a: 5ZZZ: to=<victim@"
	    "gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, "
	    "dsn=5.1.1, status=bounced (550 5.1.1 The email account that you "
	    "tried to reach does not exist. gsmtp)\"@evil.example>, size=1234,"
	    " nrcpt=1 (queue active)");
	ck_assert_int_eq(look("victim@gmail.com", T0 + 1, NULL), ANS_NONE);
	msgid_line(T0, "4BAA00B1", "real-1@relay.example");
	log_at(T0 + 1, "postfix/smtpd", "NOQUEUE: reject: RCPT from unknown"
	    "[203.0.113.9]: 554 5.7.1 <x@gmail.com>: Relay access denied; "
	    "from=<\"z 4BAA00B1: message-id=<evil@attacker>\"@evil.example> "
	    "to=<x@gmail.com> proto=ESMTP helo=<h>");
	delivery(T0 + 2, "4BAA00B1", "a@remote.example", "sent", "250 ok");
	ck_assert_int_eq(mail(dsn_mail(NULL, "real-1@relay.example", real), 0,
	    T0 + HOUR), 1);
	ck_assert_int_eq(look("a@remote.example", T0 + HOUR, NULL),
	    ANS_SUPPRESSED);
	close_case();
}
END_TEST

/* Deferred, sent days later, bounced by the remote side after that. */
/* Feeds an Exim main log line "STAMP +0000 REST" at t. */
static void
exim_at(long long t, const char *rest)
{
	char line[2048], sb[32];
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(sb, sizeof(sb), "%Y-%m-%d %H:%M:%S +0000", &tm);
	snprintf(line, sizeof(line), "%s %s", sb, rest);
	ck_assert_int_eq(pipeline_log_line(pipe_, line, strlen(line), t), 0);
}

/* Exim's log: a bounce decides, a delivery ties a later bounce e-mail. */
START_TEST(exim_log)
{
	static const char *const a[] = { "a@remote.example", NULL };

	open_case(_i, NULL);
	exim_at(T0, "1abcDE-0001xY-AB <= news@example.net H=localhost "
	    "[127.0.0.1] P=esmtp S=1234 id=ex-1@example.net");
	exim_at(T0 + 1, "1abcDE-0001xY-AB ** gone@icloud.com R=dnslookup "
	    "T=remote_smtp H=mx.example [192.0.2.5]: SMTP error from remote "
	    "mail server after RCPT TO:<gone@icloud.com>: 550 5.1.1 "
	    "<gone@icloud.com>: user does not exist");
	ck_assert_int_eq(look("gone@icloud.com", T0 + 2, NULL),
	    ANS_SUPPRESSED);
	exim_at(T0 + 1, "1abcDE-0001xY-AB => a@remote.example R=dnslookup "
	    "T=remote_smtp H=mx.example [192.0.2.5] C=\"250 OK\"");
	ck_assert_int_eq(mail(dsn_mail(NULL, "ex-1@example.net", a), 0,
	    T0 + 3600), 1);
	ck_assert_uint_eq(seen[PO_UNVERIFIED] + seen[PO_DUPLICATE], 0);
	ck_assert_int_eq(look("a@remote.example", T0 + 3600, NULL),
	    ANS_SUPPRESSED);
	close_case();
}
END_TEST

START_TEST(latest_delivery_counts)
{
	static const char *const a[] = { "a@remote.example", NULL };

	open_case(_i, NULL);
	msgid_line(T0, "4BAA00C0", "slow-1@relay.example");
	delivery(T0, "4BAA00C0", "a@remote.example", "deferred",
	    "connect to mx.example[192.0.2.5]:25: Connection timed out");
	delivery(T0 + 4 * 86400, "4BAA00C0", "a@remote.example", "sent",
	    "250 ok");
	/* The deferral is a failure the log had; the bounce is new. */
	ck_assert_int_eq(mail(dsn_mail(NULL, "slow-1@relay.example", a), 0,
	    T0 + 8 * 86400), 1);
	ck_assert_uint_eq(seen[PO_UNVERIFIED] + seen[PO_DUPLICATE], 0);
	ck_assert_int_eq(look("a@remote.example", T0 + 8 * 86400, NULL),
	    ANS_SUPPRESSED);
	close_case();
}
END_TEST

/* A fleet peer's refusal, bounced back by a remote MTA. */
START_TEST(own_answer_in_a_bounce)
{
	static const char *const a[] = { "full@gmail.com", NULL };
	char *raw;

	open_case(_i, NULL);
	msgid_line(T0, "4BAA00D0", "m5@news.example.net");
	delivery(T0, "4BAA00D0", "full@gmail.com", "sent", "250 ok");
	raw = swap(dsn_mail(NULL, "m5@news.example.net", a), "550 5.1.1 "
	    "<full@gmail.com>: user does not exist", "550 5.1.1 <full@gmail."
	    "com>: Recipient address rejected: bouncer: recipient suppressed: "
	    "userunknown since 2027-01-10");
	ck_assert_int_eq(mail(raw, 0, T0 + HOUR), 1);
	ck_assert_uint_eq(seen[PO_NOT_EVIDENCE], 1);
	ck_assert_int_eq(look("full@gmail.com", T0 + HOUR, NULL), ANS_NONE);
	close_case();
}
END_TEST

/* A Message-ID longer than a key holds: still one per recipient. */
START_TEST(long_message_id)
{
	static const char *const a[] = { "a@remote.example", NULL };
	static const char *const b[] = { "b@remote.example", NULL };
	char mid[301];

	open_case(_i, NULL);
	memset(mid, 'x', sizeof(mid) - 1);
	mid[sizeof(mid) - 1] = '\0';
	mid[150] = '@';
	msgid_line(T0, "4BAA00E0", mid);
	delivery(T0 + 1, "4BAA00E0", "a@remote.example", "sent", "250 ok");
	ck_assert_int_eq(mail(dsn_mail(NULL, mid, b), 0, T0 + HOUR), 1);
	ck_assert_uint_eq(seen[PO_UNVERIFIED], 1);
	ck_assert_int_eq(mail(dsn_mail(NULL, mid, a), 0, T0 + HOUR), 1);
	ck_assert_int_eq(look("a@remote.example", T0 + HOUR, NULL),
	    ANS_SUPPRESSED);
	ck_assert_int_eq(look("b@remote.example", T0 + HOUR, NULL), ANS_NONE);
	close_case();
}
END_TEST

/* Runs sql on the SQLite file of the open case, on its own connection. */
static void
sql(const char *q)
{
	char *path = xasprintf("%s/state.db", tmpdir), *err = NULL;
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, q, NULL, NULL, &err) == SQLITE_OK,
	    "%s: %s", q, err ? err : "");
	sqlite3_close(db);
	free(path);
}

/* The first column of the first row of q, as a number. */
static long long
sql_num(const char *q)
{
	char *path = xasprintf("%s/state.db", tmpdir);
	sqlite3_stmt *stmt;
	long long n = -1;
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, q, -1, &stmt, NULL),
	    SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	free(path);
	return n;
}

/*
 * The log follower offers a line again when the store failed for part
 * of it. Here the notes of a bounce line are written but its event is
 * not: offered again, the event is recorded once; offered a third time,
 * it is a repeat that changes nothing.
 */
START_TEST(line_offered_again_after_a_failure)
{
	char line[2048], sb[32];
	unsigned recorded;

	open_case(B_SQLITE, NULL);
	snprintf(line, sizeof(line), "%s mta postfix/smtp[4242]: 4BAA00F0: "
	    "to=<again@gmail.com>, relay=mx.example[192.0.2.5]:25, delay=1, "
	    "delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx.example"
	    "[192.0.2.5] said: 550 5.1.1 <again@gmail.com>: user unknown "
	    "(in reply to RCPT TO command))", stamp(T0, sb, sizeof(sb)));
	sql("CREATE TRIGGER no_event BEFORE INSERT ON event BEGIN "
	    "SELECT RAISE(ABORT, 'no events now'); END");
	ck_assert_int_eq(pipeline_log_line(pipe_, line, strlen(line), T0 + 1),
	    -1);
	ck_assert_uint_eq(seen[PO_FAILED], 1);
	ck_assert_int_eq(look("again@gmail.com", T0 + 2, NULL), ANS_NONE);
	ck_assert_int_eq(sql_num("SELECT count(*) FROM note WHERE id LIKE "
	    "'q:4BAA00F0:%'"), 1);
	ck_assert_int_eq(sql_num("SELECT count(*) FROM event"), 0);
	sql("DROP TRIGGER no_event");
	recorded = seen[PO_RECORDED];
	ck_assert_int_eq(pipeline_log_line(pipe_, line, strlen(line), T0 + 3),
	    0);
	ck_assert_uint_eq(seen[PO_RECORDED], recorded + 1);
	ck_assert_int_eq(look("again@gmail.com", T0 + 4, NULL),
	    ANS_SUPPRESSED);
	ck_assert_int_eq(pipeline_log_line(pipe_, line, strlen(line), T0 + 5),
	    0);
	ck_assert_int_eq(look("again@gmail.com", T0 + 6, NULL),
	    ANS_SUPPRESSED);
	ck_assert_int_eq(sql_num("SELECT count(*) FROM audit WHERE rcpt = "
	    "'again@gmail.com'"), 1);
	ck_assert_uint_eq(seen[PO_FAILED], 1);
	close_case();
}
END_TEST

static Suite *
pipeline_suite(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tc = tcase_create("pipeline");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, forged_internal_dsn, 0, NBACKENDS);
	tcase_add_loop_test(tc, real_internal_dsn_is_a_duplicate, 0,
	    NBACKENDS);
	tcase_add_loop_test(tc, remote_dsn_per_recipient, 0, NBACKENDS);
	tcase_add_loop_test(tc, verify_window, 0, NBACKENDS);
	tcase_add_loop_test(tc, arf_per_recipient, 0, NBACKENDS);
	tcase_add_loop_test(tc, own_answers_count_for_nothing, 0, NBACKENDS);
	tcase_add_loop_test(tc, postfix_retries_do_not_stretch, 0, NBACKENDS);
	tcase_add_loop_test(tc, syslog_new_year, 0, NBACKENDS);
	tcase_add_loop_test(tc, bad_time_stamp, 0, NBACKENDS);
	tcase_add_loop_test(tc, internal_dsn_never_decides, 0, NBACKENDS);
	tcase_add_loop_test(tc, bounce_never_throttles, 0, NBACKENDS);
	tcase_add_loop_test(tc, log_read_twice, 0, NBACKENDS);
	tcase_add_loop_test(tc, batch_reports, 0, NBACKENDS);
	tcase_add_loop_test(tc, injected_lines, 0, NBACKENDS);
	tcase_add_loop_test(tc, latest_delivery_counts, 0, NBACKENDS);
	tcase_add_loop_test(tc, own_answer_in_a_bounce, 0, NBACKENDS);
	tcase_add_loop_test(tc, long_message_id, 0, NBACKENDS);
	tcase_add_test(tc, line_offered_again_after_a_failure);
	tcase_add_loop_test(tc, exim_log, 0, NBACKENDS);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	char *err = NULL;
	pid_t pid;
	int rc;

	setenv("TZ", testlib_env("BOUNCER_TEST_TZ", "Europe/Paris"), 1);
	tzset();
	if ((rs = ruleset_load(testlib_env("BOUNCER_RULES", "rules"),
	    &err)) == NULL) {
		fprintf(stderr, "%s", err ? err : "rules not loaded\n");
		return EXIT_FAILURE;
	}
	pid = 0;
	if (testlib_have_redis("check_pipeline")) {
		redis_dir = testlib_tmpdir("pipeline-redis");
		pid = testlib_redis_start(redis_dir, NULL, NULL);
	}
	rc = testlib_run(pipeline_suite());
	testlib_redis_stop(pid);
	if (redis_dir != NULL)
		testlib_rmtree(redis_dir);
	free(redis_dir);
	ruleset_unref(rs);
	return rc;
}
