/*
 * store.c -- open a store by URI and dispatch to its back end
 *
 * Also the record layouts (field tables) both back ends share, address
 * normalisation, and store_expire(), written once over the interface.
 *
 * See also: store.h, store_impl.h, store_sqlite.c, store_redis.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "store.h"
#include "store_impl.h"
#include "xalloc.h"

extern const struct store_ops store_sqlite_ops;
#ifdef HAVE_HIREDIS
extern const struct store_ops store_redis_ops;
extern const struct store_ops store_redis_unix_ops;
#endif

static const struct store_ops *backends[] = {
	&store_sqlite_ops,
#ifdef HAVE_HIREDIS
	&store_redis_ops,
	&store_redis_unix_ops,
#endif
};

#define NBACKENDS	(sizeof(backends) / sizeof(backends[0]))

const char *
store_types(void)
{
#ifdef HAVE_HIREDIS
	return "sqlite redis redis+unix";
#else
	return "sqlite";
#endif
}

#define FS(s, f)	{ #f, F_STR, offsetof(struct s, f), \
			    sizeof(((struct s *)0)->f) }
#define FI(s, f)	{ #f, F_INT, offsetof(struct s, f), 0 }
#define FL(s, f)	{ #f, F_LL, offsetof(struct s, f), 0 }
#define FR(s, f)	{ #f, F_REASON, offsetof(struct s, f), 0 }

/*
 * Append only: Redis keeps a record as its fields in this order
 * (rec_pack()), so a field moved or removed misreads every record
 * written before; a field added at the end reads as zero in them.
 */
static const struct field rcpt_fields[] = {
	FS(store_rcpt, rcpt),
	{ "state", F_STATE, offsetof(struct store_rcpt, state), 0 },
	FR(store_rcpt, reason),
	FL(store_rcpt, since),
	FL(store_rcpt, until),
	FI(store_rcpt, soft_count),
	FL(store_rcpt, soft_first),
	FL(store_rcpt, last_event),
	FS(store_rcpt, source),
	FS(store_rcpt, rule),
	FS(store_rcpt, status),
	FI(store_rcpt, code),
	FS(store_rcpt, provider),
	FS(store_rcpt, queue_id),
	FS(store_rcpt, reply),
};

static const struct field dest_fields[] = {
	FS(store_dest, dest),
	FR(store_dest, reason),
	FL(store_dest, since),
	FL(store_dest, until),
	FL(store_dest, last),
	FI(store_dest, count),
	FS(store_dest, provider),
	FS(store_dest, rule),
	FS(store_dest, reply),
};

static const struct field alert_fields[] = {
	FS(store_alert, key),
	FS(store_alert, kind),
	FS(store_alert, blocklist),
	FS(store_alert, ip),
	FL(store_alert, first),
	FL(store_alert, last),
	FL(store_alert, notified),
	FL(store_alert, count),
	FS(store_alert, rule),
	FS(store_alert, reply),
};

#define NF(a)	(sizeof(a) / sizeof(a[0]))

const struct kind_desc store_kinds[3] = {
	[SK_RCPT] = { "rcpt", KEY_RCPT, sizeof(struct store_rcpt), rcpt_fields,
	    NF(rcpt_fields) },
	[SK_DEST] = { "dest", KEY_DEST, sizeof(struct store_dest), dest_fields,
	    NF(dest_fields) },
	[SK_ALERT] = { "alert", KEY_ALERT, sizeof(struct store_alert),
	    alert_fields, NF(alert_fields) },
};

static const char *const state_names[] = { "none", "deferred", "suppressed" };

const char *
rcpt_state_name(enum rcpt_state s)
{
	return (unsigned)s <= RS_SUPPRESSED ? state_names[s] : "none";
}

int
rcpt_state_parse(const char *s)
{
	int i;

	for (i = 0; i <= RS_SUPPRESSED; i++)
		if (strcmp(state_names[i], s) == 0)
			return i;
	return -1;
}

const char *
field_get(const struct field *f, const void *rec, char *buf, size_t bufsz)
{
	const char *p = (const char *)rec + f->off;
	int i;
	long long ll;

	switch (f->type) {
	case F_STR:
		return p;
	case F_INT:
		memcpy(&i, p, sizeof(i));
		snprintf(buf, bufsz, "%d", i);
		break;
	case F_LL:
		memcpy(&ll, p, sizeof(ll));
		snprintf(buf, bufsz, "%lld", ll);
		break;
	case F_REASON:
		memcpy(&i, p, sizeof(i));
		return reason_name((enum reason)i);
	case F_STATE:
		memcpy(&i, p, sizeof(i));
		return rcpt_state_name((enum rcpt_state)i);
	}
	return buf;
}

int
field_set(const struct field *f, void *rec, const char *s, size_t n)
{
	char *p = (char *)rec + f->off, num[32], *end;
	long long ll;
	int i;

	switch (f->type) {
	case F_STR:
		if (n >= f->size)
			n = f->size - 1;
		memcpy(p, s, n);
		p[n] = '\0';
		return 0;
	case F_INT:
	case F_LL:
		if (n == 0) {
			ll = 0;
		} else {
			if (n >= sizeof(num))
				return -1;
			memcpy(num, s, n);
			num[n] = '\0';
			errno = 0;
			ll = strtoll(num, &end, 10);
			if (errno || *end != '\0')
				return -1;
		}
		if (f->type == F_INT) {
			if (ll < -2147483647LL || ll > 2147483647LL)
				return -1;
			i = (int)ll;
			memcpy(p, &i, sizeof(i));
		} else
			memcpy(p, &ll, sizeof(ll));
		return 0;
	case F_REASON:
		if (n == 0 || (i = reason_parse(s, n)) < 0)
			return n == 0 ? (i = 0, memcpy(p, &i, sizeof(i)), 0) :
			    -1;
		memcpy(p, &i, sizeof(i));
		return 0;
	case F_STATE:
		if (n >= sizeof(num))
			return -1;
		memcpy(num, s, n);
		num[n] = '\0';
		if (n == 0)
			i = RS_NONE;
		else if ((i = rcpt_state_parse(num)) < 0)
			return -1;
		memcpy(p, &i, sizeof(i));
		return 0;
	}
	return -1;
}

/*
 * A record as one string: its fields in table order, each followed by
 * a tab; a tab, newline, carriage return or backslash inside a value
 * is written as a backslash and "t", "n", "r" or itself.
 */
char *
rec_pack(const struct kind_desc *k, const void *rec, size_t *lenp)
{
	char num[32], *out, *o;
	const char *v;
	size_t i, need = 0;

	/* At most: every byte escaped, and a tab a field. */
	for (i = 0; i < k->nfields; i++)
		need += 2 * (k->fields[i].type == F_STR ? k->fields[i].size :
		    sizeof(num)) + 1;
	o = out = xmalloc(need + 1);
	for (i = 0; i < k->nfields; i++) {
		for (v = field_get(&k->fields[i], rec, num, sizeof(num)); *v;
		    v++)
			switch (*v) {
			case '\\': *o++ = '\\'; *o++ = '\\'; break;
			case '\t': *o++ = '\\'; *o++ = 't'; break;
			case '\n': *o++ = '\\'; *o++ = 'n'; break;
			case '\r': *o++ = '\\'; *o++ = 'r'; break;
			default: *o++ = *v;
			}
		*o++ = '\t';
	}
	*o = '\0';
	*lenp = (size_t)(o - out);
	return out;
}

int
rec_unpack(const struct kind_desc *k, const char *s, size_t n, void *rec)
{
	const char *end = s + n;
	char *val = xmalloc(n + 1), *o;
	size_t i;
	int ok = 1;

	memset(rec, 0, k->size);
	for (i = 0; i < k->nfields && s < end; i++) {
		for (o = val; s < end && *s != '\t'; s++) {
			if (*s != '\\' || s + 1 == end) {
				*o++ = *s;
				continue;
			}
			switch (*++s) {
			case 't': *o++ = '\t'; break;
			case 'n': *o++ = '\n'; break;
			case 'r': *o++ = '\r'; break;
			default: *o++ = *s;
			}
		}
		if (s == end)		/* every field ends in a tab */
			ok = 0;
		else
			s++;
		/*
		 * A field that does not parse (a reason a later version
		 * named) is left zero; the key and the state must.
		 */
		if (ok && field_set(&k->fields[i], rec, val,
		    (size_t)(o - val)) < 0 && (i == 0 ||
		    k->fields[i].type == F_STATE))
			ok = 0;
	}
	/* A record names itself; fields added later may follow. */
	if (i == 0 || *((const char *)rec + k->fields[0].off) == '\0')
		ok = 0;
	free(val);
	if (!ok)
		memset(rec, 0, k->size);
	return ok;
}

char *
store_normalise(const char *addr, char *buf, size_t bufsz)
{
	size_t i, n;

	while (*addr == ' ' || *addr == '\t' || *addr == '<')
		addr++;
	n = strlen(addr);
	while (n > 0 && (addr[n - 1] == '>' || addr[n - 1] == ' ' ||
	    addr[n - 1] == '\t' || addr[n - 1] == '.'))
		n--;
	if (n >= bufsz)
		n = bufsz - 1;
	for (i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)addr[i]);
	buf[n] = '\0';
	return buf;
}

/* Reads the first line of a password file; NULL with *errp on failure. */
static char *
read_password(const char *path, char **errp)
{
	FILE *fp;
	char buf[1024];
	size_t n;

	if ((fp = fopen(path, "r")) == NULL) {
		*errp = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fgets(buf, sizeof(buf), fp) == NULL)
		buf[0] = '\0';
	fclose(fp);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return xstrdup(buf);
}

/*
 * The store parameters from conf (NULL: defaults) into *p; 0, or -1
 * with *errp when the password file cannot be read.
 */
static int
store_params(const struct conf *conf, struct store_params *p, char **errp)
{
	struct conf *def = NULL;
	const char *pwfile;

	if (conf == NULL)
		conf = def = conf_new();
	memset(p, 0, sizeof(*p));
	p->timeout = conf_time(conf, CONF_STORE_TIMEOUT);
	p->busy_timeout = conf_time(conf, CONF_STORE_BUSY_TIMEOUT);
	p->audit_max = (int)conf_int(conf, CONF_AUDIT_MAX);
	p->event_retention = conf_time(conf, CONF_EVENT_RETENTION);
	pwfile = conf_str(conf, CONF_STORE_PASSWORD_FILE);
	if (*pwfile != '\0' && (p->password = read_password(pwfile, errp)) ==
	    NULL) {
		conf_unref(def);
		return -1;
	}
	conf_unref(def);
	return 0;
}

/* The back end for uri's scheme, with *rest after the colon; NULL, *errp. */
static const struct store_ops *
store_backend(const char *uri, const char **rest, char **errp)
{
	const char *colon;
	size_t i, n;

	if ((colon = strchr(uri, ':')) == NULL) {
		*errp = xasprintf("%s: not a store URI (sqlite:PATH, "
		    "redis://HOST:PORT/DB or redis+unix:PATH)", uri);
		return NULL;
	}
	n = (size_t)(colon - uri);
	for (i = 0; i < NBACKENDS; i++)
		if (strlen(backends[i]->scheme) == n &&
		    strncmp(backends[i]->scheme, uri, n) == 0) {
			*rest = colon + 1;
			return backends[i];
		}
#ifndef HAVE_HIREDIS
	if (strncmp(uri, "redis", 5) == 0)
		*errp = xasprintf("%s: this bouncer was built without Redis "
		    "support (configure found no hiredis, or was given "
		    "--without-hiredis)", uri);
	else
#endif
		*errp = xasprintf("%s: unknown store type \"%.*s\"", uri,
		    (int)n, uri);
	return NULL;
}

char *
store_uri_redact(const char *uri)
{
	const char *auth, *end, *at, *colon;

	if ((auth = strstr(uri, "://")) == NULL)
		return xstrdup(uri);
	auth += 3;
	end = auth + strcspn(auth, "/?");
	for (at = NULL, colon = auth; colon < end; colon++)
		if (*colon == '@')
			at = colon;
	if (at == NULL || (colon = memchr(auth, ':', (size_t)(at - auth))) ==
	    NULL)
		return xstrdup(uri);
	return xasprintf("%.*s:xxx%s", (int)(colon - uri), uri, at);
}

struct store *
store_open(const char *uri, const struct conf *conf, char **errp)
{
	const struct store_ops *ops;
	struct store_params p;
	struct store *st;
	const char *rest;

	*errp = NULL;
	if (store_params(conf, &p, errp) < 0)
		return NULL;
	if ((ops = store_backend(uri, &rest, errp)) == NULL ||
	    (st = ops->open(uri, rest, &p, errp)) == NULL) {
		free(p.password);
		return NULL;
	}
	st->ops = ops;
	st->uri = store_uri_redact(uri);
	st->p = p;
	return st;
}

void
store_close(struct store *st)
{
	char *uri, *pw;

	if (st == NULL)
		return;
	uri = st->uri;
	pw = st->p.password;
	st->ops->close(st);
	free(uri);
	if (pw != NULL) {
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
}

const char *
store_uri(const struct store *st)
{
	return st->uri;
}

int
store_lookup(struct store *st, const char *rcpt, long long now,
    struct store_answer *out)
{
	char key[STORE_ADDR_MAX];
	const char *at;

	memset(out, 0, sizeof(*out));
	store_normalise(rcpt, key, sizeof(key));
	at = strrchr(key, '@');
	return st->ops->lookup(st, key, at ? at + 1 : "", now, out);
}

int
store_lookup_detail(struct store *st, struct store_rcpt *out)
{
	if (st->ops->lookup_detail == NULL)
		return 0;
	return st->ops->lookup_detail(st, out);
}

void
store_view_only(struct store *st)
{
	st->view_only = 1;
	if (st->ops->view_only != NULL)
		st->ops->view_only(st);
}

int
store_refresh(struct store *st)
{
	if (st->ops->refresh == NULL)
		return 0;
	return st->ops->refresh(st);
}

int
store_begin(struct store *st, const char *const *keys, size_t nkeys)
{
	if (st->view_only)
		return -1;
	return st->ops->begin(st, keys, nkeys);
}

int
store_commit(struct store *st)
{
	if (st->view_only)
		return -1;
	return st->ops->commit(st);
}

void
store_rollback(struct store *st)
{
	if (st->view_only)
		return;
	st->ops->rollback(st);
}

int
store_batch_begin(struct store *st)
{
	if (st->view_only)
		return -1;
	return st->ops->batch(st, 1);
}

int
store_batch_end(struct store *st)
{
	if (st->view_only)
		return -1;
	return st->ops->batch(st, 0);
}

int
store_defer_begin(struct store *st)
{
	if (st->view_only)
		return -1;
	if (st->ops->defer == NULL)
		return st->ops->batch(st, 1);
	return st->ops->defer(st, 1, NULL, NULL);
}

int
store_defer_end(struct store *st, const signed char **out, size_t *n)
{
	static const signed char none[1];

	*out = none;
	*n = 0;
	if (st->view_only)
		return -1;
	if (st->ops->defer == NULL)
		return st->ops->batch(st, 0);
	return st->ops->defer(st, 0, out, n);
}

int
store_get_rcpt(struct store *st, const char *rcpt, struct store_rcpt *out)
{
	char key[STORE_ADDR_MAX];

	if (st->view_only)
		return -1;
	return st->ops->get(st, SK_RCPT, store_normalise(rcpt, key,
	    sizeof(key)), out);
}

int
store_get_dest(struct store *st, const char *dest, struct store_dest *out)
{
	if (st->view_only)
		return -1;
	return st->ops->get(st, SK_DEST, dest, out);
}

int
store_get_alert(struct store *st, const char *key, struct store_alert *out)
{
	if (st->view_only)
		return -1;
	return st->ops->get(st, SK_ALERT, key, out);
}

int
store_put_rcpt(struct store *st, const struct store_rcpt *r)
{
	struct store_rcpt n = *r;

	store_normalise(r->rcpt, n.rcpt, sizeof(n.rcpt));
	if (st->view_only)
		return -1;
	return st->ops->put(st, SK_RCPT, &n);
}

int
store_put_dest(struct store *st, const struct store_dest *d)
{
	if (st->view_only)
		return -1;
	return st->ops->put(st, SK_DEST, d);
}

int
store_put_alert(struct store *st, const struct store_alert *a)
{
	if (st->view_only)
		return -1;
	return st->ops->put(st, SK_ALERT, a);
}

int
store_del(struct store *st, enum store_kind kind, const char *key)
{
	char buf[STORE_ADDR_MAX];

	if (kind == SK_RCPT)
		key = store_normalise(key, buf, sizeof(buf));
	if (st->view_only)
		return -1;
	return st->ops->del(st, kind, key);
}

int
store_event_seen(struct store *st, const char *id)
{
	if (st->view_only)
		return -1;
	return st->ops->event_seen(st, id);
}

int
store_event_time(struct store *st, const char *id, long long *time)
{
	if (st->view_only)
		return -1;
	return st->ops->event_time(st, id, time);
}

int
store_event_mark(struct store *st, const char *id, long long time)
{
	if (st->view_only)
		return -1;
	return st->ops->event_mark(st, id, time);
}

int
store_note_put(struct store *st, const char *id, const char *value,
    long long time)
{
	return store_note_put_when(st, NOTE_ALWAYS, id, value, time);
}

int
store_note_put_when(struct store *st, enum note_when when, const char *id,
    const char *value, long long time)
{
	char v[STORE_NOTE_MAX];

	snprintf(v, sizeof(v), "%s", value);
	if (st->view_only)
		return -1;
	return st->ops->note_put(st, when, id, v, time);
}

int
store_note_get(struct store *st, const char *id, char *buf, size_t bufsz,
    long long *time)
{
	char v[STORE_NOTE_MAX];
	long long t = 0;
	int rc;

	if (st->view_only)
		return -1;
	if ((rc = st->ops->note_get(st, id, v, &t)) != 1)
		v[0] = '\0';
	else if (time != NULL)
		*time = t;
	if (bufsz > 0)
		snprintf(buf, bufsz, "%s", v);
	return rc;
}

int
store_audit_add(struct store *st, const char *rcpt,
    const struct store_audit *a)
{
	char key[STORE_ADDR_MAX];

	if (st->view_only)
		return -1;
	return st->ops->audit_add(st, store_normalise(rcpt, key, sizeof(key)),
	    a);
}

int
store_audit_list(struct store *st, const char *rcpt, store_audit_fn *fn,
    void *arg)
{
	char key[STORE_ADDR_MAX];

	if (st->view_only)
		return -1;
	return st->ops->audit_list(st, store_normalise(rcpt, key,
	    sizeof(key)), fn, arg);
}

int
store_iterate(struct store *st, enum store_kind kind, store_iter_fn *fn,
    void *arg)
{
	if (st->view_only)
		return -1;
	return st->ops->iterate(st, kind, fn, arg);
}

int
store_iterate_ids(struct store *st, enum store_idkind kind, store_id_fn *fn,
    void *arg)
{
	if (st->view_only)
		return -1;
	return st->ops->iterate_ids(st, kind, fn, arg);
}

/* --- backup and restore --------------------------------------------- */

int
store_backup(struct store *st, const char *path, char **errp)
{
	*errp = NULL;
	if (st->view_only) {
		*errp = xstrdup("a view-only handle cannot be copied");
		return -1;
	}
	if (st->ops->backup == NULL) {
		*errp = xasprintf("%s: a %s store is not copied to a file by "
		    "bouncer: use the server's own persistence (RDB "
		    "snapshots or the AOF, BGSAVE) and back those files "
		    "up, or copy the store into a SQLite file with "
		    "\"bouncerctl migrate %s sqlite:FILE\"", st->uri,
		    st->ops->scheme, st->uri);
		return -1;
	}
	return st->ops->backup(st, path, errp);
}

int
store_restore(const char *uri, const struct conf *conf, const char *path,
    char **errp)
{
	const struct store_ops *ops;
	struct store_params p;
	const char *rest;
	int rc;

	*errp = NULL;
	if ((ops = store_backend(uri, &rest, errp)) == NULL)
		return -1;
	if (ops->restore == NULL) {
		*errp = xasprintf("%s: a %s store is restored with the "
		    "server's own tools (its RDB or AOF files), or filled "
		    "from a SQLite copy with \"bouncerctl migrate "
		    "sqlite:FILE %s\"", uri, ops->scheme, uri);
		return -1;
	}
	if (store_params(conf, &p, errp) < 0)
		return -1;
	rc = ops->restore(uri, rest, &p, path, errp);
	if (p.password != NULL) {
		explicit_bzero(p.password, strlen(p.password));
		free(p.password);
	}
	return rc;
}

/* --- the decision ------------------------------------------------------ */

/*
 * The order of the checks: the first that holds answers. A recipient
 * check holds when the recipient is in that state and until is to come
 * (or 0, where `forever` says it may be: a suppression for ever); a
 * destination check when until is to come. A new kind of decision is a
 * line here (and its enum answer_kind), with the answer engine_answer()
 * words for it.
 */
enum decide_on { ON_RCPT, ON_DOMAIN, ON_PROVIDER };

static const struct decide_step {
	enum decide_on	 on;
	enum rcpt_state	 state;		/* ON_RCPT: the state it needs */
	int		 forever;	/* until 0: no end */
	enum answer_kind answer;
} decide_steps[] = {
	{ ON_RCPT, RS_SUPPRESSED, 1, ANS_SUPPRESSED },
	{ ON_RCPT, RS_DEFERRED, 0, ANS_DEFERRED },
	{ ON_DOMAIN, RS_NONE, 0, ANS_THROTTLED },
	{ ON_PROVIDER, RS_NONE, 0, ANS_THROTTLED },
};

int
store_decide(const struct store_src *src, const char *rcpt,
    const char *domain, long long now, struct store_answer *out,
    struct view_fact *rf)
{
	struct view_fact f[3];
	char prov[STORE_DEST_MAX];
	int have[3] = { -2, -2, -2 };	/* -2: not asked yet */
	size_t i;
	int on;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < sizeof(decide_steps) / sizeof(decide_steps[0]);
	    i++) {
		const struct decide_step *s = &decide_steps[i];

		on = s->on;
		if (have[on] == -2) {
			switch (s->on) {
			case ON_RCPT:
				have[on] = src->rcpt(src->arg, rcpt, &f[on]);
				break;
			case ON_DOMAIN:
				have[on] = src->dest(src->arg, domain, &f[on]);
				break;
			case ON_PROVIDER:
				if (have[ON_DOMAIN] == -2)
					have[ON_DOMAIN] = src->dest(src->arg,
					    domain, &f[ON_DOMAIN]);
				if (have[ON_DOMAIN] != 1 ||
				    f[ON_DOMAIN].provider[0] == '\0') {
					have[on] = have[ON_DOMAIN] < 0 ?
					    -1 : 0;
					break;
				}
				snprintf(prov, sizeof(prov), KEY_PROVIDER "%s",
				    f[ON_DOMAIN].provider);
				have[on] = src->dest(src->arg, prov, &f[on]);
				break;
			}
		}
		if (have[on] < 0)
			return -1;
		if (have[on] == 0)
			continue;
		if (s->on == ON_RCPT && f[on].state != s->state)
			continue;
		if (!(f[on].until > now || (s->forever && f[on].until == 0)))
			continue;
		out->kind = s->answer;
		out->reason = f[on].reason;
		out->until = f[on].until;
		if (s->on == ON_RCPT && rf != NULL)
			*rf = f[on];
		return 1;
	}
	return 0;
}

static int
get_rcpt(void *arg, const char *rcpt, struct view_fact *f)
{
	struct store *st = arg;
	struct store_rcpt r;
	int rc;

	if ((rc = st->ops->get(st, SK_RCPT, rcpt, &r)) != 1)
		return rc;
	memset(f, 0, sizeof(*f));
	f->state = r.state;
	f->reason = r.reason;
	f->until = r.until;
	f->detail = 1;
	f->since = r.since;
	snprintf(f->status, sizeof(f->status), "%s", r.status);
	return 1;
}

static int
get_dest(void *arg, const char *dest, struct view_fact *f)
{
	struct store *st = arg;
	struct store_dest d;
	int rc;

	if ((rc = st->ops->get(st, SK_DEST, dest, &d)) != 1)
		return rc;
	memset(f, 0, sizeof(*f));
	f->reason = d.reason;
	f->until = d.until;
	snprintf(f->provider, sizeof(f->provider), "%s", d.provider);
	return 1;
}

int
store_decide_get(struct store *st, const char *rcpt, const char *domain,
    long long now, struct store_answer *out, struct view_fact *rf)
{
	const struct store_src src = { get_rcpt, get_dest, st };

	return store_decide(&src, rcpt, domain, now, out, rf);
}

static int
view_src_rcpt(void *arg, const char *rcpt, struct view_fact *f)
{
	return view_rcpt(arg, rcpt, f);
}

static int
view_src_dest(void *arg, const char *dest, struct view_fact *f)
{
	return view_dest(arg, dest, f);
}

int
store_decide_view(struct view *v, const char *rcpt, const char *domain,
    long long now, struct store_answer *out, struct view_fact *rf)
{
	const struct store_src src = { view_src_rcpt, view_src_dest, v };
	int rc;

	view_rdlock(v);
	rc = store_decide(&src, rcpt, domain, now, out, rf);
	view_unlock(v);
	return rc;
}

/* --- expiry ----------------------------------------------------------- */

struct expire_job {
	long long	 now, window, retention;
	char		**keys;
	size_t		 n, cap;
};

static void
keep_key(struct expire_job *j, const char *key)
{
	if (j->n == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 256;
		j->keys = xreallocarray(j->keys, j->cap, sizeof(*j->keys));
	}
	j->keys[j->n++] = xstrdup(key);
}

static int
expired_rcpt(const void *rec, void *arg)
{
	const struct store_rcpt *r = rec;
	struct expire_job *j = arg;
	int ended;

	ended = r->state == RS_NONE || (r->until != 0 && r->until <= j->now);
	if (ended && (r->soft_count == 0 ||
	    r->last_event < j->now - j->retention))
		keep_key(j, r->rcpt);
	return 0;
}

static int
expired_dest(const void *rec, void *arg)
{
	const struct store_dest *d = rec;
	struct expire_job *j = arg;

	if (d->until <= j->now)
		keep_key(j, d->dest);
	return 0;
}

static int
expired_alert(const void *rec, void *arg)
{
	const struct store_alert *a = rec;
	struct expire_job *j = arg;

	if (a->last < j->now - j->window)
		keep_key(j, a->key);
	return 0;
}

int
store_expire(struct store *st, long long now, long long alert_window,
    struct store_expired *np)
{
	static store_iter_fn *const fns[3] = {
		[SK_RCPT] = expired_rcpt,
		[SK_DEST] = expired_dest,
		[SK_ALERT] = expired_alert,
	};
	struct store_expired n;
	unsigned long *counts[3] = { &n.rcpts, &n.dests, &n.alerts };
	struct expire_job j;
	size_t i;
	int kind, rc = 0;

	if (st->view_only)
		return -1;
	memset(&n, 0, sizeof(n));
	for (kind = SK_RCPT; kind <= SK_ALERT; kind++) {
		memset(&j, 0, sizeof(j));
		j.now = now;
		j.window = alert_window;
		j.retention = st->p.event_retention;
		if (store_iterate(st, kind, fns[kind], &j) < 0)
			rc = -1;
		if (j.n > 0 && store_batch_begin(st) < 0)
			rc = -1;
		for (i = 0; i < j.n; i++) {
			if (rc == 0 && st->ops->del(st, kind, j.keys[i]) == 1)
				(*counts[kind])++;
			free(j.keys[i]);
		}
		if (j.n > 0 && store_batch_end(st) < 0)
			rc = -1;
		free(j.keys);
	}
	if (st->ops->event_expire(st, now - st->p.event_retention, &n) < 0)
		rc = -1;
	if (np != NULL)
		*np = n;
	return rc;
}

/* --- fields as text, for bouncerctl's CSV -------------------------- */

const char *
store_field_name(enum store_kind k, size_t i)
{
	return i < store_kinds[k].nfields ? store_kinds[k].fields[i].name :
	    NULL;
}

const char *
store_field_get(enum store_kind k, size_t i, const void *rec, char *buf,
    size_t bufsz)
{
	return field_get(&store_kinds[k].fields[i], rec, buf, bufsz);
}

int
store_field_set(enum store_kind k, size_t i, void *rec, const char *s,
    size_t n)
{
	return field_set(&store_kinds[k].fields[i], rec, s, n);
}
