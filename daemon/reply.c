/*
 * reply.c -- parse one SMTP reply, in any of the forms MTAs log it
 *
 * The work happens in place in the reply's own buffer: fold the
 * whitespace, then peel wrappers off the front ("host X[ip] said:",
 * Exim's "SMTP error from remote mail server after ...:", qmail's "...
 * Remote host said:") and the back ("(in reply to RCPT TO command)",
 * "Giving up on 192.0.2.1."), then take the reply code and enhanced
 * status, and finally drop the "550-5.1.1 " prefixes Postfix keeps when
 * it joins a multi-line reply.
 *
 * See also: reply.h, classify.c.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ascii.h"
#include "lineio.h"
#include "reply.h"
#include "replyapp.h"
#include "xalloc.h"

static const char *const stage_names[STAGE_COUNT] = {
	"-", "connect", "helo", "mail", "rcpt", "data", "eod"
};

const char *
stage_name(enum smtp_stage st)
{
	return (unsigned)st < STAGE_COUNT ? stage_names[st] : "-";
}

int
stage_parse(const char *s, size_t n)
{
	int i;

	for (i = 1; i < STAGE_COUNT; i++)
		if (strlen(stage_names[i]) == n &&
		    memcmp(stage_names[i], s, n) == 0)
			return i;
	return -1;
}

void
reply_init(struct reply *r)
{
	memset(r, 0, sizeof(*r));
	r->text = "";
}

void
reply_free(struct reply *r)
{
	free(r->buf);
	reply_init(r);
}

/* A cursor over the text being parsed: [p, e). */
struct span {
	char	*p;
	char	*e;
};

static size_t
prefix_ci_n(const struct span *s, const char *lit, size_t n)
{
	if ((size_t)(s->e - s->p) < n ||
	    ((unsigned char)*s->p | 0x20) != ((unsigned char)*lit | 0x20) ||
	    !ascii_eq_ci(s->p, lit, n))
		return 0;
	return n;
}

/* lit must be a string literal. */
#define prefix_ci(s, lit)	prefix_ci_n((s), (lit), sizeof(lit) - 1)

static size_t
suffix_ci_n(const struct span *s, const char *lit, size_t n)
{
	if ((size_t)(s->e - s->p) < n ||
	    ((unsigned char)s->e[-1] | 0x20) !=
	    ((unsigned char)lit[n - 1] | 0x20) ||
	    !ascii_eq_ci(s->e - n, lit, n))
		return 0;
	return n;
}

/* lit must be a string literal. */
#define suffix_ci(s, lit)	suffix_ci_n((s), (lit), sizeof(lit) - 1)

/* ascii_find_in() within the first or last `lim` bytes of [p, e). */
static char *
find_ci_head(char *p, char *e, size_t lim, const char *lit)
{
	return ascii_find_in(p, (size_t)(e - p) > lim ? p + lim : e, lit);
}

static char *
find_ci_tail(char *p, char *e, size_t lim, const char *lit)
{
	return ascii_find_in((size_t)(e - p) > lim ? e - lim : p, e, lit);
}

static void
trim(struct span *s)
{
	while (s->p < s->e && *s->p == ' ')
		s->p++;
	while (s->e > s->p && s->e[-1] == ' ')
		s->e--;
}

static void
copy_field(char *dst, size_t dstsz, const char *p, size_t n)
{
	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

/* The bytes that end a host name. */
static const unsigned char host_end[256] = {
	['['] = 1, [' '] = 1, [':'] = 1, [','] = 1,
};

/*
 * The bytes that may be in the [] after a host: an address, or a word
 * like "unix" (digits, letters, "." and ":").
 */
static const unsigned char ip_char[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['.'] = 1, [':'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

/*
 * Reads "name[ip]" or "name [ip]" at p into the reply's host and ip.
 * Returns the end of what was read, or NULL if p holds neither.
 */
static char *
host_at(struct reply *r, char *p, char *e)
{
	char *n = p, *b, *c, *lim;

	while (p < e && !host_end[(unsigned char)*p])
		p++;
	if (p == n)
		return NULL;
	b = p;
	if (b + 1 < e && *b == ' ' && b[1] == '[')
		b++;
	if (b >= e || *b != '[')
		return NULL;
	/* Up to the "]", at most 63 bytes in; ip_char[']'] is 0. */
	lim = e - b > 64 ? b + 64 : e;
	for (c = b + 1; c < lim && ip_char[(unsigned char)*c]; c++)
		;
	if (c >= e || *c != ']')
		return NULL;
	copy_field(r->host, sizeof(r->host), n, (size_t)(p - n));
	copy_field(r->ip, sizeof(r->ip), b + 1, (size_t)(c - b - 1));
	return c + 1;
}

/* Reads a dotted IPv4 address at p into r->ip; returns its end or NULL. */
static char *
ipv4_at(struct reply *r, char *p, char *e)
{
	char *q = p;
	int dots = 0;

	while (q < e && (ascii_isdigit((unsigned char)*q) || *q == '.')) {
		if (*q == '.')
			dots++;
		q++;
	}
	/* The full stop of a sentence: "Giving up on 192.0.2.1." */
	if (dots == 4 && q[-1] == '.') {
		q--;
		dots--;
	}
	if (dots != 3 || q == p || q[-1] == '.')
		return NULL;
	copy_field(r->ip, sizeof(r->ip), p, (size_t)(q - p));
	return q;
}

size_t
status_at(const char *s, const char *end)
{
	const char *p = s;
	int field, digits;

	if (p >= end || (*p != '2' && *p != '4' && *p != '5'))
		return 0;
	p++;
	for (field = 0; field < 2; field++) {
		if (p >= end || *p != '.')
			return 0;
		p++;
		for (digits = 0; p < end && ascii_isdigit((unsigned char)*p);
		    p++, digits++)
			;
		if (digits < 1 || digits > 3)
			return 0;
	}
	/* Not the head of an IP address or a version number. */
	if (p + 1 < end && *p == '.' && ascii_isdigit((unsigned char)p[1]))
		return 0;
	if (p < end && isalnum((unsigned char)*p))
		return 0;
	return (size_t)(p - s);
}

/* The stage a command named in a wrapper refers to. */
static enum smtp_stage
stage_of_command(const char *p, const char *e)
{
	static const struct {
		const char	*cmd;
		enum smtp_stage	 stage;
	} cmds[] = {
		{ "end of data", STAGE_EOD },
		{ "end of DATA", STAGE_EOD },
		{ "final DATA", STAGE_EOD },	/* dma */
		{ "RCPT", STAGE_RCPT },
		{ "pipelined RCPT", STAGE_RCPT },
		{ "MAIL", STAGE_MAIL },
		{ "pipelined MAIL", STAGE_MAIL },
		{ "DATA", STAGE_DATA },
		{ "pipelined DATA", STAGE_DATA },
		{ "BDAT", STAGE_EOD },
		{ "EHLO", STAGE_HELO },
		{ "HELO", STAGE_HELO },
		{ "LHLO", STAGE_HELO },
		{ "STARTTLS", STAGE_HELO },
		{ "AUTH", STAGE_HELO },
		{ "XFORWARD", STAGE_HELO },
		{ "initial connection", STAGE_CONNECT },
		{ "the initial server greeting", STAGE_CONNECT },
		{ "receiving the initial server greeting", STAGE_CONNECT },
		{ "initial server greeting", STAGE_CONNECT },
		{ "the initial greeting", STAGE_CONNECT },
		{ "sending message", STAGE_EOD },
		{ "sending end of data", STAGE_EOD },
		{ "sending RCPT", STAGE_RCPT },
		{ "sending MAIL", STAGE_MAIL },
		{ "sending DATA", STAGE_DATA },
		{ "performing the EHLO", STAGE_HELO },
		{ "performing the HELO", STAGE_HELO },
		{ "performing the LHLO", STAGE_HELO },
	};
	size_t i, n;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if ((*p | 0x20) != (cmds[i].cmd[0] | 0x20))
			continue;
		n = strlen(cmds[i].cmd);
		if ((size_t)(e - p) >= n && ascii_eq_ci(p, cmds[i].cmd, n))
			return cmds[i].stage;
	}
	return STAGE_UNKNOWN;
}

/*
 * Notes the command at p when it is RCPT TO with its argument ("RCPT
 * TO:<x@y>", "pipelined RCPT TO:<x@y>"), up to its ">".
 */
static void
rcpt_command(struct reply *r, const char *p, const char *e)
{
	const char *q;

	if (e - p > 10 && ascii_eq_ci(p, "pipelined ", 10))
		p += 10;
	if (e - p < 9 || !ascii_eq_ci(p, "RCPT TO:<", 9) ||
	    (q = memchr(p + 9, '>', (size_t)(e - p - 9))) == NULL)
		return;
	r->rcptcmd = p;
	r->rcptcmdlen = (size_t)(q + 1 - p);
}

/* Does a reply code ("550 ", "550-", or "550" alone) start at p? */
static int
is_code(const char *p, const char *e)
{
	return e - p >= 3 && (p[0] >= '2' && p[0] <= '5') &&
	    ascii_isdigit((unsigned char)p[1]) && ascii_isdigit((unsigned char)p[2]) &&
	    (e - p == 3 || p[3] == ' ' || p[3] == '-');
}

/*
 * Peels one wrapper off the front of s. Returns 1 if it did, 0 when
 * the front is the reply itself.
 */
static int
strip_front(struct reply *r, struct span *s)
{
	char *q, *t;
	size_t n;

	/* Every wrapper starts with a word, a mark or an address. */
	if (is_code(s->p, s->e))
		return 0;

	/* A reply quoted whole: "550 ...", '550 ...' (its end may be cut) */
	if ((*s->p == '"' || *s->p == '\'' || *s->p == '`') &&
	    s->e - s->p > 1) {
		if (s->e[-1] == *s->p)
			s->e--;
		s->p++;
		return 1;
	}

	/* DSN diagnostic type: "smtp; 550 ...", "X-Postfix; ..." */
	for (q = s->p; q < s->e && q - s->p < 16 &&
	    (isalnum((unsigned char)*q) || *q == '-'); q++)
		;
	if (q > s->p && q < s->e && *q == ';' &&
	    (ascii_eq_ci(s->p, "smtp;", 5) ||
	    ascii_eq_ci(s->p, "x-", 2))) {
		s->p = q + 1;
		return 1;
	}
	/*
	 * Sendmail's stat=: "Deferred: 421 ..."; Postfix's dead-destination
	 * note, which is followed by the reply that made it so.
	 */
	if ((n = prefix_ci(s, "Deferred: ")) != 0) {
		s->p += n;
		return 1;
	}
	if ((n = prefix_ci(s, "delivery temporarily suspended: ")) != 0) {
		r->suspended = 1;
		s->p += n;
		return 1;
	}
	/* Postfix: "host mx.example[192.0.2.5] said: " */
	if ((n = prefix_ci(s, "host ")) != 0 &&
	    (q = host_at(r, s->p + n, s->e)) != NULL) {
		if (q < s->e && *q == ':') {
			/* Exim DSN: "host mx.example [192.0.2.5]: 550 ..." */
			s->p = q + 1;
			return 1;
		}
		if (ascii_eq_ci(q, " said: ", 7)) {
			s->p = q + 7;
			return 1;
		}
		if (ascii_eq_ci(q, " refused to talk to me: ", 24)) {
			r->stage = STAGE_CONNECT;
			s->p = q + 24;
			return 1;
		}
		return 0;
	}
	/* Exim's log: "H=mx.example [192.0.2.5]: " */
	if ((n = prefix_ci(s, "H=")) != 0 &&
	    (q = host_at(r, s->p + n, s->e)) != NULL && q < s->e && *q == ':') {
		s->p = q + 1;
		return 1;
	}
	/* Exim: "SMTP error from remote mail server after RCPT TO:<x>: " */
	if ((n = prefix_ci(s, "SMTP error from remote mail server after ")) ||
	    (n = prefix_ci(s, "SMTP error from remote mailer after ")) ||
	    (n = prefix_ci(s, "SMTP timeout after "))) {
		q = s->p + n;
		if (r->stage == STAGE_UNKNOWN)
			r->stage = stage_of_command(q, s->e);
		if (ascii_eq_ci(s->p, "SMTP timeout", 12))
			return 0;
		rcpt_command(r, q, s->e);
		/*
		 * Skip the command, and its argument if it has one, up to
		 * ": ": "end of data: 550 ...", "RCPT TO:<x>: 550 ...",
		 * "MAIL FROM:<x> SIZE=1234: 550 ...". The reply may name
		 * an address itself ("550 5.1.1 <x>: user unknown").
		 */
		if ((t = memchr(q, ':', (size_t)(s->e - q))) != NULL &&
		    t + 1 < s->e && t[1] == '<' &&
		    (t = memchr(t, '>', (size_t)(s->e - t))) != NULL)
			q = t;
		if ((t = ascii_find_in(q, s->e, ": ")) != NULL)
			s->p = t + 2;
		else
			s->p = s->e;
		return 1;
	}
	/*
	 * DragonFly dma: "mx.example [192.0.2.5] did not like our RCPT TO:
	 * 550 ...", from its wrapper on (find_embedded_reply()).
	 */
	if ((n = prefix_ci(s, "did not like our ")) != 0) {
		q = s->p + n;
		if (r->stage == STAGE_UNKNOWN)
			r->stage = stage_of_command(q, s->e);
		if ((t = find_ci_head(q, s->e, 24, ": ")) != NULL) {
			s->p = t + 2;
			return 1;
		}
		return 0;
	}
	/* Google's relay: "PERM_FAILURE: SMTP Error (state 12): 550 ..." */
	if ((q = memchr(s->p, '(', (size_t)(s->e - s->p) < 48 ?
	    (size_t)(s->e - s->p) : 48)) != NULL && q - s->p >= 11 &&
	    strncmp(q - 11, "SMTP Error (state ", 18) == 0 &&
	    (t = find_ci_head(q, s->e, 24, "): ")) != NULL) {
		s->p = t + 3;
		return 1;
	}
	/*
	 * qmail: "rcpt@example.net: " in front of everything. With angle
	 * brackets only before qmail's own sentences, since "<x@y>: ..."
	 * also starts Postfix's "Recipient address rejected" texts.
	 */
	for (q = s->p; q < s->e && *q != ' ' && *q != ':'; q++)
		;
	if (q + 1 < s->e && q[0] == ':' && q[1] == ' ' &&
	    memchr(s->p, '@', (size_t)(q - s->p)) != NULL &&
	    (*s->p != '<' || (q[-1] == '>' && q + 2 < s->e &&
	    (ascii_isdigit((unsigned char)q[2]) ||
	    ascii_eq_ci(q + 2, "Connected to ", 13) ||
	    ascii_eq_ci(q + 2, "Sorry, ", 7))))) {
		s->p = q + 2;
		return 1;
	}
	/* qmail: "192.0.2.1 does not like recipient. Remote host said: " */
	if ((q = ipv4_at(r, s->p, s->e)) != NULL && *q == ' ') {
		static const struct {
			const char	*lit;
			enum smtp_stage	 stage;
		} qm[] = {
			{ " does not like recipient.", STAGE_RCPT },
			{ " does not like sender.", STAGE_MAIL },
			{ " failed after I sent the message.", STAGE_EOD },
			{ " failed on DATA command.", STAGE_DATA },
		};
		size_t i;

		for (i = 0; i < sizeof(qm) / sizeof(qm[0]); i++) {
			n = strlen(qm[i].lit);
			if ((size_t)(s->e - q) >= n &&
			    ascii_eq_ci(q, qm[i].lit, n)) {
				r->stage = qm[i].stage;
				s->p = q + n;
				return 1;
			}
		}
	}
	/* qmail: "Connected to 192.0.2.1 but sender was rejected." */
	if ((n = prefix_ci(s, "Connected to ")) != 0 &&
	    (q = ipv4_at(r, s->p + n, s->e)) != NULL) {
		if ((t = ascii_find_in(q, s->e, "sender was rejected")) != NULL)
			r->stage = STAGE_MAIL;
		else if (ascii_find_in(q, s->e, "greeting failed") != NULL)
			r->stage = STAGE_CONNECT;
		else if (ascii_find_in(q, s->e, "my name was rejected") != NULL)
			r->stage = STAGE_HELO;
		if ((t = ascii_find_in(q, s->e, ". ")) != NULL) {
			s->p = t + 2;
			return 1;
		}
	}
	if ((n = prefix_ci(s, "Remote host said: ")) != 0) {
		s->p += n;
		return 1;
	}
	/* Sendmail transcript: ">>> RCPT To:<x> <<< 550 5.1.1 ..." */
	if ((n = prefix_ci(s, ">>> ")) != 0) {
		r->stage = stage_of_command(s->p + n, s->e);
		rcpt_command(r, s->p + n, s->e);
		if ((t = ascii_find_in(s->p, s->e, "<<< ")) != NULL) {
			s->p = t + 4;
			return 1;
		}
	}
	return 0;
}

/* The last "(" in the final lim bytes of [p, e), or NULL. */
static char *
last_paren(char *p, char *e, size_t lim)
{
	if ((size_t)(e - p) > lim)
		p = e - lim;
	return memrchr(p, '(', (size_t)(e - p));
}


/*
 * Does [p, e) hold a server's trailing id: a host name with two dots
 * or more and a letter, then, maybe, a time and a hex id (Exchange
 * Online: "[BN8NAM11FT066.eop-nam11.prod.protection.outlook.com
 * 2024-03-01T10:14:33.123Z 08DC3A2B1C0D9E8F]")? An address, a reply
 * code or words in brackets are not one.
 */
static int
server_id(const char *p, const char *e)
{
	const char *q;
	int dots = 0, alpha = 0, digit;

	for (q = p; q < e && *q != ' '; q++) {
		if (*q == '.')
			dots++;
		else if (isalpha((unsigned char)*q))
			alpha = 1;
		else if (!isdigit((unsigned char)*q) && *q != '-')
			return 0;
	}
	if (dots < 2 || !alpha || q[-1] == '.')
		return 0;
	/* Then words with a digit each: "[mx.example.org sender x]" is words */
	for (digit = 1; q < e; q++) {
		if (*q == ' ') {
			if (!digit)
				return 0;
			digit = 0;
		} else if (isdigit((unsigned char)*q))
			digit = 1;
		else if (!isalpha((unsigned char)*q) && *q != '.' &&
		    *q != ':' && *q != '-' && *q != '+')
			return 0;
	}
	return digit;
}

/*
 * Is [p, e) the start of Postfix's "RCPT TO command", "end of DATA
 * command", ..., cut off before its end (four bytes at least)?
 */
static int
cut_command(const char *p, const char *e)
{
	static const struct {
		const char	*cmd;
		size_t		 len;
	} cmds[] = {
#define CMD(s)	{ s, sizeof(s) - 1 }
		CMD("RCPT TO command"), CMD("MAIL FROM command"),
		CMD("end of DATA command"), CMD("DATA command"),
		CMD("BDAT command"),
#undef CMD
	};
	size_t i, n = (size_t)(e - p);

	if (n < 4)
		return 0;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (n < cmds[i].len && ascii_eq_ci(p, cmds[i].cmd, n))
			return 1;
	return 0;
}

/* Peels one wrapper off the back of s; returns 1 if it did. */
static int
strip_back(struct reply *r, struct span *s)
{
	char *q;
	size_t n;

	/* An ellipsis where a quote was cut short: "... User unkn..." */
	if ((n = suffix_ci(s, "...")) != 0 ||
	    (n = suffix_ci(s, "\xe2\x80\xa6")) != 0) {
		s->e -= n;
		return 1;
	}
	/* Exchange Online's host, time and id after the reply: " [BN8...]" */
	if (s->e - s->p > 8 && s->e[-1] == ']' &&
	    (q = memrchr(s->p, '[', (size_t)(s->e - s->p))) != NULL &&
	    s->e - q < 128 && q > s->p && q[-1] == ' ' &&
	    server_id(q + 1, s->e - 1)) {
		s->e = q;
		return 1;
	}
	/* A quote closing one opened at the front, or left from a payload */
	if (s->e - s->p > 1 && (s->e[-1] == '"' || s->e[-1] == '\'') &&
	    memchr(s->p, s->e[-1], (size_t)(s->e - s->p - 1)) == NULL) {
		s->e--;
		return 1;
	}
	/* "(in reply to MAIL FROM" with the rest of it cut off */
	if ((q = last_paren(s->p, s->e, 40)) != NULL &&
	    (size_t)(s->e - q) > 13 && ascii_eq_ci(q, "(in reply to ", 13) &&
	    cut_command(q + 13, s->e)) {
		/* "end of" cut before its "DATA" names no command yet */
		r->stage = ascii_eq_ci(q + 13, "end ", 4) ? STAGE_EOD :
		    stage_of_command(q + 13, s->e);
		s->e = q;
		return 1;
	}

	/*
	 * The ")" closing the parenthesis a log line opened before the
	 * reply: "status=bounced (host x said: 550 ... (in reply to end of
	 * DATA command))".
	 */
	if ((n = suffix_ci(s, " command))")) != 0) {
		s->e--;
		return 1;
	}
	/* Postfix: " (in reply to RCPT TO command)" */
	if ((n = suffix_ci(s, " command)")) != 0 &&
	    (q = last_paren(s->p, s->e, 64)) != NULL &&
	    (size_t)(s->e - q) > 13 && ascii_eq_ci(q, "(in reply to ", 13)) {
		r->stage = stage_of_command(q + 13, s->e - n);
		s->e = q;
		return 1;
	}
	/*
	 * Yahoo's: "Remote host said: 550 5.1.1 ... [RCPT_TO]", the
	 * command in brackets after the reply.
	 */
	if ((n = suffix_ci(s, " [MAIL_FROM]")) != 0 ||
	    (n = suffix_ci(s, " [RCPT_TO]")) != 0) {
		if (r->stage == STAGE_UNKNOWN)
			r->stage = n == sizeof(" [MAIL_FROM]") - 1 ?
			    STAGE_MAIL : STAGE_RCPT;
		s->e -= n;
		return 1;
	}
	/* qmail: " Giving up on 192.0.2.1." */
	if (s->e - s->p > 20 && s->e[-1] == '.' &&
	    ascii_isdigit((unsigned char)s->e[-2]) &&
	    (q = find_ci_tail(s->p, s->e, 64, " Giving up on ")) != NULL &&
	    ipv4_at(r, q + 14, s->e) == s->e - 1) {
		s->e = q;
		return 1;
	}
	return 0;
}

/*
 * PowerMTA's accounting row: "b,2024-03-01 10:14:33+0000,...,orig,rcpt,
 * ...,failed,5.1.1 (bad destination mailbox address),smtp;550 ...,
 * mx.example (192.0.2.4),smtp,...". The reply is its dsnDiag field, up
 * to the next comma (a field holding one is quoted). Sets s to it and
 * returns 1; the fields in front are the row's, never the server's
 * words, so the caller keeps no lead.
 */
/*
 * The row's rcpt field (its fifth: type, timeLogged, timeQueued, orig,
 * rcpt), the mailbox the reply answered, as r->rcptcmd when it holds
 * an "@" and lies in front of the reply at q.
 */
static void
acct_rcpt(struct reply *r, char *p, char *q)
{
	char *f, *c;
	int i;

	for (f = p, i = 0; i < 4 && f != NULL && f < q; i++)
		if ((f = memchr(f, ',', (size_t)(q - f))) != NULL)
			f++;
	if (f == NULL || f >= q || (c = memchr(f, ',', (size_t)(q - f))) ==
	    NULL || memchr(f, '@', (size_t)(c - f)) == NULL)
		return;
	r->rcptcmd = f;
	r->rcptcmdlen = (size_t)(c - f);
}

static int
acct_row(struct reply *r, struct span *s)
{
	char *p = s->p, *q, *t, close = ',';
	int n;

	for (n = 0; p + n < s->e && n < 3 && islower((unsigned char)p[n]); n++)
		;
	if (n == 0 || n == 3 || s->e - p < n + 12 || p[n] != ',' ||
	    !isdigit((unsigned char)p[n + 1]) || p[n + 5] != '-' ||
	    p[n + 8] != '-')
		return 0;
	if ((q = ascii_find_in(p, s->e, ",smtp;")) != NULL)
		q += 6;
	else if ((q = ascii_find_in(p, s->e, ",\"smtp;")) != NULL) {
		q += 7;
		close = '"';
	} else
		return 0;
	if (q < s->e && *q == ' ')
		q++;
	if (!is_code(q, s->e))
		return 0;
	/* in a quoted field, "" is a quote of the text */
	for (t = q; (t = memchr(t, close, (size_t)(s->e - t))) != NULL &&
	    close == '"' && t + 1 < s->e && t[1] == '"'; t += 2)
		;
	if (t != NULL)
		s->e = t;
	acct_rcpt(r, p, q);
	s->p = q;
	return 1;
}

/*
 * Does the quote at q end a payload's value: is it followed by the end
 * of the text, by "}", "]", ";" or another key (maybe after a comma),
 * not by more words? A quote inside the value was escaped ("\"x\"
 * is not valid"), and unescape() made it a plain one.
 */
static int
value_closes(const char *q, const char *e)
{
	const char *k;

	for (q++; q < e && *q == ' '; q++)
		;
	if (q == e || *q == '}' || *q == ']' || *q == ';')
		return 1;
	if (*q == ',')
		for (q++; q < e && *q == ' '; q++)
			;
	if (q == e || *q == '"' || *q == '\'' || *q == '{')
		return 1;
	for (k = q; k < e && (isalnum((unsigned char)*k) || *k == '_' ||
	    *k == '-'); k++)
		;
	return k > q && k < e && (*k == '=' || *k == ':');
}

/*
 * Where the value that starts at v and is quoted with close ends: the
 * first such quote that value_closes(), else the first one; NULL when
 * there is none.
 */
static char *
value_end(char *v, char *e, char close)
{
	char *t, *first = memchr(v, close, (size_t)(e - v));

	if (close == '}')
		return first;
	for (t = first; t != NULL; t = memchr(t + 1, close,
	    (size_t)(e - t - 1)))
		if (value_closes(t, e))
			return t;
	return first;
}

/*
 * The reply inside an event payload or a dashboard's line: the value
 * of a JSON member or a key=value pair that sending services and
 * their tools fill with it (SendGrid's "reason" and "response",
 * Mailgun's "message", SES's "diagnosticCode", SparkPost's
 * "raw_reason", Mandrill's "diag", Postmark's "Details", Exchange's
 * "{LED=...}"), when a reply code or an enhanced status starts it,
 * maybe after "smtp;". Sets s to the value, up to its closing quote
 * (value_end()) or "}" for LED=, and r's tail to what follows it (the
 * payload's other fields, for the guards); returns where the key
 * starts, or NULL.
 */
static char *
payload_reply(struct reply *r, struct span *s)
{
	static const char *const keys[] = {
		/* JSON, its opening quote left out: a quote in front of
		 * the whole text is gone by now */
		"reason\":", "response\":", "message\":",
		"diagnosticCode\":", "diagnostic_code\":", "error\":",
		"reason=", "raw_reason=", "response=", "diagnosticCode=",
		"diag: ", "diag=", "Details: ", "Details\":",
		"Bounce reason: ",
		"diagnosticCode: ", "{LED=", "RecipientStatus: {",
	};
	size_t i, n;
	char *q, *v, *t, close;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if ((q = ascii_find_in(s->p, s->e, keys[i])) == NULL)
			continue;
		n = strlen(keys[i]);
		v = q + n;
		if (v < s->e && *v == ' ')
			v++;
		close = '\0';
		if (v < s->e && (*v == '"' || *v == '\'')) {
			close = *v++;
		} else if (keys[i][0] == '{' || keys[i][n - 1] == '{') {
			close = '}';
		}
		if (s->e - v > 5 && ascii_eq_ci(v, "smtp;", 5))
			v += v[5] == ' ' ? 6 : 5;
		if (!is_code(v, s->e) && status_at(v, s->e) == 0)
			continue;
		if (close != '\0' && (t = value_end(v, s->e, close)) != NULL) {
			if (s->e - t > 1) {
				r->tail = t + 1;
				r->taillen = (size_t)(s->e - t - 1);
			}
			s->e = t;
		}
		s->p = v;
		return q;
	}
	return NULL;
}

/*
 * Does [p, e) hold a "2" to "5", the first byte of any reply code
 * (is_code()) or enhanced status (status_at())? Sixteen bytes at a time
 * where SSE2 is there.
 */
static int
code_digit(const char *p, const char *e)
{
#ifdef __SSE2__
	/* c - "2" < 4, unsigned: c + (0x80 - "2") < 0x84, signed */
	const __m128i off = _mm_set1_epi8((char)(0x80 - '2')),
	    lim = _mm_set1_epi8((char)(0x80 + 4));

	for (; e - p >= 16; p += 16) {
		__m128i v = _mm_add_epi8(_mm_loadu_si128(
		    (const __m128i *)(const void *)p), off);

		if (_mm_movemask_epi8(_mm_cmplt_epi8(v, lim)) != 0)
			return 1;
	}
#endif
	for (; p < e; p++)
		if ((unsigned)((unsigned char)*p - '2') < 4)
			return 1;
	return 0;
}

/*
 * Where in a text with no leading code the reply itself starts: after
 * a mark that introduces the server's words ("Remote host said: ",
 * "Reason: ", Exchange's "Remote Server returned '", .NET's "The
 * server response was: ", a PHP mailer's "with message \"", Java's
 * and Ruby's exception names), when a reply code or an enhanced
 * status follows it; or at a wrapper that names the command it
 * answered (Exim's "SMTP error from remote mail server after ..."),
 * which strip_front() then peels; or in a PowerMTA accounting row
 * (acct_row(), with no lead) or an event payload's field
 * (payload_reply()), looked for before the marks. The words in front
 * of it are the reporter's, not the server's. Returns where the mark,
 * the wrapper or the key starts, or NULL when it found none (or read
 * a row).
 */
static char *
find_embedded_reply(struct reply *r, struct span *s)
{
	static const char *const marks[] = {
		"Remote host said: ", " said: ", " reply: ", "<<< ",
		"Reason: ", "Remote Server returned '",
		"The server response was: ", "with message \"",
		"Diagnostic-Code: smtp; ", "Exception: ", "Error: ",
		"SMTPServerBusy: ",
	};
	static const char *const wrappers[] = {
		"SMTP error from remote mail server after ",
		"SMTP error from remote mailer after ",
		"Connected to ",
		"did not like our ",
	};
	enum smtp_stage stage;
	size_t i, n, guard;
	char *q, *was;
	char host[sizeof(r->host)], ip[sizeof(r->ip)];

	/* A wrapper first: it says the stage too. */
	for (i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++) {
		if ((q = ascii_find_in(s->p, s->e, wrappers[i])) == NULL)
			continue;
		was = s->p;
		stage = r->stage;
		memcpy(host, r->host, sizeof(host));
		memcpy(ip, r->ip, sizeof(ip));
		s->p = q;
		for (guard = 0; guard < 4 && strip_front(r, s); guard++)
			trim(s);
		if (is_code(s->p, s->e))
			return q;
		/* Not a wrapper after all: what it read is not the reply's. */
		s->p = was;
		r->stage = stage;
		memcpy(r->host, host, sizeof(host));
		memcpy(r->ip, ip, sizeof(ip));
	}
	if (acct_row(r, s))
		return NULL;
	/* A key or a mark counts only before a code or a status */
	if (!code_digit(s->p, s->e))
		return NULL;
	if ((q = payload_reply(r, s)) != NULL)
		return q;
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		if ((q = ascii_find_in(s->p, s->e, marks[i])) == NULL)
			continue;
		n = strlen(marks[i]);
		if (is_code(q + n, s->e) || status_at(q + n, s->e) != 0) {
			if (*marks[i] == '<') {
				/* Sendmail: ">>> RCPT To:<x>" before it */
				char *c = ascii_find_in(s->p, q, ">>> ");

				if (c != NULL)
					r->stage = stage_of_command(c + 4, q);
			}
			s->p = q + n;
			return q;
		}
	}
	return NULL;
}

/*
 * The reply inside an application's or library's report of it (Python's
 * smtplib, PHPMailer, Nodemailer, JavaMail, .NET, swaks, ...: see
 * replyapp.h), with the stage and the mailbox the report names; loose
 * is the last resort, "words: 550 5.1.1 ...". Sets s to the reply and
 * returns where the report's own words start, or NULL.
 */
static char *
app_reply(struct reply *r, struct span *s, int loose)
{
	struct appreply a;

	if (!(loose ? appreply_loose(s->p, s->e, &a) :
	    appreply_find(s->p, s->e, r->want, &a)))
		return NULL;
	if (a.stage != STAGE_UNKNOWN)
		r->stage = a.stage;
	if (a.rcpt != NULL && memchr(a.rcpt, '@', a.rcptlen) != NULL) {
		r->mailbox = a.rcpt;
		r->mailboxlen = a.rcptlen;
		if (r->rcptcmd == NULL) {
			r->rcptcmd = a.rcpt;
			r->rcptcmdlen = a.rcptlen;
		}
	}
	s->p = a.p;
	s->e = a.e;
	trim(s);
	return a.wrapper;
}

/* The host and IP of Postfix's own "connect to x[ip]:25: ..." texts. */
static void
postfix_own_host(struct reply *r, struct span *s)
{
	static const struct {
		const char	*lit;
		enum smtp_stage	 stage;
	} own[] = {
		{ "connect to ", STAGE_CONNECT },
		{ "lost connection with ", STAGE_UNKNOWN },
		{ "conversation with ", STAGE_UNKNOWN },
	};
	size_t i, n;
	char *q, *w;

	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		if ((q = ascii_find_in(s->p, s->e, own[i].lit)) == NULL)
			continue;
		n = strlen(own[i].lit);
		if (host_at(r, q + n, s->e) == NULL)
			continue;
		if (own[i].stage != STAGE_UNKNOWN)
			r->stage = own[i].stage;
		else if ((w = ascii_find_in(q, s->e, " while ")) != NULL)
			r->stage = stage_of_command(w + 7, s->e);
		return;
	}
}

/*
 * Removes the per-line prefixes of a joined multi-line reply: every
 * " 550-5.1.1 ", " 550-", and the last line's " 550 5.1.1 ".
 */
static void
strip_continuations(struct reply *r, struct span *s)
{
	char code[3], *rd, *wr;
	size_t slen = strlen(r->status), n;
	int joined = 0;

	code[0] = (char)('0' + r->code / 100);
	code[1] = (char)('0' + r->code / 10 % 10);
	code[2] = (char)('0' + r->code % 10);
	for (rd = wr = s->p; rd < s->e; ) {
		char *hit = memchr(rd, code[0], (size_t)(s->e - rd));

		if (hit == NULL)
			hit = s->e;
		if (wr != rd)
			memmove(wr, rd, (size_t)(hit - rd));
		wr += hit - rd;
		rd = hit;
		if (rd == s->e)
			break;
		if ((rd == s->p || rd[-1] == ' ') && is_code(rd, s->e) &&
		    rd + 3 < s->e && memcmp(rd, code, 3) == 0) {
			n = 0;
			if (rd[3] == '-') {
				n = 4;
				joined = 1;
			} else if (slen && (size_t)(s->e - rd) > 4 + slen &&
			    memcmp(rd + 4, r->status, slen) == 0 &&
			    rd[4 + slen] == ' ') {
				n = 4;
			} else if (joined) {
				n = 4;
			}
			if (n && slen && (size_t)(s->e - rd) >= n + slen &&
			    memcmp(rd + n, r->status, slen) == 0 &&
			    (rd + n + slen == s->e || rd[n + slen] == ' '))
				n += slen + (rd + n + slen < s->e);
			if (n) {
				rd += n;
				continue;
			}
		}
		*wr++ = *rd++;
	}
	s->e = wr;
}

#define ONES	UINT64_C(0x0101010101010101)
#define HIGHS	UINT64_C(0x8080808080808080)

/* 0x80 in each byte of x that is zero, 0 elsewhere; exact. */
static inline uint64_t
zero_bytes(uint64_t x)
{
	return ~(((x & ~HIGHS) + ~HIGHS) | x | ~HIGHS);
}

/*
 * Copies n bytes of in to out with every run of whitespace and control
 * characters made one space, none at either end; returns the end of
 * out. Eight bytes at a time where they hold nothing to fold (no
 * control character, no two spaces together), which is most of a
 * reply; byte by byte elsewhere.
 */
static char *
fold(char *out, const char *in, size_t n)
{
	const char *e = in + n;
	char *w = out;
	uint64_t x, sp;
	int last_space = 1;	/* nothing written yet counts as a space */

	while (in < e) {
#ifdef __SSE2__
		/* The same test, sixteen bytes at a time. */
		if (e - in >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)in);
			unsigned sp16, ctl;

			sp16 = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v,
			    _mm_set1_epi8(' ')));
			ctl = (unsigned)_mm_movemask_epi8(_mm_or_si128(
			    _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)),
			    v), _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f))));
			if ((ctl | (sp16 & sp16 >> 1) |
			    (last_space ? sp16 & 1 : 0)) == 0) {
				_mm_storeu_si128((__m128i *)(void *)w, v);
				w += 16;
				in += 16;
				last_space = (int)(sp16 >> 15);
				continue;
			}
		}
#endif
		if (e - in >= 8) {
			memcpy(&x, in, 8);
			sp = zero_bytes(x ^ (ONES * ' '));
			if ((zero_bytes(x & (ONES * 0xe0)) |
			    zero_bytes(x ^ (ONES * 0x7f)) | (sp & sp << 8) |
			    (last_space ? sp & 0x80 : 0)) == 0) {
				memcpy(w, in, 8);
				w += 8;
				in += 8;
				last_space = (sp >> 56) != 0;
				continue;
			}
		}
		if ((unsigned char)*in <= ' ' || *in == 0x7f) {
			if (!last_space)
				*w++ = ' ';
			last_space = 1;
		} else {
			*w++ = *in;
			last_space = 0;
		}
		in++;
	}
	if (w > out && w[-1] == ' ')
		w--;
	*w = '\0';
	return w;
}

/*
 * The escapes unescape() undoes besides HTML's character references
 * (html_entity()), and what each one stands for.
 */
static const struct {
	const char	*lit;
	size_t		 len;
	char		 to;
} ents[] = {
#define ENT(s, c)	{ s, sizeof(s) - 1, c }
	ENT("<br>", ' '), ENT("<br/>", ' '), ENT("<br />", ' '),
	ENT("\\n", ' '), ENT("\\r", ' '), ENT("\\t", ' '),
	ENT("\\\"", '"'), ENT("\\'", '\''), ENT("\\/", '/'),
	ENT("\\u003c", '<'), ENT("\\u003e", '>'), ENT("\\u0027", '\''),
	ENT("\\u0026", '&'), ENT("\\u0022", '"'), ENT("\\u000a", ' '),
	ENT("\\u000d", ' '),
#undef ENT
};

/*
 * The index in ents[] of the escape at rd (below e), its length in *n;
 * the size of ents[] when there is none.
 */
static size_t
escape_at(const char *rd, const char *e, size_t *n)
{
	size_t i;

	/* An escape's first byte is no letter: compared as it is */
	for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		*n = ents[i].len;
		if (*rd == ents[i].lit[0] && (size_t)(e - rd) >= *n &&
		    ascii_eq_ci(rd + 1, ents[i].lit + 1, *n - 1))
			break;
	}
	return i;
}

/* Does an escape start at p (below e): a character reference or one of ents[]? */
static int
is_escape(const char *p, const char *e)
{
	char u[4], *up = u;
	size_t n;

	if (*p == '&')
		return html_entity(p, e, &up) > 0;
	return escape_at(p, e, &n) < sizeof(ents) / sizeof(ents[0]);
}

/*
 * Where the first escape of ents[] starts in [p, e), or e. Sixteen
 * bytes at a time where SSE2 is there: most texts hold none of the
 * bytes an escape starts with, or only the "<" of an address.
 */
static char *
first_escape(char *p, char *e)
{
#ifdef __SSE2__
	const __m128i amp = _mm_set1_epi8('&'), bsl = _mm_set1_epi8('\\'),
	    lt = _mm_set1_epi8('<');

	for (; e - p >= 16; p += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(void *)p);
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
		    _mm_or_si128(_mm_cmpeq_epi8(v, amp), _mm_cmpeq_epi8(v, bsl)),
		    _mm_cmpeq_epi8(v, lt)));

		for (; m != 0; m &= m - 1)
			if (is_escape(p + __builtin_ctz(m), e))
				return p + __builtin_ctz(m);
	}
#endif
	for (; p < e; p++)
		if ((*p == '&' || *p == '\\' || *p == '<') && is_escape(p, e))
			return p;
	return e;
}

/*
 * Undoes the quoting damage a reply picks up when it is pasted from a
 * web page, a JSON payload or a log that escapes its text: HTML
 * character references ("&lt;x&gt;", twice escaped "&amp;lt;",
 * "&quot;", "&#39;", "&#10;"; see html_entity()), "<br>", and the
 * backslash escapes of JSON and C strings ("\n", "\r", "\t", "\"",
 * "\'", "\/", "\u003c"). A line break becomes
 * a space, as fold() makes it; runs of spaces stay one. Works in place
 * on [p, e) (the text only shrinks); returns the new end.
 */
static char *
unescape(char *p, char *e)
{
	char *rd, *wr;
	size_t i, n;
	int pass;

	/* Twice: "&amp;lt;" is "&lt;" once undone. */
	for (pass = 0; pass < 2; pass++) {
		/*
		 * The text holds no two spaces together (fold() made it so,
		 * and so does a pass), so up to the first escape a pass
		 * copies each byte onto itself: it starts there, and a text
		 * with none is done.
		 */
		if ((rd = first_escape(p, e)) == e)
			break;
		for (wr = rd; rd < e; ) {
			char c = *rd, u[4], *up = u;

			if (c == '&' && (n = html_entity(rd, e, &up)) > 0) {
				rd += n;
				if (up - u == 1 && isspace((unsigned char)u[0])) {
					if (wr > p && wr[-1] != ' ')
						*wr++ = ' ';
					continue;
				}
				memcpy(wr, u, (size_t)(up - u));
				wr += up - u;
				continue;
			}
			if (c == '\\' || c == '<') {
				i = escape_at(rd, e, &n);
				if (i < sizeof(ents) / sizeof(ents[0])) {
					c = ents[i].to;
					rd += n;
					if (c == ' ' && (wr == p || wr[-1] == ' '))
						continue;
					*wr++ = c;
					continue;
				}
			}
			if (c == ' ' && wr > p && wr[-1] == ' ') {
				rd++;
				continue;
			}
			*wr++ = *rd++;
		}
		e = wr;
	}
	while (e > p && e[-1] == ' ')
		e--;
	*e = '\0';
	return e;
}

void
reply_parse(struct reply *r, const char *in, size_t n)
{
	struct span s;
	char *w, *q, *lead;
	size_t len;
	int guard;

	r->code = 0;
	r->status[0] = '\0';
	r->stage = STAGE_UNKNOWN;
	r->rcptcmd = NULL;
	r->rcptcmdlen = 0;
	r->suspended = 0;
	r->mailbox = NULL;
	r->mailboxlen = 0;
	r->host[0] = r->ip[0] = '\0';
	if (n == 0)
		in = "";	/* an absent text (NULL) is an empty one */
	if (r->bufsz < n + 1) {
		r->bufsz = n + 1 < 256 ? 256 : n + 1;
		free(r->buf);
		/* zeroed: the JIT reads ahead of the text, within it */
		r->buf = xcalloc(1, r->bufsz);
	}

	w = fold(r->buf, in, n);
	w = unescape(r->buf, w);
	s.p = r->buf;
	s.e = w;

	for (guard = 0; guard < 16; guard++) {
		trim(&s);
		if (!strip_front(r, &s) && !strip_back(r, &s))
			break;
	}
	trim(&s);
	r->lead = NULL;
	r->leadlen = 0;
	r->tail = NULL;
	r->taillen = 0;
	if (!is_code(s.p, s.e)) {
		postfix_own_host(r, &s);
		lead = s.p;
		if (((q = app_reply(r, &s, 0)) != NULL ||
		    (q = find_embedded_reply(r, &s)) != NULL ||
		    (!is_code(s.p, s.e) && (q = app_reply(r, &s, 1)) != NULL))
		    && q > lead) {
			r->lead = lead;
			r->leadlen = (size_t)(q - lead);
		}
	}

	if (is_code(s.p, s.e)) {
		r->code = (s.p[0] - '0') * 100 + (s.p[1] - '0') * 10 +
		    (s.p[2] - '0');
		s.p += 3;
		if (s.p < s.e)
			s.p++;
		q = s.p < s.e && *s.p == '#' ? s.p + 1 : s.p;
		if ((len = status_at(q, s.e)) != 0 && q[0] == s.p[-4]) {
			copy_field(r->status, sizeof(r->status), q, len);
			s.p = q + len;
		}
		trim(&s);
		strip_continuations(r, &s);
		/* Trailing wrappers may sit after a code-led reply too. */
		for (guard = 0; guard < 4 && strip_back(r, &s); guard++)
			trim(&s);
	}
	trim(&s);

	/* A status elsewhere in the text: "(#4.4.1)", "... 5.1.1 ...". */
	if (r->status[0] == '\0') {
		for (q = s.p; q < s.e; q++) {
			/* What status_at() needs first: "2.", "4." or "5.". */
			if ((*q != '2' && *q != '4' && *q != '5') ||
			    q + 1 >= s.e || q[1] != '.')
				continue;
			if (q > s.p && (isalnum((unsigned char)q[-1]) ||
			    q[-1] == '.' || q[-1] == '-' || q[-1] == '/' ||
			    q[-1] == '='))
				continue;
			if ((len = status_at(q, s.e)) == 0)
				continue;
			if (r->code && q[0] != '0' + r->code / 100)
				continue;
			copy_field(r->status, sizeof(r->status), q, len);
			break;
		}
	}

	*s.e = '\0';
	r->text = s.p;
	r->textlen = (size_t)(s.e - s.p);
}
