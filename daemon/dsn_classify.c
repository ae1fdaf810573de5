/*
 * dsn_classify.c -- one recipient of a bounce report to a decision
 *
 * dsn_classify() picks the reply to classify (the staged one Postfix
 * and Exim quote, Sendmail's whole multi-line reply from its
 * transcript), tells classify() what the report knows of the
 * transaction (its stage, how many recipients failed alike, the
 * sender's own addresses), and then applies what a report adds to a
 * reply: its Status, the mailer's own failures, "no such user" after
 * DATA read as filtered, expiry, delivery. No I/O, no state kept.
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

static int
hard_reason(enum reason r)
{
	return r == R_USERUNKNOWN || r == R_HOSTUNKNOWN || r == R_HASMOVED ||
	    r == R_NOTACCEPT;
}

/*
 * Is address b another mailbox than a: another local part, or another
 * domain that is neither a's nor one under or above it (Sendmail's
 * "ann@mail.example.org" for "ann@example.org" is the same one)?
 */
static int
another_mailbox(const char *a, const char *b)
{
	const char *ad = strrchr(a, '@'), *bd = strrchr(b, '@');
	size_t an, bn;

	if (ad == NULL || bd == NULL)
		return 0;
	if (ad - a != bd - b || strncasecmp(a, b, (size_t)(ad - a)) != 0)
		return 1;
	ad++;
	bd++;
	an = strlen(ad);
	bn = strlen(bd);
	if (an < bn)
		return !(bd[bn - an - 1] == '.' &&
		    strcasecmp(bd + bn - an, ad) == 0);
	if (bn < an)
		return !(ad[an - bn - 1] == '.' &&
		    strcasecmp(ad + an - bn, bd) == 0);
	return strcasecmp(ad, bd) != 0;
}

/*
 * Does the reply, one with no enhanced status, open with the
 * recipient's address after its code ("542 ann@example.org Rejected",
 * Symantec Email Security.cloud's)? Then it is the verdict on that
 * address, as RCPT TO gets. With a status, the status says what it is
 * ("550 5.2.1 <ann@example.org>... User Unknown" is filtered).
 */
static int
reply_opens_with_rcpt(const struct dsn_rcpt *r)
{
	const char *p = r->diag, *e = r->diag + r->diaglen;
	size_t n;

	if (p == NULL || r->rcpt == NULL || r->diag_in_text)
		return 0;
	if (e - p < 4 || !isdigit((unsigned char)p[0]) ||
	    !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
	    !isspace((unsigned char)p[3]))
		return 0;
	for (p += 4; p < e && isspace((unsigned char)*p); p++)
		;	/* a folded Diagnostic-Code breaks anywhere */
	if (p < e && isdigit((unsigned char)*p) && e - p > 1 && p[1] == '.')
		return 0;	/* its enhanced status speaks (x.2.1 ...) */
	if (p < e && *p == '<')
		p++;
	n = strlen(r->rcpt);
	if ((size_t)(e - p) < n || strncasecmp(p, r->rcpt, n) != 0)
		return 0;
	p += n;
	return p == e || *p == '>' || isspace((unsigned char)*p);
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
	if (reply_opens_with_rcpt(r))
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
 * Is one of [a, a + an) and [b, b + bn) the head of the other, at least
 * 4 bytes of each, taking any run of white space for any other? A
 * Diagnostic-Code folded at one width and unfolded keeps the folding's
 * indentation ("550-5.7.1    Unauthenticated"), and a transcript line
 * has it on one line.
 */
static int
head_eq_ws(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;

	while (i < an && j < bn) {
		if (isspace((unsigned char)a[i]) &&
		    isspace((unsigned char)b[j])) {
			while (i < an && isspace((unsigned char)a[i]))
				i++;
			while (j < bn && isspace((unsigned char)b[j]))
				j++;
			continue;
		}
		if (a[i] != b[j])
			return 0;
		i++;
		j++;
	}
	return i >= 4 && j >= 4;
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
		if (head_eq_ws(p + 4, k, r->diag, r->diaglen))
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
	size_t len = 0, k, i;

	if (r->diag_in_text || r->diaglen < 4 ||
	    !isdigit((unsigned char)d[0]) || !isdigit((unsigned char)d[1]) ||
	    !isdigit((unsigned char)d[2]) || d[3] != '-' ||
	    (p = transcript_line(rep, r, &e)) == NULL)
		return;
	for (; p < e; p = le + 1) {
		/* A line may be folded, its continuations indented. */
		le = folded_end(p, e);
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
		for (i = 0; i < k; i++) {
			if (q[i] == '\n' || q[i] == '\r') {
				while (len > 0 && is_wsp(buf[len - 1]))
					len--;
				buf[len++] = ' ';
				while (i + 1 < k && isspace((unsigned char)q[i + 1]))
					i++;
			} else
				buf[len++] = q[i];
		}
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

/*
 * Does a classification say the refusal was of our side (our host, our
 * sender, our connection or authentication), or come at a stage before
 * any recipient was named? Then the recipient's existence was not in
 * question, whatever a Status says.
 */
static int
refused_us(const struct classification *cl)
{
	switch (cl->reason) {
	case R_AUTHFAILURE:
	case R_BADREPUTATION:
	case R_BLOCKED:
	case R_NORELAYING:
	case R_REJECTED:
	case R_REQUIREPTR:
	case R_SPEEDING:
	case R_TOOMANYCONN:
		return 1;
	default:
		return verdict_scope(cl->stage, R_USERUNKNOWN) == GUARD_STAGE;
	}
}

/*
 * What a feedback report of this type (RFC 5965, 6591, 6650) asks of
 * us: a complaint ("abuse", "fraud"), an unsubscription ("opt-out") or
 * one of no type we know is the recipient's wish to get no more mail;
 * "not-spam" says the opposite; "auth-failure" (our SPF, DKIM or DMARC)
 * and "virus" are about our message, not the recipient's wish.
 */
static unsigned
feedback_decision(const char *type)
{
	if (strcmp(type, "not-spam") == 0)
		return 0;
	if (strcmp(type, "auth-failure") == 0 || strcmp(type, "virus") == 0)
		return D_ALERT;
	return D_SUPPRESS;
}

/* Did the MTA give up delivering after a network failure? */
static int
gave_up(const struct dsn_rcpt *r, const struct classification *cl)
{
	const char *st = cl->status;

	if (st[0] != '\0' && strncmp(st + 1, ".4.", 3) == 0 &&
	    (strcmp(st + 4, "1") == 0 || strcmp(st + 4, "7") == 0))
		return 1;
	/*
	 * The report's own Status says so when the reply's does not
	 * ("Status: 4.4.7" over "421 4.4.2 Connection timed out").
	 */
	if ((st = r->status) != NULL && strncmp(st + 1, ".4.", 3) == 0 &&
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
	size_t n;

	if (text == NULL || r->rcpt == NULL)
		return 0;
	n = strlen(r->rcpt);
	e = text + len;
	for (p = text; p < e; p = le + 1) {
		le = line_end(p, e);
		if (le - p < 4 || !isdigit((unsigned char)p[0]) ||
		    !isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]) || p[3] != ' ')
			continue;
		/* The line may be folded before the address. */
		le = folded_end(p, e);
		for (q = p; (q = memchr(q, '<', (size_t)(le - q))) != NULL;
		    q++)
			if ((size_t)(le - q) >= n + 5 &&
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
 * The command a session transcript shows the reply at line `at` of
 * [s, e) to answer: ">>> RCPT To:<x>" then "<<< 554 ...". Replies come
 * in the order of the commands, also when the client pipelines them
 * (">>> RCPT To:<a>", ">>> RCPT To:<b>", ">>> DATA", then three
 * replies), so the reply is paired with the command of its rank, only
 * the last line of a multi-line reply ("<<< 554 ", not "<<< 554-")
 * counting. The transcript starts at the last "while talking to" line
 * before the reply (Sendmail's), else at the top; lines that are
 * neither ">>> " nor "<<< " (the MTA's own verdicts) are skipped.
 * Returns STAGE_RCPT, STAGE_EOD (DATA or the final dot: the message
 * stage of the data-stage guard), STAGE_MAIL, or STAGE_UNKNOWN when the
 * transcript does not show the command.
 */
static enum smtp_stage
transcript_command(const char *s, const char *e, const char *at)
{
	const char *p, *le = NULL, *cmd = NULL;
	size_t n = 0, rank = 0;

	while ((p = find_ws_ci(s, (size_t)(at - s), "while talking to",
	    NULL)) != NULL)
		s = p + 16;
	/* The rank of the reply at `at` among the replies. */
	for (p = s; p < at; p = le + 1) {
		le = line_end(p, e);
		if (le - p >= 8 && strncmp(p, "<<< ", 4) == 0 && p[7] == ' ')
			rank++;
	}
	/* The command of the same rank, given before the reply. */
	for (p = s; p < at; p = le + 1) {
		le = line_end(p, e);
		if (le - p >= 5 && strncmp(p, ">>> ", 4) == 0 &&
		    n++ == rank) {
			cmd = p + 4;
			break;
		}
	}
	if (cmd == NULL)
		return STAGE_UNKNOWN;
	if (strncasecmp(cmd, "RCPT ", 5) == 0)
		return STAGE_RCPT;
	if (strncasecmp(cmd, "MAIL ", 5) == 0)
		return STAGE_MAIL;
	if (strncasecmp(cmd, "DATA", 4) == 0 || (cmd[0] == '.' &&
	    (cmd + 1 == le || isspace((unsigned char)cmd[1]))))
		return STAGE_EOD;
	return STAGE_UNKNOWN;
}

/*
 * Where a text bounce's shared transcript shows the reply that a
 * recipient's own text gives as its reason ("<k@x>\n    (reason: 550
 * User unknown)", then "<<< 550 User unknown" under ">>> MAIL From:"):
 * the "<<< " line with the very same words. NULL if none.
 */
static const char *
text_reason_line(const struct dsn_report *rep, const struct dsn_rcpt *r)
{
	const char *rs, *re, *p, *le, *q, *e;
	size_t n;

	if (rep->context == NULL || r->ctx == NULL ||
	    (rs = find_ws_ci(r->ctx, r->ctxlen, "(reason:", &re)) == NULL)
		return NULL;
	rs = re;
	while (rs < r->ctx + r->ctxlen && is_wsp(*rs))
		rs++;
	re = line_end(rs, r->ctx + r->ctxlen);
	while (re > rs && (isspace((unsigned char)re[-1]) || re[-1] == ')'))
		re--;
	n = (size_t)(re - rs);
	if (n < 5 || !isdigit((unsigned char)rs[0]) ||
	    !isdigit((unsigned char)rs[1]) || !isdigit((unsigned char)rs[2]))
		return NULL;
	e = rep->context + rep->contextlen;
	for (p = rep->context; p < e; p = le + 1) {
		le = line_end(p, e);
		if (le - p < 4 || strncmp(p, "<<< ", 4) != 0)
			continue;
		for (q = le; q > p + 4 && isspace((unsigned char)q[-1]); q--)
			;
		if ((size_t)(q - p - 4) == n && memcmp(p + 4, rs, n) == 0)
			return p;
	}
	return NULL;
}

/*
 * A recipient's text that is itself the exchange that failed, as
 * Sendmail v5 gives it: the command, the refusal, then the verdict,
 * which names the recipient whatever the command was (">>> MAIL
 * From:<s>", "<<< 553 ... Sender domain must resolve", "554 <rcpt>...
 * Remote protocol error"; the ">>> " may be gone). A refusal of MAIL
 * FROM is then the stage, not the RCPT that the verdict's form
 * suggests; STAGE_UNKNOWN when the text begins with no such exchange
 * (the checks after settle the other commands).
 */
static enum smtp_stage
own_exchange_stage(const struct dsn_rcpt *r)
{
	const char *p, *e, *le;

	if (!r->diag_in_text || r->ctx == NULL)
		return STAGE_UNKNOWN;
	p = r->ctx;
	e = r->ctx + r->ctxlen;
	if (e - p >= 4 && strncmp(p, ">>> ", 4) == 0)
		p += 4;
	if (e - p < 10 || strncasecmp(p, "MAIL FROM:", 10) != 0)
		return STAGE_UNKNOWN;
	le = line_end(p, e);
	return e - le > 8 && strncmp(le + 1, "<<< ", 4) == 0 ? STAGE_MAIL :
	    STAGE_UNKNOWN;
}

/*
 * The stage the bounce says the recipient's reply came at, when the
 * reply does not say it itself: in Postfix's, Exim's and Sendmail's
 * words, in the recipient's own text and in Sendmail's shared
 * transcript, where the command the reply answers is the surest sign.
 */
static enum smtp_stage
context_stage(const struct dsn_report *rep, const struct dsn_rcpt *r)
{
	const char *p, *e, *s;
	enum smtp_stage st;

	if (own_exchange_stage(r) == STAGE_MAIL)
		return STAGE_MAIL;
	if (sendmail_names(r, r->ctx, r->ctxlen) ||
	    sendmail_names(r, rep->context, rep->contextlen))
		return STAGE_RCPT;
	if (!r->diag_in_text && (p = transcript_line(rep, r, &e)) != NULL) {
		/*
		 * The recipient's own text may begin inside the report's
		 * transcript, after the commands that came before: count
		 * from the top of the report's text when the line is in it.
		 */
		if (rep->context != NULL && p >= rep->context &&
		    p < rep->context + rep->contextlen) {
			s = rep->context;
			e = rep->context + rep->contextlen;
		} else
			s = r->ctx;
		if ((st = transcript_command(s, e, p)) != STAGE_UNKNOWN &&
		    st != STAGE_MAIL)
			return st;
	}
	if (r->diag_in_text && (p = text_reason_line(rep, r)) != NULL &&
	    (st = transcript_command(rep->context, rep->context +
	    rep->contextlen, p)) != STAGE_UNKNOWN)
		return st;
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
 * A recipient's text taken from the bounce's own words begins, in
 * Exim's, Sendmail's and some other bounces, with the address it is
 * about on a line of its own ("ann@example.org\n    SMTP error from
 * remote mail server after end of data: ..."), or, in Postfix's, with
 * the address and a colon ("<ann@example.org>: host mx.example.org
 * said: ..."). That heading is the bounce's label, not the remote
 * server's words: the text starts after it, so that neither the
 * reply's code nor "the reply names the recipient" hangs on it. Sets
 * *d, *dn past it; leaves them alone otherwise.
 */
static void
past_own_address(const struct dsn_rcpt *r, const char **d, size_t *dn)
{
	const char *p = *d, *e = *d + *dn;
	size_t n;

	if (!r->diag_in_text || *d != r->diag || r->rcpt == NULL)
		return;
	n = strlen(r->rcpt);
	if (p < e && *p == '<')
		p++;
	if ((size_t)(e - p) <= n || strncasecmp(p, r->rcpt, n) != 0)
		return;
	p += n;
	if (p < e && *p == '>')
		p++;
	if (e - p >= 2 && p[0] == ':' && (p[1] == ' ' || p[1] == '\n'))
		p++;		/* Postfix's "<x@y>: host ..." */
	else if (p < e && *p != '\n' && *p != '\r')
		return;		/* not on a line of its own */
	while (p < e && isspace((unsigned char)*p))
		p++;
	if (p == e)
		return;
	*dn = (size_t)(e - p);
	*d = p;
}

/*
 * How many recipients of the report failed with r's very text: one
 * reply to DATA refuses every recipient of its transaction alike, so
 * that is the transaction's size as far as the report can tell. The
 * text of the last address of a Sendmail bounce runs on into the
 * transcript below: a text that is another's and then a new line is
 * the same failure.
 */
static int
same_text(const char *a, size_t an, const char *b, size_t bn)
{
	if (an > bn)
		return same_text(b, bn, a, an);
	if (an == 0)
		return bn == 0;
	if (memcmp(a, b, an) != 0)
		return 0;
	return an == bn || b[an] == '\n' || b[an] == '\r';
}

/*
 * The others of them, when r's text is the bounce's own words (a text
 * that names several recipients inline, "Your message to ann@x, bob@x
 * was not delivered", is given to each of them): up to MAX_COHORT of
 * their addresses in cohort[], their number in *ncohort.
 */
#define MAX_COHORT	16

static size_t
same_failure(const struct dsn_report *rep, const struct dsn_rcpt *r,
    const char **cohort, size_t *ncohort)
{
	const char *d = r->diag, *o;
	size_t i, n = 0, dn = r->diaglen, on;

	*ncohort = 0;
	past_own_address(r, &d, &dn);
	for (i = 0; i < rep->nrcpts; i++) {
		o = rep->rcpts[i].diag;
		on = rep->rcpts[i].diaglen;
		past_own_address(&rep->rcpts[i], &o, &on);
		if (!same_text(o, on, d, dn))
			continue;
		n++;
		if (r->diag_in_text && rep->rcpts[i].diag_in_text &&
		    &rep->rcpts[i] != r && *ncohort < MAX_COHORT)
			cohort[(*ncohort)++] = rep->rcpts[i].rcpt;
	}
	return n;
}

/*
 * Does the bounce give its recipients reasons of their own? Then the
 * reason its whole text holds is not one for all of them, and r, whose
 * own text says nothing a rule knows, takes none of its neighbours'
 * ("over quota" above the first address, then "The following
 * recipients did not receive this message:" and others; "dan@x (mailbox
 * full)", "eve@x (user unknown)", "fay@x"). It does when a recipient
 * near r in the report (NEAR_RCPTS on each side: a bounded look), with
 * a text from the bounce's words that is not r's, has words a rule
 * reads as a reason. Leaves c's reply to the last of them.
 */
#define NEAR_RCPTS	4

static int
own_reasons(struct classifier *c, const struct ruleset *rs,
    const struct dsn_report *rep, size_t i)
{
	const struct dsn_rcpt *r = &rep->rcpts[i], *o;
	struct classification by;
	size_t k = i > NEAR_RCPTS ? i - NEAR_RCPTS : 0;

	for (; k < rep->nrcpts && k <= i + NEAR_RCPTS; k++) {
		o = &rep->rcpts[k];
		if (k == i || !o->diag_in_text || o->diaglen == 0 ||
		    same_text(o->diag, o->diaglen, r->diag, r->diaglen))
			continue;
		classify(c, rs, o->rcpt, o->diag, o->diaglen,
		    status_hint(rep, o), o->remote_mta, &by);
		if (by.rule != NULL && by.reason != R_UNDEFINED &&
		    by.reason != R_ONHOLD)
			return 1;
	}
	return 0;
}

/*
 * The remote server's reply quoted behind the words of a notice in
 * [d, d + dn): the first reply code (then a blank or a hyphen) after a
 * colon and a blank or first on its line ("Your message to ann@x was
 * not delivered. Reason: 550 5.2.1 Blocked", Exim's "    550 5.2.1
 * Blocked" under its "SMTP error from remote mail server after ...:").
 * NULL when there is none, or when the text begins with it.
 */
static const char *
quoted_code(const char *d, size_t dn)
{
	const char *p, *e = d + dn, *b, *q;

	for (b = d; b < e && isspace((unsigned char)*b); b++)
		;
	for (p = b + 1; p + 4 <= e; p++) {
		if ((*p != '2' && *p != '4' && *p != '5') ||
		    !isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]) ||
		    (p[3] != ' ' && p[3] != '-'))
			continue;
		if (p[-1] == ' ' && p - 2 >= b && p[-2] == ':')
			return p;
		for (q = p; q > b && is_wsp(q[-1]); q--)
			;
		if (q[-1] == '\n')
			return p;
	}
	return NULL;
}

/*
 * The line above the one at ls in [d, ls), when it ends with a colon
 * (Exim's "SMTP error from remote mail server after MAIL FROM:<x>
 * SIZE=2048:"), from its first word; else NULL.
 */
static const char *
colon_line_above(const char *d, const char *ls)
{
	const char *pe, *ps;

	if (ls <= d)
		return NULL;
	for (pe = ls - 1; pe > d && isspace((unsigned char)pe[-1]); pe--)
		;
	if (pe <= d || pe[-1] != ':')
		return NULL;
	for (ps = pe; ps > d && ps[-1] != '\n'; ps--)
		;
	while (ps < pe && is_wsp(*ps))
		ps++;
	return ps < pe ? ps : NULL;
}

/*
 * Does the reply quoted behind a notice's words, read as a reply by
 * itself, say the recipient is gone too? Rules and guards that read a
 * reply from its start ("550 5.2.1 Blocked", "550 5.1.1 Not
 * authorized": words of a block, not of a mailbox; "SMTP error from
 * remote mail server after MAIL FROM:<x>: ...": a refusal of the
 * sender) do not see it behind the words, and the status alone would
 * then suppress. It is read from its code, from after "Reason:" on the
 * code's line (the MTA's own wrapping of the reply with it), on a line
 * below the notice's first from the start of that line, and from the
 * line above when that one ends with a colon (Exim's wrapping): each up
 * to the end of the code's line, with the lines folded under it. Yes
 * when every reading says so, or there is no such reply. Leaves c's
 * reply to the last one it read.
 */
static int
quoted_suppresses(struct classifier *c, const struct ruleset *rs,
    const struct dsn_rcpt *r, const char *d, size_t dn, const char *hint)
{
	struct classification alone;
	const char *p = quoted_code(d, dn), *e = d + dn, *from[4], *ls, *q;
	size_t n = 0, i;

	if (p == NULL)
		return 1;
	for (ls = p; ls > d && ls[-1] != '\n'; ls--)
		;
	from[n++] = p;
	if (find_ws_ci(ls, (size_t)(p - ls), "reason: ", &q) != NULL)
		from[n++] = q;
	if ((q = colon_line_above(d, ls)) != NULL)
		from[n++] = q;
	if (ls > d && has_alnum(d, ls)) {
		while (ls < p && is_wsp(*ls))
			ls++;
		if (ls < p)
			from[n++] = ls;
	}
	e = folded_end(p, e);
	for (i = 0; i < n; i++) {
		classify(c, rs, r->rcpt, from[i], (size_t)(e - from[i]), hint,
		    r->remote_mta, &alone);
		if (!(alone.decision & D_SUPPRESS))
			return 0;
	}
	return 1;
}

/*
 * PowerMTA's X-PowerMTA-BounceCategory, where it names one cause: the
 * reason it stands for, and the decision it may bring by itself. Only
 * "bad-mailbox" may suppress, and only with a permanent reply (see
 * mta_category()); "bad-domain" and "inactive-mailbox" name a cause
 * that would suppress, but the category is PowerMTA's guess from its
 * own patterns: it alone does not cut a recipient off. Categories of
 * no single cause ("routing-errors", "bad-configuration",
 * "content-related", "protocol-errors", "other") are not here: the
 * reply alone decides.
 */
static const struct mta_category {
	const char	*name;
	enum reason	 reason;
	unsigned	 decision;
} mta_categories[] = {
	{ "bad-mailbox",	R_USERUNKNOWN,	   D_SUPPRESS },
	{ "bad-domain",		R_HOSTUNKNOWN,	   0 },
	{ "inactive-mailbox",	R_SUSPEND,	   0 },
	{ "quota-issues",	R_MAILBOXFULL,	   D_RETRY },
	{ "spam-related",	R_SPAMDETECTED,	   D_ALERT },
	{ "virus-related",	R_VIRUSDETECTED,   D_ALERT },
	{ "policy-related",	R_POLICYVIOLATION, D_ALERT },
	{ "message-expired",	R_EXPIRED,	   D_RETRY },
	{ "no-answer-from-host", R_NETWORKERROR,   D_RETRY },
	{ "bad-connection",	R_NETWORKERROR,	   D_RETRY },
	{ "invalid-sender",	R_REJECTED,	   D_ALERT },
	{ "relaying-issues",	R_NORELAYING,	   D_ALERT },
};

/*
 * May a "bad-mailbox" category suppress r, whose reply is [d, d + dn)?
 * Only with a 5xx reply or a 5.1.1 status, only where the reply with
 * status 5.1.1 would suppress (the classifier's guards, a reply about
 * the sender, our IP, another address, still apply), and, unless the
 * report's own status is 5.1.1, only where words of the reply say so
 * ("mailbox unavailable"): a bare "550 Rejected" is not known to be
 * about the mailbox, whatever the sending MTA filed it under, and a
 * rule of the status alone would say yes to anything. The second
 * classify() leaves c's reply as it was: it parses the same text.
 */
static int
category_may_suppress(struct classifier *c, const struct ruleset *rs,
    const struct dsn_rcpt *r, const char *d, size_t dn)
{
	struct classification by;
	int code = first_code(d, dn);
	int own = r->status != NULL && strcmp(r->status, "5.1.1") == 0;

	if (!(code / 100 == 5 || (code == 0 && own)))
		return 0;
	classify(c, rs, r->rcpt, d, dn, "5.1.1", r->remote_mta, &by);
	return (by.decision & D_SUPPRESS) != 0 &&
	    (own || (by.rule != NULL && by.rule->re != NULL));
}

/*
 * The sending MTA's category, where the rules said little: no rule, a
 * rule of the status alone, no reason (undefined, onhold), or a "no
 * such user" of unknown stage read as filtered (weak). A rule that knew
 * the reply's words stands. "bad-mailbox" suppresses only as
 * category_may_suppress() says; otherwise the category never
 * suppresses, and a temporary reply is retried. Adds "category=name".
 */
static void
mta_category(struct classifier *c, const struct ruleset *rs,
    const struct dsn_rcpt *r, const char *d, size_t dn,
    struct classification *cl, int weak)
{
	const struct mta_category *mc = NULL;
	char kv[64];
	size_t i;
	int code;

	if (r->category == NULL)
		return;
	for (i = 0; i < sizeof(mta_categories) / sizeof(mta_categories[0]);
	    i++)
		if (strcmp(r->category, mta_categories[i].name) == 0)
			mc = &mta_categories[i];
	if (mc == NULL || !(weak || cl->rule == NULL || cl->rule->re == NULL ||
	    cl->reason == R_UNDEFINED || cl->reason == R_ONHOLD))
		return;
	code = first_code(d, dn);
	cl->reason = mc->reason;
	cl->decision = mc->decision;
	if ((mc->decision & D_SUPPRESS) &&
	    !category_may_suppress(c, rs, r, d, dn))
		cl->decision = 0;
	if (code / 100 == 4 || (r->status != NULL && r->status[0] == '4')) {
		cl->temporary = 1;
		cl->decision = (cl->decision & ~D_SUPPRESS) | D_RETRY;
	}
	if (r->status == NULL || strcmp(r->status + 1, ".0.0") == 0)
		snprintf(cl->status, sizeof(cl->status), "%s",
		    reason_status(cl->reason, cl->temporary == 1));
	snprintf(kv, sizeof(kv), "category=%s", mc->name);
	detail_add(cl, kv);
}

/*
 * A Diagnostic-Code that is only a local mailer's exit status ("X-Unix;
 * 77", Sendmail) under a Status that says what failed: the address or
 * mailbox (x.1.x, x.2.x), the mail system (x.3.x) or the delivery
 * (x.4.x). The status then outranks the shape of the bounce
 * (REASONS.md); an x.0.0 or a protocol status (x.5.x) says no more than
 * the exit number, and the failure stays the mailer's.
 */
static int
exit_status_under_status(const struct dsn_rcpt *r)
{
	size_t i;

	if (r->diagtype == NULL || strcasecmp(r->diagtype, "x-unix") != 0 ||
	    r->diaglen == 0 || r->diaglen > 3 || r->status == NULL ||
	    r->status[1] != '.' || r->status[2] < '1' || r->status[2] > '4' ||
	    r->status[3] != '.')
		return 0;
	for (i = 0; i < r->diaglen; i++)
		if (!isdigit((unsigned char)r->diag[i]))
			return 0;
	return 1;
}

/*
 * What the rules make of r's Status alone (no words, its remote MTA),
 * into *out; the rule that decided, NULL if none did.
 */
static const struct rule *
by_status(struct classifier *c, const struct ruleset *rs,
    const struct dsn_rcpt *r, struct classification *out)
{
	classify(c, rs, r->rcpt, "", 0, r->status, r->remote_mta, out);
	return out->rule;
}

/*
 * A report of a delivery still being tried (Action: delayed, or a
 * warning in words) proves nothing for good: the MTA has not given up.
 * It never suppresses and is no hard bounce.
 */
static int
delayed(const struct dsn_rcpt *r)
{
	return r->action != NULL && strcmp(r->action, "delayed") == 0;
}

void
dsn_classify(struct classifier *c, const struct ruleset *rs,
    const struct dsn_report *rep, size_t i, struct dsn_result *out)
{
	const struct dsn_rcpt *r = &rep->rcpts[i];
	struct classification *cl = &out->cl;
	const char *d, *hint = status_hint(rep, r), *cohort[MAX_COHORT];
	char full[MAX_DIAG];
	size_t n, dn, ncohort;
	int free_text, weak = 0, alone = 0;

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
			cl->decision = feedback_decision(rep->feedback_type);
			snprintf(cl->details, sizeof(cl->details),
			    "feedback_type=%s", rep->feedback_type);
			if ((cl->decision & D_SUPPRESS) && r->unnamed) {
				cl->decision &= ~D_SUPPRESS;
				detail_add(cl, "guard=unnamed");
			}
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
	past_own_address(r, &d, &dn);
	classifier_senders(c, rep->senders, rep->nsenders);
	classifier_transaction(c, same_failure(rep, r, cohort, &ncohort),
	    context_stage(rep, r));
	classifier_cohort(c, cohort, ncohort);
	classify(c, rs, r->rcpt, d, dn, hint, r->remote_mta, cl);
	if (cl->rule == NULL && r->diag_in_text && rep->kind != DSN_JSON &&
	    own_reasons(c, rs, rep, i)) {
		/* Its own text, and nothing decisive. */
		classify(c, rs, r->rcpt, d, dn, hint, r->remote_mta, cl);
		alone = 1;
	} else if (cl->rule == NULL && rep->context != NULL &&
	    r->diag != rep->context && rep->kind != DSN_JSON) {
		/*
		 * The recipient's own text says nothing: try all of it.
		 * (Not a notification's: its other fields are SES's own,
		 * and ses_verdict() reads those.)
		 */
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
	 * outranks words about the message found in the bounce's free
	 * text: without a Diagnostic-Code that text holds the notice's
	 * boilerplate too ("This email has been scanned for viruses by
	 * ..."). The status rules decide then, if one does. Not over words
	 * that the refusal was of our side (refused_us()): the status
	 * rules read no words, and no guard would stop them.
	 */
	if (free_text && r->status != NULL && (r->status[2] == '1' ||
	    r->status[2] == '2') && r->status[3] == '.' && cl->rule != NULL &&
	    !reason_may_suppress(cl->reason) && !refused_us(cl)) {
		struct classification st;

		if (by_status(c, rs, r, &st) != NULL &&
		    reason_may_suppress(st.reason))
			*cl = st;
	}
	/*
	 * A Diagnostic-Code of type X-Unix is the local delivery program's
	 * own report (its exit status or its words), and a recipient whose
	 * X-Actual-Recipient is a program ("|procmail ...") was being
	 * delivered to one: when no rule knows the words, the failure is
	 * the mailer's, whatever the Status ("x-unix; temporary failure"
	 * with 4.3.0), except a full mailbox or a message too big
	 * (Postfix's "x-unix; input/output error" with 5.2.2 when the
	 * mailbox reached mailbox_size_limit): classify_program_failure().
	 * REASONS.md puts the status code before the shape of the bounce:
	 * under a bare exit status ("X-Unix; 77" with 5.3.0, "X-Unix; 75"
	 * with 4.4.7) a Status that names what failed decides.
	 */
	if (exit_status_under_status(r)) {
		struct classification st;

		if (by_status(c, rs, r, &st) != NULL &&
		    st.reason != R_UNDEFINED)
			*cl = st;
		else
			classify_program_failure(cl);
	} else if ((r->diagtype != NULL &&
	    strcasecmp(r->diagtype, "x-unix") == 0 && r->diaglen > 0) ||
	    r->to_program)
		classify_program_failure(cl);
	/*
	 * "No such user" after DATA is a content filter's answer on the
	 * recipient side (Sisimai's "filtered"), not proof of absence.
	 * Not even when the recipient is the report's only one: OpenSMTPD
	 * writes a report per domain, so that does not make it the only
	 * one of its transaction.
	 */
	if (cl->reason == R_USERUNKNOWN && !rcpt_evident(r, cl) &&
	    (r->diagtype == NULL || strcmp(r->diagtype, "smtp") == 0) &&
	    classify_stageless_unknown(cl, status_of_its_own(r)))
		weak = 1;
	/*
	 * A failure text of the recipient's own that no rule knows is
	 * Sisimai's "onhold" (it cannot decide), and so is a recipient
	 * with no reason of its own in a bounce that gives others theirs;
	 * "undefined" is left for a bounce that says nothing about the
	 * recipient at all.
	 */
	if ((cl->rule == NULL || cl->rule->re == NULL) &&
	    cl->reason == R_UNDEFINED && r->diaglen > 0 &&
	    (!r->diag_general || alone) &&
	    has_alnum(r->diag, r->diag + r->diaglen)) {
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
	ses_verdict(rep, r, cl);
	mta_category(c, rs, r, d, dn, cl, weak);
	if (r->action != NULL && (strcmp(r->action, "delivered") == 0 ||
	    strcmp(r->action, "relayed") == 0 ||
	    strcmp(r->action, "expanded") == 0)) {
		cl->reason = R_DELIVERED;
		cl->decision = 0;
		cl->temporary = 0;
	}
	/*
	 * A notice in words that quotes the remote reply: a suppression
	 * stands only if the reply, read alone, makes it too.
	 */
	if ((cl->decision & D_SUPPRESS) && r->diag_in_text &&
	    !quoted_suppresses(c, rs, r, d, dn, hint)) {
		cl->decision &= ~D_SUPPRESS;
		detail_add(cl, "guard=quoted-reply");
	}
	/*
	 * A recipient the notice does not name (the original's To, taken
	 * for want of an address in its text) may be another of the
	 * original's recipients than the one that failed.
	 */
	if (r->unnamed && (cl->decision & D_SUPPRESS)) {
		cl->decision &= ~D_SUPPRESS;
		detail_add(cl, "guard=unnamed");
	}
	/*
	 * Sendmail's X-Actual-Recipient names the mailbox an alias or a
	 * forward led to: when that is another mailbox than the recipient,
	 * a gone, full or closed one is that one's, as a reply that named
	 * it would say (classify()'s other-address guard).
	 */
	if ((cl->decision & D_SUPPRESS) && r->actual != NULL &&
	    another_mailbox(r->rcpt, r->actual) &&
	    (hard_reason(cl->reason) || cl->reason == R_MAILBOXFULL ||
	    cl->reason == R_SUSPEND)) {
		cl->decision &= ~D_SUPPRESS;
		detail_add(cl, "guard=other-address");
	}
	if (delayed(r)) {
		cl->temporary = 1;
		if (cl->decision & D_SUPPRESS) {
			cl->decision = (cl->decision & ~D_SUPPRESS) | D_RETRY;
			detail_add(cl, "guard=delayed");
		}
	}
	classifier_senders(c, NULL, 0);
	classifier_cohort(c, NULL, 0);
	classifier_transaction(c, 0, STAGE_UNKNOWN);
	/*
	 * The sending side's own address is never suppressed, whatever a
	 * notice seems to say of it ("Sorry <sender>. ... does not exist").
	 */
	for (n = 0; n < rep->nsenders; n++) {
		if (strcmp(rep->senders[n], r->rcpt) != 0)
			continue;
		if (cl->decision & D_SUPPRESS) {
			cl->decision &= ~D_SUPPRESS;
			detail_add(cl, "guard=sender");
		}
		break;
	}
	if (!cl->temporary && cl->status[0] != '4')
		out->hardbounce = hard_reason(cl->reason);
}
