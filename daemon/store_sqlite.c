/*
 * store_sqlite.c -- the SQLite back end: "sqlite:/var/lib/bouncer/state.db"
 *
 * WAL mode, a busy timeout, prepared statements, and a schema version
 * (PRAGMA user_version) with forward migrations, so that one daemon
 * and any number of bouncerctl processes can use one file at once.
 * Writes take the write lock at store_begin() (BEGIN IMMEDIATE), which
 * serialises read-modify-write cycles between processes: no count is
 * lost and no commit ever conflicts.
 *
 * Tables: rcpt, dest and alert hold the records (one column per field
 * of store.c's tables); audit the recipients' trails; event the seen
 * event identities (id, time); note the notes (id, time, value), purged
 * with the events by time; changes the keys written, for the index.
 *
 * store_lookup() answers from an exact in-memory index (a hash of
 * every recipient with a state and every throttled destination; full
 * keys, no false positives) because SQLite alone manages about 300,000
 * point queries a second and the policy server wants more. One index
 * per file per process, shared by all its handles (so by the daemon's
 * threads) under a read-write lock. Every write of a recipient or
 * destination also appends its key to the `changes` table; a handle
 * notices other connections' commits through PRAGMA data_version
 * (checked at most once per millisecond) and its own at once, then
 * re-reads only the changed keys into the index. A gap in the
 * sequence (the table is pruned) or a large backlog means a full
 * reload, which is always correct. Inside a handle's own write
 * transaction its lookups go to SQL, so the shared index never holds
 * uncommitted rows.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_impl.h"
#include "xalloc.h"

#define CHANGES_BACKLOG	10000	/* more than this: reload everything */
#define CHANGES_KEEP	100000	/* rows kept when pruning */
#define CHECK_NS	1000000	/* data_version at most once per ms */
#define CHUNK_KEYS	64	/* changes applied per write lock */

/*
 * The schema, one migration per version. Never edit a migration that
 * has shipped: add the next one.
 */
static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE rcpt (rcpt TEXT PRIMARY KEY, state TEXT NOT NULL,"
	" reason TEXT NOT NULL, since INTEGER, until INTEGER,"
	" soft_count INTEGER, soft_first INTEGER, last_event INTEGER,"
	" source TEXT, rule TEXT, status TEXT, code INTEGER, provider TEXT,"
	" queue_id TEXT, reply TEXT) WITHOUT ROWID;"
	"CREATE TABLE dest (dest TEXT PRIMARY KEY, reason TEXT NOT NULL,"
	" since INTEGER, until INTEGER, last INTEGER, count INTEGER,"
	" provider TEXT, rule TEXT, reply TEXT) WITHOUT ROWID;"
	"CREATE TABLE alert (key TEXT PRIMARY KEY, kind TEXT, blocklist TEXT,"
	" ip TEXT, first INTEGER, last INTEGER, notified INTEGER,"
	" count INTEGER, rule TEXT, reply TEXT) WITHOUT ROWID;"
	"CREATE TABLE event (id TEXT PRIMARY KEY, time INTEGER NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE INDEX event_time ON event (time);"
	"CREATE TABLE audit (rcpt TEXT NOT NULL, seq INTEGER NOT NULL,"
	" time INTEGER, old TEXT, new TEXT, event TEXT, rule TEXT,"
	" reply TEXT, PRIMARY KEY (rcpt, seq)) WITHOUT ROWID;"
	"CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" key TEXT NOT NULL);",
	/* 2: notes, purged with the events */
	"CREATE TABLE note (id TEXT PRIMARY KEY, time INTEGER NOT NULL,"
	" value TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX note_time ON note (time);",
};

#define SCHEMA_VERSION	((int)(sizeof(migrations) / sizeof(migrations[0])))

/* --- the in-memory index --------------------------------------------- */

/* --- the handle ------------------------------------------------------ */

enum stmt_id {
	S_EV_SEEN, S_EV_TIME, S_EV_MARK, S_EV_EXPIRE, S_NOTE_PUT,
	S_NOTE_PUT_NONE, S_NOTE_PUT_LATER, S_NOTE_GET,
	S_NOTE_EXPIRE, S_AUDIT_SEQ, S_AUDIT_INS, S_AUDIT_TRIM, S_AUDIT_LIST,
	S_AUDIT_DEL, S_CHANGE_INS, S_CHANGE_PRUNE, S_DATA_VERSION, S_CHANGES,
	S_MAXSEQ, S_IDX_RCPT, S_IDX_DEST, S_ALL_RCPT, S_ALL_DEST,
	S_LOOKUP_RCPT, S_LOOKUP_DEST, S_IDX_SIZE, S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_EV_SEEN] = "SELECT 1 FROM event WHERE id = ?",
	[S_EV_TIME] = "SELECT time FROM event WHERE id = ?",
	[S_EV_MARK] = "INSERT OR IGNORE INTO event (id, time) VALUES (?, ?)",
	[S_EV_EXPIRE] = "DELETE FROM event WHERE time < ?",
	[S_NOTE_PUT] = "INSERT OR REPLACE INTO note (id, time, value) "
	    "VALUES (?, ?, ?)",
	[S_NOTE_PUT_NONE] = "INSERT OR IGNORE INTO note (id, time, value) "
	    "VALUES (?, ?, ?)",
	[S_NOTE_PUT_LATER] = "INSERT INTO note (id, time, value) "
	    "VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
	    "time = excluded.time, value = excluded.value "
	    "WHERE excluded.time >= note.time",
	[S_NOTE_GET] = "SELECT time, value FROM note WHERE id = ?",
	[S_NOTE_EXPIRE] = "DELETE FROM note WHERE time < ?",
	[S_AUDIT_SEQ] = "SELECT coalesce(max(seq), 0) FROM audit "
	    "WHERE rcpt = ?",
	[S_AUDIT_INS] = "INSERT INTO audit (rcpt, seq, time, old, new, event,"
	    " rule, reply) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[S_AUDIT_TRIM] = "DELETE FROM audit WHERE rcpt = ? AND seq <= ?",
	[S_AUDIT_LIST] = "SELECT time, old, new, event, rule, reply FROM "
	    "audit WHERE rcpt = ? ORDER BY seq",
	[S_AUDIT_DEL] = "DELETE FROM audit WHERE rcpt = ?",
	[S_CHANGE_INS] = "INSERT INTO changes (key) VALUES (?)",
	[S_CHANGE_PRUNE] = "DELETE FROM changes WHERE seq <= ?",
	[S_DATA_VERSION] = "PRAGMA data_version",
	[S_CHANGES] = "SELECT seq, key FROM changes WHERE seq > ? "
	    "ORDER BY seq LIMIT 10001",
	[S_MAXSEQ] = "SELECT coalesce(max(seq), 0) FROM changes",
	[S_IDX_RCPT] = "SELECT rcpt, state, reason, until, since, status "
	    "FROM rcpt WHERE state <> 'none'",
	[S_IDX_DEST] = "SELECT dest, reason, until, provider FROM dest",
	[S_ALL_RCPT] = NULL,
	[S_ALL_DEST] = NULL,
	[S_LOOKUP_RCPT] = "SELECT state, reason, until, since, status FROM "
	    "rcpt WHERE rcpt = ?",
	[S_LOOKUP_DEST] = "SELECT reason, until, provider FROM dest "
	    "WHERE dest = ?",
	[S_IDX_SIZE] = "SELECT count(*), coalesce(sum(length(CAST(rcpt AS "
	    "BLOB))), 0) FROM rcpt WHERE state <> 'none'",
};

struct sqlite_store {
	struct store	 base;
	sqlite3		*db;
	char		*path;
	sqlite3_stmt	*s[S_COUNT];
	sqlite3_stmt	*get[3], *put[3], *del[3];
	int		 in_txn;
	int		 batch, batch_open, batch_failed;
	int		 writes;
	/*
	 * The view, shared with the process's other handles on the file
	 * (view.h): lookups hold its read lock; a refresh takes the write
	 * lock only to apply changes, CHUNK_KEYS keys at a time (a
	 * fraction of a millisecond: a reader waits no longer than that),
	 * and a full reload builds the new index unlocked and swaps it
	 * in. One refresh at a time: bouncerd's writer thread refreshes,
	 * its other threads' handles are view-only and only read; a
	 * handle that is not view-only and finds a refresh running
	 * answers from the view as it stands.
	 */
	struct view	*view;
	long long	 last_dv;
	long long	 last_check;	/* CLOCK_MONOTONIC_COARSE, ns */
	int		 dirty;		/* this handle wrote since */
	int		 view_only;	/* store_view_only() */
	/* the last lookup's recipient: store_lookup_detail() */
	struct view_fact det;
};

static void
sq_warn(struct sqlite_store *s, const char *what)
{
	log_warn("store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

/*
 * Ends a one-row lookup whose sqlite3_step() gave rc: 1 for a row, 0
 * for none, -1 (logged as what) for an error.
 */
static int
row_done(struct sqlite_store *s, sqlite3_stmt *q, int rc, const char *what)
{
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	sq_warn(s, what);
	return -1;
}

static int
sq_exec(struct sqlite_store *s, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_warn("store %s: %s: %s", s->path, sql, err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/* Steps a statement that returns no rows and resets it. */
static int
sq_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		sq_warn(s, what);
		return -1;
	}
	return 0;
}

static int
migrate(struct sqlite_store *s, char **errp)
{
	sqlite3_stmt *st;
	int v = 0;
	char sql[64];

	if (sq_exec(s, "BEGIN IMMEDIATE") < 0) {
		*errp = xasprintf("%s: %s", s->path, sqlite3_errmsg(s->db));
		return -1;
	}
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	if (v > SCHEMA_VERSION) {
		*errp = xasprintf("%s: schema version %d is newer than this "
		    "bouncer knows (%d)", s->path, v, SCHEMA_VERSION);
		sq_exec(s, "ROLLBACK");
		return -1;
	}
	for (; v < SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (sq_exec(s, migrations[v]) < 0 || sq_exec(s, sql) < 0) {
			*errp = xasprintf("%s: migrating to schema version "
			    "%d: %s", s->path, v + 1, sqlite3_errmsg(s->db));
			sq_exec(s, "ROLLBACK");
			return -1;
		}
	}
	if (sq_exec(s, "COMMIT") < 0) {
		*errp = xasprintf("%s: %s", s->path, sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

static int
prepare(struct sqlite_store *s, const char *sql, sqlite3_stmt **st,
    char **errp)
{
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	    NULL) != SQLITE_OK) {
		*errp = xasprintf("%s: %s: %s", s->path, sql,
		    sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

static char *
columns(const struct kind_desc *k, int placeholders)
{
	char *sql = xstrdup(""), *n;
	size_t i;

	for (i = 0; i < k->nfields; i++) {
		n = xasprintf("%s%s%s", sql, i ? ", " : "",
		    placeholders ? "?" : k->fields[i].name);
		free(sql);
		sql = n;
	}
	return sql;
}

static int
prepare_all(struct sqlite_store *s, char **errp)
{
	char *cols, *qs, *sql;
	int i, rc;

	for (i = 0; i < S_COUNT; i++)
		if (stmt_sql[i] != NULL && prepare(s, stmt_sql[i], &s->s[i],
		    errp) < 0)
			return -1;
	for (i = SK_RCPT; i <= SK_ALERT; i++) {
		const struct kind_desc *k = &store_kinds[i];

		cols = columns(k, 0);
		qs = columns(k, 1);
		sql = xasprintf("SELECT %s FROM %s WHERE %s = ?", cols,
		    k->table, k->fields[0].name);
		rc = prepare(s, sql, &s->get[i], errp);
		free(sql);
		sql = xasprintf("INSERT OR REPLACE INTO %s (%s) VALUES (%s)",
		    k->table, cols, qs);
		if (rc == 0)
			rc = prepare(s, sql, &s->put[i], errp);
		free(sql);
		sql = xasprintf("DELETE FROM %s WHERE %s = ?", k->table,
		    k->fields[0].name);
		if (rc == 0)
			rc = prepare(s, sql, &s->del[i], errp);
		free(sql);
		free(cols);
		free(qs);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static void sqlite_close(struct store *);

/* One view per file (device and inode) per process. */
static struct view *
view_of(const char *path)
{
	struct stat sb;
	char name[96];

	if (stat(path, &sb) < 0)
		return view_get(NULL);
	snprintf(name, sizeof(name), "sqlite:%llu:%llu",
	    (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino);
	return view_get(name);
}

static struct store *
sqlite_open(const char *uri, const char *rest, const struct store_params *p,
    char **errp)
{
	struct sqlite_store *s;

	if (strncmp(rest, "//", 2) == 0)
		rest += 2;
	if (*rest == '\0') {
		*errp = xasprintf("%s: no file name", uri);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(rest);
	if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*errp = xasprintf("%s: %s", s->path, s->db ?
		    sqlite3_errmsg(s->db) : "cannot open");
		sqlite_close(&s->base);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, (int)(p->busy_timeout * 1000));
	if (sq_exec(s, "PRAGMA journal_mode = WAL") < 0 ||
	    sq_exec(s, "PRAGMA synchronous = NORMAL") < 0 ||
	    sq_exec(s, "PRAGMA cache_size = -2048") < 0) {
		*errp = xasprintf("%s: %s", s->path, sqlite3_errmsg(s->db));
		sqlite_close(&s->base);
		return NULL;
	}
	if (migrate(s, errp) < 0 || prepare_all(s, errp) < 0) {
		sqlite_close(&s->base);
		return NULL;
	}
	s->view = view_of(s->path);
	s->base.p = *p;
	return &s->base;
}

static void
sqlite_close(struct store *st)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	int i;

	if (s->db != NULL && (s->in_txn || s->batch_open))
		sq_exec(s, "ROLLBACK");
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->s[i]);
	for (i = 0; i < 3; i++) {
		sqlite3_finalize(s->get[i]);
		sqlite3_finalize(s->put[i]);
		sqlite3_finalize(s->del[i]);
	}
	sqlite3_close(s->db);
	view_put(s->view);
	free(s->path);
	free(s);
}

/* --- the view's upkeep ------------------------------------------------ */

static const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

static enum reason
col_reason(sqlite3_stmt *st, int i)
{
	const char *t = col_text(st, i);
	int r = reason_parse(t, strlen(t));

	return r < 0 ? 0 : (enum reason)r;
}

/* A recipient row (rcpt, state, reason, until, since, status) from i. */
static void
load_rcpt(struct view_index *ix, sqlite3_stmt *st, const char *rcpt, int i)
{
	int state = rcpt_state_parse(col_text(st, i));

	view_set_rcpt(ix, rcpt, strlen(rcpt), state < 0 ? RS_NONE :
	    (enum rcpt_state)state, col_reason(st, i + 1),
	    sqlite3_column_int64(st, i + 2), sqlite3_column_int64(st, i + 3),
	    col_text(st, i + 4));
}

/*
 * Builds a whole new index from the tables, unlocked, and swaps it in.
 * Runs inside a read transaction, so the rows and the change sequence
 * agree.
 */
static int
idx_full(struct sqlite_store *s)
{
	struct view_index *ix;
	sqlite3_stmt *st;
	long long seq, n = 0, bytes = 0;
	char pos[32];
	int rc;

	st = s->s[S_IDX_SIZE];
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
		bytes = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	ix = view_index_new((size_t)n, (size_t)bytes);
	st = s->s[S_MAXSEQ];
	seq = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	st = s->s[S_IDX_RCPT];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		load_rcpt(ix, st, col_text(st, 0), 1);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto fail;
	st = s->s[S_IDX_DEST];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		view_set_dest(ix, col_text(st, 0), col_reason(st, 1),
		    sqlite3_column_int64(st, 2), col_text(st, 3));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto fail;
	snprintf(pos, sizeof(pos), "%lld", seq);
	view_swap(s->view, ix, pos);
	return 0;
fail:
	sq_warn(s, "loading the index");
	view_index_free(ix);
	return -1;
}

/* A changed key's record, read before the view's write lock is taken. */
struct chg {
	char		 key[VIEW_KEY_MAX + 1];
	int		 dest;		/* a destination, or a recipient */
	int		 gone;		/* no such record now */
	struct view_fact f;
};

/*
 * Reads one changed key ("r:addr" or "d:dest") into *c. Returns 0, 1
 * for a key it does not know (reload everything), -1.
 */
static int
read_change(struct sqlite_store *s, const char *key, struct chg *c)
{
	sqlite3_stmt *st;
	const char *k;
	int rc, state;

	if (strncmp(key, KEY_RCPT, 2) != 0 && strncmp(key, KEY_DEST, 2) != 0)
		return 1;
	k = key + 2;
	memset(c, 0, sizeof(*c));
	snprintf(c->key, sizeof(c->key), "%s", k);
	if (strlen(k) >= sizeof(c->key))
		c->key[0] = '\0';	/* too long for the view: skipped */
	if (strncmp(key, KEY_RCPT, 2) == 0) {
		st = s->s[S_LOOKUP_RCPT];
		sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			state = rcpt_state_parse(col_text(st, 0));
			c->f.state = state < 0 ? RS_NONE :
			    (enum rcpt_state)state;
			c->f.reason = col_reason(st, 1);
			c->f.until = sqlite3_column_int64(st, 2);
			c->f.since = sqlite3_column_int64(st, 3);
			snprintf(c->f.status, sizeof(c->f.status), "%s",
			    col_text(st, 4));
		}
	} else {
		c->dest = 1;
		st = s->s[S_LOOKUP_DEST];
		sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			c->f.reason = col_reason(st, 0);
			c->f.until = sqlite3_column_int64(st, 1);
			snprintf(c->f.provider, sizeof(c->f.provider), "%s",
			    col_text(st, 2));
		}
	}
	c->gone = rc == SQLITE_DONE;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sq_warn(s, "refreshing the index");
		return -1;
	}
	return 0;
}

/* Applies what read_change() read; the caller holds the write lock. */
static void
apply_change(struct view_index *ix, const struct chg *c)
{
	if (c->key[0] == '\0')
		return;
	if (c->dest && c->gone)
		view_del_dest(ix, c->key);
	else if (c->dest)
		view_set_dest(ix, c->key, c->f.reason, c->f.until,
		    c->f.provider);
	else if (c->gone)
		view_del_rcpt(ix, c->key);
	else
		view_set_rcpt(ix, c->key, strlen(c->key), c->f.state,
		    c->f.reason, c->f.until, c->f.since, c->f.status);
}

/*
 * Applies n changes read aside, under the write lock for no longer
 * than that takes; the position moves to last. 0, or 1 when the index
 * has no room and the records need compacting (reload).
 */
static int
apply_chunk(struct view *v, const struct chg *c, size_t n, long long last)
{
	struct view_index *ix = view_live(v);
	size_t i;

	if (n == 0)
		return 0;
	/* More slots, built aside; or compact: reload. */
	if (!view_room(ix, n) && (view_grow(v, n) < 0 || !view_room(ix, n)))
		return 1;
	view_wrlock(v);
	for (i = 0; i < n; i++)
		apply_change(ix, &c[i]);
	snprintf(view_pos(v), VIEW_POS_MAX, "%lld", last);
	view_unlock(v);
	return 0;
}

static long long
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Brings the shared index up to date, as this handle's connection
 * sees the file. Returns 0, or -1 when the index cannot be used now:
 * inside this handle's own write transaction (the index must never
 * hold uncommitted rows, which other threads would see), or after a
 * failure (logged). The caller then answers with SQL. The caller
 * holds the view's refresh lock.
 */
static int
idx_refresh(struct sqlite_store *s)
{
	struct view *v = s->view;
	struct chg chg[CHUNK_KEYS];
	sqlite3_stmt *st;
	long long now = mono_ns(), dv, seq, first = -1, last, done;
	size_t nc = 0;
	int rc, n = 0, full = 0, ready;

	if (s->in_txn || s->batch_open)
		return -1;
	ready = view_ready(v);
	if (ready && !s->dirty && now - s->last_check < CHECK_NS)
		return 0;
	s->last_check = now;
	st = s->s[S_DATA_VERSION];
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		sq_warn(s, "data_version");
		return -1;
	}
	dv = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (ready && !s->dirty && dv == s->last_dv)
		return 0;
	if (sq_exec(s, "BEGIN") < 0)
		return -1;
	if (!ready) {
		rc = idx_full(s);
		goto out;
	}
	/*
	 * The rows are read with no lock held, CHUNK_KEYS at a time, and
	 * only applying them takes the write lock: readers never wait on
	 * SQLite's I/O.
	 */
	done = strtoll(view_pos(v), NULL, 10);
	last = done;
	st = s->s[S_CHANGES];
	sqlite3_bind_int64(st, 1, done);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0);
		if (first < 0)
			first = seq;
		/* A gap (pruned) or a backlog: start over. */
		if (first != done + 1 || ++n > CHANGES_BACKLOG) {
			full = 1;
			break;
		}
		if ((rc = read_change(s, col_text(st, 1), &chg[nc])) != 0) {
			full = 1;
			break;
		}
		last = seq;
		if (++nc == CHUNK_KEYS) {
			if (apply_chunk(v, chg, nc, last) != 0) {
				full = 1;
				break;
			}
			nc = 0;
		}
	}
	sqlite3_reset(st);
	if (!full && rc != SQLITE_DONE) {
		sq_warn(s, "reading changes");
		rc = -1;
	} else if (!full) {
		if (apply_chunk(v, chg, nc, last) != 0)
			full = 1;
		rc = 0;
	}
	if (full)
		rc = idx_full(s);
out:
	sq_exec(s, "COMMIT");
	if (rc == 0) {
		s->last_dv = dv;
		s->dirty = 0;
	}
	return rc < 0 ? -1 : 0;
}

/*
 * On the lookup path of a handle that is not view-only: a refresh
 * unless another handle is doing one, in which case the index as it
 * stands answers. 0 (use the index) or -1 (use SQL).
 */
static int
idx_refresh_try(struct sqlite_store *s)
{
	int rc;

	if (view_refresh_trylock(s->view) < 0)
		return s->in_txn || s->batch_open || !view_ready(s->view) ?
		    -1 : 0;
	rc = idx_refresh(s);
	view_refresh_unlock(s->view);
	return rc;
}

static int
sqlite_refresh(struct store *st)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	int rc;

	view_refresh_lock(s->view);
	rc = idx_refresh(s);
	view_refresh_unlock(s->view);
	/* Inside a transaction there is nothing to do yet. */
	return s->in_txn || s->batch_open ? 0 : rc;
}

/*
 * A view-only handle keeps no connection: it reads the shared index
 * only, so it never touches the file, and the writer's connection is
 * the process's only one (SQLite hands a closed connection's
 * descriptor to the next one opened while another holds a lock: a
 * file made read-only since would still be written through it).
 */
static void
sqlite_view_only(struct store *st)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	int i;

	s->view_only = 1;
	for (i = 0; i < S_COUNT; i++) {
		sqlite3_finalize(s->s[i]);
		s->s[i] = NULL;
	}
	for (i = 0; i < 3; i++) {
		sqlite3_finalize(s->get[i]);
		sqlite3_finalize(s->put[i]);
		sqlite3_finalize(s->del[i]);
		s->get[i] = s->put[i] = s->del[i] = NULL;
	}
	sqlite3_close(s->db);
	s->db = NULL;
}

static int
change(struct sqlite_store *s, enum store_kind kind, const char *key)
{
	sqlite3_stmt *st = s->s[S_CHANGE_INS];
	char buf[STORE_ADDR_MAX + 3];
	long long seq;

	if (kind == SK_ALERT)
		return 0;
	snprintf(buf, sizeof(buf), "%s%s", store_kinds[kind].prefix, key);
	sqlite3_bind_text(st, 1, buf, -1, SQLITE_STATIC);
	if (sq_done(s, st, "recording a change") < 0)
		return -1;
	s->dirty = 1;
	seq = sqlite3_last_insert_rowid(s->db);
	if (seq % 4096 == 0 && seq > CHANGES_KEEP) {
		st = s->s[S_CHANGE_PRUNE];
		sqlite3_bind_int64(st, 1, seq - CHANGES_KEEP);
		return sq_done(s, st, "pruning changes");
	}
	return 0;
}

/* --- operations ------------------------------------------------------ */

static int
sqlite_lookup_detail(struct store *st, struct store_rcpt *out)
{
	struct sqlite_store *s = (struct sqlite_store *)st;

	if (!s->det.detail)
		return 0;
	out->since = s->det.since;
	snprintf(out->status, sizeof(out->status), "%s", s->det.status);
	return 1;
}

/*
 * From the view (view-only handles always: -1 for what it cannot
 * tell); from the tables inside this handle's own transaction, for
 * keys too long for the view, or when it cannot be brought up to date.
 */
static int
sqlite_lookup(struct store *st, const char *rcpt, const char *domain,
    long long now, struct store_answer *out)
{
	struct sqlite_store *s = (struct sqlite_store *)st;

	s->det.detail = 0;
	if (s->view_only)
		return store_decide_view(s->view, rcpt, domain, now, out,
		    &s->det);
	if (strlen(rcpt) > VIEW_KEY_MAX || strlen(domain) + 1 > VIEW_KEY_MAX ||
	    idx_refresh_try(s) < 0)
		return store_decide_get(st, rcpt, domain, now, out, &s->det);
	return store_decide_view(s->view, rcpt, domain, now, out, &s->det);
}

static int
sqlite_begin(struct store *st, const char *const *keys, size_t nkeys)
{
	struct sqlite_store *s = (struct sqlite_store *)st;

	s->writes = 0;
	if (s->batch) {
		if (!s->batch_open) {
			if (sq_exec(s, "BEGIN IMMEDIATE") < 0)
				return -1;
			s->batch_open = 1;
		}
		s->in_txn = 1;
		return 0;
	}
	if (sq_exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	s->in_txn = 1;
	return 0;
}

static int
sqlite_commit(struct store *st)
{
	struct sqlite_store *s = (struct sqlite_store *)st;

	s->in_txn = 0;
	if (s->batch)
		return 1;
	if (sq_exec(s, "COMMIT") < 0) {
		sq_exec(s, "ROLLBACK");
		return -1;
	}
	return 1;
}

static void
sqlite_rollback(struct store *st)
{
	struct sqlite_store *s = (struct sqlite_store *)st;

	s->in_txn = 0;
	if (s->batch) {
		if (s->writes > 0 && s->batch_open) {
			sq_exec(s, "ROLLBACK");
			s->batch_open = 0;
			s->batch_failed = 1;
		}
		return;
	}
	sq_exec(s, "ROLLBACK");
}

static int
sqlite_batch(struct store *st, int begin)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	int rc = 0;

	if (begin) {
		s->batch = 1;
		s->batch_failed = 0;
		if (sq_exec(s, "BEGIN IMMEDIATE") < 0)
			return -1;
		s->batch_open = 1;
		return 0;
	}
	if (s->batch_open && sq_exec(s, "COMMIT") < 0) {
		sq_exec(s, "ROLLBACK");
		rc = -1;
	}
	s->batch = s->batch_open = 0;
	s->dirty = 1;
	return s->batch_failed ? -1 : rc;
}

static void
row_to_rec(sqlite3_stmt *st, const struct kind_desc *k, void *rec)
{
	size_t i;

	memset(rec, 0, k->size);
	for (i = 0; i < k->nfields; i++) {
		const struct field *f = &k->fields[i];
		long long ll;
		int v;

		switch (f->type) {
		case F_INT:
			v = sqlite3_column_int(st, (int)i);
			memcpy((char *)rec + f->off, &v, sizeof(v));
			break;
		case F_LL:
			ll = sqlite3_column_int64(st, (int)i);
			memcpy((char *)rec + f->off, &ll, sizeof(ll));
			break;
		default:
			if (field_set(f, rec, col_text(st, (int)i),
			    (size_t)sqlite3_column_bytes(st, (int)i)) < 0)
				log_warn("store: bad %s in %s", f->name,
				    k->table);
			break;
		}
	}
}

static int
sqlite_get(struct store *st, enum store_kind kind, const char *key,
    void *rec)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	sqlite3_stmt *q = s->get[kind];
	int rc;

	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		row_to_rec(q, &store_kinds[kind], rec);
	return row_done(s, q, rc, "get");
}

static int
sqlite_put(struct store *st, enum store_kind kind, const void *rec)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	const struct kind_desc *k = &store_kinds[kind];
	sqlite3_stmt *q = s->put[kind];
	char buf[32];
	size_t i;

	for (i = 0; i < k->nfields; i++) {
		const struct field *f = &k->fields[i];
		const char *p = (const char *)rec + f->off;
		long long ll;
		int v;

		switch (f->type) {
		case F_INT:
			memcpy(&v, p, sizeof(v));
			sqlite3_bind_int(q, (int)i + 1, v);
			break;
		case F_LL:
			memcpy(&ll, p, sizeof(ll));
			sqlite3_bind_int64(q, (int)i + 1, ll);
			break;
		default:
			sqlite3_bind_text(q, (int)i + 1, field_get(f, rec, buf,
			    sizeof(buf)), -1, SQLITE_TRANSIENT);
			break;
		}
	}
	if (sq_done(s, q, "put") < 0)
		return -1;
	s->writes++;
	return change(s, kind, (const char *)rec + k->fields[0].off);
}

static int
sqlite_del(struct store *st, enum store_kind kind, const char *key)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	sqlite3_stmt *q = s->del[kind];
	int n;

	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (sq_done(s, q, "delete") < 0)
		return -1;
	n = sqlite3_changes(s->db);
	s->writes++;
	if (kind == SK_RCPT) {
		q = s->s[S_AUDIT_DEL];
		sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
		if (sq_done(s, q, "deleting the audit trail") < 0)
			return -1;
	}
	if (n > 0 && change(s, kind, key) < 0)
		return -1;
	return n > 0;
}

static int
sqlite_event_seen(struct store *st, const char *id)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	sqlite3_stmt *q = s->s[S_EV_SEEN];
	int rc;

	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	return row_done(s, q, rc, "event lookup");
}

static int
sqlite_event_time(struct store *st, const char *id, long long *time)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	sqlite3_stmt *q = s->s[S_EV_TIME];
	int rc;

	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*time = sqlite3_column_int64(q, 0);
	return row_done(s, q, rc, "event lookup");
}

static int
sqlite_event_mark(struct store *st, const char *id, long long time)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	sqlite3_stmt *q = s->s[S_EV_MARK];

	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, time);
	s->writes++;
	return sq_done(s, q, "recording an event");
}

static int
sqlite_note_put(struct store *st, enum note_when when, const char *id,
    const char *value, long long time)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	sqlite3_stmt *q = s->s[when == NOTE_IF_NONE ? S_NOTE_PUT_NONE :
	    when == NOTE_IF_LATER ? S_NOTE_PUT_LATER : S_NOTE_PUT];

	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, time);
	sqlite3_bind_text(q, 3, value, -1, SQLITE_STATIC);
	s->writes++;
	return sq_done(s, q, "writing a note");
}

static int
sqlite_note_get(struct store *st, const char *id, char *value,
    long long *time)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	sqlite3_stmt *q = s->s[S_NOTE_GET];
	int rc;

	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*time = sqlite3_column_int64(q, 0);
		snprintf(value, STORE_NOTE_MAX, "%s", col_text(q, 1));
	}
	return row_done(s, q, rc, "note lookup");
}

/* Deletes the rows of statement id written before `before`; counts them. */
static int
purge_before(struct sqlite_store *s, enum stmt_id id, long long before,
    const char *what, unsigned long *n)
{
	sqlite3_stmt *q = s->s[id];

	sqlite3_bind_int64(q, 1, before);
	if (sq_done(s, q, what) < 0)
		return -1;
	*n = (unsigned long)sqlite3_changes(s->db);
	return 0;
}

static int
sqlite_event_expire(struct store *st, long long before,
    struct store_expired *n)
{
	struct sqlite_store *s = (struct sqlite_store *)st;

	if (purge_before(s, S_EV_EXPIRE, before, "expiring events",
	    &n->events) < 0 || purge_before(s, S_NOTE_EXPIRE, before,
	    "expiring notes", &n->notes) < 0)
		return -1;
	return 0;
}

static int
sqlite_audit_add(struct store *st, const char *rcpt,
    const struct store_audit *a)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	sqlite3_stmt *q = s->s[S_AUDIT_SEQ];
	long long seq = 0;

	sqlite3_bind_text(q, 1, rcpt, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		seq = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	seq++;
	q = s->s[S_AUDIT_INS];
	sqlite3_bind_text(q, 1, rcpt, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	sqlite3_bind_int64(q, 3, a->time);
	sqlite3_bind_text(q, 4, a->old, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, a->new, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, a->event, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, a->rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, a->reply, -1, SQLITE_STATIC);
	if (sq_done(s, q, "adding to the audit trail") < 0)
		return -1;
	s->writes++;
	if (seq <= st->p.audit_max)
		return 0;
	q = s->s[S_AUDIT_TRIM];
	sqlite3_bind_text(q, 1, rcpt, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq - st->p.audit_max);
	return sq_done(s, q, "trimming the audit trail");
}

static int
sqlite_audit_list(struct store *st, const char *rcpt, store_audit_fn *fn,
    void *arg)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	sqlite3_stmt *q = s->s[S_AUDIT_LIST];
	struct store_audit a;
	int rc;

	sqlite3_bind_text(q, 1, rcpt, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		memset(&a, 0, sizeof(a));
		a.time = sqlite3_column_int64(q, 0);
		snprintf(a.old, sizeof(a.old), "%s", col_text(q, 1));
		snprintf(a.new, sizeof(a.new), "%s", col_text(q, 2));
		snprintf(a.event, sizeof(a.event), "%s", col_text(q, 3));
		snprintf(a.rule, sizeof(a.rule), "%s", col_text(q, 4));
		snprintf(a.reply, sizeof(a.reply), "%s", col_text(q, 5));
		if (fn(&a, arg) != 0)
			break;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sq_warn(s, "reading the audit trail");
		return -1;
	}
	return 0;
}

static int
sqlite_iterate(struct store *st, enum store_kind kind, store_iter_fn *fn,
    void *arg)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	const struct kind_desc *k = &store_kinds[kind];
	sqlite3_stmt *q;
	char *cols, *sql;
	void *rec = xmalloc(k->size);
	int rc;

	cols = columns(k, 0);
	sql = xasprintf("SELECT %s FROM %s", cols, k->table);
	free(cols);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
	free(sql);
	if (rc != SQLITE_OK) {
		sq_warn(s, "iterate");
		free(rec);
		return -1;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		row_to_rec(q, k, rec);
		if (fn(rec, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		sq_warn(s, "iterate");
	sqlite3_finalize(q);
	free(rec);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
sqlite_iterate_ids(struct store *st, enum store_idkind kind, store_id_fn *fn,
    void *arg)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(s->db, kind == SI_NOTE ?
	    "SELECT id, time, value FROM note" : "SELECT id, time FROM event",
	    -1, &q, NULL) != SQLITE_OK) {
		sq_warn(s, "iterate");
		return -1;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if (fn(col_text(q, 0), sqlite3_column_int64(q, 1),
		    kind == SI_NOTE ? col_text(q, 2) : NULL, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	if (rc != SQLITE_DONE)
		sq_warn(s, "iterate");
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* --- backup and restore ---------------------------------------------- */

/* 1 if a and b name one file, 0 if not (or either is missing). */
static int
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * Copies all of src into dst with SQLite's online backup, in one step
 * (one read transaction on src: a consistent snapshot, WAL included),
 * retrying while a lock is busy for at most busy seconds. 0, or -1
 * with *errp naming what.
 */
static int
copy_db(sqlite3 *dst, sqlite3 *src, long long busy, const char *what,
    char **errp)
{
	sqlite3_backup *bk;
	long long waited = 0;
	int rc;

	if ((bk = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		*errp = xasprintf("%s: %s", what, sqlite3_errmsg(dst));
		return -1;
	}
	for (;;) {
		rc = sqlite3_backup_step(bk, -1);
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) ||
		    waited >= busy * 1000)
			break;
		sqlite3_sleep(50);
		waited += 50;
	}
	sqlite3_backup_finish(bk);
	if (rc != SQLITE_DONE) {
		*errp = xasprintf("%s: %s", what, rc == SQLITE_BUSY ||
		    rc == SQLITE_LOCKED ? "the store stayed locked" :
		    sqlite3_errmsg(dst));
		return -1;
	}
	return 0;
}

/* Runs PRAGMA quick_check on db: 0 if "ok", else -1 with *errp. */
static int
quick_check(sqlite3 *db, const char *path, char **errp)
{
	sqlite3_stmt *q;
	int ok = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &q, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			ok = strcmp(col_text(q, 0), "ok") == 0;
		if (!ok)
			*errp = xasprintf("%s: not a sound database: %s", path,
			    sqlite3_column_type(q, 0) == SQLITE_TEXT ?
			    col_text(q, 0) : sqlite3_errmsg(db));
		sqlite3_finalize(q);
	} else
		*errp = xasprintf("%s: %s", path, sqlite3_errmsg(db));
	return ok ? 0 : -1;
}

/*
 * The end of a copy into tmp, a file beside its destination: closes
 * dst (NULL: already closed) and frees tmp, removing the file first
 * unless rc is 0, when it has been renamed into place. Returns rc.
 */
static int
copy_done(sqlite3 *dst, char *tmp, int rc)
{
	sqlite3_close(dst);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

static int
sqlite_backup(struct store *st, const char *path, char **errp)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	struct stat sb;
	sqlite3 *dst = NULL;
	char *tmp, *err = NULL;
	int fd, rc = -1;

	if (same_file(path, s->path)) {
		*errp = xasprintf("%s: is the store itself", path);
		return -1;
	}
	/* It is renamed over: never over a device, a directory, ... */
	if (lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		*errp = xasprintf("%s: exists and is not a regular file", path);
		return -1;
	}
	if (s->in_txn || s->batch_open) {
		*errp = xstrdup("a transaction is open on the handle");
		return -1;
	}
	tmp = xasprintf("%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {
		*errp = xasprintf("%s: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	close(fd);
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*errp = xasprintf("%s: %s", tmp, dst ? sqlite3_errmsg(dst) :
		    "cannot open");
		goto out;
	}
	if (copy_db(dst, s->db, st->p.busy_timeout, s->path, errp) < 0)
		goto out;
	/* One file, readable without its -wal and -shm companions. */
	if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL,
	    &err) != SQLITE_OK) {
		*errp = xasprintf("%s: %s", path, err ? err : "?");
		sqlite3_free(err);
		goto out;
	}
	if (quick_check(dst, path, errp) < 0)
		goto out;
	if (sqlite3_close(dst) != SQLITE_OK) {
		*errp = xasprintf("%s: %s", path, sqlite3_errmsg(dst));
		goto out;
	}
	dst = NULL;
	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) < 0 ||
	    rename(tmp, path) < 0) {
		*errp = xasprintf("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	rc = 0;
out:
	return copy_done(dst, tmp, rc);
}

/*
 * The pid of a process that has the WAL database at path open, or 0.
 * Every SQLite connection in WAL mode holds a shared lock on byte 128
 * of the -shm file (the "DMS" lock of SQLite's WAL-index format) for
 * as long as it is open. This process must not have the file open
 * itself: closing the descriptor would drop its own POSIX locks.
 */
static long
shm_holder(const char *path)
{
	struct flock fl;
	char *shm = xasprintf("%s-shm", path);
	int fd;

	if ((fd = open(shm, O_RDWR | O_CLOEXEC)) < 0)
		fd = open(shm, O_RDONLY | O_CLOEXEC);
	free(shm);
	if (fd < 0)
		return 0;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 128;
	fl.l_len = 1;
	if (fcntl(fd, F_GETLK, &fl) < 0)
		fl.l_type = F_UNLCK;
	close(fd);
	return fl.l_type == F_UNLCK ? 0 : (long)fl.l_pid;
}

/* Is db a bouncer store this program can open? 0, or -1 with *errp. */
static int
check_store_file(sqlite3 *db, const char *path, char **errp)
{
	static const char *const tables[] = {
		"rcpt", "dest", "alert", "event", "audit", "changes"
	};
	sqlite3_stmt *q;
	size_t i;
	int v = -1, n = 0;

	if (quick_check(db, path, errp) < 0)
		return -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			v = sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
	}
	if (v > SCHEMA_VERSION) {
		*errp = xasprintf("%s: schema version %d is newer than this "
		    "bouncer knows (%d)", path, v, SCHEMA_VERSION);
		return -1;
	}
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'table' AND name = ?", -1, &q, NULL) != SQLITE_OK) {
		*errp = xasprintf("%s: %s", path, sqlite3_errmsg(db));
		return -1;
	}
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		sqlite3_bind_text(q, 1, tables[i], -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			n += sqlite3_column_int(q, 0);
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	if (v < 1 || n != (int)(sizeof(tables) / sizeof(tables[0]))) {
		*errp = xasprintf("%s: not a bouncer store (schema version "
		    "%d, %d of its %zu tables)", path, v, n,
		    sizeof(tables) / sizeof(tables[0]));
		return -1;
	}
	return 0;
}

/*
 * When the store's file is damaged beyond opening: the copy goes to a
 * new file beside it, with the old one's mode (and owner, when this
 * process may give it), and is renamed over it, its stale -wal and
 * -shm removed first (SQLite would replay that WAL into the new file).
 * No other process has the file open: the caller made sure.
 */
static int
replace_file(sqlite3 *src, const char *path, long long busy, char **errp)
{
	struct stat sb;
	sqlite3 *dst = NULL;
	char *tmp, *side;
	int fd, rc = -1;

	tmp = xasprintf("%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {
		*errp = xasprintf("%s: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	if (stat(path, &sb) == 0) {
		(void)fchmod(fd, sb.st_mode & 07777);
		/* The owner too, when run as root; anyone else keeps the
		 * copy as its own, as the file was. */
		if (fchown(fd, sb.st_uid, sb.st_gid) < 0 && geteuid() == 0)
			log_warn("%s: cannot give the copy the file's owner: %s",
			    path, strerror(errno));
	}
	close(fd);
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*errp = xasprintf("%s: %s", tmp, dst ? sqlite3_errmsg(dst) :
		    "cannot open");
		goto out;
	}
	if (copy_db(dst, src, busy, path, errp) < 0)
		goto out;
	if (sqlite3_close(dst) != SQLITE_OK) {
		*errp = xasprintf("%s: %s", tmp, sqlite3_errmsg(dst));
		goto out;
	}
	dst = NULL;
	side = xasprintf("%s-wal", path);
	(void)unlink(side);
	free(side);
	side = xasprintf("%s-shm", path);
	(void)unlink(side);
	free(side);
	if (rename(tmp, path) < 0) {
		*errp = xasprintf("%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	return copy_done(dst, tmp, rc);
}

/* Does SQLite's error on db say the file is damaged? */
static int
damaged(sqlite3 *db)
{
	int e = sqlite3_errcode(db);

	return e == SQLITE_NOTADB || e == SQLITE_CORRUPT;
}

static int
sqlite_restore(const char *uri, const char *rest,
    const struct store_params *p, const char *from, char **errp)
{
	sqlite3 *src = NULL, *dst = NULL;
	struct stat sb;
	long pid;
	int rc = -1;

	(void)uri;
	if (strncmp(rest, "//", 2) == 0)
		rest += 2;
	if (*rest == '\0') {
		*errp = xasprintf("%s: no file name", uri);
		return -1;
	}
	if (same_file(from, rest)) {
		*errp = xasprintf("%s: is the store itself", from);
		return -1;
	}
	if (access(from, R_OK) < 0 || stat(from, &sb) < 0) {
		*errp = xasprintf("%s: %s", from, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		*errp = xasprintf("%s: not a regular file", from);
		return -1;
	}
	if (sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*errp = xasprintf("%s: %s", from, src ? sqlite3_errmsg(src) :
		    "cannot open");
		goto out;
	}
	if (check_store_file(src, from, errp) < 0)
		goto out;
	if ((pid = shm_holder(rest)) != 0) {
		*errp = xasprintf("%s: in use by process %ld (bouncerd, or "
		    "another bouncerctl): stop bouncerd before a restore",
		    rest, pid);
		goto out;
	}
	/*
	 * Exclusive locking: no other connection can open the file until
	 * the copy is in, and one that appeared since the check above
	 * makes this fail rather than see the contents change under it.
	 */
	if (sqlite3_open_v2(rest, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*errp = xasprintf("%s: %s", rest, dst ? sqlite3_errmsg(dst) :
		    "cannot open");
		goto out;
	}
	if (sqlite3_exec(dst, "PRAGMA locking_mode = EXCLUSIVE", NULL, NULL,
	    NULL) != SQLITE_OK || sqlite3_exec(dst, "BEGIN EXCLUSIVE; COMMIT",
	    NULL, NULL, NULL) != SQLITE_OK) {
		if (damaged(dst))
			goto replace;
		*errp = xasprintf("%s: %s", rest, sqlite3_errcode(dst) ==
		    SQLITE_BUSY ? "in use by another process: stop bouncerd "
		    "before a restore" : sqlite3_errmsg(dst));
		goto out;
	}
	if (copy_db(dst, src, p->busy_timeout, rest, errp) < 0) {
		if (!damaged(dst))
			goto out;
		free(*errp);
		*errp = NULL;
		goto replace;
	}
	rc = 0;
	goto out;
replace:
	sqlite3_close(dst);
	dst = NULL;
	rc = replace_file(src, rest, p->busy_timeout, errp);
out:
	sqlite3_close(src);
	if (dst != NULL && sqlite3_close(dst) != SQLITE_OK && rc == 0) {
		*errp = xasprintf("%s: %s", rest, sqlite3_errmsg(dst));
		rc = -1;
	}
	return rc;
}

const struct store_ops store_sqlite_ops = {
	.scheme = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	.lookup = sqlite_lookup,
	.lookup_detail = sqlite_lookup_detail,
	.view_only = sqlite_view_only,
	.refresh = sqlite_refresh,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.batch = sqlite_batch,
	.get = sqlite_get,
	.put = sqlite_put,
	.del = sqlite_del,
	.event_seen = sqlite_event_seen,
	.event_time = sqlite_event_time,
	.event_mark = sqlite_event_mark,
	.note_put = sqlite_note_put,
	.note_get = sqlite_note_get,
	.event_expire = sqlite_event_expire,
	.audit_add = sqlite_audit_add,
	.audit_list = sqlite_audit_list,
	.iterate = sqlite_iterate,
	.iterate_ids = sqlite_iterate_ids,
	.backup = sqlite_backup,
	.restore = sqlite_restore,
};
