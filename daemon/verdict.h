/*
 * verdict.h -- the vocabulary of classification: reasons and decisions
 *
 * Reasons are Sisimai 5.1's 34 names. A decision is a set of actions:
 * suppress the recipient, retry it later, throttle the destination,
 * alert the operator; the empty set is "none".
 *
 * Which reasons may ever suppress a recipient is fixed here, in code:
 * a reply about the sender (its IP, its domain, its content, its rate)
 * says nothing about whether the recipient exists.
 *
 * All strings returned are static.
 */
#ifndef BOUNCER_VERDICT_H
#define BOUNCER_VERDICT_H

#include <stddef.h>

enum reason {
	R_UNDEFINED = 0,
	R_AUTHFAILURE, R_BADREPUTATION, R_BLOCKED, R_CONTENTERROR,
	R_DELIVERED, R_EXCEEDLIMIT, R_EXPIRED, R_FEEDBACK, R_FILTERED,
	R_HASMOVED, R_HOSTUNKNOWN, R_MAILBOXFULL, R_MAILERERROR,
	R_MESGTOOBIG, R_NETWORKERROR, R_NORELAYING, R_NOTACCEPT,
	R_NOTCOMPLIANTRFC, R_ONHOLD, R_POLICYVIOLATION, R_REJECTED,
	R_REQUIREPTR, R_SECURITYERROR, R_SPAMDETECTED, R_SPEEDING,
	R_SUSPEND, R_SYNTAXERROR, R_SYSTEMERROR, R_SYSTEMFULL,
	R_TOOMANYCONN, R_USERUNKNOWN, R_VACATION, R_VIRUSDETECTED,
	R_COUNT
};

#define D_SUPPRESS	0x01
#define D_RETRY		0x02
#define D_THROTTLE	0x04
#define D_ALERT		0x08
#define D_ALL		0x0f

/* Returns the reason named `s` (n bytes), or -1. */
int		 reason_parse(const char *s, size_t n);
const char	*reason_name(enum reason);
/* 1 if a reply with this reason may suppress its recipient. */
int		 reason_may_suppress(enum reason);
/*
 * The enhanced status Sisimai assigns when a reply carries none:
 * `temporary` selects the 4.x.x form. Never NULL.
 */
const char	*reason_status(enum reason, int temporary);

/*
 * Parses "suppress,retry" or "none" into *set. Returns 0, or -1 with
 * the offending word copied into bad (size badsz).
 */
int		 decision_parse(const char *s, size_t n, unsigned *set,
		    char *bad, size_t badsz);
/* Writes "suppress,retry" or "none" into buf; returns buf. */
char		*decision_format(unsigned set, char *buf, size_t bufsz);

/*
 * What bouncer itself tells the MTA (engine_action): ANSWER_TAG, one
 * of the three phrases, ": " and a reason name, as in "bouncer:
 * recipient suppressed: userunknown since 2026-11-25". The MTA logs
 * these answers back (its error and retry transports, its own DSNs,
 * another MTA of the fleet refusing at RCPT), and none of them is
 * evidence about a recipient.
 */
#define ANSWER_TAG		"bouncer: "
#define ANSWER_SUPPRESSED	"recipient suppressed"
#define ANSWER_BACKOFF		"recipient in back-off"
#define ANSWER_THROTTLED	"destination throttled"

/*
 * 1 if the n bytes of text hold one of those answers (with or without
 * the tag, which older versions did not write), 0 if not.
 */
int		 answer_is_ours(const char *text, size_t n);

#endif
