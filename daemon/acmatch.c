/*
 * acmatch.c -- find which of many literals occur in a text, in one pass
 *
 * Built in three steps: the trie of the literals over a reduced
 * alphabet; the failure links, breadth first; then every missing
 * transition filled in from the failure state's, which makes the trie a
 * DFA. A state's matches are its own literals plus those of its
 * "dictionary link", the nearest state down its failure chain that ends
 * a literal; they are flattened into one list per state for the scan.
 */
#include <stdlib.h>
#include <string.h>

#include "acmatch.h"
#include "xalloc.h"

/*
 * In the finished table a transition holds the target state's row
 * offset (state * nclass), with OUTBIT set when that state ends a
 * literal or has one down its dictionary chain: the scan loop is one
 * load and one test per byte.
 */
#define OUTBIT	0x80000000u

struct acmatch {
	uint16_t	 cls[256];	/* byte -> class; 0 = no literal has it */
	size_t		 nclass;	/* a power of two: 1 << shift */
	unsigned	 shift;
	size_t		 maxlen;	/* of the longest literal */
	uint32_t	*next;		/* nstates * nclass */
	size_t		 nstates;
	size_t		 nlits;
	/*
	 * Flattened for the scan: the literals state s reports, its own
	 * and its dictionary chain's, are olist[ostart[s] .. ostart[s+1]).
	 */
	uint32_t	*ostart;
	uint32_t	*olist;
};

#define NONE	UINT32_MAX

struct acmatch *
acmatch_build(const char *const *lits, const size_t *lens, size_t n)
{
	struct acmatch *ac;
	uint32_t *fail, *queue, s, t, f;
	uint32_t *out;		/* per state: first literal ending there */
	uint32_t *outnext;	/* per literal: the next one ending there */
	uint32_t *dict;		/* per state: dictionary link, or 0 */
	size_t i, j, c, cap, head, tail;

	if (n == 0)
		return NULL;
	ac = xcalloc(1, sizeof(*ac));
	ac->nlits = n;
	ac->nclass = 1;
	for (i = 0; i < n; i++)
		for (j = 0; j < lens[i]; j++) {
			unsigned char b = (unsigned char)lits[i][j];

			if (ac->cls[b] == 0)
				ac->cls[b] = (uint16_t)ac->nclass++;
		}
	/* The text is not lowercased: its capitals map to the same class. */
	for (i = 'A'; i <= 'Z'; i++)
		ac->cls[i] = ac->cls[i - 'A' + 'a'];
	/* Rows a power of two wide: a state is its row offset's shift. */
	while ((size_t)1 << ac->shift < ac->nclass)
		ac->shift++;
	ac->nclass = (size_t)1 << ac->shift;
	/* States: at most the number of literal bytes, plus the root. */
	for (cap = 1, i = 0; i < n; i++) {
		cap += lens[i];
		if (lens[i] > ac->maxlen)
			ac->maxlen = lens[i];
	}
	ac->next = xcalloc(cap * ac->nclass, sizeof(*ac->next));
	for (i = 0; i < cap * ac->nclass; i++)
		ac->next[i] = NONE;
	out = xmalloc(cap * sizeof(*out));
	outnext = xmalloc(n * sizeof(*outnext));
	ac->nstates = 1;
	out[0] = NONE;

	for (i = 0; i < n; i++) {
		for (s = 0, j = 0; j < lens[i]; j++) {
			uint32_t *e = &ac->next[s * ac->nclass +
			    ac->cls[(unsigned char)lits[i][j]]];

			if (*e == NONE) {
				*e = (uint32_t)ac->nstates;
				out[ac->nstates++] = NONE;
			}
			s = *e;
		}
		outnext[i] = out[s];
		out[s] = (uint32_t)i;
	}

	fail = xcalloc(ac->nstates, sizeof(*fail));
	dict = xcalloc(ac->nstates, sizeof(*dict));
	queue = xmalloc(ac->nstates * sizeof(*queue));
	head = tail = 0;
	for (c = 0; c < ac->nclass; c++) {
		t = ac->next[c];
		if (t == NONE)
			ac->next[c] = 0;
		else if (t != 0) {
			fail[t] = 0;
			queue[tail++] = t;
		}
	}
	while (head < tail) {
		s = queue[head++];
		f = fail[s];
		dict[s] = out[f] != NONE ? f : dict[f];
		for (c = 0; c < ac->nclass; c++) {
			uint32_t *e = &ac->next[s * ac->nclass + c];

			if (*e == NONE)
				*e = ac->next[f * ac->nclass + c];
			else {
				fail[*e] = ac->next[f * ac->nclass + c];
				queue[tail++] = *e;
			}
		}
	}
	free(queue);
	free(fail);

	/* Each state's literals, counted, then listed. */
	ac->ostart = xcalloc(ac->nstates + 1, sizeof(*ac->ostart));
	for (s = 0; s < ac->nstates; s++) {
		ac->ostart[s + 1] = ac->ostart[s];
		for (f = s; f != 0; f = dict[f])
			for (t = out[f]; t != NONE; t = outnext[t])
				ac->ostart[s + 1]++;
	}
	ac->olist = xcalloc(ac->ostart[ac->nstates] + 1, sizeof(*ac->olist));
	for (s = 0, i = 0; s < ac->nstates; s++)
		for (f = s; f != 0; f = dict[f])
			for (t = out[f]; t != NONE; t = outnext[t])
				ac->olist[i++] = t;

	/* Row offsets and output flags, as acmatch_scan() wants them. */
	for (i = 0; i < ac->nstates * ac->nclass; i++) {
		t = ac->next[i];
		ac->next[i] = (uint32_t)(t * ac->nclass) |
		    (ac->ostart[t + 1] != ac->ostart[t] ? OUTBIT : 0);
	}
	/* The trie had room for every literal byte; prefixes are shared. */
	ac->next = xreallocarray(ac->next, ac->nstates * ac->nclass,
	    sizeof(*ac->next));
	free(out);
	free(outnext);
	free(dict);
	return ac;
}

void
acmatch_free(struct acmatch *ac)
{
	if (ac == NULL)
		return;
	free(ac->next);
	free(ac->ostart);
	free(ac->olist);
	free(ac);
}

size_t
acmatch_words(const struct acmatch *ac)
{
	return ac == NULL ? 1 : (ac->nlits + 63) / 64;
}

/*
 * Sets the bits of the literals ending in a state (given as its row
 * offset). Out of line and cold: the scan loop keeps its lanes in
 * registers.
 */
static void __attribute__((noinline, cold))
report(const struct acmatch *ac, uint32_t row, uint64_t *bits)
{
	uint32_t s = (row & ~OUTBIT) >> ac->shift, i, l;

	for (i = ac->ostart[s]; i < ac->ostart[s + 1]; i++) {
		l = ac->olist[i];
		bits[l / 64] |= UINT64_C(1) << (l % 64);
	}
}

#define STEP(s, p) do {							\
	(s) = next[((s) & ~OUTBIT) + cls[*(p)++]];			\
	if ((s) & OUTBIT)						\
		report(ac, (s), bits);					\
} while (0)

/*
 * Each byte costs a load that depends on the one before, so one walk
 * over the text waits on memory at every byte. The text is cut into
 * four pieces walked side by side, each starting early enough to see
 * a literal that crosses into it (maxlen - 1 bytes): the loads of the
 * lanes overlap and the scan runs several times faster.
 */
void
acmatch_scan(const struct acmatch *ac, const char *text, size_t len,
    uint64_t *bits)
{
	const unsigned char *t = (const unsigned char *)text, *e = t + len;
	const unsigned char *p0, *p1, *p2, *p3, *e0;
	const uint16_t *cls;
	const uint32_t *next;
	uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	size_t chunk, over;

	memset(bits, 0, acmatch_words(ac) * sizeof(*bits));
	if (ac == NULL)
		return;
	next = ac->next;
	cls = ac->cls;
	over = ac->maxlen - 1;
	chunk = len / 4;
	if (chunk <= over) {
		for (p0 = t; p0 < e; )
			STEP(s0, p0);
		return;
	}
	/*
	 * Lanes 0-2 cover chunk bytes each, lane 3 the rest; lanes 1-3
	 * start over bytes early. All walk the length of lane 0
	 * together, then each finishes its own.
	 */
	p0 = t;
	p1 = t + chunk - over;
	p2 = t + 2 * chunk - over;
	p3 = t + 3 * chunk - over;
	for (e0 = t + chunk; p0 < e0; ) {
		STEP(s0, p0);
		STEP(s1, p1);
		STEP(s2, p2);
		STEP(s3, p3);
	}
	while (p1 < t + 2 * chunk)
		STEP(s1, p1);
	while (p2 < t + 3 * chunk)
		STEP(s2, p2);
	while (p3 < e)
		STEP(s3, p3);
}
