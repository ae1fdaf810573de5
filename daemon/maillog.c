/*
 * maillog.c -- pick delivery attempts out of Postfix, Sendmail, Exim,
 * OpenSMTPD and Haraka logs
 */
#include <ctype.h>
#include <string.h>

#include "maillog.h"

static const char *const status_names[] = {
	"sent", "deferred", "bounced", "expired", "other"
};

const char *
maillog_status_name(enum maillog_status s)
{
	return (unsigned)s <= ML_OTHER ? status_names[s] : "other";
}

static const char *
memmem_lit(const char *p, const char *e, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(e - p) < n)
		return NULL;
	return memmem(p, (size_t)(e - p), lit, n);
}

/*
 * The value of "key=" among the ", "-separated attributes in [p, e):
 * up to the next ", " that starts another attribute, or e.
 */
static int
attr(const char *p, const char *e, const char *key, struct mlfield *f)
{
	const char *k, *v, *q;
	size_t kn = strlen(key);

	for (k = p; (k = memmem_lit(k, e, key)) != NULL; k += kn) {
		if (k != p && !(k >= p + 2 && k[-1] == ' ' && k[-2] == ','))
			continue;
		v = k + kn;
		for (q = v; q < e; q++) {
			const char *a;

			if (q[0] != ',' || q + 1 >= e || q[1] != ' ')
				continue;
			/* ", name=" starts the next attribute */
			for (a = q + 2; a < e && (isalnum((unsigned char)*a) ||
			    *a == '_'); a++)
				;
			if (a < e && *a == '=' && a > q + 2)
				break;
		}
		f->p = v;
		f->n = (size_t)(q - v);
		return 1;
	}
	f->p = NULL;
	f->n = 0;
	return 0;
}

static void
unbracket(struct mlfield *f)
{
	if (f->n >= 2 && f->p[0] == '<' && f->p[f->n - 1] == '>') {
		f->p++;
		f->n -= 2;
	}
}

/* "mx.example[192.0.2.5]:25" or "mx.example. [192.0.2.5]" -> host */
static void
relay_host(struct mlfield *f)
{
	size_t i;

	for (i = 0; i < f->n && f->p[i] != '[' && f->p[i] != ' '; i++)
		;
	f->n = i;
	if (f->n > 1 && f->p[f->n - 1] == '.')
		f->n--;
}

static int
is_digit_at(const char *p, const char *e, const char *pat)
{
	/* pat: 'd' a digit, any other byte itself */
	for (; *pat != '\0'; pat++, p++) {
		if (p >= e)
			return 0;
		if (*pat == 'd' ? !isdigit((unsigned char)*p) : *p != *pat)
			return 0;
	}
	return 1;
}

/* A run of 6 to 16 letters and digits and "-" ending at a space. */
static size_t
exim_id_len(const char *p, const char *e)
{
	const char *q = p;
	int parts = 0, n;

	for (;;) {
		for (n = 0; q < e && isalnum((unsigned char)*q); q++, n++)
			;
		if (n < 2 || n > 11)
			return 0;
		parts++;
		if (q < e && *q == '-' && parts < 3) {
			q++;
			continue;
		}
		break;
	}
	if (parts != 3 || q >= e || *q != ' ')
		return 0;
	return (size_t)(q - p);
}

/*
 * After the first word of a pipe's command ("|/bin/sh -c 'exit 67'
 * <ann@example.org> R=..."): where " <address>" starts, or t when there
 * is none before the text.
 */
static const char *
pipe_end(const char *t, const char *end)
{
	const char *w, *q;

	for (w = t; (w = memmem_lit(w, end, " <")) != NULL; w += 2) {
		for (q = w + 2; q < end && *q != '>' && *q != ' '; q++)
			;
		if (q < end && *q == '>' && q > w + 2 &&
		    (q + 1 == end || q[1] == ' ' || q[1] == ':'))
			return w;
	}
	return t;
}

/*
 * Exim's main log:
 *
 *   2026-12-05 10:00:00 1abcDE-0001xY-AB ** a@example.net R=dnslookup
 *     T=remote_smtp H=mx.example.net [192.0.2.5]: SMTP error from remote
 *     mail server after RCPT TO:<a@example.net>: 550 5.1.1 No such user
 *   2026-12-05 10:00:00 1abcDE-0001xY-AB == a@example.net R=dnslookup
 *     T=remote_smtp defer (-44) H=mx.example.net [192.0.2.5]: SMTP error
 *     from remote mail server after RCPT TO:<a@example.net>: 451 ...
 *   2026-12-05 10:00:00 1abcDE-0001xY-AB => a@example.net R=dnslookup
 *     T=remote_smtp H=mx.example.net [192.0.2.5] C="250 OK"
 *
 * "**" is a bounce, "==" a deferral, "=>" a delivery and "->" another
 * address of the same delivery. The stamp may carry milliseconds and a
 * zone ("2026-12-05 10:00:00.123 +0100"), and the id a "[pid] " before
 * it. The address may be followed by its original "<b@example.net>";
 * the text is what follows the first ": " after the address.
 */
static int
exim_parse(const char *line, const char *end, struct maillog_entry *e)
{
	const char *p, *a, *t, *w;
	size_t idn;

	if (!is_digit_at(line, end, "dddd-dd-dd dd:dd:dd"))
		return 0;
	p = line + 19;
	if (p < end && *p == '.')
		for (p++; p < end && isdigit((unsigned char)*p); p++)
			;
	if (is_digit_at(p, end, " +dddd") || is_digit_at(p, end, " -dddd"))
		p += 6;
	memset(e, 0, sizeof(*e));
	e->time.p = line;
	e->time.n = (size_t)(p - line);
	if (p >= end || *p++ != ' ')
		return 0;
	if (p < end && *p == '[') {
		for (p++; p < end && isdigit((unsigned char)*p); p++)
			;
		if (p + 1 >= end || p[0] != ']' || p[1] != ' ')
			return 0;
		p += 2;
	}
	if ((idn = exim_id_len(p, end)) == 0)
		return 0;
	e->queue_id.p = p;
	e->queue_id.n = idn;
	p += idn + 1;
	if (end - p < 4 || p[2] != ' ')
		return 0;
	if (p[0] == '*' && p[1] == '*')
		e->status = ML_BOUNCED;
	else if (p[0] == '=' && p[1] == '=')
		e->status = ML_DEFERRED;
	else if ((p[0] == '=' || p[0] == '-') && p[1] == '>')
		e->status = ML_SENT;
	else
		return 0;
	e->exim = 1;		/* no program is named */

	/* The address, and the original one in <> after it. */
	a = p + 3;
	for (t = a; t < end && *t != ' ' && *t != ':'; t++)
		;
	if (t == a)
		return 0;
	e->to.p = a;
	e->to.n = (size_t)(t - a);
	/* A pipe's command has spaces: its address is the first "<...>". */
	if (*a == '|')
		t = pipe_end(t, end);
	if (end - t > 2 && t[0] == ' ' && t[1] == '<') {
		for (w = t + 2; w < end && *w != '>' && *w != ' '; w++)
			;
		if (w < end && *w == '>') {
			e->orig_to.p = t + 2;
			e->orig_to.n = (size_t)(w - t - 2);
			/* A pipe or file: the address it was for. */
			if (*a == '|' || *a == '/') {
				e->to = e->orig_to;
				e->to_program = 1;
			}
		}
	}

	/* H=host, before the text. */
	for (w = t; (w = memmem_lit(w, end, " H=")) != NULL; w += 3) {
		const char *c = memmem_lit(t, end, ": ");

		if (c != NULL && c < w)
			break;
		e->relay.p = w + 3;
		e->relay.n = (size_t)(end - e->relay.p);
		relay_host(&e->relay);
		break;
	}
	if (e->status != ML_SENT && (w = memmem_lit(t, end, ": ")) != NULL) {
		e->text.p = w + 2;
		e->text.n = (size_t)(end - e->text.p);
		/* A give-up, not an answer: as Postfix's "expired". */
		if (e->status == ML_BOUNCED && e->text.n >= 22 &&
		    memcmp(e->text.p, "retry timeout exceeded", 22) == 0)
			e->status = ML_EXPIRED;
	}
	return 1;
}

/*
 * Sendmail's delivery to a program or a file names it, and the address
 * it was for in ctladdr= ('to="|exit 67", ctladdr=<ann@example.org>
 * (1/0)'): the failure is that address's, as Exim's "|cmd <ann@...>".
 */
static void
program_owner(const char *attrs, const char *end, struct maillog_entry *e)
{
	struct mlfield c;
	const char *t = e->to.p, *gt;

	if (e->to.n == 0)
		return;
	if (*t == '"' && e->to.n > 1)
		t++;
	if (*t != '|' && *t != '/')
		return;
	if (!attr(attrs, end, "ctladdr=", &c) || c.n < 3 || c.p[0] != '<' ||
	    (gt = memchr(c.p, '>', c.n)) == NULL || gt == c.p + 1)
		return;
	e->to.p = e->orig_to.p = c.p + 1;
	e->to.n = e->orig_to.n = (size_t)(gt - c.p - 1);
	e->to_program = 1;
}

/*
 * The program name and time of a syslog line whose program ends at
 * colon: "STAMP HOST PROG[PID]: ".
 */
static void
syslog_head(const char *line, const char *colon, struct maillog_entry *e)
{
	const char *q, *h;

	for (q = colon; q > line && q[-1] != ' '; q--)
		;
	e->program.p = q;
	e->program.n = (size_t)(colon - q);
	if (e->program.n && q[e->program.n - 1] == ']') {
		const char *b = memchr(q, '[', e->program.n);

		if (b != NULL)
			e->program.n = (size_t)(b - q);
	}
	e->time.p = line;
	e->time.n = 0;
	if (q > line) {
		/* "Nov 25 03:00:01 host " or "2026-11-25T03:00:01+00:00 host " */
		h = q - 1;
		while (h > line && h[-1] != ' ')
			h--;
		e->time.n = h > line ? (size_t)(h - 1 - line) : 0;
	}
}

/* n lower-case hex digits at p, then a space. */
static int
hex_word(const char *p, const char *end, size_t n)
{
	size_t i;

	if ((size_t)(end - p) <= n || p[n] != ' ')
		return 0;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]) && (p[i] < 'a' || p[i] > 'f'))
			return 0;
	return 1;
}

/*
 * " key=<address>" at p, an address without spaces (OpenSMTPD takes
 * none), before a space, a comma or the end: the address in f,
 * unbracketed; returns what follows or NULL.
 */
static const char *
smtpd_addr(const char *p, const char *end, const char *key,
    struct mlfield *f)
{
	size_t kn = strlen(key);
	const char *q;

	if ((size_t)(end - p) < kn + 2 || memcmp(p, key, kn) != 0 ||
	    p[kn] != '<')
		return NULL;
	for (q = p + kn + 1; q < end && *q != ' '; q++)
		;
	if (q[-1] == ',')		/* the envelope lines' separator */
		q--;
	if (q[-1] != '>')
		return NULL;
	f->p = p + kn + 1;
	f->n = (size_t)(q - 1 - f->p);
	return q;
}

/* A value, without the quotes OpenSMTPD 6.7 and later put around it. */
static void
unquote(struct mlfield *f)
{
	if (f->n >= 2 && f->p[0] == '"' && f->p[f->n - 1] == '"') {
		f->p++;
		f->n -= 2;
	}
}

static enum maillog_status
smtpd_result(const struct mlfield *r)
{
#define IS(s)	(r->n == sizeof(s) - 1 && memcmp(r->p, s, r->n) == 0)
	if (IS("Ok"))
		return ML_SENT;
	if (IS("TempFail"))
		return ML_DEFERRED;
	/* A loop is no use trying again: a bounce, as OpenSMTPD makes it. */
	if (IS("PermFail") || IS("Loop"))
		return ML_BOUNCED;
	if (IS("Expire"))
		return ML_EXPIRED;
#undef IS
	return ML_OTHER;
}

/*
 * The value of " key=" in [p, end): up to the next " word=" or end.
 * Quoted values end at the quote before it.
 */
static const char *
smtpd_value(const char *p, const char *end, const char *key,
    struct mlfield *f)
{
	const char *v = memmem_lit(p, end, key), *q, *a;

	if (v == NULL)
		return NULL;
	v += strlen(key);
	for (q = v; (q = memchr(q, ' ', (size_t)(end - q))) != NULL; q++) {
		for (a = q + 1; a < end && isalpha((unsigned char)*a); a++)
			;
		if (a < end && *a == '=' && a > q + 1)
			break;
	}
	if (q == NULL)
		q = end;
	f->p = v;
	f->n = (size_t)(q - v);
	unquote(f);
	return q;
}

/*
 * OpenSMTPD 6.7 and later (syslog, program "smtpd"):
 *
 *   Dec  7 14:08:03 mx smtpd[14719]: 8e29610267fdcb3a mta delivery
 *     evpid=dd12dc53d87e0266 from=<s@example.net> to=<ann@example.org>
 *     rcpt=<-> source="127.0.0.1" relay="mx.example.org (192.0.2.5)"
 *     delay=0s result="PermFail" stat="550 5.1.1 No such user"
 *   Dec  7 14:08:03 mx smtpd[14719]: 8e2961051e2ae3d1 mda delivery
 *     evpid=6da6f0bb47abb32c from=<s@example.net> to=<ann@example.org>
 *     rcpt=<ann@example.org> user=ann delay=0s result=PermFail
 *     stat=Error (user unknown: exited abnormally)
 *
 * "mta" relays, "mda" delivers locally (a mailbox, a program). A
 * session that fails before any recipient ("0000000000000000") is the
 * connector's: the domain, not a host. The text is the rest of the
 * line after stat=. Addresses hold no spaces (OpenSMTPD refuses such
 * local parts), so a sender cannot write the fields after its own.
 */
static int
smtpd_delivery(const char *p, const char *end, struct maillog_entry *e)
{
	struct mlfield rcpt, result, user;
	const char *q;
	int mda;

	if (!hex_word(p, end, 16))
		return 0;
	q = p + 17;
	if ((size_t)(end - q) < 20 || (memcmp(q, "mta delivery evpid=", 19) &&
	    memcmp(q, "mda delivery evpid=", 19)))
		return 0;
	mda = q[1] == 'd';
	q += 19;
	if (!hex_word(q, end, 16))
		return 0;
	e->queue_id.p = q;
	e->queue_id.n = 16;
	q += 16;
	if ((q = smtpd_addr(q, end, " from=", &rcpt)) == NULL ||
	    (q = smtpd_addr(q, end, " to=", &e->to)) == NULL ||
	    (q = smtpd_addr(q, end, " rcpt=", &rcpt)) == NULL)
		return 0;
	if (rcpt.n > 0 && !(rcpt.n == 1 && rcpt.p[0] == '-'))
		e->orig_to = rcpt;
	if (!mda && smtpd_value(q, end, " relay=", &e->relay) != NULL)
		relay_host(&e->relay);
	/* A local delivery agent's words, as Sendmail's to a program. */
	if (mda && smtpd_value(q, end, " user=", &user) != NULL)
		e->to_program = 1;
	if ((q = smtpd_value(q, end, " result=", &result)) == NULL ||
	    (e->status = smtpd_result(&result)) == ML_OTHER ||
	    e->status == ML_EXPIRED ||
	    end - q < 6 || memcmp(q, " stat=", 6) != 0)
		return 0;
	e->text.p = q + 6;
	e->text.n = (size_t)(end - e->text.p);
	unquote(&e->text);
	return 1;
}

/*
 * OpenSMTPD's envelope lines, the only ones before 6.7 and its expiry
 * lines still:
 *
 *   Dec  7 14:08:23 mx smtpd[14720]: relay: Expire for
 *     dbc5744cca36de67: from=<s@example.net>, to=<ann@example.org>,
 *     rcpt=<->, delay=20s, stat=Envelope expired
 *   ... smtpd[44]: delivery: PermFail for 6da6f0bb47abb32c:
 *     from=<s@example.net>, to=<ann@example.org>, rcpt=<->, delay=1s,
 *     relay=mx.example.org [192.0.2.5], stat=550 5.1.1 No such user
 */
static int
smtpd_envelope(const char *p, const char *end, struct maillog_entry *e)
{
	struct mlfield result, rcpt;
	const char *q, *f;

	if ((size_t)(end - p) > 7 && memcmp(p, "relay: ", 7) == 0)
		p += 7;
	else if ((size_t)(end - p) > 10 && memcmp(p, "delivery: ", 10) == 0)
		p += 10;
	else
		return 0;
	if ((f = memmem_lit(p, end, " for ")) == NULL || f - p > 8)
		return 0;
	result.p = p;
	result.n = (size_t)(f - p);
	if ((e->status = smtpd_result(&result)) == ML_OTHER)
		return 0;
	q = f + 5;
	if (end - q < 18 || q[16] != ':')
		return 0;
	for (f = q; f < q + 16; f++)
		if (!isxdigit((unsigned char)*f))
			return 0;
	e->queue_id.p = q;
	e->queue_id.n = 16;
	q += 17;
	if ((q = smtpd_addr(q, end, " from=", &rcpt)) == NULL ||
	    q >= end || *q++ != ',' ||
	    (q = smtpd_addr(q, end, " to=", &e->to)) == NULL)
		return 0;
	if (q < end && *q == ',' && smtpd_addr(q + 1, end, " rcpt=", &rcpt) &&
	    rcpt.n > 0 && !(rcpt.n == 1 && rcpt.p[0] == '-'))
		e->orig_to = rcpt;
	if (attr(q, end, "relay=", &e->relay))
		relay_host(&e->relay);
	if ((f = memmem_lit(q, end, ", stat=")) == NULL)
		return 0;
	e->text.p = f + 7;
	e->text.n = (size_t)(end - e->text.p);
	return 1;
}

/*
 * The stamp or syslog head in front of Haraka's own "[LEVEL] ": none
 * (Haraka writing to its standard output), one ISO 8601 word (its
 * log_timestamps), or "STAMP HOST PROG[PID]: " (syslog, journald),
 * whose first ": " must be the one that ends it, as maillog_parse()
 * anchors Postfix's. Returns 0 when the prefix [line, h) is none of
 * these.
 */
static int
haraka_head(const char *line, const char *h, struct maillog_entry *e)
{
	const char *c;

	if (h == line)
		return 1;	/* no stamp: LL_BADTIME, as any such line */
	if (h[-1] != ' ')
		return 0;
	if (memchr(line, ' ', (size_t)(h - 1 - line)) == NULL) {
		if (!is_digit_at(line, h, "dddd-dd-ddTdd:dd:dd"))
			return 0;
		e->time.p = line;
		e->time.n = (size_t)(h - 1 - line);
		return 1;
	}
	if ((c = memmem_lit(line, h, ": ")) == NULL || c + 2 != h)
		return 0;
	syslog_head(line, c, e);
	return e->program.n > 0;
}

/*
 * Haraka's outbound delivery, one line for each recipient a remote
 * server refused (outbound/hmail.js, in its DEFAULT log format):
 *
 *   [NOTICE] [UUID.1] [outbound] recipient <ann@example.org> rejected:
 *     550 5.1.1 <ann@example.org>: Recipient address rejected: ...
 *   [NOTICE] [UUID.1] [outbound] recipient <ann@example.org> deferred:
 *     452 4.2.2 Mailbox full
 *
 * "rejected" (5xx) is a bounce, "deferred" (4xx) a deferral; the reply
 * is the rest of the line, its lines joined with spaces. The
 * transaction's UUID is the queue id. Its other lines ("bouncing mail:
 * ...", "Temp failing FILE for N seconds: ...", "delivered file=...")
 * name no recipient and are not read, nor are the inbound plugins'
 * lines (another origin than "[outbound]").
 */
static int
haraka_parse(const char *line, const char *end, struct maillog_entry *e)
{
	static const char mark[] = "] [outbound] recipient <";
	const char *m, *u, *h, *a, *gt;

	if ((m = memmem_lit(line, end, mark)) == NULL)
		return 0;
	for (u = m; u > line && u[-1] != '[' && u[-1] != ' ' &&
	    u[-1] != ']'; u--)
		;
	if (u == m || u - line < 4 || u[-1] != '[' || u[-2] != ' ' ||
	    u[-3] != ']')
		return 0;
	for (h = u - 3; h > line && isupper((unsigned char)h[-1]); h--)
		;
	if (h == u - 3 || h == line || *--h != '[')
		return 0;
	memset(e, 0, sizeof(*e));
	e->time.p = line;
	if (!haraka_head(line, h, e))
		return 0;
	e->queue_id.p = u;
	e->queue_id.n = (size_t)(m - u);
	a = m + sizeof(mark) - 1;
	/* An address with a space is no address Haraka was given. */
	for (gt = a; gt < end && *gt != '>' && *gt != ' '; gt++)
		;
	if (gt == a || gt >= end || *gt != '>' || memchr(a, '@',
	    (size_t)(gt - a)) == NULL)
		return 0;
	if (end - gt > 12 && memcmp(gt, "> rejected: ", 12) == 0)
		e->status = ML_BOUNCED;
	else if (end - gt > 12 && memcmp(gt, "> deferred: ", 12) == 0)
		e->status = ML_DEFERRED;
	else
		return 0;
	e->to.p = a;
	e->to.n = (size_t)(gt - a);
	e->text.p = gt + 12;
	e->text.n = (size_t)(end - e->text.p);
	e->haraka = 1;
	return 1;
}

/* OpenSMTPD's delivery lines: "smtpd[PID]: " and one of the above. */
static int
smtpd_parse(const char *line, const char *end, struct maillog_entry *e)
{
	const char *colon, *p;

	if ((colon = memmem_lit(line, end, "]: ")) == NULL)
		return 0;
	memset(e, 0, sizeof(*e));
	syslog_head(line, colon + 1, e);
	if (e->program.n != 5 || memcmp(e->program.p, "smtpd", 5) != 0)
		return 0;
	p = colon + 3;
	if (!smtpd_delivery(p, end, e) && !smtpd_envelope(p, end, e))
		return 0;
	e->opensmtpd = 1;
	return 1;
}

int
maillog_parse(const char *line, size_t n, struct maillog_entry *e)
{
	const char *end = line + n, *to, *q, *attrs, *colon, *st;
	struct mlfield status;

	while (end > line && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (exim_parse(line, end, e))
		return 1;
	if (smtpd_parse(line, end, e))
		return 1;
	if (haraka_parse(line, end, e))
		return 1;
	/* The cheap test: every Postfix or Sendmail delivery has ": to=". */
	if (memmem_lit(line, end, ": to=") == NULL)
		return 0;
	memset(e, 0, sizeof(*e));

	/*
	 * From the left: "STAMP HOST PROGRAM[PID]: QID: to=". The first
	 * "]: " ends the program; what follows, up to ": to=", must be one
	 * word. Searching for ": to=" anywhere would take one that a
	 * client wrote into its envelope sender, which the queue manager
	 * logs ("QID: from=<...: to=<victim>, ...>").
	 */
	if ((colon = memmem_lit(line, end, "]: ")) == NULL)
		return 0;
	q = colon + 3;
	for (to = q; to < end && *to != ' ' && *to != ':'; to++)
		;
	if (to == q || end - to < 5 || memcmp(to, ": to=", 5) != 0)
		return 0;
	e->queue_id.p = q;
	e->queue_id.n = (size_t)(to - q);
	syslog_head(line, colon + 1, e);

	attrs = to + 2;
	attr(attrs, end, "to=", &e->to);
	attr(attrs, end, "orig_to=", &e->orig_to);
	unbracket(&e->orig_to);
	program_owner(attrs, end, e);
	if (attr(attrs, end, "relay=", &e->relay))
		relay_host(&e->relay);
	attr(attrs, end, "dsn=", &e->dsn);

	if (attr(attrs, end, "status=", &status)) {
		/* Postfix: "status=bounced (text)" */
		for (st = status.p; st < end && isalpha((unsigned char)*st); st++)
			;
		status.n = (size_t)(st - status.p);
#define IS(s)	(status.n == sizeof(s) - 1 && memcmp(status.p, s, status.n) == 0)
		e->status = IS("sent") ? ML_SENT : IS("deferred") ? ML_DEFERRED :
		    IS("bounced") ? ML_BOUNCED : IS("expired") ? ML_EXPIRED :
		    ML_OTHER;
#undef IS
		if (st + 1 < end && st[0] == ' ' && st[1] == '(') {
			e->text.p = st + 2;
			e->text.n = (size_t)(end - e->text.p);
			while (e->text.n > 0 && (e->text.p[e->text.n - 1] ==
			    ' ' || e->text.p[e->text.n - 1] == '\t'))
				e->text.n--;
			if (e->text.n && e->text.p[e->text.n - 1] == ')')
				e->text.n--;
			else
				e->cut = 1;
		}
		return 1;
	}
	if (attr(attrs, end, "stat=", &status)) {
		/* Sendmail: the rest of the line is the text. */
		e->sendmail = 1;
		e->text.p = status.p;
		e->text.n = (size_t)(end - status.p);
		if (e->dsn.n && e->dsn.p[0] == '2')
			e->status = ML_SENT;
		else if (e->dsn.n && e->dsn.p[0] == '4')
			e->status = ML_DEFERRED;
		else if (e->dsn.n && e->dsn.p[0] == '5')
			e->status = ML_BOUNCED;
		else if (e->text.n >= 4 && memcmp(e->text.p, "Sent", 4) == 0)
			e->status = ML_SENT;
		else if (e->text.n >= 8 && memcmp(e->text.p, "Deferred", 8) == 0)
			e->status = ML_DEFERRED;
		else
			e->status = ML_OTHER;
		return 1;
	}
	return 0;
}

int
maillog_next_rcpt(const struct maillog_entry *e, size_t *pos, char *buf,
    size_t bufsz)
{
	const char *p = e->to.p + *pos, *end = e->to.p + e->to.n, *w;
	size_t n;

	if (e->to.p == NULL)
		return 0;
	while (p < end && (*p == ',' || *p == ' '))
		p++;
	if (p >= end)
		return 0;
	for (w = p; p < end && *p != ','; p++)
		;
	*pos = (size_t)(p - e->to.p);
	n = (size_t)(p - w);
	if (n > 0 && w[0] == '<') {
		w++;
		n--;
	}
	if (n > 0 && w[n - 1] == '>')
		n--;
	if (n >= bufsz)
		n = bufsz - 1;
	memcpy(buf, w, n);
	buf[n] = '\0';
	return 1;
}
