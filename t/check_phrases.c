/*
 * check_phrases.c -- a phrase set answers as its whole pattern would
 *
 * phrases.h cuts patterns into branches and splits a leading group's
 * alternatives, each run only when the prefilter finds its literals.
 * Each case is a pattern and texts: the set must match a text exactly
 * when the pattern, compiled whole, does; patterns the cutting cannot
 * read (quoting, option changes, back references, POSIX classes) are
 * kept whole, and every one of them must build.
 *
 * See also: check_senderside.c, check_uncertain.c (the guards' sets on
 * every reply text the project keeps).
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "phrases.h"
#include "testlib.h"

struct ph_case {
	const char	*pattern;
	const char	*texts[8];
};

static const struct ph_case cases[] = {
	{ "(?:abc|def|ghi) unknown|sender \\w+ refused",
	  { "DEF unknown", "abc  unknown", "sender x refused", "ghi", NULL } },
	{ "(?:abc|def|)\\d", { "5", "abc5", "x", NULL } },
	{ "(?:ab|cd){2}\\d", { "abcd5", "ab5", "cdcd7", NULL } },
	{ "(?:ab|cd)?xyz|q", { "xyz", "abxyz", "q", NULL } },
	{ "a\\Q|\\Eb", { "b", "a|b", NULL } },
	{ "a(?-i)b|c", { "C", "Ab", "aB", NULL } },
	{ "(?-i:Sender) x|y", { "Sender x", "sender x", "Y", NULL } },
	{ "(a)x|(b)\\1", { "bb", "ax", "ba", NULL } },
	{ "[[:alpha:]|]x", { "|x", "ax", "1x", NULL } },
	{ "(?:\\Q)|\\E)\\d", { ")|5", "5", NULL } },
	{ "[|)]abc|def", { "|abc", ")abc", "def", "abc", NULL } },
	{ "(?<!not )(?:found|seen) here|\\bzz\\b", { "found here",
	  "not found here", "zz", NULL } },
	/* a branch with a need, split into its alternatives (after \\b) */
	{ "\\b(?:sender|your (?:account|address)|(?:old )?user) \\w+ unknown",
	  { "sender x unknown", "Your Address x unknown", "old user y unknown",
	  "xsender x unknown", "your account unknown", "user x unknownx",
	  NULL } },
	/* an alternative with no need alone, split in turn */
	{ "(?:(?:vo|ton|ta) (?:ab|c(?:d|e)f)|zzz)(?:(?!\\. ).){0,5}?(?:q|r)",
	  { "ta cef, q", "vo ab. q", "ton cdfxr", "zzzq", "tax ab q", NULL } },
};

START_TEST(test_whole)
{
	const struct ph_case *c = &cases[_i];
	const char *const pats[] = { c->pattern };
	struct phrases *g = phrases_build(pats, 1);
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	pcre2_code *re;
	int err, whole, set;
	PCRE2_SIZE off;
	size_t i;

	ck_assert_msg(g != NULL, "%s: not built", c->pattern);
	re = pcre2_compile((PCRE2_SPTR)c->pattern, PCRE2_ZERO_TERMINATED,
	    PCRE2_CASELESS, &err, &off, NULL);
	ck_assert_ptr_nonnull(re);
	for (i = 0; c->texts[i] != NULL; i++) {
		const char *t = c->texts[i];
		void *scratch = malloc(phrases_scratch_size(g));

		whole = pcre2_match(re, (PCRE2_SPTR)t, strlen(t), 0, 0, md,
		    NULL) >= 0;
		set = phrases_match(g, t, strlen(t), scratch, md);
		ck_assert_msg(set == whole, "%s on \"%s\": %d, whole %d",
		    c->pattern, t, set, whole);
		ck_assert_int_eq(phrases_match_all(g, t, strlen(t), md), whole);
		free(scratch);
	}
	pcre2_code_free(re);
	pcre2_match_data_free(md);
	phrases_free(g);
}
END_TEST

/* A pattern that does not compile: no set. */
START_TEST(test_broken)
{
	const char *const pats[] = { "abc|(def" };

	ck_assert_ptr_null(phrases_build(pats, 1));
	phrases_free(NULL);
}
END_TEST

/*
 * What may be cut into branches: a class's parentheses and brackets
 * are members ("[)\\],;]"), a POSIX class and unbalanced groups are not.
 */
START_TEST(test_splittable)
{
	ck_assert_int_eq(phrases_splittable("ab[)\\],;]c|def"), 1);
	ck_assert_int_eq(phrases_splittable("ab[(]c|d(e|f)"), 1);
	ck_assert_int_eq(phrases_splittable("ab[^]()]c|def"), 1);
	ck_assert_int_eq(phrases_splittable("a[[:alpha:]]|def"), 0);
	ck_assert_int_eq(phrases_splittable("a[x[:digit:]]|def"), 0);
	ck_assert_int_eq(phrases_splittable("ab)c|def"), 0);
	ck_assert_int_eq(phrases_splittable("ab[)c|def"), 0);
}
END_TEST

static Suite *
phrases_suite(void)
{
	Suite *s = suite_create("phrases");
	TCase *tc = tcase_create("cases");

	tcase_add_loop_test(tc, test_whole, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_broken);
	tcase_add_test(tc, test_splittable);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(phrases_suite());
}
