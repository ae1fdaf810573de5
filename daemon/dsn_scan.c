/*
 * dsn_scan.c -- the scanning helpers of the bounce parser
 *
 * Lines, literals (case-sensitive, case-insensitive, across folded
 * white space) and e-mail addresses in a [s, e) span of a bounce's
 * text, and the report's list of recipients. Copies go into the arena
 * passed in; nothing here allocates otherwise or keeps state.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "ascii.h"
#include "dsn.h"
#include "dsn_impl.h"
#include "lineio.h"
#include "mime.h"
#include "xalloc.h"

/* --- small helpers --------------------------------------------------- */

int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

const char *
line_end(const char *p, const char *e)
{
	return ascii_find_byte(p, e, '\n');
}

const char *
folded_end(const char *p, const char *e)
{
	const char *le = line_end(p, e), *q;
	size_t ind = 0, i;

	while (p + ind < le && is_wsp((unsigned char)p[ind]))
		ind++;
	while (le < e) {
		q = le + 1;
		if (q == e || !is_wsp((unsigned char)*q))
			break;
		if (!has_alnum(q, line_end(q, e)))
			break;
		/* a line indented less is the next item, not this one's */
		for (i = 0; i < ind && q + i < e && is_wsp((unsigned char)q[i]);
		    i++)
			;
		if (i < ind)
			break;
		le = line_end(q, e);
	}
	return le;
}

/*
 * Is lit in [s, s + n)? Its first byte as given or in upper case (a
 * capital stays one), the rest in either case.
 */
int
has_ci(const char *s, size_t n, const char *lit)
{
	return s != NULL && ascii_find_ci(s, n, lit, strlen(lit), 1) < n;
}

/*
 * The phrase lists has_any_ci() has seen, each with its table: built
 * at a list's first use, under wm_lock, and kept to the end; looked up
 * without the lock (an entry is complete before its slot is set).
 */
#define WM_BITS		12
#define WM_LISTS	128	/* slots, for 64 lists */
#define WM_PHRASES	64	/* a bit each in zmask */

struct wm {
	const char *const	*list;
	size_t			 n;		/* phrases */
	size_t			 m;		/* the window: the shortest */
	int			 plain;		/* one phrase at a time */
	size_t			 len[WM_PHRASES];
	/*
	 * How far the window may move on when its last two bytes (any
	 * case) hash here: no phrase holds them nearer the end of its
	 * first m bytes. 0 where a phrase may end its window there:
	 * zmask[zslot[h]] has a bit for each such phrase.
	 */
	unsigned char		 shift[1 << WM_BITS];
	unsigned char		 zslot[1 << WM_BITS];
	uint64_t		 zmask[WM_PHRASES + 1];
};

/* Open addressing by the list's address; an entry, once set, stays. */
static _Atomic(struct wm *) wm_tab[WM_LISTS];
static size_t wm_count;		/* under wm_lock */
static pthread_mutex_t wm_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Of two bytes in either case: bytes that ascii_lower() makes one stay
 * one with the 0x20 bit set (so do a few others: "@" and "`"). A shift
 * and an exclusive or: the step of a window waits on it, and the pairs
 * it does not tell apart cost no more than a look at zmask.
 */
static unsigned
wm_hash(unsigned char a, unsigned char b)
{
	return ((unsigned)(a | 0x20) << 5 ^ (unsigned)(b | 0x20)) &
	    ((1u << WM_BITS) - 1);
}

static struct wm *
wm_build(const char *const *list)
{
	struct wm *w = xcalloc(1, sizeof(*w));
	size_t i, q, nz = 0;
	unsigned h;

	w->list = list;
	w->m = 255;
	for (i = 0; list[i] != NULL; i++) {
		if (i == WM_PHRASES) {
			w->plain = 1;
			return w;
		}
		w->len[i] = strlen(list[i]);
		if (w->len[i] < w->m)
			w->m = w->len[i];
	}
	w->n = i;
	/* A phrase of two bytes or fewer leaves no window worth moving. */
	if (w->m < 3) {
		w->plain = 1;
		return w;
	}
	memset(w->shift, (int)(w->m - 1), sizeof(w->shift));
	for (i = 0; i < w->n; i++) {
		for (q = 0; q + 1 < w->m; q++) {
			h = wm_hash((unsigned char)list[i][q],
			    (unsigned char)list[i][q + 1]);
			if (w->shift[h] > w->m - 2 - q)
				w->shift[h] = (unsigned char)(w->m - 2 - q);
		}
		if (w->zslot[h] == 0)
			w->zslot[h] = (unsigned char)++nz;
		w->zmask[w->zslot[h]] |= UINT64_C(1) << i;
	}
	return w;
}

static size_t
wm_slot(const char *const *list)
{
	return ((uintptr_t)list >> 3) % WM_LISTS;
}

/* The table of list; NULL when too many lists have been seen. */
static const struct wm *
wm_get(const char *const *list)
{
	struct wm *w;
	size_t i;

	for (i = wm_slot(list); (w = atomic_load_explicit(&wm_tab[i],
	    memory_order_acquire)) != NULL; i = (i + 1) % WM_LISTS)
		if (w->list == list)
			return w;
	pthread_mutex_lock(&wm_lock);
	for (i = wm_slot(list); (w = atomic_load_explicit(&wm_tab[i],
	    memory_order_relaxed)) != NULL; i = (i + 1) % WM_LISTS)
		if (w->list == list)
			break;
	/* Half the slots at most are used: a probe ends at a free one. */
	if (w == NULL && wm_count < WM_LISTS / 2) {
		w = wm_build(list);
		atomic_store_explicit(&wm_tab[i], w, memory_order_release);
		wm_count++;
	}
	pthread_mutex_unlock(&wm_lock);
	return w;
}

/* Does phrase lit (k bytes) start at t, as has_ci() finds it? */
static int
phrase_at(const unsigned char *t, const char *lit, size_t k)
{
	unsigned char lo = (unsigned char)lit[0];

	return (t[0] == lo || t[0] == (unsigned char)toupper(lo)) &&
	    ascii_eq_ci((const char *)t + 1, lit + 1, k - 1);
}

/*
 * Does a phrase that may end the window at i (its last two bytes hash
 * to h) start at i + 1 - m?
 */
static int
wm_check(const struct wm *w, const unsigned char *t, size_t n, size_t i,
    unsigned h)
{
	size_t p = i + 1 - w->m, j;
	uint64_t z;

	for (z = w->zmask[w->zslot[h]]; z != 0; z &= z - 1) {
		j = (size_t)__builtin_ctzll(z);
		if (w->len[j] <= n - p && phrase_at(t + p, w->list[j],
		    w->len[j]))
			return 1;
	}
	return 0;
}

/*
 * The windows that end at i and on, below stop, that the shifts let
 * through: 1 if a phrase starts in one of them. *ip: where the walk
 * stopped.
 */
static int
wm_walk(const struct wm *w, const unsigned char *t, size_t n, size_t *ip,
    size_t stop)
{
	size_t i = *ip, sh;
	unsigned h;

	while (i < stop) {
		h = wm_hash(t[i - 1], t[i]);
		if ((sh = w->shift[h]) == 0) {
			if (wm_check(w, t, n, i, h))
				return 1;
			sh = 1;
		}
		i += sh;
	}
	*ip = i;
	return 0;
}

int
has_any_ci(const char *s, size_t n, const char *const *list)
{
	const unsigned char *t = (const unsigned char *)s;
	const struct wm *w;
	size_t i, k, mid, s0, s1;
	unsigned h0, h1;

	if (s == NULL)
		return 0;
	if ((w = wm_get(list)) == NULL || w->plain) {
		for (i = 0; list[i] != NULL; i++)
			if (has_ci(s, n, list[i]))
				return 1;
		return 0;
	}
	/*
	 * i: the last byte of a window [i + 1 - m, i]. Each step waits on
	 * the loads of the one before; on a long text two windows walk
	 * side by side, k from the middle on, and their loads overlap.
	 */
	i = w->m - 1;
	if (n < 8 * w->m)
		return wm_walk(w, t, n, &i, n);
	mid = n / 2;
	for (k = mid; i < mid && k < n; i += s0, k += s1) {
		h0 = wm_hash(t[i - 1], t[i]);
		h1 = wm_hash(t[k - 1], t[k]);
		s0 = w->shift[h0];
		s1 = w->shift[h1];
		if (s0 == 0) {
			if (wm_check(w, t, n, i, h0))
				return 1;
			s0 = 1;
		}
		if (s1 == 0) {
			if (wm_check(w, t, n, k, h1))
				return 1;
			s1 = 1;
		}
	}
	return wm_walk(w, t, n, &i, mid) || wm_walk(w, t, n, &k, n);
}

/* Is the case-sensitive literal lit in [s, s + n)? */
int
has_cs(const char *s, size_t n, const char *lit)
{
	return s != NULL && memmem(s, n, lit, strlen(lit)) != NULL;
}

/*
 * Where lit starts in [s, s + n), case-insensitive, each space of lit
 * matching any run of white space, newlines included (a folded line);
 * *endp is set past the match. NULL when it is not there.
 */
const char *
find_ws_ci(const char *s, size_t n, const char *lit, const char **endp)
{
	const char *p, *q, *e = s + n, *l;
	/* Its first two bytes are found together unless one is a space. */
	size_t d = lit[0] != ' ' && lit[0] != '\0' && lit[1] != ' ' &&
	    lit[1] != '\0', c;

	if (s == NULL)
		return NULL;
	for (p = s; p < e; p++) {
		if (*lit != ' ' && *lit != '\0') {	/* to its first byte */
			c = ascii_next_pair((const unsigned char *)s,
			    (size_t)(p - s), n - d, n, (unsigned char)lit[0],
			    (unsigned char)lit[d], d);
			if (c == n - d)
				break;
			p = s + c;
		}
		for (q = p, l = lit; *l != '\0' && q < e; l++) {
			if (*l == ' ') {
				if (!isspace((unsigned char)*q))
					break;
				while (q < e && isspace((unsigned char)*q))
					q++;
			} else if (tolower((unsigned char)*q) ==
			    tolower((unsigned char)*l))
				q++;
			else
				break;
		}
		if (*l == '\0') {
			if (endp != NULL)
				*endp = q;
			return p;
		}
	}
	return NULL;
}

static int
local_char(int c)
{
	return isalnum(c) || (c != 0 && strchr(".!#$%&'*+/=?^_`{|}~-", c));
}

static int
domain_char(int c)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_';
}

/*
 * The start of the local part that ends at `at` (after p): back over
 * its ASCII characters and its UTF-8 letters (utf8_addr_char()), but
 * not over an ideograph before an ASCII letter ("宛先ann@"), nor a
 * quotation mark or a replaced byte.
 */
static const char *
local_back(const char *p, const char *at)
{
	const char *l = at, *s;
	int wide;

	while (l > p) {
		if ((unsigned char)l[-1] < 0x80) {
			if (!local_char((unsigned char)l[-1]))
				break;
			l--;
			continue;
		}
		for (s = l - 1; s > p && l - s < 4 &&
		    ((unsigned char)*s & 0xc0) == 0x80; s--)
			;
		if (utf8_addr_char(s, l, &wide) != (size_t)(l - s) ||
		    (wide && l < at && isalnum((unsigned char)*l)))
			break;
		l = s;
	}
	return l;
}

/*
 * The end of the domain that starts at d (before e): its ASCII
 * characters and UTF-8 letters, but no ideograph right after an ASCII
 * letter ("example.jp宛の"). Sets *dot when it holds a dot.
 */
static const char *
domain_fwd(const char *d, const char *e, int *dot)
{
	const char *r = d;
	size_t k;
	int wide;

	while (r < e) {
		if ((unsigned char)*r < 0x80) {
			if (!domain_char((unsigned char)*r))
				break;
			*dot |= *r == '.';
			r++;
			continue;
		}
		if ((k = utf8_addr_char(r, e, &wide)) == 0 ||
		    (wide && r > d && isalnum((unsigned char)r[-1])))
			break;
		r += k;
	}
	return r;
}

/*
 * Finds the next address at or after p: local@domain, the domain with a
 * dot or a [literal]. Sets [*as, *ae); returns 1, or 0 when none.
 */
int
addr_next(const char *p, const char *e, const char **as, const char **ae)
{
	const char *at, *l, *r;
	int dot;

	while (p < e && (at = memchr(p, '@', (size_t)(e - p))) != NULL) {
		l = local_back(p, at);
		/* A quoted local part: "john doe"@example.com */
		if (l == at && at > p && at[-1] == '"') {
			const char *q = at - 1;

			while (q > p && q[-1] != '"' && q[-1] != '\n')
				q--;
			if (q > p && q[-1] == '"')
				l = q - 1;
		}
		while (l < at && *l == '.')
			l++;
		r = at + 1;
		dot = 0;
		if (r < e && *r == '[') {
			while (r < e && *r != ']' && r - at < 64)
				r++;
			if (r < e && *r == ']')
				r++, dot = 1;
		} else {
			r = domain_fwd(r, e, &dot);
			while (r > at + 1 && (r[-1] == '.' || r[-1] == '-'))
				r--;
		}
		/* Exchange quotes an address in apostrophes: 'ann@example.org' */
		if (*l == '\'' && r < e && *r == '\'')
			l++;
		if (l < at && r > at + 1 && dot && r - l < 256) {
			*as = l;
			*ae = r;
			return 1;
		}
		p = at + 1;
	}
	return 0;
}

/* A lowercase copy of the address in [s, e) (first one found). */
const char *
addr_dup(struct arena *a, const char *s, const char *e)
{
	const char *as, *ae;

	if (!addr_next(s, e, &as, &ae))
		return NULL;
	return lower_dup(a, as, (size_t)(ae - as));
}

char *
lower_dup(struct arena *a, const char *s, size_t n)
{
	char *d = arena_strndup(a, s, n);
	size_t i;

	for (i = 0; d[i] != '\0'; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	return d;
}

int
addr_eq(const char *a, const char *s, size_t n)
{
	return strlen(a) == n && strncasecmp(a, s, n) == 0;
}

/* Strips a DSN type prefix ("rfc822;", "dns;", "smtp;"). */
const char *
after_type(const char *v)
{
	const char *p = v;

	while (isalnum((unsigned char)*p) || *p == '-' || *p == '_')
		p++;
	if (*p == ';' && p > v) {
		p++;
		while (is_wsp(*p))
			p++;
		return p;
	}
	return v;
}

struct dsn_rcpt *
rcpt_add(struct dsn_parser *p, struct dsn_report *rep)
{
	struct dsn_rcpt *r;

	if (rep->nrcpts == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 8;

		r = arena_alloc(p->a, ncap * sizeof(*r));
		if (rep->nrcpts)
			memcpy(r, rep->rcpts, rep->nrcpts * sizeof(*r));
		rep->rcpts = r;
		p->cap = ncap;
	}
	r = &rep->rcpts[rep->nrcpts++];
	memset(r, 0, sizeof(*r));
	r->diag = "";
	return r;
}

int
rcpt_known(const struct dsn_report *rep, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < rep->nrcpts; i++)
		if (addr_eq(rep->rcpts[i].rcpt, s, n))
			return 1;
	return 0;
}

int
has_alnum(const char *s, const char *e)
{
	for (; s < e; s++)
		if (isalnum((unsigned char)*s) || (unsigned char)*s >= 0x80)
			return 1;
	return 0;
}
