/*
 * logline.h -- one maillog line, read for what it is worth as evidence
 *
 * maillog.h picks a delivery attempt out of a line; this module adds
 * what every reader of a log (bouncerd following it, bouncerctl
 * ingesting or classifying it) must agree on:
 *
 *  - the time of the line, from its own stamp: "Nov 25 03:00:01"
 *    (syslog, no year: the year that puts it no more than a day ahead
 *    of now, so a December line read in January is last year's) or
 *    RFC 3339 "2026-11-25T03:00:01.123+01:00", or Exim's "2026-11-25
 *    03:00:01" (local time, or with Exim's zone " +0100"). A delivery
 *    line whose
 *    stamp cannot be read is LL_BADTIME, never guessed;
 *  - whether a failure is evidence. It is not when nothing remote
 *    said it: bouncer's own answer logged back (answer_is_ours()),
 *    Postfix's error and retry transports (which deliver nothing and
 *    log what a transport map told them), "delivery temporarily
 *    suspended" (the queue manager repeating an earlier failure
 *    without a new attempt), Postfix's "mail transport unavailable"
 *    and "unknown mail transport error" (its own delivery agent could
 *    not run or died), Exim's "retry time not reached" (the
 *    same), and Sendmail's or Postfix's "expired"
 *    (a give-up, not an answer);
 *  - the Message-ID of a queue id: Postfix's cleanup line
 *    "QID: message-id=<x@y>" and Sendmail's "QID: from=<...>, ...,
 *    msgid=<x@y>", which tie a bounce e-mail to the delivery it is
 *    about.
 *
 * Nothing is allocated: pointers in the result point into the line.
 */
#ifndef BOUNCER_LOGLINE_H
#define BOUNCER_LOGLINE_H

#include <stddef.h>

#include "maillog.h"

#define LOGLINE_QID_MAX		64
#define LOGLINE_MSGID_MAX	256

enum logline_kind {
	LL_OTHER = 0,	/* nothing bouncer uses */
	LL_MSGID,	/* qid's Message-ID: msgid */
	LL_SENT,	/* delivered */
	LL_FAILED,	/* deferred or bounced: a reply to classify */
	LL_NOT_EVIDENCE,/* a failure nothing remote said: see why */
	LL_BADTIME	/* a delivery line without a usable time stamp */
};

struct logline {
	enum logline_kind	 kind;
	struct maillog_entry	 e;	/* all but LL_OTHER and LL_MSGID */
	long long		 time;	/* epoch s; -1 with LL_BADTIME */
	char			 qid[LOGLINE_QID_MAX];
	char			 msgid[LOGLINE_MSGID_MAX];	/* LL_MSGID:
						   no <>, no white space */
	const char		*why;	/* LL_NOT_EVIDENCE: static text */
};

struct classification;

/*
 * The shape of the line after its words: a failed delivery to a program
 * or a file whose text no rule knows ("stat=Service unavailable" with
 * to="|cmd") is the local mailer's, as a bounce's X-Unix
 * Diagnostic-Code is (dsn_classify.c): mailererror, no decision. A
 * deferral never suppresses: retry instead. Nor does a Postfix line cut
 * short by syslog (struct maillog_entry's cut): detail guard=cut.
 */
void		 logline_shape(const struct maillog_entry *e,
		    struct classification *cl);

/* Reads one line (n bytes, no NUL needed) at `now`; returns ll->kind. */
enum logline_kind logline_read(const char *line, size_t n, long long now,
		    struct logline *ll);

/*
 * The time of a stamp (n bytes): epoch seconds, or -1 if it is neither
 * form. Stamps without a year are read in the local time zone.
 */
long long	 logline_time(const char *s, size_t n, long long now);

/*
 * A Message-ID as the log and a bounce both give it: without white
 * space or angle brackets, so that "<x@y>" and " x@y" meet. Copies at
 * most bufsz - 1 bytes of id into buf; returns buf.
 */
char		*logline_msgid(const char *id, size_t n, char *buf,
		    size_t bufsz);

#endif
