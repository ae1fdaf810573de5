/*
 * lineio.h -- read lines of bounded length; check UTF-8
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

#endif
