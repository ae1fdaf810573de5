/*
 * check_dnsbl.c -- the DNSBL monitor's pure parts: query names (IPv4,
 * IPv6 nibbles, domains), what answers mean, blocklist_zones, URLs
 *
 * The monitor, once over, against a small DNS responder on a UDP
 * socket of this process (listed, clean, refused, SERVFAIL, timeout);
 * against t/lib/dnsd.py and inside bouncerd, t/dnsbl.sh.
 *
 * See also: dnsbl.h.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

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

/* --- the monitor, against a responder on this process's loop ------- */

/* What the responder answers: an address, an rcode, or nothing. */
struct rr {
	const char	*name;
	int		 rcode;		/* -1: never answer */
	uint32_t	 addr;		/* with rcode 0; 0: none */
};

static const struct rr zone[] = {
	{ "1.2.0.192.zen.spamhaus.org", 0, A(127, 0, 0, 2) },
	{ "2.2.0.192.zen.spamhaus.org", 0, A(127, 255, 255, 255) },
	{ "3.2.0.192.zen.spamhaus.org", 2, 0 },
	{ "4.2.0.192.zen.spamhaus.org", -1, 0 },
	{ "5.2.0.192.zen.spamhaus.org", 0, A(10, 0, 0, 1) },
	{ NULL, 0, 0 }
};

static void
on_query(evutil_socket_t fd, short what, void *arg)
{
	unsigned char q[512], r[600];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	char name[300];
	const struct rr *rr;
	size_t off = 12, n = 0, len;
	ssize_t got;
	uint32_t a;

	(void)what;
	(void)arg;
	if ((got = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from,
	    &flen)) < 17)
		return;
	while (off < (size_t)got && q[off] != 0 && n + q[off] + 1 <
	    sizeof(name)) {
		len = q[off++];
		if (n > 0)
			name[n++] = '.';
		while (len-- > 0 && off < (size_t)got)
			name[n++] = (char)tolower(q[off++]);
	}
	name[n] = '\0';
	off += 5;		/* the root label, type and class */
	for (rr = zone; rr->name != NULL; rr++)
		if (strcmp(rr->name, name) == 0)
			break;
	if (rr->name != NULL && rr->rcode < 0)
		return;
	memcpy(r, q, off);
	r[2] = 0x84 | (q[2] & 0x01);	/* QR, AA, RD as asked */
	r[3] = rr->name == NULL ? 3 : (unsigned char)rr->rcode;
	r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
	if (rr->name != NULL && rr->rcode == 0 && rr->addr != 0) {
		static const unsigned char ans[] = { 0xc0, 0x0c, 0, 1, 0, 1,
		    0, 0, 0, 60, 0, 4 };

		r[7] = 1;
		memcpy(r + off, ans, sizeof(ans));
		off += sizeof(ans);
		a = htonl(rr->addr);
		memcpy(r + off, &a, 4);
		off += 4;
	}
	sendto(fd, r, off, 0, (struct sockaddr *)&from, flen);
}

struct seen {
	char		 target[64];
	enum dnsbl_what	 what;
	char		 meaning[512];
	char		 url[256];
	char		 ekind[16];
};

struct seen_all {
	struct seen	 v[16];
	int		 n;
};

static void
on_event(const struct dnsbl_event *ev, void *arg)
{
	struct seen_all *sa = arg;
	struct seen *s;

	ck_assert_int_lt(sa->n, 16);
	s = &sa->v[sa->n++];
	snprintf(s->target, sizeof(s->target), "%s", ev->target);
	s->what = ev->what;
	snprintf(s->meaning, sizeof(s->meaning), "%s", ev->meaning);
	snprintf(s->url, sizeof(s->url), "%s", ev->url);
	snprintf(s->ekind, sizeof(s->ekind), "%s", ev->error_kind ?
	    ev->error_kind : "");
	ck_assert_str_eq(ev->list, "spamhaus");
	ck_assert_str_eq(ev->zone, "zen.spamhaus.org");
}

static const struct seen *
seen_for(const struct seen_all *sa, const char *target)
{
	int i;

	for (i = 0; i < sa->n; i++)
		if (strcmp(sa->v[i].target, target) == 0)
			return &sa->v[i];
	ck_abort_msg("no outcome for %s", target);
	return NULL;
}

START_TEST(test_monitor_once)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct event_base *base = event_base_new();
	struct event *ev;
	struct dnsbl_params p;
	struct dnsbl *mon;
	struct seen_all sa;
	const struct seen *s;
	char resolver[64], *err = NULL;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	snprintf(resolver, sizeof(resolver), "127.0.0.1:%d",
	    ntohs(sin.sin_port));
	ev = event_new(base, fd, EV_READ | EV_PERSIST, on_query, NULL);
	event_add(ev, NULL);

	memset(&p, 0, sizeof(p));
	memset(&sa, 0, sizeof(sa));
	p.watch_ips = "192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5 "
	    "192.0.2.9";
	p.zones = "zen.spamhaus.org";
	p.resolver = resolver;
	p.timeout = 1;
	p.once = 1;
	mon = dnsbl_new(base, &p, on_event, &sa, &err);
	ck_assert_msg(mon != NULL, "%s", err ? err : "");
	ck_assert_uint_eq(dnsbl_pending(mon), 6);
	event_base_dispatch(base);
	ck_assert_uint_eq(dnsbl_pending(mon), 0);
	ck_assert_int_eq(sa.n, 6);

	s = seen_for(&sa, "192.0.2.1");
	ck_assert_int_eq(s->what, DNSBL_EV_LISTED);
	ck_assert_ptr_nonnull(strstr(s->meaning, "127.0.0.2 SBL: "));
	ck_assert_str_eq(s->url, "https://check.spamhaus.org/results/"
	    "?query=192.0.2.1");
	ck_assert_int_eq(dnsbl_listed(mon, "spamhaus", "192.0.2.1"), 1);
	s = seen_for(&sa, "192.0.2.2");
	ck_assert_int_eq(s->what, DNSBL_EV_ERROR);
	ck_assert_str_eq(s->ekind, "refused");
	ck_assert_ptr_nonnull(strstr(s->meaning, "excessive number"));
	ck_assert_int_eq(dnsbl_listed(mon, "spamhaus", "192.0.2.2"), 0);
	s = seen_for(&sa, "192.0.2.3");
	ck_assert_int_eq(s->what, DNSBL_EV_ERROR);
	ck_assert_str_eq(s->ekind, "servfail");
	s = seen_for(&sa, "192.0.2.4");
	ck_assert_int_eq(s->what, DNSBL_EV_ERROR);
	ck_assert_str_eq(s->ekind, "timeout");
	s = seen_for(&sa, "192.0.2.5");
	ck_assert_int_eq(s->what, DNSBL_EV_ERROR);
	ck_assert_str_eq(s->ekind, "badanswer");
	s = seen_for(&sa, "192.0.2.9");
	ck_assert_int_eq(s->what, DNSBL_EV_CLEAN);

	dnsbl_free(mon);
	event_free(ev);
	close(fd);
	event_base_free(base);
}
END_TEST

/* Bad parameters: an error that names them, no monitor. */
START_TEST(test_monitor_bad)
{
	static const struct {
		const char	*ips, *domains, *zones, *resolver, *error;
	} bad[] = {
		{ "192.0.2.1 example.com", "", "zen.spamhaus.org", "127.0.0.1",
		  "blocklist_watch_ips: \"example.com\" is not an IP address" },
		{ "", "192.0.2.1", "zen.spamhaus.org", "127.0.0.1",
		  "blocklist_watch_domains: \"192.0.2.1\" is not a domain" },
		{ "192.0.2.1", "", "zen spam/haus", "127.0.0.1",
		  "blocklist_zones: \"spam/haus\" is not a zone name" },
		{ "192.0.2.1", "", "zen.spamhaus.org", "resolver",
		  "blocklist_resolver: \"resolver\" is not an address" },
	};
	struct event_base *base = event_base_new();
	struct dnsbl_params p;
	char *err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.watch_ips = bad[i].ips;
		p.watch_domains = bad[i].domains;
		p.zones = bad[i].zones;
		p.resolver = bad[i].resolver;
		err = NULL;
		ck_assert_ptr_null(dnsbl_new(base, &p, on_event, NULL, &err));
		ck_assert_ptr_nonnull(err);
		ck_assert_msg(strstr(err, bad[i].error) != NULL, "\"%s\" "
		    "lacks \"%s\"", err, bad[i].error);
		free(err);
	}
	event_base_free(base);
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

	tc = tcase_create("monitor");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_monitor_once);
	tcase_add_test(tc, test_monitor_bad);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(dnsbl_suite());
}
