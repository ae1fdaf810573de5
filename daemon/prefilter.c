/*
 * prefilter.c -- the literals a pattern needs, and one scan for them all
 *
 * The analysis is a small recursive walk over the text of a PCRE2
 * pattern, not over its compiled form: it knows sequences, groups,
 * alternations, classes, quantifiers and the common escapes, and gives
 * up (no prefilter, the rule is always tried) on anything that could
 * stand for text it cannot see. It never has to be complete, only
 * sound: a literal it reports must be in every text the pattern
 * matches. t/check_prefilter.c holds it to that on crafted patterns
 * and on every test vector of the rule set.
 *
 * The scan finds every pattern's literals at once with one acmatch
 * automaton, then crosses off, per unit, the literal sets that were
 * seen.
 *
 * See also: acmatch.h, rules.c, classify.c.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acmatch.h"
#include "prefilter.h"
#include "xalloc.h"

/*
 * The prefilter of a pattern: sets of lowercase literals such that any
 * text the pattern matches contains at least one literal of every set.
 * Found by a small recursive walk over the pattern. A sequence needs
 * all its elements, so each element gives a set of its own (the walk
 * keeps the LS_SETS best: those whose shortest literal is longest); an
 * alternation needs one of its branches, so it gives one set, the
 * union of each branch's best. Plain characters and escaped
 * punctuation join into runs; classes, dots and escapes like \s end a
 * run; anything made optional by *, + or {0 gives nothing; lookarounds
 * give nothing. Literals shorter than 3 bytes are not kept (but for a
 * few of 2, lit_long()); a pattern left with no set has no prefilter
 * and is always tried.
 *
 * A group that matches nothing but literal text, and a character or
 * such a group made optional by ?, join the run too: the run becomes
 * each of the ways it can be ("(?:mailbox|inbox) (?:is )?full" needs
 * one of "mailbox full", "mailbox is full", "inbox full", "inbox is
 * full", where it needed "mailbox" or "inbox", and "full"). Common
 * words found apart in a reply ("mail", "you", "not") no longer let a
 * pattern through when their phrase is not there. Ways are at most
 * LS_MAX, each at most LS_LEN bytes: past that, the ways so far are a
 * set, and the run starts again at the group. When an alternation's
 * union of ways would be over LS_MAX, its branches are walked again
 * without joining (the words as they are).
 */
#define LS_MAX		96	/* alternatives in a set (one of 70 exists) */
#define WAYS_MAX	16	/* ways a run can be (below) */
#define LS_LEN		32	/* bytes kept of a literal: any part will do */
#define LS_SETS		4	/* sets kept; at most 4 (uneed[]) */
#define UNIT_SETS	2	/* of them, for one of several branches */

struct litset {
	size_t	n;
	size_t	len[LS_MAX];
	char	lit[LS_MAX][LS_LEN];
};

/* Sets that must all be satisfied; best (longest shortest) first. */
struct litcnf {
	size_t		n;
	struct litset	set[LS_SETS];
};

static size_t
ls_min(const struct litset *ls)
{
	size_t i, m = SIZE_MAX;

	for (i = 0; i < ls->n; i++)
		if (ls->len[i] < m)
			m = ls->len[i];
	return ls->n ? m : 0;
}

/*
 * Copies a set, only as much of it as is used: a whole one is about
 * 4 KB, most hold a literal or two, and a pattern's walk copies many.
 */
static void
ls_copy(struct litset *d, const struct litset *s)
{
	size_t j;

	d->n = s->n;
	memcpy(d->len, s->len, s->n * sizeof(s->len[0]));
	for (j = 0; j < s->n; j++)
		memcpy(d->lit[j], s->lit[j], s->len[j]);
}

static void
cnf_copy(struct litcnf *d, const struct litcnf *s)
{
	size_t i;

	d->n = s->n;
	for (i = 0; i < s->n; i++)
		ls_copy(&d->set[i], &s->set[i]);
}

/*
 * Is a literal of n bytes long enough to look for? Three bytes, or two
 * with a bracket or "#" that replies seldom hold ("#4" of "#4.2.1",
 * "(4" of "(421)", "<>"): a shorter one is in most texts and would
 * tell nothing.
 */
static int
lit_long(const char *s, size_t n)
{
	static const char rare[] = "#()<>[]{}";

	return n >= 3 || (n == 2 && (memchr(rare, s[0], sizeof(rare) - 1) !=
	    NULL || memchr(rare, s[1], sizeof(rare) - 1) != NULL));
}

/* Adds a set to a conjunction, keeping the best LS_SETS. */
static void
cnf_add(struct litcnf *c, const struct litset *ls)
{
	size_t i, k, m = ls_min(ls);

	if (ls->n == 0)
		return;
	for (i = 0; i < ls->n; i++)
		if (!lit_long(ls->lit[i], ls->len[i]))
			return;
	for (i = c->n; i > 0 && ls_min(&c->set[i - 1]) < m; i--)
		;
	if (i >= LS_SETS)
		return;
	if (c->n < LS_SETS)
		c->n++;
	for (k = c->n - 1; k > i; k--)
		ls_copy(&c->set[k], &c->set[k - 1]);
	ls_copy(&c->set[i], ls);
}

static void
cnf_run(struct litcnf *c, const char *run, size_t n)
{
	struct litset one;

	if (!lit_long(run, n))
		return;
	/* The middle of a long run is as good as all of it. */
	if (n > LS_LEN) {
		run += (n - LS_LEN) / 2;
		n = LS_LEN;
	}
	one.n = 1;
	one.len[0] = n;
	memcpy(one.lit[0], run, n);
	cnf_add(c, &one);
}

/* Is the atom just ended made optional by the quantifier at p? */
static int
quant_optional(const char *p)
{
	return *p == '?' || *p == '*' || (*p == '{' && p[1] == '0') ||
	    (*p == '{' && p[1] == ',');
}

/* Skips a quantifier (with its lazy or possessive mark) at p. */
static const char *
quant_skip(const char *p)
{
	if (*p == '{') {
		const char *q = p + 1;

		while (*q >= '0' && *q <= '9')
			q++;
		if (*q == ',')
			for (q++; *q >= '0' && *q <= '9'; q++)
				;
		if (*q != '}' || q == p + 1)
			return p;	/* a literal brace */
		p = q + 1;
	} else if (*p == '?' || *p == '*' || *p == '+')
		p++;
	else
		return p;
	if (*p == '?' || *p == '+')
		p++;
	return p;
}

static const char *ls_alt(const char *, struct litcnf *, int,
		    struct litset *, int);

/*
 * The literal text a sequence is at: one run, as long as 256 bytes, or
 * after a group of literal alternatives, each of the ways it can be
 * (multi: "(?:mailbox|inbox) full" is at "mailbox full" or "inbox
 * full"; "user (?:is )?unknown" at "user unknown" or "user is
 * unknown"), each at most LS_LEN bytes, at most LS_MAX of them.
 */
struct runs {
	int		multi;
	size_t		nrun;
	char		run[256];
	struct litset	m;
};

/*
 * Drops from a set each literal that holds another of it: a text with
 * "user is unknown" or "limit exceeded" in it is found by "user is
 * unknown" and "limit" as well without "limit exceeded".
 */
static void
ls_prune(struct litset *ls)
{
	size_t i, j, k;

	for (i = 0, k = 0; i < ls->n; i++) {
		for (j = 0; j < ls->n; j++)
			if (j != i && ls->len[j] <= ls->len[i] &&
			    (ls->len[j] < ls->len[i] || j < i) &&
			    memmem(ls->lit[i], ls->len[i], ls->lit[j],
			    ls->len[j]) != NULL)
				break;
		if (j < ls->n)
			continue;
		ls->len[k] = ls->len[i];
		memmove(ls->lit[k++], ls->lit[i], ls->len[i]);
	}
	ls->n = k;
}

/* Gives the runs to the conjunction as a set, and starts anew. */
static void
runs_flush(struct litcnf *out, struct runs *r)
{
	if (r->multi) {
		ls_prune(&r->m);
		cnf_add(out, &r->m);
	} else
		cnf_run(out, r->run, r->nrun);
	r->multi = 0;
	r->nrun = 0;
}

/*
 * Appends byte c to each way; 0 if the run was full (c is dropped).
 * *cut is set when the ways, too long, went to the conjunction first.
 */
static int
runs_char(struct litcnf *out, struct runs *r, int c, int *cut)
{
	size_t i;

	if (r->multi) {
		for (i = 0; i < r->m.n; i++)
			if (r->m.len[i] == LS_LEN)
				break;
		if (i == r->m.n) {
			for (i = 0; i < r->m.n; i++)
				r->m.lit[i][r->m.len[i]++] = (char)c;
			return 1;
		}
		runs_flush(out, r);
		*cut = 1;
	}
	if (r->nrun == sizeof(r->run))
		return 0;
	r->run[r->nrun++] = (char)c;
	return 1;
}

/* Adds s (n bytes) to set d unless it is there; 0 if d is full. */
static int
ls_put(struct litset *d, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->len[i] == n && memcmp(d->lit[i], s, n) == 0)
			return 1;
	if (d->n == WAYS_MAX)
		return 0;
	d->len[d->n] = n;
	memcpy(d->lit[d->n++], s, n);
	return 1;
}

/*
 * The runs followed by one of the strings of e (or by nothing too, if
 * optional): each way of the runs with each of e's. When there would
 * be too many ways or too long ones, the runs go to the conjunction
 * first, and e's strings alone are the ways: then it returns 0.
 */
static int
runs_times(struct litcnf *out, struct runs *r, const struct litset *e,
    int optional)
{
	struct litset t;
	size_t i, j, n = r->multi ? r->m.n : 1;
	int fit = r->multi || r->nrun <= LS_LEN;

	t.n = 0;
	for (i = 0; fit && i < n; i++) {
		const char *a = r->multi ? r->m.lit[i] : r->run;
		size_t an = r->multi ? r->m.len[i] : r->nrun;

		if (optional)
			fit = ls_put(&t, a, an);
		for (j = 0; fit && j < e->n; j++) {
			char buf[2 * LS_LEN];

			if (an + e->len[j] > LS_LEN) {
				fit = 0;
				break;
			}
			memcpy(buf, a, an);
			memcpy(buf + an, e->lit[j], e->len[j]);
			fit = ls_put(&t, buf, an + e->len[j]);
		}
	}
	if (!fit) {
		runs_flush(out, r);
		t.n = 0;
		if (optional)
			(void)ls_put(&t, "", 0);
		for (j = 0; j < e->n; j++)
			(void)ls_put(&t, e->lit[j], e->len[j]);
	}
	if (t.n == 1) {
		r->multi = 0;
		r->nrun = t.len[0];
		memcpy(r->run, t.lit[0], t.len[0]);
	} else {
		r->multi = 1;
		ls_copy(&r->m, &t);
	}
	return fit;
}

/*
 * A sequence, up to '|', ')' or the end. When it is nothing but
 * literal text, groups of it and optional parts of it, *ex holds each
 * string it matches (it is exact); else ex->n is 0.
 */
static const char *
ls_seq(const char *p, struct litcnf *out, int depth, struct litset *ex,
    int join)
{
	struct runs r;
	struct litset gex;
	size_t i;
	struct litcnf sub;
	const char *q;
	int exact = 1, cut = 0;

	r.multi = 0;
	r.nrun = 0;
	out->n = 0;
	while (*p != '\0' && *p != '|' && *p != ')') {
		int c = (unsigned char)*p, lit = -1;

		if (c == '\\' && p[1] != '\0' && !isalnum((unsigned char)p[1])) {
			lit = (unsigned char)p[1];
			p += 2;
		} else if (c == '\\' && (p[1] == 'b' || p[1] == 'B' ||
		    p[1] == 'A' || p[1] == 'z' || p[1] == 'Z')) {
			p += 2;		/* zero width: the run goes on */
			continue;
		} else if (c == '\\' && p[1] != '\0') {
			/*
			 * \s, \d, \p{..}, \pL: not a literal. Only \p and
			 * \P take a "{...}": after another, a "{" is a
			 * quantifier or a brace ("\s{|x": "|" ends the branch).
			 */
			p += 2;
			if ((p[-1] == 'p' || p[-1] == 'P') && *p == '{')
				while (*p != '\0' && *p++ != '}')
					;
			else if ((p[-1] == 'p' || p[-1] == 'P') && *p != '\0')
				p++;
		} else if (c == '^' || c == '$') {
			p++;
			continue;
		} else if (c == '[') {
			for (q = p + 1, q += *q == '^', q += *q == ']';
			    *q != '\0' && *q != ']'; q++)
				if (*q == '\\' && q[1] != '\0')
					q++;
			p = *q ? q + 1 : q;
		} else if (c == '(') {
			int look = p[1] == '?' && (p[2] == '=' || p[2] == '!' ||
			    (p[2] == '<' && (p[3] == '=' || p[3] == '!')));
			int opts = p[1] == '?' && !look && p[2] != ':' &&
			    p[2] != '<' && p[2] != 'P' && p[2] != '\'' &&
			    p[2] != '>' && p[2] != '|';

			if (opts) {
				/* (?i) or (?i:...) */
				for (q = p + 2; *q != '\0' && *q != ')' &&
				    *q != ':'; q++)
					;
				if (*q == ')') {
					p = q + 1;
					continue;
				}
				p = q;
			} else if (p[1] == '?') {
				for (q = p + 2; *q != '\0' && *q != ':' &&
				    *q != '>' && *q != '\'' && *q != ')' &&
				    !(look && (*q == '=' || *q == '!')); q++)
					;
				p = q;
			} else
				p++;
			if (*p == ':' || *p == '>' || *p == '\'' || *p == '=' ||
			    *p == '!')
				p++;
			p = ls_alt(p, &sub, depth + 1, &gex, join);
			if (*p == ')')
				p++;
			/*
			 * A group of literal text, required or optional
			 * ("?"), goes on the run: each of its strings after
			 * each way the run is.
			 */
			if (join && !look && gex.n > 0 && (*p == '?' ||
			    quant_skip(p) == p)) {
				if (!runs_times(out, &r, &gex, *p == '?'))
					exact = 0;
				p = quant_skip(p);
				continue;
			}
			exact = 0;
			runs_flush(out, &r);
			if (!look && !quant_optional(p))
				for (i = 0; i < sub.n; i++)
					cnf_add(out, &sub.set[i]);
			p = quant_skip(p);
			continue;
		} else if (c == '.') {
			p++;
		} else if (c == '?' || c == '*' || c == '+' || c == '{') {
			q = quant_skip(p);
			if (q == p) {		/* "{" that is not a quantifier */
				lit = c;
				p++;
			} else
				p = q;
		} else {
			lit = c;
			p++;
		}
		if (join && lit >= 0 && *p == '?') {
			/* "x?": x or nothing */
			gex.n = 1;
			gex.len[0] = 1;
			gex.lit[0][0] = (char)tolower(lit);
			if (!runs_times(out, &r, &gex, 1))
				exact = 0;
			p = quant_skip(p);
			continue;
		}
		if (lit >= 0 && quant_optional(p))
			lit = -1;		/* "x*": not required */
		if (lit >= 0 && runs_char(out, &r, tolower(lit), &cut)) {
			if (cut)
				exact = 0;
			if (quant_skip(p) != p) {
				/* "x+", "x{2}": x is there; the run ends */
				exact = 0;
				runs_flush(out, &r);
				p = quant_skip(p);
			}
			continue;
		}
		exact = 0;
		runs_flush(out, &r);
		p = quant_skip(p);
	}
	ex->n = 0;
	if (exact && r.multi)
		ls_copy(ex, &r.m);
	else if (exact && r.nrun <= LS_LEN) {
		ex->n = 1;
		ex->len[0] = r.nrun;
		memcpy(ex->lit[0], r.run, r.nrun);
	}
	runs_flush(out, &r);
	return p;
}

/*
 * Alternatives up to ')' or the end. One branch: its sets. Several:
 * one set, the union of each branch's best, or none if a branch has
 * nothing to offer. *ex: every string the alternatives match, when
 * each is exact (ls_seq()) and there are no more than LS_MAX.
 */
static const char *
ls_alt(const char *p, struct litcnf *out, int depth, struct litset *ex,
    int join)
{
	struct litcnf br;
	struct litset u, bex;
	const char *start = p;
	size_t i;
	int nbranch = 0, ok = 1, exact = 1, big = 0, empty = 0;

	u.n = 0;
	out->n = 0;
	ex->n = 0;
	for (;;) {
		if (depth >= 16) {
			p += strcspn(p, ")");
			ok = 0;
			exact = 0;
			break;
		}
		p = ls_seq(p, &br, depth, &bex, join);
		if (nbranch++ == 0)
			cnf_copy(out, &br);
		if (br.n == 0)
			ok = 0, empty = 1;
		else if (u.n + br.set[0].n > LS_MAX)
			ok = 0, big = 1;
		for (i = 0; ok && i < br.set[0].n; i++) {
			u.len[u.n] = br.set[0].len[i];
			memcpy(u.lit[u.n++], br.set[0].lit[i], br.set[0].len[i]);
		}

		if (bex.n == 0)
			exact = 0;
		for (i = 0; exact && i < bex.n; i++)
			exact = ls_put(ex, bex.lit[i], bex.len[i]);
		if (*p != '|')
			break;
		p++;
	}
	if (!exact)
		ex->n = 0;
	if (nbranch > 1) {
		out->n = 0;
		if (ok)
			cnf_add(out, &u);
		else if (join && big && !empty) {
			/*
			 * The branches' ways are too many for one set: their
			 * words as they are, not joined, may not be.
			 */
			struct litset none;

			(void)ls_alt(start, out, depth, &none, 0);
		}
	} else if (!ok && depth >= 16)
		out->n = 0;
	return p;
}

/*
 * prefilter_need -- the literal sets a pattern needs, or NULL
 *
 * One unit per top-level branch of the pattern, so that "a...b|c...d"
 * needs a and b, or c and d, rather than any of a and c. A branch with
 * nothing to require leaves the pattern without a prefilter.
 */
struct prefilter_need *
prefilter_need(const char *pat)
{
	struct prefilter_need *pn;
	struct litcnf *br = NULL;
	size_t *span = NULL;
	const char *q;
	struct litset ex;
	char *str;
	size_t nbr = 0, nsets = 0, nlits = 0, nbytes = 0, i, j, k, s, u;

	/*
	 * Extended mode makes spaces insignificant; so do comments. An
	 * "x" counts among the option letters of "(?x)" or "(?x:" only:
	 * not in "(?!mail ?box)", a lookahead.
	 */
	for (q = pat; (q = strstr(q, "(?")) != NULL; q++) {
		size_t nopt = strspn(q + 2, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ-^");

		if (q[2] == '#' || ((q[2 + nopt] == ':' || q[2 + nopt] == ')') &&
		    memchr(q + 2, 'x', nopt) != NULL))
			return NULL;
	}
	/*
	 * Verbs: (*UTF), (*ACCEPT) ends a match early. Branch resets and
	 * conditions, "(?|" and "(?(", are groups the walk does not read:
	 * joined to the text around them, their words would be wrong.
	 */
	if (strstr(pat, "(*") != NULL || strstr(pat, "(?|") != NULL ||
	    strstr(pat, "(?(") != NULL)
		return NULL;
	/*
	 * Escapes the walk knows: classes, zero-width assertions and
	 * properties. Any other (\Q quoting, \x41, \101, \cX, \k<name>)
	 * stands for text the walk cannot see.
	 */
	for (q = pat; (q = strchr(q, '\\')) != NULL && q[1] != '\0'; q += 2)
		if (isalnum((unsigned char)q[1]) &&
		    strchr("dDsSwWhHvVRXbBAzZGKpP", q[1]) == NULL)
			return NULL;
	for (q = pat;; q++) {
		br = xreallocarray(br, nbr + 1, sizeof(*br));
		span = xreallocarray(span, 2 * (nbr + 1), sizeof(*span));
		span[2 * nbr] = (size_t)(q - pat);
		q = ls_seq(q, &br[nbr], 0, &ex, 1);
		span[2 * nbr + 1] = (size_t)(q - pat);
		if (br[nbr++].n == 0 || *q != '|')
			break;
	}
	if (*q != '\0' || br[nbr - 1].n == 0) {
		free(br);	/* nothing required, or a ")" compile rejects */
		free(span);
		return NULL;
	}
	for (u = 0; u < nbr; u++) {
		/* Two sets a branch say enough; more only cost lookups. */
		if (nbr > 1 && br[u].n > UNIT_SETS)
			br[u].n = UNIT_SETS;
		nsets += br[u].n;
		for (i = 0; i < br[u].n; i++) {
			nlits += br[u].set[i].n;
			for (j = 0; j < br[u].set[i].n; j++)
				nbytes += br[u].set[i].len[j] + 1;
		}
	}
	/* One block: the struct, its arrays, then the strings. */
	pn = xcalloc(1, sizeof(*pn) + nlits * sizeof(*pn->lits) +
	    (nlits + nsets + 3 * nbr) * sizeof(size_t) + nbytes);
	pn->lits = (const char **)(pn + 1);
	pn->litlens = (size_t *)(pn->lits + nlits);
	pn->setend = pn->litlens + nlits;
	pn->unitend = pn->setend + nsets;
	pn->unitspan = pn->unitend + nbr;
	memcpy(pn->unitspan, span, 2 * nbr * sizeof(*span));
	str = (char *)(pn->unitspan + 2 * nbr);
	pn->nlits = nlits;
	pn->nsets = nsets;
	pn->nunits = nbr;
	for (u = 0, s = 0, k = 0; u < nbr; u++) {
		for (i = 0; i < br[u].n; i++, s++) {
			const struct litset *ls = &br[u].set[i];

			for (j = 0; j < ls->n; j++, k++) {
				memcpy(str, ls->lit[j], ls->len[j]);
				pn->lits[k] = str;
				pn->litlens[k] = ls->len[j];
				str += ls->len[j] + 1;
			}
			pn->setend[s] = k;
		}
		pn->unitend[u] = s;
	}
	free(br);
	free(span);
	return pn;
}

/*
 * The scan's tables. A unit (one top-level branch of pattern upat[u])
 * needs a literal of each of its sets. One set of each unit, its
 * anchor, is the one whose literals the fewest other sets share (a
 * word most rules use, such as "mail" or "user", is in most replies
 * too): only the anchor's literals refer to the unit, as litref
 * [litstart[lit] .. litstart[lit + 1]). When the scan finds one, the
 * unit's other sets, [uoth[u] .. uoth[u + 1]), are looked up in the
 * literals found: set j holds the literals of omask[m] in word oword[m]
 * of the bitset, for m in [obeg[j] .. obeg[j + 1]). A pattern is
 * a candidate once one of its units has a literal of every set; rinit
 * [i] is 0 for a pattern with no units, which always is.
 *
 * The answer is that of marking every set of every unit, but a reply
 * holding "mail" no longer visits the fifty units that need it. The
 * units of a pattern built to report them have slots, uslot[u], in the
 * bytes after rinit's in the scratch space: each is marked when its
 * unit can match.
 *
 * Those are the tables as built. The scan reads them packed, so that
 * a literal found leads to its units with no more loads than it must:
 * ref[litstart[lit] .. litstart[lit + 1]) holds, for each unit the
 * literal anchors, the unit's pattern, slot and other sets, and those
 * sets are runs of pair[], the last pair of each marked.
 */
struct pfref {
	uint32_t	pat;
	uint32_t	slot;		/* or NOSLOT */
	uint32_t	pbeg;		/* the unit's other sets in pair[] */
	uint32_t	pend;
};

struct pfpair {
	uint64_t	mask;		/* literals of the set in bits[word] */
	uint32_t	word;
	uint32_t	last;		/* the last pair of its set */
};

struct prefilter {
	struct acmatch		 *ac;		/* every pattern's literals */
	size_t			  acwords;	/* acmatch_words(ac) */
	size_t			  mwords;	/* acmatch_mark_words(ac) */
	uint32_t		 *upat;		/* nunits */
	uint32_t		 *uoth;		/* nunits + 1 */
	uint32_t		 *obeg;		/* other sets + 1 */
	uint32_t		 *oword;	/* their pairs */
	uint64_t		 *omask;
	size_t			  nunits;
	uint8_t			 *rinit;
	size_t			  npats;
	uint32_t		 *litstart;
	uint32_t		 *litref;
	/*
	 * acwords: bit l set when literal l anchors a unit (litstart[l] <
	 * litstart[l + 1]). The rest are the guards' phrases, and parts of
	 * sets that some other literal anchors: the scan skips them.
	 */
	uint64_t		 *anchors;
	uint32_t		 *uslot;	/* nunits: in uok[], or NOSLOT */
	uint32_t		 *pslot;	/* npats: first unit's slot */
	size_t			  nslots;
	struct pfref		 *ref;		/* litref's units, packed */
	struct pfpair		 *pair;		/* oword/omask, packed */
};

#define NOSLOT	UINT32_MAX

/*
 * One automaton for the literals of every pattern. A literal is cut to
 * its first AC_LEN bytes (a text holding the literal holds those too,
 * so the prefilter still never hides a match) and equal literals share
 * one number: the automaton stays small enough to live in the cache,
 * and its longest literal bounds what acmatch_scan() reads twice.
 */
#define AC_LEN	12

/* The literals of all patterns, numbered; ids[] gives each its number. */
struct pflits {
	const char	**lits;
	size_t		 *lens;
	size_t		  n;
	uint32_t	 *ids;		/* per literal of every need, in order */
	size_t		  nids;
	size_t		  nunits;
	size_t		  nsets;
};

static uint32_t
lit_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	while (n-- > 0)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* Numbers the literals, equal ones alike (found by a hash of them). */
static void
pflits_collect(struct pflits *pl, const struct prefilter_need *const *needs,
    size_t npats)
{
	size_t i, j, len, total = 0, mask;
	uint32_t *slot, h, k;

	memset(pl, 0, sizeof(*pl));
	for (i = 0; i < npats; i++)
		if (needs[i] != NULL)
			total += needs[i]->nlits;
	for (mask = 1; mask < 2 * total; mask <<= 1)
		;
	slot = xmalloc(mask * sizeof(*slot));	/* number + 1, or 0 */
	memset(slot, 0, mask * sizeof(*slot));
	mask--;
	for (i = 0; i < npats; i++) {
		const struct prefilter_need *r = needs[i];

		if (r == NULL || r->nunits == 0)
			continue;
		pl->nunits += r->nunits;
		pl->nsets += r->nsets;
		pl->lits = xreallocarray(pl->lits, pl->n + r->nlits,
		    sizeof(*pl->lits));
		pl->lens = xreallocarray(pl->lens, pl->n + r->nlits,
		    sizeof(*pl->lens));
		pl->ids = xreallocarray(pl->ids, pl->nids + r->nlits,
		    sizeof(*pl->ids));
		for (j = 0; j < r->nlits; j++) {
			len = r->litlens[j] < AC_LEN ? r->litlens[j] : AC_LEN;
			for (h = lit_hash(r->lits[j], len) & mask;
			    (k = slot[h]) != 0; h = (h + 1) & mask)
				if (pl->lens[k - 1] == len && memcmp(
				    pl->lits[k - 1], r->lits[j], len) == 0)
					break;
			if (k == 0) {
				pl->lits[pl->n] = r->lits[j];
				pl->lens[pl->n++] = len;
				k = slot[h] = (uint32_t)pl->n;
			}
			pl->ids[pl->nids++] = k - 1;
		}
	}
	free(slot);
}

/*
 * The anchor of a unit whose sets are [first, end) and whose literals'
 * numbers start at id: the set whose literals are in the fewest sets
 * in all (shared[lit]), weighted by how many sample texts hold them
 * when there are samples (prefilter_build_sampled()); the first such.
 */
static size_t
anchor_set(const struct prefilter_need *r, size_t first, size_t end,
    const uint32_t *id, const uint32_t *shared)
{
	size_t set, j, best = first;
	uint64_t score, min = UINT64_MAX;

	for (set = first; set < end; set++) {
		score = 0;
		for (j = set ? r->setend[set - 1] : 0; j < r->setend[set]; j++)
			score += shared[id[j]];
		if (score < min) {
			min = score;
			best = set;
		}
	}
	return best;
}

/*
 * Places a set of n literals from pair no on, as pairs of a word of the
 * scan's bitset and the mask of the set's literals in it; returns where
 * the next set's begin. A set of thirty words in as many languages,
 * numbered together, takes a pair or two.
 */
static uint32_t
set_words(struct prefilter *pf, uint32_t no, const uint32_t *id, size_t n)
{
	uint32_t start = no, k;
	size_t j;

	for (j = 0; j < n; j++) {
		for (k = start; k < no && pf->oword[k] != id[j] / 64; k++)
			;
		if (k == no) {
			pf->oword[no] = id[j] / 64;
			pf->omask[no++] = 0;
		}
		pf->omask[k] |= UINT64_C(1) << (id[j] % 64);
	}
	return no;
}

/* Counts (place 0) or places (1) the refs of an anchor's n literals. */
static void
anchor_refs(struct prefilter *pf, int place, size_t unit, const uint32_t *id,
    size_t n)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (place)
			pf->litref[pf->litstart[id[j]]++] = (uint32_t)unit;
		else
			pf->litstart[id[j] + 1]++;
}

/*
 * The tables as the scan reads them (struct pfref, struct pfpair), from
 * those built: nlits literals, nsets other sets, npairs pairs.
 */
static void
pack_scan(struct prefilter *pf, size_t nlits, uint32_t nsets, uint32_t npairs)
{
	uint32_t i, j, m, u;

	pf->ref = xcalloc(pf->litstart[nlits] ? pf->litstart[nlits] : 1,
	    sizeof(*pf->ref));
	for (i = 0; i < pf->litstart[nlits]; i++) {
		u = pf->litref[i];
		pf->ref[i].pat = pf->upat[u];
		pf->ref[i].slot = pf->uslot[u];
		pf->ref[i].pbeg = pf->obeg[pf->uoth[u]];
		pf->ref[i].pend = pf->obeg[pf->uoth[u + 1]];
	}
	pf->pair = xcalloc(npairs ? npairs : 1, sizeof(*pf->pair));
	for (j = 0; j < nsets; j++)
		for (m = pf->obeg[j]; m < pf->obeg[j + 1]; m++) {
			pf->pair[m].mask = pf->omask[m];
			pf->pair[m].word = pf->oword[m];
			pf->pair[m].last = m + 1 == pf->obeg[j + 1];
		}
	/* Only the packed tables are read from now on. */
	free(pf->upat);
	free(pf->uoth);
	free(pf->obeg);
	free(pf->oword);
	free(pf->omask);
	free(pf->litref);
	pf->upat = pf->uoth = pf->obeg = pf->oword = pf->litref = NULL;
	pf->omask = NULL;
}

struct prefilter *
prefilter_build(const struct prefilter_need *const *needs, size_t npats)
{
	return prefilter_build_units(needs, npats, NULL);
}

struct prefilter *
prefilter_build_units(const struct prefilter_need *const *needs,
    size_t npats, const uint8_t *units)
{
	return prefilter_build_sampled(needs, npats, units, NULL, 0);
}

/*
 * What an anchor avoids, a number per literal: the sets it is in, and
 * before that, the sample texts that hold it (a literal most replies
 * hold, such as "user", makes a poor anchor whatever the sets).
 */
static uint32_t *
lit_weights(const struct prefilter *pf, const struct pflits *pl,
    const char *const *samples, size_t nsamples)
{
	uint32_t *w = xcalloc(pl->n + 1, sizeof(*w));
	uint64_t *bits;
	size_t i, k;

	for (i = 0; i < pl->nids; i++)
		w[pl->ids[i]]++;
	if (nsamples == 0)
		return w;
	bits = xcalloc(pf->acwords, sizeof(*bits));
	for (i = 0; i < nsamples; i++) {
		acmatch_scan(pf->ac, samples[i], strlen(samples[i]), bits);
		for (k = 0; k < pf->acwords; k++)
			for (uint64_t x = bits[k]; x != 0; x &= x - 1)
				w[k * 64 + (size_t)__builtin_ctzll(x)] +=
				    1u << 12;
	}
	free(bits);
	return w;
}

struct prefilter *
prefilter_build_sampled(const struct prefilter_need *const *needs,
    size_t npats, const uint8_t *units, const char *const *samples,
    size_t nsamples)
{
	struct prefilter *pf;
	struct pflits pl;
	uint32_t *shared, *id, noth = 0, nolit = 0;
	size_t i, k, set, unit, u, anchor;

	pf = xcalloc(1, sizeof(*pf));
	pf->npats = npats;
	pf->rinit = xcalloc(npats ? npats : 1, 1);
	pflits_collect(&pl, needs, npats);
	pf->ac = acmatch_build(pl.lits, pl.lens, pl.n);
	pf->acwords = acmatch_words(pf->ac);
	pf->mwords = acmatch_mark_words(pf->ac);

	shared = lit_weights(pf, &pl, samples, nsamples);

	pf->nunits = pl.nunits;
	pf->upat = xcalloc(pl.nunits ? pl.nunits : 1, sizeof(*pf->upat));
	pf->uoth = xcalloc(pl.nunits + 1, sizeof(*pf->uoth));
	pf->obeg = xcalloc(pl.nsets + 1, sizeof(*pf->obeg));
	pf->oword = xcalloc(pl.nids ? pl.nids : 1, sizeof(*pf->oword));
	pf->omask = xcalloc(pl.nids ? pl.nids : 1, sizeof(*pf->omask));
	pf->litstart = xcalloc(pl.n + 1, sizeof(*pf->litstart));
	pf->litref = xcalloc(pl.nids ? pl.nids : 1, sizeof(*pf->litref));
	pf->uslot = xcalloc(pl.nunits ? pl.nunits : 1, sizeof(*pf->uslot));
	pf->pslot = xcalloc(npats ? npats : 1, sizeof(*pf->pslot));
	for (i = 0, unit = 0; i < npats; i++) {
		const struct prefilter_need *r = needs[i];
		int rep = units != NULL && units[i];

		pf->pslot[i] = (uint32_t)pf->nslots;
		if (r == NULL || r->nunits == 0)
			continue;
		for (u = 0; u < r->nunits; u++, unit++)
			pf->uslot[unit] = rep ? (uint32_t)pf->nslots++ : NOSLOT;
	}

	/* Two passes: count the refs of each literal, then place them. */
	for (int place = 0; place < 2; place++) {
		id = pl.ids;
		for (i = 0, unit = 0; i < npats; i++) {
			const struct prefilter_need *r = needs[i];
			size_t first = 0;

			if (r == NULL || r->nunits == 0)
				continue;
			pf->rinit[i] = 1;
			for (u = 0; u < r->nunits; u++, unit++) {
				anchor = anchor_set(r, first, r->unitend[u],
				    id, shared);
				pf->upat[unit] = (uint32_t)i;
				if (place)
					pf->uoth[unit] = noth;
				for (set = first; set < r->unitend[u]; set++) {
					size_t lo = set ? r->setend[set - 1] : 0;

					if (set == anchor) {
						anchor_refs(pf, place, unit,
						    id + lo, r->setend[set] - lo);
						continue;
					}
					if (!place)
						continue;
					pf->obeg[noth++] = nolit;
					nolit = set_words(pf, nolit, id + lo,
					    r->setend[set] - lo);
				}
				first = r->unitend[u];
			}
			id += r->nlits;
		}
		if (!place)
			for (k = 0; k < pl.n; k++)
				pf->litstart[k + 1] += pf->litstart[k];
	}
	pf->uoth[pf->nunits] = noth;
	pf->obeg[noth] = nolit;
	for (k = pl.n; k > 0; k--)	/* each start moved to the next's */
		pf->litstart[k] = pf->litstart[k - 1];
	pf->litstart[0] = 0;
	pf->anchors = xcalloc(pf->acwords, sizeof(*pf->anchors));
	for (k = 0; k < pl.n; k++)
		if (pf->litstart[k] < pf->litstart[k + 1])
			pf->anchors[k / 64] |= UINT64_C(1) << (k % 64);
	pack_scan(pf, pl.n, noth, nolit);
	free(shared);
	free(pl.lits);
	free(pl.lens);
	free(pl.ids);
	return pf;
}

void
prefilter_free(struct prefilter *pf)
{
	if (pf == NULL)
		return;
	acmatch_free(pf->ac);
	free(pf->upat);
	free(pf->uoth);
	free(pf->obeg);
	free(pf->oword);
	free(pf->omask);
	free(pf->rinit);
	free(pf->litstart);
	free(pf->litref);
	free(pf->anchors);
	free(pf->uslot);
	free(pf->pslot);
	free(pf->ref);
	free(pf->pair);
	free(pf);
}

size_t
prefilter_scratch_size(const struct prefilter *pf)
{
	return (pf->acwords + pf->mwords) * sizeof(uint64_t) + pf->npats +
	    pf->nslots;
}

/*
 * Whether the literals found (bits) hold one of each set of a unit but
 * its anchor: the sets are the runs of pairs [p, e).
 */
static int
unit_rest(const struct pfpair *p, const struct pfpair *e,
    const uint64_t *bits)
{
	for (; p < e; p++) {
		if (bits[p->word] & p->mask) {
			while (!p->last)	/* the set is met */
				p++;
		} else if (p->last)
			return 0;
	}
	return 1;
}

/* The units literal l anchors, after a scan into bits. */
static inline void
lit_found(const struct prefilter *pf, uint32_t l, const uint64_t *bits,
    uint8_t *rmiss, uint8_t *uok)
{
	const struct pfref *r = pf->ref + pf->litstart[l];
	const struct pfref *re = pf->ref + pf->litstart[l + 1];

	for (; r < re; r++) {
		if (r->slot != NOSLOT) {
			/* each unit told, not just one */
			if (uok[r->slot] == 0 && unit_rest(pf->pair + r->pbeg,
			    pf->pair + r->pend, bits)) {
				uok[r->slot] = 1;
				rmiss[r->pat] = 0;
			}
		} else if (rmiss[r->pat] != 0 && unit_rest(pf->pair +
		    r->pbeg, pf->pair + r->pend, bits))
			rmiss[r->pat] = 0;
	}
}

/*
 * The literals found are a few dozen of thousands: the words of the
 * bitset that hold any are read through the scan's marks.
 */
const uint8_t *
prefilter_scan(const struct prefilter *pf, const char *text, size_t len,
    void *scratch)
{
	uint64_t *bits = scratch;
	uint64_t *marks = bits + pf->acwords;
	uint8_t *rmiss = (uint8_t *)(marks + pf->mwords);
	uint8_t *uok = rmiss + pf->npats;
	uint64_t x, y;
	size_t m, w;

	memcpy(rmiss, pf->rinit, pf->npats);
	memset(uok, 0, pf->nslots);
	acmatch_scan_marked(pf->ac, text, len, bits, marks);
	for (m = 0; m < pf->mwords; m++)
		for (y = marks[m]; y != 0; y &= y - 1) {
			w = m * 64 + (size_t)__builtin_ctzll(y);
			for (x = bits[w] & pf->anchors[w]; x != 0; x &= x - 1)
				lit_found(pf, (uint32_t)(w * 64 + (size_t)
				    __builtin_ctzll(x)), bits, rmiss, uok);
		}
	return rmiss;
}

const uint8_t *
prefilter_units(const struct prefilter *pf, const void *scratch, size_t pat)
{
	const uint8_t *uok = (const uint8_t *)((const uint64_t *)scratch +
	    pf->acwords + pf->mwords) + pf->npats;

	return uok + pf->pslot[pat];
}
