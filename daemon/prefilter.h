/*
 * prefilter.h -- which patterns can match a text, before any regex runs
 *
 * Two steps. prefilter_need() reads the text of one PCRE2 pattern
 * (compiled caseless) and finds lowercase literals that every text it
 * matches must contain. prefilter_build() puts the needs of many
 * patterns into one Aho-Corasick automaton (acmatch.h), and
 * prefilter_scan() then tells, in one pass over a text, which of them
 * can possibly match; the others need not be tried.
 *
 * A need is sound, not complete: a pattern the walk cannot see through
 * has none, and is always a candidate. Both a need and a built
 * prefilter are immutable and may be shared between threads; the
 * scratch space of a scan is the caller's.
 */
#ifndef BOUNCER_PREFILTER_H
#define BOUNCER_PREFILTER_H

#include <stddef.h>
#include <stdint.h>

/*
 * What one pattern needs: sets of lowercase literals, grouped in units
 * (one per top-level branch of the pattern). The pattern can only
 * match a text that holds, for some unit, a literal of each of its
 * sets. Set i is lits[setend[i - 1] .. setend[i]); unit u is sets
 * [unitend[u - 1] .. unitend[u]). Literals are NUL-terminated too.
 * Unit u is the branch [unitspan[2u], unitspan[2u + 1]) of the
 * pattern's text.
 */
struct prefilter_need {
	const char	**lits;
	size_t		 *litlens;
	size_t		  nlits;
	size_t		 *setend;
	size_t		  nsets;
	size_t		 *unitend;
	size_t		  nunits;
	size_t		 *unitspan;
};

/*
 * The need of a pattern, or NULL when nothing is known (always try
 * it). One allocation, arrays and strings included: the caller frees
 * it with free().
 */
struct prefilter_need *prefilter_need(const char *pattern);

struct prefilter;

/*
 * One prefilter for npats patterns; needs[i] is pattern i's, NULL for
 * one without. The needs are copied: they may be freed afterwards.
 * Never NULL.
 */
struct prefilter	*prefilter_build(const struct prefilter_need *const *needs,
			    size_t npats);
/*
 * The same, and for each pattern i with units[i] nonzero (units may be
 * NULL), a scan also tells which of its units can match
 * (prefilter_units()): a pattern whose branches are run one by one
 * runs only those.
 */
struct prefilter	*prefilter_build_units(
			    const struct prefilter_need *const *needs,
			    size_t npats, const uint8_t *units);
/*
 * The same, told of texts like those it will scan (nsamples
 * NUL-terminated strings): a unit is reached through the set of its
 * literals that they hold the least. What a scan answers is the same;
 * only the work it does to tell changes.
 */
struct prefilter	*prefilter_build_sampled(
			    const struct prefilter_need *const *needs,
			    size_t npats, const uint8_t *units,
			    const char *const *samples, size_t nsamples);
void			 prefilter_free(struct prefilter *);	/* NULL is fine */

/* Bytes of scratch space a scan needs. */
size_t			 prefilter_scratch_size(const struct prefilter *);
/*
 * Scans text (len bytes, any case). scratch is the caller's, of
 * prefilter_scratch_size() bytes, aligned as malloc's is. The result
 * lies inside it: one byte per pattern, 0 if the pattern can match,
 * nonzero if not; valid until scratch is used again.
 */
const uint8_t		*prefilter_scan(const struct prefilter *,
			    const char *text, size_t len, void *scratch);
/*
 * After a scan into scratch, for pattern pat built with units[pat] set:
 * one byte per unit of its need, in order, nonzero if the unit can
 * match. Inside scratch, valid until it is used again.
 */
const uint8_t		*prefilter_units(const struct prefilter *,
			    const void *scratch, size_t pat);

#endif
