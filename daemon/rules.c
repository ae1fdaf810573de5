/*
 * rules.c -- load and compile provider rule sets
 *
 * Files are read in name order; every problem in every file is
 * reported as "file:line: message", and one problem refuses the whole
 * set. Patterns are compiled case-insensitively and JIT-compiled; the
 * checks that keep a rule from suppressing on a sender-side reason or
 * at the connect, HELO or MAIL stage are made here, at load time, and
 * again by the classifier at match time.
 *
 * Lookup of a provider by domain or MX host goes through two small
 * hash tables, so that finding a reply's provider costs a few probes
 * whatever the number of providers.
 *
 * Each pattern's prefilter need (the literals it cannot match without)
 * comes from prefilter_need() as the rule is read; once the whole set
 * is read, prefilter_build() makes one scan for all of them, which
 * ruleset_prefilter() runs.
 *
 * ruleset_load_without() leaves named files unread and named rules out
 * (bouncerctl -x), to measure what the other rules make of the replies
 * those were written for (t/corpus-lofo.sh).
 *
 * ruleset_load_local() reads the operator's directory (rules_local_dir)
 * before the stock one. A local file named as a stock file replaces it:
 * the stock file is then read on its own, in a throw-away set, only for
 * its test vectors, which join the set marked as overridden so that
 * "bouncerctl rules test" can say what the replacement changed.
 *
 * See also: bouncer-rules(5), classify.c, prefilter.h.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "phrases.h"
#include "prefilter.h"
#include "senderside.h"
#include "uncertain.h"
#include "reply.h"
#include "rules.h"
#include "xalloc.h"

/*
 * Candidate lists by reply shape: the first digit of the reply code (0
 * when none) and the subject of the enhanced status (0-7, 8 for higher,
 * 9 when none). Each list is the chain, in order, minus the rules whose
 * code or status constraints rule that shape out.
 */
#define CODE_SLOTS	6
#define SUBJ_SLOTS	10
#define NBUCKETS	(CODE_SLOTS * SUBJ_SLOTS)

struct bucket {
	uint32_t		 *idx;		/* indexes into rules[] */
	size_t			  n;
};

struct provider {
	const char		 *name;
	int			  generic;
	const char		 *first_domain;
	const struct rule	**own;
	size_t			  nown;
	const struct rule	**chain;	/* own, then generic */
	size_t			  nchain;
	struct bucket		  buckets[NBUCKETS];
};

/* Open addressing, keys lowercased; "*.x" is stored as ".x". */
struct hostmap {
	const char		**keys;
	const struct provider	**vals;
	size_t			  cap;		/* power of two */
	size_t			  n;
};

struct ruleset {
	int			  refs;
	struct provider		**provs;
	size_t			  nprovs;
	const struct rule	**rules;
	size_t			  nrules;
	const struct rule	**generic;
	size_t			  ngeneric;
	struct bucket		  gbuckets[NBUCKETS];	/* generic only */
	struct rule_test	 *tests;
	size_t			  ntests;
	struct hostmap		  domains;
	struct hostmap		  mxs;
	unsigned		  maxcap;
	struct prefilter	 *pf;		/* indexed as rules[], then: */
	const struct phrases	 *guard[2];	/* the guards' branches */
	size_t			  guardoff[2];	/* where each set's start */
	void			**mem;		/* everything else to free */
	size_t			  nmem;
};

/* State while loading. */
struct loader {
	struct ruleset		*rs;
	FILE			*err;
	int			 nerr;
	const char		*file;		/* base name */
	const char		*path;		/* dir/file */
	int			 line;
	struct provider		*prov;		/* of the current file */
	struct rule		*rule;		/* being read */
	unsigned		 seen;		/* keywords seen in rule */
	size_t			 ntests0;	/* rs->ntests before rule */
	const char *const	*without;	/* files and rules to leave out */
	size_t			 nwithout;
	unsigned char		*used;		/* per without[]: matched */
};

#define SEEN_MATCH	0x01
#define SEEN_CODE	0x02
#define SEEN_STATUS	0x04
#define SEEN_STAGE	0x08
#define SEEN_REASON	0x10
#define SEEN_DECISION	0x20
#define SEEN_DETAIL	0x40

static void *
keep(struct ruleset *rs, void *p)
{
	rs->mem = xreallocarray(rs->mem, rs->nmem + 1, sizeof(*rs->mem));
	rs->mem[rs->nmem++] = p;
	return p;
}

static char *
keepstr(struct ruleset *rs, const char *s, size_t n)
{
	return keep(rs, xstrndup(s, n));
}

static void
lerr(struct loader *ld, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
lerr(struct loader *ld, const char *fmt, ...)
{
	va_list ap;

	fprintf(ld->err, "%s:%d: ", ld->path, ld->line);
	va_start(ap, fmt);
	vfprintf(ld->err, fmt, ap);
	va_end(ap);
	fputc('\n', ld->err);
	ld->nerr++;
}

/* --- host maps ------------------------------------------------------- */

/*
 * FNV-1a over the bytes from the last to the first, ASCII case folded:
 * one pass from the end of a host name gives the hashes of all its
 * suffixes (hostmap_find()).
 */
static inline uint32_t
hash_step(uint32_t h, unsigned char c)
{
	return (h ^ ascii_lower(c)) * 16777619u;
}

#define HASH_BASIS	2166136261u

static uint32_t
hash_ci(const char *s, size_t n)
{
	uint32_t h = HASH_BASIS;

	while (n--)
		h = hash_step(h, (unsigned char)s[n]);
	return h;
}

/*
 * The slot of key k (n bytes, no NUL among them) whose hash_ci() is h;
 * *idx is its index, or that of the empty slot where it would go.
 */
static const struct provider **
hostmap_probe(const struct hostmap *m, uint32_t h, const char *k, size_t n,
    size_t *idx)
{
	size_t i;

	for (i = h & (m->cap - 1); m->keys[i] != NULL;
	    i = (i + 1) & (m->cap - 1)) {
		if (ascii_eq_ci(m->keys[i], k, n) && m->keys[i][n] == '\0') {
			*idx = i;
			return &m->vals[i];
		}
	}
	*idx = i;
	return NULL;
}

static const struct provider **
hostmap_slot(const struct hostmap *m, const char *k, size_t n, size_t *idx)
{
	if (m->cap == 0)
		return NULL;
	return hostmap_probe(m, hash_ci(k, n), k, n, idx);
}

/* Returns the provider already holding key, or NULL after adding it. */
static const struct provider *
hostmap_add(struct ruleset *rs, struct hostmap *m, const char *key,
    const struct provider *p)
{
	const struct provider **v;
	size_t i, n = strlen(key), j;

	if (m->n * 2 >= m->cap) {
		struct hostmap old = *m;

		m->cap = m->cap ? m->cap * 2 : 64;
		m->keys = xcalloc(m->cap, sizeof(*m->keys));
		m->vals = xcalloc(m->cap, sizeof(*m->vals));
		m->n = 0;
		for (j = 0; j < old.cap; j++)
			if (old.keys[j] != NULL)
				hostmap_add(rs, m, old.keys[j], old.vals[j]);
		free(old.keys);
		free(old.vals);
	}
	if ((v = hostmap_slot(m, key, n, &i)) != NULL)
		return *v;
	m->keys[i] = keepstr(rs, key, n);
	m->vals[i] = p;
	m->n++;
	return NULL;
}

/* Exact name first, then each "*.suffix" from the longest. */
static const struct provider *
hostmap_find(const struct hostmap *m, const char *name)
{
	const struct provider **v;
	size_t i, j, n, nd;
	uint32_t h, dh[254];
	uint8_t dot[254];	/* a name is at most 253 bytes here */

	if (name == NULL || *name == '\0' || m->cap == 0)
		return NULL;
	n = strnlen(name, 256);
	if (name[n - 1] == '.')		/* "mx.example.com." */
		n--;
	if (n > 253)			/* no host name is that long */
		return NULL;
	/* The hashes of the name and of each suffix from a dot, at once */
	for (j = n, h = HASH_BASIS, nd = 0; j-- > 0; ) {
		h = hash_step(h, (unsigned char)name[j]);
		if (name[j] == '.') {
			dot[nd] = (uint8_t)j;
			dh[nd++] = h;
		}
	}
	if ((v = hostmap_probe(m, h, name, n, &i)) != NULL)
		return *v;
	while (nd-- > 0)	/* the leftmost dot's is the last */
		if ((v = hostmap_probe(m, dh[nd], name + dot[nd], n - dot[nd],
		    &i)) != NULL)
			return *v;
	return NULL;
}

/* --- reading --------------------------------------------------------- */

static int
valid_name(const char *s, size_t n, const char *extra)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    strchr(extra, s[i]) == NULL)
			return 0;
	return 1;
}

/* Next space-separated word of *sp, or NULL at the end. */
static const char *
word(const char **sp, size_t *n)
{
	const char *s = *sp, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return NULL;
	for (w = s; *s != '\0' && *s != ' ' && *s != '\t'; s++)
		;
	*n = (size_t)(s - w);
	*sp = s;
	return w;
}

static struct provider *
provider_get(struct loader *ld, const char *name, size_t n)
{
	struct ruleset *rs = ld->rs;
	struct provider *p;
	size_t i;

	for (i = 0; i < rs->nprovs; i++)
		if (strlen(rs->provs[i]->name) == n &&
		    memcmp(rs->provs[i]->name, name, n) == 0)
			return rs->provs[i];
	p = keep(rs, xcalloc(1, sizeof(*p)));
	p->name = keepstr(rs, name, n);
	p->generic = 1;
	rs->provs = xreallocarray(rs->provs, rs->nprovs + 1, sizeof(*rs->provs));
	rs->provs[rs->nprovs++] = p;
	return p;
}

static void
host_list(struct loader *ld, const char *v, struct hostmap *m, int isdomain)
{
	const struct provider *other;
	char key[256];
	const char *w;
	size_t n, i;

	while ((w = word(&v, &n)) != NULL) {
		if (n >= sizeof(key) - 1) {
			lerr(ld, "name too long");
			continue;
		}
		if (n > 2 && w[0] == '*' && w[1] == '.') {
			w++;
			n--;
		}
		for (i = 0; i < n; i++) {
			key[i] = (char)tolower((unsigned char)w[i]);
			if (!isalnum((unsigned char)key[i]) && key[i] != '.' &&
			    key[i] != '-')
				break;
		}
		if (i < n || key[n - 1] == '.') {
			lerr(ld, "bad %s \"%.*s\"", isdomain ? "domain" : "mx",
			    (int)n, w);
			continue;
		}
		key[n] = '\0';
		if ((other = hostmap_add(ld->rs, m, key, ld->prov)) != NULL &&
		    other != ld->prov)
			lerr(ld, "%s %s%s already belongs to provider %s",
			    isdomain ? "domain" : "mx", key[0] == '.' ? "*" : "",
			    key, other->name);
		ld->prov->generic = 0;
		if (isdomain && ld->prov->first_domain == NULL && key[0] != '.')
			ld->prov->first_domain = keepstr(ld->rs, key, n);
	}
}

static void
rule_begin(struct loader *ld, const char *v)
{
	struct ruleset *rs = ld->rs;
	struct rule *r;
	const char *w;
	size_t n, i;

	if ((w = word(&v, &n)) == NULL || !valid_name(w, n, "_-")) {
		lerr(ld, "rule needs a name of a-z, 0-9, _ and -");
		w = "unnamed";
		n = 7;
	}
	for (i = 0; i < ld->prov->nown; i++)
		if (strlen(ld->prov->own[i]->name) == n &&
		    memcmp(ld->prov->own[i]->name, w, n) == 0)
			lerr(ld, "duplicate rule name \"%.*s\" (first at %s:%d)",
			    (int)n, w, ld->prov->own[i]->path,
			    ld->prov->own[i]->line);
	r = keep(rs, xcalloc(1, sizeof(*r)));
	r->name = keepstr(rs, w, n);
	r->file = ld->file;
	r->path = ld->path;
	r->line = ld->line;
	r->provider = ld->prov;
	r->details = "";
	r->index = rs->nrules;
	rs->rules = xreallocarray(rs->rules, rs->nrules + 1, sizeof(*rs->rules));
	rs->rules[rs->nrules++] = r;
	ld->prov->own = xreallocarray(ld->prov->own, ld->prov->nown + 1,
	    sizeof(*ld->prov->own));
	ld->prov->own[ld->prov->nown++] = r;
	ld->rule = r;
	ld->seen = 0;
	ld->ntests0 = rs->ntests;
}

/*
 * Is rule r among the rules to leave out, named "provider:rule"? Marks
 * the name used.
 */
static int
rule_without(struct loader *ld, const struct rule *r)
{
	const char *w, *colon;
	size_t i, pn;
	int hit = 0;

	pn = strlen(r->provider->name);
	for (i = 0; i < ld->nwithout; i++) {
		w = ld->without[i];
		if ((colon = strchr(w, ':')) == NULL ||
		    (size_t)(colon - w) != pn ||
		    memcmp(w, r->provider->name, pn) != 0 ||
		    strcmp(colon + 1, r->name) != 0)
			continue;
		ld->used[i] = 1;
		hit = 1;
	}
	return hit;
}

/* Frees the parts of r's pattern (the array is the set's to free). */
static void
rule_parts_free(struct rule *r)
{
	size_t u;

	for (u = 0; u < r->nparts; u++)
		pcre2_code_free(r->parts[u]);
	r->nparts = 0;
}

/*
 * Drops rule r, the last one read, with its test vectors: it is the
 * last of the set's rules and of its provider's, and its tests are the
 * last ones.
 */
static void
rule_drop(struct loader *ld, struct rule *r)
{
	struct ruleset *rs = ld->rs;

	rs->nrules--;
	ld->prov->nown--;
	rs->ntests = ld->ntests0;
	pcre2_code_free(r->re);
	r->re = NULL;
	rule_parts_free(r);
}

/* Checks a finished rule; the line number is the rule's own. */
static void
rule_end(struct loader *ld)
{
	struct rule *r = ld->rule;
	int line = ld->line;
	char buf[64];
	const unsigned early = 1u << STAGE_CONNECT | 1u << STAGE_HELO |
	    1u << STAGE_MAIL;

	if (r == NULL)
		return;
	ld->line = r->line;
	if (!(ld->seen & SEEN_REASON))
		lerr(ld, "rule %s has no reason", r->name);
	if (!(ld->seen & SEEN_DECISION))
		lerr(ld, "rule %s has no decision", r->name);
	if (!(ld->seen & (SEEN_MATCH | SEEN_CODE | SEEN_STATUS)))
		lerr(ld, "rule %s has neither match nor a code or status",
		    r->name);
	if ((r->decision & D_SUPPRESS) && (ld->seen & SEEN_REASON) &&
	    !reason_may_suppress(r->reason))
		lerr(ld, "rule %s: reason %s is about the sender and may not "
		    "suppress the recipient", r->name, reason_name(r->reason));
	if ((r->decision & D_SUPPRESS) && (r->stages & early))
		lerr(ld, "rule %s: a reply at the connect, helo or mail stage "
		    "may not suppress the recipient (decision %s)", r->name,
		    decision_format(r->decision, buf, sizeof(buf)));
	if (ld->nwithout && rule_without(ld, r))
		rule_drop(ld, r);
	ld->line = line;
	ld->rule = NULL;
}

/*
 * Compiles the branches of r's pattern v one by one, as the units of its
 * need (rules.h): when there are two or more and v may be cut
 * (phrases_splittable()). Nothing when one does not compile.
 */
static void
rule_split(struct loader *ld, struct rule *r, const char *v)
{
	const struct prefilter_need *pn = r->need;
	pcre2_code **parts;
	PCRE2_SIZE off;
	size_t u;
	int err;

	if (pn == NULL || pn->nunits < 2 || !phrases_splittable(v))
		return;
	parts = xcalloc(pn->nunits, sizeof(*parts));
	r->partsjit = 1;
	for (u = 0; u < pn->nunits; u++) {
		parts[u] = pcre2_compile((PCRE2_SPTR)v + pn->unitspan[2 * u],
		    pn->unitspan[2 * u + 1] - pn->unitspan[2 * u],
		    PCRE2_CASELESS, &err, &off, NULL);
		if (parts[u] == NULL)
			break;
		if (pcre2_jit_compile(parts[u], PCRE2_JIT_COMPLETE) != 0)
			r->partsjit = 0;
	}
	if (u < pn->nunits) {
		while (u-- > 0)
			pcre2_code_free(parts[u]);
		free(parts);
		return;
	}
	r->parts = keep(ld->rs, parts);
	r->nparts = pn->nunits;
}

static void
rule_match(struct loader *ld, struct rule *r, const char *v)
{
	struct prefilter_need *need;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	PCRE2_SPTR table;
	uint32_t count, size, cap, i;
	int errcode;

	r->re = pcre2_compile((PCRE2_SPTR)v, PCRE2_ZERO_TERMINATED,
	    PCRE2_CASELESS, &errcode, &off, NULL);
	if (r->re == NULL) {
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		lerr(ld, "bad pattern at offset %zu: %s", (size_t)off,
		    (char *)msg);
		return;
	}
	r->jit = pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE) == 0;
	if ((need = prefilter_need(v)) != NULL)
		r->need = keep(ld->rs, need);
	pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &cap);
	if (cap + 1 > ld->rs->maxcap)
		ld->rs->maxcap = cap + 1;
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMEENTRYSIZE, &size);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMETABLE, &table);
	if (count == 0) {
		rule_split(ld, r, v);
		return;
	}
	r->groups = keep(ld->rs, xcalloc(count, sizeof(*r->groups)));
	for (i = 0; i < count; i++) {
		const unsigned char *e = table + i * size;
		const char *name = (const char *)e + 2;
		struct rule_group *g = &r->groups[r->ngroups];

		g->num = e[0] << 8 | e[1];
		g->scale = 0;
		if (strcmp(name, "retry_after") == 0)
			g->scale = 1;
		else if (strcmp(name, "retry_after_min") == 0)
			g->scale = 60;
		else if (strcmp(name, "retry_after_hour") == 0)
			g->scale = 3600;
		if (g->scale)
			name = "retry_after";
		if (!valid_name(name, strlen(name), "_") ||
		    strlen(name) >= sizeof(g->key)) {
			lerr(ld, "group name \"%s\": details need a-z, 0-9 and _",
			    name);
			continue;
		}
		snprintf(g->key, sizeof(g->key), "%s", name);
		g->lower = strcmp(name, "blocklist") == 0;
		r->ngroups++;
	}
}

static void
rule_codes(struct loader *ld, struct rule *r, const char *v)
{
	const char *w;
	size_t n, i;

	while ((w = word(&v, &n)) != NULL) {
		int ok = n == 3 && w[0] >= '2' && w[0] <= '5';

		if (n == 4 && memcmp(w, "none", 4) == 0) {
			r->nocode = 1;
			continue;
		}
		for (i = 1; ok && i < 3; i++)
			ok = isdigit((unsigned char)w[i]) || w[i] == 'x';
		if (!ok) {
			lerr(ld, "bad code \"%.*s\": want three digits, "
			    "as 550, 55x or 5xx, or none", (int)n, w);
			continue;
		}
		r->codes = xreallocarray(r->codes, r->ncodes + 1,
		    sizeof(*r->codes));
		memcpy(r->codes[r->ncodes], w, 3);
		r->codes[r->ncodes++][3] = '\0';
	}
	if (r->codes != NULL)
		keep(ld->rs, r->codes);
}

static int
status_field(const char *w, size_t n, short *out)
{
	size_t i;
	int v = 0;

	if (n == 1 && w[0] == 'x') {
		*out = -1;
		return 0;
	}
	if (n < 1 || n > 3)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)w[i]))
			return -1;
		v = v * 10 + (w[i] - '0');
	}
	*out = (short)v;
	return 0;
}

static void
rule_statuses(struct loader *ld, struct rule *r, const char *v)
{
	const char *w, *d1, *d2, *end;
	struct status_pat sp;
	size_t n;

	while ((w = word(&v, &n)) != NULL) {
		end = w + n;
		d1 = memchr(w, '.', n);
		d2 = d1 ? memchr(d1 + 1, '.', (size_t)(end - d1 - 1)) : NULL;
		if (d1 == NULL || d2 == NULL ||
		    status_field(w, (size_t)(d1 - w), &sp.cls) ||
		    status_field(d1 + 1, (size_t)(d2 - d1 - 1), &sp.subj) ||
		    status_field(d2 + 1, (size_t)(end - d2 - 1), &sp.det) ||
		    (sp.cls != -1 && sp.cls != 2 && sp.cls != 4 && sp.cls != 5)) {
			lerr(ld, "bad status \"%.*s\": want as 5.1.1, 5.7.x "
			    "or x.1.1", (int)n, w);
			continue;
		}
		r->statuses = xreallocarray(r->statuses, r->nstatuses + 1,
		    sizeof(*r->statuses));
		r->statuses[r->nstatuses++] = sp;
	}
	if (r->statuses != NULL)
		keep(ld->rs, r->statuses);
}

static void
rule_stages(struct loader *ld, struct rule *r, const char *v)
{
	const char *w;
	size_t n;
	int st;

	while ((w = word(&v, &n)) != NULL) {
		if ((st = stage_parse(w, n)) < 0) {
			lerr(ld, "unknown stage \"%.*s\": want connect, helo, "
			    "mail, rcpt, data or eod", (int)n, w);
			continue;
		}
		r->stages |= 1u << st;
	}
}

static int
decision_word(struct loader *ld, const char *w, size_t n, unsigned *set)
{
	char bad[64];

	if (decision_parse(w, n, set, bad, sizeof(bad)) < 0) {
		lerr(ld, "unknown decision \"%s\": want suppress, retry, "
		    "throttle, alert or none", bad);
		return -1;
	}
	return 0;
}

static int
reason_word(struct loader *ld, const char *w, size_t n, enum reason *out)
{
	int r;

	if ((r = reason_parse(w, n)) < 0) {
		lerr(ld, "unknown reason \"%.*s\"", (int)n, w);
		return -1;
	}
	*out = (enum reason)r;
	return 0;
}

/* "test [<rcpt>] REPLY => REASON DECISION [TOKEN ...]" */
static void
rule_test(struct loader *ld, const char *v)
{
	struct ruleset *rs = ld->rs;
	struct rule_test t;
	const char *arrow = NULL, *p, *w, *rc = NULL;
	size_t n, rcn = 0;

	for (p = v; (p = strstr(p, " => ")) != NULL; p++)
		arrow = p;
	if (arrow == NULL) {
		lerr(ld, "test needs \"REPLY => REASON DECISION\"");
		return;
	}
	memset(&t, 0, sizeof(t));
	t.file = ld->file;
	t.path = ld->path;
	t.line = ld->line;
	t.provider = ld->prov;
	if (*v == '<' && (p = memchr(v, '>', (size_t)(arrow - v))) != NULL) {
		rc = v + 1;
		rcn = (size_t)(p - v - 1);
		v = p + 1;
		while (*v == ' ' || *v == '\t')
			v++;
	}
	if (v >= arrow) {
		lerr(ld, "test has no reply");
		return;
	}
	t.reply = keepstr(rs, v, (size_t)(arrow - v));
	if (rc != NULL)
		t.rcpt = keepstr(rs, rc, rcn);
	else if (ld->prov->first_domain != NULL)
		t.rcpt = keep(rs, xasprintf("test@%s", ld->prov->first_domain));
	else
		t.rcpt = "test@example.org";
	p = arrow + 4;
	if ((w = word(&p, &n)) == NULL || reason_word(ld, w, n, &t.reason))
		return;
	if ((w = word(&p, &n)) == NULL) {
		lerr(ld, "test needs a decision after the reason");
		return;
	}
	if (decision_word(ld, w, n, &t.decision))
		return;
	while (*p == ' ' || *p == '\t')
		p++;
	t.tokens = keepstr(rs, p, strlen(p));
	rs->tests = xreallocarray(rs->tests, rs->ntests + 1, sizeof(*rs->tests));
	rs->tests[rs->ntests++] = t;
}

static int
once(struct loader *ld, unsigned bit, const char *kw)
{
	if (ld->seen & bit) {
		lerr(ld, "rule %s has a second \"%s\"", ld->rule->name, kw);
		return 0;
	}
	ld->seen |= bit;
	return 1;
}

static void
parse_line(struct loader *ld, char *line)
{
	struct rule *r;
	const char *kw, *v;
	char *e;
	size_t n;

	for (e = line + strlen(line); e > line && isspace((unsigned char)e[-1]);
	    e--)
		;
	*e = '\0';
	v = line;
	if ((kw = word(&v, &n)) == NULL || *kw == '#')
		return;
	while (*v == ' ' || *v == '\t')
		v++;

#define KW(s)	(n == sizeof(s) - 1 && memcmp(kw, s, n) == 0)
	if (ld->prov == NULL) {
		if (!KW("provider")) {
			lerr(ld, "the first keyword must be \"provider\"");
			ld->prov = provider_get(ld, "invalid", 7);
			return;
		}
		if ((kw = word(&v, &n)) == NULL || !valid_name(kw, n, "-") ||
		    *v != '\0') {
			lerr(ld, "provider needs one name of a-z, 0-9 and -");
			kw = "invalid";
			n = 7;
		}
		ld->prov = provider_get(ld, kw, n);
		return;
	}
	if (KW("provider")) {
		lerr(ld, "a file names one provider");
		return;
	}
	if (KW("domain") || KW("mx")) {
		if (ld->rule != NULL || ld->prov->nown != 0)
			lerr(ld, "%.*s must come before the first rule",
			    (int)n, kw);
		else if (*v == '\0')
			lerr(ld, "%.*s needs at least one name", (int)n, kw);
		else if (KW("domain"))
			host_list(ld, v, &ld->rs->domains, 1);
		else
			host_list(ld, v, &ld->rs->mxs, 0);
		return;
	}
	if (KW("rule")) {
		rule_end(ld);
		rule_begin(ld, v);
		return;
	}
	if ((r = ld->rule) == NULL) {
		if (KW("match") || KW("code") || KW("status") || KW("stage") ||
		    KW("reason") || KW("decision") || KW("detail") || KW("test"))
			lerr(ld, "\"%.*s\" outside a rule", (int)n, kw);
		else
			lerr(ld, "unknown keyword \"%.*s\"", (int)n, kw);
		return;
	}
	if (*v == '\0') {
		lerr(ld, "\"%.*s\" needs a value", (int)n, kw);
		return;
	}
	if (KW("match")) {
		if (once(ld, SEEN_MATCH, "match"))
			rule_match(ld, r, v);
	} else if (KW("code")) {
		if (once(ld, SEEN_CODE, "code"))
			rule_codes(ld, r, v);
	} else if (KW("status")) {
		if (once(ld, SEEN_STATUS, "status"))
			rule_statuses(ld, r, v);
	} else if (KW("stage")) {
		if (once(ld, SEEN_STAGE, "stage"))
			rule_stages(ld, r, v);
	} else if (KW("reason")) {
		if (once(ld, SEEN_REASON, "reason") &&
		    (kw = word(&v, &n)) != NULL) {
			reason_word(ld, kw, n, &r->reason);
			if (*v != '\0')
				lerr(ld, "reason takes one name");
		}
	} else if (KW("decision")) {
		if (once(ld, SEEN_DECISION, "decision") &&
		    (kw = word(&v, &n)) != NULL) {
			decision_word(ld, kw, n, &r->decision);
			if (*v != '\0')
				lerr(ld, "decision takes one comma-separated set");
		}
	} else if (KW("detail")) {
		if (once(ld, SEEN_DETAIL, "detail")) {
			const char *p = v, *w;
			size_t wn;

			while ((w = word(&p, &wn)) != NULL) {
				if (memchr(w, '=', wn) == NULL || *w == '=')
					lerr(ld, "detail \"%.*s\" is not "
					    "key=value", (int)wn, w);
				else if (wn > 6 && memcmp(w, "guard=", 6) == 0)
					lerr(ld, "detail key \"guard\" is "
					    "reserved for the classifier");
			}
			r->details = keepstr(ld->rs, v, strlen(v));
		}
	} else if (KW("test")) {
		rule_test(ld, v);
	} else {
		lerr(ld, "unknown keyword \"%.*s\"", (int)n, kw);
	}
#undef KW
}

static void
load_file(struct loader *ld, const char *dir, const char *name)
{
	char *path, *line = NULL;
	size_t cap = 0;
	FILE *fp;

	path = keep(ld->rs, xasprintf("%s/%s", dir, name));
	ld->file = keepstr(ld->rs, name, strlen(name));
	ld->path = path;
	ld->line = 0;
	ld->prov = NULL;
	ld->rule = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		lerr(ld, "cannot open: %s", strerror(errno));
		return;
	}
	while (getline(&line, &cap, fp) != -1) {
		ld->line++;
		if (memchr(line, '\0', strlen(line)) == NULL &&
		    strlen(line) > 65536) {
			lerr(ld, "line too long");
			continue;
		}
		parse_line(ld, line);
	}
	if (ferror(fp))
		lerr(ld, "read error: %s", strerror(errno));
	rule_end(ld);
	if (ld->prov == NULL)
		lerr(ld, "empty file: no provider");
	free(line);
	fclose(fp);
}

static int
rules_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 6 &&
	    strcmp(d->d_name + n - 6, ".rules") == 0;
}

/* Can rule r hold for replies of bucket b? */
static int
bucket_fits(const struct rule *r, int b)
{
	int digit = b / SUBJ_SLOTS, subj = b % SUBJ_SLOTS;
	size_t i;
	int ok;

	if (r->ncodes || r->nocode) {
		ok = digit == 0 && r->nocode;
		for (i = 0; !ok && i < r->ncodes; i++)
			ok = r->codes[i][0] - '0' == digit;
		if (!ok)
			return 0;
	}
	if (r->nstatuses) {
		if (subj == 9)
			return 0;
		for (i = 0, ok = 0; !ok && i < r->nstatuses; i++)
			ok = r->statuses[i].subj == -1 ||
			    r->statuses[i].subj == subj ||
			    (subj == 8 && r->statuses[i].subj >= 8);
		if (!ok)
			return 0;
	}
	return 1;
}

/*
 * A provider's candidate lists. Many are alike (a rule without code or
 * status constraints is in all of them, and the shapes a provider's
 * rules tell apart are few), so a list equal to one made before for
 * the same provider is shared, not copied.
 */
static void
fill_buckets(struct ruleset *rs, struct bucket *bk,
    const struct rule **chain, size_t n)
{
	uint32_t *tmp = xcalloc(n ? n : 1, sizeof(*tmp));
	size_t i, m;
	int b, o;

	for (b = 0; b < NBUCKETS; b++) {
		for (i = 0, m = 0; i < n; i++)
			if (bucket_fits(chain[i], b))
				tmp[m++] = (uint32_t)chain[i]->index;
		for (o = 0; o < b; o++)
			if (bk[o].n == m &&
			    memcmp(bk[o].idx, tmp, m * sizeof(*tmp)) == 0)
				break;
		bk[b].n = m;
		if (o < b)
			bk[b].idx = bk[o].idx;
		else {
			bk[b].idx = keep(rs, xcalloc(m ? m : 1,
			    sizeof(*bk[b].idx)));
			memcpy(bk[b].idx, tmp, m * sizeof(*tmp));
		}
	}
	free(tmp);
}

static void
link_chains(struct ruleset *rs)
{
	size_t i, j;

	for (i = 0; i < rs->nprovs; i++) {
		struct provider *p = rs->provs[i];

		if (!p->generic)
			continue;
		for (j = 0; j < p->nown; j++) {
			rs->generic = xreallocarray(rs->generic,
			    rs->ngeneric + 1, sizeof(*rs->generic));
			rs->generic[rs->ngeneric++] = p->own[j];
		}
	}
	for (i = 0; i < rs->nprovs; i++) {
		struct provider *p = rs->provs[i];

		if (p->generic) {
			p->chain = rs->generic;
			p->nchain = rs->ngeneric;
			continue;
		}
		p->nchain = p->nown + rs->ngeneric;
		p->chain = keep(rs, xcalloc(p->nchain ? p->nchain : 1,
		    sizeof(*p->chain)));
		if (p->nown)	/* a provider of no rules of its own */
			memcpy(p->chain, p->own, p->nown * sizeof(*p->chain));
		if (rs->ngeneric)
			memcpy(p->chain + p->nown, rs->generic,
			    rs->ngeneric * sizeof(*p->chain));
		fill_buckets(rs, p->buckets, p->chain, p->nchain);
	}
	fill_buckets(rs, rs->gbuckets, rs->generic, rs->ngeneric);
}

/*
 * One prefilter for every rule, indexed as rules[], then for the
 * branches of the guards' phrase sets (senderside.h, uncertain.h): the
 * guards run on the text the rules were matched on, and one scan finds
 * the literals of both.
 */
static void
build_prefilter(struct ruleset *rs)
{
	const struct prefilter_need **needs;
	const char **samples;
	uint8_t *units;
	size_t i, k, n, j;

	rs->guard[0] = senderside_set();
	rs->guard[1] = uncertain_set();
	n = rs->nrules;
	for (k = 0; k < 2; k++)
		n += rs->guard[k] != NULL ? phrases_count(rs->guard[k]) : 0;
	needs = xcalloc(n ? n : 1, sizeof(*needs));
	units = xcalloc(n ? n : 1, 1);
	for (i = 0; i < rs->nrules; i++) {
		needs[i] = rs->rules[i]->re != NULL ? rs->rules[i]->need : NULL;
		units[i] = needs[i] != NULL && rs->rules[i]->nparts > 0;
	}
	for (k = 0; k < 2; k++) {
		rs->guardoff[k] = i;
		for (j = 0; rs->guard[k] != NULL &&
		    j < phrases_count(rs->guard[k]); j++)
			needs[i++] = phrases_need(rs->guard[k], j);
	}
	/* The test vectors stand for the replies the scan will see. */
	samples = xcalloc(rs->ntests ? rs->ntests : 1, sizeof(*samples));
	for (j = 0; j < rs->ntests; j++)
		samples[j] = rs->tests[j].reply;
	rs->pf = prefilter_build_sampled(needs, n, units, samples,
	    rs->ntests);
	free(samples);
	free(needs);
	free(units);
}

/* Is file name among the files to leave out? Marks the name used. */
static int
file_without(struct loader *ld, const char *name)
{
	size_t i;
	int hit = 0;

	for (i = 0; i < ld->nwithout; i++)
		if (strcmp(ld->without[i], name) == 0) {
			ld->used[i] = 1;
			hit = 1;
		}
	return hit;
}

/* Are a and b the same directory? */
static int
same_dir(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Is name among the n files of names[]? They are in alphasort order. */
static int
file_in(struct dirent **names, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i]->d_name, name) == 0)
			return 1;
	return 0;
}

/*
 * The test vectors of dir/name, a stock file that the local file bypath
 * replaces. The file is read into a set of its own, thrown away after;
 * its vectors join ld's set, marked as overridden. A file that does not
 * load gives no vectors: it is not in the set, so its errors are not
 * the set's.
 */
static void
load_overridden(struct loader *ld, const char *dir, const char *name,
    const char *bypath)
{
	struct ruleset *rs = ld->rs;
	struct loader sub;
	struct rule_test t;
	const char *by;
	char *errbuf = NULL;
	size_t errlen = 0, i, j;

	memset(&sub, 0, sizeof(sub));
	sub.rs = xcalloc(1, sizeof(*sub.rs));
	sub.rs->refs = 1;
	sub.rs->maxcap = 1;
	if ((sub.err = open_memstream(&errbuf, &errlen)) == NULL) {
		ruleset_unref(sub.rs);
		return;
	}
	load_file(&sub, dir, name);
	fclose(sub.err);
	free(errbuf);
	if (sub.nerr == 0 && sub.rs->ntests > 0) {
		by = keepstr(rs, bypath, strlen(bypath));
		rs->tests = xreallocarray(rs->tests, rs->ntests +
		    sub.rs->ntests, sizeof(*rs->tests));
		for (i = 0; i < sub.rs->ntests; i++) {
			const struct rule_test *s = &sub.rs->tests[i];

			t = *s;
			t.file = keepstr(rs, s->file, strlen(s->file));
			t.path = keepstr(rs, s->path, strlen(s->path));
			t.rcpt = keepstr(rs, s->rcpt, strlen(s->rcpt));
			t.reply = keepstr(rs, s->reply, strlen(s->reply));
			t.tokens = keepstr(rs, s->tokens, strlen(s->tokens));
			t.overridden = by;
			t.provider = NULL;
			for (j = 0; j < rs->nprovs; j++)
				if (strcmp(rs->provs[j]->name,
				    provider_name(s->provider)) == 0)
					t.provider = rs->provs[j];
			rs->tests[rs->ntests++] = t;
		}
	}
	ruleset_unref(sub.rs);
}

struct ruleset *
ruleset_load(const char *dir, char **errp)
{
	return ruleset_load_local(NULL, dir, NULL, 0, errp);
}

struct ruleset *
ruleset_load_without(const char *dir, const char *const *without,
    size_t nwithout, char **errp)
{
	return ruleset_load_local(NULL, dir, without, nwithout, errp);
}

struct ruleset *
ruleset_load_local(const char *localdir, const char *dir,
    const char *const *without, size_t nwithout, char **errp)
{
	struct dirent **names, **lnames = NULL;
	struct loader ld;
	char *errbuf = NULL, *bypath;
	size_t errlen = 0, j, len;
	int n, nl = 0, i;

	memset(&ld, 0, sizeof(ld));
	ld.rs = xcalloc(1, sizeof(*ld.rs));
	ld.rs->refs = 1;
	ld.rs->maxcap = 1;
	ld.without = without;
	ld.nwithout = nwithout;
	ld.used = xcalloc(nwithout ? nwithout : 1, 1);
	if ((ld.err = open_memstream(&errbuf, &errlen)) == NULL) {
		*errp = xasprintf("open_memstream: %s", strerror(errno));
		free(ld.used);
		ruleset_unref(ld.rs);
		return NULL;
	}
	for (j = 0; j < nwithout; j++) {
		len = strlen(without[j]);
		if (strchr(without[j], ':') == NULL && (len <= 6 ||
		    strcmp(without[j] + len - 6, ".rules") != 0)) {
			fprintf(ld.err, "without %s: want a FILE.rules or a "
			    "PROVIDER:RULE\n", without[j]);
			ld.nerr++;
			ld.used[j] = 1;
		}
	}
	/*
	 * A local directory that does not exist holds no rules; nor does
	 * the stock directory named again.
	 */
	if (localdir != NULL && same_dir(localdir, dir))
		localdir = NULL;
	if (localdir != NULL && *localdir != '\0' &&
	    (nl = scandir(localdir, &lnames, rules_file, alphasort)) < 0) {
		if (errno != ENOENT) {
			fprintf(ld.err, "%s: %s\n", localdir, strerror(errno));
			ld.nerr++;
		}
		nl = 0;
		lnames = NULL;
	}
	for (i = 0; i < nl; i++)
		if (!file_without(&ld, lnames[i]->d_name))
			load_file(&ld, localdir, lnames[i]->d_name);
	if ((n = scandir(dir, &names, rules_file, alphasort)) < 0) {
		fprintf(ld.err, "%s: %s\n", dir, strerror(errno));
		ld.nerr++;
	} else {
		if (n == 0) {
			fprintf(ld.err, "%s: no *.rules files\n", dir);
			ld.nerr++;
		}
		for (i = 0; i < n; i++) {
			if (file_without(&ld, names[i]->d_name))
				;
			else if (file_in(lnames, nl, names[i]->d_name)) {
				bypath = xasprintf("%s/%s", localdir,
				    names[i]->d_name);
				load_overridden(&ld, dir, names[i]->d_name,
				    bypath);
				free(bypath);
			} else
				load_file(&ld, dir, names[i]->d_name);
			free(names[i]);
		}
		free(names);
		for (j = 0; j < nwithout; j++)
			if (!ld.used[j]) {
				fprintf(ld.err, "without %s: no such %s in "
				    "%s\n", without[j], strchr(without[j],
				    ':') ? "rule" : "file", dir);
				ld.nerr++;
			}
	}
	for (i = 0; i < nl; i++)
		free(lnames[i]);
	free(lnames);
	free(ld.used);
	fclose(ld.err);
	if (ld.nerr) {
		*errp = errbuf;
		ruleset_unref(ld.rs);
		return NULL;
	}
	free(errbuf);
	link_chains(ld.rs);
	build_prefilter(ld.rs);
	return ld.rs;
}

struct ruleset *
ruleset_ref(struct ruleset *rs)
{
	__atomic_add_fetch(&rs->refs, 1, __ATOMIC_RELAXED);
	return rs;
}

void
ruleset_unref(struct ruleset *rs)
{
	size_t i;

	if (rs == NULL || __atomic_sub_fetch(&rs->refs, 1, __ATOMIC_ACQ_REL))
		return;
	for (i = 0; i < rs->nrules; i++) {
		pcre2_code_free(((struct rule *)rs->rules[i])->re);
		rule_parts_free((struct rule *)rs->rules[i]);
	}
	for (i = 0; i < rs->nprovs; i++)
		free(rs->provs[i]->own);
	prefilter_free(rs->pf);
	for (i = 0; i < rs->nmem; i++)
		free(rs->mem[i]);
	free(rs->mem);
	free(rs->provs);
	free(rs->rules);
	free(rs->generic);
	free(rs->tests);
	free(rs->domains.keys);
	free(rs->domains.vals);
	free(rs->mxs.keys);
	free(rs->mxs.vals);
	free(rs);
}

const struct provider *
ruleset_provider(const struct ruleset *rs, const char *domain,
    const char *host)
{
	const struct provider *p;

	if ((p = hostmap_find(&rs->domains, domain)) != NULL)
		return p;
	return hostmap_find(&rs->mxs, host);
}

const char *
provider_name(const struct provider *p)
{
	return p != NULL ? p->name : "-";
}

const char *
provider_first_domain(const struct provider *p)
{
	return p != NULL ? p->first_domain : NULL;
}

const struct rule *const *
ruleset_chain(const struct ruleset *rs, const struct provider *p,
    size_t *n)
{
	if (p == NULL) {
		*n = rs->ngeneric;
		return rs->generic;
	}
	*n = p->nchain;
	return p->chain;
}

const uint32_t *
ruleset_candidates(const struct ruleset *rs, const struct provider *p,
    int code, int cls, int subj, size_t *n)
{
	const struct bucket *bk;
	int digit = code / 100, b;

	if (digit < 0 || digit >= CODE_SLOTS)
		digit = 0;
	if (subj < 0 || cls == 0)
		subj = 9;
	else if (subj > 7)
		subj = 8;
	b = digit * SUBJ_SLOTS + subj;
	bk = p == NULL || p->generic ? &rs->gbuckets[b] : &p->buckets[b];
	*n = bk->n;
	return bk->idx;
}

const struct rule *const *
ruleset_rules(const struct ruleset *rs, size_t *n)
{
	*n = rs->nrules;
	return rs->rules;
}

const struct rule_test *
ruleset_tests(const struct ruleset *rs, size_t *n)
{
	*n = rs->ntests;
	return rs->tests;
}

size_t
ruleset_prefilter_size(const struct ruleset *rs)
{
	return prefilter_scratch_size(rs->pf);
}

const uint8_t *
ruleset_prefilter(const struct ruleset *rs, const char *text, size_t len,
    void *scratch)
{
	return prefilter_scan(rs->pf, text, len, scratch);
}

const uint8_t *
ruleset_units(const struct ruleset *rs, const void *scratch, size_t i)
{
	return prefilter_units(rs->pf, scratch, i);
}

const uint8_t *
ruleset_guard_miss(const struct ruleset *rs, const uint8_t *miss,
    const struct phrases *set)
{
	size_t k;

	for (k = 0; k < 2; k++)
		if (set != NULL && rs->guard[k] == set)
			return miss + rs->guardoff[k];
	return NULL;
}

unsigned
ruleset_max_captures(const struct ruleset *rs)
{
	return rs->maxcap;
}
