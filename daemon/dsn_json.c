/*
 * dsn_json.c -- Amazon SES notifications and Mailgun events
 *
 * A Bounce, Delivery or Complaint notification (SNS's notificationType
 * or an event destination's eventType): in a message's text (SNS's
 * e-mail subscription), or the whole input, bare or as the "Message"
 * string of an SNS envelope. The JSON is not parsed as a whole: each
 * value is looked for by its key, which is all these flat objects
 * need. Strings go into the parser's arena.
 *
 * ses_verdict() reads SES's own bounceType and bounceSubType where the
 * recipient's reply gave classify() nothing to go by.
 *
 * Mailgun's failure events (its webhooks' "event-data", its events
 * API's items) are read here too: the reply is in "delivery-status",
 * and Mailgun's own "severity" and "reason" are kept as the report's
 * bounce_type and bounce_subtype, for ses_verdict() to weigh the same
 * way (what Mailgun's payloads mean is known only from client code
 * that reads them: they never suppress on their own).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "dsn.h"
#include "dsn_impl.h"
#include "mime.h"
#include "xalloc.h"

/*
 * Unescapes the JSON string that starts after the quote at p into the
 * arena, up to max bytes of it; *next, if not NULL, is set past it.
 */
static const char *
json_string_at(struct arena *a, const char *p, const char *e,
    const char **next, size_t max)
{
	char *out, *d;
	size_t cap = (size_t)(e - p) + 1 > max ? max + 1 :
	    (size_t)(e - p) + 1;

	out = d = arena_alloc(a, cap);
	while (p < e && *p != '"') {
		if (*p == '\\' && p + 1 < e) {
			p++;
			if (*p == 'u') {
				p += e - p >= 5 ? 5 : e - p;
				if ((size_t)(d - out) < cap - 1)
					*d++ = '?';
				continue;
			}
			if ((size_t)(d - out) < cap - 1)
				*d++ = *p == 'n' || *p == 't' || *p == 'r' ?
				    ' ' : *p;
			p++;
			continue;
		}
		if ((size_t)(d - out) < cap - 1)
			*d++ = *p;
		p++;
	}
	*d = '\0';
	if (next)
		*next = p < e ? p + 1 : e;
	return out;
}

/*
 * The string value of "key" in [p, e), unescaped into the arena up to
 * max bytes; NULL if absent. *next, if not NULL, is set past the value.
 */
static const char *
json_value(struct arena *a, const char *p, const char *e, const char *key,
    const char **next, size_t max)
{
	char pat[64];
	size_t kn;
	const char *q;

	kn = (size_t)snprintf(pat, sizeof(pat), "\"%s\"", key);
	while (p < e && (q = memmem(p, (size_t)(e - p), pat, kn)) != NULL) {
		p = q + kn;
		while (p < e && (isspace((unsigned char)*p) || *p == ':'))
			p++;
		if (p >= e || *p != '"')
			continue;
		return json_string_at(a, p + 1, e, next, max);
	}
	return NULL;
}

/* json_value() for a failure text or a name: up to MAX_DIAG bytes. */
static const char *
json_str(struct arena *a, const char *p, const char *e, const char *key,
    const char **next)
{
	return json_value(a, p, e, key, next, MAX_DIAG);
}

/*
 * The notification an SNS envelope carries as a string in its
 * "Message" ({"Type": "Notification", ..., "Message": "{\"notifi...}"}),
 * unescaped; NULL when [s, s + n) is no such envelope.
 */
static const char *
sns_message(struct arena *a, const char *s, size_t n)
{
	const char *v;

	if (memmem(s, n, "\"TopicArn\"", 10) == NULL &&
	    memmem(s, n, "\"Type\"", 6) == NULL)
		return NULL;
	if ((v = json_value(a, s, s + n, "Message", NULL, MAX_TEXT)) == NULL)
		return NULL;
	while (isspace((unsigned char)*v))
		v++;
	return *v == '{' ? v : NULL;
}

/* The number value of "key" in [p, e); 0 if absent or not a number. */
static long
json_int(const char *p, const char *e, const char *key)
{
	char pat[64];
	size_t kn;
	const char *q;
	long v = 0;

	kn = (size_t)snprintf(pat, sizeof(pat), "\"%s\"", key);
	if ((q = memmem(p, (size_t)(e - p), pat, kn)) == NULL)
		return 0;
	for (q += kn; q < e && (isspace((unsigned char)*q) || *q == ':'); q++)
		;
	for (; q < e && isdigit((unsigned char)*q) && v < 100000; q++)
		v = v * 10 + (*q - '0');
	return v;
}

/*
 * Reads a Mailgun failure event ({"event": "failed", "severity":
 * "permanent", "reason": "bounce", "recipient": ..., "delivery-status":
 * {"code": 550, "message": ..., "description": ...}}); returns 1 if it
 * was one. The reply is "code message", or Mailgun's description when
 * the server's message is empty.
 */
static int
mailgun_json(struct dsn_parser *p, struct dsn_report *rep, const char *s,
    size_t n)
{
	const char *e = s + n, *ev, *q, *qe, *v, *addr, *sev, *msg = NULL;
	struct dsn_rcpt *r;
	long code = 0;
	char *d;
	size_t len;

	if ((ev = json_str(p->a, s, e, "event", NULL)) == NULL ||
	    (strcmp(ev, "failed") != 0 && strcmp(ev, "bounced") != 0 &&
	    strcmp(ev, "dropped") != 0))
		return 0;
	if ((v = json_str(p->a, s, e, "recipient", NULL)) == NULL ||
	    (addr = addr_dup(p->a, v, v + strlen(v))) == NULL)
		return 0;
	r = rcpt_add(p, rep);
	r->rcpt = addr;
	r->action = "failed";
	if ((q = memmem(s, n, "\"delivery-status\"", 17)) != NULL) {
		if ((qe = memchr(q, '}', (size_t)(e - q))) == NULL)
			qe = e;
		code = json_int(q, qe, "code");
		if ((msg = json_str(p->a, q, qe, "message", NULL)) == NULL ||
		    !has_alnum(msg, msg + strlen(msg)))
			msg = json_str(p->a, q, qe, "description", NULL);
	}
	if (msg != NULL && has_alnum(msg, msg + strlen(msg))) {
		/* The code in front, unless the message starts with one. */
		if (code >= 200 && code < 600 && !(isdigit((unsigned char)
		    msg[0]) && isdigit((unsigned char)msg[1]) &&
		    isdigit((unsigned char)msg[2]) && (msg[3] == ' ' ||
		    msg[3] == '-' || msg[3] == '\0'))) {
			len = strlen(msg) + 5;
			d = arena_alloc(p->a, len);
			snprintf(d, len, "%ld %s", code, msg);
			msg = d;
		}
		r->diag = msg;
		r->diaglen = strlen(msg);
	}
	sev = json_str(p->a, s, e, "severity", NULL);
	if (sev != NULL && strcmp(sev, "temporary") == 0)
		rep->bounce_type = "Transient";
	else if ((sev != NULL && strcmp(sev, "permanent") == 0) ||
	    strcmp(ev, "bounced") == 0)
		rep->bounce_type = "Permanent";
	rep->bounce_subtype = json_str(p->a, s, e, "reason", NULL);
	rep->service = "mailgun";
	rep->kind = DSN_JSON;
	return 1;
}


/*
 * The recipient objects of a notification's list at q ("bouncedRecipients",
 * "delayedRecipients": one object per recipient, up to the closing
 * bracket): address, action (or action when the object has none),
 * status and diagnosticCode.
 */
static void
ses_recipients(struct dsn_parser *p, struct dsn_report *rep, const char *q,
    const char *e, const char *action)
{
	const char *obj, *oe, *v, *close = memchr(q, ']', (size_t)(e - q));
	struct dsn_rcpt *r;

	for (obj = memchr(q, '{', (size_t)(e - q)); obj != NULL;
	    obj = oe < e ? memchr(oe, '{', (size_t)(e - oe)) : NULL) {
		if (close != NULL && obj > close)
			break;
		oe = memchr(obj, '}', (size_t)(e - obj));
		if (oe == NULL)
			oe = e;
		if ((v = json_str(p->a, obj, oe, "emailAddress", NULL)) == NULL)
			continue;
		r = rcpt_add(p, rep);
		r->rcpt = addr_dup(p->a, v, v + strlen(v));
		if (r->rcpt == NULL)
			r->rcpt = v;
		r->action = action;
		if ((v = json_str(p->a, obj, oe, "action", NULL)))
			r->action = v;
		if ((v = json_str(p->a, obj, oe, "status", NULL)))
			r->status = status_dup(p->a, v);
		if ((v = json_str(p->a, obj, oe, "diagnosticCode", NULL))) {
			r->diag = after_type(v);
			r->diaglen = strlen(r->diag);
		}
	}
}
/* Reads an SES notification or a Mailgun event; 1 if it was one. */
int
ses_json(struct dsn_parser *p, struct dsn_report *rep, const char *s,
    size_t n)
{
	const char *e = s + n, *q, *oe, *v, *type, *resp;
	const char *addr;
	struct dsn_rcpt *r;

	/* Every key looked for below is quoted: no quote, no notification. */
	if (n == 0 || memchr(s, '"', n) == NULL)
		return 0;
	if ((q = memmem(s, n, "\"notificationType\"", 18)) == NULL &&
	    (q = memmem(s, n, "\"eventType\"", 11)) == NULL) {
		if (mailgun_json(p, rep, s, n))
			return 1;
		if ((v = sns_message(p->a, s, n)) == NULL)
			return 0;
		return ses_json(p, rep, v, strlen(v));
	}
	if ((type = json_str(p->a, s, e, "notificationType", NULL)) == NULL &&
	    (type = json_str(p->a, s, e, "eventType", NULL)) == NULL)
		return 0;
	if (strcmp(type, "Bounce") == 0 &&
	    (q = memmem(s, n, "\"bouncedRecipients\"", 19)) != NULL) {
		rep->bounce_type = json_str(p->a, s, e, "bounceType", NULL);
		rep->bounce_subtype = json_str(p->a, s, e, "bounceSubType",
		    NULL);
		ses_recipients(p, rep, q, e, NULL);
	} else if (strcmp(type, "DeliveryDelay") == 0 &&
	    (q = memmem(s, n, "\"delayedRecipients\"", 19)) != NULL) {
		/* Still being tried: each recipient is delayed. */
		ses_recipients(p, rep, q, e, "delayed");
	} else if (strcmp(type, "Delivery") == 0 &&
	    (q = memmem(s, n, "\"delivery\"", 10)) != NULL) {
		resp = json_str(p->a, q, e, "smtpResponse", NULL);
		if ((q = memmem(q, (size_t)(e - q), "\"recipients\"", 12)) ==
		    NULL)
			return 0;
		oe = memchr(q, ']', (size_t)(e - q));
		if (oe == NULL)
			oe = e;
		for (q += 12; q < oe && (q = memchr(q, '"',
		    (size_t)(oe - q))) != NULL;) {
			v = json_string_at(p->a, q + 1, oe, &q, MAX_DIAG);
			if ((addr = addr_dup(p->a, v, v + strlen(v))) == NULL)
				continue;
			r = rcpt_add(p, rep);
			r->rcpt = addr;
			r->action = "delivered";
			if (resp != NULL) {
				r->diag = resp;
				r->diaglen = strlen(resp);
			}
		}
	} else if (strcmp(type, "Complaint") == 0 &&
	    (q = memmem(s, n, "\"complainedRecipients\"", 22)) != NULL) {
		oe = memchr(q, ']', (size_t)(e - q));
		if (oe == NULL)
			oe = e;
		while ((v = json_str(p->a, q, oe, "emailAddress", &q))) {
			if ((addr = addr_dup(p->a, v, v + strlen(v))) == NULL)
				continue;	/* not an address */
			r = rcpt_add(p, rep);
			r->rcpt = addr;
		}
		rep->kind = DSN_ARF;
		rep->feedback_type = json_str(p->a, s, e,
		    "complaintFeedbackType", NULL);
		if (rep->feedback_type == NULL)
			rep->feedback_type = "abuse";
		return 1;
	}
	for (size_t i = 0; i < rep->nrcpts; i++)
		if (rep->rcpts[i].rcpt == NULL)
			rep->rcpts[i].rcpt = "";
	if (rep->nrcpts == 0) {
		rep->bounce_type = rep->bounce_subtype = NULL;
		return 0;
	}
	rep->service = "ses";
	rep->kind = DSN_JSON;
	return 1;
}

int
ses_bare(struct dsn_parser *p, struct dsn_report *rep, const char *msg,
    size_t len)
{
	size_t i;

	for (i = 0; i < len && isspace((unsigned char)msg[i]); i++)
		;
	if (i == len || msg[i] != '{' || !ses_json(p, rep, msg + i, len - i))
		return 0;
	rep->bare = 1;
	return 1;
}

/*
 * What each bounceSubType names, in our reasons (Sisimai's), with the
 * decision a rule for the same words would take. Suppressed and
 * OnAccountSuppressionList are read as rules/amazon-ses.rules reads
 * SES's own texts for them.
 */
static const struct ses_subtype {
	const char	*name;
	enum reason	 reason;
	unsigned	 decision;
} ses_subtypes[] = {
	{ "General",		R_ONHOLD,	   0 },
	{ "NoEmail",		R_USERUNKNOWN,	   D_SUPPRESS },
	{ "Suppressed",		R_USERUNKNOWN,	   D_SUPPRESS },
	{ "OnAccountSuppressionList", R_ONHOLD,	   0 },
	{ "MailboxFull",	R_MAILBOXFULL,	   D_RETRY },
	{ "MessageTooLarge",	R_MESGTOOBIG,	   0 },
	{ "ContentRejected",	R_CONTENTERROR,	   D_ALERT },
	{ "AttachmentRejected",	R_POLICYVIOLATION, D_ALERT },
};

void
ses_verdict(const struct dsn_report *rep, const struct dsn_rcpt *r,
    struct classification *cl)
{
	const struct ses_subtype *st = NULL;
	char kv[96];
	size_t i;
	int transient;

	if (rep->kind != DSN_JSON)
		return;
	/*
	 * Mailgun's "suppress-bounce": not sent at all, because Mailgun's
	 * list holds an earlier bounce of the address. That is no reply of
	 * a remote server, and nothing bouncer saw: it does not suppress.
	 */
	if (rep->bounce_subtype != NULL && rep->service != NULL &&
	    strcmp(rep->service, "mailgun") == 0 &&
	    strcmp(rep->bounce_subtype, "suppress-bounce") == 0 &&
	    (cl->decision & D_SUPPRESS)) {
		cl->decision &= ~D_SUPPRESS;
		detail_add(cl, "guard=mailgun-suppress-bounce");
	}
	if (rep->bounce_type == NULL)
		return;
	transient = strcasecmp(rep->bounce_type, "Transient") == 0;
	if (!transient && strcasecmp(rep->bounce_type, "Permanent") != 0)
		return;		/* Undetermined: the reply alone */
	for (i = 0; rep->bounce_subtype != NULL &&
	    i < sizeof(ses_subtypes) / sizeof(ses_subtypes[0]); i++)
		if (strcasecmp(rep->bounce_subtype, ses_subtypes[i].name) == 0)
			st = &ses_subtypes[i];
	/*
	 * A rule that knew the reply's words stands; a subtype that names a
	 * cause outranks the status alone, "General" only nothing at all.
	 */
	if (st != NULL && (st == &ses_subtypes[0] ? cl->rule == NULL :
	    cl->rule == NULL || cl->rule->re == NULL)) {
		cl->reason = st->reason;
		cl->decision = st == &ses_subtypes[0] && transient ? D_RETRY :
		    st->decision;
		cl->temporary = transient;
		if (r->status == NULL)
			snprintf(cl->status, sizeof(cl->status), "%s",
			    reason_status(cl->reason, transient));
		snprintf(kv, sizeof(kv), "%s=%s/%s", rep->service, transient ?
		    "Transient" : "Permanent", st->name);
		detail_add(cl, kv);
	}
	/*
	 * SES judged the failure temporary: the address may work again,
	 * whatever the reply seemed to say. No suppression, no hard bounce.
	 */
	if (transient) {
		cl->temporary = 1;
		if (cl->decision & D_SUPPRESS) {
			cl->decision &= ~D_SUPPRESS;
			detail_add(cl, strcmp(rep->service, "ses") == 0 ?
			    "guard=ses-transient" : "guard=transient");
		}
	}
}
