/*
 * engine.h -- classified events in, lasting decisions out
 *
 * engine_record() turns one event (a classified reply, a delivery
 * success, or an operator's command) into state changes in the store:
 * a recipient suppressed or backed off, a destination throttled, an
 * alert raised once per window. It is pure logic over the store
 * interface: the time comes with the event, so tests control the
 * clock, and nothing here does I/O of its own.
 *
 * Every parameter (expiry per reason, back-off base, factor and cap,
 * escalation count and period per reason, throttle back-off, alert
 * window, audit size) comes from the conf given to engine_new(); see
 * bouncer.conf(5).
 *
 * One engine per store handle, so one per thread.
 */
#ifndef BOUNCER_ENGINE_H
#define BOUNCER_ENGINE_H

#include "reply.h"
#include "store.h"
#include "verdict.h"

struct conf;
struct engine;

enum event_source { SRC_LOG, SRC_MILTER, SRC_DSN, SRC_MANUAL };

/* One event. Pointers are only read during the call; NULL means none. */
struct engine_event {
	const char		*rcpt;
	enum reason		 reason;
	unsigned		 decision;	/* D_* bits */
	int			 sent;		/* a delivery success */
	const struct reply_facts *facts;	/* retry_after, blocklist,
						   ip; NULL: none */
	const char		*status;	/* "5.1.1" */
	int			 code;
	enum smtp_stage		 stage;
	const char		*provider;
	const char		*rule;		/* "gmail.rules:18" */
	const char		*reply;
	enum event_source	 source;
	const char		*queue_id;
	long long		 time;		/* of the attempt, epoch s */
	long long		 until;		/* manual: expiry; 0 default,
						   -1 never */
};

struct engine_result {
	int		 duplicate;	/* seen before: nothing done */
	int		 scoped_out;	/* the scope guard dropped
					   suppress or retry */
	int		 changed;	/* the recipient's record changed */
	enum rcpt_state	 old_state, new_state;
	enum reason	 reason;
	long long	 until;
	int		 escalated;	/* soft failures became suppress */
	int		 throttled;	/* dest is deferred until dest_until */
	char		 dest[STORE_DEST_MAX];
	long long	 dest_until;
	int		 alert;		/* raise an alert now: new window */
	struct store_alert alert_rec;	/* its record, after the event */
	char		 id[STORE_ID_MAX];	/* the event's identity */
	unsigned long	 pending;	/* in a batch: provisional, its
					   number in engine_batch_end();
					   0: final */
};

/* Reads the parameters of conf (NULL: defaults); keeps no reference. */
struct engine	*engine_new(const struct conf *, struct store *);
void		 engine_free(struct engine *);	/* NULL is fine */

/*
 * Records one event. Returns 1 when something changed, 0 when nothing
 * did (a duplicate, or an event the scope guard reduced to nothing),
 * -1 when the store failed (logged there). *res may be NULL.
 *
 * Identity: queue id + recipient + attempt time. Only events that
 * change something are remembered, which is enough: one that changed
 * nothing changes nothing when replayed either (a success older than
 * the recipient's latest event is ignored for this reason).
 *
 * Counting is per distinct remote answer, not per Postfix retry: while
 * a recipient's back-off runs, each queue file adds one soft failure
 * at most, and while a destination's throttle runs, each queue file
 * counts once (event identities "b:RCPT:SINCE:QID" and
 * "t:DEST:SINCE:QID" remember which did, so re-reading a log counts
 * nothing twice); a retry that asks for a longer wait (retry_after)
 * still lengthens the throttle.
 */
int		 engine_record(struct engine *, const struct engine_event *,
		    struct engine_result *res);

/*
 * Batches: many events in a row with one wait for the store, not one
 * each (bouncerd's writer; Redis pipelines the commits, see
 * store_defer_begin()). Between engine_batch_begin() and
 * engine_batch_end(), engine_record() may return before the store has
 * confirmed the transaction: its return value and *res are then
 * provisional, and res->pending numbers the event (1, 2, ... in the
 * order recorded; 0: final already). engine_batch_end() learns every
 * outcome, runs again, in order, each event whose transaction proved
 * stale (another MTA changed a key it read: nothing of it was
 * written), and calls done(pending, rc, res, arg) for each provisional
 * event, in order, with its final return value and result (res NULL
 * when rc is -1: the store failed, and whether it applied is unknown;
 * a rerun finds it a duplicate if it did). The caller acts on an
 * event's outcome (logs, alerts) only then. Returns 0, or -1 when the
 * batch or an event failed. done may be NULL; res is valid for the
 * call. On SQLite nothing is provisional: the batch is one commit.
 */
typedef void	 engine_done_fn(unsigned long pending, int rc,
		    const struct engine_result *res, void *arg);
int		 engine_batch_begin(struct engine *);
int		 engine_batch_end(struct engine *, engine_done_fn *done,
		    void *arg);

/*
 * Lifts a suppression or deferral by hand (bouncerctl suppress
 * remove), resetting soft failures, with an audit entry. Returns 1
 * if the recipient had a state, 0 if not, -1 on failure.
 */
int		 engine_unsuppress(struct engine *, const char *rcpt,
		    long long now);

/*
 * The answer for a lookup result, typed, into *out (every field set;
 * each protocol edge words it: policy.h, milter.h, socketmap.h).
 * rec (may be NULL) is the recipient's record: its stored status,
 * forced to the 5 or 4 class, and the date its state began (only
 * rec->status and rec->since are read: store_lookup_detail() fills
 * just those); without one the reason's usual status is used. now is
 * when the question was asked: the time left counts from it. Neither
 * a nor rec is kept.
 */
void		 engine_answer(const struct store_answer *,
		    const struct store_rcpt *rec, long long now,
		    struct answer *out);

/* "log", "milter", "dsn", "manual"; parse returns -1 if unknown. */
const char	*event_source_name(enum event_source);
int		 event_source_parse(const char *);

#endif
