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
 * Here too: the scope guard (verdict_scope()), the typed answer that
 * bouncer gives the MTA (struct answer, answer_text()) and the typed
 * facts of a reply (struct reply_facts). Those structs are plain
 * values, owned by whoever declares them.
 *
 * All strings returned are static; functions that write text write it
 * into the caller's buffer.
 */
#ifndef BOUNCER_VERDICT_H
#define BOUNCER_VERDICT_H

#include <stddef.h>

#include "reply.h"

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
 * What bouncer itself tells the MTA (answer_text()): ANSWER_TAG, one
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
 * What bouncer tells the MTA about one recipient, typed: built once
 * from a lookup (engine_answer()) and worded only at each protocol
 * edge: policy.c for check_policy_service, milter.c for
 * smfi_setreply(), socketmap.c for transport_maps. A plain value:
 * no pointers, nothing to free.
 */
enum answer_action {
	ACT_DUNNO = 0,		/* nothing in force: the MTA goes on */
	ACT_REJECT,		/* refuse the recipient for good */
	ACT_DEFER		/* refuse it for now */
};

enum answer_scope {
	SCOPE_RECIPIENT = 0,	/* the recipient's own state */
	SCOPE_DESTINATION	/* its domain's or its provider's throttle */
};

struct answer {
	enum answer_action	 action;
	enum answer_scope	 scope;
	enum reason		 reason;
	char			 status[16];	/* "5.1.1", of the action's
						   class; "" with DUNNO */
	long long		 since;	/* the state began: only its day
					   is told; 0 unknown */
	long long		 until;	/* it ends; 0 never */
	long long		 now;	/* when asked: the time left
					   counts from it */
};

/*
 * The words every edge sends after the status, into buf (always
 * terminated, cut to bufsz): "bouncer: recipient suppressed:
 * userunknown since 2026-11-25", "bouncer: recipient in back-off:
 * mailboxfull, retry in 1h20m", "bouncer: destination throttled:
 * blocked, retry in 9m"; "" for ACT_DUNNO. Returns the length written.
 */
size_t		 answer_text(const struct answer *, char *buf, size_t bufsz);

/*
 * 1 if the n bytes of text hold one of those answers (with or without
 * the tag, which older versions did not write), 0 if not.
 */
int		 answer_is_ours(const char *text, size_t n);

/*
 * The scope guard, the one place that says whether a reply may act on
 * its recipient (suppress it, or retry it alone). GUARD_REASON: the
 * reason is about the sending side (reason_may_suppress() is 0);
 * GUARD_STAGE: the reply came before RCPT (connection, HELO, MAIL
 * FROM), so it is about us or the destination, not the recipient. The
 * reason is checked first. Operators' commands are not replies and
 * are not asked about.
 */
enum scope_guard {
	GUARD_NONE = 0,		/* in scope */
	GUARD_REASON,
	GUARD_STAGE
};

enum scope_guard verdict_scope(enum smtp_stage, enum reason);

/*
 * The facts of a reply that bouncer acts on, typed: the destination's
 * throttle (retry_after), the alert's identity (blocklist, ip) and its
 * delisting link (url). The same facts appear, for people, among a
 * classification's "k=v" details. A plain value.
 */
struct reply_facts {
	long long	 retry_after;	/* seconds asked to wait; 0 none */
	char		 blocklist[64];	/* "spamhaus", or "" */
	char		 ip[64];	/* the address named, or "" */
	char		 url[256];	/* where to ask for delisting, or "" */
};

/*
 * Sets the fact named by key (klen bytes) to val (vlen bytes, cut to
 * fit) unless it is set already: the first one found wins. Returns 1
 * if key names a fact, 0 if not (nothing is done).
 */
int		 facts_set(struct reply_facts *, const char *key, size_t klen,
		    const char *val, size_t vlen);
/*
 * Fills *f (cleared first) from "k=v k=v flag" text, as an import
 * file carries it; NULL is none.
 */
void		 facts_parse(struct reply_facts *f, const char *details);

#endif
