/*
 * pipeline.c -- the one path from what the MTA leaves behind to decisions
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dsn.h"
#include "logline.h"
#include "pipeline.h"
#include "rules.h"
#include "store.h"
#include "xalloc.h"

struct pipeline {
	const struct ruleset	*rs;
	struct store		*st;
	struct engine		*eng;
	struct classifier	*cl;
	struct dsn_parser	*dsnp;
	long long		 window;	/* bounce_verify_window */
	pipeline_report_fn	*report;
	void			*arg;
};

struct pipeline *
pipeline_new(const struct conf *conf, const struct ruleset *rs,
    struct store *st, pipeline_report_fn *report, void *arg)
{
	struct pipeline *p = xcalloc(1, sizeof(*p));

	p->rs = rs;
	p->st = st;
	p->eng = engine_new(conf, st);
	p->cl = classifier_new(rs);
	p->dsnp = dsn_parser_new();
	p->window = conf != NULL ? conf_time(conf, "bounce_verify_window") :
	    7 * 86400;
	p->report = report;
	p->arg = arg;
	return p;
}

void
pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	engine_free(p->eng);
	classifier_free(p->cl);
	dsn_parser_free(p->dsnp);
	free(p);
}

static void
report(struct pipeline *p, struct pipeline_report *r)
{
	if (p->report != NULL)
		p->report(r, p->arg);
}

/*
 * "kind:a:b" as an event identity; both sides of a match build it
 * here. A long a (a Message-ID is the sender's to choose) is kept as
 * its head and a hash of the whole, so that b, the recipient, always
 * fits: a cut must never make two recipients one.
 */
static const char *
mark_id(char *buf, size_t bufsz, const char *kind, const char *a,
    const char *b)
{
	unsigned long long h = 14695981039346656037ULL;
	size_t n = strlen(a);
	const char *p;

	if (n <= 64) {
		snprintf(buf, bufsz, "%s:%s:%.*s", kind, a, STORE_ADDR_MAX, b);
		return buf;
	}
	for (p = a; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(buf, bufsz, "%s:%.47s#%016llx:%.*s", kind, a, h,
	    STORE_ADDR_MAX, b);
	return buf;
}

static int
mark(struct pipeline *p, const char *kind, const char *a, const char *b,
    long long when)
{
	char id[STORE_ID_MAX];

	return store_event_mark(p->st, mark_id(id, sizeof(id), kind, a, b),
	    when);
}

/* 1 if marked at or after since, 0 if not, -1 on failure. */
static int
marked_since(struct pipeline *p, const char *kind, const char *a,
    const char *b, long long since)
{
	char id[STORE_ID_MAX];
	long long t;
	int rc;

	rc = store_event_time(p->st, mark_id(id, sizeof(id), kind, a, b), &t);
	return rc <= 0 ? rc : t >= since;
}

/* Fills ev from a classification; rule goes into rulebuf. */
static void
event_from(struct engine_event *ev, const struct classification *cl,
    char *rulebuf, size_t rulesz)
{
	ev->reason = cl->reason;
	ev->decision = cl->decision;
	ev->details = cl->details;
	ev->status = cl->status;
	ev->code = cl->code;
	ev->stage = cl->stage;
	ev->provider = provider_name(cl->provider);
	ev->rule = classification_rule(cl, rulebuf, rulesz);
}

/* Hands ev to the engine and reports what became of it. */
static int
record(struct pipeline *p, const struct engine_event *ev,
    const struct classification *cl, struct pipeline_report *r)
{
	struct engine_result res;
	int rc;

	rc = engine_record(p->eng, ev, &res);
	r->outcome = rc < 0 ? PO_FAILED : PO_RECORDED;
	r->res = rc < 0 ? NULL : &res;
	r->cl = cl;
	r->provider = ev->provider ? ev->provider : "-";
	r->rule = ev->rule ? ev->rule : "-";
	report(p, r);
	return rc < 0 ? -1 : 0;
}

/* --- the log -------------------------------------------------------- */

int
pipeline_log_line(struct pipeline *p, const char *line, size_t n,
    long long now)
{
	struct logline ll;
	struct pipeline_report r;
	struct engine_event ev;
	struct classification cl;
	char rcpt[STORE_ADDR_MAX], raw[STORE_ADDR_MAX], id[STORE_ID_MAX];
	char msgid[STORE_NOTE_MAX], dsn[16], relay[256], reply[STORE_REPLY_MAX];
	char rule[300];
	size_t pos;
	int rc = 0, have_msgid;

	memset(&r, 0, sizeof(r));
	r.source = SRC_LOG;
	r.rcpt = r.queue_id = r.provider = r.rule = r.reply = "";
	switch (logline_read(line, n, now, &ll)) {
	case LL_OTHER:
		return 0;
	case LL_MSGID:
		snprintf(id, sizeof(id), "i:%s", ll.qid);
		return store_note_put(p->st, id, ll.msgid, ll.time < 0 ? now :
		    ll.time);
	case LL_BADTIME:
		r.outcome = PO_BADTIME;
		r.queue_id = ll.qid;
		r.why = "no usable time stamp";
		report(p, &r);
		return 0;
	default:
		break;
	}
	snprintf(id, sizeof(id), "i:%s", ll.qid);
	if ((have_msgid = store_note_get(p->st, id, msgid, sizeof(msgid),
	    NULL)) < 0)
		rc = -1;
	snprintf(dsn, sizeof(dsn), "%.*s", (int)ll.e.dsn.n, ll.e.dsn.p);
	snprintf(relay, sizeof(relay), "%.*s", (int)ll.e.relay.n,
	    ll.e.relay.p);
	snprintf(reply, sizeof(reply), "%.*s", (int)ll.e.text.n, ll.e.text.p);
	r.queue_id = ll.qid;
	r.time = ll.time;
	r.reply = reply;
	r.why = ll.why;
	for (pos = 0; maillog_next_rcpt(&ll.e, &pos, raw, sizeof(raw));) {
		store_normalise(raw, rcpt, sizeof(rcpt));
		r.rcpt = rcpt;
		/* What was delivered to whom: bounces are checked on it. */
		if (mark(p, "q", ll.qid, rcpt, ll.time) < 0 ||
		    (have_msgid == 1 && mark(p, "m", msgid, rcpt, ll.time) < 0))
			rc = -1;
		/* Postfix's DSN of a failure repeats it: a duplicate. */
		if (ll.kind != LL_SENT && mark(p, "f", ll.qid, rcpt,
		    ll.time) < 0)
			rc = -1;
		memset(&ev, 0, sizeof(ev));
		ev.rcpt = rcpt;
		ev.source = SRC_LOG;
		ev.queue_id = ll.qid;
		ev.time = ll.time;
		ev.reply = reply;
		if (ll.kind == LL_NOT_EVIDENCE) {
			r.outcome = PO_NOT_EVIDENCE;
			report(p, &r);
			continue;
		}
		if (ll.kind == LL_SENT) {
			ev.sent = 1;
			ev.reason = R_DELIVERED;
			ev.status = dsn;
			r.sent = 1;
			if (record(p, &ev, NULL, &r) < 0)
				rc = -1;
			continue;
		}
		classify(p->cl, p->rs, rcpt, ll.e.text.p, ll.e.text.n,
		    dsn[0] ? dsn : NULL, relay, &cl);
		event_from(&ev, &cl, rule, sizeof(rule));
		if (record(p, &ev, &cl, &r) < 0)
			rc = -1;
	}
	return rc;
}

/* --- bounce e-mails ------------------------------------------------------ */

/*
 * Is rcpt of rep tied to a delivery the log showed within the window?
 * 1 yes, 0 no (*why says what is missing), -1 the store failed.
 */
static int
verified(struct pipeline *p, const struct dsn_report *rep, const char *msgid,
    const char *rcpt, long long now, const char **why)
{
	long long since = p->window > 0 ? now - p->window : 0;
	int rc;

	if (rep->queue_id != NULL && (rc = marked_since(p, "q", rep->queue_id,
	    rcpt, since)) != 0)
		return rc;
	if (*msgid != '\0' && (rc = marked_since(p, "m", msgid, rcpt,
	    since)) != 0)
		return rc;
	if (rep->queue_id == NULL && *msgid == '\0')
		*why = "names no queue id or Message-ID of ours";
	else
		*why = "no delivery to this recipient in the log";
	return 0;
}

int
pipeline_mail(struct pipeline *p, const struct pipeline_mail *m,
    long long now)
{
	struct dsn_report rep;
	struct dsn_result res;
	struct pipeline_report r;
	struct engine_event ev;
	char rcpt[STORE_ADDR_MAX], msgid[LOGLINE_MSGID_MAX], rule[300];
	char diag[STORE_REPLY_MAX];
	const char *qid;
	size_t i, n;
	int rc = 0, v;

	if ((n = dsn_parse(p->dsnp, m->raw, m->len, &rep)) == 0)
		return 0;
	msgid[0] = '\0';
	if (rep.message_id != NULL)
		logline_msgid(rep.message_id, strlen(rep.message_id), msgid,
		    sizeof(msgid));
	qid = rep.queue_id != NULL ? rep.queue_id : m->queue_id ?
	    m->queue_id : "";
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		store_normalise(rep.rcpts[i].rcpt, rcpt, sizeof(rcpt));
		snprintf(diag, sizeof(diag), "%.*s",
		    (int)rep.rcpts[i].diaglen, rep.rcpts[i].diag);
		r.source = m->internal ? SRC_MILTER : SRC_DSN;
		r.rcpt = rcpt;
		r.queue_id = qid;
		r.time = now;
		r.provider = r.rule = "-";
		r.reply = diag;
		r.kind = dsn_kind_name(rep.kind);
		if ((v = verified(p, &rep, msgid, rcpt, now, &r.why)) <= 0) {
			r.outcome = v < 0 ? PO_FAILED : PO_UNVERIFIED;
			report(p, &r);
			if (v < 0)
				rc = -1;
			continue;
		}
		if (rep.queue_id != NULL && (v = marked_since(p, "f",
		    rep.queue_id, rcpt, 0)) != 0) {
			r.outcome = v < 0 ? PO_FAILED : PO_DUPLICATE;
			report(p, &r);
			if (v < 0)
				rc = -1;
			continue;
		}
		if (answer_is_ours(rep.rcpts[i].diag, rep.rcpts[i].diaglen)) {
			r.outcome = PO_NOT_EVIDENCE;
			r.why = "bouncer's own answer";
			report(p, &r);
			continue;
		}
		dsn_classify(p->cl, p->rs, &rep, i, &res);
		memset(&ev, 0, sizeof(ev));
		ev.rcpt = rcpt;
		ev.source = r.source;
		ev.queue_id = qid;
		ev.time = now;
		ev.reply = diag;
		event_from(&ev, &res.cl, rule, sizeof(rule));
		if (record(p, &ev, &res.cl, &r) < 0)
			rc = -1;
		else if (rep.queue_id != NULL &&
		    mark(p, "f", rep.queue_id, rcpt, now) < 0)
			rc = -1;
	}
	return rc < 0 ? -1 : (int)n;
}
