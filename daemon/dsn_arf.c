/*
 * dsn_arf.c -- feedback reports (RFC 5965 ARF) and auto-replies
 *
 * A feedback report names the recipient who complained (its
 * Original-Rcpt-To, Removal-Recipient, or the original's To); an
 * auto-reply (RFC 3834, or an out-of-office subject from a person, not
 * a mailer daemon) names its sender. Strings go into the parser's
 * arena.
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

/* --- auto-replies ---------------------------------------------------- */

static const char *const autoreply_subjects[] = {
	"auto:", "automatic reply", "autoreply", "auto-reply", "auto reply",
	"autorespon", "auto response", "out of office", "out of the office",
	"away from", "on vacation", "vacation", "on leave", "absence",
	"abwesen", "abwesenheit", "automatische antwort", "r\xc3\xa9ponse "
	"automatique", "respuesta autom", "risposta automatica",
	"automatisch antwoord", "automatisk svar", "automatiskt svar",
	"automaattinen vastaus", "resposta autom",
	"odpowied\xc5\xba automatyczna",			/* Polish */
	"automatyczna odpowied\xc5\xba", "autosvar", "afwezig",
	"fr\xc3\xa5nvaro",					/* Swedish */
	"otomatik yan\xc4\xb1t",				/* Turkish */
	/* Автоответ, автоответ */
	"\xd0\x90\xd0\xb2\xd1\x82\xd0\xbe\xd0\xbe\xd1\x82\xd0\xb2\xd0\xb5\xd1\x82",
	"\xd0\xb0\xd0\xb2\xd1\x82\xd0\xbe\xd0\xbe\xd1\x82\xd0\xb2\xd0\xb5\xd1\x82",
	"\xe8\x87\xaa\xe5\x8a\xa8\xe5\x9b\x9e\xe5\xa4\x8d",	/* 自动回复 */
	"\xec\x9e\x90\xeb\x8f\x99 \xec\x9d\x91\xeb\x8b\xb5",	/* 자동 응답 */
	"automatick\xc3\xa1 odpov\xc4\x9b\xc4\x8f",		/* Czech */
	"\xe8\x87\xaa\xe5\x8b\x95\xe5\xbf\x9c\xe7\xad\x94",	/* 自動応答 */
	"\xe8\x87\xaa\xe5\x8b\x95\xe8\xbf\x94\xe4\xbf\xa1",	/* 自動返信 */
	"\xe4\xb8\x8d\xe5\x9c\xa8",				/* 不在 */
	NULL
};

/* Does the subject begin with an auto-reply's words ("Automatic reply:")? */
static int
autoreply_prefix(const char *subject)
{
	size_t i, k;

	if (subject == NULL)
		return 0;
	while (*subject == ' ' || *subject == '\t')
		subject++;
	for (i = 0; autoreply_subjects[i] != NULL; i++) {
		k = strlen(autoreply_subjects[i]);
		if (strncasecmp(subject, autoreply_subjects[i], k) == 0)
			return 1;
	}
	return 0;
}

/* Do the headers mark the message as an auto-reply? */
static int
autoreply_headers(struct mime_part *root)
{
	const char *v;

	if ((v = mime_header_value(root, "Auto-Submitted")) != NULL &&
	    strncasecmp(v, "auto-replied", 12) == 0)
		return 1;
	/* Exchange's out-of-office, in any language of its subject. */
	if (v != NULL && strncasecmp(v, "auto-generated", 14) == 0 &&
	    mime_header(root, "X-Auto-Response-Suppress") != NULL)
		return 1;
	if (mime_header(root, "X-Autoreply") != NULL ||
	    mime_header(root, "X-Autorespond") != NULL ||
	    mime_header(root, "X-Autoresponder") != NULL)
		return 1;
	return (v = mime_header_value(root, "Precedence")) != NULL &&
	    strcasecmp(v, "auto_reply") == 0;
}

/*
 * Is the address in v an auto-responder's ("auto-reply@helpdesk.x",
 * "noreply@x")? It writes auto-replies, not bounces, though
 * from_daemon() counts "auto-reply" among the daemons.
 */
static int
responder(const char *v)
{
	static const char *const locals[] = {
		"auto-reply", "autoreply", "auto_reply", "autoresponder",
		"noreply", "no-reply", "do-not-reply", "donotreply", NULL
	};
	const char *as, *ae;
	size_t i, n;

	if (v == NULL || !addr_next(v, v + strlen(v), &as, &ae))
		return 0;
	n = (size_t)((const char *)memchr(as, '@', (size_t)(ae - as)) - as);
	for (i = 0; locals[i] != NULL; i++)
		if (strlen(locals[i]) == n && strncasecmp(as, locals[i], n) == 0)
			return 1;
	return 0;
}

/*
 * An auto-reply, not a bounce: never from a mailer daemon (an
 * auto-responder's address is none), and a
 * subject with a bounce's words ("failed", "undeliverable") counts
 * against it unless the subject begins as an auto-reply's does
 * ("Automatic reply: Your payment failed", "Re: ..." with auto-reply
 * headers): a person's auto-reply quotes the subject it answers.
 */
int
is_autoreply(struct mime_part *root, const char *subject, const char *from)
{
	int hdrs;

	if (from_daemon(from) && !responder(from))
		return 0;
	hdrs = autoreply_headers(root);
	if (matches_any(subject, bounce_subjects) &&
	    !autoreply_prefix(subject) && !(hdrs && subject != NULL &&
	    strncasecmp(subject, "Re:", 3) == 0))
		return 0;
	return hdrs || matches_any(subject, autoreply_subjects);
}

/* --- feedback reports ------------------------------------------------ */

/* The number of addresses in a header value (NULL: none). */
static size_t
addr_count(const char *v)
{
	const char *e, *as, *ae;
	size_t n = 0;

	if (v == NULL)
		return 0;
	for (e = v + strlen(v); addr_next(v, e, &as, &ae); v = ae)
		n++;
	return n;
}

int
arf(struct dsn_parser *p, struct dsn_report *rep, struct mime_part *root,
    struct found *f)
{
	struct mime_header *h = NULL;
	struct dsn_rcpt *r;
	const char *body, *v, *removal = NULL;
	size_t n, nh = 0, i;

	if (f->fb == NULL && !(root->report_type != NULL &&
	    strcmp(root->report_type, "feedback-report") == 0) &&
	    !(f->orig != NULL &&
	    mime_header(f->orig, "X-HmXmrOriginalRecipient") != NULL))
		return 0;
	rep->kind = DSN_ARF;
	if (f->fb != NULL) {
		body = mime_body(p->m, f->fb, &n);
		mime_fields(p->m, body, n, &h, &nh);
	}
	for (i = 0; i < nh; i++) {
		v = h[i].value;
		if (strcasecmp(h[i].name, "Feedback-Type") == 0) {
			rep->feedback_type = lower_dup(p->a, v,
			    strcspn(v, " \t;"));
		} else if (strcasecmp(h[i].name, "Original-Rcpt-To") == 0) {
			const char *a = addr_dup(p->a, v, v + h[i].len);

			if (a != NULL && !rcpt_known(rep, a, strlen(a)))
				rcpt_add(p, rep)->rcpt = a;
		} else if (strcasecmp(h[i].name, "Removal-Recipient") == 0) {
			removal = addr_dup(p->a, v, v + h[i].len);
		} else if (strcasecmp(h[i].name, "Reporting-MTA") == 0) {
			rep->reporting_mta = host_dup(p->a, v);
		} else if (strcasecmp(h[i].name, "Arrival-Date") == 0 ||
		    strcasecmp(h[i].name, "Received-Date") == 0) {
			rep->arrival_date = field_dup(p->a, &h[i]);
		}
	}
	if (rep->feedback_type == NULL)
		rep->feedback_type = "abuse";
	if (rep->nrcpts == 0 && removal != NULL)
		rcpt_add(p, rep)->rcpt = removal;
	if (rep->nrcpts == 0 && f->orig != NULL) {
		int several = 0;

		v = mime_header_value(f->orig, "X-HmXmrOriginalRecipient");
		if (v == NULL) {
			v = mime_header_value(f->orig, "To");
			several = addr_count(v) + addr_count(mime_header_value(
			    f->orig, "Cc")) > 1;
		}
		if (v != NULL && (v = addr_dup(p->a, v, v + strlen(v)))) {
			r = rcpt_add(p, rep);
			r->rcpt = v;
			/* the first of them may not be the one who reported */
			r->unnamed = several;
		}
	}
	if (rep->nrcpts == 0) {
		/* A complaint about a message to nobody we can name. */
		r = rcpt_add(p, rep);
		r->rcpt = "undisclosed-recipient-in-headers@"
		    "libsisimai.org.invalid";
	}
	return 1;
}
