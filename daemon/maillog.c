/*
 * maillog.c -- pick delivery attempts out of Postfix and Sendmail logs
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

int
maillog_parse(const char *line, size_t n, struct maillog_entry *e)
{
	const char *end = line + n, *to, *q, *attrs, *colon, *st;
	struct mlfield status;

	while (end > line && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	/* The cheap test: every delivery line has ": to=". */
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
	colon++;
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
		const char *h = q - 1;

		while (h > line && h[-1] != ' ')
			h--;
		e->time.n = h > line ? (size_t)(h - 1 - line) : 0;
	}

	attrs = to + 2;
	attr(attrs, end, "to=", &e->to);
	attr(attrs, end, "orig_to=", &e->orig_to);
	unbracket(&e->orig_to);
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
			if (e->text.n && e->text.p[e->text.n - 1] == ')')
				e->text.n--;
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
