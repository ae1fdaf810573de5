/*
 * dsn.h -- one bounce e-mail to per-recipient results
 *
 * dsn_parse() reads a whole message (mime.h does the MIME) and finds
 * what it reports, for each recipient: the address, the Action and
 * Status of an RFC 3464 delivery-status part and its Diagnostic-Code,
 * Remote-MTA, Reporting-MTA, X-Postfix-Queue-ID and Arrival-Date; or,
 * for the many bounces that carry no delivery-status part (qmail, Exim,
 * Sendmail v5, Exchange, Domino, Courier, the Japanese carriers, ...),
 * the failure text that follows the recipient's address in the
 * human-readable part. It also recognises ARF feedback reports (RFC
 * 5965, and Hotmail's JMRP form), RFC 3834 auto-replies and Amazon SES
 * JSON notifications (in a mail, or the whole input: bare, or in an SNS
 * envelope), and finds the Message-ID of the attached original
 * (to match a bounce against the mail log). A message that is none of
 * these yields no recipients.
 *
 * dsn_classify() then feeds each recipient's text to classify(), the
 * same function `bouncerctl classify` and the daemon use, with the DSN
 * Status as hint and the Remote-MTA as relay, and adds what only a
 * bounce e-mail knows: vacation and feedback, "delivered" for positive
 * DSNs, SES's bounceType and bounceSubType where no rule knows the
 * reply, a Sisimai-style status when the bounce gives none, and the
 * hardbounce flag.
 *
 * Memory: a struct dsn_parser owns a MIME parser and its arena. Every
 * pointer in a struct dsn_report points into the arena or into the
 * message buffer, and is valid until the next dsn_parse() on the same
 * parser or dsn_parser_free(); the caller keeps the message alive as
 * long. One parser per thread.
 *
 * See also: mime.h, classify.h, bouncerctl(8).
 */
#ifndef BOUNCER_DSN_H
#define BOUNCER_DSN_H

#include <stddef.h>

#include "classify.h"

enum dsn_kind {
	DSN_NONE = 0,		/* not a bounce: no recipients */
	DSN_RFC3464,		/* a delivery-status part (or its fields) */
	DSN_TEXT,		/* a bounce without one: read from its text */
	DSN_ARF,		/* a feedback-loop report */
	DSN_AUTOREPLY,		/* an RFC 3834 auto-reply (vacation) */
	DSN_JSON		/* an Amazon SES notification */
};

struct dsn_rcpt {
	const char	*rcpt;		/* lowercase address, no <> */
	const char	*orig_rcpt;	/* Original-Recipient, or NULL */
	const char	*action;	/* lowercase Action, or NULL */
	const char	*status;	/* valid Status "5.1.1", or NULL */
	const char	*diagtype;	/* "smtp", "x-notes", ...; or NULL */
	const char	*diag;		/* failure text (UTF-8), never NULL */
	size_t		 diaglen;
	int		 diag_in_text;	/* diag is from the text, no field */
	int		 diag_general;	/* ... and not about this recipient */
	const char	*remote_mta;	/* host name, or NULL */
	const char	*last_attempt;	/* Last-Attempt-Date, or NULL */
	int		 to_program;	/* X-Actual-Recipient "|prog" */
	const char	*actual;	/* X-Actual-Recipient's address
					   (lowercase), or NULL */
	/*
	 * The sending MTA's own name for the failure, lowercase, or NULL:
	 * PowerMTA's X-PowerMTA-BounceCategory ("bad-mailbox", ...).
	 */
	const char	*category;
	/*
	 * The notice names no address: this is the original's To, taken
	 * for want of one. It may be the wrong one of several; it never
	 * suppresses.
	 */
	int		 unnamed;
	const char	*ctx;		/* its part of the bounce's text */
	size_t		 ctxlen;
};

/*
 * The sending side's addresses: the bounce's To and Return-Path, and
 * the From, Reply-To, Sender and Return-Path of the original. None of
 * them is ever suppressed, whatever the bounce seems to say of it.
 */
#define DSN_MAX_SENDERS	16

struct dsn_report {
	enum dsn_kind	 kind;
	const char	*reporting_mta;	/* or NULL */
	const char	*queue_id;	/* X-Postfix-Queue-ID, or NULL */
	const char	*arrival_date;	/* or NULL */
	const char	*message_id;	/* of the original message, or NULL */
	const char	*feedback_type;	/* ARF: "abuse", ...; or NULL */
	const char	*context;	/* the bounce's own text, UTF-8 */
	size_t		 contextlen;
	struct dsn_rcpt	*rcpts;
	size_t		 nrcpts;
	const char	*senders[DSN_MAX_SENDERS];	/* lowercase, no <> */
	size_t		 nsenders;	/* the sending side's addresses */
	unsigned	 mimeflags;	/* MIME_F_* seen anywhere */
	size_t		 nheaders;	/* of the message itself */
	int		 bare;		/* no mail: a bare JSON notification */
	/*
	 * A sending service's own verdict (DSN_JSON), as given; or NULL.
	 * Amazon SES's bounceType and bounceSubType; Mailgun's severity
	 * (as "Permanent" or "Transient") and reason ("bounce", ...).
	 */
	const char	*service;	/* "ses", "mailgun" */
	const char	*bounce_type;	/* "Permanent", "Transient", ... */
	const char	*bounce_subtype; /* "NoEmail", "MailboxFull", ... */
};

struct dsn_result {
	struct classification	 cl;	/* reason, decision, status, ... */
	int			 hardbounce;
};

struct dsn_parser;

struct dsn_parser *dsn_parser_new(void);
void		 dsn_parser_free(struct dsn_parser *);	/* NULL is fine */

/*
 * Parses one message of len bytes. Fills *out and returns the number of
 * recipients (0 for a message that is not a bounce). Never fails.
 */
size_t		 dsn_parse(struct dsn_parser *, const char *msg, size_t len,
		    struct dsn_report *out);

/*
 * Classifies recipient i of rep. The classification's pointers are
 * valid until the next classify() on c; the rule set must outlive it.
 */
void		 dsn_classify(struct classifier *c, const struct ruleset *rs,
		    const struct dsn_report *rep, size_t i,
		    struct dsn_result *out);

/* "rfc3464", "text", ...; static. */
const char	*dsn_kind_name(enum dsn_kind);

#endif
