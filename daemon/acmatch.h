/*
 * acmatch.h -- find which of many literals occur in a text, in one pass
 *
 * An Aho-Corasick automaton over lowercase literals, compiled to a DFA
 * whose alphabet is only the bytes the literals use, with its
 * transitions stored compressed (see acmatch.c). Scanning costs two
 * table lookups per byte of text however many literals there are, only
 * one of them waiting on the byte before; the rule prefilter uses it
 * to learn, before any regex runs, which rules can possibly match.
 *
 * Literals are given in lowercase (ASCII); the text is matched ignoring
 * ASCII case, so it need not be lowercased first. An automaton is
 * immutable once built and may be shared between threads; the bitset a
 * scan fills is the caller's.
 */
#ifndef BOUNCER_ACMATCH_H
#define BOUNCER_ACMATCH_H

#include <stddef.h>
#include <stdint.h>

struct acmatch;

/*
 * Builds an automaton for n literals (lens[i] bytes each, none empty).
 * Literal i is reported as bit i. Returns NULL only if n is 0.
 */
struct acmatch	*acmatch_build(const char *const *lits, const size_t *lens,
		    size_t n);
void		 acmatch_free(struct acmatch *);	/* NULL is fine */

/* Words of uint64_t a scan's bitset needs. */
size_t		 acmatch_words(const struct acmatch *);
/* Clears bits (acmatch_words() words) and sets bit i for each literal i
 * occurring in text. */
void		 acmatch_scan(const struct acmatch *, const char *text,
		    size_t len, uint64_t *bits);
/*
 * Words of uint64_t the marks of a scan need, and the same scan, which
 * also sets bit w of marks (acmatch_mark_words() words, cleared first)
 * when word w of bits is not zero: a caller that walks the literals
 * found need not read every word of a bitset that is mostly zeros.
 */
size_t		 acmatch_mark_words(const struct acmatch *);
void		 acmatch_scan_marked(const struct acmatch *, const char *text,
		    size_t len, uint64_t *bits, uint64_t *marks);

#endif
