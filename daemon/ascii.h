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
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

/*
 * Are the strings a and b the same, ignoring ASCII case? What
 * strcasecmp(a, b) == 0 says in the C locale, without the call: most
 * names differ in their first byte.
 */
static inline int
ascii_streq_ci(const char *a, const char *b)
{
	unsigned char x, y;

	for (;; a++, b++) {
		x = (unsigned char)*a;
		y = (unsigned char)*b;
		if (x == y) {
			if (x == '\0')
				return 1;
		} else if ((x ^ y) != 0x20 ||
		    (unsigned)((x | 0x20) - 'a') >= 26)
			return 0;
	}
}

/*
 * The first byte c in [p, e), or e. For the short spans of a line or a
 * header field: inline, sixteen bytes at a time where SSE2 is there,
 * without memchr()'s call and set-up.
 */
static inline const char *
ascii_find_byte(const char *p, const char *e, char c)
{
#ifdef __SSE2__
	const __m128i v = _mm_set1_epi8(c);

	for (; e - p >= 16; p += 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		    _mm_loadu_si128((const __m128i *)p), v));

		if (m != 0)
			return p + __builtin_ctz(m);
	}
#endif
	for (; p < e; p++)
		if (*p == c)
			return p;
	return e;
}

/*
 * The next offset i' >= i, below end, where byte c0 is at i' and byte
 * c1 at i' + d, each in either ASCII case (for a letter; other bytes
 * may give a few more, which the caller checks), or end. Sixteen
 * offsets at a time where SSE2 is there; no byte at or past lim is
 * read (end + d <= lim).
 */
static inline size_t
ascii_next_pair(const unsigned char *t, size_t i, size_t end, size_t lim,
    unsigned char c0, unsigned char c1, size_t d)
{
#ifdef __SSE2__
	const __m128i f0 = _mm_set1_epi8((char)(c0 | 0x20)),
	    f1 = _mm_set1_epi8((char)(c1 | 0x20)),
	    low = _mm_set1_epi8(0x20);

	for (; i + d + 16 <= lim && i < end; i += 16) {
		__m128i b0 = _mm_loadu_si128((const __m128i *)(t + i)),
		    b1 = _mm_loadu_si128((const __m128i *)(t + i + d));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_and_si128(
		    _mm_cmpeq_epi8(_mm_or_si128(b0, low), f0),
		    _mm_cmpeq_epi8(_mm_or_si128(b1, low), f1)));

		if (m != 0) {
			i += (size_t)__builtin_ctz(m);
			return i < end ? i : end;
		}
	}
#else
	(void)lim;
#endif
	for (; i < end; i++)
		if ((t[i] | 0x20) == (c0 | 0x20) &&
		    (t[i + d] | 0x20) == (c1 | 0x20))
			return i;
	return end;
}

#endif
