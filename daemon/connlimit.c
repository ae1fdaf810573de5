/*
 * connlimit.c -- the connections of one listener: a cap, eviction of
 * the longest idle, and timeouts that a slow client cannot stretch
 *
 * The table is a doubly linked list in order of use: the head is the
 * connection whose last answer (or connect) is oldest, and so the one
 * to close when room is needed. An answer moves a connection to the
 * tail. Each connection has one deadline, its idle or its request
 * deadline, whichever applies now, and one timer that goes off no
 * later than it. A deadline that moves later (every answer moves the
 * idle one) leaves the timer alone: when the timer goes off early it
 * is set again for what is left. Re-arming a libevent timer on every
 * answer was about 400 instructions a request, mutexes included.
 *
 * See also: policy.c, socketmap.c, bouncerd(8) LIMITS.
 */
#include <sys/time.h>

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "clock.h"
#include "connlimit.h"
#include "log.h"
#include "xalloc.h"

enum { K_EVICTED, K_TIMED_OUT, K_REFUSED, K_NKINDS };

struct connlimit_conn {
	struct connlimit	*cl;
	struct connlimit_conn	*prev, *next;	/* in order of use */
	struct event		*timer;
	void			*conn;		/* the caller's */
	int			 in_request;	/* the request timer runs */
	long long		 deadline;	/* monotonic ms; 0: none */
	long long		 armed;		/* the timer's, or 0: unset */
};

struct connlimit {
	struct evconnlistener	*lev;
	struct event_base	*base;
	struct connlimit_conf	 conf;
	connlimit_accept_fn	*accept;
	connlimit_close_fn	*close;
	void			*arg;
	struct connlimit_conn	*head, *tail;
	struct connlimit_stats	 stats;
	struct event		*resume;	/* the listener, after EMFILE */
	struct event		*logtimer;	/* logs what was counted */
	time_t			 logged[K_NKINDS];	/* last line, or 0 */
	unsigned long		 unlogged[K_NKINDS];
};

static void
unlink_conn(struct connlimit_conn *h)
{
	struct connlimit *cl = h->cl;

	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		cl->head = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	else
		cl->tail = h->prev;
	h->prev = h->next = NULL;
}

static void
append_conn(struct connlimit_conn *h)
{
	struct connlimit *cl = h->cl;

	h->prev = cl->tail;
	h->next = NULL;
	if (cl->tail != NULL)
		cl->tail->next = h;
	else
		cl->head = h;
	cl->tail = h;
}

/* Forgets h: out of the table, its timer gone. */
static void
forget(struct connlimit_conn *h)
{
	unlink_conn(h);
	event_free(h->timer);
	h->cl->stats.open--;
	free(h);
}

/* Sets the timer to go off in ms milliseconds, at the deadline `at`. */
static void
set_timer(struct connlimit_conn *h, long long at, long long ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000) * 1000 };

	event_add(h->timer, &tv);
	h->armed = at;
}

/*
 * The deadline is now + seconds (none when seconds is 0). The timer
 * moves only when the deadline comes sooner than it goes off.
 */
static void
arm(struct connlimit_conn *h, int seconds)
{
	long long now;

	if (seconds <= 0) {
		h->deadline = 0;
		if (h->armed != 0) {
			event_del(h->timer);
			h->armed = 0;
		}
		return;
	}
	now = clock_mono_ms();
	h->deadline = now + (long long)seconds * 1000;
	if (h->armed == 0 || h->deadline < h->armed)
		set_timer(h, h->deadline, (long long)seconds * 1000);
}

/* One log line for kind: the first (with h, when there is one), or n more. */
static void
log_kind(struct connlimit *cl, int kind, unsigned long n, int first,
    const struct connlimit_conn *h)
{
	const char *name = cl->conf.name;

	switch (kind) {
	case K_EVICTED:
		if (first)
			log_warn("%s: %s_max_conns (%u) reached: closed the "
			    "longest idle connection to make room; more are "
			    "counted in bouncer_%s_connections_evicted_total",
			    name, name, cl->conf.max_conns, name);
		else
			log_warn("%s: %lu more connection(s) closed to make "
			    "room in the last %ds or so", name, n,
			    CONNLIMIT_LOG_INTERVAL);
		break;
	case K_TIMED_OUT:
		if (first && h != NULL && h->in_request)
			log_info("%s: closed a connection whose request took "
			    "longer than %s_request_timeout (%ds); more are "
			    "counted in bouncer_%s_connections_timed_out_total",
			    name, name, cl->conf.request_timeout, name);
		else if (first)
			log_info("%s: closed a connection idle for longer than "
			    "%s_idle_timeout (%ds); more are counted in "
			    "bouncer_%s_connections_timed_out_total", name,
			    name, cl->conf.idle_timeout, name);
		else
			log_info("%s: %lu more connection(s) timed out in the "
			    "last %ds or so", name, n, CONNLIMIT_LOG_INTERVAL);
		break;
	case K_REFUSED:
		if (first)
			log_warn("%s: accept: no descriptor left: closed the "
			    "longest idle connection, if any, to make room "
			    "(raise the open files limit); more are counted in "
			    "bouncer_%s_connections_refused_total", name, name);
		else
			log_warn("%s: %lu more accept(s) failed for want of a "
			    "descriptor in the last %ds or so", name, n,
			    CONNLIMIT_LOG_INTERVAL);
		break;
	}
}

/*
 * Counts one event of kind and logs it: at once if no line of its kind
 * was logged in the last interval, otherwise as a count at the end of
 * the interval.
 */
static void
note(struct connlimit *cl, int kind, const struct connlimit_conn *h)
{
	struct timeval tv = { CONNLIMIT_LOG_INTERVAL, 0 };
	time_t now = (time_t)(clock_mono_ms() / 1000);

	if (cl->logged[kind] == 0 ||
	    now - cl->logged[kind] >= CONNLIMIT_LOG_INTERVAL) {
		log_kind(cl, kind, 1, 1, h);
		cl->logged[kind] = now;
		return;
	}
	cl->unlogged[kind]++;
	if (!evtimer_pending(cl->logtimer, NULL))
		evtimer_add(cl->logtimer, &tv);
}

static void
on_logtimer(evutil_socket_t fd, short what, void *arg)
{
	struct connlimit *cl = arg;
	time_t now = (time_t)(clock_mono_ms() / 1000);
	int k;

	(void)fd;
	(void)what;
	for (k = 0; k < K_NKINDS; k++)
		if (cl->unlogged[k] > 0) {
			log_kind(cl, k, cl->unlogged[k], 0, NULL);
			cl->unlogged[k] = 0;
			cl->logged[k] = now;
		}
}

/* Closes h, the caller's connection with it. */
static void
close_conn(struct connlimit_conn *h)
{
	struct connlimit *cl = h->cl;
	void *conn = h->conn;

	forget(h);
	cl->close(conn);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct connlimit_conn *h = arg;
	struct connlimit *cl = h->cl;
	long long now = clock_mono_ms();

	(void)fd;
	(void)what;
	h->armed = 0;
	if (h->deadline == 0)
		return;
	if (now < h->deadline) {
		/* The deadline moved on since the timer was set. */
		set_timer(h, h->deadline, h->deadline - now);
		return;
	}
	cl->stats.timed_out++;
	note(cl, K_TIMED_OUT, h);
	close_conn(h);
}

/* Closes the longest idle connection; 0, or -1 if there is none. */
static int
evict(struct connlimit *cl)
{
	if (cl->head == NULL)
		return -1;
	cl->stats.evicted++;
	note(cl, K_EVICTED, cl->head);
	close_conn(cl->head);
	return 0;
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct connlimit *cl = arg;
	struct connlimit_conn *h;

	(void)lev;
	(void)sa;
	(void)salen;
	while (cl->stats.open >= cl->conf.max_conns && evict(cl) == 0)
		;
	evutil_make_socket_nonblocking(fd);
	h = xcalloc(1, sizeof(*h));
	h->cl = cl;
	h->timer = evtimer_new(cl->base, on_timer, h);
	append_conn(h);
	cl->stats.open++;
	cl->stats.accepted++;
	arm(h, cl->conf.idle_timeout);
	if ((h->conn = cl->accept(fd, h, cl->arg)) == NULL)
		forget(h);
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct connlimit *cl = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(cl->lev);
}

/*
 * No descriptor for a new connection (EMFILE, ENFILE): the longest
 * idle connection makes room, as the cap does. With none of ours to
 * close, the listener rests for a second rather than spin.
 */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct connlimit *cl = arg;
	struct timeval tv = { 1, 0 };
	int e = errno;

	(void)lev;
	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM) {
		log_warn("%s: accept: %s", cl->conf.name, strerror(e));
		return;
	}
	cl->stats.refused++;
	note(cl, K_REFUSED, NULL);
	if (evict(cl) < 0) {
		evconnlistener_disable(cl->lev);
		evtimer_add(cl->resume, &tv);
	}
}

struct connlimit *
connlimit_new(struct event_base *base, int fd,
    const struct connlimit_conf *conf, connlimit_accept_fn *accept_fn,
    connlimit_close_fn *close_fn, void *arg, char **errp)
{
	struct connlimit *cl;

	cl = xcalloc(1, sizeof(*cl));
	cl->base = base;
	cl->conf = *conf;
	if (cl->conf.max_conns == 0)
		cl->conf.max_conns = 1;
	cl->accept = accept_fn;
	cl->close = close_fn;
	cl->arg = arg;
	cl->lev = evconnlistener_new(base, on_accept, cl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (cl->lev == NULL) {
		*errp = xasprintf("%s: cannot listen: %s", conf->name,
		    strerror(errno));
		free(cl);
		return NULL;
	}
	evconnlistener_set_error_cb(cl->lev, on_accept_error);
	cl->resume = evtimer_new(base, on_resume, cl);
	cl->logtimer = evtimer_new(base, on_logtimer, cl);
	return cl;
}

void
connlimit_free(struct connlimit *cl)
{
	if (cl == NULL)
		return;
	evconnlistener_free(cl->lev);
	while (cl->head != NULL)
		close_conn(cl->head);
	event_free(cl->resume);
	event_free(cl->logtimer);
	free(cl);
}

void
connlimit_progress(struct connlimit_conn *h, unsigned answered, int pending)
{
	struct connlimit *cl = h->cl;

	if (answered > 0) {
		unlink_conn(h);
		append_conn(h);
	}
	if (pending && (answered > 0 || !h->in_request)) {
		h->in_request = 1;
		arm(h, cl->conf.request_timeout);
	} else if (!pending && (answered > 0 || h->in_request)) {
		h->in_request = 0;
		arm(h, cl->conf.idle_timeout);
	}
}

void
connlimit_drop(struct connlimit_conn *h)
{
	if (h != NULL)
		forget(h);
}

const struct connlimit_stats *
connlimit_stats(const struct connlimit *cl)
{
	return &cl->stats;
}
