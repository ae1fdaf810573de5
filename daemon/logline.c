/*
 * logline.c -- one maillog line, read for what it is worth as evidence
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "logline.h"
#include "verdict.h"

long long
logline_time(const char *s, size_t n, long long now)
{
	char buf[64], *e;
	struct tm tm, nowtm;
	time_t t, nt = (time_t)now;
	long off;
	int i;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(&tm, 0, sizeof(tm));
	if ((e = strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm)) != NULL) {
		if (*e == '.')
			for (e++; *e >= '0' && *e <= '9'; e++)
				;
		t = timegm(&tm);
		if ((*e == '+' || *e == '-') && e[1] >= '0' && e[1] <= '9' &&
		    e[2] >= '0' && e[2] <= '9') {
			off = ((e[1] - '0') * 10 + (e[2] - '0')) * 3600L;
			if (e[3] == ':' && e[4] >= '0' && e[4] <= '9' &&
			    e[5] >= '0' && e[5] <= '9')
				off += ((e[4] - '0') * 10 + (e[5] - '0')) * 60L;
			t -= *e == '+' ? off : -off;
		} else if (*e != 'Z' && *e != '\0')
			return -1;
		return (long long)t;
	}
	memset(&tm, 0, sizeof(tm));
	if ((e = strptime(buf, "%b %d %H:%M:%S", &tm)) == NULL || *e != '\0')
		return -1;
	localtime_r(&nt, &nowtm);
	/* This year, or the year before when that would be in the future. */
	for (i = 0; i < 2; i++) {
		tm.tm_year = nowtm.tm_year - i;
		tm.tm_isdst = -1;
		t = mktime(&tm);
		if ((long long)t <= now + 86400)
			break;
	}
	return (long long)t;
}

char *
logline_msgid(const char *id, size_t n, char *buf, size_t bufsz)
{
	const char *end = id + n;
	size_t len;

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

/* The word that ends at `end` (exclusive), after a space. */
static const char *
word_before(const char *line, const char *end, size_t *n)
{
	const char *w = end;

	while (w > line && w[-1] != ' ')
		w--;
	*n = (size_t)(end - w);
	return w;
}

/* "QID: message-id=<x>" (Postfix) or "QID: from=<..>, ..., msgid=<x>". */
static int
msgid_line(const char *line, size_t n, struct logline *ll)
{
	const char *end = line + n, *p, *v, *qid;
	size_t qn;

	if ((p = memmem(line, n, ": message-id=", 13)) != NULL)
		v = p + 13;
	else if ((p = memmem(line, n, ": from=", 7)) != NULL &&
	    (v = memmem(p, (size_t)(end - p), ", msgid=", 8)) != NULL)
		v += 8;
	else
		return 0;
	qid = word_before(line, p, &qn);
	if (qn == 0 || qn >= sizeof(ll->qid) || qid == line || qid[-1] != ' ')
		return 0;
	memcpy(ll->qid, qid, qn);
	ll->qid[qn] = '\0';
	logline_msgid(v, (size_t)(end - v), ll->msgid, sizeof(ll->msgid));
	return ll->msgid[0] != '\0';
}

/* The stamp in front of a line: one RFC 3339 word, or "Mmm dd hh:mm:ss". */
static size_t
stamp_len(const char *line, size_t n)
{
	const char *sp = memchr(line, ' ', n);
	size_t w = sp != NULL ? (size_t)(sp - line) : n;

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
	if ((slash = memrchr(prog, '/', pn)) != NULL) {
		pn -= (size_t)(slash + 1 - prog);
		prog = slash + 1;
	}
	if ((pn == 5 && memcmp(prog, "error", 5) == 0) ||
	    (pn == 5 && memcmp(prog, "retry", 5) == 0))
		return "Postfix's error or retry transport";
	if (answer_is_ours(e->text.p, e->text.n))
		return "bouncer's own answer";
	if (memmem(e->text.p, e->text.n, "delivery temporarily suspended",
	    30) != NULL)
		return "delivery temporarily suspended";
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
		if (msgid_line(line, n, ll)) {
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
