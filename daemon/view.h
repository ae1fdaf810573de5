/*
 * view.h -- the decisions in force, in memory, shared by a process's
 * handles on one store
 *
 * bouncerd answers the policy server, the milter's RCPT check and the
 * socketmap from memory, never from a disk or a network. A view holds
 * what those answers need of every recipient with a state (state,
 * reason, until, the day the state began, its enhanced status) and of
 * every throttled destination (reason, until, its provider): an exact
 * hash over whole keys, each address held as its local part and a
 * reference to an interned domain, about 35 bytes an address with the
 * hash's slots (view.c says how). The back ends fill
 * it (store_sqlite.c from its tables and its `changes` table,
 * store_redis.c from a SCAN and the bouncer:changes stream) and
 * store.c decides over it (store_decide()); the view itself knows
 * nothing of either.
 *
 * One view per store per process, found by name (view_get()): every
 * handle on the same store shares it, under a read-write lock. Readers
 * hold the read lock for one decision; the one refreshing thread
 * (view_refresh_lock()) applies changes under the write lock a few at
 * a time, and builds a full reload aside (a struct view_index of its
 * own) to swap it in at once (view_swap()).
 *
 * Keys longer than VIEW_KEY_MAX are not held: view_set_*() ignore them
 * and the lookups say "cannot tell" (-1), so the caller asks the store
 * itself or fails open.
 *
 * Memory: a view belongs to its users (view_get() adds one, view_put()
 * drops one; the last frees it). A struct view_index belongs to whoever
 * made it with view_index_new() until view_swap() takes it.
 */
#ifndef BOUNCER_VIEW_H
#define BOUNCER_VIEW_H

#include <stddef.h>

#include "store.h"

#define VIEW_KEY_MAX	255	/* an address; a destination: 254 */
#define VIEW_POS_MAX	64	/* a back end's position in its changes */

struct view;
struct view_index;

/*
 * What the view holds of one record, as store_decide() reads it. For a
 * recipient: state, reason, until, and since (a time on the day the
 * state began; 0: none) and status when `detail` is 1 (0: the back end
 * must read the record for them). For a destination: reason, until and
 * provider ("" for none).
 */
struct view_fact {
	enum rcpt_state	 state;
	enum reason	 reason;
	long long	 until;		/* 0 for a recipient: no end */
	int		 detail;
	long long	 since;
	char		 status[16];
	char		 provider[32];
};

/*
 * The view named name ("sqlite:DEV:INO", "redis:URI"), made empty and
 * not ready if this process has none yet. name NULL: a view of one's
 * own, shared with nobody. Never NULL.
 */
struct view	*view_get(const char *name);
void		 view_put(struct view *);	/* NULL does nothing */

/* Has a first full load been swapped in? Needs no lock. */
int		 view_ready(struct view *);

/* Lookups hold the read lock; changes the write lock. */
void		 view_rdlock(struct view *);
void		 view_wrlock(struct view *);
void		 view_unlock(struct view *);
/*
 * One refresh at a time: trylock returns 0 when it got the lock, -1
 * when another thread is refreshing.
 */
void		 view_refresh_lock(struct view *);
int		 view_refresh_trylock(struct view *);
void		 view_refresh_unlock(struct view *);
/*
 * The back end's position in its change log (SQLite: the last change
 * applied; Redis: the last stream entry read), VIEW_POS_MAX bytes, ""
 * until set. Read and written under the refresh lock.
 */
char		*view_pos(struct view *);

/*
 * Under the read lock: 1 with *f filled in, 0 when the view holds no
 * such key, -1 when the key is too long to be held (or the view is not
 * ready): the caller cannot tell from the view.
 */
int		 view_rcpt(struct view *, const char *rcpt, struct view_fact *);
int		 view_dest(struct view *, const char *dest, struct view_fact *);

/* The live index, to change under the write lock. */
struct view_index *view_live(struct view *);

/*
 * A new index sized for n records holding about bytes bytes of keys (0
 * and 0: small), to fill aside and hand to view_swap(), or to free.
 */
struct view_index *view_index_new(size_t n, size_t bytes);
void		 view_index_free(struct view_index *);	/* NULL does nothing */
/*
 * Sets a recipient (state RS_NONE deletes it) or a destination, from
 * the fields the back ends keep: status as written ("5.1.1" or ""),
 * prov "" for none.
 */
void		 view_set_rcpt(struct view_index *, const char *rcpt,
		    size_t n, enum rcpt_state, enum reason, long long until,
		    long long since, const char *status);
void		 view_set_dest(struct view_index *, const char *dest,
		    enum reason, long long until, const char *prov);
void		 view_del_rcpt(struct view_index *, const char *rcpt);
void		 view_del_dest(struct view_index *, const char *dest);
/*
 * Can k more records go in without a rehash (of the records' slots or
 * of the domains' hash, which a swapped-in index no longer has) or a
 * compaction (which would hold the write lock for as long as the
 * whole index takes to copy)? If not, view_grow(), or the back end
 * reloads aside instead.
 */
int		 view_room(struct view_index *, size_t k);
/*
 * Makes room in the live index for k more records, as view_room()
 * asks, without holding the write lock for long: the new slots are
 * built under the read lock and swapped in. The caller holds the
 * refresh lock and not the write lock. Returns 0, or -1 when the
 * records themselves need compacting (load the view again instead).
 */
int		 view_grow(struct view *, size_t k);
/*
 * Swaps ix in (the view takes it; the old index is freed after the
 * write lock is let go), sets the position to pos, and marks the view
 * ready.
 */
void		 view_swap(struct view *, struct view_index *ix,
		    const char *pos);

#endif
