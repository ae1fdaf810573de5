/*
 * check_dsn.c -- bounce e-mails to per-recipient results
 *
 * One small synthetic sample per format (RFC 3464 as Postfix, Sendmail
 * and Courier write it; the text bounces of qmail, Exim, Exchange,
 * Gmail, Yahoo, Domino and a Japanese carrier; Amazon SES JSON, in a
 * mail, bare and in an SNS envelope, with SES's own verdict), ARF,
 * an auto-reply and a non-bounce: what dsn_parse() must find in each,
 * and, with the rules of the tree, what dsn_classify() makes of it.
 * Then the limits (100,000 recipients, a 1 MB line), the samples of
 * shapes the corpus lacks (t/data/bounces/shapes/, with their index)
 * and, when ../shared is there, a few real bounces from the corpus.
 *
 * See also: dsn.h, t/corpus-accuracy.sh.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "dsn.h"
#include "rules.h"
#include "testlib.h"
#include "xalloc.h"

#define NCASES(a)	((int)(sizeof(a) / sizeof((a)[0])))

struct dsn_case {
	const char	*name;
	const char	*msg;
	enum dsn_kind	 kind;
	size_t		 nrcpts;
	const char	*rcpt;		/* the first recipient */
	const char	*status;	/* its Status field, or NULL */
	const char	*diag;		/* in its failure text, or NULL */
	const char	*msgid;		/* of the original, or NULL */
	const char	*reason;	/* after classification, or NULL */
	int		 hard;		/* hardbounce, when reason is set */
};

#define MESSAGELABS(status, reason) \
	"From: Mail Delivery System <MAILER-DAEMON@messagelabs.example>\n" \
	"To: <kim@sender.example>\nSubject: Mail Delivery Failure\n" \
	"MIME-Version: 1.0\nContent-Type: multipart/report; " \
	"report-type=delivery-status; boundary=\"d\"\n\n--d\n" \
	"Content-Type: text/plain\n\nI was unable to deliver your message " \
	"to the following addresses:\n\nann@example.com\n\nReason: " reason \
	"\n\n____________\nThis email has been scanned for viruses by the " \
	"MessageLabs Email Security System.\n____________\n\n--d\n" \
	"Content-Type: message/delivery-status\n\nReporting-MTA: dns; " \
	"mx.messagelabs.example\n\nAction: failed\nFinal-Recipient: " \
	"rfc822; ann@example.com\nStatus: " status "\n\n--d--\n"

/* A Sendmail bounce for ann@example.org with a session transcript. */
#define SENDMAIL_TRANSCRIPT_HEAD					\
	"From: Mail Delivery Subsystem <MAILER-DAEMON@mta.example.net>\n"	\
	"To: sender@example.net\nSubject: Returned mail: see transcript "	\
	"for details\nMIME-Version: 1.0\nContent-Type: multipart/report; "	\
	"report-type=delivery-status;\n\tboundary=\"S/mta\"\n\n--S/mta"	\
	"\n\n   ----- Transcript of session follows -----\n... while "	\
	"talking to [192.0.2.1]:\n"
#define SENDMAIL_TRANSCRIPT_TAIL					\
	"554 5.0.0 Service unavailable\n\n--S/mta\n"			\
	"Content-Type: message/delivery-status\n\n"			\
	"Reporting-MTA: dns; mta.example.net\n\n"				\
	"Final-Recipient: RFC822; ann@example.org\nAction: failed\n"	\
	"Status: 5.0.0\nRemote-MTA: DNS; [192.0.2.1]\n"			\
	"Diagnostic-Code: SMTP; 554 No such user here\n\n--S/mta--\n"

/* A gateway's notice with no reason of its own, its attachment next. */
#define GW_NOTICE \
	"From: postmaster@gw.example.com\nTo: s@example.org\n" \
	"Subject: Mail could not be delivered\nMIME-Version: 1.0\n" \
	"Content-Type: multipart/mixed; boundary=\"b\"\n\n" \
	"--b\nContent-Type: text/plain\n\n" \
	"The following mail could not be delivered.\n" \
	"Reason: Unable to deliver message to <ann@example.jp>.\n\n" \
	"--b\nContent-Type: message/rfc822\n\n"

static const struct dsn_case cases[] = {
	{ "postfix dsn",
	  "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
	  "To: sender@example.net\nSubject: Undelivered Mail Returned to "
	  "Sender\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
	  "Content-Type: multipart/report; report-type=delivery-status;\n"
	  "\tboundary=\"ABC.123/mx.example.net\"\n\n"
	  "--ABC.123/mx.example.net\nContent-Description: Notification\n"
	  "Content-Type: text/plain; charset=us-ascii\n\n"
	  "<user@example.org>: host mx.example.org[192.0.2.1] said: 550 "
	  "5.1.1\n    <user@example.org>: Recipient address rejected: User "
	  "unknown (in reply\n    to RCPT TO command)\n\n"
	  "--ABC.123/mx.example.net\nContent-Description: Delivery report\n"
	  "Content-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; mx.example.net\nX-Postfix-Queue-ID: 4Bc1x2\n"
	  "Arrival-Date: Mon,  1 Jan 2024 10:00:00 +0000 (UTC)\n\n"
	  "Final-Recipient: rfc822; user@example.org\n"
	  "Original-Recipient: rfc822;user@example.org\nAction: failed\n"
	  "Status: 5.1.1\nRemote-MTA: dns; mx.example.org\n"
	  "Diagnostic-Code: smtp; 550 5.1.1 <user@example.org>: Recipient\n"
	  "    address rejected: User unknown\n\n"
	  "--ABC.123/mx.example.net\nContent-Description: Undelivered "
	  "Message Headers\nContent-Type: text/rfc822-headers\n\n"
	  "From: sender@example.net\nTo: user@example.org\n"
	  "Message-Id: <20240101100000.AB@mx.example.net>\n\n"
	  "--ABC.123/mx.example.net--\n",
	  DSN_RFC3464, 1, "user@example.org", "5.1.1", "address rejected",
	  "<20240101100000.AB@mx.example.net>", "userunknown", 1 },
	{ "sendmail dsn, two recipients, crlf",
	  "From: Mail Delivery Subsystem <MAILER-DAEMON@a.example>\r\n"
	  "Subject: Returned mail: see transcript for details\r\n"
	  "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	  "\tboundary=\"q1/a.example\"\r\n\r\n--q1/a.example\r\n\r\n"
	  "   ----- The following addresses had permanent fatal errors "
	  "-----\r\n<x@b.example>\r\n    (reason: 550 5.1.1 User unknown)"
	  "\r\n\r\n--q1/a.example\r\nContent-Type: message/delivery-status"
	  "\r\n\r\nReporting-MTA: dns; a.example\r\n\r\n"
	  "Final-Recipient: RFC822; x@b.example\r\nAction: failed\r\n"
	  "Status: 5.1.1\r\nDiagnostic-Code: SMTP; 550 5.1.1 <x@b.example>"
	  "... User unknown\r\n\r\nFinal-Recipient: RFC822; Y@B.example\r\n"
	  "Action: failed\r\nStatus: 5.2.2\r\nDiagnostic-Code: SMTP; 552 "
	  "5.2.2 Mailbox full\r\n\r\n--q1/a.example--\r\n",
	  DSN_RFC3464, 2, "x@b.example", "5.1.1", "User unknown", NULL,
	  "userunknown", 1 },
	{ "courier dsn, base64 report",
	  "From: Courier mail server at c.example <@>\n"
	  "Subject: NOTICE: mail delivery status.\n"
	  "Content-Type: multipart/report; report-type=delivery-status; "
	  "boundary=\"=_courier_0\"\n\n--=_courier_0\n"
	  "Content-Type: text/plain; charset=us-ascii\n\n"
	  "Your message to the following recipients cannot be delivered:\n"
	  "\n--=_courier_0\nContent-Type: message/delivery-status\n"
	  "Content-Transfer-Encoding: base64\n\n"
	  "UmVwb3J0aW5nLU1UQTogZG5zOyBteC5leGFtcGxlLm5ldAoKRmluYWwtUmVjaXBp"
	  "ZW50OiByZmM4MjI7IGFAZXhhbXBsZS5vcmcKQWN0aW9uOiBmYWlsZWQKU3RhdHVz"
	  "OiA1LjEuMQpEaWFnbm9zdGljLUNvZGU6IHNtdHA7IDU1MCA1LjEuMSB1c2VyIHVu"
	  "a25vd24K\n--=_courier_0--\n",
	  DSN_RFC3464, 1, "a@example.org", "5.1.1", "user unknown", NULL,
	  "userunknown", 1 },
	{ "qmail",
	  "From: MAILER-DAEMON@q.example\nTo: s@example.jp\n"
	  "Subject: failure notice\n\n"
	  "Hi. This is the qmail-send program at q.example.\n"
	  "I'm afraid I wasn't able to deliver your message to the "
	  "following addresses.\nThis is a permanent error; I've given up."
	  "\n\n<u1@example.jp>:\n192.0.2.153 does not like recipient.\n"
	  "Remote host said: 550 5.1.1 <u1@example.jp>... User Unknown\n"
	  "Giving up on 192.0.2.153.\n\n<u2@example.jp>:\n"
	  "Sorry, I couldn't find any host named example.jp. (#5.1.2)\n\n"
	  "--- Below this line is a copy of the message.\n\n"
	  "Return-Path: <s@example.jp>\nMessage-ID: <q1@example.jp>\n"
	  "To: u1@example.jp, u2@example.jp\n\nTEST\n",
	  DSN_TEXT, 2, "u1@example.jp", NULL, "User Unknown", "<q1@example.jp>",
	  "userunknown", 1 },
	{ "exim with X-Failed-Recipients",
	  "From: Mail Delivery System <Mailer-Daemon@e.example>\n"
	  "To: s@example.com\nSubject: Mail delivery failed: returning "
	  "message to sender\nX-Failed-Recipients: k@example.org\n\n"
	  "This message was created automatically by mail delivery "
	  "software.\n\nA message that you sent could not be delivered to "
	  "one or more of its\nrecipients. This is a permanent error. The "
	  "following address(es) failed:\n\n  k@example.org\n"
	  "    SMTP error from remote mail server after RCPT TO:"
	  "<k@example.org>:\n    host mx.example.org [192.0.2.2]: 550 5.1.1 "
	  "<k@example.org>: Recipient address rejected: User unknown\n\n"
	  "------ This is a copy of the message, including all the headers."
	  " ------\n\nReturn-path: <s@example.com>\nMessage-Id: <e1@x>\n\n",
	  DSN_TEXT, 1, "k@example.org", NULL, "Recipient address rejected",
	  "<e1@x>", "userunknown", 1 },
	{ "exchange 2003",
	  "From: System Administrator <postmaster@ex.example>\n"
	  "Subject: Undeliverable: hello\nContent-Type: multipart/mixed; "
	  "boundary=\"--b\"\n\n----b\nContent-Type: text/plain\n\n"
	  "Your message\n\n  To:      k@ex.example\n  Subject: hello\n\n"
	  "did not reach the following recipient(s):\n\n"
	  "k@ex.example on Thu, 29 Apr 2007 16:51:51 -0500\n"
	  "    The recipient name is not recognized\n\n----b\n"
	  "Content-Type: message/rfc822\n\nMessage-ID: <x1@ex.example>\n"
	  "From: s@example.jp\nTo: k@ex.example\n\nhi\n----b--\n",
	  DSN_TEXT, 1, "k@ex.example", NULL, "not recognized",
	  "<x1@ex.example>", NULL, 0 },
	{ "gmail",
	  "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
	  "Subject: Delivery Status Notification (Failure)\n\n"
	  "Delivery to the following recipient failed permanently:\n\n"
	  "     nobody@example.jp\n\nTechnical details of permanent failure:"
	  "\nGoogle tried to deliver your message, but it was rejected by "
	  "the server for the recipient domain example.jp by "
	  "mx.example.jp. [192.0.2.1].\n\nThe error that the other server "
	  "returned was:\n550 5.1.1 <nobody@example.jp>... User Unknown\n\n"
	  "----- Original message -----\n\nMessage-ID: <g1@mail.gmail.com>\n"
	  "To: nobody@example.jp\n\nx\n",
	  DSN_TEXT, 1, "nobody@example.jp", NULL, "User Unknown",
	  "<g1@mail.gmail.com>", "userunknown", 1 },
	{ "yahoo",
	  "From: MAILER-DAEMON@yahoo.com\nSubject: Failure Notice\n\n"
	  "Sorry, we were unable to deliver your message to the following "
	  "address.\n\n<k@example.org>:\nRemote host said: 550 5.2.2 "
	  "<k@example.org>... Mailbox Full [RCPT_TO]\n\n"
	  "--- Below this line is a copy of the message.\n\nTo: "
	  "k@example.org\n\n",
	  DSN_TEXT, 1, "k@example.org", NULL, "Mailbox Full", NULL,
	  "mailboxfull", 0 },
	{ "domino, iso-2022-jp diagnostic",
	  "From: Postmaster@d.example\nSubject: DELIVERY FAILURE: x\n"
	  "Content-Type: multipart/report; report-type=delivery-status; "
	  "boundary=\"==0\"\n\n--==0\nContent-Type: text/plain; "
	  "charset=ISO-2022-JP\n\nYour message\n\nwas not delivered to:\n\n"
	  "  k@d.example\n\n--==0\nContent-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns;mx.d.example\n\n"
	  "Final-Recipient: rfc822;k@d.example\nAction: failed\n"
	  "Status: 5.0.0\nDiagnostic-Code: X-Notes; \x1b$B%f!<%6!<\x1b(B k "
	  "\x1b$B$O8+$D$+$j$^$;$s\x1b(B\n\n--==0--\n",
	  DSN_RFC3464, 1, "k@d.example", "5.0.0",
	  "\xe3\x83\xa6\xe3\x83\xbc\xe3\x82\xb6\xe3\x83\xbc", NULL, NULL, 0 },
	{ "japanese carrier, iso-2022-jp text",
	  "From: <Postmaster@ezweb.ne.jp>\nTo: <s@example.or.jp>\n"
	  "Subject: Mail System Error - Returned Mail\n"
	  "Content-Type: text/plain; charset=iso-2022-jp\n\n"
	  "<u@ezweb.ne.jp>\n\n\x1b$B%(%i!<\x1b(B: user unknown\n\n"
	  "---------------------------------------------------\n"
	  "Received: from x\nFrom: s@example.or.jp\nTo: u@ezweb.ne.jp\n"
	  "Message-Id: <j1@example.or.jp>\n\n",
	  DSN_TEXT, 1, "u@ezweb.ne.jp", NULL, "user unknown",
	  "<j1@example.or.jp>", NULL, 0 },
	{ "amazon ses json",
	  "From: no-reply@sns.amazonaws.com\nSubject: AWS Notification "
	  "Message\nContent-Type: text/plain; charset=UTF-8\n\n"
	  "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":"
	  "\"Permanent\",\"bouncedRecipients\":[{\"emailAddress\":"
	  "\"b@example.com\",\"action\":\"failed\",\"status\":\"5.1.1\","
	  "\"diagnosticCode\":\"smtp; 550 5.1.1 user unknown\"}]}}\n",
	  DSN_JSON, 1, "b@example.com", "5.1.1", "550 5.1.1 user unknown",
	  NULL, "userunknown", 1 },
	/* Entries that are no address give no recipient, not a NULL one. */
	{ "amazon ses complaint, no address",
	  "From: complaints@email-abuse.amazonses.com\nSubject: Complaint\n"
	  "Content-Type: text/plain\n\n{\"notificationType\":\"Complaint\","
	  "\"complaint\":{\"complainedRecipients\":[{\"emailAddress\":"
	  "\"nobody\"},{\"emailAddress\":\"c@example.com\"}],"
	  "\"complaintFeedbackType\":\"abuse\"}}\n",
	  DSN_ARF, 1, "c@example.com", NULL, NULL, NULL, NULL, 0 },
	{ "amazon ses delivery, no address",
	  "From: no-reply@sns.amazonaws.com\nSubject: AWS Notification\n"
	  "Content-Type: text/plain\n\n{\"notificationType\":\"Delivery\","
	  "\"delivery\":{\"smtpResponse\":\"250 ok\",\"recipients\":"
	  "[\"@\",\"d@example.com\"]}}\n",
	  DSN_JSON, 1, "d@example.com", NULL, NULL, NULL, NULL, 0 },
	{ "arf",
	  "From: feedback@fbl.example\nSubject: FW: spam\n"
	  "Content-Type: multipart/report; report-type=feedback-report; "
	  "boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nA complaint."
	  "\n--b\nContent-Type: message/feedback-report\n\n"
	  "Feedback-Type: abuse\nUser-Agent: x/1.0\nVersion: 1\n"
	  "Original-Rcpt-To: <c@example.net>\n\n--b\n"
	  "Content-Type: message/rfc822\n\nFrom: s@example.com\n"
	  "To: c@example.net\nMessage-ID: <a1@example.com>\n\nbuy\n--b--\n",
	  DSN_ARF, 1, "c@example.net", NULL, NULL, "<a1@example.com>",
	  "feedback", 0 },
	{ "arf without Original-Rcpt-To",
	  "From: fbl@example.net\nSubject: report\n"
	  "Content-Type: multipart/report; report-type=feedback-report; "
	  "boundary=b\n\n--b\nContent-Type: message/feedback-report\n\n"
	  "Feedback-Type: fraud\n\n--b\nContent-Type: text/rfc822-headers\n"
	  "\nTo: <d@example.net>\n--b--\n",
	  DSN_ARF, 1, "d@example.net", NULL, NULL, NULL, "feedback", 0 },
	{ "vacation",
	  "From: Kijitora <k@example.net>\nTo: s@example.org\n"
	  "Subject: Out of Office: hello\nAuto-Submitted: auto-replied\n\n"
	  "I am away until Monday. Write to b@example.net instead.\n",
	  DSN_AUTOREPLY, 1, "k@example.net", NULL, NULL, NULL, "vacation",
	  0 },
	{ "not a bounce",
	  "From: Friend <f@example.com>\nTo: me@example.jp\n"
	  "Subject: lunch?\n\nAre you free at noon? f@example.com\n",
	  DSN_NONE, 0, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "bounce subject but no address",
	  "From: MAILER-DAEMON@x.example\nSubject: failure notice\n\n"
	  "Something went wrong.\n",
	  DSN_TEXT, 0, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "no headers at all", "", DSN_NONE, 0, NULL, NULL, NULL, NULL,
	  NULL, 0 },
	{ "dsn fields without blank lines between recipients",
	  "From: Postmaster <Postmaster@a.example>\nSubject: Undeliverable\n"
	  "Content-Type: multipart/report; report-type=delivery-status; "
	  "boundary=b\n\n--b\nContent-Type: text/plain\n\nSorry.\n\n--b\n"
	  "Content-Type: message/delivery-status\n\nReporting-MTA: dns; "
	  "a.example\nFinal-Recipient: rfc822; p@b.example\n"
	  "Original-Recipient: rfc822;p@b.example\nAction: failed\n"
	  "Status: 5.2.2\nDiagnostic-Code: smtp; 550 5.2.2 <p@b.example>... "
	  "Mailbox Full\nFinal-Recipient: rfc822; q@b.example\n"
	  "Original-Recipient: rfc822;q@b.example\nAction: failed\n"
	  "Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <q@b.example>... "
	  "User Unknown\n\n--b--\n",
	  DSN_RFC3464, 2, "p@b.example", "5.2.2", "Mailbox Full", NULL,
	  "mailboxfull", 0 },
	{ "postfix text names the stage: no such user after DATA",
	  "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
	  "Subject: Undelivered Mail Returned to Sender\n"
	  "Content-Type: multipart/report; report-type=delivery-status; "
	  "boundary=b\n\n--b\nContent-Type: text/plain\n\n"
	  "If you do so, please include this problem report. You can\n"
	  "delete your own text from the attached returned message.\n\n"
	  "<u@example.org>: host mx.example.org[192.0.2.7] said:\n"
	  "    550 Unknown user u@example.org (in reply to end of DATA\n"
	  "    command)\n\n--b\nContent-Type: message/delivery-status\n\n"
	  "Final-Recipient: rfc822; u@example.org\nAction: failed\n"
	  "Status: 5.0.0\nDiagnostic-Code: smtp; 550 Unknown user "
	  "u@example.org\n\n--b--\n",
	  DSN_RFC3464, 1, "u@example.org", "5.0.0", "Unknown user", NULL,
	  "filtered", 0 },
	{ "no such user at RCPT stays userunknown",
	  "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
	  "Subject: Undelivered Mail Returned to Sender\n"
	  "Content-Type: multipart/report; report-type=delivery-status; "
	  "boundary=b\n\n--b\nContent-Type: text/plain\n\n"
	  "<u@example.org>: host mx.example.org[192.0.2.7] said: 550 User\n"
	  "    not found (in reply to RCPT TO command)\n\n--b\n"
	  "Content-Type: message/delivery-status\n\n"
	  "Final-Recipient: rfc822; u@example.org\nAction: failed\n"
	  "Status: 5.0.0\nDiagnostic-Code: smtp; 550 User not found\n\n"
	  "--b--\n",
	  DSN_RFC3464, 1, "u@example.org", "5.0.0", "User not found", NULL,
	  "userunknown", 1 },
	{ "connection failure given up on: expired",
	  "From: MAILER-DAEMON@a.example\nSubject: Undelivered Mail\n"
	  "Content-Type: multipart/report; report-type=delivery-status; "
	  "boundary=b\n\n--b\nContent-Type: message/delivery-status\n\n"
	  "Final-Recipient: rfc822; k@c.example\nAction: failed\n"
	  "Status: 4.4.1\nDiagnostic-Code: X-Postfix; connect to "
	  "c.example[192.0.2.79]:25: Connection timed out\n\n--b--\n",
	  DSN_RFC3464, 1, "k@c.example", "4.4.1", "timed out", NULL,
	  "expired", 0 },
	{ "forwarded bounce quoted with >",
	  "From: Someone <s@a.example>\nSubject: Fwd: Returned mail\n\n"
	  "Begin forwarded message:\n\n"
	  "> From: Mail Delivery Subsystem <MAILER-DAEMON>\n"
	  "> Subject: Returned mail: see transcript for details\n>\n"
	  ">    ----- The following addresses had permanent fatal errors\n"
	  "> <n@docomo.ne.jp>\n>     (reason: 550 Unknown user "
	  "n@docomo.ne.jp)\n>\n> Reporting-MTA: dns; smtp.a.example\n>\n"
	  "> Final-Recipient: RFC822; n@docomo.ne.jp\n> Action: failed\n"
	  "> Status: 5.2.0\n> Remote-MTA: DNS; mfsmax.docomo.ne.jp\n"
	  "> Diagnostic-Code: SMTP; 550 Unknown user n@docomo.ne.jp\n>\n",
	  DSN_RFC3464, 1, "n@docomo.ne.jp", "5.2.0", "Unknown user", NULL,
	  NULL, 0 },
	{ "sender named in a text bounce is no recipient",
	  "From: post_master@vtext.example\nTo: s@a.example\n"
	  "Subject: Re: hello\n\nError: Invalid user address\n\n"
	  "Error message below:\n550 - Requested action not taken: no such "
	  "user here\n\nMessage details:\n  MAIL FROM: s@a.example\n"
	  "  RCPT TO: m@vtext.example\n  From: other@b.example\n",
	  DSN_TEXT, 1, "m@vtext.example", NULL, NULL, NULL, NULL, 0 },
	{ "fml notice: not a member of the list",
	  "From: ml-admin@example.org\nTo: s@a.example\n"
	  "Subject: You s@a.example are not member (ml ML)\n"
	  "Message-ID: <200504292334.FMLFFFFFF0.ml@example.org>\n"
	  "X-MLServer: fml [fml 4.0.3 release (20011202/4.0.3)]\n\n"
	  "You are not a member of this mailing list <ml@example.org>.\n\n"
	  "If you know the general guide of this list, please send mail "
	  "to\n\n\tml-ctl@example.org\n",
	  DSN_TEXT, 1, "ml@example.org", NULL, "not a member", NULL,
	  "rejected", 0 },
	{ "a list post is no bounce",
	  "From: ann@example.org\nTo: ml@example.org\nSubject: Hello\n"
	  "X-MLServer: fml [fml 4.0.3 release (20011202/4.0.3)]\n"
	  "Message-ID: <20050429.1234@example.org>\n\nHello <bob@b.example>.\n",
	  DSN_NONE, 0, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "lotus notes: the reason above the address",
	  "From: postmaster@n.example.co.jp\nTo: s@a.example\n"
	  "Subject: Undeliverable message\n\n"
	  "------- Failure Reasons  --------\n\n"
	  "User not listed in public Name & Address Book\n"
	  "k@u1.example.co.jp\n\n------- Returned Message --------\n"
	  "To: k@example.co.jp\nFrom: s@a.example\nSubject: x\n\nx\n",
	  DSN_TEXT, 1, "k@u1.example.co.jp", NULL, "not listed", NULL,
	  "userunknown", 0 },
	{ "sendmail v5: the reply above the recipient's line",
	  "From: Mail Delivery Subsystem <MAILER-DAEMON@a.example>\n"
	  "To: s@a.example\nSubject: Returned mail: Remote protocol error\n\n"
	  "   ----- Transcript of session follows -----\n"
	  "While talking to mx.b.example:\n>>> MAIL From:<s@a.example>\n"
	  "<<< 550 Insecure Mail Relay\n"
	  "554 <k@b.example>... Remote protocol error\n"
	  "421 c.example (smtp)... Deferred: Connection timed out\n\n"
	  "   ----- Unsent message follows -----\n",
	  DSN_TEXT, 1, "k@b.example", NULL, "Insecure Mail Relay", NULL,
	  "norelaying", 0 },
	{ "sendmail: addresses listed first, a verdict line each below",
	  "From: Mail Delivery Subsystem <MAILER-DAEMON@a.example>\n"
	  "To: s@a.example\nSubject: Returned mail: User unknown\n\n"
	  "   ----- The following addresses had permanent fatal errors "
	  "-----\n<k@b.example>\n<m@b.example>\n\n"
	  "   ----- Transcript of session follows -----\n"
	  "... while talking to mx.b.example.:\n>>> RCPT To:<k@b.example>\n"
	  "<<< 550 5.1.1 <k@b.example>... User unknown\n"
	  "550 <k@b.example>... User unknown\n>>> RCPT To:<m@b.example>\n"
	  "<<< 552 5.2.2 <m@b.example>... Mailbox full\n"
	  "554 <m@b.example>... Service unavailable\n\n"
	  "   ----- Original message follows -----\n",
	  DSN_TEXT, 2, "k@b.example", NULL, "User unknown", NULL,
	  "userunknown", 1 },
	{ "a separator's words in the bounce's own first line",
	  "From: Mail Delivery System <MDaemon@a.example>\nTo: s@a.example\n"
	  "Subject: Permanent Delivery Failure\n\n"
	  "The attached message had PERMANENT fatal delivery errors!\n\n"
	  "--- Session Transcript ---\n"
	  " --> RCPT To:<k@b.example>\n"
	  " <-- 550 5.1.1 <k@b.example>: Recipient address rejected: User "
	  "unknown in local recipient table\n--- End Transcript ---\n",
	  DSN_TEXT, 1, "k@b.example", NULL, "User unknown", NULL,
	  "userunknown", 1 },
	{ "exchange out-of-office, subject in Dutch",
	  "From: Jan <jan@b.example>\nTo: s@a.example\n"
	  "Subject: Automatisch antwoord: Nyaan\n"
	  "Auto-Submitted: auto-generated\nX-Auto-Response-Suppress: All\n\n"
	  "Ik ben afwezig tot maandag.\n",
	  DSN_AUTOREPLY, 1, "jan@b.example", NULL, NULL, NULL, "vacation",
	  0 },
	{ "exim text names the stage of a bare dsn reply",
	  "From: Mail Delivery System <Mailer-Daemon@a.example>\n"
	  "Subject: Mail delivery failed: returning message to sender\n"
	  "Content-Type: multipart/report; report-type=delivery-status; "
	  "boundary=b\n\n--b\nContent-Type: text/plain\n\n"
	  "  k@b.example\n    host mx.b.example [192.0.2.2]\n"
	  "    SMTP error from remote mail server after EHLO a.example:\n"
	  "    550 Rejected\n\n--b\nContent-Type: message/delivery-status\n\n"
	  "Action: failed\nFinal-Recipient: rfc822;k@b.example\n"
	  "Status: 5.0.0\nDiagnostic-Code: smtp; 550 Rejected\n\n--b--\n",
	  DSN_RFC3464, 1, "k@b.example", "5.0.0", "Rejected", NULL,
	  "blocked", 0 },
	{ "delivery to a program: the mailer's failure",
	  "From: Mail Delivery Subsystem <MAILER-DAEMON@a.example>\n"
	  "Subject: Returned mail: Service unavailable\n"
	  "Content-Type: multipart/report; report-type=delivery-status; "
	  "boundary=b\n\n--b\n\n"
	  "   ----- The following addresses had permanent fatal errors -----\n"
	  "\"|exec /usr/local/bin/procmail -f- || exit 75 #k\"\n"
	  "    (expanded from: <k@a.example>)\n\n--b\n"
	  "Content-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; a.example\n\n"
	  "Final-Recipient: RFC822; k@host.a.example\n"
	  "X-Actual-Recipient: RFC822; |exec /usr/local/bin/procmail -f- || "
	  "exit 75 #k@host.a.example\nAction: failed\nStatus: 5.5.0\n\n--b--\n",
	  DSN_RFC3464, 1, "k@host.a.example", "5.5.0", NULL, NULL,
	  "mailererror", 0 },
	/* A footer about viruses does not outrank a Status of 5.1.1 ... */
	{ "virus footer and status 5.1.1",
	  MESSAGELABS("5.1.1", "550 ann@example.com Recipient rejected"),
	  DSN_RFC3464, 1, "ann@example.com", "5.1.1", NULL, NULL,
	  "userunknown", 1 },
	/* ... but a refusal of a virus with its own status stays one. */
	{ "virus refused, status 5.7.1",
	  MESSAGELABS("5.7.1", "554 5.7.1 Message rejected: virus found"),
	  DSN_RFC3464, 1, "ann@example.com", "5.7.1", NULL, NULL,
	  "virusdetected", 0 },
	{ "a report pasted into a text bounce",
	  "From: MAILER-DAEMON@a.example\nTo: s@a.example\n"
	  "Subject: Undelivered Mail Returned to Sender\n"
	  "Content-Type: text/plain; charset=us-ascii\n\n"
	  "For further assistance, please contact <support@a.example>\n\n"
	  "---------------------------------\n"
	  "From MAILER-DAEMON  Thu Apr 29 23:34:45 2015\nReturn-Path: <>\n"
	  "From: MAILER-DAEMON@relay.a.example (Mail Delivery System)\n"
	  "Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
	  "Content-Type: multipart/report; report-type=delivery-status;\n"
	  "\tboundary=\"q/relay\"\n\n--q/relay\nContent-Type: text/plain\n\n"
	  "<k@c.example>: host mx.c.example[192.0.2.3] refused to talk to "
	  "me:\n    421 Service not available, closing transmission "
	  "channel\n\n--q/relay\nContent-Type: message/delivery-status\n\n"
	  "Final-Recipient: rfc822; k@c.example\nAction: failed\n"
	  "Status: 4.0.0\nDiagnostic-Code: X-Postfix; delivery temporarily "
	  "suspended: host\n    mx.c.example[192.0.2.3] refused to talk to "
	  "me: 421 Service not\n    available, closing transmission channel"
	  "\n\n--q/relay--\n",
	  DSN_RFC3464, 1, "k@c.example", "4.0.0", "refused to talk", NULL,
	  "blocked", 0 },
	/*
	 * A reply with a code and no enhanced status: Postfix (and Exim)
	 * write Status 5.0.0 of their own, which must not outrank the rule
	 * for the code ("552": mailboxfull) with x.0.0's "undefined", as
	 * the log line of the same reply is classified by its code.
	 */
	{ "postfix dsn, made-up status",
	  "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
	  "To: sender@example.net\nSubject: Undelivered Mail Returned to "
	  "Sender\nMIME-Version: 1.0\nContent-Type: multipart/report; "
	  "report-type=delivery-status;\n\tboundary=\"B/mx\"\n\n--B/mx\n"
	  "Content-Type: text/plain\n\n<ann@example.org>: host 127.0.0.1"
	  "[127.0.0.1] said: 552\n    Nope (in reply to RCPT TO command)\n\n"
	  "--B/mx\nContent-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; mx.example.net\n\n"
	  "Final-Recipient: rfc822; ann@example.org\nAction: failed\n"
	  "Status: 5.0.0\nRemote-MTA: dns; 127.0.0.1\n"
	  "Diagnostic-Code: smtp; 552 Nope\n\n--B/mx--\n",
	  DSN_RFC3464, 1, "ann@example.org", "5.0.0", "552 Nope", NULL,
	  "mailboxfull", 0 },
	/*
	 * Postfix folds a long reply under the recipient's line, and the
	 * folded line may begin with another address: the text, and the
	 * stage in it, still belong to this recipient (docomo's DATA-stage
	 * "Unknown user" is rejected, not userunknown).
	 */
	{ "postfix dsn, folded line starting with an address",
	  "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
	  "To: sender@example.net\nSubject: Undelivered Mail Returned to "
	  "Sender\nMIME-Version: 1.0\nContent-Type: multipart/report; "
	  "report-type=delivery-status;\n\tboundary=\"B/mx\"\n\n--B/mx\n"
	  "Content-Type: text/plain\n\n<ccc@docomo.ne.jp>: host 127.0.0.1"
	  "[127.0.0.1] said: 550 Unknown user\n    aaa@docomo.ne.jp (in "
	  "reply to end of DATA command)\n\n--B/mx\n"
	  "Content-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; mx.example.net\n\n"
	  "Final-Recipient: rfc822; ccc@docomo.ne.jp\nAction: failed\n"
	  "Status: 5.0.0\nRemote-MTA: dns; 127.0.0.1\n"
	  "Diagnostic-Code: smtp; 550 Unknown user aaa@docomo.ne.jp\n\n"
	  "--B/mx--\n",
	  DSN_RFC3464, 1, "ccc@docomo.ne.jp", "5.0.0", "Unknown user", NULL,
	  "rejected", 0 },
	/*
	 * Postfix may fold "(in reply to ...)" itself: "(in\n    reply to
	 * end of DATA command)". The stage is still found.
	 */
	{ "postfix dsn, stage folded",
	  "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
	  "To: sender@example.net\nSubject: Undelivered Mail Returned to "
	  "Sender\nMIME-Version: 1.0\nContent-Type: multipart/report; "
	  "report-type=delivery-status;\n\tboundary=\"B/mx\"\n\n--B/mx\n"
	  "Content-Type: text/plain\n\n<aaa@docomo.ne.jp>: host "
	  "mfsmax.docomo.ne.jp[192.0.2.1] said: 550 Unknown user "
	  "aaa@docomo.ne.jp (in\n    reply to end of DATA command)\n\n"
	  "--B/mx\nContent-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; mx.example.net\n\n"
	  "Final-Recipient: rfc822; aaa@docomo.ne.jp\nAction: failed\n"
	  "Status: 5.0.0\nRemote-MTA: dns; mfsmax.docomo.ne.jp\n"
	  "Diagnostic-Code: smtp; 550 Unknown user aaa@docomo.ne.jp\n\n"
	  "--B/mx--\n",
	  DSN_RFC3464, 1, "aaa@docomo.ne.jp", "5.0.0", "Unknown user", NULL,
	  "rejected", 0 },
	/*
	 * Sendmail keeps the first line of a multi-line reply in the
	 * Diagnostic-Code and makes up Status 5.1.1 for a 550 at RCPT; the
	 * transcript has the whole reply, which is about the sender's
	 * domain: never a suppression.
	 */
	{ "sendmail dsn, multi-line reply in the transcript",
	  "From: Mail Delivery Subsystem <MAILER-DAEMON@mta.example.net>\n"
	  "To: sender@example.net\nSubject: Returned mail: see transcript "
	  "for details\nMIME-Version: 1.0\nContent-Type: multipart/report; "
	  "report-type=delivery-status;\n\tboundary=\"S/mta\"\n\n--S/mta"
	  "\n\n   ----- The following addresses had permanent fatal errors "
	  "-----\n<ann@example.org>\n    (reason: 550-Requested action not "
	  "taken: mailbox unavailable)\n\n   ----- Transcript of session "
	  "follows -----\n... while talking to [192.0.2.1]:\n>>> RCPT "
	  "To:<ann@example.org>\n<<< 550-Requested action not taken: mailbox "
	  "unavailable\n<<< 550 invalid DNS MX or A/AAAA resource record\n"
	  "550 5.1.1 <ann@example.org>... User unknown\n\n--S/mta\n"
	  "Content-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; mta.example.net\n\n"
	  "Final-Recipient: RFC822; ann@example.org\nAction: failed\n"
	  "Status: 5.1.1\nRemote-MTA: DNS; [192.0.2.1]\n"
	  "Diagnostic-Code: SMTP; 550-Requested action not taken: mailbox "
	  "unavailable\n\n--S/mta--\n",
	  DSN_RFC3464, 1, "ann@example.org", "5.1.1", "mailbox unavailable",
	  NULL, "rejected", 0 },
	/*
	 * Sendmail's Status for any 5xx at RCPT is 5.1.1 with "User
	 * unknown" of its own, whatever the server said: the transcript
	 * shows the reply, and the reply alone decides. A gateway's block
	 * of the recipient is not a dead address.
	 */
	{ "sendmail dsn, its own 5.1.1 for a reply no rule knows",
	  "From: Mail Delivery Subsystem <MAILER-DAEMON@mta.example.net>\n"
	  "To: sender@example.net\nSubject: Returned mail: see transcript "
	  "for details\nMIME-Version: 1.0\nContent-Type: multipart/report; "
	  "report-type=delivery-status;\n\tboundary=\"S/mta\"\n\n--S/mta"
	  "\n\n   ----- The following addresses had permanent fatal errors "
	  "-----\n<ann@example.org>\n    (reason: 550 Go away)\n\n"
	  "   ----- Transcript of session follows -----\n... while talking "
	  "to [192.0.2.1]:\n>>> RCPT To:<ann@example.org>\n<<< 550 Go away\n"
	  "550 5.1.1 <ann@example.org>... User unknown\n\n--S/mta\n"
	  "Content-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; mta.example.net\n\n"
	  "Final-Recipient: RFC822; ann@example.org\nAction: failed\n"
	  "Status: 5.1.1\nRemote-MTA: DNS; [192.0.2.1]\n"
	  "Diagnostic-Code: SMTP; 550 Go away\n\n--S/mta--\n",
	  DSN_RFC3464, 1, "ann@example.org", "5.1.1", "Go away",
	  NULL, "onhold", 0 },
	/*
	 * ... and Sendmail's 5.1.1 stands in for the reply's own status,
	 * which is the one to go by (and to show).
	 */
	{ "sendmail dsn, its own 5.1.1 over the reply's 5.7.1",
	  "From: Mail Delivery Subsystem <MAILER-DAEMON@mta.example.net>\n"
	  "To: sender@example.net\nSubject: Returned mail: see transcript "
	  "for details\nMIME-Version: 1.0\nContent-Type: multipart/report; "
	  "report-type=delivery-status;\n\tboundary=\"S/mta\"\n\n--S/mta"
	  "\n\n   ----- Transcript of session follows -----\n... while "
	  "talking to [192.0.2.1]:\n>>> RCPT To:<ann@example.org>\n"
	  "<<< 550 5.7.1 Go away\n"
	  "550 5.1.1 <ann@example.org>... User unknown\n\n--S/mta\n"
	  "Content-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; mta.example.net\n\n"
	  "Final-Recipient: RFC822; ann@example.org\nAction: failed\n"
	  "Status: 5.1.1\nRemote-MTA: DNS; [192.0.2.1]\n"
	  "Diagnostic-Code: SMTP; 550 5.7.1 Go away\n\n--S/mta--\n",
	  DSN_RFC3464, 1, "ann@example.org", "5.1.1", "Go away",
	  NULL, "securityerror", 0 },
	/*
	 * A transcript shows the command a reply answers: the replies come in
	 * the order of the commands, also when they are pipelined, so the 554
	 * after ">>> DATA" is the answer to RCPT TO, and "no such user" there
	 * is a dead address.
	 */
	{ "sendmail dsn, a pipelined transcript: the reply answers RCPT TO",
	  SENDMAIL_TRANSCRIPT_HEAD
	  ">>> MAIL From:<s@sender.example>\n>>> RCPT To:<ann@example.org>\n"
	  ">>> DATA\n<<< 250 2.1.0 Ok\n<<< 554 No such user here\n"
	  "<<< 554 5.5.1 Error: no valid recipients\n"
	  SENDMAIL_TRANSCRIPT_TAIL,
	  DSN_RFC3464, 1, "ann@example.org", "5.0.0", "No such user here",
	  NULL, "userunknown", 1 },
	/*
	 * ... and after ">>> ." the same words answer the message: filtered.
	 */
	{ "sendmail dsn, a transcript: the reply answers the message",
	  SENDMAIL_TRANSCRIPT_HEAD
	  ">>> DATA\n<<< 354 Go ahead\n>>> .\n<<< 554 No such user here\n"
	  SENDMAIL_TRANSCRIPT_TAIL,
	  DSN_RFC3464, 1, "ann@example.org", "5.0.0", "No such user here",
	  NULL, "filtered", 0 },
	/*
	 * Sendmail's own verdict line for a recipient ("550 5.1.1 <x>...
	 * User unknown") says RCPT TO refused it, whatever the transcript
	 * shows before; a mailer that folds long lines may put the address
	 * on a continuation line.
	 */
	{ "sendmail dsn, its verdict line folded before the address",
	  SENDMAIL_TRANSCRIPT_HEAD
	  ">>> DATA\n<<< 554 No such user here\n550 5.1.1\n"
	  "    <ann@example.org>... User unknown\n"
	  SENDMAIL_TRANSCRIPT_TAIL,
	  DSN_RFC3464, 1, "ann@example.org", "5.0.0", "No such user here",
	  NULL, "userunknown", 1 },
	/*
	 * A Diagnostic-Code folded at one width keeps its indentation when
	 * unfolded ("550-5.7.1    Unauthenticated"), and the transcript may
	 * be folded at another: the reply is still found in the transcript
	 * by its words and joined whole, Gmail's DMARC refusal.
	 */
	{ "sendmail dsn, diagnostic and transcript folded at other widths",
	  "From: Mail Delivery Subsystem <MAILER-DAEMON@mta.example.net>\n"
	  "To: sender@example.net\nSubject: Returned mail: see transcript "
	  "for details\nMIME-Version: 1.0\nContent-Type: multipart/report; "
	  "report-type=delivery-status;\n\tboundary=\"S/mta\"\n\n--S/mta"
	  "\n\n   ----- Transcript of session follows -----\n"
	  "... while talking to gmail-smtp-in.l.google.com.:\n"
	  ">>> DATA\n"
	  "<<< 550-5.7.1 Unauthenticated email from sender.example\n"
	  "    is not accepted due to domain's\n"
	  "<<< 550-5.7.1 DMARC policy. Please contact the\n"
	  "    administrator of sender.example domain\n"
	  "<<< 550-5.7.1 if this was a legitimate mail. Please\n"
	  "    visit\n"
	  "<<< 550-5.7.1\n"
	  "    https://support.google.com/mail/answer/2451690\n"
	  "    to learn about the\n"
	  "<<< 550 5.7.1 DMARC initiative. y13si1773519pll.31\n"
	  "    - gsmtp\n"
	  "554 5.0.0 Service unavailable\n"
	  "\n"
	  "--S/mta\n"
	  "Content-Type: message/delivery-status\n"
	  "\n"
	  "Reporting-MTA: dns; mta.example.net\n"
	  "\n"
	  "Final-Recipient: RFC822; ann@example.org\n"
	  "Action: failed\n"
	  "Status: 5.7.1\n"
	  "Remote-MTA: DNS; gmail-smtp-in.l.google.com\n"
	  "Diagnostic-Code: SMTP; 550-5.7.1\n"
	  "    Unauthenticated email from sender.example\n"
	  "    is not accepted due to domain's\n"
	  "\n"
	  "--S/mta--\n",
	  DSN_RFC3464, 1, "ann@example.org", "5.7.1", "Unauthenticated",
	  NULL, "authfailure", 0 },
	/*
	 * Sendmail v5 says only "Remote protocol error"; the remote reply
	 * above it in the transcript is the reason, also when a mailer
	 * folded it at some width.
	 */
	{ "sendmail v5, the remote reply above its verdict folded",
	  "From: Mail Delivery Subsystem <MAILER-DAEMON@mta.example.net>\n"
	  "Subject: Returned mail: User unknown\nTo: sender@example.net\n\n"
	  "   ----- Transcript of session follows -----\n"
	  "While talking to mx.example.org:\n"
	  ">>> MAIL From:<sender@example.net>\n"
	  "<<< 501 <sender@example.net>... no access from\n"
	  "    mail server [192.0.2.55] which is an open relay.\n"
	  "554 <ann@example.org>... Remote protocol error\n\n"
	  "   ----- Unsent message follows -----\n"
	  "From: sender@example.net\nSubject: hi\n\nhello\n",
	  DSN_TEXT, 1, "ann@example.org", NULL, "open relay",
	  NULL, "blocked", 0 },
	/*
	 * qmail's (indimail's) line naming the envelope, folded at some
	 * width: its continuations are the same line, not the header
	 * block of the original, and both recipients keep their text.
	 */
	{ "qmail, the envelope line folded",
	  "From: MAILER-DAEMON@q.example\nTo: s@q.example\n"
	  "Subject: failure notice\n\n"
	  "Hi. This is the qmail-send program at q.example.\n\n"
	  "<ann@example.org>:\n"
	  "From: <s@q.example> RCPT:\n"
	  "    <ann@example.org> 192.0.2.25 does\n"
	  "    not like recipient.\n"
	  "Remote host said: 552 5.2.2 <ann@example.org>: Mailbox full\n"
	  "Giving up on 192.0.2.25.\n\n"
	  "<bob@example.org>:\n"
	  "From: <s@q.example> RCPT:\n"
	  "    <bob@example.org> 192.0.2.25 does\n"
	  "    not like recipient.\n"
	  "Remote host said: 550 5.1.1 <bob@example.org>: User unknown\n"
	  "Giving up on 192.0.2.25.\n\n"
	  "--- Enclosed is a copy of the message.\n\n"
	  "From: s@q.example\nTo: ann@example.org\nSubject: hi\n\nhello\n",
	  DSN_TEXT, 2, "ann@example.org", NULL, "Mailbox full",
	  NULL, "mailboxfull", 0 },
	/*
	 * A notice that lists the original's envelope and headers, its
	 * "From:" folded before a long address: that address is the
	 * sender's, and the recipient is the RCPT TO one.
	 */
	{ "text notice, its From: folded before the address",
	  "From: postmaster@mms.example.net\nTo: s@example.net\n"
	  "Subject: Undeliverable Message\n\n"
	  "Error: Invalid user address\n\n"
	  "Error message below:\n"
	  "550 - Requested action not taken: no such user here\n\n"
	  "Message details:\n"
	  "  Subject: Test message\n"
	  "  MAIL FROM: s@example.net\n"
	  "  RCPT TO: ann@mms.example.net\n"
	  "  From:\n"
	  "      a-rather-long-display-address@sender.example.org\n"
	  "  Size (in bytes): 222\n",
	  DSN_TEXT, 1, "ann@mms.example.net", NULL, "RCPT TO: ann",
	  NULL, "userunknown", 0 },
	/*
	 * A report pasted as text (no MIME boundary), its Final-Recipient
	 * folded before the address: the address on the continuation is
	 * the field's, not a recipient's failure text. The recipient was
	 * being delivered to a program (X-Actual-Recipient).
	 */
	{ "report in text, Final-Recipient folded",
	  "From: Mail Delivery Subsystem <MAILER-DAEMON@mta.example.net>\n"
	  "To: <s@example.com>\nSubject: Returned mail: Service "
	  "unavailable\n\n"
	  "   ----- The following addresses had permanent fatal errors -----\n"
	  "\"|exec /usr/bin/procmail -f- || exit 75 #ann\"\n"
	  "    (expanded from: <ann@example.edu>)\n\n"
	  "   ----- Transcript of session follows -----\n"
	  "554 \"|exec /usr/bin/procmail -f- || exit 75 #ann\"... "
	  "Service unavailable\n\n"
	  "Reporting-MTA: dns; mta.example.net\n\n"
	  "Final-Recipient: RFC822;\n"
	  "    ann@mta.example.net\n"
	  "X-Actual-Recipient: RFC822; |exec /usr/bin/procmail -f- ||\n"
	  "    exit 75 #ann@mta.example.net\n"
	  "Action: failed\nStatus: 5.5.0\n",
	  DSN_RFC3464, 1, "ann@mta.example.net", "5.5.0", NULL,
	  NULL, "mailererror", 0 },
	/*
	 * Postfix's notice folded at some width: "returned message" on the
	 * continuation of a sentence about the report is prose, not the
	 * line above the original, and the reply keeps its RCPT TO stage.
	 */
	{ "postfix dsn, its notice folded",
	  "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
	  "To: sender@example.net\nSubject: Undelivered Mail Returned to "
	  "Sender\nMIME-Version: 1.0\n"
	  "Content-Type: multipart/report; report-type=delivery-status;\n"
	  "\tboundary=\"B/mx\"\n\n"
	  "--B/mx\nContent-Type: text/plain; charset=us-ascii\n\n"
	  "This is the mail system at host mx.example.net.\n\n"
	  "If you do so, please include this problem report. You can\n"
	  "delete your own text from the attached\n"
	  "    returned message.\n\n"
	  "                   The mail system\n\n"
	  "<ann@example.org>: host mx.example.org[192.0.2.1] said: 550 User\n"
	  "    not found (in reply to RCPT TO command)\n\n"
	  "--B/mx\nContent-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; mx.example.net\n\n"
	  "Final-Recipient: rfc822; ann@example.org\nAction: failed\n"
	  "Status: 5.0.0\nRemote-MTA: dns; mx.example.org\n"
	  "Diagnostic-Code: smtp; 550 User not found\n\n--B/mx--\n",
	  DSN_RFC3464, 1, "ann@example.org", "5.0.0", "User not found",
	  NULL, "userunknown", 1 },
	/*
	 * A bounce returned to its own sender by a relay, pasted whole
	 * after an mbox "From " line that is folded itself: the pasted
	 * report is read, from its first header.
	 */
	{ "pasted report after a folded mbox From line",
	  "From: MAILER-DAEMON@relay.example.net\n"
	  "To: postmaster@relay.example.net\n"
	  "Subject: Undelivered Mail Returned to Sender\n\n"
	  "The message returned below could not be delivered. For help,\n"
	  "    please contact <support@relay.example.net>\n\n"
	  "---------------------------------\n"
	  "From MAILER-DAEMON  Thu Apr 29 23:34:45\n"
	  "    2015\n"
	  "Return-Path: <>\n"
	  "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
	  "Subject: Undelivered Mail Returned to Sender\n"
	  "To: s@example.net\nMIME-Version: 1.0\n"
	  "Content-Type: multipart/report; report-type=delivery-status;\n"
	  "\tboundary=\"B\"\n\n"
	  "--B\nContent-Type: text/plain\n\n"
	  "<ann@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1"
	  " User unknown (in reply to RCPT TO command)\n\n"
	  "--B\nContent-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; mx.example.net\n\n"
	  "Final-Recipient: rfc822; ann@example.org\nAction: failed\n"
	  "Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n\n"
	  "--B--\n",
	  DSN_RFC3464, 1, "ann@example.org", "5.1.1", "User unknown",
	  NULL, "userunknown", 1 },
	/*
	 * Sendmail's verdict line for a recipient, folded at some width:
	 * its continuations are the recipient's text too.
	 */
	{ "sendmail, the verdict line folded",
	  "From: Mail Delivery Subsystem <MAILER-DAEMON@mta.example.net>\n"
	  "Subject: Returned mail: Host unknown\nTo: sender@example.net\n\n"
	  "   ----- Transcript of session follows -----\n"
	  "554 <ann@example.org>... 550 Host\n"
	  "    unknown (Authoritative answer from\n"
	  "    name server)\n\n"
	  "   ----- Unsent message follows -----\n"
	  "From: sender@example.net\nSubject: hi\n\nhello\n",
	  DSN_TEXT, 1, "ann@example.org", NULL, "Host",
	  NULL, "hostunknown", 1 },
	/*
	 * Exim's "(generated from x)", folded before the address: x is
	 * inside that line, not a recipient of its own.
	 */
	{ "exim, generated from folded",
	  "From: Mail Delivery System <Mailer-Daemon@e.example>\n"
	  "To: s@example.com\nSubject: Mail delivery failed: returning "
	  "message to sender\n\n"
	  "This message was created automatically by mail delivery "
	  "software.\n\nA message that you sent could not be delivered to "
	  "one or more of its\nrecipients. This is a permanent error. The "
	  "following address(es) failed:\n\n"
	  "  ann@example.org\n"
	  "    (generated from\n"
	  "        member@example.net)\n"
	  "    SMTP error from remote mail server after RCPT "
	  "TO:<ann@example.org>:\n"
	  "    550 5.1.1 User unknown\n\n"
	  "------ This is a copy of the message, including all the headers. "
	  "------\n\nFrom: s@example.com\nTo: list@example.net\n"
	  "Subject: hi\n\nhello\n",
	  DSN_TEXT, 1, "ann@example.org", NULL, "User unknown",
	  NULL, "userunknown", 1 },
	/*
	 * A gateway's notice with no reason of its own, the MTA's bounce
	 * it got attached: the session that bounce shows gives the reason.
	 */
	{ "gateway notice wrapping a bounce with its transcript",
	  GW_NOTICE
	  "From: s@example.org\nTo: ann@example.jp\nSubject: Returned mail"
	  "\nMIME-Version: 1.0\nContent-Type: text/plain\n\n"
	  "----- The following addresses had permanent fatal errors -----\n"
	  "<ann@example.jp>\n\n"
	  "----- Transcript of the session follows -----\n"
	  "... while talking to mx.example.jp.:\n"
	  ">>> RCPT To:<ann@example.jp>\n"
	  "<<< 550 5.1.1 <ann@example.jp>... User unknown\n\n--b--\n",
	  DSN_TEXT, 1, "ann@example.jp", NULL, "Unable to deliver",
	  NULL, "userunknown", 1 },
	/* Delivery-status fields right under the part's Content-Type. */
	{ "fields in the part's header block",
	  "From: MAILER-DAEMON@mx.example.net\nSubject: failure\n"
	  "Content-Type: multipart/report; boundary=b\n\n--b\n\nfailed\n"
	  "--b\nContent-Type: message/delivery-status\n"
	  "Reporting-MTA: dns; mx.example.net\n"
	  "Final-Recipient: rfc822; ann@example.org\nAction: failed\n"
	  "Status: 5.1.1\n\n--b--\n",
	  DSN_RFC3464, 1, "ann@example.org", "5.1.1", NULL, NULL, NULL, 0 },
	/* An X.400 or local Final-Recipient, an rfc822 Original one. */
	{ "x400 final recipient",
	  "From: postmaster@gw.example.net\nSubject: failure\n"
	  "Content-Type: multipart/report; boundary=b\n\n--b\n\nfailed\n"
	  "--b\nContent-Type: message/delivery-status\n\n"
	  "Reporting-MTA: x400; /ADMD=X/C=FR/\n\n"
	  "Original-Recipient: rfc822;dag@example.org\n"
	  "Final-Recipient: x400; /G=Dag/S=Example/ADMD=X/C=FR/\n"
	  "Action: failed\nStatus: 5.1.1\n\n--b--\n",
	  DSN_RFC3464, 1, "dag@example.org", "5.1.1", NULL, NULL, NULL, 0 },
	{ "local final recipient after the original one",
	  "From: MAILER-DAEMON@mx.example.net\nSubject: failure\n"
	  "Content-Type: multipart/report; boundary=b\n\n--b\n\nfailed\n"
	  "--b\nContent-Type: message/delivery-status\n\n"
	  "Final-Recipient: rfc822; eda\n"
	  "Original-Recipient: rfc822; eda@example.org\n"
	  "Action: failed\nStatus: 5.2.2\n\n--b--\n",
	  DSN_RFC3464, 1, "eda@example.org", "5.2.2", NULL, NULL, NULL, 0 },
	/* RFC 6533: a UTF-8 address in 7 bits, "\x{E9}". */
	{ "utf-8 address with escapes",
	  "From: MAILER-DAEMON@mx.example.net\nSubject: failure\n"
	  "Content-Type: multipart/report; boundary=b\n\n--b\n\nfailed\n"
	  "--b\nContent-Type: message/delivery-status\n\n"
	  "Final-Recipient: utf-8; j\\x{E9}r\\x{F4}me@exemple.fr\n"
	  "Action: failed\nStatus: 5.1.1\n\n"
	  "Final-Recipient: utf-8; a\\x{zz}\\x{}\\x{110000}@exemple.fr\n"
	  "Action: failed\nStatus: 5.1.1\n\n--b--\n",
	  DSN_RFC3464, 2, "j\xc3\xa9r\xc3\xb4me@exemple.fr", "5.1.1", NULL,
	  NULL, NULL, 0 },
	/* A Status with a reply code or a comment before its code. */
	{ "status after a reply code",
	  "From: postmaster@gw.example.net\nSubject: failure\n"
	  "Content-Type: multipart/report; boundary=b\n\n--b\n\nfailed\n"
	  "--b\nContent-Type: message/delivery-status\n\n"
	  "Final-Recipient: rfc822; dov@example.org\nAction: failed\n"
	  "Status: 550 5.1.1 User unknown\n\n"
	  "Final-Recipient: rfc822; cal@example.org\nAction: failed\n"
	  "Status: (permanent failure) 5.2.2\n\n--b--\n",
	  DSN_RFC3464, 2, "dov@example.org", "5.1.1", NULL, NULL, NULL, 0 },
	/* A recipient's fields in a group of their own after it. */
	{ "status in the next group",
	  "From: MAILER-DAEMON@mx.example.net\nSubject: failure\n"
	  "Content-Type: multipart/report; boundary=b\n\n--b\n\nfailed\n"
	  "--b\nContent-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; mx.example.net\n"
	  "Final-Recipient: rfc822; vera@example.org\n\nAction: failed\n"
	  "Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n"
	  "\n--b--\n",
	  DSN_RFC3464, 1, "vera@example.org", "5.1.1", "User unknown", NULL,
	  "userunknown", 1 },
	/* The notice in the preamble, no text in the parts. */
	{ "notice in the preamble",
	  "From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail "
	  "Returned to Sender\nContent-Type: multipart/mixed; boundary=b\n\n"
	  "<ulla@example.org>: host mx.example.org[192.0.2.1] said: 552 "
	  "5.2.2 Mailbox full (in reply to RCPT TO command)\n"
	  "--b\nContent-Type: text/plain\n\n\n--b\n"
	  "Content-Type: message/rfc822\n\nFrom: s@example.net\n"
	  "To: ulla@example.org\n\nhi\n--b--\n",
	  DSN_TEXT, 1, "ulla@example.org", NULL, "Mailbox full", NULL,
	  "mailboxfull", 0 },
	/* A list's digest: a bounce posted to the list is no report. */
	{ "bounce inside a digest",
	  "From: list-request@lists.example.net\nTo: list@lists.example.net\n"
	  "Subject: list digest\nContent-Type: multipart/digest; boundary=d"
	  "\n\n--d\n\nFrom: MAILER-DAEMON@mx.example.net\nSubject: "
	  "Undelivered Mail Returned to Sender\nContent-Type: multipart/report;"
	  " boundary=b\n\n--b\nContent-Type: message/delivery-status\n\n"
	  "Final-Recipient: rfc822; ann@example.org\nAction: failed\n"
	  "Status: 5.1.1\n\n--b--\n\n--d--\n",
	  DSN_NONE, 0, NULL, NULL, NULL, NULL, NULL, 0 },
	/* Text that runs on after an address without a blank. */
	{ "address glued to japanese text",
	  "From: MAILER-DAEMON@docomo.example.jp\nSubject: =?UTF-8?B?"
	  "44Oh44O844Or6YWN5L+h44Ko44Op44O8?=\nContent-Type: text/plain; "
	  "charset=utf-8\n\n\xe4\xbb\xa5\xe4\xb8\x8b\xe3\x81\xae"
	  "kana@docomo.example.jp\xe5\xae\x9b\xe3\x81\xae\xe3\x83\xa1"
	  "\xe3\x83\xbc\xe3\x83\xab\n550 Unknown user\n",
	  DSN_TEXT, 1, "kana@docomo.example.jp", NULL, "550 Unknown user",
	  NULL, "userunknown", 0 },
	{ "address in smart quotes and guillemets",
	  "From: MAILER-DAEMON@mx.example.net\nSubject: Undeliverable\n"
	  "Content-Type: text/plain; charset=utf-8\n\n"
	  "\xe2\x80\x9c" "ann@example.org\xe2\x80\x9d\n"
	  "\xc2\xab" "bob@example.org\xc2\xbb\n550 5.1.1 User unknown\n",
	  DSN_TEXT, 2, "ann@example.org", NULL, NULL, NULL, NULL, 0 },
	{ "utf-8 local part",
	  "From: MAILER-DAEMON@mx.example.net\nSubject: Undeliverable\n"
	  "Content-Type: text/plain; charset=utf-8\n\n"
	  "j\xc3\xa9r\xc3\xb4me@exemple.fr\n550 5.1.1 User unknown\n",
	  DSN_TEXT, 1, "j\xc3\xa9r\xc3\xb4me@exemple.fr", NULL, NULL, NULL,
	  "userunknown", 1 },
	/* The same notice over a message a person wrote: never read. */
	{ "gateway notice over a person's message",
	  GW_NOTICE
	  "From: s@example.org\nTo: ann@example.jp\nSubject: old address"
	  "\n\nAnn, your old address ann@example.jp is unknown now, the "
	  "server said \"User unknown\".\n\n--b--\n",
	  DSN_TEXT, 1, "ann@example.jp", NULL, "Unable to deliver",
	  NULL, "onhold", 0 },
};

static struct ruleset *rules;

static void
load_rules(void)
{
	char *err = NULL;
	const char *dir = testlib_env("BOUNCER_RULES", "rules");

	rules = ruleset_load(dir, &err);
	if (rules == NULL) {
		fprintf(stderr, "check_dsn: no rules from %s: %s", dir,
		    err ? err : "?");
		free(err);
	}
}

static void
unload_rules(void)
{
	ruleset_unref(rules);
	rules = NULL;
}

START_TEST(test_formats)
{
	const struct dsn_case *c = &cases[_i];
	struct dsn_parser *p = dsn_parser_new();
	struct dsn_report rep;
	size_t n, len = strlen(c->msg);
	char *msg = xmalloc(len ? len : 1);	/* not NUL-terminated */

	memcpy(msg, c->msg, len);
	n = dsn_parse(p, msg, len, &rep);
	ck_assert_msg(n == c->nrcpts, "%s: %zu recipients", c->name, n);
	ck_assert_msg(n == 0 || rep.kind == c->kind, "%s: kind %s", c->name,
	    dsn_kind_name(rep.kind));
	if (c->rcpt != NULL)
		ck_assert_str_eq(rep.rcpts[0].rcpt, c->rcpt);
	if (c->status != NULL)
		ck_assert_msg(rep.rcpts[0].status != NULL &&
		    strcmp(rep.rcpts[0].status, c->status) == 0,
		    "%s: status %s", c->name, rep.rcpts[0].status);
	if (c->diag != NULL)
		ck_assert_msg(memmem(rep.rcpts[0].diag, rep.rcpts[0].diaglen,
		    c->diag, strlen(c->diag)) != NULL, "%s: diag \"%.*s\"",
		    c->name, (int)rep.rcpts[0].diaglen, rep.rcpts[0].diag);
	if (c->msgid != NULL)
		ck_assert_msg(rep.message_id != NULL &&
		    strcmp(rep.message_id, c->msgid) == 0,
		    "%s: message-id %s", c->name, rep.message_id);
	if (c->reason != NULL && rules != NULL) {
		struct classifier *cl = classifier_new(rules);
		struct dsn_result res;

		memset(&res, 0xa5, sizeof(res));	/* nothing left over */
		dsn_classify(cl, rules, &rep, 0, &res);
		if (rep.kind == DSN_ARF || rep.kind == DSN_AUTOREPLY)
			ck_assert_ptr_null(res.cl.reply);
		else
			ck_assert_ptr_nonnull(res.cl.reply);
		ck_assert_msg(strcmp(reason_name(res.cl.reason), c->reason)
		    == 0, "%s: reason %s", c->name,
		    reason_name(res.cl.reason));
		ck_assert_int_eq(res.hardbounce, c->hard);
		if (res.cl.reason == R_FEEDBACK) {
			ck_assert(res.cl.decision == D_SUPPRESS);
			ck_assert(strstr(res.cl.details, "feedback_type=") !=
			    NULL);
		}
		if (res.cl.reason == R_VACATION)
			ck_assert(res.cl.decision == 0);
		classifier_free(cl);
	}
	free(msg);
	dsn_parser_free(p);
}
END_TEST

/*
 * An AOL-style notice: "Sorry <sender>." names the sender before the
 * failure. The original's recipient is the one that failed; and when
 * the notice gives no other address (or the text is reworded), the
 * sender's own addresses (the bounce's To, the original's From and
 * Reply-To) are never suppressed. Nor is the original's recipient when
 * the notice does not name it: it may be another of the original's
 * recipients than the one that failed.
 */
static const char aol_head[] =
	"Return-Path: <>\n"
	"From: Mail Delivery Subsystem <MAILER-DAEMON@aol.example>\n"
	"To: kim@sender.example\nSubject: Mail Delivery Problem\n"
	"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n"
	"--b1\nContent-Type: text/plain; charset=us-ascii\n\n";

static void
sender_case(const char *text, const char *orig, const char *want_rcpt,
    const char *guard)
{
	struct dsn_parser *p = dsn_parser_new();
	struct classifier *cl = classifier_new(rules);
	struct dsn_report rep;
	struct dsn_result res;
	char *msg = xasprintf("%s%s\n--b1\nContent-Type: message/rfc822\n\n"
	    "%s\nhi\n--b1--\n", aol_head, text, orig);
	size_t n;

	n = dsn_parse(p, msg, strlen(msg), &rep);
	ck_assert_msg(n == 1, "%zu recipients", n);
	ck_assert_str_eq(rep.rcpts[0].rcpt, want_rcpt);
	dsn_classify(cl, rules, &rep, 0, &res);
	ck_assert_msg(res.cl.reason == R_USERUNKNOWN, "reason %s",
	    reason_name(res.cl.reason));
	ck_assert_msg(!!(res.cl.decision & D_SUPPRESS) == (guard == NULL),
	    "%s: decision %u, details \"%s\"", want_rcpt, res.cl.decision,
	    res.cl.details);
	if (guard != NULL)
		ck_assert(strstr(res.cl.details, guard) != NULL);
	classifier_free(cl);
	free(msg);
	dsn_parser_free(p);
}

START_TEST(test_sender_never_suppressed)
{
	if (rules == NULL)
		return;
	/* The notice names the sender and the failed recipient. */
	sender_case("Sorry <kim@sender.example>. Your message to "
	    "ann@aol.example could not be\ndelivered: the user does not "
	    "exist.\n", "From: Kim <kim@sender.example>\nTo: ann@aol.example\n"
	    "Subject: hello\n", "ann@aol.example", NULL);
	/*
	 * Only the sender: the original's To is the recipient, unnamed,
	 * and the reply names only our address.
	 */
	sender_case("Sorry <kim@sender.example>. Your message could not be\n"
	    "delivered: the user does not exist.\n",
	    "From: Kim <kim@sender.example>\nTo: ann@aol.example\n"
	    "Subject: hello\n", "ann@aol.example", "guard=other-address");
	/* No address at all: the original's To, unnamed, is not suppressed. */
	sender_case("Sorry. Your message could not be\n"
	    "delivered: the user does not exist.\n",
	    "From: Kim <kim@sender.example>\nTo: ann@aol.example\n"
	    "Subject: hello\n", "ann@aol.example", "guard=unnamed");
	/* Nothing else to go by: the sender is read, never suppressed. */
	sender_case("Sorry <kim@sender.example>. Your message could not be\n"
	    "delivered: the user does not exist.\n",
	    "From: Kim <kim@sender.example>\nSubject: hello\n",
	    "kim@sender.example", "guard=sender");
	/* The original's Reply-To is the sending side too. */
	sender_case("Sorry <news@sender.example>. Your message could not be\n"
	    "delivered: the user does not exist.\n",
	    "From: Kim <kim@sender.example>\nReply-To: news@sender.example\n"
	    "To: news@sender.example\nSubject: hello\n",
	    "news@sender.example", "guard=sender");
}
END_TEST

/*
 * Amazon SES notifications without mail around them: bare, as saved
 * from SNS's HTTP delivery or an event destination, and in the SNS
 * envelope that carries one as the string "Message". SES's bounceType
 * and bounceSubType decide where no rule knows the diagnosticCode (or
 * there is none); a rule that knows it stays first; a Transient bounce
 * never suppresses; "Undetermined" decides nothing. Mailgun's events
 * alike.
 */
#define SES_BOUNCE(type, sub, rcpts) \
	"{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"" \
	type "\",\"bounceSubType\":\"" sub "\",\"bouncedRecipients\":[" \
	rcpts "],\"timestamp\":\"2026-01-01T00:00:00.000Z\"},\"mail\":" \
	"{\"source\":\"s@sender.example\",\"destination\":[\"a@example.com\"]}}"
#define SES_RCPT(addr)		"{\"emailAddress\":\"" addr "\"}"
#define SES_DIAG(addr, diag) \
	"{\"emailAddress\":\"" addr "\",\"action\":\"failed\"," \
	"\"diagnosticCode\":\"smtp; " diag "\"}"

/* A bounce of a@example.com with no reply: SES's subtype decides. */
#define SES_SUBTYPE(type, sub, reason, decision, hard) \
	{ "bare, " type "/" sub, \
	  SES_BOUNCE(type, sub, SES_RCPT("a@example.com")), DSN_JSON, \
	  "a@example.com", reason, decision, hard, "ses=" type "/" sub }

struct ses_case {
	const char	*name;
	const char	*msg;
	enum dsn_kind	 kind;
	const char	*rcpt;
	const char	*reason;
	unsigned	 decision;
	int		 hard;
	const char	*detail;	/* in the details, or NULL: no ses= */
};

static const struct ses_case ses_cases[] = {
	{ "bare, after white space",
	  "\n  " SES_BOUNCE("Permanent", "NoEmail", SES_RCPT("a@example.com")),
	  DSN_JSON, "a@example.com", "userunknown", D_SUPPRESS, 1,
	  "ses=Permanent/NoEmail" },
	/* Each subtype, where there is no reply. */
	SES_SUBTYPE("Permanent", "NoEmail", "userunknown", D_SUPPRESS, 1),
	SES_SUBTYPE("Permanent", "Suppressed", "userunknown", D_SUPPRESS, 1),
	SES_SUBTYPE("Permanent", "OnAccountSuppressionList", "onhold", 0, 0),
	SES_SUBTYPE("Permanent", "General", "onhold", 0, 0),
	SES_SUBTYPE("Transient", "MailboxFull", "mailboxfull", D_RETRY, 0),
	SES_SUBTYPE("Transient", "General", "onhold", D_RETRY, 0),
	SES_SUBTYPE("Transient", "MessageTooLarge", "mesgtoobig", 0, 0),
	SES_SUBTYPE("Transient", "ContentRejected", "contenterror", D_ALERT, 0),
	SES_SUBTYPE("Transient", "AttachmentRejected", "policyviolation",
	    D_ALERT, 0),
	/* A reply whose words no rule knows: the subtype names the cause. */
	{ "bare, permanent, no such address, an unknown reply",
	  SES_BOUNCE("Permanent", "NoEmail", SES_DIAG("a@example.com",
	  "550 zz top")),
	  DSN_JSON, "a@example.com", "userunknown", D_SUPPRESS, 1,
	  "ses=Permanent/NoEmail" },
	{ "bare, permanent, general, an unknown reply",
	  SES_BOUNCE("Permanent", "General", SES_DIAG("a@example.com",
	  "550 zz top")),
	  DSN_JSON, "a@example.com", "onhold", 0, 0, NULL },
	/* The rule for the reply says more than "General". */
	{ "bare, permanent, general, a blocklist reply",
	  SES_BOUNCE("Permanent", "General", SES_DIAG("a@example.com",
	  "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked "
	  "using zen.spamhaus.org")),
	  DSN_JSON, "a@example.com", "blocked", D_ALERT, 0, NULL },
	{ "bare, permanent, general, an unknown-user reply",
	  SES_BOUNCE("Permanent", "General", SES_DIAG("a@example.com",
	  "550 5.1.1 user unknown")),
	  DSN_JSON, "a@example.com", "userunknown", D_SUPPRESS, 1, NULL },
	/* Whatever the reply says, a Transient bounce does not suppress. */
	{ "bare, transient, an unknown-user reply",
	  SES_BOUNCE("Transient", "General", SES_DIAG("a@example.com",
	  "550 5.1.1 user unknown")),
	  DSN_JSON, "a@example.com", "userunknown", 0, 0,
	  "guard=ses-transient" },
	{ "bare, transient, no such address",
	  SES_BOUNCE("Transient", "NoEmail", SES_RCPT("a@example.com")),
	  DSN_JSON, "a@example.com", "userunknown", 0, 0,
	  "guard=ses-transient" },
	/* Undetermined: the reply alone decides, or nothing does. */
	{ "bare, undetermined, no reply",
	  SES_BOUNCE("Undetermined", "Undetermined",
	  SES_RCPT("a@example.com")),
	  DSN_JSON, "a@example.com", "undefined", 0, 0, NULL },
	{ "bare, undetermined, an unknown-user reply",
	  SES_BOUNCE("Undetermined", "Undetermined", SES_DIAG("a@example.com",
	  "550 5.1.1 user unknown")),
	  DSN_JSON, "a@example.com", "userunknown", D_SUPPRESS, 1, NULL },
	{ "sns envelope, transient, mailbox full",
	  "{\n  \"Type\" : \"Notification\",\n  \"MessageId\" : \"m-1\",\n"
	  "  \"TopicArn\" : \"arn:aws:sns:us-east-1:123456789012:bounces\",\n"
	  "  \"Message\" : \"{\\\"notificationType\\\":\\\"Bounce\\\","
	  "\\\"bounce\\\":{\\\"bounceType\\\":\\\"Transient\\\","
	  "\\\"bounceSubType\\\":\\\"MailboxFull\\\",\\\"bouncedRecipients"
	  "\\\":[{\\\"emailAddress\\\":\\\"Full@Example.com\\\"}]}}\",\n"
	  "  \"Timestamp\" : \"2026-01-01T00:00:00.000Z\"\n}\n",
	  DSN_JSON, "full@example.com", "mailboxfull", D_RETRY, 0,
	  "ses=Transient/MailboxFull" },
	{ "sns envelope, complaint",
	  "{\"Type\":\"Notification\",\"Message\":\"{\\\"notificationType"
	  "\\\":\\\"Complaint\\\",\\\"complaint\\\":{\\\"complainedRecipients"
	  "\\\":[{\\\"emailAddress\\\":\\\"c@example.com\\\"}]}}\"}",
	  DSN_ARF, "c@example.com", "feedback", D_SUPPRESS, 0, NULL },
	{ "bare, event publishing",
	  "{\"eventType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\","
	  "\"bounceSubType\":\"NoEmail\",\"bouncedRecipients\":"
	  "[{\"emailAddress\":\"e@example.com\"}]}}",
	  DSN_JSON, "e@example.com", "userunknown", D_SUPPRESS, 1,
	  "ses=Permanent/NoEmail" },
	/* In a mail, as SNS's e-mail subscription sends it. */
	{ "in a mail, permanent, no such address",
	  "From: no-reply@sns.amazonaws.com\nSubject: AWS Notification "
	  "Message\nContent-Type: text/plain; charset=UTF-8\n\n"
	  SES_BOUNCE("Permanent", "NoEmail", SES_RCPT("a@example.com")) "\n",
	  DSN_JSON, "a@example.com", "userunknown", D_SUPPRESS, 1,
	  "ses=Permanent/NoEmail" },
	/*
	 * Mailgun's failure events: the reply in "delivery-status", its
	 * code in front; "temporary" never suppresses, nor does Mailgun's
	 * own list of earlier bounces ("suppress-bounce").
	 */
	{ "mailgun, permanent, no such user",
	  "{\"signature\":{\"token\":\"t\"},\"event-data\":{\"event\":"
	  "\"failed\",\"severity\":\"permanent\",\"reason\":\"bounce\","
	  "\"recipient\":\"Gone@Example.com\",\"delivery-status\":"
	  "{\"code\":550,\"message\":\"5.1.1 The email account that you "
	  "tried to reach does not exist.\",\"description\":\"\"},"
	  "\"message\":{\"headers\":{\"to\":\"gone@example.com\"}}}}",
	  DSN_JSON, "gone@example.com", "userunknown", D_SUPPRESS, 1, NULL },
	{ "mailgun, temporary, no such user",
	  "{\"event-data\":{\"event\":\"failed\",\"severity\":"
	  "\"temporary\",\"reason\":\"generic\",\"recipient\":"
	  "\"u@example.com\",\"delivery-status\":{\"code\":550,"
	  "\"message\":\"5.1.1 user unknown\"}}}",
	  DSN_JSON, "u@example.com", "userunknown", 0, 0, "guard=transient" },
	{ "mailgun, an earlier bounce on its own list",
	  "{\"event-data\":{\"event\":\"failed\",\"severity\":"
	  "\"permanent\",\"reason\":\"suppress-bounce\",\"recipient\":"
	  "\"old@example.com\",\"delivery-status\":{\"code\":605,"
	  "\"message\":\"\",\"description\":\"550 5.1.1 user unknown\"}}}",
	  DSN_JSON, "old@example.com", "userunknown", 0, 1,
	  "guard=mailgun-suppress-bounce" },
	{ "mailgun, not a failure", "{\"event-data\":{\"event\":"
	  "\"delivered\",\"recipient\":\"a@example.com\"}}",
	  DSN_NONE, NULL, NULL, 0, 0, NULL },
	/* Not a notification: nothing. */
	{ "bare, other JSON", "{\"Type\":\"Notification\",\"Message\":"
	  "\"hello\"}", DSN_NONE, NULL, NULL, 0, 0, NULL },
	{ "bare, a subscription confirmation",
	  "{\"Type\":\"SubscriptionConfirmation\",\"Message\":\"You have "
	  "chosen to subscribe to the topic\"}",
	  DSN_NONE, NULL, NULL, 0, 0, NULL },
};

START_TEST(test_ses)
{
	const struct ses_case *c = &ses_cases[_i];
	struct dsn_parser *p = dsn_parser_new();
	struct classifier *cl;
	struct dsn_report rep;
	struct dsn_result res;
	size_t n;

	n = dsn_parse(p, c->msg, strlen(c->msg), &rep);
	if (c->rcpt == NULL) {
		ck_assert_msg(n == 0, "%s: %zu recipients", c->name, n);
		dsn_parser_free(p);
		return;
	}
	ck_assert_msg(n == 1, "%s: %zu recipients", c->name, n);
	ck_assert_msg(rep.kind == c->kind, "%s: kind %s", c->name,
	    dsn_kind_name(rep.kind));
	ck_assert_str_eq(rep.rcpts[0].rcpt, c->rcpt);
	ck_assert_int_eq(rep.bare, c->msg[0] != 'F');
	if (rules == NULL) {
		dsn_parser_free(p);
		return;
	}
	cl = classifier_new(rules);
	dsn_classify(cl, rules, &rep, 0, &res);
	ck_assert_msg(strcmp(reason_name(res.cl.reason), c->reason) == 0,
	    "%s: reason %s", c->name, reason_name(res.cl.reason));
	ck_assert_msg(res.cl.decision == c->decision, "%s: decision %u",
	    c->name, res.cl.decision);
	ck_assert_msg(res.hardbounce == c->hard, "%s: hardbounce %d",
	    c->name, res.hardbounce);
	if (c->detail != NULL)
		ck_assert_msg(strstr(res.cl.details, c->detail) != NULL,
		    "%s: details \"%s\"", c->name, res.cl.details);
	else
		ck_assert_msg(strstr(res.cl.details, "ses=") == NULL,
		    "%s: details \"%s\"", c->name, res.cl.details);
	classifier_free(cl);
	dsn_parser_free(p);
}
END_TEST

/* Postfix's report fields reach the report. */
START_TEST(test_fields)
{
	struct dsn_parser *p = dsn_parser_new();
	struct dsn_report rep;

	dsn_parse(p, cases[0].msg, strlen(cases[0].msg), &rep);
	ck_assert_str_eq(rep.reporting_mta, "mx.example.net");
	ck_assert_str_eq(rep.queue_id, "4Bc1x2");
	ck_assert_str_eq(rep.arrival_date,
	    "Mon,  1 Jan 2024 10:00:00 +0000 (UTC)");
	ck_assert_str_eq(rep.rcpts[0].remote_mta, "mx.example.org");
	ck_assert_str_eq(rep.rcpts[0].action, "failed");
	ck_assert_str_eq(rep.rcpts[0].orig_rcpt, "user@example.org");
	/* The folded Diagnostic-Code is one line. */
	ck_assert(strstr(rep.rcpts[0].diag, "Recipient    address") != NULL);
	dsn_parser_free(p);
}
END_TEST

/* 100,000 recipients in one report: all found, in linear time. */
START_TEST(test_many_rcpts)
{
	struct dsn_parser *p = dsn_parser_new();
	struct dsn_report rep;
	size_t i, n = 100000, cap = n * 128 + 512, off = 0;
	char *msg = xmalloc(cap);
	clock_t t0 = clock();

	off += (size_t)snprintf(msg, cap, "From: MAILER-DAEMON@x.example\n"
	    "Content-Type: multipart/report; report-type=delivery-status; "
	    "boundary=b\n\n--b\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; x.example\n\n");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(msg + off, cap - off,
		    "Final-Recipient: rfc822; u%zu@example.org\n"
		    "Action: failed\nStatus: 5.1.1\n\n", i);
	off += (size_t)snprintf(msg + off, cap - off, "--b--\n");
	ck_assert_uint_eq(dsn_parse(p, msg, off, &rep), n);
	ck_assert_str_eq(rep.rcpts[n - 1].rcpt, "u99999@example.org");
	ck_assert_str_eq(rep.rcpts[n - 1].status, "5.1.1");
	ck_assert_msg((double)(clock() - t0) / CLOCKS_PER_SEC < 60,
	    "too slow");
	free(msg);
	dsn_parser_free(p);
}
END_TEST

/*
 * Sendmail's text bounce gives each address its reason, then one
 * transcript for the transaction. The last address's text runs into
 * the transcript: the other recipients' exchanges there are not its
 * reply. A verdict line with a status ("550 5.1.1 <x>... User unknown",
 * or the address bare) is its address's own; and the command a reason
 * answers, shown in the transcript, is its stage.
 */
#define SM_TEXT_HEAD \
	"From: MAILER-DAEMON@a.example\nTo: s@a.example\n" \
	"Subject: Returned mail: see transcript for details\n\n" \
	"   ----- The following addresses had permanent fatal errors -----\n"
#define SM_TRANSCRIPT \
	"\n   ----- Transcript of session follows -----\n" \
	"... while talking to mx.b.example.:\n"

static void
sm_text_case(const char *msg, size_t i, const char *reason,
    const char *status, unsigned decision)
{
	struct dsn_parser *p = dsn_parser_new();
	struct classifier *cl = classifier_new(rules);
	struct dsn_report rep;
	struct dsn_result res;

	ck_assert_uint_eq(dsn_parse(p, msg, strlen(msg), &rep), 2);
	dsn_classify(cl, rules, &rep, i, &res);
	ck_assert_msg(strcmp(reason_name(res.cl.reason), reason) == 0 &&
	    (status == NULL || strcmp(res.cl.status, status) == 0) &&
	    res.cl.decision == decision,
	    "%s: %s %s %u", rep.rcpts[i].rcpt, reason_name(res.cl.reason),
	    res.cl.status, res.cl.decision);
	classifier_free(cl);
	dsn_parser_free(p);
}

START_TEST(test_reason_before_transcript)
{
	static const char two[] = SM_TEXT_HEAD
	    "<k@b.example>\n    (reason: 550 5.1.1 <k@b.example>... "
	    "User unknown)\n<m@b.example>\n    (reason: 552 5.2.2 "
	    "<m@b.example>... Mailbox full)\n" SM_TRANSCRIPT
	    ">>> RCPT To:<k@b.example>\n"
	    "<<< 550 5.1.1 <k@b.example>... User unknown\n"
	    "550 5.1.1 <k@b.example>... User unknown\n"
	    ">>> RCPT To:<m@b.example>\n"
	    "<<< 552 5.2.2 <m@b.example>... Mailbox full\n";
	static const char bare[] = SM_TEXT_HEAD
	    "k@b.example\n    (reason: 550 5.1.1 User unknown)\n"
	    "m@b.example\n    (reason: Remote protocol error)\n" SM_TRANSCRIPT
	    ">>> RCPT To:<k@b.example>\n<<< 550 5.1.1 User unknown\n"
	    "550 5.1.1 k@b.example... User unknown\n>>> DATA\n"
	    "<<< 552 5.2.2 Mailbox full for m@b.example\n"
	    "554 5.0.0 m@b.example... Remote protocol error\n";
	static const char mail[] = SM_TEXT_HEAD
	    "<k@b.example>\n    (reason: 550 User unknown)\n"
	    "<m@b.example>\n    (reason: 550 User unknown)\n" SM_TRANSCRIPT
	    ">>> MAIL From:<s@a.example> SIZE=100\n<<< 550 User unknown\n"
	    "554 5.0.0 Service unavailable\n";

	sm_text_case(two, 1, "mailboxfull", "5.2.2", D_RETRY);
	sm_text_case(two, 0, "userunknown", "5.1.1", D_SUPPRESS);
	sm_text_case(bare, 1, "mailboxfull", "5.2.2", D_RETRY);
	sm_text_case(bare, 0, "userunknown", "5.1.1", D_SUPPRESS);
	/* Our sender refused at MAIL FROM: neither address is gone. */
	sm_text_case(mail, 0, "rejected", NULL, D_ALERT);
	sm_text_case(mail, 1, "rejected", NULL, D_ALERT);
}
END_TEST

/*
 * Exim puts each address on a line of its own above its text, Postfix
 * before it with a colon, Sendmail on a line of its own and the
 * transcript after the last. At the end of DATA one reply refuses
 * every recipient alike: the address is the bounce's label, so the texts are the same reply and do
 * not name their recipient; neither is known to be gone.
 */
START_TEST(test_exim_data_two_rcpts)
{
	static const char msg[] =
	    "From: Mail Delivery System <Mailer-Daemon@a.example>\n"
	    "To: s@a.example\n"
	    "Subject: Mail delivery failed: returning message to sender\n\n"
	    "A message that you sent could not be delivered to one or more "
	    "of its\nrecipients. This is a permanent error. The following "
	    "address(es) failed:\n\n"
	    "  k@b.example\n"
	    "    SMTP error from remote mail server after end of data:\n"
	    "    550 5.1.1 Message rejected: unknown user in message headers\n"
	    "  m@b.example\n"
	    "    SMTP error from remote mail server after end of data:\n"
	    "    550 5.1.1 Message rejected: unknown user in message headers\n";

	static const char postfix[] =
	    "From: MAILER-DAEMON@a.example (Mail Delivery System)\n"
	    "To: s@a.example\n"
	    "Subject: Undelivered Mail Returned to Sender\n\n"
	    "<k@b.example>: host mx.b.example[192.0.2.1] said: 550 5.1.1 "
	    "Message\n    rejected: unknown user in headers (in reply to end "
	    "of DATA command)\n\n"
	    "<m@b.example>: host mx.b.example[192.0.2.1] said: 550 5.1.1 "
	    "Message\n    rejected: unknown user in headers (in reply to end "
	    "of DATA command)\n";
	/* Sendmail: the last address's text runs into the transcript. */
	static const char sendmail[] = SM_TEXT_HEAD
	    "<k@b.example>\n    (reason: 550 5.1.1 Message rejected: unknown "
	    "user in headers)\n"
	    "<m@b.example>\n    (reason: 550 5.1.1 Message rejected: unknown "
	    "user in headers)\n" SM_TRANSCRIPT
	    ">>> DATA\n<<< 550 5.1.1 Message rejected: unknown user in "
	    "headers\n554 5.0.0 Service unavailable\n";

	sm_text_case(msg, 0, "userunknown", "5.1.1", 0);
	sm_text_case(msg, 1, "userunknown", "5.1.1", 0);
	sm_text_case(postfix, 0, "userunknown", "5.1.1", 0);
	sm_text_case(postfix, 1, "userunknown", "5.1.1", 0);
	sm_text_case(sendmail, 0, "userunknown", "5.1.1", 0);
	sm_text_case(sendmail, 1, "userunknown", "5.1.1", 0);
}
END_TEST

/*
 * One parser, one message after another: a bounce a person forwarded in
 * the text (read from the parser's own copy), a Postfix notice with a
 * session transcript (nothing), the forward again, and a message with
 * "In:" and "Out:" lines that is a bounce: each answer its own.
 */
static const char fwd_msg[] =
	"From: Ann <ann@example.net>\nTo: support@example.net\n"
	"Subject: Fwd: Undelivered Mail Returned to Sender\n\n"
	"Can you look?\n\n---------- Forwarded message ---------\n"
	"From: Mail Delivery System <MAILER-DAEMON@mta.example.net>\n"
	"Subject: Undelivered Mail Returned to Sender\n"
	"To: <ann@example.net>\n\n"
	"<max@example.org>: host mx.example.org[192.0.2.30] said: 550 5.1.1\n"
	"    <max@example.org>: Recipient address rejected: User unknown\n"
	"    (in reply to RCPT TO command)\n";
static const char transcript_msg[] =
	"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\n"
	"To: postmaster@mx.example.org\n"
	"Subject: Postfix SMTP server: errors from unknown[192.0.2.9]\n\n"
	"Transcript of session follows.\n\n"
	" In:  RCPT TO:<nobody@example.org>\n"
	" Out: 550 5.1.1 <nobody@example.org>: Recipient address rejected\n";
static const char one_sided_msg[] =
	"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\n"
	"To: ann@example.net\nSubject: Undelivered Mail Returned to Sender\n\n"
	"<uma@example.org>: host mx.example.org said: 550 5.1.1 User unknown\n"
	"Out: of 2 recipients, 1 failed.\n";

START_TEST(test_notices_reuse)
{
	struct dsn_parser *p = dsn_parser_new();
	struct dsn_report rep;
	int round;

	for (round = 0; round < 2; round++) {
		ck_assert_uint_eq(dsn_parse(p, fwd_msg, strlen(fwd_msg), &rep),
		    1);
		ck_assert_str_eq(rep.rcpts[0].rcpt, "max@example.org");
		ck_assert_uint_eq(dsn_parse(p, transcript_msg,
		    strlen(transcript_msg), &rep), 0);
	}
	ck_assert_uint_eq(dsn_parse(p, one_sided_msg, strlen(one_sided_msg),
	    &rep), 1);
	ck_assert_str_eq(rep.rcpts[0].rcpt, "uma@example.org");
	dsn_parser_free(p);
}
END_TEST

/* A 1 MB line in a text bounce: parsed, bounded text. */
START_TEST(test_long_line)
{
	struct dsn_parser *p = dsn_parser_new();
	struct dsn_report rep;
	size_t n = 1024 * 1024;
	char *msg = xmalloc(n + 256), *q = msg;

	q += sprintf(q, "From: MAILER-DAEMON@x.example\nSubject: failure "
	    "notice\n\n<k@example.org>:\n");
	memset(q, 'x', n);
	q += n;
	ck_assert_uint_eq(dsn_parse(p, msg, (size_t)(q - msg), &rep), 1);
	ck_assert_str_eq(rep.rcpts[0].rcpt, "k@example.org");
	ck_assert_uint_le(rep.rcpts[0].diaglen, 64 * 1024);
	free(msg);
	dsn_parser_free(p);
}
END_TEST

/*
 * t/data/bounces/shapes/: bounces of shapes the corpus lacks, each
 * with every recipient dsn_parse() must find (and no other), its reason
 * and its decision, in index.tsv ("file<TAB>recipient<TAB>reason<TAB>
 * decision"); "file<TAB>-" when it must find none. A warning
 * ("warning-*"), an auto-reply ("vacation-*") or a message that is not a
 * bounce ("not-*") never suppresses, whatever the index says.
 */
#define SHAPES_DIR	"t/data/bounces/shapes"
#define MAX_SHAPE	(256 * 1024)

/* The index's rows for file, one "rcpt\treason\tdecision\n" each. */
static char *
shape_rows(const char *index, const char *file)
{
	size_t fl = strlen(file), cap = 4096, len = 0;
	char *out = xmalloc(cap);
	const char *p = index, *le;

	out[0] = '\0';
	for (; *p != '\0'; p = *le ? le + 1 : le) {
		le = strchr(p, '\n');
		if (le == NULL)
			le = p + strlen(p);
		if (*p == '#' || (size_t)(le - p) <= fl + 1 ||
		    strncmp(p, file, fl) != 0 || p[fl] != '\t')
			continue;
		while (len + (size_t)(le - p) + 2 > cap)
			out = xrealloc(out, cap *= 2);
		memcpy(out + len, p + fl + 1, (size_t)(le - p) - fl - 1);
		len += (size_t)(le - p) - fl - 1;
		out[len++] = '\n';
		out[len] = '\0';
	}
	return out;
}

static int
shape_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What dsn_classify() says of every recipient of msg, as shape_rows(). */
static char *
shape_got(const char *file, const char *msg, size_t len)
{
	struct dsn_parser *p = dsn_parser_new();
	struct classifier *cl = classifier_new(rules);
	struct dsn_report rep;
	struct dsn_result res;
	char dec[64], **rows, *out;
	size_t n, i, total = 1;

	n = dsn_parse(p, msg, len, &rep);
	rows = xmalloc((n ? n : 1) * sizeof(*rows));
	for (i = 0; i < n; i++) {
		dsn_classify(cl, rules, &rep, i, &res);
		decision_format(res.cl.decision, dec, sizeof(dec));
		if ((strncmp(file, "warning-", 8) == 0 ||
		    strncmp(file, "vacation-", 9) == 0 ||
		    strncmp(file, "not-", 4) == 0))
			ck_assert_msg(!(res.cl.decision & D_SUPPRESS),
			    "%s: %s suppressed", file, rep.rcpts[i].rcpt);
		rows[i] = xasprintf("%s\t%s\t%s\n", rep.rcpts[i].rcpt,
		    reason_name(res.cl.reason), dec);
		total += strlen(rows[i]);
	}
	qsort(rows, n, sizeof(*rows), shape_cmp);
	out = xmalloc(total + 2);
	strcpy(out, n == 0 ? "-\n" : "");	/* none, as the index says it */
	for (i = 0; i < n; i++) {
		strcat(out, rows[i]);
		free(rows[i]);
	}
	free(rows);
	classifier_free(cl);
	dsn_parser_free(p);
	return out;
}

static char *
slurp(const char *path, size_t max, size_t *lenp)
{
	FILE *fp = fopen(path, "r");
	char *buf;

	if (fp == NULL)
		return NULL;
	buf = xmalloc(max + 1);
	*lenp = fread(buf, 1, max, fp);
	buf[*lenp] = '\0';
	fclose(fp);
	return buf;
}

/* Every sample in the directory has its rows in the index. */
static void
shapes_indexed(const char *src, const char *index)
{
	char *dir = xasprintf("%s/" SHAPES_DIR, src), *rows;
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t n;

	ck_assert_msg(d != NULL, "no %s", dir);
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".eml") != 0)
			continue;
		rows = shape_rows(index, de->d_name);
		ck_assert_msg(rows[0] != '\0', "%s is not in index.tsv",
		    de->d_name);
		free(rows);
	}
	closedir(d);
	free(dir);
}

START_TEST(test_shapes)
{
	const char *src = testlib_env("BOUNCER_SRCDIR", ".");
	char *path, *index, *msg, *want, *got, *file, *seen = NULL;
	const char *p, *le;
	size_t len, n = 0;

	ck_assert_ptr_nonnull(rules);
	path = xasprintf("%s/" SHAPES_DIR "/index.tsv", src);
	index = slurp(path, 1024 * 1024, &len);
	ck_assert_msg(index != NULL, "no %s", path);
	free(path);
	for (p = index; *p != '\0'; p = *le ? le + 1 : le) {
		le = p + strcspn(p, "\n");
		if (*p == '#' || strchr(p, '\t') == NULL ||
		    strchr(p, '\t') > le)
			continue;
		file = xasprintf("%.*s", (int)strcspn(p, "\t"), p);
		if (seen != NULL && strcmp(seen, file) == 0) {
			free(file);
			continue;	/* the file's next recipient */
		}
		free(seen);
		seen = file;
		path = xasprintf("%s/" SHAPES_DIR "/%s", src, file);
		msg = slurp(path, MAX_SHAPE, &len);
		ck_assert_msg(msg != NULL, "no %s", path);
		want = shape_rows(index, file);
		got = shape_got(file, msg, len);
		ck_assert_msg(strcmp(want, got) == 0,
		    "%s: want\n%sgot\n%s", file, want, got);
		free(want);
		free(got);
		free(msg);
		free(path);
		n++;
	}
	free(seen);
	ck_assert_uint_ge(n, 50);
	shapes_indexed(src, index);
	free(index);
}
END_TEST

/* Real bounces from ../shared/corpus, when it is there. */
struct corpus_case {
	const char	*path;
	const char	*rcpt;
	const char	*reason;
};

static const struct corpus_case corpus_cases[] = {
	{ "maildir/bsd/lhost-postfix-02.eml", "userunknown@example.co.jp",
	  "userunknown" },
	{ "maildir/bsd/lhost-qmail-02.eml", "userunknown@example.jp",
	  "userunknown" },
	{ "maildir/bsd/lhost-sendmail-02.eml", "userunknown@example.org",
	  "userunknown" },
	{ "maildir/dos/lhost-exim-08.eml", NULL, NULL },
	{ "maildir/bsd/arf-01.eml", "redacted@example.net", "feedback" },
	{ "maildir/bsd/rfc3834-01.eml", "kijitora@example.net", "vacation" },
	{ "maildir/not/is-not-bounce-01.eml", NULL, NULL },
};

START_TEST(test_corpus)
{
	const struct corpus_case *c = &corpus_cases[_i];
	const char *shared = testlib_env("BOUNCER_SHARED", "../shared");
	struct dsn_parser *p;
	struct dsn_report rep;
	struct dsn_result res;
	struct classifier *cl;
	char path[1024], *buf;
	size_t len, i;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/corpus/%s", shared, c->path);
	if ((fp = fopen(path, "r")) == NULL || rules == NULL) {
		if (fp != NULL)
			fclose(fp);
		return;		/* no corpus here: nothing to check */
	}
	buf = xmalloc(4 * 1024 * 1024);
	len = fread(buf, 1, 4 * 1024 * 1024, fp);
	fclose(fp);
	p = dsn_parser_new();
	cl = classifier_new(rules);
	dsn_parse(p, buf, len, &rep);
	if (c->rcpt == NULL) {
		if (strstr(c->path, "not/") != NULL)
			ck_assert_uint_eq(rep.nrcpts, 0);
	} else {
		for (i = 0; i < rep.nrcpts; i++)
			if (strcmp(rep.rcpts[i].rcpt, c->rcpt) == 0)
				break;
		ck_assert_msg(i < rep.nrcpts, "%s: %s not found", c->path,
		    c->rcpt);
		dsn_classify(cl, rules, &rep, i, &res);
		ck_assert_str_eq(reason_name(res.cl.reason), c->reason);
	}
	classifier_free(cl);
	dsn_parser_free(p);
	free(buf);
}
END_TEST

static Suite *
dsn_suite(void)
{
	Suite *s = suite_create("dsn");
	TCase *tc;

	tc = tcase_create("formats");
	tcase_add_unchecked_fixture(tc, load_rules, unload_rules);
	tcase_add_loop_test(tc, test_formats, 0, NCASES(cases));
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_sender_never_suppressed);
	tcase_add_test(tc, test_reason_before_transcript);
	tcase_add_test(tc, test_exim_data_two_rcpts);
	tcase_add_loop_test(tc, test_ses, 0, NCASES(ses_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_many_rcpts);
	tcase_add_test(tc, test_long_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("shapes");
	tcase_add_unchecked_fixture(tc, load_rules, unload_rules);
	tcase_add_test(tc, test_shapes);
	tcase_add_test(tc, test_notices_reuse);
	suite_add_tcase(s, tc);

	tc = tcase_create("corpus");
	tcase_add_unchecked_fixture(tc, load_rules, unload_rules);
	tcase_add_loop_test(tc, test_corpus, 0, NCASES(corpus_cases));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(dsn_suite());
}
