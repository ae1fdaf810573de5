/*
 * store_impl.h -- what the store back ends share; private to store*.c
 *
 * Each back end fills a struct store_ops with designated initializers
 * and embeds struct store first in its own handle, as Postfix's dict
 * types embed DICT. store.c does the argument checking, normalising
 * and logging-free dispatch; back ends log their own failures.
 *
 * The record layouts are described once, as field tables, so that
 * both back ends (SQLite columns, Redis hash fields) and the CSV
 * export serialise them the same way.
 */
#ifndef BOUNCER_STORE_IMPL_H
#define BOUNCER_STORE_IMPL_H

#include <stddef.h>

#include "store.h"
#include "view.h"

struct store_params {
	long long	 timeout;	/* Redis connect and command, seconds */
	long long	 busy_timeout;	/* SQLite lock wait, seconds */
	int		 audit_max;
	long long	 event_retention;
	char		*password;	/* read from store_password_file */
};

struct store_ops {
	const char	*scheme;	/* "sqlite", "redis", "redis+unix" */
	/* rest: the URI after "scheme:" */
	struct store	*(*open)(const char *uri, const char *rest,
			    const struct store_params *, char **errp);
	void		 (*close)(struct store *);
	/* rcpt normalised; domain inside it */
	int		 (*lookup)(struct store *, const char *rcpt,
			    const char *domain, long long now,
			    struct store_answer *);
	/* optional (NULL: nothing to do): see store_view_only() */
	void		 (*view_only)(struct store *);
	/* optional (NULL: 0): see store_refresh() */
	int		 (*refresh)(struct store *);
	/* optional (NULL: 0): see store_lookup_detail() */
	int		 (*lookup_detail)(struct store *, struct store_rcpt *);
	int		 (*begin)(struct store *, const char *const *keys,
			    size_t nkeys);
	int		 (*commit)(struct store *);
	void		 (*rollback)(struct store *);
	int		 (*batch)(struct store *, int begin);
	/*
	 * optional (NULL: a plain batch, nothing deferred): see
	 * store_defer_begin(); out and n only when ending
	 */
	int		 (*defer)(struct store *, int begin,
			    const signed char **out, size_t *n);
	int		 (*get)(struct store *, enum store_kind,
			    const char *key, void *rec);
	int		 (*put)(struct store *, enum store_kind,
			    const void *rec);
	int		 (*del)(struct store *, enum store_kind,
			    const char *key);
	int		 (*event_seen)(struct store *, const char *id);
	int		 (*event_time)(struct store *, const char *id,
			    long long *time);
	int		 (*event_mark)(struct store *, const char *id,
			    long long time);
	/* value: at most STORE_NOTE_MAX - 1 bytes, cut by store.c */
	int		 (*note_put)(struct store *, enum note_when,
			    const char *id,
			    const char *value, long long time);
	/* fills value[STORE_NOTE_MAX] and *time on 1 */
	int		 (*note_get)(struct store *, const char *id,
			    char *value, long long *time);
	/*
	 * Purges event identities and notes written before `before`,
	 * counting them in n->events and n->notes.
	 */
	int		 (*event_expire)(struct store *, long long before,
			    struct store_expired *n);
	int		 (*audit_add)(struct store *, const char *rcpt,
			    const struct store_audit *);
	int		 (*audit_list)(struct store *, const char *rcpt,
			    store_audit_fn *, void *);
	int		 (*iterate)(struct store *, enum store_kind,
			    store_iter_fn *, void *);
	int		 (*iterate_ids)(struct store *, enum store_idkind,
			    store_id_fn *, void *);
	/* optional (NULL: the back end has none): see store_backup() */
	int		 (*backup)(struct store *, const char *path,
			    char **errp);
	/* optional: see store_restore(); rest as for open */
	int		 (*restore)(const char *uri, const char *rest,
			    const struct store_params *, const char *path,
			    char **errp);
};

struct store {
	const struct store_ops	*ops;
	char			*uri;
	struct store_params	 p;
	int			 view_only;	/* store.c refuses all but
						   lookups (-1) */
};

/* Field tables. */
enum ftype { F_STR, F_INT, F_LL, F_REASON, F_STATE };

struct field {
	const char	*name;
	enum ftype	 type;
	size_t		 off;
	size_t		 size;		/* F_STR: the buffer's size */
};

struct kind_desc {
	const char		*table;	/* SQLite table, "rcpt" */
	const char		*prefix;	/* key prefix, "r:" */
	size_t			 size;	/* sizeof the record */
	const struct field	*fields;	/* fields[0] is the key */
	size_t			 nfields;
};

extern const struct kind_desc store_kinds[3];	/* by enum store_kind */

/* Formats field f of rec as text into buf; returns buf. */
const char	*field_get(const struct field *, const void *rec, char *buf,
		    size_t bufsz);
/* Sets field f of rec from text s (n bytes). Returns 0, or -1. */
int		 field_set(const struct field *, void *rec, const char *s,
		    size_t n);

/*
 * rec as one string (Redis keeps records so): its fields in table
 * order, each ending in a tab, with tab, newline, carriage return and
 * backslash escaped. The caller frees it; its length in *lenp.
 */
char		*rec_pack(const struct kind_desc *, const void *rec,
		    size_t *lenp);
/*
 * Fills rec from s (n bytes) as rec_pack() wrote it; fields missing at
 * the end, and fields that do not parse but for the key and the state,
 * are left zero, fields after the last known are ignored. Returns 1,
 * or 0 (rec zeroed) if s is not such a record.
 */
int		 rec_unpack(const struct kind_desc *, const char *s, size_t n,
		    void *rec);

/*
 * The decision, in one place: store_decide() asks src for the
 * recipient, its domain and the domain's provider, as the checks of
 * store.c's table need them, and answers from the first check that
 * holds. src's functions return 1 with *f filled in, 0 when there is
 * no such record, -1 when they cannot tell (the back end failed, or a
 * view does not hold such a key): store_decide() then returns -1 and
 * the caller fails open. *rf gets the recipient's fact when the answer
 * came from the recipient (rf may be NULL), for store_lookup_detail().
 */
struct store_src {
	int		 (*rcpt)(void *arg, const char *rcpt,
			    struct view_fact *f);
	int		 (*dest)(void *arg, const char *dest,
			    struct view_fact *f);
	void		*arg;
};

int		 store_decide(const struct store_src *, const char *rcpt,
		    const char *domain, long long now,
		    struct store_answer *out, struct view_fact *rf);
/* store_decide() over the back end's own get operation. */
int		 store_decide_get(struct store *, const char *rcpt,
		    const char *domain, long long now,
		    struct store_answer *out, struct view_fact *rf);
/* store_decide() over a view, under its read lock (taken here). */
int		 store_decide_view(struct view *, const char *rcpt,
		    const char *domain, long long now,
		    struct store_answer *out, struct view_fact *rf);

#endif
