/*
 * store_redis.c -- the Redis back end, for several MTAs sharing state
 *
 *   redis://[user:pass@]host:port/db
 *   redis+unix:/run/redis/redis.sock?db=N
 *
 * Redis 7 or Valkey. A password is better read from the file named by
 * store_password_file than written in the URI: a URI on a command line
 * is visible to every user of the machine.
 *
 * Keys: bouncer:r:ADDR, bouncer:d:DEST and bouncer:a:KEY are strings,
 * the record packed by rec_pack() (its fields in the order of store.c's
 * tables: a quarter of the memory of a hash with a field a member, and
 * one argument to write instead of thirty; see convert_hashes() for
 * records kept as hashes); bouncer:h:ADDR is the audit trail (a list,
 * trimmed to audit_max); bouncer:e:ID marks a seen event (a string:
 * its time) and bouncer:n:ID holds a note (a string: "TIME VALUE");
 * both expire by themselves after event_retention, set in the command
 * that writes them (SET ... EX).
 *
 * Transactions cost one round trip. store_begin() sends nothing; the
 * reads of a transaction are answered from what this handle last knew
 * of each key (its own writes, or the server's answer to an earlier
 * transaction), or as "absent" when it knows nothing, and each answer
 * given is remembered. store_commit() sends the answers and the queued
 * writes to a Lua script (SCRIPT LOAD at connect, EVALSHA, loaded again
 * on NOSCRIPT) that compares every key with what was answered and
 * applies the writes only if all still match, atomically. When one
 * does not, the script writes nothing and returns what the keys hold
 * now; the handle learns it and store_commit() returns 0, so the
 * caller starts over, now with the right answers. No count is lost,
 * as with WATCH and MULTI/EXEC, and a guess costs at most one more
 * round trip. A transaction that ends in store_rollback() has its
 * reads unchecked: a caller acting on what it read commits instead.
 *
 * Deferred commits (store_defer_begin(), the daemon's writer and
 * bouncerctl ingest): the commits are staged and sent without waiting,
 * up to DEFER_TXNS in one call of the script, each checked and applied
 * on its own, in order. The handle takes each as applied meanwhile, so
 * the next reads what it wrote; the outcomes are read when the batch
 * ends (or the pipeline fills, or a command needs an answer now), and a
 * stale one tells the caller to run that transaction again. What the
 * handle knows of destinations and alerts is kept apart from what it
 * knows of recipients and events, so that a flood of new recipients
 * does not push out the few keys that are written again and again.
 *
 * The view (view.h): every write of a recipient or a destination, in
 * the commit script or alone, also appends the key to the stream
 * bouncer:changes (XADD, trimmed to about CHANGES_MAXLEN entries), in
 * the same script, so atomically with the write. The plain writes of a
 * batch (imports, expiry) are pipelined as they are, and XADDs
 * naming all their keys follow them (see drain()). store_refresh() (the
 * writer thread, after each commit and every few milliseconds when
 * idle) reads the stream from where it last stopped (XREAD), re-reads
 * the keys named (GET) and applies them to the process's view, which
 * the view-only handles answer from without a round trip. The first
 * refresh loads the whole view: an anchor entry is appended first,
 * then every bouncer:r:* and bouncer:d:* record is read (SCAN), and the
 * stream is read on from the anchor. Each refresh first checks that
 * the entry it stopped at is still in the stream (XRANGE): when it is
 * not (trimmed past it, a FLUSHDB, a server restarted without its
 * data), changes may have been missed and the whole view is loaded
 * again, aside, and swapped in. So every MTA on one Redis sees the
 * others' writes within one refresh. Writes made to the records by
 * anything but bouncer (redis-cli SET) are not in the stream and are
 * seen only at the next full load.
 *
 * A handle that is not view-only (bouncerctl, the tests) answers
 * store_lookup() from the server: the recipient, its domain, the
 * domain's provider, one round trip each, as store_decide() asks.
 *
 * Losing the connection is never fatal: the operation fails (-1, the
 * caller fails open), the loss is logged once, and the next
 * operation reconnects, with a back-off that
 * grows from 100 ms to 30 s while the server stays away. A lookup on
 * a handle that is not view-only waits at most LOOKUP_TIMEOUT_MS for
 * an answer from the server, whatever store_timeout says. The view
 * stays as it was while the server is away, and answers.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis.h>

#include "clock.h"
#include "log.h"
#include "store.h"
#include "store_impl.h"
#include "xalloc.h"

#define PREFIX		"bouncer:"
#define BACKOFF_MIN	100		/* ms */
#define BACKOFF_MAX	30000
#define PIPELINE_MAX	1000		/* queued batch writes */
#define MAXARGS		48
#define LOOKUP_TIMEOUT_MS 250		/* a lookup's wait for the server */
#define KNOWN_MAX	8192		/* records remembered for commits */
#define KNOWN_DEST_MAX	4096		/* of destinations and alerts */
#define CHANGES		PREFIX "changes"	/* the stream of changed keys */
#define CHANGES_MAXLEN	"100000"	/* entries kept, about */
#define CHANGES_READ	100		/* entries read at a time */
#define CHANGES_KEYS	100		/* keys in one entry, at most */
#define CHANGES_KEYS_S	"100"
#define DEFER_TXNS	64		/* deferred commits in one call */
#define CHANGES_BACKLOG	200000		/* more keys: load it all again */
#define APPLY_CHUNK	64		/* keys applied per write lock */
#define PLEN1		"9"		/* strlen(PREFIX) + 1, for Lua */
#define PLEN2		"10"
_Static_assert(sizeof(PREFIX) == 9, "PLEN1 and PLEN2 follow PREFIX");
#define FORMAT_KEY	PREFIX "format"	/* how records are kept: */
#define FORMAT		"packed"	/* strings (rec_pack()) */

/*
 * The script behind store_commit(). ARGV: the number of transactions,
 * then each: the number of checks, and for each check the key, "x" and
 * "0" or "1" (EXISTS), "v" and the value the key must hold, "a" (a
 * record that must be absent: anything but a string counts as absent,
 * and the write replaces it), or, last, "n", a value and
 * seconds (a key that must be absent, set to the value for that long
 * as it is checked: SET NX; see fuse_mark()); then the number of
 * writes, each as its argument count and arguments. The transactions
 * run in order, each applied only if all its checks hold. Returns one
 * element a transaction: when applied, 1, or {1, reply...} with each
 * write's reply when the call has this one transaction; or {0, now...}
 * with each checked key's EXISTS ("x", "n") or GET, in order, when one
 * differed (then it wrote nothing). A write may also be "AUDIT", a
 * key, a line and a number: RPUSH of the line, then LTRIM of the list
 * to that many lines if it is longer (redis_audit_add()). Each
 * recipient or destination written (the key of a SET, every key of a
 * DEL) is appended to the stream of changes: one entry for up to
 * CHANGES_KEYS of them, so that many transactions in one call cost the
 * stream a few entries. Written for the server's Lua: no table made
 * for a check or an applied transaction, no reply kept that nobody
 * reads.
 */
static const char commit_lua[] =
"local i, out, chg, nt = 2, {}, {}, tonumber(ARGV[1])\n"
"for t = 1, nt do\n"
"  local ok, c0 = true, i + 1\n"
"  local nc = tonumber(ARGV[i])\n"
"  i = i + 1\n"
"  for c = 1, nc do\n"
"    local ty = ARGV[i + 1]\n"
"    if ok then\n"
"      local k, v = ARGV[i], ARGV[i + 2]\n"
"      if ty == 'x' then\n"
"        if redis.call('EXISTS', k) ~= tonumber(v) then ok = false end\n"
"      elseif ty == 'a' then\n"
"        if redis.call('EXISTS', k) ~= 0 and\n"
"            redis.call('TYPE', k).ok == 'string' then ok = false end\n"
"      elseif ty == 'n' then\n"
"        if not redis.call('SET', k, v, 'EX', ARGV[i + 3], 'NX') then\n"
"          ok = false end\n"
"      elseif redis.pcall('GET', k) ~= v then ok = false end\n"
"    end\n"
"    if ty == 'n' then i = i + 4 elseif ty == 'a' then i = i + 2\n"
"    else i = i + 3 end\n"
"  end\n"
"  local w = tonumber(ARGV[i])\n"
"  i = i + 1\n"
"  local r\n"
"  if nt == 1 or not ok then r = {ok and 1 or 0} end\n"
"  if ok then\n"
"    for c = 1, w do\n"
"      local n = tonumber(ARGV[i])\n"
"      local cmd, k = ARGV[i + 1], ARGV[i + 2]\n"
"      local x\n"
"      if cmd == 'AUDIT' then\n"
"        x = redis.call('RPUSH', k, ARGV[i + 3])\n"
"        local max = tonumber(ARGV[i + 4])\n"
"        if x > max then redis.call('LTRIM', k, -max, -1) end\n"
"      else\n"
"        x = redis.call(unpack(ARGV, i + 1, i + n))\n"
"        local last = 2\n"
"        if cmd == 'DEL' then last = n end\n"
"        for a = 2, last do\n"
"          k = ARGV[i + a]\n"
"          local b = string.byte(k, " PLEN1 ")\n"
"          if (b == 114 or b == 100) and\n"
"              string.byte(k, " PLEN2 ") == 58 then\n"
"            chg[#chg + 1] = 'k'\n"
"            chg[#chg + 1] = string.sub(k, " PLEN1 ")\n"
"          end\n"
"        end\n"
"      end\n"
"      if nt == 1 then r[c + 1] = x end\n"
"      i = i + n + 1\n"
"    end\n"
"  else\n"
"    for c = 1, nc do\n"
"      local k, ty = ARGV[c0], ARGV[c0 + 1]\n"
"      if ty == 'x' or ty == 'n' then\n"
"        r[c + 1] = redis.call('EXISTS', k)\n"
"      else\n"
"        r[c + 1] = redis.pcall('GET', k) end\n"
"      if ty == 'n' then c0 = c0 + 4 elseif ty == 'a' then c0 = c0 + 2\n"
"      else c0 = c0 + 3 end\n"
"    end\n"
"    for c = 1, w do i = i + tonumber(ARGV[i]) + 1 end\n"
"  end\n"
"  out[t] = r or 1\n"
"end\n"
"for s = 1, #chg, 2 * " CHANGES_KEYS_S " do\n"
"  redis.call('XADD', '" CHANGES "', 'MAXLEN', '~', '" CHANGES_MAXLEN "',"
    " '*', unpack(chg, s, math.min(s + 2 * " CHANGES_KEYS_S " - 1, #chg)))\n"
"end\n"
"return out\n";

/* --- a small map of keys -------------------------------------------- */

struct kent {
	struct kent	*next;
	char		*key;
	void		*val;
};

/* Keys to values it owns; at most max, evicting a few chains when full. */
struct kmap {
	struct kent	**b;
	size_t		 mask;		/* buckets - 1 */
	size_t		 n, max;
	size_t		 sweep;		/* the next chain to evict */
	void		 (*free_val)(void *);
};

static uint32_t
khash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void
kmap_init(struct kmap *m, size_t max, void (*free_val)(void *))
{
	size_t nb = 64;

	while (nb < max)
		nb *= 2;
	m->b = xcalloc(nb, sizeof(*m->b));
	m->mask = nb - 1;
	m->n = 0;
	m->max = max;
	m->sweep = 0;
	m->free_val = free_val;
}

static void
kent_free(struct kmap *m, struct kent *e)
{
	m->free_val(e->val);
	free(e->key);
	free(e);
	m->n--;
}

static void *
kmap_get(struct kmap *m, const char *key)
{
	struct kent *e;

	if (m->n == 0)
		return NULL;
	for (e = m->b[khash(key) & m->mask]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e->val;
	return NULL;
}

static void
kmap_del(struct kmap *m, const char *key)
{
	struct kent **ep, *e;

	if (m->n == 0)
		return;
	for (ep = &m->b[khash(key) & m->mask]; (e = *ep) != NULL;
	    ep = &e->next)
		if (strcmp(e->key, key) == 0) {
			*ep = e->next;
			kent_free(m, e);
			return;
		}
}

/* Takes val; replaces what key had. */
static void
kmap_put(struct kmap *m, const char *key, void *val)
{
	struct kent *e, *next;
	size_t i;

	kmap_del(m, key);
	/* Full: evict whole chains, round robin, down to 7/8. */
	if (m->n >= m->max)
		while (m->n > m->max - m->max / 8) {
			i = m->sweep++ & m->mask;
			for (e = m->b[i]; e != NULL; e = next) {
				next = e->next;
				kent_free(m, e);
			}
			m->b[i] = NULL;
		}
	e = xmalloc(sizeof(*e));
	e->key = xstrdup(key);
	e->val = val;
	i = khash(key) & m->mask;
	e->next = m->b[i];
	m->b[i] = e;
	m->n++;
}

static void
kmap_clear(struct kmap *m)
{
	struct kent *e, *next;
	size_t i;

	for (i = 0; m->n > 0 && i <= m->mask; i++) {
		for (e = m->b[i]; e != NULL; e = next) {
			next = e->next;
			kent_free(m, e);
		}
		m->b[i] = NULL;
	}
}

static void
kmap_free(struct kmap *m)
{
	if (m->b == NULL)
		return;
	kmap_clear(m);
	free(m->b);
	m->b = NULL;
}

/* --- what the handle knows of a key ----------------------------------- */

/*
 * A key as the server last showed it, or as this handle last wrote it:
 * a record's packed value (rec_pack()), or only whether it exists. Used
 * as the answer to a read inside a transaction; the commit checks it.
 */
struct known {
	int		 exists;
	char		*v;		/* NULL: existence only */
	size_t		 n;
};

static struct known *
known_new(int exists)
{
	struct known *k = xcalloc(1, sizeof(*k));

	k->exists = exists;
	return k;
}

/* A record's value, v (n bytes) copied. */
static struct known *
known_val(const char *v, size_t n)
{
	struct known *k = known_new(1);

	k->v = xmalloc(n + 1);
	memcpy(k->v, v, n);
	k->v[n] = '\0';
	k->n = n;
	return k;
}

static void
known_free(void *p)
{
	struct known *k = p;

	if (k == NULL)
		return;
	free(k->v);
	free(k);
}

static struct known *
known_dup(const struct known *o)
{
	return o->v != NULL ? known_val(o->v, o->n) : known_new(o->exists);
}

/*
 * From an EXISTS or GET reply. Anything else at a record's key (a hash
 * left by an older version: an error) is taken as absent, logged; the
 * commit's "a" check then lets the write replace it.
 */
static struct known *
known_from(const redisReply *rep)
{
	if (rep->type == REDIS_REPLY_INTEGER)
		return known_new(rep->integer > 0);
	if (rep->type == REDIS_REPLY_STRING)
		return known_val(rep->str, rep->len);
	if (rep->type == REDIS_REPLY_ERROR)
		log_warn("store redis: a record: %s", rep->str);
	return known_new(0);
}

/* A write command in a transaction: argv[0] the command, owned. */
struct wcmd {
	int		 argc;
	char		**argv;
	size_t		*len;
};

/*
 * A reply the pipeline owes, in the order the commands went: a plain
 * write's (seq -1), or a deferred commit's, with the keys it checked
 * (learnt from the reply when it was stale) and wrote (forgotten then).
 */
struct owed {
	long		 seq;		/* in r->outc; -1: a plain write */
	size_t		 ncall;		/* the first of a call's commits:
					   how many share its reply */
	char		**chk;
	size_t		 nchk;
	char		**wkeys;
	size_t		 nw;
};

/* A read answered inside a transaction, to be checked at commit. */
struct check {
	char		*key;
	int		 record;	/* GET, or EXISTS */
	struct known	*k;
};

struct redis_store {
	struct store	 base;
	redisContext	*c;
	char		*host;		/* NULL for a unix socket */
	int		 port;
	char		*path;
	int		 db;
	char		*user;
	char		*pass;		/* from the URI, or the file */
	struct timeval	 tv;
	struct timeval	 ltv;		/* a lookup's: the shorter */
	const struct timeval *cur_tv;	/* tv or ltv: what r->c has */
	long long	 next_try;	/* ms, CLOCK_MONOTONIC */
	long long	 backoff;
	int		 down;		/* the loss has been logged */
	char		 sha[48];	/* of commit_lua */
	/* transaction */
	int		 in_txn;
	struct check	*chk;
	size_t		 nchk, chkcap;
	struct wcmd	*w;
	size_t		 nw, wcap;
	/* key -> struct known: recipients, events; destinations, alerts */
	struct kmap	 known[2];
	/* batch: writes outside a transaction are pipelined */
	int		 batch;
	struct owed	*owed;		/* replies to read, in order */
	size_t		 nowed, owedcap;
	/* deferred commits (store_defer_begin): their outcomes */
	int		 defer;
	signed char	*outc;
	size_t		 noutc, outccap;
	int		 reload;	/* a NOSCRIPT: load it again */
	/* deferred commits not sent yet: their arguments and keys */
	char		*dbuf;
	size_t		 dlen, dcap;
	size_t		*doff;		/* offset and length of each */
	size_t		 ndarg, doffcap;
	struct owed	*stg;
	size_t		 nstg, stgcap;
	char		**bkeys;	/* changed keys, for the XADDs */
	size_t		 nbkeys, bkeycap;
	int		 batch_failed;
	/* the view (view.h), shared with the process's other handles */
	struct view	*view;
	int		 view_only;
	int		 in_lookup;	/* under ltv */
	struct view_fact det;	/* the last lookup's recipient */
};

/*
 * Where what the handle knows of key is kept. Destinations and alerts,
 * few and written again and again, have a map of their own, so that a
 * flood of new recipients does not push them out (a wrong guess costs
 * a stale commit and a round trip).
 */
static struct kmap *
known_of(struct redis_store *r, const char *key)
{
	return &r->known[strncmp(key, PREFIX KEY_DEST,
	    sizeof(PREFIX KEY_DEST) - 1) == 0 || strncmp(key, PREFIX KEY_ALERT,
	    sizeof(PREFIX KEY_ALERT) - 1) == 0];
}

static void
known_clear(struct redis_store *r)
{
	kmap_clear(&r->known[0]);
	kmap_clear(&r->known[1]);
}

static const char *
where(struct redis_store *r, char *buf, size_t bufsz)
{
	if (r->host != NULL)
		snprintf(buf, bufsz, "%s:%d", r->host, r->port);
	else
		snprintf(buf, bufsz, "%s", r->path);
	return buf;
}

static void
txn_clear(struct redis_store *r)
{
	size_t i;
	int j;

	for (i = 0; i < r->nchk; i++) {
		free(r->chk[i].key);
		known_free(r->chk[i].k);
	}
	r->nchk = 0;
	for (i = 0; i < r->nw; i++) {
		for (j = 0; j < r->w[i].argc; j++)
			free(r->w[i].argv[j]);
		free(r->w[i].argv);
		free(r->w[i].len);
	}
	r->nw = 0;
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
owed_free(struct redis_store *r, struct owed *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i].seq >= 0 && r->outc[v[i].seq] == 2)
			r->outc[v[i].seq] = -1;
		strv_free(v[i].chk, v[i].nchk);
		strv_free(v[i].wkeys, v[i].nw);
	}
}

/*
 * Forgets the replies owed and the commits not sent; deferred commits
 * among them end unknown.
 */
static void
owed_clear(struct redis_store *r)
{
	owed_free(r, r->owed, r->nowed);
	r->nowed = 0;
	owed_free(r, r->stg, r->nstg);
	r->nstg = 0;
	r->dlen = r->ndarg = 0;
}

/* One more entry in *v; returns it, cleared, with seq set. */
static struct owed *
owed_add(struct owed **v, size_t *n, size_t *cap, long seq)
{
	struct owed *o;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	o = &(*v)[(*n)++];
	memset(o, 0, sizeof(*o));
	o->seq = seq;
	return o;
}

/* One more reply owed: a plain write's. */
static void
owe(struct redis_store *r)
{
	owed_add(&r->owed, &r->nowed, &r->owedcap, -1);
}

static void
bkeys_clear(struct redis_store *r)
{
	size_t i;

	for (i = 0; i < r->nbkeys; i++)
		free(r->bkeys[i]);
	r->nbkeys = 0;
}

static void
drop(struct redis_store *r, const char *why)
{
	char w[300];

	if (!r->down)
		log_warn("store redis %s: connection lost: %s; reconnecting "
		    "with back-off", where(r, w, sizeof(w)), why);
	r->down = 1;
	if (r->c != NULL)
		redisFree(r->c);
	r->c = NULL;
	r->in_txn = 0;
	txn_clear(r);
	if (r->nowed > 0 || r->nstg > 0)
		/* Tentative writes of commits that may not have applied. */
		known_clear(r);
	owed_clear(r);
	bkeys_clear(r);
	if (r->batch)
		r->batch_failed = 1;
	r->backoff = r->backoff ? r->backoff * 2 : BACKOFF_MIN;
	if (r->backoff > BACKOFF_MAX)
		r->backoff = BACKOFF_MAX;
	r->next_try = clock_mono_ms() + r->backoff;
}

/* Runs a command on a fresh context during connect; 0 on success. */
static int
setup_cmd(redisContext *c, int argc, const char **argv, char **errp,
    redisReply **repp)
{
	redisReply *rep;
	int rc = 0;

	rep = redisCommandArgv(c, argc, argv, NULL);
	if (rep == NULL) {
		*errp = xasprintf("%s", c->errstr);
		return -1;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		*errp = xasprintf("%s: %s", argv[0], rep->str);
		rc = -1;
	}
	if (rc == 0 && repp != NULL)
		*repp = rep;
	else
		freeReplyObject(rep);
	return rc;
}

static int hash_to_rec(const struct kind_desc *, const redisReply *, void *);

/* A new connection, authenticated and on the database; NULL with *errp. */
static redisContext *
connect_ctx(struct redis_store *r, const struct timeval *tv, char **errp)
{
	redisContext *c;
	const char *argv[3];
	char db[16];

	if (r->host != NULL)
		c = redisConnectWithTimeout(r->host, r->port, *tv);
	else
		c = redisConnectUnixWithTimeout(r->path, *tv);
	if (c == NULL) {
		*errp = xstrdup("out of memory");
		return NULL;
	}
	if (c->err) {
		*errp = xstrdup(c->errstr);
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, *tv);
	if (r->pass != NULL && *r->pass != '\0') {
		argv[0] = "AUTH";
		if (r->user != NULL) {
			argv[1] = r->user;
			argv[2] = r->pass;
		} else
			argv[1] = r->pass;
		if (setup_cmd(c, r->user ? 3 : 2, argv, errp, NULL) < 0) {
			redisFree(c);
			return NULL;
		}
	}
	snprintf(db, sizeof(db), "%d", r->db);
	argv[0] = "SELECT";
	argv[1] = db;
	/* Also proves the server answers and the password was right. */
	if (setup_cmd(c, 2, argv, errp, NULL) < 0) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* Loads the commit script into the server's cache; 0 or -1. */
static int
load_script(redisContext *c, char *sha, size_t shasz, char **errp)
{
	const char *argv[3] = { "SCRIPT", "LOAD", commit_lua };
	redisReply *rep = NULL;

	if (setup_cmd(c, 3, argv, errp, &rep) < 0)
		return -1;
	if (rep->type != REDIS_REPLY_STRING) {
		*errp = xstrdup("SCRIPT LOAD: unexpected reply");
		freeReplyObject(rep);
		return -1;
	}
	snprintf(sha, shasz, "%s", rep->str);
	freeReplyObject(rep);
	return 0;
}

/* A SCAN of match (of type, or NULL: any) from cursor; its count. */
static int
scan_argv(const char **argv, const char *cursor, const char *match,
    const char *type)
{
	int n = 0;

	argv[n++] = "SCAN";
	argv[n++] = cursor;
	argv[n++] = "MATCH";
	argv[n++] = match;
	argv[n++] = "COUNT";
	argv[n++] = "1000";
	if (type != NULL) {
		argv[n++] = "TYPE";
		argv[n++] = type;
	}
	return n;
}

/* A SCAN's keys, the next cursor copied; NULL if rep is not a SCAN's. */
static redisReply *
scan_keys(const redisReply *rep, char *cursor, size_t cursz)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    rep->element[1]->type != REDIS_REPLY_ARRAY)
		return NULL;
	snprintf(cursor, cursz, "%s", rep->element[0]->str);
	return rep->element[1];
}

/*
 * Records written as hashes (one field a member), as bouncer wrote them
 * before it packed them into strings, are rewritten once: the first
 * connection of a daemon or bouncerctl that finds FORMAT_KEY unset
 * converts them all and then sets it, and every later connection finds
 * it at once. Never fatal: a conversion that fails (a user without
 * EVAL, a read-only replica) is logged and tried again at the next
 * connection, and a store that says it has another format is left
 * alone. A record key that still holds a hash reads as absent; its
 * next change replaces it. 0, or -1 when the connection failed (in
 * *errp).
 */
static int
convert_hashes(redisContext *c, char **errp)
{
	static const char lua[] =
	    "if redis.call('TYPE', KEYS[1]).ok == 'hash' then\n"
	    "  redis.call('SET', KEYS[1], ARGV[1]) return 1 end\n"
	    "return 0\n";
	const char *argv[8];
	size_t lens[5], i, n, converted = 0, failed = 0;
	redisReply *rep = NULL, *keys, *h, *x;
	char cursor[32] = "0", *v, *err = NULL;
	union {
		struct store_rcpt r;
		struct store_dest d;
		struct store_alert a;
	} rec;
	const struct kind_desc *k;

	argv[0] = "GET";
	argv[1] = FORMAT_KEY;
	if ((rep = redisCommandArgv(c, 2, argv, NULL)) == NULL) {
		*errp = xstrdup(c->errstr);
		return -1;
	}
	if (rep->type == REDIS_REPLY_STRING && strcmp(rep->str, FORMAT) != 0)
		log_warn("store redis: records kept as \"%s\" (%s), not as "
		    "\"%s\": a newer version's?", rep->str, FORMAT_KEY,
		    FORMAT);
	n = rep->type != REDIS_REPLY_NIL;
	freeReplyObject(rep);
	if (n)
		return 0;
	do {
		if (setup_cmd(c, scan_argv(argv, cursor, PREFIX "[rda]:*",
		    "hash"), argv, &err, &rep) < 0)
			break;
		if ((keys = scan_keys(rep, cursor, sizeof(cursor))) == NULL) {
			freeReplyObject(rep);
			err = xstrdup("SCAN: unexpected reply");
			break;
		}
		for (i = 0; i < keys->elements; i++)
			redisAppendCommand(c, "HGETALL %b", keys->element[i]->str,
			    (size_t)keys->element[i]->len);
		for (i = 0, n = 0; i < keys->elements; i++) {
			if (redisGetReply(c, (void **)&h) != REDIS_OK) {
				freeReplyObject(rep);
				*errp = xstrdup(c->errstr);
				return -1;
			}
			x = keys->element[i];
			k = &store_kinds[x->str[sizeof(PREFIX) - 1] == 'r' ?
			    SK_RCPT : x->str[sizeof(PREFIX) - 1] == 'd' ?
			    SK_DEST : SK_ALERT];
			/* Not a hash any more (an error): skipped. */
			if (hash_to_rec(k, h, &rec)) {
				v = rec_pack(k, &rec, &lens[4]);
				argv[0] = "EVAL";
				argv[1] = lua;
				argv[2] = "1";
				argv[3] = x->str;
				argv[4] = v;
				lens[0] = 4;
				lens[1] = sizeof(lua) - 1;
				lens[2] = 1;
				lens[3] = x->len;
				redisAppendCommandArgv(c, 5, argv, lens);
				free(v);
				n++;
			}
			freeReplyObject(h);
		}
		for (i = 0; i < n; i++) {
			if (redisGetReply(c, (void **)&h) != REDIS_OK) {
				freeReplyObject(rep);
				*errp = xstrdup(c->errstr);
				return -1;
			}
			if (h->type == REDIS_REPLY_INTEGER)
				converted += h->integer == 1;
			else if (failed++ == 0 && h->type ==
			    REDIS_REPLY_ERROR)
				err = xasprintf("EVAL: %s", h->str);
			freeReplyObject(h);
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0 && failed == 0);
	if (converted > 0)
		log_info("store redis: %zu records kept as hashes rewritten "
		    "as strings", converted);
	if (err == NULL && failed == 0) {
		argv[0] = "SET";
		argv[1] = FORMAT_KEY;
		argv[2] = FORMAT;
		if (setup_cmd(c, 3, argv, &err, NULL) == 0)
			return 0;
	}
	log_warn("store redis: records kept as hashes not converted: %s; "
	    "they read as absent until a connection converts them",
	    err != NULL ? err : "unexpected reply");
	free(err);
	return c->err ? (*errp = xstrdup(c->errstr), -1) : 0;
}

static int
connect_now(struct redis_store *r, const struct timeval *tv, char **errp)
{
	redisContext *c;

	if ((c = connect_ctx(r, tv, errp)) == NULL)
		return -1;
	/* Every transaction needs it; a server without scripting is
	 * refused here, not at the first event. */
	if (load_script(c, r->sha, sizeof(r->sha), errp) < 0 ||
	    convert_hashes(c, errp) < 0) {
		redisFree(c);
		return -1;
	}
	redisSetTimeout(c, r->tv);
	r->c = c;
	r->cur_tv = &r->tv;
	return 0;
}

/*
 * A connection, or -1 while the back-off runs. tv (r->tv, or r->ltv
 * for a lookup) bounds the connect and the commands that follow;
 * switched only when it changes, since it costs two system calls.
 */
static int
ensure_tv(struct redis_store *r, const struct timeval *tv)
{
	char *err = NULL, w[300];

	if (r->c != NULL) {
		if (r->cur_tv != tv) {
			redisSetTimeout(r->c, *tv);
			r->cur_tv = tv;
		}
		return 0;
	}
	if (clock_mono_ms() < r->next_try)
		return -1;
	if (connect_now(r, tv, &err) < 0) {
		r->backoff = r->backoff ? r->backoff * 2 : BACKOFF_MIN;
		if (r->backoff > BACKOFF_MAX)
			r->backoff = BACKOFF_MAX;
		r->next_try = clock_mono_ms() + r->backoff;
		if (!r->down)
			log_warn("store redis %s: %s; retrying with back-off",
			    where(r, w, sizeof(w)), err);
		r->down = 1;
		free(err);
		return -1;
	}
	if (r->down)
		log_info("store redis %s: reconnected", where(r, w,
		    sizeof(w)));
	r->down = 0;
	r->backoff = 0;
	if (tv != r->cur_tv) {
		redisSetTimeout(r->c, *tv);
		r->cur_tv = tv;
	}
	return 0;
}

static int
ensure(struct redis_store *r)
{
	return ensure_tv(r, r->in_lookup ? &r->ltv : &r->tv);
}

static int load_script(redisContext *, char *, size_t, char **);

/*
 * Writes what hiredis has buffered to the socket now, so that the
 * server works on a batch's commits while the next ones are built
 * (else they would all go at the end of the batch, with the first
 * read, and the two sides would take turns). The server never stops
 * reading while it works, and keeps its replies until they are read,
 * so this waits only while the server is that far behind.
 */
static int
push(struct redis_store *r)
{
	int done = 0;

	while (!done)
		if (redisBufferWrite(r->c, &done) != REDIS_OK)
			return -1;
	return 0;
}

/*
 * Sends the deferred commits staged so far as one call of the commit
 * script; their replies are owed. 0, or -1 (the connection is lost;
 * their outcomes unknown).
 */
static int
flush_defer(struct redis_store *r)
{
	const char **argv;
	size_t *lens, argc, i;
	char num[24];
	struct owed *o;
	int rc = 0;

	if (r->nstg == 0)
		return 0;
	argc = 4 + r->ndarg;
	argv = xreallocarray(NULL, argc, sizeof(*argv));
	lens = xreallocarray(NULL, argc, sizeof(*lens));
	snprintf(num, sizeof(num), "%zu", r->nstg);
	argv[0] = "EVALSHA";
	argv[1] = r->sha;
	argv[2] = "0";
	argv[3] = num;
	for (i = 0; i < 4; i++)
		lens[i] = strlen(argv[i]);
	for (i = 0; i < r->ndarg; i++) {
		argv[4 + i] = r->dbuf + r->doff[2 * i];
		lens[4 + i] = r->doff[2 * i + 1];
	}
	if (redisAppendCommandArgv(r->c, (int)argc, argv, lens) != REDIS_OK ||
	    push(r) < 0)
		rc = -1;
	else {
		/* The staged commits now wait for their reply. */
		for (i = 0; i < r->nstg; i++) {
			o = owed_add(&r->owed, &r->nowed, &r->owedcap,
			    r->stg[i].seq);
			*o = r->stg[i];
			o->ncall = i == 0 ? r->nstg : 0;
		}
		r->nstg = 0;
		r->dlen = r->ndarg = 0;
	}
	free(argv);
	free(lens);
	if (rc < 0)
		drop(r, r->c->errstr);
	return rc;
}

/*
 * A deferred commit's reply: its outcome, and what the keys hold now
 * when it was stale (the tentative writes forgotten, the keys read
 * learnt).
 */
static void
commit_outcome(struct redis_store *r, const struct owed *o,
    const redisReply *rep)
{
	size_t i;
	int out;

	if ((rep->type == REDIS_REPLY_INTEGER && rep->integer == 1) ||
	    (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 &&
	    rep->element[0]->type == REDIS_REPLY_INTEGER &&
	    rep->element[0]->integer == 1))
		out = 1;
	else if (rep->type == REDIS_REPLY_ARRAY &&
	    rep->elements == 1 + o->nchk &&
	    rep->element[0]->type == REDIS_REPLY_INTEGER) {
		for (i = 0; i < o->nw; i++)
			kmap_del(known_of(r, o->wkeys[i]), o->wkeys[i]);
		for (i = 0; i < o->nchk; i++)
			kmap_put(known_of(r, o->chk[i]), o->chk[i],
			    known_from(rep->element[i + 1]));
		out = 0;
	} else if (rep->type == REDIS_REPLY_ERROR &&
	    strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		/* Nothing applied; what was guessed from it is void. */
		known_clear(r);
		r->reload = 1;
		out = 0;
	} else {
		log_warn("store redis: transaction: %s",
		    rep->type == REDIS_REPLY_ERROR ? rep->str :
		    "unexpected reply");
		known_clear(r);
		r->batch_failed = 1;
		out = -1;
	}
	r->outc[o->seq] = (signed char)out;
}

/*
 * Reads the replies owed: pipelined batch writes, after appending
 * XADDs that name every recipient and destination they changed (so a
 * batch of 1,000 costs the stream ten entries, not 1,000 script
 * calls), and deferred commits (their outcomes). The XADD follows the
 * writes on the one connection, so a reader that sees it sees them;
 * it is not atomic with them: a client that dies between leaves its
 * last writes to the other daemons' next full load. A commit's own
 * XADD is in its script.
 */
static int
drain(struct redis_store *r)
{
	redisReply *rep;
	const char *argv[6 + 2 * CHANGES_KEYS];
	size_t lens[6 + 2 * CHANGES_KEYS], i, k, m, n;
	char *err = NULL, w[300];
	int rc = 0;

	if (flush_defer(r) < 0)
		return -1;
	/* CHANGES_KEYS keys an entry, so that a reader's XREAD of
	 * CHANGES_READ entries stays small. */
	for (k = 0; k < r->nbkeys; k += CHANGES_KEYS) {
		m = r->nbkeys - k < CHANGES_KEYS ? r->nbkeys - k :
		    CHANGES_KEYS;
		n = 0;
		argv[n++] = "XADD";
		argv[n++] = CHANGES;
		argv[n++] = "MAXLEN";
		argv[n++] = "~";
		argv[n++] = CHANGES_MAXLEN;
		argv[n++] = "*";
		for (i = 0; i < n; i++)
			lens[i] = strlen(argv[i]);
		for (i = k; i < k + m; i++) {
			argv[n] = "k";
			lens[n++] = 1;
			argv[n] = r->bkeys[i];
			lens[n++] = strlen(r->bkeys[i]);
		}
		if (redisAppendCommandArgv(r->c, (int)n, argv, lens) !=
		    REDIS_OK) {
			bkeys_clear(r);
			drop(r, r->c->errstr);
			return -1;
		}
		owe(r);
	}
	bkeys_clear(r);
	for (i = 0; i < r->nowed; i += m) {
		if (redisGetReply(r->c, (void **)&rep) != REDIS_OK) {
			drop(r, r->c->errstr);
			return -1;
		}
		m = 1;
		if (r->owed[i].seq >= 0) {
			/* A call of m commits: one array each. */
			m = r->owed[i].ncall;
			for (k = 0; k < m; k++)
				commit_outcome(r, &r->owed[i + k],
				    rep->type == REDIS_REPLY_ARRAY &&
				    rep->elements == m ? rep->element[k] : rep);
		} else if (rep->type == REDIS_REPLY_ERROR) {
			log_warn("store redis: %s", rep->str);
			r->batch_failed = 1;
			rc = -1;
		}
		freeReplyObject(rep);
	}
	owed_clear(r);
	if (r->reload) {
		r->reload = 0;
		if (load_script(r->c, r->sha, sizeof(r->sha), &err) < 0) {
			log_warn("store redis %s: %s", where(r, w, sizeof(w)),
			    err);
			free(err);
			drop(r, "the commit script cannot be loaded");
			return -1;
		}
	}
	return rc;
}

/* Runs one command; NULL on failure (logged). */
static redisReply *
run(struct redis_store *r, int argc, const char **argv, const size_t *lens)
{
	redisReply *rep;

	if (ensure(r) < 0 || drain(r) < 0)
		return NULL;
	rep = redisCommandArgv(r->c, argc, argv, lens);
	if (rep == NULL) {
		drop(r, r->c->errstr);
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		log_warn("store redis: %s: %s", argv[0], rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

static int
is_record_key(const char *key)
{
	return strncmp(key, PREFIX "r:", sizeof(PREFIX "r:") - 1) == 0 ||
	    strncmp(key, PREFIX "d:", sizeof(PREFIX "d:") - 1) == 0 ||
	    strncmp(key, PREFIX "a:", sizeof(PREFIX "a:") - 1) == 0;
}

/*
 * A write is on its way. With `learn`, `known` records what the keys
 * will hold once it applies (a guess only: a commit checks it);
 * without, `known` forgets them.
 */
static void
note_write(struct redis_store *r, int argc, const char *const *argv,
    const size_t *lens, int learn)
{
	int i;

	if (argc < 2)
		return;
	if (strcmp(argv[0], "DEL") == 0) {
		for (i = 1; i < argc; i++) {
			if (!learn)
				kmap_del(known_of(r, argv[i]), argv[i]);
			else if (is_record_key(argv[i]))
				kmap_put(known_of(r, argv[i]), argv[i],
				    known_new(0));
			else
				kmap_del(known_of(r, argv[i]), argv[i]);
		}
		return;
	}
	if (!learn) {
		kmap_del(known_of(r, argv[1]), argv[1]);
		return;
	}
	if (strcmp(argv[0], "SET") != 0 || argc < 3)
		return;
	if (is_record_key(argv[1]))
		kmap_put(known_of(r, argv[1]), argv[1], known_val(argv[2],
		    lens ? lens[2] : strlen(argv[2])));
	else
		kmap_put(known_of(r, argv[1]), argv[1], known_new(1));
}

/* Is rkey a recipient or a destination, whose writes go to the stream? */
static int
is_change_key(const char *key)
{
	return strncmp(key, PREFIX KEY_RCPT, sizeof(PREFIX KEY_RCPT) - 1) ==
	    0 || strncmp(key, PREFIX KEY_DEST,
	    sizeof(PREFIX KEY_DEST) - 1) == 0;
}

/*
 * One write as an EVALSHA of the commit script that checks nothing, so
 * that it reaches the stream of changes with the write. av and al have
 * room for argc + 7; num holds a number's text. Returns the count.
 */
static int
script_args(struct redis_store *r, int argc, const char **argv,
    const size_t *lens, const char **av, size_t *al, char *num,
    size_t numsz)
{
	int n = 0, i;

	av[n] = "EVALSHA";
	al[n++] = 7;
	av[n] = r->sha;
	al[n++] = strlen(r->sha);
	av[n] = "0";		/* keys */
	al[n++] = 1;
	av[n] = "1";		/* transactions */
	al[n++] = 1;
	av[n] = "0";		/* checks */
	al[n++] = 1;
	av[n] = "1";		/* writes */
	al[n++] = 1;
	snprintf(num, numsz, "%d", argc);
	av[n] = num;
	al[n++] = strlen(num);
	for (i = 0; i < argc; i++) {
		av[n] = argv[i];
		al[n++] = lens ? lens[i] : strlen(argv[i]);
	}
	return n;
}

/*
 * Runs one write now, through the script when it changes a recipient
 * or a destination. Returns the write's own reply in *wr (inside the
 * reply returned, which the caller frees), or NULL (logged).
 */
static redisReply *
write_now(struct redis_store *r, int argc, const char **argv,
    const size_t *lens, const redisReply **wr)
{
	const char *av[MAXARGS + 8];
	size_t al[MAXARGS + 8];
	char num[16], *err = NULL, w[300];
	redisReply *rep;
	int n, tries;

	if (!is_change_key(argv[1]) || argc > MAXARGS) {
		rep = run(r, argc, argv, lens);
		*wr = rep;
		return rep;
	}
	n = script_args(r, argc, argv, lens, av, al, num, sizeof(num));
	for (tries = 0; tries < 2; tries++) {
		if ((rep = run(r, n, av, al)) != NULL || r->c == NULL ||
		    tries > 0)
			break;
		/* NOSCRIPT: the server forgot it (a restart, SCRIPT FLUSH). */
		if (load_script(r->c, r->sha, sizeof(r->sha), &err) < 0) {
			log_warn("store redis %s: %s", where(r, w, sizeof(w)),
			    err);
			free(err);
			return NULL;
		}
		av[1] = r->sha;
	}
	if (rep == NULL)
		return NULL;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 ||
	    rep->element[0]->type != REDIS_REPLY_ARRAY ||
	    rep->element[0]->elements != 2) {
		log_warn("store redis: %s: unexpected reply", argv[0]);
		freeReplyObject(rep);
		return NULL;
	}
	*wr = rep->element[0]->element[1];
	return rep;
}

/*
 * A write: queued inside a transaction, pipelined in a batch, run at
 * once otherwise. Returns 0 or -1.
 */
static int
write_cmd(struct redis_store *r, int argc, const char **argv,
    const size_t *lens)
{
	const redisReply *wr;
	redisReply *rep;
	struct wcmd *w;
	size_t n;
	int i;

	if (r->in_txn) {
		if (r->nw == r->wcap) {
			r->wcap = r->wcap ? r->wcap * 2 : 16;
			r->w = xreallocarray(r->w, r->wcap, sizeof(*r->w));
		}
		w = &r->w[r->nw++];
		w->argc = argc;
		w->argv = xreallocarray(NULL, (size_t)argc, sizeof(*w->argv));
		w->len = xreallocarray(NULL, (size_t)argc, sizeof(*w->len));
		for (i = 0; i < argc; i++) {
			n = lens ? lens[i] : strlen(argv[i]);
			w->argv[i] = xmalloc(n + 1);
			memcpy(w->argv[i], argv[i], n);
			w->argv[i][n] = '\0';
			w->len[i] = n;
		}
		return 0;
	}
	if (r->batch) {
		if (ensure(r) < 0)
			return -1;
		/* Bulk writes (imports, expiry): not worth remembering. */
		note_write(r, argc, argv, lens, 0);
		/* The keys go to the stream when the batch drains. */
		for (i = 1; i < argc && (i == 1 ||
		    strcmp(argv[0], "DEL") == 0); i++) {
			if (!is_change_key(argv[i]))
				continue;
			if (r->nbkeys == r->bkeycap) {
				r->bkeycap = r->bkeycap ? r->bkeycap * 2 : 64;
				r->bkeys = xreallocarray(r->bkeys, r->bkeycap,
				    sizeof(*r->bkeys));
			}
			r->bkeys[r->nbkeys++] = xstrdup(argv[i] +
			    sizeof(PREFIX) - 1);
		}
		/* In order with the commits staged before it. */
		if (flush_defer(r) < 0)
			return -1;
		if (redisAppendCommandArgv(r->c, argc, argv, lens) !=
		    REDIS_OK) {
			drop(r, r->c->errstr);
			return -1;
		}
		owe(r);
		if (r->nowed >= PIPELINE_MAX)
			return drain(r);
		return 0;
	}
	note_write(r, argc, argv, lens, 1);
	if ((rep = write_now(r, argc, argv, lens, &wr)) == NULL)
		return -1;
	freeReplyObject(rep);
	return 0;
}

/* --- open and close -------------------------------------------------- */

static void redis_close(struct store *);

static char *
pct_decode(const char *s, size_t n)
{
	char *o = xmalloc(n + 1), *p = o;
	size_t i;
	unsigned v;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    sscanf(s + i + 1, "%2x", &v) == 1) {
			*p++ = (char)v;
			i += 2;
		} else
			*p++ = s[i];
	}
	*p = '\0';
	return o;
}

static struct redis_store *
redis_new(const struct store_params *p)
{
	struct redis_store *r = xcalloc(1, sizeof(*r));

	r->tv.tv_sec = p->timeout;
	r->tv.tv_usec = 0;
	r->ltv = r->tv;
	if ((long long)p->timeout * 1000 > LOOKUP_TIMEOUT_MS) {
		r->ltv.tv_sec = LOOKUP_TIMEOUT_MS / 1000;
		r->ltv.tv_usec = LOOKUP_TIMEOUT_MS % 1000 * 1000;
	}
	kmap_init(&r->known[0], KNOWN_MAX, known_free);
	kmap_init(&r->known[1], KNOWN_DEST_MAX, known_free);
	return r;
}

static struct store *
redis_finish(struct redis_store *r, const char *uri,
    const struct store_params *p, char **errp)
{
	struct sigaction sa;
	char *err = NULL;

	/*
	 * hiredis writes with write(2): a server that went away would
	 * kill the process with SIGPIPE. Ignore it unless the program
	 * has chosen a handler of its own.
	 */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = 0;
		sigaction(SIGPIPE, &sa, NULL);
	}

	if (p->password != NULL) {
		free(r->pass);
		r->pass = xstrdup(p->password);
	}
	if (connect_now(r, &r->tv, &err) < 0) {
		*errp = xasprintf("%s: %s", uri, err);
		free(err);
		redis_close(&r->base);
		return NULL;
	}
	/* One view per server and database per process. */
	if (r->host != NULL)
		err = xasprintf("redis:%s:%d/%d", r->host, r->port, r->db);
	else
		err = xasprintf("redis+unix:%s?db=%d", r->path, r->db);
	r->view = view_get(err);
	free(err);
	r->base.p = *p;
	return &r->base;
}

/* rest: //[user:pass@]host[:port][/db] */
static struct store *
redis_open(const char *uri, const char *rest, const struct store_params *p,
    char **errp)
{
	struct redis_store *r;
	const char *at, *h, *colon, *slash, *end;
	char *e;
	long v;

	if (strncmp(rest, "//", 2) != 0) {
		*errp = xasprintf("%s: expected redis://host:port/db", uri);
		return NULL;
	}
	rest += 2;
	r = redis_new(p);
	r->port = 6379;
	end = rest + strlen(rest);
	slash = strchr(rest, '/');
	if (slash == NULL)
		slash = end;
	at = memchr(rest, '@', (size_t)(slash - rest));
	h = rest;
	if (at != NULL) {
		colon = memchr(rest, ':', (size_t)(at - rest));
		if (colon != NULL) {
			r->user = colon > rest ? pct_decode(rest,
			    (size_t)(colon - rest)) : NULL;
			r->pass = pct_decode(colon + 1,
			    (size_t)(at - colon - 1));
		} else
			r->pass = pct_decode(rest, (size_t)(at - rest));
		h = at + 1;
	}
	colon = memchr(h, ':', (size_t)(slash - h));
	r->host = xstrndup(h, (size_t)((colon ? colon : slash) - h));
	if (*r->host == '\0') {
		free(r->host);
		r->host = xstrdup("127.0.0.1");
	}
	if (colon != NULL) {
		v = strtol(colon + 1, &e, 10);
		if (e != slash || v <= 0 || v > 65535) {
			*errp = xasprintf("%s: bad port", uri);
			redis_close(&r->base);
			return NULL;
		}
		r->port = (int)v;
	}
	if (*slash == '/' && slash[1] != '\0') {
		v = strtol(slash + 1, &e, 10);
		if (*e != '\0' || v < 0 || v > 1000) {
			*errp = xasprintf("%s: bad database number", uri);
			redis_close(&r->base);
			return NULL;
		}
		r->db = (int)v;
	}
	return redis_finish(r, uri, p, errp);
}

/* rest: /path[?db=N] */
static struct store *
redis_unix_open(const char *uri, const char *rest,
    const struct store_params *p, char **errp)
{
	struct redis_store *r;
	const char *q;
	char *e;
	long v;

	if (strncmp(rest, "//", 2) == 0)
		rest += 2;
	if (*rest != '/') {
		*errp = xasprintf("%s: expected redis+unix:/path?db=N", uri);
		return NULL;
	}
	r = redis_new(p);
	q = strchr(rest, '?');
	r->path = q ? xstrndup(rest, (size_t)(q - rest)) : xstrdup(rest);
	if (q != NULL) {
		if (strncmp(q + 1, "db=", 3) != 0 ||
		    (v = strtol(q + 4, &e, 10), *e != '\0') || v < 0 ||
		    v > 1000) {
			*errp = xasprintf("%s: expected ?db=N", uri);
			redis_close(&r->base);
			return NULL;
		}
		r->db = (int)v;
	}
	return redis_finish(r, uri, p, errp);
}

static void
redis_close(struct store *st)
{
	struct redis_store *r = (struct redis_store *)st;

	if (r->c != NULL) {
		if (r->nowed > 0)
			drain(r);
		if (r->c != NULL)
			redisFree(r->c);
	}
	txn_clear(r);
	owed_clear(r);
	free(r->owed);
	free(r->stg);
	free(r->dbuf);
	free(r->doff);
	free(r->outc);
	free(r->chk);
	free(r->w);
	kmap_free(&r->known[0]);
	kmap_free(&r->known[1]);
	bkeys_clear(r);
	free(r->bkeys);
	view_put(r->view);
	free(r->host);
	free(r->path);
	free(r->user);
	if (r->pass != NULL) {
		explicit_bzero(r->pass, strlen(r->pass));
		free(r->pass);
	}
	free(r);
}

/* --- records --------------------------------------------------------- */

static char *
key_of(const char *kind, const char *key)
{
	return xasprintf(PREFIX "%s%s", kind, key);
}

static const struct field *
field_named(const struct kind_desc *k, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < k->nfields; i++)
		if (strlen(k->fields[i].name) == n &&
		    memcmp(k->fields[i].name, name, n) == 0)
			return &k->fields[i];
	return NULL;
}

/* Fills rec from an HGETALL reply (a record kept as a hash); 1 if any. */
static int
hash_to_rec(const struct kind_desc *k, const redisReply *rep, void *rec)
{
	const struct field *f;
	size_t i;

	memset(rec, 0, k->size);
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0)
		return 0;
	for (i = 0; i + 1 < rep->elements; i += 2) {
		const redisReply *n = rep->element[i], *v = rep->element[i + 1];

		if (n->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		if ((f = field_named(k, n->str, n->len)) != NULL)
			field_set(f, rec, v->str, v->len);
	}
	return 1;
}

/*
 * Is rec the record of key (its id, no prefix; NULL: any)? One whose
 * first field names another key is not: written to, it would change
 * that one.
 */
static int
rec_is(const struct kind_desc *k, void *rec, const char *key)
{
	if (key != NULL && strcmp((const char *)rec + k->fields[0].off,
	    key) != 0) {
		log_warn("store redis: %s%s holds the record of %s", k->prefix,
		    key, (const char *)rec + k->fields[0].off);
		memset(rec, 0, k->size);
		return 0;
	}
	return 1;
}

/* Fills rec from what is known of key's record; 1 if it is one. */
static int
known_to_rec(const struct kind_desc *k, const struct known *kn,
    const char *key, void *rec)
{
	memset(rec, 0, k->size);
	return kn->v != NULL && rec_unpack(k, kn->v, kn->n, rec) &&
	    rec_is(k, rec, key);
}

/* Fills rec from a GET reply of key's record; 1 if it held one. */
static int
reply_to_rec(const struct kind_desc *k, const redisReply *rep,
    const char *key, void *rec)
{
	memset(rec, 0, k->size);
	return rep->type == REDIS_REPLY_STRING &&
	    rec_unpack(k, rep->str, rep->len, rec) && rec_is(k, rec, key);
}

/*
 * A read inside a transaction: what the handle knows of rkey (a
 * record's value, or only whether it exists), "absent" if nothing;
 * remembered so that the commit checks it, and answered the same way
 * if read again.
 */
static const struct known *
txn_read(struct redis_store *r, const char *rkey, int record)
{
	const struct known *kn;
	struct check *c;
	size_t i;

	for (i = 0; i < r->nchk; i++)
		if (strcmp(r->chk[i].key, rkey) == 0)
			return r->chk[i].k;
	if (r->nchk == r->chkcap) {
		r->chkcap = r->chkcap ? r->chkcap * 2 : 8;
		r->chk = xreallocarray(r->chk, r->chkcap, sizeof(*r->chk));
	}
	c = &r->chk[r->nchk++];
	c->key = xstrdup(rkey);
	c->record = record;
	kn = kmap_get(known_of(r, rkey), rkey);
	c->k = kn != NULL ? known_dup(kn) : known_new(0);
	if (!record && c->k->v != NULL) {	/* only whether it exists */
		known_free(c->k);
		c->k = known_new(1);
	}
	return c->k;
}

static int
redis_get(struct store *st, enum store_kind kind, const char *key,
    void *rec)
{
	struct redis_store *r = (struct redis_store *)st;
	const struct kind_desc *k = &store_kinds[kind];
	redisReply *rep;
	const char *argv[2];
	char *rkey = key_of(k->prefix, key);
	int rc;

	if (r->in_txn) {
		rc = known_to_rec(k, txn_read(r, rkey, 1), key, rec);
		free(rkey);
		return rc;
	}
	argv[0] = "GET";
	argv[1] = rkey;
	rep = run(r, 2, argv, NULL);
	free(rkey);
	if (rep == NULL)
		return -1;
	rc = reply_to_rec(k, rep, key, rec);
	freeReplyObject(rep);
	return rc;
}

static int
redis_put(struct store *st, enum store_kind kind, const void *rec)
{
	struct redis_store *r = (struct redis_store *)st;
	const struct kind_desc *k = &store_kinds[kind];
	const char *argv[3];
	size_t lens[3];
	char *rkey, *v;
	int rc;

	rkey = key_of(k->prefix, (const char *)rec + k->fields[0].off);
	v = rec_pack(k, rec, &lens[2]);
	argv[0] = "SET";
	argv[1] = rkey;
	argv[2] = v;
	lens[0] = 3;
	lens[1] = strlen(rkey);
	rc = write_cmd(r, 3, argv, lens);
	free(rkey);
	free(v);
	return rc;
}

static int
redis_del(struct store *st, enum store_kind kind, const char *key)
{
	struct redis_store *r = (struct redis_store *)st;
	const redisReply *wr;
	redisReply *rep;
	const char *argv[3];
	char *k1 = key_of(store_kinds[kind].prefix, key), *k2 = NULL;
	int argc, rc;

	argv[0] = "DEL";
	argv[1] = k1;
	if (kind == SK_RCPT)
		argv[2] = k2 = key_of("h:", key);
	argc = kind == SK_RCPT ? 3 : 2;
	if (r->in_txn || r->batch)
		rc = write_cmd(r, argc, argv, NULL) < 0 ? -1 : 1;
	else {
		note_write(r, argc, argv, NULL, 1);
		if ((rep = write_now(r, argc, argv, NULL, &wr)) == NULL)
			rc = -1;
		else {
			rc = wr->type == REDIS_REPLY_INTEGER &&
			    wr->integer > 0;
			freeReplyObject(rep);
		}
	}
	free(k1);
	free(k2);
	return rc;
}

static int
redis_event_seen(struct store *st, const char *id)
{
	struct redis_store *r = (struct redis_store *)st;
	redisReply *rep;
	const char *argv[2];
	char *k = key_of(KEY_EVENT, id);
	int rc;

	if (r->in_txn) {
		rc = txn_read(r, k, 0)->exists;
		free(k);
		return rc;
	}
	argv[0] = "EXISTS";
	argv[1] = k;
	rep = run(r, 2, argv, NULL);
	free(k);
	if (rep == NULL)
		return -1;
	rc = rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
	freeReplyObject(rep);
	return rc;
}

/*
 * GETs the string at bouncer:KIND ID: 1 with the time it starts with
 * in *time and what follows the first blank in value (STORE_NOTE_MAX
 * bytes, or NULL), 0 if there is none, -1.
 */
static int
get_timed(struct redis_store *r, const char *kind, const char *id,
    long long *time, char *value)
{
	const char *argv[2];
	redisReply *rep;
	char *k = key_of(kind, id), *sp;
	int rc = 0;

	argv[0] = "GET";
	argv[1] = k;
	rep = run(r, 2, argv, NULL);
	free(k);
	if (rep == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_STRING) {
		*time = strtoll(rep->str, &sp, 10);
		if (value != NULL)
			snprintf(value, STORE_NOTE_MAX, "%s", *sp == ' ' ?
			    sp + 1 : sp);
		rc = 1;
	}
	freeReplyObject(rep);
	return rc;
}

/*
 * NOTE_IF_LATER: sets KEYS[1] to ARGV[2] for ARGV[3] seconds unless
 * the time it starts with is later than ARGV[1]. EVAL, not EVALSHA:
 * the server caches it by its digest, and a server that forgot it
 * cannot fail a pipelined batch.
 */
static const char note_later_lua[] =
"local v = redis.call('GET', KEYS[1])\n"
"if v then\n"
"  local t = tonumber(string.match(v, '^%-?%d+'))\n"
"  if t and t > tonumber(ARGV[1]) then return 0 end\n"
"end\n"
"redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])\n"
"return 1\n";

/*
 * SETs bouncer:KIND ID to "TIME" or "TIME VALUE", expiring with events,
 * when `when` allows (see store_note_put_when()).
 */
static int
set_timed(struct redis_store *r, enum note_when when, const char *kind,
    const char *id, long long time, const char *value)
{
	const char *argv[7];
	char ttl[32], tm[32], *k = key_of(kind, id), *v;
	int rc, argc = 0;

	v = value != NULL ? xasprintf("%lld %s", time, value) :
	    xasprintf("%lld", time);
	snprintf(ttl, sizeof(ttl), "%lld", r->base.p.event_retention);
	if (when == NOTE_IF_LATER) {
		snprintf(tm, sizeof(tm), "%lld", time);
		argv[argc++] = "EVAL";
		argv[argc++] = note_later_lua;
		argv[argc++] = "1";
		argv[argc++] = k;
		argv[argc++] = tm;
		argv[argc++] = v;
		argv[argc++] = ttl;
	} else {
		argv[argc++] = "SET";
		argv[argc++] = k;
		argv[argc++] = v;
		argv[argc++] = "EX";
		argv[argc++] = ttl;
		if (when == NOTE_IF_NONE)
			argv[argc++] = "NX";
	}
	rc = write_cmd(r, argc, argv, NULL);
	free(v);
	free(k);
	return rc;
}

static int
redis_event_time(struct store *st, const char *id, long long *time)
{
	return get_timed((struct redis_store *)st, KEY_EVENT, id, time, NULL);
}

static int
redis_event_mark(struct store *st, const char *id, long long time)
{
	return set_timed((struct redis_store *)st, NOTE_ALWAYS, KEY_EVENT, id,
	    time, NULL);
}

static int
redis_note_put(struct store *st, enum note_when when, const char *id,
    const char *value, long long time)
{
	return set_timed((struct redis_store *)st, when, "n:", id, time,
	    value);
}

static int
redis_note_get(struct store *st, const char *id, char *value,
    long long *time)
{
	return get_timed((struct redis_store *)st, "n:", id, time, value);
}

static int
redis_event_expire(struct store *st, long long before,
    struct store_expired *n)
{
	n->events = n->notes = 0;	/* the keys expire by themselves */
	return 0;
}

static void
tsv_field(char *dst, size_t dstsz, const char *s)
{
	size_t i;

	snprintf(dst, dstsz, "%s", s);
	for (i = 0; dst[i]; i++)
		if (dst[i] == '\t' || dst[i] == '\n' || dst[i] == '\r')
			dst[i] = ' ';
}

static int
redis_audit_add(struct store *st, const char *rcpt,
    const struct store_audit *a)
{
	struct redis_store *r = (struct redis_store *)st;
	char *k = key_of("h:", rcpt), *line, lo[32];
	char f[5][STORE_REPLY_MAX];
	const char *argv[5];
	int rc;

	tsv_field(f[0], sizeof(f[0]), a->old);
	tsv_field(f[1], sizeof(f[1]), a->new);
	tsv_field(f[2], sizeof(f[2]), a->event);
	tsv_field(f[3], sizeof(f[3]), a->rule);
	tsv_field(f[4], sizeof(f[4]), a->reply);
	line = xasprintf("%lld\t%s\t%s\t%s\t%s\t%s", a->time, f[0], f[1], f[2],
	    f[3], f[4]);
	argv[1] = k;
	argv[2] = line;
	if (r->in_txn) {
		/* The commit script's own: a push, trimmed if need be. */
		snprintf(lo, sizeof(lo), "%d", st->p.audit_max);
		argv[0] = "AUDIT";
		argv[3] = lo;
		rc = write_cmd(r, 4, argv, NULL);
	} else {
		argv[0] = "RPUSH";
		rc = write_cmd(r, 3, argv, NULL);
		snprintf(lo, sizeof(lo), "%d", -st->p.audit_max);
		argv[0] = "LTRIM";
		argv[2] = lo;
		argv[3] = "-1";
		if (rc == 0)
			rc = write_cmd(r, 4, argv, NULL);
	}
	free(line);
	free(k);
	return rc;
}

static int
redis_audit_list(struct store *st, const char *rcpt, store_audit_fn *fn,
    void *arg)
{
	struct redis_store *r = (struct redis_store *)st;
	struct store_audit a;
	redisReply *rep;
	const char *argv[4];
	char *k = key_of("h:", rcpt), *s, *fld[6];
	size_t i;
	int j;

	argv[0] = "LRANGE";
	argv[1] = k;
	argv[2] = "0";
	argv[3] = "-1";
	rep = run(r, 4, argv, NULL);
	free(k);
	if (rep == NULL)
		return -1;
	for (i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
		if (rep->element[i]->type != REDIS_REPLY_STRING)
			continue;
		s = xstrdup(rep->element[i]->str);
		for (j = 0, fld[0] = s; j < 5; j++) {
			char *t = strchr(fld[j], '\t');

			if (t == NULL)
				break;
			*t = '\0';
			fld[j + 1] = t + 1;
		}
		for (j++; j < 6; j++)
			fld[j] = (char *)"";
		memset(&a, 0, sizeof(a));
		a.time = atoll(fld[0]);
		snprintf(a.old, sizeof(a.old), "%s", fld[1]);
		snprintf(a.new, sizeof(a.new), "%s", fld[2]);
		snprintf(a.event, sizeof(a.event), "%s", fld[3]);
		snprintf(a.rule, sizeof(a.rule), "%s", fld[4]);
		snprintf(a.reply, sizeof(a.reply), "%s", fld[5]);
		free(s);
		if (fn(&a, arg) != 0)
			break;
	}
	freeReplyObject(rep);
	return 0;
}

/*
 * Every key matching match, with its value: SCAN, then a GET of each
 * key found, pipelined, and each(key, value, arg) for each, until it
 * returns nonzero. 0, or -1 on failure (logged).
 */
static int
scan_get(struct redis_store *r, const char *match,
    int (*each)(const redisReply *, const redisReply *, void *), void *arg)
{
	const char *argv[8];
	redisReply *rep, *keys, *v;
	char cursor[32] = "0";
	size_t i;
	int stop = 0, rc = 0;

	do {
		if ((rep = run(r, scan_argv(argv, cursor, match, NULL), argv,
		    NULL)) == NULL)
			return -1;
		if ((keys = scan_keys(rep, cursor, sizeof(cursor))) == NULL) {
			freeReplyObject(rep);
			return -1;
		}
		for (i = 0; i < keys->elements; i++)
			redisAppendCommand(r->c, "GET %b",
			    keys->element[i]->str,
			    (size_t)keys->element[i]->len);
		for (i = 0; i < keys->elements; i++) {
			if (redisGetReply(r->c, (void **)&v) != REDIS_OK) {
				drop(r, r->c->errstr);
				rc = -1;
				break;
			}
			if (!stop && each(keys->element[i], v, arg))
				stop = 1;
			freeReplyObject(v);
		}
		freeReplyObject(rep);
	} while (rc == 0 && !stop && strcmp(cursor, "0") != 0);
	return rc;
}

struct iter_arg {
	const struct kind_desc *k;
	size_t		 plen;		/* of "bouncer:r:" */
	void		*rec;
	store_iter_fn	*fn;
	void		*arg;
};

static int
iterate_one(const redisReply *key, const redisReply *v, void *p)
{
	struct iter_arg *a = p;

	return key->len > a->plen && reply_to_rec(a->k, v, key->str + a->plen,
	    a->rec) && a->fn(a->rec, a->arg);
}

static int
redis_iterate(struct store *st, enum store_kind kind, store_iter_fn *fn,
    void *arg)
{
	struct redis_store *r = (struct redis_store *)st;
	struct iter_arg a = { &store_kinds[kind], 0, NULL, fn, arg };
	char *match = key_of(a.k->prefix, "*");
	int rc;

	a.plen = strlen(PREFIX) + strlen(a.k->prefix);
	a.rec = xmalloc(a.k->size);
	rc = scan_get(r, match, iterate_one, &a);
	free(match);
	free(a.rec);
	return rc;
}

struct ids_arg {
	size_t		 plen;		/* of "bouncer:e:" */
	int		 note;
	store_id_fn	*fn;
	void		*arg;
};

static int
ids_one(const redisReply *key, const redisReply *v, void *p)
{
	struct ids_arg *a = p;
	long long t;
	char *sp;

	if (v->type != REDIS_REPLY_STRING || key->len <= a->plen)
		return 0;
	t = strtoll(v->str, &sp, 10);
	return a->fn(key->str + a->plen, t, a->note ? (*sp == ' ' ? sp + 1 :
	    sp) : NULL, a->arg);
}

/*
 * SCANs bouncer:e:* or bouncer:n:* and GETs each in one pipeline per
 * batch of keys; a value is "TIME" or "TIME VALUE".
 */
static int
redis_iterate_ids(struct store *st, enum store_idkind kind, store_id_fn *fn,
    void *arg)
{
	const char *pfx = kind == SI_NOTE ? "n:" : "e:";
	struct ids_arg a = { strlen(PREFIX) + strlen(pfx), kind == SI_NOTE,
	    fn, arg };
	char *match = key_of(pfx, "*");
	int rc;

	rc = scan_get((struct redis_store *)st, match, ids_one, &a);
	free(match);
	return rc;
}

/* --- the view: the stream of changes, lookups -------------------------- */

/*
 * Appends a GET of key ("r:ADDR" or "d:DEST"), for the view; 0, or -1
 * for a key of another kind (not asked).
 */
static int
ask_fact(struct redis_store *r, const char *key, size_t n)
{
	const char *argv[2];
	size_t lens[2];
	char rkey[STORE_ADDR_MAX + 32];

	if (n < 2 || n + sizeof(PREFIX) > sizeof(rkey) ||
	    (strncmp(key, KEY_RCPT, 2) != 0 && strncmp(key, KEY_DEST, 2) != 0))
		return -1;
	memcpy(rkey, PREFIX, sizeof(PREFIX) - 1);
	memcpy(rkey + sizeof(PREFIX) - 1, key, n);
	argv[0] = "GET";
	lens[0] = 3;
	argv[1] = rkey;
	lens[1] = sizeof(PREFIX) - 1 + n;
	if (redisAppendCommandArgv(r->c, 2, argv, lens) != REDIS_OK)
		return -1;
	return 0;
}

/* Applies the GET reply a for key ("r:..." or "d:...") to ix. */
static void
apply_fact(struct view_index *ix, const char *key, const redisReply *a)
{
	struct store_rcpt rc;
	struct store_dest d;
	const char *k = key + 2;

	if (key[0] == KEY_RCPT[0]) {
		if (!reply_to_rec(&store_kinds[SK_RCPT], a, k, &rc))
			view_del_rcpt(ix, k);
		else
			view_set_rcpt(ix, k, strlen(k), rc.state, rc.reason,
			    rc.until, rc.since, rc.status);
		return;
	}
	if (!reply_to_rec(&store_kinds[SK_DEST], a, k, &d))
		view_del_dest(ix, k);
	else
		view_set_dest(ix, k, d.reason, d.until, d.provider);
}

/*
 * Loads the whole view aside and swaps it in: an anchor in the stream
 * first, so that whatever changes while the records are read is read
 * again from the stream afterwards. 0 or -1 (logged).
 */
static int
view_load(struct redis_store *r)
{
	const char *argv[10];
	struct view_index *ix;
	redisReply *rep, *keys, *h;
	char cursor[32] = "0", anchor[VIEW_POS_MAX], *asked;
	size_t i;
	int rc = 0;

	argv[0] = "XADD";
	argv[1] = CHANGES;
	argv[2] = "MAXLEN";
	argv[3] = "~";
	argv[4] = CHANGES_MAXLEN;
	argv[5] = "*";
	argv[6] = "load";
	argv[7] = "1";
	if ((rep = run(r, 8, argv, NULL)) == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_STRING) {
		freeReplyObject(rep);
		return -1;
	}
	snprintf(anchor, sizeof(anchor), "%s", rep->str);
	freeReplyObject(rep);
	ix = view_index_new(0, 0);
	do {
		if ((rep = run(r, scan_argv(argv, cursor, PREFIX "[rd]:*",
		    "string"), argv, NULL)) == NULL) {
			rc = -1;
			break;
		}
		if ((keys = scan_keys(rep, cursor, sizeof(cursor))) == NULL) {
			freeReplyObject(rep);
			rc = -1;
			break;
		}
		asked = xcalloc(keys->elements + 1, 1);
		for (i = 0; i < keys->elements; i++)
			if (keys->element[i]->type == REDIS_REPLY_STRING &&
			    keys->element[i]->len > sizeof(PREFIX) - 1 &&
			    ask_fact(r, keys->element[i]->str +
			    sizeof(PREFIX) - 1, keys->element[i]->len -
			    (sizeof(PREFIX) - 1)) == 0)
				asked[i] = 1;
		for (i = 0; i < keys->elements && rc == 0; i++) {
			if (!asked[i])
				continue;
			if (redisGetReply(r->c, (void **)&h) != REDIS_OK) {
				drop(r, r->c->errstr);
				rc = -1;
				break;
			}
			apply_fact(ix, keys->element[i]->str + sizeof(PREFIX) -
			    1, h);
			freeReplyObject(h);
		}
		free(asked);
		freeReplyObject(rep);
	} while (rc == 0 && strcmp(cursor, "0") != 0);
	if (rc < 0) {
		view_index_free(ix);
		return -1;
	}
	view_swap(r->view, ix, anchor);
	return 0;
}

/*
 * Reads the stream on from the view's position and applies what it
 * names. 0 when the view is current, 1 when it must be loaded whole
 * (the position is gone from the stream, or too much changed), -1 on
 * failure (logged).
 */
static int
view_catch_up(struct redis_store *r)
{
	struct view *v = r->view;
	struct view_index *ix;
	redisReply *xr = NULL, *rd = NULL, *ents, **facts = NULL;
	const redisReply *e, *kv;
	const char **kk = NULL;
	char count[16], *pos = view_pos(v);
	size_t i, j, n, nk, kcap = 0;
	size_t total = 0;
	int rc = 0;

	snprintf(count, sizeof(count), "%d", CHANGES_READ);
	for (;;) {
		/* Is the entry we stopped at still there? And what follows. */
		if (redisAppendCommand(r->c, "XRANGE %s %s %s", CHANGES, pos,
		    pos) != REDIS_OK || redisAppendCommand(r->c,
		    "XREAD COUNT %s STREAMS %s %s", count, CHANGES, pos) !=
		    REDIS_OK || redisGetReply(r->c, (void **)&xr) != REDIS_OK ||
		    redisGetReply(r->c, (void **)&rd) != REDIS_OK)
			goto lost;
		if (xr->type != REDIS_REPLY_ARRAY || xr->elements == 0) {
			rc = 1;
			break;
		}
		if (rd->type == REDIS_REPLY_NIL)
			break;		/* nothing new */
		if (rd->type != REDIS_REPLY_ARRAY || rd->elements != 1 ||
		    rd->element[0]->type != REDIS_REPLY_ARRAY ||
		    rd->element[0]->elements != 2 ||
		    rd->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
			log_warn("store redis: XREAD: unexpected reply");
			rc = -1;
			break;
		}
		ents = rd->element[0]->element[1];
		/* Each entry names one key or more ("k" fields); an anchor
		 * ("load") none. */
		nk = 0;
		for (i = 0; i < ents->elements; i++) {
			e = ents->element[i];
			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
			    e->element[1]->type != REDIS_REPLY_ARRAY)
				continue;
			kv = e->element[1];
			for (j = 0; j + 1 < kv->elements; j += 2) {
				if (kv->element[j]->type !=
				    REDIS_REPLY_STRING ||
				    kv->element[j + 1]->type !=
				    REDIS_REPLY_STRING ||
				    strcmp(kv->element[j]->str, "k") != 0 ||
				    ask_fact(r, kv->element[j + 1]->str,
				    kv->element[j + 1]->len) < 0)
					continue;
				if (nk == kcap) {
					kcap = kcap ? kcap * 2 : 256;
					kk = xreallocarray(kk, kcap,
					    sizeof(*kk));
				}
				kk[nk++] = kv->element[j + 1]->str;
			}
		}
		facts = xcalloc(nk + 1, sizeof(*facts));
		for (i = 0; i < nk; i++)
			if (redisGetReply(r->c, (void **)&facts[i]) !=
			    REDIS_OK) {
				facts[i] = NULL;
				for (n = 0; n < i; n++)
					freeReplyObject(facts[n]);
				free(facts);
				facts = NULL;
				goto lost;
			}
		/* Room first (aside), so that applying never rehashes. */
		ix = view_live(v);
		if (!view_room(ix, nk) && (view_grow(v, nk) < 0 ||
		    !view_room(ix, nk)))
			rc = 1;
		view_wrlock(v);
		for (i = 0; rc == 0 && i < nk; i++) {
			/* Let the readers in now and then. */
			if (i > 0 && i % APPLY_CHUNK == 0) {
				view_unlock(v);
				view_wrlock(v);
			}
			apply_fact(ix, kk[i], facts[i]);
		}
		e = ents->elements > 0 ? ents->element[ents->elements - 1] :
		    NULL;
		if (rc == 0 && e != NULL && e->type == REDIS_REPLY_ARRAY &&
		    e->elements == 2 &&
		    e->element[0]->type == REDIS_REPLY_STRING)
			snprintf(pos, VIEW_POS_MAX, "%s", e->element[0]->str);
		view_unlock(v);
		for (i = 0; i < nk; i++)
			freeReplyObject(facts[i]);
		free(facts);
		facts = NULL;
		n = ents->elements;
		freeReplyObject(xr);
		freeReplyObject(rd);
		xr = rd = NULL;
		if (rc != 0 || n < CHANGES_READ)
			break;
		/* Far behind: reloading costs less than catching up. */
		if ((total += nk) > CHANGES_BACKLOG) {
			rc = 1;
			break;
		}
	}
	free(kk);
	if (xr != NULL)
		freeReplyObject(xr);
	if (rd != NULL)
		freeReplyObject(rd);
	return rc;
lost:
	free(kk);
	if (xr != NULL)
		freeReplyObject(xr);
	if (rd != NULL)
		freeReplyObject(rd);
	drop(r, r->c->errstr);
	return -1;
}

/*
 * Brings the process's view up to date: the changes since the last
 * refresh, or everything at first and when changes may have been
 * missed. 0, or -1 (logged; the view stays as it was).
 */
static int
redis_refresh(struct store *st)
{
	struct redis_store *r = (struct redis_store *)st;
	int rc;

	if (r->view_only || r->in_txn || r->batch)
		return 0;
	view_refresh_lock(r->view);
	if (ensure(r) < 0 || drain(r) < 0)
		rc = -1;
	else if (!view_ready(r->view) || (rc = view_catch_up(r)) == 1)
		rc = view_load(r);
	view_refresh_unlock(r->view);
	return rc;
}

/*
 * A view-only handle never uses its connection again: it answers from
 * the view, which another handle keeps current.
 */
static void
redis_view_only(struct store *st)
{
	struct redis_store *r = (struct redis_store *)st;

	r->view_only = 1;
	if (r->c != NULL)
		redisFree(r->c);
	r->c = NULL;
}

/*
 * View-only: from the view (-1 until it is first loaded). Otherwise
 * from the server, under the lookup timeout.
 */
static int
redis_lookup(struct store *st, const char *rcpt, const char *domain,
    long long now, struct store_answer *out)
{
	struct redis_store *r = (struct redis_store *)st;
	int rc;

	r->det.detail = 0;
	if (r->view_only)
		return store_decide_view(r->view, rcpt, domain, now, out,
		    &r->det);
	r->in_lookup = 1;
	rc = store_decide_get(st, rcpt, domain, now, out, &r->det);
	r->in_lookup = 0;
	return rc;
}

static int
redis_lookup_detail(struct store *st, struct store_rcpt *out)
{
	struct redis_store *r = (struct redis_store *)st;

	if (!r->det.detail)
		return 0;
	out->since = r->det.since;
	snprintf(out->status, sizeof(out->status), "%s", r->det.status);
	return 1;
}

/* --- transactions ----------------------------------------------------- */

/*
 * Sends nothing: reads are answered from what the handle knows (see
 * txn_read) and checked by the commit. keys name what the caller will
 * touch; the commit checks exactly what was read instead.
 */
static int
redis_begin(struct store *st, const char *const *keys, size_t nkeys)
{
	struct redis_store *r = (struct redis_store *)st;

	(void)keys;
	(void)nkeys;
	txn_clear(r);
	r->in_txn = 0;
	/* Deferring, the commits' replies are read at the end. */
	if (ensure(r) < 0 || (!r->defer && drain(r) < 0))
		return -1;
	r->in_txn = 1;
	return 0;
}

/* Appends a decimal number to argv, its text kept in nums. */
static void
arg_num(const char **argv, size_t *lens, size_t *argc, char (*nums)[24],
    size_t *nnum, long long v)
{
	snprintf(nums[*nnum], sizeof(nums[0]), "%lld", v);
	argv[*argc] = nums[*nnum];
	lens[(*argc)++] = strlen(nums[(*nnum)++]);
}

static void
arg_str(const char **argv, size_t *lens, size_t *argc, const char *s,
    size_t len)
{
	argv[*argc] = s;
	lens[(*argc)++] = len;
}

/*
 * Stages a transaction (argv: its checks and writes, as the script
 * reads them) without waiting: up to DEFER_TXNS go to the server in
 * one call of the commit script, whose reply is read at the end of the
 * batch, or when the pipeline is full or a command needs an answer
 * now. Meanwhile the handle takes the transaction as applied (what was
 * read held, the writes hold), so the transactions after it read what
 * it wrote, and the server checks them against it in turn. Returns 2,
 * or -1.
 */
static int
stage_commit(struct redis_store *r, size_t argc, const char **argv,
    const size_t *lens)
{
	struct owed *o;
	size_t i, need;

	for (i = 0, need = 0; i < argc; i++)
		need += lens[i];
	if (r->dlen + need > r->dcap) {
		while (r->dlen + need > r->dcap)
			r->dcap = r->dcap ? r->dcap * 2 : 65536;
		r->dbuf = xrealloc(r->dbuf, r->dcap);
	}
	if (r->ndarg + argc > r->doffcap) {
		while (r->ndarg + argc > r->doffcap)
			r->doffcap = r->doffcap ? r->doffcap * 2 : 1024;
		r->doff = xreallocarray(r->doff, r->doffcap,
		    2 * sizeof(*r->doff));
	}
	for (i = 0; i < argc; i++) {
		memcpy(r->dbuf + r->dlen, argv[i], lens[i]);
		r->doff[2 * r->ndarg] = r->dlen;
		r->doff[2 * r->ndarg++ + 1] = lens[i];
		r->dlen += lens[i];
	}
	if (r->noutc == r->outccap) {
		r->outccap = r->outccap ? r->outccap * 2 : 256;
		r->outc = xreallocarray(r->outc, r->outccap, 1);
	}
	r->outc[r->noutc] = 2;		/* owed */
	o = owed_add(&r->stg, &r->nstg, &r->stgcap, (long)r->noutc++);
	o->chk = xreallocarray(NULL, r->nchk + 1, sizeof(*o->chk));
	for (i = 0; i < r->nchk; i++) {
		o->chk[o->nchk++] = xstrdup(r->chk[i].key);
		kmap_put(known_of(r, r->chk[i].key), r->chk[i].key,
		    r->chk[i].k);
		r->chk[i].k = NULL;
	}
	o->wkeys = xreallocarray(NULL, r->nw + 1, sizeof(*o->wkeys));
	for (i = 0; i < r->nw; i++) {
		o->wkeys[o->nw++] = xstrdup(r->w[i].argv[1]);
		note_write(r, r->w[i].argc, (const char *const *)r->w[i].argv,
		    r->w[i].len, 1);
	}
	/* A failure shows in the outcomes. */
	if (r->nstg >= DEFER_TXNS)
		flush_defer(r);
	if (r->nowed >= PIPELINE_MAX)
		drain(r);
	return 2;
}

/*
 * A transaction that checks a key absent and then SETs it with an
 * expiry (an event marked seen: store_event_seen(), store_event_mark())
 * has the two done by one check, "n" (SET ... NX), made last so that
 * it writes only when the others held. Moves that check to the end of
 * r->chk and returns the index of the write it replaces, or -1.
 */
static long
fuse_mark(struct redis_store *r)
{
	struct check c;
	size_t i, j;

	for (i = 0; i < r->nchk; i++) {
		if (r->chk[i].record || r->chk[i].k->v != NULL ||
		    r->chk[i].k->exists)
			continue;
		for (j = 0; j < r->nw; j++)
			if (r->w[j].argc == 5 &&
			    strcmp(r->w[j].argv[0], "SET") == 0 &&
			    strcmp(r->w[j].argv[1], r->chk[i].key) == 0 &&
			    strcmp(r->w[j].argv[3], "EX") == 0)
				break;
		if (j == r->nw)
			continue;
		c = r->chk[i];
		memmove(&r->chk[i], &r->chk[i + 1], (r->nchk - i - 1) *
		    sizeof(*r->chk));
		r->chk[r->nchk - 1] = c;
		return (long)j;
	}
	return -1;
}

/*
 * One round trip: EVALSHA of the commit script with what was read and
 * what is to be written. 1 applied, 0 a read was stale (the handle now
 * knows better; start over), -1 failure.
 */
static int
redis_commit(struct store *st)
{
	struct redis_store *r = (struct redis_store *)st;
	const char **argv;
	size_t *lens, argc = 0, cap, nnum = 0, i, j;
	char (*nums)[24], *err = NULL, w[300];
	redisReply *rep = NULL, *t;
	long fused;
	int rc = -1, tries;

	r->in_txn = 0;
	if (r->nchk == 0 && r->nw == 0)
		return 1;
	if (ensure(r) < 0 || (!r->defer && drain(r) < 0)) {
		txn_clear(r);
		return -1;
	}
	cap = 7 + 3 * r->nchk;
	for (i = 0; i < r->nw; i++)
		cap += 1 + (size_t)r->w[i].argc;
	argv = xreallocarray(NULL, cap, sizeof(*argv));
	lens = xreallocarray(NULL, cap, sizeof(*lens));
	nums = xreallocarray(NULL, 2 + r->nchk + r->nw, sizeof(*nums));
	arg_str(argv, lens, &argc, "EVALSHA", 7);
	arg_str(argv, lens, &argc, r->sha, strlen(r->sha));
	arg_str(argv, lens, &argc, "0", 1);
	arg_str(argv, lens, &argc, "1", 1);	/* one transaction */
	arg_num(argv, lens, &argc, nums, &nnum, (long long)r->nchk);
	fused = fuse_mark(r);
	for (i = 0; i < r->nchk; i++) {
		const struct known *k = r->chk[i].k;

		arg_str(argv, lens, &argc, r->chk[i].key,
		    strlen(r->chk[i].key));
		if (fused >= 0 && i == r->nchk - 1) {
			arg_str(argv, lens, &argc, "n", 1);
			arg_str(argv, lens, &argc, r->w[fused].argv[2],
			    r->w[fused].len[2]);
			arg_str(argv, lens, &argc, r->w[fused].argv[4],
			    r->w[fused].len[4]);
		} else if (r->chk[i].record && k->v == NULL) {
			arg_str(argv, lens, &argc, "a", 1);
		} else if (k->v == NULL) {
			arg_str(argv, lens, &argc, "x", 1);
			arg_str(argv, lens, &argc, k->exists ? "1" : "0", 1);
		} else {
			arg_str(argv, lens, &argc, "v", 1);
			arg_str(argv, lens, &argc, k->v, k->n);
		}
	}
	arg_num(argv, lens, &argc, nums, &nnum,
	    (long long)r->nw - (fused >= 0));
	for (i = 0; i < r->nw; i++) {
		if ((long)i != fused) {
			arg_num(argv, lens, &argc, nums, &nnum,
			    (long long)r->w[i].argc);
			for (j = 0; j < (size_t)r->w[i].argc; j++)
				arg_str(argv, lens, &argc, r->w[i].argv[j],
				    r->w[i].len[j]);
		}
		/* The view forgets what is about to change. */
		note_write(r, r->w[i].argc, (const char *const *)r->w[i].argv,
		    r->w[i].len, 0);
	}
	if (r->defer) {
		/* After "EVALSHA sha 0 1": the transaction itself. */
		rc = stage_commit(r, argc - 4, argv + 4, lens + 4);
		goto out;
	}
	for (tries = 0; tries < 2; tries++) {
		rep = redisCommandArgv(r->c, (int)argc, argv, lens);
		if (rep == NULL) {
			drop(r, r->c->errstr);
			goto out;
		}
		if (tries > 0 || rep->type != REDIS_REPLY_ERROR ||
		    strncmp(rep->str, "NOSCRIPT", 8) != 0)
			break;
		/* The server forgot it (a restart, SCRIPT FLUSH). */
		freeReplyObject(rep);
		rep = NULL;
		if (load_script(r->c, r->sha, sizeof(r->sha), &err) < 0) {
			log_warn("store redis %s: %s", where(r, w, sizeof(w)),
			    err);
			free(err);
			goto out;
		}
	}
	/* One transaction: its array. */
	t = rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
	    rep->element[0]->type == REDIS_REPLY_ARRAY ? rep->element[0] : rep;
	if (t->type == REDIS_REPLY_ARRAY && t->elements >= 1 &&
	    t->element[0]->type == REDIS_REPLY_INTEGER &&
	    t->element[0]->integer == 1) {
		/* Applied: what was read held, the writes now hold. */
		for (i = 0; i < r->nchk; i++) {
			kmap_put(known_of(r, r->chk[i].key), r->chk[i].key,
		    r->chk[i].k);
			r->chk[i].k = NULL;
		}
		for (i = 0; i < r->nw; i++)
			note_write(r, r->w[i].argc,
			    (const char *const *)r->w[i].argv, r->w[i].len, 1);
		rc = 1;
	} else if (t->type == REDIS_REPLY_ARRAY &&
	    t->elements == 1 + r->nchk &&
	    t->element[0]->type == REDIS_REPLY_INTEGER) {
		/* Stale: learn what the keys hold now. */
		for (i = 0; i < r->nchk; i++)
			kmap_put(known_of(r, r->chk[i].key), r->chk[i].key,
			    known_from(t->element[i + 1]));
		rc = 0;
	} else {
		log_warn("store redis: transaction: %s",
		    rep->type == REDIS_REPLY_ERROR ? rep->str :
		    "unexpected reply");
		for (i = 0; i < r->nchk; i++)
			kmap_del(known_of(r, r->chk[i].key), r->chk[i].key);
		for (i = 0; i < r->nw; i++)
			kmap_del(known_of(r, r->w[i].argv[1]), r->w[i].argv[1]);
	}
out:
	if (rep != NULL)
		freeReplyObject(rep);
	free(argv);
	free(lens);
	free(nums);
	txn_clear(r);
	return rc;
}

/* Discards the writes; nothing was sent, nothing is checked. */
static void
redis_rollback(struct store *st)
{
	struct redis_store *r = (struct redis_store *)st;

	r->in_txn = 0;
	txn_clear(r);
}

/* A batch whose commits are pipelined: see store_defer_begin(). */
static int
redis_defer(struct store *st, int begin, const signed char **out,
    size_t *n)
{
	struct redis_store *r = (struct redis_store *)st;
	int rc;

	if (begin) {
		r->batch = r->defer = 1;
		r->batch_failed = 0;
		r->noutc = 0;
		return 0;
	}
	rc = r->c != NULL ? drain(r) : 0;
	owed_clear(r);		/* after a loss: unknown */
	r->batch = r->defer = 0;
	*out = r->outc;
	*n = r->noutc;
	return r->batch_failed || rc < 0 ? -1 : 0;
}

static int
redis_batch(struct store *st, int begin)
{
	struct redis_store *r = (struct redis_store *)st;
	int rc;

	if (begin) {
		r->batch = 1;
		r->batch_failed = 0;
		return 0;
	}
	rc = r->c != NULL ? drain(r) : 0;
	r->batch = 0;
	return r->batch_failed || rc < 0 ? -1 : 0;
}

/* The two schemes differ only in how they connect. */
#define REDIS_OPS(name, openfn) {					\
	.scheme = name,							\
	.open = openfn,							\
	.close = redis_close,						\
	.lookup = redis_lookup,						\
	.begin = redis_begin,						\
	.commit = redis_commit,						\
	.rollback = redis_rollback,					\
	.batch = redis_batch,						\
	.defer = redis_defer,						\
	.view_only = redis_view_only,					\
	.refresh = redis_refresh,					\
	.lookup_detail = redis_lookup_detail,				\
	.get = redis_get,						\
	.put = redis_put,						\
	.del = redis_del,						\
	.event_seen = redis_event_seen,					\
	.event_time = redis_event_time,					\
	.event_mark = redis_event_mark,					\
	.note_put = redis_note_put,					\
	.note_get = redis_note_get,					\
	.event_expire = redis_event_expire,				\
	.audit_add = redis_audit_add,					\
	.audit_list = redis_audit_list,					\
	.iterate = redis_iterate,					\
	.iterate_ids = redis_iterate_ids,				\
}

const struct store_ops store_redis_ops = REDIS_OPS("redis", redis_open);
const struct store_ops store_redis_unix_ops =
    REDIS_OPS("redis+unix", redis_unix_open);
