/*
 * check_logline.c -- a maillog line, read for what it is worth
 *
 * Time stamps with and without a year, around the turn of the year and
 * at the clock's own instant (every "now" here is built from a date,
 * never taken from the clock); Message-ID lines of Postfix and
 * Sendmail; Exim's, OpenSMTPD's and Haraka's delivery lines; and which
 * failures are evidence: bouncer's own answers, Postfix's error and
 * retry transports and suspended deliveries are not, every remote
 * reply is.
 *
 * See also: logline.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "classify.h"
#include "logline.h"
#include "testlib.h"
#include "verdict.h"

/* Local time y-m-d h:m:s as epoch seconds. */
static long long
local(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	tm.tm_isdst = -1;
	return (long long)mktime(&tm);
}

static long long
ts(const char *s, long long now)
{
	return logline_time(s, strlen(s), now);
}

START_TEST(syslog_stamp_this_year)
{
	long long now = local(2031, 3, 15, 12, 0, 0);

	ck_assert_int_eq(ts("Mar 15 11:59:00", now), now - 60);
	ck_assert_int_eq(ts("Mar  1 12:00:00", now),
	    local(2031, 3, 1, 12, 0, 0));
	ck_assert_int_eq(ts("Jan  2 00:00:01", now),
	    local(2031, 1, 2, 0, 0, 1));
	/* A little ahead of now (clock skew between hosts): this year. */
	ck_assert_int_eq(ts("Mar 15 18:00:00", now),
	    local(2031, 3, 15, 18, 0, 0));
}
END_TEST

START_TEST(syslog_stamp_year_rollover)
{
	long long jan2 = local(2031, 1, 2, 10, 0, 0);
	long long dec31 = local(2030, 12, 31, 23, 0, 0);

	/* Read on 2 January, a December line is last year's. */
	ck_assert_int_eq(ts("Dec 31 23:00:00", jan2), dec31);
	ck_assert_int_eq(ts("Nov 25 09:14:03", jan2),
	    local(2030, 11, 25, 9, 14, 3));
	ck_assert_int_eq(ts("Jan  2 09:00:00", jan2), jan2 - 3600);
	/*
	 * Read on 31 December, a line of 1 January 00:30 is next year's
	 * (the syslog host's clock a little ahead), not one from a year ago.
	 */
	ck_assert_int_eq(ts("Jan  1 00:30:00", dec31),
	    local(2031, 1, 1, 0, 30, 0));
	ck_assert_int_eq(ts("Jan  1 00:00:05", local(2030, 12, 31, 23, 59, 50)),
	    local(2031, 1, 1, 0, 0, 5));
	/* A year and a day ahead is no stamp of now's. */
	ck_assert_int_eq(ts("Jan  3 00:00:00", dec31),
	    local(2030, 1, 3, 0, 0, 0));
	/* New Year's Eve read just after midnight. */
	ck_assert_int_eq(ts("Dec 31 23:59:59", local(2031, 1, 1, 0, 0, 5)),
	    local(2030, 12, 31, 23, 59, 59));
}
END_TEST

START_TEST(syslog_stamp_leap_day)
{
	/* 29 February only in a year that has one. */
	ck_assert_int_eq(ts("Feb 29 10:00:00", local(2029, 1, 1, 12, 0, 0)),
	    local(2028, 2, 29, 10, 0, 0));
	ck_assert_int_eq(ts("Feb 29 10:00:00", local(2028, 3, 1, 12, 0, 0)),
	    local(2028, 2, 29, 10, 0, 0));
	ck_assert_int_eq(ts("Feb 30 10:00:00", local(2028, 3, 1, 12, 0, 0)),
	    -1);
}
END_TEST

START_TEST(rfc3339_stamp)
{
	long long now = 1900000000LL;

	ck_assert_int_eq(ts("2030-03-15T12:00:00Z", now), 1899806400LL);
	ck_assert_int_eq(ts("2030-03-15T12:00:00+00:00", now), 1899806400LL);
	ck_assert_int_eq(ts("2030-03-15T21:00:00.123456+09:00", now),
	    1899806400LL);
	ck_assert_int_eq(ts("2030-03-15T07:30:00-04:30", now), 1899806400LL);
	ck_assert_int_eq(ts("2030-03-15T06:30:00-0530", now), 1899806400LL);
	/* The year is the line's, whatever now says. */
	ck_assert_int_eq(ts("2030-03-15T12:00:00Z", 1000000000LL),
	    1899806400LL);
}
END_TEST

START_TEST(exim_stamp)
{
	long long now = 1900000000LL;

	/* Exim writes local time, or with log_timezone its zone. */
	ck_assert_int_eq(ts("2030-03-15 12:00:00", now),
	    local(2030, 3, 15, 12, 0, 0));
	ck_assert_int_eq(ts("2030-03-15 12:00:00.250", now),
	    local(2030, 3, 15, 12, 0, 0));
	ck_assert_int_eq(ts("2030-03-15 13:00:00 +0100", now), 1899806400LL);
	ck_assert_int_eq(ts("2030-03-15 07:30:00.5 -0430", now),
	    1899806400LL);
	ck_assert_int_eq(ts("2030-03-15 12:00", now), -1);
	ck_assert_int_eq(ts("2030-03-15 12:00:00 junk", now), -1);
	ck_assert_int_eq(ts("2030-03-15 12:00:00 +99", now), -1);
}
END_TEST

START_TEST(bad_stamps)
{
	static const char *const bad[] = { "", "yesterday", "Foo 25 09:14:03",
	    "Nov 25", "Nov 25 09:14:03 junk", "2030-03-15", "2030-03-15T12:00",
	    "2030-03-15T12:00:00x", "2030-03-15T12:00:00", "2030-03-15T12:00:00Zx",
	    "2030-03-15T12:00:00+01:00x", "2030-03-15T12:00:00+99:00",
	    "2030-03-15T12:00:00+01:" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ts(bad[i], 1900000000LL) == -1, "%s", bad[i]);
}
END_TEST

#define PFX	"Nov 25 09:14:03 mta "
#define GMAIL_452 "host gmail-smtp-in.l.google.com[142.250.4.27] said: " \
	"452-4.2.2 The email account that you tried to reach is over quota." \
	" (in reply to RCPT TO command)"

static enum logline_kind
rd(const char *line, struct logline *ll)
{
	return logline_read(line, strlen(line), local(2030, 11, 25, 10, 0, 0),
	    ll);
}

START_TEST(msgid_lines)
{
	struct logline ll;

	ck_assert_int_eq(rd(PFX "postfix/cleanup[2104]: 4Bc1x2Yz5Fz1: "
	    "message-id=<2030.A1@news.example.net>", &ll), LL_MSGID);
	ck_assert_str_eq(ll.qid, "4Bc1x2Yz5Fz1");
	ck_assert_str_eq(ll.msgid, "2030.A1@news.example.net");
	ck_assert_int_eq(ll.time, local(2030, 11, 25, 9, 14, 3));
	ck_assert_int_eq(rd("2030-11-25T09:14:03+00:00 mta postfix/cleanup"
	    "[1]: 4Bd: message-id=odd-but-bare", &ll), LL_MSGID);
	ck_assert_str_eq(ll.msgid, "odd-but-bare");
	ck_assert_int_eq(rd(PFX "sm-mta[77]: 5APAHKx3012345: from=<news@"
	    "example.net>, size=1234, class=0, nrcpts=2, msgid=<s1@example."
	    "net>, proto=ESMTP, daemon=MTA, relay=localhost [127.0.0.1]",
	    &ll), LL_MSGID);
	ck_assert_str_eq(ll.qid, "5APAHKx3012345");
	ck_assert_str_eq(ll.msgid, "s1@example.net");
	/* An empty one, and a line that only mentions the words. */
	ck_assert_int_eq(rd(PFX "postfix/cleanup[2104]: 4Bc: message-id=<>",
	    &ll), LL_OTHER);
	ck_assert_int_eq(rd("message-id=<x@y>", &ll), LL_OTHER);
	/* What a client writes into its envelope sender is no msgid line. */
	ck_assert_int_eq(rd(PFX "postfix/smtpd[77]: NOQUEUE: reject: RCPT from"
	    " unknown[203.0.113.9]: 554 5.7.1 <x@gmail.com>: Relay access "
	    "denied; from=<\"z 4BAA0001: message-id=<evil@attacker>\"@e.example>"
	    " to=<x@gmail.com> proto=ESMTP helo=<h>", &ll), LL_OTHER);
	ck_assert_int_eq(rd(PFX "postfix/qmgr[812]: 4BAA0001: from=<\"a, "
	    "nrcpts=1, msgid=<evil@attacker>\"@e.example>, size=1, nrcpt=1 "
	    "(queue active)", &ll), LL_OTHER);
	ck_assert_int_eq(rd(PFX "sm-mta[77]: 5APAHKx3012346: from=<\"a, "
	    "nrcpts=1, msgid=<evil@attacker>\"@e.example>, size=1, class=0, "
	    "nrcpts=1, msgid=<real@example.net>, proto=ESMTP", &ll), LL_MSGID);
	ck_assert_str_eq(ll.msgid, "real@example.net");
	/* Exim's arrival line, and what a sender writes into its address. */
	ck_assert_int_eq(rd("2030-11-25 09:14:03 1abcDE-0001xY-AB <= news@"
	    "example.net H=localhost [127.0.0.1] P=esmtp S=1234 id=e1@"
	    "example.net T=\"hi\"", &ll), LL_MSGID);
	ck_assert_str_eq(ll.qid, "1abcDE-0001xY-AB");
	ck_assert_str_eq(ll.msgid, "e1@example.net");
	ck_assert_int_eq(ll.time, local(2030, 11, 25, 9, 14, 3));
	ck_assert_int_eq(rd("2030-11-25 09:14:03 [77] 1abcDE-0001xY-AC <= "
	    "\"a S=1 id=evil@attacker\"@e.example H=x [192.0.2.1] P=esmtp "
	    "S=99 id=<real@example.net>", &ll), LL_MSGID);
	ck_assert_str_eq(ll.msgid, "real@example.net");
	ck_assert_int_eq(rd("2030-11-25 09:14:03 1abcDE-0001xY-AD <= "
	    "\"a S=1 id=evil@attacker\"@e.example H=x [192.0.2.1] P=esmtp",
	    &ll), LL_OTHER);
}
END_TEST

START_TEST(exim_lines)
{
	struct logline ll;

	ck_assert_int_eq(rd("2030-11-25 09:14:03 1abcDE-0001xY-AB ** a@"
	    "example.org R=dnslookup T=remote_smtp H=mx.example.org "
	    "[192.0.2.5]: SMTP error from remote mail server after RCPT TO:"
	    "<a@example.org>: 550 5.1.1 No such user", &ll), LL_FAILED);
	ck_assert_str_eq(ll.qid, "1abcDE-0001xY-AB");
	ck_assert_int_eq(ll.time, local(2030, 11, 25, 9, 14, 3));
	ck_assert_int_eq(rd("2030-11-25 09:14:03 1abcDE-0001xY-AB == b@"
	    "example.org R=dnslookup T=remote_smtp defer (-44): SMTP error "
	    "from remote mail server after RCPT TO:<b@example.org>: 452 "
	    "4.2.2 Mailbox full", &ll), LL_FAILED);
	ck_assert_int_eq(rd("2030-11-25 09:14:03.120 +0000 1abcDE-0001xY-AB "
	    "=> c@example.org R=dnslookup T=remote_smtp H=mx.example.org "
	    "[192.0.2.5] C=\"250 OK\"", &ll), LL_SENT);
	ck_assert_int_eq(ll.time, 1921828443LL);
	/* No new attempt, and a give-up: no reply at all. */
	ck_assert_int_eq(rd("2030-11-25 09:14:03 1abcDE-0001xY-AB == d@"
	    "example.org routing defer (-51): retry time not reached", &ll),
	    LL_NOT_EVIDENCE);
	ck_assert_int_eq(rd("2030-11-25 09:14:03 1abcDE-0001xY-AB ** e@"
	    "example.org: retry timeout exceeded", &ll), LL_NOT_EVIDENCE);
	ck_assert_int_eq(rd("2030-11-25 09:14:03 1abcDE-0001xY-AB Completed",
	    &ll), LL_OTHER);
}
END_TEST

/* OpenSMTPD 6.8's lines, as the bounce lab captured them. */
START_TEST(opensmtpd_lines)
{
	struct logline ll;

	ck_assert_int_eq(rd(PFX "smtpd[14719]: abfcb8080b50ec6e mta delivery "
	    "evpid=6dcdacbd6772cc67 from=<news@example.net> to=<alice@example"
	    ".org> rcpt=<-> source=\"192.0.2.1\" relay=\"mx.example.org "
	    "(192.0.2.5)\" delay=0s result=\"PermFail\" stat=\"550 5.1.1 "
	    "<alice@example.org>: user does not exist\"", &ll), LL_FAILED);
	ck_assert_str_eq(ll.qid, "6dcdacbd6772cc67");
	ck_assert_int_eq(ll.time, local(2030, 11, 25, 9, 14, 3));
	ck_assert_int_eq(ll.e.status, ML_BOUNCED);
	ck_assert_int_eq(ll.e.opensmtpd, 1);
	ck_assert_int_eq(ll.e.sendmail, 0);
	ck_assert_ptr_null(ll.why);
	/* A loop (written for this test: the lab's was refused at DATA). */
	ck_assert_int_eq(rd(PFX "smtpd[14719]: abfcb8080b50ec6e mta delivery "
	    "evpid=6dcdacbd6772cc68 from=<news@example.net> to=<bob@example"
	    ".org> rcpt=<-> source=\"192.0.2.1\" relay=\"mx.example.org "
	    "(192.0.2.5)\" delay=0s result=\"Loop\" stat=\"Loop detected\"",
	    &ll), LL_FAILED);
	ck_assert_int_eq(ll.e.status, ML_BOUNCED);
	ck_assert_int_eq(rd(PFX "smtpd[14719]: 0000000000000000 mta delivery "
	    "evpid=77ed6c60e9ecbd39 from=<news@example.net> to=<ann@example."
	    "org> rcpt=<-> source=\"-\" relay=\"example.org\" delay=0s "
	    "result=\"TempFail\" stat=\"Temporary failure in MX lookup\"",
	    &ll), LL_FAILED);
	ck_assert_int_eq(ll.e.status, ML_DEFERRED);
	ck_assert_int_eq(rd(PFX "smtpd[14719]: 8e2961051e2ae3d1 mda delivery "
	    "evpid=49d32a0175d31db6 from=<news@example.net> to=<ex69@example."
	    "org> rcpt=<ex69@example.org> user=opensmtpd delay=0s result="
	    "PermFail stat=Error (service unavailable: exited abnormally)",
	    &ll), LL_FAILED);
	ck_assert_int_eq(ll.e.to_program, 1);
	ck_assert_int_eq(rd(PFX "smtpd[14719]: 8e29611a0b31688e mta delivery "
	    "evpid=1233f4dbfef5fa56 from=<> to=<news@example.net> rcpt=<-> "
	    "source=\"192.0.2.1\" relay=\"192.0.2.10 (192.0.2.10)\" "
	    "delay=0s result=\"Ok\" stat=\"250 2.0.0 Ok: queued\"", &ll),
	    LL_SENT);
	/* The give-up after the queue ttl: no reply. */
	ck_assert_int_eq(rd(PFX "smtpd[14720]: relay: Expire for "
	    "dbc5744cca36de67: from=<news@example.net>, to=<ann@example.org>,"
	    " rcpt=<->, delay=20s, stat=Envelope expired", &ll),
	    LL_NOT_EVIDENCE);
	ck_assert_str_eq(ll.why, "expired, no reply");
	/* A session's error names no recipient. */
	ck_assert_int_eq(rd(PFX "smtpd[14719]: 8e2961108ee161ae mta error "
	    "reason=TLS required but not supported by remote host", &ll),
	    LL_OTHER);
}
END_TEST

/*
 * Haraka's outbound (outbound/hmail.js, DEFAULT format): bare, with its
 * log_timestamps, and through syslog. Only "recipient <x> rejected:" and
 * "deferred:" name a recipient.
 */
#define HUUID	"7F4B2A10-5C3D-4E2F-8A1B-9C0D1E2F3A4B.1"
START_TEST(haraka_lines)
{
	static const char *const other[] = {
		"[INFO] [" HUUID "] [outbound] bouncing mail: Some recipients "
		"failed: <gone@example.org>",
		"[INFO] [" HUUID "] [outbound] bouncing mail: 550 5.7.1 "
		"Message rejected as spam",
		"[INFO] [" HUUID "] [outbound] Temp failing 1765116483123_1765"
		"116483123_0_2231_aBcDeF_1_mx for 60 seconds: Upstream error: "
		"421 4.7.0 Try again later",
		"[NOTICE] [" HUUID "] [outbound] delivered file=1765116483123_"
		"1765116483123_0_2231_aBcDeF_1_mx domain=example.org host=mx."
		"example.org ip=192.0.2.5 port=25 mode=SMTP tls=Y auth=N "
		"response=\"2.0.0 Ok\" delay=1.2 fails=0 rcpts=1/0/1",
		/* Haraka receiving: an inbound plugin's refusal */
		"[NOTICE] [3C1D9E02-1A2B-4C3D-8E9F-0A1B2C3D4E5F.1] "
		"[rcpt_to.in_host_list] recipient <x@example.com> rejected: "
		"550 5.1.1 mailbox does not exist",
		/* a quoted local part with a space: not an address we read */
		"[NOTICE] [" HUUID "] [outbound] recipient <\"a b> rejected: "
		"550 5.1.1 x\"@example.org> deferred: 452 4.2.2 Mailbox full",
		/* the words inside another program's line */
		PFX "postfix/smtpd[77]: NOQUEUE: reject: RCPT from x[192.0.2.9]"
		": 550 5.7.1 <y@example.net>: Relay access denied; from=<[NOTICE] "
		"[" HUUID "] [outbound] recipient <v@example.org> rejected: 550 "
		"5.1.1 No such user>",
		"Dec  7 14:08:04 mx haraka[2231]: x [NOTICE] [" HUUID "] "
		"[outbound] recipient <v@example.org> rejected: 550 5.1.1 x",
	};
	struct logline ll;
	size_t i;

	ck_assert_int_eq(rd(PFX "haraka[2231]: [NOTICE] [" HUUID "] [outbound]"
	    " recipient <gone@example.org> rejected: 550 5.1.1 <gone@example."
	    "org>: Recipient address rejected: User unknown", &ll), LL_FAILED);
	ck_assert_str_eq(ll.qid, HUUID);
	ck_assert_int_eq(ll.time, local(2030, 11, 25, 9, 14, 3));
	ck_assert_int_eq(ll.e.status, ML_BOUNCED);
	ck_assert_int_eq(ll.e.haraka, 1);
	ck_assert_int_eq((int)ll.e.to.n, 16);
	ck_assert_int_eq(memcmp(ll.e.to.p, "gone@example.org", 16), 0);
	ck_assert_int_eq(memcmp(ll.e.text.p, "550 5.1.1 <gone@", 16), 0);
	ck_assert_int_eq(rd("2030-11-25T09:14:03.123Z [NOTICE] [" HUUID "] "
	    "[outbound] recipient <full@example.org> deferred: 452 4.2.2 "
	    "Mailbox full", &ll), LL_FAILED);
	ck_assert_int_eq(ll.e.status, ML_DEFERRED);
	ck_assert_int_eq(ll.time, 1921828443LL);
	/* No stamp (Haraka's default on its standard output). */
	ck_assert_int_eq(rd("[NOTICE] [" HUUID "] [outbound] recipient <a@"
	    "example.org> rejected: 550 5.1.1 No such user", &ll), LL_BADTIME);
	ck_assert_int_eq(ll.e.status, ML_BOUNCED);
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		ck_assert_msg(rd(other[i], &ll) == LL_OTHER, "%s", other[i]);
}
END_TEST

START_TEST(evidence)
{
	struct logline ll;

	ck_assert_int_eq(rd(PFX "postfix/smtp[2110]: 4BAA0002: to=<full@gmail"
	    ".com>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, "
	    "delay=1, delays=0/0/0/1, dsn=4.2.2, status=deferred (" GMAIL_452
	    ")", &ll), LL_FAILED);
	ck_assert_str_eq(ll.qid, "4BAA0002");
	ck_assert_ptr_null(ll.why);
	ck_assert_int_eq(rd(PFX "postfix/smtp[2110]: 4BAA0003: to=<ok@gmail"
	    ".com>, relay=x[1.2.3.4]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, "
	    "status=sent (250 2.0.0 OK)", &ll), LL_SENT);
	/* Name service and connection failures say something real. */
	ck_assert_int_eq(rd(PFX "postfix/smtp[2110]: 4BAA0004: to=<a@nx."
	    "example>, relay=none, delay=1, delays=0/0/0/1, dsn=5.4.4, "
	    "status=bounced (Host or domain name not found. Name service "
	    "error for name=nx.example type=A: Host not found)", &ll),
	    LL_FAILED);
	ck_assert_int_eq(rd(PFX "postfix/smtp[2110]: 4BAA0005: to=<a@slow."
	    "example>, relay=none, delay=30, delays=0/0/30/0, dsn=4.4.1, "
	    "status=deferred (connect to mx.slow.example[192.0.2.9]:25: "
	    "Connection timed out)", &ll), LL_FAILED);
}
END_TEST

START_TEST(not_evidence)
{
	static const char *const lines[] = {
		/* bouncer's back-off, routed by the socketmap to retry: */
		PFX "postfix/error[3001]: 4BAA0010: to=<full@gmail.com>, "
		"relay=none, delay=0.1, delays=0.1/0/0/0, dsn=4.2.2, "
		"status=deferred (bouncer: recipient in back-off: mailboxfull, "
		"retry in 59m39s)",
		/* ... as older versions worded it, from the retry service */
		PFX "postfix/retry[3001]: 4BAA0011: to=<full@gmail.com>, "
		"relay=none, delay=0.1, delays=0.1/0/0/0, dsn=4.2.2, "
		"status=deferred (recipient in back-off: mailboxfull, retry "
		"in 59m39s)",
		PFX "postfix/error[3002]: 4BAA0012: to=<x@gmail.com>, "
		"relay=none, delay=0.1, delays=0.1/0/0/0, dsn=4.7.0, "
		"status=deferred (destination throttled: blocked, retry in 9m)",
		PFX "postfix/error[3003]: 4BAA0013: to=<gone@icloud.com>, "
		"relay=none, delay=0.1, delays=0.1/0/0/0, dsn=5.1.1, "
		"status=bounced (bouncer: recipient suppressed: userunknown "
		"since 2030-11-24)",
		/* a transport map's own error: text, no remote server */
		PFX "postfix/error[3004]: 4BAA0014: to=<a@old.example>, "
		"relay=none, delay=0.1, delays=0.1/0/0/0, dsn=5.0.0, "
		"status=bounced (this domain is no longer served)",
		/* the queue manager repeating an earlier failure */
		PFX "postfix/smtp[2110]: 4BAA0015: to=<b@gmail.com>, "
		"relay=none, delay=600, delays=600/0/0/0, dsn=4.7.0, "
		"status=deferred (delivery temporarily suspended: host "
		"gmail-smtp-in.l.google.com[142.250.4.27] refused to talk to "
		"me: 421 4.7.0 Try again later)",
		/* Postfix's own delivery agent could not run, or died */
		PFX "postfix/qmgr[1002]: 4BAA0017: to=<c@example.org>, "
		"relay=none, delay=0.1, delays=0.1/0/0/0, dsn=4.3.0, "
		"status=deferred (mail transport unavailable)",
		PFX "postfix/smtp[2111]: 4BAA0018: to=<d@example.org>, "
		"relay=none, delay=0.1, delays=0.1/0/0/0, dsn=4.3.0, "
		"status=deferred (unknown mail transport error)",
		/* another MTA of the fleet refusing at RCPT on bouncer's word */
		PFX "postfix/smtp[2110]: 4BAA0016: to=<full@gmail.com>, "
		"relay=relay2.example.net[10.0.0.2]:25, delay=1, delays=0/0/0/1, "
		"dsn=4.2.2, status=deferred (host relay2.example.net[10.0.0.2] "
		"said: 450 4.2.2 <full@gmail.com>: Recipient address rejected: "
		"bouncer: recipient in back-off: mailboxfull, retry in 1h (in "
		"reply to RCPT TO command))",
	};
	struct logline ll;
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		ck_assert_msg(rd(lines[i], &ll) == LL_NOT_EVIDENCE, "%s",
		    lines[i]);
		ck_assert_ptr_nonnull(ll.why);
	}
}
END_TEST

START_TEST(answers)
{
	static const char *const ours[] = {
		"bouncer: recipient suppressed: userunknown since 2030-11-24",
		"550 5.1.1 <a@b>: Recipient address rejected: recipient "
		"suppressed: hostunknown since 2030-11-24",
		"x destination throttled: blocked, retry in 9m",
	};
	static const char *const theirs[] = {
		"550 5.1.1 recipient suppressed by the administrator",
		"550 recipient suppressed: yes",
		"421 destination throttled: too many connections",
		"recipient in back-off:",
		"",
	};
	size_t i;

	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		ck_assert_msg(answer_is_ours(ours[i], strlen(ours[i])), "%s",
		    ours[i]);
	for (i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++)
		ck_assert_msg(!answer_is_ours(theirs[i], strlen(theirs[i])),
		    "%s", theirs[i]);
}
END_TEST

START_TEST(bad_time_line)
{
	struct logline ll;

	ck_assert_int_eq(rd("garbage-stamp mta postfix/smtp[2110]: 4BAA0020: "
	    "to=<a@gmail.com>, relay=x[1.2.3.4]:25, delay=1, delays=0/0/0/1, "
	    "dsn=5.1.1, status=bounced (550 5.1.1 user unknown)", &ll),
	    LL_BADTIME);
	ck_assert_int_eq(ll.time, -1);
}
END_TEST

/*
 * A Postfix line cut short by syslog (no ")" at the end) has lost where
 * the reply says which command it answered: no suppression on it.
 */
START_TEST(cut_short)
{
	static const char line[] = PFX "postfix/smtp[2110]: 4BAA0021: "
	    "to=<a@example.org>, relay=mx.example.org[192.0.2.1]:25, delay=1, "
	    "delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx.example.org"
	    "[192.0.2.1] said: 550 5.1.1 user unknown (in reply to RCPT TO "
	    "command))";
	struct logline ll;
	struct classification cl;
	size_t n;

	for (n = sizeof(line) - 1; n + 100 > sizeof(line); n -= 20) {
		memset(&cl, 0, sizeof(cl));
		cl.reason = R_USERUNKNOWN;
		cl.decision = D_SUPPRESS;
		ck_assert_int_eq(logline_read(line, n, local(2030, 11, 25, 10,
		    0, 0), &ll), LL_FAILED);
		logline_shape(&ll.e, &cl);
		if (n == sizeof(line) - 1) {
			ck_assert_uint_eq(cl.decision, D_SUPPRESS);
			ck_assert_str_eq(cl.details, "");
		} else {
			ck_assert_uint_eq(cl.decision, 0);
			ck_assert_str_eq(cl.details, "guard=cut");
		}
	}
}
END_TEST

static Suite *
logline_suite(void)
{
	Suite *s = suite_create("logline");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, syslog_stamp_this_year);
	tcase_add_test(tc, syslog_stamp_year_rollover);
	tcase_add_test(tc, syslog_stamp_leap_day);
	tcase_add_test(tc, rfc3339_stamp);
	tcase_add_test(tc, bad_stamps);
	tcase_add_test(tc, exim_stamp);
	tcase_add_test(tc, exim_lines);
	tcase_add_test(tc, opensmtpd_lines);
	tcase_add_test(tc, haraka_lines);
	tcase_add_test(tc, msgid_lines);
	tcase_add_test(tc, evidence);
	tcase_add_test(tc, not_evidence);
	tcase_add_test(tc, answers);
	tcase_add_test(tc, bad_time_line);
	tcase_add_test(tc, cut_short);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	/* A zone with summer time, so that mktime's choice of it shows. */
	setenv("TZ", testlib_env("BOUNCER_TEST_TZ", "Europe/Paris"), 1);
	tzset();
	return testlib_run(logline_suite());
}
