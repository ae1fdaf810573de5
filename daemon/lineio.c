/*
 * lineio.c -- read lines of bounded length; check and write UTF-8
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "lineio.h"
#include "xalloc.h"

struct lineio {
	FILE	*fp;
	size_t	 limit;
	char	*buf;		/* limit + 1 */
};

struct lineio *
lineio_open(FILE *fp, size_t limit)
{
	struct lineio *l;

	l = xcalloc(1, sizeof(*l));
	l->fp = fp;
	l->limit = limit;
	l->buf = xmalloc(limit + 1);
	return l;
}

void
lineio_close(struct lineio *l)
{
	if (l == NULL)
		return;
	free(l->buf);
	free(l);
}

const char *
lineio_read(struct lineio *l, size_t *len, int *overlong)
{
	size_t n = 0;
	int c, any = 0;

	*overlong = 0;
	while ((c = getc_unlocked(l->fp)) != EOF) {
		any = 1;
		if (c == '\n')
			break;
		if (n < l->limit)
			l->buf[n++] = (char)c;
		else
			*overlong = 1;
	}
	if (!any)
		return NULL;
	if (n > 0 && l->buf[n - 1] == '\r' && !*overlong)
		n--;
	l->buf[n] = '\0';
	*len = n;
	return l->buf;
}

int
utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str, *e = s + n;

	while (s < e) {
		unsigned c = *s;
		size_t need;
		unsigned min, cp;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1; min = 0x80; cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2; min = 0x800; cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3; min = 0x10000; cp = c & 0x07;
		} else
			return 0;
		if ((size_t)(e - s) <= need)
			return 0;
		for (size_t i = 1; i <= need; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		s += need + 1;
	}
	return 1;
}

size_t
utf8_addr_char(const char *s, const char *e, int *wide)
{
	const unsigned char *d = (const unsigned char *)s;
	unsigned c;
	size_t n, i;

	*wide = 0;
	if (s >= e || d[0] < 0xc2 || d[0] > 0xf4)
		return 0;
	n = d[0] < 0xe0 ? 2 : d[0] < 0xf0 ? 3 : 4;
	if ((size_t)(e - s) < n)
		return 0;
	c = d[0] & (0x3fu >> (n - 1));
	for (i = 1; i < n; i++) {
		if ((d[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (d[i] & 0x3fu);
	}
	if (c < 0xc0 || c == 0xd7 || c == 0xf7 ||
	    (c >= 0x2000 && c < 0x2070) || (c >= 0x3000 && c < 0x3040) ||
	    (c >= 0xfe30 && c < 0xfe70) || (c >= 0xff00 && c < 0xff10) ||
	    (c >= 0xff1a && c < 0xff21) || (c >= 0xff5b && c < 0xff66) ||
	    (c >= 0xfff0 && c < 0x10000) || (n == 3 && c < 0x800) ||
	    (n == 4 && c < 0x10000) || (c >= 0xd800 && c < 0xe000) ||
	    c > 0x10ffff)
		return 0;
	*wide = c >= 0x2e80;
	return n;
}

size_t
utf8_put(char *d, unsigned long c)
{
	if (c < 0x80) {
		d[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		d[0] = (char)(0xc0 | c >> 6);
		d[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		d[0] = (char)(0xe0 | c >> 12);
		d[1] = (char)(0x80 | (c >> 6 & 0x3f));
		d[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | c >> 18);
	d[1] = (char)(0x80 | (c >> 12 & 0x3f));
	d[2] = (char)(0x80 | (c >> 6 & 0x3f));
	d[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* A numeric reference at p ("&#64;", "&#x40;"): see html_entity(). */
static size_t
html_numeric(const char *p, const char *e, char **dp)
{
	const char *q = p + 2;
	unsigned long c = 0;
	int hex, digits = 0;

	if (e - p < 4 || p[1] != '#')
		return 0;
	hex = *q == 'x' || *q == 'X';
	q += hex;
	for (; q < e && digits < 7 && (hex ? isxdigit((unsigned char)*q) :
	    isdigit((unsigned char)*q)); q++, digits++)
		c = c * (hex ? 16 : 10) + (unsigned long)(isdigit(
		    (unsigned char)*q) ? *q - '0' : (*q | 0x20) - 'a' + 10);
	if (digits == 0 || q >= e || *q != ';' || c == 0 || c > 0x10ffff ||
	    (c >= 0xd800 && c < 0xe000))
		return 0;
	*dp += utf8_put(*dp, c);
	return (size_t)(q + 1 - p);
}

size_t
html_entity(const char *p, const char *e, char **dp)
{
	static const struct {
		const char	*name;
		char		 c;
	} named[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&apos;", '\'' }, { "&nbsp;", ' ' },
	};
	size_t i, k;

	if (p >= e || *p != '&')
		return 0;
	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		k = strlen(named[i].name);
		if ((size_t)(e - p) >= k && ascii_eq_ci(p, named[i].name, k)) {
			*(*dp)++ = named[i].c;
			return k;
		}
	}
	return html_numeric(p, e, dp);
}
