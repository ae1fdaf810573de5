/*
 * phrases.c -- many phrases, each top-level branch prefiltered
 *
 * See phrases.h. The branches are found by a small scan over the
 * pattern text that skips escapes and classes; a branch's need is
 * prefilter_need()'s. Splitting a branch's leading group is sound: the
 * group's alternatives, each followed by the rest of the branch, match
 * what the branch matches.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "phrases.h"
#include "prefilter.h"
#include "xalloc.h"

struct phrases {
	pcre2_code		**re;		/* one a branch */
	size_t			  nre;
	int			  jit;		/* every branch JIT-compiled */
	struct prefilter	 *pf;
	struct prefilter_need	**needs;	/* one a branch, or NULL */
};

/*
 * Where the group or class at p ends, or at the end of the branch at p
 * (depth 0: the '|' or end that closes it): the offset of the byte
 * after it. Escapes and classes are skipped, so a '|' or ')' in them
 * does not count.
 */
static size_t
scan_to(const char *src, size_t from, int group)
{
	const char *p;
	int depth = 0;

	for (p = src + from; *p != '\0'; p++) {
		if (*p == '\\') {
			if (p[1] != '\0')
				p++;
		} else if (*p == '[') {
			/* A ']' first in a class is a member. */
			p += p[1] == '^' ? 2 : 1;
			if (*p == ']')
				p++;
			while (*p != '\0' && *p != ']')
				p += *p == '\\' && p[1] != '\0' ? 2 : 1;
			if (*p == '\0')
				break;
		} else if (*p == '(')
			depth++;
		else if (*p == ')') {
			if (--depth == 0 && group)
				return (size_t)(p - src) + 1;
			if (depth < 0)
				break;
		} else if (*p == '|' && depth == 0 && !group)
			break;
	}
	return (size_t)(p - src);
}

#define PH_MAXBRANCH	1024	/* in all */

/* Compiles pattern text [b, b + n) as the next branch; 0 on error. */
static int
add_one(struct phrases *g, const char *b, size_t n,
    struct prefilter_need **needs)
{
	char *t = xstrndup(b, n);
	pcre2_code *re;
	int err;
	PCRE2_SIZE off;

	if (g->nre == PH_MAXBRANCH || (re = pcre2_compile((PCRE2_SPTR)t,
	    PCRE2_ZERO_TERMINATED, PCRE2_CASELESS, &err, &off, NULL)) == NULL) {
		free(t);
		return 0;
	}
	if (pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) != 0)
		g->jit = 0;
	needs[g->nre] = prefilter_need(t);
	g->re[g->nre++] = re;
	free(t);
	return 1;
}

/*
 * The need of "(?:" alternatives [a, ae) ")" then the rest of the
 * branch: NULL when the walk cannot tell one.
 */
static struct prefilter_need *
lead_need(const char *a, size_t an, const char *rest)
{
	char *t = xasprintf("(?:%.*s)%s", (int)an, a, rest);
	struct prefilter_need *pn = prefilter_need(t);

	free(t);
	return pn;
}

/*
 * Adds, one branch each, the alternatives of the group [inner, inner +
 * ilen) that a branch opens with, each preceded by lead (a "\\b" before
 * the group, or nothing) and followed by the rest of the branch: when
 * there are no more than PH_MAXSPLIT of them and each has a need of its
 * own. -1 when they do not, without adding anything; else 1, or 0 on
 * error.
 */
#define PH_MAXSPLIT	48

static int
add_each(struct phrases *g, const char *lead, const char *inner,
    const char *rest, struct prefilter_need **needs)
{
	struct prefilter_need *pn;
	size_t start, end, k = 0, at[PH_MAXSPLIT + 1];
	char *one;
	int ok = 1;

	for (start = 0;; start = end + 1) {
		end = scan_to(inner, start, 0);
		if (k == PH_MAXSPLIT || (pn = lead_need(inner + start,
		    end - start, rest)) == NULL)
			return -1;
		free(pn);
		at[k++] = start;
		if (inner[end] != '|')
			break;
	}
	at[k] = end + 1;
	for (size_t i = 0; i < k && ok; i++) {
		one = xasprintf("%s(?:%.*s)%s", lead, (int)(at[i + 1] - 1 -
		    at[i]), inner + at[i], rest);
		ok = add_one(g, one, strlen(one), needs);
		free(one);
	}
	return ok;
}

/*
 * Adds the branch [b, b + n). One that opens with a group of
 * alternatives (after a "\\b", or not) is split:
 *
 * - when the branch has a need as a whole, into one branch for each
 *   alternative, if each then has a need of its own. The need of the
 *   whole is the union of the alternatives' words ("sender", "reply-to",
 *   "your", "account", "address", "user" ...), and a reply holding any
 *   one of them ran the whole alternation; split, a reply runs only the
 *   alternatives whose words it holds;
 * - when it has none, as a literal set holds only so many literals
 *   (prefilter.h) ("(?:Absender|expediteur|...|your account ...) ..."),
 *   into several branches, each with as many of the group's
 *   alternatives as leave it a need, so that a reply holding none of
 *   their words runs none of them.
 */
static int
add_branch(struct phrases *g, const char *b, size_t n,
    struct prefilter_need **needs)
{
	struct prefilter_need *pn;
	char *t = xstrndup(b, n), *rest, *inner, *grp;
	const char *lead;
	size_t ge, start, end, first, last, ln;
	int ok = 1, has, whole, alone;

	ln = strncmp(t, "\\b(?:", 5) == 0 ? 2 : 0;
	lead = ln ? "\\b" : "";
	whole = (pn = prefilter_need(t)) != NULL;
	free(pn);
	if (strncmp(t + ln, "(?:", 3) != 0 ||
	    (ge = scan_to(t, ln, 1)) < ln + 4 || t[ge - 1] != ')') {
		free(t);
		return add_one(g, b, n, needs);
	}
	inner = t + ln + 3;
	t[ge - 1] = '\0';
	rest = t + ge;
	/*
	 * Not a group that is repeated or optional as a whole ("(?:a|b){2}"),
	 * nor one with an empty alternative ("(?:a|b|)").
	 */
	if (*rest == '{' || *rest == '*' || *rest == '+' || *rest == '?' ||
	    *inner == '|' || strstr(inner, "||") != NULL ||
	    (*inner != '\0' && inner[strlen(inner) - 1] == '|' &&
	    (strlen(inner) < 2 || inner[strlen(inner) - 2] != '\\'))) {
		free(t);
		return add_one(g, b, n, needs);
	}
	/* The rest must not be what the walk cannot read. */
	if ((pn = lead_need("zzz", 3, rest)) == NULL) {
		free(t);
		return add_one(g, b, n, needs);
	}
	free(pn);
	if (whole) {
		ok = add_each(g, lead, inner, rest, needs);
		free(t);
		return ok >= 0 ? ok : add_one(g, b, n, needs);
	}
	for (first = 0; ok && inner[first] != '\0'; first = last) {
		/*
		 * Alternatives [first, last) while they leave a need; one
		 * that has none alone is a branch by itself, itself split
		 * if it opens with a group: "(?:votre|ton|ta) (?:compte|...)"
		 * has no need ("ta" is too short a literal), "(?:votre|ton
		 * |ta) " has one.
		 */
		last = end = first;
		alone = 0;
		do {
			start = end + (end > first);
			end = scan_to(inner, start, 0);
			pn = lead_need(inner + first, end - first, rest);
			has = pn != NULL;
			free(pn);
			if (has || last == first)
				last = end;
			if (!has && start == first)
				alone = 1;
		} while (has && inner[end] != '\0');
		if (alone)
			grp = xasprintf("%s%.*s%s", lead, (int)(last - first),
			    inner + first, rest);
		else
			grp = xasprintf("%s(?:%.*s)%s", lead, (int)(last - first),
			    inner + first, rest);
		ok = alone ? add_branch(g, grp, strlen(grp), needs) :
		    add_one(g, grp, strlen(grp), needs);
		free(grp);
		if (inner[last] == '|')
			last++;
	}
	free(t);
	return ok;
}

/*
 * May src be cut into its branches? Not when it holds what the cutting
 * scan does not read, or what ties one branch to another: quoting
 * (\Q...\E), an option change that holds to the end of its group
 * ((?x), (?i), (?-i); a scoped "(?-i:...)" is fine), back references,
 * POSIX classes ([[:alpha:]]), or parentheses that do not balance
 * (outside classes: "[)\],;]" holds a member, not a group's end).
 * Such a pattern is one branch, as written.
 */
int
phrases_splittable(const char *src)
{
	const char *p;
	int depth = 0;

	for (p = src; *p != '\0'; p++) {
		if (*p == '\\') {
			if (p[1] == 'Q' || p[1] == 'g' || p[1] == 'k' ||
			    (p[1] >= '1' && p[1] <= '9'))
				return 0;
			if (p[1] != '\0')
				p++;
		} else if (*p == '[') {
			/*
			 * A class: its brackets and parentheses are members
			 * ("[)\],;]"), as scan_to() reads them.
			 */
			p += p[1] == '^' ? 2 : 1;
			if (*p == ']')
				p++;
			for (; *p != '\0' && *p != ']'; p++)
				if (*p == '[' && p[1] == ':')
					return 0;
				else if (*p == '\\' && p[1] != '\0')
					p++;
			if (*p == '\0')
				return 0;
		} else if (*p == '(') {
			/* "(?-i)" holds to the end of its group; "(?-i:x)" not */
			if (p[1] == '?' && (isalpha((unsigned char)p[2]) ||
			    p[2] == '-' || p[2] == '^') &&
			    p[2 + strspn(p + 2, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ-^")] != ':')
				return 0;
			depth++;
		} else if (*p == ')' && --depth < 0)
			return 0;
	}
	return depth == 0;
}

/* Compiles the branches of src into g->re from g->nre on; 0 on error. */
static int
add_branches(struct phrases *g, const char *src,
    struct prefilter_need **needs)
{
	size_t start = 0, end;

	if (!phrases_splittable(src))
		return add_one(g, src, strlen(src), needs);

	for (;;) {
		end = scan_to(src, start, 0);
		if (!add_branch(g, src + start, end - start, needs))
			return 0;
		if (src[end] != '|')
			return 1;
		start = end + 1;
	}
}

struct phrases *
phrases_build(const char *const *patterns, size_t n)
{
	struct prefilter_need *needs[PH_MAXBRANCH];
	struct phrases *g = xcalloc(1, sizeof(*g));
	size_t i;
	int ok = 1;

	g->re = xcalloc(PH_MAXBRANCH, sizeof(*g->re));
	g->jit = 1;	/* until a branch is not */
	for (i = 0; i < n && ok; i++)
		ok = add_branches(g, patterns[i], needs);
	g->needs = xcalloc(g->nre ? g->nre : 1, sizeof(*g->needs));
	memcpy(g->needs, needs, g->nre * sizeof(*needs));
	if (ok)
		g->pf = prefilter_build((const struct prefilter_need *const *)
		    needs, g->nre);
	if (!ok) {
		phrases_free(g);
		return NULL;
	}
	return g;
}

void
phrases_free(struct phrases *g)
{
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < g->nre; i++) {
		pcre2_code_free(g->re[i]);
		if (g->needs != NULL)
			free(g->needs[i]);
	}
	free(g->re);
	free(g->needs);
	prefilter_free(g->pf);
	free(g);
}

size_t
phrases_scratch_size(const struct phrases *g)
{
	return prefilter_scratch_size(g->pf);
}

int
phrases_match(const struct phrases *g, const char *text, size_t len,
    void *scratch, pcre2_match_data *md)
{
	const uint8_t *out;

	out = prefilter_scan(g->pf, text, len, scratch);
	return phrases_match_scanned(g, out, text, len, md);
}

size_t
phrases_count(const struct phrases *g)
{
	return g->nre;
}

const struct prefilter_need *
phrases_need(const struct phrases *g, size_t i)
{
	return g->needs[i];
}

/*
 * The branches the scan lets through are few of hundreds: memchr()
 * finds the next one many bytes at a time.
 */
int
phrases_match_scanned(const struct phrases *g, const uint8_t *miss,
    const char *text, size_t len, pcre2_match_data *md)
{
	const uint8_t *p = miss, *e = miss + g->nre;

	while (p < e && (p = memchr(p, 0, (size_t)(e - p))) != NULL) {
		/* The same answers: pcre2_match() runs the JIT code. */
		if ((g->jit ? pcre2_jit_match(g->re[p - miss],
		    (PCRE2_SPTR)text, len, 0, 0, md, NULL) :
		    pcre2_match(g->re[p - miss], (PCRE2_SPTR)text, len, 0, 0,
		    md, NULL)) >= 0)
			return 1;
		p++;
	}
	return 0;
}

int
phrases_match_all(const struct phrases *g, const char *text, size_t len,
    pcre2_match_data *md)
{
	size_t i;

	for (i = 0; i < g->nre; i++)
		if (pcre2_match(g->re[i], (PCRE2_SPTR)text, len, 0, 0, md,
		    NULL) >= 0)
			return 1;
	return 0;
}

struct phrases_handle {
	const struct phrases	*g;
	void			*scratch;	/* of a scan */
	pcre2_match_data	*md;
};

struct phrases_handle *
phrases_handle_new(const struct phrases *g)
{
	struct phrases_handle *h;

	if (g == NULL || (h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->g = g;
	h->scratch = xmalloc(phrases_scratch_size(g));
	/* Whether it matches is all we ask: one pair of offsets will do. */
	if ((h->md = pcre2_match_data_create(1, NULL)) == NULL) {
		phrases_handle_free(h);
		return NULL;
	}
	return h;
}

void
phrases_handle_free(struct phrases_handle *h)
{
	if (h == NULL)
		return;
	pcre2_match_data_free(h->md);
	free(h->scratch);
	free(h);
}

int
phrases_handle_match(struct phrases_handle *h, const char *text, size_t len)
{
	return phrases_match(h->g, text, len, h->scratch, h->md);
}

const struct phrases *
phrases_handle_set(const struct phrases_handle *h)
{
	return h->g;
}

int
phrases_handle_match_scanned(struct phrases_handle *h, const uint8_t *miss,
    const char *text, size_t len)
{
	return phrases_match_scanned(h->g, miss, text, len, h->md);
}

int
phrases_handle_match_all(struct phrases_handle *h, const char *text,
    size_t len)
{
	return phrases_match_all(h->g, text, len, h->md);
}
