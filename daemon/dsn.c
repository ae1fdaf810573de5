/*
 * dsn.c -- one bounce e-mail to per-recipient results
 *
 * The order of the questions asked of a message:
 *
 *   1. Is it a feedback report? A message/feedback-report part, a
 *      report-type of feedback-report, or an attached original that
 *      carries Hotmail's X-HmXmrOriginalRecipient.
 *   2. Does it carry RFC 3464 fields? A message/delivery-status part
 *      (base64 or not), or "Final-Recipient:" lines in its text. (A
 *      read receipt, RFC 8098, has such lines too: it gives nothing.)
 *   3. Is it an Amazon SES JSON notification? Is it a notice that
 *      reports no delivery (a session transcript to the postmaster, a
 *      frozen message, a post held for a list's moderator, a lure
 *      dressed as a bounce): then nothing. Is
 *      it a bounce a person forwarded in the text: then that bounce.
 *   4. Is it an auto-reply (RFC 3834 Auto-Submitted, X-Autoreply,
 *      Precedence: auto_reply, or an out-of-office subject) from a
 *      person rather than a mailer daemon?
 *   5. Does it look like a bounce at all (a mailer-daemon sender, a
 *      bounce subject, X-Failed-Recipients, a null Return-Path, a
 *      content filter's notice of a virus to the sender)? If
 *      so, read its text: every address that starts a line (or is
 *      named by X-Failed-Recipients) is a recipient, and the text
 *      after it, up to the next recipient, is its failure text.
 *
 * The text of a bounce ends where the copy of the original begins: at
 * the attached part, or, in a single-part bounce, at a separator line
 * ("--- Below this line is a copy of the message.") or at the first
 * run of header lines. Addresses of the sender (the bounce's To, the
 * original's From and Reply-To) are never recipients when there is
 * anyone else; and whatever a bounce says, they are never suppressed.
 *
 * Nothing here keys on a particular MTA: the extractors are generic,
 * and what a failure text means is for the rules to say.
 *
 * This file asks the questions and reads RFC 3464 fields; the other
 * shapes are read by dsn_arf.c (1, 4), dsn_json.c (3), dsn_notice.c
 * (3, 5) and dsn_text.c (5), and dsn_classify.c turns a recipient
 * into a classification. dsn_impl.h is what they share.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "ascii.h"
#include "dsn.h"
#include "dsn_impl.h"
#include "lineio.h"
#include "mime.h"
#include "xalloc.h"

static const char *const kind_names[] = {
	"none", "rfc3464", "text", "arf", "autoreply", "json"
};

const char *
dsn_kind_name(enum dsn_kind k)
{
	return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ?
	    kind_names[k] : "none";
}

struct dsn_parser *
dsn_parser_new(void)
{
	struct dsn_parser *p;

	p = xcalloc(1, sizeof(*p));
	p->m = mime_new();
	p->a = mime_arena(p->m);
	return p;
}

void
dsn_parser_free(struct dsn_parser *p)
{
	if (p == NULL)
		return;
	mime_free(p->m);
	free(p->fwd);
	free(p);
}

/* --- the walk -------------------------------------------------------- */

static int
is_orig_type(const char *t)
{
	return strcmp(t, "message/rfc822") == 0 ||
	    strcmp(t, "message/global") == 0 ||
	    strcmp(t, "text/rfc822-headers") == 0 ||
	    strcmp(t, "text/rfc822-header") == 0 ||
	    strcmp(t, "message/rfc822-headers") == 0 ||
	    strcmp(t, "message/global-headers") == 0;
}

static void
walk(struct dsn_parser *p, struct mime_part *part, struct found *f)
{
	struct mime_part *c;
	const char *t = part->type;

	if (f->top == NULL)
		f->top = part;
	f->flags |= part->flags;
	if (strncmp(t, "multipart/", 10) == 0) {
		for (c = part->child; c != NULL; c = c->next)
			walk(p, c, f);
		return;
	}
	if (strcmp(t, "message/delivery-status") == 0 ||
	    strcmp(t, "message/global-delivery-status") == 0) {
		if (f->nds < MAX_DSPARTS)
			f->ds[f->nds++] = part;
		return;
	}
	if (strcmp(t, "message/feedback-report") == 0) {
		if (f->fb == NULL)
			f->fb = part;
		return;
	}
	if (is_orig_type(t)) {
		if (f->orig == NULL && part->child != NULL)
			f->orig = part->child;
		return;
	}
	if (strcmp(t, "text/html") == 0) {
		if (f->html == NULL && f->orig == NULL)
			f->html = part;
		return;
	}
	if (strncmp(t, "text/", 5) == 0 && f->orig == NULL &&
	    f->ntext < MAX_TEXTPARTS) {
		/* Text after the original is not the bounce's own. */
		f->text[f->ntext++] = part;
	}
}

/* --- RFC 3464 fields ------------------------------------------------- */

const char *
field_dup(struct arena *a, const struct mime_header *h)
{
	const char *v = after_type(h->value);

	return arena_strndup(a, v, strlen(v));
}

/*
 * The status code of a Status field's value, also after a comment
 * ("(permanent failure) 5.1.1") or a reply code ("550 5.1.1 User
 * unknown"), as some mailers write it; NULL when there is none.
 */
const char *
status_dup(struct arena *a, const char *v)
{
	const char *q;
	size_t n;

	while (is_wsp(*v))
		v++;
	if (*v == '(' && (q = strchr(v, ')')) != NULL)
		for (v = q + 1; is_wsp(*v); v++)
			;
	if (v[0] >= '2' && v[0] <= '5' && isdigit((unsigned char)v[1]) &&
	    isdigit((unsigned char)v[2]) && (v[3] == ' ' || v[3] == '-'))
		for (v += 4; is_wsp(*v); v++)
			;
	if ((n = status_at(v, v + strlen(v))) == 0)
		return NULL;
	return arena_strndup(a, v, n);
}

/* Host of "dns; mx.example.net" (up to a blank or bracket). */
const char *
host_dup(struct arena *a, const char *v)
{
	const char *e;

	v = after_type(v);
	for (e = v; *e != '\0' && !is_wsp(*e) && *e != '[' && *e != '('; e++)
		;
	return e > v ? arena_strndup(a, v, (size_t)(e - v)) : NULL;
}

/*
 * An address with RFC 6533's escapes ("j\\x{E9}r\\x{F4}me@exemple.fr",
 * a UTF-8 address in a 7-bit utf-8-type field) as UTF-8, in the arena;
 * v itself when it has none. The result is never longer than v.
 */
static const char *
unicode_unescape(struct arena *a, const char *v, size_t n)
{
	const char *e = v + n, *q;
	unsigned long c;
	char *out, *d;

	if (memmem(v, n, "\\x{", 3) == NULL)
		return v;
	out = d = arena_alloc(a, n + 1);
	while (v < e) {
		if (e - v >= 5 && memcmp(v, "\\x{", 3) == 0) {
			for (q = v + 3, c = 0; q < e && q - v < 10 &&
			    isxdigit((unsigned char)*q); q++)
				c = c << 4 | (unsigned long)(isdigit(
				    (unsigned char)*q) ? *q - '0' :
				    (*q | 0x20) - 'a' + 10);
			if (q < e && *q == '}' && q > v + 3 && c > 0 &&
			    c < 0x110000 && (c < 0xd800 || c >= 0xe000)) {
				d += utf8_put(d, c);
				v = q + 1;
				continue;
			}
		}
		*d++ = *v++;
	}
	*d = '\0';
	return out;
}

/* Sets one per-recipient field of r from h. */
static void
ds_rcpt_field(struct dsn_parser *p, struct dsn_rcpt *r,
    const struct mime_header *h)
{
	const char *name = h->name, *v = h->value, *a;

	if (ascii_streq_ci(name, "Final-Recipient") ||
	    ascii_streq_ci(name, "Original-Recipient")) {
		int isaddr;

		v = unicode_unescape(p->a, v, h->len);
		isaddr = (a = addr_dup(p->a, v, v + strlen(v))) != NULL;

		if (!isaddr) {
			v = after_type(v);
			if (*v == '\0' || strchr(v, '@') == v)
				return;		/* "@host": no address */
			a = arena_strndup(p->a, v, strlen(v));
		}
		/*
		 * A Final-Recipient that is no mail address (an X.400
		 * name, a local user "eda") never hides the address an
		 * Original-Recipient gives.
		 */
		if (tolower((unsigned char)*name) == 'f') {
			if (isaddr || r->rcpt == NULL ||
			    strchr(r->rcpt, '@') == NULL)
				r->rcpt = a;
		} else {
			r->orig_rcpt = a;
			if (r->rcpt == NULL || (isaddr &&
			    strchr(r->rcpt, '@') == NULL))
				r->rcpt = a;
		}
	} else if (ascii_streq_ci(name, "Action")) {
		v = after_type(v);
		r->action = lower_dup(p->a, v, strlen(v));
	} else if (ascii_streq_ci(name, "Status")) {
		r->status = status_dup(p->a, v);
	} else if (ascii_streq_ci(name, "Remote-MTA")) {
		r->remote_mta = host_dup(p->a, v);
	} else if (ascii_streq_ci(name, "Diagnostic-Code")) {
		a = after_type(v);
		if (a != v)
			r->diagtype = lower_dup(p->a, v, strcspn(v, "; \t"));
		v = a;
		r->diag = v;
		r->diaglen = strlen(v);
	} else if (ascii_streq_ci(name, "Last-Attempt-Date")) {
		r->last_attempt = field_dup(p->a, h);
	} else if (ascii_streq_ci(name, "X-Actual-Recipient")) {
		/* Sendmail: an alias that pipes to a program, "|prog ..." */
		a = after_type(v);
		r->to_program = *a == '|' || (*a == '"' && a[1] == '|');
		if (!r->to_program)
			r->actual = addr_dup(p->a, v, v + h->len);
	} else if (ascii_streq_ci(name, "X-PowerMTA-BounceCategory")) {
		v = after_type(v);
		r->category = lower_dup(p->a, v, strcspn(v, " \t;("));
	}
}

/* The recipient for address a, merging with one already reported. */
static struct dsn_rcpt *
rcpt_merge(struct dsn_parser *p, struct dsn_report *rep,
    const struct dsn_rcpt *t)
{
	struct dsn_rcpt *r;
	size_t i;

	/* A repeat comes right after the first: look back a little. */
	for (i = rep->nrcpts > 8 ? rep->nrcpts - 8 : 0; i < rep->nrcpts;
	    i++) {
		r = &rep->rcpts[i];
		if (!ascii_streq_ci(r->rcpt, t->rcpt))
			continue;
		if (r->status == NULL)
			r->status = t->status;
		if (r->diaglen == 0) {
			r->diag = t->diag;
			r->diaglen = t->diaglen;
		}
		if (r->action == NULL)
			r->action = t->action;
		if (r->remote_mta == NULL)
			r->remote_mta = t->remote_mta;
		if (r->category == NULL)
			r->category = t->category;
		r->to_program |= t->to_program;
		if (r->actual == NULL)
			r->actual = t->actual;
		return r;
	}
	r = rcpt_add(p, rep);
	*r = *t;
	return r;
}

/*
 * One group of fields of a delivery-status report. A group that names
 * a recipient is one recipient; a group that names several (no empty
 * lines between them) is split at each Final-Recipient. Per-message
 * fields count wherever they are. A recipient reported twice is merged.
 */
static void
ds_group(struct dsn_parser *p, struct dsn_report *rep,
    const struct mime_header *h, size_t nh)
{
	struct dsn_rcpt t;
	const char *v;
	size_t i, nfinal;
	int have;

	for (i = 0, nfinal = 0; i < nh; i++)
		if (ascii_streq_ci(h[i].name, "Final-Recipient"))
			nfinal++;
	memset(&t, 0, sizeof(t));
	t.diag = "";
	have = 0;
	for (i = 0; i < nh; i++) {
		const char *name = h[i].name;

		v = h[i].value;
		if (ascii_streq_ci(name, "Reporting-MTA")) {
			if (rep->reporting_mta == NULL)
				rep->reporting_mta = host_dup(p->a, v);
			continue;
		}
		if (ascii_streq_ci(name, "X-Postfix-Queue-ID")) {
			if (rep->queue_id == NULL)
				rep->queue_id = field_dup(p->a, &h[i]);
			continue;
		}
		if (ascii_streq_ci(name, "Arrival-Date")) {
			if (rep->arrival_date == NULL)
				rep->arrival_date = field_dup(p->a,
				    &h[i]);
			continue;
		}
		/*
		 * After the group's Final-Recipient, another one
		 * starts the next recipient; so does another
		 * Original-Recipient once the group has one.
		 */
		if (nfinal > 1 && t.rcpt != NULL && have &&
		    (ascii_streq_ci(name, "Final-Recipient") ||
		    (t.orig_rcpt != NULL && ascii_streq_ci(name,
		    "Original-Recipient")))) {
			rcpt_merge(p, rep, &t);
			memset(&t, 0, sizeof(t));
			t.diag = "";
			have = 0;
		}
		ds_rcpt_field(p, &t, &h[i]);
		if (ascii_streq_ci(name, "Final-Recipient"))
			have = 1;
	}
	/*
	 * A group with a recipient's fields but no recipient ("Final-
	 * Recipient" written with the per-message fields, an empty line,
	 * then "Action", "Status"): they complete the recipient before it.
	 */
	if (t.rcpt == NULL && rep->nrcpts > 0 && (t.status != NULL ||
	    t.diaglen > 0) && rep->rcpts[rep->nrcpts - 1].status == NULL) {
		t.rcpt = rep->rcpts[rep->nrcpts - 1].rcpt;
		rcpt_merge(p, rep, &t);
	} else if (t.rcpt != NULL)
		rcpt_merge(p, rep, &t);
}

/*
 * Reads the fields of a delivery-status body (or of text that holds
 * them), group by group (ds_group()), the groups separated by an empty
 * line.
 */
static void
ds_fields(struct dsn_parser *p, struct dsn_report *rep, const char *s,
    size_t n)
{
	struct mime_header *h;
	const char *e = s + n, *le;
	size_t nh, used;

	while (s < e) {
		used = mime_fields(p->m, s, (size_t)(e - s), &h, &nh);
		if (used == 0) {
			le = line_end(s, e);
			s = le < e ? le + 1 : e;
			continue;
		}
		s += used;
		ds_group(p, rep, h, nh);
	}
}

/*
 * The fields of a delivery-status part, also where a mailer wrote them
 * with no empty line after the part's own header ("Content-Type:
 * message/delivery-status" then "Reporting-MTA: ..."): the part's
 * header block then holds the first group.
 */
static void
ds_part(struct dsn_parser *p, struct dsn_report *rep, struct mime_part *part)
{
	const char *v;
	size_t n;

	if (mime_header(part, "Reporting-MTA") != NULL ||
	    mime_header(part, "Final-Recipient") != NULL ||
	    mime_header(part, "Original-Recipient") != NULL)
		ds_group(p, rep, part->hdrs, part->nhdrs);
	v = mime_body(p->m, part, &n);
	ds_fields(p, rep, v, n);
}

/* "Final-Recipient:" at a line start in s? Returns that group's start. */
static const char *
ds_in_text(const char *s, size_t n)
{
	const char *p = s, *e = s + n, *le, *first = NULL;

	for (; p < e; p = le < e ? le + 1 : e) {
		le = line_end(p, e);
		if ((size_t)(le - p) >= 16 && (strncasecmp(p,
		    "Reporting-MTA:", 14) == 0 || strncasecmp(p,
		    "Final-Recipient:", 16) == 0 || strncasecmp(p,
		    "Original-Recipient:", 19) == 0)) {
			if (first == NULL)
				first = p;
			if (tolower((unsigned char)*p) != 'r')
				return first;
		}
	}
	return NULL;
}

/*
 * A copy of s with one level of "> " quoting removed from every line,
 * when most of its lines are quoted; NULL otherwise.
 */
static const char *
dequote(struct arena *a, const char *s, size_t n, size_t *lenp)
{
	const char *p, *e = s + n, *le;
	size_t lines = 0, quoted = 0;
	char *out, *d;

	/* Fewer than eight lines start with '>': none to count. */
	for (p = s; quoted < 8 && p < e &&
	    (p = memchr(p, '>', (size_t)(e - p))) != NULL; p++)
		quoted += p == s || p[-1] == '\n';
	if (quoted < 8)
		return NULL;
	quoted = 0;
	for (p = s; p < e; p = le < e ? le + 1 : e) {
		le = line_end(p, e);
		if (le == p || (le - p == 1 && *p == '\r'))
			continue;
		lines++;
		quoted += *p == '>';
	}
	if (quoted < 8 || quoted * 2 < lines)
		return NULL;
	out = d = arena_alloc(a, n + 1);
	for (p = s; p < e; p = le < e ? le + 1 : e) {
		le = line_end(p, e);
		if (p < le && *p == '>') {
			p++;
			if (p < le && *p == ' ')
				p++;
		}
		memcpy(d, p, (size_t)(le - p));
		d += le - p;
		if (le < e)
			*d++ = '\n';
	}
	*d = '\0';
	*lenp = (size_t)(d - out);
	return out;
}

/* --- the message ----------------------------------------------------- */

const char *
cut_of(struct dsn_parser *p, const char *s, const char *e)
{
	const char *cut;
	size_t i;

	for (i = 0; i < p->ncuts; i++)
		if (p->cuts[i].s == s && p->cuts[i].e == e)
			return p->cuts[i].cut;
	cut = text_cut(s, e);
	if (p->ncuts < MAX_CUTS) {
		p->cuts[p->ncuts].s = s;
		p->cuts[p->ncuts].e = e;
		p->cuts[p->ncuts++].cut = cut;
	}
	return cut;
}

/* Message-ID of the original, from its headers or from the text. */
static const char *
orig_message_id(struct dsn_parser *p, struct mime_part *root,
    struct found *f)
{
	const char *v, *s, *e, *q, *le;
	size_t n;

	if (f->orig != NULL &&
	    (v = mime_header_value(f->orig, "Message-ID")) != NULL)
		return v;
	/* A copy of the original inline: look after the own text. */
	if (f->ntext == 0)
		return NULL;
	s = mime_body(p->m, f->text[f->ntext - 1], &n);
	e = s + n;
	for (q = cut_of(p, s, e); q < e; q = le < e ? le + 1 : e) {
		le = line_end(q, e);
		if ((size_t)(le - q) > 11 && strncasecmp(q, "Message-ID:",
		    11) == 0) {
			v = q + 11;
			while (v < le && is_wsp(*v))
				v++;
			while (le > v && isspace((unsigned char)le[-1]))
				le--;
			return arena_strndup(p->a, v, (size_t)(le - v));
		}
	}
	(void)root;
	return NULL;
}

/*
 * A notice that says delivery is still being tried (a warning in
 * words): its recipients without an Action of their own are delayed.
 */
static void
mark_delayed(struct dsn_report *rep, const char *subject, const char *text,
    size_t textlen)
{
	size_t i;

	if (!warning_text(subject, text, textlen))
		return;
	for (i = 0; i < rep->nrcpts; i++)
		if (rep->rcpts[i].action == NULL)
			rep->rcpts[i].action = "delayed";
}

/*
 * A notice in words that a delivery succeeded: its recipients without
 * an Action of their own were delivered.
 */
static void
mark_delivered(struct dsn_report *rep, const char *subject,
    const char *text, size_t textlen)
{
	size_t i;

	if (!success_text(subject, text, textlen))
		return;
	for (i = 0; i < rep->nrcpts; i++)
		if (rep->rcpts[i].action == NULL) {
			rep->rcpts[i].action = "delivered";
			if (rep->rcpts[i].status == NULL)
				rep->rcpts[i].status = "2.0.0";
		}
}

/*
 * Does the text [s, s + n) list the local part of the address v at the
 * start of a line, alone or before "(" or ":" (GroupWise's "\tvera (user
 * not found)", AOL's screen name alone)? The notice then names the
 * recipient, without its domain. Local parts shorter than 3 never count.
 */
static int
local_listed(const char *s, size_t n, const char *v)
{
	const char *at = strchr(v, '@'), *p, *e = s + n, *le, *q;
	size_t k;

	if (s == NULL || at == NULL || (k = (size_t)(at - v)) < 3)
		return 0;
	for (p = s; p < e; p = le < e ? le + 1 : e) {
		if ((le = memchr(p, '\n', (size_t)(e - p))) == NULL)
			le = e;
		for (q = p; q < le && (is_wsp(*q) || *q == '<'); q++)
			;
		if ((size_t)(le - q) < k || strncasecmp(q, v, k) != 0)
			continue;
		q += k;
		if (q < le && *q == '>')
			q++;
		if (q < le && *q == ' ')
			q++;
		if (q == le || *q == '\r' || *q == '(' || *q == ':')
			return 1;
	}
	return 0;
}

/*
 * Adds the original's recipient v, which the notice does not name with
 * its address: it never suppresses, unless the text lists its local
 * part (local_listed()).
 */
static void
rcpt_unnamed(struct dsn_parser *p, struct dsn_report *rep, const char *v,
    const char *text, size_t textlen)
{
	struct dsn_rcpt *r = rcpt_add(p, rep);

	r->rcpt = v;
	r->unnamed = !local_listed(text, textlen, v);
}

/*
 * The To: of a copy of the original inline in the text (after the cut),
 * lowercased; NULL if none.
 */
static const char *
tail_to(struct dsn_parser *p, struct found *f)
{
	const char *s, *e, *q, *le;
	size_t n, i;

	for (i = 0; i < f->ntext; i++) {
		s = mime_body(p->m, f->text[i], &n);
		e = s + n;
		for (q = cut_of(p, s, e); q < e; q = le < e ? le + 1 : e) {
			le = line_end(q, e);
			if ((size_t)(le - q) > 3 && strncasecmp(q, "To:", 3) == 0)
				return addr_dup(p->a, q + 3, le);
		}
	}
	return NULL;
}

/* Adds the addresses of a header value to the report's senders. */
static void
sender_add(struct dsn_parser *p, struct dsn_report *rep, const char *v)
{
	const char *as, *ae, *e;

	if (v == NULL)
		return;
	e = v + strlen(v);
	while (rep->nsenders < DSN_MAX_SENDERS && addr_next(v, e, &as, &ae)) {
		rep->senders[rep->nsenders++] = lower_dup(p->a, as,
		    (size_t)(ae - as));
		v = ae;
	}
}

/*
 * The addresses of the sending side, from the bounce's headers and the
 * original's (the envelope sender the bounce went to, the author and
 * where replies go). A bounce may name them in its text ("Sorry
 * <sender>.") as if they had failed; they never did.
 */
static void
senders(struct dsn_parser *p, struct dsn_report *rep,
    const struct mime_part *root, const struct mime_part *orig)
{
	static const char *const own[] = { "To", "Return-Path" };
	static const char *const theirs[] = { "From", "Reply-To", "Sender",
	    "Return-Path" };
	size_t i;

	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		sender_add(p, rep, mime_header_value(root, own[i]));
	if (orig == NULL)
		return;
	for (i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++)
		sender_add(p, rep, mime_header_value(orig, theirs[i]));
}

/* Does [s, s + n) show a remote server's reply in a session transcript? */
static int
has_transcript(const char *s, size_t n)
{
	const char *p, *e = s + n, *le;

	for (p = s; p < e; p = le < e ? le + 1 : e) {
		le = line_end(p, e);
		if (le - p >= 7 && strncmp(p, "<<< ", 4) == 0 &&
		    (p[4] == '4' || p[4] == '5') &&
		    isdigit((unsigned char)p[5]) &&
		    isdigit((unsigned char)p[6]))
			return 1;
	}
	return 0;
}

/*
 * A notice that wraps the bounce it was given, attached as the
 * "original" (a gateway's "The following mail could not be delivered",
 * with no reason of its own, and the MTA's bounce with the session
 * transcript behind it): the wrapped bounce's own text joins the
 * report's text, where dsn_classify() looks when a recipient's own
 * words say nothing known. Only a bounce that shows the session
 * ("<<< 550 ...") and names the report's one recipient: an original
 * written by a person is never read, and a transcript about several
 * recipients could speak of another.
 */
static void
wrapped_bounce(struct dsn_parser *p, struct dsn_report *rep,
    const struct found *f)
{
	struct found f2;
	const char *t;
	char *out;
	size_t n, total;

	if (f->orig == NULL || rep->nrcpts != 1 ||
	    rep->contextlen >= MAX_TEXT)
		return;
	memset(&f2, 0, sizeof(f2));
	walk(p, f->orig, &f2);
	t = own_text(p, &f2, &n);
	if (n == 0 || !has_transcript(t, n) ||
	    !has_ci(t, n, rep->rcpts[0].rcpt))
		return;
	total = rep->contextlen + 1 + n;
	if (total > MAX_TEXT)
		total = MAX_TEXT;
	out = arena_alloc(p->a, total + 1);
	if (rep->contextlen > 0)
		memcpy(out, rep->context, rep->contextlen);
	out[rep->contextlen] = '\n';
	memcpy(out + rep->contextlen + 1, t, total - rep->contextlen - 1);
	out[total] = '\0';
	rep->context = out;
	rep->contextlen = total;
}

/*
 * Is the embedded message orig one of a digest's (multipart/digest)?
 * A list's posts: a bounce among them is no report to the reader.
 */
static int
in_digest(const struct mime_part *orig)
{
	const struct mime_part *d = orig->parent ? orig->parent->parent : NULL;

	return d != NULL && strcmp(d->type, "multipart/digest") == 0;
}

/*
 * Does the bounce's own text [s, s + n) name a recipient of its own (an
 * address that starts a line, not the bounce's From or To nor one of
 * the sending side) that the report in its attachment does not name?
 * Then the attachment is the message it could not deliver (a bounce
 * that bounced), and that report is about another delivery.
 */
static int
names_another(struct dsn_parser *p, const struct dsn_report *rep,
    const struct mime_part *root, const char *s, size_t n)
{
	const char *ex[MAX_EXCLUDE], *as, *ae, *e = s + n, *l;
	size_t nex = 0, i, k;

	exclude_add(p->a, ex, &nex, mime_header_value(root, "To"));
	exclude_add(p->a, ex, &nex, mime_header_value(root, "From"));
	for (i = 0; i < rep->nsenders && nex < MAX_EXCLUDE; i++)
		ex[nex++] = rep->senders[i];
	for (; addr_next(s, e, &as, &ae); s = ae) {
		for (l = as; l > s && (is_wsp(l[-1]) || l[-1] == '<' ||
		    l[-1] == '"' || l[-1] == '\''); l--)
			;
		k = (size_t)(ae - as);
		if ((l > s && l[-1] != '\n') || excluded(ex, nex, as, k))
			continue;
		for (i = 0; i < rep->nrcpts; i++)
			if (addr_eq(rep->rcpts[i].rcpt, as, k))
				break;
		if (i == rep->nrcpts)
			return 1;
	}
	return 0;
}

/*
 * A bounce a person forwarded in the text of the part: parsed as a
 * message of its own, from a copy (the parse resets the arena that
 * holds the decoded part). If it says nothing, msg is parsed again
 * with forwards off. Returns 0 if there is no forwarded bounce; else 1,
 * with the number of recipients in *kp: either parse reset the arena,
 * and the caller's view of msg is gone.
 */
static int
forwarded(struct dsn_parser *p, struct mime_part *part, const char *msg,
    size_t len, struct dsn_report *rep, size_t *kp)
{
	const char *v, *g;
	size_t n, gn, k;

	v = mime_body(p->m, part, &n);
	if (n > MAX_TEXT || (g = forwarded_bounce(v, n, &gn)) == NULL)
		return 0;
	p->fwd = xmalloc(gn + 1);
	memcpy(p->fwd, g, gn);
	p->fwd[gn] = '\0';
	p->inner = 1;
	k = dsn_parse(p, p->fwd, gn, rep);
	if (k == 0)
		k = dsn_parse(p, msg, len, rep);
	p->inner = 0;
	*kp = k;
	return 1;
}

size_t
dsn_parse(struct dsn_parser *p, const char *msg, size_t len,
    struct dsn_report *rep)
{
	struct mime_part *root;
	struct found f;
	const char *subject, *from, *text, *ex[MAX_EXCLUDE], *v, *g;
	size_t textlen, nex = 0, i, n, k;
	int adopted = 0;

	memset(rep, 0, sizeof(*rep));
	p->cap = 0;
	if (!p->inner) {
		free(p->fwd);
		p->fwd = NULL;
	}
	root = mime_parse(p->m, msg, len);
	p->ncuts = 0;		/* the bodies cut before are gone */
	rep->nheaders = root->nhdrs;
	/* An SES notification as it came, with no mail around it. */
	if (ses_bare(p, rep, msg, len))
		return rep->nrcpts;
	memset(&f, 0, sizeof(f));
	walk(p, root, &f);
	rep->mimeflags = f.flags;
	rep->message_id = orig_message_id(p, root, &f);
	senders(p, rep, root, f.orig);
	text = own_text(p, &f, &textlen);
	rep->context = text;
	rep->contextlen = textlen;

	if (arf(p, rep, root, &f))
		return rep->nrcpts;
	/* A read receipt: the message was delivered. */
	if (is_mdn(root))
		return 0;

	/* RFC 3464 fields in a part, or in the text. */
	if (f.nds == 0 && f.orig != NULL && !in_digest(f.orig)) {
		/* A forwarded bounce: the report is in the attachment. */
		struct found f2;

		memset(&f2, 0, sizeof(f2));
		walk(p, f.orig, &f2);
		memcpy(f.ds, f2.ds, sizeof(f.ds));
		f.nds = f2.nds;
		adopted = f.nds > 0;
	}
	for (i = 0; i < f.nds; i++)
		ds_part(p, rep, f.ds[i]);
	if (adopted && rep->nrcpts > 0 && names_another(p, rep, root, text,
	    textlen)) {
		rep->nrcpts = 0;
		rep->reporting_mta = rep->queue_id = rep->arrival_date = NULL;
		f.nds = 0;
	}
	if (rep->nrcpts == 0 && (g = ds_in_text(text, textlen)) != NULL)
		ds_fields(p, rep, g, textlen - (size_t)(g - text));
	if (rep->nrcpts == 0 && f.ntext > 0) {
		/* A bounce forwarded with "> " quoting ("Begin forwarded message:") */
		const char *dq;
		size_t dqn;

		v = mime_body(p->m, f.text[0], &n);
		if ((dq = dequote(p->a, v, n > MAX_TEXT ? MAX_TEXT : n,
		    &dqn)) != NULL && (g = ds_in_text(dq, dqn)) != NULL)
			ds_fields(p, rep, g, dqn - (size_t)(g - dq));
	}
	subject = mime_header_text(p->m, root, "Subject");
	from = mime_header_value(root, "From");
	if (rep->nrcpts > 0) {
		rep->kind = DSN_RFC3464;
		/*
		 * What the text says about each recipient: the failure
		 * text when there is no Diagnostic-Code, and the command
		 * that failed ("in reply to end of DATA command").
		 */
		if (textlen < MAX_TEXT) {
			exclude_add(p->a, ex, &nex, mime_header_value(root,
			    "To"));
			text_rcpts(p, rep, text, textlen, ex, nex, 1);
		}
		mark_delayed(rep, subject, text, textlen);
		return rep->nrcpts;
	}
	if (!p->inner && (v = inlined_report(root, &n)) != NULL) {
		/* Parse the pasted report instead; if it says nothing, parse
		 * this message again, as text. */
		p->inner = 1;
		k = dsn_parse(p, v, n, rep);
		if (k == 0)
			k = dsn_parse(p, msg, len, rep);
		p->inner = 0;
		return k;
	}
	if (ses_json(p, rep, text, textlen))
		return rep->nrcpts;
	/*
	 * A transcript for the postmaster, a frozen message, a post held
	 * for a list's moderator, a lure: nothing.
	 */
	v = NULL;
	n = 0;
	if (f.html != NULL)
		v = mime_body(p->m, f.html, &n);
	if (f.orig == NULL && not_a_report(subject, text, textlen, v, n))
		return 0;
	if (!p->inner && f.ntext > 0 && from_person(subject, from,
	    mime_header_value(root, "Return-Path")) &&
	    forwarded(p, f.text[0], msg, len, rep, &k))
		return k;

	if (is_autoreply(root, subject, from)) {
		if (from != NULL && (v = addr_dup(p->a, from,
		    from + strlen(from))) != NULL) {
			rep->kind = DSN_AUTOREPLY;
			rcpt_add(p, rep)->rcpt = v;
		}
		return rep->nrcpts;
	}
	if (challenge_request(subject, from, text, textlen))
		return 0;
	/*
	 * An fml notice names the list in its own way, whether or not it
	 * comes with a null Return-Path: the other addresses in its text
	 * are the list's command address and the like.
	 */
	if (fml_notice(root, from)) {
		rep->kind = DSN_TEXT;
		fml_rcpts(p, rep, subject, text, textlen);
		return rep->nrcpts;
	}
	if (!is_bounce(root, subject, from) &&
	    !filter_notice(subject, text, textlen,
	    mime_header(root, "Auto-Submitted") != NULL))
		return 0;

	/* A bounce in words: find the addresses and what follows them. */
	rep->kind = DSN_TEXT;
	exclude_add(p->a, ex, &nex, mime_header_value(root, "To"));
	exclude_add(p->a, ex, &nex, from);
	exclude_add(p->a, ex, &nex, mime_header_value(root, "Reply-To"));
	if (f.orig != NULL) {
		exclude_add(p->a, ex, &nex, mime_header_value(f.orig, "From"));
		exclude_add(p->a, ex, &nex, mime_header_value(f.orig,
		    "Reply-To"));
		exclude_add(p->a, ex, &nex, mime_header_value(f.orig,
		    "Return-Path"));
	}
	if ((v = mime_header_value(root, "X-Failed-Recipients")) != NULL) {
		const char *as, *ae, *e = v + strlen(v);

		while (addr_next(v, e, &as, &ae)) {
			if (!rcpt_known(rep, as, (size_t)(ae - as)))
				rcpt_add(p, rep)->rcpt = lower_dup(p->a, as,
				    (size_t)(ae - as));
			v = ae;
		}
		text_rcpts(p, rep, text, textlen, ex, nex, 1);
	} else {
		text_rcpts(p, rep, text, textlen, ex, nex, 0);
		/*
		 * The text names only the sender ("Sorry <sender>."): the
		 * original's recipient, when it is someone else, is the
		 * one that failed.
		 */
		if (rep->nrcpts == 0 && f.orig != NULL &&
		    (v = mime_header_value(f.orig, "To")) != NULL &&
		    (v = addr_dup(p->a, v, v + strlen(v))) != NULL &&
		    !excluded(ex, nex, v, strlen(v)))
			rcpt_unnamed(p, rep, v, text, textlen);
		/*
		 * The sender may be the recipient (a redacted bounce); not
		 * in a message a person wrote to its reader ("Dear <To>,
		 * delivery failed ...": a lure, never a mailer's report).
		 */
		if (rep->nrcpts == 0 && (f.orig != NULL || f.nds > 0 ||
		    !from_person(NULL, from,
		    mime_header_value(root, "Return-Path"))))
			text_rcpts(p, rep, text, textlen, ex, 0, 0);
	}
	if (rep->nrcpts == 0 && (v = tail_to(p, &f)) != NULL)
		rcpt_unnamed(p, rep, v, text, textlen);
	if (rep->nrcpts == 0 && f.orig != NULL &&
	    (v = mime_header_value(f.orig, "To")) != NULL &&
	    (v = addr_dup(p->a, v, v + strlen(v))) != NULL) {
		/* No address in the text: the original's recipient. */
		rcpt_unnamed(p, rep, v, text, textlen);
	}
	mark_delivered(rep, subject, text, textlen);
	mark_delayed(rep, subject, text, textlen);
	for (i = 0; i < rep->nrcpts; i++)
		if (rep->rcpts[i].diaglen == 0) {
			rep->rcpts[i].diag = text;
			rep->rcpts[i].diaglen = textlen > MAX_DIAG ? MAX_DIAG :
			    textlen;
			rep->rcpts[i].diag_in_text = 1;
			rep->rcpts[i].diag_general = 1;
		}
	if (rep->nrcpts > 0)
		wrapped_bounce(p, rep, &f);
	return rep->nrcpts;
}
