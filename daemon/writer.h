/*
 * writer.h -- one thread that does the store's writes, from a bounded queue
 *
 * bouncerd's event loop answers the policy server, the socketmap and
 * the metrics listener; it must never wait on a disk (SQLite's write
 * lock, an fsync) or on a network (a slow Redis). So every write goes
 * to one writer thread through a queue of jobs, and the thread that
 * queued it goes on. The writer runs jobs in the order they came, one
 * at a time, each with the writer's own store handle (which the job
 * functions reach through their own argument: this module knows
 * nothing of the store).
 *
 * A full queue refuses a job at once (writer_submit() returns -1) and
 * never blocks: the caller keeps its work and offers it again later
 * (the log follower holds the line, logtail.h), so nothing is lost
 * silently. A milter thread that needs the outcome waits for it, at
 * most a time it chooses (writer_call()).
 *
 * A job returns WRITER_DONE, or WRITER_RETRY when the store failed:
 * the writer then keeps it at the head of the queue and runs it again
 * after retry_ms, so that order holds and what is queued behind waits
 * (jobs must be safe to run again: a log line is, its events' marks
 * being written in the transactions that record them).
 *
 * Batches: consecutive jobs submitted with WRITER_BATCHABLE are run
 * between hooks.begin() and hooks.end() (one SQLite commit for many
 * log lines; pipelined Redis commits). When end() fails, the writer
 * runs the batch once more, then, failing again, its jobs one by one
 * outside a batch.
 *
 * hooks.after() runs after each job or batch and hooks.idle() when the
 * queue has been empty for idle_ms: the daemon brings the in-memory
 * view up to date there (store_refresh()).
 *
 * Memory: a job belongs to the caller until writer_submit() or
 * writer_call() takes it; from then on the writer frees it with the
 * free function given (NULL: not freed), after it ran or when the
 * writer stops, whichever comes first, and also when a caller of
 * writer_call() stopped waiting. A job refused (-1 from submit) stays
 * the caller's.
 *
 * Thread safety: writer_submit(), writer_call() and writer_stats() may
 * be called from any thread; writer_new() and writer_free() from one.
 */
#ifndef BOUNCER_WRITER_H
#define BOUNCER_WRITER_H

#include <stddef.h>

struct writer;

enum writer_rc { WRITER_DONE = 0, WRITER_RETRY = 1 };

/* Runs on the writer thread. */
typedef enum writer_rc writer_job_fn(void *job, void *arg);
typedef void	 writer_free_fn(void *job);

struct writer_hooks {
	int		(*begin)(void *arg);	/* 0, or -1: no batch */
	int		(*end)(void *arg);	/* 0, or -1: run again */
	void		(*after)(void *arg);
	void		(*idle)(void *arg);
	void		*arg;			/* also the jobs' arg */
	unsigned	 idle_ms;		/* 0: no idle calls */
	unsigned	 retry_ms;		/* after WRITER_RETRY */
	size_t		 batch_max;		/* jobs in one batch */
};

#define WRITER_BATCHABLE	0x1

struct writer_stats {
	unsigned long	 queued;	/* now */
	unsigned long	 max;		/* the queue's size */
	unsigned long	 done;		/* jobs run to the end */
	unsigned long	 refused;	/* submits refused: full */
	unsigned long	 retried;	/* WRITER_RETRY answers */
	unsigned long	 abandoned;	/* writer_call()s that stopped waiting */
	int		 retrying;	/* a job is being tried again now */
};

/*
 * Starts the thread. max is the queue's size (at least 1). NULL with
 * a message in *errp (caller frees) when no thread can be started.
 * hooks is copied.
 */
struct writer	*writer_new(size_t max, const struct writer_hooks *,
		    char **errp);
/*
 * Runs what is queued, for drain_ms at most (jobs that keep asking to
 * be retried are then dropped, with a warning naming how many), stops
 * the thread and frees everything. NULL does nothing.
 */
void		 writer_free(struct writer *, unsigned drain_ms);

/* Queues job; 0, or -1 when the queue is full (the job stays yours). */
int		 writer_submit(struct writer *, writer_job_fn *, void *job,
		    writer_free_fn *, int flags);
/*
 * Queues job and waits for it to have run, timeout_ms at most. Returns
 * 0 when it ran (its results are in the job, which the caller frees
 * itself: the free function is then not called); -1 when the queue
 * was full (the job stays the caller's); -2 when the wait timed out or
 * the writer stopped first (the job is the writer's: it runs later, or
 * never, and is freed with free_fn).
 */
int		 writer_call(struct writer *, writer_job_fn *, void *job,
		    writer_free_fn *, unsigned timeout_ms);

void		 writer_stats(struct writer *, struct writer_stats *);

#endif
