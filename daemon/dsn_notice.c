/*
 * dsn_notice.c -- messages that look like bounces and report no delivery
 *
 * Mailers write notices that are not the report of a delivery: the
 * transcript of an SMTP session sent to the postmaster (Postfix's
 * notify_classes: "Postfix SMTP server: errors from ...", " In:  RCPT
 * TO:<x>", " Out: 550 ..."), a message frozen in the queue or stopped
 * by a system filter (Exim's notices to the admin), a list's post held
 * for its moderator. A message dressed as
 * a bounce that asks the reader to click, log in or upgrade is a lure,
 * not a mailer's report. None of them names a recipient that failed:
 * dsn_parse() gives nothing for them.
 *
 * A bounce forwarded in the body by a person ("---------- Forwarded
 * message ---------" and the bounce's header lines) is the bounce it
 * carries: forwarded_bounce() finds it, and dsn_parse() reads it as a
 * message of its own.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "dsn.h"
#include "dsn_impl.h"
#include "mime.h"

/* Does the line [p, le) begin, after blanks, with the word w ("In:")? */
static int
line_word(const char *p, const char *le, const char *w)
{
	size_t n = strlen(w);

	while (p < le && is_wsp(*p))
		p++;
	return (size_t)(le - p) > n && strncmp(p, w, n) == 0 &&
	    is_wsp(p[n]);
}

/* Does [p, le) hold a reply code after its word ("Out: 550 5.1.1")? */
static int
coded(const char *p, const char *le)
{
	while (p < le && is_wsp(*p))
		p++;
	while (p < le && !is_wsp(*p))
		p++;
	while (p < le && is_wsp(*p))
		p++;
	return le - p >= 3 && p[0] >= '2' && p[0] <= '5' &&
	    isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]);
}

/*
 * The transcript of a session in Postfix's notation: lines that begin
 * "In:" and "Out:", one of them a reply. Bounces quote what a server
 * said ("host x said: 550 ...", ">>> RCPT To:" and "<<< 550" in
 * Sendmail's); only the notices to the postmaster show both sides so.
 */
static int
session_transcript(const char *s, size_t n)
{
	const char *p, *e = s + n, *le;
	int in = 0, out = 0, code = 0;

	for (p = s; p < e; p = le < e ? le + 1 : e) {
		le = line_end(p, e);
		if (line_word(p, le, "In:")) {
			in++;
			code |= coded(p, le);
		} else if (line_word(p, le, "Out:")) {
			out++;
			code |= coded(p, le);
		}
		if (in > 0 && out > 0 && code)
			return 1;
	}
	return 0;
}

/*
 * A message still in the queue: frozen ("Message 1xaXBz-0006V9-2y has
 * been frozen by the system filter.", Exim's "Message frozen"), or held
 * by a system filter that failed. Nothing was refused; the admin is
 * asked to look. Not an account that "has been frozen": that is a
 * recipient's refusal (suspend).
 */
static int
queue_notice(const char *subject, const char *s, size_t n)
{
	static const char *const held[] = {
		"message frozen", "error in the system filter",
		"error in system filter", NULL
	};
	const char *p, *e = s + n, *le;

	if (matches_any(subject, held) || any_in(s, n, held + 1))
		return 1;
	for (p = s; p < e; p = le < e ? le + 1 : e) {
		le = line_end(p, e);
		if (le - p > 8 && strncasecmp(p, "Message ", 8) == 0 &&
		    has_ci(p, (size_t)(le - p), "has been frozen"))
			return 1;
	}
	return 0;
}

/*
 * A mailing list's post held for its moderator (Majordomo's "BOUNCE
 * list: Non-member submission from [x]" to the owner, Mailman's "awaits
 * moderator approval" to the poster): the post waits; nobody refused a
 * recipient.
 */
static int
held_post(const char *subject, const char *s, size_t n)
{
	static const char *const held[] = {
		"non-member submission", "awaits moderator approval",
		"held for approval", "held for moderation",
		"held until the list moderator", "pending moderator approval",
		"awaiting moderator approval", NULL
	};

	return matches_any(subject, held) || any_in(s, n, held);
}

/*
 * A lure dressed as a bounce: a link, words that ask the reader to act
 * ("click here", "verify it", "upgrade your storage") and words of the
 * reader's own mailbox or account. A mailer's report says what happened
 * to a message it was given; it never asks its reader to log in to
 * save a mailbox.
 */
static int
lure(const char *s, size_t n, const char *html, size_t hn)
{
	static const char *const asks[] = {
		"click here", "click the link", "click below", "click on the",
		"verify your", "verify it", "validate your", "confirm your account",
		"upgrade your", "log in to", "login to", "sign in to",
		"release your messages", "release the messages",
		"restore your", "reactivate your", NULL
	};
	/* What it would have the reader fear for: never a bounce's topic. */
	static const char *const yours[] = {
		"your mailbox", "your e-mail account",
		"your email account", "your storage", "your quota",
		"your password", "your messages", "your incoming", NULL
	};

	if (!has_ci(s, n, "http://") && !has_ci(s, n, "https://") &&
	    !has_ci(html, hn, "http://") && !has_ci(html, hn, "https://"))
		return 0;
	return any_in(s, n, asks) && any_in(s, n, yours);
}

/*
 * Exchange's report on the recall of a message the sender asked for
 * ("Recall Success: x", "Recall Failure: x", "Your message ... was
 * successfully recalled", "... could not be recalled"): the message
 * was delivered, and nobody refused it.
 */
static int
recall_report(const char *subject, const char *s, size_t n)
{
	static const char *const phrases[] = {
		"successfully recalled", "could not be recalled",
		"failed to recall", NULL
	};

	return (subject != NULL && (strncasecmp(subject, "Recall Success:",
	    15) == 0 || strncasecmp(subject, "Recall Failure:", 15) == 0)) ||
	    any_in(s, n, phrases);
}

int
not_a_report(const char *subject, const char *s, size_t n,
    const char *html, size_t hn)
{
	return session_transcript(s, n) || queue_notice(subject, s, n) ||
	    held_post(subject, s, n) || recall_report(subject, s, n) ||
	    lure(s, n, html, hn);
}

int
challenge_request(const char *subject, const char *from, const char *s,
    size_t n)
{
	static const char *const asks[] = {
		"approved senders", "senders i have approved",
		"list of approved", "approve you", "approved sender list",
		"challenge-response", "challenge/response",
		"confirm that you are a", "verify that you are a",
		"prove that you are a", "you are a real person",
		"you are a person", "confirm your message",
		"verify your message", "request to be added", NULL
	};

	if (from_daemon(from) || (matches_any(subject, bounce_subjects) &&
	    strncasecmp(subject, "Re:", 3) != 0))
		return 0;
	return any_in(s, n, asks);
}

/*
 * A content filter's notice to the sender (McAfee, Symantec, Sophos,
 * ClamAV behind a milter): its subject names a virus or banned content,
 * and the sender's message, in the subject ("Virus found in your
 * message") or, when a program sent it (autosent: the message has an
 * Auto-Submitted field), in the text. It is a report like a bounce's, in
 * words: the recipients it names are read from its text. A newsletter
 * about viruses is none.
 */
int
filter_notice(const char *subject, const char *s, size_t n, int autosent)
{
	static const char *const found[] = {
		"virus", "banned content", "banned attachment", "infected",
		"malware", "blocked attachment", NULL
	};
	static const char *const yours[] = {
		"from you", "your message", "you sent", "you have sent", NULL
	};
	static const char *const yours_text[] = {
		"from you", "your message", "you sent", "you have sent",
		"your mail", "your e-mail", "your email", NULL
	};

	if (!matches_any(subject, found))
		return 0;
	return matches_any(subject, yours) || (autosent &&
	    any_in(s, n, yours_text));
}

/* Is there a message/disposition-notification part under part? */
static int
has_mdn_part(const struct mime_part *part, int depth)
{
	const struct mime_part *c;

	if (depth > 8)
		return 0;
	if (strcmp(part->type, "message/disposition-notification") == 0 ||
	    strcmp(part->type, "message/global-disposition-notification") == 0)
		return 1;
	if (strncmp(part->type, "multipart/", 10) != 0)
		return 0;
	for (c = part->child; c != NULL; c = c->next)
		if (has_mdn_part(c, depth + 1))
			return 1;
	return 0;
}

/*
 * A message disposition notification (RFC 8098: a read receipt,
 * "displayed", "deleted", "dispatched"): its report-type, or its part.
 * The message was delivered; what the reader did with it is no bounce,
 * whoever sent the notification (a Sieve script's is from a daemon).
 */
int
is_mdn(const struct mime_part *root)
{
	return (root->report_type != NULL &&
	    strcmp(root->report_type, "disposition-notification") == 0) ||
	    has_mdn_part(root, 0);
}

/*
 * A report in words of a delivery that succeeded ("Delivery to the
 * following recipient(s) was successful", Exchange's "Relayed:" notice),
 * with no word of a failure beside it.
 */
int
success_text(const char *subject, const char *s, size_t n)
{
	static const char *const subjects[] = {
		"(success)", "successful mail delivery", "delivered:",
		"relayed:", "message delivered", "delivery success", NULL
	};
	static const char *const phrases[] = {
		"successfully delivered", "was successful",
		"delivered successfully", "has been delivered to the following",
		"was delivered to the following", "is complete, but",
		"delivery to these recipients or groups is complete",
		"delivery to these recipients or distribution lists is complete",
		NULL
	};
	static const char *const failed[] = {
		"fail", "could not", "couldn't", "undeliver", "not delivered",
		"not be delivered", "rejected", "error", "unable to", NULL
	};

	if (!matches_any(subject, subjects) && !any_in(s, n, phrases))
		return 0;
	return !any_in(s, n, failed) && !matches_any(subject, failed);
}

/* Is [p, le) a forwarding client's marker line? */
static int
forward_marker(const char *p, const char *le)
{
	static const char *const marks[] = {
		"forwarded message", "begin forwarded message",
		"original message", "weitergeleitete nachricht",
		"message transf\xc3\xa9r\xc3\xa9", "mensaje reenviado",
		NULL
	};
	size_t n = (size_t)(le - p), i;

	if (n > 80)
		return 0;
	for (i = 0; marks[i] != NULL; i++)
		if (has_ci(p, n, marks[i]))
			return 1;
	return 0;
}

/* Does the line [p, le) look like "Name: value"? */
static int
field_like(const char *p, const char *le)
{
	const char *q = p;

	while (q < le && (isalnum((unsigned char)*q) || *q == '-'))
		q++;
	return q > p && q < le && *q == ':';
}

/* Does the subject begin as a forward's does ("Fwd:", "WG:", "TR:")? */
static int
forward_subject(const char *subject)
{
	static const char *const prefixes[] = {
		"fwd:", "fw:", "wg:", "tr:", "rv:", "vs:", "enc:", "rif:",
		"doorst:", "i:", NULL
	};
	size_t i;

	if (subject == NULL)
		return 0;
	while (*subject == ' ' || *subject == '\t')
		subject++;
	for (i = 0; prefixes[i] != NULL; i++)
		if (strncasecmp(subject, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

int
from_person(const char *subject, const char *from, const char *retpath)
{
	if (from_daemon(from) || (retpath != NULL &&
	    strcmp(retpath, "<>") == 0))
		return 0;
	return forward_subject(subject) ||
	    !matches_any(subject, bounce_subjects);
}

/*
 * The bounce a person forwarded in the body: the header lines after a
 * forwarding marker, one of them From: a mailer daemon or Subject: a
 * bounce's, then the bounce's text. Returns where the header lines
 * begin, and sets *lenp to the rest of [s, s + n); NULL if none.
 */
const char *
forwarded_bounce(const char *s, size_t n, size_t *lenp)
{
	const char *p, *e = s + n, *le, *h, *hl;
	int daemon;

	for (p = s; p < e; p = le < e ? le + 1 : e) {
		le = line_end(p, e);
		if (!forward_marker(p, le) || le >= e)
			continue;
		h = le + 1;
		while (h < e && (*h == '\r' || *h == '\n'))
			h++;
		for (hl = h, daemon = 0; hl < e; hl = line_end(hl, e) + 1) {
			const char *ll = line_end(hl, e);
			char line[256];
			size_t m = (size_t)(ll - hl);

			if (!field_like(hl, ll) && !(hl < ll && is_wsp(*hl)))
				break;
			if (m >= sizeof(line))
				m = sizeof(line) - 1;
			memcpy(line, hl, m);
			line[m] = '\0';
			if ((strncasecmp(line, "From:", 5) == 0 &&
			    from_daemon(line + 5)) ||
			    (strncasecmp(line, "Subject:", 8) == 0 &&
			    matches_any(line + 8, bounce_subjects)))
				daemon = 1;
			if (ll >= e)
				break;
		}
		if (daemon && hl > h) {
			*lenp = (size_t)(e - h);
			return h;
		}
	}
	return NULL;
}
