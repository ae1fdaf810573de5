/*
 * check_rules.c -- loading rule sets, their errors, provider lookup,
 * and loading one without some files or rules
 *
 * Every case writes its own small set of *.rules files into a fresh
 * temporary directory and loads that, so nothing here depends on the
 * real rules/. An error must come back as "file:line: message" with
 * the right file and line, and refuse the whole set.
 *
 * See also: rules.h, bouncer-rules(5).
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "reply.h"
#include "rules.h"
#include "testlib.h"
#include "xalloc.h"

#define MAXFILES	3
#define MAXERRS		10

struct rfile {
	const char	*name;
	const char	*text;
};

/* Writes files into dir. */
static void
write_files(const char *dir, const struct rfile *files, size_t n)
{
	size_t i;

	for (i = 0; i < n && files[i].name != NULL; i++)
		free(testlib_write(dir, files[i].name, files[i].text));
}

/*
 * Writes files into a new temporary directory, loads it and removes
 * it. Returns the set, or NULL with *errp set. If dirp is not NULL,
 * *dirp is the directory's name (gone by then), which the caller frees.
 */
static struct ruleset *
load_files_at(const struct rfile *files, size_t n, char **errp,
    char **dirp)
{
	struct ruleset *rs;
	char *dir;

	dir = testlib_tmpdir("rules");
	write_files(dir, files, n);
	*errp = NULL;
	rs = ruleset_load(dir, errp);
	ck_assert_int_eq(testlib_rmtree(dir), 0);
	if (dirp != NULL)
		*dirp = dir;
	else
		free(dir);
	return rs;
}

static struct ruleset *
load_files(const struct rfile *files, size_t n, char **errp)
{
	return load_files_at(files, n, errp, NULL);
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* --- a valid set ------------------------------------------------------- */

static const struct rfile good_set[] = {
	{ "10-gmail.rules",
	  "# Gmail\n"					/* 1 */
	  "provider gmail\n"
	  "domain gmail.com googlemail.com\n"
	  "mx *.google.com\n"
	  "\n"						/* 5 */
	  "# 550-5.1.1 The email account ... does not exist\n"
	  "rule nosuchuser\n"
	  "\tmatch account that you tried to reach does not exist\n"
	  "\tcode 550\n"
	  "\tstatus 5.1.1\n"				/* 10 */
	  "\tstage rcpt\n"
	  "\treason userunknown\n"
	  "\tdecision suppress\n"
	  "\ttest <niaj@gmail.com> 550 5.1.1 The email account that you "
	  "tried to reach does not exist => userunknown suppress\n"
	  "\n"						/* 15 */
	  "rule ratelimit\n"
	  "\tmatch (?<ip>\\d+\\.\\d+\\.\\d+\\.\\d+) .* "
	  "(?<retry_after_min>\\d+) min.* (?<blocklist>SPAMHAUS)\n"
	  "\tcode 4xx 55x\n"
	  "\tstatus 4.7.x x.7.0\n"
	  "\tstage connect rcpt\n"			/* 20 */
	  "\treason blocked\n"
	  "\tdecision throttle,alert\n"
	  "\tdetail source=gmail kind=rate\n"
	  "\ttest 421 4.7.0 from 192.0.2.1 wait 5 min or Spamhaus => "
	  "blocked throttle,alert ip=192.0.2.1 retry_after=300 "
	  "blocklist=spamhaus\n" },
	{ "20-outlook.rules",
	  "provider outlook\n"				/* 1 */
	  "domain outlook.com hotmail.com *.outlook.jp\n"
	  "mx mx.example-eop.com *.protection.outlook.com\n"
	  "rule mailbox-unavailable\n"
	  "match mailbox unavailable\n"			/* 5 */
	  "reason userunknown\n"
	  "decision suppress\n" },
	{ "90-generic.rules",
	  "provider generic\n"				/* 1 */
	  "rule rfc-550\n"
	  "code 550\n"
	  "reason userunknown\n"
	  "decision suppress\n"				/* 5 */
	  "rule rfc-5-7\n"
	  "status 5.7.x\n"
	  "reason policyviolation\n"
	  "decision alert\n"
	  "test 554 5.7.1 no => policyviolation alert\n" },
};

static struct ruleset *
load_good(void)
{
	struct ruleset *rs;
	char *err;

	rs = load_files(good_set, MAXFILES, &err);
	ck_assert_msg(rs != NULL, "good set refused:\n%s", err ? err : "");
	ck_assert_ptr_null(err);
	return rs;
}

START_TEST(test_load_good)
{
	const struct rule *const *rules;
	const struct rule *r;
	const struct rule_test *t;
	struct ruleset *rs;
	size_t n;

	rs = load_good();
	rules = ruleset_rules(rs, &n);
	ck_assert_uint_eq(n, 5);

	r = rules[0];
	ck_assert_str_eq(r->name, "nosuchuser");
	ck_assert_str_eq(r->file, "10-gmail.rules");
	ck_assert_int_eq(r->line, 7);
	ck_assert_str_eq(provider_name(r->provider), "gmail");
	ck_assert_ptr_nonnull(r->re);
	ck_assert_uint_eq(r->ncodes, 1);
	ck_assert_str_eq(r->codes[0], "550");
	ck_assert_uint_eq(r->nstatuses, 1);
	ck_assert_int_eq(r->statuses[0].cls, 5);
	ck_assert_int_eq(r->statuses[0].subj, 1);
	ck_assert_int_eq(r->statuses[0].det, 1);
	ck_assert_uint_eq(r->stages, 1u << STAGE_RCPT);
	ck_assert_int_eq(r->reason, R_USERUNKNOWN);
	ck_assert_uint_eq(r->decision, D_SUPPRESS);
	ck_assert_str_eq(r->details, "");
	ck_assert_uint_eq(r->ngroups, 0);
	ck_assert_uint_eq(r->index, 0);

	r = rules[1];
	ck_assert_str_eq(r->name, "ratelimit");
	ck_assert_int_eq(r->line, 16);
	ck_assert_uint_eq(r->ncodes, 2);
	ck_assert_str_eq(r->codes[0], "4xx");
	ck_assert_str_eq(r->codes[1], "55x");
	ck_assert_uint_eq(r->nstatuses, 2);
	ck_assert_int_eq(r->statuses[0].cls, 4);
	ck_assert_int_eq(r->statuses[0].subj, 7);
	ck_assert_int_eq(r->statuses[0].det, -1);
	ck_assert_int_eq(r->statuses[1].cls, -1);
	ck_assert_int_eq(r->statuses[1].subj, 7);
	ck_assert_int_eq(r->statuses[1].det, 0);
	ck_assert_uint_eq(r->stages,
	    1u << STAGE_CONNECT | 1u << STAGE_RCPT);
	ck_assert_int_eq(r->reason, R_BLOCKED);
	ck_assert_uint_eq(r->decision, D_THROTTLE | D_ALERT);
	ck_assert_str_eq(r->details, "source=gmail kind=rate");
	ck_assert_uint_eq(r->ngroups, 3);
	/* PCRE2 lists named groups by name. */
	ck_assert_str_eq(r->groups[0].key, "blocklist");
	ck_assert_int_eq(r->groups[0].num, 3);
	ck_assert_int_eq(r->groups[0].lower, 1);
	ck_assert_uint_eq(r->groups[0].scale, 0);
	ck_assert_str_eq(r->groups[1].key, "ip");
	ck_assert_int_eq(r->groups[1].num, 1);
	ck_assert_int_eq(r->groups[1].lower, 0);
	ck_assert_str_eq(r->groups[2].key, "retry_after");
	ck_assert_int_eq(r->groups[2].num, 2);
	ck_assert_uint_eq(r->groups[2].scale, 60);
	ck_assert_uint_ge(ruleset_max_captures(rs), 4);

	r = rules[2];
	ck_assert_str_eq(r->name, "mailbox-unavailable");
	ck_assert_str_eq(r->file, "20-outlook.rules");
	ck_assert_int_eq(r->line, 4);
	ck_assert_uint_eq(r->ncodes, 0);
	ck_assert_uint_eq(r->nstatuses, 0);
	ck_assert_uint_eq(r->stages, 0);

	r = rules[3];
	ck_assert_str_eq(r->name, "rfc-550");
	ck_assert_ptr_null(r->re);
	ck_assert_str_eq(provider_name(r->provider), "generic");
	r = rules[4];
	ck_assert_str_eq(r->name, "rfc-5-7");
	ck_assert_int_eq(r->line, 6);
	ck_assert_uint_eq(r->index, 4);

	t = ruleset_tests(rs, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(t[0].file, "10-gmail.rules");
	ck_assert_int_eq(t[0].line, 14);
	ck_assert_str_eq(t[0].rcpt, "niaj@gmail.com");
	ck_assert_str_eq(t[0].reply, "550 5.1.1 The email account that you "
	    "tried to reach does not exist");
	ck_assert_int_eq(t[0].reason, R_USERUNKNOWN);
	ck_assert_uint_eq(t[0].decision, D_SUPPRESS);
	ck_assert_str_eq(t[0].tokens, "");
	/* Without <rcpt>: the provider's first domain. */
	ck_assert_str_eq(t[1].rcpt, "test@gmail.com");
	ck_assert_str_eq(t[1].tokens,
	    "ip=192.0.2.1 retry_after=300 blocklist=spamhaus");
	ck_assert_uint_eq(t[1].decision, D_THROTTLE | D_ALERT);
	/* A generic provider has no domain. */
	ck_assert_str_eq(t[2].rcpt, "test@example.org");
	ck_assert_int_eq(t[2].line, 10);
	ruleset_unref(rs);
}
END_TEST

START_TEST(test_refcount)
{
	struct ruleset *rs = load_good();
	size_t n;

	ck_assert_ptr_eq(ruleset_ref(rs), rs);
	ruleset_unref(rs);
	/* Still alive: ASan would catch a use after free here. */
	ruleset_rules(rs, &n);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(provider_name(ruleset_provider(rs, "gmail.com",
	    NULL)), "gmail");
	ruleset_unref(rs);
	ruleset_unref(NULL);
}
END_TEST

/* Only *.rules files count; others in the directory are ignored. */
START_TEST(test_other_files_ignored)
{
	static const struct rfile files[] = {
		{ "a.rules", "provider a\nrule r\ncode 550\nreason "
		  "userunknown\ndecision suppress\n" },
		{ "README", "not a rule file\n" },
		{ "b.rules~", "garbage\n" },
	};
	const struct rule *const *rules;
	struct ruleset *rs;
	char *err, *dir;
	size_t n;

	rs = load_files(files, 3, &err);
	ck_assert_msg(rs != NULL, "refused: %s", err ? err : "");
	rules = ruleset_rules(rs, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(rules[0]->name, "r");
	ruleset_unref(rs);

	/* A hidden .rules file too. */
	dir = testlib_tmpdir("rules");
	free(testlib_write(dir, "a.rules", files[0].text));
	free(testlib_write(dir, ".b.rules", "garbage\n"));
	rs = ruleset_load(dir, &err);
	testlib_rmtree(dir);
	free(dir);
	ck_assert_msg(rs != NULL, "refused: %s", err ? err : "");
	ruleset_unref(rs);
}
END_TEST

/* "code none": only replies without a code, alone or with codes. */
START_TEST(test_code_none)
{
	static const struct rfile files[] = {
		{ "a.rules", "provider a\n"
		  "rule own-text\nmatch timed out\ncode none\n"
		  "reason networkerror\ndecision retry\n"
		  "rule either\nmatch busy\ncode none 4xx\n"
		  "reason systemerror\ndecision retry\n" },
	};
	const struct rule *const *rules;
	struct ruleset *rs;
	char *err;
	size_t n;

	rs = load_files(files, 1, &err);
	ck_assert_msg(rs != NULL, "refused: %s", err ? err : "");
	rules = ruleset_rules(rs, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(rules[0]->nocode, 1);
	ck_assert_uint_eq(rules[0]->ncodes, 0);
	ck_assert_int_eq(rules[1]->nocode, 1);
	ck_assert_uint_eq(rules[1]->ncodes, 1);
	ck_assert_str_eq(rules[1]->codes[0], "4xx");
	ruleset_unref(rs);
}
END_TEST

/* --- errors ------------------------------------------------------------ */

struct err_case {
	const char	*name;
	struct rfile	 files[MAXFILES];
	/*
	 * The lines of the message, in any order: each is a shell
	 * pattern for the start of one line, after the directory's path
	 * and a slash.
	 */
	const char	*want[MAXERRS];
};

/* A rule that loads, to put errors around. */
#define OKRULE(n) \
	"rule " n "\nmatch x\nreason userunknown\ndecision suppress\n"

static const struct err_case err_cases[] = {
	{ "bad regex",
	  { { "a.rules", "provider a\nrule r\nmatch ab(cd\nreason "
	      "blocked\ndecision alert\n" } },
	  { "a.rules:3: bad pattern at offset 5: missing closing "
	    "parenthesis" } },
	{ "bad regex, later offset",
	  { { "a.rules", "provider a\n# c\n\nrule r\n  match abc[x\n"
	      "reason blocked\ndecision alert\n" } },
	  { "a.rules:5: bad pattern at offset 5: missing terminating ]" } },
	{ "unknown keyword",
	  { { "a.rules", "provider a\nrule r\nmatch x\nfrob y\nreason "
	      "blocked\ndecision alert\n" } },
	  { "a.rules:4: unknown keyword \"frob\"" } },
	{ "unknown keyword outside a rule",
	  { { "a.rules", "provider a\nfrob y\n" OKRULE("r") } },
	  { "a.rules:2: unknown keyword \"frob\"" } },
	{ "unknown reason",
	  { { "a.rules", "provider a\nrule r\nmatch x\nreason nosuch\n"
	      "decision alert\n" } },
	  { "a.rules:4: unknown reason \"nosuch\"" } },
	{ "reason of a later Sisimai",
	  { { "a.rules", "provider a\nrule r\nmatch x\nreason ratelimited\n"
	      "decision alert\n" } },
	  { "a.rules:4: unknown reason \"ratelimited\"" } },
	{ "unknown decision",
	  { { "a.rules", "provider a\nrule r\nmatch x\nreason blocked\n"
	      "decision alert,block\n" } },
	  { "a.rules:5: unknown decision \"block\"" } },
	{ "duplicate rule name",
	  { { "a.rules", "provider a\n" OKRULE("r") OKRULE("s")
	      OKRULE("r") } },
	  { "a.rules:10: duplicate rule name \"r\" (first at /*/a.rules:2)" } },
	{ "match outside a rule",
	  { { "a.rules", "provider a\nmatch x\n" OKRULE("r") } },
	  { "a.rules:2: \"match\" outside a rule" } },
	{ "reason outside a rule",
	  { { "a.rules", "provider a\ndomain a.example\nreason blocked\n" } },
	  { "a.rules:3: \"reason\" outside a rule" } },
	{ "missing reason",
	  { { "a.rules", "provider a\n\nrule r\nmatch x\ndecision alert\n"
	      OKRULE("s") } },
	  { "a.rules:3: rule r has no reason" } },
	{ "missing decision, at end of file",
	  { { "a.rules", "provider a\n" OKRULE("s") "rule r\nmatch x\n"
	      "reason blocked\n" } },
	  { "a.rules:6: rule r has no decision" } },
	{ "neither match nor code or status",
	  { { "a.rules", "provider a\nrule r\nstage rcpt\nreason blocked\n"
	      "decision alert\n" } },
	  { "a.rules:2: rule r has neither match nor a code or status" } },
	{ "suppress on blocked",
	  { { "a.rules", "provider a\nrule r\nmatch x\nreason blocked\n"
	      "decision suppress\n" } },
	  { "a.rules:2: rule r: reason blocked is about the sender" } },
	{ "suppress on authfailure",
	  { { "a.rules", "provider a\nrule r\nmatch x\nreason authfailure\n"
	      "decision retry,suppress\n" } },
	  { "a.rules:2: rule r: reason authfailure is about the sender" } },
	{ "suppress on spamdetected",
	  { { "a.rules", "provider a\nrule r\nmatch x\n"
	      "reason spamdetected\ndecision suppress\n" } },
	  { "a.rules:2: rule r: reason spamdetected is about the sender" } },
	{ "suppress on speeding",
	  { { "a.rules", "provider a\nrule r\nmatch x\nreason speeding\n"
	      "decision suppress\n" } },
	  { "a.rules:2: rule r: reason speeding is about the sender" } },
	{ "suppress at connect",
	  { { "a.rules", "provider a\nrule r\nmatch x\nstage connect\n"
	      "reason userunknown\ndecision suppress\n" } },
	  { "a.rules:2: rule r: a reply at the connect, helo or mail stage "
	    "may not suppress the recipient (decision suppress)" } },
	{ "suppress at helo",
	  { { "a.rules", "provider a\nrule r\nmatch x\nstage helo\n"
	      "reason userunknown\ndecision suppress\n" } },
	  { "a.rules:2: rule r: a reply at the connect, helo or mail stage" } },
	{ "suppress at mail among others",
	  { { "a.rules", "provider a\nrule r\nmatch x\nstage rcpt mail\n"
	      "reason userunknown\ndecision suppress,alert\n" } },
	  { "a.rules:2: rule r: a reply at the connect, helo or mail stage "
	    "may not suppress the recipient (decision suppress,alert)" } },
	{ "guard is a reserved detail",
	  { { "a.rules", "provider a\nrule r\nmatch x\nreason blocked\n"
	      "decision alert\ndetail guard=none\n" } },
	  { "a.rules:6: detail key \"guard\" is reserved for the classifier" } },
	{ "bad code, two digits",
	  { { "a.rules", "provider a\nrule r\ncode 55\nreason blocked\n"
	      "decision alert\n" } },
	  { "a.rules:3: bad code \"55\"" } },
	{ "bad code, class 6",
	  { { "a.rules", "provider a\nrule r\ncode 550 650\nreason blocked\n"
	      "decision alert\n" } },
	  { "a.rules:3: bad code \"650\"" } },
	{ "bad code, letter",
	  { { "a.rules", "provider a\nrule r\ncode 5a0\nreason blocked\n"
	      "decision alert\n" } },
	  { "a.rules:3: bad code \"5a0\"" } },
	{ "bad code, a word",
	  { { "a.rules", "provider a\nrule r\nmatch x\ncode nothing\n"
	      "reason blocked\ndecision alert\n" } },
	  { "a.rules:4: bad code \"nothing\"" } },
	{ "bad code, x first",
	  { { "a.rules", "provider a\nrule r\ncode x50\nreason blocked\n"
	      "decision alert\n" } },
	  { "a.rules:3: bad code \"x50\"" } },
	{ "bad status, two fields",
	  { { "a.rules", "provider a\nrule r\nstatus 5.1\nreason blocked\n"
	      "decision alert\n" } },
	  { "a.rules:3: bad status \"5.1\"" } },
	{ "bad status, class 3",
	  { { "a.rules", "provider a\nrule r\nstatus 3.1.1\n"
	      "reason blocked\ndecision alert\n" } },
	  { "a.rules:3: bad status \"3.1.1\"" } },
	{ "bad status, four fields",
	  { { "a.rules", "provider a\nrule r\nstatus 5.7.1 5.1.1.1\n"
	      "reason blocked\ndecision alert\n" } },
	  { "a.rules:3: bad status \"5.1.1.1\"" } },
	{ "bad status, letter",
	  { { "a.rules", "provider a\nrule r\nstatus 5.a.1\n"
	      "reason blocked\ndecision alert\n" } },
	  { "a.rules:3: bad status \"5.a.1\"" } },
	{ "bad status, long field",
	  { { "a.rules", "provider a\nrule r\nstatus 5.1.1000\n"
	      "reason blocked\ndecision alert\n" } },
	  { "a.rules:3: bad status \"5.1.1000\"" } },
	{ "bad stage",
	  { { "a.rules", "provider a\nrule r\nmatch x\nstage rcpt to\n"
	      "reason blocked\ndecision alert\n" } },
	  { "a.rules:4: unknown stage \"to\"" } },
	{ "bad stage, upper case",
	  { { "a.rules", "provider a\nrule r\nmatch x\nstage RCPT\n"
	      "reason blocked\ndecision alert\n" } },
	  { "a.rules:4: unknown stage \"RCPT\"" } },
	{ "not starting with provider",
	  { { "a.rules", "# comment\n\ndomain a.example\nprovider a\n" } },
	  { "a.rules:3: the first keyword must be \"provider\"",
	    "a.rules:4: a file names one provider" } },
	{ "no provider at all",
	  { { "a.rules", "match x\n" } },
	  { "a.rules:1: the first keyword must be \"provider\"" } },
	{ "empty file",
	  { { "a.rules", "# nothing\n" } },
	  { "a.rules:1: empty file: no provider" } },
	{ "domain after a rule",
	  { { "a.rules", "provider a\n" OKRULE("r") "domain a.example\n" } },
	  { "a.rules:6: domain must come before the first rule" } },
	{ "mx after a rule",
	  { { "a.rules", "provider a\ndomain a.example\n" OKRULE("r")
	      "\nmx mx.a.example\n" } },
	  { "a.rules:8: mx must come before the first rule" } },
	{ "domain claimed twice",
	  { { "a.rules", "provider a\ndomain a.example shared.example\n"
	      OKRULE("r") },
	    { "b.rules", "provider b\n\ndomain b.example SHARED.example\n"
	      OKRULE("r") } },
	  { "b.rules:3: domain shared.example already belongs to "
	    "provider a" } },
	{ "mx claimed twice",
	  { { "a.rules", "provider a\nmx *.mx.example\n" OKRULE("r") },
	    { "b.rules", "provider b\nmx *.mx.example\n" OKRULE("r") } },
	  { "b.rules:2: mx *.mx.example already belongs to provider a" } },
	{ "bad domain",
	  { { "a.rules", "provider a\ndomain a_b.example\n" OKRULE("r") } },
	  { "a.rules:2: bad domain \"a_b.example\"" } },
	{ "second provider line",
	  { { "a.rules", "provider a\nprovider b\n" OKRULE("r") } },
	  { "a.rules:2: a file names one provider" } },
	{ "bad provider name",
	  { { "a.rules", "provider Big_Mail\n" OKRULE("r") } },
	  { "a.rules:1: provider needs one name" } },
	{ "bad rule name",
	  { { "a.rules", "provider a\nrule No.1\nmatch x\n"
	      "reason blocked\ndecision alert\n" } },
	  { "a.rules:2: rule needs a name" } },
	{ "keyword twice",
	  { { "a.rules", "provider a\nrule r\nmatch x\nmatch y\n"
	      "reason blocked\ndecision alert\n" } },
	  { "a.rules:4: rule r has a second \"match\"" } },
	{ "keyword without value",
	  { { "a.rules", "provider a\nrule r\nmatch x\ncode\n"
	      "reason blocked\ndecision alert\n" } },
	  { "a.rules:4: \"code\" needs a value" } },
	{ "detail not key=value",
	  { { "a.rules", "provider a\nrule r\nmatch x\ndetail a=b =c\n"
	      "reason blocked\ndecision alert\n" } },
	  { "a.rules:4: detail \"=c\" is not key=value" } },
	{ "bad group name",
	  { { "a.rules", "provider a\nrule r\nmatch (?<IP>x)\n"
	      "reason blocked\ndecision alert\n" } },
	  { "a.rules:3: group name \"IP\"" } },
	{ "test without arrow",
	  { { "a.rules", "provider a\n" OKRULE("r") "test 550 x\n" } },
	  { "a.rules:6: test needs \"REPLY => REASON DECISION\"" } },
	{ "test with bad decision",
	  { { "a.rules", "provider a\n" OKRULE("r")
	      "test 550 x => userunknown bounce\n" } },
	  { "a.rules:6: unknown decision \"bounce\"" } },
	{ "several errors in several files",
	  { { "a.rules", "provider a\nrule r\nmatch (\ncode 550 600\n"
	      "reason blocked\ndecision suppress\n" OKRULE("r") },
	    { "b.rules", "provider b\nrule s\nstage rcpt later\n"
	      "reason nosuch\n" },
	    { "c.rules", "" } },
	  { "a.rules:3: bad pattern at offset 1",
	    "a.rules:4: bad code \"600\"",
	    "a.rules:2: rule r: reason blocked is about the sender",
	    "a.rules:7: duplicate rule name \"r\" (first at /*/a.rules:2)",
	    "b.rules:3: unknown stage \"later\"",
	    "b.rules:4: unknown reason \"nosuch\"",
	    "b.rules:2: rule s has no decision",
	    "b.rules:2: rule s has neither match nor a code or status",
	    "c.rules:*: empty file: no provider" } },
};

/* Is there a line in msg that pattern, then anything, matches? */
static int
has_line(const char *msg, const char *pattern)
{
	char *pat, *copy, *line, *save;
	int found = 0;

	pat = xasprintf("%s*", pattern);
	copy = xstrdup(msg);
	for (line = strtok_r(copy, "\n", &save); line != NULL && !found;
	    line = strtok_r(NULL, "\n", &save))
		found = fnmatch(pat, line, 0) == 0;
	free(copy);
	free(pat);
	return found;
}

START_TEST(test_errors)
{
	const struct err_case *c = &err_cases[_i];
	struct ruleset *rs;
	char *err, *dir, *want;
	size_t i, nwant = 0;

	rs = load_files_at(c->files, MAXFILES, &err, &dir);
	ck_assert_msg(rs == NULL, "%s: loaded", c->name);
	ck_assert_msg(err != NULL && *err != '\0', "%s: no message", c->name);
	/* Each error names its file by its full path. */
	for (i = 0; i < MAXERRS && c->want[i] != NULL; i++, nwant++) {
		want = xasprintf("%s/%s", dir, c->want[i]);
		ck_assert_msg(has_line(err, want),
		    "%s: want a line \"%s\" in:\n%s", c->name, want, err);
		free(want);
	}
	ck_assert_msg(count_lines(err) == nwant,
	    "%s: want %zu lines, got:\n%s", c->name, nwant, err);
	free(err);
	free(dir);
}
END_TEST

/* Files are read, and so reported, in name order. */
START_TEST(test_errors_in_order)
{
	const struct err_case *c = &err_cases[sizeof(err_cases) /
	    sizeof(err_cases[0]) - 1];
	struct ruleset *rs;
	char *err;

	rs = load_files(c->files, MAXFILES, &err);
	ck_assert_ptr_null(rs);
	ck_assert_ptr_nonnull(err);
	ck_assert(strstr(err, "a.rules:") < strstr(err, "b.rules:"));
	ck_assert(strstr(err, "b.rules:") < strstr(err, "c.rules:"));
	free(err);
}
END_TEST

START_TEST(test_empty_dir)
{
	struct ruleset *rs;
	char *dir, *err = NULL;

	dir = testlib_tmpdir("rules");
	free(testlib_write(dir, "README", "no rules here\n"));
	rs = ruleset_load(dir, &err);
	ck_assert_int_eq(testlib_rmtree(dir), 0);
	ck_assert_ptr_null(rs);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, dir) != NULL &&
	    strstr(err, "no *.rules files") != NULL, "got: %s", err);
	ck_assert_uint_eq(count_lines(err), 1);
	free(err);
	free(dir);
}
END_TEST

START_TEST(test_missing_dir)
{
	struct ruleset *rs;
	char *dir, *path, *err = NULL;

	dir = testlib_tmpdir("rules");
	path = xasprintf("%s/nonexistent", dir);
	rs = ruleset_load(path, &err);
	testlib_rmtree(dir);
	ck_assert_ptr_null(rs);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, path) != NULL &&
	    strstr(err, "No such file or directory") != NULL, "got: %s", err);
	free(err);
	free(path);
	free(dir);
}
END_TEST

/* --- provider lookup --------------------------------------------------- */

struct lookup_case {
	const char	*domain;
	const char	*host;
	const char	*want;		/* provider, "-" for none */
};

static const struct lookup_case lookup_cases[] = {
	{ "gmail.com", NULL, "gmail" },
	{ "googlemail.com", "", "gmail" },
	{ "GMail.COM", NULL, "gmail" },
	{ "gmail.com.", NULL, "gmail" },
	{ "outlook.com", NULL, "outlook" },
	/* The domain before the host. */
	{ "hotmail.com", "aspmx.l.google.com", "outlook" },
	/* "*.outlook.jp": any depth below, not outlook.jp itself. */
	{ "foo.outlook.jp", NULL, "outlook" },
	{ "a.b.outlook.jp", NULL, "outlook" },
	{ "outlook.jp", NULL, "-" },
	{ "xoutlook.jp", NULL, "-" },
	{ "sub.gmail.com", NULL, "-" },			/* exact only */
	/* mx *.google.com */
	{ NULL, "alt1.aspmx.l.google.com", "gmail" },
	{ "example.org", "alt1.aspmx.l.google.com", "gmail" },
	{ "example.org", "ALT1.ASPMX.L.GOOGLE.COM", "gmail" },
	{ "example.org", "alt1.aspmx.l.google.com.", "gmail" },
	{ "example.org", "google.com", "-" },
	/* mx mx.example-eop.com: that host only */
	{ "example.org", "mx.example-eop.com", "outlook" },
	{ "example.org", "mx.example-eop.com.", "outlook" },
	{ "example.org", "a.mx.example-eop.com", "-" },
	{ "example.org",
	  "example-org.mail.protection.outlook.com", "outlook" },
	{ "gmail.com.example", "google.com.example", "-" },
	{ "example.org", "mx.example.org", "-" },
	{ "", "", "-" },
	{ NULL, NULL, "-" },
	{ ".", ".", "-" },
};

START_TEST(test_lookup)
{
	const struct lookup_case *c = &lookup_cases[_i];
	const struct provider *p;
	struct ruleset *rs = load_good();

	p = ruleset_provider(rs, c->domain, c->host);
	ck_assert_msg(strcmp(provider_name(p), c->want) == 0,
	    "provider(%s, %s) = %s, want %s", c->domain ? c->domain : "NULL",
	    c->host ? c->host : "NULL", provider_name(p), c->want);
	ruleset_unref(rs);
}
END_TEST

START_TEST(test_provider_names)
{
	struct ruleset *rs = load_good();
	const struct provider *p;

	ck_assert_str_eq(provider_name(NULL), "-");
	ck_assert_ptr_null(provider_first_domain(NULL));
	p = ruleset_provider(rs, "googlemail.com", NULL);
	ck_assert_str_eq(provider_first_domain(p), "gmail.com");
	p = ruleset_provider(rs, "foo.outlook.jp", NULL);
	ck_assert_str_eq(provider_first_domain(p), "outlook.com");
	ruleset_unref(rs);
}
END_TEST

/*
 * A host name is at most 253 bytes: a longer one (a mangled relay=,
 * "a.a.a...." for 60 KB) matches nothing and is not walked suffix by
 * suffix, each hashed whole.
 */
START_TEST(test_provider_long_name)
{
	struct ruleset *rs = load_good();
	char name[60001];
	size_t i;

	for (i = 0; i + 2 <= 60000 - 12; i += 2)
		memcpy(name + i, "a.", 2);
	strcpy(name + i, "outlook.jp");
	ck_assert_ptr_null(ruleset_provider(rs, name, name));
	/* 253 bytes is still a name. */
	strcpy(name, "ab.");
	for (i = 3; i < 243; i += 2)
		memcpy(name + i, "a.", 2);
	strcpy(name + i, "outlook.jp");
	ck_assert_uint_eq(strlen(name), 253);
	ck_assert_str_eq(provider_first_domain(ruleset_provider(rs, name,
	    NULL)), "outlook.com");
	strcat(name, ".");		/* the root's dot is no part of it */
	ck_assert_str_eq(provider_first_domain(ruleset_provider(rs, name,
	    NULL)), "outlook.com");
	ruleset_unref(rs);
}
END_TEST

/* A provider's own rules first, in file order, then the generic ones. */
START_TEST(test_chain)
{
	static const char *const gmail[] = {
		"nosuchuser", "ratelimit", "rfc-550", "rfc-5-7"
	};
	static const char *const outlook[] = {
		"mailbox-unavailable", "rfc-550", "rfc-5-7"
	};
	static const char *const generic[] = { "rfc-550", "rfc-5-7" };
	const struct rule *const *chain;
	struct ruleset *rs = load_good();
	size_t n, i;

	chain = ruleset_chain(rs, ruleset_provider(rs, "gmail.com", NULL),
	    &n);
	ck_assert_uint_eq(n, 4);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(chain[i]->name, gmail[i]);

	chain = ruleset_chain(rs, ruleset_provider(rs, NULL,
	    "x.protection.outlook.com"), &n);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(chain[i]->name, outlook[i]);

	chain = ruleset_chain(rs, NULL, &n);
	ck_assert_uint_eq(n, 2);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(chain[i]->name, generic[i]);
	ruleset_unref(rs);
}
END_TEST

/* Several generic files: all of them, in file-name order. */
START_TEST(test_chain_generic_files)
{
	static const struct rfile files[] = {
		{ "a-generic.rules", "provider zeta\n" OKRULE("z1") },
		{ "b-mail.rules", "provider mail\ndomain mail.example\n"
		  OKRULE("m1") OKRULE("m2") },
		{ "c-generic.rules", "provider alpha\n" OKRULE("a1") },
	};
	static const char *const want[] = { "m1", "m2", "z1", "a1" };
	const struct rule *const *chain;
	struct ruleset *rs;
	char *err;
	size_t n, i;

	rs = load_files(files, 3, &err);
	ck_assert_msg(rs != NULL, "refused: %s", err ? err : "");
	chain = ruleset_chain(rs, ruleset_provider(rs, "mail.example", NULL),
	    &n);
	ck_assert_uint_eq(n, 4);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(chain[i]->name, want[i]);
	chain = ruleset_chain(rs, NULL, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(chain[0]->name, "z1");
	ck_assert_str_eq(chain[1]->name, "a1");
	ruleset_unref(rs);
}
END_TEST

/* Rule names need only be unique within a provider. */
START_TEST(test_same_name_other_provider)
{
	static const struct rfile files[] = {
		{ "a.rules", "provider a\ndomain a.example\n" OKRULE("r") },
		{ "b.rules", "provider b\ndomain b.example\n" OKRULE("r") },
	};
	struct ruleset *rs;
	char *err;

	rs = load_files(files, 2, &err);
	ck_assert_msg(rs != NULL, "refused: %s", err ? err : "");
	ruleset_unref(rs);
}
END_TEST

/* --- leaving rules out ------------------------------------------------- */

/*
 * good_set less some files or rules: the chain for gmail.com (its
 * provider's rules and the generic ones, or the generic ones alone when
 * 10-gmail.rules is left out) and the number of test vectors left; or
 * the error that refuses the set.
 */
static const struct without_case {
	const char	*without[3];
	const char	*provider;	/* of gmail.com; "-" for none */
	const char	*chain;		/* rule names, space-separated */
	size_t		 ntests;
	const char	*err;		/* substring of the error, or NULL */
} without_cases[] = {
	{ { NULL }, "gmail", "nosuchuser ratelimit rfc-550 rfc-5-7", 3,
	  NULL },
	{ { "10-gmail.rules" }, "-", "rfc-550 rfc-5-7", 1, NULL },
	{ { "gmail:ratelimit" }, "gmail", "nosuchuser rfc-550 rfc-5-7", 2,
	  NULL },
	{ { "gmail:ratelimit", "gmail:ratelimit" }, "gmail",
	  "nosuchuser rfc-550 rfc-5-7", 2, NULL },
	{ { "generic:rfc-5-7", "gmail:nosuchuser" }, "gmail",
	  "ratelimit rfc-550", 1, NULL },
	{ { "20-outlook.rules", "generic:rfc-550" }, "gmail",
	  "nosuchuser ratelimit rfc-5-7", 3, NULL },
	{ { "nosuch.rules" }, NULL, NULL, 0,
	  "without nosuch.rules: no such file in " },
	{ { "gmail:nosuch" }, NULL, NULL, 0,
	  "without gmail:nosuch: no such rule in " },
	{ { "outlook:nosuchuser" }, NULL, NULL, 0,
	  "without outlook:nosuchuser: no such rule" },
	{ { "gmail" }, NULL, NULL, 0,
	  "without gmail: want a FILE.rules or a PROVIDER:RULE" },
	/* A rule of a file left out is not read, so not found either. */
	{ { "10-gmail.rules", "gmail:nosuchuser" }, NULL, NULL, 0,
	  "without gmail:nosuchuser: no such rule" },
};

START_TEST(test_without)
{
	const struct without_case *c = &without_cases[_i];
	const struct rule *const *chain, *const *rules;
	struct ruleset *rs;
	char *dir, *err = NULL, names[256];
	size_t i, n, nw;

	for (nw = 0; nw < 3 && c->without[nw] != NULL; nw++)
		;
	dir = testlib_tmpdir("rules");
	for (i = 0; i < MAXFILES; i++)
		free(testlib_write(dir, good_set[i].name, good_set[i].text));
	rs = ruleset_load_without(dir, c->without, nw, &err);
	ck_assert_int_eq(testlib_rmtree(dir), 0);
	free(dir);
	if (c->err != NULL) {
		ck_assert_msg(rs == NULL, "case %d: loaded", _i);
		ck_assert_msg(err != NULL && strstr(err, c->err) != NULL,
		    "case %d: want \"%s\" in \"%s\"", _i, c->err,
		    err ? err : "(null)");
		free(err);
		return;
	}
	ck_assert_msg(rs != NULL, "case %d: refused: %s", _i, err ? err : "");
	ck_assert_str_eq(provider_name(ruleset_provider(rs, "gmail.com", NULL)),
	    c->provider);
	chain = ruleset_chain(rs, ruleset_provider(rs, "gmail.com", NULL), &n);
	names[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(names, " ");
		strcat(names, chain[i]->name);
	}
	ck_assert_str_eq(names, c->chain);
	ruleset_tests(rs, &n);
	ck_assert_uint_eq(n, c->ntests);
	/* What is left is numbered without gaps. */
	rules = ruleset_rules(rs, &n);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(rules[i]->index, i);
	ruleset_unref(rs);
}
END_TEST

/* --- local rules ------------------------------------------------------ */

/* The operator's files, read before good_set's. */
static const struct rfile local_gmail[] = {
	{ "10-gmail.rules",
	  "provider gmail\n"				/* 1 */
	  "domain gmail.com googlemail.com\n"
	  "rule mine\n"
	  "match account that you tried to reach\n"
	  "reason userunknown\n"			/* 5 */
	  "decision retry\n"
	  "test 550 5.1.1 The account that you tried to reach => "
	  "userunknown retry\n" },
};

static const struct rfile local_new[] = {
	{ "05-corp.rules",
	  "provider corp\n"
	  "domain corp.example\n"
	  "rule quota\n"
	  "match over quota\n"
	  "reason mailboxfull\n"
	  "decision retry\n" },
	{ "95-generic-local.rules",
	  "provider generic\n"
	  "rule local-5-1\n"
	  "status 5.1.x\n"
	  "reason userunknown\n"
	  "decision suppress\n" },
};

/* A stock file that does not load, replaced by a good one. */
static const struct rfile stock_broken[] = {
	{ "10-gmail.rules", "provider gmail\nrule r\nmatch (\n" },
	{ "90-generic.rules", "provider generic\n" OKRULE("g") },
	{ NULL, NULL },
};

static const struct rfile local_bad[] = {
	{ "50-bad.rules", "provider bad\nrule r\nmatch x\nreason nosuch\n"
	  "decision alert\n" },
};

static const struct local_case {
	const char		*name;
	const struct rfile	*stock;		/* good_set if NULL */
	const struct rfile	*local;		/* NULL: none */
	size_t			 nlocal;
	const char		*without;
	const char		*chain;		/* gmail.com's rules */
	const char		*first;		/* first rule's file */
	size_t			 ntests;	/* vectors in all */
	size_t			 nover;		/* overridden */
	const char		*err;		/* L/: local dir */
} local_cases[] = {
	{ "no local directory", NULL, NULL, 0, NULL,
	  "nosuchuser ratelimit rfc-550 rfc-5-7", "10-gmail.rules", 3, 0,
	  NULL },
	{ "empty local directory", NULL, local_gmail, 0, NULL,
	  "nosuchuser ratelimit rfc-550 rfc-5-7", "10-gmail.rules", 3, 0,
	  NULL },
	{ "a local file replaces the stock one", NULL, local_gmail, 1, NULL,
	  "mine rfc-550 rfc-5-7", "L/10-gmail.rules", 4, 2, NULL },
	{ "new local files come first", NULL, local_new, 2, NULL,
	  "nosuchuser ratelimit local-5-1 rfc-550 rfc-5-7",
	  "L/05-corp.rules", 3, 0, NULL },
	{ "-x leaves out the local file and the stock one", NULL,
	  local_gmail, 1, "10-gmail.rules", "rfc-550 rfc-5-7",
	  "20-outlook.rules", 1, 0, NULL },
	{ "a broken stock file replaced", stock_broken, local_gmail, 1,
	  NULL, "mine g", "L/10-gmail.rules", 1, 0, NULL },
	{ "an error in a local file names its path", NULL, local_bad, 1,
	  NULL, NULL, NULL, 0, 0, "L/50-bad.rules:4: unknown reason" },
};

/* s with a leading "L/" made local's path. */
static char *
local_path(const char *local, const char *s)
{
	if (strncmp(s, "L/", 2) == 0)
		return xasprintf("%s/%s", local, s + 2);
	return xstrdup(s);
}

START_TEST(test_local)
{
	const struct local_case *c = &local_cases[_i];
	const struct rule *const *chain, *const *rules;
	const struct rule_test *t;
	const struct provider *gmail;
	struct ruleset *rs;
	char *stock, *local, *want, *err = NULL, names[256];
	size_t i, n, nover;

	stock = testlib_tmpdir("stock");
	local = testlib_tmpdir("local");
	write_files(stock, c->stock ? c->stock : good_set, MAXFILES);
	write_files(local, c->local, c->nlocal);
	if (c->local == NULL)
		ck_assert_int_eq(testlib_rmtree(local), 0);
	rs = ruleset_load_local(local, stock, &c->without, c->without ? 1 : 0,
	    &err);
	if (c->err != NULL) {
		want = local_path(local, c->err);
		ck_assert_msg(rs == NULL, "%s: loaded", c->name);
		ck_assert_msg(err != NULL && strncmp(err, want,
		    strlen(want)) == 0, "%s: want \"%s\" in \"%s\"", c->name,
		    want, err ? err : "(null)");
		free(want);
		free(err);
		goto out;
	}
	ck_assert_msg(rs != NULL, "%s: refused: %s", c->name, err ? err : "");
	gmail = ruleset_provider(rs, "gmail.com", NULL);
	chain = ruleset_chain(rs, gmail, &n);
	names[0] = '\0';
	for (i = 0; i < n; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names),
		    "%s%s", i > 0 ? " " : "", chain[i]->name);
	ck_assert_msg(strcmp(names, c->chain) == 0, "%s: chain \"%s\"",
	    c->name, names);
	rules = ruleset_rules(rs, &n);
	want = local_path(local, c->first);
	ck_assert_msg(strcmp(rules[0]->path, want) == 0 ||
	    (strchr(want, '/') == NULL && strcmp(rules[0]->file, want) == 0 &&
	    strncmp(rules[0]->path, stock, strlen(stock)) == 0),
	    "%s: first rule from %s", c->name, rules[0]->path);
	free(want);
	/* Overridden vectors are the stock file's, under the local path. */
	t = ruleset_tests(rs, &n);
	ck_assert_msg(n == c->ntests, "%s: %zu vectors", c->name, n);
	for (i = 0, nover = 0; i < n; i++) {
		if (t[i].overridden == NULL)
			continue;
		nover++;
		want = xasprintf("%s/%s", local, t[i].file);
		ck_assert_str_eq(t[i].overridden, want);
		free(want);
		want = xasprintf("%s/%s", stock, t[i].file);
		ck_assert_str_eq(t[i].path, want);
		free(want);
		ck_assert_ptr_eq(t[i].provider, gmail);
	}
	ck_assert_msg(nover == c->nover, "%s: %zu overridden", c->name, nover);
	ruleset_unref(rs);
out:
	if (c->local != NULL)
		ck_assert_int_eq(testlib_rmtree(local), 0);
	ck_assert_int_eq(testlib_rmtree(stock), 0);
	free(local);
	free(stock);
}
END_TEST

/* The stock directory named as the local one is read once. */
START_TEST(test_local_same_dir)
{
	struct ruleset *rs;
	char *dir, *err = NULL;
	size_t n;

	dir = testlib_tmpdir("rules");
	write_files(dir, good_set, MAXFILES);
	rs = ruleset_load_local(dir, dir, NULL, 0, &err);
	ck_assert_int_eq(testlib_rmtree(dir), 0);
	free(dir);
	ck_assert_msg(rs != NULL, "refused: %s", err ? err : "");
	ruleset_tests(rs, &n);
	ck_assert_uint_eq(n, 3);
	ruleset_rules(rs, &n);
	ck_assert_uint_eq(n, 5);
	ruleset_unref(rs);
}
END_TEST

/* A local "directory" that is a file cannot be read: an error. */
START_TEST(test_local_not_dir)
{
	struct ruleset *rs;
	char *dir, *file, *err = NULL;

	dir = testlib_tmpdir("rules");
	write_files(dir, good_set, MAXFILES);
	file = testlib_write(dir, "notadir", "x\n");
	rs = ruleset_load_local(file, dir, NULL, 0, &err);
	ck_assert_int_eq(testlib_rmtree(dir), 0);
	ck_assert_ptr_null(rs);
	ck_assert_msg(err != NULL && strstr(err, file) == err &&
	    strstr(err, "Not a directory") != NULL, "got: %s", err);
	free(err);
	free(file);
	free(dir);
}
END_TEST

#define NCASES(a)	((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc;

	tc = tcase_create("load");
	tcase_add_test(tc, test_load_good);
	tcase_add_test(tc, test_refcount);
	tcase_add_test(tc, test_other_files_ignored);
	tcase_add_test(tc, test_same_name_other_provider);
	tcase_add_test(tc, test_code_none);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_errors, 0, NCASES(err_cases));
	tcase_add_test(tc, test_errors_in_order);
	tcase_add_test(tc, test_empty_dir);
	tcase_add_test(tc, test_missing_dir);
	suite_add_tcase(s, tc);

	tc = tcase_create("lookup");
	tcase_add_loop_test(tc, test_lookup, 0, NCASES(lookup_cases));
	tcase_add_test(tc, test_provider_names);
	tcase_add_test(tc, test_provider_long_name);
	tcase_add_test(tc, test_chain);
	tcase_add_test(tc, test_chain_generic_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("without");
	tcase_add_loop_test(tc, test_without, 0, NCASES(without_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("local");
	tcase_add_loop_test(tc, test_local, 0, NCASES(local_cases));
	tcase_add_test(tc, test_local_same_dir);
	tcase_add_test(tc, test_local_not_dir);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(rules_suite());
}
