/*
 * replyapp.c -- a reply inside what an application or library printed
 *
 * Two shapes. Python's smtplib and aiosmtplib print the reply as a
 * tuple, its code apart from its text: "(550, b'5.1.1 ...')", in a dict
 * keyed by recipient when several were refused; python_reply() reads
 * them and writes the code back in front of the text. Everything else
 * puts its own words ("RCPT TO command failed: ", "all recipients were
 * rejected: ", "SMTPAddressFailedException: ") in front of the reply and
 * more of them after it ("at com.sun.mail...", "{ code: 'EENVELOPE'");
 * mark_reply() finds the first such mark, the stage it names and the
 * end of the reply. Both work in place on the caller's buffer.
 *
 * See also: replyapp.h, reply.c.
 */
#include <ctype.h>
#include <string.h>

#include "ascii.h"
#include "replyapp.h"

/* Does [p, e) start with lit (any ASCII case)? */
static int
starts(const char *p, const char *e, const char *lit)
{
	size_t n = strlen(lit);

	return p <= e && (size_t)(e - p) >= n && ascii_eq_ci(p, lit, n);
}

/* The last lit in [p, e), or NULL. */
static char *
find_last(char *p, char *e, const char *lit)
{
	char *q, *last = NULL;

	for (q = p; (q = ascii_find_in(q, e, lit)) != NULL; q++)
		last = q;
	return last;
}

/* Does a reply code ("550 ", "550-", "550" at the end) start at p? */
static int
code_at(const char *p, const char *e)
{
	return e - p >= 3 && p[0] >= '2' && p[0] <= '5' &&
	    ascii_isdigit((unsigned char)p[1]) &&
	    ascii_isdigit((unsigned char)p[2]) &&
	    (e - p == 3 || p[3] == ' ' || p[3] == '-');
}

/* Is [p, p + n) the mailbox want ("<x@y>" or "x@y"), in any case? */
static int
is_want(const char *p, size_t n, const char *want)
{
	size_t wn;

	if (want == NULL || *want == '\0' || n == 0)
		return 0;
	if (*want == '<')
		want++;
	for (wn = 0; want[wn] != '\0' && want[wn] != '>'; wn++)
		;
	if (n > 1 && *p == '<' && p[n - 1] == '>') {
		p++;
		n -= 2;
	}
	return n == wn && ascii_eq_ci(p, want, n);
}

/* Does [p, e) hold want anywhere? */
static int
holds_want(char *p, char *e, const char *want)
{
	char w[256];
	size_t wn;

	if (want == NULL || *want == '\0')
		return 0;
	if (*want == '<')
		want++;
	for (wn = 0; want[wn] != '\0' && want[wn] != '>'; wn++)
		;
	if (wn == 0 || wn >= sizeof(w))
		return 0;
	memcpy(w, want, wn);
	w[wn] = '\0';
	return ascii_find_in(p, e, w) != NULL;
}

/*
 * Makes every sep in [p, *e) (a line separator of a transcript, " <** ";
 * sep starts and ends with a space) one space.
 */
static void
drop_seps(char *p, char **e, const char *sep)
{
	size_t n = strlen(sep) - 1;
	char *q;

	while ((q = ascii_find_in(p, *e, sep)) != NULL) {
		memmove(q + 1, q + 1 + n, (size_t)(*e - q - 1 - n));
		*e -= n;
		p = q + 1;
	}
}

/*
 * smtplib keeps the enhanced status of every line of a multi-line reply
 * ("5.1.1 The email account ...\n5.1.1 double-checking ..."): with the
 * line breaks made spaces, drops each repeat of the first line's.
 */
static void
drop_status_repeats(char *v, char **e)
{
	char sep[20];
	size_t n = status_at(v, *e);

	if (n == 0 || n + 3 > sizeof(sep) || v + n >= *e || v[n] != ' ')
		return;
	sep[0] = ' ';
	memcpy(sep + 1, v, n);
	sep[n + 1] = ' ';
	sep[n + 2] = '\0';
	drop_seps(v + n, e, sep);
	/* the last line's, at the very end */
	if ((size_t)(*e - v) > n + 1 && (*e)[-(ptrdiff_t)n - 1] == ' ' &&
	    memcmp(*e - n, v, n) == 0)
		*e -= n + 1;
}

/* --- Python: (550, b'...') ------------------------------------------- */

struct pytuple {
	char		*open;		/* its "(" */
	char		 code[3];
	char		*v;		/* the text, after its opening quote */
	char		*t;		/* its closing quote, or the end */
	char		*key;		/* the dict key in front, or NULL */
	size_t		 keylen;
	char		*arg;		/* a third member: 'x@y', or NULL */
	size_t		 arglen;
};

/* A quoted Python string at q: its end, and [*s, *n) its contents. */
static char *
py_string(char *q, char *e, char **s, size_t *n)
{
	char *t;

	if (q >= e || (*q != '\'' && *q != '"') ||
	    (t = memchr(q + 1, *q, (size_t)(e - q - 1))) == NULL)
		return NULL;
	*s = q + 1;
	*n = (size_t)(t - q - 1);
	return t + 1;
}

/*
 * The next tuple at or after p: "(550, b'...')", "(550, '...', 'x@y')".
 * base is the start of the text (for the dict key in front). Returns
 * where to look for the next one, or NULL when there is none.
 */
static char *
py_tuple(char *base, char *p, char *e, struct pytuple *pt)
{
	char *q, *v, *t, qc, *k;

	for (q = p; q < e && (q = memchr(q, '(', (size_t)(e - q))) != NULL;
	    q++) {
		if (e - q < 8 || !ascii_isdigit((unsigned char)q[1]) ||
		    !ascii_isdigit((unsigned char)q[2]) ||
		    !ascii_isdigit((unsigned char)q[3]) || q[4] != ',' ||
		    q[5] != ' ' || q[1] < '2' || q[1] > '5')
			continue;
		v = q + 6;
		if (*v == 'b')
			v++;
		if (v >= e || (*v != '\'' && *v != '"'))
			continue;
		qc = *v++;
		/* Its closing quote: followed by ")" or by a third member. */
		for (t = v; (t = memchr(t, qc, (size_t)(e - t))) != NULL; t++)
			if (t + 1 == e || t[1] == ')' || (t[1] == ',' &&
			    e - t > 3 && t[2] == ' ' &&
			    (t[3] == '\'' || t[3] == '"')))
				break;
		pt->open = q;
		memcpy(pt->code, q + 1, 3);
		pt->v = v;
		pt->t = t != NULL ? t : e;
		pt->key = pt->arg = NULL;
		pt->keylen = pt->arglen = 0;
		/* 'ann@x': (550, ...) */
		if (q - base > 4 && q[-1] == ' ' && q[-2] == ':' &&
		    (q[-3] == '\'' || q[-3] == '"') &&
		    (k = memrchr(base, q[-3], (size_t)(q - 3 - base))) != NULL &&
		    memchr(k + 1, '@', (size_t)(q - 4 - k)) != NULL &&
		    memchr(k + 1, ' ', (size_t)(q - 4 - k)) == NULL) {
			pt->key = k + 1;
			pt->keylen = (size_t)(q - 3 - k - 1);
		}
		if (t != NULL && t + 3 < e && t[1] == ',')
			(void)py_string(t + 3, e, &pt->arg, &pt->arglen);
		return t != NULL ? t + 1 : e;
	}
	return NULL;
}

/* The stage a Python exception's name says. */
static enum smtp_stage
py_stage(char *p, char *e, int keyed)
{
	static const struct {
		const char	*name;
		enum smtp_stage	 stage;
	} ex[] = {
		{ "SenderRefused", STAGE_MAIL },
		{ "RecipientsRefused", STAGE_RCPT },
		{ "RecipientRefused", STAGE_RCPT },
		{ "SMTPDataError", STAGE_EOD },
		{ "AuthenticationError", STAGE_HELO },
		{ "SMTPHeloError", STAGE_HELO },
		{ "SMTPConnectError", STAGE_CONNECT },
	};
	size_t i;

	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++)
		if (ascii_find_in(p, e, ex[i].name) != NULL)
			return ex[i].stage;
	return keyed ? STAGE_RCPT : STAGE_UNKNOWN;
}

static int
python_reply(char *p, char *e, const char *want, struct appreply *out)
{
	struct pytuple pt, first, *got = NULL;
	char *q, *w;
	int n;

	for (q = p, n = 0; n < 64 && (q = py_tuple(p, q, e, &pt)) != NULL;
	    n++) {
		if (n == 0)
			first = pt;
		if (is_want(pt.key, pt.keylen, want) ||
		    is_want(pt.arg, pt.arglen, want)) {
			got = &pt;
			n++;
			break;
		}
	}
	if (n == 0)
		return 0;
	if (got == NULL)
		got = &first;
	/* Only what Python printed: bytes, a dict key or an SMTP class. */
	if (got->v[-2] != 'b' && got->key == NULL &&
	    ascii_find_in(p, got->open, "SMTP") == NULL)
		return 0;
	out->stage = py_stage(p, first.open, first.key != NULL);
	if (got->key != NULL) {
		out->rcpt = got->key;
		out->rcptlen = got->keylen;
	} else if (got->arg != NULL && out->stage == STAGE_RCPT) {
		out->rcpt = got->arg;
		out->rcptlen = got->arglen;
	}
	out->wrapper = first.key != NULL ? first.key - 1 : first.open;
	/* The code back in front of the text: "(550, b'" has room. */
	w = got->v - 4;
	memcpy(w, got->code, 3);
	w[3] = ' ';
	out->p = w;
	out->e = got->t;
	drop_status_repeats(got->v, &out->e);
	return 1;
}

/* --- the others: words in front of the reply -------------------------- */

enum {
	M_TEXT = 1,	/* the reply may come without a code or status */
	M_KEY = 2,	/* "x@y: " follows the mark, then the reply */
	M_CMDARG = 4,	/* "RCPT TO:<x>": the reply follows " (" or " <** " */
	M_DETAIL = 8,	/* PHPMailer: "Detail: ... SMTP code: 550 ..." */
	M_QUOTED = 16,	/* the reply is quoted; also ( for Ruby */
	M_XSCRIPT = 32,	/* a transcript's line: only a 4xx or 5xx one */
	M_PAREN = 64	/* "(550): 5.1.1 ...": the code in parentheses */
};

static const struct mark {
	const char	*lit;
	enum smtp_stage	 stage;
	int		 flags;
} marks[] = {
	/* PHPMailer */
	{ "RCPT TO command failed: ", STAGE_RCPT, 0 },
	{ "MAIL FROM command failed: ", STAGE_MAIL, 0 },
	{ "DATA END command failed: ", STAGE_EOD, 0 },
	{ "DATA command failed: ", STAGE_DATA, 0 },
	{ "Password command failed: ", STAGE_HELO, 0 },
	{ "Username command failed: ", STAGE_HELO, 0 },
	{ "AUTH command failed: ", STAGE_HELO, 0 },
	{ "STARTTLS command failed: ", STAGE_HELO, 0 },
	{ "EHLO command failed: ", STAGE_HELO, 0 },
	{ "HELO command failed: ", STAGE_HELO, 0 },
	{ "command failed Detail: ", STAGE_UNKNOWN, M_DETAIL | M_TEXT },
	/* Perl's MIME::Lite and Mail::Sendmail over Net::SMTP */
	{ "SMTP RCPT command failed: ", STAGE_RCPT, 0 },
	{ "SMTP MAIL command failed: ", STAGE_MAIL, 0 },
	{ "SMTP dataend() command failed: ", STAGE_EOD, 0 },
	{ "recipients failed: ", STAGE_RCPT, M_KEY | M_TEXT },
	/* Nodemailer */
	{ "all recipients were rejected: ", STAGE_RCPT, 0 },
	{ "Recipient command failed: ", STAGE_RCPT, 0 },
	{ "Mail command failed: ", STAGE_MAIL, 0 },
	{ "Message failed: ", STAGE_EOD, 0 },
	{ "Invalid login: ", STAGE_HELO, 0 },
	/* JavaMail */
	{ "SMTPAddressFailedException: ", STAGE_RCPT, 0 },
	{ "SMTPSenderFailedException: ", STAGE_MAIL, 0 },
	{ "SMTPSendFailedException: ", STAGE_EOD, 0 },
	{ "AuthenticationFailedException: ", STAGE_HELO, 0 },
	/* Ruby */
	{ "SMTPFatalError (", STAGE_UNKNOWN, M_QUOTED },
	{ "SMTPAuthenticationError: ", STAGE_HELO, 0 },
	{ "SMTPAuthenticationError (", STAGE_HELO, M_QUOTED },
	/* Symfony Mailer, SwiftMailer */
	{ "with message \"", STAGE_UNKNOWN, M_QUOTED },
	/* swaks, ssmtp: the command, then the reply */
	{ "RCPT TO:<", STAGE_RCPT, M_CMDARG },
	{ "MAIL FROM:<", STAGE_MAIL, M_CMDARG },
	{ "<** ", STAGE_UNKNOWN, 0 },
	/* transcripts: PHPMailer's SMTPDebug, Nodemailer's logger */
	{ "SERVER -> CLIENT: ", STAGE_UNKNOWN, M_XSCRIPT },
	{ "] S: ", STAGE_UNKNOWN, M_XSCRIPT },
	/* Rust's lettre: "permanent error (550): 5.1.1 ..." */
	{ "permanent error (", STAGE_UNKNOWN, M_PAREN },
	{ "transient error (", STAGE_UNKNOWN, M_PAREN },
	/* msmtp, curl, Outlook, Thunderbird */
	{ "server message: ", STAGE_UNKNOWN, 0 },
	{ "RCPT failed: ", STAGE_RCPT, 0 },
	{ "MAIL failed: ", STAGE_MAIL, 0 },
	{ "Server error: '", STAGE_UNKNOWN, M_QUOTED },
	{ "The mail server responded: ", STAGE_UNKNOWN, M_TEXT },
	/* .NET: "SmtpFailedRecipientException: Mailbox unavailable. The
	 * server response was: 5.1.1 ..." */
	{ "The server response was: ", STAGE_UNKNOWN, 0 },
};

/* Words an application prints after the reply: where it ends. */
static const char *const trailers[] = {
	" SMTP Error: ", " SMTP server error: ", " SMTP ERROR: ",
	" SMTP code: ", " at SMTPConnection.", " at com.", " at org.",
	" at java.", " at javax.", " at jakarta.", " at System.",
	" at MailKit.", " at Object.", " at process", " At C:\\",
	" At line:", " { code: '", " code: 'E", "; nested exception",
	" ; message exception details", " msmtp: could not send",
	". Please check the message recipient",
	". Please verify that your email address",
	". Please check the message and try again", " ---> ",
	" {\"exception\"", "\". in /", "\" in /", " CLIENT -> SERVER: ",
	" SERVER -> CLIENT: ", "] C: ",
};

/* The stage of the command at c (before q): "RCPT TO:<x>", ".", ... */
static enum smtp_stage
command_stage(const char *c, const char *q)
{
	if (starts(c, q, "RCPT"))
		return STAGE_RCPT;
	if (starts(c, q, "MAIL"))
		return STAGE_MAIL;
	if (c < q && *c == '.')
		return STAGE_EOD;
	if (starts(c, q, "DATA"))
		return STAGE_DATA;
	if (starts(c, q, "EHLO") || starts(c, q, "HELO") ||
	    starts(c, q, "AUTH") || starts(c, q, "STARTTLS"))
		return STAGE_HELO;
	return STAGE_UNKNOWN;
}

/*
 * The stage of the command a swaks transcript sent last before q
 * (" -> RCPT TO:<x>", " -> .", " -> DATA").
 */
static enum smtp_stage
swaks_stage(char *p, char *q)
{
	char *c = find_last(p, q, "-> ");

	return c != NULL ? command_stage(c + 3, q) : STAGE_UNKNOWN;
}

/*
 * The stage of the command a client's transcript sent last before q
 * (PHPMailer's "CLIENT -> SERVER: RCPT TO:<x>", Nodemailer's "C: RCPT
 * TO:<x>").
 */
static enum smtp_stage
client_stage(char *p, char *q)
{
	char *c = find_last(p, q, "CLIENT -> SERVER: "), *d;

	if ((d = find_last(c != NULL ? c : p, q, "] C: ")) != NULL)
		c = d + 5;
	else if (c != NULL)
		c += 18;
	else
		return STAGE_UNKNOWN;
	return command_stage(c, q);
}

/*
 * The stage the application's words name, besides its mark: Nodemailer's
 * command: field, Symfony's expected code, .NET's and Thunderbird's
 * sentences, msmtp's, JavaMail's sender exception under a send one.
 */
static enum smtp_stage
words_stage(char *p, char *e, enum smtp_stage stage)
{
	static const struct {
		const char	*lit;
		enum smtp_stage	 stage;
	} w[] = {
		{ "command: 'RCPT", STAGE_RCPT },
		{ "command: 'MAIL", STAGE_MAIL },
		{ "command: 'DATA", STAGE_EOD },
		{ "command: 'AUTH", STAGE_HELO },
		{ "command: 'CONN", STAGE_CONNECT },
		{ "command: 'EHLO", STAGE_HELO },
		{ "command: 'STARTTLS", STAGE_HELO },
		{ "SMTPSenderFailedException", STAGE_MAIL },
		{ "Expected response code \"250/251/252\"", STAGE_RCPT },
		{ "Expected response code 250/251/252", STAGE_RCPT },
		{ "Expected response code \"354\"", STAGE_DATA },
		{ "Expected response code 354", STAGE_DATA },
		/* 250 alone: MAIL FROM or the end of data, never RCPT */
		{ "Expected response code \"250\"", STAGE_EOD },
		{ "Expected response code 250 ", STAGE_EOD },
		{ "Expected response code \"235\"", STAGE_HELO },
		{ "Expected response code 235", STAGE_HELO },
		{ "Expected response code \"334\"", STAGE_HELO },
		{ "SmtpFailedRecipient", STAGE_RCPT },
		{ "or the client was not authenticated", STAGE_HELO },
		{ "msmtp: recipient address ", STAGE_RCPT },
		{ "msmtp: envelope from address ", STAGE_MAIL },
		{ "msmtp: authentication failed", STAGE_HELO },
		{ "verify that your email address is correct", STAGE_MAIL },
		{ "check the message recipient", STAGE_RCPT },
	};
	size_t i;

	/*
	 * The first eight (Nodemailer's command: field, JavaMail's sender
	 * exception) say more than any mark; the others only tell what
	 * the mark left unknown.
	 */
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if ((i < 8 || stage == STAGE_UNKNOWN) &&
		    ascii_find_in(p, e, w[i].lit) != NULL)
			return w[i].stage;
	return stage;
}

/* The earliest mark in [p, e): its index, and *at where it is. */
static int
first_mark(char *p, char *e, char **at)
{
	size_t i;
	int best = -1;
	char *q, *lim = e;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		for (q = p; (q = ascii_find_in(q, lim, marks[i].lit)) != NULL; q++) {
			char *v = q + strlen(marks[i].lit);

			if ((marks[i].flags & M_XSCRIPT) && (!code_at(v, e) ||
			    *v < '4'))
				continue;
			if ((marks[i].flags & M_PAREN) && (e - v < 7 ||
			    !code_at(v, v + 3) || !starts(v + 3, e, "): ")))
				continue;
			if (marks[i].flags & M_CMDARG) {
				char *g = memchr(v, '>', (size_t)(e - v));

				if (g == NULL || (!starts(g, e, "> (") &&
				    !starts(g, e, "> <** ")))
					continue;
			}
			best = (int)i;
			*at = q;
			lim = q;	/* an earlier one only, from now on */
			break;
		}
	}
	return best;
}

/* Is [p, p + 19) a log's time stamp, "2024-01-05 10:00:01"? */
static int
stamp_at(const char *p)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd";
	size_t i;

	for (i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? !ascii_isdigit((unsigned char)p[i]) :
		    p[i] != shape[i])
			return 0;
	return 1;
}

/* A swaks transcript's next line: a command, a reply, a note. */
static const char *const swaks_trailers[] = {
	" -> ", " <- ", " <~ ", " *** ", " ~> ", " === ",
};

/*
 * Cuts [v, *e) at the first trailer (of a swaks transcript too, when
 * swaks is set), and drops the time stamp of a transcript's next line
 * left at its end.
 */
static void
cut_trailers(char *v, char **e, int swaks)
{
	size_t i;
	char *q, *end = *e;

	/* the earliest, though a longer one starts before a shorter one */
	for (i = 0; i < sizeof(trailers) / sizeof(trailers[0]); i++)
		if ((q = ascii_find_in(v, end, trailers[i])) != NULL && q < *e)
			*e = q;
	for (i = 0; swaks && i < sizeof(swaks_trailers) /
	    sizeof(swaks_trailers[0]); i++)
		if ((q = ascii_find_in(v, end, swaks_trailers[i])) != NULL && q < *e)
			*e = q;
	if (*e - v > 20 && (*e)[-20] == ' ' && stamp_at(*e - 19))
		*e -= 20;
}

/*
 * PHPMailer's "Detail: <text> SMTP code: 550 Additional SMTP info:
 * 5.1.1": writes "550 5.1.1 " in front of the text. Returns it, or NULL.
 */
static char *
detail_reply(char *lo, char *v, char **e)
{
	char *c, *x, code[3], st[16];
	size_t sl = 0;

	if ((c = ascii_find_in(v, *e, " SMTP code: ")) == NULL ||
	    !code_at(c + 12, *e))
		return NULL;
	memcpy(code, c + 12, 3);
	if ((x = ascii_find_in(c, *e, "Additional SMTP info: ")) != NULL &&
	    (sl = status_at(x + 22, *e)) != 0 && sl < sizeof(st))
		memcpy(st, x + 22, sl);
	else
		sl = 0;
	*e = c;
	if (v - lo < (ptrdiff_t)(5 + sl))
		return NULL;
	if (sl) {
		v -= sl + 1;
		memcpy(v, st, sl);
		v[sl] = ' ';
	}
	v -= 4;
	memcpy(v, code, 3);
	v[3] = ' ';
	return v;
}

/* The closing quote qc of a value that starts at v: NULL when none. */
static char *
close_quote(char *v, char *e, char qc)
{
	char *t;

	for (t = v; (t = memchr(t, qc, (size_t)(e - t))) != NULL; t++)
		if (t + 1 == e || t[1] == ' ' || t[1] == '.' || t[1] == ',' ||
		    t[1] == ')' || t[1] == ';' || t[1] == '}')
			return t;
	return NULL;
}

/* Nodemailer's recipient: 'x@y' in [p, e). */
static void
node_rcpt(char *p, char *e, struct appreply *out)
{
	char *q, *s;
	size_t n;

	if ((q = ascii_find_in(p, e, "recipient: ")) != NULL &&
	    py_string(q + 11, e, &s, &n) != NULL &&
	    memchr(s, '@', n) != NULL) {
		out->rcpt = s;
		out->rcptlen = n;
	}
}

/*
 * Where the application's own sentence starts, in front of its mark at:
 * PHPMailer's "Message could not be sent. Mailer Error: SMTP Error:",
 * WordPress's "WP Mail SMTP:". The lead (reply.h) ends there: these are
 * the application's words, not the server's, and "Mailer Error" is no
 * mailer's failure.
 */
static char *
app_words(char *p, char *at)
{
	static const char *const words[] = {
		"Message could not be sent", "Mailer Error", "SMTP Error",
		"WP Mail SMTP", "wp_mail_failed", "SMTP server error",
	};
	size_t i;
	char *q, *w = at;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if ((q = ascii_find_in(p, w, words[i])) != NULL)
			w = q;
	return w;
}

static int
mark_reply(char *p, char *e, const char *want, struct appreply *out)
{
	const struct mark *m;
	char *at, *v, *end, *q, *nx, *r;
	size_t len;
	int i;

	if ((i = first_mark(p, e, &at)) < 0)
		return 0;
	m = &marks[i];
	len = strlen(m->lit);
	/* Several recipients' answers under one mark: want's, else the first */
	end = e;
	if ((nx = ascii_find_in(at + len, e, m->lit)) != NULL) {
		for (q = at; q != NULL; q = nx) {
			nx = ascii_find_in(q + len, e, m->lit);
			if (holds_want(q, nx != NULL ? nx : e, want)) {
				at = q;
				break;
			}
		}
		nx = ascii_find_in(at + len, e, m->lit);
		if (nx != NULL)
			end = nx;
	}
	v = at + len;
	out->stage = m->stage;
	if (m->flags & M_CMDARG) {
		if ((q = memchr(v, '>', (size_t)(end - v))) == NULL ||
		    (!starts(q, end, "> (") && !starts(q, end, "> <** ")))
			return 0;
		out->rcpt = m->stage == STAGE_RCPT ? v : NULL;
		out->rcptlen = m->stage == STAGE_RCPT ? (size_t)(q - v) : 0;
		if (q[2] == '(') {
			v = q + 3;
			if ((r = memrchr(v, ')', (size_t)(end - v))) != NULL)
				end = r;
		} else
			v = q + 6;
	} else if (m->lit[0] == '<')
		out->stage = swaks_stage(p, at);
	else if (m->flags & M_XSCRIPT)
		out->stage = client_stage(p, at);
	else if (m->flags & M_PAREN) {
		/* "(550): 5.1.1 ...": "550 " in front of the text */
		char code[3];

		memcpy(code, v, 3);
		v += 6;
		memcpy(v - 4, code, 3);
		v[-1] = ' ';
		v -= 4;
	}
	if ((m->flags & M_KEY) && (q = ascii_find_in(v, end, ": ")) != NULL &&
	    memchr(v, '@', (size_t)(q - v)) != NULL &&
	    memchr(v, ' ', (size_t)(q - v)) == NULL) {
		out->rcpt = v;
		out->rcptlen = (size_t)(q - v);
		v = q + 2;
	}
	out->stage = words_stage(p, e, out->stage);
	if (m->flags & M_DETAIL) {
		out->stage = words_stage(p, at, STAGE_UNKNOWN);
		if (ascii_find_in(p, at, "error: RCPT TO") != NULL)
			out->stage = STAGE_RCPT;
		else if (ascii_find_in(p, at, "error: MAIL FROM") != NULL)
			out->stage = STAGE_MAIL;
		else if (ascii_find_in(p, at, "error: DATA END") != NULL)
			out->stage = STAGE_EOD;
		else if (ascii_find_in(p, at, "error: DATA") != NULL)
			out->stage = STAGE_DATA;
		if ((r = detail_reply(p, v, &end)) == NULL)
			return 0;
		out->p = r;
		out->e = end;
		out->wrapper = app_words(p, at);
		return 1;
	}
	/* Nodemailer gives the reply whole as response: '...' */
	if ((q = ascii_find_in(v, end, "response: '")) != NULL &&
	    code_at(q + 11, end) &&
	    (r = close_quote(q + 11, end, '\'')) != NULL) {
		node_rcpt(v, end, out);
		out->p = q + 11;
		out->e = r;
		out->wrapper = at;
		return 1;
	}
	node_rcpt(v, end, out);
	if (m->flags & M_QUOTED) {
		char qc = m->lit[len - 1] == '(' ? ')' : m->lit[len - 1];

		if (qc == ')')
			r = memrchr(v, ')', (size_t)(end - v));
		else
			r = close_quote(v, end, qc);
		if (r != NULL)
			end = r;
	}
	if (!code_at(v, end) && status_at(v, end) == 0 &&
	    !(m->flags & M_TEXT))
		return 0;
	cut_trailers(v, &end, m->lit[0] == '<' || (m->flags & M_CMDARG));
	drop_seps(v, &end, " <** ");
	drop_seps(v, &end, " msmtp: server message: ");
	out->p = v;
	out->e = end;
	out->wrapper = app_words(p, at);
	return out->e > out->p;
}

/*
 * Last, when nothing else found the reply: the application's words, a
 * colon, then a code and an enhanced status ("gomail: could not send
 * email 1: 550 5.1.1 ...", "failed to send email: 421 4.7.0 ..."). The
 * words are one phrase, not sentences: a notice's prose ("Your message
 * to x could not be delivered. The server replied: 550 ...") goes on
 * after the reply, and is read whole.
 */
int
appreply_loose(char *p, char *e, struct appreply *out)
{
	char *q;

	memset(out, 0, sizeof(*out));
	for (q = p; (q = ascii_find_in(q, e, ": ")) != NULL; q++)
		if (ascii_find_in(p, q, ". ") != NULL)
			return 0;
		else if (code_at(q + 2, e) && e - q > 10 &&
		    status_at(q + 6, e) != 0) {
			out->p = q + 2;
			out->e = e;
			out->wrapper = q;
			cut_trailers(out->p, &out->e, 0);
			return 1;
		}
	return 0;
}

int
appreply_find(char *p, char *e, const char *want, struct appreply *out)
{
	memset(out, 0, sizeof(*out));
	if (p == NULL || e - p < 8)
		return 0;
	if (python_reply(p, e, want, out))
		return 1;
	memset(out, 0, sizeof(*out));
	return mark_reply(p, e, want, out);
}
