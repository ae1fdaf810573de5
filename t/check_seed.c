/*
 * check_seed.c -- the real rules against shared/cases/seed-replies.tsv
 *
 * Every row of the seed table is classified with the rules in
 * $BOUNCER_RULES: the reason must be the one given (unless "-"), the
 * decision set the same, and each detail token present. Then three
 * variants of every row, made here rather than written down, must give
 * the same answer, so that a rule cannot pass by matching one literal
 * text:
 *
 *   rcpt  another local part in the same domain, also where the reply
 *         quotes the address (a quoted local part stays quoted);
 *   wrap  the reply as Postfix logs it, "host mx.<domain>[198.51.100.7]
 *         said: <reply> (in reply to RCPT TO command)", for the rows
 *         whose text is an SMTP reply that starts with its code;
 *   ip    every IPv4 address in the reply (and in the expected ip=)
 *         replaced with another documentation address, 203.0.113.x.
 *
 * The table is read at run time, not copied in (STYLE.md); without it
 * the test says so and passes. It fails while the rule files are
 * incomplete, and says which row, which variant, what came and what
 * was wanted.
 *
 * See also: shared/cases/README.md, check_classify.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "classify.h"
#include "testlib.h"
#include "xalloc.h"

struct row {
	char		*id;
	char		*provider;
	char		*rcpt;
	char		*reply;
	char		*reason;	/* "-": any */
	char		*decision;
	char		*detail;	/* "-": none */
	int		 lineno;
};

static struct row	*rows;
static size_t		 nrows;
static struct ruleset	*rs;
static char		*rs_err;	/* why the rules did not load */
static char		 tsv_path[4096];

/* --- reading the table ------------------------------------------------- */

/* A row of the table (7 columns); line 1 is the header. */
static void
read_row(char **f, size_t nf, int lineno, void *arg)
{
	const char *path = arg;
	struct row r;

	if (lineno == 1)
		return;
	if (nf != 7) {
		fprintf(stderr, "check_seed: %s:%d: want 7 columns\n", path,
		    lineno);
		exit(EXIT_FAILURE);
	}
	memset(&r, 0, sizeof(r));
	r.lineno = lineno;
	r.id = xstrdup(f[0]);
	r.provider = xstrdup(f[1]);
	r.rcpt = xstrdup(f[2]);
	r.reply = xstrdup(f[3]);
	r.reason = xstrdup(f[4]);
	r.decision = xstrdup(f[5]);
	r.detail = xstrdup(f[6]);
	rows = xreallocarray(rows, nrows + 1, sizeof(*rows));
	rows[nrows++] = r;
}

/* --- making variants --------------------------------------------------- */


static int
is_local_char(int c)
{
	return isalnum(c) || c == '.' || c == '_' || c == '-' || c == '+' ||
	    c == '"';
}

/*
 * Copies s with every whole occurrence of from (case-insensitive)
 * replaced by to. The caller frees the result.
 */
static char *
replace_addr(const char *s, const char *from, const char *to)
{
	struct testlib_buf b = { NULL, 0, 0 };
	size_t fn = strlen(from);
	const char *p = s;

	testlib_buf_add(&b, "", 0);
	while (*p != '\0') {
		if (strncasecmp(p, from, fn) == 0 && (p == s ||
		    !is_local_char((unsigned char)p[-1])) &&
		    !isalnum((unsigned char)p[fn])) {
			testlib_buf_add(&b, to, strlen(to));
			p += fn;
		} else
			testlib_buf_add(&b, p++, 1);
	}
	return b.s;
}

/* Another local part for rcpt, quoted if it was. */
static char *
other_rcpt(const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');

	ck_assert_msg(at != NULL, "recipient %s has no @", rcpt);
	return xasprintf("%szz.variant.%d%s%s", rcpt[0] == '"' ? "\"" : "",
	    (int)strlen(rcpt), rcpt[0] == '"' ? "\"" : "", at);
}

/* A 3-digit SMTP code at s, alone or before " " or "-". */
static int
starts_with_code(const char *s)
{
	return s[0] >= '2' && s[0] <= '5' && isdigit((unsigned char)s[1]) &&
	    isdigit((unsigned char)s[2]) &&
	    (s[3] == '\0' || s[3] == ' ' || s[3] == '-');
}

/* Length of a dotted-quad IPv4 address at p (p[-1] checked by caller). */
static size_t
ipv4_len(const char *p)
{
	const char *q = p;
	int part, digits, v;

	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (*q != '.')
				return 0;
			q++;
		}
		for (digits = 0, v = 0; isdigit((unsigned char)*q) &&
		    digits < 4; q++, digits++)
			v = v * 10 + (*q - '0');
		if (digits == 0 || digits > 3 || v > 255)
			return 0;
	}
	if (isdigit((unsigned char)*q) || (*q == '.' &&
	    isdigit((unsigned char)q[1])))
		return 0;
	return (size_t)(q - p);
}

#define MAXIPS	16

/* The addresses replaced so far: what replaced what. */
struct ipmap {
	char	 from[MAXIPS][16];
	char	 to[MAXIPS][16];
	size_t	 n;
};

static const char *
ipmap_get(struct ipmap *m, const char *ip, size_t n)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strlen(m->from[i]) == n && memcmp(m->from[i], ip, n) == 0)
			return m->to[i];
	ck_assert_uint_lt(m->n, MAXIPS);
	snprintf(m->from[m->n], sizeof(m->from[0]), "%.*s", (int)n, ip);
	/* Never the same address: 203.0.113.x can be in the table too. */
	/* An unsigned char, so that the compiler sees it fits. */
	snprintf(m->to[m->n], sizeof(m->to[0]), "203.0.113.%u",
	    (unsigned)(unsigned char)(strncmp(ip, "203.0.113.", 10) == 0 ?
	    200 + m->n : 101 + m->n));
	return m->to[m->n++];
}

/* Copies s with every IPv4 address mapped through m. */
static char *
replace_ips(const char *s, struct ipmap *m)
{
	struct testlib_buf b = { NULL, 0, 0 };
	const char *p = s, *to;
	size_t n;

	testlib_buf_add(&b, "", 0);
	while (*p != '\0') {
		if ((p == s || (!isdigit((unsigned char)p[-1]) &&
		    p[-1] != '.')) && (n = ipv4_len(p)) != 0) {
			to = ipmap_get(m, p, n);
			testlib_buf_add(&b, to, strlen(to));
			p += n;
		} else
			testlib_buf_add(&b, p++, 1);
	}
	return b.s;
}

/* --- checking ---------------------------------------------------------- */

enum variant { V_ROW, V_RCPT, V_WRAP, V_IP };

static const char *const variant_names[] = { "row", "rcpt", "wrap", "ip" };

/* Is tok one of the space-separated words of s? */
static int
has_token(const char *s, const char *tok, size_t n)
{
	const char *p;

	for (p = s; (p = strstr(p, tok)) != NULL; p++)
		if ((p == s || p[-1] == ' ') && strncmp(p, tok, n) == 0 &&
		    (p[n] == '\0' || p[n] == ' '))
			return 1;
	return 0;
}

/*
 * Classifies reply for rcpt and compares with the row's expectations,
 * with detail standing for the row's detail column. Fails the test
 * with the row, the variant, what came and what was wanted.
 */
static void
check_one(const struct row *r, enum variant v, const char *rcpt,
    const char *reply, const char *detail)
{
	struct classifier *c;
	struct classification cl;
	char got[64], rule[300], want_tok[256], bad[64];
	unsigned want;
	const char *p, *w;
	int ok = 1, rc;

	rc = decision_parse(r->decision, strlen(r->decision), &want, bad,
	    sizeof(bad));
	ck_assert_msg(rc == 0, "%s (%s:%d): bad decision \"%s\" in the table",
	    r->id, tsv_path, r->lineno, r->decision);
	c = classifier_new(rs);
	ck_assert_ptr_nonnull(c);
	classify(c, rs, rcpt, reply, strlen(reply), NULL, NULL, &cl);
	if (strcmp(r->reason, "-") != 0 &&
	    strcmp(reason_name(cl.reason), r->reason) != 0)
		ok = 0;
	if (cl.decision != want)
		ok = 0;
	if (strcmp(detail, "-") != 0) {
		for (p = detail; *p != '\0'; p = w) {
			while (*p == ' ')
				p++;
			for (w = p; *w != '\0' && *w != ' '; w++)
				;
			if (w == p)
				break;
			snprintf(want_tok, sizeof(want_tok), "%.*s",
			    (int)(w - p), p);
			if (!has_token(cl.details, want_tok, strlen(want_tok)))
				ok = 0;
		}
	}
	ck_assert_msg(ok, "%s [%s] <%s> %s\n"
	    "    got:  %s %s%s%s (provider %s, rule %s)\n"
	    "    want: %s %s%s%s", r->id, variant_names[v], rcpt, reply,
	    reason_name(cl.reason), decision_format(cl.decision, got,
	    sizeof(got)), *cl.details ? " " : "", cl.details,
	    provider_name(cl.provider), classification_rule(&cl, rule,
	    sizeof(rule)), r->reason, r->decision,
	    strcmp(detail, "-") != 0 ? " " : "",
	    strcmp(detail, "-") != 0 ? detail : "");
	classifier_free(c);
}

static void
need_rules(void)
{
	ck_assert_msg(rs != NULL, "rules in %s not loaded:\n%s",
	    testlib_env("BOUNCER_RULES", "rules"), rs_err ? rs_err : "");
}

START_TEST(test_row)
{
	const struct row *r = &rows[_i];

	need_rules();
	check_one(r, V_ROW, r->rcpt, r->reply, r->detail);
}
END_TEST

START_TEST(test_other_rcpt)
{
	const struct row *r = &rows[_i];
	char *rcpt, *reply;

	need_rules();
	rcpt = other_rcpt(r->rcpt);
	reply = replace_addr(r->reply, r->rcpt, rcpt);
	check_one(r, V_RCPT, rcpt, reply, r->detail);
	free(reply);
	free(rcpt);
}
END_TEST

START_TEST(test_postfix_wrap)
{
	const struct row *r = &rows[_i];
	const char *domain;
	char *reply;

	need_rules();
	/* Not an SMTP reply: Postfix would not wrap it. */
	if (!starts_with_code(r->reply))
		return;
	domain = strrchr(r->rcpt, '@') + 1;
	reply = xasprintf("host mx.%s[198.51.100.7] said: %s (in reply to "
	    "RCPT TO command)", domain, r->reply);
	check_one(r, V_WRAP, r->rcpt, reply, r->detail);
	free(reply);
}
END_TEST

START_TEST(test_other_ip)
{
	const struct row *r = &rows[_i];
	struct ipmap m;
	char *reply, *detail;

	need_rules();
	m.n = 0;
	reply = replace_ips(r->reply, &m);
	detail = replace_ips(r->detail, &m);
	if (m.n > 0)
		check_one(r, V_IP, r->rcpt, reply, detail);
	free(detail);
	free(reply);
}
END_TEST

/* The variant makers themselves, so that a broken one cannot hide. */
START_TEST(test_variant_makers)
{
	struct ipmap m = { .n = 0 };
	char *s;

	s = other_rcpt("alice@icloud.com");
	ck_assert_str_eq(s, "zz.variant.16@icloud.com");
	free(s);
	s = other_rcpt("\"heidi.quoted\"@outlook.com");
	ck_assert_str_eq(s, "\"zz.variant.26\"@outlook.com");
	free(s);
	s = replace_addr("550 5.1.1 <ken@yahoo.co.jp>: ken@yahoo.co.jp; "
	    "aken@yahoo.co.jp KEN@YAHOO.CO.JP", "ken@yahoo.co.jp",
	    "x@yahoo.co.jp");
	ck_assert_str_eq(s, "550 5.1.1 <x@yahoo.co.jp>: x@yahoo.co.jp; "
	    "aken@yahoo.co.jp x@yahoo.co.jp");
	free(s);
	s = replace_ips("550 5.7.1 IP 192.0.2.11 listed, see ?ip=192.0.2.11 "
	    "[203.0.113.101] not 5.7.1 or 1.2.3.4.5 or 300.1.1.1, "
	    "Giving up on 192.0.2.20.", &m);
	ck_assert_str_eq(s, "550 5.7.1 IP 203.0.113.101 listed, see "
	    "?ip=203.0.113.101 [203.0.113.201] not 5.7.1 or 1.2.3.4.5 or "
	    "300.1.1.1, Giving up on 203.0.113.103.");
	free(s);
	ck_assert_uint_eq(m.n, 3);
	ck_assert(starts_with_code("550 x"));
	ck_assert(starts_with_code("550-5.1.1 x"));
	ck_assert(!starts_with_code("5500 x"));
	ck_assert(!starts_with_code("Delay reason: 550"));
}
END_TEST

static Suite *
seed_suite(void)
{
	Suite *s = suite_create("seed");
	TCase *tc;

	tc = tcase_create("makers");
	tcase_add_test(tc, test_variant_makers);
	suite_add_tcase(s, tc);

	tc = tcase_create("rows");
	tcase_add_loop_test(tc, test_row, 0, (int)nrows);
	suite_add_tcase(s, tc);

	tc = tcase_create("variants");
	tcase_add_loop_test(tc, test_other_rcpt, 0, (int)nrows);
	tcase_add_loop_test(tc, test_postfix_wrap, 0, (int)nrows);
	tcase_add_loop_test(tc, test_other_ip, 0, (int)nrows);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	const char *shared = testlib_env("BOUNCER_SHARED", "../shared");
	int rc;

	snprintf(tsv_path, sizeof(tsv_path), "%s/cases/seed-replies.tsv",
	    shared);
	if (!testlib_tsv_read(tsv_path, read_row, tsv_path)) {
		printf("check_seed: SKIP: %s is absent; set BOUNCER_SHARED to "
		    "the shared/ directory to run the seed cases\n", tsv_path);
		return EXIT_SUCCESS;
	}
	if (nrows == 0) {
		fprintf(stderr, "check_seed: %s has no rows\n", tsv_path);
		return EXIT_FAILURE;
	}
	/* Loaded once here; each forked test inherits it. */
	rs = ruleset_load(testlib_env("BOUNCER_RULES", "rules"), &rs_err);

	rc = testlib_run(seed_suite());
	ruleset_unref(rs);
	free(rs_err);
	return rc;
}
