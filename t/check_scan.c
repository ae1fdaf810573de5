/*
 * check_scan.c -- the bounce parser's literal searches agree with their
 * plain definitions
 *
 * has_ci() and find_ws_ci() skip ahead sixteen bytes at a time to the
 * places a literal can start. Held here, on random texts and literals
 * (letters of both cases, white space, bytes above 0x7f, NUL) and on
 * every length around the block size, to the byte-at-a-time searches
 * they replaced: same answer, same match, same end. has_any_ci(), one
 * pass for a list of phrases, is held to has_ci() of each phrase.
 * ascii_find_ci(), under has_ci() and the reply parser's and MIME
 * reader's searches, gives the first offset in either first-byte mode;
 * ascii_list_gap() takes only what joins the addresses of a list.
 */
#include <check.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ascii.h"
#include "dsn_impl.h"
#include "testlib.h"

/* The first byte as given or in upper case, the rest in either case. */
static int
ref_has_ci(const char *s, size_t n, const char *lit)
{
	size_t k = strlen(lit), i;
	unsigned char lo = (unsigned char)lit[0],
	    up = (unsigned char)toupper(lo);

	if (s == NULL || n < k || k == 0)
		return 0;
	for (i = 0; i + k <= n; i++)
		if (((unsigned char)s[i] == lo || (unsigned char)s[i] == up) &&
		    strncasecmp(s + i + 1, lit + 1, k - 1) == 0)
			return 1;
	return 0;
}

/*
 * The first offset of lit in [s, s + n), or n: the rest of lit in
 * either case, its first byte too unless cap is set and it is a capital.
 */
static size_t
ref_find_ci(const char *s, size_t n, const char *lit, int cap)
{
	size_t k = strlen(lit), i;
	unsigned char c = (unsigned char)lit[0];

	for (i = 0; k > 0 && i + k <= n; i++)
		if (((unsigned char)s[i] == c || (unsigned char)s[i] ==
		    (unsigned char)(cap && isupper(c) ? c : isupper(c) ?
		    tolower(c) : toupper(c))) &&
		    strncasecmp(s + i + 1, lit + 1, k - 1) == 0)
			return i;
	return n;
}

static const char *
ref_find_ws_ci(const char *s, size_t n, const char *lit, const char **endp)
{
	const char *p, *q, *e = s + n, *l;

	for (p = s; p < e; p++) {
		for (q = p, l = lit; *l != '\0' && q < e; l++) {
			if (*l == ' ') {
				if (!isspace((unsigned char)*q))
					break;
				while (q < e && isspace((unsigned char)*q))
					q++;
			} else if (tolower((unsigned char)*q) ==
			    tolower((unsigned char)*l))
				q++;
			else
				break;
		}
		if (*l == '\0') {
			*endp = q;
			return p;
		}
	}
	return NULL;
}

static const char alphabet[] = "aAbBeE@<> \t\n.-\x80\xc3\xe9";

static void
fill(char *buf, size_t n, int with_nul)
{
	size_t i;

	for (i = 0; i < n; i++) {
		buf[i] = alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];
		if (with_nul && rand() % 50 == 0)
			buf[i] = '\0';
	}
}

static void
check_one(const char *text, size_t n, const char *lit)
{
	const char *e1 = NULL, *e2 = NULL, *m1, *m2;

	ck_assert_int_eq(has_ci(text, n, lit), ref_has_ci(text, n, lit));
	ck_assert_uint_eq(ascii_find_ci(text, n, lit, strlen(lit), 0),
	    ref_find_ci(text, n, lit, 0));
	ck_assert_uint_eq(ascii_find_ci(text, n, lit, strlen(lit), 1),
	    ref_find_ci(text, n, lit, 1));
	m1 = find_ws_ci(text, n, lit, &e1);
	m2 = ref_find_ws_ci(text, n, lit, &e2);
	ck_assert_ptr_eq(m1, m2);
	if (m1 != NULL)
		ck_assert_ptr_eq(e1, e2);
}

/*
 * folded_end(): a line's continuations are the non-blank lines after it
 * indented at least as deep (and at all): a line indented less is the
 * next item of a list (Exim's "  bob@x" after "    550 ...").
 */
static const struct {
	const char	*text;
	size_t		 want;	/* the offset of the end */
} folds[] = {
	{ "550 x\n    y\nz", 11 },
	{ "550 x\n    y", 11 },
	{ "    550 x\n  bob@example.org\n    host", 9 },
	{ "    550-x\n    550 y\n  z", 19 },
	{ "  550 x\n      y\n  z", 19 },
	{ "  550 x\n      y\n z", 15 },
	{ "550 x\n \n y", 5 },
	{ "550 x", 5 },
};

START_TEST(test_folded_end)
{
	const char *t = folds[_i].text;

	ck_assert_uint_eq((size_t)(folded_end(t, t + strlen(t)) - t),
	    folds[_i].want);
}
END_TEST

START_TEST(test_random)
{
	char text[80], lit[6];
	size_t n, k, i;

	srand(7);
	for (i = 0; i < 200000; i++) {
		n = (size_t)rand() % sizeof(text);
		k = 1 + (size_t)rand() % (sizeof(lit) - 1);
		fill(text, n, 1);
		fill(lit, k, 0);
		lit[k] = '\0';
		/* Half of them taken from the text, so that they occur. */
		if (n >= k && rand() % 2) {
			memcpy(lit, text + (size_t)rand() % (n - k + 1), k);
			lit[k] = '\0';
			if (strlen(lit) == 0)
				continue;
		}
		check_one(text, n, lit);
	}
}
END_TEST

START_TEST(test_lengths)
{
	/* A match at every place of every length near the block size. */
	static const char *const lits[] = { "e", "Ee", "be", "a b", "E.",
	    "\xc3\xa9", "<ab>" };
	char *text;
	size_t n, at, j, k;

	for (n = 0; n <= 40; n++)
		for (j = 0; j < sizeof(lits) / sizeof(lits[0]); j++) {
			k = strlen(lits[j]);
			for (at = 0; at + k <= n || at == 0; at++) {
				/* Exactly n bytes on the heap: no reading past. */
				text = malloc(n ? n : 1);
				memset(text, 'x', n);
				if (at + k <= n)
					memcpy(text + at, lits[j], k);
				check_one(text, n, lits[j]);
				free(text);
				if (at + k > n)
					break;
			}
		}
	ck_assert_int_eq(has_ci(NULL, 0, "a"), 0);
	ck_assert_ptr_null(find_ws_ci(NULL, 0, "a", NULL));
}
END_TEST

/*
 * Lists of phrases for has_any_ci(): built once (it keeps a table for
 * each list by its address), of random lengths, some of them 1 or 2
 * bytes (no window: one phrase at a time), some with capitals first.
 */
#define NLISTS	24
#define NPHR	12

static char phr[NLISTS][NPHR][10];
static const char *lists[NLISTS][NPHR + 1];

static void
make_lists(void)
{
	size_t l, j, k;

	for (l = 0; l < NLISTS; l++) {
		size_t np = 1 + (size_t)rand() % NPHR, kmin = 1 + l % 5;

		for (j = 0; j < np; j++) {
			k = kmin + (size_t)rand() % (sizeof(phr[l][j]) - kmin);
			fill(phr[l][j], k, 0);
			phr[l][j][k] = '\0';
			lists[l][j] = phr[l][j];
		}
		lists[l][np] = NULL;
	}
}

static int
ref_any(const char *s, size_t n, const char *const *list)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (ref_has_ci(s, n, list[i]))
			return 1;
	return 0;
}

START_TEST(test_any)
{
	char text[300];
	size_t n, i, l, j, k, at;

	srand(11);
	make_lists();
	for (i = 0; i < 100000; i++) {
		l = (size_t)rand() % NLISTS;
		n = (size_t)rand() % sizeof(text);
		fill(text, n, 1);
		/* Most with one of the phrases, in some case, somewhere. */
		if (rand() % 4) {
			for (j = 0; lists[l][j] != NULL; j++)
				;
			j = (size_t)rand() % j;
			k = strlen(lists[l][j]);
			if (k <= n) {
				at = (size_t)rand() % (n - k + 1);
				memcpy(text + at, lists[l][j], k);
				if (rand() % 2)
					text[at] = (char)toupper(
					    (unsigned char)text[at]);
				if (rand() % 2)
					text[at + k - 1] = (char)toupper(
					    (unsigned char)text[at + k - 1]);
			}
		}
		ck_assert_int_eq(has_any_ci(text, n, lists[l]),
		    ref_any(text, n, lists[l]));
	}
	ck_assert_int_eq(has_any_ci(NULL, 0, lists[0]), 0);
}
END_TEST

/* What may stand between two addresses of a list (after "x@y"). */
static const struct {
	const char	*gap;
	int		 want;
} gaps[] = {
	{ ", ", 1 }, { ";\t<", 1 }, { ">, \"", 1 }, { " and ", 1 },
	{ " AND <", 1 }, { "\tand\t", 1 }, { "", 1 }, { " or ", 0 },
	{ " andy ", 0 }, { "and ", 0 }, { " and", 0 }, { ": ", 0 },
	{ " (", 0 },
};

START_TEST(test_list_gap)
{
	char buf[32];
	size_t k = strlen(gaps[_i].gap);

	/* a byte of the address before it: "and" must follow a blank */
	buf[0] = 'y';
	memcpy(buf + 1, gaps[_i].gap, k);
	ck_assert_int_eq(ascii_list_gap(buf + 1, buf + 1 + k), gaps[_i].want);
}
END_TEST

static Suite *
scan_suite(void)
{
	Suite *s = suite_create("scan");
	TCase *tc = tcase_create("search");

	tcase_add_test(tc, test_random);
	tcase_add_test(tc, test_lengths);
	tcase_add_test(tc, test_any);
	tcase_add_loop_test(tc, test_folded_end, 0,
	    (int)(sizeof(folds) / sizeof(folds[0])));
	tcase_add_loop_test(tc, test_list_gap, 0,
	    (int)(sizeof(gaps) / sizeof(gaps[0])));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(scan_suite());
}
