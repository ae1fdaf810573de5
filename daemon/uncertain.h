/*
 * uncertain.h -- does a reply say its verdict may not hold?
 *
 * A server that could not look the recipient up ("LDAP lookup failed",
 * "Unable to verify user", "Address verification in progress",
 * "directory service unavailable"), or that says the failure is
 * temporary ("try again later", "mailbox busy", "temporarily
 * unavailable"), has not said that the mailbox is gone, whatever its
 * code, status or other words ("550 5.1.1 User unknown, try again
 * later"). The classifier's uncertainty guard asks this module before
 * it suppresses; such a reply is retried instead.
 *
 * The words are fixed here, not in the rule files, as the sender-side
 * guard's are (senderside.h; bouncer-rules(5), GUARDS).
 */
#ifndef BOUNCER_UNCERTAIN_H
#define BOUNCER_UNCERTAIN_H

#include <stddef.h>
#include <stdint.h>

struct phrases;

struct uncertain;

/*
 * A handle: its own match data and scan space. The compiled pattern is
 * built at the first call and shared by every handle of the process
 * (never freed). NULL if it cannot be compiled or memory is short.
 */
struct uncertain *uncertain_new(void);
void		 uncertain_free(struct uncertain *);	/* NULL is fine */

/*
 * Returns 1 if text (len bytes, the reply text as rules see it) says
 * the lookup failed or the failure is temporary; 0 if not or on a
 * match error. A handle is for one thread at a time.
 */
int		 uncertain_match(struct uncertain *, const char *text,
		    size_t len);

/*
 * The same with every branch of the pattern tried, its prefilter left
 * out (phrases.h): uncertain_match() must always agree with it.
 */
int		 uncertain_match_all(struct uncertain *, const char *text,
		    size_t len);

/*
 * The guard's phrase set (phrases.h), built at the first call, shared,
 * never freed; NULL if it cannot be built. The rule set's prefilter
 * looks for its literals in the same scan as the rules' (rules.h:
 * ruleset_guard_miss()), and uncertain_match_scanned() is uncertain_match()
 * after such a scan: miss holds one byte per branch of the set.
 */
const struct phrases *uncertain_set(void);
int		 uncertain_match_scanned(struct uncertain *, const uint8_t *miss,
		    const char *text, size_t len);

#endif
