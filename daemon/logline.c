/*
 * logline.c -- one maillog line, read for what it is worth as evidence
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "classify.h"
#include "logline.h"
#include "verdict.h"

/* Two digits at p, or -1. */
static int
two(const char *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* An RFC 3339 zone at e ("Z", "+09:00", "-0430"); -1 if it is none. */
static int
zone(const char *e, long *off)
{
	int sign, hh, mm;

	*off = 0;
	if (e[0] == 'Z' && e[1] == '\0')
		return 0;
	if (e[0] != '+' && e[0] != '-')
		return -1;
	sign = e[0] == '-' ? -1 : 1;
	if ((hh = two(e + 1)) < 0 || hh > 23)
		return -1;
	e += 3;
	if (*e == ':')
		e++;
	if ((mm = two(e)) < 0 || mm > 59 || e[2] != '\0')
		return -1;
	*off = sign * (hh * 3600L + mm * 60L);
	return 0;
}

long long
logline_time(const char *s, size_t n, long long now)
{
	char buf[64], *e;
	struct tm tm, want, try;
	time_t t, nt = (time_t)now;
	long off;
	int y;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(&tm, 0, sizeof(tm));
	if ((e = strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm)) != NULL) {
		if (*e == '.')
			for (e++; *e >= '0' && *e <= '9'; e++)
				;
		/* No zone would be local time; none is written so. */
		if (zone(e, &off) < 0)
			return -1;
		return (long long)timegm(&tm) - off;
	}
	memset(&tm, 0, sizeof(tm));
	if ((e = strptime(buf, "%Y-%m-%d %H:%M:%S", &tm)) != NULL) {
		/* Exim: milliseconds and a zone are optional. */
		if (*e == '.')
			for (e++; *e >= '0' && *e <= '9'; e++)
				;
		if (*e == ' ') {
			if (zone(e + 1, &off) < 0)
				return -1;
			return (long long)timegm(&tm) - off;
		}
		if (*e != '\0')
			return -1;
		tm.tm_isdst = -1;
		return (t = mktime(&tm)) == (time_t)-1 ? -1 : (long long)t;
	}
	memset(&tm, 0, sizeof(tm));
	if ((e = strptime(buf, "%b %d %H:%M:%S", &tm)) == NULL || *e != '\0')
		return -1;
	/*
	 * No year: of next year, this one and the last, the latest that is
	 * no more than a day ahead of now. A December line read in January
	 * is last year's, a 1 January line read on New Year's Eve (clock
	 * skew, another time zone) next year's. A date some year lacks
	 * (29 February) is only taken in a year that has it.
	 */
	localtime_r(&nt, &want);
	for (y = want.tm_year + 1; y >= want.tm_year - 1; y--) {
		try = tm;
		try.tm_year = y;
		try.tm_isdst = -1;
		if ((t = mktime(&try)) == (time_t)-1 || try.tm_mon != tm.tm_mon ||
		    try.tm_mday != tm.tm_mday)
			continue;
		if ((long long)t <= now + 86400)
			return (long long)t;
	}
	return -1;
}

char *
logline_msgid(const char *id, size_t n, char *buf, size_t bufsz)
{
	const char *end = id + n;
	size_t len;

	if (bufsz == 0)
		return buf;
	while (id < end && (*id == ' ' || *id == '\t' || *id == '<'))
		id++;
	for (len = 0; id + len < end && id[len] != '>' && id[len] != ' ' &&
	    id[len] != '\t' && id[len] != ','; len++)
		;
	if (len >= bufsz)
		len = bufsz - 1;
	memcpy(buf, id, len);
	buf[len] = '\0';
	return buf;
}

/* The last n-byte lit in [p, end), or NULL. */
static const char *
last_of(const char *p, const char *end, const char *lit, size_t n)
{
	const char *hit = NULL, *f;

	while ((size_t)(end - p) >= n && (f = memmem(p, (size_t)(end - p),
	    lit, n)) != NULL) {
		hit = f;
		p = f + 1;
	}
	return hit;
}

/*
 * "... postfix/cleanup[PID]: QID: message-id=<x>" (Postfix) or "...
 * sm-mta[PID]: QID: from=<..>, size=.., class=.., nrcpts=.., msgid=<x>"
 * (Sendmail), anchored from the left as maillog_parse() is: the first
 * "]: " ends the program. Sendmail's msgid= is looked for after the
 * last ", nrcpts=", beyond what a sender could write into from=<>.
 */
static int
msgid_line(const char *line, size_t n, struct logline *ll)
{
	const char *end = line + n, *prog, *qid, *p, *v;
	size_t qn;

	if ((p = memmem(line, n, "]: ", 3)) == NULL)
		return 0;
	for (prog = p; prog > line && prog[-1] != ' '; prog--)
		;
	qid = p + 3;
	for (p = qid; p < end && *p != ':' && *p != ' '; p++)
		;
	qn = (size_t)(p - qid);
	if (qn == 0 || qn >= sizeof(ll->qid))
		return 0;
	if ((size_t)(end - p) > 13 && memcmp(p, ": message-id=", 13) == 0 &&
	    memmem(prog, (size_t)(qid - prog), "cleanup[", 8) != NULL)
		v = p + 13;
	else if ((size_t)(end - p) > 7 && memcmp(p, ": from=", 7) == 0 &&
	    memmem(prog, (size_t)(qid - prog), "postfix", 7) == NULL &&
	    (v = last_of(p, end, ", nrcpts=", 9)) != NULL &&
	    (v = memmem(v, (size_t)(end - v), ", msgid=", 8)) != NULL)
		v += 8;
	else
		return 0;
	memcpy(ll->qid, qid, qn);
	ll->qid[qn] = '\0';
	logline_msgid(v, (size_t)(end - v), ll->msgid, sizeof(ll->msgid));
	return ll->msgid[0] != '\0';
}

static size_t	stamp_len(const char *, size_t);

/*
 * Exim's arrival line: "STAMP [PID] ID <= sender H=... P=esmtp S=1234
 * id=x@y ...". The id= is the one right after S=, looked for after the
 * sender (which may be a quoted local part holding spaces), so that
 * nothing a sender writes can stand for it.
 */
static int
exim_msgid_line(const char *line, size_t n, struct logline *ll)
{
	const char *end = line + n, *p, *q, *v;
	size_t qn, sl;

	if ((sl = stamp_len(line, n)) < 19 || sl >= n || line[sl] != ' ' ||
	    line[10] != ' ')
		return 0;
	p = line + sl + 1;
	if (p < end && *p == '[') {
		while (p < end && *p != ' ')
			p++;
		p++;
	}
	for (q = p; q < end && *q != ' '; q++)
		;
	qn = (size_t)(q - p);
	if (qn == 0 || qn >= sizeof(ll->qid) || end - q < 4 ||
	    memcmp(q, " <= ", 4) != 0)
		return 0;
	memcpy(ll->qid, p, qn);
	ll->qid[qn] = '\0';
	v = q + 4;
	if (v < end && *v == '"') {
		for (v++; v < end && *v != '"'; v++)
			if (*v == '\\' && v + 1 < end)
				v++;
		if (v < end)
			v++;
	}
	while (v < end && *v != ' ')
		v++;
	for (; (v = memmem(v, (size_t)(end - v), " S=", 3)) != NULL; v++) {
		for (q = v + 3; q < end && *q >= '0' && *q <= '9'; q++)
			;
		if (q > v + 3 && end - q > 4 && memcmp(q, " id=", 4) == 0)
			break;
	}
	if (v == NULL) {
		ll->qid[0] = '\0';
		return 0;
	}
	q += 4;
	logline_msgid(q, (size_t)(end - q), ll->msgid, sizeof(ll->msgid));
	return ll->msgid[0] != '\0';
}

/* The stamp in front of a line: one RFC 3339 word, or "Mmm dd hh:mm:ss". */
static size_t
stamp_len(const char *line, size_t n)
{
	const char *sp = memchr(line, ' ', n);
	size_t w = sp != NULL ? (size_t)(sp - line) : n;

	if (w == 10 && line[4] == '-' && n >= 19 && line[13] == ':') {
		/* Exim: "2026-12-05 10:00:00[.123][ +0100]" */
		w = 19;
		if (w < n && line[w] == '.')
			for (w++; w < n && line[w] >= '0' && line[w] <= '9'; w++)
				;
		if (w + 6 <= n && line[w] == ' ' && (line[w + 1] == '+' ||
		    line[w + 1] == '-') && line[w + 2] >= '0' &&
		    line[w + 2] <= '9')
			w += 6;
		return w;
	}
	if (w > 10 && line[4] == '-')
		return w;
	return n >= 15 ? 15 : 0;
}

/* Why a failure is no evidence, or NULL when it is. */
static const char *
not_evidence(const struct maillog_entry *e)
{
	const char *prog = e->program.p, *slash;
	size_t pn = e->program.n;

	if (e->status == ML_EXPIRED)
		return "expired, no reply";
	if (pn > 0 && (slash = memrchr(prog, '/', pn)) != NULL) {
		pn -= (size_t)(slash + 1 - prog);
		prog = slash + 1;
	}
	if ((pn == 5 && memcmp(prog, "error", 5) == 0) ||
	    (pn == 5 && memcmp(prog, "retry", 5) == 0))
		return "Postfix's error or retry transport";
	if (e->text.n == 0)
		return NULL;
	if (answer_is_ours(e->text.p, e->text.n))
		return "bouncer's own answer";
	if (memmem(e->text.p, e->text.n, "delivery temporarily suspended",
	    30) != NULL)
		return "delivery temporarily suspended";
	/* Exim's queue runner skipping an address: no new attempt. */
	if (memmem(e->text.p, e->text.n, "retry time not reached", 22) !=
	    NULL)
		return "retry time not reached";
	return NULL;
}

enum logline_kind
logline_read(const char *line, size_t n, long long now, struct logline *ll)
{
	ll->kind = LL_OTHER;
	ll->time = -1;
	ll->qid[0] = ll->msgid[0] = '\0';
	ll->why = NULL;
	if (!maillog_parse(line, n, &ll->e)) {
		if (msgid_line(line, n, ll) || exim_msgid_line(line, n, ll)) {
			ll->kind = LL_MSGID;
			ll->time = logline_time(line, stamp_len(line, n), now);
		}
		return ll->kind;
	}
	if (ll->e.queue_id.n >= sizeof(ll->qid))
		return ll->kind;
	memcpy(ll->qid, ll->e.queue_id.p, ll->e.queue_id.n);
	ll->qid[ll->e.queue_id.n] = '\0';
	switch (ll->e.status) {
	case ML_SENT:
		ll->kind = LL_SENT;
		break;
	case ML_DEFERRED:
	case ML_BOUNCED:
	case ML_EXPIRED:
		ll->why = not_evidence(&ll->e);
		ll->kind = ll->why ? LL_NOT_EVIDENCE : LL_FAILED;
		break;
	default:
		return ll->kind;
	}
	if ((ll->time = logline_time(ll->e.time.p, ll->e.time.n, now)) < 0)
		ll->kind = LL_BADTIME;
	return ll->kind;
}

void
logline_shape(const struct maillog_entry *e, struct classification *cl)
{
	if (e->to_program)
		classify_program_failure(cl);
	/*
	 * OpenSMTPD's log line says at which stage no reply was given,
	 * as its bounce does: read alike (see dsn_classify()), the two
	 * never disagree.
	 */
	if (e->opensmtpd && cl->reply != NULL &&
	    strstr(cl->reply->text, "RCPT") == NULL)	/* NUL-terminated */
		(void)classify_stageless_unknown(cl, 0);
	/*
	 * A line cut short by syslog's limit has lost its end, where
	 * Postfix says which command the reply answered ("(in reply to
	 * MAIL FROM command)") and the server may have said whose the
	 * fault was: what is left is not enough to suppress on.
	 */
	if (e->cut && (cl->decision & D_SUPPRESS)) {
		cl->decision &= ~D_SUPPRESS;
		detail_add(cl, "guard=cut");
	}
	/*
	 * A deferral is the MTA's own word that it will try again, with a
	 * reply code or without one (OpenSMTPD's TempFail "No MX found for
	 * domain"): the recipient is not known to be gone, and a status
	 * derived from the words has the class of a deferral.
	 */
	if (e->status != ML_DEFERRED)
		return;
	if (cl->decision & D_SUPPRESS)
		cl->decision = (cl->decision & ~D_SUPPRESS) | D_RETRY;
	if (cl->status[0] == '5' && e->dsn.n == 0)	/* derived, not said */
		cl->status[0] = '4';
}
