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

#endif
