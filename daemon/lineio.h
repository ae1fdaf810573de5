/*
 * lineio.h -- read lines of bounded length; check and write UTF-8
 *
 * A line longer than the limit is not an error that stops the reader:
 * lineio_read() returns its first `limit` bytes with *overlong set and
 * skips the rest, so memory stays bounded whatever the input.
 */
#ifndef BOUNCER_LINEIO_H
#define BOUNCER_LINEIO_H

#include <stddef.h>
#include <stdio.h>

struct lineio;

struct lineio	*lineio_open(FILE *fp, size_t limit);	/* does not own fp */
void		 lineio_close(struct lineio *);		/* NULL is fine */
/*
 * Returns the next line without its newline (and without a CR before
 * it), NUL-terminated, valid until the next call; NULL at end of file
 * or on a read error (see ferror()). *len is its length.
 */
const char	*lineio_read(struct lineio *, size_t *len, int *overlong);

/* 1 if [s, s+n) is well-formed UTF-8 (no overlongs, no surrogates). */
int		 utf8_valid(const char *s, size_t n);
/*
 * The length of the UTF-8 character at s (before e) when it may stand
 * in an address (RFC 6531): a letter or digit of any script; 0 for a
 * broken sequence, for punctuation and symbols (Latin-1's, U+2000 to
 * U+206F, CJK and full-width ones) and for U+FFF0 and up (U+FFFD, what
 * replaced bytes in an unknown charset). *wide is set for ideographs,
 * kana and hangul (U+2E80 and up): text in those scripts runs on after
 * an address without a blank ("ann@example.jp宛の"), so it never
 * joins ASCII letters in one name.
 */
size_t		 utf8_addr_char(const char *s, const char *e, int *wide);
/*
 * Writes code point c (below 0x110000, no surrogate) at d as UTF-8;
 * returns the bytes written (1 to 4).
 */
size_t		 utf8_put(char *d, unsigned long c);
/*
 * An HTML character reference at p (before e): a named one text is
 * written with (&amp; &lt; &gt; &quot; &apos;, and &nbsp; as a plain
 * space) or a numeric one ("&#64;", "&#x40;"; not NUL, not a
 * surrogate). Writes what it stands for as UTF-8 at *dp and advances
 * *dp; returns the reference's length, or 0 (nothing written) when
 * there is none at p. What it writes is never longer than the
 * reference, so text can be decoded in place.
 */
size_t		 html_entity(const char *p, const char *e, char **dp);

#endif
