/*
 * health.h -- is the daemon doing its job? Named checks, each ok or not
 *
 * The daemon fails open: when the store or the log is gone, mail still
 * flows and nothing crashes, so nothing else would tell the operator
 * that decisions have stopped being made. Each part that can fail
 * ("store", "log", "rules") is a check whose state its owner sets,
 * with a one-line reason when it is not ok. A change of state is
 * logged once (a warning when a check fails, a notice when it is ok
 * again), never at every evaluation nor when only the reason changes;
 * /healthz and /metrics show the states and the latest reasons.
 *
 * Not thread-safe: one thread (the event loop's) sets and reads.
 */
#ifndef BOUNCER_HEALTH_H
#define BOUNCER_HEALTH_H

#include <stddef.h>

struct evbuffer;
struct health;

#define HEALTH_WHY_MAX	256

struct health	*health_new(void);
void		 health_free(struct health *);	/* NULL is fine */

/*
 * Sets the check called name (a static string; made on first use, in
 * that order) to ok, or to failing for why (copied, cut to
 * HEALTH_WHY_MAX - 1 bytes; NULL or "" when ok) at `now`, which is
 * kept as the time of the change only when the state changes.
 */
void		 health_set(struct health *, const char *name, int ok,
		    const char *why, long long now);
/* 1 when every check is ok (or none was set). */
int		 health_ok(const struct health *);
/*
 * "ok" when healthy; otherwise one line per failing check:
 * "store: failing since 1700000000: <why>".
 */
void		 health_write(const struct health *, struct evbuffer *out);
/* bouncer_health{check="..."} 1 or 0, with HELP and TYPE lines. */
void		 health_metrics(const struct health *, struct evbuffer *out);

#endif
