/*
 * ascii.h -- case folding for protocol text, the same in every locale
 *
 * SMTP replies, host names and header keywords are ASCII; tolower(3)
 * and strncasecmp(3) depend on the locale and cost a call per use.
 * These are inline and fold only A-Z.
 */
#ifndef BOUNCER_ASCII_H
#define BOUNCER_ASCII_H

#include <stddef.h>

static inline unsigned char
ascii_lower(unsigned char c)
{
	return (unsigned)(c - 'A') < 26 ? (unsigned char)(c | 0x20) : c;
}

/*
 * Do a and b agree in their first n bytes, ignoring ASCII case? Stops
 * at the first difference, so one of them may end (NUL) before n bytes
 * as long as the other holds no NUL there.
 */
static inline int
ascii_eq_ci(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ascii_lower((unsigned char)a[i]) !=
		    ascii_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

#endif
