/*
 * check_prefilter.c -- the literal prefilter never hides a match
 *
 * The classifier skips a rule's regex when none of the literals the
 * pattern requires is in the text. That is only sound if the literals
 * really are required: checked here on crafted patterns (what is
 * extracted), and on every rule of the real rule set against every test
 * vector's text (a regex match implies a prefilter pass, both of the
 * literal sets and of ruleset_prefilter() as the classifier runs it).
 * The automaton itself is checked against a naive search.
 */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acmatch.h"
#include "prefilter.h"
#include "reply.h"
#include "rules.h"
#include "testlib.h"

static const struct pcase {
	const char	*pattern;
	const char	*lits;		/* "|"-joined, or "" for none */
} pcases[] = {
	{ "does not exist", "does not exist" },
	{ "tried to reach does not exist|p=NoSuchUser",
	  "tried to reach does not exist || p=nosuchuser" },
	{ "user (is )?unknown", "user unknown|user is unknown" },
	{ "mailbox\\s+full", "mailbox&full" },
	{ "over ?quota", "overquota|over quota" },
	{ "quota exceeded|ab", "" },
	{ "spamhaus\\.org/query", "spamhaus.org/query" },
	{ "[0-9]+ spam", " spam" },
	{ "colou?r scheme", "color scheme|colour scheme" },
	{ "x{0,3}yz{2}abc", "abc" },
	{ "a+bcd", "bcd" },
	{ "(?<ip>\\d+\\.\\d+) blocked", " blocked" },
	{ "(?x) spaced out", "" },
	{ "(?ix:a b) spaced out", "" },
	/* an "x" in a lookahead is no option */
	{ "(?!mail ?box)full mailbox", "full mailbox" },
	{ "\\Qa.b\\E", "" },
	/* Escapes and constructs that stand for unseen text: no filter. */
	{ "\\x41bcdef", "" },
	{ "\\101bcdef", "" },
	{ "abc\\cXdefg", "" },
	{ "(?<n>abc)\\k<n>defg", "" },
	{ "(*UTF)abcdef", "" },
	{ "abcdef(*ACCEPT)ghijk", "" },
	{ "(?#note:zzzz)abcdef", "" },
	{ "a\\pLbcdef", "bcdef" },
	{ "a\\p{Lu}bcdef", "bcdef" },
	{ "(a|b)|cdef", "" },
	{ "^550 .*rejected$", "rejected&550 " },
	{ "banned sending IP", "banned sending ip" },
	{ "(?<url>https?://(?:www\\.)?spamhaus\\.org/query)",
	  "http://spamhaus.org/query|http://www.spamhaus.org/query|"
	  "https://spamhaus.org/query|https://www.spamhaus.org/query" },
	{ "(?:mailbox|inbox) is full", "mailbox is full|inbox is full" },
	{ "(?:mailbox|inbox)\\s+full", "mailbox|inbox&full" },
	{ "(?:quota|storage) (?:exceeded|full)",
	  "quota exceeded|quota full|storage exceeded|storage full" },
	{ "(?:ab|cd)e", "abe|cde" },
	{ "(?=.*spam)x", "" },
	{ "(?!spam)abcdef", "abcdef" },
	{ "(?:exceeded)?limit", "limit" },
	{ "(?i)no such user", "no such user" },
	{ "x(?:one|two(?:three|four))", "xone|xtwothree|xtwofour" },
	/* a way holding another is dropped */
	{ "(?:exceeded )?limit", "limit" },
	/*
	 * Ways too long for a literal: the group's words go as they are,
	 * and the group is not taken as literal text by the one around it
	 * ("xcccc...yz" is nowhere in what it matches).
	 */
	{ "(?:aaaaaaaaaaaaaaaaaaaa|bbbbbbbbbbbbbbbbbbbb)"
	  "(?:cccccccccccccccc|dddd) end",
	  "aaaaaaaaaaaaaaaaaaaa|bbbbbbbbbbbbbbbbbbbb&"
	  "cccccccccccccccc end|dddd end" },
	{ "x(?:(?:aaaaaaaaaaaaaaaaaaaa|bbbbbbbbbbbbbbbbbbbb)"
	  "(?:cccccccccccccccc|dddd))yz",
	  "aaaaaaaaaaaaaaaaaaaa|bbbbbbbbbbbbbbbbbbbb&cccccccccccccccc|dddd" },
	/* groups the walk does not read */
	{ "abc(?|def|ghi)jkl", "" },
	{ "(a)?abc(?(1)def|ghi)jkl", "" },
	/* Top-level branches are units of their own. */
	{ "reject(?:ed)? by policy|mass mailer",
	  "reject by policy|rejected by policy || mass mailer" },
	{ "(?:mailbox|inbox) full|quota (?:exceeded|reached)|over quota",
	  "mailbox full|inbox full || quota exceeded|quota reached || "
	  "over quota" },
	{ "abc|de", "" },
	/* two bytes will do with a bracket or "#" */
	{ "\\s#4\\d\\d", "#4" },
	{ "\\(4\\d\\d|<>", "(4 || <>" },
	{ "ab\\d", "" },
	/* a brace after \s is no property's: the branches go on */
	{ "abcd\\s{|", "" },
	{ "abcd\\s{2}efg", "abcd&efg" },
};

START_TEST(test_extract)
{
	const struct pcase *pc = &pcases[_i];
	struct prefilter_need *pn;
	char got[512];
	size_t i, off = 0, set, unit;

	pn = prefilter_need(pc->pattern);
	got[0] = '\0';
	for (i = 0, set = 0, unit = 0; pn != NULL && i < pn->nlits; i++) {
		const char *sep = i == 0 ? "" : "|";

		if (i > 0 && i == pn->setend[set]) {
			sep = "&";
			if (++set == pn->unitend[unit]) {
				sep = " || ";
				unit++;
			}
		}
		off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%s",
		    sep, pn->lits[i]);
	}
	ck_assert_msg(strcmp(got, pc->lits) == 0, "pattern %s: literals "
	    "\"%s\", want \"%s\"", pc->pattern, got, pc->lits);
	free(pn);
}
END_TEST

/* Does some unit of r have a literal of each of its sets in lower? */
static int
unit_holds(const struct rule *r, const char *lower)
{
	const struct prefilter_need *pn = r->need;
	size_t unit, set = 0, k = 0;

	if (pn == NULL)
		return 1;
	for (unit = 0; unit < pn->nunits; unit++) {
		int all = 1;

		for (; set < pn->unitend[unit]; set++) {
			int found = 0;

			for (; k < pn->setend[set]; k++)
				found |= strstr(lower, pn->lits[k]) != NULL;
			all &= found;
		}
		if (all)
			return 1;
	}
	return 0;
}

/*
 * A rule whose branches are run one by one (rules.h: parts): the whole
 * pattern matches when one of them does, and the prefilter lets each
 * one that matches through.
 */
static void
parts_agree(const struct ruleset *rs, const void *scratch, size_t i,
    const struct rule *r, const struct reply *rp, pcre2_match_data *md)
{
	const uint8_t *ok = ruleset_units(rs, scratch, i);
	int whole, any = 0;
	size_t u;

	whole = pcre2_match(r->re, (PCRE2_SPTR)rp->text, rp->textlen, 0, 0,
	    md, NULL) >= 0;
	for (u = 0; u < r->nparts; u++) {
		if (pcre2_match(r->parts[u], (PCRE2_SPTR)rp->text, rp->textlen,
		    0, 0, md, NULL) < 0)
			continue;
		ck_assert_msg(ok[u], "%s:%d: branch %zu matches \"%s\" but "
		    "the prefilter skips it", r->file, r->line, u, rp->text);
		any = 1;
	}
	ck_assert_msg(any == whole, "%s:%d on \"%s\": a branch matches: %d, "
	    "the whole pattern: %d", r->file, r->line, rp->text, any, whole);
}

START_TEST(test_sound_on_rule_set)
{
	const char *dir = testlib_env("BOUNCER_RULES", "rules");
	const struct rule *const *rules;
	const struct rule_test *tests;
	const uint8_t *miss;
	pcre2_match_data *md;
	struct ruleset *rs;
	struct reply rp;
	size_t nrules, ntests, i, j, k, checked = 0, skipped = 0;
	char *err = NULL, *lower;
	void *scratch;

	rs = ruleset_load(dir, &err);
	ck_assert_msg(rs != NULL, "rules in %s: %s", dir, err ? err : "");
	rules = ruleset_rules(rs, &nrules);
	tests = ruleset_tests(rs, &ntests);
	md = pcre2_match_data_create(ruleset_max_captures(rs), NULL);
	scratch = malloc(ruleset_prefilter_size(rs));
	reply_init(&rp);
	for (j = 0; j < ntests; j++) {
		reply_parse(&rp, tests[j].reply, strlen(tests[j].reply));
		miss = ruleset_prefilter(rs, rp.text, rp.textlen, scratch);
		lower = strdup(rp.text);
		for (k = 0; lower[k]; k++)
			lower[k] = (char)tolower((unsigned char)lower[k]);
		for (i = 0; i < nrules; i++) {
			const struct rule *r = rules[i];

			if (r->re == NULL)
				continue;
			if (r->nparts > 0)
				parts_agree(rs, scratch, i, r, &rp, md);
			if (pcre2_match(r->re, (PCRE2_SPTR)rp.text,
			    rp.textlen, 0, 0, md, NULL) < 0) {
				skipped += miss[i] != 0;
				continue;
			}
			/* What the classifier runs: the automaton's verdict. */
			ck_assert_msg(miss[i] == 0, "%s:%d matches \"%s\" "
			    "(test at %s:%d) but the prefilter skips it",
			    r->file, r->line, rp.text, tests[j].file,
			    tests[j].line);
			/* What it rests on: some unit has all its sets. */
			ck_assert_msg(unit_holds(r, lower), "%s:%d matches "
			    "\"%s\" (test at %s:%d) but no unit of its "
			    "prefilter holds", r->file, r->line, rp.text,
			    tests[j].file, tests[j].line);
			checked++;
		}
		free(lower);
	}
	fprintf(stderr, "check_prefilter: %zu rule/vector matches checked, "
	    "%zu regex runs saved\n", checked, skipped);
	ck_assert_uint_gt(checked, ntests / 2);
	/* It must also do its job: most non-matching rules are skipped. */
	ck_assert_uint_gt(skipped, ntests * nrules / 2);
	reply_free(&rp);
	free(scratch);
	pcre2_match_data_free(md);
	ruleset_unref(rs);
}
END_TEST

/* Does lit (lowercase) occur in text[0..n), ignoring ASCII case? */
static int
naive_has(const char *text, size_t n, const char *lit, size_t len)
{
	size_t i, j;

	for (i = 0; i + len <= n; i++) {
		for (j = 0; j < len; j++)
			if (tolower((unsigned char)text[i + j]) !=
			    (unsigned char)lit[j])
				break;
		if (j == len)
			return 1;
	}
	return 0;
}

/*
 * The automaton against a naive search, on random literals and texts
 * over a small alphabet (so that literals overlap, nest and recur) and
 * of every length around the points where the scan splits the text.
 */
START_TEST(test_acmatch_random)
{
	static const char alpha[] = "abAB .";
	char lits[64][16], text[600];
	const char *lp[64];
	size_t lens[64], nlit, i, n, round;
	uint64_t bits[1];
	struct acmatch *ac;

	srand(7);
	for (round = 0; round < 200; round++) {
		nlit = 1 + (size_t)rand() % 64;
		for (i = 0; i < nlit; i++) {
			size_t j;

			lens[i] = 1 + (size_t)rand() % 12;
			for (j = 0; j < lens[i]; j++)
				lits[i][j] = (char)tolower(alpha[rand() % 6]);
			lp[i] = lits[i];
		}
		ac = acmatch_build(lp, lens, nlit);
		ck_assert_ptr_nonnull(ac);
		ck_assert_uint_eq(acmatch_words(ac), 1);
		for (n = 0; n < sizeof(text); n += 1 + (size_t)rand() % 7) {
			for (i = 0; i < n; i++)
				text[i] = alpha[rand() % 6];
			acmatch_scan(ac, text, n, bits);
			for (i = 0; i < nlit; i++)
				ck_assert_msg(!!(bits[0] >> i & 1) ==
				    naive_has(text, n, lits[i], lens[i]),
				    "literal \"%.*s\" in \"%.*s\": scan says "
				    "%d", (int)lens[i], lits[i], (int)n, text,
				    (int)(bits[0] >> i & 1));
		}
		acmatch_free(ac);
	}
}
END_TEST

/*
 * The same over a wider alphabet: ASCII letters and punctuation, and
 * bytes of UTF-8 (as the literals of other languages bring), with up
 * to 200 literals, longer texts and literals sharing their first bytes
 * (a state's transitions are stored apart from the defaults after its
 * first byte only where the trie goes deeper).
 */
START_TEST(test_acmatch_wide)
{
	static const char alpha[] = "abcdeABC ,.'\xc3\xa9\xa8\xe2\x80\x99\xd0\xb0\xd1";
	const size_t nalpha = sizeof(alpha) - 1;
	char lits[200][16], text[2000];
	const char *lp[200];
	size_t lens[200], nlit, i, j, n, round;
	uint64_t bits[4], was[4], marks[1];
	struct acmatch *ac;

	srand(11);
	for (round = 0; round < 60; round++) {
		nlit = 1 + (size_t)rand() % 200;
		for (i = 0; i < nlit; i++) {
			lens[i] = 1 + (size_t)rand() % 12;
			j = 0;
			if (i > 0 && rand() % 2) {	/* a prefix of another */
				size_t o = (size_t)rand() % i;

				for (; j < lens[o] && j < lens[i] - 1; j++)
					lits[i][j] = lits[o][j];
			}
			for (; j < lens[i]; j++)
				lits[i][j] = (char)tolower(
				    (unsigned char)alpha[(size_t)rand() % nalpha]);
			lp[i] = lits[i];
		}
		ac = acmatch_build(lp, lens, nlit);
		ck_assert_ptr_nonnull(ac);
		ck_assert_uint_eq(acmatch_words(ac), (nlit + 63) / 64);
		for (n = 0; n < sizeof(text); n += 1 + (size_t)rand() % 41) {
			for (i = 0; i < n; i++)
				text[i] = alpha[(size_t)rand() % nalpha];
			/* plant some literals whole */
			for (i = 0; i < 3 && n > 12; i++) {
				size_t l = (size_t)rand() % nlit;

				memcpy(text + (size_t)rand() % (n - 12),
				    lits[l], lens[l]);
			}
			acmatch_scan(ac, text, n, bits);
			for (i = 0; i < nlit; i++)
				ck_assert_msg(!!(bits[i / 64] >> (i % 64) & 1) ==
				    naive_has(text, n, lits[i], lens[i]),
				    "round %zu, literal %zu of %zu, text of %zu",
				    round, i, nlit, n);
			/* the same with marks: a word is marked if not 0 */
			memcpy(was, bits, sizeof(bits));
			ck_assert_uint_eq(acmatch_mark_words(ac), 1);
			marks[0] = ~UINT64_C(0);
			acmatch_scan_marked(ac, text, n, bits, marks);
			ck_assert(memcmp(was, bits, sizeof(bits)) == 0);
			for (i = 0; i < acmatch_words(ac); i++)
				ck_assert_uint_eq(marks[0] >> i & 1,
				    bits[i] != 0);
			ck_assert_uint_eq(marks[0] >> acmatch_words(ac), 0);
		}
		acmatch_free(ac);
	}
}
END_TEST

/*
 * Literals longer than a lane of the scan (a text of n bytes has lanes
 * of n / 4), so that one crosses two seams or more, and longer than
 * the depth a state records (255): the lane that saw a literal begin
 * must walk on until it ends.
 */
START_TEST(test_acmatch_long)
{
	static const char alpha[] = "aB";
	static char lits[16][400], text[1200];
	const char *lp[16];
	size_t lens[16], nlit, i, j, n, round, maxl;
	uint64_t bits[1];
	struct acmatch *ac;

	srand(13);
	for (round = 0; round < 40; round++) {
		nlit = 1 + (size_t)rand() % 16;
		maxl = round % 2 ? 300 : 40;
		for (i = 0; i < nlit; i++) {
			lens[i] = 1 + (size_t)rand() % maxl;
			for (j = 0; j < lens[i]; j++)
				lits[i][j] = (char)tolower(alpha[rand() % 2]);
			lp[i] = lits[i];
		}
		ac = acmatch_build(lp, lens, nlit);
		ck_assert_ptr_nonnull(ac);
		for (n = 0; n < sizeof(text); n += 1 + (size_t)rand() % 29) {
			for (i = 0; i < n; i++)
				text[i] = alpha[rand() % 2];
			/* plant one literal whole, across the seams */
			i = (size_t)rand() % nlit;
			if (lens[i] <= n)
				memcpy(text + (size_t)rand() % (n - lens[i] + 1),
				    lits[i], lens[i]);
			acmatch_scan(ac, text, n, bits);
			for (i = 0; i < nlit; i++)
				ck_assert_msg(!!(bits[0] >> i & 1) ==
				    naive_has(text, n, lits[i], lens[i]),
				    "round %zu, literal %zu of %zu bytes, text "
				    "of %zu", round, i, lens[i], n);
		}
		acmatch_free(ac);
	}
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
	tcase_add_test(tc, test_acmatch_random);
	tcase_add_test(tc, test_acmatch_wide);
	tcase_add_test(tc, test_acmatch_long);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(prefilter_suite());
}
