/*
 * phrases.h -- does a text hold any of many phrases, fast?
 *
 * The classifier's guards (senderside.h, uncertain.h) ask, of every
 * reply that would suppress, whether it holds any of a few hundred
 * phrases in thirty languages, written as PCRE2 alternations. Run as
 * one alternation, PCRE2 tries every branch at every offset: tens of
 * microseconds a reply. Here each top-level branch is compiled on its
 * own, with the literals it needs (prefilter.h) found at build: one
 * scan of the text for all of them tells which branches can match, and
 * only those run. A branch that opens with a group of alternatives (after
 * a \b or not) is split: into one branch an alternative when each has
 * a need of its own (the need of the whole, the union of their words,
 * is met by most replies: "user", "address", "account"), else, when
 * the whole has no need, into several, each with as many of the
 * alternatives as leave it one; an alternative with none alone is
 * split in turn if it opens with a group.
 *
 * A built phrase set is immutable and may be shared between threads;
 * the scratch space and match data of a match are the caller's.
 */
#ifndef BOUNCER_PHRASES_H
#define BOUNCER_PHRASES_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"	/* PCRE2 with the code unit width set */

struct phrases;
struct prefilter_need;

/*
 * Builds the phrase set of n patterns (compiled caseless; any of them
 * may match). NULL if one does not compile. The patterns are not kept.
 */
struct phrases	*phrases_build(const char *const *patterns, size_t n);
void		 phrases_free(struct phrases *);	/* NULL is fine */

/*
 * May a pattern be cut into its top-level branches, each then matched
 * on its own? Not when it holds quoting (\Q...\E), an option change
 * that holds to the end of its group, a back reference, a POSIX class
 * or parentheses that do not balance.
 */
int		 phrases_splittable(const char *pattern);

/* Bytes of scratch space a match needs. */
size_t		 phrases_scratch_size(const struct phrases *);

/*
 * 1 if text (len bytes) matches one of the patterns, 0 if not or on a
 * match error. scratch: phrases_scratch_size() bytes, aligned as
 * malloc's; md: match data for one pair of offsets at least.
 */
int		 phrases_match(const struct phrases *, const char *text,
		    size_t len, void *scratch, pcre2_match_data *md);
/*
 * The branches and their needs (prefilter.h; NULL: none, always run),
 * for a caller that scans for them with literals of its own; and the
 * match of phrases_match() after such a scan: miss holds one byte per
 * branch, nonzero where the scan rules the branch out.
 */
size_t		 phrases_count(const struct phrases *);
const struct prefilter_need *phrases_need(const struct phrases *, size_t i);
int		 phrases_match_scanned(const struct phrases *,
		    const uint8_t *miss, const char *text, size_t len,
		    pcre2_match_data *md);
/*
 * The same with every branch tried, the prefilter left out:
 * phrases_match() must always agree with it (for tests).
 */
int		 phrases_match_all(const struct phrases *, const char *text,
		    size_t len, pcre2_match_data *md);

/*
 * A handle: a phrase set with the match data and scan space of one
 * thread. The set must outlive it. NULL if memory is short.
 */
struct phrases_handle;

struct phrases_handle *phrases_handle_new(const struct phrases *);
void		 phrases_handle_free(struct phrases_handle *);	/* NULL: fine */
/* phrases_match() and phrases_match_all() with the handle's space. */
int		 phrases_handle_match(struct phrases_handle *,
		    const char *text, size_t len);
int		 phrases_handle_match_all(struct phrases_handle *,
		    const char *text, size_t len);
/* The handle's set, and phrases_match_scanned() with its space. */
const struct phrases *phrases_handle_set(const struct phrases_handle *);
int		 phrases_handle_match_scanned(struct phrases_handle *,
		    const uint8_t *miss, const char *text, size_t len);

#endif
