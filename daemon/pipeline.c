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

#define MSGIDS		1024	/* queue ids whose Message-ID is at hand */

/* A queue id and its Message-ID, as the note i:QID has them. */
struct msgid_ent {
	char		*qid;
	char		*msgid;
};

/* A report held until its batch ends (pipeline_batch_begin()). */
struct held {
	struct pipeline_report	 r;	/* cl and res set when made */
	struct classification	 cl;
	struct engine_result	 res;
	int			 have_cl, have_res;
	char			*str[5];	/* r's strings, owned */
};

struct pipeline {
	const struct ruleset	*rs;
	struct store		*st;
	struct engine		*eng;
	struct classifier	*cl;
	struct dsn_parser	*dsnp;
	long long		 window;	/* bounce_verify_window */
	pipeline_report_fn	*report;
	void			*arg;
	int			 batch;
	struct held		*held;
	size_t			 nheld, heldcap;
	size_t			*byev;		/* engine's number - 1 ->
						   held */
	size_t			 nbyev, byevcap;
	struct msgid_ent	 msgids[MSGIDS];	/* by hash of qid */
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
	p->window = conf != NULL ? conf_time(conf, CONF_BOUNCE_VERIFY_WINDOW) :
	    7 * 86400;
	p->report = report;
	p->arg = arg;
	return p;
}

static void held_clear(struct pipeline *);

void
pipeline_free(struct pipeline *p)
{
	size_t i;

	if (p == NULL)
		return;
	if (p->batch)
		pipeline_batch_end(p);
	free(p->held);
	free(p->byev);
	for (i = 0; i < MSGIDS; i++) {
		free(p->msgids[i].qid);
		free(p->msgids[i].msgid);
	}
	engine_free(p->eng);
	classifier_free(p->cl);
	dsn_parser_free(p->dsnp);
	free(p);
}

static void
held_clear(struct pipeline *p)
{
	size_t i, j;

	for (i = 0; i < p->nheld; i++)
		for (j = 0; j < 5; j++)
			free(p->held[i].str[j]);
	p->nheld = p->nbyev = 0;
}

/* A copy of r, to report when the batch ends. */
static void
hold(struct pipeline *p, const struct pipeline_report *r)
{
	struct held *h;

	if (p->nheld == p->heldcap) {
		p->heldcap = p->heldcap ? p->heldcap * 2 : 64;
		p->held = xreallocarray(p->held, p->heldcap, sizeof(*p->held));
	}
	h = &p->held[p->nheld++];
	memset(h, 0, sizeof(*h));
	h->r = *r;
	h->r.rcpt = h->str[0] = xstrdup(r->rcpt ? r->rcpt : "");
	h->r.queue_id = h->str[1] = xstrdup(r->queue_id ? r->queue_id : "");
	h->r.provider = h->str[2] = r->provider ? xstrdup(r->provider) : NULL;
	h->r.rule = h->str[3] = r->rule ? xstrdup(r->rule) : NULL;
	h->r.reply = h->str[4] = r->reply ? xstrdup(r->reply) : NULL;
	/* Pointed to when made: the array moves as it grows. */
	h->r.cl = NULL;
	h->r.res = NULL;
	if (r->cl != NULL) {
		h->cl = *r->cl;
		h->cl.reply = NULL;	/* the classifier's, reused */
		h->have_cl = 1;
	}
	if (r->res != NULL) {
		h->res = *r->res;
		h->have_res = 1;
		if (r->res->pending > 0) {
			if (p->nbyev == p->byevcap) {
				p->byevcap = p->byevcap ? p->byevcap * 2 : 64;
				p->byev = xreallocarray(p->byev, p->byevcap,
				    sizeof(*p->byev));
			}
			/* The engine numbers them 1, 2, ... in order. */
			p->byev[p->nbyev++] = p->nheld - 1;
		}
	}
}

static void
report(struct pipeline *p, struct pipeline_report *r)
{
	if (p->report == NULL)
		return;
	if (p->batch)
		hold(p, r);
	else
		p->report(r, p->arg);
}

int
pipeline_batch_begin(struct pipeline *p)
{
	held_clear(p);
	if (engine_batch_begin(p->eng) < 0)
		return -1;
	p->batch = 1;
	return 0;
}

/* The final outcome of a provisional event, into its held report. */
static void
settle(unsigned long n, int rc, const struct engine_result *res, void *arg)
{
	struct pipeline *p = arg;
	struct held *h;

	if (n == 0 || n > p->nbyev)
		return;
	h = &p->held[p->byev[n - 1]];
	if (rc < 0) {
		h->r.outcome = PO_FAILED;
		h->have_res = 0;
	} else
		h->res = *res;
}

int
pipeline_batch_end(struct pipeline *p)
{
	size_t i;
	int rc;

	if (!p->batch)
		return 0;
	p->batch = 0;
	rc = engine_batch_end(p->eng, settle, p);
	for (i = 0; i < p->nheld; i++) {
		struct held *h = &p->held[i];

		h->r.cl = h->have_cl ? &h->cl : NULL;
		h->r.res = h->have_res ? &h->res : NULL;
		p->report(&h->r, p->arg);
	}
	held_clear(p);
	return rc;
}

/*
 * "kind:a:b" as a note id; both sides of a match build it
 * here. A long a (a Message-ID is the sender's to choose) is kept as
 * its head and a hash of the whole, so that b, the recipient, always
 * fits: a cut must never make two recipients one.
 */
static const char *
note_id(char *buf, size_t bufsz, const char *kind, const char *a,
    const char *b)
{
	unsigned long long h = 14695981039346656037ULL;
	size_t n = strlen(a);
	const char *p;

	if (n <= 64) {
		snprintf(buf, bufsz, "%s:%s:%.*s", kind, a, STORE_ADDR_MAX, b);
		return buf;
	}
	/* "#" and the length set it apart from any id of 64 bytes. */
	for (p = a; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(buf, bufsz, "%s:%.40s#%zu#%016llx:%.*s", kind, a, n, h,
	    STORE_ADDR_MAX, b);
	return buf;
}

/*
 * Keeps value under note kind:a:b at when, unless a later one is there:
 * re-reading an older log must not move what is known back. The store
 * compares, so nothing is read here (no round trip to Redis).
 */
static int
note_latest(struct pipeline *p, const char *kind, const char *a,
    const char *b, const char *value, long long when)
{
	char id[STORE_ID_MAX];

	note_id(id, sizeof(id), kind, a, b);
	return store_note_put_when(p->st, NOTE_IF_LATER, id, value, when);
}

static struct msgid_ent *
msgid_slot(struct pipeline *p, const char *qid)
{
	unsigned h = 2166136261u;

	for (; *qid != '\0'; qid++)
		h = (h ^ (unsigned char)*qid) * 16777619u;
	return &p->msgids[h % MSGIDS];
}

/* Remembers qid's Message-ID unless it has one already. */
static void
msgid_keep(struct pipeline *p, const char *qid, const char *msgid)
{
	struct msgid_ent *e = msgid_slot(p, qid);

	if (e->qid != NULL && strcmp(e->qid, qid) == 0)
		return;			/* the first word stands */
	free(e->qid);
	free(e->msgid);
	e->qid = xstrdup(qid);
	e->msgid = xstrdup(msgid);
}

/*
 * The Message-ID of queue id qid into buf: 1, 0 if none is known, -1.
 * Postfix logs it (cleanup) before any delivery of the queue file, so
 * the last MSGIDS queue ids read answer without asking the store.
 */
static int
msgid_of(struct pipeline *p, const char *qid, char *buf, size_t bufsz)
{
	struct msgid_ent *e = msgid_slot(p, qid);
	char id[STORE_ID_MAX];
	int rc;

	if (e->qid != NULL && strcmp(e->qid, qid) == 0) {
		snprintf(buf, bufsz, "%s", e->msgid);
		return 1;
	}
	snprintf(id, sizeof(id), "i:%s", qid);
	if ((rc = store_note_get(p->st, id, buf, bufsz, NULL)) == 1)
		msgid_keep(p, qid, buf);
	return rc;
}

/* Note kind:a:b into buf if written at or after since: 1, 0, or -1. */
static int
noted_since(struct pipeline *p, const char *kind, const char *a,
    const char *b, long long since, char *buf, size_t bufsz)
{
	char id[STORE_ID_MAX];
	long long t;
	int rc;

	rc = store_note_get(p->st, note_id(id, sizeof(id), kind, a, b), buf,
	    bufsz, &t);
	return rc <= 0 ? rc : t >= since;
}

/* Fills ev from a classification; rule goes into rulebuf. */
static void
event_from(struct engine_event *ev, const struct classification *cl,
    char *rulebuf, size_t rulesz)
{
	ev->reason = cl->reason;
	ev->decision = cl->decision;
	ev->facts = &cl->facts;
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

/* Reports a store failure for r's recipient. */
static void
failed(struct pipeline *p, struct pipeline_report *r)
{
	enum pipeline_outcome o = r->outcome;

	r->outcome = PO_FAILED;
	report(p, r);
	r->outcome = o;
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
		/*
		 * The first word on a queue id stands: here (kept while
		 * it is among the last read) and in the store (written
		 * only when there is none).
		 */
		snprintf(id, sizeof(id), "i:%s", ll.qid);
		msgid_keep(p, ll.qid, ll.msgid);
		if ((rc = store_note_put_when(p->st, NOTE_IF_NONE, id,
		    ll.msgid, ll.time < 0 ? now : ll.time)) < 0)
			failed(p, &r);
		return rc < 0 ? -1 : 0;
	case LL_BADTIME:
		r.outcome = PO_BADTIME;
		r.queue_id = ll.qid;
		r.why = "no usable time stamp";
		report(p, &r);
		return 0;
	default:
		break;
	}
	if ((have_msgid = msgid_of(p, ll.qid, msgid, sizeof(msgid))) < 0) {
		failed(p, &r);
		rc = -1;
	}
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
		/*
		 * What was tried with whom, and how it went last: bounces
		 * are checked on it, and one about a failure the log had is
		 * a duplicate.
		 */
		if (note_latest(p, "q", ll.qid, rcpt, ll.kind == LL_SENT ?
		    "sent" : "failed", ll.time) < 0 || (have_msgid == 1 &&
		    note_latest(p, "m", msgid, rcpt, ll.qid, ll.time) < 0)) {
			failed(p, &r);
			rc = -1;
		}
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
		logline_shape(&ll.e, &cl);
		event_from(&ev, &cl, rule, sizeof(rule));
		if (record(p, &ev, &cl, &r) < 0)
			rc = -1;
	}
	return rc;
}

/* --- bounce e-mails ------------------------------------------------------ */

/*
 * Ties rcpt of rep to a delivery the log showed within the window: the
 * bounce's queue id with that recipient, or its Message-ID with that
 * recipient. Returns 1 with the log's queue id in qid and how its last
 * attempt went in last ("sent", "failed"); 0 when there is no tie (*why
 * says what is missing); -1 when the store failed.
 */
static int
tie(struct pipeline *p, const struct dsn_report *rep, const char *msgid,
    const char *rcpt, long long now, char *qid, size_t qidsz, char *last,
    size_t lastsz, const char **why)
{
	long long since = p->window > 0 ? now - p->window : 0;
	int rc;

	if (rep->queue_id != NULL && (rc = noted_since(p, "q", rep->queue_id,
	    rcpt, since, last, lastsz)) != 0) {
		snprintf(qid, qidsz, "%s", rep->queue_id);
		return rc;
	}
	if (*msgid != '\0' && (rc = noted_since(p, "m", msgid, rcpt, since,
	    qid, qidsz)) != 0) {
		if (rc < 0)
			return -1;
		if ((rc = noted_since(p, "q", qid, rcpt, 0, last, lastsz)) < 0)
			return -1;
		if (rc == 0)
			snprintf(last, lastsz, "sent");
		return 1;
	}
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
	char diag[STORE_REPLY_MAX], qid[LOGLINE_QID_MAX], last[16];
	size_t i, n;
	int rc = 0, v;

	if ((n = dsn_parse(p->dsnp, m->raw, m->len, &rep)) == 0)
		return 0;
	msgid[0] = '\0';
	if (rep.message_id != NULL)
		logline_msgid(rep.message_id, strlen(rep.message_id), msgid,
		    sizeof(msgid));
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		store_normalise(rep.rcpts[i].rcpt, rcpt, sizeof(rcpt));
		snprintf(diag, sizeof(diag), "%.*s",
		    (int)rep.rcpts[i].diaglen, rep.rcpts[i].diag);
		r.source = m->internal ? SRC_MILTER : SRC_DSN;
		r.rcpt = rcpt;
		r.queue_id = rep.queue_id ? rep.queue_id : "";
		r.time = now;
		r.provider = r.rule = "-";
		r.reply = diag;
		r.kind = dsn_kind_name(rep.kind);
		v = tie(p, &rep, msgid, rcpt, now, qid, sizeof(qid), last,
		    sizeof(last), &r.why);
		if (v < 0) {
			failed(p, &r);
			rc = -1;
			continue;
		}
		if (v == 1)
			r.queue_id = qid;
		/* A failure the log had, repeated: the MTA's own DSN. */
		if (v == 1 && strcmp(last, "failed") == 0) {
			r.outcome = PO_DUPLICATE;
			report(p, &r);
			continue;
		}
		/*
		 * A message that did not come over SMTP with a null sender
		 * is the MTA's own DSN, which the log had, or anybody's
		 * sendmail -f '': it never decides anything itself.
		 */
		if (v == 0 || m->internal) {
			r.outcome = PO_UNVERIFIED;
			if (v == 1)
				r.why = "not over SMTP, and about no failure "
				    "the log showed";
			report(p, &r);
			continue;
		}
		if (answer_is_ours(rep.rcpts[i].diag, rep.rcpts[i].diaglen)) {
			r.outcome = PO_NOT_EVIDENCE;
			r.why = "bouncer's own answer";
			report(p, &r);
			continue;
		}
		dsn_classify(p->cl, p->rs, &rep, i, &res);
		/*
		 * A bounce speaks for its recipient only: throttling the
		 * destination or alerting on the sending IP is the log's
		 * to do, as a recipient of one message could otherwise
		 * throttle a whole provider.
		 */
		res.cl.decision &= D_SUPPRESS | D_RETRY;
		memset(&ev, 0, sizeof(ev));
		ev.rcpt = rcpt;
		ev.source = r.source;
		ev.queue_id = qid;
		ev.time = now;
		ev.reply = diag;
		event_from(&ev, &res.cl, rule, sizeof(rule));
		if (record(p, &ev, &res.cl, &r) < 0)
			rc = -1;
	}
	return rc < 0 ? -1 : (int)n;
}
