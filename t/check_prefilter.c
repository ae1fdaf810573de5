/*
 * check_prefilter.c -- the literal prefilter never hides a match
 *
 * The classifier skips a rule's regex when none of the literals the
 * pattern requires is in the text. That is only sound if the literals
 * really are required: checked here on crafted patterns (what is
 * extracted), and on every rule of the real rule set against every test
 * vector's text (a regex match implies a prefilter pass).
 */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "rules.h"
#include "testlib.h"

static const struct pcase {
	const char	*pattern;
	const char	*lits;		/* "|"-joined, or "" for none */
} pcases[] = {
	{ "does not exist", "does not exist" },
	{ "tried to reach does not exist|p=NoSuchUser",
	  "tried to reach does not exist|p=nosuchuser" },
	{ "user (is )?unknown", "unknown&user " },
	{ "mailbox\\s+full", "mailbox&full" },
	{ "over ?quota", "quota&over" },
	{ "quota exceeded|ab", "" },
	{ "spamhaus\\.org/query", "spamhaus.org/query" },
	{ "[0-9]+ spam", " spam" },
	{ "colou?r scheme", "r scheme&colo" },
	{ "x{0,3}yz{2}abc", "abc" },
	{ "a+bcd", "bcd" },
	{ "(?<ip>\\d+\\.\\d+) blocked", " blocked" },
	{ "(?x) spaced out", "" },
	{ "\\Qa.b\\E", "" },
	{ "(a|b)|cdef", "" },
	{ "^550 .*rejected$", "rejected&550 " },
	{ "banned sending IP", "banned sending ip" },
	{ "(?<url>https?://(?:www\\.)?spamhaus\\.org/query)",
	  "spamhaus.org/query&http&://" },
	{ "(?:mailbox|inbox) is full", " is full&mailbox|inbox" },
	{ "(?:mailbox|inbox)\\s+full", "mailbox|inbox&full" },
	{ "(?:quota|storage) (?:exceeded|full)", "quota|storage&exceeded|full" },
	{ "(?:ab|cd)e", "" },
	{ "(?=.*spam)x", "" },
	{ "(?!spam)abcdef", "abcdef" },
	{ "(?:exceeded)?limit", "limit" },
	{ "(?i)no such user", "no such user" },
	{ "x(?:one|two(?:three|four))", "one|three|four" },
};

START_TEST(test_extract)
{
	const struct pcase *pc = &pcases[_i];
	const struct rule *const *rules;
	char *dir, *body, *err = NULL, got[512];
	struct ruleset *rs;
	size_t n, i, off = 0, set;

	dir = testlib_tmpdir("prefilter");
	body = NULL;
	ck_assert_int_ge(asprintf(&body, "provider generic\nrule r\n"
	    "\tmatch %s\n\treason userunknown\n\tdecision none\n",
	    pc->pattern), 0);
	free(testlib_write(dir, "generic.rules", body));
	rs = ruleset_load(dir, &err);
	ck_assert_msg(rs != NULL, "%s: %s", pc->pattern, err ? err : "");
	rules = ruleset_rules(rs, &n);
	ck_assert_uint_eq(n, 1);
	got[0] = '\0';
	for (i = 0, set = 0; i < rules[0]->nlits; i++) {
		const char *sep = i == 0 ? "" : "|";

		if (i > 0 && i == rules[0]->setend[set]) {
			sep = "&";
			set++;
		}
		off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%s",
		    sep, rules[0]->lits[i]);
	}
	ck_assert_msg(strcmp(got, pc->lits) == 0, "pattern %s: literals "
	    "\"%s\", want \"%s\"", pc->pattern, got, pc->lits);
	ruleset_unref(rs);
	free(body);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_sound_on_rule_set)
{
	const char *dir = testlib_env("BOUNCER_RULES", "rules");
	const struct rule *const *rules;
	const struct rule_test *tests;
	pcre2_match_data *md;
	struct ruleset *rs;
	struct reply rp;
	size_t nrules, ntests, i, j, k, checked = 0;
	char *err = NULL, *lower;

	rs = ruleset_load(dir, &err);
	ck_assert_msg(rs != NULL, "rules in %s: %s", dir, err ? err : "");
	rules = ruleset_rules(rs, &nrules);
	tests = ruleset_tests(rs, &ntests);
	md = pcre2_match_data_create(ruleset_max_captures(rs), NULL);
	reply_init(&rp);
	for (j = 0; j < ntests; j++) {
		reply_parse(&rp, tests[j].reply, strlen(tests[j].reply));
		lower = strdup(rp.text);
		for (k = 0; lower[k]; k++)
			lower[k] = (char)tolower((unsigned char)lower[k]);
		for (i = 0; i < nrules; i++) {
			const struct rule *r = rules[i];
			size_t set, from = 0;

			if (r->re == NULL || r->nsets == 0)
				continue;
			if (pcre2_match(r->re, (PCRE2_SPTR)rp.text, rp.textlen,
			    0, 0, md, NULL) < 0)
				continue;
			for (set = 0; set < r->nsets; set++) {
				int found = 0;

				for (k = from; k < r->setend[set]; k++)
					found |= strstr(lower, r->lits[k]) !=
					    NULL;
				from = r->setend[set];
				ck_assert_msg(found, "%s:%d matches \"%s\" "
				    "(test at %s:%d) but its prefilter set %zu "
				    "would skip it", r->file, r->line, rp.text,
				    tests[j].file, tests[j].line, set);
			}
			checked++;
		}
		free(lower);
	}
	fprintf(stderr, "check_prefilter: %zu rule/vector matches checked\n",
	    checked);
	reply_free(&rp);
	pcre2_match_data_free(md);
	ruleset_unref(rs);
}
END_TEST

static Suite *
prefilter_suite(void)
{
	Suite *s = suite_create("prefilter");
	TCase *tc = tcase_create("extract");

	tcase_add_loop_test(tc, test_extract, 0,
	    sizeof(pcases) / sizeof(pcases[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("sound");
	tcase_add_test(tc, test_sound_on_rule_set);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(prefilter_suite());
}
