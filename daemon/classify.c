/*
 * classify.c -- decide what one SMTP reply means
 *
 * Order: the rules of the provider that owns the recipient's domain
 * (or, failing that, the remote MX host), then the generic rules; the
 * first rule whose constraints (code, status, stage) hold and whose
 * pattern matches the reply text decides. A reply no rule knows gets
 * reason "undefined": retry when temporary, none otherwise.
 *
 * Then the guards, in code so that no rule file can get around them:
 * only recipient-side reasons suppress; a temporary reply never
 * suppresses by itself (the store escalates repeated soft failures);
 * a reply at the connect, HELO or MAIL stage says nothing about the
 * recipient's existence, so it never suppresses; a reply that names
 * another address than the recipient's is not about the recipient and
 * never suppresses it; nor does a reply that speaks of the sending side
 * (senderside.h), or that says its lookup failed or its failure is
 * temporary (uncertain.h); and a
 * "no such user" for a quoted local part is an alert about the
 * quoting, since the address may exist.
 *
 * Nothing here does I/O or keeps state between calls beyond buffers.
 *
 * See also: rules.h, reply.h, bouncer-rules(5).
 */
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "classify.h"
#include "lineio.h"
#include "senderside.h"
#include "uncertain.h"
#include "xalloc.h"

struct classifier {
	struct reply		 reply;
	pcre2_match_data	*md;
	void			*scratch;	/* the prefilter's */
	const char *const	*senders;	/* see classifier_senders() */
	size_t			 nsenders;
	const char *const	*cohort;	/* see classifier_cohort() */
	size_t			 ncohort;
	size_t			 nrcpt;		/* classifier_transaction() */
	enum smtp_stage	 stage;		/* ... the same */
	struct senderside	*side;		/* the sender-side guard's */
	struct uncertain	*unsure;	/* the uncertainty guard's */
	char			*words;		/* the text, mailboxes masked */
	size_t			 wordsz;
	char			*leadw;		/* the reply's lead, the same */
	size_t			 leadwsz;
	char			*tailw;		/* a payload's tail, the same */
	size_t			 tailwsz;
	const struct phrases	*sideset;	/* their phrase sets */
	const struct phrases	*unsureset;
};

struct classifier *
classifier_new(const struct ruleset *rs)
{
	struct classifier *c;

	c = xcalloc(1, sizeof(*c));
	reply_init(&c->reply);
	c->scratch = xcalloc(1, ruleset_prefilter_size(rs));
	c->md = pcre2_match_data_create(ruleset_max_captures(rs), NULL);
	c->side = senderside_new();
	c->unsure = uncertain_new();
	c->sideset = senderside_set();
	c->unsureset = uncertain_set();
	if (c->md == NULL || c->side == NULL || c->unsure == NULL) {
		classifier_free(c);
		return NULL;
	}
	return c;
}

void
classifier_free(struct classifier *c)
{
	if (c == NULL)
		return;
	pcre2_match_data_free(c->md);
	senderside_free(c->side);
	uncertain_free(c->unsure);
	reply_free(&c->reply);
	free(c->words);
	free(c->leadw);
	free(c->tailw);
	free(c->scratch);
	free(c);
}

void
classifier_senders(struct classifier *c, const char *const *addrs, size_t n)
{
	c->senders = n ? addrs : NULL;
	c->nsenders = addrs ? n : 0;
}

void
classifier_cohort(struct classifier *c, const char *const *addrs, size_t n)
{
	c->cohort = n ? addrs : NULL;
	c->ncohort = addrs ? n : 0;
}

void
classifier_transaction(struct classifier *c, size_t nrcpt,
    enum smtp_stage stage)
{
	c->nrcpt = nrcpt;
	c->stage = stage;
}

static void
strlcpy_(char *dst, const char *src, size_t dstsz)
{
	size_t n = strnlen(src, dstsz - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* A status split into fields; cls 0 when there is none. */
struct status_num {
	short	cls, subj, det;
};

static void
status_split(const char *s, struct status_num *n)
{
	size_t len;
	int field = 0, v = 0;

	n->cls = n->subj = n->det = 0;
	if (s == NULL || (len = status_at(s, s + strlen(s))) == 0)
		return;
	n->cls = (short)(s[0] - '0');
	for (s += 2, len -= 2; len > 0; s++, len--) {
		if (*s == '.') {
			n->subj = (short)v;
			v = 0;
			field++;
		} else
			v = v * 10 + (*s - '0');
	}
	n->det = (short)v;
}

static int
code_ok(const struct rule *r, int code)
{
	char c[3];
	size_t i;

	if (r->ncodes == 0 && !r->nocode)
		return 1;
	if (code == 0)
		return r->nocode;
	c[0] = (char)('0' + code / 100);
	c[1] = (char)('0' + code / 10 % 10);
	c[2] = (char)('0' + code % 10);
	for (i = 0; i < r->ncodes; i++) {
		const char *p = r->codes[i];

		if (p[0] == c[0] && (p[1] == 'x' || p[1] == c[1]) &&
		    (p[2] == 'x' || p[2] == c[2]))
			return 1;
	}
	return 0;
}

static int
status_ok(const struct rule *r, const struct status_num *st)
{
	size_t i;

	if (r->nstatuses == 0)
		return 1;
	if (st->cls == 0)
		return 0;
	for (i = 0; i < r->nstatuses; i++) {
		const struct status_pat *p = &r->statuses[i];

		if ((p->cls == -1 || p->cls == st->cls) &&
		    (p->subj == -1 || p->subj == st->subj) &&
		    (p->det == -1 || p->det == st->det))
			return 1;
	}
	return 0;
}

/* Appends " key=value" (value up to its first space) within bounds. */
static void
detail_kv(struct classification *out, const char *key, size_t klen,
    const char *val, size_t vlen)
{
	size_t off = strlen(out->details), i, need;
	char *d, *v;

	if (key != NULL) {
		/* An earlier detail of the same key wins. */
		for (d = out->details; (d = strstr(d, key)) != NULL; d++)
			if ((d == out->details || d[-1] == ' ') && d[klen] == '=')
				return;
	}
	need = (off ? 1 : 0) + (key ? klen + 1 : 0) + vlen;
	if (off + need + 1 > sizeof(out->details))
		return;
	d = out->details + off;
	if (off)
		*d++ = ' ';
	if (key != NULL) {
		memcpy(d, key, klen);
		d += klen;
		*d++ = '=';
	}
	v = d;
	for (i = 0; i < vlen; i++)
		*d++ = val[i] == ' ' || val[i] == '\t' ? '_' : val[i];
	*d = '\0';
	/* The same value, typed, for the facts bouncer acts on. */
	if (key != NULL)
		facts_set(&out->facts, key, klen, v, vlen);
}

void
detail_add(struct classification *cl, const char *kv)
{
	size_t off = strlen(cl->details);

	snprintf(cl->details + off, sizeof(cl->details) - off, "%s%s",
	    off ? " " : "", kv);
}

static void
details_static(struct classification *out, const char *s)
{
	const char *w, *eq;
	size_t n;

	while (*s != '\0') {
		while (*s == ' ')
			s++;
		for (w = s; *s != '\0' && *s != ' '; s++)
			;
		if ((n = (size_t)(s - w)) == 0)
			break;
		if ((eq = memchr(w, '=', n)) != NULL)
			detail_kv(out, w, (size_t)(eq - w), eq + 1,
			    n - (size_t)(eq - w) - 1);
		else
			detail_kv(out, NULL, 0, w, n);
	}
}

static void
details_groups(struct classification *out, const struct rule *r,
    const char *text, pcre2_match_data *md)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	uint32_t npairs = pcre2_get_ovector_count(md);
	char val[256], num[32];
	size_t i, j, len;

	for (i = 0; i < r->ngroups; i++) {
		const struct rule_group *g = &r->groups[i];

		if ((uint32_t)g->num >= npairs || ov[2 * g->num] == PCRE2_UNSET)
			continue;
		len = ov[2 * g->num + 1] - ov[2 * g->num];
		if (len == 0)
			continue;
		if (len >= sizeof(val))
			len = sizeof(val) - 1;
		memcpy(val, text + ov[2 * g->num], len);
		val[len] = '\0';
		if (g->lower)
			for (j = 0; j < len; j++)
				val[j] = (char)tolower((unsigned char)val[j]);
		if (g->scale) {
			unsigned long v = strtoul(val, NULL, 10);

			len = (size_t)snprintf(num, sizeof(num), "%lu",
			    v * g->scale);
			detail_kv(out, g->key, strlen(g->key), num, len);
		} else
			detail_kv(out, g->key, strlen(g->key), val, len);
	}
}

/*
 * Whether rule r (ruleset_rules()[i]) matches text. A rule with parts
 * runs those its prefilter lets through (scanned into c->scratch):
 * whether one matches is whether the whole pattern does, and r has no
 * named group to read from the match.
 */
static int
rule_matches(const struct ruleset *rs, size_t i, const struct rule *r,
    struct classifier *c, const char *text, size_t len)
{
	const uint8_t *ok;
	size_t u;
	int rc;

	if (r->re == NULL)
		return 1;
	if (r->nparts > 0) {
		ok = ruleset_units(rs, c->scratch, i);
		/* The same answers: pcre2_match() runs the JIT code. */
		for (u = 0; u < r->nparts; u++)
			if (ok[u] && (r->partsjit ? pcre2_jit_match(
			    r->parts[u], (PCRE2_SPTR)text, len, 0, 0, c->md,
			    NULL) : pcre2_match(r->parts[u], (PCRE2_SPTR)text,
			    len, 0, 0, c->md, NULL)) >= 0)
				return 1;
		return 0;
	}
	if (r->jit)
		rc = pcre2_jit_match(r->re, (PCRE2_SPTR)text, len, 0, 0,
		    c->md, NULL);
	else
		rc = pcre2_match(r->re, (PCRE2_SPTR)text, len, 0, 0, c->md,
		    NULL);
	return rc >= 0;
}

/* Lowercased domain of rcpt (after the last @, without a closing >). */
static void
rcpt_domain(const char *rcpt, char *buf, size_t bufsz)
{
	const char *at, *e;
	size_t i, n;

	buf[0] = '\0';
	if (rcpt == NULL || (at = strrchr(rcpt, '@')) == NULL)
		return;
	at++;
	for (e = at; *e != '\0' && *e != '>' && *e != ' '; e++)
		;
	n = (size_t)(e - at);
	if (n >= bufsz)
		return;
	for (i = 0; i < n; i++)
		buf[i] = (char)ascii_lower((unsigned char)at[i]);
	buf[n] = '\0';
}

static int
rcpt_quoted(const char *rcpt)
{
	if (rcpt == NULL)
		return 0;
	if (*rcpt == '<')
		rcpt++;
	return *rcpt == '"';
}

/* Characters of an address's local part and domain, as servers quote them. */
static int
local_char(unsigned char ch)
{
	return isalnum(ch) || (ch != '\0' && strchr(".!#$%&'*+-/=?^_`{|}~",
	    ch) != NULL);
}

static int
domain_char(unsigned char ch)
{
	return isalnum(ch) || ch == '.' || ch == '-';
}

/*
 * The start of the UTF-8 letter that ends at l (after text), as a local
 * part may hold them (RFC 6531: "jérôme@example.fr"), with *wide set
 * as utf8_addr_char() does; l when the bytes before it are no such
 * letter.
 */
static const char *
utf8_letter_before(const char *text, const char *l, int *wide)
{
	const char *s = l;

	*wide = 0;
	while (s > text && l - s < 3 && ((unsigned char)s[-1] & 0xc0) == 0x80)
		s--;
	if (s == l || s == text)
		return l;
	s--;
	if (utf8_addr_char(s, l, wide) != (size_t)(l - s))
		return l;
	return s;
}

/*
 * The start of the local part of the mailbox whose @ is at `at`, in
 * text: back over its characters (UTF-8 letters too, but an ideograph
 * never before an ASCII letter: "宛先ann@x"), but a quote opens it
 * unless a letter is before it ("550-'ann@x... User unknown'", but
 * "o'brien@x"). `at` itself when there is none.
 */
static const char *
local_start(const char *text, const char *at)
{
	const char *l = at, *u;
	int wide;

	while (l > text) {
		if ((unsigned char)l[-1] >= 0x80) {
			if ((u = utf8_letter_before(text, l, &wide)) == l ||
			    (wide && l < at && isalnum((unsigned char)*l)))
				break;
			l = u;
			continue;
		}
		if (!local_char((unsigned char)l[-1]) ||
		    ((l[-1] == '\'' || l[-1] == '`') && (l - 1 == text ||
		    !isalnum((unsigned char)l[-2]))))
			break;
		l--;
	}
	return l;
}

/*
 * The end of the domain of the mailbox whose @ is at `at`, without a
 * final dot; at + 1 when it has no dot inside (no domain). An address
 * literal ("[192.0.2.7]", "[IPv6:2001:db8::1]") ends after its "]"; a
 * name may hold UTF-8 letters (an internationalised domain, RFC 6531):
 * utf8_addr_char(), but no ideograph right after an ASCII letter
 * ("ann@example.jp宛の").
 */
static const char *
domain_end(const char *at, const char *e)
{
	const char *d, *de;
	size_t k;
	int wide;

	if (e - at > 2 && at[1] == '[') {
		for (d = at + 2; d < e && d - at < 64 && (isalnum(
		    (unsigned char)*d) || *d == '.' || *d == ':'); d++)
			;
		return d < e && *d == ']' && d > at + 2 ? d + 1 : at + 1;
	}
	/* two dots end it: Sendmail writes "ann@example.org...User unknown" */
	for (d = at + 1; d < e; d += k) {
		if (domain_char((unsigned char)*d))
			k = 1;
		else if ((k = utf8_addr_char(d, e, &wide)) == 0 ||
		    (wide && isalnum((unsigned char)d[-1])))
			break;
		if (d[0] == '.' && d + 1 < e && d[1] == '.')
			break;
	}
	for (de = d; de > at + 1 && de[-1] == '.'; de--)
		;
	if (de == at + 1 || memchr(at + 1, '.', (size_t)(de - at - 1)) ==
	    NULL)
		return at + 1;
	return de;
}

/*
 * Copies the reply's text to *bufp (c->words; grown as needed, *szp
 * its size) with the letters of every
 * mailbox's local part made 'x', and of its domain when that is the
 * recipient's (domain, lowercase, "" if none): what a reply says is in
 * its words, not in the names of the mailboxes it quotes (a recipient
 * called dmarc@, virus@ or greylist@, or at spf.example.org, is not an
 * authentication failure, a virus or greylisting). Other domains stay:
 * "zen.spamhaus.org" is a word of the reply, and so is a provider's
 * contact mailbox's ("tosa@rx.t-online.de"). Same length, so that
 * offsets agree with the text.
 */
static void
mask_mailboxes(char **bufp, size_t *szp, const char *text, size_t len,
    const char *domain)
{
	const char *p, *e = text + len, *l, *de;
	size_t dn = strlen(domain);
	char *w;

	if (*szp < len + 1) {
		*szp = len + 1 < 256 ? 256 : len + 1;
		free(*bufp);
		/* zeroed: the JIT reads ahead of the text, within it */
		*bufp = xcalloc(1, *szp);
	}
	memcpy(*bufp, text, len);
	(*bufp)[len] = '\0';
	for (p = text; p < e && (p = memchr(p, '@', (size_t)(e - p))) != NULL;
	    p++) {
		l = local_start(text, p);
		if (l == p || (de = domain_end(p, e)) == p + 1)
			continue;
		/* the recipient's domain too, in its mailboxes */
		if (dn == 0 || (size_t)(de - p - 1) != dn ||
		    !ascii_eq_ci(p + 1, domain, dn))
			de = p;
		for (w = *bufp + (l - text); w < *bufp + (de - text); w++)
			if (isalpha((unsigned char)*w))
				*w = 'x';
	}
}

/*
 * Mailboxes that a reply names as a contact, not as the subject of the
 * reply ("contact postmaster@example.net").
 */
static int
contact_local(const char *p, size_t n)
{
	static const char *const names[] = { "postmaster", "abuse",
	    "hostmaster", "webmaster", "mailer-daemon", "helpdesk",
	    "support", "security" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && ascii_eq_ci(p, names[i], n))
			return 1;
	return 0;
}

/*
 * Is the mailbox that ends at de, in text (up to e), the subject of what
 * the reply says ("<postmaster@example.org>: User unknown",
 * "postmaster@example.org does not exist")? A contact address is named
 * for the reader to write to; one followed by a colon, "..." or a verb
 * of its own is the address the reply is about.
 */
static int
subject_address(const char *de, const char *e)
{
	static const char *const words[] = {
		"does", "doesn't", "did", "is", "was", "not", "unknown",
		"user", "mailbox", "no", "has", "account", NULL
	};
	const char *w;
	size_t i, n;

	if (de < e && (*de == '>' || *de == '"' || *de == '\''))
		de++;
	if (de < e && *de == ':')
		return 1;
	if (e - de >= 3 && memcmp(de, "...", 3) == 0)
		return 1;
	if (de >= e || *de != ' ')
		return 0;
	for (w = ++de; w < e && (isalpha((unsigned char)*w) || *w == '\'');
	    w++)
		;
	n = (size_t)(w - de);
	for (i = 0; words[i] != NULL; i++)
		if (strlen(words[i]) == n && ascii_eq_ci(de, words[i], n))
			return 1;
	return 0;
}

/* What a reply's text says of mailboxes, for the guards below. */
enum mention {
	MENTION_NONE,		/* no mailbox, or rcpt has no domain */
	MENTION_OTHER_DOMAIN,	/* only mailboxes of other domains */
	MENTION_SAME_DOMAIN,	/* another mailbox of rcpt's domain */
	MENTION_RCPT,		/* rcpt itself */
	MENTION_RCPT_COHORT,	/* rcpt and other recipients of its text */
	MENTION_RCPT_AND_OTHER	/* rcpt and another mailbox after it */
};

/*
 * Is the mailbox at l, in text, given as the new address of a moved one
 * ("please try <new@...>", "has been replaced by new@...", "forwarded
 * to new@...", "new address is ...")? The word before it says so.
 */
static int
new_address(const char *text, const char *l)
{
	static const char *const words[] = {
		"try", "to", "by", "is", "at", "use", "address", NULL
	};
	const char *we, *w;
	size_t i, n;

	for (we = l; we > text && (we[-1] == ' ' || we[-1] == '<' ||
	    we[-1] == '"' || we[-1] == '\'' || we[-1] == ':'); we--)
		;
	for (w = we; w > text && isalpha((unsigned char)w[-1]); w--)
		;
	n = (size_t)(we - w);
	for (i = 0; words[i] != NULL; i++)
		if (strlen(words[i]) == n && ascii_eq_ci(w, words[i], n))
			return 1;
	return 0;
}

/*
 * Which mailboxes (local@domain.tld) does text name? The recipient
 * itself wins over any other; contact addresses (unless the reply is
 * about them, see subject_address()) and the senders' own
 * do not count, nor, with moved set, the new address of a moved
 * mailbox (see new_address()).
 */
/*
 * Is the mailbox at l, in text, given as the sender ("from=<x@y>",
 * "from <x@y>", "sender x@y", "MAIL FROM:<x@y>", an SES notification's
 * "source":"x@y")? The word before it says so.
 */
static int
sender_address(const char *text, const char *l)
{
	const char *we, *w, *b;

	for (we = l; we > text && (we[-1] == ' ' || we[-1] == '<' ||
	    we[-1] == '"' || we[-1] == '=' || we[-1] == ':'); we--)
		;
	for (w = we; w > text && isalpha((unsigned char)w[-1]); w--)
		;
	if ((size_t)(we - w) == 6 && (ascii_eq_ci(w, "sender", 6) ||
	    ascii_eq_ci(w, "source", 6)))
		return 1;
	if ((size_t)(we - w) != 4 || !ascii_eq_ci(w, "from", 4))
		return 0;
	/*
	 * "from=<x>", "from:<x>", "(from x)", "MAIL FROM <x>", "envelope
	 * from <x>": a plain "from" may be anyone's ("response from
	 * <x@y>", "forwarded from x@y").
	 */
	if ((we < l && (*we == '=' || *we == ':')) || (w > text && w[-1] == '('))
		return 1;
	for (b = w; b > text && b[-1] == ' '; b--)
		;
	for (we = b; b > text && isalpha((unsigned char)b[-1]); b--)
		;
	return ((size_t)(we - b) == 4 && ascii_eq_ci(b, "mail", 4)) ||
	    ((size_t)(we - b) == 8 && ascii_eq_ci(b, "envelope", 8));
}

/*
 * Is the "mailbox" at l, in text, a message identifier ("Message-ID:
 * <x@y>", "message-id=<x@y>", "In-Reply-To:", "References:")? The name
 * before it says so.
 */
static int
msgid_address(const char *text, const char *l)
{
	static const char *const names[] = {
		"message-id", "messageid", "msgid", "in-reply-to",
		"references", "original-message-id", NULL
	};
	const char *we, *w;
	size_t i;

	for (we = l; we > text && (we[-1] == ' ' || we[-1] == '<' ||
	    we[-1] == '\t'); we--)
		;
	if (we == text || (we[-1] != ':' && we[-1] != '='))
		return 0;
	we--;
	for (w = we; w > text && (isalpha((unsigned char)w[-1]) ||
	    w[-1] == '-'); w--)
		;
	for (i = 0; names[i] != NULL; i++)
		if (strlen(names[i]) == (size_t)(we - w) &&
		    ascii_eq_ci(w, names[i], (size_t)(we - w)))
			return 1;
	return 0;
}

/* Does a verb of forwarding end at e ("Redirect", "forwarded")? */
static int
forward_verb(const char *text, const char *e)
{
	static const char *const verbs[] = {
		"redirect", "redirected", "forward", "forwarded", "relay",
		"relayed", "resent", "sent", "delivered", "copied", "routed",
		NULL
	};
	const char *w;
	size_t i;

	while (e > text && isspace((unsigned char)e[-1]))
		e--;
	for (w = e; w > text && isalpha((unsigned char)w[-1]); w--)
		;
	for (i = 0; verbs[i] != NULL; i++)
		if (strlen(verbs[i]) == (size_t)(e - w) &&
		    ascii_eq_ci(w, verbs[i], (size_t)(e - w)))
			return 1;
	return 0;
}

/*
 * Is the mailbox at l, in text, in a header field the reply quotes from
 * the message ("  To: list@example.org", "From: News <news@x>")? Those
 * are the message's addresses, not where it was forwarded. The field's
 * name is written as a header's, capitalised after a blank (the reply's
 * lines may have been joined), at most a display name before the
 * address, and not after a verb of forwarding ("Redirect To: x@y").
 */
static int
quoted_header_address(const char *text, const char *l)
{
	static const char *const names[] = {
		"To:", "Cc:", "CC:", "Bcc:", "From:", "Reply-To:", "Sender:",
		"Return-Path:", NULL
	};
	const char *w, *h, *stop = l - (l - text > 80 ? 80 : l - text);
	size_t i, n;

	for (w = l; w > stop && w[-1] != '@' && w[-1] != ',' &&
	    w[-1] != ';'; w--) {
		if (w[-1] != ':' || (w - 1 > text && !isalpha(
		    (unsigned char)w[-2])))
			continue;
		for (i = 0; names[i] != NULL; i++) {
			n = strlen(names[i]);
			if ((size_t)(w - text) < n)
				continue;
			h = w - n;
			if (memcmp(h, names[i], n) == 0 && (h == text ||
			    (isspace((unsigned char)h[-1]) &&
			    !forward_verb(text, h - 1))))
				return 1;
		}
	}
	return 0;
}

/* Is the mailbox from l to de one of the n addresses of list? */
static int
one_of(const char *const *list, size_t n, const char *l, const char *de)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(list[i]) == (size_t)(de - l) &&
		    ascii_eq_ci(list[i], l, (size_t)(de - l)))
			return 1;
	return 0;
}

/*
 * The addresses mentions() is told of: the senders' own and the other
 * recipients given the same text (see classifier_cohort()).
 */
struct known {
	const char *const	*senders;
	size_t			 nsenders;
	const char *const	*cohort;
	size_t			 ncohort;
};

/*
 * The first rule of chain (nchain indices, the prefilter's miss beside
 * them) that takes text (len bytes) with this code, status and stage;
 * with words_only, only a rule with a pattern (not one on codes
 * alone). NULL if none.
 */
static const struct rule *
first_rule(struct classifier *c, const struct ruleset *rs,
    const uint32_t *chain, size_t nchain, const uint8_t *miss, int code,
    const struct status_num *st, enum smtp_stage stage, const char *text,
    size_t len, int words_only)
{
	const struct rule *const *rules;
	const struct rule *r;
	size_t nrules, i;

	rules = ruleset_rules(rs, &nrules);
	for (i = 0; i < nchain; i++) {
		if (miss[chain[i]])
			continue;
		r = rules[chain[i]];
		if ((words_only && r->re == NULL) || !code_ok(r, code) ||
		    !status_ok(r, st) ||
		    (r->stages && !(r->stages & 1u << stage)))
			continue;
		if (rule_matches(rs, chain[i], r, c, text, len))
			return r;
	}
	return NULL;
}

/*
 * The first rule that words take alone, with no code, no status and
 * no stage to constrain it, and a pattern (a rule on codes alone does
 * not count); NULL if none. Runs the prefilter on them: c's scratch
 * is theirs afterwards.
 */
static const struct rule *
words_rule(struct classifier *c, const struct ruleset *rs,
    const struct provider *provider, const char *words, size_t len)
{
	const struct status_num none = { 0 };
	const uint32_t *chain;
	const uint8_t *miss;
	size_t nchain;

	miss = ruleset_prefilter(rs, words, len, c->scratch);
	chain = ruleset_candidates(rs, provider, 0, 0, 0, &nchain);
	return first_rule(c, rs, chain, nchain, miss, 0, &none,
	    STAGE_UNKNOWN, words, len, 1);
}

/*
 * Is [l, de) a log's key=value pair whose value is the last n bytes
 * ("rcpt_to=ann@x", "to=ann@x" after a space or at the start): a key
 * of letters and "_" that local_start() took into the local part? Not
 * inside "<...>" or quotes, where "x=ann@y" is one address.
 */
static int
log_key(const char *text, const char *l, const char *de, size_t n)
{
	const char *k;

	if ((size_t)(de - l) <= n + 1 || de[-(ptrdiff_t)n - 1] != '=' ||
	    (l > text && l[-1] != ' ' && l[-1] != ',' && l[-1] != ';'))
		return 0;
	for (k = l; k < de - n - 1; k++)
		if (!isalpha((unsigned char)*k) && *k != '_')
			return 0;
	return 1;
}

static enum mention
mentions(const char *rcpt, const char *text, size_t len,
    const struct known *k, int moved)
{
	const char *r, *re, *rd, *p, *e = text + len, *l, *de;
	size_t rlen, rdlen;
	enum mention other = MENTION_NONE, co = MENTION_NONE, *kind;
	int seen = 0, sender = 0;
	const char *listed = NULL;	/* the end of the list's last so far */

	if (rcpt == NULL)
		return MENTION_NONE;
	r = rcpt;
	if (*r == '<')
		r++;
	for (re = r; *re != '\0' && *re != '>' && *re != ' '; re++)
		;
	rlen = (size_t)(re - r);
	for (rd = re; rd > r && rd[-1] != '@'; rd--)
		;
	if (rd == r || rd == re)
		return MENTION_NONE;
	rdlen = (size_t)(re - rd);
	for (p = text; p < e && (p = memchr(p, '@', (size_t)(e - p))) != NULL;
	    p++) {
		l = local_start(text, p);
		de = domain_end(p, e);
		if (l == p || de == p + 1)
			continue;
		if (log_key(text, l, de, rlen) && ascii_eq_ci(de - rlen, r, rlen))
			l = de - rlen;
		if ((size_t)(de - l) == rlen && ascii_eq_ci(l, r, rlen)) {
			seen = 1;
			listed = de;
			continue;
		}
		if ((contact_local(l, (size_t)(p - l)) &&
		    !subject_address(de, e)) || (moved && new_address(text, l)) ||
		    msgid_address(text, l))
			continue;
		/*
		 * After the recipient, another mailbox is the one it was
		 * forwarded or expanded to ("<ann@x>: alias expansion
		 * failed: <old@x>: user unknown"), unless it is the sender.
		 * Another recipient given this same text ("to ann@x,
		 * bob@x") is counted apart: as another mailbox only if the
		 * text does not name the recipient, or names it again apart
		 * from the list ("to ann@x, bob@x ... Reason: bob@x: user
		 * unknown" is said of bob alone).
		 */
		kind = one_of(k->cohort, k->ncohort, l, de) ? &co : &other;
		if (seen && kind == &co && ascii_list_gap(listed, l)) {
			co = MENTION_OTHER_DOMAIN;
			listed = de;
			continue;
		}
		if (kind == &co && !seen)
			listed = de;
		if (seen) {
			if (!sender_address(text, l) &&
			    !quoted_header_address(text, l) &&
			    !one_of(k->senders, k->nsenders, l, de))
				return MENTION_RCPT_AND_OTHER;
			continue;
		}
		if (one_of(k->senders, k->nsenders, l, de)) {
			/* named as the subject, not as "from=<x>" */
			if (!sender_address(text, l))
				sender = 1;
			continue;
		}
		if ((size_t)(de - p - 1) == rdlen && ascii_eq_ci(p + 1, rd,
		    rdlen))
			*kind = MENTION_SAME_DOMAIN;
		else if (*kind == MENTION_NONE)
			*kind = MENTION_OTHER_DOMAIN;
	}
	/*
	 * Another mailbox before the recipient is the one that failed
	 * just as well ("<bob@y> (expanded from <ann@x>): unknown user",
	 * "<bob@y>... User unknown (forwarded from ann@x)").
	 */
	if (seen)
		return other != MENTION_NONE ? MENTION_RCPT_AND_OTHER :
		    co != MENTION_NONE ? MENTION_RCPT_COHORT : MENTION_RCPT;
	if (co == MENTION_SAME_DOMAIN || other == MENTION_NONE)
		other = co;
	/*
	 * Only the sender named, and not as the sender ("<bounce@news.x>...
	 * User unknown"): the reply is about our address, not the
	 * recipient's.
	 */
	if (other == MENTION_NONE && sender)
		return MENTION_OTHER_DOMAIN;
	return other;
}

/* Is the dotted name t (n bytes) the domain d, one under it or above it? */
static int
domain_related(const char *t, size_t n, const char *d)
{
	size_t dn = strlen(d);

	if (n == dn)
		return ascii_eq_ci(t, d, n);
	if (n > dn)
		return t[n - dn - 1] == '.' && ascii_eq_ci(t + n - dn, d, dn);
	return d[dn - n - 1] == '.' && ascii_eq_ci(d + dn - n, t, n);
}

/*
 * Is the run t (n bytes) a host or domain name as a reply names one:
 * labels with a dot between, the last of two letters or more, and no
 * capital inside a word (Exchange's "SMTPSEND.DNS.NonExistentDomain"
 * is a code)?
 */
static int
domain_name(const char *t, size_t n)
{
	size_t i, last;

	if (n == 0 || !isalnum((unsigned char)t[0]) ||
	    memchr(t, '.', n) == NULL)
		return 0;
	for (i = 1; i < n; i++)
		if (islower((unsigned char)t[i - 1]) &&
		    isupper((unsigned char)t[i]))
			return 0;
	for (last = n; last > 0 && t[last - 1] != '.'; last--)
		;
	if (n - last < 2)
		return 0;
	for (i = last; i < n; i++)
		if (!isalpha((unsigned char)t[i]))
			return 0;
	return 1;
}

/*
 * Does text name a host or domain (outside a mailbox and a URL) and
 * never the recipient's domain d, one under it or one above it? "Domain
 * our.example not found" is then about another domain than the
 * recipient's, most often the sender's.
 */
static int
names_other_domain(const char *d, const char *text, size_t len)
{
	const char *p = text, *e = text + len, *t, *te;
	int other = 0;

	if (*d == '\0')
		return 0;
	while (p < e) {
		if (!domain_char((unsigned char)*p)) {
			p++;
			continue;
		}
		for (t = p; p < e && domain_char((unsigned char)*p); p++)
			;
		for (te = p; te > t && (te[-1] == '.' || te[-1] == '-'); te--)
			;
		if ((t > text && (t[-1] == '@' || t[-1] == '/')) ||
		    (p < e && (*p == '@' || *p == '/')) ||
		    !domain_name(t, (size_t)(te - t)))
			continue;
		if (domain_related(t, (size_t)(te - t), d))
			return 0;
		other = 1;
	}
	return other;
}

/*
 * The reasons that say a named mailbox is gone, full or closed; a
 * rejection of "rejected" or "filtered" often names the sender instead.
 */
static int
reason_names_mailbox(enum reason r)
{
	return r == R_USERUNKNOWN || r == R_MAILBOXFULL || r == R_SUSPEND ||
	    r == R_HOSTUNKNOWN || r == R_NOTACCEPT;
}

/*
 * Is a text that names mailboxes so (see mentions()) about another than
 * the recipient, for a reply of this reason? Another mailbox of the
 * recipient's own domain always counts; one elsewhere only for a reason
 * about a mailbox's existence, since a list's or a recipient's refusal
 * often names the sender. A moved mailbox names its new address, which
 * does not count (mentions() leaves it out); the old one does.
 */
static int
about_another(enum mention named, enum reason reason)
{
	return named == MENTION_SAME_DOMAIN ||
	    ((named == MENTION_OTHER_DOMAIN ||
	    named == MENTION_RCPT_AND_OTHER) &&
	    (reason_names_mailbox(reason) || reason == R_HASMOVED));
}

/*
 * Does a span of the reply other than its text (the words in front of
 * it, the command it answered; len 0 when there is none) name another
 * mailbox than rcpt, as about_another() reads a reply of this reason?
 */
static int
span_about_another(const char *rcpt, const char *text, size_t len,
    const struct known *known, enum reason reason)
{
	return len > 0 && about_another(mentions(rcpt, text, len, known,
	    reason == R_HASMOVED), reason);
}

/*
 * Does the text speak of our sending host rather than our sender: its
 * IP address, host name, HELO, server, network or connections?
 */
static int
names_our_host(const char *text, size_t len)
{
	static const char *const words[] = {
		"ip", "helo", "ehlo", "host", "hostname", "server", "network",
		"connection", "connections", "ptr", "rdns", "relay", NULL
	};
	const char *p, *e = text + len, *w;
	size_t i, n;
	int dots;

	for (p = text; p < e; p = w) {
		while (p < e && !isalnum((unsigned char)*p))
			p++;
		for (w = p, dots = 0; w < e && (isalnum((unsigned char)*w) ||
		    (*w == '.' && w + 1 < e && isdigit((unsigned char)w[1])));
		    w++)
			dots += *w == '.';
		n = (size_t)(w - p);
		if (dots == 3 && isdigit((unsigned char)*p))
			return 1;	/* a dotted quad */
		for (i = 0; words[i] != NULL; i++)
			if (strlen(words[i]) == n && ascii_eq_ci(p, words[i], n))
				return 1;
	}
	return 0;
}

/*
 * Does the field key, as a JSON member or a key=value pair ("key":
 * "value", key=value, "key" : value), hold value at p? Case is the
 * service's for the key, any for the value.
 */
static int
field_is(const char *p, const char *e, const char *key, const char *value)
{
	size_t kn = strlen(key), vn = strlen(value);
	const char *k, *v;

	for (k = p; (size_t)(e - k) >= kn && (k = memmem(k, (size_t)(e - k),
	    key, kn)) != NULL; k++) {
		if (k > p && (isalnum((unsigned char)k[-1]) || k[-1] == '_'))
			continue;
		v = k + kn;
		if (v < e && *v == '"')
			v++;
		while (v < e && *v == ' ')
			v++;
		if (v >= e || (*v != ':' && *v != '='))
			continue;
		for (v++; v < e && *v == ' '; v++)
			;
		if (v < e && *v == '"')
			v++;
		if ((size_t)(e - v) >= vn && ascii_eq_ci(v, value, vn) &&
		    (v + vn == e || !isalnum((unsigned char)v[vn])))
			return 1;
	}
	return 0;
}

/*
 * A sending service's own word, among a payload's fields, that the
 * failure is temporary: Mailgun's "severity": "temporary" (it will
 * try again), SES's "bounceType": "Transient", Postmark's "Type":
 * "SoftBounce" or "Transient". Whatever the reply inside says, the
 * service judged that the address may work again.
 */
static int
esp_transient(const char *p, size_t n)
{
	static const char *const kv[][2] = {
		{ "severity", "temporary" },
		{ "bounceType", "Transient" },
		{ "Type", "SoftBounce" },
		{ "Type", "Transient" },
	};
	size_t i;

	if (p == NULL)
		return 0;
	for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		if (field_is(p, p + n, kv[i][0], kv[i][1]))
			return 1;
	return 0;
}

void
classify(struct classifier *c, const struct ruleset *rs, const char *rcpt,
    const char *text, size_t len, const char *dsn, const char *relay,
    struct classification *out)
{
	const uint32_t *chain;
	const uint8_t *miss, *gmiss;
	const struct reply *rp = &c->reply;
	struct status_num st;
	char domain[256];
	size_t nchain;
	enum mention named;
	struct known known;
	const struct rule *lr;
	int lead = 0;

	c->reply.want = rcpt;
	reply_parse(&c->reply, text, len);
	if (c->reply.stage == STAGE_UNKNOWN)
		c->reply.stage = c->stage;
	memset(out, 0, offsetof(struct classification, details));
	out->details[0] = '\0';
	out->reply = rp;
	out->code = rp->code;
	out->stage = rp->stage;

	/* The status that constraints see: the reply's, else the MTA's. */
	status_split(rp->status[0] ? rp->status : dsn, &st);
	/*
	 * Temporary when the code or the enhanced status says so: "550
	 * 4.1.1" is a transient status (RFC 3463), whatever the code.
	 */
	if (rp->code)
		out->temporary = rp->code / 100 == 4 || st.cls == 4;
	else if (st.cls)
		out->temporary = st.cls == 4;
	else
		out->temporary = -1;
	if (esp_transient(rp->text, rp->textlen) ||
	    esp_transient(rp->lead, rp->leadlen) ||
	    esp_transient(rp->tail, rp->taillen))
		out->temporary = 1;

	rcpt_domain(rcpt, domain, sizeof(domain));
	mask_mailboxes(&c->words, &c->wordsz, rp->text, rp->textlen, domain);
	/*
	 * The reporter's words in front of a reply found inside them
	 * (struct reply's lead: "Your account has been suspended. Error:
	 * 550 5.1.1 ...", "Lookup failed, will retry. Reason: 550 ..."):
	 * no rule reads them, but the guards do, as the reply's.
	 */
	if (rp->leadlen > 0)
		mask_mailboxes(&c->leadw, &c->leadwsz, rp->lead, rp->leadlen,
		    domain);
	if (rp->taillen > 0)
		mask_mailboxes(&c->tailw, &c->tailwsz, rp->tail, rp->taillen,
		    domain);
	miss = ruleset_prefilter(rs, c->words, rp->textlen, c->scratch);

	out->provider = ruleset_provider(rs, domain,
	    relay != NULL && *relay ? relay : rp->host);
	chain = ruleset_candidates(rs, out->provider, rp->code, st.cls,
	    st.subj, &nchain);
	out->rule = first_rule(c, rs, chain, nchain, miss, rp->code, &st,
	    rp->stage, c->words, rp->textlen, 0);

	if (out->rule != NULL) {
		out->reason = out->rule->reason;
		out->decision = out->rule->decision;
		details_static(out, out->rule->details);
		if (out->rule->re != NULL)
			details_groups(out, out->rule, c->words, c->md);
	} else {
		out->reason = R_UNDEFINED;
		out->decision = out->temporary == 1 ? D_RETRY : 0;
	}

	/*
	 * Guards. The stage comes first: a temporary refusal of MAIL FROM
	 * is about the destination's view of us, so it throttles rather
	 * than retrying one recipient.
	 */
	if (out->decision & D_SUPPRESS) {
		switch (verdict_scope(rp->stage, out->reason)) {
		case GUARD_REASON:
			out->decision &= ~D_SUPPRESS;
			break;
		case GUARD_STAGE:
			out->decision &= ~D_SUPPRESS;
			if (out->decision == 0)
				out->decision = out->temporary == 1 ?
				    D_THROTTLE : D_ALERT;
			/*
			 * REASONS.md: about us, our sender or our host; a
			 * server that takes no mail at all stays notaccept.
			 */
			if ((reason_names_mailbox(out->reason) &&
			    out->reason != R_NOTACCEPT) ||
			    out->reason == R_HASMOVED)
				out->reason = rp->stage == STAGE_MAIL ?
				    R_REJECTED : R_BLOCKED;
			detail_kv(out, "guard", 5, "stage", 5);
			break;
		case GUARD_NONE:
			break;
		}
	}
	/*
	 * Postfix's "delivery temporarily suspended: <reply>": the queue
	 * manager deferred this recipient without trying it, because the
	 * site failed before. The reply it repeats gives the reason (the
	 * site's), but it answered another recipient or the session: it
	 * is temporary, and never suppresses this one.
	 */
	if (rp->suspended) {
		out->temporary = 1;
		if (out->decision & D_SUPPRESS) {
			out->decision = (out->decision & ~D_SUPPRESS) |
			    D_RETRY;
			detail_kv(out, "guard", 5, "suspended", 9);
		}
	}
	if ((out->decision & D_SUPPRESS) && out->temporary == 1) {
		out->decision = (out->decision & ~D_SUPPRESS) | D_RETRY;
		detail_kv(out, "guard", 5, "temporary", 9);
	}
	/*
	 * A reply whose code or enhanced status says the command succeeded
	 * or goes on (2xx, 3xx, 2.x.x: "250 2.1.5 Ok, user unknown check
	 * skipped", "221 Bye") refused nothing, whatever its words.
	 */
	if ((out->decision & D_SUPPRESS) && ((rp->code >= 200 &&
	    rp->code < 400) || st.cls == 2)) {
		out->decision &= ~D_SUPPRESS;
		detail_kv(out, "guard", 5, "success", 7);
	}
	/*
	 * A reply that names someone else is not about this recipient: a
	 * refusal at the end of DATA answers for every recipient of the
	 * transaction and names one of them, and a forwarded message is
	 * refused for the address it was forwarded to: about_another().
	 */
	known.senders = c->senders;
	known.nsenders = c->nsenders;
	known.cohort = c->cohort;
	known.ncohort = c->ncohort;
	named = mentions(rcpt, rp->text, rp->textlen, &known,
	    out->reason == R_HASMOVED);
	if ((out->decision & D_SUPPRESS) && about_another(named, out->reason)) {
		out->decision &= ~D_SUPPRESS;
		detail_kv(out, "guard", 5, "other-address", 13);
	}
	/*
	 * A domain that does not exist or takes no mail, when the reply
	 * names a domain and it is not the recipient's ("Domain our.example
	 * not found", "... publishes a null MX"), is another one's, most
	 * often our sender's.
	 */
	if ((out->decision & D_SUPPRESS) && (out->reason == R_HOSTUNKNOWN ||
	    out->reason == R_NOTACCEPT) &&
	    names_other_domain(domain, rp->text, rp->textlen)) {
		out->decision &= ~D_SUPPRESS;
		detail_kv(out, "guard", 5, "other-domain", 12);
	}
	/*
	 * A reply to DATA or to the message answers for every recipient
	 * of the transaction at once. Its "no such user" is not the
	 * RCPT-stage verdict on one address but the refusal of something
	 * that read the message (Sisimai's "filtered"), unless the
	 * enhanced status itself says "bad mailbox" (x.1.x). It says a
	 * recipient is gone when it names that recipient, when the
	 * recipient was alone in the transaction, or, when nobody knows,
	 * in the words of the recipient's own provider, who documents
	 * what its servers mean at that stage; generic words are not
	 * enough.
	 */
	if (rp->stage == STAGE_DATA || rp->stage == STAGE_EOD) {
		if (out->reason == R_USERUNKNOWN && st.subj != 1)
			out->reason = R_FILTERED;
		if ((out->decision & D_SUPPRESS) && named != MENTION_RCPT &&
		    c->nrcpt != 1 && !(c->nrcpt == 0 && out->rule != NULL &&
		    out->provider != NULL &&
		    out->rule->provider == out->provider)) {
			out->decision &= ~D_SUPPRESS;
			detail_kv(out, "guard", 5, "data-stage", 10);
		}
	}
	/*
	 * Words about a mailbox said of the sending side (our envelope
	 * sender, our IP, the unknown addresses we tried): whatever rule
	 * decided, the recipient is not known to be gone. See senderside.h.
	 */
	if ((out->decision & D_SUPPRESS) &&
	    (((gmiss = ruleset_guard_miss(rs, miss, c->sideset)) != NULL ?
	    senderside_match_scanned(c->side, gmiss, c->words, rp->textlen) :
	    senderside_match(c->side, c->words, rp->textlen)) ||
	    (lead = rp->leadlen > 0 && senderside_match(c->side, c->leadw,
	    rp->leadlen)) != 0 || (rp->taillen > 0 &&
	    senderside_match(c->side, c->tailw, rp->taillen)))) {
		out->decision &= ~D_SUPPRESS;
		if (out->decision == 0)
			out->decision = D_ALERT;
		/* REASONS.md: our sender refused, or our host blocked */
		if (reason_names_mailbox(out->reason) ||
		    out->reason == R_HASMOVED)
			out->reason = names_our_host(c->words, rp->textlen) ||
			    (lead && names_our_host(c->leadw, rp->leadlen)) ?
			    R_BLOCKED : R_REJECTED;
		detail_kv(out, "guard", 5, "sender-side", 11);
	}
	/*
	 * A suppression on a status alone (a rule that reads no words),
	 * when the status is not the reply's own but the one the reporting
	 * MTA gave it, does not stand against words that name our sending
	 * host ("550 Your server 192.0.2.9 is not welcome here" under
	 * "Status: 5.1.1"): they are the remote's own, the status is a
	 * reading of them.
	 */
	if ((out->decision & D_SUPPRESS) && out->rule != NULL &&
	    out->rule->re == NULL && rp->status[0] == '\0' && dsn != NULL &&
	    *dsn != '\0' && names_our_host(c->words, rp->textlen)) {
		out->decision = (out->decision & ~D_SUPPRESS) | D_ALERT;
		out->reason = R_BLOCKED;
		detail_kv(out, "guard", 5, "our-host", 8);
	}
	/*
	 * A reply that says the lookup failed or the failure is temporary
	 * ("User unknown, try again later", "LDAP lookup failed") has not
	 * found the mailbox gone, whatever its code: it is retried. See
	 * uncertain.h.
	 */
	if ((out->decision & D_SUPPRESS) &&
	    (((gmiss = ruleset_guard_miss(rs, miss, c->unsureset)) != NULL ?
	    uncertain_match_scanned(c->unsure, gmiss, c->words, rp->textlen) :
	    uncertain_match(c->unsure, c->words, rp->textlen)) ||
	    (rp->leadlen > 0 && uncertain_match(c->unsure, c->leadw,
	    rp->leadlen)))) {
		out->decision = (out->decision & ~D_SUPPRESS) | D_RETRY;
		detail_kv(out, "guard", 5, "uncertain", 9);
	}
	/*
	 * The reporter's words in front of the reply may name the mailbox
	 * the recipient was forwarded to ("ann@x is forwarded to ann@y.
	 * Error: 550 5.1.1 User unknown") or the one that failed in its
	 * stead ("Delivery to old@x failed. Error: 550 5.1.1 User
	 * unknown", a group's member, when the recipient is the group): the
	 * reply is that one's, as it would be were the words the reply's.
	 * After the guards above, which name what the words say of our side.
	 * So does the RCPT TO a wrapper says the reply answered ("SMTP
	 * error from remote mail server after RCPT TO:<bob@x>: 550 5.1.1
	 * User unknown"): it names the mailbox the reply is about. So do a
	 * payload's members after the reply ("...","recipient":"bob@x").
	 */
	if ((out->decision & D_SUPPRESS) &&
	    (span_about_another(rcpt, rp->lead, rp->leadlen, &known,
	    out->reason) || span_about_another(rcpt, rp->tail, rp->taillen,
	    &known, out->reason) || span_about_another(rcpt, rp->rcptcmd,
	    rp->rcptcmdlen, &known, out->reason))) {
		out->decision &= ~D_SUPPRESS;
		detail_kv(out, "guard", 5, "other-address", 13);
	}
	/*
	 * And the words in front may say another thing than the reply
	 * ("ann@x: mailbox full. Error: 550 5.1.1 unknown"): a suppression
	 * stands only if a rule reading them alone would not decide
	 * otherwise. A rule that finds too little to decide (onhold, no
	 * action, no detail: a sending service's bare "HardBounce" in
	 * front of the reply it carries) decides nothing; one that names
	 * a suppression list does. Last, as it runs the prefilter anew.
	 */
	if ((out->decision & D_SUPPRESS) && rp->leadlen > 0 &&
	    (lr = words_rule(c, rs, out->provider, c->leadw,
	    rp->leadlen)) != NULL && !(lr->decision & D_SUPPRESS) &&
	    !(lr->reason == R_ONHOLD && lr->decision == 0 &&
	    lr->details[0] == '\0')) {
		out->decision = (out->decision & ~D_SUPPRESS) |
		    (lr->decision != 0 ? lr->decision : D_ALERT);
		detail_kv(out, "guard", 5, "lead", 4);
	}
	if (rcpt_quoted(rcpt)) {
		if ((out->decision & D_SUPPRESS) &&
		    out->reason == R_USERUNKNOWN)
			out->decision = (out->decision & ~D_SUPPRESS) | D_ALERT;
		detail_kv(out, NULL, 0, "quoted-local-part", 17);
	}

	/*
	 * The status: the reply's, else the one the MTA logged, else
	 * Sisimai's for the reason. With neither a code nor a status to
	 * tell, a reply we would retry or throttle is taken as temporary.
	 */
	if (rp->status[0])
		strlcpy_(out->status, rp->status, sizeof(out->status));
	else if (st.cls)
		strlcpy_(out->status, dsn, sizeof(out->status));
	else
		strlcpy_(out->status, reason_status(out->reason,
		    out->temporary == 1 || (out->temporary == -1 &&
		    (out->decision & (D_RETRY | D_THROTTLE)) &&
		    !(out->decision & D_SUPPRESS))), sizeof(out->status));
}

void
classify_program_failure(struct classification *cl)
{
	if ((cl->rule == NULL || cl->rule->re == NULL) &&
	    cl->reason != R_MAILBOXFULL && cl->reason != R_MESGTOOBIG) {
		cl->reason = R_MAILERERROR;
		cl->decision = 0;
	}
}

int
classify_stageless_unknown(struct classification *cl, int own_status)
{
	const char *st = cl->status;

	if (cl->reason != R_USERUNKNOWN || cl->stage != STAGE_UNKNOWN)
		return 0;
	if (st[0] == '\0' || st[1] != '.' || st[3] != '.' ||
	    !(st[2] == '0' || st[2] == '2' || st[2] == '7'))
		return 0;		/* x.1.x says "no such address" */
	if (!own_status && (cl->reply == NULL ||
	    cl->reply->status[0] == '\0' ||
	    strcmp(cl->reply->status + 1, ".0.0") == 0))
		return 0;		/* no status to go by */
	if (cl->rule != NULL && cl->provider != NULL &&
	    cl->rule->provider == cl->provider && st[2] != '2')
		return 0;
	cl->reason = R_FILTERED;
	cl->decision &= ~D_SUPPRESS;
	return 1;
}

const char *
classification_rule(const struct classification *cl, char *buf,
    size_t bufsz)
{
	if (cl->rule == NULL)
		snprintf(buf, bufsz, "-");
	else
		snprintf(buf, bufsz, "%s:%d", cl->rule->file, cl->rule->line);
	return buf;
}

/* Is token (a word) among the space-separated words of s? */
static int
has_token(const char *s, const char *tok, size_t n)
{
	const char *p;

	for (p = s; (p = strstr(p, tok)) != NULL; p++)
		if ((p == s || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ') &&
		    strncmp(p, tok, n) == 0)
			return 1;
	return 0;
}

size_t
classify_run_tests(const struct ruleset *rs, FILE *out, size_t *ntests,
    size_t *ndiffer)
{
	const struct rule_test *t;
	struct classification cl;
	struct classifier *c;
	char want[64], got[64], rule[300], tok[256];
	size_t n, i, failed = 0, tn;
	const char *p, *w;

	t = ruleset_tests(rs, &n);
	*ntests = n;
	if (ndiffer != NULL)
		*ndiffer = 0;
	if ((c = classifier_new(rs)) == NULL)
		return n;
	for (i = 0; i < n; i++, t++) {
		int bad = 0;

		classify(c, rs, t->rcpt, t->reply, strlen(t->reply), NULL,
		    NULL, &cl);
		if (cl.reason != t->reason || cl.decision != t->decision)
			bad = 1;
		for (p = t->tokens; !bad && *p != '\0'; p = w + tn) {
			while (*p == ' ')
				p++;
			for (w = p; *w != '\0' && *w != ' '; w++)
				;
			tn = (size_t)(w - p);
			w = p;
			if (tn == 0)
				break;
			snprintf(tok, sizeof(tok), "%.*s", (int)tn, p);
			if (!has_token(cl.details, tok, strlen(tok)))
				bad = 1;
		}
		if (!bad)
			continue;
		if (t->overridden != NULL) {
			if (ndiffer != NULL)
				(*ndiffer)++;
			fprintf(out, "%s:%d: overridden by %s: ", t->path,
			    t->line, t->overridden);
		} else {
			failed++;
			fprintf(out, "%s:%d: ", t->path, t->line);
		}
		fprintf(out, "want %s %s%s%s, got %s %s%s%s (rule %s)\n",
		    reason_name(t->reason),
		    decision_format(t->decision, want, sizeof(want)),
		    *t->tokens ? " " : "", t->tokens, reason_name(cl.reason),
		    decision_format(cl.decision, got, sizeof(got)),
		    *cl.details ? " " : "", cl.details,
		    classification_rule(&cl, rule, sizeof(rule)));
	}
	classifier_free(c);
	return failed;
}
