/*
 * acmatch.c -- find which of many literals occur in a text, in one pass
 *
 * Built in steps: the trie of the literals over a reduced alphabet; the
 * failure links, breadth first; then the transitions of the DFA that
 * the trie and its failure links make, stored compressed (below). A
 * state's matches are its own literals plus those of its "dictionary
 * link", the nearest state down its failure chain that ends a literal;
 * they are flattened into one list per reporting state for the scan.
 *
 * The compression. From state s on class c the DFA goes to s's child
 * on c if it has one, else wherever the next state down s's failure
 * chain goes on c. Every state but the root was entered on some class
 * p, the class of the byte just read, and when a literal starts with p
 * the state of depth 1 for p is on s's failure chain (its string is a
 * suffix of s's). So most of s's transitions are those of the depth-1
 * state of the byte before, which a table of nclass * nclass entries
 * holds (dflt); only the children of the states of depth 2 or more on
 * s's chain differ. Those few are packed into one shared array of
 * slots, each state at a base offset of its own so that the slots of
 * different states interleave (row displacement, as in yacc's and
 * flex's tables), and a slot names the base of the state that owns it.
 * A state is its base: the scan reads slot s + c and takes its target
 * if s owns it, dflt[p][c] if not. The dense table this replaces had
 * a row of nclass entries per state, and literals in other languages
 * had made the alphabet 256 classes wide: 11 MB for 2,154 literals,
 * against about 0.4 MB now, and the two lookups of a byte are
 * independent (only the slot's depends on the state).
 */
#include <stdlib.h>
#include <string.h>

#include "acmatch.h"
#include "xalloc.h"

/* A target: the state's base, OUTBIT set when the state reports. */
#define OUTBIT	0x80000000u
#define NONE	UINT32_MAX

struct acslot {
	uint32_t	 owner;		/* the base of the state, or NONE */
	uint32_t	 next;		/* target */
};

struct acmatch {
	uint16_t	 cls[256];	/* byte -> class; 0 = no literal has it */
	size_t		 nclass;
	size_t		 maxlen;	/* of the longest literal */
	/*
	 * dflt[p * nclass + c]: the target on class c after a byte of
	 * class p, unless the state owns slot base + c. Row 0 is the
	 * root's, where a scan starts.
	 */
	uint32_t	*dflt;
	uint32_t	 rootbase;
	struct acslot	*slot;		/* nslot: the last base + nclass */
	size_t		 nslot;
	size_t		 nlits;
	/*
	 * For the reports: the bases of the states that report literals,
	 * ascending; state obase[k] reports olist[ostart[k] ..
	 * ostart[k+1]), its own literals and its dictionary chain's.
	 */
	uint32_t	*obase;
	size_t		 nout;
	uint32_t	*ostart;
	uint32_t	*olist;
};

/*
 * The trie while building: a state's children are a list (first, then
 * sib), each child knowing the class of its edge.
 */
struct trie {
	uint32_t	*first;		/* first child, or NONE */
	uint32_t	*sib;		/* next sibling, or NONE */
	uint16_t	*ecls;		/* class of the edge into the state */
	uint16_t	*depth;
	uint32_t	*out;		/* first literal ending here, or NONE */
	uint32_t	*outnext;	/* per literal: the next one ending there */
	uint32_t	*fail;
	uint32_t	*dict;		/* dictionary link, or 0 */
	uint32_t	*order;		/* breadth first, root first */
	size_t		 n;
};

static void
trie_init(struct trie *tr, size_t cap, size_t nlits)
{
	tr->first = xmalloc(cap * sizeof(*tr->first));
	tr->sib = xmalloc(cap * sizeof(*tr->sib));
	tr->ecls = xmalloc(cap * sizeof(*tr->ecls));
	tr->depth = xmalloc(cap * sizeof(*tr->depth));
	tr->out = xmalloc(cap * sizeof(*tr->out));
	tr->outnext = xmalloc(nlits * sizeof(*tr->outnext));
	tr->fail = xmalloc(cap * sizeof(*tr->fail));
	tr->dict = xmalloc(cap * sizeof(*tr->dict));
	tr->order = xmalloc(cap * sizeof(*tr->order));
	tr->n = 1;
	tr->first[0] = tr->sib[0] = tr->out[0] = NONE;
	tr->ecls[0] = tr->depth[0] = 0;
}

static void
trie_free(struct trie *tr)
{
	free(tr->first);
	free(tr->sib);
	free(tr->ecls);
	free(tr->depth);
	free(tr->out);
	free(tr->outnext);
	free(tr->fail);
	free(tr->dict);
	free(tr->order);
}

static uint32_t
trie_child(const struct trie *tr, uint32_t s, unsigned c)
{
	uint32_t t;

	for (t = tr->first[s]; t != NONE; t = tr->sib[t])
		if (tr->ecls[t] == c)
			return t;
	return NONE;
}

static void
trie_add(struct trie *tr, const uint16_t *cls, const char *lit, size_t len,
    uint32_t id)
{
	uint32_t s = 0, t;
	size_t j;

	for (j = 0; j < len; j++) {
		unsigned c = cls[(unsigned char)lit[j]];

		if ((t = trie_child(tr, s, c)) == NONE) {
			t = (uint32_t)tr->n++;
			tr->first[t] = NONE;
			tr->out[t] = NONE;
			tr->ecls[t] = (uint16_t)c;
			tr->depth[t] = (uint16_t)(tr->depth[s] + 1);
			tr->sib[t] = tr->first[s];
			tr->first[s] = t;
		}
		s = t;
	}
	tr->outnext[id] = tr->out[s];
	tr->out[s] = id;
}

/* The failure link of s's child on class c. */
static uint32_t
trie_fail(const struct trie *tr, uint32_t s, unsigned c)
{
	uint32_t f, g;

	if (s == 0)
		return 0;
	for (f = tr->fail[s];; f = tr->fail[f]) {
		if ((g = trie_child(tr, f, c)) != NONE)
			return g;
		if (f == 0)
			return 0;
	}
}

/* Failure and dictionary links, and the breadth-first order. */
static void
trie_links(struct trie *tr)
{
	size_t head = 0, tail = 0;
	uint32_t s, t, f;

	tr->fail[0] = tr->dict[0] = 0;
	tr->order[tail++] = 0;
	while (head < tail) {
		s = tr->order[head++];
		for (t = tr->first[s]; t != NONE; t = tr->sib[t]) {
			f = tr->fail[t] = trie_fail(tr, s, tr->ecls[t]);
			tr->dict[t] = tr->out[f] != NONE ? f : tr->dict[f];
			tr->order[tail++] = t;
		}
	}
}

/*
 * The transitions each state keeps in slots: for every class a child
 * of a state of depth 2 or more on its failure chain (itself first)
 * continues, the nearest such child. State s's are rcls/rto[rstart[s]
 * .. rstart[s+1]).
 */
struct rows {
	size_t		*rstart;
	uint16_t	*rcls;
	uint32_t	*rto;
};

static void
rows_build(struct rows *r, const struct trie *tr, size_t nclass)
{
	uint32_t *mark = xmalloc(nclass * sizeof(*mark)), s, f, t;
	size_t n = 0, cap = tr->n;

	memset(mark, 0xff, nclass * sizeof(*mark));
	r->rstart = xmalloc((tr->n + 1) * sizeof(*r->rstart));
	r->rcls = xmalloc(cap * sizeof(*r->rcls));
	r->rto = xmalloc(cap * sizeof(*r->rto));
	r->rstart[0] = 0;
	for (s = 0; s < tr->n; s++) {
		for (f = s; tr->depth[f] >= 2; f = tr->fail[f])
			for (t = tr->first[f]; t != NONE; t = tr->sib[t]) {
				if (mark[tr->ecls[t]] == s)
					continue;	/* a nearer state's */
				mark[tr->ecls[t]] = s;
				if (n == cap) {
					cap *= 2;
					r->rcls = xreallocarray(r->rcls, cap,
					    sizeof(*r->rcls));
					r->rto = xreallocarray(r->rto, cap,
					    sizeof(*r->rto));
				}
				r->rcls[n] = tr->ecls[t];
				r->rto[n++] = t;
			}
		r->rstart[s + 1] = n;
	}
	free(mark);
}

static void
rows_free(struct rows *r)
{
	free(r->rstart);
	free(r->rcls);
	free(r->rto);
}

/*
 * The packing's state: which slots are used, which bases taken, and
 * for the search, free[i], a slot at or before the first free one from
 * i on (i itself when it is free; followed and shortened as in
 * union-find). The table is nearly full behind its front, so the
 * search goes from free slot to free slot, not base to base.
 */
struct packing {
	uint8_t		*used;
	uint8_t		*isbase;
	uint32_t	*free;
	size_t		 cap;
};

/* Grows the maps to hold at least need positions. */
static void
pack_grow(struct packing *pk, size_t need)
{
	size_t old = pk->cap, i;

	if (need <= old)
		return;
	while (pk->cap < need)
		pk->cap *= 2;
	pk->used = xrealloc(pk->used, pk->cap);
	pk->isbase = xrealloc(pk->isbase, pk->cap);
	pk->free = xreallocarray(pk->free, pk->cap, sizeof(*pk->free));
	memset(pk->used + old, 0, pk->cap - old);
	memset(pk->isbase + old, 0, pk->cap - old);
	for (i = old; i < pk->cap; i++)
		pk->free[i] = (uint32_t)i;
}

/* The first free slot at or after i. */
static size_t
pack_free(struct packing *pk, size_t i)
{
	size_t j = i, k;

	pack_grow(pk, i + 1);
	while (pk->free[j] != j) {
		j = pk->free[j];
		pack_grow(pk, j + 1);
	}
	while (pk->free[i] != j) {	/* the path now leads straight to j */
		k = pk->free[i];
		pk->free[i] = (uint32_t)j;
		i = k;
	}
	return j;
}

static void
pack_use(struct packing *pk, size_t i)
{
	pk->used[i] = 1;
	pk->free[i] = (uint32_t)(i + 1);
}

/* Can state s take base b? */
static int
pack_fits(const struct packing *pk, const struct rows *r, uint32_t s,
    size_t b)
{
	size_t i;

	if (pk->isbase[b])
		return 0;
	for (i = r->rstart[s]; i < r->rstart[s + 1]; i++)
		if (pk->used[b + r->rcls[i]])
			return 0;
	return 1;
}

/*
 * Gives every state a base of its own, first fit: the lowest base no
 * other state has where the state's classes land on free slots. Those
 * bases put its lowest class on a free slot, so only they are tried.
 * Breadth first, so that the shallow states, where a scan spends most
 * of its time, sit together at the front. Returns the bases; *nslot is
 * the size the slots need.
 */
static uint32_t *
pack(const struct trie *tr, const struct rows *r, size_t nclass,
    size_t *nslot)
{
	uint32_t *base = xmalloc(tr->n * sizeof(*base)), s;
	struct packing pk = { NULL, NULL, NULL, 0 };
	size_t fbase = 0, top = 0, b, f, i, k, cmin;

	pk.cap = 1;
	pk.used = xcalloc(1, 1);
	pk.isbase = xcalloc(1, 1);
	pk.free = xcalloc(1, sizeof(*pk.free));
	for (k = 0; k < tr->n; k++) {
		s = tr->order[k];
		if (r->rstart[s] == r->rstart[s + 1]) {
			/* no slots: any base no state has */
			for (; pack_grow(&pk, fbase + 1), pk.isbase[fbase];
			    fbase++)
				;
			b = fbase;
		} else {
			for (cmin = nclass, i = r->rstart[s];
			    i < r->rstart[s + 1]; i++)
				if (r->rcls[i] < cmin)
					cmin = r->rcls[i];
			for (f = pack_free(&pk, cmin);; f = pack_free(&pk, f + 1)) {
				b = f - cmin;
				pack_grow(&pk, b + nclass + 1);
				if (pack_fits(&pk, r, s, b))
					break;
			}
		}
		base[s] = (uint32_t)b;
		pk.isbase[b] = 1;
		for (i = r->rstart[s]; i < r->rstart[s + 1]; i++)
			pack_use(&pk, b + r->rcls[i]);
		if (b + nclass > top)
			top = b + nclass;
	}
	free(pk.used);
	free(pk.isbase);
	free(pk.free);
	*nslot = top;
	return base;
}

static uint32_t
target(const struct trie *tr, const uint32_t *base, uint32_t t)
{
	return base[t] | (tr->out[t] != NONE || tr->dict[t] != 0 ? OUTBIT : 0);
}

/* The packed slots. */
static void
fill_slots(struct acmatch *ac, const struct trie *tr, const struct rows *r,
    const uint32_t *base)
{
	uint32_t s;
	size_t i;

	ac->slot = xmalloc(ac->nslot * sizeof(*ac->slot));
	for (i = 0; i < ac->nslot; i++) {
		ac->slot[i].owner = NONE;
		ac->slot[i].next = 0;
	}
	for (s = 0; s < tr->n; s++)
		for (i = r->rstart[s]; i < r->rstart[s + 1]; i++) {
			struct acslot *e = &ac->slot[base[s] + r->rcls[i]];

			e->owner = base[s];
			e->next = target(tr, base, r->rto[i]);
		}
}

/*
 * The default transitions: after class p, those of p's state of depth
 * 1 (its children, then the root's), or the root's if no literal
 * starts with p.
 */
static void
fill_dflt(struct acmatch *ac, const struct trie *tr, const uint32_t *base)
{
	size_t p, c, n = ac->nclass;
	uint32_t d1, t;

	ac->rootbase = base[0];
	ac->dflt = xmalloc(n * n * sizeof(*ac->dflt));
	for (c = 0; c < n; c++) {
		t = trie_child(tr, 0, (unsigned)c);
		ac->dflt[c] = t == NONE ? base[0] : target(tr, base, t);
	}
	for (p = 1; p < n; p++) {
		d1 = trie_child(tr, 0, (unsigned)p);
		for (c = 0; c < n; c++) {
			t = d1 == NONE ? NONE : trie_child(tr, d1, (unsigned)c);
			ac->dflt[p * n + c] = t == NONE ? ac->dflt[c] :
			    target(tr, base, t);
		}
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* What each reporting state reports, in the order of their bases. */
static void
fill_outputs(struct acmatch *ac, const struct trie *tr, const uint32_t *base)
{
	uint64_t *key = xmalloc(tr->n * sizeof(*key));
	uint32_t s, f, l;
	size_t k, i;

	for (ac->nout = 0, s = 1; s < tr->n; s++)
		if (tr->out[s] != NONE || tr->dict[s] != 0)
			key[ac->nout++] = (uint64_t)base[s] << 32 | s;
	qsort(key, ac->nout, sizeof(*key), cmp_u64);
	ac->obase = xmalloc((ac->nout + 1) * sizeof(*ac->obase));
	ac->ostart = xcalloc(ac->nout + 1, sizeof(*ac->ostart));
	for (k = 0; k < ac->nout; k++) {
		ac->obase[k] = (uint32_t)(key[k] >> 32);
		ac->ostart[k + 1] = ac->ostart[k];
		for (f = (uint32_t)key[k]; f != 0; f = tr->dict[f])
			for (l = tr->out[f]; l != NONE; l = tr->outnext[l])
				ac->ostart[k + 1]++;
	}
	ac->olist = xmalloc((ac->ostart[ac->nout] + 1) * sizeof(*ac->olist));
	for (k = 0, i = 0; k < ac->nout; k++)
		for (f = (uint32_t)key[k]; f != 0; f = tr->dict[f])
			for (l = tr->out[f]; l != NONE; l = tr->outnext[l])
				ac->olist[i++] = l;
	free(key);
}

struct acmatch *
acmatch_build(const char *const *lits, const size_t *lens, size_t n)
{
	struct acmatch *ac;
	struct trie tr;
	struct rows r;
	uint32_t *base;
	size_t i, j, cap;

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
	/* States: at most the number of literal bytes, plus the root. */
	for (cap = 1, i = 0; i < n; i++) {
		cap += lens[i];
		if (lens[i] > ac->maxlen)
			ac->maxlen = lens[i];
	}
	trie_init(&tr, cap, n);
	for (i = 0; i < n; i++)
		trie_add(&tr, ac->cls, lits[i], lens[i], (uint32_t)i);
	trie_links(&tr);
	rows_build(&r, &tr, ac->nclass);
	base = pack(&tr, &r, ac->nclass, &ac->nslot);
	fill_slots(ac, &tr, &r, base);
	fill_dflt(ac, &tr, base);
	fill_outputs(ac, &tr, base);
	free(base);
	rows_free(&r);
	trie_free(&tr);
	return ac;
}

void
acmatch_free(struct acmatch *ac)
{
	if (ac == NULL)
		return;
	free(ac->dflt);
	free(ac->slot);
	free(ac->obase);
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
 * Sets the bits of the literals a state reports (given as its target).
 * Out of line and cold: the scan loop keeps its lanes in registers.
 */
static void __attribute__((noinline, cold))
report(const struct acmatch *ac, uint32_t to, uint64_t *bits)
{
	uint32_t b = to & ~OUTBIT, i, l;
	size_t lo = 0, hi = ac->nout, k;

	while (lo + 1 < hi) {		/* the last k with obase[k] <= b */
		k = (lo + hi) / 2;
		if (ac->obase[k] <= b)
			lo = k;
		else
			hi = k;
	}
	for (i = ac->ostart[lo]; i < ac->ostart[lo + 1]; i++) {
		l = ac->olist[i];
		bits[l / 64] |= UINT64_C(1) << (l % 64);
	}
}

/*
 * One byte of a lane: state s, the previous byte's row of dflt in r.
 * The slot load is the only one that waits on the state; the choice
 * between it and the default is a conditional move.
 */
#define STEP(s, r, p) do {						\
	uint32_t b_ = (s) & ~OUTBIT, c_ = cls[*(p)++];			\
	const struct acslot *e_ = &slot[b_ + c_];			\
	uint32_t d_ = dflt[(r) + c_], n_ = e_->next;			\
									\
	(s) = e_->owner == b_ ? n_ : d_;				\
	(r) = c_ * nclass;						\
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
	const struct acslot *slot;
	const uint32_t *dflt;
	uint32_t s0, s1, s2, s3, r0 = 0, r1 = 0, r2 = 0, r3 = 0, nclass;
	size_t chunk, over;

	memset(bits, 0, acmatch_words(ac) * sizeof(*bits));
	if (ac == NULL)
		return;
	slot = ac->slot;
	dflt = ac->dflt;
	cls = ac->cls;
	nclass = (uint32_t)ac->nclass;
	s0 = s1 = s2 = s3 = ac->rootbase;
	over = ac->maxlen - 1;
	chunk = len / 4;
	if (chunk <= over) {
		for (p0 = t; p0 < e; )
			STEP(s0, r0, p0);
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
		STEP(s0, r0, p0);
		STEP(s1, r1, p1);
		STEP(s2, r2, p2);
		STEP(s3, r3, p3);
	}
	while (p1 < t + 2 * chunk)
		STEP(s1, r1, p1);
	while (p2 < t + 3 * chunk)
		STEP(s2, r2, p2);
	while (p3 < e)
		STEP(s3, r3, p3);
}
