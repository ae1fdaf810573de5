/*
 * ascii.h -- case folding for protocol text, the same in every locale,
 * and the few byte classes it is read by
 *
 * SMTP replies, host names and header keywords are ASCII; tolower(3)
 * and strncasecmp(3) depend on the locale and cost a call per use.
 * These are inline and fold only A-Z.
 */
#ifndef BOUNCER_ASCII_H
#define BOUNCER_ASCII_H

#include <stddef.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static inline unsigned char
ascii_lower(unsigned char c)
{
	return (unsigned)(c - 'A') < 26 ? (unsigned char)(c | 0x20) : c;
}

/*
 * Is c one of "0" to "9"? What isdigit(c) says in every locale (the
 * digits are the same in all), without its call for the table.
 */
static inline int
ascii_isdigit(unsigned char c)
{
	return (unsigned)(c - '0') < 10;
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
		if (a[i] != b[i] && ascii_lower((unsigned char)a[i]) !=
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

/*
 * The offset of lit (k bytes, k > 0) in [s, s + n), or n if it is not
 * there. Every byte of lit after the first matches in either ASCII
 * case; so does the first, unless cap is set and it is a capital (a
 * capital stays one: with cap, "Reason" is not in "the reason").
 */
static inline size_t
ascii_find_ci(const char *s, size_t n, const char *lit, size_t k, int cap)
{
	const unsigned char *t = (const unsigned char *)s;
	unsigned char c0 = (unsigned char)lit[0], alt = c0;
	size_t i, end;

	/* alt: the other byte the first may be */
	if ((unsigned)(c0 - 'a') < 26)
		alt = (unsigned char)(c0 & ~0x20);
	else if ((unsigned)(c0 - 'A') < 26 && !cap)
		alt = (unsigned char)(c0 | 0x20);
	if (k == 0 || n < k)
		return n;
	end = n - (k - 1);
	for (i = 0; (i = ascii_next_pair(t, i, end, n, c0,
	    (unsigned char)lit[k - 1], k - 1)) < end; i++)
		if ((t[i] == c0 || t[i] == alt) &&
		    ascii_eq_ci(s + i + 1, lit + 1, k - 1))
			return i;
	return n;
}

/* Finds lit (any ASCII case) in [p, e); NULL if absent. */
static inline char *
ascii_find_in(char *p, char *e, const char *lit)
{
	size_t n, i;

	if (p >= e)
		return NULL;
	n = (size_t)(e - p);
	i = ascii_find_ci(p, n, lit, strlen(lit), 0);
	return i < n ? p + i : NULL;
}

/*
 * Does c stand between the addresses of a list ("ann@x, <bob@x>;"): a
 * blank, a comma, a semicolon, an angle bracket or a quote?
 */
static inline int
ascii_list_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == ';' || c == '<' ||
	    c == '>' || c == '"';
}

/*
 * The length of the word "and" at p, between blanks, as it joins the
 * last two addresses of a list ("ann@x and bob@x"); 0 if not there.
 * p[-1] is read: p is not the start of its text.
 */
static inline size_t
ascii_list_and(const char *p, const char *e)
{
	return e - p >= 4 && ascii_eq_ci(p, "and", 3) &&
	    (p[3] == ' ' || p[3] == '\t') && (p[-1] == ' ' || p[-1] == '\t') ?
	    3 : 0;
}

/*
 * Is [p, e) only what stands between the addresses of a list: the
 * bytes ascii_list_sep() takes and the word "and"? p is not the start
 * of its text.
 */
static inline int
ascii_list_gap(const char *p, const char *e)
{
	size_t k;

	for (; p < e; p++) {
		if (ascii_list_sep(*p))
			continue;
		if ((k = ascii_list_and(p, e)) == 0)
			return 0;
		p += k - 1;
	}
	return 1;
}

#endif
