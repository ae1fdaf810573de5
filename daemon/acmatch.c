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
 * if s owns it, dflt[p][c] if not. The scan reads dflt by the two
 * bytes themselves, a table of 65,536 entries made from it (pair):
 * one load for the two bytes, where the classes of both, a shift and
 * an add came before it. The dense table this replaces had
 * a row of nclass entries per state, and literals in other languages
 * had made the alphabet 256 classes wide: 11 MB for 2,154 literals,
 * against about 0.4 MB now, and the two lookups of a byte are
 * independent (only the slot's depends on the state).
 */
#include <stdlib.h>
#include <string.h>

#include "acmatch.h"
#include "xalloc.h"

#define NONE	UINT32_MAX

struct acslot {
	uint32_t	 owner;		/* the base of the state, or NONE */
	uint32_t	 next;		/* the target's base */
};

struct acmatch {
	uint32_t	 cls[256];	/* byte -> class */
	size_t		 nclass;	/* class 0: no literal has the byte */
	size_t		 maxlen;	/* of the longest literal */
	/*
	 * dflt[p * nclass + c] (while building): the target on class c
	 * after a byte of class p, unless the state owns slot base + c.
	 * Row 0 is the root's, where a scan starts. The scan reads it as
	 * pair[] (by the two bytes, read as one uint16_t) and, for the
	 * first byte of a text, first[] (by the byte).
	 */
	uint32_t	*dflt;
	uint32_t	*pair;
	uint32_t	 first[256];
	uint32_t	 rootbase;
	uint32_t	 outmin;	/* the states from here on report */
	struct acslot	*slot;		/* nslot: the last base + nclass */
	size_t		 nslot;
	size_t		 nlits;
	/*
	 * For the reports. No state has a slot for class 0 (no literal
	 * has its bytes), so a state that reports literals keeps its slot
	 * of class 0 for them: it reports olist[next .. next + NONE -
	 * owner), its own literals and its dictionary chain's. The owner
	 * is then above every base, so the scan never takes the slot for
	 * a transition, and a report reads one slot, then its list.
	 */
	uint32_t	*olist;
	/*
	 * dep[base]: the state's depth, the length of the text it stands
	 * for, at most DEPMAX. A lane that has walked past its end goes
	 * on while the state it is in began before that end (below).
	 */
	uint8_t		*dep;
};

#define DEPMAX	255
/* Under this many bytes a lane, the text is walked in one. */
#define LANEMIN	8

/*
 * The trie while building: a state's children are a list (first, then
 * sib), each child knowing the class of its edge.
 */
struct trie {
	uint32_t	*first;		/* first child, or NONE */
	uint32_t	*sib;		/* next sibling, or NONE */
	uint16_t	*ecls;		/* class of the edge into the state */
	uint32_t	*depth;
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
trie_add(struct trie *tr, const uint32_t *cls, const char *lit, size_t len,
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
			tr->depth[t] = tr->depth[s] + 1;
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

static int
reports(const struct trie *tr, uint32_t s)
{
	return tr->out[s] != NONE || tr->dict[s] != 0;
}

/* Can state s take base b? Slot b too if it reports (rep). */
static int
pack_fits(const struct packing *pk, const struct rows *r, uint32_t s,
    int rep, size_t b)
{
	size_t i;

	if (pk->isbase[b] || (rep && pk->used[b]))
		return 0;
	for (i = r->rstart[s]; i < r->rstart[s + 1]; i++)
		if (pk->used[b + r->rcls[i]])
			return 0;
	return 1;
}

/*
 * Gives state s a base of its own, first fit: the lowest base from lo
 * on that no other state has, where the state's classes (and class 0,
 * for a state that reports) land on free slots. Those bases put the
 * lowest of them on a free slot, so only they are tried.
 */
static size_t
pack_one(struct packing *pk, const struct trie *tr, const struct rows *r,
    size_t nclass, uint32_t s, size_t lo)
{
	size_t b, f, i, cmin;
	int rep = reports(tr, s);

	if (r->rstart[s] == r->rstart[s + 1] && !rep) {
		/* no slots: any base no state has */
		for (b = lo; pack_grow(pk, b + 1), pk->isbase[b]; b++)
			;
	} else {
		for (cmin = rep ? 0 : nclass, i = r->rstart[s];
		    i < r->rstart[s + 1]; i++)
			if (r->rcls[i] < cmin)
				cmin = r->rcls[i];
		for (f = pack_free(pk, lo + cmin);; f = pack_free(pk, f + 1)) {
			b = f - cmin;
			pack_grow(pk, b + nclass + 1);
			if (pack_fits(pk, r, s, rep, b))
				break;
		}
	}
	pk->isbase[b] = 1;
	if (rep)
		pack_use(pk, b);
	for (i = r->rstart[s]; i < r->rstart[s + 1]; i++)
		pack_use(pk, b + r->rcls[i]);
	return b;
}

/*
 * The bases of all states, breadth first so that the shallow states,
 * where a scan spends most of its time, sit together at the front;
 * first the states that report nothing, then those that report, each
 * above every base of the first: a scan tells them by their base
 * alone (*outmin, the lowest of theirs). Returns the bases; *nslot is
 * the size the slots need.
 */
static uint32_t *
pack(const struct trie *tr, const struct rows *r, size_t nclass,
    size_t *nslot, uint32_t *outmin)
{
	uint32_t *base = xmalloc(tr->n * sizeof(*base)), s;
	struct packing pk = { NULL, NULL, NULL, 1 };
	size_t top = 0, lo = 0, k;
	int pass;

	pk.used = xcalloc(1, 1);
	pk.isbase = xcalloc(1, 1);
	pk.free = xcalloc(1, sizeof(*pk.free));
	for (pass = 0; pass < 2; pass++) {
		for (k = 0; k < tr->n; k++) {
			s = tr->order[k];
			if (reports(tr, s) != pass)
				continue;
			base[s] = (uint32_t)pack_one(&pk, tr, r, nclass, s,
			    pass ? lo : 0);
			if (base[s] + nclass > top)
				top = base[s] + nclass;
		}
		if (pass == 0)
			for (lo = 0, s = 0; s < tr->n; s++)
				if (!reports(tr, s) && base[s] >= lo)
					lo = base[s] + 1;
	}
	*outmin = (uint32_t)lo;
	free(pk.used);
	free(pk.isbase);
	free(pk.free);
	*nslot = top;
	return base;
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
			e->next = base[r->rto[i]];
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
		ac->dflt[c] = t == NONE ? base[0] : base[t];
	}
	for (p = 1; p < n; p++) {
		d1 = trie_child(tr, 0, (unsigned)p);
		for (c = 0; c < n; c++) {
			t = d1 == NONE ? NONE : trie_child(tr, d1, (unsigned)c);
			ac->dflt[p * n + c] = t == NONE ? ac->dflt[c] :
			    base[t];
		}
	}
}

/*
 * What each reporting state reports, in its slot of class 0 (after
 * fill_slots()): where its list starts, and NONE less its length.
 */
static void
fill_outputs(struct acmatch *ac, const struct trie *tr, const uint32_t *base)
{
	uint32_t s, f, l, n;
	size_t i, total;

	for (total = 0, s = 1; s < tr->n; s++) {
		if (!reports(tr, s))
			continue;
		for (n = 0, f = s; f != 0; f = tr->dict[f])
			for (l = tr->out[f]; l != NONE; l = tr->outnext[l])
				n++;
		ac->slot[base[s]].next = (uint32_t)total;
		ac->slot[base[s]].owner = NONE - n;
		total += n;
	}
	ac->olist = xmalloc((total + 1) * sizeof(*ac->olist));
	for (i = 0, s = 1; s < tr->n; s++)
		for (f = reports(tr, s) ? s : 0; f != 0; f = tr->dict[f])
			for (l = tr->out[f]; l != NONE; l = tr->outnext[l])
				ac->olist[i++] = l;
}

/*
 * dflt by bytes: pair[] by the two bytes as a scan reads them (one
 * uint16_t, in the machine's order), first[] by a text's first byte.
 * dflt is not needed after.
 */
static void
fill_pairs(struct acmatch *ac)
{
	unsigned b0, b1;
	unsigned char two[2];
	uint16_t w;

	ac->pair = xmalloc(65536 * sizeof(*ac->pair));
	for (b0 = 0; b0 < 256; b0++) {
		ac->first[b0] = ac->dflt[ac->cls[b0]];
		for (b1 = 0; b1 < 256; b1++) {
			two[0] = (unsigned char)b0;
			two[1] = (unsigned char)b1;
			memcpy(&w, two, sizeof(w));
			ac->pair[w] = ac->dflt[ac->cls[b0] * ac->nclass +
			    ac->cls[b1]];
		}
	}
	free(ac->dflt);
	ac->dflt = NULL;
}

/* The states' depths, by base (slots no state has as its base: 0). */
static void
fill_depths(struct acmatch *ac, const struct trie *tr, const uint32_t *base)
{
	uint32_t s;

	ac->dep = xcalloc(ac->nslot, sizeof(*ac->dep));
	for (s = 0; s < tr->n; s++)
		ac->dep[base[s]] = tr->depth[s] > DEPMAX ? DEPMAX :
		    (uint8_t)tr->depth[s];
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
				ac->cls[b] = (uint32_t)ac->nclass++;
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
	base = pack(&tr, &r, ac->nclass, &ac->nslot, &ac->outmin);
	fill_slots(ac, &tr, &r, base);
	fill_dflt(ac, &tr, base);
	fill_outputs(ac, &tr, base);
	fill_depths(ac, &tr, base);
	fill_pairs(ac);
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
	free(ac->pair);
	free(ac->slot);
	free(ac->olist);
	free(ac->dep);
	free(ac);
}

size_t
acmatch_words(const struct acmatch *ac)
{
	return ac == NULL ? 1 : (ac->nlits + 63) / 64;
}

/*
 * The states that report, as the lanes reach them. A reply's bytes
 * reach one every five or so, as often as not: tested with a branch,
 * that was a misprediction at every few bytes. Each step writes its
 * state to the next entry and moves on only if the state reports; the
 * entries are reported when the buffer fills and at the end.
 */
#define HITS	256

struct hits {
	uint32_t	st[HITS];
	size_t		n;
};

/*
 * Sets the bits (and marks, if any) of the literals the states in h
 * report, and empties h. Out of line: the scan loop keeps its lanes in
 * registers. The text's first state goes in with the others.
 */
static void __attribute__((noinline))
hits_flush(const struct acmatch *ac, struct hits *h, uint64_t *bits,
    uint64_t *marks)
{
	const struct acslot *e;
	const uint32_t *l, *end;
	size_t i;

	/* Each state's list: its own literals and its dictionary chain's. */
	for (i = 0; i < h->n; i++) {
		e = &ac->slot[h->st[i]];
		l = ac->olist + e->next;
		end = l + (NONE - e->owner);
		if (marks == NULL)
			for (; l < end; l++)
				bits[*l / 64] |= UINT64_C(1) << (*l % 64);
		else
			for (; l < end; l++) {
				bits[*l / 64] |= UINT64_C(1) << (*l % 64);
				marks[*l / 4096] |= UINT64_C(1) <<
				    (*l / 64 % 64);
			}
	}
	h->n = 0;
}

/*
 * Whether a state owns the slot of a byte is as good as random: told
 * so, the compiler chooses with a conditional move, not a branch that
 * would often be mispredicted.
 */
#if defined(__has_builtin)
#if __has_builtin(__builtin_expect_with_probability)
#define UNPREDICTABLE(x)	__builtin_expect_with_probability((x), 1, 0.5)
#endif
#endif
#ifndef UNPREDICTABLE
#define UNPREDICTABLE(x)	(x)
#endif

/*
 * One byte of a lane in state s, the byte before it at p[-1]. Only
 * the slot's load waits on the state.
 */
#define STEP(s, p) do {							\
	uint32_t c_ = cls[(p)[0]];					\
	uint16_t w_;							\
	uint32_t d_;							\
									\
	memcpy(&w_, (p) - 1, sizeof(w_));				\
	d_ = pair[w_];							\
	const struct acslot *e_ = &slot[(s) + c_];			\
	uint32_t n_ = e_->next;						\
									\
	(s) = UNPREDICTABLE(e_->owner == (uint32_t)(s)) ? n_ : d_;	\
	(p)++;								\
	h.st[h.n] = (uint32_t)(s);					\
	h.n += (s) >= outmin;						\
} while (0)

/* Room for four more steps, checked once a round of the lanes. */
#define ROOM() do {							\
	if (h.n > HITS - 4)						\
		hits_flush(ac, &h, bits, marks);			\
} while (0)

/*
 * A lane that has walked to its end, at p, goes on while its state
 * began before that end, S: the literals it may still find are the
 * ones the next lane, which starts at S, cannot see whole.
 */
#define TAIL(s, p, S) do {						\
	while ((p) < e && dep[s] > (size_t)((p) - (S))) {		\
		STEP(s, p);						\
		ROOM();							\
	}								\
} while (0)

/*
 * Each byte costs a load that depends on the one before, so one walk
 * over the text waits on memory at every byte. The text is cut into
 * four pieces walked side by side: the loads of the lanes overlap and
 * the scan runs several times faster. A lane starts at the root, and
 * reads its first byte as if the byte before it had been read too
 * (the default row is that byte's): it may then also report a literal
 * that begins there, which the text does hold. A literal that crosses
 * from one piece into the next is found by the lane of the first: it
 * walks on past its end for as long as its state began before that
 * end, a few bytes where a lane that started maxlen - 1 bytes early
 * would walk them all. With literals longer than DEPMAX (no prefilter
 * makes them) the lanes start that early.
 */
static void
scan(const struct acmatch *ac, const char *text, size_t len, uint64_t *bits,
    uint64_t *marks)
{
	const unsigned char *t = (const unsigned char *)text, *e = t + len;
	const unsigned char *p0, *p1, *p2, *p3, *e0;
	const uint32_t *cls, *pair;
	const struct acslot *slot;
	const uint8_t *dep;
	size_t s0, s1, s2, s3;		/* wide: no extension in the chain */
	uint32_t outmin;
	size_t chunk, lead;
	struct hits h;

	memset(bits, 0, acmatch_words(ac) * sizeof(*bits));
	if (ac == NULL || len == 0)
		return;
	slot = ac->slot;
	pair = ac->pair;
	cls = ac->cls;
	dep = ac->dep;
	outmin = ac->outmin;
	/* The first byte has none before it: the root's row. */
	s0 = ac->first[t[0]];
	h.st[0] = (uint32_t)s0;
	h.n = s0 >= outmin;
	s1 = s2 = s3 = ac->rootbase;
	lead = ac->maxlen > DEPMAX ? ac->maxlen - 1 : 0;
	chunk = len / 4;
	if (chunk <= lead || chunk < LANEMIN) {
		for (p0 = t + 1; p0 < e; ) {
			STEP(s0, p0);
			ROOM();
		}
		hits_flush(ac, &h, bits, marks);
		return;
	}
	/*
	 * Lanes 0-2 cover chunk bytes each, lane 3 the rest. All walk the
	 * length of lane 0 together, then each finishes its own and walks
	 * on past its end as long as it needs to.
	 */
	p0 = t + 1;
	p1 = t + chunk - lead;
	p2 = t + 2 * chunk - lead;
	p3 = t + 3 * chunk - lead;
	for (e0 = t + chunk; p0 < e0; ) {
		STEP(s0, p0);
		STEP(s1, p1);
		STEP(s2, p2);
		STEP(s3, p3);
		ROOM();
	}
	while (p1 < t + 2 * chunk) {
		STEP(s1, p1);
		ROOM();
	}
	while (p2 < t + 3 * chunk) {
		STEP(s2, p2);
		ROOM();
	}
	while (p3 < e) {
		STEP(s3, p3);
		ROOM();
	}
	TAIL(s0, p0, t + chunk);
	TAIL(s1, p1, t + 2 * chunk);
	TAIL(s2, p2, t + 3 * chunk);
	hits_flush(ac, &h, bits, marks);
}

void
acmatch_scan(const struct acmatch *ac, const char *text, size_t len,
    uint64_t *bits)
{
	scan(ac, text, len, bits, NULL);
}

size_t
acmatch_mark_words(const struct acmatch *ac)
{
	return (acmatch_words(ac) + 63) / 64;
}

void
acmatch_scan_marked(const struct acmatch *ac, const char *text, size_t len,
    uint64_t *bits, uint64_t *marks)
{
	memset(marks, 0, acmatch_mark_words(ac) * sizeof(*marks));
	scan(ac, text, len, bits, marks);
}
