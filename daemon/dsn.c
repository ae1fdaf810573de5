/*
 * dsn.c -- one bounce e-mail to per-recipient results
 *
 * The order of the questions asked of a message:
 *
 *   1. Is it a feedback report? A message/feedback-report part, a
 *      report-type of feedback-report, or an attached original that
 *      carries Hotmail's X-HmXmrOriginalRecipient.
 *   2. Does it carry RFC 3464 fields? A message/delivery-status part
 *      (base64 or not), or "Final-Recipient:" lines in its text.
 *   3. Is it an Amazon SES JSON notification?
 *   4. Is it an auto-reply (RFC 3834 Auto-Submitted, X-Autoreply,
 *      Precedence: auto_reply, or an out-of-office subject) from a
 *      person rather than a mailer daemon?
 *   5. Does it look like a bounce at all (a mailer-daemon sender, a
 *      bounce subject, X-Failed-Recipients, a null Return-Path)? If
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
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "dsn.h"
#include "mime.h"
#include "xalloc.h"

#define MAX_TEXT	(64 * 1024)	/* of the bounce's own text */
#define MAX_DIAG	(4 * 1024)	/* of one recipient's failure text */
#define MAX_TEXTPARTS	8
#define MAX_DSPARTS	8
#define MAX_EXCLUDE	16

struct dsn_parser {
	struct mime		*m;
	struct arena		*a;
	size_t			 cap;		/* of the report's rcpts */
	int			 inner;		/* parsing an inlined report */
};

/* What a walk over the tree found. */
struct found {
	struct mime_part	*ds[MAX_DSPARTS];
	size_t			 nds;
	struct mime_part	*fb;		/* message/feedback-report */
	struct mime_part	*text[MAX_TEXTPARTS];
	size_t			 ntext;
	struct mime_part	*html;
	struct mime_part	*orig;		/* headers of the original */
	unsigned		 flags;
};

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
	free(p);
}

/* --- small helpers --------------------------------------------------- */

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static const char *
line_end(const char *p, const char *e)
{
	const char *nl = memchr(p, '\n', (size_t)(e - p));

	return nl ? nl : e;
}

/* Is lit (lowercase) in s, ignoring case? */
static int
has_ci(const char *s, size_t n, const char *lit)
{
	size_t k = strlen(lit);
	const char *p = s, *e, *q, *r;
	unsigned char lo = (unsigned char)lit[0],
	    up = (unsigned char)toupper(lo);

	if (s == NULL || n < k)
		return 0;
	e = s + n - (k - 1);
	while (p < e) {
		q = memchr(p, lo, (size_t)(e - p));
		if (lo != up && (r = memchr(p, up, (size_t)((q ? q : e) -
		    p))) != NULL)
			q = r;
		if (q == NULL)
			return 0;
		if (strncasecmp(q + 1, lit + 1, k - 1) == 0)
			return 1;
		p = q + 1;
	}
	return 0;
}

/* Is the case-sensitive literal lit in [s, s + n)? */
static int
has_cs(const char *s, size_t n, const char *lit)
{
	return s != NULL && memmem(s, n, lit, strlen(lit)) != NULL;
}

/*
 * Where lit starts in [s, s + n), case-insensitive, each space of lit
 * matching any run of white space, newlines included (a folded line);
 * *endp is set past the match. NULL when it is not there.
 */
static const char *
find_ws_ci(const char *s, size_t n, const char *lit, const char **endp)
{
	const char *p, *q, *e = s + n, *l;

	if (s == NULL)
		return NULL;
	for (p = s; p < e; p++) {
		for (q = p, l = lit; *l != '\0' && q < e; l++) {
			if (*l == ' ') {
				if (!isspace((unsigned char)*q))
					break;
				while (q < e && isspace((unsigned char)*q))
					q++;
			} else if (tolower((unsigned char)*q) ==
			    tolower((unsigned char)*l))
				q++;
			else
				break;
		}
		if (*l == '\0') {
			if (endp != NULL)
				*endp = q;
			return p;
		}
	}
	return NULL;
}

static int
local_char(int c)
{
	return isalnum(c) || (c != 0 && strchr(".!#$%&'*+/=?^_`{|}~-", c)) ||
	    c >= 0x80;
}

static int
domain_char(int c)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_' || c >= 0x80;
}

/*
 * Finds the next address at or after p: local@domain, the domain with a
 * dot or a [literal]. Sets [*as, *ae); returns 1, or 0 when none.
 */
static int
addr_next(const char *p, const char *e, const char **as, const char **ae)
{
	const char *at, *l, *r;
	int dot;

	while (p < e && (at = memchr(p, '@', (size_t)(e - p))) != NULL) {
		for (l = at; l > p && local_char((unsigned char)l[-1]); l--)
			;
		/* A quoted local part: "john doe"@example.com */
		if (l == at && at > p && at[-1] == '"') {
			const char *q = at - 1;

			while (q > p && q[-1] != '"' && q[-1] != '\n')
				q--;
			if (q > p && q[-1] == '"')
				l = q - 1;
		}
		while (l < at && *l == '.')
			l++;
		r = at + 1;
		dot = 0;
		if (r < e && *r == '[') {
			while (r < e && *r != ']' && r - at < 64)
				r++;
			if (r < e && *r == ']')
				r++, dot = 1;
		} else {
			for (; r < e && domain_char((unsigned char)*r); r++)
				if (*r == '.')
					dot = 1;
			while (r > at + 1 && (r[-1] == '.' || r[-1] == '-'))
				r--;
		}
		if (l < at && r > at + 1 && dot && r - l < 256) {
			*as = l;
			*ae = r;
			return 1;
		}
		p = at + 1;
	}
	return 0;
}

/* A lowercase copy of the address in [s, e) (first one found). */
static const char *
addr_dup(struct arena *a, const char *s, const char *e)
{
	const char *as, *ae;
	char *d;
	size_t i, n;

	if (!addr_next(s, e, &as, &ae))
		return NULL;
	n = (size_t)(ae - as);
	d = arena_strndup(a, as, n);
	for (i = 0; i < n; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	return d;
}

static int
addr_eq(const char *a, const char *s, size_t n)
{
	return strlen(a) == n && strncasecmp(a, s, n) == 0;
}

/* Strips a DSN type prefix ("rfc822;", "dns;", "smtp;"). */
static const char *
after_type(const char *v)
{
	const char *p = v;

	while (isalnum((unsigned char)*p) || *p == '-' || *p == '_')
		p++;
	if (*p == ';' && p > v) {
		p++;
		while (is_wsp(*p))
			p++;
		return p;
	}
	return v;
}

static struct dsn_rcpt *
rcpt_add(struct dsn_parser *p, struct dsn_report *rep)
{
	struct dsn_rcpt *r;

	if (rep->nrcpts == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 8;

		r = arena_alloc(p->a, ncap * sizeof(*r));
		if (rep->nrcpts)
			memcpy(r, rep->rcpts, rep->nrcpts * sizeof(*r));
		rep->rcpts = r;
		p->cap = ncap;
	}
	r = &rep->rcpts[rep->nrcpts++];
	memset(r, 0, sizeof(*r));
	r->diag = "";
	return r;
}

/* FNV-1a of an address, case-folded. */
static unsigned long
addr_hash(const char *s, size_t n)
{
	unsigned long h = 2166136261UL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)tolower((unsigned char)s[i])) *
		    16777619UL;
	return h;
}

/*
 * A set of addresses in the arena, for finding repeats in O(1): open
 * addressing over indices into rep->rcpts (0 is empty, i + 1 is i).
 */
struct addrset {
	size_t	*slot;
	size_t	 mask;
};

static void
addrset_init(struct arena *a, struct addrset *set, size_t n)
{
	size_t sz = 16;

	while (sz < n * 2)
		sz <<= 1;
	set->slot = arena_alloc(a, sz * sizeof(*set->slot));
	memset(set->slot, 0, sz * sizeof(*set->slot));
	set->mask = sz - 1;
}

/* The index of the recipient with address s, or -1 (and its slot). */
static long
addrset_find(const struct addrset *set, const struct dsn_report *rep,
    const char *s, size_t n, size_t **slotp)
{
	size_t h = addr_hash(s, n) & set->mask;

	for (;; h = (h + 1) & set->mask) {
		size_t v = set->slot[h];

		if (v == 0) {
			*slotp = &set->slot[h];
			return -1;
		}
		if (addr_eq(rep->rcpts[v - 1].rcpt, s, n))
			return (long)(v - 1);
	}
}

static int
rcpt_known(const struct dsn_report *rep, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < rep->nrcpts; i++)
		if (addr_eq(rep->rcpts[i].rcpt, s, n))
			return 1;
	return 0;
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

/* --- the bounce's own text ------------------------------------------- */

/* Is the line a header field ("Name: value")? */
static int
header_line(const char *s, const char *le)
{
	const char *p;

	for (p = s; p < le && p - s < 40; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == ':')
			return p > s && p + 1 <= le;
		if (!(isalnum(c) || c == '-'))
			return 0;
	}
	return 0;
}

static const char *const orig_headers[] = {
	"return-path:", "received:", "message-id:", "from:", "to:",
	"subject:", "date:", "mime-version:", "dkim-signature:",
	"content-type:", "x-", "reply-to:", "delivered-to:", NULL
};

static int
orig_header_line(const char *s, const char *le)
{
	size_t i, n;

	if (!header_line(s, le))
		return 0;
	for (i = 0; orig_headers[i] != NULL; i++) {
		n = strlen(orig_headers[i]);
		if ((size_t)(le - s) >= n && strncasecmp(s, orig_headers[i],
		    n) == 0)
			return 1;
	}
	return 0;
}

/* Is the line a field of a delivery-status report? */
static int
ds_field_line(const char *s, const char *le)
{
	static const char *const names[] = {
		"action:", "status:", "final-recipient:",
		"original-recipient:", "x-actual-recipient:",
		"diagnostic-code:", "remote-mta:", "reporting-mta:",
		"last-attempt-date:", "will-retry-until:", NULL
	};
	size_t i, n;

	for (i = 0; names[i] != NULL; i++) {
		n = strlen(names[i]);
		if ((size_t)(le - s) >= n && strncasecmp(s, names[i], n) == 0)
			return 1;
	}
	return 0;
}

static const char *const separators[] = {
	"copy of the message", "copy of your message",
	"original message follows", "original message below",
	"original message:", "original message --", "original message ==",
	"returned message", "unsent message", "message follows",
	"original mail", "headers of the original", "header of the original",
	"undelivered message", "message header follows", "attached message",
	"included message", "original message is attached",
	"original message headers", NULL
};

/*
 * Where the copy of the original begins in a single-part bounce: a
 * separator line (a line of mostly dashes with words such as "copy of
 * the message"), or the first run of three header lines that starts
 * with a header a message has.
 */
static const char *
text_cut(const char *s, const char *e)
{
	const char *p, *le, *l2, *l3;
	size_t i, n;
	int dashes, text = 0;	/* a line of the bounce's own seen */

	for (p = s; p < e; p = le < e ? le + 1 : e, text |= n > 1) {
		le = line_end(p, e);
		n = (size_t)(le - p);
		for (i = 0, dashes = 0; i < n && i < 8; i++)
			if (p[i] == '-' || p[i] == '=' || p[i] == '*' ||
			    p[i] == '_')
				dashes++;
		if ((dashes >= 3 || n < 64) && n >= 6) {
			char low[128];
			size_t m = n < sizeof(low) - 1 ? n : sizeof(low) - 1;

			for (i = 0; i < m; i++)
				low[i] = (char)tolower((unsigned char)p[i]);
			low[m] = '\0';
			/* Every separator holds one of these words. */
			if (strstr(low, "messag") != NULL ||
			    strstr(low, "mail") != NULL ||
			    strstr(low, "rfc822") != NULL ||
			    strstr(low, "header") != NULL)
				for (i = 0; separators[i] != NULL; i++)
					/*
					 * Without dashes, only after some text:
					 * "The attached message had PERMANENT
					 * fatal delivery errors!" opens
					 * MDaemon's bounce.
					 */
					if (strstr(low, separators[i]) != NULL &&
					    (dashes >= 3 || (text && strstr(low,
					    "your own text") == NULL &&
					    strstr(low, "transcript") == NULL)))
						return p;
		}
		if (orig_header_line(p, le) && !ds_field_line(p, le) &&
		    le < e) {
			l2 = line_end(le + 1, e);
			if (!header_line(le + 1, l2) && !is_wsp(le[1]))
				continue;
			if (l2 >= e || ds_field_line(le + 1, l2))
				continue;
			l3 = line_end(l2 + 1, e);
			if ((header_line(l2 + 1, l3) &&
			    !ds_field_line(l2 + 1, l3)) || is_wsp(l2[1]))
				return p;
		}
	}
	return e;
}

/* Strips tags and a few entities from HTML; crude, but bounded. */
static const char *
html_text(struct arena *a, const char *s, size_t n, size_t *lenp)
{
	char *out = arena_alloc(a, n + 1), *d = out;
	const char *p = s, *e = s + n;

	while (p < e) {
		if (*p == '<') {
			int br = e - p > 3 && (strncasecmp(p, "<br", 3) == 0 ||
			    strncasecmp(p, "<p", 2) == 0 ||
			    strncasecmp(p, "<div", 4) == 0 ||
			    strncasecmp(p, "<tr", 3) == 0);
			const char *q = memchr(p, '>', (size_t)(e - p));

			/* An address in angle brackets is text. */
			if (q != NULL && memchr(p, '@', (size_t)(q - p)) &&
			    !memchr(p, ' ', (size_t)(q - p))) {
				memcpy(d, p, (size_t)(q + 1 - p));
				d += q + 1 - p;
				p = q + 1;
				continue;
			}
			p = q ? q + 1 : e;
			if (br)
				*d++ = '\n';
			continue;
		}
		if (*p == '&') {
			static const struct { const char *ent; char c; } ents[] = {
				{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
				{ "&nbsp;", ' ' }, { "&quot;", '"' }, { "&#39;", '\'' },
			};
			size_t i, k;

			for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
				k = strlen(ents[i].ent);
				if ((size_t)(e - p) >= k &&
				    strncasecmp(p, ents[i].ent, k) == 0)
					break;
			}
			if (i < sizeof(ents) / sizeof(ents[0])) {
				*d++ = ents[i].c;
				p += k;
				continue;
			}
		}
		*d++ = *p++;
	}
	*d = '\0';
	*lenp = (size_t)(d - out);
	return out;
}

/*
 * The bounce's own text: its text parts up to the original (each cut
 * at a copy of the original), joined, bounded by MAX_TEXT.
 */
static const char *
own_text(struct dsn_parser *p, struct found *f, size_t *lenp)
{
	const char *parts[MAX_TEXTPARTS], *s;
	size_t lens[MAX_TEXTPARTS], i, n, total = 0, np = 0;
	char *out, *d;

	for (i = 0; i < f->ntext; i++) {
		s = mime_body(p->m, f->text[i], &n);
		n = (size_t)(text_cut(s, s + n) - s);
		parts[np] = s;
		lens[np++] = n;
		total += n + 1;
	}
	if (np == 0 && f->html != NULL) {
		s = mime_body(p->m, f->html, &n);
		s = html_text(p->a, s, n, &n);
		n = (size_t)(text_cut(s, s + n) - s);
		parts[np] = s;
		lens[np++] = n;
		total += n + 1;
	}
	if (np == 1 && lens[0] <= MAX_TEXT) {
		*lenp = lens[0];
		return parts[0];
	}
	if (total > MAX_TEXT)
		total = MAX_TEXT;
	out = d = arena_alloc(p->a, total + 1);
	for (i = 0; i < np; i++) {
		n = lens[i];
		if ((size_t)(d - out) + n + 1 > total)
			n = total - (size_t)(d - out) - (total > 0 ? 1 : 0);
		memcpy(d, parts[i], n);
		d += n;
		if ((size_t)(d - out) < total)
			*d++ = '\n';
		if ((size_t)(d - out) >= total)
			break;
	}
	*d = '\0';
	*lenp = (size_t)(d - out);
	return out;
}

/* --- RFC 3464 fields ------------------------------------------------- */

static const char *
field_dup(struct arena *a, const struct mime_header *h)
{
	const char *v = after_type(h->value);

	return arena_strndup(a, v, strlen(v));
}

static const char *
status_dup(struct arena *a, const char *v)
{
	size_t n;

	while (is_wsp(*v))
		v++;
	if ((n = status_at(v, v + strlen(v))) == 0)
		return NULL;
	return arena_strndup(a, v, n);
}

/* Host of "dns; mx.example.net" (up to a blank or bracket). */
static const char *
host_dup(struct arena *a, const char *v)
{
	const char *e;

	v = after_type(v);
	for (e = v; *e != '\0' && !is_wsp(*e) && *e != '[' && *e != '('; e++)
		;
	return e > v ? arena_strndup(a, v, (size_t)(e - v)) : NULL;
}

/* Sets one per-recipient field of r from h. */
static void
ds_rcpt_field(struct dsn_parser *p, struct dsn_rcpt *r,
    const struct mime_header *h)
{
	const char *name = h->name, *v = h->value, *a;

	if (strcasecmp(name, "Final-Recipient") == 0 ||
	    strcasecmp(name, "Original-Recipient") == 0) {
		if ((a = addr_dup(p->a, v, v + h->len)) == NULL) {
			v = after_type(v);
			if (*v == '\0' || strchr(v, '@') == v)
				return;		/* "@host": no address */
			a = arena_strndup(p->a, v, strlen(v));
		}
		if (tolower((unsigned char)*name) == 'f')
			r->rcpt = a;
		else {
			r->orig_rcpt = a;
			if (r->rcpt == NULL)
				r->rcpt = a;
		}
	} else if (strcasecmp(name, "Action") == 0) {
		char *d = (char *)field_dup(p->a, h);
		size_t k;

		for (k = 0; d[k]; k++)
			d[k] = (char)tolower((unsigned char)d[k]);
		r->action = d;
	} else if (strcasecmp(name, "Status") == 0) {
		r->status = status_dup(p->a, v);
	} else if (strcasecmp(name, "Remote-MTA") == 0) {
		r->remote_mta = host_dup(p->a, v);
	} else if (strcasecmp(name, "Diagnostic-Code") == 0) {
		a = after_type(v);
		if (a != v) {
			char *d = arena_strndup(p->a, v, strcspn(v, "; \t"));
			size_t k;

			for (k = 0; d[k]; k++)
				d[k] = (char)tolower((unsigned char)d[k]);
			r->diagtype = d;
		}
		v = a;
		r->diag = v;
		r->diaglen = strlen(v);
	} else if (strcasecmp(name, "Last-Attempt-Date") == 0) {
		r->last_attempt = field_dup(p->a, h);
	} else if (strcasecmp(name, "X-Actual-Recipient") == 0) {
		/* Sendmail: an alias that pipes to a program, "|prog ..." */
		a = after_type(v);
		r->to_program = *a == '|' || (*a == '"' && a[1] == '|');
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
		if (strcasecmp(r->rcpt, t->rcpt) != 0)
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
		r->to_program |= t->to_program;
		return r;
	}
	r = rcpt_add(p, rep);
	*r = *t;
	return r;
}

/*
 * Reads the fields of a delivery-status body (or of text that holds
 * them). Each group of fields (separated by an empty line) that names
 * a recipient is one recipient; a group that names several (no empty
 * lines between them) is split at each Final-Recipient. Per-message
 * fields count wherever they are. A recipient reported twice is merged.
 */
static void
ds_fields(struct dsn_parser *p, struct dsn_report *rep, const char *s,
    size_t n)
{
	struct mime_header *h;
	struct dsn_rcpt t;
	const char *e = s + n, *le, *v;
	size_t nh, i, used, nfinal;
	int have;

	while (s < e) {
		used = mime_fields(p->m, s, (size_t)(e - s), &h, &nh);
		if (used == 0) {
			le = line_end(s, e);
			s = le < e ? le + 1 : e;
			continue;
		}
		s += used;
		for (i = 0, nfinal = 0; i < nh; i++)
			if (strcasecmp(h[i].name, "Final-Recipient") == 0)
				nfinal++;
		memset(&t, 0, sizeof(t));
		t.diag = "";
		have = 0;
		for (i = 0; i < nh; i++) {
			const char *name = h[i].name;

			v = h[i].value;
			if (strcasecmp(name, "Reporting-MTA") == 0) {
				if (rep->reporting_mta == NULL)
					rep->reporting_mta = host_dup(p->a, v);
				continue;
			}
			if (strcasecmp(name, "X-Postfix-Queue-ID") == 0) {
				if (rep->queue_id == NULL)
					rep->queue_id = field_dup(p->a, &h[i]);
				continue;
			}
			if (strcasecmp(name, "Arrival-Date") == 0) {
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
			    (strcasecmp(name, "Final-Recipient") == 0 ||
			    (t.orig_rcpt != NULL && strcasecmp(name,
			    "Original-Recipient") == 0))) {
				rcpt_merge(p, rep, &t);
				memset(&t, 0, sizeof(t));
				t.diag = "";
				have = 0;
			}
			ds_rcpt_field(p, &t, &h[i]);
			if (strcasecmp(name, "Final-Recipient") == 0)
				have = 1;
		}
		if (t.rcpt != NULL)
			rcpt_merge(p, rep, &t);
	}
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

/* --- failure text from the bounce's own text ------------------------- */

struct cand {
	const char	*as, *ae;	/* the address */
	const char	*after;		/* the start of its line */
	int		 lead;		/* it starts its line */
};

#define MAX_CANDS	100000

/* Does the address at as start its line (after blanks, <, ", ')? */
static int
addr_leads(const char *line, const char *as)
{
	const char *p = line;

	while (p < as && (is_wsp(*p) || *p == '<' || *p == '"' ||
	    *p == '\'' || *p == '(' || *p == '*' || *p == '-' || *p == '>'))
		p++;
	if (p == as)
		return 1;
	/* "RCPT TO:<x>", "To: x", "Recipient: x", "Failed to deliver to x" */
	return 0;
}

/*
 * Is the address at as named as a sender on its line ("From: x",
 * "MAIL FROM:<x>", "Sender: x", "Reply-To: x")? Then it is no
 * recipient.
 */
static int
after_from(const char *line, const char *as)
{
	static const char *const marks[] = {
		"from:", "sender:", "reply-to:", "return-path:"
	};
	const char *p = line;
	size_t i, k;

	while (p < as && is_wsp(*p))
		p++;
	if (p < as && *p == '>')
		return 0;		/* a quoted line: ">>> MAIL From:" */
	if (as - p >= 10 && strncasecmp(p, "MAIL FROM:", 10) == 0)
		p += 5;
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		k = strlen(marks[i]);
		if ((size_t)(as - p) >= k && strncasecmp(p, marks[i], k) == 0) {
			for (p += k; p < as && (is_wsp(*p) || *p == '<' ||
			    *p == '"'); p++)
				;
			/* "From: Name <x>" too */
			return p == as || memchr(p, '\n', (size_t)(as - p)) ==
			    NULL;
		}
	}
	return 0;
}

static int
excluded(const char *const *ex, size_t nex, const char *as, size_t n)
{
	size_t i;

	if (n > 14 && strncasecmp(as, "mailer-daemon@", 14) == 0)
		return 1;
	for (i = 0; i < nex; i++)
		if (ex[i] != NULL && addr_eq(ex[i], as, n))
			return 1;
	return 0;
}

/* Adds the addresses of a header value to the exclusion list. */
static void
exclude_add(struct arena *a, const char **ex, size_t *nex, const char *v)
{
	const char *as, *ae, *e;

	if (v == NULL)
		return;
	e = v + strlen(v);
	while (*nex < MAX_EXCLUDE && addr_next(v, e, &as, &ae)) {
		ex[(*nex)++] = arena_strndup(a, as, (size_t)(ae - as));
		v = ae;
	}
}

/* Trims [*s, *e) of blanks, newlines and leading punctuation. */
static void
trim_span(const char **s, const char **e)
{
	while (*s < *e && (isspace((unsigned char)**s) || **s == '>' ||
	    **s == ':' || **s == ',' || **s == ';' || **s == '.'))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

static int
has_alnum(const char *s, const char *e)
{
	for (; s < e; s++)
		if (isalnum((unsigned char)*s) || (unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/*
 * Is the line at ls Sendmail's verdict on the recipient at [as, ae):
 * "554 <rcpt>... Remote protocol error"?
 */
static int
sendmail_rcpt_line(const char *ls, const char *as, const char *ae,
    const char *e)
{
	return as - ls == 5 && isdigit((unsigned char)ls[0]) &&
	    isdigit((unsigned char)ls[1]) && isdigit((unsigned char)ls[2]) &&
	    ls[3] == ' ' && ls[4] == '<' && e - ae >= 4 &&
	    memcmp(ae, ">...", 4) == 0;
}

/*
 * Sendmail's verdict line is the recipient's text by itself (the next
 * line is about another host or recipient), and when the transcript
 * shows the exchange it came from ("While talking to x:", ">>> MAIL
 * From:<s>", "<<< 501 ... open relay"), the remote reply above it is
 * the reason: Sendmail v5 says only "Remote protocol error".
 */
static void
sendmail_reply(const char *s, const char **ts, const char **te,
    const char *e)
{
	const char *b = *ts, *q, *pe;
	int replies = 0;

	*te = line_end(*ts, e);
	while (b > s) {
		pe = b - 1;
		for (q = pe; q > s && q[-1] != '\n'; q--)
			;
		if (pe - q >= 4 && strncmp(q, "<<< ", 4) == 0)
			replies++;
		else if (!(pe - q >= 4 && strncmp(q, ">>> ", 4) == 0 &&
		    replies > 0))
			break;
		b = q;
	}
	if (replies > 0)
		*ts = b;
}

/*
 * Is the line at lj a continuation of the paragraph whose first line is
 * at li: indented deeper, with no blank line between them? Postfix folds
 * a long reply under its recipient's line that way, and a folded line
 * may begin with another address ("550 Unknown user\n    aaa@x (in
 * reply to end of DATA command)"): that is still the same recipient's
 * text, not the next recipient's.
 */
static int
continues(const char *li, const char *lj, const char *e)
{
	const char *q, *le;
	size_t ii = 0, ij = 0;

	while (li + ii < e && is_wsp(li[ii]))
		ii++;
	while (lj + ij < e && is_wsp(lj[ij]))
		ij++;
	if (ij <= ii)
		return 0;
	for (q = li; q < lj; q = le + 1) {
		le = line_end(q, e);
		if (!has_alnum(q, le) && le < lj)
			return 0;
	}
	return 1;
}

/*
 * Finds the recipients in a bounce's text and the failure text of each:
 * the line of its address (the reason often precedes the address on
 * it) and the lines after it, up to the next recipient's line. When
 * some addresses start their lines, only those are recipients (the
 * others are mentioned in passing). With only_known, text is attached
 * to the recipients already known instead.
 */
static void
text_rcpts(struct dsn_parser *p, struct dsn_report *rep, const char *s,
    size_t n, const char **ex, size_t nex, int only_known)
{
	const char *e = s + n, *ls, *le, *as, *ae, *q;
	struct cand *c = NULL;
	struct addrset set;
	size_t nc = 0, cap = 0, i, j, k, nlead = 0;
	int general;

	for (ls = s; ls < e; ls = le < e ? le + 1 : e) {
		le = line_end(ls, e);
		for (q = ls; q < le && addr_next(q, le, &as, &ae); q = ae) {
			if (excluded(ex, nex, as, (size_t)(ae - as)) ||
			    after_from(ls, as) || ds_field_line(ls, le))
				continue;
			if (nc == cap) {
				struct cand *nc2;

				if (cap >= MAX_CANDS)
					break;
				cap = cap ? cap * 2 : 16;
				nc2 = arena_alloc(p->a, cap * sizeof(*nc2));
				if (nc)
					memcpy(nc2, c, nc * sizeof(*c));
				c = nc2;
			}
			c[nc].as = as;
			c[nc].ae = ae;
			c[nc].after = ls;	/* its line */
			c[nc].lead = addr_leads(ls, as);
			nlead += c[nc].lead;
			nc++;
		}
	}
	addrset_init(p->a, &set, rep->nrcpts + nc);
	for (k = 0; k < rep->nrcpts; k++) {
		size_t *slot;

		if (addrset_find(&set, rep, rep->rcpts[k].rcpt,
		    strlen(rep->rcpts[k].rcpt), &slot) < 0)
			*slot = k + 1;
	}
	for (i = 0; i < nc; i++) {
		const char *ts, *te;
		struct dsn_rcpt *r;
		size_t an = (size_t)(c[i].ae - c[i].as), *slot;
		long found;

		if (nlead > 0 && !c[i].lead)
			continue;
		found = addrset_find(&set, rep, c[i].as, an, &slot);
		if (only_known) {
			if (found < 0 || rep->rcpts[found].ctx != NULL)
				continue;
			r = &rep->rcpts[found];
		} else {
			if (found >= 0)
				continue;
			r = NULL;
		}
		/* The text runs to the next recipient's line. */
		te = e;
		for (j = i + 1; j < nc; j++) {
			if (nlead > 0 && !c[j].lead)
				continue;
			if (c[j].after == c[i].after)
				continue;	/* the same line */
			if (continues(c[i].after, c[j].after, e))
				continue;	/* its folded text */
			if (c[j].ae - c[j].as == c[i].ae - c[i].as &&
			    strncasecmp(c[j].as, c[i].as, an) == 0)
				continue;	/* the same recipient again */
			te = c[j].after;
			break;
		}
		ts = c[i].after;
		/*
		 * Sendmail lists the addresses first, then a transcript
		 * with a verdict line for each ("550 <x@y>... User
		 * unknown"): that line, wherever it is, is the text.
		 */
		for (j = 0; !only_known && j < nc; j++)
			if (c[j].ae - c[j].as == c[i].ae - c[i].as &&
			    strncasecmp(c[j].as, c[i].as, an) == 0 &&
			    sendmail_rcpt_line(c[j].after, c[j].as, c[j].ae,
			    e)) {
				ts = c[j].after;
				sendmail_reply(s, &ts, &te, e);
				break;
			}
		if ((size_t)(te - ts) > MAX_DIAG)
			te = ts + MAX_DIAG;
		trim_span(&ts, &te);
		general = 0;
		if (!has_alnum(ts, c[i].as) && !has_alnum(c[i].ae, te)) {
			/* Nothing but the address: the text before says why. */
			const char *ps, *pe;

			general = 1;
			ts = s;
			te = c[i].as;
			if ((size_t)(te - ts) > MAX_DIAG)
				ts = te - MAX_DIAG;
			trim_span(&ts, &te);
			/*
			 * A line of words right above the address, not a
			 * heading ("...failed:", "to the following
			 * address") nor a separator, is the
			 * reason given for it (Lotus Notes: "------- Failure
			 * Reasons --------", then each reason above its
			 * address).
			 */
			if (c[i].after > s && (pe = c[i].after - 1) > s) {
				for (ps = pe; ps > s && ps[-1] != '\n'; ps--)
					;
				while (pe > ps && isspace((unsigned char)pe[-1]))
					pe--;
				while (ps < pe && is_wsp(*ps))
					ps++;
				if (pe > ps && has_alnum(ps, pe) &&
				    pe[-1] != ':' && *ps != '-' && *ps != '=' &&
				    *ps != '*' && *ps != '_' &&
				    !has_ci(ps, (size_t)(pe - ps), "following")) {
					ts = ps;
					te = pe;
					general = 0;
				}
			}
		}
		if (r == NULL) {
			char *d;

			r = rcpt_add(p, rep);
			d = arena_strndup(p->a, c[i].as, an);
			for (k = 0; k < an; k++)
				d[k] = (char)tolower((unsigned char)d[k]);
			r->rcpt = d;
			*slot = rep->nrcpts;
		}
		r->ctx = ts;
		r->ctxlen = (size_t)(te - ts);
		if (r->diaglen == 0) {
			r->diag = ts;
			r->diaglen = (size_t)(te - ts);
			r->diag_in_text = 1;
			r->diag_general = general;
		}
	}
}

/* --- Amazon SES JSON ------------------------------------------------- */

/*
 * The string value of "key" at or after p in [p, e), unescaped into the
 * arena; NULL if absent. *next is set past it.
 */
/* Unescapes the JSON string that starts after the quote at p. */
static const char *
json_string_at(struct arena *a, const char *p, const char *e,
    const char **next)
{
	char *out, *d;
	size_t cap = (size_t)(e - p) + 1 > MAX_DIAG ? MAX_DIAG + 1 :
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
 * The string value of "key" in [p, e), unescaped into the arena; NULL
 * if absent. *next, if not NULL, is set past the value.
 */
static const char *
json_str(struct arena *a, const char *p, const char *e, const char *key,
    const char **next)
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
		return json_string_at(a, p + 1, e, next);
	}
	return NULL;
}

/* Reads an SES notification; returns 1 if it was one. */
static int
ses_json(struct dsn_parser *p, struct dsn_report *rep, const char *s,
    size_t n)
{
	const char *e = s + n, *q, *obj, *oe, *v, *type, *resp;
	const char *addr;
	struct dsn_rcpt *r;

	if ((q = memmem(s, n, "\"notificationType\"", 18)) == NULL &&
	    (q = memmem(s, n, "\"eventType\"", 11)) == NULL)
		return 0;
	if ((type = json_str(p->a, s, e, "notificationType", NULL)) == NULL &&
	    (type = json_str(p->a, s, e, "eventType", NULL)) == NULL)
		return 0;
	if (strcmp(type, "Bounce") == 0 &&
	    (q = memmem(s, n, "\"bouncedRecipients\"", 19)) != NULL) {
		/* One object per recipient, up to the closing bracket. */
		for (obj = memchr(q, '{', (size_t)(e - q)); obj != NULL;
		    obj = oe < e ? memchr(oe, '{', (size_t)(e - oe)) : NULL) {
			const char *close = memchr(q, ']', (size_t)(e - q));

			if (close != NULL && obj > close)
				break;
			oe = memchr(obj, '}', (size_t)(e - obj));
			if (oe == NULL)
				oe = e;
			if ((v = json_str(p->a, obj, oe, "emailAddress",
			    NULL)) == NULL)
				continue;
			r = rcpt_add(p, rep);
			r->rcpt = addr_dup(p->a, v, v + strlen(v));
			if (r->rcpt == NULL)
				r->rcpt = v;
			if ((v = json_str(p->a, obj, oe, "action", NULL)))
				r->action = v;
			if ((v = json_str(p->a, obj, oe, "status", NULL)))
				r->status = status_dup(p->a, v);
			if ((v = json_str(p->a, obj, oe, "diagnosticCode",
			    NULL))) {
				r->diag = after_type(v);
				r->diaglen = strlen(r->diag);
			}
		}
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
			v = json_string_at(p->a, q + 1, oe, &q);
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
	if (rep->nrcpts == 0)
		return 0;
	rep->kind = DSN_JSON;
	return 1;
}

/* --- what kind of message -------------------------------------------- */

static const char *const daemon_locals[] = {
	"mailer-daemon", "mailer_daemon", "mailerdaemon", "postmaster",
	"post_master",
	"mail-daemon", "maildaemon", "mmdf", "double-bounce", "bounce",
	"bounces", "bounce-notification", "mail.delivery.system",
	"mail-delivery-system", "mdaemon", "root", "nobody", "mailadmin",
	"mailmaster", "mail-error", "auto-reply", NULL
};

/* Is the address in v a mailer daemon's? */
static int
from_daemon(const char *v)
{
	const char *as, *ae, *at;
	size_t i, n;

	if (v == NULL)
		return 0;
	if (has_ci(v, strlen(v), "mailer-daemon") ||
	    has_ci(v, strlen(v), "mail delivery"))
		return 1;
	if (!addr_next(v, v + strlen(v), &as, &ae))
		return 0;
	at = memchr(as, '@', (size_t)(ae - as));
	n = (size_t)(at - as);
	for (i = 0; daemon_locals[i] != NULL; i++)
		if (strlen(daemon_locals[i]) == n &&
		    strncasecmp(as, daemon_locals[i], n) == 0)
			return 1;
	return 0;
}

static const char *const bounce_subjects[] = {
	"undeliver", "undelivered", "delivery fail", "failure notice",
	"failure delivery", "delivery failure", "returned mail",
	"return mail", "returned to sender", "delivery status",
	"delivery notification", "not delivered", "could not be delivered",
	"couldn't be delivered", "mail delivery", "non-delivery",
	"nondeliver", "non delivery", "mail system error", "delivery error",
	"mail error", "error sending", "bounce", "rejected", "failed",
	"failure", "permanent error", "delivery problem", "warning: could",
	"delayed mail", "delivery delayed", "unzustellbar", "no entregado",
	"non recapitabile", "non remis", "message not deliverable",
	"\xe4\xb8\x8d\xe9\x81\x94",			/* 不達 */
	"\xe3\x82\xa8\xe3\x83\xa9\xe3\x83\xbc",		/* エラー */
	"\xe9\x85\x8d\xe4\xbf\xa1",			/* 配信 */
	"\xe8\xbf\x94\xe9\x80\x81",			/* 返送 */
	"\xe9\x80\x81\xe4\xbf\xa1\xe5\xa4\xb1\xe6\x95\x97", /* 送信失敗 */
	NULL
};

static const char *const autoreply_subjects[] = {
	"auto:", "automatic reply", "autoreply", "auto-reply", "auto reply",
	"autorespon", "auto response", "out of office", "out of the office",
	"away from", "on vacation", "vacation", "on leave", "absence",
	"abwesen", "abwesenheit", "automatische antwort", "r\xc3\xa9ponse "
	"automatique", "respuesta autom", "risposta automatica",
	"automatisch antwoord", "automatisk svar", "automatiskt svar",
	"automaattinen vastaus", "resposta autom",
	"odpowied\xc5\xba automatyczna",			/* Polish */
	"automatick\xc3\xa1 odpov\xc4\x9b\xc4\x8f",		/* Czech */
	"\xe8\x87\xaa\xe5\x8b\x95\xe5\xbf\x9c\xe7\xad\x94",	/* 自動応答 */
	"\xe8\x87\xaa\xe5\x8b\x95\xe8\xbf\x94\xe4\xbf\xa1",	/* 自動返信 */
	"\xe4\xb8\x8d\xe5\x9c\xa8",				/* 不在 */
	NULL
};

static int
matches_any(const char *s, const char *const *list)
{
	size_t i, n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	for (i = 0; list[i] != NULL; i++)
		if (has_ci(s, n, list[i]))
			return 1;
	return 0;
}

static int
is_autoreply(struct mime_part *root, const char *subject, const char *from)
{
	const char *v;

	if (from_daemon(from) || matches_any(subject, bounce_subjects))
		return 0;
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
	if ((v = mime_header_value(root, "Precedence")) != NULL &&
	    strcasecmp(v, "auto_reply") == 0)
		return 1;
	return matches_any(subject, autoreply_subjects);
}

static int
is_bounce(struct mime_part *root, const char *subject, const char *from)
{
	const char *v;

	if (root->report_type != NULL &&
	    strcmp(root->report_type, "delivery-status") == 0)
		return 1;
	if (mime_header(root, "X-Failed-Recipients") != NULL)
		return 1;
	if (from_daemon(from) || matches_any(subject, bounce_subjects))
		return 1;
	if ((v = mime_header_value(root, "Return-Path")) != NULL &&
	    strcmp(v, "<>") == 0)
		return 1;
	return 0;
}

/*
 * A notice of the fml mailing-list manager to a poster ("You are not a
 * member of this mailing list <list@x>.", "Duplicated Message-ID in
 * <list@x>."): X-MLServer: fml, from the list's -admin address or with
 * fml's own Message-ID. No MAILER-DAEMON, no bounce subject: the list
 * refused the post.
 */
static int
fml_notice(struct mime_part *root, const char *from)
{
	const char *v, *as, *ae, *at;

	if ((v = mime_header_value(root, "X-MLServer")) == NULL ||
	    !has_ci(v, strlen(v), "fml"))
		return 0;
	if ((v = mime_header_value(root, "Message-ID")) != NULL &&
	    has_cs(v, strlen(v), ".FML"))
		return 1;
	if (from == NULL || !addr_next(from, from + strlen(from), &as, &ae))
		return 0;
	at = memchr(as, '@', (size_t)(ae - as));
	return at - as > 6 && strncasecmp(at - 6, "-admin", 6) == 0;
}

/*
 * The list an fml notice is about: an address in angle brackets that
 * ends its line (before a "." or ":"). The subject names the problem
 * too ("You x are not member (list ML)", "Loop Alert: ..."); it leads
 * the failure text.
 */
static void
fml_rcpts(struct dsn_parser *p, struct dsn_report *rep, const char *subject,
    const char *s, size_t n)
{
	const char *e = s + n, *ls, *le, *t, *as, *ae, *lt;
	struct dsn_rcpt *r;
	char *d;
	size_t sn = subject != NULL ? strlen(subject) : 0, k;

	for (ls = s; ls < e; ls = le < e ? le + 1 : e) {
		le = line_end(ls, e);
		for (t = le; t > ls && isspace((unsigned char)t[-1]); t--)
			;
		if (t > ls && (t[-1] == '.' || t[-1] == ':'))
			t--;
		if (t == ls || t[-1] != '>' ||
		    (lt = memrchr(ls, '<', (size_t)(t - ls))) == NULL ||
		    !addr_next(lt, t, &as, &ae) || ae != t - 1 ||
		    rcpt_known(rep, as, (size_t)(ae - as)))
			continue;
		r = rcpt_add(p, rep);
		r->rcpt = d = arena_strndup(p->a, as, (size_t)(ae - as));
		for (k = 0; d[k]; k++)
			d[k] = (char)tolower((unsigned char)d[k]);
		d = arena_alloc(p->a, sn + n + 2);
		memcpy(d, subject != NULL ? subject : "", sn);
		d[sn] = '\n';
		memcpy(d + sn + 1, s, n);
		d[sn + 1 + n] = '\0';
		r->diag = r->ctx = d;
		r->diaglen = r->ctxlen = sn + 1 + (n > MAX_DIAG ? MAX_DIAG : n);
		r->diag_in_text = 1;
	}
}

/* --- feedback reports ------------------------------------------------ */

static int
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
			char *d = arena_strndup(p->a, v, strcspn(v, " \t;"));
			size_t k;

			for (k = 0; d[k]; k++)
				d[k] = (char)tolower((unsigned char)d[k]);
			rep->feedback_type = d;
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
		v = mime_header_value(f->orig, "X-HmXmrOriginalRecipient");
		if (v == NULL)
			v = mime_header_value(f->orig, "To");
		if (v != NULL && (v = addr_dup(p->a, v, v + strlen(v))))
			rcpt_add(p, rep)->rcpt = v;
	}
	if (rep->nrcpts == 0) {
		/* A complaint about a message to nobody we can name. */
		r = rcpt_add(p, rep);
		r->rcpt = "undisclosed-recipient-in-headers@"
		    "libsisimai.org.invalid";
	}
	return 1;
}

/*
 * A whole delivery report pasted into a single-part text bounce (a
 * relay that returns the bounce it got to its own sender: "From
 * MAILER-DAEMON ..." and the report's headers, its "Content-Type:
 * multipart/report" and its parts, as text). Returns where the pasted
 * message's header block begins and sets *lenp to the rest of the
 * body; NULL if there is none.
 */
static const char *
inlined_report(const struct mime_part *root, size_t *lenp)
{
	const char *s = root->raw, *e, *p, *le, *q, *b, *pe;

	if (s == NULL || root->child != NULL || root->cte != CTE_IDENTITY ||
	    strncmp(root->type, "text/", 5) != 0)
		return NULL;
	e = s + root->rawlen;
	for (p = s; p < e; p = le < e ? le + 1 : e) {
		le = line_end(p, e);
		if (le - p < 30 || strncasecmp(p, "Content-Type:", 13) != 0)
			continue;
		for (q = p + 13; q < le && is_wsp(*q); q++)
			;
		if (le - q < 16 || strncasecmp(q, "multipart/report", 16) != 0)
			continue;
		/* Back to the first line of its header block. */
		for (b = p; b > s; b = q) {
			pe = b - 1;
			for (q = pe; q > s && q[-1] != '\n'; q--)
				;
			if (!(header_line(q, pe) || (q < pe && is_wsp(*q) &&
			    has_alnum(q, pe))))
				break;
		}
		if (b == p)
			continue;	/* no other header: not a message */
		*lenp = (size_t)(e - b);
		return b;
	}
	return NULL;
}

/* --- the message ----------------------------------------------------- */

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
	for (q = text_cut(s, e); q < e; q = le < e ? le + 1 : e) {
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
		for (q = text_cut(s, e); q < e; q = le < e ? le + 1 : e) {
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
	char *d;
	size_t i, n;

	if (v == NULL)
		return;
	e = v + strlen(v);
	while (rep->nsenders < DSN_MAX_SENDERS && addr_next(v, e, &as, &ae)) {
		n = (size_t)(ae - as);
		d = arena_strndup(p->a, as, n);
		for (i = 0; i < n; i++)
			d[i] = (char)tolower((unsigned char)d[i]);
		rep->senders[rep->nsenders++] = d;
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

size_t
dsn_parse(struct dsn_parser *p, const char *msg, size_t len,
    struct dsn_report *rep)
{
	struct mime_part *root;
	struct found f;
	const char *subject, *from, *text, *ex[MAX_EXCLUDE], *v, *g;
	size_t textlen, nex = 0, i, n;

	memset(rep, 0, sizeof(*rep));
	p->cap = 0;
	root = mime_parse(p->m, msg, len);
	memset(&f, 0, sizeof(f));
	walk(p, root, &f);
	rep->mimeflags = f.flags;
	rep->nheaders = root->nhdrs;
	rep->message_id = orig_message_id(p, root, &f);
	senders(p, rep, root, f.orig);
	text = own_text(p, &f, &textlen);
	rep->context = text;
	rep->contextlen = textlen;

	if (arf(p, rep, root, &f))
		return rep->nrcpts;

	/* RFC 3464 fields in a part, or in the text. */
	if (f.nds == 0 && f.orig != NULL) {
		/* A forwarded bounce: the report is in the attachment. */
		struct found f2;

		memset(&f2, 0, sizeof(f2));
		walk(p, f.orig, &f2);
		memcpy(f.ds, f2.ds, sizeof(f.ds));
		f.nds = f2.nds;
	}
	for (i = 0; i < f.nds; i++) {
		v = mime_body(p->m, f.ds[i], &n);
		ds_fields(p, rep, v, n);
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
		return rep->nrcpts;
	}
	if (!p->inner && (v = inlined_report(root, &n)) != NULL) {
		/* Parse the pasted report instead; if it says nothing, parse
		 * this message again, as text. */
		size_t k;

		p->inner = 1;
		k = dsn_parse(p, v, n, rep);
		if (k == 0)
			k = dsn_parse(p, msg, len, rep);
		p->inner = 0;
		return k;
	}
	if (ses_json(p, rep, text, textlen))
		return rep->nrcpts;

	if (is_autoreply(root, subject, from)) {
		if (from != NULL && (v = addr_dup(p->a, from,
		    from + strlen(from))) != NULL) {
			rep->kind = DSN_AUTOREPLY;
			rcpt_add(p, rep)->rcpt = v;
		}
		return rep->nrcpts;
	}
	if (!is_bounce(root, subject, from)) {
		if (!fml_notice(root, from))
			return 0;
		rep->kind = DSN_TEXT;
		fml_rcpts(p, rep, subject, text, textlen);
		return rep->nrcpts;
	}

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
		struct dsn_rcpt *r;
		size_t k;

		while (addr_next(v, e, &as, &ae)) {
			if (!rcpt_known(rep, as, (size_t)(ae - as))) {
				char *d = arena_strndup(p->a, as,
				    (size_t)(ae - as));

				for (k = 0; d[k]; k++)
					d[k] = (char)tolower((unsigned char)d[k]);
				r = rcpt_add(p, rep);
				r->rcpt = d;
			}
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
			rcpt_add(p, rep)->rcpt = v;
		/* The sender may be the recipient (a redacted bounce). */
		if (rep->nrcpts == 0)
			text_rcpts(p, rep, text, textlen, ex, 0, 0);
	}
	if (rep->nrcpts == 0 && (v = tail_to(p, &f)) != NULL)
		rcpt_add(p, rep)->rcpt = v;
	if (rep->nrcpts == 0 && f.orig != NULL &&
	    (v = mime_header_value(f.orig, "To")) != NULL &&
	    (v = addr_dup(p->a, v, v + strlen(v))) != NULL) {
		/* No address in the text: the original's recipient. */
		rcpt_add(p, rep)->rcpt = v;
	}
	for (i = 0; i < rep->nrcpts; i++)
		if (rep->rcpts[i].diaglen == 0) {
			rep->rcpts[i].diag = text;
			rep->rcpts[i].diaglen = textlen > MAX_DIAG ? MAX_DIAG :
			    textlen;
			rep->rcpts[i].diag_in_text = 1;
			rep->rcpts[i].diag_general = 1;
		}
	return rep->nrcpts;
}

/* --- classification -------------------------------------------------- */

static int
hard_reason(enum reason r)
{
	return r == R_USERUNKNOWN || r == R_HOSTUNKNOWN || r == R_HASMOVED ||
	    r == R_NOTACCEPT;
}


/*
 * Is a "no such user" known to be the answer to RCPT TO? Either the
 * reply's stage says so, or the bounce names the command (Sisimai reads
 * "RCPT" anywhere in the text; qmail says "does not like recipient"),
 * or the status is an address status (x.1.x) that by itself means "no
 * such mailbox".
 */
static int
rcpt_evident(const struct dsn_rcpt *r, const struct classification *cl)
{
	const char *st = cl->status;

	if (cl->stage == STAGE_RCPT)
		return 1;
	if (st[0] != '\0' && st[1] == '.' && st[2] == '1' && st[3] == '.')
		return 1;
	if (has_cs(r->diag, r->diaglen, "RCPT") ||
	    has_cs(r->ctx, r->ctxlen, "RCPT") ||
	    has_ci(r->ctx, r->ctxlen, "does not like recipient"))
		return 1;
	return 0;
}

/*
 * The first SMTP reply code in [s, s + n): three digits, the first 2,
 * 4 or 5, standing alone (not part of a number, a status or a word).
 * Returns 0 when there is none.
 */
static int
first_code(const char *s, size_t n)
{
	const char *p, *e = s + n;

	for (p = s; p + 3 <= e; p++) {
		if ((*p != '2' && *p != '4' && *p != '5') ||
		    !isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]))
			continue;
		if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '.' ||
		    p[-1] == '-' || p[-1] == '#' || p[-1] == '/' ||
		    p[-1] == '='))
			continue;
		if (p + 3 < e && (isalnum((unsigned char)p[3]) ||
		    p[3] == '.' || p[3] == '/' || p[3] == '@'))
			continue;
		return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	}
	return 0;
}

/*
 * Postfix's text part repeats the reply of the Diagnostic-Code with
 * the command it answered: "<rcpt>: host mx[ip] said: 550 ... (in
 * reply to end of DATA command)". When the recipient's text holds
 * that, it is the better reply to classify: it has the stage. So is
 * Exim's "SMTP error from remote mail server after <command>:".
 */
static void
staged_reply(const struct dsn_rcpt *r, const char **sp, size_t *np)
{
	const char *s = r->ctx, *e, *q, *said, *end;

	if (s == NULL || r->ctxlen == 0 || r->diaglen == 0)
		return;
	e = s + r->ctxlen;
	/*
	 * Exim's text names the command too: "SMTP error from remote mail
	 * server after EHLO x:\n 550 Rejected".
	 */
	if ((q = memmem(s, r->ctxlen, "SMTP error from remote mail", 27)) !=
	    NULL && memmem(q, (size_t)(e - q), " after ", 7) != NULL) {
		*sp = q;
		*np = (size_t)(e - q);
		return;
	}
	if ((q = find_ws_ci(s, r->ctxlen, "(in reply to ", NULL)) == NULL ||
	    (end = memmem(q, (size_t)(e - q), "command)", 8)) == NULL ||
	    (said = find_ws_ci(s, (size_t)(q - s), " said:", NULL)) == NULL)
		return;
	end += 8;
	/* Skip the recipient's address and its colon. */
	q = memchr(s, ':', (size_t)(said - s));
	if (q == NULL || memchr(s, '@', (size_t)(q - s)) == NULL)
		return;
	for (q++; q < said && isspace((unsigned char)*q); q++)
		;
	*sp = q;
	*np = (size_t)(end - q);
}

/*
 * The "<<< " line of a Sendmail transcript in [p, e) that gives the
 * recipient's Diagnostic-Code reply: its first n bytes must be the
 * reply's (n = 4 in the recipient's own text, which holds its own
 * transcript only; n = 0, all of it, in a transcript shared by several,
 * or as much of it as the Diagnostic-Code has).
 */
static const char *
transcript_find(const struct dsn_rcpt *r, const char *p, const char *e,
    size_t n)
{
	const char *le;
	size_t k;

	for (; p < e; p = le + 1) {
		le = line_end(p, e);
		if (le - p < 8 || strncmp(p, "<<< ", 4) != 0)
			continue;
		k = (size_t)(le - p - 4);
		while (k > 0 && isspace((unsigned char)p[4 + k - 1]))
			k--;
		if (n != 0 && k > n)
			k = n;
		if (k > r->diaglen)
			k = r->diaglen;	/* one is the head of the other */
		if (k >= 4 && memcmp(p + 4, r->diag, k) == 0)
			return p;
	}
	return NULL;
}

/*
 * The line where the bounce's transcript shows the remote server giving
 * the recipient's Diagnostic-Code reply ("<<< 550 ...", Sendmail): in
 * the recipient's own text, else in the report's shared text, where
 * Sendmail puts one transcript for all the recipients of a transaction.
 * *ep: the end of the text it is in. NULL if none.
 */
static const char *
transcript_line(const struct dsn_report *rep, const struct dsn_rcpt *r,
    const char **ep)
{
	const char *p;

	if (r->diaglen < 4)
		return NULL;
	if (r->ctx != NULL && (p = transcript_find(r, r->ctx,
	    r->ctx + r->ctxlen, 4)) != NULL) {
		*ep = r->ctx + r->ctxlen;
		return p;
	}
	if (rep->context != NULL && (p = transcript_find(r, rep->context,
	    rep->context + rep->contextlen, 0)) != NULL) {
		*ep = rep->context + rep->contextlen;
		return p;
	}
	return NULL;
}

/*
 * Sendmail's Diagnostic-Code keeps only the first line of a multi-line
 * reply ("550-Requested action not taken: mailbox unavailable"), while
 * its transcript has them all ("<<< 550-...", "<<< 550 invalid DNS MX
 * ..."). Then the reply is those lines joined, as Postfix logs one:
 * written to buf (size bufsz) and pointed at by *sp, *np.
 */
static void
transcript_reply(const struct dsn_report *rep, const struct dsn_rcpt *r,
    char *buf, size_t bufsz, const char **sp, size_t *np)
{
	const char *d = r->diag, *p, *e, *le, *q;
	size_t len = 0, k;

	if (r->diag_in_text || r->diaglen < 4 ||
	    !isdigit((unsigned char)d[0]) || !isdigit((unsigned char)d[1]) ||
	    !isdigit((unsigned char)d[2]) || d[3] != '-' ||
	    (p = transcript_line(rep, r, &e)) == NULL)
		return;
	for (; p < e; p = le + 1) {
		le = line_end(p, e);
		if (le - p < 8 || strncmp(p, "<<< ", 4) != 0 ||
		    strncmp(p + 4, d, 3) != 0)
			break;
		q = p + 4;
		k = (size_t)(le - q);
		while (k > 0 && isspace((unsigned char)q[k - 1]))
			k--;
		if (len + k + 2 > bufsz)
			break;
		if (len > 0)
			buf[len++] = ' ';
		memcpy(buf + len, q, k);
		len += k;
		if (q[3] == ' ')	/* the last line */
			break;
	}
	if (len > 0) {
		*sp = buf;
		*np = len;
	}
}

/* The status at the first place after p in [p, e) where one starts. */
static const char *
next_status(const char *p, const char *e, size_t *lenp)
{
	for (; p < e; p++) {
		if ((*p == '2' || *p == '4' || *p == '5') && p + 1 < e &&
		    p[1] == '.' && !isdigit((unsigned char)p[-1]) &&
		    p[-1] != '.' && (*lenp = status_at(p, e)) != 0)
			return p;
	}
	return NULL;
}

/* The first of the characters of set in [p, e), or NULL. */
static const char *
strpbrk_n(const char *p, const char *e, const char *set)
{
	for (; p < e; p++)
		if (strchr(set, *p) != NULL && *p != '\0')
			return p;
	return NULL;
}

/*
 * Chooses between the statuses a bounce gives. The reply's status
 * stands, except:
 *  - when it is a generic "x.y.0" and the report's Status field is of
 *    the same class and subject but says more (x.y.z, z > 0);
 *  - when it is a generic "x.y.0" and the remote reply it quotes
 *    ("550-'5.2.2 ... Mailbox Full'") names another subject: the
 *    relay's wrapper guessed the subject wrong;
 *  - when it is "x.4.7" (delivery time expired) and the bracketed last
 *    reply ("<421 4.4.2 Connection timed out>", Exchange's "returned
 *    '441 4.4.1 ...'" of an attempt) says what kept failing.
 */
static void
better_status(const struct dsn_rcpt *r, struct classification *cl)
{
	char *st = cl->status;
	const char *p, *e = r->diag + r->diaglen, *q;
	size_t n, sn = strlen(st), i;

	if (sn < 5 || st[1] != '.')
		return;
	if (strcmp(st + sn - 2, ".0") == 0 && cl->reply != NULL &&
	    cl->reply->status[0] != '\0') {
		if (r->status != NULL && r->status[0] == st[0] &&
		    strncmp(r->status, st, sn - 1) == 0 &&
		    strlen(r->status) > sn - 1 &&
		    strcmp(r->status + sn - 2, ".0") != 0) {
			snprintf(cl->status, sizeof(cl->status), "%s",
			    r->status);
			return;
		}
		/* The first status after this one, inside a quote. */
		if ((p = memmem(r->diag, r->diaglen, st, sn)) == NULL)
			return;
		if ((q = next_status(p + sn, e, &n)) != NULL && q[0] == st[0] &&
		    q - p < 80 && (q[-1] == '\'' || q[-1] == '"') &&
		    q[2] != st[2] && q[n - 1] != '0' && n < sizeof(cl->status))
			snprintf(cl->status, sizeof(cl->status), "%.*s",
			    (int)n, q);
		return;
	}
	if (strcmp(st + 1, ".4.7") != 0)
		return;
	/* In the reply, then in the recipient's text (Exchange). */
	for (i = 0; i < 2; i++) {
		const char *s = i == 0 ? r->diag : r->ctx;
		size_t sl = i == 0 ? r->diaglen : r->ctxlen;

		if (s == NULL || (p = memmem(s, sl, st, sn)) == NULL)
			continue;
		e = s + sl;
		for (q = p + sn; q < e && (q = strpbrk_n(q, e, "<'")) !=
		    NULL; q++) {
			if (e - q > 10 && isdigit((unsigned char)q[1]) &&
			    isdigit((unsigned char)q[2]) &&
			    isdigit((unsigned char)q[3]) && q[4] == ' ' &&
			    (n = status_at(q + 5, e)) != 0 &&
			    n < sizeof(cl->status)) {
				snprintf(cl->status, sizeof(cl->status),
				    "%.*s", (int)n, q + 5);
				return;
			}
		}
	}
}

/* Did the MTA give up delivering after a network failure? */
static int
gave_up(const struct dsn_rcpt *r, const struct classification *cl)
{
	const char *st = cl->status;

	if (st[0] != '\0' && strncmp(st + 1, ".4.", 3) == 0 &&
	    (strcmp(st + 4, "1") == 0 || strcmp(st + 4, "7") == 0))
		return 1;
	if (r->action != NULL && (strcmp(r->action, "expired") == 0 ||
	    strcmp(r->action, "delayed") == 0))
		return 1;
	/* Gmail: "Technical details of permanent failure:" */
	return r->status == NULL && r->ctx != NULL &&
	    has_ci(r->ctx, r->ctxlen, "permanent failure");
}

/* "SMTP command" and, after blanks, "DATA" (m-FILTER's report). */
static int
command_data(const char *s, size_t n)
{
	const char *p = s, *e = s + n, *q;

	while (p < e && (q = memmem(p, (size_t)(e - p), "SMTP command",
	    12)) != NULL) {
		for (q += 12; q < e && (isspace((unsigned char)*q) ||
		    *q == ':'); q++)
			;
		if (e - q >= 4 && strncmp(q, "DATA", 4) == 0)
			return 1;
		p = q;
	}
	return 0;
}

/*
 * Does the report carry a Status of its own for r? OpenSMTPD's "5.0.0"
 * over a reply it gives only in its text ("rcpt: 553 Requested action
 * not taken ...") is made up: the class of the reply code, nothing more.
 */
static int
status_of_its_own(const struct dsn_rcpt *r)
{
	return r->status != NULL && !(r->diag_in_text &&
	    strcmp(r->status + 1, ".0.0") == 0);
}

/*
 * Was a "no such user" given after the message, or at a stage nobody
 * can tell, in a report that carries its own status? Then it may be
 * the answer of a filter on the recipient's side: Sisimai's
 * "filtered". A rule of the recipient's provider that knows its
 * server's wording keeps its reason unless the status is a mailbox
 * status (x.2.x, "mailbox disabled"); a bounce with no status at all
 * (Exchange 2003, IMail, McAfee, ... say what they mean in words) keeps
 * it too.
 */
static int
unknown_is_filtered(const struct dsn_rcpt *r, const struct classification *cl)
{
	const char *st = cl->status;

	if (st[0] != '\0' && st[1] == '.' && st[2] == '1' && st[3] == '.')
		return 0;		/* the status says "no such address" */
	if (cl->stage != STAGE_UNKNOWN)
		return 0;		/* classify() has settled it */
	if (rcpt_evident(r, cl))
		return 0;
	if (r->diagtype != NULL && strcmp(r->diagtype, "smtp") != 0)
		return 0;		/* a mailer's own words, not a reply */
	if (!(st[2] == '0' || st[2] == '2' || st[2] == '7') || st[3] != '.')
		return 0;		/* x.5.x protocol, x.4.x network ... */
	if (!status_of_its_own(r) && (cl->reply == NULL ||
	    cl->reply->status[0] == '\0' ||
	    strcmp(cl->reply->status + 1, ".0.0") == 0))
		return 0;		/* no status to go by */
	if (cl->rule != NULL && cl->provider != NULL &&
	    cl->rule->provider == cl->provider)
		return st[2] == '2' && st[3] == '.';
	return 1;
}

/*
 * The Status to classify with. Postfix, Exim and OpenSMTPD write
 * "5.0.0" (or "4.0.0") when the remote reply had no enhanced status of
 * its own: that says nothing the reply code does not, and as a hint it
 * would outrank the rule for the code (x.0.0 is "undefined"). So a
 * reply with a code and no status, in a Diagnostic-Code or (OpenSMTPD)
 * only in the text, is classified as the reply alone, as the MTA's log
 * line would be. So is a reply the
 * transcript shows when the Status says the address is bad (x.1.x):
 * Sendmail's Status then is its own, made from the reply code and the
 * stage (5.1.1 for any 5xx at RCPT, with a "... User unknown" line of
 * its own), whatever the reply's own status said, and it would
 * otherwise suppress on a block it knows nothing of. NULL: no hint.
 */
static const char *
status_hint(const struct dsn_report *rep, const struct dsn_rcpt *r)
{
	const char *st = r->status, *e;
	size_t len;

	if (st == NULL || (st[0] != '4' && st[0] != '5'))
		return st;
	if (r->diaglen == 0 || first_code(r->diag, r->diaglen) == 0)
		return st;
	if (strcmp(st + 1, ".0.0") == 0)
		return next_status(r->diag, r->diag + r->diaglen, &len) !=
		    NULL ? st : NULL;
	if (r->diag_in_text)
		return st;
	if (st[2] == '1' && st[3] == '.' && transcript_line(rep, r, &e) != NULL)
		return NULL;
	return st;
}

/*
 * Does text have Sendmail's verdict line for r on it ("550 5.1.1
 * <rcpt>... User unknown")? Sendmail writes one for a refusal of RCPT
 * TO, also when pipelining puts ">>> DATA" before the reply in the
 * transcript; a refusal of the message is "554 5.0.0 Service
 * unavailable" with no address.
 */
static int
sendmail_names(const struct dsn_rcpt *r, const char *text, size_t len)
{
	const char *p, *e, *le, *q;
	size_t n = strlen(r->rcpt);

	if (text == NULL)
		return 0;
	e = text + len;
	for (p = text; p < e; p = le + 1) {
		le = line_end(p, e);
		if (le - p < 6 || !isdigit((unsigned char)p[0]) ||
		    !isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]) || p[3] != ' ')
			continue;
		q = memchr(p, '<', (size_t)(le - p));
		if (q != NULL && (size_t)(le - q) >= n + 5 &&
		    strncasecmp(q + 1, r->rcpt, n) == 0 &&
		    memcmp(q + 1 + n, ">...", 4) == 0)
			return 1;
	}
	return 0;
}

/*
 * Does the report's shared text hold a Sendmail transcript in which
 * the recipient's Diagnostic-Code reply comes after ">>> DATA"?
 * Sendmail writes one transcript for all the recipients of a
 * transaction, above the report, and each recipient's own text is
 * only its "(reason: ...)" line.
 */
static int
transcript_after_data(const struct dsn_report *rep, const struct dsn_rcpt *r)
{
	const char *p, *e;

	if (rep->context == NULL || r->diag_in_text ||
	    first_code(r->diag, r->diaglen) == 0)
		return 0;
	e = rep->context + rep->contextlen;
	if ((p = memmem(rep->context, rep->contextlen, "\n>>> DATA", 9)) ==
	    NULL)
		return 0;
	return transcript_find(r, p + 9, e, 0) != NULL;
}

/*
 * The stage the bounce says the recipient's reply came at, when the
 * reply does not say it itself: only the message stage is looked for
 * (the data-stage guard's), in Postfix's, Exim's and Sendmail's words,
 * in the recipient's own text and in Sendmail's shared transcript.
 */
static enum smtp_stage
context_stage(const struct dsn_report *rep, const struct dsn_rcpt *r)
{
	if (sendmail_names(r, r->ctx, r->ctxlen) ||
	    sendmail_names(r, rep->context, rep->contextlen))
		return STAGE_RCPT;
	if (r->ctx != NULL &&
	    (find_ws_ci(r->ctx, r->ctxlen, "in reply to end of data",
	    NULL) != NULL ||
	    find_ws_ci(r->ctx, r->ctxlen, "in reply to data command",
	    NULL) != NULL ||
	    find_ws_ci(r->ctx, r->ctxlen, "after end of data", NULL) != NULL ||
	    has_cs(r->ctx, r->ctxlen, ">>> DATA") ||
	    command_data(r->ctx, r->ctxlen)))
		return STAGE_EOD;
	if (transcript_after_data(rep, r))
		return STAGE_EOD;
	return STAGE_UNKNOWN;
}

/*
 * How many recipients of the report failed with r's very text: one
 * reply to DATA refuses every recipient of its transaction alike, so
 * that is the transaction's size as far as the report can tell.
 */
static size_t
same_failure(const struct dsn_report *rep, const struct dsn_rcpt *r)
{
	size_t i, n = 0;

	for (i = 0; i < rep->nrcpts; i++)
		if (rep->rcpts[i].diaglen == r->diaglen &&
		    memcmp(rep->rcpts[i].diag, r->diag, r->diaglen) == 0)
			n++;
	return n;
}

void
dsn_classify(struct classifier *c, const struct ruleset *rs,
    const struct dsn_report *rep, size_t i, struct dsn_result *out)
{
	const struct dsn_rcpt *r = &rep->rcpts[i];
	struct classification *cl = &out->cl;
	const char *d, *hint = status_hint(rep, r);
	char full[MAX_DIAG];
	size_t n, dn;
	int free_text;

	out->hardbounce = 0;
	if (rep->kind == DSN_AUTOREPLY || rep->kind == DSN_ARF) {
		memset(cl, 0, offsetof(struct classification, details));
		cl->temporary = -1;
		if (rep->kind == DSN_AUTOREPLY) {
			cl->reason = R_VACATION;
			snprintf(cl->details, sizeof(cl->details),
			    "auto-reply");
		} else {
			cl->reason = R_FEEDBACK;
			cl->decision = D_SUPPRESS;
			snprintf(cl->details, sizeof(cl->details),
			    "feedback_type=%s", rep->feedback_type);
		}
		return;
	}
	d = r->diag;
	dn = r->diaglen;
	free_text = r->diag_in_text;
	if (!r->diag_in_text)
		staged_reply(r, &d, &dn);
	if (d == r->diag)
		transcript_reply(rep, r, full, sizeof(full), &d, &dn);
	classifier_senders(c, rep->senders, rep->nsenders);
	classifier_transaction(c, same_failure(rep, r), context_stage(rep, r));
	classify(c, rs, r->rcpt, d, dn, hint, r->remote_mta, cl);
	if (cl->rule == NULL && rep->context != NULL &&
	    r->diag != rep->context) {
		/* The recipient's own text says nothing: try all of it. */
		struct classification whole;

		n = rep->contextlen > MAX_DIAG ? MAX_DIAG : rep->contextlen;
		classify(c, rs, r->rcpt, rep->context, n, hint,
		    r->remote_mta, &whole);
		if (whole.rule != NULL) {
			int code = cl->code;
			char st[16];

			free_text = 1;
			memcpy(st, cl->status, sizeof(st));
			*cl = whole;
			if (code != 0 || r->status != NULL) {
				cl->code = code;
				memcpy(cl->status, st, sizeof(st));
			}
		} else
			classify(c, rs, r->rcpt, r->diag, r->diaglen,
			    hint, r->remote_mta, cl);
	}
	/*
	 * The report's own Status is the one to show, unless it is
	 * Sendmail's stand-in for the reply's own.
	 */
	if (hint == NULL && r->status != NULL && (strcmp(r->status + 1,
	    ".0.0") == 0 || cl->reply == NULL || cl->reply->status[0] == '\0'))
		snprintf(cl->status, sizeof(cl->status), "%s", r->status);
	/*
	 * A Status about the recipient's address or mailbox (x.1.x, x.2.x)
	 * outranks words about the message or the sender found in the
	 * bounce's free text: without a Diagnostic-Code that text holds the
	 * notice's boilerplate too ("This email has been scanned for
	 * viruses by ..."). The status rules decide then, if one does.
	 */
	if (free_text && r->status != NULL && (r->status[2] == '1' ||
	    r->status[2] == '2') && r->status[3] == '.' && cl->rule != NULL &&
	    !reason_may_suppress(cl->reason)) {
		struct classification by_status;

		classify(c, rs, r->rcpt, "", 0, r->status, r->remote_mta,
		    &by_status);
		if (by_status.rule != NULL &&
		    reason_may_suppress(by_status.reason))
			*cl = by_status;
	}
	/*
	 * A Diagnostic-Code of type X-Unix is the local delivery program's
	 * own report (its exit status or its words), and a recipient whose
	 * X-Actual-Recipient is a program ("|procmail ...") was being
	 * delivered to one: when no rule knows the words, the failure is
	 * the mailer's, whatever the Status ("x-unix; temporary failure"
	 * with 4.3.0).
	 */
	if (((r->diagtype != NULL && strcasecmp(r->diagtype, "x-unix") == 0 &&
	    r->diaglen > 0) || r->to_program) &&
	    (cl->rule == NULL || cl->rule->re == NULL)) {
		cl->reason = R_MAILERERROR;
		cl->decision = 0;
	}
	/*
	 * "No such user" after DATA is a content filter's answer on the
	 * recipient side (Sisimai's "filtered"), not proof of absence.
	 * Not even when the recipient is the report's only one: OpenSMTPD
	 * writes a report per domain, so that does not make it the only
	 * one of its transaction.
	 */
	if (cl->reason == R_USERUNKNOWN && unknown_is_filtered(r, cl)) {
		cl->reason = R_FILTERED;
		cl->decision &= ~D_SUPPRESS;
	}
	/*
	 * A failure text of the recipient's own that no rule knows is
	 * Sisimai's "onhold" (it cannot decide); "undefined" is left for
	 * a bounce that says nothing about the recipient at all.
	 */
	if (cl->rule == NULL && cl->reason == R_UNDEFINED && r->diaglen > 0 &&
	    !r->diag_general && has_alnum(r->diag, r->diag + r->diaglen)) {
		cl->reason = R_ONHOLD;
		if (strncmp(cl->status + 1, ".0.900", 6) == 0)
			cl->status[6] = '1';
	}
	/*
	 * A network failure the MTA has given up on (the report is final,
	 * its status says "no answer from host" or "delivery time
	 * expired", or the MTA says so) is Sisimai's "expired"; so is a
	 * delay report that says nothing else.
	 */
	if ((cl->reason == R_NETWORKERROR && gave_up(r, cl)) ||
	    (cl->reason == R_UNDEFINED && r->action != NULL &&
	    strcmp(r->action, "delayed") == 0)) {
		cl->reason = R_EXPIRED;
		cl->decision = D_RETRY;
	}
	better_status(r, cl);
	/*
	 * A status made up from the reason (Sisimai's x.0.9nn codes) is
	 * permanent unless the report says delivery is only delayed: a
	 * bounce e-mail is sent when the MTA has given up.
	 */
	if (strncmp(cl->status + 1, ".0.9", 4) == 0 && strlen(cl->status) == 7) {
		snprintf(cl->status, sizeof(cl->status), "%s",
		    reason_status(cl->reason, (r->action != NULL &&
		    strcmp(r->action, "delayed") == 0) ||
		    first_code(r->diag, r->diaglen) / 100 == 4));
		/*
		 * Exim's own text of a sender refused at MAIL FROM, with no
		 * status anywhere: Sisimai settles the status while the
		 * reason is still open (onhold's x.0.901) and names the
		 * reason later; its made-up status is kept as it is.
		 */
		if (rep->kind == DSN_TEXT && r->status == NULL &&
		    r->ctx != NULL && has_cs(r->ctx, r->ctxlen,
		    "SMTP error from remote mail server after MAIL FROM:"))
			memcpy(cl->status + 4, "901", 3);
	}
	/*
	 * A report whose Status is only "x.0.0" and that has no
	 * Diagnostic-Code (OpenSMTPD) says what happened in its text; when
	 * a rule read it there, the status is the reason's, temporary only
	 * if the text gives a 4xx reply.
	 */
	else if (r->diag_in_text && cl->rule != NULL &&
	    cl->reason != R_UNDEFINED && r->status != NULL &&
	    strcmp(r->status + 1, ".0.0") == 0 &&
	    strcmp(cl->status, r->status) == 0)
		snprintf(cl->status, sizeof(cl->status), "%s",
		    reason_status(cl->reason,
		    first_code(r->diag, r->diaglen) / 100 == 4));
	if (r->action != NULL && (strcmp(r->action, "delivered") == 0 ||
	    strcmp(r->action, "relayed") == 0 ||
	    strcmp(r->action, "expanded") == 0)) {
		cl->reason = R_DELIVERED;
		cl->decision = 0;
		cl->temporary = 0;
	}
	classifier_senders(c, NULL, 0);
	classifier_transaction(c, 0, STAGE_UNKNOWN);
	/*
	 * The sending side's own address is never suppressed, whatever a
	 * notice seems to say of it ("Sorry <sender>. ... does not exist").
	 */
	for (n = 0; n < rep->nsenders; n++) {
		if (strcmp(rep->senders[n], r->rcpt) != 0)
			continue;
		if (cl->decision & D_SUPPRESS) {
			size_t off = strlen(cl->details);

			cl->decision &= ~D_SUPPRESS;
			snprintf(cl->details + off, sizeof(cl->details) - off,
			    "%sguard=sender", off ? " " : "");
		}
		break;
	}
	if (!cl->temporary && cl->status[0] != '4')
		out->hardbounce = hard_reason(cl->reason);
}
