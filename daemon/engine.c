/*
 * engine.c -- classified events in, lasting decisions out
 *
 * For each event, in one store transaction (retried on a Redis
 * conflict): skip it if its identity was seen; apply the scope guard;
 * then
 *   suppress  the recipient is suppressed until the reason's expiry;
 *   retry     one more soft failure: deferred for base * factor^(n-1)
 *             (capped), or suppressed once the reason's escalation
 *             rule is met (n failures spanning at least the period);
 *             a retry of the queue file behind the back-off, before
 *             it ends, is not one more;
 *   throttle  the destination (domain, and the hosting provider when
 *             one is known) is deferred until retry_after or a
 *             back-off that grows while throttles keep coming from
 *             other queue files;
 *   alert     counted per (kind, blocklist, ip); raised once a window;
 *   sent      soft failures and back-off are reset, and (by default)
 *             a suppression lifted, except feedback and manual ones.
 * Every change of a recipient's state goes to its audit trail.
 *
 * Scope guard (verdict_scope(), shared with classify()): only a reply
 * about the recipient (RCPT or DATA stage, or a bounce or feedback
 * report naming it) with a reason that may suppress (verdict.h) can
 * suppress or defer it. Connection, HELO and
 * MAIL-stage replies and sender-side reasons only throttle, alert, or
 * are dropped.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "engine.h"
#include "log.h"
#include "xalloc.h"

#define MAX_TRIES	16	/* Redis conflicts before giving up */

struct reason_rule {
	long long	 expiry;	/* 0: never */
	int		 esc_count;	/* 0: never escalates */
	long long	 esc_period;
};

/*
 * An event whose commit was deferred (engine_batch_begin()): a copy of
 * it, to run again if the commit proves stale, and its provisional
 * outcome.
 */
struct pend {
	struct engine_event	 ev;
	struct reply_facts	 facts;
	char			*str[6];	/* ev's strings, owned */
	struct engine_result	 res;
	int			 rc;
};

struct engine {
	struct store		*st;
	struct reason_rule	 rr[R_COUNT];
	long long		 base, cap, thr_base, thr_cap, window;
	double			 factor;
	int			 success_unsuppress;
	int			 throttle_provider;
	int			 batch;
	struct pend		*pend;
	size_t			 npend, pendcap;
};

/* The reasons with an expiry and an escalation of their own. */
struct reason_params {
	enum reason		 r;
	enum conf_time_param	 expiry;
	enum conf_int_param	 esc_count;
	enum conf_time_param	 esc_period;
};

#define REASON_PARAMS(R)						\
	{ R_##R, CONF_##R##_EXPIRY, CONF_##R##_ESCALATE_COUNT,		\
	  CONF_##R##_ESCALATE_PERIOD }

static const struct reason_params reason_params[] = {
	REASON_PARAMS(USERUNKNOWN),
	REASON_PARAMS(HOSTUNKNOWN),
	REASON_PARAMS(MAILBOXFULL),
	REASON_PARAMS(FEEDBACK),
	REASON_PARAMS(FILTERED),
	REASON_PARAMS(HASMOVED),
	REASON_PARAMS(NOTACCEPT),
	REASON_PARAMS(REJECTED),
	REASON_PARAMS(SUSPEND),
};

struct engine *
engine_new(const struct conf *conf, struct store *st)
{
	const struct reason_params *rp;
	struct conf *def = NULL;
	struct engine *e;
	size_t i;
	int r;

	if (conf == NULL)
		conf = def = conf_new();
	e = xcalloc(1, sizeof(*e));
	e->st = st;
	/* No parameters of its own: suppress_expiry, never escalated. */
	for (r = 0; r < R_COUNT; r++)
		e->rr[r].expiry = conf_time(conf, CONF_SUPPRESS_EXPIRY);
	for (i = 0; i < sizeof(reason_params) / sizeof(reason_params[0]);
	    i++) {
		rp = &reason_params[i];
		e->rr[rp->r].expiry = conf_time(conf, rp->expiry);
		e->rr[rp->r].esc_count = (int)conf_int(conf, rp->esc_count);
		e->rr[rp->r].esc_period = conf_time(conf, rp->esc_period);
	}
	e->base = conf_time(conf, CONF_RETRY_BACKOFF_BASE);
	e->factor = conf_num(conf, CONF_RETRY_BACKOFF_FACTOR);
	e->cap = conf_time(conf, CONF_RETRY_BACKOFF_MAX);
	e->thr_base = conf_time(conf, CONF_THROTTLE_BACKOFF);
	e->thr_cap = conf_time(conf, CONF_THROTTLE_BACKOFF_MAX);
	e->window = conf_time(conf, CONF_ALERT_WINDOW);
	e->success_unsuppress = conf_bool(conf, CONF_SUCCESS_UNSUPPRESS);
	e->throttle_provider = conf_bool(conf, CONF_THROTTLE_PROVIDER);
	conf_unref(def);
	return e;
}

static void
pend_clear(struct engine *e)
{
	size_t i, j;

	for (i = 0; i < e->npend; i++)
		for (j = 0; j < 6; j++)
			free(e->pend[i].str[j]);
	e->npend = 0;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	pend_clear(e);
	free(e->pend);
	free(e);
}

static const char *const source_names[] = { "log", "milter", "dsn",
    "manual" };

const char *
event_source_name(enum event_source s)
{
	return (unsigned)s <= SRC_MANUAL ? source_names[s] : "log";
}

int
event_source_parse(const char *s)
{
	int i;

	for (i = 0; i <= SRC_MANUAL; i++)
		if (strcmp(source_names[i], s) == 0)
			return i;
	return -1;
}

static void
copy(char *dst, size_t dstsz, const char *src)
{
	snprintf(dst, dstsz, "%s", src ? src : "");
}

/* base * factor^(n-1), capped, for n >= 1. */
static long long
backoff(long long base, double factor, long long cap, int n)
{
	double d = (double)base * pow(factor, n > 1 ? n - 1 : 0);

	return d >= (double)cap ? cap : (long long)d;
}

static void
state_text(const struct store_rcpt *r, int have, char *buf, size_t bufsz)
{
	if (!have || (r->state == RS_NONE && r->soft_count == 0))
		snprintf(buf, bufsz, "none");
	else if (r->soft_count > 0)
		snprintf(buf, bufsz, "%s:%s/%d", rcpt_state_name(r->state),
		    reason_name(r->reason), r->soft_count);
	else
		snprintf(buf, bufsz, "%s:%s", rcpt_state_name(r->state),
		    reason_name(r->reason));
}

/* Sets r's description fields from the event. */
static void
describe(struct store_rcpt *r, const struct engine_event *ev)
{
	r->reason = ev->reason;
	copy(r->source, sizeof(r->source), event_source_name(ev->source));
	copy(r->rule, sizeof(r->rule), ev->rule ? ev->rule : "-");
	copy(r->status, sizeof(r->status), ev->status);
	r->code = ev->code;
	copy(r->provider, sizeof(r->provider), ev->provider);
	copy(r->queue_id, sizeof(r->queue_id), ev->queue_id);
	copy(r->reply, sizeof(r->reply), ev->reply);
}

/* A queue id that names a queue file (not "no id"). */
static int
real_queue(const char *qid)
{
	return qid != NULL && *qid != '\0' && strcmp(qid, "-") != 0;
}

/*
 * "KIND:WHO:SINCE:QID": queue file QID was counted for WHO in the
 * back-off ("b", a recipient) or throttle ("t", a destination) that
 * began at SINCE; "" without a queue id. Postfix retries a deferred
 * queue file every few minutes and meets the same refusal each time:
 * counting each retry would stretch the wait at every queue run.
 */
static void
queue_mark(char *buf, size_t bufsz, const char *kind, const char *who,
    long long since, const char *qid)
{
	*buf = '\0';
	if (real_queue(qid))
		snprintf(buf, bufsz, "%s:%s:%lld:%s", kind, who, since, qid);
}

/* Was qid counted already for who since since? 1 yes, 0 no, -1. */
static int
queue_counted(struct engine *e, const char *kind, const char *who,
    long long since, const char *qid)
{
	char id[STORE_ID_MAX];

	queue_mark(id, sizeof(id), kind, who, since, qid);
	return *id ? store_event_seen(e->st, id) : 0;
}

/* 1 if ev may suppress or retry its recipient (verdict_scope()). */
static int
recipient_scope(const struct engine_event *ev)
{
	return ev->source == SRC_MANUAL ||
	    verdict_scope(ev->stage, ev->reason) == GUARD_NONE;
}

/* Applies ev to the recipient record. Returns 1 if r changed. */
static int
apply_rcpt(struct engine *e, const struct engine_event *ev, unsigned dec,
    int retried, struct store_rcpt *r, int have, struct engine_result *res)
{
	const struct reason_rule *rr = &e->rr[ev->reason < R_COUNT ?
	    ev->reason : 0];
	long long t = ev->time, until;
	struct store_rcpt old = *r;

	if (ev->sent) {
		if (!have || t < r->last_event)
			return 0;	/* nothing to reset, or stale */
		r->soft_count = 0;
		r->soft_first = 0;
		if (r->state == RS_DEFERRED ||
		    (r->state == RS_SUPPRESSED && e->success_unsuppress &&
		    r->reason != R_FEEDBACK && strcmp(r->source,
		    "manual") != 0)) {
			r->state = RS_NONE;
			r->since = t;
			r->until = 0;
			copy(r->queue_id, sizeof(r->queue_id), ev->queue_id);
			copy(r->source, sizeof(r->source),
			    event_source_name(ev->source));
			copy(r->reply, sizeof(r->reply), ev->reply);
		}
		if (memcmp(&old, r, sizeof(old)) == 0)
			return 0;
		r->last_event = t;
		return 1;
	}
	if (dec & D_SUPPRESS) {
		if (ev->until > 0)
			until = ev->until;
		else if (ev->until < 0 || rr->expiry == 0)
			until = 0;
		else
			until = t + rr->expiry;
		if (r->state != RS_SUPPRESSED || r->reason != ev->reason)
			r->since = t;
		r->state = RS_SUPPRESSED;
		r->until = until;
		describe(r, ev);
	} else if (dec & D_RETRY) {
		/*
		 * Postfix retrying the same queue file while the back-off
		 * it caused runs brings no new answer: counting each retry
		 * would double the back-off at every queue run.
		 */
		if (retried)
			return 0;
		if (r->soft_count == 0)
			r->soft_first = t;
		r->soft_count++;
		if (rr->esc_count > 0 && r->soft_count >= rr->esc_count &&
		    t - r->soft_first >= rr->esc_period) {
			if (r->state != RS_SUPPRESSED)
				r->since = t;
			r->state = RS_SUPPRESSED;
			r->until = rr->expiry ? t + rr->expiry : 0;
			res->escalated = 1;
			describe(r, ev);
		} else if (r->state != RS_SUPPRESSED) {
			if (r->state != RS_DEFERRED)
				r->since = t;
			r->state = RS_DEFERRED;
			r->until = t + backoff(e->base, e->factor, e->cap,
			    r->soft_count);
			describe(r, ev);
		}
	} else
		return 0;
	if (t > r->last_event)
		r->last_event = t;
	return 1;
}

/* Throttles one destination; returns its new until. */
static int
apply_dest(struct engine *e, const struct engine_event *ev,
    struct store_dest *d, int have, const char *name, long long retry_after)
{
	long long t = ev->time, until;

	if (!have) {
		memset(d, 0, sizeof(*d));
		copy(d->dest, sizeof(d->dest), name);
	}
	if (have && d->until > t)
		d->count++;
	else {
		d->count = 1;
		d->since = t;
	}
	until = t + (retry_after > 0 ? retry_after : backoff(e->thr_base, 2,
	    e->thr_cap, d->count));
	if (until > d->until)
		d->until = until;
	d->last = t;
	d->reason = ev->reason;
	if (strncmp(name, KEY_PROVIDER, sizeof(KEY_PROVIDER) - 1) != 0)
		copy(d->provider, sizeof(d->provider), ev->provider);
	copy(d->rule, sizeof(d->rule), ev->rule ? ev->rule : "-");
	copy(d->reply, sizeof(d->reply), ev->reply);
	return 1;
}

static void
apply_alert(struct engine *e, const struct engine_event *ev,
    struct store_alert *a, int have, const char *key, const char *bl,
    const char *ip, struct engine_result *res)
{
	long long t = ev->time;

	if (!have) {
		memset(a, 0, sizeof(*a));
		copy(a->key, sizeof(a->key), key);
		copy(a->kind, sizeof(a->kind), reason_name(ev->reason));
		copy(a->blocklist, sizeof(a->blocklist), bl);
		copy(a->ip, sizeof(a->ip), ip);
		a->first = t;
	}
	a->count++;
	if (t > a->last)
		a->last = t;
	if (!have || t - a->notified >= e->window) {
		a->notified = t;
		res->alert = 1;
	}
	copy(a->rule, sizeof(a->rule), ev->rule ? ev->rule : "-");
	copy(a->reply, sizeof(a->reply), ev->reply);
	res->alert_rec = *a;
}

/*
 * engine_record()'s work: *deferred is set when the transaction that
 * decided the outcome was sent and not yet confirmed (store_commit()
 * gave 2).
 */
static int
record(struct engine *e, const struct engine_event *ev,
    struct engine_result *res, int *deferred)
{
	struct store_rcpt r, oldr;
	struct store_dest d[2];
	struct store_alert a;
	char rcpt[STORE_ADDR_MAX], kid[STORE_ID_MAX + 2];
	char kr[STORE_ADDR_MAX + 2], kd[2][2 * STORE_DEST_MAX + 2];
	char ka[STORE_DEST_MAX + 2], akey[STORE_DEST_MAX];
	char dname[2][STORE_DEST_MAX];
	char kt[2][STORE_ID_MAX], kb[STORE_ID_MAX];
	const char *keys[6], *at, *bl = "", *ip = "";
	long long retry_after = 0;
	unsigned dec = ev->decision;
	size_t nkeys = 0, nd = 0, i;
	int have_r, have_d[2], put_d[2] = { 0, 0 }, have_a = 0, rc, tries;
	int chg, dchg, retried;

	memset(res, 0, sizeof(*res));
	store_normalise(ev->rcpt, rcpt, sizeof(rcpt));
	at = strrchr(rcpt, '@');
	/*
	 * The outcome is part of the identity: a deferral and the success
	 * of a retry can share queue id, recipient and second, while a
	 * re-read line always has the outcome it had.
	 */
	snprintf(res->id, sizeof(res->id), "%s|%s|%lld|%s",
	    ev->queue_id && *ev->queue_id ? ev->queue_id :
	    ev->source == SRC_MANUAL ? "manual" : "-", rcpt, ev->time,
	    ev->sent ? "sent" : ev->status && *ev->status ? ev->status : "-");
	if (!ev->sent && (dec & (D_SUPPRESS | D_RETRY)) &&
	    !recipient_scope(ev)) {
		res->scoped_out = 1;
		dec &= ~(unsigned)(D_SUPPRESS | D_RETRY);
	}
	if (ev->sent)
		dec = 0;
	if (!ev->sent && dec == 0)
		return 0;
	snprintf(kid, sizeof(kid), KEY_EVENT "%s", res->id);
	snprintf(kr, sizeof(kr), KEY_RCPT "%s", rcpt);
	keys[nkeys++] = kid;
	keys[nkeys++] = kr;
	if ((dec & D_THROTTLE) && at != NULL && at[1] != '\0') {
		copy(dname[nd++], sizeof(dname[0]), at + 1);
		if (e->throttle_provider && ev->provider && *ev->provider &&
		    strcmp(ev->provider, "-") != 0)
			snprintf(dname[nd++], sizeof(dname[0]),
			    KEY_PROVIDER "%s", ev->provider);
		if (ev->facts != NULL)
			retry_after = ev->facts->retry_after;
		for (i = 0; i < nd; i++) {
			snprintf(kd[i], sizeof(kd[i]), KEY_DEST "%s", dname[i]);
			keys[nkeys++] = kd[i];
		}
	}
	if (dec & D_ALERT) {
		bl = ev->facts != NULL ? ev->facts->blocklist : "";
		ip = ev->facts != NULL ? ev->facts->ip : "";
		snprintf(akey, sizeof(akey), "%s|%s|%s",
		    reason_name(ev->reason), bl, ip);
		snprintf(ka, sizeof(ka), KEY_ALERT "%s", akey);
		keys[nkeys++] = ka;
	}
	for (tries = 0; tries < MAX_TRIES; tries++) {
		if (store_begin(e->st, keys, nkeys) < 0)
			return -1;
		/*
		 * A transaction that writes nothing still ends in a
		 * commit: on Redis its reads may come from what the
		 * handle knew, and the commit checks them (0: they were
		 * stale, start over). See store_begin().
		 */
		if ((rc = store_event_seen(e->st, res->id)) < 0)
			goto fail;
		if (rc > 0) {
			if ((rc = store_commit(e->st)) < 0)
				return -1;
			if (rc == 0)
				continue;
			*deferred = rc == 2;
			res->duplicate = 1;
			return 0;
		}
		if ((have_r = store_get_rcpt(e->st, rcpt, &r)) < 0)
			goto fail;
		if (!have_r) {
			memset(&r, 0, sizeof(r));
			copy(r.rcpt, sizeof(r.rcpt), rcpt);
		}
		oldr = r;
		res->old_state = have_r ? r.state : RS_NONE;
		/* Each queue file counts once while its back-off runs. */
		retried = 0;
		if ((dec & D_RETRY) && have_r && r.state == RS_DEFERRED &&
		    ev->time < r.until && (retried = queue_counted(e, "b",
		    rcpt, r.since, ev->queue_id)) < 0)
			goto fail;
		chg = apply_rcpt(e, ev, dec, retried, &r, have_r, res);
		*kb = '\0';
		if (chg && (dec & D_RETRY) && !(dec & D_SUPPRESS) &&
		    r.soft_count > oldr.soft_count)
			queue_mark(kb, sizeof(kb), "b", rcpt, r.since,
			    ev->queue_id);
		dchg = 0;
		for (i = 0; i < nd; i++) {
			if ((have_d[i] = store_get_dest(e->st, dname[i],
			    &d[i])) < 0)
				goto fail;
			/* Each queue file counts once per throttle. */
			rc = 0;
			if (have_d[i] && ev->time < d[i].until &&
			    (rc = queue_counted(e, "t", dname[i], d[i].since,
			    ev->queue_id)) < 0)
				goto fail;
			if ((put_d[i] = !rc)) {
				dchg |= apply_dest(e, ev, &d[i], have_d[i],
				    dname[i], retry_after);
				queue_mark(kt[i], sizeof(kt[i]), "t", dname[i],
				    d[i].since, ev->queue_id);
			} else if (retry_after > 0 && ev->time + retry_after >
			    d[i].until) {
				/* No new count, but a longer wait asked. */
				d[i].until = ev->time + retry_after;
				d[i].last = ev->time;
				*kt[i] = '\0';
				put_d[i] = dchg = 1;
			}
		}
		if (dec & D_ALERT) {
			if ((have_a = store_get_alert(e->st, akey, &a)) < 0)
				goto fail;
			apply_alert(e, ev, &a, have_a, akey, bl, ip, res);
		}
		if (!chg && !dchg && !(dec & D_ALERT)) {
			if ((rc = store_commit(e->st)) < 0)
				return -1;
			if (rc == 0)
				continue;
			*deferred = rc == 2;
			res->new_state = res->old_state;
			return 0;
		}
		if (store_event_mark(e->st, res->id, ev->time) < 0)
			goto fail;
		if (chg && store_put_rcpt(e->st, &r) < 0)
			goto fail;
		if (*kb && store_event_mark(e->st, kb, ev->time) < 0)
			goto fail;
		if (chg && (oldr.state != r.state || oldr.reason != r.reason ||
		    oldr.until != r.until || oldr.soft_count !=
		    r.soft_count)) {
			struct store_audit au;

			memset(&au, 0, sizeof(au));
			au.time = ev->time;
			state_text(&oldr, have_r, au.old, sizeof(au.old));
			state_text(&r, 1, au.new, sizeof(au.new));
			copy(au.event, sizeof(au.event), res->id);
			copy(au.rule, sizeof(au.rule), ev->rule ? ev->rule :
			    "-");
			copy(au.reply, sizeof(au.reply), ev->reply);
			if (store_audit_add(e->st, rcpt, &au) < 0)
				goto fail;
		}
		for (i = 0; i < nd; i++)
			if (put_d[i] && (store_put_dest(e->st, &d[i]) < 0 ||
			    (*kt[i] && store_event_mark(e->st, kt[i],
			    ev->time) < 0)))
				goto fail;
		if ((dec & D_ALERT) && store_put_alert(e->st, &a) < 0)
			goto fail;
		if ((rc = store_commit(e->st)) < 0)
			return -1;
		if (rc == 0) {
			res->alert = 0;
			res->escalated = 0;
			continue;	/* a Redis conflict: again */
		}
		*deferred = rc == 2;
		res->changed = chg;
		res->new_state = r.state;
		res->reason = r.reason;
		res->until = r.until;
		if (nd > 0 && put_d[0]) {
			res->throttled = 1;
			copy(res->dest, sizeof(res->dest), d[0].dest);
			res->dest_until = d[0].until;
		}
		return 1;
	}
	log_warn("engine: %s: gave up after %d conflicting updates", res->id,
	    MAX_TRIES);
	return -1;
fail:
	store_rollback(e->st);
	return -1;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Keeps ev and its provisional outcome; returns its number (from 1). */
static unsigned long
pend_add(struct engine *e, const struct engine_event *ev,
    const struct engine_result *res, int rc)
{
	struct pend *p;

	if (e->npend == e->pendcap) {
		e->pendcap = e->pendcap ? e->pendcap * 2 : 64;
		e->pend = xreallocarray(e->pend, e->pendcap, sizeof(*e->pend));
	}
	p = &e->pend[e->npend++];
	p->ev = *ev;
	p->ev.rcpt = p->str[0] = dup_or_null(ev->rcpt);
	p->ev.status = p->str[1] = dup_or_null(ev->status);
	p->ev.provider = p->str[2] = dup_or_null(ev->provider);
	p->ev.rule = p->str[3] = dup_or_null(ev->rule);
	p->ev.reply = p->str[4] = dup_or_null(ev->reply);
	p->ev.queue_id = p->str[5] = dup_or_null(ev->queue_id);
	if (ev->facts != NULL) {
		p->facts = *ev->facts;
		p->ev.facts = &p->facts;
	}
	p->res = *res;
	p->rc = rc;
	return (unsigned long)e->npend;
}

int
engine_record(struct engine *e, const struct engine_event *ev,
    struct engine_result *resp)
{
	struct engine_result res0, *res = resp ? resp : &res0;
	int deferred = 0, rc;

	rc = record(e, ev, res, &deferred);
	res->pending = 0;
	if (rc >= 0 && deferred)
		res->pending = pend_add(e, ev, res, rc);
	return rc;
}

int
engine_batch_begin(struct engine *e)
{
	pend_clear(e);
	if (store_defer_begin(e->st) < 0)
		return -1;
	e->batch = 1;
	return 0;
}

int
engine_batch_end(struct engine *e, engine_done_fn *done, void *arg)
{
	const signed char *out;
	struct engine_result res;
	size_t n, i;
	int rc, frc, deferred;

	if (!e->batch)
		return 0;
	e->batch = 0;
	rc = store_defer_end(e->st, &out, &n);
	for (i = 0; i < e->npend; i++) {
		struct pend *p = &e->pend[i];

		switch (i < n ? out[i] : -1) {
		case 1:
			res = p->res;
			frc = p->rc;
			break;
		case 0:
			/* Stale: once more, now that the handle knows. */
			deferred = 0;
			frc = record(e, &p->ev, &res, &deferred);
			break;
		default:
			memset(&res, 0, sizeof(res));
			frc = -1;
			break;
		}
		if (frc < 0)
			rc = -1;
		res.pending = 0;
		if (done != NULL)
			done((unsigned long)i + 1, frc, frc < 0 ? NULL : &res,
			    arg);
	}
	pend_clear(e);
	return rc < 0 ? -1 : 0;
}

int
engine_unsuppress(struct engine *e, const char *addr, long long now)
{
	struct store_rcpt r, old;
	struct store_audit au;
	char rcpt[STORE_ADDR_MAX], kr[STORE_ADDR_MAX + 2];
	const char *keys[1];
	int rc, tries;

	store_normalise(addr, rcpt, sizeof(rcpt));
	snprintf(kr, sizeof(kr), KEY_RCPT "%s", rcpt);
	keys[0] = kr;
	for (tries = 0; tries < MAX_TRIES; tries++) {
		if (store_begin(e->st, keys, 1) < 0)
			return -1;
		if ((rc = store_get_rcpt(e->st, rcpt, &r)) < 0) {
			store_rollback(e->st);
			return -1;
		}
		if (rc == 0 || (r.state == RS_NONE && r.soft_count == 0)) {
			/* Nothing to lift, if what was read holds. */
			if ((rc = store_commit(e->st)) < 0)
				return -1;
			if (rc == 1)
				return 0;
			continue;
		}
		old = r;
		r.state = RS_NONE;
		r.until = 0;
		r.since = now;
		r.soft_count = 0;
		r.soft_first = 0;
		copy(r.source, sizeof(r.source), "manual");
		copy(r.rule, sizeof(r.rule), "-");
		copy(r.reply, sizeof(r.reply), "removed by hand");
		memset(&au, 0, sizeof(au));
		au.time = now;
		state_text(&old, 1, au.old, sizeof(au.old));
		copy(au.new, sizeof(au.new), "none");
		snprintf(au.event, sizeof(au.event), "manual|%s|%lld", rcpt,
		    now);
		copy(au.rule, sizeof(au.rule), "-");
		copy(au.reply, sizeof(au.reply), "removed by hand");
		if (store_put_rcpt(e->st, &r) < 0 ||
		    store_audit_add(e->st, rcpt, &au) < 0) {
			store_rollback(e->st);
			return -1;
		}
		if ((rc = store_commit(e->st)) < 0)
			return -1;
		if (rc == 1)
			return 1;
	}
	return -1;
}

/* The status a policy answer gives for each reason, 5.x.x form. */
static const char *
answer_status(enum reason r)
{
	switch (r) {
	case R_USERUNKNOWN:	return "5.1.1";
	case R_HOSTUNKNOWN:	return "5.1.2";
	case R_HASMOVED:	return "5.1.6";
	case R_MAILBOXFULL:	return "5.2.2";
	case R_SUSPEND:		return "5.2.1";
	case R_FILTERED:	return "5.2.0";
	case R_NOTACCEPT:	return "5.1.10";
	default:		return "5.7.1";
	}
}

void
engine_answer(const struct store_answer *a, const struct store_rcpt *rec,
    long long now, struct answer *out)
{
	const char *status = rec != NULL ? rec->status : NULL;

	out->reason = a->reason;
	out->until = a->until;
	out->now = now;
	out->since = 0;
	out->scope = SCOPE_RECIPIENT;
	switch (a->kind) {
	case ANS_SUPPRESSED:
	case ANS_DEFERRED:
		/*
		 * The record's own status, forced to the answer's class
		 * (a mailbox full for good is "5.2.2", in back-off
		 * "4.2.2"), else the reason's usual one.
		 */
		if (status != NULL && (status[0] == '4' || status[0] == '5') &&
		    status[1] == '.')
			snprintf(out->status, sizeof(out->status), "%s",
			    status);
		else
			snprintf(out->status, sizeof(out->status), "%s",
			    answer_status(a->reason));
		if (a->kind == ANS_SUPPRESSED) {
			out->action = ACT_REJECT;
			out->status[0] = '5';
		} else {
			out->action = ACT_DEFER;
			out->status[0] = '4';
		}
		if (rec != NULL && rec->since > 0)
			out->since = rec->since;
		break;
	case ANS_THROTTLED:
		out->action = ACT_DEFER;
		out->scope = SCOPE_DESTINATION;
		memcpy(out->status, "4.7.0", sizeof("4.7.0"));
		break;
	default:
		out->action = ACT_DUNNO;
		out->status[0] = '\0';
		break;
	}
}
