/*
 * check_dnsbl.c -- the DNSBL monitor's pure parts: query names (IPv4,
 * IPv6 nibbles, domains), what answers mean, blocklist_zones, URLs
 *
 * The monitor itself, against a real DNS server, is t/dnsbl.sh.
 *
 * See also: dnsbl.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "conf.h"
#include "dnsbl.h"
#include "testlib.h"

#define NCASES(a)	((int)(sizeof(a) / sizeof((a)[0])))

struct name_case {
	const char	*target;
	const char	*zone;
	enum dnsbl_type	 type;
	const char	*name;		/* NULL with DNSBL_BAD */
};

static const struct name_case name_cases[] = {
	{ "192.0.2.1", "zen.spamhaus.org", DNSBL_IP4,
	  "1.2.0.192.zen.spamhaus.org" },
	{ "203.0.113.45", "bl.spamcop.net", DNSBL_IP4,
	  "45.113.0.203.bl.spamcop.net" },
	{ "2001:db8::1", "zen.spamhaus.org", DNSBL_IP6,
	  "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	  "zen.spamhaus.org" },
	{ "2001:DB8:A::ff", "z.example", DNSBL_IP6,
	  "f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.a.0.0.0.8.b.d.0.1.0.0.2."
	  "z.example" },
	{ "::ffff:192.0.2.1", "z.example", DNSBL_IP6,
	  "1.0.2.0.0.0.0.c.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	  "z.example" },
	{ "Mail.Example.COM", "dbl.spamhaus.org", DNSBL_DOMAIN,
	  "mail.example.com.dbl.spamhaus.org" },
	{ "xn--bcher-kva.example", "dbl.spamhaus.org", DNSBL_DOMAIN,
	  "xn--bcher-kva.example.dbl.spamhaus.org" },
	{ "", "zen.spamhaus.org", DNSBL_BAD, NULL },
	{ "300.1.2.3", "zen.spamhaus.org", DNSBL_BAD, NULL },
	{ "192.0.2", "zen.spamhaus.org", DNSBL_BAD, NULL },
	{ "localhost", "zen.spamhaus.org", DNSBL_BAD, NULL },
	{ "a..example", "zen.spamhaus.org", DNSBL_BAD, NULL },
	{ ".example.com", "zen.spamhaus.org", DNSBL_BAD, NULL },
	{ "ex ample.com", "zen.spamhaus.org", DNSBL_BAD, NULL },
	{ "192.0.2.1", "bad zone", DNSBL_BAD, NULL },
	{ "192.0.2.1", "", DNSBL_BAD, NULL },
	/* 64 characters in one label. */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  ".example", "dbl.spamhaus.org", DNSBL_BAD, NULL },
};

START_TEST(test_name)
{
	const struct name_case *c = &name_cases[_i];
	char buf[512];
	enum dnsbl_type t;

	t = dnsbl_query_name(c->target, c->zone, buf, sizeof(buf));
	ck_assert_msg(t == c->type, "%s: type %d, want %d", c->target, t,
	    c->type);
	if (c->name != NULL)
		ck_assert_str_eq(buf, c->name);
}
END_TEST

/* A name that does not fit, in the buffer or in DNS. */
START_TEST(test_name_long)
{
	char buf[512], dom[300];
	int i;

	ck_assert_int_eq(dnsbl_query_name("192.0.2.1", "zen.spamhaus.org",
	    buf, 10), DNSBL_BAD);
	/* 4 labels of 60: 243 characters, fine alone, too long + zone. */
	for (i = 0; i < 4; i++) {
		memset(dom + i * 61, 'a', 60);
		dom[i * 61 + 60] = '.';
	}
	dom[243] = '\0';
	ck_assert_int_eq(dnsbl_target(dom, NULL, 0), DNSBL_DOMAIN);
	ck_assert_int_eq(dnsbl_query_name(dom, "dbl.spamhaus.org", buf,
	    sizeof(buf)), DNSBL_BAD);
}
END_TEST

#define A(a, b, c, d)	(((uint32_t)(a) << 24) | ((b) << 16) | \
			    ((c) << 8) | (d))

struct answer_case {
	const char		*zone;
	uint32_t		 addrs[3];
	size_t			 n;
	enum dnsbl_result	 want;
	const char		*meaning;	/* a part of it */
};

static const struct answer_case answer_cases[] = {
	{ "zen.spamhaus.org", { A(127, 0, 0, 2) }, 1, DNSBL_LISTED,
	  "127.0.0.2 SBL: " },
	{ "zen.spamhaus.org", { A(127, 0, 0, 3) }, 1, DNSBL_LISTED,
	  "127.0.0.3 CSS: " },
	{ "zen.spamhaus.org", { A(127, 0, 0, 6) }, 1, DNSBL_LISTED,
	  "127.0.0.6 XBL: " },
	{ "zen.spamhaus.org", { A(127, 0, 0, 9) }, 1, DNSBL_LISTED,
	  "127.0.0.9 DROP: " },
	{ "zen.spamhaus.org", { A(127, 0, 0, 11) }, 1, DNSBL_LISTED,
	  "127.0.0.11 PBL: " },
	{ "zen.spamhaus.org", { A(127, 0, 0, 4), A(127, 0, 0, 10) }, 2,
	  DNSBL_LISTED, "XBL: an exploited or infected host (bot, open "
	  "proxy); 127.0.0.10 PBL: " },
	{ "zen.spamhaus.org", { A(127, 0, 0, 8) }, 1, DNSBL_LISTED,
	  "127.0.0.8 listed (a code this list did not document)" },
	{ "zen.spamhaus.org", { A(127, 255, 255, 254) }, 1, DNSBL_REFUSED,
	  "public or open resolver; set blocklist_resolver" },
	{ "zen.spamhaus.org", { A(127, 255, 255, 255) }, 1, DNSBL_REFUSED,
	  "excessive number of queries" },
	{ "zen.spamhaus.org", { A(127, 255, 255, 252) }, 1, DNSBL_REFUSED,
	  "blocklist_dqs_key" },
	{ "zen.spamhaus.org", { A(127, 255, 255, 253) }, 1, DNSBL_REFUSED,
	  "query refused" },
	/* A refusal among listings is still a refusal. */
	{ "zen.spamhaus.org", { A(127, 0, 0, 2), A(127, 255, 255, 254) }, 2,
	  DNSBL_REFUSED, "127.255.255.254 query refused" },
	{ "dbl.spamhaus.org", { A(127, 0, 1, 2) }, 1, DNSBL_LISTED,
	  "127.0.1.2 DBL: a spam domain" },
	{ "dbl.spamhaus.org", { A(127, 0, 1, 104) }, 1, DNSBL_LISTED,
	  "used for phishing" },
	{ "dbl.spamhaus.org", { A(127, 0, 1, 255) }, 1, DNSBL_REFUSED,
	  "an IP address asked of a domain list" },
	{ "bl.spamcop.net", { A(127, 0, 0, 2) }, 1, DNSBL_LISTED,
	  "SpamCop" },
	/* Only Spamhaus has the refusal codes. */
	{ "bl.spamcop.net", { A(127, 255, 255, 254) }, 1, DNSBL_LISTED,
	  "did not document" },
	{ "b.barracudacentral.org", { A(127, 0, 0, 2) }, 1, DNSBL_LISTED,
	  "Barracuda Reputation Block List" },
	{ "dnsbl-1.uceprotect.net", { A(127, 0, 0, 2) }, 1, DNSBL_LISTED,
	  "UCEPROTECT level 1" },
	{ "bl.mailspike.net", { A(127, 0, 0, 2) }, 1, DNSBL_LISTED,
	  "Mailspike" },
	{ "psbl.surriel.com", { A(127, 0, 0, 2) }, 1, DNSBL_LISTED, "PSBL" },
	{ "all.s5h.net", { A(127, 0, 0, 2) }, 1, DNSBL_LISTED, "s5h" },
	{ "dnsbl.sorbs.net", { A(127, 0, 0, 10) }, 1, DNSBL_LISTED,
	  "SORBS DUL" },
	/* A hijacking resolver's "found" page is not a listing. */
	{ "zen.spamhaus.org", { A(198, 51, 100, 7) }, 1, DNSBL_BADANSWER,
	  "198.51.100.7 is not a DNSBL answer" },
	{ "bl.spamcop.net", { A(127, 0, 0, 2), A(10, 0, 0, 1) }, 2,
	  DNSBL_BADANSWER, "10.0.0.1 is not" },
	{ "zen.spamhaus.org", { 0 }, 0, DNSBL_CLEAN, "" },
};

START_TEST(test_answer)
{
	const struct answer_case *c = &answer_cases[_i];
	const struct dnsbl_zone *z = dnsbl_zone_find(c->zone);
	char meaning[512];
	enum dnsbl_result r;

	ck_assert_ptr_nonnull(z);
	r = dnsbl_answer(z, c->addrs, c->n, meaning, sizeof(meaning));
	ck_assert_msg(r == c->want, "case %d: result %d, want %d (%s)", _i,
	    r, c->want, meaning);
	ck_assert_msg(strstr(meaning, c->meaning) != NULL,
	    "case %d: \"%s\" lacks \"%s\"", _i, meaning, c->meaning);
}
END_TEST

/* An unknown zone: any 127/8 answer is a plain listing. */
START_TEST(test_answer_unknown)
{
	struct dnsbl_zcfg *zs;
	uint32_t a = A(127, 0, 0, 77);
	char m[128], *err = NULL;

	ck_assert_int_eq(dnsbl_zones_parse("mine=bl.example.org", "", &zs,
	    &err), 1);
	ck_assert_str_eq(zs[0].z.list, "mine");
	ck_assert_str_eq(zs[0].z.zone, "bl.example.org");
	ck_assert_int_eq(dnsbl_answer(&zs[0].z, &a, 1, m, sizeof(m)),
	    DNSBL_LISTED);
	ck_assert_str_eq(m, "127.0.0.77 listed");
	free(zs);
}
END_TEST

struct zones_case {
	const char	*spec;
	const char	*key;
	int		 n;		/* -1: an error */
	const char	*first_list, *first_query, *first_shown;
	const char	*error;		/* a part of it */
};

static const struct zones_case zones_cases[] = {
	{ "zen.spamhaus.org, dbl.spamhaus.org bl.spamcop.net", "", 3,
	  "spamhaus", "zen.spamhaus.org", "zen.spamhaus.org", NULL },
	{ "ZEN.Spamhaus.ORG", "", 1, "spamhaus", "zen.spamhaus.org",
	  "zen.spamhaus.org", NULL },
	/* The key turns the Spamhaus zones into their DQS form. */
	{ "zen.spamhaus.org bl.spamcop.net", "abcdef0123456789abcdef0123", 2,
	  "spamhaus", "abcdef0123456789abcdef0123.zen.dq.spamhaus.net",
	  "zen.dq.spamhaus.net", NULL },
	{ "dbl.dq.spamhaus.net", "k3y", 1, "spamhaus",
	  "k3y.dbl.dq.spamhaus.net", "dbl.dq.spamhaus.net", NULL },
	{ "zen.dq.spamhaus.net", "", -1, NULL, NULL, NULL,
	  "zen.dq.spamhaus.net needs blocklist_dqs_key" },
	{ "zen.spamhaus.org", "bad key!", -1, NULL, NULL, NULL,
	  "blocklist_dqs_key: letters and digits only" },
	{ "zen.spamhaus.org zen.spamhaus.org", "", -1, NULL, NULL, NULL,
	  "given twice" },
	{ "zen.spamhaus.org zen.dq.spamhaus.net", "k", -1, NULL, NULL, NULL,
	  "given twice" },
	{ "not a/zone", "", -1, NULL, NULL, NULL,
	  "\"a/zone\" is not a zone name" },
	{ "=bl.example.org", "", -1, NULL, NULL, NULL, "want LIST=ZONE" },
	{ "", "", 0, NULL, NULL, NULL, NULL },
};

START_TEST(test_zones)
{
	const struct zones_case *c = &zones_cases[_i];
	struct dnsbl_zcfg *zs = NULL;
	char *err = NULL;
	int n;

	n = dnsbl_zones_parse(c->spec, c->key, &zs, &err);
	ck_assert_msg(n == c->n, "\"%s\": %d zones, want %d (%s)", c->spec,
	    n, c->n, err ? err : "");
	if (n < 0) {
		ck_assert_ptr_nonnull(err);
		ck_assert_msg(strstr(err, c->error) != NULL, "\"%s\" lacks "
		    "\"%s\"", err, c->error);
		free(err);
		return;
	}
	if (n > 0) {
		ck_assert_str_eq(zs[0].z.list, c->first_list);
		ck_assert_str_eq(zs[0].query, c->first_query);
		ck_assert_str_eq(zs[0].shown, c->first_shown);
		ck_assert_str_eq(zs[0].z.zone, c->first_shown);
	}
	free(zs);
}
END_TEST

/*
 * Every known zone is whole, they all parse, and the default of
 * blocklist_zones is the zones marked for it, in table order.
 */
START_TEST(test_known)
{
	const struct dnsbl_zone *z;
	struct dnsbl_zcfg *zs;
	char spec[1024] = "", dflt[1024] = "", url[256], *err = NULL;
	int n = 0;

	for (z = dnsbl_known_zones(); z->zone != NULL; z++) {
		ck_assert_ptr_nonnull(z->list);
		ck_assert_ptr_nonnull(z->codes);
		ck_assert_ptr_nonnull(z->codes[0].meaning);
		ck_assert_msg(strncmp(z->url, "http", 4) == 0, "%s", z->zone);
		dnsbl_url(z, "192.0.2.1", url, sizeof(url));
		ck_assert_ptr_null(strstr(url, "%s"));
		strcat(spec, z->zone);
		strcat(spec, " ");
		if (z->dflt) {
			strcat(dflt, *dflt ? " " : "");
			strcat(dflt, z->zone);
		}
		n++;
	}
	ck_assert_int_ge(n, 9);
	ck_assert_str_eq(dflt, BLOCKLIST_ZONES_DEFAULT);
	ck_assert_int_eq(dnsbl_zones_parse(spec, "", &zs, &err), n);
	free(zs);
}
END_TEST

START_TEST(test_url)
{
	char buf[256];

	dnsbl_url(dnsbl_zone_find("zen.spamhaus.org"), "192.0.2.1", buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "https://check.spamhaus.org/results/?query="
	    "192.0.2.1");
	dnsbl_url(dnsbl_zone_find("b.barracudacentral.org"), "192.0.2.1",
	    buf, sizeof(buf));
	ck_assert_str_eq(buf, "https://www.barracudacentral.org/rbl/"
	    "removal-request");
	/* Cut, never overrun. */
	dnsbl_url(dnsbl_zone_find("bl.spamcop.net"), "192.0.2.1", buf, 12);
	ck_assert_str_eq(buf, "https://www");
}
END_TEST

START_TEST(test_wanted)
{
	struct dnsbl_params p;

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(dnsbl_wanted(&p), 0);
	p.watch_ips = " , ";
	p.watch_domains = "";
	ck_assert_int_eq(dnsbl_wanted(&p), 0);
	p.watch_domains = "example.com";
	ck_assert_int_eq(dnsbl_wanted(&p), 1);
	p.watch_domains = NULL;
	p.discover = 1;
	ck_assert_int_eq(dnsbl_wanted(&p), 1);
}
END_TEST

static Suite *
dnsbl_suite(void)
{
	Suite *s = suite_create("dnsbl");
	TCase *tc;

	tc = tcase_create("names");
	tcase_add_loop_test(tc, test_name, 0, NCASES(name_cases));
	tcase_add_test(tc, test_name_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("answers");
	tcase_add_loop_test(tc, test_answer, 0, NCASES(answer_cases));
	tcase_add_test(tc, test_answer_unknown);
	suite_add_tcase(s, tc);

	tc = tcase_create("zones");
	tcase_add_loop_test(tc, test_zones, 0, NCASES(zones_cases));
	tcase_add_test(tc, test_known);
	tcase_add_test(tc, test_url);
	tcase_add_test(tc, test_wanted);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(dnsbl_suite());
}
