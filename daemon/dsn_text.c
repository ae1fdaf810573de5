/*
 * dsn_text.c -- a bounce in words: its own text and its recipients
 *
 * Where the bounce's own text ends (at the copy of the original),
 * whether a message is a bounce at all (a mailer-daemon sender, a
 * bounce subject, ...), and, for a bounce without RFC 3464 fields,
 * which addresses of its text are recipients and what text belongs to
 * each. Also the fml list manager's notices and a whole report pasted
 * into a text bounce. Everything it keeps is in the parser's arena.
 */
#include <ctype.h>
#include <stddef.h>
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

/* --- a set of addresses ---------------------------------------------- */

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

/* --- the bounce's own text ------------------------------------------- */

static const char *logical_start(const char *, const char *, const char *);

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
		if ((size_t)(le - s) >= n && ascii_eq_ci(s, orig_headers[i],
		    n))
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
		if ((size_t)(le - s) >= n && ascii_eq_ci(s, names[i], n))
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
 * Is the line a virus scanner's footer ("This email has been scanned
 * for viruses by the MessageLabs Email Security System.")? It ends the
 * notice's own words: read as the recipient's failure text, it would
 * say "virus". Not a scanner's verdict ("scanned and found to contain
 * a virus").
 */
static const char *const footers[] = {
	"has been scanned for viruses by", "scanned by the messagelabs",
	"email security system", "e-mail security system",
	"has been checked for viruses by", NULL
};

/* Is a footer's phrase anywhere in [s, le)? */
static int
footer_in(const char *s, const char *le)
{
	return has_any_ci(s, (size_t)(le - s), footers);
}

static int
scanner_footer(const char *s, const char *le)
{
	static const char *const verdicts[] = {
		"found", "contain", "infected", "detected", NULL
	};
	size_t n = (size_t)(le - s), i;

	if (!footer_in(s, le))
		return 0;
	for (i = 0; verdicts[i] != NULL; i++)
		if (has_ci(s, n, verdicts[i]))
			return 0;
	return 1;
}

/*
 * Where the copy of the original begins in a single-part bounce: a
 * separator line (a line of mostly dashes with words such as "copy of
 * the message"), or the first run of three header lines that starts
 * with a header a message has and holds two fields at least (a field's
 * folded continuations are its own lines).
 */
const char *
text_cut(const char *s, const char *e)
{
	const char *p, *le, *l2, *l3;
	size_t i, n;
	int dashes, text = 0;	/* a line of the bounce's own seen */
	/*
	 * No line holds a footer unless the rest of the text does: one
	 * search, when the first line could be one (-1: not searched).
	 */
	int footed = -1;

	for (p = s; p < e; p = le < e ? le + 1 : e, text |= n > 1) {
		le = line_end(p, e);
		n = (size_t)(le - p);
		for (i = 0, dashes = 0; i < n && i < 8; i++)
			if (p[i] == '-' || p[i] == '=' || p[i] == '*' ||
			    p[i] == '_')
				dashes++;
		if ((dashes >= 3 || n < 64) && n >= 6) {
			/* Its first 127 bytes, up to a NUL. */
			size_t m = n < 127 ? n : 127;
			const char *z = memchr(p, '\0', m);

			if (z != NULL)
				m = (size_t)(z - p);
			/*
			 * Without dashes, only after some text: "The
			 * attached message had PERMANENT fatal delivery
			 * errors!" opens MDaemon's bounce. And only on a
			 * line of its own: the continuation of a folded
			 * sentence ("delete your own text from the
			 * attached\n    returned message.") is prose.
			 */
			if (has_any_ci(p, m, separators) && (dashes >= 3 ||
			    (text && !has_ci(p, m, "your own text") &&
			    !has_ci(p, m, "transcript") &&
			    logical_start(s, p, e) == p)))
				return p;
		}
		if (text && footed < 0)
			footed = footer_in(p, e);
		if (text && footed && scanner_footer(p, le))
			return p;
		if (orig_header_line(p, le) && !ds_field_line(p, le) &&
		    le < e) {
			l2 = line_end(le + 1, e);
			if (!header_line(le + 1, l2) && !is_wsp(le[1]))
				continue;
			if (l2 >= e || ds_field_line(le + 1, l2))
				continue;
			/*
			 * A line folded at some width is one field with
			 * its continuations ("From: <x> RCPT:\n    <y>
			 * 192.0.2.25 does\n    not like recipient."):
			 * a header block has another field after it.
			 */
			if (is_wsp(le[1])) {
				l2 = folded_end(p, e);
				if (l2 >= e)
					continue;
				l3 = line_end(l2 + 1, e);
				if (header_line(l2 + 1, l3) &&
				    !ds_field_line(l2 + 1, l3))
					return p;
				continue;
			}
			l3 = line_end(l2 + 1, e);
			if ((header_line(l2 + 1, l3) &&
			    !ds_field_line(l2 + 1, l3)) || is_wsp(l2[1]))
				return p;
		}
	}
	return e;
}

/*
 * What the tag at p (its "<") stands for in text: a line break for one
 * that breaks the line ("<br>", "<p>", "<div>", "<tr>"); for one that
 * starts or ends another block ("</div>", "<li>", "<h2>", ...) or a
 * table cell ("<td>", "</td>": the cells of a row are words apart,
 * "ann@example.org" and "550 ..."), HTML_SOFT, a break only where the
 * text on both sides of the tags meets with no blank; else 0.
 */
#define HTML_SOFT	1

static int
html_break(const char *p, const char *e)
{
	static const char *const lines[] = { "br", "p", "div", "tr", "li",
	    "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
	    "pre", "blockquote", "dt", "dd", NULL };
	const char *n = p + 1, *ne;
	size_t i;

	if (e - p > 3 && (ascii_eq_ci(p, "<br", 3) || ascii_eq_ci(p, "<p", 2) ||
	    ascii_eq_ci(p, "<div", 4) || ascii_eq_ci(p, "<tr", 3)))
		return '\n';
	if (n < e && *n == '/')
		n++;
	for (ne = n; ne < e && ne - n < 12 && isalnum((unsigned char)*ne);
	    ne++)
		;
	if (ne == n || (ne < e && *ne != '>' && *ne != '/' && !is_wsp(*ne) &&
	    *ne != '\r' && *ne != '\n'))
		return 0;
	if ((ne - n == 2 && (ascii_eq_ci(n, "td", 2) ||
	    ascii_eq_ci(n, "th", 2))))
		return HTML_SOFT;
	for (i = 0; lines[i] != NULL; i++)
		if (strlen(lines[i]) == (size_t)(ne - n) &&
		    ascii_eq_ci(n, lines[i], (size_t)(ne - n)))
			return HTML_SOFT;
	return 0;
}

/*
 * Strips tags from HTML and decodes its character references
 * ("max&#64;example.org", "&lt;"); crude, but bounded.
 */
static const char *
html_text(struct arena *a, const char *s, size_t n, size_t *lenp)
{
	char *out = arena_alloc(a, n + 1), *d = out;
	const char *p = s, *e = s + n;
	size_t k;
	int soft = 0;

	while (p < e) {
		/* A soft break stands where text meets text. */
		if (soft && *p != '<' && !isspace((unsigned char)*p) &&
		    d > out && !isspace((unsigned char)d[-1]))
			*d++ = '\n';
		if (*p != '<')
			soft = 0;
		if (*p == '<') {
			int br = html_break(p, e);
			const char *q = memchr(p, '>', (size_t)(e - p));

			/* An address in angle brackets is text. */
			if (q != NULL && memchr(p, '@', (size_t)(q - p)) &&
			    !memchr(p, ' ', (size_t)(q - p))) {
				if (soft && d > out &&
				    !isspace((unsigned char)d[-1]))
					*d++ = '\n';
				soft = 0;
				memcpy(d, p, (size_t)(q + 1 - p));
				d += q + 1 - p;
				p = q + 1;
				continue;
			}
			p = q ? q + 1 : e;
			if (br == '\n') {
				*d++ = '\n';
				soft = 0;
			} else if (br == HTML_SOFT)
				soft = 1;
			continue;
		}
		if (*p == '&' && (k = html_entity(p, e, &d)) > 0) {
			p += k;
			continue;
		}
		*d++ = *p++;
	}
	*d = '\0';
	*lenp = (size_t)(d - out);
	return out;
}

/* Is [s, s + n) blanks and line ends only? */
static int
blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * The bounce's own text: its text parts up to the original (each cut
 * at a copy of the original), joined, bounded by MAX_TEXT.
 */
const char *
own_text(struct dsn_parser *p, struct found *f, size_t *lenp)
{
	const char *parts[MAX_TEXTPARTS], *s;
	size_t lens[MAX_TEXTPARTS], i, n, total = 0, np = 0;
	char *out, *d;

	for (i = 0; i < f->ntext; i++) {
		s = mime_body(p->m, f->text[i], &n);
		n = (size_t)(cut_of(p, s, s + n) - s);
		parts[np] = s;
		lens[np++] = n;
		total += n + 1;
	}
	/* Text parts that are empty (an HTML-only alternative): none. */
	for (i = 0; i < np && blank(parts[i], lens[i]); i++)
		;
	if (i == np)
		np = total = 0;
	if (np == 0 && f->html != NULL) {
		s = mime_body(p->m, f->html, &n);
		s = html_text(p->a, s, n, &n);
		n = (size_t)(cut_of(p, s, s + n) - s);
		parts[np] = s;
		lens[np++] = n;
		total += n + 1;
	}
	/*
	 * No text in any part: a mailer that wrote its notice before the
	 * first part, in the multipart's preamble.
	 */
	if (np == 0 && f->top != NULL && f->top->preamble != NULL &&
	    !blank(f->top->preamble, f->top->preamblelen)) {
		s = mime_to_utf8(p->m, NULL, f->top->preamble,
		    f->top->preamblelen, &n);
		n = (size_t)(cut_of(p, s, s + n) - s);
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

/* --- failure text from the bounce's own text ------------------------- */

struct cand {
	const char	*as, *ae;	/* the address */
	const char	*after;		/* the start of its line */
	int		 lead;		/* it starts its line */
	int		 hdr;		/* on a To:/Cc: line of a header block */
	int		 listline;	/* its line lists addresses, only */
};

#define MAX_CANDS	100000

/*
 * Is the run from p to the address at as only addresses and the commas,
 * semicolons, blanks, brackets and "and" between them ("ann@x, bob@x,
 * <c@x>", "ann@x and bob@x")? Then the address at as is one of a list
 * the line holds.
 */
static int
list_from(const char *p, const char *as)
{
	const char *bs, *be;
	size_t k;
	int n = 0;

	while (p < as) {
		if (ascii_list_sep(*p)) {
			p++;
			continue;
		}
		if (n > 0 && (k = ascii_list_and(p, as)) > 0) {
			p += k;
			continue;
		}
		if (!addr_next(p, as, &bs, &be) || bs != p)
			return 0;
		p = be;
		n++;
	}
	return n > 0;
}

/*
 * The first failure reply code (4xx or 5xx, not part of a longer word
 * or number) in [s, e), or NULL. With reply_form the code must stand
 * as an SMTP reply's does, followed by a blank or a dash ("550 ...",
 * "550-...") or the end; else by anything but a letter or digit
 * ("550:", "(550)").
 */
static const char *
reply_code_in(const char *s, const char *e, int reply_form)
{
	const char *p;

	for (p = s; p + 3 <= e; p++) {
		if ((*p != '4' && *p != '5') || !isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]) ||
		    (p > s && isalnum((unsigned char)p[-1])))
			continue;
		if (p + 3 == e || (reply_form ? p[3] == ' ' || p[3] == '-' :
		    !isalnum((unsigned char)p[3])))
			return p;
	}
	return NULL;
}

/* Does the text from s to e say a delivery failed? */
static int
says_failed(const char *s, const char *e)
{
	static const char *const words[] = {
		"fail", "reject", "refused", "bounced", "undeliver",
		"not be delivered", "not delivered", "could not", NULL
	};
	size_t i;

	if (reply_code_in(s, e, 0) != NULL)
		return 1;
	for (i = 0; words[i] != NULL; i++)
		if (has_ci(s, (size_t)(e - s), words[i]))
			return 1;
	return 0;
}

/* Does the run p..e end with one of the words (after a blank, or all)? */
static int
ends_with_word(const char *p, const char *e, const char *const *words)
{
	size_t i, n;

	for (i = 0; words[i] != NULL; i++) {
		n = strlen(words[i]);
		if ((size_t)(e - p) >= n && ascii_eq_ci(e - n, words[i], n) &&
		    (e - n == p || is_wsp(e[-(ptrdiff_t)n - 1])))
			return 1;
	}
	return 0;
}

/*
 * Is the address at as..ae introduced on its line (ending at le) by a
 * delivery failure naming it ("Message could not be delivered to x:
 * 552 ...", "Delivery failed for x", "Unable to deliver to <x>"), or by
 * "the message to x" or "delivery to x" with the failure after it ("The
 * message to x was rejected: 554 ...")? It leads that line as a
 * recipient would at its start; a line that only mentions an address
 * ("Your message to x follows", "Your message was delivered to x",
 * "RCPT TO:<x>") does not.
 */
static int
failure_names(const char *line, const char *as, const char *ae,
    const char *le)
{
	static const char *const ends[] = {
		"not be delivered to", "not delivered to", "not deliver to",
		"failed to deliver to", "unable to deliver to", "failed for",
		"undeliverable to", "not be sent to", NULL
	}, *const messages[] = {
		"delivery to", "message to", "mail to", "e-mail to",
		"email to", NULL
	};
	const char *p = line, *e = as, *k;

	while (p < e && is_wsp(*p))
		p++;
	if (as - p > 200)
		return 0;
	/* the addresses of a list before this one ("to ann@x, bob@x") */
	for (k = p + 1; k < e; k++)
		if (is_wsp(k[-1]) && list_from(k, as)) {
			e = k;
			break;
		}
	while (e > p && (is_wsp(e[-1]) || e[-1] == '<' || e[-1] == '"'))
		e--;
	if (e - p > 60 || !isalpha((unsigned char)*p))
		return 0;
	return ends_with_word(p, e, ends) ||
	    (ends_with_word(p, e, messages) && says_failed(ae, le));
}

/*
 * Does the address at as start its line (after blanks, <, ", ', a list's
 * number)?
 */
static int
starts_line(const char *line, const char *as)
{
	const char *p = line, *q;

	while (p < as && is_wsp(*p))
		p++;
	/* a list's number ("1. x", "2) x") */
	for (q = p; q < as && isdigit((unsigned char)*q); q++)
		;
	if (q > p && q - p < 4 && q + 1 < as && (*q == '.' || *q == ')') &&
	    is_wsp(q[1]))
		p = q + 1;
	while (p < as && (is_wsp(*p) || *p == '<' || *p == '"' ||
	    *p == '\'' || *p == '(' || *p == '*' || *p == '-' || *p == '>'))
		p++;
	return p == as;
}

/* The number of blanks that indent the line at ls. */
static size_t
indent_of(const char *ls, const char *e)
{
	const char *p = ls;

	while (p < e && is_wsp(*p))
		p++;
	return (size_t)(p - ls);
}

/*
 * The first line of the folded line that the line at ls is part of: up
 * through the continuations above it (indented alike, no blank line
 * between) to the first line indented less, which they continue. ls
 * itself when it continues nothing.
 */
static const char *
logical_start(const char *s, const char *ls, const char *e)
{
	const char *cur = ls, *pl;
	size_t ip, ic;
	int n;

	for (n = 0; n < 64 && cur > s && is_wsp(*cur); n++) {
		for (pl = cur - 1; pl > s && pl[-1] != '\n'; pl--)
			;
		if (!has_alnum(pl, cur - 1))
			break;
		ip = indent_of(pl, cur - 1);
		ic = indent_of(cur, e);
		if (ip > ic)
			break;
		if (ip < ic)
			return pl;
		cur = pl;
	}
	return ls;
}

/*
 * Is the line at ls an item of the list that the line at fl announces
 * ("Failed addresses follow:", then each address on a line of its own,
 * indented alike)? Not the folded text of the first item.
 */
static int
list_item(const char *fl, const char *ls, const char *e)
{
	const char *fe = line_end(fl, e), *first = fe + 1;

	while (fe > fl && isspace((unsigned char)fe[-1]))
		fe--;
	return fe > fl && fe[-1] == ':' && first < ls &&
	    indent_of(first, e) == indent_of(ls, e);
}

/* Does the line above the one at ls end with a colon? */
static int
ends_colon(const char *s, const char *ls)
{
	const char *p = ls - 1;

	while (p > s && isspace((unsigned char)p[-1]))
		p--;
	return p > s && p[-1] == ':';
}

/*
 * Is the address at as named as a sender on its line ("From: x",
 * "MAIL FROM:<x>", "Sender: x", "Reply-To: x")? Then it is no
 * recipient. The line may be folded before the address ("From:\n
 * x"): as is then on a continuation of the line at `line`.
 */
static int
after_from(const char *line, const char *as)
{
	static const char *const marks[] = {
		"from:", "sender:", "reply-to:", "return-path:"
	};
	const char *p = line, *q;
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
			/* "From: Name <x>" too, on one line or folded */
			for (q = p + k; q < as; q++)
				if (*q == '\n' && !(q + 1 < as && is_wsp(q[1])))
					return 0;
			return 1;
		}
	}
	return 0;
}

/*
 * Is the address at as the value of a Message-ID, In-Reply-To or
 * References label on its line ("*  Message-ID: <x@y>" in MDaemon's
 * transcript, "The Message-ID was <x@y>")? A message's identifier is
 * nobody's address.
 */
static int
after_msgid(const char *line, const char *as)
{
	static const char *const marks[] = {
		"message-id", "in-reply-to", "references", "message id"
	};
	const char *p = as;
	size_t i, k;

	while (p > line && (is_wsp(p[-1]) || p[-1] == '<' || p[-1] == ':' ||
	    p[-1] == '=' || p[-1] == '"'))
		p--;
	if (p > line + 4 && strncasecmp(p - 4, " was", 4) == 0)
		for (p -= 4; p > line && is_wsp(p[-1]); p--)
			;
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		k = strlen(marks[i]);
		if ((size_t)(p - line) >= k &&
		    strncasecmp(p - k, marks[i], k) == 0)
			return 1;
	}
	return 0;
}

/*
 * The start of the line above the one at ls, in the text from s; NULL
 * when there is none or it is blank (a paragraph ends there).
 */
static const char *
line_above(const char *s, const char *ls)
{
	const char *pl;

	if (ls <= s || ls[-1] != '\n')
		return NULL;
	for (pl = ls - 1; pl > s && pl[-1] != '\n'; pl--)
		;
	return has_alnum(pl, ls - 1) ? pl : NULL;
}

/*
 * Is the local part at as (n bytes) a mailing list's own administrative
 * mailbox ("owner-staff", "staff-owner", "staff-request"; RFC 2142's
 * and the list managers' forms)?
 */
static int
list_admin(const char *as, size_t n)
{
	return (n > 6 && strncasecmp(as, "owner-", 6) == 0) ||
	    (n > 6 && strncasecmp(as + n - 6, "-owner", 6) == 0) ||
	    (n > 8 && strncasecmp(as + n - 8, "-request", 8) == 0);
}

/*
 * Is the address at [as, ae) one a notice gives to write to, not a
 * recipient: a role's mailbox (postmaster, abuse, helpdesk, a list's
 * owner, ...) at the domain of an address of the sending or reporting
 * side (ex), or on a line that asks to write to it ("contact
 * postmaster@x", "please send mail to helpdesk@x", "For help, ...")?
 * An address that starts its line may close the sentence of the line
 * above ("... contact the list owner at\nstaff-owner@x."): from, when
 * not NULL, that line's start.
 */
static int
contact_addr(const char *line, const char *from, const char *as,
    const char *ae, const char *const *ex, size_t nex)
{
	static const char *const roles[] = {
		"postmaster", "abuse", "hostmaster", "webmaster", "helpdesk",
		"help", "support", "noc", "security", "admin",
		"administrator", "mailadmin", "mailmaster", "it-support",
		"servicedesk", "service-desk", NULL
	};
	static const char *const asks[] = {
		"contact", "send mail to", "write to", "e-mail to",
		"email to", "questions", "assistance", "for help",
		"please", "report", NULL
	};
	const char *at = memchr(as, '@', (size_t)(ae - as)), *d;
	size_t i, n, dn;

	if (at == NULL)
		return 0;
	n = (size_t)(at - as);
	for (i = 0; roles[i] != NULL; i++)
		if (strlen(roles[i]) == n && strncasecmp(as, roles[i], n) == 0)
			break;
	if (roles[i] == NULL && !list_admin(as, n))
		return 0;
	dn = (size_t)(ae - at - 1);
	for (i = 0; i < nex; i++)
		if (ex[i] != NULL && (d = strchr(ex[i], '@')) != NULL &&
		    strlen(d + 1) == dn && strncasecmp(d + 1, at + 1, dn) == 0)
			return 1;
	if (from == NULL || !starts_line(line, as))
		from = line;
	for (i = 0; asks[i] != NULL; i++)
		if (has_ci(from, (size_t)(as - from), asks[i]))
			return 1;
	return 0;
}

int
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
void
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

/*
 * Is the line at ls Sendmail's verdict on the recipient at [as, ae):
 * "554 <rcpt>... Remote protocol error", "550 5.1.2 <rcpt>... Host
 * unknown", or the address without brackets ("550 5.1.1 k@x... User
 * unknown", as Sendmail writes a locally submitted recipient)?
 */
static int
sendmail_rcpt_line(const char *ls, const char *as, const char *ae,
    const char *e)
{
	const char *q = ls + 4;

	if (as - ls < 4 || !isdigit((unsigned char)ls[0]) ||
	    !isdigit((unsigned char)ls[1]) || !isdigit((unsigned char)ls[2]) ||
	    ls[3] != ' ')
		return 0;
	/* An enhanced status code may stand between them. */
	if (q < as && isdigit((unsigned char)*q)) {
		while (q < as && (isdigit((unsigned char)*q) || *q == '.'))
			q++;
		if (q >= as || *q != ' ' || q - ls < 9)
			return 0;
		q++;
	}
	if (q == as - 1 && *q == '<')
		return e - ae >= 4 && memcmp(ae, ">...", 4) == 0;
	return q == as && e - ae >= 3 && memcmp(ae, "...", 3) == 0;
}

/*
 * Is the line at ls the recipient at [as, ae) with its reply after a
 * colon ("ann@example.org: 550 5.1.1 user unknown", "<ann@x>: 552
 * ..."), as notices that list the addresses first write under their
 * error heading? Only blanks (and a "<") may stand before the address.
 */
static int
addr_reply_line(const char *ls, const char *as, const char *ae,
    const char *e)
{
	const char *q;

	for (q = ls; q < as && (is_wsp(*q) || *q == '<'); q++)
		;
	if (q != as)
		return 0;
	if (ae < e && *ae == '>')
		ae++;
	if (ae >= e || *ae != ':')
		return 0;
	for (q = ae + 1; q < e && is_wsp(*q); q++)
		;
	return e - q >= 4 && q[0] >= '2' && q[0] <= '5' &&
	    isdigit((unsigned char)q[1]) && isdigit((unsigned char)q[2]) &&
	    (q[3] == ' ' || q[3] == '-');
}

/* Does a reply code (three digits, 2xx to 5xx, a word) stand in [p, e)? */
static int
has_reply_code(const char *s, const char *e)
{
	const char *p;

	for (p = s; e - p >= 3; p++)
		if (*p >= '2' && *p <= '5' && isdigit((unsigned char)p[1]) &&
		    isdigit((unsigned char)p[2]) &&
		    (e - p == 3 || !isalnum((unsigned char)p[3])) &&
		    (p == s || !isalnum((unsigned char)p[-1])))
			return 1;
	return 0;
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

	*te = folded_end(*ts, e);	/* the line, and its continuations */
	while (b > s) {
		pe = b - 1;
		for (q = pe; q > s && q[-1] != '\n'; q--)
			;
		/*
		 * A line folded at some width: its continuations are
		 * indented, and it is the line they continue that counts.
		 */
		while (q > s && is_wsp(*q) && has_alnum(q, pe)) {
			pe = q - 1;
			for (q = pe; q > s && q[-1] != '\n'; q--)
				;
		}
		pe = line_end(q, e);
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
 * Is the line at ls a session transcript's "RCPT TO:<x>" for the
 * address at as, with the server's refusal on the line after it
 * ("--> RCPT To:<x>" then "<-- 550 5.1.1 ..." in MDaemon's transcript,
 * "hMailServer sent: RCPT TO:<x>" then "Remote server replied: 550
 * ...")? Returns the end of that reply's line (with the lines that
 * continue it, folded at some width), or NULL.
 */
static const char *
rcpt_command(const char *ls, const char *as, const char *e)
{
	const char *le = line_end(ls, e);

	if (find_ws_ci(ls, (size_t)(as - ls), "RCPT TO", NULL) == NULL ||
	    le >= e || reply_code_in(le + 1, line_end(le + 1, e), 1) == NULL)
		return NULL;
	return folded_end(le + 1, e);	/* and its continuations */
}

/*
 * The first heading line in [ls, e): dashes, equals signs or stars
 * around words ("   ----- Transcript of session follows -----"). NULL if
 * none.
 */
static const char *
heading_line(const char *ls, const char *e)
{
	const char *le, *q;
	int marks;

	for (; ls < e; ls = le + 1) {
		le = line_end(ls, e);
		for (q = ls; q < le && is_wsp(*q); q++)
			;
		for (marks = 0; q < le && (*q == '-' || *q == '=' ||
		    *q == '*'); q++)
			marks++;
		if (marks >= 3 && has_alnum(q, le))
			return ls;
	}
	return NULL;
}

/* The line at ls without its leading blanks, up to its end le. */
static int
header_line_at(const char *ls, const char *le)
{
	while (ls < le && is_wsp(*ls))
		ls++;
	return header_line(ls, le);
}

/*
 * Is the line at ls the To: or Cc: of a block of header fields the
 * notice quotes ("The message you sent had these header fields:\n
 * From: ...\n  To: list@x\n  Subject: ...")? Those are the original's
 * recipients as its headers had them (a list's address, several
 * people), not the one the notice says failed.
 */
static int
header_rcpt_line(const char *s, const char *ls, const char *e)
{
	const char *le = line_end(ls, e), *p = ls, *pl;

	while (p < le && is_wsp(*p))
		p++;
	if (!(le - p > 3 && (strncasecmp(p, "To:", 3) == 0 ||
	    strncasecmp(p, "Cc:", 3) == 0)))
		return 0;
	if (le < e && header_line_at(le + 1, line_end(le + 1, e)))
		return 1;
	if (ls > s) {
		for (pl = ls - 1; pl > s && pl[-1] != '\n'; pl--)
			;
		if (header_line_at(pl, ls - 1))
			return 1;
	}
	return 0;
}

/*
 * When the notice names some addresses outside a quoted header block,
 * the header block's To: and Cc: addresses are none of its recipients:
 * drops them from c (n of them). Returns the new count; *nlead counts
 * the leading ones left.
 */
static size_t
drop_header_rcpts(struct cand *c, size_t n, size_t *nlead)
{
	size_t i, k, body = 0;

	for (i = 0; i < n; i++)
		body += !c[i].hdr;
	if (body == 0 || body == n)
		return n;
	for (i = 0, k = 0, *nlead = 0; i < n; i++) {
		if (c[i].hdr)
			continue;
		c[k] = c[i];
		*nlead += c[k].lead;
		k++;
	}
	return k;
}

/* Is candidate j one text_rcpts() reads (all of them, or the leading)? */
static int
cand_read(const struct cand *c, size_t j, size_t nlead)
{
	return nlead == 0 || c[j].lead;
}

/*
 * Is the line of candidate j only its address (and blanks, brackets,
 * punctuation)?
 */
static int
cand_alone(const struct cand *c, size_t j, const char *e)
{
	const char *le = line_end(c[j].after, e);

	return !has_alnum(c[j].after, c[j].as) && !has_alnum(c[j].ae, le);
}

/*
 * Is the heading line at ls one over the failure's own words ("-----
 * Non-delivered information -----", BIGLOBE's; "--- Reason ---"), not
 * over a transcript (replies that may be other recipients') or the
 * returned message?
 */
static int
reason_heading(const char *ls, const char *e)
{
	static const char *const yes[] = {
		"information", "reason", "error", "diagnos", "detail"
	};
	static const char *const no[] = {
		"transcript", "original", "follows", "header", "copy",
		"unsent", "returned", "attach"
	};
	const char *le = line_end(ls, e);
	size_t n = (size_t)(le - ls), i;

	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (has_ci(ls, n, no[i]))
			return 0;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (has_ci(ls, n, yes[i]))
			return 1;
	return 0;
}

/* Does [as, ae) name the address [bs, be)? */
static int
same_addr(const char *as, const char *ae, const char *bs, const char *be)
{
	return ae - as == be - bs &&
	    strncasecmp(as, bs, (size_t)(ae - as)) == 0;
}

/* Can c be part of a local part around a word ("bob" in "bob.lee")? */
static int
local_byte(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '+';
}

/*
 * Does [ts, te) name the local part of the address [as, ae) as a word
 * ("bob: no such user", "The user bob does not exist", "<bob@x>")?
 */
static int
names_local(const char *ts, const char *te, const char *as, const char *ae)
{
	const char *at = memchr(as, '@', (size_t)(ae - as)), *x;
	size_t n;

	if (at == NULL || at == as)
		return 0;
	n = (size_t)(at - as);
	for (x = ts; (size_t)(te - x) >= n; x++) {
		if (!ascii_eq_ci(x, as, n))
			continue;
		if (x > ts && (local_byte((unsigned char)x[-1]) || x[-1] == '.'))
			continue;
		if (x + n < te && (local_byte((unsigned char)x[n]) ||
		    (x[n] == '.' && x + n + 1 < te &&
		    isalnum((unsigned char)x[n + 1]))))
			continue;
		return 1;
	}
	return 0;
}

/*
 * Is the reason [ts, te) found after a list one recipient's only: does
 * it name another recipient's mailbox ("550 5.1.1 bob: no such user")
 * and not candidate i's? Then it is not the list's.
 */
static int
names_another(const struct cand *c, size_t nc, size_t i, size_t nlead,
    const char *ts, const char *te)
{
	size_t j;

	if (names_local(ts, te, c[i].as, c[i].ae))
		return 0;
	for (j = 0; j < nc; j++)
		if (j != i && cand_read(c, j, nlead) &&
		    !same_addr(c[j].as, c[j].ae, c[i].as, c[i].ae) &&
		    names_local(ts, te, c[j].as, c[j].ae))
			return 1;
	return 0;
}

/*
 * A list of addresses, one a line, with one reason after the last
 * ("The following recipients could not be reached:\n\n  a@x\n  b@x\n\n
 * Reason: 552 5.2.2 Mailbox quota exceeded"): for candidate i, alone on
 * its line and in such a list, sets [*ts, *te) to the text after the
 * list, up to the next recipient's line or the next section
 * ("----- Transcript of session follows -----", whose replies may be
 * some other recipient's), or the section under a heading right after
 * it that is over the reason (see reason_heading()). Returns 0 when i
 * is in no such list, nothing follows it, or what follows is another
 * recipient's alone (names_another()).
 */
static int
list_reason(const struct cand *c, size_t nc, size_t i, size_t nlead,
    const char *e, const char **ts, const char **te)
{
	const char *ls, *end = e, *q;
	size_t k = i, j;

	if (!cand_alone(c, i, e))
		return 0;
	for (j = i + 1; j < nc; j++) {
		if (!cand_read(c, j, nlead) || c[j].after == c[k].after)
			continue;
		/* The next line, or after blank lines only. */
		ls = line_end(c[k].after, e);
		if (has_alnum(ls, c[j].after) || !cand_alone(c, j, e))
			break;
		k = j;
	}
	if (k == i)
		return 0;
	ls = line_end(c[k].after, e);
	for (j = k + 1; j < nc; j++)
		if (cand_read(c, j, nlead) && c[j].after != c[k].after) {
			end = c[j].after;
			break;
		}
	if ((q = heading_line(ls, end)) != NULL) {
		/*
		 * Only blank lines, then a heading over the failure's own
		 * words: the section under it is the list's reason.
		 */
		if (!has_alnum(ls, q) && reason_heading(q, end)) {
			ls = line_end(q, end);
			if ((q = heading_line(ls < end ? ls + 1 : ls, end)) !=
			    NULL)
				end = q;
		} else
			end = q;
	}
	if (!has_alnum(ls, end) || names_another(c, nc, i, nlead, ls, end))
		return 0;
	*ts = ls;
	*te = end;
	if ((size_t)(*te - *ts) > MAX_DIAG)
		*te = *ts + MAX_DIAG;
	trim_span(ts, te);
	return 1;
}

/*
 * A recipient's text with the other recipients' exchanges taken out of
 * the session transcript below it: Sendmail lists each address with its
 * reason, then one transcript for the transaction (">>> RCPT
 * To:<other>", "<<< 550 5.1.1 <other>... User unknown", "550 5.1.1
 * <other>... User unknown"), and the last address's text runs into it.
 * What the transcript says of the transaction (">>> MAIL From:", ">>>
 * DATA" and their replies) stays: it tells the stage. The text at
 * [ts, te) is for the address [as, ae); returns it (in the arena when
 * lines were dropped) and its length in *lenp.
 */
static const char *
drop_others(struct arena *a, const char *ts, const char *te,
    const char *as, const char *ae, size_t *lenp)
{
	const char *ls, *le, *q, *bs, *be, *h;
	char *out = NULL;
	size_t n = 0;
	int skip = 0, drop;

	*lenp = (size_t)(te - ts);
	if ((h = heading_line(ts, te)) == NULL)
		return ts;
	for (ls = h; ls < te; ls = le + 1) {
		le = line_end(ls, te);
		for (q = ls; q < le && is_wsp(*q); q++)
			;
		drop = 0;
		if (le - q >= 4 && strncmp(q, ">>> ", 4) == 0) {
			skip = le - q >= 12 &&
			    strncasecmp(q + 4, "RCPT TO:", 8) == 0 &&
			    addr_next(q + 12, le, &bs, &be) &&
			    !same_addr(bs, be, as, ae);
			drop = skip;
		} else if (le - q >= 4 && strncmp(q, "<<< ", 4) == 0)
			drop = skip;
		else {
			skip = 0;
			drop = addr_next(q, le, &bs, &be) &&
			    sendmail_rcpt_line(q, bs, be, le) &&
			    !same_addr(bs, be, as, ae);
		}
		if (drop && out == NULL) {
			out = arena_alloc(a, (size_t)(te - ts) + 1);
			n = (size_t)(ls - ts);
			memcpy(out, ts, n);
		} else if (!drop && out != NULL) {
			memcpy(out + n, ls, (size_t)(le - ls));
			n += (size_t)(le - ls);
			if (le < te)
				out[n++] = '\n';
		}
		if (le >= te)
			break;
	}
	if (out == NULL)
		return ts;
	*lenp = n;
	return out;
}

/*
 * Is the text from the end of the line at ls (a recipient's) to e,
 * where the next recipient's line begins, one line of words ending
 * with a colon, indented no deeper ("The following recipients did not
 * receive this message:")? It announces the recipients below it, and
 * is no reason for the one above.
 */
static int
heading_only(const char *ls, const char *e)
{
	const char *p = line_end(ls, e), *q, *hs;

	while (p < e && isspace((unsigned char)*p))
		p++;
	for (q = e; q > p && isspace((unsigned char)q[-1]); q--)
		;
	for (hs = p; hs > ls && hs[-1] != '\n'; hs--)
		;
	return q > p && q[-1] == ':' && has_alnum(p, q) &&
	    memchr(p, '\n', (size_t)(q - p)) == NULL &&
	    (size_t)(p - hs) <= indent_of(ls, e);
}

/* The first line in [p, e) with a letter or digit on it (or e). */
static const char *
words_line(const char *p, const char *e)
{
	const char *le;

	for (; p < e; p = le + 1) {
		le = line_end(p, e);
		if (has_alnum(p, le))
			return p;
	}
	return e;
}

/*
 * Is candidate j's address alone on its line, and the text below it to
 * e (the next recipient's line) only the heading of the recipients
 * that follow? Then nothing below j is its own.
 */
static int
heading_below(const struct cand *c, size_t j, const char *e,
    const char *end)
{
	return cand_alone(c, j, end) && heading_only(c[j].after, e);
}

/*
 * Finds the recipients in a bounce's text and the failure text of each:
 * the line of its address (the reason often precedes the address on
 * it) and the lines after it, up to the next recipient's line. When
 * some addresses start their lines, only those are recipients (the
 * others are mentioned in passing). With only_known, text is attached
 * to the recipients already known instead.
 */
void
text_rcpts(struct dsn_parser *p, struct dsn_report *rep, const char *s,
    size_t n, const char **ex, size_t nex, int only_known)
{
	const char *e = s + n, *ls, *le, *as, *ae, *q, *fl, *run;
	struct cand *c = NULL;
	struct addrset set;
	size_t nc = 0, cap = 0, i, j, k, nlead = 0, first, naddr;
	int general, listed, only = 0, bare;

	for (ls = s; ls < e; ls = le < e ? le + 1 : e) {
		le = line_end(ls, e);
		fl = NULL;
		first = nc;
		naddr = 0;
		for (q = ls; q < le && addr_next(q, le, &as, &ae); q = ae) {
			/*
			 * Every address so far with nothing but a list's
			 * commas and blanks between: each leads the line
			 * ("ann@x, bob@x, carol@x").
			 */
			only = naddr++ == 0 ? starts_line(ls, as) :
			    only && ascii_list_gap(q, as);
			if (fl == NULL)
				fl = logical_start(s, ls, e);
			/*
			 * A line folded at some width counts as the line
			 * it continues: an address on a folded "From:" or
			 * "Final-Recipient:" line is none of the report's
			 * recipients.
			 */
			if (excluded(ex, nex, as, (size_t)(ae - as)) ||
			    after_from(ls, as) || after_msgid(ls, as) ||
			    contact_addr(fl != ls ? fl : ls, line_above(s, fl),
			    as, ae, ex, nex) ||
			    ds_field_line(ls, le) ||
			    (fl != ls && (after_from(fl, as) ||
			    ds_field_line(fl, line_end(fl, e)))))
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
			/*
			 * An address that begins the continuation of a
			 * folded line is inside that line ("(generated
			 * from\n        x@y)"), unless the line above
			 * announces a list ("failed:").
			 */
			c[nc].lead = (only || failure_names(ls, as, ae, le)) &&
			    (fl == ls || ends_colon(s, ls) ||
			    list_item(fl, ls, e));
			c[nc].hdr = header_rcpt_line(s, ls, e);
			c[nc].listline = 0;
			nlead += c[nc].lead;
			nc++;
		}
		if (naddr > 1 && only && ascii_list_gap(q, le))
			for (k = first; k < nc; k++)
				c[k].listline = 1;
	}
	nc = drop_header_rcpts(c, nc, &nlead);
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
			/*
			 * The address alone on its line, then only the
			 * heading of the next recipients: nothing of its
			 * own below it.
			 */
			if (heading_below(c, i, te, e))
				te = line_end(c[i].ae, e);
			break;
		}
		ts = c[i].after;
		/*
		 * Sendmail lists the addresses first, then a transcript
		 * with a verdict line for each ("550 <x@y>... User
		 * unknown"): that line, wherever it is, is the text.
		 * Unless it is in the text below the address's own line
		 * already: then the text around it tells more ("SMTP
		 * command: DATA").
		 */
		for (j = 0; !only_known && j < nc; j++)
			if (c[j].ae - c[j].as == c[i].ae - c[i].as &&
			    strncasecmp(c[j].as, c[i].as, an) == 0 &&
			    (c[j].after <= ts || c[j].after >= te) &&
			    sendmail_rcpt_line(c[j].after, c[j].as, c[j].ae,
			    e)) {
				ts = c[j].after;
				sendmail_reply(s, &ts, &te, e);
				break;
			}
		/*
		 * So is a line of its own further on that gives the
		 * address and its reply ("ann@x: 550 ..."), under the
		 * error heading of a notice that listed the addresses
		 * first: the section holds the others' lines too. Only
		 * when its first line gives it no reply.
		 */
		for (j = i + 1; !only_known && ts == c[i].after &&
		    !has_reply_code(c[i].ae, te) && j < nc; j++)
			if (c[j].ae - c[j].as == c[i].ae - c[i].as &&
			    strncasecmp(c[j].as, c[i].as, an) == 0 &&
			    c[j].after >= te &&
			    addr_reply_line(c[j].after, c[j].as, c[j].ae, e)) {
				ts = c[j].after;
				te = folded_end(ts, e);
				break;
			}
		/*
		 * A transcript that shows the recipient's RCPT TO and the
		 * refusal after it: that exchange is the text (the lines
		 * above it are the session's other commands and replies,
		 * "250 2.1.0 Ok" among them; the lines below it, other
		 * recipients' exchanges).
		 */
		for (j = i; !only_known && ts == c[i].after && j < nc; j++)
			if (c[j].ae - c[j].as == c[i].ae - c[i].as &&
			    strncasecmp(c[j].as, c[i].as, an) == 0 &&
			    (q = rcpt_command(c[j].after, c[j].as, e)) !=
			    NULL) {
				ts = c[j].after;
				te = q;
				break;
			}
		/*
		 * A line that lists several addresses ("ann@x, bob@x,
		 * carol@x") names each of them: the text below it, to the
		 * next section, is their reason; with nothing below, the
		 * text above it (as for an address alone on its line).
		 */
		listed = ts == c[i].after && c[i].listline;
		if (listed) {
			ts = line_end(ts, e);
			if ((q = heading_line(ts, te)) != NULL)
				te = q;
			if (!has_alnum(ts, te))
				ts = te = c[i].as;
		}
		if ((size_t)(te - ts) > MAX_DIAG)
			te = ts + MAX_DIAG;
		trim_span(&ts, &te);
		general = 0;
		if (!has_alnum(ts, c[i].as) &&
		    !has_alnum(c[i].ae, te) &&
		    list_reason(c, nc, i, nlead, e, &ts, &te))
			;	/* the reason after the list it is in */
		else if (!has_alnum(ts, c[i].as) && !has_alnum(c[i].ae, te)) {
			/* Nothing but the address: the text before says why. */
			const char *ps, *pe;

			general = 1;
			bare = 0;	/* only its address is its own */
			ts = s;
			te = listed ? c[i].after : c[i].as;
			/*
			 * After another recipient's line, the words between
			 * it and this one are this one's ("over quota:\n
			 * <a@x>\n\nThe following recipients did not receive
			 * this message:\n<b@x>"): b is not over quota.
			 * Words indented under the other recipient's line
			 * are that one's own ("eve@x\n    552 5.2.2 mailbox
			 * full\nfay@x"): this one has none. Recipients'
			 * lines right above this one (a list, blank lines
			 * between at most) share the words above the first
			 * of them; a neighbour's line is never the reason.
			 */
			run = c[i].after;
			for (j = i; j-- > 0;) {
				if (!cand_read(c, j, nlead) || c[j].after == run)
					continue;
				q = line_end(c[j].after, e);
				if (q < run && has_alnum(q, run)) {
					ts = q;
					bare = !heading_below(c, j, run, e) &&
					    continues(c[j].after,
					    words_line(q, run), e);
					break;
				}
				run = c[j].after;
			}
			if (bare) {
				ts = c[i].after;
				te = line_end(c[i].ae, e);
			} else if (run != c[i].after)
				te = run;
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
			if (!bare && run == c[i].after && c[i].after > s &&
			    (pe = c[i].after - 1) > s) {
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
			r = rcpt_add(p, rep);
			r->rcpt = lower_dup(p->a, c[i].as, an);
			/*
			 * Only in a quoted header block: the original's
			 * recipient, which the notice does not name.
			 */
			r->unnamed = c[i].hdr;
			*slot = rep->nrcpts;
		}
		r->ctx = ts;
		r->ctxlen = (size_t)(te - ts);
		if (!only_known)
			r->ctx = drop_others(p->a, ts, te, c[i].as, c[i].ae,
			    &r->ctxlen);
		if (r->diaglen == 0) {
			r->diag = r->ctx;
			r->diaglen = r->ctxlen;
			r->diag_in_text = 1;
			r->diag_general = general;
		}
	}
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

/*
 * Exchange's system mailbox, "MicrosoftExchange" and 32 hex digits
 * ("MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@x"): it sends the
 * server's own reports (non-delivery, "Delivered:", "Relayed:").
 */
static int
exchange_system(const char *as, size_t n)
{
	size_t i;

	if (n != 17 + 32 || strncasecmp(as, "microsoftexchange", 17) != 0)
		return 0;
	for (i = 17; i < n; i++)
		if (!isxdigit((unsigned char)as[i]))
			return 0;
	return 1;
}

/* Is the address in v a mailer daemon's? */
int
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
	if (exchange_system(as, n))
		return 1;
	for (i = 0; daemon_locals[i] != NULL; i++)
		if (strlen(daemon_locals[i]) == n &&
		    strncasecmp(as, daemon_locals[i], n) == 0)
			return 1;
	return 0;
}

const char *const bounce_subjects[] = {
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

int
any_in(const char *s, size_t n, const char *const *list)
{
	return has_any_ci(s, n, list);
}

int
matches_any(const char *s, const char *const *list)
{
	return s != NULL && any_in(s, strlen(s), list);
}

int
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
int
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
void
fml_rcpts(struct dsn_parser *p, struct dsn_report *rep, const char *subject,
    const char *s, size_t n)
{
	const char *e = s + n, *ls, *le, *t, *as, *ae, *lt;
	struct dsn_rcpt *r;
	char *d;
	size_t sn = subject != NULL ? strlen(subject) : 0;

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
		r->rcpt = lower_dup(p->a, as, (size_t)(ae - as));
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

/* --- a warning: delivery still being tried --------------------------- */

static const char *const warning_phrases[] = {
	"warning message only", "this is a warning only",
	"you do not need to resend", "has not yet been delivered",
	"have not yet been delivered", "has been delayed",
	"delivery is delayed", "hasn't been delivered yet",
	"has not been delivered yet",
	"will keep trying", "still trying", "will be retried until",
	"delivery attempts will continue", "still undelivered after",
	"will continue to attempt", "will retry for",
	"temporary problem delivering", "not yet able to deliver",
	NULL
};

static const char *const warning_subjects[] = {
	"(delay)", "delayed mail", "delivery delayed", "delivery delay",
	"warning: could not send message", "still being retried",
	"message delayed", NULL
};

/*
 * Words of a notice that the MTA has stopped trying: "YOU DO NOT NEED
 * TO RESEND THE MESSAGE.  THIS SERVER HAS GIVEN UP." (MDaemon) is no
 * warning.
 */
static const char *const final_phrases[] = {
	"has given up", "i've given up", "permanent fatal", NULL
};

/*
 * Is a bounce in words a warning that delivery is still being tried
 * ("THIS IS A WARNING MESSAGE ONLY", "Delivery has been delayed",
 * "Will keep trying until message is 5 days old", a "(Delay)"
 * subject)? The MTA has not given up: the text proves nothing for good.
 * Not when the text says it has given up or failed for good.
 */
int
warning_text(const char *subject, const char *s, size_t n)
{
	return (matches_any(subject, warning_subjects) ||
	    any_in(s, n, warning_phrases)) && !any_in(s, n, final_phrases);
}

/* --- a report pasted into the text ----------------------------------- */

/*
 * A whole delivery report pasted into a single-part text bounce (a
 * relay that returns the bounce it got to its own sender: "From
 * MAILER-DAEMON ..." and the report's headers, its "Content-Type:
 * multipart/report" and its parts, as text). Returns where the pasted
 * message's header block begins and sets *lenp to the rest of the
 * body; NULL if there is none.
 */
const char *
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
		/*
		 * Not from a continuation: the line above the block (the
		 * mbox "From " line) may be folded too.
		 */
		while (b < p && is_wsp(*b))
			b = line_end(b, e) + 1;
		if (b == p)
			continue;	/* no other header: not a message */
		*lenp = (size_t)(e - b);
		return b;
	}
	return NULL;
}
