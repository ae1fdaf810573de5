/*
 * writer.c -- one thread that does the store's writes, from a bounded queue
 *
 * A linked list under one mutex: jobs are appended by any thread and
 * taken from the head by the writer. A job being run still counts
 * against the queue's size, so that `max` bounds what is held in
 * memory. A writer_call() waits on the one condition variable that
 * every finished call broadcasts; each waiter checks its own node.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "writer.h"
#include "xalloc.h"

enum wait_state { W_NONE, W_WAITING, W_GONE };

struct node {
	struct node	*next;
	writer_job_fn	*fn;
	writer_free_fn	*free_fn;
	void		*job;
	int		 flags;
	enum wait_state	 wait;
	int		 done;		/* ran (W_WAITING) */
	int		 dropped;	/* never ran: the writer stopped */
};

struct writer {
	pthread_mutex_t		 mu;
	pthread_cond_t		 work;	/* a job came, or stop */
	pthread_cond_t		 done;	/* a writer_call() job finished */
	pthread_t		 thread;
	struct writer_hooks	 h;
	struct node		*head, **tail;
	size_t			 n, max;	/* queued and running */
	int			 stop;
	struct timespec		 deadline;	/* of the drain, once stop */
	struct writer_stats	 st;
};

static void
ts_after(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int
ts_passed(const struct timespec *ts)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ts->tv_sec || (now.tv_sec == ts->tv_sec &&
	    now.tv_nsec >= ts->tv_nsec);
}

/* Called with w->mu held: the node has run (or is dropped). */
static void
finish(struct writer *w, struct node *nd, int ran)
{
	w->n--;
	if (ran)
		w->st.done++;
	switch (nd->wait) {
	case W_WAITING:
		nd->done = 1;
		nd->dropped = !ran;
		pthread_cond_broadcast(&w->done);
		return;		/* the waiter frees the node */
	case W_NONE:
	case W_GONE:
		break;
	}
	if (nd->free_fn != NULL)
		nd->free_fn(nd->job);
	free(nd);
}

/*
 * Runs one job until it is done, waiting retry_ms between tries; gives
 * up only once the writer is stopping and the drain time has passed.
 * Returns 1 when it ran, 0 when it was given up. Called unlocked.
 */
static int
run_one(struct writer *w, struct node *nd)
{
	struct timespec ts;
	int gave_up = 0;

	while (nd->fn(nd->job, w->h.arg) == WRITER_RETRY) {
		pthread_mutex_lock(&w->mu);
		w->st.retried++;
		w->st.retrying = 1;
		if (w->stop && ts_passed(&w->deadline)) {
			pthread_mutex_unlock(&w->mu);
			gave_up = 1;
			break;
		}
		ts_after(&ts, w->h.retry_ms ? w->h.retry_ms : 100);
		while (!(w->stop && ts_passed(&w->deadline)) &&
		    pthread_cond_timedwait(&w->work, &w->mu, &ts) == 0)
			;
		pthread_mutex_unlock(&w->mu);
	}
	pthread_mutex_lock(&w->mu);
	w->st.retrying = 0;
	pthread_mutex_unlock(&w->mu);
	return !gave_up;
}

/* Runs nodes [0, n) of v, as a batch when the hooks allow. Unlocked. */
static void
run_batch(struct writer *w, struct node **v, size_t n, int *ran)
{
	size_t i;
	int ok = 0, tries;

	/*
	 * Twice as a batch: end() fails when the store did (a Redis
	 * connection lost mid-batch); the second try, reconnected,
	 * usually holds. Commits another MTA overtook are not failures:
	 * the end hook runs them again (engine_batch_end()).
	 */
	for (tries = 0; tries < 2 && !ok && n > 1 && w->h.begin != NULL;
	    tries++) {
		if (w->h.begin(w->h.arg) < 0)
			break;
		ok = 1;
		for (i = 0; i < n && ok; i++)
			if (v[i]->fn(v[i]->job, w->h.arg) != WRITER_DONE)
				ok = 0;
		if (w->h.end(w->h.arg) < 0)
			ok = 0;
	}
	if (ok) {
		for (i = 0; i < n; i++)
			ran[i] = 1;
		return;
	}
	/* No batch, or it failed as a whole: one by one. */
	for (i = 0; i < n; i++)
		ran[i] = run_one(w, v[i]);
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct node **v, *nd;
	struct timespec ts;
	size_t bmax = w->h.batch_max ? w->h.batch_max : 1, n, i;
	int *ran, rc;

	v = xcalloc(bmax, sizeof(*v));
	ran = xcalloc(bmax, sizeof(*ran));
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->head == NULL && !w->stop) {
			if (w->h.idle == NULL || w->h.idle_ms == 0) {
				pthread_cond_wait(&w->work, &w->mu);
				continue;
			}
			ts_after(&ts, w->h.idle_ms);
			rc = pthread_cond_timedwait(&w->work, &w->mu, &ts);
			if (rc == ETIMEDOUT && w->head == NULL && !w->stop) {
				pthread_mutex_unlock(&w->mu);
				w->h.idle(w->h.arg);
				pthread_mutex_lock(&w->mu);
			}
		}
		if (w->head == NULL)
			break;		/* stopping, and all is done */
		/* Take the head, and the batchable jobs right behind it. */
		n = 0;
		do {
			nd = w->head;
			if (n > 0 && !(nd->flags & WRITER_BATCHABLE))
				break;
			w->head = nd->next;
			if (w->head == NULL)
				w->tail = &w->head;
			nd->next = NULL;
			v[n++] = nd;
		} while (n < bmax && (v[0]->flags & WRITER_BATCHABLE) &&
		    w->head != NULL);
		pthread_mutex_unlock(&w->mu);
		run_batch(w, v, n, ran);
		if (w->h.after != NULL)
			w->h.after(w->h.arg);
		pthread_mutex_lock(&w->mu);
		for (i = 0; i < n; i++)
			finish(w, v[i], ran[i]);
	}
	pthread_mutex_unlock(&w->mu);
	free(v);
	free(ran);
	return NULL;
}

struct writer *
writer_new(size_t max, const struct writer_hooks *h, char **errp)
{
	struct writer *w = xcalloc(1, sizeof(*w));
	pthread_condattr_t ca;
	int rc;

	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->work, &ca);
	pthread_cond_init(&w->done, &ca);
	pthread_condattr_destroy(&ca);
	w->h = *h;
	w->tail = &w->head;
	w->max = max > 0 ? max : 1;
	w->st.max = w->max;
	if ((rc = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
		*errp = xasprintf("writer: cannot start a thread: %s",
		    strerror(rc));
		pthread_cond_destroy(&w->work);
		pthread_cond_destroy(&w->done);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

void
writer_free(struct writer *w, unsigned drain_ms)
{
	struct node *nd;
	unsigned long lost = 0;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	ts_after(&w->deadline, drain_ms);
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	/* Only jobs given up while retrying are left, if anything. */
	pthread_mutex_lock(&w->mu);
	while ((nd = w->head) != NULL) {
		w->head = nd->next;
		lost++;
		finish(w, nd, 0);
	}
	pthread_mutex_unlock(&w->mu);
	if (lost > 0)
		log_warn("writer: stopped with %lu job(s) not done", lost);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* Appends; called with w->mu held. 0, or -1 when full. */
static int
enqueue(struct writer *w, struct node *nd)
{
	if (w->n >= w->max || w->stop) {
		w->st.refused++;
		return -1;
	}
	*w->tail = nd;
	w->tail = &nd->next;
	w->n++;
	pthread_cond_signal(&w->work);
	return 0;
}

int
writer_submit(struct writer *w, writer_job_fn *fn, void *job,
    writer_free_fn *free_fn, int flags)
{
	struct node *nd = xcalloc(1, sizeof(*nd));
	int rc;

	nd->fn = fn;
	nd->job = job;
	nd->free_fn = free_fn;
	nd->flags = flags;
	pthread_mutex_lock(&w->mu);
	rc = enqueue(w, nd);
	pthread_mutex_unlock(&w->mu);
	if (rc < 0)
		free(nd);
	return rc;
}

int
writer_call(struct writer *w, writer_job_fn *fn, void *job,
    writer_free_fn *free_fn, unsigned timeout_ms)
{
	struct node *nd = xcalloc(1, sizeof(*nd));
	struct timespec ts;
	int dropped;

	nd->fn = fn;
	nd->job = job;
	nd->free_fn = free_fn;
	nd->wait = W_WAITING;
	ts_after(&ts, timeout_ms);
	pthread_mutex_lock(&w->mu);
	if (enqueue(w, nd) < 0) {
		pthread_mutex_unlock(&w->mu);
		free(nd);
		return -1;
	}
	while (!nd->done && pthread_cond_timedwait(&w->done, &w->mu,
	    &ts) != ETIMEDOUT)
		;
	if (!nd->done) {
		/* The writer owns it now, and frees it once it ran. */
		nd->wait = W_GONE;
		w->st.abandoned++;
		pthread_mutex_unlock(&w->mu);
		return -2;
	}
	pthread_mutex_unlock(&w->mu);
	dropped = nd->dropped;
	free(nd);
	if (dropped) {
		if (free_fn != NULL)
			free_fn(job);
		return -2;
	}
	return 0;
}

void
writer_stats(struct writer *w, struct writer_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->st;
	out->queued = w->n;
	pthread_mutex_unlock(&w->mu);
}
