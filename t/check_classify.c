/*
 * check_classify.c -- the classifier: matching, guards and details
 *
 * The rules come from a small set this file writes into a temporary
 * directory, so each case knows which rule should decide and why; the
 * real rules/ are checked by check_seed.c and rules test. The cases
 * cover the guards that no rule file can get around (a temporary reply
 * never suppresses, a connect/helo/mail reply never suppresses or
 * retries, a quoted local part is an alert), the fallback when no rule
 * matches, details from named groups and from "detail", rule order and
 * the code, status and stage constraints.
 *
 * The stage guard only takes "suppress" away: a reply at connect, HELO
 * or MAIL says nothing about the recipient's existence, but a timeout
 * there is still worth a retry. With nothing left, 5xx becomes alert.
 *
 * See also: classify.h, check_rules.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "classify.h"
#include "testlib.h"
#include "xalloc.h"

static const char mail_rules[] =
	"# mail.rules -- a provider for the classifier tests\n"	/* 1 */
	"provider mail\n"
	"domain mail.example\n"
	"mx *.mx.example\n"
	"\n"							/* 5 */
	"rule nouser\n"
	"\tmatch no such user\n"
	"\treason userunknown\n"
	"\tdecision suppress\n"
	"\n"							/* 10 */
	"rule full\n"
	"\tmatch mailbox full\n"
	"\treason mailboxfull\n"
	"\tdecision suppress\n"
	"\n"							/* 15 */
	"rule goaway\n"
	"\tmatch go away\n"
	"\treason rejected\n"
	"\tdecision suppress\n"
	"\n"							/* 20 */
	"rule slowdown\n"
	"\tmatch slow down\n"
	"\treason speeding\n"
	"\tdecision retry\n"
	"\n"							/* 25 */
	"rule busy\n"
	"\tmatch busy alert\n"
	"\treason systemerror\n"
	"\tdecision retry,alert\n"
	"\n"							/* 30 */
	"rule listed\n"
	"\tmatch from (?<ip>\\d+\\.\\d+\\.\\d+\\.\\d+) listed by "
	"(?<blocklist>\\w+)(?: see (?<url>\\S+))?"
	"(?: retry in (?<retry_after_min>\\d+) min)?\n"
	"\treason blocked\n"
	"\tdecision alert\n"
	"\tdetail source=test\n"				/* 35 */
	"\n"
	"rule static\n"
	"\tmatch static details\n"
	"\treason filtered\n"
	"\tdecision none\n"					/* 40 */
	"\tdetail a=1 b=two\n"
	"\n"
	"rule order-first\n"
	"\tmatch order test\n"
	"\treason expired\n"					/* 45 */
	"\tdecision retry\n"
	"\n"
	"rule order-second\n"
	"\tmatch order\n"
	"\treason filtered\n"					/* 50 */
	"\tdecision none\n"
	"\n"
	"rule code-constrained\n"
	"\tmatch constrained\n"
	"\tcode 551 45x\n"					/* 55 */
	"\treason hasmoved\n"
	"\tdecision suppress\n"
	"\n"
	"rule status-constrained\n"
	"\tmatch stcon\n"					/* 60 */
	"\tstatus 5.2.x 4.4.1\n"
	"\treason mailboxfull\n"
	"\tdecision retry\n"
	"\n"
	"rule stage-constrained\n"				/* 65 */
	"\tmatch stagecon\n"
	"\tstage data eod\n"
	"\treason contenterror\n"
	"\tdecision alert\n"
	"\n"							/* 70 */
	"rule no-code\n"
	"\tmatch no code here\n"
	"\tcode none\n"
	"\treason networkerror\n"
	"\tdecision retry\n"					/* 75 */
	"\n"
	"rule code-only\n"
	"\tcode 521\n"
	"\treason notaccept\n"
	"\tdecision suppress\n"					/* 80 */
	"\n"
	"rule gone-or-later\n"
	"\tmatch gone or later\n"
	"\treason hasmoved\n"
	"\tdecision suppress,retry\n";				/* 85 */

static const char generic_rules[] =
	"provider generic\n"
	"rule generic-nouser\n"
	"\tmatch user unknown|no such user\n"
	"\treason userunknown\n"
	"\tdecision suppress\n";

static struct ruleset	*rs;

/* Once, before the forked tests: they inherit rs. */
static void
setup(void)
{
	char *dir, *err = NULL;

	dir = testlib_tmpdir("classify");
	free(testlib_write(dir, "mail.rules", mail_rules));
	free(testlib_write(dir, "zz-generic.rules", generic_rules));
	rs = ruleset_load(dir, &err);
	testlib_rmtree(dir);
	free(dir);
	ck_assert_msg(rs != NULL, "test rules refused:\n%s", err ? err : "");
}

static void
teardown(void)
{
	ruleset_unref(rs);
	rs = NULL;
}

struct cl_case {
	const char	*name;
	const char	*rcpt;
	const char	*reply;
	const char	*dsn;		/* or NULL */
	const char	*relay;		/* or NULL */
	enum reason	 reason;
	unsigned	 decision;
	const char	*status;
	int		 code;
	enum smtp_stage	 stage;
	int		 temporary;
	const char	*provider;	/* "-" for none */
	const char	*rule;		/* rule name, NULL for none */
	const char	*details;	/* the same tokens, in any order */
};

#define U	"u@mail.example"
#define O	"u@other.example"
#define MX	"host a.mx.example[192.0.2.5]"

static const struct cl_case cases[] = {
	/* The plain case, and the temporary guard. */
	{ "suppress", U, "550 5.1.1 no such user", NULL, NULL,
	  R_USERUNKNOWN, D_SUPPRESS, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "" },
	{ "4xx suppress becomes retry", U, "452 4.2.2 Mailbox full", NULL, NULL,
	  R_MAILBOXFULL, D_RETRY, "4.2.2", 452, STAGE_UNKNOWN, 1,
	  "mail", "full", "guard=temporary" },
	{ "4xx suppress by dsn only", U, "mailbox full", "4.2.2", NULL,
	  R_MAILBOXFULL, D_RETRY, "4.2.2", 0, STAGE_UNKNOWN, 1,
	  "mail", "full", "guard=temporary" },
	{ "5xx at rcpt keeps suppress", O,
	  MX " said: 550 5.7.1 Go away (in reply to RCPT TO command)", NULL,
	  NULL, R_REJECTED, D_SUPPRESS, "5.7.1", 550, STAGE_RCPT, 0,
	  "mail", "goaway", "" },

	/*
	 * The words in front of a reply found inside a notice: no rule
	 * reads them, the guards do.
	 */
	{ "uncertain words before an embedded reply", U,
	  "Mailbox lookup failed, will retry later. Error: 550 5.1.1 no such "
	  "user", NULL, NULL,
	  R_USERUNKNOWN, D_RETRY, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "guard=uncertain" },
	{ "forward target before an embedded reply", U,
	  "The mailbox " U " is forwarded to v@other.example. Error: 550 "
	  "5.1.1 no such user", NULL, NULL,
	  R_USERUNKNOWN, 0, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "guard=other-address" },

	/* The stage guard. */
	{ "5xx suppress at mail", O,
	  MX " said: 550 5.7.1 Go away (in reply to MAIL FROM command)", NULL,
	  NULL, R_REJECTED, D_ALERT, "5.7.1", 550, STAGE_MAIL, 0,
	  "mail", "goaway", "guard=stage" },
	{ "5xx suppress at connect", O,
	  MX " refused to talk to me: 554 5.7.1 Go away", NULL, NULL,
	  R_REJECTED, D_ALERT, "5.7.1", 554, STAGE_CONNECT, 0,
	  "mail", "goaway", "guard=stage" },
	{ "5xx suppress at helo", O,
	  MX " said: 550 5.7.1 Go away (in reply to EHLO command)", NULL,
	  NULL, R_REJECTED, D_ALERT, "5.7.1", 550, STAGE_HELO, 0,
	  "mail", "goaway", "guard=stage" },
	{ "5xx suppress,retry at mail keeps retry", O,
	  MX " said: 550 5.1.6 Gone or later (in reply to MAIL FROM command)",
	  NULL, NULL, R_REJECTED, D_RETRY, "5.1.6", 550, STAGE_MAIL, 0,
	  "mail", "gone-or-later", "guard=stage" },
	{ "5xx suppress,retry at rcpt untouched", O,
	  MX " said: 550 5.1.6 Gone or later (in reply to RCPT TO command)",
	  NULL, NULL, R_HASMOVED, D_SUPPRESS | D_RETRY, "5.1.6", 550,
	  STAGE_RCPT, 0, "mail", "gone-or-later", "" },
	{ "4xx suppress at connect", O,
	  MX " refused to talk to me: 421 4.7.1 Go away", NULL, NULL,
	  R_REJECTED, D_THROTTLE, "4.7.1", 421, STAGE_CONNECT, 1,
	  "mail", "goaway", "guard=stage" },
	{ "4xx retry at mail", O,
	  MX " said: 450 4.7.1 Slow down (in reply to MAIL FROM command)",
	  NULL, NULL, R_SPEEDING, D_RETRY, "4.7.1", 450, STAGE_MAIL, 1,
	  "mail", "slowdown", "" },
	{ "5xx retry at mail", O,
	  MX " said: 550 5.7.1 Slow down (in reply to MAIL FROM command)",
	  NULL, NULL, R_SPEEDING, D_RETRY, "5.7.1", 550, STAGE_MAIL, 0,
	  "mail", "slowdown", "" },
	{ "retry,alert at helo", O,
	  MX " said: 451 4.3.0 Busy alert (in reply to HELO command)", NULL,
	  NULL, R_SYSTEMERROR, D_RETRY | D_ALERT, "4.3.0", 451, STAGE_HELO, 1,
	  "mail", "busy", "" },
	{ "retry at rcpt untouched", O,
	  MX " said: 450 4.2.1 Slow down (in reply to RCPT TO command)", NULL,
	  NULL, R_SPEEDING, D_RETRY, "4.2.1", 450, STAGE_RCPT, 1,
	  "mail", "slowdown", "" },

	/* A quoted local part. */
	{ "quoted userunknown", "\"john doe\"@mail.example",
	  "550 5.1.1 No such user", NULL, NULL,
	  R_USERUNKNOWN, D_ALERT, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "quoted-local-part" },
	{ "quoted userunknown in <>", "<\"john\"@mail.example>",
	  "550 5.1.1 No such user", NULL, NULL,
	  R_USERUNKNOWN, D_ALERT, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "quoted-local-part" },
	{ "quoted, other reason keeps suppress", "\"x\"@other.example",
	  MX " said: 550 5.7.1 Go away (in reply to RCPT TO command)", NULL,
	  NULL, R_REJECTED, D_SUPPRESS, "5.7.1", 550, STAGE_RCPT, 0,
	  "mail", "goaway", "quoted-local-part" },
	{ "quote inside the local part is not quoting", "jo\"hn@mail.example",
	  "550 5.1.1 No such user", NULL, NULL,
	  R_USERUNKNOWN, D_SUPPRESS, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "" },

	/*
	 * A payload's members after its reply are the reporter's words too,
	 * and a log's "key=" is not part of the address after it.
	 */
	{ "another recipient after a payload's reply", U,
	  "{\"reason\":\"550 5.1.1 no such user\",\"recipient\":\"" O
	  "\"}", NULL, NULL,
	  R_USERUNKNOWN, 0, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "guard=other-address" },
	{ "the recipient after a payload's reply", U,
	  "{\"reason\":\"550 5.1.1 no such user\",\"recipient\":\"" U
	  "\"}", NULL, NULL,
	  R_USERUNKNOWN, D_SUPPRESS, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "" },
	{ "the recipient as a log's key=value", U,
	  "rcpt_to=" U " raw_reason=\"smtp;550 5.1.1 no such user\"", NULL,
	  NULL, R_USERUNKNOWN, D_SUPPRESS, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "" },
	{ "x=recipient inside <> is another address", U,
	  "550 5.1.1 <x=" U ">: no such user", NULL, NULL,
	  R_USERUNKNOWN, 0, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "guard=other-address" },

	/* A PowerMTA accounting row: its rcpt field says whose reply it is. */
	{ "accounting row of another recipient", U,
	  "b,2024-03-01 10:14:33+0000,2024-03-01 10:14:31+0000,s@example.net,"
	  O ",,failed,5.1.1 (bad destination mailbox address),smtp;550 5.1.1 "
	  "no such user,mx.example.org (192.0.2.4),smtp,pool1,bad-mailbox",
	  NULL, NULL, R_USERUNKNOWN, 0, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "guard=other-address" },
	{ "accounting row of the recipient", U,
	  "b,2024-03-01 10:14:33+0000,2024-03-01 10:14:31+0000,s@example.net,"
	  U ",,failed,5.1.1 (bad destination mailbox address),smtp;550 5.1.1 "
	  "no such user,mx.example.org (192.0.2.4),smtp,pool1,bad-mailbox",
	  NULL, NULL, R_USERUNKNOWN, D_SUPPRESS, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "" },

	/* A reply that names another mailbox is not about the recipient. */
	{ "other mailbox of the same domain", U,
	  MX " said: 550 No such user v@mail.example (in reply to end of "
	  "DATA command)", NULL, NULL, R_FILTERED, 0, "5.0.910", 550,
	  STAGE_EOD, 0, "mail", "nouser", "guard=other-address" },
	{ "other mailbox, same domain, any reason", U,
	  "550 Go away <v@MAIL.example>", NULL, NULL, R_REJECTED, 0,
	  "5.0.918", 550, STAGE_UNKNOWN, 0, "mail", "goaway",
	  "guard=other-address" },
	{ "other domain, existence reason", U,
	  "550 No such user <v@forward.example>", NULL, NULL, R_USERUNKNOWN,
	  0, "5.0.911", 550, STAGE_UNKNOWN, 0, "mail", "nouser",
	  "guard=other-address" },
	{ "the recipient in quotes after a reply code", U,
	  "Unknown address error 550-'" U "... No such user'", NULL, NULL,
	  R_USERUNKNOWN, D_SUPPRESS, "5.0.911", 0, STAGE_UNKNOWN, -1,
	  "mail", "nouser", "" },
	{ "another mailbox in quotes", U,
	  "550 'v@mail.example... No such user'", NULL, NULL,
	  R_USERUNKNOWN, 0, "5.0.911", 550, STAGE_UNKNOWN, 0, "mail",
	  "nouser", "guard=other-address" },
	{ "the recipient between UTF-8 guillemets", U,
	  "550 5.1.1 no such user \xc2\xab" U "\xc2\xbb", NULL, NULL,
	  R_USERUNKNOWN, D_SUPPRESS, "5.1.1", 550, STAGE_UNKNOWN, 0, "mail",
	  "nouser", "" },
	{ "the recipient before a UTF-8 apostrophe", U,
	  "550 5.1.1 " U "\xe2\x80\x99s mailbox: no such user", NULL, NULL,
	  R_USERUNKNOWN, D_SUPPRESS, "5.1.1", 550, STAGE_UNKNOWN, 0, "mail",
	  "nouser", "" },
	{ "the recipient with UTF-8 letters in its local part",
	  "j\xc3\xa9r\xc3\xb4me@mail.example",
	  "550 5.1.1 <j\xc3\xa9r\xc3\xb4me@mail.example>: no such user", NULL,
	  NULL, R_USERUNKNOWN, D_SUPPRESS, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "" },
	{ "another mailbox with UTF-8 letters in its local part", U,
	  "550 5.1.1 <j\xc3\xa9r\xc3\xb4me@mail.example>: no such user", NULL,
	  NULL, R_USERUNKNOWN, 0, "5.1.1", 550, STAGE_UNKNOWN, 0, "mail",
	  "nouser", "guard=other-address" },
	{ "another mailbox before an ideographic full stop", U,
	  "550 5.1.1 no such user v@mail.example\xe3\x80\x82", NULL, NULL,
	  R_USERUNKNOWN, 0, "5.1.1", 550, STAGE_UNKNOWN, 0, "mail",
	  "nouser", "guard=other-address" },
	{ "other domain names the sender of a refusal", U,
	  "550 Go away, s@sender.example", NULL, NULL, R_REJECTED,
	  D_SUPPRESS, "5.0.918", 550, STAGE_UNKNOWN, 0, "mail", "goaway", "" },
	{ "the recipient named among others", U,
	  "550 No such user U@Mail.Example (from s@mail.example)", NULL, NULL,
	  R_USERUNKNOWN, D_SUPPRESS, "5.0.911", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "" },
	{ "a contact address is not another mailbox", "<u@mail.example>",
	  "550 No such user; write to postmaster@mail.example.", NULL, NULL,
	  R_USERUNKNOWN, D_SUPPRESS, "5.0.911", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "" },
	{ "a local part alone names nobody", U, "550 No such user [v]", NULL,
	  NULL, R_USERUNKNOWN, D_SUPPRESS, "5.0.911", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "" },
	{ "a moved mailbox names its new address", U,
	  "551 5.1.6 Constrained, now at v@mail.example", NULL, NULL,
	  R_HASMOVED, D_SUPPRESS, "5.1.6", 551, STAGE_UNKNOWN, 0,
	  "mail", "code-constrained", "" },

	/* No rule matches. */
	{ "undefined 4xx retries", U, "451 4.3.0 Something odd", NULL, NULL,
	  R_UNDEFINED, D_RETRY, "4.3.0", 451, STAGE_UNKNOWN, 1,
	  "mail", NULL, "" },
	{ "undefined 5xx does nothing", U, "550 5.9.9 Something odd", NULL,
	  NULL, R_UNDEFINED, 0, "5.9.9", 550, STAGE_UNKNOWN, 0,
	  "mail", NULL, "" },
	{ "undefined, no code", U, "Something odd", NULL, NULL,
	  R_UNDEFINED, 0, "5.0.900", 0, STAGE_UNKNOWN, -1,
	  "mail", NULL, "" },
	{ "undefined, 4xx by dsn", U, "Something odd", "4.4.1", NULL,
	  R_UNDEFINED, D_RETRY, "4.4.1", 0, STAGE_UNKNOWN, 1,
	  "mail", NULL, "" },
	{ "undefined, 5xx by dsn", U, "Something odd", "5.4.4", NULL,
	  R_UNDEFINED, 0, "5.4.4", 0, STAGE_UNKNOWN, 0,
	  "mail", NULL, "" },
	{ "undefined 4xx no status", U, "421 Something odd", NULL, NULL,
	  R_UNDEFINED, D_RETRY, "4.0.900", 421, STAGE_UNKNOWN, 1,
	  "mail", NULL, "" },
	{ "undefined, no provider", O, "550 Something odd", NULL, NULL,
	  R_UNDEFINED, 0, "5.0.900", 550, STAGE_UNKNOWN, 0,
	  "-", NULL, "" },

	/* Details. */
	{ "named groups", U, "550 5.7.1 Mail from 192.0.2.9 listed by "
	  "SpamCop see http://bl.example/q?ip=192.0.2.9 retry in 15 min",
	  NULL, NULL, R_BLOCKED, D_ALERT, "5.7.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "listed", "source=test blocklist=spamcop ip=192.0.2.9 "
	  "url=http://bl.example/q?ip=192.0.2.9 retry_after=900" },
	{ "named groups, some unset", U,
	  "554 Mail from 198.51.100.3 listed by SPAMHAUS", NULL, NULL,
	  R_BLOCKED, D_ALERT, "5.0.971", 554, STAGE_UNKNOWN, 0,
	  "mail", "listed", "source=test blocklist=spamhaus ip=198.51.100.3" },
	{ "static details", U, "554 5.7.1 Static details", NULL, NULL,
	  R_FILTERED, 0, "5.7.1", 554, STAGE_UNKNOWN, 0,
	  "mail", "static", "a=1 b=two" },

	/* Order: first match in file order, provider before generic. */
	{ "first rule wins", U, "550 Order test", NULL, NULL,
	  R_EXPIRED, D_RETRY, "5.0.947", 550, STAGE_UNKNOWN, 0,
	  "mail", "order-first", "" },
	{ "first rule wins, 4xx", U, "450 Order test", NULL, NULL,
	  R_EXPIRED, D_RETRY, "4.0.947", 450, STAGE_UNKNOWN, 1,
	  "mail", "order-first", "" },
	{ "second rule when the first fails", U, "550 Order only", NULL, NULL,
	  R_FILTERED, 0, "5.0.910", 550, STAGE_UNKNOWN, 0,
	  "mail", "order-second", "" },
	{ "provider before generic", U, "550 5.1.1 No such user", NULL, NULL,
	  R_USERUNKNOWN, D_SUPPRESS, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "" },
	{ "generic without provider", O, "550 5.1.1 No such user", NULL, NULL,
	  R_USERUNKNOWN, D_SUPPRESS, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "-", "generic-nouser", "" },
	{ "generic after provider", U, "550 5.1.1 User unknown", NULL, NULL,
	  R_USERUNKNOWN, D_SUPPRESS, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "generic-nouser", "" },

	/* Provider by recipient domain, by relay, by the reply's host. */
	{ "provider by relay", O, "550 5.1.1 No such user", NULL,
	  "b.mx.example",
	  R_USERUNKNOWN, D_SUPPRESS, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "" },
	{ "relay before the reply's host", O,
	  "host mx.other.example[192.0.2.7] said: 550 5.1.1 No such user "
	  "(in reply to RCPT TO command)", NULL, "b.mx.example",
	  R_USERUNKNOWN, D_SUPPRESS, "5.1.1", 550, STAGE_RCPT, 0,
	  "mail", "nouser", "" },
	{ "domain before relay", "u@MAIL.example", "550 5.1.1 No such user",
	  NULL, "mx.other.example",
	  R_USERUNKNOWN, D_SUPPRESS, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "" },

	/* Code constraints. */
	{ "code matches", U, "551 5.1.6 Constrained", NULL, NULL,
	  R_HASMOVED, D_SUPPRESS, "5.1.6", 551, STAGE_UNKNOWN, 0,
	  "mail", "code-constrained", "" },
	{ "code matches 45x", U, "452 Constrained", NULL, NULL,
	  R_HASMOVED, D_RETRY, "4.0.916", 452, STAGE_UNKNOWN, 1,
	  "mail", "code-constrained", "guard=temporary" },
	{ "code does not match", U, "550 Constrained", NULL, NULL,
	  R_UNDEFINED, 0, "5.0.900", 550, STAGE_UNKNOWN, 0,
	  "mail", NULL, "" },
	{ "no code does not match a code", U, "Constrained", "5.1.6", NULL,
	  R_UNDEFINED, 0, "5.1.6", 0, STAGE_UNKNOWN, 0,
	  "mail", NULL, "" },
	{ "code none matches no code", U, "No code here", NULL, NULL,
	  R_NETWORKERROR, D_RETRY, "4.0.944", 0, STAGE_UNKNOWN, -1,
	  "mail", "no-code", "" },
	{ "code none refuses a code", U, "550 No code here", NULL, NULL,
	  R_UNDEFINED, 0, "5.0.900", 550, STAGE_UNKNOWN, 0,
	  "mail", NULL, "" },
	{ "code only", U, "521 5.3.2 Whatever it says", NULL, NULL,
	  R_NOTACCEPT, D_SUPPRESS, "5.3.2", 521, STAGE_UNKNOWN, 0,
	  "mail", "code-only", "" },

	/* Status constraints, and the dsn hint. */
	{ "status matches", U, "552 5.2.2 Stcon", NULL, NULL,
	  R_MAILBOXFULL, D_RETRY, "5.2.2", 552, STAGE_UNKNOWN, 0,
	  "mail", "status-constrained", "" },
	{ "status does not match", U, "550 5.1.1 Stcon", NULL, NULL,
	  R_UNDEFINED, 0, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", NULL, "" },
	{ "no status does not match", U, "552 Stcon", NULL, NULL,
	  R_UNDEFINED, 0, "5.0.900", 552, STAGE_UNKNOWN, 0,
	  "mail", NULL, "" },
	{ "dsn hint when the reply has none", U, "552 Stcon", "5.2.1", NULL,
	  R_MAILBOXFULL, D_RETRY, "5.2.1", 552, STAGE_UNKNOWN, 0,
	  "mail", "status-constrained", "" },
	{ "dsn hint, no code", U, "Stcon", "4.4.1", NULL,
	  R_MAILBOXFULL, D_RETRY, "4.4.1", 0, STAGE_UNKNOWN, 1,
	  "mail", "status-constrained", "" },
	{ "the reply's status before the dsn", U, "550 5.1.1 Stcon", "5.2.2",
	  NULL, R_UNDEFINED, 0, "5.1.1", 550, STAGE_UNKNOWN, 0,
	  "mail", NULL, "" },
	{ "a bad dsn is no status", U, "552 Stcon", "5.2", NULL,
	  R_UNDEFINED, 0, "5.0.900", 552, STAGE_UNKNOWN, 0,
	  "mail", NULL, "" },

	/* Stage constraints. */
	{ "stage matches", O,
	  MX " said: 554 5.7.1 Stagecon (in reply to end of DATA command)",
	  NULL, NULL, R_CONTENTERROR, D_ALERT, "5.7.1", 554, STAGE_EOD, 0,
	  "mail", "stage-constrained", "" },
	{ "stage does not match", O,
	  MX " said: 554 5.7.1 Stagecon (in reply to RCPT TO command)",
	  NULL, NULL, R_UNDEFINED, 0, "5.7.1", 554, STAGE_RCPT, 0,
	  "mail", NULL, "" },
	{ "unknown stage does not match", U, "554 5.7.1 Stagecon", NULL, NULL,
	  R_UNDEFINED, 0, "5.7.1", 554, STAGE_UNKNOWN, 0,
	  "mail", NULL, "" },

	/* Derived statuses. */
	{ "derived status 5xx", U, "550 No such user", NULL, NULL,
	  R_USERUNKNOWN, D_SUPPRESS, "5.0.911", 550, STAGE_UNKNOWN, 0,
	  "mail", "nouser", "" },
	{ "derived status 4xx", U, "450 Slow down", NULL, NULL,
	  R_SPEEDING, D_RETRY, "4.0.946", 450, STAGE_UNKNOWN, 1,
	  "mail", "slowdown", "" },
};

/* Do a and b hold the same space-separated tokens, in any order? */
static int
same_tokens(const char *a, const char *b)
{
	char *ca = xstrdup(a), *cb = xstrdup(b), *t, *save;
	size_t na = 0, nb = 0;
	int ok = 1;

	for (t = strtok_r(ca, " ", &save); t != NULL;
	    t = strtok_r(NULL, " ", &save)) {
		char *pat = xasprintf(" %s ", t), *hay = xasprintf(" %s ", b);

		if (strstr(hay, pat) == NULL)
			ok = 0;
		free(pat);
		free(hay);
		na++;
	}
	for (t = strtok_r(cb, " ", &save); t != NULL;
	    t = strtok_r(NULL, " ", &save))
		nb++;
	free(ca);
	free(cb);
	return ok && na == nb;
}

static void
check_case(struct classifier *c, const struct cl_case *k)
{
	struct reply_facts facts;
	struct classification cl;
	char got[64], want[64];

	classify(c, rs, k->rcpt, k->reply, strlen(k->reply), k->dsn, k->relay,
	    &cl);
	ck_assert_msg(cl.reason == k->reason && cl.decision == k->decision,
	    "%s: got %s %s, want %s %s (rule %s, details \"%s\")", k->name,
	    reason_name(cl.reason), decision_format(cl.decision, got,
	    sizeof(got)), reason_name(k->reason), decision_format(k->decision,
	    want, sizeof(want)), cl.rule ? cl.rule->name : "-", cl.details);
	ck_assert_msg(k->rule == NULL ? cl.rule == NULL :
	    cl.rule != NULL && strcmp(cl.rule->name, k->rule) == 0,
	    "%s: rule %s, want %s", k->name, cl.rule ? cl.rule->name : "-",
	    k->rule ? k->rule : "-");
	ck_assert_msg(strcmp(cl.status, k->status) == 0,
	    "%s: status %s, want %s", k->name, cl.status, k->status);
	ck_assert_msg(cl.code == k->code, "%s: code %d, want %d", k->name,
	    cl.code, k->code);
	ck_assert_msg(cl.stage == k->stage, "%s: stage %s, want %s", k->name,
	    stage_name(cl.stage), stage_name(k->stage));
	ck_assert_msg(cl.temporary == k->temporary,
	    "%s: temporary %d, want %d", k->name, cl.temporary, k->temporary);
	ck_assert_msg(strcmp(provider_name(cl.provider), k->provider) == 0,
	    "%s: provider %s, want %s", k->name, provider_name(cl.provider),
	    k->provider);
	ck_assert_msg(same_tokens(cl.details, k->details),
	    "%s: details \"%s\", want \"%s\"", k->name, cl.details,
	    k->details);
	/* The typed facts say what the details text says. */
	facts_parse(&facts, k->details);
	ck_assert_msg(facts.retry_after == cl.facts.retry_after &&
	    strcmp(facts.blocklist, cl.facts.blocklist) == 0 &&
	    strcmp(facts.ip, cl.facts.ip) == 0 &&
	    strcmp(facts.url, cl.facts.url) == 0,
	    "%s: facts %lld \"%s\" \"%s\" \"%s\", want those of \"%s\"",
	    k->name, cl.facts.retry_after, cl.facts.blocklist, cl.facts.ip,
	    cl.facts.url, k->details);
	ck_assert_ptr_nonnull(cl.reply);
	ck_assert_int_eq(cl.reply->code, cl.code);
}

START_TEST(test_cases)
{
	struct classifier *c = classifier_new(rs);

	ck_assert_ptr_nonnull(c);
	check_case(c, &cases[_i]);
	classifier_free(c);
}
END_TEST

/* One classifier for every case, forwards and back: nothing carries over. */
START_TEST(test_reuse)
{
	struct classifier *c = classifier_new(rs);
	size_t i, n = sizeof(cases) / sizeof(cases[0]);

	for (i = 0; i < n; i++)
		check_case(c, &cases[i]);
	for (i = n; i-- > 0; )
		check_case(c, &cases[i]);
	classifier_free(c);
	classifier_free(NULL);
}
END_TEST

START_TEST(test_rule_position)
{
	struct classifier *c = classifier_new(rs);
	struct classification cl;
	char buf[64];
	static const char r1[] = "550 5.1.1 No such user";
	static const char r2[] = "550 5.9.9 Something odd";

	classify(c, rs, U, r1, strlen(r1), NULL, NULL, &cl);
	ck_assert_str_eq(classification_rule(&cl, buf, sizeof(buf)),
	    "mail.rules:6");
	classify(c, rs, O, r1, strlen(r1), NULL, NULL, &cl);
	ck_assert_str_eq(classification_rule(&cl, buf, sizeof(buf)),
	    "zz-generic.rules:2");
	classify(c, rs, U, r2, strlen(r2), NULL, NULL, &cl);
	ck_assert_str_eq(classification_rule(&cl, buf, sizeof(buf)), "-");
	classifier_free(c);
}
END_TEST

/* The text is len bytes, not up to a NUL. */
START_TEST(test_length)
{
	struct classifier *c = classifier_new(rs);
	struct classification cl;
	static const char r[] = "550 5.1.1 No such user";
	char *p;

	p = xmalloc(sizeof(r) - 1);
	memcpy(p, r, sizeof(r) - 1);		/* no NUL: ASan watches */
	classify(c, rs, U, p, sizeof(r) - 1, NULL, NULL, &cl);
	ck_assert_int_eq(cl.reason, R_USERUNKNOWN);
	classify(c, rs, U, p, 13, NULL, NULL, &cl);	/* "550 5.1.1 No" */
	ck_assert_int_eq(cl.reason, R_UNDEFINED);
	free(p);
	classifier_free(c);
}
END_TEST

/* A NULL or address-less recipient is only a missing domain. */
START_TEST(test_odd_recipients)
{
	struct classifier *c = classifier_new(rs);
	struct classification cl;
	static const char r[] = "550 5.1.1 No such user";

	classify(c, rs, NULL, r, strlen(r), NULL, NULL, &cl);
	ck_assert_str_eq(provider_name(cl.provider), "-");
	ck_assert_int_eq(cl.reason, R_USERUNKNOWN);
	classify(c, rs, "", r, strlen(r), NULL, NULL, &cl);
	ck_assert_str_eq(provider_name(cl.provider), "-");
	classify(c, rs, "nobody", r, strlen(r), NULL, NULL, &cl);
	ck_assert_str_eq(provider_name(cl.provider), "-");
	classify(c, rs, "<u@mail.example>", r, strlen(r), NULL, NULL, &cl);
	ck_assert_str_eq(provider_name(cl.provider), "mail");
	classify(c, rs, "a@b@mail.example", r, strlen(r), NULL, NULL, &cl);
	ck_assert_str_eq(provider_name(cl.provider), "mail");
	classifier_free(c);
}
END_TEST

/* --- classify_run_tests ------------------------------------------------ */

static const char vector_rules[] =
	"provider vec\n"					/* 1 */
	"domain vec.example\n"
	"rule nouser\n"
	"\tmatch no such user\n"
	"\treason userunknown\n"				/* 5 */
	"\tdecision suppress\n"
	"\ttest 550 5.1.1 No such user => userunknown suppress\n"
	"\ttest 550 5.1.1 No such user => userunknown retry\n"
	"\ttest <\"q\"@vec.example> 550 5.1.1 No such user => userunknown "
	"alert quoted-local-part\n"
	"\ttest 450 4.1.1 No such user => userunknown retry guard=temporary\n"
	"\ttest 550 5.1.1 No such user => userunknown suppress ip=1.2.3.4\n"
	"rule listed\n"
	"\tmatch listed (?<ip>[\\d.]+)\n"
	"\treason blocked\n"
	"\tdecision alert\n"					/* 15 */
	"\ttest 554 listed 192.0.2.1 => blocked alert ip=192.0.2.1\n"
	"\ttest 554 listed 192.0.2.1 => blocked alert ip=192.0.2.2\n"
	"\ttest 554 something else => undefined none\n"
	"\ttest 554 something else => blocked alert\n";

/* The sender's address beside the recipient's does not name someone else. */
START_TEST(test_senders)
{
	struct classifier *c = classifier_new(rs);
	struct classification cl;
	static const char *const snd[] = { "s@sender.example" };
	const char *reply = "550 No such user; mail from s@sender.example";

	ck_assert_ptr_nonnull(c);
	classify(c, rs, U, reply, strlen(reply), NULL, NULL, &cl);
	ck_assert_uint_eq(cl.decision, 0);
	ck_assert_str_eq(cl.details, "guard=other-address");
	classifier_senders(c, snd, 1);
	classify(c, rs, U, reply, strlen(reply), NULL, NULL, &cl);
	ck_assert_uint_eq(cl.decision, D_SUPPRESS);
	ck_assert_str_eq(cl.details, "");
	/* A fellow recipient still counts. */
	reply = "550 No such user v@mail.example; mail from s@sender.example";
	classify(c, rs, U, reply, strlen(reply), NULL, NULL, &cl);
	ck_assert_uint_eq(cl.decision, 0);
	/* The sender alone, as the subject: about us, not the recipient. */
	reply = "550 <s@sender.example>... No such user";
	classify(c, rs, U, reply, strlen(reply), NULL, NULL, &cl);
	ck_assert_uint_eq(cl.decision, 0);
	ck_assert_str_eq(cl.details, "guard=other-address");
	classifier_senders(c, NULL, 0);
	reply = "550 No such user; mail from s@sender.example";
	classify(c, rs, U, reply, strlen(reply), NULL, NULL, &cl);
	ck_assert_uint_eq(cl.decision, 0);
	classifier_free(c);
}
END_TEST

/*
 * The other recipients given the same text beside the recipient's own
 * address do not name someone else; without the recipient, or with an
 * address that is none of them, or after DATA, they still do.
 */
START_TEST(test_cohort)
{
	struct classifier *c = classifier_new(rs);
	struct classification cl;
	static const char *const co[] = { "bob@example.org" };
	const char *reply = "Your message to ann@example.org, bob@example.org "
	    "was not delivered. Reason: user unknown";

	ck_assert_ptr_nonnull(c);
	classify(c, rs, "ann@example.org", reply, strlen(reply), NULL, NULL,
	    &cl);
	ck_assert_uint_eq(cl.decision, 0);
	ck_assert_str_eq(cl.details, "guard=other-address");
	classifier_cohort(c, co, 1);
	classify(c, rs, "ann@example.org", reply, strlen(reply), NULL, NULL,
	    &cl);
	ck_assert_uint_eq(cl.decision, D_SUPPRESS);
	ck_assert_str_eq(cl.details, "");
	/* Only the other recipient: its text, not ann's. */
	reply = "550 5.1.1 <bob@example.org>: user unknown";
	classify(c, rs, "ann@example.org", reply, strlen(reply), NULL, NULL,
	    &cl);
	ck_assert_uint_eq(cl.decision, 0);
	/* An address beyond them (a forward target) still counts. */
	reply = "Your message to ann@example.org, bob@example.org was not "
	    "delivered: forwarded to ann@example.net: user unknown";
	classify(c, rs, "ann@example.org", reply, strlen(reply), NULL, NULL,
	    &cl);
	ck_assert_uint_eq(cl.decision, 0);
	/* One reply to DATA for both: no verdict on either. */
	reply = "host mx.example.org[192.0.2.7] said: 550 5.1.1 user unknown "
	    "ann@example.org, bob@example.org (in reply to end of DATA "
	    "command)";
	classifier_transaction(c, 2, STAGE_UNKNOWN);
	classify(c, rs, "ann@example.org", reply, strlen(reply), NULL, NULL,
	    &cl);
	ck_assert_uint_eq(cl.decision, 0);
	classifier_transaction(c, 0, STAGE_UNKNOWN);
	classifier_cohort(c, NULL, 0);
	classifier_free(c);
}
END_TEST

START_TEST(test_run_tests)
{
	struct ruleset *vrs;
	char *dir, *err = NULL, *out = NULL;
	size_t outlen = 0, failed, ntests, nl = 0, i;
	FILE *fp;

	dir = testlib_tmpdir("vectors");
	free(testlib_write(dir, "vec.rules", vector_rules));
	vrs = ruleset_load(dir, &err);
	testlib_rmtree(dir);
	free(dir);
	ck_assert_msg(vrs != NULL, "refused: %s", err ? err : "");
	fp = open_memstream(&out, &outlen);
	ck_assert_ptr_nonnull(fp);
	failed = classify_run_tests(vrs, fp, &ntests, NULL);
	fclose(fp);
	ck_assert_uint_eq(ntests, 9);
	ck_assert_msg(failed == 4, "%zu failed:\n%s", failed, out);
	for (i = 0; i < outlen; i++)
		nl += out[i] == '\n';
	ck_assert_msg(nl == 4, "want 4 lines:\n%s", out);
	/* Each failure names its file by its path. */
	ck_assert_msg(*out == '/' && strstr(out, "/vec.rules:8: ") != NULL &&
	    strstr(out, "/vec.rules:8: ") < strchr(out, '\n'), "%s", out);
	ck_assert_msg(strstr(out, "/vec.rules:11: ") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "/vec.rules:17: ") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "/vec.rules:19: ") != NULL, "%s", out);
	/* What was wanted and what came, and the rule that decided. */
	ck_assert_msg(strstr(out, "/vec.rules:8: want userunknown retry, got "
	    "userunknown suppress (rule vec.rules:3)") != NULL, "%s", out);
	free(out);
	ruleset_unref(vrs);
}
END_TEST

#define NCASES(a)	((int)(sizeof(a) / sizeof((a)[0])))

/*
 * The scope guard that classify() and the engine share: the reason
 * first, then the stage.
 */
static const struct scope_case {
	enum smtp_stage		 stage;
	enum reason		 reason;
	enum scope_guard	 want;
} scopes[] = {
	{ STAGE_RCPT, R_USERUNKNOWN, GUARD_NONE },
	{ STAGE_DATA, R_USERUNKNOWN, GUARD_NONE },
	{ STAGE_EOD, R_FILTERED, GUARD_NONE },
	{ STAGE_UNKNOWN, R_MAILBOXFULL, GUARD_NONE },
	{ STAGE_CONNECT, R_USERUNKNOWN, GUARD_STAGE },
	{ STAGE_HELO, R_HOSTUNKNOWN, GUARD_STAGE },
	{ STAGE_MAIL, R_SUSPEND, GUARD_STAGE },
	{ STAGE_RCPT, R_BLOCKED, GUARD_REASON },
	{ STAGE_MAIL, R_SPEEDING, GUARD_REASON },
	{ STAGE_RCPT, R_COUNT, GUARD_REASON },
};

START_TEST(test_scope)
{
	const struct scope_case *sc = &scopes[_i];

	ck_assert_int_eq(verdict_scope(sc->stage, sc->reason), sc->want);
}
END_TEST

/* facts_parse(): the first of a key wins; flags and others are skipped. */
START_TEST(test_facts_parse)
{
	struct reply_facts f;

	facts_parse(&f, "guard=stage blocklist=spamhaus flag ip=192.0.2.1 "
	    "retry_after=600 blocklist=other url=http://x.example/?a=b "
	    "retry_after=60");
	ck_assert_int_eq(f.retry_after, 600);
	ck_assert_str_eq(f.blocklist, "spamhaus");
	ck_assert_str_eq(f.ip, "192.0.2.1");
	ck_assert_str_eq(f.url, "http://x.example/?a=b");
	facts_parse(&f, NULL);
	ck_assert_int_eq(f.retry_after, 0);
	ck_assert_str_eq(f.blocklist, "");
	ck_assert_int_eq(facts_set(&f, "ipx", 2, "192.0.2.7", 9), 1);
	ck_assert_str_eq(f.ip, "192.0.2.7");
	ck_assert_int_eq(facts_set(&f, "source", 6, "x", 1), 0);
}
END_TEST

static Suite *
classify_suite(void)
{
	Suite *s = suite_create("classify");
	TCase *tc;

	tc = tcase_create("cases");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_cases, 0, NCASES(cases));
	tcase_add_test(tc, test_reuse);
	tcase_add_test(tc, test_senders);
	tcase_add_test(tc, test_cohort);
	tcase_add_test(tc, test_rule_position);
	tcase_add_test(tc, test_length);
	tcase_add_test(tc, test_odd_recipients);
	suite_add_tcase(s, tc);

	tc = tcase_create("verdict");
	tcase_add_loop_test(tc, test_scope, 0, NCASES(scopes));
	tcase_add_test(tc, test_facts_parse);
	suite_add_tcase(s, tc);

		tc = tcase_create("vectors");
	tcase_add_test(tc, test_run_tests);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(classify_suite());
}
