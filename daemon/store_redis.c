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
 * Keys: bouncer:r:ADDR, bouncer:d:DEST and bouncer:a:KEY are hashes
 * with one field per struct member (store.c's field tables);
 * bouncer:h:ADDR is the audit trail (a list, trimmed to audit_max);
 * bouncer:e:ID marks a seen event (a string: its time) and
 * bouncer:n:ID holds a note (a string: "TIME VALUE"); both expire by
 * themselves after event_retention, set in the command that writes
 * them (SET ... EX).
 *
 * Transactions are optimistic: store_begin() WATCHes the keys, reads
 * go straight to the server, writes are queued and sent as one
 * MULTI ... EXEC at commit; EXEC answers nil when another client
 * changed a watched key, and the caller starts over. No count is lost.
 *
 * Losing the connection is never fatal: the operation fails (-1, the
 * caller fails open), the loss is logged once, and the next operation
 * reconnects, with a back-off that grows from 100 ms to 30 s while the
 * server stays away.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis.h>

#include "log.h"
#include "store.h"
#include "store_impl.h"
#include "xalloc.h"

#define PREFIX		"bouncer:"
#define BACKOFF_MIN	100		/* ms */
#define BACKOFF_MAX	30000
#define PIPELINE_MAX	1000		/* queued batch writes */
#define MAXARGS		48

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
	long long	 next_try;	/* ms, CLOCK_MONOTONIC */
	long long	 backoff;
	int		 down;		/* the loss has been logged */
	/* transaction */
	int		 in_txn;
	char		*pre_key[MAXARGS];	/* prefetched at begin */
	redisReply	*pre_rep[MAXARGS];
	size_t		 npre;
	char		**queue;	/* formatted commands */
	size_t		*qlen;
	size_t		 nq, qcap;
	/* batch: writes outside a transaction are pipelined */
	int		 batch;
	size_t		 pending;
	int		 batch_failed;
};

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
pre_clear(struct redis_store *r)
{
	size_t i;

	for (i = 0; i < r->npre; i++) {
		free(r->pre_key[i]);
		if (r->pre_rep[i] != NULL)
			freeReplyObject(r->pre_rep[i]);
	}
	r->npre = 0;
}

/* The reply prefetched for key ("bouncer:r:..."), or NULL. */
static const redisReply *
pre_find(struct redis_store *r, const char *key)
{
	size_t i;

	if (!r->in_txn)
		return NULL;
	for (i = 0; i < r->npre; i++)
		if (r->pre_rep[i] != NULL && strcmp(r->pre_key[i], key) == 0)
			return r->pre_rep[i];
	return NULL;
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
	pre_clear(r);
	r->pending = 0;
	if (r->batch)
		r->batch_failed = 1;
	r->backoff = r->backoff ? r->backoff * 2 : BACKOFF_MIN;
	if (r->backoff > BACKOFF_MAX)
		r->backoff = BACKOFF_MAX;
	r->next_try = mono_ms() + r->backoff;
}

/* Runs a command on a fresh context during connect; 0 on +OK. */
static int
setup_cmd(redisContext *c, int argc, const char **argv, char **errp)
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
	freeReplyObject(rep);
	return rc;
}

static int
connect_now(struct redis_store *r, char **errp)
{
	redisContext *c;
	const char *argv[3];
	char db[16];

	if (r->host != NULL)
		c = redisConnectWithTimeout(r->host, r->port, r->tv);
	else
		c = redisConnectUnixWithTimeout(r->path, r->tv);
	if (c == NULL) {
		*errp = xstrdup("out of memory");
		return -1;
	}
	if (c->err) {
		*errp = xstrdup(c->errstr);
		redisFree(c);
		return -1;
	}
	redisSetTimeout(c, r->tv);
	if (r->pass != NULL && *r->pass != '\0') {
		argv[0] = "AUTH";
		if (r->user != NULL) {
			argv[1] = r->user;
			argv[2] = r->pass;
		} else
			argv[1] = r->pass;
		if (setup_cmd(c, r->user ? 3 : 2, argv, errp) < 0) {
			redisFree(c);
			return -1;
		}
	}
	snprintf(db, sizeof(db), "%d", r->db);
	argv[0] = "SELECT";
	argv[1] = db;
	/* Also proves the server answers and the password was right. */
	if (setup_cmd(c, 2, argv, errp) < 0) {
		redisFree(c);
		return -1;
	}
	r->c = c;
	return 0;
}

/* A connection, or -1 while the back-off runs. */
static int
ensure(struct redis_store *r)
{
	char *err = NULL, w[300];

	if (r->c != NULL)
		return 0;
	if (mono_ms() < r->next_try)
		return -1;
	if (connect_now(r, &err) < 0) {
		r->backoff = r->backoff ? r->backoff * 2 : BACKOFF_MIN;
		if (r->backoff > BACKOFF_MAX)
			r->backoff = BACKOFF_MAX;
		r->next_try = mono_ms() + r->backoff;
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
	return 0;
}

/* Reads the replies of pipelined batch writes. */
static int
drain(struct redis_store *r)
{
	redisReply *rep;
	int rc = 0;

	while (r->pending > 0) {
		if (redisGetReply(r->c, (void **)&rep) != REDIS_OK) {
			drop(r, r->c->errstr);
			return -1;
		}
		r->pending--;
		if (rep->type == REDIS_REPLY_ERROR) {
			log_warn("store redis: %s", rep->str);
			r->batch_failed = 1;
			rc = -1;
		}
		freeReplyObject(rep);
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

/*
 * A write: queued inside a transaction, pipelined in a batch, run at
 * once otherwise. Returns 0 or -1.
 */
static int
write_cmd(struct redis_store *r, int argc, const char **argv,
    const size_t *lens)
{
	redisReply *rep;
	char *cmd;
	long long n;

	if (r->in_txn) {
		if ((n = redisFormatCommandArgv(&cmd, argc, argv, lens)) < 0)
			return -1;
		if (r->nq == r->qcap) {
			r->qcap = r->qcap ? r->qcap * 2 : 16;
			r->queue = xreallocarray(r->queue, r->qcap,
			    sizeof(*r->queue));
			r->qlen = xreallocarray(r->qlen, r->qcap,
			    sizeof(*r->qlen));
		}
		r->queue[r->nq] = cmd;
		r->qlen[r->nq++] = (size_t)n;
		return 0;
	}
	if (r->batch) {
		if (ensure(r) < 0)
			return -1;
		if (redisAppendCommandArgv(r->c, argc, argv, lens) !=
		    REDIS_OK) {
			drop(r, r->c->errstr);
			return -1;
		}
		if (++r->pending >= PIPELINE_MAX)
			return drain(r);
		return 0;
	}
	if ((rep = run(r, argc, argv, lens)) == NULL)
		return -1;
	freeReplyObject(rep);
	return 0;
}

static void
queue_clear(struct redis_store *r)
{
	size_t i;

	for (i = 0; i < r->nq; i++)
		redisFreeCommand(r->queue[i]);
	r->nq = 0;
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
	if (connect_now(r, &err) < 0) {
		*errp = xasprintf("%s: %s", uri, err);
		free(err);
		redis_close(&r->base);
		return NULL;
	}
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
		if (r->pending > 0)
			drain(r);
		if (r->c != NULL)
			redisFree(r->c);
	}
	queue_clear(r);
	pre_clear(r);
	free(r->queue);
	free(r->qlen);
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

/* Fills rec from an HGETALL reply; 1 if it had fields. */
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

static int
redis_get(struct store *st, enum store_kind kind, const char *key,
    void *rec)
{
	struct redis_store *r = (struct redis_store *)st;
	const struct kind_desc *k = &store_kinds[kind];
	const redisReply *pre;
	redisReply *rep;
	const char *argv[2];
	char *rkey = key_of(k->prefix, key);
	int rc;

	if ((pre = pre_find(r, rkey)) != NULL) {
		free(rkey);
		return hash_to_rec(k, pre, rec);
	}
	argv[0] = "HGETALL";
	argv[1] = rkey;
	rep = run(r, 2, argv, NULL);
	free(rkey);
	if (rep == NULL)
		return -1;
	rc = hash_to_rec(k, rep, rec);
	freeReplyObject(rep);
	return rc;
}

static int
redis_put(struct store *st, enum store_kind kind, const void *rec)
{
	struct redis_store *r = (struct redis_store *)st;
	const struct kind_desc *k = &store_kinds[kind];
	const char *argv[MAXARGS];
	char nums[MAXARGS][32], *rkey;
	size_t i;
	int argc = 0, rc;

	rkey = key_of(k->prefix, (const char *)rec + k->fields[0].off);
	argv[argc++] = "HSET";
	argv[argc++] = rkey;
	for (i = 0; i < k->nfields && argc + 2 <= MAXARGS; i++) {
		argv[argc++] = k->fields[i].name;
		argv[argc++] = field_get(&k->fields[i], rec, nums[i],
		    sizeof(nums[i]));
	}
	rc = write_cmd(r, argc, argv, NULL);
	free(rkey);
	return rc;
}

static int
redis_del(struct store *st, enum store_kind kind, const char *key)
{
	struct redis_store *r = (struct redis_store *)st;
	redisReply *rep;
	const char *argv[3];
	char *k1 = key_of(store_kinds[kind].prefix, key), *k2 = NULL;
	int rc;

	argv[0] = "DEL";
	argv[1] = k1;
	if (kind == SK_RCPT)
		argv[2] = k2 = key_of("h:", key);
	if (r->in_txn || r->batch) {
		rc = write_cmd(r, kind == SK_RCPT ? 3 : 2, argv, NULL);
		rc = rc < 0 ? -1 : 1;
	} else if ((rep = run(r, kind == SK_RCPT ? 3 : 2, argv, NULL)) ==
	    NULL)
		rc = -1;
	else {
		rc = rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
		freeReplyObject(rep);
	}
	free(k1);
	free(k2);
	return rc;
}

static int
redis_event_seen(struct store *st, const char *id)
{
	struct redis_store *r = (struct redis_store *)st;
	const redisReply *pre;
	redisReply *rep;
	const char *argv[2];
	char *k = key_of("e:", id);
	int rc;

	if ((pre = pre_find(r, k)) != NULL) {
		free(k);
		return pre->type == REDIS_REPLY_INTEGER && pre->integer > 0;
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

/* SETs bouncer:KIND ID to "TIME" or "TIME VALUE", expiring with events. */
static int
set_timed(struct redis_store *r, const char *kind, const char *id,
    long long time, const char *value)
{
	const char *argv[5];
	char ttl[32], *k = key_of(kind, id), *v;
	int rc;

	v = value != NULL ? xasprintf("%lld %s", time, value) :
	    xasprintf("%lld", time);
	snprintf(ttl, sizeof(ttl), "%lld", r->base.p.event_retention);
	argv[0] = "SET";
	argv[1] = k;
	argv[2] = v;
	argv[3] = "EX";
	argv[4] = ttl;
	rc = write_cmd(r, 5, argv, NULL);
	free(v);
	free(k);
	return rc;
}

static int
redis_event_time(struct store *st, const char *id, long long *time)
{
	return get_timed((struct redis_store *)st, "e:", id, time, NULL);
}

static int
redis_event_mark(struct store *st, const char *id, long long time)
{
	return set_timed((struct redis_store *)st, "e:", id, time, NULL);
}

static int
redis_note_put(struct store *st, const char *id, const char *value,
    long long time)
{
	return set_timed((struct redis_store *)st, "n:", id, time, value);
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
	argv[0] = "RPUSH";
	argv[1] = k;
	argv[2] = line;
	rc = write_cmd(r, 3, argv, NULL);
	snprintf(lo, sizeof(lo), "%d", -st->p.audit_max);
	argv[0] = "LTRIM";
	argv[2] = lo;
	argv[3] = "-1";
	if (rc == 0)
		rc = write_cmd(r, 4, argv, NULL);
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

static int
redis_iterate(struct store *st, enum store_kind kind, store_iter_fn *fn,
    void *arg)
{
	struct redis_store *r = (struct redis_store *)st;
	const struct kind_desc *k = &store_kinds[kind];
	redisReply *rep, *keys, *h;
	const char *argv[6];
	char cursor[32] = "0", *match = key_of(k->prefix, "*");
	void *rec = xmalloc(k->size);
	size_t i, n;
	int stop = 0, rc = 0;

	do {
		argv[0] = "SCAN";
		argv[1] = cursor;
		argv[2] = "MATCH";
		argv[3] = match;
		argv[4] = "COUNT";
		argv[5] = "1000";
		if ((rep = run(r, 6, argv, NULL)) == NULL) {
			rc = -1;
			break;
		}
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
			freeReplyObject(rep);
			rc = -1;
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		keys = rep->element[1];
		for (i = 0; i < keys->elements; i++)
			redisAppendCommand(r->c, "HGETALL %b",
			    keys->element[i]->str,
			    (size_t)keys->element[i]->len);
		for (n = 0; n < keys->elements; n++) {
			if (redisGetReply(r->c, (void **)&h) != REDIS_OK) {
				drop(r, r->c->errstr);
				rc = -1;
				break;
			}
			if (!stop && hash_to_rec(k, h, rec) && fn(rec, arg))
				stop = 1;
			freeReplyObject(h);
		}
		freeReplyObject(rep);
	} while (rc == 0 && !stop && strcmp(cursor, "0") != 0);
	free(match);
	free(rec);
	return rc;
}

/* --- lookups and transactions ---------------------------------------- */

static int
answer_from(const redisReply *a, int dest, long long now,
    struct store_answer *out)
{
	const redisReply *f0, *f1, *f2;
	long long until;
	int state, reason;

	if (a->type != REDIS_REPLY_ARRAY || a->elements != 3)
		return 0;
	f0 = a->element[0];
	f1 = a->element[1];
	f2 = a->element[2];
	if (dest) {		/* reason, until, provider */
		if (f1->type != REDIS_REPLY_STRING)
			return 0;
		until = atoll(f1->str);
		reason = f0->type == REDIS_REPLY_STRING ?
		    reason_parse(f0->str, f0->len) : 0;
		if (until > now) {
			*out = (struct store_answer){ ANS_THROTTLED,
			    reason < 0 ? 0 : reason, until };
			return 1;
		}
		return 0;
	}
	/* state, reason, until */
	if (f0->type != REDIS_REPLY_STRING)
		return 0;
	state = rcpt_state_parse(f0->str);
	reason = f1->type == REDIS_REPLY_STRING ? reason_parse(f1->str,
	    f1->len) : 0;
	until = f2->type == REDIS_REPLY_STRING ? atoll(f2->str) : 0;
	if (reason < 0)
		reason = 0;
	if (state == RS_SUPPRESSED && (until == 0 || until > now)) {
		*out = (struct store_answer){ ANS_SUPPRESSED, reason, until };
		return 1;
	}
	if (state == RS_DEFERRED && until > now) {
		*out = (struct store_answer){ ANS_DEFERRED, reason, until };
		return 1;
	}
	return 0;
}

static int
redis_lookup(struct store *st, const char *rcpt, const char *domain,
    long long now, struct store_answer *out)
{
	struct redis_store *r = (struct redis_store *)st;
	redisReply *a = NULL, *b = NULL, *c;
	char *kr, *kd, *kp;
	int rc = 0;

	if (ensure(r) < 0 || drain(r) < 0)
		return -1;
	kr = key_of("r:", rcpt);
	kd = key_of("d:", domain);
	redisAppendCommand(r->c, "HMGET %s state reason until", kr);
	redisAppendCommand(r->c, "HMGET %s reason until provider", kd);
	free(kr);
	free(kd);
	if (redisGetReply(r->c, (void **)&a) != REDIS_OK ||
	    redisGetReply(r->c, (void **)&b) != REDIS_OK) {
		if (a != NULL)
			freeReplyObject(a);
		drop(r, r->c->errstr);
		return -1;
	}
	if (answer_from(a, 0, now, out) || answer_from(b, 1, now, out))
		rc = 1;
	else if (b->type == REDIS_REPLY_ARRAY && b->elements == 3 &&
	    b->element[2]->type == REDIS_REPLY_STRING &&
	    b->element[2]->len > 0) {
		kp = xasprintf(PREFIX "d:provider:%s", b->element[2]->str);
		c = redisCommand(r->c, "HMGET %s reason until provider", kp);
		free(kp);
		if (c == NULL) {
			drop(r, r->c->errstr);
			rc = -1;
		} else {
			rc = answer_from(c, 1, now, out);
			freeReplyObject(c);
		}
	}
	freeReplyObject(a);
	freeReplyObject(b);
	return rc;
}

/*
 * WATCHes the keys and, in the same round trip, reads each of them
 * (EXISTS for an event, HGETALL for a record): the gets and
 * event_seen calls of the transaction are then answered from those
 * replies. Two round trips per update (this, and MULTI/EXEC) instead
 * of one per read.
 */
static int
redis_begin(struct store *st, const char *const *keys, size_t nkeys)
{
	struct redis_store *r = (struct redis_store *)st;
	const char *argv[MAXARGS], *rd[2];
	redisReply *rep;
	size_t i, n = nkeys < MAXARGS - 1 ? nkeys : MAXARGS - 1;
	int rc = 0;

	queue_clear(r);
	pre_clear(r);
	if (ensure(r) < 0 || drain(r) < 0)
		return -1;
	argv[0] = "WATCH";
	for (i = 0; i < n; i++) {
		r->pre_key[i] = key_of("", keys[i]);
		r->pre_rep[i] = NULL;
		argv[i + 1] = r->pre_key[i];
	}
	r->npre = n;
	redisAppendCommandArgv(r->c, (int)n + 1, argv, NULL);
	for (i = 0; i < n; i++) {
		rd[0] = strncmp(keys[i], "e:", 2) == 0 ? "EXISTS" : "HGETALL";
		rd[1] = r->pre_key[i];
		redisAppendCommandArgv(r->c, 2, rd, NULL);
	}
	for (i = 0; i <= n; i++) {
		if (redisGetReply(r->c, (void **)&rep) != REDIS_OK) {
			drop(r, r->c->errstr);
			return -1;
		}
		if (rep->type == REDIS_REPLY_ERROR) {
			log_warn("store redis: %s: %s", i ? "read" : "WATCH",
			    rep->str);
			rc = -1;
		}
		if (i == 0 || rep->type == REDIS_REPLY_ERROR)
			freeReplyObject(rep);
		else
			r->pre_rep[i - 1] = rep;
	}
	if (rc < 0) {
		pre_clear(r);
		return -1;
	}
	r->in_txn = 1;
	return 0;
}

static int
redis_commit(struct store *st)
{
	struct redis_store *r = (struct redis_store *)st;
	redisReply *rep;
	size_t i;
	int rc = 1;

	r->in_txn = 0;
	pre_clear(r);
	if (r->c == NULL) {
		queue_clear(r);
		return -1;
	}
	if (r->nq == 0) {
		rep = redisCommand(r->c, "UNWATCH");
		if (rep == NULL) {
			drop(r, r->c->errstr);
			return -1;
		}
		freeReplyObject(rep);
		return 1;
	}
	redisAppendCommand(r->c, "MULTI");
	for (i = 0; i < r->nq; i++)
		redisAppendFormattedCommand(r->c, r->queue[i], r->qlen[i]);
	redisAppendCommand(r->c, "EXEC");
	queue_clear(r);
	/* MULTI, each command, EXEC: read them all. */
	for (;;) {
		if (redisGetReply(r->c, (void **)&rep) != REDIS_OK) {
			drop(r, r->c->errstr);
			return -1;
		}
		if (rep->type == REDIS_REPLY_ERROR) {
			log_warn("store redis: transaction: %s", rep->str);
			rc = -1;
		}
		if (rep->type == REDIS_REPLY_NIL) {	/* EXEC: conflict */
			freeReplyObject(rep);
			return rc < 0 ? -1 : 0;
		}
		if (rep->type == REDIS_REPLY_ARRAY) {	/* EXEC: done */
			freeReplyObject(rep);
			return rc;
		}
		freeReplyObject(rep);
	}
}

static void
redis_rollback(struct store *st)
{
	struct redis_store *r = (struct redis_store *)st;
	redisReply *rep;

	r->in_txn = 0;
	queue_clear(r);
	pre_clear(r);
	if (r->c == NULL)
		return;
	if ((rep = redisCommand(r->c, "UNWATCH")) == NULL)
		drop(r, r->c->errstr);
	else
		freeReplyObject(rep);
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
}

const struct store_ops store_redis_ops = REDIS_OPS("redis", redis_open);
const struct store_ops store_redis_unix_ops =
    REDIS_OPS("redis+unix", redis_unix_open);
