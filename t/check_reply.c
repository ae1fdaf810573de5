/*
 * check_reply.c -- the reply parser, for every form MTAs log a reply in
 *
 * Each case gives one input and every field reply_parse() must fill
 * in: code, enhanced status, stage, remote host and address, and the
 * text with wrappers and continuation prefixes removed. The cases are
 * grouped by the MTA that writes the form.
 *
 * See also: reply.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "reply.h"
#include "testlib.h"
#include "xalloc.h"

struct reply_case {
	const char	*name;
	const char	*in;
	int		 code;
	const char	*status;
	enum smtp_stage	 stage;
	const char	*host;
	const char	*ip;
	const char	*text;
};

/* Postfix's "host X[ip] said: ... (in reply to C command)", every stage. */
static const struct reply_case postfix_cases[] = {
	{ "multi-line rcpt",
	  "host mx.example[192.0.2.5] said: 550-5.1.1 A 550-5.1.1 B "
	  "550 5.1.1 C (in reply to RCPT TO command)",
	  550, "5.1.1", STAGE_RCPT, "mx.example", "192.0.2.5", "A B C" },
	{ "rcpt 4xx",
	  "host mx.example.com[192.0.2.5] said: 450 4.2.1 Slow down "
	  "(in reply to RCPT TO command)",
	  450, "4.2.1", STAGE_RCPT, "mx.example.com", "192.0.2.5",
	  "Slow down" },
	{ "mail from",
	  "host mx.example.com[192.0.2.5] said: 553 5.7.1 <a@b.example>: "
	  "Sender address rejected (in reply to MAIL FROM command)",
	  553, "5.7.1", STAGE_MAIL, "mx.example.com", "192.0.2.5",
	  "<a@b.example>: Sender address rejected" },
	{ "data",
	  "host mx.example.com[192.0.2.5] said: 554 5.5.1 Error: no valid "
	  "recipients (in reply to DATA command)",
	  554, "5.5.1", STAGE_DATA, "mx.example.com", "192.0.2.5",
	  "Error: no valid recipients" },
	{ "end of data",
	  "host mx.example.com[192.0.2.5] said: 552 5.3.4 Message size "
	  "exceeds fixed limit (in reply to end of DATA command)",
	  552, "5.3.4", STAGE_EOD, "mx.example.com", "192.0.2.5",
	  "Message size exceeds fixed limit" },
	{ "ehlo",
	  "host mx.example.com[192.0.2.5] said: 501 5.5.2 <x>: Helo command "
	  "rejected (in reply to EHLO command)",
	  501, "5.5.2", STAGE_HELO, "mx.example.com", "192.0.2.5",
	  "<x>: Helo command rejected" },
	{ "helo",
	  "host mx.example.com[192.0.2.5] said: 504 5.5.2 Need fully-"
	  "qualified hostname (in reply to HELO command)",
	  504, "5.5.2", STAGE_HELO, "mx.example.com", "192.0.2.5",
	  "Need fully-qualified hostname" },
	{ "greeting refused",
	  "host mx.example.com[192.0.2.5] refused to talk to me: 554 5.7.1 "
	  "Client host blocked",
	  554, "5.7.1", STAGE_CONNECT, "mx.example.com", "192.0.2.5",
	  "Client host blocked" },
	{ "greeting refused, no status",
	  "host mx.example.com[192.0.2.5] refused to talk to me: 421 "
	  "mx.example.com Service not available",
	  421, "", STAGE_CONNECT, "mx.example.com", "192.0.2.5",
	  "mx.example.com Service not available" },
	{ "ipv6 address",
	  "host mx.example.com[2001:db8::25] said: 550 5.1.1 No such user "
	  "(in reply to RCPT TO command)",
	  550, "5.1.1", STAGE_RCPT, "mx.example.com", "2001:db8::25",
	  "No such user" },
	{ "multi-line, no status",
	  "host mx.example.com[192.0.2.5] said: 550-Line one 550-line two "
	  "550 line three (in reply to RCPT TO command)",
	  550, "", STAGE_RCPT, "mx.example.com", "192.0.2.5",
	  "Line one line two line three" },
};

/* Postfix's own texts: no remote reply, or one behind a note. */
static const struct reply_case postfix_own_cases[] = {
	{ "host not found",
	  "Host or domain name not found. Name service error for "
	  "name=nonexistent.example type=MX: Host not found, try again",
	  0, "", STAGE_UNKNOWN, "", "",
	  "Host or domain name not found. Name service error for "
	  "name=nonexistent.example type=MX: Host not found, try again" },
	{ "connect timed out",
	  "connect to mx.slow.example.net[192.0.2.50]:25: Connection timed out",
	  0, "", STAGE_CONNECT, "mx.slow.example.net", "192.0.2.50",
	  "connect to mx.slow.example.net[192.0.2.50]:25: Connection "
	  "timed out" },
	{ "lost connection at greeting",
	  "lost connection with mx.example.com[192.0.2.5] while receiving "
	  "the initial server greeting",
	  0, "", STAGE_CONNECT, "mx.example.com", "192.0.2.5",
	  "lost connection with mx.example.com[192.0.2.5] while receiving "
	  "the initial server greeting" },
	{ "lost connection at rcpt",
	  "lost connection with mx.example.com[192.0.2.5] while sending "
	  "RCPT TO",
	  0, "", STAGE_RCPT, "mx.example.com", "192.0.2.5",
	  "lost connection with mx.example.com[192.0.2.5] while sending "
	  "RCPT TO" },
	{ "lost connection at ehlo",
	  "lost connection with mx.example.com[192.0.2.5] while performing "
	  "the EHLO handshake",
	  0, "", STAGE_HELO, "mx.example.com", "192.0.2.5",
	  "lost connection with mx.example.com[192.0.2.5] while performing "
	  "the EHLO handshake" },
	{ "timed out at end of data",
	  "conversation with mx.example.com[192.0.2.5] timed out while "
	  "sending end of data -- message may be sent more than once",
	  0, "", STAGE_EOD, "mx.example.com", "192.0.2.5",
	  "conversation with mx.example.com[192.0.2.5] timed out while "
	  "sending end of data -- message may be sent more than once" },
	{ "suspended, connect",
	  "delivery temporarily suspended: connect to mx.example.com"
	  "[192.0.2.5]:25: Connection refused",
	  0, "", STAGE_CONNECT, "mx.example.com", "192.0.2.5",
	  "connect to mx.example.com[192.0.2.5]:25: Connection refused" },
	{ "suspended, refused to talk",
	  "delivery temporarily suspended: host mx.example.com[192.0.2.5] "
	  "refused to talk to me: 421 4.7.0 Try again later",
	  421, "4.7.0", STAGE_CONNECT, "mx.example.com", "192.0.2.5",
	  "Try again later" },
	{ "loops back",
	  "mail for example.com loops back to myself",
	  0, "", STAGE_UNKNOWN, "", "",
	  "mail for example.com loops back to myself" },
};

static const struct reply_case exim_cases[] = {
	{ "rcpt",
	  "SMTP error from remote mail server after RCPT TO:<x@example.org>: "
	  "550 5.1.1 <x@example.org>: Recipient address rejected: User unknown",
	  550, "5.1.1", STAGE_RCPT, "", "",
	  "<x@example.org>: Recipient address rejected: User unknown" },
	{ "mail from with parameters",
	  "SMTP error from remote mail server after MAIL FROM:<a@b.example> "
	  "SIZE=1234: 550 5.7.1 Sender denied",
	  550, "5.7.1", STAGE_MAIL, "", "", "Sender denied" },
	{ "pipelined mail from, no status",
	  "SMTP error from remote mail server after pipelined MAIL "
	  "FROM:<a@b.example>: 550 No",
	  550, "", STAGE_MAIL, "", "", "No" },
	{ "end of data",
	  "SMTP error from remote mail server after end of data: "
	  "550 5.7.1 Message rejected as spam",
	  550, "5.7.1", STAGE_EOD, "", "", "Message rejected as spam" },
	{ "end of data, the reply naming the recipient",
	  "SMTP error from remote mail server after end of data: "
	  "550 5.1.1 <x@example.org>: user does not exist",
	  550, "5.1.1", STAGE_EOD, "", "",
	  "<x@example.org>: user does not exist" },
	{ "mail from with parameters, the reply naming the sender",
	  "SMTP error from remote mail server after MAIL FROM:<a@b.example> "
	  "SIZE=1234: 550 5.7.1 <a@b.example>: Sender denied",
	  550, "5.7.1", STAGE_MAIL, "", "", "<a@b.example>: Sender denied" },
	{ "initial connection",
	  "SMTP error from remote mail server after initial connection: "
	  "554 mx.example.org ESMTP not accepting messages",
	  554, "", STAGE_CONNECT, "", "",
	  "mx.example.org ESMTP not accepting messages" },
	{ "ehlo",
	  "SMTP error from remote mail server after EHLO client.example: "
	  "550 Bad HELO",
	  550, "", STAGE_HELO, "", "", "Bad HELO" },
	{ "dsn host form",
	  "host mx.example.org [192.0.2.1]: 550 5.1.1 <x@example.org>: "
	  "Recipient address rejected",
	  550, "5.1.1", STAGE_UNKNOWN, "mx.example.org", "192.0.2.1",
	  "<x@example.org>: Recipient address rejected" },
	{ "after rcpt, dsn host form",
	  "SMTP error from remote mail server after RCPT TO:<x@example.org>: "
	  "host mx.example.org [192.0.2.1]: 550 5.1.1 <x@example.org>: "
	  "User unknown",
	  550, "5.1.1", STAGE_RCPT, "mx.example.org", "192.0.2.1",
	  "<x@example.org>: User unknown" },
	{ "log H= form",
	  "H=mx.example.org [192.0.2.1]: SMTP error from remote mail server "
	  "after RCPT TO:<x@example.org>: 452 4.2.2 Mailbox full",
	  452, "4.2.2", STAGE_RCPT, "mx.example.org", "192.0.2.1",
	  "Mailbox full" },
};

static const struct reply_case sendmail_cases[] = {
	{ "reply:",
	  "SMTP reply: 550 5.1.1 <bob@example.org>... User unknown",
	  550, "5.1.1", STAGE_UNKNOWN, "", "",
	  "<bob@example.org>... User unknown" },
	{ "transcript rcpt",
	  ">>> RCPT To:<bob@example.org> <<< 550 5.1.1 <bob@example.org>... "
	  "User unknown",
	  550, "5.1.1", STAGE_RCPT, "", "",
	  "<bob@example.org>... User unknown" },
	{ "transcript after a note",
	  "... while talking to mx.example.org.: >>> DATA <<< 554 5.7.1 "
	  "Content rejected",
	  554, "5.7.1", STAGE_DATA, "", "", "Content rejected" },
	{ "transcript mail",
	  ">>> MAIL From:<a@b.example> SIZE=1234 <<< 553 5.1.8 Domain of "
	  "sender address does not exist",
	  553, "5.1.8", STAGE_MAIL, "", "",
	  "Domain of sender address does not exist" },
	{ "deferred",
	  "Deferred: 421 4.7.0 Try again later",
	  421, "4.7.0", STAGE_UNKNOWN, "", "", "Try again later" },
	{ "deferred, no status",
	  "Deferred: 451 Temporary local problem",
	  451, "", STAGE_UNKNOWN, "", "", "Temporary local problem" },
};

static const struct reply_case qmail_cases[] = {
	{ "bracketed address in front",
	  "<x@example.org>: 192.0.2.20 does not like recipient. Remote host "
	  "said: 550 5.1.1 No such user Giving up on 192.0.2.20.",
	  550, "5.1.1", STAGE_RCPT, "", "192.0.2.20", "No such user" },
	{ "does not like recipient",
	  "x@example.org: 192.0.2.20 does not like recipient. Remote host "
	  "said: 550 5.1.1 No such user Giving up on 192.0.2.20.",
	  550, "5.1.1", STAGE_RCPT, "", "192.0.2.20", "No such user" },
	{ "does not like recipient, no status",
	  "mai@yahoo.co.jp: 192.0.2.20 does not like recipient. Remote host "
	  "said: 550 Requested action not taken: mailbox unavailable "
	  "Giving up on 192.0.2.20.",
	  550, "", STAGE_RCPT, "", "192.0.2.20",
	  "Requested action not taken: mailbox unavailable" },
	{ "sender rejected",
	  "bounce@news.example.com: Connected to 192.0.2.20 but sender was "
	  "rejected. Remote host said: 550 Access denied",
	  550, "", STAGE_MAIL, "", "192.0.2.20", "Access denied" },
	{ "greeting failed",
	  "x@example.org: Connected to 192.0.2.20 but greeting failed. "
	  "Remote host said: 421 busy",
	  421, "", STAGE_CONNECT, "", "192.0.2.20", "busy" },
	{ "name rejected",
	  "x@example.org: Connected to 192.0.2.20 but my name was rejected. "
	  "Remote host said: 550 Bad HELO",
	  550, "", STAGE_HELO, "", "192.0.2.20", "Bad HELO" },
	{ "yahoo's command after the reply",
	  "Remote host said: 550 5.1.1 User unknown  [MAIL_FROM]",
	  550, "5.1.1", STAGE_MAIL, "", "", "User unknown" },
	{ "yahoo's rcpt",
	  "Remote host said: 550 5.1.1 <x@example.org>... User Unknown "
	  "[RCPT_TO]",
	  550, "5.1.1", STAGE_RCPT, "", "", "<x@example.org>... User Unknown" },
	{ "after the message",
	  "x@example.org: 192.0.2.20 failed after I sent the message. Remote "
	  "host said: 554 5.7.1 Spam Giving up on 192.0.2.20.",
	  554, "5.7.1", STAGE_EOD, "", "192.0.2.20", "Spam" },
	{ "(#4.4.1)",
	  "ken@yahoo.co.jp: Sorry, I wasn't able to establish an SMTP "
	  "connection. (#4.4.1) I'm not going to try again; this message has "
	  "been in the queue too long.",
	  0, "4.4.1", STAGE_UNKNOWN, "", "",
	  "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1) "
	  "I'm not going to try again; this message has been in the queue "
	  "too long." },
};

/* DSN diagnostic codes, bare replies, and what must not confuse them. */
static const struct reply_case bare_cases[] = {
	{ "dsn smtp;",
	  "smtp; 550 5.1.1 <bob@example.org>: User unknown",
	  550, "5.1.1", STAGE_UNKNOWN, "", "",
	  "<bob@example.org>: User unknown" },
	{ "dsn SMTP; no space",
	  "SMTP;550 5.1.1 User unknown",
	  550, "5.1.1", STAGE_UNKNOWN, "", "", "User unknown" },
	{ "dsn multi-line",
	  "smtp; 550-5.1.1 A 550 5.1.1 B",
	  550, "5.1.1", STAGE_UNKNOWN, "", "", "A B" },
	{ "dsn X-Postfix",
	  "X-Postfix; host mx.example.com[192.0.2.5] said: 550 5.1.1 unknown "
	  "(in reply to RCPT TO command)",
	  550, "5.1.1", STAGE_RCPT, "mx.example.com", "192.0.2.5", "unknown" },
	{ "bare",
	  "550 5.1.1 user not found",
	  550, "5.1.1", STAGE_UNKNOWN, "", "", "user not found" },
	{ "bare, #status",
	  "550 #5.1.1 Address rejected",
	  550, "5.1.1", STAGE_UNKNOWN, "", "", "Address rejected" },
	{ "bare, long status",
	  "550 5.7.26 Unauthenticated email",
	  550, "5.7.26", STAGE_UNKNOWN, "", "", "Unauthenticated email" },
	{ "no status",
	  "550 Requested action not taken: mailbox unavailable",
	  550, "", STAGE_UNKNOWN, "", "",
	  "Requested action not taken: mailbox unavailable" },
	{ "no status, 4xx",
	  "421 Service not available, closing transmission channel",
	  421, "", STAGE_UNKNOWN, "", "",
	  "Service not available, closing transmission channel" },
	{ "no code",
	  "Delay reason: mailbox is full",
	  0, "", STAGE_UNKNOWN, "", "", "Delay reason: mailbox is full" },
	{ "status only later in the text",
	  "Mailbox full (#5.2.2)",
	  0, "5.2.2", STAGE_UNKNOWN, "", "", "Mailbox full (#5.2.2)" },
	{ "crlf and tabs folded",
	  "550-5.1.1 First\r\n550-5.1.1\tsecond  line\r\n550 5.1.1 third\r\n",
	  550, "5.1.1", STAGE_UNKNOWN, "", "", "First second line third" },
	{ "tabs in a wrapper",
	  "host\tmx.example.com[192.0.2.5] said:\t550 5.1.1 One\r\n\t Two "
	  "(in reply to RCPT\tTO command)",
	  550, "5.1.1", STAGE_RCPT, "mx.example.com", "192.0.2.5", "One Two" },
	{ "ip is not a status",
	  "550 Mail from 5.1.1.1 rejected",
	  550, "", STAGE_UNKNOWN, "", "", "Mail from 5.1.1.1 rejected" },
	{ "ip of the reply's class is not a status",
	  "451 Your address 4.4.1.20 is listed",
	  451, "", STAGE_UNKNOWN, "", "", "Your address 4.4.1.20 is listed" },
	{ "ip after a status",
	  "550 5.7.1 Mail from IP 192.0.2.11 was rejected",
	  550, "5.7.1", STAGE_UNKNOWN, "", "",
	  "Mail from IP 192.0.2.11 was rejected" },
	{ "ip after the status",
	  "421 4.3.2 Try 4.2.1.5 later",
	  421, "4.3.2", STAGE_UNKNOWN, "", "", "Try 4.2.1.5 later" },
	{ "version number is not a status",
	  "554 Filter 5.7.1.3 rejected it",
	  554, "", STAGE_UNKNOWN, "", "", "Filter 5.7.1.3 rejected it" },
	{ "status of another class ignored",
	  "550 Mail from 4.4.1 rejected",
	  550, "", STAGE_UNKNOWN, "", "", "Mail from 4.4.1 rejected" },
	{ "google relay",
	  "PERM_FAILURE: SMTP Error (state 12): 550 5.7.1 Blocked",
	  550, "5.7.1", STAGE_UNKNOWN, "", "", "Blocked" },
	{ "code only", "550", 550, "", STAGE_UNKNOWN, "", "", "" },
	{ "code and status only", "550 5.1.1 ",
	  550, "5.1.1", STAGE_UNKNOWN, "", "", "" },
	{ "empty", "", 0, "", STAGE_UNKNOWN, "", "", "" },
	{ "blank", " \t\r\n ", 0, "", STAGE_UNKNOWN, "", "", "" },
	{ "half a wrapper", "host mx[",
	  0, "", STAGE_UNKNOWN, "", "", "host mx[" },
	{ "empty dsn", "smtp;", 0, "", STAGE_UNKNOWN, "", "", "" },
};

/*
 * A reply quoted inside a reporter's words: a notice's "Reason:",
 * Exchange's "Remote Server returned", the exceptions of mail
 * libraries, an Exim wrapper after other words. The reply starts at
 * the server's words; the reporter's words in front are not read.
 */
/* Quoting damage from pages, payloads and logs that escape the text. */
static const struct reply_case damage_cases[] = {
	{ "HTML entities",
	  "550 5.1.1 &lt;bob@example.org&gt;: Recipient address rejected",
	  550, "5.1.1", STAGE_UNKNOWN, "", "",
	  "<bob@example.org>: Recipient address rejected" },
	{ "HTML entities escaped twice",
	  "550 5.1.1 &amp;lt;bob@example.org&amp;gt;: User unknown",
	  550, "5.1.1", STAGE_UNKNOWN, "", "", "<bob@example.org>: User unknown" },
	{ "numeric entities and a line feed",
	  "550 5.1.1 the recipient&#39;s address&#10;",
	  550, "5.1.1", STAGE_UNKNOWN, "", "", "the recipient's address" },
	{ "any numeric reference, a tab a space",
	  "550 5.1.1 &lt;bob&#64;example.org&#x3E;:&#9;User&nbsp;unknown &#8216;x&#8217;",
	  550, "5.1.1", STAGE_UNKNOWN, "", "",
	  "<bob@example.org>: User unknown \xe2\x80\x98x\xe2\x80\x99" },
	{ "references that are none stay",
	  "550 5.1.1 a &#0; b &#xD800; c &#; d &amp e &#12345678;",
	  550, "5.1.1", STAGE_UNKNOWN, "", "",
	  "a &#0; b &#xD800; c &#; d &amp e &#12345678;" },
	{ "JSON escapes",
	  "550-5.1.1 Please try\\n550-5.1.1 the recipient\\u0027s address \\\"x\\\"",
	  550, "5.1.1", STAGE_UNKNOWN, "", "", "Please try the recipient's address \"x\"" },
	{ "<br> between lines",
	  "550-5.1.1 A<br>550 5.1.1 B",
	  550, "5.1.1", STAGE_UNKNOWN, "", "", "A B" },
	{ "quoted whole",
	  "\"550 5.1.1 <bob@example.org>: User unknown\"",
	  550, "5.1.1", STAGE_UNKNOWN, "", "", "<bob@example.org>: User unknown" },
	{ "quoted whole, a Postfix wrapper inside",
	  "\"host mx.example.org[192.0.2.5] said: 550 5.1.1 User unknown (in "
	  "reply to end of DATA command)\"",
	  550, "5.1.1", STAGE_EOD, "mx.example.org", "192.0.2.5", "User unknown" },
	{ "Exchange Online's id after the stage",
	  "550 5.1.1 User unknown (in reply to end of DATA command) "
	  "[BN8NAM11FT066.eop-nam11.prod.protection.outlook.com]",
	  550, "5.1.1", STAGE_EOD, "", "", "User unknown" },
	{ "Exchange Online's id, time and hex id",
	  "550 5.5.0 Requested action not taken: mailbox unavailable "
	  "[BN8NAM11FT045.eop-nam11.prod.protection.outlook.com "
	  "2024-03-01T10:14:33.123Z 08DC3A2B1C0D9E8F]",
	  550, "5.5.0", STAGE_UNKNOWN, "", "",
	  "Requested action not taken: mailbox unavailable" },
	{ "an IP in brackets stays",
	  "550 5.7.1 Client host blocked [192.0.2.5]",
	  550, "5.7.1", STAGE_UNKNOWN, "", "", "Client host blocked [192.0.2.5]" },
	{ "words after a host in brackets stay",
	  "550 5.1.1 User unknown [mx.example.org sender address rejected]",
	  550, "5.1.1", STAGE_UNKNOWN, "", "",
	  "User unknown [mx.example.org sender address rejected]" },
	{ "words in brackets stay",
	  "550 5.7.1 Rejected [see policy.example.org/why please]",
	  550, "5.7.1", STAGE_UNKNOWN, "", "",
	  "Rejected [see policy.example.org/why please]" },
	{ "the stage cut short",
	  "550 5.1.1 User unknown (in reply to MAIL FROM...",
	  550, "5.1.1", STAGE_MAIL, "", "", "User unknown" },
	{ "the stage cut short inside \"end of DATA\"",
	  "550 5.1.1 User unknown (in reply to end of",
	  550, "5.1.1", STAGE_EOD, "", "", "User unknown" },
	{ "an ellipsis",
	  "550 5.1.1 <bob@example.org>: Recipient address rejected: User unkn\xe2\x80\xa6",
	  550, "5.1.1", STAGE_UNKNOWN, "", "",
	  "<bob@example.org>: Recipient address rejected: User unkn" },
	{ "a backslash that escapes nothing known stays",
	  "550 5.7.1 path C:\\mail\\x rejected",
	  550, "5.7.1", STAGE_UNKNOWN, "", "", "path C:\\mail\\x rejected" },
};

static const struct reply_case embedded_cases[] = {
	{ "JSON member",
	  "{\"event\":\"deferred\",\"response\":\"421 4.7.0 Try again "
	  "later\",\"attempt\":\"2\"}",
	  421, "4.7.0", STAGE_UNKNOWN, "", "", "Try again later" },
	{ "JSON member, smtp; and a space",
	  "\"diagnosticCode\": \"smtp; 550 5.1.1 user unknown\"",
	  550, "5.1.1", STAGE_UNKNOWN, "", "", "user unknown" },
	{ "key=value",
	  "raw_reason=\"smtp;452 4.2.2 Mailbox full\" bounce_class=22",
	  452, "4.2.2", STAGE_UNKNOWN, "", "", "Mailbox full" },
	{ "a label and smtp;",
	  "Type: HardBounce Details: smtp;550 5.1.1 <a@example.org>... User "
	  "unknown",
	  550, "5.1.1", STAGE_UNKNOWN, "", "", "<a@example.org>... User unknown" },
	{ "Exchange message trace LED=",
	  "Reason: [{LED=550 5.1.10 RESOLVER.ADR.RecipientNotFound; not "
	  "found};{MSG=};{FQDN=};{IP=};{LRT=}]",
	  550, "5.1.10", STAGE_UNKNOWN, "", "",
	  "RESOLVER.ADR.RecipientNotFound; not found" },
	{ "PowerMTA accounting row",
	  "b,2024-03-01 10:14:33+0000,2024-03-01 10:14:31+0000,s@example.net,"
	  "a@example.org,,failed,5.1.1 (bad destination mailbox address),"
	  "smtp;550 5.1.1 <a@example.org>: User unknown,mx.example.org "
	  "(192.0.2.4),smtp,pool1,bad-mailbox",
	  550, "5.1.1", STAGE_UNKNOWN, "", "", "<a@example.org>: User unknown" },
	{ "PowerMTA accounting row, the reply quoted",
	  "t,2024-03-01 10:16:12+0000,2024-03-01 10:15:11+0000,s@example.net,"
	  "a@example.org,,relayed,4.2.2 (mailbox full),\"smtp;452 4.2.2 Full, "
	  "try later\",mx.example.org (192.0.2.4),smtp",
	  452, "4.2.2", STAGE_UNKNOWN, "", "", "Full, try later" },
	{ "JSON member with escaped quotes inside",
	  "{\"event\":\"bounce\",\"reason\":\"550 5.1.1 \\\"s@example.net\\\" "
	  "Sender address rejected\",\"type\":\"bounce\"}",
	  550, "5.1.1", STAGE_UNKNOWN, "", "",
	  "\"s@example.net\" Sender address rejected" },
	{ "key=value, an apostrophe inside",
	  "reason='550 5.1.1 sender's domain has no MX' type=bounce",
	  550, "5.1.1", STAGE_UNKNOWN, "", "",
	  "sender's domain has no MX" },
	{ "JSON member with escaped quotes inside, a key after it",
	  "{\"reason\":\"550 5.1.1 \\\"Sender address <s@example.net>\\\" is "
	  "not valid: user unknown\",\"email\":\"a@example.org\"}",
	  550, "5.1.1", STAGE_UNKNOWN, "", "",
	  "\"Sender address <s@example.net>\" is not valid: user unknown" },
	{ "JSON member, an escaped quote before a comma",
	  "{\"response\":\"550 5.1.1 From \\\"s@example.net\\\", sender "
	  "unknown\", \"event\":\"bounce\"}",
	  550, "5.1.1", STAGE_UNKNOWN, "", "",
	  "From \"s@example.net\", sender unknown" },
	{ "PowerMTA accounting row, doubled quotes in the quoted reply",
	  "b,2024-03-01 10:14:33+0000,2024-03-01 10:14:31+0000,s@example.net,"
	  "a@example.org,,failed,5.1.1 (bad destination mailbox address),"
	  "\"smtp;550 5.1.1 Sender \"\"s@example.net\"\" unknown\",mx.example.org "
	  "(192.0.2.4),smtp",
	  550, "5.1.1", STAGE_UNKNOWN, "", "",
	  "Sender \"\"s@example.net\"\" unknown" },
	{ "a key with no reply after it",
	  "{\"reason\":\"bounced address\",\"status\":\"x\"}",
	  0, "", STAGE_UNKNOWN, "", "",
	  "{\"reason\":\"bounced address\",\"status\":\"x\"}" },
	{ "notice, Reason:",
	  "Your message to ann@example.org was not delivered. Reason: 550 "
	  "5.2.1 Blocked",
	  550, "5.2.1", STAGE_UNKNOWN, "", "", "Blocked" },
	{ "notice, Reason: 535",
	  "Your message to ann@example.org was not delivered. Reason: 535 "
	  "Invalid account or password",
	  535, "", STAGE_UNKNOWN, "", "", "Invalid account or password" },
	{ "notice, Exim wrapper",
	  "Your message to ann@example.org was not delivered. Reason: SMTP "
	  "error from remote mail server after MAIL FROM:<s@example.net> "
	  "SIZE=2048: 550 5.1.1 User unknown",
	  550, "5.1.1", STAGE_MAIL, "", "", "User unknown" },
	{ "dma, final DATA",
	  "There was an error delivering your mail to <x@example.org>. "
	  "mx.example.org [192.0.2.20] did not like our final DATA: 550 5.7.1 "
	  "Spam",
	  550, "5.7.1", STAGE_EOD, "", "", "Spam" },
	{ "dma, RCPT TO",
	  "There was an error delivering your mail to <x@example.org>. "
	  "mx.example.org [192.0.2.20] did not like our RCPT TO: 550 User "
	  "unknown",
	  550, "", STAGE_RCPT, "", "", "User unknown" },
	{ "dma, MAIL FROM",
	  "mx.example.org [192.0.2.20] did not like our MAIL FROM: 553 5.1.8 "
	  "Domain of sender address does not exist",
	  553, "5.1.8", STAGE_MAIL, "", "",
	  "Domain of sender address does not exist" },
	{ "notice, qmail wrapper",
	  "Not delivered: s@example.net: Connected to 192.0.2.20 but sender "
	  "was rejected. Remote host said: 550 No such user here",
	  550, "", STAGE_MAIL, "", "192.0.2.20", "No such user here" },
	{ "Exchange",
	  "Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not "
	  "found'",
	  550, "5.1.1", STAGE_UNKNOWN, "", "",
	  "RESOLVER.ADR.RecipNotFound; not found" },
	{ ".NET, a status only",
	  "Mailbox unavailable. The server response was: 5.7.1 Client does "
	  "not have permissions to send as this sender",
	  0, "5.7.1", STAGE_UNKNOWN, "", "",
	  "5.7.1 Client does not have permissions to send as this sender" },
	{ "PHP mailer",
	  "Expected response code 250 but got code \"550\", with message "
	  "\"550 5.1.1 No such user\"",
	  550, "5.1.1", STAGE_EOD, "", "", "No such user" },
	{ "Java",
	  "com.sun.mail.smtp.SMTPAddressFailedException: 550 5.1.1 <a@b.example>"
	  ": Recipient address rejected: User unknown",
	  550, "5.1.1", STAGE_RCPT, "", "",
	  "<a@b.example>: Recipient address rejected: User unknown" },
	{ "Ruby",
	  "Net::SMTPServerBusy: 450 4.2.1 Try again later",
	  450, "4.2.1", STAGE_UNKNOWN, "", "", "Try again later" },
	{ "pasted DSN field",
	  "Diagnostic-Code: smtp; 550 5.1.1 <a@b.example>: User unknown",
	  550, "5.1.1", STAGE_UNKNOWN, "", "", "<a@b.example>: User unknown" },
	{ "a mark without a reply after it",
	  "Your message was not delivered. Reason: the mailbox is full",
	  0, "", STAGE_UNKNOWN, "", "",
	  "Your message was not delivered. Reason: the mailbox is full" },
	{ "connected to, no address",
	  "We connected to the server but it said: mailbox full",
	  0, "", STAGE_UNKNOWN, "", "",
	  "We connected to the server but it said: mailbox full" },
	/* A wrapper that is none leaves the host read before it. */
	{ "not a wrapper, after a host",
	  "host mx.example.org[192.0.2.5] said: we were Connected to "
	  "10.0.0.1 earlier",
	  0, "", STAGE_UNKNOWN, "mx.example.org", "192.0.2.5",
	  "we were Connected to 10.0.0.1 earlier" },
	{ "not a wrapper, after a host, Exim's",
	  "host mx.example.org[192.0.2.5] said: see SMTP error from remote "
	  "mail server after RCPT TO:<a@b.example>: host mx2.example.org "
	  "[10.0.0.1]: no reply",
	  0, "", STAGE_UNKNOWN, "mx.example.org", "192.0.2.5",
	  "see SMTP error from remote mail server after RCPT TO:<a@b.example>: "
	  "host mx2.example.org [10.0.0.1]: no reply" },
};

/*
 * Replies as applications and libraries report them (replyapp.h): the
 * reply read out of the report, the stage it names, and the mailbox it
 * says the reply is about; want is the recipient classified for.
 */
static const struct app_case {
	const char	*name;
	const char	*in;
	const char	*want;
	int		 code;
	const char	*status;
	enum smtp_stage	 stage;
	const char	*text;
	const char	*rcpt;		/* NULL: none */
} app_cases[] = {
	{ "smtplib recipients refused",
	  "smtplib.SMTPRecipientsRefused: {'ann@example.org': (550, "
	  "b'5.1.1 <ann@example.org>: Recipient address rejected: User "
	  "unknown')}", NULL,
	  550, "5.1.1", STAGE_RCPT,
	  "<ann@example.org>: Recipient address rejected: User unknown",
	  "ann@example.org" },
	{ "smtplib, two recipients, the second's",
	  "smtplib.SMTPRecipientsRefused: {'ann@example.org': (550, b'5.1.1 "
	  "User unknown'), 'bob@example.net': (452, b'4.2.2 Mailbox full')}",
	  "bob@example.net",
	  452, "4.2.2", STAGE_RCPT, "Mailbox full", "bob@example.net" },
	{ "smtplib, two recipients, the first's",
	  "smtplib.SMTPRecipientsRefused: {'ann@example.org': (550, b'5.1.1 "
	  "User unknown'), 'bob@example.net': (452, b'4.2.2 Mailbox full')}",
	  "<ann@example.org>",
	  550, "5.1.1", STAGE_RCPT, "User unknown", "ann@example.org" },
	{ "smtplib, a multi-line reply, double quotes",
	  "smtplib.SMTPRecipientsRefused: {'x@gmail.com': (550, b\"5.1.1 The "
	  "email account that you tried to reach does not exist. Please "
	  "try\\n5.1.1 double-checking the recipient's email address\")}",
	  NULL, 550, "5.1.1", STAGE_RCPT,
	  "The email account that you tried to reach does not exist. Please "
	  "try double-checking the recipient's email address", "x@gmail.com" },
	{ "smtplib sender refused",
	  "smtplib.SMTPSenderRefused: (550, b'5.1.1 <us@shop.example>... User "
	  "unknown', 'us@shop.example')", "ann@example.org",
	  550, "5.1.1", STAGE_MAIL, "<us@shop.example>... User unknown", NULL },
	{ "smtplib data error",
	  "smtplib.SMTPDataError: (554, b'5.7.1 Message rejected as spam')",
	  NULL, 554, "5.7.1", STAGE_EOD, "Message rejected as spam", NULL },
	{ "smtplib authentication error",
	  "smtplib.SMTPAuthenticationError: (535, b'5.7.8 Username and "
	  "Password not accepted.')", NULL,
	  535, "5.7.8", STAGE_HELO, "Username and Password not accepted.",
	  NULL },
	{ "aiosmtplib, the recipient third",
	  "aiosmtplib.errors.SMTPRecipientRefused: (550, '5.1.1 User unknown', "
	  "'tom@example.de')", NULL,
	  550, "5.1.1", STAGE_RCPT, "User unknown", "tom@example.de" },
	{ "a tuple in prose is none",
	  "we tried (550, 'x') twice", NULL, 0, "", STAGE_UNKNOWN,
	  "we tried (550, 'x') twice", NULL },
	{ "PHPMailer RCPT",
	  "SMTP ERROR: RCPT TO command failed: 550 5.1.1 <a@b.example>: "
	  "Recipient address rejected: User unknown SMTP Error: The "
	  "following recipients failed: a@b.example: <a@b.example>: "
	  "Recipient address rejected: User unknown", NULL,
	  550, "5.1.1", STAGE_RCPT,
	  "<a@b.example>: Recipient address rejected: User unknown", NULL },
	{ "PHPMailer DATA END",
	  "SMTP ERROR: DATA END command failed: 550 5.1.1 <a@b.example> user "
	  "unknown SMTP Error: data not accepted.", NULL,
	  550, "5.1.1", STAGE_EOD, "<a@b.example> user unknown", NULL },
	{ "PHPMailer, recipients failed",
	  "Message could not be sent. Mailer Error: SMTP Error: The following "
	  "recipients failed: kim@example.net: 5.1.1 <kim@example.net>: No "
	  "such user here", NULL,
	  0, "5.1.1", STAGE_RCPT, "5.1.1 <kim@example.net>: No such user here",
	  "kim@example.net" },
	{ "PHPMailer, code and status apart",
	  "SMTP Error: data not accepted. SMTP server error: DATA END command "
	  "failed Detail: Message rejected as spam SMTP code: 554 Additional "
	  "SMTP info: 5.7.1", NULL,
	  554, "5.7.1", STAGE_EOD, "Message rejected as spam", NULL },
	{ "Nodemailer, its response field",
	  "Error: Can't send mail - all recipients were rejected: 550 5.1.1 "
	  "<a@b.example>: User unknown at SMTPConnection._formatError "
	  "(/app/index.js:784:19) { code: 'EENVELOPE', response: '550-5.1.1 "
	  "<a@b.example>: User\\n550 5.1.1 unknown', responseCode: 550, "
	  "command: 'RCPT TO' }", NULL,
	  550, "5.1.1", STAGE_RCPT, "<a@b.example>: User unknown", NULL },
	{ "Nodemailer, message failed",
	  "Error: Message failed: 554 5.7.1 Spam message rejected { code: "
	  "'EMESSAGE', response: '554 5.7.1 Spam message rejected', "
	  "responseCode: 554, command: 'DATA' }", NULL,
	  554, "5.7.1", STAGE_EOD, "Spam message rejected", NULL },
	{ "Nodemailer, an arrow inside the reply",
	  "Error: Message failed: 550 5.7.350 Remote server returned message "
	  "detected as spam -> 554 5.7.1 Service unavailable", NULL,
	  550, "5.7.350", STAGE_EOD, "Remote server returned message detected "
	  "as spam -> 554 5.7.1 Service unavailable", NULL },
	{ "Nodemailer, rejectedErrors, want's",
	  "rejectedErrors: [ Error: Recipient command failed: 550 5.1.1 User "
	  "unknown { response: '550 5.1.1 User unknown', recipient: "
	  "'ann@example.org' }, Error: Recipient command failed: 452 4.2.2 "
	  "Mailbox full { response: '452 4.2.2 Mailbox full', recipient: "
	  "'bob@example.net' } ]", "bob@example.net",
	  452, "4.2.2", STAGE_RCPT, "Mailbox full", "bob@example.net" },
	{ "JavaMail, sender under send",
	  "com.sun.mail.smtp.SMTPSendFailedException: 553 5.1.8 Domain of "
	  "sender address does not exist ; nested exception is: "
	  "com.sun.mail.smtp.SMTPSenderFailedException: 553 5.1.8 Domain of "
	  "sender address does not exist", NULL,
	  553, "5.1.8", STAGE_MAIL, "Domain of sender address does not exist",
	  NULL },
	{ ".NET, a failed recipient",
	  "System.Net.Mail.SmtpFailedRecipientException: Mailbox unavailable. "
	  "The server response was: 5.1.1 User unknown", NULL,
	  0, "5.1.1", STAGE_RCPT, "5.1.1 User unknown", NULL },
	{ "Ruby, in parentheses",
	  "Net::SMTPFatalError (550 5.1.1 <a@b.example>: User unknown\\n):",
	  NULL, 550, "5.1.1", STAGE_UNKNOWN, "<a@b.example>: User unknown",
	  NULL },
	{ "Symfony, RCPT",
	  "Expected response code \"250/251/252\" but got code \"550\", with "
	  "message \"550 5.1.1 <a@b.example>: User unknown\".", NULL,
	  550, "5.1.1", STAGE_RCPT, "<a@b.example>: User unknown", NULL },
	{ "Symfony, DATA",
	  "Expected response code \"354\" but got code \"554\", with message "
	  "\"554 5.5.1 Error: no valid recipients\".", NULL,
	  554, "5.5.1", STAGE_DATA, "Error: no valid recipients", NULL },
	{ "swaks, RCPT, two lines",
	  " -> RCPT TO:<a@b.example> <** 550-5.1.1 No such <** 550 5.1.1 user "
	  " -> QUIT", NULL,
	  550, "5.1.1", STAGE_RCPT, "No such user", "a@b.example" },
	{ "swaks, end of data",
	  " -> . <** 554 5.7.1 Rejected *** Remote host closed connection", NULL,
	  554, "5.7.1", STAGE_EOD, "Rejected", NULL },
	{ "msmtp, sender",
	  "msmtp: envelope from address us@shop.example not accepted by the "
	  "server msmtp: server message: 553 5.7.1 Sender address rejected "
	  "msmtp: could not send mail", NULL,
	  553, "5.7.1", STAGE_MAIL, "Sender address rejected", NULL },
	{ "ssmtp",
	  "ssmtp: RCPT TO:<a@b.example> (550 5.1.1 User unknown)", NULL,
	  550, "5.1.1", STAGE_RCPT, "User unknown", "a@b.example" },
	{ "Outlook's pop-up",
	  "Your message did not reach some or all of the intended recipients. "
	  "The following recipient(s) cannot be reached: 'a@b.example' on "
	  "3/3/2024 10:11 AM Server error: '550 5.7.1 Unfortunately, messages "
	  "from [192.0.2.1] weren't sent.'", NULL,
	  550, "5.7.1", STAGE_UNKNOWN,
	  "Unfortunately, messages from [192.0.2.1] weren't sent.", NULL },
	{ "Thunderbird, our address",
	  "An error occurred while sending mail. The mail server responded: "
	  "5.7.1 Sender address rejected: Access denied. Please verify that "
	  "your email address is correct in your account settings and try "
	  "again.", NULL,
	  0, "5.7.1", STAGE_MAIL, "5.7.1 Sender address rejected: Access denied",
	  NULL },
	{ "PHPMailer's SMTPDebug transcript",
	  "2024-01-05 10:00:01 SERVER -> CLIENT: 220 mx.example ESMTP "
	  "2024-01-05 10:00:01 CLIENT -> SERVER: RCPT TO:<a@b.example> "
	  "2024-01-05 10:00:01 SERVER -> CLIENT: 550 5.1.1 <a@b.example>: "
	  "Recipient address rejected: User unknown 2024-01-05 10:00:01 "
	  "CLIENT -> SERVER: QUIT", NULL,
	  550, "5.1.1", STAGE_RCPT,
	  "<a@b.example>: Recipient address rejected: User unknown", NULL },
	{ "Nodemailer's logger, after DATA",
	  "[2024-03-03 10:11:12] DEBUG [x1] C: . [2024-03-03 10:11:12] DEBUG "
	  "[x1] S: 554 5.7.1 Rejected for policy reasons", NULL,
	  554, "5.7.1", STAGE_EOD, "Rejected for policy reasons", NULL },
	{ "lettre, the code in parentheses",
	  "Error: permanent error (550): 5.1.1 <a@b.example>: Recipient address "
	  "rejected: User unknown", NULL,
	  550, "5.1.1", STAGE_UNKNOWN,
	  "<a@b.example>: Recipient address rejected: User unknown", NULL },
	{ "PHPMailer, recipient words at the end of data",
	  "SMTP ERROR: DATA END command failed: 550 5.7.1 Recipient address "
	  "rejected: content", NULL,
	  550, "5.7.1", STAGE_EOD, "Recipient address rejected: content", NULL },
	{ "words, a colon, a reply",
	  "gomail: could not send email 1: 550 5.1.1 User unknown", NULL,
	  550, "5.1.1", STAGE_UNKNOWN, "User unknown", NULL },
	{ "Postfix's log line, its parenthesis closed",
	  "status=bounced (host mx.example[192.0.2.5] said: 550 User unknown "
	  "(in reply to end of DATA command))", NULL,
	  550, "", STAGE_EOD, "User unknown", NULL },
};

static void
check_case(const struct reply_case *c, const char *group)
{
	struct reply r;

	reply_init(&r);
	reply_parse(&r, c->in, strlen(c->in));
	ck_assert_msg(r.code == c->code, "%s/%s: code %d, want %d", group,
	    c->name, r.code, c->code);
	ck_assert_msg(strcmp(r.status, c->status) == 0,
	    "%s/%s: status \"%s\", want \"%s\"", group, c->name, r.status,
	    c->status);
	ck_assert_msg(r.stage == c->stage, "%s/%s: stage %s, want %s", group,
	    c->name, stage_name(r.stage), stage_name(c->stage));
	ck_assert_msg(strcmp(r.host, c->host) == 0,
	    "%s/%s: host \"%s\", want \"%s\"", group, c->name, r.host,
	    c->host);
	ck_assert_msg(strcmp(r.ip, c->ip) == 0,
	    "%s/%s: ip \"%s\", want \"%s\"", group, c->name, r.ip, c->ip);
	ck_assert_msg(strcmp(r.text, c->text) == 0,
	    "%s/%s: text\n  \"%s\", want\n  \"%s\"", group, c->name, r.text,
	    c->text);
	ck_assert_msg(r.textlen == strlen(r.text),
	    "%s/%s: textlen %zu, strlen %zu", group, c->name, r.textlen,
	    strlen(r.text));
	reply_free(&r);
}

#define NCASES(a)	((int)(sizeof(a) / sizeof((a)[0])))

START_TEST(test_postfix)
{
	check_case(&postfix_cases[_i], "postfix");
}
END_TEST

START_TEST(test_postfix_own)
{
	check_case(&postfix_own_cases[_i], "postfix-own");
}
END_TEST

START_TEST(test_exim)
{
	check_case(&exim_cases[_i], "exim");
}
END_TEST

START_TEST(test_sendmail)
{
	check_case(&sendmail_cases[_i], "sendmail");
}
END_TEST

START_TEST(test_qmail)
{
	check_case(&qmail_cases[_i], "qmail");
}
END_TEST

START_TEST(test_bare)
{
	check_case(&bare_cases[_i], "bare");
}
END_TEST

START_TEST(test_embedded)
{
	check_case(&embedded_cases[_i], "embedded");
}
END_TEST

START_TEST(test_damage)
{
	check_case(&damage_cases[_i], "damage");
}
END_TEST

/* One struct reply parses every case in turn: nothing leaks across. */
START_TEST(test_reuse)
{
	static const struct reply_case *const seq[] = {
		&postfix_cases[0], &bare_cases[4], &qmail_cases[2],
		&postfix_own_cases[1], &bare_cases[22], &exim_cases[7],
	};
	struct reply r;
	size_t i;

	reply_init(&r);
	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		const struct reply_case *c = seq[i];

		reply_parse(&r, c->in, strlen(c->in));
		ck_assert_msg(r.code == c->code && r.stage == c->stage &&
		    strcmp(r.status, c->status) == 0 &&
		    strcmp(r.host, c->host) == 0 && strcmp(r.ip, c->ip) == 0 &&
		    strcmp(r.text, c->text) == 0,
		    "reuse %zu (%s): code %d status \"%s\" stage %s "
		    "host \"%s\" ip \"%s\" text \"%s\"", i, c->name, r.code,
		    r.status, stage_name(r.stage), r.host, r.ip, r.text);
	}
	reply_free(&r);
	ck_assert_ptr_null(r.buf);
	reply_free(&r);		/* twice is fine */
}
END_TEST

/* n bytes, no NUL after them: ASan catches a read past the end. */
START_TEST(test_not_terminated)
{
	static const char s[] = "550 5.1.1 User unknown";
	struct reply r;
	char *p;
	size_t n = strlen(s);

	p = xmalloc(n);
	memcpy(p, s, n);
	reply_init(&r);
	reply_parse(&r, NULL, 0);	/* a log line with no text */
	ck_assert_str_eq(r.text, "");
	reply_parse(&r, p, n);
	ck_assert_int_eq(r.code, 550);
	ck_assert_str_eq(r.text, "User unknown");
	/* Only the first n bytes count. */
	reply_parse(&r, p, 13);
	ck_assert_int_eq(r.code, 550);
	ck_assert_str_eq(r.status, "5.1.1");
	ck_assert_str_eq(r.text, "Use");
	reply_free(&r);
	free(p);
}
END_TEST

/*
 * A code's first digit in the last byte: looking for a continuation
 * prefix there must not read past the parse buffer (sized to the
 * input when it is longer than the minimum).
 */
START_TEST(test_code_digit_at_end)
{
	struct reply r;
	char s[400];

	memset(s, 'a', sizeof(s));
	memcpy(s, "550 ", 4);
	memcpy(s + sizeof(s) - 2, " 5", 2);
	reply_init(&r);
	reply_parse(&r, s, sizeof(s));
	ck_assert_int_eq(r.code, 550);
	ck_assert_uint_eq(r.textlen, sizeof(s) - 4);
	ck_assert_int_eq(r.text[r.textlen - 1], '5');
	reply_free(&r);
}
END_TEST

#define BIG	(1024 * 1024)

/* A 1 MB reply in a few shapes: parsed whole, no crash, sane fields. */
START_TEST(test_huge)
{
	struct reply r;
	char *s;
	size_t i, n;

	s = xmalloc(BIG + 1);
	reply_init(&r);

	/* Words after a code: kept whole. */
	n = (size_t)snprintf(s, BIG, "550 5.1.1 ");
	for (i = n; i + 2 <= BIG; i += 2)
		memcpy(s + i, "x ", 2);
	s[i] = '\0';
	reply_parse(&r, s, i);
	ck_assert_int_eq(r.code, 550);
	ck_assert_str_eq(r.status, "5.1.1");
	ck_assert_uint_eq(r.textlen, i - n - 1);	/* no trailing space */

	/* Continuation lines all the way: their prefixes go. */
	for (i = 0; i + 12 <= BIG; i += 12)
		memcpy(s + i, "550-5.1.1 A ", 12);
	memcpy(s + i - 12, "550 5.1.1 A ", 12);
	reply_parse(&r, s, i);
	ck_assert_int_eq(r.code, 550);
	ck_assert_str_eq(r.status, "5.1.1");
	ck_assert_uint_eq(r.textlen, (i / 12) * 2 - 1);
	ck_assert_int_eq(r.text[0], 'A');
	ck_assert_ptr_null(strchr(r.text, '5'));

	/* One word, no spaces, no code. */
	memset(s, 'a', BIG);
	reply_parse(&r, s, BIG);
	ck_assert_int_eq(r.code, 0);
	ck_assert_uint_eq(r.textlen, BIG);

	/* Wrapper fragments over and over. */
	for (i = 0; i + 24 <= BIG; i += 24)
		memcpy(s + i, "host mx[1.2.3.4] said:  ", 24);
	reply_parse(&r, s, i);
	ck_assert_uint_lt(r.textlen, i);
	ck_assert_str_eq(r.host, "mx");
	ck_assert_str_eq(r.ip, "1.2.3.4");

	/* Unclosed "(in reply to" and dotted numbers, over and over. */
	for (i = 0; i + 24 <= BIG; i += 24)
		memcpy(s + i, "(in reply to RCPT 1.2.3 ", 24);
	reply_parse(&r, s, i);
	ck_assert_int_eq(r.code, 0);
	ck_assert_str_eq(r.status, "");
	ck_assert_uint_eq(r.textlen, i - 1);

	reply_free(&r);
	free(s);
}
END_TEST

/* Whitespace folded the slow, obvious way. */
static size_t
naive_fold(char *out, const char *in, size_t n)
{
	size_t i, w = 0;
	int space = 1;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= ' ' || c == 0x7f) {
			if (!space)
				out[w++] = ' ';
			space = 1;
		} else {
			out[w++] = (char)c;
			space = 0;
		}
	}
	if (w > 0 && out[w - 1] == ' ')
		w--;
	out[w] = '\0';
	return w;
}

/*
 * Folding on random texts of letters, spaces, control and 8-bit bytes,
 * of every length up to a few blocks: the word-at-a-time paths must
 * agree with the obvious loop at every alignment and run of spaces.
 */
START_TEST(test_fold_random)
{
	static const char alpha[] = "ab   \t\r\n\x01\x7f\x80\xc3\xa9";
	char in[200], want[201];
	struct reply r;
	size_t n, i, round;

	srand(11);
	reply_init(&r);
	for (round = 0; round < 4000; round++) {
		n = (size_t)rand() % sizeof(in);
		for (i = 0; i < n; i++)
			in[i] = alpha[rand() % (int)(sizeof(alpha) - 1)];
		naive_fold(want, in, n);
		reply_parse(&r, in, n);
		ck_assert_msg(strcmp(r.text, want) == 0 && r.code == 0,
		    "round %zu: folded \"%s\", want \"%s\"", round, r.text,
		    want);
	}
	reply_free(&r);
}
END_TEST

struct status_case {
	const char	*in;
	size_t		 len;
};

static const struct status_case status_cases[] = {
	{ "5.1.1", 5 },
	{ "4.7.0 Try", 5 },
	{ "2.0.0,", 5 },
	{ "5.7.26", 6 },
	{ "5.123.456", 9 },
	{ "5.1.10)", 6 },
	{ "3.1.1", 0 },
	{ "6.1.1", 0 },
	{ "5.1", 0 },
	{ "5.1.", 0 },
	{ "5..1", 0 },
	{ "5.1234.1", 0 },
	{ "5.1.1234", 0 },
	{ "5.1.1.1", 0 },
	{ "5.1.1a", 0 },
	{ "5.1.1.", 5 },	/* a sentence ending in a status */
	{ "", 0 },
};

START_TEST(test_status_at)
{
	const struct status_case *c = &status_cases[_i];
	size_t n = strlen(c->in);

	ck_assert_msg(status_at(c->in, c->in + n) == c->len,
	    "status_at(\"%s\") = %zu, want %zu", c->in,
	    status_at(c->in, c->in + n), c->len);
}
END_TEST

/* status_at() stops at end, not at the NUL. */
START_TEST(test_status_at_end)
{
	static const char s[] = "5.1.10";

	ck_assert_uint_eq(status_at(s, s + 5), 5);
	ck_assert_uint_eq(status_at(s, s + 4), 0);
	ck_assert_uint_eq(status_at(s, s), 0);
}
END_TEST

START_TEST(test_stages)
{
	static const char *const names[STAGE_COUNT] = {
		"-", "connect", "helo", "mail", "rcpt", "data", "eod"
	};
	int st = _i;

	ck_assert_str_eq(stage_name((enum smtp_stage)st), names[st]);
	if (st == STAGE_UNKNOWN)
		ck_assert_int_eq(stage_parse("-", 1), -1);
	else
		ck_assert_int_eq(stage_parse(names[st], strlen(names[st])), st);
}
END_TEST

START_TEST(test_stage_bad)
{
	ck_assert_str_eq(stage_name(STAGE_COUNT), "-");
	ck_assert_str_eq(stage_name((enum smtp_stage)-1), "-");
	ck_assert_int_eq(stage_parse("rcp", 3), -1);
	ck_assert_int_eq(stage_parse("rcpt", 3), -1);
	ck_assert_int_eq(stage_parse("rcptx", 5), -1);
	ck_assert_int_eq(stage_parse("RCPT", 4), -1);
	ck_assert_int_eq(stage_parse("", 0), -1);
	ck_assert_int_eq(stage_parse("rcpt to", 4), STAGE_RCPT);
}
END_TEST

START_TEST(test_app)
{
	const struct app_case *c = &app_cases[_i];
	struct reply r;

	reply_init(&r);
	r.want = c->want;
	reply_parse(&r, c->in, strlen(c->in));
	ck_assert_msg(r.code == c->code, "app/%s: code %d, want %d", c->name,
	    r.code, c->code);
	ck_assert_msg(strcmp(r.status, c->status) == 0,
	    "app/%s: status \"%s\", want \"%s\"", c->name, r.status, c->status);
	ck_assert_msg(r.stage == c->stage, "app/%s: stage %s, want %s",
	    c->name, stage_name(r.stage), stage_name(c->stage));
	ck_assert_msg(strcmp(r.text, c->text) == 0,
	    "app/%s: text\n  \"%s\", want\n  \"%s\"", c->name, r.text, c->text);
	if (c->rcpt == NULL)
		ck_assert_msg(r.rcptcmd == NULL, "app/%s: a mailbox \"%.*s\"",
		    c->name, (int)r.rcptcmdlen, r.rcptcmd);
	else
		ck_assert_msg(r.rcptcmd != NULL && r.rcptcmdlen ==
		    strlen(c->rcpt) && memcmp(r.rcptcmd, c->rcpt,
		    r.rcptcmdlen) == 0, "app/%s: mailbox \"%.*s\", want \"%s\"",
		    c->name, (int)r.rcptcmdlen, r.rcptcmd ? r.rcptcmd : "",
		    c->rcpt);
	/* the same mailbox, bare, for a caller given no recipient */
	if (c->rcpt == NULL)
		ck_assert_msg(r.mailbox == NULL && r.mailboxlen == 0,
		    "app/%s: a mailbox", c->name);
	else
		ck_assert_msg(r.mailboxlen == strlen(c->rcpt) &&
		    memcmp(r.mailbox, c->rcpt, r.mailboxlen) == 0,
		    "app/%s: mailbox \"%.*s\"", c->name, (int)r.mailboxlen,
		    r.mailbox ? r.mailbox : "");
	/* the caller's want is its own: parsing keeps it */
	ck_assert_ptr_eq(r.want, c->want);
	reply_free(&r);
}
END_TEST

/* The RCPT TO a wrapper says the reply answered, and none otherwise. */
START_TEST(test_rcpt_command)
{
	static const struct {
		const char	*in;
		const char	*cmd;
	} cases[] = {
		{ "SMTP error from remote mail server after RCPT "
		  "TO:<bob@example.org>: 550 5.1.1 User unknown",
		  "RCPT TO:<bob@example.org>" },
		{ "SMTP error from remote mail server after pipelined RCPT "
		  "TO:<bob@example.org>: 550 5.1.1 User unknown",
		  "RCPT TO:<bob@example.org>" },
		{ ">>> RCPT To:<bob@example.org> <<< 550 5.1.1 User unknown",
		  "RCPT To:<bob@example.org>" },
		{ "SMTP error from remote mail server after MAIL "
		  "FROM:<a@b.example>: 550 5.1.1 User unknown", NULL },
		{ ">>> DATA <<< 554 5.7.1 Content rejected", NULL },
		{ "550 5.1.1 RCPT TO:<bob@example.org> User unknown", NULL },
	};
	struct reply r;
	size_t i;

	reply_init(&r);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reply_parse(&r, cases[i].in, strlen(cases[i].in));
		if (cases[i].cmd == NULL) {
			ck_assert_msg(r.rcptcmd == NULL && r.rcptcmdlen == 0,
			    "case %zu: a command", i);
			continue;
		}
		ck_assert_uint_eq(r.rcptcmdlen, strlen(cases[i].cmd));
		ck_assert_msg(memcmp(r.rcptcmd, cases[i].cmd,
		    r.rcptcmdlen) == 0, "case %zu: \"%.*s\"", i,
		    (int)r.rcptcmdlen, r.rcptcmd);
	}
	reply_free(&r);
}
END_TEST

static Suite *
reply_suite(void)
{
	Suite *s = suite_create("reply");
	TCase *tc;

	tc = tcase_create("postfix");
	tcase_add_loop_test(tc, test_postfix, 0, NCASES(postfix_cases));
	tcase_add_loop_test(tc, test_postfix_own, 0,
	    NCASES(postfix_own_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("exim");
	tcase_add_loop_test(tc, test_exim, 0, NCASES(exim_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("sendmail");
	tcase_add_loop_test(tc, test_sendmail, 0, NCASES(sendmail_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("qmail");
	tcase_add_loop_test(tc, test_qmail, 0, NCASES(qmail_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("bare");
	tcase_add_loop_test(tc, test_bare, 0, NCASES(bare_cases));
	tcase_add_loop_test(tc, test_embedded, 0, NCASES(embedded_cases));
	tcase_add_loop_test(tc, test_damage, 0, NCASES(damage_cases));
	tcase_add_test(tc, test_reuse);
	tcase_add_test(tc, test_not_terminated);
	tcase_add_test(tc, test_code_digit_at_end);
	tcase_add_test(tc, test_huge);
	tcase_add_test(tc, test_fold_random);
	tcase_add_test(tc, test_rcpt_command);
	suite_add_tcase(s, tc);

	tc = tcase_create("app");
	tcase_add_loop_test(tc, test_app, 0, NCASES(app_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_loop_test(tc, test_status_at, 0, NCASES(status_cases));
	tcase_add_test(tc, test_status_at_end);
	tcase_add_loop_test(tc, test_stages, 0, STAGE_COUNT);
	tcase_add_test(tc, test_stage_bad);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(reply_suite());
}
