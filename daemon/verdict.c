/*
 * verdict.c -- reasons and decisions
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verdict.h"

struct reason_info {
	const char	*name;
	int		 may_suppress;
	const char	*perm;		/* status when none was given, 5xx */
	const char	*temp;		/* the same, 4xx */
};

/*
 * The statuses are those Sisimai derives for a reason when the bounce
 * has no usable status of its own: RFC 3463 codes where one fits, and
 * its private x.0.9nn codes otherwise.
 */
static const struct reason_info reasons[R_COUNT] = {
	[R_UNDEFINED]		= { "undefined",	0, "5.0.900", "4.0.900" },
	[R_AUTHFAILURE]		= { "authfailure",	0, "5.0.970", "4.0.970" },
	[R_BADREPUTATION]	= { "badreputation",	0, "5.0.970", "4.0.970" },
	[R_BLOCKED]		= { "blocked",		0, "5.0.971", "4.0.971" },
	[R_CONTENTERROR]	= { "contenterror",	0, "5.0.960", "4.0.960" },
	[R_DELIVERED]		= { "delivered",	0, "2.0.0",   "2.0.0" },
	[R_EXCEEDLIMIT]		= { "exceedlimit",	0, "5.0.923", "4.0.923" },
	[R_EXPIRED]		= { "expired",		0, "5.0.947", "4.0.947" },
	[R_FEEDBACK]		= { "feedback",		1, "",        "" },
	[R_FILTERED]		= { "filtered",		1, "5.0.910", "4.0.910" },
	[R_HASMOVED]		= { "hasmoved",		1, "5.0.916", "4.0.916" },
	[R_HOSTUNKNOWN]		= { "hostunknown",	1, "5.0.912", "4.0.912" },
	[R_MAILBOXFULL]		= { "mailboxfull",	1, "5.0.922", "4.0.922" },
	[R_MAILERERROR]		= { "mailererror",	0, "5.0.939", "4.0.939" },
	[R_MESGTOOBIG]		= { "mesgtoobig",	0, "5.0.934", "4.0.934" },
	[R_NETWORKERROR]	= { "networkerror",	0, "5.0.944", "4.0.944" },
	[R_NORELAYING]		= { "norelaying",	0, "5.0.909", "4.0.909" },
	[R_NOTACCEPT]		= { "notaccept",	1, "5.0.932", "4.0.932" },
	[R_NOTCOMPLIANTRFC]	= { "notcompliantrfc",	0, "5.0.900", "4.0.900" },
	[R_ONHOLD]		= { "onhold",		0, "5.0.901", "4.0.901" },
	[R_POLICYVIOLATION]	= { "policyviolation",	0, "5.0.972", "4.0.972" },
	[R_REJECTED]		= { "rejected",		1, "5.0.918", "4.0.918" },
	[R_REQUIREPTR]		= { "requireptr",	0, "5.0.902", "4.0.902" },
	[R_SECURITYERROR]	= { "securityerror",	0, "5.0.970", "4.0.970" },
	[R_SPAMDETECTED]	= { "spamdetected",	0, "5.0.980", "4.0.980" },
	[R_SPEEDING]		= { "speeding",		0, "5.0.946", "4.0.946" },
	[R_SUSPEND]		= { "suspend",		1, "5.0.921", "4.0.921" },
	[R_SYNTAXERROR]		= { "syntaxerror",	0, "5.0.902", "4.0.902" },
	[R_SYSTEMERROR]		= { "systemerror",	0, "5.0.930", "4.0.930" },
	[R_SYSTEMFULL]		= { "systemfull",	0, "5.0.931", "4.0.931" },
	[R_TOOMANYCONN]		= { "toomanyconn",	0, "5.0.945", "4.0.945" },
	[R_USERUNKNOWN]		= { "userunknown",	1, "5.0.911", "4.0.911" },
	[R_VACATION]		= { "vacation",		0, "",        "" },
	[R_VIRUSDETECTED]	= { "virusdetected",	0, "5.0.980", "4.0.980" },
};

int
reason_parse(const char *s, size_t n)
{
	int i;

	for (i = 0; i < R_COUNT; i++)
		if (strlen(reasons[i].name) == n &&
		    memcmp(reasons[i].name, s, n) == 0)
			return i;
	return -1;
}

const char *
reason_name(enum reason r)
{
	return (unsigned)r < R_COUNT ? reasons[r].name : "undefined";
}

int
reason_may_suppress(enum reason r)
{
	return (unsigned)r < R_COUNT && reasons[r].may_suppress;
}

const char *
reason_status(enum reason r, int temporary)
{
	if ((unsigned)r >= R_COUNT)
		r = R_UNDEFINED;
	return temporary ? reasons[r].temp : reasons[r].perm;
}

static const struct {
	const char	*name;
	unsigned	 bit;
} decisions[] = {
	{ "suppress", D_SUPPRESS },
	{ "retry", D_RETRY },
	{ "throttle", D_THROTTLE },
	{ "alert", D_ALERT },
};

#define NDECISIONS (sizeof(decisions) / sizeof(decisions[0]))

int
decision_parse(const char *s, size_t n, unsigned *set, char *bad,
    size_t badsz)
{
	const char *end = s + n, *w;
	size_t i, len;

	*set = 0;
	if (n == 4 && memcmp(s, "none", 4) == 0)
		return 0;
	while (s < end) {
		for (w = s; s < end && *s != ','; s++)
			;
		len = (size_t)(s - w);
		for (i = 0; i < NDECISIONS; i++)
			if (strlen(decisions[i].name) == len &&
			    memcmp(decisions[i].name, w, len) == 0)
				break;
		if (i == NDECISIONS) {
			snprintf(bad, badsz, "%.*s", (int)len, w);
			return -1;
		}
		*set |= decisions[i].bit;
		if (s < end)
			s++;	/* the comma */
	}
	if (*set == 0) {
		snprintf(bad, badsz, "%.*s", (int)n, s - n);
		return -1;
	}
	return 0;
}

char *
decision_format(unsigned set, char *buf, size_t bufsz)
{
	size_t i, off = 0;

	buf[0] = '\0';
	if ((set & D_ALL) == 0) {
		snprintf(buf, bufsz, "none");
		return buf;
	}
	for (i = 0; i < NDECISIONS; i++) {
		if ((set & decisions[i].bit) == 0)
			continue;
		off += (size_t)snprintf(buf + off, off < bufsz ? bufsz - off : 0,
		    "%s%s", off ? "," : "", decisions[i].name);
	}
	return buf;
}

int
answer_is_ours(const char *text, size_t n)
{
	static const char *const phrases[] = { ANSWER_SUPPRESSED ": ",
	    ANSWER_BACKOFF ": ", ANSWER_THROTTLED ": " };
	const char *p, *w, *end = text + n;
	size_t i, len;

	for (i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++) {
		len = strlen(phrases[i]);
		for (p = text; (size_t)(end - p) >= len &&
		    (p = memmem(p, (size_t)(end - p), phrases[i], len)) !=
		    NULL; p += len) {
			/* ... followed by a reason name */
			for (w = p + len; w < end && *w >= 'a' && *w <= 'z';
			    w++)
				;
			if (reason_parse(p + len, (size_t)(w - p - len)) >= 0)
				return 1;
		}
	}
	return 0;
}

enum scope_guard
verdict_scope(enum smtp_stage stage, enum reason reason)
{
	if (!reason_may_suppress(reason))
		return GUARD_REASON;
	switch (stage) {
	case STAGE_CONNECT:
	case STAGE_HELO:
	case STAGE_MAIL:
		return GUARD_STAGE;
	default:
		return GUARD_NONE;
	}
}

/* "3d4h", "1h20m", "9m", "30s": the time left, two units at most. */
static void
time_left(long long secs, char *buf, size_t bufsz)
{
	static const struct {
		long long	 n;
		char		 c;
	} u[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	size_t i;
	int off;

	if (secs < 1)
		secs = 1;
	for (i = 0; secs < u[i].n; i++)
		;
	off = snprintf(buf, bufsz, "%lld%c", secs / u[i].n, u[i].c);
	secs %= u[i].n;
	if (i + 1 < sizeof(u) / sizeof(u[0]) && secs / u[i + 1].n > 0 &&
	    off > 0 && (size_t)off < bufsz)
		snprintf(buf + off, bufsz - (size_t)off, "%lld%c",
		    secs / u[i + 1].n, u[i + 1].c);
}

size_t
answer_text(const struct answer *a, char *buf, size_t bufsz)
{
	char since[32], left[32];
	struct tm tm;
	time_t t;
	int n;

	if (bufsz == 0)
		return 0;
	switch (a->action) {
	case ACT_REJECT:
		since[0] = '\0';
		if (a->since > 0) {
			t = (time_t)a->since;
			gmtime_r(&t, &tm);
			strftime(since, sizeof(since), " since %Y-%m-%d", &tm);
		}
		n = snprintf(buf, bufsz, ANSWER_TAG ANSWER_SUPPRESSED ": %s%s",
		    reason_name(a->reason), since);
		break;
	case ACT_DEFER:
		time_left(a->until - a->now, left, sizeof(left));
		n = snprintf(buf, bufsz, "%s: %s, retry in %s",
		    a->scope == SCOPE_DESTINATION ? ANSWER_TAG ANSWER_THROTTLED :
		    ANSWER_TAG ANSWER_BACKOFF, reason_name(a->reason), left);
		break;
	default:
		buf[0] = '\0';
		return 0;
	}
	if (n < 0)
		n = 0;
	return (size_t)n < bufsz ? (size_t)n : bufsz - 1;
}

int
facts_set(struct reply_facts *f, const char *key, size_t klen,
    const char *val, size_t vlen)
{
	char num[32], *dst;
	size_t dstsz;

#define IS(k)	(klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
	if (IS("retry_after")) {
		if (f->retry_after == 0) {
			snprintf(num, sizeof(num), "%.*s", (int)vlen, val);
			f->retry_after = atoll(num);
		}
		return 1;
	}
	if (IS("blocklist")) {
		dst = f->blocklist;
		dstsz = sizeof(f->blocklist);
	} else if (IS("ip")) {
		dst = f->ip;
		dstsz = sizeof(f->ip);
	} else if (IS("url")) {
		dst = f->url;
		dstsz = sizeof(f->url);
	} else
		return 0;
#undef IS
	if (*dst == '\0')
		snprintf(dst, dstsz, "%.*s", (int)vlen, val);
	return 1;
}

void
facts_parse(struct reply_facts *f, const char *details)
{
	const char *p, *w, *eq;

	memset(f, 0, sizeof(*f));
	for (p = details ? details : ""; *p;) {
		while (*p == ' ')
			p++;
		for (w = p; *p && *p != ' '; p++)
			;
		if (p == w)
			break;
		if ((eq = memchr(w, '=', (size_t)(p - w))) != NULL)
			facts_set(f, w, (size_t)(eq - w), eq + 1,
			    (size_t)(p - eq - 1));
	}
}
