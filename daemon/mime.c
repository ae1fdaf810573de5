/*
 * mime.c -- parse one RFC 5322 message with MIME into a tree of parts
 *
 * The tree is built in one pass over the message: a header block, then
 * for a multipart the delimiter lines found with memmem(), for an
 * embedded message a recursive parse of its body. Depth and counts are
 * bounded (mime.h), and every scan is bounded by an end pointer, so no
 * input can run the parser off its buffer, recurse without limit or
 * loop.
 *
 * Broken multiparts are common in bounces (an MTA truncates the copy of
 * the original, or writes a different boundary than it declared): a
 * missing close line ends the last part at the end of its parent; a
 * declared boundary that never occurs is replaced by one guessed from
 * the first "--token" line that repeats; with neither, the multipart is
 * read as one text/plain body.
 *
 * Charset conversion goes through iconv with a small per-parser cache
 * of handles, with names mapped to the supersets mail really uses
 * (Shift_JIS is CP932, ISO-8859-1 is Windows-1252, ...). Invalid input
 * becomes U+FFFD; text in an unknown charset is kept where it is valid
 * UTF-8.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "arena.h"
#include "ascii.h"
#include "lineio.h"
#include "mime.h"
#include "xalloc.h"

#define ICONV_CACHE	8

struct conv {
	char		 name[32];	/* normalised charset name */
	iconv_t		 cd;		/* (iconv_t)-1: iconv does not know it */
	unsigned long	 used;
};

struct mime {
	struct arena	*a;
	size_t		 nparts;
	struct conv	 conv[ICONV_CACHE];
	unsigned long	 tick;
	char		*scratch;	/* for encoded words */
	size_t		 scratchsz;
	char		*lf;		/* a CR-only message, with LF */
	size_t		 lfsz;
};

static const char *const utf8_repl = "\xef\xbf\xbd";

struct mime *
mime_new(void)
{
	struct mime *m;
	size_t i;

	m = xcalloc(1, sizeof(*m));
	m->a = arena_new(0);
	for (i = 0; i < ICONV_CACHE; i++)
		m->conv[i].cd = (iconv_t)-1;
	return m;
}

void
mime_free(struct mime *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < ICONV_CACHE; i++)
		if (m->conv[i].name[0] && m->conv[i].cd != (iconv_t)-1)
			iconv_close(m->conv[i].cd);
	arena_free(m->a);
	free(m->scratch);
	free(m->lf);
	free(m);
}

struct arena *
mime_arena(struct mime *m)
{
	return m->a;
}

size_t
mime_nparts(const struct mime *m)
{
	return m->nparts;
}

/* --- small helpers --------------------------------------------------- */

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static char *
lower_dup(struct arena *a, const char *s, size_t n)
{
	char *d = arena_strndup(a, s, n);
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	return d;
}

/* End of the line at p: the '\n', or e. */
static const char *
line_end(const char *p, const char *e)
{
	return ascii_find_byte(p, e, '\n');
}

/* --- charsets -------------------------------------------------------- */

static const struct {
	const char	*alias;
	const char	*iconv;
} charset_map[] = {
	{ "shift_jis", "CP932" }, { "shift-jis", "CP932" },
	{ "sjis", "CP932" }, { "x-sjis", "CP932" }, { "ms_kanji", "CP932" },
	{ "windows-31j", "CP932" }, { "cp932", "CP932" },
	{ "x-ms-cp932", "CP932" }, { "csshiftjis", "CP932" },
	{ "euc-jp", "EUC-JP-MS" }, { "x-euc-jp", "EUC-JP-MS" },
	{ "eucjp", "EUC-JP-MS" },
	{ "iso-2022-jp", "ISO-2022-JP-2" }, { "csiso2022jp", "ISO-2022-JP-2" },
	{ "iso-2022-jp-1", "ISO-2022-JP-2" },
	{ "iso-8859-1", "WINDOWS-1252" }, { "latin1", "WINDOWS-1252" },
	{ "iso_8859-1", "WINDOWS-1252" }, { "us-ascii", "" },
	{ "ascii", "" }, { "utf-8", "" }, { "utf8", "" },
	{ "ks_c_5601-1987", "CP949" }, { "euc-kr", "CP949" },
	{ "gb2312", "GB18030" }, { "gbk", "GB18030" },
	{ "unicode", "UTF-16" }, { "unicodefffe", "UTF-16BE" },
	{ "x-unknown", "" }, { "unknown-8bit", "" }, { "default", "" },
};

/* The iconv handle for charset cs (lowercase), or (iconv_t)-1. */
static iconv_t
conv_get(struct mime *m, const char *cs)
{
	struct conv *c, *victim = &m->conv[0];
	const char *name = cs;
	size_t i;

	for (i = 0; i < sizeof(charset_map) / sizeof(charset_map[0]); i++)
		if (strcmp(cs, charset_map[i].alias) == 0) {
			name = charset_map[i].iconv;
			break;
		}
	if (*name == '\0' || strlen(name) >= sizeof(c->name))
		return (iconv_t)-1;
	for (i = 0; i < ICONV_CACHE; i++) {
		c = &m->conv[i];
		if (strcmp(c->name, name) == 0) {
			c->used = ++m->tick;
			if (c->cd != (iconv_t)-1)
				iconv(c->cd, NULL, NULL, NULL, NULL);
			return c->cd;
		}
		if (c->used < victim->used)
			victim = c;
	}
	if (victim->name[0] && victim->cd != (iconv_t)-1)
		iconv_close(victim->cd);
	snprintf(victim->name, sizeof(victim->name), "%s", name);
	victim->cd = iconv_open("UTF-8", name);
	victim->used = ++m->tick;
	return victim->cd;
}

/* Copies valid UTF-8 from s to d, replacing what is not; returns end. */
static char *
utf8_clean(char *d, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;
	size_t k;

	while (p < e) {
		if (*p < 0x80) {
			*d++ = (char)*p++;
			continue;
		}
		for (k = 1; k <= 4 && p + k <= e; k++)
			if (utf8_valid((const char *)p, k))
				break;
		if (k <= 4 && p + k <= e) {
			memcpy(d, p, k);
			d += k;
			p += k;
		} else {
			memcpy(d, utf8_repl, 3);
			d += 3;
			p++;
		}
	}
	return d;
}

static int
has_esc_jis(const char *s, size_t n)
{
	const char *p = s, *e = s + n;

	while ((p = memchr(p, 0x1b, (size_t)(e - p))) != NULL) {
		if (e - p >= 3 && p[1] == '$' && (p[2] == 'B' || p[2] == '@'))
			return 1;
		p++;
	}
	return 0;
}

/*
 * Is [s, s + n) ASCII without ESC (nothing to convert)? Sixteen bytes
 * at a time where SSE2 is there.
 */
static int
plain_ascii(const char *s, size_t n)
{
	size_t i = 0;

#ifdef __SSE2__
	const __m128i esc = _mm_set1_epi8(0x1b);

	for (; i + 16 <= n; i += 16) {
		__m128i b = _mm_loadu_si128((const __m128i *)(s + i));

		if (_mm_movemask_epi8(_mm_or_si128(b,
		    _mm_cmpeq_epi8(b, esc))) != 0)
			return 0;
	}
#endif
	for (; i < n; i++)
		if ((unsigned char)s[i] >= 0x80 || s[i] == 0x1b)
			return 0;
	return 1;
}

/*
 * Is cs (any case) a charset whose text in ASCII bytes is not ASCII
 * text: one of 16- or 32-bit units (UTF-16LE, UCS-2, ...), whose ASCII
 * has NUL bytes, or UTF-7, where "+AOQ-" is a letter?
 */
static int
wide_charset(const char *cs)
{
	return cs != NULL && (strncasecmp(cs, "utf-16", 6) == 0 ||
	    strcasecmp(cs, "utf-7") == 0 || strcasecmp(cs, "utf7") == 0 ||
	    strncasecmp(cs, "utf-32", 6) == 0 ||
	    strncasecmp(cs, "utf16", 5) == 0 ||
	    strncasecmp(cs, "utf32", 5) == 0 ||
	    strncasecmp(cs, "ucs-2", 5) == 0 ||
	    strncasecmp(cs, "ucs-4", 5) == 0 ||
	    strncasecmp(cs, "unicode", 7) == 0);
}

/*
 * The bytes of one code unit of cs (lowercase): 2 for UTF-16 and UCS-2,
 * 4 for UTF-32 and UCS-4, else 1. What iconv cannot convert (a lone
 * surrogate) is skipped a unit at a time, so the text after it is read
 * in step and not one byte off.
 */
static size_t
unit_size(const char *cs)
{
	if (strncmp(cs, "utf-16", 6) == 0 || strncmp(cs, "utf16", 5) == 0 ||
	    strncmp(cs, "ucs-2", 5) == 0 || strcmp(cs, "unicode") == 0 ||
	    strcmp(cs, "unicodefffe") == 0)
		return 2;
	if (strncmp(cs, "utf-32", 6) == 0 || strncmp(cs, "utf32", 5) == 0 ||
	    strncmp(cs, "ucs-4", 5) == 0)
		return 4;
	return 1;
}

const char *
mime_to_utf8(struct mime *m, const char *charset, const char *s, size_t n,
    size_t *lenp)
{
	char cs[40], *out, *d, *in;
	size_t i, inleft, outleft, len, unit, k;
	iconv_t cd = (iconv_t)-1;

	if (!wide_charset(charset) && plain_ascii(s, n)) {
		out = arena_strndup(m->a, s, n);
		if (lenp)
			*lenp = n;
		return out;
	}
	cs[0] = '\0';
	if (charset != NULL) {
		for (i = 0; charset[i] && i < sizeof(cs) - 1; i++)
			cs[i] = (char)tolower((unsigned char)charset[i]);
		cs[i] = '\0';
	}
	if (cs[0])
		cd = conv_get(m, cs);
	if (cd == (iconv_t)-1 && has_esc_jis(s, n))
		cd = conv_get(m, "iso-2022-jp");
	out = arena_alloc(m->a, n * 4 + 16);
	if (cd == (iconv_t)-1) {
		d = utf8_clean(out, s, n);
		*d = '\0';
		if (lenp)
			*lenp = (size_t)(d - out);
		return out;
	}
	in = (char *)(uintptr_t)s;
	inleft = n;
	unit = unit_size(cs);
	d = out;
	outleft = n * 4 + 12;
	while (inleft > 0) {
		if (iconv(cd, &in, &inleft, &d, &outleft) != (size_t)-1)
			break;
		if (errno == E2BIG)
			break;		/* cannot happen with 4n; be safe */
		/* EILSEQ or EINVAL: one replacement, skip one unit. */
		if (outleft < 3)
			break;
		memcpy(d, utf8_repl, 3);
		d += 3;
		outleft -= 3;
		k = unit < inleft ? unit : inleft;
		in += k;
		inleft -= k;
	}
	iconv(cd, NULL, NULL, &d, &outleft);
	len = (size_t)(d - out);
	out[len] = '\0';
	if (lenp)
		*lenp = len;
	return out;
}

/* --- transfer encodings ---------------------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Quoted-printable; q selects RFC 2047 "Q" ('_' is a space). */
static size_t
qp_decode(char *d, const char *s, size_t n, int q)
{
	const char *e = s + n, *t;
	char *d0 = d;
	int h, l;

	while (s < e) {
		if (!q && *s != '=') {	/* the run up to the next '=' */
			if ((t = memchr(s, '=', (size_t)(e - s))) == NULL)
				t = e;
			memmove(d, s, (size_t)(t - s));
			d += t - s;
			s = t;
		} else if (*s == '_' && q) {
			*d++ = ' ';
			s++;
		} else if (*s != '=') {
			*d++ = *s++;
		} else if (e - s >= 3 && (h = hexval(s[1])) >= 0 &&
		    (l = hexval(s[2])) >= 0) {
			*d++ = (char)(h << 4 | l);
			s += 3;
		} else {
			/* A soft line break: "=", spaces, then CRLF or LF. */
			for (t = s + 1; t < e && is_wsp(*t); t++)
				;
			if (t < e && *t == '\r')
				t++;
			if (t < e && *t == '\n') {
				s = t + 1;
				continue;
			}
			if (t == e) {
				s = e;
				continue;
			}
			*d++ = *s++;	/* a stray '=' stays */
		}
	}
	return (size_t)(d - d0);
}

static const signed char b64tab[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17,
	['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27,
	['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
	['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37,
	['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47,
	['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52,
	['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
	['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62,
	['+'] = 63, ['/'] = 64, ['-'] = 63, ['_'] = 64,
};

/* Base64, skipping what is not in the alphabet; stops at '=' padding. */
static size_t
b64_decode(char *d, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;
	unsigned acc = 0, bits = 0;
	char *d0 = d;
	int v;

	for (; p < e; p++) {
		if (*p == '=') {
			/* Padding ends a group; another may follow (joined). */
			acc = bits = 0;
			continue;
		}
		if ((v = b64tab[*p]) == 0)
			continue;
		acc = acc << 6 | (unsigned)(v - 1);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*d++ = (char)(acc >> bits & 0xff);
		}
	}
	return (size_t)(d - d0);
}

/* --- RFC 2047 -------------------------------------------------------- */

static void
scratch_put(struct mime *m, size_t *off, const char *s, size_t n)
{
	if (*off + n + 1 > m->scratchsz) {
		m->scratchsz = (*off + n + 1) * 2;
		if (m->scratchsz < 256)
			m->scratchsz = 256;
		m->scratch = xrealloc(m->scratch, m->scratchsz);
	}
	memcpy(m->scratch + *off, s, n);
	*off += n;
}

/*
 * Finds an encoded word at p: "=?charset?B?text?=". Returns its end and
 * sets the pieces, or NULL.
 */
static const char *
eword(const char *p, const char *e, const char **cs, size_t *cslen,
    int *enc, const char **txt, size_t *txtlen)
{
	const char *q, *t;

	if (e - p < 8 || p[0] != '=' || p[1] != '?')
		return NULL;
	for (q = p + 2; q < e && *q != '?' && !is_wsp(*q) && q - p < 72; q++)
		;
	if (q >= e || *q != '?' || q == p + 2 || e - q < 4 || q[2] != '?')
		return NULL;
	*cs = p + 2;
	*cslen = (size_t)(q - p - 2);
	*enc = toupper((unsigned char)q[1]);
	if (*enc != 'B' && *enc != 'Q')
		return NULL;
	/* The text runs to "?="; no spaces inside (tolerate none). */
	for (t = q + 3; t + 1 < e && !(t[0] == '?' && t[1] == '='); t++)
		if (*t == '\n' || *t == '\r')
			return NULL;
	if (t + 1 >= e)
		return NULL;
	*txt = q + 3;
	*txtlen = (size_t)(t - q - 3);
	return t + 2;
}

const char *
mime_decode_words(struct mime *m, const char *s, size_t n, size_t *lenp)
{
	const char *p = s, *e = s + n, *we, *cs, *txt, *lit, *w;
	char pcs[40] = "", ccs[40], *out, *tmp;
	size_t cslen, txtlen, off = 0, outlen = 0, outcap, k, i;
	int enc, have_pending = 0;

	if (memmem(s, n, "=?", 2) == NULL)
		return mime_to_utf8(m, NULL, s, n, lenp);
	outcap = n * 4 + 16;
	out = arena_alloc(m->a, outcap);
	lit = p;
	while (p < e) {
		if (*p != '=' || (we = eword(p, e, &cs, &cslen, &enc, &txt,
		    &txtlen)) == NULL) {
			p++;
			continue;
		}
		/* Literal text before this word; blanks between words drop. */
		for (w = lit; w < p && is_wsp(*w); w++)
			;
		if (!(have_pending && w == p) && lit < p) {
			if (have_pending) {
				const char *c = mime_to_utf8(m, pcs,
				    m->scratch, off, &k);
				memcpy(out + outlen, c, k);
				outlen += k;
				have_pending = 0;
				off = 0;
			}
			tmp = (char *)mime_to_utf8(m, NULL, lit,
			    (size_t)(p - lit), &k);
			memcpy(out + outlen, tmp, k);
			outlen += k;
		}
		for (i = 0; i < cslen && i < sizeof(ccs) - 1 &&
		    cs[i] != '*'; i++)
			ccs[i] = (char)tolower((unsigned char)cs[i]);
		ccs[i] = '\0';
		if (have_pending && strcmp(ccs, pcs) != 0) {
			const char *c = mime_to_utf8(m, pcs, m->scratch, off,
			    &k);
			memcpy(out + outlen, c, k);
			outlen += k;
			off = 0;
		}
		memcpy(pcs, ccs, sizeof(pcs));
		have_pending = 1;
		/* Decode into scratch (never longer than the text). */
		scratch_put(m, &off, txt, txtlen);
		off -= txtlen;
		if (enc == 'B')
			off += b64_decode(m->scratch + off, txt, txtlen);
		else
			off += qp_decode(m->scratch + off, txt, txtlen, 1);
		p = lit = we;
	}
	if (have_pending) {
		const char *c = mime_to_utf8(m, pcs, m->scratch, off, &k);
		memcpy(out + outlen, c, k);
		outlen += k;
	}
	if (lit < e) {
		tmp = (char *)mime_to_utf8(m, NULL, lit, (size_t)(e - lit), &k);
		memcpy(out + outlen, tmp, k);
		outlen += k;
	}
	out[outlen] = '\0';
	if (lenp)
		*lenp = outlen;
	return out;
}

/* --- headers --------------------------------------------------------- */

/* Is [p, le) "name:" with a field name before the colon? */
static const char *
field_colon(const char *p, const char *le)
{
	const char *q;

	for (q = p; q < le && *q != ':'; q++) {
		unsigned char c = (unsigned char)*q;

		if (c <= 32 || c >= 127) {
			/* "Name :" with blanks before the colon is allowed. */
			const char *r = q;

			while (r < le && is_wsp(*r))
				r++;
			if (r < le && *r == ':' && q > p)
				return r;
			return NULL;
		}
	}
	return q < le && q > p ? q : NULL;
}

/*
 * Stores the field name (namelen bytes) with its value [v, ve); folded:
 * the value has continuation lines (else it holds no newline).
 */
static void
hdr_store(struct mime *m, struct mime_header **hp, size_t *np, size_t *capp,
    const char *name, size_t namelen, const char *v, const char *ve,
    int folded)
{
	struct mime_header *h, *nh;
	const char *s, *le;
	char *d, *val, *nm;

	if (*np >= MIME_MAX_HEADERS)
		return;
	if (*np == *capp) {
		*capp = *capp ? *capp * 2 : 16;
		nh = arena_alloc(m->a, *capp * sizeof(*nh));
		if (*np)
			memcpy(nh, *hp, *np * sizeof(*nh));
		*hp = nh;
	}
	h = &(*hp)[(*np)++];
	while (v < ve && (is_wsp(*v) || *v == '\r' || *v == '\n'))
		v++;
	/* The name and the value in one piece of the arena. */
	nm = arena_alloc(m->a, namelen + 1 + (size_t)(ve - v) + 1);
	memcpy(nm, name, namelen);
	nm[namelen] = '\0';
	h->name = nm;
	val = d = nm + namelen + 1;
	for (s = v; s < ve; s = le + 1) {	/* line by line, CR and LF out */
		if (!folded ||
		    (le = memchr(s, '\n', (size_t)(ve - s))) == NULL)
			le = ve;
		if (memchr(s, '\r', (size_t)(le - s)) == NULL) {
			memcpy(d, s, (size_t)(le - s));
			d += le - s;
		} else
			for (; s < le; s++)
				if (*s != '\r')
					*d++ = *s;
	}
	while (d > val && (is_wsp(d[-1]) || d[-1] == '\r'))
		d--;
	*d = '\0';
	h->value = val;
	h->len = (size_t)(d - val);
}

/*
 * Parses a header block at [p, e). Returns where the body starts (after
 * the empty line, or at the first line that is not a header).
 */
static const char *
parse_headers(struct mime *m, const char *p, const char *e, int top,
    struct mime_header **hp, size_t *np)
{
	const char *le, *nl, *colon, *name = NULL, *vstart = NULL, *vend = NULL;
	size_t namelen = 0, cap = 0;
	int folded = 0;

	*hp = NULL;
	*np = 0;
	if (top && e - p >= 5 && memcmp(p, "From ", 5) == 0) {
		nl = line_end(p, e);
		p = nl < e ? nl + 1 : e;
	}
	while (p < e) {
		nl = line_end(p, e);
		le = nl;
		if (le > p && le[-1] == '\r')
			le--;
		if (le == p) {		/* the empty line */
			p = nl < e ? nl + 1 : e;
			break;
		}
		if (is_wsp(*p) && name != NULL) {
			vend = le;	/* continuation */
			folded = 1;
		} else if ((colon = field_colon(p, le)) != NULL) {
			if (name != NULL)
				hdr_store(m, hp, np, &cap, name, namelen,
				    vstart, vend, folded);
			folded = 0;
			name = p;
			for (namelen = (size_t)(colon - p); namelen > 0 &&
			    is_wsp(p[namelen - 1]); namelen--)
				;
			vstart = colon + 1;
			vend = le;
		} else
			break;		/* not a header: the body begins */
		p = nl < e ? nl + 1 : e;
	}
	if (name != NULL)
		hdr_store(m, hp, np, &cap, name, namelen, vstart, vend,
		    folded);
	return p;
}

size_t
mime_fields(struct mime *m, const char *s, size_t n,
    struct mime_header **hdrs_r, size_t *nhdrs_r)
{
	const char *b;

	b = parse_headers(m, s, s + n, 0, hdrs_r, nhdrs_r);
	return (size_t)(b - s);
}

const struct mime_header *
mime_header(const struct mime_part *part, const char *name)
{
	size_t i;

	for (i = 0; i < part->nhdrs; i++)
		if (ascii_streq_ci(part->hdrs[i].name, name))
			return &part->hdrs[i];
	return NULL;
}

const char *
mime_header_value(const struct mime_part *part, const char *name)
{
	const struct mime_header *h = mime_header(part, name);

	return h ? h->value : NULL;
}

const char *
mime_header_text(struct mime *m, const struct mime_part *part,
    const char *name)
{
	const struct mime_header *h = mime_header(part, name);

	if (h == NULL)
		return NULL;
	return mime_decode_words(m, h->value, h->len, NULL);
}

/* --- parameters ------------------------------------------------------ */

#define MAX_PIECES	32

const char *
mime_param(struct mime *m, const char *value, size_t len, const char *name)
{
	const char *p = value, *e = value + len, *an, *ae, *vs, *ve;
	const char *piece[MAX_PIECES];
	size_t piecelen[MAX_PIECES], nlen = strlen(name), total, i, k;
	int pieceext[MAX_PIECES], npieces = 0, quoted;
	const char *simple = NULL, *ext = NULL;
	size_t simplelen = 0, extlen = 0;
	char *out, *d;

	/* Its name, in any case, is not there at all: no parameter. */
	if (nlen > 0 && ascii_find_ci(value, len, name, nlen, 0) == len)
		return NULL;
	memset(piece, 0, sizeof(piece));
	/* Skip the type itself. */
	while (p < e && *p != ';')
		p++;
	while (p < e) {
		while (p < e && (*p == ';' || is_wsp(*p) || *p == '\r' ||
		    *p == '\n'))
			p++;
		an = p;
		while (p < e && *p != '=' && *p != ';' && !is_wsp(*p))
			p++;
		ae = p;
		while (p < e && is_wsp(*p))
			p++;
		if (p >= e || *p != '=') {
			continue;
		}
		p++;
		while (p < e && is_wsp(*p))
			p++;
		quoted = p < e && *p == '"';
		if (quoted) {
			vs = ++p;
			while (p < e && *p != '"') {
				if (*p == '\\' && p + 1 < e)
					p++;
				p++;
			}
			ve = p;
			if (p < e)
				p++;
		} else {
			vs = p;
			while (p < e && *p != ';' && !is_wsp(*p))
				p++;
			ve = p;
		}
		if ((size_t)(ae - an) < nlen ||
		    strncasecmp(an, name, nlen) != 0)
			continue;
		if (an + nlen == ae) {
			simple = vs;
			simplelen = (size_t)(ve - vs);
			if (quoted) {
				/* Undo backslash quoting. */
				d = arena_alloc(m->a, simplelen + 1);
				for (i = k = 0; i < simplelen; i++) {
					if (vs[i] == '\\' && i + 1 < simplelen)
						i++;
					d[k++] = vs[i];
				}
				simple = d;
				simplelen = k;
			}
		} else if (an[nlen] == '*') {
			const char *q = an + nlen + 1;
			int idx = 0, star = 0;

			if (q == ae) {
				ext = vs;
				extlen = (size_t)(ve - vs);
				continue;
			}
			if (!isdigit((unsigned char)*q))
				continue;
			while (q < ae && isdigit((unsigned char)*q))
				idx = idx * 10 + (*q++ - '0');
			if (q < ae && *q == '*')
				star = 1, q++;
			if (q != ae || idx >= MAX_PIECES)
				continue;
			piece[idx] = vs;
			piecelen[idx] = (size_t)(ve - vs);
			pieceext[idx] = star;
			if (idx + 1 > npieces)
				npieces = idx + 1;
		}
	}
	if (npieces == 0 && ext == NULL) {
		if (simple == NULL)
			return NULL;
		return arena_strndup(m->a, simple, simplelen);
	}
	total = extlen + 1;
	for (i = 0; i < (size_t)npieces; i++)
		if (piece[i] != NULL)
			total += piecelen[i];
	out = d = arena_alloc(m->a, total);
	for (i = 0; i < (size_t)(npieces ? npieces : 1); i++) {
		const char *s;
		size_t n;
		int pct;

		if (npieces) {
			if ((s = piece[i]) == NULL)
				break;
			n = piecelen[i];
			pct = pieceext[i];
		} else {
			s = ext;
			n = extlen;
			pct = 1;
		}
		if (pct && i == 0) {
			/* charset'language'value */
			const char *q1 = memchr(s, '\'', n), *q2;

			if (q1 != NULL && (q2 = memchr(q1 + 1, '\'',
			    n - (size_t)(q1 + 1 - s))) != NULL) {
				n -= (size_t)(q2 + 1 - s);
				s = q2 + 1;
			}
		}
		for (k = 0; k < n; k++) {
			int h, l;

			if (pct && s[k] == '%' && k + 2 < n &&
			    (h = hexval(s[k + 1])) >= 0 &&
			    (l = hexval(s[k + 2])) >= 0) {
				*d++ = (char)(h << 4 | l);
				k += 2;
			} else
				*d++ = s[k];
		}
	}
	*d = '\0';
	return out;
}

/* --- bodies ---------------------------------------------------------- */

static int
is_text_type(const char *type)
{
	return strncmp(type, "text/", 5) == 0 ||
	    strcmp(type, "message/delivery-status") == 0 ||
	    strcmp(type, "message/global-delivery-status") == 0 ||
	    strcmp(type, "message/feedback-report") == 0 ||
	    strcmp(type, "message/disposition-notification") == 0;
}

/* Undoes the transfer encoding of raw; the result is in the arena. */
static const char *
cte_decode(struct mime *m, enum mime_cte cte, const char *raw, size_t n,
    size_t *lenp)
{
	char *d;

	switch (cte) {
	case CTE_QP:
		d = arena_alloc(m->a, n + 1);
		*lenp = qp_decode(d, raw, n, 0);
		d[*lenp] = '\0';
		return d;
	case CTE_BASE64:
		d = arena_alloc(m->a, n / 4 * 3 + 4);
		*lenp = b64_decode(d, raw, n);
		d[*lenp] = '\0';
		return d;
	default:
		*lenp = n;
		return raw;
	}
}

const char *
mime_body(struct mime *m, struct mime_part *part, size_t *lenp)
{
	const char *s;
	size_t n;

	if (part->text == NULL) {
		s = cte_decode(m, part->cte, part->raw, part->rawlen, &n);
		if (is_text_type(part->type))
			part->text = mime_to_utf8(m, part->charset, s, n,
			    &part->textlen);
		else if (s == part->raw) {
			part->text = arena_strndup(m->a, s, n);
			part->textlen = n;
		} else {
			part->text = s;
			part->textlen = n;
		}
	}
	if (lenp)
		*lenp = part->textlen;
	return part->text;
}

/* --- the tree -------------------------------------------------------- */

static void parse_entity(struct mime *, struct mime_part *, const char *,
    const char *, int);

static struct mime_part *
part_new(struct mime *m, struct mime_part *parent)
{
	struct mime_part *p;

	p = arena_alloc(m->a, sizeof(*p));
	memset(p, 0, sizeof(*p));
	p->parent = parent;
	p->depth = parent ? parent->depth + 1 : 0;
	m->nparts++;
	return p;
}

/*
 * The first b (n bytes, n > 0) in [p, e), as memmem() finds it, or NULL:
 * sixteen places at a time where its first and last bytes are, then the
 * bytes between. A boundary's are rare in a body.
 */
static const char *
find_bytes(const char *p, const char *e, const char *b, size_t n)
{
	const unsigned char *t = (const unsigned char *)p;
	size_t len = (size_t)(e - p), end, i = 0;

	if (len < n)
		return NULL;
	end = len - (n - 1);
#ifdef __SSE2__
	const __m128i f0 = _mm_set1_epi8(b[0]), f1 = _mm_set1_epi8(b[n - 1]);

	for (; i + (n - 1) + 16 <= len; i += 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_and_si128(
		    _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(t + i)),
		    f0), _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)
		    (t + i + n - 1)), f1)));

		for (; m != 0; m &= m - 1) {
			size_t j = i + (size_t)__builtin_ctz(m);

			if (memcmp(p + j, b, n) == 0)
				return p + j;
		}
	}
#endif
	for (; i < end; i++)
		if (t[i] == (unsigned char)b[0] &&
		    t[i + n - 1] == (unsigned char)b[n - 1] &&
		    memcmp(p + i, b, n) == 0)
			return p + i;
	return NULL;
}

/*
 * Finds the next delimiter line "--boundary" at or after p (at a line
 * start). Sets *close for "--boundary--" and *after to the start of the
 * next line. Returns the start of the delimiter line, or NULL.
 */
static const char *
find_delim(const char *p, const char *e, const char *b, size_t blen,
    int *close, const char **after)
{
	const char *q = p, *t, *le;

	while (q < e && (q = find_bytes(q, e, b, blen)) != NULL) {
		if (q - p < 2 || q[-1] != '-' || q[-2] != '-' ||
		    (q - 2 != p && q[-3] != '\n')) {
			q += blen;
			continue;
		}
		t = q + blen;
		*close = e - t >= 2 && t[0] == '-' && t[1] == '-';
		if (*close)
			t += 2;
		le = line_end(t, e);
		/* Only blanks may follow (transport padding). */
		for (; t < le && (is_wsp(*t) || *t == '\r'); t++)
			;
		if (t != le && !*close) {
			q += blen;
			continue;
		}
		*after = le < e ? le + 1 : e;
		return q - 2;
	}
	return NULL;
}

/* A boundary for a multipart that declares none that occurs. */
static const char *
guess_boundary(struct mime *m, const char *p, const char *e, size_t *blen)
{
	const char *le, *t, *ls;
	size_t n, scanned = 0;

	for (ls = p; ls < e && scanned < 200; ls = le < e ? le + 1 : e,
	    scanned++) {
		le = line_end(ls, e);
		t = le;
		if (t > ls && t[-1] == '\r')
			t--;
		n = (size_t)(t - ls);
		if (n < 4 || n > 200 || ls[0] != '-' || ls[1] != '-' ||
		    memchr(ls, ' ', n) != NULL)
			continue;
		/* It must occur again, at a line start. */
		if (le < e && memmem(le, (size_t)(e - le), ls, n) == NULL) {
			/* Maybe it is the close line of its own boundary. */
			continue;
		}
		if (n >= 6 && t[-1] == '-' && t[-2] == '-')
			n -= 2;
		*blen = n - 2;
		return arena_strndup(m->a, ls + 2, n - 2);
	}
	return NULL;
}

static void
parse_multipart(struct mime *m, struct mime_part *part, const char *p,
    const char *e, int depth)
{
	const char *b = part->boundary, *d, *after, *start, *end;
	struct mime_part **link = &part->child, *c;
	size_t blen = b ? strlen(b) : 0;
	int close = 0;

	d = blen ? find_delim(p, e, b, blen, &close, &after) : NULL;
	if (d == NULL) {
		if ((b = guess_boundary(m, p, e, &blen)) != NULL) {
			d = find_delim(p, e, b, blen, &close, &after);
			part->boundary = b;
			part->flags |= MIME_F_GUESSED;
		}
	}
	if (d == NULL) {
		/* Read the whole thing as one text body. */
		part->flags |= MIME_F_NOBOUNDARY;
		part->type = "text/plain";
		return;
	}
	if (d > p) {
		part->preamble = p;
		part->preamblelen = (size_t)(d - p);
	}
	while (d != NULL && !close) {
		start = after;
		d = find_delim(start, e, b, blen, &close, &after);
		end = d ? d : e;
		/* The line break before a delimiter belongs to it. */
		if (d != NULL && end > start && end[-1] == '\n')
			end--;
		if (d != NULL && end > start && end[-1] == '\r')
			end--;
		if (m->nparts >= MIME_MAX_PARTS) {
			part->flags |= MIME_F_TRUNCATED;
			return;
		}
		c = part_new(m, part);
		*link = c;
		link = &c->next;
		parse_entity(m, c, start, end, depth + 1);
	}
	if (d == NULL)
		part->flags |= MIME_F_UNCLOSED;
}

/*
 * Does part have a field of MIME's own (Content-*, MIME-Version)? A
 * part of a multipart without one, when it starts with "Name: value"
 * lines, is text a mailer wrote with no empty line after the
 * delimiter ("Reason: 550 5.1.1 ..."): its body, not its header.
 */
static int
has_mime_field(const struct mime_part *part)
{
	size_t i;

	for (i = 0; i < part->nhdrs; i++)
		if (strncasecmp(part->hdrs[i].name, "content-", 8) == 0 ||
		    strcasecmp(part->hdrs[i].name, "mime-version") == 0)
			return 1;
	return 0;
}

static void
parse_entity(struct mime *m, struct mime_part *part, const char *p,
    const char *e, int depth)
{
	const struct mime_header *h;
	const char *body, *t, *s;
	size_t i, n;

	body = parse_headers(m, p, e, part->parent == NULL ||
	    (part->parent->type != NULL &&
	    strncmp(part->parent->type, "multipart/", 10) != 0),
	    &part->hdrs, &part->nhdrs);
	if (part->nhdrs > 0 && part->parent != NULL &&
	    part->parent->type != NULL &&
	    strncmp(part->parent->type, "multipart/", 10) == 0 &&
	    !has_mime_field(part)) {
		part->hdrs = NULL;
		part->nhdrs = 0;
		body = p;
	}
	part->raw = body;
	part->rawlen = (size_t)(e - body);

	part->type = part->parent && part->parent->type &&
	    strcmp(part->parent->type, "multipart/digest") == 0 ?
	    "message/rfc822" : "text/plain";
	if ((h = mime_header(part, "content-type")) != NULL) {
		for (t = h->value, i = 0; i < h->len && t[i] != ';' &&
		    !is_wsp(t[i]); i++)
			;
		if (i > 2 && memchr(t, '/', i) != NULL)
			part->type = lower_dup(m->a, t, i);
		if (strncmp(part->type, "multipart/", 10) == 0)
			part->boundary = mime_param(m, h->value, h->len,
			    "boundary");
		if ((s = mime_param(m, h->value, h->len, "charset")) != NULL)
			part->charset = lower_dup(m->a, s, strlen(s));
		if ((s = mime_param(m, h->value, h->len, "report-type")) !=
		    NULL)
			part->report_type = lower_dup(m->a, s, strlen(s));
	}
	if ((h = mime_header(part, "content-transfer-encoding")) != NULL) {
		if (strncasecmp(h->value, "base64", 6) == 0)
			part->cte = CTE_BASE64;
		else if (strncasecmp(h->value, "quoted-printable", 16) == 0)
			part->cte = CTE_QP;
	}
	if (depth >= MIME_MAX_DEPTH) {
		part->flags |= MIME_F_TRUNCATED;
		return;
	}
	if (strncmp(part->type, "multipart/", 10) == 0) {
		parse_multipart(m, part, body, e, depth);
		return;
	}
	if (strcmp(part->type, "message/rfc822") == 0 ||
	    strcmp(part->type, "message/global") == 0 ||
	    strcmp(part->type, "text/rfc822-headers") == 0 ||
	    strcmp(part->type, "text/rfc822-header") == 0 ||
	    strcmp(part->type, "message/global-headers") == 0 ||
	    strcmp(part->type, "message/rfc822-headers") == 0) {
		if (m->nparts >= MIME_MAX_PARTS) {
			part->flags |= MIME_F_TRUNCATED;
			return;
		}
		s = cte_decode(m, part->cte, body, part->rawlen, &n);
		part->child = part_new(m, part);
		parse_entity(m, part->child, s, s + n, depth + 1);
	}
}

/*
 * A message whose lines end in CR alone (an old Macintosh's, or a
 * gateway's that dropped the LFs) has no line for the parser: a copy
 * with LF for CR, in a buffer of the parser's own (it outlives the
 * arena's resets, as the caller's buffer would), else msg itself.
 */
static const char *
cr_lines(struct mime *m, const char *msg, size_t len)
{
	size_t i;

	if (len == 0 || memchr(msg, '\n', len) != NULL ||
	    memchr(msg, '\r', len) == NULL)
		return msg;
	if (len > m->lfsz) {
		free(m->lf);
		m->lf = xmalloc(len);
		m->lfsz = len;
	}
	for (i = 0; i < len; i++)
		m->lf[i] = msg[i] == '\r' ? '\n' : msg[i];
	return m->lf;
}

struct mime_part *
mime_parse(struct mime *m, const char *msg, size_t len)
{
	struct mime_part *root;

	msg = cr_lines(m, msg, len);
	arena_reset(m->a);
	m->nparts = 0;
	root = part_new(m, NULL);
	parse_entity(m, root, msg, msg + len, 0);
	return root;
}
