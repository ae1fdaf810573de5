/*
 * dnsbl.c -- watch our own sending IPs and domains on DNS blocklists
 *
 * The zone table below is what bouncer knows of each list: the answer
 * codes it publishes and where to ask for delisting. A zone it does
 * not know may still be configured ("LIST=ZONE"); any 127.0.0.0/8
 * answer then reads "listed".
 *
 * The monitor keeps one item per (target, zone) pair, each with a
 * timer of its own: a query, then the next one an interval later
 * (plus or minus a tenth, so that pairs spread and do not query in
 * bursts), and never before the answer's TTL ran out: a list that
 * says its answer holds for an hour is not asked again sooner. An
 * error changes nothing: a listed target stays listed until a clean
 * answer says otherwise (a monitor that cannot see must not clear).
 *
 * Errors are logged when a zone starts failing with a kind, and again
 * when it answers again, not at every query.
 *
 * See also: dnsbl.h, bouncer.conf(5) (blocklist_*).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "clock.h"
#include "dnsbl.h"
#include "log.h"
#include "xalloc.h"

#define IP(a, b, c, d_)	(((uint32_t)(a) << 24) | \
			    ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | \
			    (uint32_t)(d_))

/* --- what the lists' answers mean ---------------------------------- */

static const struct dnsbl_code zen_codes[] = {
	{ IP(127, 0, 0, 2), IP(127, 0, 0, 2), "SBL: a known spam source or "
	    "spam operation (Spamhaus Block List)" },
	{ IP(127, 0, 0, 3), IP(127, 0, 0, 3), "CSS: low-reputation mail "
	    "seen from this IP (Spamhaus CSS, part of the SBL)" },
	{ IP(127, 0, 0, 4), IP(127, 0, 0, 7), "XBL: an exploited or "
	    "infected host (bot, open proxy)" },
	{ IP(127, 0, 0, 9), IP(127, 0, 0, 9), "DROP: a range hijacked or "
	    "run by spammers (Do not Route Or Peer)" },
	{ IP(127, 0, 0, 10), IP(127, 0, 0, 11), "PBL: an end-user range "
	    "that should not send to MX hosts directly (.10 set by the "
	    "ISP, .11 by Spamhaus)" },
	{ 0, 0, NULL }
};

static const struct dnsbl_code dbl_codes[] = {
	{ IP(127, 0, 1, 2), IP(127, 0, 1, 2), "DBL: a spam domain" },
	{ IP(127, 0, 1, 4), IP(127, 0, 1, 4), "DBL: a phishing domain" },
	{ IP(127, 0, 1, 5), IP(127, 0, 1, 5), "DBL: a malware domain" },
	{ IP(127, 0, 1, 6), IP(127, 0, 1, 6), "DBL: a botnet C&C domain" },
	{ IP(127, 0, 1, 102), IP(127, 0, 1, 102), "DBL: an abused "
	    "legitimate domain, used for spam" },
	{ IP(127, 0, 1, 103), IP(127, 0, 1, 103), "DBL: an abused "
	    "legitimate domain, a spammed redirector or shortener" },
	{ IP(127, 0, 1, 104), IP(127, 0, 1, 104), "DBL: an abused "
	    "legitimate domain, used for phishing" },
	{ IP(127, 0, 1, 105), IP(127, 0, 1, 105), "DBL: an abused "
	    "legitimate domain, used for malware" },
	{ IP(127, 0, 1, 106), IP(127, 0, 1, 106), "DBL: an abused "
	    "legitimate domain, used for botnet C&C" },
	{ 0, 0, NULL }
};

static const struct dnsbl_code sorbs_codes[] = {
	{ IP(127, 0, 0, 2), IP(127, 0, 0, 2), "SORBS HTTP: an open HTTP "
	    "proxy" },
	{ IP(127, 0, 0, 3), IP(127, 0, 0, 3), "SORBS SOCKS: an open SOCKS "
	    "proxy" },
	{ IP(127, 0, 0, 4), IP(127, 0, 0, 4), "SORBS MISC: an open proxy" },
	{ IP(127, 0, 0, 5), IP(127, 0, 0, 5), "SORBS SMTP: an open relay" },
	{ IP(127, 0, 0, 6), IP(127, 0, 0, 6), "SORBS SPAM: sent spam "
	    "recently" },
	{ IP(127, 0, 0, 7), IP(127, 0, 0, 7), "SORBS WEB: a web server "
	    "with an abusable script" },
	{ IP(127, 0, 0, 8), IP(127, 0, 0, 8), "SORBS BLOCK: its owner "
	    "asked not to be probed" },
	{ IP(127, 0, 0, 9), IP(127, 0, 0, 9), "SORBS ZOMBIE: a hijacked "
	    "network" },
	{ IP(127, 0, 0, 10), IP(127, 0, 0, 10), "SORBS DUL: a dynamic "
	    "address range" },
	{ IP(127, 0, 0, 11), IP(127, 0, 0, 11), "SORBS BADCONF: its domain "
	    "points to a bad address" },
	{ IP(127, 0, 0, 12), IP(127, 0, 0, 12), "SORBS NOMAIL: a domain "
	    "that sends no mail" },
	{ IP(127, 0, 0, 14), IP(127, 0, 0, 14), "SORBS NOSERVER: a range "
	    "that should run no servers" },
	{ 0, 0, NULL }
};

#define ONE_CODE(name, text)						\
static const struct dnsbl_code name[] = {				\
	{ IP(127, 0, 0, 2), IP(127, 0, 0, 2), text },			\
	{ 0, 0, NULL }							\
}
ONE_CODE(barracuda_codes, "listed in the Barracuda Reputation Block "
    "List (poor sending reputation)");
ONE_CODE(spamcop_codes, "reported as a spam source by SpamCop users "
    "or traps");
ONE_CODE(uceprotect_codes, "UCEPROTECT level 1: this IP sent to its "
    "spam traps");
ONE_CODE(mailspike_codes, "listed by Mailspike (spam, or a bad "
    "reputation)");
ONE_CODE(psbl_codes, "sent mail to PSBL's spam traps");
ONE_CODE(s5h_codes, "listed by s5h.net (spam seen from this IP)");

#define T4	DNSBL_T(DNSBL_IP4)
#define T6	DNSBL_T(DNSBL_IP6)
#define TD	DNSBL_T(DNSBL_DOMAIN)

static const struct dnsbl_zone known[] = {
	{ "spamhaus", "zen.spamhaus.org", T4 | T6,
	    "https://check.spamhaus.org/results/?query=%s", zen_codes, 1, 1 },
	{ "spamhaus", "dbl.spamhaus.org", TD,
	    "https://check.spamhaus.org/results/?query=%s", dbl_codes, 1, 1 },
	{ "barracuda", "b.barracudacentral.org", T4,
	    "https://www.barracudacentral.org/rbl/removal-request",
	    barracuda_codes, 0, 1 },
	{ "spamcop", "bl.spamcop.net", T4,
	    "https://www.spamcop.net/bl.shtml?%s", spamcop_codes, 0, 1 },
	{ "uceprotect", "dnsbl-1.uceprotect.net", T4,
	    "https://www.uceprotect.net/en/rblcheck.php?ipr=%s",
	    uceprotect_codes, 0, 1 },
	{ "mailspike", "bl.mailspike.net", T4,
	    "https://mailspike.org/iplookup.html", mailspike_codes, 0, 1 },
	{ "psbl", "psbl.surriel.com", T4,
	    "https://psbl.org/listing?ip=%s", psbl_codes, 0, 1 },
	{ "s5h", "all.s5h.net", T4, "https://www.s5h.net/rbl/",
	    s5h_codes, 0, 1 },
	{ "sorbs", "dnsbl.sorbs.net", T4 | T6,
	    "http://www.sorbs.net/lookup.shtml?%s", sorbs_codes, 0, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0, 0 }
};

/* Spamhaus's answers when it will not answer, and what to do. */
static const struct dnsbl_code spamhaus_refusals[] = {
	{ IP(127, 255, 255, 252), IP(127, 255, 255, 252), "query refused: "
	    "a typing error in the zone name, or a DQS key Spamhaus does "
	    "not know; check blocklist_zones and blocklist_dqs_key" },
	{ IP(127, 255, 255, 253), IP(127, 255, 255, 253), "query refused "
	    "by Spamhaus; query through your own resolver "
	    "(blocklist_resolver) or with a DQS key (blocklist_dqs_key)" },
	{ IP(127, 255, 255, 254), IP(127, 255, 255, 254), "query refused: "
	    "it came through a public or open resolver; set "
	    "blocklist_resolver to a resolver of your own, or use a free "
	    "DQS key (blocklist_dqs_key)" },
	{ IP(127, 255, 255, 255), IP(127, 255, 255, 255), "query refused: "
	    "excessive number of queries from this resolver; use a "
	    "resolver of your own (blocklist_resolver) or a DQS key "
	    "(blocklist_dqs_key)" },
	{ IP(127, 0, 1, 255), IP(127, 0, 1, 255), "query refused: an IP "
	    "address asked of a domain list (DBL); list it under "
	    "blocklist_watch_ips only" },
	{ 0, 0, NULL }
};

const struct dnsbl_zone *
dnsbl_known_zones(void)
{
	return known;
}

const struct dnsbl_zone *
dnsbl_zone_find(const char *zone)
{
	const struct dnsbl_zone *z;

	for (z = known; z->zone != NULL; z++)
		if (strcasecmp(z->zone, zone) == 0)
			return z;
	return NULL;
}

/* A DNS name: labels of letters, digits, hyphens, underscores. */
static int
dns_name_ok(const char *s)
{
	size_t len = strlen(s), label = 0;
	const char *p;

	if (len == 0 || len > 253 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

static void
lower_copy(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < size; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

int
dnsbl_zones_parse(const char *spec, const char *dqs_key,
    struct dnsbl_zcfg **out, char **errp)
{
	struct dnsbl_zcfg *zs = NULL, *zc;
	const struct dnsbl_zone *k;
	char *buf, *w, *save = NULL, *eq, zone[256];
	int n = 0, i, dq;

	*out = NULL;
	if (dqs_key == NULL)
		dqs_key = "";
	for (w = (char *)dqs_key; *w != '\0'; w++)
		if (!isalnum((unsigned char)*w)) {
			*errp = xstrdup("blocklist_dqs_key: letters and "
			    "digits only");
			return -1;
		}
	if (strlen(dqs_key) > 64) {
		*errp = xstrdup("blocklist_dqs_key: too long");
		return -1;
	}
	buf = xstrdup(spec != NULL ? spec : "");
	for (w = strtok_r(buf, " \t,", &save); w != NULL;
	    w = strtok_r(NULL, " \t,", &save)) {
		zs = xreallocarray(zs, (size_t)n + 1, sizeof(*zs));
		zc = &zs[n];
		memset(zc, 0, sizeof(*zc));
		if ((eq = strchr(w, '=')) != NULL) {
			*eq = '\0';
			lower_copy(zc->list, sizeof(zc->list), w);
			lower_copy(zone, sizeof(zone), eq + 1);
			if (*zc->list == '\0' || !dns_name_ok(zone)) {
				*errp = xasprintf("blocklist_zones: \"%s=%s\": "
				    "want LIST=ZONE", w, eq + 1);
				goto fail;
			}
		} else
			lower_copy(zone, sizeof(zone), w);
		if (!dns_name_ok(zone)) {
			*errp = xasprintf("blocklist_zones: \"%s\" is not a "
			    "zone name", w);
			goto fail;
		}
		/* The DQS names stand for the public zones, with the key. */
		dq = 0;
		if (strcmp(zone, "zen.dq.spamhaus.net") == 0 ||
		    strcmp(zone, "dbl.dq.spamhaus.net") == 0) {
			if (*dqs_key == '\0') {
				*errp = xasprintf("blocklist_zones: %s needs "
				    "blocklist_dqs_key", zone);
				goto fail;
			}
			dq = 1;
			memcpy(zone + 3, ".spamhaus.org", 14);
		}
		if ((k = dnsbl_zone_find(zone)) != NULL) {
			zc->z = *k;
			if (*zc->list == '\0')
				snprintf(zc->list, sizeof(zc->list), "%s",
				    k->list);
		} else {
			/* Unknown: any 127/8 answer is a listing. */
			zc->z.types = T4 | T6;
			zc->z.url = "";
			if (*zc->list == '\0')
				snprintf(zc->list, sizeof(zc->list), "%.63s",
				    zone);
		}
		if (zc->z.spamhaus && (dq || *dqs_key != '\0')) {
			if (*dqs_key == '\0') {
				*errp = xasprintf("blocklist_zones: %s needs "
				    "blocklist_dqs_key", w);
				goto fail;
			}
			snprintf(zc->query, sizeof(zc->query),
			    "%s.%.3s.dq.spamhaus.net", dqs_key, zone);
			snprintf(zc->shown, sizeof(zc->shown),
			    "%.3s.dq.spamhaus.net", zone);
		} else {
			snprintf(zc->query, sizeof(zc->query), "%s", zone);
			snprintf(zc->shown, sizeof(zc->shown), "%s", zone);
		}
		for (i = 0; i < n; i++)
			if (strcmp(zs[i].query, zc->query) == 0) {
				*errp = xasprintf("blocklist_zones: %s given "
				    "twice", w);
				goto fail;
			}
		/* The strings point into this entry: fixed once all parsed. */
		zc->z.zone = NULL;
		n++;
	}
	free(buf);
	for (i = 0; i < n; i++) {
		zs[i].z.zone = zs[i].shown;
		zs[i].z.list = zs[i].list;
	}
	*out = zs;
	return n;
fail:
	free(buf);
	free(zs);
	return -1;
}

enum dnsbl_type
dnsbl_target(const char *target, char *norm, size_t size)
{
	struct in_addr a4;
	struct in6_addr a6;
	char buf[INET6_ADDRSTRLEN];

	if (target == NULL)
		return DNSBL_BAD;
	if (inet_pton(AF_INET, target, &a4) == 1) {
		if (norm != NULL)
			snprintf(norm, size, "%s", inet_ntop(AF_INET, &a4,
			    buf, sizeof(buf)));
		return DNSBL_IP4;
	}
	if (inet_pton(AF_INET6, target, &a6) == 1) {
		if (norm != NULL)
			snprintf(norm, size, "%s", inet_ntop(AF_INET6, &a6,
			    buf, sizeof(buf)));
		return DNSBL_IP6;
	}
	/* A domain has a dot and a label that is not all digits. */
	if (!dns_name_ok(target) || strchr(target, '.') == NULL ||
	    strspn(target, "0123456789.") == strlen(target))
		return DNSBL_BAD;
	if (norm != NULL)
		lower_copy(norm, size, target);
	return DNSBL_DOMAIN;
}

enum dnsbl_type
dnsbl_query_name(const char *target, const char *zone, char *buf,
    size_t size)
{
	static const char hex[] = "0123456789abcdef";
	struct in_addr a4;
	struct in6_addr a6;
	char name[512], dom[256];
	const unsigned char *b;
	enum dnsbl_type t;
	size_t len = 0;
	int i;

	if ((t = dnsbl_target(target, dom, sizeof(dom))) == DNSBL_BAD ||
	    zone == NULL || !dns_name_ok(zone))
		return DNSBL_BAD;
	switch (t) {
	case DNSBL_IP4:
		inet_pton(AF_INET, target, &a4);
		b = (const unsigned char *)&a4;
		snprintf(name, sizeof(name), "%u.%u.%u.%u.%s", b[3], b[2],
		    b[1], b[0], zone);
		break;
	case DNSBL_IP6:
		inet_pton(AF_INET6, target, &a6);
		b = a6.s6_addr;
		for (i = 15; i >= 0; i--) {
			name[len++] = hex[b[i] & 0xf];
			name[len++] = '.';
			name[len++] = hex[b[i] >> 4];
			name[len++] = '.';
		}
		snprintf(name + len, sizeof(name) - len, "%s", zone);
		break;
	default:
		snprintf(name, sizeof(name), "%s.%s", dom, zone);
		break;
	}
	if (strlen(name) > 253 || strlen(name) >= size)
		return DNSBL_BAD;
	memcpy(buf, name, strlen(name) + 1);
	return t;
}

static const char *
code_meaning(const struct dnsbl_code *c, uint32_t a)
{
	for (; c != NULL && c->meaning != NULL; c++)
		if (a >= c->lo && a <= c->hi)
			return c->meaning;
	return NULL;
}

/* Appends "; " and text to buf, as far as it fits. */
static void
append(char *buf, size_t size, const char *text)
{
	size_t len = strlen(buf);

	if (len >= size)
		return;
	snprintf(buf + len, size - len, "%s%s", len ? "; " : "", text);
}

enum dnsbl_result
dnsbl_answer(const struct dnsbl_zone *z, const uint32_t *addrs, size_t n,
    char *meaning, size_t size)
{
	enum dnsbl_result r = DNSBL_CLEAN;
	char ip[INET_ADDRSTRLEN], one[512];
	const char *m;
	struct in_addr a;
	size_t i;

	*meaning = '\0';
	/* A refusal or a bad answer anywhere in it decides. */
	for (i = 0; i < n; i++) {
		a.s_addr = htonl(addrs[i]);
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		if (z->spamhaus && (m = code_meaning(spamhaus_refusals,
		    addrs[i])) != NULL) {
			snprintf(meaning, size, "%s %s", ip, m);
			return DNSBL_REFUSED;
		}
		if ((addrs[i] >> 24) != 127) {
			snprintf(meaning, size, "%s is not a DNSBL answer (not "
			    "in 127.0.0.0/8): the resolver rewrites answers; "
			    "use one that does not (blocklist_resolver)", ip);
			return DNSBL_BADANSWER;
		}
	}
	for (i = 0; i < n; i++) {
		a.s_addr = htonl(addrs[i]);
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		if ((m = code_meaning(z->codes, addrs[i])) == NULL)
			m = z->codes != NULL ? "listed (a code this list "
			    "did not document)" : "listed";
		snprintf(one, sizeof(one), "%s %s", ip, m);
		append(meaning, size, one);
		r = DNSBL_LISTED;
	}
	return r;
}

void
dnsbl_url(const struct dnsbl_zone *z, const char *target, char *buf,
    size_t size)
{
	const char *p = z->url != NULL ? z->url : "", *s;
	size_t len = 0;

	if (size == 0)
		return;
	while ((s = strstr(p, "%s")) != NULL) {
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0,
		    "%.*s%s", (int)(s - p), p, target);
		if (len >= size) {
			buf[size - 1] = '\0';
			return;
		}
		p = s + 2;
	}
	snprintf(buf + len, size - len, "%s", p);
}

/* --- the monitor ----------------------------------------------------- */

enum ekind { E_TIMEOUT, E_SERVFAIL, E_REFUSED, E_BADANSWER, E_OTHER,
    E_COUNT, E_NONE = -1 };
static const char *const ekind_names[E_COUNT] = {
	"timeout", "servfail", "refused", "badanswer", "other"
};

struct item {
	struct dnsbl		*mon;
	struct dnsbl_zcfg	*zc;
	char			 target[256];
	char			 qname[512];
	enum dnsbl_type		 type;
	int			 discovered;
	int			 done;	/* once mode: reported */
	struct event		*timer;
	int			 inflight;	/* a query is out */
	long long		 sent_ms;	/* monotonic */
	int			 listed;
	long long		 since;
	char			 meaning[512];
	int			 failing;	/* logged; E_NONE: fine */
	int			 answered;	/* a clean answer reported */
};

struct dnsbl {
	struct event_base	*base;
	struct evdns_base	*dns;
	struct dnsbl_zcfg	*zones;
	int			 nzones;
	struct item		**items;
	size_t			 nitems, ndiscovered, pending;
	long long		 interval_ms, timeout_ms;
	int			 once, discover;
	dnsbl_event_fn		*fn;
	void			*arg;
	/* Discovered IPs from other threads, under lock. */
	pthread_mutex_t		 lock;
	char			**found;
	size_t			 nfound;
	struct event		*wake;
	unsigned long		 queries, checks, errors[E_COUNT];
};

/* evdns's own messages ("Nameserver ... has failed"): debug only. */
static void
evdns_log(int severity, const char *msg)
{
	(void)severity;
	log_debug("evdns: %s", msg);
}

/* A random number of ms in [0, n). */
static long long
rnd(long long n)
{
	if (n <= 1)
		return 0;
	return (long long)(arc4random_uniform((uint32_t)(n > 0x7fffffff ?
	    0x7fffffff : n)));
}

static void
schedule(struct item *it, long long ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(it->timer, &tv);
}

static void
report(struct item *it, enum dnsbl_what what, const char *meaning,
    const char *ekind)
{
	struct dnsbl_event ev;
	char url[512];

	dnsbl_url(&it->zc->z, it->target, url, sizeof(url));
	memset(&ev, 0, sizeof(ev));
	ev.what = what;
	ev.list = it->zc->list;
	ev.zone = it->zc->shown;
	ev.target = it->target;
	ev.discovered = it->discovered;
	ev.meaning = meaning;
	ev.url = url;
	ev.error_kind = ekind;
	ev.since = it->since;
	ev.checked = clock_now();
	it->mon->fn(&ev, it->mon->arg);
}

/*
 * The pair's check answered, or failed with k: log the changes only,
 * not every failure of a zone that stays down.
 */
static void
item_state(struct item *it, enum ekind k, const char *why)
{
	if (it->failing == (int)k || it->mon->once)
		return;
	if (k == E_NONE)
		log_info("dnsbl: %s answers again about %s", it->zc->shown,
		    it->target);
	else
		log_warn("dnsbl: %s, asking about %s: %s; counted in "
		    "bouncer_blocklist_errors_total{kind=\"%s\"}",
		    it->zc->shown, it->target, why, ekind_names[k]);
	it->failing = (int)k;
}

static void
finish(struct item *it, long long ttl)
{
	struct dnsbl *mon = it->mon;
	long long next;

	mon->checks++;
	if (mon->once) {
		if (!it->done) {
			it->done = 1;
			if (--mon->pending == 0)
				event_base_loopexit(mon->base, NULL);
		}
		return;
	}
	next = mon->interval_ms - mon->interval_ms / 10 +
	    rnd(mon->interval_ms / 5 + 1);
	if (ttl * 1000 > next)
		next = ttl * 1000;
	schedule(it, next);
}

static void
on_answer(int result, char type, int count, int ttl, void *addresses,
    void *arg)
{
	struct item *it = arg;
	struct dnsbl *mon = it->mon;
	uint32_t addrs[32];
	char meaning[512], why[128];
	enum ekind k = E_NONE;
	long long took;
	int i;

	if (result == DNS_ERR_SHUTDOWN || result == DNS_ERR_CANCEL)
		return;
	it->inflight = 0;
	took = clock_mono_ms() - it->sent_ms;
	log_debug("dnsbl: %s: %s, %d address(es), ttl %d, %lld ms",
	    it->qname, evdns_err_to_string(result), count, ttl, took);
	if (ttl < 0)
		ttl = 0;
	switch (result) {
	case DNS_ERR_NONE:
		if (type != DNS_IPv4_A || count <= 0)
			goto clean;	/* NOERROR, no A record */
		if (count > 32)
			count = 32;
		for (i = 0; i < count; i++)
			addrs[i] = ntohl(((const uint32_t *)addresses)[i]);
		switch (dnsbl_answer(&it->zc->z, addrs, (size_t)count, meaning,
		    sizeof(meaning))) {
		case DNSBL_CLEAN:
			goto clean;
		case DNSBL_REFUSED:
			k = E_REFUSED;
			goto error;
		case DNSBL_BADANSWER:
			k = E_BADANSWER;
			goto error;
		case DNSBL_LISTED:
			break;
		}
		item_state(it, E_NONE, NULL);
		snprintf(it->meaning, sizeof(it->meaning), "%s", meaning);
		if (!it->listed) {
			it->listed = 1;
			it->since = clock_now();
			report(it, DNSBL_EV_LISTED, it->meaning, NULL);
		} else
			report(it, DNSBL_EV_STILL, it->meaning, NULL);
		finish(it, ttl);
		return;
	case DNS_ERR_NOTEXIST:
		goto clean;
	case DNS_ERR_SERVERFAILED:
		k = E_SERVFAIL;
		snprintf(meaning, sizeof(meaning), "SERVFAIL from the "
		    "resolver");
		goto error;
	case DNS_ERR_TIMEOUT:
		/* evdns reports a SERVFAIL as a timeout: see dnsbl.h. */
		if (took < mon->timeout_ms / 2) {
			k = E_SERVFAIL;
			snprintf(meaning, sizeof(meaning), "the resolver "
			    "failed (SERVFAIL) after %lld ms", took);
		} else {
			k = E_TIMEOUT;
			snprintf(meaning, sizeof(meaning), "no answer in "
			    "%lld ms", took);
		}
		goto error;
	default:
		k = E_OTHER;
		snprintf(meaning, sizeof(meaning), "%s",
		    evdns_err_to_string(result));
		goto error;
	}
clean:
	item_state(it, E_NONE, NULL);
	if (it->listed) {
		it->listed = 0;
		report(it, DNSBL_EV_CLEARED, it->meaning, NULL);
		*it->meaning = '\0';
	} else if (mon->once || !it->answered)
		report(it, DNSBL_EV_CLEAN, "", NULL);
	it->answered = 1;
	finish(it, ttl);
	return;
error:
	mon->errors[k]++;
	snprintf(why, sizeof(why), "%s", ekind_names[k]);
	item_state(it, k, meaning);
	report(it, DNSBL_EV_ERROR, meaning, why);
	finish(it, 0);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct item *it = arg;
	struct dnsbl *mon = it->mon;

	(void)fd;
	(void)what;
	/* Still out (evdns's own timeouts end it first): wait more. */
	if (it->inflight) {
		schedule(it, mon->interval_ms);
		return;
	}
	it->sent_ms = clock_mono_ms();
	mon->queries++;
	it->inflight = 1;
	/* The answer always comes later, from the loop (never in here). */
	if (evdns_base_resolve_ipv4(mon->dns, it->qname, DNS_QUERY_NO_SEARCH,
	    on_answer, it) == NULL) {
		it->inflight = 0;
		mon->errors[E_OTHER]++;
		item_state(it, E_OTHER, "the query could not be sent");
		report(it, DNSBL_EV_ERROR, "the query could not be sent",
		    ekind_names[E_OTHER]);
		finish(it, 0);
	}
}

/* Adds target (already checked) against every zone of its kind. */
static int
add_target(struct dnsbl *mon, const char *target, int discovered,
    long long first_ms)
{
	char norm[256];
	enum dnsbl_type t;
	struct item *it;
	size_t i;
	int z, added = 0;

	if ((t = dnsbl_target(target, norm, sizeof(norm))) == DNSBL_BAD)
		return -1;
	for (i = 0; i < mon->nitems; i++)
		if (strcmp(mon->items[i]->target, norm) == 0)
			return 0;
	for (z = 0; z < mon->nzones; z++) {
		if (!(mon->zones[z].z.types & DNSBL_T(t)))
			continue;
		it = xcalloc(1, sizeof(*it));
		it->mon = mon;
		it->zc = &mon->zones[z];
		it->type = t;
		it->discovered = discovered;
		it->failing = E_NONE;
		snprintf(it->target, sizeof(it->target), "%s", norm);
		if (dnsbl_query_name(norm, it->zc->query, it->qname,
		    sizeof(it->qname)) == DNSBL_BAD) {
			free(it);
			continue;	/* too long for this zone */
		}
		it->timer = evtimer_new(mon->base, on_timer, it);
		mon->items = xreallocarray(mon->items, mon->nitems + 1,
		    sizeof(*mon->items));
		mon->items[mon->nitems++] = it;
		mon->pending++;
		schedule(it, rnd(first_ms));
		added = 1;
	}
	return added;
}

/* Adds every word of list, each of type want (or a domain). */
static int
add_list(struct dnsbl *mon, const char *list, const char *param,
    int domains, char **errp)
{
	char *buf = xstrdup(list != NULL ? list : ""), *w, *save = NULL;
	enum dnsbl_type t;

	for (w = strtok_r(buf, " \t,", &save); w != NULL;
	    w = strtok_r(NULL, " \t,", &save)) {
		t = dnsbl_target(w, NULL, 0);
		if (t == DNSBL_BAD || (t == DNSBL_DOMAIN) != domains) {
			*errp = xasprintf("%s: \"%s\" is not %s", param, w,
			    domains ? "a domain" : "an IP address");
			free(buf);
			return -1;
		}
		add_target(mon, w, 0, mon->once ? 1 :
		    (mon->interval_ms < 5000 ? mon->interval_ms : 5000));
	}
	free(buf);
	return 0;
}

/* Discovered IPs handed over by other threads. */
static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct dnsbl *mon = arg;
	char **found;
	size_t n, i;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&mon->lock);
	found = mon->found;
	n = mon->nfound;
	mon->found = NULL;
	mon->nfound = 0;
	pthread_mutex_unlock(&mon->lock);
	for (i = 0; i < n; i++) {
		if (dnsbl_watch(mon, found[i]) == 1)
			log_info("dnsbl: discovered sending IP %s in a reply; "
			    "watching it", found[i]);
		free(found[i]);
	}
	free(found);
}

int
dnsbl_wanted(const struct dnsbl_params *p)
{
	const char *sep = " \t,";

	return p->discover ||
	    (p->watch_ips != NULL && p->watch_ips[strspn(p->watch_ips,
	    sep)] != '\0') ||
	    (p->watch_domains != NULL && p->watch_domains[strspn(
	    p->watch_domains, sep)] != '\0');
}

struct dnsbl *
dnsbl_new(struct event_base *base, const struct dnsbl_params *p,
    dnsbl_event_fn *fn, void *arg, char **errp)
{
	struct dnsbl *mon;
	char v[32];

	mon = xcalloc(1, sizeof(*mon));
	mon->base = base;
	mon->fn = fn;
	mon->arg = arg;
	mon->once = p->once;
	mon->discover = p->discover;
	mon->interval_ms = (p->interval > 0 ? p->interval : 600) * 1000;
	mon->timeout_ms = (p->timeout > 0 ? p->timeout : 5) * 1000;
	pthread_mutex_init(&mon->lock, NULL);
	evdns_set_log_fn(evdns_log);
	if ((mon->nzones = dnsbl_zones_parse(p->zones, p->dqs_key,
	    &mon->zones, errp)) < 0) {
		mon->nzones = 0;
		goto fail;
	}
	if (p->resolver != NULL && *p->resolver != '\0') {
		mon->dns = evdns_base_new(base, 0);
		if (mon->dns == NULL || evdns_base_nameserver_ip_add(mon->dns,
		    p->resolver) != 0) {
			*errp = xasprintf("blocklist_resolver: \"%s\" is not "
			    "an address (IP, IP:PORT or [IPv6]:PORT)",
			    p->resolver);
			goto fail;
		}
	} else if ((mon->dns = evdns_base_new(base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL) {
		*errp = xstrdup("blocklist: no resolver: /etc/resolv.conf "
		    "names none; set blocklist_resolver");
		goto fail;
	}
	snprintf(v, sizeof(v), "%lld", mon->timeout_ms / 1000);
	evdns_base_set_option(mon->dns, "timeout:", v);
	evdns_base_set_option(mon->dns, "attempts:", "2");
	if (add_list(mon, p->watch_ips, "blocklist_watch_ips", 0, errp) < 0 ||
	    add_list(mon, p->watch_domains, "blocklist_watch_domains", 1,
	    errp) < 0)
		goto fail;
	mon->wake = event_new(base, -1, 0, on_wake, mon);
	if (mon->once && mon->pending == 0)
		event_base_loopexit(base, NULL);
	if (!mon->once)
		log_info("dnsbl: %zu target and zone pair(s) on %d zone(s), "
		    "every %llds, through %s%s", mon->nitems, mon->nzones,
		    mon->interval_ms / 1000, p->resolver != NULL &&
		    *p->resolver != '\0' ? p->resolver : "/etc/resolv.conf",
		    mon->discover ? "; discovering sending IPs" : "");
	return mon;
fail:
	dnsbl_free(mon);
	return NULL;
}

int
dnsbl_watch(struct dnsbl *mon, const char *target)
{
	int rc;

	if (dnsbl_target(target, NULL, 0) == DNSBL_BAD)
		return -1;
	if (mon->ndiscovered >= DNSBL_DISCOVER_MAX)
		return 0;
	if ((rc = add_target(mon, target, 1, 1000)) == 1)
		mon->ndiscovered++;
	return rc;
}

/* Private, loopback, link-local, documentation-only? Not on DNSBLs. */
static int
not_public(const char *ip)
{
	struct in_addr a4;
	struct in6_addr a6;
	uint32_t a;

	if (inet_pton(AF_INET, ip, &a4) == 1) {
		a = ntohl(a4.s_addr);
		return (a >> 24) == 10 || (a >> 24) == 127 || (a >> 24) == 0 ||
		    (a >> 20) == (IP(172, 16, 0, 0) >> 20) ||
		    (a >> 16) == (IP(192, 168, 0, 0) >> 16) ||
		    (a >> 16) == (IP(169, 254, 0, 0) >> 16) ||
		    (a >> 22) == (IP(100, 64, 0, 0) >> 22) || (a >> 28) >= 14;
	}
	if (inet_pton(AF_INET6, ip, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		    IN6_IS_ADDR_LINKLOCAL(&a6) ||
		    IN6_IS_ADDR_UNSPECIFIED(&a6) ||
		    (a6.s6_addr[0] & 0xfe) == 0xfc;
	return 1;
}

void
dnsbl_discover(struct dnsbl *mon, const char *ip)
{
	if (mon == NULL || !mon->discover || ip == NULL || *ip == '\0' ||
	    not_public(ip))
		return;
	pthread_mutex_lock(&mon->lock);
	if (mon->nfound < DNSBL_DISCOVER_MAX) {
		mon->found = xreallocarray(mon->found, mon->nfound + 1,
		    sizeof(*mon->found));
		mon->found[mon->nfound++] = xstrdup(ip);
	}
	pthread_mutex_unlock(&mon->lock);
	event_active(mon->wake, EV_READ, 0);
}

int
dnsbl_listed(const struct dnsbl *mon, const char *list, const char *target)
{
	size_t i;

	if (mon == NULL || list == NULL || target == NULL)
		return 0;
	for (i = 0; i < mon->nitems; i++)
		if (mon->items[i]->listed &&
		    strcmp(mon->items[i]->zc->list, list) == 0 &&
		    strcmp(mon->items[i]->target, target) == 0)
			return 1;
	return 0;
}

size_t
dnsbl_pending(const struct dnsbl *mon)
{
	return mon->pending;
}

void
dnsbl_metrics(const struct dnsbl *mon, struct evbuffer *out)
{
	const struct item *it;
	size_t i;
	int k;

	evbuffer_add_printf(out,
	    "# HELP bouncer_blocklist_listed 1 when the last check found the "
	    "target on the list's zone.\n"
	    "# TYPE bouncer_blocklist_listed gauge\n");
	for (i = 0; i < mon->nitems; i++) {
		it = mon->items[i];
		evbuffer_add_printf(out, "bouncer_blocklist_listed{list=\"%s\","
		    "zone=\"%s\",target=\"%s\"} %d\n", it->zc->list,
		    it->zc->shown, it->target, it->listed);
	}
	evbuffer_add_printf(out,
	    "# HELP bouncer_blocklist_queries_total DNS queries sent to "
	    "blocklists.\n"
	    "# TYPE bouncer_blocklist_queries_total counter\n"
	    "bouncer_blocklist_queries_total %lu\n"
	    "# HELP bouncer_blocklist_checks_total Blocklist checks "
	    "finished, with an answer or an error.\n"
	    "# TYPE bouncer_blocklist_checks_total counter\n"
	    "bouncer_blocklist_checks_total %lu\n"
	    "# HELP bouncer_blocklist_errors_total Blocklist checks that "
	    "failed, by kind.\n"
	    "# TYPE bouncer_blocklist_errors_total counter\n",
	    mon->queries, mon->checks);
	for (k = 0; k < E_COUNT; k++)
		evbuffer_add_printf(out, "bouncer_blocklist_errors_total{kind="
		    "\"%s\"} %lu\n", ekind_names[k], mon->errors[k]);
}

void
dnsbl_free(struct dnsbl *mon)
{
	size_t i;

	if (mon == NULL)
		return;
	/* No callbacks: the requests in flight are dropped with it. */
	if (mon->dns != NULL)
		evdns_base_free(mon->dns, 0);
	for (i = 0; i < mon->nitems; i++) {
		if (mon->items[i]->timer != NULL)
			event_free(mon->items[i]->timer);
		free(mon->items[i]);
	}
	free(mon->items);
	for (i = 0; i < mon->nfound; i++)
		free(mon->found[i]);
	free(mon->found);
	if (mon->wake != NULL)
		event_free(mon->wake);
	pthread_mutex_destroy(&mon->lock);
	free(mon->zones);
	free(mon);
}
