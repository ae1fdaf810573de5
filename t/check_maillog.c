/*
 * check_maillog.c -- delivery lines out of Postfix, Sendmail, Exim and
 * OpenSMTPD logs
 *
 * Each case is one log line and every field maillog_parse() must find
 * in it; lines that are not deliveries must give 0. Garbage and every
 * prefix of a real line must give 0 or fields inside the line, and
 * never a read outside it (ASan watches: the lines are copied into
 * buffers of their exact length).
 *
 * See also: maillog.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "maillog.h"
#include "testlib.h"
#include "xalloc.h"

#define MAXRCPT		4

struct ml_case {
	const char		*name;
	const char		*line;
	const char		*time;
	const char		*program;
	const char		*queue_id;
	const char		*to;
	const char		*orig_to;	/* "" for none */
	const char		*relay;		/* "" for none */
	const char		*dsn;		/* "" for none */
	enum maillog_status	 status;
	const char		*text;		/* "" for none */
	int			 sendmail;
	const char		*rcpts[MAXRCPT];
};

#define PFX	"Nov 25 09:14:03 mta "

static const struct ml_case cases[] = {
	{ "postfix smtp bounced",
	  PFX "postfix/smtp[2110]: 4Bc1x2Yz5Fz1: to=<nosuchuser@gmail.com>, "
	  "relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1.2, "
	  "delays=0.05/0.01/0.4/0.7, dsn=5.1.1, status=bounced (host "
	  "gmail-smtp-in.l.google.com[142.250.4.27] said: 550-5.1.1 The email "
	  "account that you tried to reach does not exist. 550 5.1.1 "
	  "https://support.google.com/mail/?p=NoSuchUser a1si3921pgb.41 - "
	  "gsmtp (in reply to RCPT TO command))",
	  "Nov 25 09:14:03", "postfix/smtp", "4Bc1x2Yz5Fz1",
	  "<nosuchuser@gmail.com>", "", "gmail-smtp-in.l.google.com", "5.1.1",
	  ML_BOUNCED,
	  "host gmail-smtp-in.l.google.com[142.250.4.27] said: 550-5.1.1 The "
	  "email account that you tried to reach does not exist. 550 5.1.1 "
	  "https://support.google.com/mail/?p=NoSuchUser a1si3921pgb.41 - "
	  "gsmtp (in reply to RCPT TO command)",
	  0, { "nosuchuser@gmail.com" } },
	{ "postfix smtp deferred",
	  PFX "postfix/smtp[2110]: 4Bc1x2Yz5Fz1: to=<full@gmail.com>, "
	  "relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=1.2, "
	  "delays=0.05/0.01/0.4/0.7, dsn=4.2.2, status=deferred (host "
	  "gmail-smtp-in.l.google.com[142.250.4.27] said: 452 4.2.2 Over "
	  "quota (in reply to RCPT TO command))",
	  "Nov 25 09:14:03", "postfix/smtp", "4Bc1x2Yz5Fz1", "<full@gmail.com>",
	  "", "gmail-smtp-in.l.google.com", "4.2.2", ML_DEFERRED,
	  "host gmail-smtp-in.l.google.com[142.250.4.27] said: 452 4.2.2 Over "
	  "quota (in reply to RCPT TO command)",
	  0, { "full@gmail.com" } },
	{ "postfix smtp sent",
	  PFX "postfix/smtp[2110]: 4Bc1x2Yz5Fz1: to=<friend@gmail.com>, "
	  "relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, delay=2.1, "
	  "delays=0.05/0.01/0.4/1.6, dsn=2.0.0, status=sent (250 2.0.0 OK  "
	  "1764062044 a1si3921pgb.42 - gsmtp)",
	  "Nov 25 09:14:03", "postfix/smtp", "4Bc1x2Yz5Fz1",
	  "<friend@gmail.com>", "", "gmail-smtp-in.l.google.com", "2.0.0",
	  ML_SENT, "250 2.0.0 OK  1764062044 a1si3921pgb.42 - gsmtp",
	  0, { "friend@gmail.com" } },
	{ "postfix expired",
	  PFX "postfix/qmgr[1002]: 4Bc9: to=<late@example.org>, relay=none, "
	  "delay=432000, delays=432000/0/0/0, dsn=4.4.1, status=expired, "
	  "returned to sender",
	  "Nov 25 09:14:03", "postfix/qmgr", "4Bc9", "<late@example.org>", "",
	  "none", "4.4.1", ML_EXPIRED, "", 0, { "late@example.org" } },
	{ "postfix orig_to, local",
	  PFX "postfix/local[2133]: 4Bc3Mm1Rt2z3: "
	  "to=<helpdesk@mta.example.net>, orig_to=<support@example.net>, "
	  "relay=local, delay=0.1, delays=0.05/0/0/0.05, dsn=5.3.0, "
	  "status=bounced (Command died with status 1: "
	  "\"/usr/local/bin/ticket-hook\". Command output: cannot parse "
	  "message )",
	  "Nov 25 09:14:03", "postfix/local", "4Bc3Mm1Rt2z3",
	  "<helpdesk@mta.example.net>", "support@example.net", "local", "5.3.0",
	  ML_BOUNCED, "Command died with status 1: \"/usr/local/bin/ticket-hook"
	  "\". Command output: cannot parse message ",
	  0, { "helpdesk@mta.example.net" } },
	{ "postfix local mailbox full",
	  PFX "postfix/local[2134]: 4Bd1: to=<u@mta.example.net>, relay=local, "
	  "delay=0.2, delays=0.1/0/0/0.1, dsn=5.2.2, status=bounced (cannot "
	  "update mailbox /var/mail/u for user u. error writing message: File "
	  "too large)",
	  "Nov 25 09:14:03", "postfix/local", "4Bd1", "<u@mta.example.net>", "",
	  "local", "5.2.2", ML_BOUNCED, "cannot update mailbox /var/mail/u for "
	  "user u. error writing message: File too large",
	  0, { "u@mta.example.net" } },
	{ "postfix lmtp",
	  PFX "postfix/lmtp[2140]: 4Bd2: to=<u@example.org>, relay=mail.example"
	  ".org[private/dovecot-lmtp], delay=0.1, delays=0/0/0/0.1, dsn=5.1.1, "
	  "status=bounced (host mail.example.org[private/dovecot-lmtp] said: "
	  "550 5.1.1 <u@example.org> User doesn't exist: u@example.org (in "
	  "reply to RCPT TO command))",
	  "Nov 25 09:14:03", "postfix/lmtp", "4Bd2", "<u@example.org>", "",
	  "mail.example.org", "5.1.1", ML_BOUNCED, "host mail.example.org"
	  "[private/dovecot-lmtp] said: 550 5.1.1 <u@example.org> User doesn't "
	  "exist: u@example.org (in reply to RCPT TO command)",
	  0, { "u@example.org" } },
	{ "postfix error, relay none",
	  PFX "postfix/error[2150]: 4Bd3: to=<x@slow.example.org>, relay=none, "
	  "delay=300, delays=299/1/0/0, dsn=4.4.1, status=deferred (delivery "
	  "temporarily suspended: connect to mx.slow.example.org"
	  "[203.0.113.50]:25: Connection timed out)",
	  "Nov 25 09:14:03", "postfix/error", "4Bd3", "<x@slow.example.org>",
	  "", "none", "4.4.1", ML_DEFERRED, "delivery temporarily suspended: "
	  "connect to mx.slow.example.org[203.0.113.50]:25: Connection "
	  "timed out",
	  0, { "x@slow.example.org" } },
	{ "relay with port 587 and ipv6",
	  PFX "postfix/smtp[2160]: 4Bd4: to=<a@example.com>, "
	  "relay=mx.example.com[2001:db8::25]:587, delay=1, "
	  "delays=0/0/0.5/0.5, dsn=5.7.1, status=bounced (host "
	  "mx.example.com[2001:db8::25] said: 554 5.7.1 Rejected (in reply "
	  "to end of DATA command))",
	  "Nov 25 09:14:03", "postfix/smtp", "4Bd4", "<a@example.com>", "",
	  "mx.example.com", "5.7.1", ML_BOUNCED, "host mx.example.com"
	  "[2001:db8::25] said: 554 5.7.1 Rejected (in reply to end of DATA "
	  "command)", 0, { "a@example.com" } },
	{ "rfc 3339 time, submission instance",
	  "2026-11-25T09:14:03.123456+09:00 mta postfix-out/smtp[2110]: "
	  "4Bc1x2Yz5Fz1: to=<ken@yahoo.co.jp>, relay=mx.mail.yahoo.co.jp"
	  "[183.79.57.198]:25, delay=1, delays=0/0/0.5/0.5, dsn=5.0.0, "
	  "status=bounced (host mx.mail.yahoo.co.jp[183.79.57.198] said: 554 "
	  "delivery error: dd This user doesn't have a yahoo.co.jp account "
	  "(ken@yahoo.co.jp) [0] - mta1234.mail.kks.yahoo.co.jp (in reply to "
	  "end of DATA command))",
	  "2026-11-25T09:14:03.123456+09:00", "postfix-out/smtp",
	  "4Bc1x2Yz5Fz1", "<ken@yahoo.co.jp>", "", "mx.mail.yahoo.co.jp",
	  "5.0.0", ML_BOUNCED, "host mx.mail.yahoo.co.jp[183.79.57.198] said: "
	  "554 delivery error: dd This user doesn't have a yahoo.co.jp account "
	  "(ken@yahoo.co.jp) [0] - mta1234.mail.kks.yahoo.co.jp (in reply to "
	  "end of DATA command)", 0, { "ken@yahoo.co.jp" } },
	{ "crlf at the end",
	  PFX "postfix/smtp[1]: ABC: to=<a@example.com>, relay=mx.example.com"
	  "[192.0.2.1]:25, dsn=4.0.0, status=deferred (lost connection)\r\n",
	  "Nov 25 09:14:03", "postfix/smtp", "ABC", "<a@example.com>", "",
	  "mx.example.com", "4.0.0", ML_DEFERRED, "lost connection",
	  0, { "a@example.com" } },
	{ "sendmail, two recipients",
	  PFX "sm-mta[3301]: 5APAHKx3012345: to=<nobody@example.com>,"
	  "<other@example.com>, delay=00:00:01, xdelay=00:00:01, "
	  "mailer=esmtp, pri=120000, relay=mx.example.com. [198.51.100.30], "
	  "dsn=5.1.1, stat=User unknown",
	  "Nov 25 09:14:03", "sm-mta", "5APAHKx3012345",
	  "<nobody@example.com>,<other@example.com>", "", "mx.example.com",
	  "5.1.1", ML_BOUNCED, "User unknown",
	  1, { "nobody@example.com", "other@example.com" } },
	{ "sendmail deferred",
	  PFX "sm-mta[3302]: 5APAHLx4012346: to=<later@example.com>, "
	  "delay=00:00:02, xdelay=00:00:02, mailer=esmtp, pri=120000, "
	  "relay=mx.example.com. [198.51.100.30], dsn=4.7.0, stat=Deferred: "
	  "421 4.7.0 Try again later, closing connection.",
	  "Nov 25 09:14:03", "sm-mta", "5APAHLx4012346", "<later@example.com>",
	  "", "mx.example.com", "4.7.0", ML_DEFERRED,
	  "Deferred: 421 4.7.0 Try again later, closing connection.",
	  1, { "later@example.com" } },
	{ "sendmail sent",
	  PFX "sendmail[3303]: 5APAHMx5012347: to=<ok@example.com>, "
	  "delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=30000, "
	  "relay=mx.example.com. [198.51.100.30], dsn=2.0.0, stat=Sent "
	  "(5APAHMx5012347 Message accepted for delivery)",
	  "Nov 25 09:14:03", "sendmail", "5APAHMx5012347", "<ok@example.com>",
	  "", "mx.example.com", "2.0.0", ML_SENT,
	  "Sent (5APAHMx5012347 Message accepted for delivery)",
	  1, { "ok@example.com" } },
	{ "sendmail, no dsn, no brackets, three recipients",
	  PFX "sm-mta[3304]: 5APAHNx6: to=a@example.com,b@example.com,"
	  "c@example.com, delay=00:05:00, mailer=esmtp, pri=120000, "
	  "relay=mx.example.com., stat=Deferred: Connection refused by "
	  "mx.example.com.",
	  "Nov 25 09:14:03", "sm-mta", "5APAHNx6",
	  "a@example.com,b@example.com,c@example.com", "", "mx.example.com",
	  "", ML_DEFERRED, "Deferred: Connection refused by mx.example.com.",
	  1, { "a@example.com", "b@example.com", "c@example.com" } },
	{ "exim bounce",
	  "2026-12-05 10:00:00 1abcDE-0001xY-AB ** a@example.org R=dnslookup "
	  "T=remote_smtp H=mx.example.org [192.0.2.5]: SMTP error from remote "
	  "mail server after RCPT TO:<a@example.org>: 550 5.1.1 No such user",
	  "2026-12-05 10:00:00", "", "1abcDE-0001xY-AB", "a@example.org",
	  "", "mx.example.org", "", ML_BOUNCED,
	  "SMTP error from remote mail server after RCPT TO:<a@example.org>: "
	  "550 5.1.1 No such user", 0, { "a@example.org" } },
	{ "exim bounce, no host",
	  "2026-12-05 10:00:00 1abcDE-0001xY-AB ** a@example.org R=dnslookup "
	  "T=remote_smtp: SMTP error from remote mail server after RCPT "
	  "TO:<a@example.org>: 550 User unknown",
	  "2026-12-05 10:00:00", "", "1abcDE-0001xY-AB", "a@example.org",
	  "", "", "", ML_BOUNCED,
	  "SMTP error from remote mail server after RCPT TO:<a@example.org>: "
	  "550 User unknown", 0, { "a@example.org" } },
	{ "exim defer",
	  "2026-12-05 10:00:00 1abcDE-0001xY-AB == b@example.org R=dnslookup "
	  "T=remote_smtp defer (-44) H=mx.example.org [192.0.2.5]: SMTP error "
	  "from remote mail server after RCPT TO:<b@example.org>: 451 4.7.1 "
	  "Greylisted",
	  "2026-12-05 10:00:00", "", "1abcDE-0001xY-AB", "b@example.org",
	  "", "mx.example.org", "", ML_DEFERRED,
	  "SMTP error from remote mail server after RCPT TO:<b@example.org>: "
	  "451 4.7.1 Greylisted", 0, { "b@example.org" } },
	{ "exim delivery",
	  "2026-12-05 10:00:00 1abcDE-0001xY-AB => c@example.org R=dnslookup "
	  "T=remote_smtp H=mx.example.org [192.0.2.5] X=TLS1.3:TLS_AES_256:256 "
	  "CV=yes C=\"250 2.0.0 Ok: queued as 4Bc1x2\"",
	  "2026-12-05 10:00:00", "", "1abcDE-0001xY-AB", "c@example.org",
	  "", "mx.example.org", "", ML_SENT, "", 0, { "c@example.org" } },
	{ "exim another address of the delivery",
	  "2026-12-05 10:00:00 1abcDE-0001xY-AB -> d@example.org R=dnslookup "
	  "T=remote_smtp H=mx.example.org [192.0.2.5]",
	  "2026-12-05 10:00:00", "", "1abcDE-0001xY-AB", "d@example.org",
	  "", "mx.example.org", "", ML_SENT, "", 0, { "d@example.org" } },
	{ "exim, milliseconds, zone, pid, new id, original address",
	  "2026-12-05 10:00:04.123 +0100 [4242] 1rBHcF-00000000Ktm-0000 ** "
	  "e@example.com <alias@example.net> R=dnslookup T=remote_smtp "
	  "H=mx.example.com [2001:db8::25]: SMTP error from remote mail server "
	  "after end of data: 550 5.7.1 Rejected",
	  "2026-12-05 10:00:04.123 +0100", "", "1rBHcF-00000000Ktm-0000",
	  "e@example.com", "alias@example.net", "mx.example.com", "",
	  ML_BOUNCED, "SMTP error from remote mail server after end of data: "
	  "550 5.7.1 Rejected", 0, { "e@example.com" } },
	{ "exim give-up",
	  "2026-12-05 10:00:00 1abcDE-0001xY-AB ** f@example.org: retry "
	  "timeout exceeded",
	  "2026-12-05 10:00:00", "", "1abcDE-0001xY-AB", "f@example.org",
	  "", "", "", ML_EXPIRED, "retry timeout exceeded", 0,
	  { "f@example.org" } },
	{ "exim pipe, a command with spaces, its address after it",
	  "2026-12-05 10:00:00 1abcDE-0001xY-AB ** |/bin/sh -c 'exit 67' "
	  "<g@example.org> R=aliases T=address_pipe: Child process of "
	  "address_pipe transport returned 67 (could mean user nonexistent) "
	  "from command: /bin/sh",
	  "2026-12-05 10:00:00", "", "1abcDE-0001xY-AB", "g@example.org",
	  "g@example.org", "", "", ML_BOUNCED, "Child process of address_pipe "
	  "transport returned 67 (could mean user nonexistent) from command: "
	  "/bin/sh", 0, { "g@example.org" } },
	{ "sendmail, a program, the address it was for in ctladdr=",
	  PFX "sendmail[3306]: 5APAHPx8: to=\"|exit 67\", "
	  "ctladdr=<h@example.org> (1/0), delay=00:00:00, xdelay=00:00:00, "
	  "mailer=prog, pri=30501, dsn=5.1.1, stat=User unknown",
	  "Nov 25 09:14:03", "sendmail", "5APAHPx8", "h@example.org",
	  "h@example.org", "", "5.1.1", ML_BOUNCED, "User unknown", 1,
	  { "h@example.org" } },
	/* OpenSMTPD 6.8 (Debian 12), as the bounce lab captured it */
	{ "opensmtpd relay, the remote's reply",
	  PFX "smtpd[14719]: abfcb8080b50ec6e mta delivery evpid="
	  "6dcdacbd6772cc67 from=<news@example.net> to=<alice@example.org> "
	  "rcpt=<-> source=\"192.0.2.1\" relay=\"mx.example.org "
	  "(192.0.2.5)\" delay=0s result=\"PermFail\" stat=\"550 5.1.1 "
	  "<alice@example.org>: user does not exist\"",
	  "Nov 25 09:14:03", "smtpd", "6dcdacbd6772cc67", "alice@example.org",
	  "", "mx.example.org", "", ML_BOUNCED, "550 5.1.1 <alice@example.org>:"
	  " user does not exist", 0, { "alice@example.org" } },
	{ "opensmtpd relay, a multi-line reply joined",
	  PFX "smtpd[14719]: abfcb8080b50ec6e mta delivery evpid="
	  "4b651181f2266d72 from=<news@example.net> to=<rupert@example.org> "
	  "rcpt=<-> source=\"192.0.2.1\" relay=\"192.0.2.5 (192.0.2.5)\" "
	  "delay=1s result=\"PermFail\" stat=\"550-5.7.26 The MAIL FROM "
	  "domain [news.example.net] has an SPF record with a hard fail5.7.26 "
	  "policy (-all) but it fails to pass SPF checks\"",
	  "Nov 25 09:14:03", "smtpd", "4b651181f2266d72", "rupert@example.org",
	  "", "192.0.2.5", "", ML_BOUNCED, "550-5.7.26 The MAIL FROM domain "
	  "[news.example.net] has an SPF record with a hard fail5.7.26 policy "
	  "(-all) but it fails to pass SPF checks", 0,
	  { "rupert@example.org" } },
	{ "opensmtpd relay, a deferral",
	  PFX "smtpd[14719]: abfcb823aa5ded74 mta delivery evpid="
	  "ed53b9414701fdbd from=<news@example.net> to=<pia@example.org> "
	  "rcpt=<-> source=\"192.0.2.1\" relay=\"mx.example.org "
	  "(192.0.2.5)\" delay=1s result=\"TempFail\" stat=\"450 4.2.1 Peak "
	  "SMTP relay limit exceeded for customer. This is a temporary "
	  "error.\"",
	  "Nov 25 09:14:03", "smtpd", "ed53b9414701fdbd", "pia@example.org",
	  "", "mx.example.org", "", ML_DEFERRED, "450 4.2.1 Peak SMTP relay "
	  "limit exceeded for customer. This is a temporary error.", 0,
	  { "pia@example.org" } },
	{ "opensmtpd relay, its own words: the connector, no host",
	  PFX "smtpd[14719]: 0000000000000000 mta delivery evpid="
	  "c862cf146c80f23a from=<news@example.net> to=<ann@nx.example.org> "
	  "rcpt=<-> source=\"-\" relay=\"nx.example.org\" delay=0s "
	  "result=\"PermFail\" stat=\"Domain does not exist\"",
	  "Nov 25 09:14:03", "smtpd", "c862cf146c80f23a", "ann@nx.example.org",
	  "", "nx.example.org", "", ML_BOUNCED, "Domain does not exist", 0,
	  { "ann@nx.example.org" } },
	{ "opensmtpd relay, delivered",
	  PFX "smtpd[14719]: 8e29611a0b31688e mta delivery evpid="
	  "1233f4dbfef5fa56 from=<> to=<news@example.net> rcpt=<-> "
	  "source=\"192.0.2.1\" relay=\"192.0.2.10 (192.0.2.10)\" delay=0s "
	  "result=\"Ok\" stat=\"250 2.0.0 Ok: queued\"",
	  "Nov 25 09:14:03", "smtpd", "1233f4dbfef5fa56", "news@example.net",
	  "", "192.0.2.10", "", ML_SENT, "250 2.0.0 Ok: queued", 0,
	  { "news@example.net" } },
	{ "opensmtpd local delivery agent, a program exiting 67",
	  PFX "smtpd[14719]: 8e2961051e2ae3d1 mda delivery evpid="
	  "6da6f0bb47abb32c from=<news@example.net> to=<ex67@example.org> "
	  "rcpt=<list@example.org> user=opensmtpd delay=0s result=PermFail "
	  "stat=Error (user unknown: exited abnormally)",
	  "Nov 25 09:14:03", "smtpd", "6da6f0bb47abb32c", "ex67@example.org",
	  "list@example.org", "", "", ML_BOUNCED, "Error (user unknown: exited"
	  " abnormally)", 0, { "ex67@example.org" } },
	{ "haraka outbound, refused at RCPT (syslog)",
	  PFX "haraka[2231]: [NOTICE] [7F4B2A10-5C3D-4E2F-8A1B-9C0D1E2F3A4B.1] "
	  "[outbound] recipient <gone@example.org> rejected: 550 5.1.1 "
	  "<gone@example.org>: Recipient address rejected: User unknown",
	  "Nov 25 09:14:03", "haraka", "7F4B2A10-5C3D-4E2F-8A1B-9C0D1E2F3A4B.1",
	  "gone@example.org", "", "", "", ML_BOUNCED, "550 5.1.1 <gone@example"
	  ".org>: Recipient address rejected: User unknown", 0,
	  { "gone@example.org" } },
	{ "haraka outbound, deferred (log_timestamps)",
	  "2030-11-25T09:14:03.123Z [NOTICE] [7F4B2A10.2] [outbound] recipient "
	  "<full@example.org> deferred: 452 4.2.2 Mailbox full",
	  "2030-11-25T09:14:03.123Z", "", "7F4B2A10.2", "full@example.org", "",
	  "", "", ML_DEFERRED, "452 4.2.2 Mailbox full", 0,
	  { "full@example.org" } },
	{ "opensmtpd expiry: a give-up",
	  PFX "smtpd[14720]: relay: Expire for dbc5744cca36de67: "
	  "from=<news@example.net>, to=<ann@example.org>, rcpt=<->, "
	  "delay=20s, stat=Envelope expired",
	  "Nov 25 09:14:03", "smtpd", "dbc5744cca36de67", "ann@example.org",
	  "", "", "", ML_EXPIRED, "Envelope expired", 0,
	  { "ann@example.org" } },
	{ "opensmtpd 6.6 and before: an envelope line",
	  PFX "smtpd[4410]: delivery: PermFail for 6da6f0bb47abb32c: "
	  "from=<news@example.net>, to=<bob@example.org>, rcpt=<->, "
	  "delay=1s, relay=mx.example.org [192.0.2.5], stat=550 5.1.1 "
	  "<bob@example.org>: Recipient address rejected, relay=x",
	  "Nov 25 09:14:03", "smtpd", "6da6f0bb47abb32c", "bob@example.org",
	  "", "mx.example.org", "", ML_BOUNCED, "550 5.1.1 <bob@example.org>: "
	  "Recipient address rejected, relay=x", 0, { "bob@example.org" } },
	{ "sendmail, other outcome",
	  PFX "sm-mta[3305]: 5APAHOx7: to=<q@example.com>, delay=00:00:00, "
	  "mailer=esmtp, pri=30000, stat=queued",
	  "Nov 25 09:14:03", "sm-mta", "5APAHOx7", "<q@example.com>", "", "",
	  "", ML_OTHER, "queued", 1, { "q@example.com" } },
};

static int
field_is(const struct mlfield *f, const char *want)
{
	return f->n == strlen(want) && (f->n == 0 || memcmp(f->p, want,
	    f->n) == 0);
}

#define FIELD(e, k, f) \
	ck_assert_msg(field_is(&(e)->f, (k)->f), "%s: " #f " \"%.*s\", " \
	    "want \"%s\"", (k)->name, (int)(e)->f.n, (e)->f.p ? (e)->f.p : "", \
	    (k)->f)

START_TEST(test_delivery)
{
	const struct ml_case *k = &cases[_i];
	struct maillog_entry e;
	char rcpt[256], *line;
	size_t n = strlen(k->line), pos = 0, i;

	line = xmalloc(n);		/* no NUL: ASan sees overruns */
	memcpy(line, k->line, n);
	ck_assert_msg(maillog_parse(line, n, &e) == 1, "%s: refused", k->name);
	FIELD(&e, k, time);
	FIELD(&e, k, program);
	FIELD(&e, k, queue_id);
	FIELD(&e, k, to);
	FIELD(&e, k, orig_to);
	FIELD(&e, k, relay);
	FIELD(&e, k, dsn);
	FIELD(&e, k, text);
	ck_assert_msg(e.status == k->status, "%s: status %s, want %s",
	    k->name, maillog_status_name(e.status),
	    maillog_status_name(k->status));
	ck_assert_int_eq(e.sendmail, k->sendmail);
	ck_assert_msg(!e.cut, "%s: taken for cut short", k->name);
	for (i = 0; i < MAXRCPT && k->rcpts[i] != NULL; i++) {
		ck_assert_msg(maillog_next_rcpt(&e, &pos, rcpt, sizeof(rcpt)),
		    "%s: recipient %zu missing", k->name, i);
		ck_assert_str_eq(rcpt, k->rcpts[i]);
	}
	ck_assert_msg(!maillog_next_rcpt(&e, &pos, rcpt, sizeof(rcpt)),
	    "%s: extra recipient \"%s\"", k->name, rcpt);
	ck_assert(!maillog_next_rcpt(&e, &pos, rcpt, sizeof(rcpt)));
	free(line);
}
END_TEST

/* Lines that are not deliveries, and garbage. */
static const char *const other_lines[] = {
	PFX "postfix/smtpd[2101]: connect from client.example.net"
	"[198.51.100.20]",
	PFX "postfix/smtpd[2101]: 4Bc1x2Yz5Fz1: client=client.example.net"
	"[198.51.100.20]",
	PFX "postfix/cleanup[2104]: 4Bc1x2Yz5Fz1: message-id=<2026.A1@news"
	".example.com>",
	PFX "postfix/qmgr[1002]: 4Bc1x2Yz5Fz1: from=<bounce@news.example.com>, "
	"size=4212, nrcpt=4 (queue active)",
	PFX "postfix/qmgr[1002]: 4Bc1x2Yz5Fz1: from=<bounce@news.example.com>, "
	"status=expired, returned to sender",
	PFX "postfix/qmgr[1002]: 4Bc1x2Yz5Fz1: removed",
	PFX "postfix/bounce[2200]: 4Bc1x2Yz5Fz1: sender non-delivery "
	"notification: 4Bc5Zz",
	PFX "postfix/smtpd[2101]: NOQUEUE: reject: RCPT from unknown"
	"[198.51.100.9]: 554 5.7.1 <x@example.com>: Relay access denied; "
	"from=<a@b.example> to=<x@example.com> proto=ESMTP helo=<h>",
	PFX "sm-mta[3301]: 5APAHKx3012345: from=<a@example.com>, size=1000, "
	"class=0, nrcpts=2, msgid=<1@example.com>, relay=localhost [127.0.0.1]",
	PFX "postfix/smtp[1]: ABC: to=<a@example.com>, relay=none, delay=1",
	"",
	"\n",
	"hello",
	": to=",
	"x: to=",
	" : to=<a@b>",
	"to=<a@b>, status=bounced (x)",
	"a: to=<a@b>, status=bounced (x)",
	":: to=<a@b>, stat=x",
	"\xff\xfe: to=\x01",
	/* a delivery line written into an envelope sender, logged by qmgr */
	PFX "postfix/qmgr[812]: 4BAA0001: from=<\"a: 5ZZZ: to=<victim@gmail"
	".com>, relay=gmail-smtp-in.l.google.com[142.250.4.27]:25, dsn=5.1.1,"
	" status=bounced (550 5.1.1 no such user)\"@evil.example>, size=1234,"
	" nrcpt=1 (queue active)",
	/* Exim lines that are not deliveries */
	"2026-12-05 10:00:00 1abcDE-0001xY-AB <= s@example.net H=localhost "
	"[127.0.0.1] P=esmtp S=1234 id=abc@example.net",
	"2026-12-05 10:00:00 1abcDE-0001xY-AB Completed",
	"2026-12-05 10:00:00 1abcDE-0001xY-AB *> a@example.org R=r T=t",
	"2026-12-05 10:00:00 H=(x) [192.0.2.9] F=<a@b.example> rejected RCPT "
	"<c@d.example>: ** c@d.example R=x: 550 no",
	"2026-12-05 10:00:00 1abcDE ** a@example.org: 550 x",
	"2026-12-05 10:00:00 1abcDE-0001xY-AB **",
	"2026-12-05 10:00 1abcDE-0001xY-AB ** a@example.org: 550 x",
	/* OpenSMTPD lines that are not deliveries */
	PFX "smtpd[14719]: 8e2960df5e107779 smtp envelope evpid="
	"c862cf146c80f23a from=<news@example.net> to=<ann@example.org>",
	PFX "smtpd[14719]: 8e2961033229df7a smtp failed-command command=\"rcpt"
	" TO:<nosuchuser@example.org>\" result=\"550 Invalid recipient: "
	"<nosuchuser@example.org>\"",
	PFX "smtpd[14719]: 8e2961108ee161ae mta error reason=TLS required but "
	"not supported by remote host",
	PFX "smtpd[14719]: smtp-out: Failed to resolve MX for [relay:nx.example"
	".org,smtp]: Domain does not exist",
	PFX "smtpd[14719]: 8e29611a0b31688e mta disconnected reason=quit "
	"messages=6",
	/* a delivery written into a sender: no spaces in an address */
	PFX "smtpd[14719]: 8e2960df5e107779 mta delivery evpid="
	"c862cf146c80f23a from=<a result=\"PermFail\" stat=\"550 5.1.1\">",
	PFX "smtpd[14719]: 8e2960df5e107779 mta delivery evpid="
	"c862cf146c80f23a from=<a@example.net> to=<b@example.org> rcpt=<->",
	PFX "smtpd[14719]: 8e2960df5e107779 mta delivery evpid="
	"c862cf146c80f23a from=<a@example.net> to=<b@example.org> rcpt=<-> "
	"result=\"Maybe\" stat=\"550 5.1.1 x\"",
	PFX "smtpd[14719]: 8e2960df5e107779 mta delivery evpid=c862cf14 "
	"from=<a@example.net> to=<b@example.org> rcpt=<-> result=\"PermFail\""
	" stat=\"550 5.1.1 x\"",
	/* another program's words in OpenSMTPD's shape */
	PFX "postfix/smtp[1]: 8e2960df5e107779 mta delivery evpid="
	"c862cf146c80f23a from=<a@example.net> to=<b@example.org> rcpt=<-> "
	"result=\"PermFail\" stat=\"550 5.1.1 x\"",
	PFX "smtpd[4410]: delivery: Maybe for 6da6f0bb47abb32c: from=<a@b>, "
	"to=<c@d>, rcpt=<->, stat=x",
	PFX "smtpd[4410]: delivery: PermFail for 6da6f0bb: from=<a@b>, "
	"to=<c@d>, rcpt=<->, stat=x",
	"2027-01-15T08:00:00+01:00 relay postfix/smtpd[77]: NOQUEUE: reject: "
	"RCPT from unknown[203.0.113.9]: 554 5.7.1 <x@gmail.com>: Relay access "
	"denied; from=<\"z 5ZZZ: to=<v@gmail.com>, status=bounced (550 x)\"@e>",
};

START_TEST(test_other)
{
	const char *s = other_lines[_i];
	struct maillog_entry e;
	size_t n = strlen(s);
	char *line;

	line = xmalloc(n ? n : 1);
	memcpy(line, s, n);
	ck_assert_msg(maillog_parse(line, n, &e) == 0, "took \"%s\"", s);
	free(line);
}
END_TEST

static void
field_inside(const struct mlfield *f, const char *line, size_t n,
    const char *what, size_t cut)
{
	if (f->n == 0)
		return;
	ck_assert_msg(f->p >= line && f->p + f->n <= line + n,
	    "prefix %zu: %s outside the line", cut, what);
}

/* Every prefix of every delivery line: 0, or fields inside it. */
START_TEST(test_truncated)
{
	const struct ml_case *k = &cases[_i];
	struct maillog_entry e;
	size_t n = strlen(k->line), m = n, cut, pos;
	char *line, rcpt[8];
	int ok;

	while (m > 0 && (k->line[m - 1] == '\n' || k->line[m - 1] == '\r'))
		m--;

	for (cut = 0; cut <= n; cut++) {
		line = xmalloc(cut ? cut : 1);
		memcpy(line, k->line, cut);
		ok = maillog_parse(line, cut, &e);
		if (ok) {
			field_inside(&e.time, line, cut, "time", cut);
			field_inside(&e.program, line, cut, "program", cut);
			field_inside(&e.queue_id, line, cut, "queue_id", cut);
			field_inside(&e.to, line, cut, "to", cut);
			field_inside(&e.orig_to, line, cut, "orig_to", cut);
			field_inside(&e.relay, line, cut, "relay", cut);
			field_inside(&e.dsn, line, cut, "dsn", cut);
			field_inside(&e.text, line, cut, "text", cut);
			/*
			 * Postfix's "(text)" without its last two bytes
			 * (the ")" of "(in reply to ... command)" and its
			 * own) was cut short.
			 */
			if (strncmp(k->program, "postfix/", 8) == 0 &&
			    *k->text != '\0' && e.text.n > 0 && cut + 2 <= m)
				ck_assert_msg(e.cut, "%s: prefix %zu not cut "
				    "short", k->name, cut);
			/* A small buffer: truncated, still terminated. */
			for (pos = 0; maillog_next_rcpt(&e, &pos, rcpt,
			    sizeof(rcpt)); )
				ck_assert_uint_lt(strlen(rcpt), sizeof(rcpt));
		}
		free(line);
	}
}
END_TEST

START_TEST(test_status_names)
{
	ck_assert_str_eq(maillog_status_name(ML_SENT), "sent");
	ck_assert_str_eq(maillog_status_name(ML_DEFERRED), "deferred");
	ck_assert_str_eq(maillog_status_name(ML_BOUNCED), "bounced");
	ck_assert_str_eq(maillog_status_name(ML_EXPIRED), "expired");
	ck_assert_str_eq(maillog_status_name(ML_OTHER), "other");
	ck_assert_str_eq(maillog_status_name((enum maillog_status)99),
	    "other");
}
END_TEST

/* maillog_next_rcpt() on an entry with no recipient, and a short buffer. */
START_TEST(test_next_rcpt_edges)
{
	struct maillog_entry e;
	char buf[6];
	size_t pos = 0;
	static const char line[] = PFX "sm-mta[1]: Q1: "
	    "to=<abcdefgh@example.com>,<b@x>, stat=User unknown";

	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(maillog_next_rcpt(&e, &pos, buf, sizeof(buf)), 0);

	ck_assert_int_eq(maillog_parse(line, sizeof(line) - 1, &e), 1);
	ck_assert_int_eq(maillog_next_rcpt(&e, &pos, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "abcde");
	ck_assert_int_eq(maillog_next_rcpt(&e, &pos, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "b@x");
	ck_assert_int_eq(maillog_next_rcpt(&e, &pos, buf, sizeof(buf)), 0);
}
END_TEST

#define NCASES(a)	((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
maillog_suite(void)
{
	Suite *s = suite_create("maillog");
	TCase *tc;

	tc = tcase_create("delivery");
	tcase_add_loop_test(tc, test_delivery, 0, NCASES(cases));
	tcase_add_test(tc, test_status_names);
	tcase_add_test(tc, test_next_rcpt_edges);
	suite_add_tcase(s, tc);

	tc = tcase_create("other");
	tcase_add_loop_test(tc, test_other, 0, NCASES(other_lines));
	tcase_add_loop_test(tc, test_truncated, 0, NCASES(cases));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(maillog_suite());
}
