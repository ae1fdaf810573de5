/*
 * connlimit.h -- the connections of one listener: a cap, eviction of
 * the longest idle, and timeouts that a slow client cannot stretch
 *
 * A listener whose clients keep connections open (Postfix's smtpd
 * keeps one policy connection per process and reuses it) must not be
 * locked out by idle or slow ones. This module accepts on the
 * listening socket and keeps a table of the open connections, ordered
 * by when each last had a request answered (or connected). When the
 * table is full, or the process has no descriptor left, the longest
 * idle connection is closed to make room for the new one.
 *
 * Two timers per connection, one running at a time:
 *  - idle: from connect or from the last request answered, never
 *    reset by bytes that do not complete a request;
 *  - request: from the first byte of a request, which must then
 *    arrive whole (and, pipelined, be answered) in time.
 *
 * What the bytes mean belongs to the caller (policy.c, socketmap.c),
 * which reports progress with connlimit_progress(). Evictions,
 * timeouts and refusals are counted, and logged at most one line per
 * CONNLIMIT_LOG_INTERVAL seconds per kind, with a count.
 *
 * Everything runs on the event loop's thread.
 */
#ifndef BOUNCER_CONNLIMIT_H
#define BOUNCER_CONNLIMIT_H

#include <stddef.h>

/* Unsent output at which a connection stops being read (bytes). */
#define CONNLIMIT_WATERMARK	(64 * 1024)
/* Seconds between two log lines of the same kind, per listener. */
#define CONNLIMIT_LOG_INTERVAL	60

struct event_base;
struct connlimit;
struct connlimit_conn;

struct connlimit_conf {
	const char	*name;		/* "policy": logs and parameter
					   names (policy_max_conns); kept */
	unsigned	 max_conns;
	int		 idle_timeout;	/* seconds; 0: none */
	int		 request_timeout;	/* seconds; 0: none */
};

struct connlimit_stats {
	unsigned long	 accepted;	/* ever */
	unsigned long	 open;		/* now */
	unsigned long	 evicted;	/* closed to make room */
	unsigned long	 timed_out;	/* idle or request timeout */
	unsigned long	 refused;	/* accept() failed: no descriptor */
};

/*
 * A new connection on fd, already non-blocking and in the table as h.
 * Returns the caller's state for it, or NULL when it could not be set
 * up: the caller has then closed fd, and h is forgotten.
 */
typedef void	*connlimit_accept_fn(int fd, struct connlimit_conn *h,
		    void *arg);
/*
 * Closes the caller's connection (eviction or timeout). The table has
 * already forgotten it: do not call connlimit_drop() on it.
 */
typedef void	 connlimit_close_fn(void *conn);

/*
 * Accepts on the listening socket fd (taken over) on base. NULL with
 * a message in *errp (caller frees) on failure.
 */
struct connlimit *connlimit_new(struct event_base *, int fd,
		    const struct connlimit_conf *, connlimit_accept_fn *,
		    connlimit_close_fn *, void *arg, char **errp);
/*
 * Closes the listener, then every connection still open through the
 * close callback. NULL is fine.
 */
void		 connlimit_free(struct connlimit *);

/*
 * After the caller has handled what it read: answered is how many
 * requests were answered, pending whether bytes of a further request
 * are waiting. An answer makes the connection the most recently used
 * and starts its idle timer, or, with pending, its request timer; a
 * first pending byte starts the request timer. Nothing else moves a
 * timer.
 */
void		 connlimit_progress(struct connlimit_conn *, unsigned answered,
		    int pending);
/* The caller closed the connection itself (EOF, error): forget h. */
void		 connlimit_drop(struct connlimit_conn *);

/* The counters; valid as long as the table. */
const struct connlimit_stats *connlimit_stats(const struct connlimit *);

#endif
