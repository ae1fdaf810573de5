/*
 * store.h -- the state that outlives one delivery: recipients,
 * destinations, alerts, seen events, notes and the audit trail
 *
 * One small interface with two back ends, chosen by URI:
 *
 *   sqlite:/var/lib/bouncer/state.db		the default
 *   redis://[user:pass@]host:port/db		several MTAs, one state
 *   redis+unix:/run/redis.sock?db=N
 *
 * Records are plain structs with fixed-size fields: a get copies into
 * the caller's struct, so nothing returned points into the store.
 *
 * Updates go through a transaction: store_begin() names the keys it
 * will read and write, writes are applied together by store_commit(),
 * and the reads are consistent once the commit returns 1. SQLite
 * takes its write lock at begin. Redis answers the reads from what
 * the handle last knew of each key, and the commit, one round trip,
 * checks every answer and applies the writes only if all still hold;
 * otherwise it reports a conflict (0) and the caller starts over (the
 * handle has learnt the keys' values by then). Two processes updating
 * one recipient therefore lose no count on either back end. A
 * transaction whose outcome depends on what it read commits even when
 * it writes nothing: store_rollback() discards without checking.
 *
 * Contracts in the manner of Dovecot's lib-dict: actions return 0 or
 * -1, lookups 1 (found), 0 (not found) or -1 (the back end failed).
 * A failure is logged once, here; callers only branch on it.
 *
 * One handle per thread: a handle is not safe to share.
 *
 * Opening a Redis store sets SIGPIPE to be ignored if it was at its
 * default, so that a server going away is an error, not a death.
 */
#ifndef BOUNCER_STORE_H
#define BOUNCER_STORE_H

#include "verdict.h"

struct conf;
struct store;

#define STORE_ADDR_MAX	320	/* local@domain, RFC 5321 bounds */
#define STORE_DEST_MAX	256
#define STORE_RULE_MAX	128
#define STORE_REPLY_MAX	512
#define STORE_ID_MAX	(STORE_ADDR_MAX + 96)

enum rcpt_state {
	RS_NONE = 0,		/* known, nothing in force */
	RS_DEFERRED,		/* soft failures: back off until `until` */
	RS_SUPPRESSED		/* reject until `until` (0: for ever) */
};

/* A recipient: its state and the event behind it. */
struct store_rcpt {
	char		 rcpt[STORE_ADDR_MAX];	/* normalised: lower case */
	enum rcpt_state	 state;
	enum reason	 reason;
	long long	 since;		/* this state began */
	long long	 until;		/* 0: no end */
	int		 soft_count;	/* soft failures since success */
	long long	 soft_first;	/* the first of them */
	long long	 last_event;	/* time of the latest event */
	char		 source[8];	/* log, milter, dsn, manual */
	char		 rule[STORE_RULE_MAX];	/* "gmail.rules:18" or "-" */
	char		 status[16];
	int		 code;
	char		 provider[32];
	char		 queue_id[64];
	char		 reply[STORE_REPLY_MAX];
};

/* A destination (domain, or "provider:NAME") being throttled. */
struct store_dest {
	char		 dest[STORE_DEST_MAX];
	enum reason	 reason;
	long long	 since;
	long long	 until;
	long long	 last;
	int		 count;		/* throttles since it was last clear */
	char		 provider[32];	/* who hosts it, or "" */
	char		 rule[STORE_RULE_MAX];
	char		 reply[STORE_REPLY_MAX];
};

/* One alert key: kind (a reason), blocklist and IP. */
struct store_alert {
	char		 key[STORE_DEST_MAX];	/* "kind|blocklist|ip" */
	char		 kind[32];
	char		 blocklist[64];
	char		 ip[64];
	long long	 first;
	long long	 last;
	long long	 notified;	/* start of the current window */
	long long	 count;
	char		 rule[STORE_RULE_MAX];
	char		 reply[STORE_REPLY_MAX];
};

/* One change of a recipient's state. */
struct store_audit {
	long long	 time;
	char		 old[64];	/* "none", "deferred:mailboxfull" */
	char		 new[64];
	char		 event[STORE_ID_MAX];
	char		 rule[STORE_RULE_MAX];
	char		 reply[STORE_REPLY_MAX];
};

/* What the policy server answers from: see store_lookup(). */
enum answer_kind {
	ANS_NONE = 0,
	ANS_SUPPRESSED,		/* recipient: reject */
	ANS_DEFERRED,		/* recipient: defer until `until` */
	ANS_THROTTLED		/* its destination: defer until `until` */
};

struct store_answer {
	enum answer_kind kind;
	enum reason	 reason;
	long long	 until;	/* 0 with ANS_SUPPRESSED: for ever */
};

enum store_kind { SK_RCPT, SK_DEST, SK_ALERT };

/*
 * The names of keys, in store_begin() and in the back ends: "r:" and
 * an address, "d:" and a destination (a domain, or "provider:" and a
 * provider's name), "a:" and an alert key, "e:" and an event id.
 */
#define KEY_RCPT	"r:"
#define KEY_DEST	"d:"
#define KEY_ALERT	"a:"
#define KEY_EVENT	"e:"
#define KEY_PROVIDER	"provider:"

/*
 * Opens the store at uri. Parameters come from conf (NULL: defaults):
 * store_password_file, store_timeout, store_busy_timeout, audit_max,
 * event_retention. A SQLite file is created, or migrated to the
 * current schema, as needed. NULL on failure, with a message in *errp
 * that the caller frees.
 */
struct store	*store_open(const char *uri, const struct conf *conf,
		    char **errp);
void		 store_close(struct store *);	/* NULL does nothing */

/*
 * The store types this build has, as "sqlite redis redis+unix" (Redis
 * only when built with hiredis). A static string.
 */
const char	*store_types(void);
/* The URI it was opened with, password hidden; belongs to the handle. */
const char	*store_uri(const struct store *);
/*
 * uri with the password of "scheme://user:password@host..." replaced by
 * "xxx", for logs and /status; the caller frees it.
 */
char		*store_uri_redact(const char *uri);

/*
 * store_lookup -- the live decision for one recipient, fast
 *
 * The policy server's hot path. rcpt need not be normalised. Looks at
 * the recipient, then its domain (and the provider that hosts it).
 * Returns 1 with *out filled in, 0 when nothing is in force at `now`,
 * -1 when the back end failed (callers fail open).
 *
 * On SQLite an exact in-memory index of every recipient and
 * destination with a state answers it, one per file per process,
 * shared by all the process's handles (about 50 bytes an address);
 * it catches up with the writes of other connections within a
 * millisecond (it checks SQLite's data_version at most once per
 * millisecond) and with this handle's own writes at once. The first
 * lookup in a process loads it (about 0.6 s for 1,000,000 addresses).
 *
 * On Redis a view-only handle answers from the same kind of view
 * (view.h), which the writer's store_refresh() loads with a SCAN and
 * keeps current from the bouncer:changes stream that every write of
 * the fleet appends to. Another handle asks the server: one round
 * trip for the recipient, one for its domain (and one for a provider),
 * each waiting 0.25 s at most.
 *
 * Either way the order of the checks is store_decide()'s (store.c).
 */
int		 store_lookup(struct store *, const char *rcpt, long long now,
		    struct store_answer *out);
/*
 * The view and the writer. bouncerd writes with one handle, on its
 * writer thread (writer.h), and answers with others, which must never
 * wait on a disk or a network:
 *
 * store_view_only() makes a handle's store_lookup() answer from the
 * process's in-memory view only, never bringing it up to date itself
 * (SQLite: the handle closes its connection and never touches the
 * file; until the view is first loaded, and for keys too long to be
 * in it (over 254 bytes), lookups return -1 and the caller fails
 * open). Every other operation on such a handle, store_get_rcpt()
 * included, returns -1 (store_lookup_detail() still works). Call it
 * right after store_open(). On Redis likewise: the handle closes its
 * connection and answers from the view, -1 until it is loaded.
 *
 * store_refresh() brings the view up to date with what the file holds
 * now, this handle's commits and other processes' alike (SQLite:
 * PRAGMA data_version, then the changed keys, or everything after a
 * large import). The writer calls it after each commit and when idle.
 * Lookups wait for it at most while it applies 64 changed keys (a
 * full reload is built aside and swapped in). Returns 0, or -1
 * (logged). On Redis: the stream of changes from where the last
 * refresh stopped, the keys it names read again (HMGET); the whole
 * view at first, and whenever that place is gone from the stream.
 */
void		 store_view_only(struct store *);
int		 store_refresh(struct store *);

/*
 * After store_lookup() gave 1 with ANS_SUPPRESSED or ANS_DEFERRED: the
 * two fields of the recipient's record that engine_answer() words the
 * answer with, when the back end has them at hand, so that the record
 * need not be read. Fills out->since (a time on the day the state
 * began: only the date is kept; 0: none) and out->status, and leaves
 * the rest of *out alone. Returns 1, or 0 when the record must be
 * read with store_get_rcpt().
 */
int		 store_lookup_detail(struct store *, struct store_rcpt *out);

/*
 * Transactions. keys are the record keys to be read and written,
 * as "r:ADDR", "d:DEST", "a:KEY", "e:EVENT". store_commit returns 1
 * when the writes were applied and what was read still held, 0 on a
 * conflict (Redis: a key read had changed, or was not known to the
 * handle; start over from store_begin), -1 on failure. Reads and
 * writes outside a transaction apply at once.
 */
int		 store_begin(struct store *, const char *const *keys,
		    size_t nkeys);
int		 store_commit(struct store *);
void		 store_rollback(struct store *);
/*
 * Batches: between store_batch_begin and store_batch_end, SQLite
 * commits once at the end (many events, one fsync); Redis is
 * unaffected. A failed batch is rolled back as a whole and end
 * returns -1.
 */
int		 store_batch_begin(struct store *);
int		 store_batch_end(struct store *);
/*
 * Deferred commits, for many events in a row (bouncerd's writer,
 * bouncerctl ingest; see engine_batch_begin()): store_defer_begin()
 * starts a batch in which store_commit() may send a transaction
 * without waiting for its outcome and return 2 (Redis pipelines the
 * commits; SQLite never returns 2: its commits take effect in the
 * batch as they always do). The handle answers the reads that follow
 * as if each such transaction had applied, and the commits go to the
 * server in order, so one that read what an earlier one wrote stands
 * or falls with it.
 *
 * store_defer_end() ends the batch, waits for every outcome and points
 * *out at one value per commit that returned 2, in order (n of them
 * in *n, valid until the next store_defer_begin() or store_close()):
 * 1 applied; 0 stale, nothing written (a key read had changed, or the
 * server had lost the script): the handle now knows what the keys
 * hold, and the transaction should be run again; -1 unknown (the
 * connection failed; it may or may not have applied). Returns 0, or
 * -1 when the batch failed (store_batch_end()), *out and *n still set.
 */
int		 store_defer_begin(struct store *);
int		 store_defer_end(struct store *, const signed char **out,
		    size_t *n);

/* Records: key is the address, the destination or the alert key. */
int		 store_get_rcpt(struct store *, const char *rcpt,
		    struct store_rcpt *out);
int		 store_get_dest(struct store *, const char *dest,
		    struct store_dest *out);
int		 store_get_alert(struct store *, const char *key,
		    struct store_alert *out);
int		 store_put_rcpt(struct store *, const struct store_rcpt *);
int		 store_put_dest(struct store *, const struct store_dest *);
int		 store_put_alert(struct store *, const struct store_alert *);
/* Deletes the record and, for a recipient, its audit trail. 1/0/-1. */
int		 store_del(struct store *, enum store_kind, const char *key);

/* Event identities: 1 if seen, 0 if not, -1. */
int		 store_event_seen(struct store *, const char *id);
/* The time id was marked with: 1 with *time set, 0 if not seen, -1. */
int		 store_event_time(struct store *, const char *id,
		    long long *time);
int		 store_event_mark(struct store *, const char *id,
		    long long time);

/*
 * Notes: a short text value (at most STORE_NOTE_MAX - 1 bytes; longer
 * is cut) under an id such as "i:4BAA0001", written at `time`, and
 * purged like event identities (event_retention; store_expire). put
 * overwrites. get: 1 with the value in buf (always NUL-terminated) and
 * *time set when time is not NULL, 0 if there is none, -1 on failure.
 *
 * Like store_event_mark, they are written outside transactions (a note
 * is not a key for store_begin), or inside a batch; they are kept in
 * the store, so they outlive the process, and are shared by the MTAs
 * on one Redis.
 */
#define STORE_NOTE_MAX	512
int		 store_note_put(struct store *, const char *id,
		    const char *value, long long time);
/*
 * A note written only when what is there allows: NOTE_IF_NONE when
 * there is none (the first word stands), NOTE_IF_LATER unless the one
 * there was written at a later time. The store decides, so the writer
 * reads nothing: in a batch on Redis it is pipelined like any other
 * write. 0 (written or not), or -1.
 */
enum note_when { NOTE_ALWAYS, NOTE_IF_NONE, NOTE_IF_LATER };
int		 store_note_put_when(struct store *, enum note_when,
		    const char *id, const char *value, long long time);
int		 store_note_get(struct store *, const char *id, char *buf,
		    size_t bufsz, long long *time);

/* Appends to rcpt's audit trail, keeping the newest audit_max. */
int		 store_audit_add(struct store *, const char *rcpt,
		    const struct store_audit *);
/* Calls fn for each entry, oldest first; stops if fn returns non-0. */
typedef int	 store_audit_fn(const struct store_audit *, void *arg);
int		 store_audit_list(struct store *, const char *rcpt,
		    store_audit_fn *, void *arg);

/*
 * Calls fn for every record of a kind, in no particular order; fn
 * gets a struct store_rcpt, store_dest or store_alert and may not
 * use the handle. Stops early if fn returns non-0. Returns 0 or -1.
 */
typedef int	 store_iter_fn(const void *rec, void *arg);
int		 store_iterate(struct store *, enum store_kind,
		    store_iter_fn *, void *arg);

/*
 * Event identities and notes, for copying a store whole: calls fn for
 * each, in no particular order, with its id, the time it was marked
 * with and, for a note, its value (NULL for an event). fn may not use
 * the handle; it stops the walk by returning non-0. Returns 0 or -1.
 */
enum store_idkind { SI_EVENT, SI_NOTE };
typedef int	 store_id_fn(const char *id, long long time,
		    const char *value, void *arg);
int		 store_iterate_ids(struct store *, enum store_idkind,
		    store_id_fn *, void *arg);

/*
 * store_backup -- a consistent copy of the whole store in a new file
 *
 * SQLite: SQLite's online backup copies the database as one read
 * transaction sees it, the WAL's committed frames included, while the
 * daemon goes on writing (a reader never blocks a writer in WAL
 * mode). The copy is written to a temporary file beside path, with
 * mode 0600, turned into a single self-contained file (rollback
 * journal mode), checked (PRAGMA quick_check), and renamed to path,
 * so path is either the old file or the whole new copy. path may not
 * be the store itself. Returns 0, or -1 with a message in *errp that
 * the caller frees; a back end that has no such copy (Redis) says
 * what to use instead.
 */
int		 store_backup(struct store *, const char *path, char **errp);

/*
 * store_restore -- replace the contents of the store at uri with the
 * copy in path (a file store_backup() wrote, or any bouncer SQLite
 * store)
 *
 * path must be a bouncer store whose schema version this bouncer knows
 * (an older one is migrated by the next store_open()) and that passes
 * PRAGMA quick_check. Refused while another process has the store
 * open, bouncerd or a bouncerctl (the message names its pid): a
 * running daemon's view would not follow the change. The store's file
 * keeps its owner and mode and is created if missing; its contents
 * are replaced in one transaction, or, when the file is too damaged
 * for that, it is replaced by a new one (renamed over it, its stale
 * -wal and -shm removed). conf gives the parameters as for store_open
 * (NULL: defaults). Returns 0, or -1 with *errp.
 */
int		 store_restore(const char *uri, const struct conf *,
		    const char *path, char **errp);

/*
 * Purges what has expired at `now`: recipients and destinations whose
 * state ended and that hold no soft failures, alerts idle for more
 * than a window, event identities and notes older than
 * event_retention. Counts go to *n (may be NULL); on Redis, events
 * and notes expire by themselves and count 0. Returns 0 or -1.
 */
struct store_expired {
	unsigned long	 rcpts, dests, alerts, events, notes;
};
int		 store_expire(struct store *, long long now,
		    long long alert_window, struct store_expired *n);

/* Lower-cases an address into buf (size bufsz); returns buf. */
char		*store_normalise(const char *addr, char *buf, size_t bufsz);
const char	*rcpt_state_name(enum rcpt_state);
int		 rcpt_state_parse(const char *);	/* -1 if unknown */

/*
 * A record's fields as text, for the CSV export and import of
 * bouncerctl; field 0 is the key. store_field_name() is NULL past the
 * last field. store_field_get() returns the text, in buf (bufsz bytes,
 * 32 are enough) or in the record or a static string: valid while both
 * are. store_field_set() parses s (n bytes) into rec; 0, or -1 if s
 * is not a value of the field's type.
 */
const char	*store_field_name(enum store_kind, size_t i);
const char	*store_field_get(enum store_kind, size_t i, const void *rec,
		    char *buf, size_t bufsz);
int		 store_field_set(enum store_kind, size_t i, void *rec,
		    const char *s, size_t n);

#endif
