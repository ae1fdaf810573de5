/*
 * senderside.h -- does a reply speak of the sending side?
 *
 * "User unknown", "account disabled", "mailbox full" are words about a
 * mailbox; when the mailbox is our envelope sender (Postfix's "Sender
 * address rejected: User unknown"), when the reply refuses our IP ("Your
 * IP address has been blocked: ..."), or when it counts the unknown
 * addresses we tried ("too many invalid recipients"), the recipient it
 * is logged for is not known to be gone. The classifier's sender-side
 * guard asks this module, whatever rule decided, before it suppresses.
 *
 * The words are fixed here, not in the rule files: they are the guard's,
 * and no provider's rules can get around them (bouncer-rules(5),
 * GUARDS).
 */
#ifndef BOUNCER_SENDERSIDE_H
#define BOUNCER_SENDERSIDE_H

#include <stddef.h>
#include <stdint.h>

struct phrases;

struct senderside;

/*
 * A handle: its own match data and scan space. The guard's compiled
 * patterns are built at the first call and shared by every handle of
 * the process (never freed). NULL if a pattern cannot be compiled or
 * memory is short.
 */
struct senderside *senderside_new(void);
void		 senderside_free(struct senderside *);	/* NULL is fine */

/*
 * Returns 1 if text (len bytes, the reply text as rules see it) speaks
 * of the sender, our IP or our domain; 0 if not or on a match error.
 * A handle is for one thread at a time.
 */
int		 senderside_match(struct senderside *, const char *text,
		    size_t len);

/*
 * The same question with every branch of the guard tried, the
 * prefilter that skips most of them left out: senderside_match() must
 * always agree with it (t/check_senderside.c holds it to that).
 */
int		 senderside_match_all(struct senderside *, const char *text,
		    size_t len);

/*
 * The guard's phrase set (phrases.h), built at the first call, shared,
 * never freed; NULL if it cannot be built. The rule set's prefilter
 * looks for its literals in the same scan as the rules' (rules.h:
 * ruleset_guard_miss()), and senderside_match_scanned() is senderside_match()
 * after such a scan: miss holds one byte per branch of the set.
 */
const struct phrases *senderside_set(void);
int		 senderside_match_scanned(struct senderside *, const uint8_t *miss,
		    const char *text, size_t len);

#endif
