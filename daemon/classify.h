/*
 * classify.h -- decide what one SMTP reply means
 *
 * Given a rule set, a recipient and the reply a server gave for it,
 * name a reason from Sisimai's vocabulary and a decision (suppress,
 * retry, throttle, alert, or none), with the details the reply holds:
 * typed where bouncer acts on them (struct reply_facts: blocklist, ip,
 * url, retry_after), and all of them as "k=v" text for display.
 *
 * A struct classifier is per thread: it holds the PCRE2 match data and
 * the reply buffer, so classifying allocates nothing after the first
 * few calls. The rule set is shared and read-only.
 */
#ifndef BOUNCER_CLASSIFY_H
#define BOUNCER_CLASSIFY_H

#include <stdio.h>

#include "reply.h"
#include "rules.h"
#include "verdict.h"

struct classifier;

struct classification {
	enum reason		 reason;
	unsigned		 decision;	/* D_* bits; 0 is none */
	char			 status[16];	/* as given, or derived */
	int			 code;		/* 0 when none */
	enum smtp_stage		 stage;
	int			 temporary;	/* 1 4xx, 0 5xx, -1 unknown */
	const struct provider	*provider;	/* NULL: none known */
	const struct rule	*rule;		/* NULL: no rule matched */
	const struct reply	*reply;		/* the parsed reply, or NULL */
	struct reply_facts	 facts;		/* what the engine and the
						   alerts act on */
	/* Last: producers clear what is before it with offsetof(). */
	char			 details[1024];	/* "k=v k=v flag" or "": for
						   people (logs, bouncerctl) */
};

/* Returns a classifier for rules sized like rs; it keeps no reference. */
struct classifier *classifier_new(const struct ruleset *rs);
void		 classifier_free(struct classifier *);	/* NULL is fine */

/*
 * The sending side's addresses (n of them, or none with NULL, 0) for the
 * calls that follow on c: a reply that names one of them besides the
 * recipient is not taken to name someone else, and one that names only
 * them is about the sending side, not the recipient (see the
 * other-address guard). c keeps the pointers; they must stay valid while
 * set.
 */
void		 classifier_senders(struct classifier *c,
		    const char *const *addrs, size_t n);

/*
 * The other recipients of the same report that were given the very
 * text to be classified (n of them, or none with NULL, 0), for the
 * calls that follow on c: a text that names the recipient and some of
 * them ("Your message to ann@x, bob@x was not delivered") speaks of
 * each alike, and they are not "another address" to the other-address
 * guard. A text that names them but not the recipient is still about
 * someone else; and at or after DATA such a text is no verdict on any
 * one of them (the data-stage guard). c keeps the pointers; they must
 * stay valid while set.
 */
void		 classifier_cohort(struct classifier *c,
		    const char *const *addrs, size_t n);

/*
 * What is known of the transaction that drew the replies to come, from
 * around them (a bounce's text, a log): nrcpt, how many recipients it
 * had (1 when it was this recipient alone, more when a reply to DATA
 * answered for several at once, 0 when nobody knows), and stage, the
 * stage the replies were given at when they do not say it themselves
 * (STAGE_UNKNOWN when nobody knows). Both are 0 until set. See the
 * data-stage guard.
 */
void		 classifier_transaction(struct classifier *c, size_t nrcpt,
		    enum smtp_stage stage);

/*
 * Classifies reply text (len bytes) for rcpt. dsn and relay are what an
 * MTA logged beside the reply (Postfix's dsn= and relay= host), or
 * NULL. Everything *out points at stays valid until the next call on c
 * or until rs is released.
 */
void		 classify(struct classifier *c, const struct ruleset *rs,
		    const char *rcpt, const char *text, size_t len,
		    const char *dsn, const char *relay,
		    struct classification *out);

/*
 * Runs every test vector of rs; prints each failure to out as
 * "dir/file:line: ..." and returns the number that failed. A vector of
 * a stock file that a local file replaces (rule_test.overridden) is
 * not a failure when it comes out otherwise: it is printed as
 * "dir/file:line: overridden by PATH: ..." and counted in *ndiffer
 * (which may be NULL). *ntests is set to the number of vectors run.
 */
size_t		 classify_run_tests(const struct ruleset *rs, FILE *out,
		    size_t *ntests, size_t *ndiffer);

/*
 * A failure a local delivery program reported (its exit status, or
 * words of its own) that no rule's words decided is the mailer's:
 * mailererror, no decision; unless cl says the mailbox is full or the
 * message too big for it (from the status code), which is the failure
 * whoever wrote the words. Callers decide that the failure was a
 * program's (a bounce's X-Unix Diagnostic-Code, a log line's "|cmd").
 */
void		 classify_program_failure(struct classification *cl);

/*
 * A "no such user" (userunknown) given at no stage anybody can tell,
 * under a status that is no address status (x.0.x, x.2.x or x.7.x:
 * "550 5.7.1 <x>: Recipient address rejected: Access denied") may be
 * the answer of a filter on the recipient's side after DATA: Sisimai's
 * "filtered", not proof that the mailbox is gone. If so, makes cl
 * filtered without a suppression and returns 1. The status must be the
 * report's own (own_status: a bounce's Status field) or the reply's,
 * and not a bare x.0.0 made from the reply code; a rule of the
 * recipient's own provider, which knows its server's wording, keeps
 * its reason unless the status is a mailbox one (x.2.x). Callers rule
 * out what they can see and cl cannot: the reply named RCPT, or the
 * words were a mailer's own and no reply.
 */
int		 classify_stageless_unknown(struct classification *cl,
		    int own_status);

/*
 * Appends "k=v" (or a flag) to cl->details, space-separated, as far as
 * it fits: for the callers' own findings after classify() (a bounce's
 * guards, a log line cut short).
 */
void		 detail_add(struct classification *cl, const char *kv);

/* "file:line" of the rule that decided, or "-". */
const char	*classification_rule(const struct classification *,
		    char *buf, size_t bufsz);

#endif
