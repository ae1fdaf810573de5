/*
 * view.c -- the decisions in force, in memory (see view.h)
 *
 * Memory layout. Open addressing over 64-bit slots: the high 32 bits
 * are hash bits of the whole key, the low 32 the record's arena offset
 * plus one (0: empty, TOMB: deleted). A record is
 *
 *	[state][reason][klen][flags] [until u32] [domain] [key] [since]
 *	[status] [provider]
 *
 * where klen is the key's length (the local part's, for an address),
 * and what flags name is there and the rest is not: the end of the
 * state (u32, absent for 0: a suppression for ever, as most are), the
 * day the recipient's state began (u16, days since 1970 plus one), its
 * enhanced status (u16, packed by status_pack()), a destination's
 * provider ([plen][name]). With the day and the status the policy
 * server words a REJECT without reading the recipient's row: that
 * read, a B-tree walk, two file locks and a page read most times, was
 * the dearest part of a refused request.
 *
 * Domains are interned: an address is held as its local part and a
 * reference to its domain (the domain's offset in a table of domains
 * of the index's own, as a varint: 1 byte for the first 128 bytes of
 * domains, 2 up to 16 kB), since most addresses share a few domains;
 * a destination is held whole.
 * The hash and the compare still cover the whole address, byte for
 * byte, so a lookup is exact and probes as before; only the insert
 * asks the domains' own small hash. At 1,000,000 addresses over 1,000
 * domains ("gone0000000@d000.example.net", with an end and a day) a
 * record is 23 bytes where the whole key and an 8-byte header took 37
 * (2026-12-07). The worst case, every address at a domain of its
 * own, costs about 4 bytes an address more than whole keys once
 * loaded, 12 at the peak of the load (the domains' hash, which only
 * inserts ask, is dropped at view_swap()).
 *
 * Replaced records, and domains no record names any more, stay as
 * garbage until a compaction (idx_rebuild()), which interns afresh.
 *
 * See also: store.c (store_decide(), the order of the checks),
 * store_sqlite.c and store_redis.c (what fills a view).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "view.h"
#include "xalloc.h"

#define TOMB		0xffffffffu
#define REC_HDR		4
#define R_SINCE		0x01	/* the day its state began */
#define R_STATUS	0x02	/* its enhanced status */
#define R_PROV		0x04	/* a destination's provider */
#define R_ASK		0x08	/* since or status do not fit: read the row */
#define R_UNTIL		0x10	/* an end other than 0 */
#define R_DOM		0x20	/* key is the local part; a domain follows */

struct view_index {
	uint64_t	*slots;
	size_t		 cap;		/* slots: any multiple of 1024 */
	size_t		 used;		/* live and tombstones */
	size_t		 live;
	unsigned char	*arena;
	size_t		 alen, acap;
	size_t		 garbage;
	/* The domains: [dlen][name] each, and their hash (offset + 1). */
	unsigned char	*dom;
	size_t		 dlen, dcap;
	uint32_t	*dslots;
	size_t		 dscap;		/* a power of two, or 0 */
	size_t		 ndom;
};

struct idx_rec {
	uint32_t	 until;
	unsigned char	 state, reason, klen, plen, flags;
	uint16_t	 since_day;	/* with R_SINCE */
	uint16_t	 status;	/* with R_STATUS */
	uint32_t	 doff;		/* with R_DOM: its domain's offset */
	size_t		 size;		/* bytes in the arena */
	const char	*key;		/* klen bytes: R_DOM, the local part */
	const unsigned char *dom;	/* with R_DOM: [dlen][name] */
	const char	*prov;
};

static uint64_t
hash_key(const char *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, k;

	while (n >= 8) {
		memcpy(&k, s, 8);
		k *= 0xff51afd7ed558ccdULL;
		k ^= k >> 32;
		h = (h ^ k) * 0xc4ceb9fe1a85ec53ULL;
		s += 8;
		n -= 8;
	}
	k = 0;
	memcpy(&k, s, n);
	h = (h ^ k) * 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	return h;
}

static void
rec_read(const struct view_index *ix, uint32_t off, struct idx_rec *r)
{
	const unsigned char *p = ix->arena + off, *q;
	unsigned sh;

	r->state = p[0];
	r->reason = p[1];
	r->klen = p[2];
	r->flags = p[3];
	q = p + REC_HDR;
	r->until = 0;
	if (r->flags & R_UNTIL) {
		memcpy(&r->until, q, 4);
		q += 4;
	}
	r->doff = 0;
	r->dom = NULL;
	if (r->flags & R_DOM) {
		for (sh = 0; *q & 0x80; sh += 7)
			r->doff |= (uint32_t)(*q++ & 0x7f) << sh;
		r->doff |= (uint32_t)*q++ << sh;
		r->dom = ix->dom + r->doff;
	}
	r->key = (const char *)q;
	q += r->klen;
	r->since_day = r->status = 0;
	r->plen = 0;
	r->prov = NULL;
	if (r->flags & R_SINCE) {
		memcpy(&r->since_day, q, 2);
		q += 2;
	}
	if (r->flags & R_STATUS) {
		memcpy(&r->status, q, 2);
		q += 2;
	}
	if (r->flags & R_PROV) {
		r->plen = *q++;
		r->prov = (const char *)q;
		q += r->plen;
	}
	r->size = (size_t)(q - p);
}

/* Is r's key the n bytes at key, all of them? */
static int
rec_eq(const struct idx_rec *r, const char *key, size_t n)
{
	size_t dl;

	if (!(r->flags & R_DOM))
		return r->klen == n && memcmp(r->key, key, n) == 0;
	dl = r->dom[0];
	return (size_t)r->klen + 1 + dl == n && key[r->klen] == '@' &&
	    memcmp(r->key, key, r->klen) == 0 &&
	    memcmp(r->dom + 1, key + r->klen + 1, dl) == 0;
}

/* r's whole key into buf (VIEW_KEY_MAX + 1 bytes); returns its length. */
static size_t
rec_key(const struct idx_rec *r, char *buf)
{
	size_t n = r->klen;

	memcpy(buf, r->key, n);
	if (r->flags & R_DOM) {
		buf[n++] = '@';
		memcpy(buf + n, r->dom + 1, r->dom[0]);
		n += r->dom[0];
	}
	return n;
}

/* Bytes of the varint for v. */
static size_t
varint_len(uint32_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/*
 * A hash of the domain table with room for n domains, in *capp slots:
 * at most half full, to be grown past three quarters.
 */
static uint32_t *
dom_slots_for(const struct view_index *ix, size_t n, size_t *capp)
{
	uint32_t *ns;
	size_t cap = 64, j, off;

	while (cap < n * 2)
		cap *= 2;
	ns = xcalloc(cap, sizeof(*ns));
	for (off = 0; off < ix->dlen; off += 1 + ix->dom[off]) {
		j = (size_t)hash_key((const char *)ix->dom + off + 1,
		    ix->dom[off]) & (cap - 1);
		while (ns[j] != 0)
			j = (j + 1) & (cap - 1);
		ns[j] = (uint32_t)off + 1;
	}
	*capp = cap;
	return ns;
}

/*
 * The offset of domain d (n bytes, 1 to 255) in the table, added if it
 * is not there yet.
 */
static uint32_t
dom_intern(struct view_index *ix, const char *d, size_t n)
{
	size_t j, cap;
	uint32_t s, *ns;

	if ((ix->ndom + 1) * 4 > ix->dscap * 3) {
		ns = dom_slots_for(ix, ix->ndom + 1, &cap);
		free(ix->dslots);
		ix->dslots = ns;
		ix->dscap = cap;
	}
	for (j = (size_t)hash_key(d, n) & (ix->dscap - 1);
	    (s = ix->dslots[j]) != 0; j = (j + 1) & (ix->dscap - 1))
		if (ix->dom[s - 1] == n && memcmp(ix->dom + s, d, n) == 0)
			return s - 1;
	if (ix->dlen + 1 + n > ix->dcap) {
		ix->dcap = (ix->dcap + 1 + n) * 3 / 2 + 256;
		if (ix->dcap > UINT32_MAX - 1)
			log_panic("store: in-memory domains over 4 GB");
		ix->dom = xrealloc(ix->dom, ix->dcap);
	}
	s = (uint32_t)ix->dlen;
	ix->dom[ix->dlen] = (unsigned char)n;
	memcpy(ix->dom + ix->dlen + 1, d, n);
	ix->dlen += 1 + n;
	ix->dslots[j] = s + 1;
	ix->ndom++;
	return s;
}

/*
 * An enhanced status as engine_answer() words it ("5.1.1"), in 16
 * bits: bit 15 the class (5 or 4), below it 1 + subject * 1000 +
 * detail. Returns 1 with *out set (0 when the status is not a 4 or 5
 * one: the reason's usual status is used then), or 0 when it is not
 * in that plain form or too large, and the row must be read.
 */
static int
status_pack(const char *s, uint16_t *out)
{
	unsigned v[2], i, n;
	const char *p = s + 2;

	*out = 0;
	if ((s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 1;
	for (i = 0; i < 2; i++) {
		for (v[i] = 0, n = 0; *p >= '0' && *p <= '9' && n < 4; n++)
			v[i] = v[i] * 10 + (unsigned)(*p++ - '0');
		/* Digits as printed back: no leading zero, at most three. */
		if (n == 0 || n > 3 || (n > 1 && p[-(int)n] == '0'))
			return 0;
		if (*p++ != (i == 0 ? '.' : '\0'))
			return 0;
	}
	if (v[0] > 31)
		return 0;
	*out = (uint16_t)((s[0] == '5' ? 0x8000 : 0) + 1 + v[0] * 1000 + v[1]);
	return 1;
}

/* The status status_pack() packed into buf (16 bytes), or "". */
static void
status_unpack(uint16_t code, char *buf)
{
	unsigned v = (code & 0x7fffu) - 1;

	if (code == 0) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, 16, "%c.%u.%u", code & 0x8000 ? '5' : '4', v / 1000,
	    v % 1000);
}

/*
 * The first slot to probe for h: its low 32 bits scaled to cap (the
 * high 32 are the tag), so that the table need not be a power of two
 * in size. Rounding 1.1 million up to 2^21 slots cost 4 MB at
 * 1,000,000 addresses.
 */
static size_t
home(uint64_t h, size_t cap)
{
	return (size_t)(((h & 0xffffffffULL) * cap) >> 32);
}


/* Returns the slot holding key, or the slot to insert it at (~). */
static size_t
idx_find(const struct view_index *ix, const char *key, size_t n, uint64_t h,
    int *found)
{
	size_t i, tomb = (size_t)-1;
	uint32_t tag = (uint32_t)(h >> 32), off;
	struct idx_rec r;

	*found = 0;
	for (i = home(h, ix->cap);; i = i + 1 == ix->cap ? 0 : i + 1) {
		uint64_t s = ix->slots[i];

		off = (uint32_t)s;
		if (off == 0)
			return tomb != (size_t)-1 ? tomb : i;
		if (off == TOMB) {
			if (tomb == (size_t)-1)
				tomb = i;
			continue;
		}
		if ((uint32_t)(s >> 32) != tag)
			continue;
		rec_read(ix, off - 1, &r);
		if (rec_eq(&r, key, n)) {
			*found = 1;
			return i;
		}
	}
}

static void idx_put(struct view_index *, const char *, size_t,
    const struct idx_rec *);

static void
idx_clear(struct view_index *ix)
{
	free(ix->slots);
	free(ix->arena);
	free(ix->dom);
	free(ix->dslots);
	memset(ix, 0, sizeof(*ix));
}

/*
 * Rebuilds with room for at least n records, dropping garbage: the
 * replaced records and the domains no live record names.
 */
static void
idx_rebuild(struct view_index *ix, size_t n)
{
	struct view_index old = *ix;
	struct idx_rec r;
	char key[VIEW_KEY_MAX + 1];
	size_t i, cap;

	/* At most 70% full, as before; in steps of 1024 slots. */
	cap = (n * 10 / 7 + 1024) / 1024 * 1024;
	memset(ix, 0, sizeof(*ix));
	ix->slots = xcalloc(cap, sizeof(*ix->slots));
	ix->cap = cap;
	ix->acap = old.alen - old.garbage + 4096;
	ix->arena = xmalloc(ix->acap);
	for (i = 0; old.slots != NULL && i < old.cap; i++) {
		uint32_t off = (uint32_t)old.slots[i];

		if (off == 0 || off == TOMB)
			continue;
		rec_read(&old, off - 1, &r);
		idx_put(ix, key, rec_key(&r, key), &r);
	}
	idx_clear(&old);
}

/*
 * New slots with room for at least n records, over the same arena:
 * tombstones go, the records stay where they are.
 */
static uint64_t *
idx_slots_for(const struct view_index *ix, size_t n, size_t *capp)
{
	uint64_t *ns;
	size_t i, j, cap;
	struct idx_rec r;
	char key[VIEW_KEY_MAX + 1];

	cap = (n * 10 / 7 + 1024) / 1024 * 1024;
	ns = xcalloc(cap, sizeof(*ns));
	for (i = 0; i < ix->cap; i++) {
		uint32_t off = (uint32_t)ix->slots[i];
		uint64_t h;

		if (off == 0 || off == TOMB)
			continue;
		rec_read(ix, off - 1, &r);
		h = hash_key(key, rec_key(&r, key));
		for (j = home(h, cap); ns[j] != 0; j = j + 1 == cap ? 0 : j + 1)
			;
		ns[j] = (h & 0xffffffff00000000ULL) | (uint64_t)off;
	}
	*capp = cap;
	return ns;
}

static void
idx_reslot(struct view_index *ix, size_t n)
{
	size_t cap;
	uint64_t *ns = idx_slots_for(ix, n, &cap);

	free(ix->slots);
	ix->slots = ns;
	ix->cap = cap;
	ix->used = ix->live;
}

/*
 * Puts key (n bytes, the whole of it) with v's until, state, reason,
 * and the flags R_SINCE, R_STATUS, R_PROV, R_ASK with what they say is
 * there (v's other fields are not used).
 */
static void
idx_put(struct view_index *ix, const char *key, size_t n,
    const struct idx_rec *v)
{
	size_t plen = v->flags & R_PROV ? v->plen : 0, i, need, klen = n;
	const char *at;
	uint32_t doff = 0;
	uint64_t h;
	unsigned char *p, flags;
	struct idx_rec r;
	int found;

	/*
	 * A third more room than is live: doubling would waste half.
	 * With little garbage only the slots are made again, so that
	 * growing never holds two copies of the records.
	 */
	if (ix->slots == NULL || (ix->used + 1) * 10 > ix->cap * 7) {
		if (ix->slots != NULL && ix->garbage <= ix->alen / 4)
			idx_reslot(ix, ix->live + 1 + (ix->live + 1) / 3);
		else
			idx_rebuild(ix, ix->live + 1 + (ix->live + 1) / 3);
	}
	flags = v->flags & (R_SINCE | R_STATUS | R_PROV | R_ASK);
	if (v->until != 0)
		flags |= R_UNTIL;
	/* An address: its domain interned, "@" and all. */
	if (n > 0 && key[0] != '\001' &&
	    (at = memrchr(key, '@', n)) != NULL && at + 1 < key + n) {
		flags |= R_DOM;
		klen = (size_t)(at - key);
		doff = dom_intern(ix, at + 1, n - klen - 1);
	}
	need = REC_HDR + klen + (flags & R_UNTIL ? 4 : 0) +
	    (flags & R_DOM ? varint_len(doff) : 0) +
	    (flags & R_SINCE ? 2 : 0) + (flags & R_STATUS ? 2 : 0) +
	    (flags & R_PROV ? 1 + plen : 0);
	if (ix->alen + need > ix->acap) {
		if (ix->garbage > ix->alen / 2 && ix->garbage > 65536) {
			idx_rebuild(ix, ix->live + 1 + ix->live / 3);
			idx_put(ix, key, n, v);
			return;
		}
		ix->acap = (ix->acap + need) * 3 / 2;
		if (ix->acap > UINT32_MAX - 1)
			log_panic("store: in-memory index over 4 GB");
		ix->arena = xrealloc(ix->arena, ix->acap);
	}
	h = hash_key(key, n);
	i = idx_find(ix, key, n, h, &found);
	if (found) {
		rec_read(ix, (uint32_t)ix->slots[i] - 1, &r);
		ix->garbage += r.size;
	} else {
		if ((uint32_t)ix->slots[i] == 0)
			ix->used++;
		ix->live++;
	}
	p = ix->arena + ix->alen;
	p[0] = v->state;
	p[1] = v->reason;
	p[2] = (unsigned char)klen;
	p[3] = flags;
	p += REC_HDR;
	if (flags & R_UNTIL) {
		memcpy(p, &v->until, 4);
		p += 4;
	}
	if (flags & R_DOM) {
		for (; doff >= 0x80; doff >>= 7)
			*p++ = (unsigned char)(doff | 0x80);
		*p++ = (unsigned char)doff;
	}
	memcpy(p, key, klen);
	p += klen;
	if (flags & R_SINCE) {
		memcpy(p, &v->since_day, 2);
		p += 2;
	}
	if (flags & R_STATUS) {
		memcpy(p, &v->status, 2);
		p += 2;
	}
	if (flags & R_PROV) {
		*p++ = (unsigned char)plen;
		memcpy(p, v->prov, plen);
	}
	ix->slots[i] = (h & 0xffffffff00000000ULL) | (uint64_t)(ix->alen + 1);
	ix->alen += need;
}

static void
idx_del(struct view_index *ix, const char *key, size_t n)
{
	struct idx_rec r;
	size_t i;
	int found;

	if (ix->slots == NULL)
		return;
	i = idx_find(ix, key, n, hash_key(key, n), &found);
	if (!found)
		return;
	rec_read(ix, (uint32_t)ix->slots[i] - 1, &r);
	ix->garbage += r.size;
	ix->slots[i] = TOMB;
	ix->live--;
}

static int
idx_get(const struct view_index *ix, const char *key, size_t n,
    struct idx_rec *r)
{
	size_t i;
	int found;

	if (ix->slots == NULL)
		return 0;
	i = idx_find(ix, key, n, hash_key(key, n), &found);
	if (!found)
		return 0;
	rec_read(ix, (uint32_t)ix->slots[i] - 1, r);
	return 1;
}

static uint32_t
until32(long long until)
{
	if (until <= 0)
		return 0;
	return until >= (long long)UINT32_MAX ? UINT32_MAX : (uint32_t)until;
}


/* --- building and changing an index ------------------------------------ */

struct view_index *
view_index_new(size_t n, size_t bytes)
{
	struct view_index *ix = xcalloc(1, sizeof(*ix));

	/*
	 * Sized once: no rehash while loading, and the peak memory is
	 * what stays, not half as much again.
	 */
	idx_rebuild(ix, n + 1024 + n / 8);
	if (bytes + n * (REC_HDR + 4) < (size_t)UINT32_MAX - 65536) {
		ix->acap = bytes + n * (REC_HDR + 4) + 65536;
		ix->arena = xrealloc(ix->arena, ix->acap);
	}
	return ix;
}

void
view_index_free(struct view_index *ix)
{
	if (ix == NULL)
		return;
	idx_clear(ix);
	free(ix);
}

void
view_set_rcpt(struct view_index *ix, const char *rcpt, size_t n,
    enum rcpt_state st, enum reason reason, long long until,
    long long since, const char *status)
{
	struct idx_rec v;
	long long day = since / 86400;

	if (n > VIEW_KEY_MAX)
		return;
	if (st <= RS_NONE || st > RS_SUPPRESSED) {
		idx_del(ix, rcpt, n);
		return;
	}
	memset(&v, 0, sizeof(v));
	v.until = until32(until);
	v.state = (unsigned char)st;
	v.reason = (unsigned char)((unsigned)reason > 255 ? 0 : reason);
	/* Day 0 would read back as no date at all: ask the row. */
	if (since > 0 && (day < 1 || day >= 65535))
		v.flags |= R_ASK;
	else if (since > 0) {
		v.flags |= R_SINCE;
		v.since_day = (uint16_t)(day + 1);
	}
	if (!status_pack(status, &v.status))
		v.flags |= R_ASK;
	else if (v.status != 0)
		v.flags |= R_STATUS;
	idx_put(ix, rcpt, n, &v);
}

/* Destinations are kept under "\001DEST", apart from the addresses. */
static size_t
dest_key(char *key, const char *dest)
{
	size_t n = strlen(dest);

	if (n + 1 > VIEW_KEY_MAX)
		return 0;
	key[0] = '\001';
	memcpy(key + 1, dest, n);
	return n + 1;
}

void
view_set_dest(struct view_index *ix, const char *dest, enum reason reason,
    long long until, const char *prov)
{
	struct idx_rec v;
	char key[VIEW_KEY_MAX + 1];
	size_t n, plen;

	if ((n = dest_key(key, dest)) == 0)
		return;
	memset(&v, 0, sizeof(v));
	v.until = until32(until);
	v.reason = (unsigned char)((unsigned)reason > 255 ? 0 : reason);
	if (prov != NULL && *prov != '\0') {
		v.flags = R_PROV;
		v.prov = prov;
		plen = strlen(prov);
		v.plen = (unsigned char)(plen > 255 ? 255 : plen);
	}
	idx_put(ix, key, n, &v);
}

void
view_del_rcpt(struct view_index *ix, const char *rcpt)
{
	size_t n = strlen(rcpt);

	if (n <= VIEW_KEY_MAX)
		idx_del(ix, rcpt, n);
}

void
view_del_dest(struct view_index *ix, const char *dest)
{
	char key[VIEW_KEY_MAX + 1];
	size_t n;

	if ((n = dest_key(key, dest)) != 0)
		idx_del(ix, key, n);
}

int
view_room(struct view_index *ix, size_t k)
{
	if (ix->slots == NULL || (ix->used + k) * 10 > ix->cap * 7 ||
	    (ix->ndom + k) * 4 > ix->dscap * 3)
		return 0;
	return !(ix->garbage > ix->alen / 2 && ix->garbage > 65536);
}

/* --- the shared view ---------------------------------------------------- */

struct view {
	struct view	*next;
	char		*name;		/* NULL: not shared */
	int		 refs;
	pthread_rwlock_t lock;
	pthread_mutex_t	 refresh_mu;
	struct view_index idx;
	int		 ready;		/* atomic */
	char		 pos[VIEW_POS_MAX];
};

static pthread_mutex_t	 views_mu = PTHREAD_MUTEX_INITIALIZER;
static struct view	*views;

struct view *
view_get(const char *name)
{
	struct view *v;

	pthread_mutex_lock(&views_mu);
	for (v = views; name != NULL && v != NULL; v = v->next)
		if (strcmp(v->name, name) == 0) {
			v->refs++;
			pthread_mutex_unlock(&views_mu);
			return v;
		}
	v = xcalloc(1, sizeof(*v));
	v->refs = 1;
	pthread_rwlock_init(&v->lock, NULL);
	pthread_mutex_init(&v->refresh_mu, NULL);
	if (name != NULL) {
		v->name = xstrdup(name);
		v->next = views;
		views = v;
	}
	pthread_mutex_unlock(&views_mu);
	return v;
}

void
view_put(struct view *v)
{
	struct view **pp;

	if (v == NULL)
		return;
	pthread_mutex_lock(&views_mu);
	if (--v->refs > 0) {
		pthread_mutex_unlock(&views_mu);
		return;
	}
	for (pp = &views; *pp != NULL; pp = &(*pp)->next)
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	pthread_mutex_unlock(&views_mu);
	pthread_rwlock_destroy(&v->lock);
	pthread_mutex_destroy(&v->refresh_mu);
	idx_clear(&v->idx);
	free(v->name);
	free(v);
}

int
view_ready(struct view *v)
{
	return __atomic_load_n(&v->ready, __ATOMIC_ACQUIRE);
}

void
view_rdlock(struct view *v)
{
	pthread_rwlock_rdlock(&v->lock);
}

void
view_wrlock(struct view *v)
{
	pthread_rwlock_wrlock(&v->lock);
}

void
view_unlock(struct view *v)
{
	pthread_rwlock_unlock(&v->lock);
}

void
view_refresh_lock(struct view *v)
{
	pthread_mutex_lock(&v->refresh_mu);
}

int
view_refresh_trylock(struct view *v)
{
	return pthread_mutex_trylock(&v->refresh_mu) == 0 ? 0 : -1;
}

void
view_refresh_unlock(struct view *v)
{
	pthread_mutex_unlock(&v->refresh_mu);
}

char *
view_pos(struct view *v)
{
	return v->pos;
}

struct view_index *
view_live(struct view *v)
{
	return &v->idx;
}

void
view_swap(struct view *v, struct view_index *ix, const char *pos)
{
	struct view_index old;

	/*
	 * Give back the slack of the arena's growth, and the domains'
	 * hash, which only inserts ask: view_room() says there is no room
	 * without it, and view_grow() makes it again aside.
	 */
	if (ix->slots == NULL)
		idx_rebuild(ix, 16);
	ix->acap = ix->alen + 65536;
	ix->arena = xrealloc(ix->arena, ix->acap);
	ix->dcap = ix->dlen + 256;
	ix->dom = xrealloc(ix->dom, ix->dcap);
	free(ix->dslots);
	ix->dslots = NULL;
	ix->dscap = 0;
	pthread_rwlock_wrlock(&v->lock);
	old = v->idx;
	v->idx = *ix;
	__atomic_store_n(&v->ready, 1, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&v->lock);
	snprintf(v->pos, sizeof(v->pos), "%s", pos);
	idx_clear(&old);
	free(ix);
}

/* --- reading ------------------------------------------------------------ */

int
view_rcpt(struct view *v, const char *rcpt, struct view_fact *f)
{
	struct idx_rec r;
	size_t n = strlen(rcpt);

	if (n > VIEW_KEY_MAX || !view_ready(v))
		return -1;
	if (!idx_get(&v->idx, rcpt, n, &r))
		return 0;
	memset(f, 0, sizeof(*f));
	f->state = (enum rcpt_state)r.state;
	f->reason = (enum reason)r.reason;
	f->until = r.until;
	if (!(r.flags & R_ASK)) {
		f->detail = 1;
		f->since = r.flags & R_SINCE ?
		    (long long)(r.since_day - 1) * 86400 : 0;
		status_unpack(r.flags & R_STATUS ? r.status : 0, f->status);
	}
	return 1;
}

int
view_dest(struct view *v, const char *dest, struct view_fact *f)
{
	struct idx_rec r;
	char key[VIEW_KEY_MAX + 1];
	size_t n;

	if ((n = dest_key(key, dest)) == 0 || !view_ready(v))
		return -1;
	if (!idx_get(&v->idx, key, n, &r))
		return 0;
	memset(f, 0, sizeof(*f));
	f->reason = (enum reason)r.reason;
	f->until = r.until;
	if (r.flags & R_PROV)
		snprintf(f->provider, sizeof(f->provider), "%.*s",
		    (int)r.plen, r.prov);
	return 1;
}

int
view_grow(struct view *v, size_t k)
{
	struct view_index *ix = &v->idx;
	uint64_t *ns = NULL, *old;
	uint32_t *nd = NULL, *dold;
	size_t cap = 0, dcap = 0;

	if (ix->slots == NULL ||
	    (ix->garbage > ix->alen / 2 && ix->garbage > 65536))
		return -1;
	/* Only this thread changes the view: readers may go on. */
	pthread_rwlock_rdlock(&v->lock);
	if ((ix->used + k) * 10 > ix->cap * 7)
		ns = idx_slots_for(ix, ix->live + k + (ix->live + k) / 3,
		    &cap);
	if ((ix->ndom + k) * 4 > ix->dscap * 3)
		nd = dom_slots_for(ix, ix->ndom + k, &dcap);
	pthread_rwlock_unlock(&v->lock);
	pthread_rwlock_wrlock(&v->lock);
	old = ix->slots;
	dold = ix->dslots;
	if (ns != NULL) {
		ix->slots = ns;
		ix->cap = cap;
		ix->used = ix->live;
	}
	if (nd != NULL) {
		ix->dslots = nd;
		ix->dscap = dcap;
	}
	pthread_rwlock_unlock(&v->lock);
	if (ns != NULL)
		free(old);
	if (nd != NULL)
		free(dold);
	return 0;
}
